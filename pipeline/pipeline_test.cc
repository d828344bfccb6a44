#include "pipeline/pipeline.h"

#include <algorithm>
#include <map>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/civil_time.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "operators/foreign_origin_surge.h"
#include "operators/hyperloglog.h"
#include "operators/operator_util.h"
#include "pipeline/core/time.h"

namespace vigia {
namespace {

using ::testing::Each;
using ::testing::ElementsAre;

// Records what the pipeline hands to an operator.
class RecordingOperator final : public Operator {
 public:
  std::string_view name() const override { return "recording"; }
  void Observe(const Event& e, EventFacts& facts, AlertEmitter& out) override {
    ids.push_back(std::string(e.id));
    // The facts handed over are this event's.
    facts_of_event.push_back(
        facts.urls().urls().data() == e.urls.data() &&
        facts.urls().size() == e.urls.size() &&
        facts.target_index() ==
            (e.target.known() ? CountryIndex(e.target) : -1) &&
        facts.account_hash() == StableHash64(e.account_id));
    if (e.id == "emit") {
      Alert a;
      a.id = "a1";
      a.detector = "recording";
      a.severity = Severity::kWarning;
      out.Emit(a);
    }
  }
  void AdvanceWatermark(absl::Time wm, AlertEmitter&) override {
    watermarks.push_back(wm);
  }
  OperatorStats stats() const override { return {}; }
  FeedSet feeds() const override { return reads; }

  FeedSet reads = kAllFeeds;
  std::vector<std::string> ids;
  std::vector<bool> facts_of_event;
  std::vector<absl::Time> watermarks;
};

class RecordingAlerts final : public AlertSink {
 public:
  absl::Status Write(const Alert& a) override {
    if (fail) return absl::UnavailableError("alert sink down");
    ids.push_back(a.id);
    return absl::OkStatus();
  }
  std::vector<std::string> ids;
  bool fail = false;
};

class RecordingDeadLetters final : public DeadLetterSink {
 public:
  absl::Status Write(const DeadLetter& d) override {
    reasons.push_back(std::string(d.reason));
    details.push_back(std::string(d.detail));
    bytes.push_back(std::string(d.bytes));
    positions.push_back(d.source.position);
    return absl::OkStatus();
  }
  std::vector<std::string> reasons;
  std::vector<std::string> details;
  std::vector<std::string> bytes;
  std::vector<int64_t> positions;
};

// Refuses the events whose id starts with "refuse" as too far ahead, as a
// detector does that cannot hold them.
class RefusingOperator final : public Operator {
 public:
  std::string_view name() const override { return "refusing"; }
  void Observe(const Event& e, EventFacts& facts, AlertEmitter&) override {
    if (e.id.starts_with("refuse")) {
      facts.Refuse(EventFacts::Refusal::kAhead);
    }
  }
  void AdvanceWatermark(absl::Time, AlertEmitter&) override {}
  OperatorStats stats() const override { return {}; }
};

std::string Post(std::string_view id, int64_t seconds) {
  return absl::StrFormat(
      R"({"id":"%s","platform":"x","created_at":"%s","account":{"id":"acc","country":"RU"},"target":"MD"})",
      std::string(id),
      FormatRfc3339(absl::FromUnixSeconds(1'800'000'000 + seconds)));
}

class PipelineTest : public ::testing::Test {
 protected:
  PipelineTest() {
    config_ = DefaultConfig();
    config_.watermark.max_out_of_orderness = absl::Seconds(10);
    config_.watermark.allowed_lateness = absl::ZeroDuration();
    // These tests reason about one record moving the watermark, and their
    // manual clocks start a few minutes before their events.
    config_.watermark.quorum = 1;
    config_.watermark.max_clock_lead = absl::Hours(1);
    auto op = std::make_unique<RecordingOperator>();
    op_ = op.get();
    std::vector<std::unique_ptr<Operator>> ops;
    ops.push_back(std::move(op));
    pipeline_ =
        std::make_unique<Pipeline>(config_, std::move(ops), &alerts_, &dead_);
  }

  absl::Status Feed(const std::string& line,
                    std::optional<FeedKind> hint = std::nullopt) {
    RawRecord r;
    r.bytes = line;
    r.capacity = line.size();  // unpadded: the decoder copies
    r.source = SourceRef{"test.ndjson", -1, ++line_};
    r.feed_hint = hint;
    return pipeline_->Process(r);
  }

  // A pipeline of its own on the injected `clock` (processing time, as in
  // Kafka), recording into *op.
  std::unique_ptr<Pipeline> ClockedPipeline(const Clock* clock,
                                            RecordingOperator** op) {
    auto recording = std::make_unique<RecordingOperator>();
    *op = recording.get();
    std::vector<std::unique_ptr<Operator>> ops;
    ops.push_back(std::move(recording));
    return std::make_unique<Pipeline>(config_, std::move(ops), &alerts_, &dead_,
                                      clock);
  }

  Config config_;
  RecordingOperator* op_;
  RecordingAlerts alerts_;
  RecordingDeadLetters dead_;
  std::unique_ptr<Pipeline> pipeline_;
  int64_t line_ = 0;
};

TEST_F(PipelineTest, EveryRecordIsProcessedRejectedOrLate) {
  ASSERT_TRUE(Feed(Post("p1", 100)).ok());
  ASSERT_TRUE(Feed("{not json").ok());
  ASSERT_TRUE(Feed(Post("p2", 95)).ok());   // out of order, within bound
  ASSERT_TRUE(Feed(Post("p3", 200)).ok());  // watermark -> 190
  ASSERT_TRUE(Feed(Post("p4", 100)).ok());  // late
  ASSERT_TRUE(Feed(R"({"id":"x","platform":"x"})").ok());
  const PipelineStats& s = pipeline_->stats();
  EXPECT_EQ(s.total_read(), 6);
  EXPECT_EQ(s.total_processed(), 3);
  EXPECT_EQ(s.total_rejected(), 2);
  EXPECT_EQ(s.total_late(), 1);
  EXPECT_EQ(s.total_processed() + s.total_rejected() + s.total_late(),
            s.total_read());
  EXPECT_THAT(op_->ids, ElementsAre("p1", "p2", "p3"));
  EXPECT_THAT(op_->facts_of_event, ElementsAre(true, true, true));
  EXPECT_THAT(dead_.reasons,
              ElementsAre("malformed_json", "late", "missing_field"));
  EXPECT_THAT(dead_.positions, ElementsAre(2, 5, 6));
  EXPECT_EQ(dead_.bytes[0], "{not json");
  EXPECT_EQ(dead_.bytes[1], Post("p4", 100));
}

TEST_F(PipelineTest, CrlfRecordsDecodeAndDeadLetterWithTheirCarriageReturn) {
  // An NDJSON archive with CRLF line ends: the '\r' is JSON whitespace to
  // the decoder and part of the original bytes a dead letter keeps.
  ASSERT_TRUE(Feed(Post("p1", 100) + "\r").ok());
  ASSERT_TRUE(Feed("{not json\r").ok());
  EXPECT_THAT(op_->ids, ElementsAre("p1"));
  EXPECT_THAT(dead_.reasons, ElementsAre("malformed_json"));
  EXPECT_THAT(dead_.bytes, ElementsAre("{not json\r"));
}

TEST_F(PipelineTest, RejectsAreLabelledWithTheFeedHint) {
  ASSERT_TRUE(Feed("garbage", FeedKind::kAd).ok());
  ASSERT_TRUE(Feed("garbage").ok());
  const PipelineStats& s = pipeline_->stats();
  const int malformed = static_cast<int>(RejectReason::kMalformedJson);
  EXPECT_EQ(s.rejected[static_cast<int>(FeedKind::kAd)][malformed].value(), 1);
  EXPECT_EQ(s.rejected[kFeedUnknown][malformed].value(), 1);
  EXPECT_EQ(s.read[static_cast<int>(FeedKind::kAd)].value(), 1);
}

TEST_F(PipelineTest, WatermarksReachOperatorsInOrderAndFinishClosesAll) {
  ASSERT_TRUE(Feed(Post("p1", 100)).ok());
  ASSERT_TRUE(Feed(Post("p2", 150)).ok());
  ASSERT_TRUE(Feed(Post("p3", 120)).ok());
  ASSERT_TRUE(pipeline_->Finish().ok());
  const absl::Time base = absl::FromUnixSeconds(1'800'000'000);
  EXPECT_THAT(op_->watermarks,
              ElementsAre(base + absl::Seconds(90), base + absl::Seconds(140),
                          base + absl::Seconds(150)));
  EXPECT_EQ(pipeline_->watermark(), base + absl::Seconds(150));
}

TEST_F(PipelineTest, AlertsAreCountedAndDelivered) {
  ASSERT_TRUE(Feed(Post("emit", 100)).ok());
  EXPECT_THAT(alerts_.ids, ElementsAre("a1"));
  auto counts = pipeline_->alert_counts().Snapshot();
  ASSERT_EQ(counts.size(), 1u);
  EXPECT_EQ(counts.begin()->first.detector, "recording");
  EXPECT_EQ(counts.begin()->second, 1);
}

TEST_F(PipelineTest, AlertSinkFailureIsReturnedNotSwallowed) {
  alerts_.fail = true;
  absl::Status s = Feed(Post("emit", 100));
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable);
  // The event itself was processed; the pipeline stays usable.
  EXPECT_EQ(pipeline_->stats().total_processed(), 1);
  alerts_.fail = false;
  EXPECT_TRUE(Feed(Post("emit", 101)).ok());
  EXPECT_THAT(alerts_.ids, ElementsAre("a1"));
}

TEST_F(PipelineTest, TickAdvancesPastAnIdleSourceOnTheInjectedClock) {
  ManualClock clock(absl::FromUnixSeconds(1'800'000'000));
  RecordingOperator* op_ptr;
  std::unique_ptr<Pipeline> pipeline = ClockedPipeline(&clock, &op_ptr);
  Pipeline& p = *pipeline;
  std::string a = Post("a", 100), b = Post("b", 300);
  RawRecord ra{a, a.size(), SourceRef{"posts", 0, 1}, FeedKind::kPost};
  RawRecord rb{b, b.size(), SourceRef{"posts", 1, 1}, FeedKind::kPost};
  ASSERT_TRUE(p.Process(ra).ok());
  ASSERT_TRUE(p.Process(rb).ok());
  const absl::Time base = absl::FromUnixSeconds(1'800'000'000);
  EXPECT_EQ(p.watermark(), base + absl::Seconds(90));  // held by partition 0
  clock.Advance(config_.watermark.idle_timeout);
  ASSERT_TRUE(p.Tick().ok());
  EXPECT_EQ(p.watermark(), base + absl::Seconds(290));
  EXPECT_EQ(op_ptr->watermarks.back(), base + absl::Seconds(290));
}

TEST_F(PipelineTest, APartitionOfOnlyMalformedRecordsDoesNotFreezeEventTime) {
  // Kafka declares every assigned partition, and again while it has a
  // backlog. One that receives only malformed records is always busy and
  // never yields an event time; before ObserveUntimed it held the watermark
  // at "no event yet", and every detector's windows froze (vigia demo's
  // bad lines all hash to one partition).
  ManualClock clock(absl::FromUnixSeconds(1'800'000'000));
  RecordingOperator* op_ptr;
  std::unique_ptr<Pipeline> pipeline = ClockedPipeline(&clock, &op_ptr);
  Pipeline& p = *pipeline;
  const SourceRef bad_partition{"posts", 1, 0};
  p.DeclareSource(bad_partition);
  const absl::Time base = absl::FromUnixSeconds(1'800'000'000);
  const std::string junk = "{not json";
  for (int i = 0; i < 5; ++i) {
    clock.Advance(absl::Milliseconds(100));
    const std::string a = Post(absl::StrCat("a", i), 100 * (i + 1));
    ASSERT_TRUE(
        p.Process({a, a.size(), SourceRef{"posts", 0, i}, FeedKind::kPost})
            .ok());
    ASSERT_TRUE(p.Process({junk, junk.size(), SourceRef{"posts", 1, i},
                           FeedKind::kPost})
                    .ok());
    p.DeclareSource(bad_partition);  // its backlog keeps it declared
  }
  EXPECT_EQ(dead_.reasons.size(), 5u);
  EXPECT_EQ(p.watermark(), base + absl::Seconds(490));
  ASSERT_FALSE(op_ptr->watermarks.empty());
  EXPECT_EQ(op_ptr->watermarks.back(), base + absl::Seconds(490));
}

std::string Ad(std::string_view id, int64_t seconds) {
  return absl::StrFormat(
      R"({"id":"%s","platform":"meta","created_at":"%s","page_id":"pg","payer":{"name":"P","country":"RU"},"target":"MD"})",
      std::string(id),
      FormatRfc3339(absl::FromUnixSeconds(1'800'000'000 + seconds)));
}

TEST_F(PipelineTest, ASparseAdsPartitionHoldsBackOnlyTheAdsDetectors) {
  // Ads are rare next to posts: an ads partition can go minutes without a
  // record. It must not keep the posts detectors' windows open until it
  // idles out (60 s by default), and ads must reach only ads detectors.
  ManualClock clock(absl::FromUnixSeconds(1'800'000'000));
  auto posts_op = std::make_unique<RecordingOperator>();
  auto ads_op = std::make_unique<RecordingOperator>();
  auto both_op = std::make_unique<RecordingOperator>();
  posts_op->reads = FeedBit(FeedKind::kPost);
  ads_op->reads = FeedBit(FeedKind::kAd);
  RecordingOperator* posts = posts_op.get();
  RecordingOperator* ads = ads_op.get();
  RecordingOperator* both = both_op.get();
  std::vector<std::unique_ptr<Operator>> ops;
  ops.push_back(std::move(posts_op));
  ops.push_back(std::move(ads_op));
  ops.push_back(std::move(both_op));
  Pipeline p(config_, std::move(ops), &alerts_, &dead_, &clock);
  const SourceRef ads_partition{"ads", 0, 0};
  p.DeclareSource(ads_partition, FeedKind::kAd);
  p.DeclareSource(SourceRef{"posts", 0, 0}, FeedKind::kPost);
  const absl::Time base = absl::FromUnixSeconds(1'800'000'000);
  const std::string ad = Ad("ad", 20);
  ASSERT_TRUE(
      p.Process({ad, ad.size(), SourceRef{"ads", 0, 1}, FeedKind::kAd}).ok());
  for (int i = 1; i <= 3; ++i) {
    clock.Advance(absl::Seconds(1));
    const std::string post = Post(absl::StrCat("p", i), 100 * i);
    ASSERT_TRUE(p.Process({post, post.size(), SourceRef{"posts", 0, i},
                           FeedKind::kPost})
                    .ok());
  }
  // The posts detector is at the posts' 300 s, less the 10 s bound; the ads
  // detector and one reading both feeds wait for the ads partition.
  ASSERT_FALSE(posts->watermarks.empty());
  EXPECT_EQ(posts->watermarks.back(), base + absl::Seconds(290));
  ASSERT_FALSE(ads->watermarks.empty());
  EXPECT_EQ(ads->watermarks.back(), base + absl::Seconds(10));
  ASSERT_FALSE(both->watermarks.empty());
  EXPECT_EQ(both->watermarks.back(), base + absl::Seconds(10));
  EXPECT_EQ(p.watermark(), base + absl::Seconds(10));
  EXPECT_THAT(posts->ids, ElementsAre("p1", "p2", "p3"));
  EXPECT_THAT(ads->ids, ElementsAre("ad"));
  EXPECT_THAT(both->ids, ElementsAre("ad", "p1", "p2", "p3"));
  // A post behind the posts watermark is late even though the whole (held
  // by the ads) is further back; an ad behind it is not.
  const std::string old_post = Post("old", 200);
  const std::string old_ad = Ad("ad2", 200);
  ASSERT_TRUE(p.Process({old_post, old_post.size(), SourceRef{"posts", 0, 4},
                         FeedKind::kPost})
                  .ok());
  ASSERT_TRUE(
      p.Process({old_ad, old_ad.size(), SourceRef{"ads", 0, 2}, FeedKind::kAd})
          .ok());
  EXPECT_THAT(dead_.reasons, ElementsAre("late"));
  EXPECT_THAT(ads->ids, ElementsAre("ad", "ad2"));
}

std::string PostFrom(std::string_view id, int64_t seconds,
                     std::string_view country, std::string_view target) {
  return absl::StrFormat(
      R"({"id":"%s","platform":"x","created_at":"%s","account":{"id":"acc","country":"%s"},"target":"%s"})",
      std::string(id),
      FormatRfc3339(absl::FromUnixSeconds(1'800'000'000 + seconds)),
      std::string(country), std::string(target));
}

// Issue 15: an event a detector cannot take is not dropped silently. The
// record goes to the dead letters as detector_refused, naming the detector
// and why; the other detectors still take it, and it counts as processed
// and refused.
TEST_F(PipelineTest, AnEventADetectorRefusesIsDeadLetteredAndTakenByTheRest) {
  auto refusing = std::make_unique<RefusingOperator>();
  auto recording = std::make_unique<RecordingOperator>();
  RecordingOperator* rec = recording.get();
  std::vector<std::unique_ptr<Operator>> ops;
  ops.push_back(std::move(refusing));
  ops.push_back(std::move(recording));
  Pipeline p(config_, std::move(ops), &alerts_, &dead_);
  const std::vector<std::string> lines = {Post("p1", 0), Post("refuse1", 10),
                                          Post("p2", 20)};
  for (size_t i = 0; i < lines.size(); ++i) {
    const RawRecord r{lines[i], lines[i].size(),
                      SourceRef{"test.ndjson", -1, static_cast<int64_t>(i + 1)},
                      std::nullopt};
    ASSERT_TRUE(p.Process(r).ok());
  }
  EXPECT_THAT(rec->ids, ElementsAre("p1", "refuse1", "p2"));
  ASSERT_THAT(dead_.reasons, ElementsAre("detector_refused"));
  EXPECT_EQ(dead_.bytes[0], lines[1]);
  EXPECT_EQ(dead_.positions[0], 2);
  EXPECT_THAT(dead_.details[0],
              ::testing::HasSubstr("refused by refusing: further ahead"));
  EXPECT_EQ(p.stats().total_processed(), 3);
  EXPECT_EQ(p.stats().total_refused(), 1);
  EXPECT_EQ(p.stats().refused[static_cast<int>(FeedKind::kPost)].value(), 1);
}

// The same with a real detector: foreign_origin_surge at its key cap
// refuses the posts of a new (target, origin) pair, and one far ahead of
// its last evaluation.
TEST_F(PipelineTest, ADetectorAtItsCapOrOutrunDeadLettersWhatItRefuses) {
  ForeignOriginSurgeOptions options;
  options.max_keys = 1;
  OperatorContext context;
  context.config_hash = "cfg";
  std::vector<std::unique_ptr<Operator>> ops;
  ops.push_back(MakeForeignOriginSurge(options, context));
  Pipeline p(config_, std::move(ops), &alerts_, &dead_);
  const std::vector<std::string> lines = {
      PostFrom("p1", 0, "RU", "MD"),
      PostFrom("p2", 30, "RU", "UA"),  // a second key: over the cap
      PostFrom("p3", 60, "RU", "MD"),
      // Eight hours on: beyond what the key's window holds ahead of its
      // last evaluation (six hours), so refused although not late.
      PostFrom("p4", 8 * 3600, "RU", "MD"),
      PostFrom("p5", 8 * 3600 + 60, "RU", "MD")};
  for (size_t i = 0; i < lines.size(); ++i) {
    const RawRecord r{lines[i], lines[i].size(),
                      SourceRef{"test.ndjson", -1, static_cast<int64_t>(i + 1)},
                      std::nullopt};
    ASSERT_TRUE(p.Process(r).ok());
  }
  ASSERT_THAT(dead_.reasons,
              ElementsAre("detector_refused", "detector_refused"));
  EXPECT_THAT(dead_.positions, ElementsAre(2, 4));
  EXPECT_THAT(dead_.details[0],
              ::testing::HasSubstr("refused by foreign_origin_surge: at its "
                                   "state cap (max_keys"));
  EXPECT_THAT(dead_.details[1],
              ::testing::HasSubstr("refused by foreign_origin_surge: further "
                                   "ahead of its last evaluation"));
  EXPECT_EQ(p.stats().total_processed(), 5);
  EXPECT_EQ(p.stats().total_refused(), 2);
}

TEST_F(PipelineTest, ForeignEventsAreCountedByFeedTargetAndOrigin) {
  ASSERT_TRUE(Feed(PostFrom("p1", 1, "RU", "MD")).ok());
  ASSERT_TRUE(Feed(PostFrom("p2", 2, "RU", "MD")).ok());
  ASSERT_TRUE(Feed(PostFrom("p3", 3, "BY", "MD")).ok());
  ASSERT_TRUE(Feed(PostFrom("p4", 4, "MD", "MD")).ok());  // domestic
  // Origin unknown: no account country.
  ASSERT_TRUE(
      Feed(
          absl::StrFormat(
              R"({"id":"p5","platform":"x","created_at":"%s","account":{"id":"acc"},"target":"MD"})",
              FormatRfc3339(absl::FromUnixSeconds(1'800'000'005))))
          .ok());
  const auto counts = pipeline_->foreign_events().Snapshot();
  using Key = ForeignEventCounts::Key;
  const CountryCode md = CountryCode::FromString("MD");
  std::map<Key, int64_t> want = {
      {Key{FeedKind::kPost, md, CountryCode::FromString("RU")}, 2},
      {Key{FeedKind::kPost, md, CountryCode::FromString("BY")}, 1}};
  EXPECT_EQ(counts, want);
  EXPECT_EQ(pipeline_->stats().total_processed(), 5);
}

TEST(ForeignEventCounts, PairsBeyondTheCapCountAsOtherPerTarget) {
  ForeignEventCounts counts;
  // Every (target, origin) pair over A-Z codes is far more than the cap.
  int added = 0;
  for (char t0 = 'A'; t0 <= 'Z' && added < ForeignEventCounts::kMaxPairs + 100;
       ++t0) {
    for (char t1 = 'A'; t1 <= 'Z'; ++t1) {
      for (char o1 = 'A'; o1 <= 'Z'; ++o1) {
        const CountryCode target = CountryCode::FromChars(t0, t1);
        const CountryCode origin = CountryCode::FromChars('Z', o1);
        if (target == origin) continue;
        counts.Add(FeedKind::kAd, target, origin);
        counts.Add(FeedKind::kAd, target, origin);
        ++added;
      }
    }
  }
  ASSERT_GT(added, ForeignEventCounts::kMaxPairs);
  const auto snapshot = counts.Snapshot();
  int64_t total = 0;
  int named = 0;
  int other = 0;
  for (const auto& [key, n] : snapshot) {
    EXPECT_EQ(key.feed, FeedKind::kAd);
    total += n;
    if (key.origin.known()) {
      ++named;
      EXPECT_EQ(n, 2);
    } else {
      ++other;
    }
  }
  EXPECT_EQ(named, ForeignEventCounts::kMaxPairs);
  EXPECT_GT(other, 0);
  EXPECT_EQ(total, 2 * added);  // nothing lost
}

// A pipeline on the default watermark options (quorum, lead bounds), fed
// one source as replay or a Kafka partition would.
class FuturePipelineTest : public ::testing::Test {
 protected:
  void Start(const Clock* clock = nullptr) {
    auto op = std::make_unique<RecordingOperator>();
    op_ = op.get();
    std::vector<std::unique_ptr<Operator>> ops;
    ops.push_back(std::move(op));
    pipeline_ = std::make_unique<Pipeline>(config_, std::move(ops), &alerts_,
                                           &dead_, clock);
  }
  absl::Status Feed(const std::string& line) {
    RawRecord r{line, line.size(), SourceRef{"posts", 0, ++offset_},
                FeedKind::kPost};
    return pipeline_->Process(r);
  }
  int64_t Future() const {
    return pipeline_->stats()
        .rejected[static_cast<int>(FeedKind::kPost)]
                 [static_cast<int>(RejectReason::kFuture)]
        .value();
  }

  Config config_ = DefaultConfig();
  RecordingOperator* op_ = nullptr;
  RecordingAlerts alerts_;
  RecordingDeadLetters dead_;
  std::unique_ptr<Pipeline> pipeline_;
  int64_t offset_ = 0;
};

std::string PostAt(std::string_view id, absl::Time t) {
  return absl::StrFormat(
      R"({"id":"%s","platform":"x","created_at":"%s","account":{"id":"acc","country":"RU"},"target":"MD"})",
      std::string(id), FormatRfc3339(t));
}

const absl::Time kYear9999 = absl::FromCivil(
    absl::CivilSecond(9999, 12, 31, 23, 59, 59), absl::UTCTimeZone());

TEST_F(FuturePipelineTest, OneRecordFromYear9999DoesNotMakeTheRestLate) {
  // Regression: one such post after line 1,000 of the diaspora scenario made
  // the next 211,763 late, and no detector raised anything.
  Start();
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(Feed(Post(absl::StrCat("p", i), i)).ok());
  }
  ASSERT_TRUE(Feed(PostAt("far", kYear9999)).ok());
  ASSERT_TRUE(Feed(PostAt("next-year", absl::FromUnixSeconds(1'800'000'000) +
                                           absl::Hours(24 * 365)))
                  .ok());
  for (int i = 1000; i < 2000; ++i) {
    ASSERT_TRUE(Feed(Post(absl::StrCat("p", i), i)).ok());
  }
  ASSERT_TRUE(pipeline_->Finish().ok());
  const PipelineStats& s = pipeline_->stats();
  EXPECT_EQ(s.total_late(), 0);
  EXPECT_EQ(s.total_processed(), 2000);
  EXPECT_EQ(Future(), 2);
  EXPECT_EQ(s.total_read(),
            s.total_processed() + s.total_rejected() + s.total_late());
  EXPECT_THAT(dead_.reasons, ElementsAre("future", "future"));
  EXPECT_THAT(dead_.positions, ElementsAre(1001, 1002));
  EXPECT_EQ(dead_.bytes[0], PostAt("far", kYear9999));
  EXPECT_EQ(pipeline_->max_event_time(),
            absl::FromUnixSeconds(1'800'000'000 + 1999));
  EXPECT_EQ(pipeline_->watermark(),
            absl::FromUnixSeconds(1'800'000'000 + 1999));
}

TEST_F(FuturePipelineTest, AHandfulOfClocksAheadWithinTheBoundMakeNothingLate) {
  // Bad clocks half an hour ahead are within max_lead and accepted, but
  // three in every 64 records cannot move event time.
  Start();
  for (int i = 0; i < 2000; ++i) {
    const bool bad = i % 64 == 5 || i % 64 == 25 || i % 64 == 45;
    const int64_t t = bad ? i + 1800 : i;
    ASSERT_TRUE(Feed(Post(absl::StrCat("p", i), t)).ok());
  }
  const PipelineStats& s = pipeline_->stats();
  EXPECT_EQ(s.total_late(), 0);
  EXPECT_EQ(Future(), 0);
  EXPECT_EQ(s.total_processed(), 2000);
  EXPECT_LE(pipeline_->watermark(),
            absl::FromUnixSeconds(1'800'000'000 + 1999));
}

TEST_F(FuturePipelineTest, AnOutageWithinTheBoundLosesNothing) {
  Start();
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(Feed(Post(absl::StrCat("p", i), i)).ok());
  }
  // The collector was down for three hours (the generator's background has
  // a two-hour outage); the feed resumes.
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(Feed(Post(absl::StrCat("q", i), 3 * 3600 + i)).ok());
  }
  EXPECT_EQ(Future(), 0);
  EXPECT_EQ(pipeline_->stats().total_processed(), 200);
}

TEST_F(FuturePipelineTest, AGapInTheFeedCostsGapQuorumLessOneRecords) {
  Start();
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(Feed(Post(absl::StrCat("p", i), i)).ok());
  }
  // The collector was down for longer than the bound; the feed resumes.
  const int64_t gap =
      absl::ToInt64Seconds(config_.watermark.max_lead) + 3 * 3600;
  for (int i = 0; i < 100; ++i) {
    ASSERT_TRUE(Feed(Post(absl::StrCat("q", i), gap + i)).ok());
  }
  const PipelineStats& s = pipeline_->stats();
  EXPECT_EQ(Future(), config_.watermark.gap_quorum - 1);
  EXPECT_EQ(s.total_late(), 0);
  EXPECT_EQ(s.total_processed(), 200 - (config_.watermark.gap_quorum - 1));
  EXPECT_GE(pipeline_->watermark(), absl::FromUnixSeconds(1'800'000'000 + gap));
  ASSERT_FALSE(dead_.reasons.empty());
  EXPECT_EQ(dead_.reasons.front(), "future");
}

TEST_F(FuturePipelineTest,
       AWrongClockAmongTheFirstRecordsNeverReachesTheDetectors) {
  // Regression: the progress quorum needs `quorum` records before it can
  // bound anything, so a year-9999 post among a file's first three went to
  // every detector. The first records are now held until a majority of
  // 2 * quorum - 1 can speak. Each position in that window, and the three
  // (quorum - 1) bad clocks at once that the quorum tolerates elsewhere.
  const int majority = 2 * config_.watermark.quorum - 1;
  std::vector<std::vector<int>> cases;
  for (int k = 0; k < majority; ++k) cases.push_back({k});
  cases.push_back({0, 1, 2});
  cases.push_back({0, 3, 6});
  for (const std::vector<int>& bad : cases) {
    SCOPED_TRACE(absl::StrCat("bad at ", absl::StrJoin(bad, ",")));
    dead_.reasons.clear();
    dead_.positions.clear();
    dead_.bytes.clear();
    offset_ = 0;
    Start();
    std::vector<std::string> honest;
    std::vector<int64_t> bad_positions;
    for (int i = 0, n = 0; i < 100; ++i) {
      if (std::find(bad.begin(), bad.end(), i) != bad.end()) {
        ASSERT_TRUE(Feed(PostAt(absl::StrCat("far", i), kYear9999)).ok());
        bad_positions.push_back(offset_);
      } else {
        honest.push_back(absl::StrCat("p", n));
        ASSERT_TRUE(Feed(Post(honest.back(), n++)).ok());
      }
    }
    ASSERT_TRUE(pipeline_->Finish().ok());
    // Every honest record reached the detectors, in order; no bad one did.
    EXPECT_EQ(op_->ids, honest);
    EXPECT_EQ(Future(), static_cast<int64_t>(bad.size()));
    EXPECT_EQ(dead_.positions, bad_positions);
    EXPECT_THAT(dead_.reasons, Each("future"));
    const PipelineStats& s = pipeline_->stats();
    EXPECT_EQ(s.total_read(), 100);
    EXPECT_EQ(s.total_late(), 0);
    EXPECT_EQ(s.total_read(),
              s.total_processed() + s.total_rejected() + s.total_late());
    EXPECT_LT(pipeline_->max_event_time(), kYear9999);
  }
}

TEST_F(FuturePipelineTest, AShortFileIsJudgedAtTheEndAndAClockFarBehindIsLate) {
  // Two records, one far ahead: judged on the median of two (the earlier).
  Start();
  ASSERT_TRUE(Feed(Post("p0", 0)).ok());
  ASSERT_TRUE(Feed(PostAt("far", kYear9999)).ok());
  EXPECT_TRUE(op_->ids.empty());  // still held
  ASSERT_TRUE(pipeline_->Finish().ok());
  EXPECT_THAT(op_->ids, ElementsAre("p0"));
  EXPECT_EQ(Future(), 1);

  // A clock decades behind at the start would have set the source's first
  // progress (the oldest of its first `quorum`) and made the honest records
  // after it `future`: it is late instead, and malformed records held with
  // it keep their place.
  dead_.reasons.clear();
  dead_.positions.clear();
  dead_.bytes.clear();
  offset_ = 0;
  Start();
  ASSERT_TRUE(Feed(PostAt("old", absl::FromUnixSeconds(0))).ok());
  ASSERT_TRUE(Feed("{oops").ok());
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(Feed(Post(absl::StrCat("p", i), i)).ok());
  }
  ASSERT_TRUE(pipeline_->Finish().ok());
  EXPECT_EQ(Future(), 0);
  EXPECT_EQ(op_->ids.size(), 20u);
  EXPECT_EQ(op_->ids.front(), "p0");
  EXPECT_THAT(dead_.reasons, ElementsAre("late", "malformed_json"));
  EXPECT_THAT(dead_.positions, ElementsAre(1, 2));
  const PipelineStats& s = pipeline_->stats();
  EXPECT_EQ(s.total_late(), 1);
  EXPECT_EQ(s.total_read(),
            s.total_processed() + s.total_rejected() + s.total_late());
}

TEST_F(FuturePipelineTest, ReleaseHeldProcessesWhatAFailedReadLeftHeld) {
  // A replay whose input fails on line 4 (a truncated .gz) stops without
  // Finish(); the three lines before it are still counted.
  Start();
  ASSERT_TRUE(Feed(Post("p0", 0)).ok());
  ASSERT_TRUE(Feed("{oops").ok());
  ASSERT_TRUE(Feed(Post("p1", 1)).ok());
  EXPECT_EQ(pipeline_->stats().total_read(), 0);
  ASSERT_TRUE(pipeline_->ReleaseHeld().ok());
  EXPECT_EQ(pipeline_->stats().total_read(), 3);
  EXPECT_EQ(pipeline_->stats().total_processed(), 2);
  EXPECT_THAT(op_->ids, ElementsAre("p0", "p1"));
  EXPECT_THAT(dead_.positions, ElementsAre(2));
  // Released once: later records are not held again.
  ASSERT_TRUE(Feed(Post("p2", 2)).ok());
  EXPECT_THAT(op_->ids, ElementsAre("p0", "p1", "p2"));
}

TEST_F(FuturePipelineTest, WithAClockAnEventFarAheadOfProcessingTimeIsFuture) {
  const absl::Time now = absl::FromUnixSeconds(1'800'000'000);
  ManualClock clock(now);
  Start(&clock);
  ASSERT_TRUE(Feed(PostAt("ok", now + absl::Minutes(4))).ok());
  ASSERT_TRUE(Feed(PostAt("ahead", now + absl::Minutes(6))).ok());
  ASSERT_TRUE(Feed(PostAt("far", kYear9999)).ok());
  EXPECT_THAT(op_->ids, ElementsAre("ok"));
  EXPECT_EQ(Future(), 2);
  EXPECT_THAT(dead_.reasons, ElementsAre("future", "future"));
  // A run of them is no gap with a clock: processing time is the authority.
  for (int i = 0; i < 2 * config_.watermark.gap_quorum; ++i) {
    ASSERT_TRUE(Feed(PostAt("ahead", now + absl::Hours(2))).ok());
  }
  EXPECT_THAT(op_->ids, ElementsAre("ok"));
  clock.Advance(absl::Hours(2));
  ASSERT_TRUE(Feed(PostAt("later", now + absl::Hours(2))).ok());
  EXPECT_THAT(op_->ids, ElementsAre("ok", "later"));
  EXPECT_EQ(pipeline_->max_event_time(), now + absl::Hours(2));
}

}  // namespace
}  // namespace vigia
