#include "services/evcctl/cp_commands.h"

#include <sys/stat.h>

#include <fstream>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "evc/central/v1/central.grpc.pb.h"
#include "evc/registry/v1/registry.grpc.pb.h"
#include "grpc/health/v1/health.grpc.pb.h"
#include "services/common/enrolment.h"
#include "services/common/grpc_util.h"
#include "services/common/names.h"
#include "services/common/proto_time.h"
#include "services/evcctl/panel.h"

namespace evc::evcctl {
namespace {

using central::v1::CentralService;
using registry::v1::RegistryService;

// --latitude and --longitude, which make sense only together.
absl::StatusOr<std::optional<common::v1::GeoPoint>> CoordinatesGiven(const Options& o) {
  if (o.latitude.has_value() != o.longitude.has_value()) {
    return absl::InvalidArgumentError("--latitude and --longitude go together: give both");
  }
  if (!o.latitude.has_value()) return std::nullopt;
  common::v1::GeoPoint point;
  point.set_latitude(*o.latitude);
  point.set_longitude(*o.longitude);
  return point;
}

std::string CoordinatesText(const common::v1::Location& location) {
  if (!location.has_coordinates()) return "-";
  return absl::StrFormat("%.5f,%.5f", location.coordinates().latitude(),
                         location.coordinates().longitude());
}

// The CP's secret: a new enrolment's, or (--reset_if_exists) new credentials of one enrolled.
absl::StatusOr<std::string> EnrolmentSecret(Context& c, const std::string& cp_id) {
  const Options& o = c.options;
  auto coordinates = CoordinatesGiven(o);
  if (!coordinates.ok()) return coordinates.status();
  auto registry = StubFor<RegistryService>(c, o.registry, true);
  if (!registry.ok()) return registry.status();
  return EnrolChargingPoint(**registry,
                            {.cp_id = cp_id,
                             .address = o.address,
                             .city = o.city,
                             .country = o.country.value_or("ES"),
                             .price_millieuros_per_kwh = o.price.value_or(0),
                             .max_power_w = o.max_power.value_or(22000),
                             .coordinates = *coordinates},
                            o.reset_if_exists ? IfEnrolled::kResetCredentials : IfEnrolled::kFail,
                            o.timeout);
}

// The change `update` asks for: only the flags given, each named in the mask.
absl::StatusOr<registry::v1::UpdateChargingPointRequest> UpdateRequest(const Options& o,
                                                                       const std::string& cp_id) {
  auto coordinates = CoordinatesGiven(o);
  if (!coordinates.ok()) return coordinates.status();
  registry::v1::UpdateChargingPointRequest r;
  common::v1::ChargingPoint& cp = *r.mutable_charging_point();
  common::v1::Location& location = *cp.mutable_location();
  cp.set_cp_id(cp_id);
  auto& mask = *r.mutable_update_mask();
  if (!o.address.empty()) {
    location.set_address(o.address);
    mask.add_paths("location.address");
  }
  if (!o.city.empty()) {
    location.set_city(o.city);
    mask.add_paths("location.city");
  }
  if (o.country.has_value()) {
    location.set_country(*o.country);
    mask.add_paths("location.country");
  }
  if (coordinates->has_value()) {
    *location.mutable_coordinates() = **coordinates;
    mask.add_paths("location.coordinates");
  }
  if (o.price.has_value()) {
    cp.set_price_millieuros_per_kwh(*o.price);
    mask.add_paths("price_millieuros_per_kwh");
  }
  if (o.max_power.has_value()) {
    cp.set_max_power_w(*o.max_power);
    mask.add_paths("max_power_w");
  }
  // An empty mask would mean "everything", from a request that holds nothing.
  if (mask.paths().empty()) {
    return absl::InvalidArgumentError(
        "update needs something to change: --address, --city, --country, --price, --max_power or "
        "--latitude with --longitude (evcctl help update)");
  }
  return r;
}

bool ActiveOrSupplying(const central::v1::ChargingPointStatus& s) {
  return s.state() == common::v1::CP_STATE_ACTIVE || s.state() == common::v1::CP_STATE_SUPPLYING;
}

}  // namespace

int Register(Context& c, const std::string& cp_id) {
  auto secret = EnrolmentSecret(c, cp_id);
  if (!secret.ok()) return Fail(c, secret.status());
  const std::string& file = c.options.secret_file;
  if (file.empty()) {
    std::fprintf(c.out, "registered %s\nsecret (shown once, keep it): %s\n", cp_id.c_str(),
                 secret->c_str());
  } else {
    umask(077);
    std::ofstream(file) << *secret << "\n";
    std::fprintf(c.out, "registered %s; secret written to %s\n", cp_id.c_str(), file.c_str());
  }
  return 0;
}

int Update(Context& c, const std::string& cp_id) {
  auto request = UpdateRequest(c.options, cp_id);
  if (!request.ok()) return Fail(c, request.status());
  auto cp =
      Call(c, c.options.registry, true, &RegistryService::Stub::UpdateChargingPoint, *request);
  if (!cp.ok()) return Fail(c, cp.status());
  const common::v1::Location& at = cp->location();
  std::fprintf(c.out, "updated %s: %s, %s (%s), coordinates %s, %s EUR/kWh, %.1f kW\n",
               cp->cp_id().c_str(), at.address().c_str(), at.city().c_str(), at.country().c_str(),
               CoordinatesText(at).c_str(), Euros(cp->price_millieuros_per_kwh()).c_str(),
               cp->max_power_w() / 1000.0);
  return 0;
}

int Unregister(Context& c, const std::string& cp_id) {
  registry::v1::UnregisterChargingPointRequest r;
  r.set_cp_id(cp_id);
  auto s = Call(c, c.options.registry, true, &RegistryService::Stub::UnregisterChargingPoint, r);
  if (!s.ok()) return Fail(c, s.status());
  std::fprintf(c.out, "unregistered %s: its credentials and keys no longer work\n", cp_id.c_str());
  return 0;
}

int List(Context& c) {
  auto list = Call(c, c.options.registry, false, &RegistryService::Stub::ListChargingPoints,
                   registry::v1::ListChargingPointsRequest());
  if (!list.ok()) return Fail(c, list.status());
  std::fprintf(c.out, "%-12s %-14s %-3s %-30s %10s %10s  %s\n", "CP", "CITY", "CC", "ADDRESS",
               "EUR/kWh", "MAX kW", "LAT,LON");
  for (const auto& cp : list->charging_points()) {
    std::fprintf(c.out, "%-12s %-14s %-3s %-30s %10s %10.1f  %s\n", cp.cp_id().c_str(),
                 cp.location().city().c_str(), cp.location().country().c_str(),
                 cp.location().address().c_str(), Euros(cp.price_millieuros_per_kwh()).c_str(),
                 cp.max_power_w() / 1000.0, CoordinatesText(cp.location()).c_str());
  }
  return 0;
}

int Status(Context& c) {
  auto list = Call(c, c.options.central, false, &CentralService::Stub::ListChargingPoints,
                   central::v1::ListChargingPointsRequest());
  if (!list.ok()) return Fail(c, list.status());
  std::fprintf(c.out, "%s\n", StatusHeader().c_str());
  for (const auto& s : list->charging_points()) {
    std::fprintf(c.out, "%s\n", StatusLine(s, c.terminal).c_str());
  }
  return 0;
}

int StopOrResume(Context& c, const std::string& verb, const std::vector<std::string>& args) {
  central::v1::OperatorRequest r;
  r.set_all(c.options.all);
  if (!r.all()) {
    if (args.size() < 2) {
      return Fail(c, absl::InvalidArgumentError(
                         absl::StrCat(verb, " needs a CP id or --all (evcctl help ", verb, ")")));
    }
    r.set_cp_id(args[1]);
  }
  auto method = verb == "stop" ? &CentralService::Stub::StopChargingPoints
                               : &CentralService::Stub::ResumeChargingPoints;
  auto resp = Call(c, c.options.central, true, method, r);
  if (!resp.ok()) return Fail(c, resp.status());
  std::fprintf(c.out, "%s: %s\n", verb.c_str(),
               resp->affected_cp_ids().empty()
                   ? "nothing to change"
                   : absl::StrJoin(resp->affected_cp_ids(), ", ").c_str());
  return 0;
}

int Tickets(Context& c) {
  central::v1::ListTicketsRequest r;
  r.set_driver_id(c.options.driver);
  r.set_cp_id(c.options.cp);
  r.set_limit(c.options.limit);
  auto list = Call(c, c.options.central, true, &CentralService::Stub::ListTickets, r);
  if (!list.ok()) return Fail(c, list.status());
  std::fprintf(c.out, "%-32s %-10s %-14s %-20s %10s %9s  %s\n", "SUPPLY", "CP", "DRIVER", "ENDED",
               "kWh", "EUR", "REASON");
  for (const auto& t : list->tickets()) {
    std::fprintf(
        c.out, "%-32s %-10s %-14s %-20s %10s %9s  %s\n", t.supply_id().c_str(), t.cp_id().c_str(),
        t.driver_id().empty() ? "(walk-in)" : t.driver_id().c_str(),
        absl::FormatTime("%Y-%m-%d %H:%M:%S", FromProto(t.ended_at()), absl::LocalTimeZone())
            .c_str(),
        Kwh(t.energy_wh()).c_str(), Euros(t.amount_millieuros()).c_str(),
        EndReasonText(t.end_reason()).c_str());
  }
  return 0;
}

int Queues(Context& c) {
  auto list = Call(c, c.options.central, true, &CentralService::Stub::ListQueues,
                   central::v1::ListQueuesRequest());
  if (!list.ok()) return Fail(c, list.status());
  std::fprintf(c.out, "%-16s %-32s %4s %-14s %-10s  %s\n", "CITY", "ADDRESS", "POS", "DRIVER",
               "WAIT", "OFFERED");
  for (const auto& q : list->entries()) {
    const std::string wait =
        q.has_estimated_wait_seconds() ? absl::StrCat(q.estimated_wait_seconds(), "s") : "-";
    std::fprintf(c.out, "%-16s %-32s %4d %-14s %-10s  %s\n", q.city().c_str(),
                 q.address().empty() ? "(any)" : q.address().c_str(), q.position(),
                 q.driver_id().c_str(), wait.c_str(), q.offered_cp_id().c_str());
  }
  return 0;
}

int Audit(Context& c) {
  const Options& o = c.options;
  central::v1::ListAuditEventsRequest r;
  r.set_category(o.category);
  r.set_actor(o.actor);
  r.set_cp_id(o.cp);
  r.set_limit(o.limit);
  if (o.since > absl::ZeroDuration()) *r.mutable_since() = ToProto(absl::Now() - o.since);
  auto list = Call(c, o.central, true, &CentralService::Stub::ListAuditEvents, r);
  if (!list.ok()) return Fail(c, list.status());
  std::fprintf(c.out, "%-23s %-8s %-26s %-18s %-10s %-8s %s\n", "AT", "CATEGORY", "ACTION", "ACTOR",
               "CP", "OUTCOME", "DETAILS");
  // Oldest first reads like a story.
  for (auto it = list->events().rbegin(); it != list->events().rend(); ++it) {
    std::fprintf(
        c.out, "%-23s %-8s %-26s %-18s %-10s %-8s %s\n",
        absl::FormatTime("%Y-%m-%d %H:%M:%E3S", FromProto(it->at()), absl::LocalTimeZone()).c_str(),
        it->category().c_str(), it->action().c_str(), it->actor().c_str(), it->cp_id().c_str(),
        it->outcome().c_str(), it->details_json().c_str());
  }
  return 0;
}

int WaitActive(Context& c) {
  auto central = StubFor<CentralService>(c, c.options.central, false);
  if (!central.ok()) return Fail(c, central.status());
  const absl::Time deadline = absl::Now() + c.options.timeout;
  int active = 0;
  while (absl::Now() < deadline) {
    auto list = CallUnary(&CentralService::Stub::ListChargingPoints, **central,
                          central::v1::ListChargingPointsRequest(), absl::Seconds(2));
    active = 0;
    if (list.ok()) {
      for (const auto& s : list->charging_points()) active += ActiveOrSupplying(s);
      if (active >= c.options.count) return 0;
    }
    absl::SleepFor(absl::Milliseconds(200));
  }
  std::fprintf(c.err, "evcctl: only %d of %d CPs ACTIVE\n", active, c.options.count);
  return 1;
}

int Health(Context& c, const std::string& address) {
  using grpc::health::v1::HealthCheckResponse;
  auto r = Call(c, address, false, &grpc::health::v1::Health::Stub::Check,
                grpc::health::v1::HealthCheckRequest());
  if (!r.ok()) return Fail(c, r.status());
  std::fprintf(c.out, "%s\n", HealthCheckResponse::ServingStatus_Name(r->status()).c_str());
  return r->status() == HealthCheckResponse::SERVING ? 0 : 1;
}

}  // namespace evc::evcctl
