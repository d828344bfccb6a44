#include "operators/scorer.h"

#include <algorithm>
#include <array>
#include <cmath>

#include "operators/operator_util.h"
#include "operators/snapshot.h"

namespace vigia {

void SaveBaseline(const BaselineState& s, SnapshotWriter& w) {
  w.I64(s.first_us);
  w.I64(s.last_us);
  w.F32(s.level);
  w.F32(s.dispersion);
  for (float f : s.hour_factor) w.F32(f);
  w.F32(s.tail_u);
  w.F32(s.tail_m1);
  w.F32(s.tail_m2);
  w.F32(s.tail_n);
  w.F32(s.reached_s);
  w.F32(s.anomalous_s);
  // The empirical check's bins are mostly empty: a mask of the non-zero
  // ones, then those.
  uint32_t mask = 0;
  for (size_t i = 0; i < s.tail_bins.size(); ++i) {
    if (s.tail_bins[i] != 0) mask |= uint32_t{1} << i;
  }
  w.U32(mask);
  for (size_t i = 0; i < s.tail_bins.size(); ++i) {
    if (mask & (uint32_t{1} << i)) w.F32(s.tail_bins[i]);
  }
  w.F32(s.tail_windows);
  w.F32(s.run_peak);
}

void RestoreBaseline(SnapshotReader& r, BaselineState* s) {
  s->first_us = r.I64();
  s->last_us = r.I64();
  s->level = r.F32();
  s->dispersion = r.F32();
  for (float& f : s->hour_factor) f = r.F32();
  s->tail_u = r.F32();
  s->tail_m1 = r.F32();
  s->tail_m2 = r.F32();
  s->tail_n = r.F32();
  s->reached_s = r.F32();
  s->anomalous_s = r.F32();
  const uint32_t mask = r.U32();
  if (mask >> s->tail_bins.size() != 0) {
    r.Fail("baseline: empirical tail bin mask names a bin beyond the last");
    return;
  }
  for (size_t i = 0; i < s->tail_bins.size(); ++i) {
    s->tail_bins[i] = (mask & (uint32_t{1} << i)) ? r.F32() : 0.0f;
  }
  s->tail_windows = r.F32();
  s->run_peak = r.F32();
}
namespace {

constexpr int64_t kHourUs = int64_t{3600} * 1000000;
constexpr int64_t kDayUs = 24 * kHourUs;
// Hour factors are kept in this range: a factor near zero would turn one
// night-time event into a huge de-seasonalised value, and a runaway factor
// would hide a surge in its hour.
constexpr float kMinFactor = 0.05f;
constexpr float kMaxFactor = 20.0f;
// A floor on the measurement-mode dispersion, so a perfectly flat series
// gives a very large but finite score instead of a division by zero.
constexpr double kTinyDispersion = 1e-12;
// Below this a level carries no information about the hour's shape.
constexpr double kTinyLevel = 1e-9;
// The prior overdispersion of a young count key (see Dispersion): real
// social-media counts vary more than Poisson ones, and more the larger the
// count (cascades and news move many posts at once). On NAB's ten
// realTweets series, labelled windows left out, 10-minute counts around a
// trailing mean have a mean squared variance-stabilised residual of 1.1-1.6
// at a mean of 0.7-1.6 posts, 3.0-4.0 at 6-9 (UPS: 22), 8.6-10.6 at 22-40,
// 12 and 104 at 104-142 (bench/background_stats.py, column z2_10m).
// 1 + 0.5 * sqrt(mean) stays below all of them but the two smallest (where
// it is within 0.3): a cautious prior, not a typical one.
// ScoringOptions::dispersion_prior says how much history it is worth.
constexpr double kPriorDispersionSlope = 0.5;
// Caps on one window's squared score when learning the overdispersion.
constexpr double kMaxCountZ2 = 36;
constexpr double kMaxRelativeZ2 = 9;
// Calibration (scorer.h): the share of windows above tail_u, the weight of
// the normal-tail prior in exceedances, how fast tail_u follows its quantile
// (per window, in units of the mean excess) and the moments their excesses
// (per exceedance, so about the last 50 exceedances count), and the cap on
// one excess in mean excesses, so one freak window cannot fatten the tail
// for good.
constexpr double kTailShare = 0.02;
constexpr double kTailPrior = 20;
constexpr double kTailQuantileRate = 0.002;
constexpr double kTailMomentRate = 0.02;
constexpr double kMaxExcess = 10;
constexpr double kMaxShape = 0.5;
// The empirical check (TailProbability), in bins of score growing by half
// (the last from 35 up): a fitted tail cannot describe a key whose bursts
// are of two kinds (a quiet series with a routine spike a
// few times a day: the spike is both "rare" to the fit of the noise and a
// daily event). So the scores the tail learns are also counted in bins,
// decaying with a half-life of a week, and the tail probability is never
// below the share of recent learned windows that scored at least as high,
// counted over the windows learned plus a prior day of windows with none
// (a young key is not made deaf by its first burst). A run of anomalous
// windows counts once, by its peak, when it is over: a surge under way does
// not make its own later windows look ordinary.
constexpr std::array<double, 8> kTailBinEdges = {2,  3,  4.5, 6.75,
                                                 10, 15, 23,  35};
static_assert(kTailBinEdges.size() ==
              std::tuple_size<decltype(BaselineState::tail_bins)>::value);
constexpr int64_t kEmpiricalHalfLifeUs = int64_t{7} * 24 * 3600 * 1000000;
constexpr int64_t kEmpiricalPriorUs = int64_t{24} * 3600 * 1000000;
// Beyond this a probability is reported as this (surprise 300).
constexpr double kMinProbability = 1e-300;

int64_t FloorMod(int64_t a, int64_t b) { return a - FloorDiv(a, b) * b; }

int HourOf(int64_t t_us) {
  return static_cast<int>(FloorMod(t_us, kDayUs) / kHourUs);
}

// Time spent in hour-of-day `h` between the Unix epoch and `t`; differences
// give the exposure of one hour factor over any interval in O(1).
int64_t HourTime(int h, int64_t t_us) {
  const int64_t into_day = FloorMod(t_us, kDayUs) - h * kHourUs;
  return FloorDiv(t_us, kDayUs) * kHourUs +
         std::clamp<int64_t>(into_day, 0, kHourUs);
}

double StepAlpha(int64_t dt_us, int64_t half_life_us) {
  if (half_life_us <= 0) return 1.0;
  return 1.0 - std::exp2(-static_cast<double>(dt_us) /
                         static_cast<double>(half_life_us));
}

}  // namespace

Scorer::Scorer(const ScoringOptions& options, absl::Duration step)
    : options_(options),
      step_us_(std::max<int64_t>(0, absl::ToInt64Microseconds(step))),
      level_half_life_us_(absl::ToInt64Microseconds(options.level_half_life)),
      // A factor is updated only while its hour is current, i.e. one hour
      // per day: a half-life of D days is D hours of that exposure.
      factor_half_life_us_(static_cast<int64_t>(options.daily_half_life_days *
                                                static_cast<double>(kHourUs))),
      dispersion_half_life_us_(
          absl::ToInt64Microseconds(options.dispersion_half_life)),
      warmup_us_(absl::ToInt64Microseconds(options.warmup)),
      hold_us_(std::max<int64_t>(0, absl::ToInt64Microseconds(options.hold))),
      dispersion_prior_us_(std::max<int64_t>(
          0, absl::ToInt64Microseconds(options.dispersion_prior))),
      level_alpha_step_(StepAlpha(step_us_, level_half_life_us_)),
      factor_alpha_step_(StepAlpha(step_us_, factor_half_life_us_)),
      dispersion_alpha_step_(StepAlpha(step_us_, dispersion_half_life_us_)),
      offset_(options.counts ? 0.375 : 0.0),
      min_dispersion_(options.counts ? 1.0 : kTinyDispersion) {}

double Scorer::Alpha(int64_t dt_us, int64_t half_life_us, int64_t history_us,
                     double alpha_per_step) const {
  double alpha =
      dt_us == step_us_ ? alpha_per_step : StepAlpha(dt_us, half_life_us);
  if (history_us > 0) {
    alpha = std::max(
        alpha, static_cast<double>(dt_us) / static_cast<double>(history_us));
  }
  return std::min(alpha, 1.0);
}

double Scorer::SumExpected(const BaselineState& state, int64_t end_us,
                           int steps, double* factor_sum, int* counted) const {
  *factor_sum = 0;
  *counted = 0;
  if (!state.has_history()) return 0;
  for (int i = 0; i < std::max(steps, 1); ++i) {
    const int64_t start = end_us - (i + 1) * step_us_;
    if (start < state.first_us) break;
    *factor_sum +=
        options_.daily_cycle ? state.hour_factor[HourOf(start)] : 1.0;
    ++*counted;
    if (step_us_ == 0) break;  // a point measurement is one step
  }
  return static_cast<double>(state.level) * *factor_sum;
}

double Scorer::Expected(const BaselineState& state, absl::Time end,
                        int steps) const {
  double factor_sum;
  int counted;
  return SumExpected(state, absl::ToUnixMicros(end), steps, &factor_sum,
                     &counted);
}

double Scorer::Dispersion(const BaselineState& state) const {
  return std::max(static_cast<double>(state.dispersion), min_dispersion_);
}

double Scorer::Dispersion(const BaselineState& state, int64_t end_us,
                          double expected) const {
  const double learned = Dispersion(state);
  if (!options_.counts || !state.has_history() || dispersion_prior_us_ <= 0) {
    return learned;
  }
  // A young key has seen too few windows to know its own burstiness, and
  // the Poisson value its learning starts from is what real traffic never
  // is: until its history outweighs it, the key is assumed as bursty as real
  // counts of its size are (kPriorDispersionSlope). Without this, a pair a
  // few hours old pages on a cascade that a day-old pair shrugs off.
  const double mu = std::max({expected, options_.min_expected, 0.0});
  const double prior = 1 + kPriorDispersionSlope * std::sqrt(mu);
  const double history =
      static_cast<double>(std::max<int64_t>(0, end_us - state.first_us));
  const double w =
      history / (history + static_cast<double>(dispersion_prior_us_));
  return std::max(w * learned + (1 - w) * prior, min_dispersion_);
}

absl::Duration Scorer::History(const BaselineState& state,
                               absl::Time end) const {
  if (!state.has_history()) return absl::ZeroDuration();
  return std::max(absl::ZeroDuration(),
                  end - absl::FromUnixMicros(state.first_us));
}

Assessment Scorer::Assess(const BaselineState& state, absl::Time end, int steps,
                          double observed) const {
  return AssessAgainst(state, end, Expected(state, end, steps), observed);
}

Assessment Scorer::AssessAgainst(const BaselineState& state, absl::Time end,
                                 double expected, double observed) const {
  const bool warm = state.has_history() && absl::ToInt64Microseconds(History(
                                               state, end)) >= warmup_us_;
  const int64_t end_us = absl::ToUnixMicros(end);
  return Verdict(expected, observed, 0, Dispersion(state, end_us, expected),
                 Dispersion(state), warm, &state, end_us);
}

Assessment Scorer::AssessShare(const BaselineState& state, absl::Time end,
                               double trials, double share,
                               double observed) const {
  const bool warm = state.has_history() && absl::ToInt64Microseconds(History(
                                               state, end)) >= warmup_us_;
  const double n = std::max(trials, 0.0);
  const double expected = n * std::clamp(share, 0.0, 1.0);
  // No size-dependent prior here: it was measured on counts, and a share
  // is steadier than the counts it divides (a domestic cascade moves the
  // whole, not the part).
  return Verdict(expected, observed, n, Dispersion(state), Dispersion(state),
                 warm, &state, absl::ToUnixMicros(end));
}

double Scorer::Deviation(double observed, double mu, double trials) const {
  const double x = std::max(observed, 0.0);
  if (!(trials > 0)) {
    return 2 *
           (std::sqrt(x + offset_) - std::sqrt(std::max(mu, 0.0) + offset_));
  }
  // Anscombe's arcsine transform: the variance-stabilised binomial count,
  // with unit variance like the square root's for a Poisson count. Both
  // values are clamped to the whole, so the arcsine stays defined.
  const double n = trials + 2 * offset_;
  const auto stretch = [&](double v) {
    return std::asin(std::sqrt(std::clamp((v + offset_) / n, 0.0, 1.0)));
  };
  return 2 * std::sqrt(n) *
         (stretch(std::min(x, trials)) - stretch(std::clamp(mu, 0.0, trials)));
}

Assessment Scorer::Judge(double expected, double observed, double dispersion,
                         bool warm) const {
  // No state: the normal tail alone, no hold; the step is the scorer's.
  return Verdict(expected, observed, 0, dispersion, dispersion, warm, nullptr,
                 0);
}

double Scorer::TailProbability(const BaselineState* state, double z,
                               int64_t step_us) const {
  if (!(z > 0)) return 1;
  // The prior: the standard normal tail, which a Poisson count's
  // variance-stabilised score follows when the model is right.
  const double normal = 0.5 * std::erfc(z / std::sqrt(2.0));
  if (state == nullptr || state->tail_n <= 0) return normal;
  const double u = state->tail_u;
  double learned = kTailShare;
  if (z > u) {
    const double m1 = std::max(static_cast<double>(state->tail_m1), 1e-6);
    const double var = static_cast<double>(state->tail_m2) - m1 * m1;
    double shape = 0;
    double scale = m1;
    if (var > 1e-12) {
      // Method of moments for the generalised Pareto distribution.
      const double r = m1 * m1 / var;
      shape = std::clamp(0.5 * (1 - r), -kMaxShape, kMaxShape);
      scale = m1 * (1 - shape);
    }
    const double x = (z - u) / scale;
    if (std::abs(shape) < 1e-6) {
      learned *= std::exp(-x);
    } else {
      const double base = 1 + shape * x;
      learned = base <= 0 ? 0 : learned * std::pow(base, -1 / shape);
    }
  } else {
    // Below the threshold only the share above it is known; interpolate
    // on the log scale towards the normal tail at 0 so the surprise stays
    // monotone in z.
    const double at_u = 0.5 * std::erfc(u / std::sqrt(2.0));
    learned = u > 0 ? std::exp(std::log(kTailShare / at_u) * (z / u)) * normal
                    : kTailShare;
  }
  const double w = state->tail_n / (state->tail_n + kTailPrior);
  return std::max(w * learned + (1 - w) * normal,
                  EmpiricalTail(*state, z, step_us));
}

double Scorer::EmpiricalTail(const BaselineState& state, double z,
                             int64_t step_us) const {
  if (!(z >= kTailBinEdges[0]) || state.tail_windows <= 0) return 0;
  double above = 0;
  const int n = static_cast<int>(kTailBinEdges.size());
  for (int k = n - 1; k >= 0; --k) {
    const double lo = kTailBinEdges[k];
    const double count = state.tail_bins[k];
    if (z <= lo) {
      above += count;
      continue;
    }
    // z lies in this bin: the part of it above z, spread evenly over the
    // bin; the top bin (35 and above) thins out as a Pareto tail of index 2,
    // so a score far above every past one is judged by the fit alone.
    above += k + 1 < n ? count * (kTailBinEdges[k + 1] - z) /
                             (kTailBinEdges[k + 1] - lo)
                       : count * (lo / z) * (lo / z);
    break;
  }
  const double prior = step_us > 0 ? static_cast<double>(kEmpiricalPriorUs) /
                                         static_cast<double>(step_us)
                                   : 0;
  return above / (static_cast<double>(state.tail_windows) + prior);
}

int64_t Scorer::StepAt(const BaselineState* state, int64_t end_us) const {
  if (step_us_ > 0) return step_us_;
  if (state != nullptr && state->has_history() && end_us > state->last_us) {
    return end_us - state->last_us;
  }
  return 0;
}

Assessment Scorer::Verdict(double expected, double observed, double trials,
                           double dispersion, double learn_dispersion,
                           bool warm, const BaselineState* state,
                           int64_t end_us) const {
  Assessment a;
  a.observed = observed;
  a.expected = expected;
  a.trials = trials;
  a.ratio = (observed + 1) / (a.expected + 1);
  // The floor keeps a key whose history is nearly all zeros from turning
  // one or two events into a large score.
  const double mu = std::max({a.expected, options_.min_expected, 0.0});
  a.dispersion = std::max(dispersion, min_dispersion_);
  const double deviation = Deviation(observed, mu, trials);
  a.score = deviation / std::sqrt(a.dispersion);
  a.warm = warm;
  // Two-sided (backtest only): a drop is as unusual as a rise of the same
  // size, on the same calibrated tail.
  const double z = options_.two_sided ? std::abs(a.score) : a.score;
  if (z > 0) {
    const int64_t step = StepAt(state, end_us);
    const double p = std::max(TailProbability(state, z, step), kMinProbability);
    a.surprise = -std::log10(p);
    a.interval = absl::Microseconds(step) / p;
  }
  const auto meets = [&](const SeverityLevel& l) {
    return z >= l.min_score && a.ratio >= l.min_ratio &&
           (l.min_interval <= absl::ZeroDuration() ||
            a.interval >= l.min_interval);
  };
  const std::vector<SeverityLevel>& levels = options_.levels;
  if (!levels.empty()) {
    // The baseline stops learning from a window at the lowest rung's score
    // and ratio, or, for a ladder on the rate alone (min_score 0, as for a
    // measurement series), at its interval.
    // The score it judges is the one the key's own learning gives, without
    // the young key's dispersion prior: the prior makes a key slower to
    // page, never slower to keep a surge out of its baseline.
    const SeverityLevel& low = levels[0];
    a.threshold = low.min_score;
    const double learn_score =
        deviation / std::sqrt(std::max(learn_dispersion, min_dispersion_));
    const double learn_z =
        options_.two_sided ? std::abs(learn_score) : learn_score;
    a.anomalous =
        a.warm && learn_z >= low.min_score && a.ratio >= low.min_ratio &&
        (low.min_score > 0 || low.min_interval <= absl::ZeroDuration() ||
         a.interval >= low.min_interval);
  }
  if (!a.warm) return a;
  for (int i = 0; i < static_cast<int>(levels.size()); ++i) {
    const SeverityLevel& l = levels[i];
    if (meets(l) && observed >= l.min_observed) {
      a.level = i;
      a.threshold = l.min_score;
    }
  }
  if (a.level < 0 && !levels.empty() && hold_us_ > 0 && state != nullptr &&
      state->reached_s >= 0 && state->has_history()) {
    const double since_s =
        static_cast<double>(end_us - state->first_us) / 1e6 - state->reached_s;
    if (since_s <= static_cast<double>(hold_us_) / 1e6) {
      a.level = 0;
      a.held = true;
    }
  }
  return a;
}

void Scorer::Learn(BaselineState& state, absl::Time step_end, double value,
                   const Assessment& window) const {
  const int64_t end_us = absl::ToUnixMicros(step_end);
  const int64_t start_us = end_us - step_us_;
  double x = std::max(value, 0.0);
  if (!state.has_history()) {
    state.first_us = start_us;
    state.last_us = end_us;
    state.level = static_cast<float>(x);
    return;
  }
  const int64_t dt = end_us - state.last_us;
  if (dt <= 0) return;
  const int64_t history = end_us - state.first_us;
  const int hour = HourOf(start_us);
  const double factor =
      options_.daily_cycle ? static_cast<double>(state.hour_factor[hour]) : 1.0;
  const double level = state.level;
  const double clip = std::max(options_.anomaly_clip_ratio, 1.0);
  if (window.anomalous) x = std::min(x, level * factor * clip);

  // Overdispersion: the mean squared (unscaled) score of past windows. The
  // window is clipped like the step, or one surge would make the key deaf
  // to the next. Counts start from a Poisson prior worth `warmup` of
  // history; measurements have no natural scale, so none.
  if (window.expected > 0 || window.observed > 0) {
    double w = std::max(window.observed, 0.0);
    if (window.anomalous) w = std::min(w, window.expected * clip);
    // Unfloored: the residual of what the window held against what it was
    // expected to hold, on the scale it was scored on.
    const double z = Deviation(w, window.expected, window.trials);
    const int64_t prior = options_.counts ? warmup_us_ : 0;
    const double a = Alpha(dt, dispersion_half_life_us_, history + prior,
                           dispersion_alpha_step_);
    double z2 = z * z;
    if (a < 1) {
      // A robust (Huber-style) mean: one freak window may not make the key
      // deaf for a day, yet a truly bursty stream still raises the estimate
      // step by step. For counts z is already on a Poisson scale, so 6
      // standard deviations is an absolute floor on the cap.
      z2 = std::min(z2, std::max(options_.counts ? kMaxCountZ2 : 0.0,
                                 kMaxRelativeZ2 * Dispersion(state)));
    }
    state.dispersion += static_cast<float>(a * (z2 - state.dispersion));
  }

  // The score tail counts events, not windows: an anomalous run of windows
  // (one surge, or one spike seen by every window it lies in) teaches it
  // once, at its first window, so a key whose bursts are routine learns that
  // they are, while one sustained surge cannot make the next one look
  // ordinary. Every other warm window is learned as it is.
  const float keep = static_cast<float>(std::exp2(
      -static_cast<double>(dt) / static_cast<double>(kEmpiricalHalfLifeUs)));
  for (float& b : state.tail_bins) b *= keep;
  state.tail_windows *= keep;
  const double now_s = static_cast<double>(end_us - state.first_us) / 1e6;
  const double previous_s =
      static_cast<double>(state.last_us - state.first_us) / 1e6;
  const bool run_goes_on = window.anomalous && state.anomalous_s >= 0 &&
                           state.anomalous_s >= static_cast<float>(previous_s);
  // The empirical check counts a run once it is over, by its peak: a run
  // under way must not make its own later windows look ordinary.
  if (state.run_peak >= 0 && !run_goes_on) {
    CountScore(state, state.run_peak);
    state.run_peak = -1;
  }
  if (window.warm && (window.expected > 0 || window.observed > 0)) {
    const double z = options_.two_sided ? std::abs(window.score) : window.score;
    if (!run_goes_on) LearnTail(state, z);
    if (!window.anomalous) {
      CountScore(state, z);
    } else if (std::isfinite(z)) {
      state.run_peak = std::max(state.run_peak, static_cast<float>(z));
    }
  }
  if (window.anomalous) state.anomalous_s = static_cast<float>(now_s);
  if (window.reached() && !window.held) {
    state.reached_s = static_cast<float>(now_s);
  }

  const double level_alpha =
      Alpha(dt, level_half_life_us_, history, level_alpha_step_);
  const double deseasonalised =
      x / std::max(factor, static_cast<double>(kMinFactor));
  state.level =
      static_cast<float>(level + level_alpha * (deseasonalised - level));

  // An anomaly says nothing about the time of day, and a factor learns only
  // one hour a day, so even a clipped surge would bend it: factors skip
  // anomalous windows.
  if (options_.daily_cycle && level > kTinyLevel && !window.anomalous) {
    const double r = std::min(x / level, static_cast<double>(kMaxFactor));
    // Until the hour has been seen for a while its factor is a running mean
    // of what was seen in it, starting from a flat prior worth one day of
    // that hour: the profile takes shape over the first days, and a burst in
    // an hour's first minutes cannot become that hour's norm.
    const int64_t exposure =
        HourTime(hour, end_us) - HourTime(hour, state.first_us) + kHourUs;
    const double fa =
        Alpha(dt, factor_half_life_us_, exposure, factor_alpha_step_);
    float& f = state.hour_factor[hour];
    f = std::clamp(static_cast<float>(f + fa * (r - f)), kMinFactor,
                   kMaxFactor);
    if (history >= kDayUs) {
      // Keep the factors' mean at 1 so `level` reads as the daily mean per
      // step; the level absorbs the scale, so expectations do not change.
      float sum = 0;
      for (float v : state.hour_factor) sum += v;
      const float mean = sum / 24;
      if (mean > 0) {
        for (float& v : state.hour_factor) v /= mean;
        state.level *= mean;
      }
    }
  }
  state.last_us = end_us;
}

void Scorer::CountScore(BaselineState& state, double z) const {
  if (!std::isfinite(z)) return;
  if (z >= kTailBinEdges[0]) {
    const auto bin =
        std::upper_bound(kTailBinEdges.begin(), kTailBinEdges.end(), z) -
        kTailBinEdges.begin() - 1;
    state.tail_bins[bin] += 1;
  }
}

void Scorer::LearnTail(BaselineState& state, double z) const {
  if (!std::isfinite(z)) return;
  state.tail_windows += 1;
  const double u = state.tail_u;
  const double m1 = std::max(static_cast<double>(state.tail_m1), 0.05);
  const bool above = z > u;
  // Robbins-Monro: tail_u settles where kTailShare of windows exceed it.
  state.tail_u = static_cast<float>(u + kTailQuantileRate * m1 *
                                            ((above ? 1.0 : 0.0) - kTailShare) /
                                            kTailShare);
  if (!above) return;
  const double excess = std::min(z - u, kMaxExcess * m1);
  state.tail_m1 +=
      static_cast<float>(kTailMomentRate * (excess - state.tail_m1));
  state.tail_m2 +=
      static_cast<float>(kTailMomentRate * (excess * excess - state.tail_m2));
  state.tail_n = std::min(state.tail_n + 1, 1e6f);
}

std::vector<std::pair<std::string, double>> Scorer::Explain(
    const BaselineState& state, absl::Time end, int steps) const {
  double factor_sum;
  int counted;
  const double expected =
      SumExpected(state, absl::ToUnixMicros(end), steps, &factor_sum, &counted);
  return {
      {"level_per_hop", state.level},
      {"time_of_day_factor", counted > 0 ? factor_sum / counted : 1.0},
      {"window_hops", counted},
      {"expected", expected},
      {"min_expected", options_.min_expected},
      {"overdispersion", Dispersion(state, absl::ToUnixMicros(end), expected)},
      {"history_hours", absl::ToDoubleHours(History(state, end))},
      {"warmup_hours", absl::ToDoubleHours(options_.warmup)},
  };
}

std::vector<std::pair<std::string, double>> Scorer::ExplainVerdict(
    const Assessment& a, std::string_view prefix) {
  const double hours = std::min(absl::ToDoubleHours(a.interval), 1e9);
  const std::string p(prefix);
  return {
      {p + "surprise", a.surprise},
      {p + "chance_interval_hours", hours},
      {p + "held_by_hold", a.held ? 1.0 : 0.0},
  };
}

double ScoreToUnit(double score, double half_score) {
  if (!(score > 0) || !(half_score > 0)) return 0;
  return 1 - std::exp2(-score / half_score);
}

ScoringOptions SeriesScorer::MeasurementOptions() {
  ScoringOptions o;
  o.counts = false;
  o.min_expected = 0;
  o.levels = {
      {Severity::kInfo, 0, 0, 0, absl::Hours(24)},
      {Severity::kWarning, 0, 0, 0, absl::Hours(24 * 7)},
      {Severity::kCritical, 0, 0, 0, absl::Hours(24 * 30)},
  };
  return o;
}

SeriesScorer::SeriesScorer(const ScoringOptions& options)
    : scorer_(options, absl::ZeroDuration()) {}

SeriesPoint SeriesScorer::Next(absl::Time t, double value) {
  if (std::isnan(value)) return SeriesPoint{};
  if (value + shift_ < 0) {
    // Raise the whole series so the new minimum maps to its own magnitude:
    // a multiplicative model needs values well away from zero. The level
    // moves with the series so past learning keeps its meaning.
    const double grow = -2 * value - shift_;
    shift_ += grow;
    if (state_.has_history()) state_.level += static_cast<float>(grow);
  }
  const double v = value + shift_;
  const Assessment a = scorer_.Assess(state_, t, 1, v);
  SeriesPoint p;
  p.expected = state_.has_history() ? a.expected - shift_ : 0;
  p.score = a.score;
  p.surprise = a.surprise;
  p.level = a.level;
  p.warm = a.warm;
  if (a.warm) p.row_unit_score = ScoreToUnit(a.surprise);
  // The detectors' episode rule (keyed_hop_counter.h): fire on the first
  // rung reached, escalate on a higher one, end when none is reached.
  if (firing_level_ < 0) {
    if (a.reached()) {
      firing_level_ = a.level;
      p.record = SeriesRecord::kFiring;
    }
  } else if (!a.reached()) {
    firing_level_ = -1;
  } else if (a.level > firing_level_) {
    firing_level_ = a.level;
    p.record = SeriesRecord::kEscalation;
  }
  if (p.record != SeriesRecord::kNone) p.unit_score = p.row_unit_score;
  scorer_.Learn(state_, t, v, a);
  return p;
}

}  // namespace vigia
