// TargetScores: the highest score per target at that target's latest
// evaluation, for the vigia_detector_score gauge (a dashboard shows how
// close each electorate is to alerting, before anything fires).
//
// A scoring detector owns one and calls Record() for every assessment it
// makes; entries are keyed by the hop end evaluated, so a newer hop replaces
// the target's value and the same hop keeps the maximum over its keys.
// Bounded: at most one entry per two-letter country code. Single-threaded:
// the owning operator's thread (the pipeline copies Snapshot() out for
// metrics readers).
#ifndef VIGIA_OPERATORS_TARGET_SCORES_H_
#define VIGIA_OPERATORS_TARGET_SCORES_H_

#include <algorithm>
#include <cmath>
#include <functional>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "operators/operator.h"
#include "operators/snapshot.h"
#include "pipeline/core/types.h"

namespace vigia {

class TargetScores {
 public:
  // Notes `score` for a key of `target` evaluated at hop end `end`.
  // Unknown targets and non-finite scores are ignored.
  void Record(CountryCode target, absl::Time end, double score) {
    if (!target.known() || !std::isfinite(score)) return;
    auto [it, inserted] = by_target_.try_emplace(target.packed());
    Entry& e = it->second;
    if (inserted || end > e.end) {
      e.end = end;
      e.score = score;
    } else if (end == e.end && score > e.score) {
      e.score = score;
    }
  }

  // Every target's latest maximum, sorted by target.
  std::vector<TargetScore> Snapshot() const;

  // Snapshots (operators/snapshot.h), in target order.
  void Save(SnapshotWriter& w) const {
    std::vector<std::pair<uint16_t, Entry>> sorted(by_target_.begin(),
                                                   by_target_.end());
    std::sort(sorted.begin(), sorted.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    w.U64(sorted.size());
    for (const auto& [packed, e] : sorted) {
      w.U32(packed);
      w.Time(e.end);
      w.F64(e.score);
    }
  }
  void Restore(SnapshotReader& r) {
    by_target_.clear();
    const size_t n = r.Count(10);
    for (size_t i = 0; i < n && r.ok(); ++i) {
      const uint32_t packed = r.U32();
      Entry e;
      e.end = r.Time();
      e.score = r.F64();
      if (packed > 0xffff) r.Fail("target code out of range");
      if (r.ok()) by_target_[static_cast<uint16_t>(packed)] = e;
    }
  }

  // Splitting and merging by target (Operator::RetainTargets, Absorb).
  void RetainTargets(const std::function<bool(CountryCode)>& keep) {
    absl::erase_if(by_target_, [&](const auto& kv) {
      return !keep(CountryCode::FromChars(static_cast<char>(kv.first >> 8),
                                          static_cast<char>(kv.first & 0xff)));
    });
  }
  void Absorb(const TargetScores& other) {
    for (const auto& [packed, e] : other.by_target_) by_target_[packed] = e;
  }

 private:
  struct Entry {
    absl::Time end = absl::InfinitePast();
    double score = 0;
  };
  absl::flat_hash_map<uint16_t, Entry> by_target_;
};

inline std::vector<TargetScore> TargetScores::Snapshot() const {
  std::vector<TargetScore> out;
  out.reserve(by_target_.size());
  for (const auto& [packed, e] : by_target_) {
    out.push_back({CountryCode::FromChars(static_cast<char>(packed >> 8),
                                          static_cast<char>(packed & 0xff)),
                   e.score});
  }
  std::sort(out.begin(), out.end(),
            [](const TargetScore& a, const TargetScore& b) {
              return a.target < b.target;
            });
  return out;
}

}  // namespace vigia

#endif  // VIGIA_OPERATORS_TARGET_SCORES_H_
