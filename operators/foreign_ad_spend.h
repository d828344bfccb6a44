// foreign_ad_spend: political ads aimed at a target that are foreign-linked
// (the payer's country is known and is not the target), paid in a currency
// that is not the target's, or carry no "paid for by" disclaimer. Per target
// it scores, with the shared scorer (operators/scorer.h), both their spend
// and their number over a sliding event-time window against baselines
// learned from the target's own past, and it raises a one-shot first-seen
// alert when a foreign payer's cumulative spend passes a threshold.
//
// Spend is not a count: it is scored in units of `spend_unit` (the
// midpoint of each ad's reported range, divided by the unit) in the
// scorer's count mode. The count mode's Poisson floor then treats one unit
// of spend like one independent event, and the learned overdispersion
// absorbs the extra variance of lumpy amounts; the measurement mode
// (counts = false) has no floor and would page on the first ad after a
// flat history.
//
// Owned by the pipeline and used on its thread only. State is bounded by
// max_keys (targets), max_payers and the window's buckets; refusals by those
// caps are counted in stats().cap_hits.
#ifndef VIGIA_OPERATORS_FOREIGN_AD_SPEND_H_
#define VIGIA_OPERATORS_FOREIGN_AD_SPEND_H_

#include <map>
#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "operators/operator.h"
#include "operators/scoring_options.h"
#include "pipeline/core/types.h"

namespace vigia {

// Default scoring of the window's spend, in spend units (default 100
// currency units each): info from 1000 spent at twice the usual.
inline ScoringOptions ForeignAdSpendDefaultScoring() {
  ScoringOptions s;
  s.warmup = absl::Hours(12);
  s.level_half_life = absl::Hours(24);
  s.levels = {
      {Severity::kInfo, 3.0, 2.0, 10, absl::Hours(24)},
      {Severity::kWarning, 5.0, 3.0, 20, absl::Hours(24 * 7)},
      {Severity::kCritical, 8.0, 5.0, 50, absl::Hours(24 * 30)},
  };
  return s;
}

// Default scoring of the window's number of qualifying ads.
inline ScoringOptions ForeignAdCountDefaultScoring() {
  ScoringOptions s = ForeignAdSpendDefaultScoring();
  s.levels = {
      {Severity::kInfo, 3.0, 2.0, 5, absl::Hours(24)},
      {Severity::kWarning, 5.0, 3.0, 10, absl::Hours(24 * 7)},
      {Severity::kCritical, 8.0, 5.0, 20, absl::Hours(24 * 30)},
  };
  return s;
}

// What one target may override; inherited from the detector's settings.
struct ForeignAdSpendTargetOptions {
  // The target's own currencies; empty uses the built-in map
  // (TargetCurrencies). A target with none known does not use the currency
  // signal at all.
  std::vector<CurrencyCode> currencies;
  // A foreign payer's cumulative spend (sum of midpoints, in whatever
  // currencies it paid) that raises its first-seen alert.
  double first_seen_min_spend = 1000;
  // Qualifying ads a window needs before its spend may reach a rung: one
  // big ad is not a campaign (a foreign one gets its first-seen alert).
  int min_ads = 3;
  ScoringOptions scoring = ForeignAdSpendDefaultScoring();
  ScoringOptions count_scoring = ForeignAdCountDefaultScoring();
};

struct ForeignAdSpendOptions {
  bool enabled = true;
  // Sliding window length and hop; `window` must be a multiple of `hop`.
  absl::Duration window = absl::Hours(2);
  absl::Duration hop = absl::Minutes(10);
  // Targets to monitor; empty monitors every target seen.
  std::vector<CountryCode> targets;
  // Spend is scored in units of this many currency units.
  double spend_unit = 100;
  // Upper bound on tracked targets.
  int max_keys = 1000;
  // Upper bound on foreign payers remembered for first-seen alerts.
  int max_payers = 10000;
  // Severity of first-seen alerts. `info` by default: foreign payers are a
  // normal, if small, part of many ad libraries; raise it where foreign
  // funding of political ads is unlawful.
  Severity first_seen_severity = Severity::kInfo;
  // Detector-wide settings; per_target entries override them (`currencies`
  // is per target only).
  double first_seen_min_spend = 1000;
  int min_ads = 3;
  ScoringOptions scoring = ForeignAdSpendDefaultScoring();
  ScoringOptions count_scoring = ForeignAdCountDefaultScoring();
  std::map<CountryCode, ForeignAdSpendTargetOptions> per_target;
};

// The built-in map from a target country to the currencies its ads are
// normally paid in (e.g. MD -> MDL, DE -> EUR, BG -> BGN and EUR); empty for
// countries it does not know.
std::vector<CurrencyCode> TargetCurrencies(CountryCode target);

// Returns the detector. REQUIRES: options were validated by the config
// loader (window a positive multiple of hop, levels ordered, spend_unit > 0).
std::unique_ptr<Operator> MakeForeignAdSpend(
    const ForeignAdSpendOptions& options, const OperatorContext& context);

class CanonicalWriter;
class ConfigMap;

// Reads the section detectors.foreign_ad_spend (docs/config.md) into `out`,
// which holds the defaults on entry: an error names the key and its line.
absl::Status ParseOptions(ConfigMap& section, ForeignAdSpendOptions* out);

// Writes every setting of `options`, defaults included, under `prefix`
// ("detectors.foreign_ad_spend") in canonical form: the input to the config
// hash.
void WriteCanonical(std::string_view prefix,
                    const ForeignAdSpendOptions& options, CanonicalWriter& w);

}  // namespace vigia

#endif  // VIGIA_OPERATORS_FOREIGN_AD_SPEND_H_
