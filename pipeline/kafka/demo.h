// `vigia demo`: the whole system on one machine with nothing to install.
// Starts librdkafka's mock cluster in-process, generates a bundled scenario
// (pipeline/gen), streams it into the post and ad topics in real time sped
// up `speedup` times (keyed by target, as production feeds must be), runs
// the Kafka daemon against it with /metrics served, and prints alerts as
// they fire. The scenario's lines go through a temporary file, so memory
// stays flat.
//
// RunDemo() blocks the calling thread; it starts and joins its own threads.
#ifndef VIGIA_PIPELINE_KAFKA_DEMO_H_
#define VIGIA_PIPELINE_KAFKA_DEMO_H_

#include <atomic>
#include <memory>
#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "pipeline/config.h"
#include "pipeline/sinks.h"
#include "prometheus/registry.h"

namespace vigia {

struct DemoOptions {
  // A bundled scenario name or a scenario YAML path (see docs/scenarios.md).
  std::string scenario = "mx_us_diaspora";
  // Event time runs this many times faster than wall time: 3600 streams an
  // hour per second, so the 2-day bundled scenarios take ~48 s.
  double speedup = 3600;
  int partitions = 3;
  std::string metrics_addr = "127.0.0.1:9464";
  // Stop by itself once the scenario has streamed and been processed.
  bool exit_when_done = true;
  // After that, keep serving /metrics (and any Alertmanager resends) this
  // long, so a scraper or a person can look at the final state.
  absl::Duration linger = absl::ZeroDuration();
  // The registry the daemon's metrics go to; nullptr = a new one. Lets the
  // caller add its own metrics (e.g. the Alertmanager sink's) to /metrics.
  std::shared_ptr<prometheus::Registry> registry;
};

// Runs the demo until the scenario is done (with exit_when_done) or `stop`
// is set. Alerts go to `alert_printer`, or to an AlertPrinter on stdout
// when it is nullptr. The config's watermark idle timeout is capped at 2 s
// of wall time, since sped-up event time makes a minute of silence mean an
// hour of stalled windows.
absl::Status RunDemo(const Config& config, const DemoOptions& options,
                     const std::atomic<bool>& stop,
                     AlertSink* alert_printer = nullptr);

}  // namespace vigia

#endif  // VIGIA_PIPELINE_KAFKA_DEMO_H_
