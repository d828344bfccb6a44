#include "operators/hop_window.h"

#include <memory>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vigia {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;

std::vector<std::pair<int64_t, uint32_t>> Contents(const HopWindow<>& w) {
  std::vector<std::pair<int64_t, uint32_t>> out;
  w.ForEachInWindow([&](int64_t hop, const HopWindow<>::Slot& s) {
    out.emplace_back(hop, s.count);
  });
  return out;
}

TEST(HopWindow, SumsTheLastKHopsAsItSlides) {
  HopWindow<> w(/*window_hops=*/3, /*first_hop=*/100, /*max_span=*/16);
  EXPECT_EQ(w.oldest_hop(), 98);
  ASSERT_NE(w.Add(100, 2), nullptr);
  EXPECT_EQ(w.Sum(), 2u);
  w.Advance();  // evaluated window ending at 100
  ASSERT_NE(w.Add(101, 5), nullptr);
  EXPECT_EQ(w.Sum(), 7u);
  w.Advance();
  ASSERT_NE(w.Add(102, 1), nullptr);
  EXPECT_THAT(Contents(w),
              ElementsAre(Pair(100, 2), Pair(101, 5), Pair(102, 1)));
  EXPECT_EQ(w.Sum(), 8u);
  w.Advance();
  // Hop 100 has left the window ending at 103.
  EXPECT_EQ(w.Sum(), 6u);
  w.Advance();
  w.Advance();
  EXPECT_EQ(w.Sum(), 0u);
  EXPECT_EQ(w.next_hop(), 105);
}

TEST(HopWindow, CountsLateEventsInWindowsStillToComeAndRefusesOlderOnes) {
  HopWindow<> w(3, 10, 16);
  w.Add(10);
  w.Advance();  // window ending at 10 evaluated; next ends at 11: hops 9..11
  // Hop 10 was already evaluated but is in the windows ending at 11 and 12.
  ASSERT_NE(w.Add(10, 4), nullptr);
  EXPECT_EQ(w.Sum(), 5u);
  w.Advance();
  w.Advance();  // next window: hops 11..13
  EXPECT_EQ(w.Add(10), nullptr);
  EXPECT_EQ(w.Sum(), 0u);
}

TEST(HopWindow, HoldsEventsAheadAndGrowsUpToTheSpan) {
  HopWindow<> w(2, 0, /*max_span=*/40);
  const int initial = w.capacity();
  EXPECT_GE(initial, 3);
  ASSERT_NE(w.Add(0, 1), nullptr);
  ASSERT_NE(w.Add(20, 7), nullptr);  // far ahead: the ring grows
  EXPECT_GT(w.capacity(), initial);
  EXPECT_EQ(w.Add(39, 1), nullptr);  // 40 hops past the oldest (-1): refused
  ASSERT_NE(w.Add(38, 1), nullptr);
  EXPECT_EQ(w.Sum(), 1u);
  for (int h = 0; h < 20; ++h) w.Advance();
  EXPECT_EQ(w.next_hop(), 20);
  EXPECT_EQ(w.Sum(), 7u);
  w.Advance();
  EXPECT_EQ(w.Sum(), 7u);  // hops 20..21
  w.Advance();
  EXPECT_EQ(w.Sum(), 0u);
}

TEST(HopWindow, StartsEarlierForAnOlderEventBeforeAnyEvaluation) {
  // Created by an event at hop 50; an event at hop 20 comes after it.
  HopWindow<std::unique_ptr<std::string>> w(3, 50, /*max_span=*/40);
  w.Add(50)->payload = std::make_unique<std::string>("fifty");
  w.Add(52, 2);
  EXPECT_EQ(w.Add(20), nullptr);
  ASSERT_TRUE(w.StartEarlier(20));
  EXPECT_EQ(w.next_hop(), 20);
  EXPECT_EQ(w.oldest_hop(), 18);
  ASSERT_NE(w.Add(20, 3), nullptr);
  ASSERT_NE(w.Add(19), nullptr);
  EXPECT_EQ(w.Sum(), 4u);
  // Every hop held before is where it was, with its payload.
  for (int h = 20; h < 50; ++h) w.Advance();
  EXPECT_EQ(w.next_hop(), 50);
  EXPECT_EQ(w.Sum(), 1u);
  ASSERT_NE(w.At(50).payload, nullptr);
  EXPECT_EQ(*w.At(50).payload, "fifty");
  w.Advance();
  w.Advance();
  EXPECT_EQ(w.Sum(), 3u);  // hops 50..52
  // Later never: StartEarlier does not move a window forward.
  EXPECT_TRUE(w.StartEarlier(60));
  EXPECT_EQ(w.next_hop(), 52);
}

TEST(HopWindow, StartsEarlierOnlyWithinTheSpan) {
  HopWindow<> w(2, 30, /*max_span=*/20);
  ASSERT_NE(w.Add(40), nullptr);
  // Hops 9..40 would be 32 hops: more than the span; nothing changes.
  EXPECT_FALSE(w.StartEarlier(10));
  EXPECT_EQ(w.next_hop(), 30);
  // Hops 22..40 are 19.
  ASSERT_TRUE(w.StartEarlier(23));
  EXPECT_EQ(w.oldest_hop(), 22);
  ASSERT_NE(w.Add(22), nullptr);
  EXPECT_EQ(w.Sum(), 1u);
  for (int h = 23; h < 40; ++h) w.Advance();
  EXPECT_EQ(w.Sum(), 1u);  // hops 39..40
}

TEST(HopWindow, ClearsThePayloadOfRetiredHops) {
  HopWindow<std::unique_ptr<std::string>> w(2, 0, 8);
  auto* slot = w.Add(0);
  slot->payload = std::make_unique<std::string>("a");
  w.Advance();
  EXPECT_NE(w.At(0).payload, nullptr);  // still in the window ending at 1
  w.Advance();
  // Hop 0 retired; its ring slot is reused by hop 4 and comes back empty.
  auto* reused = w.Add(4);
  ASSERT_NE(reused, nullptr);
  EXPECT_EQ(reused->payload, nullptr);
  EXPECT_EQ(reused->count, 1u);
}

TEST(HopWindow, AddsNoMemoryForCountsOnlySlots) {
  EXPECT_EQ(sizeof(HopWindow<>::Slot), sizeof(uint32_t));
}

}  // namespace
}  // namespace vigia
