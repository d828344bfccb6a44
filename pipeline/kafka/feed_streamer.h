// FeedStreamer: writes an archived feed (NDJSON posts and ads, plain, .gz or
// .zst) into the feed topics the way production feeds must arrive: posts
// and ads on their own topics, each keyed by its target (docs/kafka.md), in
// the archive's order, paced by event time `speedup` times faster than
// real time (0: as fast as the brokers take it). A drill streams an
// archive through the real daemon, Alertmanager and pager path with it
// (`vigia drill`); `vigia demo` streams its generated scenario with it.
//
// Pacing follows the newest event time seen, so late records go out at
// once; lines that are not JSON, or have no target, go to the posts topic
// unkeyed, for the daemon to dead-letter with their reason. Nothing is
// dropped: the producer retries until the brokers acknowledge.
//
// Run() blocks the calling thread and reads the wall clock (steady) to pace:
// it feeds a system, it is not part of one. The counters may be read from
// any thread while it runs.
#ifndef VIGIA_PIPELINE_KAFKA_FEED_STREAMER_H_
#define VIGIA_PIPELINE_KAFKA_FEED_STREAMER_H_

#include <atomic>
#include <cstdint>
#include <string>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "pipeline/kafka/settings.h"
#include "pipeline/reader.h"

namespace vigia {

struct FeedStreamerOptions {
  std::string brokers;
  // Passthrough librdkafka settings (security, SASL, TLS).
  KafkaSettings settings;
  std::string posts_topic = "vigia.posts";
  std::string ads_topic = "vigia.ads";
  // Event time runs this many times faster than wall time; 0 = unpaced.
  double speedup = 0;
  std::string client_id = "vigia-feed";
  // How long the final flush may wait for acknowledgements.
  absl::Duration flush_timeout = absl::Seconds(60);
};

class FeedStreamer {
 public:
  explicit FeedStreamer(FeedStreamerOptions options)
      : options_(std::move(options)) {}

  // Streams every line of `reader` until its end or `stop`, then waits for
  // the acknowledgements. Fails when the producer cannot be created, the
  // input cannot be read to its end, or the flush does not complete.
  absl::Status Run(LineReader& reader, const std::atomic<bool>& stop);

  int64_t sent() const { return sent_.load(); }
  int64_t ads() const { return ads_.load(); }
  int64_t unkeyed() const { return unkeyed_.load(); }
  // The event-time span streamed (first to newest), zero before two times.
  absl::Duration span() const { return absl::Microseconds(span_us_.load()); }

 private:
  const FeedStreamerOptions options_;
  std::atomic<int64_t> sent_{0};
  std::atomic<int64_t> ads_{0};
  std::atomic<int64_t> unkeyed_{0};
  std::atomic<int64_t> span_us_{0};
};

}  // namespace vigia

#endif  // VIGIA_PIPELINE_KAFKA_FEED_STREAMER_H_
