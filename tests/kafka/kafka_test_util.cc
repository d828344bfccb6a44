#include "tests/kafka/kafka_test_util.h"

#include <librdkafka/rdkafka.h>
#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <sstream>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "pipeline/core/json_writer.h"
#include "pipeline/core/time.h"
#include "pipeline/detectors.h"
#include "pipeline/gen/generator.h"
#include "pipeline/gen/scenario.h"
#include "pipeline/kafka/producer.h"
#include "pipeline/metrics/metrics_server.h"
#include "pipeline/pipeline.h"

namespace vigia::testing {
namespace {

const absl::Time kStart = absl::FromUnixSeconds(1778284800);  // 2026-05-09

struct Pair {
  const char* target;
  const char* origin;
};
// Each target's foreign origin (the key its detector state lives under).
constexpr Pair kPairs[] = {
    {"MD", "RU"}, {"RO", "MD"}, {"DE", "TR"}, {"PL", "UA"}};

std::string PostJson(int64_t n, absl::Time t, std::string_view target,
                     std::string_view origin, const std::string& account,
                     bool surge) {
  JsonWriter w;
  w.BeginObject();
  w.Field("id", absl::StrFormat("p-%07d", n));
  w.Field("platform", "x");
  w.Field("created_at", FormatRfc3339(t));
  w.Key("account");
  w.BeginObject();
  w.Field("id", account);
  w.Field("country", origin);
  w.EndObject();
  w.Field("target", target);
  w.Field("lang", "ro");
  w.Field("text", surge ? "Vote for stability, not for Brussels"
                        : "Weather and news of the day");
  w.Key("urls");
  w.BeginArray();
  w.String(surge ? "https://news.example/ru/elections"
                 : "https://daily.example/story");
  w.EndArray();
  w.Key("hashtags");
  w.BeginArray();
  w.String(surge ? "stability" : "news");
  w.EndArray();
  w.EndObject();
  return w.Release();
}

class CollectingSink final : public AlertSink {
 public:
  absl::Status Write(const Alert& a) override {
    alerts.push_back({a.detector, a.id, std::string(AlertStateName(a.state)),
                      std::string(SeverityName(a.severity)), a.target.str(),
                      a.origin.str(), FormatRfc3339(a.window_end)});
    return absl::OkStatus();
  }
  std::vector<AlertRecord> alerts;
};

}  // namespace

const std::vector<std::string>& FeedTargets() {
  static const auto* targets =
      new std::vector<std::string>{"MD", "RO", "DE", "PL"};
  return *targets;
}

std::vector<FeedLine> SurgeFeed(absl::Duration hours, absl::Duration surge_at,
                                int surge_per_min) {
  struct Item {
    absl::Time t;
    std::string target, origin, account;
    bool surge;
  };
  std::vector<Item> items;
  for (int p = 0; p < 4; ++p) {
    const Pair& pair = kPairs[p];
    // Foreign background: one post every 20 s, offset per target.
    int k = 0;
    for (absl::Time t = kStart + absl::Seconds(p * 5); t < kStart + hours;
         t += absl::Seconds(20), ++k) {
      items.push_back(
          {t, pair.target, pair.origin,
           absl::StrCat("a-", pair.target, "-", pair.origin, "-", k % 37),
           false});
    }
    // Domestic posts, which the detector ignores.
    k = 0;
    for (absl::Time t = kStart + absl::Seconds(p * 5 + 2); t < kStart + hours;
         t += absl::Seconds(60), ++k) {
      items.push_back({t, pair.target, pair.target,
                       absl::StrCat("d-", pair.target, "-", k % 23), false});
    }
  }
  if (surge_per_min > 0) {
    const absl::Duration every = absl::Seconds(60) / surge_per_min;
    int k = 0;
    for (absl::Time t = kStart + surge_at + absl::Seconds(1);
         t < kStart + surge_at + absl::Minutes(20); t += every, ++k) {
      items.push_back({t, "MD", "RU", absl::StrCat("net-", k % 40), true});
    }
  }
  std::stable_sort(items.begin(), items.end(),
                   [](const Item& a, const Item& b) { return a.t < b.t; });
  std::vector<FeedLine> lines;
  lines.reserve(items.size());
  int64_t n = 0;
  for (const Item& it : items) {
    lines.push_back(
        {PostJson(++n, it.t, it.target, it.origin, it.account, it.surge),
         it.target, it.t});
  }
  return lines;
}

absl::StatusOr<std::vector<FeedLine>> GenerateFeed(std::string_view yaml) {
  absl::StatusOr<gen::Scenario> scenario =
      gen::ParseScenario(yaml, "test scenario");
  if (!scenario.ok()) return scenario.status();
  std::ostringstream archive;
  absl::StatusOr<gen::GenerateResult> result =
      gen::Generate(*scenario, archive);
  if (!result.ok()) return result.status();
  std::vector<FeedLine> lines;
  simdjson::dom::parser parser;
  std::istringstream in(archive.str());
  for (std::string line; std::getline(in, line);) {
    simdjson::dom::element doc;
    std::string_view target, created_at;
    if (parser.parse(line).get(doc) != simdjson::SUCCESS ||
        doc["target"].get_string().get(target) != simdjson::SUCCESS ||
        doc["created_at"].get_string().get(created_at) != simdjson::SUCCESS) {
      return absl::InvalidArgumentError(
          absl::StrCat("not a record with target and time: ", line));
    }
    absl::StatusOr<absl::Time> t = ParseRfc3339(created_at);
    if (!t.ok()) return t.status();
    lines.push_back({line, std::string(target), *t,
                     doc["payer"].error() == simdjson::SUCCESS});
  }
  return lines;
}

std::vector<FeedLine> OnlyAds(const std::vector<FeedLine>& feed, bool ads) {
  std::vector<FeedLine> out;
  for (const FeedLine& line : feed) {
    if (line.ad == ads) out.push_back(line);
  }
  return out;
}

Config TestConfig(Detectors detectors) {
  Config config = DefaultConfig();
  config.foreign_origin_surge.scoring.warmup = absl::Hours(1);
  config.foreign_origin_surge.scoring.daily_cycle = false;
  config.watermark.idle_timeout = absl::Seconds(5);
  if (detectors == Detectors::kAll) return config;
  // These tests exercise the Kafka plumbing with the one detector whose
  // behaviour on this feed is known; the others have their own tests.
  // The registry says which (DetectorDescriptor::in_kafka_tests), so a new
  // detector cannot run here by being forgotten.
  for (const DetectorDescriptor& detector : ::vigia::Detectors()) {
    if (!detector.in_kafka_tests) detector.set_enabled(config, false);
  }
  return config;
}

bool WaitForWatermark(Daemon& daemon, absl::Time t, absl::Duration timeout,
                      std::string_view feed) {
  const double want = absl::ToDoubleSeconds(t - absl::UnixEpoch());
  const std::string series = absl::StrCat("vigia_watermark_seconds{feed=\"",
                                          std::string(feed), "\"} ");
  const auto deadline =
      std::chrono::steady_clock::now() + absl::ToChronoMilliseconds(timeout);
  while (std::chrono::steady_clock::now() < deadline) {
    const std::string text = SerializeMetrics(daemon.registry());
    const size_t at = text.find("\n" + series);
    if (at != std::string::npos &&
        std::stod(text.substr(at + 1 + series.size())) >= want) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return false;
}

absl::StatusOr<AlertRecord> ParseAlertJson(std::string_view json) {
  simdjson::dom::parser parser;
  simdjson::dom::element doc;
  if (auto err = parser.parse(json.data(), json.size()).get(doc)) {
    return absl::InvalidArgumentError(simdjson::error_message(err));
  }
  AlertRecord r;
  auto str = [&](const char* key, std::string* out) {
    std::string_view v;
    if (doc[key].get_string().get(v) == simdjson::SUCCESS)
      *out = std::string(v);
  };
  str("detector", &r.detector);
  str("id", &r.id);
  str("state", &r.state);
  str("severity", &r.severity);
  str("target", &r.target);
  str("origin", &r.origin);
  str("window_end", &r.window_end);
  if (r.id.empty()) return absl::InvalidArgumentError("alert without id");
  return r;
}

std::vector<AlertRecord> ReplayAlerts(const std::vector<FeedLine>& lines,
                                      const Config& config) {
  CollectingSink sink;
  NullDeadLetterSink dead;
  Pipeline pipeline(config, Pipeline::MakeOperators(config), &sink, &dead);
  const std::string source = "feed.ndjson";
  int64_t n = 0;
  for (const FeedLine& line : lines) {
    RawRecord r;
    r.bytes = line.json;
    r.capacity = line.json.size();
    r.source = SourceRef{source, -1, ++n};
    (void)pipeline.Process(r);
  }
  (void)pipeline.Finish();
  return sink.alerts;
}

std::vector<AlertRecord> EndingBy(std::vector<AlertRecord> alerts,
                                  absl::Time cutoff) {
  const std::string limit = FormatRfc3339(cutoff);
  std::erase_if(alerts,
                [&](const AlertRecord& a) { return a.window_end > limit; });
  return alerts;
}

int32_t PartitionOf(std::string_view target, int partitions) {
  const auto& targets = FeedTargets();
  const auto it = std::find(targets.begin(), targets.end(), target);
  int index = static_cast<int>(it - targets.begin());
  if (it == targets.end()) {
    index = 0;
    for (char c : target) index += static_cast<unsigned char>(c);
  }
  return static_cast<int32_t>(index % partitions);
}

absl::Status ProduceFeed(const std::string& bootstrap, const std::string& topic,
                         const std::vector<FeedLine>& lines, int partitions) {
  ProducerOptions po;
  po.brokers = bootstrap;
  po.client_id = "test-feed";
  // A feed produced across a broker outage reaches each recovered broker
  // within a second (librdkafka's reconnect backoff otherwise grows to
  // 10 s), as a live feed would: records held back for longer than the
  // watermark's idle timeout are late by design, not by fault.
  po.settings["reconnect.backoff.max.ms"] = "1000";
  auto producer = Producer::Create(po);
  if (!producer.ok()) return producer.status();
  for (const FeedLine& line : lines) {
    OutMessage m;
    m.topic = topic;
    m.key = line.target;
    m.value = line.json;
    m.output = "feed";
    m.partition = PartitionOf(line.target, partitions);
    (*producer)->Produce(std::move(m));
  }
  return (*producer)->Flush(absl::Seconds(60));
}

absl::Status ProduceRaw(const std::string& bootstrap, const std::string& topic,
                        int32_t partition,
                        const std::vector<std::string>& values) {
  ProducerOptions po;
  po.brokers = bootstrap;
  po.client_id = "test-raw";
  auto producer = Producer::Create(po);
  if (!producer.ok()) return producer.status();
  for (const std::string& v : values) {
    OutMessage m;
    m.topic = topic;
    m.value = v;
    m.output = "feed";
    m.partition = partition;
    (*producer)->Produce(std::move(m));
  }
  return (*producer)->Flush(absl::Seconds(60));
}

void TestConsumerDeleter::operator()(rd_kafka_t* rk) const {
  rd_kafka_destroy_flags(rk, RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
}

absl::StatusOr<TestConsumer> NewTestConsumer(const std::string& bootstrap,
                                             const std::string& group) {
  auto conf = MakeKafkaConf({},
                            {{"bootstrap.servers", bootstrap},
                             {"group.id", group},
                             {"enable.auto.commit", "false"}},
                            {});
  if (!conf.ok()) return conf.status();
  char errstr[512];
  rd_kafka_t* rk =
      rd_kafka_new(RD_KAFKA_CONSUMER, conf->get(), errstr, sizeof(errstr));
  if (rk == nullptr) return absl::InternalError(errstr);
  conf->release();  // rd_kafka_new took it
  return TestConsumer(rk);
}

absl::StatusOr<std::vector<TopicRecord>> ReadTopic(const std::string& bootstrap,
                                                   const std::string& topic,
                                                   int partitions) {
  absl::StatusOr<TestConsumer> consumer =
      NewTestConsumer(bootstrap, "vigia-test-reader");
  if (!consumer.ok()) return consumer.status();
  rd_kafka_t* rk = consumer->get();
  std::vector<TopicRecord> out;
  std::map<int32_t, int64_t> end;
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(partitions);
  for (int32_t p = 0; p < partitions; ++p) {
    int64_t lo = 0, hi = 0;
    rd_kafka_resp_err_t err =
        rd_kafka_query_watermark_offsets(rk, topic.c_str(), p, &lo, &hi, 10000);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      rd_kafka_topic_partition_list_destroy(list);
      return absl::UnavailableError(
          absl::StrCat("watermarks: ", rd_kafka_err2str(err)));
    }
    if (hi > lo) end[p] = hi;
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
  }
  rd_kafka_assign(rk, list);
  rd_kafka_topic_partition_list_destroy(list);
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!end.empty() && std::chrono::steady_clock::now() < deadline) {
    rd_kafka_message_t* m = rd_kafka_consumer_poll(rk, 100);
    if (m == nullptr) continue;
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      TopicRecord r;
      r.partition = m->partition;
      r.offset = m->offset;
      if (m->key != nullptr)
        r.key.assign(static_cast<const char*>(m->key), m->key_len);
      if (m->payload != nullptr) {
        r.value.assign(static_cast<const char*>(m->payload), m->len);
      }
      rd_kafka_headers_t* headers = nullptr;
      if (rd_kafka_message_headers(m, &headers) == RD_KAFKA_RESP_ERR_NO_ERROR) {
        const char* name;
        const void* value;
        size_t size;
        for (size_t i = 0;
             rd_kafka_header_get_all(headers, i, &name, &value, &size) ==
             RD_KAFKA_RESP_ERR_NO_ERROR;
             ++i) {
          r.headers[name] = std::string(static_cast<const char*>(value), size);
        }
      }
      auto it = end.find(m->partition);
      if (it != end.end() && m->offset + 1 >= it->second) end.erase(it);
      out.push_back(std::move(r));
    }
    rd_kafka_message_destroy(m);
  }
  if (!end.empty())
    return absl::DeadlineExceededError("topic not read to its end");
  return out;
}

absl::StatusOr<std::map<int32_t, int64_t>> CommittedOffsets(
    const std::string& bootstrap, const std::string& group,
    const std::string& topic, int partitions) {
  absl::StatusOr<TestConsumer> consumer = NewTestConsumer(bootstrap, group);
  if (!consumer.ok()) return consumer.status();
  rd_kafka_t* rk = consumer->get();
  rd_kafka_topic_partition_list_t* list =
      rd_kafka_topic_partition_list_new(partitions);
  for (int32_t p = 0; p < partitions; ++p) {
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p);
  }
  const rd_kafka_resp_err_t err = rd_kafka_committed(rk, list, 10000);
  std::map<int32_t, int64_t> out;
  for (int i = 0; i < list->cnt && err == RD_KAFKA_RESP_ERR_NO_ERROR; ++i) {
    if (list->elems[i].offset >= 0) {
      out[list->elems[i].partition] = list->elems[i].offset;
    }
  }
  rd_kafka_topic_partition_list_destroy(list);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::UnavailableError(
        absl::StrCat("committed offsets: ", rd_kafka_err2str(err)));
  }
  return out;
}

void Handled::Add(const SourceRef& s) {
  absl::MutexLock lock(&mu_);
  seen_.emplace(s.partition, s.position);
  ++total_;
}

int64_t Handled::distinct() const {
  absl::MutexLock lock(&mu_);
  return static_cast<int64_t>(seen_.size());
}

int64_t Handled::total() const {
  absl::MutexLock lock(&mu_);
  return total_;
}

std::set<std::pair<int32_t, int64_t>> Handled::Snapshot() const {
  absl::MutexLock lock(&mu_);
  return seen_;
}

bool Handled::WaitFor(int64_t n, absl::Duration timeout) const {
  const auto deadline =
      std::chrono::steady_clock::now() + absl::ToChronoMilliseconds(timeout);
  while (std::chrono::steady_clock::now() < deadline) {
    if (distinct() >= n) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return distinct() >= n;
}

DaemonThread::DaemonThread(const Config& config, DaemonOptions options) {
  auto daemon = Daemon::Create(config, options);
  create_status_ = daemon.status();
  if (!daemon.ok()) return;
  daemon_ = std::move(*daemon);
  thread_ = std::thread([this] { run_status_ = daemon_->Run(stop_); });
}

DaemonThread::~DaemonThread() {
  if (thread_.joinable()) (void)Stop();
}

bool DaemonThread::WaitForAssignment(int partitions, absl::Duration timeout) {
  const auto deadline =
      std::chrono::steady_clock::now() + absl::ToChronoMilliseconds(timeout);
  while (std::chrono::steady_clock::now() < deadline) {
    if (daemon_->assigned_partitions() == partitions) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

absl::Status DaemonThread::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
  return run_status_;
}

DaemonOptions TestDaemonOptions(const std::string& bootstrap,
                                const std::string& group) {
  DaemonOptions o;
  o.brokers = bootstrap;
  o.metrics_addr = "";
  o.group_id = group;
  o.checkpoint_interval = absl::Milliseconds(200);
  o.statistics_interval_ms = 500;
  o.metrics_interval = absl::Milliseconds(200);
  // A member that vanished is noticed within seconds, not the default 45.
  o.kafka_settings = {{"session.timeout.ms", "6000"},
                      {"heartbeat.interval.ms", "500"}};
  return o;
}

}  // namespace vigia::testing
