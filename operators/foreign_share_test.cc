#include "operators/foreign_share.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "operators/snapshot.h"
#include "operators/testing/operator_test_util.h"

namespace vigia {
namespace {

using ::testing::Contains;
using ::testing::Field;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr std::string_view kSource = "feed.ndjson";
constexpr std::string_view kHash = "cfg-share";

struct Post {
  CountryCode target;
  CountryCode origin;
  std::string account;
  std::vector<std::string> hashtags;
};

// Feeds the detector minute by minute (posts spread over the minute, then
// the watermark at the minute's end).
class Driver : public OperatorDriver {
 public:
  explicit Driver(ForeignShareOptions options = {})
      : OperatorDriver(
            [&options](const OperatorContext& c) {
              return MakeForeignShare(options, c);
            },
            {.config_hash = std::string(kHash),
             .source = std::string(kSource),
             .id_prefix = "p",
             .start = absl::FromUnixSeconds(1'795'000'020 / 3600 * 3600)}) {}

  void Minute(const std::vector<Post>& posts) {
    Step(absl::Minutes(1), posts,
         [this](const Post& p, absl::Time t) { Send(p, t); });
  }

  void Send(const Post& p, absl::Time t) {
    const std::vector<std::string_view> tags = Views(p.hashtags);
    Event e;
    e.kind = FeedKind::kPost;
    e.created_at = t;
    e.target = p.target;
    e.account_id = p.account;
    e.account_country = p.origin;
    e.hashtags = tags;
    Observe(e);
  }
};

// `domestic` and `foreign` posts aimed at `target` with `tags`; accounts
// cycle through small pools so evidence has something to rank.
std::vector<Post> Mix(CountryCode target, int domestic, int foreign,
                      std::vector<std::string> tags = {},
                      std::string foreign_prefix = "ru") {
  std::vector<Post> out;
  for (int i = 0; i < domestic; ++i) {
    out.push_back(Post{target, target, absl::StrCat("local", i % 30), tags});
  }
  for (int i = 0; i < foreign; ++i) {
    out.push_back(Post{target, kRU, absl::StrCat(foreign_prefix, i % 6), tags});
  }
  return out;
}

std::vector<Post> Concat(std::vector<Post> a, const std::vector<Post>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::vector<Alert> About(const std::vector<Alert>& alerts,
                         std::string_view subject) {
  std::vector<Alert> out;
  for (const Alert& a : alerts) {
    if (a.subject == subject) out.push_back(a);
  }
  return out;
}

Severity Highest(const std::vector<Alert>& alerts) {
  Severity s = Severity::kInfo;
  for (const Alert& a : alerts) s = std::max(s, a.severity);
  return s;
}

TEST(ForeignShare, StaysQuietWhenVolumeDoublesAtAConstantShare) {
  Driver d;
  for (int m = 0; m < 4 * 60; ++m) d.Minute(Mix(kMD, 20 + m % 3, 4));
  // Twice the traffic, same one-in-six foreign share: a busy news day.
  for (int m = 0; m < 60; ++m) d.Minute(Mix(kMD, 2 * (20 + m % 3), 8));
  EXPECT_TRUE(d.alerts().empty());
  EXPECT_EQ(d.op().stats().keys, 1);
}

TEST(ForeignShare, KeepsTheUsualShareThroughATrafficRamp) {
  Driver d;
  for (int m = 0; m < 3 * 60; ++m) d.Minute(Mix(kMD, 20, 4));
  // The morning: traffic quadruples over an hour at the same mix, holds.
  for (int m = 0; m < 60; ++m) {
    const int k = 1 + m / 20;
    d.Minute(Mix(kMD, 20 * k + 20 * (m % 20) / 20, 4 * k));
  }
  for (int m = 0; m < 60; ++m) d.Minute(Mix(kMD, 80, 16));
  EXPECT_TRUE(d.alerts().empty());
  // Then half the posts turn foreign: judged against the usual 1/6.
  for (int m = 0; m < 10; ++m) d.Minute(Mix(kMD, 48, 48));
  ASSERT_FALSE(d.alerts().empty());
  std::map<std::string, double> b(d.alerts()[0].evidence.baseline.begin(),
                                  d.alerts()[0].evidence.baseline.end());
  EXPECT_NEAR(b["baseline_share"], 1.0 / 6, 0.02);
}

TEST(ForeignShare, KeepsAnOrganicRiseOfForeignPostsBelowWarning) {
  Driver d;
  for (int m = 0; m < 4 * 60; ++m) d.Minute(Mix(kMD, 40 + m % 3, 8));
  // Half as many foreign posts again for an hour, domestic unchanged.
  for (int m = 0; m < 60; ++m) d.Minute(Mix(kMD, 40 + m % 3, 12));
  for (const Alert& a : d.alerts()) EXPECT_EQ(a.severity, Severity::kInfo);
}

TEST(ForeignShare, FiresWhenTheShareJumpsWhileVolumeStaysFlat) {
  Driver d;
  for (int m = 0; m < 4 * 60; ++m) d.Minute(Mix(kMD, 20 + m % 3, 4));
  // The same 24-25 posts a minute, half of them foreign now.
  for (int m = 0; m < 30; ++m) d.Minute(Mix(kMD, 12 + m % 2, 12));
  ASSERT_FALSE(d.alerts().empty());
  const Alert& first = d.alerts().front();
  EXPECT_EQ(first.detector, "foreign_share");
  EXPECT_EQ(first.state, AlertState::kFiring);
  EXPECT_EQ(first.target, kMD);
  EXPECT_FALSE(first.origin.known());
  EXPECT_TRUE(first.subject.empty());
  EXPECT_EQ(first.window_end - first.window_start, absl::Minutes(30));
  EXPECT_THAT(first.summary,
              StartsWith("Foreign share of posts aimed at MD: "));
  EXPECT_GE(first.score, first.threshold);
  EXPECT_GE(first.ratio, 1.3);
  // By the time the window is full of the new mix it is critical: about
  // three times the usual share.
  EXPECT_EQ(Highest(d.alerts()), Severity::kCritical);
  EXPECT_EQ(d.op().stats().firing, 1);
}

TEST(ForeignShare, ResolvesWithTheFiringIdOnceTheShareIsBack) {
  Driver d;
  for (int m = 0; m < 4 * 60; ++m) d.Minute(Mix(kMD, 20 + m % 3, 4));
  for (int m = 0; m < 30; ++m) d.Minute(Mix(kMD, 12, 12));
  // Back to normal for longer than the hold (an hour by default).
  for (int m = 0; m < 100; ++m) d.Minute(Mix(kMD, 20 + m % 3, 4));
  std::map<std::string, std::vector<AlertState>> by_id;
  for (const Alert& a : d.alerts()) by_id[a.id].push_back(a.state);
  ASSERT_FALSE(by_id.empty());
  for (const auto& [id, states] : by_id) {
    EXPECT_THAT(states, testing::ElementsAre(AlertState::kFiring,
                                             AlertState::kResolved))
        << id;
  }
  EXPECT_THAT(d.alerts().back().summary,
              StartsWith("Resolved: foreign share of posts aimed at MD: "
                         "back to "));
  EXPECT_EQ(d.op().stats().firing, 0);
}

// A big target (200 posts a minute, one in six foreign) on which hashtag
// #Alegeri carries 22 posts a minute, 2 of them foreign; `campaign` turns
// the hashtag's mix into 10 domestic and 12 foreign for half an hour.
void HashtagScenario(Driver& d, bool campaign) {
  for (int m = 0; m < 3 * 60; ++m) {
    d.Minute(Concat(Mix(kMD, 150, 30, {"news"}),
                    Mix(kMD, 20, 2, {"#Alegeri", "vot"})));
  }
  for (int m = 0; m < 30; ++m) {
    d.Minute(Concat(Mix(kMD, 150, 30, {"news"}),
                    campaign ? Mix(kMD, 10, 12, {"#ALEGERI"}, "sock")
                             : Mix(kMD, 20, 2, {"#Alegeri", "vot"})));
  }
}

TEST(ForeignShare, FiresForAHashtagWhoseForeignShareJumps) {
  Driver d;
  HashtagScenario(d, /*campaign=*/true);
  // The target as a whole moves by far less than 1.5x: only the hashtag.
  EXPECT_TRUE(About(d.alerts(), "").empty());
  const std::vector<Alert> tag = About(d.alerts(), "alegeri");
  ASSERT_FALSE(tag.empty());
  const Alert& a = tag.back();
  EXPECT_EQ(a.subject_kind, "hashtag");
  EXPECT_EQ(a.target, kMD);
  EXPECT_THAT(a.summary,
              StartsWith("Foreign share of posts aimed at MD with #alegeri: "));
  EXPECT_GE(Highest(tag), Severity::kWarning);
  // The id is that of the (target, hashtag) key.
  EXPECT_EQ(tag.front().id,
            MakeAlertId("foreign_share", "MD|#alegeri", tag.front().window_end,
                        tag.front().severity, kHash));
  // The hashtag's companion #vot is heavy too but its share did not move.
  EXPECT_TRUE(About(d.alerts(), "vot").empty());
}

TEST(ForeignShare, HashtagWithoutCampaignStaysQuiet) {
  Driver d;
  HashtagScenario(d, /*campaign=*/false);
  EXPECT_TRUE(d.alerts().empty());
  // MD, #news, #alegeri and #vot are all tracked.
  EXPECT_EQ(d.op().stats().keys, 4);
  EXPECT_EQ(d.op().stats().cap_hits, 0);
}

TEST(ForeignShare, EvidenceRecomputesTheExpectationAndNamesTheCampaign) {
  Driver d;
  HashtagScenario(d, /*campaign=*/true);
  const std::vector<Alert> tag = About(d.alerts(), "alegeri");
  ASSERT_FALSE(tag.empty());
  const Alert& a = tag.back();
  std::map<std::string, double> b(a.evidence.baseline.begin(),
                                  a.evidence.baseline.end());
  EXPECT_NEAR(b["expected"], a.expected, 1e-9);
  EXPECT_NEAR(b["window_posts"] * b["baseline_share"], a.expected, 1e-6);
  EXPECT_EQ(b["window_foreign"], a.observed);
  EXPECT_NEAR(b["window_share"], a.observed / b["window_posts"], 1e-9);
  EXPECT_NEAR(b["baseline_share"], 2.0 / 22, 0.02);
  EXPECT_EQ(b["window_hops"], 6);
  EXPECT_EQ(b["min_total"], 50);
  EXPECT_GT(b["history_hours"], 2.0);
  // Evidence is about the foreign posts: the sock accounts, from RU.
  EXPECT_THAT(a.evidence.top_accounts,
              Contains(Field(&Tally::value, StartsWith("sock"))));
  ASSERT_EQ(a.evidence.other_tops.size(), 1u);
  EXPECT_EQ(a.evidence.other_tops[0].first, "top_origins");
  ASSERT_EQ(a.evidence.other_tops[0].second.size(), 1u);
  EXPECT_EQ(a.evidence.other_tops[0].second[0].value, "RU");
  EXPECT_EQ(a.evidence.other_tops[0].second[0].count, a.observed);
  ASSERT_EQ(a.evidence.samples.size(), 4u);
  for (const SampleEvent& s : a.evidence.samples) {
    EXPECT_EQ(s.source, kSource);
    EXPECT_EQ(s.id, absl::StrCat("p", s.position));
    EXPECT_GE(s.created_at, a.window_start);
    EXPECT_LT(s.created_at, a.window_end);
  }
  const std::string json = AlertToJson(a);
  EXPECT_THAT(json, HasSubstr("\"subject_kind\":\"hashtag\","
                              "\"subject\":\"alegeri\""));
  EXPECT_THAT(json, HasSubstr("\"top_origins\":[{\"value\":\"RU\""));
}

// Regression (scenario matrix, trend_riding seed 202): on a small hashtag
// whose foreign share doubles, the window's foreign posts are a part of its
// few posts, a binomial count. Scored as a Poisson count the score rung held
// the warning back for a whole window after the ratio had passed it.
TEST(ForeignShare, WarnsWhenTheShareOfASmallHashtagDoubles) {
  Driver d;
  // MD: 180 posts a minute, one in six foreign, on #news; #mic carries 3 a
  // minute, one of them foreign (90 a window, 30 foreign).
  for (int m = 0; m < 4 * 60; ++m) {
    d.Minute(Concat(Mix(kMD, 150, 30, {"news"}), Mix(kMD, 2, 1, {"mic"})));
  }
  // The same 3 posts a minute on #mic, now 2 of them foreign.
  const absl::Time start = d.now();
  for (int m = 0; m < 30; ++m) {
    d.Minute(
        Concat(Mix(kMD, 150, 30, {"news"}), Mix(kMD, 1, 2, {"mic"}, "sock")));
  }
  const std::vector<Alert> tag = About(d.alerts(), "mic");
  const auto warning = std::find_if(tag.begin(), tag.end(), [](const Alert& a) {
    return a.state == AlertState::kFiring && a.severity >= Severity::kWarning;
  });
  ASSERT_NE(warning, tag.end());
  EXPECT_LE(warning->window_end - start, absl::Minutes(30));
  EXPECT_EQ(warning->window_end - warning->window_start, absl::Minutes(30));
  // Not for its volume: the window holds its usual 90 posts.
  std::map<std::string, double> b(warning->evidence.baseline.begin(),
                                  warning->evidence.baseline.end());
  EXPECT_EQ(b["window_posts"], 90);
  // The Poisson score of the same window would have stayed below the
  // warning's 5: the rung this pins.
  EXPECT_LT(2 * (std::sqrt(warning->observed + 0.375) -
                 std::sqrt(warning->expected + 0.375)),
            5.0);
  EXPECT_GE(warning->score, 5.0);
  // The target as a whole barely moves.
  EXPECT_TRUE(About(d.alerts(), "").empty());
}

TEST(ForeignShare, IgnoresHashtagsTooSmallToJudge) {
  Driver d;
  // One post every five minutes with #mic: never min_total in a window.
  for (int m = 0; m < 3 * 60; ++m) {
    std::vector<Post> posts = Mix(kMD, 20, 4);
    if (m % 5 == 0) posts.push_back(Post{kMD, kMD, "local1", {"mic"}});
    d.Minute(posts);
  }
  for (int m = 0; m < 30; ++m) {
    std::vector<Post> posts = Mix(kMD, 20, 4);
    posts.push_back(Post{kMD, kRU, "sock", {"mic"}});
    d.Minute(posts);
  }
  EXPECT_TRUE(d.alerts().empty());
  // #mic averages 6 posts a window, too few to become heavy at all.
  EXPECT_EQ(d.op().stats().keys, 1);
}

TEST(ForeignShare, TracksOnlyTheHeaviestHashtagsAndCountsTheCap) {
  ForeignShareOptions options;
  options.max_hashtags = 1;
  Driver d(options);
  for (int m = 0; m < 3 * 60; ++m) {
    d.Minute(Concat(Mix(kMD, 40, 8, {"big"}), Mix(kMD, 20, 2, {"small"})));
  }
  EXPECT_EQ(d.op().stats().keys, 2);  // MD and #big
  EXPECT_GT(d.op().stats().cap_hits, 0);
  // A campaign on the untracked hashtag raises nothing for it.
  for (int m = 0; m < 30; ++m) {
    d.Minute(Concat(Mix(kMD, 40, 8, {"big"}), Mix(kMD, 8, 14, {"small"})));
  }
  EXPECT_TRUE(About(d.alerts(), "small").empty());
}

TEST(ForeignShare, AppliesPerTargetOverridesOfTheLadder) {
  ForeignShareOptions options;
  options.max_hashtags = 0;
  ForeignShareTargetOptions strict;
  strict.min_total = options.min_total;
  strict.scoring = options.scoring;
  strict.scoring.levels = {{Severity::kCritical, 50.0, 10.0, 1000}};
  options.per_target[kMD] = strict;
  Driver d(options);
  for (int m = 0; m < 4 * 60; ++m) {
    d.Minute(Concat(Mix(kMD, 20 + m % 3, 4), Mix(kRO, 20 + m % 3, 4)));
  }
  for (int m = 0; m < 30; ++m) {
    d.Minute(Concat(Mix(kMD, 12, 12), Mix(kRO, 12, 12)));
  }
  bool ro = false;
  for (const Alert& a : d.alerts()) {
    EXPECT_EQ(a.target, kRO);
    ro = true;
  }
  EXPECT_TRUE(ro);
}

TEST(ForeignShare, ProducesIdenticalAlertsOnIdenticalInput) {
  Driver one, two;
  HashtagScenario(one, true);
  HashtagScenario(two, true);
  ASSERT_FALSE(one.alerts().empty());
  ASSERT_EQ(one.alerts().size(), two.alerts().size());
  for (size_t i = 0; i < one.alerts().size(); ++i) {
    EXPECT_EQ(AlertToJson(one.alerts()[i]), AlertToJson(two.alerts()[i]));
  }
}

// Two sources, one running two hours ahead of the other (Kafka partitions
// read as a backlog): the target's key is first seen in the second half of
// each four hours, its older posts arrive after. The alerts are those of
// the posts in time order.
TEST(ForeignShare, AKeyFirstSeenAheadStillCountsItsOlderPosts) {
  struct Timed {
    Post post;
    absl::Time t;
  };
  std::vector<Timed> posts;
  const absl::Time start = Driver().now();
  for (int m = 0; m < 4 * 60 + 30; ++m) {
    const std::vector<Post> minute =
        m < 4 * 60 ? Mix(kMD, 20 + m % 3, 4) : Mix(kMD, 12 + m % 2, 12);
    for (size_t i = 0; i < minute.size(); ++i) {
      posts.push_back(
          {minute[i], start + absl::Minutes(m) +
                          absl::Minutes(1) * static_cast<double>(i) /
                              static_cast<double>(minute.size())});
    }
  }
  auto run = [&](bool ahead_first) {
    Driver d;
    SendInFourHourSteps(
        posts, start, ahead_first, [&](const Timed& x) { d.Send(x.post, x.t); },
        [&](absl::Time to) { d.Watermark(to); });
    EXPECT_EQ(d.op().stats().cap_hits, 0);
    return AlertOutcomes(d.alerts());
  };
  const std::vector<std::string> in_order = run(false);
  ASSERT_FALSE(in_order.empty());
  EXPECT_EQ(run(true), in_order);
}

TEST(ForeignShare, LeavesPostsOfUnknownOriginOutOfTheShare) {
  Driver d;
  const auto minute = [](int domestic, int foreign) {
    std::vector<Post> posts = Mix(kUA, domestic, foreign);
    for (int i = 0; i < 10; ++i) {
      posts.push_back(Post{kUA, CountryCode(), "anon", {}});
    }
    return posts;
  };
  for (int m = 0; m < 4 * 60; ++m) d.Minute(minute(20, 4));
  for (int m = 0; m < 30; ++m) d.Minute(minute(12, 12));
  ASSERT_FALSE(d.alerts().empty());
  for (const Alert& a : d.alerts()) {
    std::map<std::string, double> b(a.evidence.baseline.begin(),
                                    a.evidence.baseline.end());
    // 24 posts of known origin a minute; the 10 anonymous ones not counted.
    EXPECT_EQ(b["window_posts"], 30 * 24);
  }
  std::map<std::string, double> first(d.alerts()[0].evidence.baseline.begin(),
                                      d.alerts()[0].evidence.baseline.end());
  EXPECT_NEAR(first["baseline_share"], 4.0 / 24, 0.02);
}

// State that follows partitions: three targets' posts, minute by minute,
// each post numbered by its line in the whole stream so that runs fed part
// of it name every post alike. MD carries heavy hashtags and a campaign on
// #alegeri (minutes 180-210), RO's own share jumps at the same time, UA is
// quiet but gains a heavy hashtag at 175; everything is back to normal from
// 210 to 330.
using Stream = std::vector<std::vector<Post>>;

Stream ThreeTargets() {
  Stream s;
  for (int m = 0; m < 330; ++m) {
    const bool campaign = m >= 180 && m < 210;
    std::vector<Post> minute = Mix(kMD, 60, 12, {"news"});
    minute = Concat(minute, campaign ? Mix(kMD, 10, 12, {"#ALEGERI"}, "sock")
                                     : Mix(kMD, 20, 2, {"#Alegeri", "vot"}));
    minute = Concat(minute, campaign ? Mix(kRO, 12 + m % 2, 12)
                                     : Mix(kRO, 20 + m % 3, 4, {"sport"}));
    // A new heavy hashtag on UA from minute 175 on.
    minute = Concat(minute, m < 175 ? Mix(kUA, 30, 6, {"#war"})
                                    : Mix(kUA, 30, 6, {"#war", "#pace"}));
    s.push_back(std::move(minute));
  }
  return s;
}

using Keep = std::function<bool(CountryCode)>;
bool All(CountryCode) { return true; }

// Feeds minutes [from, to) of `s`, only the posts of targets `keep`
// accepts, each at its time and line in the whole stream; the watermark
// moves at each minute's end.
void Feed(Driver& d, const Stream& s, int from, int to, const Keep& keep) {
  int64_t line = 0;
  for (int m = 0; m < from; ++m) line += static_cast<int64_t>(s[m].size());
  const absl::Time start = absl::FromUnixSeconds(1'795'000'020 / 3600 * 3600);
  for (int m = from; m < to; ++m) {
    const std::vector<Post>& posts = s[m];
    for (size_t i = 0; i < posts.size(); ++i) {
      ++line;
      if (!keep(posts[i].target)) continue;
      const absl::Time t = start + absl::Minutes(m) +
                           absl::Minutes(1) * static_cast<double>(i) /
                               static_cast<double>(posts.size());
      const std::vector<std::string_view> tags = Views(posts[i].hashtags);
      Event e;
      e.kind = FeedKind::kPost;
      e.created_at = t;
      e.target = posts[i].target;
      e.account_id = posts[i].account;
      e.account_country = posts[i].origin;
      e.hashtags = tags;
      d.Observe(e, line);
    }
    d.Watermark(start + absl::Minutes(m + 1));
  }
}

std::string Save(const Operator& op) {
  SnapshotWriter w;
  op.SaveState(w);
  return w.bytes();
}

// `version` 0: the one the detector writes.
void Load(Operator& op, const std::string& bytes, uint32_t version = 0) {
  SnapshotReader r(bytes, 0, "foreign_share");
  const absl::Status s =
      op.RestoreState(r, version == 0 ? op.state_version() : version);
  ASSERT_TRUE(s.ok()) << s;
}

// A restored copy of `from`'s detector keeping only the targets `keep`
// accepts.
void CopyPart(const Driver& from, const Keep& keep, Driver& to) {
  Load(to.op(), Save(from.op()));
  to.op().RetainTargets(keep);
}

// The alerts from index `from` on, as JSON, ordered by window end and then
// by their text: the order of one hop's alerts is the order of the keys,
// which a merge does not keep (it appends one part's keys to the other's).
std::vector<std::string> ByHop(const std::vector<Alert>& alerts,
                               size_t from = 0) {
  std::vector<std::pair<absl::Time, std::string>> keyed;
  for (size_t i = from; i < alerts.size(); ++i) {
    keyed.emplace_back(alerts[i].window_end, AlertToJson(alerts[i]));
  }
  std::sort(keyed.begin(), keyed.end(),
            [](const auto& a, const auto& b) { return a < b; });
  std::vector<std::string> out;
  for (auto& [end, json] : keyed) out.push_back(std::move(json));
  return out;
}

// Each target's state alone, as snapshot bytes: what a merge must give
// back (the order of the targets and keys in the whole is not the point).
std::map<std::string, std::string> PerTarget(const Operator& op) {
  std::map<std::string, std::string> out;
  for (CountryCode t : {kMD, kRO, kUA}) {
    Driver copy;
    Load(copy.op(), Save(op));
    copy.op().RetainTargets([t](CountryCode c) { return c == t; });
    out[t.str()] = Save(copy.op());
  }
  return out;
}

bool MdUa(CountryCode c) { return c == kMD || c == kUA; }
bool Ro(CountryCode c) { return c == kRO; }

// One detector over the whole stream; another is split by target at minute
// `split` into two restored parts, which read their own targets' posts on
// their own until `merge`, are merged back (into a fresh detector, as
// Pipeline::RestoreParts does) and read everything to the end. Together
// they raise the same alerts, and end with the same state per target.
void ExpectSplitAndMergeIsOneRun(int split, int merge) {
  SCOPED_TRACE(absl::StrCat("split at ", split, ", merged at ", merge));
  const Stream s = ThreeTargets();
  Driver whole;
  Feed(whole, s, 0, split, All);
  const size_t before = whole.alerts().size();
  Driver left, right;
  CopyPart(whole, MdUa, left);
  CopyPart(whole, Ro, right);
  EXPECT_EQ(left.op().stats().keys + right.op().stats().keys,
            whole.op().stats().keys);
  Feed(whole, s, split, s.size(), All);
  Feed(left, s, split, merge, MdUa);
  Feed(right, s, split, merge, Ro);
  Driver merged;
  ASSERT_TRUE(merged.op().Absorb(left.op()).ok());
  ASSERT_TRUE(merged.op().Absorb(right.op()).ok());
  Feed(merged, s, merge, s.size(), All);

  std::vector<Alert> parts = left.alerts();
  parts.insert(parts.end(), right.alerts().begin(), right.alerts().end());
  parts.insert(parts.end(), merged.alerts().begin(), merged.alerts().end());
  ASSERT_GT(whole.alerts().size(), before);
  EXPECT_EQ(ByHop(parts), ByHop(whole.alerts(), before));
  const OperatorStats a = whole.op().stats(), b = merged.op().stats();
  EXPECT_EQ(a.keys, b.keys);
  EXPECT_EQ(a.buckets, b.buckets);
  EXPECT_EQ(a.firing, b.firing);
  EXPECT_EQ(a.cap_hits, b.cap_hits);
  EXPECT_EQ(whole.op().LatestScores().size(),
            merged.op().LatestScores().size());
  EXPECT_EQ(PerTarget(whole.op()), PerTarget(merged.op()));
}

TEST(ForeignShareState, SplitByTargetAndMergedBackRaisesTheAlertsOfOneRun) {
  // Inside the #alegeri and RO episodes (firing when split, resolved after
  // the merge), and before them (they open while split, and after).
  ExpectSplitAndMergeIsOneRun(195, 250);
  ExpectSplitAndMergeIsOneRun(120, 185);
  // Split and merged at once.
  ExpectSplitAndMergeIsOneRun(200, 200);
}

TEST(ForeignShareState, APartRaisesTheAlertsOfADetectorFedOnlyItsTargets) {
  const Stream s = ThreeTargets();
  for (const Keep& keep : {Keep(MdUa), Keep(Ro)}) {
    Driver whole, alone;
    Feed(whole, s, 0, 195, All);
    Feed(alone, s, 0, 195, keep);
    const size_t before = alone.alerts().size();
    Driver part;
    CopyPart(whole, keep, part);
    EXPECT_EQ(Save(part.op()), Save(alone.op()));
    Feed(part, s, 195, s.size(), keep);
    Feed(alone, s, 195, s.size(), keep);
    ASSERT_GT(alone.alerts().size(), before);
    ASSERT_EQ(part.alerts().size(), alone.alerts().size() - before);
    for (size_t i = 0; i < part.alerts().size(); ++i) {
      EXPECT_EQ(AlertToJson(part.alerts()[i]),
                AlertToJson(alone.alerts()[before + i]));
    }
    EXPECT_EQ(Save(part.op()), Save(alone.op()));
  }
}

TEST(ForeignShareState, MergeRefusesATargetHeldOnBothSides) {
  const Stream s = ThreeTargets();
  Driver one, two;
  Feed(one, s, 0, 30, All);
  Feed(two, s, 0, 30, Ro);
  const absl::Status st = one.op().Absorb(two.op());
  EXPECT_FALSE(st.ok());
  EXPECT_THAT(std::string(st.message()), HasSubstr("RO"));
}

// A part that went through more hops than the other before the merge: the
// merged detector resumes at the earlier one, and the ahead part's targets
// are neither decayed nor re-ranked again for the hops they went through.
TEST(ForeignShareState, MergingPartsAtDifferentHopsRedoesNoHopOfEither) {
  const Stream s = ThreeTargets();
  Driver whole;
  Feed(whole, s, 0, 150, All);
  const size_t before = whole.alerts().size();
  Driver left, right;
  CopyPart(whole, MdUa, left);
  CopyPart(whole, Ro, right);
  // MD and UA read to minute 200, RO only to 170: the merged detector's
  // watermark is RO's, and MD's and UA's keys wait for their next hop.
  Feed(left, s, 150, 200, MdUa);
  Feed(right, s, 150, 170, Ro);
  Driver merged;
  ASSERT_TRUE(merged.op().Absorb(left.op()).ok());
  ASSERT_TRUE(merged.op().Absorb(right.op()).ok());
  Feed(merged, s, 170, 200, Ro);
  Feed(merged, s, 200, s.size(), All);
  Feed(whole, s, 150, s.size(), All);
  EXPECT_EQ(PerTarget(whole.op()), PerTarget(merged.op()));
  std::vector<Alert> parts = left.alerts();
  parts.insert(parts.end(), right.alerts().begin(), right.alerts().end());
  parts.insert(parts.end(), merged.alerts().begin(), merged.alerts().end());
  const std::vector<Alert> after(whole.alerts().begin() + before,
                                 whole.alerts().end());
  ASSERT_FALSE(after.empty());
  EXPECT_EQ(ByHop(parts), ByHop(after));
}

// Version 1 of the state had no per-target decay hour or last hop
// re-ranked: such a snapshot restores and goes on as the detector it was
// taken from.
std::string AsVersion1(const std::string& v2) {
  SnapshotReader r(v2, 0, "v2");
  SnapshotWriter w;
  for (int i = 0; i < 4; ++i) w.I64(r.I64());  // schedule, decay hour, caps
  const size_t with_hits = r.Count(2);         // cap hits per target (v3)
  for (size_t i = 0; i < with_hits; ++i) {
    (void)r.U32();
    (void)r.I64();
  }
  (void)r.I64();  // last hop re-ranked
  const size_t targets = r.Count(2);
  w.U64(targets);
  for (size_t t = 0; t < targets; ++t) {
    w.U32(r.U32());
    (void)r.I64();  // the target's decay hour
    (void)r.I64();  // and last hop re-ranked
    const size_t entries = r.Count(1);
    w.U64(entries);
    for (size_t e = 0; e < entries; ++e) {
      w.Str(r.Str());
      w.F64(r.F64());
      w.F64(r.F64());
      w.Bool(r.Bool());
    }
  }
  w.Bytes(r.Bytes(r.remaining()));
  EXPECT_TRUE(r.Finish().ok());
  return w.bytes();
}

TEST(ForeignShareState, RestoresAVersion1Snapshot) {
  const Stream s = ThreeTargets();
  Driver whole;
  Feed(whole, s, 0, 195, All);
  const size_t before = whole.alerts().size();
  Driver restored;
  Load(restored.op(), AsVersion1(Save(whole.op())), 1);
  Feed(whole, s, 195, s.size(), All);
  Feed(restored, s, 195, s.size(), All);
  ASSERT_GT(whole.alerts().size(), before);
  ASSERT_EQ(restored.alerts().size(), whole.alerts().size() - before);
  for (size_t i = 0; i < restored.alerts().size(); ++i) {
    EXPECT_EQ(AlertToJson(restored.alerts()[i]),
              AlertToJson(whole.alerts()[before + i]));
  }
  EXPECT_EQ(Save(restored.op()), Save(whole.op()));
}

TEST(NormalizeHashtag, LowerCasesAsciiAndStripsHashes) {
  EXPECT_EQ(NormalizeHashtag("#Alegeri2026"), "alegeri2026");
  EXPECT_EQ(NormalizeHashtag("##VOT"), "vot");
  EXPECT_EQ(NormalizeHashtag("Știri"), "stiri");  // folded like text_fold.h
  EXPECT_EQ(NormalizeHashtag("#"), "");
}

}  // namespace
}  // namespace vigia
