// The Kafka part of vigia-bench: streams the feed into librdkafka's mock
// cluster on loopback while one or more Daemons (`vigia run`) consume it in
// one consumer group, and measures throughput and event-to-alert latency as
// seen on the alerts topic. Runs on the calling thread plus the daemons'
// and the alert reader's threads; everything is torn down before it returns.
#ifndef VIGIA_BENCH_KAFKA_BENCH_H_
#define VIGIA_BENCH_KAFKA_BENCH_H_

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "bench/feed.h"
#include "pipeline/config.h"

namespace vigia::bench {

struct KafkaBenchOptions {
  int instances = 1;   // daemons in the group
  int partitions = 4;  // per topic
  // Records produced but not yet handled by the daemons: the mock cluster
  // keeps only a few MB per partition, so the feed is streamed, never
  // preloaded.
  int64_t max_in_flight = 8000;
  double timeout_s = 120;
  // Produce at this many records per second (0: as fast as the daemons
  // take them). Latency is measured paced, below saturation: saturated, it
  // only measures the queue the in-flight bound allows.
  double rate = 0;
  // Produce only the first `limit` records (0: all).
  int64_t limit = 0;
  // Extra librdkafka settings for the daemons' clients.
  std::map<std::string, std::string> daemon_settings;
  // Detector state checkpoints (docs/state.md): the state topic ("" off,
  // as the throughput and latency runs have it) and the interval.
  std::string state_topic;
  double checkpoint_interval_s = 1;
  // kafka.repartition on the daemons (docs/kafka.md): every record is
  // forwarded through the group's repartition topics before it is
  // processed. The feed is produced keyed by target either way, so the two
  // runs differ only by the repartition stage.
  bool repartition = false;
};

struct KafkaBenchResult {
  int64_t events = 0;  // records handled by the daemons
  double wall_s = 0;   // first produce to last record handled
  double events_per_s = 0;
  // Daemon threads' CPU time, summed: events per consumer CPU second.
  double consumer_cpu_s = 0;
  double events_per_consumer_cpu_s = 0;
  // CPU time of the whole process over the same span (every thread: the
  // daemons, librdkafka's, the feed producer, the mock broker, the reader).
  double process_cpu_s = 0;
  // Event produce time -> alert read back from the alerts topic, ms.
  std::vector<double> alert_latency_ms;
  // Its two parts: produce -> the daemon emits the alert, and emit -> the
  // alert is read back from the alerts topic.
  std::vector<double> produce_to_emit_ms;
  std::vector<double> emit_to_topic_ms;
  // Paced runs: every record's produce time -> the daemon has handled it,
  // ms. Many more samples than there are alerts.
  std::vector<double> record_transit_ms;
  int64_t state_checkpoints = 0;            // snapshots committed, all daemons
  int64_t alerts_emitted = 0;               // by the daemons
  int64_t alerts_seen = 0;                  // on the alerts topic
  int64_t alerts_attributed = 0;            // with a known triggering record
  int64_t alerts_attributed_to_ads = 0;     // of those, triggered by an ad
  std::vector<std::string> shutdown_notes;  // non-OK Run() results
};

absl::StatusOr<KafkaBenchResult> RunKafkaBench(
    const Feed& feed, const Config& config, const KafkaBenchOptions& options);

// Restart after a crash (docs/state.md): one daemon reads the first half of
// `records` with state checkpoints, stops, and a group member that dies
// without leaving (what kill -9 leaves behind) joins; the second half is
// produced, and a new daemon starts. Timed from its creation. The state is
// the feed's (about 1.5 MB): librdkafka's mock keeps at most 5 MiB per
// partition, so neither a million keys' feed nor their 54 MB snapshot fit.
struct RestartBenchResult {
  int64_t keys = 0;              // detector keys the first daemon held
  int64_t snapshot_bytes = 0;    // its last snapshot
  double restore_read_s = -1;    // the restored snapshot's chunks read
  double restore_decode_s = -1;  // checked and decoded into the pipeline
  double assigned_s = -1;        // to its partitions assigned
  double restored_s = -1;        // to its state restored
  double first_record_s = -1;    // to its first record handled
  double first_alert_s = -1;     // to its first alert (-1: none in the slice)
  double all_records_s = -1;     // to the second half handled
  int session_timeout_ms = 0;    // the group's session timeout
  bool restored = false;
  int64_t alerts = 0;
};
absl::StatusOr<RestartBenchResult> RunRestartBench(
    const Feed& feed, const Config& config, int64_t records,
    const std::map<std::string, std::string>& daemon_settings);

}  // namespace vigia::bench

#endif  // VIGIA_BENCH_KAFKA_BENCH_H_
