#include "services/edge/transcoder.h"

#include <set>

#include <google/protobuf/util/json_util.h>
#include <google/protobuf/util/message_differencer.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "evc/auth/v1/auth.pb.h"
#include "evc/central/v1/central.pb.h"
#include "evc/proto_files.h"
#include "evc/registry/v1/registry.pb.h"

namespace evc::edge {
namespace {

using ::testing::HasSubstr;

class TranscoderTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto table = ProjectRoutes();
    ASSERT_TRUE(table.ok()) << table.status();
    table_ = std::move(*table);
  }

  // Builds the request of `method path?query` with `body`.
  template <typename T>
  absl::StatusOr<T> Build(const std::string& method, const std::string& path, const std::string& query,
                          const std::string& body) {
    auto lookup = table_.Match(method, path);
    if (lookup.outcome != RouteTable::Outcome::kFound) return absl::NotFoundError(path);
    auto message = BuildRequest(*lookup.route, lookup.bindings, query, body);
    if (!message.ok()) return message.status();
    T typed;
    EXPECT_EQ((*message)->GetDescriptor(), T::descriptor());
    typed.CopyFrom(**message);
    return typed;
  }

  std::string Error(const std::string& method, const std::string& path, const std::string& query,
                    const std::string& body) {
    auto lookup = table_.Match(method, path);
    EXPECT_EQ(lookup.outcome, RouteTable::Outcome::kFound);
    auto message = BuildRequest(*lookup.route, lookup.bindings, query, body);
    EXPECT_FALSE(message.ok());
    if (message.ok()) return "";
    EXPECT_EQ(message.status().code(), absl::StatusCode::kInvalidArgument);
    return std::string(message.status().message());
  }

  RouteTable table_;
};

TEST_F(TranscoderTest, WholeBodyThenPathVariablesWhichWin) {
  auto r = Build<central::v1::RequestChargeRequest>("POST", "/v1/charging-points/ALC-001:charge", "",
                                                    R"({"requestId":"r-1","cp_id":"ignored"})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->cp_id(), "ALC-001");
  EXPECT_EQ(r->request_id(), "r-1");
}

TEST_F(TranscoderTest, EmptyBodyIsAnEmptyRequest) {
  auto r = Build<central::v1::OperatorRequest>("POST", "/v1/charging-points/A:stop", "", "");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->cp_id(), "A");
  EXPECT_FALSE(r->all()) << "the body says what to do; nothing was said";
}

// Issue 22: the path of :stopAll and :resumeAll says "all" (they are their own
// RPCs); the body they once needed is still accepted.
TEST_F(TranscoderTest, StopAllAndResumeAllNeedNoBody) {
  for (const std::string path : {"/v1/charging-points:stopAll", "/v1/charging-points:resumeAll"}) {
    for (const std::string body : {"", "{}", R"({"all":true})"}) {
      auto r = Build<central::v1::AllChargingPointsRequest>("POST", path, "", body);
      EXPECT_TRUE(r.ok()) << path << " " << body << ": " << r.status();
    }
  }
}

TEST_F(TranscoderTest, BodyFieldPlusQueryPlusNestedPathVariable) {
  auto r = Build<registry::v1::UpdateChargingPointRequest>(
      "PATCH", "/v1/registry/charging-points/ALC-001", "update_mask=location,priceMillieurosPerKwh",
      R"({"location":{"city":"Elche"},"priceMillieurosPerKwh":"300"})");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->charging_point().cp_id(), "ALC-001");
  EXPECT_EQ(r->charging_point().location().city(), "Elche");
  EXPECT_EQ(r->charging_point().price_millieuros_per_kwh(), 300);
  ASSERT_EQ(r->update_mask().paths_size(), 2);
  EXPECT_EQ(r->update_mask().paths(1), "price_millieuros_per_kwh");
}

TEST_F(TranscoderTest, QueryParametersOfEveryKind) {
  auto r = Build<central::v1::ListAuditEventsRequest>(
      "GET", "/v1/audit-events", "category=SECURITY&cp_id=ALC%2D001&since=2026-01-01T00:00:00Z&limit=5&actor=ana+g", "");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->category(), "SECURITY");
  EXPECT_EQ(r->cp_id(), "ALC-001");
  EXPECT_EQ(r->actor(), "ana g");
  EXPECT_EQ(r->limit(), 5);
  EXPECT_EQ(r->since().seconds(), 1767225600);
  // lowerCamel names work too.
  auto camel = Build<central::v1::ListTicketsRequest>("GET", "/v1/tickets", "driverId=ana&cpId=X", "");
  ASSERT_TRUE(camel.ok()) << camel.status();
  EXPECT_EQ(camel->driver_id(), "ana");
}

TEST_F(TranscoderTest, SetFieldFromTextCoversEnumsBoolsRepeatedAndBytes) {
  common::v1::Ticket ticket;
  ASSERT_TRUE(SetFieldFromText(ticket, "end_reason", "END_REASON_DRIVER_STOP").ok());
  EXPECT_EQ(ticket.end_reason(), common::v1::END_REASON_DRIVER_STOP);
  ASSERT_TRUE(SetFieldFromText(ticket, "end_reason", "3").ok());
  EXPECT_EQ(ticket.end_reason(), common::v1::END_REASON_OPERATOR_STOP);
  EXPECT_FALSE(SetFieldFromText(ticket, "end_reason", "END_REASON_NOPE").ok());

  central::v1::OperatorRequest op;
  ASSERT_TRUE(SetFieldFromText(op, "all", "true").ok());
  EXPECT_TRUE(op.all());
  EXPECT_THAT(std::string(SetFieldFromText(op, "all", "yes").message()), HasSubstr("true or false"));

  central::v1::OperatorResponse affected;
  ASSERT_TRUE(SetFieldFromText(affected, "affected_cp_ids", "A").ok());
  ASSERT_TRUE(SetFieldFromText(affected, "affected_cp_ids", "B").ok());
  EXPECT_EQ(affected.affected_cp_ids_size(), 2);

  auth::v1::ChargingPointKey key;
  ASSERT_TRUE(SetFieldFromText(key, "key", "aGVsbG8").ok());
  EXPECT_EQ(key.key(), "hello");
}

TEST_F(TranscoderTest, BadInputGetsAClearReason) {
  EXPECT_THAT(Error("POST", "/v1/charging-points/A:charge", "", "{not json"), HasSubstr("request body"));
  EXPECT_THAT(Error("POST", "/v1/charging-points/A:charge", "", R"({"bogus":1})"), HasSubstr("bogus"));
  EXPECT_THAT(Error("POST", "/v1/charging-points/A:charge", "", R"({"requestId":{"a":1}})"), HasSubstr("request body"));
  EXPECT_THAT(Error("POST", "/v1/charging-points/A:charge", "", "[1,2]"), HasSubstr("request body"));
  EXPECT_THAT(Error("GET", "/v1/tickets", "limit=ten", ""), HasSubstr("'ten' is not a number"));
  EXPECT_THAT(Error("GET", "/v1/tickets", "colour=red", ""), HasSubstr("unknown field 'colour'"));
  EXPECT_THAT(Error("GET", "/v1/tickets", "", R"({"limit":1})"), HasSubstr("takes no body"));
  EXPECT_THAT(Error("POST", "/v1/charging-points/A:charge", "request_id=x", ""), HasSubstr("JSON body"));
  EXPECT_THAT(Error("GET", "/v1/audit-events", "since=yesterday", ""), HasSubstr("google.protobuf.Timestamp"));
  EXPECT_THAT(Error("GET", "/v1/tickets", "a=%zz", ""), HasSubstr("bad %-escape"));
}

// Text that is not UTF-8 is the client's mistake (400), not an upstream that
// fails to parse what the edge forwarded (500).
TEST_F(TranscoderTest, TextThatIsNotUtf8IsRefused) {
  EXPECT_THAT(Error("GET", "/v1/registry/charging-points/%FF%FE", "", ""), HasSubstr("valid UTF-8"));
  EXPECT_THAT(Error("GET", "/v1/tickets", "driver_id=%C3%28", ""), HasSubstr("valid UTF-8"));
  EXPECT_THAT(Error("POST", "/v1/auth/login", "", "{\"username\":\"\xff\"}"), HasSubstr("UTF-8"));
  EXPECT_THAT(Error("POST", "/v1/auth/login", "", R"({"username":"\ud800"})"),
              ::testing::AnyOf(HasSubstr("request body"), HasSubstr("UTF-8")));
  // Bytes fields take any bytes (base64), and real UTF-8 text is fine.
  auto ok = Build<central::v1::ListTicketsRequest>("GET", "/v1/tickets", "driver_id=%C3%B1and%C3%BA", "");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->driver_id(), "\xc3\xb1" "and" "\xc3\xba");
}

// Fills every field of `m` with a non-default value (messages two levels deep).
void Fill(google::protobuf::Message& m, int depth) {
  using google::protobuf::FieldDescriptor;
  const auto* d = m.GetDescriptor();
  const auto* r = m.GetReflection();
  if (d->full_name() == "google.protobuf.Timestamp") {
    r->SetInt64(&m, d->FindFieldByName("seconds"), 1767225600);
    r->SetInt32(&m, d->FindFieldByName("nanos"), 5000000);
    return;
  }
  if (d->full_name() == "google.protobuf.Duration") {
    r->SetInt64(&m, d->FindFieldByName("seconds"), 90);
    return;
  }
  if (d->full_name() == "google.protobuf.FieldMask") {
    r->AddString(&m, d->FindFieldByName("paths"), "name");
    return;
  }
  for (int i = 0; i < d->field_count(); ++i) {
    const FieldDescriptor* f = d->field(i);
    if (f->containing_oneof() && f->index_in_oneof() != 0) continue;
    const bool rep = f->is_repeated();
    switch (f->cpp_type()) {
      case FieldDescriptor::CPPTYPE_INT32: rep ? r->AddInt32(&m, f, -7) : r->SetInt32(&m, f, -7); break;
      case FieldDescriptor::CPPTYPE_INT64: rep ? r->AddInt64(&m, f, 1LL << 40) : r->SetInt64(&m, f, 1LL << 40); break;
      case FieldDescriptor::CPPTYPE_UINT32: rep ? r->AddUInt32(&m, f, 7) : r->SetUInt32(&m, f, 7); break;
      case FieldDescriptor::CPPTYPE_UINT64: rep ? r->AddUInt64(&m, f, 7) : r->SetUInt64(&m, f, 7); break;
      case FieldDescriptor::CPPTYPE_DOUBLE: rep ? r->AddDouble(&m, f, 2.5) : r->SetDouble(&m, f, 2.5); break;
      case FieldDescriptor::CPPTYPE_FLOAT: rep ? r->AddFloat(&m, f, 1.5f) : r->SetFloat(&m, f, 1.5f); break;
      case FieldDescriptor::CPPTYPE_BOOL: rep ? r->AddBool(&m, f, true) : r->SetBool(&m, f, true); break;
      case FieldDescriptor::CPPTYPE_ENUM: {
        const auto* v = f->enum_type()->value(f->enum_type()->value_count() - 1);
        rep ? r->AddEnum(&m, f, v) : r->SetEnum(&m, f, v);
        break;
      }
      case FieldDescriptor::CPPTYPE_STRING: {
        std::string v = f->type() == FieldDescriptor::TYPE_BYTES ? std::string("\x00\xff k", 4) : "ñ \"x\"";
        rep ? r->AddString(&m, f, v) : r->SetString(&m, f, v);
        break;
      }
      case FieldDescriptor::CPPTYPE_MESSAGE:
        if (depth > 0) Fill(rep ? *r->AddMessage(&m, f) : *r->MutableMessage(&m, f), depth - 1);
        break;
    }
  }
}

void CollectMessages(const google::protobuf::Descriptor* d, std::set<const google::protobuf::Descriptor*>& out) {
  if (d->options().map_entry() || !out.insert(d).second) return;
  for (int i = 0; i < d->nested_type_count(); ++i) CollectMessages(d->nested_type(i), out);
}

TEST_F(TranscoderTest, EveryApiMessageSurvivesAJsonRoundTrip) {
  std::set<const google::protobuf::Descriptor*> messages;
  for (const std::string& name : proto::ServiceProtoFiles()) {
    const auto* file = google::protobuf::DescriptorPool::generated_pool()->FindFileByName(name);
    ASSERT_NE(file, nullptr) << name;
    std::vector<const google::protobuf::FileDescriptor*> files{file};
    for (int i = 0; i < file->dependency_count(); ++i) files.push_back(file->dependency(i));
    for (const auto* f : files) {
      if (f->package().rfind("evc.", 0) != 0) continue;
      for (int i = 0; i < f->message_type_count(); ++i) CollectMessages(f->message_type(i), messages);
    }
  }
  ASSERT_GE(messages.size(), 60u);
  for (const auto* d : messages) {
    std::unique_ptr<google::protobuf::Message> original(
        google::protobuf::MessageFactory::generated_factory()->GetPrototype(d)->New());
    Fill(*original, 2);
    std::string json = ToJson(*original);
    std::unique_ptr<google::protobuf::Message> back(original->New());
    auto status = google::protobuf::util::JsonStringToMessage(json, back.get());
    ASSERT_TRUE(status.ok()) << d->full_name() << ": " << status.message() << "\n" << json;
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*original, *back))
        << d->full_name() << "\n" << json;
  }
}

TEST_F(TranscoderTest, ResponsesUseLowerCamelNamesAndShowZeros) {
  common::v1::Supply supply;
  supply.set_supply_id("s-1");
  std::string json = ToJson(supply);
  EXPECT_THAT(json, HasSubstr("\"supplyId\":\"s-1\""));
  EXPECT_THAT(json, HasSubstr("\"energyWh\":\"0\""));
  EXPECT_THAT(json, HasSubstr("\"phase\":\"SUPPLY_PHASE_UNSPECIFIED\""));
}

TEST(QueryTest, ParsesPairsAndRefusesNamelessOnes) {
  auto q = ParseQuery("a=1&b=x%20y&&c=&d");
  ASSERT_TRUE(q.ok());
  ASSERT_EQ(q->size(), 4u);
  EXPECT_EQ((*q)[1].second, "x y");
  EXPECT_EQ((*q)[3].first, "d");
  EXPECT_FALSE(ParseQuery("=1").ok());
}

}  // namespace
}  // namespace evc::edge
