#include "services/ocpp/rpc.h"

#include <gtest/gtest.h>

#include "services/ocpp/schemas.h"

namespace evc::ocpp {
namespace {

using nlohmann::json;

TEST(DecodeFrame, Call) {
  Decoded d = DecodeFrame(R"([2,"19223201","BootNotification",{"chargePointVendor":"V","chargePointModel":"M"}])");
  ASSERT_TRUE(d.frame);
  EXPECT_EQ(d.frame->type, MessageType::kCall);
  EXPECT_EQ(d.frame->id, "19223201");
  EXPECT_EQ(d.frame->action, "BootNotification");
  EXPECT_EQ(d.frame->payload["chargePointModel"], "M");
}

TEST(DecodeFrame, ResultAndError) {
  Decoded r = DecodeFrame(R"([3,"a",{"status":"Accepted"}])");
  ASSERT_TRUE(r.frame);
  EXPECT_EQ(r.frame->type, MessageType::kCallResult);
  EXPECT_EQ(r.frame->payload["status"], "Accepted");
  Decoded e = DecodeFrame(R"([4,"a","NotSupported","no",{}])");
  ASSERT_TRUE(e.frame);
  EXPECT_EQ(e.frame->type, MessageType::kCallError);
  EXPECT_EQ(e.frame->error.code, "NotSupported");
  EXPECT_EQ(e.frame->error.description, "no");
}

TEST(DecodeFrame, MalformedFramesGetFormationViolation) {
  for (const char* bad : {"", "not json", "{}", "[]", R"(["2","x","A",{}])", R"([2])", R"([2,5,"A",{}])",
                          R"([2,"","A",{}])", R"([2,"x","A"])", R"([2,"x","A",[]])", R"([2,"x",7,{}])",
                          R"([2,"x","A",{},1])"}) {
    Decoded d = DecodeFrame(bad);
    ASSERT_FALSE(d.frame) << bad;
    EXPECT_EQ(d.failure.error.code, errc::kFormationViolation) << bad;
    EXPECT_FALSE(d.failure.error.description.empty());
    EXPECT_TRUE(d.failure.answerable);
  }
  // The id is echoed when it could be read.
  EXPECT_EQ(DecodeFrame(R"([2,"abc","A"])").failure.id, "abc");
  EXPECT_EQ(DecodeFrame(R"([2,"0123456789012345678901234567890123456","A",{}])").failure.error.code,
            errc::kFormationViolation);
}

TEST(DecodeFrame, UnknownTypeIsProtocolError) {
  Decoded d = DecodeFrame(R"([7,"x","A",{}])");
  ASSERT_FALSE(d.frame);
  EXPECT_EQ(d.failure.error.code, errc::kProtocolError);
  EXPECT_EQ(d.failure.id, "x");
}

TEST(DecodeFrame, MalformedRepliesAreNotAnswered) {
  EXPECT_FALSE(DecodeFrame(R"([3,"x"])").failure.answerable);
  EXPECT_FALSE(DecodeFrame(R"([4,"x","E"])").failure.answerable);
}

TEST(DecodeFrame, DeepNestingRefusedWithoutRecursion) {
  std::string deep(100000, '[');
  Decoded d = DecodeFrame(deep);
  ASSERT_FALSE(d.frame);
  EXPECT_EQ(d.failure.error.code, errc::kFormationViolation);
  // Brackets inside strings do not count.
  EXPECT_TRUE(DecodeFrame(R"([2,"x","DataTransfer",{"vendorId":"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["}])").frame);
}

TEST(Encode, Frames) {
  EXPECT_EQ(EncodeCall("1", "Reset", json{{"type", "Soft"}}), R"([2,"1","Reset",{"type":"Soft"}])");
  EXPECT_EQ(EncodeCallResult("1", json::object()), R"([3,"1",{}])");
  EXPECT_EQ(EncodeCallError("", RpcError{"FormationViolation", "bad"}), R"([4,"-1","FormationViolation","bad",{}])");
}

TEST(Schemas, EmbeddedSetCoversOcpp16) {
  const Schemas& s = Schemas::Ocpp16();
  for (const char* action : {"Authorize", "BootNotification", "ChangeAvailability", "ChangeConfiguration",
                             "DataTransfer", "GetConfiguration", "Heartbeat", "MeterValues",
                             "RemoteStartTransaction", "RemoteStopTransaction", "Reset", "StartTransaction",
                             "StatusNotification", "StopTransaction", "TriggerMessage"}) {
    EXPECT_TRUE(s.Knows(action)) << action;
  }
  EXPECT_FALSE(s.Knows("Launch"));
}

TEST(Schemas, ConformingPayloadPasses) {
  const Schemas& s = Schemas::Ocpp16();
  EXPECT_EQ(s.ValidateRequest("BootNotification", json{{"chargePointVendor", "V"}, {"chargePointModel", "M"}}),
            std::nullopt);
  EXPECT_EQ(s.ValidateRequest("StatusNotification", json{{"connectorId", 1}, {"errorCode", "NoError"},
                                                         {"status", "Available"}}),
            std::nullopt);
  EXPECT_EQ(s.ValidateConfirmation("Heartbeat", json{{"currentTime", "2026-12-06T22:00:00Z"}}), std::nullopt);
}

TEST(Schemas, ViolationsGetTheSpecCode) {
  const Schemas& s = Schemas::Ocpp16();
  auto code = [&](const char* action, const json& payload) {
    std::optional<RpcError> e = s.ValidateRequest(action, payload);
    return e ? e->code : std::string("none");
  };
  // Missing required field.
  EXPECT_EQ(code("BootNotification", json{{"chargePointVendor", "V"}}), errc::kOccurenceConstraintViolation);
  // Wrong type.
  EXPECT_EQ(code("BootNotification", json{{"chargePointVendor", 12}, {"chargePointModel", "M"}}),
            errc::kTypeConstraintViolation);
  EXPECT_EQ(code("StatusNotification", json{{"connectorId", "1"}, {"errorCode", "NoError"}, {"status", "Available"}}),
            errc::kTypeConstraintViolation);
  // Value out of its set, too long, unknown property.
  EXPECT_EQ(code("StatusNotification", json{{"connectorId", 1}, {"errorCode", "NoError"}, {"status", "Sleeping"}}),
            errc::kPropertyConstraintViolation);
  EXPECT_EQ(code("BootNotification", json{{"chargePointVendor", std::string(21, 'v')}, {"chargePointModel", "M"}}),
            errc::kPropertyConstraintViolation);
  EXPECT_EQ(code("Heartbeat", json{{"extra", 1}}), errc::kPropertyConstraintViolation);
  // Not an OCPP 1.6 action.
  EXPECT_EQ(code("Launch", json::object()), errc::kNotImplemented);
  // The description says what and where.
  std::optional<RpcError> e = s.ValidateRequest("BootNotification", json{{"chargePointVendor", "V"}});
  ASSERT_TRUE(e);
  EXPECT_NE(e->description.find("chargePointModel"), std::string::npos) << e->description;
}

TEST(Schemas, BadSchemaSetIsRefused) {
  EXPECT_FALSE(Schemas::Parse("{}").ok());
  EXPECT_FALSE(Schemas::Parse(R"([{"$id":"urn:X"}])").ok());
  EXPECT_FALSE(Schemas::Parse("[]").ok());
}

}  // namespace
}  // namespace evc::ocpp
