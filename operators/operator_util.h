// Small arithmetic and formatting helpers every detector needs in the same
// form: hop indices of times before 1970, per-country tables, and window
// lengths in alert text. Header-only; pure functions, thread-safe.
#ifndef VIGIA_OPERATORS_OPERATOR_UTIL_H_
#define VIGIA_OPERATORS_OPERATOR_UTIL_H_

#include <cstdint>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "pipeline/core/types.h"

namespace vigia {

// a / b rounded toward negative infinity (b > 0), so that an event time
// before the epoch falls in the hop that contains it, not the next one.
inline int64_t FloorDiv(int64_t a, int64_t b) {
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

// Number of slots in a table indexed by CountryIndex().
inline constexpr int kCountrySlots = 26 * 26;

// True when `packed` holds two letters A-Z (what CountryIndex() requires);
// for codes read back from a snapshot.
inline bool IsCountryCode(uint16_t packed) {
  const int a = packed >> 8;
  const int b = packed & 0xff;
  return a >= 'A' && a <= 'Z' && b >= 'A' && b <= 'Z';
}

// Dense index in [0, kCountrySlots) of a known country code.
inline int CountryIndex(CountryCode c) {
  const int a = (c.packed() >> 8) - 'A';
  const int b = (c.packed() & 0xff) - 'A';
  return a * 26 + b;
}

// A configured duration as a person writes it in an alert: "30 days",
// "1 day", "2 h", "10 min", "45 s", or "250 ms" below a whole second.
inline std::string HumanDuration(absl::Duration d) {
  const int64_t s = absl::ToInt64Seconds(d);
  if (s > 0 && d == absl::Seconds(s)) {
    if (s % 86400 == 0) {
      return absl::StrCat(s / 86400, s == 86400 ? " day" : " days");
    }
    if (s % 3600 == 0) return absl::StrCat(s / 3600, " h");
    if (s % 60 == 0) return absl::StrCat(s / 60, " min");
    return absl::StrCat(s, " s");
  }
  return absl::StrCat(absl::ToInt64Milliseconds(d), " ms");
}

}  // namespace vigia

#endif  // VIGIA_OPERATORS_OPERATOR_UTIL_H_
