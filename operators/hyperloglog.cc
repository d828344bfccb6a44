#include "operators/hyperloglog.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstring>

#include "operators/snapshot.h"

namespace vigia {

void HyperLogLog::Save(SnapshotWriter& w) const {
  w.U32(static_cast<uint32_t>(precision_));
  w.Str(std::string_view(reinterpret_cast<const char*>(registers_.data()),
                         registers_.size()));
}

void HyperLogLog::Restore(SnapshotReader& r) {
  const uint32_t p = r.U32();
  const std::string_view regs = r.StrView();
  if (!r.ok()) return;
  if (static_cast<int>(p) != precision_) {
    r.Fail("hyperloglog precision differs from the configured one");
    return;
  }
  if (!regs.empty() && regs.size() != (size_t{1} << precision_)) {
    r.Fail("hyperloglog register count does not match its precision");
    return;
  }
  registers_.assign(regs.begin(), regs.end());
}
namespace {

constexpr uint64_t kMul1 = 0x87c37b91114253d5ULL;
constexpr uint64_t kMul2 = 0x4cf5ad432745937fULL;

// The MurmurHash3 finaliser: every input bit affects every output bit, which
// HyperLogLog needs (it reads the top bits and the leading zeros).
uint64_t Mix(uint64_t h) {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return h;
}

// Reads 8 bytes as a little-endian number whatever the host's byte order,
// so that hashes match across platforms.
uint64_t Load64(const unsigned char* p) {
  uint64_t v;
  std::memcpy(&v, p, sizeof(v));
  if constexpr (std::endian::native == std::endian::big) {
    v = ((v & 0x00000000000000ffULL) << 56) |
        ((v & 0x000000000000ff00ULL) << 40) |
        ((v & 0x0000000000ff0000ULL) << 24) |
        ((v & 0x00000000ff000000ULL) << 8) |
        ((v & 0x000000ff00000000ULL) >> 8) |
        ((v & 0x0000ff0000000000ULL) >> 24) |
        ((v & 0x00ff000000000000ULL) >> 40) |
        ((v & 0xff00000000000000ULL) >> 56);
  }
  return v;
}

}  // namespace

uint64_t StableHash64(std::string_view data, uint64_t seed) {
  const auto* p = reinterpret_cast<const unsigned char*>(data.data());
  const size_t n = data.size();
  uint64_t h = (seed + 0x2545f4914f6cdd1dULL) ^
               (static_cast<uint64_t>(n) * 0x9e3779b97f4a7c15ULL);
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    uint64_t k = Load64(p + i) * kMul1;
    k = std::rotl(k, 31) * kMul2;
    h ^= k;
    h = std::rotl(h, 27) * 5 + 0x52dce729;
  }
  uint64_t tail = 0;
  if (n % 8 != 0 && n >= 8) {
    // The last eight bytes, shifted down to the ones not yet hashed: the
    // same number as the byte loop below, in one load instead of up to
    // seven (texts and URLs are hashed whole on every post).
    tail = Load64(p + n - 8) >> (8 * (8 - n % 8));
  } else {
    for (size_t j = 0; i + j < n; ++j) {
      tail |= static_cast<uint64_t>(p[i + j]) << (8 * j);
    }
  }
  if (n % 8 != 0) {
    tail *= kMul1;
    tail = std::rotl(tail, 31) * kMul2;
    h ^= tail;
  }
  return Mix(h);
}

HyperLogLog::HyperLogLog(int precision)
    : precision_(std::clamp(precision, kMinPrecision, kMaxPrecision)) {}

void HyperLogLog::AddHash(uint64_t hash) {
  if (registers_.empty()) registers_.assign(size_t{1} << precision_, 0);
  const size_t index = static_cast<size_t>(hash >> (64 - precision_));
  // The rank is the position of the first 1 bit in the remaining bits; the
  // sentinel bit caps it when they are all zero.
  const uint64_t rest =
      (hash << precision_) | (uint64_t{1} << (precision_ - 1));
  const uint8_t rank = static_cast<uint8_t>(std::countl_zero(rest) + 1);
  registers_[index] = std::max(registers_[index], rank);
}

void HyperLogLog::Merge(const HyperLogLog& other) {
  if (other.registers_.empty() || other.precision_ != precision_) return;
  if (registers_.empty()) {
    registers_ = other.registers_;
    return;
  }
  for (size_t i = 0; i < registers_.size(); ++i) {
    registers_[i] = std::max(registers_[i], other.registers_[i]);
  }
}

double HyperLogLog::Estimate() const {
  if (registers_.empty()) return 0;
  const double m = static_cast<double>(registers_.size());
  double alpha;
  switch (precision_) {
    case 4:
      alpha = 0.673;
      break;
    case 5:
      alpha = 0.697;
      break;
    case 6:
      alpha = 0.709;
      break;
    default:
      alpha = 0.7213 / (1 + 1.079 / m);
  }
  double sum = 0;
  int zeros = 0;
  for (uint8_t r : registers_) {
    sum += std::ldexp(1.0, -r);
    if (r == 0) ++zeros;
  }
  const double raw = alpha * m * m / sum;
  // Small cardinalities: linear counting over the empty registers is far
  // more accurate than the raw estimate's bias allows. With a 64-bit hash
  // there is no large-range correction to make.
  if (raw <= 2.5 * m && zeros > 0) return m * std::log(m / zeros);
  return raw;
}

double HyperLogLog::StandardError() const {
  return 1.04 / std::sqrt(static_cast<double>(size_t{1} << precision_));
}

}  // namespace vigia
