#include "pipeline/kafka/kafka_probe.h"

#include <optional>
#include <sstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/metrics/metrics_server.h"

namespace vigia {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A consumer statistics document trimmed from librdkafka's format
// (STATISTICS.md): two brokers by id plus a bootstrap entry and the group
// coordinator's second entry for broker 1, one topic with an assigned
// partition being fetched, an unassigned one, two assigned ones that cannot
// be fetched (leader down; offset still being looked up) and the internal
// -1 partition.
constexpr char kConsumerStats[] = R"json({
  "name": "vigia-consumer#consumer-1", "client_id": "vigia-consumer",
  "type": "consumer", "ts": 1, "time": 2, "msg_cnt": 0,
  "brokers": {
    "127.0.0.1:9092/bootstrap": {"name": "127.0.0.1:9092/bootstrap",
                                  "nodeid": -1, "state": "UP"},
    "127.0.0.1:9092/1": {"name": "127.0.0.1:9092/1", "nodeid": 1,
                          "state": "UP"},
    "127.0.0.1:9093/2": {"name": "127.0.0.1:9093/2", "nodeid": 2,
                          "state": "DOWN"},
    "GroupCoordinator": {"name": "GroupCoordinator", "nodeid": 1,
                         "state": "UP"}
  },
  "topics": {
    "vigia.posts": {"topic": "vigia.posts", "partitions": {
      "0": {"partition": 0, "consumer_lag": 42, "hi_offset": 100,
            "lo_offset": 30, "next_offset": 100,
            "desired": true, "leader": 1, "fetch_state": "active"},
      "1": {"partition": 1, "consumer_lag": -1, "hi_offset": 7,
            "lo_offset": 0, "next_offset": -1001,
            "desired": false, "leader": 2, "fetch_state": "none"},
      "2": {"partition": 2, "consumer_lag": -1, "desired": true,
            "leader": 2, "fetch_state": "active"},
      "3": {"partition": 3, "consumer_lag": -1, "desired": true,
            "leader": 1, "fetch_state": "offset-query"},
      "-1": {"partition": -1, "consumer_lag": -1}
    }}
  },
  "cgrp": {"state": "up", "rebalance_cnt": 3, "assignment_size": 1}
})json";

constexpr char kProducerStats[] = R"json({
  "name": "vigia-producer#producer-1", "type": "producer", "msg_cnt": 17,
  "brokers": {"b/1": {"nodeid": 1, "state": "UP"}}, "topics": {}
})json";

std::optional<double> Value(const std::string& text,
                            const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series + " ", 0) == 0)
      return std::stod(line.substr(series.size() + 1));
  }
  return std::nullopt;
}

TEST(ParseKafkaStats, ReadsBrokersLagsAndGroupState) {
  auto stats = ParseKafkaStats(kConsumerStats);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->type, "consumer");
  EXPECT_EQ(stats->brokers, 2);
  EXPECT_EQ(stats->brokers_up, 1);
  ASSERT_EQ(stats->lags.size(), 1u);
  EXPECT_EQ(stats->lags[0].topic, "vigia.posts");
  EXPECT_EQ(stats->lags[0].partition, 0);
  EXPECT_EQ(stats->lags[0].lag, 42);
  // Where the fetcher stands, for partitions where it is known (a logical
  // offset such as -1001 is not).
  ASSERT_EQ(stats->positions.size(), 1u);
  EXPECT_EQ(stats->positions[0].topic, "vigia.posts");
  EXPECT_EQ(stats->positions[0].partition, 0);
  EXPECT_EQ(stats->positions[0].log_start, 30);
  EXPECT_EQ(stats->positions[0].next_fetch, 100);
  using Stalled = std::pair<std::string, int32_t>;
  EXPECT_THAT(stats->stalled,
              ::testing::ElementsAre(Stalled{"vigia.posts", 2},
                                     Stalled{"vigia.posts", 3}));
  EXPECT_EQ(stats->rebalances, 3);
  EXPECT_EQ(stats->assigned, 1);
}

TEST(ParseKafkaStats, AProducerHasQueueDepthAndNoGroup) {
  auto stats = ParseKafkaStats(kProducerStats);
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_EQ(stats->type, "producer");
  EXPECT_EQ(stats->queued_messages, 17);
  EXPECT_EQ(stats->rebalances, -1);
  EXPECT_TRUE(stats->lags.empty());
}

TEST(ParseKafkaStats, RejectsTextThatIsNotJsonAndJsonWithoutAType) {
  EXPECT_EQ(ParseKafkaStats("{\"brokers\":").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseKafkaStats("{\"brokers\":{}}").status(),
            absl::InvalidArgumentError("kafka statistics have no \"type\""));
}

TEST(KafkaProbe, ExportsLagBrokersRebalancesAndQueueDepth) {
  auto registry = NewMetricsRegistry();
  KafkaProbe probe(*registry);
  probe.OnStats(*ParseKafkaStats(kConsumerStats));
  probe.OnStats(*ParseKafkaStats(kProducerStats));
  const std::string text = SerializeMetrics(*registry);
  EXPECT_EQ(Value(text,
                  "vigia_kafka_consumer_lag_messages{partition=\"0\",topic="
                  "\"vigia.posts\"}"),
            42);
  EXPECT_EQ(Value(text, "vigia_kafka_brokers_up{client=\"consumer\"}"), 1);
  EXPECT_EQ(Value(text, "vigia_kafka_brokers_up{client=\"producer\"}"), 1);
  EXPECT_EQ(Value(text, "vigia_kafka_rebalances_total"), 3);
  EXPECT_EQ(Value(text, "vigia_kafka_assigned_partitions"), 1);
  EXPECT_EQ(Value(text, "vigia_kafka_producer_queue_messages"), 17);
}

TEST(KafkaProbe, RebalancesCountOnlyTheIncreaseBetweenDocuments) {
  auto registry = NewMetricsRegistry();
  KafkaProbe probe(*registry);
  KafkaClientStats s;
  s.type = "consumer";
  s.rebalances = 2;
  probe.OnStats(s);
  probe.OnStats(s);
  s.rebalances = 5;
  probe.OnStats(s);
  EXPECT_EQ(Value(SerializeMetrics(*registry), "vigia_kafka_rebalances_total"),
            5);
}

TEST(KafkaProbe, ARevokedPartitionLosesItsLagSeries) {
  auto registry = NewMetricsRegistry();
  KafkaProbe probe(*registry);
  probe.OnStats(*ParseKafkaStats(kConsumerStats));
  KafkaClientStats after;
  after.type = "consumer";
  after.lags.push_back({"vigia.posts", 1, 5});
  probe.OnStats(after);
  const std::string text = SerializeMetrics(*registry);
  EXPECT_THAT(text, Not(HasSubstr("partition=\"0\"")));
  EXPECT_EQ(Value(text,
                  "vigia_kafka_consumer_lag_messages{partition=\"1\",topic="
                  "\"vigia.posts\"}"),
            5);
}

TEST(KafkaProbe, DeliveryCommitAndClientErrorsAreCounted) {
  auto registry = NewMetricsRegistry();
  KafkaProbe probe(*registry);
  std::string text = SerializeMetrics(*registry);
  EXPECT_EQ(Value(text, "vigia_kafka_delivery_errors_total{output=\"alerts\"}"),
            0);
  EXPECT_EQ(Value(text, "vigia_kafka_commits_total{result=\"error\"}"), 0);
  probe.OnDeliveryError("alerts");
  probe.OnDeliveryError("alerts");
  probe.OnDeliveryError("dead_letters");
  probe.OnCommit(true);
  probe.OnCommit(false);
  probe.OnClientError("consumer", "_ALL_BROKERS_DOWN");
  probe.SetUnacknowledged(12);
  probe.SetPaused(true);
  text = SerializeMetrics(*registry);
  EXPECT_EQ(Value(text, "vigia_kafka_delivery_errors_total{output=\"alerts\"}"),
            2);
  EXPECT_EQ(
      Value(text, "vigia_kafka_delivery_errors_total{output=\"dead_letters\"}"),
      1);
  EXPECT_EQ(Value(text, "vigia_kafka_commits_total{result=\"ok\"}"), 1);
  EXPECT_EQ(Value(text, "vigia_kafka_commits_total{result=\"error\"}"), 1);
  EXPECT_EQ(Value(text,
                  "vigia_kafka_client_errors_total{client=\"consumer\",error="
                  "\"_ALL_BROKERS_DOWN\"}"),
            1);
  EXPECT_EQ(Value(text, "vigia_kafka_unacknowledged_messages"), 12);
  EXPECT_EQ(Value(text, "vigia_kafka_consumer_paused"), 1);
}

}  // namespace
}  // namespace vigia
