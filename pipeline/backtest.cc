#include "pipeline/backtest.h"

#include <charconv>
#include <cmath>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "pipeline/core/strings.h"
#include "pipeline/core/time.h"

namespace vigia {
namespace {

constexpr size_t kMaxShown = 40;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

// Splits off the first two fields of a CSV line. A field may be quoted, with
// "" for a quote inside it; unquoted fields are trimmed. Returns nullopt
// when the line has fewer than two fields or an unterminated quote.
std::optional<std::pair<std::string, std::string>> FirstTwoFields(
    std::string_view line) {
  std::string fields[2];
  size_t pos = 0;
  for (int f = 0; f < 2; ++f) {
    if (pos > line.size()) return std::nullopt;
    std::string_view rest = line.substr(pos);
    size_t i = 0;
    while (i < rest.size() && (rest[i] == ' ' || rest[i] == '\t')) ++i;
    if (i < rest.size() && rest[i] == '"') {
      std::string value;
      ++i;
      bool closed = false;
      while (i < rest.size()) {
        if (rest[i] == '"') {
          if (i + 1 < rest.size() && rest[i + 1] == '"') {
            value.push_back('"');
            i += 2;
            continue;
          }
          closed = true;
          ++i;
          break;
        }
        value.push_back(rest[i++]);
      }
      if (!closed) return std::nullopt;
      while (i < rest.size() && (rest[i] == ' ' || rest[i] == '\t')) ++i;
      if (i < rest.size() && rest[i] != ',') return std::nullopt;
      fields[f] = std::move(value);
      pos += i + 1;
    } else {
      const size_t comma = rest.find(',');
      fields[f] = std::string(Trim(rest.substr(0, comma)));
      if (comma == std::string_view::npos) {
        if (f == 0) return std::nullopt;
        pos = line.size() + 1;
      } else {
        pos += comma + 1;
      }
    }
  }
  return std::make_pair(std::move(fields[0]), std::move(fields[1]));
}

std::optional<double> ParseValue(std::string_view s) {
  if (!s.empty() && s.front() == '+') s.remove_prefix(1);
  if (s.empty()) return std::nullopt;
  double v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v)) {
    return std::nullopt;
  }
  return v;
}

std::string Shown(std::string_view s) {
  return absl::StrCat("\"", ToAbsl(s.substr(0, kMaxShown)),
                      s.size() > kMaxShown ? "...\"" : "\"");
}

// A field as written back to CSV: quoted if it has to be.
std::string CsvField(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}

}  // namespace

absl::StatusOr<absl::Time> ParseBacktestTimestamp(std::string_view text) {
  // "YYYY-MM-DD HH:MM:SS[.fff]" is RFC 3339 with a space and no zone: read
  // it as UTC through the strict RFC 3339 parser.
  if (text.size() >= 19 && text[10] == ' ' &&
      text.find_first_of("Zz+", 19) == std::string_view::npos &&
      text.find('-', 19) == std::string_view::npos) {
    std::string rfc(text);
    rfc[10] = 'T';
    rfc.push_back('Z');
    return ParseRfc3339(rfc);
  }
  return ParseRfc3339(text);
}

absl::StatusOr<BacktestSummary> RunBacktest(std::istream& in, std::ostream& out,
                                            const BacktestOptions& options) {
  SeriesScorer scorer(options.scoring);
  const std::vector<SeverityLevel>& levels = options.scoring.levels;
  BacktestSummary summary;
  out << "timestamp,value,anomaly_score,severity\n";
  std::string line;
  int64_t number = 0;
  bool first = true;
  while (std::getline(in, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (Trim(line).empty()) continue;
    const bool is_first = first;
    first = false;
    absl::Status bad;
    const auto fields = FirstTwoFields(line);
    std::optional<absl::Time> t;
    std::optional<double> value;
    if (!fields.has_value()) {
      bad = absl::InvalidArgumentError(absl::StrCat(
          "line ", number, ": expected timestamp,value, got ", Shown(line)));
    } else {
      absl::StatusOr<absl::Time> parsed = ParseBacktestTimestamp(fields->first);
      if (parsed.ok()) t = *parsed;
      value = ParseValue(fields->second);
      if (is_first && !t.has_value() && !value.has_value()) {
        summary.header = true;  // e.g. "timestamp,value"
        continue;
      }
      if (!t.has_value()) {
        bad = absl::InvalidArgumentError(absl::StrCat(
            "line ", number, ": bad timestamp ", Shown(fields->first),
            " (expected RFC 3339 or YYYY-MM-DD HH:MM:SS): ",
            parsed.status().message()));
      } else if (!value.has_value()) {
        bad = absl::InvalidArgumentError(
            absl::StrCat("line ", number, ": bad value ", Shown(fields->second),
                         " (expected a finite number)"));
      }
    }
    if (!bad.ok()) {
      if (!options.skip_bad_rows) return bad;
      ++summary.skipped;
      continue;
    }
    const SeriesPoint p = scorer.Next(*t, *value);
    ++summary.rows;
    if (p.warm) ++summary.warm_rows;
    if (p.record == SeriesRecord::kFiring) ++summary.episodes;
    if (p.record != SeriesRecord::kNone) ++summary.alert_rows;
    const double unit = options.per_row ? p.row_unit_score : p.unit_score;
    if (unit >= 0.5) ++summary.high_rows;
    if (unit > summary.max_score) {
      summary.max_score = unit;
      summary.max_timestamp = fields->first;
      summary.max_line = number;
    }
    std::string_view severity;
    if (p.level >= 0 && p.level < static_cast<int>(levels.size()) &&
        (options.per_row || p.record != SeriesRecord::kNone)) {
      severity = SeverityName(levels[p.level].severity);
    }
    out << CsvField(fields->first) << ',' << CsvField(fields->second) << ','
        << absl::StrFormat("%.6f", unit) << ',' << severity << '\n';
    if (!out) {
      return absl::UnavailableError("backtest: writing the scores failed");
    }
  }
  if (in.bad()) {
    return absl::DataLossError(absl::StrCat(
        "backtest: reading the series failed after line ", number));
  }
  out.flush();
  if (!out)
    return absl::UnavailableError("backtest: writing the scores failed");
  return summary;
}

}  // namespace vigia
