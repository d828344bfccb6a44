#include "pipeline/metrics/metrics_server.h"

#include <arpa/inet.h>
#include <crypt.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/server_fixture.h"

namespace vigia {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

// A minimal HTTP/1.0 GET over a plain socket to 127.0.0.1:`port`. With
// `timeout_s`, the answer must start within that many seconds.
std::string HttpGet(int port, const std::string& path, int timeout_s = 0,
                    const std::string& headers = "") {
  const int fd = test_servers::ConnectLoopback(port, absl::Seconds(timeout_s));
  if (fd < 0) return "";
  std::string response;
  const std::string request =
      "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n" + headers + "\r\n";
  if (::send(fd, request.data(), request.size(), 0) ==
      static_cast<ssize_t>(request.size())) {
    char buf[4096];
    ssize_t n;
    while ((n = ::recv(fd, buf, sizeof(buf), 0)) > 0) response.append(buf, n);
  }
  ::close(fd);
  return response;
}

TEST(MetricsServer, ServesTheRegistryOnAnEphemeralPort) {
  auto registry = NewMetricsRegistry();
  auto server = MetricsServer::Start("127.0.0.1:0", registry);
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_GT((*server)->port(), 0);
  EXPECT_EQ((*server)->address(),
            "127.0.0.1:" + std::to_string((*server)->port()));
  const std::string response = HttpGet((*server)->port(), "/metrics");
  EXPECT_THAT(response, HasSubstr("200 OK"));
  EXPECT_THAT(response, HasSubstr("# TYPE vigia_build_info gauge"));
  EXPECT_THAT(response, HasSubstr("vigia_build_info{version=\"" +
                                  std::string(VigiaVersion()) + "\"} 1"));
}

TEST(MetricsServer, IdleConnectionsDoNotStarveAScrape) {
  // Regression: two idle TCP connections took /metrics down for about 30 s
  // (two worker threads, each waiting 30 s for a request). Four are held
  // open here, and a scrape must still be answered well before the old 30 s.
  auto server = MetricsServer::Start("127.0.0.1:0", NewMetricsRegistry());
  ASSERT_TRUE(server.ok()) << server.status();
  std::vector<int> idle;
  for (int i = 0; i < 4; ++i) {
    const int fd = test_servers::ConnectLoopback((*server)->port());
    ASSERT_GE(fd, 0);
    idle.push_back(fd);
  }
  const std::string response =
      HttpGet((*server)->port(), "/metrics", /*timeout_s=*/20);
  for (int fd : idle) ::close(fd);
  EXPECT_THAT(response, HasSubstr("200 OK"));
  EXPECT_THAT(response, HasSubstr("vigia_build_info"));
}

TEST(MetricsServer, RejectsAnAddressWithoutAPort) {
  auto server = MetricsServer::Start("127.0.0.1", NewMetricsRegistry());
  EXPECT_EQ(server.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(server.status().message()),
              HasSubstr("not host:port"));
}

TEST(MetricsServer, ReportsAPortInUseAsUnavailable) {
  auto registry = NewMetricsRegistry();
  auto first = MetricsServer::Start("127.0.0.1:0", registry);
  ASSERT_TRUE(first.ok()) << first.status();
  auto second = MetricsServer::Start(
      "127.0.0.1:" + std::to_string((*first)->port()), registry);
  EXPECT_EQ(second.status().code(), absl::StatusCode::kUnavailable);
}

// An Authorization header for `user`:`password`.
std::string Basic(const std::string& user, const std::string& password) {
  return "Authorization: Basic " + absl::Base64Escape(user + ":" + password) +
         "\r\n";
}

MetricsAuthConfig PlainAuth(const std::string& user, const std::string& pw) {
  MetricsAuthConfig auth;
  auth.username = user;
  auth.secret = pw;
  return auth;
}

TEST(MetricsServer, BasicAuthAnswers401WithoutTheRightCredentials) {
  auto server = MetricsServer::Start("127.0.0.1:0", NewMetricsRegistry(),
                                     PlainAuth("prometheus", "s3cret"));
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();
  const std::string ok =
      HttpGet(port, "/metrics", 20, Basic("prometheus", "s3cret"));
  EXPECT_THAT(ok, HasSubstr("200 OK"));
  EXPECT_THAT(ok, HasSubstr("vigia_build_info"));
  for (const std::string& headers :
       {std::string(), Basic("prometheus", "s3cre"),
        Basic("prometheus", "s3cret!"), Basic("Prometheus", "s3cret"),
        Basic("", ""), std::string("Authorization: Bearer s3cret\r\n")}) {
    const std::string refused = HttpGet(port, "/metrics", 20, headers);
    EXPECT_THAT(refused, HasSubstr(" 401 ")) << headers;
    EXPECT_THAT(refused, HasSubstr("WWW-Authenticate: Basic")) << headers;
    EXPECT_THAT(refused, Not(HasSubstr("vigia_build_info"))) << headers;
  }
}

TEST(MetricsServer, BasicAuthChecksACryptHashAndRemembersNoWrongPassword) {
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  ASSERT_NE(crypt_gensalt_rn("$2b$", 4, nullptr, 0, setting, sizeof(setting)),
            nullptr);
  struct crypt_data data {};
  const char* hash = crypt_rn("hunter2", setting, &data, sizeof(data));
  ASSERT_NE(hash, nullptr);
  MetricsAuthConfig auth = PlainAuth("p", hash);
  auth.hashed = true;
  auto server = MetricsServer::Start("127.0.0.1:0", NewMetricsRegistry(), auth);
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();
  // The hash itself is not a password.
  EXPECT_THAT(HttpGet(port, "/metrics", 20, Basic("p", hash)),
              HasSubstr(" 401 "));
  // Twice each way: the second right one comes from the remembered digest,
  // and a wrong one after it is still refused.
  for (int i = 0; i < 2; ++i) {
    EXPECT_THAT(HttpGet(port, "/metrics", 20, Basic("p", "hunter2")),
                HasSubstr("200 OK"));
    EXPECT_THAT(HttpGet(port, "/metrics", 20, Basic("p", "hunter3")),
                HasSubstr(" 401 "));
    EXPECT_THAT(HttpGet(port, "/metrics", 20, Basic("q", "hunter2")),
                HasSubstr(" 401 "));
  }
}

TEST(MetricsServer, HealthyWhileServingAndReadyOnlyWhenTheDaemonSaysSo) {
  auto readiness = std::make_shared<Readiness>("not yet assigned partitions");
  // The probes need no credentials, even with basic auth on /metrics.
  auto server = MetricsServer::Start("127.0.0.1:0", NewMetricsRegistry(),
                                     PlainAuth("p", "s3cret"),
                                     MetricsTlsConfig(), readiness);
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();
  EXPECT_THAT(HttpGet(port, "/-/healthy", 20), HasSubstr("200 OK"));
  std::string not_ready = HttpGet(port, "/-/ready", 20);
  EXPECT_THAT(not_ready, HasSubstr(" 503 Service Unavailable\r\n"));
  EXPECT_THAT(not_ready, HasSubstr("\r\n\r\nnot ready: not yet assigned "
                                   "partitions\n"));
  readiness->SetNotReady("catching up: 2 of 3 assigned partitions");
  EXPECT_THAT(HttpGet(port, "/-/ready", 20),
              HasSubstr("not ready: catching up: 2 of 3 assigned partitions"));
  readiness->SetReady();
  EXPECT_THAT(HttpGet(port, "/-/ready", 20), HasSubstr("200 OK"));
  readiness->SetNotReady("stopping");
  EXPECT_THAT(HttpGet(port, "/-/ready", 20), HasSubstr(" 503 "));
  EXPECT_THAT(HttpGet(port, "/-/healthy", 20), HasSubstr("200 OK"));
  // /metrics still wants its password.
  EXPECT_THAT(HttpGet(port, "/metrics", 20), HasSubstr(" 401 "));
}

TEST(MetricsServer, ReadyWithoutAReadinessAndNotFoundElsewhere) {
  auto server = MetricsServer::Start("127.0.0.1:0", NewMetricsRegistry());
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();
  EXPECT_THAT(HttpGet(port, "/-/ready", 20), HasSubstr("200 OK"));
  for (const char* path : {"/", "/metricsx", "/-/", "/metrics/", "/../etc"}) {
    EXPECT_THAT(HttpGet(port, path, 20), HasSubstr(" 404 Not Found")) << path;
  }
  // A query string is ignored, as Prometheus's own params would be.
  const std::string with_query = HttpGet(port, "/metrics?x=1", 20);
  EXPECT_THAT(with_query, HasSubstr("200 OK"));
  EXPECT_THAT(with_query, HasSubstr("Content-Type: text/plain; version=0.0.4; "
                                    "charset=utf-8\r\n"));
}

TEST(MetricsServer, CountsItsOwnRequestsAndRefusals) {
  HttpServerLimits limits;
  limits.max_connections = 2;
  limits.request_timeout = absl::Hours(1);
  auto server = MetricsServer::Start("127.0.0.1:0", NewMetricsRegistry(),
                                     MetricsAuthConfig(), MetricsTlsConfig(),
                                     nullptr, limits);
  ASSERT_TRUE(server.ok()) << server.status();
  const int port = (*server)->port();
  EXPECT_THAT(HttpGet(port, "/nowhere", 20), HasSubstr(" 404 "));
  EXPECT_THAT(HttpGet(port, "/metrics\x01", 20), HasSubstr(" 400 "));
  // Two slow clients fill the port; the scrape closes the older one.
  const int first = test_servers::ConnectLoopback(port),
            second = test_servers::ConnectLoopback(port);
  ASSERT_GE(first, 0);
  ASSERT_GE(second, 0);
  const std::string scrape = HttpGet(port, "/metrics", 20);
  ::close(first);
  ::close(second);
  EXPECT_THAT(scrape, HasSubstr("\nvigia_metrics_port_requests_total 2\n"));
  EXPECT_THAT(scrape, HasSubstr("\nvigia_metrics_port_bad_requests_total 1\n"));
  EXPECT_THAT(scrape, HasSubstr("vigia_metrics_port_connections_closed_total{"
                                "reason=\"evicted\"} 1\n"));
  EXPECT_THAT(scrape, HasSubstr("vigia_metrics_port_connections_closed_total{"
                                "reason=\"timeout\"} 0\n"));
  EXPECT_THAT(scrape, HasSubstr("\nvigia_metrics_port_open_connections 2\n"));
  EXPECT_THAT(scrape, HasSubstr("vigia_metrics_port_tls_reloads_total{"
                                "result=\"failed\"} 0\n"));
}

TEST(MetricsServer, RefusesAPortSuffixAndAUserWithoutPassword) {
  // A port suffix ("s" for TLS in civetweb) is refused, not ignored.
  auto tls = MetricsServer::Start("127.0.0.1:0s", NewMetricsRegistry());
  EXPECT_EQ(tls.status().code(), absl::StatusCode::kInvalidArgument);
  auto no_password = MetricsServer::Start("127.0.0.1:0", NewMetricsRegistry(),
                                          PlainAuth("p", ""));
  EXPECT_EQ(no_password.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(MetricsServer, VersionIsTheProjectVersion) {
  EXPECT_STRNE(VigiaVersion(), "unknown");
  EXPECT_THAT(std::string(VigiaVersion()),
              ::testing::MatchesRegex("[0-9]+\\.[0-9]+\\.[0-9]+"));
}

}  // namespace
}  // namespace vigia
