// `vigia backtest`: runs the shared baseline scorer (operators/scorer.h,
// SeriesScorer) over a univariate series read as CSV, so that the scoring
// every detector uses can be checked against public labelled series (e.g.
// the Numenta Anomaly Benchmark's timestamp,value files) before a campaign.
//
// Input: one row per line, `timestamp,value[,anything else]`. Timestamps are
// RFC 3339 with a zone ("2014-02-14T14:30:00Z") or "YYYY-MM-DD HH:MM:SS"
// with optional fraction, read as UTC. Values are any finite real number
// (counts or measurements). Sampling may be irregular. An optional header
// (a first line whose first two fields are not a timestamp and a number) is
// skipped; blank lines are skipped. Fields may be quoted ("..."); lines may
// end in CRLF; columns after the second are ignored (labels, say).
//
// Output: `timestamp,value,anomaly_score,severity`, one row per input data
// row, in input order, timestamp and value echoed as written. By default the
// score is what a detector would have sent on-call (SeriesScorer): non-zero
// only on a row that starts an episode or escalates it, where it is
// ScoreToUnit of the row's calibrated surprise, and `severity` names the
// rung (empty on other rows). With `per_row`, every warm row carries its
// own unit surprise and `severity` the rung it reaches. Six decimals, 0
// during warm-up. Scoring is causal: a row's score depends only on it and
// the rows before it.
//
// Bad rows: by default the first bad row stops the run with
// INVALID_ARGUMENT naming its line ("line 7: ..."), and nothing after it is
// written; with `skip_bad_rows` they are skipped (no output row) and counted.
//
// Stateless functions; thread-compatible.
#ifndef VIGIA_PIPELINE_BACKTEST_H_
#define VIGIA_PIPELINE_BACKTEST_H_

#include <cstdint>
#include <istream>
#include <ostream>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "operators/scorer.h"
#include "operators/scoring_options.h"

namespace vigia {

struct BacktestOptions {
  // The scorer's options; the default is SeriesScorer's measurement mode.
  ScoringOptions scoring = SeriesScorer::MeasurementOptions();
  // Score every row by its rarity instead of only the alerts' rows.
  bool per_row = false;
  // Skip (and count) bad rows instead of failing on the first one.
  bool skip_bad_rows = false;
};

struct BacktestSummary {
  int64_t rows = 0;           // data rows scored (= output rows)
  int64_t skipped = 0;        // bad rows skipped (skip_bad_rows)
  int64_t warm_rows = 0;      // rows scored past the warm-up
  int64_t high_rows = 0;      // rows with anomaly_score >= 0.5
  int64_t episodes = 0;       // episodes started (firing records)
  int64_t alert_rows = 0;     // rows with a firing or escalation record
  bool header = false;        // the first line was a header
  double max_score = 0;       // the highest anomaly_score
  std::string max_timestamp;  // the row it was reached on (as written)
  int64_t max_line = 0;
};

// Parses "YYYY-MM-DD HH:MM:SS[.ffffff]" (UTC) or RFC 3339 with a zone.
absl::StatusOr<absl::Time> ParseBacktestTimestamp(std::string_view text);

// Scores the series read from `in` and writes the scored CSV to `out`.
// Returns the summary, INVALID_ARGUMENT naming the line of the first bad
// row (unless skipped), or an error when `in` or `out` fails.
absl::StatusOr<BacktestSummary> RunBacktest(
    std::istream& in, std::ostream& out, const BacktestOptions& options = {});

}  // namespace vigia

#endif  // VIGIA_PIPELINE_BACKTEST_H_
