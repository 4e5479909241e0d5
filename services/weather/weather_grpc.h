#pragma once
// gRPC face of the weather service: reads are open, overrides and
// configuration need an operator; store queries run on a worker pool.

#include "evc/weather/v1/weather.grpc.pb.h"
#include "services/common/authz.h"
#include "services/common/worker_pool.h"
#include "services/weather/watcher.h"

namespace evc::weather {

class WeatherGrpc : public v1::WeatherService::CallbackService {
 public:
  WeatherGrpc(WeatherWatcher& watcher, WeatherStore& store, CallAuthorizer& authz, WorkerPool& pool)
      : watcher_(watcher), store_(store), authz_(authz), pool_(pool) {}

  grpc::ServerUnaryReactor* ListCities(grpc::CallbackServerContext* c, const v1::ListCitiesRequest* req,
                                       v1::ListCitiesResponse* resp) override;
  grpc::ServerUnaryReactor* ListReadings(grpc::CallbackServerContext* c,
                                         const v1::ListReadingsRequest* req,
                                         v1::ListReadingsResponse* resp) override;
  grpc::ServerUnaryReactor* ListAlerts(grpc::CallbackServerContext* c, const v1::ListAlertsRequest* req,
                                       v1::ListAlertsResponse* resp) override;
  grpc::ServerUnaryReactor* SetTemperature(grpc::CallbackServerContext* c,
                                           const v1::SetTemperatureRequest* req,
                                           v1::City* resp) override;
  grpc::ServerUnaryReactor* ClearTemperature(grpc::CallbackServerContext* c,
                                             const v1::ClearTemperatureRequest* req,
                                             v1::City* resp) override;
  grpc::ServerUnaryReactor* GetConfig(grpc::CallbackServerContext* c, const v1::GetConfigRequest* req,
                                      v1::WeatherConfig* resp) override;
  grpc::ServerUnaryReactor* UpdateConfig(grpc::CallbackServerContext* c,
                                         const v1::UpdateConfigRequest* req,
                                         v1::WeatherConfig* resp) override;

 private:
  WeatherWatcher& watcher_;
  WeatherStore& store_;
  CallAuthorizer& authz_;
  WorkerPool& pool_;
};

}  // namespace evc::weather
