#include "operators/foreign_origin_surge.h"

#include <algorithm>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "operators/snapshot.h"
#include "operators/testing/operator_test_util.h"

namespace vigia {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::StartsWith;

constexpr std::string_view kSource = "feed.ndjson";
constexpr std::string_view kHash = "cfg-1234";

// A post as the test writes it; turned into a (viewing) Event for Observe.
struct Post {
  FeedKind kind = FeedKind::kPost;
  CountryCode target;
  CountryCode origin;  // the account's country (the payer's for an ad)
  std::string account;
  std::vector<std::string> urls;
  std::vector<std::string> hashtags;
};

// Drives the detector minute by minute: the posts of each minute, spread
// over it, then the watermark to the minute's end.
class Driver : public OperatorDriver {
 public:
  explicit Driver(ForeignOriginSurgeOptions options = {},
                  std::string config_hash = std::string(kHash))
      : OperatorDriver(
            [&options](const OperatorContext& c) {
              return MakeForeignOriginSurge(options, c);
            },
            {.config_hash = std::move(config_hash),
             .source = std::string(kSource)}) {}

  void Minute(const std::vector<Post>& posts) {
    Step(absl::Minutes(1), posts,
         [this](const Post& p, absl::Time t) { Send(p, t); });
  }

  void Send(const Post& p, absl::Time t) {
    const std::vector<std::string_view> urls = Views(p.urls);
    const std::vector<std::string_view> tags = Views(p.hashtags);
    Event e;
    e.kind = p.kind;
    e.created_at = t;
    e.target = p.target;
    if (p.kind == FeedKind::kPost) {
      e.account_id = p.account;
      e.account_country = p.origin;
    } else {
      e.page_id = p.account;
      e.payer_country = p.origin;
    }
    e.urls = urls;
    e.hashtags = tags;
    Observe(e);
  }
};

std::vector<Post> Repeat(const Post& p, int n) {
  return std::vector<Post>(static_cast<size_t>(n), p);
}

std::vector<Post> Concat(std::vector<Post> a, const std::vector<Post>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

Post Background(CountryCode target, CountryCode origin, int i) {
  return Post{FeedKind::kPost,
              target,
              origin,
              absl::StrCat("bg", i % 40),
              {absl::StrCat("https://news.test/", i % 7)},
              {"news"}};
}

Post Sock(CountryCode target, CountryCode origin, int i) {
  return Post{FeedKind::kPost,
              target,
              origin,
              absl::StrCat("sock", i % 5),
              {"https://disinfo.test/rigged"},
              {"rigged", "stopthevote"}};
}

// About three posts a minute for the key, deterministic: 2, 3, 4, 2, ...
std::vector<Post> BackgroundMinute(CountryCode target, CountryCode origin,
                                   int minute) {
  std::vector<Post> out;
  for (int i = 0; i < 2 + minute % 3; ++i) {
    out.push_back(Background(target, origin, minute * 4 + i));
  }
  return out;
}

std::vector<Alert> For(const std::vector<Alert>& alerts, CountryCode target,
                       CountryCode origin) {
  std::vector<Alert> out;
  for (const Alert& a : alerts) {
    if (a.target == target && a.origin == origin) out.push_back(a);
  }
  return out;
}

// Background on MD|RU, MD|BY and RO|RU for `hours`, then `surge_minutes`
// of `surge_per_minute` extra sock-puppet posts on MD|RU, then
// `after_minutes` of background only.
void RunScenario(Driver& d, int hours, int surge_minutes, int surge_per_minute,
                 int after_minutes) {
  int minute = 0;
  auto background = [&] {
    return Concat(Concat(BackgroundMinute(kMD, kRU, minute),
                         BackgroundMinute(kMD, kBY, minute + 1)),
                  BackgroundMinute(kRO, kRU, minute + 2));
  };
  for (; minute < hours * 60; ++minute) d.Minute(background());
  for (int i = 0; i < surge_minutes; ++i, ++minute) {
    std::vector<Post> socks;
    for (int j = 0; j < surge_per_minute; ++j)
      socks.push_back(Sock(kMD, kRU, j));
    d.Minute(Concat(background(), socks));
  }
  for (int i = 0; i < after_minutes; ++i, ++minute) d.Minute(background());
}

TEST(ForeignOriginSurge, FiresOnASurgeForTheRightKeyOnly) {
  Driver d;
  RunScenario(d, /*hours=*/4, /*surge_minutes=*/10, /*surge_per_minute=*/20,
              /*after_minutes=*/0);
  ASSERT_FALSE(d.alerts().empty());
  for (const Alert& a : d.alerts()) {
    EXPECT_EQ(a.target, kMD);
    EXPECT_EQ(a.origin, kRU);
  }
  const Alert& first = d.alerts().front();
  EXPECT_EQ(first.detector, "foreign_origin_surge");
  EXPECT_EQ(first.state, AlertState::kFiring);
  EXPECT_EQ(first.config_hash, kHash);
  EXPECT_EQ(first.window_end - first.window_start, absl::Minutes(10));
  // It fired within the surge's first minutes, not before.
  const absl::Time surge_start = d.now() - absl::Minutes(10);
  EXPECT_GT(first.window_end, surge_start);
  EXPECT_LE(first.window_end, surge_start + absl::Minutes(3));
  EXPECT_GT(first.observed, first.expected);
  EXPECT_DOUBLE_EQ(first.ratio, (first.observed + 1) / (first.expected + 1));
  EXPECT_GE(first.score, first.threshold);
  EXPECT_THAT(first.summary,
              StartsWith("Foreign-origin posts aimed at MD from RU: "));
  EXPECT_THAT(first.summary, HasSubstr(" in 10 min vs "));
  // By the end of the surge it is at least a warning.
  EXPECT_GE(d.alerts().back().severity, Severity::kWarning);
  EXPECT_EQ(d.op().stats().firing, 1);
}

TEST(ForeignOriginSurge, IgnoresDomesticPostsAndAds) {
  Driver d;
  int minute = 0;
  for (; minute < 4 * 60; ++minute)
    d.Minute(BackgroundMinute(kMD, kRU, minute));
  for (int i = 0; i < 15; ++i, ++minute) {
    std::vector<Post> posts = BackgroundMinute(kMD, kRU, minute);
    for (int j = 0; j < 30; ++j) {
      // Domestic posts and foreign-paid ads aimed at MD.
      posts.push_back(Post{FeedKind::kPost, kMD, kMD, "local", {}, {}});
      posts.push_back(Post{FeedKind::kAd, kMD, kRU, "page", {}, {}});
      // Posts with an unknown origin are not foreign either.
      posts.push_back(
          Post{FeedKind::kPost, kMD, CountryCode(), "anon", {}, {}});
    }
    d.Minute(posts);
  }
  EXPECT_TRUE(d.alerts().empty());
  EXPECT_EQ(d.op().stats().keys, 1);  // MD|RU only
}

TEST(ForeignOriginSurge, ResolvesWhenTheSurgeEndsWithTheFiringId) {
  Driver d;
  // Long enough after the surge for the hold (an hour by default) to pass.
  RunScenario(d, 4, 10, 20, /*after_minutes=*/100);
  const std::vector<Alert>& alerts = d.alerts();
  ASSERT_GE(alerts.size(), 2u);
  // Every firing record is ended by exactly one resolved record with its id,
  // and the last record is a resolution.
  std::map<std::string, std::vector<AlertState>> by_id;
  for (const Alert& a : alerts) by_id[a.id].push_back(a.state);
  for (const auto& [id, states] : by_id) {
    EXPECT_THAT(states, ElementsAre(AlertState::kFiring, AlertState::kResolved))
        << id;
  }
  const Alert& last = alerts.back();
  EXPECT_EQ(last.state, AlertState::kResolved);
  EXPECT_THAT(last.summary,
              StartsWith("Resolved: foreign-origin posts aimed at MD from RU: "
                         "back to "));
  // Resolution came once the surge had left the window and the hold had
  // passed, not much later.
  const absl::Time surge_end = d.now() - absl::Minutes(100);
  const absl::Duration hold = ScoringOptions().hold;
  EXPECT_GT(last.window_end, surge_end + hold);
  EXPECT_LE(last.window_end, surge_end + hold + absl::Minutes(10));
  EXPECT_EQ(d.op().stats().firing, 0);
}

TEST(ForeignOriginSurge, EscalatesByResolvingTheLowerAlertAndFiringTheHigher) {
  Driver d;
  RunScenario(d, 4, 10, /*surge_per_minute=*/30, 100);
  const std::vector<Alert>& a = d.alerts();
  // The window fills hop by hop, so the ladder is climbed rung by rung.
  ASSERT_EQ(a.size(), 6u);
  EXPECT_THAT(
      SeverityStates(a),
      ElementsAre(std::pair(Severity::kInfo, AlertState::kFiring),
                  std::pair(Severity::kInfo, AlertState::kResolved),
                  std::pair(Severity::kWarning, AlertState::kFiring),
                  std::pair(Severity::kWarning, AlertState::kResolved),
                  std::pair(Severity::kCritical, AlertState::kFiring),
                  std::pair(Severity::kCritical, AlertState::kResolved)));
  // A superseded record is emitted with its successor, for the same window.
  EXPECT_EQ(a[1].window_end, a[2].window_end);
  EXPECT_THAT(a[1].summary, StartsWith("Superseded by warning: "));
  EXPECT_THAT(a[3].summary, StartsWith("Superseded by critical: "));
  // Ids are per severity within one episode, which starts at the first
  // firing window's end.
  const absl::Time episode = a[0].window_end;
  EXPECT_EQ(a[0].id, MakeAlertId("foreign_origin_surge", "MD|RU", episode,
                                 Severity::kInfo, kHash));
  EXPECT_EQ(a[2].id, MakeAlertId("foreign_origin_surge", "MD|RU", episode,
                                 Severity::kWarning, kHash));
  EXPECT_EQ(a[4].id, MakeAlertId("foreign_origin_surge", "MD|RU", episode,
                                 Severity::kCritical, kHash));
  EXPECT_EQ(a[1].id, a[0].id);
  EXPECT_EQ(a[3].id, a[2].id);
  EXPECT_EQ(a[5].id, a[4].id);
  // The threshold is that of the record's own severity.
  EXPECT_EQ(a[0].threshold, 3.0);
  EXPECT_EQ(a[2].threshold, 5.0);
  EXPECT_EQ(a[4].threshold, 8.0);
}

TEST(ForeignOriginSurge, ProducesIdenticalAlertsOnIdenticalInput) {
  Driver one, two;
  RunScenario(one, 4, 10, 30, 30);
  RunScenario(two, 4, 10, 30, 30);
  ASSERT_FALSE(one.alerts().empty());
  ASSERT_EQ(one.alerts().size(), two.alerts().size());
  for (size_t i = 0; i < one.alerts().size(); ++i) {
    EXPECT_EQ(AlertToJson(one.alerts()[i]), AlertToJson(two.alerts()[i]));
  }
  // A different configuration gives different ids for the same episode.
  Driver other({}, "cfg-other");
  RunScenario(other, 4, 10, 30, 30);
  ASSERT_EQ(other.alerts().size(), one.alerts().size());
  EXPECT_NE(other.alerts()[0].id, one.alerts()[0].id);
}

TEST(ForeignOriginSurge, EvidenceNamesTheSurgeAndPointsAtItsBytes) {
  Driver d;
  RunScenario(d, 4, 10, 20, 0);
  const Alert& a = d.alerts().back();
  ASSERT_EQ(a.state, AlertState::kFiring);
  const Evidence& ev = a.evidence;
  ASSERT_EQ(ev.top_accounts.size(), 3u);
  for (const Tally& t : ev.top_accounts) {
    EXPECT_THAT(t.value, StartsWith("sock"));
    EXPECT_GE(t.count, 20);
    EXPECT_GE(t.count - t.error, 1);
  }
  // Twenty sock posts in every surge minute the window covers, each with
  // the URL and both hashtags.
  const absl::Time surge_start = d.now() - absl::Minutes(10);
  const int64_t surge_posts =
      20 * ((a.window_end - std::max(a.window_start, surge_start)) /
            absl::Minutes(1));
  ASSERT_FALSE(ev.top_urls.empty());
  EXPECT_EQ(ev.top_urls[0].value, "https://disinfo.test/rigged");
  EXPECT_EQ(ev.top_urls[0].count, surge_posts);
  EXPECT_EQ(ev.top_urls[0].error, 0);
  ASSERT_GE(ev.top_hashtags.size(), 2u);
  EXPECT_EQ(ev.top_hashtags[0].value, "rigged");
  EXPECT_EQ(ev.top_hashtags[1].value, "stopthevote");
  EXPECT_EQ(ev.top_hashtags[0].count, surge_posts);
  ASSERT_EQ(ev.samples.size(), 4u);
  for (const SampleEvent& s : ev.samples) {
    EXPECT_THAT(s.account, StartsWith("sock"));
    EXPECT_EQ(s.source, kSource);
    EXPECT_EQ(s.partition, -1);
    EXPECT_GT(s.position, 0);
    EXPECT_EQ(s.id, absl::StrCat("e", s.position));
    EXPECT_GE(s.created_at, a.window_start);
    EXPECT_LT(s.created_at, a.window_end);
  }
  std::map<std::string, double> baseline(ev.baseline.begin(),
                                         ev.baseline.end());
  EXPECT_NEAR(baseline["expected"], a.expected, 1e-9);
  EXPECT_NEAR(baseline["level_per_hop"] * baseline["time_of_day_factor"], 3.0,
              0.3);
  EXPECT_EQ(baseline["window_hops"], 10);
  EXPECT_GT(baseline["history_hours"], 4.0);
  // The calibrated rate behind the severity: the firing window is rarer
  // than the rung's interval (a day for info) on this pair's own history.
  ASSERT_TRUE(baseline.count("surprise"));
  ASSERT_TRUE(baseline.count("chance_interval_hours"));
  EXPECT_GT(baseline["surprise"], 0);
  EXPECT_GE(baseline["chance_interval_hours"], 24);
  EXPECT_EQ(baseline["held_by_hold"], 0);
  // The whole alert serialises.
  EXPECT_THAT(AlertToJson(a), HasSubstr("\"file\":\"feed.ndjson\""));
}

TEST(ForeignOriginSurge, EvaluatesQuietKeysAsZerosAndResolvesThem) {
  Driver d;
  int minute = 0;
  for (; minute < 4 * 60; ++minute) {
    d.Minute(Concat(BackgroundMinute(kMD, kRU, minute),
                    BackgroundMinute(kRO, kBY, minute)));
  }
  for (int i = 0; i < 10; ++i, ++minute) {
    d.Minute(Concat(BackgroundMinute(kRO, kBY, minute),
                    Repeat(Sock(kMD, kRU, i), 25)));
  }
  ASSERT_FALSE(For(d.alerts(), kMD, kRU).empty());
  // MD|RU goes completely silent; only RO|BY keeps the clock moving.
  const absl::Time silence = d.now();
  // Silent for longer than the hold (an hour by default).
  for (int i = 0; i < 90; ++i, ++minute)
    d.Minute(BackgroundMinute(kRO, kBY, minute));
  const std::vector<Alert> md = For(d.alerts(), kMD, kRU);
  EXPECT_EQ(md.back().state, AlertState::kResolved);
  // Resolved on a window that ends in the silence: hops without events were
  // evaluated, as zeros.
  EXPECT_GT(md.back().window_end, silence);
  EXPECT_LT(md.back().observed, 30);
  EXPECT_EQ(d.op().stats().firing, 0);
  EXPECT_EQ(d.op().stats().keys, 2);
}

TEST(ForeignOriginSurge, ForgetsKeysIdleForMoreThanADay) {
  Driver d;
  int minute = 0;
  for (; minute < 2 * 60; ++minute) {
    d.Minute(Concat(BackgroundMinute(kMD, kRU, minute),
                    BackgroundMinute(kRO, kBY, minute)));
  }
  EXPECT_EQ(d.op().stats().keys, 2);
  const int64_t buckets = d.op().stats().buckets;
  EXPECT_GT(buckets, 0);
  for (int i = 0; i < 25 * 60; ++i, ++minute) {
    d.Minute(BackgroundMinute(kRO, kBY, minute));
  }
  EXPECT_EQ(d.op().stats().keys, 1);
  EXPECT_LT(d.op().stats().buckets, buckets);
  EXPECT_EQ(d.op().stats().cap_hits, 0);
}

TEST(ForeignOriginSurge, RefusesKeysBeyondTheCapAndCountsThem) {
  ForeignOriginSurgeOptions options;
  options.max_keys = 2;
  Driver d(options);
  int minute = 0;
  for (; minute < 4 * 60; ++minute) {
    d.Minute(Concat(Concat(BackgroundMinute(kMD, kRU, minute),
                           BackgroundMinute(kMD, kBY, minute)),
                    BackgroundMinute(kRO, kRU, minute)));
  }
  const OperatorStats s = d.op().stats();
  EXPECT_EQ(s.keys, 2);
  EXPECT_GT(s.cap_hits, 0);
  // The refused key is not watched: its surge raises nothing.
  for (int i = 0; i < 10; ++i, ++minute) {
    d.Minute(Concat(BackgroundMinute(kMD, kRU, minute),
                    Repeat(Sock(kRO, kRU, i), 30)));
  }
  EXPECT_TRUE(For(d.alerts(), kRO, kRU).empty());
  EXPECT_GT(d.op().stats().cap_hits, s.cap_hits);
}

TEST(ForeignOriginSurge, WatchesOnlyTheConfiguredTargets) {
  ForeignOriginSurgeOptions options;
  options.targets = {kMD};
  Driver d(options);
  int minute = 0;
  for (; minute < 4 * 60; ++minute) {
    d.Minute(Concat(BackgroundMinute(kMD, kRU, minute),
                    BackgroundMinute(kRO, kRU, minute)));
  }
  EXPECT_EQ(d.op().stats().keys, 1);
  for (int i = 0; i < 10; ++i, ++minute) {
    d.Minute(Concat(Concat(BackgroundMinute(kMD, kRU, minute),
                           Repeat(Sock(kRO, kRU, i), 30)),
                    Repeat(Sock(kMD, kRU, i), 30)));
  }
  EXPECT_TRUE(For(d.alerts(), kRO, kRU).empty());
  EXPECT_FALSE(For(d.alerts(), kMD, kRU).empty());
}

TEST(ForeignOriginSurge, StaysQuietDuringWarmupAndOnAModestRise) {
  Driver d;
  int minute = 0;
  // A brand-new key surging in its first half hour is not judged yet.
  for (; minute < 30; ++minute) d.Minute(BackgroundMinute(kMD, kRU, minute));
  for (int i = 0; i < 10; ++i, ++minute) {
    d.Minute(Concat(BackgroundMinute(kMD, kRU, minute),
                    Repeat(Sock(kMD, kRU, i), 20)));
  }
  EXPECT_TRUE(d.alerts().empty());
  for (; minute < 24 * 60; ++minute)
    d.Minute(BackgroundMinute(kMD, kRU, minute));
  // Half as much again for an hour: organic, no alert.
  for (int i = 0; i < 60; ++i, ++minute) {
    std::vector<Post> posts = BackgroundMinute(kMD, kRU, minute);
    const size_t extra = (posts.size() + (i % 2)) / 2;
    for (size_t j = 0; j < extra; ++j) {
      posts.push_back(Background(kMD, kRU, static_cast<int>(j)));
    }
    d.Minute(posts);
  }
  EXPECT_TRUE(d.alerts().empty());
}

TEST(ForeignOriginSurge, CountsLateEventsInTheWindowsStillToCome) {
  Driver d;
  int minute = 0;
  for (; minute < 4 * 60; ++minute)
    d.Minute(BackgroundMinute(kMD, kRU, minute));
  // 60 sock posts stamped in the minute that the watermark just closed: too
  // late for that hop's own window, not for the next ones.
  const absl::Time closed = d.now() - absl::Seconds(30);
  for (int j = 0; j < 60; ++j) d.Send(Sock(kMD, kRU, j), closed);
  ++minute;
  d.Minute(BackgroundMinute(kMD, kRU, minute));
  ASSERT_FALSE(d.alerts().empty());
  EXPECT_GE(d.alerts()[0].observed, 60);
}

TEST(ForeignOriginSurge, IgnoresEventsOlderThanEveryWindowStillToCome) {
  Driver d;
  int minute = 0;
  for (; minute < 4 * 60; ++minute)
    d.Minute(BackgroundMinute(kMD, kRU, minute));
  for (int j = 0; j < 100; ++j) {
    d.Send(Sock(kMD, kRU, j), d.now() - absl::Hours(2));
  }
  for (int i = 0; i < 10; ++i, ++minute) {
    d.Minute(BackgroundMinute(kMD, kRU, minute));
  }
  EXPECT_TRUE(d.alerts().empty());
  EXPECT_EQ(d.op().stats().cap_hits, 0);  // late, not refused by a cap
}

// Two sources ahead of the watermark (Kafka partitions read a backlog at a
// time): MD|RU's background on one, its surge on the other. Whichever is
// read first, the alerts are those of the events in time order.
TEST(ForeignOriginSurge, AKeyFirstSeenAheadStillCountsItsOlderEvents) {
  struct Timed {
    Post post;
    absl::Time t;
  };
  std::vector<Timed> background, surge;
  const absl::Time start = Driver().now();
  for (int minute = 0; minute < 4 * 60 + 30; ++minute) {
    const absl::Time t = start + absl::Minutes(minute);
    for (const Post& p : BackgroundMinute(kMD, kRU, minute)) {
      background.push_back({p, t + absl::Seconds(10)});
    }
    if (minute >= 4 * 60 && minute < 4 * 60 + 10) {
      for (int j = 0; j < 30; ++j) {
        surge.push_back({Sock(kMD, kRU, j), t + absl::Seconds(1 + j)});
      }
    }
  }
  const absl::Time end = start + absl::Minutes(4 * 60 + 30);
  auto run = [&](bool surge_first) {
    Driver d;
    const std::vector<Timed>& a = surge_first ? surge : background;
    const std::vector<Timed>& b = surge_first ? background : surge;
    for (const Timed& x : a) d.Send(x.post, x.t);
    for (const Timed& x : b) d.Send(x.post, x.t);
    d.Watermark(end);
    EXPECT_EQ(d.op().stats().cap_hits, 0);
    return AlertOutcomes(d.alerts());
  };
  const std::vector<std::string> in_order = run(false);
  ASSERT_FALSE(in_order.empty());
  EXPECT_EQ(run(true), in_order);
}

// After Absorb the merged schedule resumes at the earlier state's hop, so a
// key merged from the state ahead waits with its next hop past it. It was
// evaluated: an event older than its window is late for it, and does not
// move its window back (which would evaluate its hops a second time).
TEST(ForeignOriginSurge, AnEvaluatedKeyMergedAheadDoesNotStartEarlier) {
  auto merged = [](bool with_old_event) {
    auto ahead = std::make_unique<Driver>();
    Driver behind;
    for (int m = 0; m < 120; ++m) {
      ahead->Minute(BackgroundMinute(kMD, kRU, m));
      if (m < 60) behind.Minute(BackgroundMinute(kMD, kBY, m));
    }
    EXPECT_TRUE(behind.op().Absorb(ahead->op()).ok());
    if (with_old_event) {
      behind.Send(Background(kMD, kRU, 0), behind.now() + absl::Minutes(10));
    }
    SnapshotWriter w;
    behind.op().SaveState(w);
    return w.bytes();
  };
  EXPECT_EQ(merged(true), merged(false));
}

TEST(ForeignOriginSurge, RefusesEventsTooFarAheadOfTheWatermark) {
  Driver d;
  int minute = 0;
  for (; minute < 60; ++minute) d.Minute(BackgroundMinute(kMD, kRU, minute));
  d.Send(Sock(kMD, kRU, 0), d.now() + absl::Hours(7));
  EXPECT_EQ(d.op().stats().cap_hits, 1);
  d.Send(Sock(kMD, kRU, 0), d.now() + absl::Hours(5));
  EXPECT_EQ(d.op().stats().cap_hits, 1);
}

}  // namespace
}  // namespace vigia
