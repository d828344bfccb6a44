#include "pipeline/metrics/pipeline_probe.h"

#include <algorithm>
#include <string>

#include "pipeline/core/alert.h"
#include "pipeline/decoder.h"

namespace vigia {
namespace {

std::string Str(std::string_view s) { return std::string(s); }

// The amount to add to a counter that mirrors a cumulative source value.
// A value below the last one means the source restarted without Rebase();
// counting the new value whole keeps the exported counter monotonic.
double Delta(int64_t now, int64_t before) {
  return static_cast<double>(now >= before ? now - before : now);
}

void AddDelta(prometheus::Counter* counter, int64_t now, int64_t before) {
  const double d = Delta(now, before);
  if (d > 0) counter->Increment(d);
}

double UnixSeconds(absl::Time t) {
  return absl::ToDoubleSeconds(t - absl::UnixEpoch());
}

// Latency buckets from 10 us to ~10 s: a record normally takes micro-
// seconds; anything near a second means the pipeline is stalling.
prometheus::Histogram::BucketBoundaries LatencyBuckets() {
  return {1e-5,   2.5e-5, 5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 1e-2,
          2.5e-2, 5e-2,   0.1,  0.25, 0.5,    1,    2.5,  5,      10};
}

}  // namespace

PipelineSnapshot TakeSnapshot(const Pipeline& pipeline) {
  PipelineSnapshot s;
  const PipelineStats& stats = pipeline.stats();
  for (int slot = 0; slot < kFeedSlots; ++slot) {
    s.read[slot] = stats.read[slot].value();
    s.processed[slot] = stats.processed[slot].value();
    s.late[slot] = stats.late[slot].value();
    s.refused[slot] = stats.refused[slot].value();
    for (int r = 0; r < kNumRejectReasons; ++r) {
      s.rejected[slot][r] = stats.rejected[slot][r].value();
    }
  }
  s.dead_letter_errors = stats.dead_letter_errors.value();
  s.alerts = pipeline.alert_counts().Snapshot();
  s.alerts_by_target = pipeline.alert_counts().SnapshotByTarget();
  s.operators = pipeline.operator_stats();
  s.scores = pipeline.operator_scores();
  s.foreign = pipeline.foreign_events().Snapshot();
  s.watermark = pipeline.watermark();
  for (int f = 0; f < kNumFeeds; ++f) {
    s.feed_watermark[f] = pipeline.feed_watermark(static_cast<FeedKind>(f));
  }
  s.max_event_time = pipeline.max_event_time();
  return s;
}

PipelineProbe::PipelineProbe(prometheus::Registry& registry)
    : consumed_(prometheus::BuildCounter()
                    .Name("vigia_events_consumed_total")
                    .Help("Records read from the feeds, by feed.")
                    .Register(registry)),
      processed_(prometheus::BuildCounter()
                     .Name("vigia_events_processed_total")
                     .Help("Events decoded and handed to the detectors.")
                     .Register(registry)),
      rejected_(prometheus::BuildCounter()
                    .Name("vigia_events_rejected_total")
                    .Help("Records rejected by the decoder, by feed and "
                          "reason; each went to the dead-letter sink.")
                    .Register(registry)),
      late_(prometheus::BuildCounter()
                .Name("vigia_events_late_total")
                .Help("Events older than the watermark by more than the "
                      "allowed lateness; dead-lettered.")
                .Register(registry)),
      refused_(prometheus::BuildCounter()
                   .Name("vigia_events_refused_total")
                   .Help("Processed events that a detector could not take "
                         "(a state cap, or too far ahead of its windows); "
                         "dead-lettered as detector_refused.")
                   .Register(registry)),
      dead_letter_errors_(prometheus::BuildCounter()
                              .Name("vigia_dead_letter_errors_total")
                              .Help("Dead letters the sink refused.")
                              .Register(registry)),
      alerts_fired_(prometheus::BuildCounter()
                        .Name("vigia_alerts_fired_total")
                        .Help("Alert records in state firing, by detector "
                              "and severity.")
                        .Register(registry)),
      alerts_resolved_(prometheus::BuildCounter()
                           .Name("vigia_alerts_resolved_total")
                           .Help("Alert records in state resolved, by "
                                 "detector and severity.")
                           .Register(registry)),
      alerts_firing_(prometheus::BuildGauge()
                         .Name("vigia_alerts_firing")
                         .Help("Alerts currently firing, by detector and "
                               "severity.")
                         .Register(registry)),
      alerts_fired_by_target_(
          prometheus::BuildCounter()
              .Name("vigia_alerts_fired_by_target_total")
              .Help("Alert records in state firing, by detector, severity, "
                    "target and origin (\"none\": the detector has none; "
                    "\"other\": past the label-set cap).")
              .Register(registry)),
      alerts_firing_by_target_(
          prometheus::BuildGauge()
              .Name("vigia_alerts_firing_by_target")
              .Help("Alerts currently firing, by detector, severity, target "
                    "and origin (capped as vigia_alerts_fired_by_target_"
                    "total).")
              .Register(registry)),
      latency_(prometheus::BuildHistogram()
                   .Name("vigia_processing_latency_seconds")
                   .Help("Time from taking a record off the source to the "
                         "pipeline's decision on it.")
                   .Register(registry)),
      lag_(prometheus::BuildGauge()
               .Name("vigia_event_time_lag_seconds")
               .Help("Processing time minus the newest event time seen.")
               .Register(registry)),
      watermark_(prometheus::BuildGauge()
                     .Name("vigia_watermark_seconds")
                     .Help("Event-time watermark of one feed (minimum over "
                           "its active sources, less the disorder bound), "
                           "which its detectors are evaluated on, unix "
                           "seconds.")
                     .Register(registry)),
      max_event_time_(prometheus::BuildGauge()
                          .Name("vigia_max_event_time_seconds")
                          .Help("The newest event time seen, unix seconds.")
                          .Register(registry)),
      keys_(prometheus::BuildGauge()
                .Name("vigia_detector_keys")
                .Help("Keys a detector currently tracks.")
                .Register(registry)),
      buckets_(prometheus::BuildGauge()
                   .Name("vigia_detector_buckets")
                   .Help("Time buckets a detector currently holds, over all "
                         "keys.")
                   .Register(registry)),
      cap_hits_(prometheus::BuildCounter()
                    .Name("vigia_detector_cap_hits_total")
                    .Help("Times a detector's state cap refused or evicted "
                          "state.")
                    .Register(registry)),
      foreign_events_(prometheus::BuildCounter()
                          .Name("vigia_foreign_events_total")
                          .Help("Processed events whose origin country is "
                                "known and not the target, by feed, target "
                                "and origin (origin \"other\" past the "
                                "pair cap).")
                          .Register(registry)),
      detector_score_(prometheus::BuildGauge()
                          .Name("vigia_detector_score")
                          .Help("Highest score among a detector's keys for "
                                "a target at its latest evaluation.")
                          .Register(registry)) {
  // Every feed and reason series exists from the start, so dashboards see
  // zeros rather than gaps.
  for (int slot = 0; slot < kFeedSlots; ++slot) {
    const std::string feed = Str(FeedSlotName(slot));
    consumed_by_feed_[slot] = &consumed_.Add({{"feed", feed}});
    processed_by_feed_[slot] = &processed_.Add({{"feed", feed}});
    late_by_feed_[slot] = &late_.Add({{"feed", feed}});
    refused_by_feed_[slot] = &refused_.Add({{"feed", feed}});
    rejected_by_feed_[slot][0] = nullptr;
    for (int r = 1; r < kNumRejectReasons; ++r) {
      rejected_by_feed_[slot][r] = &rejected_.Add(
          {{"feed", feed},
           {"reason", Str(RejectReasonName(static_cast<RejectReason>(r)))}});
    }
  }
  dead_letter_errors_total_ = &dead_letter_errors_.Add({});
  latency_seconds_ = &latency_.Add({}, LatencyBuckets());
  lag_seconds_ = &lag_.Add({});
  for (int f = 0; f < kNumFeeds; ++f) {
    watermark_seconds_[f] =
        &watermark_.Add({{"feed", Str(FeedName(static_cast<FeedKind>(f)))}});
  }
  max_event_time_seconds_ = &max_event_time_.Add({});
}

prometheus::Counter& PipelineProbe::AlertCounter(const AlertCounts::Key& key) {
  auto it = alert_counters_.find(key);
  if (it != alert_counters_.end()) return *it->second;
  auto& family =
      key.state == AlertState::kFiring ? alerts_fired_ : alerts_resolved_;
  prometheus::Counter& c =
      family.Add({{"detector", key.detector},
                  {"severity", Str(SeverityName(key.severity))}});
  alert_counters_.emplace(key, &c);
  return c;
}

PipelineProbe::TargetLabels PipelineProbe::LabelsOf(
    const AlertCounts::TargetKey& key) {
  const auto triple = std::make_tuple(key.detector, key.target, key.origin);
  auto it = target_labels_.find(triple);
  if (it == target_labels_.end()) {
    if (target_labels_.size() >= static_cast<size_t>(kMaxAlertTargetSeries)) {
      return {key.detector, key.severity, "other", "other"};
    }
    const auto name = [](CountryCode c) {
      return c.known() ? c.str() : std::string("none");
    };
    it =
        target_labels_
            .emplace(triple, std::make_pair(name(key.target), name(key.origin)))
            .first;
  }
  return {key.detector, key.severity, it->second.first, it->second.second};
}

PipelineProbe::TargetSeries& PipelineProbe::SeriesOf(
    const TargetLabels& labels) {
  auto it = target_series_.find(labels);
  if (it != target_series_.end()) return it->second;
  const prometheus::Labels l = {
      {"detector", labels.detector},
      {"severity", Str(SeverityName(labels.severity))},
      {"target", labels.target},
      {"origin", labels.origin}};
  return target_series_
      .emplace(labels, TargetSeries{&alerts_fired_by_target_.Add(l),
                                    &alerts_firing_by_target_.Add(l)})
      .first->second;
}

prometheus::Counter& PipelineProbe::ForeignCounter(
    const ForeignEventCounts::Key& key) {
  auto it = foreign_counters_.find(key);
  if (it != foreign_counters_.end()) return *it->second;
  prometheus::Counter& c = foreign_events_.Add(
      {{"feed", Str(FeedName(key.feed))},
       {"target", key.target.str()},
       {"origin", key.origin.known() ? key.origin.str() : "other"}});
  foreign_counters_.emplace(key, &c);
  return c;
}

PipelineProbe::DetectorMetrics& PipelineProbe::Detector(
    const std::string& name) {
  auto it = detectors_.find(name);
  if (it != detectors_.end()) return it->second;
  const prometheus::Labels labels = {{"detector", name}};
  DetectorMetrics m{
      &keys_.Add(labels), &buckets_.Add(labels), {}, &cap_hits_.Add(labels)};
  for (int sev = 0; sev < kNumSeverities; ++sev) {
    m.firing[sev] = &alerts_firing_.Add(
        {{"detector", name},
         {"severity", Str(SeverityName(static_cast<Severity>(sev)))}});
  }
  // A detector's severities are known from its first alert on; create the
  // fired series of the usual ladder now so rate() works from zero.
  for (int sev = 0; sev < kNumSeverities; ++sev) {
    AlertCounter({name, static_cast<Severity>(sev), AlertState::kFiring});
    AlertCounter({name, static_cast<Severity>(sev), AlertState::kResolved});
  }
  return detectors_.emplace(name, m).first->second;
}

void PipelineProbe::Update(const PipelineSnapshot& s, absl::Time now) {
  for (int slot = 0; slot < kFeedSlots; ++slot) {
    AddDelta(consumed_by_feed_[slot], s.read[slot], last_.read[slot]);
    AddDelta(processed_by_feed_[slot], s.processed[slot],
             last_.processed[slot]);
    AddDelta(late_by_feed_[slot], s.late[slot], last_.late[slot]);
    AddDelta(refused_by_feed_[slot], s.refused[slot], last_.refused[slot]);
    for (int r = 1; r < kNumRejectReasons; ++r) {
      AddDelta(rejected_by_feed_[slot][r], s.rejected[slot][r],
               last_.rejected[slot][r]);
    }
  }
  AddDelta(dead_letter_errors_total_, s.dead_letter_errors,
           last_.dead_letter_errors);

  for (const auto& [name, stats] : s.operators) Detector(name);
  for (const auto& [key, n] : s.alerts) {
    Detector(key.detector);
    auto before = last_.alerts.find(key);
    AddDelta(&AlertCounter(key), n,
             before == last_.alerts.end() ? 0 : before->second);
  }
  for (const auto& [name, stats] : s.operators) {
    DetectorMetrics& m = detectors_.at(name);
    m.keys->Set(static_cast<double>(stats.keys));
    m.buckets->Set(static_cast<double>(stats.buckets));
    for (int sev = 0; sev < kNumSeverities; ++sev) {
      const auto count = [&](AlertState state) -> int64_t {
        auto it = s.alerts.find({name, static_cast<Severity>(sev), state});
        return it == s.alerts.end() ? 0 : it->second;
      };
      m.firing[sev]->Set(static_cast<double>(std::max<int64_t>(
          0, count(AlertState::kFiring) - count(AlertState::kResolved))));
    }
    int64_t before = 0;
    for (const auto& [last_name, last_stats] : last_.operators) {
      if (last_name == name) before = last_stats.cap_hits;
    }
    AddDelta(m.cap_hits, stats.cap_hits, before);
  }

  // By target and origin: firing records counted, and the alerts firing
  // now (firing less resolved records of this pipeline instance) summed
  // over the keys that share a label set. Series not in this snapshot (a
  // rebuilt pipeline) fall back to zero firing.
  std::map<TargetLabels, int64_t> firing_now;
  for (const auto& [key, n] : s.alerts_by_target) {
    const TargetLabels labels = LabelsOf(key);
    TargetSeries& series = SeriesOf(labels);
    if (key.state == AlertState::kFiring) {
      auto before = last_.alerts_by_target.find(key);
      AddDelta(series.fired, n,
               before == last_.alerts_by_target.end() ? 0 : before->second);
      firing_now[labels] += n;
    } else {
      firing_now[labels] -= n;
    }
  }
  for (auto& [labels, series] : target_series_) {
    auto it = firing_now.find(labels);
    series.firing->Set(static_cast<double>(
        it == firing_now.end() ? 0 : std::max<int64_t>(0, it->second)));
  }

  // Scores are bounded by detectors x targets; a target once scored keeps
  // its series (its last value) for the life of the process.
  for (const auto& [name, scores] : s.scores) {
    for (const TargetScore& ts : scores) {
      auto [it, inserted] = score_gauges_.try_emplace({name, ts.target});
      if (inserted) {
        it->second = &detector_score_.Add(
            {{"detector", name}, {"target", ts.target.str()}});
      }
      it->second->Set(ts.score);
    }
  }
  for (const auto& [key, n] : s.foreign) {
    auto before = last_.foreign.find(key);
    AddDelta(&ForeignCounter(key), n,
             before == last_.foreign.end() ? 0 : before->second);
  }
  for (int f = 0; f < kNumFeeds; ++f) {
    if (s.feed_watermark[f] != absl::InfinitePast()) {
      watermark_seconds_[f]->Set(UnixSeconds(s.feed_watermark[f]));
    }
  }
  if (s.max_event_time != absl::InfinitePast()) {
    max_event_time_seconds_->Set(UnixSeconds(s.max_event_time));
    lag_seconds_->Set(absl::ToDoubleSeconds(now - s.max_event_time));
  }
  last_ = s;
}

void PipelineProbe::Rebase() { last_ = PipelineSnapshot(); }

void PipelineProbe::Rebase(const PipelineSnapshot& from) { last_ = from; }

void PipelineProbe::ObserveLatency(double seconds) {
  latency_seconds_->Observe(seconds);
}

}  // namespace vigia
