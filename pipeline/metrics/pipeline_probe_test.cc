#include "pipeline/metrics/pipeline_probe.h"

#include <optional>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/decoder.h"
#include "pipeline/metrics/metrics_server.h"

namespace vigia {
namespace {

// Returns the value of the series written exactly as `series` (name and
// labels as serialized), or nullopt when the scrape does not have it.
std::optional<double> Value(const std::string& text,
                            const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > series.size() &&
        line.compare(0, series.size(), series) == 0 &&
        line[series.size()] == ' ') {
      return std::stod(line.substr(series.size() + 1));
    }
  }
  return std::nullopt;
}

constexpr int kPosts = 0;
constexpr int kAds = 1;
const absl::Time kNow = absl::FromUnixSeconds(1778400000);

PipelineSnapshot Snapshot(int64_t processed_posts) {
  PipelineSnapshot s;
  s.read[kPosts] = processed_posts + 2;
  s.processed[kPosts] = processed_posts;
  s.late[kPosts] = 1;
  s.rejected[kPosts][static_cast<int>(RejectReason::kBadCountry)] = 1;
  s.processed[kAds] = 3;
  s.read[kAds] = 3;
  return s;
}

TEST(PipelineProbe, ExportsEveryFeedAndReasonSeriesAsZeroBeforeAnyUpdate) {
  auto registry = NewMetricsRegistry();
  PipelineProbe probe(*registry);
  const std::string text = SerializeMetrics(*registry);
  EXPECT_EQ(Value(text, "vigia_events_processed_total{feed=\"posts\"}"), 0);
  EXPECT_EQ(Value(text, "vigia_events_processed_total{feed=\"ads\"}"), 0);
  EXPECT_EQ(Value(text, "vigia_events_consumed_total{feed=\"unknown\"}"), 0);
  EXPECT_EQ(
      Value(text,
            "vigia_events_rejected_total{feed=\"unknown\",reason=\"" +
                std::string(RejectReasonName(RejectReason::kMalformedJson)) +
                "\"}"),
      0);
  EXPECT_EQ(Value(text, "vigia_build_info{version=\"" +
                            std::string(VigiaVersion()) + "\"}"),
            1);
}

TEST(PipelineProbe, CountersFollowSnapshotsByTheirDifference) {
  auto registry = NewMetricsRegistry();
  PipelineProbe probe(*registry);
  probe.Update(Snapshot(10), kNow);
  probe.Update(Snapshot(25), kNow);
  const std::string text = SerializeMetrics(*registry);
  EXPECT_EQ(Value(text, "vigia_events_processed_total{feed=\"posts\"}"), 25);
  EXPECT_EQ(Value(text, "vigia_events_consumed_total{feed=\"posts\"}"), 27);
  EXPECT_EQ(Value(text, "vigia_events_late_total{feed=\"posts\"}"), 1);
  EXPECT_EQ(Value(text, "vigia_events_processed_total{feed=\"ads\"}"), 3);
  EXPECT_EQ(
      Value(text, "vigia_events_rejected_total{feed=\"posts\",reason=\"" +
                      std::string(RejectReasonName(RejectReason::kBadCountry)) +
                      "\"}"),
      1);
}

TEST(PipelineProbe, RebaseKeepsCountersMonotonicWhenThePipelineIsReplaced) {
  auto registry = NewMetricsRegistry();
  PipelineProbe probe(*registry);
  probe.Update(Snapshot(100), kNow);
  probe.Rebase();
  // The replacement pipeline starts from zero and has processed 5 so far.
  probe.Update(Snapshot(5), kNow);
  const std::string text = SerializeMetrics(*registry);
  EXPECT_EQ(Value(text, "vigia_events_processed_total{feed=\"posts\"}"), 105);
  EXPECT_EQ(Value(text, "vigia_events_processed_total{feed=\"ads\"}"), 6);
}

TEST(PipelineProbe, ACounterThatRestartsWithoutRebaseIsCountedWhole) {
  auto registry = NewMetricsRegistry();
  PipelineProbe probe(*registry);
  probe.Update(Snapshot(100), kNow);
  probe.Update(Snapshot(7), kNow);
  const std::string text = SerializeMetrics(*registry);
  EXPECT_EQ(Value(text, "vigia_events_processed_total{feed=\"posts\"}"), 107);
}

AlertCounts::TargetKey ByTarget(const char* detector, AlertState state,
                                const char* target, const char* origin) {
  return {detector, Severity::kWarning, state, CountryCode::FromString(target),
          CountryCode::FromString(origin)};
}

TEST(PipelineProbe, AlertsAreCountedByTargetAndOrigin) {
  auto registry = NewMetricsRegistry();
  PipelineProbe probe(*registry);
  PipelineSnapshot s;
  s.alerts_by_target[ByTarget("foreign_origin_surge", AlertState::kFiring, "MX",
                              "RU")] = 2;
  s.alerts_by_target[ByTarget("foreign_origin_surge", AlertState::kResolved,
                              "MX", "RU")] = 1;
  s.alerts_by_target[ByTarget("coordinated_sharing", AlertState::kFiring, "MX",
                              "")] = 1;
  probe.Update(s, kNow);
  s.alerts_by_target[ByTarget("foreign_origin_surge", AlertState::kFiring, "MX",
                              "RU")] = 3;
  probe.Update(s, kNow);
  std::string text = SerializeMetrics(*registry);
  const std::string surge =
      "{detector=\"foreign_origin_surge\",origin=\"RU\",severity=\"warning\","
      "target=\"MX\"}";
  EXPECT_EQ(Value(text, "vigia_alerts_fired_by_target_total" + surge), 3);
  EXPECT_EQ(Value(text, "vigia_alerts_firing_by_target" + surge), 2);
  // A detector without an origin says so.
  const std::string sharing =
      "{detector=\"coordinated_sharing\",origin=\"none\",severity="
      "\"warning\",target=\"MX\"}";
  EXPECT_EQ(Value(text, "vigia_alerts_fired_by_target_total" + sharing), 1);
  EXPECT_EQ(Value(text, "vigia_alerts_firing_by_target" + sharing), 1);

  // The pipeline is rebuilt: nothing fires in the new one, the count stays.
  probe.Rebase();
  probe.Update(PipelineSnapshot(), kNow);
  text = SerializeMetrics(*registry);
  EXPECT_EQ(Value(text, "vigia_alerts_fired_by_target_total" + surge), 3);
  EXPECT_EQ(Value(text, "vigia_alerts_firing_by_target" + surge), 0);
}

TEST(PipelineProbe, AlertSeriesByTargetAreCappedWithTheRestAsOther) {
  auto registry = NewMetricsRegistry();
  PipelineProbe probe(*registry);
  PipelineSnapshot s;
  // Every target-origin pair of 26 x 26 codes: far past the cap.
  int pairs = 0;
  for (char t = 'A'; t <= 'Z'; ++t) {
    for (char o = 'A'; o <= 'Z'; ++o) {
      if (t == o) continue;
      s.alerts_by_target[{"foreign_origin_surge", Severity::kWarning,
                          AlertState::kFiring, CountryCode::FromChars('Q', t),
                          CountryCode::FromChars('Q', o)}] = 1;
      ++pairs;
    }
  }
  probe.Update(s, kNow);
  const std::string text = SerializeMetrics(*registry);
  int series = 0;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("vigia_alerts_fired_by_target_total{", 0) == 0) ++series;
  }
  EXPECT_EQ(series, kMaxAlertTargetSeries + 1);
  EXPECT_EQ(Value(text,
                  "vigia_alerts_fired_by_target_total{detector=\"foreign_"
                  "origin_surge\",origin=\"other\",severity=\"warning\","
                  "target=\"other\"}"),
            pairs - kMaxAlertTargetSeries);
}

TEST(PipelineProbe, AlertsAreCountedByDetectorSeverityAndState) {
  auto registry = NewMetricsRegistry();
  PipelineProbe probe(*registry);
  PipelineSnapshot s;
  s.alerts[{"foreign_origin_surge", Severity::kWarning, AlertState::kFiring}] =
      2;
  s.alerts[{"foreign_origin_surge", Severity::kWarning,
            AlertState::kResolved}] = 1;
  OperatorStats op;
  op.keys = 42;
  op.buckets = 420;
  op.cap_hits = 3;
  op.firing = 1;
  s.operators.emplace_back("foreign_origin_surge", op);
  probe.Update(s, kNow);
  s.alerts[{"foreign_origin_surge", Severity::kWarning, AlertState::kFiring}] =
      3;
  s.operators[0].second.cap_hits = 5;
  probe.Update(s, kNow);
  const std::string text = SerializeMetrics(*registry);
  EXPECT_EQ(Value(text,
                  "vigia_alerts_fired_total{detector=\"foreign_origin_surge\","
                  "severity=\"warning\"}"),
            3);
  EXPECT_EQ(Value(text,
                  "vigia_alerts_resolved_total{detector=\"foreign_origin_"
                  "surge\",severity=\"warning\"}"),
            1);
  EXPECT_EQ(Value(text,
                  "vigia_alerts_fired_total{detector=\"foreign_origin_surge\","
                  "severity=\"critical\"}"),
            0);
  // Three warnings fired, one resolved: two firing now, by severity.
  EXPECT_EQ(Value(text,
                  "vigia_alerts_firing{detector=\"foreign_origin_surge\","
                  "severity=\"warning\"}"),
            2);
  EXPECT_EQ(Value(text,
                  "vigia_alerts_firing{detector=\"foreign_origin_surge\","
                  "severity=\"critical\"}"),
            0);
  EXPECT_EQ(
      Value(text, "vigia_detector_keys{detector=\"foreign_origin_surge\"}"),
      42);
  EXPECT_EQ(
      Value(text, "vigia_detector_buckets{detector=\"foreign_origin_surge\"}"),
      420);
  EXPECT_EQ(
      Value(text,
            "vigia_detector_cap_hits_total{detector=\"foreign_origin_surge\"}"),
      5);
}

TEST(PipelineProbe, RestoredCountsAreNotCountedAgain) {
  auto registry = NewMetricsRegistry();
  PipelineProbe probe(*registry);
  const std::string cap_hits =
      "vigia_detector_cap_hits_total{detector=\"foreign_share\"}";
  PipelineSnapshot s;
  OperatorStats op;
  op.cap_hits = 4;
  s.operators.emplace_back("foreign_share", op);
  probe.Update(s, kNow);
  EXPECT_EQ(Value(SerializeMetrics(*registry), cap_hits), 4);

  // A new pipeline restores that state: its detector reads 4 already, and
  // then refuses 2 more.
  probe.Rebase();
  probe.Rebase(s);
  s.operators[0].second.cap_hits = 6;
  probe.Update(s, kNow);
  EXPECT_EQ(Value(SerializeMetrics(*registry), cap_hits), 6);

  // Without the restored baseline the 4 would be added a second time.
  probe.Rebase();
  probe.Update(s, kNow);
  EXPECT_EQ(Value(SerializeMetrics(*registry), cap_hits), 12);
}

TEST(PipelineProbe, EventTimeGaugesAreUnixSecondsAndLagIsNowMinusNewestEvent) {
  auto registry = NewMetricsRegistry();
  PipelineProbe probe(*registry);
  PipelineSnapshot s;
  s.watermark = kNow - absl::Seconds(90);
  s.feed_watermark[kPosts] = kNow - absl::Seconds(90);
  s.feed_watermark[kAds] = kNow - absl::Seconds(300);
  s.max_event_time = kNow - absl::Seconds(60);
  probe.Update(s, kNow);
  const std::string text = SerializeMetrics(*registry);
  EXPECT_EQ(Value(text, "vigia_watermark_seconds{feed=\"posts\"}"),
            1778400000 - 90);
  EXPECT_EQ(Value(text, "vigia_watermark_seconds{feed=\"ads\"}"),
            1778400000 - 300);
  EXPECT_EQ(Value(text, "vigia_watermark_seconds"), std::nullopt);
  EXPECT_EQ(Value(text, "vigia_max_event_time_seconds"), 1778400000 - 60);
  EXPECT_EQ(Value(text, "vigia_event_time_lag_seconds"), 60);
}

TEST(PipelineProbe, LatencyIsAHistogramInSeconds) {
  auto registry = NewMetricsRegistry();
  PipelineProbe probe(*registry);
  probe.ObserveLatency(0.002);
  probe.ObserveLatency(0.3);
  const std::string text = SerializeMetrics(*registry);
  EXPECT_EQ(Value(text, "vigia_processing_latency_seconds_count"), 2);
  EXPECT_EQ(
      Value(text, "vigia_processing_latency_seconds_bucket{le=\"0.0025\"}"), 1);
  EXPECT_EQ(Value(text, "vigia_processing_latency_seconds_bucket{le=\"0.5\"}"),
            2);
}

TEST(PipelineProbe, ForeignEventsAreCountedByFeedTargetAndOriginMonotonically) {
  auto registry = NewMetricsRegistry();
  PipelineProbe probe(*registry);
  using Key = ForeignEventCounts::Key;
  const Key md_ru{FeedKind::kPost, CountryCode::FromString("MD"),
                  CountryCode::FromString("RU")};
  const Key md_other{FeedKind::kAd, CountryCode::FromString("MD"),
                     CountryCode()};
  PipelineSnapshot s;
  s.foreign[md_ru] = 5;
  s.foreign[md_other] = 2;
  probe.Update(s, kNow);
  s.foreign[md_ru] = 7;
  probe.Update(s, kNow);
  // A new pipeline (rebalance) counts from zero; the metric goes on.
  probe.Rebase();
  PipelineSnapshot fresh;
  fresh.foreign[md_ru] = 1;
  probe.Update(fresh, kNow);
  const std::string text = SerializeMetrics(*registry);
  EXPECT_EQ(Value(text,
                  "vigia_foreign_events_total{feed=\"posts\",origin="
                  "\"RU\",target=\"MD\"}"),
            8);
  EXPECT_EQ(Value(text,
                  "vigia_foreign_events_total{feed=\"ads\",origin="
                  "\"other\",target=\"MD\"}"),
            2);
}

}  // namespace
}  // namespace vigia
