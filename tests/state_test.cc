// Detector state that survives (issue 15): a replay split in two, the first
// part ending with its whole state (ReplayOptions::save_state, what `vigia
// replay --state-out` writes) and the second starting from it (--state-in),
// raises exactly the alerts (ids, states, scores, evidence: the whole JSON
// record) of one replay of the whole feed, for feeds on which every
// detector fires, split at several points including inside firing
// episodes. And a snapshot that is corrupt, truncated, of another config or
// of a newer version is refused with a clear error, never misread.
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "operators/snapshot.h"
#include "pipeline/config.h"
#include "pipeline/core/alert.h"
#include "pipeline/core/strings.h"
#include "pipeline/core/time.h"
#include "pipeline/gen/generator.h"
#include "pipeline/gen/scenario.h"
#include "pipeline/pipeline.h"
#include "pipeline/reader.h"
#include "pipeline/replay.h"
#include "pipeline/sinks.h"

namespace vigia {
namespace {

using ::testing::HasSubstr;

// Six detectors' campaigns on eight hours of the standard background at
// half its rate, with the generator's late events and bad lines left on.
constexpr char kSliceScenario[] = R"(
version: 1
name: state_slice
seed: 20260509
start: 2026-05-09T00:00:00Z
duration: 8h
background_scale: 0.5
posts: {state_media_share: 0.02}
campaigns:
  - {name: surge, kind: foreign_origin_surge, target: MD, origin: RU,
     start: 3h, duration: 1h, ramp_in: 5m, ramp_out: 5m, rate_multiplier: 6}
  - name: bursts
    kind: coordinated_sharing
    target: MD
    origin: RU
    start: 4h
    duration: 1h
    bursts: {url: 3, text: 1, repost: 0, accounts: [11, 15], spread: 30s}
  - {name: fresh, kind: new_account_burst, target: RO, origin: RO, start: 5h,
     duration: 1h, rate_per_min: 4,
     network: {accounts: 45, created_within: 10d}}
  - {name: rt, kind: state_media_amplification, target: DE, origin: DE,
     start: 3h30m, duration: 1h, rate_per_min: 4.5, media: {state: RU}}
  - {name: riding, kind: trend_riding, target: DE, start: 5h, duration: 2h,
     rate_per_min: 2, trend: {hashtag: wahlkampf}}
  - {name: ads, kind: foreign_ad_spend, target: MD, origin: RU, start: 1h,
     duration: 5h, ads: {per_hour: 6, spend: [1000, 9999], currency: RUB}}
)";

// posting_clock needs days of an office's hours: four days of a thin
// background with 30 accounts keeping UTC+8 office hours at DE.
constexpr char kOfficeScenario[] = R"(
version: 1
name: state_office
seed: 20260511
start: 2026-05-11T00:00:00Z
duration: 4d
background_scale: 0.02
campaigns:
  - name: office
    kind: posting_clock
    target: DE
    origin: DE
    start: 0h
    duration: 4d
    network: {accounts: 30, new_account_share: 0.1}
    clock: {utc_offset: "+08:00", work_hours: [9, 18], posts_per_day: 8}
)";

std::vector<std::string> Generate(const char* yaml) {
  absl::StatusOr<gen::Scenario> scenario = gen::ParseScenario(yaml, "test");
  EXPECT_TRUE(scenario.ok()) << scenario.status();
  if (!scenario.ok()) return {};
  std::ostringstream archive;
  absl::StatusOr<gen::GenerateResult> result =
      gen::Generate(*scenario, archive);
  EXPECT_TRUE(result.ok()) << result.status();
  std::vector<std::string> lines;
  std::istringstream in(archive.str());
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

class JsonSink final : public AlertSink {
 public:
  absl::Status Write(const Alert& alert) override {
    records.push_back(AlertToJson(alert));
    alerts.push_back(alert);
    return absl::OkStatus();
  }
  std::vector<std::string> records;
  std::vector<Alert> alerts;
};

std::string TempPath(const std::string& name) {
  return absl::StrCat(::testing::TempDir(), "/", name);
}

// Writes lines [from, to) to a file.
std::string WritePart(const std::vector<std::string>& lines, size_t from,
                      size_t to, const std::string& name) {
  const std::string path = TempPath(name);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  for (size_t i = from; i < to; ++i) out << lines[i] << "\n";
  return path;
}

struct PartRun {
  RunSummary summary;
  std::vector<std::string> records;
  std::vector<Alert> alerts;
};

// Replays `path` as standard input ("-", so the line numbers of a
// continued run go on), from `state_in` when given, keeping the state when
// `save_state`.
PartRun ReplayPart(const Config& config, const std::string& path,
                   const std::optional<std::string>& state_in,
                   bool save_state) {
  absl::StatusOr<std::unique_ptr<LineReader>> reader = OpenLineReader(path);
  EXPECT_TRUE(reader.ok()) << reader.status();
  JsonSink sink;
  NullDeadLetterSink dead;
  ReplayOptions options;
  options.state_in = state_in;
  options.save_state = save_state;
  PartRun run;
  run.summary = Replay(config, **reader, "-", sink, dead, options);
  run.records = std::move(sink.records);
  run.alerts = std::move(sink.alerts);
  return run;
}

Config AllDetectors() {
  Config config = DefaultConfig();
  // The slice is hours long: a shorter warm-up and no daily cycle let
  // foreign_origin_surge fire in it (as the Kafka contract tests run it).
  config.foreign_origin_surge.scoring.warmup = absl::Hours(1);
  config.foreign_origin_surge.scoring.daily_cycle = false;
  return config;
}

// The line index of the first line at or after `t`.
size_t LineAt(const std::vector<std::string>& lines, absl::Time t) {
  for (size_t i = 0; i < lines.size(); ++i) {
    const size_t at = lines[i].find("\"created_at\":\"");
    if (at == std::string::npos) continue;
    const size_t from = at + 14;
    absl::StatusOr<absl::Time> when =
        ParseRfc3339(lines[i].substr(from, lines[i].find('"', from) - from));
    if (when.ok() && *when >= t) return i;
  }
  return lines.size();
}

class StateTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    slice_ = new std::vector<std::string>(Generate(kSliceScenario));
    office_ = new std::vector<std::string>(Generate(kOfficeScenario));
  }
  static void TearDownTestSuite() {
    delete slice_;
    delete office_;
  }

  // One replay of the whole feed, then for each split point a replay of
  // the lines before it ending with its state and one of the rest starting
  // from it: the two parts' alerts, in order, are the whole run's.
  static void ExpectSplitsMatch(const std::vector<std::string>& lines,
                                const std::vector<size_t>& splits,
                                const std::string& name) {
    const Config config = AllDetectors();
    const std::string whole =
        WritePart(lines, 0, lines.size(), name + ".whole");
    const PartRun full = ReplayPart(config, whole, std::nullopt, false);
    ASSERT_TRUE(full.summary.status.ok()) << full.summary.status;
    ASSERT_FALSE(full.records.empty());
    std::printf("%s: %zu lines, %zu alerts in one run\n", name.c_str(),
                lines.size(), full.records.size());
    for (size_t split : splits) {
      SCOPED_TRACE(absl::StrCat(name, " split before line ", split + 1, " of ",
                                lines.size()));
      const std::string a = WritePart(lines, 0, split, name + ".a");
      const std::string b = WritePart(lines, split, lines.size(), name + ".b");
      const PartRun first = ReplayPart(config, a, std::nullopt, true);
      ASSERT_TRUE(first.summary.status.ok()) << first.summary.status;
      ASSERT_FALSE(first.summary.state.empty());
      const PartRun second = ReplayPart(config, b, first.summary.state, false);
      ASSERT_TRUE(second.summary.status.ok()) << second.summary.status;
      EXPECT_TRUE(second.summary.restored);
      std::printf("  split at line %zu: %zu + %zu alerts, snapshot %zu bytes\n",
                  split, first.records.size(), second.records.size(),
                  first.summary.state.size());
      std::vector<std::string> joined = first.records;
      joined.insert(joined.end(), second.records.begin(), second.records.end());
      ASSERT_EQ(joined.size(), full.records.size());
      for (size_t i = 0; i < joined.size(); ++i) {
        ASSERT_EQ(joined[i], full.records[i]) << "alert " << i;
      }
      EXPECT_EQ(first.summary.read + second.summary.read, full.summary.read);
      EXPECT_EQ(first.summary.processed + second.summary.processed,
                full.summary.processed);
      EXPECT_EQ(first.summary.late + second.summary.late, full.summary.late);
    }
  }

  static std::vector<std::string>* slice_;
  static std::vector<std::string>* office_;
};

std::vector<std::string>* StateTest::slice_ = nullptr;
std::vector<std::string>* StateTest::office_ = nullptr;

TEST_F(StateTest, EveryDetectorFiresOnTheTwoFeeds) {
  const Config config = AllDetectors();
  std::set<std::string> firing;
  for (const auto* lines : {slice_, office_}) {
    const std::string path = WritePart(*lines, 0, lines->size(), "fires");
    const PartRun run = ReplayPart(config, path, std::nullopt, false);
    ASSERT_TRUE(run.summary.status.ok()) << run.summary.status;
    for (const Alert& a : run.alerts) {
      if (a.state == AlertState::kFiring) firing.insert(a.detector);
    }
  }
  EXPECT_EQ(firing,
            (std::set<std::string>{"coordinated_sharing", "foreign_ad_spend",
                                   "foreign_origin_surge", "foreign_share",
                                   "new_account_burst", "posting_clock",
                                   "state_media_amplification"}));
}

TEST_F(StateTest, TwoHalvesRaiseTheAlertsOfOneRun) {
  const size_t n = slice_->size();
  ExpectSplitsMatch(*slice_, {n / 10, n / 3, n / 2, 4 * n / 5, n - 1}, "slice");
}

TEST_F(StateTest, ASplitInsideFiringEpisodesNeitherRefiresNorLosesTheResolve) {
  // Every episode that fires and resolves in the whole run: a split halfway
  // between its firing and its resolve is inside it (the first part ends
  // with the episode open).
  const Config config = AllDetectors();
  const std::string whole = WritePart(*slice_, 0, slice_->size(), "ep.whole");
  const PartRun full = ReplayPart(config, whole, std::nullopt, false);
  std::map<std::string, absl::Time> fired;
  std::map<std::string, size_t> splits;  // detector -> line
  for (const Alert& a : full.alerts) {
    if (a.state == AlertState::kFiring) {
      fired.emplace(a.id, a.window_end);
    } else if (fired.count(a.id) && !splits.count(a.detector)) {
      const absl::Time mid = fired[a.id] + (a.window_end - fired[a.id]) / 2;
      splits[a.detector] = LineAt(*slice_, mid);
    }
  }
  EXPECT_GE(splits.size(), 4u);
  std::vector<size_t> points;
  for (const auto& [detector, line] : splits) points.push_back(line);
  ExpectSplitsMatch(*slice_, points, "episode");
  // And explicitly, for one of them: the first part fires the episode, the
  // second fires nothing more of it and resolves it.
  const auto& [detector, line] = *splits.begin();
  const PartRun first = ReplayPart(config, WritePart(*slice_, 0, line, "ep1.a"),
                                   std::nullopt, true);
  const PartRun second =
      ReplayPart(config, WritePart(*slice_, line, slice_->size(), "ep1.b"),
                 first.summary.state, false);
  std::set<std::string> open;
  for (const Alert& a : first.alerts) {
    if (a.state == AlertState::kFiring) open.insert(a.id);
    if (a.state == AlertState::kResolved) open.erase(a.id);
  }
  ASSERT_FALSE(open.empty()) << detector;
  int resolved = 0;
  for (const Alert& a : second.alerts) {
    if (!open.count(a.id)) continue;
    EXPECT_NE(a.state, AlertState::kFiring) << a.id;
    resolved += a.state == AlertState::kResolved;
  }
  EXPECT_GT(resolved, 0);
}

// The slice's surge starts at 03:00 (ramp 5 m). Split five minutes before
// it, the run restored from the state pages it within its first hour; a run
// of the same records without the state is still warming up then
// (foreign_origin_surge.scoring.warmup 1 h) and cannot.
TEST_F(StateTest, ARestoredRunHasNoWarmUp) {
  const Config config = AllDetectors();
  const absl::Time split_at = absl::FromCivil(
      absl::CivilMinute(2026, 5, 9, 2, 55), absl::UTCTimeZone());
  const size_t line = LineAt(*slice_, split_at);
  const std::string a = WritePart(*slice_, 0, line, "warm.a");
  const std::string b = WritePart(*slice_, line, slice_->size(), "warm.b");
  const PartRun first = ReplayPart(config, a, std::nullopt, true);
  ASSERT_TRUE(first.summary.status.ok());
  const absl::Time warm = split_at + config.foreign_origin_surge.scoring.warmup;
  const auto pages_before_warm = [&](const PartRun& run) {
    for (const Alert& x : run.alerts) {
      if (x.detector == "foreign_origin_surge" &&
          x.state == AlertState::kFiring && x.severity != Severity::kInfo &&
          x.window_end < warm) {
        return true;
      }
    }
    return false;
  };
  EXPECT_TRUE(
      pages_before_warm(ReplayPart(config, b, first.summary.state, false)));
  EXPECT_FALSE(pages_before_warm(ReplayPart(config, b, std::nullopt, false)));
}

TEST_F(StateTest, ThreePartsChainTheirStates) {
  const Config config = AllDetectors();
  const size_t n = slice_->size();
  const PartRun full = ReplayPart(
      config, WritePart(*slice_, 0, n, "chain.whole"), std::nullopt, false);
  const PartRun a = ReplayPart(config, WritePart(*slice_, 0, n / 4, "chain.a"),
                               std::nullopt, true);
  const PartRun b =
      ReplayPart(config, WritePart(*slice_, n / 4, n / 2, "chain.b"),
                 a.summary.state, true);
  const PartRun c = ReplayPart(config, WritePart(*slice_, n / 2, n, "chain.c"),
                               b.summary.state, false);
  std::vector<std::string> joined = a.records;
  joined.insert(joined.end(), b.records.begin(), b.records.end());
  joined.insert(joined.end(), c.records.begin(), c.records.end());
  EXPECT_EQ(joined, full.records);
}

TEST_F(StateTest, PostingClockSurvivesASplitAcrossDays) {
  const size_t n = office_->size();
  ExpectSplitsMatch(*office_, {n / 3, 2 * n / 3, 9 * n / 10}, "office");
}

// The split tests' partitioning: two partitions, a target's records on the
// one its code picks.
int32_t PartitionOfTarget(CountryCode target) {
  return static_cast<int32_t>(target.packed() % 2);
}

// `p`'s whole state as a checkpoint writes it.
std::string SnapshotOf(Pipeline& p, const Config& config) {
  SnapshotWriter w;
  BeginSnapshot(w, config.hash());
  EXPECT_TRUE(p.SaveState(w).ok());
  return FinishSnapshot(w);
}

// The share of snapshot `s` an instance holding partition `k` restores:
// that partition's sources and the targets whose records arrive on it.
Pipeline::StatePart PartitionPart(const ParsedSnapshot& s, int32_t k) {
  Pipeline::StatePart part;
  part.snapshot = &s;
  part.keep_source = [k](std::string_view, int32_t p) { return p == k; };
  part.keep_target = [k](FeedSet, CountryCode t) {
    return PartitionOfTarget(t) == k;
  };
  return part;
}

// A snapshot of the slice's first half, and the second half to run on it.
// State follows partitions (docs/state.md): a feed's records come from two
// sources (partitions) by target. One pipeline reads the first part and
// snapshots; its state is split by partition into two pipelines
// (Pipeline::RestoreParts keeping one partition each), each reads its
// partition's middle part and snapshots; the two are merged back into one
// pipeline, which reads the rest. Every detector but foreign_share and
// foreign_ad_spend splits its state: all raise exactly the alerts (whole
// JSON records) of one pipeline over all of it, and each of `must_fire`
// raises some (posting_clock's alerts compared by episode, transition and
// severity: see below); the two others are named as started empty.
void ExpectSplitAndMergeMatch(const std::vector<std::string>& lines,
                              size_t first, size_t second,
                              const std::set<std::string>& must_fire) {
  const Config config = AllDetectors();
  std::vector<int32_t> partition(lines.size(), 0);
  for (size_t i = 0; i < lines.size(); ++i) {
    const size_t at = lines[i].find("\"target\":\"");
    if (at == std::string::npos || at + 12 > lines[i].size()) continue;
    partition[i] = PartitionOfTarget(
        CountryCode::FromChars(lines[i][at + 10], lines[i][at + 11]));
  }
  const auto run = [&](Pipeline& p, size_t from, size_t to,
                       std::optional<int32_t> only) {
    for (size_t i = from; i < to; ++i) {
      if (only.has_value() && partition[i] != *only) continue;
      RawRecord r;
      r.bytes = lines[i];
      r.capacity = lines[i].size();
      r.source = SourceRef{"feed", partition[i], static_cast<int64_t>(i + 1)};
      ASSERT_TRUE(p.Process(r).ok());
    }
  };
  const auto snapshot = [&](Pipeline& p) { return SnapshotOf(p, config); };
  const std::set<std::string> splitting = {
      "foreign_origin_surge",      "new_account_burst",
      "state_media_amplification", "posting_clock",
      "coordinated_sharing",       "foreign_share",
      "foreign_ad_spend"};
  const auto splitting_alerts = [&](const JsonSink& sink) {
    std::multiset<std::string> out;
    for (size_t i = 0; i < sink.alerts.size(); ++i) {
      const Alert& a = sink.alerts[i];
      if (!splitting.contains(a.detector)) continue;
      if (a.detector != "posting_clock") {
        out.insert(sink.records[i]);
        continue;
      }
      // posting_clock evaluates, at each boundary the watermark crosses,
      // every post read by then, including those after the boundary: its
      // windows depend on the watermark, which an instance reading one
      // partition advances otherwise than one reading both. Its episodes
      // (ids), transitions and severities must still be those of one run.
      out.insert(absl::StrCat(a.detector, " ", a.id, " ",
                              ToAbsl(AlertStateName(a.state)), " ",
                              ToAbsl(SeverityName(a.severity)), " ",
                              a.target.str(), " ", a.subject));
    }
    return out;
  };

  NullDeadLetterSink dead;
  JsonSink whole_sink;
  Pipeline whole(config, Pipeline::MakeOperators(config), &whole_sink, &dead);
  run(whole, 0, lines.size(), std::nullopt);
  ASSERT_TRUE(whole.Finish().ok());

  JsonSink sink;
  Pipeline p(config, Pipeline::MakeOperators(config), &sink, &dead);
  run(p, 0, first, std::nullopt);
  const std::string s0 = snapshot(p);
  absl::StatusOr<ParsedSnapshot> parsed0 = ParseSnapshot(s0);
  ASSERT_TRUE(parsed0.ok()) << parsed0.status();

  std::vector<std::string> halves;
  for (int32_t k = 0; k < 2; ++k) {
    Pipeline q(config, Pipeline::MakeOperators(config), &sink, &dead);
    std::vector<std::string> empty;
    ASSERT_TRUE(q.RestoreParts({PartitionPart(*parsed0, k)}, &empty).ok());
    // Every detector splits: none starts empty.
    EXPECT_THAT(empty, ::testing::IsEmpty());
    run(q, first, second, k);
    halves.push_back(snapshot(q));
  }
  absl::StatusOr<ParsedSnapshot> parsed1 = ParseSnapshot(halves[0]);
  absl::StatusOr<ParsedSnapshot> parsed2 = ParseSnapshot(halves[1]);
  ASSERT_TRUE(parsed1.ok() && parsed2.ok());
  Pipeline merged(config, Pipeline::MakeOperators(config), &sink, &dead);
  ASSERT_TRUE(
      merged
          .RestoreParts(
              {PartitionPart(*parsed1, 0), PartitionPart(*parsed2, 1)}, nullptr)
          .ok());
  run(merged, second, lines.size(), std::nullopt);
  ASSERT_TRUE(merged.Finish().ok());

  const std::multiset<std::string> want = splitting_alerts(whole_sink);
  const std::multiset<std::string> got = splitting_alerts(sink);
  std::printf(
      "split at lines %zu and %zu: %zu alerts of the splitting "
      "detectors in one run, %zu in parts\n",
      first, second, want.size(), got.size());
  ASSERT_FALSE(want.empty());
  // The records one side lacks, each up to its window (the whole JSON of
  // every alert would bury the difference).
  std::vector<std::string> only_want, only_got;
  const std::set<std::string> want_set(want.begin(), want.end());
  const std::set<std::string> got_set(got.begin(), got.end());
  const auto brief = [](const std::string& r) {
    return r.substr(0, r.find(",\"observed\""));
  };
  for (const std::string& r : want_set) {
    if (!got_set.contains(r)) only_want.push_back(brief(r));
  }
  for (const std::string& r : got_set) {
    if (!want_set.contains(r)) only_got.push_back(brief(r));
  }
  EXPECT_THAT(only_want, ::testing::IsEmpty()) << "missing from the parts";
  EXPECT_THAT(only_got, ::testing::IsEmpty()) << "not in one run";
  for (const std::string& d : must_fire) {
    EXPECT_TRUE(
        std::any_of(want.begin(), want.end(),
                    [&](const auto& r) {
                      return absl::StrContains(
                                 r, absl::StrCat("\"detector\":\"", d, "\"")) ||
                             absl::StartsWith(r, absl::StrCat(d, " "));
                    }))
        << d << " raised nothing: the test would not show its state moving";
  }
}

TEST_F(StateTest, StateSplitAndMergedByTargetRaisesTheAlertsOfOneRun) {
  const std::vector<std::string>& lines = *slice_;
  const absl::Time start =
      absl::FromCivil(absl::CivilSecond(2026, 5, 9), absl::UTCTimeZone());
  // Inside the surge's and the state media's episodes, then inside the
  // new-account burst; coordinated_sharing's bursts come in between.
  ExpectSplitAndMergeMatch(
      lines, LineAt(lines, start + absl::Minutes(200)),
      LineAt(lines, start + absl::Minutes(320)),
      {"foreign_origin_surge", "new_account_burst", "state_media_amplification",
       "coordinated_sharing"});
}

// coordinated_sharing's clusters last seconds: its state moves only when
// the split and the merge fall inside episodes (at the first one's firing,
// with more posts of it to come, and at the last one's).
TEST_F(
    StateTest,
    CoordinatedSharingStateSplitAndMergedInsideItsEpisodesRaisesTheAlertsOfOneRun) {
  const Config config = AllDetectors();
  const PartRun full =
      ReplayPart(config, WritePart(*slice_, 0, slice_->size(), "cs.whole"),
                 std::nullopt, false);
  std::map<std::string, absl::Time> fired;  // id -> first firing
  for (const Alert& a : full.alerts) {
    if (a.detector == "coordinated_sharing" && a.state == AlertState::kFiring) {
      fired.emplace(a.id, a.window_end);
    }
  }
  std::vector<absl::Time> firings;
  for (const auto& [id, t] : fired) firings.push_back(t);
  std::sort(firings.begin(), firings.end());
  ASSERT_GE(firings.size(), 2u);
  ExpectSplitAndMergeMatch(*slice_,
                           LineAt(*slice_, firings.front() + absl::Seconds(1)),
                           LineAt(*slice_, firings.back() + absl::Seconds(1)),
                           {"coordinated_sharing"});
}

// posting_clock fires on the office feed only, after days of it.
TEST_F(StateTest,
       PostingClockStateSplitAndMergedByTargetRaisesTheAlertsOfOneRun) {
  const size_t n = office_->size();
  ExpectSplitAndMergeMatch(*office_, n / 3, 2 * n / 3, {"posting_clock"});
}

// Cap hits follow the targets they concern: a state split by partition
// into two parts and merged back counts each detector's earlier cap hits
// once (each part keeps its own targets' hits), not once per part. With
// every detector's caps tiny, all of them refuse state on the slice.
TEST_F(StateTest, CapHitsAreCountedOnceAfterASplitAndAMerge) {
  Config config = AllDetectors();
  config.foreign_origin_surge.max_keys = 2;
  config.new_account_burst.max_keys = 1;
  config.state_media_amplification.max_keys = 1;
  config.foreign_share.max_keys = 2;
  config.foreign_ad_spend.max_keys = 1;
  config.foreign_ad_spend.max_payers = 1;
  config.posting_clock.max_accounts = 3;
  config.coordinated_sharing.max_keys = 3;
  const std::vector<std::string>& lines = *slice_;
  NullDeadLetterSink dead;
  JsonSink sink;
  Pipeline whole(config, Pipeline::MakeOperators(config), &sink, &dead);
  for (size_t i = 0; i < lines.size() / 2; ++i) {
    const size_t at = lines[i].find("\"target\":\"");
    const int32_t partition = at == std::string::npos
                                  ? 0
                                  : PartitionOfTarget(CountryCode::FromChars(
                                        lines[i][at + 10], lines[i][at + 11]));
    RawRecord r;
    r.bytes = lines[i];
    r.capacity = lines[i].size();
    r.source = SourceRef{"feed", partition, static_cast<int64_t>(i + 1)};
    ASSERT_TRUE(whole.Process(r).ok());
  }
  const auto snapshot = [&](Pipeline& p) { return SnapshotOf(p, config); };
  const auto cap_hits = [](const Pipeline& p) {
    std::map<std::string, int64_t> out;
    for (const auto& op : p.operators()) {
      out[std::string(op->name())] = op->stats().cap_hits;
    }
    return out;
  };
  const std::map<std::string, int64_t> before = cap_hits(whole);
  for (const auto& [name, n] : before) {
    EXPECT_GT(n, 0) << name << " hit no cap: the test shows nothing for it";
  }

  const std::string s0 = snapshot(whole);
  absl::StatusOr<ParsedSnapshot> parsed0 = ParseSnapshot(s0);
  ASSERT_TRUE(parsed0.ok()) << parsed0.status();
  std::vector<std::string> halves;
  std::map<std::string, int64_t> parts_sum;
  for (int32_t k = 0; k < 2; ++k) {
    Pipeline q(config, Pipeline::MakeOperators(config), &sink, &dead);
    ASSERT_TRUE(q.RestoreParts({PartitionPart(*parsed0, k)}, nullptr).ok());
    for (const auto& [name, n] : cap_hits(q)) parts_sum[name] += n;
    halves.push_back(snapshot(q));
  }
  // Each part holds its own targets' hits: together, the whole's.
  EXPECT_EQ(parts_sum, before);
  absl::StatusOr<ParsedSnapshot> parsed1 = ParseSnapshot(halves[0]);
  absl::StatusOr<ParsedSnapshot> parsed2 = ParseSnapshot(halves[1]);
  ASSERT_TRUE(parsed1.ok() && parsed2.ok());
  Pipeline merged(config, Pipeline::MakeOperators(config), &sink, &dead);
  ASSERT_TRUE(
      merged
          .RestoreParts(
              {PartitionPart(*parsed1, 0), PartitionPart(*parsed2, 1)}, nullptr)
          .ok());
  EXPECT_EQ(cap_hits(merged), before);
  // And again: a second split and merge still counts them once.
  const std::string s1 = snapshot(merged);
  absl::StatusOr<ParsedSnapshot> parsed3 = ParseSnapshot(s1);
  ASSERT_TRUE(parsed3.ok());
  Pipeline again(config, Pipeline::MakeOperators(config), &sink, &dead);
  ASSERT_TRUE(
      again
          .RestoreParts(
              {PartitionPart(*parsed3, 0), PartitionPart(*parsed3, 1)}, nullptr)
          .ok());
  EXPECT_EQ(cap_hits(again), before);
}

class BadSnapshotTest : public StateTest {
 protected:
  void SetUp() override {
    const size_t n = slice_->size();
    const PartRun first = ReplayPart(
        config_, WritePart(*slice_, 0, n / 2, "bad.a"), std::nullopt, true);
    ASSERT_TRUE(first.summary.status.ok());
    state_ = first.summary.state;
    rest_ = WritePart(*slice_, n / 2, n / 2 + 50, "bad.b");
  }

  absl::Status Start(const std::string& state) {
    return ReplayPart(config_, rest_, state, false).summary.status;
  }

  // The snapshot rebuilt section by section (valid framing and checksum)
  // after `edit` changed a section's name, version or payload.
  std::string Rebuild(
      const std::function<void(std::string& name, uint32_t& version,
                               std::string& payload)>& edit) {
    absl::StatusOr<ParsedSnapshot> parsed = ParseSnapshot(state_);
    EXPECT_TRUE(parsed.ok()) << parsed.status();
    SnapshotWriter w;
    BeginSnapshot(w, parsed->config_hash);
    for (const SnapshotSection& s : parsed->sections) {
      std::string name(s.name);
      uint32_t version = s.version;
      std::string payload(s.payload);
      edit(name, version, payload);
      w.BeginSection(name, version);
      w.Bytes(payload);
      w.EndSection();
    }
    return FinishSnapshot(w);
  }

  const Config config_ = AllDetectors();
  std::string state_;
  std::string rest_;
};

TEST_F(BadSnapshotTest, TheIntactSnapshotStarts) {
  EXPECT_TRUE(Start(state_).ok());
  EXPECT_EQ(Rebuild([](std::string&, uint32_t&, std::string&) {}), state_);
}

TEST_F(BadSnapshotTest, AnyFlippedByteFailsTheChecksum) {
  std::mt19937_64 rng(15);
  for (int i = 0; i < 300; ++i) {
    std::string bad = state_;
    const size_t at = rng() % bad.size();
    bad[at] = static_cast<char>(bad[at] ^ (1 + rng() % 255));
    const absl::Status s = Start(bad);
    ASSERT_FALSE(s.ok()) << "flip at " << at;
    EXPECT_THAT(s.message(), HasSubstr("snapshot")) << s;
  }
}

TEST_F(BadSnapshotTest, EveryTruncationIsRefused) {
  std::mt19937_64 rng(16);
  std::vector<size_t> cuts = {0,
                              1,
                              7,
                              8,
                              9,
                              12,
                              state_.size() - 5,
                              state_.size() - 4,
                              state_.size() - 1};
  for (int i = 0; i < 100; ++i) cuts.push_back(rng() % state_.size());
  for (size_t cut : cuts) {
    const absl::Status s = Start(state_.substr(0, cut));
    ASSERT_FALSE(s.ok()) << "cut at " << cut;
    EXPECT_THAT(s.message(), HasSubstr("snapshot")) << s;
  }
}

TEST_F(BadSnapshotTest, AnotherConfigIsRefusedNamingBothHashes) {
  Config other = config_;
  other.foreign_origin_surge.scoring.warmup = absl::Hours(2);
  const absl::Status s = ReplayPart(other, rest_, state_, false).summary.status;
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr(config_.hash()));
  EXPECT_THAT(s.message(), HasSubstr(other.hash()));
}

TEST_F(BadSnapshotTest, ANewerFormatIsRefusedAsNewerNotCorrupt) {
  std::string newer = state_;
  newer[8] = static_cast<char>(kSnapshotFormatVersion + 1);  // the format
  // version varint, after the 8-byte magic
  const absl::Status s = Start(newer);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("newer"));
}

TEST_F(BadSnapshotTest, ANewerDetectorSectionIsRefusedNamingTheDetector) {
  const std::string bad =
      Rebuild([](std::string& name, uint32_t& version, std::string&) {
        if (name == "foreign_share") version = 99;
      });
  const absl::Status s = Start(bad);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("foreign_share"));
  EXPECT_THAT(s.message(), HasSubstr("newer"));
}

TEST_F(BadSnapshotTest, AMissingDetectorSectionIsRefused) {
  const std::string bad =
      Rebuild([](std::string& name, uint32_t&, std::string&) {
        if (name == "posting_clock") name = "posting_clock_old";
      });
  const absl::Status s = Start(bad);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("posting_clock"));
}

// Past the checksum: each section's payload truncated or extended, with
// valid framing, must be refused by its own reader naming the section and
// the byte; random bytes flipped inside must never crash the decoders
// (under the sanitizers in CI). Only the restore runs: a flipped value that
// decodes is data, not an error.
TEST_F(BadSnapshotTest, SectionDecodersRefuseCutsAndSurviveFlips) {
  absl::StatusOr<ParsedSnapshot> parsed = ParseSnapshot(state_);
  ASSERT_TRUE(parsed.ok());
  std::vector<std::string> names;
  for (const SnapshotSection& s : parsed->sections) {
    names.emplace_back(s.name);
  }
  const auto restore = [this](const std::string& bytes) {
    absl::StatusOr<ParsedSnapshot> p = ParseSnapshot(bytes);
    if (!p.ok()) return p.status();
    JsonSink sink;
    NullDeadLetterSink dead;
    Pipeline pipeline(config_, Pipeline::MakeOperators(config_), &sink, &dead);
    return pipeline.RestoreState(*p);
  };
  std::mt19937_64 rng(17);
  for (const std::string& target : names) {
    if (target == kReplayStateSection) continue;
    SCOPED_TRACE(target);
    for (int cut : {1, 2, 5}) {
      const std::string bad =
          Rebuild([&](std::string& name, uint32_t&, std::string& payload) {
            if (name == target && payload.size() >= static_cast<size_t>(cut)) {
              payload.resize(payload.size() - cut);
            }
          });
      const absl::Status s = restore(bad);
      EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
      EXPECT_THAT(s.message(), HasSubstr(absl::StrCat("section ", target)));
      EXPECT_THAT(s.message(), HasSubstr("at byte"));
    }
    const std::string longer =
        Rebuild([&](std::string& name, uint32_t&, std::string& payload) {
          if (name == target) payload.push_back('\0');
        });
    const absl::Status s = restore(longer);
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << s;
    EXPECT_THAT(s.message(), HasSubstr("trailing"));
    for (int i = 0; i < 200; ++i) {
      const std::string flipped =
          Rebuild([&](std::string& name, uint32_t&, std::string& payload) {
            if (name != target || payload.empty()) return;
            const size_t at = rng() % payload.size();
            payload[at] = static_cast<char>(payload[at] ^ (1 + rng() % 255));
          });
      restore(flipped).IgnoreError();
    }
  }
}

}  // namespace
}  // namespace vigia
