// new_account_burst: per target, the count of posts by NEW accounts (created
// less than max_account_age before the post) in a sliding event-time window,
// compared with the baseline that target's own past gives (the shared
// scorer, operators/scorer.h). Sock-puppet networks are often registered in
// batches shortly before a campaign; a burst of their posts stands out from
// the steady trickle of genuine newcomers.
//
// A post counts when it is aimed at a known target, its account's creation
// time is known (posts without account.created_at are never "new") and
// 0 <= created_at - account_created_at < max_account_age. Every post aimed at
// the target is also tallied (not scored) so the evidence can give the new
// accounts' share of the window.
//
// Evidence: the top new accounts with their creation dates ("acct (created
// 2026-05-01)"), URLs and hashtags of their posts, the accounts' countries
// ("top_origins"), the estimated number of distinct new accounts (a
// HyperLogLog per hop, ~3% standard error), samples whose note gives the
// account's creation date.
//
// The key, and so the alert id, is the target alone; an alert names an
// origin when more than half of its window's new-account posts come from one
// known country (e.g. a batch of sock puppets registered in RU), and none
// otherwise.
//
// Counts are posts (what the scorer models), but a window starts or
// escalates an alert only when those posts come from at least min_accounts
// distinct new accounts (the HyperLogLog's estimate).
//
// Owned by the pipeline and used on its thread only; never reads the clock.
// State: one key per target (max_keys), window/hop buckets per key.
#ifndef VIGIA_OPERATORS_NEW_ACCOUNT_BURST_H_
#define VIGIA_OPERATORS_NEW_ACCOUNT_BURST_H_

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

// The default ladder: genuine sign-ups rise with the news (a debate can
// double them for an hour), so the first rung needs twice the usual count;
// a registered-in-bulk network posting in concert multiplies it.
inline ScoringOptions NewAccountBurstDefaultScoring() {
  ScoringOptions s;
  s.levels = {
      {Severity::kInfo, 3.0, 2.0, 10, absl::Hours(24)},
      {Severity::kWarning, 5.0, 3.0, 20, absl::Hours(24 * 7)},
      {Severity::kCritical, 8.0, 5.0, 40, absl::Hours(24 * 30)},
  };
  return s;
}

// What one target may override; every field starts from the detector's.
struct NewAccountBurstTargetOptions {
  absl::Duration max_account_age = absl::Hours(30 * 24);
  ScoringOptions scoring = NewAccountBurstDefaultScoring();
};

struct NewAccountBurstOptions {
  bool enabled = true;
  // Sliding window length and hop; `window` must be a multiple of `hop`.
  absl::Duration window = absl::Minutes(10);
  absl::Duration hop = absl::Minutes(1);
  // Targets to monitor; empty monitors every target seen.
  std::vector<CountryCode> targets;
  // Upper bound on tracked targets.
  int max_keys = 10000;
  // An account younger than this at the time of its post is new.
  absl::Duration max_account_age = absl::Hours(30 * 24);
  // A window starts or escalates an alert only when its new-account posts
  // come from at least this many distinct accounts: one fresh account
  // posting in a loop is spam, not the batch-registered network this
  // detector is for.
  int min_accounts = 5;
  ScoringOptions scoring = NewAccountBurstDefaultScoring();
  std::map<CountryCode, NewAccountBurstTargetOptions> per_target;
};

// Returns the detector. REQUIRES: options validated by the config loader
// (window a positive multiple of hop, levels ordered, ages positive).
std::unique_ptr<Operator> MakeNewAccountBurst(
    const NewAccountBurstOptions& options, const OperatorContext& context);

class CanonicalWriter;
class ConfigMap;

// Reads the section detectors.new_account_burst (docs/config.md) into `out`,
// which holds the defaults on entry: an error names the key and its line.
absl::Status ParseOptions(ConfigMap& section, NewAccountBurstOptions* out);

// Writes every setting of `options`, defaults included, under `prefix`
// ("detectors.new_account_burst") in canonical form: the input to the config
// hash.
void WriteCanonical(std::string_view prefix,
                    const NewAccountBurstOptions& options, CanonicalWriter& w);

}  // namespace vigia

#endif  // VIGIA_OPERATORS_NEW_ACCOUNT_BURST_H_
