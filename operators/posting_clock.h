// posting_clock: a set of accounts aimed at a target whose posting follows
// the working day of a time zone far from the target's: most of their posts
// fall on weekdays between 09:00 and 18:00 local time of that zone, few at
// its nights or weekends. Organic users post through their evenings and
// weekends; an office paid to post does not.
//
// For each target it keeps, per account, the account's posts of the last
// week by UTC hour of the week (168 one-byte bins, saturating at 255), and
// the same histogram for the target's whole population. Every `hop` it
// classifies each account with at least `min_posts` posts on at least
// `min_active_days` days: the UTC offset whose weekday 09-18 mask holds the
// largest share of its posts (ties go to the offset nearest the target's),
// if that share is at least `min_share`. Accounts whose zone lies at least
// `min_offset_distance` hours from every offset of the target form a group
// per (target, offset). A group is judged with the shared scorer's Judge():
// observed = its posts inside the zone's working hours, expected = its posts
// times the share of the rest of the target's posts in those same hours. A
// group needs `min_accounts` accounts to reach any rung of `levels`.
//
// Owned by the pipeline and used on its thread only. Memory is bounded by
// max_accounts (about 95 bytes each, docs/performance.md); when full, an
// account with too few posts to be classified is recycled, else the newcomer is
// refused; both count in stats().cap_hits.
#ifndef VIGIA_OPERATORS_POSTING_CLOCK_H_
#define VIGIA_OPERATORS_POSTING_CLOCK_H_

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

// The default ladder: on posts inside the zone's working hours, against
// what the rest of the target's posts would put there.
inline std::vector<SeverityLevel> PostingClockDefaultLevels() {
  return {
      {Severity::kInfo, 3.0, 1.5, 100},
      {Severity::kWarning, 5.0, 2.0, 200},
      {Severity::kCritical, 8.0, 3.0, 500},
  };
}

// What one target may override; inherited from the detector's settings.
struct PostingClockTargetOptions {
  // The target's own UTC offsets in hours (standard and summer time); empty
  // uses the built-in map (TargetUtcOffsets) and, for a country it does not
  // know, the offset whose local 01:00-06:00 is the quietest for the
  // target's posts.
  std::vector<int> utc_offsets;
  int min_accounts = 5;
  std::vector<SeverityLevel> levels = PostingClockDefaultLevels();
};

struct PostingClockOptions {
  bool enabled = true;
  // How often the groups are re-evaluated (the histograms cover the last
  // week whatever the hop).
  absl::Duration hop = absl::Hours(1);
  // Targets to monitor; empty monitors every target seen.
  std::vector<CountryCode> targets;
  // Upper bound on accounts tracked (over all targets).
  int max_accounts = 100000;
  // An account is classified only with at least this many posts in the
  // week, on at least this many distinct days (UTC).
  int min_posts = 20;
  int min_active_days = 3;
  // Share of an account's posts inside its zone's weekday 09-18.
  double min_share = 0.8;
  // Hours between the account's zone and the nearest of the target's.
  int min_offset_distance = 3;
  // Detector-wide settings; per_target entries override them (utc_offsets
  // is per target only).
  int min_accounts = 5;
  std::vector<SeverityLevel> levels = PostingClockDefaultLevels();
  std::map<CountryCode, PostingClockTargetOptions> per_target;
};

// The built-in UTC offsets (hours, standard and summer time) of a target
// country, e.g. MD -> {2, 3}; empty for countries the map does not know.
std::vector<int> TargetUtcOffsets(CountryCode target);

// Returns the detector. REQUIRES: options were validated by the config
// loader (hop a positive whole number of hours, levels ordered).
std::unique_ptr<Operator> MakePostingClock(const PostingClockOptions& options,
                                           const OperatorContext& context);

class CanonicalWriter;
class ConfigMap;

// Reads the section detectors.posting_clock (docs/config.md) into `out`, which
// holds the defaults on entry: an error names the key and its line.
absl::Status ParseOptions(ConfigMap& section, PostingClockOptions* out);

// Writes every setting of `options`, defaults included, under `prefix`
// ("detectors.posting_clock") in canonical form: the input to the config hash.
void WriteCanonical(std::string_view prefix, const PostingClockOptions& options,
                    CanonicalWriter& w);

}  // namespace vigia

#endif  // VIGIA_OPERATORS_POSTING_CLOCK_H_
