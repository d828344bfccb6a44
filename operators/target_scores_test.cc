#include "operators/target_scores.h"

#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "operators/foreign_origin_surge.h"
#include "operators/testing/operator_test_util.h"

namespace vigia {
namespace {

const absl::Time kT0 = absl::FromUnixSeconds(1'800'000'000);

TEST(TargetScores, KeepsTheMaximumOfTheLatestHopPerTarget) {
  TargetScores scores;
  scores.Record(kMD, kT0, 1.5);
  scores.Record(kMD, kT0, 4.0);
  scores.Record(kMD, kT0, 2.0);
  scores.Record(kRO, kT0, -0.5);
  std::vector<TargetScore> s = scores.Snapshot();
  ASSERT_EQ(s.size(), 2u);
  EXPECT_EQ(s[0].target, kMD);
  EXPECT_EQ(s[0].score, 4.0);
  EXPECT_EQ(s[1].target, kRO);
  EXPECT_EQ(s[1].score, -0.5);

  // A newer hop replaces the value, even with a lower score; an older hop
  // arriving late changes nothing.
  scores.Record(kMD, kT0 + absl::Minutes(1), 0.25);
  scores.Record(kMD, kT0, 9.0);
  s = scores.Snapshot();
  EXPECT_EQ(s[0].score, 0.25);
}

TEST(TargetScores, IgnoresUnknownTargetsAndNonFiniteScores) {
  TargetScores scores;
  scores.Record(CountryCode(), kT0, 3.0);
  scores.Record(kMD, kT0, std::numeric_limits<double>::quiet_NaN());
  scores.Record(kMD, kT0, std::numeric_limits<double>::infinity());
  EXPECT_TRUE(scores.Snapshot().empty());
}

// A detector's LatestScores() follows its evaluations: a surge aimed at one
// target shows as that target's score, above a target with steady traffic.
TEST(TargetScores, ForeignOriginSurgeReportsEachTargetsLatestMaximumScore) {
  std::unique_ptr<Operator> op =
      MakeForeignOriginSurge(ForeignOriginSurgeOptions{}, OperatorContext{});
  EXPECT_TRUE(op->LatestScores().empty());
  AlertCollector out;
  int64_t n = 0;
  const auto send = [&](CountryCode target, absl::Time t) {
    const std::string id = absl::StrCat("e", ++n);
    const std::string account = absl::StrCat("a", n % 50);
    Event e;
    e.id = id;
    e.created_at = t;
    e.target = target;
    e.account_id = account;
    e.account_country = kRU;
    EventFacts facts;
    facts.Reset(e);
    op->Observe(e, facts, out);
  };
  absl::Time now = kT0;
  const auto minute = [&](int md, int ro) {
    for (int i = 0; i < md; ++i) send(kMD, now + absl::Seconds(i * 60.0 / md));
    for (int i = 0; i < ro; ++i) send(kRO, now + absl::Seconds(i * 60.0 / ro));
    now += absl::Minutes(1);
    op->AdvanceWatermark(now, out);
  };
  for (int m = 0; m < 6 * 60; ++m) minute(3, 3);
  const std::vector<TargetScore> steady = op->LatestScores();
  ASSERT_EQ(steady.size(), 2u);
  for (int m = 0; m < 20; ++m) minute(60, 3);
  const std::vector<TargetScore> surge = op->LatestScores();
  ASSERT_EQ(surge.size(), 2u);
  ASSERT_EQ(surge[0].target, kMD);
  ASSERT_EQ(surge[1].target, kRO);
  EXPECT_GT(surge[0].score, steady[0].score + 5) << steady[0].score;
  EXPECT_GT(surge[0].score, surge[1].score + 5) << surge[1].score;
}

}  // namespace
}  // namespace vigia
