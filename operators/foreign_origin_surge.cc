#include "operators/foreign_origin_surge.h"

#include <algorithm>
#include <bitset>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "operators/detector_options.h"
#include "operators/evidence.h"
#include "operators/hop_window.h"
#include "operators/operator_util.h"
#include "operators/scorer.h"
#include "operators/target_scores.h"
#include "pipeline/core/status_macros.h"
#include "pipeline/core/strings.h"

namespace vigia {
namespace {

constexpr std::string_view kName = "foreign_origin_surge";
constexpr int64_t kNoHop = std::numeric_limits<int64_t>::min();
// A key with no events for this long, and nothing firing, is forgotten; it
// warms up again if it comes back.
constexpr absl::Duration kIdleEviction = absl::Hours(24);
// How far past the oldest hop of its window a key may hold events (from a
// source running ahead of the watermark); beyond that they are refused.
constexpr absl::Duration kMaxLookahead = absl::Hours(6);

class ForeignOriginSurge final : public Operator {
 public:
  ForeignOriginSurge(const ForeignOriginSurgeOptions& options,
                     const OperatorContext& context)
      : options_(options),
        context_(context),
        hop_us_(std::max<int64_t>(1, absl::ToInt64Microseconds(options.hop))),
        window_hops_(static_cast<int>(std::max<int64_t>(
            1, absl::ToInt64Microseconds(options.window) / hop_us_))),
        idle_hops_(std::max<int64_t>(
            window_hops_, absl::ToInt64Microseconds(kIdleEviction) / hop_us_)),
        max_span_(window_hops_ +
                  static_cast<int>(std::max<int64_t>(
                      1, absl::ToInt64Microseconds(kMaxLookahead) / hop_us_))),
        scorer_(options.scoring, absl::Microseconds(hop_us_)),
        limits_{std::max(4 * context.top_n, 8), context.max_samples},
        window_text_(
            HumanDuration(absl::Microseconds(hop_us_) * window_hops_)) {
    for (CountryCode c : options.targets) {
      if (c.known()) targets_.set(CountryIndex(c));
    }
  }

  std::string_view name() const override { return kName; }
  FeedSet feeds() const override { return FeedBit(FeedKind::kPost); }

  void Observe(const Event& event, AlertEmitter& out) override {
    if (!event.is_post() || !event.is_foreign() || !event.target.known()) {
      return;
    }
    if (targets_.any() && !targets_.test(CountryIndex(event.target))) return;
    const int64_t hop = FloorDiv(absl::ToUnixMicros(event.created_at), hop_us_);
    const uint32_t packed =
        (uint32_t{event.target.packed()} << 16) | event.origin().packed();
    KeyState* ks;
    auto it = index_.find(packed);
    if (it != index_.end()) {
      ks = &keys_[it->second];
    } else {
      ks = NewKey(packed, hop);
      if (ks == nullptr) return;
    }
    const int before = ks->window.capacity();
    Window::Slot* slot = ks->window.Add(hop);
    if (slot == nullptr) {
      // Older than every window still to be evaluated, or too far ahead of
      // the watermark to hold.
      if (hop >= ks->window.oldest_hop()) ++cap_hits_;
      return;
    }
    buckets_ += ks->window.capacity() - before;
    if (slot->payload == nullptr) {
      slot->payload = std::make_unique<BucketEvidence>(limits_);
    }
    slot->payload->Add(event);
    ks->last_event_hop = std::max(ks->last_event_hop, hop);
    max_event_hop_ = std::max(max_event_hop_, hop);
  }

  void AdvanceWatermark(absl::Time watermark, AlertEmitter& out) override {
    if (watermark == absl::InfinitePast()) return;
    // The last hop whose end is at or before the watermark.
    int64_t complete;
    if (watermark == absl::InfiniteFuture()) {
      // Everything is complete; evaluating the newest events' windows to
      // their end is all that can change anything.
      if (max_event_hop_ == kNoHop) return;
      complete = max_event_hop_ + window_hops_;
    } else {
      complete = FloorDiv(absl::ToUnixMicros(watermark), hop_us_) - 1;
    }
    if (complete <= last_done_hop_) return;
    // Start at the earliest hop any key waits for (keys created ahead of
    // the watermark start later), never at one already done.
    int64_t h = std::numeric_limits<int64_t>::max();
    for (const KeyState& ks : keys_) h = std::min(h, ks.window.next_hop());
    if (last_done_hop_ != kNoHop) h = std::max(h, last_done_hop_ + 1);
    // Hop-major, keys in their (deterministic) insertion order, so alerts
    // come out in event-time order and identically on every run.
    for (; h <= complete && !keys_.empty(); ++h) {
      for (size_t i = 0; i < keys_.size();) {
        if (keys_[i].window.next_hop() == h && !Evaluate(i, h, out)) {
          Evict(i);  // the last key moved into slot i: evaluate it next
          continue;
        }
        ++i;
      }
    }
    last_done_hop_ = complete;
  }

  OperatorStats stats() const override {
    OperatorStats s;
    s.keys = static_cast<int64_t>(keys_.size());
    s.buckets = buckets_;
    s.cap_hits = cap_hits_;
    s.firing = firing_;
    return s;
  }

  std::vector<TargetScore> LatestScores() const override {
    return scores_.Snapshot();
  }

 private:
  using Window = HopWindow<std::unique_ptr<BucketEvidence>>;

  struct KeyState {
    uint32_t packed = 0;  // target << 16 | origin
    // Index into levels of the alert firing for this key; -1 when none.
    int firing_level = -1;
    int64_t last_event_hop = kNoHop;
    absl::Time episode_start;  // window end of the episode's first firing
    BaselineState baseline;
    Window window;

    CountryCode target() const {
      return CountryCode::FromChars(static_cast<char>(packed >> 24),
                                    static_cast<char>((packed >> 16) & 0xff));
    }
    CountryCode origin() const {
      return CountryCode::FromChars(static_cast<char>((packed >> 8) & 0xff),
                                    static_cast<char>(packed & 0xff));
    }
  };

  KeyState* NewKey(uint32_t packed, int64_t hop) {
    if (static_cast<int64_t>(keys_.size()) >= options_.max_keys) {
      ++cap_hits_;
      return nullptr;
    }
    // A key joins the evaluation at the first hop not yet evaluated, so the
    // hops between that and its first event count as the zeros they were.
    int64_t first = hop;
    if (last_done_hop_ != kNoHop) {
      first = last_done_hop_ + 1;
      if (hop < first - window_hops_ + 1) return nullptr;  // too late to count
      if (hop - (first - window_hops_ + 1) >= max_span_) first = hop;
    }
    index_.emplace(packed, static_cast<uint32_t>(keys_.size()));
    KeyState& ks = keys_.emplace_back();
    ks.packed = packed;
    ks.window = Window(window_hops_, first, max_span_);
    buckets_ += ks.window.capacity();
    return &ks;
  }

  void Evict(size_t i) {
    buckets_ -= keys_[i].window.capacity();
    index_.erase(keys_[i].packed);
    if (i + 1 != keys_.size()) {
      keys_[i] = std::move(keys_.back());
      index_[keys_[i].packed] = static_cast<uint32_t>(i);
    }
    keys_.pop_back();
  }

  // Evaluates the window of key `i` ending at hop `h` and learns the hop.
  // Returns false when the key should be evicted.
  bool Evaluate(size_t i, int64_t h, AlertEmitter& out) {
    KeyState& ks = keys_[i];
    const absl::Time end = absl::FromUnixMicros((h + 1) * hop_us_);
    const double observed = static_cast<double>(ks.window.Sum());
    const Assessment a =
        scorer_.Assess(ks.baseline, end, window_hops_, observed);
    const uint16_t target = static_cast<uint16_t>(ks.packed >> 16);
    scores_.Record(CountryCode::FromChars(static_cast<char>(target >> 8),
                                          static_cast<char>(target & 0xff)),
                   end, a.score);
    const std::vector<SeverityLevel>& levels = options_.scoring.levels;
    if (ks.firing_level < 0) {
      if (a.reached()) {
        ks.firing_level = a.level;
        ks.episode_start = end;
        ++firing_;
        out.Emit(MakeAlert(ks, end, a, Record::kFiring, a.level));
      }
    } else if (!a.reached()) {
      out.Emit(MakeAlert(ks, end, a, Record::kResolved, ks.firing_level));
      ks.firing_level = -1;
      --firing_;
    } else if (a.level > ks.firing_level) {
      // Escalation: the lower-severity alert ends, superseded, and one of
      // the higher severity starts; both belong to the same episode.
      out.Emit(MakeAlert(ks, end, a, Record::kSuperseded, ks.firing_level,
                         levels[a.level].severity));
      ks.firing_level = a.level;
      out.Emit(MakeAlert(ks, end, a, Record::kFiring, a.level));
    }
    // A drop to a lower rung that still meets the lowest keeps the higher
    // alert firing: the episode ends only when the lowest rung is no longer
    // met, so a surge that wavers does not flap between severities.
    scorer_.Learn(ks.baseline, end, ks.window.At(h).count, a);
    ks.window.Advance();
    return !(ks.firing_level < 0 && ks.window.Sum() == 0 &&
             ks.last_event_hop < ks.window.next_hop() &&
             h - ks.last_event_hop > idle_hops_);
  }

  // What a record says about its alert.
  enum class Record { kFiring, kResolved, kSuperseded };

  // Builds the record of the alert of rung `level` for the window ending at
  // `end`; `successor` is the severity that supersedes it (kSuperseded).
  Alert MakeAlert(const KeyState& ks, absl::Time end, const Assessment& a,
                  Record record, int level,
                  Severity successor = Severity::kInfo) const {
    const SeverityLevel& rung = options_.scoring.levels[level];
    Alert alert;
    alert.detector = std::string(kName);
    alert.state =
        record == Record::kFiring ? AlertState::kFiring : AlertState::kResolved;
    alert.severity = rung.severity;
    alert.target = ks.target();
    alert.origin = ks.origin();
    const std::string key =
        absl::StrCat(alert.target.str(), "|", alert.origin.str());
    alert.id = MakeAlertId(kName, key, ks.episode_start, rung.severity,
                           context_.config_hash);
    alert.window_start = end - absl::Microseconds(hop_us_) * window_hops_;
    alert.window_end = end;
    alert.observed = a.observed;
    alert.expected = a.expected;
    alert.ratio = a.ratio;
    alert.score = a.score;
    alert.threshold = rung.min_score;
    std::string prefix;
    if (record == Record::kResolved) {
      prefix = "Resolved: foreign-origin";
    } else if (record == Record::kSuperseded) {
      prefix = absl::StrCat("Superseded by ", ToAbsl(SeverityName(successor)),
                            ": foreign-origin");
    } else {
      prefix = "Foreign-origin";
    }
    alert.summary = absl::StrFormat(
        "%s posts aimed at %s from %s: %s%.0f in %s vs %.1f expected "
        "(%.1fx, score %.1f)",
        prefix, alert.target.str(), alert.origin.str(),
        record == Record::kResolved ? "back to " : "", a.observed, window_text_,
        a.expected, a.ratio, a.score);
    std::vector<const BucketEvidence*> buckets;
    buckets.reserve(window_hops_);
    ks.window.ForEachInWindow([&](int64_t, const Window::Slot& s) {
      buckets.push_back(s.payload.get());
    });
    alert.evidence =
        MergeEvidence(buckets, context_.top_n, context_.max_samples);
    alert.evidence.baseline = scorer_.Explain(ks.baseline, end, window_hops_);
    for (auto& entry : Scorer::ExplainVerdict(a)) {
      alert.evidence.baseline.push_back(std::move(entry));
    }
    alert.config_hash = context_.config_hash;
    return alert;
  }

  const ForeignOriginSurgeOptions options_;
  const OperatorContext context_;
  const int64_t hop_us_;
  const int window_hops_;
  const int64_t idle_hops_;
  const int max_span_;
  const Scorer scorer_;
  const EvidenceLimits limits_;
  const std::string window_text_;
  std::bitset<kCountrySlots> targets_;

  absl::flat_hash_map<uint32_t, uint32_t> index_;
  // Keys in insertion order (evictions move the last key into the hole):
  // evaluation order depends only on the input, never on hashing.
  std::vector<KeyState> keys_;
  int64_t last_done_hop_ = kNoHop;
  int64_t max_event_hop_ = kNoHop;
  int64_t buckets_ = 0;
  int64_t cap_hits_ = 0;
  int64_t firing_ = 0;
  TargetScores scores_;
};

}  // namespace

std::unique_ptr<Operator> MakeForeignOriginSurge(
    const ForeignOriginSurgeOptions& options, const OperatorContext& context) {
  return std::make_unique<ForeignOriginSurge>(options, context);
}

// ---------------------------------------------------------------------------
// Configuration: the section detectors.foreign_origin_surge (docs/config.md).

absl::Status ParseOptions(ConfigMap& m, ForeignOriginSurgeOptions* out) {
  VIGIA_RETURN_IF_ERROR(m.Bool("enabled", &out->enabled));
  VIGIA_RETURN_IF_ERROR(m.Duration("window", Bound::kPositive, &out->window));
  VIGIA_RETURN_IF_ERROR(m.Duration("hop", Bound::kPositive, &out->hop));
  if (std::optional<ConfigNode> targets = m.Take("targets")) {
    VIGIA_RETURN_IF_ERROR(ParseTargets(*targets, &out->targets));
  }
  VIGIA_RETURN_IF_ERROR(m.Int("max_keys", 1, kIntMax, &out->max_keys));
  VIGIA_RETURN_IF_ERROR(m.Section("scoring", [out](ConfigMap& s) {
    return ParseScoring(s, &out->scoring);
  }));
  return CheckWindow(m, out->window, out->hop);
}

void WriteCanonical(std::string_view p, const ForeignOriginSurgeOptions& o,
                    CanonicalWriter& w) {
  w.Add(OptionKey(p, "enabled"), o.enabled);
  w.Add(OptionKey(p, "window"), o.window);
  w.Add(OptionKey(p, "hop"), o.hop);
  w.Add(OptionKey(p, "targets"), CanonicalTargets(o.targets));
  w.Add(OptionKey(p, "max_keys"), o.max_keys);
  CanonicalScoring(OptionKey(p, "scoring"), o.scoring, w);
}

}  // namespace vigia
