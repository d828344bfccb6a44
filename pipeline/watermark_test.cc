#include "pipeline/watermark.h"

#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/time/civil_time.h"
#include "gtest/gtest.h"
#include "operators/snapshot.h"

namespace vigia {
namespace {

absl::Time T(int64_t seconds) {
  return absl::FromUnixSeconds(1'800'000'000 + seconds);
}

WatermarkOptions Options(int ooo_s, int lateness_s, int idle_s) {
  WatermarkOptions o;
  o.max_out_of_orderness = absl::Seconds(ooo_s);
  o.allowed_lateness = absl::Seconds(lateness_s);
  o.idle_timeout = absl::Seconds(idle_s);
  o.quorum = 1;  // progress is the newest event time, as these tests reason
  return o;
}

const SourceRef kA{"posts", 0, 0};
const SourceRef kB{"posts", 1, 0};

TEST(WatermarkTracker, StartsInThePastAndIsNotLateForAnything) {
  WatermarkTracker w(Options(30, 0, 60));
  EXPECT_EQ(w.Advance(T(0)), absl::InfinitePast());
  EXPECT_FALSE(w.IsLate(T(-1'000'000), FeedKind::kPost));
}

TEST(WatermarkTracker, TrailsTheNewestEventByTheDisorderBound) {
  WatermarkTracker w(Options(30, 0, 60));
  w.Observe(kA, T(100), T(100));
  EXPECT_EQ(w.Advance(T(100)), T(70));
  // An older event within the bound does not move it back.
  w.Observe(kA, T(80), T(101));
  EXPECT_EQ(w.Advance(T(101)), T(70));
  EXPECT_FALSE(w.IsLate(T(71), FeedKind::kPost));
  EXPECT_FALSE(w.IsLate(T(70), FeedKind::kPost));
  EXPECT_TRUE(w.IsLate(T(69), FeedKind::kPost));
}

TEST(WatermarkTracker, AllowedLatenessWidensWhatIsAccepted) {
  WatermarkTracker w(Options(30, 20, 60));
  w.Observe(kA, T(100), T(100));
  w.Advance(T(100));  // watermark 70
  EXPECT_FALSE(w.IsLate(T(51), FeedKind::kPost));
  EXPECT_FALSE(w.IsLate(T(50), FeedKind::kPost));
  EXPECT_TRUE(w.IsLate(T(49), FeedKind::kPost));
}

TEST(WatermarkTracker, SlowestActiveSourceHoldsItBack) {
  WatermarkTracker w(Options(0, 0, 60));
  w.Observe(kA, T(100), T(100));
  w.Observe(kB, T(40), T(100));
  EXPECT_EQ(w.Advance(T(100)), T(40));
  w.Observe(kB, T(90), T(101));
  EXPECT_EQ(w.Advance(T(101)), T(90));
  EXPECT_EQ(w.active_sources(), 2);
}

TEST(WatermarkTracker, IdleSourceStopsHoldingItBack) {
  WatermarkTracker w(Options(0, 0, 60));
  w.Observe(kA, T(100), T(0));
  w.Observe(kB, T(10), T(0));
  EXPECT_EQ(w.Advance(T(30)), T(10));
  // Source A keeps producing; B goes quiet for longer than the idle timeout.
  w.Observe(kA, T(200), T(70));
  EXPECT_EQ(w.Advance(T(70)), T(200));
  EXPECT_EQ(w.active_sources(), 1);
  // When B comes back it counts again, but the watermark never moves back.
  w.Observe(kB, T(150), T(71));
  EXPECT_EQ(w.Advance(T(71)), T(200));
  EXPECT_EQ(w.active_sources(), 2);
}

TEST(WatermarkTracker, AnEndAwareSourceHoldsUntilAtItsEndNotForATime) {
  WatermarkOptions o = Options(0, 0, 60);
  o.end_grace = absl::ZeroDuration();
  WatermarkTracker w(o);
  // B is declared (nothing delivered yet) and has records to read: it holds
  // the watermark however long they take, far past the idle timeout.
  w.Observe(kB, absl::InfinitePast(), T(0), FeedKind::kPost);
  w.SetAtEnd(kB, false, T(0));
  w.Observe(kA, T(100), T(0), FeedKind::kPost);
  EXPECT_EQ(w.Advance(T(1000)), absl::InfinitePast());
  // Found at its end (an empty partition): it holds nothing, at once.
  w.SetAtEnd(kB, true, T(1000));
  EXPECT_EQ(w.Advance(T(1000)), T(100));
  EXPECT_EQ(w.feed_watermark(FeedKind::kPost), T(100));
  // A record makes it count again, at its own progress.
  w.Observe(kB, T(150), T(1001), FeedKind::kPost);
  EXPECT_FALSE(w.AtEnd(kB));
  w.Observe(kA, T(300), T(1001), FeedKind::kPost);
  EXPECT_EQ(w.Advance(T(5000)), T(150));
}

TEST(WatermarkTracker, AtItsEndASourceHoldsForTheEndGrace) {
  WatermarkOptions o = Options(0, 0, 60);
  o.end_grace = absl::Seconds(2);
  WatermarkTracker w(o);
  w.Observe(kA, T(100), T(0), FeedKind::kPost);
  w.Observe(kB, T(10), T(0), FeedKind::kPost);
  w.SetAtEnd(kA, false, T(0));
  w.SetAtEnd(kB, true, T(0));
  EXPECT_EQ(w.Advance(T(1)), T(10));
  // Marking it again does not restart the grace.
  w.SetAtEnd(kB, true, T(1));
  EXPECT_EQ(w.Advance(T(2)), T(100));
}

// Ended() says when a source at its end stops holding; RestartEndGrace()
// makes it hold for another end_grace (a repartition partition waking up
// after a quiet spell: its lanes' forwarders may have records on the way).
TEST(WatermarkTracker, TheEndGraceCanBeRestarted) {
  WatermarkOptions o = Options(0, 0, 60);
  o.end_grace = absl::Seconds(2);
  WatermarkTracker w(o);
  w.Observe(kA, T(100), T(0), FeedKind::kPost);
  w.Observe(kB, T(10), T(0), FeedKind::kPost);
  w.SetAtEnd(kA, false, T(0));
  w.SetAtEnd(kB, true, T(0));
  EXPECT_FALSE(w.Ended(kB, T(1)));
  EXPECT_FALSE(w.Ended(kA, T(100)));
  w.RestartEndGrace(kB, T(1));
  EXPECT_FALSE(w.Ended(kB, T(2)));
  EXPECT_EQ(w.Advance(T(2)), T(10));
  EXPECT_TRUE(w.Ended(kB, T(3)));
  EXPECT_EQ(w.Advance(T(3)), T(100));
  // A source not at its end is not moved to it.
  w.RestartEndGrace(kA, T(3));
  EXPECT_FALSE(w.AtEnd(kA));
}

TEST(WatermarkTracker, AllSourcesIdleAdvancesToTheNewestEvent) {
  WatermarkTracker w(Options(5, 0, 60));
  w.Observe(kA, T(100), T(0));
  w.Observe(kB, T(50), T(0));
  EXPECT_EQ(w.Advance(T(1)), T(45));
  EXPECT_EQ(w.Advance(T(61)), T(95));
  EXPECT_EQ(w.active_sources(), 0);
}

TEST(WatermarkTracker, FinishMovesToTheNewestEventTime) {
  WatermarkTracker w(Options(30, 0, 60));
  w.Observe(kA, T(100), T(100));
  w.Observe(kB, T(10), T(100));
  w.Advance(T(100));
  EXPECT_EQ(w.Finish(), T(100));
  EXPECT_EQ(w.max_event_time(), T(100));
}

TEST(WatermarkTracker, SourcesWithTheSameNameButOtherPartitionsAreDistinct) {
  WatermarkTracker w(Options(0, 0, 60));
  w.Observe(SourceRef{"t", 0, 0}, T(10), T(0));
  w.Observe(SourceRef{"t", 1, 0}, T(20), T(0));
  w.Observe(SourceRef{"u", 0, 0}, T(30), T(0));
  EXPECT_EQ(w.sources(), 3);
  EXPECT_EQ(w.Advance(T(0)), T(10));
}

TEST(WatermarkTracker, EachFeedHasItsOwnWatermarkOverItsOwnSources) {
  WatermarkTracker w(Options(10, 0, 60));
  const SourceRef ads{"ads", 0, 0};
  w.Observe(kA, T(100), T(100), FeedKind::kPost);
  w.Observe(ads, T(40), T(100), FeedKind::kAd);
  EXPECT_EQ(w.Advance(T(100)), T(30));
  // The sparse ads source holds the whole and its own feed back, not posts.
  EXPECT_EQ(w.feed_watermark(FeedKind::kPost), T(90));
  EXPECT_EQ(w.feed_watermark(FeedKind::kAd), T(30));
  // So each feed's events are late against their own feed's watermark.
  EXPECT_TRUE(w.IsLate(T(89), FeedKind::kPost));
  EXPECT_FALSE(w.IsLate(T(89), FeedKind::kAd));
  EXPECT_TRUE(w.IsLate(T(29), FeedKind::kAd));
  // Once the ads source is idle, nothing of the ads feed is in flight: it is
  // as complete as the whole.
  w.Observe(kA, T(200), T(161), FeedKind::kPost);
  EXPECT_EQ(w.Advance(T(161)), T(190));
  EXPECT_EQ(w.feed_watermark(FeedKind::kPost), T(190));
  EXPECT_EQ(w.feed_watermark(FeedKind::kAd), T(190));
  w.Finish();
  EXPECT_EQ(w.feed_watermark(FeedKind::kPost), T(200));
  EXPECT_EQ(w.feed_watermark(FeedKind::kAd), T(200));
}

TEST(WatermarkTracker, AFeedWithNoSourceFollowsTheWhole) {
  WatermarkTracker w(Options(10, 0, 60));
  w.Observe(kA, T(100), T(100), FeedKind::kPost);
  EXPECT_EQ(w.Advance(T(100)), T(90));
  EXPECT_EQ(w.feed_watermark(FeedKind::kAd), T(90));
}

TEST(WatermarkTracker, ASourceDeclaredWithAFeedHoldsBackOnlyThatFeed) {
  WatermarkTracker w(Options(10, 0, 60));
  const SourceRef ads{"ads", 0, 0};
  w.Observe(ads, absl::InfinitePast(), T(100), FeedKind::kAd);
  w.Observe(kA, T(100), T(100), FeedKind::kPost);
  EXPECT_EQ(w.Advance(T(100)), absl::InfinitePast());
  EXPECT_EQ(w.feed_watermark(FeedKind::kPost), T(90));
  EXPECT_EQ(w.feed_watermark(FeedKind::kAd), absl::InfinitePast());
  w.Observe(ads, T(95), T(101), FeedKind::kAd);
  EXPECT_EQ(w.Advance(T(101)), T(85));
  EXPECT_EQ(w.feed_watermark(FeedKind::kAd), T(85));
}

TEST(WatermarkTracker, ASourceCarryingBothFeedsHoldsBackBoth) {
  // An archive file: posts and ads in one source.
  WatermarkTracker w(Options(10, 0, 60));
  const SourceRef file{"archive.ndjson", -1, 0};
  w.Observe(file, T(50), T(50), FeedKind::kPost);
  w.Observe(file, T(60), T(60), FeedKind::kAd);
  w.Observe(kA, T(100), T(100), FeedKind::kPost);
  const SourceRef ads{"ads", 0, 0};
  w.Observe(ads, T(100), T(100), FeedKind::kAd);
  EXPECT_EQ(w.Advance(T(100)), T(50));
  EXPECT_EQ(w.feed_watermark(FeedKind::kPost), T(50));
  EXPECT_EQ(w.feed_watermark(FeedKind::kAd), T(50));
}

TEST(WatermarkTracker, ASourceOfUnknownFeedHoldsBackEveryFeed) {
  WatermarkTracker w(Options(0, 0, 60));
  w.Observe(kB, absl::InfinitePast(), T(100));  // declared, no event yet
  w.Observe(kA, T(100), T(100), FeedKind::kPost);
  EXPECT_EQ(w.Advance(T(100)), absl::InfinitePast());
  EXPECT_EQ(w.feed_watermark(FeedKind::kPost), absl::InfinitePast());
  EXPECT_EQ(w.feed_watermark(FeedKind::kAd), absl::InfinitePast());
  w.Observe(kB, T(50), T(101), FeedKind::kPost);
  EXPECT_EQ(w.Advance(T(101)), T(50));
  EXPECT_EQ(w.feed_watermark(FeedKind::kPost), T(50));
  // Both sources turned out to carry posts: no ads are in flight.
  EXPECT_EQ(w.feed_watermark(FeedKind::kAd), T(50));
}

TEST(WatermarkTracker, ASourceOfOnlyRejectedRecordsDoesNotHoldItBack) {
  // A partition that receives only malformed records keeps being busy (and,
  // in Kafka, keeps being declared for its backlog) but never yields an
  // event time: it must not freeze the watermark of the others.
  WatermarkTracker w(Options(0, 0, 60));
  w.Observe(kB, absl::InfinitePast(), T(100));  // declared at assignment
  w.Observe(kA, T(100), T(100), FeedKind::kPost);
  EXPECT_EQ(w.Advance(T(100)), absl::InfinitePast()) << "B has said nothing";
  w.ObserveUntimed(kB, T(101));
  w.Observe(kB, absl::InfinitePast(), T(102));  // declared again: backlog
  w.Observe(kA, T(200), T(102), FeedKind::kPost);
  EXPECT_EQ(w.Advance(T(102)), T(200));
  EXPECT_EQ(w.active_sources(), 1);
  // Its first good record makes it count like any other.
  w.Observe(kB, T(150), T(103), FeedKind::kPost);
  w.Observe(kA, T(300), T(103), FeedKind::kPost);
  EXPECT_EQ(w.Advance(T(103)), T(200)) << "never backwards";
  w.Observe(kB, T(250), T(104), FeedKind::kPost);
  EXPECT_EQ(w.Advance(T(104)), T(250));
  EXPECT_EQ(w.active_sources(), 2);
}

WatermarkOptions Robust(int quorum) {
  WatermarkOptions o = Options(30, 0, 60);
  o.quorum = quorum;
  o.max_lead = absl::Hours(1);
  o.max_clock_lead = absl::Minutes(5);
  o.gap_quorum = 8;
  return o;
}

TEST(WatermarkTracker, ProgressWaitsForQuorumRecordsAndTakesTheQuorumthNewest) {
  WatermarkTracker w(Robust(3));
  w.Observe(kA, T(100), T(100));
  w.Observe(kA, T(300), T(100));
  EXPECT_EQ(w.Advance(T(100)), absl::InfinitePast())
      << "two records are not enough to say where the source is";
  EXPECT_EQ(w.progress(), absl::InfinitePast());
  w.Observe(kA, T(200), T(100));
  EXPECT_EQ(w.progress(), T(100));
  EXPECT_EQ(w.Advance(T(100)), T(70));
  w.Observe(kA, T(400), T(100));
  EXPECT_EQ(w.progress(), T(200));
  EXPECT_EQ(w.Advance(T(100)), T(170));
}

TEST(WatermarkTracker, AFewRecordsWithClocksFarAheadNeverMoveIt) {
  // Regression: one record dated year 9999 made the watermark jump there,
  // and every honest record after it was late.
  WatermarkTracker w(Robust(4));
  const absl::Time far = absl::FromCivil(
      absl::CivilSecond(9999, 12, 31, 23, 59, 59), absl::UTCTimeZone());
  for (int i = 0; i < 1000; ++i) {
    // Three bad clocks in every 64 records, the quorum less one.
    const bool bad = i % 64 == 10 || i % 64 == 30 || i % 64 == 50;
    w.Observe(kA, bad ? far : T(i), T(i));
    w.Advance(T(i));
    if (!bad) {
      EXPECT_FALSE(w.IsLate(T(i), FeedKind::kPost)) << i;
    }
  }
  EXPECT_LE(w.watermark(), T(999));
  EXPECT_GE(w.watermark(), T(999 - 40));
  EXPECT_LE(w.progress(), T(999));
}

TEST(WatermarkTracker, AQuorumOfOneIsTheNewestEventTime) {
  WatermarkTracker w(Robust(1));
  w.Observe(kA, T(100), T(100));
  EXPECT_EQ(w.progress(), T(100));
  w.Observe(kA, T(50), T(100));
  w.Observe(kA, T(120), T(100));
  EXPECT_EQ(w.progress(), T(120));
}

TEST(WatermarkTracker, TheLeadBoundIsProcessingTimeWithAClock) {
  WatermarkTracker w(Robust(1));
  EXPECT_EQ(w.LeadBound(kA, T(0)), T(300));
  w.Observe(kA, T(100'000), T(0));
  EXPECT_EQ(w.LeadBound(kA, T(0)), T(300)) << "whatever the source did";
}

TEST(WatermarkTracker, TheLeadBoundIsTheSourcesProgressWithoutAClock) {
  WatermarkTracker w(Robust(2));
  EXPECT_EQ(w.LeadBound(kA, std::nullopt), absl::InfiniteFuture());
  w.Observe(kA, T(100), T(100));
  EXPECT_EQ(w.LeadBound(kA, std::nullopt), absl::InfiniteFuture());
  w.Observe(kA, T(200), T(200));
  EXPECT_EQ(w.LeadBound(kA, std::nullopt), T(100 + 3600));
  EXPECT_EQ(w.LeadBound(kB, std::nullopt), absl::InfiniteFuture())
      << "each source on its own progress";
}

TEST(WatermarkTracker, ARunOfAgreeingRecordsBeyondTheBoundIsAGapInTheFeed) {
  WatermarkTracker w(Robust(2));
  for (int i = 0; i < 10; ++i) w.Observe(kA, T(i), T(i));
  // The feed resumes three hours later: the first gap_quorum - 1 records
  // are not enough, the gap_quorum-th is.
  const int64_t resume = 3 * 3600;
  for (int i = 0; i < 7; ++i) {
    EXPECT_GT(T(resume + i), w.LeadBound(kA, std::nullopt));
    EXPECT_FALSE(w.ConfirmsGap(kA, T(resume + i))) << i;
  }
  EXPECT_TRUE(w.ConfirmsGap(kA, T(resume + 7)));
  w.Observe(kA, T(resume + 7), T(resume + 7));
  EXPECT_EQ(w.progress(), T(resume + 6));
  EXPECT_GE(w.LeadBound(kA, std::nullopt), T(resume + 8));
}

TEST(WatermarkTracker, BadClocksAmongHonestRecordsNeverMakeAGap) {
  WatermarkTracker w(Robust(2));
  for (int i = 0; i < 10; ++i) w.Observe(kA, T(i), T(i));
  for (int i = 0; i < 100; ++i) {
    // Runs of seven bad records at most, each broken by an honest one.
    if (i % 8 != 7) {
      EXPECT_FALSE(w.ConfirmsGap(kA, T(100'000 + i))) << i;
    } else {
      w.Observe(kA, T(10 + i), T(10 + i));
    }
  }
  // Nor do bad clocks that disagree with one another, however many.
  for (int i = 0; i < 100; ++i) {
    EXPECT_FALSE(w.ConfirmsGap(kA, T(100'000 + 10'000 * i))) << i;
  }
  EXPECT_LT(w.progress(), T(200));
}

// The daemon's case (docs/feeds.md): one platform's clocks run four minutes
// fast, inside the lead bound, and it carries a tenth of a partition's
// records. Before progress was kept per platform that tenth (more than
// `quorum` of any 64 records) moved the partition's progress four minutes
// ahead and every honest record after it was late.
TEST(WatermarkTracker, APlatformWhoseClocksRunFastCannotMakeTheOthersLate) {
  WatermarkTracker w(Robust(4));
  int late = 0;
  for (int i = 0; i < 2000; ++i) {
    const bool fast = i % 10 == 3;
    const absl::Time t = fast ? T(i + 240) : T(i);
    if (!fast && w.IsLate(t, FeedKind::kPost)) ++late;
    w.Observe(kA, t, T(i), FeedKind::kPost, fast ? "fastbook" : "x");
    w.Advance(T(i));
  }
  EXPECT_EQ(late, 0);
  EXPECT_LE(w.progress(), T(1999));
  EXPECT_GE(w.progress(), T(1999 - 30));
}

TEST(WatermarkTracker, APlatformCarryingMostOfASourceSetsItsProgress) {
  WatermarkTracker w(Robust(4));
  for (int i = 0; i < 2000; ++i) {
    // Telegram's collector runs two minutes behind and carries a third.
    const bool behind = i % 3 == 0;
    w.Observe(kA, behind ? T(i - 120) : T(i), T(i), FeedKind::kPost,
              behind ? "telegram" : "x");
  }
  EXPECT_GE(w.progress(), T(1999 - 10)) << "the majority's progress";
  WatermarkTracker mostly_behind(Robust(4));
  for (int i = 0; i < 2000; ++i) {
    const bool behind = i % 3 != 0;
    mostly_behind.Observe(kA, behind ? T(i - 120) : T(i), T(i), FeedKind::kPost,
                          behind ? "telegram" : "x");
  }
  EXPECT_LE(mostly_behind.progress(), T(1999 - 120))
      << "most records are two minutes behind: the watermark waits for them";
}

TEST(WatermarkTracker, OneSourceNamingThousandsOfPlatformsStaysBounded) {
  WatermarkTracker w(Robust(4));
  for (int i = 0; i < 5000; ++i) {
    // Every record a platform of its own, a few far ahead.
    const bool bad = i % 64 == 9;
    w.Observe(kA, bad ? T(i + 3000) : T(i), T(i), FeedKind::kPost,
              absl::StrCat("p", i));
    w.Advance(T(i));
    if (!bad) {
      EXPECT_FALSE(w.IsLate(T(i), FeedKind::kPost)) << i;
    }
  }
  EXPECT_LE(w.progress(), T(4999));
  EXPECT_GE(w.progress(), T(4999 - 60));
  SnapshotWriter out;
  w.Save(out);
  EXPECT_LT(out.size(), 16u * 1024) << "at most kMaxLanes lanes are kept";
}

TEST(WatermarkTracker, LanesSurviveASnapshot) {
  WatermarkTracker a(Robust(4));
  WatermarkTracker b(Robust(4));
  auto feed = [](WatermarkTracker& w, int from, int to) {
    for (int i = from; i < to; ++i) {
      const bool fast = i % 10 == 3;
      w.Observe(kA, fast ? T(i + 240) : T(i), T(i), FeedKind::kPost,
                fast ? "fastbook" : "x");
      w.Advance(T(i));
    }
  };
  feed(a, 0, 500);
  SnapshotWriter out;
  a.Save(out);
  SnapshotReader in(out.bytes(), 0, "watermark");
  b.Restore(in);
  ASSERT_TRUE(in.Finish().ok()) << in.status();
  feed(a, 500, 1000);
  feed(b, 500, 1000);
  EXPECT_EQ(a.progress(), b.progress());
  EXPECT_EQ(a.watermark(), b.watermark());
  SnapshotWriter again_a;
  SnapshotWriter again_b;
  a.Save(again_a);
  b.Save(again_b);
  EXPECT_EQ(again_a.bytes(), again_b.bytes());
}

// A snapshot written before lanes (format 1) restores: its recent times
// become one lane with no platform.
TEST(WatermarkTracker, AVersionOneSnapshotRestoresIntoOneLane) {
  SnapshotWriter w;
  w.Time(T(70));                                      // watermark
  w.Time(T(103));                                     // max event time
  w.Time(T(100));                                     // progress
  for (int f = 0; f < kNumFeeds; ++f) w.Time(T(70));  // feed watermarks
  for (int f = 0; f < kNumFeeds; ++f) w.Time(T(0));   // feed starts
  w.I32(1);                                           // active sources
  w.U64(1);
  w.Str("posts");
  w.I32(0);
  w.Time(T(100));                // progress
  w.Time(absl::InfinitePast());  // presumed
  w.Bool(false);
  w.Time(T(103));  // last seen
  w.U32(FeedBit(FeedKind::kPost));
  w.Bool(true);  // delivered
  w.U32(4);      // recent size
  w.U32(4);      // recent next
  w.U32(3);      // newer
  for (int i = 0; i < 4; ++i) w.Time(T(100 + i));
  w.U64(0);  // run
  WatermarkTracker t(Robust(4));
  SnapshotReader r(w.bytes(), 0, "watermark");
  t.Restore(r, 1);
  ASSERT_TRUE(r.Finish().ok()) << r.status();
  EXPECT_EQ(t.progress(), T(100));
  EXPECT_EQ(t.SourceProgress(kA), T(100));
  // New records name their platform: a lane of their own, which takes the
  // source on once it carries most of its recent records.
  for (int i = 104; i < 112; ++i) {
    t.Observe(kA, T(i), T(i), FeedKind::kPost, "x");
    EXPECT_GE(t.SourceProgress(kA), T(100));
  }
  EXPECT_GT(t.SourceProgress(kA), T(104));
  EXPECT_LE(t.SourceProgress(kA), T(111));
}

TEST(WatermarkTracker, AMalformedLaneIsRefused) {
  WatermarkTracker a(Robust(4));
  for (int i = 0; i < 10; ++i) {
    a.Observe(kA, T(i), T(i), FeedKind::kPost, i % 2 ? "x" : "y");
  }
  SnapshotWriter out;
  a.Save(out);
  std::string bytes = out.bytes();
  // Every truncation is refused, never misread.
  for (size_t n = 0; n < bytes.size(); ++n) {
    WatermarkTracker b(Robust(4));
    SnapshotReader r(std::string_view(bytes).substr(0, n), 0, "watermark");
    b.Restore(r);
    EXPECT_FALSE(r.Finish().ok()) << n;
  }
}

}  // namespace
}  // namespace vigia
