#include "pipeline/core/alert.h"

#include <limits>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/core/hash.h"
#include "simdjson.h"

namespace vigia {
namespace {

using ::testing::ElementsAre;

const absl::Time kStart = absl::FromUnixSeconds(1795000000);  // 2026-11-18

Alert FullAlert() {
  Alert a;
  a.id = "0123456789abcdef0123";
  a.detector = "foreign_origin_surge";
  a.state = AlertState::kFiring;
  a.severity = Severity::kCritical;
  a.target = CountryCode::FromString("DE");
  a.origin = CountryCode::FromString("RU");
  a.subject_kind = "hashtag";
  a.subject = "#wahl";
  a.window_start = kStart;
  a.window_end = kStart + absl::Minutes(10);
  a.observed = 250;
  a.expected = 20.5;
  a.score = 11.25;
  a.threshold = 8;
  a.ratio = 11.9767;
  a.summary = "250 posts from RU aimed at DE in 10m, expected 20.5";
  a.evidence.top_accounts = {{"acct1", 40, 0}, {"acct2", 30, 2}};
  a.evidence.top_urls = {{"https://example.test/a", 12, 0}};
  a.evidence.top_hashtags = {};
  a.evidence.samples = {{"p1", "acct1", kStart + absl::Seconds(5),
                         "feeds/posts.ndjson", -1, 17, ""},
                        {"p2", "acct2", kStart + absl::Milliseconds(6500),
                         "posts.v1", 3, 90001, ""}};
  a.evidence.baseline = {
      {"level", 18.25}, {"daily_factor", 1.125}, {"history_hours", 72}};
  a.config_hash = std::string(64, 'c');
  return a;
}

// Parses `json` and returns the keys of its top-level object in order.
std::vector<std::string> Keys(simdjson::dom::object obj) {
  std::vector<std::string> keys;
  for (auto field : obj) keys.emplace_back(field.key);
  return keys;
}

class AlertJson : public testing::Test {
 protected:
  simdjson::dom::object Parse(const std::string& json) {
    simdjson::dom::object obj;
    const simdjson::error_code error = parser_.parse(json).get(obj);
    EXPECT_EQ(error, simdjson::SUCCESS)
        << simdjson::error_message(error) << " in " << json;
    return obj;
  }
  std::string_view Str(simdjson::dom::element e) {
    std::string_view s;
    EXPECT_EQ(e.get(s), simdjson::SUCCESS);
    return s;
  }
  double Num(simdjson::dom::element e) {
    double d = -1;
    EXPECT_EQ(e.get(d), simdjson::SUCCESS);
    return d;
  }
  int64_t Int(simdjson::dom::element e) {
    int64_t i = -1;
    EXPECT_EQ(e.get(i), simdjson::SUCCESS);
    return i;
  }

  simdjson::dom::parser parser_;
};

TEST_F(AlertJson, IsValidJsonWithEveryFieldInDocumentedOrder) {
  const std::string json = AlertToJson(FullAlert());
  EXPECT_EQ(json.find('\n'), std::string::npos);
  simdjson::dom::object a = Parse(json);
  EXPECT_THAT(
      Keys(a),
      ElementsAre("id", "detector", "state", "severity", "target", "origin",
                  "subject_kind", "subject", "window_start", "window_end",
                  "observed", "expected", "ratio", "score", "threshold",
                  "summary", "evidence", "config_hash"));
  simdjson::dom::object evidence;
  ASSERT_EQ(a["evidence"].get(evidence), simdjson::SUCCESS);
  EXPECT_THAT(Keys(evidence),
              ElementsAre("top_accounts", "top_urls", "top_hashtags", "samples",
                          "baseline"));
}

TEST_F(AlertJson, CarriesEveryValue) {
  simdjson::dom::object a = Parse(AlertToJson(FullAlert()));
  EXPECT_EQ(Str(a["id"]), "0123456789abcdef0123");
  EXPECT_EQ(Str(a["detector"]), "foreign_origin_surge");
  EXPECT_EQ(Str(a["state"]), "firing");
  EXPECT_EQ(Str(a["severity"]), "critical");
  EXPECT_EQ(Str(a["target"]), "DE");
  EXPECT_EQ(Str(a["origin"]), "RU");
  EXPECT_EQ(Str(a["subject_kind"]), "hashtag");
  EXPECT_EQ(Str(a["subject"]), "#wahl");
  EXPECT_EQ(Str(a["window_start"]), "2026-11-18T11:06:40.000Z");
  EXPECT_EQ(Str(a["window_end"]), "2026-11-18T11:16:40.000Z");
  EXPECT_EQ(Num(a["observed"]), 250);
  EXPECT_EQ(Num(a["expected"]), 20.5);
  EXPECT_EQ(Num(a["ratio"]), 11.9767);
  EXPECT_EQ(Num(a["score"]), 11.25);
  EXPECT_EQ(Num(a["threshold"]), 8);
  EXPECT_EQ(Str(a["summary"]),
            "250 posts from RU aimed at DE in 10m, expected 20.5");
  EXPECT_EQ(Str(a["config_hash"]), std::string(64, 'c'));

  simdjson::dom::array accounts;
  ASSERT_EQ(a["evidence"]["top_accounts"].get(accounts), simdjson::SUCCESS);
  ASSERT_EQ(accounts.size(), 2u);
  // An exact count has no "error" field; an estimate says its bound.
  simdjson::dom::object first, second;
  ASSERT_EQ(accounts.at(0).get(first), simdjson::SUCCESS);
  ASSERT_EQ(accounts.at(1).get(second), simdjson::SUCCESS);
  EXPECT_THAT(Keys(first), ElementsAre("value", "count"));
  EXPECT_THAT(Keys(second), ElementsAre("value", "count", "error"));
  EXPECT_EQ(Str(second["value"]), "acct2");
  EXPECT_EQ(Int(second["count"]), 30);
  EXPECT_EQ(Int(second["error"]), 2);

  simdjson::dom::array hashtags;
  ASSERT_EQ(a["evidence"]["top_hashtags"].get(hashtags), simdjson::SUCCESS);
  EXPECT_EQ(hashtags.size(), 0u);

  simdjson::dom::array samples;
  ASSERT_EQ(a["evidence"]["samples"].get(samples), simdjson::SUCCESS);
  ASSERT_EQ(samples.size(), 2u);
  simdjson::dom::object file_sample, kafka_sample;
  ASSERT_EQ(samples.at(0).get(file_sample), simdjson::SUCCESS);
  ASSERT_EQ(samples.at(1).get(kafka_sample), simdjson::SUCCESS);
  EXPECT_THAT(Keys(file_sample),
              ElementsAre("id", "account", "created_at", "source"));
  EXPECT_EQ(Str(file_sample["created_at"]), "2026-11-18T11:06:45.000Z");
  simdjson::dom::object file_source, kafka_source;
  ASSERT_EQ(file_sample["source"].get(file_source), simdjson::SUCCESS);
  ASSERT_EQ(kafka_sample["source"].get(kafka_source), simdjson::SUCCESS);
  EXPECT_THAT(Keys(file_source), ElementsAre("file", "line"));
  EXPECT_EQ(Str(file_source["file"]), "feeds/posts.ndjson");
  EXPECT_EQ(Int(file_source["line"]), 17);
  EXPECT_THAT(Keys(kafka_source), ElementsAre("topic", "partition", "offset"));
  EXPECT_EQ(Str(kafka_source["topic"]), "posts.v1");
  EXPECT_EQ(Int(kafka_source["partition"]), 3);
  EXPECT_EQ(Int(kafka_source["offset"]), 90001);
  EXPECT_EQ(Str(kafka_sample["created_at"]), "2026-11-18T11:06:46.500Z");

  simdjson::dom::object baseline;
  ASSERT_EQ(a["evidence"]["baseline"].get(baseline), simdjson::SUCCESS);
  EXPECT_THAT(Keys(baseline),
              ElementsAre("level", "daily_factor", "history_hours"));
  EXPECT_EQ(Num(baseline["level"]), 18.25);
  EXPECT_EQ(Num(baseline["history_hours"]), 72);
}

TEST_F(AlertJson, OriginIsNullWhenUnknownAndSubjectOmittedWhenEmpty) {
  Alert alert = FullAlert();
  alert.origin = CountryCode();
  alert.subject_kind.clear();
  alert.subject.clear();
  alert.state = AlertState::kResolved;
  alert.severity = Severity::kInfo;
  simdjson::dom::object a = Parse(AlertToJson(alert));
  EXPECT_TRUE(a["origin"].is_null());
  EXPECT_EQ(a["subject"].error(), simdjson::NO_SUCH_FIELD);
  EXPECT_EQ(a["subject_kind"].error(), simdjson::NO_SUCH_FIELD);
  EXPECT_EQ(Str(a["state"]), "resolved");
  EXPECT_EQ(Str(a["severity"]), "info");
}

TEST_F(AlertJson, EscapesTextSoEveryAlertStaysOneLine) {
  Alert alert = FullAlert();
  alert.summary = "line 1\nline 2 \"quoted\" \\ \x01";
  alert.evidence.top_urls = {{"https://x.test/?q=\"a\"\n", 1, 0}};
  const std::string json = AlertToJson(alert);
  EXPECT_EQ(json.find('\n'), std::string::npos);
  simdjson::dom::object a = Parse(json);
  EXPECT_EQ(Str(a["summary"]), alert.summary);
}

TEST_F(AlertJson, NonFiniteNumbersBecomeNull) {
  Alert alert = FullAlert();
  alert.score = std::numeric_limits<double>::infinity();
  alert.ratio = std::numeric_limits<double>::quiet_NaN();
  simdjson::dom::object a = Parse(AlertToJson(alert));
  EXPECT_TRUE(a["score"].is_null());
  EXPECT_TRUE(a["ratio"].is_null());
}

TEST(AlertToJson, IsDeterministic) {
  EXPECT_EQ(AlertToJson(FullAlert()), AlertToJson(FullAlert()));
}

TEST(AlertToJson, MinimalAlertExactText) {
  Alert a;
  a.id = "id1";
  a.detector = "d";
  a.target = CountryCode::FromString("FR");
  a.window_start = absl::UnixEpoch();
  a.window_end = absl::UnixEpoch() + absl::Minutes(1);
  a.config_hash = "h";
  EXPECT_EQ(AlertToJson(a),
            R"({"id":"id1","detector":"d","state":"firing","severity":"info",)"
            R"("target":"FR","origin":null,)"
            R"("window_start":"1970-01-01T00:00:00.000Z",)"
            R"("window_end":"1970-01-01T00:01:00.000Z","observed":0,)"
            R"("expected":0,"ratio":0,"score":0,"threshold":0,"summary":"",)"
            R"("evidence":{"top_accounts":[],"top_urls":[],"top_hashtags":[],)"
            R"("samples":[],"baseline":{}},"config_hash":"h"})");
}

TEST(SeverityName, NamesEachSeverity) {
  EXPECT_EQ(SeverityName(Severity::kInfo), "info");
  EXPECT_EQ(SeverityName(Severity::kWarning), "warning");
  EXPECT_EQ(SeverityName(Severity::kCritical), "critical");
  EXPECT_EQ(AlertStateName(AlertState::kFiring), "firing");
  EXPECT_EQ(AlertStateName(AlertState::kResolved), "resolved");
}

std::string Id(std::string_view detector = "foreign_origin_surge",
               std::string_view key = "DE/RU", absl::Time start = kStart,
               Severity severity = Severity::kWarning,
               std::string_view hash = "cfg") {
  return MakeAlertId(detector, key, start, severity, hash);
}

TEST(MakeAlertId, IsTwentyLowerCaseHexDigits) {
  const std::string id = Id();
  EXPECT_EQ(id.size(), 20u);
  EXPECT_EQ(id.find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST(MakeAlertId, IsDeterministic) { EXPECT_EQ(Id(), Id()); }

// The id is a contract with every consumer of vigia.alerts (docs/alerts.md):
// the first 20 hex digits of SHA-256 over the fields joined by 0x1f. The
// expected values were computed outside vigia, with Python's hashlib:
//   hashlib.sha256(b"foreign_origin_surge\x1fDE/RU\x1f1795000000000000"
//                  b"\x1fwarning\x1fcfg").hexdigest()[:20]
TEST(MakeAlertId, IsTheFirstTwentyHexDigitsOfSha256OfTheDocumentedFields) {
  EXPECT_EQ(Id(), "22694533047ebca44d49");
}

// FIPS 180-2's test vectors, so that the digest itself is SHA-256.
TEST(Sha256Hex, MatchesTheStandardsTestVectors) {
  EXPECT_EQ(Sha256Hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(
      Sha256Hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
      "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(MakeAlertId, ChangesWithEachInput) {
  const std::string base = Id();
  EXPECT_NE(Id("foreign_origin_surge2"), base);
  EXPECT_NE(Id("foreign_origin_surge", "DE/CN"), base);
  EXPECT_NE(Id("foreign_origin_surge", "DE/RU", kStart + absl::Microseconds(1)),
            base);
  EXPECT_NE(Id("foreign_origin_surge", "DE/RU", kStart, Severity::kCritical),
            base);
  EXPECT_NE(
      Id("foreign_origin_surge", "DE/RU", kStart, Severity::kWarning, "cfg2"),
      base);
}

TEST(MakeAlertId, FieldBoundariesAreNotAmbiguous) {
  // Moving characters between adjacent inputs must change the id.
  EXPECT_NE(Id("ab", "c"), Id("a", "bc"));
  EXPECT_NE(Id("a", "b", kStart, Severity::kInfo, "c"),
            Id("a", "", kStart, Severity::kInfo, "bc"));
}

}  // namespace
}  // namespace vigia
