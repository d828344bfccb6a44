#include "pipeline/report.h"

#include <fstream>
#include <sstream>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vigia {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string Write(const std::string& name, const std::string& text) {
  const std::string path = absl::StrCat(testing::TempDir(), "/", name);
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  return path;
}

std::string Post(const std::string& id, const std::string& at,
                 const std::string& target, const std::string& country) {
  return absl::StrCat(
      R"({"id":")", id, R"(","platform":"x","created_at":")", at,
      R"(","target":")", target, R"(","account":{"id":"a)", id,
      R"(","created_at":"2020-01-01T00:00:00Z","country":")", country,
      R"("},"lang":"ro","text":"t","urls":[],"hashtags":[]})", "\n");
}

std::string AlertRecord(const std::string& id, const std::string& state,
                        const std::string& severity, const std::string& target,
                        const std::string& origin, const std::string& start,
                        const std::string& end) {
  return absl::StrCat(
      R"({"id":")", id, R"(","detector":"foreign_origin_surge","state":")",
      state, R"(","severity":")", severity, R"(","target":")", target,
      R"(","origin":")", origin, R"(","window_start":")", start,
      R"(","window_end":")", end,
      R"(","observed":40,"expected":5,"score":9,"summary":"<b>surge</b> from )",
      origin,
      R"(","evidence":{"top_accounts":[{"value":"acct<1>","count":9}],)",
      R"("samples":[{"id":"p1"}]}})", "\n");
}

TEST(Report, ScoresCampaignsFoundMissedAndFalseAlarms) {
  std::string feed;
  for (int m = 0; m < 120; ++m) {
    const std::string at =
        absl::StrFormat("2026-05-10T%02d:%02d:00Z", 14 + m / 60, m % 60);
    feed += Post(absl::StrCat("d", m), at, "MD", "MD");
    feed += Post(absl::StrCat("r", m), at, "MD", "RU");
    feed += Post(absl::StrCat("f", m), at, "RO", "FR");
  }
  feed += "{not json\n";
  ReportOptions o;
  o.archive_path = Write("feed.ndjson", feed);
  o.alerts_path =
      Write("alerts.ndjson",
            AlertRecord("aa01", "firing", "warning", "MD", "RU",
                        "2026-05-10T14:20:00Z", "2026-05-10T14:30:00Z") +
                AlertRecord("aa01", "resolved", "warning", "MD", "RU",
                            "2026-05-10T15:00:00Z", "2026-05-10T15:10:00Z") +
                // An organic rise alerted on at warning: a false alarm.
                AlertRecord("bb02", "firing", "warning", "RO", "FR",
                            "2026-05-10T15:00:00Z", "2026-05-10T15:10:00Z") +
                // Info pages nobody: neither found nor false.
                AlertRecord("cc03", "firing", "info", "PL", "DE",
                            "2026-05-10T15:00:00Z", "2026-05-10T15:10:00Z"));
  o.truth_path = Write(
      "truth.json",
      R"({"campaigns":[)"
      R"({"name":"md-ru","kind":"foreign_origin_surge","detector":"foreign_origin_surge","interference":true,"target":"MD","origin":"RU","start":"2026-05-10T14:00:00.000Z","end":"2026-05-10T15:00:00.000Z"},)"
      R"({"name":"de-missed","kind":"foreign_origin_surge","detector":"foreign_origin_surge","interference":true,"target":"DE","origin":"RU","start":"2026-05-10T14:00:00.000Z","end":"2026-05-10T15:00:00.000Z"},)"
      R"({"name":"ro-organic","kind":"organic_rise","detector":null,"interference":false,"target":"RO","origin":null,"start":"2026-05-10T14:30:00.000Z","end":"2026-05-10T15:30:00.000Z"}]})");
  std::ostringstream html;
  absl::StatusOr<ReportSummary> s = WriteReport(o, html);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->events, 360);
  EXPECT_EQ(s->bad_lines, 1);
  EXPECT_EQ(s->alert_records, 4);
  EXPECT_EQ(s->episodes, 3);
  EXPECT_EQ(s->found, 1);
  EXPECT_EQ(s->missed, 1);
  EXPECT_EQ(s->false_alarms, 1);
  EXPECT_EQ(s->unmatched_episodes, 0);
  const std::string page = html.str();
  // The delay: campaign start 14:00 to the first window's end 14:30.
  EXPECT_THAT(page, HasSubstr("<td class=\"found\">found</td><td>1</td>"
                              "<td>30 min</td>"));
  EXPECT_THAT(page, HasSubstr("<td class=\"missed\">missed</td>"));
  EXPECT_THAT(page, HasSubstr("<td class=\"false\">false alarm</td>"));
  // Plots for MD (campaign, alert) and RO; MD's series by origin.
  EXPECT_THAT(page, HasSubstr("aria-label=\"Traffic aimed at MD by origin\""));
  EXPECT_THAT(page, HasSubstr("aria-label=\"Traffic aimed at RO by origin\""));
  EXPECT_THAT(page, HasSubstr("<title>from RU</title>"));
  EXPECT_THAT(page, HasSubstr("<title>domestic</title>"));
  // Text from the alerts is escaped, never markup.
  EXPECT_THAT(page, HasSubstr("&lt;b&gt;surge&lt;/b&gt;"));
  EXPECT_THAT(page, HasSubstr("acct&lt;1&gt; (9)"));
  EXPECT_THAT(page, Not(HasSubstr("<b>surge")));
  EXPECT_THAT(page, Not(HasSubstr("<script")));
}

TEST(Report, ABadAlertLineIsAnErrorNamingItsLine) {
  ReportOptions o;
  o.archive_path = Write("empty.ndjson", "");
  o.alerts_path = Write("bad-alerts.ndjson", "\n{\"id\":\"x\"}\nnot json\n");
  std::ostringstream html;
  absl::StatusOr<ReportSummary> s = WriteReport(o, html);
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.status().message(), HasSubstr("bad-alerts.ndjson:3: "));
}

}  // namespace
}  // namespace vigia
