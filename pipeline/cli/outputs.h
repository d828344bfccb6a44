// Alert outputs shared by the commands that run the pipeline (replay, run,
// demo): the Alertmanager sink built from the config's `alertmanager:`
// section and the --alertmanager/--drill flags, and the thread that copies
// its counters into /metrics. Used once per process from the main thread.
#ifndef VIGIA_PIPELINE_CLI_OUTPUTS_H_
#define VIGIA_PIPELINE_CLI_OUTPUTS_H_

#include <atomic>
#include <memory>
#include <string>
#include <thread>

#include "absl/status/statusor.h"
#include "pipeline/alertmanager/alertmanager_probe.h"
#include "pipeline/alertmanager/alertmanager_sink.h"
#include "pipeline/cli/flags.h"
#include "pipeline/config.h"
#include "pipeline/core/alert.h"
#include "pipeline/core/time.h"
#include "pipeline/sinks.h"
#include "prometheus/registry.h"

namespace vigia::cli {

// The flags every pipeline-running command takes for Alertmanager.
inline constexpr char kAlertmanagerFlag[] = "alertmanager";
inline constexpr char kDrillFlag[] = "drill";
FlagSpec AlertmanagerFlagSpec();
FlagSpec DrillFlagSpec();

// Returns the sink, or nullptr when neither the config nor the flags name
// an Alertmanager. --alertmanager (comma-separated URLs) replaces the
// config's urls; --drill turns drill labelling on. `record_ref` says where
// the full alert records go (quoted in each alert's annotations).
absl::StatusOr<std::unique_ptr<AlertmanagerSink>> MakeAlertmanagerSink(
    const Config& config, const ParsedFlags& flags, const Clock* clock,
    std::string record_ref);

// Passes alerts on to a notification sink without letting it hold back
// the pipeline: Flush() returns at once. In the daemon a checkpoint flushes
// every alert sink before it commits, and the durable record is the alerts
// topic; an Alertmanager outage must page through vigia's own metrics
// (vigia_alertmanager_requests_failed_total), not stop Kafka progress. The
// wrapped sink keeps its own queue, retries and counters; its owner flushes
// it once at the end.
class NotificationSink final : public AlertSink {
 public:
  explicit NotificationSink(AlertSink* inner) : inner_(inner) {}
  absl::Status Write(const Alert& alert) override {
    return inner_->Write(alert);
  }
  absl::Status Flush() override { return absl::OkStatus(); }

 private:
  AlertSink* inner_;
};

// Passes on alerts of at least `min` severity (the resolved record of an
// episode carries the severity it fired with).
class SeverityFilterSink final : public AlertSink {
 public:
  SeverityFilterSink(AlertSink* inner, Severity min)
      : inner_(inner), min_(min) {}
  absl::Status Write(const Alert& alert) override {
    if (alert.severity < min_) return absl::OkStatus();
    return inner_->Write(alert);
  }
  absl::Status Flush() override { return inner_->Flush(); }

 private:
  AlertSink* inner_;
  Severity min_;
};

// Parses --min-severity (info, warning, critical); `fallback` when absent.
absl::StatusOr<Severity> MinSeverityFlag(const ParsedFlags& flags,
                                         Severity fallback);

// Exports `sink`'s counters into `registry` once a second on its own
// thread, until destroyed (which updates one last time).
class AlertmanagerMetrics {
 public:
  AlertmanagerMetrics(prometheus::Registry& registry,
                      const AlertmanagerSink& sink);
  ~AlertmanagerMetrics();
  AlertmanagerMetrics(const AlertmanagerMetrics&) = delete;
  AlertmanagerMetrics& operator=(const AlertmanagerMetrics&) = delete;

 private:
  AlertmanagerProbe probe_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace vigia::cli

#endif  // VIGIA_PIPELINE_CLI_OUTPUTS_H_
