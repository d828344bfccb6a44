#include "operators/new_account_burst.h"

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "operators/testing/operator_test_util.h"

namespace vigia {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;
using ::testing::StartsWith;

constexpr std::string_view kSource = "feed.ndjson";
constexpr std::string_view kHash = "cfg-1234";

// A fixed day for account creation dates in evidence.
const absl::Time kStart = absl::FromUnixSeconds(1'795'000'020 / 60 * 60);

struct Post {
  CountryCode target = kMD;
  std::string account;
  // Age of the account at kStart; infinite = creation time not given.
  absl::Duration age_at_start = absl::InfiniteDuration();
  CountryCode origin = kRU;
  std::vector<std::string> hashtags;
};

class Driver : public OperatorDriver {
 public:
  explicit Driver(NewAccountBurstOptions options = {},
                  std::string config_hash = std::string(kHash))
      : OperatorDriver(
            [&options](const OperatorContext& c) {
              return MakeNewAccountBurst(options, c);
            },
            {.config_hash = std::move(config_hash),
             .source = std::string(kSource),
             .start = kStart}) {}

  // The posts of one minute, spread over it, then the watermark to its end.
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
    if (p.age_at_start != absl::InfiniteDuration()) {
      e.account_created_at = kStart - p.age_at_start;
    }
    e.hashtags = tags;
    Observe(e);
  }
};

constexpr absl::Duration kDay = absl::Hours(24);

// A normal minute for `target`: a few posts by old accounts, some without a
// creation date, and 0 to 2 posts by genuine newcomers.
std::vector<Post> Background(CountryCode target, int minute) {
  std::vector<Post> out;
  for (int i = 0; i < 4 + minute % 3; ++i) {
    out.push_back(Post{target,
                       absl::StrCat("old", (minute + i) % 50),
                       (400 + i) * kDay,
                       CountryCode::FromChars('M', 'D'),
                       {"news"}});
  }
  out.push_back(Post{target, "nodate", absl::InfiniteDuration(), kMD, {}});
  for (int i = 0; i < minute % 3; ++i) {
    out.push_back(
        Post{target, absl::StrCat("newbie", minute % 20), 10 * kDay, kMD, {}});
  }
  return out;
}

// `n` posts from `accounts` accounts of the given age.
std::vector<Post> Burst(CountryCode target, int n, int accounts,
                        absl::Duration age,
                        const std::string& prefix = "sock") {
  std::vector<Post> out;
  for (int i = 0; i < n; ++i) {
    out.push_back(
        Post{target, absl::StrCat(prefix, i % accounts), age, kRU, {"rigged"}});
  }
  return out;
}

std::vector<Post> Concat(std::vector<Post> a, const std::vector<Post>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// Background for `hours`, then `surge_minutes` with a burst of `per_minute`
// posts from 8 accounts aged `age`, then `after` minutes of background.
void RunScenario(Driver& d, int hours, int surge_minutes, int per_minute,
                 absl::Duration age, int after) {
  int minute = 0;
  for (; minute < hours * 60; ++minute) d.Minute(Background(kMD, minute));
  for (int i = 0; i < surge_minutes; ++i, ++minute) {
    d.Minute(Concat(Background(kMD, minute), Burst(kMD, per_minute, 8, age)));
  }
  for (int i = 0; i < after; ++i, ++minute) {
    d.Minute(Background(kMD, minute));
  }
}

TEST(NewAccountBurst, FiresOnABurstOfPostsFromNewAccounts) {
  Driver d;
  RunScenario(d, 3, 10, 20, 3 * kDay, 0);
  ASSERT_FALSE(d.alerts().empty());
  const Alert& first = d.alerts().front();
  EXPECT_EQ(first.detector, "new_account_burst");
  EXPECT_EQ(first.state, AlertState::kFiring);
  EXPECT_EQ(first.target, kMD);
  // Most of the window's new-account posts come from the RU socks.
  EXPECT_EQ(first.origin, kRU);
  EXPECT_EQ(first.window_end - first.window_start, absl::Minutes(10));
  const absl::Time surge_start = d.now() - absl::Minutes(10);
  EXPECT_GT(first.window_end, surge_start);
  EXPECT_LE(first.window_end, surge_start + absl::Minutes(3));
  EXPECT_GE(first.score, first.threshold);
  EXPECT_THAT(first.summary,
              StartsWith("New-account posts aimed at MD (accounts created "
                         "within 30 days): "));
  EXPECT_EQ(first.id, MakeAlertId("new_account_burst", "MD", first.window_end,
                                  first.severity, kHash));
  EXPECT_EQ(d.alerts().back().severity, Severity::kCritical);
}

TEST(NewAccountBurst, StaysQuietWhenTheSameBurstComesFromOldAccounts) {
  Driver d;
  RunScenario(d, 3, 10, 20, 2 * 365 * kDay, 30);
  EXPECT_THAT(d.alerts(), IsEmpty());
}

TEST(NewAccountBurst, PostsWithoutAnAccountCreationDateAreNotNew) {
  Driver d;
  RunScenario(d, 3, 10, 20, absl::InfiniteDuration(), 30);
  EXPECT_THAT(d.alerts(), IsEmpty());
}

TEST(NewAccountBurst, AccountsCreatedAfterTheirPostAreNotNew) {
  Driver d;
  RunScenario(d, 3, 10, 20, -2 * kDay, 30);
  EXPECT_THAT(d.alerts(), IsEmpty());
}

// Background without newcomers, then ten minutes of 20 posts a minute by
// new accounts spread over `accounts` of them; returns the alerts.
std::vector<Alert> BurstFrom(int accounts) {
  Driver d;
  int minute = 0;
  const auto old_only = [](int m) {
    std::vector<Post> posts = Background(kMD, m);
    std::erase_if(posts,
                  [](const Post& p) { return p.age_at_start < 30 * kDay; });
    return posts;
  };
  for (; minute < 3 * 60; ++minute) d.Minute(old_only(minute));
  for (int i = 0; i < 10; ++i, ++minute) {
    d.Minute(Concat(old_only(minute), Burst(kMD, 20, accounts, 3 * kDay)));
  }
  return d.alerts();
}

TEST(NewAccountBurst, OneNewAccountPostingInALoopIsNotABurstOfAccounts) {
  // 200 posts by one fresh account: far above the key's count baseline, but
  // one account, below min_accounts (5).
  EXPECT_THAT(BurstFrom(1), IsEmpty());
  EXPECT_THAT(BurstFrom(4), IsEmpty());
  // The same posts from five accounts page, and the evidence says why.
  const std::vector<Alert> alerts = BurstFrom(5);
  ASSERT_FALSE(alerts.empty());
  const auto& baseline = alerts.front().evidence.baseline;
  const auto find = [&](std::string_view name) {
    for (const auto& [n, v] : baseline) {
      if (n == name) return v;
    }
    return -1.0;
  };
  EXPECT_EQ(find("min_accounts"), 5);
  EXPECT_GE(find("distinct_new_accounts"), 5);
}

TEST(NewAccountBurst, StaysQuietOnAModestRiseOfNewcomers) {
  Driver d;
  int minute = 0;
  for (; minute < 24 * 60; ++minute) d.Minute(Background(kMD, minute));
  // Half as many newcomers again for an hour.
  for (int i = 0; i < 60; ++i, ++minute) {
    std::vector<Post> posts = Background(kMD, minute);
    if (i % 2 == 0) {
      posts.push_back(Post{kMD, absl::StrCat("fresh", i), 5 * kDay, kMD, {}});
    }
    d.Minute(posts);
  }
  EXPECT_THAT(d.alerts(), IsEmpty());
}

TEST(NewAccountBurst, ResolvesAfterTheBurstWithTheFiringId) {
  Driver d;
  // 100 minutes after the burst: past the hold (an hour by default).
  RunScenario(d, 3, 10, 20, 3 * kDay, 100);
  std::map<std::string, std::vector<AlertState>> by_id;
  for (const Alert& a : d.alerts()) by_id[a.id].push_back(a.state);
  ASSERT_FALSE(by_id.empty());
  for (const auto& [id, states] : by_id) {
    EXPECT_THAT(states, ElementsAre(AlertState::kFiring, AlertState::kResolved))
        << id;
  }
  EXPECT_EQ(d.alerts().back().state, AlertState::kResolved);
  EXPECT_THAT(d.alerts().back().summary,
              StartsWith("Resolved: new-account posts aimed at MD"));
  EXPECT_EQ(d.op().stats().firing, 0);
}

TEST(NewAccountBurst, EvidenceNamesTheNewAccountsWithTheirCreationDates) {
  Driver d;
  RunScenario(d, 3, 10, 20, 3 * kDay, 0);
  const Alert& a = d.alerts().back();
  ASSERT_EQ(a.state, AlertState::kFiring);
  const std::string created = absl::StrCat(
      " (created ",
      absl::FormatTime("%Y-%m-%d", kStart - 3 * kDay, absl::UTCTimeZone()),
      ")");
  ASSERT_EQ(a.evidence.top_accounts.size(), 3u);
  for (const Tally& t : a.evidence.top_accounts) {
    EXPECT_THAT(t.value, StartsWith("sock"));
    EXPECT_THAT(t.value, HasSubstr(created));
  }
  ASSERT_EQ(a.evidence.top_hashtags.size(), 1u);
  EXPECT_EQ(a.evidence.top_hashtags[0].value, "rigged");
  ASSERT_EQ(a.evidence.other_tops.size(), 1u);
  EXPECT_EQ(a.evidence.other_tops[0].first, "top_origins");
  ASSERT_FALSE(a.evidence.other_tops[0].second.empty());
  EXPECT_EQ(a.evidence.other_tops[0].second[0].value, "RU");
  ASSERT_EQ(a.evidence.samples.size(), 4u);
  for (const SampleEvent& s : a.evidence.samples) {
    EXPECT_THAT(s.account, StartsWith("sock"));
    EXPECT_EQ(s.source, kSource);
    EXPECT_GT(s.position, 0);
    EXPECT_THAT(s.note, StartsWith("account created "));
  }
  std::map<std::string, double> n(a.evidence.baseline.begin(),
                                  a.evidence.baseline.end());
  EXPECT_NEAR(n["expected"], a.expected, 1e-9);
  // Eight sock accounts plus the genuine newcomers of the last ten minutes.
  EXPECT_GE(n["distinct_new_accounts"], 8);
  EXPECT_LE(n["distinct_new_accounts"], 8 + 10);
  EXPECT_GT(n["all_posts"], a.observed);
  EXPECT_NEAR(n["new_account_share"], a.observed / n["all_posts"], 1e-9);
  EXPECT_GT(n["posts_unknown_account_age"], 0);
  EXPECT_EQ(n["max_account_age_days"], 30);
  EXPECT_THAT(AlertToJson(a), HasSubstr("\"note\":\"account created "));
}

TEST(NewAccountBurst, NamesNoOriginWhenTheNewAccountsComeFromManyCountries) {
  Driver d;
  int minute = 0;
  for (; minute < 3 * 60; ++minute) d.Minute(Background(kMD, minute));
  for (int i = 0; i < 10; ++i, ++minute) {
    std::vector<Post> burst = Burst(kMD, 20, 8, 3 * kDay);
    for (size_t j = 0; j < burst.size(); j += 2) {
      burst[j].origin = CountryCode::FromChars('B', 'Y');
    }
    d.Minute(Concat(Background(kMD, minute), burst));
  }
  ASSERT_FALSE(d.alerts().empty());
  for (const Alert& a : d.alerts()) EXPECT_FALSE(a.origin.known());
}

TEST(NewAccountBurst, ProducesIdenticalAlertsOnIdenticalInput) {
  Driver one, two;
  RunScenario(one, 3, 10, 20, 3 * kDay, 30);
  RunScenario(two, 3, 10, 20, 3 * kDay, 30);
  ASSERT_FALSE(one.alerts().empty());
  ASSERT_EQ(one.alerts().size(), two.alerts().size());
  for (size_t i = 0; i < one.alerts().size(); ++i) {
    EXPECT_EQ(AlertToJson(one.alerts()[i]), AlertToJson(two.alerts()[i]));
  }
}

TEST(NewAccountBurst, AppliesPerTargetAccountAgeAndLadder) {
  // For MD, accounts must be under 2 days old to count: the 3-day-old socks
  // are not new there.
  NewAccountBurstOptions options;
  NewAccountBurstTargetOptions md;
  md.max_account_age = 2 * kDay;
  options.per_target[kMD] = md;
  Driver d(options);
  RunScenario(d, 3, 10, 20, 3 * kDay, 0);
  EXPECT_THAT(d.alerts(), IsEmpty());

  // A stricter ladder for MD: the same burst stays below it.
  NewAccountBurstOptions strict;
  NewAccountBurstTargetOptions md_strict;
  md_strict.scoring.levels = {{Severity::kInfo, 3.0, 2.0, 1000}};
  strict.per_target[kMD] = md_strict;
  Driver e(strict);
  RunScenario(e, 3, 10, 20, 3 * kDay, 0);
  EXPECT_THAT(e.alerts(), IsEmpty());
}

TEST(NewAccountBurst, RefusesTargetsBeyondTheCapAndCountsThem) {
  NewAccountBurstOptions options;
  options.max_keys = 1;
  Driver d(options);
  for (int minute = 0; minute < 10; ++minute) {
    d.Minute(Concat(Background(kMD, minute), Background(kRO, minute)));
  }
  EXPECT_EQ(d.op().stats().keys, 1);
  EXPECT_GT(d.op().stats().cap_hits, 0);
}

TEST(NewAccountBurst, WatchesOnlyTheConfiguredTargets) {
  NewAccountBurstOptions options;
  options.targets = {kRO};
  Driver d(options);
  RunScenario(d, 3, 10, 20, 3 * kDay, 0);
  EXPECT_THAT(d.alerts(), IsEmpty());
  EXPECT_EQ(d.op().stats().keys, 0);
}

}  // namespace
}  // namespace vigia
