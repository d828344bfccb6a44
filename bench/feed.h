// The benchmark's feed: generated NDJSON lines kept in one buffer, padded for
// simdjson, so every measurement parses the same bytes in place. Built once
// on the main thread, then only read (any thread may read it).
#ifndef VIGIA_BENCH_FEED_H_
#define VIGIA_BENCH_FEED_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vigia::bench {

struct FeedLine {
  uint64_t offset = 0;  // into Feed::buffer
  uint32_t size = 0;
  bool ad = false;          // goes to the ads topic
  std::string_view target;  // the Kafka key (view into the buffer)
};

struct Feed {
  std::string buffer;  // lines separated by '\n', then simdjson padding
  std::vector<FeedLine> lines;
  int64_t bytes = 0;  // payload bytes (no newlines, no padding)

  std::string_view line(size_t i) const {
    return std::string_view(buffer).substr(lines[i].offset, lines[i].size);
  }
  // Readable bytes from the start of line i (the rest of the buffer).
  size_t capacity(size_t i) const { return buffer.size() - lines[i].offset; }
};

}  // namespace vigia::bench

#endif  // VIGIA_BENCH_FEED_H_
