#include "services/common/proto_time.h"

namespace evc {

namespace {

// Timestamp and Duration share their seconds + nanos layout.
template <typename Proto>
Proto FromNanos(int64_t nanos) {
  Proto out;
  out.set_seconds(nanos / 1'000'000'000);
  out.set_nanos(static_cast<int32_t>(nanos % 1'000'000'000));
  return out;
}

}  // namespace

google::protobuf::Timestamp ToProto(absl::Time t) {
  return FromNanos<google::protobuf::Timestamp>(absl::ToUnixNanos(t));
}

absl::Time FromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

google::protobuf::Duration ToProto(absl::Duration d) {
  return FromNanos<google::protobuf::Duration>(absl::ToInt64Nanoseconds(d));
}

absl::Duration FromProto(const google::protobuf::Duration& d) {
  return absl::Seconds(d.seconds()) + absl::Nanoseconds(d.nanos());
}

}  // namespace evc
