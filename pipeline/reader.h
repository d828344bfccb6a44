// Reads an archived NDJSON feed line by line: plain, gzip (.gz) or
// zstandard (.zst), chosen by the file's magic bytes rather than its name.
//
// Each line is handed out padded for simdjson (Decoder::padding() readable
// bytes after its end), from a buffer the reader reuses, so reading
// allocates nothing per line in steady state. Not thread-safe.
#ifndef VIGIA_PIPELINE_READER_H_
#define VIGIA_PIPELINE_READER_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace vigia {

struct Line {
  // Without the trailing '\n'; a '\r' before it (CRLF) is kept, as every
  // other byte of the record.
  std::string_view bytes;
  size_t capacity = 0;  // readable bytes from bytes.data(), >= padded
  int64_t number = 0;   // 1-based
};

class LineReader {
 public:
  virtual ~LineReader() = default;
  // Returns the next line, which stays valid until the next call. Returns
  // OutOfRange at end of input, another error if the file cannot be read.
  // Lines longer than `max_line_bytes` are still returned whole if memory
  // allows, so the decoder can reject them as oversize and dead-letter them.
  virtual absl::StatusOr<Line> Next() = 0;
  // Bytes consumed from the underlying file so far (compressed size), and
  // its total size when known (-1 otherwise): for progress reports.
  virtual int64_t bytes_read() const = 0;
  virtual int64_t total_bytes() const = 0;
};

// Opens `path` ("-" for standard input).
absl::StatusOr<std::unique_ptr<LineReader>> OpenLineReader(
    const std::string& path);

}  // namespace vigia

#endif  // VIGIA_PIPELINE_READER_H_
