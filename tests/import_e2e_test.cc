// Platform exports end to end, through the `vigia` binary: an export-shaped
// sample of each platform (X API v2 search page and stream lines, Meta Ad
// Library API page; pipeline/import/testdata) is imported with an
// enrichment table, replayed, and its alert explained; every sample the
// explanation quotes leads back, through the record's `import` field, to
// the line of the export it came from. Every item the import could not
// convert is in the dead letters with its reason, and the counts add up.
#include <algorithm>
#include <cctype>
#include <fstream>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "gtest/gtest.h"
#include "simdjson.h"
#include "tests/e2e_util.h"

namespace vigia::e2e {
namespace {

const std::string kVigia = VIGIA_BINARY;
const std::string kData = VIGIA_IMPORT_TESTDATA;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  for (absl::string_view l : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    out.emplace_back(l);
  }
  return out;
}

struct Case {
  const char* format;
  const char* sample;
  const char* target;
  int imported;
  int rejected;
  const char* detector;  // the alert the sample must raise; "" for none
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.sample; }

class ImportEndToEnd : public ::testing::TestWithParam<Case> {};

TEST_P(ImportEndToEnd, ImportsReplaysAndExplainsBackToTheExport) {
  const Case& c = GetParam();
  const std::string dir = MakeTempDir(absl::StrCat("import_e2e_", c.sample));
  const std::string feed = dir + "/feed.ndjson";
  const std::string dead = dir + "/feed.dead-letters.ndjson";
  const std::string summary = dir + "/import.json";
  const std::string alerts = dir + "/alerts.ndjson";
  const std::string export_path = kData + "/" + c.sample;
  ASSERT_EQ(RunCommand(absl::StrCat(
                kVigia, " import --format ", c.format, " --input ", export_path,
                " --enrich ", kData, "/enrichment.csv --target ", c.target,
                " --out ", feed, " --summary ", summary)),
            0);
  // The counts add up, and every rejected item is a dead letter.
  simdjson::dom::parser parser;
  simdjson::dom::element s;
  const std::string summary_text = ReadFile(summary);
  ASSERT_EQ(parser.parse(summary_text).get(s), simdjson::SUCCESS)
      << summary_text;
  int64_t items = 0, imported = 0, rejected = 0;
  ASSERT_EQ(s["items"].get(items), simdjson::SUCCESS);
  ASSERT_EQ(s["imported"].get(imported), simdjson::SUCCESS);
  ASSERT_EQ(s["rejected"].get(rejected), simdjson::SUCCESS);
  EXPECT_EQ(imported, c.imported);
  EXPECT_EQ(rejected, c.rejected);
  EXPECT_EQ(items, imported + rejected);
  EXPECT_EQ(static_cast<int64_t>(Lines(ReadFile(feed)).size()), imported);
  EXPECT_EQ(static_cast<int64_t>(Lines(ReadFile(dead)).size()), rejected);

  // Everything imported replays: nothing rejected, late or future.
  const std::string replay_summary = dir + "/replay.json";
  ASSERT_EQ(RunCommand(absl::StrCat(kVigia, " replay --quiet --input ", feed,
                                    " --alerts ", alerts, " --summary ",
                                    replay_summary)),
            0);
  const std::string replay_text = ReadFile(replay_summary);
  simdjson::dom::parser replay_parser;
  simdjson::dom::element r;
  ASSERT_EQ(replay_parser.parse(replay_text).get(r), simdjson::SUCCESS)
      << replay_text;
  int64_t processed = -1;
  ASSERT_EQ(r.at_pointer("/events_processed").get(processed), simdjson::SUCCESS)
      << replay_text;
  EXPECT_EQ(processed, imported) << replay_text;

  std::string id;
  for (const AlertLine& a : ReadAlerts(alerts)) {
    if (a.detector == c.detector) id = a.id;
  }
  if (std::string(c.detector).empty()) return;
  ASSERT_FALSE(id.empty()) << "no " << c.detector << " alert";

  const std::string explained = dir + "/explain.json";
  ASSERT_EQ(RunCommand(absl::StrCat(kVigia, " explain --json --input ", feed,
                                    " --alert ", id, " >", explained)),
            0);
  const std::string explain_text = ReadFile(explained);
  simdjson::dom::parser explain_parser;
  simdjson::dom::element e;
  ASSERT_EQ(explain_parser.parse(explain_text).get(e), simdjson::SUCCESS)
      << explain_text;
  std::string_view got_id;
  ASSERT_EQ(e.at_pointer("/alert/id").get(got_id), simdjson::SUCCESS);
  EXPECT_EQ(got_id, id);
  simdjson::dom::array samples;
  ASSERT_EQ(e["sample_lines"].get(samples), simdjson::SUCCESS);
  ASSERT_GT(samples.size(), 0u);
  const std::vector<std::string> export_lines = [&] {
    std::vector<std::string> out;
    for (absl::string_view l : absl::StrSplit(ReadFile(export_path), '\n')) {
      out.emplace_back(l);
    }
    return out;
  }();
  for (simdjson::dom::element sample : samples) {
    std::string_view raw;
    ASSERT_EQ(sample["raw"].get(raw), simdjson::SUCCESS);
    simdjson::dom::parser record_parser;
    simdjson::dom::element record;
    ASSERT_EQ(record_parser.parse(raw).get(record), simdjson::SUCCESS) << raw;
    std::string_view record_id, format, file;
    int64_t line = 0;
    ASSERT_EQ(record["id"].get(record_id), simdjson::SUCCESS);
    ASSERT_EQ(record.at_pointer("/import/format").get(format),
              simdjson::SUCCESS);
    ASSERT_EQ(record.at_pointer("/import/file").get(file), simdjson::SUCCESS);
    ASSERT_EQ(record.at_pointer("/import/line").get(line), simdjson::SUCCESS);
    EXPECT_EQ(format, c.format);
    EXPECT_EQ(file, export_path);
    // The export's item starts on that line, and its id is within the next
    // few (a pretty-printed page puts "id" on the line after "{").
    ASSERT_GE(line, 1);
    ASSERT_LE(line, static_cast<int64_t>(export_lines.size()));
    std::string window;
    for (int64_t i = line - 1;
         i < std::min<int64_t>(line + 2, export_lines.size()); ++i) {
      window += export_lines[i];
    }
    EXPECT_TRUE(absl::StrContains(
        window, absl::StrCat("\"", std::string(record_id), "\"")))
        << "record " << record_id << " not at " << file << ":" << line;
  }
}

// The X sample's two alerts (its URL and its text, posted by the same five
// accounts) are one campaign, whose reach comes from the export's follower
// counts; the co-activity network written as GEXF and
// GraphML parses as XML (python3's xml.etree) with the five accounts and
// every pair weighted 2; explain names the campaign as of each alert.
TEST(ImportCampaigns, TheSamplesAlertsAreOneCampaignWithAParsableNetwork) {
  const std::string dir = MakeTempDir("import_e2e_campaigns");
  const std::string feed = dir + "/x.ndjson";
  const std::string alerts = dir + "/x.alerts.ndjson";
  ASSERT_EQ(
      RunCommand(absl::StrCat(kVigia, " import --format x --input ", kData,
                              "/x_search_page.json --enrich ", kData,
                              "/enrichment.csv --target US --out ", feed)),
      0);
  ASSERT_EQ(RunCommand(absl::StrCat(kVigia, " replay --quiet --input ", feed,
                                    " --alerts ", alerts,
                                    " --dead-letters /dev/null")),
            0);
  const std::string campaigns = dir + "/campaigns.ndjson";
  const std::string gexf = dir + "/network.gexf";
  const std::string graphml = dir + "/network.graphml";
  ASSERT_EQ(RunCommand(absl::StrCat(kVigia, " campaigns --alerts ", alerts,
                                    " --min-severity info --out ", campaigns,
                                    " --gexf ", gexf, " --graphml ", graphml)),
            0);
  const std::vector<std::string> lines = Lines(ReadFile(campaigns));
  ASSERT_EQ(lines.size(), 1u) << ReadFile(campaigns);
  simdjson::dom::parser parser;
  simdjson::dom::element c;
  ASSERT_EQ(parser.parse(lines[0]).get(c), simdjson::SUCCESS);
  std::string_view id;
  ASSERT_EQ(c["campaign"].get(id), simdjson::SUCCESS);
  simdjson::dom::array ids;
  ASSERT_EQ(c["alerts"].get(ids), simdjson::SUCCESS);
  EXPECT_EQ(ids.size(), 2u);
  // Its reach is the five authors' followers_count in the export's
  // includes.users (812,345 + 142 + 87 + 5,310 + 2,204), each alert
  // naming all five: at least one alert's, at most both.
  int64_t at_least = 0, at_most = 0;
  ASSERT_EQ(c.at_pointer("/reach/followers/at_least").get(at_least),
            simdjson::SUCCESS);
  ASSERT_EQ(c.at_pointer("/reach/followers/at_most").get(at_most),
            simdjson::SUCCESS);
  EXPECT_EQ(at_least, 820088);
  EXPECT_EQ(at_most, 2 * 820088);

  // Parsed by a real XML parser, not matched as text.
  const std::string check = dir + "/check.py";
  std::ofstream(check) << R"(import sys
import xml.etree.ElementTree as ET
kind, path, campaign = sys.argv[1], sys.argv[2], sys.argv[3]
root = ET.parse(path).getroot()
if kind == "gexf":
    ns = "{http://gexf.net/1.3}"
    assert root.tag == ns + "gexf" and root.get("version") == "1.3", root.tag
    nodes = list(root.iter(ns + "node"))
    edges = list(root.iter(ns + "edge"))
    weights = [float(e.get("weight")) for e in edges]
    camps = {v.get("value") for n in nodes for v in n.iter(ns + "attvalue")
             if v.get("for") == "campaign"}
else:
    ns = "{http://graphml.graphdrawing.org/xmlns}"
    assert root.tag == ns + "graphml", root.tag
    nodes = list(root.iter(ns + "node"))
    edges = list(root.iter(ns + "edge"))
    weights = [float(d.text) for e in edges for d in e.iter(ns + "data")
               if d.get("key") == "weight"]
    camps = {d.text for n in nodes for d in n.iter(ns + "data")
             if d.get("key") == "campaign"}
assert len(nodes) == 5, len(nodes)
assert len(edges) == 10, len(edges)
assert weights == [2.0] * 10, weights
assert camps == {campaign}, camps
print(kind, "ok:", len(nodes), "nodes,", len(edges), "edges")
)";
  for (const auto& [kind, path] :
       {std::pair<std::string, std::string>{"gexf", gexf},
        {"graphml", graphml}}) {
    EXPECT_EQ(RunCommand(absl::StrCat("python3 ", check, " ", kind, " ", path,
                                      " ", std::string(id))),
              0)
        << kind;
  }

  // Explain names the campaign as of the alert (warning and above, and the
  // alert itself: here, the alert alone).
  std::string first;
  for (const AlertLine& a : ReadAlerts(alerts)) first = a.id;
  const std::string explained = dir + "/explain.json";
  ASSERT_EQ(RunCommand(absl::StrCat(kVigia, " explain --json --input ", feed,
                                    " --alert ", first, " >", explained)),
            0);
  simdjson::dom::parser explain_parser;
  simdjson::dom::element e;
  const std::string text = ReadFile(explained);
  ASSERT_EQ(explain_parser.parse(text).get(e), simdjson::SUCCESS) << text;
  std::string_view campaign;
  ASSERT_EQ(e.at_pointer("/campaign/id").get(campaign), simdjson::SUCCESS)
      << text;
  EXPECT_EQ(campaign.size(), 20u);
  EXPECT_EQ(campaign[0], 'c');
}

INSTANTIATE_TEST_SUITE_P(Samples, ImportEndToEnd,
                         ::testing::Values(Case{"x", "x_search_page.json", "US",
                                                10, 1, "coordinated_sharing"},
                                           Case{"meta", "meta_ads_page.json",
                                                "MX", 5, 3, "foreign_ad_spend"},
                                           Case{"x", "x_stream.ndjson", "US", 2,
                                                4, ""}),
                         [](const ::testing::TestParamInfo<Case>& info) {
                           std::string name = info.param.sample;
                           for (char& ch : name) {
                             if (!std::isalnum(static_cast<unsigned char>(ch)))
                               ch = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace vigia::e2e
