#include "services/central/config_grpc.h"

#include <string>
#include <vector>

#include "services/common/proto_time.h"

namespace evc::central {

ConfigGrpc::ConfigGrpc(Central& central, WorkerPool& pool, CallAuthorizer& authz, LinkSettings& links)
    : central_(central), pool_(pool), authz_(authz), links_(links) {}

grpc::ServerUnaryReactor* ConfigGrpc::GetConfig(grpc::CallbackServerContext* c,
                                                const v1::GetCentralConfigRequest*,
                                                v1::CentralConfig* resp) {
  return ServeOnPool(c, pool_, [=, this]() -> absl::Status {
    absl::StatusOr<Caller> op = authz_.RequireOperator(*c);
    if (!op.ok()) return op.status();
    *resp = central_.Config();
    return absl::OkStatus();
  });
}

grpc::ServerUnaryReactor* ConfigGrpc::UpdateConfig(grpc::CallbackServerContext* c,
                                                   const v1::UpdateCentralConfigRequest* req,
                                                   v1::CentralConfig* resp) {
  return ServeOnPool(c, pool_, [=, this]() -> absl::Status {
    absl::StatusOr<Caller> op = authz_.RequireOperator(*c);
    if (!op.ok()) return op.status();
    const std::vector<std::string> paths(req->update_mask().paths().begin(),
                                         req->update_mask().paths().end());
    const absl::Duration interval_before = central_.health_interval();
    absl::StatusOr<v1::CentralConfig> updated = central_.UpdateConfig(*op, req->config(), paths);
    if (!updated.ok()) return updated.status();
    const absl::Duration interval = FromProto(updated->health_interval());
    if (interval != interval_before) links_.PushHealthInterval(interval);
    *resp = std::move(*updated);
    return absl::OkStatus();
  });
}

}  // namespace evc::central
