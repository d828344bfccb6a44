#include "pipeline/replay.h"

#include <cstdint>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "operators/snapshot.h"
#include "pipeline/core/json_writer.h"
#include "pipeline/core/status_macros.h"
#include "pipeline/core/strings.h"
#include "pipeline/core/time.h"

namespace vigia {

double RunSummary::events_per_second() const {
  const double secs = absl::ToDoubleSeconds(elapsed);
  return secs > 0 ? static_cast<double>(read) / secs : 0;
}

namespace {

// Feeds every line to the pipeline, noting the last line number read.
absl::Status ReadAll(LineReader& reader, const std::string& input,
                     Pipeline& pipeline, const ProgressFn& progress,
                     int64_t progress_every, int64_t line_offset,
                     int64_t* last_line) {
  int64_t n = 0;
  while (true) {
    absl::StatusOr<Line> line = reader.Next();
    if (!line.ok()) {
      if (absl::IsOutOfRange(line.status())) return absl::OkStatus();
      return line.status();
    }
    const int64_t number = line->number + line_offset;
    *last_line = number;
    RawRecord record;
    record.bytes = line->bytes;
    record.capacity = line->capacity;
    record.source = SourceRef{input, -1, number};
    if (absl::Status s = pipeline.Process(record); !s.ok()) {
      return absl::Status(s.code(),
                          absl::StrCat("line ", number, ": ", s.message()));
    }
    if (progress && ++n % progress_every == 0) progress(pipeline, reader);
  }
}

}  // namespace

void FillSummary(const Pipeline& pipeline, RunSummary* summary) {
  const PipelineStats& stats = pipeline.stats();
  summary->read = stats.total_read();
  summary->processed = stats.total_processed();
  summary->late = stats.total_late();
  summary->rejected = stats.total_rejected();
  summary->refused = stats.total_refused();
  summary->rejected_by_reason.clear();
  summary->processed_by_feed.clear();
  for (int slot = 0; slot < kFeedSlots; ++slot) {
    for (int r = 1; r < kNumRejectReasons; ++r) {
      const int64_t n = stats.rejected[slot][r].value();
      if (n == 0) continue;
      summary->rejected_by_reason[std::string(
          RejectReasonName(static_cast<RejectReason>(r)))] += n;
    }
    if (slot < kNumFeeds) {
      summary->processed_by_feed[std::string(FeedSlotName(slot))] =
          stats.processed[slot].value();
    }
  }
  summary->alerts.clear();
  summary->alerts_total = 0;
  for (const auto& [key, n] : pipeline.alert_counts().Snapshot()) {
    summary->alerts[absl::StrCat(key.detector, "/",
                                 ToAbsl(SeverityName(key.severity)), "/",
                                 ToAbsl(AlertStateName(key.state)))] += n;
    summary->alerts_total += n;
  }
  summary->watermark = pipeline.watermark();
}

RunSummary Replay(const Config& config, LineReader& reader,
                  std::string_view input_name, AlertSink& alerts,
                  DeadLetterSink& dead, const ProgressFn& progress,
                  int64_t progress_every) {
  ReplayOptions options;
  options.progress = progress;
  options.progress_every = progress_every;
  return Replay(config, reader, input_name, alerts, dead, options);
}

namespace {

// Restores `pipeline` from `bytes`; returns the line numbering offset.
absl::StatusOr<int64_t> RestoreReplay(std::string_view bytes,
                                      std::string_view input,
                                      Pipeline& pipeline) {
  absl::StatusOr<ParsedSnapshot> parsed = ParseSnapshot(bytes);
  if (!parsed.ok()) return parsed.status();
  VIGIA_RETURN_IF_ERROR(pipeline.RestoreState(*parsed));
  const SnapshotSection* section = parsed->Find(kReplayStateSection);
  if (section == nullptr) {
    return absl::FailedPreconditionError("snapshot has no replay section");
  }
  VIGIA_RETURN_IF_ERROR(CheckSectionVersion(*section, 1));
  SnapshotReader r = SectionReader(*section);
  const std::string_view saved_input = r.StrView();
  const int64_t last_line = r.Int(0, INT64_MAX / 2, "last line");
  VIGIA_RETURN_IF_ERROR(r.Finish());
  return saved_input == "-" && input == "-" ? last_line : 0;
}

}  // namespace

RunSummary Replay(const Config& config, LineReader& reader,
                  std::string_view input_name, AlertSink& alerts,
                  DeadLetterSink& dead, const ReplayOptions& options) {
  RunSummary summary;
  summary.input = std::string(input_name);
  summary.config_hash = config.hash();
  Pipeline pipeline(config, Pipeline::MakeOperators(config), &alerts, &dead);
  // The one wall-clock read of a replay: throughput, never decisions.
  const absl::Time start = absl::Now();
  int64_t line_offset = 0;
  if (options.state_in.has_value()) {
    absl::StatusOr<int64_t> offset =
        RestoreReplay(*options.state_in, summary.input, pipeline);
    if (!offset.ok()) {
      summary.status =
          absl::Status(offset.status().code(),
                       absl::StrCat("cannot start from the snapshot: ",
                                    offset.status().message()));
      summary.elapsed = absl::Now() - start;
      return summary;
    }
    line_offset = *offset;
    summary.restored = true;
  }
  summary.status =
      ReadAll(reader, summary.input, pipeline, options.progress,
              options.progress_every, line_offset, &summary.last_line);
  // After a failure the windows are not closed: what they would say is
  // incomplete. The sinks are still flushed, so the outputs hold everything
  // decided before the stop.
  if (summary.status.ok() && options.save_state) {
    // The windows stay open for the run that continues from the state.
    SnapshotWriter w;
    BeginSnapshot(w, summary.config_hash);
    summary.status = pipeline.SaveState(w);
    w.BeginSection(kReplayStateSection, 1);
    w.Str(summary.input);
    w.I64(summary.last_line);
    w.EndSection();
    absl::Status flushed = alerts.Flush();
    absl::Status dl_flushed = dead.Flush();
    if (summary.status.ok()) summary.status = flushed;
    if (summary.status.ok()) summary.status = dl_flushed;
    if (summary.status.ok()) summary.state = FinishSnapshot(w);
  } else if (summary.status.ok()) {
    summary.status = pipeline.Finish();
  } else {
    // Lines read before the failure and still held (a file's first few)
    // are processed like the ones before them, so the summary counts them.
    pipeline.ReleaseHeld().IgnoreError();
    alerts.Flush().IgnoreError();
    dead.Flush().IgnoreError();
  }
  summary.elapsed = absl::Now() - start;
  summary.bytes = reader.bytes_read();
  FillSummary(pipeline, &summary);
  return summary;
}

std::string SummaryToJson(const RunSummary& s) {
  JsonWriter w;
  w.BeginObject();
  w.Field("input", s.input);
  w.Field("events_read", s.read);
  w.Field("events_processed", s.processed);
  w.Field("events_rejected", s.rejected);
  w.Field("events_late", s.late);
  w.Field("events_refused_by_detectors", s.refused);
  w.Key("processed_by_feed");
  w.BeginObject();
  for (const auto& [feed, n] : s.processed_by_feed) w.Field(feed, n);
  w.EndObject();
  w.Key("rejected_by_reason");
  w.BeginObject();
  for (const auto& [reason, n] : s.rejected_by_reason) w.Field(reason, n);
  w.EndObject();
  w.Field("alerts_total", s.alerts_total);
  w.Key("alerts");
  w.BeginObject();
  for (const auto& [key, n] : s.alerts) w.Field(key, n);
  w.EndObject();
  w.Key("watermark");
  if (s.watermark == absl::InfinitePast()) {
    w.Null();
  } else {
    w.String(FormatRfc3339(s.watermark));
  }
  w.Field("input_bytes", s.bytes);
  w.Field("elapsed_seconds", absl::ToDoubleSeconds(s.elapsed));
  w.Field("events_per_second", s.events_per_second());
  w.Field("config_hash", s.config_hash);
  w.Field("completed", s.status.ok());
  w.Key("failure");
  if (s.status.ok()) {
    w.Null();
  } else {
    w.String(s.status.ToString());
  }
  w.Field("last_line", s.last_line);
  w.EndObject();
  return w.Release();
}

std::string SummaryToText(const RunSummary& s) {
  std::string out = absl::StrFormat(
      "replay of %s\n"
      "  events read      %d\n"
      "  processed        %d\n"
      "  rejected         %d\n"
      "  late             %d\n",
      s.input, s.read, s.processed, s.rejected, s.late);
  for (const auto& [reason, n] : s.rejected_by_reason) {
    absl::StrAppendFormat(&out, "    %-16s %d\n", reason, n);
  }
  if (s.refused > 0) {
    absl::StrAppendFormat(&out,
                          "  refused          %d (processed; a detector "
                          "could not take them: dead letters)\n",
                          s.refused);
  }
  absl::StrAppendFormat(&out, "  alerts           %d\n", s.alerts_total);
  for (const auto& [key, n] : s.alerts) {
    absl::StrAppendFormat(&out, "    %-40s %d\n", key, n);
  }
  absl::StrAppendFormat(
      &out, "  throughput       %.0f events/s (%.1f MB/s) in %.2f s\n",
      s.events_per_second(),
      absl::ToDoubleSeconds(s.elapsed) > 0
          ? s.bytes / 1e6 / absl::ToDoubleSeconds(s.elapsed)
          : 0.0,
      absl::ToDoubleSeconds(s.elapsed));
  absl::StrAppendFormat(&out, "  config           %s\n", s.config_hash);
  if (!s.status.ok()) {
    absl::StrAppendFormat(&out, "  FAILED           after line %d: %s\n",
                          s.last_line, s.status.ToString());
  }
  return out;
}

}  // namespace vigia
