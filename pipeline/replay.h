// Replay: runs the whole pipeline over an archived feed as fast as it can.
//
// Deterministic by construction: processing time follows event time (no
// wall clock reaches the pipeline), so the same input and config give
// byte-identical alerts. Wall time is read only to report throughput.
#ifndef VIGIA_PIPELINE_REPLAY_H_
#define VIGIA_PIPELINE_REPLAY_H_

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "pipeline/config.h"
#include "pipeline/pipeline.h"
#include "pipeline/reader.h"
#include "pipeline/sinks.h"

namespace vigia {

// What a run saw, complete or not: the numbers behind the human and JSON
// summaries.
struct RunSummary {
  std::string input;
  int64_t read = 0;
  int64_t processed = 0;
  int64_t late = 0;
  int64_t rejected = 0;
  // Processed events some detector could not take (dead-lettered as
  // detector_refused).
  int64_t refused = 0;
  std::map<std::string, int64_t> rejected_by_reason;  // reason -> count
  std::map<std::string, int64_t> processed_by_feed;   // feed -> count
  // "detector/severity/state" -> count
  std::map<std::string, int64_t> alerts;
  int64_t alerts_total = 0;
  int64_t bytes = 0;
  absl::Duration elapsed;
  absl::Time watermark = absl::InfinitePast();
  std::string config_hash;
  // OK when every line was read and every window closed; otherwise why the
  // run stopped (a truncated archive, a failing sink). The counts are then
  // those up to the stop, and the outputs hold what was written by then.
  absl::Status status;
  // The number of the last line read (0 before the first): where a failed
  // run stopped.
  int64_t last_line = 0;
  // Snapshots (ReplayOptions): whether the run started from one, and the
  // snapshot of its end state when one was asked for (empty otherwise, and
  // after a failure).
  bool restored = false;
  std::string state;
  double events_per_second() const;
};

// Called every `progress_every` records with the pipeline and reader, for a
// progress line.
using ProgressFn = std::function<void(const Pipeline&, const LineReader&)>;

// How a replay starts and ends, beyond its input and outputs.
struct ReplayOptions {
  ProgressFn progress;
  int64_t progress_every = 100000;
  // A snapshot (operators/snapshot.h, docs/state.md) to start from, as
  // written by an earlier replay with save_state; none: start fresh. It
  // must come from the same detection settings (config hash). When both
  // runs read standard input ("-"), the lines continue the earlier run's
  // numbering: one stream split over two runs.
  std::optional<std::string> state_in;
  // End without closing the windows (no Finish(): the last windows stay
  // open for a run that continues) and return the whole state in
  // RunSummary::state.
  bool save_state = false;
};

// The snapshot section a replay adds: the input and its last line.
inline constexpr std::string_view kReplayStateSection = "replay";

// Reads every line of `reader` through a pipeline built from `config`,
// then closes the windows. Always returns the summary; its `status` is an
// error only when input cannot be read or a sink fails (bad records are
// counted and dead-lettered), and then it says how far the run got.
RunSummary Replay(const Config& config, LineReader& reader,
                  std::string_view input_name, AlertSink& alerts,
                  DeadLetterSink& dead, const ProgressFn& progress = nullptr,
                  int64_t progress_every = 100000);
// The same, with snapshots (ReplayOptions). A snapshot that cannot be
// used (corrupt, truncated, newer, other settings) fails the run before
// its first line, with the reason in the summary's status.
RunSummary Replay(const Config& config, LineReader& reader,
                  std::string_view input_name, AlertSink& alerts,
                  DeadLetterSink& dead, const ReplayOptions& options);

// Fills the counts of a summary from a pipeline's stats.
void FillSummary(const Pipeline& pipeline, RunSummary* summary);

// The summary as a JSON object (deterministic key order), and as lines for a
// person.
std::string SummaryToJson(const RunSummary& summary);
std::string SummaryToText(const RunSummary& summary);

}  // namespace vigia

#endif  // VIGIA_PIPELINE_REPLAY_H_
