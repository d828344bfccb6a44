#include "operators/posting_clock.h"

#include <algorithm>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "operators/snapshot.h"
#include "operators/testing/operator_test_util.h"

namespace vigia {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr CountryCode kBR = CountryCode::FromChars('B', 'R');
constexpr std::string_view kSource = "posts.ndjson";
constexpr std::string_view kHash = "cfg-clock";

// Monday 2026-05-11 00:00 UTC.
const absl::Time kMonday =
    absl::FromCivil(absl::CivilHour(2026, 5, 11, 0), absl::UTCTimeZone());

struct Post {
  CountryCode target;
  std::string account;
  CountryCode country;
};

// Who posts in a given UTC hour (hours since kMonday).
using Schedule = std::function<std::vector<Post>(int hour)>;

class Driver : public OperatorDriver {
 public:
  explicit Driver(PostingClockOptions options = {},
                  std::string post_id_prefix = "p")
      : OperatorDriver(
            [&options](const OperatorContext& c) {
              return MakePostingClock(options, c);
            },
            {.config_hash = std::string(kHash),
             .source = std::string(kSource),
             .id_prefix = std::move(post_id_prefix),
             .start = kMonday,
             .max_samples = 3,
             .top_n = 4}) {}

  // Runs `hours` hours from the current one: each hour's posts spread over
  // its first 50 minutes, then the watermark at its end.
  void Run(int hours, const Schedule& schedule) {
    for (int i = 0; i < hours; ++i, ++hour_) {
      const std::vector<Post> posts = schedule(hour_);
      const absl::Time start = kMonday + absl::Hours(hour_);
      for (size_t j = 0; j < posts.size(); ++j) {
        Send(posts[j], start + absl::Minutes(50) * static_cast<double>(j) /
                                   static_cast<double>(posts.size()));
      }
      Watermark(start + absl::Hours(1));
    }
  }

  void Send(const Post& p, absl::Time t) {
    Event e;
    e.kind = FeedKind::kPost;
    e.created_at = t;
    e.target = p.target;
    e.account_id = p.account;
    e.account_country = p.country;
    Observe(e);
  }

  int hour() const { return hour_; }

 private:
  int hour_ = 0;
};

int Mod(int a, int b) { return ((a % b) + b) % b; }

// `n` ordinary accounts of `target`, living at UTC `offset`: each posts a
// few times a day between 08:00 and midnight local, weekends included.
std::vector<Post> Humans(CountryCode target, int offset, int n, int hour) {
  std::vector<Post> out;
  const int local = Mod(hour + offset, 24);
  const int day = Mod(hour + offset, 24 * 7) / 24;
  if (local < 8) return out;
  for (int i = 0; i < n; ++i) {
    if ((i + local + day) % 4 == 0) {
      out.push_back(Post{target, absl::StrCat("human", i), target});
    }
  }
  return out;
}

// `n` accounts that post at `target` once an hour on weekdays 09:00-18:00
// at UTC `offset`, plus one stray post on Saturday noon.
std::vector<Post> Office(CountryCode target, int offset, int n, int hour,
                         std::string prefix = "bot",
                         CountryCode country = CountryCode()) {
  std::vector<Post> out;
  const int local = Mod(hour + offset, 24);
  const int day = Mod(hour + offset, 24 * 7) / 24;  // 0 = Monday
  const bool working = day < 5 && local >= 9 && local < 18;
  for (int i = 0; i < n; ++i) {
    if (working || (day == 5 && local == 12)) {
      out.push_back(Post{target, absl::StrCat(prefix, i), country});
    }
  }
  return out;
}

std::vector<Post> Concat(std::vector<Post> a, const std::vector<Post>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// A German population (UTC+1) and 20 accounts keeping office hours in
// UTC+8, for a week.
Schedule FarOffice(int bots = 20) {
  return [bots](int h) {
    return Concat(Humans(kDE, 1, 120, h), Office(kDE, 8, bots, h, "bot", kCN));
  };
}

TEST(PostingClock, FiresOnAccountsWorkingTheDayOfAFarTimeZone) {
  Driver d;
  d.Run(7 * 24, FarOffice());
  ASSERT_FALSE(d.alerts().empty());
  const Alert& first = d.alerts().front();
  EXPECT_EQ(first.detector, "posting_clock");
  EXPECT_EQ(first.state, AlertState::kFiring);
  EXPECT_EQ(first.target, kDE);
  EXPECT_EQ(first.subject_kind, "utc_offset");
  EXPECT_EQ(first.subject, "UTC+08:00");
  EXPECT_EQ(first.window_end - first.window_start, absl::Hours(7 * 24));
  EXPECT_THAT(first.summary, StartsWith("20 accounts posting at DE keep "
                                        "office hours of UTC+08:00: "));
  EXPECT_GE(first.score, first.threshold);
  // It takes the accounts' third working day to classify them.
  EXPECT_GE(first.window_end, kMonday + absl::Hours(2 * 24 + 1));
  EXPECT_LE(first.window_end, kMonday + absl::Hours(3 * 24));
  for (const Alert& a : d.alerts()) EXPECT_EQ(a.subject, "UTC+08:00");
  EXPECT_EQ(d.alerts().back().severity, Severity::kCritical);
  EXPECT_EQ(d.op().stats().firing, 1);
}

TEST(PostingClock, EvidenceListsTheAccountsTheirHoursAndTheZone) {
  Driver d;
  d.Run(7 * 24, FarOffice());
  const Alert& a = d.alerts().back();
  ASSERT_EQ(a.state, AlertState::kFiring);
  std::map<std::string, double> b(a.evidence.baseline.begin(),
                                  a.evidence.baseline.end());
  EXPECT_EQ(b["inferred_utc_offset_hours"], 8);
  EXPECT_EQ(b["target_utc_offset_hours"], 2);  // DE: UTC+1, +2 in summer
  EXPECT_EQ(b["accounts"], 20);
  EXPECT_GE(b["share_in_working_hours"], 0.9);
  EXPECT_EQ(b["share_in_working_hours"],
            b["posts_in_working_hours"] / b["posts"]);
  EXPECT_EQ(a.observed, b["posts_in_working_hours"]);
  EXPECT_NEAR(a.expected,
              b["posts"] * b["rest_of_target_share_in_working_hours"], 1e-9);
  EXPECT_LT(b["weekend_share"], 0.05);
  EXPECT_EQ(b["weeknight_share_00_06"], 0);
  // The combined histogram: UTC+8's 09-18 is 01-10 UTC (the Saturday
  // posts, at 04 UTC, fall in those hours too).
  double in_hours = 0, total = 0;
  for (int h = 0; h < 24; ++h) {
    const double n = b[absl::StrFormat("posts_utc_hour_%02d", h)];
    total += n;
    if (h >= 1 && h < 10) in_hours += n;
  }
  EXPECT_EQ(total, b["posts"]);
  EXPECT_EQ(in_hours, total);
  // Every account is listed, the most active first.
  ASSERT_EQ(a.evidence.other_tops.size(), 2u);
  EXPECT_EQ(a.evidence.other_tops[0].first, "accounts");
  EXPECT_EQ(a.evidence.other_tops[0].second.size(), 20u);
  for (const Tally& t : a.evidence.other_tops[0].second) {
    EXPECT_THAT(t.value, StartsWith("bot"));
  }
  EXPECT_EQ(a.evidence.top_accounts.size(), 4u);
  EXPECT_EQ(a.evidence.other_tops[1].first, "account_countries");
  EXPECT_THAT(a.evidence.other_tops[1].second,
              ElementsAre(testing::Field(&Tally::value, "CN")));
  ASSERT_EQ(a.evidence.samples.size(), 3u);
  for (const SampleEvent& s : a.evidence.samples) {
    EXPECT_THAT(s.account, StartsWith("bot"));
    EXPECT_EQ(s.source, kSource);
    EXPECT_EQ(s.id, absl::StrCat("p", s.position));
    EXPECT_LT(s.created_at, a.window_end);
  }
  EXPECT_THAT(AlertToJson(a), HasSubstr("\"subject\":\"UTC+08:00\""));
}

TEST(PostingClock, StaysQuietOnTheTargetsOwnDaytimeAndOfficePatterns) {
  Driver d;
  // Germans posting through their day, and German offices keeping German
  // hours: nobody works another zone's day.
  d.Run(7 * 24, [](int h) {
    return Concat(Humans(kDE, 1, 120, h), Office(kDE, 1, 20, h, "office"));
  });
  EXPECT_TRUE(d.alerts().empty());
}

TEST(PostingClock, StaysQuietOnANeighbouringZone) {
  Driver d;
  // UTC+3 is one hour from DE's summer time: not far enough to tell.
  d.Run(7 * 24, [](int h) {
    return Concat(Humans(kDE, 1, 120, h), Office(kDE, 3, 20, h));
  });
  EXPECT_TRUE(d.alerts().empty());
}

TEST(PostingClock, NeedsMinAccountsAndSeveralDays) {
  Driver few;
  few.Run(7 * 24, FarOffice(/*bots=*/4));
  EXPECT_TRUE(few.alerts().empty());
  // One long working day is a burst, not a schedule: the accounts post on
  // a single day.
  Driver burst;
  burst.Run(7 * 24, [](int h) {
    std::vector<Post> posts = Humans(kDE, 1, 120, h);
    if (h >= 24 && h < 48 && h % 24 >= 1 && h % 24 < 10) {
      for (int i = 0; i < 20; ++i) {
        for (int k = 0; k < 3; ++k) {
          posts.push_back(Post{kDE, absl::StrCat("bot", i), kCN});
        }
      }
    }
    return posts;
  });
  EXPECT_TRUE(burst.alerts().empty());
}

TEST(PostingClock, ResolvesWithTheFiringIdOnceTheWeekNoLongerShowsThem) {
  Driver d;
  d.Run(7 * 24, FarOffice());
  d.Run(8 * 24, [](int h) { return Humans(kDE, 1, 120, h); });
  std::map<std::string, std::vector<AlertState>> by_id;
  for (const Alert& a : d.alerts()) by_id[a.id].push_back(a.state);
  ASSERT_FALSE(by_id.empty());
  for (const auto& [id, states] : by_id) {
    EXPECT_THAT(states, ElementsAre(AlertState::kFiring, AlertState::kResolved))
        << id;
  }
  EXPECT_THAT(d.alerts().back().summary, StartsWith("Resolved: "));
  EXPECT_EQ(d.op().stats().firing, 0);
  // The silent accounts were forgotten.
  EXPECT_EQ(d.op().stats().keys, 120);
}

TEST(PostingClock, InfersTheZoneOfATargetItHasNoMapFor) {
  EXPECT_TRUE(TargetUtcOffsets(kBR).empty());
  Driver d;
  // Brazil (UTC-3) and an office in UTC+8.
  d.Run(7 * 24, [](int h) {
    return Concat(Humans(kBR, -3, 120, h), Office(kBR, 8, 20, h));
  });
  ASSERT_FALSE(d.alerts().empty());
  std::map<std::string, double> b(d.alerts()[0].evidence.baseline.begin(),
                                  d.alerts()[0].evidence.baseline.end());
  EXPECT_NEAR(b["target_utc_offset_hours"], -3, 1);
  EXPECT_EQ(d.alerts()[0].subject, "UTC+08:00");
}

TEST(PostingClock, AppliesPerTargetOverrides) {
  // Declaring UTC+8 one of DE's own zones silences the group.
  PostingClockOptions own;
  own.per_target[kDE].utc_offsets = {1, 2, 8};
  Driver a(own);
  a.Run(7 * 24, FarOffice());
  EXPECT_TRUE(a.alerts().empty());
  // A stricter ladder for DE only.
  PostingClockOptions strict;
  strict.per_target[kDE].levels = {{Severity::kCritical, 100, 100, 1e6}};
  Driver b(strict);
  b.Run(7 * 24, [](int h) {
    return Concat(FarOffice()(h),
                  Concat(Humans(kBR, -3, 120, h), Office(kBR, 8, 20, h)));
  });
  ASSERT_FALSE(b.alerts().empty());
  for (const Alert& x : b.alerts()) EXPECT_EQ(x.target, kBR);
}

TEST(PostingClock, RecyclesQuietAccountsAtTheCapAndCountsIt) {
  PostingClockOptions options;
  options.max_accounts = 60;
  Driver d(options);
  d.Run(7 * 24, FarOffice());
  EXPECT_LE(d.op().stats().keys, 60);
  EXPECT_GT(d.op().stats().cap_hits, 0);
}

TEST(PostingClock, RefusesPostsFarAheadOfTheWatermark) {
  Driver d;
  d.Run(7 * 24, FarOffice());
  const size_t alerts = d.alerts().size();
  const int64_t hits = d.op().stats().cap_hits;
  // One post stamped a year ahead is refused, and does not wipe the week.
  d.Send(Post{kDE, "clock_skew", kDE}, kMonday + absl::Hours(365 * 24));
  EXPECT_EQ(d.op().stats().cap_hits, hits + 1);
  d.Run(2, FarOffice());
  EXPECT_EQ(d.alerts().size(), alerts);  // still firing, nothing resolved
  EXPECT_EQ(d.op().stats().firing, 1);
}

TEST(PostingClock, ProducesIdenticalAlertsOnIdenticalInput) {
  Driver one, two;
  one.Run(7 * 24, FarOffice());
  two.Run(7 * 24, FarOffice());
  ASSERT_FALSE(one.alerts().empty());
  ASSERT_EQ(one.alerts().size(), two.alerts().size());
  for (size_t i = 0; i < one.alerts().size(); ++i) {
    EXPECT_EQ(AlertToJson(one.alerts()[i]), AlertToJson(two.alerts()[i]));
  }
}

// ---------------------------------------------------------------------------
// State that follows partitions: split by target, merged back.

// Four targets over eleven days: DE's UTC+8 office from the start until
// day 6, FR's UTC-5 office from day 3 to day 9, RO's UTC+8 office from day
// 5, UA only people. Accounts named alike at two targets are two accounts.
Schedule FourTargets() {
  return [](int h) {
    std::vector<Post> posts = Humans(kDE, 1, 120, h);
    if (h < 6 * 24) posts = Concat(posts, Office(kDE, 8, 20, h, "bot", kCN));
    posts = Concat(posts, Humans(kFR, 1, 100, h));
    if (h >= 3 * 24 && h < 9 * 24) {
      posts = Concat(posts, Office(kFR, -5, 12, h, "fbot", kUS));
    }
    posts = Concat(posts, Humans(kRO, 2, 80, h));
    if (h >= 5 * 24) posts = Concat(posts, Office(kRO, 8, 8, h, "rbot", kCN));
    return Concat(posts, Humans(kUA, 2, 60, h));
  };
}

// A feed by hour, each post numbered by its line in the whole feed.
struct HourlyFeed {
  std::vector<std::vector<Post>> hours;
  std::vector<int64_t> first_line;  // of each hour's first post, from 1
};

HourlyFeed MakeFeed(const Schedule& schedule, int hours) {
  HourlyFeed feed;
  int64_t line = 1;
  for (int h = 0; h < hours; ++h) {
    feed.hours.push_back(schedule(h));
    feed.first_line.push_back(line);
    line += static_cast<int64_t>(feed.hours.back().size());
  }
  return feed;
}

using KeepTarget = std::function<bool(CountryCode)>;
bool AllTargets(CountryCode) { return true; }

// Sends hour `h` of `feed` to `d`: only the posts of the targets `keep`
// accepts, each at the time and line it has in the whole feed.
void SendHour(Driver& d, const HourlyFeed& feed, int h,
              const KeepTarget& keep) {
  const std::vector<Post>& posts = feed.hours[h];
  const absl::Time start = kMonday + absl::Hours(h);
  for (size_t j = 0; j < posts.size(); ++j) {
    if (!keep(posts[j].target)) continue;
    d.set_line(feed.first_line[h] + static_cast<int64_t>(j) - 1);
    d.Send(posts[j], start + absl::Minutes(50) * static_cast<double>(j) /
                                 static_cast<double>(posts.size()));
  }
}

// Feeds hours [from, to) as SendHour does, with the watermark at each
// hour's end (and the end of input when `last`). Returns how many alerts
// `d` holds after each hour.
std::vector<size_t> FeedHours(Driver& d, const HourlyFeed& feed, int from,
                              int to, const KeepTarget& keep,
                              bool last = false) {
  std::vector<size_t> after;
  for (int h = from; h < to; ++h) {
    SendHour(d, feed, h, keep);
    d.Watermark(kMonday + absl::Hours(h + 1));
    after.push_back(d.alerts().size());
  }
  if (last) {
    d.Watermark(absl::InfiniteFuture());
    after.push_back(d.alerts().size());
  }
  return after;
}

std::vector<std::string> JsonOf(const std::vector<Alert>& alerts, size_t from,
                                size_t to) {
  std::vector<std::string> out;
  for (size_t i = from; i < to; ++i) out.push_back(AlertToJson(alerts[i]));
  return out;
}

// Alerts by hour (`after` as FeedHours returns it, from alert `from`), each
// hour's sorted: a merge may change the order of different targets' alerts
// within one evaluation, and nothing else.
std::vector<std::vector<std::string>> ByHour(const std::vector<Alert>& alerts,
                                             size_t from,
                                             const std::vector<size_t>& after) {
  std::vector<std::vector<std::string>> out;
  for (size_t end : after) {
    out.push_back(JsonOf(alerts, from, end));
    std::sort(out.back().begin(), out.back().end());
    from = end;
  }
  return out;
}

std::set<std::pair<std::string, AlertState>> Episodes(
    const std::vector<Alert>& alerts, size_t from) {
  std::set<std::pair<std::string, AlertState>> out;
  for (size_t i = from; i < alerts.size(); ++i) {
    out.emplace(alerts[i].target.str(), alerts[i].state);
  }
  return out;
}

TEST(PostingClock, StateSplitByTargetAndMergedBackRaisesTheAlertsOfOneRun) {
  // In one run DE fires on day 2 and resolves on day 9, FR fires on day 7
  // and resolves on day 11, RO fires on day 9.
  constexpr int kSplit = 40;
  constexpr int kMerge = 200;
  constexpr int kEnd = 14 * 24;
  const HourlyFeed feed = MakeFeed(FourTargets(), kEnd);
  const KeepTarget part_a = [](CountryCode c) { return c == kDE || c == kRO; };
  const KeepTarget part_b = [&](CountryCode c) { return !part_a(c); };

  Driver whole;
  FeedHours(whole, feed, 0, kSplit, AllTargets);
  const std::string at_split = SaveOperatorState(whole.op());
  FeedHours(whole, feed, kSplit, kMerge, AllTargets);
  const size_t whole_at_merge = whole.alerts().size();
  const std::vector<size_t> whole_after =
      FeedHours(whole, feed, kMerge, kEnd, AllTargets, /*last=*/true);

  // Each part, split from the whole's state, raises exactly the alerts of
  // a detector that only ever saw its targets' posts.
  Driver a, b;
  ASSERT_TRUE(RestoreOperatorState(at_split, a.op()).ok());
  ASSERT_TRUE(RestoreOperatorState(at_split, b.op()).ok());
  ASSERT_TRUE(a.op().splits_by_target());
  a.op().RetainTargets(part_a);
  b.op().RetainTargets(part_b);
  FeedHours(a, feed, kSplit, kMerge, part_a);
  FeedHours(b, feed, kSplit, kMerge, part_b);
  for (const auto& [part, keep] :
       {std::pair<Driver*, KeepTarget>{&a, part_a}, {&b, part_b}}) {
    Driver alone;
    FeedHours(alone, feed, 0, kSplit, keep);
    const size_t before = alone.alerts().size();
    FeedHours(alone, feed, kSplit, kMerge, keep);
    EXPECT_EQ(JsonOf(part->alerts(), 0, part->alerts().size()),
              JsonOf(alone.alerts(), before, alone.alerts().size()));
    EXPECT_EQ(part->op().stats().keys, alone.op().stats().keys);
    EXPECT_EQ(part->op().stats().firing, alone.op().stats().firing);
  }
  // Both parts raised alerts in between: DE and FR fired.
  EXPECT_THAT(Episodes(a.alerts(), 0),
              testing::Contains(std::pair<std::string, AlertState>(
                  "DE", AlertState::kFiring)));
  EXPECT_THAT(Episodes(b.alerts(), 0),
              testing::Contains(std::pair<std::string, AlertState>(
                  "FR", AlertState::kFiring)));

  // Merged back from the parts' snapshots, the detector goes on as the
  // one that saw everything.
  Driver a2, b2, merged;
  ASSERT_TRUE(RestoreOperatorState(SaveOperatorState(a.op()), a2.op()).ok());
  ASSERT_TRUE(RestoreOperatorState(SaveOperatorState(b.op()), b2.op()).ok());
  ASSERT_TRUE(merged.op().Absorb(a2.op()).ok());
  ASSERT_TRUE(merged.op().Absorb(b2.op()).ok());
  const std::vector<size_t> merged_after =
      FeedHours(merged, feed, kMerge, kEnd, AllTargets, /*last=*/true);
  EXPECT_EQ(ByHour(merged.alerts(), 0, merged_after),
            ByHour(whole.alerts(), whole_at_merge, whole_after));
  EXPECT_EQ(merged.op().stats().keys, whole.op().stats().keys);
  EXPECT_EQ(merged.op().stats().firing, whole.op().stats().firing);
  // Episodes that began before the merge end after it.
  EXPECT_THAT(
      Episodes(merged.alerts(), 0),
      testing::IsSupersetOf(
          {std::pair<std::string, AlertState>("DE", AlertState::kResolved),
           std::pair<std::string, AlertState>("FR", AlertState::kResolved),
           std::pair<std::string, AlertState>("RO", AlertState::kFiring)}));
}

// A merged target keeps the boundary its part had evaluated it at: the
// part that lagged catches up without the other's targets being judged
// again at earlier boundaries on posts read since (which would fire RO
// hours early here).
TEST(PostingClock, AMergedPartThatLaggedCatchesUpWithoutJudgingTheOtherAgain) {
  constexpr int kSplit = 40;
  constexpr int kLag = 150;    // FR fires after it in one run
  constexpr int kMerge = 217;  // RO fires at this hour's end in one run
  constexpr int kEnd = 14 * 24;
  const HourlyFeed feed = MakeFeed(FourTargets(), kEnd);
  const KeepTarget part_a = [](CountryCode c) { return c == kDE || c == kRO; };
  const KeepTarget part_b = [&](CountryCode c) { return !part_a(c); };

  Driver whole;
  FeedHours(whole, feed, 0, kSplit, AllTargets);
  const size_t whole_at_split = whole.alerts().size();
  const std::string at_split = SaveOperatorState(whole.op());
  FeedHours(whole, feed, kSplit, kEnd, AllTargets, /*last=*/true);

  // Part b stops reading at kLag (its instance left); part a has read
  // hour kMerge's posts, not yet decided. The merged detector reads b's
  // targets from kLag and a's after hour kMerge.
  Driver a, b, merged;
  ASSERT_TRUE(RestoreOperatorState(at_split, a.op()).ok());
  ASSERT_TRUE(RestoreOperatorState(at_split, b.op()).ok());
  a.op().RetainTargets(part_a);
  b.op().RetainTargets(part_b);
  FeedHours(a, feed, kSplit, kMerge, part_a);
  SendHour(a, feed, kMerge, part_a);
  FeedHours(b, feed, kSplit, kLag, part_b);
  ASSERT_TRUE(merged.op().Absorb(b.op()).ok());
  ASSERT_TRUE(merged.op().Absorb(a.op()).ok());
  FeedHours(merged, feed, kLag, kMerge + 1, part_b);
  FeedHours(merged, feed, kMerge + 1, kEnd, AllTargets, /*last=*/true);

  std::vector<std::string> pieces = JsonOf(a.alerts(), 0, a.alerts().size());
  for (const Driver* d : {&b, &merged}) {
    const std::vector<std::string> more =
        JsonOf(d->alerts(), 0, d->alerts().size());
    pieces.insert(pieces.end(), more.begin(), more.end());
  }
  std::vector<std::string> one =
      JsonOf(whole.alerts(), whole_at_split, whole.alerts().size());
  std::sort(pieces.begin(), pieces.end());
  std::sort(one.begin(), one.end());
  EXPECT_EQ(pieces, one);
  EXPECT_EQ(merged.op().stats().keys, whole.op().stats().keys);
}

// The section as version 1 wrote it: the current version without the cap
// hits per target (after their total) and without each target's boundary
// (an I64 after its groups' episodes).
std::string AsVersion1(const std::string& v2) {
  SnapshotReader r(v2, 0, "posting_clock v3");
  SnapshotWriter w;
  for (int i = 0; i < 3; ++i) w.I64(r.I64());  // boundaries, cap hits
  const uint64_t with_hits = r.U64();          // targets with cap hits
  for (uint64_t i = 0; i < with_hits; ++i) {
    r.U32();
    r.I64();
  }
  const uint64_t sources = r.U64();
  w.U64(sources);
  for (uint64_t i = 0; i < sources; ++i) {
    w.Str(r.StrView());
    w.I32(r.I32());
  }
  const uint64_t targets = r.U64();
  w.U64(targets);
  for (uint64_t t = 0; t < targets; ++t) {
    w.U32(r.U32());
    for (int week = 0; week < 2; ++week) {
      w.I64(r.I64());
      for (int b = 0; b < 168; ++b) w.U64(r.U64());
    }
    for (int g = 0; g < 27; ++g) {  // UTC-12 to UTC+14
      w.I32(r.I32());
      w.Time(r.Time());
    }
    r.I64();  // the target's boundary
  }
  w.Bytes(r.Bytes(v2.size() - r.offset()));
  EXPECT_TRUE(r.Finish().ok());
  return std::move(w.bytes());
}

TEST(PostingClock, RestoresAVersion1Snapshot) {
  const HourlyFeed feed = MakeFeed(FourTargets(), 9 * 24);
  Driver d;
  FeedHours(d, feed, 0, 5 * 24, AllTargets);
  ASSERT_FALSE(d.alerts().empty());
  ASSERT_EQ(d.op().state_version(), 3u);
  const std::string v2 = SaveOperatorState(d.op());
  const std::string v1 = AsVersion1(v2);
  ASSERT_LT(v1.size(), v2.size());
  Driver from_v1;
  SnapshotReader r(v1, 0, "posting_clock");
  ASSERT_TRUE(from_v1.op().RestoreState(r, 1).ok()) << r.status();
  // A version 1 state is the detector's whole state: it goes on as the
  // detector it was written from.
  const size_t before = d.alerts().size();
  FeedHours(d, feed, 5 * 24, 9 * 24, AllTargets, /*last=*/true);
  FeedHours(from_v1, feed, 5 * 24, 9 * 24, AllTargets, /*last=*/true);
  EXPECT_GT(from_v1.alerts().size(), 0u);
  EXPECT_EQ(JsonOf(from_v1.alerts(), 0, from_v1.alerts().size()),
            JsonOf(d.alerts(), before, d.alerts().size()));
}

// The section with account `id`'s latest hour (the I32 after its latest
// post's time, position and source) moved one hour on. The account is
// found by its id as written (length, bytes), so that the sections before
// the accounts may change shape.
std::string WithAccountHourMoved(const std::string& saved,
                                 const std::string& id) {
  SnapshotWriter encoded;
  encoded.Str(id);
  const size_t at = saved.find(encoded.bytes());
  EXPECT_NE(at, std::string::npos);
  if (at == std::string::npos) return saved;
  SnapshotReader r(std::string_view(saved).substr(at), at, "posting_clock");
  SnapshotWriter w;
  w.Str(r.StrView());  // account id
  w.I32(r.I32());      // week: last hour, total
  w.U32(r.U32());
  const bool dense = r.Bool();
  w.Bool(dense);
  if (dense) {
    w.Bytes(r.Bytes(168));
  } else {
    const uint32_t pairs = r.U32();
    w.U32(pairs);
    for (uint32_t i = 0; i < 2 * pairs; ++i) w.U32(r.U32());
  }
  w.Str(r.StrView());  // post id
  w.I64(r.I64());      // its time, position, source
  w.I64(r.I64());
  w.U32(r.U32());
  w.I32(r.I32() + 1);  // the latest hour
  w.Bytes(r.Bytes(saved.size() - r.offset()));
  EXPECT_TRUE(r.Finish().ok());
  return saved.substr(0, at) + w.bytes();
}

// Account and post ids of each form the record keeps (short, numeric of
// 17-20 digits, 40 bytes of text) come back from a snapshot as they went
// in: the restored detector saves the same bytes and raises the same
// alerts, which quote them. A snapshot whose account's latest hour is not
// its latest post's is refused: the record derives one from the other.
TEST(PostingClock, SnapshotKeepsIdsOfEveryFormAndTheLatestPostsTime) {
  const std::string numeric = "1790000000000000";  // + i: 17 digits
  const std::string text(40, 'x');
  const HourlyFeed feed = MakeFeed(
      [&](int h) {
        std::vector<Post> posts = Humans(kDE, 1, 120, h);
        posts = Concat(posts, Office(kDE, 8, 10, h, numeric, kCN));
        return Concat(posts, Office(kDE, 8, 10, h, text, kCN));
      },
      8 * 24);
  // Post ids "1790000000000000" + line: 17 to 20 digits.
  Driver d({}, numeric);
  FeedHours(d, feed, 0, 2 * 24, AllTargets);
  ASSERT_TRUE(d.alerts().empty());  // classified on the third day
  const std::string saved = SaveOperatorState(d.op());
  Driver restored({}, numeric);
  ASSERT_TRUE(RestoreOperatorState(saved, restored.op()).ok());
  EXPECT_EQ(SaveOperatorState(restored.op()), saved);

  const size_t before = d.alerts().size();
  FeedHours(d, feed, 2 * 24, 8 * 24, AllTargets, /*last=*/true);
  FeedHours(restored, feed, 2 * 24, 8 * 24, AllTargets, /*last=*/true);
  const std::vector<std::string> after =
      JsonOf(restored.alerts(), 0, restored.alerts().size());
  ASSERT_FALSE(after.empty());
  EXPECT_EQ(after, JsonOf(d.alerts(), before, d.alerts().size()));
  std::string all;
  for (const std::string& a : after) all += a;
  EXPECT_THAT(all, HasSubstr("\"" + numeric + "3\""));
  EXPECT_THAT(all, HasSubstr("\"" + text + "3\""));
  EXPECT_THAT(all, HasSubstr("\"" + numeric + "1"));  // a post id

  Driver refused;
  const absl::Status status = RestoreOperatorState(
      WithAccountHourMoved(saved, numeric + "0"), refused.op());
  EXPECT_FALSE(status.ok());
  EXPECT_THAT(status.message(), HasSubstr("latest hour"));
}

TEST(PostingClock, KnowsTheUsualZones) {
  EXPECT_THAT(TargetUtcOffsets(kDE), ElementsAre(1, 2));
  EXPECT_THAT(TargetUtcOffsets(CountryCode::FromString("MD")),
              ElementsAre(2, 3));
  EXPECT_THAT(TargetUtcOffsets(CountryCode::FromString("GB")),
              ElementsAre(0, 1));
}

}  // namespace
}  // namespace vigia
