#include "pipeline/kafka/mock_cluster.h"

#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "pipeline/core/log.h"
#include "pipeline/core/strings.h"
#include "pipeline/kafka/settings.h"

namespace vigia {

std::vector<std::string> DefaultTopics() {
  // With kafka.repartition the default group also needs its repartition
  // topics (docs/kafka.md).
  return {"vigia.posts",        "vigia.ads",   "vigia.dlq",
          "vigia.alerts",       "vigia.state", "vigia-posts-by-target",
          "vigia-ads-by-target"};
}

namespace {

// The local port of a bound IPv4 or IPv6 socket, or -1.
int LocalPort(int fd) {
  sockaddr_storage addr;
  socklen_t len = sizeof(addr);
  if (getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    return -1;
  }
  if (addr.ss_family == AF_INET) {
    return ntohs(reinterpret_cast<const sockaddr_in*>(&addr)->sin_port);
  }
  if (addr.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_port);
  }
  return -1;
}

}  // namespace

int DisableNagleOnListeners(std::string_view bootstrap) {
  absl::flat_hash_set<int> ports;
  for (absl::string_view server : absl::StrSplit(ToAbsl(bootstrap), ',')) {
    int port;
    const size_t colon = server.rfind(':');
    if (colon != absl::string_view::npos &&
        absl::SimpleAtoi(server.substr(colon + 1), &port)) {
      ports.insert(port);
    }
  }
  // The mock offers no hook on its sockets, so they are found among this
  // process's descriptors: listening TCP sockets on the brokers' ports.
  int set = 0;
  DIR* dir = opendir("/proc/self/fd");
  if (dir == nullptr) return 0;
  while (const dirent* entry = readdir(dir)) {
    int fd;
    if (!absl::SimpleAtoi(entry->d_name, &fd) || fd == dirfd(dir)) continue;
    int listening = 0;
    socklen_t len = sizeof(listening);
    if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 ||
        listening == 0 || !ports.contains(LocalPort(fd))) {
      continue;
    }
    const int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0) {
      ++set;
    }
  }
  closedir(dir);
  return set;
}

absl::StatusOr<std::unique_ptr<MockCluster>> MockCluster::Start(
    int brokers, int partitions, const std::vector<std::string>& topics) {
  if (brokers < 1 || partitions < 1) {
    return absl::InvalidArgumentError(absl::StrCat(
        "mock cluster needs at least 1 broker and 1 partition, got ", brokers,
        " and ", partitions));
  }
  std::unique_ptr<MockCluster> mc(new MockCluster());
  KafkaConfPtr conf(rd_kafka_conf_new());
  RouteKafkaLogs(conf.get());
  // The anchor handle has no bootstrap.servers by design; keep its notice
  // about that out of the log.
  rd_kafka_conf_set(conf.get(), "log_level", "4", nullptr, 0);
  char errstr[512];
  // The handle only anchors the cluster; it never produces.
  mc->handle_ =
      rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), errstr, sizeof(errstr));
  if (mc->handle_ == nullptr) {
    return absl::InternalError(
        absl::StrCat("cannot create mock cluster handle: ", errstr));
  }
  conf.release();
  mc->cluster_ = rd_kafka_mock_cluster_new(mc->handle_, brokers);
  if (mc->cluster_ == nullptr) {
    return absl::InternalError("cannot start the mock kafka cluster");
  }
  mc->brokers_ = brokers;
  mc->bootstrap_ = rd_kafka_mock_cluster_bootstraps(mc->cluster_);
  mc->DisableNagle();
  for (const std::string& topic : topics) {
    if (absl::Status s = mc->CreateTopic(topic, partitions); !s.ok()) return s;
  }
  return mc;
}

void MockCluster::DisableNagle() {
  const int set = DisableNagleOnListeners(bootstrap_);
  if (set < brokers_) {
    VIGIA_LOG(WARNING) << "mock kafka: TCP_NODELAY set on " << set << " of "
                       << brokers_ << " broker listeners; the others answer "
                       << "with Nagle's delays";
  }
}

MockCluster::~MockCluster() {
  if (cluster_ != nullptr) rd_kafka_mock_cluster_destroy(cluster_);
  if (handle_ != nullptr) rd_kafka_destroy(handle_);
}

absl::Status MockCluster::CreateTopic(const std::string& topic,
                                      int partitions) {
  const rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(
      cluster_, topic.c_str(), partitions, std::min(brokers_, 3));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::InternalError(absl::StrCat("cannot create mock topic ", topic,
                                            ": ", rd_kafka_err2str(err)));
  }
  return absl::OkStatus();
}

absl::Status MockCluster::SetBrokerDown(int32_t id) {
  const rd_kafka_resp_err_t err = rd_kafka_mock_broker_set_down(cluster_, id);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot take mock broker ", id, " down: ", rd_kafka_err2str(err)));
  }
  return absl::OkStatus();
}

absl::Status MockCluster::SetBrokerUp(int32_t id) {
  const rd_kafka_resp_err_t err = rd_kafka_mock_broker_set_up(cluster_, id);
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return absl::InvalidArgumentError(absl::StrCat(
        "cannot bring mock broker ", id, " up: ", rd_kafka_err2str(err)));
  }
  // In case the broker listens anew.
  DisableNagle();
  return absl::OkStatus();
}

absl::Status RunMockKafka(int brokers, int partitions,
                          const std::atomic<bool>& stop, std::ostream& out) {
  absl::StatusOr<std::unique_ptr<MockCluster>> mc =
      MockCluster::Start(brokers, partitions, DefaultTopics());
  if (!mc.ok()) return mc.status();
  out << (*mc)->bootstrap() << std::endl;
  VIGIA_LOG(INFO)
      << "mock kafka: " << brokers << " broker(s), topics "
      << "vigia.posts, vigia.ads, vigia.dlq, vigia.alerts, vigia.state with "
      << partitions << " partition(s) each, at " << (*mc)->bootstrap();
  while (!stop.load()) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  VIGIA_LOG(INFO) << "mock kafka: stopping";
  return absl::OkStatus();
}

}  // namespace vigia
