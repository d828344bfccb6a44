// The benchmark's results table: one Row per figure, printed for a person
// and written as JSON so that runs can be compared (e.g. with jq or diff).
// Plain values; not thread-safe (the driver fills it on its main thread).
#ifndef VIGIA_BENCH_REPORT_H_
#define VIGIA_BENCH_REPORT_H_

#include <optional>
#include <string>
#include <vector>

namespace vigia::bench {

// A figure and, when the issue sets one, its target and verdict.
struct Row {
  std::string section;  // "decode", "replay", "kafka", ...
  std::string metric;   // "events_per_s"
  double value = 0;
  std::string unit;          // "ev/s", "us", "B", "%"
  std::string target;        // e.g. ">= 50% of decode ceiling"; empty = none
  std::optional<bool> pass;  // set only with a target
  std::string note;          // context a reader needs (sizes, caveats)
};

struct Report {
  std::vector<Row> rows;
  // Machine and run facts (cpu, cores, events, seed...), as key/value.
  std::vector<std::pair<std::string, std::string>> facts;

  Row& Add(std::string section, std::string metric, double value,
           std::string unit, std::string note = "");
  // Adds a row with a target; `pass` is the honest verdict.
  Row& AddTarget(std::string section, std::string metric, double value,
                 std::string unit, std::string target, bool pass,
                 std::string note = "");
};

// The table for a terminal.
std::string FormatTable(const Report& report);
// One JSON object: {"facts":{...},"rows":[{...},...]}.
std::string FormatJson(const Report& report);

}  // namespace vigia::bench

#endif  // VIGIA_BENCH_REPORT_H_
