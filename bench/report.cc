#include "bench/report.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "pipeline/core/json_writer.h"

namespace vigia::bench {

Row& Report::Add(std::string section, std::string metric, double value,
                 std::string unit, std::string note) {
  rows.push_back(Row{std::move(section), std::move(metric), value,
                     std::move(unit), "", std::nullopt, std::move(note)});
  return rows.back();
}

Row& Report::AddTarget(std::string section, std::string metric, double value,
                       std::string unit, std::string target, bool pass,
                       std::string note) {
  rows.push_back(Row{std::move(section), std::move(metric), value,
                     std::move(unit), std::move(target), pass,
                     std::move(note)});
  return rows.back();
}

namespace {

// Large rates with thousands separators read faster than 1.234e+06.
std::string FormatValue(double v) {
  if (!std::isfinite(v)) return "n/a";
  if (std::fabs(v) >= 1000) {
    std::string digits = absl::StrFormat("%.0f", v);
    std::string out;
    const size_t start = digits[0] == '-' ? 1 : 0;
    for (size_t i = 0; i < digits.size(); ++i) {
      if (i > start && (digits.size() - i) % 3 == 0) out.push_back(',');
      out.push_back(digits[i]);
    }
    return out;
  }
  if (std::fabs(v) >= 10) return absl::StrFormat("%.1f", v);
  return absl::StrFormat("%.3f", v);
}

}  // namespace

std::string FormatTable(const Report& report) {
  std::string out;
  for (const auto& [k, v] : report.facts) {
    absl::StrAppend(&out, absl::StrFormat("%-14s %s\n", k, v));
  }
  absl::StrAppend(&out, "\n");
  // The section column is as wide as its longest name.
  int width = 9;
  for (const Row& r : report.rows) {
    width = std::max(width, static_cast<int>(r.section.size()));
  }
  const std::string header =
      absl::StrFormat("%-*s %-30s %16s %-5s %-28s %-5s %s\n", width, "section",
                      "metric", "value", "unit", "target", "", "note");
  absl::StrAppend(&out, header, std::string(header.size() - 1, '-'), "\n");
  for (const Row& r : report.rows) {
    const char* verdict = !r.pass.has_value() ? "" : *r.pass ? "PASS" : "MISS";
    absl::StrAppend(
        &out, absl::StrFormat("%-*s %-30s %16s %-5s %-28s %-5s %s\n", width,
                              r.section, r.metric, FormatValue(r.value), r.unit,
                              r.target, verdict, r.note));
  }
  return out;
}

std::string FormatJson(const Report& report) {
  JsonWriter w;
  w.BeginObject();
  w.Key("facts");
  w.BeginObject();
  for (const auto& [k, v] : report.facts) {
    w.Key(k);
    w.String(v);
  }
  w.EndObject();
  w.Key("rows");
  w.BeginArray();
  for (const Row& r : report.rows) {
    w.BeginObject();
    w.Key("section");
    w.String(r.section);
    w.Key("metric");
    w.String(r.metric);
    w.Key("value");
    if (std::isfinite(r.value)) {
      w.Double(r.value);
    } else {
      w.Null();
    }
    w.Key("unit");
    w.String(r.unit);
    if (r.pass.has_value()) {
      w.Key("target");
      w.String(r.target);
      w.Key("pass");
      w.Bool(*r.pass);
    }
    if (!r.note.empty()) {
      w.Key("note");
      w.String(r.note);
    }
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return w.Release();
}

}  // namespace vigia::bench
