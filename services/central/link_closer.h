#pragma once
// Where central cuts a CP's monitor link (its gRPC face): the CP was removed
// or revoked, its credentials reset or its key rotated.

#include <string>

namespace evc::central {

class LinkCloser {
 public:
  virtual ~LinkCloser() = default;
  // `why` is told to the monitor; nothing happens when the CP has no link.
  virtual void CloseLink(const std::string& cp_id, const std::string& why) = 0;
};

}  // namespace evc::central
