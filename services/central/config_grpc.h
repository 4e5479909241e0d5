#pragma once
// gRPC face of central's live settings (config.proto): operators only. A new
// health interval reaches every linked monitor at once (LinkSettings).

#include "evc/central/v1/config.grpc.pb.h"
#include "services/central/central.h"
#include "services/central/link_settings.h"
#include "services/common/authz.h"
#include "services/common/worker_pool.h"

namespace evc::central {

class ConfigGrpc : public v1::CentralConfigService::CallbackService {
 public:
  ConfigGrpc(Central& central, WorkerPool& pool, CallAuthorizer& authz, LinkSettings& links);

  grpc::ServerUnaryReactor* GetConfig(grpc::CallbackServerContext* c,
                                      const v1::GetCentralConfigRequest* req,
                                      v1::CentralConfig* resp) override;
  grpc::ServerUnaryReactor* UpdateConfig(grpc::CallbackServerContext* c,
                                         const v1::UpdateCentralConfigRequest* req,
                                         v1::CentralConfig* resp) override;

 private:
  Central& central_;
  WorkerPool& pool_;
  CallAuthorizer& authz_;
  LinkSettings& links_;
};

}  // namespace evc::central
