// state_media_amplification: per (target, state behind the outlet), the count
// of posts that share a URL of a listed state-affiliated media domain, or are
// posted by an account the platform labels state-affiliated, in a sliding
// event-time window, compared with the baseline learned from that key's own
// past (the shared scorer, operators/scorer.h).
//
// The domain list (deploy/state_media_domains.txt, embedded into the binary
// at build time; `domains_file` in the config replaces it) maps a domain to
// an optional country and outlet name. A URL matches when its host, or any
// parent domain of it, is listed ("de.rt.com" matches "rt.com"): one hash
// lookup per suffix of the host. A post counts once: under the country of
// the first listed URL it shares, or else, for a state-affiliated account,
// under the account's country (unknown when not given).
//
// Owned by the pipeline and used on its thread only; never reads the clock.
// State: max_keys keys, window/hop buckets per key; the list is immutable
// and may be shared.
#ifndef VIGIA_OPERATORS_STATE_MEDIA_AMPLIFICATION_H_
#define VIGIA_OPERATORS_STATE_MEDIA_AMPLIFICATION_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "operators/operator.h"
#include "operators/scoring_options.h"
#include "pipeline/core/types.h"

namespace vigia {

struct StateMediaOutlet {
  std::string domain;   // lower case, without "www."
  CountryCode country;  // the state behind it; unknown when not given
  std::string name;     // empty when not given
  int line = 0;         // line in the list file
};

// A parsed domain list. Immutable once built.
struct StateMediaList {
  std::vector<StateMediaOutlet> outlets;  // in file order
  // Where the list came from: "embedded" or the file's path.
  std::string origin;
  // Lower-case hex SHA-256 of the list's text, for the config hash.
  std::string sha256;
};

// Parses a domain list (format in deploy/state_media_domains.txt): one
// domain per line, then an optional country code, then an optional quoted
// name; '#' starts a comment. `name` prefixes errors, which are
// InvalidArgument "<name>:<line>: <problem>" for a bad domain, a bad or
// unknown country code, an unterminated quote, extra fields or a duplicate
// domain. An empty list is valid.
absl::StatusOr<StateMediaList> ParseStateMediaDomains(std::string_view text,
                                                      std::string_view name);

// The largest domains file read (16 MiB, some 400,000 domains; the bundled
// list is 5 kB).
inline constexpr size_t kMaxStateMediaDomainsFileBytes = 16 << 20;

// Reads and parses a list file; NotFound (or the matching errno status)
// when it cannot be read, InvalidArgument when it is larger than
// kMaxStateMediaDomainsFileBytes (reading stops there: /dev/zero once read
// 2.1 GB).
absl::StatusOr<StateMediaList> LoadStateMediaDomainsFile(
    const std::string& path);

// The text of deploy/state_media_domains.txt when the binary was built.
std::string_view EmbeddedStateMediaDomains();

// The embedded list, parsed once (an empty list, logged, should the
// embedded text ever fail to parse; a unit test keeps it parsing).
std::shared_ptr<const StateMediaList> DefaultStateMediaList();

// The default ladder: state-media shares follow the news about the state
// behind them, so the first rung needs twice the usual count.
inline ScoringOptions StateMediaAmplificationDefaultScoring() {
  ScoringOptions s;
  s.levels = {
      {Severity::kInfo, 3.0, 2.0, 10, absl::Hours(24)},
      {Severity::kWarning, 5.0, 3.0, 20, absl::Hours(24 * 7)},
      {Severity::kCritical, 8.0, 5.0, 40, absl::Hours(24 * 30)},
  };
  return s;
}

// What one target may override; every field starts from the detector's.
struct StateMediaAmplificationTargetOptions {
  ScoringOptions scoring = StateMediaAmplificationDefaultScoring();
};

struct StateMediaAmplificationOptions {
  bool enabled = true;
  // Sliding window length and hop; `window` must be a multiple of `hop`.
  absl::Duration window = absl::Minutes(10);
  absl::Duration hop = absl::Minutes(1);
  // Targets to monitor; empty monitors every target seen.
  std::vector<CountryCode> targets;
  // Upper bound on tracked (target, origin) keys.
  int max_keys = 10000;
  // Also count posts by accounts labelled state-affiliated.
  bool count_state_affiliated_accounts = true;
  // The list file; empty uses the embedded list.
  std::string domains_file;
  // The parsed list (set by the config loader from domains_file); null
  // means DefaultStateMediaList().
  std::shared_ptr<const StateMediaList> domains;
  ScoringOptions scoring = StateMediaAmplificationDefaultScoring();
  std::map<CountryCode, StateMediaAmplificationTargetOptions> per_target;
};

// Returns the detector. REQUIRES: options validated by the config loader
// (window a positive multiple of hop, levels ordered).
std::unique_ptr<Operator> MakeStateMediaAmplification(
    const StateMediaAmplificationOptions& options,
    const OperatorContext& context);

class CanonicalWriter;
class ConfigMap;

// Reads the section detectors.state_media_amplification (docs/config.md) into
// `out`, which holds the defaults on entry: an error names the key and its
// line.
absl::Status ParseOptions(ConfigMap& section,
                          StateMediaAmplificationOptions* out);

// Writes every setting of `options`, defaults included, under `prefix`
// ("detectors.state_media_amplification") in canonical form: the input to the
// config hash.
void WriteCanonical(std::string_view prefix,
                    const StateMediaAmplificationOptions& options,
                    CanonicalWriter& w);

}  // namespace vigia

#endif  // VIGIA_OPERATORS_STATE_MEDIA_AMPLIFICATION_H_
