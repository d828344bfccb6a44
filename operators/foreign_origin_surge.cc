#include "operators/foreign_origin_surge.h"

#include <algorithm>
#include <bitset>
#include <cstdint>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "operators/detector_options.h"
#include "operators/evidence.h"
#include "operators/hop_counter_detector.h"
#include "operators/keyed_hop_counter.h"
#include "operators/operator_util.h"
#include "operators/scorer.h"
#include "operators/snapshot.h"
#include "pipeline/core/status_macros.h"
#include "pipeline/core/strings.h"

namespace vigia {
namespace {

constexpr std::string_view kName = "foreign_origin_surge";

// The first detector; KeyedHopCounter (keyed_hop_counter.h) is its per-key
// machinery and HopCounterDetector its Operator side, shared with the other
// count detectors. State format version 1: the counter with a
// BucketEvidence per bucket.
class ForeignOriginSurge final
    : public HopCounterDetector<ForeignOriginSurge, BucketEvidence> {
 public:
  ForeignOriginSurge(const ForeignOriginSurgeOptions& options,
                     const OperatorContext& context)
      : HopCounterDetector(
            options.window, options.hop, options.max_keys,
            [this] { return std::make_unique<BucketEvidence>(limits_); }),
        options_(options),
        context_(context),
        limits_{std::max(4 * context.top_n, 8), context.max_samples},
        scorer_(options.scoring, counter_.hop()),
        window_text_(HumanDuration(counter_.window())) {
    for (CountryCode c : options.targets) {
      if (c.known()) targets_.set(CountryIndex(c));
    }
  }

  std::string_view name() const override { return kName; }
  FeedSet feeds() const override { return FeedBit(FeedKind::kPost); }

  void Observe(const Event& event, EventFacts& facts,
               AlertEmitter& out) override {
    if (!event.is_post() || !event.is_foreign() || !event.target.known()) {
      return;
    }
    if (targets_.any() && !targets_.test(facts.target_index())) return;
    BucketEvidence* bucket =
        counter_.Add(Counter::Pack(event.target, event.origin()),
                     event.created_at, &scorer_, facts);
    if (bucket != nullptr) bucket->Add(event);
  }

 private:
  friend class HopCounterDetector<ForeignOriginSurge, BucketEvidence>;

  // The scorer Add() gives the key `packed`; nullptr for a target not
  // watched.
  const Scorer* ScorerOf(uint32_t packed) const {
    (void)packed;
    return &scorer_;
  }
  static void SaveBucket(const BucketEvidence& b, SnapshotWriter& w) {
    b.Save(w);
  }
  static void RestoreBucket(SnapshotReader& r, BucketEvidence* b) {
    b->Restore(r);
  }

  // Builds the record of the alert of rung `level` for the window ending at
  // `end`; `successor` is the severity that supersedes it (kSuperseded).
  Alert MakeAlert(const Key& key, absl::Time end, const Assessment& a,
                  CountRecord record, int level, Severity successor) const {
    Alert alert;
    counter_.FillAlert(kName, key, end, a, record, level, context_.config_hash,
                       alert);
    std::string prefix;
    if (record == CountRecord::kResolved) {
      prefix = "Resolved: foreign-origin";
    } else if (record == CountRecord::kSuperseded) {
      prefix = absl::StrCat("Superseded by ", ToAbsl(SeverityName(successor)),
                            ": foreign-origin");
    } else {
      prefix = "Foreign-origin";
    }
    alert.summary = absl::StrFormat(
        "%s posts aimed at %s from %s: %s%.0f in %s vs %.1f expected "
        "(%.1fx, score %.1f)",
        prefix, alert.target.str(), alert.origin.str(),
        record == CountRecord::kResolved ? "back to " : "", a.observed,
        window_text_, a.expected, a.ratio, a.score);
    alert.evidence = MergeEvidence(counter_.WindowBuckets(key), context_.top_n,
                                   context_.max_samples);
    alert.evidence.baseline =
        scorer_.Explain(key.baseline, end, counter_.window_hops());
    for (auto& entry : Scorer::ExplainVerdict(a)) {
      alert.evidence.baseline.push_back(std::move(entry));
    }
    return alert;
  }

  const ForeignOriginSurgeOptions options_;
  const OperatorContext context_;
  const EvidenceLimits limits_;
  const Scorer scorer_;
  const std::string window_text_;
  std::bitset<kCountrySlots> targets_;
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
