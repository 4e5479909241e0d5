#include "services/central/live_config.h"

#include <array>
#include <set>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "google/protobuf/descriptor.h"
#include "services/common/proto_time.h"

namespace evc::central {
namespace {

using google::protobuf::FieldDescriptor;

struct DurationSetting {
  const char* name;
  absl::Duration min;
  absl::Duration max;
  absl::Duration& (*of)(NetworkConfig&);
};

// One row per timing: its name in CentralConfig, its bounds and where it lives.
const std::array<DurationSetting, 9> kDurations = {{
    {"link_timeout", absl::Seconds(1), absl::Minutes(10),
     [](NetworkConfig& c) -> absl::Duration& { return c.link_timeout; }},
    {"restart_grace", absl::Seconds(1), absl::Hours(1),
     [](NetworkConfig& c) -> absl::Duration& { return c.restart_grace; }},
    {"plug_timeout", absl::Seconds(10), absl::Hours(1),
     [](NetworkConfig& c) -> absl::Duration& { return c.plug_timeout; }},
    {"stop_timeout", absl::Seconds(1), absl::Minutes(10),
     [](NetworkConfig& c) -> absl::Duration& { return c.stop_timeout; }},
    {"health_interval", absl::Milliseconds(200), absl::Minutes(1),
     [](NetworkConfig& c) -> absl::Duration& { return c.health_interval; }},
    {"reconcile_grace", absl::Seconds(1), absl::Minutes(10),
     [](NetworkConfig& c) -> absl::Duration& { return c.reconcile_grace; }},
    {"telemetry_timeout", absl::Seconds(2), absl::Hours(1),
     [](NetworkConfig& c) -> absl::Duration& { return c.telemetry_timeout; }},
    {"command_resend_interval", absl::Milliseconds(200), absl::Minutes(1),
     [](NetworkConfig& c) -> absl::Duration& { return c.command_resend_interval; }},
    {"queue_offer_timeout", absl::Seconds(10), absl::Hours(1),
     [](NetworkConfig& c) -> absl::Duration& { return c.queue.offer_timeout; }},
}};
constexpr char kTypicalSessionWh[] = "queue_typical_session_wh";
constexpr int64_t kMinSessionWh = 100;
constexpr int64_t kMaxSessionWh = 1'000'000;

const FieldDescriptor& FieldOf(const char* name) {
  return *v1::CentralConfig::descriptor()->FindFieldByName(name);
}

absl::Duration DurationIn(const v1::CentralConfig& config, const char* name) {
  const auto& d = static_cast<const google::protobuf::Duration&>(
      config.GetReflection()->GetMessage(config, &FieldOf(name)));
  return FromProto(d);
}

bool Given(const v1::CentralConfig& config, const FieldDescriptor& field) {
  if (field.type() == FieldDescriptor::TYPE_MESSAGE) return config.GetReflection()->HasField(config, &field);
  return config.GetReflection()->GetInt64(config, &field) != 0;
}

// The setting a mask path names: its field name, given in either case.
absl::StatusOr<std::string> SettingNamed(const std::string& path) {
  const auto* d = v1::CentralConfig::descriptor();
  const FieldDescriptor* field = d->FindFieldByName(path);
  if (field == nullptr) field = d->FindFieldByCamelcaseName(path);
  if (field == nullptr || field->name() == "updated_at" || field->name() == "updated_by") {
    std::vector<std::string> known;
    for (const auto& s : kDurations) known.push_back(s.name);
    known.push_back(kTypicalSessionWh);
    return absl::InvalidArgumentError(absl::StrCat("unknown setting '", path,
                                                   "'; the settings are: ", absl::StrJoin(known, ", ")));
  }
  return field->name();
}

std::string BoundsProblem(const DurationSetting& s, absl::Duration value) {
  if (value >= s.min && value <= s.max) return "";
  return absl::StrCat(s.name, " must be between ", absl::FormatDuration(s.min), " and ",
                      absl::FormatDuration(s.max), " (got ", absl::FormatDuration(value), ")");
}

std::vector<std::string> Problems(const NetworkConfig& config, const std::set<std::string>& changed) {
  std::vector<std::string> problems;
  NetworkConfig copy = config;
  for (const auto& s : kDurations) {
    if (!changed.contains(s.name)) continue;
    if (std::string p = BoundsProblem(s, s.of(copy)); !p.empty()) problems.push_back(p);
  }
  const int64_t wh = config.queue.typical_session_wh;
  if (changed.contains(kTypicalSessionWh) && (wh < kMinSessionWh || wh > kMaxSessionWh)) {
    problems.push_back(absl::StrCat(kTypicalSessionWh, " must be between ", kMinSessionWh, " and ",
                                    kMaxSessionWh, " Wh (got ", wh, ")"));
  }
  if ((changed.contains("link_timeout") || changed.contains("health_interval")) &&
      config.link_timeout < 3 * config.health_interval) {
    problems.push_back(absl::StrCat(
        "link_timeout (", absl::FormatDuration(config.link_timeout),
        ") must be at least three health intervals (", absl::FormatDuration(3 * config.health_interval),
        "), or healthy CPs would be disconnected between two reports"));
  }
  return problems;
}

}  // namespace

v1::CentralConfig ConfigProto(const NetworkConfig& config) {
  v1::CentralConfig out;
  NetworkConfig copy = config;
  for (const auto& s : kDurations) {
    out.GetReflection()->MutableMessage(&out, &FieldOf(s.name))->CopyFrom(ToProto(s.of(copy)));
  }
  out.set_queue_typical_session_wh(config.queue.typical_session_wh);
  return out;
}

absl::StatusOr<NetworkConfig> MergeConfig(const NetworkConfig& base, const v1::CentralConfig& update,
                                          const std::vector<std::string>& paths) {
  std::set<std::string> changed;
  for (const std::string& path : paths) {
    absl::StatusOr<std::string> name = SettingNamed(path);
    if (!name.ok()) return name.status();
    changed.insert(*name);
  }
  if (paths.empty()) {
    for (const auto& s : kDurations) {
      if (Given(update, FieldOf(s.name))) changed.insert(s.name);
    }
    if (Given(update, FieldOf(kTypicalSessionWh))) changed.insert(kTypicalSessionWh);
  }
  if (changed.empty()) {
    return absl::InvalidArgumentError("no setting to change: give at least one, or name them in update_mask");
  }
  NetworkConfig out = base;
  for (const auto& s : kDurations) {
    if (changed.contains(s.name)) s.of(out) = DurationIn(update, s.name);
  }
  if (changed.contains(kTypicalSessionWh)) out.queue.typical_session_wh = update.queue_typical_session_wh();
  if (std::vector<std::string> p = Problems(out, changed); !p.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("configuration refused: ", absl::StrJoin(p, "; ")));
  }
  return out;
}

absl::StatusOr<NetworkConfig> RestoreConfig(const NetworkConfig& base, const v1::CentralConfig& stored) {
  NetworkConfig out = base;
  for (const auto& s : kDurations) {
    if (!Given(stored, FieldOf(s.name))) continue;
    const absl::Duration value = DurationIn(stored, s.name);
    if (value <= absl::ZeroDuration()) {
      return absl::DataLossError(absl::StrCat("the stored configuration's ", s.name, " is not positive"));
    }
    s.of(out) = value;
  }
  if (stored.queue_typical_session_wh() < 0) {
    return absl::DataLossError(absl::StrCat("the stored configuration's ", kTypicalSessionWh, " is negative"));
  }
  if (stored.queue_typical_session_wh() > 0) out.queue.typical_session_wh = stored.queue_typical_session_wh();
  return out;
}

std::map<std::string, std::string> ConfigChanges(const NetworkConfig& before, const NetworkConfig& after) {
  std::map<std::string, std::string> changes;
  NetworkConfig b = before;
  NetworkConfig a = after;
  for (const auto& s : kDurations) {
    if (s.of(b) != s.of(a)) {
      changes[s.name] = absl::StrCat(absl::FormatDuration(s.of(b)), " -> ", absl::FormatDuration(s.of(a)));
    }
  }
  if (b.queue.typical_session_wh != a.queue.typical_session_wh) {
    changes[kTypicalSessionWh] =
        absl::StrCat(b.queue.typical_session_wh, " -> ", a.queue.typical_session_wh);
  }
  return changes;
}

}  // namespace evc::central
