// foreign_share: per target, and per (target, heavy hashtag), the SHARE of
// foreign-origin posts in a sliding event-time window, compared with the
// share that key's own past predicts. It catches a campaign riding an
// existing trend: foreign posts rise while the total barely moves, which a
// pure count detector (foreign_origin_surge) sees late or not at all.
//
// Each key learns two baselines with the shared scorer (operators/scorer.h):
// foreign posts per hop and posts of known origin per hop. The window's
// expected foreign count is its total times the baseline share (the ratio of
// the two expectations), and the foreign count is scored against that with
// Scorer::AssessShare: given the window's posts the foreign count is
// binomial, so the score is the binomial form of the shared score (a Poisson
// score would overstate its variance by 1 / (1 - share), which on a small
// hashtag holds a doubled share below the warning rung). Warm-up, floors,
// overdispersion, effect size and recovery are the shared ones; the ratio
// reads as window share / baseline share. The total is never clipped as an
// anomaly of its own (it is context, and must follow organic swings at once);
// while the share is anomalous, foreign posts above anomaly_clip_ratio x the
// usual share are learned neither as foreign nor as part of the total.
//
// Hashtags are high-cardinality: per target a Space-Saving sketch of
// 4 x max_hashtags counts (decayed with a 6 h half-life) finds the heavy
// ones: those averaging at least min_total / 4 posts per window. Only the
// top max_hashtags of them get a key, counted from the moment they are
// heavy.
//
// Owned by the pipeline and used on its thread only. State is bounded by
// max_keys, max_hashtags and the window's buckets; refusals and evictions by
// those caps are counted in stats().cap_hits.
#ifndef VIGIA_OPERATORS_FOREIGN_SHARE_H_
#define VIGIA_OPERATORS_FOREIGN_SHARE_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "operators/operator.h"
#include "operators/scoring_options.h"
#include "pipeline/core/types.h"

namespace vigia {

// The default ladder and scoring of foreign_share. The ratio is a ratio of
// shares, which can at most reach 1 / baseline share, so the rungs sit lower
// than a count detector's: a key whose usual foreign share is 10% reaches
// `critical` at 20% or more. An organic 1.5x rise of foreign posts over flat
// domestic traffic lifts the share by less than 1.5x: `info` at most.
//
// The usual share is the ratio of the two learned levels, which with
// `daily_cycle` off is a running (exponentially weighted) share. With it on,
// each count gets its own 24 hourly factors and the share is the ratio of the
// two seasonal expectations, which takes several days to settle: off by
// default.
inline ScoringOptions ForeignShareDefaultScoring() {
  ScoringOptions s;
  s.warmup = absl::Hours(2);
  s.daily_cycle = false;
  s.levels = {
      {Severity::kInfo, 3.0, 1.3, 10, absl::Hours(24)},
      {Severity::kWarning, 5.0, 1.6, 20, absl::Hours(24 * 7)},
      {Severity::kCritical, 8.0, 2.0, 40, absl::Hours(24 * 30)},
  };
  return s;
}

// What one target may override (the whole block is inherited from the
// detector's settings, then the keys given for the target replace theirs).
struct ForeignShareTargetOptions {
  // Posts of known origin (all origins) a window must hold before the key
  // may reach any rung, so that tiny hashtags never alert on a few posts.
  int min_total = 50;
  ScoringOptions scoring = ForeignShareDefaultScoring();
};

struct ForeignShareOptions {
  bool enabled = true;
  // Sliding window length and hop; `window` must be a multiple of `hop`.
  absl::Duration window = absl::Minutes(30);
  absl::Duration hop = absl::Minutes(5);
  // Targets to monitor; empty monitors every target seen.
  std::vector<CountryCode> targets;
  // Hashtags tracked per target (the heaviest, lower-cased, without '#');
  // 0 watches targets only.
  int max_hashtags = 50;
  // Upper bound on tracked keys (targets and hashtags together).
  int max_keys = 10000;
  // Detector-wide settings; per_target entries override them.
  int min_total = 50;
  ScoringOptions scoring = ForeignShareDefaultScoring();
  std::map<CountryCode, ForeignShareTargetOptions> per_target;
};

// The form hashtags are counted and reported in: FoldHashtag()
// (operators/text_fold.h), so "#NiUnVoto", "#niunvoto" and "#NiUnVóto" are
// one key, "niunvoto", while "#AñoNuevo" stays apart from "#anonuevo".
std::string NormalizeHashtag(std::string_view hashtag);

// Returns the detector. REQUIRES: options were validated by the config
// loader (window a positive multiple of hop, levels ordered).
std::unique_ptr<Operator> MakeForeignShare(const ForeignShareOptions& options,
                                           const OperatorContext& context);

class CanonicalWriter;
class ConfigMap;

// Reads the section detectors.foreign_share (docs/config.md) into `out`, which
// holds the defaults on entry: an error names the key and its line.
absl::Status ParseOptions(ConfigMap& section, ForeignShareOptions* out);

// Writes every setting of `options`, defaults included, under `prefix`
// ("detectors.foreign_share") in canonical form: the input to the config hash.
void WriteCanonical(std::string_view prefix, const ForeignShareOptions& options,
                    CanonicalWriter& w);

}  // namespace vigia

#endif  // VIGIA_OPERATORS_FOREIGN_SHARE_H_
