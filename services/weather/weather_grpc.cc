#include "services/weather/weather_grpc.h"

#include <algorithm>

#include "services/common/grpc_util.h"
#include "services/common/proto_time.h"

namespace evc::weather {
namespace {

int Limit(int32_t asked) { return asked <= 0 ? 100 : std::min(asked, 1000); }

v1::Alert AlertProto(const AlertRecord& a) {
  v1::Alert out;
  out.set_city(a.city.name);
  out.set_country(a.city.country);
  *out.mutable_at() = ToProto(a.at);
  out.set_kind(a.alert ? v1::Alert::KIND_ALERT : v1::Alert::KIND_CLEAR);
  out.set_temperature_c(a.temperature_c);
  out.set_min_c(a.thresholds.min_c);
  out.set_max_c(a.thresholds.max_c);
  for (const auto& id : a.cp_ids) out.add_cp_ids(id);
  return out;
}

}  // namespace

grpc::ServerUnaryReactor* WeatherGrpc::ListCities(grpc::CallbackServerContext* c,
                                                  const v1::ListCitiesRequest*,
                                                  v1::ListCitiesResponse* resp) {
  // In memory: answered on the gRPC thread.
  *resp = watcher_.Cities();
  grpc::ServerUnaryReactor* reactor = c->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* WeatherGrpc::ListReadings(grpc::CallbackServerContext* c,
                                                    const v1::ListReadingsRequest* req,
                                                    v1::ListReadingsResponse* resp) {
  return ServeOnPool(c, pool_, [=, this]() -> absl::Status {
    absl::StatusOr<City> city = watcher_.Resolve(req->city(), req->country());
    if (!city.ok()) return city.status();
    absl::StatusOr<std::vector<Reading>> readings = store_.ListReadings(*city, Limit(req->limit()));
    if (!readings.ok()) return readings.status();
    for (const Reading& r : *readings) *resp->add_readings() = ReadingProto(r);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* WeatherGrpc::ListAlerts(grpc::CallbackServerContext* c,
                                                  const v1::ListAlertsRequest* req,
                                                  v1::ListAlertsResponse* resp) {
  return ServeOnPool(c, pool_, [=, this]() -> absl::Status {
    absl::StatusOr<std::vector<AlertRecord>> alerts = store_.ListAlerts(req->city(), Limit(req->limit()));
    if (!alerts.ok()) return alerts.status();
    for (const AlertRecord& a : *alerts) *resp->add_alerts() = AlertProto(a);
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* WeatherGrpc::SetTemperature(grpc::CallbackServerContext* c,
                                                      const v1::SetTemperatureRequest* req,
                                                      v1::City* resp) {
  return ServeOnPool(c, pool_, [=, this]() -> absl::Status {
    absl::StatusOr<Caller> op = authz_.RequireOperator(*c);
    if (!op.ok()) return op.status();
    return Fill(watcher_.SetTemperature(req->city(), req->country(), req->temperature_c(), *op),
                resp);
  });
}

grpc::ServerUnaryReactor* WeatherGrpc::ClearTemperature(grpc::CallbackServerContext* c,
                                                        const v1::ClearTemperatureRequest* req,
                                                        v1::City* resp) {
  return ServeOnPool(c, pool_, [=, this]() -> absl::Status {
    absl::StatusOr<Caller> op = authz_.RequireOperator(*c);
    if (!op.ok()) return op.status();
    return Fill(watcher_.SetTemperature(req->city(), req->country(), std::nullopt, *op), resp);
  });
}

grpc::ServerUnaryReactor* WeatherGrpc::GetConfig(grpc::CallbackServerContext* c,
                                                 const v1::GetConfigRequest*, v1::WeatherConfig* resp) {
  *resp = ConfigProto(watcher_.settings());
  grpc::ServerUnaryReactor* reactor = c->DefaultReactor();
  reactor->Finish(grpc::Status::OK);
  return reactor;
}

grpc::ServerUnaryReactor* WeatherGrpc::UpdateConfig(grpc::CallbackServerContext* c,
                                                    const v1::UpdateConfigRequest* req,
                                                    v1::WeatherConfig* resp) {
  return ServeOnPool(c, pool_, [=, this]() -> absl::Status {
    absl::StatusOr<Caller> op = authz_.RequireOperator(*c);
    if (!op.ok()) return op.status();
    std::vector<std::string> paths(req->update_mask().paths().begin(), req->update_mask().paths().end());
    absl::StatusOr<Settings> updated = watcher_.UpdateSettings(req->config(), paths, *op);
    if (!updated.ok()) return updated.status();
    *resp = ConfigProto(*updated);
    return absl::OkStatus();
  });
}

}  // namespace evc::weather
