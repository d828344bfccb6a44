// `vigia run`, `vigia demo` and `vigia mock-kafka`: the Kafka modes.
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iostream>
#include <memory>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "pipeline/cli/commands.h"
#include "pipeline/cli/outputs.h"
#include "pipeline/kafka/daemon.h"
#include "pipeline/kafka/demo.h"
#include "pipeline/kafka/feed_streamer.h"
#include "pipeline/kafka/mock_cluster.h"
#include "pipeline/metrics/metrics_server.h"
#include "pipeline/reader.h"
#include "pipeline/sinks.h"

namespace vigia::cli {
namespace {

// Adds the Alertmanager sink (if configured) to `tee` and its counters to
// `registry`. The returned objects must outlive the run.
struct AlertmanagerOutput {
  std::unique_ptr<AlertmanagerSink> sink;
  std::unique_ptr<NotificationSink> notify;
  std::unique_ptr<AlertmanagerMetrics> metrics;
};

absl::StatusOr<AlertmanagerOutput> AddAlertmanager(
    const Config& config, const ParsedFlags& flags,
    prometheus::Registry& registry, const std::string& record_ref,
    TeeAlertSink& tee) {
  AlertmanagerOutput out;
  absl::StatusOr<std::unique_ptr<AlertmanagerSink>> sink =
      MakeAlertmanagerSink(config, flags, SystemClock::Get(), record_ref);
  if (!sink.ok()) return sink.status();
  out.sink = std::move(*sink);
  if (out.sink != nullptr) {
    out.notify = std::make_unique<NotificationSink>(out.sink.get());
    tee.Add(out.notify.get());
    out.metrics = std::make_unique<AlertmanagerMetrics>(registry, *out.sink);
  }
  return out;
}

absl::Status RunRun(const ParsedFlags& flags) {
  absl::StatusOr<Config> config = LoadConfigFlag(flags);
  if (!config.ok()) return config.status();
  const KafkaConfig& k = config->kafka;
  DaemonOptions o;
  o.brokers = flags.get("brokers", k.brokers);
  if (o.brokers.empty() && k.settings.count("bootstrap.servers") == 0) {
    return absl::InvalidArgumentError(
        "no brokers: pass --brokers HOST:PORT or set kafka.brokers");
  }
  o.metrics_addr = flags.get("metrics-addr", config->metrics_addr);
  o.metrics_auth = config->metrics_auth;
  o.metrics_tls = config->metrics_tls;
  o.posts_topic = k.posts_topic;
  o.ads_topic = k.ads_topic;
  o.dlq_topic = k.dlq_topic;
  o.alerts_topic = k.alerts_topic;
  o.state_topic = k.state_topic;
  o.checkpoint_interval = k.checkpoint_interval;
  o.repartition = k.repartition;
  o.group_id = flags.get("group", k.group_id);
  if (!k.instance_id.empty()) {
    char host[256] = {};
    if (gethostname(host, sizeof(host) - 1) != 0 &&
        absl::StrContains(k.instance_id, "{hostname}")) {
      return absl::InternalError(
          "kafka.instance_id names {hostname}, and the host's name cannot be "
          "read");
    }
    o.group_instance_id = ExpandInstanceId(k.instance_id, host);
  }
  o.kafka_settings = k.settings;
  o.registry = NewMetricsRegistry();

  const std::atomic<bool>& stop = StopOnSignals();
  absl::StatusOr<Severity> min = MinSeverityFlag(flags, Severity::kWarning);
  if (!min.ok()) return min.status();
  TeeAlertSink tee;
  AlertPrinter printer(stdout);
  SeverityFilterSink printed(&printer, *min);
  if (flags.has("print-alerts")) tee.Add(&printed);
  absl::StatusOr<AlertmanagerOutput> am =
      AddAlertmanager(*config, flags, *o.registry,
                      absl::StrCat("kafka topic ", o.alerts_topic), tee);
  if (!am.ok()) return am.status();
  absl::Status s = RunDaemon(*config, o, stop, &tee);
  if (am->sink != nullptr) {
    if (absl::Status f = am->sink->Flush(); !f.ok()) {
      std::fprintf(stderr, "vigia run: alertmanager: %s\n",
                   std::string(f.message()).c_str());
    }
  }
  return s;
}

absl::Status RunDemoCommand(const ParsedFlags& flags) {
  absl::StatusOr<Config> config = LoadConfigFlag(flags);
  if (!config.ok()) return config.status();
  DemoOptions o;
  o.scenario = flags.get("scenario", o.scenario);
  absl::StatusOr<double> speedup = flags.GetDouble("speedup", o.speedup);
  if (!speedup.ok()) return speedup.status();
  o.speedup = *speedup;
  absl::StatusOr<int64_t> partitions = flags.GetInt("partitions", 3);
  if (!partitions.ok()) return partitions.status();
  if (*partitions < 1 || *partitions > 64) {
    return absl::InvalidArgumentError("--partitions must be 1..64");
  }
  o.partitions = static_cast<int>(*partitions);
  absl::StatusOr<double> linger = flags.GetDouble("linger", 0);
  if (!linger.ok()) return linger.status();
  if (*linger < 0) return absl::InvalidArgumentError("--linger must be >= 0");
  o.linger = absl::Seconds(*linger);
  o.metrics_addr = flags.get("metrics-addr", config->metrics_addr);
  o.registry = NewMetricsRegistry();

  const std::atomic<bool>& stop = StopOnSignals();
  absl::StatusOr<Severity> min = MinSeverityFlag(flags, Severity::kWarning);
  if (!min.ok()) return min.status();
  TeeAlertSink tee;
  AlertPrinter printer(stdout);
  SeverityFilterSink printed(&printer, *min);
  tee.Add(&printed);
  absl::StatusOr<AlertmanagerOutput> am = AddAlertmanager(
      *config, flags, *o.registry, "kafka topic vigia.alerts (demo)", tee);
  if (!am.ok()) return am.status();
  absl::Status s = RunDemo(*config, o, stop, &tee);
  if (am->sink != nullptr) {
    if (absl::Status f = am->sink->Flush(); !f.ok()) {
      std::fprintf(stderr, "vigia demo: alertmanager: %s\n",
                   std::string(f.message()).c_str());
    }
  }
  return s;
}

absl::Status RunMockKafkaCommand(const ParsedFlags& flags) {
  absl::StatusOr<int64_t> brokers = flags.GetInt("brokers", 1);
  if (!brokers.ok()) return brokers.status();
  absl::StatusOr<int64_t> partitions = flags.GetInt("partitions", 3);
  if (!partitions.ok()) return partitions.status();
  if (*brokers < 1 || *brokers > 16) {
    return absl::InvalidArgumentError("--brokers must be 1..16");
  }
  if (*partitions < 1 || *partitions > 64) {
    return absl::InvalidArgumentError("--partitions must be 1..64");
  }
  const std::atomic<bool>& stop = StopOnSignals();
  return RunMockKafka(static_cast<int>(*brokers), static_cast<int>(*partitions),
                      stop, std::cout);
}

absl::Status RunDrillCommand(const ParsedFlags& flags) {
  absl::StatusOr<Config> config = LoadConfigFlag(flags);
  if (!config.ok()) return config.status();
  const KafkaConfig& k = config->kafka;
  FeedStreamerOptions o;
  o.brokers = flags.get("brokers", k.brokers);
  o.settings = k.settings;
  o.posts_topic = k.posts_topic;
  o.ads_topic = k.ads_topic;
  o.client_id = "vigia-drill";
  absl::StatusOr<double> speedup = flags.GetDouble("speedup", 60);
  if (!speedup.ok()) return speedup.status();
  if (!(*speedup >= 0) || !std::isfinite(*speedup)) {
    return absl::InvalidArgumentError(
        "--speedup must be 0 (unpaced) or a positive number");
  }
  o.speedup = *speedup;
  if (o.brokers.empty() && o.settings.count("bootstrap.servers") == 0) {
    return absl::InvalidArgumentError(
        "no brokers: pass --brokers HOST:PORT,... or set kafka.brokers");
  }
  const std::string input = flags.get("input");
  absl::StatusOr<std::unique_ptr<LineReader>> reader = OpenLineReader(input);
  if (!reader.ok()) return reader.status();
  const std::atomic<bool>& stop = StopOnSignals();
  FeedStreamer streamer(o);
  const absl::Time start = absl::Now();
  const absl::Status status = streamer.Run(**reader, stop);
  std::fprintf(
      stderr,
      "vigia drill: %lld records (%lld ads, %lld unkeyed) to %s and %s, "
      "%s of event time in %s%s\n",
      static_cast<long long>(streamer.sent()),
      static_cast<long long>(streamer.ads()),
      static_cast<long long>(streamer.unkeyed()), o.posts_topic.c_str(),
      o.ads_topic.c_str(), absl::FormatDuration(streamer.span()).c_str(),
      absl::FormatDuration(
          absl::Trunc(absl::Now() - start, absl::Milliseconds(100)))
          .c_str(),
      stop.load() ? " (stopped by a signal)" : "");
  return status;
}

}  // namespace

Command DrillCommand() {
  Command c;
  c.spec = {
      "drill",
      "stream an archive into the feed topics, paced, for a drill",
      "Produces an archived feed (NDJSON, .gz or .zst) into the post and ad "
      "topics as\n"
      "production feeds must arrive (keyed by target), paced by event time "
      "X times faster\n"
      "than real time, so the running daemon, Alertmanager and the pager "
      "path see it as\n"
      "they would see the real thing. Run the daemon with alertmanager.drill: "
      "true (or\n"
      "--drill) so its alerts are routed away from pagers. Exits when "
      "every record is\n"
      "acknowledged.",
      {{"input", "FILE", "archived feed (NDJSON, .gz or .zst; '-' for stdin)",
        true},
       {"config", "FILE", "YAML config: topics, brokers, kafka.settings"},
       {"brokers", "HOST:PORT,...",
        "bootstrap servers (default kafka.brokers)"},
       {"speedup", "X",
        "event time runs X times faster than wall time (default 60: an "
        "hour a minute; 0: unpaced)"}}};
  c.run = RunDrillCommand;
  return c;
}

Command RunCommand() {
  Command c;
  c.spec = {
      "run",
      "the daemon: consume the feed topics from Kafka, publish alerts",
      "Consumes the post and ad topics in a consumer group, runs every "
      "enabled detector,\n"
      "writes alerts (keyed by id) and dead letters to their topics, posts "
      "alerts to\n"
      "Alertmanager when configured, and serves Prometheus metrics. "
      "At-least-once: offsets\n"
      "are committed only after the alerts they caused are acknowledged. "
      "SIGTERM or SIGINT\n"
      "stops consuming, flushes, commits and exits 0. docs/kafka.md has the "
      "contract.",
      {{"config", "FILE",
        "YAML config (kafka:, alertmanager:, metrics:, "
        "detectors:)"},
       {"brokers", "HOST:PORT,...",
        "bootstrap servers (default kafka.brokers)"},
       {"metrics-addr", "ADDR:PORT",
        "serve /metrics here (default metrics.addr, 127.0.0.1:9464)"},
       {"group", "ID", "consumer group (default kafka.group_id, vigia)"},
       AlertmanagerFlagSpec(),
       DrillFlagSpec(),
       {"print-alerts", "", "also print each alert as a line on stdout"},
       {"min-severity", "LEVEL",
        "lowest severity printed: info, warning (default), critical"}}};
  c.run = RunRun;
  return c;
}

Command DemoCommand() {
  Command c;
  c.spec = {
      "demo",
      "the whole system in one process: mock Kafka, a live scenario, alerts",
      "Starts librdkafka's mock cluster, streams a generated scenario into "
      "its topics in\n"
      "sped-up real time, runs the daemon against it with /metrics served, "
      "and prints the\n"
      "alerts as they fire. Exits when the scenario has been processed (or "
      "on Ctrl-C).",
      {{"config", "FILE", "YAML config (default: built-in defaults)"},
       {"scenario", "NAME|FILE",
        "bundled scenario or YAML (default mx_us_diaspora)"},
       {"speedup", "X",
        "event time runs X times faster than wall time (default 3600)"},
       {"partitions", "N", "partitions per topic (default 3)"},
       {"metrics-addr", "ADDR:PORT",
        "serve /metrics here (default 127.0.0.1:9464; port 0 picks one)"},
       {"linger", "SECONDS",
        "keep serving metrics this long after the scenario is done"},
       {"min-severity", "LEVEL",
        "lowest severity printed: info, warning (default), critical; every "
        "alert still goes to the alerts topic and Alertmanager"},
       AlertmanagerFlagSpec(),
       DrillFlagSpec()}};
  c.run = RunDemoCommand;
  return c;
}

Command MockKafkaCommand() {
  Command c;
  c.spec = {"mock-kafka",
            "run only librdkafka's mock cluster, for kcat and other clients",
            "Starts the mock cluster on 127.0.0.1, creates vigia's default "
            "topics, prints the\n"
            "bootstrap address as the first line of stdout, and runs until "
            "SIGINT or SIGTERM.\n"
            "It keeps only a few MB per partition: stream into it, do not "
            "pre-fill.",
            {{"brokers", "N", "number of brokers (default 1)"},
             {"partitions", "N", "partitions per topic (default 3)"}}};
  c.run = RunMockKafkaCommand;
  return c;
}

}  // namespace vigia::cli
