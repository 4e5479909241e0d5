#pragma once
// Where central gets a driver's notification key (auth's GetNotificationKey).

#include <string>

#include "absl/status/statusor.h"
#include "services/common/message_auth.h"

namespace evc::central {

class NotificationKeySource {
 public:
  virtual ~NotificationKeySource() = default;
  virtual absl::StatusOr<NotificationKey> Key(const std::string& driver_id) = 0;
};

}  // namespace evc::central
