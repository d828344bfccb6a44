// HyperLogLog distinct counting for evidence: how many different accounts
// (URLs, hashtags, ...) a window held, in a fixed amount of memory whatever
// the traffic. Detectors keep one sketch per hop bucket and merge the
// window's sketches when an alert needs the number.
//
// Error bounds: with 2^p registers the estimate's relative standard error is
// about 1.04 / sqrt(2^p) (3.25% at the default p = 10, 1 KiB): in about 95%
// of cases the estimate is within two standard errors of the truth. Below
// about 2.5 * 2^p distinct values the sketch switches to linear counting,
// which is nearly exact for small counts: values are only lost when two share
// a register (a dozen accounts reads 12, or 11 about one time in sixteen).
// The hash is StableHash64, so estimates are identical on every run and
// platform (alerts stay byte-identical).
//
// A plain value owned by its bucket; not thread-safe. An empty sketch
// allocates nothing.
#ifndef VIGIA_OPERATORS_HYPERLOGLOG_H_
#define VIGIA_OPERATORS_HYPERLOGLOG_H_

#include <cstdint>
#include <string_view>
#include <vector>

namespace vigia {

class SnapshotWriter;
class SnapshotReader;

// A 64-bit hash of `data` that depends only on the bytes (not on the
// process, the platform's endianness or a random seed), for sketches and
// fingerprints whose values end up in alerts. Not cryptographic.
uint64_t StableHash64(std::string_view data, uint64_t seed = 0);

class HyperLogLog {
 public:
  static constexpr int kMinPrecision = 4;
  static constexpr int kMaxPrecision = 16;
  static constexpr int kDefaultPrecision = 10;

  // A sketch of 2^precision one-byte registers.
  // REQUIRES: kMinPrecision <= precision <= kMaxPrecision.
  explicit HyperLogLog(int precision = kDefaultPrecision);

  int precision() const { return precision_; }
  bool empty() const { return registers_.empty(); }
  // Bytes held by the registers (0 until the first Add).
  size_t memory() const { return registers_.size(); }

  // Counts a value given by its hash (use StableHash64 for strings).
  void AddHash(uint64_t hash);
  void Add(std::string_view value) { AddHash(StableHash64(value)); }

  // Folds `other` in: the result estimates the distinct values of the union.
  // REQUIRES: same precision.
  void Merge(const HyperLogLog& other);

  // The estimated number of distinct values added (0 for an empty sketch).
  double Estimate() const;

  // The relative standard error of Estimate(): 1.04 / sqrt(2^precision).
  double StandardError() const;

  // Snapshots (operators/snapshot.h): precision and registers (none while
  // empty). Restore() fails on a precision other than this sketch's.
  void Save(SnapshotWriter& w) const;
  void Restore(SnapshotReader& r);

 private:
  std::vector<uint8_t> registers_;
  int precision_;
};

}  // namespace vigia

#endif  // VIGIA_OPERATORS_HYPERLOGLOG_H_
