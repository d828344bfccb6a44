// KeyedHopCounter: the per-key machinery of a count-vs-baseline detector,
// shared by foreign_origin_surge, new_account_burst and
// state_media_amplification, so these detectors read the same:
//   - keys (target, origin) kept in a vector in insertion order, indexed by
//     a hash map, capped at max_keys (refusals count as cap hits);
//   - a HopWindow per key whose buckets carry a detector-defined payload;
//   - evaluation hop by hop when the watermark passes a hop's end, quiet
//     keys evaluated as zeros, keys idle for a day forgotten (the schedule
//     is HopSchedule's, shared with every windowed detector);
//   - Assess -> firing / escalation (the lower alert resolved as
//     superseded, the higher one fired) / resolution -> Learn(hop count);
//   - the detector builds each record (summary, evidence) in a callback;
//   - a bucket with a Clear() (BucketEvidence) is recycled when its hop
//     leaves the window, instead of freed and built again.
// Each key is scored by the Scorer chosen for its target when it was
// created (per-target ladders).
//
// Owned by one detector and used on its thread only; never reads the clock.
#ifndef VIGIA_OPERATORS_KEYED_HOP_COUNTER_H_
#define VIGIA_OPERATORS_KEYED_HOP_COUNTER_H_

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "operators/cap_hits.h"
#include "operators/event_facts.h"
#include "operators/hop_schedule.h"
#include "operators/hop_window.h"
#include "operators/operator.h"
#include "operators/operator_util.h"
#include "operators/scorer.h"
#include "operators/snapshot.h"
#include "operators/target_scores.h"
#include "pipeline/core/alert.h"
#include "pipeline/core/types.h"

namespace vigia {

// What a record says about its alert.
enum class CountRecord { kFiring, kResolved, kSuperseded };

template <typename Bucket>
class KeyedHopCounter {
 public:
  using Window = HopWindow<std::unique_ptr<Bucket>>;

  // The target of a packed key.
  static CountryCode TargetOf(uint32_t packed) {
    return CountryCode::FromChars(static_cast<char>(packed >> 24),
                                  static_cast<char>((packed >> 16) & 0xff));
  }

  struct Key {
    uint32_t packed = 0;  // target << 16 | origin (origin 0 when none)
    const Scorer* scorer = nullptr;
    // Index into the scorer's levels of the alert firing; -1 when none.
    int firing_level = -1;
    int64_t last_event_hop = HopSchedule::kNoHop;
    absl::Time episode_start;  // window end of the episode's first firing
    BaselineState baseline;
    Window window;

    CountryCode target() const { return TargetOf(packed); }
    CountryCode origin() const {
      if ((packed & 0xffff) == 0) return CountryCode();
      return CountryCode::FromChars(static_cast<char>((packed >> 8) & 0xff),
                                    static_cast<char>(packed & 0xff));
    }
    // "MD|RU", or "MD" for a key without origin: the key in alert ids.
    std::string text() const {
      return origin().known()
                 ? absl::StrCat(target().str(), "|", origin().str())
                 : target().str();
    }
  };

  // Builds the record `record` of the alert of rung `level` for the window
  // ending at `end`; `successor` is the severity superseding it.
  using MakeAlertFn =
      std::function<Alert(const Key& key, absl::Time end, const Assessment& a,
                          CountRecord record, int level, Severity successor)>;

  // Given a window that reaches rung `level` by its counts, returns the
  // highest rung the window's other evidence supports (-1: none), e.g. how
  // many distinct accounts its events came from. It may only start or
  // escalate an episode up to that rung; an episode already firing keeps
  // its rung. Called only for such windows, so it may be costly.
  using LevelCapFn = std::function<int(const Key& key, int level)>;

  static uint32_t Pack(CountryCode target, CountryCode origin) {
    return (uint32_t{target.packed()} << 16) | origin.packed();
  }

  // REQUIRES: window a positive multiple of hop (validated by the config).
  KeyedHopCounter(absl::Duration window, absl::Duration hop, int max_keys,
                  std::function<std::unique_ptr<Bucket>()> new_bucket)
      : schedule_(window, hop),
        max_keys_(max_keys),
        new_bucket_(std::move(new_bucket)) {}

  // Installs the second gate above; none by default.
  void set_level_cap(LevelCapFn cap) { level_cap_ = std::move(cap); }

  int window_hops() const { return schedule_.window_hops(); }
  absl::Duration hop() const { return schedule_.hop(); }
  absl::Duration window() const { return schedule_.window(); }

  // Counts `n` events (0: only touch the bucket) at time `t` for the key,
  // creating it (scored by `scorer`) if needed, and returns the hop's
  // bucket, created on first use; nullptr when the key is refused by the
  // cap or `t` is too late or too far ahead of the watermark to count. A
  // refusal (not a late event) is told to `facts` (EventFacts::Refuse).
  Bucket* Add(uint32_t packed, absl::Time t, const Scorer* scorer,
              EventFacts& facts, uint32_t n = 1) {
    const int64_t hop = schedule_.HopOf(t);
    Key* key;
    auto it = index_.find(packed);
    if (it != index_.end()) {
      key = &keys_[it->second];
    } else {
      key = NewKey(packed, hop, scorer, facts);
      if (key == nullptr) return nullptr;
    }
    const int before = key->window.capacity();
    // A key created by an event ahead of the watermark (a source running
    // ahead) may meet older events from sources behind it: until its first
    // evaluation (it has learned nothing), its window then starts where the
    // oldest would have started it. (A key merged from a state ahead of
    // this one's schedule, Absorb, has been evaluated: it stays.)
    if (hop < key->window.oldest_hop() && !key->baseline.has_history() &&
        !schedule_.TooLateForNewKey(hop) &&
        !key->window.StartEarlier(schedule_.FirstHopOfNewKey(hop))) {
      cap_hits_.Hit(
          key->target());  // the key's events would span more than max_span
      facts.Refuse(EventFacts::Refusal::kBehindNewKey);
      return nullptr;
    }
    typename Window::Slot* slot = key->window.Add(hop, n);
    if (slot == nullptr) {
      if (hop >= key->window.oldest_hop()) {  // too far ahead
        cap_hits_.Hit(key->target());
        facts.Refuse(EventFacts::Refusal::kAhead);
      }
      return nullptr;
    }
    buckets_ += key->window.capacity() - before;
    if (slot->payload == nullptr) slot->payload = NewBucket();
    // Any event keeps the key alive, counted or not (new_account_burst
    // touches its target's bucket for every post).
    key->last_event_hop = std::max(key->last_event_hop, hop);
    schedule_.NoteEvent(hop);
    return slot->payload.get();
  }

  // Evaluates every hop the watermark completed; returns at once when no
  // hop boundary was crossed.
  void Advance(absl::Time watermark, AlertEmitter& out,
               const MakeAlertFn& make) {
    schedule_.AdvanceTo(
        watermark, keys_, [](const Key& k) { return k.window.next_hop(); },
        [&](size_t i, int64_t h) { return Evaluate(i, h, out, make); },
        [this](size_t i) { Evict(i); });
  }

  // The payloads of the window ending at the key's next hop (the window
  // just assessed, inside a MakeAlertFn), oldest first, nulls skipped.
  std::vector<const Bucket*> WindowBuckets(const Key& key) const {
    std::vector<const Bucket*> out;
    out.reserve(schedule_.window_hops());
    key.window.ForEachInWindow([&](int64_t, const typename Window::Slot& s) {
      if (s.payload != nullptr) out.push_back(s.payload.get());
    });
    return out;
  }

  // See Operator::LatestScores.
  std::vector<TargetScore> LatestScores() const { return scores_.Snapshot(); }

  OperatorStats stats() const {
    OperatorStats s;
    s.keys = static_cast<int64_t>(keys_.size());
    s.buckets = buckets_;
    s.cap_hits = cap_hits_.total();
    s.firing = firing_;
    return s;
  }

  // Fills the fields every record shares: detector, state, severity,
  // target, origin, id, window, numbers and config hash.
  void FillAlert(std::string_view detector, const Key& key, absl::Time end,
                 const Assessment& a, CountRecord record, int level,
                 std::string_view config_hash, Alert& alert) const {
    const SeverityLevel& rung = key.scorer->options().levels[level];
    alert.detector = std::string(detector);
    alert.state = record == CountRecord::kFiring ? AlertState::kFiring
                                                 : AlertState::kResolved;
    alert.severity = rung.severity;
    alert.target = key.target();
    alert.origin = key.origin();
    alert.id = MakeAlertId(detector, key.text(), key.episode_start,
                           rung.severity, config_hash);
    alert.window_start = end - window();
    alert.window_end = end;
    alert.observed = a.observed;
    alert.expected = a.expected;
    alert.ratio = a.ratio;
    alert.score = a.score;
    alert.threshold = rung.min_score;
    alert.config_hash = std::string(config_hash);
  }

  // Snapshots (operators/snapshot.h): the schedule, every key in order
  // (firing rung, episode start, baseline, window) and the counters;
  // `save(bucket, w)` / `restore(r, &bucket)` write and read a bucket.
  // Restore() expects a counter built with the same options (fresh) and
  // `scorer_of(packed)` to return the scorer Add() would pass for the key
  // (called only with well-formed codes), or nullptr for a target the
  // detector does not watch.
  template <typename SaveBucket>
  void Save(SnapshotWriter& w, SaveBucket&& save) const {
    schedule_.Save(w);
    cap_hits_.Save(w, /*per_target=*/true);
    w.U64(keys_.size());
    for (const Key& key : keys_) {
      w.U32(key.packed);
      w.I32(key.firing_level);
      w.I64(key.last_event_hop);
      w.Time(key.episode_start);
      SaveBaseline(key.baseline, w);
      key.window.Save(w,
                      [&](const std::unique_ptr<Bucket>& b, SnapshotWriter& w) {
                        w.Bool(b != nullptr);
                        if (b != nullptr) save(*b, w);
                      });
    }
    scores_.Save(w);
  }
  // `cap_hits_by_target`: the section's version keeps the cap hits per
  // target (CapHits).
  template <typename RestoreBucket>
  void Restore(SnapshotReader& r,
               const std::function<const Scorer*(uint32_t)>& scorer_of,
               RestoreBucket&& restore, bool cap_hits_by_target) {
    schedule_.Restore(r);
    cap_hits_.Restore(r, cap_hits_by_target);
    const size_t n = r.Count(8);
    if (static_cast<int64_t>(n) > max_keys_) {
      r.Fail("more keys than max_keys");
      return;
    }
    keys_.clear();
    index_.clear();
    buckets_ = 0;
    firing_ = 0;
    for (size_t i = 0; i < n && r.ok(); ++i) {
      Key key;
      key.packed = r.U32();
      if (!IsCountryCode(static_cast<uint16_t>(key.packed >> 16)) ||
          ((key.packed & 0xffff) != 0 &&
           !IsCountryCode(static_cast<uint16_t>(key.packed & 0xffff)))) {
        r.Fail("key with a malformed country code");
        return;
      }
      key.scorer = scorer_of(key.packed);
      key.firing_level = r.I32();
      key.last_event_hop = r.I64();
      key.episode_start = r.Time();
      RestoreBaseline(r, &key.baseline);
      if (!r.ok()) return;
      if (key.scorer == nullptr || key.firing_level < -1 ||
          key.firing_level >=
              static_cast<int>(key.scorer->options().levels.size())) {
        r.Fail("key with an unknown target or firing rung");
        return;
      }
      key.window = Window(schedule_.window_hops(), 0, schedule_.max_span());
      key.window.Restore(r, [&](SnapshotReader& r, std::unique_ptr<Bucket>* b) {
        if (!r.Bool()) return;
        *b = new_bucket_();
        restore(r, b->get());
      });
      if (!index_.emplace(key.packed, static_cast<uint32_t>(keys_.size()))
               .second) {
        r.Fail("key appears twice");
        return;
      }
      buckets_ += key.window.capacity();
      if (key.firing_level >= 0) ++firing_;
      keys_.push_back(std::move(key));
    }
    scores_.Restore(r);
  }

  // State that follows partitions (Operator::RetainTargets, Absorb).
  // Every key belongs to its target, so splitting is dropping keys and
  // merging is appending the other's keys (their order decides only the
  // order of alerts within one hop); `scorer_of` as for Restore().
  void RetainTargets(const std::function<bool(CountryCode)>& keep) {
    std::vector<Key> kept;
    kept.reserve(keys_.size());
    for (Key& key : keys_) {
      if (keep(key.target())) kept.push_back(std::move(key));
    }
    keys_ = std::move(kept);
    Reindex();
    scores_.RetainTargets(keep);
    cap_hits_.RetainTargets(keep);
  }
  absl::Status Absorb(KeyedHopCounter& other,
                      const std::function<const Scorer*(uint32_t)>& scorer_of) {
    // A side without keys says nothing about when keys are evaluated.
    if (keys_.empty()) {
      schedule_.TakeProgress(other.schedule_);
    } else if (!other.keys_.empty()) {
      schedule_.Absorb(other.schedule_);
    }
    cap_hits_.Absorb(other.cap_hits_);
    for (Key& key : other.keys_) {
      if (index_.contains(key.packed)) {
        return absl::FailedPreconditionError(
            absl::StrCat("key ", key.text(), " is in both states"));
      }
      key.scorer = scorer_of(key.packed);
      if (key.scorer == nullptr) {
        return absl::FailedPreconditionError(
            absl::StrCat("key ", key.text(), " has no scorer here"));
      }
      index_.emplace(key.packed, static_cast<uint32_t>(keys_.size()));
      keys_.push_back(std::move(key));
    }
    if (static_cast<int64_t>(keys_.size()) > max_keys_) {
      return absl::FailedPreconditionError("more keys than max_keys");
    }
    other.keys_.clear();
    other.Reindex();
    Reindex();
    scores_.Absorb(other.scores_);
    return absl::OkStatus();
  }

 private:
  // Rebuilds what is derived from keys_.
  void Reindex() {
    index_.clear();
    buckets_ = 0;
    firing_ = 0;
    for (size_t i = 0; i < keys_.size(); ++i) {
      index_.emplace(keys_[i].packed, static_cast<uint32_t>(i));
      buckets_ += keys_[i].window.capacity();
      if (keys_[i].firing_level >= 0) ++firing_;
    }
  }

  Key* NewKey(uint32_t packed, int64_t hop, const Scorer* scorer,
              EventFacts& facts) {
    if (static_cast<int64_t>(keys_.size()) >= max_keys_) {
      cap_hits_.Hit(TargetOf(packed));
      facts.Refuse(EventFacts::Refusal::kKeyCap);
      return nullptr;
    }
    if (schedule_.TooLateForNewKey(hop)) return nullptr;
    const int64_t first = schedule_.FirstHopOfNewKey(hop);
    index_.emplace(packed, static_cast<uint32_t>(keys_.size()));
    Key& key = keys_.emplace_back();
    key.packed = packed;
    key.scorer = scorer;
    key.window = Window(schedule_.window_hops(), first, schedule_.max_span());
    buckets_ += key.window.capacity();
    return &key;
  }

  static constexpr bool kRecyclable = requires(Bucket & b) { b.Clear(); };
  // Spare buckets kept at most: a hop boundary drops about one bucket per
  // key, and the next hop's events take them back.
  static constexpr size_t kMaxSpare = 64;

  std::unique_ptr<Bucket> NewBucket() {
    if constexpr (kRecyclable) {
      if (!spare_.empty()) {
        std::unique_ptr<Bucket> b = std::move(spare_.back());
        spare_.pop_back();
        return b;
      }
    }
    return new_bucket_();
  }

  // Takes a bucket the window is about to drop, emptied, for NewBucket().
  void Recycle(std::unique_ptr<Bucket>& bucket) {
    if constexpr (kRecyclable) {
      if (bucket == nullptr || spare_.size() >= kMaxSpare) return;
      bucket->Clear();
      spare_.push_back(std::move(bucket));
    }
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

  // Evaluates key i's window ending at hop h and learns the hop. Returns
  // false when the key should be forgotten.
  bool Evaluate(size_t i, int64_t h, AlertEmitter& out,
                const MakeAlertFn& make) {
    Key& key = keys_[i];
    const Scorer& scorer = *key.scorer;
    const absl::Time end = schedule_.HopEnd(h);
    const double observed = static_cast<double>(key.window.Sum());
    Assessment a =
        scorer.Assess(key.baseline, end, schedule_.window_hops(), observed);
    if (level_cap_ && a.level > key.firing_level && !a.held) {
      const int cap = level_cap_(key, a.level);
      if (cap < a.level) {
        // Not a hold either: a window the gate refused starts none.
        a.level = std::max(cap, key.firing_level);
        a.held = false;
      }
    }
    const uint16_t target = static_cast<uint16_t>(key.packed >> 16);
    scores_.Record(CountryCode::FromChars(static_cast<char>(target >> 8),
                                          static_cast<char>(target & 0xff)),
                   end, a.score);
    const std::vector<SeverityLevel>& levels = scorer.options().levels;
    if (key.firing_level < 0) {
      if (a.reached()) {
        key.firing_level = a.level;
        key.episode_start = end;
        ++firing_;
        out.Emit(
            make(key, end, a, CountRecord::kFiring, a.level, Severity::kInfo));
      }
    } else if (!a.reached()) {
      out.Emit(make(key, end, a, CountRecord::kResolved, key.firing_level,
                    Severity::kInfo));
      key.firing_level = -1;
      --firing_;
    } else if (a.level > key.firing_level) {
      out.Emit(make(key, end, a, CountRecord::kSuperseded, key.firing_level,
                    levels[a.level].severity));
      key.firing_level = a.level;
      out.Emit(
          make(key, end, a, CountRecord::kFiring, a.level, Severity::kInfo));
    }
    scorer.Learn(key.baseline, end, key.window.At(h).count, a);
    Recycle(key.window.oldest_payload());
    key.window.Advance();
    return !(key.firing_level < 0 && key.window.Sum() == 0 &&
             key.last_event_hop < key.window.next_hop() &&
             h - key.last_event_hop > schedule_.idle_hops());
  }

  HopSchedule schedule_;
  const int64_t max_keys_;
  const std::function<std::unique_ptr<Bucket>()> new_bucket_;
  std::vector<std::unique_ptr<Bucket>> spare_;  // emptied, for NewBucket()
  LevelCapFn level_cap_;

  absl::flat_hash_map<uint32_t, uint32_t> index_;
  std::vector<Key> keys_;  // insertion order; the map only indexes it
  int64_t buckets_ = 0;
  CapHits cap_hits_;
  int64_t firing_ = 0;
  TargetScores scores_;
};

}  // namespace vigia

#endif  // VIGIA_OPERATORS_KEYED_HOP_COUNTER_H_
