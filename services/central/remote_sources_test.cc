// Central's peers as it sees them: auth and the registry behind in-process
// gRPC servers that answer like the real ones.

#include "services/central/remote_sources.h"

#include <grpcpp/grpcpp.h>
#include <gtest/gtest.h>

#include "services/common/proto_time.h"
#include "services/common/testing/fake_server.h"

namespace evc::central {
namespace {

class FakeAuth : public auth::v1::AuthService::Service {
 public:
  grpc::Status GetChargingPointKeys(grpc::ServerContext*, const auth::v1::GetChargingPointKeysRequest* req,
                                    auth::v1::GetChargingPointKeysResponse* resp) override {
    if (req->cp_id() != "CP1") return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such charging point");
    auto* old_key = resp->add_keys();
    old_key->set_key_id("k1");
    old_key->set_key(std::string(32, 'a'));
    *old_key->mutable_not_after() = ToProto(absl::FromUnixSeconds(1'900'000'000));
    auto* new_key = resp->add_keys();
    new_key->set_key_id("k2");
    new_key->set_key(std::string(32, 'b'));
    return grpc::Status::OK;
  }
  grpc::Status GetNotificationKey(grpc::ServerContext*, const auth::v1::GetNotificationKeyRequest* req,
                                  auth::v1::NotificationKey* resp) override {
    resp->set_key_id("signing-1");
    resp->set_key("key-of-" + req->driver_id());
    return grpc::Status::OK;
  }
  grpc::Status ValidateChargingPointToken(grpc::ServerContext*,
                                          const auth::v1::ValidateChargingPointTokenRequest* req,
                                          auth::v1::ValidateChargingPointTokenResponse* resp) override {
    if (req->token() != "token-of-CP1") return grpc::Status(grpc::StatusCode::UNAUTHENTICATED, "bad token");
    resp->set_cp_id("CP1");
    return grpc::Status::OK;
  }
};

class FakeRegistry : public registry::v1::RegistryService::Service {
 public:
  grpc::Status GetChargingPoint(grpc::ServerContext*, const registry::v1::GetChargingPointRequest* req,
                                common::v1::ChargingPoint* resp) override {
    if (req->cp_id() != "CP1") return grpc::Status(grpc::StatusCode::NOT_FOUND, "not registered");
    resp->set_cp_id("CP1");
    resp->set_price_millieuros_per_kwh(350);
    return grpc::Status::OK;
  }
  grpc::Status ListChargingPoints(grpc::ServerContext*, const registry::v1::ListChargingPointsRequest*,
                                  registry::v1::ListChargingPointsResponse* resp) override {
    resp->add_charging_points()->set_cp_id("CP1");
    resp->add_charging_points()->set_cp_id("CP2");
    return grpc::Status::OK;
  }
};

class RemoteSourcesTest : public ::testing::Test {
 protected:
  FakeAuth auth_service_;
  FakeRegistry registry_service_;
  FakeServer server_{{&auth_service_, &registry_service_}};
  std::unique_ptr<auth::v1::AuthService::Stub> auth_ = auth::v1::AuthService::NewStub(server_.channel());
  std::unique_ptr<registry::v1::RegistryService::Stub> registry_ =
      registry::v1::RegistryService::NewStub(server_.channel());
};

TEST_F(RemoteSourcesTest, CpKeysComeFromAuthWithTheirExpiry) {
  AuthCpKeys keys(*auth_);
  absl::StatusOr<std::vector<CpKey>> got = keys.Keys("CP1");
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[0].key_id, "k1");
  EXPECT_EQ((*got)[0].key, std::string(32, 'a'));
  EXPECT_EQ((*got)[0].not_after, absl::FromUnixSeconds(1'900'000'000));
  EXPECT_EQ((*got)[1].not_after, absl::InfiniteFuture()) << "unset: no end";
  EXPECT_TRUE(absl::IsNotFound(keys.Keys("CP9").status()));
}

TEST_F(RemoteSourcesTest, NotificationKeysComeFromAuth) {
  AuthNotificationKeys keys(*auth_);
  absl::StatusOr<NotificationKey> got = keys.Key("ana");
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->key_id, "signing-1");
  EXPECT_EQ(got->key, "key-of-ana");
}

TEST_F(RemoteSourcesTest, CpTokensAreValidatedByAuth) {
  AuthCpTokens tokens(*auth_);
  EXPECT_EQ(*tokens.CpOf("token-of-CP1"), "CP1");
  EXPECT_TRUE(absl::IsUnauthenticated(tokens.CpOf("forged").status()));
}

TEST_F(RemoteSourcesTest, TheCatalogueComesFromTheRegistry) {
  RegistryCatalogue catalogue(*registry_);
  absl::StatusOr<common::v1::ChargingPoint> cp = catalogue.Lookup("CP1");
  ASSERT_TRUE(cp.ok()) << cp.status();
  EXPECT_EQ(cp->price_millieuros_per_kwh(), 350);
  EXPECT_TRUE(absl::IsNotFound(catalogue.Lookup("GHOST").status()));
  absl::StatusOr<std::vector<common::v1::ChargingPoint>> all = LoadCatalogue(*registry_);
  ASSERT_TRUE(all.ok()) << all.status();
  ASSERT_EQ(all->size(), 2u);
  EXPECT_EQ((*all)[1].cp_id(), "CP2");
}

}  // namespace
}  // namespace evc::central
