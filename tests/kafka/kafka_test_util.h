// Helpers for the Kafka integration tests: a small synthetic feed (steady
// background plus one coordinated surge), producing it into the mock
// cluster, reading topics back, replaying the same lines in-process, and
// running a Daemon on a thread.
#ifndef VIGIA_TESTS_KAFKA_KAFKA_TEST_UTIL_H_
#define VIGIA_TESTS_KAFKA_KAFKA_TEST_UTIL_H_

#include <librdkafka/rdkafka.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "pipeline/config.h"
#include "pipeline/kafka/daemon.h"
#include "pipeline/kafka/mock_cluster.h"

namespace vigia::testing {

// One feed line and where it is sent: posts are keyed (and partitioned) by
// target, as docs/kafka.md requires.
struct FeedLine {
  std::string json;
  std::string target;
  absl::Time time;
  bool ad = false;  // an ad (for the ads topic), else a post
};

// Four targets with a steady foreign-origin background each (and some
// domestic posts), for `hours`; on MD<-RU a coordinated surge of
// `surge_per_min` extra posts per minute for 20 minutes starting at
// `surge_at`. Sorted by event time.
std::vector<FeedLine> SurgeFeed(absl::Duration hours = absl::Hours(4),
                                absl::Duration surge_at = absl::Minutes(150),
                                int surge_per_min = 20);
// The feed's targets, in partition order.
const std::vector<std::string>& FeedTargets();

// A generated scenario (pipeline/gen) in the order its archive lists the
// lines, each with its target and event time. Late events and bad lines
// are for the replay tests; the scenarios here should turn them off.
absl::StatusOr<std::vector<FeedLine>> GenerateFeed(std::string_view yaml);
// The lines of `feed` that are ads (`ads`) or posts.
std::vector<FeedLine> OnlyAds(const std::vector<FeedLine>& feed, bool ads);

// Which detectors TestConfig() enables.
enum class Detectors {
  // foreign_origin_surge only: the one whose behaviour on SurgeFeed() is
  // known; the Kafka plumbing tests use it.
  kSurgeOnly,
  // Every detector, as the defaults have them.
  kAll,
};
// Defaults with no daily cycle for foreign_origin_surge (the feeds are
// hours long) and a 5 s idle timeout, so partitions that carry nothing
// stop holding the watermark back soon; only foreign_origin_surge enabled
// unless `detectors` is kAll.
Config TestConfig(Detectors detectors = Detectors::kSurgeOnly);

// Waits until the daemon's watermark of `feed` ("posts" or "ads", as its
// metrics show it) has reached `t`; false on timeout.
bool WaitForWatermark(Daemon& daemon, absl::Time t, absl::Duration timeout,
                      std::string_view feed = "posts");

// An alert record as read back from JSON, reduced to what identifies it.
struct AlertRecord {
  std::string detector;
  std::string id;
  std::string state;
  std::string severity;
  std::string target;
  std::string origin;
  std::string window_end;
  friend auto operator<=>(const AlertRecord&, const AlertRecord&) = default;
  friend void PrintTo(const AlertRecord& a, std::ostream* os) {
    *os << a.detector << " " << a.id << " " << a.state << " " << a.severity
        << " " << a.target << "<-" << a.origin << " " << a.window_end;
  }
};
absl::StatusOr<AlertRecord> ParseAlertJson(std::string_view json);

// Runs the lines through a Pipeline in-process as replay does (no clock),
// then Finish(); returns the alerts in order.
std::vector<AlertRecord> ReplayAlerts(const std::vector<FeedLine>& lines,
                                      const Config& config);

// Keeps only alerts whose window ended at or before `cutoff` (RFC 3339).
std::vector<AlertRecord> EndingBy(std::vector<AlertRecord> alerts,
                                  absl::Time cutoff);

// The partition a target's records go to: its index in FeedTargets(), or
// for other targets a fixed function of its code, modulo `partitions`.
int32_t PartitionOf(std::string_view target, int partitions);

// Produces `lines` to `topic`: partition = PartitionOf(target), key =
// target. Waits for every acknowledgement.
absl::Status ProduceFeed(const std::string& bootstrap, const std::string& topic,
                         const std::vector<FeedLine>& lines, int partitions);
// Produces raw values (key empty) to one partition.
absl::Status ProduceRaw(const std::string& bootstrap, const std::string& topic,
                        int32_t partition,
                        const std::vector<std::string>& values);

// Destroys a test consumer without leaving or committing for its group
// (tests read with assign(), or only ask the group coordinator).
struct TestConsumerDeleter {
  void operator()(rd_kafka_t* rk) const;
};
using TestConsumer = std::unique_ptr<rd_kafka_t, TestConsumerDeleter>;

// A consumer of `group` that never commits by itself, for tests that read
// topics or committed offsets beside the daemon.
absl::StatusOr<TestConsumer> NewTestConsumer(const std::string& bootstrap,
                                             const std::string& group);

struct TopicRecord {
  int32_t partition = 0;
  int64_t offset = 0;
  std::string key;
  std::string value;
  std::map<std::string, std::string> headers;
};
// Reads every record of `topic` (all `partitions`) from the beginning to the
// current end.
absl::StatusOr<std::vector<TopicRecord>> ReadTopic(const std::string& bootstrap,
                                                   const std::string& topic,
                                                   int partitions);

// The offsets `group` has committed on `topic`'s partitions (partitions
// without a commit are left out).
absl::StatusOr<std::map<int32_t, int64_t>> CommittedOffsets(
    const std::string& bootstrap, const std::string& group,
    const std::string& topic, int partitions);

// Thread-safe set of (partition, offset) the daemon reports as handled.
class Handled {
 public:
  void Add(const SourceRef& s);
  int64_t distinct() const;
  int64_t total() const;
  std::set<std::pair<int32_t, int64_t>> Snapshot() const;
  // Waits until at least `n` distinct records were handled; false on timeout.
  bool WaitFor(int64_t n, absl::Duration timeout) const;

 private:
  mutable absl::Mutex mu_;
  std::set<std::pair<int32_t, int64_t>> seen_ ABSL_GUARDED_BY(mu_);
  int64_t total_ ABSL_GUARDED_BY(mu_) = 0;
};

// A daemon running on its own thread until Stop().
class DaemonThread {
 public:
  DaemonThread(const Config& config, DaemonOptions options);
  ~DaemonThread();
  // The Create() status; the thread only runs if it is OK.
  const absl::Status& create_status() const { return create_status_; }
  Daemon& daemon() { return *daemon_; }
  // Waits until the daemon has an assignment of `partitions` partitions.
  bool WaitForAssignment(int partitions, absl::Duration timeout);
  // Sets the stop flag and returns Run()'s status.
  absl::Status Stop();
  std::atomic<bool>& stop_flag() { return stop_; }

 private:
  std::unique_ptr<Daemon> daemon_;
  absl::Status create_status_;
  absl::Status run_status_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// Options for a daemon against `bootstrap`: no metrics server, fast
// checkpoints and statistics.
DaemonOptions TestDaemonOptions(const std::string& bootstrap,
                                const std::string& group);

}  // namespace vigia::testing

#endif  // VIGIA_TESTS_KAFKA_KAFKA_TEST_UTIL_H_
