#include "operators/evidence.h"

#include <algorithm>
#include <functional>
#include <map>
#include <tuple>

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
    if (e.hash == h && e.value == value) {
      e.count = plus(e.count);
      return;
    }
  }
  if (!full()) {
    entries_.push_back(Entry{std::string(value), h, weight, 0});
    return;
  }
  // Space-Saving: the newcomer takes over the smallest entry and inherits
  // its count as the bound on how much it may be overcounted. The first
  // smallest entry is chosen so the result depends only on the input order.
  Entry* victim = &entries_[0];
  for (Entry& e : entries_) {
    if (e.count < victim->count) victim = &e;
  }
  victim->value.assign(value.data(), value.size());
  victim->hash = h;
  victim->error = victim->count;
  victim->count = plus(victim->count);
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
      Acc& a = acc[e.value];
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

BucketEvidence::BucketEvidence(const EvidenceLimits& limits)
    : accounts_(std::max(limits.top_capacity, 1)),
      urls_(std::max(limits.top_capacity, 1)),
      hashtags_(std::max(limits.top_capacity, 1)),
      max_samples_(static_cast<uint32_t>(std::max(limits.max_samples, 0))) {}

void BucketEvidence::Add(const Event& event) {
  const std::string_view account =
      event.is_post() ? event.account_id : event.page_id;
  if (!account.empty()) accounts_.Add(account);
  for (std::string_view u : event.urls) urls_.Add(u);
  for (std::string_view h : event.hashtags) hashtags_.Add(h);
  if (samples_.size() < max_samples_) {
    samples_.push_back(StoredSample{
        std::string(event.id), std::string(account), event.created_at,
        event.source.source, event.source.partition, event.source.position});
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
    auto it = rank.find(s->account);
    return it == rank.end() ? rank.size() : it->second;
  };
  auto key = [](const StoredSample* s) {
    return std::tie(s->created_at, s->id, s->source, s->partition, s->position);
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
    ev.samples.push_back(SampleEvent{s->id, s->account, s->created_at,
                                     std::string(s->source), s->partition,
                                     s->position, std::string()});
  }
  return ev;
}

}  // namespace vigia
