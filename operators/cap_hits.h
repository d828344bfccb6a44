// CapHits: a detector's cumulative count of the times a cap refused or
// evicted state (OperatorStats::cap_hits), kept per target so that the count
// follows partitions with the state it describes (docs/state.md, "State
// follows partitions"). A split keeps each part's own targets' hits and a
// merge adds parts that hold different targets, so the sum over the
// instances is the count of one detector, never the shared history twice.
//
// Owned by one detector; not thread-safe (the pipeline's thread only).
#ifndef VIGIA_OPERATORS_CAP_HITS_H_
#define VIGIA_OPERATORS_CAP_HITS_H_

#include <algorithm>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "operators/operator_util.h"
#include "operators/snapshot.h"
#include "pipeline/core/types.h"

namespace vigia {

class CapHits {
 public:
  // A hit on behalf of `target` (the target of the record or state the cap
  // refused or evicted). An unknown target is counted in the total only.
  void Hit(CountryCode target) {
    ++total_;
    if (!target.known()) return;
    auto it =
        std::lower_bound(by_target_.begin(), by_target_.end(), target.packed(),
                         [](const std::pair<uint16_t, int64_t>& e, uint16_t p) {
                           return e.first < p;
                         });
    if (it == by_target_.end() || it->first != target.packed()) {
      it = by_target_.insert(it, {target.packed(), 0});
    }
    ++it->second;
  }

  int64_t total() const { return total_; }
  // The hits of `target` (0 when none).
  int64_t of(CountryCode target) const {
    for (const auto& [packed, n] : by_target_) {
      if (packed == target.packed()) return n;
    }
    return 0;
  }

  // Keeps the hits of the targets `keep` accepts. Hits of no known target
  // (an unknown target, or a state restored from a section written before
  // the count was kept per target) belong to no part: a split drops them,
  // which undercounts once rather than counting them in every part.
  void RetainTargets(const std::function<bool(CountryCode)>& keep) {
    int64_t kept = 0;
    std::vector<std::pair<uint16_t, int64_t>> out;
    for (const auto& e : by_target_) {
      CountryCode c = CountryCode::FromChars(static_cast<char>(e.first >> 8),
                                             static_cast<char>(e.first & 0xff));
      if (!keep(c)) continue;
      kept += e.second;
      out.push_back(e);
    }
    by_target_ = std::move(out);
    total_ = kept;
  }

  // Adds the hits of a part holding other targets.
  void Absorb(const CapHits& other) {
    total_ += other.total_;
    for (const auto& [packed, n] : other.by_target_) {
      auto it = std::lower_bound(by_target_.begin(), by_target_.end(), packed,
                                 [](const std::pair<uint16_t, int64_t>& e,
                                    uint16_t p) { return e.first < p; });
      if (it != by_target_.end() && it->first == packed) {
        it->second += n;
      } else {
        by_target_.insert(it, {packed, n});
      }
    }
  }

  // The total, then (`per_target`, the sections' newer versions) every
  // target with hits in code order: its code and count.
  void Save(SnapshotWriter& w, bool per_target) const {
    w.I64(total_);
    if (!per_target) return;
    w.U64(by_target_.size());
    for (const auto& [packed, n] : by_target_) {
      w.U32(packed);
      w.I64(n);
    }
  }
  // Reads what Save() wrote with the same `per_target`. Without it the
  // whole total is of no known target.
  void Restore(SnapshotReader& r, bool per_target) {
    by_target_.clear();
    total_ = r.Int(0, INT64_MAX / 2, "cap hits");
    if (!per_target) return;
    const size_t n = r.Count(2);
    int64_t sum = 0;
    for (size_t i = 0; i < n && r.ok(); ++i) {
      const uint32_t code = r.U32();
      const int64_t hits = r.Int(1, INT64_MAX / 2, "cap hits of a target");
      if (!r.ok()) return;
      if (code > 0xffff || !IsCountryCode(static_cast<uint16_t>(code)) ||
          (!by_target_.empty() && by_target_.back().first >= code)) {
        r.Fail("cap hits of a malformed or unordered target");
        return;
      }
      sum += hits;
      if (sum > total_) {
        r.Fail("cap hits by target exceed the total");
        return;
      }
      by_target_.emplace_back(static_cast<uint16_t>(code), hits);
    }
  }

 private:
  int64_t total_ = 0;
  // (packed target, hits), by code; at most one entry per country.
  std::vector<std::pair<uint16_t, int64_t>> by_target_;
};

}  // namespace vigia

#endif  // VIGIA_OPERATORS_CAP_HITS_H_
