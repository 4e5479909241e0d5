// Audit records on Kafka (issue 20): each record becomes one AuditEvent on
// evc.audit-events, keyed by CP or actor, secrets never in it.
#include "services/common/audit_stream.h"

#include <gtest/gtest.h>

#include "services/common/kafka.h"
#include "services/common/testing/recording_publisher.h"

namespace evc {
namespace {

AuditRecord Login() {
  return {absl::FromUnixSeconds(1'800'000'000), AuditCategory::kAuth, "login", "maria", "", "OK",
          {{"password", "hunter2"}, {"refresh_token", "rt-123"}, {"key_id", "k7"},
           {"cp_secret", "s3cr3t"}, {"attempts", 1}},
          "ipv4:10.0.0.7:5555"};
}

TEST(AuditStreamTest, EveryRecordIsPublishedOnTheAuditTopicKeyedByCpOrActor) {
  RecordingPublisher kafka;
  StreamAudit(kafka, Login());
  AuditRecord charge{absl::FromUnixSeconds(1'800'000'001), AuditCategory::kCharge, "charge_authorized",
                     "maria", "MAD-001", "OK", {{"supply_id", "s1"}}, ""};
  StreamAudit(kafka, charge);
  const auto records = kafka.records();
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[0].topic, topics::kAuditEvents);
  EXPECT_EQ(records[0].key, "maria") << "no CP: keyed by the actor";
  EXPECT_EQ(records[1].key, "MAD-001");
  common::v1::AuditEvent e;
  ASSERT_TRUE(e.ParseFromString(records[1].payload));
  EXPECT_EQ(e.category(), "CHARGE");
  EXPECT_EQ(e.action(), "charge_authorized");
  EXPECT_EQ(e.actor(), "maria");
  EXPECT_EQ(e.cp_id(), "MAD-001");
  EXPECT_EQ(e.at().seconds(), 1'800'000'001);
  EXPECT_EQ(nlohmann::json::parse(e.details_json())["supply_id"], "s1");
}

TEST(AuditStreamTest, SecretsNeverReachTheTopic) {
  RecordingPublisher kafka;
  StreamAudit(kafka, Login());
  const std::string payload = kafka.records().at(0).payload;
  for (const char* secret : {"hunter2", "rt-123", "s3cr3t"}) {
    EXPECT_EQ(payload.find(secret), std::string::npos) << secret;
  }
  common::v1::AuditEvent e;
  ASSERT_TRUE(e.ParseFromString(payload));
  const auto details = nlohmann::json::parse(e.details_json());
  EXPECT_EQ(details["password"], "[redacted]");
  EXPECT_EQ(details["key_id"], "k7") << "a key's id is not a secret";
  EXPECT_EQ(details["attempts"], 1);
  EXPECT_EQ(e.source(), "ipv4:10.0.0.7:5555");
}

TEST(AuditStreamTest, OutsideTextIsMadeValidSoEveryEventParses) {
  RecordingPublisher kafka;
  AuditRecord bad = Login();
  bad.actor = std::string("ev\0il\xff", 6);
  bad.details = {{"key", std::string("\xc3\x28", 2)}, {"note", std::string("a\xff", 2)}};
  StreamAudit(kafka, bad);
  common::v1::AuditEvent e;
  ASSERT_TRUE(e.ParseFromString(kafka.records().at(0).payload));
  EXPECT_EQ(e.actor().find('\0'), std::string::npos);
  EXPECT_NO_THROW((void)nlohmann::json::parse(e.details_json()));
}

class RefusingPublisher : public Publisher {
 public:
  absl::Status Publish(const std::string&, const std::string&, const google::protobuf::Message&,
                       Delivered) override {
    return absl::ResourceExhaustedError("queue full");
  }
};

TEST(AuditStreamTest, ABrokerThatRefusesNeverFailsTheAuditedAction) {
  RefusingPublisher kafka;
  // Counted and logged; the caller goes on.
  EXPECT_NO_THROW(StreamAudit(kafka, Login()));
}

}  // namespace
}  // namespace evc
