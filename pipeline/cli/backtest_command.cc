// `vigia backtest`: the shared scorer over a univariate CSV series (see
// pipeline/backtest.h and docs/backtest.md).
#include <cerrno>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include "absl/strings/str_cat.h"
#include "pipeline/backtest.h"
#include "pipeline/cli/commands.h"
#include "pipeline/core/files.h"

namespace vigia::cli {
namespace {

absl::Status DurationFlag(const ParsedFlags& flags, std::string_view name,
                          absl::Duration* out) {
  if (!flags.has(name)) return absl::OkStatus();
  const std::string text = flags.get(name);
  absl::Duration d;
  if (!absl::ParseDuration(text, &d) || d < absl::ZeroDuration() ||
      d == absl::InfiniteDuration()) {
    return absl::InvalidArgumentError(absl::StrCat(
        "--", std::string(name),
        ": expected a duration such as 30m or 24h, got \"", text, "\""));
  }
  // Zero is meaningful for these two: no warm-up; episodes end at the first
  // quiet row.
  if (d == absl::ZeroDuration() && name != "warmup" && name != "hold") {
    return absl::InvalidArgumentError(
        absl::StrCat("--", std::string(name), ": must be positive"));
  }
  *out = d;
  return absl::OkStatus();
}

absl::Status RunBacktestCommand(const ParsedFlags& flags) {
  BacktestOptions options;
  options.scoring.two_sided = flags.has("two-sided");
  options.per_row = flags.has("per-row");
  options.skip_bad_rows = flags.has("skip-bad-rows");
  options.scoring.daily_cycle = !flags.has("no-daily-cycle");
  if (absl::Status s = DurationFlag(flags, "warmup", &options.scoring.warmup);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = DurationFlag(flags, "level-half-life",
                                    &options.scoring.level_half_life);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = DurationFlag(flags, "dispersion-half-life",
                                    &options.scoring.dispersion_half_life);
      !s.ok()) {
    return s;
  }
  if (absl::Status s = DurationFlag(flags, "hold", &options.scoring.hold);
      !s.ok()) {
    return s;
  }

  const std::string series = flags.get("series");
  if (absl::Status s = CheckOutputsAreNotInputs(
          {{"--series", series}}, {{"--output", flags.get("output")}});
      !s.ok()) {
    return s;
  }
  std::ifstream file;
  std::istream* in = &std::cin;
  if (series != "-") {
    file.open(series, std::ios::binary);
    if (!file) {
      return absl::ErrnoToStatus(errno, absl::StrCat("cannot open ", series));
    }
    in = &file;
  }
  // A file is written under a temporary name and renamed when complete, so
  // a run stopped by a bad row leaves no half-written scores behind.
  const std::string output = flags.get("output", "-");
  const std::string tmp = output + ".tmp";
  std::ofstream out_file;
  std::ostream* out = &std::cout;
  if (output != "-") {
    out_file.open(tmp, std::ios::binary | std::ios::trunc);
    if (!out_file) {
      return absl::ErrnoToStatus(errno, absl::StrCat("cannot write ", tmp));
    }
    out = &out_file;
  }
  absl::StatusOr<BacktestSummary> summary = RunBacktest(*in, *out, options);
  if (output != "-") {
    out_file.close();
    if (summary.ok() && !out_file) {
      summary = absl::UnavailableError(absl::StrCat("cannot write ", tmp));
    }
    if (!summary.ok()) {
      std::remove(tmp.c_str());
    } else if (std::rename(tmp.c_str(), output.c_str()) != 0) {
      return absl::ErrnoToStatus(
          errno, absl::StrCat("cannot rename ", tmp, " to ", output));
    }
  }
  if (!summary.ok()) {
    return absl::Status(summary.status().code(),
                        absl::StrCat(series, ": ", summary.status().message()));
  }
  std::fprintf(stderr,
               "vigia backtest: %lld rows scored (%lld past warm-up, %lld "
               "with anomaly_score >= 0.5, %lld episodes, %lld alert records), "
               "%lld bad rows skipped%s -> %s\n",
               static_cast<long long>(summary->rows),
               static_cast<long long>(summary->warm_rows),
               static_cast<long long>(summary->high_rows),
               static_cast<long long>(summary->episodes),
               static_cast<long long>(summary->alert_rows),
               static_cast<long long>(summary->skipped),
               summary->header ? ", header skipped" : "", output.c_str());
  if (summary->max_score > 0) {
    std::fprintf(stderr, "  highest score %.6f at %s (line %lld)\n",
                 summary->max_score, summary->max_timestamp.c_str(),
                 static_cast<long long>(summary->max_line));
  }
  return absl::OkStatus();
}

}  // namespace

Command BacktestCommand() {
  Command c;
  c.spec = {
      "backtest",
      "judge a univariate CSV series as a detector judges one key",
      "Reads timestamp,value rows (RFC 3339 or YYYY-MM-DD HH:MM:SS UTC, an "
      "optional header,\nirregular sampling allowed) and judges them as a "
      "detector judges one key's\nwindows, causally (each row against the "
      "rows before it only). Writes\ntimestamp,value,anomaly_score,severity: "
      "the score in [0, 1] is non-zero only on\nthe rows where a detector "
      "would have sent on-call a firing record (an episode\nstarts or "
      "escalates), and grows with how rare the row is on the series' own\n"
      "calibrated history; --per-row scores every row instead. Use it on "
      "labelled\npublic series (e.g. the Numenta Anomaly Benchmark). A bad row "
      "stops the run\nwith its line number unless --skip-bad-rows. See "
      "docs/backtest.md.",
      {{"series", "FILE", "the input CSV ('-' for stdin)", true},
       {"output", "FILE",
        "where to write the scored CSV (default '-', stdout)"},
       {"two-sided", "", "score drops as well as rises"},
       {"per-row", "",
        "score every row by its rarity, not only the alerts' rows"},
       {"hold", "DUR",
        "how long an episode outlasts its last unusual row (default 1h)"},
       {"skip-bad-rows", "", "skip (and count) bad rows instead of failing"},
       {"warmup", "DUR", "history before any row is scored (default 1h)"},
       {"level-half-life", "DUR",
        "half-life of the learned level (default 3h)"},
       {"dispersion-half-life", "DUR",
        "half-life of the learned variance (default 24h)"},
       {"no-daily-cycle", "", "do not learn a time-of-day profile"}}};
  c.run = RunBacktestCommand;
  return c;
}

}  // namespace vigia::cli
