// Options of the shared baseline scorer (operators/scorer.h), used by every
// count-based detector so that they agree on warm-up, floors, daily cycles,
// effect size and recovery. Parsed from the config file by pipeline/config.
#ifndef VIGIA_OPERATORS_SCORING_OPTIONS_H_
#define VIGIA_OPERATORS_SCORING_OPTIONS_H_

#include <vector>

#include "absl/time/time.h"
#include "pipeline/core/alert.h"

namespace vigia {

// One rung of a severity ladder. A window reaches the rung only if all four
// hold: the score (statistical significance, in standard deviations of the
// expected count) is at least `min_score`; the window is at least as rare as
// once per `min_interval` of the key's own ordinary traffic (the calibrated
// false-alarm rate, see Assessment::interval); the effect size
// (observed + 1) / (expected + 1) is at least `min_ratio`; and at least
// `min_observed` events were seen. Needing both significance and effect size
// keeps an organic 1.5x rise from paging anyone while a 5x push does; the
// interval makes a severity mean the same rate on a calm key and on a bursty
// one.
struct SeverityLevel {
  Severity severity = Severity::kInfo;
  double min_score = 0;
  double min_ratio = 0;
  double min_observed = 0;
  // Zero: no rate gate (the rung is judged on the score alone).
  absl::Duration min_interval = absl::ZeroDuration();
};

struct ScoringOptions {
  // A key may not fire before it has this much event-time history.
  absl::Duration warmup = absl::Hours(1);
  // Half-life of the learned level; short enough to follow slow drift, long
  // enough that a surge of a few windows barely moves it.
  absl::Duration level_half_life = absl::Hours(3);
  // Learn a time-of-day profile (24 hourly factors) so that the evening
  // peak is not a surge and the night trough not a silence.
  bool daily_cycle = true;
  // Half-life, in days, of each hourly factor.
  double daily_half_life_days = 2.0;
  // Floor on the expected count of a window, so that keys with near-zero
  // history cannot produce runaway scores from one or two events.
  double min_expected = 1.0;
  // While a key is anomalous, its baseline learns from the expected value
  // rather than the observed one (clipped at expected * this factor), so a
  // surge does not poison the baseline it is judged against.
  double anomaly_clip_ratio = 1.5;
  // Whether the values scored are event counts. Counts get the Poisson
  // variance as a floor (the learned overdispersion is never below 1) and
  // the Anscombe offset in the score. A series of arbitrary non-negative
  // measurements (`vigia backtest`) sets this to false: the variance is then
  // learned from the series alone.
  bool counts = true;
  // Half-life of the learned overdispersion (how much more the windows vary
  // than a Poisson count would). Longer than the level's: burstiness is a
  // property of the stream, not of the hour.
  absl::Duration dispersion_half_life = absl::Hours(24);
  // How much history the young-key overdispersion prior of counts is worth
  // (operators/scorer.cc, kPriorDispersionSlope): real counts are burstier
  // than Poisson, the more so the larger they are, so until a key has shown
  // its own burstiness it is scored as if it were that bursty. Zero turns
  // the prior off (the Poisson value is then the only prior). Not in the
  // config file: it encodes what real traffic is like, not a policy.
  absl::Duration dispersion_prior = absl::Hours(12);
  // After the last window that reached a rung, the key keeps the lowest rung
  // for this long even if its windows fall back, so a surge that pauses and
  // resumes is one episode (one page, escalations aside) instead of a
  // firing/resolved flap per pause. Zero resolves at the first window that
  // no longer reaches a rung.
  absl::Duration hold = absl::Hours(1);
  // Also treat drops as anomalies (|score|), on the same calibrated tail.
  // Only `vigia backtest --two-sided` sets it: the detectors watch surges.
  bool two_sided = false;
  // The ladder, ordered from the lowest severity up. An alert resolves when
  // the window no longer meets the lowest rung.
  // The intervals state the false-alarm rate each severity may have on the
  // key's own ordinary traffic: info about once a day, warning once a week,
  // critical once a month (docs/detectors.md, "Severities as rates").
  std::vector<SeverityLevel> levels = {
      {Severity::kInfo, 3.0, 1.5, 10, absl::Hours(24)},
      {Severity::kWarning, 5.0, 3.0, 20, absl::Hours(24 * 7)},
      {Severity::kCritical, 8.0, 5.0, 40, absl::Hours(24 * 30)},
  };
};

}  // namespace vigia

#endif  // VIGIA_OPERATORS_SCORING_OPTIONS_H_
