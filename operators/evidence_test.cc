#include "operators/evidence.h"

#include <cstdio>
#include <limits>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "operators/snapshot.h"

namespace vigia {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;

auto IsTally(const std::string& value, int64_t count, int64_t error) {
  return AllOf(Field(&Tally::value, value), Field(&Tally::count, count),
               Field(&Tally::error, error));
}

TEST(TopK, CountsExactlyWhileThereIsRoom) {
  TopK k(4);
  for (const char* v : {"b", "a", "b", "c", "b", "a"}) k.Add(v);
  EXPECT_FALSE(k.full());
  EXPECT_THAT(k.Top(5), ElementsAre(IsTally("b", 3, 0), IsTally("a", 2, 0),
                                    IsTally("c", 1, 0)));
}

TEST(TopK, BreaksCountTiesByValue) {
  TopK k(4);
  for (const char* v : {"z", "y", "x"}) k.Add(v);
  EXPECT_THAT(k.Top(2), ElementsAre(IsTally("x", 1, 0), IsTally("y", 1, 0)));
}

// Values share one buffer, and a replaced value's bytes are reclaimed by
// compaction: the survivors must read the same after many replacements.
TEST(TopK, KeepsValuesIntactAcrossManyReplacements) {
  TopK k(2);
  for (int i = 0; i < 1000; ++i) k.Add("keep");
  std::string last;
  for (int i = 0; i < 500; ++i) {
    last = absl::StrCat(std::string(100, 'v'), i);
    k.Add(last);
  }
  // Each newcomer takes over the other entry and inherits its count.
  EXPECT_THAT(k.Top(2),
              ElementsAre(IsTally("keep", 1000, 0), IsTally(last, 500, 499)));
}

TEST(TopK, KeepsHeavyHittersWithBoundedErrorWhenFull) {
  const uint64_t seed = 3;
  SCOPED_TRACE(testing::Message() << "seed " << seed);
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int> noise(0, 499);
  TopK k(10);
  std::map<std::string, int64_t> truth;
  for (int i = 0; i < 5000; ++i) {
    // One heavy hitter (~20%), one medium (~10%), the rest spread thin.
    const int r = i % 10;
    const std::string v = r < 2    ? "heavy"
                          : r == 2 ? "medium"
                                   : absl::StrCat("u", noise(rng));
    ++truth[v];
    k.Add(v);
  }
  EXPECT_TRUE(k.full());
  const std::vector<Tally> top = k.Top(2);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].value, "heavy");
  EXPECT_EQ(top[1].value, "medium");
  for (const Tally& t : top) {
    // The count is an upper bound and the error bounds the overcount.
    EXPECT_GE(t.count, truth[t.value]);
    EXPECT_LE(t.count - t.error, truth[t.value]);
    EXPECT_LE(t.error, 5000 / 10);
  }
}

TEST(MergeTop, AddsPartsAndBoundsValuesAFullPartDropped) {
  TopK a(2), b(2);
  for (const char* v : {"x", "x", "x", "y", "y"}) a.Add(v);
  // b sees x once, but is full of others when it does: x may be evicted.
  for (const char* v : {"p", "p", "q", "q", "q", "x"}) b.Add(v);
  ASSERT_TRUE(b.full());
  const TopK* parts[] = {&a, &b};
  const std::vector<Tally> top = MergeTop(parts, 10);
  std::map<std::string, Tally> by;
  for (const Tally& t : top) by[t.value] = t;
  // x: exactly 3 in a; in b it is either kept (with its error) or bounded
  // by b's smallest count. Either way the truth (4) lies in [count-error,
  // count].
  ASSERT_TRUE(by.count("x"));
  EXPECT_GE(by["x"].count, 4);
  EXPECT_LE(by["x"].count - by["x"].error, 4);
  // y was never in b, which is full: its bound includes b's smallest count.
  ASSERT_TRUE(by.count("y"));
  EXPECT_EQ(by["y"].count, 2 + b.min_count());
  EXPECT_EQ(by["y"].error, b.min_count());
  EXPECT_EQ(top[0].value, by["x"].count >= by["q"].count ? "x" : "q");
}

TEST(MergeTop, IsExactWhenNoPartIsFull) {
  TopK a(8), b(8);
  for (const char* v : {"x", "y"}) a.Add(v);
  for (const char* v : {"x", "z", "x"}) b.Add(v);
  const TopK* parts[] = {&a, nullptr, &b};
  EXPECT_THAT(MergeTop(parts, 2),
              ElementsAre(IsTally("x", 3, 0), IsTally("y", 1, 0)));
}

Event Post(std::string_view id, std::string_view account, int64_t second,
           std::span<const std::string_view> urls,
           std::span<const std::string_view> tags, int64_t line) {
  Event e;
  e.kind = FeedKind::kPost;
  e.id = id;
  e.account_id = account;
  e.created_at = absl::FromUnixSeconds(second);
  e.urls = urls;
  e.hashtags = tags;
  e.source.source = "posts.ndjson";
  e.source.position = line;
  return e;
}

TEST(BucketEvidence, CopiesWhatItKeepsOutOfTheEvent) {
  BucketEvidence b(EvidenceLimits{4, 2});
  {
    std::string id = "p1", account = "acct", url = "https://x.test/a",
                tag = "vote";
    const std::string_view urls[] = {url};
    const std::string_view tags[] = {tag};
    b.Add(Post(id, account, 100, urls, tags, 7));
    // Overwrite the buffers the event viewed, as the decoder would.
    id.assign("XX");
    account.assign("XXXX");
    url.assign(url.size(), 'X');
    tag.assign("XXXX");
  }
  EXPECT_THAT(b.accounts().Top(1), ElementsAre(IsTally("acct", 1, 0)));
  EXPECT_THAT(b.urls().Top(1), ElementsAre(IsTally("https://x.test/a", 1, 0)));
  EXPECT_THAT(b.hashtags().Top(1), ElementsAre(IsTally("vote", 1, 0)));
  ASSERT_EQ(b.samples().size(), 1u);
  EXPECT_EQ(b.samples()[0].id(), "p1");
  EXPECT_EQ(b.samples()[0].account(), "acct");
  EXPECT_EQ(b.samples()[0].position, 7);
}

TEST(BucketEvidence, KeepsAtMostMaxSamples) {
  BucketEvidence b(EvidenceLimits{4, 2});
  for (int i = 0; i < 5; ++i) {
    b.Add(Post(absl::StrCat("p", i), "a", 100 + i, {}, {}, i + 1));
  }
  ASSERT_EQ(b.samples().size(), 2u);
  EXPECT_EQ(b.samples()[0].id(), "p0");
  EXPECT_EQ(b.samples()[1].id(), "p1");
}

TEST(MergeEvidence, PrefersSamplesOfTopAccountsAndListsThemByTime) {
  BucketEvidence early(EvidenceLimits{8, 10}), late(EvidenceLimits{8, 10});
  early.Add(Post("bg1", "background", 10, {}, {}, 1));
  early.Add(Post("s1", "sock", 20, {}, {}, 2));
  late.Add(Post("s2", "sock", 70, {}, {}, 3));
  late.Add(Post("s3", "sock", 65, {}, {}, 4));
  late.Add(Post("bg2", "background2", 60, {}, {}, 5));
  const BucketEvidence* buckets[] = {&early, nullptr, &late};
  const Evidence ev = MergeEvidence(buckets, /*top_n=*/1, /*max_samples=*/3);
  EXPECT_THAT(ev.top_accounts, ElementsAre(IsTally("sock", 3, 0)));
  ASSERT_EQ(ev.samples.size(), 3u);
  EXPECT_EQ(ev.samples[0].id, "s1");
  EXPECT_EQ(ev.samples[1].id, "s3");
  EXPECT_EQ(ev.samples[2].id, "s2");
  EXPECT_EQ(ev.samples[2].source, "posts.ndjson");
  EXPECT_EQ(ev.samples[2].position, 3);
  EXPECT_EQ(ev.samples[2].created_at, absl::FromUnixSeconds(70));
  EXPECT_TRUE(ev.baseline.empty());
}

Event Follower(std::string_view account, int64_t followers) {
  Event e = Post("p", account, 100, {}, {}, 1);
  e.followers = followers;
  return e;
}

Event Ad(double lower, double upper) {
  Event e;
  e.kind = FeedKind::kAd;
  e.id = "ad";
  e.page_id = "page";
  e.impressions = Range{lower, upper};
  return e;
}

TEST(ReachSketch, SumsFollowersOfDistinctAccountsAndCountsWhatItCannot) {
  BucketEvidence b(EvidenceLimits{4, 2});
  b.Add(Follower("a", 100));
  b.Add(Follower("a", 150));  // the same account, counted later: its largest
  b.Add(Follower("b", 7));
  b.Add(Follower("c", -1));  // no follower count reported
  Event repost = Follower("d", 0);
  repost.repost_of = "p-1";
  b.Add(repost);
  Event popular = Follower("b", 5);
  popular.reposts = 40;
  b.Add(popular);
  b.Add(Ad(1000, 1999));
  b.Add(Ad(500, 999));
  b.Add(Ad(std::numeric_limits<double>::quiet_NaN(),
           std::numeric_limits<double>::quiet_NaN()));
  const BucketEvidence* buckets[] = {&b};
  const Evidence ev = MergeEvidence(buckets, 4, 2);
  ASSERT_TRUE(ev.reach.has_value());
  const Reach& r = *ev.reach;
  EXPECT_EQ(r.accounts, 3);  // a, b and d (0 followers is a count)
  EXPECT_EQ(r.followers, 150 + 7);
  EXPECT_FALSE(r.estimated);
  EXPECT_EQ(r.posts_without_followers, 1);
  EXPECT_EQ(r.reposts, 1);
  EXPECT_EQ(r.reported_reposts, 40);
  EXPECT_EQ(r.ads_with_impressions, 2);
  EXPECT_EQ(r.impressions_lower, 1500);
  EXPECT_EQ(r.impressions_upper, 2998);
  EXPECT_EQ(r.ads_without_impressions, 1);
}

TEST(ReachSketch, CountsAnAccountInSeveralBucketsOnce) {
  BucketEvidence early(EvidenceLimits{4, 2}), late(EvidenceLimits{4, 2});
  early.Add(Follower("a", 1000));
  late.Add(Follower("a", 1200));
  late.Add(Follower("b", 10));
  const BucketEvidence* buckets[] = {&early, nullptr, &late};
  const Reach r = *MergeEvidence(buckets, 4, 2).reach;
  EXPECT_EQ(r.accounts, 2);
  EXPECT_EQ(r.followers, 1210);
}

TEST(ReachSketch, EstimatesBeyondItsExactRangeWithinItsError) {
  // 20,000 accounts with 1 to 1,000 followers each, spread over 12
  // buckets, every account posting in two of them.
  std::vector<BucketEvidence> buckets(12, BucketEvidence(EvidenceLimits{4, 2}));
  int64_t truth = 0;
  for (int i = 0; i < 20000; ++i) {
    const std::string account = absl::StrCat("acct-", i);
    const int64_t followers = 1 + (i * 7919) % 1000;
    truth += followers;
    buckets[i % 12].Add(Follower(account, followers));
    buckets[(i + 5) % 12].Add(Follower(account, followers));
  }
  std::vector<const BucketEvidence*> parts;
  for (const BucketEvidence& b : buckets) parts.push_back(&b);
  const Reach r = *MergeEvidence(parts, 4, 2).reach;
  EXPECT_TRUE(r.estimated);
  // k = 64: a relative error of about 12%; three of those is far out.
  EXPECT_NEAR(r.accounts, 20000, 20000 * 0.36);
  EXPECT_NEAR(static_cast<double>(r.followers), static_cast<double>(truth),
              truth * 0.36);
  std::printf(
      "reach estimate: %lld accounts (truth 20000), %lld followers "
      "(truth %lld)\n",
      static_cast<long long>(r.accounts), static_cast<long long>(r.followers),
      static_cast<long long>(truth));
}

// Buckets are recycled (KeyedHopCounter, foreign_share): a cleared bucket
// must behave as a new one, whatever it held, for alerts not to change.
TEST(BucketEvidence, ClearedIsANewBucket) {
  const auto saved = [](const BucketEvidence& b) {
    SnapshotWriter w;
    b.Save(w);
    return w.bytes();
  };
  // Fills every part: more accounts, URLs and hashtags than the sketches
  // hold (replacements leave garbage in their value bytes), more samples
  // than kept, more followed accounts than the reach keeps exactly, ads.
  const auto fill = [](BucketEvidence& b, int n, int seed) {
    for (int i = 0; i < n; ++i) {
      const std::string url = absl::StrCat("https://x.test/", (i * seed) % 37);
      const std::string tag = absl::StrCat("tag", (i + seed) % 11);
      const std::string_view urls[] = {url};
      const std::string_view tags[] = {tag};
      // The event views its strings: they must outlive it.
      const std::string id = absl::StrCat("p", i);
      const std::string account = absl::StrCat("acct", i * seed % 97);
      Event e = Post(id, account, 100 + i, urls, tags, i + 1);
      e.followers = i % 3 == 0 ? -1 : 10 * i;
      e.reposts = i % 4;
      if (i % 5 == 0) e.repost_of = "orig";
      b.Add(e);
      if (i % 7 == 0) b.Add(Ad(i, 2 * i));
    }
  };
  const EvidenceLimits limits{4, 3};
  BucketEvidence used(limits);
  fill(used, 300, 7);
  used.Clear();
  const BucketEvidence fresh(limits);
  EXPECT_EQ(saved(used), saved(fresh));
  // And it fills again as a new one does.
  BucketEvidence again(limits);
  fill(used, 120, 3);
  fill(again, 120, 3);
  EXPECT_EQ(saved(used), saved(again));
  const BucketEvidence* a[] = {&used};
  const BucketEvidence* b[] = {&again};
  EXPECT_EQ(MergeEvidence(a, 4, 3).reach->followers,
            MergeEvidence(b, 4, 3).reach->followers);
}

TEST(ReachSketch, SurvivesASnapshotAndAFormatOneSnapshotRestoresWithout) {
  BucketEvidence b(EvidenceLimits{4, 2});
  b.Add(Follower("a", 100));
  b.Add(Follower("b", 23));
  b.Add(Ad(10, 20));
  SnapshotWriter w;
  b.Save(w);
  BucketEvidence restored(EvidenceLimits{4, 2});
  SnapshotReader r(w.bytes(), 0, "test");
  restored.Restore(r);
  ASSERT_TRUE(r.Finish().ok()) << r.status();
  const BucketEvidence* parts[] = {&restored};
  const Reach got = *MergeEvidence(parts, 4, 2).reach;
  EXPECT_EQ(got.accounts, 2);
  EXPECT_EQ(got.followers, 123);
  EXPECT_EQ(got.impressions_upper, 20);

  // A format 1 bucket is the same bytes without the reach at the end.
  BucketEvidence empty(EvidenceLimits{4, 2});
  empty.Add(Post("p", "a", 100, {}, {}, 1));
  SnapshotWriter w2;
  empty.Save(w2);
  SnapshotWriter reach_only;
  ReachSketch().Save(reach_only);
  const std::string v1 =
      w2.bytes().substr(0, w2.bytes().size() - reach_only.bytes().size());
  // (The post above counts one post without followers: one varint byte,
  // as the empty sketch's zero.)
  BucketEvidence old(EvidenceLimits{4, 2});
  SnapshotReader r1(v1, 0, "test");
  r1.set_format_version(1);
  old.Restore(r1);
  ASSERT_TRUE(r1.Finish().ok()) << r1.status();
  ASSERT_EQ(old.samples().size(), 1u);
  const BucketEvidence* old_parts[] = {&old};
  EXPECT_EQ(MergeEvidence(old_parts, 4, 2).reach->accounts, 0);
}

}  // namespace
}  // namespace vigia
