#include "pipeline/sinks.h"

#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "simdjson.h"

namespace vigia {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

std::string TempPath(const std::string& name) {
  return absl::StrCat(testing::TempDir(), "/sinks_test_", name);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Parses `json` into `doc`, failing the test if it is not valid JSON.
void Parse(simdjson::dom::parser& parser, const std::string& json,
           simdjson::dom::object* doc) {
  const simdjson::error_code error = parser.parse(json).get(*doc);
  ASSERT_EQ(error, simdjson::SUCCESS)
      << simdjson::error_message(error) << " in " << json;
}

std::string_view GetString(simdjson::dom::object obj, std::string_view key) {
  std::string_view value;
  EXPECT_EQ(obj[key].get(value), simdjson::SUCCESS) << key;
  return value;
}

int64_t GetInt(simdjson::dom::object obj, std::string_view key) {
  int64_t value = -999;
  EXPECT_EQ(obj[key].get(value), simdjson::SUCCESS) << key;
  return value;
}

bool Has(simdjson::dom::object obj, std::string_view key) {
  return obj[key].error() == simdjson::SUCCESS;
}

DeadLetter FileLetter(std::string_view bytes) {
  DeadLetter letter;
  letter.reason = "malformed_json";
  letter.detail = "unexpected end of input";
  letter.bytes = bytes;
  letter.source.source = "feeds/posts.ndjson";
  letter.source.position = 42;
  return letter;
}

TEST(DeadLetterToJson, WritesFieldsInOrderForAFileSource) {
  EXPECT_EQ(DeadLetterToJson(FileLetter("{\"id\":")),
            "{\"reason\":\"malformed_json\",\"detail\":\"unexpected end of "
            "input\",\"source\":{\"file\":\"feeds/posts.ndjson\",\"line\":42},"
            "\"raw\":\"{\\\"id\\\":\"}");
}

TEST(DeadLetterToJson, RoundTripsThroughAJsonParser) {
  const std::string json = DeadLetterToJson(FileLetter("{\"id\": 1, }"));
  simdjson::dom::parser parser;
  simdjson::dom::object doc;
  ASSERT_NO_FATAL_FAILURE(Parse(parser, json, &doc));
  EXPECT_EQ(GetString(doc, "reason"), "malformed_json");
  EXPECT_EQ(GetString(doc, "detail"), "unexpected end of input");
  simdjson::dom::object source;
  ASSERT_EQ(doc["source"].get(source), simdjson::SUCCESS);
  EXPECT_EQ(GetString(source, "file"), "feeds/posts.ndjson");
  EXPECT_EQ(GetInt(source, "line"), 42);
  EXPECT_FALSE(Has(source, "topic"));
  EXPECT_EQ(GetString(doc, "raw"), "{\"id\": 1, }");
  EXPECT_FALSE(Has(doc, "raw_base64"));
}

TEST(DeadLetterToJson, NamesTopicPartitionAndOffsetForAKafkaSource) {
  DeadLetter letter = FileLetter("x");
  letter.reason = "late";
  letter.source.source = "posts.v1";
  letter.source.partition = 7;
  letter.source.position = 123456789012;
  const std::string json = DeadLetterToJson(letter);
  simdjson::dom::parser parser;
  simdjson::dom::object doc;
  ASSERT_NO_FATAL_FAILURE(Parse(parser, json, &doc));
  simdjson::dom::object source;
  ASSERT_EQ(doc["source"].get(source), simdjson::SUCCESS);
  EXPECT_EQ(GetString(source, "topic"), "posts.v1");
  EXPECT_EQ(GetInt(source, "partition"), 7);
  EXPECT_EQ(GetInt(source, "offset"), 123456789012);
  EXPECT_FALSE(Has(source, "file"));
  EXPECT_FALSE(Has(source, "line"));
}

TEST(DeadLetterToJson, CarriesInvalidUtf8AsBase64OfTheExactBytes) {
  static constexpr char kBytes[] = "{\"text\":\"caf\xE9\"}\xFF\xC0\x80\0end";
  const std::string bytes(kBytes, sizeof(kBytes) - 1);
  const std::string json = DeadLetterToJson(FileLetter(bytes));
  simdjson::dom::parser parser;
  simdjson::dom::object doc;
  ASSERT_NO_FATAL_FAILURE(Parse(parser, json, &doc));
  EXPECT_FALSE(Has(doc, "raw"));
  std::string decoded;
  ASSERT_TRUE(absl::Base64Unescape(std::string(GetString(doc, "raw_base64")),
                                   &decoded));
  EXPECT_EQ(decoded, bytes);
}

TEST(DeadLetterToJson, KeepsValidMultibyteUtf8AsText) {
  const std::string bytes = "{\"text\":\"Ελλάδα — 選挙 🗳\"}";
  const std::string json = DeadLetterToJson(FileLetter(bytes));
  simdjson::dom::parser parser;
  simdjson::dom::object doc;
  ASSERT_NO_FATAL_FAILURE(Parse(parser, json, &doc));
  EXPECT_EQ(GetString(doc, "raw"), bytes);
}

TEST(DeadLetterToJson, EscapesControlCharactersAndRoundTripsThem) {
  std::string bytes = "a\"b\\c\nd\re\tf";
  for (int c = 0; c < 0x20; ++c) bytes.push_back(static_cast<char>(c));
  bytes.push_back('\x7f');
  DeadLetter letter = FileLetter(bytes);
  const std::string detail = "bad \x01 byte\nin \"quotes\"";
  letter.detail = detail;
  const std::string json = DeadLetterToJson(letter);
  // One line: no raw newline may reach the NDJSON file.
  EXPECT_EQ(json.find('\n'), std::string::npos);
  for (char c : json) EXPECT_GE(static_cast<unsigned char>(c), 0x20);
  simdjson::dom::parser parser;
  simdjson::dom::object doc;
  ASSERT_NO_FATAL_FAILURE(Parse(parser, json, &doc));
  EXPECT_EQ(GetString(doc, "raw"), bytes);
  EXPECT_EQ(GetString(doc, "detail"), detail);
}

TEST(DeadLetterToJson, ReplacesInvalidUtf8InMetadataSoTheJsonStaysValid) {
  DeadLetter letter = FileLetter("{}");
  const std::string detail = "bad byte \xFF here";
  const std::string file = "feeds/\xC3(posts.ndjson";
  letter.detail = detail;
  letter.source.source = file;
  const std::string json = DeadLetterToJson(letter);
  simdjson::dom::parser parser;
  simdjson::dom::object doc;
  ASSERT_NO_FATAL_FAILURE(Parse(parser, json, &doc));
  EXPECT_EQ(GetString(doc, "detail"), "bad byte \uFFFD here");
  simdjson::dom::object source;
  ASSERT_EQ(doc["source"].get(source), simdjson::SUCCESS);
  EXPECT_EQ(GetString(source, "file"), "feeds/\uFFFD(posts.ndjson");
}

TEST(DeadLetterToJson, ReplacesOverlongAndSurrogateSequencesInMetadata) {
  DeadLetter letter = FileLetter("{}");
  // An overlong '/', a UTF-16 surrogate and a code point past U+10FFFF.
  const std::string detail = "\xC0\xAF|\xED\xA0\x80|\xF4\x90\x80\x80|ok";
  letter.detail = detail;
  const std::string json = DeadLetterToJson(letter);
  simdjson::dom::parser parser;
  simdjson::dom::object doc;
  ASSERT_NO_FATAL_FAILURE(Parse(parser, json, &doc));
  std::string_view got = GetString(doc, "detail");
  EXPECT_TRUE(simdjson::validate_utf8(got.data(), got.size()));
  EXPECT_THAT(std::string(got), testing::EndsWith("|ok"));
  EXPECT_THAT(std::string(got), HasSubstr("\uFFFD"));
}

Alert MakeAlert(std::string id) {
  Alert a;
  a.id = std::move(id);
  a.detector = "foreign_origin_surge";
  a.severity = Severity::kWarning;
  a.target = CountryCode::FromString("DE");
  a.origin = CountryCode::FromString("RU");
  a.window_start = absl::FromUnixSeconds(1795000000);
  a.window_end = a.window_start + absl::Minutes(10);
  a.observed = 120;
  a.expected = 20;
  a.summary = "line one\nstill one record";
  a.config_hash = "abc";
  return a;
}

TEST(NdjsonAlertSink, WritesOneAlertToJsonLinePerAlert) {
  const std::string path = TempPath("alerts.ndjson");
  absl::StatusOr<std::unique_ptr<AlertSink>> sink = OpenNdjsonAlertSink(path);
  ASSERT_TRUE(sink.ok()) << sink.status();
  ASSERT_TRUE((*sink)->Write(MakeAlert("a1")).ok());
  ASSERT_TRUE((*sink)->Write(MakeAlert("a2")).ok());
  ASSERT_TRUE((*sink)->Flush().ok());
  EXPECT_EQ(ReadFile(path), AlertToJson(MakeAlert("a1")) + "\n" +
                                AlertToJson(MakeAlert("a2")) + "\n");
}

TEST(NdjsonAlertSink, TruncatesAnExistingFile) {
  const std::string path = TempPath("alerts_truncate.ndjson");
  {
    std::ofstream out(path);
    out << "old content that must go\n";
  }
  absl::StatusOr<std::unique_ptr<AlertSink>> sink = OpenNdjsonAlertSink(path);
  ASSERT_TRUE(sink.ok()) << sink.status();
  ASSERT_TRUE((*sink)->Write(MakeAlert("a1")).ok());
  sink->reset();  // closing flushes too
  EXPECT_EQ(ReadFile(path), AlertToJson(MakeAlert("a1")) + "\n");
}

TEST(NdjsonAlertSink, DashMeansStandardOutput) {
  absl::StatusOr<std::unique_ptr<AlertSink>> sink = OpenNdjsonAlertSink("-");
  ASSERT_TRUE(sink.ok()) << sink.status();
  EXPECT_TRUE((*sink)->Flush().ok());
}

TEST(NdjsonAlertSink, UnopenableFileIsAnErrorNamingThePath) {
  const std::string path = TempPath("no_such_dir/alerts.ndjson");
  absl::StatusOr<std::unique_ptr<AlertSink>> sink = OpenNdjsonAlertSink(path);
  EXPECT_EQ(sink.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(sink.status().message(), HasSubstr(path));
}

TEST(NdjsonAlertSink, FullDiskSurfacesOnFlushAndStaysAnError) {
  absl::StatusOr<std::unique_ptr<AlertSink>> sink =
      OpenNdjsonAlertSink("/dev/full");
  ASSERT_TRUE(sink.ok()) << sink.status();
  // A small record sits in the stdio buffer; the disk is hit on Flush.
  ASSERT_TRUE((*sink)->Write(MakeAlert("a1")).ok());
  const absl::Status flushed = (*sink)->Flush();
  EXPECT_EQ(flushed.code(), absl::StatusCode::kResourceExhausted) << flushed;
  EXPECT_THAT(flushed.message(), HasSubstr("/dev/full"));
  EXPECT_THAT(flushed.message(), HasSubstr("No space left on device"));
  // Later records are refused rather than silently lost.
  EXPECT_EQ((*sink)->Write(MakeAlert("a2")), flushed);
  EXPECT_EQ((*sink)->Flush(), flushed);
}

TEST(NdjsonAlertSink, FullDiskSurfacesOnWriteWhenTheRecordExceedsTheBuffer) {
  absl::StatusOr<std::unique_ptr<AlertSink>> sink =
      OpenNdjsonAlertSink("/dev/full");
  ASSERT_TRUE(sink.ok()) << sink.status();
  Alert big = MakeAlert("big");
  big.summary = std::string(1 << 20, 's');
  const absl::Status written = (*sink)->Write(big);
  EXPECT_EQ(written.code(), absl::StatusCode::kResourceExhausted) << written;
}

TEST(NdjsonDeadLetterSink, WritesOneJsonLinePerLetter) {
  const std::string path = TempPath("dead.ndjson");
  absl::StatusOr<std::unique_ptr<DeadLetterSink>> sink =
      OpenNdjsonDeadLetterSink(path);
  ASSERT_TRUE(sink.ok()) << sink.status();
  const std::string multi_line = "{\"a\":\n1}";
  ASSERT_TRUE((*sink)->Write(FileLetter(multi_line)).ok());
  ASSERT_TRUE((*sink)->Write(FileLetter("\xFF")).ok());
  ASSERT_TRUE((*sink)->Flush().ok());
  const std::string content = ReadFile(path);
  EXPECT_THAT(absl::StrSplit(content, '\n'),
              ElementsAre(DeadLetterToJson(FileLetter(multi_line)),
                          DeadLetterToJson(FileLetter("\xFF")), ""));
}

TEST(NdjsonDeadLetterSink, FullDiskIsAnError) {
  absl::StatusOr<std::unique_ptr<DeadLetterSink>> sink =
      OpenNdjsonDeadLetterSink("/dev/full");
  ASSERT_TRUE(sink.ok()) << sink.status();
  ASSERT_TRUE((*sink)->Write(FileLetter("{}")).ok());
  EXPECT_EQ((*sink)->Flush().code(), absl::StatusCode::kResourceExhausted);
}

// Records what it receives; fails every call once `fail` is set.
class FakeAlertSink final : public AlertSink {
 public:
  absl::Status Write(const Alert& alert) override {
    if (fail) return absl::UnavailableError("sink down");
    ids.push_back(alert.id);
    return absl::OkStatus();
  }
  absl::Status Flush() override {
    ++flushes;
    if (fail) return absl::UnavailableError("flush failed");
    return absl::OkStatus();
  }
  bool fail = false;
  std::vector<std::string> ids;
  int flushes = 0;
};

TEST(TeeAlertSink, ForwardsEveryAlertToEverySink) {
  FakeAlertSink a, b;
  TeeAlertSink tee;
  tee.Add(&a);
  tee.Add(&b);
  ASSERT_TRUE(tee.Write(MakeAlert("x")).ok());
  ASSERT_TRUE(tee.Write(MakeAlert("y")).ok());
  ASSERT_TRUE(tee.Flush().ok());
  EXPECT_THAT(a.ids, ElementsAre("x", "y"));
  EXPECT_THAT(b.ids, ElementsAre("x", "y"));
  EXPECT_EQ(a.flushes, 1);
  EXPECT_EQ(b.flushes, 1);
}

TEST(TeeAlertSink, StopsAtAndReturnsTheFirstError) {
  FakeAlertSink a, failing, c;
  failing.fail = true;
  TeeAlertSink tee;
  tee.Add(&a);
  tee.Add(&failing);
  tee.Add(&c);
  EXPECT_EQ(tee.Write(MakeAlert("x")), absl::UnavailableError("sink down"));
  EXPECT_THAT(a.ids, ElementsAre("x"));
  EXPECT_TRUE(c.ids.empty());
  EXPECT_EQ(tee.Flush(), absl::UnavailableError("flush failed"));
  EXPECT_EQ(c.flushes, 0);
}

TEST(TeeAlertSink, WithNoSinksAcceptsEverything) {
  TeeAlertSink tee;
  EXPECT_TRUE(tee.Write(MakeAlert("x")).ok());
  EXPECT_TRUE(tee.Flush().ok());
}

TEST(AlertPrinter, PrintsOneLineAPersonCanRead) {
  Alert a;
  a.id = "abc123";
  a.detector = "foreign_origin_surge";
  a.severity = Severity::kCritical;
  a.window_start = absl::FromUnixSeconds(1778428800);
  a.window_end = a.window_start + absl::Minutes(10);
  a.summary = "142 posts vs 21.3 expected";
  EXPECT_EQ(AlertPrinter::Format(a),
            "2026-05-10T16:10:00.000Z  FIRING   critical foreign_origin_surge "
            "  142 posts vs 21.3 expected  id=abc123");
  a.state = AlertState::kResolved;
  EXPECT_EQ(AlertPrinter::Format(a).substr(26, 18), "resolved critical ");
}

}  // namespace
}  // namespace vigia
