#include "services/common/metrics.h"

#include <google/protobuf/descriptor.h>
#include <prometheus/exposer.h>

#include <mutex>

#include "absl/container/node_hash_map.h"
#include "absl/flags/flag.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "services/common/log.h"

ABSL_FLAG(std::string, metrics_listen, "",
          "Prometheus /metrics address (host:port); empty: the gRPC port + 1000 on the same "
          "host; 'off': no metrics endpoint");

namespace evc::metrics {
namespace {

using grpc::experimental::InterceptionHookPoints;

const char* TypeName(bool client_streams, bool server_streams) {
  if (client_streams && server_streams) return "bidi_stream";
  if (client_streams) return "client_stream";
  if (server_streams) return "server_stream";
  return "unary";
}

// "/evc.central.v1.CentralService/RequestCharge" -> service and method, or
// "unknown" for both when this binary has no such method (labels stay bounded
// whatever a client sends).
struct MethodLabels {
  std::string service = "unknown";
  std::string method = "unknown";
  std::string type = "unary";
};

MethodLabels Describe(const char* full_name) {
  MethodLabels out;
  std::string name = full_name == nullptr ? "" : full_name;
  const size_t slash = name.rfind('/');
  if (name.empty() || name[0] != '/' || slash == 0 || slash == std::string::npos) return out;
  const std::string service = name.substr(1, slash - 1), method = name.substr(slash + 1);
  const google::protobuf::MethodDescriptor* d =
      google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(service + "." + method);
  if (d == nullptr) return out;
  out.service = service;
  out.method = method;
  out.type = TypeName(d->client_streaming(), d->server_streaming());
  return out;
}

prometheus::Labels LabelsOf(const MethodLabels& m) {
  return {{"grpc_type", m.type}, {"grpc_service", m.service}, {"grpc_method", m.method}};
}

struct RpcFamilies {
  prometheus::Family<prometheus::Counter>& started;
  prometheus::Family<prometheus::Counter>& handled;
  prometheus::Family<prometheus::Counter>& received;
  prometheus::Family<prometheus::Counter>& sent;
  prometheus::Family<prometheus::Histogram>& seconds;
};

RpcFamilies MakeFamilies(const std::string& side) {
  auto& r = Registry();
  const std::string p = "grpc_" + side + "_";
  return {
      prometheus::BuildCounter().Name(p + "started_total").Help("RPCs started, by method").Register(r),
      prometheus::BuildCounter().Name(p + "handled_total").Help("RPCs completed, by method and status code").Register(r),
      prometheus::BuildCounter().Name(p + "msg_received_total").Help("Stream messages received, by method").Register(r),
      prometheus::BuildCounter().Name(p + "msg_sent_total").Help("Stream messages sent, by method").Register(r),
      prometheus::BuildHistogram()
          .Name(p + "handling_seconds")
          .Help("Time from the start of an RPC to its status, by method")
          .Register(r),
  };
}

// The labels of a method, made once per method and kept for the process:
// each call held its own copy (~0.6 KB), and 50,000 monitor links are 50,000
// calls open at once. Only this binary's methods are kept, so the map stays
// bounded whatever names clients send.
const prometheus::Labels& BaseLabels(const char* full_name) {
  static absl::Mutex mu(absl::kConstInit);
  static auto* known = new absl::node_hash_map<std::string, const prometheus::Labels>();
  static const auto* unknown = new prometheus::Labels(LabelsOf(MethodLabels()));
  const absl::string_view name = full_name == nullptr ? "" : full_name;
  absl::MutexLock lock(&mu);
  if (auto it = known->find(name); it != known->end()) return it->second;
  const MethodLabels m = Describe(full_name);
  if (m.service == MethodLabels().service) return *unknown;  // not one of this binary's
  return known->try_emplace(name, LabelsOf(m)).first->second;
}

// Counts one RPC through the interceptor hooks of either side.
class RpcMetrics : public grpc::experimental::Interceptor {
 public:
  // Counters resolved once per call; messages count as they pass, so a
  // long-lived stream shows its traffic before it ends.
  RpcMetrics(const RpcFamilies& f, const char* method, bool client)
      : f_(f), base_(BaseLabels(method)), client_(client), started_(absl::Now()),
        sent_(f_.sent.Add(base_)), received_(f_.received.Add(base_)) {
    f_.started.Add(base_).Increment();
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* m) override {
    if (m->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_MESSAGE)) sent_.Increment();
    if (m->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_MESSAGE)) received_.Increment();
    if (!client_ && m->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      Finish(m->GetSendStatus().error_code());
    }
    if (client_ && m->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_STATUS)) {
      Finish(m->GetRecvStatus()->error_code());
    }
    m->Proceed();
  }

 private:
  void Finish(int code) {
    prometheus::Labels with_code = base_;
    with_code["grpc_code"] = CodeName(code);
    f_.handled.Add(with_code).Increment();
    f_.seconds.Add(base_, LatencyBuckets()).Observe(absl::ToDoubleSeconds(absl::Now() - started_));
  }

  const RpcFamilies& f_;
  const prometheus::Labels& base_;
  const bool client_;
  const absl::Time started_;
  prometheus::Counter& sent_;
  prometheus::Counter& received_;
};

class ServerFactory : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateServerInterceptor(grpc::experimental::ServerRpcInfo* info) override {
    static const RpcFamilies* families = new RpcFamilies(MakeFamilies("server"));
    return new RpcMetrics(*families, info->method(), false);
  }
};

class ClientFactory : public grpc::experimental::ClientInterceptorFactoryInterface {
 public:
  grpc::experimental::Interceptor* CreateClientInterceptor(grpc::experimental::ClientRpcInfo* info) override {
    static const RpcFamilies* families = new RpcFamilies(MakeFamilies("client"));
    return new RpcMetrics(*families, info->method(), true);
  }
};

}  // namespace

namespace {
std::shared_ptr<prometheus::Registry> SharedRegistry() {
  static auto* registry = new std::shared_ptr<prometheus::Registry>(std::make_shared<prometheus::Registry>());
  return *registry;
}
}  // namespace

prometheus::Registry& Registry() { return *SharedRegistry(); }

void ServeFor(const std::string& listen) {
  const std::string flag = absl::GetFlag(FLAGS_metrics_listen);
  if (flag == "off") return;
  if (!flag.empty()) {
    absl::StatusOr<int> port = Serve(flag);
    if (!port.ok()) {
      log::Error("cannot serve metrics", {{"error", port.status().ToString()}});
      std::exit(1);
    }
    return;
  }
  const size_t colon = listen.rfind(':');
  int port = 0;
  if (colon == std::string::npos || !absl::SimpleAtoi(listen.substr(colon + 1), &port) || port == 0 ||
      port + 1000 > 65535) {
    log::Warn("no metrics endpoint: give --metrics_listen", {{"listen", listen}});
    return;
  }
  absl::StatusOr<int> served = Serve(absl::StrCat(listen.substr(0, colon), ":", port + 1000));
  if (!served.ok()) log::Warn("no metrics endpoint", {{"error", served.status().ToString()}});
}

absl::StatusOr<int> Serve(const std::string& address) {
  static std::mutex mu;
  static prometheus::Exposer* exposer = nullptr;
  std::lock_guard<std::mutex> lock(mu);
  if (exposer == nullptr) {
    try {
      exposer = new prometheus::Exposer(address, 2);
    } catch (const std::exception& e) {
      return absl::UnavailableError(absl::StrCat("cannot serve /metrics on ", address, ": ", e.what(),
                                                 " (--metrics_listen)"));
    }
    exposer->RegisterCollectable(SharedRegistry());
    log::Info("metrics", {{"address", address}, {"port", exposer->GetListeningPorts().front()}});
  }
  return exposer->GetListeningPorts().front();
}

const prometheus::Histogram::BucketBoundaries& LatencyBuckets() {
  static const auto* buckets = new prometheus::Histogram::BucketBoundaries{
      0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
  return *buckets;
}

std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface> ServerInterceptor() {
  return std::make_unique<ServerFactory>();
}

std::unique_ptr<grpc::experimental::ClientInterceptorFactoryInterface> ClientInterceptor() {
  return std::make_unique<ClientFactory>();
}

const char* CodeName(int code) {
  static const char* kNames[] = {"OK", "Canceled", "Unknown", "InvalidArgument", "DeadlineExceeded",
                                 "NotFound", "AlreadyExists", "PermissionDenied", "ResourceExhausted",
                                 "FailedPrecondition", "Aborted", "OutOfRange", "Unimplemented",
                                 "Internal", "Unavailable", "DataLoss", "Unauthenticated"};
  return code >= 0 && code <= 16 ? kNames[code] : "Unknown";
}

}  // namespace evc::metrics
