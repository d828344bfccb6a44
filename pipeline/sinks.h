// The narrow interfaces through which the pipeline hands over its outputs:
// alerts and dead letters. Implementations: NDJSON files and stdout here;
// Kafka topics and Alertmanager elsewhere. Tests wrap them to inject faults.
//
// Sinks are called from the pipeline thread only, unless an implementation
// says otherwise.
#ifndef VIGIA_PIPELINE_SINKS_H_
#define VIGIA_PIPELINE_SINKS_H_

#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "pipeline/core/alert.h"
#include "pipeline/core/types.h"

namespace vigia {

// A record the pipeline could not use: the original bytes, why, and where
// they came from.
struct DeadLetter {
  std::string_view reason;  // a RejectReasonName() or "late"
  std::string_view detail;  // one line for a person
  std::string_view bytes;   // the original record, unchanged
  SourceRef source;
};

class AlertSink {
 public:
  virtual ~AlertSink() = default;
  // Delivers one alert. An error means the alert was not delivered.
  virtual absl::Status Write(const Alert& alert) = 0;
  // Makes every alert written so far durable (or acknowledged).
  virtual absl::Status Flush() { return absl::OkStatus(); }
};

class DeadLetterSink {
 public:
  virtual ~DeadLetterSink() = default;
  virtual absl::Status Write(const DeadLetter& letter) = 0;
  virtual absl::Status Flush() { return absl::OkStatus(); }
};

// Returns the dead letter as one line of JSON (no newline): reason, detail,
// source coordinates, and the original bytes as "raw" when they are valid
// UTF-8, else as "raw_base64".
std::string DeadLetterToJson(const DeadLetter& letter);

// Writes one JSON line per alert to a file (or to stdout when `path` is "-").
absl::StatusOr<std::unique_ptr<AlertSink>> OpenNdjsonAlertSink(
    const std::string& path);
// Writes one JSON line per dead letter to a file.
absl::StatusOr<std::unique_ptr<DeadLetterSink>> OpenNdjsonDeadLetterSink(
    const std::string& path);

// Forwards every alert to several sinks; stops at and returns the first error.
class TeeAlertSink final : public AlertSink {
 public:
  void Add(AlertSink* sink) { sinks_.push_back(sink); }
  absl::Status Write(const Alert& alert) override;
  absl::Status Flush() override;

 private:
  std::vector<AlertSink*> sinks_;
};

// Prints one line per alert for a person at a terminal: the window end,
// state, severity, detector, summary and id. Used on one thread only.
class AlertPrinter final : public AlertSink {
 public:
  explicit AlertPrinter(FILE* out) : out_(out) {}
  absl::Status Write(const Alert& alert) override;
  absl::Status Flush() override;

  // The line printed for `alert`, without newline.
  static std::string Format(const Alert& alert);

 private:
  FILE* out_;
};

// Discards alerts; for runs that only want the summary.
class NullAlertSink final : public AlertSink {
 public:
  absl::Status Write(const Alert&) override { return absl::OkStatus(); }
};
class NullDeadLetterSink final : public DeadLetterSink {
 public:
  absl::Status Write(const DeadLetter&) override { return absl::OkStatus(); }
};

}  // namespace vigia

#endif  // VIGIA_PIPELINE_SINKS_H_
