#include "services/evcctl/config_commands.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "evc/central/v1/config.grpc.pb.h"
#include "google/protobuf/descriptor.h"
#include "services/common/proto_time.h"

namespace evc::evcctl {
namespace {

using central::v1::CentralConfig;
using central::v1::CentralConfigService;
using google::protobuf::FieldDescriptor;

bool IsSetting(const FieldDescriptor& field) {
  return field.name() != "updated_at" && field.name() != "updated_by";
}

std::string SettingNames() {
  std::vector<std::string> names;
  const auto* d = CentralConfig::descriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    if (IsSetting(*d->field(i))) names.push_back(d->field(i)->name());
  }
  return absl::StrJoin(names, ", ");
}

std::string ValueOf(const CentralConfig& config, const FieldDescriptor& field) {
  const auto* reflection = config.GetReflection();
  if (field.type() == FieldDescriptor::TYPE_MESSAGE) {
    return absl::FormatDuration(FromProto(
        static_cast<const google::protobuf::Duration&>(reflection->GetMessage(config, &field))));
  }
  return absl::StrCat(reflection->GetInt64(config, &field), " Wh");
}

void Print(Context& c, const CentralConfig& config) {
  const auto* d = CentralConfig::descriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    if (!IsSetting(*d->field(i))) continue;
    std::fprintf(c.out, "%-26s %s\n", d->field(i)->name().c_str(), ValueOf(config, *d->field(i)).c_str());
  }
  if (config.has_updated_at()) {
    std::fprintf(c.out, "stored by %s at %s\n", config.updated_by().c_str(),
                 absl::FormatTime("%Y-%m-%d %H:%M:%S", FromProto(config.updated_at()),
                                  absl::LocalTimeZone()).c_str());
  } else {
    std::fprintf(c.out, "(central's command-line flags: no operator has changed a setting)\n");
  }
}

}  // namespace

absl::Status AddCentralConfigChange(const std::string& change,
                                    central::v1::UpdateCentralConfigRequest& request) {
  const size_t eq = change.find('=');
  if (eq == std::string::npos) {
    return absl::InvalidArgumentError(
        absl::StrCat("'", change, "': changes are NAME=VALUE; the settings are: ", SettingNames()));
  }
  const std::string name = change.substr(0, eq), value = change.substr(eq + 1);
  const FieldDescriptor* field = CentralConfig::descriptor()->FindFieldByName(name);
  if (field == nullptr || !IsSetting(*field)) {
    return absl::InvalidArgumentError(
        absl::StrCat("unknown setting '", name, "'; the settings are: ", SettingNames()));
  }
  CentralConfig* config = request.mutable_config();
  if (field->type() == FieldDescriptor::TYPE_MESSAGE) {
    absl::Duration d;
    if (!absl::ParseDuration(value, &d)) {
      return absl::InvalidArgumentError(
          absl::StrCat(name, ": '", value, "' is not a duration (e.g. 5s, 250ms, 2m)"));
    }
    config->GetReflection()->MutableMessage(config, field)->CopyFrom(ToProto(d));
  } else {
    int64_t wh = 0;
    if (!absl::SimpleAtoi(value, &wh)) {
      return absl::InvalidArgumentError(absl::StrCat(name, ": '", value, "' is not a number of Wh"));
    }
    config->GetReflection()->SetInt64(config, field, wh);
  }
  request.mutable_update_mask()->add_paths(name);
  return absl::OkStatus();
}

int CentralConfigCommand(Context& c, const std::vector<std::string>& args) {
  central::v1::UpdateCentralConfigRequest r;
  for (size_t i = 1; i < args.size(); ++i) {
    if (absl::Status s = AddCentralConfigChange(args[i], r); !s.ok()) return Fail(c, s);
  }
  absl::StatusOr<CentralConfig> config =
      r.update_mask().paths().empty()
          ? Call(c, c.options.central, true, &CentralConfigService::Stub::GetConfig,
                 central::v1::GetCentralConfigRequest())
          : Call(c, c.options.central, true, &CentralConfigService::Stub::UpdateConfig, r);
  if (!config.ok()) return Fail(c, config.status());
  Print(c, *config);
  return 0;
}

}  // namespace evc::evcctl
