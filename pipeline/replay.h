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
  double events_per_second() const;
};

// Called every `progress_every` records with the pipeline and reader, for a
// progress line.
using ProgressFn = std::function<void(const Pipeline&, const LineReader&)>;

// Reads every line of `reader` through a pipeline built from `config`,
// then closes the windows. Always returns the summary; its `status` is an
// error only when input cannot be read or a sink fails (bad records are
// counted and dead-lettered), and then it says how far the run got.
RunSummary Replay(const Config& config, LineReader& reader,
                  std::string_view input_name, AlertSink& alerts,
                  DeadLetterSink& dead, const ProgressFn& progress = nullptr,
                  int64_t progress_every = 100000);

// Fills the counts of a summary from a pipeline's stats.
void FillSummary(const Pipeline& pipeline, RunSummary* summary);

// The summary as a JSON object (deterministic key order), and as lines for a
// person.
std::string SummaryToJson(const RunSummary& summary);
std::string SummaryToText(const RunSummary& summary);

}  // namespace vigia

#endif  // VIGIA_PIPELINE_REPLAY_H_
