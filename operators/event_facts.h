// What several detectors derive from one event, derived once: the event's
// target and origin as dense country indices, its account id's hash, and
// its URLs' normal forms and hosts (EventUrls). It also carries one fact
// back: a detector that could not take the event says why (Refuse), and the
// pipeline dead-letters the record naming it (docs/feeds.md,
// "detector_refused").
//
// The pipeline owns one EventFacts, resets it for each accepted event and
// hands it to every operator's Prefetch() and Observe() (operator.h). The
// country indices are set by Reset(); the account hash and the URLs' forms
// are computed on first use only, so an event no detector asks about costs
// little more than Reset(), and once computed they are shared by the
// detectors that follow. Tools and tests that drive an operator directly
// make one the same way (EventFacts facts; facts.Reset(event)).
//
// Not thread-safe; used on the pipeline thread. Views and references
// returned stay valid until the next Reset(); the event given to Reset()
// (and the strings it views) must outlive its use. In steady state nothing
// is allocated.
#ifndef VIGIA_OPERATORS_EVENT_FACTS_H_
#define VIGIA_OPERATORS_EVENT_FACTS_H_

#include <cstdint>
#include <string_view>

#include "operators/event_urls.h"
#include "operators/hyperloglog.h"
#include "operators/operator_util.h"
#include "pipeline/core/event.h"

namespace vigia {

class EventFacts {
 public:
  // Why a detector could not take an event it reads. Each is also one of
  // the detector's cap hits (OperatorStats::cap_hits).
  enum class Refusal : uint8_t {
    kNone = 0,
    // Further ahead of the detector's last evaluation than its windows hold
    // (a partition or source far ahead of the others).
    kAhead,
    // Older than a key first seen ahead of it can reach back to.
    kBehindNewKey,
    // At a state cap (max_keys, or the most one key holds) with nothing the
    // detector may forget to make room.
    kKeyCap,
  };

  EventFacts() = default;
  EventFacts(const EventFacts&) = delete;
  EventFacts& operator=(const EventFacts&) = delete;

  // Starts a new event: forgets every fact of the previous one.
  void Reset(const Event& event) {
    account_id_ = event.account_id;
    account_hash_known_ = false;
    target_index_ = event.target.known() ? CountryIndex(event.target) : -1;
    const CountryCode origin = event.origin();
    origin_index_ = origin.known() ? CountryIndex(origin) : -1;
    urls_.Reset(event.urls);
    refusal_ = Refusal::kNone;
  }

  // CountryIndex() of the event's target / origin (Event::origin()), or -1
  // when it is unknown.
  int target_index() const { return target_index_; }
  int origin_index() const { return origin_index_; }

  // StableHash64(event.account_id) (seed 0): what an account is counted
  // (HyperLogLog::AddHash), fingerprinted and indexed by. Stable across runs
  // and builds, so it may reach an alert.
  uint64_t account_hash() {
    if (!account_hash_known_) {
      account_hash_ = StableHash64(account_id_);
      account_hash_known_ = true;
    }
    return account_hash_;
  }

  // The event's URLs, each parsed (normal form, host) once for all.
  EventUrls& urls() { return urls_; }

  // Called by the detector observing the event when it cannot take it (or
  // part of it: one of its keys); kNone changes nothing. The pipeline takes
  // the refusal after each detector's Observe().
  void Refuse(Refusal why) {
    if (why != Refusal::kNone) refusal_ = why;
  }
  bool refused() const { return refusal_ != Refusal::kNone; }
  Refusal TakeRefusal() {
    const Refusal r = refusal_;
    refusal_ = Refusal::kNone;
    return r;
  }

 private:
  std::string_view account_id_;
  uint64_t account_hash_ = 0;
  bool account_hash_known_ = false;
  int target_index_ = -1;
  int origin_index_ = -1;
  EventUrls urls_;
  Refusal refusal_ = Refusal::kNone;
};

// What a refusal means, for dead letters and logs, as it follows
// "refused by DETECTOR: ".
const char* RefusalText(EventFacts::Refusal why);

}  // namespace vigia

#endif  // VIGIA_OPERATORS_EVENT_FACTS_H_
