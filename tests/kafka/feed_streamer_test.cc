// FeedStreamer (`vigia drill`, `vigia demo`) against librdkafka's mock
// cluster over TCP: every archive line reaches its topic, keyed by target,
// byte for byte and in order; compressed archives stream the same; pacing
// holds event time back to the chosen speed-up.
#include "pipeline/kafka/feed_streamer.h"

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "pipeline/kafka/mock_cluster.h"
#include "tests/kafka/kafka_test_util.h"

namespace vigia {
namespace {

constexpr int kPartitions = 3;

std::string Post(int i, const std::string& target, int second) {
  return absl::StrCat(
      R"({"id":"p)", i, R"(","platform":"x","created_at":"2026-05-09T10:00:)",
      second < 10 ? "0" : "", second, R"(Z","account":{"id":"a)", i,
      R"(","country":"RU"},"target":")", target, R"("})");
}

std::string Ad(int i) {
  return absl::StrCat(
      R"({"id":"ad)", i,
      R"(","platform":"meta","created_at":"2026-05-09T10:00:30Z",)",
      R"("payer":{"name":"P","country":"RU"},"target":"MD",)",
      R"("spend":{"lower":100,"upper":199,"currency":"EUR"}})");
}

// Writes `lines` to a fresh file and returns its path.
std::string WriteArchive(const std::string& name,
                         const std::vector<std::string>& lines) {
  const std::string path = ::testing::TempDir() + "/" + name;
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  for (const std::string& l : lines) out << l << "\n";
  return path;
}

std::unique_ptr<FeedStreamer> Streamer(const std::string& bootstrap,
                                       double speedup) {
  FeedStreamerOptions o;
  o.brokers = bootstrap;
  o.speedup = speedup;
  return std::make_unique<FeedStreamer>(o);
}

absl::Status Stream(FeedStreamer& streamer, const std::string& path) {
  absl::StatusOr<std::unique_ptr<LineReader>> reader = OpenLineReader(path);
  if (!reader.ok()) return reader.status();
  std::atomic<bool> stop{false};
  return streamer.Run(**reader, stop);
}

TEST(FeedStreamer, EveryLineReachesItsTopicKeyedByTargetInOrder) {
  auto mc = MockCluster::Start(1, kPartitions, DefaultTopics());
  ASSERT_TRUE(mc.ok()) << mc.status();
  std::vector<std::string> lines;
  std::vector<std::string> posts, ads;
  for (int i = 0; i < 30; ++i) {
    posts.push_back(Post(i, i % 3 == 0 ? "RO" : "MD", i));
    lines.push_back(posts.back());
    if (i % 10 == 5) {
      ads.push_back(Ad(i));
      lines.push_back(ads.back());
    }
  }
  // A broken line and a post without a target go to the posts topic
  // unkeyed, for the daemon to dead-letter.
  lines.push_back("not json");
  posts.push_back("not json");
  const std::string untargeted =
      R"({"id":"u","platform":"x","created_at":"2026-05-09T10:00:59Z","account":{"id":"u"}})";
  lines.push_back(untargeted);
  posts.push_back(untargeted);
  const std::string plain = WriteArchive("drill.ndjson", lines);
  std::unique_ptr<FeedStreamer> streamer = Streamer((*mc)->bootstrap(), 0);
  ASSERT_TRUE(Stream(*streamer, plain).ok());
  EXPECT_EQ(streamer->sent(), static_cast<int64_t>(lines.size()));
  EXPECT_EQ(streamer->ads(), 3);
  EXPECT_EQ(streamer->unkeyed(), 2);
  EXPECT_EQ(streamer->span(), absl::Seconds(59));

  auto got_posts =
      testing::ReadTopic((*mc)->bootstrap(), "vigia.posts", kPartitions);
  auto got_ads =
      testing::ReadTopic((*mc)->bootstrap(), "vigia.ads", kPartitions);
  ASSERT_TRUE(got_posts.ok()) << got_posts.status();
  ASSERT_TRUE(got_ads.ok()) << got_ads.status();
  ASSERT_EQ(got_posts->size(), posts.size());
  ASSERT_EQ(got_ads->size(), ads.size());
  // One target, one partition; the key is the target; per partition the
  // archive's order and bytes.
  std::map<std::string, int32_t> partition_of;
  std::map<int32_t, std::vector<std::string>> by_partition;
  for (const testing::TopicRecord& r : *got_posts) {
    if (!r.key.empty()) {
      auto [it, added] = partition_of.emplace(r.key, r.partition);
      EXPECT_EQ(it->second, r.partition) << r.key;
      EXPECT_NE(r.value.find(absl::StrCat("\"target\":\"", r.key, "\"")),
                std::string::npos)
          << r.value;
    }
    by_partition[r.partition].push_back(r.value);
  }
  EXPECT_EQ(partition_of.size(), 2u);
  std::multiset<std::string> sent(posts.begin(), posts.end()), received;
  for (auto& [p, values] : by_partition) {
    std::vector<std::string> expected;
    for (const std::string& v : posts) {
      if (std::find(values.begin(), values.end(), v) != values.end()) {
        expected.push_back(v);
      }
    }
    EXPECT_EQ(values, expected) << "partition " << p;
    received.insert(values.begin(), values.end());
  }
  EXPECT_EQ(received, sent);
  for (const testing::TopicRecord& r : *got_ads) EXPECT_EQ(r.key, "MD");

  // The same archive gzip-compressed streams the same records.
  ASSERT_EQ(std::system(("gzip -kf " + plain).c_str()), 0);
  streamer = Streamer((*mc)->bootstrap(), 0);
  ASSERT_TRUE(Stream(*streamer, plain + ".gz").ok());
  EXPECT_EQ(streamer->sent(), static_cast<int64_t>(lines.size()));
  auto again =
      testing::ReadTopic((*mc)->bootstrap(), "vigia.posts", kPartitions);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->size(), 2 * posts.size());
}

TEST(FeedStreamer, PacingHoldsEventTimeToTheSpeedup) {
  auto mc = MockCluster::Start(1, kPartitions, DefaultTopics());
  ASSERT_TRUE(mc.ok()) << mc.status();
  // 20 s of event time at 10x cannot take less than 2 s of wall time (a
  // lower bound only: a busy machine is slower, never faster).
  const std::string path = WriteArchive(
      "paced.ndjson", {Post(0, "MD", 0), Post(1, "MD", 10), Post(2, "MD", 20)});
  const auto start = std::chrono::steady_clock::now();
  ASSERT_TRUE(Stream(*Streamer((*mc)->bootstrap(), 10), path).ok());
  EXPECT_GE(std::chrono::steady_clock::now() - start,
            std::chrono::milliseconds(2000));
}

}  // namespace
}  // namespace vigia
