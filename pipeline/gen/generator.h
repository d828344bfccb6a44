// The synthetic feed generator behind `vigia gen`: turns a Scenario
// (scenario.h) into an NDJSON archive of posts and ads in the feed contract
// (docs/feeds.md), plus a ground-truth JSON of what was injected. The
// scenario format, the bundled scenarios and the truth format are in
// docs/scenarios.md.
//
// Output is deterministic: the same scenario (seed included) gives
// byte-identical feed and truth. The organic background does not depend on
// the campaigns, so a scenario with and without its campaigns differs only
// by the campaigns' lines.
//
// Generate() keeps one small record per event in memory (32 bytes), the
// content of each cascade original until its last repost is written, and
// renders lines as it writes them. It is thread-safe in the sense that
// concurrent calls share nothing.
//
// Example:
//   absl::StatusOr<gen::Scenario> s = gen::LoadScenario("diaspora");
//   s->duration = absl::Hours(6);  // overrides are plain field writes
//   absl::StatusOr<gen::GenerateResult> r = gen::Generate(*s, std::cout);
#ifndef VIGIA_PIPELINE_GEN_GENERATOR_H_
#define VIGIA_PIPELINE_GEN_GENERATOR_H_

#include <cstdint>
#include <ostream>
#include <string>

#include "absl/status/statusor.h"
#include "pipeline/gen/scenario.h"

namespace vigia::gen {

struct GenerateResult {
  int64_t events = 0;  // valid records written (posts + ads), late included
  int64_t posts = 0;
  int64_t ads = 0;
  int64_t bad_lines = 0;    // lines that are deliberately not valid records
  int64_t late_events = 0;  // valid posts delivered `late_by` after their time
  std::string truth_json;   // one line, no trailing newline
};

// Writes the scenario's archive to `out`, one record per line. Returns
// InvalidArgument if ValidateScenario() fails (e.g. a campaign no longer
// fits after a duration override), DataLoss if writing fails.
absl::StatusOr<GenerateResult> Generate(const Scenario& scenario,
                                        std::ostream& out);

// As Generate(), writing the archive to `feed_path` and the truth (plus a
// newline) to `truth_path`, both truncated first. Returns Unavailable if a
// file cannot be opened.
absl::StatusOr<GenerateResult> GenerateToFiles(const Scenario& scenario,
                                               const std::string& feed_path,
                                               const std::string& truth_path);

}  // namespace vigia::gen

#endif  // VIGIA_PIPELINE_GEN_GENERATOR_H_
