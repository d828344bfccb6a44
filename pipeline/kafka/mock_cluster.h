// MockCluster: librdkafka's built-in mock Kafka cluster, started in this
// process and reachable over real TCP on 127.0.0.1 by any client. It backs
// `vigia mock-kafka`, `vigia demo` and the Kafka integration tests.
//
// The mock supports produce (idempotent too), fetch, consumer groups and
// offset commits, and can take brokers down or inject request errors. It
// keeps only a few MB per partition (older messages are deleted), so feed
// it as a stream. The cluster lives on a dedicated producer handle owned by
// this object. Thread-safe as far as librdkafka's mock API is.
//
// The brokers' sockets get TCP_NODELAY, as a Kafka broker sets on every
// connection it accepts: the mock leaves Nagle's algorithm on, and a reply
// written while the client delayed its ACK waited about 40 ms (measured
// with a paced producer: delivery max 40-50 ms, 4-8 ms with TCP_NODELAY).
#ifndef VIGIA_PIPELINE_KAFKA_MOCK_CLUSTER_H_
#define VIGIA_PIPELINE_KAFKA_MOCK_CLUSTER_H_

#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <atomic>
#include <memory>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace vigia {

// vigia's default topics: posts, ads, dead letters, alerts.
std::vector<std::string> DefaultTopics();

class MockCluster {
 public:
  // Starts `brokers` brokers (ids 1..brokers) and creates each of `topics`
  // with `partitions` partitions.
  static absl::StatusOr<std::unique_ptr<MockCluster>> Start(
      int brokers, int partitions, const std::vector<std::string>& topics);
  ~MockCluster();
  MockCluster(const MockCluster&) = delete;
  MockCluster& operator=(const MockCluster&) = delete;

  // The bootstrap.servers list, e.g. "127.0.0.1:38421,127.0.0.1:40013".
  const std::string& bootstrap() const { return bootstrap_; }
  int brokers() const { return brokers_; }

  absl::Status CreateTopic(const std::string& topic, int partitions);
  // Disconnects broker `id` (-1: all) and refuses new connections, until
  // SetBrokerUp(). Partition leadership does not move.
  absl::Status SetBrokerDown(int32_t id);
  absl::Status SetBrokerUp(int32_t id);

  // For error injection (rd_kafka_mock_push_request_errors and friends).
  rd_kafka_mock_cluster_t* raw() const { return cluster_; }

 private:
  MockCluster() = default;
  void DisableNagle();
  rd_kafka_t* handle_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::string bootstrap_;
  int brokers_ = 0;
};

// Sets TCP_NODELAY on this process's listening TCP sockets bound to the
// ports of `bootstrap` ("host:port,host:port"); connections they accept
// inherit it (Linux). Returns how many listeners were set.
int DisableNagleOnListeners(std::string_view bootstrap);

// `vigia mock-kafka`: starts a cluster with the default topics, writes its
// bootstrap address as the first line of `out` (flushed at once, so a
// script can read it), and runs until `stop` is set.
absl::Status RunMockKafka(int brokers, int partitions,
                          const std::atomic<bool>& stop, std::ostream& out);

}  // namespace vigia

#endif  // VIGIA_PIPELINE_KAFKA_MOCK_CLUSTER_H_
