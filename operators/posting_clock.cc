#include "operators/posting_clock.h"

#include <algorithm>
#include <array>
#include <bitset>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/hash/hash.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "operators/cap_hits.h"
#include "operators/compact_storage.h"
#include "operators/detector_options.h"
#include "operators/hyperloglog.h"
#include "operators/operator_util.h"
#include "operators/posting_clock_week.h"
#include "operators/scorer.h"
#include "operators/snapshot.h"
#include "operators/target_scores.h"
#include "pipeline/core/status_macros.h"
#include "pipeline/core/strings.h"

namespace vigia {
namespace {

using posting_clock_internal::AccountWeek;
using posting_clock_internal::BinOf;
using posting_clock_internal::FloorMod;
using posting_clock_internal::kNever;
using posting_clock_internal::kWeekHours;
using posting_clock_internal::WeekHistogram;

constexpr std::string_view kName = "posting_clock";
constexpr int64_t kHourUs = int64_t{3600} * 1000000;
// UTC offsets considered, in whole hours.
constexpr int kMinOffset = -12;
constexpr int kMaxOffset = 14;
constexpr int kOffsets = kMaxOffset - kMinOffset + 1;
// Working hours: weekdays, [09:00, 18:00) local.
constexpr int kWorkStart = 9;
constexpr int kWorkHours = 9;
constexpr int kWorkDays = 5;
// Accounts looked at for recycling when the cap is reached.
constexpr int kRecycleScan = 64;
// Accounts listed in a group's evidence.
constexpr int kMaxListedAccounts = 200;
// Posts this far ahead of the last evaluation are refused (counted): one
// post stamped a year ahead would otherwise slide every histogram past the
// real posts.
constexpr int64_t kMaxLookaheadHours = 6;

// Hours between two UTC offsets, on the 24-hour clock.
int OffsetDistance(int a, int b) {
  const int d = std::abs(a - b) % 24;
  return std::min(d, 24 - d);
}

std::string OffsetText(int offset) {
  return absl::StrFormat("UTC%c%02d:00", offset < 0 ? '-' : '+',
                         std::abs(offset));
}

// The weekday working-hours mask of offset `o`, as bins of the UTC week:
// five runs of nine hours. Calls f(bin) for each.
template <typename F>
void ForEachWorkingBin(int offset, F&& f) {
  for (int day = 0; day < kWorkDays; ++day) {
    for (int h = 0; h < kWorkHours; ++h) {
      f(FloorMod(day * 24 + kWorkStart + h - offset, kWeekHours));
    }
  }
}

// Sums of a histogram over each offset's working-hours mask, via prefix
// sums over the doubled week (five range sums per offset).
template <typename T>
std::array<int64_t, kOffsets> WorkingSums(const std::array<T, kWeekHours>& b) {
  std::array<int64_t, 2 * kWeekHours + 1> prefix;
  prefix[0] = 0;
  for (int i = 0; i < 2 * kWeekHours; ++i) {
    prefix[i + 1] = prefix[i] + b[i % kWeekHours];
  }
  std::array<int64_t, kOffsets> out;
  for (int o = kMinOffset; o <= kMaxOffset; ++o) {
    int64_t sum = 0;
    for (int day = 0; day < kWorkDays; ++day) {
      const int start = FloorMod(day * 24 + kWorkStart - o, kWeekHours);
      sum += prefix[start + kWorkHours] - prefix[start];
    }
    out[o - kMinOffset] = sum;
  }
  return out;
}

// One tracked account: 84 bytes, 4-aligned, with no padding, plus a heap
// block only for an account or post id that CompactId cannot hold inline
// (more than 15 bytes and not all digits, or more than 30 digits) or a week
// of more than eight distinct hours.
struct Account {
  // The latest post, quoted as a sample: its id, created_at in microseconds
  // (the decoder's resolution) and coordinates (source in PostingClock's
  // SourceTable). Its created_at is held as its hour, `last_post`, and the
  // microseconds into that hour (the newest post is the latest by time, so
  // its hour is the account's latest hour), its position in two halves:
  // no 8-byte field, so that the record packs to 84 bytes, not 88.
  int64_t post_us() const {
    return int64_t{last_post} * kHourUs + post_us_in_hour;
  }
  void set_post_us(int64_t us) {
    const int64_t hour = FloorDiv(us, kHourUs);
    last_post = static_cast<int32_t>(hour);
    post_us_in_hour = static_cast<uint32_t>(us - hour * kHourUs);
  }
  int64_t post_position() const {
    int64_t p;
    std::memcpy(&p, post_position_halves, sizeof(p));
    return p;
  }
  void set_post_position(int64_t p) {
    std::memcpy(post_position_halves, &p, sizeof(p));
  }

  uint32_t post_position_halves[2] = {0, 0};
  CompactId id;
  CompactId post_id;
  AccountWeek week;
  uint32_t post_source = 0;
  int32_t last_post = AccountWeek::kNoHour;  // hour of the latest post
  uint32_t post_us_in_hour = 0;              // < kHourUs, which fits in 32 bits
  int16_t target_slot = -1;                  // -1: a free slot
  CountryCode country;
};
static_assert(sizeof(Account) == 84 && kHourUs <= UINT32_MAX);

struct Params {
  Params(const PostingClockTargetOptions& o)
      : offsets(o.utc_offsets),
        min_accounts(o.min_accounts),
        levels(o.levels),
        scorer(
            [&] {
              ScoringOptions s;
              s.levels = o.levels;
              return s;
            }(),
            absl::ZeroDuration()) {}
  std::vector<int> offsets;  // empty: built-in map, then inferred
  int min_accounts;
  std::vector<SeverityLevel> levels;
  Scorer scorer;
};

// Accounts by slot: in chunks, so that the slots for max_accounts cost
// max_accounts records, not up to twice that as a std::vector's would.
using AccountSlots = ChunkedVector<Account>;

class PostingClock final : public Operator {
 public:
  PostingClock(const PostingClockOptions& options,
               const OperatorContext& context)
      : options_(options),
        context_(context),
        hop_us_(std::max<int64_t>(1, absl::ToInt64Microseconds(options.hop))) {
    for (CountryCode c : options.targets) {
      if (c.known()) targets_filter_.set(CountryIndex(c));
    }
    target_slot_.fill(-1);
  }

  std::string_view name() const override { return kName; }
  FeedSet feeds() const override { return FeedBit(FeedKind::kPost); }

  void Observe(const Event& event, EventFacts& facts, AlertEmitter&) override {
    if (!event.is_post() || !event.target.known() || event.account_id.empty()) {
      return;
    }
    const int ti = facts.target_index();
    if (targets_filter_.any() && !targets_filter_.test(ti)) return;
    const int64_t hour =
        FloorDiv(absl::ToUnixMicros(event.created_at), kHourUs);
    // A target's own boundary is ahead of the detector's only after a merge
    // (Absorb), when its part had evaluated further.
    int64_t evaluated = last_boundary_;
    if (const int16_t slot = target_slot_[ti]; slot >= 0) {
      evaluated = std::max(evaluated, targets_[slot]->last_boundary);
    }
    if (evaluated != kNever &&
        hour > FloorDiv(evaluated * hop_us_, kHourUs) + kMaxLookaheadHours) {
      cap_hits_.Hit(event.target);
      facts.Refuse(EventFacts::Refusal::kAhead);
      return;
    }
    TargetState& ts = Target(event.target);
    ts.population.Add(hour);
    if (event.account_country == event.target) ts.domestic.Add(hour);
    max_event_hour_ = std::max(max_event_hour_, hour);
    const AccountKey key{ToAbsl(event.account_id), facts.account_hash()};
    auto it = ts.accounts.find(key);
    uint32_t index;
    bool fresh = false;
    if (it != ts.accounts.end()) {
      index = *it;
    } else {
      const int32_t slot = FreeSlot();
      if (slot < 0) {
        cap_hits_.Hit(event.target);
        facts.Refuse(EventFacts::Refusal::kKeyCap);
        return;
      }
      index = static_cast<uint32_t>(slot);
      Account& a = accounts_[index];
      a.id.assign(event.account_id);
      a.target_slot = static_cast<int16_t>(ts.slot);
      a.week.Clear();
      // By the event's key: its hash is known, the id's would be unpacked
      // and hashed again.
      ts.accounts.lazy_emplace(
          key, [index](const auto& construct) { construct(index); });
      ++live_accounts_;
      fresh = true;
    }
    Account& a = accounts_[index];
    // A new account's week is empty and takes any post.
    if (!a.week.Add(hour)) return;
    a.country = event.account_country;
    // The latest post, and with it the latest hour: a post's hour is no
    // later than the latest's exactly when its time is no later.
    const int64_t post_us = absl::ToUnixMicros(event.created_at);
    if (fresh || post_us >= a.post_us()) {
      a.post_id.assign(event.id);
      a.set_post_us(post_us);
      a.set_post_position(event.source.position);
      a.post_source = sources_.Intern(event.source);
    }
  }

  // The account's probe in its target's index is a cache miss among a
  // hundred thousand accounts (with the account's record, most of
  // Observe()'s time, itself a sixth of replay's); started here, it
  // overlaps the other detectors' work.
  void Prefetch(const Event& event, EventFacts& facts) override {
    if (!event.is_post() || !event.target.known() || event.account_id.empty()) {
      return;
    }
    const int16_t slot = target_slot_[facts.target_index()];
    if (slot < 0) return;
    targets_[static_cast<size_t>(slot)]->accounts.prefetch(
        AccountKey{ToAbsl(event.account_id), facts.account_hash()});
  }

  void AdvanceWatermark(absl::Time watermark, AlertEmitter& out) override {
    if (watermark == absl::InfinitePast()) return;
    int64_t boundary;  // evaluate at boundary * hop
    if (watermark == absl::InfiniteFuture()) {
      if (max_event_hour_ == kNever) return;
      boundary =
          FloorDiv((max_event_hour_ + 1) * kHourUs + hop_us_ - 1, hop_us_);
    } else {
      boundary = FloorDiv(absl::ToUnixMicros(watermark), hop_us_);
    }
    if (boundary <= last_boundary_) return;
    last_boundary_ = boundary;
    // The state is cumulative over the week, so only the latest boundary
    // crossed is evaluated.
    Evaluate(boundary, out);
  }

  OperatorStats stats() const override {
    OperatorStats s;
    s.keys = live_accounts_;
    s.buckets = live_accounts_ + static_cast<int64_t>(targets_.size());
    s.cap_hits = cap_hits_.total();
    s.firing = firing_;
    return s;
  }

  std::vector<TargetScore> LatestScores() const override {
    return scores_.Snapshot();
  }

  // State format, version 2: the boundaries; the source table; per target
  // (in slot order) its code, population and domestic weeks, its groups'
  // episodes and (from version 2) the boundary it was last evaluated at;
  // the account slots (free ones as -1; live ones with id, week,
  // latest post and country), the free list (in order: it decides which
  // slot the next account takes) and the recycling hand; the cap-hit count
  // and latest scores. The targets' account indices are rebuilt. Version 1
  // had no per-target boundary: every target of one detector was evaluated
  // at every boundary, so it restores as the detector's. Version 3 keeps
  // the cap hits per target (CapHits); before, the total.
  uint32_t state_version() const override { return 3; }
  void SaveState(SnapshotWriter& w) const override {
    w.I64(max_event_hour_);
    w.I64(last_boundary_);
    cap_hits_.Save(w, /*per_target=*/true);
    sources_.Save(w);
    w.U64(targets_.size());
    for (const std::unique_ptr<TargetState>& ts : targets_) {
      w.U32(ts->target.packed());
      ts->population.Save(w);
      ts->domestic.Save(w);
      for (const GroupState& g : ts->groups) {
        w.I32(g.firing_level);
        w.Time(g.episode_start);
      }
      w.I64(ts->last_boundary);
    }
    w.U64(accounts_.size());
    for (size_t i = 0; i < accounts_.size(); ++i) {
      const Account& a = accounts_[i];
      w.I32(a.target_slot);
      if (a.target_slot < 0) continue;
      CompactId::Scratch scratch;
      w.Str(a.id.view(scratch));
      a.week.Save(w);
      w.Str(a.post_id.view(scratch));
      w.I64(a.post_us());
      w.I64(a.post_position());
      w.U32(a.post_source);
      w.I32(a.last_post);
      w.U32(a.country.packed());
    }
    w.U64(free_.size());
    for (int32_t f : free_) w.I32(f);
    w.U64(hand_);
    scores_.Save(w);
  }

  absl::Status RestoreState(SnapshotReader& r, uint32_t version) override {
    max_event_hour_ = r.I64();
    last_boundary_ = r.I64();
    cap_hits_.Restore(r, /*per_target=*/version >= 3);
    sources_.Restore(r);
    const size_t targets = r.Count(2);
    for (size_t i = 0; i < targets && r.ok(); ++i) {
      const uint32_t packed = r.U32();
      if (r.ok() &&
          (packed > 0xffff || !IsCountryCode(static_cast<uint16_t>(packed)) ||
           target_slot_[CountryIndex(CountryCode::FromChars(
               static_cast<char>(packed >> 8),
               static_cast<char>(packed & 0xff)))] >= 0)) {
        r.Fail("malformed or repeated target");
      }
      if (!r.ok()) break;
      TargetState& ts = Target(CountryCode::FromChars(
          static_cast<char>(packed >> 8), static_cast<char>(packed & 0xff)));
      ts.population.Restore(r);
      ts.domestic.Restore(r);
      for (GroupState& g : ts.groups) {
        g.firing_level = r.I32();
        g.episode_start = r.Time();
        if (r.ok() &&
            (g.firing_level < -1 ||
             g.firing_level >= static_cast<int>(ts.params->levels.size()))) {
          r.Fail("group with an unknown firing rung");
        }
        if (g.firing_level >= 0) ++firing_;
      }
      // After a merge a target may have been evaluated further than the
      // detector (whose boundary is the earlier part's).
      ts.last_boundary = version >= 2 ? r.I64() : last_boundary_;
    }
    const size_t slots = r.Count(1);
    if (static_cast<int64_t>(slots) > options_.max_accounts) {
      r.Fail("more account slots than max_accounts");
    }
    for (size_t i = 0; i < slots && r.ok(); ++i) {
      Account& a = accounts_.emplace_back();
      const int32_t slot = r.I32();
      if (slot < 0) continue;
      if (slot >= static_cast<int32_t>(targets_.size())) {
        r.Fail("account of an unknown target");
        break;
      }
      a.id.assign(r.StrView());
      a.week.Restore(r);
      a.post_id.assign(r.StrView());
      const int64_t post_us = r.I64();
      a.set_post_position(r.I64());
      a.post_source = r.U32();
      const int32_t last_post = r.I32();
      const uint32_t country = r.U32();
      if (!r.ok()) break;
      // The latest hour is the latest post's, which the record derives.
      if (FloorDiv(post_us, kHourUs) != last_post) {
        r.Fail("account whose latest hour is not its latest post's");
        break;
      }
      a.set_post_us(post_us);
      if (a.post_source >= sources_.size() ||
          (country != 0 && (country > 0xffff ||
                            !IsCountryCode(static_cast<uint16_t>(country))))) {
        r.Fail("account with an unknown source or country");
        break;
      }
      a.country = CountryCode::FromChars(static_cast<char>(country >> 8),
                                         static_cast<char>(country & 0xff));
      a.target_slot = static_cast<int16_t>(slot);
      if (!targets_[slot]->accounts.insert(static_cast<uint32_t>(i)).second) {
        r.Fail("account appears twice");
        break;
      }
      ++live_accounts_;
    }
    const size_t free = r.Count(1);
    for (size_t i = 0; i < free && r.ok(); ++i) {
      const int32_t f = r.I32();
      if (r.ok() && (f < 0 || static_cast<size_t>(f) >= accounts_.size() ||
                     accounts_[f].target_slot >= 0)) {
        r.Fail("free list names a live or unknown slot");
      }
      free_.push_back(f);
    }
    hand_ = r.U64();
    if (r.ok() && hand_ >= std::max<size_t>(accounts_.size(), 1)) {
      r.Fail("recycling hand beyond the slots");
    }
    scores_.Restore(r);
    return r.Finish();
  }

  // State that follows partitions (docs/state.md). Every piece of state
  // but the account slots' layout, the recycling hand and the cap-hit count
  // belongs to one target: a target's weeks and episodes, and each account
  // (an account posting at two targets is two accounts). The layout
  // decides only which slot a newcomer takes and which account the cap
  // recycles, so a split or merge is exact while the cap is not reached
  // (see Absorb for what is approximated at the cap).
  bool splits_by_target() const override { return true; }

  void RetainTargets(const std::function<bool(CountryCode)>& keep) override {
    std::vector<char> kept(targets_.size());
    for (size_t t = 0; t < targets_.size(); ++t) {
      kept[t] = keep(targets_[t]->target) ? 1 : 0;
    }
    for (size_t s = 0; s < accounts_.size(); ++s) {
      const int16_t t = accounts_[s].target_slot;
      if (t >= 0 && !kept[t]) Release(s);
    }
    // The kept targets keep their order (that of the alerts of one
    // evaluation) under new slot numbers.
    std::vector<int16_t> renumbered(targets_.size(), -1);
    std::vector<std::unique_ptr<TargetState>> targets;
    target_slot_.fill(-1);
    firing_ = 0;
    max_event_hour_ = kNever;
    for (size_t t = 0; t < targets_.size(); ++t) {
      if (!kept[t]) continue;
      TargetState& ts = *targets_[t];
      renumbered[t] = static_cast<int16_t>(targets.size());
      ts.slot = renumbered[t];
      target_slot_[CountryIndex(ts.target)] = renumbered[t];
      for (const GroupState& g : ts.groups) {
        if (g.firing_level >= 0) ++firing_;
      }
      // Every post counted moved the population's week to its hour, so its
      // end is the target's newest post (or an evaluation after it, which
      // makes the end-of-input evaluation the same no-op).
      max_event_hour_ = std::max(max_event_hour_, ts.population.last);
      targets.push_back(std::move(targets_[t]));
    }
    targets_ = std::move(targets);
    for (size_t s = 0; s < accounts_.size(); ++s) {
      Account& a = accounts_[s];
      if (a.target_slot >= 0) a.target_slot = renumbered[a.target_slot];
    }
    scores_.RetainTargets(keep);
    cap_hits_.RetainTargets(keep);
  }

  // Takes the other part's targets after this one's (the order of alerts of
  // different targets within one evaluation may therefore differ from one
  // detector's) and its accounts into free slots. At the cap the
  // newcomers are placed as new accounts would be (recycling accounts with
  // too few posts, else refused, counted): one detector that saw both parts
  // would have recycled or refused other accounts along the way, which no
  // part recorded. The detector's boundary becomes the earlier part's (as
  // the pipeline's watermark does); each target keeps its own.
  absl::Status Absorb(Operator& other) override {
    auto* o = dynamic_cast<PostingClock*>(&other);
    if (o == nullptr) return Operator::Absorb(other);
    for (const std::unique_ptr<TargetState>& ts : o->targets_) {
      if (target_slot_[CountryIndex(ts->target)] >= 0) {
        return absl::FailedPreconditionError(
            absl::StrCat("target ", ts->target.str(), " is in both states"));
      }
    }
    const bool fresh = targets_.empty() && live_accounts_ == 0 &&
                       last_boundary_ == kNever && max_event_hour_ == kNever;
    last_boundary_ =
        fresh ? o->last_boundary_ : std::min(last_boundary_, o->last_boundary_);
    max_event_hour_ = std::max(max_event_hour_, o->max_event_hour_);
    cap_hits_.Absorb(o->cap_hits_);
    std::vector<int16_t> slot_of(o->targets_.size());
    for (size_t t = 0; t < o->targets_.size(); ++t) {
      TargetState& from = *o->targets_[t];
      TargetState& ts = Target(from.target);
      slot_of[t] = static_cast<int16_t>(ts.slot);
      ts.last_boundary = from.last_boundary;
      ts.population = from.population;
      ts.domestic = from.domestic;
      ts.groups = from.groups;
      for (const GroupState& g : ts.groups) {
        if (g.firing_level >= 0) ++firing_;
      }
    }
    constexpr uint32_t kUnmapped = std::numeric_limits<uint32_t>::max();
    std::vector<uint32_t> source_of(o->sources_.size(), kUnmapped);
    for (size_t s = 0; s < o->accounts_.size(); ++s) {
      Account& from = o->accounts_[s];
      if (from.target_slot < 0) continue;
      const int32_t slot = FreeSlot();
      if (slot < 0) {
        cap_hits_.Hit(o->targets_[from.target_slot]->target);
        continue;
      }
      uint32_t& source = source_of[from.post_source];
      if (source == kUnmapped) {
        const SourceRef ref = o->sources_.Get(from.post_source, 0);
        source = sources_.Intern(
            SourceRef{InternSourceName(ref.source), ref.partition, 0});
      }
      Account& a = accounts_[static_cast<size_t>(slot)];
      a.id = std::move(from.id);
      a.week = std::move(from.week);
      a.post_id = std::move(from.post_id);
      a.post_position_halves[0] = from.post_position_halves[0];
      a.post_position_halves[1] = from.post_position_halves[1];
      a.post_us_in_hour = from.post_us_in_hour;
      a.post_source = source;
      a.last_post = from.last_post;
      a.country = from.country;
      a.target_slot = slot_of[from.target_slot];
      targets_[a.target_slot]->accounts.insert(static_cast<uint32_t>(slot));
      ++live_accounts_;
    }
    scores_.Absorb(o->scores_);
    return absl::OkStatus();
  }

 private:
  struct GroupState {
    int firing_level = -1;
    absl::Time episode_start;
  };

  // An account id with its StableHash64, for lookups: Observe() takes the
  // hash from EventFacts, which other detectors share, instead of hashing
  // the id (twice, with Prefetch()) itself.
  struct AccountKey {
    absl::string_view id;
    uint64_t hash;
  };
  // Hash and equality of account indices by the account's id, so a
  // target's index set is searched by id without holding a second copy.
  // The hash is StableHash64 (EventFacts::account_hash()); the set is only
  // searched, never iterated, so its order reaches no output.
  struct AccountIdHash {
    using is_transparent = void;
    const AccountSlots* accounts;
    size_t operator()(uint32_t i) const {
      CompactId::Scratch scratch;
      return StableHash64((*accounts)[i].id.view(scratch));
    }
    size_t operator()(absl::string_view id) const {
      return StableHash64(FromAbsl(id));
    }
    size_t operator()(const AccountKey& key) const { return key.hash; }
  };
  struct AccountIdEq {
    using is_transparent = void;
    const AccountSlots* accounts;
    bool operator()(uint32_t a, uint32_t b) const { return a == b; }
    bool operator()(uint32_t a, absl::string_view id) const {
      return (*accounts)[a].id == FromAbsl(id);
    }
    bool operator()(absl::string_view id, uint32_t a) const {
      return (*accounts)[a].id == FromAbsl(id);
    }
    bool operator()(uint32_t a, const AccountKey& key) const {
      return (*accounts)[a].id == FromAbsl(key.id);
    }
    bool operator()(const AccountKey& key, uint32_t a) const {
      return (*accounts)[a].id == FromAbsl(key.id);
    }
  };

  struct TargetState {
    explicit TargetState(const AccountSlots* all)
        : accounts(0, AccountIdHash{all}, AccountIdEq{all}) {}
    CountryCode target;
    int slot = 0;
    const Params* params = nullptr;
    // The boundary of the target's latest evaluation: the detector's,
    // unless a merge brought it from a part that had evaluated further.
    int64_t last_boundary = kNever;
    WeekHistogram<uint32_t> population;
    // Posts of accounts declaring the target's country: what its own time
    // zone is inferred from when the map does not know it.
    WeekHistogram<uint32_t> domestic;
    // The target's accounts as indices into accounts_, found by id.
    absl::flat_hash_set<uint32_t, AccountIdHash, AccountIdEq> accounts;
    std::array<GroupState, kOffsets> groups;
  };

  // One group's members and totals at an evaluation.
  struct Group {
    std::vector<uint32_t> members;
    int64_t posts = 0;
    int64_t working = 0;
    std::array<int64_t, kWeekHours> bins = {};
  };

  TargetState& Target(CountryCode target) {
    int16_t& slot = target_slot_[CountryIndex(target)];
    if (slot < 0) {
      slot = static_cast<int16_t>(targets_.size());
      auto ts = std::make_unique<TargetState>(&accounts_);
      ts->target = target;
      ts->slot = slot;
      auto it = options_.per_target.find(target);
      PostingClockTargetOptions o;
      if (it != options_.per_target.end()) {
        o = it->second;
      } else {
        o.min_accounts = options_.min_accounts;
        o.levels = options_.levels;
      }
      if (o.utc_offsets.empty()) o.utc_offsets = TargetUtcOffsets(target);
      params_.push_back(std::make_unique<Params>(o));
      ts->params = params_.back().get();
      targets_.push_back(std::move(ts));
    }
    return *targets_[slot];
  }

  // A slot for a new account: a free one, a new one below the cap, or one
  // recycled from an account with too few posts to be classified.
  int32_t FreeSlot() {
    if (!free_.empty()) {
      const int32_t s = free_.back();
      free_.pop_back();
      return s;
    }
    if (static_cast<int64_t>(accounts_.size()) < options_.max_accounts) {
      accounts_.emplace_back();
      return static_cast<int32_t>(accounts_.size() - 1);
    }
    if (accounts_.empty()) return -1;
    for (int i = 0; i < kRecycleScan; ++i) {
      const size_t s = hand_;
      hand_ = (hand_ + 1) % accounts_.size();
      Account& a = accounts_[s];
      if (a.target_slot >= 0 && a.week.Total() < options_.min_posts) {
        cap_hits_.Hit(targets_[a.target_slot]->target);
        Release(s);
        free_.pop_back();
        return static_cast<int32_t>(s);
      }
    }
    return -1;
  }

  void Release(size_t s) {
    Account& a = accounts_[s];
    targets_[a.target_slot]->accounts.erase(static_cast<uint32_t>(s));
    a.target_slot = -1;
    a.id.clear();
    a.post_id.clear();
    a.week.Clear();
    free_.push_back(static_cast<int32_t>(s));
    --live_accounts_;
  }

  // The target's offsets: configured or built in, else inferred from the
  // quietest local 01:00-06:00 of its domestic accounts' posts (of all its
  // posts when none declares the target's country).
  std::vector<int> OffsetsOf(const TargetState& ts) const {
    if (!ts.params->offsets.empty()) return ts.params->offsets;
    const WeekHistogram<uint32_t>& people =
        ts.domestic.Total() > 0 ? ts.domestic : ts.population;
    std::array<int64_t, 24> by_hour = {};
    for (int b = 0; b < kWeekHours; ++b) by_hour[b % 24] += people.bins[b];
    std::array<int64_t, kOffsets> night = {};
    for (int o = kMinOffset; o <= kMaxOffset; ++o) {
      for (int h = 1; h < 6; ++h) {
        night[o - kMinOffset] += by_hour[FloorMod(h - o, 24)];
      }
    }
    // A night longer than five hours fits several offsets equally: take
    // the middle one.
    const int64_t quietest = *std::min_element(night.begin(), night.end());
    std::vector<int> best;
    for (int i = 0; i < kOffsets; ++i) {
      if (night[i] == quietest) best.push_back(i + kMinOffset);
    }
    return {best[best.size() / 2]};
  }

  // Evaluates at boundary * hop every target not yet evaluated there: all
  // of them, but after a merge (Absorb) the targets of a part that had
  // evaluated further wait for their own next boundary.
  void Evaluate(int64_t boundary, AlertEmitter& out) {
    const absl::Time end = absl::FromUnixMicros(boundary * hop_us_);
    const int64_t now = FloorDiv(absl::ToUnixMicros(end), kHourUs) - 1;
    std::vector<char> due(targets_.size(), 1);
    bool all_due = true;
    for (size_t t = 0; t < targets_.size(); ++t) {
      if (targets_[t]->last_boundary >= boundary) {
        due[t] = 0;
        all_due = false;
      }
    }
    // Accounts by target, in slot order (deterministic).
    // Only accounts that may have min_posts are brought up to date: the
    // running total is an upper bound, so the rest are skipped in O(1).
    std::vector<std::vector<uint32_t>> members(targets_.size());
    for (size_t s = 0; s < accounts_.size(); ++s) {
      Account& a = accounts_[s];
      if (a.target_slot < 0) continue;
      if (!all_due && !due[a.target_slot]) continue;
      if (a.last_post <= now - kWeekHours) {
        Release(s);  // silent for a week
        continue;
      }
      if (a.week.Total() < options_.min_posts) continue;
      a.week.AdvanceTo(now);
      if (a.week.Total() < options_.min_posts) continue;
      members[a.target_slot].push_back(static_cast<uint32_t>(s));
    }
    for (size_t t = 0; t < targets_.size(); ++t) {
      if (!due[t]) continue;
      targets_[t]->last_boundary = boundary;
      EvaluateTarget(*targets_[t], members[t], end, now, out);
    }
  }

  void EvaluateTarget(TargetState& ts, const std::vector<uint32_t>& members,
                      absl::Time end, int64_t now, AlertEmitter& out) {
    ts.population.AdvanceTo(now);
    ts.domestic.AdvanceTo(now);
    const std::vector<int> own = OffsetsOf(ts);
    const auto distance = [&](int o) {
      int d = 24;
      for (int t : own) d = std::min(d, OffsetDistance(o, t));
      return d;
    };
    std::array<Group, kOffsets> groups;
    for (uint32_t s : members) {
      const Account& a = accounts_[s];
      std::array<uint8_t, kWeekHours> b;
      a.week.Bins(&b);
      int64_t total = 0;
      int days = 0;
      for (int d = 0; d < 7; ++d) {
        int64_t day = 0;
        for (int h = 0; h < 24; ++h) day += b[d * 24 + h];
        total += day;
        if (day > 0) ++days;
      }
      if (total < options_.min_posts || days < options_.min_active_days) {
        continue;
      }
      const std::array<int64_t, kOffsets> working = WorkingSums(b);
      int best = 0;
      for (int i = 1; i < kOffsets; ++i) {
        const int o = i + kMinOffset, ob = best + kMinOffset;
        // Ties go to the offset nearest the target's: an account whose
        // hours fit several zones is not reported on the far one.
        if (working[i] > working[best] ||
            (working[i] == working[best] && distance(o) < distance(ob))) {
          best = i;
        }
      }
      const int offset = best + kMinOffset;
      if (static_cast<double>(working[best]) <
              options_.min_share * static_cast<double>(total) ||
          distance(offset) < options_.min_offset_distance) {
        continue;
      }
      Group& g = groups[best];
      g.members.push_back(s);
      g.posts += total;
      g.working += working[best];
      for (int i = 0; i < kWeekHours; ++i) g.bins[i] += b[i];
    }
    const std::array<int64_t, kOffsets> population =
        WorkingSums(ts.population.bins);
    const int64_t population_total = ts.population.Total();
    for (int i = 0; i < kOffsets; ++i) {
      Group& g = groups[i];
      GroupState& state = ts.groups[i];
      if (g.members.empty() && state.firing_level < 0) continue;
      // What the rest of the target's posts put in these hours; with no
      // rest, the hours' share of the week.
      const int64_t rest = population_total - g.posts;
      const int64_t rest_working = population[i] - g.working;
      const double base =
          rest > 0 && rest_working >= 0
              ? static_cast<double>(rest_working) / static_cast<double>(rest)
              : static_cast<double>(kWorkDays * kWorkHours) / kWeekHours;
      Assessment a = ts.params->scorer.Judge(
          static_cast<double>(g.posts) * base, static_cast<double>(g.working),
          1.0, /*warm=*/true);
      if (static_cast<int>(g.members.size()) < ts.params->min_accounts) {
        a.level = -1;
      }
      scores_.Record(ts.target, end, a.score);
      const Verdict v{a, base, i + kMinOffset, own};
      if (state.firing_level < 0) {
        if (a.reached()) {
          state.firing_level = a.level;
          state.episode_start = end;
          ++firing_;
          out.Emit(MakeAlert(ts, g, state, end, v, Record::kFiring, a.level));
        }
      } else if (!a.reached()) {
        out.Emit(MakeAlert(ts, g, state, end, v, Record::kResolved,
                           state.firing_level));
        state.firing_level = -1;
        --firing_;
      } else if (a.level > state.firing_level) {
        out.Emit(MakeAlert(ts, g, state, end, v, Record::kSuperseded,
                           state.firing_level,
                           ts.params->levels[a.level].severity));
        state.firing_level = a.level;
        out.Emit(MakeAlert(ts, g, state, end, v, Record::kFiring, a.level));
      }
    }
  }

  struct Verdict {
    Assessment a;
    double base = 0;  // the rest's share in the zone's working hours
    int offset = 0;
    std::vector<int> own;
  };

  enum class Record { kFiring, kResolved, kSuperseded };

  Alert MakeAlert(const TargetState& ts, const Group& g,
                  const GroupState& state, absl::Time end, const Verdict& v,
                  Record record, int level,
                  Severity successor = Severity::kInfo) const {
    const SeverityLevel& rung = ts.params->levels[level];
    const Assessment& a = v.a;
    Alert alert;
    alert.detector = std::string(kName);
    alert.state =
        record == Record::kFiring ? AlertState::kFiring : AlertState::kResolved;
    alert.severity = rung.severity;
    alert.target = ts.target;
    alert.subject_kind = "utc_offset";
    alert.subject = OffsetText(v.offset);
    alert.id =
        MakeAlertId(kName, absl::StrCat(ts.target.str(), "|", alert.subject),
                    state.episode_start, rung.severity, context_.config_hash);
    alert.window_start = end - absl::Hours(kWeekHours);
    alert.window_end = end;
    alert.observed = a.observed;
    alert.expected = a.expected;
    alert.ratio = a.ratio;
    alert.score = a.score;
    alert.threshold = rung.min_score;
    const double share =
        g.posts > 0 ? static_cast<double>(g.working) / g.posts : 0.0;
    std::string prefix;
    if (record == Record::kResolved) {
      prefix = "Resolved: ";
    } else if (record == Record::kSuperseded) {
      prefix =
          absl::StrCat("Superseded by ", ToAbsl(SeverityName(successor)), ": ");
    }
    alert.summary = absl::StrFormat(
        "%s%d accounts posting at %s keep office hours of %s: %.0f%% of their "
        "%d posts in a week fall on weekdays 09-18 there, vs %.0f%% of %s's "
        "other posts (%.0f vs %.1f expected; %.1fx, score %.1f)",
        prefix, static_cast<int>(g.members.size()), ts.target.str(),
        alert.subject, 100 * share, static_cast<int>(g.posts), 100 * v.base,
        ts.target.str(), a.observed, a.expected, a.ratio, a.score);

    // The accounts, most active first.
    std::vector<Tally> accounts;
    std::map<std::string, int64_t> countries;
    for (uint32_t s : g.members) {
      const Account& acc = accounts_[s];
      accounts.push_back(Tally{acc.id.str(), acc.week.Total(), 0});
      ++countries[acc.country.known() ? acc.country.str() : "unknown"];
    }
    const auto before = [](const Tally& x, const Tally& y) {
      if (x.count != y.count) return x.count > y.count;
      return x.value < y.value;
    };
    std::sort(accounts.begin(), accounts.end(), before);
    std::vector<Tally> top(
        accounts.begin(),
        accounts.begin() +
            std::min<size_t>(accounts.size(), std::max(context_.top_n, 0)));
    alert.evidence.top_accounts = top;
    if (accounts.size() > static_cast<size_t>(kMaxListedAccounts)) {
      accounts.resize(kMaxListedAccounts);
    }
    alert.evidence.other_tops.emplace_back("accounts", std::move(accounts));
    std::vector<Tally> by_country;
    for (const auto& [c, n] : countries) by_country.push_back(Tally{c, n, 0});
    std::sort(by_country.begin(), by_country.end(), before);
    alert.evidence.other_tops.emplace_back("account_countries",
                                           std::move(by_country));
    // Samples: the latest post of the most active accounts, by time.
    std::vector<SampleEvent> samples;
    for (const Tally& t : top) {
      if (static_cast<int>(samples.size()) >= context_.max_samples) break;
      auto it = ts.accounts.find(absl::string_view(t.value));
      if (it == ts.accounts.end()) continue;
      const Account& acc = accounts_[*it];
      const SourceRef source =
          sources_.Get(acc.post_source, acc.post_position());
      samples.push_back(SampleEvent{
          acc.post_id.str(), acc.id.str(), absl::FromUnixMicros(acc.post_us()),
          std::string(source.source), source.partition, source.position, ""});
    }
    std::sort(samples.begin(), samples.end(),
              [](const SampleEvent& x, const SampleEvent& y) {
                if (x.created_at != y.created_at) {
                  return x.created_at < y.created_at;
                }
                return x.id < y.id;
              });
    alert.evidence.samples = std::move(samples);

    std::vector<std::pair<std::string, double>>& b = alert.evidence.baseline;
    int nearest = v.own.empty() ? 0 : v.own.front();
    for (int t : v.own) {
      if (OffsetDistance(v.offset, t) < OffsetDistance(v.offset, nearest)) {
        nearest = t;
      }
    }
    int64_t night = 0, weekend = 0;
    for (int i = 0; i < kWeekHours; ++i) {
      const int local = FloorMod(i + v.offset, kWeekHours);
      if (local >= kWorkDays * 24)
        weekend += g.bins[i];
      else if (local % 24 < 6)
        night += g.bins[i];
    }
    const double posts = std::max<double>(static_cast<double>(g.posts), 1);
    b = {
        {"inferred_utc_offset_hours", static_cast<double>(v.offset)},
        {"target_utc_offset_hours", static_cast<double>(nearest)},
        {"accounts", static_cast<double>(g.members.size())},
        {"posts", static_cast<double>(g.posts)},
        {"posts_in_working_hours", static_cast<double>(g.working)},
        {"share_in_working_hours", share},
        {"weekend_share", static_cast<double>(weekend) / posts},
        {"weeknight_share_00_06", static_cast<double>(night) / posts},
        {"rest_of_target_share_in_working_hours", v.base},
        {"expected", a.expected},
        {"min_share", options_.min_share},
        {"min_posts_per_account", static_cast<double>(options_.min_posts)},
    };
    std::array<int64_t, 24> by_hour = {};
    for (int i = 0; i < kWeekHours; ++i) by_hour[i % 24] += g.bins[i];
    for (int h = 0; h < 24; ++h) {
      b.emplace_back(absl::StrFormat("posts_utc_hour_%02d", h),
                     static_cast<double>(by_hour[h]));
    }
    alert.config_hash = context_.config_hash;
    return alert;
  }

  const PostingClockOptions options_;
  const OperatorContext context_;
  const int64_t hop_us_;
  std::bitset<kCountrySlots> targets_filter_;
  std::vector<std::unique_ptr<Params>> params_;
  std::array<int16_t, kCountrySlots> target_slot_;
  std::vector<std::unique_ptr<TargetState>> targets_;
  // Account slots (free ones have target_slot -1), reused through free_.
  AccountSlots accounts_;
  SourceTable sources_;
  std::vector<int32_t> free_;
  size_t hand_ = 0;
  int64_t live_accounts_ = 0;
  int64_t max_event_hour_ = kNever;
  int64_t last_boundary_ = kNever;
  CapHits cap_hits_;
  int64_t firing_ = 0;
  TargetScores scores_;
};

struct OffsetsOf {
  const char* countries;  // space-separated alpha-2 codes
  std::array<int, 12> offsets;
  int count;
};

// Standard and summer time of the countries vigia is most often pointed
// at; a few large countries list the span of their zones.
constexpr OffsetsOf kOffsetTable[] = {
    {"GB IE PT IS", {0, 1}, 2},
    {"AL AT BA BE CH CZ DE DK ES FR HR HU IT LU ME MK MT NL NO PL RS SE SI "
     "SK XK",
     {1, 2},
     2},
    {"BG CY EE FI GR LT LV MD RO UA", {2, 3}, 2},
    {"BY TR", {3}, 1},
    {"AM AZ GE", {4}, 1},
    {"KZ", {5}, 1},
    {"RU", {2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, 11},
    {"US", {-10, -9, -8, -7, -6, -5, -4}, 7},
    {"CA", {-8, -7, -6, -5, -4, -3}, 6},
};

}  // namespace

std::vector<int> TargetUtcOffsets(CountryCode target) {
  const std::string code = target.str();
  if (code.empty()) return {};
  for (const OffsetsOf& row : kOffsetTable) {
    const std::string_view countries(row.countries);
    for (size_t i = 0; i + 2 <= countries.size(); i += 3) {
      if (countries.substr(i, 2) == code) {
        return std::vector<int>(row.offsets.begin(),
                                row.offsets.begin() + row.count);
      }
    }
  }
  return {};
}

std::unique_ptr<Operator> MakePostingClock(const PostingClockOptions& options,
                                           const OperatorContext& context) {
  return std::make_unique<PostingClock>(options, context);
}

// ---------------------------------------------------------------------------
// Configuration: the section detectors.posting_clock (docs/config.md).

namespace {

// posting_clock classifies every tracked account each hop.
constexpr absl::Duration kMinPostingClockHop = absl::Minutes(1);

// A target's own UTC offsets: whole hours from -12 to 14, no duplicates,
// stored sorted.
absl::Status ParseUtcOffsets(const ConfigNode& node, std::vector<int>* out) {
  absl::StatusOr<std::vector<ConfigNode>> elements = node.Elements();
  if (!elements.ok()) return elements.status();
  std::vector<int> offsets;
  for (const ConfigNode& element : *elements) {
    absl::StatusOr<int64_t> hours = element.Int(-12, 14);
    if (!hours.ok()) return hours.status();
    const int h = static_cast<int>(*hours);
    if (std::find(offsets.begin(), offsets.end(), h) != offsets.end()) {
      return element.Error(absl::StrCat("duplicate offset ", h));
    }
    offsets.push_back(h);
  }
  std::sort(offsets.begin(), offsets.end());
  *out = std::move(offsets);
  return absl::OkStatus();
}

absl::Status ParsePostingClockTarget(ConfigMap& m,
                                     PostingClockTargetOptions* out) {
  if (std::optional<ConfigNode> offsets = m.Take("utc_offsets")) {
    VIGIA_RETURN_IF_ERROR(ParseUtcOffsets(*offsets, &out->utc_offsets));
  }
  VIGIA_RETURN_IF_ERROR(m.Int("min_accounts", 1, kIntMax, &out->min_accounts));
  if (std::optional<ConfigNode> levels = m.Take("levels")) {
    VIGIA_RETURN_IF_ERROR(ParseLevels(*levels, &out->levels));
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status ParseOptions(ConfigMap& m, PostingClockOptions* out) {
  VIGIA_RETURN_IF_ERROR(m.Bool("enabled", &out->enabled));
  VIGIA_RETURN_IF_ERROR(m.Duration("hop", Bound::kPositive, &out->hop));
  if (out->hop > absl::Hours(24)) {
    return m.ErrorAt("hop", "must be at most 24h");
  }
  if (out->hop < kMinPostingClockHop) {
    return m.ErrorAt(
        "hop", absl::StrCat("must be at least ",
                            absl::FormatDuration(kMinPostingClockHop),
                            " (each hop classifies every tracked account)"));
  }
  if (std::optional<ConfigNode> targets = m.Take("targets")) {
    VIGIA_RETURN_IF_ERROR(ParseTargets(*targets, &out->targets));
  }
  VIGIA_RETURN_IF_ERROR(m.Int("max_accounts", 1, kIntMax, &out->max_accounts));
  VIGIA_RETURN_IF_ERROR(m.Int("min_posts", 1, kIntMax, &out->min_posts));
  VIGIA_RETURN_IF_ERROR(m.Int("min_active_days", 1, 7, &out->min_active_days));
  VIGIA_RETURN_IF_ERROR(
      m.Double("min_share", Bound::kPositive, &out->min_share));
  if (out->min_share > 1) return m.ErrorAt("min_share", "must be at most 1");
  VIGIA_RETURN_IF_ERROR(
      m.Int("min_offset_distance", 0, 12, &out->min_offset_distance));
  VIGIA_RETURN_IF_ERROR(m.Int("min_accounts", 1, kIntMax, &out->min_accounts));
  if (std::optional<ConfigNode> levels = m.Take("levels")) {
    VIGIA_RETURN_IF_ERROR(ParseLevels(*levels, &out->levels));
  }
  if (std::optional<ConfigNode> per_target = m.Take("per_target")) {
    PostingClockTargetOptions inherited;
    inherited.min_accounts = out->min_accounts;
    inherited.levels = out->levels;
    VIGIA_RETURN_IF_ERROR(ParsePerTarget<PostingClockTargetOptions>(
        *per_target, inherited, ParsePostingClockTarget, &out->per_target));
  }
  return absl::OkStatus();
}

void WriteCanonical(std::string_view p, const PostingClockOptions& o,
                    CanonicalWriter& w) {
  w.Add(OptionKey(p, "enabled"), o.enabled);
  w.Add(OptionKey(p, "hop"), o.hop);
  w.Add(OptionKey(p, "targets"), CanonicalTargets(o.targets));
  w.Add(OptionKey(p, "max_accounts"), o.max_accounts);
  w.Add(OptionKey(p, "min_posts"), o.min_posts);
  w.Add(OptionKey(p, "min_active_days"), o.min_active_days);
  w.Add(OptionKey(p, "min_share"), o.min_share);
  w.Add(OptionKey(p, "min_offset_distance"), o.min_offset_distance);
  w.Add(OptionKey(p, "min_accounts"), o.min_accounts);
  CanonicalLevels(OptionKey(p, "levels"), o.levels, w);
  CanonicalPerTarget(
      p, o.per_target,
      [&w](std::string_view t, const PostingClockTargetOptions& x) {
        w.Add(OptionKey(t, "utc_offsets"),
              absl::StrCat("[", absl::StrJoin(x.utc_offsets, ", "), "]"));
        w.Add(OptionKey(t, "min_accounts"), x.min_accounts);
        CanonicalLevels(OptionKey(t, "levels"), x.levels, w);
      },
      w);
}

}  // namespace vigia
