// The baseline scorer every count-based detector shares: per key it learns,
// online and from that key's own past only, what a window should hold, and
// scores what the window did hold against it.
//
// The model is multiplicative: expected value of one step (a detector's hop)
//   = level * hour_factor[UTC hour of the step's start]
// where `level` is an exponentially weighted mean (half-life
// level_half_life) of the de-seasonalised values, and the 24 hour factors
// (half-life daily_half_life_days) carry the time-of-day profile, normalised
// to a mean of 1 once a full day has been seen. A window of K steps expects
// the sum of its steps' expectations. The score is a variance-stabilised z:
//   z = 2 * (sqrt(observed + c) - sqrt(max(expected, min_expected) + c))
//       / sqrt(overdispersion)
// with c = 3/8 for counts (Anscombe) and 0 for measurements; for a Poisson
// count z is close to a normal deviate, and the learned overdispersion (the
// mean squared z of past windows, never below 1 for counts) keeps naturally
// bursty streams from paging. A young count key, which has not yet shown
// how bursty it is, is scored with its learned overdispersion blended with
// a prior of 1 + 0.5 * sqrt(expected) (what real counts of that size show),
// the prior worth ScoringOptions::dispersion_prior of history; whether a
// window is kept out of the baseline is judged without the prior.
//
// A count that is a part of a known whole (the foreign posts among a
// window's n posts, scored against n times a learned share: AssessShare) is
// binomial, not Poisson: its variance is n p (1 - p), not n p, so the
// Poisson z understates a rise by a factor sqrt(1 - p), which matters on
// small keys with a sizeable share. Such a count is scored with Anscombe's
// arcsine transform, the binomial counterpart of the square root:
//   z = 2 * sqrt(N) * (asin(sqrt((observed + c) / N))
//                      - asin(sqrt((max(expected, min_expected) + c) / N)))
//       / sqrt(overdispersion),   N = n + 2c,
// i.e. each sqrt(v) above becomes sqrt(N) * asin(sqrt(v / N)). For shares
// far below 1 the two agree; the overdispersion is then learned in the same
// binomial units.
//
// Calibration. Real streams are heavier-tailed than any fixed model says
// (cascades, news shocks), so a z of 5 is a daily event on one key and a
// yearly one on another. Each key therefore also learns the tail of its own
// window scores, peaks over a threshold: `tail_u` tracks the score that
// kTailShare (2%) of its windows exceed, and the excesses over it are fitted
// with a generalised Pareto distribution by the method of moments (its
// shape kept within [-0.5, 0.5]). The probability p that an ordinary window
// scores at least z is read from that fit, blended with the standard normal
// tail as a prior worth kTailPrior exceedances while the key is young. The
// `surprise` is -log10(p) and the `interval` is step / p: how often chance
// alone would give a window this unusual on this key. The probability is
// never taken below the share of the key's recent windows (and past runs,
// by their peaks) that scored as high: decayed counts in score bins, an
// empirical check for keys whose bursts the fit cannot describe (scorer.cc,
// kTailBinEdges). Severity rungs state their false-alarm rate as a
// min_interval (ScoringOptions::levels).
//
// While a window is anomalous the level and the overdispersion learn from
// values clipped at anomaly_clip_ratio times the expectation, and the hour
// factors do not learn, so a surge neither poisons the baseline nor masks the
// next one.
//
// Ownership and threads: a Scorer holds only options and is immutable after
// construction, so one instance may be shared by all keys of a detector (and
// across threads). The per-key state is a BaselineState value (184 bytes)
// owned by the caller; Learn() mutates it, so each state is used by one
// thread at a time.
//
// Typical use, once per hop and key, when the watermark passes the hop:
//   Assessment a = scorer.Assess(state, hop_end, window_hops, window_count);
//   ... alert on a.level ...
//   scorer.Learn(state, hop_end, hop_count, a);
#ifndef VIGIA_OPERATORS_SCORER_H_
#define VIGIA_OPERATORS_SCORER_H_

#include <array>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "operators/scoring_options.h"
#include "pipeline/core/alert.h"

namespace vigia {

// What the scorer knows about one key. Plain value; copy it to snapshot.
struct BaselineState {
  static constexpr int64_t kNoHistory = std::numeric_limits<int64_t>::min();

  // Start of the first step learned (Unix micros), kNoHistory before any.
  int64_t first_us = kNoHistory;
  // End of the last step learned (Unix micros).
  int64_t last_us = 0;
  // De-seasonalised expected value of one step.
  float level = 0;
  // Learned mean squared score of past windows (before the floor).
  float dispersion = 1;
  // Multiplicative time-of-day factors by UTC hour.
  std::array<float, 24> hour_factor = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
                                       1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1};
  // The tail of the key's window scores (see Calibration above): the score
  // exceeded by kTailShare of windows, the mean and mean square of the
  // excesses over it, and how many excesses were learned (the prior's weight
  // fades as they accumulate). Starts at the standard normal's values.
  float tail_u = 2.0537f;
  float tail_m1 = 0.4f;
  float tail_m2 = 0.32f;
  float tail_n = 0;
  // Seconds from first_us to the end of the last window that reached a rung
  // on its own (not by the hold), and of the last anomalous window; negative
  // for none.
  float reached_s = -1;
  float anomalous_s = -1;
  // The empirical check on the fitted tail: how many learned windows (runs
  // count once) scored in each bin of scorer.cc's kTailBinEdges, and how
  // many windows were learned, both decaying with kEmpiricalHalfLife.
  std::array<float, 8> tail_bins = {};
  float tail_windows = 0;
  // The highest score of the anomalous run under way (negative for none),
  // counted in tail_bins once the run is over.
  float run_peak = -1;

  bool has_history() const { return first_us != kNoHistory; }
};

// The verdict on one window.
class SnapshotWriter;
class SnapshotReader;

// Snapshots (operators/snapshot.h): every field of a BaselineState (the
// level, dispersion, hour factors, tail calibration and hold timers), so a
// restored key scores, holds and learns exactly as it would have.
void SaveBaseline(const BaselineState& state, SnapshotWriter& w);
void RestoreBaseline(SnapshotReader& r, BaselineState* state);

struct Assessment {
  double observed = 0;
  // Sum of the expectations of the window's steps that lie within the key's
  // history (steps before the first learned one are not predicted).
  double expected = 0;
  double score = 0;  // the variance-stabilised z above; negative = fewer
  double ratio = 0;  // (observed + 1) / (expected + 1)
  // The min_score of the rung reached, or of the lowest rung when none.
  double threshold = 0;
  // Index into ScoringOptions::levels of the highest rung reached; -1 none.
  int level = -1;
  // -log10 of the calibrated probability that an ordinary window of this key
  // scores at least `score` (0 when the score is not above 0).
  double surprise = 0;
  // How often chance alone gives a window this unusual on this key: the step
  // divided by that probability (InfiniteDuration for a surprise beyond
  // what a double holds; zero when not above 0).
  absl::Duration interval = absl::ZeroDuration();
  // The lowest rung is kept only by ScoringOptions::hold: no rung is
  // reached by this window itself, but one was within the hold.
  bool held = false;
  // The overdispersion the score was divided by (floored; for a young
  // count key, blended with its prior).
  double dispersion = 1;
  // For a share (AssessShare): the whole the observed count is a part of,
  // and the score is binomial. 0 for a plain (Poisson) count.
  double trials = 0;
  // The key has at least `warmup` of history; no rung is reached before.
  bool warm = false;
  // Warm, and significance (score and interval) and effect size of the
  // lowest rung are met (min_observed aside), the score taken with the
  // learned overdispersion alone (no young-key prior): the baseline learns
  // from clipped values.
  bool anomalous = false;

  bool reached() const { return level >= 0; }
};

class Scorer {
 public:
  // `step` is the time one Learn() value covers: the detector's hop. Zero
  // means the values are point measurements (a series for backtest), each
  // scored as a window of one step at its own timestamp.
  // REQUIRES: options validated (levels ordered, half-lives positive).
  Scorer(const ScoringOptions& options, absl::Duration step);

  const ScoringOptions& options() const { return options_; }
  absl::Duration step() const { return absl::Microseconds(step_us_); }

  // The expected total of the window of `steps` steps ending at `end`.
  // Returns 0 for a state with no history.
  double Expected(const BaselineState& state, absl::Time end, int steps) const;

  // Scores `observed`, the total of the window of `steps` steps ending at
  // `end`, against the state. Does not change the state.
  Assessment Assess(const BaselineState& state, absl::Time end, int steps,
                    double observed) const;

  // Scores `observed` against an `expected` total the caller formed itself
  // (e.g. a window's posts times a learned share, see foreign_share)
  // instead of the state's own expectation. The state supplies the warm-up
  // and the learned overdispersion; passing the result to Learn() makes the
  // overdispersion learn these residuals. Does not change the state.
  Assessment AssessAgainst(const BaselineState& state, absl::Time end,
                           double expected, double observed) const;

  // Scores `observed`, a part of `trials` (e.g. the foreign posts among a
  // window's posts of known origin), against `share` of them: the expected
  // count is trials * share and the score is the binomial one (see above),
  // which a count bounded by its whole warrants. The state supplies the
  // warm-up and the learned overdispersion; passing the result to Learn()
  // makes the overdispersion learn binomial residuals, so a state should be
  // assessed this way every time. With `counts` off the offset c is 0 and
  // the overdispersion has no floor, as for Assess(). Does not change the
  // state.
  Assessment AssessShare(const BaselineState& state, absl::Time end,
                         double trials, double share, double observed) const;

  // The verdict on `observed` against `expected`, with the given
  // overdispersion (floored as a state's is) and warm-up status: the same
  // score, ratio and ladder as Assess(), for a detector whose expectation
  // comes from a reference distribution rather than a learned history
  // (posting_clock).
  Assessment Judge(double expected, double observed, double dispersion,
                   bool warm) const;

  // Learns the value of the step ending at `step_end` (for a detector: the
  // count of the hop just evaluated; `window` is that hop's window verdict
  // from Assess(), used for clipping, to learn the overdispersion and the
  // score tail, and to start the hold when it reached a rung).
  // Steps must be learned in time order; a step ending at or before the last
  // one learned is ignored. Negative values are treated as 0.
  void Learn(BaselineState& state, absl::Time step_end, double value,
             const Assessment& window) const;

  // How the expectation of the window ending at `end` is formed, as named
  // numbers for Evidence::baseline: expected = level_per_hop *
  // time_of_day_factor * window_hops, floored at min_expected in the score,
  // which is divided by sqrt(overdispersion).
  std::vector<std::pair<std::string, double>> Explain(
      const BaselineState& state, absl::Time end, int steps) const;

  // The calibration behind a verdict, as named numbers for
  // Evidence::baseline: its surprise (-log10 of the chance that an ordinary
  // window of the key is this unusual), the interval in hours at which
  // chance alone would give such a window (capped at 1e9), and whether the
  // rung was kept only by the hold (1) or not (0). `prefix` goes before each
  // name.
  static std::vector<std::pair<std::string, double>> ExplainVerdict(
      const Assessment& a, std::string_view prefix = "");

  // Event-time history of the state at `end` (zero without history).
  absl::Duration History(const BaselineState& state, absl::Time end) const;

 private:
  // Learning rate for a gap of `dt_us` given the half-life, never below
  // dt / history so that a young state is a plain running mean.
  double Alpha(int64_t dt_us, int64_t half_life_us, int64_t history_us,
               double alpha_per_step) const;
  // Sums expectations of the steps within history; sets `factor_sum` and
  // `counted` (the number of steps summed).
  double SumExpected(const BaselineState& state, int64_t end_us, int steps,
                     double* factor_sum, int* counted) const;
  // The learned overdispersion, floored.
  double Dispersion(const BaselineState& state) const;
  // The overdispersion a window expecting `expected` is scored with: for
  // counts, the learned one blended with a size-dependent prior that fades
  // as the key's history grows (scorer.cc, kPriorDispersionSlope).
  double Dispersion(const BaselineState& state, int64_t end_us,
                    double expected) const;
  // The unscaled score of `observed` against a mean of `mu` (already
  // floored by the caller): Poisson for trials <= 0, else binomial.
  double Deviation(double observed, double mu, double trials) const;
  // Judge() for a count out of `trials` (0: a plain count). `state` (may be
  // null: the normal tail alone) supplies the calibrated tail and the hold;
  // `end` is the window's end.
  // `dispersion` scales the score; `learn_dispersion` the score that
  // decides whether the window is anomalous (kept out of the baseline).
  Assessment Verdict(double expected, double observed, double trials,
                     double dispersion, double learn_dispersion, bool warm,
                     const BaselineState* state, int64_t end_us) const;
  // The calibrated probability that an ordinary window, one of `step_us`,
  // scores >= z.
  double TailProbability(const BaselineState* state, double z,
                         int64_t step_us) const;
  // Moves the state's score tail by one window's score.
  void LearnTail(BaselineState& state, double z) const;
  // Counts one learned window's score (or a run's peak) in the empirical
  // check's bins.
  void CountScore(BaselineState& state, double z) const;
  // The share of the key's recent learned windows, of `step_us` each,
  // scoring at least z (scorer.cc, "empirical check").
  double EmpiricalTail(const BaselineState& state, double z,
                       int64_t step_us) const;
  // The time one assessment covers, for the interval: the step, or for point
  // measurements the time since the state's last value.
  int64_t StepAt(const BaselineState* state, int64_t end_us) const;

  ScoringOptions options_;
  int64_t step_us_;
  int64_t level_half_life_us_;
  int64_t factor_half_life_us_;
  int64_t dispersion_half_life_us_;
  int64_t warmup_us_;
  int64_t hold_us_;
  int64_t dispersion_prior_us_;
  // The rates for the usual gap of one step, computed once.
  double level_alpha_step_;
  double factor_alpha_step_;
  double dispersion_alpha_step_;
  double offset_;          // 3/8 for counts, 0 for measurements
  double min_dispersion_;  // 1 for counts, tiny for measurements
};

// Maps a score to [0, 1] for backtest: 1 - 2^(-max(0, score) / half_score),
// so a score of `half_score` maps to 0.5 and the mapping is monotone (any
// threshold on the score is a threshold on the unit value). Backtest maps
// the surprise with it: 0.5 is a chance of one in 1,000 rows.
double ScoreToUnit(double score, double half_score = 3.0);

// What a row of a series would have sent to on-call, had the series been a
// detector's key: nothing, the firing record that starts an episode, or the
// firing record of an escalation to a higher rung.
enum class SeriesRecord { kNone, kFiring, kEscalation };

// One scored row of a series.
struct SeriesPoint {
  double expected = 0;
  double score = 0;     // the raw variance-stabilised z
  double surprise = 0;  // -log10 of its calibrated probability
  int level = -1;       // the rung reached (held included); -1 none
  SeriesRecord record = SeriesRecord::kNone;
  // ScoreToUnit(surprise) on a row that starts or escalates an episode, 0
  // on every other row: the alerts, as `vigia backtest` reports them.
  double unit_score = 0;
  // ScoreToUnit(surprise) on every warm row (`--per-row`).
  double row_unit_score = 0;
  bool warm = false;
};

// Scores an arbitrary univariate series (timestamp, value), possibly
// irregularly sampled, causally: each row is scored against the past only,
// then learned, exactly as a detector scores one key's windows (a row is a
// window of one step, the step being the time since the previous row), and
// it follows the detector's episodes: an episode starts when a row reaches
// the lowest rung, escalates when a row reaches a higher one, and ends when
// a row no longer reaches a rung after the hold. Values may be any real
// measurement: once a negative value v appears, the series is shifted up by
// -2v (so v maps to |v|, away from zero), and the shift only grows. Not
// thread-safe.
class SeriesScorer {
 public:
  // Options suited to measurements: counts = false, min_expected = 0, and a
  // ladder on the calibrated rate alone (info once a day, warning once a
  // week, critical once a month of ordinary rows), since a measurement has
  // no natural effect size or event count.
  static ScoringOptions MeasurementOptions();

  explicit SeriesScorer(const ScoringOptions& options = MeasurementOptions());

  // Scores `value` at `t`, then learns it. Rows out of time order are scored
  // but not learned.
  SeriesPoint Next(absl::Time t, double value);

  const BaselineState& state() const { return state_; }

 private:
  Scorer scorer_;
  BaselineState state_;
  double shift_ = 0;
  int firing_level_ = -1;
};

}  // namespace vigia

#endif  // VIGIA_OPERATORS_SCORER_H_
