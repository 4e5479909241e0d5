#include "services/central/leadership_grpc.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "services/common/grpc_server.h"

namespace evc::central {
namespace {

// Finishes the call at once, before reading anything.
class Refusal : public grpc::ServerGenericBidiReactor {
 public:
  explicit Refusal(const absl::Status& status) { Finish(ToGrpcStatus(status)); }
  void OnDone() override { delete this; }
};

}  // namespace

absl::Status FollowerRefusal(absl::string_view method, const std::string& replica_id,
                             const Lease& leader) {
  if (!absl::StartsWith(method, absl::StrCat("/", kCentralServiceName, "/"))) {
    return absl::UnimplementedError(absl::StrCat("central serves no method ", method));
  }
  if (leader.holder.empty()) {
    return absl::UnavailableError(absl::StrCat(
        "central replica ", replica_id, " is a follower and no replica leads yet: retry shortly"));
  }
  return absl::UnavailableError(absl::StrCat(
      "central replica ", replica_id, " is a follower: the leader is replica ", leader.holder,
      " at ", leader.advertise_address, " (epoch ", leader.epoch, "); call it there"));
}

grpc::ServerGenericBidiReactor* FollowerService::CreateReactor(
    grpc::GenericCallbackServerContext* context) {
  return new Refusal(
      FollowerRefusal(context->method(), leadership_.config().replica_id, leadership_.lease()));
}

}  // namespace evc::central
