#include "operators/hyperloglog.h"

#include <cmath>
#include <cstdint>
#include <iterator>
#include <string>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace vigia {
namespace {

TEST(StableHash64, DependsOnlyOnTheBytes) {
  // Pinned values: a change of the function would change alert contents
  // (fingerprints, distinct counts) between releases, so it must be noticed.
  EXPECT_EQ(StableHash64(""), 0xb800bd6c02472607ULL);
  EXPECT_EQ(StableHash64("vigia"), 0x341f7c8cbf5689edULL);
  EXPECT_EQ(StableHash64("https://example.com/a/long/path"),
            0xd9100cf4ed933c0cULL);
  EXPECT_EQ(StableHash64("account-1"), StableHash64(std::string("account-1")));
  EXPECT_NE(StableHash64("account-1"), StableHash64("account-2"));
  EXPECT_NE(StableHash64("abc"), StableHash64("abc", /*seed=*/1));
  // Lengths that exercise the 8-byte blocks and every tail length differ.
  std::string s;
  uint64_t previous = StableHash64(s);
  for (int i = 0; i < 40; ++i) {
    s.push_back('a');
    const uint64_t h = StableHash64(s);
    EXPECT_NE(h, previous) << i;
    previous = h;
  }
}

// Every length from 0 to 25 bytes (whole words and every tail length, read
// a byte at a time or as one load): the values are kept in saved state and
// name texts in alerts (coordinated_sharing's fingerprints), so they must
// never change.
TEST(StableHash64, KeepsItsValuesForEveryTailLength) {
  const std::string_view text = "The quick brown fox jumps";
  const uint64_t want[] = {
      0xb800bd6c02472607ULL, 0xfeac31d8aa0884a9ULL, 0xff3e687ea67a7cf8ULL,
      0x5b1953ed59c30ba3ULL, 0x57782a7d42725bf0ULL, 0x2519dd26ee591926ULL,
      0x2d122a7e67addc4bULL, 0x27cc792f2beb8d45ULL, 0x093fd0f54c88853cULL,
      0xbb2430d7de7c9293ULL, 0x9d818a240015d078ULL, 0xee12f211a177f72fULL,
      0xc1dd08e214742f9bULL, 0xd896c59281016789ULL, 0x965a7ec92ec4d35fULL,
      0x28b089abe0e8dc6eULL, 0xf4599217dc833d45ULL, 0x6c6b0924f89b78dcULL,
      0x4f06041ed63c1c7aULL, 0xc2311ca355e54a38ULL, 0xcf98614da211925dULL,
      0xee419d776840f021ULL, 0xbd6f512dcaf007ddULL, 0xb2dd60557e0e7402ULL,
      0x9d13dc3ba926d1d8ULL, 0xdef7f8331d79adcdULL,
  };
  ASSERT_EQ(std::size(want), text.size() + 1);
  for (size_t k = 0; k <= text.size(); ++k) {
    EXPECT_EQ(StableHash64(text.substr(0, k)), want[k]) << k;
  }
}

TEST(StableHash64, SpreadsSimilarInputsOverAllBits) {
  // Keys that differ in one character should flip about half the bits.
  int total_flips = 0;
  constexpr int kN = 1000;
  for (int i = 0; i < kN; ++i) {
    const uint64_t a = StableHash64(absl::StrCat("user", i));
    const uint64_t b = StableHash64(absl::StrCat("user", i + 1));
    total_flips += __builtin_popcountll(a ^ b);
  }
  const double mean = static_cast<double>(total_flips) / kN;
  EXPECT_GT(mean, 28);
  EXPECT_LT(mean, 36);
}

TEST(HyperLogLog, EmptySketchEstimatesZeroAndAllocatesNothing) {
  HyperLogLog h;
  EXPECT_TRUE(h.empty());
  EXPECT_EQ(h.memory(), 0u);
  EXPECT_EQ(h.Estimate(), 0);
}

TEST(HyperLogLog, SmallCountsAreNearlyExact) {
  // Two of a dozen values may share a register (a 6% chance at p = 10), so
  // a single sketch may read one low; over many sets the mean is right.
  double sum = 0;
  constexpr int kSets = 200;
  for (int set = 0; set < kSets; ++set) {
    HyperLogLog h;
    for (int i = 0; i < 12; ++i) h.Add(absl::StrCat("set", set, "-acct", i));
    EXPECT_EQ(h.memory(), 1024u);
    EXPECT_GE(h.Estimate(), 10.5) << set;
    EXPECT_LE(h.Estimate(), 12.5) << set;
    sum += h.Estimate();
  }
  EXPECT_NEAR(sum / kSets, 12, 0.2);
}

TEST(HyperLogLog, RepeatsDoNotCount) {
  HyperLogLog once, repeated;
  for (int i = 0; i < 7; ++i) once.Add(absl::StrCat("acct", i));
  for (int r = 0; r < 50; ++r) {
    for (int i = 0; i < 7; ++i) repeated.Add(absl::StrCat("acct", i));
  }
  EXPECT_EQ(repeated.Estimate(), once.Estimate());
  EXPECT_NEAR(repeated.Estimate(), 7, 1.5);
}

TEST(HyperLogLog, LargeCountsAreWithinThreeStandardErrors) {
  HyperLogLog h;
  const double se = h.StandardError();
  EXPECT_NEAR(se, 1.04 / 32, 1e-12);
  for (int n : {1000, 10000, 100000}) {
    HyperLogLog s;
    for (int i = 0; i < n; ++i) s.Add(absl::StrCat("n", n, "-", i));
    EXPECT_NEAR(s.Estimate(), n, 3 * se * n) << n;
  }
}

TEST(HyperLogLog, MergeEstimatesTheUnion) {
  HyperLogLog a, b, both;
  for (int i = 0; i < 3000; ++i) {
    const std::string v = absl::StrCat("v", i);
    if (i < 2000) a.Add(v);
    if (i >= 1000) b.Add(v);
    both.Add(v);
  }
  HyperLogLog merged;
  merged.Merge(a);
  merged.Merge(b);
  // The union of two sketches is exactly the sketch of the union.
  EXPECT_EQ(merged.Estimate(), both.Estimate());
  EXPECT_NEAR(merged.Estimate(), 3000, 3 * merged.StandardError() * 3000);
}

TEST(HyperLogLog, MergeOfADifferentPrecisionIsIgnored) {
  HyperLogLog a(10), b(12);
  b.Add("x");
  a.Merge(b);
  EXPECT_TRUE(a.empty());
}

TEST(HyperLogLog, PrecisionIsClampedToTheSupportedRange) {
  EXPECT_EQ(HyperLogLog(1).precision(), HyperLogLog::kMinPrecision);
  EXPECT_EQ(HyperLogLog(30).precision(), HyperLogLog::kMaxPrecision);
  HyperLogLog small(4);
  for (int i = 0; i < 5; ++i) small.Add(absl::StrCat(i));
  EXPECT_EQ(small.memory(), 16u);
  EXPECT_NEAR(small.Estimate(), 5, 1.5);
}

}  // namespace
}  // namespace vigia
