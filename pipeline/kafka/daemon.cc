#include "pipeline/kafka/daemon.h"

#include <signal.h>

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "operators/snapshot.h"
#include "pipeline/core/log.h"
#include "pipeline/core/status_macros.h"
#include "pipeline/core/strings.h"
#include "pipeline/kafka/state_store.h"

namespace vigia {
namespace {

using SteadyClock = std::chrono::steady_clock;

// The longest a start waits for the output topics' metadata: librdkafka's
// own lookup would come within a second anyway.
constexpr absl::Duration kPrepareTopicsTimeout = absl::Seconds(1);

// The longest a seek of the partitions kept through a cooperative
// rebalance waits for the fetcher (local: no broker round trip).
constexpr absl::Duration kSeekTimeout = absl::Seconds(10);

// The daemon's section of its snapshots: the assignment and the offsets the
// state reflects.
constexpr std::string_view kKafkaStateSection = "kafka";
constexpr uint32_t kKafkaStateVersion = 3;

int ToMillis(absl::Duration d) {
  return static_cast<int>(absl::ToInt64Milliseconds(d));
}

std::atomic<bool> g_stop{false};

void SetStop(int) { g_stop.store(true); }

// The record headers a forwarded record carries: where it was read.
constexpr char kSourcePartitionHeader[] = "vigia.source.partition";
constexpr char kSourceOffsetHeader[] = "vigia.source.offset";
// On a record of a repartition topic with no value: a lane-end mark. Its
// forwarder had read its input partition (vigia.source.partition) to the
// log end, up to vigia.source.offset (MarkLaneEnds).
constexpr char kLaneEndHeader[] = "vigia.lane.end";

// The value of header `name` of `m` as an integer, or -1.
int64_t IntHeader(const rd_kafka_message_t* m, const char* name) {
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(m, &headers) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return -1;
  }
  const void* value = nullptr;
  size_t size = 0;
  if (rd_kafka_header_get_last(headers, name, &value, &size) !=
          RD_KAFKA_RESP_ERR_NO_ERROR ||
      value == nullptr) {
    return -1;
  }
  int64_t n = 0;
  if (!absl::SimpleAtoi(
          absl::string_view(static_cast<const char*>(value), size), &n) ||
      n < 0) {
    return -1;
  }
  return n;
}

}  // namespace

std::string RepartitionTopic(std::string_view group_id, FeedKind feed) {
  return absl::StrCat(ToAbsl(group_id), feed == FeedKind::kAd
                                            ? "-ads-by-target"
                                            : "-posts-by-target");
}

const std::atomic<bool>& StopOnSignals() {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof(sa));
  sa.sa_handler = &SetStop;
  sigemptyset(&sa.sa_mask);
  // The first signal asks for a clean stop; the handler then reverts to the
  // default, so a second one ends the process at once.
  sa.sa_flags = SA_RESETHAND;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  return g_stop;
}

Daemon::Daemon(const Config& config, const DaemonOptions& options,
               AlertSink* extra_alert_sink)
    : config_(config),
      options_(options),
      extra_alert_sink_(extra_alert_sink),
      clock_(options.clock != nullptr ? options.clock : SystemClock::Get()),
      batch_clock_(clock_) {
  for (FeedKind feed : {FeedKind::kPost, FeedKind::kAd}) {
    repartition_topics_[static_cast<int>(feed)] =
        RepartitionTopic(options_.group_id, feed);
  }
  forward_decoder_ = std::make_unique<Decoder>(config_.decoder);
}

absl::StatusOr<std::unique_ptr<Daemon>> Daemon::Create(
    const Config& config, const DaemonOptions& options,
    AlertSink* extra_alert_sink) {
  std::unique_ptr<Daemon> d(new Daemon(config, options, extra_alert_sink));
  if (absl::Status s = d->Init(); !s.ok()) return s;
  return d;
}

absl::Status Daemon::Init() {
  VIGIA_LOG(INFO) << "kafka: brokers " << options_.brokers << ", group "
                  << options_.group_id
                  << (options_.group_instance_id.empty()
                          ? std::string()
                          : absl::StrCat(" (static member ",
                                         options_.group_instance_id, ")"))
                  << ", topics " << options_.posts_topic << " + "
                  << options_.ads_topic << " -> " << options_.alerts_topic
                  << " (dead letters " << options_.dlq_topic
                  << ", detector state "
                  << (state_enabled() ? options_.state_topic
                                      : std::string("not checkpointed"))
                  << ")";
  if (options_.repartition) {
    VIGIA_LOG(INFO) << "kafka: repartitioning by target: "
                    << options_.posts_topic << " -> " << repartition_topics_[0]
                    << ", " << options_.ads_topic << " -> "
                    << repartition_topics_[1];
  }
  if (!options_.kafka_settings.empty()) {
    VIGIA_LOG(INFO) << "kafka settings: "
                    << RedactSettings(options_.kafka_settings);
  }
  registry_ =
      options_.registry != nullptr ? options_.registry : NewMetricsRegistry();
  pipeline_probe_ = std::make_unique<PipelineProbe>(*registry_);
  kafka_probe_ = std::make_unique<KafkaProbe>(*registry_);
  // Present from the start, at 0.
  kafka_probe_->OnSkipped(options_.posts_topic, 0);
  kafka_probe_->OnSkipped(options_.ads_topic, 0);
  kafka_probe_->OnMiskeyed(options_.posts_topic, 0);
  kafka_probe_->OnMiskeyed(options_.ads_topic, 0);
  if (options_.repartition) {
    kafka_probe_->OnRepartitioned(options_.posts_topic, 0);
    kafka_probe_->OnRepartitioned(options_.ads_topic, 0);
  }
  if (!options_.metrics_addr.empty()) {
    absl::StatusOr<std::unique_ptr<MetricsServer>> server =
        MetricsServer::Start(options_.metrics_addr, registry_,
                             options_.metrics_auth, options_.metrics_tls,
                             readiness_);
    if (!server.ok()) return server.status();
    metrics_server_ = std::move(*server);
    VIGIA_LOG(INFO) << "metrics on " << metrics_server_->scheme() << "://"
                    << metrics_server_->address() << "/metrics"
                    << (options_.metrics_tls.client_ca_file.empty()
                            ? ""
                            : " (client certificates required)")
                    << (options_.metrics_auth.enabled()
                            ? absl::StrCat(" (basic auth, user ",
                                           options_.metrics_auth.username, ")")
                            : std::string());
  }

  ProducerOptions po;
  po.brokers = options_.brokers;
  po.settings = options_.kafka_settings;
  po.idempotent = true;
  po.client_id = "vigia-producer";
  po.statistics_interval_ms = options_.statistics_interval_ms;
  po.on_stats = [this](std::string_view json) { HandleStats(json); };
  po.on_error = [this](std::string_view error, std::string_view) {
    kafka_probe_->OnClientError("producer", error);
  };
  po.on_delivery_error = [this](std::string_view output) {
    kafka_probe_->OnDeliveryError(output);
  };
  po.on_acknowledged = [this](uint64_t id, int32_t partition, int64_t offset) {
    if (id == state_first_message_) {
      state_first_partition_ = partition;
      state_first_offset_ = offset;
    }
  };
  absl::StatusOr<std::unique_ptr<Producer>> producer = Producer::Create(po);
  if (!producer.ok()) return producer.status();
  producer_ = std::move(*producer);
  alert_sink_ = std::make_unique<KafkaAlertSink>(
      producer_.get(), options_.alerts_topic, options_.checkpoint_timeout);
  dead_letter_sink_ = std::make_unique<KafkaDeadLetterSink>(
      producer_.get(), options_.dlq_topic,
      KafkaDeadLetterSink::kDefaultMaxValueBytes, options_.checkpoint_timeout);
  tee_.Add(alert_sink_.get());
  if (extra_alert_sink_ != nullptr) tee_.Add(extra_alert_sink_);

  const KafkaSettings defaults = {
      {"client.id", "vigia-consumer"},
      // A new group starts from the oldest retained record: nothing that is
      // still in the topic is skipped.
      {"auto.offset.reset", "earliest"},
      {"statistics.interval.ms", absl::StrCat(options_.statistics_interval_ms)},
      // How long the group waits for a member that died without leaving
      // (kill -9, a lost host) before its partitions go to the others or
      // to its restarted self: 10 s, Kafka's default before 3.0, instead of
      // librdkafka's 45 s. The heartbeats go from librdkafka's own thread
      // every heartbeat.interval.ms (3 s), whatever the daemon's thread is
      // doing, and a C++ process has no collector pauses, so only a broker
      // or network stall of over 10 s can cost a rebalance; that costs a
      // re-read from the last checkpoint, while every kill -9 would cost
      // the whole session timeout. The brokers' floor is
      // group.min.session.timeout.ms (6 s by default).
      {"session.timeout.ms", absl::StrCat(kDefaultSessionTimeoutMs)},
  };
  KafkaSettings forced = {
      {"group.id", options_.group_id},
      {"enable.auto.commit", "false"},
      {"enable.auto.offset.store", "false"},
      // A partition's end of log, reported in order after its records, is
      // what lets it stop holding event time back at once (MarkEnds).
      {"enable.partition.eof", "true"},
  };
  if (!options_.brokers.empty()) forced["bootstrap.servers"] = options_.brokers;
  if (!options_.group_instance_id.empty()) {
    forced["group.instance.id"] = options_.group_instance_id;
  }
  absl::StatusOr<KafkaConfPtr> conf =
      MakeKafkaConf(defaults, options_.kafka_settings, forced);
  if (!conf.ok()) return conf.status();
  rd_kafka_conf_set_opaque(conf->get(), this);
  rd_kafka_conf_set_rebalance_cb(conf->get(), &Daemon::OnRebalance);
  rd_kafka_conf_set_offset_commit_cb(conf->get(), &Daemon::OnCommit);
  rd_kafka_conf_set_error_cb(conf->get(), &Daemon::OnError);
  rd_kafka_conf_set_stats_cb(conf->get(), &Daemon::OnStats);
  RouteKafkaLogs(conf->get());
  char errstr[512];
  consumer_ =
      rd_kafka_new(RD_KAFKA_CONSUMER, conf->get(), errstr, sizeof(errstr));
  if (consumer_ == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot create kafka consumer: ", errstr));
  }
  conf->release();
  // Error, statistics and rebalance callbacks are all served by the
  // consumer poll on the daemon's thread.
  rd_kafka_poll_set_consumer(consumer_);
  return absl::OkStatus();
}

Daemon::~Daemon() {
  if (consumer_ != nullptr) {
    rd_kafka_destroy_flags(consumer_, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  }
  // The pipeline's sinks go before the sinks themselves.
  pipeline_.reset();
}

int Daemon::metrics_port() const {
  return metrics_server_ != nullptr ? metrics_server_->port() : 0;
}

std::string_view Daemon::TopicView(const char* topic) const {
  // SourceRef views a string that outlives the pipeline: the option's.
  if (options_.ads_topic == topic) return options_.ads_topic;
  if (options_.repartition) {
    for (const std::string& t : repartition_topics_) {
      if (t == topic) return t;
    }
  }
  return options_.posts_topic;
}

FeedKind Daemon::FeedOf(std::string_view topic_view) const {
  return topic_view.data() == options_.ads_topic.data() ||
                 topic_view.data() ==
                     repartition_topics_[static_cast<int>(FeedKind::kAd)].data()
             ? FeedKind::kAd
             : FeedKind::kPost;
}

bool Daemon::Forwarded(std::string_view topic_view) const {
  return options_.repartition &&
         (topic_view.data() == options_.posts_topic.data() ||
          topic_view.data() == options_.ads_topic.data());
}

bool Daemon::IsRepartitionTopic(std::string_view topic_view) const {
  return options_.repartition &&
         (topic_view.data() == repartition_topics_[0].data() ||
          topic_view.data() == repartition_topics_[1].data());
}

SourceRef Daemon::LaneSource(std::string_view view, int32_t partition,
                             int32_t input, int64_t offset) {
  std::map<int32_t, std::string>& lanes = lanes_[{view.data(), partition}];
  auto it = lanes.find(input);
  if (it == lanes.end()) {
    const std::string& input_topic = FeedOf(view) == FeedKind::kAd
                                         ? options_.ads_topic
                                         : options_.posts_topic;
    it = lanes
             .emplace(input, absl::StrCat(input_topic, " via ", ToAbsl(view),
                                          "/", partition))
             .first;
  }
  return SourceRef{it->second, input, offset};
}

int32_t Daemon::LaneCount(std::string_view view, int32_t partition) const {
  int32_t n = std::max(input_partitions_[static_cast<int>(FeedOf(view))], 1);
  auto it = lanes_.find({view.data(), partition});
  if (it != lanes_.end() && !it->second.empty()) {
    n = std::max(n, it->second.rbegin()->first + 1);
  }
  return n;
}

bool Daemon::PartitionAtEnd(const char* topic, int32_t partition) {
  const std::string_view view = TopicView(topic);
  if (Forwarded(view)) return true;
  if (!IsRepartitionTopic(view)) {
    return pipeline_->SourceAtEnd(SourceRef{view, partition, 0});
  }
  for (int32_t i = 0, n = LaneCount(view, partition); i < n; ++i) {
    if (!pipeline_->SourceAtEnd(LaneSource(view, partition, i, 0))) {
      return false;
    }
  }
  return true;
}

absl::Time Daemon::PartitionProgress(const char* topic, int32_t partition) {
  const std::string_view view = TopicView(topic);
  if (!IsRepartitionTopic(view)) {
    return pipeline_->SourceProgress(SourceRef{view, partition, 0});
  }
  // The slowest lane still holding the watermark. One its forwarder has
  // marked at its end for end_grace (an input partition none of whose
  // targets hash here, or one read to its end) is no reason to keep the
  // partition from being paused; one yet to deliver is: its records are
  // behind the others' on the partition, and a pause would keep them there
  // (unset, InfinitePast, as a plain partition yet to deliver).
  absl::Time least = absl::InfiniteFuture();
  for (int32_t i = 0, n = LaneCount(view, partition); i < n; ++i) {
    const SourceRef lane = LaneSource(view, partition, i, 0);
    if (pipeline_->SourceEnded(lane)) continue;
    const absl::Time t = pipeline_->SourceProgress(lane);
    if (t == absl::InfinitePast()) return t;
    least = std::min(least, t);
  }
  return least == absl::InfiniteFuture() ? absl::InfinitePast() : least;
}

Pipeline& Daemon::EnsurePipeline() {
  if (pipeline_ == nullptr) {
    pipeline_ = std::make_unique<Pipeline>(
        config_, Pipeline::MakeOperators(config_), &tee_,
        dead_letter_sink_.get(), &batch_clock_);
  }
  return *pipeline_;
}

void Daemon::NewPipelineForAssignment() {
  DropPipeline();
  // What the new pipeline's partitions carried comes with its state.
  partition_targets_.clear();
  last_target_topic_ = nullptr;
  const rd_kafka_topic_partition_list_t* all = assignment_.get();
  if (all->cnt > 0) {
    // Every assigned partition holds the watermark back from the start:
    // otherwise the first partition to deliver would run event time ahead
    // and make the others' records late. (With a cooperative assignor the
    // assignment includes partitions kept from before.)
    EnsurePipeline();
    // What the pipeline's state will cover. Kept: on a revoke the
    // assignment is already gone when the last checkpoint writes it.
    pipeline_assignment_ = CurrentAssignment();
    // Before anything touches the fresh pipeline: a restore wants it empty.
    if (state_enabled()) RestoreAssignmentState();
    // Each holds it until it delivers or reaches its end of log, not for a
    // time: how long a first fetch takes must not decide what is late.
    for (int i = 0; i < all->cnt; ++i) {
      SetPartitionAtEnd(all->elems[i].topic, all->elems[i].partition, false);
    }
  }
}

void Daemon::UpdateReadiness() {
  if (closing_) {
    readiness_->SetNotReady("stopping");
    return;
  }
  const rd_kafka_topic_partition_list_t* assignment = assignment_.get();
  if (assignment->cnt == 0) {
    readiness_->SetNotReady(rebalances_.load() == 0
                                ? "not yet assigned partitions"
                                : "no partitions assigned");
    return;
  }
  int behind = 0;
  for (int i = 0; i < assignment->cnt; ++i) {
    const rd_kafka_topic_partition_t& tp = assignment->elems[i];
    behind += caught_up_.count({tp.topic, tp.partition}) == 0 ? 1 : 0;
  }
  if (behind == 0) {
    readiness_->SetReady();
  } else {
    readiness_->SetNotReady(absl::StrCat("catching up: ", behind, " of ",
                                         assignment->cnt,
                                         " assigned partitions not yet at "
                                         "their log end"));
  }
}

void Daemon::TrackAssignment(rd_kafka_resp_err_t err,
                             const rd_kafka_topic_partition_list_t* changed) {
  // A partition (re)assigned must catch up again; one revoked is no
  // longer waited for.
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS ||
      err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
    for (int i = 0; i < changed->cnt; ++i) {
      caught_up_.erase({changed->elems[i].topic, changed->elems[i].partition});
    }
  } else {
    caught_up_.clear();
  }
  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    if (!cooperative_) {
      assignment_.reset(rd_kafka_topic_partition_list_copy(changed));
    } else {
      for (int i = 0; i < changed->cnt; ++i) {
        const rd_kafka_topic_partition_t& tp = changed->elems[i];
        if (rd_kafka_topic_partition_list_find(assignment_.get(), tp.topic,
                                               tp.partition) == nullptr) {
          rd_kafka_topic_partition_list_add(assignment_.get(), tp.topic,
                                            tp.partition);
        }
      }
    }
  } else if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS && cooperative_) {
    for (int i = 0; i < changed->cnt; ++i) {
      const rd_kafka_topic_partition_t& tp = changed->elems[i];
      rd_kafka_topic_partition_list_del(assignment_.get(), tp.topic,
                                        tp.partition);
    }
  } else {
    assignment_.reset(rd_kafka_topic_partition_list_new(0));
  }
  assigned_.store(assignment_->cnt);
  UpdateReadiness();
}

void Daemon::DropPipeline() {
  // What a lane has delivered belongs to the pipeline that processed it: a
  // new one re-reads from the last commit.
  lane_next_.clear();
  if (pipeline_ == nullptr) return;
  pipeline_probe_->Update(TakeSnapshot(*pipeline_), clock_->Now());
  pipeline_probe_->Rebase();
  pipeline_.reset();
}

void Daemon::OnRebalance(rd_kafka_t*, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t* partitions,
                         void* opaque) {
  static_cast<Daemon*>(opaque)->HandleRebalance(err, partitions);
}

void Daemon::HandleRebalance(rd_kafka_resp_err_t err,
                             rd_kafka_topic_partition_list_t* partitions) {
  if (cooperative_ && !closing_ &&
      err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS && partitions->cnt == 0) {
    // A cooperative rebalance that gives this instance nothing new (the
    // second half of one that only took partitions away): nothing changes,
    // and the records already polled stay valid.
    ++rebalances_;
    if (rd_kafka_error_t* e =
            rd_kafka_incremental_assign(consumer_, partitions)) {
      rd_kafka_error_destroy(e);
    }
    return;
  }
  ++generation_;
  ++rebalances_;
  stalled_.clear();  // Of the old assignment; the next statistics refill it.
  // The protocol is only known once the group has been joined. Not asked
  // while closing: librdkafka's answer to that query can then never come
  // (librdkafka issue #4041), and the assignment being closed was made
  // under the protocol already known.
  if (!closing_) {
    cooperative_ =
        std::strcmp(rd_kafka_rebalance_protocol(consumer_), "COOPERATIVE") == 0;
  }
  // A new pipeline follows, with its own watermark: nothing stays paused
  // for the old one's (a partition kept through a cooperative rebalance
  // would otherwise stay paused).
  if (!closing_) ResumeAligned();
  aligned_.clear();
  DropParked();
  delivered_.clear();
  last_at_end_.clear();
  released_.fill(false);
  TrackAssignment(err, partitions);
  if (err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
    const bool lost = rd_kafka_assignment_lost(consumer_);
    VIGIA_LOG(INFO) << "kafka: " << partitions->cnt << " partition(s) "
                    << (lost ? "lost" : "revoked");
    // Hand the partitions over at a clean point: everything handled so far
    // acknowledged and committed, so the next owner starts where we stop.
    if (!failed_ && !lost) {
      if (absl::Status s = Checkpoint(options_.checkpoint_timeout, true);
          !s.ok()) {
        VIGIA_LOG(WARNING) << "kafka: revoking without a final commit ("
                           << s.message()
                           << "); the next owner re-reads from the last "
                              "commit";
      }
    }
    DropPipeline();
    progress_.clear();
    progress_slot_ = OffsetSlot{};
    expected_slot_ = OffsetSlot{};
    reset_past_.clear();
    checkpoint_.reset();
    uncommitted_ = false;
    for (int i = 0; i < partitions->cnt; ++i) {
      expected_.erase(
          {partitions->elems[i].topic, partitions->elems[i].partition});
      end_of_log_.erase(
          {partitions->elems[i].topic, partitions->elems[i].partition});
    }
    if (cooperative_) {
      if (rd_kafka_error_t* e =
              rd_kafka_incremental_unassign(consumer_, partitions)) {
        VIGIA_LOG(ERROR) << "kafka: unassign failed: "
                         << rd_kafka_error_string(e);
        rd_kafka_error_destroy(e);
      }
      // The partitions kept go on in a fresh pipeline, like any assignment.
      PartitionList kept(rd_kafka_topic_partition_list_copy(assignment_.get()));
      RestartKept(kept.get());
      NewPipelineForAssignment();
      SeekKeptToCommitted(kept.get());
    } else {
      rd_kafka_assign(consumer_, nullptr);
    }
  } else if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
    // Window state is rebuilt from scratch for the new assignment (see
    // docs/kafka.md): a pipeline never mixes state from two assignments.
    if (pipeline_ != nullptr && !failed_) {
      (void)Checkpoint(options_.checkpoint_timeout, true);
    }
    DropPipeline();
    // With a cooperative assignor the partitions kept through the change
    // start over from their commit too (RestartKept).
    PartitionList kept(rd_kafka_topic_partition_list_new(0));
    if (cooperative_) {
      const rd_kafka_topic_partition_list_t* all = assignment_.get();
      for (int i = 0; i < all->cnt; ++i) {
        if (rd_kafka_topic_partition_list_find(partitions, all->elems[i].topic,
                                               all->elems[i].partition) ==
            nullptr) {
          rd_kafka_topic_partition_list_add(kept.get(), all->elems[i].topic,
                                            all->elems[i].partition);
        }
      }
      RestartKept(kept.get());
    }
    if (cooperative_) {
      if (rd_kafka_error_t* e =
              rd_kafka_incremental_assign(consumer_, partitions)) {
        VIGIA_LOG(ERROR) << "kafka: assign failed: "
                         << rd_kafka_error_string(e);
        rd_kafka_error_destroy(e);
      }
    } else {
      rd_kafka_assign(consumer_, partitions);
    }
    ExpectCommittedOffsets(partitions);
    // Fetching starts over; so do the end-of-log events.
    for (int i = 0; i < partitions->cnt; ++i) {
      end_of_log_.erase(
          {partitions->elems[i].topic, partitions->elems[i].partition});
    }
    NewPipelineForAssignment();
    SeekKeptToCommitted(kept.get());
    paused_ = false;
    kafka_probe_->SetPaused(false);
    VIGIA_LOG(INFO) << "kafka: assigned " << partitions->cnt << " partition(s)";
  } else {
    VIGIA_LOG(ERROR) << "kafka: rebalance error: " << rd_kafka_err2str(err);
    DropPipeline();
    progress_.clear();
    progress_slot_ = OffsetSlot{};
    reset_past_.clear();
    end_of_log_.clear();
    checkpoint_.reset();
    rd_kafka_assign(consumer_, nullptr);
  }
}

void Daemon::RestartKept(const rd_kafka_topic_partition_list_t* kept) {
  // A partition kept through a cooperative rebalance stays assigned, and
  // librdkafka fetches on from where it was: past the records this
  // instance had polled but not processed (parked behind an alignment
  // pause, or polled in the batch the rebalance interrupted), which the
  // new pipeline never sees. And the pipeline's state must be the one the
  // partition's commit names, which the checkpoint just made may have
  // moved (or, if it failed, not). So a kept partition starts over like a
  // newly assigned one: its commit and the snapshot it names are read
  // again, nothing processed is still counted as progress, and fetching
  // seeks back to the commit (SeekKeptToCommitted), so every record after
  // it is read again and none is lost.
  if (kept->cnt == 0) return;
  progress_.clear();
  progress_slot_ = OffsetSlot{};
  expected_slot_ = OffsetSlot{};
  checkpoint_.reset();
  uncommitted_ = false;
  for (int i = 0; i < kept->cnt; ++i) {
    const std::pair<std::string, int32_t> key{kept->elems[i].topic,
                                              kept->elems[i].partition};
    expected_.erase(key);
    committed_meta_.erase(key);
    end_of_log_.erase(key);
    caught_up_.erase(key);
  }
  ExpectCommittedOffsets(kept);
}

void Daemon::SeekKeptToCommitted(const rd_kafka_topic_partition_list_t* kept) {
  if (kept->cnt == 0) return;
  PartitionList seek(rd_kafka_topic_partition_list_copy(kept));
  for (int i = 0; i < seek->cnt; ++i) {
    rd_kafka_topic_partition_t& tp = seek->elems[i];
    auto it = expected_.find({tp.topic, tp.partition});
    // Never committed: from the start, as auto.offset.reset=earliest
    // (vigia's default) reads a partition without a commit.
    tp.offset = it != expected_.end() ? it->second : RD_KAFKA_OFFSET_BEGINNING;
  }
  // Waited for: once the fetcher has taken the new position, no record
  // fetched from the old one reaches the application. (Served by
  // librdkafka's own threads, so it may wait inside the rebalance
  // callback.) The records polled before the rebalance are dropped by
  // their generation (Run).
  if (rd_kafka_error_t* e = rd_kafka_seek_partitions(consumer_, seek.get(),
                                                     ToMillis(kSeekTimeout))) {
    VIGIA_LOG(ERROR) << "kafka: seeking the kept partitions back to their "
                        "commit failed: "
                     << rd_kafka_error_string(e);
    rd_kafka_error_destroy(e);
    return;
  }
  for (int i = 0; i < seek->cnt; ++i) {
    if (seek->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      VIGIA_LOG(ERROR) << "kafka: seeking " << seek->elems[i].topic << "/"
                       << seek->elems[i].partition
                       << " back to its commit failed: "
                       << rd_kafka_err2str(seek->elems[i].err);
    }
  }
  VIGIA_LOG(INFO) << "kafka: " << seek->cnt
                  << " partition(s) kept through the rebalance read again "
                     "from their commit";
}

void Daemon::OnCommit(rd_kafka_t*, rd_kafka_resp_err_t err,
                      rd_kafka_topic_partition_list_t* offsets, void* opaque) {
  auto* self = static_cast<Daemon*>(opaque);
  if (err == RD_KAFKA_RESP_ERR__NO_OFFSET) return;  // nothing to commit
  bool ok = err == RD_KAFKA_RESP_ERR_NO_ERROR;
  if (ok && offsets != nullptr) {
    for (int i = 0; i < offsets->cnt; ++i) {
      if (offsets->elems[i].err != RD_KAFKA_RESP_ERR_NO_ERROR) ok = false;
    }
  }
  self->kafka_probe_->OnCommit(ok);
  if (self->commit_in_flight_) {
    // The asynchronous commit of a state checkpoint: its slot is now the
    // one the group's offsets name (or, on failure, still the old one).
    self->commit_in_flight_ = false;
    if (ok) {
      self->committed_slot_ = self->inflight_slot_;
      ++self->state_checkpoints_;
    }
  }
  if (ok) {
    ++self->commits_;
  } else {
    // The progress is still there; the next checkpoint commits it again.
    self->uncommitted_ = true;
    VIGIA_LOG(WARNING) << "kafka: offset commit failed: "
                       << rd_kafka_err2str(err) << "; will retry";
  }
}

void Daemon::OnError(rd_kafka_t*, int err, const char* reason, void* opaque) {
  auto* self = static_cast<Daemon*>(opaque);
  const auto code = static_cast<rd_kafka_resp_err_t>(err);
  self->kafka_probe_->OnClientError("consumer", rd_kafka_err2name(code));
  if (code == RD_KAFKA_RESP_ERR__FATAL) {
    VIGIA_LOG(ERROR) << "kafka consumer fatal error: " << reason;
    self->failed_ = true;
  } else if (code == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN) {
    VIGIA_LOG(WARNING) << "kafka: all brokers down (" << reason
                       << "); reconnecting";
  } else if (code != RD_KAFKA_RESP_ERR__TRANSPORT) {
    // (Transport errors are already in librdkafka's own log lines.)
    VIGIA_LOG(WARNING) << "kafka consumer: " << rd_kafka_err2name(code) << ": "
                       << reason;
  }
}

int Daemon::OnStats(rd_kafka_t*, char* json, size_t len, void* opaque) {
  static_cast<Daemon*>(opaque)->HandleStats({json, len});
  return 0;
}

void Daemon::HandleStats(std::string_view json) {
  absl::StatusOr<KafkaClientStats> stats = ParseKafkaStats(json);
  if (!stats.ok()) {
    VIGIA_LOG(WARNING) << "kafka statistics: " << stats.status().message();
    return;
  }
  kafka_probe_->OnStats(*stats);
  if (stats->type != "consumer") return;
  if (stats->stalled.size() != stalled_.size()) {
    VIGIA_LOG(INFO) << "kafka: " << stats->stalled.size()
                    << " assigned partition(s) cannot be fetched (leader "
                       "unreachable); they do not count as idle";
  }
  stalled_ = std::move(stats->stalled);
  for (const KafkaPartitionPosition& p : stats->positions) {
    const std::pair<std::string, int32_t> key{p.topic, p.partition};
    auto it = expected_.find(key);
    // The fetcher has moved past records the brokers no longer hold.
    if (it != expected_.end() && it->second < p.log_start &&
        p.log_start <= p.next_fetch) {
      reset_past_[key] = p.log_start;
    }
  }
}

void Daemon::SkipDeletedRecords() {
  for (const auto& [key, log_start] : reset_past_) {
    auto it = expected_.find(key);
    // Read since (NoteOffset counted it) or revoked: nothing to do.
    if (it == expected_.end() || it->second >= log_start) continue;
    const int64_t from = it->second;
    it->second = log_start;
    kafka_probe_->OnSkipped(key.first, log_start - from);
    skipped_.fetch_add(log_start - from);
    VIGIA_LOG(WARNING) << "kafka: " << key.first << "/" << key.second
                       << " offsets " << from << ".." << log_start - 1 << " ("
                       << log_start - from
                       << " records) were deleted by the brokers before they "
                          "were read; reading resumes at "
                       << log_start;
    // Everything below the log start is handled or gone, so it may be
    // committed like any checkpointed progress.
    int64_t& next = progress_[key];
    next = std::max(next, log_start);
    uncommitted_ = true;
  }
  reset_past_.clear();
}

absl::Status Daemon::ProcessMessage(const rd_kafka_message_t* m,
                                    SteadyClock::time_point dequeued) {
  const std::string_view topic = TopicView(rd_kafka_topic_name(m->rkt));
  NoteOffset(topic, m->partition, m->offset);
  if (Forwarded(topic)) {
    // Committed once the checkpoint's mark shows the forwarded record
    // acknowledged, as alerts are: at least once.
    ForwardMessage(m, topic);
    ProgressOf(topic, m->partition) = m->offset + 1;
    uncommitted_ = true;
    return absl::OkStatus();
  }
  RawRecord record;
  record.bytes = std::string_view(static_cast<const char*>(m->payload), m->len);
  // Payloads are not padded; the pipeline copies them into its own buffer.
  record.capacity = m->len;
  record.source = SourceRef{topic, m->partition, m->offset};
  record.feed_hint = FeedOf(topic);
  if (IsRepartitionTopic(topic)) {
    // The lane of the input partition it was read from, at its input
    // offset (which dead letters then name). A record without the headers
    // (not written by vigia) goes with lane 0 at its own offset.
    const int64_t input = IntHeader(m, kSourcePartitionHeader);
    const int64_t offset = IntHeader(m, kSourceOffsetHeader);
    const bool known = input >= 0 && input <= INT32_MAX && offset >= 0;
    const int64_t lane_end =
        known && m->len == 0 ? IntHeader(m, kLaneEndHeader) : -1;
    if (lane_end >= 0) {
      HandleLaneEnd(topic, m->partition, static_cast<int32_t>(input), offset,
                    lane_end == 1);
      ProgressOf(topic, m->partition) = m->offset + 1;
      uncommitted_ = true;
      return absl::OkStatus();
    }
    record.source =
        LaneSource(topic, m->partition, known ? static_cast<int32_t>(input) : 0,
                   known ? offset : m->offset);
    if (known) {
      // A forwarder that crashed before its commit forwards its records
      // again; this pipeline has processed them already.
      int64_t& next =
          lane_next_[{topic.data(), m->partition, static_cast<int32_t>(input)}];
      if (offset < next) {
        ++repartition_duplicates_;
        ++duplicates_pending_[static_cast<int>(FeedOf(topic))];
        ProgressOf(topic, m->partition) = m->offset + 1;
        uncommitted_ = true;
        return absl::OkStatus();
      }
      next = offset + 1;
    }
  }
  absl::Status s = EnsurePipeline().Process(record);
  if (!s.ok()) return s;
  if (!options_.repartition) CheckKey(m, topic, pipeline_->last_target());
  pipeline_probe_->ObserveLatency(
      std::chrono::duration<double>(SteadyClock::now() - dequeued).count());
  ProgressOf(topic, m->partition) = m->offset + 1;
  NoteTarget(topic, m->partition, m);
  uncommitted_ = true;
  ++records_;
  if (options_.on_record) options_.on_record(record.source);
  return absl::OkStatus();
}

void Daemon::NoteTarget(std::string_view topic, int32_t partition,
                        const rd_kafka_message_t* m) {
  // Records are keyed by target (docs/kafka.md): the key says which
  // partition carries a target's records, so its state goes with it.
  if (m->key_len != 2 || m->key == nullptr) return;
  const char* k = static_cast<const char*>(m->key);
  if (k[0] < 'A' || k[0] > 'Z' || k[1] < 'A' || k[1] > 'Z') return;
  const uint16_t code = CountryCode::FromChars(k[0], k[1]).packed();
  if (topic.data() == last_target_topic_ &&
      partition == last_target_partition_ && code == last_target_code_) {
    return;
  }
  partition_targets_[{std::string(topic), partition}].insert(code);
  last_target_topic_ = topic.data();
  last_target_partition_ = partition;
  last_target_code_ = code;
}

void Daemon::ForwardMessage(const rd_kafka_message_t* m,
                            std::string_view topic) {
  const FeedKind feed = FeedOf(topic);
  const std::string_view bytes(static_cast<const char*>(m->payload), m->len);
  OutMessage out;
  out.topic = repartition_topics_[static_cast<int>(feed)];
  // Only the target is wanted; the pipeline decodes the record again where
  // it is processed. One that cannot be decoded is forwarded unkeyed (to
  // any partition), and dead-lettered there with its reason.
  if (forward_decoder_->DecodeUnpadded(
          bytes, SourceRef{topic, m->partition, m->offset}) ==
      RejectReason::kNone) {
    const CountryCode target = forward_decoder_->event().target;
    out.key = target.str();
    CheckKey(m, topic, target);
  }
  out.value.assign(bytes);
  out.headers = {{kSourcePartitionHeader, absl::StrCat(m->partition)},
                 {kSourceOffsetHeader, absl::StrCat(m->offset)}};
  out.output = "repartition";
  producer_->Produce(std::move(out));
  if (options_.on_forward) {
    options_.on_forward(SourceRef{topic, m->partition, m->offset});
  }
  ++repartitioned_;
  ++repartitioned_pending_[static_cast<int>(feed)];
}

void Daemon::MarkLaneEnds(const char* topic, int32_t partition, int64_t next) {
  // A new end is marked at once, but at most twice per end_grace (a
  // trickling input touches its end after nearly every record); an
  // unchanged one again every end_grace, so that a processing instance that
  // restarted past the last mark (or holds a lane its forwarder has marked
  // before it was assigned) learns the lane's end without a new record.
  const absl::Time now = clock_->Now();
  const absl::Duration grace = config_.watermark.end_grace;
  LaneMark& last = lane_marks_[{topic, partition}];
  const absl::Duration wait = last.ended && last.next == next
                                  ? std::max(grace, absl::Seconds(1))
                                  : std::min(grace / 2, absl::Seconds(1));
  if (now - last.at < wait) return;
  last.at = now;
  if (WriteLaneMarks(topic, partition, next, /*at_end=*/true)) {
    last.next = next;
    last.ended = true;
  }
}

void Daemon::MarkLaneActive(const char* topic, int32_t partition,
                            int64_t next) {
  // Once per end marked: the lanes hold the watermark again from here
  // until the next end mark, before the records that follow come.
  auto it = lane_marks_.find({topic, partition});
  if (it == lane_marks_.end() || !it->second.ended) return;
  it->second.ended = false;
  it->second.at = clock_->Now();
  WriteLaneMarks(topic, partition, next, /*at_end=*/false);
}

bool Daemon::WriteLaneMarks(const char* topic, int32_t partition, int64_t next,
                            bool at_end) {
  const FeedKind feed = FeedOf(TopicView(topic));
  const std::string& repartition_topic =
      repartition_topics_[static_cast<int>(feed)];
  int32_t& partitions = repartition_partitions_[static_cast<int>(feed)];
  if (partitions <= 0) {
    // (Not known at start: asked again at most once per wait.)
    const std::map<std::string, int32_t> counts =
        TopicPartitions({repartition_topic});
    if (auto it = counts.find(repartition_topic); it != counts.end()) {
      partitions = it->second;
    }
  }
  if (partitions <= 0) return false;
  for (int32_t p = 0; p < partitions; ++p) {
    OutMessage out;
    out.topic = repartition_topic;
    out.partition = p;
    out.headers = {{kSourcePartitionHeader, absl::StrCat(partition)},
                   {kSourceOffsetHeader, absl::StrCat(next)},
                   {kLaneEndHeader, at_end ? "1" : "0"}};
    out.output = "repartition";
    producer_->Produce(std::move(out));
  }
  lane_end_marks_.fetch_add(partitions);
  return true;
}

void Daemon::HandleLaneEnd(std::string_view topic, int32_t partition,
                           int32_t input, int64_t offset, bool at_end) {
  if (!at_end) {
    // Its forwarder has records to forward: they come after this.
    EnsurePipeline().SetSourceAtEnd(LaneSource(topic, partition, input, 0),
                                    FeedOf(topic), /*at_end=*/false);
    return;
  }
  // Everything its forwarder wrote of the lane before the mark has been
  // read (one producer writes a lane, in order). A mark below a record the
  // lane delivered is stale: from a former forwarder of the input
  // partition, which has moved on since.
  auto it = lane_next_.find({topic.data(), partition, input});
  if (it != lane_next_.end() && offset < it->second) return;
  EnsurePipeline().SetSourceAtEnd(LaneSource(topic, partition, input, 0),
                                  FeedOf(topic), /*at_end=*/true);
}

void Daemon::CheckKey(const rd_kafka_message_t* m, std::string_view topic,
                      CountryCode target) {
  if (!target.known()) return;
  const std::string_view key =
      m->key != nullptr
          ? std::string_view(static_cast<const char*>(m->key), m->key_len)
          : std::string_view();
  if (CountryCode::FromString(key) == target) return;
  ++miskeyed_;
  ++miskeyed_pending_[static_cast<int>(FeedOf(topic))];
  const int64_t n = ++miskeyed_logs_;
  // The first, then the 10th, 100th...: enough to be seen, never a flood.
  int64_t power = 1;
  while (power < n) power *= 10;
  if (power != n) return;
  VIGIA_LOG(WARNING)
      << "kafka: " << topic << "/" << m->partition << " offset " << m->offset
      << " is keyed "
      << (m->key == nullptr
              ? std::string("(no key)")
              : absl::StrCat("\"", absl::CHexEscape(ToAbsl(key.substr(0, 32))),
                             "\""))
      << " but targets " << target.str() << " (" << n << " such records so far)"
      << (options_.repartition
              ? "; repartitioned by target"
              : ": with more than one instance in the group its target's "
                "records are split between them and alerts are missed; key "
                "the records by target, or set kafka.repartition: true "
                "(docs/kafka.md)");
}

void Daemon::HandleEndOfLog(const rd_kafka_message_t* m) {
  // Where the fetcher found the log to end; MarkEnds() uses it once the
  // records before it are handled.
  end_of_log_[{rd_kafka_topic_name(m->rkt), m->partition}] = m->offset;
}

void Daemon::ExpectCommittedOffsets(
    const rd_kafka_topic_partition_list_t* partitions) {
  PartitionList committed(rd_kafka_topic_partition_list_copy(partitions));
  // One round trip to the group coordinator per assignment (rare); without
  // an answer the first record read sets the expectation instead.
  const rd_kafka_resp_err_t err =
      rd_kafka_committed(consumer_, committed.get(), 2000);
  for (int i = 0; i < committed->cnt; ++i) {
    const rd_kafka_topic_partition_t& tp = committed->elems[i];
    const std::pair<std::string, int32_t> key{tp.topic, tp.partition};
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR &&
        tp.err == RD_KAFKA_RESP_ERR_NO_ERROR && tp.offset >= 0) {
      expected_[key] = tp.offset;
      committed_meta_[key] =
          tp.metadata != nullptr
              ? std::string(static_cast<const char*>(tp.metadata),
                            tp.metadata_size)
              : std::string();
    } else {
      expected_.erase(key);
      expected_slot_ = OffsetSlot{};
      committed_meta_.erase(key);
    }
  }
}

int64_t& Daemon::ProgressOf(std::string_view topic, int32_t partition) {
  if (progress_slot_.topic != topic.data() ||
      progress_slot_.partition != partition) {
    auto it = progress_.try_emplace({std::string(topic), partition}, 0).first;
    progress_slot_ = OffsetSlot{topic.data(), partition, it};
  }
  return progress_slot_.it->second;
}

void Daemon::NoteOffset(std::string_view topic, int32_t partition,
                        int64_t offset) {
  bool inserted = false;
  if (expected_slot_.topic != topic.data() ||
      expected_slot_.partition != partition) {
    auto [it, added] =
        expected_.try_emplace({std::string(topic), partition}, offset);
    inserted = added;
    expected_slot_ = OffsetSlot{topic.data(), partition, it};
  }
  const auto it = expected_slot_.it;
  const int64_t from = it->second;
  it->second = offset + 1;
  if (inserted || offset <= from) return;
  // A gap is also what compaction and transaction markers leave; only
  // offsets below the log start the brokers report were deleted unread.
  int64_t low = -1;
  int64_t high = -1;
  const bool known = rd_kafka_get_watermark_offsets(
                         consumer_, std::string(topic).c_str(), partition, &low,
                         &high) == RD_KAFKA_RESP_ERR_NO_ERROR &&
                     low >= 0;
  if (known && low <= from) return;
  const int64_t to = known ? std::min(offset, low) : offset;
  kafka_probe_->OnSkipped(topic, to - from);
  skipped_.fetch_add(to - from);
  VIGIA_LOG(WARNING) << "kafka: " << topic << "/" << partition << " offsets "
                     << from << ".." << to - 1 << " (" << to - from
                     << " records) were deleted by the brokers before they "
                        "were read; reading resumed at "
                     << offset;
}

void Daemon::KeepBackloggedSourcesActive(const std::vector<Fetched>& batch) {
  if (pipeline_ == nullptr) return;
  // A partition at its log end stops holding its feed's watermark back at
  // once (MarkEnds); one with records to read holds it until they are
  // handled, however long that takes. So before a batch is handled, every
  // partition with records in it, or with a known backlog (position behind
  // the high watermark librdkafka last saw), is marked as not at its end:
  // otherwise the other partitions' records in the batch could move the
  // watermark past records still waiting. So is one the consumer cannot
  // fetch (its leader is down, as of the last statistics): during an outage
  // the cached high watermark is stale, and records produced meanwhile are
  // invisible until it recovers.
  for (const auto& [topic, partition] : stalled_) {
    if (topic != options_.posts_topic && topic != options_.ads_topic &&
        !(options_.repartition && (topic == repartition_topics_[0] ||
                                   topic == repartition_topics_[1]))) {
      continue;
    }
    SetPartitionAtEnd(topic.c_str(), partition, false);
  }
  const char* active_topic = nullptr;
  int32_t active_partition = -1;
  const absl::Time now = clock_->Now();
  for (const Fetched& f : batch) {
    if (f.generation != generation_) continue;
    const rd_kafka_message_t* m = f.message;
    const char* topic = rd_kafka_topic_name(m->rkt);
    const std::string_view view = TopicView(topic);
    if (Forwarded(view)) {
      // Its lanes hold the watermark wherever they are read, before the
      // records are forwarded.
      // (Once per run of a partition's records: the lookup builds a key.)
      if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR &&
          (topic != active_topic || m->partition != active_partition)) {
        MarkLaneActive(topic, m->partition, m->offset);
        active_topic = topic;
        active_partition = m->partition;
      }
      continue;
    }
    if (IsRepartitionTopic(view)) {
      // Only the record's lane has something to read; its other lanes may
      // have ended (an end mark says nothing new either). A lane set back
      // here ends again only with its forwarder's next end mark, which
      // comes after this record.
      if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR ||
          (m->len == 0 && IntHeader(m, kLaneEndHeader) == 1)) {
        continue;
      }
      if (topic != active_topic || m->partition != active_partition) {
        active_topic = topic;
        active_partition = m->partition;
        // The first records after a quiet end_grace: other forwarders may
        // have records on their way here too (a backlog produced to idle
        // input partitions), which they say before forwarding them (an
        // active mark) but behind these. The lanes at their end wait
        // another end_grace for that, as a partition at its end does.
        auto [quiet, inserted] = lane_partition_active_.try_emplace(
            {view.data(), m->partition}, now);
        if (inserted || now - quiet->second >= config_.watermark.end_grace) {
          for (int32_t i = 0, n = LaneCount(view, m->partition); i < n; ++i) {
            pipeline_->RestartSourceEndGrace(
                LaneSource(view, m->partition, i, 0));
          }
        }
        quiet->second = now;
      }
      const int64_t input = IntHeader(m, kSourcePartitionHeader);
      pipeline_->SetSourceAtEnd(LaneSource(view, m->partition,
                                           input >= 0 && input <= INT32_MAX
                                               ? static_cast<int32_t>(input)
                                               : 0,
                                           0),
                                FeedOf(view), false);
      continue;
    }
    SetPartitionAtEnd(topic, m->partition, false);
  }
  for (const auto& [key, queue] : parked_) {
    // (A repartition partition's parked records set their lanes back when
    // their batch came.)
    if (IsRepartitionTopic(TopicView(key.first.c_str()))) continue;
    SetPartitionAtEnd(key.first.c_str(), key.second, false);
  }
  // rd_kafka_position() reads the client's local state, and fills the
  // offsets into our copy of the assignment.
  rd_kafka_topic_partition_list_t* assignment = assignment_.get();
  if (rd_kafka_position(consumer_, assignment) != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return;
  }
  for (int i = 0; i < assignment->cnt; ++i) {
    const rd_kafka_topic_partition_t& tp = assignment->elems[i];
    int64_t low = 0, high = 0;
    if (tp.offset < 0 ||
        rd_kafka_get_watermark_offsets(consumer_, tp.topic, tp.partition, &low,
                                       &high) != RD_KAFKA_RESP_ERR_NO_ERROR ||
        high < 0 || tp.offset >= high) {
      continue;
    }
    // Which lanes a repartition partition's unread records belong to is
    // known when they come (above).
    if (IsRepartitionTopic(TopicView(tp.topic))) continue;
    if (Forwarded(TopicView(tp.topic))) {
      MarkLaneActive(tp.topic, tp.partition, tp.offset);
      continue;
    }
    SetPartitionAtEnd(tp.topic, tp.partition, false);
  }
}

void Daemon::MarkEnds() {
  if (pipeline_ == nullptr) return;
  // Every record polled so far has been handled. A partition is at its log
  // end when its end-of-log event came at the offset it is to read next, or
  // its next offset has reached the high watermark librdkafka last saw (a
  // partition kept through a cooperative rebalance gets no second event). A
  // stalled partition is not believed: its high watermark is stale.
  const rd_kafka_topic_partition_list_t* assignment = assignment_.get();
  bool changed = false;
  bool newly_caught_up = false;
  for (int i = 0; i < assignment->cnt; ++i) {
    const rd_kafka_topic_partition_t& tp = assignment->elems[i];
    const std::pair<std::string, int32_t> key{tp.topic, tp.partition};
    auto next_it = expected_.find(key);
    auto eof_it = end_of_log_.find(key);
    const int64_t next = next_it != expected_.end() ? next_it->second : -1;
    int64_t low = -1, high = -1;
    const bool cached =
        rd_kafka_get_watermark_offsets(consumer_, tp.topic, tp.partition, &low,
                                       &high) == RD_KAFKA_RESP_ERR_NO_ERROR &&
        high >= 0;
    const bool at_end =
        (eof_it != end_of_log_.end() && eof_it->second >= next) ||
        (next >= 0 && cached && next >= high);
    if (!at_end || parked_.contains(key) ||
        std::find(stalled_.begin(), stalled_.end(), key) != stalled_.end()) {
      continue;
    }
    last_at_end_[key] = clock_->Now();
    newly_caught_up |= caught_up_.insert(key).second;
    const std::string_view view = TopicView(tp.topic);
    if (Forwarded(view)) {
      // Its lanes on the repartition topics end here, whoever reads them.
      MarkLaneEnds(tp.topic, tp.partition,
                   next >= 0 ? next : (cached ? high : 0));
      continue;
    }
    // A repartition partition's lanes end by their forwarders' marks: at
    // the partition's end, a forwarder still reading its backlog has only
    // not written the rest yet.
    if (IsRepartitionTopic(view)) continue;
    if (PartitionAtEnd(tp.topic, tp.partition)) continue;
    SetPartitionAtEnd(tp.topic, tp.partition, true);
    changed = true;
  }
  if (newly_caught_up) UpdateReadiness();
  // The watermark may move now (end_grace 0), with no record to move it.
  if (changed) {
    if (absl::Status s = pipeline_->Tick(); !s.ok()) {
      VIGIA_LOG(WARNING) << "kafka: " << s.message();
    }
  }
}

void Daemon::AlignPartitions() {
  if (pipeline_ == nullptr) return;
  // A partition's progress against its feed's watermark, or, before there
  // is one (a partition yet to deliver holds it unset), against where the
  // feed's event time started: without this, one partition delivering
  // first could take the detectors hours past their windows before the
  // others had said anything.
  const absl::Duration drift = AlignmentDrift();
  const absl::Duration grace = config_.watermark.end_grace;
  const absl::Time now = clock_->Now();
  const rd_kafka_topic_partition_list_t* assignment = assignment_.get();

  // Liveness. A pause only helps while the partitions holding the feed's
  // watermark are reading a backlog: then the watermark catches up and the
  // paused ones resume. When every holder is at its log end (a sparse
  // partition whose few records keep its progress hours behind, however
  // often they come), cannot be fetched, or has delivered nothing for
  // end_grace, waiting gains nothing, and the paused partitions' records
  // sit in the brokers until retention deletes them unread (a CI run of
  // `vigia demo` lost 174,864 of 195,231 records so). So once a pause has
  // lasted two end_graces while no holder of its feed is catching up, the
  // feed's alignment is released: its paused partitions resume and none is
  // paused again until a holder reads a backlog again.
  std::array<bool, kNumFeeds> catching_up{};
  std::array<bool, kNumFeeds> overdue{};
  for (int i = 0; i < assignment->cnt; ++i) {
    const rd_kafka_topic_partition_t& tp = assignment->elems[i];
    const std::string_view view = TopicView(tp.topic);
    // Forwarded partitions feed no watermark of this pipeline.
    if (Forwarded(view)) continue;
    const int feed = static_cast<int>(FeedOf(view));
    std::pair<std::string, int32_t> key{tp.topic, tp.partition};
    auto progress_it = progress_.find(key);
    const int64_t next =
        progress_it != progress_.end() ? progress_it->second : -1;
    auto [delivered, inserted] =
        delivered_.try_emplace(key, Delivered{next, now});
    if (!inserted && delivered->second.next != next) {
      delivered->second = Delivered{next, now};
    }
    absl::Time reference = pipeline_->feed_watermark(FeedOf(view));
    if (reference == absl::InfinitePast()) {
      reference = pipeline_->feed_start(FeedOf(view));
    }
    const absl::Time progress = PartitionProgress(tp.topic, tp.partition);
    const bool holder = reference == absl::InfinitePast() ||
                        progress == absl::InfinitePast() ||
                        progress <= reference + drift / 2;
    if (auto it = aligned_.find(key); it != aligned_.end()) {
      // A paused partition the watermark has caught up with resumes below,
      // and it has records to read: its feed is catching up. Its pause is
      // not a reason to release the others. (All of a feed's partitions
      // with records are paused at the start of a catch-up while an empty
      // one holds the watermark for end_grace; when that ends, the
      // watermark moves up to the slowest of them in the same step. Taking
      // that moment for "no holder is reading" released the alignment, and
      // a two-day backlog then ran partitions days apart: 9,031 events
      // refused at the detectors' caps.)
      // Overdue after two end_graces: a partition at its log end holds the
      // watermark for one end_grace from when it got there, which can be a
      // moment after the others were paused (an empty partition at the
      // start of a catch-up); only a pause that outlasts that as well says
      // the holders will not move.
      if (holder) {
        catching_up[feed] = true;
      } else if (now - it->second >= 2 * grace) {
        overdue[feed] = true;
      }
      continue;
    }
    // Reading a backlog: delivering, and away from its log end for a
    // whole end_grace. Being off the end now is not enough: a partition
    // that receives a record every 250 ms is off it most of the time, and
    // counting it re-paused the released partitions every few seconds (a
    // CI run read a partition 50 records per release for minutes).
    auto end_it = last_at_end_.find(key);
    const bool away_from_end =
        end_it == last_at_end_.end() || now - end_it->second >= grace;
    if (holder && !PartitionAtEnd(tp.topic, tp.partition) && away_from_end &&
        now - delivered->second.at < grace &&
        std::find(stalled_.begin(), stalled_.end(), key) == stalled_.end()) {
      catching_up[feed] = true;
    }
  }
  for (int f = 0; f < kNumFeeds; ++f) {
    if (catching_up[f]) {
      released_[f] = false;
    } else if (overdue[f] && !paused_ && !released_[f]) {
      // (While consumption is paused for backpressure nothing delivers:
      // that silence says nothing about the holders.)
      released_[f] = true;
      ++alignment_releases_;
      VIGIA_LOG(WARNING)
          << "kafka: watermark alignment released for the "
          << (f == static_cast<int>(FeedKind::kAd) ? "ads" : "posts")
          << " feed: no partition holding its watermark has records to "
             "read (at its log end, silent or unreachable for "
          << absl::FormatDuration(grace)
          << "), so the partitions paused ahead of it resume rather than "
             "leave their records to retention ("
          << alignment_releases_.load() << " release(s) so far)";
    }
  }

  PartitionList pause(rd_kafka_topic_partition_list_new(0));
  PartitionList resume(rd_kafka_topic_partition_list_new(0));
  for (int i = 0; i < assignment->cnt; ++i) {
    const rd_kafka_topic_partition_t& tp = assignment->elems[i];
    const std::string_view view = TopicView(tp.topic);
    if (Forwarded(view)) continue;
    const FeedKind feed = FeedOf(view);
    const bool released = released_[static_cast<int>(feed)];
    absl::Time reference = pipeline_->feed_watermark(feed);
    if (reference == absl::InfinitePast()) {
      reference = pipeline_->feed_start(feed);
    }
    const absl::Time progress = PartitionProgress(tp.topic, tp.partition);
    std::pair<std::string, int32_t> key{tp.topic, tp.partition};
    const bool aligned = aligned_.contains(key);
    if (!aligned && !released && reference != absl::InfinitePast() &&
        progress != absl::InfinitePast() && progress > reference + drift) {
      rd_kafka_topic_partition_list_add(pause.get(), tp.topic, tp.partition);
      aligned_.emplace(std::move(key), now);
    } else if (aligned && !paused_ &&
               (released || reference == absl::InfinitePast() ||
                progress <= reference + drift / 2)) {
      rd_kafka_topic_partition_list_add(resume.get(), tp.topic, tp.partition);
      aligned_.erase(key);
    }
  }
  if (pause->cnt > 0) {
    rd_kafka_pause_partitions(consumer_, pause.get());
    alignment_pauses_.fetch_add(pause->cnt);
  }
  if (resume->cnt > 0) {
    rd_kafka_resume_partitions(consumer_, resume.get());
    alignment_resumes_.fetch_add(resume->cnt);
  }
  if (pause->cnt > 0 || resume->cnt > 0) {
    kafka_probe_->OnAlignment(pause->cnt,
                              static_cast<int64_t>(aligned_.size()));
  }
  if ((pause->cnt > 0 || resume->cnt > 0) &&
      (++alignment_logs_ <= 10 || alignment_logs_ % 100 == 0)) {
    VIGIA_LOG(INFO) << "kafka: watermark alignment: " << aligned_.size()
                    << " partition(s) paused more than "
                    << absl::FormatDuration(drift)
                    << " ahead of their feed's watermark ("
                    << alignment_pauses_.load() << " pauses, "
                    << alignment_resumes_.load() << " resumes so far; "
                    << parked_count_ << " record(s) parked)";
  }
}

absl::Duration Daemon::AlignmentDrift() const {
  // A partition holding the watermark is at most max_out_of_orderness past
  // it, and must never be paused (nothing would resume it).
  return std::max(
      options_.alignment_drift,
      2 * config_.watermark.max_out_of_orderness + absl::Minutes(1));
}

absl::Time Daemon::AlignmentLimit(FeedKind feed) const {
  absl::Time reference = pipeline_->feed_watermark(feed);
  if (reference == absl::InfinitePast()) {
    reference = pipeline_->feed_start(feed);
  }
  if (reference == absl::InfinitePast() || released_[static_cast<int>(feed)]) {
    return absl::InfiniteFuture();
  }
  return reference + AlignmentDrift();
}

absl::Status Daemon::HandleFetched(const Fetched& f, bool* parked) {
  const rd_kafka_message_t* m = f.message;
  const char* topic = rd_kafka_topic_name(m->rkt);
  const std::string_view view = TopicView(topic);
  std::pair<std::string, int32_t> key{topic, m->partition};
  *parked = false;
  if (!Forwarded(view)) {
    auto it = parked_.find(key);
    if ((it != parked_.end() && !it->second.empty()) ||
        (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF &&
         aligned_.contains(key))) {
      parked_[std::move(key)].push_back(f);
      ++parked_count_;
      *parked = true;
      return absl::OkStatus();
    }
  }
  if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
    HandleEndOfLog(m);
    return absl::OkStatus();
  }
  VIGIA_RETURN_IF_ERROR(ProcessMessage(m, f.dequeued));
  if (Forwarded(view) ||
      PartitionProgress(topic, m->partition) <= AlignmentLimit(FeedOf(view))) {
    return absl::OkStatus();
  }
  // Past the drift: paused now, not after the batch, so that its records
  // still in the batch (a fetch spans hours of a sparse partition's event
  // time) park instead of reaching detectors whose windows cannot hold them.
  PartitionList pause(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(pause.get(), topic, m->partition);
  rd_kafka_pause_partitions(consumer_, pause.get());
  alignment_pauses_.fetch_add(1);
  aligned_.emplace(std::move(key), clock_->Now());
  kafka_probe_->OnAlignment(1, static_cast<int64_t>(aligned_.size()));
  return absl::OkStatus();
}

absl::Status Daemon::DrainParked() {
  std::vector<std::pair<std::string, int32_t>> ready;
  for (const auto& [key, queue] : parked_) {
    if (!aligned_.contains(key)) ready.push_back(key);
  }
  for (const auto& key : ready) {
    // Taken out whole: a record that pauses the partition again parks the
    // rest behind it, in order, under the same key.
    auto node = parked_.extract(key);
    parked_count_ -= node.mapped().size();
    absl::Status status;
    for (const Fetched& f : node.mapped()) {
      bool parked = false;
      if (status.ok() && f.generation == generation_) {
        status = HandleFetched(f, &parked);
      }
      if (!parked) rd_kafka_message_destroy(f.message);
    }
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

void Daemon::DropParked() {
  for (auto& [key, queue] : parked_) {
    for (const Fetched& f : queue) rd_kafka_message_destroy(f.message);
  }
  parked_.clear();
  parked_count_ = 0;
}

void Daemon::ResumeAligned() {
  if (aligned_.empty()) return;
  PartitionList list(
      rd_kafka_topic_partition_list_new(static_cast<int>(aligned_.size())));
  for (const auto& [tp, since] : aligned_) {
    rd_kafka_topic_partition_list_add(list.get(), tp.first.c_str(), tp.second);
  }
  rd_kafka_resume_partitions(consumer_, list.get());
  alignment_resumes_.fetch_add(list->cnt);
  aligned_.clear();
  kafka_probe_->OnAlignment(0, 0);
}

void Daemon::SetPartitionAtEnd(const char* topic, int32_t partition,
                               bool at_end) {
  const std::string_view view = TopicView(topic);
  if (Forwarded(view)) return;  // Read by no pipeline.
  if (IsRepartitionTopic(view)) {
    // Its lanes end by their forwarders' marks (HandleLaneEnd), not with
    // the partition: only set back here (assignment, unreachable leader).
    if (at_end) return;
    for (int32_t i = 0, n = LaneCount(view, partition); i < n; ++i) {
      pipeline_->SetSourceAtEnd(LaneSource(view, partition, i, 0), FeedOf(view),
                                at_end);
    }
    return;
  }
  pipeline_->SetSourceAtEnd(SourceRef{view, partition, 0}, FeedOf(view),
                            at_end);
}

absl::Status Daemon::Checkpoint(absl::Duration timeout, bool sync) {
  if (checkpoint_.has_value()) {
    // Superseded: this one commits everything so far, the pending one's
    // offsets included (they are a prefix of progress_).
    checkpoint_.reset();
    uncommitted_ = true;
  }
  if (!uncommitted_ && producer_->unacknowledged() == 0) {
    return absl::OkStatus();
  }
  char slot = 0;
  uint64_t id = 0;
  if (state_enabled() && uncommitted_ && !progress_.empty() &&
      pipeline_ != nullptr) {
    absl::StatusOr<std::pair<char, uint64_t>> written = WriteState(progress_);
    if (!written.ok()) {
      // Committing without the state would acknowledge undecided records.
      VIGIA_LOG(WARNING) << "kafka: checkpoint postponed, offsets not "
                            "committed: "
                         << written.status().message();
      return written.status();
    }
    std::tie(slot, id) = *written;
  }
  absl::Status flushed = producer_->Flush(timeout);
  if (flushed.ok() && extra_alert_sink_ != nullptr) {
    flushed = extra_alert_sink_->Flush();
  }
  kafka_probe_->SetUnacknowledged(producer_->unacknowledged());
  if (!flushed.ok()) {
    // Committing now could run ahead of an alert that is not yet durable.
    if (++checkpoint_failures_ <= 10 || checkpoint_failures_ % 100 == 0) {
      VIGIA_LOG(WARNING) << "kafka: checkpoint postponed, offsets not "
                            "committed: "
                         << flushed.message();
    }
    return flushed;
  }
  if (!uncommitted_ || progress_.empty()) return absl::OkStatus();
  std::string metadata;
  if (slot != 0) {
    metadata = StateMetadata(slot, id);
    if (metadata.empty()) {
      return absl::InternalError(
          "kafka: the state snapshot was acknowledged without an offset");
    }
  }
  uncommitted_ = false;
  return CommitOffsets(progress_, sync, metadata, slot);
}

void Daemon::BeginCheckpoint() {
  if (checkpoint_.has_value()) {
    if (SteadyClock::now() - checkpoint_->begun <
        absl::ToChronoMilliseconds(options_.checkpoint_timeout)) {
      return;  // Still waiting for its acknowledgements.
    }
    // As the blocking checkpoint does on a timeout: commit nothing, and
    // start over with everything handled since.
    if (++checkpoint_failures_ <= 10 || checkpoint_failures_ % 100 == 0) {
      VIGIA_LOG(WARNING) << "kafka: checkpoint postponed, offsets not "
                            "committed: outputs not acknowledged after "
                         << absl::FormatDuration(options_.checkpoint_timeout)
                         << " (" << producer_->unacknowledged()
                         << " unacknowledged)";
    }
    checkpoint_.reset();
    uncommitted_ = true;
  }
  if (!uncommitted_ || progress_.empty()) return;
  // The slot of the next snapshot depends on how the last commit ended.
  if (state_enabled() && commit_in_flight_) return;
  // The extra sinks (stdout, a notification queue) only flush locally.
  if (extra_alert_sink_ != nullptr) {
    if (absl::Status s = extra_alert_sink_->Flush(); !s.ok()) {
      VIGIA_LOG(WARNING) << "kafka: checkpoint postponed, offsets not "
                            "committed: "
                         << s.message();
      return;
    }
  }
  PendingCheckpoint pending{progress_, 0, SteadyClock::now()};
  if (state_enabled() && pipeline_ != nullptr) {
    absl::StatusOr<std::pair<char, uint64_t>> written = WriteState(progress_);
    if (!written.ok()) {
      if (++checkpoint_failures_ <= 10 || checkpoint_failures_ % 100 == 0) {
        VIGIA_LOG(WARNING) << "kafka: checkpoint postponed, offsets not "
                              "committed: "
                           << written.status().message();
      }
      return;
    }
    std::tie(pending.slot, pending.id) = *written;
  }
  pending.mark = producer_->Mark();
  checkpoint_ = std::move(pending);
  uncommitted_ = false;
}

absl::Status Daemon::FinishCheckpoint() {
  if (!checkpoint_.has_value()) return absl::OkStatus();
  if (absl::Status s = producer_->FatalStatus(); !s.ok()) return s;
  if (!producer_->AcknowledgedBefore(checkpoint_->mark)) {
    return absl::OkStatus();
  }
  const PendingCheckpoint done = std::move(*checkpoint_);
  checkpoint_.reset();
  std::string metadata;
  if (done.slot != 0) {
    metadata = StateMetadata(done.slot, done.id);
    if (metadata.empty()) {
      uncommitted_ = true;
      return absl::OkStatus();  // (cannot happen: acknowledged means placed)
    }
  }
  absl::Status s = CommitOffsets(done.offsets, false, metadata, done.slot);
  if (!s.ok()) uncommitted_ = true;
  return s;
}

absl::Status Daemon::CommitOffsets(
    const std::map<std::pair<std::string, int32_t>, int64_t>& offsets,
    bool sync, const std::string& metadata, char slot) {
  PartitionList list(
      rd_kafka_topic_partition_list_new(static_cast<int>(offsets.size())));
  for (const auto& [tp, next] : offsets) {
    rd_kafka_topic_partition_t* p = rd_kafka_topic_partition_list_add(
        list.get(), tp.first.c_str(), tp.second);
    p->offset = next;
    if (!metadata.empty()) {
      // Freed with the list (by librdkafka's free()).
      p->metadata = std::malloc(metadata.size());
      std::memcpy(p->metadata, metadata.data(), metadata.size());
      p->metadata_size = metadata.size();
    }
  }
  // Stored as well as committed, so that a configuration that turns
  // auto-commit back on still commits only checkpointed offsets.
  (void)rd_kafka_offsets_store(consumer_, list.get());
  const rd_kafka_resp_err_t err =
      rd_kafka_commit(consumer_, list.get(), sync ? 0 : 1);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    uncommitted_ = true;
    return absl::UnavailableError(
        absl::StrCat("kafka offset commit failed: ", rd_kafka_err2str(err)));
  }
  if (slot != 0) {
    if (sync) {
      committed_slot_ = slot;
      ++state_checkpoints_;
    } else {
      commit_in_flight_ = true;
      inflight_slot_ = slot;
    }
  }
  return absl::OkStatus();
}

std::map<std::string, int32_t> Daemon::TopicPartitions(
    const std::vector<std::string>& topics) {
  std::map<std::string, int32_t> counts;
  for (const std::string& topic : topics) {
    const rd_kafka_metadata_t* md = nullptr;
    rd_kafka_topic_t* rkt =
        rd_kafka_topic_new(producer_->raw(), topic.c_str(), nullptr);
    if (rkt == nullptr) continue;
    const rd_kafka_resp_err_t err = rd_kafka_metadata(
        producer_->raw(), 0, rkt, &md, ToMillis(kPrepareTopicsTimeout));
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR && md != nullptr) {
      for (int i = 0; i < md->topic_cnt; ++i) {
        if (topic != md->topics[i].topic) continue;
        if (md->topics[i].err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
          counts[topic] = 0;
        } else if (md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR) {
          counts[topic] = md->topics[i].partition_cnt;
        }
      }
    }
    if (md != nullptr) rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
  }
  return counts;
}

void Daemon::LearnInputPartitions() {
  const std::map<std::string, int32_t> counts =
      TopicPartitions({options_.posts_topic, options_.ads_topic});
  for (FeedKind feed : {FeedKind::kPost, FeedKind::kAd}) {
    const std::string& input =
        feed == FeedKind::kAd ? options_.ads_topic : options_.posts_topic;
    auto it = counts.find(input);
    if (it != counts.end() && it->second > 0) {
      input_partitions_[static_cast<int>(feed)] = it->second;
    } else {
      // Lanes then appear with their first record, and hold the watermark
      // only from then on.
      VIGIA_LOG(WARNING) << "kafka: the partitions of " << input
                         << " are not known yet; each repartitioned lane "
                            "holds the watermark from its first record";
    }
  }
}

absl::Status Daemon::CheckRepartitionTopics() {
  const std::vector<std::string> topics(repartition_topics_.begin(),
                                        repartition_topics_.end());
  const std::map<std::string, int32_t> counts = TopicPartitions(topics);
  for (int f = 0; f < kNumFeeds; ++f) {
    auto it = counts.find(repartition_topics_[f]);
    if (it != counts.end()) repartition_partitions_[f] = it->second;
  }
  std::vector<std::string> missing;
  for (const std::string& t : topics) {
    auto it = counts.find(t);
    // (Brokers not answering yet: the forwarded records will wait.)
    if (it != counts.end() && it->second == 0) missing.push_back(t);
  }
  if (missing.empty()) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "kafka.repartition is on but the repartition topic(s) ",
      absl::StrJoin(missing, ", "),
      " do not exist: create them (as many partitions as the input topics, "
      "see docs/kafka.md) or turn kafka.repartition off"));
}

absl::Status Daemon::CheckStateTopic() {
  const std::map<std::string, int32_t> counts =
      TopicPartitions({options_.state_topic});
  auto it = counts.find(options_.state_topic);
  // (Brokers not answering yet: the checkpoints will say so.)
  if (it == counts.end() || it->second != 0) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat(
      "the state topic ", options_.state_topic,
      " does not exist: create it (cleanup.policy=compact, see "
      "docs/state.md) or set kafka.state_topic: \"\" to run without state "
      "checkpoints"));
}

std::string Daemon::CurrentAssignment() const {
  std::vector<std::pair<std::string, int32_t>> partitions;
  const rd_kafka_topic_partition_list_t* a = assignment_.get();
  for (int i = 0; i < a->cnt; ++i) {
    partitions.emplace_back(a->elems[i].topic, a->elems[i].partition);
  }
  return AssignmentString(std::move(partitions));
}

absl::StatusOr<std::pair<char, uint64_t>> Daemon::WriteState(
    const std::map<std::pair<std::string, int32_t>, int64_t>& offsets) {
  const std::string& assignment = pipeline_assignment_;
  SnapshotWriter w;
  BeginSnapshot(w, config_.hash());
  if (absl::Status s = pipeline_->SaveState(w); !s.ok()) {
    return absl::Status(s.code(), absl::StrCat("cannot snapshot the "
                                               "detectors: ",
                                               s.message()));
  }
  // The daemon's own section: what the state reflects, checked on restore
  // against the offsets the group committed with it.
  // Version 2: then the targets each partition has carried (by the
  // records' keys), so another instance can take one partition's part.
  w.BeginSection(kKafkaStateSection, kKafkaStateVersion);
  w.Str(assignment);
  w.U64(offsets.size());
  for (const auto& [tp, next] : offsets) {
    w.Str(tp.first);
    w.I32(tp.second);
    w.I64(next);
  }
  w.U64(partition_targets_.size());
  for (const auto& [tp, codes] : partition_targets_) {
    w.Str(tp.first);
    w.I32(tp.second);
    w.U64(codes.size());
    for (uint16_t code : codes) w.U32(code);
  }
  // Version 3: then, with kafka.repartition, per lane (repartition topic
  // and partition, input partition) the input offset the next record must
  // reach: the forwarders' re-sends the state already reflects are skipped
  // after a restore too.
  w.U64(lane_next_.size());
  for (const auto& [lane, next] : lane_next_) {
    w.Str(std::get<0>(lane));
    w.I32(std::get<1>(lane));
    w.I32(std::get<2>(lane));
    w.I64(next);
  }
  w.EndSection();
  const std::string bytes = FinishSnapshot(w);
  // Never the slot the group's offsets name now: that snapshot must stay
  // whole until a commit names this one.
  const char slot = committed_slot_ == 'A' ? 'B' : 'A';
  const uint64_t id = state_rng_() ^ ++state_sequence_;
  std::vector<OutMessage> records = StateRecords(
      options_.state_topic, 0, StateKeyPrefix(options_.group_id, assignment),
      slot, id, assignment, bytes);
  state_first_partition_ = -1;
  state_first_offset_ = -1;
  bool first = true;
  for (OutMessage& m : records) {
    const uint64_t pid = producer_->Produce(std::move(m));
    if (first) state_first_message_ = pid;
    first = false;
  }
  kafka_probe_->OnStateCheckpoint(static_cast<int64_t>(bytes.size()));
  state_snapshot_bytes_.store(static_cast<int64_t>(bytes.size()));
  return std::make_pair(slot, id);
}

std::string Daemon::StateMetadata(char slot, uint64_t id) const {
  if (state_first_offset_ < 0) return std::string();
  return FormatStateRef(
      StateRef{slot, id, state_first_partition_, state_first_offset_});
}

void Daemon::RestoreAssignmentState() {
  const std::string& assignment = pipeline_assignment_;
  // The assigned partitions with a commit, by the snapshot their commit
  // metadata names. A commit names the snapshot of the instance that held
  // the partition last, so after a rebalance one assignment may name
  // several (docs/state.md, "State follows partitions").
  using TopicPartition = std::pair<std::string, int32_t>;
  std::map<std::string, std::pair<StateRef, std::vector<TopicPartition>>> named;
  std::vector<TopicPartition> unnamed;
  int committed = 0;
  const rd_kafka_topic_partition_list_t* a = assignment_.get();
  for (int i = 0; i < a->cnt; ++i) {
    const TopicPartition key{a->elems[i].topic, a->elems[i].partition};
    auto offset = expected_.find(key);
    auto meta = committed_meta_.find(key);
    if (offset == expected_.end() || meta == committed_meta_.end()) continue;
    // Every partition with a commit is committed again at each
    // checkpoint, with the new snapshot's name, even before it delivers.
    progress_[key] = std::max(progress_[key], offset->second);
    ++committed;
    std::optional<StateRef> r = ParseStateRef(meta->second);
    if (!r.has_value()) {
      unnamed.push_back(key);
      continue;
    }
    auto& entry = named[FormatStateRef(*r)];
    entry.first = *r;
    entry.second.push_back(key);
  }
  if (committed == 0) {
    VIGIA_LOG(INFO) << "kafka: no checkpoint for " << assignment
                    << " yet; the detectors start empty";
    return;
  }
  const auto fail = [&](std::string_view reason,
                        const std::vector<TopicPartition>& partitions,
                        absl::string_view message) {
    ++state_restore_failures_;
    kafka_probe_->OnStateRestore(reason);
    VIGIA_LOG(WARNING) << "kafka: detector state of "
                       << AssignmentString(partitions) << " not restored ("
                       << reason << "): " << message
                       << "; its targets start empty, from the committed "
                          "offsets";
  };
  if (!unnamed.empty()) {
    fail("missing", unnamed,
         "the committed offsets name no snapshot (committed without a state "
         "topic, or by an older vigia)");
  }

  // Each snapshot named, read and checked; the partitions whose commit
  // names it must be committed exactly where it reflects them.
  struct Loaded {
    StateRef ref;
    std::vector<TopicPartition> partitions;
    std::string assignment;  // what the snapshot covers
    std::string bytes;
    ParsedSnapshot parsed;
    uint32_t kafka_version = 0;
    // Per topic, each target's partition (the lowest that carried it).
    std::map<std::string, std::map<uint16_t, int32_t>, std::less<>> home;
    std::map<TopicPartition, std::set<uint16_t>> targets;
    // Per lane of a partition that names it: the next input offset.
    std::vector<std::pair<std::tuple<const char*, int32_t, int32_t>, int64_t>>
        lanes;
  };
  std::vector<std::unique_ptr<Loaded>> loaded;
  const auto started = SteadyClock::now();
  for (auto& [name, entry] : named) {
    const StateRef& ref = entry.first;
    const std::vector<TopicPartition>& partitions = entry.second;
    absl::StatusOr<StoredState> stored = ReadStateSnapshot(
        options_.brokers, options_.kafka_settings, options_.state_topic,
        absl::StrCat(options_.group_id, "/"), ref, options_.restore_timeout);
    if (!stored.ok()) {
      fail(absl::IsNotFound(stored.status())   ? "missing"
           : absl::IsDataLoss(stored.status()) ? "corrupt"
                                               : "unreadable",
           partitions, stored.status().message());
      continue;
    }
    auto l = std::make_unique<Loaded>();
    l->ref = ref;
    l->partitions = partitions;
    l->assignment = std::move(stored->assignment);
    l->bytes = std::move(stored->bytes);
    absl::StatusOr<ParsedSnapshot> parsed = ParseSnapshot(l->bytes);
    if (!parsed.ok()) {
      fail(absl::IsFailedPrecondition(parsed.status()) ? "version" : "corrupt",
           partitions, parsed.status().message());
      continue;
    }
    l->parsed = std::move(*parsed);
    if (l->parsed.config_hash != config_.hash()) {
      fail("config", partitions,
           absl::StrCat("the snapshot was written under config ",
                        l->parsed.config_hash, ", this is ", config_.hash()));
      continue;
    }
    const SnapshotSection* section = l->parsed.Find(kKafkaStateSection);
    if (section == nullptr) {
      fail("corrupt", partitions, "the snapshot has no kafka section");
      continue;
    }
    if (absl::Status s = CheckSectionVersion(*section, kKafkaStateVersion);
        !s.ok()) {
      fail("version", partitions, s.message());
      continue;
    }
    l->kafka_version = section->version;
    const std::set<TopicPartition> mine(partitions.begin(), partitions.end());
    SnapshotReader r = SectionReader(*section);
    (void)r.StrView();
    const uint64_t n = r.U64();
    std::string mismatch;
    for (uint64_t i = 0; i < n && r.ok(); ++i) {
      const std::string topic(r.StrView());
      const int32_t partition =
          static_cast<int32_t>(r.Int(0, INT32_MAX, "partition"));
      const int64_t next = r.Int(0, INT64_MAX / 2, "offset");
      if (!r.ok() || !mine.contains({topic, partition})) continue;
      auto it = expected_.find({topic, partition});
      if (mismatch.empty() && (it == expected_.end() || it->second != next)) {
        mismatch = absl::StrCat(topic, "/", partition, " is committed at ",
                                it == expected_.end() ? -1 : it->second,
                                ", the snapshot reflects ", next);
      }
    }
    if (l->kafka_version >= 2) {
      const size_t carried = r.Count(4);
      for (size_t i = 0; i < carried && r.ok(); ++i) {
        TopicPartition tp{std::string(r.StrView()), 0};
        tp.second = static_cast<int32_t>(r.Int(0, INT32_MAX, "partition"));
        const size_t codes = r.Count(1);
        for (size_t c = 0; c < codes && r.ok(); ++c) {
          const uint32_t code = r.U32();
          if (r.ok() &&
              (code > 0xffff || !IsCountryCode(static_cast<uint16_t>(code)))) {
            r.Fail("malformed target code");
          }
          if (!r.ok()) break;
          const uint16_t packed = static_cast<uint16_t>(code);
          auto [home, inserted] =
              l->home[tp.first].try_emplace(packed, tp.second);
          if (!inserted) home->second = std::min(home->second, tp.second);
          l->targets[tp].insert(packed);
        }
      }
    }
    if (l->kafka_version >= 3) {
      const size_t lanes = r.Count(4);
      for (size_t i = 0; i < lanes && r.ok(); ++i) {
        const std::string topic(r.StrView());
        const int32_t partition =
            static_cast<int32_t>(r.Int(0, INT32_MAX, "partition"));
        const int32_t input =
            static_cast<int32_t>(r.Int(0, INT32_MAX, "input partition"));
        const int64_t next = r.Int(0, INT64_MAX / 2, "lane offset");
        // Lanes of the partitions another instance takes are its to read.
        if (!r.ok() || !mine.contains({topic, partition}) ||
            !IsRepartitionTopic(TopicView(topic.c_str())) ||
            TopicView(topic.c_str()) != topic) {
          continue;
        }
        l->lanes.push_back(
            {{TopicView(topic.c_str()).data(), partition, input}, next});
      }
    }
    if (absl::Status s = r.Finish(); !s.ok()) {
      fail("corrupt", partitions, s.message());
      continue;
    }
    if (!mismatch.empty()) {
      fail("offsets", partitions, mismatch);
      continue;
    }
    loaded.push_back(std::move(l));
  }
  if (loaded.empty()) return;

  // One snapshot of exactly this assignment: restored whole, every
  // detector included (a single instance, or one that got its partitions
  // back). Otherwise each snapshot gives the partitions that name it, and
  // the targets those carried.
  // Read and checked: what follows decodes into the pipeline.
  const auto read = SteadyClock::now();
  const bool whole = loaded.size() == 1 && unnamed.empty() &&
                     loaded[0]->assignment == assignment;
  std::vector<std::string> started_empty;
  absl::Status restored;
  std::vector<const Loaded*> used;
  if (whole) {
    restored = pipeline_->RestoreState(loaded[0]->parsed);
    used.push_back(loaded[0].get());
  } else {
    std::vector<Pipeline::StatePart> parts;
    for (const std::unique_ptr<Loaded>& l : loaded) {
      if (l->kafka_version < 2) {
        fail("assignment", l->partitions,
             absl::StrCat("snapshot ", FormatStateRef(l->ref), " covers ",
                          l->assignment,
                          " and was written by an older vigia, without the "
                          "targets of each partition, so it cannot be split"));
        continue;
      }
      used.push_back(l.get());
      Pipeline::StatePart part;
      part.snapshot = &l->parsed;
      const Loaded* lp = l.get();
      part.keep_source = [lp](std::string_view topic, int32_t partition) {
        for (const TopicPartition& tp : lp->partitions) {
          if (tp.first == topic && tp.second == partition) return true;
        }
        return false;
      };
      part.keep_target = [this, lp](FeedSet feeds, CountryCode target) {
        // A detector's state of a target follows the partition its
        // records come from: the ads topic's for a detector of ads only,
        // the posts topic's otherwise (their by-target topics when
        // repartitioning: those are the partitions the pipeline reads).
        const FeedKind feed =
            feeds == FeedBit(FeedKind::kAd) ? FeedKind::kAd : FeedKind::kPost;
        const std::string& topic =
            options_.repartition
                ? repartition_topics_[static_cast<int>(feed)]
                : (feed == FeedKind::kAd ? options_.ads_topic
                                         : options_.posts_topic);
        auto homes = lp->home.find(topic);
        if (homes == lp->home.end()) return false;
        auto home = homes->second.find(target.packed());
        if (home == homes->second.end()) return false;
        for (const TopicPartition& tp : lp->partitions) {
          if (tp.first == topic && tp.second == home->second) return true;
        }
        return false;
      };
      parts.push_back(std::move(part));
    }
    if (parts.empty()) return;
    restored = pipeline_->RestoreParts(parts, &started_empty);
  }
  if (!restored.ok()) {
    std::vector<TopicPartition> all;
    for (const Loaded* l : used) {
      all.insert(all.end(), l->partitions.begin(), l->partitions.end());
    }
    fail(absl::IsFailedPrecondition(restored) ? "version" : "corrupt", all,
         restored.message());
    // A restore may have half-filled it: a fresh one.
    pipeline_.reset();
    EnsurePipeline();
    return;
  }
  // The restored detectors carry their earlier cumulative counts (cap
  // hits): the metrics count on from them, not again from zero.
  pipeline_probe_->Rebase(TakeSnapshot(*pipeline_));
  committed_slot_ = 0;
  for (const Loaded* l : used) {
    // The slot of a snapshot under this assignment's keys must not be
    // overwritten before a commit names the next.
    if (l->assignment == assignment) committed_slot_ = l->ref.slot;
    for (const TopicPartition& tp : l->partitions) {
      auto it = l->targets.find(tp);
      if (it != l->targets.end()) partition_targets_[tp] = it->second;
    }
    for (const auto& [lane, next] : l->lanes) lane_next_[lane] = next;
    ++state_restores_;
    state_restored_partitions_ += static_cast<int64_t>(l->partitions.size());
    kafka_probe_->OnStateRestore("");
    kafka_probe_->OnPartitionsRestored(
        static_cast<int64_t>(l->partitions.size()));
    VIGIA_LOG(INFO) << "kafka: detector state of "
                    << AssignmentString(l->partitions) << " restored from "
                    << FormatStateRef(l->ref) << " (" << l->bytes.size()
                    << " bytes, covering " << l->assignment << ")";
  }
  if (!started_empty.empty()) {
    ++state_restore_failures_;
    kafka_probe_->OnStateRestore("unsplittable");
    VIGIA_LOG(WARNING) << "kafka: " << absl::StrJoin(started_empty, ", ")
                       << " cannot split or merge state by target and "
                          "start empty: this assignment's state came from "
                       << used.size() << " snapshot(s) not of exactly "
                       << assignment;
  }
  const auto done = SteadyClock::now();
  int64_t bytes = 0;
  for (const Loaded* l : used) bytes += static_cast<int64_t>(l->bytes.size());
  {
    absl::MutexLock lock(&restore_mu_);
    last_restore_.bytes = bytes;
    last_restore_.read = absl::FromChrono(read - started);
    last_restore_.decode = absl::FromChrono(done - read);
  }
  VIGIA_LOG(INFO) << "kafka: " << assignment << " goes on from its committed "
                  << "offsets (state read in "
                  << absl::FormatDuration(absl::FromChrono(read - started))
                  << ", decoded in "
                  << absl::FormatDuration(absl::FromChrono(done - read)) << ")";
}

Daemon::RestoreFigures Daemon::last_restore() const {
  absl::MutexLock lock(&restore_mu_);
  return last_restore_;
}

void Daemon::UpdateMetrics() {
  for (FeedKind feed : {FeedKind::kPost, FeedKind::kAd}) {
    const int f = static_cast<int>(feed);
    const std::string& input =
        feed == FeedKind::kAd ? options_.ads_topic : options_.posts_topic;
    if (miskeyed_pending_[f] > 0) {
      kafka_probe_->OnMiskeyed(input, miskeyed_pending_[f]);
    }
    if (repartitioned_pending_[f] > 0) {
      kafka_probe_->OnRepartitioned(input, repartitioned_pending_[f]);
    }
    if (duplicates_pending_[f] > 0) {
      kafka_probe_->OnRepartitionDuplicates(repartition_topics_[f],
                                            duplicates_pending_[f]);
    }
  }
  miskeyed_pending_.fill(0);
  repartitioned_pending_.fill(0);
  duplicates_pending_.fill(0);
  if (pipeline_ != nullptr) {
    pipeline_probe_->Update(TakeSnapshot(*pipeline_), clock_->Now());
  }
  kafka_probe_->SetUnacknowledged(producer_->unacknowledged());
}

void Daemon::ApplyBackpressure() {
  const int64_t waiting = producer_->unacknowledged();
  const bool pause = !paused_ && waiting > options_.max_unacknowledged;
  const bool resume = paused_ && waiting <= options_.max_unacknowledged / 2;
  if (!pause && !resume) return;
  rd_kafka_topic_partition_list_t* assignment = assignment_.get();
  if (pause) {
    rd_kafka_pause_partitions(consumer_, assignment);
    VIGIA_LOG(WARNING) << "kafka: " << waiting
                       << " outputs await acknowledgement; pausing "
                          "consumption";
  } else {
    rd_kafka_resume_partitions(consumer_, assignment);
    // Those paused for alignment stay paused (AlignPartitions).
    if (!aligned_.empty()) {
      PartitionList list(
          rd_kafka_topic_partition_list_new(static_cast<int>(aligned_.size())));
      for (const auto& [tp, since] : aligned_) {
        rd_kafka_topic_partition_list_add(list.get(), tp.first.c_str(),
                                          tp.second);
      }
      rd_kafka_pause_partitions(consumer_, list.get());
    }
    VIGIA_LOG(INFO) << "kafka: outputs acknowledged (" << waiting
                    << " still waiting); resuming consumption";
  }
  paused_ = pause;
  kafka_probe_->SetPaused(paused_);
  // The count that decided, so the two gauges agree at the switch.
  kafka_probe_->SetUnacknowledged(waiting);
}

absl::Status Daemon::Run(const std::atomic<bool>& stop) {
  PartitionList topics(rd_kafka_topic_partition_list_new(4));
  rd_kafka_topic_partition_list_add(topics.get(), options_.posts_topic.c_str(),
                                    RD_KAFKA_PARTITION_UA);
  rd_kafka_topic_partition_list_add(topics.get(), options_.ads_topic.c_str(),
                                    RD_KAFKA_PARTITION_UA);
  // One consumer for both stages: the input topics' records are forwarded,
  // the repartition topics' processed, and one checkpoint commits both.
  if (options_.repartition) {
    for (const std::string& t : repartition_topics_) {
      rd_kafka_topic_partition_list_add(topics.get(), t.c_str(),
                                        RD_KAFKA_PARTITION_UA);
    }
  }
  if (rd_kafka_resp_err_t err = rd_kafka_subscribe(consumer_, topics.get())) {
    return absl::UnavailableError(
        absl::StrCat("kafka subscribe failed: ", rd_kafka_err2str(err)));
  }

  // Look the output topics up before the first alert needs them (see
  // Producer::PrepareTopics); bounded, and only a warning if the brokers are
  // not reachable yet.
  std::vector<std::string> outputs = {options_.alerts_topic,
                                      options_.dlq_topic};
  if (state_enabled()) outputs.push_back(options_.state_topic);
  if (options_.repartition) {
    outputs.insert(outputs.end(), repartition_topics_.begin(),
                   repartition_topics_.end());
  }
  if (absl::Status s = producer_->PrepareTopics(outputs, kPrepareTopicsTimeout);
      !s.ok()) {
    VIGIA_LOG(WARNING) << "kafka: " << s.message()
                       << "; looked up again on the first output";
  }
  // A state topic the brokers do not have would take every checkpoint and
  // never acknowledge it: nothing would ever be committed. Said at once.
  if (state_enabled()) {
    if (absl::Status s = CheckStateTopic(); !s.ok()) {
      VIGIA_LOG(ERROR) << "kafka: " << s.message();
      Close();
      return s;
    }
  }

  if (options_.repartition) {
    if (absl::Status s = CheckRepartitionTopics(); !s.ok()) {
      VIGIA_LOG(ERROR) << "kafka: " << s.message();
      Close();
      return s;
    }
    LearnInputPartitions();
  }

  absl::Status status;
  auto last_checkpoint = SteadyClock::now();
  auto last_metrics = SteadyClock::now();
  const auto checkpoint_every =
      absl::ToChronoMilliseconds(options_.checkpoint_interval);
  const auto metrics_every =
      absl::ToChronoMilliseconds(options_.metrics_interval);
  std::vector<Fetched> batch;
  batch.reserve(options_.max_batch);

  while (!stop.load() && !failed_) {
    ApplyBackpressure();
    batch.clear();
    int timeout_ms = ToMillis(options_.poll_timeout);
    SteadyClock::time_point dequeued;
    while (static_cast<int>(batch.size()) < options_.max_batch) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer_, timeout_ms);
      if (m == nullptr) break;
      timeout_ms = 0;
      // The batch's records are taken within microseconds of the first: one
      // clock read stands for all of them.
      if (batch.empty()) dequeued = SteadyClock::now();
      if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR &&
          m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        VIGIA_LOG(WARNING) << "kafka consume: " << rd_kafka_message_errstr(m);
        kafka_probe_->OnClientError("consumer", rd_kafka_err2name(m->err));
        rd_kafka_message_destroy(m);
        continue;
      }
      // An end of log stays in the batch, in its place after the
      // partition's records (HandleEndOfLog).
      batch.push_back({m, generation_, dequeued});
    }
    batch_clock_.Refresh();

    KeepBackloggedSourcesActive(batch);
    if (batch.empty()) {
      if (pipeline_ != nullptr) status = pipeline_->Tick();
      // Every record fetched before the last statistics has been handled.
      if (!reset_past_.empty()) SkipDeletedRecords();
    }
    for (const Fetched& f : batch) {
      // A rebalance inside this batch's polls moved the assignment on:
      // records fetched before it belong to the old one and are left for
      // whoever owns their partition now (from the last commit).
      bool parked = false;
      if (status.ok() && f.generation == generation_) {
        status = HandleFetched(f, &parked);
      }
      if (!parked) rd_kafka_message_destroy(f.message);
    }
    if (!status.ok()) break;
    MarkEnds();
    AlignPartitions();
    if (status = DrainParked(); !status.ok()) break;
    producer_->Poll();

    const auto now = SteadyClock::now();
    if (now - last_checkpoint >= checkpoint_every) {
      last_checkpoint = now;
      BeginCheckpoint();
    }
    // Only a dead producer is fatal; anything else is retried next time.
    if (absl::Status s = FinishCheckpoint(); absl::IsInternal(s)) status = s;
    if (now - last_metrics >= metrics_every) {
      last_metrics = now;
      UpdateMetrics();
    }
    if (!status.ok()) break;
  }

  if (!status.ok() || failed_) {
    failed_ = true;
    if (status.ok()) status = absl::InternalError("kafka client fatal error");
    VIGIA_LOG(ERROR) << "kafka: stopping on error, nothing more committed: "
                     << status.message();
    UpdateMetrics();
    Close();
    return status;
  }

  VIGIA_LOG(INFO) << "kafka: stopping; flushing outputs and committing";
  absl::Status final_checkpoint = Checkpoint(options_.shutdown_timeout, true);
  UpdateMetrics();
  Close();
  if (!final_checkpoint.ok()) {
    return absl::Status(
        final_checkpoint.code(),
        absl::StrCat("kafka: stopped without a final commit (",
                     final_checkpoint.message(),
                     "); records after the last commit will be re-read"));
  }
  VIGIA_LOG(INFO) << "kafka: stopped cleanly after " << records_.load()
                  << " records";
  return absl::OkStatus();
}

void Daemon::Close() {
  if (consumer_ == nullptr) return;
  // Leave the group through a queue we serve ourselves, so a dead
  // coordinator cannot hold the shutdown past its bound.
  closing_ = true;
  UpdateReadiness();
  rd_kafka_queue_t* queue = rd_kafka_queue_new(consumer_);
  if (rd_kafka_error_t* e = rd_kafka_consumer_close_queue(consumer_, queue)) {
    VIGIA_LOG(WARNING) << "kafka close: " << rd_kafka_error_string(e);
    rd_kafka_error_destroy(e);
  } else {
    const auto deadline = SteadyClock::now() +
                          absl::ToChronoMilliseconds(options_.shutdown_timeout);
    while (!rd_kafka_consumer_closed(consumer_) &&
           SteadyClock::now() < deadline) {
      rd_kafka_event_t* ev = rd_kafka_queue_poll(queue, 100);
      if (ev == nullptr) continue;
      // The revocation and the final commit's result arrive here as
      // events, not through the callbacks.
      if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_REBALANCE) {
        HandleRebalance(rd_kafka_event_error(ev),
                        rd_kafka_event_topic_partition_list(ev));
      } else if (rd_kafka_event_type(ev) == RD_KAFKA_EVENT_OFFSET_COMMIT) {
        OnCommit(consumer_, rd_kafka_event_error(ev),
                 const_cast<rd_kafka_topic_partition_list_t*>(
                     rd_kafka_event_topic_partition_list(ev)),
                 this);
      }
      rd_kafka_event_destroy(ev);
    }
  }
  rd_kafka_queue_destroy(queue);
  DropParked();
  rd_kafka_destroy_flags(consumer_, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
  consumer_ = nullptr;
  assigned_.store(0);
  DropPipeline();
}

absl::Status RunDaemon(const Config& config, const DaemonOptions& options,
                       const std::atomic<bool>& stop,
                       AlertSink* extra_alert_sink) {
  absl::StatusOr<std::unique_ptr<Daemon>> daemon =
      Daemon::Create(config, options, extra_alert_sink);
  if (!daemon.ok()) return daemon.status();
  return (*daemon)->Run(stop);
}

}  // namespace vigia
