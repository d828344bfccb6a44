// `vigia demo` end to end on a short scenario: generator -> mock Kafka ->
// daemon -> alerts.
#include "pipeline/kafka/demo.h"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vigia {
namespace {

// Eight hours of the standard background with an 8x RU->MD push in hour 6.
constexpr char kScenario[] = R"yaml(version: 1
name: short-surge
description: A short diaspora-like surge for the demo test.
seed: 7
start: 2026-05-09T00:00:00Z
duration: 8h
campaigns:
  - name: md-ru-push
    kind: foreign_origin_surge
    target: MD
    origin: RU
    start: 5h
    duration: 1h
    ramp_in: 5m
    ramp_out: 5m
    rate_multiplier: 8
)yaml";

class CollectingSink final : public AlertSink {
 public:
  absl::Status Write(const Alert& a) override {
    alerts.push_back(a);
    return absl::OkStatus();
  }
  std::vector<Alert> alerts;
};

TEST(Demo, StreamsAScenarioThroughKafkaAndRaisesItsSurge) {
  const std::filesystem::path path =
      std::filesystem::path(::testing::TempDir()) / "short-surge.yaml";
  std::ofstream(path) << kScenario;
  DemoOptions options;
  options.scenario = path.string();
  options.speedup = 3600;
  options.metrics_addr = "127.0.0.1:0";
  CollectingSink sink;
  std::atomic<bool> stop{false};
  const absl::Status status = RunDemo(DefaultConfig(), options, stop, &sink);
  ASSERT_TRUE(status.ok()) << status;
  bool surge = false;
  for (const Alert& a : sink.alerts) {
    if (a.target.str() == "MD" && a.origin.str() == "RU" &&
        a.state == AlertState::kFiring && a.severity >= Severity::kWarning) {
      surge = true;
    }
  }
  EXPECT_TRUE(surge) << sink.alerts.size()
                     << " alerts, none a warning+ MD<-RU firing";
}

}  // namespace
}  // namespace vigia
