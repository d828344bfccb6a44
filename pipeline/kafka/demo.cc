#include "pipeline/kafka/demo.h"

#include <simdjson.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "pipeline/core/log.h"
#include "pipeline/core/strings.h"
#include "pipeline/core/time.h"
#include "pipeline/gen/generator.h"
#include "pipeline/kafka/daemon.h"
#include "pipeline/kafka/feed_streamer.h"
#include "pipeline/kafka/mock_cluster.h"
#include "pipeline/kafka/producer.h"

namespace vigia {
namespace {

using SteadyClock = std::chrono::steady_clock;

}  // namespace

absl::Status RunDemo(const Config& base_config, const DemoOptions& options,
                     const std::atomic<bool>& stop, AlertSink* alert_printer) {
  if (options.speedup <= 0) {
    return absl::InvalidArgumentError("demo speed-up must be positive");
  }
  absl::StatusOr<gen::Scenario> scenario = gen::LoadScenario(options.scenario);
  if (!scenario.ok()) return scenario.status();

  const std::filesystem::path feed_path =
      std::filesystem::temp_directory_path() /
      absl::StrCat("vigia-demo-", ::getpid(), ".ndjson");
  struct Remove {
    std::filesystem::path p;
    ~Remove() {
      std::error_code ignored;
      std::filesystem::remove(p, ignored);
    }
  } remove_feed{feed_path};
  int64_t lines = 0;
  {
    std::ofstream out(feed_path);
    if (!out) {
      return absl::UnavailableError(
          absl::StrCat("cannot write ", feed_path.string()));
    }
    absl::StatusOr<gen::GenerateResult> generated =
        gen::Generate(*scenario, out);
    if (!generated.ok()) return generated.status();
    lines = generated->events + generated->bad_lines;
  }

  absl::StatusOr<std::unique_ptr<MockCluster>> cluster =
      MockCluster::Start(1, options.partitions, DefaultTopics());
  if (!cluster.ok()) return cluster.status();
  const std::string bootstrap = (*cluster)->bootstrap();

  Config config = base_config;
  if (config.watermark.idle_timeout > absl::Seconds(2)) {
    config.watermark.idle_timeout = absl::Seconds(2);
  }
  // The scenario's event time has nothing to do with the wall clock: one
  // dated ahead of today (gen --start, or a scenario file) would otherwise be
  // all `future`. The bound reaches the scenario's end, and no further.
  const absl::Duration to_end =
      scenario->start + scenario->duration - SystemClock::Get()->Now();
  if (to_end > absl::ZeroDuration()) {
    config.watermark.max_clock_lead += to_end;
  }
  DaemonOptions daemon_options;
  daemon_options.brokers = bootstrap;
  daemon_options.metrics_addr = options.metrics_addr;
  daemon_options.metrics_auth = config.metrics_auth;
  daemon_options.metrics_tls = config.metrics_tls;
  daemon_options.group_id = "vigia-demo";
  daemon_options.statistics_interval_ms = 1000;
  daemon_options.registry = options.registry;
  AlertPrinter human(stdout);
  absl::StatusOr<std::unique_ptr<Daemon>> daemon =
      Daemon::Create(config, daemon_options,
                     alert_printer != nullptr ? alert_printer : &human);
  if (!daemon.ok()) return daemon.status();

  const double hours = absl::ToDoubleHours(scenario->duration);
  std::cerr << absl::StrFormat(
                   "vigia demo: scenario %s, %d records over %.0f h of event "
                   "time, streamed at %.0fx (about %.0f s)\n"
                   "  kafka (mock) at %s; metrics at http://%s/metrics\n",
                   scenario->name, lines, hours, options.speedup,
                   hours * 3600 / options.speedup, bootstrap,
                   (*daemon)->metrics_port() > 0
                       ? absl::StrCat("127.0.0.1:", (*daemon)->metrics_port())
                       : std::string("(off)"))
            << std::flush;

  std::atomic<bool> daemon_stop{false};
  absl::Status daemon_status;
  std::thread daemon_thread(
      [&] { daemon_status = (*daemon)->Run(daemon_stop); });
  // Stream only once the daemon holds its partitions, so the detectors see
  // the scenario from its start.
  const auto join_deadline = SteadyClock::now() + std::chrono::seconds(60);
  while (!stop.load() && (*daemon)->assigned_partitions() == 0 &&
         SteadyClock::now() < join_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }

  std::atomic<bool> streamer_stop{false};
  std::atomic<bool> streamed{false};
  absl::Status streamer_status;
  FeedStreamerOptions so;
  so.brokers = bootstrap;
  so.speedup = options.speedup;
  so.client_id = "vigia-demo-feed";
  so.flush_timeout = absl::Seconds(30);
  FeedStreamer streamer(so);
  std::thread streamer_thread([&] {
    absl::StatusOr<std::unique_ptr<LineReader>> reader =
        OpenLineReader(feed_path.string());
    streamer_status =
        reader.ok() ? streamer.Run(**reader, streamer_stop) : reader.status();
    streamed.store(true);
  });

  // The end of the stream leaves the last windows open until every source
  // has been idle; this grace lets them close before an automatic exit.
  const auto grace = std::chrono::seconds(4);
  const auto linger =
      std::chrono::microseconds(absl::ToInt64Microseconds(options.linger));
  std::optional<SteadyClock::time_point> caught_up;
  while (!stop.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    if (!streamed.load() || !options.exit_when_done) continue;
    // Records the mock cluster deleted before the daemon read them (it keeps
    // 5 MB per partition, and a slow machine falls that far behind) are
    // accounted for as skipped; waiting for them would never end.
    if ((*daemon)->records() + (*daemon)->skipped_records() < streamer.sent()) {
      continue;
    }
    if (!caught_up) caught_up = SteadyClock::now();
    if (SteadyClock::now() - *caught_up >= grace + linger) break;
  }
  streamer_stop.store(true);
  streamer_thread.join();
  daemon_stop.store(true);
  daemon_thread.join();
  std::cerr << "vigia demo: " << streamer.sent() << " records streamed, "
            << (*daemon)->records() << " processed";
  if ((*daemon)->skipped_records() > 0) {
    std::cerr << ", " << (*daemon)->skipped_records()
              << " deleted by the mock cluster before they were read";
  }
  std::cerr << "\n";
  if (!streamer_status.ok()) return streamer_status;
  return daemon_status;
}

}  // namespace vigia
