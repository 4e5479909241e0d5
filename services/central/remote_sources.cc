#include "services/central/remote_sources.h"

#include "services/common/backoff.h"
#include "services/common/grpc_util.h"
#include "services/common/process.h"
#include "services/common/service_main.h"
#include "services/common/proto_time.h"

namespace evc::central {

using auth::v1::AuthService;
using registry::v1::RegistryService;

absl::StatusOr<std::vector<CpKey>> AuthCpKeys::Keys(const std::string& cp_id) {
  auth::v1::GetChargingPointKeysRequest request;
  request.set_cp_id(cp_id);
  auto response = CallUnary(&AuthService::StubInterface::GetChargingPointKeys, auth_, request,
                            absl::Seconds(3));
  if (!response.ok()) return response.status();
  std::vector<CpKey> keys;
  for (const auto& k : response->keys()) {
    keys.push_back({k.key_id(), k.key(),
                    k.has_not_after() ? FromProto(k.not_after()) : absl::InfiniteFuture()});
  }
  return keys;
}

absl::StatusOr<NotificationKey> AuthNotificationKeys::Key(const std::string& driver_id) {
  auth::v1::GetNotificationKeyRequest request;
  request.set_driver_id(driver_id);
  auto response = CallUnary(&AuthService::StubInterface::GetNotificationKey, auth_, request,
                            absl::Seconds(3));
  if (!response.ok()) return response.status();
  return NotificationKey{response->key_id(), response->key()};
}

absl::StatusOr<common::v1::ChargingPoint> RegistryCatalogue::Lookup(const std::string& cp_id) {
  registry::v1::GetChargingPointRequest request;
  request.set_cp_id(cp_id);
  return CallUnary(&RegistryService::StubInterface::GetChargingPoint, registry_, request,
                   absl::Seconds(5));
}

absl::StatusOr<std::string> RegistryDriverTags::DriverOf(const std::string& id_tag) {
  registry::v1::ResolveIdTagRequest request;
  request.set_id_tag(id_tag);
  // Short: a driver waits at the CP, and the charger's Authorize times out.
  absl::StatusOr<registry::v1::Account> account =
      CallUnary(&RegistryService::StubInterface::ResolveIdTag, registry_, request, absl::Seconds(3));
  if (!account.ok()) return account.status();
  return account->username();
}

absl::StatusOr<std::vector<common::v1::ChargingPoint>> LoadCatalogue(
    RegistryService::StubInterface& registry) {
  std::vector<common::v1::ChargingPoint> catalogue;
  absl::Status s = RetryWithBackoff(
      "list charging points at the registry",
      [&]() -> absl::Status {
        auto list = CallUnary(&RegistryService::StubInterface::ListChargingPoints, registry,
                              registry::v1::ListChargingPointsRequest(), absl::Seconds(5));
        if (!list.ok()) return list.status();
        catalogue.assign(list->charging_points().begin(), list->charging_points().end());
        return absl::OkStatus();
      },
      absl::Now() + StartupTimeout(), &ShutdownRequested());
  if (!s.ok()) return s;
  return catalogue;
}

absl::StatusOr<std::string> AuthCpTokens::CpOf(const std::string& token) {
  auth::v1::ValidateChargingPointTokenRequest request;
  request.set_token(token);
  auto r = CallUnary(&AuthService::StubInterface::ValidateChargingPointToken, auth_, request,
                     absl::Seconds(5));
  if (!r.ok()) return r.status();
  return r->cp_id();
}

}  // namespace evc::central
