// The Kafka daemon behind `vigia run`: consumes the post and ad topics in a
// consumer group, runs them through the same Pipeline as replay, writes
// alerts and dead letters to topics, and serves /metrics.
//
// Delivery is at-least-once. Consumer offsets are stored and committed only
// at checkpoints, and a checkpoint commits only after the producer has had
// every alert and dead letter so far acknowledged; if that fails nothing is
// committed and the checkpoint is retried. A crash or rebalance therefore
// re-reads, never skips. With a state topic (the default) a checkpoint also
// writes the pipeline's whole state there (state_store.h), and the offsets
// are committed only once it is acknowledged, naming it in their commit
// metadata; on assign the state the committed offsets name is restored, so
// a restarted instance goes on where the last checkpoint was: nothing
// undecided is ever acknowledged. A partition moved by a rebalance takes
// its part of the state (its targets') to its next owner. docs/state.md.
// A partition holds its feed's watermark while it has records to read and
// stops at its log end (no idle timeout); partitions running far ahead of
// their feed's watermark are paused until it catches up (alignment), for
// as long as the partitions holding it are reading a backlog.
// With repartition on, the same consumer also reads the group's
// repartition topics: records of the input topics are forwarded there keyed
// by target (committed once acknowledged, like alerts), and only those are
// processed, each lane (input partition) holding the watermark apart
// until its forwarder marks it at its end (lane-end marks).
// docs/kafka.md has the full contract: keying, rebalances, outages.
//
// A Daemon runs on the thread that calls Run(); every librdkafka callback
// runs inside its polls. The accessors marked thread-safe may be called
// from elsewhere (tests, the CLI).
#ifndef VIGIA_PIPELINE_KAFKA_DAEMON_H_
#define VIGIA_PIPELINE_KAFKA_DAEMON_H_

#include <librdkafka/rdkafka.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "pipeline/config.h"
#include "pipeline/core/time.h"
#include "pipeline/decoder.h"
#include "pipeline/kafka/kafka_probe.h"
#include "pipeline/kafka/kafka_sinks.h"
#include "pipeline/kafka/producer.h"
#include "pipeline/kafka/settings.h"
#include "pipeline/metrics/metrics_server.h"
#include "pipeline/metrics/pipeline_probe.h"
#include "pipeline/metrics/readiness.h"
#include "pipeline/pipeline.h"
#include "pipeline/sinks.h"
#include "prometheus/registry.h"

namespace vigia {

// session.timeout.ms of the daemon's consumer unless kafka_settings sets
// it (why 10 s: Daemon::Init).
inline constexpr int kDefaultSessionTimeoutMs = 10000;

struct DaemonOptions {
  // bootstrap.servers; empty leaves it to kafka_settings.
  std::string brokers;
  // Where /metrics is served; empty serves nothing (the registry is still
  // kept, see Daemon::registry()). Port 0 picks a free port.
  std::string metrics_addr = "127.0.0.1:9464";
  // Basic authentication on /metrics (metrics.basic_auth); off by default.
  MetricsAuthConfig metrics_auth;
  // TLS on the metrics port (metrics.tls); off by default.
  MetricsTlsConfig metrics_tls;
  std::string posts_topic = "vigia.posts";
  std::string ads_topic = "vigia.ads";
  std::string dlq_topic = "vigia.dlq";
  std::string alerts_topic = "vigia.alerts";
  std::string group_id = "vigia";
  // group.instance.id (static membership, KIP-345); empty: dynamic. An
  // instance restarted with the same id within the session timeout gets its
  // partitions back from the brokers without a rebalance (and so restores
  // its state); it does not leave the group on a clean stop, so the next
  // start finds them still held for it. Distinct per instance of a group.
  std::string group_instance_id;
  // Passthrough librdkafka settings for both clients (security.protocol,
  // sasl.*, ssl.*, tuning). Settings that the delivery guarantee depends on
  // (group.id, enable.auto.commit, enable.auto.offset.store,
  // enable.idempotence) are fixed by vigia and override these.
  KafkaSettings kafka_settings;

  // Records taken per consume batch.
  int max_batch = 1000;
  // How long one poll waits for records; an empty poll ticks the pipeline.
  absl::Duration poll_timeout = absl::Milliseconds(100);
  // How often progress is checkpointed (write the state, flush outputs,
  // then commit).
  absl::Duration checkpoint_interval = absl::Seconds(1);
  // The compacted topic detector state is checkpointed to (docs/state.md);
  // empty: none, the pipeline starts empty on every assignment.
  std::string state_topic = "vigia.state";
  // How long restoring a snapshot may take to read before the assignment
  // starts empty instead.
  absl::Duration restore_timeout = absl::Seconds(30);
  // How long a checkpoint waits for acknowledgements before giving up until
  // the next one.
  absl::Duration checkpoint_timeout = absl::Seconds(5);
  // The bound on the final checkpoint after a stop.
  absl::Duration shutdown_timeout = absl::Seconds(10);
  // librdkafka statistics.interval.ms (consumer lag, brokers, queues).
  int statistics_interval_ms = 5000;
  // How often the pipeline's counters are copied into the metrics.
  absl::Duration metrics_interval = absl::Seconds(1);
  // Consumption pauses while more outputs than this await acknowledgement,
  // and resumes below half of it.
  int64_t max_unacknowledged = 50000;
  // Watermark alignment: a partition whose progress runs further than this
  // ahead of its feed's watermark is paused until the watermark is within
  // half of it, so its events never get so far ahead that the detectors
  // cannot hold them (about six hours: HopSchedule::kMaxLookahead).
  absl::Duration alignment_drift = absl::Hours(1);
  // Repartition by target (docs/kafka.md, "Keying and scale-out"): records
  // of the post and ad topics are forwarded, unchanged and keyed by their
  // target, to RepartitionTopic(group_id, feed), and the detectors read
  // those. For feeds keyed otherwise (by account, round-robin), so that
  // scale-out never splits a target. Off: records are processed where they
  // are read, and those keyed other than by target are only counted.
  bool repartition = false;

  // Processing time for idle-source detection; nullptr = the system clock.
  const Clock* clock = nullptr;
  // The registry metrics go to; nullptr = a new one per daemon.
  std::shared_ptr<prometheus::Registry> registry;
  // Called after each record is handled (processed, rejected or late), on
  // the daemon's thread: for audits and tests.
  std::function<void(const SourceRef&)> on_record;
  // Called after each record is forwarded to a repartition topic
  // (repartition), on the daemon's thread: for tests (a forwarder that
  // stalls).
  std::function<void(const SourceRef&)> on_forward;
};

// The internal topic a group repartitions a feed through:
// "<group_id>-posts-by-target" or "<group_id>-ads-by-target".
std::string RepartitionTopic(std::string_view group_id, FeedKind feed);

// Owns a librdkafka partition list.
struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
using PartitionList =
    std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;

class Daemon {
 public:
  // Creates the clients and starts the metrics server. Returns
  // InvalidArgument for bad settings, Unavailable if the metrics address
  // cannot be bound. `extra_alert_sink` (e.g. stdout), if given, receives
  // every alert too and must outlive the daemon.
  static absl::StatusOr<std::unique_ptr<Daemon>> Create(
      const Config& config, const DaemonOptions& options,
      AlertSink* extra_alert_sink = nullptr);
  ~Daemon();
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  // Consumes until `stop` is set, then stops consuming, flushes alerts and
  // dead letters, commits, and leaves the group, within about
  // shutdown_timeout. Broker outages are waited out (librdkafka reconnects),
  // never fatal. Returns an error if a sink fails or the producer hits a
  // fatal error (nothing past the last checkpoint is committed then), or if
  // the final flush times out (offsets stay at the last good checkpoint, so
  // the rest is re-read on restart).
  absl::Status Run(const std::atomic<bool>& stop);

  // Thread-safe accessors.
  int metrics_port() const;
  int assigned_partitions() const { return assigned_.load(); }
  // Rebalance events seen (assignments and revocations each count).
  int64_t rebalances() const { return rebalances_.load(); }
  int64_t records() const { return records_.load(); }
  // Records never read: deleted by the brokers before the consumer reached
  // them (vigia_kafka_records_skipped_total).
  int64_t skipped_records() const { return skipped_.load(); }
  int64_t commits() const { return commits_.load(); }
  // Records of the input topics whose key was not their target
  // (vigia_kafka_miskeyed_records_total); with repartition, records
  // forwarded to the repartition topics, and records read back from them
  // that had been processed already and were skipped.
  int64_t miskeyed_records() const { return miskeyed_.load(); }
  int64_t repartitioned_records() const { return repartitioned_.load(); }
  int64_t repartition_duplicates() const {
    return repartition_duplicates_.load();
  }
  // Lane-end marks written to the repartition topics (one per partition of
  // the topic each time a forwarded input partition is marked at its end).
  int64_t lane_end_marks() const { return lane_end_marks_.load(); }
  // Partitions paused for watermark alignment, and resumed, so far.
  int64_t alignment_pauses() const { return alignment_pauses_.load(); }
  int64_t alignment_resumes() const { return alignment_resumes_.load(); }
  // Times a feed's alignment was released (its holders had nothing to read).
  int64_t alignment_releases() const { return alignment_releases_.load(); }
  // Snapshots written to the state topic and committed with offsets;
  // assignments started from one; and those that could not (missing,
  // corrupt, other config or assignment: vigia_state_restore_failures_total).
  int64_t state_checkpoints() const { return state_checkpoints_.load(); }
  int64_t state_restores() const { return state_restores_.load(); }
  int64_t state_restore_failures() const {
    return state_restore_failures_.load();
  }
  // Partitions whose state a restore brought back (from this instance's
  // snapshot or another's: state follows partitions).
  int64_t state_restored_partitions() const {
    return state_restored_partitions_.load();
  }
  // The last snapshot written to the state topic (bytes), and what the last
  // successful restore cost: its size, reading its chunks from the state
  // topic, and checking and decoding them into the pipeline.
  int64_t state_snapshot_bytes() const { return state_snapshot_bytes_.load(); }
  struct RestoreFigures {
    int64_t bytes = 0;
    absl::Duration read;
    absl::Duration decode;
  };
  RestoreFigures last_restore() const;
  prometheus::Registry& registry() const { return *registry_; }
  // What /-/ready answers: ready once partitions are assigned and each has
  // reached its log end since its assignment (docs/metrics.md).
  const Readiness& readiness() const { return *readiness_; }

 private:
  Daemon(const Config& config, const DaemonOptions& options,
         AlertSink* extra_alert_sink);
  absl::Status Init();
  static void OnRebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                          rd_kafka_topic_partition_list_t* partitions,
                          void* opaque);
  static void OnCommit(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                       rd_kafka_topic_partition_list_t* offsets, void* opaque);
  static void OnError(rd_kafka_t* rk, int err, const char* reason,
                      void* opaque);
  static int OnStats(rd_kafka_t* rk, char* json, size_t len, void* opaque);
  void HandleRebalance(rd_kafka_resp_err_t err,
                       rd_kafka_topic_partition_list_t* partitions);
  void HandleStats(std::string_view json);
  // The topic's name as a view of the option string that holds it (the
  // posts topic for a topic vigia does not read).
  std::string_view TopicView(const char* topic) const;
  // The feed a topic carries, by a view TopicView() returned: the ads
  // topic and its repartition topic ads, any other posts.
  FeedKind FeedOf(std::string_view topic_view) const;
  // With repartition: true for the post and ad topics, whose records are
  // forwarded rather than processed; false otherwise.
  bool Forwarded(std::string_view topic_view) const;
  // True for a repartition topic (a view TopicView() returned).
  bool IsRepartitionTopic(std::string_view topic_view) const;
  // A repartition topic's records are watermark sources by the input
  // partition they were forwarded from (a lane): one forwarder writes each
  // lane of a partition in order, whereas several forwarders interleave on
  // the partition as a whole, as far apart in event time as they are in
  // their backlogs. The source of input partition `input` on `partition`
  // of repartition topic `view`: named "<input topic> via <topic>/<n>",
  // with the input partition as its partition.
  SourceRef LaneSource(std::string_view view, int32_t partition, int32_t input,
                       int64_t offset);
  // The lanes of a repartition topic's partition: every partition of its
  // input topic, and any lane a record named beyond that.
  int32_t LaneCount(std::string_view view, int32_t partition) const;
  // Forwards a record of an input topic to its repartition topic, keyed by
  // its target (repartition).
  void ForwardMessage(const rd_kafka_message_t* m, std::string_view topic);
  // Repartition, forwarder side: input partition `partition` of `topic` is
  // at its log end, at offset `next`. Writes a lane-end mark to every
  // partition of the feed's repartition topic (rate-limited: a new end at
  // most twice per end_grace, an unchanged one again every end_grace).
  void MarkLaneEnds(const char* topic, int32_t partition, int64_t next);
  // The same input partition has records to read again (in a batch, or
  // known to the client) since its last end mark: marks its lanes as not
  // at their end, so they hold the watermark before the records come.
  void MarkLaneActive(const char* topic, int32_t partition, int64_t next);
  // Writes the marks; false when the repartition topic's partition count
  // is not known.
  bool WriteLaneMarks(const char* topic, int32_t partition, int64_t next,
                      bool at_end);
  // Processing side: a lane mark for lane `input` of `partition` of
  // repartition topic `topic`, written at input offset `offset`: the lane
  // is at its end (until its next record or mark), or not.
  void HandleLaneEnd(std::string_view topic, int32_t partition, int32_t input,
                     int64_t offset, bool at_end);
  // Counts a record read from input topic `topic` whose key is not
  // `target` (unknown: the record could not be decoded, not counted).
  void CheckKey(const rd_kafka_message_t* m, std::string_view topic,
                CountryCode target);
  // Whether every watermark source of an assigned partition is at its end,
  // and the least progress among them.
  bool PartitionAtEnd(const char* topic, int32_t partition);
  absl::Time PartitionProgress(const char* topic, int32_t partition);
  // The partition counts of the input topics (metadata), for the lanes.
  void LearnInputPartitions();
  // Partition counts of `topics` from the brokers' metadata: 0 for a topic
  // they say does not exist; a topic they did not answer for is left out.
  std::map<std::string, int32_t> TopicPartitions(
      const std::vector<std::string>& topics);
  Pipeline& EnsurePipeline();
  void DropPipeline();
  // Replaces the pipeline with a fresh one that waits for every partition
  // of the current assignment.
  void NewPipelineForAssignment();
  // Learns where the group resumes reading `partitions` (their committed
  // offsets), so a jump past deleted records shows (NoteOffset).
  void ExpectCommittedOffsets(
      const rd_kafka_topic_partition_list_t* partitions);
  // Notes that the record at `offset` of `topic`/`partition` was read. When
  // it lies beyond the next offset expected and the brokers no longer hold
  // the ones between (an offset reset after retention deleted them), counts
  // and logs the skipped range.
  void NoteOffset(std::string_view topic, int32_t partition, int64_t offset);
  // Counts what reset_past_ holds, moves expected_ and the progress to be
  // committed past it. Without this, an offset reset with nothing left to
  // read after it was never counted, and the group's committed offset (what
  // librdkafka's consumer_lag is measured from) stayed below the deleted
  // records for good.
  void SkipDeletedRecords();
  // Sets readiness_ from the assignment and caught_up_.
  void UpdateReadiness();
  // Applies a rebalance event to assignment_ and assigned_.
  void TrackAssignment(rd_kafka_resp_err_t err,
                       const rd_kafka_topic_partition_list_t* changed);
  // A record taken off the consumer, with the assignment generation it was
  // fetched under and when.
  struct Fetched {
    rd_kafka_message_t* message;
    int64_t generation;
    std::chrono::steady_clock::time_point dequeued;
  };
  // Marks partitions with records waiting (in `batch`, or known to the
  // client) as not at their end, so they hold their feed's watermark.
  void KeepBackloggedSourcesActive(const std::vector<Fetched>& batch);
  // After a batch: marks partitions at their log end as such
  // (WatermarkTracker::SetAtEnd; they stop holding their feed back after
  // watermark.end_grace).
  void MarkEnds();
  // After a batch: pauses partitions that run more than alignment_drift
  // ahead of their feed's watermark, and resumes paused ones once it is
  // within half of that (watermark alignment, as Flink's FLIP-182). A feed
  // whose watermark holders have nothing to read (at their end, silent or
  // unreachable) gets its paused partitions back after end_grace instead of
  // leaving their records to retention.
  void AlignPartitions();
  // Resumes every partition paused for alignment (rebalances).
  void ResumeAligned();
  // Handles one polled record or end-of-log event of the current
  // generation, or parks it (parked_) when its partition is paused for
  // alignment or has records parked before it. A record that takes its
  // partition past alignment_drift ahead of its feed's watermark pauses the
  // partition at once: the rest of a fetched batch, which can span hours of
  // a sparse partition's event time, waits instead of reaching detectors
  // whose windows cannot hold it.
  absl::Status HandleFetched(const Fetched& f, bool* parked);
  // Handles the parked records of partitions no longer paused, in order,
  // until one is paused again.
  absl::Status DrainParked();
  // Drops every parked record (a rebalance: they are re-read from the
  // last commit, as any record of an old generation).
  void DropParked();
  // Cooperative rebalances: a partition kept through the change starts
  // over from its commit, state and records (daemon.cc).
  void RestartKept(const rd_kafka_topic_partition_list_t* kept);
  void SeekKeptToCommitted(const rd_kafka_topic_partition_list_t* kept);
  // The event time past which a partition of `feed` is paused.
  absl::Time AlignmentLimit(FeedKind feed) const;
  absl::Duration AlignmentDrift() const;
  // Notes a partition's end-of-log event (handled in its place in the
  // batch).
  void HandleEndOfLog(const rd_kafka_message_t* m);
  // Notes the target a record is keyed by (two capital letters) as carried
  // by its partition.
  void NoteTarget(std::string_view topic, int32_t partition,
                  const rd_kafka_message_t* m);
  // WatermarkTracker::SetAtEnd for a partition of the pipeline (which must
  // exist).
  void SetPartitionAtEnd(const char* topic, int32_t partition, bool at_end);
  absl::Status ProcessMessage(const rd_kafka_message_t* m,
                              std::chrono::steady_clock::time_point dequeued);
  // Flushes outputs, waiting up to `timeout`; if all are acknowledged,
  // commits the progress made. For rebalances and shutdown, where the
  // partitions change hands at this point.
  absl::Status Checkpoint(absl::Duration timeout, bool sync);
  // The periodic checkpoint, which never waits: BeginCheckpoint() notes the
  // progress made so far and the producer's mark; FinishCheckpoint(),
  // called after every batch, commits that progress once every output
  // produced before the mark is acknowledged. Waiting for the acks instead
  // stalled processing for 10-40 ms about once a second.
  void BeginCheckpoint();
  absl::Status FinishCheckpoint();
  // Stores and commits `offsets` (asynchronously unless `sync`).
  // With a state topic, `metadata` names the snapshot the offsets go with
  // and `slot` its slot (remembered once the commit succeeds).
  absl::Status CommitOffsets(
      const std::map<std::pair<std::string, int32_t>, int64_t>& offsets,
      bool sync, const std::string& metadata = "", char slot = 0);
  bool state_enabled() const { return !options_.state_topic.empty(); }
  // FailedPrecondition when the brokers say the state topic (or, with
  // repartition, a repartition topic) does not exist.
  absl::Status CheckStateTopic();
  absl::Status CheckRepartitionTopics();
  // The current assignment as AssignmentString() writes it.
  std::string CurrentAssignment() const;
  // Snapshots the pipeline with `offsets` (the progress it reflects) and
  // hands its records to the producer, into the slot the last commit does
  // not name. Returns the slot and id; the first record's producer id goes
  // to state_first_message_. Fails if the pipeline cannot be snapshotted.
  absl::StatusOr<std::pair<char, uint64_t>> WriteState(
      const std::map<std::pair<std::string, int32_t>, int64_t>& offsets);
  // The commit metadata for the snapshot WriteState() wrote, once its first
  // record is acknowledged; empty before.
  std::string StateMetadata(char slot, uint64_t id) const;
  // Into the fresh pipeline_ of an assignment: the state the committed
  // offsets name (committed_meta_). One snapshot of exactly this
  // assignment is restored whole; otherwise each snapshot named gives the
  // partitions whose commits name it and the targets they carried
  // (Pipeline::RestoreParts). A snapshot that cannot be used (missing,
  // corrupt, other config, offsets) is logged and counted, and its
  // partitions' targets start empty.
  void RestoreAssignmentState();
  void UpdateMetrics();
  void ApplyBackpressure();
  void Close();

  const Config config_;
  const DaemonOptions options_;
  AlertSink* extra_alert_sink_;
  const Clock* clock_;
  // The pipeline's processing time, refreshed from clock_ once per batch.
  BatchClock batch_clock_;

  std::shared_ptr<prometheus::Registry> registry_;
  std::shared_ptr<Readiness> readiness_ =
      std::make_shared<Readiness>("not yet assigned partitions");
  std::unique_ptr<MetricsServer> metrics_server_;
  std::unique_ptr<PipelineProbe> pipeline_probe_;
  std::unique_ptr<KafkaProbe> kafka_probe_;

  std::unique_ptr<Producer> producer_;
  std::unique_ptr<KafkaAlertSink> alert_sink_;
  std::unique_ptr<KafkaDeadLetterSink> dead_letter_sink_;
  TeeAlertSink tee_;
  std::unique_ptr<Pipeline> pipeline_;

  rd_kafka_t* consumer_ = nullptr;
  // The current assignment, kept from the rebalance events. Asking the
  // client (rd_kafka_assignment) is a round trip to its main thread, which
  // was made once per batch, and can go unanswered while the consumer
  // closes (librdkafka issue #4041): a daemon hung at shutdown in it.
  PartitionList assignment_{rd_kafka_topic_partition_list_new(0)};
  bool cooperative_ = false;
  // Set once Close() has begun leaving the group.
  bool closing_ = false;
  // Next offset to commit per (topic, partition): one past the last record
  // the pipeline has handled.
  std::map<std::pair<std::string, int32_t>, int64_t> progress_;
  // Next offset expected per assigned (topic, partition): the committed one
  // at assignment, then one past the last record read.
  std::map<std::pair<std::string, int32_t>, int64_t> expected_;
  // The entry of progress_ or expected_ a record last used, by its topic
  // view (TopicView's, stable for the daemon's life) and partition: records
  // come in runs from one partition, and building a string key and walking
  // the map twice per record was 5% of the daemon thread. Map iterators stay
  // valid until their entry is erased, so every erase or clear of the map
  // forgets its slot.
  struct OffsetSlot {
    const char* topic = nullptr;
    int32_t partition = -1;
    std::map<std::pair<std::string, int32_t>, int64_t>::iterator it;
  };
  OffsetSlot progress_slot_;
  OffsetSlot expected_slot_;
  // progress_[{topic, partition}], through progress_slot_. `topic` is a
  // TopicView().
  int64_t& ProgressOf(std::string_view topic, int32_t partition);
  // Per assigned (topic, partition): the offset of its last end-of-log
  // event, i.e. where the fetcher last found the log to end.
  std::map<std::pair<std::string, int32_t>, int64_t> end_of_log_;
  // Partitions whose last statistics showed records deleted unread below
  // the fetcher (expected_ < log start <= next fetch), by the log start:
  // counted once a poll comes back empty, i.e. once nothing fetched before
  // those statistics can still be on its way to the pipeline.
  std::map<std::pair<std::string, int32_t>, int64_t> reset_past_;
  // Assigned partitions the consumer could not fetch at its last statistics
  // (leader down): they are kept from counting as idle.
  std::vector<std::pair<std::string, int32_t>> stalled_;
  bool uncommitted_ = false;
  // The periodic checkpoint in progress: the progress it will commit, and
  // the producer mark every output it covers precedes.
  struct PendingCheckpoint {
    std::map<std::pair<std::string, int32_t>, int64_t> offsets;
    uint64_t mark = 0;
    std::chrono::steady_clock::time_point begun;
    // The snapshot written with it (state topic only; slot 0: none).
    char slot = 0;
    uint64_t id = 0;
  };
  std::optional<PendingCheckpoint> checkpoint_;
  // Bumped on every rebalance, so records fetched under an old assignment
  // are recognised and dropped (they will be re-read).
  int64_t generation_ = 0;
  bool paused_ = false;
  // Assigned partitions that have reached their log end since their
  // assignment (MarkEnds): what readiness waits for.
  std::set<std::pair<std::string, int32_t>> caught_up_;
  // Partitions paused for watermark alignment (AlignPartitions), with when
  // (processing time) each was paused.
  std::map<std::pair<std::string, int32_t>, absl::Time> aligned_;
  // Records polled from partitions paused for alignment, in order, handled
  // once their partition resumes (HandleFetched, DrainParked). Not yet
  // processed, so not in progress_: a checkpoint never commits past them.
  std::map<std::pair<std::string, int32_t>, std::deque<Fetched>> parked_;
  size_t parked_count_ = 0;
  // Per assigned partition: the progress_ offset AlignPartitions last saw
  // and when it last changed, i.e. when the partition last delivered.
  struct Delivered {
    int64_t next = -1;
    absl::Time at;
  };
  std::map<std::pair<std::string, int32_t>, Delivered> delivered_;
  // Per assigned partition: when MarkEnds last found it at its log end
  // (processing time). A partition that has not been there for end_grace
  // is reading a backlog; one that trickles touches its end all the time.
  std::map<std::pair<std::string, int32_t>, absl::Time> last_at_end_;
  // Per feed: alignment released because no partition holding its
  // watermark is catching up (AlignPartitions).
  std::array<bool, kNumFeeds> released_{};
  std::atomic<int64_t> alignment_releases_{0};
  int64_t alignment_logs_ = 0;
  bool failed_ = false;
  int64_t checkpoint_failures_ = 0;

  // Repartition: the repartition topics (by feed), the input topics'
  // partition counts (0: unknown), the lane sources' names by (repartition
  // topic, partition) and input partition (map nodes keep the names, which
  // SourceRefs view, in place), and per lane the input offset the next
  // record must exceed (lower ones were processed already: a re-send).
  std::array<std::string, kNumFeeds> repartition_topics_;
  std::array<int32_t, kNumFeeds> input_partitions_{};
  // (Keyed by the topic's view: its data pointer, which TopicView() keeps
  // stable, so the per-record lookups allocate nothing.)
  std::map<std::pair<const char*, int32_t>, std::map<int32_t, std::string>>
      lanes_;
  std::map<std::tuple<const char*, int32_t, int32_t>, int64_t> lane_next_;
  // The repartition topics' partition counts (0: unknown), and per input
  // partition forwarded the last lane-end mark written (MarkLaneEnds).
  std::array<int32_t, kNumFeeds> repartition_partitions_{};
  struct LaneMark {
    int64_t next = -1;
    absl::Time at = absl::InfinitePast();
    bool ended = false;  // the last mark written said "at its end"
  };
  std::map<std::pair<std::string, int32_t>, LaneMark> lane_marks_;
  // Per repartition partition (topic view, partition): when a batch last
  // brought it a record (processing time; KeepBackloggedSourcesActive).
  std::map<std::pair<const char*, int32_t>, absl::Time> lane_partition_active_;
  // A decoder for the forwarder (reads the target), apart from the
  // pipeline's.
  std::unique_ptr<Decoder> forward_decoder_;
  // Counted since the last UpdateMetrics, by feed.
  std::array<int64_t, kNumFeeds> miskeyed_pending_{};
  std::array<int64_t, kNumFeeds> repartitioned_pending_{};
  std::array<int64_t, kNumFeeds> duplicates_pending_{};
  int64_t miskeyed_logs_ = 0;

  std::atomic<int> assigned_{0};
  std::atomic<int64_t> rebalances_{0};
  std::atomic<int64_t> records_{0};
  std::atomic<int64_t> skipped_{0};
  std::atomic<int64_t> commits_{0};
  std::atomic<int64_t> miskeyed_{0};
  std::atomic<int64_t> repartitioned_{0};
  std::atomic<int64_t> repartition_duplicates_{0};
  std::atomic<int64_t> lane_end_marks_{0};
  std::atomic<int64_t> alignment_pauses_{0};
  std::atomic<int64_t> alignment_resumes_{0};

  // State checkpoints. The slot the last successful commit named ('A' or
  // 'B'; 0 before any), and the one of a commit still in flight (no new
  // snapshot is written meanwhile: its slot would be unknown).
  char committed_slot_ = 0;
  char inflight_slot_ = 0;
  bool commit_in_flight_ = false;
  // The producer id of the last snapshot's first record, and where the
  // brokers put it (on_acknowledged).
  uint64_t state_first_message_ = 0;
  int32_t state_first_partition_ = -1;
  int64_t state_first_offset_ = -1;
  uint64_t state_sequence_ = 0;
  // The assignment the pipeline's state covers (AssignmentString), set
  // when it is created for one.
  std::string pipeline_assignment_;
  // Commit metadata of the assigned partitions, as read on assignment.
  std::map<std::pair<std::string, int32_t>, std::string> committed_meta_;
  std::mt19937_64 state_rng_{std::random_device{}()};
  std::atomic<int64_t> state_checkpoints_{0};
  std::atomic<int64_t> state_restores_{0};
  std::atomic<int64_t> state_restore_failures_{0};
  std::atomic<int64_t> state_restored_partitions_{0};
  // Per assigned partition: the targets its records were keyed by (from
  // the restored snapshots, then as read), written with every snapshot so
  // a partition's part of it can be restored elsewhere; and the last one
  // noted, to skip the lookup for runs of one target.
  std::map<std::pair<std::string, int32_t>, std::set<uint16_t>>
      partition_targets_;
  const char* last_target_topic_ = nullptr;
  int32_t last_target_partition_ = -1;
  uint16_t last_target_code_ = 0;
  std::atomic<int64_t> state_snapshot_bytes_{0};
  mutable absl::Mutex restore_mu_;
  RestoreFigures last_restore_ ABSL_GUARDED_BY(restore_mu_);
};

// Creates a Daemon and runs it until `stop`.
absl::Status RunDaemon(const Config& config, const DaemonOptions& options,
                       const std::atomic<bool>& stop,
                       AlertSink* extra_alert_sink = nullptr);

// Installs SIGINT and SIGTERM handlers that set the returned process-wide
// flag; a second signal gets the default action (immediate exit). Call once,
// from the main thread, before starting work.
const std::atomic<bool>& StopOnSignals();

}  // namespace vigia

#endif  // VIGIA_PIPELINE_KAFKA_DAEMON_H_
