// kafka.repartition against the mock cluster: a feed keyed by account, or
// round-robin, over several partitions, read by two instances of one group.
// Repartitioned by target, each target is processed by one instance and the
// alerts are replay's; without it the same feed is split between them.
// And a backlog (KafkaBacklog): the whole feed in the brokers before one
// daemon starts, keyed by account or by target, raises replay's alerts.
#include <algorithm>
#include <chrono>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "pipeline/kafka/daemon.h"
#include "pipeline/kafka/producer.h"
#include "pipeline/metrics/metrics_server.h"
#include "tests/kafka/kafka_test_util.h"

namespace vigia {
namespace {

using testing::AlertRecord;
using testing::DaemonThread;
using testing::FeedLine;

constexpr int kPartitions = 4;
const absl::Duration kWait = absl::Seconds(180);
// The pairs' feeds are produced as a live feed arrives, kChunk records
// (about six minutes of event time) at a time, each chunk read before the
// next. A backlog (the whole feed at once, each partition read hours ahead
// of the others) is what KafkaBacklog below reads, on one instance: a
// detector key created by an event of a partition running ahead counts the
// older events the others deliver later (HopWindow::StartEarlier). On two
// repartitioning instances the ABacklog... pair tests produce it at once
// (lanes end by their forwarders' marks, docs/kafka.md "Lane ends").
constexpr size_t kChunk = 100;

// The mock cluster with the default topics and the group's two repartition
// topics, kPartitions each.
std::unique_ptr<MockCluster> StartCluster(const std::string& group) {
  std::vector<std::string> topics = DefaultTopics();
  topics.push_back(RepartitionTopic(group, FeedKind::kPost));
  topics.push_back(RepartitionTopic(group, FeedKind::kAd));
  auto mc = MockCluster::Start(1, kPartitions, topics);
  EXPECT_TRUE(mc.ok()) << mc.status();
  return mc.ok() ? std::move(*mc) : nullptr;
}

// The account id of a SurgeFeed post.
std::string AccountOf(const std::string& json) {
  const std::string marker = R"("account":{"id":")";
  const size_t at = json.find(marker);
  if (at == std::string::npos) return "";
  const size_t from = at + marker.size();
  return json.substr(from, json.find('"', from) - from);
}

// Produces line i of `lines` to partition i % kPartitions of the posts
// topic, keyed by its account (`by_account`) or with no key (round-robin).
// On an empty topic, line i is then at offset i / kPartitions.
absl::Status ProduceNotByTarget(
    const std::string& bootstrap, const std::vector<FeedLine>& lines,
    bool by_account, size_t chunk = 0,
    const std::function<bool(size_t)>& handled = nullptr) {
  ProducerOptions po;
  po.brokers = bootstrap;
  po.client_id = "test-feed-by-account";
  auto producer = Producer::Create(po);
  if (!producer.ok()) return producer.status();
  for (size_t i = 0; i < lines.size(); ++i) {
    OutMessage m;
    m.topic = "vigia.posts";
    if (by_account) m.key = AccountOf(lines[i].json);
    m.value = lines[i].json;
    m.output = "feed";
    m.partition = static_cast<int32_t>(i % kPartitions);
    (*producer)->Produce(std::move(m));
    if (chunk > 0 && (i + 1) % chunk == 0) {
      if (absl::Status s = (*producer)->Flush(absl::Seconds(60)); !s.ok()) {
        return s;
      }
      if (handled && !handled(i + 1)) {
        return absl::DeadlineExceededError("records not handled");
      }
    }
  }
  return (*producer)->Flush(absl::Seconds(60));
}

// Which instances handled each input record: (input partition, offset).
class ByInstance {
 public:
  void Add(int instance, const SourceRef& s) {
    std::lock_guard<std::mutex> l(mu_);
    seen_[{s.partition, s.position}].insert(instance);
    ++total_;
  }
  int64_t distinct() const {
    std::lock_guard<std::mutex> l(mu_);
    return static_cast<int64_t>(seen_.size());
  }
  int64_t total() const {
    std::lock_guard<std::mutex> l(mu_);
    return total_;
  }
  bool WaitFor(int64_t n) const {
    const auto deadline =
        std::chrono::steady_clock::now() + absl::ToChronoMilliseconds(kWait);
    while (std::chrono::steady_clock::now() < deadline) {
      if (distinct() >= n) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    return false;
  }
  // Per target of `lines` (produced by ProduceNotByTarget), the instances
  // that handled some of its records.
  std::map<std::string, std::set<int>> InstancesPerTarget(
      const std::vector<FeedLine>& lines) const {
    std::lock_guard<std::mutex> l(mu_);
    std::map<std::string, std::set<int>> out;
    for (const auto& [where, instances] : seen_) {
      const size_t line =
          static_cast<size_t>(where.second) * kPartitions + where.first;
      if (line >= lines.size()) continue;
      out[lines[line].target].insert(instances.begin(), instances.end());
    }
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::pair<int32_t, int64_t>, std::set<int>> seen_;
  int64_t total_ = 0;
};

std::vector<AlertRecord> SurgeAlerts(std::vector<AlertRecord> v,
                                     absl::Time cutoff) {
  v = testing::EndingBy(std::move(v), cutoff);
  std::erase_if(v, [](const AlertRecord& a) {
    return a.detector != "foreign_origin_surge";
  });
  std::sort(v.begin(), v.end());
  return v;
}

std::vector<AlertRecord> AlertsInTopic(const std::string& bootstrap) {
  auto records = testing::ReadTopic(bootstrap, "vigia.alerts", kPartitions);
  EXPECT_TRUE(records.ok()) << records.status();
  std::vector<AlertRecord> alerts;
  if (!records.ok()) return alerts;
  for (const auto& r : *records) {
    auto a = testing::ParseAlertJson(r.value);
    EXPECT_TRUE(a.ok()) << a.status();
    if (a.ok()) alerts.push_back(*a);
  }
  return alerts;
}

// The value of the metric line starting with `series`, or -1.
double MetricValue(prometheus::Registry& registry, const std::string& series) {
  const std::string text = SerializeMetrics(registry);
  const size_t at = text.find("\n" + series + " ");
  if (at == std::string::npos) return -1;
  return std::stod(text.substr(at + 1 + series.size() + 1));
}

// Waits until the two daemons hold `each` partitions each, for a while.
bool WaitForStableSplit(const Daemon& a, const Daemon& b, int each) {
  const auto deadline =
      std::chrono::steady_clock::now() + absl::ToChronoMilliseconds(kWait);
  while (std::chrono::steady_clock::now() < deadline) {
    const int64_t rebalances = a.rebalances() + b.rebalances();
    if (a.assigned_partitions() == each && b.assigned_partitions() == each) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1500));
      if (a.rebalances() + b.rebalances() == rebalances &&
          a.assigned_partitions() == each && b.assigned_partitions() == each) {
        return true;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

struct PairRun {
  std::vector<AlertRecord> alerts;  // foreign_origin_surge, up to the cutoff
  std::map<std::string, std::set<int>> instances_per_target;
  int64_t handled_total = 0;
  int64_t miskeyed = 0;
  int64_t repartitioned = 0;
  double miskeyed_metric = 0;
  double late = 0;  // posts events late, both instances
};

// Two instances of one group over SurgeFeed produced `by_account` (or
// round-robin), with or without `repartition`.
// `chunk` records at a time, each read before the next (0: all at once, a
// backlog for the pair).
// `b_on_forward` is the second instance's DaemonOptions::on_forward.
void RunPair(bool repartition, bool by_account,
             const std::vector<FeedLine>& feed, PairRun* out,
             size_t chunk = kChunk,
             const Config& config = testing::TestConfig(),
             std::function<void(const SourceRef&)> b_on_forward = nullptr) {
  const std::string group = repartition ? "rp" : "split";
  auto mc = StartCluster(group);
  ASSERT_NE(mc, nullptr);
  ByInstance handled;
  DaemonOptions a_options = testing::TestDaemonOptions(mc->bootstrap(), group);
  a_options.repartition = repartition;
  a_options.on_record = [&](const SourceRef& s) { handled.Add(0, s); };
  DaemonOptions b_options = a_options;
  b_options.on_record = [&](const SourceRef& s) { handled.Add(1, s); };
  b_options.on_forward = std::move(b_on_forward);
  // Posts and ads, and with repartition their repartition topics.
  const int all = (repartition ? 4 : 2) * kPartitions;
  DaemonThread a(config, a_options);
  ASSERT_TRUE(a.create_status().ok()) << a.create_status();
  ASSERT_TRUE(a.WaitForAssignment(all, kWait));
  DaemonThread b(config, b_options);
  ASSERT_TRUE(b.create_status().ok()) << b.create_status();
  ASSERT_TRUE(WaitForStableSplit(a.daemon(), b.daemon(), all / 2));

  // As a live feed arrives: in chunks, each read before the next is
  // produced (see kChunk); or all at once.
  ASSERT_TRUE(ProduceNotByTarget(mc->bootstrap(), feed, by_account, chunk,
                                 [&](size_t n) { return handled.WaitFor(n); })
                  .ok());
  ASSERT_TRUE(handled.WaitFor(static_cast<int64_t>(feed.size())));
  const absl::Time cutoff = feed.back().time - absl::Minutes(30);
  ASSERT_TRUE(testing::WaitForWatermark(a.daemon(), cutoff, kWait));
  ASSERT_TRUE(testing::WaitForWatermark(b.daemon(), cutoff, kWait));
  out->miskeyed = a.daemon().miskeyed_records() + b.daemon().miskeyed_records();
  out->repartitioned =
      a.daemon().repartitioned_records() + b.daemon().repartitioned_records();
  // Both at once. Still, the first to leave starts a rebalance that can
  // refuse the other's final commit: shutdown behaviour (docs/kafka.md),
  // which loses nothing (the outputs were flushed before it) and is not
  // what this test is about.
  a.stop_flag().store(true);
  b.stop_flag().store(true);
  for (DaemonThread* d : {&a, &b}) {
    const absl::Status s = d->Stop();
    EXPECT_TRUE(s.ok() || absl::StrContains(s.message(), "commit failed")) << s;
  }
  const std::string series =
      R"(vigia_kafka_miskeyed_records_total{topic="vigia.posts"})";
  out->miskeyed_metric = MetricValue(a.daemon().registry(), series) +
                         MetricValue(b.daemon().registry(), series);
  const std::string late = R"(vigia_events_late_total{feed="posts"})";
  out->late = MetricValue(a.daemon().registry(), late) +
              MetricValue(b.daemon().registry(), late);
  out->alerts = SurgeAlerts(AlertsInTopic(mc->bootstrap()), cutoff);
  out->instances_per_target = handled.InstancesPerTarget(feed);
  out->handled_total = handled.total();
}

std::string Describe(const std::map<std::string, std::set<int>>& m) {
  std::string s;
  for (const auto& [target, instances] : m) {
    absl::StrAppend(&s, target, ":", instances.size(), " ");
  }
  return s;
}

TEST(KafkaRepartition, AFeedKeyedByAccountRaisesReplaysAlertsOnTwoInstances) {
  const std::vector<FeedLine> feed = testing::SurgeFeed();
  const Config config = testing::TestConfig();
  const absl::Time cutoff = feed.back().time - absl::Minutes(30);
  const std::vector<AlertRecord> replay =
      SurgeAlerts(testing::ReplayAlerts(feed, config), cutoff);
  ASSERT_FALSE(replay.empty());

  PairRun run;
  RunPair(/*repartition=*/true, /*by_account=*/true, feed, &run);
  if (::testing::Test::HasFatalFailure()) return;
  // Every record processed once, and every target by one instance only;
  // both instances took part.
  EXPECT_EQ(run.handled_total, static_cast<int64_t>(feed.size()));
  ASSERT_EQ(run.instances_per_target.size(), testing::FeedTargets().size())
      << Describe(run.instances_per_target);
  std::set<int> used;
  for (const auto& [target, instances] : run.instances_per_target) {
    EXPECT_EQ(instances.size(), 1u) << target << " was split";
    used.insert(instances.begin(), instances.end());
  }
  EXPECT_EQ(used.size(), 2u) << Describe(run.instances_per_target);
  EXPECT_EQ(run.alerts, replay);
  // Every record was forwarded, and none was keyed by its target.
  EXPECT_GE(run.repartitioned, static_cast<int64_t>(feed.size()));
  EXPECT_EQ(run.miskeyed, static_cast<int64_t>(feed.size()));
}

TEST(KafkaRepartition,
     ABacklogKeyedByAccountRaisesReplaysAlertsOnTwoInstances) {
  const std::vector<FeedLine> feed = testing::SurgeFeed();
  const Config config = testing::TestConfig();
  const absl::Time cutoff = feed.back().time - absl::Minutes(30);
  const std::vector<AlertRecord> replay =
      SurgeAlerts(testing::ReplayAlerts(feed, config), cutoff);
  ASSERT_FALSE(replay.empty());

  PairRun run;
  RunPair(/*repartition=*/true, /*by_account=*/true, feed, &run, /*chunk=*/0);
  if (::testing::Test::HasFatalFailure()) return;
  std::cout << "pair backlog: " << run.alerts.size()
            << " surge alert records, replay " << replay.size() << "; "
            << run.late << " late\n";
  EXPECT_EQ(run.handled_total, static_cast<int64_t>(feed.size()));
  for (const auto& [target, instances] : run.instances_per_target) {
    EXPECT_EQ(instances.size(), 1u) << target << " was split";
  }
  EXPECT_EQ(run.late, 0);
  EXPECT_EQ(run.alerts, replay);
}

// The same backlog, one forwarder stalling for four end_graces part way
// through it (a loaded machine, a long pause of its thread): the lanes it
// forwards hold the other instance's watermark meanwhile, although the
// repartition partitions they arrive on are at their end there, so its
// records are not late when they come. (Before lane-end marks, its lanes
// ended with their partitions: 1,623 posts late in one run.)
TEST(KafkaRepartition, ABacklogWithAStalledForwarderRaisesReplaysAlerts) {
  const std::vector<FeedLine> feed = testing::SurgeFeed();
  Config config = testing::TestConfig();
  config.watermark.end_grace = absl::Seconds(2);
  const absl::Time cutoff = feed.back().time - absl::Minutes(30);
  const std::vector<AlertRecord> replay =
      SurgeAlerts(testing::ReplayAlerts(feed, config), cutoff);
  ASSERT_FALSE(replay.empty());

  // Once it has forwarded records of each of its input partitions (so it
  // has seen that each has a backlog), and 200 in all.
  int forwarded = 0;
  std::set<int32_t> inputs;
  bool stalled = false;
  PairRun run;
  RunPair(/*repartition=*/true, /*by_account=*/true, feed, &run, /*chunk=*/0,
          config, [&](const SourceRef& s) {
            ++forwarded;
            inputs.insert(s.partition);
            if (!stalled && forwarded >= 200 && inputs.size() == 2) {
              stalled = true;
              std::this_thread::sleep_for(std::chrono::seconds(8));
            }
          });
  if (::testing::Test::HasFatalFailure()) return;
  std::cout << "pair backlog, stalled forwarder: " << run.alerts.size()
            << " surge alert records, replay " << replay.size() << "; "
            << run.late << " late\n";
  EXPECT_TRUE(stalled);
  EXPECT_EQ(run.handled_total, static_cast<int64_t>(feed.size()));
  EXPECT_EQ(run.late, 0);
  EXPECT_EQ(run.alerts, replay);
}

TEST(KafkaRepartition,
     AFeedProducedRoundRobinRaisesReplaysAlertsOnTwoInstances) {
  const std::vector<FeedLine> feed = testing::SurgeFeed();
  const Config config = testing::TestConfig();
  const absl::Time cutoff = feed.back().time - absl::Minutes(30);
  const std::vector<AlertRecord> replay =
      SurgeAlerts(testing::ReplayAlerts(feed, config), cutoff);

  PairRun run;
  RunPair(/*repartition=*/true, /*by_account=*/false, feed, &run);
  if (::testing::Test::HasFatalFailure()) return;
  EXPECT_EQ(run.handled_total, static_cast<int64_t>(feed.size()));
  for (const auto& [target, instances] : run.instances_per_target) {
    EXPECT_EQ(instances.size(), 1u) << target << " was split";
  }
  EXPECT_EQ(run.alerts, replay);
  // Records without a key are mis-keyed too.
  EXPECT_EQ(run.miskeyed, static_cast<int64_t>(feed.size()));
}

// The same feed and group without repartition: every target's records are
// split between the two instances, which each see a part of its traffic.
// This is what the two tests above would show without kafka.repartition.
TEST(KafkaRepartition, WithoutRepartitionTheSameFeedSplitsEveryTarget) {
  const std::vector<FeedLine> feed = testing::SurgeFeed();
  const Config config = testing::TestConfig();
  const absl::Time cutoff = feed.back().time - absl::Minutes(30);
  const std::vector<AlertRecord> replay =
      SurgeAlerts(testing::ReplayAlerts(feed, config), cutoff);

  PairRun run;
  RunPair(/*repartition=*/false, /*by_account=*/true, feed, &run);
  if (::testing::Test::HasFatalFailure()) return;
  EXPECT_EQ(run.handled_total, static_cast<int64_t>(feed.size()));
  ASSERT_EQ(run.instances_per_target.size(), testing::FeedTargets().size());
  for (const auto& [target, instances] : run.instances_per_target) {
    EXPECT_EQ(instances.size(), 2u) << target << " was not split";
  }
  // Counted and warned about, never silent.
  EXPECT_EQ(run.miskeyed, static_cast<int64_t>(feed.size()));
  EXPECT_EQ(run.miskeyed_metric, static_cast<double>(feed.size()));
  EXPECT_EQ(run.repartitioned, 0);
  // And the alerts: each instance sees half of MD's surge.
  std::cout << "without repartition: " << run.alerts.size()
            << " surge alert records, replay " << replay.size() << "\n";
  EXPECT_NE(run.alerts, replay);
}

// One instance, a feed keyed by target with records keyed otherwise among
// it, and a record that cannot be decoded: only the latter are counted as
// mis-keyed, and the bad record is dead-lettered with its reason and where
// it was read, through the repartition topic.
TEST(KafkaRepartition, MiskeyedRecordsAreCountedAndBadOnesDeadLettered) {
  auto mc = StartCluster("one");
  ASSERT_NE(mc, nullptr);
  const std::vector<FeedLine> feed =
      testing::SurgeFeed(absl::Hours(1), absl::ZeroDuration(), 0);
  std::vector<FeedLine> by_target, by_account;
  for (size_t i = 0; i < feed.size(); ++i) {
    (i % 3 == 0 ? by_account : by_target).push_back(feed[i]);
  }
  ASSERT_TRUE(testing::ProduceFeed(mc->bootstrap(), "vigia.posts", by_target,
                                   kPartitions)
                  .ok());
  ASSERT_TRUE(ProduceNotByTarget(mc->bootstrap(), by_account, true).ok());
  ASSERT_TRUE(
      testing::ProduceRaw(mc->bootstrap(), "vigia.posts", 2, {"not json"})
          .ok());

  for (bool repartition : {false, true}) {
    SCOPED_TRACE(repartition ? "repartition" : "no repartition");
    ByInstance handled;
    DaemonOptions options = testing::TestDaemonOptions(
        mc->bootstrap(), repartition ? "one" : "plain");
    options.repartition = repartition;
    options.on_record = [&](const SourceRef& s) { handled.Add(0, s); };
    DaemonThread d(testing::TestConfig(), options);
    ASSERT_TRUE(d.create_status().ok()) << d.create_status();
    ASSERT_TRUE(handled.WaitFor(static_cast<int64_t>(feed.size()) + 1));
    ASSERT_TRUE(d.Stop().ok());
    EXPECT_EQ(d.daemon().miskeyed_records(),
              static_cast<int64_t>(by_account.size()));
    EXPECT_EQ(MetricValue(
                  d.daemon().registry(),
                  R"(vigia_kafka_miskeyed_records_total{topic="vigia.posts"})"),
              static_cast<double>(by_account.size()));
    EXPECT_EQ(d.daemon().repartitioned_records(),
              repartition ? static_cast<int64_t>(feed.size()) + 1 : 0);
  }

  auto dead = testing::ReadTopic(mc->bootstrap(), "vigia.dlq", kPartitions);
  ASSERT_TRUE(dead.ok()) << dead.status();
  // (The records keyed by account come after the partition's others, an
  // hour of event time back: those are dead letters too, as late.)
  std::erase_if(*dead, [](const testing::TopicRecord& r) {
    return r.value != "not json";
  });
  ASSERT_EQ(dead->size(), 2u);  // once per run
  // Both name the record where it was read.
  EXPECT_EQ((*dead)[0].headers.at("vigia.source.offset"),
            (*dead)[1].headers.at("vigia.source.offset"));
  for (const testing::TopicRecord& r : *dead) {
    EXPECT_EQ(r.headers.at("vigia.reason"), "malformed_json");
    EXPECT_EQ(r.headers.at("vigia.source.partition"), "2");
    EXPECT_TRUE(
        absl::StartsWith(r.headers.at("vigia.source.topic"), "vigia.posts"))
        << r.headers.at("vigia.source.topic");
  }
}

// Forwards feed[o] for each input offset o of posts partition 1 to
// partition 3 of `group`'s repartition topic, as a forwarder does.
absl::Status ForwardFromPartitionOne(Producer& producer,
                                     const std::string& group,
                                     const std::vector<FeedLine>& feed,
                                     const std::vector<int64_t>& offsets) {
  for (int64_t o : offsets) {
    OutMessage m;
    m.topic = RepartitionTopic(group, FeedKind::kPost);
    m.key = feed[o].target;
    m.value = feed[o].json;
    m.headers = {{"vigia.source.partition", "1"},
                 {"vigia.source.offset", absl::StrCat(o)}};
    m.output = "feed";
    m.partition = 3;
    producer.Produce(std::move(m));
  }
  return producer.Flush(absl::Seconds(60));
}

// Waits, at most kWait, until `d` has skipped `n` forwarded copies (the
// last record has then surely been read).
void WaitForDuplicates(const Daemon& d, int64_t n) {
  const auto deadline =
      std::chrono::steady_clock::now() + absl::ToChronoMilliseconds(kWait);
  while (d.repartition_duplicates() < n &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// A forwarder that crashed before its commit forwards its records again:
// the copies (same input partition and offset) are skipped, and counted.
TEST(KafkaRepartition, RecordsForwardedAgainAreProcessedOnce) {
  auto mc = StartCluster("dup");
  ASSERT_NE(mc, nullptr);
  const std::vector<FeedLine> feed =
      testing::SurgeFeed(absl::Hours(1), absl::ZeroDuration(), 0);
  // Input offsets 0..4 of partition 1, then 2..4 again (the re-send after
  // a commit at 2), then 5..9; all to repartition partition 3.
  ProducerOptions po;
  po.brokers = mc->bootstrap();
  po.client_id = "test-forwarder";
  auto producer = Producer::Create(po);
  ASSERT_TRUE(producer.ok()) << producer.status();
  ASSERT_TRUE(ForwardFromPartitionOne(**producer, "dup", feed,
                                      {0, 1, 2, 3, 4, 2, 3, 4, 5, 6, 7, 8, 9})
                  .ok());

  ByInstance handled;
  DaemonOptions options = testing::TestDaemonOptions(mc->bootstrap(), "dup");
  options.repartition = true;
  options.on_record = [&](const SourceRef& s) {
    EXPECT_EQ(s.partition, 1);
    EXPECT_EQ(s.source, "vigia.posts via dup-posts-by-target/3");
    handled.Add(0, s);
  };
  DaemonThread d(testing::TestConfig(), options);
  ASSERT_TRUE(d.create_status().ok()) << d.create_status();
  ASSERT_TRUE(handled.WaitFor(10));
  WaitForDuplicates(d.daemon(), 3);
  ASSERT_TRUE(d.Stop().ok());
  EXPECT_EQ(handled.total(), 10);
  EXPECT_EQ(d.daemon().repartition_duplicates(), 3);
  EXPECT_EQ(
      MetricValue(
          d.daemon().registry(),
          R"(vigia_kafka_repartition_duplicates_total{topic="dup-posts-by-target"})"),
      3);
}

// The same re-sends, arriving after the processing instance restarted:
// which lane offsets it had processed is in its snapshot (the kafka
// section), so the copies are still skipped, not processed a second time.
TEST(KafkaRepartition, RecordsForwardedAgainAfterARestartAreProcessedOnce) {
  auto mc = StartCluster("dup2");
  ASSERT_NE(mc, nullptr);
  const std::vector<FeedLine> feed =
      testing::SurgeFeed(absl::Hours(1), absl::ZeroDuration(), 0);
  ProducerOptions po;
  po.brokers = mc->bootstrap();
  po.client_id = "test-forwarder";
  auto producer = Producer::Create(po);
  ASSERT_TRUE(producer.ok()) << producer.status();
  const auto forward = [&](const std::vector<int64_t>& offsets) {
    return ForwardFromPartitionOne(**producer, "dup2", feed, offsets);
  };
  DaemonOptions options = testing::TestDaemonOptions(mc->bootstrap(), "dup2");
  options.repartition = true;
  ASSERT_FALSE(options.state_topic.empty());

  // Input offsets 0..4 processed, checkpointed and committed at the stop.
  ASSERT_TRUE(forward({0, 1, 2, 3, 4}).ok());
  ByInstance first;
  options.on_record = [&](const SourceRef& s) { first.Add(0, s); };
  {
    DaemonThread d(testing::TestConfig(), options);
    ASSERT_TRUE(d.create_status().ok()) << d.create_status();
    ASSERT_TRUE(first.WaitFor(5));
    ASSERT_TRUE(d.Stop().ok());
  }
  EXPECT_EQ(first.total(), 5);

  // The forwarder re-sends 2..4 (it crashed before its commit), then goes
  // on with 5..9; a new processing instance restores the state.
  ASSERT_TRUE(forward({2, 3, 4, 5, 6, 7, 8, 9}).ok());
  ByInstance second;
  std::vector<int64_t> offsets;
  std::mutex mu;
  options.on_record = [&](const SourceRef& s) {
    {
      std::lock_guard<std::mutex> lock(mu);
      offsets.push_back(s.position);
    }
    second.Add(0, s);
  };
  DaemonThread d(testing::TestConfig(), options);
  ASSERT_TRUE(d.create_status().ok()) << d.create_status();
  ASSERT_TRUE(second.WaitFor(5));
  WaitForDuplicates(d.daemon(), 3);
  ASSERT_TRUE(d.Stop().ok());
  EXPECT_GE(d.daemon().state_restores(), 1);
  EXPECT_EQ(d.daemon().repartition_duplicates(), 3);
  EXPECT_EQ(second.total(), 5);
  std::lock_guard<std::mutex> lock(mu);
  EXPECT_EQ(offsets, (std::vector<int64_t>{5, 6, 7, 8, 9}));
}

// A backlog: the whole feed is in the brokers before one daemon starts, as
// after an outage or for a drill. Produced not keyed by target (round-robin
// over the partitions, `by_account` or without key) or keyed by target over
// `partitions` partitions; read with or without kafka.repartition.
struct BacklogRun {
  std::vector<AlertRecord> alerts;  // foreign_origin_surge, up to the cutoff
  std::vector<AlertRecord> all;     // every detector's, up to the cutoff
  double coordinated_cap_hits = 0;
  int64_t handled_distinct = 0;
  int64_t handled_total = 0;
  int64_t pauses = 0;
};

void RunBacklog(bool repartition, bool by_target, int partitions,
                const std::vector<FeedLine>& feed, const Config& config,
                BacklogRun* out) {
  const std::string group = repartition ? "backlog-rp" : "backlog";
  std::vector<std::string> topics = DefaultTopics();
  topics.push_back(RepartitionTopic(group, FeedKind::kPost));
  topics.push_back(RepartitionTopic(group, FeedKind::kAd));
  auto mc = MockCluster::Start(1, partitions, topics);
  ASSERT_TRUE(mc.ok()) << mc.status();
  if (by_target) {
    ASSERT_TRUE(testing::ProduceFeed((*mc)->bootstrap(), "vigia.posts", feed,
                                     partitions)
                    .ok());
  } else {
    ASSERT_EQ(partitions, kPartitions);
    ASSERT_TRUE(
        ProduceNotByTarget((*mc)->bootstrap(), feed, /*by_account=*/true).ok());
  }
  testing::Handled handled;
  DaemonOptions options = testing::TestDaemonOptions((*mc)->bootstrap(), group);
  options.repartition = repartition;
  options.on_record = [&](const SourceRef& s) { handled.Add(s); };
  DaemonThread d(config, options);
  ASSERT_TRUE(d.create_status().ok()) << d.create_status();
  ASSERT_TRUE(handled.WaitFor(static_cast<int64_t>(feed.size()), kWait));
  const absl::Time cutoff = feed.back().time - absl::Minutes(30);
  ASSERT_TRUE(testing::WaitForWatermark(d.daemon(), cutoff, kWait));
  out->pauses = d.daemon().alignment_pauses();
  out->coordinated_cap_hits = MetricValue(
      d.daemon().registry(),
      "vigia_detector_cap_hits_total{detector=\"coordinated_sharing\"}");
  ASSERT_TRUE(d.Stop().ok());
  out->handled_distinct = handled.distinct();
  out->handled_total = handled.total();
  auto records =
      testing::ReadTopic((*mc)->bootstrap(), "vigia.alerts", partitions);
  ASSERT_TRUE(records.ok()) << records.status();
  std::vector<AlertRecord> alerts;
  for (const auto& r : *records) {
    auto a = testing::ParseAlertJson(r.value);
    ASSERT_TRUE(a.ok()) << a.status();
    alerts.push_back(*a);
  }
  out->all = testing::EndingBy(alerts, cutoff);
  std::sort(out->all.begin(), out->all.end());
  out->alerts = SurgeAlerts(std::move(alerts), cutoff);
}

void ExpectBacklogRaisesReplays(bool repartition, bool by_target,
                                int partitions,
                                const std::vector<FeedLine>& feed) {
  const Config config = testing::TestConfig();
  const absl::Time cutoff = feed.back().time - absl::Minutes(30);
  const std::vector<AlertRecord> replay =
      SurgeAlerts(testing::ReplayAlerts(feed, config), cutoff);
  ASSERT_FALSE(replay.empty());
  BacklogRun run;
  RunBacklog(repartition, by_target, partitions, feed, config, &run);
  if (::testing::Test::HasFatalFailure()) return;
  std::cout << "backlog: " << run.alerts.size()
            << " surge alert records, replay " << replay.size() << "; "
            << run.pauses << " alignment pauses\n";
  // Every record processed, once.
  EXPECT_EQ(run.handled_distinct, static_cast<int64_t>(feed.size()));
  EXPECT_EQ(run.handled_total, static_cast<int64_t>(feed.size()));
  EXPECT_EQ(run.alerts, replay);
}

TEST(KafkaBacklog, KeyedByAccountRaisesReplaysAlerts) {
  ExpectBacklogRaisesReplays(/*repartition=*/false, /*by_target=*/false,
                             kPartitions, testing::SurgeFeed());
}

TEST(KafkaBacklog, KeyedByAccountRepartitionedRaisesReplaysAlerts) {
  ExpectBacklogRaisesReplays(/*repartition=*/true, /*by_target=*/false,
                             kPartitions, testing::SurgeFeed());
}

// Keyed by target, four targets over five partitions: one stays empty.
TEST(KafkaBacklog, KeyedByTargetWithAnEmptyPartitionRaisesReplaysAlerts) {
  ExpectBacklogRaisesReplays(/*repartition=*/false, /*by_target=*/true, 5,
                             testing::SurgeFeed());
}

// Every detector on. The feed's background shares one URL and one text per
// target from accounts enough to be a cluster, so coordinated_sharing fires
// from the first minute and its episodes run for hours. A catch-up reads a
// partition up to alignment_drift (an hour) ahead of the watermark, and a
// key holds its posts until the watermark passes them; its post cap
// (max_posts_per_key, 128) counted all of them, not those of one window,
// and dropped posts still to be judged: in five runs 2,302 to 2,980 cap
// hits and 36 to 56 coordinated_sharing records against replay's 20 (both
// keyings). Now the cap bounds the posts within a window of each other, and
// the whole alert set is replay's.
void ExpectBacklogWithEveryDetectorRaisesReplays(bool by_target,
                                                 int partitions) {
  const std::vector<FeedLine> feed = testing::SurgeFeed();
  const Config config = testing::TestConfig(testing::Detectors::kAll);
  const absl::Time cutoff = feed.back().time - absl::Minutes(30);
  std::vector<AlertRecord> replay =
      testing::EndingBy(testing::ReplayAlerts(feed, config), cutoff);
  std::sort(replay.begin(), replay.end());
  const auto coordinated = [](const std::vector<AlertRecord>& v) {
    return std::count_if(v.begin(), v.end(), [](const AlertRecord& a) {
      return a.detector == "coordinated_sharing";
    });
  };
  ASSERT_GT(coordinated(replay), 0);
  BacklogRun run;
  RunBacklog(/*repartition=*/false, by_target, partitions, feed, config, &run);
  if (::testing::Test::HasFatalFailure()) return;
  std::cout << "backlog, every detector: " << run.all.size()
            << " alert records (" << coordinated(run.all)
            << " coordinated_sharing), replay " << replay.size() << " ("
            << coordinated(replay) << "); coordinated_sharing cap hits "
            << run.coordinated_cap_hits << "; " << run.pauses
            << " alignment pauses\n";
  EXPECT_EQ(run.handled_distinct, static_cast<int64_t>(feed.size()));
  EXPECT_EQ(run.handled_total, static_cast<int64_t>(feed.size()));
  EXPECT_EQ(run.coordinated_cap_hits, 0);
  EXPECT_EQ(run.all, replay);
}

TEST(KafkaBacklog, EveryDetectorRoundRobinRaisesReplaysAlerts) {
  ExpectBacklogWithEveryDetectorRaisesReplays(/*by_target=*/false, kPartitions);
}

// Each target in order on one partition (one of five stays empty).
TEST(KafkaBacklog, EveryDetectorKeyedByTargetRaisesReplaysAlerts) {
  ExpectBacklogWithEveryDetectorRaisesReplays(/*by_target=*/true, 5);
}

}  // namespace
}  // namespace vigia
