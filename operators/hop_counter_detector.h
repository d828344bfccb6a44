// HopCounterDetector: the Operator side shared by the detectors built on a
// KeyedHopCounter (foreign_origin_surge, new_account_burst,
// state_media_amplification). What differs between them is what an event
// adds to a bucket and what an alert says; everything else is written here
// once: completed-hop evaluation, statistics and scores, the state format
// around the buckets, and splitting and merging state by target.
//
// A detector derives as `class D final : public HopCounterDetector<D, B>`
// and provides (private members are fine: the base is a friend):
//   Alert MakeAlert(const Key&, absl::Time end, const Assessment&,
//                   CountRecord, int level, Severity successor) const;
//   const Scorer* ScorerOf(uint32_t packed) const;  // nullptr: not watched
//   static void SaveBucket(const B&, SnapshotWriter&);
//   static void RestoreBucket(SnapshotReader&, B*);
// State format version 1 is the counter's (keyed_hop_counter.h) with each
// bucket as SaveBucket writes it.
//
// Same threading as Operator: one thread drives it; never reads the clock.
#ifndef VIGIA_OPERATORS_HOP_COUNTER_DETECTOR_H_
#define VIGIA_OPERATORS_HOP_COUNTER_DETECTOR_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "operators/keyed_hop_counter.h"
#include "operators/operator.h"
#include "operators/scorer.h"
#include "operators/snapshot.h"

namespace vigia {

template <typename Derived, typename Bucket>
class HopCounterDetector : public Operator {
 public:
  void AdvanceWatermark(absl::Time watermark, AlertEmitter& out) override {
    counter_.Advance(watermark, out,
                     [this](const Key& key, absl::Time end, const Assessment& a,
                            CountRecord record, int level, Severity successor) {
                       return self().MakeAlert(key, end, a, record, level,
                                               successor);
                     });
  }

  OperatorStats stats() const override { return counter_.stats(); }
  std::vector<TargetScore> LatestScores() const override {
    return counter_.LatestScores();
  }

  // Version 2 keeps the cap hits per target (CapHits); version 1 had the
  // total only.
  uint32_t state_version() const override { return 2; }
  void SaveState(SnapshotWriter& w) const override {
    counter_.Save(w, &Derived::SaveBucket);
  }
  absl::Status RestoreState(SnapshotReader& r, uint32_t version) override {
    counter_.Restore(r, ScorerLookup(), &Derived::RestoreBucket,
                     /*cap_hits_by_target=*/version >= 2);
    return r.Finish();
  }

  // Every key belongs to one target (keyed_hop_counter.h).
  bool splits_by_target() const override { return true; }
  void RetainTargets(const std::function<bool(CountryCode)>& keep) override {
    counter_.RetainTargets(keep);
  }
  absl::Status Absorb(Operator& other) override {
    auto* o = dynamic_cast<Derived*>(&other);
    if (o == nullptr) return Operator::Absorb(other);
    return counter_.Absorb(o->counter_, ScorerLookup());
  }

 protected:
  using Counter = KeyedHopCounter<Bucket>;
  using Key = typename Counter::Key;

  HopCounterDetector(absl::Duration window, absl::Duration hop, int max_keys,
                     std::function<std::unique_ptr<Bucket>()> new_bucket)
      : counter_(window, hop, max_keys, std::move(new_bucket)) {}

  Counter counter_;

 private:
  const Derived& self() const { return static_cast<const Derived&>(*this); }
  std::function<const Scorer*(uint32_t)> ScorerLookup() const {
    return [this](uint32_t packed) { return self().ScorerOf(packed); };
  }
};

}  // namespace vigia

#endif  // VIGIA_OPERATORS_HOP_COUNTER_DETECTOR_H_
