#include "pipeline/kafka/producer.h"

#include <algorithm>

#include "absl/strings/str_cat.h"
#include "pipeline/core/log.h"

namespace vigia {
namespace {

// How long a message whose delivery failed waits before it is produced
// again: long enough not to spin against a broken broker.
constexpr std::chrono::milliseconds kRetryBackoff(500);

// Logs the first failures and then one in a thousand, so an outage is
// visible without flooding the log (every failure is counted in metrics).
bool ShouldLog(int64_t nth) { return nth <= 10 || nth % 1000 == 0; }

}  // namespace

Producer::Producer(const ProducerOptions& options) : options_(options) {}

absl::StatusOr<std::unique_ptr<Producer>> Producer::Create(
    const ProducerOptions& options) {
  std::unique_ptr<Producer> p(new Producer(options));
  KafkaSettings defaults = {
      {"client.id", options.client_id},
      // Alerts are rare and wanted at once. With idempotence at most five
      // requests are in flight, and what accumulates meanwhile (dead
      // letters in bursts) still goes out batched. 1 ms of linger was about
      // 1 ms of the 10 ms event-to-alert budget (vigia-bench, emit to topic
      // p50 2.2-2.7 -> 1.2-1.7 ms at 0).
      {"linger.ms", "0"},
      {"statistics.interval.ms", absl::StrCat(options.statistics_interval_ms)},
  };
  KafkaSettings forced;
  if (!options.brokers.empty()) forced["bootstrap.servers"] = options.brokers;
  if (options.idempotent) forced["enable.idempotence"] = "true";
  absl::StatusOr<KafkaConfPtr> conf =
      MakeKafkaConf(defaults, options.settings, forced);
  if (!conf.ok()) return conf.status();
  rd_kafka_conf_set_opaque(conf->get(), p.get());
  rd_kafka_conf_set_dr_msg_cb(conf->get(), &Producer::OnDelivery);
  rd_kafka_conf_set_error_cb(conf->get(), &Producer::OnError);
  if (options.on_stats) {
    rd_kafka_conf_set_stats_cb(conf->get(), &Producer::OnStats);
  }
  RouteKafkaLogs(conf->get());
  char errstr[512];
  p->rk_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf->get(), errstr, sizeof(errstr));
  if (p->rk_ == nullptr) {
    return absl::InvalidArgumentError(
        absl::StrCat("cannot create kafka producer: ", errstr));
  }
  conf->release();  // now owned by the client
  return p;
}

Producer::~Producer() {
  if (rk_ == nullptr) return;
  destroying_ = true;
  if (unacknowledged_.load() > 0) {
    VIGIA_LOG(WARNING) << "kafka producer closing with "
                       << unacknowledged_.load()
                       << " messages not acknowledged";
  }
  rd_kafka_purge(rk_, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
  rd_kafka_flush(rk_, 1000);
  for (rd_kafka_topic_t* t : topics_) rd_kafka_topic_destroy(t);
  rd_kafka_destroy(rk_);
}

rd_kafka_resp_err_t Producer::Submit(uint64_t id, Pending& p) {
  OutMessage& m = p.message;
  void* key = m.key.empty() ? nullptr : m.key.data();
  void* opaque = reinterpret_cast<void*>(static_cast<uintptr_t>(id));
  rd_kafka_resp_err_t err;
  // The value is not copied: it stays in pending_ until delivery.
  if (m.headers.empty()) {
    err = rd_kafka_producev(rk_, RD_KAFKA_V_TOPIC(m.topic.c_str()),
                            RD_KAFKA_V_PARTITION(m.partition),
                            RD_KAFKA_V_KEY(key, m.key.size()),
                            RD_KAFKA_V_VALUE(m.value.data(), m.value.size()),
                            RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
  } else {
    rd_kafka_headers_t* headers = rd_kafka_headers_new(m.headers.size());
    for (const auto& [name, value] : m.headers) {
      rd_kafka_header_add(headers, name.data(),
                          static_cast<ssize_t>(name.size()), value.data(),
                          static_cast<ssize_t>(value.size()));
    }
    err = rd_kafka_producev(
        rk_, RD_KAFKA_V_TOPIC(m.topic.c_str()),
        RD_KAFKA_V_PARTITION(m.partition), RD_KAFKA_V_KEY(key, m.key.size()),
        RD_KAFKA_V_VALUE(m.value.data(), m.value.size()),
        RD_KAFKA_V_HEADERS(headers), RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) rd_kafka_headers_destroy(headers);
  }
  return err;
}

void Producer::CountFailure(Pending& p, rd_kafka_resp_err_t err) {
  const int64_t n = ++delivery_errors_;
  if (ShouldLog(n)) {
    VIGIA_LOG(WARNING) << "kafka delivery to " << p.message.topic << " failed ("
                       << rd_kafka_err2name(err) << ": "
                       << rd_kafka_err2str(err) << "); will retry [" << n
                       << " failures so far]";
  }
  if (options_.on_delivery_error) options_.on_delivery_error(p.message.output);
  p.not_before = std::chrono::steady_clock::now() + kRetryBackoff;
}

uint64_t Producer::Produce(OutMessage message) {
  const uint64_t id = next_id_++;
  pending_.emplace(id, std::make_unique<Pending>(Pending{std::move(message)}));
  ++unacknowledged_;
  waiting_.insert(id);
  SubmitWaiting();
  return id;
}

void Producer::SubmitWaiting() {
  const auto now = std::chrono::steady_clock::now();
  while (!waiting_.empty()) {
    const uint64_t id = *waiting_.begin();
    Pending& p = *pending_.at(id);
    // Strict order: a message waiting out its backoff holds back the ones
    // produced after it, so a firing record is never overtaken by the
    // record that resolves it.
    if (p.not_before > now) return;
    const rd_kafka_resp_err_t err = Submit(id, p);
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(rk_, 0);
      return;
    }
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      CountFailure(p, err);
      return;
    }
    waiting_.erase(waiting_.begin());
  }
}

absl::Status Producer::PrepareTopics(const std::vector<std::string>& topics,
                                     absl::Duration timeout) {
  const auto deadline =
      std::chrono::steady_clock::now() + absl::ToChronoMilliseconds(timeout);
  for (const std::string& topic : topics) {
    rd_kafka_topic_t* rkt = rd_kafka_topic_new(rk_, topic.c_str(), nullptr);
    if (rkt == nullptr) {
      return absl::InvalidArgumentError(
          absl::StrCat("cannot create kafka topic handle ", topic, ": ",
                       rd_kafka_err2str(rd_kafka_last_error())));
    }
    topics_.push_back(rkt);
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    const rd_kafka_metadata_t* md = nullptr;
    const rd_kafka_resp_err_t err = rd_kafka_metadata(
        rk_, 0, rkt, &md, static_cast<int>(std::max<int64_t>(left.count(), 1)));
    if (md != nullptr) rd_kafka_metadata_destroy(md);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return absl::UnavailableError(absl::StrCat(
          "no metadata for kafka topic ", topic, ": ", rd_kafka_err2str(err)));
    }
  }
  return absl::OkStatus();
}

void Producer::Poll() {
  rd_kafka_poll(rk_, 0);
  SubmitWaiting();
}

absl::Status Producer::FatalStatus() {
  char errstr[512];
  const rd_kafka_resp_err_t err =
      rd_kafka_fatal_error(rk_, errstr, sizeof(errstr));
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return absl::OkStatus();
  return absl::InternalError(absl::StrCat(
      "kafka producer fatal error (", rd_kafka_err2name(err), "): ", errstr));
}

absl::Status Producer::Flush(absl::Duration timeout) {
  const auto deadline =
      std::chrono::steady_clock::now() + absl::ToChronoMilliseconds(timeout);
  while (true) {
    SubmitWaiting();
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    const int wait_ms =
        static_cast<int>(std::clamp<int64_t>(left.count(), 0, 100));
    if (rd_kafka_outq_len(rk_) > 0) {
      rd_kafka_flush(rk_, wait_ms);
    } else {
      rd_kafka_poll(rk_, std::min(wait_ms, 10));
    }
    if (absl::Status s = FatalStatus(); !s.ok()) return s;
    if (unacknowledged_.load() == 0) return absl::OkStatus();
    if (std::chrono::steady_clock::now() >= deadline) {
      return absl::DeadlineExceededError(absl::StrCat(
          unacknowledged_.load(), " kafka messages not acknowledged after ",
          absl::FormatDuration(timeout)));
    }
  }
}

void Producer::OnDelivery(rd_kafka_t*, const rd_kafka_message_t* m,
                          void* opaque) {
  auto* self = static_cast<Producer*>(opaque);
  if (self->destroying_) return;
  const auto id =
      static_cast<uint64_t>(reinterpret_cast<uintptr_t>(m->_private));
  auto it = self->pending_.find(id);
  if (it == self->pending_.end()) return;
  if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    self->pending_.erase(it);
    --self->unacknowledged_;
    ++self->acknowledged_;
    if (self->options_.on_acknowledged) {
      self->options_.on_acknowledged(id, m->partition, m->offset);
    }
    return;
  }
  self->CountFailure(*it->second, m->err);
  self->waiting_.insert(id);
}

void Producer::OnError(rd_kafka_t* rk, int err, const char* reason,
                       void* opaque) {
  auto* self = static_cast<Producer*>(opaque);
  const auto code = static_cast<rd_kafka_resp_err_t>(err);
  if (code == RD_KAFKA_RESP_ERR__FATAL) {
    VIGIA_LOG(ERROR) << "kafka producer fatal error: " << reason;
  } else if (code != RD_KAFKA_RESP_ERR__TRANSPORT) {
    // (Transport errors are already in librdkafka's own log lines.)
    VIGIA_LOG(WARNING) << "kafka producer: " << rd_kafka_err2name(code) << ": "
                       << reason;
  }
  if (self->options_.on_error) {
    self->options_.on_error(rd_kafka_err2name(code), reason);
  }
}

int Producer::OnStats(rd_kafka_t*, char* json, size_t len, void* opaque) {
  auto* self = static_cast<Producer*>(opaque);
  if (self->options_.on_stats) self->options_.on_stats({json, len});
  return 0;
}

}  // namespace vigia
