// AlertmanagerProbe: exports an AlertmanagerSink's delivery counters as
// Prometheus metrics (docs/metrics.md), one series per Alertmanager URL
// with credentials removed, so a dashboard and the vigia health rules can
// see when paging is failing.
//
// The sink keeps plain atomics; Update() adds their growth since the last
// call to the exported counters. The probe owns its families in the
// registry it was given and reads `stats`; both must outlive it. Call
// Update() from one thread at a time.
#ifndef VIGIA_PIPELINE_ALERTMANAGER_ALERTMANAGER_PROBE_H_
#define VIGIA_PIPELINE_ALERTMANAGER_ALERTMANAGER_PROBE_H_

#include <cstdint>
#include <vector>

#include "pipeline/alertmanager/alertmanager_sink.h"
#include "prometheus/counter.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"

namespace vigia {

class AlertmanagerProbe {
 public:
  AlertmanagerProbe(prometheus::Registry& registry,
                    const AlertmanagerStats& stats);
  AlertmanagerProbe(const AlertmanagerProbe&) = delete;
  AlertmanagerProbe& operator=(const AlertmanagerProbe&) = delete;

  void Update();

 private:
  // A counter fed from a monotonic atomic that the probe does not own.
  struct Mirror {
    prometheus::Counter* counter;
    const std::atomic<int64_t>* source;
    int64_t last = 0;
  };
  struct UrlGauges {
    prometheus::Gauge* queue;
    const std::atomic<int64_t>* source;
  };

  std::vector<Mirror> mirrors_;
  std::vector<UrlGauges> queues_;
  prometheus::Gauge* firing_;
  const AlertmanagerStats& stats_;
};

}  // namespace vigia

#endif  // VIGIA_PIPELINE_ALERTMANAGER_ALERTMANAGER_PROBE_H_
