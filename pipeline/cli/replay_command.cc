// `vigia replay`: the whole pipeline over an archived feed.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/clock.h"
#include "operators/snapshot.h"
#include "pipeline/cli/commands.h"
#include "pipeline/cli/outputs.h"
#include "pipeline/core/files.h"
#include "pipeline/core/status_macros.h"
#include "pipeline/reader.h"
#include "pipeline/replay.h"
#include "pipeline/sinks.h"

namespace vigia::cli {
namespace {

// The largest --state-in read (a snapshot of a million keys is a few
// hundred MB).
constexpr size_t kMaxStateFileBytes = size_t{16} << 30;

// Without --dead-letters, dead letters go next to the first output file
// that was asked for (--alerts, else --summary), named after it; with
// neither they are counted in the summary and not kept (it says so).
constexpr char kDeadLetterSuffix[] = ".dead-letters.ndjson";

std::string DefaultDeadLetterPath(const std::string& alerts,
                                  const std::string& summary) {
  for (const std::string* out : {&alerts, &summary}) {
    if (out->empty() || *out == "-" || absl::StartsWith(*out, "/dev/")) {
      continue;
    }
    std::string base = *out;
    for (const char* ext : {".ndjson", ".jsonl", ".json"}) {
      if (absl::EndsWith(base, ext)) {
        base.resize(base.size() - std::strlen(ext));
        break;
      }
    }
    return base + kDeadLetterSuffix;
  }
  return "";
}

// "1:02:03" or "2:03".
std::string Clock(double seconds) {
  const int64_t s = static_cast<int64_t>(std::max(0.0, seconds) + 0.5);
  return s >= 3600
             ? absl::StrFormat("%d:%02d:%02d", s / 3600, s / 60 % 60, s % 60)
             : absl::StrFormat("%d:%02d", s / 60, s % 60);
}

// The one-line progress report on a terminal's stderr: how far (by bytes
// of the file, compressed or not), how fast, how long still to go. Alert
// lines on the same terminal first clear it (ClearingPrinter), so the two
// never share a line. Uses the wall clock: it reports to a person.
class Progress {
 public:
  void Report(const Pipeline& p, const LineReader& r) {
    const absl::Time now = absl::Now();
    if (now - last_ < absl::Milliseconds(200)) return;
    last_ = now;
    const double elapsed = absl::ToDoubleSeconds(now - start_);
    const int64_t records = p.stats().total_read();
    const double rate = elapsed > 0 ? records / elapsed : 0;
    int64_t alerts = 0;
    for (const auto& [k, v] : p.alert_counts().Snapshot()) alerts += v;
    std::string where;
    if (r.total_bytes() > 0) {
      const double done = static_cast<double>(r.bytes_read()) / r.total_bytes();
      const double eta = done > 0 ? elapsed * (1 - done) / done : 0;
      where = absl::StrFormat("%5.1f%%  ETA %s", 100 * done, Clock(eta));
    } else {
      where = absl::StrFormat("%.1f MB read", r.bytes_read() / 1e6);
    }
    std::fprintf(stderr, "\r\033[K  %s  %lld records  %.0fk/s  %lld alerts",
                 where.c_str(), static_cast<long long>(records), rate / 1e3,
                 static_cast<long long>(alerts));
    shown_ = true;
  }
  void Clear() {
    if (!shown_) return;
    std::fputs("\r\033[K", stderr);
    shown_ = false;
  }

 private:
  const absl::Time start_ = absl::Now();
  absl::Time last_ = absl::InfinitePast();
  bool shown_ = false;
};

// An AlertPrinter that clears the progress line before each alert line.
class ClearingPrinter final : public AlertSink {
 public:
  ClearingPrinter(AlertSink* inner, Progress* progress)
      : inner_(inner), progress_(progress) {}
  absl::Status Write(const Alert& alert) override {
    progress_->Clear();
    return inner_->Write(alert);
  }
  absl::Status Flush() override { return inner_->Flush(); }

 private:
  AlertSink* inner_;
  Progress* progress_;
};

absl::Status WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.flush();
  if (!out) return absl::UnavailableError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

// A replay runs far faster than event time, so episodes fire and resolve
// within seconds, and the sink holds each resolve back until its alert has
// been active for min_hold (so that Alertmanager notifies it at all). A
// drill must end as the real thing does, with every resolve delivered:
// wait for the holds rather than let them die with the process. Uses the
// wall clock, as the sink does.
void DeliverHeldResolves(AlertmanagerSink& sink) {
  const int64_t held = sink.stats().held.load();
  if (held == 0) return;
  std::fprintf(stderr,
               "  alertmanager     waiting for %lld held resolves "
               "(alertmanager.min_hold)\n",
               static_cast<long long>(held));
  while (sink.stats().held.load() > 0) {
    absl::SleepFor(absl::Milliseconds(200));
    // Queues the resolves whose hold is over and waits for their delivery.
    if (absl::Status s = sink.Flush(); !s.ok() && !absl::IsInternal(s)) {
      std::fprintf(stderr, "  alertmanager     %s\n", s.ToString().c_str());
      return;
    }
  }
}

// Reads --state-in and checks it is a whole snapshot, before any output is
// opened, so a bad file costs nothing.
absl::StatusOr<std::string> ReadStateIn(const std::string& state_in) {
  absl::StatusOr<std::string> bytes =
      ReadFileToString(state_in, kMaxStateFileBytes, "state file");
  if (!bytes.ok()) return bytes.status();
  if (absl::StatusOr<ParsedSnapshot> parsed = ParseSnapshot(*bytes);
      !parsed.ok()) {
    return absl::Status(
        parsed.status().code(),
        absl::StrCat("--state-in ", state_in, ": ", parsed.status().message()));
  }
  return bytes;
}

// Writes the run's final state to --state-out whole under a temporary
// name, then renames it: a reader never sees half a snapshot. A failure
// becomes the run's status.
void WriteStateOut(const std::string& state_out, RunSummary& summary) {
  const std::string tmp = PartialPath(state_out);
  if (absl::Status s = WriteFile(tmp, summary.state); !s.ok()) {
    summary.status = s;
  } else if (absl::Status s = CommitPartial(state_out); !s.ok()) {
    summary.status = s;
  } else {
    std::fprintf(stderr,
                 "  state            %zu bytes written to %s (windows left "
                 "open for --state-in)\n",
                 summary.state.size(), state_out.c_str());
  }
}

// Where the run's dead letters are (`dead_out`, null when none is kept).
void PrintDeadLetterLine(const RunSummary& summary,
                         const StagedOutput* dead_out) {
  if (summary.rejected + summary.late == 0) return;
  if (dead_out == nullptr) {
    std::fprintf(stderr,
                 "  dead letters     %lld not kept (--dead-letters FILE, "
                 "--alerts FILE or --summary FILE keeps them)\n",
                 static_cast<long long>(summary.rejected + summary.late));
  } else {
    // A complete run renames the file into place afterwards.
    std::fprintf(stderr, "  dead letters     %s%s\n",
                 summary.status.ok() ? dead_out->path.c_str()
                                     : dead_out->write_path.c_str(),
                 summary.status.ok() ? "" : " (incomplete)");
  }
}

// The command's error for a run that did not complete.
absl::Status RunOutcome(const RunSummary& summary,
                        const std::string& state_in) {
  if (!state_in.empty() && !summary.restored) {
    // Refused before its first line: nothing was read or written.
    return absl::Status(
        summary.status.code(),
        absl::StrCat("--state-in ", state_in, ": ", summary.status.message()));
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
  return absl::OkStatus();
}

absl::Status RunReplay(const ParsedFlags& flags) {
  absl::StatusOr<Config> config = LoadConfigFlag(flags);
  if (!config.ok()) return config.status();
  const std::string input = flags.get("input");
  const std::string alerts_path = flags.get("alerts");
  const std::string summary_path = flags.get("summary");
  const std::string dead_path = flags.get(
      "dead-letters", DefaultDeadLetterPath(alerts_path, summary_path));
  absl::StatusOr<Severity> min_severity =
      MinSeverityFlag(flags, Severity::kInfo);
  if (!min_severity.ok()) return min_severity.status();
  // Before anything is opened for writing: `--alerts f --input f` once
  // truncated the archive it was about to read.
  const std::string state_in = flags.get("state-in");
  const std::string state_out = flags.get("state-out");
  if (absl::Status s = CheckOutputsAreNotInputs(
          {{"--input", input},
           {"--config", flags.get("config")},
           {"--state-in", state_in},
           {"domains_file", config->state_media_amplification.domains_file}},
          {{"--alerts", alerts_path},
           {"--dead-letters", dead_path},
           {"--summary", summary_path},
           {"--state-out", state_out}});
      !s.ok()) {
    return s;
  }
  ReplayOptions options;
  options.save_state = !state_out.empty();
  if (!state_in.empty()) {
    absl::StatusOr<std::string> bytes = ReadStateIn(state_in);
    if (!bytes.ok()) return bytes.status();
    options.state_in = *std::move(bytes);
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
  // Alert lines for a person go to stdout, unless NDJSON already does;
  // --min-severity thins them (the files and Alertmanager get every alert).
  const bool tty = isatty(STDERR_FILENO) && !flags.has("quiet");
  Progress progress_line;
  AlertPrinter printer(stdout);
  ClearingPrinter clearing(&printer, &progress_line);
  SeverityFilterSink printed(
      tty ? static_cast<AlertSink*>(&clearing) : &printer, *min_severity);
  if (alerts_path != "-" && !flags.has("quiet")) alerts.Add(&printed);

  // Alertmanager compares startsAt/endsAt with its own clock, so a drill
  // over an old archive stamps them in processing time (see the sink).
  absl::StatusOr<std::unique_ptr<AlertmanagerSink>> alertmanager =
      MakeAlertmanagerSink(*config, flags, SystemClock::Get(),
                           alerts_path.empty() || alerts_path == "-"
                               ? absl::StrCat("vigia replay of ", input)
                               : absl::StrCat("file ", alerts_path));
  if (!alertmanager.ok()) return alertmanager.status();
  if (*alertmanager != nullptr) alerts.Add(alertmanager->get());

  absl::StatusOr<std::unique_ptr<DeadLetterSink>> opened =
      dead_path.empty() ? std::make_unique<NullDeadLetterSink>()
                        : OpenNdjsonDeadLetterSink(dead_out.write_path);
  if (!opened.ok()) return opened.status();
  std::unique_ptr<DeadLetterSink> dead = *std::move(opened);

  if (tty) {
    options.progress = [&progress_line](const Pipeline& p,
                                        const LineReader& r) {
      progress_line.Report(p, r);
    };
  }
  RunSummary summary = Replay(*config, **reader, input, alerts, *dead, options);
  if (!state_in.empty() && summary.restored) {
    std::fprintf(stderr, "  state            started from %s\n",
                 state_in.c_str());
  }
  if (summary.status.ok() && options.save_state) {
    WriteStateOut(state_out, summary);
  }
  progress_line.Clear();
  if (summary.status.ok() && *alertmanager != nullptr) {
    DeliverHeldResolves(**alertmanager);
  }

  std::fflush(stdout);
  std::fputs(SummaryToText(summary).c_str(), stderr);
  PrintDeadLetterLine(summary, dead_path.empty() ? nullptr : &dead_out);
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
  VIGIA_RETURN_IF_ERROR(RunOutcome(summary, state_in));
  // Closed (flushed) before they are renamed into place.
  ndjson.reset();
  dead.reset();
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
        absl::StrCat("write rejected and late records here (default: next "
                     "to --alerts FILE, else --summary FILE, as NAME",
                     kDeadLetterSuffix, "; with neither, only counted)")},
       {"summary", "FILE", "write a JSON summary of the run here"},
       {"min-severity", "LEVEL",
        "lowest severity printed: info (default), warning, critical; the "
        "--alerts file, Alertmanager and the summary keep every alert"},
       {"quiet", "", "print no alert lines and no progress"},
       {"state-in", "FILE",
        "start from the detector state a replay wrote with --state-out "
        "(same detection settings): no warm-up, open episodes go on"},
       {"state-out", "FILE",
        "at the end, leave the last windows open and write the whole "
        "state here (written whole, then renamed into place)"},
       AlertmanagerFlagSpec(),
       DrillFlagSpec()}};
  c.run = RunReplay;
  return c;
}

}  // namespace vigia::cli
