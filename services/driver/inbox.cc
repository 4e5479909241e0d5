#include "services/driver/inbox.h"

#include <algorithm>

#include "absl/time/clock.h"

namespace evc::driver {

std::optional<events::v1::DriverNotification> Inbox::Next(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline && !stopping_.HasBeenNotified()) {
    auto m = feed_.Next(std::min(deadline - absl::Now(), absl::Milliseconds(100)));
    events::v1::SealedNotification sealed;
    if (!m || m->key != driver_id_ || !sealed.ParseFromString(m->payload)) continue;
    const NotificationKey* key = KeyFor(sealed.key_id());
    if (key == nullptr) continue;
    auto n = OpenNotification(*key, driver_id_, sealed);
    if (n.ok()) return *std::move(n);
    std::fprintf(errors_, "ignored a notification that does not open: %s\n",
                 n.status().ToString().c_str());
  }
  return std::nullopt;
}

const NotificationKey* Inbox::KeyFor(const std::string& key_id) {
  auto it = keys_.find(key_id);
  if (it == keys_.end() && asked_.insert(key_id).second) {
    auto k = auth_.GetNotificationKey(driver_id_);
    if (k.ok()) AddKey(*k);
    it = keys_.find(key_id);
  }
  return it == keys_.end() ? nullptr : &it->second;
}

}  // namespace evc::driver
