#include "services/edge/upstreams.h"

#include <optional>

#include <grpcpp/support/proto_buffer_reader.h>

#include "absl/strings/str_cat.h"
#include "services/edge/transcoder.h"

namespace evc::edge {
namespace {

grpc::ByteBuffer ToByteBuffer(std::string bytes) {
  grpc::Slice slice(std::move(bytes));
  return grpc::ByteBuffer(&slice, 1);
}

std::string FromByteBuffer(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  out.reserve(buffer.Length());
  for (const grpc::Slice& s : slices) out.append(reinterpret_cast<const char*>(s.begin()), s.size());
  return out;
}

grpc::Status NotConfigured(const Route& route) {
  return grpc::Status(grpc::StatusCode::UNAVAILABLE,
                      absl::StrCat("the ", route.backend, " service is not configured at this edge"));
}

void Decorate(grpc::ClientContext& context, const CallMetadata& metadata) {
  if (!metadata.bearer_token.empty()) context.AddMetadata("authorization", "Bearer " + metadata.bearer_token);
  if (!metadata.client_address.empty()) context.AddMetadata("x-forwarded-for", metadata.client_address);
}

}  // namespace

// A server-streaming call run as a callback reactor, feeding one
// SharedStream. It owns itself until OnDone; whoever cancels holds a
// shared_ptr, so cancelling never races with the end of the call (gRPC may
// run OnDone inline inside TryCancel).
class Upstreams::StreamCall : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer>,
                              public StreamHandle,
                              public std::enable_shared_from_this<StreamCall> {
 public:
  StreamCall(Upstreams& owner, const Route& route, std::shared_ptr<SharedStream> stream)
      : owner_(owner), route_(route), stream_(std::move(stream)) {}

  void Start(grpc::GenericStub& stub, std::string request_bytes, const CallMetadata& metadata) {
    self_ = shared_from_this();
    Decorate(context_, metadata);
    request_ = ToByteBuffer(std::move(request_bytes));
    stub.PrepareBidiStreamingCall(&context_, route_.grpc_path, grpc::StubOptions(), this);
    StartWriteLast(&request_, grpc::WriteOptions());
    StartRead(&response_);
    StartCall();
  }

  void Cancel() override { context_.TryCancel(); }

  void OnReadDone(bool ok) override {
    if (!ok) return;  // the stream ended; OnDone has the status
    const std::string bytes = FromByteBuffer(response_);
    auto line = owner_.json_.Get(*route_.method->output_type(), bytes, true);
    if (!line.ok()) {
      // The upstream's fault, answered as for a unary call: not the CANCELLED
      // that cancelling the call ends it with.
      unreadable_.emplace(HttpOnlyStatus::kBadGateway, std::string(line.status().message()));
      context_.TryCancel();
      return;
    }
    if (!stream_->Deliver(bytes, *std::move(line))) {
      context_.TryCancel();
      return;
    }
    StartRead(&response_);
  }

  void OnDone(const grpc::Status& status) override {
    stream_->End(unreadable_ ? *unreadable_ : HttpError(status));
    owner_.Untrack(this);
    std::shared_ptr<StreamCall> last = std::move(self_);
  }

 private:
  Upstreams& owner_;
  const Route& route_;
  std::shared_ptr<SharedStream> stream_;
  std::shared_ptr<StreamCall> self_;
  // Set by OnReadDone, read by OnDone, which gRPC runs after every other reaction.
  std::optional<HttpError> unreadable_;
  grpc::ClientContext context_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer response_;
};

namespace {
class WeakHandle : public StreamHandle {
 public:
  explicit WeakHandle(std::weak_ptr<StreamHandle> call) : call_(std::move(call)) {}
  void Cancel() override {
    if (std::shared_ptr<StreamHandle> call = call_.lock()) call->Cancel();
  }

 private:
  std::weak_ptr<StreamHandle> call_;
};
}  // namespace

void Upstreams::Add(const std::string& backend, const std::string& target, const std::string& leader_service) {
  Backend b;
  b.channel = leader_service.empty() ? MakeChannel(target) : MakeLeaderChannel(target, leader_service);
  b.stub = std::make_unique<grpc::GenericStub>(b.channel);
  backends_[backend] = std::move(b);
}

void Upstreams::Unary(const Route& route, std::string request_bytes, const CallMetadata& metadata,
                      UnaryDone done) {
  auto it = backends_.find(route.backend);
  if (it == backends_.end()) return done(NotConfigured(route), "");
  struct Call {
    grpc::ClientContext context;
    grpc::ByteBuffer request;
    grpc::ByteBuffer response;
  };
  auto call = std::make_shared<Call>();
  Decorate(call->context, metadata);
  call->context.set_deadline(std::chrono::system_clock::now() + absl::ToChronoMilliseconds(unary_timeout_));
  call->request = ToByteBuffer(std::move(request_bytes));
  it->second.stub->UnaryCall(&call->context, route.grpc_path, grpc::StubOptions(), &call->request,
                             &call->response, [call, done = std::move(done)](grpc::Status status) {
                               done(status, status.ok() ? FromByteBuffer(call->response) : "");
                             });
}

std::shared_ptr<StreamHandle> Upstreams::Stream(const Route& route, std::string request_bytes,
                                                const CallMetadata& metadata, std::shared_ptr<StreamSink> sink) {
  auto it = backends_.find(route.backend);
  if (it == backends_.end()) {
    sink->OnEnd(HttpError(NotConfigured(route)));
    return std::make_shared<WeakHandle>(std::weak_ptr<StreamHandle>());
  }
  grpc::GenericStub& stub = *it->second.stub;
  const google::protobuf::Descriptor& type = *route.method->output_type();
  std::unique_ptr<StreamFold> fold = metadata.bearer_token.empty() ? NewStreamFold(type) : nullptr;
  if (fold != nullptr) return JoinShared(route, stub, std::move(request_bytes), std::move(fold), std::move(sink));
  auto own = std::make_shared<SharedStream>(json_, type, nullptr, [](const SharedStream*) {});
  std::shared_ptr<StreamHandle> handle = own->Join(std::move(sink));
  Begin(route, stub, std::move(request_bytes), metadata, own);
  return handle;
}

std::shared_ptr<StreamHandle> Upstreams::JoinShared(const Route& route, grpc::GenericStub& stub,
                                                    std::string request_bytes, std::unique_ptr<StreamFold> fold,
                                                    std::shared_ptr<StreamSink> sink) {
  SharedKey key(route.grpc_path, request_bytes);
  std::shared_ptr<SharedStream> running;
  {
    absl::MutexLock lock(&shared_mu_);
    if (auto found = shared_.find(key); found != shared_.end()) running = found->second;
  }
  if (running != nullptr) {
    if (std::shared_ptr<StreamHandle> handle = running->Join(sink)) return handle;
  }
  // None, or one that cannot bring a joiner level: a new call takes its
  // place for joiners (the old one serves its clients to the end).
  auto stream = std::make_shared<SharedStream>(json_, *route.method->output_type(), std::move(fold),
                                               [this, key](const SharedStream* closed) { Forget(key, closed); });
  std::shared_ptr<StreamHandle> handle = stream->Join(std::move(sink));
  {
    absl::MutexLock lock(&shared_mu_);
    shared_[key] = stream;
  }
  // The call is the edge's, made for many clients: no one client's address.
  Begin(route, stub, std::move(request_bytes), CallMetadata{}, stream);
  return handle;
}

void Upstreams::Begin(const Route& route, grpc::GenericStub& stub, std::string request_bytes,
                      const CallMetadata& metadata, const std::shared_ptr<SharedStream>& stream) {
  auto call = std::make_shared<StreamCall>(*this, route, stream);
  Track(call);
  stream->Start(std::make_shared<WeakHandle>(call));
  call->Start(stub, std::move(request_bytes), metadata);
}

void Upstreams::Forget(const SharedKey& key, const SharedStream* stream) {
  absl::MutexLock lock(&shared_mu_);
  auto found = shared_.find(key);
  if (found != shared_.end() && found->second.get() == stream) shared_.erase(found);
}

void Upstreams::Track(const std::shared_ptr<StreamCall>& call) {
  absl::MutexLock lock(&mu_);
  streams_[call.get()] = call;
}

void Upstreams::Untrack(StreamCall* call) {
  absl::MutexLock lock(&mu_);
  streams_.erase(call);
}

void Upstreams::CancelAll(absl::Duration grace) {
  std::vector<std::shared_ptr<StreamCall>> running;
  {
    absl::MutexLock lock(&mu_);
    for (auto& [raw, weak] : streams_) {
      if (auto call = weak.lock()) running.push_back(std::move(call));
    }
  }
  for (auto& call : running) call->Cancel();
  running.clear();
  absl::MutexLock lock(&mu_);
  auto none_left = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return streams_.empty(); };
  mu_.AwaitWithTimeout(absl::Condition(&none_left), grace);
}

std::vector<std::string> Upstreams::Unreachable() const {
  std::vector<std::string> out;
  for (const auto& [name, backend] : backends_) {
    if (backend.channel->GetState(true) == GRPC_CHANNEL_TRANSIENT_FAILURE) out.push_back(name);
  }
  return out;
}

}  // namespace evc::edge
