#include "pipeline/alertmanager/alertmanager_probe.h"

#include <string>

#include "gtest/gtest.h"
#include "pipeline/metrics/metrics_server.h"

namespace vigia {
namespace {

TEST(AlertmanagerProbe, ExportsEachUrlsCountersByTheirGrowth) {
  AlertmanagerStats stats(2);
  stats.urls[0].url = "http://am-0:9093";
  stats.urls[1].url = "http://am-1:9093";
  auto registry = NewMetricsRegistry();
  AlertmanagerProbe probe(*registry, stats);

  stats.urls[0].attempts = 3;
  stats.urls[0].alerts_sent = 5;
  stats.urls[1].attempts = 4;
  stats.urls[1].failures = 4;
  stats.urls[1].queue_depth = 7;
  stats.firing = 2;
  probe.Update();
  // A second update with no growth must not count again.
  probe.Update();
  stats.urls[0].alerts_sent = 6;
  probe.Update();

  const std::string text = SerializeMetrics(*registry);
  EXPECT_NE(text.find("vigia_alertmanager_requests_total{url=\"http://am-0:"
                      "9093\"} 3"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("vigia_alertmanager_alerts_sent_total{url=\"http://"
                      "am-0:9093\"} 6"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("vigia_alertmanager_requests_failed_total{url=\"http://"
                      "am-1:9093\"} 4"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("vigia_alertmanager_alerts_dropped_total{url=\"http://"
                      "am-1:9093\"} 0"),
            std::string::npos)
      << text;
  EXPECT_NE(
      text.find("vigia_alertmanager_queue_alerts{url=\"http://am-1:9093\"} 7"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("vigia_alertmanager_firing_alerts 2"), std::string::npos)
      << text;
}

}  // namespace
}  // namespace vigia
