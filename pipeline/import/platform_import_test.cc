#include "pipeline/import/platform_import.h"

#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/core/files.h"
#include "pipeline/core/time.h"
#include "pipeline/decoder.h"
#include "simdjson.h"

namespace vigia {
namespace {

using ::testing::HasSubstr;

const std::string kData = VIGIA_IMPORT_TESTDATA;

std::string Read(const std::string& name) {
  absl::StatusOr<std::string> text =
      ReadFileToString(kData + "/" + name, 1 << 24, "test data");
  EXPECT_TRUE(text.ok()) << text.status();
  return text.ok() ? *text : std::string();
}

const EnrichmentTable& Table() {
  static const EnrichmentTable* table = [] {
    absl::StatusOr<EnrichmentTable> t =
        EnrichmentTable::Load(kData + "/enrichment.csv");
    EXPECT_TRUE(t.ok()) << t.status();
    return new EnrichmentTable(t.ok() ? *std::move(t) : EnrichmentTable());
  }();
  return *table;
}

ImportOptions Options(ExportFormat format, const char* target = "") {
  ImportOptions o;
  o.format = format;
  o.default_target = CountryCode::FromString(target);
  return o;
}

// The record with `id`, as parsed JSON (kept alive by the parser).
simdjson::dom::element Record(const ImportResult& r, std::string_view id,
                              simdjson::dom::parser& parser) {
  for (const ImportedRecord& rec : r.records) {
    if (absl::StrContains(rec.json,
                          absl::StrCat("\"id\":\"", std::string(id), "\""))) {
      simdjson::dom::element e;
      EXPECT_EQ(parser.parse(rec.json).get(e), simdjson::SUCCESS) << rec.json;
      return e;
    }
  }
  ADD_FAILURE() << "no record " << id;
  return simdjson::dom::element();
}

std::string_view Str(simdjson::dom::element e, std::string_view pointer) {
  std::string_view s;
  if (e.at_pointer(pointer).get_string().get(s) != simdjson::SUCCESS) {
    return "<absent>";
  }
  return s;
}

const ImportReject* RejectOf(const ImportResult& r, std::string_view reason) {
  for (const ImportReject& j : r.rejects) {
    if (j.reason == reason) return &j;
  }
  return nullptr;
}

// Every record decodes under the feed contract (the importer checks; this
// checks the importer).
void ExpectAllDecode(const ImportResult& r) {
  Decoder decoder(DecoderOptions{});
  for (const ImportedRecord& rec : r.records) {
    EXPECT_EQ(decoder.DecodeUnpadded(rec.json, SourceRef{"t", -1, 1}),
              RejectReason::kNone)
        << decoder.detail() << "\n"
        << rec.json;
  }
}

TEST(ImportX, ASearchPageBecomesPostsInEventTimeOrder) {
  const std::string input = Read("x_search_page.json");
  const ImportResult r = ImportExport(input, "x_search_page.json", Table(),
                                      Options(ExportFormat::kXV2, "US"));
  EXPECT_EQ(r.stats.documents, 1);
  EXPECT_EQ(r.stats.items, 11);
  EXPECT_EQ(r.stats.imported, 10);
  EXPECT_EQ(r.stats.rejected_total(), 1);
  EXPECT_EQ(r.stats.rejected.at("unmapped_account"), 1);
  EXPECT_EQ(r.stats.imported_without_origin, 0);
  ExpectAllDecode(r);
  // Search results come newest first; the output is oldest first.
  for (size_t i = 1; i < r.records.size(); ++i) {
    EXPECT_LE(r.records[i - 1].created_at, r.records[i].created_at);
  }
  EXPECT_THAT(r.records.front().json, HasSubstr("1795000000000000201"));

  simdjson::dom::parser parser;
  simdjson::dom::element p = Record(r, "1795000000000000100", parser);
  EXPECT_EQ(Str(p, "/platform"), "x");
  EXPECT_EQ(Str(p, "/created_at"), "2027-05-30T18:00:00.000Z");
  EXPECT_EQ(Str(p, "/account/id"), "1570000000000001001");
  EXPECT_EQ(Str(p, "/account/username"), "sre_diaspora_mx");
  EXPECT_EQ(Str(p, "/account/created_at"), "2014-03-02T16:20:11.000Z");
  EXPECT_EQ(Str(p, "/account/country"), "MX");
  EXPECT_EQ(Str(p, "/target"), "US");
  EXPECT_EQ(Str(p, "/lang"), "es");
  bool state = false;
  EXPECT_EQ(p.at_pointer("/account/state_affiliated").get(state),
            simdjson::SUCCESS);
  EXPECT_TRUE(state);
  int64_t n = 0;
  EXPECT_EQ(p.at_pointer("/account/followers").get(n), simdjson::SUCCESS);
  EXPECT_EQ(n, 812345);
  EXPECT_EQ(p.at_pointer("/reposts").get(n), simdjson::SUCCESS);
  EXPECT_EQ(n, 12);
  // The link as expanded, not t.co; hashtags without '#'.
  EXPECT_EQ(Str(p, "/urls/0"),
            "https://gob.example.mx/comunicados/"
            "ni-un-voto?utm_source=x&utm_campaign=diaspora");
  EXPECT_EQ(Str(p, "/hashtags/0"), "NiUnVoto");
  // Where it came from: the export file and the line the tweet starts on.
  EXPECT_EQ(Str(p, "/import/format"), "x");
  EXPECT_EQ(Str(p, "/import/file"), "x_search_page.json");
  EXPECT_EQ(p.at_pointer("/import/line").get(n), simdjson::SUCCESS);
  EXPECT_GT(n, 1);

  // Found by @username (the table has no id row for it).
  p = Record(r, "1795000000000000101", parser);
  EXPECT_EQ(Str(p, "/account/country"), "MX");
  EXPECT_EQ(Str(p, "/account/state_affiliated"), "<absent>");

  // A retweet is a repost of the original; the row gives no target, so
  // --target does.
  p = Record(r, "1795000000000000200", parser);
  EXPECT_EQ(Str(p, "/repost_of"), "1795000000000000100");
  EXPECT_EQ(Str(p, "/target"), "US");
  EXPECT_EQ(Str(p, "/account/country"), "US");

  // "und" (undetermined) is not a language.
  p = Record(r, "1795000000000000202", parser);
  EXPECT_EQ(Str(p, "/lang"), "<absent>");

  // The unmapped account's tweet, with its original bytes and line.
  const ImportReject* j = RejectOf(r, "unmapped_account");
  ASSERT_NE(j, nullptr);
  EXPECT_THAT(j->detail, HasSubstr("X account 1570000000000003001 "
                                   "(@someone_unlisted) is not in the "
                                   "enrichment table"));
  EXPECT_EQ(j->bytes.front(), '{');
  EXPECT_EQ(j->bytes.back(), '}');
  EXPECT_THAT(std::string(j->bytes), HasSubstr("\"who is behind #NiUnVoto?\""));
  EXPECT_EQ(
      j->bytes.data() >= input.data() &&
          j->bytes.data() + j->bytes.size() <= input.data() + input.size(),
      true);
  const size_t at = static_cast<size_t>(j->bytes.data() - input.data());
  EXPECT_EQ(j->line, 1 + std::count(input.begin(), input.begin() + at, '\n'));
}

TEST(ImportX, WithoutATargetRecordsWhoseRowNamesNoneAreRejected) {
  const ImportResult r = ImportExport(Read("x_search_page.json"), "s", Table(),
                                      Options(ExportFormat::kXV2));
  // Account 2002's row names no target: its retweet and its "und" post.
  EXPECT_EQ(r.stats.rejected.at("no_target"), 2);
  EXPECT_EQ(r.stats.imported, 8);
  const ImportReject* j = RejectOf(r, "no_target");
  ASSERT_NE(j, nullptr);
  EXPECT_THAT(j->detail, HasSubstr("no --target was given"));
}

TEST(ImportX, KeepUnmappedImportsWithoutAnOriginAndCountsIt) {
  ImportOptions o = Options(ExportFormat::kXV2, "US");
  o.keep_unmapped = true;
  const ImportResult r =
      ImportExport(Read("x_search_page.json"), "s", Table(), o);
  EXPECT_EQ(r.stats.imported, 11);
  EXPECT_EQ(r.stats.imported_without_origin, 1);
  EXPECT_EQ(r.stats.rejected_total(), 0);
  simdjson::dom::parser parser;
  simdjson::dom::element p = Record(r, "1795000000000000203", parser);
  EXPECT_EQ(Str(p, "/account/country"), "<absent>");
  EXPECT_EQ(Str(p, "/target"), "US");
  ExpectAllDecode(r);
}

TEST(ImportX, StreamLinesEachGetARecordOrAReason) {
  const std::string input = Read("x_stream.ndjson");
  const ImportResult r = ImportExport(input, "x_stream.ndjson", Table(),
                                      Options(ExportFormat::kXV2, "US"));
  // Seven lines, one a keep-alive (blank): six documents.
  EXPECT_EQ(r.stats.documents, 6);
  EXPECT_EQ(r.stats.items, 6);
  EXPECT_EQ(r.stats.imported, 2);
  EXPECT_EQ(r.stats.rejected.at("api_error"), 1);
  EXPECT_EQ(r.stats.rejected.at("malformed_json"), 1);
  EXPECT_EQ(r.stats.rejected.at("duplicate"), 1);
  EXPECT_EQ(r.stats.rejected.at("missing_field"), 1);
  EXPECT_EQ(r.stats.rejected_total() + r.stats.imported, r.stats.items);
  ExpectAllDecode(r);
  // A stream line is its record: the dead letter keeps the whole line
  // (with its includes), not the \r.
  const ImportReject* dup = RejectOf(r, "duplicate");
  ASSERT_NE(dup, nullptr);
  EXPECT_EQ(dup->line, 6);
  EXPECT_THAT(dup->detail, HasSubstr("already imported from line 1"));
  EXPECT_TRUE(absl::StartsWith(std::string(dup->bytes), "{\"data\":"));
  EXPECT_THAT(std::string(dup->bytes), HasSubstr("\"includes\""));
  EXPECT_EQ(dup->bytes.back(), '}');
  const ImportReject* cut = RejectOf(r, "malformed_json");
  ASSERT_NE(cut, nullptr);
  EXPECT_EQ(cut->line, 5);
  EXPECT_EQ(cut->bytes,
            "{\"data\":{\"id\":\"1795000000000000303\","
            "\"text\":\"cut off mid-wri");
  const ImportReject* missing = RejectOf(r, "missing_field");
  ASSERT_NE(missing, nullptr);
  EXPECT_EQ(missing->detail, "missing field created_at");
  EXPECT_EQ(missing->line, 7);
  simdjson::dom::parser parser;
  simdjson::dom::element p = Record(r, "1795000000000000302", parser);
  EXPECT_EQ(Str(p, "/repost_of"), "1795000000000000301");
  EXPECT_EQ(Str(p, "/account/username"), "raices_mx_usa");
}

TEST(ImportMeta, AnAdLibraryPageBecomesAds) {
  const std::string input = Read("meta_ads_page.json");
  const ImportResult r =
      ImportExport(input, "meta_ads_page.json", Table(),
                   Options(ExportFormat::kMetaAdLibrary, "MX"));
  EXPECT_EQ(r.stats.documents, 1);
  EXPECT_EQ(r.stats.items, 8);
  EXPECT_EQ(r.stats.imported, 5);
  EXPECT_EQ(r.stats.rejected.at("bad_value"), 1);
  EXPECT_EQ(r.stats.rejected.at("unmapped_account"), 1);
  EXPECT_EQ(r.stats.rejected.at("feed_contract"), 1);
  ExpectAllDecode(r);

  // Decoded as vigia sees it.
  Decoder decoder(DecoderOptions{});
  const ImportedRecord* first = nullptr;
  for (const ImportedRecord& rec : r.records) {
    if (absl::StrContains(rec.json, "1204857600000001")) first = &rec;
  }
  ASSERT_NE(first, nullptr);
  ASSERT_EQ(decoder.DecodeUnpadded(first->json, SourceRef{"t", -1, 1}),
            RejectReason::kNone);
  const Event& e = decoder.event();
  EXPECT_TRUE(e.is_ad());
  EXPECT_EQ(e.platform, "meta");
  EXPECT_EQ(e.page_id, "104857600123");
  EXPECT_EQ(e.payer_name, "Fundación Amigos de Eurasia");
  EXPECT_EQ(e.payer_country.str(), "RU");
  EXPECT_EQ(e.target.str(), "MX");
  EXPECT_TRUE(e.is_foreign());
  EXPECT_EQ(e.currency.str(), "USD");
  EXPECT_EQ(e.spend.lower, 500);
  EXPECT_EQ(e.spend.upper, 999);
  EXPECT_EQ(e.impressions.lower, 40000);
  EXPECT_EQ(e.impressions.upper, 44999);
  EXPECT_TRUE(e.has_disclaimer);
  EXPECT_EQ(e.disclaimer, "Fundación Amigos de Eurasia");
  ASSERT_EQ(e.languages.size(), 1u);
  EXPECT_EQ(e.languages[0], "es");
  EXPECT_EQ(FormatRfc3339(e.created_at), "2027-05-29T00:00:00.000Z");

  simdjson::dom::parser parser;
  // The Graph API's "+0000" offset; the top impressions bucket has no upper
  // bound, and the record keeps only the lower one.
  simdjson::dom::element p = Record(r, "1204857600000003", parser);
  EXPECT_EQ(Str(p, "/created_at"), "2027-05-29T07:15:00.000Z");
  double lower = 0;
  EXPECT_EQ(p.at_pointer("/impressions/lower").get(lower), simdjson::SUCCESS);
  EXPECT_EQ(lower, 1000000);
  EXPECT_TRUE(p.at_pointer("/impressions/upper").error());
  // Delivery regions and stop time travel along for a person to read.
  p = Record(r, "1204857600000001", parser);
  EXPECT_EQ(Str(p, "/delivery_by_region/0/region"), "Ciudad de México");
  EXPECT_EQ(Str(p, "/stopped_at"), "2027-06-05T00:00:00.000Z");
  EXPECT_EQ(Str(p, "/payer/named_by"), "bylines");
  // No bylines: the page names the payer, and no disclaimer is reported.
  p = Record(r, "1204857600000005", parser);
  EXPECT_EQ(Str(p, "/payer/name"), "Comité Vecinal Roma Norte");
  EXPECT_EQ(Str(p, "/payer/named_by"), "page_name");
  EXPECT_EQ(Str(p, "/disclaimer"), "<absent>");
  EXPECT_EQ(Str(p, "/target"), "MX");  // the row names none: --target

  const ImportReject* bad = RejectOf(r, "bad_value");
  ASSERT_NE(bad, nullptr);
  EXPECT_THAT(bad->detail, HasSubstr("spend.lower_bound: \"one hundred\""));
  const ImportReject* contract = RejectOf(r, "feed_contract");
  ASSERT_NE(contract, nullptr);
  EXPECT_THAT(contract->detail, HasSubstr("bad_value"));
  EXPECT_THAT(contract->detail, HasSubstr("currency"));
  EXPECT_THAT(std::string(contract->bytes), HasSubstr("\"pesos\""));
  const ImportReject* unmapped = RejectOf(r, "unmapped_account");
  ASSERT_NE(unmapped, nullptr);
  EXPECT_THAT(unmapped->detail,
              HasSubstr("Meta page 998877665544 (Página sin atribuir)"));
}

TEST(ImportMeta, ReadsArraysAndOneAdPerLineToo) {
  const std::string ad =
      R"({"id":"9","page_id":"104857600123","bylines":"B","ad_delivery_start_time":"2027-05-01","spend":{"lower_bound":100,"upper_bound":199}})";
  const std::string ad2 =
      R"({"id":"10","page_id":104857600123,"page_name":"P","ad_delivery_start_time":"2027-05-02T10:00:00+0200"})";
  for (const std::string& input : {absl::StrCat("[", ad, ",\n", ad2, "]"),
                                   absl::StrCat(ad, "\n", ad2, "\n")}) {
    const ImportResult r = ImportExport(input, "f", Table(),
                                        Options(ExportFormat::kMetaAdLibrary));
    EXPECT_EQ(r.stats.imported, 2) << input;
    EXPECT_EQ(r.stats.rejected_total(), 0) << input;
    ASSERT_EQ(r.records.size(), 2u);
    EXPECT_THAT(r.records[1].json,
                HasSubstr("\"created_at\":\"2027-05-02T08:00:00.000Z\""));
    EXPECT_THAT(r.records[1].json, HasSubstr("\"page_id\":\"104857600123\""));
    EXPECT_THAT(r.records[0].json,
                HasSubstr("\"spend\":{\"lower\":100,\"upper\":199}"));
    ExpectAllDecode(r);
  }
}

TEST(ImportMeta, EveryProblemHasItsReason) {
  struct Case {
    const char* item;
    const char* reason;
    const char* detail;
  };
  const Case cases[] = {
      {R"({"page_id":"104857600123","bylines":"B","ad_delivery_start_time":"2027-05-01"})",
       "missing_field", "missing field id"},
      {R"({"id":"1","bylines":"B","ad_delivery_start_time":"2027-05-01"})",
       "missing_field", "missing field page_id"},
      {R"({"id":"1","page_id":"104857600123","bylines":"B"})", "missing_field",
       "missing field ad_delivery_start_time"},
      {R"({"id":"1","page_id":"104857600123","ad_delivery_start_time":"2027-05-01"})",
       "missing_field", "missing field bylines"},
      {R"({"id":"1","page_id":"104857600123","bylines":"B","ad_delivery_start_time":"May 1"})",
       "bad_time", "bad time in ad_delivery_start_time"},
      {R"({"id":1.5,"page_id":"104857600123","bylines":"B","ad_delivery_start_time":"2027-05-01"})",
       "wrong_type", "wrong type for id"},
      {R"({"id":"1","page_id":"104857600123","bylines":7,"ad_delivery_start_time":"2027-05-01"})",
       "wrong_type", "wrong type for bylines"},
      {R"({"id":"1","page_id":"104857600123","bylines":"B","ad_delivery_start_time":"2027-05-01","impressions":{"lower_bound":"-5"}})",
       "bad_value", "impressions.lower_bound"},
      {R"({"id":"1","page_id":"104857600123","bylines":"B","ad_delivery_start_time":"2027-05-01","spend":{"lower_bound":"500","upper_bound":"100"}})",
       "feed_contract", "lower 500 > upper 100"},
      {R"({"id":"1","page_id":"104857600123","bylines":"B","ad_delivery_start_time":"2027-05-01","languages":"es"})",
       "wrong_type", "wrong type for languages"},
      {R"([1])", "not_an_item", "not a JSON object"},
      {R"({"error":{"message":"Invalid OAuth access token","code":190}})",
       "api_error", "API error"},
      {R"(not json)", "malformed_json", "not a JSON document"},
  };
  for (const Case& c : cases) {
    const ImportResult r = ImportExport(c.item, "f", Table(),
                                        Options(ExportFormat::kMetaAdLibrary));
    EXPECT_EQ(r.stats.imported, 0) << c.item;
    ASSERT_EQ(r.rejects.size(), 1u) << c.item;
    EXPECT_EQ(r.rejects[0].reason, c.reason) << c.item;
    EXPECT_THAT(r.rejects[0].detail, HasSubstr(c.detail)) << c.item;
    EXPECT_EQ(r.rejects[0].line, 1);
  }
}

TEST(ImportX,
     ADamagedFirstLineStillReadsAsJsonLinesAndADamagedPageIsOneReject) {
  const std::string tweet =
      R"({"data":{"id":"9","author_id":"1570000000000001001","created_at":"2027-05-30T18:00:00Z"}})";
  ImportResult r = ImportExport(absl::StrCat("{\"data\":{\"id\n", tweet, "\n"),
                                "f", Table(), Options(ExportFormat::kXV2));
  EXPECT_EQ(r.stats.documents, 2);
  EXPECT_EQ(r.stats.imported, 1);
  EXPECT_EQ(r.stats.rejected.at("malformed_json"), 1);
  // A pretty-printed page cut short: one document, one rejection, its bytes
  // the whole file.
  const std::string page = Read("x_search_page.json");
  const std::string cut = page.substr(0, page.size() / 2);
  r = ImportExport(cut, "f", Table(), Options(ExportFormat::kXV2, "US"));
  EXPECT_EQ(r.stats.documents, 1);
  EXPECT_EQ(r.stats.imported, 0);
  ASSERT_EQ(r.rejects.size(), 1u);
  EXPECT_EQ(r.rejects[0].reason, "malformed_json");
  EXPECT_EQ(std::string(r.rejects[0].bytes),
            std::string(absl::StripTrailingAsciiWhitespace(cut)));
}

TEST(ImportFormat, NamesAreMetaAndX) {
  ExportFormat f;
  EXPECT_TRUE(ParseExportFormat("meta", &f));
  EXPECT_EQ(f, ExportFormat::kMetaAdLibrary);
  EXPECT_TRUE(ParseExportFormat("x", &f));
  EXPECT_EQ(f, ExportFormat::kXV2);
  EXPECT_FALSE(ParseExportFormat("twitter", &f));
  EXPECT_EQ(ExportFormatName(ExportFormat::kMetaAdLibrary), "meta");
}

}  // namespace
}  // namespace vigia
