// What a charger sends, one OCPP-J message a line, handled by a real
// OcppCharger behind the endpoint's schema checks: a charger central has
// authorised (RemoteStartTransaction for supply-0001) and whose earlier
// transaction (supply-0002) central reported after a gateway restart. The
// frame fuzzer's handler is a stub; this one reaches the charger's own
// parsing of meter values, transaction ids and idTags. Nothing may crash,
// and nothing billed may be negative or beyond any meter (1 TWh).

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "services/common/price.h"
#include "services/common/proto_time.h"
#include "services/ocpp/charger.h"
#include "services/ocpp/endpoint.h"

namespace {

using nlohmann::json;

constexpr int64_t kMaxWh = 1'000'000'000'000;

class Output : public evc::cp::EngineOutput {
 public:
  void Send(const evc::events::v1::EngineEvent& e, const evc::events::v1::SealedEnvelope&) override {
    int64_t wh = 0, amount = 0;
    if (e.has_telemetry()) {
      wh = e.telemetry().energy_wh();
      amount = e.telemetry().amount_millieuros();
      if (e.telemetry().power_w() < 0) __builtin_trap();
    }
    if (e.has_completed()) wh = e.completed().energy_wh();
    if (e.has_started() && (e.started().meter_start_wh() < 0 || e.started().meter_start_wh() > kMaxWh)) {
      __builtin_trap();
    }
    if (wh < 0 || wh > kMaxWh || amount < 0) __builtin_trap();
  }
  void Say(const std::string&, const std::string&) override {}
};

class Link : public evc::ocpp::ChargerLink {
 public:
  void Call(const std::string&, json, evc::ocpp::RpcEndpoint::Done done) override { done(json::object()); }
  void Close(const std::string&) override {}
};

evc::events::v1::EngineCommand Command() {
  evc::events::v1::EngineCommand c;
  c.set_cp_id("CP1");
  *c.mutable_sent_at() = evc::ToProto(absl::Now());
  return c;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Output out;
  int answers = 0;
  evc::ocpp::OcppCharger charger("CP1", out);
  charger.Connected(std::make_shared<Link>());
  evc::cp::v1::ActivateRequest a;
  a.set_cp_id("CP1");
  a.set_key_id("k1");
  a.set_key(std::string(32, 'k'));
  if (!charger.Activate(a).ok()) __builtin_trap();
  evc::events::v1::EngineCommand report = Command();
  auto* r = report.mutable_report_supply();
  r->set_supply_id("supply-0002");
  r->set_driver_id("ana");
  r->set_price_millieuros_per_kwh(100'000);
  r->set_meter_start_wh(1000);
  r->set_energy_wh(500);
  r->set_seq(3);
  charger.OnCommand(report, absl::Now());
  evc::events::v1::EngineCommand authorize = Command();
  authorize.mutable_authorize()->set_supply_id("supply-0001");
  authorize.mutable_authorize()->set_driver_id("bea");
  authorize.mutable_authorize()->set_price_millieuros_per_kwh(100'000);
  charger.OnCommand(authorize, absl::Now());

  evc::ocpp::RpcEndpoint endpoint(evc::ocpp::Schemas::Ocpp16(), charger, [&](std::string) { ++answers; });
  for (absl::string_view line : absl::StrSplit(absl::string_view(text.data(), text.size()), '\n')) {
    answers = 0;
    endpoint.OnMessage(std::string_view(line.data(), line.size()), absl::Now());
    if (answers > 1) __builtin_trap();  // one message, at most one answer
  }
  charger.Tick(absl::Now() + absl::Seconds(120));
  return 0;
}
