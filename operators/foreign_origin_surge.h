// foreign_origin_surge: per (target, origin country), the count of
// foreign-origin posts in a sliding event-time window, compared with a
// baseline learned online from that key's own past (operators/scorer.h).
//
// Owned by the pipeline and used on its thread only. State is bounded by
// `max_keys` and by the window's bucket count; when the key cap bites, new
// keys are refused and counted in stats().cap_hits.
#ifndef VIGIA_OPERATORS_FOREIGN_ORIGIN_SURGE_H_
#define VIGIA_OPERATORS_FOREIGN_ORIGIN_SURGE_H_

#include <memory>
#include <vector>

#include "absl/time/time.h"
#include "operators/operator.h"
#include "operators/scoring_options.h"
#include "pipeline/core/types.h"

namespace vigia {

struct ForeignOriginSurgeOptions {
  bool enabled = true;
  // Sliding window length and hop; `window` must be a multiple of `hop`.
  absl::Duration window = absl::Minutes(10);
  absl::Duration hop = absl::Minutes(1);
  // Targets to monitor; empty monitors every target seen.
  std::vector<CountryCode> targets;
  // Upper bound on tracked (target, origin) keys.
  int max_keys = 10000;
  ScoringOptions scoring;
};

// Returns the detector. REQUIRES: options were validated by the config
// loader (window a positive multiple of hop, levels ordered).
std::unique_ptr<Operator> MakeForeignOriginSurge(
    const ForeignOriginSurgeOptions& options, const OperatorContext& context);

}  // namespace vigia

#endif  // VIGIA_OPERATORS_FOREIGN_ORIGIN_SURGE_H_
