#include "operators/evidence.h"

#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

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

}  // namespace
}  // namespace vigia
