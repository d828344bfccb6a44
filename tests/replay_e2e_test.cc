// End to end: `vigia gen` writes each bundled scenario, `vigia replay` runs
// it, and the alerts are checked against the scenario's ground truth.
#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "operators/scoring_options.h"
#include "tests/e2e_util.h"

namespace vigia::e2e {
namespace {

// The stated detection delay: a campaign must raise a warning-or-above alert
// for its (target, origin) whose window ends within this long of its start.
constexpr absl::Duration kMaxDetectionDelay = absl::Minutes(15);
// After a campaign ends its alert must resolve within this long.
// Half an hour for the window to clear and the watermark to pass, plus the
// scorer's hold, which keeps an episode open that long after its last
// anomalous window.
const absl::Duration kMaxResolveDelay =
    absl::Minutes(30) + ScoringOptions().hold;

const std::string kVigia = VIGIA_BINARY;

std::vector<std::string> ReadLines(const std::string& path) {
  std::vector<std::string> lines;
  std::ifstream in(path, std::ios::binary);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

struct ScenarioRun {
  std::string feed, truth_path, alerts, summary, dead;
  Truth truth;
  std::vector<AlertLine> alert_lines;
};

class ReplayEndToEnd : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(MakeTempDir("replay_e2e"));
    runs_ = new std::map<std::string, ScenarioRun>();
    for (const char* name : {"diaspora", "control", "organic"}) {
      ScenarioRun r;
      r.feed = absl::StrCat(*dir_, "/", name, ".ndjson");
      r.truth_path = absl::StrCat(*dir_, "/", name, ".truth.json");
      r.alerts = absl::StrCat(*dir_, "/", name, ".alerts.ndjson");
      r.summary = absl::StrCat(*dir_, "/", name, ".summary.json");
      r.dead = absl::StrCat(*dir_, "/", name, ".dead.ndjson");
      ASSERT_EQ(
          RunCommand(absl::StrCat(kVigia, " gen --scenario ", name, " --out ",
                                  r.feed, " --truth ", r.truth_path)),
          0);
      ASSERT_EQ(
          RunCommand(absl::StrCat(kVigia, " replay --quiet --input ", r.feed,
                                  " --alerts ", r.alerts, " --summary ",
                                  r.summary, " --dead-letters ", r.dead)),
          0);
      r.truth = ReadTruth(r.truth_path);
      r.alert_lines = ReadAlerts(r.alerts);
      (*runs_)[name] = r;
    }
  }
  static void TearDownTestSuite() {
    delete runs_;
    delete dir_;
  }
  static const ScenarioRun& Get(const std::string& name) {
    return runs_->at(name);
  }

  static std::string* dir_;
  static std::map<std::string, ScenarioRun>* runs_;
};

std::string* ReplayEndToEnd::dir_ = nullptr;
std::map<std::string, ScenarioRun>* ReplayEndToEnd::runs_ = nullptr;

TEST_F(ReplayEndToEnd, DiasporaCampaignIsDetectedWithinTheStatedDelay) {
  const ScenarioRun& r = Get("diaspora");
  int interference = 0;
  for (const Campaign& c : r.truth.campaigns) {
    if (!c.interference || c.detector != "foreign_origin_surge") continue;
    ++interference;
    const AlertLine* first = nullptr;
    for (const AlertLine& a : r.alert_lines) {
      if (a.detector == c.detector && a.state == "firing" &&
          AtLeastWarning(a.severity) && a.target == c.target &&
          a.origin == c.origin && a.window_end > c.start &&
          a.window_end <= c.end + kMaxDetectionDelay) {
        first = &a;
        break;
      }
    }
    ASSERT_NE(first, nullptr) << "campaign " << c.name << " (" << c.target
                              << " from " << c.origin << ") raised no alert";
    const absl::Duration delay = first->window_end - c.start;
    std::fprintf(stderr, "campaign %s detected after %s (severity %s)\n",
                 c.name.c_str(), absl::FormatDuration(delay).c_str(),
                 first->severity.c_str());
    EXPECT_LE(delay, kMaxDetectionDelay) << c.name;
    EXPECT_GT(first->observed, first->expected);
    EXPECT_GT(first->samples, 0) << "alert carries no sample events";
  }
  EXPECT_GT(interference, 0) << "the diaspora truth lists no campaign";
}

TEST_F(ReplayEndToEnd, DiasporaAlertsResolveAfterTheCampaignEnds) {
  const ScenarioRun& r = Get("diaspora");
  std::map<std::string, const AlertLine*> firing;
  for (const AlertLine& a : r.alert_lines) {
    if (a.state == "firing") firing[a.id] = &a;
  }
  for (const Campaign& c : r.truth.campaigns) {
    if (!c.interference) continue;
    for (const AlertLine& a : r.alert_lines) {
      if (a.state != "resolved" || a.target != c.target ||
          a.origin != c.origin) {
        continue;
      }
      EXPECT_TRUE(firing.count(a.id))
          << "resolved alert " << a.id << " was never firing";
    }
    bool resolved_in_time = false;
    for (const AlertLine& a : r.alert_lines) {
      if (a.state == "resolved" && a.target == c.target &&
          a.origin == c.origin && a.window_end >= c.end &&
          a.window_end <= c.end + kMaxResolveDelay) {
        resolved_in_time = true;
      }
    }
    EXPECT_TRUE(resolved_in_time) << c.name << " never resolved";
  }
}

// Everything at warning or above must be explained by an injected campaign:
// anything else is a false accusation. An alert is explained by a campaign
// when it comes from the campaign's own detector or one the campaign trips
// by construction (AlsoTrips), names the campaign's target and origin (a
// foreign_share alert has no origin: a foreign campaign at the target
// raises the target's foreign share), and falls within the campaign.
void ExpectNoUnexplainedWarnings(const ScenarioRun& r) {
  for (const AlertLine& a : r.alert_lines) {
    if (a.state != "firing" || !AtLeastWarning(a.severity)) continue;
    bool explained = false;
    for (const Campaign& c : r.truth.campaigns) {
      const std::vector<std::string> also = AlsoTrips(c.kind);
      const bool detector_matches =
          a.detector == c.detector ||
          std::find(also.begin(), also.end(), a.detector) != also.end();
      const bool origin_matches =
          a.origin == c.origin || (a.detector == "foreign_share" &&
                                   a.origin.empty() && c.origin != c.target);
      if (c.interference && detector_matches && a.target == c.target &&
          origin_matches && a.window_end > c.start &&
          a.window_end <= c.end + kMaxResolveDelay) {
        explained = true;
      }
    }
    EXPECT_TRUE(explained) << "unexplained " << a.severity << " alert " << a.id
                           << " " << a.detector << " " << a.target << " from "
                           << a.origin << " at "
                           << absl::FormatTime(a.window_end);
  }
}

TEST_F(ReplayEndToEnd, ControlRaisesNothingAtWarningOrAbove) {
  const ScenarioRun& r = Get("control");
  ExpectNoUnexplainedWarnings(r);
  int warnings = 0;
  for (const AlertLine& a : r.alert_lines) {
    if (a.state == "firing" && AtLeastWarning(a.severity)) ++warnings;
  }
  EXPECT_EQ(warnings, 0);
}

TEST_F(ReplayEndToEnd, OrganicRiseRaisesNothingAtWarningOrAbove) {
  const ScenarioRun& r = Get("organic");
  bool has_organic = false;
  for (const Campaign& c : r.truth.campaigns) {
    if (!c.interference) has_organic = true;
  }
  EXPECT_TRUE(has_organic) << "the organic scenario lists no organic rise";
  ExpectNoUnexplainedWarnings(r);
}

TEST_F(ReplayEndToEnd, DiasporaRaisesNothingElseAtWarningOrAbove) {
  ExpectNoUnexplainedWarnings(Get("diaspora"));
}

TEST_F(ReplayEndToEnd, EveryLineIsProcessedRejectedOrLate) {
  for (const char* name : {"diaspora", "control"}) {
    const ScenarioRun& r = Get(name);
    const std::string summary = ReadFile(r.summary);
    auto field = [&](const std::string& key) -> int64_t {
      const std::string needle = "\"" + key + "\":";
      const size_t pos = summary.find(needle);
      EXPECT_NE(pos, std::string::npos) << key;
      return pos == std::string::npos
                 ? -1
                 : std::stoll(summary.substr(pos + needle.size()));
    };
    const int64_t read = field("events_read");
    EXPECT_EQ(read, field("events_processed") + field("events_rejected") +
                        field("events_late"));
    EXPECT_EQ(read, r.truth.events + r.truth.bad_lines) << name;
    EXPECT_EQ(field("events_rejected"), r.truth.bad_lines) << name;
    EXPECT_EQ(field("events_late"), r.truth.late_events) << name;
    // Each kind of bad line the generator wrote is rejected for its reason
    // (a truncated line is malformed JSON).
    for (const auto& [kind, n] : r.truth.bad_lines_by_kind) {
      if (kind == "truncated") continue;
      int64_t expected = n;
      if (kind == "malformed_json" &&
          r.truth.bad_lines_by_kind.count("truncated")) {
        expected += r.truth.bad_lines_by_kind.at("truncated");
      }
      EXPECT_EQ(field(kind), expected) << name << " " << kind;
    }
    // Every rejected or late line is in the dead-letter file.
    const std::string dead = ReadFile(r.dead);
    const int64_t dead_lines = std::count(dead.begin(), dead.end(), '\n');
    EXPECT_EQ(dead_lines, field("events_rejected") + field("events_late"));
  }
}

TEST_F(ReplayEndToEnd, ASecondReplayGivesByteIdenticalAlerts) {
  const ScenarioRun& r = Get("diaspora");
  const std::string again = absl::StrCat(*dir_, "/diaspora.again.ndjson");
  ASSERT_EQ(RunCommand(absl::StrCat(kVigia, " replay --quiet --input ", r.feed,
                                    " --alerts ", again, " --dead-letters ",
                                    *dir_, "/again.dead.ndjson")),
            0);
  const std::string first = ReadFile(r.alerts);
  EXPECT_FALSE(first.empty());
  EXPECT_EQ(first, ReadFile(again));
}

// `vigia replay --state-out` then `--state-in` on the two halves of the
// scenario, piped as one stream on standard input, writes byte for byte the
// alerts of one replay of the whole stream (docs/state.md); the state file
// appears only complete, and a damaged one stops the run before its first
// line with the reason.
TEST_F(ReplayEndToEnd, AStreamSplitOverTwoRunsThroughStateGivesOneRunsAlerts) {
  const ScenarioRun& r = Get("diaspora");
  const std::string d = *dir_;
  const std::string whole = d + "/stream.whole.ndjson";
  const std::string a = d + "/stream.a.ndjson";
  const std::string b = d + "/stream.b.ndjson";
  const std::string state = d + "/stream.state";
  ASSERT_EQ(RunCommand(absl::StrCat(kVigia, " replay --quiet --input - < ",
                                    r.feed, " --alerts ", whole)),
            0);
  const size_t lines = ReadLines(r.feed).size();
  const size_t half = lines * 45 / 100;
  ASSERT_EQ(RunCommand(absl::StrCat("head -n ", half, " ", r.feed, " | ",
                                    kVigia, " replay --quiet --input - ",
                                    "--alerts ", a, " --state-out ", state)),
            0);
  EXPECT_FALSE(ReadFile(state).empty());
  EXPECT_EQ(ReadFile(state + ".partial"), "");
  ASSERT_EQ(RunCommand(absl::StrCat("tail -n +", half + 1, " ", r.feed, " | ",
                                    kVigia, " replay --quiet --input - ",
                                    "--alerts ", b, " --state-in ", state)),
            0);
  const std::string first = ReadFile(a);
  const std::string second = ReadFile(b);
  EXPECT_FALSE(first.empty());
  EXPECT_FALSE(second.empty());
  EXPECT_EQ(first + second, ReadFile(whole));

  // A truncated state file is refused by name before anything is written.
  const std::string cut = d + "/stream.cut.state";
  ASSERT_EQ(RunCommand(absl::StrCat("head -c 1000 ", state, " > ", cut)), 0);
  const std::string log = d + "/stream.cut.log";
  EXPECT_NE(RunCommand(absl::StrCat(kVigia, " replay --quiet --input ", r.feed,
                                    " --alerts ", d, "/stream.cut.ndjson",
                                    " --state-in ", cut, " 2> ", log)),
            0);
  EXPECT_NE(ReadFile(log).find("--state-in " + cut), std::string::npos)
      << ReadFile(log);
  EXPECT_NE(ReadFile(log).find("checksum"), std::string::npos) << ReadFile(log);
}

TEST_F(ReplayEndToEnd, CompressedArchivesGiveTheSameAlerts) {
  const ScenarioRun& r = Get("diaspora");
  const std::string gz = absl::StrCat(*dir_, "/d.ndjson.gz");
  const std::string zst = absl::StrCat(*dir_, "/d.ndjson.zst");
  ASSERT_EQ(RunCommand(absl::StrCat("gzip -c ", r.feed, " > ", gz)), 0);
  ASSERT_EQ(RunCommand(absl::StrCat("zstd -q -c ", r.feed, " > ", zst)), 0);
  for (const std::string& in : {gz, zst}) {
    const std::string out = in + ".alerts";
    ASSERT_EQ(RunCommand(absl::StrCat(kVigia, " replay --quiet --input ", in,
                                      " --alerts ", out, " --dead-letters ", in,
                                      ".dead")),
              0);
    // Sample coordinates name the input file, so compare ids and states.
    std::vector<std::string> a, b;
    for (const AlertLine& l : ReadAlerts(r.alerts)) a.push_back(l.id + l.state);
    for (const AlertLine& l : ReadAlerts(out)) b.push_back(l.id + l.state);
    EXPECT_EQ(a, b) << in;
  }
}

TEST_F(ReplayEndToEnd, ExplainPrintsTheEvidenceChainOfAnAlertWithItsSources) {
  const ScenarioRun& r = Get("diaspora");
  const AlertLine* critical = nullptr;
  for (const AlertLine& l : r.alert_lines) {
    if (l.detector == "foreign_origin_surge" && l.severity == "critical" &&
        l.state == "firing") {
      critical = &l;
      break;
    }
  }
  ASSERT_NE(critical, nullptr);
  const std::string out = absl::StrCat(*dir_, "/explain.txt");
  ASSERT_EQ(
      RunCommand(absl::StrCat(kVigia, " explain --lifecycle --input ", r.feed,
                              " --alert ", critical->id, " > ", out)),
      0);
  const std::string text = ReadFile(out);
  EXPECT_NE(text.find(absl::StrCat("Alert ", critical->id)), std::string::npos)
      << text;
  EXPECT_NE(text.find("foreign_origin_surge (firing, critical)"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("expected"), std::string::npos) << text;
  EXPECT_NE(text.find("baseline     level_per_hop="), std::string::npos)
      << text;
  // Each sample names its file and line, and the quoted line is the
  // archive's own bytes: its id field matches the sample's id.
  const size_t at = text.find(absl::StrCat("[", r.feed, ":"));
  ASSERT_NE(at, std::string::npos) << text;
  const size_t quote = text.find("      > {\"id\":\"", at);
  ASSERT_NE(quote, std::string::npos) << text;
  const size_t line_start = text.rfind('\n', at) + 3;
  const std::string sample_id =
      text.substr(line_start, text.find(' ', line_start) - line_start);
  EXPECT_EQ(text.substr(quote + 15, sample_id.size()), sample_id) << text;
  // The lifecycle ends with the resolved record of the same id.
  EXPECT_NE(text.find("resolved critical"), std::string::npos) << text;

  EXPECT_EQ(RunCommand(absl::StrCat(kVigia, " explain --input ", r.feed,
                                    " --alert 0000000000000000 2> /dev/null")),
            2);
}

TEST_F(ReplayEndToEnd, ExplainJsonCarriesTheRecordAndTheSampleBytes) {
  const ScenarioRun& r = Get("diaspora");
  const AlertLine* warning = nullptr;
  for (const AlertLine& l : r.alert_lines) {
    if (l.severity != "info" && l.state == "firing") {
      warning = &l;
      break;
    }
  }
  ASSERT_NE(warning, nullptr);
  const std::string out = absl::StrCat(*dir_, "/explain.json");
  ASSERT_EQ(RunCommand(absl::StrCat(kVigia, " explain --json --input ", r.feed,
                                    " --alert ", warning->id, " > ", out)),
            0);
  const std::string text = ReadFile(out);
  // One line, one object, whose alert is the record replay wrote.
  EXPECT_EQ(std::count(text.begin(), text.end(), '\n'), 1) << text;
  std::string record;
  for (const std::string& line : ReadLines(r.alerts)) {
    if (line.find(absl::StrCat("\"id\":\"", warning->id, "\"")) !=
            std::string::npos &&
        line.find("\"state\":\"firing\"") != std::string::npos) {
      record = line;
      break;
    }
  }
  ASSERT_FALSE(record.empty());
  EXPECT_EQ(text.rfind(absl::StrCat("{\"alert\":", record, ","), 0), 0u)
      << text.substr(0, 300);
  // Each quoted sample is the archive's own line, escaped as a JSON string:
  // its id field is there, with the quotes escaped.
  const size_t at = text.find("\"sample_lines\":[{\"source\":\"");
  ASSERT_NE(at, std::string::npos) << text;
  EXPECT_NE(text.find("\"raw\":\"{\\\"id\\\":\\\"", at), std::string::npos)
      << text.substr(at, 300);
  EXPECT_NE(text.find(absl::StrCat("\"reproduce\":\"vigia replay --input ",
                                   r.feed, "\"")),
            std::string::npos);
}

TEST_F(ReplayEndToEnd, MinSeverityThinsThePrintedLinesOnly) {
  const ScenarioRun& r = Get("diaspora");
  const std::string printed = absl::StrCat(*dir_, "/printed.txt");
  const std::string alerts = absl::StrCat(*dir_, "/thinned.alerts.ndjson");
  ASSERT_EQ(RunCommand(absl::StrCat(
                kVigia, " replay --min-severity warning --input ", r.feed,
                " --alerts ", alerts, " --dead-letters /dev/null > ", printed,
                " 2> /dev/null")),
            0);
  const std::vector<std::string> lines = ReadLines(printed);
  int shown = 0;
  for (const std::string& line : lines) {
    EXPECT_EQ(line.find(" info "), std::string::npos) << line;
    ++shown;
  }
  int info = 0, above = 0;
  for (const AlertLine& l : r.alert_lines)
    (l.severity == "info" ? info : above)++;
  EXPECT_GT(info, 0);
  EXPECT_EQ(shown, above);
  // The file keeps every alert.
  EXPECT_EQ(ReadFile(alerts), ReadFile(r.alerts));
  EXPECT_EQ(RunCommand(absl::StrCat(kVigia, " replay --min-severity loud ",
                                    "--input ", r.feed, " 2> /dev/null")),
            2);
}

TEST(ReplayCli, ABadConfigNamesTheKeyAndLine) {
  const std::string dir = MakeTempDir("bad_config");
  const std::string cfg = dir + "/bad.yaml";
  ASSERT_EQ(RunCommand("printf 'detectors:\\n  foreign_origin_surge:\\n    "
                       "windw: 5m\\n' > " +
                       cfg),
            0);
  const std::string err = dir + "/err.txt";
  EXPECT_EQ(
      RunCommand(absl::StrCat(kVigia, " config --config ", cfg, " 2> ", err)),
      2);
  const std::string text = ReadFile(err);
  EXPECT_NE(text.find("bad.yaml:3"), std::string::npos) << text;
  EXPECT_NE(text.find("detectors.foreign_origin_surge.windw"),
            std::string::npos)
      << text;
}

// A small archive of `lines` copies of one valid post.
std::string SmallArchive(const std::string& dir, int lines) {
  const std::string path = dir + "/feed.ndjson";
  std::string text;
  for (int i = 0; i < lines; ++i) {
    absl::StrAppend(
        &text, R"({"id":"p)", i,
        R"(","platform":"x","created_at":"2026-05-09T00:00:00Z","account":{"id":"a","country":"RU"},"target":"MD"})",
        "\n");
  }
  std::ofstream(path, std::ios::binary) << text;
  return path;
}

TEST(ReplayCli, AnOutputThatIsTheInputIsRefusedAndTheInputKept) {
  // Regression: `--alerts f.ndjson --input f.ndjson` truncated a 25.7 MB
  // archive to 0 bytes and exited 0.
  const std::string dir = MakeTempDir("output_is_input");
  const std::string feed = SmallArchive(dir, 100);
  const std::string before = ReadFile(feed);
  ASSERT_EQ(RunCommand("ln " + feed + " " + dir + "/hard.ndjson"), 0);
  ASSERT_EQ(RunCommand("ln -s " + feed + " " + dir + "/soft.ndjson"), 0);
  const std::string err = dir + "/err.txt";
  for (const char* flag : {"--alerts", "--dead-letters", "--summary"}) {
    for (const std::string& out :
         {feed, dir + "/hard.ndjson", dir + "/soft.ndjson"}) {
      EXPECT_EQ(
          RunCommand(absl::StrCat(kVigia, " replay --quiet --input ", feed, " ",
                                  flag, " ", out, " 2> ", err)),
          2)
          << flag << " " << out;
      EXPECT_NE(ReadFile(err).find("refusing to overwrite an input"),
                std::string::npos)
          << ReadFile(err);
      EXPECT_EQ(ReadFile(feed), before) << flag << " " << out;
    }
  }
  EXPECT_EQ(RunCommand(absl::StrCat(kVigia, " gen --scenario control --out ",
                                    feed, " --truth ", feed, " 2> ", err)),
            2);
  EXPECT_EQ(ReadFile(feed), before);
}

TEST(ReplayCli, OutputsAppearUnderTheirNamesOnlyWhenComplete) {
  const std::string dir = MakeTempDir("partial_outputs");
  const std::string feed = SmallArchive(dir, 100);
  const std::string alerts = dir + "/alerts.ndjson";
  const std::string dead = dir + "/dead.ndjson";
  const std::string summary = dir + "/summary.json";
  ASSERT_EQ(RunCommand(absl::StrCat(kVigia, " replay --quiet --input ", feed,
                                    " --alerts ", alerts, " --dead-letters ",
                                    dead, " --summary ", summary)),
            0);
  EXPECT_NE(ReadFile(summary).find("\"events_read\":100"), std::string::npos)
      << ReadFile(summary);
  for (const std::string& path : {alerts, dead, summary}) {
    EXPECT_EQ(RunCommand("test -f " + path), 0) << path;
    EXPECT_NE(RunCommand("test -e " + path + ".partial"), 0) << path;
  }
  // A device is written in place, never renamed over.
  ASSERT_EQ(RunCommand(absl::StrCat(kVigia, " replay --quiet --input ", feed,
                                    " --dead-letters /dev/null")),
            0);
  EXPECT_EQ(RunCommand("test -c /dev/null"), 0);
  EXPECT_NE(RunCommand("test -e /dev/null.partial"), 0);
}

TEST(ReplayCli, AFailedReplayStillWritesItsSummaryWithTheFailureAndLine) {
  // Regression: a truncated archive exited 1 with no summary and no line
  // number, its partial outputs under the final names.
  const std::string dir = MakeTempDir("failed_replay");
  const std::string feed = SmallArchive(dir, 20000);
  const std::string gz = dir + "/truncated.ndjson.gz";
  ASSERT_EQ(
      RunCommand(absl::StrCat("gzip -c ", feed, " | head -c 20000 > ", gz)), 0);
  const std::string alerts = dir + "/alerts.ndjson";
  const std::string summary = dir + "/summary.json";
  const std::string err = dir + "/err.txt";
  EXPECT_EQ(RunCommand(absl::StrCat(kVigia, " replay --quiet --input ", gz,
                                    " --alerts ", alerts, " --summary ",
                                    summary, " --dead-letters ", dir,
                                    "/dead.ndjson 2> ", err)),
            1);
  const std::string text = ReadFile(summary);
  EXPECT_NE(text.find("\"completed\":false"), std::string::npos) << text;
  EXPECT_NE(text.find("truncated gzip"), std::string::npos) << text;
  const size_t at = text.find("\"last_line\":");
  ASSERT_NE(at, std::string::npos) << text;
  const int64_t last_line = std::stoll(text.substr(at + 12));
  EXPECT_GT(last_line, 0);
  EXPECT_LT(last_line, 20000);
  EXPECT_NE(text.find(absl::StrCat("\"events_read\":", last_line)),
            std::string::npos)
      << text;
  EXPECT_NE(ReadFile(err).find(absl::StrCat("after line ", last_line)),
            std::string::npos)
      << ReadFile(err);
  // What was written before the stop is kept, but not under the final name.
  EXPECT_EQ(RunCommand("test -f " + alerts + ".partial"), 0);
  EXPECT_NE(RunCommand("test -e " + alerts), 0);
  // And a complete run's summary says so.
  ASSERT_EQ(RunCommand(absl::StrCat(kVigia, " replay --quiet --input ", feed,
                                    " --summary ", summary,
                                    " --dead-letters /dev/null")),
            0);
  EXPECT_NE(ReadFile(summary).find("\"completed\":true,\"failure\":null"),
            std::string::npos)
      << ReadFile(summary);
}

TEST(ReplayCli, DeadLettersGoWhereAskedOrNextToTheOutputs) {
  // Regression: every replay wrote vigia-dead-letters.ndjson into the
  // current directory, asked or not.
  const std::string dir = MakeTempDir("dead_letter_place");
  const std::string feed = SmallArchive(dir, 50);
  ASSERT_EQ(RunCommand(absl::StrCat("printf 'not json\\n' >> ", feed)), 0);
  const std::string err = dir + "/err.txt";
  // With --alerts FILE: beside it, named after it.
  ASSERT_EQ(RunCommand(absl::StrCat(
                "cd ", dir, " && ", kVigia, " replay --quiet --input ", feed,
                " --alerts ", dir, "/run1.ndjson 2> ", err)),
            0);
  EXPECT_NE(ReadFile(dir + "/run1.dead-letters.ndjson").find("not json"),
            std::string::npos);
  EXPECT_NE(ReadFile(err).find(dir + "/run1.dead-letters.ndjson"),
            std::string::npos)
      << ReadFile(err);
  // With no output file at all: counted and said, not written anywhere.
  ASSERT_EQ(
      RunCommand(absl::StrCat("cd ", dir, " && ", kVigia,
                              " replay --quiet --input ", feed, " 2> ", err)),
      0);
  EXPECT_NE(ReadFile(err).find("dead letters     1 not kept"),
            std::string::npos)
      << ReadFile(err);
  EXPECT_NE(
      RunCommand(absl::StrCat("test -e ", dir, "/vigia-dead-letters.ndjson")),
      0);
  // An explicit --dead-letters wins.
  ASSERT_EQ(RunCommand(absl::StrCat(kVigia, " replay --quiet --input ", feed,
                                    " --alerts ", dir, "/run2.ndjson",
                                    " --dead-letters ", dir, "/mine.ndjson")),
            0);
  EXPECT_NE(ReadFile(dir + "/mine.ndjson").find("not json"), std::string::npos);
  EXPECT_NE(
      RunCommand(absl::StrCat("test -e ", dir, "/run2.dead-letters.ndjson")),
      0);
}

TEST(ReplayCli, EveryCommandHasHelp) {
  // Each command's help names it and a flag only it has, so a help that
  // printed another command's text (or nothing) fails.
  const std::pair<const char*, const char*> commands[] = {
      {"gen", "--truth"},          {"replay", "--dead-letters"},
      {"config", "--config"},      {"explain", "--alert"},
      {"run", "--brokers"},        {"demo", "--speedup"},
      {"mock-kafka", "--brokers"}, {"backtest", "--per-row"},
      {"drill", "--speedup"},
  };
  const std::string dir = ::testing::TempDir();
  for (const auto& [cmd, flag] : commands) {
    const std::string out = absl::StrCat(dir, "/help_", cmd, ".txt");
    EXPECT_EQ(RunCommand(absl::StrCat(kVigia, " ", cmd, " --help > ", out)), 0)
        << cmd;
    const std::string text = ReadFile(out);
    EXPECT_EQ(text.rfind(absl::StrCat("usage: vigia ", cmd, " "), 0), 0u)
        << text;
    EXPECT_NE(text.find(flag), std::string::npos) << cmd << ": " << text;
  }
  EXPECT_EQ(
      RunCommand(absl::StrCat(kVigia, " replay --input /nonexistent/x.ndjson",
                              " --quiet 2> /dev/null")),
      2);
  // A directory is as unusable an input as a missing file (it exited 1).
  EXPECT_EQ(RunCommand(absl::StrCat(kVigia,
                                    " replay --input /tmp --quiet "
                                    "--dead-letters /dev/null 2> /dev/null")),
            2);
}

}  // namespace
}  // namespace vigia::e2e
