#include "pipeline/core/time.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace vigia {
namespace {

using ::testing::HasSubstr;

absl::Time Utc(int y, int mo, int d, int h, int mi, int s) {
  return absl::FromCivil(absl::CivilSecond(y, mo, d, h, mi, s),
                         absl::UTCTimeZone());
}

// Returns the time `text` parses to, failing the test if it does not parse.
absl::Time MustParse(std::string_view text) {
  absl::StatusOr<absl::Time> t = ParseRfc3339(text);
  EXPECT_TRUE(t.ok()) << text << ": " << t.status();
  return t.ok() ? *t : absl::InfinitePast();
}

// Returns the rejection message for `text`, failing the test unless it is
// InvalidArgument.
std::string Rejection(std::string_view text) {
  absl::StatusOr<absl::Time> t = ParseRfc3339(text);
  EXPECT_EQ(t.status().code(), absl::StatusCode::kInvalidArgument)
      << text << " parsed as " << (t.ok() ? FormatRfc3339(*t) : "");
  return std::string(t.status().message());
}

TEST(ParseRfc3339, ParsesUtcWithZ) {
  EXPECT_EQ(MustParse("2026-11-23T19:15:07Z"), Utc(2026, 11, 23, 19, 15, 7));
  EXPECT_EQ(MustParse("1970-01-01T00:00:00Z"), absl::UnixEpoch());
}

TEST(ParseRfc3339, AcceptsLowerCaseSeparatorsAndSpace) {
  // RFC 3339 section 5.6 allows 't' and 'z'; its note allows a space.
  const absl::Time want = Utc(2026, 11, 23, 19, 15, 7);
  EXPECT_EQ(MustParse("2026-11-23t19:15:07z"), want);
  EXPECT_EQ(MustParse("2026-11-23 19:15:07Z"), want);
}

TEST(ParseRfc3339, AppliesNumericOffsets) {
  const absl::Time want = Utc(2026, 11, 23, 19, 15, 7);
  EXPECT_EQ(MustParse("2026-11-23T20:15:07+01:00"), want);
  EXPECT_EQ(MustParse("2026-11-23T13:45:07-05:30"), want);
  EXPECT_EQ(MustParse("2026-11-23T19:15:07+00:00"), want);
  EXPECT_EQ(MustParse("2026-11-23T19:15:07-00:00"), want);
  // The offset can move the instant across a day and a year boundary.
  EXPECT_EQ(MustParse("2027-01-01T01:00:00+02:00"),
            Utc(2026, 12, 31, 23, 0, 0));
}

TEST(ParseRfc3339, KeepsFractionsToTheMicrosecond) {
  const absl::Time base = Utc(2026, 11, 23, 19, 15, 7);
  EXPECT_EQ(MustParse("2026-11-23T19:15:07.1Z"),
            base + absl::Milliseconds(100));
  EXPECT_EQ(MustParse("2026-11-23T19:15:07.123Z"),
            base + absl::Milliseconds(123));
  EXPECT_EQ(MustParse("2026-11-23T19:15:07.000001Z"),
            base + absl::Microseconds(1));
  // Digits past microseconds are dropped, not rounded.
  EXPECT_EQ(MustParse("2026-11-23T19:15:07.123456789Z"),
            base + absl::Microseconds(123456));
  EXPECT_EQ(MustParse("2026-11-23T20:15:07.5+01:00"),
            base + absl::Milliseconds(500));
}

TEST(ParseRfc3339, AcceptsFebruary29OfLeapYearsOnly) {
  EXPECT_EQ(MustParse("2028-02-29T12:00:00Z"), Utc(2028, 2, 29, 12, 0, 0));
  EXPECT_EQ(MustParse("2000-02-29T00:00:00Z"), Utc(2000, 2, 29, 0, 0, 0));
  EXPECT_EQ(Rejection("2026-02-29T12:00:00Z"),
            "bad RFC 3339 time (day out of range): \"2026-02-29T12:00:00Z\"");
  // Centuries are leap years only when divisible by 400.
  EXPECT_THAT(Rejection("2100-02-29T12:00:00Z"), HasSubstr("day out of range"));
}

TEST(ParseRfc3339, RejectsOutOfRangeFields) {
  EXPECT_THAT(Rejection("2026-13-01T00:00:00Z"),
              HasSubstr("month out of range"));
  EXPECT_THAT(Rejection("2026-00-01T00:00:00Z"),
              HasSubstr("month out of range"));
  EXPECT_THAT(Rejection("2026-04-31T00:00:00Z"), HasSubstr("day out of range"));
  EXPECT_THAT(Rejection("2026-04-00T00:00:00Z"), HasSubstr("day out of range"));
  EXPECT_THAT(Rejection("2026-04-30T24:00:00Z"),
              HasSubstr("time of day out of range"));
  EXPECT_THAT(Rejection("2026-04-30T23:60:00Z"),
              HasSubstr("time of day out of range"));
  EXPECT_THAT(Rejection("2026-04-30T23:59:61Z"),
              HasSubstr("time of day out of range"));
  EXPECT_THAT(Rejection("2026-04-30T23:59:00+24:00"),
              HasSubstr("zone is not +hh:mm"));
  EXPECT_THAT(Rejection("2026-04-30T23:59:00+01:60"),
              HasSubstr("zone is not +hh:mm"));
}

// The feeds' "YYYY-MM-DDTHH:MM:SS.fffZ" takes a fast path; the same instant
// written with an offset or six fraction digits takes the general one.
TEST(ParseRfc3339, MillisecondUtcShapeAgreesWithTheGeneralParser) {
  absl::Time t = Utc(1969, 12, 28, 23, 59, 58) + absl::Milliseconds(7);
  const absl::Time end = Utc(2101, 3, 2, 0, 0, 0);
  int checked = 0;
  while (t < end) {
    const std::string text = FormatRfc3339(t);  // "...SS.fffZ"
    ASSERT_EQ(text.size(), 24u) << text;
    const std::string offset = text.substr(0, 23) + "+00:00";
    const std::string micros = text.substr(0, 23) + "000Z";
    ASSERT_EQ(MustParse(text), t) << text;
    ASSERT_EQ(MustParse(text), MustParse(offset)) << text;
    ASSERT_EQ(MustParse(text), MustParse(micros)) << text;
    t += absl::Hours(7) + absl::Minutes(13) + absl::Seconds(17) +
         absl::Milliseconds(389);
    ++checked;
  }
  EXPECT_GT(checked, 100000);
}

TEST(ParseRfc3339, MillisecondUtcShapeStillRejectsOutOfRangeFields) {
  EXPECT_THAT(Rejection("2026-13-01T00:00:00.000Z"),
              HasSubstr("month out of range"));
  EXPECT_THAT(Rejection("2026-02-29T00:00:00.000Z"),
              HasSubstr("day out of range"));
  EXPECT_EQ(MustParse("2028-02-29T00:00:00.000Z"), Utc(2028, 2, 29, 0, 0, 0));
  EXPECT_THAT(Rejection("2026-04-30T24:00:00.000Z"),
              HasSubstr("time of day out of range"));
  EXPECT_THAT(Rejection("2026-04-30T23:59:00.0a0Z"), HasSubstr("no zone"));
  EXPECT_THAT(Rejection("2026-04-3xT23:59:00.000Z"),
              HasSubstr("date is not YYYY-MM-DD"));
  EXPECT_EQ(MustParse("2016-12-31T23:59:60.500Z"),
            Utc(2017, 1, 1, 0, 0, 0) + absl::Milliseconds(500));
}

// The fast path checks the shape a word at a time: every byte of a feed
// time, replaced by every other byte, must either be refused or (a digit
// for a digit, or an alternative separator the general grammar allows)
// still parse to what the general parser makes of it.
TEST(ParseRfc3339, MillisecondUtcShapeChecksEveryByte) {
  const std::string base = "2026-05-09T12:34:56.789Z";
  const absl::Time want = Utc(2026, 5, 9, 12, 34, 56) + absl::Milliseconds(789);
  ASSERT_EQ(MustParse(base), want);
  const std::string shape = "dddd-dd-ddTdd:dd:dd.dddZ";
  int accepted = 0;
  for (size_t i = 0; i < base.size(); ++i) {
    for (int b = 0; b < 256; ++b) {
      const char c = static_cast<char>(b);
      if (c == base[i]) continue;
      std::string text = base;
      text[i] = c;
      const absl::StatusOr<absl::Time> t = ParseRfc3339(text);
      const bool digit = c >= '0' && c <= '9';
      const bool alternative =
          (i == 10 && (c == 't' || c == ' ')) || (i == 23 && c == 'z');
      if (shape[i] == 'd' ? !digit : !alternative) {
        EXPECT_FALSE(t.ok()) << text;
        continue;
      }
      if (!t.ok()) continue;  // a digit that puts a field out of range
      ++accepted;
      if (alternative) {
        EXPECT_EQ(*t, want) << text;
      } else if (i >= 20) {
        EXPECT_EQ(*t,
                  want + absl::Milliseconds((c - base[i]) * (i == 20   ? 100
                                                             : i == 21 ? 10
                                                                       : 1)))
            << text;
      } else {
        // Compared with the same instant through the general parser.
        EXPECT_EQ(*t, MustParse(text.substr(0, 23) + "+00:00")) << text;
      }
    }
  }
  EXPECT_GT(accepted, 100);
}

// FeedTimeParser remembers the last date it converted. Every byte of a
// feed time, replaced by every other byte, parsed right after the original
// (whose date is then remembered), right after a time on another date and
// right after itself, must give exactly what ParseRfc3339 gives: the same
// instant, or a failure.
TEST(FeedTimeParser, AgreesWithParseRfc3339AfterTheSameDateAndAnother) {
  const std::string base = "2026-05-09T12:34:56.789Z";
  const std::string other = "2025-12-31T23:59:59.999Z";
  FeedTimeParser parser;
  int compared = 0;
  int failed = 0;
  for (size_t i = 0; i < base.size(); ++i) {
    for (int b = 0; b < 256; ++b) {
      std::string text = base;
      text[i] = static_cast<char>(b);
      const absl::StatusOr<absl::Time> want = ParseRfc3339(text);
      for (const std::string* before :
           {&base, &other, static_cast<const std::string*>(&text)}) {
        absl::Time t;
        if (before == &text) {
          (void)parser.Parse(text, &t);  // a second time: its own date
        } else {
          ASSERT_TRUE(parser.Parse(*before, &t)) << *before;
          ASSERT_EQ(t, MustParse(*before)) << *before;
        }
        t = absl::InfinitePast();
        const bool ok = parser.Parse(text, &t);
        ASSERT_EQ(ok, want.ok()) << text << " after " << *before;
        if (ok) {
          ASSERT_EQ(t, *want) << text << " after " << *before;
        } else {
          ASSERT_EQ(t, absl::InfinitePast()) << "changed on failure: " << text;
          ++failed;
        }
        ++compared;
      }
    }
  }
  EXPECT_EQ(compared, 24 * 256 * 3);
  EXPECT_GT(failed, 1000);
}

// A stream of feed times across day, month, year and leap-day boundaries,
// and in other shapes, through one parser: each as ParseRfc3339 gives it.
TEST(FeedTimeParser, FollowsTheDateAcrossBoundaries) {
  FeedTimeParser parser;
  absl::Time t = Utc(2023, 12, 30, 22, 0, 0) + absl::Milliseconds(123);
  const absl::Time end = Utc(2024, 3, 2, 0, 0, 0);
  int checked = 0;
  while (t < end) {
    const std::string text = FormatRfc3339(t);
    absl::Time got;
    ASSERT_TRUE(parser.Parse(text, &got)) << text;
    ASSERT_EQ(got, t) << text;
    // Another shape in between must not disturb the remembered date.
    const std::string offset = text.substr(0, 23) + "+01:00";
    ASSERT_TRUE(parser.Parse(offset, &got)) << offset;
    ASSERT_EQ(got, t - absl::Hours(1)) << offset;
    t += absl::Minutes(37) + absl::Milliseconds(1);
    ++checked;
  }
  EXPECT_GT(checked, 2000);
  absl::Time got;
  EXPECT_TRUE(parser.Parse("2024-02-29T00:00:00.000Z", &got));
  EXPECT_FALSE(parser.Parse("2023-02-29T00:00:00.000Z", &got));
  EXPECT_TRUE(parser.Parse("2016-12-31T23:59:60.500Z", &got));
  EXPECT_EQ(got, Utc(2017, 1, 1, 0, 0, 0) + absl::Milliseconds(500));
  EXPECT_FALSE(parser.Parse("2016-12-31T24:00:00.000Z", &got));
}

TEST(ParseRfc3339, FoldsALeapSecondIntoTheNextMinute) {
  EXPECT_EQ(MustParse("2016-12-31T23:59:60Z"), Utc(2017, 1, 1, 0, 0, 0));
  EXPECT_EQ(MustParse("2015-06-30T23:59:60Z"), Utc(2015, 7, 1, 0, 0, 0));
  // The same instant written in another zone.
  EXPECT_EQ(MustParse("2017-01-01T02:59:60+03:00"), Utc(2017, 1, 1, 0, 0, 0));
}

TEST(ParseRfc3339, RejectsASecond60WhereNoLeapSecondCanBe) {
  // Regression: any :60 was moved into the next minute, on any date.
  for (const char* t : {"2026-04-30T23:59:60.500Z", "2026-11-01T12:34:60Z",
                        "2016-12-31T22:59:60Z", "2016-12-31T23:59:60+01:00",
                        "2016-12-30T23:59:60Z"}) {
    EXPECT_THAT(Rejection(t), HasSubstr("second 60 outside a leap second"))
        << t;
  }
}

TEST(ParseRfc3339, RejectsAMissingZone) {
  EXPECT_EQ(Rejection("2026-11-23T19:15:07"),
            "bad RFC 3339 time (too short): \"2026-11-23T19:15:07\"");
  EXPECT_EQ(Rejection("2026-11-23T19:15:07.123"),
            "bad RFC 3339 time (no zone): \"2026-11-23T19:15:07.123\"");
  EXPECT_EQ(Rejection("2026-11-23T19:15:07 UTC"),
            "bad RFC 3339 time (no zone): \"2026-11-23T19:15:07 UTC\"");
}

TEST(ParseRfc3339, RejectsMalformedText) {
  EXPECT_THAT(Rejection(""), HasSubstr("too short"));
  EXPECT_THAT(Rejection("yesterday at noon, roughly"),
              HasSubstr("date is not YYYY-MM-DD"));
  EXPECT_THAT(Rejection("2026/11/23T19:15:07Z"),
              HasSubstr("date is not YYYY-MM-DD"));
  EXPECT_THAT(Rejection("26-11-23T19:15:07Z12"),
              HasSubstr("date is not YYYY-MM-DD"));
  EXPECT_THAT(Rejection("2026-11-23X19:15:07Z"),
              HasSubstr("no 'T' between date and time"));
  EXPECT_THAT(Rejection("2026-11-23T19-15-07Z"),
              HasSubstr("time is not hh:mm:ss"));
  EXPECT_THAT(Rejection("2026-11-23T19:15:07.Z"), HasSubstr("empty fraction"));
  EXPECT_THAT(Rejection("2026-11-23T19:15:07+0100"),
              HasSubstr("zone is not +hh:mm"));
  EXPECT_THAT(Rejection("2026-11-23T19:15:07+01"),
              HasSubstr("zone is not +hh:mm"));
  EXPECT_THAT(Rejection("1763925307"), HasSubstr("too short"));
}

TEST(ParseRfc3339, RejectsTrailingCharacters) {
  EXPECT_EQ(Rejection("2026-11-23T19:15:07Zjunk"),
            "bad RFC 3339 time (trailing characters): "
            "\"2026-11-23T19:15:07Zjunk\"");
  EXPECT_THAT(Rejection("2026-11-23T19:15:07+01:00 "),
              HasSubstr("trailing characters"));
  EXPECT_THAT(Rejection("2026-11-23T19:15:07Z\n"),
              HasSubstr("trailing characters"));
}

TEST(ParseRfc3339, QuotesAtMost40CharactersOfBadInput) {
  const std::string long_text = "2026-11-23T19:15:07Z" + std::string(100, 'x');
  EXPECT_EQ(Rejection(long_text),
            "bad RFC 3339 time (trailing characters): "
            "\"2026-11-23T19:15:07Zxxxxxxxxxxxxxxxxxxxx...\"");
}

TEST(FormatRfc3339, PrintsUtcWithMilliseconds) {
  EXPECT_EQ(FormatRfc3339(Utc(2026, 11, 23, 19, 15, 7)),
            "2026-11-23T19:15:07.000Z");
  EXPECT_EQ(FormatRfc3339(absl::UnixEpoch()), "1970-01-01T00:00:00.000Z");
  // Sub-millisecond digits are truncated.
  EXPECT_EQ(
      FormatRfc3339(Utc(2026, 11, 23, 19, 15, 7) + absl::Microseconds(123999)),
      "2026-11-23T19:15:07.123Z");
}

TEST(FormatRfc3339, RoundTripsThroughParse) {
  for (const char* text :
       {"2026-11-23T19:15:07.123Z", "2028-02-29T23:59:59.999Z",
        "1999-12-31T00:00:00.001Z", "1969-07-20T20:17:40.000Z"}) {
    EXPECT_EQ(FormatRfc3339(MustParse(text)), text);
  }
  // Any offset comes back as the same instant in UTC.
  EXPECT_EQ(FormatRfc3339(MustParse("2026-11-23T21:15:07.250+02:00")),
            "2026-11-23T19:15:07.250Z");
  const absl::Time t = Utc(2026, 3, 1, 8, 9, 10) + absl::Milliseconds(42);
  EXPECT_EQ(MustParse(FormatRfc3339(t)), t);
}

TEST(ManualClock, MovesOnlyWhenTold) {
  ManualClock clock(Utc(2026, 11, 23, 0, 0, 0));
  EXPECT_EQ(clock.Now(), Utc(2026, 11, 23, 0, 0, 0));
  clock.Advance(absl::Seconds(90));
  EXPECT_EQ(clock.Now(), Utc(2026, 11, 23, 0, 1, 30));
  clock.Set(absl::UnixEpoch());
  EXPECT_EQ(clock.Now(), absl::UnixEpoch());
}

TEST(BatchClock, ShowsTheInnerClockAsOfItsLastRefresh) {
  ManualClock inner(Utc(2026, 11, 23, 0, 0, 0));
  BatchClock clock(&inner);
  EXPECT_EQ(clock.Now(), Utc(2026, 11, 23, 0, 0, 0));
  inner.Advance(absl::Seconds(5));
  EXPECT_EQ(clock.Now(), Utc(2026, 11, 23, 0, 0, 0));
  clock.Refresh();
  EXPECT_EQ(clock.Now(), Utc(2026, 11, 23, 0, 0, 5));
}

}  // namespace
}  // namespace vigia
