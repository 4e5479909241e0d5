#pragma once
// The price formula, shared by central (tickets, live figures) and the CP
// engine (its telemetry and display), so both always show the same amount.

#include <cstdint>

namespace evc {

// Amount for `energy_wh` at `price_millieuros_per_kwh`, in millieuros,
// rounded half up.
constexpr int64_t AmountMillieuros(int64_t energy_wh, int64_t price_millieuros_per_kwh) {
  return (energy_wh * price_millieuros_per_kwh + 500) / 1000;
}

}  // namespace evc
