#include "pipeline/metrics/metrics_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vigia {
namespace {

using ::testing::HasSubstr;

// A TCP connection to 127.0.0.1:`port`, or -1.
int Connect(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// A minimal HTTP/1.0 GET over a plain socket to 127.0.0.1:`port`. With
// `timeout_s`, the answer must start within that many seconds.
std::string HttpGet(int port, const std::string& path, int timeout_s = 0) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return "";
  if (timeout_s > 0) {
    timeval tv{timeout_s, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  }
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  std::string response;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const std::string request =
        "GET " + path + " HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n";
    if (::send(fd, request.data(), request.size(), 0) ==
        static_cast<ssize_t>(request.size())) {
      char buf[4096];
      ssize_t n;
      while ((n = ::recv(fd, buf, sizeof(buf), 0)) > 0) response.append(buf, n);
    }
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
    const int fd = Connect((*server)->port());
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

TEST(MetricsServer, VersionIsTheProjectVersion) {
  EXPECT_STRNE(VigiaVersion(), "unknown");
  EXPECT_THAT(std::string(VigiaVersion()),
              ::testing::MatchesRegex("[0-9]+\\.[0-9]+\\.[0-9]+"));
}

}  // namespace
}  // namespace vigia
