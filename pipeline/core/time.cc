#include "pipeline/core/time.h"

#include <bit>
#include <cstdint>
#include <cstring>

#include "absl/base/attributes.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "pipeline/core/strings.h"

namespace vigia {
namespace {

bool ReadDigits(std::string_view s, size_t pos, size_t n, int* out) {
  if (pos + n > s.size()) return false;
  int v = 0;
  for (size_t i = pos; i < pos + n; ++i) {
    const char c = s[i];
    if (c < '0' || c > '9') return false;
    v = v * 10 + (c - '0');
  }
  *out = v;
  return true;
}

bool IsLeap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30,
                                  31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
// (Howard Hinnant's days_from_civil algorithm).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

absl::Status Bad(std::string_view text, std::string_view why) {
  constexpr size_t kMaxShown = 40;
  return absl::InvalidArgumentError(
      absl::StrCat("bad RFC 3339 time (", ToAbsl(why), "): \"",
                   ToAbsl(text.substr(0, kMaxShown)),
                   text.size() > kMaxShown ? "...\"" : "\""));
}

// True when `unix_secs` is 23:59:59 UTC on 30 June or 31 December: the
// second a leap second (23:59:60) follows.
bool IsLeapSecondSlot(int64_t unix_secs) {
  if (((unix_secs % 86400) + 86400) % 86400 != 86399) return false;
  const absl::CivilSecond c = absl::ToCivilSecond(
      absl::FromUnixSeconds(unix_secs), absl::UTCTimeZone());
  return (c.month() == 6 && c.day() == 30) ||
         (c.month() == 12 && c.day() == 31);
}

// The feeds' own shape, "YYYY-MM-DDTHH:MM:SS.fffZ", checked and converted
// with fixed offsets: two of these per post made the general parser 3% of
// replay's instructions. Returns false, having set nothing, for anything
// else (other shapes, and values out of range, which the general parser
// then reports). `cache`, when given, remembers the last date converted
// (FeedTimeParser).
// Inlined into both callers, so that the cache checks fold away in
// ParseRfc3339() and FeedTimeParser::Parse() makes no second call.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline bool ParseMillisZ(
    std::string_view s, absl::Time* out, FeedTimeParser::DateCache* cache) {
  if (s.size() != 24) return false;
  // The 24 bytes as three little-endian words, checked a word at a time:
  // the byte-by-byte checks and digit loop were 8% of the validating
  // decoder's instructions (two times per post). Bytes of `kDigits` must
  // be '0'-'9' (high nibble 3, low nibble + 6 not carrying into bit 4, so
  // no byte carries into the next); the others must equal `kPunct`'s bytes.
  static_assert(std::endian::native == std::endian::little);
  uint64_t w[3];
  std::memcpy(w, s.data(), sizeof(w));
  //                                 "YYYY-MM-"  "DDTHH:MM"  ":SS.fffZ"
  static constexpr uint64_t kDigits[3] = {
      0x00FFFF00FFFFFFFFull, 0xFFFF00FFFF00FFFFull, 0x00FFFFFF00FFFF00ull};
  static constexpr uint64_t kPunct[3] = {
      0x2D00002D00000000ull, 0x00003A0000540000ull, 0x5A0000002E00003Aull};
  uint64_t bad = 0;
#pragma GCC unroll 3
  for (int k = 0; k < 3; ++k) {
    const uint64_t m = kDigits[k];
    bad |= (w[k] & ~m) ^ kPunct[k];
    bad |= (w[k] & (m & 0xF0F0F0F0F0F0F0F0ull)) ^ (m & 0x3030303030303030ull);
    bad |=
        ((w[k] & (m & 0x0F0F0F0F0F0F0F0Full)) + (m & 0x0606060606060606ull)) &
        (m & 0x1010101010101010ull);
  }
  if (bad != 0) return false;
  const auto d = [&s](int i) { return static_cast<int>(s[i] & 0x0F); };
  const int hour = d(11) * 10 + d(12);
  const int minute = d(14) * 10 + d(15);
  const int second = d(17) * 10 + d(18);
  if (hour > 23 || minute > 59 || second > 59) {
    return false;  // a leap second is the general parser's to judge
  }
  // "YYYY-MM-DD", the first word and two bytes of the second.
  const uint16_t date_tail = static_cast<uint16_t>(w[1]);
  int64_t day_secs;
  if (cache != nullptr && cache->valid && cache->head == w[0] &&
      cache->tail == date_tail) {
    day_secs = cache->day_secs;
  } else {
    const int year = d(0) * 1000 + d(1) * 100 + d(2) * 10 + d(3);
    const int month = d(5) * 10 + d(6);
    const int day = d(8) * 10 + d(9);
    if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month)) {
      return false;
    }
    day_secs = DaysFromCivil(year, static_cast<unsigned>(month),
                             static_cast<unsigned>(day)) *
               86400;
    if (cache != nullptr) {
      *cache = {
          .valid = true, .tail = date_tail, .head = w[0], .day_secs = day_secs};
    }
  }
  const int64_t micros = d(20) * 100000 + d(21) * 10000 + d(22) * 1000;
  const int64_t secs = day_secs + hour * 3600 + minute * 60 + second;
  *out = absl::FromUnixMicros(secs * 1000000 + micros);
  return true;
}

}  // namespace

absl::StatusOr<absl::Time> ParseRfc3339(std::string_view s) {
  if (absl::Time t; ParseMillisZ(s, &t, nullptr)) return t;
  int year, month, day, hour, minute, second;
  if (s.size() < 20) return Bad(s, "too short");
  if (!ReadDigits(s, 0, 4, &year) || s[4] != '-' ||
      !ReadDigits(s, 5, 2, &month) || s[7] != '-' ||
      !ReadDigits(s, 8, 2, &day)) {
    return Bad(s, "date is not YYYY-MM-DD");
  }
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') {
    return Bad(s, "no 'T' between date and time");
  }
  if (!ReadDigits(s, 11, 2, &hour) || s[13] != ':' ||
      !ReadDigits(s, 14, 2, &minute) || s[16] != ':' ||
      !ReadDigits(s, 17, 2, &second)) {
    return Bad(s, "time is not hh:mm:ss");
  }
  if (month < 1 || month > 12) return Bad(s, "month out of range");
  if (day < 1 || day > DaysInMonth(year, month)) {
    return Bad(s, "day out of range");
  }
  if (hour > 23 || minute > 59 || second > 60) {
    return Bad(s, "time of day out of range");
  }
  size_t pos = 19;
  int64_t micros = 0;
  if (pos < s.size() && s[pos] == '.') {
    ++pos;
    int digits = 0;
    int64_t scale = 100000;
    while (pos < s.size() && s[pos] >= '0' && s[pos] <= '9') {
      if (digits < 6) {
        micros += (s[pos] - '0') * scale;
        scale /= 10;
      }
      ++digits;
      ++pos;
    }
    if (digits == 0) return Bad(s, "empty fraction");
  }
  if (pos >= s.size()) return Bad(s, "no zone");
  int64_t offset_minutes = 0;
  if (s[pos] == 'Z' || s[pos] == 'z') {
    ++pos;
  } else if (s[pos] == '+' || s[pos] == '-') {
    int oh, om;
    if (!ReadDigits(s, pos + 1, 2, &oh) || pos + 3 >= s.size() ||
        s[pos + 3] != ':' || !ReadDigits(s, pos + 4, 2, &om) || oh > 23 ||
        om > 59) {
      return Bad(s, "zone is not +hh:mm");
    }
    offset_minutes = (oh * 60 + om) * (s[pos] == '-' ? -1 : 1);
    pos += 6;
  } else {
    return Bad(s, "no zone");
  }
  if (pos != s.size()) return Bad(s, "trailing characters");

  const int64_t days = DaysFromCivil(year, month, day);
  const int64_t secs =
      days * 86400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
  // A leap second (:60) is folded into the next second's start, as most
  // platforms report it, but only where one can be: 23:59:60 UTC at the end
  // of June or December. Elsewhere a :60 was once silently moved into the
  // next minute.
  if (second == 60 && !IsLeapSecondSlot(secs - 1)) {
    return Bad(s,
               "second 60 outside a leap second (23:59:60 UTC on 30 June "
               "or 31 December)");
  }
  return absl::FromUnixMicros(secs * 1000000 + micros);
}

bool FeedTimeParser::Parse(std::string_view text, absl::Time* out) {
  if (ParseMillisZ(text, out, &date_)) return true;
  absl::StatusOr<absl::Time> t = ParseRfc3339(text);
  if (!t.ok()) return false;
  *out = *t;
  return true;
}

std::string FormatRfc3339(absl::Time t) {
  // absl::FormatTime is locale-free and deterministic; %E3S prints
  // seconds with exactly three fractional digits.
  return absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", t, absl::UTCTimeZone());
}

SystemClock* SystemClock::Get() {
  static SystemClock* clock = new SystemClock();
  return clock;
}

}  // namespace vigia
