#include "operators/posting_clock_week.h"

#include <algorithm>
#include <array>
#include <cstdint>
#include <random>
#include <string>

#include "gtest/gtest.h"
#include "operators/snapshot.h"

namespace vigia::posting_clock_internal {
namespace {

std::array<uint8_t, kWeekHours> BinsOf(const AccountWeek& w) {
  std::array<uint8_t, kWeekHours> b;
  w.Bins(&b);
  return b;
}

TEST(AccountWeek, StaysInlineForEightDistinctHoursThenMovesToTheHeap) {
  AccountWeek w;
  WeekHistogram<uint8_t> ref;
  const int64_t start = 493000;  // an hour of 2026
  for (int h = 0; h < AccountWeek::kInlineHours; ++h) {
    ASSERT_TRUE(w.Add(start + 10 * h));
    ASSERT_TRUE(w.Add(start + 10 * h));
    ref.Add(start + 10 * h);
    ref.Add(start + 10 * h);
  }
  EXPECT_FALSE(w.is_dense());
  EXPECT_EQ(BinsOf(w), ref.bins);
  EXPECT_EQ(w.Total(), 16);
  ASSERT_TRUE(w.Add(start + 100));
  ref.Add(start + 100);
  EXPECT_TRUE(w.is_dense());
  EXPECT_EQ(BinsOf(w), ref.bins);
  EXPECT_EQ(w.Total(), 17);
}

TEST(AccountWeek, ForgetsHoursAsTheWeekSlidesPastThem) {
  AccountWeek w;
  const int64_t start = 493000;
  ASSERT_TRUE(w.Add(start));
  ASSERT_TRUE(w.Add(start + 100));
  w.AdvanceTo(start + kWeekHours - 1);
  EXPECT_EQ(w.Total(), 2);
  w.AdvanceTo(start + kWeekHours);  // the first hour has left the week
  EXPECT_EQ(w.Total(), 1);
  std::array<uint8_t, kWeekHours> want = {};
  want[BinOf(start + 100)] = 1;
  EXPECT_EQ(BinsOf(w), want);
  // An hour older than the week is refused.
  EXPECT_FALSE(w.Add(start));
  EXPECT_EQ(w.Total(), 1);
}

TEST(AccountWeek, SaturatesAnHourAt255) {
  AccountWeek w;
  for (int i = 0; i < 300; ++i) ASSERT_TRUE(w.Add(-5));  // before the epoch
  EXPECT_EQ(w.Total(), 255);
  EXPECT_EQ(BinsOf(w)[BinOf(-5)], 255);
}

// The compact week against the plain histogram, over random streams of
// posts (in and out of order, bursts past saturation), slides and clears.
TEST(AccountWeek, HoldsWhatTheFullHistogramHolds) {
  const uint64_t seed = 12345;
  SCOPED_TRACE(testing::Message() << "seed " << seed);
  std::mt19937_64 rng(seed);
  for (int round = 0; round < 3000; ++round) {
    WeekHistogram<uint8_t> ref;
    AccountWeek w;
    int64_t hour = static_cast<int64_t>(rng() % 500000) - 100000;
    const int steps = 1 + static_cast<int>(rng() % 300);
    for (int k = 0; k < steps; ++k) {
      const int r = static_cast<int>(rng() % 100);
      if (r < 60) {
        const int64_t h = hour + static_cast<int64_t>(rng() % 400) - 300;
        const int times = rng() % 8 == 0 ? static_cast<int>(rng() % 300) : 1;
        for (int i = 0; i < times; ++i) {
          ASSERT_EQ(w.Add(h), ref.Add(h)) << "round " << round;
        }
        hour = std::max(hour, h);
      } else if (r < 85) {
        hour += static_cast<int64_t>(rng() % 30);
        w.AdvanceTo(hour);
        ref.AdvanceTo(hour);
      } else if (r < 90) {
        hour += static_cast<int64_t>(rng() % 400);
        w.AdvanceTo(hour);
        ref.AdvanceTo(hour);
      } else if (r < 91) {
        w.Clear();
        ref = WeekHistogram<uint8_t>();
      } else {
        const int64_t h = hour - static_cast<int64_t>(rng() % 10);
        w.AdvanceTo(h);
        ref.AdvanceTo(h);
      }
      ASSERT_EQ(BinsOf(w), ref.bins) << "round " << round << " step " << k;
      ASSERT_EQ(w.Total(), ref.Total()) << "round " << round << " step " << k;
    }
  }
}

// Saved and restored, inline and dense weeks come back the same, and save
// the same bytes again.
TEST(AccountWeek, RestoresWhatItSaved) {
  for (int hours : {0, 1, 3, AccountWeek::kInlineHours, 20}) {
    AccountWeek w;
    for (int h = 0; h < hours; ++h) {
      for (int i = 0; i <= h % 3; ++i) w.Add(1000 + 2 * h);
    }
    SnapshotWriter out;
    w.Save(out);
    const std::string bytes = out.bytes();
    SnapshotReader in(bytes, 0, "week");
    AccountWeek back;
    back.Restore(in);
    ASSERT_TRUE(in.Finish().ok()) << hours;
    EXPECT_EQ(BinsOf(back), BinsOf(w)) << hours;
    EXPECT_EQ(back.Total(), w.Total()) << hours;
    EXPECT_EQ(back.is_dense(), w.is_dense()) << hours;
    SnapshotWriter again;
    back.Save(again);
    EXPECT_EQ(again.bytes(), bytes) << hours;
  }
}

// The total is not held but summed, so a snapshot whose total disagrees
// with its hours, or that holds an hour of no posts, is refused.
TEST(AccountWeek, RefusesATotalThatDisagreesWithItsHours) {
  for (bool dense : {false, true}) {
    SnapshotWriter out;
    out.I32(1000);
    out.U32(4);  // the hours below hold 3
    out.Bool(dense);
    if (dense) {
      std::string bins(kWeekHours, '\0');
      bins[BinOf(1000)] = 3;
      out.Bytes(bins);
    } else {
      out.U32(1);
      out.U32(static_cast<uint32_t>(BinOf(1000)));
      out.U32(3);
    }
    const std::string bytes = out.bytes();
    SnapshotReader in(bytes, 0, "week");
    AccountWeek w;
    w.Restore(in);
    EXPECT_FALSE(in.Finish().ok()) << dense;
  }
  SnapshotWriter out;
  out.I32(1000);
  out.U32(0);
  out.Bool(false);
  out.U32(1);
  out.U32(static_cast<uint32_t>(BinOf(1000)));
  out.U32(0);  // a held hour without posts
  const std::string bytes = out.bytes();
  SnapshotReader in(bytes, 0, "week");
  AccountWeek w;
  w.Restore(in);
  EXPECT_FALSE(in.Finish().ok());
}

}  // namespace
}  // namespace vigia::posting_clock_internal
