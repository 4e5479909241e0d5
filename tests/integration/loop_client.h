#pragma once
// The steps of the charging loop as a test drives them against a Stack:
// bring a CP up, charge as a driver (with the driver's token), watch the
// supply, stop it, wait for its ticket.

#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "evc/central/v1/central.grpc.pb.h"
#include "services/common/grpc_util.h"
#include "tests/integration/stack.h"

namespace evc::testing {

class LoopClient {
 public:
  using CentralService = central::v1::CentralService;
  explicit LoopClient(Stack& stack) : stack_(stack) {}

  // Registers the CP (in `city`) and a driver, starts engine and monitor,
  // waits for ACTIVE.
  void BringUp(const std::string& cp, const std::string& driver = "",
               const std::string& city = "Alicante") {
    ASSERT_TRUE(stack_.RegisterCp(cp, 36000, city).ok());
    if (!driver.empty()) ASSERT_TRUE(stack_.AddDriver(driver).ok());
    stack_.StartEngine(cp);
    stack_.StartMonitor(cp);
    ASSERT_TRUE(stack_.WaitForState(cp, common::v1::CP_STATE_ACTIVE)) << cp << " never became ACTIVE";
  }

  // Central as `driver`, with its access token if the driver has an account
  // here, else with none.
  std::unique_ptr<CentralService::Stub> As(const std::string& driver) {
    if (stack_.has_driver(driver)) return stack_.CentralAs(stack_.driver(driver));
    return CentralService::NewStub(MakeChannel(stack_.central_address(), nullptr, &stack_.client_tls()));
  }

  absl::StatusOr<common::v1::Supply> Request(const std::string& cp, const std::string& driver) {
    central::v1::RequestChargeRequest r;
    r.set_cp_id(cp);
    r.set_driver_id(driver);
    auto resp = CallUnary(&CentralService::Stub::RequestCharge, *As(driver), r, absl::Seconds(10));
    if (!resp.ok()) return resp.status();
    return resp->supply();
  }

  absl::StatusOr<central::v1::SupplyView> GetSupply(const std::string& id) {
    central::v1::GetSupplyRequest r;
    r.set_supply_id(id);
    return CallUnary(&CentralService::Stub::GetSupply, stack_.central(), r, absl::Seconds(5));
  }

  // Waits until the supply has delivered at least `wh`; returns the figure.
  int64_t WaitForEnergy(const std::string& supply_id, int64_t wh) {
    int64_t seen = -1;
    Stack::WaitFor([&] {
      auto v = GetSupply(supply_id);
      if (v.ok()) seen = v->supply().energy_wh();
      return seen >= wh;
    });
    return seen;
  }

  std::optional<common::v1::Ticket> WaitForTicket(const std::string& supply_id,
                                                  absl::Duration timeout = absl::Seconds(20)) {
    std::optional<common::v1::Ticket> ticket;
    Stack::WaitFor([&] {
      auto v = GetSupply(supply_id);
      if (v.ok() && v->has_ticket()) ticket = v->ticket();
      return ticket.has_value();
    }, timeout);
    return ticket;
  }

  absl::Status Stop(const std::string& supply_id, const std::string& driver) {
    central::v1::StopChargeRequest r;
    r.set_supply_id(supply_id);
    return CallUnary(&CentralService::Stub::StopCharge, *As(driver), r, absl::Seconds(10)).status();
  }

  int TicketRows(const std::string& supply_id) {
    return std::stoi(stack_.Sql("SELECT count(*) FROM tickets WHERE supply_id = '" + supply_id + "'"));
  }

  Stack& stack_;
};

// A test suite whose tests share one stack, started with `Derived::Options()`.
template <typename Derived>
class StackSuite : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto stack = Stack::Start(Derived::StackOptions());
    if (!stack.ok()) {
      std::fprintf(stderr, "stack: %s\n", stack.status().ToString().c_str());
      return;
    }
    stack_ = stack->release();
    // A suite may start more of the network (Derived::AfterStart).
    if constexpr (requires(Stack& s) { Derived::AfterStart(s); }) {
      if (absl::Status s = Derived::AfterStart(*stack_); !s.ok()) {
        std::fprintf(stderr, "stack: %s\n", s.ToString().c_str());
        stack_->KeepDirectory();
        delete stack_;
        stack_ = nullptr;
      }
    }
  }
  static void TearDownTestSuite() {
    delete stack_;
    stack_ = nullptr;
  }
  void SetUp() override { ASSERT_NE(stack_, nullptr) << "the test stack did not start"; }
  static Stack& stack() { return *stack_; }
  static inline Stack* stack_ = nullptr;
};

}  // namespace evc::testing
