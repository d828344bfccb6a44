// A sliding event-time window of per-hop buckets for one key: a ring buffer
// of counts (and an optional per-bucket payload, e.g. evidence sketches)
// indexed by hop number, where hop h covers [h * hop, (h + 1) * hop) of
// Unix time and the window evaluated at hop h is hops (h - K, h].
//
// The window is evaluated hop by hop, in order, when the watermark passes
// the hop's end (the owner decides when; see ForeignOriginSurge). Late
// events policy: an event may still land in any hop that belongs to a
// window not yet evaluated, i.e. hop >= next_hop() - K + 1, including hops
// whose own window was already evaluated; it then counts in the windows
// still to come, and alerts already emitted are not revised. Events older
// than that are refused (Add returns nullptr), unless the owner moves the
// window's start back first (StartEarlier, while nothing was evaluated). Events
// ahead of next_hop() are held, up to `max_span` hops from the oldest hop held;
// the ring grows (power of two) to hold them and never shrinks.
//
// Sums are kept incrementally: Add, Sum and Advance are O(1).
//
// Owned by one key's state; not thread-safe.
#ifndef VIGIA_OPERATORS_HOP_WINDOW_H_
#define VIGIA_OPERATORS_HOP_WINDOW_H_

#include <algorithm>
#include <bit>
#include <cstdint>
#include <memory>
#include <utility>

#include "operators/snapshot.h"

namespace vigia {

// For windows that carry counts only.
struct NoPayload {};

template <typename Payload = NoPayload>
class HopWindow {
 public:
  struct Slot {
    uint32_t count = 0;
    [[no_unique_address]] Payload payload{};
  };

  HopWindow() = default;
  // A window of `window_hops` hops whose first evaluation is the window
  // ending at hop `first_hop`. `max_span` bounds the hops held (the window
  // plus look-ahead); it is raised to window_hops + 1 if smaller.
  // REQUIRES: window_hops >= 1.
  HopWindow(int window_hops, int64_t first_hop, int max_span)
      : next_(first_hop),
        k_(static_cast<uint32_t>(window_hops)),
        max_span_(static_cast<uint32_t>(std::max(max_span, window_hops + 1))) {
    cap_ = std::bit_ceil(k_ + 1);
    slots_ = std::make_unique<Slot[]>(cap_);
  }

  HopWindow(HopWindow&&) noexcept = default;
  HopWindow& operator=(HopWindow&&) noexcept = default;

  int window_hops() const { return static_cast<int>(k_); }
  // The hop whose window is evaluated next.
  int64_t next_hop() const { return next_; }
  // The oldest hop still held: the first hop of the next window.
  int64_t oldest_hop() const { return next_ - k_ + 1; }
  // Slots allocated (the ring's capacity), for memory accounting.
  int capacity() const { return static_cast<int>(cap_); }

  // Adds `n` to hop `hop` and returns its slot, or nullptr when the hop is
  // older than oldest_hop() or at least max_span hops past it.
  Slot* Add(int64_t hop, uint32_t n = 1) {
    const int64_t oldest = oldest_hop();
    if (hop < oldest) return nullptr;
    const int64_t span = hop - oldest + 1;
    if (span > static_cast<int64_t>(max_span_)) return nullptr;
    if (span > static_cast<int64_t>(cap_)) Grow(static_cast<uint32_t>(span));
    Slot& s = slot(hop);
    s.count += n;
    if (hop < next_) partial_ += n;
    return &s;
  }

  // Moves the first evaluation back to the window ending at `first_hop`,
  // before next_hop(), so that hops back to first_hop - K + 1 can be added.
  // For a window none of whose windows has been evaluated yet: when a key's
  // events come from several sources, the first to arrive need not be its
  // oldest, and the window must start where it would had they come in
  // event-time order (a replay). Returns false, and changes nothing, when
  // the hops held would then span more than max_span.
  bool StartEarlier(int64_t first_hop) {
    if (first_hop >= next_) return true;
    const int64_t oldest = oldest_hop();
    int64_t newest = next_;
    for (int64_t h = oldest + cap_ - 1; h > next_; --h) {
      if (Held(At(h))) {
        newest = h;
        break;
      }
    }
    const int64_t new_oldest = first_hop - k_ + 1;
    const int64_t span = newest - new_oldest + 1;
    if (span > static_cast<int64_t>(max_span_)) return false;
    // The ring is indexed by hop: growing keeps every hop held in place,
    // and the slots of the hops now in front of it are empty (any hop they
    // alias lies past `newest`).
    if (span > static_cast<int64_t>(cap_)) Grow(static_cast<uint32_t>(span));
    next_ = first_hop;
    partial_ = 0;
    for (int64_t h = std::max(oldest, new_oldest); h < next_; ++h) {
      partial_ += At(h).count;
    }
    return true;
  }

  // The slot of `hop`. REQUIRES: oldest_hop() <= hop < oldest_hop() +
  // capacity(); slots not added to hold zero and a default payload.
  const Slot& At(int64_t hop) const { return slots_[Index(hop)]; }

  // The total of the window ending at next_hop().
  uint64_t Sum() const { return partial_ + At(next_).count; }

  // Calls f(hop, slot) for each hop of the window ending at next_hop(),
  // oldest first.
  template <typename F>
  void ForEachInWindow(F&& f) const {
    for (int64_t h = oldest_hop(); h <= next_; ++h) f(h, At(h));
  }

  // The window ending at next_hop() has been evaluated: retires its oldest
  // hop (which no later window contains) and moves to the next hop.
  // Snapshots (operators/snapshot.h): the position, the partial sum and the
  // held slots; `save(payload, w)` / `restore(r, &payload)` handle the
  // payload. Restore() expects a window built with the same window_hops and
  // max_span (the detector's options) and fails on anything else.
  template <typename SavePayload>
  void Save(SnapshotWriter& w, SavePayload&& save) const {
    w.I64(next_);
    w.U64(partial_);
    w.U32(cap_);
    for (int64_t h = oldest_hop(); h < oldest_hop() + cap_; ++h) {
      const Slot& s = At(h);
      w.U32(s.count);
      save(s.payload, w);
    }
  }
  template <typename RestorePayload>
  void Restore(SnapshotReader& r, RestorePayload&& restore) {
    next_ = r.I64();
    partial_ = r.U64();
    const uint32_t cap = r.U32();
    if (!r.ok()) return;
    if (!std::has_single_bit(cap) || cap < k_ + 1 ||
        cap > std::bit_ceil(max_span_) || cap > r.remaining()) {
      r.Fail("hop window capacity does not fit the configured window");
      return;
    }
    cap_ = cap;
    slots_ = std::make_unique<Slot[]>(cap_);
    for (int64_t h = oldest_hop(); h < oldest_hop() + cap_ && r.ok(); ++h) {
      Slot& s = slot(h);
      s.count = r.U32();
      restore(r, &s.payload);
    }
  }

  // The oldest hop's payload, which Advance() drops: a caller that recycles
  // payloads moves it out first.
  Payload& oldest_payload() { return slot(oldest_hop()).payload; }

  void Advance() {
    const int64_t oldest = oldest_hop();
    partial_ = Sum() - At(oldest).count;
    slot(oldest) = Slot{};
    ++next_;
  }

 private:
  // Whether a slot holds anything: a count, or a payload that was created.
  static bool Held(const Slot& s) {
    if (s.count > 0) return true;
    if constexpr (requires { s.payload != nullptr; }) {
      return s.payload != nullptr;
    } else {
      return false;
    }
  }

  size_t Index(int64_t hop) const {
    return static_cast<size_t>(static_cast<uint64_t>(hop) & (cap_ - 1));
  }
  Slot& slot(int64_t hop) { return slots_[Index(hop)]; }

  void Grow(uint32_t span) {
    const uint32_t cap = std::bit_ceil(span);
    auto slots = std::make_unique<Slot[]>(cap);
    const int64_t oldest = oldest_hop();
    for (int64_t h = oldest; h < oldest + cap_; ++h) {
      slots[static_cast<uint64_t>(h) & (cap - 1)] = std::move(slot(h));
    }
    slots_ = std::move(slots);
    cap_ = cap;
  }

  std::unique_ptr<Slot[]> slots_;
  int64_t next_ = 0;
  // Total of hops [oldest_hop(), next_hop()).
  uint64_t partial_ = 0;
  uint32_t cap_ = 0;
  uint32_t k_ = 1;
  uint32_t max_span_ = 2;
};

}  // namespace vigia

#endif  // VIGIA_OPERATORS_HOP_WINDOW_H_
