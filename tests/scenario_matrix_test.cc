// The scenario matrix: every detector against the campaigns designed for it,
// and against the scenarios that must stay quiet.
//
// For each bundled scenario and a few seeds, `vigia gen` writes the feed and
// its ground truth and `vigia replay` runs the whole pipeline over it (the
// two piped, so no archive is kept on disk). Per detector the test measures
//   - recall: the share of its injected campaigns for which it fired at
//     warning or above, on the campaign's target (and origin, state or time
//     zone where its alerts carry one), with a window overlapping the
//     campaign;
//   - detection delay: campaign start to the first such alert's window_end;
//   - false alerts: firing records at warning or above per simulated day on
//     `control` (the background alone), `organic` (a genuine 1.5x rise),
//     `viral_link` (popular links shared over hours) and `debate_night` (a
//     televised debate: domestic posts at 5x, the diaspora at up to 2x),
//     where nothing is interference;
// and checks that every warning-sized coordinated burst is flagged while it
// happens, that foreign_ad_spend's first-seen alert names the new payer
// within a hop of its spend crossing the threshold, and that the organic
// lookalikes raise nothing at warning or above from the detector they
// mimic. It prints the table and holds every detector to the minimums
// declared below. The Mexico/US case scenarios are held to the same:
// every campaign caught by its detector, the lookalike paging no one.
#include <algorithm>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "pipeline/config.h"
#include "pipeline/core/alert.h"
#include "pipeline/core/time.h"
#include "pipeline/detectors.h"
#include "simdjson.h"
#include "tests/e2e_util.h"

namespace vigia::e2e {
namespace {

// ---------------------------------------------------------------------------
// The minimums. They follow from the detectors' windows and ladders
// (docs/detectors.md) and the mission (catch a campaign while it unfolds,
// never page on organic traffic), not from any particular run.

// Every campaign in the designed scenarios is several times above the
// detector's warning rung (6x vs 3x for the diaspora surge, ~8x new-account
// posts, a state-media push of 4.5/min over a trickle of a few an hour, a
// hashtag share near 3x its usual against a 1.6x rung, 10-15-account bursts
// against a 10-account rung, a payer new to the target spending thousands,
// 30 accounts keeping an office's hours for six days). Missing any of them,
// on any seed, is a defect, not bad luck.
constexpr double kMinRecall = 1.0;

// Count detectors on a 10-minute window re-evaluated every minute
// (foreign_origin_surge, new_account_burst, state_media_amplification): with
// a 5-minute ramp and a push of 3x the warning ratio, the window reaches the
// rung about half-way through its first full campaign window. Ramp (5) +
// window (10) bounds it; this is also the stated delay of
// tests/replay_e2e_test.cc.
constexpr absl::Duration kMaxDelayCountWindow = absl::Minutes(15);
// foreign_share: 30-minute window every 5 minutes; the campaign ramps in
// over 10 minutes. With the trend's share going ~16% -> ~45% (2.8x at full
// rate) the ratio rung (1.6x) is passed about a third of a window in, and
// on a hashtag of ~100-150 posts per window the score rung (5) within the
// first full window of campaign traffic after the ramp. Ramp (10) + window
// (30) = 40 minutes, i.e. while a 3-hour campaign is in its first quarter.
constexpr absl::Duration kMaxDelayForeignShare = absl::Minutes(40);
// coordinated_sharing has no window to fill: a burst is flagged when its
// 10th account posts (checked per burst below, kMaxBurstDelay). From the
// campaign's start the delay is set by the schedule: bursts sit one per
// 13-minute slot, repost bursts never reach the 25-account repost rung and
// URL/text bursts of 8-9 accounts stop at info. On the three seeds run here
// the first warning-sized burst is in the first or second slot (2.7, 3.1
// and 8.9 minutes, docs/detection.md); the limit allows one more slot on
// top of the slowest: 8.9 + 13 = 22 minutes. (By the schedule alone a
// seed could need four slots, 53 minutes: such a seed would fail here and
// the limit should then be argued again, not silently widened.)
constexpr absl::Duration kMaxDelayCoordinatedCampaign = absl::Minutes(22);
// A burst of >= 10 accounts (the warning rung) within its 30-second spread
// must be flagged by the time its posts are in: the alert's window ends at
// the post that reached the rung, inside the burst. One minute allows the
// spread plus the watermark's 30-second out-of-orderness.
constexpr absl::Duration kMaxBurstDelay = absl::Minutes(1);
// foreign_ad_spend: 2-hour window every 10 minutes; the warning needs at
// least 3 qualifying ads (min_ads) and 2,000 of spend without the largest
// ad. At 5 ads an hour the 3rd ad arrives within 80 minutes with ~96%
// probability (Poisson, mean 6.7), plus one 10-minute hop: 90 minutes by
// the design. Observed on the three seeds: 20, 40 and 50 minutes
// (docs/detection.md); the limit is the slowest plus one hop: 60 minutes.
constexpr absl::Duration kMaxDelayAdSpend = absl::Minutes(60);
// posting_clock classifies an account only with posts on 3 days
// (min_active_days) and >= 20 posts (min_posts) in the week. The office's
// day is 01:00-10:00 UTC; the campaign starts Monday 00:00 UTC, so an
// account can qualify at the earliest with its first post of the 3rd
// working day (Wednesday 09:00 at UTC+8, 2 days 1 hour in) if it already
// has 20 posts; at 8 posts per working day the average one has 16 after two
// days and gets there during Wednesday. The warning needs 200 working-hour
// posts from the group. One more working day lets the slower accounts
// (Poisson counts short of 20) join: the end of the 4th working day
// (Thursday 18:00 at UTC+8, 3 days 10 hours in) plus an hourly hop, 83 h,
// bounds it by the design. Observed on the three seeds: 50, 51 and 52
// hours (Wednesday around noon at UTC+8, the 3rd working day); the limit is
// the end of that working day plus an hourly hop: Wednesday 18:00 at
// UTC+8 is 2 days 10 hours in, so 59 hours.
constexpr absl::Duration kMaxDelayPostingClock = absl::Hours(2 * 24 + 11);

// Firing records at warning or above per simulated day, per detector, on
// traffic with no interference at all (control, the organic 1.5x rise, the
// viral links, the debate night). Under each ladder a warning needs a score of
// 5 (a chance of about 3e-7 per window under the scorer's model) and 3x the
// expectation together, or (coordinated_sharing) ten unrelated accounts on one
// subject within a minute: over the ~10^4-10^5 windows a detector judges per
// day the expected number in the few simulated days run here is far below one.
// So the minimum is none at all, which is also what the scenarios promise
// (docs/scenarios.md: control "raises nothing at warning or above", organic
// "must not page anyone") and what tests/replay_e2e_test.cc holds the
// bundled control to. The runs are deterministic (fixed seeds), so this
// cannot flake: a false warning here is a reproducible defect to look at.
constexpr double kMaxFalseWarningsPerDay = 0.0;

// Info records (firing, severity info) per detector per simulated day of
// one run. The scorer's info rung is set at about once a day per key, and
// docs/detection.md holds it to twice that; on the standard background
// only a few keys per target come near it, so an operations room reading
// the info stream should see at most two per target per day from one
// detector: ten over the five targets. (Observed at this commit: at most
// 10.0, from foreign_share on trend_riding seed 101, a campaign that rides
// a hashtag; on the quiet scenarios at most 8.5. At the limit: a change
// that adds info there must say why.)
constexpr double kMaxInfoPerDetectorDay = 10.0;

// Warnings in a campaign run that no campaign explains: none, as on the
// quiet scenarios (kMaxFalseWarningsPerDay). A campaign explains a warning
// of its own detector about it (IsAbout), and, on its target during the
// campaign, one from a detector it also trips by construction
// (AlsoTrips). Known and open (reported with issue 18): on state_media
// seed 101 foreign_share warns on RO, a target without a campaign, in the
// window ending 2026-05-10T13:15Z. It is listed here by its exact place so
// that it stays visible and any other one fails.
struct KnownFalseWarning {
  const char* scenario;
  const char* seed;
  const char* detector;
  const char* target;
  const char* window_end;
};
constexpr KnownFalseWarning kKnownFalseWarnings[] = {
    {"state_media", "101", "foreign_share", "RO", "2026-05-10T13:15:00Z"},
};

// Seeds. "" keeps the scenario's own seed. Campaign scenarios get three
// (three campaigns per detector, different backgrounds and networks); the
// scenarios that must stay quiet two (four simulated days each). Each
// two-day run takes a few seconds in the sanitizer build.
const std::vector<std::string> kCampaignSeeds = {"", "101", "202"};
const std::vector<std::string> kQuietSeeds = {"", "101"};
const std::vector<std::string> kNearSeeds = {""};

const std::string kVigia = VIGIA_BINARY;

// Near-threshold campaigns (tests/testdata/scenarios): bundled campaigns
// moved to just above or just below their detector's warning rung. One
// seed each (the scenario's own; 101 and 202 gave the same verdicts).
const std::string kScenarioDir = VIGIA_SCENARIO_DIR;
struct NearCase {
  std::string scenario;  // tests/testdata/scenarios/<scenario>.yaml
  std::string detector;
  bool pages;  // above the rung: must page; below: must not
};
const std::vector<NearCase>& NearCases() {
  static const auto* kCases = new std::vector<NearCase>{
      {"surge_near_rung", "foreign_origin_surge", true},    // 3.5x vs 3x
      {"surge_below_rung", "foreign_origin_surge", false},  // 2x
      {"bursts_at_rung", "coordinated_sharing", true},      // 10 accounts
      {"bursts_below_rung", "coordinated_sharing", false},  // 9 accounts
  };
  return *kCases;
}

// The case vigia was built for (docs/scenarios.md, "Mexico and the US"):
// a Mexican government's campaign at US voters and a Russian push at
// Mexico's election, each caught by the detector of every campaign in it,
// as the designed scenarios are; and a large organic diaspora conversation
// that pages no one at all. Same seeds as the designed scenarios.
const std::vector<std::string> kCaseCampaignScenarios = {"mx_us_diaspora",
                                                         "ru_mx_election"};
constexpr char kCaseLookalike[] = "mx_us_hurricane";

// ---------------------------------------------------------------------------

struct DetectorSpec {
  std::string name;
  std::string scenario;  // bundled scenario designed for it
  absl::Duration max_delay;
};

const std::vector<DetectorSpec>& Detectors() {
  static const auto* kDetectors = new std::vector<DetectorSpec>{
      {"foreign_origin_surge", "diaspora", kMaxDelayCountWindow},
      {"foreign_share", "trend_riding", kMaxDelayForeignShare},
      {"coordinated_sharing", "coordinated", kMaxDelayCoordinatedCampaign},
      {"new_account_burst", "new_accounts", kMaxDelayCountWindow},
      {"state_media_amplification", "state_media", kMaxDelayCountWindow},
      {"foreign_ad_spend", "ad_spend", kMaxDelayAdSpend},
      {"posting_clock", "posting_clock", kMaxDelayPostingClock},
  };
  return *kDetectors;
}

// The detectors an organic (not interference) kind imitates: an organic
// rise of a pair's traffic looks like a surge and nudges the target's
// foreign share; a viral link looks like link sharing.
std::vector<std::string> MimickedDetectors(const std::string& kind) {
  if (kind == "organic_rise") return {"foreign_origin_surge", "foreign_share"};
  if (kind == "viral_link") return {"coordinated_sharing"};
  return {};
}

// One coordinated_sharing burst of the truth.
struct Burst {
  std::string type;
  absl::Time first, last;
  int accounts = 0;
};

// A truth campaign with the kind-specific fields the matrix needs.
struct TruthCampaign {
  Campaign base;
  std::string state;       // state_media_amplification
  std::string utc_offset;  // posting_clock, "+08:00"
  std::string hashtag;     // trend_riding
  std::vector<Burst> bursts;
  // foreign_ad_spend: the payer, its country, and the event time of the ad
  // that takes its cumulative spend to the first-seen threshold (infinite
  // future when none does).
  std::string payer, payer_country;
  absl::Time first_seen_at = absl::InfiniteFuture();
};

struct ScenarioRun {
  std::string scenario, seed;
  absl::Time start, end;
  std::vector<TruthCampaign> campaigns;
  std::vector<AlertLine> alerts;
  absl::Duration wall;
};

// Missing fields and nulls read as "" (simdjson errors are values here).
std::string Str(simdjson::simdjson_result<simdjson::dom::element> e) {
  std::string_view s;
  if (e.get_string().get(s) == simdjson::SUCCESS) return std::string(s);
  return std::string();
}

absl::Time Time(simdjson::simdjson_result<simdjson::dom::element> e) {
  const std::string s = Str(e);
  absl::StatusOr<absl::Time> t = ParseRfc3339(s);
  EXPECT_TRUE(t.ok()) << "bad time '" << s << "'";
  return t.ok() ? *t : absl::InfinitePast();
}

// ReadTruth gives the common campaign fields; the kind-specific ones are
// read here, in the same (scenario) order.
std::vector<TruthCampaign> ParseCampaigns(const std::string& path,
                                          absl::Time* start, absl::Time* end) {
  const Truth truth = ReadTruth(path);
  std::vector<TruthCampaign> out;
  for (const Campaign& c : truth.campaigns) {
    TruthCampaign t;
    t.base = c;
    out.push_back(t);
  }
  simdjson::dom::parser parser;
  simdjson::padded_string json(ReadFile(path));
  simdjson::dom::element doc;
  if (parser.parse(json).get(doc) != simdjson::SUCCESS) {
    ADD_FAILURE() << path << ": not JSON";
    return out;
  }
  *start = Time(doc["start"]);
  *end = Time(doc["end"]);
  simdjson::dom::array campaigns;
  if (doc["campaigns"].get_array().get(campaigns) != simdjson::SUCCESS) {
    return out;
  }
  size_t i = 0;
  for (simdjson::dom::element c : campaigns) {
    if (i >= out.size()) break;
    TruthCampaign& t = out[i++];
    t.state = Str(c["state"]);
    t.utc_offset = Str(c["utc_offset"]);
    t.hashtag = Str(c["hashtag"]);
    t.payer = Str(c["payer"]);
    t.payer_country = Str(c["payer_country"]);
    if (!Str(c["first_seen_threshold_at"]).empty()) {
      t.first_seen_at = Time(c["first_seen_threshold_at"]);
    }
    simdjson::dom::array bursts;
    if (c["bursts"].get_array().get(bursts) != simdjson::SUCCESS) continue;
    for (simdjson::dom::element b : bursts) {
      Burst burst;
      burst.type = Str(b["type"]);
      burst.first = Time(b["first"]);
      burst.last = Time(b["last"]);
      int64_t n = 0;
      if (b["accounts"].get_int64().get(n) == simdjson::SUCCESS) {
        burst.accounts = static_cast<int>(n);
      }
      t.bursts.push_back(burst);
    }
  }
  return out;
}

bool Pages(const AlertLine& a) {
  return a.state == "firing" && AtLeastWarning(a.severity);
}

bool Overlaps(const AlertLine& a, absl::Time start, absl::Time end) {
  return a.window_start < end && a.window_end > start;
}

// Whether `a` (a warning-or-above firing record of `c.base.detector`) is
// about campaign `c`: same target, and the origin where the detector's
// alerts name the campaign's: the accounts' country for surges, clusters
// and new accounts (a majority origin), the state behind the outlets for
// state media, the office's zone for posting_clock. foreign_share alerts
// have no origin (the riders span five countries) but may name the ridden
// hashtag; foreign_ad_spend surge alerts are per target (the payer is in
// their evidence).
bool IsAbout(const AlertLine& a, const TruthCampaign& c) {
  const Campaign& k = c.base;
  if (a.detector != k.detector || !Pages(a) || a.target != k.target ||
      !Overlaps(a, k.start, k.end)) {
    return false;
  }
  if (k.detector == "foreign_origin_surge" ||
      k.detector == "coordinated_sharing" ||
      k.detector == "new_account_burst") {
    return a.origin == k.origin;
  }
  if (k.detector == "state_media_amplification") return a.origin == c.state;
  if (k.detector == "posting_clock") {
    return a.subject_kind == "utc_offset" &&
           a.subject == absl::StrCat("UTC", c.utc_offset);
  }
  if (k.detector == "foreign_share") {
    return a.subject_kind.empty() ||
           (a.subject_kind == "hashtag" && a.subject == c.hashtag);
  }
  return true;
}

std::string RunDir() {
  static const auto* dir = new std::string(MakeTempDir("scenario_matrix"));
  return *dir;
}

// Generates `scenario` with `seed` and replays it; fails the test if either
// command fails or the replay did not read every line the generator wrote.
ScenarioRun GenerateAndReplay(const std::string& scenario,
                              const std::string& seed,
                              const std::string& source) {
  ScenarioRun r;
  r.scenario = scenario;
  r.seed = seed;
  const std::string base = absl::StrCat(RunDir(), "/", scenario, "_",
                                        seed.empty() ? "default" : seed);
  const std::string truth = base + ".truth.json";
  const std::string alerts = base + ".alerts.ndjson";
  const std::string summary = base + ".summary.json";
  const std::string seed_flag = seed.empty() ? "" : " --seed " + seed;
  const absl::Time t0 = absl::Now();
  // The archive goes through a pipe: nothing large is written to disk.
  const int rc = RunCommand(
      absl::StrCat("bash -o pipefail -c '", kVigia, " gen --scenario ", source,
                   seed_flag, " --out - --truth ", truth, " | ", kVigia,
                   " replay --quiet --input - --alerts ", alerts, " --summary ",
                   summary, " --dead-letters /dev/null'"));
  r.wall = absl::Now() - t0;
  EXPECT_EQ(rc, 0) << scenario << " seed " << seed;
  if (rc != 0) return r;
  r.campaigns = ParseCampaigns(truth, &r.start, &r.end);
  r.alerts = ReadAlerts(alerts);
  // Every line the generator wrote reached the pipeline.
  const std::string s = ReadFile(summary);
  const std::string truth_text = ReadFile(truth);
  auto field = [](const std::string& text, const std::string& key) {
    const std::string needle = "\"" + key + "\":";
    const size_t pos = text.find(needle);
    return pos == std::string::npos
               ? int64_t{-1}
               : std::stoll(text.substr(pos + needle.size()));
  };
  EXPECT_GT(field(truth_text, "lines"), 0) << base;
  EXPECT_EQ(field(s, "events_read"), field(truth_text, "lines")) << base;
  return r;
}

struct Row {
  int campaigns = 0;
  int detected = 0;
  std::vector<absl::Duration> delays;
  int false_control = 0;
  int false_organic = 0;
  int false_viral = 0;
  int false_debate = 0;
};

std::string Minutes(absl::Duration d) {
  if (d >= absl::Hours(10)) {
    return absl::StrFormat("%.1f h", absl::ToDoubleHours(d));
  }
  return absl::StrFormat("%.1f min", absl::ToDoubleMinutes(d));
}

class ScenarioMatrix : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    runs_ = new std::vector<ScenarioRun>();
    std::vector<std::pair<std::string, std::vector<std::string>>> plan;
    for (const DetectorSpec& d : Detectors()) {
      plan.push_back({d.scenario, kCampaignSeeds});
    }
    for (const char* quiet :
         {"control", "organic", "viral_link", "debate_night"}) {
      plan.push_back({quiet, kQuietSeeds});
    }
    for (const std::string& c : kCaseCampaignScenarios) {
      plan.push_back({c, kCampaignSeeds});
    }
    plan.push_back({kCaseLookalike, kQuietSeeds});
    std::map<std::string, std::string> sources;
    for (const NearCase& c : NearCases()) {
      plan.push_back({c.scenario, kNearSeeds});
      sources[c.scenario] =
          absl::StrCat(kScenarioDir, "/", c.scenario, ".yaml");
    }
    for (const auto& [scenario, seeds] : plan) {
      const std::string source =
          sources.contains(scenario) ? sources[scenario] : scenario;
      for (const std::string& seed : seeds) {
        runs_->push_back(GenerateAndReplay(scenario, seed, source));
        const ScenarioRun& r = runs_->back();
        std::printf("ran %-14s seed %-8s %6zu alert records  %5.1f s\n",
                    scenario.c_str(), seed.empty() ? "bundled" : seed.c_str(),
                    r.alerts.size(), absl::ToDoubleSeconds(r.wall));
        std::fflush(stdout);
      }
    }
  }
  static void TearDownTestSuite() { delete runs_; }

  static std::vector<const ScenarioRun*> RunsOf(const std::string& scenario) {
    std::vector<const ScenarioRun*> out;
    for (const ScenarioRun& r : *runs_) {
      if (r.scenario == scenario) out.push_back(&r);
    }
    return out;
  }

  static std::vector<ScenarioRun>* runs_;
};

std::vector<ScenarioRun>* ScenarioMatrix::runs_ = nullptr;

// Warning-or-above firing records of `detector` per simulated day over
// `scenario`'s runs, and the count behind it.
double FalsePerDay(const std::vector<const ScenarioRun*>& runs,
                   const std::string& detector, int* count) {
  double days = 0;
  *count = 0;
  for (const ScenarioRun* r : runs) {
    days += absl::ToDoubleHours(r->end - r->start) / 24;
    for (const AlertLine& a : r->alerts) {
      if (a.detector == detector && Pages(a)) {
        ++*count;
        std::printf("  false alarm on %s seed %s: %s %s %s|%s %s..%s\n",
                    r->scenario.c_str(), r->seed.c_str(), detector.c_str(),
                    a.severity.c_str(), a.target.c_str(), a.origin.c_str(),
                    FormatRfc3339(a.window_start).c_str(),
                    FormatRfc3339(a.window_end).c_str());
      }
    }
  }
  return days > 0 ? *count / days : 0;
}

// Every detector in the registry (pipeline/detectors.h) names the bundled
// scenario that shows it catching what it is for; a new detector without
// one fails here, not silently outside the matrix.
TEST(ScenarioMatrixCoverage, EveryRegisteredDetectorHasAScenario) {
  for (const DetectorDescriptor& d : vigia::Detectors()) {
    const std::vector<DetectorSpec>& specs = Detectors();
    EXPECT_TRUE(std::any_of(
        specs.begin(), specs.end(),
        [&d](const DetectorSpec& spec) { return spec.name == d.name; }))
        << d.name << " has no scenario in the matrix";
  }
}

TEST_F(ScenarioMatrix, EveryDetectorMeetsItsMinimums) {
  std::map<std::string, Row> rows;
  std::printf("\n");
  for (const DetectorSpec& spec : Detectors()) {
    Row& row = rows[spec.name];
    for (const ScenarioRun* r : RunsOf(spec.scenario)) {
      for (const TruthCampaign& c : r->campaigns) {
        if (!c.base.interference || c.base.detector != spec.name) continue;
        ++row.campaigns;
        absl::Time first = absl::InfiniteFuture();
        for (const AlertLine& a : r->alerts) {
          if (IsAbout(a, c)) first = std::min(first, a.window_end);
        }
        if (first == absl::InfiniteFuture()) {
          ADD_FAILURE() << spec.name << " missed " << c.base.name << " ("
                        << c.base.target << " from " << c.base.origin << ") in "
                        << r->scenario << " seed '" << r->seed << "'";
          continue;
        }
        ++row.detected;
        // IsAbout() requires the window to overlap the campaign, so the
        // window ends after the start: the delay is positive.
        row.delays.push_back(first - c.base.start);
        EXPECT_LE(first - c.base.start, spec.max_delay)
            << spec.name << " on " << c.base.name << " seed '" << r->seed
            << "'";
      }
    }
    EXPECT_GE(row.campaigns, static_cast<int>(kCampaignSeeds.size()))
        << spec.scenario << " lists no campaign for " << spec.name;
    int n = 0;
    const double control = FalsePerDay(RunsOf("control"), spec.name, &n);
    row.false_control = n;
    EXPECT_LE(control, kMaxFalseWarningsPerDay) << spec.name << " on control";
    const double organic = FalsePerDay(RunsOf("organic"), spec.name, &n);
    row.false_organic = n;
    EXPECT_LE(organic, kMaxFalseWarningsPerDay) << spec.name << " on organic";
    const double viral = FalsePerDay(RunsOf("viral_link"), spec.name, &n);
    row.false_viral = n;
    EXPECT_LE(viral, kMaxFalseWarningsPerDay) << spec.name << " on viral_link";
    const double debate = FalsePerDay(RunsOf("debate_night"), spec.name, &n);
    row.false_debate = n;
    EXPECT_LE(debate, kMaxFalseWarningsPerDay)
        << spec.name << " on debate_night";
    if (row.campaigns > 0) {
      EXPECT_GE(static_cast<double>(row.detected) / row.campaigns, kMinRecall)
          << spec.name;
    }
  }

  // The table.
  auto days_of = [](const std::vector<const ScenarioRun*>& runs) {
    double days = 0;
    for (const ScenarioRun* r : runs) {
      days += absl::ToDoubleHours(r->end - r->start) / 24;
    }
    return days;
  };
  const double control_days = days_of(RunsOf("control"));
  const double organic_days = days_of(RunsOf("organic"));
  const double viral_days = days_of(RunsOf("viral_link"));
  const double debate_days = days_of(RunsOf("debate_night"));
  std::printf(
      "\n| detector | campaigns | detected | recall | median delay | max delay "
      "| delay limit | false warnings/day control (%.0f d) | organic (%.0f d) "
      "| viral_link (%.0f d) | debate_night (%.0f d) |\n"
      "|---|---|---|---|---|---|---|---|---|---|---|\n",
      control_days, organic_days, viral_days, debate_days);
  for (const DetectorSpec& spec : Detectors()) {
    Row& row = rows[spec.name];
    std::sort(row.delays.begin(), row.delays.end());
    const std::string median =
        row.delays.empty() ? "-" : Minutes(row.delays[row.delays.size() / 2]);
    const std::string max =
        row.delays.empty() ? "-" : Minutes(row.delays.back());
    std::printf(
        "| %s | %d | %d | %.2f | %s | %s | %s | %.2f | %.2f | %.2f | %.2f "
        "|\n",
        spec.name.c_str(), row.campaigns, row.detected,
        row.campaigns ? static_cast<double>(row.detected) / row.campaigns : 0.0,
        median.c_str(), max.c_str(), Minutes(spec.max_delay).c_str(),
        control_days ? row.false_control / control_days : 0.0,
        organic_days ? row.false_organic / organic_days : 0.0,
        viral_days ? row.false_viral / viral_days : 0.0,
        debate_days ? row.false_debate / debate_days : 0.0);
  }
  std::printf(
      "minimums: recall >= %.2f, every delay <= its limit, false warnings "
      "<= %.2f/day on each\n\n",
      kMinRecall, kMaxFalseWarningsPerDay);
  std::fflush(stdout);
}

// Per burst: every URL or text burst that has at least the warning rung's
// accounts (from the default config, the one replay runs on) is flagged at
// warning or above while it happens. Smaller bursts and repost bursts below
// the repost warning rung are expected to stop short of warning.
TEST_F(ScenarioMatrix, EveryWarningSizedBurstIsFlaggedWhileItHappens) {
  const Config config = DefaultConfig();
  auto warning_rung = [](const std::vector<ClusterLevel>& levels) {
    for (const ClusterLevel& l : levels) {
      if (l.severity == Severity::kWarning) return l.min_accounts;
    }
    return 0;
  };
  const int rung = warning_rung(config.coordinated_sharing.levels);
  const int repost_rung =
      warning_rung(config.coordinated_sharing.repost_levels);
  ASSERT_GT(rung, 0);
  int sized = 0, flagged = 0;
  absl::Duration worst;
  std::vector<const ScenarioRun*> runs = RunsOf("coordinated");
  for (const ScenarioRun* r : RunsOf("bursts_at_rung")) runs.push_back(r);
  for (const ScenarioRun* r : runs) {
    for (const TruthCampaign& c : r->campaigns) {
      for (const Burst& b : c.bursts) {
        const int needed = b.type == "repost" ? repost_rung : rung;
        if (b.accounts < needed) continue;
        ++sized;
        absl::Time first = absl::InfiniteFuture();
        for (const AlertLine& a : r->alerts) {
          if (a.detector == "coordinated_sharing" && Pages(a) &&
              a.target == c.base.target && a.subject_kind == b.type &&
              Overlaps(a, b.first, b.last + kMaxBurstDelay)) {
            first = std::min(first, a.window_end);
          }
        }
        if (first == absl::InfiniteFuture()) {
          ADD_FAILURE() << b.type << " burst of " << b.accounts
                        << " accounts at " << FormatRfc3339(b.first)
                        << " seed '" << r->seed << "' not flagged";
          continue;
        }
        ++flagged;
        worst = std::max(worst, first - b.first);
        EXPECT_LE(first - b.first, kMaxBurstDelay)
            << b.type << " burst at " << FormatRfc3339(b.first);
      }
    }
  }
  std::printf(
      "coordinated_sharing bursts of >= %d accounts (reposts >= %d): %d, "
      "flagged at warning+: %d, worst delay from the burst's first post %.0f "
      "s (limit %.0f s)\n",
      rung, repost_rung, sized, flagged, absl::ToDoubleSeconds(worst),
      absl::ToDoubleSeconds(kMaxBurstDelay));
  EXPECT_GT(sized, 0) << "no coordinated burst reached the warning rung";
  EXPECT_EQ(flagged, sized);
}

// foreign_ad_spend's other signal: a foreign payer new to the target is
// reported once, at the configured first-seen severity (info by default, so
// it does not count towards recall above), by the end of the hop in which
// its cumulative spend crossed the threshold: the truth names the ad that
// took it there. The alert names the payer and its country.
TEST_F(ScenarioMatrix, FirstSeenAlertNamesTheNewPayerWithinAHopOfTheCrossing) {
  const Config config = DefaultConfig();
  const std::string severity(
      SeverityName(config.foreign_ad_spend.first_seen_severity));
  const absl::Duration hop = config.foreign_ad_spend.hop;
  int payers = 0;
  for (const ScenarioRun* r : RunsOf("ad_spend")) {
    for (const TruthCampaign& c : r->campaigns) {
      if (c.base.detector != "foreign_ad_spend") continue;
      ASSERT_FALSE(c.payer.empty()) << "truth names no payer";
      ASSERT_NE(c.first_seen_at, absl::InfiniteFuture())
          << c.payer << " never reaches the first-seen threshold";
      ++payers;
      std::vector<const AlertLine*> found;
      for (const AlertLine& a : r->alerts) {
        if (a.detector == "foreign_ad_spend" && a.state == "firing" &&
            a.subject_kind == "payer" && a.subject == c.payer) {
          found.push_back(&a);
        }
      }
      ASSERT_EQ(found.size(), 1u)
          << c.payer << " seed '" << r->seed << "': one first-seen alert";
      const AlertLine& a = *found[0];
      EXPECT_EQ(a.severity, severity);
      EXPECT_EQ(a.target, c.base.target);
      EXPECT_EQ(a.origin, c.payer_country);
      EXPECT_GT(a.window_end, c.first_seen_at);
      EXPECT_LE(a.window_end - c.first_seen_at, hop)
          << "crossing at " << FormatRfc3339(c.first_seen_at) << ", alert at "
          << FormatRfc3339(a.window_end);
      std::printf(
          "first-seen %s (%s) seed %-8s: %s at %s, %.1f min after the "
          "campaign start, %.1f min after the crossing ad (limit %.0f)\n",
          c.payer.c_str(), c.payer_country.c_str(),
          r->seed.empty() ? "bundled" : r->seed.c_str(), a.severity.c_str(),
          FormatRfc3339(a.window_end).c_str(),
          absl::ToDoubleMinutes(a.window_end - c.base.start),
          absl::ToDoubleMinutes(a.window_end - c.first_seen_at),
          absl::ToDoubleMinutes(hop));
    }
  }
  EXPECT_EQ(payers, static_cast<int>(kCampaignSeeds.size()));
}

// The organic lookalikes: a genuine 1.5x rise, viral links and a debate
// night's rises and live blogs are not interference, and the detectors they
// resemble must not page on them (any warning-or-above record for the target
// during the campaign, whatever its origin).
TEST_F(ScenarioMatrix, OrganicLookalikesRaiseNothingAtWarningOrAbove) {
  int negatives = 0;
  for (const char* scenario : {"organic", "viral_link", "debate_night"}) {
    for (const ScenarioRun* r : RunsOf(scenario)) {
      for (const TruthCampaign& c : r->campaigns) {
        if (c.base.interference) continue;
        const std::vector<std::string> mimicked =
            MimickedDetectors(c.base.kind);
        ASSERT_FALSE(mimicked.empty())
            << "unknown organic kind " << c.base.kind;
        ++negatives;
        int raised = 0;
        for (const AlertLine& a : r->alerts) {
          if (Pages(a) && a.target == c.base.target &&
              Overlaps(a, c.base.start, c.base.end) &&
              std::count(mimicked.begin(), mimicked.end(), a.detector)) {
            ++raised;
            ADD_FAILURE() << a.detector << " paged (" << a.severity
                          << ") on organic " << c.base.name << " seed '"
                          << r->seed << "' " << a.target << "|" << a.origin
                          << " " << FormatRfc3339(a.window_end);
          }
        }
        std::printf("negative %-20s (%s) seed %-8s: %d warning+ from %s\n",
                    c.base.name.c_str(), c.base.kind.c_str(),
                    r->seed.empty() ? "bundled" : r->seed.c_str(), raised,
                    absl::StrJoin(mimicked, ", ").c_str());
      }
    }
  }
  // organic: one rise per seed; viral_link: two links per seed;
  // debate_night: four rises and two live blogs per seed.
  EXPECT_EQ(negatives, static_cast<int>(9 * kQuietSeeds.size()));
}

// Campaign runs are traffic too: a warning there that no campaign of the
// run explains (another target, another detector, outside the campaign) is
// a false warning, held to the same minimum as the quiet scenarios.
TEST_F(ScenarioMatrix, CampaignRunsRaiseNoWarningTheirCampaignsDoNotExplain) {
  int runs = 0, explained = 0, known = 0;
  for (const ScenarioRun& r : *runs_) {
    bool has_campaign = false;
    for (const TruthCampaign& c : r.campaigns) {
      has_campaign |= c.base.interference;
    }
    if (!has_campaign) continue;
    ++runs;
    for (const AlertLine& a : r.alerts) {
      if (!Pages(a)) continue;
      bool ok = false;
      for (const TruthCampaign& c : r.campaigns) {
        if (!c.base.interference) continue;
        const std::vector<std::string> also = AlsoTrips(c.base.kind);
        ok |= IsAbout(a, c) ||
              (a.target == c.base.target &&
               Overlaps(a, c.base.start, c.base.end) &&
               std::count(also.begin(), also.end(), a.detector) > 0);
      }
      if (ok) {
        ++explained;
        continue;
      }
      const std::string end = FormatRfc3339(a.window_end);
      bool listed = false;
      for (const KnownFalseWarning& k : kKnownFalseWarnings) {
        listed |= r.scenario == k.scenario && r.seed == k.seed &&
                  a.detector == k.detector && a.target == k.target &&
                  absl::StartsWith(end, std::string(k.window_end, 19));
      }
      if (listed) {
        ++known;
        std::printf("  known false warning: %s seed %s: %s %s %s until %s\n",
                    r.scenario.c_str(), r.seed.c_str(), a.detector.c_str(),
                    a.severity.c_str(), a.target.c_str(), end.c_str());
        continue;
      }
      ADD_FAILURE() << "false warning in campaign run " << r.scenario
                    << " seed '" << r.seed << "': " << a.detector << " "
                    << a.severity << " " << a.target << "|" << a.origin
                    << " window " << FormatRfc3339(a.window_start) << ".."
                    << end;
    }
  }
  std::printf(
      "campaign runs: %d, warnings their campaigns explain: %d, known false "
      "warnings: %d (listed: %zu)\n",
      runs, explained, known, std::size(kKnownFalseWarnings));
  EXPECT_GE(runs, static_cast<int>(Detectors().size() * kCampaignSeeds.size()));
  EXPECT_GT(explained, 0);
  // A listed one that no longer happens is fixed: take it off the list.
  EXPECT_EQ(known, static_cast<int>(std::size(kKnownFalseWarnings)));
}

// The info stream is read in the operations room: its volume is bounded on
// every run, quiet or not.
TEST_F(ScenarioMatrix, InfoVolumeStaysWithinTwoPerTargetPerDetectorDay) {
  double worst = 0;
  std::string worst_at;
  for (const ScenarioRun& r : *runs_) {
    const double days = absl::ToDoubleHours(r.end - r.start) / 24;
    ASSERT_GT(days, 0) << r.scenario;
    std::map<std::string, int> info;
    for (const AlertLine& a : r.alerts) {
      if (a.state == "firing" && a.severity == "info") ++info[a.detector];
    }
    for (const auto& [detector, n] : info) {
      const double per_day = n / days;
      EXPECT_LE(per_day, kMaxInfoPerDetectorDay)
          << detector << " on " << r.scenario << " seed '" << r.seed << "'";
      if (per_day > worst) {
        worst = per_day;
        worst_at =
            absl::StrCat(detector, " on ", r.scenario, " seed '", r.seed, "'");
      }
    }
  }
  std::printf("most info records per detector-day: %.1f (%s; limit %.1f)\n",
              worst, worst_at.c_str(), kMaxInfoPerDetectorDay);
  EXPECT_GT(worst, 0) << "no info at all: the count is not looking";
}

// Every campaign of the Mexico/US case scenarios is caught at warning or
// above by the detector its kind exercises, within that detector's delay
// limit, on every seed (kMinRecall), as in the designed scenarios.
TEST_F(ScenarioMatrix, CaseCampaignsAreCaughtByTheDetectorsTheyExercise) {
  int campaigns = 0;
  for (const std::string& scenario : kCaseCampaignScenarios) {
    for (const ScenarioRun* r : RunsOf(scenario)) {
      for (const TruthCampaign& c : r->campaigns) {
        ASSERT_TRUE(c.base.interference) << c.base.name;
        const auto spec = std::find_if(
            Detectors().begin(), Detectors().end(),
            [&c](const DetectorSpec& d) { return d.name == c.base.detector; });
        ASSERT_NE(spec, Detectors().end()) << c.base.detector;
        ++campaigns;
        absl::Time first = absl::InfiniteFuture();
        for (const AlertLine& a : r->alerts) {
          if (IsAbout(a, c)) first = std::min(first, a.window_end);
        }
        if (first == absl::InfiniteFuture()) {
          ADD_FAILURE() << c.base.detector << " missed " << c.base.name
                        << " in " << scenario << " seed '" << r->seed << "'";
          continue;
        }
        EXPECT_LE(first - c.base.start, spec->max_delay)
            << c.base.name << " seed '" << r->seed << "'";
        std::printf("case %-24s seed %-8s: %s after %s\n", c.base.name.c_str(),
                    r->seed.empty() ? "bundled" : r->seed.c_str(),
                    c.base.detector.c_str(),
                    Minutes(first - c.base.start).c_str());
      }
    }
  }
  // mx_us_diaspora: a surge and its bursts; ru_mx_election: ads, state
  // media, a surge, bursts and new accounts.
  EXPECT_EQ(campaigns, static_cast<int>(7 * kCampaignSeeds.size()));
}

// The lookalike: a large Spanish-language diaspora conversation about a
// hurricane in Mexico (domestic and cross-border rises of 2-3x, widely
// shared articles) pages no one, from any detector, on any target.
TEST_F(ScenarioMatrix, CaseLookalikePagesNoOne) {
  const std::vector<const ScenarioRun*> runs = RunsOf(kCaseLookalike);
  ASSERT_EQ(runs.size(), kQuietSeeds.size());
  for (const ScenarioRun* r : runs) {
    int organic = 0;
    for (const TruthCampaign& c : r->campaigns) organic += !c.base.interference;
    EXPECT_EQ(organic, static_cast<int>(r->campaigns.size()));
    EXPECT_GT(organic, 0);
    int paged = 0;
    for (const AlertLine& a : r->alerts) {
      if (!Pages(a)) continue;
      ++paged;
      ADD_FAILURE() << a.detector << " paged (" << a.severity << ") on "
                    << kCaseLookalike << " seed '" << r->seed << "' "
                    << a.target << "|" << a.origin << " "
                    << FormatRfc3339(a.window_end);
    }
    std::printf("case lookalike %s seed %-8s: %d warning+ records\n",
                kCaseLookalike, r->seed.empty() ? "bundled" : r->seed.c_str(),
                paged);
  }
}

// Campaigns across alerts (`vigia campaigns`): in mx_us_diaspora the
// surge's alerts and the copy-paste and link bursts' alerts (one operation:
// the same government and partisan links) are one campaign across
// detectors, with the co-activity network exported; in ru_mx_election the
// payer's ads are a campaign that names the payer.
TEST_F(ScenarioMatrix, CaseAlertsJoinIntoCampaignsAcrossDetectors) {
  for (const std::string& scenario : kCaseCampaignScenarios) {
    for (const ScenarioRun* r : RunsOf(scenario)) {
      const std::string base = absl::StrCat(
          RunDir(), "/", scenario, "_", r->seed.empty() ? "default" : r->seed);
      ASSERT_EQ(
          RunCommand(absl::StrCat(
              kVigia, " campaigns --alerts ", base, ".alerts.ndjson", " --out ",
              base, ".campaigns.ndjson --graphml ", base, ".graphml")),
          0);
      const std::string campaigns = ReadFile(base + ".campaigns.ndjson");
      // The campaign line holding an alert, by its id.
      auto line_of = [&campaigns](const std::string& id) {
        const size_t at = campaigns.find("\"" + id + "\"");
        if (at == std::string::npos) return std::string();
        const size_t start = campaigns.rfind('\n', at);
        const size_t end = campaigns.find('\n', at);
        return campaigns.substr(
            start == std::string::npos ? 0 : start + 1,
            end - (start == std::string::npos ? 0 : start + 1));
      };
      for (const TruthCampaign& c : r->campaigns) {
        std::vector<std::string> ids;
        for (const AlertLine& a : r->alerts) {
          if (IsAbout(a, c)) ids.push_back(a.id);
        }
        ASSERT_FALSE(ids.empty()) << c.base.name;
        const std::string line = line_of(ids.front());
        ASSERT_FALSE(line.empty()) << ids.front() << " in no campaign";
        // Every alert about one injected campaign is in the same one.
        for (const std::string& id : ids) {
          EXPECT_EQ(line_of(id), line) << c.base.name << " seed " << r->seed;
        }
        // As raised, the records about it carried a campaign, and one of
        // them already the id the whole run's linking gives (the id comes
        // from the campaign's earliest alert).
        bool stamped_final = false;
        for (const AlertLine& a : r->alerts) {
          if (!IsAbout(a, c)) continue;
          EXPECT_FALSE(a.campaign.empty()) << a.id;
          stamped_final |= absl::StrContains(
              line, absl::StrCat("{\"campaign\":\"", a.campaign, "\""));
        }
        EXPECT_TRUE(stamped_final) << c.base.name << " seed " << r->seed;
        if (c.base.name == "mx-us-ni-un-voto") {
          EXPECT_TRUE(absl::StrContains(line, "\"coordinated_sharing\"") &&
                      absl::StrContains(line, "\"foreign_origin_surge\""))
              << line;
          EXPECT_TRUE(absl::StrContains(line, "gob-mx.example")) << line;
        }
        if (c.base.name == "ru-mx-ads") {
          EXPECT_TRUE(absl::StrContains(line, c.payer)) << line;
        }
      }
      const std::string graph = ReadFile(base + ".graphml");
      EXPECT_TRUE(absl::StrContains(graph, "<graphml")) << base;
      EXPECT_TRUE(absl::StrContains(graph, "<edge ")) << base;
    }
  }
}

// Just above the warning rung a campaign must page, just below it must not
// (whatever else it trips): the ladder's line is where docs/detectors.md
// draws it, not several times below the campaigns tried.
TEST_F(ScenarioMatrix, NearThresholdCampaignsPageOnlyAboveTheRung) {
  for (const NearCase& near : NearCases()) {
    const std::vector<const ScenarioRun*> runs = RunsOf(near.scenario);
    ASSERT_EQ(runs.size(), kNearSeeds.size()) << near.scenario;
    for (const ScenarioRun* r : runs) {
      int campaigns = 0;
      for (const TruthCampaign& c : r->campaigns) {
        if (!c.base.interference || c.base.detector != near.detector) continue;
        ++campaigns;
        int paged = 0;
        for (const AlertLine& a : r->alerts) {
          if (a.detector == near.detector && Pages(a) &&
              a.target == c.base.target &&
              Overlaps(a, c.base.start, c.base.end)) {
            ++paged;
          }
        }
        std::printf("near threshold %-18s seed %-8s: %d warning+ from %s\n",
                    near.scenario.c_str(),
                    r->seed.empty() ? "bundled" : r->seed.c_str(), paged,
                    near.detector.c_str());
        if (near.pages) {
          EXPECT_GT(paged, 0) << near.scenario << " seed '" << r->seed
                              << "': just above the rung and not paged";
        } else {
          EXPECT_EQ(paged, 0) << near.scenario << " seed '" << r->seed
                              << "': below the rung and paged";
        }
      }
      EXPECT_EQ(campaigns, 1) << near.scenario;
    }
  }
}

}  // namespace
}  // namespace vigia::e2e
