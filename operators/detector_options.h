// What the detectors' option blocks share, read and written in one form:
// the severity ladder, the scoring block, target lists, the window/hop
// check, per-target override blocks, and their canonical text.
//
// Each detector reads its own section with these (ParseOptions in its
// header) and writes it back with them (WriteCanonical), so that every
// detector's settings are spelt, checked and hashed alike; the registry
// (pipeline/detectors.h) calls both. Pure functions; thread-safe.
#ifndef VIGIA_OPERATORS_DETECTOR_OPTIONS_H_
#define VIGIA_OPERATORS_DETECTOR_OPTIONS_H_

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "operators/scoring_options.h"
#include "pipeline/core/alert.h"
#include "pipeline/core/canonical_writer.h"
#include "pipeline/core/country.h"
#include "pipeline/core/status_macros.h"
#include "pipeline/core/strings.h"
#include "pipeline/core/types.h"
#include "pipeline/core/yaml_config.h"

namespace vigia {

// The largest value an int option may take.
inline constexpr int64_t kIntMax = std::numeric_limits<int>::max();
// The shortest hop a windowed detector runs on.
inline constexpr absl::Duration kMinHop = absl::Seconds(1);

// A severity name: info, warning or critical.
absl::StatusOr<Severity> ParseSeverity(const ConfigNode& node);

// A severity ladder (`levels`): 1 to 3 rungs, each with severity,
// min_score, min_ratio and min_observed (min_interval optional), climbing.
absl::Status ParseLevels(const ConfigNode& node,
                         std::vector<SeverityLevel>* out);

// A scoring block. `out` holds the inherited values on entry, so only the
// keys present change.
absl::Status ParseScoring(ConfigMap& m, ScoringOptions* out);

// A list of target countries (ISO 3166-1 alpha-2), stored sorted.
absl::Status ParseTargets(const ConfigNode& node,
                          std::vector<CountryCode>* out);

// Checks a sliding window's length and hop (the keys `window` and `hop` of
// `m`, blamed when wrong): hop at least kMinHop, window a whole number of
// hops, at most 10000 of them.
absl::Status CheckWindow(const ConfigMap& m, absl::Duration window,
                         absl::Duration hop);

// A `per_target` mapping: target country -> a block of overrides. Each
// target's block starts from `inherited` (the detector's own settings,
// parsed before this is called) and `parse` applies the keys given.
template <typename T>
absl::Status ParsePerTarget(
    const ConfigNode& node, const T& inherited,
    const std::function<absl::Status(ConfigMap&, T*)>& parse,
    std::map<CountryCode, T>* out) {
  absl::StatusOr<ConfigMap> map = ConfigMap::Of(node);  // type, duplicates
  if (!map.ok()) return map.status();
  std::map<CountryCode, T> targets;
  if (node.is_null()) {
    *out = std::move(targets);
    return absl::OkStatus();
  }
  for (const auto& kv : node.yaml()) {
    const std::string& code = kv.first.Scalar();
    std::optional<ConfigNode> value = map->Take(code);
    const CountryCode country = ParseCountry(code);
    if (!country.known()) {
      std::string message = absl::StrCat(
          "\"", code, "\" is not an ISO 3166-1 alpha-2 country code");
      if (code == "UK") {
        absl::StrAppend(&message, " (the United Kingdom is GB)");
      }
      return value->Error(message);
    }
    absl::StatusOr<ConfigMap> block = ConfigMap::Of(*value);
    if (!block.ok()) return block.status();
    T options = inherited;
    VIGIA_RETURN_IF_ERROR(parse(*block, &options));
    VIGIA_RETURN_IF_ERROR(block->CheckNoUnknownKeys());
    targets.emplace(country, std::move(options));
  }
  *out = std::move(targets);
  return absl::OkStatus();
}

// A cluster ladder: 1 to 3 rungs of {severity, min_accounts}, both keys
// required, severities strictly rising, min_accounts at least 2 (one

// Canonical text: a scoring block under `prefix` ("<detector>.scoring").
void CanonicalScoring(std::string_view prefix, const ScoringOptions& s,
                      CanonicalWriter& w);

// A target list as "[A, B]", sorted.
std::string CanonicalTargets(const std::vector<CountryCode>& targets);

// A ladder under `path`: its count, then each rung in full.
void CanonicalLevels(std::string_view path,
                     const std::vector<SeverityLevel>& levels,
                     CanonicalWriter& w);

// `per_target = {}` when empty; otherwise the sorted target list, then every
// setting of each target's block in full (`write(prefix, options)`).
template <typename T, typename F>
void CanonicalPerTarget(std::string_view detector,
                        const std::map<CountryCode, T>& per_target, F write,
                        CanonicalWriter& w) {
  const std::string path = absl::StrCat(ToAbsl(detector), ".per_target");
  std::vector<std::string> codes;
  for (const auto& [target, options] : per_target) {
    codes.push_back(target.str());
  }
  w.Add(path, codes.empty()
                  ? std::string("{}")
                  : absl::StrCat("{", absl::StrJoin(codes, ", "), "}"));
  for (const auto& [target, options] : per_target) {
    write(absl::StrCat(path, ".", target.str()), options);
  }
}

// "<prefix>.<name>": a key under a detector's section.
inline std::string OptionKey(std::string_view prefix, std::string_view name) {
  return absl::StrCat(ToAbsl(prefix), ".", ToAbsl(name));
}

}  // namespace vigia

#endif  // VIGIA_OPERATORS_DETECTOR_OPTIONS_H_
