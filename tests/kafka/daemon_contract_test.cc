// The daemon's documented contract (docs/kafka.md), each claim against the
// mock cluster over real TCP:
//  - with every detector on and both feeds produced, the daemon raises the
//    alerts replay raises, and two instances raise what one does;
//  - a backlog produced before the start, with an empty partition, raises
//    replay's alerts with no cap hit; partitions paused for watermark
//    alignment resume and lose nothing;
//  - consumption pauses above 50,000 unacknowledged outputs and resumes at
//    half;
//  - a fatal producer error or a failing alert sink stops the daemon with
//    an error and nothing more committed;
//  - `vigia run` exits non-zero when the final flush fails, and at once on
//    a second signal;
//  - an Alertmanager outage never holds back Kafka commits.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <future>
#include <iterator>
#include <map>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/kafka/daemon.h"
#include "pipeline/kafka/producer.h"
#include "pipeline/metrics/metrics_server.h"
#include "pipeline/sinks.h"
#include "tests/kafka/kafka_test_util.h"
#include "tests/server_fixture.h"

namespace vigia {
namespace {

using testing::AlertRecord;
using testing::DaemonThread;
using testing::FeedLine;
using testing::Handled;
using ::testing::HasSubstr;

constexpr int kPartitions = 4;
constexpr int kAssigned = 2 * kPartitions;
const absl::Duration kWait = absl::Seconds(120);
const std::string kVigia = VIGIA_BINARY;

// Six detectors' campaigns on eight hours of the standard background at
// half its rate (about 11,000 posts and 70 ads), so that every detector but
// posting_clock (which needs days of an office's hours) raises alerts, and
// foreign_ad_spend's come from the ads topic. Late events and bad lines are
// off: lateness legitimately differs between replay and Kafka
// (docs/kafka.md) and dead letters have their own tests.
constexpr char kSliceScenario[] = R"(
version: 1
name: kafka_slice
seed: 20260509
start: 2026-05-09T00:00:00Z
duration: 8h
background_scale: 0.5
posts: {state_media_share: 0.02}
disorder: {late_events: 0}
bad_lines: {rate: 0}
campaigns:
  - {name: surge, kind: foreign_origin_surge, target: MD, origin: RU,
     start: 3h, duration: 1h, ramp_in: 5m, ramp_out: 5m, rate_multiplier: 6}
  - name: bursts
    kind: coordinated_sharing
    target: MD
    origin: RU
    start: 4h
    duration: 1h
    bursts: {url: 3, text: 1, repost: 0, accounts: [11, 15], spread: 30s}
  - {name: fresh, kind: new_account_burst, target: RO, origin: RO, start: 5h,
     duration: 1h, rate_per_min: 4,
     network: {accounts: 45, created_within: 10d}}
  - {name: rt, kind: state_media_amplification, target: DE, origin: DE,
     start: 3h30m, duration: 1h, rate_per_min: 4.5, media: {state: RU}}
  - {name: riding, kind: trend_riding, target: DE, start: 5h, duration: 2h,
     rate_per_min: 2, trend: {hashtag: wahlkampf}}
  - {name: ads, kind: foreign_ad_spend, target: MD, origin: RU, start: 1h,
     duration: 5h, ads: {per_hour: 6, spend: [1000, 9999], currency: RUB}}
)";

// Two days of event time (issue 15: "the whole 2-day scenario produced
// before the daemon starts"): the detectors' baselines cross a day
// boundary, idle keys are forgotten after a day, and the catch-up reads 48
// hours of event time per partition. The background is thinned to a tenth
// so that each partition stays within the mock cluster's few MB (about
// 20,000 records, 10 MB in all); lateness and bad lines are off as above.
constexpr char kTwoDayScenario[] = R"(
version: 1
name: backlog_two_days
seed: 20260510
start: 2026-05-08T00:00:00Z
duration: 48h
background_scale: 0.1
posts: {state_media_share: 0.02}
disorder: {late_events: 0}
bad_lines: {rate: 0}
campaigns:
  - {name: surge, kind: foreign_origin_surge, target: MD, origin: RU,
     start: 27h, duration: 1h, ramp_in: 5m, ramp_out: 5m, rate_multiplier: 6}
  - name: bursts
    kind: coordinated_sharing
    target: MD
    origin: RU
    start: 30h
    duration: 1h
    bursts: {url: 3, text: 1, repost: 0, accounts: [11, 15], spread: 30s}
  - {name: fresh, kind: new_account_burst, target: RO, origin: RO, start: 36h,
     duration: 1h, rate_per_min: 4,
     network: {accounts: 45, created_within: 10d}}
  - {name: rt, kind: state_media_amplification, target: DE, origin: DE,
     start: 40h, duration: 1h, rate_per_min: 4.5, media: {state: RU}}
  - {name: ads, kind: foreign_ad_spend, target: MD, origin: RU, start: 20h,
     duration: 6h, ads: {per_hour: 6, spend: [1000, 9999], currency: RUB}}
)";

std::unique_ptr<MockCluster> StartCluster(int brokers = 1) {
  auto mc = MockCluster::Start(brokers, kPartitions, DefaultTopics());
  EXPECT_TRUE(mc.ok()) << mc.status();
  return mc.ok() ? std::move(*mc) : nullptr;
}

// Puts every partition of the dead-letter topic on broker 2 and everything
// else (the feeds, the alerts, `group`'s coordinator) on broker 1, so that
// taking broker 2 down or failing its requests stops the daemon's dead
// letters and nothing else.
void DeadLettersOnBrokerTwo(MockCluster& mc, const std::string& group) {
  for (const std::string& topic : DefaultTopics()) {
    for (int32_t p = 0; p < kPartitions; ++p) {
      ASSERT_EQ(rd_kafka_mock_partition_set_leader(
                    mc.raw(), topic.c_str(), p, topic == "vigia.dlq" ? 2 : 1),
                RD_KAFKA_RESP_ERR_NO_ERROR);
    }
  }
  ASSERT_EQ(rd_kafka_mock_coordinator_set(mc.raw(), "group", group.c_str(), 1),
            RD_KAFKA_RESP_ERR_NO_ERROR);
}

// The alerts topic, each record reduced to its alert and where it lies.
struct PlacedAlert {
  AlertRecord alert;
  int32_t partition;
  int64_t offset;
};

std::vector<PlacedAlert> PlacedAlertsInTopic(const std::string& bootstrap) {
  auto records = testing::ReadTopic(bootstrap, "vigia.alerts", kPartitions);
  EXPECT_TRUE(records.ok()) << records.status();
  std::vector<PlacedAlert> alerts;
  if (!records.ok()) return alerts;
  for (const auto& r : *records) {
    auto a = testing::ParseAlertJson(r.value);
    EXPECT_TRUE(a.ok()) << a.status();
    if (!a.ok()) continue;
    EXPECT_EQ(r.key, a->id);
    alerts.push_back({*a, r.partition, r.offset});
  }
  return alerts;
}

// Every resolved record lies after the firing record of its id, in the
// partition both share (keyed by the id): a consumer reading the topic in
// order never sees an episode end before it began.
void ExpectFiringBeforeResolved(const std::vector<PlacedAlert>& alerts) {
  std::map<std::string, const PlacedAlert*> firing;
  for (const PlacedAlert& a : alerts) {
    if (a.alert.state == "firing") firing.emplace(a.alert.id, &a);
  }
  int resolved = 0;
  for (const PlacedAlert& a : alerts) {
    if (a.alert.state != "resolved") continue;
    ++resolved;
    auto it = firing.find(a.alert.id);
    ASSERT_NE(it, firing.end()) << "resolved without firing: " << a.alert.id;
    EXPECT_EQ(it->second->partition, a.partition) << a.alert.id;
    EXPECT_LT(it->second->offset, a.offset)
        << a.alert.id << ": the resolved record overtook its firing";
  }
  EXPECT_GT(resolved, 0) << "no episode ended: the order was not checked";
}

std::vector<AlertRecord> Sorted(std::vector<AlertRecord> v) {
  std::sort(v.begin(), v.end());
  return v;
}

std::vector<AlertRecord> Records(const std::vector<PlacedAlert>& placed) {
  std::vector<AlertRecord> out;
  for (const PlacedAlert& p : placed) out.push_back(p.alert);
  return out;
}

// Alerts whose windows both sides have certainly closed (see daemon_test).
absl::Time Cutoff(const std::vector<FeedLine>& feed) {
  return feed.back().time - absl::Minutes(30);
}

// The value of the metric line starting with `series` (name and labels),
// or -1 when the registry has none.
double MetricValue(prometheus::Registry& registry, const std::string& series) {
  const std::string text = SerializeMetrics(registry);
  const size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + 1 + series.size() + 1));
}

// The sum of the samples of `name` (every label set) in a /metrics text.
double SumOf(const std::string& text, const std::string& name) {
  double sum = 0;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (!absl::StartsWith(line, name) || line.size() <= name.size() ||
        (line[name.size()] != '{' && line[name.size()] != ' ')) {
      continue;
    }
    sum += std::stod(std::string(line.substr(line.rfind(' ') + 1)));
  }
  return sum;
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

int64_t Total(const std::map<int32_t, int64_t>& offsets) {
  int64_t sum = 0;
  for (const auto& [p, o] : offsets) sum += o;
  return sum;
}

class AllDetectors : public ::testing::Test {
 protected:
  // The scenario the fixture's feed is generated from.
  virtual const char* Scenario() const { return kSliceScenario; }

  void SetUp() override {
    auto feed = testing::GenerateFeed(Scenario());
    ASSERT_TRUE(feed.ok()) << feed.status();
    feed_ = std::move(*feed);
    posts_ = testing::OnlyAds(feed_, false);
    ads_ = testing::OnlyAds(feed_, true);
    ASSERT_GT(ads_.size(), 20u);
    replay_ = Sorted(testing::EndingBy(testing::ReplayAlerts(feed_, config_),
                                       Cutoff(feed_)));
    // The comparison means something only if the detectors did fire, on
    // both feeds.
    std::set<std::string> firing;
    bool pages = false;
    for (const AlertRecord& a : replay_) {
      if (a.state != "firing") continue;
      firing.insert(a.detector);
      pages |= a.severity == "warning" || a.severity == "critical";
    }
    EXPECT_EQ(firing, (std::set<std::string>{
                          "coordinated_sharing", "foreign_ad_spend",
                          "foreign_origin_surge", "foreign_share",
                          "new_account_burst", "state_media_amplification"}));
    EXPECT_TRUE(pages);
  }

  // Produces the archive in its order, each line to its feed's topic, as a
  // live feed arrives: every partition gets its records as time goes on, so
  // none sits empty for the idle timeout while the others stream (and then
  // delivers records the watermark has passed).
  void Produce(const MockCluster& mc) {
    ProducerOptions po;
    po.brokers = mc.bootstrap();
    po.client_id = "test-feed";
    auto producer = Producer::Create(po);
    ASSERT_TRUE(producer.ok()) << producer.status();
    for (const FeedLine& line : feed_) {
      OutMessage m;
      m.topic = line.ad ? "vigia.ads" : "vigia.posts";
      m.key = line.target;
      m.value = line.json;
      m.output = "feed";
      m.partition = testing::PartitionOf(line.target, kPartitions);
      (*producer)->Produce(std::move(m));
      (*producer)->Poll();
    }
    ASSERT_TRUE((*producer)->Flush(absl::Seconds(60)).ok());
  }

  // Produces the archive before any daemon starts, keyed by target over
  // three of the four partitions: the fourth of each topic stays empty.
  void ProduceBacklog(const MockCluster& mc) {
    ProducerOptions po;
    po.brokers = mc.bootstrap();
    po.client_id = "test-backlog";
    auto producer = Producer::Create(po);
    ASSERT_TRUE(producer.ok()) << producer.status();
    for (const FeedLine& line : feed_) {
      OutMessage m;
      m.topic = line.ad ? "vigia.ads" : "vigia.posts";
      m.key = line.target;
      m.value = line.json;
      m.output = "feed";
      m.partition = testing::PartitionOf(line.target, kPartitions - 1);
      (*producer)->Produce(std::move(m));
      (*producer)->Poll();
    }
    ASSERT_TRUE((*producer)->Flush(absl::Seconds(60)).ok());
  }

  // The daemon's alerts, sorted, against replay's: every difference is
  // reported.
  void ExpectReplaysAlerts(const MockCluster& mc) {
    const std::vector<AlertRecord> got = Sorted(testing::EndingBy(
        Records(PlacedAlertsInTopic(mc.bootstrap())), Cutoff(feed_)));
    std::vector<AlertRecord> only_one;
    std::set_symmetric_difference(got.begin(), got.end(), replay_.begin(),
                                  replay_.end(), std::back_inserter(only_one));
    for (const AlertRecord& a : only_one) {
      ADD_FAILURE() << "differs from replay: " << a.detector << " " << a.id
                    << " " << a.state << " " << a.severity << " "
                    << a.window_end
                    << (std::binary_search(got.begin(), got.end(), a)
                            ? " (daemon only)"
                            : " (replay only)");
    }
    EXPECT_FALSE(got.empty());
  }

  // No record turned late: the condition under which the daemon's alerts
  // are replay's (docs/kafka.md, "What can differ").
  static void ExpectNothingLate(Daemon& d) {
    EXPECT_EQ(
        MetricValue(d.registry(), R"(vigia_events_late_total{feed="posts"})"),
        0);
    EXPECT_EQ(
        MetricValue(d.registry(), R"(vigia_events_late_total{feed="ads"})"), 0);
  }

  // Waits until both feeds' watermarks have passed the cutoff.
  void WaitForCutoff(Daemon& d) {
    ASSERT_TRUE(testing::WaitForWatermark(d, Cutoff(feed_), kWait, "posts"));
    ASSERT_TRUE(testing::WaitForWatermark(d, Cutoff(feed_), kWait, "ads"));
  }

  const Config config_ = testing::TestConfig(testing::Detectors::kAll);
  std::vector<FeedLine> feed_, posts_, ads_;
  std::vector<AlertRecord> replay_;
};

TEST_F(AllDetectors, PostsAndAdsThroughKafkaRaiseReplaysPages) {
  auto mc = StartCluster();
  ASSERT_NE(mc, nullptr);
  Produce(*mc);
  DaemonOptions options =
      testing::TestDaemonOptions(mc->bootstrap(), "all-detectors");
  DaemonThread d(config_, options);
  ASSERT_TRUE(d.create_status().ok()) << d.create_status();
  // (Handled counts (partition, offset) pairs, which the two topics share.)
  ASSERT_TRUE(WaitUntil([&] {
    return d.daemon().records() >= static_cast<int64_t>(feed_.size());
  }));
  WaitForCutoff(d.daemon());
  EXPECT_EQ(d.daemon().records(), static_cast<int64_t>(feed_.size()));
  EXPECT_EQ(MetricValue(d.daemon().registry(),
                        R"(vigia_events_processed_total{feed="ads"})"),
            static_cast<double>(ads_.size()));
  ExpectNothingLate(d.daemon());
  ASSERT_TRUE(d.Stop().ok());

  const std::vector<PlacedAlert> placed = PlacedAlertsInTopic(mc->bootstrap());
  const std::vector<AlertRecord> got =
      Sorted(testing::EndingBy(Records(placed), Cutoff(feed_)));
  // Every page (warning, critical) must be replay's exactly and every
  // detector must fire; exact equality of every record is
  // PostsAndAdsThroughKafkaRaiseTheSameAlertsExactlyAsReplay below.
  std::vector<AlertRecord> only_one;
  std::set_symmetric_difference(got.begin(), got.end(), replay_.begin(),
                                replay_.end(), std::back_inserter(only_one));
  for (const AlertRecord& a : only_one) {
    EXPECT_EQ(a.severity, "info")
        << "a page differs from replay: " << a.detector << " " << a.id << " "
        << a.state << " " << a.severity;
  }
  EXPECT_LE(only_one.size(), 4u);
  std::set<std::string> firing;
  for (const AlertRecord& a : got) {
    if (a.state == "firing") firing.insert(a.detector);
  }
  EXPECT_EQ(firing.size(), 6u);
  ExpectFiringBeforeResolved(placed);
}

// Once a daemon differed from replay here by two info records about one run
// in three on a loaded machine, with nothing late: a partition could stop
// counting after watermark.idle_timeout (5 s in these tests) of wall-clock
// silence while it still had records to read. Partitions now hold their
// feed's watermark for as long as they have records, and stop only at their
// log end (issue 15).
TEST_F(AllDetectors, PostsAndAdsThroughKafkaRaiseTheSameAlertsExactlyAsReplay) {
  auto mc = StartCluster();
  ASSERT_NE(mc, nullptr);
  Produce(*mc);
  DaemonThread d(config_, testing::TestDaemonOptions(mc->bootstrap(),
                                                     "all-detectors-exact"));
  ASSERT_TRUE(d.create_status().ok()) << d.create_status();
  ASSERT_TRUE(WaitUntil([&] {
    return d.daemon().records() >= static_cast<int64_t>(feed_.size());
  }));
  WaitForCutoff(d.daemon());
  ExpectNothingLate(d.daemon());
  ASSERT_TRUE(d.Stop().ok());
  EXPECT_EQ(Sorted(testing::EndingBy(
                Records(PlacedAlertsInTopic(mc->bootstrap())), Cutoff(feed_))),
            replay_);
}

// Issue 15, catch-up: the whole slice (eight hours of event time) is in the
// topics before the daemon starts, keyed by target over three of the four
// partitions, so the fourth partition of each topic stays empty. The empty
// partitions stop holding event time back once found at their log end (not
// after watermark.idle_timeout, 5 s here, in which time the others deliver
// all eight hours: thousands of cap hits); the others hold it for as long as
// they have records to read, however slow the machine. So nothing is late,
// no detector refuses an event at a cap, and the alerts are replay's.
TEST_F(AllDetectors, ABacklogWithAnEmptyPartitionRaisesReplaysAlerts) {
  auto mc = StartCluster();
  ASSERT_NE(mc, nullptr);
  ProduceBacklog(*mc);
  DaemonThread d(config_,
                 testing::TestDaemonOptions(mc->bootstrap(), "catch-up-empty"));
  ASSERT_TRUE(d.create_status().ok()) << d.create_status();
  ASSERT_TRUE(WaitUntil([&] {
    return d.daemon().records() >= static_cast<int64_t>(feed_.size());
  }));
  WaitForCutoff(d.daemon());
  ExpectNothingLate(d.daemon());
  const std::string metrics = SerializeMetrics(d.daemon().registry());
  EXPECT_EQ(SumOf(metrics, "vigia_detector_cap_hits_total"), 0) << metrics;
  ASSERT_TRUE(d.Stop().ok());
  ExpectReplaysAlerts(*mc);
}

class TwoDaysOfAllDetectors : public AllDetectors {
 protected:
  const char* Scenario() const override { return kTwoDayScenario; }
};

// The same catch-up over two days of event time, all of it in the topics
// before the daemon starts, with an empty partition in each topic (issue
// 15: "the whole 2-day scenario produced before the daemon starts, with an
// empty partition, gives replay's alerts"). Every detector raises exactly
// replay's alerts, refuses nothing and dead-letters nothing. (Before the
// partitions were paused at the record, a fetched batch ran on to its end:
// 9,031 events refused here, and the alignment of both feeds was released
// at the end of the first end_grace. Before foreign_ad_spend held a day
// ahead, the sparse ads feed's watermark lagged the ads read by more than
// six hours and 6 ads were refused: dead-lettered as detector_refused, and
// its alerts differed.)
TEST_F(TwoDaysOfAllDetectors, ABacklogWithAnEmptyPartitionRaisesReplaysAlerts) {
  auto mc = StartCluster();
  ASSERT_NE(mc, nullptr);
  ProduceBacklog(*mc);
  DaemonThread d(config_, testing::TestDaemonOptions(mc->bootstrap(),
                                                     "catch-up-two-days"));
  ASSERT_TRUE(d.create_status().ok()) << d.create_status();
  ASSERT_TRUE(WaitUntil([&] {
    return d.daemon().records() >= static_cast<int64_t>(feed_.size());
  }));
  EXPECT_EQ(d.daemon().records(), static_cast<int64_t>(feed_.size()));
  WaitForCutoff(d.daemon());
  ExpectNothingLate(d.daemon());
  EXPECT_EQ(d.daemon().alignment_releases(), 0);
  const std::string metrics = SerializeMetrics(d.daemon().registry());
  EXPECT_EQ(SumOf(metrics, "vigia_detector_cap_hits_total"), 0) << metrics;
  EXPECT_EQ(SumOf(metrics, "vigia_events_refused_total"), 0) << metrics;
  ASSERT_TRUE(d.Stop().ok());
  auto letters = testing::ReadTopic(mc->bootstrap(), "vigia.dlq", kPartitions);
  ASSERT_TRUE(letters.ok()) << letters.status();
  for (const testing::TopicRecord& r : *letters) {
    ADD_FAILURE() << "dead letter " << r.headers.at("vigia.reason") << ": "
                  << r.headers.at("vigia.detail");
  }
  ExpectReplaysAlerts(*mc);
  int ads_alerts = 0;
  for (const AlertRecord& a : replay_) {
    ads_alerts += a.detector == "foreign_ad_spend";
  }
  EXPECT_GT(ads_alerts, 0);
  EXPECT_GT(replay_.size(), static_cast<size_t>(ads_alerts) + 10);
}

// Watermark alignment (issue 15): with the same backlog and a drift of ten
// minutes, the partitions read first run ahead of their feed's watermark
// and are paused, then resumed once it has caught up; every record is
// handled once, none is refused by a detector, and the alerts are still
// replay's.
TEST_F(AllDetectors, PartitionsPausedForAlignmentResumeAndLoseNothing) {
  auto mc = StartCluster();
  ASSERT_NE(mc, nullptr);
  ProduceBacklog(*mc);
  DaemonOptions options =
      testing::TestDaemonOptions(mc->bootstrap(), "catch-up-aligned");
  options.alignment_drift = absl::Minutes(10);
  Handled handled;
  options.on_record = [&](const SourceRef& s) { handled.Add(s); };
  DaemonThread d(config_, options);
  ASSERT_TRUE(d.create_status().ok()) << d.create_status();
  ASSERT_TRUE(WaitUntil([&] {
    return d.daemon().records() >= static_cast<int64_t>(feed_.size());
  }));
  WaitForCutoff(d.daemon());
  ASSERT_TRUE(WaitUntil([&] {
    return d.daemon().alignment_resumes() >= d.daemon().alignment_pauses();
  }));
  EXPECT_GT(d.daemon().alignment_pauses(), 0);
  ExpectNothingLate(d.daemon());
  const std::string metrics = SerializeMetrics(d.daemon().registry());
  EXPECT_EQ(SumOf(metrics, "vigia_detector_cap_hits_total"), 0);
  // The ops room sees it: every pause counted, none left paused.
  EXPECT_EQ(SumOf(metrics, "vigia_kafka_alignment_pauses_total"),
            d.daemon().alignment_pauses())
      << metrics;
  EXPECT_EQ(SumOf(metrics, "vigia_kafka_alignment_paused_partitions"), 0)
      << metrics;
  EXPECT_EQ(d.daemon().records(), static_cast<int64_t>(feed_.size()));
  ASSERT_TRUE(d.Stop().ok());
  EXPECT_EQ(handled.total(), static_cast<int64_t>(feed_.size()));
  ExpectReplaysAlerts(*mc);
}

// Was DISABLED (issue 18): about one run in three on a loaded machine the
// pair differed from replay on target DE by two info records, with nothing
// late; see PostsAndAdsThroughKafkaRaiseTheSameAlertsExactlyAsReplay.
TEST_F(AllDetectors, TwoInstancesRaiseWhatOneDoes) {
  auto mc = StartCluster();
  ASSERT_NE(mc, nullptr);
  // Handled counts (partition, offset) pairs, which the two topics share:
  // only total() means something here.
  Handled by_a, by_b;
  DaemonOptions a_options =
      testing::TestDaemonOptions(mc->bootstrap(), "all-detectors-pair");
  a_options.on_record = [&](const SourceRef& s) { by_a.Add(s); };
  DaemonOptions b_options = a_options;
  b_options.on_record = [&](const SourceRef& s) { by_b.Add(s); };
  DaemonThread a(config_, a_options);
  ASSERT_TRUE(a.create_status().ok()) << a.create_status();
  ASSERT_TRUE(a.WaitForAssignment(kAssigned, kWait));
  DaemonThread b(config_, b_options);
  ASSERT_TRUE(b.create_status().ok()) << b.create_status();
  // Split, and stable: no rebalance pending once records flow.
  ASSERT_TRUE(WaitUntil([&] {
    return a.daemon().assigned_partitions() == kAssigned / 2 &&
           b.daemon().assigned_partitions() == kAssigned / 2;
  }));
  Produce(*mc);
  ASSERT_TRUE(WaitUntil([&] {
    return a.daemon().records() + b.daemon().records() >=
           static_cast<int64_t>(feed_.size());
  }));
  WaitForCutoff(a.daemon());
  WaitForCutoff(b.daemon());
  ExpectNothingLate(a.daemon());
  ExpectNothingLate(b.daemon());
  const int64_t rebalances = a.daemon().rebalances() + b.daemon().rebalances();
  ASSERT_TRUE(a.Stop().ok());
  ASSERT_TRUE(b.Stop().ok());
  EXPECT_GT(by_a.total(), 0);
  EXPECT_GT(by_b.total(), 0);
  EXPECT_EQ(by_a.total() + by_b.total(), static_cast<int64_t>(feed_.size()))
      << "a rebalance during the run re-read records (" << rebalances
      << " rebalance events)";

  const std::vector<PlacedAlert> placed = PlacedAlertsInTopic(mc->bootstrap());
  EXPECT_EQ(Sorted(testing::EndingBy(Records(placed), Cutoff(feed_))), replay_);
  ExpectFiringBeforeResolved(placed);
}

TEST(KafkaBackpressure,
     ConsumptionPausesAbove50000UnacknowledgedAndResumesAtHalf) {
  // docs/kafka.md's figure is the default.
  ASSERT_EQ(DaemonOptions().max_unacknowledged, 50000);
  constexpr int kRecords = 80000;
  auto mc = StartCluster(/*brokers=*/2);
  ASSERT_NE(mc, nullptr);
  const std::string group = "backpressure";
  DeadLettersOnBrokerTwo(*mc, group);
  // Every record is a dead letter: one output each.
  std::vector<std::string> values(kRecords, "not json");
  ASSERT_TRUE(
      testing::ProduceRaw(mc->bootstrap(), "vigia.posts", 0, values).ok());
  ASSERT_TRUE(mc->SetBrokerDown(2).ok());

  DaemonOptions options = testing::TestDaemonOptions(mc->bootstrap(), group);
  // Acknowledgements come back in steps of at most 2,000 once broker 2 is
  // back (batches of 500 per partition, one request in flight, a 100 ms
  // round trip each), so resuming at 50,000 rather than 25,000 would show.
  options.kafka_settings["batch.num.messages"] = "500";
  options.kafka_settings["max.in.flight.requests.per.connection"] = "1";
  std::atomic<bool> pause_seen{false};
  std::atomic<int64_t> handled{0};
  int64_t handled_before_resume = -1;
  double unacknowledged_at_resume = -1;
  std::shared_ptr<prometheus::Registry> registry = NewMetricsRegistry();
  options.registry = registry;
  options.on_record = [&](const SourceRef&) {
    const int64_t n = ++handled;
    // The first record handled after the test saw the pause: the daemon
    // has just resumed (on this thread), and the gauge holds the count it
    // resumed at.
    if (pause_seen.load() && handled_before_resume < 0) {
      handled_before_resume = n - 1;
      unacknowledged_at_resume =
          MetricValue(*registry, "vigia_kafka_unacknowledged_messages");
    }
  };
  DaemonThread d(testing::TestConfig(), options);
  ASSERT_TRUE(d.create_status().ok()) << d.create_status();
  ASSERT_TRUE(WaitUntil([&] {
    return MetricValue(*registry, "vigia_kafka_consumer_paused") == 1;
  })) << "never paused; handled "
      << handled.load();
  pause_seen.store(true);
  const double waiting =
      MetricValue(*registry, "vigia_kafka_unacknowledged_messages");
  EXPECT_GT(waiting, 50000);
  EXPECT_LE(waiting, 50000 + options.max_batch);
  ASSERT_EQ(rd_kafka_mock_broker_set_rtt(mc->raw(), 2, 100),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  ASSERT_TRUE(mc->SetBrokerUp(2).ok());
  ASSERT_TRUE(WaitUntil([&] { return handled.load() == kRecords; }))
      << handled.load();
  // Stop() flushes for at most 10 s; with a 100 ms round trip and one
  // request in flight, the last dead letters can take longer than that on a
  // loaded machine, so let them be acknowledged first.
  ASSERT_EQ(rd_kafka_mock_broker_set_rtt(mc->raw(), 2, 0),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  EXPECT_TRUE(WaitUntil([&] {
    return MetricValue(*registry, "vigia_kafka_unacknowledged_messages") == 0;
  })) << MetricValue(*registry, "vigia_kafka_unacknowledged_messages");
  ASSERT_TRUE(d.Stop().ok());
  // Nothing was consumed while paused: every record handled before the
  // resume was in before the pause.
  EXPECT_GT(handled_before_resume, 50000);
  EXPECT_LE(handled_before_resume, 50000 + options.max_batch);
  EXPECT_GE(unacknowledged_at_resume, 0);
  EXPECT_LE(unacknowledged_at_resume, 25000);
  EXPECT_EQ(MetricValue(*registry, "vigia_kafka_consumer_paused"), 0);
}

TEST(KafkaFailures, AFatalProducerErrorStopsTheDaemonWithNothingMoreCommitted) {
  auto mc = StartCluster(/*brokers=*/2);
  ASSERT_NE(mc, nullptr);
  const std::string group = "fatal";
  DeadLettersOnBrokerTwo(*mc, group);
  const std::vector<FeedLine> feed =
      testing::SurgeFeed(absl::Hours(1), absl::ZeroDuration(), 0);
  std::vector<std::string> good;
  for (const FeedLine& line : feed) {
    if (line.target == "MD") good.push_back(line.json);
  }
  ASSERT_GT(good.size(), 60u);
  // First round: good posts and eight dead letters, one in each partition
  // of the dead-letter topic at least, so that the idempotent producer has
  // a sequence under way everywhere.
  std::vector<std::string> first(good.begin(), good.begin() + 20);
  for (int i = 0; i < 8; ++i) first.push_back(absl::StrCat("bad ", i));
  ASSERT_TRUE(
      testing::ProduceRaw(mc->bootstrap(), "vigia.posts", 0, first).ok());

  Handled handled;
  DaemonOptions options = testing::TestDaemonOptions(mc->bootstrap(), group);
  options.on_record = [&](const SourceRef& s) { handled.Add(s); };
  auto daemon = Daemon::Create(testing::TestConfig(), options);
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  std::atomic<bool> stop{false};
  auto run =
      std::async(std::launch::async, [&] { return (*daemon)->Run(stop); });
  struct StopOnExit {
    std::atomic<bool>& stop;
    ~StopOnExit() { stop.store(true); }
  } stop_on_exit{stop};
  ASSERT_TRUE(handled.WaitFor(static_cast<int64_t>(first.size()), kWait));
  // The first round is committed: commits work before the fault.
  ASSERT_TRUE(WaitUntil([&] {
    auto c = testing::CommittedOffsets(mc->bootstrap(), group, "vigia.posts",
                                       kPartitions);
    return c.ok() && c->contains(0) &&
           c->at(0) == static_cast<int64_t>(first.size());
  }));
  auto letters = testing::ReadTopic(mc->bootstrap(), "vigia.dlq", kPartitions);
  ASSERT_TRUE(letters.ok()) << letters.status();
  std::set<int32_t> used;
  for (const auto& r : *letters) used.insert(r.partition);
  ASSERT_EQ(used.size(), static_cast<size_t>(kPartitions));

  // The next produce request to broker 2 fails with a broken sequence,
  // which the idempotent producer cannot recover from.
  ASSERT_EQ(rd_kafka_mock_broker_push_request_error_rtts(
                mc->raw(), 2, /*Produce=*/0, 1,
                RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER, 0),
            RD_KAFKA_RESP_ERR_NO_ERROR);
  std::vector<std::string> second(good.begin() + 20, good.begin() + 30);
  const int64_t bad_offset = static_cast<int64_t>(first.size() + second.size());
  second.push_back("bad again");
  second.insert(second.end(), good.begin() + 30, good.begin() + 60);
  ASSERT_TRUE(
      testing::ProduceRaw(mc->bootstrap(), "vigia.posts", 0, second).ok());

  ASSERT_EQ(run.wait_for(std::chrono::seconds(120)), std::future_status::ready)
      << "the daemon went on after the fatal error";
  const absl::Status status = run.get();
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("fatal"));
  EXPECT_THAT(std::string(status.message()),
              HasSubstr("OUT_OF_ORDER_SEQUENCE_NUMBER"));
  EXPECT_FALSE(stop.load()) << "it stopped by itself";
  // Records after the last good checkpoint are not committed: at most up
  // to the record whose dead letter never got through.
  auto committed = testing::CommittedOffsets(mc->bootstrap(), group,
                                             "vigia.posts", kPartitions);
  ASSERT_TRUE(committed.ok()) << committed.status();
  EXPECT_LE(committed->at(0), bad_offset);
  EXPECT_GE(committed->at(0), static_cast<int64_t>(first.size()));
  EXPECT_GT(handled.distinct(), bad_offset) << "the fault came mid-stream";
}

TEST(KafkaFailures, AFailingAlertSinkStopsTheDaemonWithNothingMoreCommitted) {
  auto mc = StartCluster();
  ASSERT_NE(mc, nullptr);
  const std::vector<FeedLine> feed = testing::SurgeFeed();
  ASSERT_TRUE(
      testing::ProduceFeed(mc->bootstrap(), "vigia.posts", feed, kPartitions)
          .ok());
  // A real sink on a device that refuses every write.
  FILE* full = std::fopen("/dev/full", "w");
  ASSERT_NE(full, nullptr);
  std::setvbuf(full, nullptr, _IONBF, 0);
  AlertPrinter printer(full);

  const std::string group = "failing-sink";
  Handled handled;
  DaemonOptions options = testing::TestDaemonOptions(mc->bootstrap(), group);
  // No periodic checkpoint: the only commit the daemon could make after
  // the failure is the one it must not make.
  options.checkpoint_interval = absl::Hours(1);
  options.on_record = [&](const SourceRef& s) { handled.Add(s); };
  auto daemon = Daemon::Create(testing::TestConfig(), options, &printer);
  ASSERT_TRUE(daemon.ok()) << daemon.status();
  std::atomic<bool> stop{false};
  auto run =
      std::async(std::launch::async, [&] { return (*daemon)->Run(stop); });
  const bool ended =
      run.wait_for(std::chrono::seconds(120)) == std::future_status::ready;
  stop.store(true);
  ASSERT_TRUE(ended) << "the daemon went on with a failing alert sink";
  const absl::Status status = run.get();
  std::fclose(full);
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable) << status;
  EXPECT_THAT(std::string(status.message()), HasSubstr("cannot print alert"));
  EXPECT_GT(handled.distinct(), 0);
  EXPECT_LT(handled.distinct(), static_cast<int64_t>(feed.size()))
      << "the first alert comes mid-stream";
  auto committed = testing::CommittedOffsets(mc->bootstrap(), group,
                                             "vigia.posts", kPartitions);
  ASSERT_TRUE(committed.ok()) << committed.status();
  EXPECT_TRUE(committed->empty()) << "committed " << Total(*committed);
}

// `vigia run` against the cluster, with /metrics on a free port.
absl::StatusOr<std::unique_ptr<test_servers::ServerProcess>> StartVigiaRun(
    const MockCluster& mc, const std::string& group,
    const std::vector<std::string>& extra, int* metrics_port) {
  absl::StatusOr<int> port = test_servers::PickFreePort();
  if (!port.ok()) return port.status();
  *metrics_port = *port;
  absl::StatusOr<std::string> dir = test_servers::MakeScratchDir("vigia-run");
  if (!dir.ok()) return dir.status();
  test_servers::ServerProcess::Options o;
  o.argv = {
      kVigia,    "run", "--brokers",      mc.bootstrap(),
      "--group", group, "--metrics-addr", absl::StrCat("127.0.0.1:", *port)};
  o.argv.insert(o.argv.end(), extra.begin(), extra.end());
  o.dir = *dir;
  o.ready_url = absl::StrCat("http://127.0.0.1:", *port, "/metrics");
  return test_servers::ServerProcess::Start(std::move(o));
}

std::string Scrape(int port) {
  auto r = test_servers::HttpGet(
      absl::StrCat("http://127.0.0.1:", port, "/metrics"));
  return r.ok() ? r->body : std::string();
}

// Waits until the process has exited; its exit code, or -1 for a signal.
std::optional<int> WaitForExit(test_servers::ServerProcess& p,
                               absl::Duration timeout = kWait) {
  std::optional<int> code;
  WaitUntil([&] { return (code = p.Poll()).has_value(); }, timeout);
  return code;
}

// A `vigia run` with dead letters it cannot deliver (their broker is
// down), after it has handled every record.
class UndeliverableOutputs : public ::testing::Test {
 protected:
  static constexpr int kGood = 20;
  static constexpr int kBad = 5;

  void SetUp() override {
    mc_ = StartCluster(/*brokers=*/2);
    ASSERT_NE(mc_, nullptr);
    DeadLettersOnBrokerTwo(*mc_, group_);
    const std::vector<FeedLine> feed =
        testing::SurgeFeed(absl::Hours(1), absl::ZeroDuration(), 0);
    std::vector<std::string> values;
    for (const FeedLine& line : feed) {
      if (line.target == "MD" && values.size() < static_cast<size_t>(kGood)) {
        values.push_back(line.json);
      }
    }
    for (int i = 0; i < kBad; ++i) values.push_back(absl::StrCat("bad ", i));
    ASSERT_TRUE(
        testing::ProduceRaw(mc_->bootstrap(), "vigia.posts", 0, values).ok());
    ASSERT_TRUE(mc_->SetBrokerDown(2).ok());
    auto vigia = StartVigiaRun(*mc_, group_, {}, &port_);
    ASSERT_TRUE(vigia.ok()) << vigia.status();
    vigia_ = std::move(*vigia);
    // The fault is in place: every record handled, the dead letters wait.
    ASSERT_TRUE(WaitUntil([&] {
      const std::string text = Scrape(port_);
      return SumOf(text, "vigia_events_rejected_total") == kBad &&
             SumOf(text, "vigia_kafka_unacknowledged_messages") == kBad;
    })) << vigia_->LogTail();
  }

  void WaitForLog(const std::string& text) {
    ASSERT_TRUE(WaitUntil([&] {
      return vigia_->LogTail(1 << 20).find(text) != std::string::npos;
    })) << vigia_->LogTail();
  }

  // Nothing past the first dead letter was committed.
  void ExpectNothingCommittedPastTheFirstDeadLetter() {
    auto committed = testing::CommittedOffsets(mc_->bootstrap(), group_,
                                               "vigia.posts", kPartitions);
    ASSERT_TRUE(committed.ok()) << committed.status();
    if (committed->contains(0)) {
      EXPECT_LE(committed->at(0), kGood);
    }
  }

  const std::string group_ = "undeliverable";
  std::unique_ptr<MockCluster> mc_;
  std::unique_ptr<test_servers::ServerProcess> vigia_;
  int port_ = 0;
};

TEST_F(UndeliverableOutputs, AFailedFinalFlushExitsNonZero) {
  ASSERT_EQ(::kill(vigia_->pid(), SIGTERM), 0);
  WaitForLog("kafka: stopping; flushing outputs and committing");
  const std::optional<int> code = WaitForExit(*vigia_);
  ASSERT_TRUE(code.has_value()) << vigia_->LogTail();
  EXPECT_EQ(*code, 1) << vigia_->LogTail();
  EXPECT_THAT(vigia_->LogTail(), HasSubstr("stopped without a final commit"));
  ExpectNothingCommittedPastTheFirstDeadLetter();
}

TEST_F(UndeliverableOutputs, ASecondSignalExitsAtOnce) {
  ASSERT_EQ(::kill(vigia_->pid(), SIGTERM), 0);
  // The first signal is being handled: the flush waits for broker 2.
  WaitForLog("kafka: stopping; flushing outputs and committing");
  ASSERT_EQ(::kill(vigia_->pid(), SIGTERM), 0);
  const std::optional<int> code = WaitForExit(*vigia_);
  ASSERT_TRUE(code.has_value()) << vigia_->LogTail();
  EXPECT_EQ(*code, -1) << "not ended by the signal: " << vigia_->LogTail();
  EXPECT_THAT(vigia_->LogTail(),
              ::testing::Not(HasSubstr("stopped without a final commit")))
      << "it waited out the flush";
  ExpectNothingCommittedPastTheFirstDeadLetter();
}

TEST(KafkaFailures, AnAlertmanagerOutageNeverHoldsBackKafkaCommits) {
  auto mc = StartCluster();
  ASSERT_NE(mc, nullptr);
  auto feed = testing::GenerateFeed(kSliceScenario);
  ASSERT_TRUE(feed.ok()) << feed.status();
  const std::vector<FeedLine> posts = testing::OnlyAds(*feed, false);
  const std::vector<FeedLine> ads = testing::OnlyAds(*feed, true);
  ASSERT_TRUE(
      testing::ProduceFeed(mc->bootstrap(), "vigia.posts", posts, kPartitions)
          .ok());
  ASSERT_TRUE(
      testing::ProduceFeed(mc->bootstrap(), "vigia.ads", ads, kPartitions)
          .ok());
  // Alertmanager is down for the whole run: its port refuses connections.
  auto alertmanager = test_servers::ClosedPort::Open();
  ASSERT_TRUE(alertmanager.ok()) << alertmanager.status();
  const std::string group = "alertmanager-down";
  int port = 0;
  auto vigia =
      StartVigiaRun(*mc, group, {"--alertmanager", alertmanager->url()}, &port);
  ASSERT_TRUE(vigia.ok()) << vigia.status();

  // Every record of both feeds committed...
  ASSERT_TRUE(WaitUntil([&] {
    auto p = testing::CommittedOffsets(mc->bootstrap(), group, "vigia.posts",
                                       kPartitions);
    auto a = testing::CommittedOffsets(mc->bootstrap(), group, "vigia.ads",
                                       kPartitions);
    return p.ok() && a.ok() &&
           Total(*p) == static_cast<int64_t>(posts.size()) &&
           Total(*a) == static_cast<int64_t>(ads.size());
  })) << (*vigia)->LogTail();
  // ...while alerts were raised and not one reached Alertmanager.
  std::string text;
  ASSERT_TRUE(WaitUntil([&] {
    text = Scrape(port);
    return SumOf(text, "vigia_alertmanager_requests_failed_total") > 0;
  })) << text;
  EXPECT_GT(SumOf(text, "vigia_alerts_fired_total"), 0) << text;
  EXPECT_EQ(SumOf(text, "vigia_alertmanager_alerts_sent_total"), 0) << text;
  auto alerts =
      testing::ReadTopic(mc->bootstrap(), "vigia.alerts", kPartitions);
  ASSERT_TRUE(alerts.ok()) << alerts.status();
  EXPECT_FALSE(alerts->empty());
  ASSERT_EQ(::kill((*vigia)->pid(), SIGTERM), 0);
  const std::optional<int> code = WaitForExit(**vigia);
  ASSERT_TRUE(code.has_value()) << (*vigia)->LogTail();
  // The Kafka side stopped cleanly; only the notification channel failed.
  EXPECT_EQ(*code, 0) << (*vigia)->LogTail();
}

// kafka.instance_id reaches the consumer as its group.instance.id, with
// {hostname} replaced, and a static member consumes and commits like any
// other (the mock accepts static joins; it does not implement the
// restart-without-rebalance a real broker gives them, docs/kafka.md).
TEST(KafkaMembership, InstanceIdMakesAStaticMemberNamedAfterTheHost) {
  auto mc = StartCluster();
  ASSERT_NE(mc, nullptr);
  const std::vector<FeedLine> feed =
      testing::SurgeFeed(absl::Hours(1), absl::ZeroDuration(), 0);
  std::vector<std::string> values;
  for (const FeedLine& line : feed) values.push_back(line.json);
  ASSERT_TRUE(
      testing::ProduceRaw(mc->bootstrap(), "vigia.posts", 0, values).ok());
  absl::StatusOr<std::string> dir = test_servers::MakeScratchDir("static");
  ASSERT_TRUE(dir.ok()) << dir.status();
  const std::string config = absl::StrCat(*dir, "/vigia.yaml");
  std::ofstream(config) << "kafka:\n  instance_id: vigia-{hostname}\n";
  char host[256] = {};
  ASSERT_EQ(gethostname(host, sizeof(host) - 1), 0);
  const std::string group = "static-member";
  int port = 0;
  auto vigia = StartVigiaRun(*mc, group, {"--config", config}, &port);
  ASSERT_TRUE(vigia.ok()) << vigia.status();
  ASSERT_TRUE(WaitUntil([&] {
    auto p = testing::CommittedOffsets(mc->bootstrap(), group, "vigia.posts",
                                       kPartitions);
    return p.ok() && Total(*p) == static_cast<int64_t>(values.size());
  })) << (*vigia)->LogTail();
  EXPECT_THAT((*vigia)->LogTail(1 << 20),
              HasSubstr(absl::StrCat("group ", group, " (static member vigia-",
                                     host, ")")));
  ASSERT_EQ(::kill((*vigia)->pid(), SIGTERM), 0);
  const std::optional<int> code = WaitForExit(**vigia);
  ASSERT_TRUE(code.has_value()) << (*vigia)->LogTail();
  EXPECT_EQ(*code, 0) << (*vigia)->LogTail();
}

}  // namespace
}  // namespace vigia
