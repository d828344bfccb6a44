// The alert record: what a detector claims, and the evidence chain that lets
// a person or a court check the claim. The wire format is docs/alerts.md.
//
// Alerts are plain values, built by an operator on the pipeline thread and
// handed to sinks by value; they own all their strings.
#ifndef VIGIA_PIPELINE_CORE_ALERT_H_
#define VIGIA_PIPELINE_CORE_ALERT_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/time/time.h"
#include "pipeline/core/types.h"

namespace vigia {

enum class Severity : uint8_t { kInfo = 0, kWarning = 1, kCritical = 2 };
inline constexpr int kNumSeverities = 3;
std::string_view SeverityName(Severity s);

enum class AlertState : uint8_t { kFiring = 0, kResolved = 1 };
std::string_view AlertStateName(AlertState s);

// A value and how often it was seen in the alert's window (an account, a URL,
// a hashtag). Counts from sketches are upper bounds; `error` bounds the
// overcount (0 when exact).
struct Tally {
  std::string value;
  int64_t count = 0;
  int64_t error = 0;
};

// One event quoted as evidence, with the coordinates of its original bytes.
struct SampleEvent {
  std::string id;
  std::string account;  // account id (post) or page id (ad)
  absl::Time created_at;
  std::string source;      // file path or topic
  int32_t partition = -1;  // -1 for files
  int64_t position = 0;    // line (files) or offset (Kafka)
  // Why this event counted, when the detector says more than its summary
  // (e.g. "foreign_payer,no_disclaimer"); empty otherwise.
  std::string note;
};

// How many people the window's records could have reached (docs/alerts.md,
// "Reach"): the followers of the distinct posting accounts, reposts, and
// the ads' reported impressions. Counts of what could not be measured sit
// beside each figure, so a small number is never mistaken for a complete
// one.
struct Reach {
  // Distinct posting accounts with a follower count, and the sum of their
  // followers (an account's largest count in the window). Exact up to a
  // few dozen accounts; beyond, estimated from a sample (`estimated`).
  int64_t accounts = 0;
  int64_t followers = 0;
  bool estimated = false;
  int64_t posts_without_followers = 0;
  int64_t reposts = 0;           // posts of the window that are reposts
  int64_t reported_reposts = 0;  // sum of the posts' own repost counts
  // Sums of the ads' reported impression ranges, over the ads that report
  // one.
  int64_t ads_with_impressions = 0;
  double impressions_lower = 0;
  double impressions_upper = 0;
  int64_t ads_without_impressions = 0;
};

struct Evidence {
  std::vector<Tally> top_accounts;
  std::vector<Tally> top_urls;
  std::vector<Tally> top_hashtags;
  // Further top lists a detector names itself (e.g. "top_payers", ranked by
  // spend), written after top_hashtags in this order; empty for most.
  std::vector<std::pair<std::string, std::vector<Tally>>> other_tops;
  std::vector<SampleEvent> samples;
  // How the expectation was formed, as named numbers (e.g. the learned
  // level, the time-of-day factor, hours of history), so the comparison can
  // be redone by hand. Written in order.
  std::vector<std::pair<std::string, double>> baseline;
  // Absent for detectors that do not measure reach (written as no field).
  std::optional<Reach> reach;
};

struct Alert {
  std::string id;
  std::string detector;
  AlertState state = AlertState::kFiring;
  Severity severity = Severity::kInfo;
  CountryCode target;
  CountryCode origin;  // unknown when the detector has none
  // What the alert is about beyond target and origin (a hashtag, a URL or
  // text fingerprint); empty for none. `subject_kind` names it ("hashtag").
  std::string subject_kind;
  std::string subject;
  absl::Time window_start;
  absl::Time window_end;
  double observed = 0;
  double expected = 0;
  double score = 0;      // significance, in the detector's score unit
  double threshold = 0;  // the score threshold of `severity`
  double ratio = 0;      // effect size: (observed + 1) / (expected + 1)
  std::string summary;
  Evidence evidence;
  std::string config_hash;
  // The campaign the record belonged to as it was raised ("c" + 19 hex
  // digits; pipeline/campaigns.h), or empty where no pipeline stamped it
  // (an operator's own tests).
  std::string campaign;
};

// Returns a deterministic alert id: the first 20 hex digits of the SHA-256
// of the detector, its key, the episode's first window end, the severity
// and the config hash. The same input and config give the same id; a firing
// record and the resolved record that ends it share their id.
std::string MakeAlertId(std::string_view detector, std::string_view key,
                        absl::Time episode_start, Severity severity,
                        std::string_view config_hash);

// Returns the alert as one line of JSON (no trailing newline), fields in the
// order of docs/alerts.md. Deterministic: equal alerts give equal bytes.
std::string AlertToJson(const Alert& alert);

}  // namespace vigia

#endif  // VIGIA_PIPELINE_CORE_ALERT_H_
