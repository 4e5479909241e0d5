#pragma once
// A Central with in-process fakes for the fuzz targets: a store that accepts
// every write, a publisher that records, access tokens signed by a fixed test
// key and one key for every CP. A fresh Central per input keeps each run
// deterministic; the fakes' heavy parts (the signing key) are built once.

#include <memory>

#include "services/central/central.h"
#include "services/central/kafka_routes.h"
#include "services/central/empty_supply_store.h"
#include "services/common/crypto.h"
#include "services/common/testing/recording_publisher.h"

namespace evc::central::fuzz {

class FixedKeys : public CpKeySource {
 public:
  absl::StatusOr<std::vector<CpKey>> Keys(const std::string&) override {
    return std::vector<CpKey>{Key()};
  }
  static const CpKey& Key() {
    static const CpKey key{"fuzz-key", std::string(32, '\x22')};
    return key;
  }
};

inline const crypto::Ed25519KeyPair& SigningKey() {
  static const crypto::Ed25519KeyPair* pair =
      new crypto::Ed25519KeyPair(crypto::NewEd25519KeyPair());
  return *pair;
}

// A valid driver token for `subject` (seeds and inputs may carry their own).
inline std::string DriverToken(const std::string& subject) {
  Claims c{subject, kRoleDriver, "session-" + subject,
           "t",     absl::Now(), absl::Now() + absl::Minutes(5)};
  return *SignToken({"fuzz-key", SigningKey().private_key}, c);
}

class NoLinks : public LinkCloser {
 public:
  void CloseLink(const std::string&, const std::string&) override {}
};

// CP1 and CP2 in the catalogue, CP1's monitor linked.
struct FuzzCentral {
  FuzzCentral()
      : tokens(
            []() -> absl::StatusOr<std::vector<VerifyingKey>> {
              return std::vector<VerifyingKey>{{"fuzz-key", SigningKey().public_key}};
            },
            clock),
        channel(keys, nullptr, publisher, clock),
        central({}, store, publisher, channel, clock),
        routes(central, channel, tokens, {}, links, clock) {
    std::vector<common::v1::ChargingPoint> catalogue(2);
    catalogue[0].set_cp_id("CP1");
    catalogue[0].set_price_millieuros_per_kwh(350);
    catalogue[1].set_cp_id("CP2");
    catalogue[1].set_price_millieuros_per_kwh(400);
    (void)central.Start(catalogue);
    (void)central.LoadKeys("CP1");
    central::v1::Health ok;
    ok.set_engine_ok(true);
    (void)central.MonitorRegistered("CP1", ok);
  }
  ~FuzzCentral() { central.Stop(); }

  // Who a token names, as the gRPC layer would tell central.
  absl::StatusOr<Caller> CallerOf(const std::string& token) {
    absl::StatusOr<Claims> claims = tokens.Verify(token);
    if (!claims.ok()) return claims.status();
    return CallerFromClaims(*claims, "fuzz");
  }

  EmptySupplyStore store;
  RecordingPublisher publisher;
  SystemClock clock;
  TokenVerifier tokens;
  FixedKeys keys;
  EngineChannel channel;
  Central central;
  NoLinks links;
  KafkaRoutes routes;
};

}  // namespace evc::central::fuzz
