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
#include <string_view>
#include <vector>

#include "absl/status/status.h"
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

class CanonicalWriter;
class ConfigMap;

// Reads the section detectors.foreign_origin_surge (docs/config.md) into `out`,
// which holds the defaults on entry: an error names the key and its line.
absl::Status ParseOptions(ConfigMap& section, ForeignOriginSurgeOptions* out);

// Writes every setting of `options`, defaults included, under `prefix`
// ("detectors.foreign_origin_surge") in canonical form: the input to the config
// hash.
void WriteCanonical(std::string_view prefix,
                    const ForeignOriginSurgeOptions& options,
                    CanonicalWriter& w);

}  // namespace vigia

#endif  // VIGIA_OPERATORS_FOREIGN_ORIGIN_SURGE_H_
