#include "pipeline/kafka/feed_streamer.h"

#include <simdjson.h>

#include <algorithm>
#include <chrono>
#include <optional>
#include <thread>

#include "absl/strings/str_cat.h"
#include "pipeline/core/time.h"
#include "pipeline/kafka/producer.h"

namespace vigia {
namespace {

using SteadyClock = std::chrono::steady_clock;

// Where one line goes: which feed, keyed by which target, and when (event
// time) it is due.
struct Routing {
  bool is_ad = false;
  std::string target;
  std::optional<absl::Time> time;
};

Routing Route(simdjson::dom::parser& parser, std::string_view line) {
  Routing r;
  simdjson::dom::element doc;
  if (parser.parse(line.data(), line.size()).get(doc) != simdjson::SUCCESS) {
    return r;
  }
  simdjson::dom::element payer;
  r.is_ad = doc["payer"].get(payer) == simdjson::SUCCESS;
  std::string_view s;
  if (doc["target"].get_string().get(s) == simdjson::SUCCESS) {
    r.target = std::string(s);
  }
  if (doc["created_at"].get_string().get(s) == simdjson::SUCCESS) {
    absl::StatusOr<absl::Time> t = ParseRfc3339(s);
    if (t.ok()) r.time = *t;
  }
  return r;
}

}  // namespace

absl::Status FeedStreamer::Run(LineReader& reader,
                               const std::atomic<bool>& stop) {
  ProducerOptions po;
  po.brokers = options_.brokers;
  po.settings = options_.settings;
  po.client_id = options_.client_id;
  absl::StatusOr<std::unique_ptr<Producer>> producer = Producer::Create(po);
  if (!producer.ok()) return producer.status();
  simdjson::dom::parser parser;
  std::optional<absl::Time> first;
  absl::Time newest = absl::InfinitePast();
  const auto wall_start = SteadyClock::now();
  while (!stop.load()) {
    absl::StatusOr<Line> line = reader.Next();
    if (absl::IsOutOfRange(line.status())) break;
    if (!line.ok()) {
      (*producer)->Flush(options_.flush_timeout).IgnoreError();
      return line.status();
    }
    const Routing r = Route(parser, line->bytes);
    if (r.time) {
      if (!first) first = r.time;
      // Pace by the newest time seen: late records go out at once.
      newest = std::max(newest, *r.time);
      span_us_.store(absl::ToInt64Microseconds(newest - *first));
      if (options_.speedup > 0) {
        const auto due =
            wall_start + std::chrono::microseconds(static_cast<int64_t>(
                             absl::ToDoubleMicroseconds(newest - *first) /
                             options_.speedup));
        while (!stop.load() && SteadyClock::now() < due) {
          (*producer)->Poll();
          std::this_thread::sleep_for(std::min<SteadyClock::duration>(
              due - SteadyClock::now(), std::chrono::milliseconds(50)));
        }
      }
    }
    OutMessage m;
    m.topic = r.is_ad ? options_.ads_topic : options_.posts_topic;
    m.key = r.target;
    m.value = std::string(line->bytes);
    m.output = "feed";
    (*producer)->Produce(std::move(m));
    if (r.is_ad) ++ads_;
    if (r.target.empty()) ++unkeyed_;
    if (++sent_ % 1000 == 0) (*producer)->Poll();
  }
  return (*producer)->Flush(options_.flush_timeout);
}

}  // namespace vigia
