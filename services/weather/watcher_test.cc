#include "services/weather/watcher.h"

#include <gtest/gtest.h>

#include "absl/time/clock.h"

#include "services/common/crypto.h"
#include "services/common/message_auth.h"
#include "services/common/service_main.h"
#include "services/common/testing/fake_clock.h"
#include "services/common/testing/mock_broker.h"
#include "services/weather/registry_events.h"
#include "services/weather/simulated_provider.h"

namespace evc::weather {
namespace {

Caller Admin() { return Caller::Operator("admin"); }

class MemoryWeatherStore : public WeatherStore {
 public:
  absl::StatusOr<std::vector<AlertRecord>> LoadAlertStates() override {
    std::map<std::string, AlertRecord> latest;
    for (const auto& a : alerts) latest[a.city.key()] = a;
    std::vector<AlertRecord> out;
    for (auto& [k, a] : latest) out.push_back(a);
    return out;
  }
  absl::StatusOr<std::optional<Settings>> LoadSettings() override { return settings; }
  absl::Status SaveSettings(const Settings& s) override {
    settings = s;
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<std::pair<City, double>>> LoadOverrides() override {
    std::vector<std::pair<City, double>> out;
    for (auto& [k, v] : overrides) out.push_back(v);
    return out;
  }
  absl::Status SaveOverride(const City& city, std::optional<double> celsius) override {
    if (celsius) {
      overrides[city.key()] = {city, *celsius};
    } else {
      overrides.erase(city.key());
    }
    return absl::OkStatus();
  }
  absl::Status Record(const std::vector<Reading>& r, const std::vector<AlertRecord>& a) override {
    if (down) return absl::UnavailableError("database down");
    readings.insert(readings.end(), r.begin(), r.end());
    alerts.insert(alerts.end(), a.begin(), a.end());
    return absl::OkStatus();
  }
  absl::StatusOr<std::vector<Reading>> ListReadings(const City&, int) override { return readings; }
  absl::StatusOr<std::vector<AlertRecord>> ListAlerts(const std::string&, int) override { return alerts; }

  bool down = false;
  std::optional<Settings> settings;
  std::map<std::string, std::pair<City, double>> overrides;
  std::vector<Reading> readings;
  std::vector<AlertRecord> alerts;
};

// Temperatures scripted per city key; a city may be made to fail.
class ScriptedProvider : public WeatherProvider {
 public:
  absl::StatusOr<Reading> Current(const City& city) override {
    ++calls[city.key()];
    if (failing.count(city.key())) return absl::UnavailableError("provider down");
    Reading r;
    r.city = city;
    r.temperature_c = temps.count(city.key()) ? temps[city.key()] : 20;
    r.provider = "scripted";
    return r;
  }
  std::string name() const override { return "scripted"; }
  std::map<std::string, double> temps;
  std::map<std::string, int> calls;
  std::set<std::string> failing;
};

class RecordingHolds : public HoldSink {
 public:
  absl::Status ApplyHolds(const std::map<std::string, std::string>& held) override {
    if (down) return absl::UnavailableError("central down");
    sent.push_back(held);
    return absl::OkStatus();
  }
  bool down = false;
  std::vector<std::map<std::string, std::string>> sent;
};

class ListedCps : public ChargingPointSource {
 public:
  absl::StatusOr<std::vector<common::v1::ChargingPoint>> List() override {
    if (down) return absl::UnavailableError("registry down");
    return cps;
  }
  void Add(const std::string& id, const std::string& city, const std::string& country = "ES") {
    cps.push_back(Cp(id, city, country));
  }
  static common::v1::ChargingPoint Cp(const std::string& id, const std::string& city,
                                      const std::string& country = "ES") {
    common::v1::ChargingPoint cp;
    cp.set_cp_id(id);
    cp.mutable_location()->set_city(city);
    cp.mutable_location()->set_country(country);
    return cp;
  }
  bool down = false;
  std::vector<common::v1::ChargingPoint> cps;
};

class RecordingAudit : public AuditSink {
 public:
  void Record(AuditRecord r) override { records.push_back(std::move(r)); }
  int Count(const std::string& action) const {
    int n = 0;
    for (const auto& r : records) n += r.action == action;
    return n;
  }
  std::vector<AuditRecord> records;
};

const std::string kAlicante = "alicante|ES";

class WatcherTest : public ::testing::Test {
 protected:
  WatcherTest() {
    cps.Add("ALC-1", "Alicante");
    cps.Add("ALC-2", " alicante ");
    cps.Add("ALC-3", "ALICANTE");
    cps.Add("MAD-1", "Madrid");
  }
  std::unique_ptr<WeatherWatcher> NewWatcher() {
    auto w = std::make_unique<WeatherWatcher>(store, provider, holds, cps, audit, clock);
    EXPECT_TRUE(w->Load(Settings()).ok());
    return w;
  }
  void Started() {
    watcher = NewWatcher();
    ASSERT_TRUE(watcher->SyncChargingPoints().ok());
  }
  const std::map<std::string, std::string>& LastSent() { return holds.sent.back(); }

  MemoryWeatherStore store;
  ScriptedProvider provider;
  RecordingHolds holds;
  ListedCps cps;
  RecordingAudit audit;
  FakeClock clock;
  std::unique_ptr<WeatherWatcher> watcher;
};

TEST_F(WatcherTest, ReadsEachCityOncePerRoundWhateverItsNumberOfCps) {
  Started();
  watcher->PollOnce();
  EXPECT_EQ(provider.calls[kAlicante], 1);
  EXPECT_EQ(provider.calls["madrid|ES"], 1);
  EXPECT_EQ(store.readings.size(), 2u);
  auto cities = watcher->Cities();
  ASSERT_EQ(cities.cities_size(), 2);
  EXPECT_EQ(cities.cities(0).cp_ids_size(), 3);
}

TEST_F(WatcherTest, AlertHoldsEveryCpOfTheCityAndClearLiftsThem) {
  Started();
  provider.temps[kAlicante] = 45;
  watcher->PollOnce();
  ASSERT_FALSE(holds.sent.empty());
  EXPECT_EQ(LastSent().size(), 3u);
  EXPECT_EQ(LastSent().at("ALC-1"), "weather alert in Alicante (ES): 45.0 °C, above 40.0 °C");
  ASSERT_EQ(store.alerts.size(), 1u);
  EXPECT_TRUE(store.alerts[0].alert);
  EXPECT_EQ(store.alerts[0].cp_ids, (std::vector<std::string>{"ALC-1", "ALC-2", "ALC-3"}));
  EXPECT_EQ(audit.Count("weather_alert"), 1);

  provider.temps[kAlicante] = 20;
  watcher->PollOnce();
  EXPECT_TRUE(LastSent().empty());
  ASSERT_EQ(store.alerts.size(), 2u);
  EXPECT_FALSE(store.alerts[1].alert);
  EXPECT_EQ(audit.Count("weather_clear"), 1);
}

TEST_F(WatcherTest, UnchangedHoldsAreNotSentAgainUntilTheSyncInterval) {
  Started();
  provider.temps[kAlicante] = 45;
  watcher->PollOnce();
  const size_t sent = holds.sent.size();
  watcher->PollOnce();
  watcher->PollOnce();
  EXPECT_EQ(holds.sent.size(), sent);
  EXPECT_EQ(store.alerts.size(), 1u) << "no duplicate alert";
  clock.Advance(absl::Minutes(1));
  watcher->PollOnce();
  EXPECT_EQ(holds.sent.size(), sent + 1) << "re-sent: heals a central that lost them";
}

TEST_F(WatcherTest, ProviderOutageNeverFlipsAState) {
  Started();
  provider.temps[kAlicante] = 45;
  watcher->PollOnce();
  provider.failing.insert(kAlicante);
  watcher->PollOnce();
  EXPECT_EQ(LastSent().size(), 3u);
  EXPECT_EQ(store.alerts.size(), 1u);
  EXPECT_EQ(watcher->counters().read_failures, 1);
  EXPECT_NE(watcher->Cities().cities(0).last_error().find("provider down"), std::string::npos);
  EXPECT_TRUE(watcher->Cities().cities(0).in_alert());
}

TEST_F(WatcherTest, NothingIsSentBeforeTheFirstCpSync) {
  watcher = NewWatcher();
  watcher->PollOnce();
  EXPECT_TRUE(holds.sent.empty()) << "an empty list would lift every hold at central";
}

TEST_F(WatcherTest, RestartRebuildsAlertStatesWithoutRepeatingThem) {
  Started();
  provider.temps[kAlicante] = 45;
  watcher->PollOnce();
  watcher.reset();
  holds.sent.clear();

  Started();
  EXPECT_TRUE(watcher->Cities().cities(0).in_alert()) << "restored before any reading";
  watcher->PollOnce();
  EXPECT_EQ(store.alerts.size(), 1u);
  EXPECT_EQ(audit.Count("weather_alert"), 1);
  ASSERT_EQ(holds.sent.size(), 1u);
  EXPECT_EQ(LastSent().size(), 3u);
  EXPECT_EQ(LastSent().at("ALC-1"), "weather alert in Alicante (ES): 45.0 °C, above 40.0 °C");
}

TEST_F(WatcherTest, RestartAfterTheWeatherCooledClearsOnce) {
  Started();
  provider.temps[kAlicante] = 45;
  watcher->PollOnce();
  watcher.reset();
  provider.temps[kAlicante] = 18;
  Started();
  watcher->PollOnce();
  EXPECT_EQ(store.alerts.size(), 2u);
  EXPECT_FALSE(store.alerts.back().alert);
  EXPECT_TRUE(LastSent().empty());
}

// Registry events can arrive late (a restarted consumer group rejoins first):
// a city no known CP is in is looked for at the registry before it is refused.
TEST_F(WatcherTest, AnUnknownCityTriggersACpSyncBeforeItIsRefused) {
  Started();
  cps.Add("VLC-1", "Valencia");
  absl::StatusOr<City> city = watcher->Resolve("valencia", "");
  ASSERT_TRUE(city.ok()) << city.status();
  EXPECT_EQ(city->key(), "valencia|ES");
  EXPECT_EQ(watcher->Cities().cities_size(), 3) << "the sync brought Valencia in to be watched";
  EXPECT_TRUE(absl::IsNotFound(watcher->Resolve("Atlantis", "").status()));
  cps.down = true;
  EXPECT_TRUE(absl::IsNotFound(watcher->Resolve("Cuenca", "").status()))
      << "a registry outage leaves the answer as it was";
}

TEST_F(WatcherTest, RegistryEventsAreFollowedAtOnce) {
  Started();
  provider.temps["valencia|ES"] = 46;
  events::v1::RegistryEvent added;
  added.set_cp_id("VLC-1");
  *added.mutable_registered() = ListedCps::Cp("VLC-1", "Valencia");
  watcher->OnRegistryEvent(added);
  watcher->PollOnce();
  EXPECT_EQ(provider.calls["valencia|ES"], 1);
  EXPECT_EQ(LastSent().count("VLC-1"), 1u);

  // Moved out of the hot city: its hold goes.
  events::v1::RegistryEvent moved;
  moved.set_cp_id("VLC-1");
  *moved.mutable_updated() = ListedCps::Cp("VLC-1", "Madrid");
  watcher->OnRegistryEvent(moved);
  watcher->PollOnce();
  EXPECT_EQ(LastSent().count("VLC-1"), 0u);

  events::v1::RegistryEvent removed;
  removed.set_cp_id("MAD-1");
  removed.mutable_unregistered();
  watcher->OnRegistryEvent(removed);
  EXPECT_EQ(watcher->Cities().cities_size(), 2);  // Alicante, Madrid (VLC-1)
}

// The registry's event keys, its public half of `pair` among them.
std::unique_ptr<VerifyingKeys> RegistryKeys(const crypto::Ed25519KeyPair& pair, const Clock& clock) {
  return std::make_unique<VerifyingKeys>(
      "registry",
      [public_key = pair.public_key]() -> absl::StatusOr<std::vector<VerifyingKey>> {
        return std::vector<VerifyingKey>{{"registry-key", public_key}};
      },
      clock);
}

// The registration of `cp_id` in `city` as it travels, signed with `pair`.
KafkaMessage SignedRegistration(const crypto::Ed25519KeyPair& pair, const std::string& cp_id,
                                const std::string& city) {
  events::v1::RegistryEvent event;
  event.set_cp_id(cp_id);
  *event.mutable_registered() = ListedCps::Cp(cp_id, city);
  return KafkaMessage{.topic = topics::kRegistryEvents,
                      .key = cp_id,
                      .payload = SignMessage({"registry-key", pair.private_key}, event)
                                     ->SerializeAsString()};
}

TEST_F(WatcherTest, OnlyRegistryEventsTheRegistrySignedAreFollowed) {
  Started();
  const crypto::Ed25519KeyPair registry_pair = crypto::NewEd25519KeyPair();
  const crypto::Ed25519KeyPair intruder_pair = crypto::NewEd25519KeyPair();
  std::unique_ptr<VerifyingKeys> registry_keys = RegistryKeys(registry_pair, clock);
  const std::vector<KafkaMessage> batch = {SignedRegistration(intruder_pair, "SVQ-1", "Sevilla"),
                                           SignedRegistration(registry_pair, "VLC-1", "Valencia")};
  FollowRegistryEvents(batch, *registry_keys, *watcher, audit, clock);
  auto cities = watcher->Cities();
  ASSERT_EQ(cities.cities_size(), 3);  // Alicante, Madrid, Valencia: not Sevilla
  for (const auto& city : cities.cities()) EXPECT_NE(city.city(), "Sevilla");
  EXPECT_EQ(audit.Count("event_refused"), 1);
}

TEST_F(WatcherTest, RegistryEventsReachTheWatcherFromKafka) {
  Started();
  const crypto::Ed25519KeyPair registry_pair = crypto::NewEd25519KeyPair();
  std::unique_ptr<VerifyingKeys> registry_keys = RegistryKeys(registry_pair, clock);
  MockBroker broker(ProjectTopics());
  auto producer = KafkaProducer::Create(broker.bootstrap(), "test");
  ASSERT_TRUE(producer.ok()) << producer.status();
  const KafkaMessage registered = SignedRegistration(registry_pair, "VLC-1", "Valencia");
  ASSERT_TRUE(
      (*producer)->Produce(topics::kRegistryEvents, registered.key, registered.payload).ok());

  std::unique_ptr<KafkaConsumer> consumer =
      ConsumeRegistryEvents(broker.bootstrap(), *registry_keys, *watcher, audit, clock);
  // Produced before the group existed: read all the same, from the earliest offset.
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  absl::Notification never;
  WaitUntil([&] { return watcher->Cities().cities_size() == 3 || absl::Now() > give_up; }, never);
  consumer->Stop();
  EXPECT_EQ(watcher->Cities().cities_size(), 3);  // Alicante, Madrid and now Valencia
}

TEST_F(WatcherTest, PeriodicSyncPicksUpNewCitiesAndDropsRemovedCps) {
  Started();
  cps.Add("BCN-1", "Barcelona");
  ASSERT_TRUE(watcher->SyncChargingPoints().ok());
  watcher->PollOnce();
  EXPECT_EQ(provider.calls["barcelona|ES"], 1);
  cps.down = true;
  EXPECT_FALSE(watcher->SyncChargingPoints().ok());
  watcher->PollOnce();
  EXPECT_EQ(provider.calls["barcelona|ES"], 2) << "a failed sync keeps the last list";
}

TEST_F(WatcherTest, CentralDownIsRetriedWithBackoff) {
  Started();
  provider.temps[kAlicante] = 45;
  holds.down = true;
  watcher->PollOnce();
  EXPECT_FALSE(watcher->HoldsInSync());
  EXPECT_EQ(watcher->counters().hold_push_failures, 1);
  holds.down = false;
  clock.Advance(absl::Seconds(1));
  watcher->PollOnce();
  EXPECT_TRUE(watcher->HoldsInSync());
  EXPECT_EQ(LastSent().size(), 3u);
}

TEST_F(WatcherTest, DatabaseDownKeepsAlertsUntilItIsBack) {
  Started();
  store.down = true;
  provider.temps[kAlicante] = 45;
  watcher->PollOnce();
  EXPECT_TRUE(store.alerts.empty());
  EXPECT_EQ(LastSent().size(), 3u) << "central is told even while the database is down";
  store.down = false;
  watcher->PollOnce();
  EXPECT_EQ(store.alerts.size(), 1u);
  EXPECT_EQ(store.readings.size(), 4u);
}

TEST_F(WatcherTest, ThresholdChangesApplyWithoutARestartAndAreStored) {
  Started();
  provider.temps[kAlicante] = 36;
  watcher->PollOnce();
  EXPECT_TRUE(LastSent().empty());
  v1::WeatherConfig update;
  update.set_max_c(35);
  ASSERT_TRUE(watcher->UpdateSettings(update, {"max_c"}, Admin()).ok());
  watcher->PollOnce();
  EXPECT_EQ(LastSent().size(), 3u);
  ASSERT_TRUE(store.settings.has_value());
  EXPECT_EQ(store.settings->thresholds.max_c, 35);
  EXPECT_EQ(audit.Count("weather_config_changed"), 1);
  update.set_max_c(-100);
  EXPECT_EQ(watcher->UpdateSettings(update, {"max_c"}, Admin()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

class SimulatedWatcherTest : public WatcherTest {
 protected:
  void StartedSimulated() {
    watcher = std::make_unique<WeatherWatcher>(store, simulated, holds, cps, audit, clock);
    ASSERT_TRUE(watcher->Load(Settings()).ok());
    ASSERT_TRUE(watcher->SyncChargingPoints().ok());
  }
  SimulatedProvider simulated{clock};
};

TEST_F(SimulatedWatcherTest, SimulatedTemperaturesArePlausibleAndStable) {
  StartedSimulated();
  for (int hour = 0; hour < 48; ++hour) {
    for (const char* city : {"Alicante", "Madrid", "Reykjavík", "Sevilla"}) {
      absl::StatusOr<Reading> r = simulated.Current({city, "ES"});
      ASSERT_TRUE(r.ok());
      EXPECT_GE(r->temperature_c, 5);
      EXPECT_LE(r->temperature_c, 29);
    }
    clock.Advance(absl::Hours(1));
  }
  EXPECT_EQ(simulated.Current({"Madrid", "ES"})->temperature_c,
            simulated.Current({"Madrid", "ES"})->temperature_c);
}

TEST_F(SimulatedWatcherTest, OperatorOverrideTakesEffectAtOnceAndSurvivesRestart) {
  StartedSimulated();
  absl::StatusOr<v1::City> city = watcher->SetTemperature("alicante", "", 45, Admin());
  ASSERT_TRUE(city.ok()) << city.status();
  EXPECT_TRUE(city->in_alert());
  EXPECT_EQ(city->override_c(), 45);
  EXPECT_EQ(city->latest().provider(), "simulated (operator override)");
  EXPECT_EQ(LastSent().size(), 3u);
  EXPECT_EQ(audit.Count("weather_override_set"), 1);

  SimulatedProvider fresh(clock);
  WeatherWatcher restarted(store, fresh, holds, cps, audit, clock);
  ASSERT_TRUE(restarted.Load(Settings()).ok());
  EXPECT_EQ(fresh.Override({"Alicante", "ES"}), 45);

  city = watcher->SetTemperature("Alicante", "ES", std::nullopt, Admin());
  ASSERT_TRUE(city.ok());
  EXPECT_FALSE(city->in_alert());
  EXPECT_FALSE(city->has_override_c());
  EXPECT_TRUE(LastSent().empty());
}

TEST_F(SimulatedWatcherTest, CityNamesAreResolvedOrRefusedClearly) {
  cps.Add("VAL-FR", "Valence", "FR");
  cps.Add("VAL-ES", "Valence", "ES");
  StartedSimulated();
  EXPECT_EQ(watcher->SetTemperature("Atlantis", "", 45, Admin()).status().code(),
            absl::StatusCode::kNotFound);
  absl::Status ambiguous = watcher->SetTemperature("Valence", "", 45, Admin()).status();
  EXPECT_EQ(ambiguous.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(ambiguous.message().find("ES, FR"), std::string::npos);
  EXPECT_TRUE(watcher->SetTemperature("Valence", "FR", 45, Admin()).ok());
  EXPECT_EQ(watcher->SetTemperature("Alicante", "Spain", 45, Admin()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(watcher->SetTemperature("", "", 45, Admin()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(watcher->SetTemperature("Alicante", "", 500, Admin()).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace evc::weather
