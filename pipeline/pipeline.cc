#include "pipeline/pipeline.h"

#include <algorithm>
#include <utility>

#include "absl/strings/str_cat.h"
#include "pipeline/core/log.h"
#include "pipeline/core/status_macros.h"
#include "pipeline/core/strings.h"
#include "pipeline/detectors.h"

namespace vigia {

std::string_view FeedSlotName(int slot) {
  switch (slot) {
    case 0:
      return FeedName(FeedKind::kPost);
    case 1:
      return FeedName(FeedKind::kAd);
    default:
      return "unknown";
  }
}

namespace {

int64_t Sum(const std::array<StatCounter, kFeedSlots>& a) {
  int64_t n = 0;
  for (const StatCounter& c : a) n += c.value();
  return n;
}

}  // namespace

int64_t PipelineStats::total_read() const { return Sum(read); }
int64_t PipelineStats::total_processed() const { return Sum(processed); }
int64_t PipelineStats::total_late() const { return Sum(late); }
int64_t PipelineStats::total_refused() const { return Sum(refused); }
int64_t PipelineStats::total_rejected() const {
  int64_t n = 0;
  for (const auto& by_reason : rejected) {
    for (const StatCounter& c : by_reason) n += c.value();
  }
  return n;
}

void AlertCounts::Add(const Alert& alert) {
  absl::MutexLock lock(&mu_);
  ++counts_[Key{alert.detector, alert.severity, alert.state}];
  ++by_target_[TargetKey{alert.detector, alert.severity, alert.state,
                         alert.target, alert.origin}];
}

std::map<AlertCounts::Key, int64_t> AlertCounts::Snapshot() const {
  absl::MutexLock lock(&mu_);
  return counts_;
}

std::map<AlertCounts::TargetKey, int64_t> AlertCounts::SnapshotByTarget()
    const {
  absl::MutexLock lock(&mu_);
  return by_target_;
}

namespace {

int CodeIndex(CountryCode c) {
  return ((c.packed() >> 8) - 'A') * 26 + ((c.packed() & 0xff) - 'A');
}

CountryCode CodeFromIndex(int i) {
  return CountryCode::FromChars(static_cast<char>('A' + i / 26),
                                static_cast<char>('A' + i % 26));
}

}  // namespace

ForeignEventCounts::ForeignEventCounts()
    : slots_(std::make_unique<Slot[]>(kSlots)) {}

void ForeignEventCounts::Add(FeedKind feed, CountryCode target,
                             CountryCode origin) {
  const int t = CodeIndex(target);
  const uint32_t key =
      1 + ((static_cast<uint32_t>(feed) * kCodes + static_cast<uint32_t>(t)) *
               kCodes +
           static_cast<uint32_t>(CodeIndex(origin)));
  // Fibonacci hashing; the table is at most half full, so probes are short.
  uint32_t i = (key * 2654435769u) >> (32 - 13);
  static_assert(kSlots == 1 << 13);
  while (true) {
    Slot& slot = slots_[i];
    const uint32_t k = slot.key.load(std::memory_order_relaxed);
    if (k == key) {
      slot.count.Add();
      return;
    }
    if (k == 0) {
      if (ABSL_PREDICT_FALSE(used_ >= kMaxPairs)) {
        other_[static_cast<int>(feed)][t].Add();
        return;
      }
      ++used_;
      slot.count.Add();
      slot.key.store(key, std::memory_order_release);
      return;
    }
    i = (i + 1) & (kSlots - 1);
  }
}

std::map<ForeignEventCounts::Key, int64_t> ForeignEventCounts::Snapshot()
    const {
  std::map<Key, int64_t> out;
  for (int i = 0; i < kSlots; ++i) {
    const uint32_t k = slots_[i].key.load(std::memory_order_acquire);
    if (k == 0) continue;
    const uint32_t v = k - 1;
    const Key key{static_cast<FeedKind>(v / (kCodes * kCodes)),
                  CodeFromIndex(static_cast<int>(v / kCodes % kCodes)),
                  CodeFromIndex(static_cast<int>(v % kCodes))};
    out[key] += slots_[i].count.value();
  }
  for (int f = 0; f < kNumFeeds; ++f) {
    for (int t = 0; t < kCodes; ++t) {
      const int64_t n = other_[f][t].value();
      if (n > 0) {
        out[Key{static_cast<FeedKind>(f), CodeFromIndex(t), CountryCode()}] +=
            n;
      }
    }
  }
  return out;
}

// Forwards operator alerts to the sink, counting them and keeping the first
// sink error for the pipeline to return.
class Pipeline::Emitter final : public AlertEmitter {
 public:
  Emitter(AlertSink* sink, AlertCounts* counts, CampaignLinker* campaigns)
      : sink_(sink), counts_(counts), campaigns_(campaigns) {}

  void Emit(Alert alert) override {
    alert.campaign = campaigns_->Stamp(alert);
    counts_->Add(alert);
    absl::Status s = sink_->Write(alert);
    if (!s.ok() && status_.ok()) status_ = std::move(s);
  }

  absl::Status TakeStatus() { return std::exchange(status_, absl::OkStatus()); }

 private:
  AlertSink* sink_;
  AlertCounts* counts_;
  CampaignLinker* campaigns_;
  absl::Status status_;
};

Pipeline::Pipeline(const Config& config,
                   std::vector<std::unique_ptr<Operator>> operators,
                   AlertSink* alert_sink, DeadLetterSink* dead_letter_sink,
                   const Clock* clock)
    : config_(config),
      operators_(std::move(operators)),
      alert_sink_(alert_sink),
      dead_letter_sink_(dead_letter_sink),
      clock_(clock),
      decoder_(config.decoder),
      watermark_(config.watermark),
      emitter_(
          std::make_unique<Emitter>(alert_sink_, &alert_counts_, &campaigns_)) {
  for (const auto& op : operators_) {
    op_stats_.emplace_back(std::string(op->name()), op->stats());
    op_scores_.emplace_back(std::string(op->name()), op->LatestScores());
    op_feeds_.push_back(op->feeds());
    for (int f = 0; f < kNumFeeds; ++f) {
      if (op_feeds_.back() & FeedBit(static_cast<FeedKind>(f))) {
        readers_[f].push_back(op.get());
      }
    }
  }
  op_watermark_.assign(operators_.size(), absl::InfinitePast());
}

Pipeline::~Pipeline() = default;

std::vector<std::unique_ptr<Operator>> Pipeline::MakeOperators(
    const Config& config) {
  const OperatorContext context = MakeOperatorContext(config);
  std::vector<std::unique_ptr<Operator>> ops;
  for (const DetectorDescriptor& detector : Detectors()) {
    if (detector.enabled(config)) ops.push_back(detector.make(config, context));
  }
  return ops;
}

absl::Time Pipeline::Now() const {
  // Without a clock, processing time follows event time (the sources'
  // progress, which a few bad clocks cannot move), so the idle timeout is
  // measured in event time and replays are deterministic.
  return clock_ != nullptr ? clock_->Now() : watermark_.progress();
}

std::optional<absl::Time> Pipeline::ClockNow() const {
  if (clock_ == nullptr) return std::nullopt;
  return clock_->Now();
}

bool Pipeline::IsFuture(const SourceRef& source, absl::Time t,
                        std::string_view platform) {
  if (ABSL_PREDICT_TRUE(t <= watermark_.LeadBound(source, ClockNow()))) {
    return false;
  }
  // With a clock nothing may lead it by more than the bound; without one a
  // long enough run of agreeing records is a gap in the feed, and accepted.
  return clock_ != nullptr || !watermark_.ConfirmsGap(source, t, platform);
}

std::string Pipeline::FutureDetail(const SourceRef& source, absl::Time t) {
  const std::optional<absl::Time> now = ClockNow();
  if (now.has_value()) {
    return absl::StrCat("event time ", FormatRfc3339(t),
                        " is ahead of processing time ", FormatRfc3339(*now),
                        " by more than ",
                        absl::FormatDuration(config_.watermark.max_clock_lead),
                        " (watermark.max_clock_lead)");
  }
  const absl::Time progress =
      watermark_.LeadBound(source, std::nullopt) - config_.watermark.max_lead;
  return absl::StrCat("event time ", FormatRfc3339(t),
                      " is ahead of its source's progress ",
                      FormatRfc3339(progress), " by more than ",
                      absl::FormatDuration(config_.watermark.max_lead),
                      " (watermark.max_lead)");
}

absl::Status Pipeline::DeadLetterRecord(const RawRecord& record, int feed_slot,
                                        std::string_view reason,
                                        std::string_view detail) {
  DeadLetter letter{reason, detail, record.bytes, record.source};
  absl::Status s = dead_letter_sink_->Write(letter);
  if (!s.ok()) {
    stats_.dead_letter_errors.Add();
    return absl::Status(s.code(),
                        absl::StrCat("dead-letter sink: ", s.message()));
  }
  return absl::OkStatus();
}

absl::Status Pipeline::Process(const RawRecord& record) {
  // With a clock every record is measured against it (max_clock_lead).
  // quorum 1 asks for no protection from wrong clocks (progress is the
  // newest event time), so nothing is held.
  if (clock_ == nullptr && config_.watermark.quorum > 1 &&
      !watermark_.Presumed(record.source)) {
    return Hold(record);
  }
  return ProcessNow(record);
}

absl::Status Pipeline::Hold(const RawRecord& record) {
  Holding* h = nullptr;
  for (const std::unique_ptr<Holding>& candidate : holding_) {
    if (!candidate->released &&
        candidate->partition == record.source.partition &&
        candidate->source == record.source.source) {
      h = candidate.get();
      break;
    }
  }
  if (h == nullptr) {
    holding_.push_back(std::make_unique<Holding>());
    h = holding_.back().get();
    h->source = std::string(record.source.source);
    h->partition = record.source.partition;
    // Declared, so the watermark waits for it as for any source yet to
    // deliver, instead of running past what it holds.
    watermark_.Observe(record.source, absl::InfinitePast(), Now());
  }
  h->records.push_back(HeldRecord{std::string(record.bytes),
                                  record.source.position, record.feed_hint});
  // Only the event time is wanted now; the record is decoded again when
  // it is processed.
  const RejectReason reason =
      record.capacity >= record.bytes.size() + Decoder::padding()
          ? decoder_.Decode(record.bytes, record.capacity, record.source)
          : decoder_.DecodeUnpadded(record.bytes, record.source);
  if (reason == RejectReason::kNone) {
    h->times.push_back(decoder_.event().created_at);
  }
  const int majority = 2 * config_.watermark.quorum - 1;
  h->bytes += record.bytes.size();
  if (static_cast<int>(h->times.size()) >= majority ||
      static_cast<int>(h->records.size()) >= kMaxHeldRecords ||
      h->bytes >= kMaxHeldBytes) {
    return Release(*h);
  }
  return absl::OkStatus();
}

absl::Status Pipeline::Release(Holding& h) {
  h.released = true;
  const SourceRef source{h.source, h.partition, 0};
  // The median (the lower one of an even count): wrong clocks, ahead or
  // behind, are fewer than half of what is held, so it is an honest time.
  std::vector<absl::Time> times = std::move(h.times);
  absl::Time presumed = absl::InfinitePast();
  if (!times.empty()) {
    const size_t mid = (times.size() - 1) / 2;
    std::nth_element(times.begin(), times.begin() + mid, times.end());
    presumed = times[mid];
  }
  watermark_.Presume(source, presumed);
  absl::Status status;
  for (HeldRecord& held : h.records) {
    RawRecord record;
    record.bytes = held.bytes;
    record.capacity = held.bytes.size();
    record.source = SourceRef{h.source, h.partition, held.position};
    record.feed_hint = held.feed_hint;
    status.Update(ProcessNow(record));
  }
  h.records.clear();
  h.records.shrink_to_fit();
  return status;
}

absl::Status Pipeline::ProcessNow(const RawRecord& record) {
  const int hint_slot =
      record.feed_hint ? static_cast<int>(*record.feed_hint) : kFeedUnknown;
  RejectReason reason;
  if (record.capacity >= record.bytes.size() + Decoder::padding()) {
    reason = decoder_.Decode(record.bytes, record.capacity, record.source);
  } else {
    reason = decoder_.DecodeUnpadded(record.bytes, record.source);
  }
  if (ABSL_PREDICT_FALSE(reason != RejectReason::kNone)) {
    last_target_ = CountryCode();
    stats_.read[hint_slot].Add();
    stats_.rejected[hint_slot][static_cast<int>(reason)].Add();
    watermark_.ObserveUntimed(record.source, Now());
    return DeadLetterRecord(record, hint_slot, RejectReasonName(reason),
                            decoder_.detail());
  }

  const Event& event = decoder_.event();
  last_target_ = event.target;
  const int slot = static_cast<int>(event.kind);
  stats_.read[slot].Add();
  if (ABSL_PREDICT_FALSE(
          IsFuture(record.source, event.created_at, event.platform))) {
    stats_.rejected[slot][static_cast<int>(RejectReason::kFuture)].Add();
    // It came from the source, but says nothing usable about event time.
    watermark_.ObserveUntimed(record.source, Now());
    return DeadLetterRecord(record, slot,
                            RejectReasonName(RejectReason::kFuture),
                            FutureDetail(record.source, event.created_at));
  }
  if (ABSL_PREDICT_FALSE(clock_ == nullptr &&
                         event.created_at <
                             watermark_.TrailBound(record.source))) {
    // Far behind the source's first records (see Process()): late, as it
    // would be behind any watermark those records set.
    stats_.late[slot].Add();
    const absl::Time presumed =
        watermark_.TrailBound(record.source) + config_.watermark.max_lead;
    const std::string detail =
        absl::StrCat("event time ", FormatRfc3339(event.created_at),
                     " is behind the median of its source's first records ",
                     FormatRfc3339(presumed), " by more than ",
                     absl::FormatDuration(config_.watermark.max_lead),
                     " (watermark.max_lead)");
    return DeadLetterRecord(record, slot, "late", detail);
  }
  if (ABSL_PREDICT_FALSE(watermark_.IsLate(event.created_at, event.kind))) {
    stats_.late[slot].Add();
    const std::string detail = absl::StrCat(
        "event time ", FormatRfc3339(event.created_at), " is behind the ",
        ToAbsl(FeedName(event.kind)), " watermark ",
        FormatRfc3339(watermark_.feed_watermark(event.kind)), " by more than ",
        absl::FormatDuration(config_.watermark.allowed_lateness));
    return DeadLetterRecord(record, slot, "late", detail);
  }

  watermark_.Observe(record.source, event.created_at,
                     clock_ != nullptr ? clock_->Now() : event.created_at,
                     event.kind, event.platform);
  max_event_us_.store(absl::ToUnixMicros(watermark_.max_event_time()),
                      std::memory_order_relaxed);
  // Every operator's prefetch first: posting_clock, observing last, finds
  // its account among a hundred thousand.
  const std::vector<Operator*>& readers = readers_[slot];
  facts_.Reset(event);
  for (Operator* op : readers) op->Prefetch(event, facts_);
  for (Operator* op : readers) {
    op->Observe(event, facts_, *emitter_);
    if (ABSL_PREDICT_FALSE(facts_.refused())) {
      refusals_.emplace_back(op->name(), facts_.TakeRefusal());
    }
  }
  stats_.processed[slot].Add();
  if (event.is_foreign() && event.target.known()) {
    foreign_.Add(event.kind, event.target, event.origin());
  }
  absl::Status refused;
  if (ABSL_PREDICT_FALSE(!refusals_.empty())) {
    refused = DeadLetterRefused(record, slot, event);
  }

  absl::Status s = emitter_->TakeStatus();
  absl::Status advanced = AdvanceTo(watermark_.Advance(Now()));
  if (!s.ok()) return s;
  return refused.ok() ? advanced : refused;
}

absl::Status Pipeline::DeadLetterRefused(const RawRecord& record, int feed_slot,
                                         const Event& event) {
  stats_.refused[feed_slot].Add();
  std::string detail = absl::StrCat(
      "event time ", FormatRfc3339(event.created_at), " refused by ");
  for (size_t i = 0; i < refusals_.size(); ++i) {
    absl::StrAppend(&detail, i > 0 ? "; by " : "", ToAbsl(refusals_[i].first),
                    ": ", RefusalText(refusals_[i].second));
  }
  absl::StrAppend(&detail, "; every other detector took it");
  refusals_.clear();
  const int64_t n = stats_.total_refused();
  if (n <= 10 || n % 1000 == 0) {
    const SourceRef& at = record.source;
    VIGIA_LOG(WARNING) << "detector refused an event (" << n
                       << " so far): " << detail << "; the record ("
                       << at.source
                       << (at.is_kafka()
                               ? absl::StrCat("/", at.partition, " offset ")
                               : std::string(" line "))
                       << at.position
                       << ") goes to the dead letters as detector_refused";
  }
  return DeadLetterRecord(record, feed_slot, "detector_refused", detail);
}

absl::Status Pipeline::AdvanceTo(absl::Time watermark) {
  if (watermark != absl::InfinitePast()) {
    watermark_us_.store(absl::ToUnixMicros(watermark),
                        std::memory_order_relaxed);
  }
  std::array<absl::Time, kNumFeeds> feed;
  for (int f = 0; f < kNumFeeds; ++f) {
    feed[f] = watermark_.feed_watermark(static_cast<FeedKind>(f));
    if (feed[f] != absl::InfinitePast()) {
      feed_watermark_us_[f].store(absl::ToUnixMicros(feed[f]),
                                  std::memory_order_relaxed);
    }
  }
  if (feed == last_feed_watermark_) return absl::OkStatus();
  last_feed_watermark_ = feed;
  // Each operator moves on the slowest of the feeds it reads, and only
  // forward.
  for (size_t i = 0; i < operators_.size(); ++i) {
    absl::Time w = absl::InfiniteFuture();
    for (int f = 0; f < kNumFeeds; ++f) {
      if (op_feeds_[i] & FeedBit(static_cast<FeedKind>(f))) {
        w = std::min(w, feed[f]);
      }
    }
    if (w == absl::InfinitePast() || w == absl::InfiniteFuture() ||
        w <= op_watermark_[i]) {
      continue;
    }
    op_watermark_[i] = w;
    operators_[i]->AdvanceWatermark(w, *emitter_);
  }
  // The watermark moves on nearly every event; readers of state sizes (metrics)
  // are content with a snapshot every few hundred moves.
  if (++advances_ % 256 == 0) RefreshOperatorStats();
  return emitter_->TakeStatus();
}

void Pipeline::RefreshOperatorStats() {
  absl::MutexLock lock(&op_stats_mu_);
  for (size_t i = 0; i < operators_.size(); ++i) {
    op_stats_[i].second = operators_[i]->stats();
    op_scores_[i].second = operators_[i]->LatestScores();
  }
}

absl::Status Pipeline::Tick() {
  absl::Status s = AdvanceTo(watermark_.Advance(Now()));
  RefreshOperatorStats();
  return s;
}

absl::Status Pipeline::ReleaseHeld() {
  // Sources too short to reach their majority are judged on what they have.
  absl::Status released;
  for (const std::unique_ptr<Holding>& h : holding_) {
    if (!h->released) released.Update(Release(*h));
  }
  return released;
}

absl::Status Pipeline::Finish() {
  absl::Status released = ReleaseHeld();
  absl::Status s = AdvanceTo(watermark_.Finish());
  if (!released.ok()) s = released;
  RefreshOperatorStats();
  absl::Status flushed = alert_sink_->Flush();
  absl::Status dl_flushed = dead_letter_sink_->Flush();
  if (!s.ok()) return s;
  if (!flushed.ok()) return flushed;
  return dl_flushed;
}

absl::Time Pipeline::watermark() const {
  const int64_t us = watermark_us_.load(std::memory_order_relaxed);
  return us == INT64_MIN ? absl::InfinitePast() : absl::FromUnixMicros(us);
}

std::vector<std::pair<std::string, std::vector<TargetScore>>>
Pipeline::operator_scores() const {
  absl::MutexLock lock(&op_stats_mu_);
  return op_scores_;
}

absl::Time Pipeline::feed_watermark(FeedKind feed) const {
  const int64_t us = feed_watermark_us_[static_cast<int>(feed)].load(
      std::memory_order_relaxed);
  return us == INT64_MIN ? absl::InfinitePast() : absl::FromUnixMicros(us);
}

absl::Time Pipeline::max_event_time() const {
  const int64_t us = max_event_us_.load(std::memory_order_relaxed);
  return us == INT64_MIN ? absl::InfinitePast() : absl::FromUnixMicros(us);
}

std::vector<std::pair<std::string, OperatorStats>> Pipeline::operator_stats()
    const {
  absl::MutexLock lock(&op_stats_mu_);
  return op_stats_;
}

absl::Status Pipeline::SaveState(SnapshotWriter& w) {
  VIGIA_RETURN_IF_ERROR(ReleaseHeld());
  for (const auto& op : operators_) {
    if (op->state_version() == 0) {
      return absl::UnimplementedError(absl::StrCat(
          "detector ", ToAbsl(op->name()), " has no snapshot format"));
    }
  }
  // State format: the watermark tracker, the feed watermarks of the last
  // advance and each operator's watermark (by name, in order). Version 2:
  // the tracker keeps a lane per platform (version 1 had none).
  w.BeginSection(kStateSection, WatermarkTracker::kStateVersion);
  watermark_.Save(w);
  for (absl::Time t : last_feed_watermark_) w.Time(t);
  w.U64(operators_.size());
  for (size_t i = 0; i < operators_.size(); ++i) {
    w.Str(operators_[i]->name());
    w.Time(op_watermark_[i]);
  }
  w.EndSection();
  for (const auto& op : operators_) {
    w.BeginSection(op->name(), op->state_version());
    op->SaveState(w);
    w.EndSection();
  }
  w.BeginSection(kCampaignSection, CampaignLinker::kStateVersion);
  campaigns_.SaveState(w);
  w.EndSection();
  return absl::OkStatus();
}

absl::Status Pipeline::RestoreState(const ParsedSnapshot& snapshot) {
  if (snapshot.config_hash != config_.hash()) {
    return absl::FailedPreconditionError(absl::StrCat(
        "snapshot was written under config ", snapshot.config_hash,
        ", this config is ", config_.hash(),
        ": detector state only carries over between identical detection "
        "settings"));
  }
  const SnapshotSection* own = snapshot.Find(kStateSection);
  if (own == nullptr) {
    return absl::FailedPreconditionError("snapshot has no pipeline section");
  }
  VIGIA_RETURN_IF_ERROR(
      CheckSectionVersion(*own, WatermarkTracker::kStateVersion));
  SnapshotReader r = SectionReader(*own);
  watermark_.Restore(r, own->version);
  for (absl::Time& t : last_feed_watermark_) t = r.Time();
  const size_t n = r.Count(2);
  if (r.ok() && n != operators_.size()) {
    r.Fail(absl::StrCat("state of ", n, " operators, the config runs ",
                        operators_.size()));
  }
  for (size_t i = 0; i < n && r.ok(); ++i) {
    const std::string_view name = r.StrView();
    op_watermark_[i] = r.Time();
    if (r.ok() && name != operators_[i]->name()) {
      r.Fail(absl::StrCat("operator ", i, " is ", ToAbsl(name),
                          ", the config's is ", ToAbsl(operators_[i]->name())));
    }
  }
  VIGIA_RETURN_IF_ERROR(r.Finish());
  for (const auto& op : operators_) {
    const SnapshotSection* section = snapshot.Find(op->name());
    if (section == nullptr) {
      return absl::FailedPreconditionError(absl::StrCat(
          "snapshot has no state for detector ", ToAbsl(op->name())));
    }
    VIGIA_RETURN_IF_ERROR(CheckSectionVersion(*section, op->state_version()));
    SnapshotReader op_reader = SectionReader(*section);
    absl::Status s = op->RestoreState(op_reader, section->version);
    if (!s.ok()) return s;
  }
  if (const SnapshotSection* section = snapshot.Find(kCampaignSection);
      section != nullptr) {
    VIGIA_RETURN_IF_ERROR(
        CheckSectionVersion(*section, CampaignLinker::kStateVersion));
    SnapshotReader campaign_reader = SectionReader(*section);
    VIGIA_RETURN_IF_ERROR(campaigns_.RestoreState(campaign_reader));
  }
  PublishRestoredWatermarks();
  RefreshOperatorStats();
  return absl::OkStatus();
}

void Pipeline::PublishRestoredWatermarks() {
  const auto store = [](std::atomic<int64_t>& to, absl::Time t) {
    if (t != absl::InfinitePast() && t != absl::InfiniteFuture()) {
      to.store(absl::ToUnixMicros(t), std::memory_order_relaxed);
    }
  };
  store(watermark_us_, watermark_.watermark());
  for (int f = 0; f < kNumFeeds; ++f) {
    store(feed_watermark_us_[f],
          watermark_.feed_watermark(static_cast<FeedKind>(f)));
  }
  store(max_event_us_, watermark_.max_event_time());
}

absl::Status Pipeline::RestoreParts(const std::vector<StatePart>& parts,
                                    std::vector<std::string>* started_empty) {
  std::vector<bool> empty(operators_.size(), false);
  for (size_t k = 0; k < parts.size(); ++k) {
    const StatePart& part = parts[k];
    // Restored whole first: the formats are read only one way, and a
    // part is checked exactly as a whole restore would check it.
    Pipeline whole(config_, MakeOperators(config_), alert_sink_,
                   dead_letter_sink_, clock_);
    VIGIA_RETURN_IF_ERROR(whole.RestoreState(*part.snapshot));
    if (whole.operators_.size() != operators_.size()) {
      return absl::InternalError("the config built another set of detectors");
    }
    whole.watermark_.RetainSources(part.keep_source);
    // Campaigns span targets: every part's linked alerts are kept.
    campaigns_.Absorb(whole.campaigns_);
    watermark_.Absorb(whole.watermark_, k == 0);
    for (int f = 0; f < kNumFeeds; ++f) {
      last_feed_watermark_[f] = k == 0
                                    ? whole.last_feed_watermark_[f]
                                    : std::min(last_feed_watermark_[f],
                                               whole.last_feed_watermark_[f]);
    }
    for (size_t i = 0; i < operators_.size(); ++i) {
      // The earlier watermark: the other part's keys wait for their own
      // next hop (each detector evaluates a key only there).
      op_watermark_[i] =
          k == 0 ? whole.op_watermark_[i]
                 : std::min(op_watermark_[i], whole.op_watermark_[i]);
      Operator& op = *whole.operators_[i];
      if (!op.splits_by_target()) {
        empty[i] = true;
        continue;
      }
      const FeedSet feeds = op_feeds_[i];
      op.RetainTargets(
          [&](CountryCode target) { return part.keep_target(feeds, target); });
      if (absl::Status s = operators_[i]->Absorb(op); !s.ok()) {
        return absl::FailedPreconditionError(
            absl::StrCat("detector ", ToAbsl(op.name()),
                         ": cannot merge the parts: ", s.message()));
      }
    }
  }
  for (size_t i = 0; i < operators_.size(); ++i) {
    if (empty[i] && started_empty != nullptr) {
      started_empty->push_back(std::string(operators_[i]->name()));
    }
  }
  PublishRestoredWatermarks();
  RefreshOperatorStats();
  return absl::OkStatus();
}

}  // namespace vigia
