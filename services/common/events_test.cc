// The Kafka wire format: protobuf events round-trip, and damaged payloads are
// recognised as such (consumers dead-letter them).

#include <gtest/gtest.h>

#include "evc/events/v1/events.pb.h"
#include "services/common/proto_time.h"

namespace evc {
namespace {

TEST(Events, EngineEventRoundTripsWithItsKind) {
  events::v1::EngineEvent e;
  e.set_cp_id("ALC-001");
  e.set_event_id("e1");
  *e.mutable_at() = ToProto(absl::FromUnixMillis(1'800'000'000'123));
  auto* t = e.mutable_telemetry();
  t->set_supply_id("s1");
  t->set_seq(42);
  t->set_energy_wh(12345);
  t->set_power_w(22000);
  events::v1::EngineEvent back;
  ASSERT_TRUE(back.ParseFromString(e.SerializeAsString()));
  EXPECT_EQ(back.kind_case(), events::v1::EngineEvent::kTelemetry);
  EXPECT_EQ(back.telemetry().seq(), 42u);
  EXPECT_EQ(back.telemetry().energy_wh(), 12345);
  EXPECT_EQ(FromProto(back.at()), absl::FromUnixMillis(1'800'000'000'123));
}

TEST(Events, CommandsAndNotificationsRoundTrip) {
  events::v1::EngineCommand c;
  c.set_cp_id("CP1");
  c.mutable_stop()->set_supply_id("s1");
  c.mutable_stop()->set_reason(common::v1::END_REASON_OPERATOR_STOP);
  events::v1::EngineCommand c2;
  ASSERT_TRUE(c2.ParseFromString(c.SerializeAsString()));
  EXPECT_TRUE(c2.has_stop());
  EXPECT_EQ(c2.stop().reason(), common::v1::END_REASON_OPERATOR_STOP);

  events::v1::DriverNotification n;
  n.set_driver_id("ana");
  n.mutable_ticket()->set_amount_millieuros(4321);
  events::v1::DriverNotification n2;
  ASSERT_TRUE(n2.ParseFromString(n.SerializeAsString()));
  EXPECT_EQ(n2.ticket().amount_millieuros(), 4321);
}

TEST(Events, TruncatedAndGarbagePayloadsDoNotParse) {
  events::v1::EngineEvent e;
  e.set_cp_id("ALC-001");
  e.mutable_completed()->set_supply_id("a-long-supply-identifier");
  std::string bytes = e.SerializeAsString();
  events::v1::EngineEvent back;
  EXPECT_FALSE(back.ParseFromString(bytes.substr(0, bytes.size() - 3)));
  EXPECT_FALSE(back.ParseFromString(std::string("\xff\xfe garbage", 10)));
  EXPECT_FALSE(back.ParseFromString(std::string("\x0a\xff\xff", 3)));
}

}  // namespace
}  // namespace evc
