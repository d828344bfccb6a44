#include "pipeline/backtest.h"

#include <cmath>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_split.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "pipeline/core/time.h"

namespace vigia {
namespace {

using ::testing::HasSubstr;

struct Row {
  std::string timestamp;
  std::string value;
  double score = -1;
  std::string severity;
};

// Runs the backtest on `csv`, failing the test unless it succeeds, and
// returns the output rows (header checked and dropped).
std::vector<Row> Score(const std::string& csv, BacktestOptions options = {},
                       BacktestSummary* summary = nullptr) {
  std::istringstream in(csv);
  std::ostringstream out;
  absl::StatusOr<BacktestSummary> s = RunBacktest(in, out, options);
  EXPECT_TRUE(s.ok()) << s.status();
  if (s.ok() && summary != nullptr) *summary = *s;
  std::vector<Row> rows;
  bool header = true;
  for (absl::string_view line :
       absl::StrSplit(out.str(), '\n', absl::SkipEmpty())) {
    if (header) {
      EXPECT_EQ(line, "timestamp,value,anomaly_score,severity");
      header = false;
      continue;
    }
    std::vector<std::string> f = absl::StrSplit(line, ',');
    EXPECT_EQ(f.size(), 4u) << line;
    if (f.size() != 4) continue;
    Row r{f[0], f[1], -1, f[3]};
    EXPECT_TRUE(absl::SimpleAtod(f[2], &r.score)) << line;
    rows.push_back(r);
  }
  return rows;
}

absl::Status ErrorOf(const std::string& csv, BacktestOptions options = {}) {
  std::istringstream in(csv);
  std::ostringstream out;
  return RunBacktest(in, out, options).status();
}

// A noisy level series every five minutes in NAB's timestamp format, with
// `spike_at` (if >= 0) raised well above the rest.
std::string Series(int rows, int spike_at = -1, bool rfc3339 = false,
                   bool header = true) {
  std::mt19937_64 rng(11);
  std::normal_distribution<double> noise(0, 1.5);
  std::string csv = header ? "timestamp,value\n" : "";
  const absl::Time start = absl::FromUnixSeconds(1'400'000'000);
  for (int i = 0; i < rows; ++i) {
    const absl::Time t = start + absl::Minutes(5) * i;
    double v = 40 + noise(rng);
    if (i == spike_at) v = 70;
    const std::string ts =
        rfc3339 ? absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone())
                : absl::FormatTime("%Y-%m-%d %H:%M:%S", t, absl::UTCTimeZone());
    absl::StrAppend(&csv, ts, ",", absl::StrFormat("%.3f", v), "\n");
  }
  return csv;
}

TEST(Backtest, WritesOneScoreInTheUnitIntervalPerRowInInputOrder) {
  const std::string csv = Series(300);
  BacktestSummary summary;
  const std::vector<Row> rows = Score(csv, {}, &summary);
  ASSERT_EQ(rows.size(), 300u);
  EXPECT_EQ(summary.rows, 300);
  EXPECT_TRUE(summary.header);
  std::vector<std::string> lines = absl::StrSplit(csv, '\n', absl::SkipEmpty());
  for (size_t i = 0; i < rows.size(); ++i) {
    // Timestamp and value echoed as written, in order.
    EXPECT_EQ(absl::StrCat(rows[i].timestamp, ",", rows[i].value),
              lines[i + 1]);
    EXPECT_GE(rows[i].score, 0);
    EXPECT_LE(rows[i].score, 1);
  }
  // The first hour is warm-up: scored 0.
  for (int i = 0; i < 12; ++i) EXPECT_EQ(rows[i].score, 0) << i;
}

TEST(Backtest, ScoresAreCausal) {
  const std::vector<Row> all = Score(Series(400, /*spike_at=*/350));
  // The same series cut after 200 rows: the first 200 scores are the same.
  const std::string full = Series(400, 350);
  std::vector<std::string> lines =
      absl::StrSplit(full, '\n', absl::SkipEmpty());
  std::string head;
  for (int i = 0; i <= 200; ++i) absl::StrAppend(&head, lines[i], "\n");
  const std::vector<Row> cut = Score(head);
  ASSERT_EQ(cut.size(), 200u);
  for (size_t i = 0; i < cut.size(); ++i) {
    EXPECT_EQ(cut[i].score, all[i].score) << i;
  }
}

TEST(Backtest, GivesASpikeAHighScoreAndTheRestLowOnes) {
  const std::vector<Row> rows = Score(Series(400, /*spike_at=*/300));
  EXPECT_GT(rows[300].score, 0.9);
  int high = 0;
  for (size_t i = 0; i < rows.size(); ++i) {
    if (i != 300 && rows[i].score >= 0.5) ++high;
  }
  EXPECT_LE(high, 4);  // a 3-sigma-ish tail, not a wall of alarms
}

TEST(Backtest, FlatSeriesScoresZero) {
  std::string csv;
  for (int i = 0; i < 200; ++i) {
    absl::StrAppend(&csv, "2024-01-01 ",
                    absl::StrFormat("%02d:%02d:00", i / 60, i % 60), ",12.5\n");
  }
  for (const Row& r : Score(csv)) EXPECT_EQ(r.score, 0);
}

TEST(Backtest, AcceptsBothTimestampFormatsAndNoHeader) {
  const std::vector<Row> nab = Score(Series(300, 250, /*rfc3339=*/false));
  const std::vector<Row> rfc = Score(Series(300, 250, /*rfc3339=*/true));
  BacktestSummary summary;
  const std::vector<Row> bare =
      Score(Series(300, 250, false, /*header=*/false), {}, &summary);
  EXPECT_FALSE(summary.header);
  ASSERT_EQ(nab.size(), 300u);
  ASSERT_EQ(rfc.size(), 300u);
  ASSERT_EQ(bare.size(), 300u);
  for (size_t i = 0; i < nab.size(); ++i) {
    EXPECT_EQ(nab[i].score, rfc[i].score) << i;
    EXPECT_EQ(nab[i].score, bare[i].score) << i;
  }
  EXPECT_EQ(rfc[0].timestamp, "2014-05-13T16:53:20Z");
  EXPECT_EQ(nab[0].timestamp, "2014-05-13 16:53:20");
}

TEST(Backtest, HandlesIrregularSamplingAndNonIntegerValues) {
  std::mt19937_64 rng(3);
  std::uniform_int_distribution<int> gap(30, 900);
  std::string csv = "time,reading\n";
  absl::Time t = absl::FromUnixSeconds(1'600'000'000);
  for (int i = 0; i < 500; ++i) {
    t += absl::Seconds(gap(rng));
    const double v = i == 450 ? 3.75 : 0.25 + 0.01 * (i % 7);
    absl::StrAppend(&csv, FormatRfc3339(t), ",", v, "\n");
  }
  const std::vector<Row> rows = Score(csv);
  ASSERT_EQ(rows.size(), 500u);
  EXPECT_EQ(rows[1].value, "0.26");
  EXPECT_GT(rows[450].score, 0.9);
  EXPECT_LT(rows[449].score, 0.5);
}

TEST(Backtest, ToleratesQuotesCrlfBlankLinesAndExtraColumns) {
  const std::vector<Row> rows = Score(
      "\"timestamp\",\"value\",\"label\"\r\n"
      "\"2024-03-01 00:00:00\",\"1.5\",0\r\n"
      "\r\n"
      "2024-03-01 00:05:00 , -2 ,1\r\n");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].timestamp, "2024-03-01 00:00:00");
  EXPECT_EQ(rows[0].value, "1.5");
  EXPECT_EQ(rows[1].value, "-2");
}

TEST(Backtest, ABadRowIsAnErrorNamingItsLine) {
  const std::string head = "timestamp,value\n2024-01-01 00:00:00,1\n";
  EXPECT_EQ(ErrorOf(head + "2024-01-01 00:05:00,abc\n"),
            absl::InvalidArgumentError(
                "line 3: bad value \"abc\" (expected a finite number)"));
  EXPECT_EQ(ErrorOf(head + "2024-01-01 00:05:00,nan\n"),
            absl::InvalidArgumentError(
                "line 3: bad value \"nan\" (expected a finite number)"));
  EXPECT_EQ(ErrorOf(head + "\n12\n"),
            absl::InvalidArgumentError(
                "line 4: expected timestamp,value, got \"12\""));
  const absl::Status time = ErrorOf(head + "01/02/2024 10:00,3\n");
  EXPECT_EQ(time.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(time.message(),
              HasSubstr("line 3: bad timestamp \"01/02/2024 10:00\" (expected "
                        "RFC 3339 or YYYY-MM-DD HH:MM:SS): "));
  // Only the first line may be a header.
  EXPECT_THAT(ErrorOf(head + "timestamp,value\n").message(),
              HasSubstr("line 3: bad timestamp \"timestamp\""));
}

TEST(Backtest, SkipsAndCountsBadRowsWhenAsked) {
  BacktestOptions options;
  options.skip_bad_rows = true;
  BacktestSummary summary;
  const std::vector<Row> rows = Score(
      "2024-01-01 00:00:00,1\nbad,row\n2024-01-01 00:01:00,x\n"
      "2024-01-01 00:02:00,2\n",
      options, &summary);
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[1].timestamp, "2024-01-01 00:02:00");
  EXPECT_EQ(summary.rows, 2);
  EXPECT_EQ(summary.skipped, 2);
  EXPECT_FALSE(summary.header);
}

TEST(Backtest, ScoresDropsOnlyWhenTwoSided) {
  std::string csv;
  for (int i = 0; i < 300; ++i) {
    absl::StrAppend(&csv,
                    FormatRfc3339(absl::FromUnixSeconds(1'700'000'000) +
                                  absl::Minutes(5) * i),
                    ",", i == 280 ? 5.0 : 40.0 + (i % 5), "\n");
  }
  const std::vector<Row> one = Score(csv);
  BacktestOptions options;
  options.scoring.two_sided = true;
  const std::vector<Row> two = Score(csv, options);
  EXPECT_EQ(one[280].score, 0);
  EXPECT_GT(two[280].score, 0.9);
}

TEST(ParseBacktestTimestamp, ReadsNabAndRfc3339) {
  const absl::Time t = absl::FromUnixSeconds(1'400'000'000);
  EXPECT_EQ(*ParseBacktestTimestamp("2014-05-13 16:53:20"), t);
  EXPECT_EQ(*ParseBacktestTimestamp("2014-05-13T16:53:20Z"), t);
  EXPECT_EQ(*ParseBacktestTimestamp("2014-05-13T18:53:20+02:00"), t);
  EXPECT_EQ(*ParseBacktestTimestamp("2014-05-13 16:53:20.5"),
            t + absl::Milliseconds(500));
  EXPECT_FALSE(ParseBacktestTimestamp("2014-05-13 25:00:00").ok());
  EXPECT_FALSE(ParseBacktestTimestamp("2014-05-13T16:53:20").ok());
}

}  // namespace
}  // namespace vigia
