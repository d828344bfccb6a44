#include "operators/evidence.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <map>
#include <tuple>

#include "operators/hyperloglog.h"
#include "operators/snapshot.h"

namespace vigia {
namespace {

uint64_t HashOf(std::string_view v) { return std::hash<std::string_view>{}(v); }

bool TallyBefore(const Tally& a, const Tally& b) {
  if (a.count != b.count) return a.count > b.count;
  return a.value < b.value;
}

}  // namespace

void TopK::Add(std::string_view value) { Add(value, 1); }

void TopK::Add(std::string_view value, uint32_t weight) {
  const uint64_t h = HashOf(value);
  // Counts saturate rather than wrap.
  const auto plus = [weight](uint32_t c) {
    return c > UINT32_MAX - weight ? UINT32_MAX : c + weight;
  };
  for (Entry& e : entries_) {
    if (e.hash == h && this->value(e) == value) {
      e.count = plus(e.count);
      return;
    }
  }
  if (!full()) {
    // Grown to at most the capacity (a vector doubling from one would
    // reallocate five times on the way to 20 and overshoot to 32).
    if (entries_.size() == entries_.capacity()) {
      entries_.reserve(std::min<size_t>(
          capacity_, std::max<size_t>(4, 2 * entries_.capacity())));
    }
    Entry& e = entries_.emplace_back();
    e.hash = h;
    e.count = weight;
    Store(e, value);
    return;
  }
  // Space-Saving: the newcomer takes over the smallest entry and inherits
  // its count as the bound on how much it may be overcounted. The first
  // smallest entry is chosen so the result depends only on the input order.
  Entry* victim = &entries_[0];
  for (Entry& e : entries_) {
    if (e.count < victim->count) victim = &e;
  }
  garbage_ += victim->size;
  victim->size = 0;
  Store(*victim, value);
  victim->hash = h;
  victim->error = victim->count;
  victim->count = plus(victim->count);
}

void TopK::Clear() {
  entries_.clear();
  chars_.clear();
  garbage_ = 0;
}

void TopK::Store(Entry& e, std::string_view value) {
  constexpr uint32_t kMinGarbage = 256;
  if (garbage_ > kMinGarbage && garbage_ > chars_.size() - garbage_) {
    // Keep only the live values, in entry order.
    std::string live;
    live.reserve(chars_.size() - garbage_ + value.size());
    for (Entry& x : entries_) {
      if (&x == &e) continue;
      const uint32_t at = static_cast<uint32_t>(live.size());
      live.append(chars_, x.offset, x.size);
      x.offset = at;
    }
    chars_.swap(live);
    garbage_ = 0;
  }
  const size_t needed = chars_.size() + value.size();
  if (needed > chars_.capacity()) {
    chars_.reserve(std::max<size_t>({64, needed, 2 * chars_.capacity()}));
  }
  e.offset = static_cast<uint32_t>(chars_.size());
  e.size = static_cast<uint32_t>(value.size());
  chars_.append(value);
}

uint32_t TopK::min_count() const {
  uint32_t m = 0;
  bool first = true;
  for (const Entry& e : entries_) {
    if (first || e.count < m) m = e.count;
    first = false;
  }
  return m;
}

std::vector<Tally> TopK::Top(int n) const {
  const TopK* self = this;
  return MergeTop(std::span<const TopK* const>(&self, 1), n);
}

std::vector<Tally> MergeTop(std::span<const TopK* const> parts, int n) {
  struct Acc {
    int64_t count = 0;
    int64_t error = 0;
    int64_t full_min_present = 0;
  };
  std::map<std::string_view, Acc> acc;
  int64_t full_min_total = 0;
  for (const TopK* p : parts) {
    if (p == nullptr) continue;
    const int64_t full_min = p->full() ? p->min_count() : 0;
    full_min_total += full_min;
    for (const TopK::Entry& e : p->entries()) {
      Acc& a = acc[p->value(e)];
      a.count += e.count;
      a.error += e.error;
      a.full_min_present += full_min;
    }
  }
  std::vector<Tally> out;
  out.reserve(acc.size());
  for (const auto& [value, a] : acc) {
    // A full part that does not hold the value may still have seen it up to
    // its smallest count: add that to both the bound and its error.
    const int64_t unseen = full_min_total - a.full_min_present;
    out.push_back(
        Tally{std::string(value), a.count + unseen, a.error + unseen});
  }
  std::sort(out.begin(), out.end(), TallyBefore);
  if (n < 0) n = 0;
  if (out.size() > static_cast<size_t>(n)) out.resize(n);
  return out;
}

void TopK::Save(SnapshotWriter& w) const {
  w.U64(entries_.size());
  for (const Entry& e : entries_) {
    w.Str(value(e));
    w.U32(e.count);
    w.U32(e.error);
  }
}

void TopK::Restore(SnapshotReader& r) {
  entries_.clear();
  chars_.clear();
  garbage_ = 0;
  const size_t n = r.Count(3);
  if (n > capacity_) {
    r.Fail("top-k holds more entries than its capacity");
    return;
  }
  entries_.reserve(n);
  for (size_t i = 0; i < n && r.ok(); ++i) {
    const std::string_view v = r.StrView();
    Entry& e = entries_.emplace_back();
    e.hash = HashOf(v);
    e.count = r.U32();
    e.error = r.U32();
    Store(e, v);
  }
}

void BucketEvidence::Save(SnapshotWriter& w) const {
  accounts_.Save(w);
  urls_.Save(w);
  hashtags_.Save(w);
  w.U64(samples_.size());
  for (const StoredSample& s : samples_) {
    w.Str(s.id());
    w.Str(s.account());
    w.Time(s.created_at);
    w.Str(s.source);
    w.I32(s.partition);
    w.I64(s.position);
  }
  reach_.Save(w);
}

void BucketEvidence::Restore(SnapshotReader& r) {
  accounts_.Restore(r);
  urls_.Restore(r);
  hashtags_.Restore(r);
  samples_.clear();
  const size_t n = r.Count(6);
  if (n > max_samples_) {
    r.Fail("more samples than max_samples");
    return;
  }
  samples_.reserve(n);
  for (size_t i = 0; i < n && r.ok(); ++i) {
    const std::string_view id = r.StrView();
    const std::string_view account = r.StrView();
    const absl::Time t = r.Time();
    const std::string_view source = InternSourceName(r.StrView());
    const int32_t partition = r.I32();
    const int64_t position = r.I64();
    samples_.emplace_back(id, account, t, source, partition, position);
  }
  // Format 1 snapshots have no reach: the bucket restores with none.
  reach_ = ReachSketch();
  if (r.format_version() >= 2) reach_.Restore(r);
}

BucketEvidence::BucketEvidence(const EvidenceLimits& limits)
    : accounts_(std::max(limits.top_capacity, 1)),
      urls_(std::max(limits.top_capacity, 1)),
      hashtags_(std::max(limits.top_capacity, 1)),
      max_samples_(static_cast<uint32_t>(std::max(limits.max_samples, 0))) {}

void ReachSketch::Insert(std::vector<Account>& sample, Account a) {
  constexpr size_t kKeep = kExactAccounts + 1;
  if (sample.size() == kKeep && a.hash > sample.back().hash) return;
  auto it =
      std::lower_bound(sample.begin(), sample.end(), a.hash,
                       [](const Account& x, uint64_t h) { return x.hash < h; });
  if (it != sample.end() && it->hash == a.hash) {
    it->followers = std::max(it->followers, a.followers);
    return;
  }
  const size_t at = static_cast<size_t>(it - sample.begin());
  if (sample.size() == sample.capacity()) {
    // A few, then all: most buckets hold a handful of accounts.
    sample.reserve(sample.empty() ? 4 : kKeep);
  }
  sample.insert(sample.begin() + at, a);
  if (sample.size() > kKeep) sample.pop_back();
}

void ReachSketch::Clear() {
  sample_.clear();
  posts_without_followers_ = 0;
  reposts_ = 0;
  reported_reposts_ = 0;
  ads_with_impressions_ = 0;
  ads_without_impressions_ = 0;
  impressions_lower_ = 0;
  impressions_upper_ = 0;
}

void ReachSketch::Add(const Event& event) {
  if (event.is_ad()) {
    if (event.impressions.known()) {
      ++ads_with_impressions_;
      impressions_lower_ += event.impressions.lower;
      impressions_upper_ += event.impressions.upper;
    } else {
      ++ads_without_impressions_;
    }
    return;
  }
  if (!event.repost_of.empty()) ++reposts_;
  if (event.reposts > 0) reported_reposts_ += event.reposts;
  if (event.followers < 0 || event.account_id.empty()) {
    ++posts_without_followers_;
    return;
  }
  Insert(sample_, Account{StableHash64(event.account_id), event.followers});
}

Reach MergeReach(std::span<const ReachSketch* const> parts) {
  Reach r;
  std::vector<ReachSketch::Account> sample;
  for (const ReachSketch* p : parts) {
    if (p == nullptr) continue;
    for (const ReachSketch::Account& a : p->sample_) {
      ReachSketch::Insert(sample, a);
    }
    r.posts_without_followers += p->posts_without_followers_;
    r.reposts += p->reposts_;
    r.reported_reposts += p->reported_reposts_;
    r.ads_with_impressions += p->ads_with_impressions_;
    r.ads_without_impressions += p->ads_without_impressions_;
    r.impressions_lower += p->impressions_lower_;
    r.impressions_upper += p->impressions_upper_;
  }
  constexpr size_t k = ReachSketch::kExactAccounts;
  double followers = 0;
  for (size_t i = 0; i < sample.size() && i < k; ++i) {
    followers += static_cast<double>(sample[i].followers);
  }
  if (sample.size() <= k) {
    r.accounts = static_cast<int64_t>(sample.size());
    r.followers = static_cast<int64_t>(followers);
  } else {
    // The k smallest of the distinct hashes, each in the sample with
    // probability tau, the (k+1)-th smallest as a fraction of 2^64.
    const double tau = (static_cast<double>(sample[k].hash) + 1) / 0x1p64;
    r.accounts = std::llround(static_cast<double>(k) / tau);
    r.followers = std::llround(followers / tau);
    r.estimated = true;
  }
  return r;
}

void ReachSketch::Save(SnapshotWriter& w) const {
  w.U64(sample_.size());
  for (const Account& a : sample_) {
    w.Fixed64(a.hash);
    w.I64(a.followers);
  }
  w.I64(posts_without_followers_);
  w.I64(reposts_);
  w.I64(reported_reposts_);
  w.I64(ads_with_impressions_);
  w.I64(ads_without_impressions_);
  w.F64(impressions_lower_);
  w.F64(impressions_upper_);
}

void ReachSketch::Restore(SnapshotReader& r) {
  sample_.clear();
  const size_t n = r.Count(9);
  if (n > static_cast<size_t>(kExactAccounts) + 1) {
    r.Fail("more reach accounts than the sketch keeps");
    return;
  }
  sample_.reserve(n);
  for (size_t i = 0; i < n && r.ok(); ++i) {
    Account a;
    a.hash = r.Fixed64();
    a.followers = r.I64();
    if (a.followers < 0 ||
        (!sample_.empty() && a.hash <= sample_.back().hash)) {
      r.Fail("reach accounts out of order or negative");
      return;
    }
    sample_.push_back(a);
  }
  posts_without_followers_ = r.I64();
  reposts_ = r.I64();
  reported_reposts_ = r.I64();
  ads_with_impressions_ = r.I64();
  ads_without_impressions_ = r.I64();
  impressions_lower_ = r.F64();
  impressions_upper_ = r.F64();
}

void BucketEvidence::Clear() {
  accounts_.Clear();
  urls_.Clear();
  hashtags_.Clear();
  samples_.clear();
  reach_.Clear();
}

void BucketEvidence::Add(const Event& event) {
  reach_.Add(event);
  const std::string_view account =
      event.is_post() ? event.account_id : event.page_id;
  if (!account.empty()) accounts_.Add(account);
  for (std::string_view u : event.urls) urls_.Add(u);
  for (std::string_view h : event.hashtags) hashtags_.Add(h);
  if (samples_.size() < max_samples_) {
    // Grown in two steps (a few, then all) instead of doubling from one.
    if (samples_.size() == samples_.capacity()) {
      samples_.reserve(samples_.empty() ? std::min<uint32_t>(4, max_samples_)
                                        : max_samples_);
    }
    samples_.emplace_back(event.id, account, event.created_at,
                          event.source.source, event.source.partition,
                          event.source.position);
  }
}

Evidence MergeEvidence(std::span<const BucketEvidence* const> buckets,
                       int top_n, int max_samples) {
  std::vector<const TopK*> accounts, urls, hashtags;
  std::vector<const StoredSample*> samples;
  for (const BucketEvidence* b : buckets) {
    if (b == nullptr) continue;
    accounts.push_back(&b->accounts());
    urls.push_back(&b->urls());
    hashtags.push_back(&b->hashtags());
    for (const StoredSample& s : b->samples()) samples.push_back(&s);
  }
  Evidence ev;
  std::vector<const ReachSketch*> reach;
  for (const BucketEvidence* b : buckets) {
    if (b != nullptr) reach.push_back(&b->reach());
  }
  ev.reach = MergeReach(reach);
  ev.top_accounts = MergeTop(accounts, top_n);
  ev.top_urls = MergeTop(urls, top_n);
  ev.top_hashtags = MergeTop(hashtags, top_n);

  // Samples from the accounts that drive the window say most; among equals
  // the earliest come first.
  std::map<std::string_view, size_t> rank;
  for (size_t i = 0; i < ev.top_accounts.size(); ++i) {
    rank.emplace(ev.top_accounts[i].value, i);
  }
  auto rank_of = [&](const StoredSample* s) {
    auto it = rank.find(s->account());
    return it == rank.end() ? rank.size() : it->second;
  };
  auto key = [](const StoredSample* s) {
    return std::make_tuple(s->created_at, s->id(), s->source, s->partition,
                           s->position);
  };
  std::sort(samples.begin(), samples.end(),
            [&](const StoredSample* a, const StoredSample* b) {
              const size_t ra = rank_of(a), rb = rank_of(b);
              if (ra != rb) return ra < rb;
              return key(a) < key(b);
            });
  if (max_samples < 0) max_samples = 0;
  if (samples.size() > static_cast<size_t>(max_samples)) {
    samples.resize(max_samples);
  }
  std::sort(samples.begin(), samples.end(),
            [&](const StoredSample* a, const StoredSample* b) {
              return key(a) < key(b);
            });
  for (const StoredSample* s : samples) {
    ev.samples.push_back(SampleEvent{
        std::string(s->id()), std::string(s->account()), s->created_at,
        std::string(s->source), s->partition, s->position, std::string()});
  }
  return ev;
}

}  // namespace vigia
