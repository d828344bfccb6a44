// The Kafka daemon end to end against the mock cluster: alerts equal to
// replay's, dead letters, outages, restarts, and a two-instance group.
#include "pipeline/kafka/daemon.h"

#include <arpa/inet.h>
#include <librdkafka/rdkafka_mock.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <set>
#include <string>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_replace.h"
#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/core/time.h"
#include "pipeline/decoder.h"
#include "pipeline/kafka/kafka_sinks.h"
#include "pipeline/metrics/metrics_server.h"
#include "tests/kafka/kafka_test_util.h"

namespace vigia {
namespace {

using testing::AlertRecord;
using testing::DaemonThread;
using testing::FeedLine;
using testing::Handled;
using ::testing::HasSubstr;

constexpr int kPartitions = 4;
// Posts and ads topics, each with kPartitions.
constexpr int kAssigned = 2 * kPartitions;
const absl::Duration kWait = absl::Seconds(120);

std::unique_ptr<MockCluster> StartCluster(int brokers = 1) {
  auto mc = MockCluster::Start(brokers, kPartitions, DefaultTopics());
  EXPECT_TRUE(mc.ok()) << mc.status();
  return mc.ok() ? std::move(*mc) : nullptr;
}

std::vector<AlertRecord> AlertsInTopic(const std::string& bootstrap) {
  auto records = testing::ReadTopic(bootstrap, "vigia.alerts", kPartitions);
  EXPECT_TRUE(records.ok()) << records.status();
  std::vector<AlertRecord> alerts;
  if (!records.ok()) return alerts;
  for (const auto& r : *records) {
    auto a = testing::ParseAlertJson(r.value);
    EXPECT_TRUE(a.ok()) << a.status();
    if (!a.ok()) continue;
    EXPECT_EQ(r.key, a->id);
    alerts.push_back(*a);
  }
  return alerts;
}

std::vector<AlertRecord> Sorted(std::vector<AlertRecord> v) {
  std::sort(v.begin(), v.end());
  return v;
}

// The alerts of the detector whose keys are partition-local by the keying
// rule (target, origin) and whose windows are aligned to hop boundaries, so
// its output cannot depend on how partitions interleave.
std::vector<AlertRecord> SurgeDetector(std::vector<AlertRecord> v) {
  std::erase_if(v, [](const AlertRecord& a) {
    return a.detector != "foreign_origin_surge";
  });
  return v;
}

// Alerts whose windows both sides have certainly closed: the Kafka
// pipeline's watermark trails the slowest partition, replay's closes all.
absl::Time Cutoff(const std::vector<FeedLine>& feed) {
  return feed.back().time - absl::Minutes(30);
}

bool HasSurgeAlert(const std::vector<AlertRecord>& alerts) {
  return std::any_of(alerts.begin(), alerts.end(), [](const AlertRecord& a) {
    return a.target == "MD" && a.origin == "RU" && a.state == "firing" &&
           (a.severity == "warning" || a.severity == "critical");
  });
}

// Waits until the two daemons hold half of the partitions each, and the
// group has stayed that way for a while (a join can take several rounds).
bool WaitForStableSplit(const Daemon& a, const Daemon& b) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (std::chrono::steady_clock::now() < deadline) {
    const int64_t rebalances = a.rebalances() + b.rebalances();
    if (a.assigned_partitions() == kAssigned / 2 &&
        b.assigned_partitions() == kAssigned / 2) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));
      if (a.rebalances() + b.rebalances() == rebalances &&
          a.assigned_partitions() == kAssigned / 2 &&
          b.assigned_partitions() == kAssigned / 2) {
        return true;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

// Produces the surge feed, runs one daemon over it with `settings` added,
// and expects the alerts topic to hold exactly replay's alerts.
void ExpectKafkaRaisesReplaysAlerts(const KafkaSettings& settings) {
  auto mc = StartCluster();
  ASSERT_NE(mc, nullptr);
  const std::vector<FeedLine> feed = testing::SurgeFeed();
  const Config config = testing::TestConfig();
  const std::vector<AlertRecord> replay = Sorted(SurgeDetector(
      testing::EndingBy(testing::ReplayAlerts(feed, config), Cutoff(feed))));
  ASSERT_TRUE(HasSurgeAlert(replay))
      << "the feed must raise the surge in replay";

  ASSERT_TRUE(
      testing::ProduceFeed(mc->bootstrap(), "vigia.posts", feed, kPartitions)
          .ok());
  Handled handled;
  DaemonOptions options =
      testing::TestDaemonOptions(mc->bootstrap(), "equivalence");
  options.kafka_settings.insert(settings.begin(), settings.end());
  options.on_record = [&](const SourceRef& s) { handled.Add(s); };
  DaemonThread d(config, options);
  ASSERT_TRUE(d.create_status().ok()) << d.create_status();
  ASSERT_TRUE(handled.WaitFor(static_cast<int64_t>(feed.size()), kWait));
  ASSERT_TRUE(testing::WaitForWatermark(d.daemon(), Cutoff(feed), kWait));
  ASSERT_TRUE(d.Stop().ok());

  const std::vector<AlertRecord> kafka = Sorted(SurgeDetector(
      testing::EndingBy(AlertsInTopic(mc->bootstrap()), Cutoff(feed))));
  EXPECT_EQ(kafka, replay);
  EXPECT_EQ(handled.total(), static_cast<int64_t>(feed.size()));
}

TEST(KafkaDaemon, ScenarioProducedIntoKafkaRaisesTheSameAlertsAsReplay) {
  ExpectKafkaRaisesReplaysAlerts({});
}

TEST(KafkaDaemon, ACooperativeAssignorGivesTheSameAlertsAsReplay) {
  ExpectKafkaRaisesReplaysAlerts(
      {{"partition.assignment.strategy", "cooperative-sticky"}});
}

TEST(KafkaDaemon, BadMessagesLandInTheDeadLetterTopicWithReasonAndSource) {
  auto mc = StartCluster();
  ASSERT_NE(mc, nullptr);
  const std::vector<FeedLine> feed =
      testing::SurgeFeed(absl::Hours(1), absl::ZeroDuration(), 0);
  // Partition 0 carries MD's posts; add bad records among them.
  std::vector<std::string> values;
  absl::Time newest = absl::InfinitePast();
  for (const FeedLine& line : feed) {
    if (line.target != "MD" || values.size() == 20) continue;
    values.push_back(line.json);
    newest = std::max(newest, line.time);
  }
  struct Bad {
    std::string bytes;
    RejectReason reason;
    std::string detail_mentions;
  };
  const std::vector<Bad> bad = {
      {"not json at all", RejectReason::kMalformedJson, ""},
      {R"({"id":"b1","platform":"x","created_at":"2026-05-09T00:30:00Z","target":"MD"})",
       RejectReason::kMissingField, "account.id"},
      {R"({"id":"b2","platform":"x","created_at":"2026-05-09T00:30:00Z","account":{"id":"a"},"target":"XX"})",
       RejectReason::kBadCountry, "target"},
  };
  std::map<int64_t, const Bad*> bad_at;
  for (const Bad& b : bad) {
    bad_at[static_cast<int64_t>(values.size())] = &b;
    values.push_back(b.bytes);
  }
  ASSERT_TRUE(
      testing::ProduceRaw(mc->bootstrap(), "vigia.posts", 0, values).ok());

  const Config config = testing::TestConfig();
  Handled handled;
  DaemonOptions options =
      testing::TestDaemonOptions(mc->bootstrap(), "dead-letters");
  options.on_record = [&](const SourceRef& s) { handled.Add(s); };
  DaemonThread d(config, options);
  ASSERT_TRUE(d.create_status().ok()) << d.create_status();
  ASSERT_TRUE(handled.WaitFor(static_cast<int64_t>(values.size()), kWait));
  // Once every source has been idle, the watermark stands at the
  // partition's progress (its quorum-th newest event, a few minutes before
  // the newest here) less the disorder bound: a post two hours older is late.
  ASSERT_TRUE(
      testing::WaitForWatermark(d.daemon(), newest - absl::Minutes(5), kWait));
  const std::string late =
      R"({"id":"old","platform":"x","created_at":"2026-05-08T22:00:00Z","account":{"id":"a","country":"RU"},"target":"MD"})";
  ASSERT_TRUE(
      testing::ProduceRaw(mc->bootstrap(), "vigia.posts", 0, {late}).ok());
  const int64_t late_offset = static_cast<int64_t>(values.size());
  ASSERT_TRUE(handled.WaitFor(late_offset + 1, kWait));
  ASSERT_TRUE(d.Stop().ok());

  auto letters = testing::ReadTopic(mc->bootstrap(), "vigia.dlq", kPartitions);
  ASSERT_TRUE(letters.ok()) << letters.status();
  ASSERT_EQ(letters->size(), bad.size() + 1);
  std::map<int64_t, testing::TopicRecord> by_offset;
  for (const auto& r : *letters) {
    EXPECT_EQ(r.headers.at(kHeaderSourceTopic), "vigia.posts");
    EXPECT_EQ(r.headers.at(kHeaderSourcePartition), "0");
    by_offset[std::stoll(r.headers.at(kHeaderSourceOffset))] = r;
  }
  for (const auto& [offset, b] : bad_at) {
    ASSERT_TRUE(by_offset.contains(offset)) << offset;
    const auto& r = by_offset[offset];
    EXPECT_EQ(r.value, b->bytes);
    EXPECT_EQ(r.headers.at(kHeaderReason), RejectReasonName(b->reason));
    EXPECT_THAT(r.headers.at(kHeaderDetail), HasSubstr(b->detail_mentions));
    EXPECT_FALSE(r.headers.at(kHeaderDetail).empty());
  }
  ASSERT_TRUE(by_offset.contains(late_offset));
  EXPECT_EQ(by_offset[late_offset].value, late);
  EXPECT_EQ(by_offset[late_offset].headers.at(kHeaderReason), "late");
}

// The value of the metric line starting with `series` (name and labels),
// or -1 when the registry has none.
double MetricValue(Daemon& daemon, const std::string& series) {
  const std::string text = SerializeMetrics(daemon.registry());
  const size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + 1 + series.size() + 1));
}

// Waits until `done` holds, polling every 50 ms; false on timeout.
template <typename F>
bool WaitUntil(F done, absl::Duration timeout = kWait) {
  const auto deadline =
      std::chrono::steady_clock::now() + absl::ToChronoMilliseconds(timeout);
  while (!done()) {
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return true;
}

// Waits until the metric `series` has a value for which `ok` holds.
template <typename F>
bool WaitForMetric(Daemon& daemon, const std::string& series, F ok) {
  return WaitUntil([&] { return ok(MetricValue(daemon, series)); });
}

TEST(KafkaDaemon, RecordsFromClocksFarAheadAreFutureAndMakeNothingLate) {
  // Regression: one post dated year 9999 on a partition made the next 4,770
  // posts on it late, and vigia_max_event_time_seconds read 253402300799.
  auto mc = StartCluster();
  ASSERT_NE(mc, nullptr);
  const std::vector<FeedLine> feed =
      testing::SurgeFeed(absl::Hours(2), absl::ZeroDuration(), 0);
  // MD's posts on partition 0, with a handful of bad clocks among them: year
  // 9999, and a year ahead of the wall clock.
  const std::string year_ahead =
      FormatRfc3339(absl::Now() + absl::Hours(24 * 365));
  const std::vector<std::string> bad = {
      R"({"id":"far-1","platform":"x","created_at":"9999-12-31T23:59:59Z","account":{"id":"a","country":"RU"},"target":"MD"})",
      absl::StrCat(R"({"id":"far-2","platform":"x","created_at":")", year_ahead,
                   R"(","account":{"id":"b","country":"RU"},"target":"MD"})"),
      R"({"id":"far-3","platform":"x","created_at":"9999-12-31T23:59:59Z","account":{"id":"c","country":"RU"},"target":"MD"})",
  };
  std::vector<std::string> values;
  std::vector<absl::Time> times;  // of the honest values, else InfinitePast
  std::set<int64_t> bad_offsets;
  absl::Time newest = absl::InfinitePast();
  int honest = 0;
  for (const FeedLine& line : feed) {
    if (line.target != "MD") continue;
    if (honest > 0 && honest % 100 == 0 && bad_offsets.size() < bad.size()) {
      bad_offsets.insert(static_cast<int64_t>(values.size()));
      values.push_back(bad[bad_offsets.size() - 1]);
      times.push_back(absl::InfinitePast());
    }
    values.push_back(line.json);
    times.push_back(line.time);
    newest = std::max(newest, line.time);
    ++honest;
  }
  ASSERT_EQ(bad_offsets.size(), bad.size());
  // In two rounds: the records after the bad ones arrive once the first
  // round is processed and the partition has been idle, when a watermark
  // that had jumped would make every one of them late.
  const size_t first_round = *bad_offsets.rbegin() + 50;
  ASSERT_LT(first_round, values.size());
  const std::vector<std::string> first(values.begin(),
                                       values.begin() + first_round);
  const std::vector<std::string> second(values.begin() + first_round,
                                        values.end());
  ASSERT_TRUE(
      testing::ProduceRaw(mc->bootstrap(), "vigia.posts", 0, first).ok());

  Handled handled;
  DaemonOptions options = testing::TestDaemonOptions(mc->bootstrap(), "future");
  options.on_record = [&](const SourceRef& s) { handled.Add(s); };
  DaemonThread d(testing::TestConfig(), options);
  ASSERT_TRUE(d.create_status().ok()) << d.create_status();
  ASSERT_TRUE(handled.WaitFor(static_cast<int64_t>(first.size()), kWait));
  ASSERT_TRUE(testing::WaitForWatermark(d.daemon(), feed.front().time, kWait));
  // Idle: the watermark moves to the partition's progress (its quorum-th
  // newest event, less the disorder bound), a few minutes before the first
  // round's newest honest post.
  const absl::Time first_newest =
      *std::max_element(times.begin(), times.begin() + first_round);
  ASSERT_TRUE(testing::WaitForWatermark(
      d.daemon(), first_newest - absl::Minutes(5), kWait));
  ASSERT_TRUE(
      testing::ProduceRaw(mc->bootstrap(), "vigia.posts", 0, second).ok());
  ASSERT_TRUE(handled.WaitFor(static_cast<int64_t>(values.size()), kWait));
  ASSERT_TRUE(
      testing::WaitForWatermark(d.daemon(), newest - absl::Minutes(5), kWait));
  EXPECT_EQ(MetricValue(
                d.daemon(),
                R"(vigia_events_rejected_total{feed="posts",reason="future"})"),
            3);
  EXPECT_EQ(MetricValue(d.daemon(), R"(vigia_events_late_total{feed="posts"})"),
            0);
  EXPECT_LE(MetricValue(d.daemon(), "vigia_max_event_time_seconds"),
            absl::ToDoubleSeconds(newest - absl::UnixEpoch()));
  EXPECT_EQ(
      MetricValue(d.daemon(), R"(vigia_events_processed_total{feed="posts"})"),
      honest);
  ASSERT_TRUE(d.Stop().ok());

  auto letters = testing::ReadTopic(mc->bootstrap(), "vigia.dlq", kPartitions);
  ASSERT_TRUE(letters.ok()) << letters.status();
  std::set<int64_t> future_offsets;
  for (const auto& r : *letters) {
    EXPECT_EQ(r.headers.at(kHeaderReason), "future") << r.value;
    EXPECT_THAT(r.headers.at(kHeaderDetail),
                HasSubstr("ahead of processing time"));
    future_offsets.insert(std::stoll(r.headers.at(kHeaderSourceOffset)));
  }
  EXPECT_EQ(future_offsets, bad_offsets);
}

TEST(KafkaDaemon, APlatformWhoseClocksRunFastMakesNoOtherPlatformLate) {
  // Regression: a platform whose clocks ran four minutes fast (inside
  // watermark.max_clock_lead) and that carried a quarter of a partition's
  // posts moved the partition's progress with it, and the other platforms'
  // posts on it arrived behind the watermark. Progress is now per platform,
  // weighted by share (docs/feeds.md).
  auto mc = StartCluster();
  ASSERT_NE(mc, nullptr);
  const std::vector<FeedLine> feed =
      testing::SurgeFeed(absl::Hours(2), absl::ZeroDuration(), 0);
  std::vector<std::string> values;
  std::vector<absl::Time> honest_time;  // the newest honest post so far
  absl::Time newest_honest = absl::InfinitePast();
  int fast = 0;
  for (const FeedLine& line : feed) {
    if (line.target != "MD") continue;
    std::string json = line.json;
    if (values.size() % 4 == 1) {
      const std::string stated = FormatRfc3339(line.time);
      const std::string ahead = FormatRfc3339(line.time + absl::Minutes(4));
      ASSERT_TRUE(absl::StrContains(json, stated)) << json;
      json = absl::StrReplaceAll(
          json,
          {{R"("platform":"x")", R"("platform":"fastbook")"}, {stated, ahead}});
      ++fast;
    } else {
      newest_honest = std::max(newest_honest, line.time);
    }
    values.push_back(std::move(json));
    honest_time.push_back(newest_honest);
  }
  ASSERT_GT(fast, 100);

  Handled handled;
  DaemonOptions options =
      testing::TestDaemonOptions(mc->bootstrap(), "fast-platform");
  options.on_record = [&](const SourceRef& s) { handled.Add(s); };
  DaemonThread d(testing::TestConfig(), options);
  ASSERT_TRUE(d.create_status().ok()) << d.create_status();
  // In rounds, each read and its watermark advanced before the next is
  // produced: a watermark that followed the fast platform would then be
  // ahead of the next round's first posts of the others.
  constexpr size_t kRound = 40;
  for (size_t from = 0; from < values.size(); from += kRound) {
    const size_t to = std::min(values.size(), from + kRound);
    ASSERT_TRUE(
        testing::ProduceRaw(mc->bootstrap(), "vigia.posts", 0,
                            std::vector<std::string>(values.begin() + from,
                                                     values.begin() + to))
            .ok());
    ASSERT_TRUE(handled.WaitFor(static_cast<int64_t>(to), kWait));
    ASSERT_TRUE(testing::WaitForWatermark(
        d.daemon(), honest_time[to - 1] - absl::Minutes(2), kWait));
  }
  EXPECT_EQ(MetricValue(d.daemon(), R"(vigia_events_late_total{feed="posts"})"),
            0);
  EXPECT_EQ(
      MetricValue(d.daemon(), R"(vigia_events_processed_total{feed="posts"})"),
      static_cast<double>(values.size()));
  ASSERT_TRUE(d.Stop().ok());
}

TEST(KafkaDaemon, RecordsDeletedBeforeTheyWereReadAreCountedAsSkipped) {
  // Regression: when the brokers deleted unread records (retention), the
  // consumer's offset reset past them with a log line and nothing else.
  auto mc = StartCluster();
  ASSERT_NE(mc, nullptr);
  const std::vector<FeedLine> feed =
      testing::SurgeFeed(absl::Hours(1), absl::ZeroDuration(), 0);
  std::vector<std::string> first;
  for (const FeedLine& line : feed) {
    if (line.target == "MD" && first.size() < 100) first.push_back(line.json);
  }
  ASSERT_TRUE(
      testing::ProduceRaw(mc->bootstrap(), "vigia.posts", 0, first).ok());
  const Config config = testing::TestConfig();
  DaemonOptions options = testing::TestDaemonOptions(mc->bootstrap(), "skip");
  {
    Handled handled;
    options.on_record = [&](const SourceRef& s) { handled.Add(s); };
    DaemonThread d(config, options);
    ASSERT_TRUE(d.create_status().ok()) << d.create_status();
    ASSERT_TRUE(handled.WaitFor(100, kWait));
    ASSERT_TRUE(d.Stop().ok());  // commits offset 100 on the way out
  }
  // While no one reads, 8 MB more arrive: the mock cluster keeps 5 MB per
  // partition, so the oldest unread records are deleted.
  const std::string text(10'000, 'x');
  std::vector<std::string> big;
  for (int i = 0; i < 800; ++i) {
    big.push_back(absl::StrCat(
        R"({"id":"big-)", i,
        R"(","platform":"x","created_at":"2026-05-09T00:30:00Z","account":{"id":"a","country":"RU"},"target":"MD","text":")",
        text, R"("})"));
  }
  ASSERT_TRUE(testing::ProduceRaw(mc->bootstrap(), "vigia.posts", 0, big).ok());
  auto records =
      testing::ReadTopic(mc->bootstrap(), "vigia.posts", kPartitions);
  ASSERT_TRUE(records.ok()) << records.status();
  int64_t low = -1;
  int64_t remaining = 0;
  for (const auto& r : *records) {
    if (r.partition != 0) continue;
    if (low < 0 || r.offset < low) low = r.offset;
    ++remaining;
  }
  ASSERT_GT(low, 100) << "the mock cluster deleted nothing unread";

  Handled handled;
  options.on_record = [&](const SourceRef& s) { handled.Add(s); };
  DaemonThread d(config, options);
  ASSERT_TRUE(d.create_status().ok()) << d.create_status();
  ASSERT_TRUE(handled.WaitFor(remaining, kWait));
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (
      MetricValue(d.daemon(),
                  R"(vigia_kafka_records_skipped_total{topic="vigia.posts"})") <
          low - 100 &&
      std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(
      MetricValue(d.daemon(),
                  R"(vigia_kafka_records_skipped_total{topic="vigia.posts"})"),
      low - 100);
  EXPECT_EQ(
      MetricValue(d.daemon(),
                  R"(vigia_kafka_records_skipped_total{topic="vigia.ads"})"),
      0);
  EXPECT_EQ(handled.Snapshot().begin()->second, low);
  // Everything left has been read: once the checkpoint is committed and
  // librdkafka's statistics have caught up, the lag is 0, not the deleted
  // records (the issue saw it stay wrong for good).
  const std::string lag =
      R"(vigia_kafka_consumer_lag_messages{partition="0",topic="vigia.posts"})";
  const auto lag_deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (MetricValue(d.daemon(), lag) != 0 &&
         std::chrono::steady_clock::now() < lag_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(MetricValue(d.daemon(), lag), 0);
  ASSERT_TRUE(d.Stop().ok());
}

// Issue 15, alignment liveness: a partition paused for watermark alignment
// stayed paused for as long as its feed's watermark was held back by a
// partition that had nothing to read: here partition 0 receives a post
// every 250 ms whose event time barely moves (a sparse partition's quorum
// lags hours so in `vigia demo`), so it is always at its log end yet never
// silent for end_grace, and holds the posts watermark at the feed's start.
// Partition 1 holds four hours of posts and runs ahead: paused, its records
// waited in the brokers until retention deleted them (a demo in CI lost
// 174,864 of 195,231 records). Now the pause is released once it has lasted
// end_grace with no holder catching up, and every record is read while the
// holder still trickles.
TEST(KafkaDaemon, APartitionPausedBehindAHolderWithNothingToReadResumes) {
  auto mc = StartCluster();
  ASSERT_NE(mc, nullptr);
  const std::vector<FeedLine> feed =
      testing::SurgeFeed(absl::Hours(4), absl::ZeroDuration(), 0);
  const std::string ahead_target = testing::FeedTargets()[1];
  std::vector<std::string> ahead;
  for (const FeedLine& line : feed) {
    if (line.target == ahead_target) ahead.push_back(line.json);
  }
  ASSERT_GT(ahead.size(), 500u);
  ASSERT_TRUE(
      testing::ProduceRaw(mc->bootstrap(), "vigia.posts", 1, ahead).ok());

  Config config = testing::TestConfig();
  config.watermark.end_grace = absl::Seconds(2);
  DaemonOptions options =
      testing::TestDaemonOptions(mc->bootstrap(), "liveness");
  options.alignment_drift = absl::Minutes(30);
  // Small batches, so partition 1 is paused with most of its records unread.
  options.max_batch = 50;
  Handled on_ahead;
  std::atomic<int64_t> on_holder{0};
  options.on_record = [&](const SourceRef& s) {
    if (s.partition == 1) on_ahead.Add(s);
    if (s.partition == 0) ++on_holder;
  };
  DaemonThread d(config, options);
  ASSERT_TRUE(d.create_status().ok()) << d.create_status();

  // The holder: a post every 250 ms, one second of event time apart.
  std::atomic<bool> done{false};
  std::atomic<int> trickled{0};
  const absl::Time start = feed.front().time;
  std::thread trickle([&] {
    for (int k = 0; !done.load() && k < 4000; ++k) {
      const std::string post = absl::StrCat(
          R"({"id":"holder-)", k, R"(","platform":"x","created_at":")",
          FormatRfc3339(start + absl::Seconds(k)),
          R"(","account":{"id":"h","country":"RU"},"target":"MD"})");
      if (!testing::ProduceRaw(mc->bootstrap(), "vigia.posts", 0, {post})
               .ok()) {
        break;
      }
      ++trickled;
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
  });
  const bool all_read =
      on_ahead.WaitFor(static_cast<int64_t>(ahead.size()), kWait);
  const bool still_trickling = trickled.load() < 4000;
  done.store(true);
  trickle.join();
  EXPECT_TRUE(all_read) << on_ahead.distinct() << " of " << ahead.size()
                        << " records of the paused partition read";
  EXPECT_TRUE(still_trickling);
  EXPECT_GT(on_holder.load(), 0);
  EXPECT_GT(d.daemon().alignment_pauses(), 0);
  // Released once and left so: the trickling holder touches its log end
  // every 250 ms, so it is not reading a backlog and the partition is not
  // paused again. (Counting it as catching up whenever a record had just
  // arrived re-paused the partition every end_grace; a CI run read it 50
  // records per release and ran out of time.)
  EXPECT_LE(d.daemon().alignment_pauses(), 3);
  EXPECT_GT(d.daemon().alignment_resumes(), 0);
  EXPECT_EQ(d.daemon().skipped_records(), 0);
  // The holder's records were never made late by the released partition.
  EXPECT_EQ(MetricValue(d.daemon(), R"(vigia_events_late_total{feed="posts"})"),
            0);
  ASSERT_TRUE(d.Stop().ok());
  EXPECT_EQ(on_ahead.total(), static_cast<int64_t>(ahead.size()));
}

TEST(KafkaDaemon, BrokerOutageAndInjectedErrorsLoseNoEventAndDuplicateNoAlert) {
  auto mc = StartCluster(/*brokers=*/3);
  ASSERT_NE(mc, nullptr);
  // The posts partitions' leaders, stated rather than left to the mock:
  // partition 2 alone is on broker 3, which comes back last.
  constexpr int32_t kLastBroker = 3;
  constexpr int32_t kLastBrokersPartition = 2;
  for (int32_t p = 0; p < kPartitions; ++p) {
    ASSERT_EQ(rd_kafka_mock_partition_set_leader(
                  mc->raw(), "vigia.posts", p,
                  p == kLastBrokersPartition ? kLastBroker : 1 + p % 2),
              RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  const std::vector<FeedLine> feed = testing::SurgeFeed();
  const std::vector<FeedLine> first(feed.begin(),
                                    feed.begin() + feed.size() / 2);
  const std::vector<FeedLine> second(feed.begin() + feed.size() / 2,
                                     feed.end());
  std::map<int32_t, int64_t> per_partition;  // records of the whole feed
  for (const FeedLine& line : feed) {
    ++per_partition[testing::PartitionOf(line.target, kPartitions)];
  }

  // Partitions must not count as idle across the outage: records that
  // arrive after a partition went idle can be late (docs/kafka.md).
  Config config = testing::TestConfig();
  Handled handled;
  DaemonOptions options = testing::TestDaemonOptions(mc->bootstrap(), "outage");
  // A session long enough to ride out the outage: the group keeps its
  // members, so no rebalance resets the detectors.
  options.kafka_settings["session.timeout.ms"] = "30000";
  // Back within a second of a broker's return (the default backoff grows to
  // 10 s), so the recovered brokers' partitions stream well before the last
  // broker returns.
  options.kafka_settings["reconnect.backoff.max.ms"] = "1000";
  // When each posts partition last delivered a record, and how many.
  absl::Mutex mu;
  std::map<int32_t, std::chrono::steady_clock::time_point> last_record;
  std::map<int32_t, int64_t> handled_in;
  options.on_record = [&](const SourceRef& s) {
    handled.Add(s);
    absl::MutexLock lock(&mu);
    last_record[s.partition] = std::chrono::steady_clock::now();
    ++handled_in[s.partition];
  };
  DaemonThread d(config, options);
  ASSERT_TRUE(d.create_status().ok()) << d.create_status();
  ASSERT_TRUE(d.WaitForAssignment(kAssigned, kWait));
  const int64_t rebalances = d.daemon().rebalances();

  ASSERT_TRUE(
      testing::ProduceFeed(mc->bootstrap(), "vigia.posts", first, kPartitions)
          .ok());
  ASSERT_TRUE(handled.WaitFor(static_cast<int64_t>(first.size()) / 2, kWait));
  ASSERT_TRUE(mc->SetBrokerDown(-1).ok());
  // Retriable errors on produce (the daemon's alerts and dead letters, and
  // the test's own feed), fetch and offset commit, once the brokers return.
  rd_kafka_mock_push_request_errors(mc->raw(), /*Produce=*/0, 3,
                                    RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                    RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                                    RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
  rd_kafka_mock_push_request_errors(mc->raw(), /*Fetch=*/1, 2,
                                    RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                    RD_KAFKA_RESP_ERR__TRANSPORT);
  rd_kafka_mock_push_request_errors(
      mc->raw(), /*OffsetCommit=*/8, 2,
      RD_KAFKA_RESP_ERR_COORDINATOR_LOAD_IN_PROGRESS,
      RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT);
  // The second half is produced during the outage: the feed's producer
  // holds it until each partition's leader is back.
  absl::Status produced;
  std::thread producer([&] {
    produced = testing::ProduceFeed(mc->bootstrap(), "vigia.posts", second,
                                    kPartitions);
  });
  // The daemon has seen the outage: its consumer's statistics show no
  // broker up. (EXPECT from here on: the thread must be joined.)
  EXPECT_TRUE(WaitForMetric(d.daemon(),
                            R"(vigia_kafka_brokers_up{client="consumer"})",
                            [](double v) { return v == 0; }));
  // Two brokers recover first and the second half streams through them,
  // while the third broker's partition stays silent for longer than the
  // idle timeout: only the daemon's knowledge that its leader is
  // unreachable keeps it from counting as idle, and the watermark from
  // running ahead of the records that wait behind it.
  EXPECT_TRUE(mc->SetBrokerUp(1).ok());
  EXPECT_TRUE(mc->SetBrokerUp(2).ok());
  const auto silent_for = [&] {
    absl::MutexLock lock(&mu);
    return std::chrono::steady_clock::now() -
           last_record[kLastBrokersPartition];
  };
  const auto idle = absl::ToChronoMilliseconds(config.watermark.idle_timeout);
  EXPECT_TRUE(WaitUntil([&] {
    absl::MutexLock lock(&mu);
    for (const auto& [p, n] : per_partition) {
      if (p != kLastBrokersPartition && handled_in[p] < n) return false;
    }
    return true;
  })) << "the recovered brokers' partitions did not stream";
  EXPECT_TRUE(WaitUntil([&] { return silent_for() > idle * 2; }));
  // The case this test is about did happen: everything else streamed, and
  // broker 3's partition was silent for twice the idle timeout, its second
  // half still waiting.
  {
    absl::MutexLock lock(&mu);
    EXPECT_LT(handled_in[kLastBrokersPartition],
              per_partition[kLastBrokersPartition]);
  }
  EXPECT_TRUE(mc->SetBrokerUp(kLastBroker).ok());
  producer.join();
  ASSERT_TRUE(produced.ok()) << produced;
  ASSERT_TRUE(handled.WaitFor(static_cast<int64_t>(feed.size()), kWait));
  EXPECT_EQ(d.daemon().rebalances(), rebalances) << "the outage cost the group";
  ASSERT_TRUE(testing::WaitForWatermark(d.daemon(), Cutoff(feed), kWait));
  ASSERT_TRUE(d.Stop().ok());

  // Every produced record handled: offsets 0..n-1 of every partition.
  auto in_topic =
      testing::ReadTopic(mc->bootstrap(), "vigia.posts", kPartitions);
  ASSERT_TRUE(in_topic.ok()) << in_topic.status();
  ASSERT_EQ(in_topic->size(), feed.size()) << "the test's producer duplicated";
  const auto seen = handled.Snapshot();
  for (const auto& r : *in_topic) {
    EXPECT_TRUE(seen.contains({r.partition, r.offset}))
        << r.partition << "/" << r.offset;
  }
  const std::vector<AlertRecord> alerts = AlertsInTopic(mc->bootstrap());
  // The surge comes after the outage, so its alerts went through the
  // recovered producer.
  EXPECT_TRUE(HasSurgeAlert(alerts)) << ::testing::PrintToString(alerts);
  // No record turned late: the partitions read first after the outage did
  // not run event time ahead of the others.
  EXPECT_THAT(SerializeMetrics(d.daemon().registry()),
              HasSubstr("vigia_events_late_total{feed=\"posts\"} 0\n"));
  auto letters = testing::ReadTopic(mc->bootstrap(), "vigia.dlq", kPartitions);
  ASSERT_TRUE(letters.ok()) << letters.status();
  for (const auto& r : *letters) {
    ADD_FAILURE() << "dead letter (" << r.headers.at(kHeaderReason)
                  << ") from partition " << r.headers.at(kHeaderSourcePartition)
                  << " offset " << r.headers.at(kHeaderSourceOffset) << ": "
                  << r.value;
  }
  std::map<std::pair<std::string, std::string>, int> per_state;
  for (const AlertRecord& a : alerts) ++per_state[{a.id, a.state}];
  for (const auto& [key, n] : per_state) {
    EXPECT_EQ(n, 1) << key.first << " " << key.second;
  }
  // Through the retries, each resolved record still follows its firing one
  // (same key, same partition, read in offset order).
  std::set<std::string> fired;
  for (const AlertRecord& a : alerts) {
    if (a.state == "firing") fired.insert(a.id);
    if (a.state == "resolved") {
      EXPECT_TRUE(fired.contains(a.id)) << a.id << ": resolved before firing";
    }
  }
  // The outage was reported, not just survived.
  EXPECT_THAT(SerializeMetrics(d.daemon().registry()),
              HasSubstr("vigia_kafka_client_errors_total{client=\"consumer\""));
}

TEST(KafkaDaemon, SigtermMidStreamThenARestartResumesWithoutLoss) {
  auto mc = StartCluster();
  ASSERT_NE(mc, nullptr);
  const std::vector<FeedLine> feed =
      testing::SurgeFeed(absl::Hours(2), absl::ZeroDuration(), 0);
  ASSERT_TRUE(
      testing::ProduceFeed(mc->bootstrap(), "vigia.posts", feed, kPartitions)
          .ok());
  const Config config = testing::TestConfig();

  // First run: stopped by SIGTERM after 1000 records.
  const std::atomic<bool>& stop = StopOnSignals();
  Handled first;
  DaemonOptions options =
      testing::TestDaemonOptions(mc->bootstrap(), "restart");
  // The daemon finishes the batch it is in when the signal comes; small
  // batches make sure that is not the whole feed.
  options.max_batch = 100;
  options.on_record = [&](const SourceRef& s) {
    first.Add(s);
    if (first.total() == 1000) ::raise(SIGTERM);
  };
  {
    auto daemon = Daemon::Create(config, options);
    ASSERT_TRUE(daemon.ok()) << daemon.status();
    ASSERT_TRUE((*daemon)->Run(stop).ok());
    EXPECT_GT((*daemon)->commits(), 0);
  }
  ASSERT_TRUE(stop.load());
  ASSERT_GE(first.distinct(), 1000);
  ASSERT_LT(first.distinct(), static_cast<int64_t>(feed.size()));

  // Second run, same group: picks up from the committed offsets.
  Handled second;
  options.on_record = [&](const SourceRef& s) { second.Add(s); };
  DaemonThread d(config, options);
  ASSERT_TRUE(d.create_status().ok()) << d.create_status();
  // Every record handled by one run or the other: a record skipped across
  // the restart never arrives, and this wait fails.
  const auto first_run = first.Snapshot();
  const auto both = [&] {
    auto all = first_run;
    const auto more = second.Snapshot();
    all.insert(more.begin(), more.end());
    return all.size();
  };
  EXPECT_TRUE(WaitUntil([&] { return both() == feed.size(); }))
      << both() << " of " << feed.size();
  ASSERT_TRUE(d.Stop().ok());
  EXPECT_EQ(both(), feed.size());
  // Resuming re-reads at most what came after the last commit, never the
  // whole stream again.
  EXPECT_LT(second.distinct(), static_cast<int64_t>(feed.size()));
}

TEST(KafkaDaemon,
     TwoInstancesInOneGroupSplitThePartitionsAndRaiseTheSameAlerts) {
  auto mc = StartCluster();
  ASSERT_NE(mc, nullptr);
  const std::vector<FeedLine> feed = testing::SurgeFeed();
  const Config config = testing::TestConfig();

  Handled handled, by_a, by_b;
  DaemonOptions a_options = testing::TestDaemonOptions(mc->bootstrap(), "pair");
  a_options.on_record = [&](const SourceRef& s) {
    handled.Add(s);
    by_a.Add(s);
  };
  DaemonOptions b_options = a_options;
  b_options.on_record = [&](const SourceRef& s) {
    handled.Add(s);
    by_b.Add(s);
  };
  DaemonThread a(config, a_options);
  ASSERT_TRUE(a.create_status().ok()) << a.create_status();
  ASSERT_TRUE(a.WaitForAssignment(kAssigned, kWait));
  DaemonThread b(config, b_options);
  ASSERT_TRUE(b.create_status().ok()) << b.create_status();
  ASSERT_TRUE(WaitForStableSplit(a.daemon(), b.daemon()));

  ASSERT_TRUE(
      testing::ProduceFeed(mc->bootstrap(), "vigia.posts", feed, kPartitions)
          .ok());
  ASSERT_TRUE(handled.WaitFor(static_cast<int64_t>(feed.size()), kWait));
  ASSERT_TRUE(testing::WaitForWatermark(a.daemon(), Cutoff(feed), kWait));
  ASSERT_TRUE(testing::WaitForWatermark(b.daemon(), Cutoff(feed), kWait));
  ASSERT_TRUE(a.Stop().ok());
  ASSERT_TRUE(b.Stop().ok());
  EXPECT_GT(by_a.distinct(), 0);
  EXPECT_GT(by_b.distinct(), 0);
  EXPECT_EQ(by_a.distinct() + by_b.distinct(),
            static_cast<int64_t>(feed.size()));

  const auto kafka = Sorted(SurgeDetector(
      testing::EndingBy(AlertsInTopic(mc->bootstrap()), Cutoff(feed))));
  const auto replay = Sorted(SurgeDetector(
      testing::EndingBy(testing::ReplayAlerts(feed, config), Cutoff(feed))));
  ASSERT_TRUE(HasSurgeAlert(replay));
  EXPECT_EQ(kafka, replay);
}

// GET `path` from the daemon's metrics port (HTTP/1.0 on a plain socket):
// the whole response, or "" if it could not connect.
std::string MetricsPortGet(int port, const std::string& path) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string request = "GET " + path + " HTTP/1.0\r\n\r\n";
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) ==
        static_cast<ssize_t>(request.size())) {
      char buf[4096];
      ssize_t n;
      while ((n = ::recv(fd, buf, sizeof(buf), 0)) > 0) response.append(buf, n);
    }
  }
  ::close(fd);
  return response;
}

TEST(KafkaDaemon, ReadyOnlyOnceAssignedAndCaughtUpAndNotWhileStopping) {
  auto mc = StartCluster();
  ASSERT_NE(mc, nullptr);
  const std::vector<FeedLine> feed = testing::SurgeFeed(absl::Hours(2));
  ASSERT_TRUE(
      testing::ProduceFeed(mc->bootstrap(), "vigia.posts", feed, kPartitions)
          .ok());
  const Config config = testing::TestConfig();
  DaemonOptions options = testing::TestDaemonOptions(mc->bootstrap(), "ready");
  options.metrics_addr = "127.0.0.1:0";

  {
    // Created, not running: serving and healthy, not ready.
    auto idle = Daemon::Create(config, options);
    ASSERT_TRUE(idle.ok()) << idle.status();
    const int port = (*idle)->metrics_port();
    EXPECT_THAT(MetricsPortGet(port, "/-/healthy"), HasSubstr(" 200 OK"));
    const std::string ready = MetricsPortGet(port, "/-/ready");
    EXPECT_THAT(ready, HasSubstr(" 503 Service Unavailable"));
    EXPECT_THAT(ready, HasSubstr("not ready: not yet assigned partitions"));
  }

  Handled handled;
  options.on_record = [&](const SourceRef& s) { handled.Add(s); };
  DaemonThread d(config, options);
  ASSERT_TRUE(d.create_status().ok()) << d.create_status();
  // Ready comes only after every record produced before the start has been
  // handled: each partition has been read to its end.
  std::string reason;
  ASSERT_TRUE(WaitUntil([&] {
    return d.daemon().readiness().IsReady(&reason);
  })) << reason;
  EXPECT_EQ(handled.distinct(), static_cast<int64_t>(feed.size()));
  const int port = d.daemon().metrics_port();
  const std::string ready = MetricsPortGet(port, "/-/ready");
  EXPECT_THAT(ready, HasSubstr(" 200 OK"));
  EXPECT_THAT(ready, HasSubstr("vigia is ready."));
  ASSERT_TRUE(d.Stop().ok());
  // Stopped (the port is served until the daemon is destroyed): not ready.
  EXPECT_FALSE(d.daemon().readiness().IsReady(&reason));
  EXPECT_EQ(reason, "stopping");
  EXPECT_THAT(MetricsPortGet(port, "/-/ready"),
              HasSubstr("not ready: stopping"));
}

}  // namespace
}  // namespace vigia
