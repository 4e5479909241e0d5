#include "services/common/price.h"

#include <gtest/gtest.h>

namespace evc {
namespace {

// Moved from central's network_test (TicketArithmeticRoundsHalfUp).
TEST(PriceTest, TicketArithmeticRoundsHalfUp) {
  EXPECT_EQ(AmountMillieuros(0, 350), 0);
  EXPECT_EQ(AmountMillieuros(1000, 350), 350);
  EXPECT_EQ(AmountMillieuros(1, 500), 1);   // 0.5 m€ rounds up
  EXPECT_EQ(AmountMillieuros(1, 499), 0);
  EXPECT_EQ(AmountMillieuros(100'000'000, 1000), 100'000'000);  // 100 MWh, no overflow
}

TEST(PriceTest, FractionsOfAMillieuroRoundHalfUp) {
  EXPECT_EQ(AmountMillieuros(3, 350), 1);   // 1.05 m€
  EXPECT_EQ(AmountMillieuros(7, 350), 2);   // 2.45 m€
  EXPECT_EQ(AmountMillieuros(9, 350), 3);   // 3.15 m€
  EXPECT_EQ(AmountMillieuros(10, 350), 4);  // 3.5 m€: up
}

}  // namespace
}  // namespace evc
