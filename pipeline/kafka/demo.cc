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
#include "pipeline/kafka/mock_cluster.h"
#include "pipeline/kafka/producer.h"

namespace vigia {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Where one generated line goes: which feed, keyed by which target, and
// when (event time) it is due.
struct Routing {
  bool is_ad = false;
  std::string target;
  std::optional<absl::Time> time;
};

Routing Route(simdjson::dom::parser& parser, const std::string& line) {
  Routing r;
  simdjson::dom::element doc;
  // Bad lines (the scenario injects some) go to the posts topic unkeyed;
  // the daemon dead-letters them.
  if (parser.parse(line).get(doc) != simdjson::SUCCESS) return r;
  simdjson::dom::element payer;
  r.is_ad = doc["payer"].get(payer) == simdjson::SUCCESS;
  std::string_view s;
  if (doc["target"].get_string().get(s) == simdjson::SUCCESS) {
    r.target = std::string(s);
  }
  if (doc["created_at"].get_string().get(s) == simdjson::SUCCESS) {
    absl::StatusOr<absl::Time> t = ParseRfc3339(s);
    if (t.ok()) r.time = *t;
  }
  return r;
}

// Streams the file's lines into the feed topics, pacing them by event time.
class Streamer {
 public:
  Streamer(std::string path, std::string bootstrap, double speedup)
      : path_(std::move(path)),
        bootstrap_(std::move(bootstrap)),
        speedup_(speedup) {}

  absl::Status Run(const std::atomic<bool>& stop) {
    ProducerOptions po;
    po.brokers = bootstrap_;
    po.client_id = "vigia-demo-feed";
    absl::StatusOr<std::unique_ptr<Producer>> producer = Producer::Create(po);
    if (!producer.ok()) return producer.status();
    std::ifstream in(path_);
    if (!in) return absl::UnavailableError(absl::StrCat("cannot read ", path_));
    simdjson::dom::parser parser;
    std::string line;
    std::optional<absl::Time> first;
    absl::Time newest = absl::InfinitePast();
    const auto wall_start = SteadyClock::now();
    while (!stop.load() && std::getline(in, line)) {
      const Routing r = Route(parser, line);
      if (r.time) {
        if (!first) first = r.time;
        // Pace by the newest time seen: late records go out at once.
        newest = std::max(newest, *r.time);
        const auto due =
            wall_start +
            std::chrono::microseconds(static_cast<int64_t>(
                absl::ToDoubleMicroseconds(newest - *first) / speedup_));
        while (!stop.load() && SteadyClock::now() < due) {
          (*producer)->Poll();
          std::this_thread::sleep_for(std::min<SteadyClock::duration>(
              due - SteadyClock::now(), std::chrono::milliseconds(50)));
        }
      }
      OutMessage m;
      m.topic = r.is_ad ? "vigia.ads" : "vigia.posts";
      m.key = r.target;
      m.value = std::move(line);
      m.output = "feed";
      (*producer)->Produce(std::move(m));
      ++sent_;
      if (sent_ % 1000 == 0) (*producer)->Poll();
    }
    return (*producer)->Flush(absl::Seconds(30));
  }

  int64_t sent() const { return sent_.load(); }

 private:
  std::string path_;
  std::string bootstrap_;
  double speedup_;
  std::atomic<int64_t> sent_{0};
};

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
  Streamer streamer(feed_path.string(), bootstrap, options.speedup);
  std::thread streamer_thread([&] {
    streamer_status = streamer.Run(streamer_stop);
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
