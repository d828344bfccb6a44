// Producer: vigia's writer to Kafka (alerts, dead letters, and the demo's
// feed), over librdkafka's producer, with one rule: a message handed to it
// is never dropped. It stays owned by the Producer until the brokers
// acknowledge it; a failed delivery (timeout, broker error) is counted and
// produced again, and a full local queue just keeps the message waiting.
// Flush() tells the caller whether everything produced so far is
// acknowledged, which is what the Kafka daemon requires before it commits
// consumer offsets.
//
// Not thread-safe: one thread produces, polls and flushes (delivery reports
// and statistics callbacks run inside those calls). The counters may be
// read from any thread.
#ifndef VIGIA_PIPELINE_KAFKA_PRODUCER_H_
#define VIGIA_PIPELINE_KAFKA_PRODUCER_H_

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "pipeline/kafka/settings.h"

namespace vigia {

// One message to write.
struct OutMessage {
  std::string topic;
  std::string key;  // empty: no key
  std::string value;
  std::vector<std::pair<std::string, std::string>> headers;
  // Which of vigia's outputs this is ("alerts", "dead_letters", "feed"): a
  // bounded label for delivery-error metrics.
  std::string output;
  int32_t partition = RD_KAFKA_PARTITION_UA;  // UA: the partitioner decides
};

struct ProducerOptions {
  std::string brokers;
  // Passthrough librdkafka settings (security, SASL, TLS, tuning).
  KafkaSettings settings;
  // enable.idempotence: no duplicates or reordering from the client's own
  // retries. The daemon always sets it for alerts.
  bool idempotent = true;
  std::string client_id = "vigia";
  // statistics.interval.ms; 0 disables statistics.
  int statistics_interval_ms = 0;
  // Called from Poll()/Flush() on the producing thread.
  std::function<void(std::string_view json)> on_stats;
  std::function<void(std::string_view error, std::string_view reason)> on_error;
  std::function<void(std::string_view output)> on_delivery_error;
  // Called from Poll()/Flush() when a message is acknowledged, with the id
  // Produce() returned and where the brokers put it (the daemon's state
  // checkpoints learn where their snapshot starts).
  std::function<void(uint64_t id, int32_t partition, int64_t offset)>
      on_acknowledged;
};

class Producer {
 public:
  // Creates the client; returns InvalidArgument for a bad setting.
  static absl::StatusOr<std::unique_ptr<Producer>> Create(
      const ProducerOptions& options);
  // Abandons whatever is not acknowledged (call Flush() first).
  ~Producer();
  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Takes the message and hands it to librdkafka, or keeps it waiting if
  // the local queue is full. Never fails and never drops. Returns the
  // message's id (see ProducerOptions::on_acknowledged).
  uint64_t Produce(OutMessage message);

  // Serves delivery reports and callbacks without blocking, and re-produces
  // messages that failed or waited.
  void Poll();

  // Fetches the metadata (partitions, leaders) of `topics` now, waiting at
  // most `timeout` in all. librdkafka otherwise looks a topic up only on its
  // one-second metadata timer after the first message to it, so the first
  // alerts after a start waited up to a second before being sent. Returns
  // Unavailable (naming the topic) when the cluster did not answer in time;
  // that is not fatal: the lookup then happens on the first produce as
  // before.
  absl::Status PrepareTopics(const std::vector<std::string>& topics,
                             absl::Duration timeout);

  // Waits up to `timeout` for every message produced so far to be
  // acknowledged. Returns OK when none is outstanding, DeadlineExceeded
  // (naming how many are) when the time is up, and Internal when the
  // producer hit a fatal error and can deliver nothing more.
  absl::Status Flush(absl::Duration timeout);

  // Internal once the producer hit a fatal error and can deliver nothing
  // more; OK otherwise.
  absl::Status FatalStatus();

  // A mark for a checkpoint: every message produced before this call
  // precedes it. See AcknowledgedBefore().
  uint64_t Mark() const { return next_id_; }
  // True when every message produced before `mark` was taken has been
  // acknowledged; never waits (delivery reports are served by Poll()). Lets
  // a checkpoint commit once the outputs it covers are durable without
  // stopping to wait for them.
  bool AcknowledgedBefore(uint64_t mark) const {
    return pending_.empty() || pending_.begin()->first >= mark;
  }

  // Produced and not yet acknowledged (in flight, waiting, or to retry).
  int64_t unacknowledged() const { return unacknowledged_.load(); }
  int64_t acknowledged() const { return acknowledged_.load(); }
  // Failed deliveries so far, each retried.
  int64_t delivery_errors() const { return delivery_errors_.load(); }

  rd_kafka_t* raw() const { return rk_; }

 private:
  using SteadyTime = std::chrono::steady_clock::time_point;
  struct Pending {
    OutMessage message;
    SteadyTime not_before{};  // retry backoff
  };
  explicit Producer(const ProducerOptions& options);
  static void OnDelivery(rd_kafka_t* rk, const rd_kafka_message_t* m,
                         void* opaque);
  static void OnError(rd_kafka_t* rk, int err, const char* reason,
                      void* opaque);
  static int OnStats(rd_kafka_t* rk, char* json, size_t len, void* opaque);
  // Hands waiting messages to librdkafka until its queue is full.
  void SubmitWaiting();
  // Hands one message to librdkafka; returns its error (headers freed).
  rd_kafka_resp_err_t Submit(uint64_t id, Pending& p);
  void CountFailure(Pending& p, rd_kafka_resp_err_t err);

  ProducerOptions options_;
  rd_kafka_t* rk_ = nullptr;
  // Handles of the topics PrepareTopics() looked up, kept so their metadata
  // stays in the client's cache; released before the client.
  std::vector<rd_kafka_topic_t*> topics_;
  uint64_t next_id_ = 1;
  // Every message not yet acknowledged, by id; librdkafka carries the id as
  // its message opaque and points into `message.value` until delivery.
  std::map<uint64_t, std::unique_ptr<Pending>> pending_;
  // Ids of messages not currently inside librdkafka, in production order.
  std::set<uint64_t> waiting_;
  bool destroying_ = false;
  std::atomic<int64_t> unacknowledged_{0};
  std::atomic<int64_t> acknowledged_{0};
  std::atomic<int64_t> delivery_errors_{0};
};

}  // namespace vigia

#endif  // VIGIA_PIPELINE_KAFKA_PRODUCER_H_
