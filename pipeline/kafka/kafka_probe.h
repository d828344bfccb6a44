// The Kafka side of vigia's metrics: what librdkafka's statistics JSON says
// about consumer lag, brokers, rebalances and the producer queue, plus the
// delivery, commit and client-error counts the daemon keeps itself.
//
// ParseKafkaStats() turns one statistics document (statistics.interval.ms,
// delivered to the stats callback) into plain numbers; KafkaProbe owns the
// Prometheus families and is updated from the daemon's thread (the stats
// callback runs inside its polls). The registry must outlive the probe.
// KafkaProbe is not thread-safe; its metrics may be scraped at any time.
#ifndef VIGIA_PIPELINE_KAFKA_KAFKA_PROBE_H_
#define VIGIA_PIPELINE_KAFKA_KAFKA_PROBE_H_

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "prometheus/counter.h"
#include "prometheus/family.h"
#include "prometheus/gauge.h"
#include "prometheus/registry.h"

namespace vigia {

struct KafkaPartitionLag {
  std::string topic;
  int32_t partition = 0;
  // Messages between the group's committed offset and the partition's
  // end: what a restart would (re)read.
  int64_t lag = 0;
};

// Where a consumer's fetcher stands on one partition, and what the brokers
// still hold of it.
struct KafkaPartitionPosition {
  std::string topic;
  int32_t partition = 0;
  int64_t log_start = -1;   // lo_offset: older records were deleted
  int64_t next_fetch = -1;  // next_offset: where the next fetch starts
};

// One librdkafka statistics document, reduced to what vigia exports.
struct KafkaClientStats {
  std::string type;             // "producer" or "consumer"
  int64_t queued_messages = 0;  // msg_cnt: messages waiting in the client
  int brokers = 0;              // brokers known by id
  int brokers_up = 0;           // of those, connected (state UP)
  // Partitions whose consumer lag is known (librdkafka reports -1 for
  // partitions it does not fetch).
  std::vector<KafkaPartitionLag> lags;
  // Fetched partitions whose log start and fetch position are both known.
  std::vector<KafkaPartitionPosition> positions;
  // Partitions the client wants to fetch (assigned) but cannot: their
  // leader is unknown or not connected, or their fetcher is not active.
  // Their silence says nothing about what waits in them.
  std::vector<std::pair<std::string, int32_t>> stalled;
  int64_t rebalances = -1;  // cgrp.rebalance_cnt; -1 without a group
  int64_t assigned = -1;    // cgrp.assignment_size; -1 without a group
};

// Parses a statistics document. Returns InvalidArgument when it is not
// JSON or lacks the top-level "type".
absl::StatusOr<KafkaClientStats> ParseKafkaStats(std::string_view json);

class KafkaProbe {
 public:
  explicit KafkaProbe(prometheus::Registry& registry);
  KafkaProbe(const KafkaProbe&) = delete;
  KafkaProbe& operator=(const KafkaProbe&) = delete;

  // Updates lag, broker, rebalance and queue metrics from one client's
  // statistics.
  void OnStats(const KafkaClientStats& stats);
  // Counts an error librdkafka reported (error callback), by client
  // ("consumer", "producer") and librdkafka error name.
  void OnClientError(std::string_view client, std::string_view error);
  // Counts an offset commit's outcome.
  void OnCommit(bool ok);
  // Counts failed deliveries of an output ("alerts", "dead_letters"); they
  // are retried, never dropped.
  void OnDeliveryError(std::string_view output);
  // Counts `n` records of `topic` that were never read: deleted by the
  // brokers before the consumer reached them (an offset reset).
  void OnSkipped(std::string_view topic, int64_t n);
  // Counts `n` records of an input topic whose key is not their target
  // (the keying docs/kafka.md asks of producers), read from `topic`. (The
  // daemon adds these up per batch of metrics, not per record.)
  void OnMiskeyed(std::string_view topic, int64_t n);
  // Counts `n` records of an input topic forwarded to its repartition
  // topic, and `n` read back from a repartition topic that were already
  // processed (a forwarder's re-send after a crash) and skipped.
  void OnRepartitioned(std::string_view topic, int64_t n);
  void OnRepartitionDuplicates(std::string_view topic, int64_t n);
  // Outputs produced and not yet acknowledged (in flight or awaiting retry).
  void SetUnacknowledged(int64_t n);
  // Whether consumption is paused for backpressure.
  void SetPaused(bool paused);
  // Watermark alignment: `paused` partitions were just paused for running
  // ahead of their feed's watermark, and `now` are paused so at present.
  void OnAlignment(int64_t paused, int64_t now);
  // Detector state (docs/state.md): a snapshot of `bytes` written to the
  // state topic; a snapshot restored into an assignment (`failure` empty)
  // or not used, its partitions' targets started empty (`failure` is the
  // reason: missing, corrupt, config, version, assignment, offsets,
  // unreadable; unsplittable when detectors that cannot split or merge
  // their state started empty); `partitions` whose state came back.
  void OnStateCheckpoint(int64_t bytes);
  void OnStateRestore(std::string_view failure);
  void OnPartitionsRestored(int64_t partitions);

 private:
  prometheus::Counter& DeliveryCounter(std::string_view output);

  prometheus::Family<prometheus::Gauge>& lag_;
  prometheus::Family<prometheus::Counter>& rebalances_;
  prometheus::Family<prometheus::Gauge>& assigned_;
  prometheus::Family<prometheus::Gauge>& brokers_up_;
  prometheus::Family<prometheus::Gauge>& queue_;
  prometheus::Family<prometheus::Counter>& client_errors_;
  prometheus::Family<prometheus::Counter>& commits_;
  prometheus::Family<prometheus::Counter>& delivery_errors_;
  prometheus::Family<prometheus::Counter>& skipped_;
  prometheus::Family<prometheus::Counter>& miskeyed_;
  prometheus::Family<prometheus::Counter>& repartitioned_;
  prometheus::Family<prometheus::Counter>& repartition_duplicates_;
  prometheus::Family<prometheus::Gauge>& unacknowledged_;
  prometheus::Family<prometheus::Gauge>& paused_;
  prometheus::Family<prometheus::Counter>& alignment_pauses_;
  prometheus::Family<prometheus::Gauge>& aligned_;
  prometheus::Family<prometheus::Counter>& state_checkpoints_;
  prometheus::Family<prometheus::Gauge>& state_bytes_;
  prometheus::Family<prometheus::Counter>& state_restores_;
  prometheus::Family<prometheus::Counter>& state_restore_failures_;
  prometheus::Family<prometheus::Counter>& state_restored_partitions_;

  prometheus::Counter* rebalances_total_;
  prometheus::Gauge* assigned_partitions_;
  prometheus::Gauge* queue_messages_;
  prometheus::Gauge* unacknowledged_messages_;
  prometheus::Gauge* paused_gauge_;
  prometheus::Counter* alignment_pauses_total_;
  prometheus::Gauge* aligned_partitions_;
  std::map<std::pair<std::string, int32_t>, prometheus::Gauge*> lag_gauges_;
  std::map<std::string, prometheus::Counter*, std::less<>> delivery_counters_;
  int64_t last_rebalances_ = 0;
};

}  // namespace vigia

#endif  // VIGIA_PIPELINE_KAFKA_KAFKA_PROBE_H_
