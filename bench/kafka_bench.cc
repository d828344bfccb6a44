#include "bench/kafka_bench.h"

#include <librdkafka/rdkafka.h>
#include <pthread.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "pipeline/kafka/daemon.h"
#include "pipeline/kafka/mock_cluster.h"
#include "pipeline/sinks.h"
#include "prometheus/metric_family.h"
#include "simdjson.h"

namespace vigia::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;
using TopicPartition = std::pair<int, int32_t>;  // topic 0 = posts, 1 = ads

double SecondsSince(SteadyClock::time_point t0) {
  return std::chrono::duration<double>(SteadyClock::now() - t0).count();
}

double ProcessCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

// CPU time of another running thread, read from outside it: reading it on
// the daemon's thread after every record cost a system call per record
// (thread CPU clocks have no vDSO path), counted as daemon time.
double ThreadCpuSeconds(std::thread& t) {
  clockid_t id;
  timespec ts;
  if (pthread_getcpuclockid(t.native_handle(), &id) != 0 ||
      clock_gettime(id, &ts) != 0) {
    return 0;
  }
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

// Alerts as (id, state): a firing record and its resolution share the id.
using AlertKey = std::pair<std::string, std::string>;

// Everything the daemons' callbacks and the alert reader record, for the
// figures computed after the run.
struct Shared {
  std::atomic<int64_t> handled{0};
  absl::Mutex mu;
  // Produce time of every record, by (topic, partition, offset), filled from
  // delivery reports on the producing thread.
  std::map<std::tuple<int, int32_t, int64_t>, SteadyClock::time_point> produced
      ABSL_GUARDED_BY(mu);
  // The record whose processing emitted each alert.
  std::map<AlertKey, std::tuple<int, int32_t, int64_t>> trigger
      ABSL_GUARDED_BY(mu);
  // When each alert was emitted by a daemon.
  std::map<AlertKey, SteadyClock::time_point> emitted ABSL_GUARDED_BY(mu);
  // When each alert was read back from the alerts topic.
  std::map<AlertKey, SteadyClock::time_point> seen ABSL_GUARDED_BY(mu);
};

// Sees every alert a daemon emits (on its thread, while a record is being
// processed); the next on_record call names that record, so the alert is
// attributed to it. Alerts emitted by a Tick() (an empty poll) are
// attributed to the next record too, which can only make their latency
// look smaller or negative: negative ones are dropped.
class AttributingSink : public AlertSink {
 public:
  explicit AttributingSink(Shared* shared) : shared_(shared) {}
  absl::Status Write(const Alert& alert) override {
    pending_.emplace_back(alert.id, std::string(AlertStateName(alert.state)));
    absl::MutexLock lock(&shared_->mu);
    shared_->emitted.emplace(pending_.back(), SteadyClock::now());
    return absl::OkStatus();
  }
  void OnRecord(const SourceRef& s, const std::string& ads_topic) {
    if (!pending_.empty()) {
      absl::MutexLock lock(&shared_->mu);
      const int topic = s.source == ads_topic ? 1 : 0;
      for (auto& k : pending_) {
        shared_->trigger.emplace(
            std::move(k), std::make_tuple(topic, s.partition, s.position));
      }
      pending_.clear();
    }
  }

 private:
  Shared* shared_;
  std::vector<AlertKey> pending_;
};

struct DeliveryContext {
  Shared* shared;
  std::vector<SteadyClock::time_point>* produce_time;
  std::atomic<int64_t>* acked;
};

void OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* ctx = static_cast<DeliveryContext*>(opaque);
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    const size_t index = reinterpret_cast<uintptr_t>(m->_private);
    const int topic =
        std::string_view(rd_kafka_topic_name(m->rkt)) == "vigia.ads" ? 1 : 0;
    absl::MutexLock lock(&ctx->shared->mu);
    ctx->shared->produced[{topic, m->partition, m->offset}] =
        (*ctx->produce_time)[index];
  }
  ctx->acked->fetch_add(1);
}

rd_kafka_t* NewClient(
    rd_kafka_type_t type, const std::string& bootstrap,
    const std::vector<std::pair<std::string, std::string>>& kv, void* opaque,
    void (*dr)(rd_kafka_t*, const rd_kafka_message_t*, void*)) {
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  char err[512];
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), err,
                    sizeof(err));
  rd_kafka_conf_set(conf, "log_level", "3", err, sizeof(err));
  for (const auto& [k, v] : kv) {
    rd_kafka_conf_set(conf, k.c_str(), v.c_str(), err, sizeof(err));
  }
  if (opaque != nullptr) rd_kafka_conf_set_opaque(conf, opaque);
  if (dr != nullptr) rd_kafka_conf_set_dr_msg_cb(conf, dr);
  rd_kafka_t* rk = rd_kafka_new(type, conf, err, sizeof(err));
  if (rk == nullptr) rd_kafka_conf_destroy(conf);
  return rk;
}

// Reads the alerts topic from the start, noting when each alert arrives.
// Sets `ready` once it has reached the end of every partition, i.e. once its
// fetchers run: before that the first alerts waited about 0.4 s for the
// reader to connect, which is no part of vigia's latency.
void ReadAlerts(const std::string& bootstrap, int partitions, Shared* shared,
                const std::atomic<bool>& stop, std::atomic<bool>& ready) {
  rd_kafka_t* c = NewClient(RD_KAFKA_CONSUMER, bootstrap,
                            {{"group.id", "vigia-bench-alert-reader"},
                             {"auto.offset.reset", "earliest"},
                             {"enable.auto.commit", "false"},
                             {"enable.partition.eof", "true"},
                             {"fetch.wait.max.ms", "1"},
                             {"fetch.error.backoff.ms", "1"}},
                            nullptr, nullptr);
  if (c == nullptr) {
    ready.store(true);
    return;
  }
  rd_kafka_poll_set_consumer(c);
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(list, "vigia.alerts", p)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_assign(c, list);
  rd_kafka_topic_partition_list_destroy(list);
  simdjson::ondemand::parser parser;
  std::set<int32_t> at_end;
  while (!stop.load()) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(c, 5);
    if (m == nullptr) continue;
    const auto now = SteadyClock::now();
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      at_end.insert(m->partition);
      if (static_cast<int>(at_end.size()) == partitions) ready.store(true);
    } else if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      simdjson::padded_string json(static_cast<const char*>(m->payload),
                                   m->len);
      simdjson::ondemand::document doc;
      std::string_view id, state;
      if (!parser.iterate(json).get(doc) && !doc["id"].get_string().get(id) &&
          !doc["state"].get_string().get(state)) {
        absl::MutexLock lock(&shared->mu);
        shared->seen.emplace(AlertKey(std::string(id), std::string(state)),
                             now);
      }
    }
    rd_kafka_message_destroy(m);
  }
  rd_kafka_consumer_close(c);
  rd_kafka_destroy(c);
}

}  // namespace

absl::StatusOr<KafkaBenchResult> RunKafkaBench(
    const Feed& feed, const Config& config, const KafkaBenchOptions& options) {
  const std::string group = "vigia-bench";
  std::vector<std::string> topics = DefaultTopics();
  if (options.repartition) {
    topics.push_back(RepartitionTopic(group, FeedKind::kPost));
    topics.push_back(RepartitionTopic(group, FeedKind::kAd));
  }
  absl::StatusOr<std::unique_ptr<MockCluster>> cluster =
      MockCluster::Start(1, options.partitions, topics);
  if (!cluster.ok()) return cluster.status();
  const std::string bootstrap = (*cluster)->bootstrap();
  Shared shared;

  // The daemons, one thread each.
  struct Instance {
    std::unique_ptr<AttributingSink> sink;
    std::unique_ptr<Daemon> daemon;
    std::thread thread;
    absl::Status status;
    // The daemon thread's CPU time when the feed starts and when its last
    // record is handled.
    double cpu_start = 0;
    double cpu_end = 0;
    // Paced runs: when each record was handled, by (topic, partition,
    // offset); written by the daemon's thread only, read after it ends.
    std::vector<
        std::pair<TopicPartition, std::pair<int64_t, SteadyClock::time_point>>>
        handled_at;
  };
  int64_t total = static_cast<int64_t>(feed.lines.size());
  if (options.limit > 0) total = std::min(total, options.limit);
  std::atomic<bool> stop{false};
  std::vector<std::unique_ptr<Instance>> instances;
  for (int i = 0; i < options.instances; ++i) {
    auto inst = std::make_unique<Instance>();
    // Sized up front: growing it on the daemon's thread copied megabytes
    // in the middle of the run (records of 20-60 ms, in the latency tail).
    if (options.rate > 0) inst->handled_at.reserve(total);
    inst->sink = std::make_unique<AttributingSink>(&shared);
    DaemonOptions d;
    d.brokers = bootstrap;
    d.metrics_addr = "";
    d.group_id = group;
    d.repartition = options.repartition;
    d.state_topic = options.state_topic;
    d.checkpoint_interval = absl::Seconds(options.checkpoint_interval_s);
    for (const auto& [k, v] : options.daemon_settings) d.kafka_settings[k] = v;
    AttributingSink* sink = inst->sink.get();
    const std::string ads_topic = d.ads_topic;
    Instance* raw = inst.get();
    const bool paced = options.rate > 0;
    d.on_record = [sink, ads_topic, &shared, raw, paced](const SourceRef& s) {
      sink->OnRecord(s, ads_topic);
      if (paced) {
        raw->handled_at.push_back({{s.source == ads_topic ? 1 : 0, s.partition},
                                   {s.position, SteadyClock::now()}});
      }
      shared.handled.fetch_add(1, std::memory_order_relaxed);
    };
    absl::StatusOr<std::unique_ptr<Daemon>> daemon =
        Daemon::Create(config, d, sink);
    if (!daemon.ok()) return daemon.status();
    inst->daemon = std::move(*daemon);
    inst->thread =
        std::thread([raw, &stop] { raw->status = raw->daemon->Run(stop); });
    instances.push_back(std::move(inst));
  }
  auto stop_all = [&] {
    stop.store(true);
    for (auto& inst : instances) {
      if (inst->thread.joinable()) inst->thread.join();
    }
  };
  // Wait until the group has spread both topics' partitions.
  const auto wait_start = SteadyClock::now();
  while (true) {
    int assigned = 0;
    bool each = true;
    for (auto& inst : instances) {
      assigned += inst->daemon->assigned_partitions();
      each = each && inst->daemon->assigned_partitions() > 0;
    }
    if (assigned == (options.repartition ? 4 : 2) * options.partitions &&
        each) {
      break;
    }
    // (30 s was not always enough for two daemons on a busy machine.)
    if (SteadyClock::now() - wait_start > std::chrono::seconds(90)) {
      stop_all();
      return absl::DeadlineExceededError("daemons got no assignment in 90 s");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }

  std::atomic<bool> stop_reader{false};
  std::atomic<bool> reader_ready{false};
  std::thread reader([&] {
    ReadAlerts(bootstrap, options.partitions, &shared, stop_reader,
               reader_ready);
  });
  const auto reader_start = SteadyClock::now();
  while (!reader_ready.load() &&
         SteadyClock::now() - reader_start < std::chrono::seconds(10)) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }

  // Stream the feed: posts to vigia.posts, ads to vigia.ads, partitioned by
  // target, never more than max_in_flight ahead of the daemons.
  std::vector<SteadyClock::time_point> produce_time(feed.lines.size());
  std::atomic<int64_t> acked{0};
  DeliveryContext ctx{&shared, &produce_time, &acked};
  rd_kafka_t* producer = NewClient(
      RD_KAFKA_PRODUCER, bootstrap,
      {{"linger.ms", "1"}, {"queue.buffering.max.messages", "100000"}}, &ctx,
      &OnDelivery);
  if (producer == nullptr) {
    stop_all();
    stop_reader.store(true);
    reader.join();
    return absl::InternalError("cannot create the feed producer");
  }
  // Look both input topics up before the clock starts: librdkafka would
  // otherwise find a topic's partitions only on its one-second metadata
  // timer after the first record to it, and the first records (the first
  // ads come about 0.5 s in) would wait in the feed producer for up to a
  // second and count as daemon latency.
  std::vector<rd_kafka_topic_t*> input_topics;
  for (const char* name : {"vigia.posts", "vigia.ads"}) {
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(producer, name, nullptr);
    const rd_kafka_metadata_t* md = nullptr;
    if (rkt != nullptr && rd_kafka_metadata(producer, 0, rkt, &md, 5000) ==
                              RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_metadata_destroy(md);
    }
    if (rkt != nullptr) input_topics.push_back(rkt);
  }
  std::map<std::string_view, int32_t> target_partition;
  const auto t0 = SteadyClock::now();
  const double process_cpu0 = ProcessCpuSeconds();
  for (auto& inst : instances) inst->cpu_start = ThreadCpuSeconds(inst->thread);
  for (int64_t i = 0; i < total; ++i) {
    if (options.rate > 0) {
      const auto due =
          t0 + std::chrono::duration_cast<SteadyClock::duration>(
                   std::chrono::duration<double>(i / options.rate));
      while (SteadyClock::now() < due) {
        rd_kafka_poll(producer, 0);
        std::this_thread::sleep_for(std::chrono::microseconds(100));
      }
    }
    while (i - shared.handled.load(std::memory_order_relaxed) >=
           options.max_in_flight) {
      rd_kafka_poll(producer, 0);
      std::this_thread::sleep_for(std::chrono::microseconds(50));
      if (SecondsSince(t0) > options.timeout_s) break;
    }
    const FeedLine& line = feed.lines[i];
    const std::string_view bytes = feed.line(i);
    // Keyed by target as docs/kafka.md requires; the scenario's targets are
    // spread round-robin so that every partition carries records (an empty
    // partition would hold the watermark back until its idle timeout).
    int32_t partition = 0;
    if (!line.target.empty()) {
      auto [it, added] = target_partition.try_emplace(
          line.target,
          static_cast<int32_t>(target_partition.size() % options.partitions));
      partition = it->second;
    }
    produce_time[i] = SteadyClock::now();
    rd_kafka_resp_err_t err;
    do {
      err = rd_kafka_producev(
          producer, RD_KAFKA_V_TOPIC(line.ad ? "vigia.ads" : "vigia.posts"),
          RD_KAFKA_V_PARTITION(partition),
          RD_KAFKA_V_KEY(line.target.data(), line.target.size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(bytes.data()), bytes.size()),
          RD_KAFKA_V_OPAQUE(reinterpret_cast<void*>(static_cast<uintptr_t>(i))),
          RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) rd_kafka_poll(producer, 1);
    } while (err == RD_KAFKA_RESP_ERR__QUEUE_FULL);
    if ((i & 255) == 0) rd_kafka_poll(producer, 0);
  }
  // Until every record is handled.
  while (shared.handled.load() < total &&
         SecondsSince(t0) < options.timeout_s) {
    rd_kafka_poll(producer, 1);
  }
  const double wall = SecondsSince(t0);
  const double process_cpu = ProcessCpuSeconds() - process_cpu0;
  int64_t checkpoints = 0;
  for (auto& inst : instances) {
    inst->cpu_end = ThreadCpuSeconds(inst->thread);
    checkpoints += inst->daemon->state_checkpoints();
  }
  rd_kafka_flush(producer, 5000);
  // Give the last alerts time to reach the topic and the reader.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  stop_all();
  stop_reader.store(true);
  reader.join();
  for (rd_kafka_topic_t* rkt : input_topics) rd_kafka_topic_destroy(rkt);
  rd_kafka_destroy(producer);

  KafkaBenchResult r;
  r.events = shared.handled.load();
  r.wall_s = wall;
  r.process_cpu_s = process_cpu;
  r.events_per_s = r.events / wall;
  for (auto& inst : instances) {
    r.consumer_cpu_s += inst->cpu_end - inst->cpu_start;
    // A daemon leaving while another still runs can find its final commit
    // refused by the rebalance that its leaving starts: that is shutdown
    // behaviour (docs/kafka.md), not a failure of the measured run.
    if (!inst->status.ok()) r.shutdown_notes.push_back(inst->status.ToString());
  }
  r.events_per_consumer_cpu_s =
      r.consumer_cpu_s > 0 ? r.events / r.consumer_cpu_s : 0;
  // Every writer has stopped; the lock is for the annotations' sake.
  absl::MutexLock lock(&shared.mu);
  for (auto& inst : instances) {
    for (const auto& [tp, at] : inst->handled_at) {
      auto p = shared.produced.find({tp.first, tp.second, at.first});
      if (p == shared.produced.end()) continue;
      r.record_transit_ms.push_back(
          std::chrono::duration<double, std::milli>(at.second - p->second)
              .count());
    }
  }
  r.state_checkpoints = checkpoints;
  r.alerts_seen = static_cast<int64_t>(shared.seen.size());
  r.alerts_emitted = static_cast<int64_t>(shared.trigger.size());
  for (const auto& [key, when] : shared.seen) {
    auto t = shared.trigger.find(key);
    if (t == shared.trigger.end()) continue;
    auto p = shared.produced.find(t->second);
    if (p == shared.produced.end()) continue;
    const double ms =
        std::chrono::duration<double, std::milli>(when - p->second).count();
    if (ms < 0) continue;
    ++r.alerts_attributed;
    if (std::get<0>(t->second) == 1) ++r.alerts_attributed_to_ads;
    r.alert_latency_ms.push_back(ms);
    auto e = shared.emitted.find(key);
    if (e != shared.emitted.end()) {
      r.produce_to_emit_ms.push_back(
          std::chrono::duration<double, std::milli>(e->second - p->second)
              .count());
      r.emit_to_topic_ms.push_back(
          std::chrono::duration<double, std::milli>(when - e->second).count());
    }
  }
  if (r.events < total) {
    return absl::DeadlineExceededError(
        absl::StrCat("only ", r.events, " of ", total, " records handled in ",
                     options.timeout_s, " s"));
  }
  return r;
}

namespace {

// Notes when the first alert was written, and counts them.
class FirstAlertSink : public AlertSink {
 public:
  absl::Status Write(const Alert&) override {
    if (count_.fetch_add(1) == 0) {
      absl::MutexLock lock(&mu_);
      first_ = SteadyClock::now();
    }
    return absl::OkStatus();
  }
  int64_t count() const { return count_.load(); }
  SteadyClock::time_point first() const {
    absl::MutexLock lock(&mu_);
    return first_;
  }

 private:
  std::atomic<int64_t> count_{0};
  mutable absl::Mutex mu_;
  SteadyClock::time_point first_ ABSL_GUARDED_BY(mu_);
};

// Delivery reports of the feed producer: a record the mock refused would
// otherwise only show as a daemon that waits for it.
struct Deliveries {
  std::atomic<int64_t> failed{0};
  rd_kafka_resp_err_t first = RD_KAFKA_RESP_ERR_NO_ERROR;
};

void OnFeedDelivery(rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
  auto* d = static_cast<Deliveries*>(opaque);
  if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR && d->failed.fetch_add(1) == 0) {
    d->first = m->err;
  }
}

int64_t DetectorKeys(const Daemon& daemon) {
  int64_t keys = 0;
  for (const prometheus::MetricFamily& f : daemon.registry().Collect()) {
    if (f.name != "vigia_detector_keys") continue;
    for (const prometheus::ClientMetric& m : f.metric) {
      keys += static_cast<int64_t>(m.gauge.value);
    }
  }
  return keys;
}

}  // namespace

absl::StatusOr<RestartBenchResult> RunRestartBench(
    const Feed& feed, const Config& config, int64_t records,
    const std::map<std::string, std::string>& daemon_settings) {
  constexpr int kPartitions = 4;
  records = std::min<int64_t>(records, static_cast<int64_t>(feed.lines.size()));
  absl::StatusOr<std::unique_ptr<MockCluster>> cluster =
      MockCluster::Start(1, kPartitions, DefaultTopics());
  if (!cluster.ok()) return cluster.status();
  const std::string bootstrap = (*cluster)->bootstrap();
  Deliveries deliveries;
  rd_kafka_t* producer =
      NewClient(RD_KAFKA_PRODUCER, bootstrap, {{"linger.ms", "1"}}, &deliveries,
                &OnFeedDelivery);
  if (producer == nullptr) return absl::InternalError("no feed producer");
  std::map<std::string_view, int32_t> target_partition;
  auto send = [&](bool ad, std::string_view target, std::string_view bytes) {
    int32_t partition = 0;
    if (!target.empty()) {
      auto [it, added] = target_partition.try_emplace(
          target, static_cast<int32_t>(target_partition.size() % kPartitions));
      partition = it->second;
    }
    rd_kafka_resp_err_t err;
    do {
      err = rd_kafka_producev(
          producer, RD_KAFKA_V_TOPIC(ad ? "vigia.ads" : "vigia.posts"),
          RD_KAFKA_V_PARTITION(partition),
          RD_KAFKA_V_KEY(target.data(), target.size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(bytes.data()), bytes.size()),
          RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) rd_kafka_poll(producer, 1);
    } while (err == RD_KAFKA_RESP_ERR__QUEUE_FULL);
  };
  const int64_t half = records / 2;
  for (int64_t i = 0; i < half; ++i) {
    send(feed.lines[i].ad, feed.lines[i].target, feed.line(i));
  }
  rd_kafka_flush(producer, 30000);
  if (deliveries.failed.load() > 0 || rd_kafka_outq_len(producer) > 0) {
    return absl::InternalError(absl::StrCat(
        "feed: ", deliveries.failed.load(), " records not delivered (",
        rd_kafka_err2str(deliveries.first), "), ", rd_kafka_outq_len(producer),
        " still queued"));
  }

  // The ghost must hold the group as long as the daemon it stands for would.
  std::map<std::string, std::string> settings = {{"fetch.wait.max.ms", "5"}};
  for (const auto& [k, v] : daemon_settings) settings[k] = v;
  RestartBenchResult r;
  r.session_timeout_ms = kDefaultSessionTimeoutMs;
  if (auto it = settings.find("session.timeout.ms"); it != settings.end()) {
    r.session_timeout_ms = std::atoi(it->second.c_str());
  }
  DaemonOptions d;
  d.brokers = bootstrap;
  d.metrics_addr = "";
  d.group_id = "vigia-restart";
  d.checkpoint_interval = absl::Seconds(1);
  for (const auto& [k, v] : settings) d.kafka_settings[k] = v;
  std::atomic<int64_t> handled{0};
  d.on_record = [&handled](const SourceRef&) { handled.fetch_add(1); };

  // The first instance, to a checkpoint covering the first half.
  {
    FirstAlertSink sink;
    absl::StatusOr<std::unique_ptr<Daemon>> a =
        Daemon::Create(config, d, &sink);
    if (!a.ok()) return a.status();
    std::atomic<bool> stop{false};
    absl::Status status;
    std::thread t([&] { status = (*a)->Run(stop); });
    const auto start = SteadyClock::now();
    const double limit = 120;
    while (handled.load() < half && SecondsSince(start) < limit) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    const int64_t before = (*a)->state_checkpoints();
    while ((*a)->state_checkpoints() <= before &&
           SecondsSince(start) < limit + 60) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    r.keys = DetectorKeys(**a);
    r.snapshot_bytes = (*a)->state_snapshot_bytes();
    stop.store(true);
    t.join();
    if (handled.load() < half) {
      return absl::DeadlineExceededError(absl::StrCat(
          "first instance handled ", handled.load(), " of ", half, " records"));
    }
  }
  // A member that dies in the group without leaving, as kill -9 leaves one.
  {
    rd_kafka_t* ghost = NewClient(
        RD_KAFKA_CONSUMER, bootstrap,
        [&] {
          std::vector<std::pair<std::string, std::string>> kv(settings.begin(),
                                                              settings.end());
          kv.emplace_back("group.id", d.group_id);
          kv.emplace_back("session.timeout.ms",
                          absl::StrCat(r.session_timeout_ms));
          return kv;
        }(),
        nullptr, nullptr);
    if (ghost == nullptr) return absl::InternalError("no ghost consumer");
    rd_kafka_poll_set_consumer(ghost);
    rd_kafka_topic_partition_list_t* topics =
        rd_kafka_topic_partition_list_new(2);
    rd_kafka_topic_partition_list_add(topics, "vigia.posts",
                                      RD_KAFKA_PARTITION_UA);
    rd_kafka_topic_partition_list_add(topics, "vigia.ads",
                                      RD_KAFKA_PARTITION_UA);
    rd_kafka_subscribe(ghost, topics);
    rd_kafka_topic_partition_list_destroy(topics);
    const auto start = SteadyClock::now();
    while (SecondsSince(start) < 120) {
      if (rd_kafka_message_t* m = rd_kafka_consumer_poll(ghost, 50)) {
        rd_kafka_message_destroy(m);
      }
      rd_kafka_topic_partition_list_t* assigned = nullptr;
      if (rd_kafka_assignment(ghost, &assigned) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const bool any = assigned->cnt > 0;
        rd_kafka_topic_partition_list_destroy(assigned);
        if (any) break;
      }
    }
    rd_kafka_destroy_flags(ghost, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  }
  for (int64_t i = half; i < records; ++i) {
    send(feed.lines[i].ad, feed.lines[i].target, feed.line(i));
  }
  rd_kafka_flush(producer, 30000);
  rd_kafka_destroy(producer);

  handled.store(0);
  FirstAlertSink sink;
  const auto t0 = SteadyClock::now();
  absl::StatusOr<std::unique_ptr<Daemon>> b = Daemon::Create(config, d, &sink);
  if (!b.ok()) return b.status();
  std::atomic<bool> stop{false};
  absl::Status status;
  std::thread t([&] { status = (*b)->Run(stop); });
  const int64_t rest = records - half;
  while (SecondsSince(t0) < 240) {
    if (r.assigned_s < 0 && (*b)->assigned_partitions() > 0) {
      r.assigned_s = SecondsSince(t0);
    }
    if (r.restored_s < 0 && (*b)->state_restores() > 0) {
      r.restored_s = SecondsSince(t0);
    }
    if (r.first_record_s < 0 && handled.load() > 0) {
      r.first_record_s = SecondsSince(t0);
    }
    if (r.first_alert_s < 0 && sink.count() > 0) {
      r.first_alert_s =
          std::chrono::duration<double>(sink.first() - t0).count();
    }
    if (handled.load() >= rest) {
      r.all_records_s = SecondsSince(t0);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (r.first_alert_s < 0 && sink.count() > 0) {
    r.first_alert_s = std::chrono::duration<double>(sink.first() - t0).count();
  }
  r.restored = (*b)->state_restores() > 0;
  if (r.restored) {
    const Daemon::RestoreFigures f = (*b)->last_restore();
    r.restore_read_s = absl::ToDoubleSeconds(f.read);
    r.restore_decode_s = absl::ToDoubleSeconds(f.decode);
  }
  r.alerts = sink.count();
  stop.store(true);
  t.join();
  if (r.all_records_s < 0) {
    return absl::DeadlineExceededError(
        absl::StrCat("the restarted daemon handled ", handled.load(), " of ",
                     rest, " records in 240 s"));
  }
  return r;
}

}  // namespace vigia::bench
