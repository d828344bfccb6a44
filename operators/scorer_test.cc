#include "operators/scorer.h"

#include <cmath>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <numbers>
#include <random>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vigia {
namespace {

constexpr int kWindowHops = 10;
const absl::Duration kHop = absl::Minutes(1);
constexpr int kHopsPerDay = 24 * 60;
constexpr int kInfo = 0;
constexpr int kWarning = 1;

// A key fed one count per one-minute hop and judged on a ten-minute window,
// as a detector does, with a seeded Poisson source.
class Simulation {
 public:
  explicit Simulation(uint64_t seed, ScoringOptions options = ScoringOptions())
      : scorer_(options, kHop), rng_(seed) {
    // Any fixed start will do; a Monday at midnight UTC reads well in logs.
    t_ = absl::FromUnixSeconds(1'700'438'400);
  }

  // Advances one hop with `count` events and returns the window's verdict.
  Assessment Step(int64_t count) {
    t_ += kHop;
    window_.push_back(count);
    sum_ += count;
    if (window_.size() > kWindowHops) {
      sum_ -= window_.front();
      window_.pop_front();
    }
    last_ = scorer_.Assess(state_, t_, kWindowHops, static_cast<double>(sum_));
    scorer_.Learn(state_, t_, static_cast<double>(count), last_);
    return last_;
  }

  // Runs `hops` hops of Poisson counts with mean rate(hop start) per hop and
  // returns the highest rung reached (-1 for none).
  int Run(int hops, const std::function<double(absl::Time)>& rate) {
    int highest = -1;
    for (int i = 0; i < hops; ++i) {
      std::poisson_distribution<int64_t> d(std::max(rate(t_), 1e-9));
      highest = std::max(highest, Step(d(rng_)).level);
    }
    return highest;
  }

  // The expectation of the next window.
  double NextExpected() const {
    return scorer_.Expected(state_, t_ + kHop, kWindowHops);
  }
  absl::Time now() const { return t_; }
  const BaselineState& state() const { return state_; }
  const Scorer& scorer() const { return scorer_; }

 private:
  Scorer scorer_;
  BaselineState state_;
  std::mt19937_64 rng_;
  absl::Time t_;
  std::deque<int64_t> window_;
  int64_t sum_ = 0;
  Assessment last_;
};

std::function<double(absl::Time)> Constant(double per_hop) {
  return [per_hop](absl::Time) { return per_hop; };
}

// A daily cycle with the evening peak `peak_to_trough` times the night
// trough, around a mean of `mean` per hop (peak at 19:00 UTC).
std::function<double(absl::Time)> Daily(double mean, double peak_to_trough) {
  const double a = (peak_to_trough - 1) / (peak_to_trough + 1);
  return [=](absl::Time t) {
    const double hours = absl::ToDoubleHours(t - absl::UnixEpoch());
    return mean *
           (1 + a * std::cos(2 * std::numbers::pi * (hours - 19.0) / 24.0));
  };
}

TEST(Scorer, StaysQuietDuringWarmup) {
  const uint64_t seed = 101;
  SCOPED_TRACE(testing::Message() << "seed " << seed);
  Simulation sim(seed);
  // Half an hour quiet, then a tenfold surge still inside the first hour.
  EXPECT_EQ(sim.Run(30, Constant(2)), -1);
  for (int i = 0; i < 29; ++i) {
    const Assessment a = sim.Step(40);
    EXPECT_FALSE(a.warm);
    EXPECT_EQ(a.level, -1);
  }
  // The same key past warm-up, once the surge has faded from its baseline,
  // does fire on a fresh one: the silence above was the warm-up.
  EXPECT_EQ(sim.Run(2 * kHopsPerDay, Constant(2)), -1);
  int highest = -1;
  for (int i = 0; i < 10; ++i) highest = std::max(highest, sim.Step(40).level);
  EXPECT_GE(highest, kWarning);
}

TEST(Scorer, ZerosThenASingleEventDoNotScoreHigh) {
  Simulation sim(1);
  for (int i = 0; i < 6 * 60; ++i) sim.Step(0);
  const Assessment a = sim.Step(1);
  EXPECT_TRUE(a.warm);
  EXPECT_LT(a.score, 1.5);
  EXPECT_EQ(a.level, -1);
  // Two more events in the same window are still nothing to page about.
  EXPECT_EQ(sim.Step(2).level, -1);
}

TEST(Scorer, SteadyPoissonStreamNeverReachesWarning) {
  const uint64_t seed = 20261103;
  SCOPED_TRACE(testing::Message() << "seed " << seed);
  for (double rate : {0.3, 5.0, 60.0}) {
    Simulation sim(seed);
    EXPECT_LT(sim.Run(21 * kHopsPerDay, Constant(rate)), kWarning)
        << "rate " << rate;
  }
}

TEST(Scorer, LearnsADailyCycleAndStopsAlertingAfterTheFirstDays) {
  const uint64_t seed = 7;
  SCOPED_TRACE(testing::Message() << "seed " << seed);
  Simulation sim(seed);
  const auto rate = Daily(10, 5);
  sim.Run(3 * kHopsPerDay, rate);
  EXPECT_LT(sim.Run(10 * kHopsPerDay, rate), kWarning);
  // The profile was learned: the evening expectation is several times the
  // night's, and the windows vary no more than Poisson counts around it.
  // (Without the profile the level chases the cycle and the overdispersion
  // absorbs the misfit, which makes the key deaf instead.)
  const BaselineState& s = sim.state();
  EXPECT_GT(s.hour_factor[19] / s.hour_factor[7], 3.0);
  EXPECT_LT(s.dispersion, 1.5);
  const absl::Time midnight = absl::FromUnixSeconds(
      absl::ToUnixSeconds(sim.now()) / 86400 * 86400 + 86400);
  const Scorer& scorer = sim.scorer();
  EXPECT_NEAR(scorer.Expected(s, midnight + absl::Hours(19), kWindowHops),
              10 * rate(midnight + absl::Hours(19)), 0.15 * 10 * 16.7);
  EXPECT_NEAR(scorer.Expected(s, midnight + absl::Hours(7), kWindowHops),
              10 * rate(midnight + absl::Hours(7)), 0.15 * 10 * 3.3);
}

TEST(Scorer, FollowsSlowDriftWithoutAlerting) {
  const uint64_t seed = 11;
  SCOPED_TRACE(testing::Message() << "seed " << seed);
  Simulation sim(seed);
  const absl::Time start = sim.now();
  const auto daily = Daily(8, 3);
  // +50% spread evenly over five days, on top of a daily cycle.
  const auto drifting = [&](absl::Time t) {
    const double days = absl::ToDoubleHours(t - start) / 24;
    return daily(t) * (1 + 0.5 * std::min(days, 5.0) / 5.0);
  };
  sim.Run(2 * 60, drifting);
  EXPECT_LT(sim.Run(8 * kHopsPerDay, drifting), kWarning);
  // The level (the daily mean per hop) followed the drift from 8 to 12.
  EXPECT_NEAR(sim.state().level, 12, 1.8);
}

TEST(Scorer, KeepsAnOrganicOneAndAHalfTimesRiseBelowWarning) {
  const uint64_t seed = 13;
  SCOPED_TRACE(testing::Message() << "seed " << seed);
  for (double mean : {3.0, 20.0}) {
    Simulation sim(seed);
    const auto daily = Daily(mean, 3);
    sim.Run(5 * kHopsPerDay, daily);
    const auto risen = [&](absl::Time t) { return 1.5 * daily(t); };
    EXPECT_LT(sim.Run(3 * 60, risen), kWarning) << "mean " << mean;
  }
}

TEST(Scorer, FlagsAFivefoldPushAtWarningOrAbove) {
  const uint64_t seed = 17;
  SCOPED_TRACE(testing::Message() << "seed " << seed);
  for (double mean : {3.0, 20.0}) {
    Simulation sim(seed);
    const auto daily = Daily(mean, 3);
    sim.Run(5 * kHopsPerDay, daily);
    const auto pushed = [&](absl::Time t) { return 5 * daily(t); };
    EXPECT_GE(sim.Run(30, pushed), kWarning) << "mean " << mean;
  }
}

TEST(Scorer, RecoversAfterASurgeAndCatchesTheNextOne) {
  const uint64_t seed = 19;
  SCOPED_TRACE(testing::Message() << "seed " << seed);
  Simulation sim(seed);
  const auto base = Constant(6);
  sim.Run(3 * kHopsPerDay, base);
  const BaselineState before = sim.state();
  const auto surge = Constant(36);
  EXPECT_GE(sim.Run(30, surge), kWarning);

  // Within two windows of the surge ending the score is back below info;
  // the key keeps the lowest rung only by the hold.
  sim.Run(2 * kWindowHops, base);
  const Assessment after = sim.Step(6);
  EXPECT_LT(after.score, 3.0);
  EXPECT_EQ(after.level, 0);
  EXPECT_TRUE(after.held);
  // The baseline barely moved: half an hour at six times the level, learned
  // as is, would have raised it by half; clipped, it moves a few percent.
  const absl::Time next = sim.now() + kHop;
  const Scorer& scorer = sim.scorer();
  EXPECT_NEAR(scorer.Expected(sim.state(), next, kWindowHops) /
                  scorer.Expected(before, next, kWindowHops),
              1.0, 0.15);

  // Once the hold has passed the key is quiet, and an identical surge is
  // caught again, as a new episode: the first one did not teach the fitted
  // tail that surges are routine. It is a rung lower: the empirical check
  // counts the first surge, so on this key a surge of that height is now a
  // once-in-days event, no longer once a week. A higher one pages again.
  sim.Run(60, base);
  EXPECT_EQ(sim.Run(30, base), -1);
  EXPECT_EQ(sim.Run(30, surge), kInfo);
  sim.Run(90, base);
  EXPECT_GE(sim.Run(30, Constant(72)), kWarning);
}

TEST(Scorer, NeedsSignificanceEffectSizeAndVolumeTogether) {
  ScoringOptions options;
  // The gates on a Poisson history; the young-key prior has its own test.
  options.dispersion_prior = absl::ZeroDuration();
  const Scorer scorer(options, kHop);
  BaselineState s;
  const absl::Time t0 = absl::FromUnixSeconds(1'700'000'000);
  // A long, flat history at `per_hop` per hop.
  auto history = [&](double per_hop) {
    BaselineState st;
    for (int i = 1; i <= 3 * 60; ++i) {
      scorer.Learn(st, t0 + i * kHop, per_hop, Assessment{});
    }
    return st;
  };
  const absl::Time end = t0 + 181 * kHop;

  // A big key rising 1.3x: very significant, too small an effect.
  s = history(100);
  Assessment a = scorer.Assess(s, end, kWindowHops, 1300);
  EXPECT_GT(a.score, 8);
  EXPECT_LT(a.ratio, 1.5);
  EXPECT_EQ(a.level, -1);
  EXPECT_DOUBLE_EQ(a.threshold, 3.0);  // the lowest rung's

  // A tiny key: a large ratio, but only 9 events (info needs 10).
  s = history(0.05);
  a = scorer.Assess(s, end, kWindowHops, 9);
  EXPECT_GT(a.ratio, 5);
  EXPECT_GT(a.score, 3);
  EXPECT_EQ(a.level, -1);
  // One more event and all three hold for info.
  a = scorer.Assess(s, end, kWindowHops, 10);
  EXPECT_EQ(a.level, kInfo);
  EXPECT_DOUBLE_EQ(a.threshold, 3.0);

  // A steady key going fivefold reaches the top rung, with its threshold.
  s = history(10);
  a = scorer.Assess(s, end, kWindowHops, 600);
  EXPECT_EQ(a.level, 2);
  EXPECT_DOUBLE_EQ(a.threshold, 8.0);
  EXPECT_NEAR(a.expected, 100, 1e-3);
  EXPECT_NEAR(a.ratio, 601.0 / 101.0, 1e-6);
}

TEST(Scorer, ExplainsTheExpectationWithNumbersThatRecomputeIt) {
  const Scorer scorer(ScoringOptions(), kHop);
  BaselineState s;
  const absl::Time t0 = absl::FromUnixSeconds(1'700'000'000);
  for (int i = 1; i <= 120; ++i) {
    scorer.Learn(s, t0 + i * kHop, i % 2 == 0 ? 4 : 6, Assessment{});
  }
  const absl::Time end = t0 + 121 * kHop;
  const auto named = scorer.Explain(s, end, kWindowHops);
  std::map<std::string, double> v(named.begin(), named.end());
  ASSERT_EQ(v.size(), named.size());
  EXPECT_NEAR(v["level_per_hop"] * v["time_of_day_factor"] * v["window_hops"],
              v["expected"], 1e-6);
  EXPECT_NEAR(v["expected"], scorer.Expected(s, end, kWindowHops), 1e-9);
  EXPECT_EQ(v["window_hops"], 10);
  EXPECT_NEAR(v["history_hours"], 121.0 / 60, 1e-9);
  EXPECT_GE(v["overdispersion"], 1.0);
  EXPECT_EQ(v["min_expected"], 1.0);
}

TEST(Scorer, PredictsOnlyTheStepsWithinHistory) {
  const Scorer scorer(ScoringOptions(), kHop);
  BaselineState s;
  const absl::Time t0 = absl::FromUnixSeconds(1'700'000'000);
  EXPECT_EQ(scorer.Expected(s, t0, kWindowHops), 0);
  scorer.Learn(s, t0 + kHop, 5, Assessment{});
  scorer.Learn(s, t0 + 2 * kHop, 5, Assessment{});
  // Three steps of history at the next window's end: three predicted.
  EXPECT_NEAR(scorer.Expected(s, t0 + 3 * kHop, kWindowHops), 15, 1e-4);
  EXPECT_EQ(scorer.History(s, t0 + 3 * kHop), absl::Minutes(3));
}

TEST(Scorer, IgnoresStepsAtOrBeforeTheLastOneLearned) {
  const Scorer scorer(ScoringOptions(), kHop);
  BaselineState s;
  const absl::Time t0 = absl::FromUnixSeconds(1'700'000'000);
  scorer.Learn(s, t0 + kHop, 5, Assessment{});
  scorer.Learn(s, t0 + 2 * kHop, 5, Assessment{});
  const BaselineState before = s;
  scorer.Learn(s, t0 + 2 * kHop, 500, Assessment{});
  scorer.Learn(s, t0 + kHop, 500, Assessment{});
  EXPECT_EQ(s.level, before.level);
  EXPECT_EQ(s.last_us, before.last_us);
}

// 184 bytes: the calibrated tail and the hold took 20 bytes past 120, the
// empirical check 40 more; a key of a counting detector holds one or two
// states.
TEST(Scorer, StateStaysCompact) { EXPECT_LE(sizeof(BaselineState), 184u); }

TEST(Scorer, AYoungCountKeyIsScoredAsBurstyAsRealCounts) {
  // A foreign pair a few hours old, at 4.5 posts per window, sees 30: a
  // cascade that a Poisson key would never produce, but real counts of that
  // size do now and then. Until the key has shown its own burstiness, the
  // prior (1 + 0.5 sqrt(4.5) = 2.06, worth 12 hours) keeps it from paging at
  // warning; once a few days of calm have outweighed the prior, the same
  // window warns.
  auto key = [](absl::Duration prior, absl::Duration history) {
    ScoringOptions options;
    options.dispersion_prior = prior;
    const Scorer scorer(options, kHop);
    BaselineState st;
    const absl::Time t0 = absl::FromUnixSeconds(1'700'000'000);
    const int hops = static_cast<int>(history / kHop);
    for (int i = 1; i <= hops; ++i) {
      scorer.Learn(st, t0 + i * kHop, 0.45, Assessment{});
    }
    return scorer.Assess(st, t0 + (hops + 1) * kHop, kWindowHops, 30);
  };
  const Assessment young = key(absl::Hours(12), absl::Hours(4));
  const Assessment poisson = key(absl::ZeroDuration(), absl::Hours(4));
  const Assessment settled = key(absl::Hours(12), absl::Hours(72));
  EXPECT_NEAR(poisson.expected, 4.5, 1e-3);
  EXPECT_NEAR(poisson.dispersion, 1, 1e-9);
  EXPECT_NEAR(young.dispersion, 0.25 * 1 + 0.75 * (1 + 0.5 * std::sqrt(4.5)),
              1e-3);
  EXPECT_GE(poisson.level, kWarning);
  EXPECT_EQ(young.level, kInfo);
  EXPECT_GE(settled.level, kWarning);
  EXPECT_LT(settled.dispersion, young.dispersion);
  // The prior delays a page, not the baseline's protection: the window is
  // kept out of the baseline either way.
  EXPECT_TRUE(young.anomalous);
  EXPECT_TRUE(poisson.anomalous);
}

TEST(Scorer, AssessAgainstACallersExpectationUsesTheStatesDispersion) {
  ScoringOptions options;
  options.dispersion_prior = absl::ZeroDuration();
  Simulation sim(17, options);
  sim.Run(6 * 60, Constant(4));
  const Scorer& scorer = sim.scorer();
  const BaselineState& state = sim.state();
  const absl::Time end = sim.now() + kHop;
  // With the state's own expectation it is Assess().
  const double own = scorer.Expected(state, end, kWindowHops);
  const Assessment a = scorer.Assess(state, end, kWindowHops, 90);
  const Assessment b = scorer.AssessAgainst(state, end, own, 90);
  EXPECT_EQ(a.score, b.score);
  EXPECT_EQ(a.ratio, b.ratio);
  EXPECT_EQ(a.level, b.level);
  // Against another expectation: that one is the reference, and the same
  // overdispersion scales the score.
  const Assessment c = scorer.AssessAgainst(state, end, 80, 90);
  EXPECT_EQ(c.expected, 80);
  EXPECT_DOUBLE_EQ(c.ratio, 91.0 / 81.0);
  EXPECT_NEAR(c.score * std::sqrt(std::max<double>(state.dispersion, 1)),
              2 * (std::sqrt(90.375) - std::sqrt(80.375)), 1e-9);
  EXPECT_EQ(c.level, -1);  // significant perhaps, but not 1.5x
  EXPECT_TRUE(c.warm);
}

TEST(Scorer, JudgeAppliesTheLadderToAnyExpectation) {
  const Scorer scorer(ScoringOptions(), kHop);
  // Over 5x a 40-event expectation with 210 events: critical.
  const Assessment hot = scorer.Judge(40, 210, 1.0, /*warm=*/true);
  EXPECT_EQ(hot.level, 2);
  EXPECT_EQ(hot.threshold, 8);
  EXPECT_DOUBLE_EQ(hot.score, 2 * (std::sqrt(210.375) - std::sqrt(40.375)));
  // The same, not warm: no rung; with a nine-fold dispersion: warning.
  EXPECT_EQ(scorer.Judge(40, 210, 1.0, false).level, -1);
  EXPECT_EQ(scorer.Judge(40, 210, 9.0, true).level, 1);
  // Counts never get a dispersion below 1.
  EXPECT_EQ(scorer.Judge(40, 210, 0.01, true).score, hot.score);
}

TEST(Scorer, AssessShareScoresAPartOfAWholeAsABinomialCount) {
  // A ladder on shares, as foreign_share's: a ratio of shares is bounded.
  ScoringOptions options;
  options.levels = {{Severity::kInfo, 3.0, 1.3, 10},
                    {Severity::kWarning, 5.0, 1.6, 20},
                    {Severity::kCritical, 8.0, 2.0, 40}};
  // Poisson against binomial on equal terms: a share has no young-key
  // prior, so the counts here get none either.
  options.dispersion_prior = absl::ZeroDuration();
  const Scorer scorer(options, kHop);
  BaselineState state;
  const absl::Time t0 = absl::FromUnixSeconds(1'700'000'000);
  scorer.Learn(state, t0 + kHop, 4, Assessment{});
  const absl::Time end = t0 + absl::Hours(2);
  // 68 foreign posts among 180 where 19% are usual: Anscombe's arcsine
  // transform of a binomial count, with the Poisson score's offset.
  const Assessment a = scorer.AssessShare(state, end, 180, 0.19, 68);
  EXPECT_DOUBLE_EQ(a.expected, 180 * 0.19);
  EXPECT_EQ(a.trials, 180);
  EXPECT_DOUBLE_EQ(a.ratio, 69 / (180 * 0.19 + 1));
  const double n = 180.75;
  EXPECT_NEAR(a.score,
              2 * std::sqrt(n) *
                  (std::asin(std::sqrt(68.375 / n)) -
                   std::asin(std::sqrt((180 * 0.19 + 0.375) / n))),
              1e-9);
  // The Poisson score of the same counts overstates the variance by
  // 1 / (1 - share) and would not reach the warning rung; this does.
  const Assessment poisson = scorer.AssessAgainst(state, end, 180 * 0.19, 68);
  EXPECT_LT(poisson.score, 5);
  EXPECT_GE(a.score, 5);
  EXPECT_EQ(a.level, kWarning);
  EXPECT_EQ(poisson.level, kInfo);
  // For a share far below 1 of a large whole the two agree.
  const Assessment rare = scorer.AssessShare(state, end, 1e7, 2e-6, 40);
  EXPECT_NEAR(rare.score, scorer.AssessAgainst(state, end, 20, 40).score, 1e-3);
  // The floor on the expectation holds as for counts, and the count is
  // clamped to its whole.
  EXPECT_DOUBLE_EQ(scorer.AssessShare(state, end, 100, 0, 0).score,
                   scorer.AssessShare(state, end, 100, 0.01, 0).score);
  EXPECT_TRUE(std::isfinite(scorer.AssessShare(state, end, 10, 0.5, 12).score));
  EXPECT_EQ(scorer.AssessShare(state, end, 0, 0.5, 0).level, -1);
}

// Under a binomial null the learned overdispersion of shares comes out
// near 1 (the scale the score is on); scored as Poisson counts the same
// windows would read as underdispersed by the factor 1 - share.
TEST(Scorer, LearnsTheOverdispersionOfSharesOnTheBinomialScale) {
  const Scorer scorer(ScoringOptions(), kHop);
  std::mt19937_64 rng(29);
  std::binomial_distribution<int> draw(200, 0.5);
  BaselineState share, count;
  absl::Time t = absl::FromUnixSeconds(1'700'438'400);
  for (int i = 0; i < 5 * kHopsPerDay; ++i) {
    t += kHop;
    const int x = draw(rng);
    scorer.Learn(share, t, x, scorer.AssessShare(share, t, 200, 0.5, x));
    scorer.Learn(count, t, x, scorer.AssessAgainst(count, t, 100, x));
  }
  EXPECT_NEAR(share.dispersion, 1.0, 0.15);
  EXPECT_NEAR(count.dispersion, 0.5, 0.1);
}

TEST(ScoreToUnit, MapsScoresMonotonicallyIntoTheUnitInterval) {
  EXPECT_EQ(ScoreToUnit(-4), 0);
  EXPECT_EQ(ScoreToUnit(0), 0);
  EXPECT_DOUBLE_EQ(ScoreToUnit(3), 0.5);
  EXPECT_DOUBLE_EQ(ScoreToUnit(6), 0.75);
  EXPECT_LT(ScoreToUnit(5), ScoreToUnit(8));
  EXPECT_LE(ScoreToUnit(1e9), 1.0);
  EXPECT_EQ(ScoreToUnit(std::nan("")), 0);
}

TEST(SeriesScorer, ScoresAnIrregularMeasurementSeriesCausally) {
  SeriesScorer scorer;
  std::mt19937_64 rng(5);
  std::normal_distribution<double> noise(0, 0.5);
  std::uniform_int_distribution<int> gap_s(200, 400);
  absl::Time t = absl::FromUnixSeconds(1'700'000'000);
  double quiet_max = 0;
  for (int i = 0; i < 2000; ++i) {
    t += absl::Seconds(gap_s(rng));
    const SeriesPoint p = scorer.Next(t, 80 + noise(rng));
    EXPECT_GE(p.row_unit_score, 0);
    EXPECT_LE(p.row_unit_score, 1);
    if (i > 300) quiet_max = std::max(quiet_max, p.row_unit_score);
  }
  t += absl::Seconds(300);
  const SeriesPoint spike = scorer.Next(t, 90);
  EXPECT_TRUE(spike.warm);
  EXPECT_NEAR(spike.expected, 80, 1.0);
  EXPECT_GT(spike.row_unit_score, 0.9);
  EXPECT_LT(quiet_max, spike.row_unit_score);
  // A detector would have paged: the spike starts an episode.
  EXPECT_EQ(spike.record, SeriesRecord::kFiring);
  EXPECT_EQ(spike.unit_score, spike.row_unit_score);
}

TEST(SeriesScorer, HandlesNegativeValuesAndScoresDropsWhenTwoSided) {
  ScoringOptions options = SeriesScorer::MeasurementOptions();
  options.two_sided = true;
  SeriesScorer scorer(options);
  std::mt19937_64 rng(9);
  std::normal_distribution<double> noise(0, 1);
  absl::Time t = absl::FromUnixSeconds(1'700'000'000);
  for (int i = 0; i < 1000; ++i) {
    t += absl::Minutes(5);
    scorer.Next(t, -20 + noise(rng));
  }
  t += absl::Minutes(5);
  const SeriesPoint drop = scorer.Next(t, -40);
  EXPECT_NEAR(drop.expected, -20, 1.5);
  EXPECT_LT(drop.score, -5);
  EXPECT_GT(drop.unit_score, 0.6);
}

}  // namespace
}  // namespace vigia

namespace vigia {
namespace {

// Ordinary traffic of a real, bursty stream every five minutes: a daily
// cycle, log-normal noise and, now and then, a cascade that multiplies a row
// by a Pareto-distributed factor of tail index `alpha` (heavy-tailed: most
// small, a few large; below 2 its variance is infinite).
class BurstySeries {
 public:
  explicit BurstySeries(uint64_t seed, double alpha = 1.5)
      : rng_(seed), alpha_(alpha) {}
  double Next(absl::Time t) {
    const double hour = absl::ToDoubleHours(t - absl::UnixEpoch());
    const double daily = 1 + 0.5 * std::sin(hour / 24 * 2 * M_PI);
    double v = 50 * daily * std::exp(noise_(rng_));
    if (unit_(rng_) < 0.01) v *= std::pow(1 - unit_(rng_), -1 / alpha_);
    return std::round(v);
  }

 private:
  std::mt19937_64 rng_;
  double alpha_;
  std::normal_distribution<double> noise_{0, 0.25};
  std::uniform_real_distribution<double> unit_{0, 1};
};

// Counts the episodes each severity would have paged for (firing and
// escalation records) on `days` of a series after `skip_days` of learning.
std::array<int, 3> PagesOver(SeriesScorer& scorer, BurstySeries& series,
                             int skip_days, int days) {
  std::array<int, 3> pages = {0, 0, 0};
  absl::Time t = absl::FromUnixSeconds(1'700'000'000);
  for (int i = 0; i < (skip_days + days) * 288; ++i) {
    t += absl::Minutes(5);
    const SeriesPoint p = scorer.Next(t, series.Next(t));
    if (i >= skip_days * 288 && p.record != SeriesRecord::kNone) {
      ++pages[p.level];
    }
  }
  return pages;
}

TEST(Scorer, SeveritiesKeepTheirStatedRateOnABurstyKey) {
  for (uint64_t seed : {1, 2, 3}) {
    SCOPED_TRACE(testing::Message() << "seed " << seed);
    SeriesScorer scorer;
    BurstySeries series(seed, /*alpha=*/2.5);
    const std::array<int, 3> pages = PagesOver(scorer, series, 14, 60);
    // The ladder states info once a day, warning once a week, critical once
    // a month of ordinary rows. Info and warning hold within twice that;
    // critical, three decades out on the fitted tail, was measured at 3-4 a
    // month here before the empirical check and 1-2 with it
    // (docs/detectors.md), so this pins it at 3x.
    EXPECT_LE(pages[0], 2 * 60) << pages[0] << " info";
    EXPECT_LE(pages[1], 2 * 60 / 7) << pages[1] << " warning";
    EXPECT_LE(pages[2], 3 * 2) << pages[2] << " critical";
    // And not by silence: info does fire on the key's rarest rows, near its
    // stated rate (measured 21-32 in 60 days).
    EXPECT_GE(pages[0], 60 / 4) << pages[0] << " info";
  }
}

TEST(Scorer, SeveritiesStayNearTheirRateOnInfiniteVarianceCascades) {
  for (uint64_t seed : {1, 2, 3}) {
    SCOPED_TRACE(testing::Message() << "seed " << seed);
    SeriesScorer scorer;
    BurstySeries series(seed, /*alpha=*/1.5);
    const std::array<int, 3> pages = PagesOver(scorer, series, 14, 60);
    // Cascades this heavy exceed what the tail model extrapolates (its
    // shape is capped at 0.5): measured 4-6 criticals a month instead of
    // one, 1-3 once the empirical check counted the cascades seen. With the
    // tail learning only clipped windows (an earlier design) the same
    // series gave 151-158.
    EXPECT_LE(pages[1], 2 * 60 / 7) << pages[1] << " warning";
    EXPECT_LE(pages[2], 4 * 2) << pages[2] << " critical";
  }
}

TEST(Scorer, TheSameScoreIsRarerOnACalmKeyThanOnABurstyOne) {
  SeriesScorer calm_scorer, bursty_scorer;
  BurstySeries bursty(7);
  std::mt19937_64 rng(7);
  std::normal_distribution<double> noise(0, 0.25);
  absl::Time t = absl::FromUnixSeconds(1'700'000'000);
  for (int i = 0; i < 20 * 288; ++i) {
    t += absl::Minutes(5);
    calm_scorer.Next(t, std::round(50 * std::exp(noise(rng))));
    bursty_scorer.Next(t, bursty.Next(t));
  }
  // Score 5 on each key's own scale, without touching either state.
  const Scorer scorer(SeriesScorer::MeasurementOptions(), absl::ZeroDuration());
  const absl::Time end = t + absl::Minutes(5);
  const auto at = [&](const BaselineState& s, double z) {
    // The observed value that gives score z on this state: search upwards.
    const double mu = scorer.Expected(s, end, 1);
    double lo = mu, hi = mu * 100 + 100;
    for (int k = 0; k < 100; ++k) {
      const double mid = (lo + hi) / 2;
      (scorer.Assess(s, end, 1, mid).score < z ? lo : hi) = mid;
    }
    return scorer.Assess(s, end, 1, hi);
  };
  const Assessment calm = at(calm_scorer.state(), 5);
  const Assessment busy = at(bursty_scorer.state(), 5);
  EXPECT_NEAR(calm.score, 5, 0.01);
  EXPECT_NEAR(busy.score, 5, 0.01);
  EXPECT_GT(calm.surprise, busy.surprise + 1)
      << calm.surprise << " vs " << busy.surprise;
  EXPECT_GT(calm.interval, 10 * busy.interval);
}

TEST(Scorer, ARungNeedsItsIntervalAsWellAsItsScore) {
  ScoringOptions options;
  options.levels = {{Severity::kInfo, 3.0, 1.5, 10, absl::Hours(24)}};
  Simulation sim(23, options);
  sim.Run(3 * kHopsPerDay, Constant(6));
  const absl::Time end = sim.now() + kHop;
  const Scorer& scorer = sim.scorer();
  const double expected = scorer.Expected(sim.state(), end, kWindowHops);
  // Search for a window whose score clears 3 but whose interval is under a
  // day on this key: it reaches no rung.
  for (double observed = expected; observed < expected * 3; observed += 1) {
    const Assessment a = scorer.Assess(sim.state(), end, kWindowHops, observed);
    if (a.score >= 3 && a.ratio >= 1.5 && observed >= 10) {
      if (a.interval < absl::Hours(24)) {
        EXPECT_EQ(a.level, -1) << observed;
      } else {
        EXPECT_EQ(a.level, 0) << observed;
      }
    }
  }
  // The interval is the hop over the probability: a surprise of s is
  // 10^s hops.
  const Assessment big =
      scorer.Assess(sim.state(), end, kWindowHops, expected * 1.8);
  ASSERT_GT(big.surprise, 2);
  ASSERT_LT(big.surprise, 12);
  EXPECT_NEAR(absl::ToDoubleMinutes(big.interval), std::pow(10, big.surprise),
              std::pow(10, big.surprise) * 1e-6);
}

TEST(Scorer, TheHoldKeepsAnEpisodeThroughAPauseAndEndsAfterIt) {
  ScoringOptions options;
  options.hold = absl::Minutes(30);
  Simulation sim(29, options);
  sim.Run(3 * kHopsPerDay, Constant(6));
  EXPECT_GE(sim.Run(20, Constant(40)), 0);
  // A pause: the windows fall back but the key keeps the lowest rung...
  int held = 0;
  for (int i = 0; i < 25; ++i) {
    const Assessment a = sim.Step(6);
    if (i >= kWindowHops + 2) {
      EXPECT_EQ(a.level, 0) << i;
      held += a.held;
    }
  }
  EXPECT_GT(held, 0);
  // ...until the hold has passed since the last window that reached it.
  sim.Run(30, Constant(6));
  EXPECT_EQ(sim.Step(6).level, -1);
}

// A quiet series with a routine spike three times a day (a scheduled
// poster, a batch job): the fitted tail alone cannot describe both the
// noise and the spikes, and kept calling each spike a once-a-week event
// (warning) or rarer for weeks. The empirical check learns that spikes of
// that height recur: within days they are no more than info.
TEST(SeriesScorer, ARoutineSpikeStopsPagingOnceItRecurs) {
  SeriesScorer scorer;
  std::mt19937_64 rng(5);
  std::normal_distribution<double> noise(0, 0.05);
  absl::Time t = absl::FromUnixSeconds(1'700'000'000);
  int spikes_late = 0;
  int above_info_late = 0;
  for (int i = 0; i < 12 * 288; ++i) {
    t += absl::Minutes(5);
    const bool spike = i % 100 == 99;
    const SeriesPoint p = scorer.Next(t, spike ? 20 : 1 + noise(rng));
    if (i >= 5 * 288 && spike) {
      ++spikes_late;
      if (p.level > 0) ++above_info_late;
    }
  }
  ASSERT_GE(spikes_late, 20);
  EXPECT_EQ(above_info_late, 0);
  // A spike of a height never seen is rarer than once a week again.
  t += absl::Minutes(5);
  const SeriesPoint big = scorer.Next(t, 400);
  EXPECT_EQ(big.record, SeriesRecord::kFiring);
  EXPECT_GE(big.level, 1);
}

TEST(SeriesScorer, ReportsOnlyTheRowsThatStartOrEscalateAnEpisode) {
  SeriesScorer scorer;
  std::mt19937_64 rng(3);
  std::normal_distribution<double> noise(0, 1);
  absl::Time t = absl::FromUnixSeconds(1'700'000'000);
  for (int i = 0; i < 2000; ++i) {
    t += absl::Minutes(5);
    scorer.Next(t, 100 + noise(rng));
  }
  std::vector<SeriesPoint> surge;
  for (int i = 0; i < 6; ++i) {
    t += absl::Minutes(5);
    surge.push_back(scorer.Next(t, 130));
  }
  EXPECT_EQ(surge[0].record, SeriesRecord::kFiring);
  EXPECT_GT(surge[0].unit_score, 0.5);
  for (size_t i = 1; i < surge.size(); ++i) {
    // The same rung: the episode goes on, nothing new is sent.
    EXPECT_EQ(surge[i].level, surge[0].level);
    EXPECT_EQ(surge[i].record, SeriesRecord::kNone) << i;
    EXPECT_EQ(surge[i].unit_score, 0) << i;
    EXPECT_GT(surge[i].row_unit_score, 0.5) << i;
  }
}

}  // namespace
}  // namespace vigia
