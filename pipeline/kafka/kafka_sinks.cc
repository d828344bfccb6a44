#include "pipeline/kafka/kafka_sinks.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "pipeline/core/alert.h"
#include "pipeline/core/strings.h"

namespace vigia {

KafkaAlertSink::KafkaAlertSink(Producer* producer, std::string topic,
                               absl::Duration flush_timeout)
    : producer_(producer),
      topic_(std::move(topic)),
      flush_timeout_(flush_timeout) {}

absl::Status KafkaAlertSink::Write(const Alert& alert) {
  OutMessage m;
  m.topic = topic_;
  m.key = alert.id;
  m.value = AlertToJson(alert);
  m.headers = {{kHeaderDetector, alert.detector},
               {kHeaderState, std::string(AlertStateName(alert.state))},
               {kHeaderSeverity, std::string(SeverityName(alert.severity))}};
  m.output = "alerts";
  producer_->Produce(std::move(m));
  return absl::OkStatus();
}

absl::Status KafkaAlertSink::Flush() {
  return producer_->Flush(flush_timeout_);
}

KafkaDeadLetterSink::KafkaDeadLetterSink(Producer* producer, std::string topic,
                                         size_t max_value_bytes,
                                         absl::Duration flush_timeout)
    : producer_(producer),
      topic_(std::move(topic)),
      max_value_bytes_(max_value_bytes),
      flush_timeout_(flush_timeout) {}

absl::Status KafkaDeadLetterSink::Write(const DeadLetter& letter) {
  OutMessage m;
  m.topic = topic_;
  const SourceRef& src = letter.source;
  const std::string source = std::string(src.source);
  m.headers = {{kHeaderReason, std::string(letter.reason)},
               {kHeaderDetail, std::string(letter.detail)}};
  if (src.is_kafka()) {
    m.key = absl::StrCat(source, "/", src.partition, "/", src.position);
    m.headers.emplace_back(kHeaderSourceTopic, source);
    m.headers.emplace_back(kHeaderSourcePartition, absl::StrCat(src.partition));
    m.headers.emplace_back(kHeaderSourceOffset, absl::StrCat(src.position));
  } else {
    m.key = absl::StrCat(source, ":", src.position);
    m.headers.emplace_back(kHeaderSourceFile, source);
    m.headers.emplace_back(kHeaderSourceLine, absl::StrCat(src.position));
  }
  std::string_view bytes = letter.bytes;
  if (bytes.size() > max_value_bytes_) {
    m.headers.emplace_back(kHeaderTruncatedFrom, absl::StrCat(bytes.size()));
    bytes = bytes.substr(0, max_value_bytes_);
  }
  m.value = std::string(bytes);
  m.output = "dead_letters";
  producer_->Produce(std::move(m));
  return absl::OkStatus();
}

absl::Status KafkaDeadLetterSink::Flush() {
  return producer_->Flush(flush_timeout_);
}

}  // namespace vigia
