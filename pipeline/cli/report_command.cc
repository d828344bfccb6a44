// `vigia report`: the after-action report of a replay or drill as one
// self-contained HTML file (pipeline/report.h, docs/report.md).
#include <cstdio>
#include <fstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "pipeline/cli/commands.h"
#include "pipeline/core/files.h"
#include "pipeline/report.h"

namespace vigia::cli {
namespace {

absl::Status RunReport(const ParsedFlags& flags) {
  ReportOptions options;
  options.archive_path = flags.get("input");
  options.alerts_path = flags.get("alerts");
  options.truth_path = flags.get("truth", "");
  options.title = flags.get("title", "");
  if (flags.has("bucket")) {
    absl::Duration bucket;
    if (!absl::ParseDuration(flags.get("bucket"), &bucket) ||
        bucket <= absl::ZeroDuration()) {
      return absl::InvalidArgumentError(
          absl::StrCat("--bucket: expected a positive duration such as 10m, "
                       "got \"",
                       flags.get("bucket"), "\""));
    }
    options.bucket = bucket;
  }
  absl::StatusOr<Config> config = LoadConfigFlag(flags);
  if (!config.ok()) return config.status();
  options.decoder = config->decoder;
  const std::string output = flags.get("out");
  if (absl::Status s =
          CheckOutputsAreNotInputs({{"--input", options.archive_path},
                                    {"--alerts", options.alerts_path},
                                    {"--truth", options.truth_path}},
                                   {{"--out", output}});
      !s.ok()) {
    return s;
  }
  // Written under a temporary name and renamed when complete.
  const StagedOutput staged = StageOutput(output);
  absl::StatusOr<ReportSummary> summary;
  {
    std::ofstream out(staged.write_path, std::ios::binary | std::ios::trunc);
    if (!out) {
      return absl::UnavailableError(
          absl::StrCat("cannot write ", staged.write_path));
    }
    summary = WriteReport(options, out);
    out.close();
    if (summary.ok() && !out) {
      summary = absl::UnavailableError(
          absl::StrCat("cannot write ", staged.write_path));
    }
  }
  if (!summary.ok()) {
    std::remove(staged.write_path.c_str());
    return summary.status();
  }
  if (absl::Status s = Commit(staged); !s.ok()) return s;
  std::fprintf(stderr,
               "vigia report: %lld events (%lld bad lines), %lld alerts, %d "
               "targets plotted",
               static_cast<long long>(summary->events),
               static_cast<long long>(summary->bad_lines),
               static_cast<long long>(summary->episodes),
               summary->targets_plotted);
  if (!options.truth_path.empty()) {
    std::fprintf(stderr,
                 "; campaigns found %d, missed %d, false alarms %d, "
                 "warning-or-worse alerts about no campaign %d",
                 summary->found, summary->missed, summary->false_alarms,
                 summary->unmatched_episodes);
  }
  std::fprintf(stderr, " -> %s\n", output.c_str());
  return absl::OkStatus();
}

}  // namespace

Command ReportCommand() {
  Command c;
  c.spec = {
      "report",
      "write the after-action report of a replay as one offline HTML file",
      "Reads the replayed archive and the alerts the replay wrote (--alerts "
      "of vigia replay),\n"
      "and writes one self-contained HTML page: per target, traffic by "
      "origin over time with\n"
      "the alert episodes drawn on it (inline SVG, no script), and a table "
      "of the alerts with\n"
      "severity, times and evidence. With --truth (vigia gen --truth), each "
      "campaign is\n"
      "scored found, missed or a false alarm, with its detection delay.",
      {{"input", "FILE", "the replayed archive (plain, .gz or .zst)", true},
       {"alerts", "FILE", "the replay's alert records (NDJSON)", true},
       {"out", "FILE", "the HTML report to write", true},
       {"truth", "FILE", "the generator's ground truth, to score campaigns"},
       {"config", "FILE", "the replay's config (decoder limits)"},
       {"bucket", "DURATION",
        "plot bucket width (default: at most 240 buckets over the archive)"},
       {"title", "TEXT", "the report's title"}}};
  c.run = RunReport;
  return c;
}

}  // namespace vigia::cli
