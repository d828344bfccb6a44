#include "pipeline/kafka/mock_cluster.h"

#include <atomic>
#include <sstream>
#include <string>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/kafka/kafka_test_util.h"

namespace vigia {
namespace {

TEST(MockCluster, CreatesTheDefaultTopicsReachableOverTcp) {
  auto mc = MockCluster::Start(2, 3, DefaultTopics());
  ASSERT_TRUE(mc.ok()) << mc.status();
  EXPECT_THAT(
      (*mc)->bootstrap(),
      ::testing::MatchesRegex("127\\.0\\.0\\.1:[0-9]+,127\\.0\\.0\\.1:[0-9]+"));
  for (const std::string& topic : DefaultTopics()) {
    ASSERT_TRUE(
        testing::ProduceRaw((*mc)->bootstrap(), topic, 2, {"hello"}).ok())
        << topic;
    auto records = testing::ReadTopic((*mc)->bootstrap(), topic, 3);
    ASSERT_TRUE(records.ok()) << records.status();
    ASSERT_EQ(records->size(), 1u) << topic;
    EXPECT_EQ((*records)[0].partition, 2);
    EXPECT_EQ((*records)[0].value, "hello");
  }
}

TEST(MockCluster, RefusesAClusterWithoutBrokers) {
  auto mc = MockCluster::Start(0, 1, {});
  EXPECT_EQ(mc.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(RunMockKafka, PrintsTheBootstrapAddressAsItsFirstLineAndStopsWhenAsked) {
  std::atomic<bool> stop{false};
  std::ostringstream out;
  absl::Status status;
  std::thread t([&] { status = RunMockKafka(1, 2, stop, out); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  stop.store(true);
  t.join();
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_THAT(out.str(), ::testing::MatchesRegex("127\\.0\\.0\\.1:[0-9]+\n"));
}

}  // namespace
}  // namespace vigia
