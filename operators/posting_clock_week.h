// posting_clock_week: the hour-of-week histograms of posting_clock, in a
// header of their own so that their tests can compare them.
//
// - WeekHistogram<T> holds the 168 hourly counts of the week ending at its
//   latest hour; posting_clock keeps one per target (population, domestic).
// - AccountWeek holds the same counts as WeekHistogram<uint8_t> for one
//   account in 28 bytes while the account posted in few distinct hours, and
//   moves to the 168 bins on the heap beyond that.
//
// Internal to posting_clock; values of one thread, not thread-safe.
#ifndef VIGIA_OPERATORS_POSTING_CLOCK_WEEK_H_
#define VIGIA_OPERATORS_POSTING_CLOCK_WEEK_H_

#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string_view>

#include "operators/operator_util.h"
#include "operators/snapshot.h"

namespace vigia {
namespace posting_clock_internal {

inline constexpr int64_t kNever = std::numeric_limits<int64_t>::min() / 2;
inline constexpr int kWeekHours = 168;
// 1970-01-01 was a Thursday: hour 0 of the epoch is hour 72 of its week
// (weeks start on Monday 00:00).
inline constexpr int kEpochHourOfWeek = 72;

inline int FloorMod(int64_t a, int b) {
  return static_cast<int>(a - FloorDiv(a, b) * b);
}

// The bin of absolute hour `hour` (hours since the epoch).
inline int BinOf(int64_t hour) {
  return FloorMod(hour + kEpochHourOfWeek, kWeekHours);
}

// A week of hourly counts ending at `last` (an absolute hour): bin
// BinOf(h) holds hour h for h in (last - 168, last].
template <typename T>
struct WeekHistogram {
  std::array<T, kWeekHours> bins = {};
  int64_t last = kNever;
  int64_t total = 0;  // the sum of the bins

  // Moves the end of the week to `hour`, clearing the hours that left it.
  void AdvanceTo(int64_t hour) {
    if (hour <= last) return;
    if (last == kNever || hour - last >= kWeekHours) {
      bins.fill(0);
      total = 0;
    } else {
      for (int64_t h = last + 1; h <= hour; ++h) {
        T& b = bins[BinOf(h)];
        total -= b;
        b = 0;
      }
    }
    last = hour;
  }
  // Counts one post in hour `hour`; false when it is older than the week.
  bool Add(int64_t hour) {
    AdvanceTo(hour);
    if (hour <= last - kWeekHours) return false;
    T& b = bins[BinOf(hour)];
    if (b < std::numeric_limits<T>::max()) {
      ++b;
      ++total;
    }
    return true;
  }
  // Total() as of the latest hour added, which may still hold hours that
  // have since left the week: an upper bound until AdvanceTo(now).
  int64_t Total() const { return total; }

  // Snapshots (operators/snapshot.h): the end hour and the bins.
  void Save(SnapshotWriter& w) const {
    w.I64(last);
    for (T b : bins) w.U64(b);
  }
  void Restore(SnapshotReader& r) {
    last = r.I64();
    total = 0;
    for (T& b : bins) {
      const uint64_t v = r.U64();
      if (v > std::numeric_limits<T>::max()) r.Fail("bin count out of range");
      b = static_cast<T>(v);
      total += b;
    }
  }
};

// An account's week: the same counts and semantics as WeekHistogram<uint8_t>
// (saturating one-byte counts, the same Total() upper bound), stored as up
// to kInlineHours (bin, count) pairs while the account posted in few
// distinct hours of the week, and as the 168 bins on the heap beyond that.
// Most tracked accounts post a handful of times, so most never allocate:
// the inline form is 28 bytes against 184. An inline pair names its hour
// by its bin of the week: every hour held lies in (last - 168, last], where
// bin and hour determine each other. `last` is an absolute hour since the
// epoch; int32 holds every hour of years 0000-9999.
//
// 28 bytes, 4-aligned, so that posting_clock's account record packs with no
// padding: the pairs in use are those with a non-zero count (a prefix), the
// total is the sum of the counts (both were fields, 3 bytes that padded to
// 8), and the pointer to the 168 bins is kept in unaligned bytes.
class AccountWeek {
 public:
  static constexpr int kInlineHours = 8;
  static constexpr int32_t kNoHour = std::numeric_limits<int32_t>::min();
  using Dense = std::array<uint8_t, kWeekHours>;

  AccountWeek() = default;
  ~AccountWeek() { delete dense(); }
  AccountWeek(AccountWeek&& o) noexcept { Take(o); }
  AccountWeek& operator=(AccountWeek&& o) noexcept {
    if (this != &o) {
      delete dense();
      Take(o);
    }
    return *this;
  }
  AccountWeek(const AccountWeek&) = delete;
  AccountWeek& operator=(const AccountWeek&) = delete;

  void Clear() { *this = AccountWeek(); }

  // As WeekHistogram::AdvanceTo.
  void AdvanceTo(int64_t hour) {
    if (last_ != kNoHour && hour <= last_) return;
    Dense* const d = dense();
    if (last_ == kNoHour || hour - last_ >= kWeekHours) {
      if (d != nullptr) d->fill(0);
      counts_.fill(0);
    } else if (d != nullptr) {
      for (int64_t h = last_ + 1; h <= hour; ++h) (*d)[BinOf(h)] = 0;
    } else {
      // The hours h in (last, hour] clear bin BinOf(e) of a held hour e
      // exactly when e + 168 <= hour.
      const int last_bin = BinOf(last_);
      const int n = pairs();
      int kept = 0;
      for (int i = 0; i < n; ++i) {
        const int64_t e = last_ - FloorMod(last_bin - bins_[i], kWeekHours);
        if (e > hour - kWeekHours) {
          bins_[kept] = bins_[i];
          counts_[kept] = counts_[i];
          ++kept;
        }
      }
      for (int i = kept; i < n; ++i) counts_[i] = 0;
    }
    last_ = static_cast<int32_t>(hour);
  }

  // As WeekHistogram::Add.
  bool Add(int64_t hour) {
    AdvanceTo(hour);
    if (hour <= static_cast<int64_t>(last_) - kWeekHours) return false;
    const int bin = BinOf(hour);
    uint8_t* count = nullptr;
    if (Dense* const d = dense(); d != nullptr) {
      count = &(*d)[bin];
    } else {
      const int n = pairs();
      for (int i = 0; i < n; ++i) {
        if (bins_[i] == bin) count = &counts_[i];
      }
      if (count == nullptr && n < kInlineHours) {
        bins_[n] = static_cast<uint8_t>(bin);
        count = &counts_[n];  // 0: a pair in use from the increment below
      }
      if (count == nullptr) {
        // One distinct hour more than the pairs hold: move to the full week.
        auto full = std::make_unique<Dense>();
        Bins(full.get());  // from the inline pairs: still not dense
        counts_.fill(0);
        set_dense(full.release());
        count = &(*dense())[bin];
      }
    }
    if (*count < std::numeric_limits<uint8_t>::max()) ++*count;
    return true;
  }

  // The sum of the counts (what a running total would hold).
  int64_t Total() const {
    int64_t total = 0;
    if (const Dense* const d = dense(); d != nullptr) {
      for (uint8_t b : *d) total += b;
    } else {
      // The eight counts summed in a word: bytes into 16-bit lanes (at
      // most 510 each), then the lanes (at most 2040). posting_clock asks
      // every account's total at every evaluation.
      const uint64_t x = CountsWord();
      const uint64_t lanes =
          (x & 0x00ff00ff00ff00ffu) + ((x >> 8) & 0x00ff00ff00ff00ffu);
      total = static_cast<int64_t>((lanes * 0x0001000100010001u) >> 48);
    }
    return total;
  }
  // True once the week moved to the 168 bins on the heap.
  bool is_dense() const { return dense() != nullptr; }

  // Snapshots (operators/snapshot.h): the end hour and the counts, in the
  // form (inline pairs or the 168 bins) they are held in.
  void Save(SnapshotWriter& w) const {
    w.I32(last_);
    w.U32(static_cast<uint32_t>(Total()));
    const Dense* const d = dense();
    w.Bool(d != nullptr);
    if (d != nullptr) {
      w.Bytes(std::string_view(reinterpret_cast<const char*>(d->data()),
                               kWeekHours));
      return;
    }
    const int n = pairs();
    w.U32(static_cast<uint32_t>(n));
    for (int i = 0; i < n; ++i) {
      w.U32(bins_[i]);
      w.U32(counts_[i]);
    }
  }
  void Restore(SnapshotReader& r) {
    Clear();
    last_ = r.I32();
    const uint32_t total = r.U32();
    if (r.Bool()) {
      const std::string_view bins = r.Bytes(kWeekHours);
      if (!r.ok()) return;
      auto full = std::make_unique<Dense>();
      std::memcpy(full->data(), bins.data(), kWeekHours);
      set_dense(full.release());
    } else {
      const uint32_t n = r.U32();
      if (n > kInlineHours) r.Fail("more inline hours than an account holds");
      for (uint32_t i = 0; i < n && r.ok(); ++i) {
        const uint32_t bin = r.U32();
        const uint32_t count = r.U32();
        // A held hour has a post: a pair of count 0 is not one.
        if (bin >= kWeekHours || count == 0 || count > 255) {
          r.Fail("malformed hour of week");
        }
        bins_[i] = static_cast<uint8_t>(bin);
        counts_[i] = static_cast<uint8_t>(count);
      }
      if (!r.ok()) counts_.fill(0);
    }
    // The total is the counts' sum; the snapshot's must agree.
    if (r.ok() && static_cast<int64_t>(total) != Total()) {
      r.Fail("week total disagrees with its hours");
    }
  }

  // Writes the week as WeekHistogram<uint8_t>::bins would hold it.
  void Bins(Dense* out) const {
    if (const Dense* const d = dense(); d != nullptr) {
      if (out != d) *out = *d;
      return;
    }
    out->fill(0);
    const int n = pairs();
    for (int i = 0; i < n; ++i) (*out)[bins_[i]] = counts_[i];
  }

 private:
  // Inline pairs in use: those with a count, first (0 when dense).
  int pairs() const {
    if constexpr (std::endian::native == std::endian::little) {
      // The first zero byte of the word (counts_[0] is its lowest byte).
      const uint64_t x = CountsWord();
      const uint64_t zero =
          (x - 0x0101010101010101u) & ~x & 0x8080808080808080u;
      return zero == 0 ? kInlineHours : std::countr_zero(zero) / 8;
    }
    int n = 0;
    while (n < kInlineHours && counts_[n] != 0) ++n;
    return n;
  }
  uint64_t CountsWord() const {
    static_assert(sizeof(counts_) == sizeof(uint64_t));
    uint64_t x;
    std::memcpy(&x, counts_.data(), sizeof(x));
    return x;
  }
  Dense* dense() const {
    Dense* d;
    std::memcpy(&d, dense_bytes_, sizeof(d));
    return d;
  }
  void set_dense(Dense* d) { std::memcpy(dense_bytes_, &d, sizeof(d)); }
  void Take(AccountWeek& o) {
    std::memcpy(dense_bytes_, o.dense_bytes_, sizeof(dense_bytes_));
    last_ = o.last_;
    bins_ = o.bins_;
    counts_ = o.counts_;
    o.set_dense(nullptr);
    o.last_ = kNoHour;
    o.counts_.fill(0);
  }

  int32_t last_ = kNoHour;
  std::array<uint8_t, kInlineHours> bins_ = {};
  std::array<uint8_t, kInlineHours> counts_ = {};  // 0: the pair is unused
  // The 168 bins once dense (owned), else null; as bytes, so that the
  // class is 4-aligned.
  unsigned char dense_bytes_[sizeof(Dense*)] = {};
};
static_assert(sizeof(AccountWeek) == 28 && alignof(AccountWeek) == 4);

}  // namespace posting_clock_internal
}  // namespace vigia

#endif  // VIGIA_OPERATORS_POSTING_CLOCK_WEEK_H_
