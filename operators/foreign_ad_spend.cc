#include "operators/foreign_ad_spend.h"

#include <algorithm>
#include <array>
#include <bitset>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "operators/cap_hits.h"
#include "operators/detector_options.h"
#include "operators/evidence.h"
#include "operators/hop_schedule.h"
#include "operators/hop_window.h"
#include "operators/operator_util.h"
#include "operators/scorer.h"
#include "operators/snapshot.h"
#include "operators/target_scores.h"
#include "pipeline/core/status_macros.h"
#include "pipeline/core/strings.h"
#include "pipeline/core/time.h"

namespace vigia {
namespace {

constexpr std::string_view kName = "foreign_ad_spend";
constexpr int64_t kNoHop = HopSchedule::kNoHop;
// Ads are sparse: a target is forgotten only after a week without a
// qualifying ad (and nothing firing), or it would warm up again too often.
constexpr absl::Duration kIdleEviction = absl::Hours(7 * 24);
// And a partition of ads is read far ahead of the ads watermark in a
// catch-up: its progress is the quorum-th newest of its event times
// (docs/kafka.md, "Clocks ahead"), hours behind its newest ad when ads are a
// few an hour, and a thin partition holds the feed's watermark there. So a
// target holds ads up to a day ahead of its window (watermark.max_lead's
// default), not the six hours of the posts detectors: at the default
// 10-minute hop, 144 slots more per target, a few kB.
constexpr absl::Duration kLookahead = absl::Hours(24);
// What a payer keeps for its first-seen evidence: a few pages and the
// samples. Freed once its alert is out.
constexpr int kPayerTopCapacity = 4;
constexpr int kCurrencyCapacity = 8;

// Why an ad counted.
enum Reason : uint8_t {
  kForeignPayer = 1,
  kCurrencyMismatch = 2,
  kNoDisclaimer = 4,
};
constexpr std::array<std::pair<Reason, std::string_view>, 3> kReasons = {{
    {kForeignPayer, "foreign_payer"},
    {kCurrencyMismatch, "currency_mismatch"},
    {kNoDisclaimer, "no_disclaimer"},
}};

std::string ReasonText(uint8_t reasons) {
  std::string out;
  for (const auto& [bit, name] : kReasons) {
    if ((reasons & bit) == 0) continue;
    if (!out.empty()) out.push_back(',');
    out.append(name);
  }
  return out;
}

// A spend amount as a TopK weight: whole currency units, at least 1.
uint32_t Weight(double amount) {
  if (!(amount >= 1)) return 1;
  if (amount >= 4e9) return 4'000'000'000u;
  return static_cast<uint32_t>(std::llround(amount));
}

std::string PayerLabel(std::string_view name, CountryCode country) {
  return absl::StrCat(ToAbsl(name), " (", country.str(), ")");
}

// One hop of qualifying ads.
struct AdBucket {
  explicit AdBucket(const EvidenceLimits& limits)
      : evidence(limits),
        payers(limits.top_capacity),
        currencies(kCurrencyCapacity) {}
  BucketEvidence evidence;  // pages (as accounts), URLs, samples
  TopK payers;              // weighted by spend
  TopK currencies;          // by ads
  double mid = 0;
  double lower = 0;
  double upper = 0;
  double largest = 0;  // the largest single ad's midpoint
  std::array<uint32_t, 3> reasons = {};
  std::vector<std::string> notes;  // one per kept sample, same order
};

struct Params {
  Params(const ForeignAdSpendTargetOptions& o, CountryCode target,
         absl::Duration hop)
      : currencies(o.currencies.empty() && target.known()
                       ? TargetCurrencies(target)
                       : o.currencies),
        first_seen_min_spend(o.first_seen_min_spend),
        min_ads(o.min_ads),
        spend_levels(o.scoring.levels),
        count_levels(o.count_scoring.levels),
        spend(o.scoring, hop),
        count(o.count_scoring, hop) {}
  std::vector<CurrencyCode> currencies;
  double first_seen_min_spend;
  int min_ads;
  std::vector<SeverityLevel> spend_levels;
  std::vector<SeverityLevel> count_levels;
  Scorer spend;
  Scorer count;
};

class ForeignAdSpend final : public Operator {
 public:
  ForeignAdSpend(const ForeignAdSpendOptions& options,
                 const OperatorContext& context)
      : options_(options),
        context_(context),
        schedule_(options.window, options.hop, kIdleEviction, kLookahead),
        spend_unit_(options.spend_unit > 0 ? options.spend_unit : 1.0),
        limits_{std::max(4 * context.top_n, 8), context.max_samples},
        window_text_(HumanDuration(schedule_.window())) {
    for (CountryCode c : options.targets) {
      if (c.known()) targets_filter_.set(CountryIndex(c));
    }
    key_of_.fill(-1);
  }

  std::string_view name() const override { return kName; }
  FeedSet feeds() const override { return FeedBit(FeedKind::kAd); }

  void Observe(const Event& event, EventFacts& facts, AlertEmitter&) override {
    if (!event.is_ad() || !event.target.known()) return;
    const int ti = facts.target_index();
    if (targets_filter_.any() && !targets_filter_.test(ti)) return;
    const Params& p = ParamsFor(event.target);
    uint8_t reasons = 0;
    if (event.payer_country.known() && event.payer_country != event.target) {
      reasons |= kForeignPayer;
    }
    if (event.currency.known() && !p.currencies.empty() &&
        std::find(p.currencies.begin(), p.currencies.end(), event.currency) ==
            p.currencies.end()) {
      reasons |= kCurrencyMismatch;
    }
    if (!event.has_disclaimer) reasons |= kNoDisclaimer;
    if (reasons == 0) return;

    // Spend of an ad without a reported range counts as 0 (its count still
    // counts).
    const bool known = event.spend.known();
    const double lower = known ? std::max(event.spend.lower, 0.0) : 0.0;
    const double upper = known ? std::max(event.spend.upper, lower) : 0.0;
    const double mid = (lower + upper) / 2;
    const int64_t hop = schedule_.HopOf(event.created_at);
    if (reasons & kForeignPayer) {
      TrackPayer(event, p, hop, lower, upper, facts);
    }

    int32_t& k = key_of_[ti];
    if (k < 0) {
      k = NewKey(event.target, &p, hop);
      if (k < 0) {
        cap_hits_.Hit(event.target);
        facts.Refuse(EventFacts::Refusal::kKeyCap);
        return;
      }
    }
    KeyState& ks = keys_[k];
    const int before = ks.window.capacity();
    // Created by an event of a source running ahead, the key may meet older
    // events of sources behind it (KeyedHopCounter::Add), until its first
    // evaluation.
    if (hop < ks.window.oldest_hop() && !ks.count.has_history() &&
        !schedule_.TooLateForNewKey(hop) &&
        !ks.window.StartEarlier(schedule_.FirstHopOfNewKey(hop))) {
      cap_hits_.Hit(event.target);
      facts.Refuse(EventFacts::Refusal::kBehindNewKey);
      return;
    }
    Window::Slot* slot = ks.window.Add(hop);
    if (slot == nullptr) {
      if (hop >= ks.window.oldest_hop()) {
        cap_hits_.Hit(event.target);
        facts.Refuse(EventFacts::Refusal::kAhead);
      }
      return;
    }
    buckets_ += ks.window.capacity() - before;
    if (slot->payload == nullptr) {
      slot->payload = std::make_unique<AdBucket>(limits_);
    }
    AdBucket& b = *slot->payload;
    const size_t samples = b.evidence.samples().size();
    b.evidence.Add(event);
    if (b.evidence.samples().size() > samples) {
      b.notes.push_back(Note(event, reasons, known));
    }
    const std::string_view payer =
        event.payer_name.empty() ? event.page_id : event.payer_name;
    b.payers.Add(PayerLabel(payer, event.payer_country), Weight(mid));
    b.currencies.Add(event.currency.known() ? event.currency.str() : "unknown");
    b.mid += mid;
    b.largest = std::max(b.largest, mid);
    b.lower += lower;
    b.upper += upper;
    for (size_t r = 0; r < kReasons.size(); ++r) {
      if (reasons & kReasons[r].first) ++b.reasons[r];
    }
    ks.last_event_hop = std::max(ks.last_event_hop, hop);
    schedule_.NoteEvent(hop);
  }

  void AdvanceWatermark(absl::Time watermark, AlertEmitter& out) override {
    if (watermark == absl::InfinitePast()) return;
    const std::optional<int64_t> complete = schedule_.CompleteHop(watermark);
    // A pending first-seen alert is due once its hop is complete; at the end
    // of input (InfiniteFuture) every one is, even without a window to run.
    if (!pending_.empty()) {
      EmitFirstSeen(watermark == absl::InfiniteFuture()
                        ? std::numeric_limits<int64_t>::max()
                        : *complete,
                    out);
    }
    if (!complete.has_value()) return;
    schedule_.EvaluateThrough(
        *complete, keys_,
        [](const KeyState& ks) { return ks.window.next_hop(); },
        [&](size_t i, int64_t h) { return Evaluate(i, h, out); },
        [this](size_t i) { Evict(i); }, [](int64_t) {});
  }

  OperatorStats stats() const override {
    OperatorStats s;
    s.keys = static_cast<int64_t>(keys_.size() + payers_.size());
    s.buckets = buckets_;
    s.cap_hits = cap_hits_.total();
    s.firing = firing_;
    return s;
  }

  std::vector<TargetScore> LatestScores() const override {
    return scores_.Snapshot();
  }

  // State format, version 1: the schedule; per target key (in order) its
  // target, firing severity, driving signal and threshold, both baselines
  // and its window (buckets with evidence, payer and currency sketches,
  // spend sums, reason counts, sample notes); per payer (in order, so the
  // pending alerts' indices hold) its identity, totals, first-seen time,
  // alerted flag and evidence until the alert; the pending first-seen
  // alerts; the cap-hit count and the latest scores. Version 2 keeps the
  // cap hits per target (CapHits); version 1 had the total only.
  uint32_t state_version() const override { return 2; }
  void SaveState(SnapshotWriter& w) const override {
    schedule_.Save(w);
    cap_hits_.Save(w, /*per_target=*/true);
    w.U64(keys_.size());
    for (const KeyState& ks : keys_) {
      w.U32(ks.target.packed());
      w.I32(ks.firing);
      w.Bool(ks.driver == Signal::kCount);
      w.F64(ks.firing_threshold);
      w.I64(ks.last_event_hop);
      w.Time(ks.episode_start);
      SaveBaseline(ks.spend, w);
      SaveBaseline(ks.count, w);
      ks.window.Save(w,
                     [](const std::unique_ptr<AdBucket>& b, SnapshotWriter& w) {
                       w.Bool(b != nullptr);
                       if (b == nullptr) return;
                       b->evidence.Save(w);
                       b->payers.Save(w);
                       b->currencies.Save(w);
                       w.F64(b->mid);
                       w.F64(b->lower);
                       w.F64(b->upper);
                       w.F64(b->largest);
                       for (uint32_t n : b->reasons) w.U32(n);
                       w.U64(b->notes.size());
                       for (const std::string& n : b->notes) w.Str(n);
                     });
    }
    w.U64(payers_.size());
    for (const PayerState& ps : payers_) {
      w.U32(ps.target.packed());
      w.U32(ps.country.packed());
      w.Str(ps.name);
      w.F64(ps.mid);
      w.F64(ps.lower);
      w.F64(ps.upper);
      w.I64(ps.ads);
      w.Time(ps.first_seen);
      w.Bool(ps.alerted);
      w.Bool(ps.evidence != nullptr);
      if (ps.evidence != nullptr) {
        ps.evidence->Save(w);
        ps.currencies->Save(w);
      }
    }
    w.U64(pending_.size());
    for (const Pending& p : pending_) {
      w.I64(p.hop);
      w.U32(p.payer);
      w.F64(p.mid);
      w.F64(p.lower);
      w.F64(p.upper);
      w.I64(p.ads);
    }
    scores_.Save(w);
  }

  absl::Status RestoreState(SnapshotReader& r, uint32_t version) override {
    schedule_.Restore(r);
    cap_hits_.Restore(r, /*per_target=*/version >= 2);
    const auto country = [&r](bool may_be_empty) {
      const uint32_t packed = r.U32();
      if (!r.ok()) return CountryCode();
      if ((packed == 0 && may_be_empty) ||
          (packed <= 0xffff && IsCountryCode(static_cast<uint16_t>(packed)))) {
        return CountryCode::FromChars(static_cast<char>(packed >> 8),
                                      static_cast<char>(packed & 0xff));
      }
      r.Fail("malformed country code");
      return CountryCode();
    };
    const size_t keys = r.Count(40);
    for (size_t i = 0; i < keys && r.ok(); ++i) {
      KeyState ks;
      ks.target = country(false);
      ks.firing = r.I32();
      ks.driver = r.Bool() ? Signal::kCount : Signal::kSpend;
      ks.firing_threshold = r.F64();
      ks.last_event_hop = r.I64();
      ks.episode_start = r.Time();
      RestoreBaseline(r, &ks.spend);
      RestoreBaseline(r, &ks.count);
      if (!r.ok()) break;
      if (ks.firing < -1 || ks.firing >= kNumSeverities ||
          key_of_[CountryIndex(ks.target)] >= 0) {
        r.Fail("key with a repeated target or unknown severity");
        break;
      }
      ks.params = &ParamsFor(ks.target);
      ks.window = Window(schedule_.window_hops(), 0, schedule_.max_span());
      ks.window.Restore(
          r, [this](SnapshotReader& r, std::unique_ptr<AdBucket>* b) {
            if (!r.Bool()) return;
            *b = std::make_unique<AdBucket>(limits_);
            AdBucket& x = **b;
            x.evidence.Restore(r);
            x.payers.Restore(r);
            x.currencies.Restore(r);
            x.mid = r.F64();
            x.lower = r.F64();
            x.upper = r.F64();
            x.largest = r.F64();
            for (uint32_t& n : x.reasons) n = r.U32();
            const size_t notes = r.Count(1);
            for (size_t k = 0; k < notes && r.ok(); ++k)
              x.notes.push_back(r.Str());
          });
      key_of_[CountryIndex(ks.target)] = static_cast<int32_t>(keys_.size());
      buckets_ += ks.window.capacity();
      if (ks.firing >= 0) ++firing_;
      keys_.push_back(std::move(ks));
    }
    const size_t payers = r.Count(30);
    if (static_cast<int64_t>(payers) > options_.max_payers) {
      r.Fail("more payers than max_payers");
    }
    for (size_t i = 0; i < payers && r.ok(); ++i) {
      PayerState ps;
      ps.target = country(false);
      ps.country = country(true);
      ps.name = r.Str();
      ps.mid = r.F64();
      ps.lower = r.F64();
      ps.upper = r.F64();
      ps.ads = r.I64();
      ps.first_seen = r.Time();
      ps.alerted = r.Bool();
      if (r.Bool()) {
        ps.evidence = std::make_unique<BucketEvidence>(
            EvidenceLimits{kPayerTopCapacity, context_.max_samples});
        ps.currencies = std::make_unique<TopK>(kCurrencyCapacity);
        ps.evidence->Restore(r);
        ps.currencies->Restore(r);
      }
      if (!r.ok()) break;
      ParamsFor(ps.target);
      if (!payer_index_.emplace(PayerKey(ps), payers_.size()).second) {
        r.Fail("payer appears twice");
        break;
      }
      payers_.push_back(std::move(ps));
    }
    const size_t pending = r.Count(30);
    for (size_t i = 0; i < pending && r.ok(); ++i) {
      Pending p;
      p.hop = r.I64();
      p.payer = r.U32();
      p.mid = r.F64();
      p.lower = r.F64();
      p.upper = r.F64();
      p.ads = r.I64();
      if (r.ok() &&
          (p.payer >= payers_.size() || payers_[p.payer].evidence == nullptr)) {
        r.Fail("pending alert of an unknown payer or one without evidence");
      }
      if (r.ok()) pending_.push_back(p);
    }
    scores_.Restore(r);
    return r.Finish();
  }

  // State that follows partitions (docs/state.md). Everything but the caps
  // belongs to one target: its key (window, baselines, episode) and its
  // payers (a payer is target|country|name), with their pending first-seen
  // alerts. Splitting drops the others' in place (keeping the order);
  // merging appends. Shared, so approximated: max_keys and max_payers bound
  // all targets together (a part alone may admit a target or payer the
  // whole refused; a merge over a cap fails), and the schedule's newest
  // event hop stays the whole's, which only the end of input reads. (The
  // cap hits are kept per target: CapHits.) Alerts of one hop come out in key
  // order, which after a merge is the parts' one after the other.
  bool splits_by_target() const override { return true; }
  void RetainTargets(const std::function<bool(CountryCode)>& keep) override {
    std::vector<KeyState> kept;
    kept.reserve(keys_.size());
    for (KeyState& ks : keys_) {
      if (keep(ks.target)) kept.push_back(std::move(ks));
    }
    keys_ = std::move(kept);
    std::vector<uint32_t> new_index(payers_.size(), kGone);
    std::vector<PayerState> kept_payers;
    for (size_t i = 0; i < payers_.size(); ++i) {
      if (!keep(payers_[i].target)) continue;
      new_index[i] = static_cast<uint32_t>(kept_payers.size());
      kept_payers.push_back(std::move(payers_[i]));
    }
    payers_ = std::move(kept_payers);
    std::vector<Pending> pending;
    for (Pending p : pending_) {
      if (new_index[p.payer] == kGone) continue;
      p.payer = new_index[p.payer];
      pending.push_back(p);
    }
    pending_ = std::move(pending);
    Reindex();
    scores_.RetainTargets(keep);
    cap_hits_.RetainTargets(keep);
  }
  absl::Status Absorb(Operator& other) override {
    auto* o = dynamic_cast<ForeignAdSpend*>(&other);
    if (o == nullptr) return Operator::Absorb(other);
    for (const KeyState& ks : o->keys_) {
      if (key_of_[CountryIndex(ks.target)] >= 0) {
        return absl::FailedPreconditionError(
            absl::StrCat("target ", ks.target.str(), " is in both states"));
      }
    }
    for (const PayerState& ps : o->payers_) {
      if (payer_index_.contains(PayerKey(ps))) {
        return absl::FailedPreconditionError(
            absl::StrCat("payer ", PayerKey(ps), " is in both states"));
      }
    }
    if (keys_.size() + o->keys_.size() >
            static_cast<size_t>(options_.max_keys) ||
        payers_.size() + o->payers_.size() >
            static_cast<size_t>(options_.max_payers)) {
      return absl::FailedPreconditionError(
          "more targets or payers than max_keys or max_payers");
    }
    // A side without keys says nothing about when keys are evaluated (see
    // HopSchedule::Absorb).
    if (keys_.empty()) {
      schedule_.TakeProgress(o->schedule_);
    } else if (!o->keys_.empty()) {
      schedule_.Absorb(o->schedule_);
    }
    for (KeyState& ks : o->keys_) {
      ks.params = &ParamsFor(ks.target);
      keys_.push_back(std::move(ks));
    }
    const uint32_t base = static_cast<uint32_t>(payers_.size());
    for (PayerState& ps : o->payers_) {
      ParamsFor(ps.target);  // FirstSeenAlert reads the target's params
      payers_.push_back(std::move(ps));
    }
    for (Pending p : o->pending_) {
      p.payer += base;
      pending_.push_back(p);
    }
    cap_hits_.Absorb(o->cap_hits_);
    scores_.Absorb(o->scores_);
    o->keys_.clear();
    o->payers_.clear();
    o->pending_.clear();
    o->Reindex();
    Reindex();
    return absl::OkStatus();
  }

 private:
  static constexpr uint32_t kGone = std::numeric_limits<uint32_t>::max();

  // Rebuilds what is derived from keys_ and payers_.
  void Reindex() {
    key_of_.fill(-1);
    buckets_ = 0;
    firing_ = 0;
    for (size_t i = 0; i < keys_.size(); ++i) {
      key_of_[CountryIndex(keys_[i].target)] = static_cast<int32_t>(i);
      buckets_ += keys_[i].window.capacity();
      if (keys_[i].firing >= 0) ++firing_;
    }
    payer_index_.clear();
    for (size_t i = 0; i < payers_.size(); ++i) {
      payer_index_.emplace(PayerKey(payers_[i]), static_cast<uint32_t>(i));
    }
  }

  using Window = HopWindow<std::unique_ptr<AdBucket>>;
  enum class Signal { kSpend, kCount };

  struct KeyState {
    CountryCode target;
    const Params* params = nullptr;
    // Severity of the firing alert (-1 none), the signal that drove it and
    // its rung's score threshold.
    int firing = -1;
    Signal driver = Signal::kSpend;
    double firing_threshold = 0;
    int64_t last_event_hop = kNoHop;
    absl::Time episode_start;
    BaselineState spend;  // spend units per hop
    BaselineState count;  // qualifying ads per hop
    Window window;
  };

  struct PayerState {
    CountryCode target;
    CountryCode country;
    std::string name;
    double mid = 0;
    double lower = 0;
    double upper = 0;
    int64_t ads = 0;
    absl::Time first_seen = absl::InfiniteFuture();
    bool alerted = false;
    // Until the alert: pages and samples of its ads, and their currencies.
    std::unique_ptr<BucketEvidence> evidence;
    std::unique_ptr<TopK> currencies;
  };

  // A payer's identity, as payer_index_ keys it.
  static std::string PayerKey(const PayerState& ps) {
    return absl::StrCat(ps.target.str(), "|", ps.country.str(), "|", ps.name);
  }

  // A first-seen alert due once its hop is complete, with the payer's
  // totals as they were when its spend crossed the threshold.
  struct Pending {
    int64_t hop;     // of the ad whose spend crossed the threshold
    uint32_t payer;  // index into payers_
    double mid;
    double lower;
    double upper;
    int64_t ads;
  };

  // The window's numbers, as both signals judge them.
  struct Snapshot {
    Assessment spend;
    Assessment count;
    double mid = 0;
    double lower = 0;
    double upper = 0;
    double largest = 0;
    std::array<double, 3> reasons = {};
  };

  const Params& ParamsFor(CountryCode target) {
    const Params*& p = params_of_[CountryIndex(target)];
    if (p == nullptr) {
      auto it = options_.per_target.find(target);
      ForeignAdSpendTargetOptions o;
      if (it != options_.per_target.end()) {
        o = it->second;
      } else {
        o.first_seen_min_spend = options_.first_seen_min_spend;
        o.min_ads = options_.min_ads;
        o.scoring = options_.scoring;
        o.count_scoring = options_.count_scoring;
      }
      params_.push_back(std::make_unique<Params>(o, target, schedule_.hop()));
      p = params_.back().get();
    }
    return *p;
  }

  std::string Note(const Event& event, uint8_t reasons, bool known) const {
    const std::string_view payer =
        event.payer_name.empty() ? event.page_id : event.payer_name;
    std::string note = absl::StrCat(ReasonText(reasons), "; payer ",
                                    PayerLabel(payer, event.payer_country));
    if (known) {
      absl::StrAppend(&note, "; spend ", event.spend.lower, "-",
                      event.spend.upper);
    } else {
      absl::StrAppend(&note, "; spend not reported");
    }
    absl::StrAppend(
        &note, " ",
        event.currency.known() ? event.currency.str() : "(no currency)");
    return note;
  }

  void TrackPayer(const Event& event, const Params& p, int64_t hop,
                  double lower, double upper, EventFacts& facts) {
    const std::string_view name =
        event.payer_name.empty() ? event.page_id : event.payer_name;
    payer_key_.clear();
    absl::StrAppend(&payer_key_, event.target.str(), "|",
                    event.payer_country.str(), "|", ToAbsl(name));
    uint32_t index;
    auto it = payer_index_.find(payer_key_);
    if (it != payer_index_.end()) {
      index = it->second;
    } else {
      if (static_cast<int64_t>(payers_.size()) >= options_.max_payers) {
        cap_hits_.Hit(event.target);
        facts.Refuse(EventFacts::Refusal::kKeyCap);
        return;
      }
      index = static_cast<uint32_t>(payers_.size());
      payer_index_.emplace(payer_key_, index);
      PayerState& ps = payers_.emplace_back();
      ps.target = event.target;
      ps.country = event.payer_country;
      ps.name = std::string(name);
      ps.evidence = std::make_unique<BucketEvidence>(
          EvidenceLimits{kPayerTopCapacity, context_.max_samples});
      ps.currencies = std::make_unique<TopK>(kCurrencyCapacity);
    }
    PayerState& ps = payers_[index];
    ps.mid += (lower + upper) / 2;
    ps.lower += lower;
    ps.upper += upper;
    ++ps.ads;
    ps.first_seen = std::min(ps.first_seen, event.created_at);
    if (ps.alerted) return;
    ps.evidence->Add(event);
    ps.currencies->Add(event.currency.known() ? event.currency.str()
                                              : "unknown");
    if (ps.mid >= p.first_seen_min_spend) {
      ps.alerted = true;
      pending_.push_back(
          Pending{hop, index, ps.mid, ps.lower, ps.upper, ps.ads});
    }
  }

  // Emits the first-seen alerts whose crossing hop is complete, in hop
  // order then by payer key.
  void EmitFirstSeen(int64_t complete, AlertEmitter& out) {
    std::vector<Pending> ready;
    std::vector<Pending> later;
    for (const Pending& p : pending_) {
      (p.hop <= complete ? ready : later).push_back(p);
    }
    if (ready.empty()) return;
    pending_ = std::move(later);
    std::sort(ready.begin(), ready.end(),
              [this](const Pending& a, const Pending& b) {
                const PayerState& x = payers_[a.payer];
                const PayerState& y = payers_[b.payer];
                return std::tie(a.hop, x.target, x.country, x.name) <
                       std::tie(b.hop, y.target, y.country, y.name);
              });
    for (const Pending& p : ready) {
      PayerState& s = payers_[p.payer];
      out.Emit(FirstSeenAlert(s, p, schedule_.HopEnd(p.hop)));
      s.evidence.reset();
      s.currencies.reset();
    }
  }

  Alert FirstSeenAlert(const PayerState& s, const Pending& at,
                       absl::Time end) const {
    const Params& p = *params_of_[CountryIndex(s.target)];
    Alert alert;
    alert.detector = std::string(kName);
    alert.state = AlertState::kFiring;
    alert.severity = options_.first_seen_severity;
    alert.target = s.target;
    alert.origin = s.country;
    alert.subject_kind = "payer";
    alert.subject = s.name;
    const std::string key =
        absl::StrCat(s.target.str(), "|payer|", s.country.str(), "|", s.name);
    alert.id =
        MakeAlertId(kName, key, end, alert.severity, context_.config_hash);
    alert.window_start = s.first_seen;
    alert.window_end = end;
    alert.observed = at.mid;
    alert.expected = 0;
    alert.ratio = at.mid + 1;
    alert.score = 0;
    alert.threshold = 0;
    const std::vector<Tally> currencies = s.currencies->Top(kCurrencyCapacity);
    std::vector<std::string> names;
    for (const Tally& t : currencies) names.push_back(t.value);
    alert.summary = absl::StrFormat(
        "New foreign payer %s has spent %.0f on %d ad%s aimed at %s since %s "
        "(reported %.0f-%.0f, in %s): above the first-seen threshold of %.0f",
        PayerLabel(s.name, s.country), at.mid, at.ads, at.ads == 1 ? "" : "s",
        s.target.str(), FormatRfc3339(s.first_seen), at.lower, at.upper,
        absl::StrJoin(names, ", "), p.first_seen_min_spend);
    const BucketEvidence* ev = s.evidence.get();
    alert.evidence =
        MergeEvidence(std::span<const BucketEvidence* const>(&ev, 1),
                      context_.top_n, context_.max_samples);
    for (SampleEvent& sample : alert.evidence.samples) {
      sample.note = "foreign_payer";
    }
    alert.evidence.other_tops.emplace_back("top_currencies", currencies);
    alert.evidence.baseline = {
        {"cumulative_spend_mid", at.mid},
        {"cumulative_spend_lower", at.lower},
        {"cumulative_spend_upper", at.upper},
        {"ads", static_cast<double>(at.ads)},
        {"first_seen_min_spend", p.first_seen_min_spend},
    };
    alert.config_hash = context_.config_hash;
    return alert;
  }

  int NewKey(CountryCode target, const Params* p, int64_t hop) {
    if (static_cast<int64_t>(keys_.size()) >= options_.max_keys) return -1;
    const int64_t first = schedule_.FirstHopOfNewKey(hop);
    KeyState& ks = keys_.emplace_back();
    ks.target = target;
    ks.params = p;
    ks.window = Window(schedule_.window_hops(), first, schedule_.max_span());
    buckets_ += ks.window.capacity();
    return static_cast<int>(keys_.size() - 1);
  }

  void Evict(size_t i) {
    buckets_ -= keys_[i].window.capacity();
    key_of_[CountryIndex(keys_[i].target)] = -1;
    if (i + 1 != keys_.size()) {
      keys_[i] = std::move(keys_.back());
      key_of_[CountryIndex(keys_[i].target)] = static_cast<int32_t>(i);
    }
    keys_.pop_back();
  }

  static int SeverityOf(const Assessment& a,
                        const std::vector<SeverityLevel>& levels) {
    return a.reached() ? static_cast<int>(levels[a.level].severity) : -1;
  }

  bool Evaluate(size_t i, int64_t h, AlertEmitter& out) {
    KeyState& ks = keys_[i];
    const Params& p = *ks.params;
    const absl::Time end = schedule_.HopEnd(h);
    Snapshot s;
    ks.window.ForEachInWindow([&](int64_t, const Window::Slot& slot) {
      if (slot.payload == nullptr) return;
      s.mid += slot.payload->mid;
      s.largest = std::max(s.largest, slot.payload->largest);
      s.lower += slot.payload->lower;
      s.upper += slot.payload->upper;
      for (size_t r = 0; r < s.reasons.size(); ++r) {
        s.reasons[r] += slot.payload->reasons[r];
      }
    });
    s.spend = p.spend.Assess(ks.spend, end, schedule_.window_hops(),
                             s.mid / spend_unit_);
    s.count = p.count.Assess(ks.count, end, schedule_.window_hops(),
                             static_cast<double>(ks.window.Sum()));
    // One big ad is not a campaign: the spend must reach its rung without
    // its largest ad too, and come from at least min_ads ads.
    const Assessment without_largest =
        p.spend.Assess(ks.spend, end, schedule_.window_hops(),
                       (s.mid - s.largest) / spend_unit_);
    s.spend.level = std::min(s.spend.level, without_largest.level);
    if (s.count.observed < p.min_ads) s.spend.level = -1;
    scores_.Record(ks.target, end, std::max(s.spend.score, s.count.score));
    const int by_spend = SeverityOf(s.spend, p.spend_levels);
    const int by_count = SeverityOf(s.count, p.count_levels);
    const int severity = std::max(by_spend, by_count);
    // The signal that reached the higher severity drives the alert; spend
    // wins a tie, as money is the claim.
    const Signal driver =
        by_spend >= by_count ? Signal::kSpend : Signal::kCount;
    const auto threshold = [&](Signal d) {
      const Assessment& a = d == Signal::kSpend ? s.spend : s.count;
      const std::vector<SeverityLevel>& l =
          d == Signal::kSpend ? p.spend_levels : p.count_levels;
      return a.reached() ? l[a.level].min_score : l.front().min_score;
    };
    if (ks.firing < 0) {
      if (severity >= 0) {
        ks.firing = severity;
        ks.driver = driver;
        ks.firing_threshold = threshold(driver);
        ks.episode_start = end;
        ++firing_;
        out.Emit(MakeAlert(ks, end, s, Record::kFiring));
      }
    } else if (severity < 0) {
      out.Emit(MakeAlert(ks, end, s, Record::kResolved));
      ks.firing = -1;
      --firing_;
    } else if (severity > ks.firing) {
      out.Emit(MakeAlert(ks, end, s, Record::kSuperseded,
                         static_cast<Severity>(severity)));
      ks.firing = severity;
      ks.driver = driver;
      ks.firing_threshold = threshold(driver);
      out.Emit(MakeAlert(ks, end, s, Record::kFiring));
    }
    const Window::Slot& hop = ks.window.At(h);
    const double hop_spend =
        hop.payload == nullptr ? 0.0 : hop.payload->mid / spend_unit_;
    p.spend.Learn(ks.spend, end, hop_spend, s.spend);
    p.count.Learn(ks.count, end, hop.count, s.count);
    ks.window.Advance();
    return !(ks.firing < 0 && ks.window.Sum() == 0 &&
             ks.last_event_hop < ks.window.next_hop() &&
             h - ks.last_event_hop > schedule_.idle_hops());
  }

  enum class Record { kFiring, kResolved, kSuperseded };

  Alert MakeAlert(const KeyState& ks, absl::Time end, const Snapshot& s,
                  Record record, Severity successor = Severity::kInfo) const {
    const Severity severity = static_cast<Severity>(ks.firing);
    const bool spend = ks.driver == Signal::kSpend;
    const Assessment& a = spend ? s.spend : s.count;
    Alert alert;
    alert.detector = std::string(kName);
    alert.state =
        record == Record::kFiring ? AlertState::kFiring : AlertState::kResolved;
    alert.severity = severity;
    alert.target = ks.target;
    alert.id = MakeAlertId(kName, ks.target.str(), ks.episode_start, severity,
                           context_.config_hash);
    alert.window_start = end - schedule_.window();
    alert.window_end = end;
    // Spend is reported in currency units; its ratio, computed in spend
    // units, is (observed + unit) / (expected + unit).
    const double scale = spend ? spend_unit_ : 1.0;
    alert.observed = a.observed * scale;
    alert.expected = a.expected * scale;
    alert.ratio = a.ratio;
    alert.score = a.score;
    alert.threshold = ks.firing_threshold;
    std::string prefix;
    if (record == Record::kResolved) {
      prefix = "Resolved: foreign-linked";
    } else if (record == Record::kSuperseded) {
      prefix = absl::StrCat("Superseded by ", ToAbsl(SeverityName(successor)),
                            ": foreign-linked");
    } else {
      prefix = "Foreign-linked";
    }
    const char* back = record == Record::kResolved ? "back to " : "";
    if (spend) {
      alert.summary = absl::StrFormat(
          "%s ad spend aimed at %s: %s%.0f in %s vs %.0f expected (%.0f ads; "
          "%.1fx, score %.1f)",
          prefix, ks.target.str(), back, alert.observed, window_text_,
          alert.expected, s.count.observed, a.ratio, a.score);
    } else {
      alert.summary = absl::StrFormat(
          "%s ads aimed at %s: %s%.0f in %s vs %.1f expected (spend %.0f; "
          "%.1fx, score %.1f)",
          prefix, ks.target.str(), back, alert.observed, window_text_,
          alert.expected, s.mid, a.ratio, a.score);
    }

    std::vector<const BucketEvidence*> buckets;
    std::vector<const TopK*> payers, currencies;
    std::map<std::pair<int64_t, std::string_view>, std::string_view> notes;
    ks.window.ForEachInWindow([&](int64_t, const Window::Slot& slot) {
      if (slot.payload == nullptr) return;
      const AdBucket& b = *slot.payload;
      buckets.push_back(&b.evidence);
      payers.push_back(&b.payers);
      currencies.push_back(&b.currencies);
      for (size_t j = 0; j < b.notes.size(); ++j) {
        const StoredSample& sample = b.evidence.samples()[j];
        notes.emplace(std::make_pair(sample.position, sample.id()), b.notes[j]);
      }
    });
    alert.evidence =
        MergeEvidence(buckets, context_.top_n, context_.max_samples);
    for (SampleEvent& sample : alert.evidence.samples) {
      auto it = notes.find(
          std::make_pair(sample.position, std::string_view(sample.id)));
      if (it != notes.end()) sample.note = std::string(it->second);
    }
    alert.evidence.other_tops.emplace_back("top_payers",
                                           MergeTop(payers, context_.top_n));
    alert.evidence.other_tops.emplace_back(
        "top_currencies", MergeTop(currencies, context_.top_n));
    std::vector<std::pair<std::string, double>>& b = alert.evidence.baseline;
    b = {
        {"spend_observed", s.mid},
        {"spend_lower_sum", s.lower},
        {"spend_upper_sum", s.upper},
        {"spend_largest_ad", s.largest},
        {"spend_expected", s.spend.expected * spend_unit_},
        {"spend_score", s.spend.score},
        {"spend_ratio", s.spend.ratio},
        {"spend_unit", spend_unit_},
        {"min_ads", static_cast<double>(ks.params->min_ads)},
        {"ads_observed", s.count.observed},
        {"ads_expected", s.count.expected},
        {"ads_score", s.count.score},
        {"ads_ratio", s.count.ratio},
    };
    for (size_t r = 0; r < kReasons.size(); ++r) {
      b.emplace_back(absl::StrCat("ads_", ToAbsl(kReasons[r].second)),
                     s.reasons[r]);
    }
    const Params& p = *ks.params;
    for (auto& [name, value] :
         p.spend.Explain(ks.spend, end, schedule_.window_hops())) {
      b.emplace_back(absl::StrCat("spend_units_", name), value);
    }
    for (auto& [name, value] :
         p.count.Explain(ks.count, end, schedule_.window_hops())) {
      if (name == "history_hours" || name == "warmup_hours") continue;
      b.emplace_back(absl::StrCat("ads_", name), value);
    }
    for (auto& entry : Scorer::ExplainVerdict(s.spend, "spend_")) {
      b.push_back(std::move(entry));
    }
    for (auto& entry : Scorer::ExplainVerdict(s.count, "ads_")) {
      b.push_back(std::move(entry));
    }
    alert.config_hash = context_.config_hash;
    return alert;
  }

  const ForeignAdSpendOptions options_;
  const OperatorContext context_;
  HopSchedule schedule_;
  const double spend_unit_;
  const EvidenceLimits limits_;
  const std::string window_text_;
  std::bitset<kCountrySlots> targets_filter_;
  std::vector<std::unique_ptr<Params>> params_;
  std::array<const Params*, kCountrySlots> params_of_ = {};

  std::array<int32_t, kCountrySlots> key_of_;
  // Target keys in insertion order (evictions move the last into the hole).
  std::vector<KeyState> keys_;
  // Foreign payers, never evicted (bounded by max_payers) so that each
  // first-seen alert is raised once.
  std::vector<PayerState> payers_;
  absl::flat_hash_map<std::string, uint32_t> payer_index_;
  std::string payer_key_;
  std::vector<Pending> pending_;
  int64_t buckets_ = 0;
  CapHits cap_hits_;
  int64_t firing_ = 0;
  TargetScores scores_;
};

struct CurrencyOf {
  const char* countries;  // space-separated alpha-2 codes
  const char* currencies;
};

// Countries whose ads are paid in their own currency, and the euro area.
constexpr CurrencyOf kCurrencyTable[] = {
    {"AT BE CY DE EE ES FI FR GR HR IE IT LT LU LV MT NL PT SI SK ME XK",
     "EUR"},
    {"BG", "BGN EUR"},  // euro since 2026; both are seen
    {"MD", "MDL"},
    {"RO", "RON"},
    {"PL", "PLN"},
    {"HU", "HUF"},
    {"CZ", "CZK"},
    {"UA", "UAH"},
    {"GB", "GBP"},
    {"US", "USD"},
    {"GE", "GEL"},
    {"AM", "AMD"},
    {"RS", "RSD"},
    {"SE", "SEK"},
    {"DK", "DKK"},
    {"NO", "NOK"},
    {"CH", "CHF"},
    {"BY", "BYN"},
    {"RU", "RUB"},
    {"TR", "TRY"},
    {"CA", "CAD"},
    {"AU", "AUD"},
};

}  // namespace

std::vector<CurrencyCode> TargetCurrencies(CountryCode target) {
  const std::string code = target.str();
  std::vector<CurrencyCode> out;
  if (code.empty()) return out;
  for (const CurrencyOf& row : kCurrencyTable) {
    const std::string_view countries(row.countries);
    for (size_t i = 0; i + 2 <= countries.size(); i += 3) {
      if (countries.substr(i, 2) != code) continue;
      const std::string_view currencies(row.currencies);
      for (size_t j = 0; j + 3 <= currencies.size(); j += 4) {
        out.push_back(CurrencyCode::FromString(currencies.substr(j, 3)));
      }
      return out;
    }
  }
  return out;
}

std::unique_ptr<Operator> MakeForeignAdSpend(
    const ForeignAdSpendOptions& options, const OperatorContext& context) {
  return std::make_unique<ForeignAdSpend>(options, context);
}

// ---------------------------------------------------------------------------
// Configuration: the section detectors.foreign_ad_spend (docs/config.md).

namespace {

// A list of ISO 4217 currency codes (three upper-case letters), no
// duplicates, in the order given.
absl::Status ParseCurrencies(const ConfigNode& node,
                             std::vector<CurrencyCode>* out) {
  absl::StatusOr<std::vector<ConfigNode>> elements = node.Elements();
  if (!elements.ok()) return elements.status();
  std::vector<CurrencyCode> currencies;
  for (const ConfigNode& element : *elements) {
    absl::StatusOr<std::string> code = element.String();
    if (!code.ok()) return code.status();
    const CurrencyCode currency = CurrencyCode::FromString(*code);
    if (!currency.known()) {
      return element.Error(absl::StrCat(
          "\"", *code, "\" is not a currency code (three upper-case letters)"));
    }
    if (std::find(currencies.begin(), currencies.end(), currency) !=
        currencies.end()) {
      return element.Error(absl::StrCat("duplicate currency ", *code));
    }
    currencies.push_back(currency);
  }
  *out = std::move(currencies);
  return absl::OkStatus();
}

absl::Status ParseForeignAdSpendTarget(ConfigMap& m,
                                       ForeignAdSpendTargetOptions* out) {
  if (std::optional<ConfigNode> currencies = m.Take("currencies")) {
    VIGIA_RETURN_IF_ERROR(ParseCurrencies(*currencies, &out->currencies));
  }
  VIGIA_RETURN_IF_ERROR(m.Double("first_seen_min_spend", Bound::kNonNegative,
                                 &out->first_seen_min_spend));
  VIGIA_RETURN_IF_ERROR(m.Int("min_ads", 0, kIntMax, &out->min_ads));
  VIGIA_RETURN_IF_ERROR(m.Section("scoring", [out](ConfigMap& s) {
    return ParseScoring(s, &out->scoring);
  }));
  return m.Section("count_scoring", [out](ConfigMap& s) {
    return ParseScoring(s, &out->count_scoring);
  });
}

}  // namespace

absl::Status ParseOptions(ConfigMap& m, ForeignAdSpendOptions* out) {
  VIGIA_RETURN_IF_ERROR(m.Bool("enabled", &out->enabled));
  VIGIA_RETURN_IF_ERROR(m.Duration("window", Bound::kPositive, &out->window));
  VIGIA_RETURN_IF_ERROR(m.Duration("hop", Bound::kPositive, &out->hop));
  if (std::optional<ConfigNode> targets = m.Take("targets")) {
    VIGIA_RETURN_IF_ERROR(ParseTargets(*targets, &out->targets));
  }
  VIGIA_RETURN_IF_ERROR(
      m.Double("spend_unit", Bound::kPositive, &out->spend_unit));
  VIGIA_RETURN_IF_ERROR(m.Int("max_keys", 1, kIntMax, &out->max_keys));
  VIGIA_RETURN_IF_ERROR(m.Int("max_payers", 1, kIntMax, &out->max_payers));
  if (std::optional<ConfigNode> severity = m.Take("first_seen_severity")) {
    absl::StatusOr<Severity> s = ParseSeverity(*severity);
    if (!s.ok()) return s.status();
    out->first_seen_severity = *s;
  }
  VIGIA_RETURN_IF_ERROR(m.Double("first_seen_min_spend", Bound::kNonNegative,
                                 &out->first_seen_min_spend));
  VIGIA_RETURN_IF_ERROR(m.Int("min_ads", 0, kIntMax, &out->min_ads));
  VIGIA_RETURN_IF_ERROR(m.Section("scoring", [out](ConfigMap& s) {
    return ParseScoring(s, &out->scoring);
  }));
  VIGIA_RETURN_IF_ERROR(m.Section("count_scoring", [out](ConfigMap& s) {
    return ParseScoring(s, &out->count_scoring);
  }));
  if (std::optional<ConfigNode> per_target = m.Take("per_target")) {
    ForeignAdSpendTargetOptions inherited;
    inherited.first_seen_min_spend = out->first_seen_min_spend;
    inherited.min_ads = out->min_ads;
    inherited.scoring = out->scoring;
    inherited.count_scoring = out->count_scoring;
    VIGIA_RETURN_IF_ERROR(ParsePerTarget<ForeignAdSpendTargetOptions>(
        *per_target, inherited, ParseForeignAdSpendTarget, &out->per_target));
  }
  return CheckWindow(m, out->window, out->hop);
}

void WriteCanonical(std::string_view p, const ForeignAdSpendOptions& o,
                    CanonicalWriter& w) {
  w.Add(OptionKey(p, "enabled"), o.enabled);
  w.Add(OptionKey(p, "window"), o.window);
  w.Add(OptionKey(p, "hop"), o.hop);
  w.Add(OptionKey(p, "targets"), CanonicalTargets(o.targets));
  w.Add(OptionKey(p, "spend_unit"), o.spend_unit);
  w.Add(OptionKey(p, "max_keys"), o.max_keys);
  w.Add(OptionKey(p, "max_payers"), o.max_payers);
  w.Add(OptionKey(p, "first_seen_severity"),
        SeverityName(o.first_seen_severity));
  w.Add(OptionKey(p, "first_seen_min_spend"), o.first_seen_min_spend);
  w.Add(OptionKey(p, "min_ads"), o.min_ads);
  CanonicalScoring(OptionKey(p, "scoring"), o.scoring, w);
  CanonicalScoring(OptionKey(p, "count_scoring"), o.count_scoring, w);
  CanonicalPerTarget(
      p, o.per_target,
      [&w](std::string_view t, const ForeignAdSpendTargetOptions& x) {
        std::vector<std::string> codes;
        for (CurrencyCode cur : x.currencies) codes.push_back(cur.str());
        w.Add(OptionKey(t, "currencies"),
              absl::StrCat("[", absl::StrJoin(codes, ", "), "]"));
        w.Add(OptionKey(t, "first_seen_min_spend"), x.first_seen_min_spend);
        w.Add(OptionKey(t, "min_ads"), x.min_ads);
        CanonicalScoring(OptionKey(t, "scoring"), x.scoring, w);
        CanonicalScoring(OptionKey(t, "count_scoring"), x.count_scoring, w);
      },
      w);
}

}  // namespace vigia
