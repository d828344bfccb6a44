#include "pipeline/reader.h"

#include <fcntl.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/decoder.h"

namespace vigia {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string TempPath(const std::string& name) {
  return absl::StrCat(testing::TempDir(), "/reader_test_", name);
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

std::string Gzip(const std::string& data) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS,
                         8, Z_DEFAULT_STRATEGY),
            Z_OK);
  std::string out(deflateBound(&z, data.size()) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  z.avail_in = static_cast<uInt>(data.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

std::string Zstd(const std::string& data) {
  std::string out(ZSTD_compressBound(data.size()), '\0');
  const size_t n = ZSTD_compress(out.data(), out.size(), data.data(),
                                 data.size(), /*compressionLevel=*/3);
  EXPECT_FALSE(ZSTD_isError(n)) << ZSTD_getErrorName(n);
  out.resize(n);
  return out;
}

struct ReadResult {
  std::vector<std::string> lines;
  absl::Status end;  // the status that ended reading
};

ReadResult ReadAll(LineReader& reader) {
  ReadResult result;
  for (;;) {
    absl::StatusOr<Line> line = reader.Next();
    if (!line.ok()) {
      result.end = line.status();
      return result;
    }
    EXPECT_EQ(line->number, static_cast<int64_t>(result.lines.size()) + 1);
    result.lines.emplace_back(line->bytes);
  }
}

ReadResult ReadPath(const std::string& path) {
  absl::StatusOr<std::unique_ptr<LineReader>> reader = OpenLineReader(path);
  EXPECT_TRUE(reader.ok()) << reader.status();
  if (!reader.ok()) return {{}, reader.status()};
  return ReadAll(**reader);
}

// Deterministic lines of varying length (1 to ~300 bytes) with enough
// variety that compressed output spans several blocks.
std::string ManyLines(int count, std::vector<std::string>* lines) {
  std::string text;
  uint32_t x = 12345;
  for (int i = 0; i < count; ++i) {
    x = x * 1103515245u + 12345u;
    const int len = 1 + static_cast<int>((x >> 8) % 300);
    std::string line = absl::StrCat("{\"n\":", i, ",\"pad\":\"");
    for (int j = 0; j < len; ++j) {
      x = x * 1103515245u + 12345u;
      line.push_back(static_cast<char>('a' + (x >> 16) % 26));
    }
    line += "\"}";
    text += line;
    text += '\n';
    lines->push_back(std::move(line));
  }
  return text;
}

TEST(LineReader, PlainGzipAndZstdFilesGiveTheSameLines) {
  std::vector<std::string> expected;
  const std::string text = ManyLines(5000, &expected);
  ASSERT_GT(text.size(), 512u << 10);  // several buffer refills
  WriteFile(TempPath("same.ndjson"), text);
  WriteFile(TempPath("same.ndjson.gz"), Gzip(text));
  WriteFile(TempPath("same.ndjson.zst"), Zstd(text));

  for (const char* name :
       {"same.ndjson", "same.ndjson.gz", "same.ndjson.zst"}) {
    SCOPED_TRACE(name);
    ReadResult r = ReadPath(TempPath(name));
    EXPECT_EQ(r.end.code(), absl::StatusCode::kOutOfRange) << r.end;
    EXPECT_EQ(r.lines, expected);
  }
}

TEST(LineReader, ChoosesFormatByMagicBytesNotByName) {
  WriteFile(TempPath("gzip_named_plain.ndjson"), Gzip("a\nb\n"));
  WriteFile(TempPath("zstd_named_gz.gz"), Zstd("c\nd\n"));
  EXPECT_THAT(ReadPath(TempPath("gzip_named_plain.ndjson")).lines,
              ElementsAre("a", "b"));
  EXPECT_THAT(ReadPath(TempPath("zstd_named_gz.gz")).lines,
              ElementsAre("c", "d"));
}

TEST(LineReader, AFileNamedAsCompressedWithoutItsMagicBytesIsRefused) {
  // Regression: random bytes named .zst were read as lines of plain text,
  // and each "line" dead-lettered as malformed.
  WriteFile(TempPath("random.zst"), std::string("\x01\x02garbage\nmore\n"));
  WriteFile(TempPath("plain.gz"), "{}\n");
  for (const char* name : {"random.zst", "plain.gz"}) {
    absl::StatusOr<std::unique_ptr<LineReader>> r =
        OpenLineReader(TempPath(name));
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << name;
    EXPECT_THAT(r.status().message(), HasSubstr(TempPath(name)));
    EXPECT_THAT(r.status().message(),
                HasSubstr("does not start with its magic"));
  }
  EXPECT_THAT(OpenLineReader(TempPath("random.zst")).status().message(),
              HasSubstr("28 b5 2f fd"));
  EXPECT_THAT(OpenLineReader(TempPath("plain.gz")).status().message(),
              HasSubstr("1f 8b"));
}

TEST(LineReader, ReadsConcatenatedGzipMembers) {
  WriteFile(TempPath("members.gz"),
            Gzip("one\ntwo\n") + Gzip("") + Gzip("three\nfo") + Gzip("ur\n"));
  ReadResult r = ReadPath(TempPath("members.gz"));
  EXPECT_EQ(r.end.code(), absl::StatusCode::kOutOfRange) << r.end;
  EXPECT_THAT(r.lines, ElementsAre("one", "two", "three", "four"));
}

TEST(LineReader, ReadsConcatenatedZstdFrames) {
  WriteFile(TempPath("frames.zst"),
            Zstd("one\ntwo\n") + Zstd("") + Zstd("three\nfo") + Zstd("ur\n"));
  ReadResult r = ReadPath(TempPath("frames.zst"));
  EXPECT_EQ(r.end.code(), absl::StatusCode::kOutOfRange) << r.end;
  EXPECT_THAT(r.lines, ElementsAre("one", "two", "three", "four"));
}

TEST(LineReader, KeepsTheCarriageReturnOfCrlfLineEnds) {
  // Regression: the '\r' was stripped, so dead letters of CRLF lines were
  // not the original bytes.
  WriteFile(TempPath("crlf.ndjson"), "a\r\nb\r\n\r\nc\rd\n");
  EXPECT_THAT(ReadPath(TempPath("crlf.ndjson")).lines,
              ElementsAre("a\r", "b\r", "\r", "c\rd"));
}

TEST(LineReader, ReturnsFinalLineWithoutNewline) {
  for (const auto& [name, bytes] :
       std::vector<std::pair<std::string, std::string>>{
           {"nofinal.ndjson", "a\nlast"},
           {"nofinal.gz", Gzip("a\nlast")},
           {"nofinal.zst", Zstd("a\nlast")}}) {
    SCOPED_TRACE(name);
    WriteFile(TempPath(name), bytes);
    ReadResult r = ReadPath(TempPath(name));
    EXPECT_EQ(r.end.code(), absl::StatusCode::kOutOfRange);
    EXPECT_THAT(r.lines, ElementsAre("a", "last"));
  }
}

TEST(LineReader, ReturnsEmptyLinesForTheCallerToJudge) {
  WriteFile(TempPath("empty_lines.ndjson"), "\na\n\n\nb\n\n");
  EXPECT_THAT(ReadPath(TempPath("empty_lines.ndjson")).lines,
              ElementsAre("", "a", "", "", "b", ""));
}

TEST(LineReader, EmptyFileEndsAtOnceAndStaysEnded) {
  WriteFile(TempPath("empty.ndjson"), "");
  absl::StatusOr<std::unique_ptr<LineReader>> reader =
      OpenLineReader(TempPath("empty.ndjson"));
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ((*reader)->Next().status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ((*reader)->Next().status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ((*reader)->total_bytes(), 0);
}

TEST(LineReader, ReturnsAVeryLongLineWhole) {
  const std::string long_line(5 << 20, 'x');
  const std::string text = "short\n" + long_line + "\nafter\n";
  WriteFile(TempPath("long.ndjson"), text);
  WriteFile(TempPath("long.ndjson.gz"), Gzip(text));
  WriteFile(TempPath("long.ndjson.zst"), Zstd(text));
  for (const char* name :
       {"long.ndjson", "long.ndjson.gz", "long.ndjson.zst"}) {
    SCOPED_TRACE(name);
    ReadResult r = ReadPath(TempPath(name));
    EXPECT_EQ(r.end.code(), absl::StatusCode::kOutOfRange);
    ASSERT_EQ(r.lines.size(), 3u);
    EXPECT_EQ(r.lines[0], "short");
    EXPECT_EQ(r.lines[1].size(), long_line.size());
    EXPECT_EQ(r.lines[1], long_line);
    EXPECT_EQ(r.lines[2], "after");
  }
}

// Checks that every line of `path` has Decoder::padding() readable bytes
// after it, and returns the number of lines.
size_t CheckPadding(const std::string& path) {
  absl::StatusOr<std::unique_ptr<LineReader>> reader = OpenLineReader(path);
  EXPECT_TRUE(reader.ok()) << reader.status();
  if (!reader.ok()) return 0;
  size_t count = 0;
  for (;;) {
    absl::StatusOr<Line> line = (*reader)->Next();
    if (!line.ok()) break;
    EXPECT_GE(line->capacity, line->bytes.size() + Decoder::padding())
        << "line " << line->number;
    if (line->capacity < line->bytes.size() + Decoder::padding()) break;
    // Touch the last byte the capacity promises, so that a sanitizer
    // reports any overstatement.
    volatile char last = line->bytes.data()[line->capacity - 1];
    (void)last;
    ++count;
  }
  return count;
}

TEST(LineReader, EveryLineHasDecoderPaddingReadableAfterIt) {
  std::vector<std::string> expected;
  std::string text = ManyLines(3000, &expected);
  text += std::string(300000, 'y');  // a long last line without newline
  WriteFile(TempPath("padding.ndjson"), text);
  EXPECT_EQ(CheckPadding(TempPath("padding.ndjson")), expected.size() + 1);

  // With a line end every two bytes, some line ends right at the end of
  // whatever the reader has buffered, wherever its buffer boundaries are.
  std::string tiny;
  for (int i = 0; i < 1000000; ++i) tiny += "x\n";
  WriteFile(TempPath("padding_tiny.ndjson"), tiny);
  WriteFile(TempPath("padding_tiny.ndjson.zst"), Zstd(tiny));
  EXPECT_EQ(CheckPadding(TempPath("padding_tiny.ndjson")), 1000000u);
  EXPECT_EQ(CheckPadding(TempPath("padding_tiny.ndjson.zst")), 1000000u);
}

TEST(LineReader, TruncatedGzipReturnsEarlierLinesThenDataLoss) {
  std::vector<std::string> expected;
  const std::string compressed = Gzip(ManyLines(20000, &expected));
  WriteFile(TempPath("truncated.gz"),
            compressed.substr(0, compressed.size() / 2));
  ReadResult r = ReadPath(TempPath("truncated.gz"));
  EXPECT_EQ(r.end.code(), absl::StatusCode::kDataLoss) << r.end;
  EXPECT_THAT(r.end.message(), HasSubstr("truncated gzip"));
  EXPECT_THAT(r.end.message(), HasSubstr(TempPath("truncated.gz")));
  ASSERT_GT(r.lines.size(), 1000u);
  ASSERT_LT(r.lines.size(), expected.size());
  expected.resize(r.lines.size());
  EXPECT_EQ(r.lines, expected);
}

TEST(LineReader, TruncatedZstdReturnsEarlierLinesThenDataLoss) {
  std::vector<std::string> expected;
  const std::string compressed = Zstd(ManyLines(20000, &expected));
  WriteFile(TempPath("truncated.zst"),
            compressed.substr(0, compressed.size() / 2));
  ReadResult r = ReadPath(TempPath("truncated.zst"));
  EXPECT_EQ(r.end.code(), absl::StatusCode::kDataLoss) << r.end;
  EXPECT_THAT(r.end.message(), HasSubstr("truncated zstd"));
  ASSERT_GT(r.lines.size(), 1000u);
  ASSERT_LT(r.lines.size(), expected.size());
  expected.resize(r.lines.size());
  EXPECT_EQ(r.lines, expected);
}

TEST(LineReader, ErrorIsStickyAfterDataLoss) {
  const std::string compressed = Zstd("a\nb\nc\n");
  WriteFile(TempPath("sticky.zst"),
            compressed.substr(0, compressed.size() - 2));
  absl::StatusOr<std::unique_ptr<LineReader>> reader =
      OpenLineReader(TempPath("sticky.zst"));
  ASSERT_TRUE(reader.ok()) << reader.status();
  ReadResult r = ReadAll(**reader);
  EXPECT_EQ(r.end.code(), absl::StatusCode::kDataLoss) << r.end;
  EXPECT_EQ((*reader)->Next().status(), r.end);
}

TEST(LineReader, CorruptGzipIsDataLoss) {
  std::string compressed = Gzip("hello\nworld\n");
  compressed[12] = static_cast<char>(compressed[12] ^ 0xff);
  compressed[13] = static_cast<char>(compressed[13] ^ 0xff);
  WriteFile(TempPath("corrupt.gz"), compressed);
  ReadResult r = ReadPath(TempPath("corrupt.gz"));
  EXPECT_EQ(r.end.code(), absl::StatusCode::kDataLoss) << r.end;
}

TEST(LineReader, GarbageAfterGzipMemberIsDataLoss) {
  WriteFile(TempPath("trailing.gz"), Gzip("a\n") + "not gzip");
  ReadResult r = ReadPath(TempPath("trailing.gz"));
  EXPECT_THAT(r.lines, ElementsAre("a"));
  EXPECT_EQ(r.end.code(), absl::StatusCode::kDataLoss) << r.end;
  EXPECT_THAT(r.end.message(), HasSubstr("corrupt gzip"));
}

TEST(LineReader, MissingFileIsNotFoundNamingThePath) {
  const std::string path = TempPath("does_not_exist.ndjson");
  absl::StatusOr<std::unique_ptr<LineReader>> reader = OpenLineReader(path);
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(reader.status().message(), HasSubstr(path));
}

TEST(LineReader, DirectoryIsRejected) {
  absl::StatusOr<std::unique_ptr<LineReader>> reader =
      OpenLineReader(testing::TempDir());
  EXPECT_EQ(reader.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(reader.status().message(), HasSubstr("is a directory"));
}

TEST(LineReader, ReportsCompressedBytesConsumedAgainstFileSize) {
  std::vector<std::string> expected;
  const std::string compressed = Gzip(ManyLines(3000, &expected));
  WriteFile(TempPath("progress.gz"), compressed);
  absl::StatusOr<std::unique_ptr<LineReader>> reader =
      OpenLineReader(TempPath("progress.gz"));
  ASSERT_TRUE(reader.ok()) << reader.status();
  EXPECT_EQ((*reader)->total_bytes(), static_cast<int64_t>(compressed.size()));
  ASSERT_TRUE((*reader)->Next().ok());
  EXPECT_GT((*reader)->bytes_read(), 0);
  EXPECT_LE((*reader)->bytes_read(), (*reader)->total_bytes());
  size_t lines = 1;
  while ((*reader)->Next().ok()) ++lines;
  EXPECT_EQ(lines, expected.size());
  EXPECT_EQ((*reader)->bytes_read(), static_cast<int64_t>(compressed.size()));
}

// Points standard input at a file for the duration of a scope.
class StdinFromFile {
 public:
  explicit StdinFromFile(const std::string& path) : saved_(dup(STDIN_FILENO)) {
    const int fd = open(path.c_str(), O_RDONLY);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(dup2(fd, STDIN_FILENO), STDIN_FILENO);
    close(fd);
  }
  ~StdinFromFile() {
    dup2(saved_, STDIN_FILENO);
    close(saved_);
  }

 private:
  int saved_;
};

TEST(LineReader, DashReadsStandardInput) {
  WriteFile(TempPath("stdin.ndjson"), "x\ny\n");
  StdinFromFile redirect(TempPath("stdin.ndjson"));
  ReadResult r = ReadPath("-");
  EXPECT_EQ(r.end.code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(r.lines, ElementsAre("x", "y"));
}

}  // namespace
}  // namespace vigia
