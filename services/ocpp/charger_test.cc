#include "services/ocpp/charger.h"

#include <gtest/gtest.h>

#include <limits>
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
  // An Authorize: its answer once given (at once, or when central answers).
  void Present(const std::string& tag) {
    Reply reply = [this](Answer a) { authorize_answer_ = std::get<json>(a); };
    authorize_answer_.reset();
    ASSERT_TRUE(charger_.OnCallLater("Authorize", {{"idTag", tag}}, reply));
  }
  std::string Status() const { return authorize_answer_ ? (*authorize_answer_)["idTagInfo"]["status"] : "(waiting)"; }
  // Central's answer to the last walk-in request.
  void AcceptWalkIn(const std::string& supply) {
    events::v1::EngineCommand c = Command();
    c.mutable_authorize()->set_supply_id(supply);
    c.mutable_authorize()->set_driver_id("ana");
    c.mutable_authorize()->set_price_millieuros_per_kwh(350);
    c.mutable_authorize()->set_walk_in_request_id(out_.events.back().walk_in().request_id());
    charger_.OnCommand(c, absl::Now());
  }
  void RejectWalkIn(common::v1::RejectReason reason) {
    events::v1::EngineCommand c = Command();
    c.mutable_walk_in_rejected()->set_request_id(out_.events.back().walk_in().request_id());
    c.mutable_walk_in_rejected()->set_reason(reason);
    charger_.OnCommand(c, absl::Now());
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
  std::optional<json> authorize_answer_;
  std::shared_ptr<RecordingLink> link_ = std::make_shared<RecordingLink>();
  OcppCharger charger_{"CP1", out_};
};

TEST_F(ChargerTest, BootHeartbeatAndRefusals) {
  json boot = Call("BootNotification", {{"chargePointVendor", "V"}, {"chargePointModel", "M"}});
  EXPECT_EQ(boot["status"], "Accepted");
  EXPECT_EQ(boot["interval"], 60);
  EXPECT_TRUE(Call("Heartbeat", json::object()).contains("currentTime"));
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

TEST_F(ChargerTest, AnRfidTagIsAuthorisedByCentralThenStartsItsTransaction) {
  Present("fob-7");
  EXPECT_EQ(Status(), "(waiting)") << "central decides";
  ASSERT_EQ(out_.events.size(), 1u);
  EXPECT_EQ(out_.events[0].walk_in().id_tag(), "fob-7");
  EXPECT_FALSE(out_.events[0].walk_in().request_id().empty());
  EXPECT_TRUE(charger_.busy());

  AcceptWalkIn("supply-0009");
  EXPECT_EQ(Status(), "Accepted");
  EXPECT_TRUE(link_->calls.empty()) << "no RemoteStartTransaction: the driver is at the charger";
  EXPECT_EQ(charger_.Check()->supply_id(), "supply-0009");

  // The charger starts with the tag it authorised (in any case).
  json started = Call("StartTransaction", {{"connectorId", 1}, {"idTag", "FOB-7"}, {"meterStart", 500},
                                           {"timestamp", "2026-12-06T22:00:00Z"}});
  EXPECT_EQ(started["idTagInfo"]["status"], "Accepted");
  const int32_t tx = started["transactionId"];
  EXPECT_EQ(tx, TransactionIdFor("supply-0009"));
  EXPECT_EQ(out_.events.back().started().supply_id(), "supply-0009");
  // The same tag presented again is the driver ending it.
  Present("fob-7");
  EXPECT_EQ(Status(), "Accepted");
  Call("StopTransaction", {{"meterStop", 2500}, {"timestamp", "2026-12-06T22:10:00Z"}, {"transactionId", tx},
                           {"idTag", "fob-7"}, {"reason", "Local"}});
  EXPECT_EQ(out_.events.back().completed().energy_wh(), 2000);
  EXPECT_EQ(out_.events.back().completed().reason(), common::v1::END_REASON_UNPLUGGED);
  EXPECT_FALSE(charger_.busy());
}

TEST_F(ChargerTest, AnRfidTagRefusedByCentralOrNotAnsweredInTimeIsRefusedAtTheCharger) {
  Present("busy-driver");
  RejectWalkIn(common::v1::REJECT_REASON_DRIVER_ALREADY_CHARGING);
  EXPECT_EQ(Status(), "ConcurrentTx");
  Present("nobody");
  RejectWalkIn(common::v1::REJECT_REASON_UNKNOWN_DRIVER);
  EXPECT_EQ(Status(), "Invalid");
  EXPECT_FALSE(charger_.busy());

  Present("slow");
  charger_.Tick(absl::Now() + absl::Seconds(5));
  EXPECT_EQ(Status(), "(waiting)");
  charger_.Tick(absl::Now() + absl::Seconds(16));
  EXPECT_EQ(Status(), "Invalid");
  // Central's late acceptance is handed back at once: nobody will plug in.
  const size_t before = out_.events.size();
  AcceptWalkIn("supply-0010");
  ASSERT_EQ(out_.events.size(), before + 1);
  EXPECT_EQ(out_.events.back().completed().supply_id(), "supply-0010");
  EXPECT_EQ(out_.events.back().completed().energy_wh(), 0);
  EXPECT_EQ(Call("StartTransaction", {{"connectorId", 1}, {"idTag", "slow"}, {"meterStart", 0},
                                      {"timestamp", "2026-12-06T22:00:00Z"}})["idTagInfo"]["status"],
            "Invalid");
  EXPECT_FALSE(charger_.busy());
}

// A charger whose Authorize went unanswered (its own CALL timeout is often
// shorter than central's answer, or it reconnected meanwhile) presents the
// same card again: that Authorize gets central's answer, and once central has
// authorised the tag here, it is accepted at once rather than refused while
// the driver's supply waits for her to plug in.
TEST_F(ChargerTest, TheSameCardPresentedAgainGetsCentralsAnswer) {
  std::optional<std::string> first, second, third;
  auto keep = [](std::optional<std::string>& to) {
    return Reply([&to](Answer a) { to = std::get<json>(a)["idTagInfo"]["status"]; });
  };
  Reply r1 = keep(first);
  ASSERT_TRUE(charger_.OnCallLater("Authorize", {{"idTag", "fob-7"}}, r1));
  const size_t walk_ins = out_.events.size();
  Reply r2 = keep(second);
  ASSERT_TRUE(charger_.OnCallLater("Authorize", {{"idTag", "FOB-7"}}, r2));
  EXPECT_EQ(out_.events.size(), walk_ins) << "the walk-in already asked is not asked again";
  EXPECT_EQ(second, std::nullopt) << "waits for central's answer, not refused";
  AcceptWalkIn("supply-0012");
  EXPECT_EQ(second, "Accepted");

  Reply r3 = keep(third);
  ASSERT_TRUE(charger_.OnCallLater("Authorize", {{"idTag", "fob-7"}}, r3));
  EXPECT_EQ(third, "Accepted") << "authorised here already: not ConcurrentTx";
  EXPECT_EQ(out_.events.size(), walk_ins);
  json started = Call("StartTransaction", {{"connectorId", 1}, {"idTag", "fob-7"}, {"meterStart", 0},
                                           {"timestamp", "2026-12-06T22:00:00Z"}});
  EXPECT_EQ(started["idTagInfo"]["status"], "Accepted");

  // Another card while one is checked is still refused.
  std::optional<std::string> other;
  Reply r4 = keep(other);
  ASSERT_TRUE(charger_.OnCallLater("Authorize", {{"idTag", "other"}}, r4));
  EXPECT_EQ(other, "ConcurrentTx");
}

// A charger configured with AuthorizeRemoteTxRequests (a standard key, often
// true) authorises a RemoteStartTransaction's idTag before it starts.
TEST_F(ChargerTest, TheIdTagOfARemoteStartIsAcceptedWhenTheChargerAuthorisesIt) {
  Authorize("supply-0013");
  ASSERT_EQ(link_->calls.size(), 1u);
  const std::string tag = link_->calls[0].second["idTag"];
  const size_t events = out_.events.size();
  Present(tag);
  EXPECT_EQ(Status(), "Accepted");
  EXPECT_EQ(out_.events.size(), events) << "no walk-in for the gateway's own tag";
  EXPECT_EQ(Call("StartTransaction", {{"connectorId", 1}, {"idTag", tag}, {"meterStart", 0},
                                      {"timestamp", "2026-12-06T22:00:00Z"}})["idTagInfo"]["status"],
            "Accepted");
}

TEST_F(ChargerTest, AnRfidTagIsRefusedAtOnceWhileTheChargerIsBusyOrFaulted) {
  Authorize("supply-0011");
  Present("fob-7");
  EXPECT_EQ(Status(), "ConcurrentTx");
  events::v1::EngineCommand stop = Command();
  stop.mutable_stop()->set_supply_id("supply-0011");
  charger_.OnCommand(stop, absl::Now());
  Call("StatusNotification", {{"connectorId", 0}, {"errorCode", "GroundFailure"}, {"status", "Faulted"}});
  const size_t before = out_.events.size();
  Present("fob-7");
  EXPECT_EQ(Status(), "Invalid");
  EXPECT_EQ(out_.events.size(), before) << "no walk-in sent for a faulted charger";
}

TEST_F(ChargerTest, OperatorAndWeatherHoldsReachTheChargerAsChangeAvailability) {
  charger_.CentralState(common::v1::CP_STATE_OUT_OF_SERVICE);
  charger_.Tick(absl::Now());
  EXPECT_TRUE(link_->calls.empty()) << "nothing before the charger's BootNotification";
  Call("BootNotification", {{"chargePointVendor", "V"}, {"chargePointModel", "M"}});
  charger_.Tick(absl::Now());
  ASSERT_EQ(link_->calls.size(), 1u);
  EXPECT_EQ(link_->calls[0].first, "ChangeAvailability");
  EXPECT_EQ(link_->calls[0].second, json({{"connectorId", 0}, {"type", "Inoperative"}}));
  charger_.CentralState(common::v1::CP_STATE_OUT_OF_SERVICE);
  charger_.Tick(absl::Now());
  EXPECT_EQ(link_->calls.size(), 1u) << "told once";
  charger_.CentralState(common::v1::CP_STATE_FAULTED);  // the charger's own report: no change
  charger_.Tick(absl::Now());
  EXPECT_EQ(link_->calls.size(), 1u);
  charger_.CentralState(common::v1::CP_STATE_ACTIVE);
  charger_.Tick(absl::Now());
  ASSERT_EQ(link_->calls.size(), 2u);
  EXPECT_EQ(link_->calls[1].second["type"], "Operative");
}

// After a gateway restart a charger reconnects without booting again (its
// boot was accepted before): an operator stop must still reach it.
TEST_F(ChargerTest, AChargerThatReconnectsWithoutBootingIsToldItsAvailability) {
  Call("StatusNotification", {{"connectorId", 1}, {"errorCode", "NoError"}, {"status", "Charging"}});
  charger_.CentralState(common::v1::CP_STATE_OUT_OF_SERVICE);
  charger_.Tick(absl::Now());
  ASSERT_EQ(link_->calls.size(), 1u) << "a charger that sends StatusNotification has booted";
  EXPECT_EQ(link_->calls[0].first, "ChangeAvailability");
  EXPECT_EQ(link_->calls[0].second["type"], "Inoperative");

  OcppCharger heartbeat_only{"CP2", out_};
  auto link = std::make_shared<RecordingLink>();
  heartbeat_only.Connected(link);
  heartbeat_only.OnCall("Heartbeat", json::object());
  heartbeat_only.CentralState(common::v1::CP_STATE_ACTIVE);
  heartbeat_only.Tick(absl::Now());
  ASSERT_EQ(link->calls.size(), 1u);
  EXPECT_EQ(link->calls[0].second["type"], "Operative");
}

// A link whose CALLs never get an answer (the connection drops meanwhile).
class DroppingLink : public ChargerLink {
 public:
  void Call(const std::string& action, json payload, RpcEndpoint::Done done) override {
    calls.push_back({action, payload});
    done(absl::UnavailableError("the charger disconnected"));
  }
  void Close(const std::string&) override {}
  std::vector<std::pair<std::string, json>> calls;
};

// A ChangeAvailability the charger never answered (it dropped, or timed out)
// is sent again: otherwise an operator stop is lost for good on a flaky link.
TEST_F(ChargerTest, AnUnansweredChangeAvailabilityIsSentAgain) {
  Call("BootNotification", {{"chargePointVendor", "V"}, {"chargePointModel", "M"}});
  auto dropping = std::make_shared<DroppingLink>();
  charger_.Connected(dropping);
  charger_.CentralState(common::v1::CP_STATE_OUT_OF_SERVICE);
  charger_.Tick(absl::Now());
  ASSERT_EQ(dropping->calls.size(), 1u);
  EXPECT_EQ(dropping->calls[0].first, "ChangeAvailability");
  auto again = std::make_shared<RecordingLink>();
  charger_.Connected(again);
  charger_.Tick(absl::Now());
  ASSERT_EQ(again->calls.size(), 1u) << "the lost Inoperative was never sent again";
  EXPECT_EQ(again->calls[0].second, json({{"connectorId", 0}, {"type", "Inoperative"}}));
  charger_.Tick(absl::Now());
  EXPECT_EQ(again->calls.size(), 1u) << "answered: told once";
}

// Central's ReportSupply for a supply this gateway lost (it restarted).
events::v1::EngineCommand Report(const std::string& supply, int64_t meter_start, int64_t energy, uint64_t seq) {
  events::v1::EngineCommand c;
  c.set_cp_id("CP1");
  *c.mutable_sent_at() = ToProto(absl::Now());
  auto* r = c.mutable_report_supply();
  r->set_supply_id(supply);
  r->set_driver_id("ana");
  r->set_price_millieuros_per_kwh(350);
  r->set_meter_start_wh(meter_start);
  r->set_energy_wh(energy);
  r->set_seq(seq);
  return c;
}

TEST_F(ChargerTest, ARestartedGatewayTakesUpTheChargersTransactionFromCentralsReport) {
  EXPECT_TRUE(charger_.Check()->supply_unknown()) << "a new session cannot tell what the charger runs";
  const int32_t tx = TransactionIdFor("supply-0020");
  Call("MeterValues", Meter(tx, "14000", "7"));
  EXPECT_TRUE(out_.events.empty()) << "not billable before central says which supply it is";
  EXPECT_TRUE(charger_.Check()->supply_unknown());

  charger_.OnCommand(Report("supply-0020", 10000, 3000, 7), absl::Now());
  ASSERT_EQ(link_->calls.size(), 1u);
  EXPECT_EQ(link_->calls[0].first, "TriggerMessage") << "a fresh reading at once";
  EXPECT_FALSE(charger_.Check()->supply_unknown());
  EXPECT_EQ(charger_.Check()->supply_id(), "supply-0020");

  Call("MeterValues", Meter(tx, "15000", "7"));
  ASSERT_EQ(out_.events.size(), 1u);
  EXPECT_EQ(out_.events[0].telemetry().supply_id(), "supply-0020");
  EXPECT_EQ(out_.events[0].telemetry().energy_wh(), 5000) << "from the meterStart central kept";
  EXPECT_EQ(out_.events[0].telemetry().seq(), 8u) << "after central's last";
  EXPECT_EQ(out_.events[0].telemetry().amount_millieuros(), 1750);
  Call("StopTransaction", {{"meterStop", 16000}, {"timestamp", "2026-12-06T22:10:00Z"}, {"transactionId", tx}});
  ASSERT_EQ(out_.events.size(), 2u);
  EXPECT_EQ(out_.events[1].completed().energy_wh(), 6000);
  EXPECT_EQ(out_.events[1].completed().seq(), 9u);
  EXPECT_FALSE(charger_.busy());
}

TEST_F(ChargerTest, AStopForATransactionNotKnownHereIsBilledOnceCentralReports) {
  const int32_t tx = TransactionIdFor("supply-0021");
  Call("StopTransaction", {{"meterStop", 12500}, {"timestamp", "2026-12-06T22:10:00Z"}, {"transactionId", tx},
                           {"reason", "EVDisconnected"}});
  EXPECT_TRUE(out_.events.empty());
  // A report for another supply takes nothing up.
  charger_.OnCommand(Report("supply-0099", 0, 0, 0), absl::Now());
  EXPECT_TRUE(out_.events.empty());
  charger_.OnCommand(Report("supply-0021", 10000, 2000, 3), absl::Now());
  ASSERT_EQ(out_.events.size(), 1u);
  EXPECT_EQ(out_.events[0].completed().supply_id(), "supply-0021");
  EXPECT_EQ(out_.events[0].completed().energy_wh(), 2500);
  EXPECT_EQ(out_.events[0].completed().seq(), 4u);
  EXPECT_EQ(out_.events[0].completed().reason(), common::v1::END_REASON_UNPLUGGED);
  EXPECT_FALSE(charger_.busy());
}

TEST_F(ChargerTest, TheSupplyBecomesKnownWhenTheChargerShowsItRunsNone) {
  EXPECT_TRUE(charger_.Check()->supply_unknown());
  Call("StatusNotification", {{"connectorId", 1}, {"errorCode", "NoError"}, {"status", "Charging"}});
  EXPECT_TRUE(charger_.Check()->supply_unknown()) << "Charging: a transaction may run";
  Call("StatusNotification", {{"connectorId", 1}, {"errorCode", "NoError"}, {"status", "Available"}});
  EXPECT_FALSE(charger_.Check()->supply_unknown());
  EXPECT_EQ(charger_.Check()->supply_id(), "");

  OcppCharger quiet{"CP2", out_};
  EXPECT_TRUE(quiet.Check()->supply_unknown());
  quiet.Tick(absl::Now() + absl::Seconds(30));
  EXPECT_TRUE(quiet.Check()->supply_unknown());
  quiet.Tick(absl::Now() + absl::Seconds(61));
  EXPECT_FALSE(quiet.Check()->supply_unknown()) << "no sign of a transaction for a minute: none";
}

// A hostile or broken meter must not bill an absurd amount: a register far
// beyond any charger's life (or one that wraps int64 once meterStart is
// subtracted) is ignored, never turned into a ticket of billions.
TEST_F(ChargerTest, AnImplausibleMeterReadingIsNotBilled) {
  Authorize("supply-0030");
  const std::string tag = link_->calls[0].second["idTag"];
  // A negative meterStart counts from 0, as central keeps it for a restart.
  json started = Call("StartTransaction", {{"connectorId", 1}, {"idTag", tag}, {"meterStart", -5},
                                           {"timestamp", "2026-12-06T22:00:00Z"}});
  const int32_t tx = started["transactionId"];
  EXPECT_EQ(out_.events[0].started().meter_start_wh(), 0);
  Call("MeterValues", Meter(tx, "1000", "7"));
  ASSERT_EQ(out_.events.size(), 2u);
  EXPECT_EQ(out_.events[1].telemetry().energy_wh(), 1000);

  for (const char* huge : {"9000000000000000000", "1e300", "9223372036854775807", "-1e300"}) {
    Call("MeterValues", Meter(tx, huge, "7"));
    EXPECT_EQ(out_.events.size(), 2u) << huge << " billed as "
                                      << out_.events.back().telemetry().energy_wh() << " Wh";
  }
  // A power no charger draws (or a negative one, which central refuses the
  // whole reading for) is left out; the energy still counts.
  Call("MeterValues", Meter(tx, "1100", "-3"));
  Call("MeterValues", Meter(tx, "1200", "1e300"));
  ASSERT_EQ(out_.events.size(), 4u);
  EXPECT_EQ(out_.events[2].telemetry().power_w(), 0);
  EXPECT_EQ(out_.events[3].telemetry().power_w(), 0);
  EXPECT_EQ(out_.events[3].telemetry().energy_wh(), 1200);

  Call("StopTransaction", {{"meterStop", int64_t{9'000'000'000'000'000'000}},
                           {"timestamp", "2026-12-06T22:10:00Z"},
                           {"transactionId", tx}});
  ASSERT_EQ(out_.events.size(), 5u);
  EXPECT_EQ(out_.events[4].completed().supply_id(), "supply-0030");
  EXPECT_EQ(out_.events[4].completed().energy_wh(), 1200) << "the last plausible reading";
}

// A charger that reconnects and leaves again before central's report comes
// must not lose the stop it already sent (its ticket would lack the energy).
TEST_F(ChargerTest, AStopKeptForCentralsReportKeepsTheChargerAcrossADisconnect) {
  const int32_t tx = TransactionIdFor("supply-0031");
  Call("StopTransaction", {{"meterStop", 12500}, {"timestamp", "2026-12-06T22:10:00Z"}, {"transactionId", tx}});
  charger_.Disconnected(*link_);
  EXPECT_TRUE(charger_.busy()) << "the gateway would forget the charger and the stop with it";
  charger_.Tick(absl::Now() + absl::Seconds(61));
  EXPECT_FALSE(charger_.busy()) << "a stop no report matched in a minute is not kept for ever";
}

TEST(TransactionIds, StableAndPositive) {
  EXPECT_EQ(TransactionIdFor("abc"), TransactionIdFor("abc"));
  EXPECT_NE(TransactionIdFor("abc"), TransactionIdFor("abd"));
  EXPECT_GT(TransactionIdFor(""), 0);
  EXPECT_LE(IdTagFor(std::string(40, 'a')).size(), 20u);
}

}  // namespace
}  // namespace evc::ocpp
