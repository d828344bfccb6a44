#include "pipeline/decoder.h"

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <new>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/core/time.h"

namespace vigia {
namespace {

using ::testing::AllOf;
using ::testing::AnyOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::Not;

constexpr SourceRef kSource{"posts.ndjson", -1, 7};

// Counts operator new calls while enabled (see the replacement at the end of
// this file), to check that steady-state decoding does not allocate.
std::atomic<bool> g_count_allocations{false};
std::atomic<int64_t> g_allocations{0};

// Every field a post can carry.
constexpr std::string_view kFullPost =
    R"({"id":"p-1","platform":"x","created_at":"2026-11-01T12:00:00.250Z",)"
    R"("account":{"id":"acc-1","created_at":"2026-10-30T08:00:00+02:00",)"
    R"("country":"RU","state_affiliated":true,"followers":1234},)"
    R"("target":"MD","lang":"ro","text":"Votați mâine!",)"
    R"("urls":["https://a.example/1","https://b.example/2"],)"
    R"("hashtags":["alegeri","md"],"repost_of":"p-0"})";

// Every field an ad can carry.
constexpr std::string_view kFullAd =
    R"({"id":"ad-9","platform":"meta","created_at":"2026-11-02T09:30:00Z",)"
    R"("page_id":"page-3","payer":{"name":"Acme Media SRL","country":"RU"},)"
    R"("target":"MD","currency":"EUR","spend":{"lower":100,"upper":499.5},)"
    R"("impressions":{"lower":1000,"upper":5000},"languages":["ro","ru"],)"
    R"("disclaimer":"Paid for by Acme"})";

constexpr std::string_view kMinimalPost =
    R"({"id":"p1","platform":"x","created_at":"2026-11-01T12:00:00Z",)"
    R"("account":{"id":"a1"},"target":"DE"})";

constexpr std::string_view kMinimalAd =
    R"({"id":"ad1","platform":"meta","created_at":"2026-11-01T12:00:00Z",)"
    R"("page_id":"pg","payer":{"name":"P"},"target":"DE"})";

// A minimal post with `fields` added at the top level.
std::string PostWith(std::string_view fields) {
  std::string s(kMinimalPost);
  s.pop_back();
  return s + "," + std::string(fields) + "}";
}

// A minimal post whose account object also holds `fields`.
std::string PostWithAccount(std::string_view fields) {
  return R"({"id":"p1","platform":"x","created_at":"2026-11-01T12:00:00Z",)"
         R"("account":{"id":"a1",)" +
         std::string(fields) + R"(},"target":"DE"})";
}

// A minimal ad with `fields` added at the top level.
std::string AdWith(std::string_view fields) {
  std::string s(kMinimalAd);
  s.pop_back();
  return s + "," + std::string(fields) + "}";
}

std::string Join(std::span<const std::string_view> items) {
  std::string out = "[";
  for (std::string_view item : items) {
    if (out.size() > 1) out += "|";
    out += item;
  }
  return out + "]";
}

std::vector<std::string_view> Vec(std::span<const std::string_view> items) {
  return {items.begin(), items.end()};
}

std::string Bound(double d) { return std::isnan(d) ? "?" : std::to_string(d); }

// Every field of an event in one string, to compare events as a whole.
std::string Describe(const Event& e) {
  std::string s;
  s += std::string(FeedName(e.kind)) + " id=" + std::string(e.id) +
       " platform=" + std::string(e.platform) +
       " created_at=" + FormatRfc3339(e.created_at) +
       " target=" + e.target.str();
  s +=
      " account=" + std::string(e.account_id) + " account_created_at=" +
      (e.has_account_created_at() ? FormatRfc3339(e.account_created_at) : "?") +
      " account_country=" + e.account_country.str() +
      " state=" + std::to_string(static_cast<int>(e.state_affiliated)) +
      " followers=" + std::to_string(e.followers) +
      " lang=" + std::string(e.lang) + " text=" + std::string(e.text) +
      " urls=" + Join(e.urls) + " hashtags=" + Join(e.hashtags) +
      " repost_of=" + std::string(e.repost_of);
  s += " page=" + std::string(e.page_id) +
       " payer=" + std::string(e.payer_name) +
       " payer_country=" + e.payer_country.str() +
       " currency=" + e.currency.str() + " spend=" + Bound(e.spend.lower) +
       ".." + Bound(e.spend.upper) +
       " impressions=" + Bound(e.impressions.lower) + ".." +
       Bound(e.impressions.upper) + " languages=" + Join(e.languages) +
       " disclaimer=" + (e.has_disclaimer ? std::string(e.disclaimer) : "?");
  s += " source=" + std::string(e.source.source) + ":" +
       std::to_string(e.source.partition) + ":" +
       std::to_string(e.source.position);
  return s;
}

absl::Time T(std::string_view text) { return ParseRfc3339(text).value(); }

struct RejectCase {
  std::string json;
  RejectReason reason;
  std::string detail;  // must appear in detail()
};

void ExpectRejects(const std::vector<RejectCase>& cases) {
  Decoder decoder(DecoderOptions{});
  for (const RejectCase& c : cases) {
    SCOPED_TRACE(c.json);
    EXPECT_EQ(RejectReasonName(decoder.DecodeUnpadded(c.json, kSource)),
              RejectReasonName(c.reason));
    EXPECT_EQ(decoder.reason(), c.reason);
    EXPECT_THAT(decoder.detail(), HasSubstr(c.detail));
  }
}

TEST(Decoder, DecodesAPostWithEveryField) {
  Decoder decoder(DecoderOptions{});
  ASSERT_EQ(decoder.DecodeUnpadded(kFullPost, kSource), RejectReason::kNone)
      << decoder.detail();
  const Event& e = decoder.event();
  EXPECT_TRUE(e.is_post());
  EXPECT_EQ(e.id, "p-1");
  EXPECT_EQ(e.platform, "x");
  EXPECT_EQ(e.created_at, T("2026-11-01T12:00:00.250Z"));
  EXPECT_EQ(e.target, CountryCode::FromString("MD"));
  EXPECT_EQ(e.account_id, "acc-1");
  EXPECT_EQ(e.account_created_at, T("2026-10-30T06:00:00Z"));
  EXPECT_EQ(e.account_country, CountryCode::FromString("RU"));
  EXPECT_EQ(e.state_affiliated, Tristate::kYes);
  EXPECT_EQ(e.followers, 1234);
  EXPECT_EQ(e.lang, "ro");
  EXPECT_EQ(e.text, "Votați mâine!");
  EXPECT_THAT(Vec(e.urls),
              ElementsAre("https://a.example/1", "https://b.example/2"));
  EXPECT_THAT(Vec(e.hashtags), ElementsAre("alegeri", "md"));
  EXPECT_EQ(e.repost_of, "p-0");
  EXPECT_TRUE(e.is_foreign());
  EXPECT_TRUE(e.page_id.empty());
  EXPECT_FALSE(e.spend.known());
  EXPECT_TRUE(decoder.detail().empty());
  EXPECT_EQ(decoder.reason(), RejectReason::kNone);
}

TEST(Decoder, DecodesAMinimalPostLeavingOptionalFieldsUnknown) {
  Decoder decoder(DecoderOptions{});
  ASSERT_EQ(decoder.DecodeUnpadded(kMinimalPost, kSource), RejectReason::kNone)
      << decoder.detail();
  const Event& e = decoder.event();
  EXPECT_TRUE(e.is_post());
  EXPECT_EQ(e.id, "p1");
  EXPECT_EQ(e.account_id, "a1");
  EXPECT_EQ(e.target, CountryCode::FromString("DE"));
  EXPECT_FALSE(e.has_account_created_at());
  EXPECT_FALSE(e.account_country.known());
  EXPECT_EQ(e.state_affiliated, Tristate::kUnknown);
  EXPECT_EQ(e.followers, -1);
  EXPECT_TRUE(e.lang.empty());
  EXPECT_TRUE(e.text.empty());
  EXPECT_THAT(Vec(e.urls), IsEmpty());
  EXPECT_THAT(Vec(e.hashtags), IsEmpty());
  EXPECT_TRUE(e.repost_of.empty());
  EXPECT_FALSE(e.is_foreign());
}

TEST(Decoder, DecodesAnAdWithEveryField) {
  Decoder decoder(DecoderOptions{});
  ASSERT_EQ(decoder.DecodeUnpadded(kFullAd, kSource), RejectReason::kNone)
      << decoder.detail();
  const Event& e = decoder.event();
  EXPECT_TRUE(e.is_ad());
  EXPECT_EQ(e.id, "ad-9");
  EXPECT_EQ(e.platform, "meta");
  EXPECT_EQ(e.created_at, T("2026-11-02T09:30:00Z"));
  EXPECT_EQ(e.page_id, "page-3");
  EXPECT_EQ(e.payer_name, "Acme Media SRL");
  EXPECT_EQ(e.payer_country, CountryCode::FromString("RU"));
  EXPECT_EQ(e.target, CountryCode::FromString("MD"));
  EXPECT_EQ(e.currency, CurrencyCode::FromString("EUR"));
  ASSERT_TRUE(e.spend.known());
  EXPECT_EQ(e.spend.lower, 100);
  EXPECT_EQ(e.spend.upper, 499.5);
  ASSERT_TRUE(e.impressions.known());
  EXPECT_EQ(e.impressions.lower, 1000);
  EXPECT_EQ(e.impressions.upper, 5000);
  EXPECT_THAT(Vec(e.languages), ElementsAre("ro", "ru"));
  EXPECT_TRUE(e.has_disclaimer);
  EXPECT_EQ(e.disclaimer, "Paid for by Acme");
  EXPECT_TRUE(e.is_foreign());
  EXPECT_TRUE(e.account_id.empty());
}

TEST(Decoder, DecodesAMinimalAdWithUnknownRangesAndNoDisclaimer) {
  Decoder decoder(DecoderOptions{});
  ASSERT_EQ(decoder.DecodeUnpadded(kMinimalAd, kSource), RejectReason::kNone)
      << decoder.detail();
  const Event& e = decoder.event();
  EXPECT_TRUE(e.is_ad());
  EXPECT_FALSE(e.payer_country.known());
  EXPECT_FALSE(e.currency.known());
  EXPECT_FALSE(e.spend.known());
  EXPECT_FALSE(e.impressions.known());
  EXPECT_THAT(Vec(e.languages), IsEmpty());
  EXPECT_FALSE(e.has_disclaimer);
  EXPECT_FALSE(e.is_foreign());
}

TEST(Decoder, TellsAnAdFromAPostByThePayerField) {
  Decoder decoder(DecoderOptions{});
  // The same record with a payer is an ad; account (a post field) is then
  // checked but not carried.
  const std::string with_payer =
      PostWith(R"("page_id":"pg","payer":{"name":"P","country":"US"})");
  ASSERT_EQ(decoder.DecodeUnpadded(with_payer, kSource), RejectReason::kNone)
      << decoder.detail();
  EXPECT_TRUE(decoder.event().is_ad());
  EXPECT_EQ(decoder.event().payer_name, "P");
  EXPECT_TRUE(decoder.event().account_id.empty());
  EXPECT_TRUE(decoder.event().is_foreign());

  ASSERT_EQ(decoder.DecodeUnpadded(kMinimalPost, kSource), RejectReason::kNone);
  EXPECT_TRUE(decoder.event().is_post());

  // A payer key marks an ad even when null: the ad then lacks payer.name
  // rather than being read as a post.
  EXPECT_EQ(decoder.DecodeUnpadded(PostWith(R"("page_id":"pg","payer":null)"),
                                   kSource),
            RejectReason::kMissingField);
  EXPECT_EQ(decoder.detail(), "missing field payer.name");
}

TEST(Decoder, ReadsAPostsRepostCountAsAnOptionalInteger) {
  Decoder decoder(DecoderOptions{});
  ASSERT_EQ(decoder.DecodeUnpadded(PostWith(R"("reposts":42)"), kSource),
            RejectReason::kNone)
      << decoder.detail();
  EXPECT_EQ(decoder.event().reposts, 42);
  ASSERT_EQ(decoder.DecodeUnpadded(kMinimalPost, kSource), RejectReason::kNone);
  EXPECT_EQ(decoder.event().reposts, -1);
  ASSERT_EQ(decoder.DecodeUnpadded(PostWith(R"("reposts":null)"), kSource),
            RejectReason::kNone);
  EXPECT_EQ(decoder.event().reposts, -1);
  EXPECT_EQ(decoder.DecodeUnpadded(PostWith(R"("reposts":"42")"), kSource),
            RejectReason::kWrongType);
  EXPECT_THAT(decoder.detail(),
              HasSubstr("wrong type for reposts: expected integer"));
  EXPECT_EQ(decoder.DecodeUnpadded(PostWith(R"("reposts":4.5)"), kSource),
            RejectReason::kWrongType);
  EXPECT_EQ(decoder.DecodeUnpadded(PostWith(R"("reposts":-1)"), kSource),
            RejectReason::kBadValue);
  EXPECT_EQ(
      decoder.DecodeUnpadded(PostWith(R"("reposts":1,"reposts":2)"), kSource),
      RejectReason::kMalformedJson);
}

// Counts are read as integers first; whatever is not a plain non-negative
// integer still gets its own reason and detail.
TEST(Decoder, NamesEachWayACountIsNotANonNegativeInteger) {
  Decoder decoder(DecoderOptions{});
  struct Case {
    const char* value;
    RejectReason reason;
    const char* detail;
  };
  const Case cases[] = {
      {"-1", RejectReason::kBadValue, "bad value for reposts: negative (-1)"},
      {"-0", RejectReason::kNone, ""},
      {"4.5", RejectReason::kWrongType,
       "wrong type for reposts: expected integer, got number \"4.5\""},
      {"1e3", RejectReason::kWrongType,
       "wrong type for reposts: expected integer, got number \"1e3\""},
      {"01", RejectReason::kMalformedJson,
       "malformed JSON in reposts: not a JSON value"},
      {"99999999999999999999", RejectReason::kBadValue,
       "bad value for reposts: integer out of range "
       "\"99999999999999999999\""},
      {"true", RejectReason::kWrongType,
       "wrong type for reposts: expected integer, got boolean"},
  };
  for (const Case& c : cases) {
    const std::string record = PostWith(std::string(R"("reposts":)") + c.value);
    EXPECT_EQ(decoder.DecodeUnpadded(record, kSource), c.reason) << c.value;
    EXPECT_EQ(decoder.detail(), c.detail) << c.value;
  }
  ASSERT_EQ(decoder.DecodeUnpadded(PostWith(R"("reposts": 7 )"), kSource),
            RejectReason::kNone);
  EXPECT_EQ(decoder.event().reposts, 7);
}

TEST(Decoder, FieldOrderDoesNotMatter) {
  Decoder decoder(DecoderOptions{});
  ASSERT_EQ(decoder.DecodeUnpadded(kFullPost, kSource), RejectReason::kNone);
  const std::string forward = Describe(decoder.event());
  const std::string reversed =
      R"({"repost_of":"p-0","hashtags":["alegeri","md"],)"
      R"("urls":["https://a.example/1","https://b.example/2"],)"
      R"("text":"Votați mâine!","lang":"ro","target":"MD",)"
      R"("account":{"followers":1234,"state_affiliated":true,"country":"RU",)"
      R"("created_at":"2026-10-30T08:00:00+02:00","id":"acc-1"},)"
      R"("created_at":"2026-11-01T12:00:00.250Z","platform":"x","id":"p-1"})";
  ASSERT_EQ(decoder.DecodeUnpadded(reversed, kSource), RejectReason::kNone)
      << decoder.detail();
  EXPECT_EQ(Describe(decoder.event()), forward);

  ASSERT_EQ(decoder.DecodeUnpadded(kFullAd, kSource), RejectReason::kNone);
  const std::string ad_forward = Describe(decoder.event());
  const std::string ad_reversed =
      R"({"disclaimer":"Paid for by Acme","languages":["ro","ru"],)"
      R"("impressions":{"upper":5000,"lower":1000},)"
      R"("spend":{"upper":499.5,"lower":100},"currency":"EUR","target":"MD",)"
      R"("payer":{"country":"RU","name":"Acme Media SRL"},"page_id":"page-3",)"
      R"("created_at":"2026-11-02T09:30:00Z","platform":"meta","id":"ad-9"})";
  ASSERT_EQ(decoder.DecodeUnpadded(ad_reversed, kSource), RejectReason::kNone)
      << decoder.detail();
  EXPECT_EQ(Describe(decoder.event()), ad_forward);
}

TEST(Decoder, IgnoresUnknownFieldsAtEveryLevel) {
  Decoder decoder(DecoderOptions{});
  ASSERT_EQ(decoder.DecodeUnpadded(kMinimalPost, kSource), RejectReason::kNone);
  const std::string plain = Describe(decoder.event());

  const std::string post =
      R"({"schema":2,"id":"p1","extra":{"a":[1,2.5e3,-0,true,false,null,)"
      R"({"b":"c\u00e9"}],"big":1e400,"int":123456789012345678901234567890},)"
      R"("platform":"x","created_at":"2026-11-01T12:00:00Z",)"
      R"("account":{"id":"a1","verified":true,"bio":{"x":[]}},)"
      R"("target":"DE","geo":null,"tags":[]})";
  ASSERT_EQ(decoder.DecodeUnpadded(post, kSource), RejectReason::kNone)
      << decoder.detail();
  EXPECT_EQ(Describe(decoder.event()), plain);

  const std::string ad = AdWith(
      R"("spend":{"lower":1,"upper":2,"currency":"EUR"},)"
      R"("impressions":{"lower":3,"upper":4,"note":"x"},"region":["B"])");
  const std::string ad_with_payer_extra =
      R"({"id":"ad1","platform":"meta","created_at":"2026-11-01T12:00:00Z",)"
      R"("page_id":"pg","payer":{"name":"P","id":77,"address":{}},)"
      R"("target":"DE"})";
  ASSERT_EQ(decoder.DecodeUnpadded(ad, kSource), RejectReason::kNone)
      << decoder.detail();
  EXPECT_EQ(decoder.event().spend.lower, 1);
  EXPECT_EQ(decoder.event().impressions.upper, 4);
  ASSERT_EQ(decoder.DecodeUnpadded(ad_with_payer_extra, kSource),
            RejectReason::kNone)
      << decoder.detail();
  EXPECT_EQ(decoder.event().payer_name, "P");
}

TEST(Decoder, TreatsNullOptionalFieldsAsAbsent) {
  Decoder decoder(DecoderOptions{});
  ASSERT_EQ(decoder.DecodeUnpadded(kMinimalPost, kSource), RejectReason::kNone);
  const std::string plain_post = Describe(decoder.event());
  const std::string post =
      R"({"id":"p1","platform":"x","created_at":"2026-11-01T12:00:00Z",)"
      R"("account":{"id":"a1","created_at":null,"country":null,)"
      R"("state_affiliated":null,"followers":null},"target":"DE",)"
      R"("lang":null,"text":null,"urls":null,"hashtags":null,)"
      R"("repost_of":null})";
  ASSERT_EQ(decoder.DecodeUnpadded(post, kSource), RejectReason::kNone)
      << decoder.detail();
  EXPECT_EQ(Describe(decoder.event()), plain_post);

  ASSERT_EQ(decoder.DecodeUnpadded(kMinimalAd, kSource), RejectReason::kNone);
  const std::string plain_ad = Describe(decoder.event());
  const std::string ad =
      R"({"id":"ad1","platform":"meta","created_at":"2026-11-01T12:00:00Z",)"
      R"("page_id":"pg","payer":{"name":"P","country":null},"target":"DE",)"
      R"("currency":null,"spend":null,"impressions":{"lower":null,)"
      R"("upper":null},"languages":null,"disclaimer":null})";
  ASSERT_EQ(decoder.DecodeUnpadded(ad, kSource), RejectReason::kNone)
      << decoder.detail();
  EXPECT_EQ(Describe(decoder.event()), plain_ad);
}

TEST(Decoder, KeepsARangeUnknownUnlessBothBoundsAreGiven) {
  Decoder decoder(DecoderOptions{});
  ASSERT_EQ(decoder.DecodeUnpadded(AdWith(R"("spend":{"lower":5})"), kSource),
            RejectReason::kNone);
  EXPECT_FALSE(decoder.event().spend.known());
  ASSERT_EQ(decoder.DecodeUnpadded(
                AdWith(R"("impressions":{"upper":5,"lower":null})"), kSource),
            RejectReason::kNone);
  EXPECT_FALSE(decoder.event().impressions.known());
  ASSERT_EQ(decoder.DecodeUnpadded(AdWith(R"("spend":{"lower":0,"upper":0})"),
                                   kSource),
            RejectReason::kNone);
  EXPECT_TRUE(decoder.event().spend.known());
  EXPECT_EQ(decoder.event().spend.midpoint(), 0);
}

TEST(Decoder, ReadsStateAffiliationAsATristate) {
  Decoder decoder(DecoderOptions{});
  ASSERT_EQ(decoder.DecodeUnpadded(
                PostWithAccount(R"("state_affiliated":false)"), kSource),
            RejectReason::kNone);
  EXPECT_EQ(decoder.event().state_affiliated, Tristate::kNo);
  ASSERT_EQ(decoder.DecodeUnpadded(
                PostWithAccount(R"("state_affiliated":true)"), kSource),
            RejectReason::kNone);
  EXPECT_EQ(decoder.event().state_affiliated, Tristate::kYes);
}

TEST(Decoder, DecodesEscapesInStrings) {
  Decoder decoder(DecoderOptions{});
  const std::string post = PostWith(
      R"("text":"line1\nline2 \"quoted\" caf\u00e9 \ud83d\ude00 back\\slash \/ tab\t")");
  ASSERT_EQ(decoder.DecodeUnpadded(post, kSource), RejectReason::kNone)
      << decoder.detail();
  EXPECT_EQ(decoder.event().text,
            "line1\nline2 \"quoted\" caf\xC3\xA9 \xF0\x9F\x98\x80 "
            "back\\slash / tab\t");
}

TEST(Decoder, MatchesKeysWrittenWithEscapes) {
  Decoder decoder(DecoderOptions{});
  const std::string post =
      R"({"\u0069d":"p1","plat\u0066orm":"x","created_at":)"
      R"("2026-11-01T12:00:00Z","account":{"\u0069\u0064":"a1"},)"
      R"("t\u0061rget":"DE"})";
  ASSERT_EQ(decoder.DecodeUnpadded(post, kSource), RejectReason::kNone)
      << decoder.detail();
  EXPECT_EQ(decoder.event().id, "p1");
  EXPECT_EQ(decoder.event().platform, "x");
  EXPECT_EQ(decoder.event().account_id, "a1");
  EXPECT_EQ(decoder.event().target, CountryCode::FromString("DE"));

  // An escaped key is still the same key for duplicate detection.
  EXPECT_EQ(decoder.DecodeUnpadded(PostWith(R"("\u0069d":"p2")"), kSource),
            RejectReason::kMalformedJson);
  EXPECT_EQ(decoder.detail(), "malformed JSON: duplicate field id");
}

TEST(Decoder, KeepsUnicodeTextIntact) {
  Decoder decoder(DecoderOptions{});
  const std::string text =
      "Выборы 2026 — 投票 🗳️ Ελλάδα عربي שלום "
      "\xE2\x80\x8B "
      "end";
  const std::string post = PostWith(
      "\"text\":\"" + text + "\",\"hashtags\":[\"выборы\",\"🗳️\"]");
  ASSERT_EQ(decoder.DecodeUnpadded(post, kSource), RejectReason::kNone)
      << decoder.detail();
  EXPECT_EQ(decoder.event().text, text);
  EXPECT_THAT(Vec(decoder.event().hashtags), ElementsAre("выборы", "🗳️"));
}

TEST(Decoder, AcceptsAByteOrderMark) {
  Decoder decoder(DecoderOptions{});
  ASSERT_EQ(decoder.DecodeUnpadded("\xEF\xBB\xBF" + std::string(kMinimalPost),
                                   kSource),
            RejectReason::kNone)
      << decoder.detail();
  EXPECT_EQ(decoder.event().id, "p1");
}

TEST(Decoder, FillsTheSourceFromTheArgument) {
  Decoder decoder(DecoderOptions{});
  const SourceRef kafka{"ads-topic", 3, 123456789012};
  ASSERT_EQ(decoder.DecodeUnpadded(kMinimalAd, kafka), RejectReason::kNone);
  EXPECT_EQ(decoder.event().source.source, "ads-topic");
  EXPECT_EQ(decoder.event().source.partition, 3);
  EXPECT_EQ(decoder.event().source.position, 123456789012);
  EXPECT_TRUE(decoder.event().source.is_kafka());
}

TEST(Decoder, RejectsMalformedJson) {
  ExpectRejects({
      {"", RejectReason::kMalformedJson, "empty"},
      {"   ", RejectReason::kMalformedJson, "empty"},
      {"not json", RejectReason::kMalformedJson, "malformed JSON"},
      {"{", RejectReason::kMalformedJson, "malformed JSON"},
      {R"({"id":})", RejectReason::kMalformedJson, "malformed JSON"},
      {R"({"id" "p1"})", RejectReason::kMalformedJson, "malformed JSON"},
      {PostWith(R"("lang":"en",)"), RejectReason::kMalformedJson,
       "malformed JSON"},
      {R"({"id":"p1" "platform":"x"})", RejectReason::kMalformedJson,
       "malformed JSON"},
      {PostWith(R"("urls":["a",])"), RejectReason::kMalformedJson,
       "malformed JSON"},
      {PostWith(R"("urls":["a" "b"])"), RejectReason::kMalformedJson,
       "malformed JSON"},
      // Bad literals and numbers in known fields are malformed, not a type
      // or range problem.
      {PostWithAccount(R"("state_affiliated":tru)"),
       RejectReason::kMalformedJson, "account.state_affiliated"},
      {PostWithAccount(R"("followers":01)"), RejectReason::kMalformedJson,
       "account.followers"},
      {AdWith(R"("spend":{"lower":1.,"upper":2})"),
       RejectReason::kMalformedJson, "spend.lower"},
      {AdWith(R"("spend":{"lower":-,"upper":2})"), RejectReason::kMalformedJson,
       "spend.lower"},
      {PostWith(R"("lang":nul)"), RejectReason::kMalformedJson, "lang"},
      // Unknown fields are ignored but must still be JSON.
      {PostWith(R"("extra":[1,,2])"), RejectReason::kMalformedJson, "extra"},
      {PostWith(R"("extra":[1 2])"), RejectReason::kMalformedJson, "extra"},
      {PostWith(R"("extra":{"b":1])"), RejectReason::kMalformedJson,
       "malformed JSON"},
      {PostWith(R"("extra":{"b" 1})"), RejectReason::kMalformedJson, "extra"},
      {PostWith(R"("extra":truex)"), RejectReason::kMalformedJson, "extra"},
      {PostWith(R"("extra":+1)"), RejectReason::kMalformedJson, "extra"},
      {PostWith(R"("extra":"\q")"), RejectReason::kMalformedJson, "extra"},
      // Escapes: unknown escape, lone surrogates.
      {PostWith(R"("text":"\x41")"), RejectReason::kMalformedJson, "text"},
      {PostWith(R"("text":"\ud83d")"), RejectReason::kMalformedJson, "text"},
      {PostWith(R"("text":"\ude00x")"), RejectReason::kMalformedJson, "text"},
      {PostWith(R"("text":"\u12")"), RejectReason::kMalformedJson,
       "malformed JSON"},
      // A raw control character inside a string must be escaped.
      {PostWith("\"text\":\"a\nb\""), RejectReason::kMalformedJson,
       "malformed JSON"},
      {PostWith(std::string("\"text\":\"a") + '\0' + "b\""),
       RejectReason::kMalformedJson, "malformed JSON"},
      // A bad escape in a key.
      {PostWith(R"("\q":1)"), RejectReason::kMalformedJson, "malformed JSON"},
  });
}

TEST(Decoder, RejectsTruncatedInputAsMalformed) {
  Decoder decoder(DecoderOptions{});
  for (std::string_view record : {kFullPost, kFullAd}) {
    ASSERT_EQ(decoder.DecodeUnpadded(record, kSource), RejectReason::kNone);
    for (size_t n = 0; n < record.size(); ++n) {
      const std::string_view prefix = record.substr(0, n);
      SCOPED_TRACE(prefix);
      // A cut inside a multi-byte character leaves invalid UTF-8 behind.
      EXPECT_THAT(
          decoder.DecodeUnpadded(prefix, kSource),
          AnyOf(RejectReason::kMalformedJson, RejectReason::kInvalidUtf8));
      EXPECT_THAT(decoder.detail(), Not(IsEmpty()));
    }
  }
  // The last prefix, one byte short, is the obvious truncation.
  EXPECT_EQ(
      decoder.DecodeUnpadded(kFullAd.substr(0, kFullAd.size() - 1), kSource),
      RejectReason::kMalformedJson);
}

TEST(Decoder, RejectsTrailingContentAfterTheObject) {
  const std::string post(kMinimalPost);
  ExpectRejects({
      {post + " x", RejectReason::kMalformedJson, "malformed JSON"},
      {post + "}", RejectReason::kMalformedJson, "trailing content"},
      {post + "]", RejectReason::kMalformedJson, "malformed JSON"},
      {post + post, RejectReason::kMalformedJson, "malformed JSON"},
      {post + ",", RejectReason::kMalformedJson, "malformed JSON"},
      {post + " 1", RejectReason::kMalformedJson, "malformed JSON"},
      {post + "\"", RejectReason::kMalformedJson, "malformed JSON"},
  });
  // Trailing whitespace is not content.
  Decoder decoder(DecoderOptions{});
  EXPECT_EQ(decoder.DecodeUnpadded(post + " \r\n\t ", kSource),
            RejectReason::kNone)
      << decoder.detail();
}

TEST(Decoder, RejectsATopLevelValueThatIsNotAnObject) {
  const std::string post(kMinimalPost);
  ExpectRejects({
      {"[" + post + "]", RejectReason::kMalformedJson,
       "an array, not an object"},
      {"[]", RejectReason::kMalformedJson, "an array, not an object"},
      {R"("p1")", RejectReason::kMalformedJson, "a string, not an object"},
      {"42", RejectReason::kMalformedJson, "a number, not an object"},
      {"true", RejectReason::kMalformedJson, "a boolean, not an object"},
      {"null", RejectReason::kMalformedJson, "null, not an object"},
  });
}

TEST(Decoder, TextThatIsNotJsonIsNotCalledABoolean) {
  // Regression: "this is not json" was "the record is a boolean" (simdjson
  // types a document by its first byte).
  ExpectRejects({
      {"this is not json", RejectReason::kMalformedJson,
       "malformed JSON: the record is not JSON"},
      {"nothing here", RejectReason::kMalformedJson,
       "malformed JSON: the record is not JSON"},
      {"-x", RejectReason::kMalformedJson,
       "malformed JSON: the record is not JSON"},
      {"12abc", RejectReason::kMalformedJson,
       "malformed JSON: the record is not JSON"},
  });
}

TEST(Decoder, RejectsInvalidUtf8InAKnownField) {
  ExpectRejects({
      {PostWith("\"text\":\"caf\xE9\""), RejectReason::kInvalidUtf8,
       "invalid UTF-8"},
      // Overlong encoding of '/'.
      {PostWith("\"text\":\"\xC0\xAF\""), RejectReason::kInvalidUtf8,
       "invalid UTF-8"},
      // A UTF-16 surrogate encoded directly.
      {PostWith("\"text\":\"\xED\xA0\x80\""), RejectReason::kInvalidUtf8,
       "invalid UTF-8"},
      // A sequence cut short.
      {PostWith("\"lang\":\"\xE2\x82\""), RejectReason::kInvalidUtf8,
       "invalid UTF-8"},
  });
}

TEST(Decoder, RejectsInvalidUtf8InAnUnknownField) {
  // On-Demand skips unknown fields; the UTF-8 check must not.
  ExpectRejects({
      {PostWith("\"extra\":\"\xFF\""), RejectReason::kInvalidUtf8,
       "invalid UTF-8"},
      {PostWith("\"extra\":{\"deep\":[\"ok\",\"\xF8\x88\x80\x80\x80\"]}"),
       RejectReason::kInvalidUtf8, "invalid UTF-8"},
      {PostWith("\"\xFE\":1"), RejectReason::kInvalidUtf8, "invalid UTF-8"},
      {PostWithAccount("\"bio\":\"\x80\""), RejectReason::kInvalidUtf8,
       "invalid UTF-8"},
  });
}

TEST(Decoder, RejectsMissingFieldsNamingThePath) {
  ExpectRejects({
      {"{}", RejectReason::kMissingField, "missing field id"},
      {R"({"platform":"x","created_at":"2026-11-01T12:00:00Z",)"
       R"("account":{"id":"a1"},"target":"DE"})",
       RejectReason::kMissingField, "missing field id"},
      {R"({"id":"p1","created_at":"2026-11-01T12:00:00Z",)"
       R"("account":{"id":"a1"},"target":"DE"})",
       RejectReason::kMissingField, "missing field platform"},
      {R"({"id":"p1","platform":"x","account":{"id":"a1"},"target":"DE"})",
       RejectReason::kMissingField, "missing field created_at"},
      {R"({"id":"p1","platform":"x","created_at":"2026-11-01T12:00:00Z",)"
       R"("target":"DE"})",
       RejectReason::kMissingField, "missing field account.id"},
      {R"({"id":"p1","platform":"x","created_at":"2026-11-01T12:00:00Z",)"
       R"("account":{"country":"RU"},"target":"DE"})",
       RejectReason::kMissingField, "missing field account.id"},
      {R"({"id":"p1","platform":"x","created_at":"2026-11-01T12:00:00Z",)"
       R"("account":{"id":"a1"}})",
       RejectReason::kMissingField, "missing field target"},
      {R"({"id":"ad1","platform":"meta","created_at":"2026-11-01T12:00:00Z",)"
       R"("payer":{"name":"P"},"target":"DE"})",
       RejectReason::kMissingField, "missing field page_id"},
      {R"({"id":"ad1","platform":"meta","created_at":"2026-11-01T12:00:00Z",)"
       R"("page_id":"pg","payer":{"country":"RU"},"target":"DE"})",
       RejectReason::kMissingField, "missing field payer.name"},
      {R"({"id":"ad1","platform":"meta","created_at":"2026-11-01T12:00:00Z",)"
       R"("page_id":"pg","payer":{"name":"P"}})",
       RejectReason::kMissingField, "missing field target"},
      // A required field given as null is missing.
      {R"({"id":null,"platform":"x","created_at":"2026-11-01T12:00:00Z",)"
       R"("account":{"id":"a1"},"target":"DE"})",
       RejectReason::kMissingField, "missing field id"},
      {R"({"id":"p1","platform":"x","created_at":null,)"
       R"("account":{"id":"a1"},"target":"DE"})",
       RejectReason::kMissingField, "missing field created_at"},
      {R"({"id":"p1","platform":"x","created_at":"2026-11-01T12:00:00Z",)"
       R"("account":null,"target":"DE"})",
       RejectReason::kMissingField, "missing field account.id"},
      {R"({"id":"p1","platform":"x","created_at":"2026-11-01T12:00:00Z",)"
       R"("account":{"id":null},"target":"DE"})",
       RejectReason::kMissingField, "missing field account.id"},
      {R"({"id":"p1","platform":"x","created_at":"2026-11-01T12:00:00Z",)"
       R"("account":{"id":"a1"},"target":null})",
       RejectReason::kMissingField, "missing field target"},
  });
}

// docs/feeds.md: a field of the other kind is checked like any other and
// then dropped, so a malformed one still rejects the record, while a
// well-formed one leaves it valid.
TEST(Decoder, ChecksFieldsOfTheOtherKindAndThenDropsThem) {
  Decoder decoder(DecoderOptions{});
  EXPECT_EQ(decoder.DecodeUnpadded(PostWith(R"("currency":"EUR")"), kSource),
            RejectReason::kNone)
      << decoder.detail();
  EXPECT_EQ(decoder.DecodeUnpadded(
                AdWith(R"("account":{"id":"a1","country":"RU"})"), kSource),
            RejectReason::kNone)
      << decoder.detail();
  ExpectRejects({
      {PostWith(R"("currency":7)"), RejectReason::kWrongType,
       "wrong type for currency"},
      {PostWith(R"("spend":{"lower":-1})"), RejectReason::kBadValue, "spend"},
      {AdWith(R"("account":"a1")"), RejectReason::kWrongType,
       "wrong type for account: expected object"},
      {AdWith(R"("urls":"https://a.example/1")"), RejectReason::kWrongType,
       "wrong type for urls"},
  });
}

TEST(Decoder, RejectsWrongTypesNamingFieldAndExpectedType) {
  ExpectRejects({
      {R"({"id":17,"platform":"x","created_at":"2026-11-01T12:00:00Z",)"
       R"("account":{"id":"a1"},"target":"DE"})",
       RejectReason::kWrongType,
       "wrong type for id: expected string, got number"},
      {R"({"id":"p1","platform":["x"],"created_at":"2026-11-01T12:00:00Z",)"
       R"("account":{"id":"a1"},"target":"DE"})",
       RejectReason::kWrongType,
       "wrong type for platform: expected string, got array"},
      {R"({"id":"p1","platform":"x","created_at":1767225600,)"
       R"("account":{"id":"a1"},"target":"DE"})",
       RejectReason::kWrongType,
       "wrong type for created_at: expected string (RFC 3339 time), got "
       "number"},
      {R"({"id":"p1","platform":"x","created_at":"2026-11-01T12:00:00Z",)"
       R"("account":"a1","target":"DE"})",
       RejectReason::kWrongType,
       "wrong type for account: expected object, got string"},
      {R"({"id":"p1","platform":"x","created_at":"2026-11-01T12:00:00Z",)"
       R"("account":{"id":1},"target":"DE"})",
       RejectReason::kWrongType, "wrong type for account.id: expected string"},
      {R"({"id":"p1","platform":"x","created_at":"2026-11-01T12:00:00Z",)"
       R"("account":{"id":"a1"},"target":{"code":"DE"}})",
       RejectReason::kWrongType,
       "wrong type for target: expected string (country code), got object"},
      {R"({"id":"p1","platform":"x","created_at":"2026-11-01T12:00:00Z",)"
       R"("account":{"id":"a1"},"target":true})",
       RejectReason::kWrongType,
       "wrong type for target: expected string (country code), got boolean"},
      {PostWithAccount(R"("followers":"12")"), RejectReason::kWrongType,
       "wrong type for account.followers: expected integer, got string"},
      {PostWithAccount(R"("followers":12.5)"), RejectReason::kWrongType,
       "wrong type for account.followers: expected integer, got number"},
      {PostWithAccount(R"("state_affiliated":"yes")"), RejectReason::kWrongType,
       "wrong type for account.state_affiliated: expected boolean, got "
       "string"},
      {PostWithAccount(R"("state_affiliated":1)"), RejectReason::kWrongType,
       "account.state_affiliated: expected boolean, got number"},
      {PostWithAccount(R"("country":7)"), RejectReason::kWrongType,
       "wrong type for account.country"},
      {PostWith(R"("urls":"https://a.example")"), RejectReason::kWrongType,
       "wrong type for urls: expected array of strings, got string"},
      {PostWith(R"("hashtags":{})"), RejectReason::kWrongType,
       "wrong type for hashtags: expected array of strings, got object"},
      {PostWith(R"("text":false)"), RejectReason::kWrongType,
       "wrong type for text: expected string, got boolean"},
      {PostWith(R"("repost_of":5)"), RejectReason::kWrongType,
       "wrong type for repost_of"},
      {PostWith(R"("lang":["en"])"), RejectReason::kWrongType,
       "wrong type for lang"},
      {AdWith(R"("spend":[1,2])"), RejectReason::kWrongType,
       "wrong type for spend: expected object, got array"},
      {AdWith(R"("spend":{"lower":"1","upper":2})"), RejectReason::kWrongType,
       "wrong type for spend.lower: expected number, got string"},
      {AdWith(R"("impressions":{"lower":1,"upper":true})"),
       RejectReason::kWrongType,
       "wrong type for impressions.upper: expected number, got boolean"},
      {AdWith(R"("currency":978)"), RejectReason::kWrongType,
       "wrong type for currency"},
      {AdWith(R"("languages":"ro")"), RejectReason::kWrongType,
       "wrong type for languages"},
      {AdWith(R"("disclaimer":{})"), RejectReason::kWrongType,
       "wrong type for disclaimer"},
      {R"({"id":"ad1","platform":"meta","created_at":"2026-11-01T12:00:00Z",)"
       R"("page_id":"pg","payer":"P","target":"DE"})",
       RejectReason::kWrongType,
       "wrong type for payer: expected object, got string"},
      {R"({"id":"ad1","platform":"meta","created_at":"2026-11-01T12:00:00Z",)"
       R"("page_id":"pg","payer":{"name":["P"]},"target":"DE"})",
       RejectReason::kWrongType, "wrong type for payer.name"},
  });
}

TEST(Decoder, RejectsBadTimesNamingTheField) {
  ExpectRejects({
      {R"({"id":"p1","platform":"x","created_at":"2026-11-01T12:00:00",)"
       R"("account":{"id":"a1"},"target":"DE"})",
       RejectReason::kBadTime, "bad time in created_at"},
      {R"({"id":"p1","platform":"x","created_at":"2026-11-01",)"
       R"("account":{"id":"a1"},"target":"DE"})",
       RejectReason::kBadTime, "bad time in created_at"},
      {R"({"id":"p1","platform":"x","created_at":"2026-02-30T12:00:00Z",)"
       R"("account":{"id":"a1"},"target":"DE"})",
       RejectReason::kBadTime, "bad time in created_at"},
      {R"({"id":"p1","platform":"x","created_at":"",)"
       R"("account":{"id":"a1"},"target":"DE"})",
       RejectReason::kBadTime, "bad time in created_at"},
      {R"({"id":"p1","platform":"x","created_at":"yesterday",)"
       R"("account":{"id":"a1"},"target":"DE"})",
       RejectReason::kBadTime, "bad time in created_at"},
      {PostWithAccount(R"("created_at":"2026-13-01T00:00:00Z")"),
       RejectReason::kBadTime, "bad time in account.created_at"},
      {PostWithAccount(R"("created_at":"2026-11-01T12:00:00+2:00")"),
       RejectReason::kBadTime, "bad time in account.created_at"},
  });
}

TEST(Decoder, RejectsBadCountryCodesNamingTheField) {
  ExpectRejects({
      {R"({"id":"p1","platform":"x","created_at":"2026-11-01T12:00:00Z",)"
       R"("account":{"id":"a1"},"target":"de"})",
       RejectReason::kBadCountry, R"(bad country code in target: "de")"},
      {R"({"id":"p1","platform":"x","created_at":"2026-11-01T12:00:00Z",)"
       R"("account":{"id":"a1"},"target":"DEU"})",
       RejectReason::kBadCountry, "bad country code in target"},
      {R"({"id":"p1","platform":"x","created_at":"2026-11-01T12:00:00Z",)"
       R"("account":{"id":"a1"},"target":""})",
       RejectReason::kBadCountry, "bad country code in target"},
      // Two letters but not assigned.
      {R"({"id":"p1","platform":"x","created_at":"2026-11-01T12:00:00Z",)"
       R"("account":{"id":"a1"},"target":"ZZ"})",
       RejectReason::kBadCountry, R"(bad country code in target: "ZZ")"},
      {PostWithAccount(R"("country":"UK")"), RejectReason::kBadCountry,
       R"(bad country code in account.country: "UK")"},
      {PostWithAccount(R"("country":"Russia")"), RejectReason::kBadCountry,
       "bad country code in account.country"},
      {R"({"id":"ad1","platform":"meta","created_at":"2026-11-01T12:00:00Z",)"
       R"("page_id":"pg","payer":{"name":"P","country":"EU"},"target":"DE"})",
       RejectReason::kBadCountry, "bad country code in payer.country"},
  });
}

TEST(Decoder, RejectsBadValuesNamingTheField) {
  ExpectRejects({
      {R"({"id":"","platform":"x","created_at":"2026-11-01T12:00:00Z",)"
       R"("account":{"id":"a1"},"target":"DE"})",
       RejectReason::kBadValue, "bad value for id: empty"},
      {R"({"id":"p1","platform":"","created_at":"2026-11-01T12:00:00Z",)"
       R"("account":{"id":"a1"},"target":"DE"})",
       RejectReason::kBadValue, "bad value for platform: empty"},
      {R"({"id":"p1","platform":"x","created_at":"2026-11-01T12:00:00Z",)"
       R"("account":{"id":""},"target":"DE"})",
       RejectReason::kBadValue, "bad value for account.id: empty"},
      {R"({"id":"ad1","platform":"meta","created_at":"2026-11-01T12:00:00Z",)"
       R"("page_id":"","payer":{"name":"P"},"target":"DE"})",
       RejectReason::kBadValue, "bad value for page_id: empty"},
      {R"({"id":"ad1","platform":"meta","created_at":"2026-11-01T12:00:00Z",)"
       R"("page_id":"pg","payer":{"name":""},"target":"DE"})",
       RejectReason::kBadValue, "bad value for payer.name: empty"},
      {AdWith(R"("currency":"eur")"), RejectReason::kBadValue,
       R"(bad value for currency: "eur")"},
      {AdWith(R"("currency":"EURO")"), RejectReason::kBadValue,
       "bad value for currency"},
      {AdWith(R"("currency":"")"), RejectReason::kBadValue,
       "bad value for currency"},
      {AdWith(R"("spend":{"lower":-1,"upper":2})"), RejectReason::kBadValue,
       "bad value for spend.lower: negative"},
      {AdWith(R"("spend":{"lower":1,"upper":-0.5})"), RejectReason::kBadValue,
       "bad value for spend.upper: negative"},
      {AdWith(R"("impressions":{"lower":5000,"upper":1000})"),
       RejectReason::kBadValue,
       "bad value for impressions: lower 5000 > "
       "upper 1000"},
      {AdWith(R"("spend":{"upper":1,"lower":2})"), RejectReason::kBadValue,
       "bad value for spend: lower 2 > upper 1"},
      {PostWithAccount(R"("followers":-3)"), RejectReason::kBadValue,
       "bad value for account.followers: negative"},
      {PostWith(R"("urls":["https://a.example",7])"), RejectReason::kBadValue,
       "bad value for urls[1]: expected string, got number"},
      {PostWith(R"("hashtags":[null])"), RejectReason::kBadValue,
       "bad value for hashtags[0]: expected string, got null"},
      {AdWith(R"("languages":["ro",["ru"]])"), RejectReason::kBadValue,
       "bad value for languages[1]: expected string, got array"},
  });
}

TEST(Decoder, RejectsHugeNumbersWithAReason) {
  ExpectRejects({
      {PostWithAccount(R"("followers":123456789012345678901234567890)"),
       RejectReason::kBadValue,
       "bad value for account.followers: integer out of range"},
      {PostWithAccount(R"("followers":9223372036854775808)"),
       RejectReason::kBadValue,
       "bad value for account.followers: integer out of range"},
      {PostWithAccount(R"("followers":-99999999999999999999)"),
       RejectReason::kBadValue,
       "bad value for account.followers: integer out of range"},
      // An exponent is not an integer literal, however large.
      {PostWithAccount(R"("followers":1e400)"), RejectReason::kWrongType,
       "wrong type for account.followers: expected integer"},
      {AdWith(R"("spend":{"lower":1e400,"upper":1e401})"),
       RejectReason::kBadValue,
       "bad value for spend.lower: number out of "
       "range"},
      {AdWith(R"("spend":{"lower":0,"upper":-1e400})"), RejectReason::kBadValue,
       "bad value for spend.upper"},
  });
  // Large but finite numbers are fine where numbers are expected, and any
  // valid number is fine in an unknown field.
  Decoder decoder(DecoderOptions{});
  ASSERT_EQ(decoder.DecodeUnpadded(
                AdWith(R"("spend":{"lower":1,)"
                       R"("upper":123456789012345678901234567890})"),
                kSource),
            RejectReason::kNone)
      << decoder.detail();
  EXPECT_DOUBLE_EQ(decoder.event().spend.upper, 1.2345678901234568e29);
  ASSERT_EQ(decoder.DecodeUnpadded(
                PostWithAccount(R"("followers":9223372036854775807)"), kSource),
            RejectReason::kNone)
      << decoder.detail();
  EXPECT_EQ(decoder.event().followers, INT64_MAX);
}

TEST(Decoder, RejectsDuplicateKnownFieldsAsMalformed) {
  ExpectRejects({
      {PostWith(R"("id":"p2")"), RejectReason::kMalformedJson,
       "malformed JSON: duplicate field id"},
      {PostWith(R"("target":"FR")"), RejectReason::kMalformedJson,
       "duplicate field target"},
      // Null does not make a duplicate acceptable.
      {PostWith(R"("lang":"en","lang":null)"), RejectReason::kMalformedJson,
       "duplicate field lang"},
      {PostWithAccount(R"("id":"a2")"), RejectReason::kMalformedJson,
       "duplicate field account.id"},
      {PostWith(R"("account":{"id":"a2"})"), RejectReason::kMalformedJson,
       "duplicate field account"},
      {AdWith(R"("spend":{"lower":1,"lower":2,"upper":3})"),
       RejectReason::kMalformedJson, "duplicate field spend.lower"},
      {R"({"id":"ad1","platform":"meta","created_at":"2026-11-01T12:00:00Z",)"
       R"("page_id":"pg","payer":{"name":"P","name":"Q"},"target":"DE"})",
       RejectReason::kMalformedJson, "duplicate field payer.name"},
  });
}

TEST(Decoder, AcceptsDuplicateUnknownFields) {
  Decoder decoder(DecoderOptions{});
  EXPECT_EQ(decoder.DecodeUnpadded(PostWith(R"("x":1,"x":2)"), kSource),
            RejectReason::kNone)
      << decoder.detail();
}

TEST(Decoder, RejectsOversizeRecordsBeforeParsing) {
  DecoderOptions options;
  options.max_event_bytes = 128;
  Decoder decoder(options);
  std::string exact(kMinimalPost);
  ASSERT_LT(exact.size(), 128u);
  exact.append(128 - exact.size(), ' ');
  EXPECT_EQ(decoder.DecodeUnpadded(exact, kSource), RejectReason::kNone)
      << decoder.detail();

  const std::string over = exact + " ";
  EXPECT_EQ(decoder.DecodeUnpadded(over, kSource), RejectReason::kOversize);
  EXPECT_EQ(decoder.detail(),
            "record is 129 bytes, over the limit of 128 bytes");
  // Size is checked first: garbage that is too big is oversize, not
  // malformed.
  EXPECT_EQ(decoder.DecodeUnpadded(std::string(1000, '\xFF'), kSource),
            RejectReason::kOversize);

  std::string padded = over + std::string(Decoder::padding(), '\0');
  EXPECT_EQ(decoder.Decode(std::string_view(padded.data(), over.size()),
                           padded.size(), kSource),
            RejectReason::kOversize);
}

TEST(Decoder, HandlesRecordsUpToTheDefaultLimit) {
  Decoder decoder(DecoderOptions{});
  const size_t limit = DecoderOptions{}.max_event_bytes;
  std::string big =
      PostWith("\"text\":\"" + std::string(limit - 200, 'a') + "\"");
  big.append(limit - big.size(), ' ');
  ASSERT_EQ(big.size(), limit);
  ASSERT_EQ(decoder.DecodeUnpadded(big, kSource), RejectReason::kNone)
      << decoder.detail();
  EXPECT_EQ(decoder.event().text.size(), limit - 200);
  EXPECT_EQ(decoder.DecodeUnpadded(big + " ", kSource),
            RejectReason::kOversize);
}

TEST(Decoder, RejectsDeepNestingInUnknownFieldsWithoutCrashing) {
  Decoder decoder(DecoderOptions{});
  const auto nested = [](int depth) {
    return PostWith("\"deep\":" + std::string(depth, '[') +
                    std::string(depth, ']'));
  };
  EXPECT_EQ(decoder.DecodeUnpadded(nested(10), kSource), RejectReason::kNone)
      << decoder.detail();
  EXPECT_EQ(decoder.DecodeUnpadded(nested(64), kSource), RejectReason::kNone)
      << decoder.detail();
  EXPECT_EQ(decoder.DecodeUnpadded(nested(65), kSource),
            RejectReason::kMalformedJson);
  EXPECT_THAT(decoder.detail(), HasSubstr("nested deeper than 64"));
  EXPECT_EQ(decoder.DecodeUnpadded(nested(100000), kSource),
            RejectReason::kMalformedJson);
  // Unbalanced deep nesting.
  EXPECT_EQ(decoder.DecodeUnpadded(
                PostWith("\"deep\":" + std::string(100000, '[')), kSource),
            RejectReason::kMalformedJson);
}

TEST(Decoder, KeepsTheDetailToOneShortLine) {
  Decoder decoder(DecoderOptions{});
  const std::string long_value =
      std::string(5000, 'x') + "\\n" + std::string(5000, 'y');
  const std::vector<std::string> records = {
      PostWithAccount("\"country\":\"" + long_value + "\""),
      R"({"id":"p1","platform":"x","created_at":")" + long_value +
          R"(","account":{"id":"a1"},"target":"DE"})",
      R"({"id":"p1","platform":"x","created_at":"2026-11-01T12:00:00Z",)"
      R"("account":{"id":"a1"},"target":")" +
          std::string("\\n\\u00e9\\u0001") + long_value + "\"}",
      AdWith("\"currency\":\"" + long_value + "\""),
      PostWith("\"" + long_value + "\":tru"),
      PostWith("\"a\":" + std::string(3000, '1') + "x"),
  };
  for (const std::string& record : records) {
    SCOPED_TRACE(record.substr(0, 120));
    EXPECT_NE(decoder.DecodeUnpadded(record, kSource), RejectReason::kNone);
    EXPECT_THAT(decoder.detail(), AllOf(Not(IsEmpty()), Not(HasSubstr("\n"))));
    EXPECT_LE(decoder.detail().size(), 160u) << decoder.detail();
  }
}

TEST(Decoder, KeepsDecodingCorrectlyAfterRejections) {
  Decoder fresh_decoder(DecoderOptions{});
  ASSERT_EQ(fresh_decoder.DecodeUnpadded(kFullPost, kSource),
            RejectReason::kNone);
  const std::string post = Describe(fresh_decoder.event());
  ASSERT_EQ(fresh_decoder.DecodeUnpadded(kFullAd, kSource),
            RejectReason::kNone);
  const std::string ad = Describe(fresh_decoder.event());

  const std::vector<std::string> bad = {
      "{",
      "[]",
      "\xFF",
      PostWith(R"("id":"dup")"),
      PostWithAccount(R"("followers":-1)"),
      std::string(kFullPost) + "x",
      AdWith(R"("spend":{"lower":3,"upper":1})"),
      R"({"id":"p1","platform":"x"})",
  };
  Decoder decoder(DecoderOptions{});
  for (int round = 0; round < 50; ++round) {
    for (const std::string& b : bad) {
      SCOPED_TRACE(b);
      ASSERT_EQ(decoder.DecodeUnpadded(kFullPost, kSource),
                RejectReason::kNone);
      EXPECT_EQ(Describe(decoder.event()), post);
      ASSERT_NE(decoder.DecodeUnpadded(b, kSource), RejectReason::kNone);
      // A rejected record leaves no half-decoded event behind.
      EXPECT_TRUE(decoder.event().id.empty());
      ASSERT_EQ(decoder.DecodeUnpadded(kFullAd, kSource), RejectReason::kNone)
          << decoder.detail();
      EXPECT_EQ(Describe(decoder.event()), ad);
      EXPECT_TRUE(decoder.detail().empty());
    }
  }
}

TEST(Decoder, DecodeUnpaddedEqualsDecode) {
  const std::vector<std::string> records = {
      std::string(kFullPost),
      std::string(kFullAd),
      std::string(kMinimalPost),
      PostWith(R"("text":"caf\u00e9 \ud83d\ude00")"),
      PostWith(R"("id":"dup")"),
      PostWithAccount(R"("country":"XX")"),
      "[1,2]",
      "",
  };
  Decoder padded_decoder(DecoderOptions{});
  Decoder unpadded_decoder(DecoderOptions{});
  for (const std::string& record : records) {
    SCOPED_TRACE(record);
    std::string buffer = record + std::string(Decoder::padding(), 'x');
    const RejectReason padded = padded_decoder.Decode(
        std::string_view(buffer.data(), record.size()), buffer.size(), kSource);
    const RejectReason unpadded =
        unpadded_decoder.DecodeUnpadded(record, kSource);
    EXPECT_EQ(padded, unpadded);
    EXPECT_EQ(padded_decoder.detail(), unpadded_decoder.detail());
    EXPECT_EQ(Describe(padded_decoder.event()),
              Describe(unpadded_decoder.event()));
  }
}

TEST(Decoder, DecodeCopiesWhenThePaddingIsShort) {
  Decoder decoder(DecoderOptions{});
  // No padding at all: the decoder must not read past the record.
  const std::string record(kFullAd);
  ASSERT_EQ(decoder.Decode(record, record.size(), kSource), RejectReason::kNone)
      << decoder.detail();
  EXPECT_EQ(decoder.event().payer_name, "Acme Media SRL");
}

TEST(Decoder, DoesNotAllocateInSteadyState) {
  Decoder decoder(DecoderOptions{});
  const std::string post(kFullPost);
  const std::string ad(kFullAd);
  const std::string padded_post = post + std::string(Decoder::padding(), ' ');
  const auto decode_all = [&] {
    int accepted = 0;
    accepted +=
        decoder.Decode(std::string_view(padded_post.data(), post.size()),
                       padded_post.size(), kSource) == RejectReason::kNone;
    accepted += decoder.DecodeUnpadded(ad, kSource) == RejectReason::kNone;
    accepted += decoder.DecodeUnpadded(post, kSource) == RejectReason::kNone;
    return accepted;
  };
  // The first records size the parser and the scratch buffers.
  ASSERT_EQ(decode_all(), 3) << decoder.detail();

  int accepted = 0;
  g_allocations = 0;
  g_count_allocations = true;
  for (int i = 0; i < 100; ++i) accepted += decode_all();
  g_count_allocations = false;
  EXPECT_EQ(accepted, 300);
  EXPECT_EQ(g_allocations.load(), 0);
}

TEST(Decoder, RejectReasonNamesAreStable) {
  std::vector<std::string_view> names;
  for (int i = 0; i < kNumRejectReasons; ++i) {
    names.push_back(RejectReasonName(static_cast<RejectReason>(i)));
  }
  EXPECT_THAT(names,
              ElementsAre("none", "malformed_json", "invalid_utf8",
                          "missing_field", "wrong_type", "bad_time",
                          "bad_country", "bad_value", "oversize", "future"));
}

}  // namespace
}  // namespace vigia

// Replaces the global allocation functions (all but the over-aligned ones,
// which stay paired among themselves) so the steady-state test can count
// allocations. Every form allocates with malloc and frees with free, which
// keeps AddressSanitizer's pairing checks happy. They are not inlined, so
// that GCC's -Wmismatched-new-delete sees new paired with delete, not free.
namespace {
void* CountedAlloc(std::size_t size) noexcept {
  if (vigia::g_count_allocations.load(std::memory_order_relaxed)) {
    vigia::g_allocations.fetch_add(1, std::memory_order_relaxed);
  }
  return std::malloc(size == 0 ? 1 : size);
}
}  // namespace

[[gnu::noinline]] void* operator new(std::size_t size) {
  if (void* p = CountedAlloc(size)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new[](std::size_t size) {
  if (void* p = CountedAlloc(size)) return p;
  throw std::bad_alloc();
}
[[gnu::noinline]] void* operator new(std::size_t size,
                                     const std::nothrow_t&) noexcept {
  return CountedAlloc(size);
}
[[gnu::noinline]] void* operator new[](std::size_t size,
                                       const std::nothrow_t&) noexcept {
  return CountedAlloc(size);
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete[](void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
[[gnu::noinline]] void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}
[[gnu::noinline]] void operator delete(void* p,
                                       const std::nothrow_t&) noexcept {
  std::free(p);
}
[[gnu::noinline]] void operator delete[](void* p,
                                         const std::nothrow_t&) noexcept {
  std::free(p);
}
