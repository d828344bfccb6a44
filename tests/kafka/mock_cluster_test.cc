#include "pipeline/kafka/mock_cluster.h"

#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/kafka/kafka_test_util.h"

namespace vigia {
namespace {

TEST(MockCluster, CreatesTheDefaultTopicsReachableOverTcp) {
  auto mc = MockCluster::Start(2, 3, DefaultTopics());
  ASSERT_TRUE(mc.ok()) << mc.status();
  EXPECT_THAT(
      (*mc)->bootstrap(),
      ::testing::MatchesRegex("127\\.0\\.0\\.1:[0-9]+,127\\.0\\.0\\.1:[0-9]+"));
  for (const std::string& topic : DefaultTopics()) {
    ASSERT_TRUE(
        testing::ProduceRaw((*mc)->bootstrap(), topic, 2, {"hello"}).ok())
        << topic;
    auto records = testing::ReadTopic((*mc)->bootstrap(), topic, 3);
    ASSERT_TRUE(records.ok()) << records.status();
    ASSERT_EQ(records->size(), 1u) << topic;
    EXPECT_EQ((*records)[0].partition, 2);
    EXPECT_EQ((*records)[0].value, "hello");
  }
}

// Whether the socket `fd` is listening, and its TCP_NODELAY; the local port,
// or -1 for a descriptor that is no IPv4 TCP socket.
struct SocketInfo {
  int port = -1;
  bool listening = false;
  bool nodelay = false;
};

SocketInfo Inspect(int fd) {
  SocketInfo info;
  sockaddr_in addr;
  socklen_t len = sizeof(addr);
  int type = 0;
  socklen_t type_len = sizeof(type);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0 ||
      addr.sin_family != AF_INET ||
      getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &type_len) != 0 ||
      type != SOCK_STREAM) {
    return info;
  }
  info.port = ntohs(addr.sin_port);
  int v = 0;
  len = sizeof(v);
  getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &v, &len);
  info.listening = v != 0;
  v = 0;
  len = sizeof(v);
  getsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &v, &len);
  info.nodelay = v != 0;
  return info;
}

// This process's TCP sockets whose local port is one of `ports`: the
// brokers' listeners and the connections they accepted.
std::vector<SocketInfo> BrokerSockets(const std::set<int>& ports) {
  std::vector<SocketInfo> found;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return found;
  while (const dirent* entry = readdir(dir)) {
    const int fd = std::atoi(entry->d_name);
    if (fd <= 2 || fd == dirfd(dir)) continue;
    SocketInfo info = Inspect(fd);
    if (ports.count(info.port) > 0) found.push_back(info);
  }
  closedir(dir);
  return found;
}

// A plain TCP connection to 127.0.0.1:`port`, or -1.
int ConnectTo(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr = {};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd >= 0 &&
      connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

// Connects once to each of `ports` and returns the brokers' sockets once
// the mock has accepted every connection (or after 10 s).
std::vector<SocketInfo> ConnectAndInspect(const std::set<int>& ports) {
  std::vector<int> clients;
  for (int port : ports) clients.push_back(ConnectTo(port));
  std::vector<SocketInfo> sockets;
  for (int i = 0; i < 1000; ++i) {
    sockets = BrokerSockets(ports);
    const auto accepted =
        std::count_if(sockets.begin(), sockets.end(),
                      [](const SocketInfo& s) { return !s.listening; });
    if (accepted >= static_cast<long>(ports.size())) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  for (int fd : clients) {
    if (fd >= 0) close(fd);
  }
  return sockets;
}

TEST(MockCluster, BrokersAnswerWithoutNaglesDelayLikeAKafkaBroker) {
  auto mc = MockCluster::Start(2, 2, {"t"});
  ASSERT_TRUE(mc.ok()) << mc.status();
  std::set<int> ports;
  for (absl::string_view server : absl::StrSplit((*mc)->bootstrap(), ',')) {
    int port = 0;
    ASSERT_TRUE(absl::SimpleAtoi(server.substr(server.rfind(':') + 1), &port));
    ports.insert(port);
  }
  ASSERT_EQ(ports.size(), 2u);
  auto expect_nodelay = [&](const std::vector<SocketInfo>& sockets) {
    int listeners = 0, accepted = 0;
    for (const SocketInfo& s : sockets) {
      ++(s.listening ? listeners : accepted);
      EXPECT_TRUE(s.nodelay)
          << "port " << s.port << (s.listening ? " (listener)" : " (accepted)");
    }
    EXPECT_EQ(listeners, 2);
    EXPECT_GE(accepted, 2);
  };
  {
    SCOPED_TRACE("after Start");
    expect_nodelay(ConnectAndInspect(ports));
  }
  // Down and up again, a broker still answers without Nagle's delay.
  ASSERT_TRUE((*mc)->SetBrokerDown(1).ok());
  ASSERT_TRUE((*mc)->SetBrokerUp(1).ok());
  {
    SCOPED_TRACE("after SetBrokerUp");
    expect_nodelay(ConnectAndInspect(ports));
  }
  // And it still serves clients.
  ASSERT_TRUE(testing::ProduceRaw((*mc)->bootstrap(), "t", 0, {"x"}).ok());
  auto records = testing::ReadTopic((*mc)->bootstrap(), "t", 2);
  ASSERT_TRUE(records.ok()) << records.status();
  EXPECT_EQ(records->size(), 1u);
}

TEST(MockCluster, RefusesAClusterWithoutBrokers) {
  auto mc = MockCluster::Start(0, 1, {});
  EXPECT_EQ(mc.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(RunMockKafka, PrintsTheBootstrapAddressAsItsFirstLineAndStopsWhenAsked) {
  std::atomic<bool> stop{false};
  std::ostringstream out;
  absl::Status status;
  std::thread t([&] { status = RunMockKafka(1, 2, stop, out); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  stop.store(true);
  t.join();
  EXPECT_TRUE(status.ok()) << status;
  EXPECT_THAT(out.str(), ::testing::MatchesRegex("127\\.0\\.0\\.1:[0-9]+\n"));
}

}  // namespace
}  // namespace vigia
