#include "operators/hop_schedule.h"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vigia {
namespace {

using ::testing::ElementsAre;

// A key as the schedule sees it: the hop it waits for.
struct Key {
  std::string name;
  int64_t next_hop;
};

// Runs the schedule over `keys` to `watermark`, recording "name@hop" per
// evaluation and "|hop" after each hop; keys named in `evict` are evicted
// at their first evaluation (the last key moves into their slot).
std::vector<std::string> RunSchedule(
    HopSchedule& schedule, std::vector<Key>& keys, absl::Time watermark,
    const std::vector<std::string>& evict = {}) {
  std::vector<std::string> log;
  const std::optional<int64_t> complete = schedule.CompleteHop(watermark);
  if (!complete.has_value()) return log;
  schedule.EvaluateThrough(
      *complete, keys, [](const Key& k) { return k.next_hop; },
      [&](size_t i, int64_t h) {
        log.push_back(absl::StrCat(keys[i].name, "@", h));
        for (const std::string& e : evict) {
          if (keys[i].name == e) return false;
        }
        ++keys[i].next_hop;
        return true;
      },
      [&](size_t i) {
        keys[i] = std::move(keys.back());
        keys.pop_back();
      },
      [&](int64_t h) { log.push_back(absl::StrCat("|", h)); });
  return log;
}

absl::Time Minute(int64_t m) { return absl::FromUnixSeconds(60 * m); }

TEST(HopSchedule, GeometryFollowsWindowAndHop) {
  const HopSchedule s(absl::Minutes(10), absl::Minutes(1));
  EXPECT_EQ(s.window_hops(), 10);
  EXPECT_EQ(s.hop(), absl::Minutes(1));
  EXPECT_EQ(s.window(), absl::Minutes(10));
  EXPECT_EQ(s.idle_hops(), 24 * 60);
  EXPECT_EQ(s.max_span(), 10 + 6 * 60);
  EXPECT_EQ(s.HopOf(Minute(5) + absl::Seconds(59)), 5);
  // Before 1970 a time falls in the hop that contains it.
  EXPECT_EQ(s.HopOf(absl::FromUnixSeconds(-1)), -1);
  EXPECT_EQ(s.HopEnd(5), Minute(6));
  // A detector may keep idle keys longer, never shorter than a window.
  EXPECT_EQ(HopSchedule(absl::Hours(1), absl::Minutes(1), absl::Hours(48))
                .idle_hops(),
            48 * 60);
  EXPECT_EQ(HopSchedule(absl::Hours(2), absl::Minutes(1), absl::Minutes(5))
                .idle_hops(),
            120);
}

TEST(HopSchedule, CompletesTheHopsWhoseEndTheWatermarkPassed) {
  HopSchedule s(absl::Minutes(3), absl::Minutes(1));
  EXPECT_EQ(s.CompleteHop(absl::InfinitePast()), std::nullopt);
  EXPECT_EQ(s.CompleteHop(Minute(10)), 9);
  EXPECT_EQ(s.CompleteHop(Minute(10) + absl::Seconds(30)), 9);
  // The end of input with no events completes nothing; with events, the
  // newest event's last window.
  EXPECT_EQ(s.CompleteHop(absl::InfiniteFuture()), std::nullopt);
  s.NoteEvent(20);
  s.NoteEvent(12);
  EXPECT_EQ(s.CompleteHop(absl::InfiniteFuture()), 23);
}

TEST(HopSchedule, EvaluatesHopMajorInKeyOrderAndEachHopOnce) {
  HopSchedule s(absl::Minutes(3), absl::Minutes(1));
  std::vector<Key> keys = {{"a", 5}, {"b", 4}, {"c", 6}};
  EXPECT_THAT(
      RunSchedule(s, keys, Minute(7)),
      ElementsAre("b@4", "|4", "a@5", "b@5", "|5", "a@6", "b@6", "c@6", "|6"));
  EXPECT_EQ(s.last_done_hop(), 6);
  // No hop boundary crossed: nothing runs.
  EXPECT_TRUE(RunSchedule(s, keys, Minute(7) + absl::Seconds(59)).empty());
  EXPECT_THAT(RunSchedule(s, keys, Minute(8)),
              ElementsAre("a@7", "b@7", "c@7", "|7"));
}

TEST(HopSchedule, AnEvictedKeysSlotIsTakenByTheLastKeyAndEvaluatedNext) {
  HopSchedule s(absl::Minutes(3), absl::Minutes(1));
  std::vector<Key> keys = {{"a", 1}, {"b", 1}, {"c", 1}};
  EXPECT_THAT(RunSchedule(s, keys, Minute(3), {"a"}),
              ElementsAre("a@1", "c@1", "b@1", "|1", "c@2", "b@2", "|2"));
}

TEST(HopSchedule, ANewKeyJoinsAtItsOwnHopOrTheFirstNotYetEvaluated) {
  HopSchedule s(absl::Minutes(3), absl::Minutes(1));
  EXPECT_EQ(s.FirstHopOfNewKey(100), 100);  // nothing evaluated yet
  EXPECT_FALSE(s.TooLateForNewKey(-1000));
  std::vector<Key> keys = {{"a", 0}};
  RunSchedule(s, keys, Minute(10));  // hops 0..9 done
  EXPECT_EQ(s.FirstHopOfNewKey(10), 10);
  EXPECT_EQ(s.FirstHopOfNewKey(8), 10);  // its hop's windows are still to come
  EXPECT_FALSE(s.TooLateForNewKey(8));
  EXPECT_TRUE(s.TooLateForNewKey(7));  // in no window still to come
  // Ahead of the watermark it starts at its own hop, however far: the
  // windows before it are empty for it whenever the watermark is.
  EXPECT_EQ(s.FirstHopOfNewKey(12), 12);
  EXPECT_EQ(s.FirstHopOfNewKey(10 + s.max_span()), 10 + s.max_span());
}

TEST(HopSchedule, WhereANewKeyStartsDoesNotDependOnTheWatermark) {
  // Regression: a new key started at the first hop not yet evaluated, so
  // the same event gave it two empty windows more or fewer depending on
  // how far the watermark had got when it arrived.
  HopSchedule behind(absl::Minutes(3), absl::Minutes(1));
  HopSchedule ahead(absl::Minutes(3), absl::Minutes(1));
  std::vector<Key> keys_behind = {{"a", 0}};
  std::vector<Key> keys_ahead = {{"a", 0}};
  RunSchedule(behind, keys_behind, Minute(8));
  RunSchedule(ahead, keys_ahead, Minute(10));
  ASSERT_NE(behind.last_done_hop(), ahead.last_done_hop());
  EXPECT_EQ(behind.FirstHopOfNewKey(11), ahead.FirstHopOfNewKey(11));
}

}  // namespace
}  // namespace vigia
