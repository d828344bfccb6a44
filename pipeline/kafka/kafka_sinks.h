// Alert and dead-letter sinks that write to Kafka topics through a Producer.
//
// Alerts: key = alert id, value = AlertToJson(alert), headers
// vigia.detector, vigia.state, vigia.severity. The id is deterministic, so
// a consumer can drop a repeated (id, state) record: that is how a re-read
// event never yields a second, different alert.
//
// Dead letters: value = the original record bytes unchanged (cut to
// `max_value_bytes`, with a vigia.truncated_from header, if they would not
// fit in a Kafka message), key = the source coordinates, headers
// vigia.reason, vigia.detail and the source (vigia.source.topic,
// vigia.source.partition, vigia.source.offset for Kafka input;
// vigia.source.file, vigia.source.line for files). See docs/kafka.md.
//
// Write() hands the record to the producer and always succeeds: the
// producer owns it from then on and retries until it is delivered. Flush()
// waits for acknowledgement. Both sinks share the producer's thread rules.
#ifndef VIGIA_PIPELINE_KAFKA_KAFKA_SINKS_H_
#define VIGIA_PIPELINE_KAFKA_KAFKA_SINKS_H_

#include <cstddef>
#include <string>

#include "absl/time/time.h"
#include "pipeline/kafka/producer.h"
#include "pipeline/sinks.h"

namespace vigia {

// Header names on dead letters and alerts; a public interface.
inline constexpr char kHeaderReason[] = "vigia.reason";
inline constexpr char kHeaderDetail[] = "vigia.detail";
inline constexpr char kHeaderSourceTopic[] = "vigia.source.topic";
inline constexpr char kHeaderSourcePartition[] = "vigia.source.partition";
inline constexpr char kHeaderSourceOffset[] = "vigia.source.offset";
inline constexpr char kHeaderSourceFile[] = "vigia.source.file";
inline constexpr char kHeaderSourceLine[] = "vigia.source.line";
inline constexpr char kHeaderTruncatedFrom[] = "vigia.truncated_from";
inline constexpr char kHeaderDetector[] = "vigia.detector";
inline constexpr char kHeaderState[] = "vigia.state";
inline constexpr char kHeaderSeverity[] = "vigia.severity";

class KafkaAlertSink final : public AlertSink {
 public:
  // `producer` must outlive the sink.
  KafkaAlertSink(Producer* producer, std::string topic,
                 absl::Duration flush_timeout = absl::Seconds(10));
  absl::Status Write(const Alert& alert) override;
  // Waits for every message of the producer (alerts and dead letters).
  absl::Status Flush() override;

 private:
  Producer* producer_;
  std::string topic_;
  absl::Duration flush_timeout_;
};

class KafkaDeadLetterSink final : public DeadLetterSink {
 public:
  // Kafka's default message.max.bytes is 1000000; leave room for headers.
  static constexpr size_t kDefaultMaxValueBytes = 900 * 1000;

  KafkaDeadLetterSink(Producer* producer, std::string topic,
                      size_t max_value_bytes = kDefaultMaxValueBytes,
                      absl::Duration flush_timeout = absl::Seconds(10));
  absl::Status Write(const DeadLetter& letter) override;
  absl::Status Flush() override;

 private:
  Producer* producer_;
  std::string topic_;
  size_t max_value_bytes_;
  absl::Duration flush_timeout_;
};

}  // namespace vigia

#endif  // VIGIA_PIPELINE_KAFKA_KAFKA_SINKS_H_
