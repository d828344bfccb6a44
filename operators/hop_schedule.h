// HopSchedule: when a windowed detector evaluates its keys, written once.
//
// Every windowed detector slides a window of `window_hops` hops over event
// time (hop h covers [h * hop, (h + 1) * hop) of Unix time; the window at
// hop h is hops (h - K, h], see hop_window.h) and evaluates each key's
// window once, when the watermark passes the hop's end. The schedule owns:
//   - the geometry: hop length, hops per window, how long an idle key is
//     kept (a day unless the detector says otherwise, at least a window)
//     and how far ahead of its window a key may hold events (six hours);
//   - the progress: the last hop evaluated and the newest event hop seen
//     (at the end of input, InfiniteFuture, the newest events' windows are
//     evaluated to their end);
//   - the loop: hop-major from the earliest hop any key waits for, keys in
//     their (insertion) order, so alerts come out in event-time order and
//     identically on every run; a key may be evicted during the loop.
//
// Example (the key type has a HopWindow `window`):
//   void AdvanceWatermark(absl::Time wm, AlertEmitter& out) {
//     schedule_.AdvanceTo(wm, keys_,
//         [](const Key& k) { return k.window.next_hop(); },
//         [&](size_t i, int64_t h) { return Evaluate(i, h, out); },
//         [&](size_t i) { Evict(i); });
//   }
//
// Owned by one detector and used on its thread only; never reads the clock.
#ifndef VIGIA_OPERATORS_HOP_SCHEDULE_H_
#define VIGIA_OPERATORS_HOP_SCHEDULE_H_

#include <algorithm>
#include <cstdint>
#include <limits>
#include <optional>

#include "absl/time/time.h"
#include "operators/operator_util.h"
#include "operators/snapshot.h"

namespace vigia {

class HopSchedule {
 public:
  // No hop yet (nothing evaluated, no event seen).
  static constexpr int64_t kNoHop = std::numeric_limits<int64_t>::min();
  // By default, a key with no events for this long, and nothing firing, is
  // forgotten; it warms up again if it comes back.
  static constexpr absl::Duration kIdleEviction = absl::Hours(24);
  // By default, how far past the oldest hop of its window a key may hold
  // events (from a source running ahead of the watermark); beyond that they
  // are refused.
  static constexpr absl::Duration kMaxLookahead = absl::Hours(6);

  // REQUIRES: window a positive multiple of hop (validated by the config);
  // a hop under 1us counts as 1us, a window under one hop as one hop.
  // `idle_eviction` is how long an idle key is kept (at least a window),
  // `lookahead` how far ahead of its window a key holds events (at least a
  // hop).
  HopSchedule(absl::Duration window, absl::Duration hop,
              absl::Duration idle_eviction = kIdleEviction,
              absl::Duration lookahead = kMaxLookahead)
      : hop_us_(std::max<int64_t>(1, absl::ToInt64Microseconds(hop))),
        window_hops_(static_cast<int>(
            std::max<int64_t>(1, absl::ToInt64Microseconds(window) / hop_us_))),
        idle_hops_(std::max<int64_t>(
            window_hops_, absl::ToInt64Microseconds(idle_eviction) / hop_us_)),
        max_span_(window_hops_ +
                  static_cast<int>(std::max<int64_t>(
                      1, absl::ToInt64Microseconds(lookahead) / hop_us_))) {}

  // Geometry.
  int64_t hop_us() const { return hop_us_; }
  int window_hops() const { return window_hops_; }
  absl::Duration hop() const { return absl::Microseconds(hop_us_); }
  absl::Duration window() const { return hop() * window_hops_; }
  // Hops without events after which an idle key may be forgotten.
  int64_t idle_hops() const { return idle_hops_; }
  // The `max_span` a key's HopWindow is built with.
  int max_span() const { return max_span_; }
  // The hop containing `t` (times before 1970 included).
  int64_t HopOf(absl::Time t) const {
    return FloorDiv(absl::ToUnixMicros(t), hop_us_);
  }
  // The end of hop `h`: the end of the window evaluated at h.
  absl::Time HopEnd(int64_t h) const {
    return absl::FromUnixMicros((h + 1) * hop_us_);
  }

  // Progress.
  int64_t last_done_hop() const { return last_done_hop_; }
  // Records an event counted at `hop`.
  void NoteEvent(int64_t hop) {
    max_event_hop_ = std::max(max_event_hop_, hop);
  }

  // The hop at which a key created now, for an event at `hop`, is first
  // evaluated: the window ending at its event's hop, or the first one not
  // yet evaluated when that is later (an event behind the watermark, still
  // inside a window to come). Never earlier: how many empty windows a new
  // key would start with must not depend on how far the watermark happened
  // to be when its first event arrived (processing speed), or a daemon and
  // a replay of the same feed would learn different baselines.
  int64_t FirstHopOfNewKey(int64_t hop) const {
    if (last_done_hop_ == kNoHop) return hop;
    return std::max(hop, last_done_hop_ + 1);
  }
  // True when an event at `hop` is older than every window still to be
  // evaluated, so it cannot count for a key created now.
  bool TooLateForNewKey(int64_t hop) const {
    return last_done_hop_ != kNoHop &&
           hop < last_done_hop_ + 1 - window_hops_ + 1;
  }

  // The last hop whose end is at or before `watermark`; at InfiniteFuture,
  // the last hop of the newest event's last window. nullopt when no hop can
  // be complete (InfinitePast, or the end of an input without events).
  std::optional<int64_t> CompleteHop(absl::Time watermark) const {
    if (watermark == absl::InfinitePast()) return std::nullopt;
    if (watermark == absl::InfiniteFuture()) {
      if (max_event_hop_ == kNoHop) return std::nullopt;
      return max_event_hop_ + window_hops_;
    }
    return FloorDiv(absl::ToUnixMicros(watermark), hop_us_) - 1;
  }

  // Evaluates every hop through `complete` not evaluated yet (nothing, at
  // once, when no hop boundary was crossed). For each hop h, from the
  // earliest any key waits for (keys created ahead of the watermark start
  // later), never one already done: evaluate(i, h) for each key i, in order,
  // whose next_hop(keys[i]) is h; when it returns false, evict(i) must move
  // the last key into slot i (which is then evaluated next). after_hop(h)
  // runs after each hop's keys.
  template <typename Keys, typename NextHop, typename Evaluate, typename Evict,
            typename AfterHop>
  void EvaluateThrough(int64_t complete, Keys& keys, NextHop next_hop,
                       Evaluate evaluate, Evict evict, AfterHop after_hop) {
    if (complete <= last_done_hop_) return;
    int64_t h = std::numeric_limits<int64_t>::max();
    for (const auto& key : keys) h = std::min(h, next_hop(key));
    if (last_done_hop_ != kNoHop) h = std::max(h, last_done_hop_ + 1);
    for (; h <= complete && !keys.empty(); ++h) {
      for (size_t i = 0; i < keys.size();) {
        if (next_hop(keys[i]) == h && !evaluate(i, h)) {
          evict(i);  // the last key moved into slot i: evaluate it next
          continue;
        }
        ++i;
      }
      after_hop(h);
    }
    last_done_hop_ = complete;
  }

  // CompleteHop(watermark), then EvaluateThrough it with nothing after
  // each hop: the whole of most detectors' AdvanceWatermark.
  template <typename Keys, typename NextHop, typename Evaluate, typename Evict>
  void AdvanceTo(absl::Time watermark, Keys& keys, NextHop next_hop,
                 Evaluate evaluate, Evict evict) {
    const std::optional<int64_t> complete = CompleteHop(watermark);
    if (!complete.has_value()) return;
    EvaluateThrough(*complete, keys, next_hop, evaluate, evict, [](int64_t) {});
  }

  // Snapshots: the hops done and the newest event's hop (the geometry is
  // the options').
  void Save(SnapshotWriter& w) const {
    w.I64(last_done_hop_);
    w.I64(max_event_hop_);
  }
  void Restore(SnapshotReader& r) {
    last_done_hop_ = r.I64();
    max_event_hop_ = r.I64();
  }
  // Merging two detectors' keys (Operator::Absorb): the merged schedule
  // resumes at the earlier of the two hops done, so no key of either waits
  // for a hop the loop has passed (the loop evaluates a key only at its own
  // next hop, so the other's keys simply wait), and knows the newer event.
  void TakeProgress(const HopSchedule& other) {
    last_done_hop_ = other.last_done_hop_;
    max_event_hop_ = other.max_event_hop_;
  }
  void Absorb(const HopSchedule& other) {
    last_done_hop_ = std::min(last_done_hop_, other.last_done_hop_);
    max_event_hop_ = std::max(max_event_hop_, other.max_event_hop_);
  }

 private:
  const int64_t hop_us_;
  const int window_hops_;
  const int64_t idle_hops_;
  const int max_span_;
  int64_t last_done_hop_ = kNoHop;
  int64_t max_event_hop_ = kNoHop;
};

}  // namespace vigia

#endif  // VIGIA_OPERATORS_HOP_SCHEDULE_H_
