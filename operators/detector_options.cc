#include "operators/detector_options.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pipeline/core/country.h"

namespace vigia {

absl::StatusOr<Severity> ParseSeverity(const ConfigNode& node) {
  absl::StatusOr<std::string> name = node.String();
  if (!name.ok()) return name.status();
  for (int i = 0; i < kNumSeverities; ++i) {
    const Severity s = static_cast<Severity>(i);
    if (*name == SeverityName(s)) return s;
  }
  return node.Error(absl::StrCat("unknown severity \"", *name,
                                 "\" (expected info, warning or critical)"));
}

// The severity ladder: every rung needs its four thresholds, since a partly
// specified rung (say, a missing min_ratio of 0) would page on noise. The
// rate gate, min_interval, is optional: without it (0s) a rung is judged on
// its thresholds alone, as before the gate existed, which is never laxer.
absl::Status ParseLevels(const ConfigNode& node,
                         std::vector<SeverityLevel>* out) {
  absl::StatusOr<std::vector<ConfigNode>> elements = node.Elements();
  if (!elements.ok()) return elements.status();
  if (elements->empty()) return node.Error("needs at least one level");
  if (elements->size() > static_cast<size_t>(kNumSeverities)) {
    return node.Error(absl::StrCat("has more than ", kNumSeverities,
                                   " levels (info, warning, critical)"));
  }
  std::vector<SeverityLevel> levels;
  for (const ConfigNode& element : *elements) {
    absl::StatusOr<ConfigMap> m = ConfigMap::Of(element);
    if (!m.ok()) return m.status();
    for (const char* key :
         {"severity", "min_score", "min_ratio", "min_observed"}) {
      if (!m->Has(key)) {
        return m->ErrorAt(key,
                          "missing (every level sets severity, "
                          "min_score, min_ratio and min_observed)");
      }
    }
    SeverityLevel level;
    absl::StatusOr<Severity> severity = ParseSeverity(*m->Take("severity"));
    if (!severity.ok()) return severity.status();
    level.severity = *severity;
    VIGIA_RETURN_IF_ERROR(
        m->Double("min_score", Bound::kNonNegative, &level.min_score));
    VIGIA_RETURN_IF_ERROR(
        m->Double("min_ratio", Bound::kNonNegative, &level.min_ratio));
    VIGIA_RETURN_IF_ERROR(
        m->Double("min_observed", Bound::kNonNegative, &level.min_observed));
    VIGIA_RETURN_IF_ERROR(
        m->Duration("min_interval", Bound::kNonNegative, &level.min_interval));
    VIGIA_RETURN_IF_ERROR(m->CheckNoUnknownKeys());

    // A ladder must climb: each rung more severe than the one below and at
    // least as demanding on every threshold, or a higher severity could be
    // reached without the lower one.
    if (!levels.empty()) {
      const SeverityLevel& prev = levels.back();
      const std::string prev_name =
          absl::StrCat("levels[", levels.size() - 1, "]");
      if (level.severity <= prev.severity) {
        return m->ErrorAt(
            "severity",
            absl::StrCat("must be above ", prev_name, "'s (",
                         ToAbsl(SeverityName(prev.severity)),
                         "); list levels from the lowest severity up"));
      }
      const std::pair<const char*, bool> checks[] = {
          {"min_score", level.min_score < prev.min_score},
          {"min_ratio", level.min_ratio < prev.min_ratio},
          {"min_observed", level.min_observed < prev.min_observed},
          {"min_interval", level.min_interval < prev.min_interval},
      };
      for (const auto& [key, lower] : checks) {
        if (lower) {
          return m->ErrorAt(
              key, absl::StrCat("must not be below ", prev_name, "'s ", key));
        }
      }
    }
    levels.push_back(level);
  }
  *out = std::move(levels);
  return absl::OkStatus();
}

// A scoring block. `out` holds the inherited values on entry (the defaults
// now; a detector's block when per-target overrides arrive), so only the
// keys present change.
absl::Status ParseScoring(ConfigMap& m, ScoringOptions* out) {
  VIGIA_RETURN_IF_ERROR(
      m.Duration("warmup", Bound::kNonNegative, &out->warmup));
  VIGIA_RETURN_IF_ERROR(
      m.Duration("level_half_life", Bound::kPositive, &out->level_half_life));
  VIGIA_RETURN_IF_ERROR(m.Bool("daily_cycle", &out->daily_cycle));
  VIGIA_RETURN_IF_ERROR(m.Double("daily_half_life_days", Bound::kPositive,
                                 &out->daily_half_life_days));
  VIGIA_RETURN_IF_ERROR(
      m.Double("min_expected", Bound::kPositive, &out->min_expected));
  VIGIA_RETURN_IF_ERROR(m.Double("anomaly_clip_ratio", Bound::kAtLeastOne,
                                 &out->anomaly_clip_ratio));
  VIGIA_RETURN_IF_ERROR(m.Bool("counts", &out->counts));
  VIGIA_RETURN_IF_ERROR(m.Duration("dispersion_half_life", Bound::kPositive,
                                   &out->dispersion_half_life));
  VIGIA_RETURN_IF_ERROR(m.Duration("hold", Bound::kNonNegative, &out->hold));
  if (std::optional<ConfigNode> levels = m.Take("levels")) {
    VIGIA_RETURN_IF_ERROR(ParseLevels(*levels, &out->levels));
  }
  return absl::OkStatus();
}

// A list of target countries: ISO 3166-1 alpha-2, upper case, no
// duplicates. Stored sorted, since the order carries no meaning.
absl::Status ParseTargets(const ConfigNode& node,
                          std::vector<CountryCode>* out) {
  absl::StatusOr<std::vector<ConfigNode>> elements = node.Elements();
  if (!elements.ok()) return elements.status();
  std::vector<CountryCode> targets;
  for (const ConfigNode& element : *elements) {
    absl::StatusOr<std::string> code = element.String();
    if (!code.ok()) return code.status();
    const CountryCode country = ParseCountry(*code);
    if (!country.known()) {
      std::string message = absl::StrCat(
          "\"", *code, "\" is not an ISO 3166-1 alpha-2 country code");
      if (*code == "UK") {
        absl::StrAppend(&message, " (the United Kingdom is GB)");
      }
      return element.Error(message);
    }
    if (std::find(targets.begin(), targets.end(), country) != targets.end()) {
      return element.Error(absl::StrCat("duplicate target ", *code));
    }
    targets.push_back(country);
  }
  std::sort(targets.begin(), targets.end());
  *out = std::move(targets);
  return absl::OkStatus();
}

// A sliding window's length and hop: both positive, window a whole number of
// hops, and not so many hops that per-key state explodes.
absl::Status CheckWindow(const ConfigMap& m, absl::Duration window,
                         absl::Duration hop) {
  constexpr int64_t kMaxBuckets = 10000;
  // Every hop of event time is evaluated for every key: a 1ns hop over a
  // two-day feed is 1.7e14 evaluations (it ran out of memory), a 1ms hop
  // ran for minutes on 50k records.
  if (hop < kMinHop) {
    return m.ErrorAt(
        m.Has("hop") ? "hop" : "window",
        absl::StrCat("must be at least ", absl::FormatDuration(kMinHop),
                     " (each hop is evaluated for every key)"));
  }
  absl::Duration remainder;
  const int64_t buckets = absl::IDivDuration(window, hop, &remainder);
  if (remainder != absl::ZeroDuration()) {
    // Blame the key the user wrote; if both are defaults this cannot fail.
    if (m.Has("hop")) {
      return m.ErrorAt("hop", absl::StrCat("must divide window (",
                                           absl::FormatDuration(window), ")"));
    }
    return m.ErrorAt("window", absl::StrCat("must be a multiple of hop (",
                                            absl::FormatDuration(hop), ")"));
  }
  if (buckets > kMaxBuckets) {
    return m.ErrorAt(m.Has("hop") ? "hop" : "window",
                     absl::StrCat("window / hop must be at most ", kMaxBuckets,
                                  ", is ", buckets));
  }
  return absl::OkStatus();
}
void CanonicalScoring(std::string_view prefix, const ScoringOptions& s,
                      CanonicalWriter& w) {
  const auto path = [prefix](std::string_view key) {
    return absl::StrCat(ToAbsl(prefix), ".", ToAbsl(key));
  };
  w.Add(path("warmup"), s.warmup);
  w.Add(path("level_half_life"), s.level_half_life);
  w.Add(path("daily_cycle"), s.daily_cycle);
  w.Add(path("daily_half_life_days"), s.daily_half_life_days);
  w.Add(path("min_expected"), s.min_expected);
  w.Add(path("anomaly_clip_ratio"), s.anomaly_clip_ratio);
  w.Add(path("counts"), s.counts);
  w.Add(path("dispersion_half_life"), s.dispersion_half_life);
  w.Add(path("hold"), s.hold);
  w.Add(path("levels.count"), static_cast<int64_t>(s.levels.size()));
  for (size_t i = 0; i < s.levels.size(); ++i) {
    const SeverityLevel& l = s.levels[i];
    const std::string level = path(absl::StrCat("levels[", i, "]"));
    w.Add(absl::StrCat(level, ".severity"), SeverityName(l.severity));
    w.Add(absl::StrCat(level, ".min_score"), l.min_score);
    w.Add(absl::StrCat(level, ".min_ratio"), l.min_ratio);
    w.Add(absl::StrCat(level, ".min_observed"), l.min_observed);
    w.Add(absl::StrCat(level, ".min_interval"), l.min_interval);
  }
}

std::string CanonicalTargets(const std::vector<CountryCode>& targets) {
  std::vector<std::string> codes;
  for (CountryCode t : targets) codes.push_back(t.str());
  std::sort(codes.begin(), codes.end());
  return absl::StrCat("[", absl::StrJoin(codes, ", "), "]");
}
void CanonicalLevels(std::string_view path,
                     const std::vector<SeverityLevel>& levels,
                     CanonicalWriter& w) {
  w.Add(absl::StrCat(ToAbsl(path), ".count"),
        static_cast<int64_t>(levels.size()));
  for (size_t i = 0; i < levels.size(); ++i) {
    const SeverityLevel& l = levels[i];
    const std::string level = absl::StrCat(ToAbsl(path), "[", i, "]");
    w.Add(absl::StrCat(level, ".severity"), SeverityName(l.severity));
    w.Add(absl::StrCat(level, ".min_score"), l.min_score);
    w.Add(absl::StrCat(level, ".min_ratio"), l.min_ratio);
    w.Add(absl::StrCat(level, ".min_observed"), l.min_observed);
    w.Add(absl::StrCat(level, ".min_interval"), l.min_interval);
  }
}

}  // namespace vigia
