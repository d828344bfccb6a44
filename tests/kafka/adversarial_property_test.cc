// Property test: the pipeline over a feed with random mixes of valid,
// broken and adversarial records (clocks far ahead or behind, malformed
// JSON, invalid UTF-8, missing fields). Every record read ends up
// processed, rejected or late, and adding one adversarial record to a
// clean feed never removes an alert the clean feed raises. It runs the
// pipeline in-process on the Kafka tests' synthetic surge feed (no Kafka).
#include <algorithm>
#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "pipeline/core/time.h"
#include "pipeline/pipeline.h"
#include "tests/kafka/kafka_test_util.h"

namespace vigia {
namespace {

using testing::FeedLine;

struct Outcome {
  std::set<std::pair<std::string, std::string>> alerts;  // (id, state)
  int64_t lines = 0;
  int64_t read = 0;
  int64_t processed = 0;
  int64_t rejected = 0;
  int64_t late = 0;
};

class AlertIds final : public AlertSink {
 public:
  explicit AlertIds(Outcome* out) : out_(out) {}
  absl::Status Write(const Alert& a) override {
    out_->alerts.insert({a.id, std::string(AlertStateName(a.state))});
    return absl::OkStatus();
  }

 private:
  Outcome* out_;
};

Outcome RunPipeline(const std::vector<std::string>& lines) {
  Outcome out;
  const Config config = testing::TestConfig();
  AlertIds alerts(&out);
  NullDeadLetterSink dead;
  Pipeline pipeline(config, Pipeline::MakeOperators(config), &alerts, &dead);
  int64_t n = 0;
  for (const std::string& line : lines) {
    RawRecord r;
    r.bytes = line;
    r.capacity = line.size();
    r.source = SourceRef{"feed.ndjson", -1, ++n};
    EXPECT_TRUE(pipeline.Process(r).ok());
  }
  EXPECT_TRUE(pipeline.Finish().ok());
  const PipelineStats& s = pipeline.stats();
  out.lines = n;
  out.read = s.total_read();
  out.processed = s.total_processed();
  out.rejected = s.total_rejected();
  out.late = s.total_late();
  return out;
}

std::string PostAt(absl::Time t, const std::string& origin, int k) {
  return absl::StrCat(R"({"id":"adv-)", k, R"(","platform":"x","created_at":")",
                      FormatRfc3339(t), R"(","account":{"id":"adv-)", k,
                      R"(","country":")", origin, R"("},"target":"MD"})");
}

// One record an adversary or a broken producer might send, of a kind
// chosen by `kind`, dated relative to `now` (the feed's time where it is
// inserted).
std::string Adversarial(int kind, absl::Time now, int k) {
  switch (kind) {
    case 0:  // a clock in year 9999
      return absl::StrCat(
          R"({"id":"adv-)", k,
          R"(","platform":"x","created_at":"9999-12-31T23:59:59Z","account":{"id":"a","country":"RU"},"target":"MD"})");
    case 1:  // a clock a year fast
      return PostAt(now + absl::Hours(24 * 365), "RU", k);
    case 2:  // a clock half an hour fast (within the bound), domestic
      return PostAt(now + absl::Minutes(30), "MD", k);
    case 3:  // a clock years behind
      return PostAt(now - absl::Hours(24 * 365 * 5), "RU", k);
    case 4:
      return "this is not json";
    case 5:
      return std::string("{\"id\":\"\xff\xfe\"}");
    default:  // no account
      return absl::StrCat(R"({"id":"adv-)", k,
                          R"(","platform":"x","created_at":")",
                          FormatRfc3339(now), R"(","target":"MD"})");
  }
}
constexpr int kKinds = 7;

std::vector<std::string> Clean(const std::vector<FeedLine>& feed) {
  std::vector<std::string> lines;
  lines.reserve(feed.size());
  for (const FeedLine& f : feed) lines.push_back(f.json);
  return lines;
}

TEST(AdversarialProperty, OneAdversarialRecordNeverRemovesAnAlert) {
  const std::vector<FeedLine> feed = testing::SurgeFeed();
  const Outcome clean = RunPipeline(Clean(feed));
  ASSERT_FALSE(clean.alerts.empty()) << "the clean feed must raise alerts";
  for (uint64_t seed = 1; seed <= 7; ++seed) {
    std::mt19937_64 rng(seed);
    const int kind = static_cast<int>(seed - 1) % kKinds;
    const size_t at =
        std::uniform_int_distribution<size_t>(1, feed.size() - 1)(rng);
    SCOPED_TRACE(
        absl::StrCat("seed ", seed, ", kind ", kind, ", at line ", at + 1));
    std::vector<std::string> lines = Clean(feed);
    lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(at),
                 Adversarial(kind, feed[at].time, 0));
    const Outcome o = RunPipeline(lines);
    EXPECT_EQ(o.read, o.lines);
    EXPECT_EQ(o.read, o.processed + o.rejected + o.late);
    for (const auto& a : clean.alerts) {
      EXPECT_TRUE(o.alerts.contains(a)) << a.first << " " << a.second;
    }
  }
}

TEST(AdversarialProperty, EveryRecordOfARandomMixIsProcessedRejectedOrLate) {
  const std::vector<FeedLine> feed = testing::SurgeFeed();
  for (uint64_t seed = 1; seed <= 5; ++seed) {
    SCOPED_TRACE(absl::StrCat("seed ", seed));
    std::mt19937_64 rng(seed);
    std::vector<std::string> lines = Clean(feed);
    const int n = std::uniform_int_distribution<int>(1, 200)(rng);
    for (int k = 0; k < n; ++k) {
      const size_t at =
          std::uniform_int_distribution<size_t>(1, feed.size() - 1)(rng);
      const int kind = std::uniform_int_distribution<int>(0, kKinds - 1)(rng);
      lines.insert(lines.begin() + static_cast<std::ptrdiff_t>(at),
                   Adversarial(kind, feed[at].time, k));
    }
    const Outcome o = RunPipeline(lines);
    EXPECT_EQ(o.read, static_cast<int64_t>(lines.size()));
    EXPECT_EQ(o.read, o.processed + o.rejected + o.late);
    EXPECT_GE(o.rejected, 1);
  }
}

}  // namespace
}  // namespace vigia
