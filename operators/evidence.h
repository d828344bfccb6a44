// Evidence sketches: what detectors keep per hop bucket so that an alert can
// name the accounts, URLs and hashtags behind a window and quote sample
// events with the coordinates of their original bytes.
//
// - TopK is a Space-Saving heavy-hitters counter of bounded capacity: every
//   value seen more than total/capacity times is kept, and each kept count
//   is an upper bound whose overcount is at most its `error`.
// - BucketEvidence holds three TopKs (accounts, URLs, hashtags) and the first
//   `max_samples` events of one hop bucket, copied out of the Event (whose
//   views die after Observe). Its memory is bounded by the capacities, not by
//   the traffic: a hot key cannot grow it.
// - MergeEvidence combines the buckets of a window into Evidence, with
//   counts that stay upper bounds and errors that bound the overcount.
//
// Output is deterministic: ties are broken by value, never by hash order.
// Values of one thread; not thread-safe.
#ifndef VIGIA_OPERATORS_EVIDENCE_H_
#define VIGIA_OPERATORS_EVIDENCE_H_

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "pipeline/core/alert.h"
#include "pipeline/core/event.h"

namespace vigia {
class SnapshotWriter;
class SnapshotReader;
}  // namespace vigia

namespace vigia {

class TopK {
 public:
  // A kept value and its counts; the value's bytes are in the sketch (see
  // value()).
  struct Entry {
    uint64_t hash = 0;
    uint32_t offset = 0;  // the value's bytes: chars_[offset, offset + size)
    uint32_t size = 0;
    uint32_t count = 0;  // upper bound of the true count
    uint32_t error = 0;  // count - error <= true count
  };

  // REQUIRES: capacity >= 1.
  explicit TopK(int capacity) : capacity_(static_cast<uint32_t>(capacity)) {}

  // Counts one occurrence of `value` (copied when it enters the sketch).
  void Add(std::string_view value);
  // Counts `weight` (e.g. an ad's spend) for `value`: the weighted
  // Space-Saving variant, with the same bounds on counts and errors.
  void Add(std::string_view value, uint32_t weight);
  // Empties the sketch as if newly built with the same capacity, keeping its
  // allocations (for a bucket that is recycled).
  void Clear();

  int capacity() const { return static_cast<int>(capacity_); }
  bool full() const { return entries_.size() >= capacity_; }
  // The smallest kept count; an absent value was seen at most this often
  // when the sketch is full (never when it is not).
  uint32_t min_count() const;
  // Kept entries, in no particular order.
  const std::vector<Entry>& entries() const { return entries_; }
  // The value of one of entries(); valid until the next Add().
  std::string_view value(const Entry& e) const {
    return std::string_view(chars_.data() + e.offset, e.size);
  }
  // Up to `n` entries, highest count first, ties by value.
  std::vector<Tally> Top(int n) const;

  // Snapshots (operators/snapshot.h): the entries in order (which entry a
  // newcomer replaces depends on it) with their values and counts.
  // Restore() replaces the contents; more entries than the capacity fail.
  void Save(SnapshotWriter& w) const;
  void Restore(SnapshotReader& r);

 private:
  // Stores `value`'s bytes for entry `e` (new, or taking over a victim's
  // place), compacting chars_ when replaced values' bytes outweigh the
  // live ones.
  void Store(Entry& e, std::string_view value);

  std::vector<Entry> entries_;
  // Every entry's value, back to back, in one allocation rather than one
  // string each: buckets are created and dropped at the rate of events.
  // Bytes of values replaced by Space-Saving stay until compaction, so the
  // size stays below twice the live bytes plus a constant.
  std::string chars_;
  uint32_t garbage_ = 0;  // bytes of chars_ no entry refers to
  uint32_t capacity_;
};

// The reach of a bucket's events (Reach in pipeline/core/alert.h): the
// followers of the distinct posting accounts, reposts, and ads' impression
// ranges. Distinct accounts are a bottom-k sample: the kExactAccounts + 1
// smallest StableHash64s of the account ids that report followers, each
// with the account's largest count. Up to kExactAccounts accounts the sums
// are exact; beyond, the standard bottom-k estimate (the sampled sum over
// the (k+1)-th smallest hash as a fraction of the hash space) is unbiased
// with a relative error of about 1/sqrt(k), 12%. Sketches of disjoint or
// overlapping parts merge exactly (an account in two buckets counts once),
// so a window's reach is that of its buckets. At most 1 KiB per bucket.
class ReachSketch {
 public:
  static constexpr int kExactAccounts = 64;

  void Add(const Event& event);
  // Empties the sketch as if newly built, keeping its allocation.
  void Clear();

  // Snapshots: the sample and the counters.
  void Save(SnapshotWriter& w) const;
  void Restore(SnapshotReader& r);

 private:
  friend Reach MergeReach(std::span<const ReachSketch* const> parts);
  struct Account {
    uint64_t hash = 0;
    int64_t followers = 0;
  };
  // Keeps the kExactAccounts + 1 smallest hashes, by hash; an account seen
  // again keeps its largest count.
  static void Insert(std::vector<Account>& sample, Account a);

  std::vector<Account> sample_;
  int64_t posts_without_followers_ = 0;
  int64_t reposts_ = 0;
  int64_t reported_reposts_ = 0;
  int64_t ads_with_impressions_ = 0;
  int64_t ads_without_impressions_ = 0;
  double impressions_lower_ = 0;
  double impressions_upper_ = 0;
};

// The reach of the union of `parts` (null entries skipped).
Reach MergeReach(std::span<const ReachSketch* const> parts);

// Bounds of what one bucket keeps.
struct EvidenceLimits {
  int top_capacity = 20;  // entries per TopK
  int max_samples = 10;   // sample events per bucket
};

// A sample event as kept in a bucket; `source` views the reader's string,
// which outlives the pipeline (see SourceRef). The id and account share one
// allocation: buckets take samples at the rate of events.
class StoredSample {
 public:
  StoredSample(std::string_view id, std::string_view account,
               absl::Time created_at, std::string_view source,
               int32_t partition, int64_t position)
      : created_at(created_at),
        source(source),
        partition(partition),
        position(position),
        id_size_(static_cast<uint32_t>(id.size())) {
    bytes_.reserve(id.size() + account.size());
    bytes_.append(id);
    bytes_.append(account);
  }

  std::string_view id() const {
    return std::string_view(bytes_).substr(0, id_size_);
  }
  std::string_view account() const {
    return std::string_view(bytes_).substr(id_size_);
  }

  absl::Time created_at;
  std::string_view source;
  int32_t partition = -1;
  int64_t position = 0;

 private:
  std::string bytes_;  // the id, then the account
  uint32_t id_size_ = 0;
};

class BucketEvidence {
 public:
  explicit BucketEvidence(const EvidenceLimits& limits);

  // Adds the event's account (page for an ad), URLs and hashtags, and keeps
  // it as a sample while there is room.
  void Add(const Event& event);
  // Empties the bucket as if newly built with the same limits, keeping the
  // sketches' allocations: detectors recycle the buckets their windows drop
  // (a bucket's first events otherwise cost a dozen allocations, and its
  // drop as many frees, at the rate hops and keys come and go).
  void Clear();

  const TopK& accounts() const { return accounts_; }
  const TopK& urls() const { return urls_; }
  const TopK& hashtags() const { return hashtags_; }
  const std::vector<StoredSample>& samples() const { return samples_; }
  const ReachSketch& reach() const { return reach_; }

  // Snapshots: the three sketches, the samples (their sources by name;
  // restored ones view InternSourceName's copies) and, from snapshot format
  // 2, the reach.
  void Save(SnapshotWriter& w) const;
  void Restore(SnapshotReader& r);

 private:
  TopK accounts_;
  TopK urls_;
  TopK hashtags_;
  std::vector<StoredSample> samples_;
  ReachSketch reach_;
  uint32_t max_samples_;
};

// Merges TopKs of disjoint parts of a stream (e.g. the buckets of a window)
// and returns the top `n`: count is the sum of the per-part upper bounds
// (the part's min_count where a full part does not hold the value), error
// the matching sum of overcount bounds. Highest count first, ties by value.
std::vector<Tally> MergeTop(std::span<const TopK* const> parts, int n);

// Builds the evidence of a window from its buckets (null entries skipped):
// top `top_n` accounts, URLs and hashtags, up to `max_samples` samples,
// preferring events of the top accounts, listed by time then id, and the
// window's reach. Leaves Evidence::baseline empty.
Evidence MergeEvidence(std::span<const BucketEvidence* const> buckets,
                       int top_n, int max_samples);

}  // namespace vigia

#endif  // VIGIA_OPERATORS_EVIDENCE_H_
