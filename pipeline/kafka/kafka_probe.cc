#include "pipeline/kafka/kafka_probe.h"

#include <simdjson.h>

#include <set>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "pipeline/core/strings.h"

namespace vigia {
namespace {

int64_t IntOr(simdjson::dom::element e, std::string_view key,
              int64_t fallback) {
  int64_t v;
  if (e[key].get_int64().get(v) != simdjson::SUCCESS) return fallback;
  return v;
}

}  // namespace

absl::StatusOr<KafkaClientStats> ParseKafkaStats(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto err = parser.parse(json.data(), json.size()).get(doc)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "kafka statistics are not JSON: ", simdjson::error_message(err)));
  }
  KafkaClientStats stats;
  std::string_view type;
  if (doc["type"].get_string().get(type) != simdjson::SUCCESS) {
    return absl::InvalidArgumentError("kafka statistics have no \"type\"");
  }
  stats.type = std::string(type);
  stats.queued_messages = IntOr(doc, "msg_cnt", 0);

  // Bootstrap and internal entries have no node id; a broker can appear
  // twice (its own entry and the group coordinator's), so count ids.
  std::set<int64_t> known, up;
  simdjson::dom::object brokers;
  if (doc["brokers"].get_object().get(brokers) == simdjson::SUCCESS) {
    for (auto [name, broker] : brokers) {
      const int64_t id = IntOr(broker, "nodeid", -1);
      if (id < 0) continue;
      known.insert(id);
      std::string_view state;
      if (broker["state"].get_string().get(state) == simdjson::SUCCESS &&
          state == "UP") {
        up.insert(id);
      }
    }
    stats.brokers = static_cast<int>(known.size());
    stats.brokers_up = static_cast<int>(up.size());
  }

  simdjson::dom::object topics;
  if (doc["topics"].get_object().get(topics) == simdjson::SUCCESS) {
    for (auto [topic_name, topic] : topics) {
      simdjson::dom::object partitions;
      if (topic["partitions"].get_object().get(partitions) !=
          simdjson::SUCCESS) {
        continue;
      }
      for (auto [partition_name, partition] : partitions) {
        const int64_t id = IntOr(partition, "partition", -1);
        // Partition -1 is librdkafka's holder for unassigned messages.
        if (id < 0) continue;
        bool desired = false;
        if (partition["desired"].get_bool().get(desired) == simdjson::SUCCESS &&
            desired) {
          const int64_t leader = IntOr(partition, "leader", -1);
          std::string_view fetch_state;
          if (partition["fetch_state"].get_string().get(fetch_state) !=
              simdjson::SUCCESS) {
            fetch_state = "";
          }
          if (leader < 0 || !up.contains(leader) || fetch_state != "active") {
            stats.stalled.emplace_back(std::string(topic_name),
                                       static_cast<int32_t>(id));
          }
        }
        const int64_t log_start = IntOr(partition, "lo_offset", -1);
        const int64_t next_fetch = IntOr(partition, "next_offset", -1);
        if (log_start >= 0 && next_fetch >= 0) {
          stats.positions.push_back(KafkaPartitionPosition{
              std::string(topic_name), static_cast<int32_t>(id), log_start,
              next_fetch});
        }
        const int64_t lag = IntOr(partition, "consumer_lag", -1);
        if (lag < 0) continue;
        stats.lags.push_back(KafkaPartitionLag{std::string(topic_name),
                                               static_cast<int32_t>(id), lag});
      }
    }
  }

  simdjson::dom::element cgrp;
  if (doc["cgrp"].get(cgrp) == simdjson::SUCCESS) {
    stats.rebalances = IntOr(cgrp, "rebalance_cnt", -1);
    stats.assigned = IntOr(cgrp, "assignment_size", -1);
  }
  return stats;
}

KafkaProbe::KafkaProbe(prometheus::Registry& registry)
    : lag_(prometheus::BuildGauge()
               .Name("vigia_kafka_consumer_lag_messages")
               .Help("Messages between the group's committed offset and "
                     "the end of each assigned partition.")
               .Register(registry)),
      rebalances_(prometheus::BuildCounter()
                      .Name("vigia_kafka_rebalances_total")
                      .Help("Consumer group rebalances this instance took "
                            "part in.")
                      .Register(registry)),
      assigned_(prometheus::BuildGauge()
                    .Name("vigia_kafka_assigned_partitions")
                    .Help("Partitions currently assigned to this instance.")
                    .Register(registry)),
      brokers_up_(prometheus::BuildGauge()
                      .Name("vigia_kafka_brokers_up")
                      .Help("Brokers a client is connected to, by client.")
                      .Register(registry)),
      queue_(prometheus::BuildGauge()
                 .Name("vigia_kafka_producer_queue_messages")
                 .Help("Messages waiting in the producer's queues.")
                 .Register(registry)),
      client_errors_(prometheus::BuildCounter()
                         .Name("vigia_kafka_client_errors_total")
                         .Help("Errors librdkafka reported (broker down, "
                               "transport, authentication...), by client and "
                               "error name.")
                         .Register(registry)),
      commits_(prometheus::BuildCounter()
                   .Name("vigia_kafka_commits_total")
                   .Help("Consumer offset commits, by result.")
                   .Register(registry)),
      delivery_errors_(prometheus::BuildCounter()
                           .Name("vigia_kafka_delivery_errors_total")
                           .Help("Failed deliveries of vigia's outputs, by "
                                 "output; each is retried.")
                           .Register(registry)),
      skipped_(prometheus::BuildCounter()
                   .Name("vigia_kafka_records_skipped_total")
                   .Help("Records never read, by topic: deleted by the "
                         "brokers (retention) before the consumer reached "
                         "them, so the offset was reset past them.")
                   .Register(registry)),
      miskeyed_(prometheus::BuildCounter()
                    .Name("vigia_kafka_miskeyed_records_total")
                    .Help("Records of an input topic whose key is not their "
                          "target, by topic. Without kafka.repartition, "
                          "scale-out splits their targets.")
                    .Register(registry)),
      repartitioned_(prometheus::BuildCounter()
                         .Name("vigia_kafka_repartitioned_records_total")
                         .Help("Records of an input topic forwarded to its "
                               "repartition topic keyed by target, by input "
                               "topic.")
                         .Register(registry)),
      repartition_duplicates_(
          prometheus::BuildCounter()
              .Name("vigia_kafka_repartition_duplicates_total")
              .Help("Records read from a repartition topic that were "
                    "already processed (forwarded again after a crash) "
                    "and skipped, by repartition topic.")
              .Register(registry)),
      unacknowledged_(prometheus::BuildGauge()
                          .Name("vigia_kafka_unacknowledged_messages")
                          .Help("Outputs produced and not yet acknowledged "
                                "by the brokers.")
                          .Register(registry)),
      paused_(prometheus::BuildGauge()
                  .Name("vigia_kafka_consumer_paused")
                  .Help("1 while consumption is paused because too many "
                        "outputs wait for acknowledgement.")
                  .Register(registry)),
      alignment_pauses_(prometheus::BuildCounter()
                            .Name("vigia_kafka_alignment_pauses_total")
                            .Help("Partitions paused for running more than "
                                  "the alignment drift ahead of their "
                                  "feed's watermark.")
                            .Register(registry)),
      aligned_(prometheus::BuildGauge()
                   .Name("vigia_kafka_alignment_paused_partitions")
                   .Help("Partitions paused now for running ahead of their "
                         "feed's watermark.")
                   .Register(registry)),
      state_checkpoints_(prometheus::BuildCounter()
                             .Name("vigia_state_checkpoints_total")
                             .Help("Detector state snapshots written to the "
                                   "state topic.")
                             .Register(registry)),
      state_bytes_(prometheus::BuildGauge()
                       .Name("vigia_state_snapshot_bytes")
                       .Help("Size of the last detector state snapshot.")
                       .Register(registry)),
      state_restores_(prometheus::BuildCounter()
                          .Name("vigia_state_restores_total")
                          .Help("Snapshots an assignment's detector state "
                                "was restored from (one per snapshot its "
                                "partitions' commits name).")
                          .Register(registry)),
      state_restore_failures_(
          prometheus::BuildCounter()
              .Name("vigia_state_restore_failures_total")
              .Help("Snapshots (or detectors) whose state an assignment "
                    "could not use and started empty, by reason.")
              .Register(registry)),
      state_restored_partitions_(
          prometheus::BuildCounter()
              .Name("vigia_state_restored_partitions_total")
              .Help("Assigned partitions whose detector state was restored, "
                    "from this instance's snapshot or another's.")
              .Register(registry)) {
  state_checkpoints_.Add({});
  state_bytes_.Add({});
  state_restores_.Add({});
  state_restored_partitions_.Add({});
  for (const char* reason :
       {"missing", "corrupt", "config", "version", "assignment", "offsets",
        "unreadable", "unsplittable"}) {
    state_restore_failures_.Add({{"reason", reason}});
  }
  rebalances_total_ = &rebalances_.Add({});
  assigned_partitions_ = &assigned_.Add({});
  queue_messages_ = &queue_.Add({});
  unacknowledged_messages_ = &unacknowledged_.Add({});
  paused_gauge_ = &paused_.Add({});
  alignment_pauses_total_ = &alignment_pauses_.Add({});
  aligned_partitions_ = &aligned_.Add({});
  commits_.Add({{"result", "ok"}});
  commits_.Add({{"result", "error"}});
  DeliveryCounter("alerts");
  DeliveryCounter("dead_letters");
}

void KafkaProbe::OnStats(const KafkaClientStats& stats) {
  brokers_up_.Add({{"client", stats.type}})
      .Set(static_cast<double>(stats.brokers_up));
  if (stats.type == "producer") {
    queue_messages_->Set(static_cast<double>(stats.queued_messages));
    return;
  }
  if (stats.rebalances >= 0) {
    if (stats.rebalances > last_rebalances_) {
      rebalances_total_->Increment(
          static_cast<double>(stats.rebalances - last_rebalances_));
    }
    last_rebalances_ = stats.rebalances;
  }
  if (stats.assigned >= 0) {
    assigned_partitions_->Set(static_cast<double>(stats.assigned));
  }
  // Partitions no longer reported (revoked) lose their series, so a lag
  // does not linger on an instance that gave the partition away.
  std::map<std::pair<std::string, int32_t>, prometheus::Gauge*> seen;
  for (const KafkaPartitionLag& p : stats.lags) {
    auto key = std::make_pair(p.topic, p.partition);
    auto it = lag_gauges_.find(key);
    prometheus::Gauge* g =
        it != lag_gauges_.end()
            ? it->second
            : &lag_.Add({{"topic", p.topic},
                         {"partition", absl::StrCat(p.partition)}});
    g->Set(static_cast<double>(p.lag));
    seen.emplace(std::move(key), g);
  }
  for (auto& [key, gauge] : lag_gauges_) {
    if (!seen.contains(key)) lag_.Remove(gauge);
  }
  lag_gauges_ = std::move(seen);
}

void KafkaProbe::OnClientError(std::string_view client,
                               std::string_view error) {
  client_errors_
      .Add({{"client", std::string(client)}, {"error", std::string(error)}})
      .Increment();
}

void KafkaProbe::OnCommit(bool ok) {
  commits_.Add({{"result", ok ? "ok" : "error"}}).Increment();
}

prometheus::Counter& KafkaProbe::DeliveryCounter(std::string_view output) {
  auto it = delivery_counters_.find(output);
  if (it == delivery_counters_.end()) {
    it = delivery_counters_
             .emplace(std::string(output),
                      &delivery_errors_.Add({{"output", std::string(output)}}))
             .first;
  }
  return *it->second;
}

void KafkaProbe::OnDeliveryError(std::string_view output) {
  DeliveryCounter(output).Increment();
}

void KafkaProbe::OnSkipped(std::string_view topic, int64_t n) {
  skipped_.Add({{"topic", std::string(topic)}})
      .Increment(static_cast<double>(n));
}

void KafkaProbe::OnMiskeyed(std::string_view topic, int64_t n) {
  miskeyed_.Add({{"topic", std::string(topic)}})
      .Increment(static_cast<double>(n));
}

void KafkaProbe::OnRepartitioned(std::string_view topic, int64_t n) {
  repartitioned_.Add({{"topic", std::string(topic)}})
      .Increment(static_cast<double>(n));
}

void KafkaProbe::OnRepartitionDuplicates(std::string_view topic, int64_t n) {
  repartition_duplicates_.Add({{"topic", std::string(topic)}})
      .Increment(static_cast<double>(n));
}

void KafkaProbe::SetUnacknowledged(int64_t n) {
  unacknowledged_messages_->Set(static_cast<double>(n));
}

void KafkaProbe::SetPaused(bool paused) { paused_gauge_->Set(paused ? 1 : 0); }

void KafkaProbe::OnAlignment(int64_t paused, int64_t now) {
  if (paused > 0)
    alignment_pauses_total_->Increment(static_cast<double>(paused));
  aligned_partitions_->Set(static_cast<double>(now));
}

}  // namespace vigia

namespace vigia {

void KafkaProbe::OnStateCheckpoint(int64_t bytes) {
  state_checkpoints_.Add({}).Increment();
  state_bytes_.Add({}).Set(static_cast<double>(bytes));
}

void KafkaProbe::OnPartitionsRestored(int64_t partitions) {
  state_restored_partitions_.Add({}).Increment(static_cast<double>(partitions));
}

void KafkaProbe::OnStateRestore(std::string_view failure) {
  if (failure.empty()) {
    state_restores_.Add({}).Increment();
  } else {
    state_restore_failures_.Add({{"reason", std::string(failure)}}).Increment();
  }
}

}  // namespace vigia
