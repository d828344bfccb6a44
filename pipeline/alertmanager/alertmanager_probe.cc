#include "pipeline/alertmanager/alertmanager_probe.h"

#include "prometheus/family.h"

namespace vigia {

AlertmanagerProbe::AlertmanagerProbe(prometheus::Registry& registry,
                                     const AlertmanagerStats& stats)
    : stats_(stats) {
  auto& requests = prometheus::BuildCounter()
                       .Name("vigia_alertmanager_requests_total")
                       .Help("POSTs to an Alertmanager's /api/v2/alerts")
                       .Register(registry);
  auto& failed = prometheus::BuildCounter()
                     .Name("vigia_alertmanager_requests_failed_total")
                     .Help("POSTs that failed or were refused")
                     .Register(registry);
  auto& sent = prometheus::BuildCounter()
                   .Name("vigia_alertmanager_alerts_sent_total")
                   .Help("Alerts accepted by an Alertmanager (resends count)")
                   .Register(registry);
  auto& dropped = prometheus::BuildCounter()
                      .Name("vigia_alertmanager_alerts_dropped_total")
                      .Help("Alerts given up on: queue full or refused (4xx)")
                      .Register(registry);
  auto& queue = prometheus::BuildGauge()
                    .Name("vigia_alertmanager_queue_alerts")
                    .Help("Alerts waiting to be posted to an Alertmanager")
                    .Register(registry);
  firing_ = &prometheus::BuildGauge()
                 .Name("vigia_alertmanager_firing_alerts")
                 .Help("Firing alerts re-sent periodically to Alertmanager")
                 .Register(registry)
                 .Add({});
  for (const AlertmanagerUrlStats& u : stats.urls) {
    const prometheus::Labels labels = {{"url", u.url}};
    mirrors_.push_back({&requests.Add(labels), &u.attempts});
    mirrors_.push_back({&failed.Add(labels), &u.failures});
    mirrors_.push_back({&sent.Add(labels), &u.alerts_sent});
    mirrors_.push_back({&dropped.Add(labels), &u.dropped});
    queues_.push_back({&queue.Add(labels), &u.queue_depth});
  }
  Update();
}

void AlertmanagerProbe::Update() {
  for (Mirror& m : mirrors_) {
    const int64_t now = m.source->load(std::memory_order_relaxed);
    if (now > m.last) m.counter->Increment(static_cast<double>(now - m.last));
    m.last = now;
  }
  for (UrlGauges& q : queues_) {
    q.queue->Set(
        static_cast<double>(q.source->load(std::memory_order_relaxed)));
  }
  firing_->Set(
      static_cast<double>(stats_.firing.load(std::memory_order_relaxed)));
}

}  // namespace vigia
