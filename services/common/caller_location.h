#pragma once
// The calling function, for names derived from call sites (Postgres statement names).
// std::source_location where the standard library has it; clang 14 (the sanitizer
// build) has no std::source_location with libstdc++ 12, so there the function's
// plain name from __builtin_FUNCTION stands in.

#include <version>
#if defined(__cpp_lib_source_location)
#include <source_location>
#endif

namespace evc {

#if defined(__cpp_lib_source_location)
using CallerLocation = std::source_location;
#else
class CallerLocation {
 public:
  static constexpr CallerLocation current(const char* function = __builtin_FUNCTION()) {
    return CallerLocation(function);
  }
  constexpr const char* function_name() const { return function_; }

 private:
  constexpr explicit CallerLocation(const char* function) : function_(function) {}
  const char* function_;
};
#endif

}  // namespace evc
