// /metrics behind basic authentication, scraped by a real Prometheus: the
// configuration is loaded from a file as `vigia run` loads it, the password
// hash is made by the openssl CLI (as docs/metrics.md tells operators), and
// Prometheus's own basic_auth client is what must get in; a scrape job with
// the wrong password or none must be refused (401) and shown down.
#include <chrono>
#include <fstream>
#include <map>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/config.h"
#include "pipeline/metrics/metrics_server.h"
#include "tests/server_fixture.h"

namespace vigia {
namespace {

using test_servers::HttpGet;
using test_servers::HttpResponse;
using test_servers::PrometheusServer;
using ::testing::HasSubstr;

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  ASSERT_TRUE(out.good()) << path;
}

TEST(MetricsAuth, PrometheusWithTheRightPasswordGetsInAndOthersAreRefused) {
  absl::StatusOr<std::string> dir =
      test_servers::MakeScratchDir("metrics-auth-");
  ASSERT_TRUE(dir.ok()) << dir.status();
  const std::string password = "c0rrect horse: battery";
  const std::string password_file = *dir + "/prometheus.password";
  WriteFile(password_file, password + "\n");

  // sha512crypt from the openssl CLI, as docs/metrics.md suggests.
  absl::StatusOr<test_servers::CommandResult> hashed = test_servers::RunCommand(
      {"/usr/bin/openssl", "passwd", "-6", "-salt", "vigiatest", password});
  ASSERT_TRUE(hashed.ok()) << hashed.status();
  ASSERT_EQ(hashed->exit_code, 0) << hashed->output;
  const std::string hash_file = *dir + "/metrics.hash";
  WriteFile(hash_file, hashed->output);
  const std::string config_file = *dir + "/vigia.yaml";
  WriteFile(config_file, absl::StrCat("metrics:\n"
                                      "  addr: 127.0.0.1:0\n"
                                      "  basic_auth:\n"
                                      "    username: prometheus\n"
                                      "    password_hash_file: ",
                                      hash_file, "\n"));
  absl::StatusOr<Config> config = LoadConfigFile(config_file);
  ASSERT_TRUE(config.ok()) << config.status();
  ASSERT_TRUE(config->metrics_auth.hashed);

  auto server = MetricsServer::Start(config->metrics_addr, NewMetricsRegistry(),
                                     config->metrics_auth);
  ASSERT_TRUE(server.ok()) << server.status();
  const std::string target = (*server)->address();

  // A plain client without credentials is refused outright.
  absl::StatusOr<HttpResponse> anonymous =
      HttpGet("http://" + target + "/metrics");
  ASSERT_TRUE(anonymous.ok()) << anonymous.status();
  EXPECT_EQ(anonymous->status, 401);
  EXPECT_THAT(anonymous->body, ::testing::Not(HasSubstr("vigia_build_info")));

  const std::string job_tail =
      absl::StrCat("    static_configs:\n      - targets: ['", target, "']\n");
  absl::StatusOr<std::unique_ptr<PrometheusServer>> prometheus =
      PrometheusServer::StartWithScrapeConfigs(
          absl::StrCat("  - job_name: right\n"
                       "    basic_auth:\n"
                       "      username: prometheus\n"
                       "      password_file: ",
                       password_file, "\n", job_tail,
                       "  - job_name: wrong\n"
                       "    basic_auth:\n"
                       "      username: prometheus\n"
                       "      password: 'c0rrect horse: battery!'\n",
                       job_tail, "  - job_name: none\n", job_tail));
  ASSERT_TRUE(prometheus.ok()) << prometheus.status();

  // Wait (no fixed sleep) until Prometheus has scraped all three once.
  std::map<std::string, PrometheusServer::TargetHealth> targets;
  for (int i = 0; i < 600; ++i) {
    targets = (*prometheus)->ActiveTargets();
    bool all_scraped = targets.size() == 3;
    for (const auto& [job, state] : targets) {
      all_scraped = all_scraped && state.health != "unknown";
    }
    if (all_scraped) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(targets.size(), 3u) << (*prometheus)->process().LogTail();
  EXPECT_EQ(targets["right"].health, "up") << targets["right"].last_error;
  EXPECT_EQ(targets["right"].last_error, "");
  for (const char* job : {"wrong", "none"}) {
    EXPECT_EQ(targets[job].health, "down") << job;
    EXPECT_THAT(targets[job].last_error, HasSubstr("401")) << job;
  }
}

}  // namespace
}  // namespace vigia
