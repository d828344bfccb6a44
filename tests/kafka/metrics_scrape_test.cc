// /metrics of a running daemon, scraped over HTTP with libcurl.
#include <curl/curl.h>

#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/decoder.h"
#include "pipeline/kafka/daemon.h"
#include "pipeline/metrics/metrics_server.h"
#include "tests/kafka/kafka_test_util.h"

namespace vigia {
namespace {

using ::testing::HasSubstr;

size_t Append(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// GET http://127.0.0.1:port/metrics; returns the body, or nullopt unless
// the answer is 200.
std::optional<std::string> Scrape(int port) {
  CURL* curl = curl_easy_init();
  if (curl == nullptr) return std::nullopt;
  std::string body;
  const std::string url =
      "http://127.0.0.1:" + std::to_string(port) + "/metrics";
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, &Append);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &body);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 10L);
  const CURLcode rc = curl_easy_perform(curl);
  long status = 0;
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  if (rc != CURLE_OK || status != 200) return std::nullopt;
  return body;
}

std::optional<double> Value(const std::string& text,
                            const std::string& series) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(series + " ", 0) == 0)
      return std::stod(line.substr(series.size() + 1));
  }
  return std::nullopt;
}

// Scrapes until `series` has `want` (the daemon copies its counters into
// the metrics periodically); returns the last scrape.
std::string ScrapeUntil(int port, const std::string& series, double want) {
  std::string last;
  for (int i = 0; i < 300; ++i) {
    if (auto body = Scrape(port)) {
      last = *body;
      if (Value(last, series) == want) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return last;
}

// Scrapes until the text contains `part`; returns the last scrape.
std::string ScrapeUntilContains(int port, const std::string& part) {
  std::string last;
  for (int i = 0; i < 300; ++i) {
    if (auto body = Scrape(port)) {
      last = *body;
      if (last.find(part) != std::string::npos) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return last;
}

TEST(DaemonMetrics, ScrapeShowsEventsAlertsKafkaStateAndBuildInfo) {
  auto mc = MockCluster::Start(1, 2, DefaultTopics());
  ASSERT_TRUE(mc.ok()) << mc.status();
  std::vector<testing::FeedLine> feed =
      testing::SurgeFeed(absl::Minutes(30), absl::ZeroDuration(), 0);
  feed.resize(100);
  ASSERT_TRUE(
      testing::ProduceFeed((*mc)->bootstrap(), "vigia.posts", feed, 2).ok());
  ASSERT_TRUE(
      testing::ProduceRaw((*mc)->bootstrap(), "vigia.posts", 1, {"{oops"})
          .ok());

  testing::Handled handled;
  DaemonOptions options =
      testing::TestDaemonOptions((*mc)->bootstrap(), "metrics");
  options.metrics_addr = "127.0.0.1:0";
  options.on_record = [&](const SourceRef& s) { handled.Add(s); };
  testing::DaemonThread d(testing::TestConfig(), options);
  ASSERT_TRUE(d.create_status().ok()) << d.create_status();
  const int port = d.daemon().metrics_port();
  ASSERT_GT(port, 0);
  ASSERT_TRUE(handled.WaitFor(101, absl::Seconds(120)));

  std::string text =
      ScrapeUntil(port, "vigia_events_processed_total{feed=\"posts\"}", 100);
  EXPECT_EQ(Value(text, "vigia_events_processed_total{feed=\"posts\"}"), 100);
  EXPECT_EQ(Value(text, "vigia_events_consumed_total{feed=\"posts\"}"), 101);
  EXPECT_EQ(
      Value(text,
            "vigia_events_rejected_total{feed=\"posts\",reason=\"" +
                std::string(RejectReasonName(RejectReason::kMalformedJson)) +
                "\"}"),
      1);
  EXPECT_EQ(Value(text, "vigia_events_late_total{feed=\"posts\"}"), 0);
  EXPECT_EQ(Value(text, "vigia_processing_latency_seconds_count"), 101);
  EXPECT_EQ(Value(text, "vigia_build_info{version=\"" +
                            std::string(VigiaVersion()) + "\"}"),
            1);
  EXPECT_EQ(Value(text,
                  "vigia_alerts_firing{detector=\"foreign_origin_surge\","
                  "severity=\"warning\"}"),
            0);
  EXPECT_EQ(Value(text,
                  "vigia_alerts_fired_total{detector=\"foreign_origin_surge\","
                  "severity=\"critical\"}"),
            0);
  EXPECT_GT(
      Value(text, "vigia_detector_keys{detector=\"foreign_origin_surge\"}")
          .value_or(0),
      0);
  EXPECT_GT(Value(text, "vigia_max_event_time_seconds").value_or(0), 1.7e9);
  EXPECT_TRUE(Value(text, "vigia_event_time_lag_seconds").has_value());

  // Kafka statistics arrive every statistics_interval_ms.
  text = ScrapeUntil(port, "vigia_kafka_assigned_partitions", 4);
  EXPECT_EQ(Value(text, "vigia_kafka_assigned_partitions"), 4);
  EXPECT_EQ(Value(text, "vigia_kafka_brokers_up{client=\"consumer\"}"), 1);
  EXPECT_THAT(text, HasSubstr("vigia_kafka_producer_queue_messages "));
  EXPECT_EQ(Value(text, "vigia_kafka_delivery_errors_total{output=\"alerts\"}"),
            0);
  EXPECT_GE(Value(text, "vigia_kafka_rebalances_total").value_or(0), 1);
  // The dead letter was acknowledged and the progress committed; the lag
  // is known once a commit is.
  text = ScrapeUntil(port, "vigia_kafka_unacknowledged_messages", 0);
  text = ScrapeUntilContains(port,
                             "vigia_kafka_consumer_lag_messages{partition="
                             "\"0\",topic=\"vigia.posts\"} 0");
  EXPECT_EQ(Value(text, "vigia_kafka_unacknowledged_messages"), 0);
  EXPECT_GE(Value(text, "vigia_kafka_commits_total{result=\"ok\"}").value_or(0),
            1);
  EXPECT_EQ(Value(text,
                  "vigia_kafka_consumer_lag_messages{partition=\"0\","
                  "topic=\"vigia.posts\"}"),
            0);

  // Every documented family is exposed with its type.
  for (const char* family :
       {"# TYPE vigia_events_consumed_total counter",
        "# TYPE vigia_events_processed_total counter",
        "# TYPE vigia_events_rejected_total counter",
        "# TYPE vigia_events_late_total counter",
        "# TYPE vigia_dead_letter_errors_total counter",
        "# TYPE vigia_alerts_fired_total counter",
        "# TYPE vigia_alerts_resolved_total counter",
        "# TYPE vigia_alerts_firing gauge",
        "# TYPE vigia_processing_latency_seconds histogram",
        "# TYPE vigia_event_time_lag_seconds gauge",
        "# TYPE vigia_watermark_seconds gauge",
        "# TYPE vigia_max_event_time_seconds gauge",
        "# TYPE vigia_detector_keys gauge",
        "# TYPE vigia_detector_buckets gauge",
        "# TYPE vigia_detector_cap_hits_total counter",
        "# TYPE vigia_foreign_events_total counter",
        "# TYPE vigia_kafka_consumer_lag_messages gauge",
        "# TYPE vigia_kafka_rebalances_total counter",
        "# TYPE vigia_kafka_assigned_partitions gauge",
        "# TYPE vigia_kafka_brokers_up gauge",
        "# TYPE vigia_kafka_producer_queue_messages gauge",
        "# TYPE vigia_kafka_commits_total counter",
        "# TYPE vigia_kafka_delivery_errors_total counter",
        "# TYPE vigia_kafka_unacknowledged_messages gauge",
        "# TYPE vigia_kafka_consumer_paused gauge",
        "# TYPE vigia_metrics_port_requests_total counter",
        "# TYPE vigia_metrics_port_bad_requests_total counter",
        "# TYPE vigia_metrics_port_connections_closed_total counter",
        "# TYPE vigia_metrics_port_open_connections gauge",
        "# TYPE vigia_metrics_port_tls_reloads_total counter",
        "# TYPE vigia_build_info gauge"}) {
    EXPECT_THAT(text, HasSubstr(family));
  }
  // vigia_detector_score has series only once a detector has scored a
  // window past its warm-up, which this short feed does not reach. The
  // operators' side is tested in operators/target_scores_test.cc; its
  // export is scraped by tests/ops/ops_e2e_test.cc, whose real Prometheus
  // must return data for every dashboard panel, the score panels included.
  ASSERT_TRUE(d.Stop().ok());
}

}  // namespace
}  // namespace vigia
