#include "services/ocpp/charger.h"

#include <gtest/gtest.h>

#include <vector>

#include "services/common/proto_time.h"
#include "services/common/sealed.h"

namespace evc::ocpp {
namespace {

using nlohmann::json;

class Recorder : public cp::EngineOutput {
 public:
  void Send(const events::v1::EngineEvent& e, const events::v1::SealedEnvelope& sealed) override {
    events.push_back(e);
    envelopes.push_back(sealed);
  }
  void Say(const std::string&, const std::string&) override {}
  std::vector<events::v1::EngineEvent> events;
  std::vector<events::v1::SealedEnvelope> envelopes;
};

class RecordingLink : public ChargerLink {
 public:
  void Call(const std::string& action, json payload, RpcEndpoint::Done done) override {
    calls.push_back({action, payload});
    done(json{{"status", "Accepted"}});
  }
  void Close(const std::string& reason) override { closed = reason; }
  std::vector<std::pair<std::string, json>> calls;
  std::string closed;
};

class ChargerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    charger_.Connected(link_);
    cp::v1::ActivateRequest a;
    a.set_cp_id("CP1");
    a.set_key_id("k1");
    a.set_key(std::string(32, 'k'));
    ASSERT_TRUE(charger_.Activate(a).ok());
  }

  events::v1::EngineCommand Command() {
    events::v1::EngineCommand c;
    c.set_cp_id("CP1");
    *c.mutable_sent_at() = ToProto(absl::Now());
    return c;
  }
  void Authorize(const std::string& supply) {
    events::v1::EngineCommand c = Command();
    c.mutable_authorize()->set_supply_id(supply);
    c.mutable_authorize()->set_driver_id("ana");
    c.mutable_authorize()->set_price_millieuros_per_kwh(350);
    charger_.OnCommand(c, absl::Now());
  }
  json Call(const std::string& action, const json& payload) {
    // What the endpoint guarantees before OnCall: the payload conforms.
    EXPECT_EQ(Schemas::Ocpp16().ValidateRequest(action, payload), std::nullopt) << payload.dump();
    auto answer = charger_.OnCall(action, payload);
    if (auto* e = std::get_if<RpcError>(&answer)) return json{{"error", e->code}};
    json result = std::get<json>(answer);
    EXPECT_EQ(Schemas::Ocpp16().ValidateConfirmation(action, result), std::nullopt) << result.dump();
    return result;
  }
  json Meter(int32_t tx, const std::string& wh, const std::string& w) {
    return json{{"connectorId", 1},
                {"transactionId", tx},
                {"meterValue",
                 json::array({{{"timestamp", "2026-12-06T22:00:00Z"},
                               {"sampledValue",
                                json::array({{{"value", wh}, {"measurand", "Energy.Active.Import.Register"}, {"unit", "Wh"}},
                                             {{"value", w}, {"measurand", "Power.Active.Import"}, {"unit", "kW"}}})}}})}};
  }

  Recorder out_;
  std::shared_ptr<RecordingLink> link_ = std::make_shared<RecordingLink>();
  OcppCharger charger_{"CP1", out_};
};

TEST_F(ChargerTest, BootHeartbeatAndRefusals) {
  json boot = Call("BootNotification", {{"chargePointVendor", "V"}, {"chargePointModel", "M"}});
  EXPECT_EQ(boot["status"], "Accepted");
  EXPECT_EQ(boot["interval"], 60);
  EXPECT_TRUE(Call("Heartbeat", json::object()).contains("currentTime"));
  EXPECT_EQ(Call("Authorize", {{"idTag", "RFID1"}})["idTagInfo"]["status"], "Invalid");
  EXPECT_EQ(Call("DataTransfer", {{"vendorId", "acme"}})["status"], "UnknownVendorId");
  EXPECT_EQ(Call("Reset", {{"type", "Soft"}})["error"], errc::kNotSupported);
  EXPECT_TRUE(out_.events.empty());
}

TEST_F(ChargerTest, FaultedIsAnEngineKoAndRecoveryOk) {
  EXPECT_TRUE(charger_.Check()->ok());
  Call("StatusNotification", {{"connectorId", 0}, {"errorCode", "GroundFailure"}, {"status", "Faulted"}});
  absl::StatusOr<cp::v1::CheckResponse> check = charger_.Check();
  EXPECT_FALSE(check->ok());
  EXPECT_NE(check->detail().find("GroundFailure"), std::string::npos);
  Call("StatusNotification", {{"connectorId", 0}, {"errorCode", "NoError"}, {"status", "Available"}});
  EXPECT_TRUE(charger_.Check()->ok());
  charger_.Disconnected(*link_);
  EXPECT_FALSE(charger_.Check()->ok());
}

TEST_F(ChargerTest, RemoteStartMeterValuesAndRemoteStopMakeOneSupply) {
  Authorize("supply-0001");
  ASSERT_EQ(link_->calls.size(), 1u);
  EXPECT_EQ(link_->calls[0].first, "RemoteStartTransaction");
  const std::string tag = link_->calls[0].second["idTag"];
  EXPECT_EQ(charger_.Check()->supply_id(), "supply-0001");

  json started = Call("StartTransaction", {{"connectorId", 1}, {"idTag", tag}, {"meterStart", 10000},
                                           {"timestamp", "2026-12-06T22:00:00Z"}});
  EXPECT_EQ(started["idTagInfo"]["status"], "Accepted");
  const int32_t tx = started["transactionId"];
  EXPECT_EQ(tx, TransactionIdFor("supply-0001"));
  ASSERT_EQ(out_.events.size(), 1u);
  EXPECT_EQ(out_.events[0].started().supply_id(), "supply-0001");

  Call("MeterValues", Meter(tx, "12000", "11"));
  ASSERT_EQ(out_.events.size(), 2u);
  EXPECT_EQ(out_.events[1].telemetry().energy_wh(), 2000);
  EXPECT_EQ(out_.events[1].telemetry().power_w(), 11000);
  EXPECT_EQ(out_.events[1].telemetry().amount_millieuros(), 700);  // 2 kWh at 0.35 €

  events::v1::EngineCommand stop = Command();
  stop.mutable_stop()->set_supply_id("supply-0001");
  stop.mutable_stop()->set_reason(common::v1::END_REASON_DRIVER_STOP);
  charger_.OnCommand(stop, absl::Now());
  ASSERT_EQ(link_->calls.size(), 2u);
  EXPECT_EQ(link_->calls[1].first, "RemoteStopTransaction");
  EXPECT_EQ(link_->calls[1].second["transactionId"], tx);

  Call("StopTransaction", {{"meterStop", 13500}, {"timestamp", "2026-12-06T22:10:00Z"}, {"transactionId", tx},
                           {"reason", "Remote"}});
  ASSERT_EQ(out_.events.size(), 3u);
  EXPECT_EQ(out_.events[2].completed().supply_id(), "supply-0001");
  EXPECT_EQ(out_.events[2].completed().energy_wh(), 3500);
  EXPECT_EQ(out_.events[2].completed().reason(), common::v1::END_REASON_DRIVER_STOP);
  EXPECT_FALSE(charger_.busy());
  // Every event left sealed with the CP's key.
  for (const auto& env : out_.envelopes) EXPECT_EQ(env.key_id(), "k1");
}

TEST_F(ChargerTest, ChargerEndedSupplyKeepsItsReason) {
  Authorize("supply-0002");
  const std::string tag = link_->calls[0].second["idTag"];
  const int32_t tx = Call("StartTransaction", {{"connectorId", 1}, {"idTag", tag}, {"meterStart", 0},
                                               {"timestamp", "2026-12-06T22:00:00Z"}})["transactionId"];
  Call("StopTransaction", {{"meterStop", 1000}, {"timestamp", "2026-12-06T22:10:00Z"}, {"transactionId", tx},
                           {"reason", "EVDisconnected"}});
  EXPECT_EQ(out_.events.back().completed().reason(), common::v1::END_REASON_UNPLUGGED);
  EXPECT_EQ(out_.events.back().completed().energy_wh(), 1000);
}

TEST_F(ChargerTest, StartWithoutAuthorisationRefused) {
  json r = Call("StartTransaction", {{"connectorId", 1}, {"idTag", "RFID-UNKNOWN"}, {"meterStart", 0},
                                     {"timestamp", "2026-12-06T22:00:00Z"}});
  EXPECT_EQ(r["idTagInfo"]["status"], "Invalid");
  EXPECT_TRUE(out_.events.empty());
  // MeterValues and StopTransaction outside a transaction bill nothing.
  Call("MeterValues", Meter(5, "100", "1"));
  Call("StopTransaction", {{"meterStop", 1000}, {"timestamp", "2026-12-06T22:10:00Z"}, {"transactionId", 5}});
  EXPECT_TRUE(out_.events.empty());
}

TEST_F(ChargerTest, StopBeforeStartEndsTheSupplyAtZero) {
  Authorize("supply-0003");
  events::v1::EngineCommand stop = Command();
  stop.mutable_stop()->set_supply_id("supply-0003");
  stop.mutable_stop()->set_reason(common::v1::END_REASON_OPERATOR_STOP);
  charger_.OnCommand(stop, absl::Now());
  ASSERT_EQ(out_.events.size(), 1u);
  EXPECT_EQ(out_.events[0].completed().energy_wh(), 0);
  EXPECT_EQ(out_.events[0].completed().reason(), common::v1::END_REASON_OPERATOR_STOP);
  EXPECT_FALSE(charger_.busy());
}

TEST_F(ChargerTest, SealedCommandsOpenWithTheKeyOnly) {
  events::v1::EngineCommand c = Command();
  c.mutable_authorize()->set_supply_id("supply-0004");
  c.mutable_authorize()->set_price_millieuros_per_kwh(350);
  CpKey key{"k1", std::string(32, 'k')};
  auto sealed = SealEnvelope(events::v1::SealedEnvelope::DIRECTION_CENTRAL_TO_ENGINE, "CP1", key, 5,
                             c.SerializeAsString());
  ASSERT_TRUE(sealed.ok());
  ASSERT_TRUE(charger_.OnSealedCommand(sealed->SerializeAsString(), absl::Now()).ok());
  EXPECT_EQ(link_->calls.size(), 1u);
  // A replay is refused.
  EXPECT_FALSE(charger_.OnSealedCommand(sealed->SerializeAsString(), absl::Now()).ok());
  CpKey other{"k1", std::string(32, 'x')};
  auto forged = SealEnvelope(events::v1::SealedEnvelope::DIRECTION_CENTRAL_TO_ENGINE, "CP1", other, 6,
                             c.SerializeAsString());
  EXPECT_FALSE(charger_.OnSealedCommand(forged->SerializeAsString(), absl::Now()).ok());
}

TEST_F(ChargerTest, ReconnectReplacesTheOldConnectionAndKeepsTheTransaction) {
  Authorize("supply-0005");
  const std::string tag = link_->calls[0].second["idTag"];
  const int32_t tx = Call("StartTransaction", {{"connectorId", 1}, {"idTag", tag}, {"meterStart", 0},
                                               {"timestamp", "2026-12-06T22:00:00Z"}})["transactionId"];
  auto second = std::make_shared<RecordingLink>();
  charger_.Connected(second);
  EXPECT_FALSE(link_->closed.empty());
  charger_.Disconnected(*link_);  // the old one ends later: the new one stays
  EXPECT_TRUE(charger_.connected());
  events::v1::EngineCommand stop = Command();
  stop.mutable_stop()->set_supply_id("supply-0005");
  stop.mutable_stop()->set_reason(common::v1::END_REASON_DRIVER_STOP);
  charger_.OnCommand(stop, absl::Now());
  ASSERT_EQ(second->calls.size(), 1u);
  EXPECT_EQ(second->calls[0].first, "RemoteStopTransaction");
  EXPECT_EQ(second->calls[0].second["transactionId"], tx);
}

TEST(TransactionIds, StableAndPositive) {
  EXPECT_EQ(TransactionIdFor("abc"), TransactionIdFor("abc"));
  EXPECT_NE(TransactionIdFor("abc"), TransactionIdFor("abd"));
  EXPECT_GT(TransactionIdFor(""), 0);
  EXPECT_LE(IdTagFor(std::string(40, 'a')).size(), 20u);
}

}  // namespace
}  // namespace evc::ocpp
