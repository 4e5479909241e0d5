#pragma once
// What a follower replica serves: every CentralService call is refused with
// UNAVAILABLE naming the leader, so a client (or its operator) knows where to
// go; health and reflection are served as usual by the host.

#include <string>

#include <grpcpp/generic/async_generic_service.h>

#include "absl/status/status.h"
#include "services/central/leadership.h"
#include "services/common/grpc_server.h"  // kCentralServiceName

namespace evc::central {

// The refusal of `method` ("/evc.central.v1.CentralService/RequestCharge")
// while `leader` leads (an empty holder: nobody yet). UNIMPLEMENTED for a
// method of no service of central's.
absl::Status FollowerRefusal(absl::string_view method, const std::string& replica_id,
                             const Lease& leader);

class FollowerService : public grpc::CallbackGenericService {
 public:
  explicit FollowerService(const Leadership& leadership) : leadership_(leadership) {}
  grpc::ServerGenericBidiReactor* CreateReactor(grpc::GenericCallbackServerContext* context) override;

 private:
  const Leadership& leadership_;
};

}  // namespace evc::central
