// The pipeline: raw records in, alerts and dead letters out.
//
//   record bytes -> Decoder -> future/late check (WatermarkTracker) ->
//   operators
//                      |                 |                                |
//                 dead letter        dead letter                       alerts
//
// An event is shown to the operators that read its feed, and each operator
// is evaluated on its feeds' watermark (WatermarkTracker::feed_watermark).
//
// One Pipeline runs on one thread and owns its decoder, watermark and
// operators. Replay feeds it NDJSON lines; the Kafka consumer feeds it
// message payloads; the code path is the same. Every record read ends up
// processed, rejected or late, and stats() shows the three add up.
// Counters are atomics written by the pipeline thread only, so a metrics
// thread may read them at any time.
#ifndef VIGIA_PIPELINE_PIPELINE_H_
#define VIGIA_PIPELINE_PIPELINE_H_

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "operators/event_facts.h"
#include "operators/operator.h"
#include "operators/snapshot.h"
#include "pipeline/campaigns.h"
#include "pipeline/config.h"
#include "pipeline/core/time.h"
#include "pipeline/decoder.h"
#include "pipeline/sinks.h"
#include "pipeline/watermark.h"

namespace vigia {

// A counter written by one thread and read by any: relaxed loads and stores,
// no read-modify-write on the hot path.
class StatCounter {
 public:
  void Add(int64_t n = 1) {
    v_.store(v_.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  int64_t value() const { return v_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> v_{0};
};

// Index 0 and 1 are FeedKind values; kFeedUnknown is for records rejected
// before their feed could be told (malformed, oversize) with no hint.
inline constexpr int kFeedUnknown = 2;
inline constexpr int kFeedSlots = 3;
std::string_view FeedSlotName(int slot);

struct PipelineStats {
  std::array<StatCounter, kFeedSlots> read;
  std::array<StatCounter, kFeedSlots> processed;
  std::array<StatCounter, kFeedSlots> late;
  std::array<std::array<StatCounter, kNumRejectReasons>, kFeedSlots> rejected;
  // Processed events that one or more detectors could not take (a cap, or
  // too far ahead of their windows); each also went to the dead-letter
  // sink as detector_refused.
  std::array<StatCounter, kFeedSlots> refused;
  StatCounter dead_letter_errors;

  int64_t total_read() const;
  int64_t total_processed() const;
  int64_t total_rejected() const;
  int64_t total_late() const;
  int64_t total_refused() const;
};

// Alert counts by detector, severity and state; guarded because detectors
// are only known at run time.
class AlertCounts {
 public:
  struct Key {
    std::string detector;
    Severity severity;
    AlertState state;
    friend auto operator<=>(const Key&, const Key&) = default;
  };
  // The same counts split by the alert's target and origin (unknown when
  // the detector has none). Not capped here: a pipeline holds one entry per
  // distinct alert key seen, and alerts are rare; the exported series are
  // capped by the probe (pipeline/metrics/pipeline_probe.h).
  struct TargetKey {
    std::string detector;
    Severity severity;
    AlertState state;
    CountryCode target;
    CountryCode origin;
    friend auto operator<=>(const TargetKey&, const TargetKey&) = default;
  };
  void Add(const Alert& alert);
  std::map<Key, int64_t> Snapshot() const;
  std::map<TargetKey, int64_t> SnapshotByTarget() const;

 private:
  mutable absl::Mutex mu_;
  std::map<Key, int64_t> counts_ ABSL_GUARDED_BY(mu_);
  std::map<TargetKey, int64_t> by_target_ ABSL_GUARDED_BY(mu_);
};

// Processed foreign-origin events (origin known and not the target) by
// feed, target and origin, for metrics. The pipeline thread is the only
// writer; any thread may take a Snapshot(). At most kMaxPairs (feed, target,
// origin) triples are tracked, so a feed of every country pair cannot grow
// it without bound; events of further triples count under their feed and
// target with an unknown origin ("other" in metrics).
//
// Add() is one hash and a short probe into a fixed open-addressing table of
// relaxed atomics: no lock, no allocation.
class ForeignEventCounts {
 public:
  static constexpr int kMaxPairs = 4096;
  struct Key {
    FeedKind feed;
    CountryCode target;
    CountryCode origin;  // unknown: beyond the cap ("other")
    friend auto operator<=>(const Key&, const Key&) = default;
  };

  ForeignEventCounts();
  // REQUIRES: target and origin are known (A-Z codes) and differ.
  void Add(FeedKind feed, CountryCode target, CountryCode origin);
  // Every non-zero count.
  std::map<Key, int64_t> Snapshot() const;

 private:
  // Codes as 0..675 (two letters A-Z).
  static constexpr int kCodes = 26 * 26;
  static constexpr int kSlots = 2 * kMaxPairs;  // a power of two
  struct Slot {
    // 1 + (feed, target, origin) packed; 0 while empty. Published (release)
    // after its count, so a reader never sees a key with a foreign count.
    std::atomic<uint32_t> key{0};
    StatCounter count;
  };
  std::unique_ptr<Slot[]> slots_;
  int used_ = 0;  // writer only
  std::array<std::array<StatCounter, kCodes>, kNumFeeds> other_;
};

// A record as read from a source.
struct RawRecord {
  std::string_view bytes;
  // Readable bytes from bytes.data(); at least bytes.size() +
  // Decoder::padding() lets the decoder parse in place, anything less makes
  // it copy into its padded buffer first.
  size_t capacity = 0;
  SourceRef source;
  // The feed the source carries, when it says (a Kafka topic does; a mixed
  // NDJSON archive does not). Only used to label rejects.
  std::optional<FeedKind> feed_hint;
};

class Pipeline {
 public:
  // `clock` gives processing time for idle-source detection; nullptr means
  // "follow event time" (processing time = newest event time seen), which
  // makes replay deterministic. Sinks and clock must outlive the pipeline.
  Pipeline(const Config& config,
           std::vector<std::unique_ptr<Operator>> operators,
           AlertSink* alert_sink, DeadLetterSink* dead_letter_sink,
           const Clock* clock = nullptr);
  ~Pipeline();

  // Builds the operators the config enables.
  static std::vector<std::unique_ptr<Operator>> MakeOperators(
      const Config& config);

  // Decodes and processes one record. Bad input never fails: it is counted
  // and dead-lettered. Returns an error only when a sink fails; the pipeline
  // stays usable, and the caller decides whether to retry or stop.
  //
  // Without a clock (replay) a source's first records are held (copied)
  // until 2 * watermark.quorum - 1 of them carry an event time, or
  // kMaxHeldRecords or kMaxHeldBytes have come, or Finish(): a record is judged
  // `future` against the median of those times, so up to quorum - 1 wrong
  // clocks at the very start of a file cannot reach the detectors either. Held
  // records are then processed in their order, and counted only then.
  absl::Status Process(const RawRecord& record);
  static constexpr int kMaxHeldRecords = 256;
  // The target of the record Process() last decoded, unknown if it could
  // not be decoded (or was held). The Kafka daemon checks it against the
  // record's key without decoding the record a second time.
  CountryCode last_target() const { return last_target_; }
  static constexpr size_t kMaxHeldBytes = size_t{8} << 20;

  // Re-evaluates the watermark on processing time alone (idle sources), for
  // callers that can go quiet: the Kafka loop calls this when polls are empty.
  absl::Status Tick();

  // Registers a source (e.g. a newly assigned Kafka partition) before its
  // first record, so the watermark waits for it until it produces or goes
  // idle (WatermarkOptions::idle_timeout) instead of running ahead of it.
  // `feed`, when the source is known to carry one (the topic says so),
  // limits the wait to that feed's detectors.
  void DeclareSource(const SourceRef& source,
                     std::optional<FeedKind> feed = std::nullopt) {
    watermark_.Observe(source, absl::InfinitePast(), Now(), feed);
  }

  // Declares `source` (as DeclareSource) and says whether it is at the end
  // of what it can read (WatermarkTracker::SetAtEnd): a Kafka partition at
  // its log end stops holding its feed back after watermark.end_grace, one
  // with records to read is never idle.
  void SetSourceAtEnd(const SourceRef& source, std::optional<FeedKind> feed,
                      bool at_end) {
    DeclareSource(source, feed);
    watermark_.SetAtEnd(source, at_end, Now());
  }
  bool SourceAtEnd(const SourceRef& source) { return watermark_.AtEnd(source); }
  // WatermarkTracker::Ended and RestartEndGrace, at the pipeline's time.
  bool SourceEnded(const SourceRef& source) {
    return watermark_.Ended(source, Now());
  }
  void RestartSourceEndGrace(const SourceRef& source) {
    watermark_.RestartEndGrace(source, Now());
  }
  // WatermarkTracker::SourceProgress and feed_start, for aligning sources.
  absl::Time SourceProgress(const SourceRef& source) {
    return watermark_.SourceProgress(source);
  }
  absl::Time feed_start(FeedKind feed) const {
    return watermark_.feed_start(feed);
  }

  // End of input: closes every window up to the newest event time and
  // flushes the sinks. Processes held records first (ReleaseHeld()).
  absl::Status Finish();

  // Processes every record still held (see Process()), judged on what each
  // source has delivered. For a caller that stops without Finish() (a
  // failed read), so the records read before the failure are not lost.
  absl::Status ReleaseHeld();

  // Snapshots (operators/snapshot.h; docs/state.md). Writes the pipeline's
  // section (the watermark tracker and the watermark each operator was
  // last given) and one section per operator, named after it and carrying
  // its state_version(). Records still held are processed first
  // (ReleaseHeld()). Call between records, instead of Finish(): the windows
  // stay open, for the run that restores the state to close. Fails when
  // an operator has no state format.
  absl::Status SaveState(SnapshotWriter& w);
  // Replaces the state of a fresh pipeline (no record processed yet) with
  // the snapshot's. FailedPrecondition when the snapshot was written under
  // another config hash, lacks an operator's section or has one of a newer
  // version; DataLoss (naming the section and byte) when a section cannot
  // be read. On error the pipeline must be discarded. Sections the pipeline
  // does not own (the caller's) are left to the caller.
  absl::Status RestoreState(const ParsedSnapshot& snapshot);
  // The section name of the pipeline's own state.
  static constexpr std::string_view kStateSection = "pipeline";
  // The campaign linker's section; a snapshot without it (written before
  // alerts carried campaigns) restores with no campaign history.
  static constexpr std::string_view kCampaignSection = "campaigns";

  // State that follows partitions (docs/state.md): one part of the state
  // of a fresh pipeline, taken from `snapshot`: the watermark sources
  // `keep_source(name, partition)` accepts, and, in each detector, the
  // targets `keep_target(feeds the detector reads, target)` accepts.
  struct StatePart {
    const ParsedSnapshot* snapshot = nullptr;
    std::function<bool(std::string_view, int32_t)> keep_source;
    std::function<bool(FeedSet, CountryCode)> keep_target;
  };
  // Replaces the state of a fresh pipeline with the parts merged: each is
  // restored whole into a pipeline of its own, cut down to what it keeps,
  // and absorbed (Operator::Absorb, WatermarkTracker::Absorb). The parts
  // must keep disjoint sources and targets. A detector that cannot split
  // its state by target (Operator::splits_by_target) starts empty; its name
  // goes to `started_empty`. Errors as RestoreState(), plus
  // FailedPrecondition when two parts hold the same key.
  absl::Status RestoreParts(const std::vector<StatePart>& parts,
                            std::vector<std::string>* started_empty);

  const PipelineStats& stats() const { return stats_; }
  const AlertCounts& alert_counts() const { return alert_counts_; }
  const ForeignEventCounts& foreign_events() const { return foreign_; }
  absl::Time watermark() const;
  // One feed's watermark (WatermarkTracker::feed_watermark), for metrics.
  absl::Time feed_watermark(FeedKind feed) const;
  absl::Time max_event_time() const;
  // Snapshot of every operator's state size, by operator name.
  std::vector<std::pair<std::string, OperatorStats>> operator_stats() const;
  // Snapshot of every scoring operator's latest per-target maximum score
  // (Operator::LatestScores), by operator name; refreshed with the stats.
  std::vector<std::pair<std::string, std::vector<TargetScore>>>
  operator_scores() const;
  const std::vector<std::unique_ptr<Operator>>& operators() const {
    return operators_;
  }

 private:
  class Emitter;
  absl::Status AdvanceTo(absl::Time watermark);
  // A source's first records, held without a clock (see Process()).
  struct HeldRecord {
    std::string bytes;
    int64_t position;
    std::optional<FeedKind> feed_hint;
  };
  struct Holding {
    std::string source;  // owned: held records point here when released
    int32_t partition;
    bool released = false;
    size_t bytes = 0;
    std::vector<HeldRecord> records;
    std::vector<absl::Time> times;  // the event times among them
  };
  absl::Status ProcessNow(const RawRecord& record);
  absl::Status Hold(const RawRecord& record);
  absl::Status Release(Holding& holding);
  absl::Status DeadLetterRecord(const RawRecord& record, int feed_slot,
                                std::string_view reason,
                                std::string_view detail);
  // Dead-letters a processed record that the detectors in refusals_ could
  // not take, and logs it (the first ten, then one in a thousand).
  absl::Status DeadLetterRefused(const RawRecord& record, int feed_slot,
                                 const Event& event);
  absl::Time Now() const;
  // Processing time when it comes from a clock (the daemon), else nothing.
  std::optional<absl::Time> ClockNow() const;
  // True when an event of `source` at `t` leads too far to be used
  // (WatermarkTracker::LeadBound), false when it is within the bound or
  // completes a gap in the feed.
  bool IsFuture(const SourceRef& source, absl::Time t,
                std::string_view platform);
  std::string FutureDetail(const SourceRef& source, absl::Time t);
  void RefreshOperatorStats();
  // After a restore: the numbers other threads read follow the state.
  void PublishRestoredWatermarks();

  Config config_;
  std::vector<std::unique_ptr<Operator>> operators_;
  // The operators that read each feed, in operators_' order: an event is
  // shown only to those.
  std::array<std::vector<Operator*>, kNumFeeds> readers_;
  // Per operator (as operators_): the feeds it reads, and the watermark it
  // was last given (the minimum over those feeds').
  std::vector<FeedSet> op_feeds_;
  std::vector<absl::Time> op_watermark_;
  // The feed watermarks at the last AdvanceTo().
  std::array<absl::Time, kNumFeeds> last_feed_watermark_{absl::InfinitePast(),
                                                         absl::InfinitePast()};
  AlertSink* alert_sink_;
  DeadLetterSink* dead_letter_sink_;
  const Clock* clock_;
  Decoder decoder_;
  CountryCode last_target_;
  // What the operators derive from the current event, derived once for all
  // of them (operators/event_facts.h).
  EventFacts facts_;
  // The detectors that refused the current event, and why.
  std::vector<std::pair<std::string_view, EventFacts::Refusal>> refusals_;
  WatermarkTracker watermark_;
  // Every source held so far; a released one keeps its name alive, since
  // the tracker remembers the last name pointer it looked up.
  std::vector<std::unique_ptr<Holding>> holding_;
  // Stamps every alert with its campaign as of it (before emitter_ hands
  // it on).
  CampaignLinker campaigns_;
  std::unique_ptr<Emitter> emitter_;
  PipelineStats stats_;
  AlertCounts alert_counts_;
  ForeignEventCounts foreign_;
  int64_t advances_ = 0;
  std::atomic<int64_t> watermark_us_{INT64_MIN};
  std::array<std::atomic<int64_t>, kNumFeeds> feed_watermark_us_{INT64_MIN,
                                                                 INT64_MIN};
  std::atomic<int64_t> max_event_us_{INT64_MIN};
  // Operator stats, refreshed on the pipeline thread for readers elsewhere.
  mutable absl::Mutex op_stats_mu_;
  std::vector<std::pair<std::string, OperatorStats>> op_stats_
      ABSL_GUARDED_BY(op_stats_mu_);
  std::vector<std::pair<std::string, std::vector<TargetScore>>> op_scores_
      ABSL_GUARDED_BY(op_stats_mu_);
};

}  // namespace vigia

#endif  // VIGIA_PIPELINE_PIPELINE_H_
