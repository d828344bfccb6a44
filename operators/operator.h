// The operator interface: a detector observes the events of the feeds it
// reads in event-time order (up to the pipeline's bounded disorder), is told
// when their watermark moves, and emits alerts.
//
// Lifecycle: the pipeline constructs operators through their factories,
// calls Prefetch() and then Observe() for every accepted event (with the
// facts derived from it once for all operators, event_facts.h) and
// AdvanceWatermark() whenever the watermark moves forward, all on one thread.
// Operators hold no locks and never read the wall clock: event time arrives
// with each event and the watermark says how far event time is complete.
#ifndef VIGIA_OPERATORS_OPERATOR_H_
#define VIGIA_OPERATORS_OPERATOR_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "operators/event_facts.h"
#include "pipeline/core/alert.h"
#include "pipeline/core/event.h"

namespace vigia {

class SnapshotWriter;
class SnapshotReader;

// Receives the alerts an operator raises. Implemented by the pipeline, which
// stamps, counts and forwards them to the sinks.
class AlertEmitter {
 public:
  virtual ~AlertEmitter() = default;
  virtual void Emit(Alert alert) = 0;
};

// State size, for metrics and for the caps that bound memory.
struct OperatorStats {
  int64_t keys = 0;      // keys currently tracked
  int64_t buckets = 0;   // time buckets currently held, over all keys
  int64_t cap_hits = 0;  // times a cap refused or evicted state (cumulative)
  int64_t firing = 0;    // alerts currently firing
};

// A detector's highest score among its keys for one target, at the latest
// evaluation of that target (see TargetScores), for metrics.
struct TargetScore {
  CountryCode target;
  double score = 0;
};

// What every operator is given at construction.
struct OperatorContext {
  // Fingerprint of the effective configuration, copied into every alert.
  std::string config_hash;
  // How many sample events and top values an alert's evidence carries.
  int max_samples = 10;
  int top_n = 5;
};

class Operator {
 public:
  virtual ~Operator() = default;

  // The detector name used in alerts and metrics, e.g. "foreign_origin_surge".
  virtual std::string_view name() const = 0;

  // Accounts for one event. `facts` holds what several operators derive
  // from the event (its URLs' normal forms and hosts, the account's hash,
  // country indices), derived once for all of them: use it rather than
  // deriving again. REQUIRES: the event is not late, i.e.
  // event.created_at >= (last watermark passed) - allowed lateness; `facts`
  // was Reset() to this event. An event the operator cannot take (a state
  // cap, or further ahead than its windows hold) is told to
  // facts.Refuse(), never dropped silently. The event, its strings and
  // `facts` are valid only during the call.
  virtual void Observe(const Event& event, EventFacts& facts,
                       AlertEmitter& out) = 0;

  // Called for an event before any operator observes it: an operator whose
  // Observe() looks the event up among very many keys may start loading
  // that memory here, so that the cache misses overlap the other operators'
  // work. Changes nothing Observe() or the outputs depend on; the default
  // does nothing. The event, its strings and `facts` are valid only during
  // the call.
  virtual void Prefetch(const Event& event, EventFacts& facts) {
    (void)event;
    (void)facts;
  }

  // Event time of the operator's feeds is complete up to `watermark`:
  // evaluates every window that ends at or before it and emits the alerts
  // that crossing or falling back produce. REQUIRES: watermarks passed are
  // non-decreasing.
  virtual void AdvanceWatermark(absl::Time watermark, AlertEmitter& out) = 0;

  // The feeds whose events the operator reads. The pipeline shows it only
  // their events and evaluates it on their watermark, so a sparse feed it
  // does not read never holds its windows open. The default reads both.
  virtual FeedSet feeds() const { return kAllFeeds; }

  virtual OperatorStats stats() const = 0;

  // For scoring detectors: per target, the highest score among its keys at
  // its latest evaluation (bounded by the number of country codes). Called
  // on the pipeline thread every few hundred watermark moves, so it may
  // copy. Detectors that do not score return nothing.
  virtual std::vector<TargetScore> LatestScores() const { return {}; }

  // Snapshots (operators/snapshot.h): the version of the state format
  // SaveState() writes, bumped whenever that format changes; RestoreState()
  // reads every version from 1 to it. The format lives in the detector's
  // .cc beside the state it describes.
  virtual uint32_t state_version() const { return 0; }
  // Writes the whole state (windows, baselines, tail calibration, open
  // episodes and hold timers, sketches, evidence) so that an operator of
  // the same options restored from it behaves exactly as this one would.
  // Called between events, on the pipeline thread. The default (an operator
  // without state_version()) writes nothing.
  virtual void SaveState(SnapshotWriter& w) const { (void)w; }
  // Replaces the state of a freshly constructed operator (the same options:
  // the pipeline checks the config hash) with the one `r` holds, written at
  // `version`. Returns the reader's first error (naming the byte) or one of
  // its own; on error the operator must be discarded.
  virtual absl::Status RestoreState(SnapshotReader& r, uint32_t version);

  // State that follows partitions (docs/state.md, "State follows
  // partitions"): a detector whose every piece of state belongs to one
  // target can drop the targets an instance no longer holds and take over
  // those another instance held, so a rebalance moves each target's state
  // with the partition its records arrive on. Those that cannot start
  // empty when an instance's state would have to be split or merged.
  virtual bool splits_by_target() const { return false; }
  // Forgets every target `keep` rejects (windows, baselines, episodes,
  // scores), as if it had never seen them.
  virtual void RetainTargets(const std::function<bool(CountryCode)>& keep) {
    (void)keep;
  }
  // Takes over the whole state of `other`, an operator of the same kind and
  // options whose targets this one does not hold (each was restored from
  // another snapshot, then RetainTargets). `other` is left to be discarded.
  // Unimplemented unless splits_by_target().
  virtual absl::Status Absorb(Operator& other);
};

}  // namespace vigia

#endif  // VIGIA_OPERATORS_OPERATOR_H_
