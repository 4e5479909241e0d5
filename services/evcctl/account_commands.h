#pragma once
// evcctl's commands on accounts and keys: sign-up at the registry, revoking a
// charging point and rotating keys at auth. Each returns the process's exit code.

#include <string>

#include "services/evcctl/context.h"

namespace evc::evcctl {

int SignUp(Context& context, const std::string& username);
int RevokeCp(Context& context, const std::string& cp_id);
int RotateKey(Context& context, const std::string& cp_id);
int RotateSigningKey(Context& context);

}  // namespace evc::evcctl
