#include "pipeline/import/enrichment.h"

#include <string>

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vigia {
namespace {

using ::testing::HasSubstr;

TEST(EnrichmentTable, MapsAccountsByIdUsernameAndPage) {
  absl::StatusOr<EnrichmentTable> t = EnrichmentTable::Parse(
      "# comment\n"
      "platform,account,country,target,state_affiliated\n"
      "x,1001,MX,US,yes\n"
      "x,@Voz_Paisana,MX,,\n"
      "\n"
      "meta,555,RU,MX,no\n"
      "x,2002,,US,\n",
      "t.csv");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->size(), 4u);
  const EnrichmentRow* r = t->FindX("1001", "anything");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->country.str(), "MX");
  EXPECT_EQ(r->target.str(), "US");
  EXPECT_EQ(r->state_affiliated, Tristate::kYes);
  // Usernames are case-insensitive, as on X; the id wins over the name.
  r = t->FindX("9999", "voz_PAISANA");
  ASSERT_NE(r, nullptr);
  EXPECT_FALSE(r->target.known());
  EXPECT_EQ(r->state_affiliated, Tristate::kUnknown);
  EXPECT_EQ(t->FindX("1001", "voz_paisana")->line, 3);
  // An empty country states that the origin is unknown.
  r = t->FindX("2002", "");
  ASSERT_NE(r, nullptr);
  EXPECT_FALSE(r->country.known());
  r = t->FindMetaPage("555");
  ASSERT_NE(r, nullptr);
  EXPECT_EQ(r->state_affiliated, Tristate::kNo);
  // Platforms do not mix: a Meta page id is not an X user id.
  EXPECT_EQ(t->FindX("555", ""), nullptr);
  EXPECT_EQ(t->FindMetaPage("1001"), nullptr);
  EXPECT_EQ(t->FindX("", ""), nullptr);
}

TEST(EnrichmentTable, ReadsTabSeparatedTablesWithColumnsInAnyOrder) {
  absl::StatusOr<EnrichmentTable> t = EnrichmentTable::Parse(
      "account\tcountry\tplatform\n@rt_esp\tRU\tx\n", "t.tsv");
  ASSERT_TRUE(t.ok()) << t.status();
  ASSERT_NE(t->FindX("", "RT_ESP"), nullptr);
  EXPECT_EQ(t->FindX("", "rt_esp")->country.str(), "RU");
}

TEST(EnrichmentTable, RefusesWhatItCannotReadNamingTheLine) {
  struct Case {
    const char* text;
    const char* message;
  };
  const Case cases[] = {
      {"", "no header"},
      {"platform,account\nx,1\n",
       "must name the platform, account and country"},
      {"platform,account,country,colour\n", "unknown column \"colour\""},
      {"platform,account,country,country\n", "given twice"},
      {"platform,account,country\nx,1\n", "t.csv:2: 2 cells"},
      {"platform,account,country\ntiktok,1,MX\n",
       "t.csv:2: platform \"tiktok\""},
      {"platform,account,country\nx,1,mx\n", "country: \"mx\" is not an ISO"},
      {"platform,account,country\nx,1,MEX\n", "\"MEX\" is not"},
      {"platform,account,country,target\nx,1,MX,USA\n", "target: \"USA\""},
      {"platform,account,country,state_affiliated\nx,1,MX,maybe\n",
       "state_affiliated: \"maybe\""},
      {"platform,account,country\nx,,MX\n", "empty account"},
      {"platform,account,country\nmeta,@page,MX\n", "page id, not @name"},
      {"platform,account,country\nx,@A,MX\nx,@a,US\n",
       "t.csv:3: account @a of x already given on line 2"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<EnrichmentTable> t = EnrichmentTable::Parse(c.text, "t.csv");
    ASSERT_FALSE(t.ok()) << c.text;
    EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(t.status().message(), HasSubstr(c.message)) << c.text;
  }
}

TEST(EnrichmentTable, LoadNamesAMissingFile) {
  absl::StatusOr<EnrichmentTable> t =
      EnrichmentTable::Load("/nonexistent/enrichment.csv");
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(t.status().message(), HasSubstr("enrichment table"));
}

}  // namespace
}  // namespace vigia
