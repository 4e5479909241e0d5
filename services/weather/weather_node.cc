#include "services/weather/weather_node.h"

#include "services/weather/registry_events.h"

namespace evc::weather {

WeatherNode::WeatherNode(const Peers& peers, PgPool& postgres, WeatherProvider& provider,
                         const Clock& clock)
    : registry_(registry::v1::RegistryService::NewStub(peers.registry)),
      central_(central::v1::CentralService::NewStub(peers.central)),
      store_(postgres),
      audit_stream_(peers.audit_stream != nullptr ? std::make_unique<KafkaPublisher>(*peers.audit_stream)
                                                  : nullptr),
      audit_(postgres, 10000, "weather"),
      charging_points_(*registry_),
      holds_(*central_),
      watcher_(store_, provider, holds_, charging_points_, audit_, clock) {
  audit_.StreamTo(audit_stream_.get());
}

absl::StatusOr<std::unique_ptr<WeatherNode>> WeatherNode::Start(const Peers& peers,
                                                                PgPool& postgres,
                                                                WeatherProvider& provider,
                                                                const Settings& defaults,
                                                                const Clock& clock) {
  std::unique_ptr<WeatherNode> node(new WeatherNode(peers, postgres, provider, clock));
  if (absl::Status s = node->watcher_.Load(defaults); !s.ok()) return s;
  node->registry_keys_ = RegistryEventKeys(*node->registry_, clock);
  node->registry_events_ = ConsumeRegistryEvents(peers.kafka_brokers, *node->registry_keys_,
                                                 node->watcher_, node->audit_, clock);
  node->watcher_.Start();
  return node;
}

WeatherNode::~WeatherNode() {
  if (registry_events_) registry_events_->Stop();
  watcher_.Stop();
  audit_.Flush();
}

}  // namespace evc::weather
