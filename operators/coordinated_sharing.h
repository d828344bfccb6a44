// coordinated_sharing: k or more distinct accounts post the same URL, the
// same text, or repost the same post, aimed at one target, within Δt of each
// other. Not a count against a baseline: a cluster is its own evidence, and
// its size (distinct accounts within Δt) sets the severity.
//
// Keys are (target, kind, subject) with three separate kinds:
//   "url"    - the normalised URL (operators/url_normalize.h) of an original
//              post (each distinct URL of the post counts once);
//   "text"   - the 64-bit fingerprint of the normalised text of an original
//              post with at least min_text_words words;
//   "repost" - the id a repost points at (repost_of), so repost storms are
//              counted apart from original posts.
// The window is pairwise and sliding, not binned: each key keeps its posts of
// the last Δt in event-time order, and each post, once the watermark passes
// it, is judged with the posts of the Δt before it, so two posts one second
// apart pair even across a minute boundary. Only distinct accounts count: one
// account posting a URL fifty times is one account.
//
// An episode starts when a key first reaches the lowest rung of its ladder
// (firing), escalates rung by rung as the cluster grows (the lower alert is
// resolved as superseded, the higher one fires), and resolves once the key
// has had no post for resolve_after of event time.
//
// Memory: at most max_keys keys (the least recently used idle key is evicted
// when a new one needs room) and max_posts_per_key posts per key within Δt
// of each other (the oldest of the window is dropped); both count in
// stats().cap_hits. Posts ahead of the watermark are held too, so a key
// holds up to twice max_posts_per_key per Δt up to the newest. A firing
// episode keeps its accounts exactly, up to kMaxEpisodeAccounts.
//
// Owned by the pipeline and used on its thread only; never reads the clock.
#ifndef VIGIA_OPERATORS_COORDINATED_SHARING_H_
#define VIGIA_OPERATORS_COORDINATED_SHARING_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "operators/operator.h"
#include "pipeline/core/alert.h"
#include "pipeline/core/types.h"

namespace vigia {

// One rung of a cluster ladder: a cluster of at least `min_accounts`
// distinct accounts within the window reaches `severity`.
struct ClusterLevel {
  Severity severity = Severity::kInfo;
  int min_accounts = 5;
};

// Original posts (URL and text): k = 5, warning at 2k, critical at 4k.
inline std::vector<ClusterLevel> CoordinatedSharingDefaultLevels() {
  return {{Severity::kInfo, 5},
          {Severity::kWarning, 10},
          {Severity::kCritical, 20}};
}
// Reposts: organic reposting of a popular post is fast and common, so the
// rungs are higher.
inline std::vector<ClusterLevel> CoordinatedSharingDefaultRepostLevels() {
  return {{Severity::kInfo, 10},
          {Severity::kWarning, 25},
          {Severity::kCritical, 50}};
}

// What one target may override; every field starts from the detector's.
struct CoordinatedSharingTargetOptions {
  std::vector<ClusterLevel> levels = CoordinatedSharingDefaultLevels();
  std::vector<ClusterLevel> repost_levels =
      CoordinatedSharingDefaultRepostLevels();
};

struct CoordinatedSharingOptions {
  bool enabled = true;
  // Δt: the posts of a cluster lie within this much event time of each other.
  absl::Duration window = absl::Seconds(60);
  // An episode resolves after this much event time without a post of its key.
  // REQUIRES: >= window.
  absl::Duration resolve_after = absl::Minutes(10);
  // Texts with fewer words (after normalisation) are not fingerprinted:
  // "yes", "thank you" or "vote!" are shared by coincidence.
  int min_text_words = 5;
  // Targets to monitor; empty monitors every target seen.
  std::vector<CountryCode> targets;
  // Upper bound on tracked keys (URLs, texts and reposts together).
  int max_keys = 200000;
  // Upper bound on the posts a key keeps within Δt of each other (those of
  // one window; a catch-up holds more, ahead of the watermark).
  int max_posts_per_key = 128;
  // The ladders, lowest first; the lowest rung's min_accounts is k.
  std::vector<ClusterLevel> levels = CoordinatedSharingDefaultLevels();
  std::vector<ClusterLevel> repost_levels =
      CoordinatedSharingDefaultRepostLevels();
  std::map<CountryCode, CoordinatedSharingTargetOptions> per_target;
};

// Accounts an episode keeps exactly for its evidence; further accounts
// still count in the cluster size but are not listed.
inline constexpr int kMaxEpisodeAccounts = 4096;

// The text normal form that is fingerprinted: URLs ("http://", "https://",
// "www." tokens) and mentions ("@name" tokens) removed, letters folded as
// operators/text_fold.h folds them (lower-cased; Latin letters without
// their accents, ñ kept; NFC and NFD alike), punctuation and symbols (ASCII,
// Latin-1, general punctuation, arrows and emoji ranges) turned into word
// breaks, words joined by one space. Bytes that are not valid UTF-8 are
// dropped.
std::string NormalizePostText(std::string_view text);
// The same into `out` (replacing its contents), reusing its capacity.
void NormalizePostTextTo(std::string_view text, std::string& out);

// The number of words of a normalised text.
int CountWords(std::string_view normalized);

// The 64-bit fingerprint of a normalised text (StableHash64), as the 16 hex
// digits alerts carry in `subject`.
std::string TextFingerprintHex(std::string_view normalized);

// Returns the detector. REQUIRES: options validated by the config loader
// (ladders non-empty and ascending, min_accounts >= 2, window > 0,
// resolve_after >= window).
std::unique_ptr<Operator> MakeCoordinatedSharing(
    const CoordinatedSharingOptions& options, const OperatorContext& context);

class CanonicalWriter;
class ConfigMap;

// Reads the section detectors.coordinated_sharing (docs/config.md) into `out`,
// which holds the defaults on entry: an error names the key and its line.
absl::Status ParseOptions(ConfigMap& section, CoordinatedSharingOptions* out);

// Writes every setting of `options`, defaults included, under `prefix`
// ("detectors.coordinated_sharing") in canonical form: the input to the config
// hash.
void WriteCanonical(std::string_view prefix,
                    const CoordinatedSharingOptions& options,
                    CanonicalWriter& w);

}  // namespace vigia

#endif  // VIGIA_OPERATORS_COORDINATED_SHARING_H_
