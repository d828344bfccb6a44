// PipelineProbe: the Prometheus families that describe a Pipeline (events
// by feed and outcome, foreign-origin events by target and origin, alerts
// by detector and by target and origin,
// event time per feed, detector state and scores, latency).
//
// The pipeline keeps plain atomic counters; the probe turns periodic
// snapshots of them into Prometheus metrics, adding to each counter the
// difference since the previous snapshot. When the pipeline behind the
// probe is replaced (the Kafka daemon builds a new one on every rebalance),
// Rebase() makes the next snapshot count from zero, so the exported
// counters never go backwards. A pipeline that starts from restored state
// already holds cumulative counts of an earlier process (a detector's cap
// hits): Rebase(restored) counts from those, so they are not added twice.
//
// The probe owns its families in the registry it was given, which must
// outlive it. Update() and Rebase() must be called from one thread at a
// time; ObserveLatency() may be called from any thread.
#ifndef VIGIA_PIPELINE_METRICS_PIPELINE_PROBE_H_
#define VIGIA_PIPELINE_METRICS_PIPELINE_PROBE_H_

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "operators/operator.h"
#include "pipeline/pipeline.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/histogram.h"
#include "prometheus/registry.h"

namespace vigia {

// The pipeline's numbers at one moment, as plain values.
struct PipelineSnapshot {
  std::array<int64_t, kFeedSlots> read{};
  std::array<int64_t, kFeedSlots> processed{};
  std::array<int64_t, kFeedSlots> late{};
  std::array<int64_t, kFeedSlots> refused{};
  std::array<std::array<int64_t, kNumRejectReasons>, kFeedSlots> rejected{};
  int64_t dead_letter_errors = 0;
  std::map<AlertCounts::Key, int64_t> alerts;
  std::map<AlertCounts::TargetKey, int64_t> alerts_by_target;
  std::vector<std::pair<std::string, OperatorStats>> operators;
  std::map<ForeignEventCounts::Key, int64_t> foreign;
  std::vector<std::pair<std::string, std::vector<TargetScore>>> scores;
  absl::Time watermark = absl::InfinitePast();
  std::array<absl::Time, kNumFeeds> feed_watermark{absl::InfinitePast(),
                                                   absl::InfinitePast()};
  absl::Time max_event_time = absl::InfinitePast();
};

// The alert families by target and origin hold at most this many distinct
// (detector, target, origin) label sets for the life of the process, the
// first ones seen; alerts of any further triple count under target="other",
// origin="other" of their detector. Each family thus holds at most
// (kMaxAlertTargetSeries + detectors) x severities series (docs/metrics.md).
inline constexpr int kMaxAlertTargetSeries = 200;

// Reads every counter of `pipeline`. Thread-safe with respect to the
// pipeline's own thread.
PipelineSnapshot TakeSnapshot(const Pipeline& pipeline);

class PipelineProbe {
 public:
  explicit PipelineProbe(prometheus::Registry& registry);
  PipelineProbe(const PipelineProbe&) = delete;
  PipelineProbe& operator=(const PipelineProbe&) = delete;

  // Brings every metric up to `snapshot`; `now` (processing time) gives the
  // event-time lag.
  void Update(const PipelineSnapshot& snapshot, absl::Time now);

  // The pipeline was replaced by a fresh one: the next snapshot counts from
  // zero. Gauges keep their values until then.
  void Rebase();
  // The pipeline now holds restored state whose own counters read `from`:
  // the next snapshot counts from there.
  void Rebase(const PipelineSnapshot& from);

  // Records how long one record took from leaving the source (dequeue) to
  // the pipeline's decision on it.
  void ObserveLatency(double seconds);

 private:
  struct DetectorMetrics {
    prometheus::Gauge* keys;
    prometheus::Gauge* buckets;
    // By severity: firing records less resolved ones of this pipeline
    // instance (a rebuilt pipeline starts with nothing firing).
    std::array<prometheus::Gauge*, kNumSeverities> firing;
    prometheus::Counter* cap_hits;
  };
  // The exported labels of one alert key by target (see
  // kMaxAlertTargetSeries).
  struct TargetLabels {
    std::string detector;
    Severity severity;
    std::string target;
    std::string origin;
    friend auto operator<=>(const TargetLabels&, const TargetLabels&) = default;
  };
  struct TargetSeries {
    prometheus::Counter* fired;
    prometheus::Gauge* firing;
  };
  prometheus::Counter& AlertCounter(const AlertCounts::Key& key);
  TargetLabels LabelsOf(const AlertCounts::TargetKey& key);
  TargetSeries& SeriesOf(const TargetLabels& labels);
  DetectorMetrics& Detector(const std::string& name);
  prometheus::Counter& ForeignCounter(const ForeignEventCounts::Key& key);

  prometheus::Family<prometheus::Counter>& consumed_;
  prometheus::Family<prometheus::Counter>& processed_;
  prometheus::Family<prometheus::Counter>& rejected_;
  prometheus::Family<prometheus::Counter>& late_;
  prometheus::Family<prometheus::Counter>& refused_;
  prometheus::Family<prometheus::Counter>& dead_letter_errors_;
  prometheus::Family<prometheus::Counter>& alerts_fired_;
  prometheus::Family<prometheus::Counter>& alerts_resolved_;
  prometheus::Family<prometheus::Gauge>& alerts_firing_;
  prometheus::Family<prometheus::Counter>& alerts_fired_by_target_;
  prometheus::Family<prometheus::Gauge>& alerts_firing_by_target_;
  prometheus::Family<prometheus::Histogram>& latency_;
  prometheus::Family<prometheus::Gauge>& lag_;
  prometheus::Family<prometheus::Gauge>& watermark_;
  prometheus::Family<prometheus::Gauge>& max_event_time_;
  prometheus::Family<prometheus::Gauge>& keys_;
  prometheus::Family<prometheus::Gauge>& buckets_;
  prometheus::Family<prometheus::Counter>& cap_hits_;
  prometheus::Family<prometheus::Counter>& foreign_events_;
  prometheus::Family<prometheus::Gauge>& detector_score_;

  std::array<prometheus::Counter*, kFeedSlots> consumed_by_feed_{};
  std::array<prometheus::Counter*, kFeedSlots> processed_by_feed_{};
  std::array<prometheus::Counter*, kFeedSlots> late_by_feed_{};
  std::array<prometheus::Counter*, kFeedSlots> refused_by_feed_{};
  std::array<std::array<prometheus::Counter*, kNumRejectReasons>, kFeedSlots>
      rejected_by_feed_{};
  prometheus::Counter* dead_letter_errors_total_;
  prometheus::Histogram* latency_seconds_;
  prometheus::Gauge* lag_seconds_;
  std::array<prometheus::Gauge*, kNumFeeds> watermark_seconds_{};
  prometheus::Gauge* max_event_time_seconds_;
  std::map<AlertCounts::Key, prometheus::Counter*> alert_counters_;
  std::map<std::string, DetectorMetrics> detectors_;
  // (detector, target, origin) triples with labels of their own; at most
  // kMaxAlertTargetSeries. A triple not here once it is full is "other".
  std::map<std::tuple<std::string, CountryCode, CountryCode>,
           std::pair<std::string, std::string>>
      target_labels_;
  std::map<TargetLabels, TargetSeries> target_series_;
  std::map<ForeignEventCounts::Key, prometheus::Counter*> foreign_counters_;
  std::map<std::pair<std::string, CountryCode>, prometheus::Gauge*>
      score_gauges_;

  // The snapshot the counters were last brought up to.
  PipelineSnapshot last_;
};

}  // namespace vigia

#endif  // VIGIA_PIPELINE_METRICS_PIPELINE_PROBE_H_
