#pragma once
// This driver's notifications: the sealed ones addressed to it on
// evc.driver-notifications, opened with its notification keys (from auth, by
// key id). Others' notifications and envelopes that do not open are skipped.

#include <cstdio>
#include <map>
#include <optional>
#include <set>
#include <string>

#include "absl/synchronization/notification.h"
#include "evc/events/v1/events.pb.h"
#include "services/common/message_auth.h"
#include "services/driver/driver_ports.h"

namespace evc::driver {

class Inbox {
 public:
  // Gives up waiting once `stopping` is notified; says on `errors` what it skipped.
  Inbox(std::string driver_id, DriverAuth& auth, NotificationFeed& feed,
        const absl::Notification& stopping, std::FILE* errors = stderr)
      : driver_id_(std::move(driver_id)),
        auth_(auth),
        feed_(feed),
        stopping_(stopping),
        errors_(errors) {}

  void AddKey(const auth::v1::NotificationKey& k) { keys_[k.key_id()] = {k.key_id(), k.key()}; }

  // The next notification for this driver, or nullopt after `timeout`.
  std::optional<events::v1::DriverNotification> Next(absl::Duration timeout);

 private:
  // A key id not seen yet (auth rotated its signing key): ask auth once.
  const NotificationKey* KeyFor(const std::string& key_id);

  const std::string driver_id_;
  DriverAuth& auth_;
  NotificationFeed& feed_;
  const absl::Notification& stopping_;
  std::FILE* const errors_;
  std::map<std::string, NotificationKey> keys_;
  std::set<std::string> asked_;
};

}  // namespace evc::driver
