// `vigia replay`: the whole pipeline over an archived feed.
#include <unistd.h>

#include <cstdio>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "pipeline/cli/commands.h"
#include "pipeline/cli/outputs.h"
#include "pipeline/core/files.h"
#include "pipeline/reader.h"
#include "pipeline/replay.h"
#include "pipeline/sinks.h"

namespace vigia::cli {
namespace {

constexpr char kDefaultDeadLetters[] = "vigia-dead-letters.ndjson";

absl::Status WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.flush();
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

absl::Status RunReplay(const ParsedFlags& flags) {
  absl::StatusOr<Config> config = LoadConfigFlag(flags);
  if (!config.ok()) return config.status();
  const std::string input = flags.get("input");
  const std::string alerts_path = flags.get("alerts");
  const std::string dead_path = flags.get("dead-letters", kDefaultDeadLetters);
  const std::string summary_path = flags.get("summary");
  // Before anything is opened for writing: `--alerts f --input f` once
  // truncated the archive it was about to read.
  if (absl::Status s = CheckOutputsAreNotInputs(
          {{"--input", input},
           {"--config", flags.get("config")},
           {"domains_file", config->state_media_amplification.domains_file}},
          {{"--alerts", alerts_path},
           {"--dead-letters", dead_path},
           {"--summary", summary_path}});
      !s.ok()) {
    return s;
  }
  absl::StatusOr<std::unique_ptr<LineReader>> reader = OpenLineReader(input);
  if (!reader.ok()) return reader.status();
  const StagedOutput alerts_out = StageOutput(alerts_path);
  const StagedOutput dead_out = StageOutput(dead_path);
  const StagedOutput summary_out = StageOutput(summary_path);

  TeeAlertSink alerts;
  std::unique_ptr<AlertSink> ndjson;
  if (!alerts_path.empty()) {
    absl::StatusOr<std::unique_ptr<AlertSink>> sink =
        OpenNdjsonAlertSink(alerts_out.write_path);
    if (!sink.ok()) return sink.status();
    ndjson = std::move(*sink);
    alerts.Add(ndjson.get());
  }
  // Alert lines for a person go to stdout, unless NDJSON already does.
  AlertPrinter printer(stdout);
  if (alerts_path != "-" && !flags.has("quiet")) alerts.Add(&printer);

  // Alertmanager compares startsAt/endsAt with its own clock, so a drill
  // over an old archive stamps them in processing time (see the sink).
  absl::StatusOr<std::unique_ptr<AlertmanagerSink>> alertmanager =
      MakeAlertmanagerSink(*config, flags, SystemClock::Get(),
                           alerts_path.empty() || alerts_path == "-"
                               ? absl::StrCat("vigia replay of ", input)
                               : absl::StrCat("file ", alerts_path));
  if (!alertmanager.ok()) return alertmanager.status();
  if (*alertmanager != nullptr) alerts.Add(alertmanager->get());

  absl::StatusOr<std::unique_ptr<DeadLetterSink>> dead =
      OpenNdjsonDeadLetterSink(dead_out.write_path);
  if (!dead.ok()) return dead.status();

  const bool tty = isatty(STDERR_FILENO) && !flags.has("quiet");
  ProgressFn progress;
  if (tty) {
    progress = [](const Pipeline& p, const LineReader& r) {
      const double pct =
          r.total_bytes() > 0 ? 100.0 * r.bytes_read() / r.total_bytes() : 0.0;
      std::fprintf(stderr, "\r  %5.1f%%  %lld events  %lld alerts   ", pct,
                   static_cast<long long>(p.stats().total_read()),
                   static_cast<long long>([&] {
                     int64_t n = 0;
                     for (const auto& [k, v] : p.alert_counts().Snapshot()) {
                       n += v;
                     }
                     return n;
                   }()));
    };
  }
  const RunSummary summary =
      Replay(*config, **reader, input, alerts, **dead, progress);
  if (tty) std::fputs("\r\033[K", stderr);

  std::fflush(stdout);
  std::fputs(SummaryToText(summary).c_str(), stderr);
  if (summary.rejected + summary.late > 0) {
    std::fprintf(stderr, "  dead letters     %s%s\n",
                 dead_out.write_path.c_str(),
                 summary.status.ok() ? "" : " (incomplete)");
  }
  // The summary is written whatever happened: for a failed run it says why
  // and after which line.
  if (!summary_path.empty()) {
    if (absl::Status s =
            WriteFile(summary_out.write_path, SummaryToJson(summary) + "\n");
        !s.ok()) {
      return s;
    }
    if (absl::Status s = Commit(summary_out); !s.ok()) return s;
  }
  if (!summary.status.ok()) {
    // The alerts and dead letters so far stay under their partial names;
    // the names a reader expects keep what a complete run left there.
    return absl::Status(
        summary.status.code(),
        absl::StrCat(summary.status.message(), " (after line ",
                     summary.last_line,
                     "; alerts and dead letters so far are in *.partial)"));
  }
  // Closed (flushed) before they are renamed into place.
  ndjson.reset();
  dead->reset();
  for (const StagedOutput* out : {&alerts_out, &dead_out}) {
    if (absl::Status s = Commit(*out); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace

Command ReplayCommand() {
  Command c;
  c.spec = {
      "replay",
      "run the whole pipeline over an archived NDJSON feed, as fast as it can",
      "Reads posts and ads (plain, .gz or .zst; '-' for stdin), runs every "
      "enabled detector\n"
      "in event time and prints the alerts. Deterministic: the same input and "
      "config give\n"
      "byte-identical alert output. Rejected and late records go to the "
      "dead-letter file\n"
      "with their reason. A summary goes to stderr at the end.",
      {{"input", "FILE", "archived feed (NDJSON, .gz or .zst)", true},
       {"config", "FILE", "YAML config (default: built-in defaults)"},
       {"alerts", "FILE", "write alerts as NDJSON here ('-' for stdout)"},
       {"dead-letters", "FILE",
        absl::StrCat("write rejected and late records here (default ",
                     kDefaultDeadLetters, ")")},
       {"summary", "FILE", "write a JSON summary of the run here"},
       {"quiet", "", "print no alert lines and no progress"},
       AlertmanagerFlagSpec(),
       DrillFlagSpec()}};
  c.run = RunReplay;
  return c;
}

}  // namespace vigia::cli
