// deploy/alertmanager.yml: valid for amtool, routes as documented, and its
// inhibition rules behave in a real Alertmanager fed by AlertmanagerSink.
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/alertmanager/alertmanager_sink.h"
#include "pipeline/core/time.h"
#include "simdjson.h"
#include "tests/server_fixture.h"

namespace vigia {
namespace {

using test_servers::AlertmanagerServer;
using test_servers::CommandResult;
using test_servers::RunCommand;
using ::testing::HasSubstr;

const std::string kConfig =
    std::string(VIGIA_SOURCE_DIR) + "/deploy/alertmanager.yml";
constexpr char kAmtool[] = "/usr/bin/amtool";

TEST(DeployAlertmanagerConfig, PassesAmtoolCheckConfig) {
  absl::StatusOr<CommandResult> r =
      RunCommand({kAmtool, "check-config", kConfig});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 0) << r->output;
  EXPECT_THAT(r->output, HasSubstr("SUCCESS"));
  EXPECT_THAT(r->output, HasSubstr("2 inhibit rules"));
}

// Runs `amtool config routes test` asking that `labels` reach exactly
// `receiver`; amtool exits non-zero otherwise.
void ExpectRoute(const std::vector<std::string>& labels,
                 const std::string& receiver) {
  std::vector<std::string> command = {kAmtool,
                                      "config",
                                      "routes",
                                      "test",
                                      "--config.file=" + kConfig,
                                      "--verify.receivers=" + receiver};
  command.insert(command.end(), labels.begin(), labels.end());
  absl::StatusOr<CommandResult> r = RunCommand(command);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->exit_code, 0) << "labels " << testing::PrintToString(labels)
                             << " went to: " << r->output;
}

TEST(DeployAlertmanagerConfig, RoutesBySeverity) {
  ExpectRoute(
      {"alertname=VigiaForeignOriginSurge", "severity=critical", "drill=false"},
      "vigia-pager");
  ExpectRoute(
      {"alertname=VigiaForeignOriginSurge", "severity=warning", "drill=false"},
      "vigia-ops-chat");
  ExpectRoute(
      {"alertname=VigiaForeignOriginSurge", "severity=info", "drill=false"},
      "vigia-log");
}

TEST(DeployAlertmanagerConfig, SendsDrillsOnlyToTheDrillReceiver) {
  for (const char* severity : {"critical", "warning", "info"}) {
    ExpectRoute({"alertname=VigiaForeignOriginSurge",
                 std::string("severity=") + severity, "drill=true"},
                "vigia-drill");
  }
}

TEST(DeployAlertmanagerConfig, RejectsAWrongExpectationSoTheRouteTestsMeanIt) {
  absl::StatusOr<CommandResult> r = RunCommand(
      {kAmtool, "config", "routes", "test", "--config.file=" + kConfig,
       "--verify.receivers=vigia-pager", "severity=critical", "drill=true"});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_NE(r->exit_code, 0) << r->output;
}

std::string ReadConfig() {
  std::ifstream in(kConfig);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

Alert MakeAlert(const std::string& id, Severity severity, const char* origin) {
  Alert a;
  a.id = id;
  a.detector = "foreign_origin_surge";
  a.severity = severity;
  a.target = CountryCode::FromString("MD");
  a.origin = CountryCode::FromString(origin);
  a.summary = "test";
  a.config_hash = "c0ffee";
  return a;
}

// Alert states by alert_id label, as Alertmanager reports them.
std::map<std::string, std::string> States(const AlertmanagerServer& am) {
  std::map<std::string, std::string> out;
  absl::StatusOr<test_servers::HttpResponse> response =
      test_servers::HttpGet(am.url() + "/api/v2/alerts");
  EXPECT_TRUE(response.ok()) << response.status();
  if (!response.ok()) return out;
  simdjson::dom::parser parser;
  simdjson::dom::array alerts;
  EXPECT_EQ(parser.parse(response->body).get(alerts), simdjson::SUCCESS)
      << response->body;
  for (simdjson::dom::element alert : alerts) {
    std::string_view id;
    std::string_view state;
    if (alert["labels"]["alert_id"].get_string().get(id) == simdjson::SUCCESS &&
        alert["status"]["state"].get_string().get(state) == simdjson::SUCCESS) {
      out.emplace(std::string(id), std::string(state));
    }
  }
  return out;
}

TEST(DeployAlertmanagerConfig, CriticalInhibitsWarningOfTheSamePairButNoDrill) {
  absl::StatusOr<std::unique_ptr<AlertmanagerServer>> am =
      AlertmanagerServer::Start(0, ReadConfig());
  ASSERT_TRUE(am.ok()) << am.status();
  ManualClock clock(absl::Now());
  AlertmanagerOptions options;
  options.urls = {(*am)->url()};
  absl::StatusOr<std::unique_ptr<AlertmanagerSink>> real =
      AlertmanagerSink::Create(options, &clock);
  ASSERT_TRUE(real.ok()) << real.status();
  options.drill = true;
  absl::StatusOr<std::unique_ptr<AlertmanagerSink>> drill =
      AlertmanagerSink::Create(options, &clock);
  ASSERT_TRUE(drill.ok()) << drill.status();

  ASSERT_TRUE(
      (*real)
          ->Write(MakeAlert("critical-md-ru", Severity::kCritical, "RU"))
          .ok());
  ASSERT_TRUE((*real)
                  ->Write(MakeAlert("warning-md-ru", Severity::kWarning, "RU"))
                  .ok());
  ASSERT_TRUE((*real)
                  ->Write(MakeAlert("warning-md-ua", Severity::kWarning, "UA"))
                  .ok());
  ASSERT_TRUE((*real)
                  ->Write(MakeAlert("warning-md-by", Severity::kWarning, "BY"))
                  .ok());
  ASSERT_TRUE(
      (*drill)
          ->Write(MakeAlert("drill-critical-md-by", Severity::kCritical, "BY"))
          .ok());
  ASSERT_TRUE((*real)->Flush().ok());
  ASSERT_TRUE((*drill)->Flush().ok());

  // Alertmanager's inhibitor learns about source alerts asynchronously:
  // poll (generously) until the states settle.
  const std::map<std::string, std::string> want = {
      {"critical-md-ru", "active"},
      {"warning-md-ru", "suppressed"},
      {"warning-md-ua", "active"},
      {"warning-md-by", "active"},
      {"drill-critical-md-by", "active"}};
  std::map<std::string, std::string> got = States(**am);
  const absl::Time give_up = absl::Now() + absl::Seconds(30);
  while (got != want && absl::Now() < give_up) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    got = States(**am);
  }
  EXPECT_EQ(got, want);
}

}  // namespace
}  // namespace vigia
