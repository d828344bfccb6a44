#include "pipeline/reader.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <algorithm>
#include <cstring>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "pipeline/core/strings.h"
#include "pipeline/decoder.h"

namespace vigia {
namespace {

// Compressed input is read in chunks of this size.
constexpr size_t kInputChunk = 128 << 10;
// Initial size of the line buffer (it doubles for longer lines).
constexpr size_t kInitialLineBuffer = 256 << 10;

absl::Status ErrnoError(int err, std::string_view what,
                        const std::string& path) {
  return absl::ErrnoToStatus(err, absl::StrCat(ToAbsl(what), " ", path));
}

// A file descriptor and the first bytes read from it (kept for sniffing the
// format), with the count of bytes consumed for progress reports.
class RawInput {
 public:
  RawInput(int fd, bool owned, std::string path)
      : fd_(fd), owned_(owned), path_(std::move(path)) {}
  ~RawInput() {
    if (owned_) close(fd_);
  }
  RawInput(const RawInput&) = delete;
  RawInput& operator=(const RawInput&) = delete;

  const std::string& path() const { return path_; }
  int64_t bytes_read() const { return bytes_read_; }

  // Reads up to `n` bytes into `dst`; returns 0 at end of file.
  absl::StatusOr<size_t> Read(char* dst, size_t n) {
    for (;;) {
      const ssize_t got = read(fd_, dst, n);
      if (got >= 0) {
        bytes_read_ += got;
        return static_cast<size_t>(got);
      }
      if (errno != EINTR) return ErrnoError(errno, "cannot read", path_);
    }
  }

  // Reads until `n` bytes or end of file; for sniffing magic bytes from a
  // pipe, which may deliver them in pieces.
  absl::StatusOr<size_t> ReadFully(char* dst, size_t n) {
    size_t total = 0;
    while (total < n) {
      absl::StatusOr<size_t> got = Read(dst + total, n - total);
      if (!got.ok()) return got.status();
      if (*got == 0) break;
      total += *got;
    }
    return total;
  }

 private:
  int fd_;
  bool owned_;
  std::string path_;
  int64_t bytes_read_ = 0;
};

// A stream of decompressed bytes.
class ByteSource {
 public:
  explicit ByteSource(std::unique_ptr<RawInput> input)
      : input_(std::move(input)) {}
  virtual ~ByteSource() = default;
  // Fills up to `n` bytes of `dst`; returns 0 only at the end of the data.
  virtual absl::StatusOr<size_t> Read(char* dst, size_t n) = 0;
  int64_t bytes_read() const { return input_->bytes_read(); }

  // Gives the source the bytes already read for sniffing.
  void Prime(const char* data, size_t n) {
    pending_.assign(data, data + n);
    pending_pos_ = 0;
  }

 protected:
  // Takes up to `n` bytes from the primed bytes, then from the file.
  absl::StatusOr<size_t> ReadRaw(char* dst, size_t n) {
    if (pending_pos_ < pending_.size()) {
      const size_t k = std::min(n, pending_.size() - pending_pos_);
      std::memcpy(dst, pending_.data() + pending_pos_, k);
      pending_pos_ += k;
      return k;
    }
    return input_->Read(dst, n);
  }
  const std::string& path() const { return input_->path(); }

 private:
  std::unique_ptr<RawInput> input_;
  std::vector<char> pending_;
  size_t pending_pos_ = 0;
};

class PlainSource final : public ByteSource {
 public:
  using ByteSource::ByteSource;
  absl::StatusOr<size_t> Read(char* dst, size_t n) override {
    return ReadRaw(dst, n);
  }
};

// gzip via zlib's inflate. A .gz file may hold several members back to back
// (`cat a.gz b.gz`, or pigz/bgzip output); their data is concatenated.
class GzipSource final : public ByteSource {
 public:
  explicit GzipSource(std::unique_ptr<RawInput> input)
      : ByteSource(std::move(input)), in_(kInputChunk) {}
  ~GzipSource() override {
    if (initialized_) inflateEnd(&z_);
  }

  absl::Status Init() {
    std::memset(&z_, 0, sizeof(z_));
    // 16 + MAX_WBITS: expect a gzip header and trailer (and check the CRC).
    if (inflateInit2(&z_, 16 + MAX_WBITS) != Z_OK) {
      return absl::ResourceExhaustedError(
          absl::StrCat("cannot initialize zlib for ", path()));
    }
    initialized_ = true;
    return absl::OkStatus();
  }

  absl::StatusOr<size_t> Read(char* dst, size_t n) override {
    z_.next_out = reinterpret_cast<Bytef*>(dst);
    z_.avail_out = static_cast<uInt>(std::min<size_t>(n, 1u << 30));
    const uInt out_before = z_.avail_out;
    for (;;) {
      if (z_.avail_in == 0 && !eof_) {
        absl::StatusOr<size_t> got = ReadRaw(in_.data(), in_.size());
        if (!got.ok()) return got.status();
        if (*got == 0) {
          eof_ = true;
        } else {
          z_.next_in = reinterpret_cast<Bytef*>(in_.data());
          z_.avail_in = static_cast<uInt>(*got);
        }
      }
      if (z_.avail_in > 0 && member_done_) {
        // More bytes after a complete member: the next member starts.
        if (inflateReset(&z_) != Z_OK) return Corrupt("cannot reset");
        member_done_ = false;
      }
      if (member_done_ && eof_) return out_before - z_.avail_out;
      const int rc = inflate(&z_, Z_NO_FLUSH);
      const size_t produced = out_before - z_.avail_out;
      if (rc == Z_STREAM_END) {
        member_done_ = true;
      } else if (rc == Z_BUF_ERROR) {
        // No progress possible: needs more input (or more output space,
        // which cannot happen here since avail_out > 0 on entry).
        if (eof_ && produced == 0) {
          return absl::DataLossError(
              absl::StrCat("truncated gzip data in ", path()));
        }
      } else if (rc != Z_OK) {
        return Corrupt(z_.msg != nullptr ? z_.msg : "inflate failed");
      }
      if (produced > 0) return produced;
    }
  }

 private:
  absl::Status Corrupt(std::string_view why) {
    return absl::DataLossError(
        absl::StrCat("corrupt gzip data in ", path(), ": ", ToAbsl(why)));
  }

  z_stream z_;
  bool initialized_ = false;
  bool eof_ = false;
  bool member_done_ = false;
  std::vector<char> in_;
};

// zstandard via streaming decompression; consecutive frames are
// concatenated, as the zstd tool does.
class ZstdSource final : public ByteSource {
 public:
  explicit ZstdSource(std::unique_ptr<RawInput> input)
      : ByteSource(std::move(input)),
        ctx_(ZSTD_createDCtx()),
        in_(ZSTD_DStreamInSize()) {}
  ~ZstdSource() override { ZSTD_freeDCtx(ctx_); }

  absl::Status Init() {
    if (ctx_ == nullptr) {
      return absl::ResourceExhaustedError(
          absl::StrCat("cannot initialize zstd for ", path()));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<size_t> Read(char* dst, size_t n) override {
    ZSTD_outBuffer out{dst, n, 0};
    for (;;) {
      if (in_buf_.pos == in_buf_.size && !eof_) {
        absl::StatusOr<size_t> got = ReadRaw(in_.data(), in_.size());
        if (!got.ok()) return got.status();
        if (*got == 0) eof_ = true;
        in_buf_ = ZSTD_inBuffer{in_.data(), *got, 0};
      }
      const size_t in_before = in_buf_.pos;
      // Called even with no input left: the context may still hold
      // decoded bytes that did not fit the previous output buffer.
      const size_t rc = ZSTD_decompressStream(ctx_, &out, &in_buf_);
      if (ZSTD_isError(rc)) {
        return absl::DataLossError(absl::StrCat("corrupt zstd data in ", path(),
                                                ": ", ZSTD_getErrorName(rc)));
      }
      // 0 means a frame is complete and fully flushed. A call that made no
      // progress returns a hint about the next frame, which says nothing.
      if (in_buf_.pos != in_before || out.pos > 0) frame_open_ = rc != 0;
      if (out.pos > 0) return out.pos;
      if (eof_ && in_buf_.pos == in_buf_.size) {
        if (frame_open_) {
          return absl::DataLossError(
              absl::StrCat("truncated zstd data in ", path()));
        }
        return 0;
      }
    }
  }

 private:
  ZSTD_DCtx* ctx_;
  std::vector<char> in_;
  ZSTD_inBuffer in_buf_{nullptr, 0, 0};
  bool eof_ = false;
  bool frame_open_ = false;
};

// Splits a byte source into lines in one growing buffer.
//
// Buffer layout: [0, begin_) consumed, [begin_, end_) unread data,
// [end_, buf_.size()) free. Data is never filled beyond
// buf_.size() - padding_, so every line (which ends at or before end_) has
// padding_ readable bytes after it.
class BufferedLineReader final : public LineReader {
 public:
  BufferedLineReader(std::unique_ptr<ByteSource> source, int64_t total)
      : source_(std::move(source)),
        total_(total),
        padding_(Decoder::padding()),
        buf_(kInitialLineBuffer + padding_, '\0') {}

  absl::StatusOr<Line> Next() override {
    if (!status_.ok()) return status_;
    for (;;) {
      const void* nl = std::memchr(buf_.data() + scan_, '\n', end_ - scan_);
      if (nl != nullptr) {
        const size_t pos = static_cast<const char*>(nl) - buf_.data();
        Line line = MakeLine(pos);
        begin_ = scan_ = pos + 1;
        return line;
      }
      scan_ = end_;
      if (eof_) {
        if (begin_ == end_) {
          status_ = absl::OutOfRangeError("end of input");
          return status_;
        }
        Line line = MakeLine(end_);
        begin_ = scan_ = end_;
        return line;
      }
      if (absl::Status s = Fill(); !s.ok()) {
        // Lines completed before the error were returned already; a
        // partial last line is part of the damage.
        status_ = s;
        return status_;
      }
    }
  }

  int64_t bytes_read() const override { return source_->bytes_read(); }
  int64_t total_bytes() const override { return total_; }

 private:
  // The line [begin_, end). A '\r' before the '\n' (CRLF line ends) stays:
  // it is JSON whitespace to the decoder, and a dead letter must carry the
  // record's bytes exactly.
  Line MakeLine(size_t end) {
    const size_t size = end - begin_;
    Line line;
    line.bytes = std::string_view(buf_.data() + begin_, size);
    line.capacity = buf_.size() - begin_;
    line.number = ++number_;
    return line;
  }

  // Reads more data, first moving the unread bytes to the front and growing
  // the buffer if the partial line fills it.
  absl::Status Fill() {
    if (begin_ > 0) {
      std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
      end_ -= begin_;
      scan_ -= begin_;
      begin_ = 0;
    }
    if (end_ + padding_ == buf_.size()) {
      buf_.resize((buf_.size() - padding_) * 2 + padding_, '\0');
    }
    absl::StatusOr<size_t> got =
        source_->Read(buf_.data() + end_, buf_.size() - padding_ - end_);
    if (!got.ok()) return got.status();
    if (*got == 0) eof_ = true;
    end_ += *got;
    return absl::OkStatus();
  }

  std::unique_ptr<ByteSource> source_;
  const int64_t total_;
  const size_t padding_;
  std::string buf_;
  size_t begin_ = 0;
  size_t end_ = 0;
  size_t scan_ = 0;  // [begin_, scan_) is known to hold no '\n'
  bool eof_ = false;
  int64_t number_ = 0;
  absl::Status status_;
};

}  // namespace

namespace {

// "gzip" or "zstd" when the name says the file is compressed, else "".
std::string_view CompressedKindByName(std::string_view path) {
  if (absl::EndsWith(ToAbsl(path), ".gz")) return "gzip";
  if (absl::EndsWith(ToAbsl(path), ".zst") ||
      absl::EndsWith(ToAbsl(path), ".zstd")) {
    return "zstd";
  }
  return "";
}

}  // namespace

absl::StatusOr<std::unique_ptr<LineReader>> OpenLineReader(
    const std::string& path) {
  int fd = STDIN_FILENO;
  const bool is_stdin = path == "-";
  if (!is_stdin) {
    do {
      fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return ErrnoError(errno, "cannot open", path);
  }
  auto input =
      std::make_unique<RawInput>(fd, !is_stdin, is_stdin ? "<stdin>" : path);
  int64_t total = -1;
  struct stat st;
  if (fstat(fd, &st) == 0) {
    if (S_ISDIR(st.st_mode)) {
      return absl::FailedPreconditionError(
          absl::StrCat("cannot read ", path, ": is a directory"));
    }
    if (S_ISREG(st.st_mode)) total = st.st_size;
  }

  // The format is told by its magic bytes, so a misnamed file still reads
  // (and standard input may be compressed too).
  char magic[4];
  absl::StatusOr<size_t> got = input->ReadFully(magic, sizeof(magic));
  if (!got.ok()) return got.status();
  const size_t n = *got;
  std::unique_ptr<ByteSource> source;
  if (n >= 2 && static_cast<unsigned char>(magic[0]) == 0x1f &&
      static_cast<unsigned char>(magic[1]) == 0x8b) {
    auto gz = std::make_unique<GzipSource>(std::move(input));
    if (absl::Status s = gz->Init(); !s.ok()) return s;
    source = std::move(gz);
  } else if (n == 4 && std::memcmp(magic, "\x28\xb5\x2f\xfd", 4) == 0) {
    auto zst = std::make_unique<ZstdSource>(std::move(input));
    if (absl::Status s = zst->Init(); !s.ok()) return s;
    source = std::move(zst);
  } else if (std::string_view kind = CompressedKindByName(path);
             !kind.empty()) {
    // Named as compressed but not: random bytes named .zst were once read
    // as lines of text, and every "line" dead-lettered as malformed.
    return absl::DataLossError(
        absl::StrCat(path, " is named as ", ToAbsl(kind),
                     " but does not start with its magic bytes (",
                     kind == "gzip" ? "1f 8b" : "28 b5 2f fd", ")"));
  } else {
    source = std::make_unique<PlainSource>(std::move(input));
  }
  source->Prime(magic, n);
  return std::unique_ptr<LineReader>(
      std::make_unique<BufferedLineReader>(std::move(source), total));
}

}  // namespace vigia
