// `vigia report`: the after-action report of a replay or drill, one
// self-contained HTML file a person can read offline (docs/report.md).
//
// From the archive that was replayed, the alert records the replay wrote
// and, optionally, the generator's ground truth, it draws per target the
// traffic by origin over time with the alert episodes (and the truth's
// campaign windows) on it, lists the alerts with severity, detection delay
// and evidence, and scores the truth's campaigns: found, missed, or for
// organic activity quiet or a false alarm.
//
// The plots are SVG written here (no plotting library, no script): the
// file needs no network, no JavaScript and no fonts beyond the browser's.
//
// Stateless functions; thread-compatible.
#ifndef VIGIA_PIPELINE_REPORT_H_
#define VIGIA_PIPELINE_REPORT_H_

#include <cstdint>
#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "pipeline/decoder.h"

namespace vigia {

struct ReportOptions {
  std::string archive_path;  // the replayed feed (plain, .gz, .zst)
  std::string alerts_path;   // the replay's --alerts NDJSON
  std::string truth_path;    // `vigia gen --truth` JSON; empty: none
  std::string title;         // empty: from the file names
  // Width of a plot's time bucket; zero picks one giving at most
  // kMaxBuckets buckets over the archive's span.
  absl::Duration bucket = absl::ZeroDuration();
  DecoderOptions decoder;
};
inline constexpr int kMaxBuckets = 240;
// Targets plotted: every target with an alert or a truth campaign, then
// the most foreign traffic, at most this many in all.
inline constexpr int kMaxPlottedTargets = 12;
// Origins drawn per target (by volume); the rest of the foreign traffic is
// one "other foreign" series.
inline constexpr int kMaxPlottedOrigins = 5;

struct ReportSummary {
  int64_t lines = 0;
  int64_t events = 0;
  int64_t bad_lines = 0;
  int64_t alert_records = 0;
  int64_t episodes = 0;  // distinct alert ids
  int targets_plotted = 0;
  // With a truth file: interference campaigns found and missed, organic
  // ones that raised a warning or worse (false alarms), and warning-or-
  // worse episodes about no campaign.
  int found = 0;
  int missed = 0;
  int false_alarms = 0;
  int unmatched_episodes = 0;
};

// Reads the inputs and writes the HTML to `out`. InvalidArgument names the
// file and line of a bad alert record or truth file; bad archive lines are
// counted (bad_lines), as the replay counted them.
absl::StatusOr<ReportSummary> WriteReport(const ReportOptions& options,
                                          std::ostream& out);

}  // namespace vigia

#endif  // VIGIA_PIPELINE_REPORT_H_
