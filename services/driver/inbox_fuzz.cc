// What the driver reads off evc.driver-notifications is anyone's bytes (the
// topic authenticates nobody): a message must open under this driver's key or
// be skipped, never crash the CLI or reach it unopened or for another driver.

#include <cstdint>
#include <optional>
#include <string>

#include "absl/synchronization/notification.h"
#include "services/driver/inbox.h"

namespace {

constexpr char kDriver[] = "ana";

class NoAuth : public evc::driver::DriverAuth {
 public:
  absl::StatusOr<evc::auth::v1::IssueChargeAssertionResponse> IssueChargeAssertion(
      const std::string&, const std::string&) override {
    return absl::UnavailableError("not in this test");
  }
  absl::StatusOr<evc::auth::v1::NotificationKey> GetNotificationKey(const std::string&) override {
    return absl::UnavailableError("not in this test");
  }
};

// One message, then the inbox is told to stop.
class OneMessage : public evc::driver::NotificationFeed {
 public:
  OneMessage(std::string payload, absl::Notification& stop)
      : payload_(std::move(payload)), stop_(stop) {}
  std::optional<evc::KafkaMessage> Next(absl::Duration) override {
    if (delivered_) {
      if (!stop_.HasBeenNotified()) stop_.Notify();
      return std::nullopt;
    }
    delivered_ = true;
    evc::KafkaMessage m;
    m.key = kDriver;
    m.payload = payload_;
    return m;
  }

 private:
  std::string payload_;
  absl::Notification& stop_;
  bool delivered_ = false;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static std::FILE* const errors = std::fopen("/dev/null", "w");
  if (errors == nullptr) return 0;
  NoAuth auth;
  absl::Notification stop;
  OneMessage feed(std::string(reinterpret_cast<const char*>(data), size), stop);
  evc::driver::Inbox inbox(kDriver, auth, feed, stop, errors);
  evc::auth::v1::NotificationKey key;
  key.set_driver_id(kDriver);
  key.set_key_id("k1");
  key.set_key(std::string(32, 'n'));
  inbox.AddKey(key);
  // Only what opens under this driver's key comes out, and only if it is this
  // driver's (the seed "sealed" is a real one, for the fuzzer to mutate).
  std::optional<evc::events::v1::DriverNotification> n = inbox.Next(absl::Seconds(5));
  if (n.has_value() && n->driver_id() != kDriver) __builtin_trap();
  return 0;
}
