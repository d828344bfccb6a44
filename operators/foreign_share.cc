#include "operators/foreign_share.h"

#include <algorithm>
#include <array>
#include <bitset>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <numbers>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "operators/cap_hits.h"
#include "operators/detector_options.h"
#include "operators/evidence.h"
#include "operators/hop_schedule.h"
#include "operators/hop_window.h"
#include "operators/operator_util.h"
#include "operators/scorer.h"
#include "operators/snapshot.h"
#include "operators/target_scores.h"
#include "operators/text_fold.h"
#include "pipeline/core/status_macros.h"
#include "pipeline/core/strings.h"

namespace vigia {
namespace {

constexpr std::string_view kName = "foreign_share";
constexpr int64_t kNoHop = HopSchedule::kNoHop;
constexpr int64_t kHourUs = int64_t{3600} * 1000000;
// Half-life of the hashtag sketch's counts: "heavy" means heavy over the
// last several hours, so yesterday's trend gives way to today's.
constexpr double kHashtagHalfLifeHours = 6.0;
// Origins kept per bucket for the evidence's top_origins.
constexpr int kOriginCapacity = 16;

// Space-Saving over exponentially decayed counts, kept as a min-heap (ties
// by value) with a hash index, so that Add is O(log capacity) whatever the
// number of distinct values. Every value whose decayed count exceeds
// total / capacity is held; `count - error` is a lower bound of its count.
class HeavyHitters {
 public:
  struct Entry {
    std::string value;
    double count = 0;
    double error = 0;
    // Refused a key by the max_hashtags cap (counted once per entry).
    bool refused = false;
  };

  explicit HeavyHitters(int capacity)
      : capacity_(static_cast<size_t>(std::max(capacity, 1))) {}

  void Add(std::string_view value) {
    auto it = pos_.find(ToAbsl(value));
    if (it != pos_.end()) {
      heap_[it->second].count += 1;
      Down(it->second);
      return;
    }
    if (heap_.size() < capacity_) {
      heap_.push_back(Entry{std::string(value), 1, 0, false});
      pos_.emplace(heap_.back().value, static_cast<uint32_t>(heap_.size() - 1));
      Up(heap_.size() - 1);
      return;
    }
    // The newcomer takes over the smallest entry and inherits its count as
    // the bound on its overcount.
    Entry& root = heap_[0];
    pos_.erase(root.value);
    root.value.assign(value.data(), value.size());
    root.error = root.count;
    root.count += 1;
    root.refused = false;
    pos_.emplace(root.value, 0);
    Down(0);
  }

  // Multiplies every count by `factor` (in (0, 1]); the order is unchanged.
  void Decay(double factor) {
    for (Entry& e : heap_) {
      e.count *= factor;
      e.error *= factor;
    }
  }

  std::vector<Entry>& entries() { return heap_; }

  // Snapshots: the heap in its order (the index is rebuilt).
  void Save(SnapshotWriter& w) const {
    w.U64(heap_.size());
    for (const Entry& e : heap_) {
      w.Str(e.value);
      w.F64(e.count);
      w.F64(e.error);
      w.Bool(e.refused);
    }
  }
  void Restore(SnapshotReader& r) {
    heap_.clear();
    pos_.clear();
    const size_t n = r.Count(18);
    if (n > capacity_) {
      r.Fail("more heavy hashtags than the sketch holds");
      return;
    }
    for (size_t i = 0; i < n && r.ok(); ++i) {
      Entry e;
      e.value = r.Str();
      e.count = r.F64();
      e.error = r.F64();
      e.refused = r.Bool();
      if (!r.ok()) return;
      if (!pos_.emplace(e.value, static_cast<uint32_t>(heap_.size())).second) {
        r.Fail("heavy hashtag appears twice");
        return;
      }
      heap_.push_back(std::move(e));
    }
  }

 private:
  static bool Less(const Entry& a, const Entry& b) {
    if (a.count != b.count) return a.count < b.count;
    return a.value < b.value;
  }
  void Swap(size_t i, size_t j) {
    std::swap(heap_[i], heap_[j]);
    pos_[heap_[i].value] = static_cast<uint32_t>(i);
    pos_[heap_[j].value] = static_cast<uint32_t>(j);
  }
  void Up(size_t i) {
    while (i > 0) {
      const size_t parent = (i - 1) / 2;
      if (!Less(heap_[i], heap_[parent])) break;
      Swap(i, parent);
      i = parent;
    }
  }
  void Down(size_t i) {
    for (;;) {
      const size_t l = 2 * i + 1, r = l + 1;
      size_t m = i;
      if (l < heap_.size() && Less(heap_[l], heap_[m])) m = l;
      if (r < heap_.size() && Less(heap_[r], heap_[m])) m = r;
      if (m == i) return;
      Swap(i, m);
      i = m;
    }
  }

  std::vector<Entry> heap_;
  absl::flat_hash_map<std::string, uint32_t> pos_;
  size_t capacity_;
};

// What a target's keys are judged with.
struct Params {
  Params(const ForeignShareTargetOptions& o, absl::Duration hop)
      : min_total(o.min_total),
        clip(o.scoring.anomaly_clip_ratio),
        levels(o.scoring.levels),
        scorer(o.scoring, hop) {}
  int min_total;
  double clip;
  std::vector<SeverityLevel> levels;
  Scorer scorer;
};

// The foreign posts of one hop bucket, for the evidence.
struct Bucket {
  explicit Bucket(const EvidenceLimits& limits)
      : evidence(limits), origins(kOriginCapacity) {}
  BucketEvidence evidence;
  TopK origins;

  void Clear() {
    evidence.Clear();
    origins.Clear();
  }
};

// Spare buckets kept at most for reuse (see BucketEvidence::Clear): a hop
// boundary drops about one bucket per key.
constexpr size_t kMaxSpareBuckets = 64;

class ForeignShare final : public Operator {
 public:
  ForeignShare(const ForeignShareOptions& options,
               const OperatorContext& context)
      : options_(options),
        context_(context),
        schedule_(options.window, options.hop),
        limits_{std::max(4 * context.top_n, 8), context.max_samples},
        window_text_(HumanDuration(schedule_.window())),
        decay_windows_(
            kHashtagHalfLifeHours * static_cast<double>(kHourUs) /
            std::numbers::ln2 /
            static_cast<double>(schedule_.hop_us() * schedule_.window_hops())) {
    for (CountryCode c : options.targets) {
      if (c.known()) targets_filter_.set(CountryIndex(c));
    }
    target_slot_.fill(-1);
    const absl::Duration hop = schedule_.hop();
    params_.push_back(std::make_unique<Params>(
        ForeignShareTargetOptions{options.min_total, options.scoring}, hop));
    params_of_.fill(params_.front().get());
    for (const auto& [target, o] : options.per_target) {
      if (!target.known()) continue;
      params_.push_back(std::make_unique<Params>(o, hop));
      params_of_[CountryIndex(target)] = params_.back().get();
    }
  }

  std::string_view name() const override { return kName; }
  FeedSet feeds() const override { return FeedBit(FeedKind::kPost); }

  void Observe(const Event& event, EventFacts& facts, AlertEmitter&) override {
    // Posts of unknown origin can be neither foreign nor domestic: they are
    // left out of both counts.
    if (!event.is_post() || !event.target.known() || !event.origin().known()) {
      return;
    }
    const int ti = facts.target_index();
    if (targets_filter_.any() && !targets_filter_.test(ti)) return;
    const int64_t hop = schedule_.HopOf(event.created_at);
    TargetState& ts = Target(event.target);
    const bool foreign = event.is_foreign();
    if (ts.key < 0) {
      ts.key = NewKey(ts.slot, std::string(), FirstHop(hop));
      if (ts.key < 0) {
        cap_hits_.Hit(event.target);
        facts.Refuse(EventFacts::Refusal::kKeyCap);
      }
    }
    if (ts.key >= 0) Count(keys_[ts.key], hop, foreign, event, facts);
    if (options_.max_hashtags <= 0) return;
    // Each distinct hashtag of the post once; the normalized forms are kept
    // in reused strings to compare the later ones against.
    size_t seen = 0;
    for (std::string_view tag : event.hashtags) {
      if (seen == seen_.size()) seen_.emplace_back();
      std::string& norm = seen_[seen];
      FoldHashtagTo(tag, &norm);
      if (norm.empty() || std::find(seen_.begin(), seen_.begin() + seen,
                                    norm) != seen_.begin() + seen) {
        continue;
      }
      ++seen;
      ts.heavy.Add(norm);
      auto it = ts.tags.find(norm);
      if (it != ts.tags.end()) {
        Count(keys_[it->second], hop, foreign, event, facts);
      }
    }
  }

  void AdvanceWatermark(absl::Time watermark, AlertEmitter& out) override {
    const std::optional<int64_t> complete = schedule_.CompleteHop(watermark);
    if (!complete.has_value()) return;
    // The heavy hashtags are re-ranked after each hop, and new hashtag keys
    // start with the next one.
    schedule_.EvaluateThrough(
        *complete, keys_, [](const KeyState& ks) { return ks.fwin.next_hop(); },
        [&](size_t i, int64_t h) { return Evaluate(i, h, out); },
        [this](size_t i) { Evict(i); }, [this](int64_t h) { RefreshHeavy(h); });
  }

  OperatorStats stats() const override {
    OperatorStats s;
    s.keys = static_cast<int64_t>(keys_.size());
    s.buckets = buckets_;
    s.cap_hits = cap_hits_.total();
    s.firing = firing_;
    return s;
  }

  std::vector<TargetScore> LatestScores() const override {
    return scores_.Snapshot();
  }

  // State format, version 2: the schedule, hashtag decay hour and cap-hit
  // count, the last hop re-ranked; per target (in slot order) its code, its
  // own decay hour and last hop re-ranked, and heavy-hashtag sketch; per key
  // (in order) its target slot, hashtag, episode, heavy/displaced flags,
  // both baselines and both windows (foreign buckets with evidence and
  // origin sketch); the latest scores. Which key is a target's own or a
  // hashtag's is rebuilt from the keys. Version 1 had neither the last hop
  // re-ranked nor the per-target fields: every target then had the
  // detector's decay hour, and none was re-ranked after the last hop done.
  // Version 3 keeps the cap hits per target (CapHits); before, the total.
  uint32_t state_version() const override { return 3; }
  void SaveState(SnapshotWriter& w) const override {
    schedule_.Save(w);
    w.I64(last_decay_hour_);
    cap_hits_.Save(w, /*per_target=*/true);
    w.I64(last_refresh_hop_);
    w.U64(targets_.size());
    for (const std::unique_ptr<TargetState>& ts : targets_) {
      w.U32(ts->target.packed());
      w.I64(ts->decay_hour);
      w.I64(ts->refreshed_hop);
      ts->heavy.Save(w);
    }
    w.U64(keys_.size());
    for (const KeyState& ks : keys_) {
      w.U32(static_cast<uint32_t>(ks.target_slot));
      w.Str(ks.hashtag);
      w.I32(ks.firing_level);
      w.Bool(ks.heavy);
      w.Bool(ks.displaced);
      w.I64(ks.last_event_hop);
      w.Time(ks.episode_start);
      SaveBaseline(ks.foreign, w);
      SaveBaseline(ks.total, w);
      ks.fwin.Save(w, [](const std::unique_ptr<Bucket>& b, SnapshotWriter& w) {
        w.Bool(b != nullptr);
        if (b == nullptr) return;
        b->evidence.Save(w);
        b->origins.Save(w);
      });
      ks.twin.Save(w, [](const NoPayload&, SnapshotWriter&) {});
    }
    scores_.Save(w);
  }
  absl::Status RestoreState(SnapshotReader& r, uint32_t version) override {
    schedule_.Restore(r);
    last_decay_hour_ = r.I64();
    cap_hits_.Restore(r, /*per_target=*/version >= 3);
    last_refresh_hop_ = version >= 2 ? r.I64() : schedule_.last_done_hop();
    const size_t targets = r.Count(2);
    for (size_t i = 0; i < targets && r.ok(); ++i) {
      const uint32_t packed = r.U32();
      if (r.ok() &&
          (packed > 0xffff || !IsCountryCode(static_cast<uint16_t>(packed)) ||
           target_slot_[CountryIndex(CountryCode::FromChars(
               static_cast<char>(packed >> 8),
               static_cast<char>(packed & 0xff)))] >= 0)) {
        r.Fail("malformed or repeated target");
      }
      if (!r.ok()) break;
      TargetState& ts = Target(CountryCode::FromChars(
          static_cast<char>(packed >> 8), static_cast<char>(packed & 0xff)));
      if (version >= 2) {
        ts.decay_hour = r.I64();
        ts.refreshed_hop = r.I64();
      }
      ts.heavy.Restore(r);
    }
    const size_t keys = r.Count(40);
    if (static_cast<int64_t>(keys) > options_.max_keys) {
      r.Fail("more keys than max_keys");
    }
    for (size_t i = 0; i < keys && r.ok(); ++i) {
      KeyState ks;
      ks.target_slot = static_cast<int>(r.U32());
      ks.hashtag = r.Str();
      ks.firing_level = r.I32();
      ks.heavy = r.Bool();
      ks.displaced = r.Bool();
      ks.last_event_hop = r.I64();
      ks.episode_start = r.Time();
      RestoreBaseline(r, &ks.foreign);
      RestoreBaseline(r, &ks.total);
      if (!r.ok()) break;
      if (ks.target_slot < 0 ||
          ks.target_slot >= static_cast<int>(targets_.size()) ||
          ks.firing_level < -1 ||
          ks.firing_level >=
              static_cast<int>(
                  targets_[ks.target_slot]->params->levels.size())) {
        r.Fail("key with an unknown target or firing rung");
        break;
      }
      TargetState& ts = *targets_[ks.target_slot];
      const int index = static_cast<int>(keys_.size());
      if (ks.hashtag.empty() ? ts.key >= 0
                             : !ts.tags.emplace(ks.hashtag, index).second) {
        r.Fail("key appears twice");
        break;
      }
      if (ks.hashtag.empty()) ts.key = index;
      ks.fwin = ForeignWindow(schedule_.window_hops(), 0, schedule_.max_span());
      ks.fwin.Restore(r, [this](SnapshotReader& r, std::unique_ptr<Bucket>* b) {
        if (!r.Bool()) return;
        *b = std::make_unique<Bucket>(limits_);
        (*b)->evidence.Restore(r);
        (*b)->origins.Restore(r);
      });
      ks.twin = HopWindow<>(schedule_.window_hops(), 0, schedule_.max_span());
      ks.twin.Restore(r, [](SnapshotReader&, NoPayload*) {});
      buckets_ += ks.fwin.capacity();
      if (ks.firing_level >= 0) ++firing_;
      keys_.push_back(std::move(ks));
    }
    scores_.Restore(r);
    return r.Finish();
  }

  // State that follows partitions (docs/state.md). A target's own key, its
  // hashtag keys and its sketch are its alone; splitting drops the other
  // targets' (keeping the order), merging appends. What spans targets:
  //   - The sketches are decayed and re-ranked after each hop the schedule
  //     runs, and it runs only while the detector holds a key (from the
  //     earliest hop one waits for). Each target therefore keeps its own
  //     decay hour and last hop re-ranked, so a merge of parts that went
  //     through different hops neither decays a sketch twice nor re-ranks
  //     a target again for a hop it was re-ranked after. Approximated: a
  //     part's targets carry what they got while the whole held other
  //     targets' keys; fed only their records, a detector would have
  //     skipped the hops at which none of them had a key (their posts had
  //     stopped for a day), decaying later by the same total factor (one
  //     multiplication instead of several: rounding) and re-ranking at
  //     their next post instead. Which hashtags are heavy differs only by
  //     that rounding.
  //   - max_keys bounds all targets' keys together: a part alone may admit
  //     a key the whole refused, and a merge over the cap fails.
  //   - The schedule's newest event hop stays the whole's, which only the
  //     end of input reads. (The cap hits are kept per target: CapHits.)
  //   - Alerts of one hop come out in key order, which after a merge is
  //     the parts' one after the other.
  bool splits_by_target() const override { return true; }
  void RetainTargets(const std::function<bool(CountryCode)>& keep) override {
    std::vector<int> new_slot(targets_.size(), -1);
    std::vector<std::unique_ptr<TargetState>> kept_targets;
    for (size_t i = 0; i < targets_.size(); ++i) {
      if (!keep(targets_[i]->target)) continue;
      new_slot[i] = static_cast<int>(kept_targets.size());
      kept_targets.push_back(std::move(targets_[i]));
    }
    targets_ = std::move(kept_targets);
    std::vector<KeyState> kept_keys;
    kept_keys.reserve(keys_.size());
    for (KeyState& ks : keys_) {
      if (new_slot[ks.target_slot] < 0) continue;
      ks.target_slot = new_slot[ks.target_slot];
      kept_keys.push_back(std::move(ks));
    }
    keys_ = std::move(kept_keys);
    Reindex();
    scores_.RetainTargets(keep);
    cap_hits_.RetainTargets(keep);
  }
  absl::Status Absorb(Operator& other) override {
    auto* o = dynamic_cast<ForeignShare*>(&other);
    if (o == nullptr) return Operator::Absorb(other);
    for (const std::unique_ptr<TargetState>& ts : o->targets_) {
      if (target_slot_[CountryIndex(ts->target)] >= 0) {
        return absl::FailedPreconditionError(
            absl::StrCat("target ", ts->target.str(), " is in both states"));
      }
    }
    if (keys_.size() + o->keys_.size() >
        static_cast<size_t>(options_.max_keys)) {
      return absl::FailedPreconditionError("more keys than max_keys");
    }
    // A side without keys says nothing about when keys are evaluated (see
    // HopSchedule::Absorb).
    if (keys_.empty()) {
      schedule_.TakeProgress(o->schedule_);
    } else if (!o->keys_.empty()) {
      schedule_.Absorb(o->schedule_);
    }
    const int base = static_cast<int>(targets_.size());
    for (std::unique_ptr<TargetState>& ts : o->targets_) {
      ts->params = params_of_[CountryIndex(ts->target)];
      targets_.push_back(std::move(ts));
    }
    for (KeyState& ks : o->keys_) {
      ks.target_slot += base;
      keys_.push_back(std::move(ks));
    }
    last_decay_hour_ = std::max(last_decay_hour_, o->last_decay_hour_);
    last_refresh_hop_ = std::max(last_refresh_hop_, o->last_refresh_hop_);
    cap_hits_.Absorb(o->cap_hits_);
    scores_.Absorb(o->scores_);
    o->targets_.clear();
    o->keys_.clear();
    o->Reindex();
    Reindex();
    return absl::OkStatus();
  }

 private:
  using ForeignWindow = HopWindow<std::unique_ptr<Bucket>>;

  struct KeyState {
    int target_slot = 0;
    std::string hashtag;  // empty: the target as a whole
    int firing_level = -1;
    // Hashtag keys: still among the target's tracked heavy hashtags, and
    // whether it was pushed out by the cap (rather than going quiet).
    bool heavy = true;
    bool displaced = false;
    int64_t last_event_hop = kNoHop;
    absl::Time episode_start;
    BaselineState foreign;  // foreign posts per hop
    BaselineState total;    // posts of known origin per hop
    ForeignWindow fwin;
    HopWindow<> twin;
  };

  struct TargetState {
    TargetState(CountryCode t, int s, const Params* p, int sketch_capacity)
        : target(t), slot(s), params(p), heavy(sketch_capacity) {}
    CountryCode target;
    int slot;
    const Params* params;
    int key = -1;  // the target's own key in keys_, -1 when none
    // The hour its sketch was last decayed to and the last hop its hashtags
    // were re-ranked after (kNoHop: never).
    int64_t decay_hour = kNoHop;
    int64_t refreshed_hop = kNoHop;
    HeavyHitters heavy;
    absl::flat_hash_map<std::string, int> tags;  // tracked hashtag -> key
  };

  // The window verdict plus what the share needs.
  struct Verdict {
    Assessment a;
    double total = 0;
    double baseline_share = 0;
  };

  TargetState& Target(CountryCode target) {
    int16_t& slot = target_slot_[CountryIndex(target)];
    if (slot < 0) {
      slot = static_cast<int16_t>(targets_.size());
      targets_.push_back(std::make_unique<TargetState>(
          target, slot, params_of_[CountryIndex(target)],
          std::max(4 * options_.max_hashtags, 16)));
      // Decayed and re-ranked from the next refresh on, as every target.
      targets_.back()->decay_hour = last_decay_hour_;
      targets_.back()->refreshed_hop = last_refresh_hop_;
    }
    return *targets_[slot];
  }

  // Rebuilds what is derived from targets_ and keys_: slots, which key is
  // a target's own or a hashtag's, bucket and firing counts.
  void Reindex() {
    target_slot_.fill(-1);
    for (size_t i = 0; i < targets_.size(); ++i) {
      TargetState& ts = *targets_[i];
      ts.slot = static_cast<int>(i);
      ts.key = -1;
      ts.tags.clear();
      target_slot_[CountryIndex(ts.target)] = static_cast<int16_t>(i);
    }
    buckets_ = 0;
    firing_ = 0;
    for (size_t i = 0; i < keys_.size(); ++i) {
      const KeyState& ks = keys_[i];
      TargetState& ts = *targets_[ks.target_slot];
      if (ks.hashtag.empty()) {
        ts.key = static_cast<int>(i);
      } else {
        ts.tags.emplace(ks.hashtag, static_cast<int>(i));
      }
      buckets_ += ks.fwin.capacity();
      if (ks.firing_level >= 0) ++firing_;
    }
  }

  // The first hop a key created now is evaluated at: the first hop not yet
  // evaluated, so the hops before its first post count as the zeros they
  // were (or the post's own hop if it is far ahead of the watermark).
  int64_t FirstHop(int64_t hop) const {
    return schedule_.FirstHopOfNewKey(hop);
  }

  // Adds a key; returns its index or -1 when max_keys refuses it.
  int NewKey(int target_slot, std::string hashtag, int64_t first_hop) {
    if (static_cast<int64_t>(keys_.size()) >= options_.max_keys) return -1;
    KeyState& ks = keys_.emplace_back();
    ks.target_slot = target_slot;
    ks.hashtag = std::move(hashtag);
    ks.fwin =
        ForeignWindow(schedule_.window_hops(), first_hop, schedule_.max_span());
    ks.twin =
        HopWindow<>(schedule_.window_hops(), first_hop, schedule_.max_span());
    buckets_ += ks.fwin.capacity();
    return static_cast<int>(keys_.size() - 1);
  }

  void Count(KeyState& ks, int64_t hop, bool foreign, const Event& event,
             EventFacts& facts) {
    // Created by an event of a source running ahead, the key may meet older
    // events of sources behind it (KeyedHopCounter::Add), until its first
    // evaluation; both windows move.
    if (hop < ks.twin.oldest_hop() && !ks.total.has_history() &&
        !schedule_.TooLateForNewKey(hop)) {
      const int64_t first = schedule_.FirstHopOfNewKey(hop);
      const int before = ks.fwin.capacity();
      if (!ks.twin.StartEarlier(first) || !ks.fwin.StartEarlier(first)) {
        cap_hits_.Hit(event.target);
        facts.Refuse(EventFacts::Refusal::kBehindNewKey);
        return;
      }
      buckets_ += ks.fwin.capacity() - before;
    }
    if (ks.twin.Add(hop) == nullptr) {
      // Too old for every window still to come (late: ignored), or too far
      // ahead of the watermark to hold (refused: counted).
      if (hop >= ks.twin.oldest_hop()) {
        cap_hits_.Hit(event.target);
        facts.Refuse(EventFacts::Refusal::kAhead);
      }
      return;
    }
    ks.last_event_hop = std::max(ks.last_event_hop, hop);
    schedule_.NoteEvent(hop);
    if (!foreign) return;
    const int before = ks.fwin.capacity();
    ForeignWindow::Slot* slot = ks.fwin.Add(hop);  // same span as twin
    buckets_ += ks.fwin.capacity() - before;
    if (slot->payload == nullptr) {
      if (spare_.empty()) {
        slot->payload = std::make_unique<Bucket>(limits_);
      } else {
        slot->payload = std::move(spare_.back());
        spare_.pop_back();
      }
    }
    slot->payload->evidence.Add(event);
    const CountryCode origin = event.origin();
    const char code[2] = {static_cast<char>(origin.packed() >> 8),
                          static_cast<char>(origin.packed() & 0xff)};
    slot->payload->origins.Add(std::string_view(code, 2));
  }

  void Evict(size_t i) {
    KeyState& gone = keys_[i];
    TargetState& ts = *targets_[gone.target_slot];
    if (gone.displaced) cap_hits_.Hit(ts.target);
    if (gone.hashtag.empty()) {
      ts.key = -1;
    } else {
      ts.tags.erase(gone.hashtag);
    }
    buckets_ -= gone.fwin.capacity();
    if (i + 1 != keys_.size()) {
      keys_[i] = std::move(keys_.back());
      TargetState& moved = *targets_[keys_[i].target_slot];
      if (keys_[i].hashtag.empty()) {
        moved.key = static_cast<int>(i);
      } else {
        moved.tags[keys_[i].hashtag] = static_cast<int>(i);
      }
    }
    keys_.pop_back();
  }

  // Re-ranks every target's hashtags after hop `h`: the top max_hashtags
  // whose guaranteed decayed count reaches the target's min_total are
  // tracked; new ones get a key from the next hop; tracked ones that fell
  // out are dropped once nothing fires for them.
  void RefreshHeavy(int64_t h) {
    if (options_.max_hashtags <= 0) return;
    const int64_t hour = FloorDiv((h + 1) * schedule_.hop_us(), kHourUs);
    if (last_decay_hour_ == kNoHop || hour > last_decay_hour_) {
      last_decay_hour_ = hour;
    }
    last_refresh_hop_ = std::max(last_refresh_hop_, h);
    for (const std::unique_ptr<TargetState>& tsp : targets_) {
      TargetState& ts = *tsp;
      // Each target keeps its own decay hour and last hop re-ranked: they
      // are the detector's (every target goes through every call) until a
      // merge joins targets that went through different hops (Absorb), and
      // a target is never decayed or re-ranked twice for one hop.
      if (ts.refreshed_hop != kNoHop && ts.refreshed_hop >= h) continue;
      ts.refreshed_hop = h;
      double factor = 1;
      if (ts.decay_hour != kNoHop && hour > ts.decay_hour) {
        factor = std::exp2(-static_cast<double>(hour - ts.decay_hour) /
                           kHashtagHalfLifeHours);
      }
      if (ts.decay_hour == kNoHop || hour > ts.decay_hour) {
        ts.decay_hour = hour;
      }
      std::vector<HeavyHitters::Entry>& entries = ts.heavy.entries();
      if (factor < 1) ts.heavy.Decay(factor);
      // Heavy: a decayed count worth min_total / 4 posts per window on
      // average (a decayed sum holds about half-life / ln 2 of traffic).
      const double threshold =
          std::max(1.0, ts.params->min_total / 4.0 * decay_windows_);
      std::vector<size_t> ranked;
      for (size_t e = 0; e < entries.size(); ++e) {
        if (entries[e].count - entries[e].error >= threshold) {
          ranked.push_back(e);
        }
      }
      std::sort(ranked.begin(), ranked.end(), [&](size_t a, size_t b) {
        const double ga = entries[a].count - entries[a].error;
        const double gb = entries[b].count - entries[b].error;
        if (ga != gb) return ga > gb;
        return entries[a].value < entries[b].value;
      });
      for (auto& [tag, k] : ts.tags) {
        keys_[k].heavy = false;
        keys_[k].displaced = false;
      }
      for (size_t r = 0; r < ranked.size(); ++r) {
        HeavyHitters::Entry& e = entries[ranked[r]];
        auto it = ts.tags.find(e.value);
        if (r < static_cast<size_t>(options_.max_hashtags)) {
          if (it != ts.tags.end()) {
            keys_[it->second].heavy = true;
            continue;
          }
          const int k = NewKey(ts.slot, e.value, h + 1);
          if (k >= 0) {
            ts.tags.emplace(e.value, k);
            continue;
          }
        } else if (it != ts.tags.end()) {
          // Still heavy enough, but out-ranked: the cap pushes it out.
          keys_[it->second].displaced = true;
          e.refused = true;
          continue;
        }
        if (!e.refused) {
          e.refused = true;
          cap_hits_.Hit(ts.target);
        }
      }
    }
  }

  // Evaluates the window of key `i` ending at hop `h` and learns the hop.
  // Returns false when the key should be evicted.
  bool Evaluate(size_t i, int64_t h, AlertEmitter& out) {
    KeyState& ks = keys_[i];
    const Params& p = *targets_[ks.target_slot]->params;
    const absl::Time end = schedule_.HopEnd(h);
    Verdict v;
    v.total = static_cast<double>(ks.twin.Sum());
    const double foreign = static_cast<double>(ks.fwin.Sum());
    // The baseline share is the ratio of the two learned expectations over
    // the same hops, so it carries the time of day of both.
    const double ef =
        p.scorer.Expected(ks.foreign, end, schedule_.window_hops());
    const double et = p.scorer.Expected(ks.total, end, schedule_.window_hops());
    v.baseline_share = et > 0 ? std::clamp(ef / et, 0.0, 1.0) : 0.0;
    // Given the window's posts, its foreign count is binomial: scored as a
    // part of that whole, which small keys need (a Poisson score overstates
    // their variance by 1 / (1 - share)).
    v.a = p.scorer.AssessShare(ks.foreign, end, v.total, v.baseline_share,
                               foreign);
    if (v.total < p.min_total) v.a.level = -1;
    scores_.Record(targets_[ks.target_slot]->target, end, v.a.score);
    const Assessment& a = v.a;
    if (ks.firing_level < 0) {
      if (a.reached()) {
        ks.firing_level = a.level;
        ks.episode_start = end;
        ++firing_;
        out.Emit(MakeAlert(ks, p, end, v, Record::kFiring, a.level));
      }
    } else if (!a.reached()) {
      out.Emit(MakeAlert(ks, p, end, v, Record::kResolved, ks.firing_level));
      ks.firing_level = -1;
      --firing_;
    } else if (a.level > ks.firing_level) {
      out.Emit(MakeAlert(ks, p, end, v, Record::kSuperseded, ks.firing_level,
                         p.levels[a.level].severity));
      ks.firing_level = a.level;
      out.Emit(MakeAlert(ks, p, end, v, Record::kFiring, a.level));
    }
    // The total is the context, not the claim: it is never clipped as an
    // anomaly of its own, so the share follows organic swings of traffic.
    Assessment total_verdict =
        p.scorer.Assess(ks.total, end, schedule_.window_hops(), v.total);
    total_verdict.anomalous = false;
    double foreign_hop = ks.fwin.At(h).count;
    double total_hop = ks.twin.At(h).count;
    if (a.anomalous) {
      // While the share is anomalous the excess foreign posts are learned
      // neither as foreign nor as part of the total: the share learns at
      // most anomaly_clip_ratio times its usual value.
      const double cap = std::max(p.clip, 1.0) * v.baseline_share * total_hop;
      if (foreign_hop > cap) {
        total_hop -= foreign_hop - cap;
        foreign_hop = cap;
      }
    }
    p.scorer.Learn(ks.foreign, end, foreign_hop, a);
    p.scorer.Learn(ks.total, end, total_hop, total_verdict);
    if (std::unique_ptr<Bucket>& gone = ks.fwin.oldest_payload();
        gone != nullptr && spare_.size() < kMaxSpareBuckets) {
      gone->Clear();
      spare_.push_back(std::move(gone));
    }
    ks.fwin.Advance();
    ks.twin.Advance();
    if (ks.firing_level >= 0) return true;
    if (!ks.hashtag.empty() && !ks.heavy) return false;
    // kNoHop means the key never saw an event of its own; subtracting the
    // sentinel would overflow.
    const bool idle = ks.last_event_hop == kNoHop ||
                      (ks.last_event_hop < ks.twin.next_hop() &&
                       h - ks.last_event_hop > schedule_.idle_hops());
    return !(ks.twin.Sum() == 0 && idle);
  }

  enum class Record { kFiring, kResolved, kSuperseded };

  Alert MakeAlert(const KeyState& ks, const Params& p, absl::Time end,
                  const Verdict& v, Record record, int level,
                  Severity successor = Severity::kInfo) const {
    const SeverityLevel& rung = p.levels[level];
    const Assessment& a = v.a;
    Alert alert;
    alert.detector = std::string(kName);
    alert.state =
        record == Record::kFiring ? AlertState::kFiring : AlertState::kResolved;
    alert.severity = rung.severity;
    alert.target = targets_[ks.target_slot]->target;
    std::string key = alert.target.str();
    std::string about = absl::StrCat("aimed at ", key);
    if (!ks.hashtag.empty()) {
      alert.subject_kind = "hashtag";
      alert.subject = ks.hashtag;
      absl::StrAppend(&key, "|#", ks.hashtag);
      absl::StrAppend(&about, " with #", ks.hashtag);
    }
    alert.id = MakeAlertId(kName, key, ks.episode_start, rung.severity,
                           context_.config_hash);
    alert.window_start = end - schedule_.window();
    alert.window_end = end;
    alert.observed = a.observed;
    alert.expected = a.expected;
    alert.ratio = a.ratio;
    alert.score = a.score;
    alert.threshold = rung.min_score;
    const double share = v.total > 0 ? a.observed / v.total : 0.0;
    std::string prefix;
    if (record == Record::kResolved) {
      prefix = "Resolved: foreign share";
    } else if (record == Record::kSuperseded) {
      prefix = absl::StrCat("Superseded by ", ToAbsl(SeverityName(successor)),
                            ": foreign share");
    } else {
      prefix = "Foreign share";
    }
    alert.summary = absl::StrFormat(
        "%s of posts %s: %s%.0f%% (%.0f of %.0f) in %s vs %.0f%% usual, "
        "%.1f expected (%.1fx, score %.1f)",
        prefix, about, record == Record::kResolved ? "back to " : "",
        100 * share, a.observed, v.total, window_text_, 100 * v.baseline_share,
        a.expected, a.ratio, a.score);
    std::vector<const BucketEvidence*> buckets;
    std::vector<const TopK*> origins;
    buckets.reserve(schedule_.window_hops());
    ks.fwin.ForEachInWindow([&](int64_t, const ForeignWindow::Slot& s) {
      if (s.payload == nullptr) return;
      buckets.push_back(&s.payload->evidence);
      origins.push_back(&s.payload->origins);
    });
    alert.evidence =
        MergeEvidence(buckets, context_.top_n, context_.max_samples);
    alert.evidence.other_tops.emplace_back("top_origins",
                                           MergeTop(origins, context_.top_n));
    std::vector<std::pair<std::string, double>>& b = alert.evidence.baseline;
    b = {
        {"window_posts", v.total},
        {"window_foreign", a.observed},
        {"window_share", share},
        {"baseline_share", v.baseline_share},
        {"expected", a.expected},
        {"foreign_level_per_hop", ks.foreign.level},
        {"posts_level_per_hop", ks.total.level},
        {"window_hops", static_cast<double>(schedule_.window_hops())},
        {"min_total", static_cast<double>(p.min_total)},
    };
    for (auto& [name, value] :
         p.scorer.Explain(ks.foreign, end, schedule_.window_hops())) {
      if (name == "overdispersion") {
        // The share's own, as scored (Explain gives a count's).
        b.emplace_back(std::move(name), a.dispersion);
      } else if (name == "min_expected" || name == "history_hours" ||
                 name == "warmup_hours") {
        b.emplace_back(std::move(name), value);
      }
    }
    for (auto& entry : Scorer::ExplainVerdict(a)) b.push_back(std::move(entry));
    alert.config_hash = context_.config_hash;
    return alert;
  }

  const ForeignShareOptions options_;
  const OperatorContext context_;
  HopSchedule schedule_;
  const EvidenceLimits limits_;
  const std::string window_text_;
  // Windows' worth of traffic a decayed hashtag count holds.
  const double decay_windows_;
  std::bitset<kCountrySlots> targets_filter_;
  std::vector<std::unique_ptr<Params>> params_;
  std::array<const Params*, kCountrySlots> params_of_;

  std::array<int16_t, kCountrySlots> target_slot_;
  std::vector<std::unique_ptr<TargetState>> targets_;
  // Keys in insertion order (evictions move the last key into the hole).
  std::vector<KeyState> keys_;
  std::vector<std::string> seen_;  // the current post's hashtags
  // The newest hour a sketch was decayed to and hop re-ranked after, for
  // targets seen from now on.
  int64_t last_decay_hour_ = kNoHop;
  int64_t last_refresh_hop_ = kNoHop;
  int64_t buckets_ = 0;
  CapHits cap_hits_;
  int64_t firing_ = 0;
  TargetScores scores_;
  // Buckets dropped by windows, emptied, for Count() to reuse.
  std::vector<std::unique_ptr<Bucket>> spare_;
};

}  // namespace

std::string NormalizeHashtag(std::string_view hashtag) {
  return FoldHashtag(hashtag);
}

std::unique_ptr<Operator> MakeForeignShare(const ForeignShareOptions& options,
                                           const OperatorContext& context) {
  return std::make_unique<ForeignShare>(options, context);
}

// ---------------------------------------------------------------------------
// Configuration: the section detectors.foreign_share (docs/config.md).

namespace {

absl::Status ParseForeignShareTarget(ConfigMap& m,
                                     ForeignShareTargetOptions* out) {
  VIGIA_RETURN_IF_ERROR(m.Int("min_total", 0, kIntMax, &out->min_total));
  return m.Section("scoring", [out](ConfigMap& s) {
    return ParseScoring(s, &out->scoring);
  });
}

}  // namespace

absl::Status ParseOptions(ConfigMap& m, ForeignShareOptions* out) {
  VIGIA_RETURN_IF_ERROR(m.Bool("enabled", &out->enabled));
  VIGIA_RETURN_IF_ERROR(m.Duration("window", Bound::kPositive, &out->window));
  VIGIA_RETURN_IF_ERROR(m.Duration("hop", Bound::kPositive, &out->hop));
  if (std::optional<ConfigNode> targets = m.Take("targets")) {
    VIGIA_RETURN_IF_ERROR(ParseTargets(*targets, &out->targets));
  }
  VIGIA_RETURN_IF_ERROR(m.Int("max_hashtags", 0, 100000, &out->max_hashtags));
  VIGIA_RETURN_IF_ERROR(m.Int("max_keys", 1, kIntMax, &out->max_keys));
  VIGIA_RETURN_IF_ERROR(m.Int("min_total", 0, kIntMax, &out->min_total));
  VIGIA_RETURN_IF_ERROR(m.Section("scoring", [out](ConfigMap& s) {
    return ParseScoring(s, &out->scoring);
  }));
  if (std::optional<ConfigNode> per_target = m.Take("per_target")) {
    ForeignShareTargetOptions inherited;
    inherited.min_total = out->min_total;
    inherited.scoring = out->scoring;
    VIGIA_RETURN_IF_ERROR(ParsePerTarget<ForeignShareTargetOptions>(
        *per_target, inherited, ParseForeignShareTarget, &out->per_target));
  }
  return CheckWindow(m, out->window, out->hop);
}

void WriteCanonical(std::string_view p, const ForeignShareOptions& o,
                    CanonicalWriter& w) {
  w.Add(OptionKey(p, "enabled"), o.enabled);
  w.Add(OptionKey(p, "window"), o.window);
  w.Add(OptionKey(p, "hop"), o.hop);
  w.Add(OptionKey(p, "targets"), CanonicalTargets(o.targets));
  w.Add(OptionKey(p, "max_hashtags"), o.max_hashtags);
  w.Add(OptionKey(p, "max_keys"), o.max_keys);
  w.Add(OptionKey(p, "min_total"), o.min_total);
  CanonicalScoring(OptionKey(p, "scoring"), o.scoring, w);
  CanonicalPerTarget(
      p, o.per_target,
      [&w](std::string_view t, const ForeignShareTargetOptions& x) {
        w.Add(OptionKey(t, "min_total"), x.min_total);
        CanonicalScoring(OptionKey(t, "scoring"), x.scoring, w);
      },
      w);
}

}  // namespace vigia
