#pragma once

#include <google/protobuf/timestamp.pb.h>

#include "absl/time/time.h"

namespace evc {

google::protobuf::Timestamp ToProto(absl::Time t);
absl::Time FromProto(const google::protobuf::Timestamp& t);

}  // namespace evc
