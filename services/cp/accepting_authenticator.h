#pragma once
// For tests: an auth that accepts every CP, with key "k1" valid for an hour,
// and counts the calls.

#include <atomic>
#include <string>

#include "absl/time/clock.h"
#include "services/cp/monitor.h"

namespace evc::cp {

class AcceptingAuthenticator : public Authenticator {
 public:
  absl::StatusOr<auth::v1::AuthenticateChargingPointResponse> Authenticate(const std::string&,
                                                                          const std::string&) override {
    ++calls;
    auth::v1::AuthenticateChargingPointResponse r;
    r.set_token("token");
    r.set_key_id("k1");
    r.set_key(std::string(32, 'k'));
    r.mutable_expires_at()->set_seconds(absl::ToUnixSeconds(absl::Now() + absl::Hours(1)));
    return r;
  }
  std::atomic<int> calls{0};
};

}  // namespace evc::cp
