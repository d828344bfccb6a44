// posting_clock_week: the hour-of-week histograms of posting_clock, in a
// header of their own so that their tests can compare them.
//
// - WeekHistogram<T> holds the 168 hourly counts of the week ending at its
//   latest hour; posting_clock keeps one per target (population, domestic).
// - AccountWeek holds the same counts as WeekHistogram<uint8_t> for one
//   account in 32 bytes while the account posted in few distinct hours, and
//   moves to the 168 bins on the heap beyond that.
//
// Internal to posting_clock; values of one thread, not thread-safe.
#ifndef VIGIA_OPERATORS_POSTING_CLOCK_WEEK_H_
#define VIGIA_OPERATORS_POSTING_CLOCK_WEEK_H_

#include <array>
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
// the inline form is 32 bytes against 184. An inline pair names its hour
// by its bin of the week: every hour held lies in (last - 168, last], where
// bin and hour determine each other. `last` is an absolute hour since the
// epoch; int32 holds every hour of years 0000-9999.
class AccountWeek {
 public:
  static constexpr int kInlineHours = 8;
  static constexpr int32_t kNoHour = std::numeric_limits<int32_t>::min();

  AccountWeek() = default;
  AccountWeek(AccountWeek&&) = default;
  AccountWeek& operator=(AccountWeek&&) = default;

  void Clear() { *this = AccountWeek(); }

  // As WeekHistogram::AdvanceTo.
  void AdvanceTo(int64_t hour) {
    if (last_ != kNoHour && hour <= last_) return;
    if (last_ == kNoHour || hour - last_ >= kWeekHours) {
      if (dense_ != nullptr) dense_->fill(0);
      n_ = 0;
      total_ = 0;
    } else if (dense_ != nullptr) {
      for (int64_t h = last_ + 1; h <= hour; ++h) {
        uint8_t& b = (*dense_)[BinOf(h)];
        total_ = static_cast<uint16_t>(total_ - b);
        b = 0;
      }
    } else {
      // The hours h in (last, hour] clear bin BinOf(e) of a held hour e
      // exactly when e + 168 <= hour.
      const int last_bin = BinOf(last_);
      int kept = 0;
      for (int i = 0; i < n_; ++i) {
        const int64_t e = last_ - FloorMod(last_bin - bins_[i], kWeekHours);
        if (e <= hour - kWeekHours) {
          total_ = static_cast<uint16_t>(total_ - counts_[i]);
        } else {
          bins_[kept] = bins_[i];
          counts_[kept] = counts_[i];
          ++kept;
        }
      }
      n_ = static_cast<uint8_t>(kept);
    }
    last_ = static_cast<int32_t>(hour);
  }

  // As WeekHistogram::Add.
  bool Add(int64_t hour) {
    AdvanceTo(hour);
    if (hour <= static_cast<int64_t>(last_) - kWeekHours) return false;
    const int bin = BinOf(hour);
    uint8_t* count = nullptr;
    if (dense_ != nullptr) {
      count = &(*dense_)[bin];
    } else {
      for (int i = 0; i < n_; ++i) {
        if (bins_[i] == bin) count = &counts_[i];
      }
      if (count == nullptr && n_ < kInlineHours) {
        bins_[n_] = static_cast<uint8_t>(bin);
        counts_[n_] = 0;
        count = &counts_[n_++];
      }
      if (count == nullptr) {
        // One distinct hour more than the pairs hold: move to the full week.
        auto dense = std::make_unique<std::array<uint8_t, kWeekHours>>();
        Bins(dense.get());  // from the inline pairs: dense_ is still null
        dense_ = std::move(dense);
        n_ = 0;
        count = &(*dense_)[bin];
      }
    }
    if (*count < std::numeric_limits<uint8_t>::max()) {
      ++*count;
      ++total_;
    }
    return true;
  }

  int64_t Total() const { return total_; }
  // True once the week moved to the 168 bins on the heap.
  bool dense() const { return dense_ != nullptr; }

  // Snapshots (operators/snapshot.h): the end hour and the counts, in the
  // form (inline pairs or the 168 bins) they are held in.
  void Save(SnapshotWriter& w) const {
    w.I32(last_);
    w.U32(total_);
    w.Bool(dense_ != nullptr);
    if (dense_ != nullptr) {
      w.Bytes(std::string_view(reinterpret_cast<const char*>(dense_->data()),
                               kWeekHours));
      return;
    }
    w.U32(n_);
    for (int i = 0; i < n_; ++i) {
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
      dense_ = std::make_unique<std::array<uint8_t, kWeekHours>>();
      std::memcpy(dense_->data(), bins.data(), kWeekHours);
    } else {
      const uint32_t n = r.U32();
      if (n > kInlineHours) r.Fail("more inline hours than an account holds");
      for (uint32_t i = 0; i < n && r.ok(); ++i) {
        const uint32_t bin = r.U32();
        const uint32_t count = r.U32();
        if (bin >= kWeekHours || count > 255) r.Fail("malformed hour of week");
        bins_[i] = static_cast<uint8_t>(bin);
        counts_[i] = static_cast<uint8_t>(count);
      }
      n_ = r.ok() ? static_cast<uint8_t>(n) : 0;
    }
    if (total > 0xffff) r.Fail("week total out of range");
    total_ = static_cast<uint16_t>(total);
  }

  // Writes the week as WeekHistogram<uint8_t>::bins would hold it.
  void Bins(std::array<uint8_t, kWeekHours>* out) const {
    if (dense_ != nullptr) {
      if (out != dense_.get()) *out = *dense_;
      return;
    }
    out->fill(0);
    for (int i = 0; i < n_; ++i) (*out)[bins_[i]] = counts_[i];
  }

 private:
  std::unique_ptr<std::array<uint8_t, kWeekHours>> dense_;
  int32_t last_ = kNoHour;
  uint16_t total_ = 0;  // at most 168 * 255 = 42840
  uint8_t n_ = 0;       // inline pairs in use (0 when dense)
  std::array<uint8_t, kInlineHours> bins_;
  std::array<uint8_t, kInlineHours> counts_;
};
static_assert(sizeof(AccountWeek) == 32);

}  // namespace posting_clock_internal
}  // namespace vigia

#endif  // VIGIA_OPERATORS_POSTING_CLOCK_WEEK_H_
