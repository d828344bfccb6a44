#include "pipeline/config.h"

#include <crypt.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <exception>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "pipeline/core/country.h"
#include "pipeline/core/files.h"
#include "pipeline/core/hash.h"
#include "pipeline/core/strings.h"
#include "pipeline/watermark.h"

namespace vigia {
namespace {

// ---------------------------------------------------------------------------
// Walking the YAML tree.
//
// ConfigNode and ConfigMap keep, for every value, its key path
// ("detectors.foreign_origin_surge.scoring.levels[1].min_ratio") and its line,
// so every error reads the same way: "<file>:<line>: <path>: <problem>".
// ConfigMap also records which keys were consumed, so a misspelt key is
// reported instead of silently falling back to a default. Each detector
// section is parsed with these helpers; new sections add a function, not a
// new way of reporting errors.
// ---------------------------------------------------------------------------

// What the value of a number or duration may be.
enum class Bound { kAny, kNonNegative, kPositive, kAtLeastOne };

class ConfigNode {
 public:
  ConfigNode(YAML::Node node, std::string path, int line, std::string_view file)
      : node_(std::move(node)),
        path_(std::move(path)),
        line_(line),
        file_(file) {}

  const YAML::Node& yaml() const { return node_; }
  const std::string& path() const { return path_; }
  int line() const { return line_; }
  std::string_view file() const { return file_; }
  bool is_null() const { return node_.IsNull(); }

  // The path of a child under this node.
  std::string ChildPath(std::string_view key) const {
    return path_.empty() ? std::string(key)
                         : absl::StrCat(path_, ".", ToAbsl(key));
  }

  absl::Status Error(std::string_view message) const {
    std::string where(file_);
    if (line_ > 0) absl::StrAppend(&where, ":", line_);
    if (!path_.empty()) absl::StrAppend(&where, ": ", path_);
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": ", ToAbsl(message)));
  }

  absl::StatusOr<bool> Bool() const {
    if (!IsPlainScalar()) return TypeError("a boolean (true or false)");
    const std::string& s = node_.Scalar();
    // Only the YAML 1.2 spellings: "yes", "on" or "y" are rejected, as a
    // config that means something different to different YAML readers has
    // no place in an evidence chain.
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
    return TypeError("a boolean (true or false)");
  }

  absl::StatusOr<int64_t> Int(int64_t min, int64_t max) const {
    if (!IsPlainScalar()) return TypeError("an integer");
    const std::string& s = node_.Scalar();
    int64_t v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec == std::errc::result_out_of_range) {
      return RangeError(min, max, /*too_small=*/!s.empty() && s[0] == '-');
    }
    if (ec != std::errc() || end != s.data() + s.size()) {
      return TypeError("an integer");
    }
    if (v < min || v > max) return RangeError(min, max, v < min);
    return v;
  }

  absl::StatusOr<double> Double(Bound bound) const {
    if (!IsPlainScalar()) return TypeError("a number");
    const std::string& s = node_.Scalar();
    double v = 0;
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || end != s.data() + s.size()) {
      return TypeError("a number");
    }
    if (!std::isfinite(v)) return Error("must be a finite number");
    if (absl::Status bad = CheckBound(v < 0, v <= 0, v < 1, bound); !bad.ok()) {
      return bad;
    }
    return v;
  }

  absl::StatusOr<absl::Duration> Duration(Bound bound) const {
    static constexpr std::string_view kWhat =
        "a duration such as 30s, 10m or 1h30m";
    if (!node_.IsScalar()) return TypeError(kWhat);
    absl::Duration d;
    if (!absl::ParseDuration(node_.Scalar(), &d)) return TypeError(kWhat);
    if (d == absl::InfiniteDuration() || d == -absl::InfiniteDuration()) {
      return Error("must be finite");
    }
    const absl::Duration zero = absl::ZeroDuration();
    if (absl::Status bad = CheckBound(d < zero, d <= zero, false, bound);
        !bad.ok()) {
      return bad;
    }
    return d;
  }

  absl::StatusOr<std::string> String() const {
    if (!node_.IsScalar()) return TypeError("a string");
    return node_.Scalar();
  }

  // The elements of a list (null is the empty list).
  absl::StatusOr<std::vector<ConfigNode>> Elements() const {
    std::vector<ConfigNode> out;
    if (is_null()) return out;
    if (!node_.IsSequence()) return TypeError("a list");
    for (size_t i = 0; i < node_.size(); ++i) {
      const YAML::Node element = node_[i];
      out.emplace_back(element, absl::StrCat(path_, "[", i, "]"),
                       LineOf(element, line_), file_);
    }
    return out;
  }

  // The 1-based line of `node`, or `fallback` when yaml-cpp has no mark.
  static int LineOf(const YAML::Node& node, int fallback) {
    const YAML::Mark mark = node.Mark();
    return mark.is_null() ? fallback : mark.line + 1;
  }

  absl::Status TypeError(std::string_view expected) const {
    std::string got;
    if (node_.IsNull()) {
      got = "nothing";
    } else if (node_.IsScalar()) {
      const bool quoted = node_.Tag() == "!";
      got = absl::StrCat(quoted ? "the quoted string \"" : "\"", node_.Scalar(),
                         "\"");
    } else if (node_.IsSequence()) {
      got = "a list";
    } else if (node_.IsMap()) {
      got = "a mapping";
    } else {
      got = "an undefined value";
    }
    return Error(absl::StrCat("expected ", ToAbsl(expected), ", got ", got));
  }

 private:
  // Numbers and booleans must be plain (unquoted) scalars: "3" in quotes is
  // a string in YAML, and accepting it would hide a templating mistake.
  bool IsPlainScalar() const { return node_.IsScalar() && node_.Tag() != "!"; }

  absl::Status CheckBound(bool negative, bool non_positive, bool below_one,
                          Bound bound) const {
    switch (bound) {
      case Bound::kAny:
        return absl::OkStatus();
      case Bound::kNonNegative:
        return negative ? Error("must not be negative") : absl::OkStatus();
      case Bound::kPositive:
        return non_positive ? Error("must be positive") : absl::OkStatus();
      case Bound::kAtLeastOne:
        return below_one ? Error("must be at least 1") : absl::OkStatus();
    }
    return absl::OkStatus();
  }

  // A bound as large as an int is what the code can hold, not a limit a
  // person chose: a value below `min` is told only the minimum, one above
  // `max` the maximum (once "must be at least 1" for max_keys: 1e12).
  absl::Status RangeError(int64_t min, int64_t max, bool too_small) const {
    if (max >= std::numeric_limits<int>::max()) {
      return Error(too_small ? absl::StrCat("must be at least ", min)
                             : absl::StrCat("must be at most ", max));
    }
    return Error(absl::StrCat("must be between ", min, " and ", max));
  }

  YAML::Node node_;
  std::string path_;
  int line_;
  std::string_view file_;
};

// The keys of one mapping, taken one at a time by the section parsers.
class ConfigMap {
 public:
  // Returns the mapping at `node`; null (an empty section such as
  // "decoder:") is an empty mapping.
  static absl::StatusOr<ConfigMap> Of(const ConfigNode& node) {
    ConfigMap map(node);
    if (node.is_null()) return map;
    if (!node.yaml().IsMap()) return node.TypeError("a mapping");
    for (const auto& kv : node.yaml()) {
      const int line = ConfigNode::LineOf(kv.first, node.line());
      if (!kv.first.IsScalar()) {
        return ConfigNode(kv.first, node.path(), line, node.file())
            .Error("keys must be plain strings");
      }
      const std::string& key = kv.first.Scalar();
      ConfigNode value(kv.second, node.ChildPath(key), line, node.file());
      // An index, not a scan: 40,000 kafka.settings keys once took seconds
      // to load, quadratically.
      const auto [it, inserted] =
          map.index_.try_emplace(key, map.entries_.size());
      if (!inserted) {
        return value.Error(absl::StrCat("duplicate key (first on line ",
                                        map.entries_[it->second].node.line(),
                                        ")"));
      }
      map.entries_.push_back(Entry{key, std::move(value), false});
    }
    return map;
  }

  const ConfigNode& node() const { return node_; }

  // Returns the value under `key`, or nullopt when absent, and marks the key
  // as known.
  std::optional<ConfigNode> Take(std::string_view key) {
    Entry* e = Find(key);
    if (e == nullptr) return std::nullopt;
    e->taken = true;
    return e->node;
  }

  // An error at `key` (at the mapping itself when the key is absent, with
  // the key's path all the same).
  absl::Status ErrorAt(std::string_view key, std::string_view message) const {
    if (const Entry* e = Find(key)) return e->node.Error(message);
    return ConfigNode(node_.yaml(), node_.ChildPath(key), node_.line(),
                      node_.file())
        .Error(message);
  }
  bool Has(std::string_view key) const { return Find(key) != nullptr; }

  // Reports the first key (in document order) that no parser took.
  absl::Status CheckNoUnknownKeys() const {
    for (const Entry& e : entries_) {
      if (!e.taken) return e.node.Error("unknown key");
    }
    return absl::OkStatus();
  }

  // Typed shorthands: each leaves *out unchanged when the key is absent.
  absl::Status Bool(std::string_view key, bool* out) {
    return Read(key, out, [](const ConfigNode& n) { return n.Bool(); });
  }
  template <typename T>
  absl::Status Int(std::string_view key, int64_t min, int64_t max, T* out) {
    std::optional<ConfigNode> n = Take(key);
    if (!n.has_value()) return absl::OkStatus();
    absl::StatusOr<int64_t> v = n->Int(min, max);
    if (!v.ok()) return v.status();
    *out = static_cast<T>(*v);
    return absl::OkStatus();
  }
  absl::Status Double(std::string_view key, Bound bound, double* out) {
    return Read(key, out,
                [bound](const ConfigNode& n) { return n.Double(bound); });
  }
  absl::Status Duration(std::string_view key, Bound bound,
                        absl::Duration* out) {
    return Read(key, out,
                [bound](const ConfigNode& n) { return n.Duration(bound); });
  }
  absl::Status Str(std::string_view key, std::string* out) {
    return Read(key, out, [](const ConfigNode& n) { return n.String(); });
  }
  // Takes every key, for mappings whose keys are data (kafka.settings).
  absl::Status ForEach(
      const std::function<absl::Status(const std::string&, const ConfigNode&)>&
          visit) {
    for (Entry& e : entries_) {
      e.taken = true;
      if (absl::Status s = visit(e.key, e.node); !s.ok()) return s;
    }
    return absl::OkStatus();
  }
  // Parses the mapping under `key` with `parse` (also when absent, so that
  // cross-field checks run on defaults too), then rejects unknown keys.
  absl::Status Section(std::string_view key,
                       const std::function<absl::Status(ConfigMap&)>& parse) {
    std::optional<ConfigNode> n = Take(key);
    absl::StatusOr<ConfigMap> section =
        n.has_value() ? Of(*n)
                      : Of(ConfigNode(YAML::Node(), node_.ChildPath(key),
                                      node_.line(), node_.file()));
    if (!section.ok()) return section.status();
    if (absl::Status s = parse(*section); !s.ok()) return s;
    return section->CheckNoUnknownKeys();
  }

 private:
  struct Entry {
    std::string key;
    ConfigNode node;
    bool taken;
  };

  explicit ConfigMap(ConfigNode node) : node_(std::move(node)) {}

  Entry* Find(std::string_view key) {
    const auto it = index_.find(ToAbsl(key));
    return it == index_.end() ? nullptr : &entries_[it->second];
  }
  const Entry* Find(std::string_view key) const {
    const auto it = index_.find(ToAbsl(key));
    return it == index_.end() ? nullptr : &entries_[it->second];
  }

  template <typename T, typename F>
  absl::Status Read(std::string_view key, T* out, F read) {
    std::optional<ConfigNode> n = Take(key);
    if (!n.has_value()) return absl::OkStatus();
    absl::StatusOr<T> v = read(*n);
    if (!v.ok()) return v.status();
    *out = *std::move(v);
    return absl::OkStatus();
  }

  ConfigNode node_;
  std::vector<Entry> entries_;  // in document order
  // Key -> index in entries_.
  absl::flat_hash_map<std::string, size_t> index_;
};

// Local to this file (#undef at the end).
#define CONFIG_RETURN_IF_ERROR(expr)          \
  do {                                        \
    if (absl::Status _s = (expr); !_s.ok()) { \
      return _s;                              \
    }                                         \
  } while (0)

constexpr int64_t kIntMax = std::numeric_limits<int>::max();
// The shortest hop a windowed detector runs on.
constexpr absl::Duration kMinHop = absl::Seconds(1);
// posting_clock classifies every tracked account each hop.
constexpr absl::Duration kMinPostingClockHop = absl::Minutes(1);
// Alertmanager gets every firing alert again each resend_interval.
constexpr absl::Duration kMinResendInterval = absl::Seconds(1);

// ---------------------------------------------------------------------------
// Sections.
// ---------------------------------------------------------------------------

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
    CONFIG_RETURN_IF_ERROR(
        m->Double("min_score", Bound::kNonNegative, &level.min_score));
    CONFIG_RETURN_IF_ERROR(
        m->Double("min_ratio", Bound::kNonNegative, &level.min_ratio));
    CONFIG_RETURN_IF_ERROR(
        m->Double("min_observed", Bound::kNonNegative, &level.min_observed));
    CONFIG_RETURN_IF_ERROR(
        m->Duration("min_interval", Bound::kNonNegative, &level.min_interval));
    CONFIG_RETURN_IF_ERROR(m->CheckNoUnknownKeys());

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
  CONFIG_RETURN_IF_ERROR(
      m.Duration("warmup", Bound::kNonNegative, &out->warmup));
  CONFIG_RETURN_IF_ERROR(
      m.Duration("level_half_life", Bound::kPositive, &out->level_half_life));
  CONFIG_RETURN_IF_ERROR(m.Bool("daily_cycle", &out->daily_cycle));
  CONFIG_RETURN_IF_ERROR(m.Double("daily_half_life_days", Bound::kPositive,
                                  &out->daily_half_life_days));
  CONFIG_RETURN_IF_ERROR(
      m.Double("min_expected", Bound::kPositive, &out->min_expected));
  CONFIG_RETURN_IF_ERROR(m.Double("anomaly_clip_ratio", Bound::kAtLeastOne,
                                  &out->anomaly_clip_ratio));
  CONFIG_RETURN_IF_ERROR(m.Bool("counts", &out->counts));
  CONFIG_RETURN_IF_ERROR(m.Duration("dispersion_half_life", Bound::kPositive,
                                    &out->dispersion_half_life));
  CONFIG_RETURN_IF_ERROR(m.Duration("hold", Bound::kNonNegative, &out->hold));
  if (std::optional<ConfigNode> levels = m.Take("levels")) {
    CONFIG_RETURN_IF_ERROR(ParseLevels(*levels, &out->levels));
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

absl::Status ParseForeignOriginSurge(ConfigMap& m,
                                     ForeignOriginSurgeOptions* out) {
  CONFIG_RETURN_IF_ERROR(m.Bool("enabled", &out->enabled));
  CONFIG_RETURN_IF_ERROR(m.Duration("window", Bound::kPositive, &out->window));
  CONFIG_RETURN_IF_ERROR(m.Duration("hop", Bound::kPositive, &out->hop));
  if (std::optional<ConfigNode> targets = m.Take("targets")) {
    CONFIG_RETURN_IF_ERROR(ParseTargets(*targets, &out->targets));
  }
  CONFIG_RETURN_IF_ERROR(m.Int("max_keys", 1, kIntMax, &out->max_keys));
  CONFIG_RETURN_IF_ERROR(m.Section("scoring", [out](ConfigMap& s) {
    return ParseScoring(s, &out->scoring);
  }));
  return CheckWindow(m, out->window, out->hop);
}

// ---------------------------------------------------------------------------
// coordinated_sharing, new_account_burst, state_media_amplification.

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
    CONFIG_RETURN_IF_ERROR(parse(*block, &options));
    CONFIG_RETURN_IF_ERROR(block->CheckNoUnknownKeys());
    targets.emplace(country, std::move(options));
  }
  *out = std::move(targets);
  return absl::OkStatus();
}

// A cluster ladder: 1 to 3 rungs of {severity, min_accounts}, both keys
// required, severities strictly rising, min_accounts at least 2 (one
// account is no cluster) and never falling.
absl::Status ParseClusterLevels(const ConfigNode& node,
                                std::vector<ClusterLevel>* out) {
  absl::StatusOr<std::vector<ConfigNode>> elements = node.Elements();
  if (!elements.ok()) return elements.status();
  if (elements->empty()) return node.Error("needs at least one level");
  if (elements->size() > static_cast<size_t>(kNumSeverities)) {
    return node.Error(absl::StrCat("has more than ", kNumSeverities,
                                   " levels (info, warning, critical)"));
  }
  std::vector<ClusterLevel> levels;
  for (const ConfigNode& element : *elements) {
    absl::StatusOr<ConfigMap> m = ConfigMap::Of(element);
    if (!m.ok()) return m.status();
    for (const char* key : {"severity", "min_accounts"}) {
      if (!m->Has(key)) {
        return m->ErrorAt(
            key, "missing (every level sets severity and min_accounts)");
      }
    }
    ClusterLevel level;
    absl::StatusOr<Severity> severity = ParseSeverity(*m->Take("severity"));
    if (!severity.ok()) return severity.status();
    level.severity = *severity;
    CONFIG_RETURN_IF_ERROR(
        m->Int("min_accounts", 2, kIntMax, &level.min_accounts));
    CONFIG_RETURN_IF_ERROR(m->CheckNoUnknownKeys());
    if (!levels.empty()) {
      const ClusterLevel& prev = levels.back();
      const std::string prev_name =
          absl::StrCat("levels[", levels.size() - 1, "]");
      if (level.severity <= prev.severity) {
        return m->ErrorAt(
            "severity",
            absl::StrCat("must be above ", prev_name, "'s (",
                         ToAbsl(SeverityName(prev.severity)),
                         "); list levels from the lowest severity up"));
      }
      if (level.min_accounts < prev.min_accounts) {
        return m->ErrorAt(
            "min_accounts",
            absl::StrCat("must not be below ", prev_name, "'s min_accounts"));
      }
    }
    levels.push_back(level);
  }
  *out = std::move(levels);
  return absl::OkStatus();
}

absl::Status ParseCoordinatedSharingTarget(
    ConfigMap& m, CoordinatedSharingTargetOptions* out) {
  if (std::optional<ConfigNode> levels = m.Take("levels")) {
    CONFIG_RETURN_IF_ERROR(ParseClusterLevels(*levels, &out->levels));
  }
  if (std::optional<ConfigNode> levels = m.Take("repost_levels")) {
    CONFIG_RETURN_IF_ERROR(ParseClusterLevels(*levels, &out->repost_levels));
  }
  return absl::OkStatus();
}

absl::Status ParseCoordinatedSharing(ConfigMap& m,
                                     CoordinatedSharingOptions* out) {
  CONFIG_RETURN_IF_ERROR(m.Bool("enabled", &out->enabled));
  CONFIG_RETURN_IF_ERROR(m.Duration("window", Bound::kPositive, &out->window));
  CONFIG_RETURN_IF_ERROR(
      m.Duration("resolve_after", Bound::kPositive, &out->resolve_after));
  if (out->resolve_after < out->window) {
    return m.ErrorAt(m.Has("resolve_after") ? "resolve_after" : "window",
                     "resolve_after must be at least window");
  }
  CONFIG_RETURN_IF_ERROR(
      m.Int("min_text_words", 1, 1000, &out->min_text_words));
  if (std::optional<ConfigNode> targets = m.Take("targets")) {
    CONFIG_RETURN_IF_ERROR(ParseTargets(*targets, &out->targets));
  }
  CONFIG_RETURN_IF_ERROR(m.Int("max_keys", 1, kIntMax, &out->max_keys));
  CONFIG_RETURN_IF_ERROR(
      m.Int("max_posts_per_key", 2, 100000, &out->max_posts_per_key));
  if (std::optional<ConfigNode> levels = m.Take("levels")) {
    CONFIG_RETURN_IF_ERROR(ParseClusterLevels(*levels, &out->levels));
  }
  if (std::optional<ConfigNode> levels = m.Take("repost_levels")) {
    CONFIG_RETURN_IF_ERROR(ParseClusterLevels(*levels, &out->repost_levels));
  }
  if (std::optional<ConfigNode> per_target = m.Take("per_target")) {
    CoordinatedSharingTargetOptions inherited;
    inherited.levels = out->levels;
    inherited.repost_levels = out->repost_levels;
    CONFIG_RETURN_IF_ERROR(ParsePerTarget<CoordinatedSharingTargetOptions>(
        *per_target, inherited, ParseCoordinatedSharingTarget,
        &out->per_target));
  }
  return absl::OkStatus();
}

absl::Status ParseNewAccountBurstTarget(ConfigMap& m,
                                        NewAccountBurstTargetOptions* out) {
  CONFIG_RETURN_IF_ERROR(
      m.Duration("max_account_age", Bound::kPositive, &out->max_account_age));
  return m.Section("scoring", [out](ConfigMap& s) {
    return ParseScoring(s, &out->scoring);
  });
}

absl::Status ParseNewAccountBurst(ConfigMap& m, NewAccountBurstOptions* out) {
  CONFIG_RETURN_IF_ERROR(m.Bool("enabled", &out->enabled));
  CONFIG_RETURN_IF_ERROR(m.Duration("window", Bound::kPositive, &out->window));
  CONFIG_RETURN_IF_ERROR(m.Duration("hop", Bound::kPositive, &out->hop));
  if (std::optional<ConfigNode> targets = m.Take("targets")) {
    CONFIG_RETURN_IF_ERROR(ParseTargets(*targets, &out->targets));
  }
  CONFIG_RETURN_IF_ERROR(m.Int("max_keys", 1, kIntMax, &out->max_keys));
  CONFIG_RETURN_IF_ERROR(
      m.Duration("max_account_age", Bound::kPositive, &out->max_account_age));
  CONFIG_RETURN_IF_ERROR(m.Section("scoring", [out](ConfigMap& s) {
    return ParseScoring(s, &out->scoring);
  }));
  if (std::optional<ConfigNode> per_target = m.Take("per_target")) {
    NewAccountBurstTargetOptions inherited;
    inherited.max_account_age = out->max_account_age;
    inherited.scoring = out->scoring;
    CONFIG_RETURN_IF_ERROR(ParsePerTarget<NewAccountBurstTargetOptions>(
        *per_target, inherited, ParseNewAccountBurstTarget, &out->per_target));
  }
  return CheckWindow(m, out->window, out->hop);
}

absl::Status ParseStateMediaAmplificationTarget(
    ConfigMap& m, StateMediaAmplificationTargetOptions* out) {
  return m.Section("scoring", [out](ConfigMap& s) {
    return ParseScoring(s, &out->scoring);
  });
}

absl::Status ParseStateMediaAmplification(ConfigMap& m,
                                          StateMediaAmplificationOptions* out) {
  CONFIG_RETURN_IF_ERROR(m.Bool("enabled", &out->enabled));
  CONFIG_RETURN_IF_ERROR(m.Duration("window", Bound::kPositive, &out->window));
  CONFIG_RETURN_IF_ERROR(m.Duration("hop", Bound::kPositive, &out->hop));
  if (std::optional<ConfigNode> targets = m.Take("targets")) {
    CONFIG_RETURN_IF_ERROR(ParseTargets(*targets, &out->targets));
  }
  CONFIG_RETURN_IF_ERROR(m.Int("max_keys", 1, kIntMax, &out->max_keys));
  CONFIG_RETURN_IF_ERROR(m.Bool("count_state_affiliated_accounts",
                                &out->count_state_affiliated_accounts));
  if (std::optional<ConfigNode> file = m.Take("domains_file")) {
    absl::StatusOr<std::string> path = file->String();
    if (!path.ok()) return path.status();
    out->domains_file = *path;
    out->domains = nullptr;
    if (!path->empty()) {
      // The list is read now, so a missing or malformed file stops vigia
      // before it reads a record, like any other configuration error.
      absl::StatusOr<StateMediaList> list = LoadStateMediaDomainsFile(*path);
      if (!list.ok()) return file->Error(FromAbsl(list.status().message()));
      out->domains = std::make_shared<const StateMediaList>(*std::move(list));
    }
  }
  CONFIG_RETURN_IF_ERROR(m.Section("scoring", [out](ConfigMap& s) {
    return ParseScoring(s, &out->scoring);
  }));
  if (std::optional<ConfigNode> per_target = m.Take("per_target")) {
    StateMediaAmplificationTargetOptions inherited;
    inherited.scoring = out->scoring;
    CONFIG_RETURN_IF_ERROR(ParsePerTarget<StateMediaAmplificationTargetOptions>(
        *per_target, inherited, ParseStateMediaAmplificationTarget,
        &out->per_target));
  }
  return CheckWindow(m, out->window, out->hop);
}

// The sections of detectors.coordinated_sharing, new_account_burst and
// state_media_amplification.
absl::Status ParseSharingAndAccountDetectors(ConfigMap& m, Config* config) {
  CONFIG_RETURN_IF_ERROR(
      m.Section("coordinated_sharing", [config](ConfigMap& d) {
        return ParseCoordinatedSharing(d, &config->coordinated_sharing);
      }));
  CONFIG_RETURN_IF_ERROR(m.Section("new_account_burst", [config](ConfigMap& d) {
    return ParseNewAccountBurst(d, &config->new_account_burst);
  }));
  return m.Section("state_media_amplification", [config](ConfigMap& d) {
    return ParseStateMediaAmplification(d, &config->state_media_amplification);
  });
}

// ---------------------------------------------------------------------------
// foreign_share, foreign_ad_spend, posting_clock.

absl::Status ParseForeignShareTarget(ConfigMap& m,
                                     ForeignShareTargetOptions* out) {
  CONFIG_RETURN_IF_ERROR(m.Int("min_total", 0, kIntMax, &out->min_total));
  return m.Section("scoring", [out](ConfigMap& s) {
    return ParseScoring(s, &out->scoring);
  });
}

absl::Status ParseForeignShare(ConfigMap& m, ForeignShareOptions* out) {
  CONFIG_RETURN_IF_ERROR(m.Bool("enabled", &out->enabled));
  CONFIG_RETURN_IF_ERROR(m.Duration("window", Bound::kPositive, &out->window));
  CONFIG_RETURN_IF_ERROR(m.Duration("hop", Bound::kPositive, &out->hop));
  if (std::optional<ConfigNode> targets = m.Take("targets")) {
    CONFIG_RETURN_IF_ERROR(ParseTargets(*targets, &out->targets));
  }
  CONFIG_RETURN_IF_ERROR(m.Int("max_hashtags", 0, 100000, &out->max_hashtags));
  CONFIG_RETURN_IF_ERROR(m.Int("max_keys", 1, kIntMax, &out->max_keys));
  CONFIG_RETURN_IF_ERROR(m.Int("min_total", 0, kIntMax, &out->min_total));
  CONFIG_RETURN_IF_ERROR(m.Section("scoring", [out](ConfigMap& s) {
    return ParseScoring(s, &out->scoring);
  }));
  if (std::optional<ConfigNode> per_target = m.Take("per_target")) {
    ForeignShareTargetOptions inherited;
    inherited.min_total = out->min_total;
    inherited.scoring = out->scoring;
    CONFIG_RETURN_IF_ERROR(ParsePerTarget<ForeignShareTargetOptions>(
        *per_target, inherited, ParseForeignShareTarget, &out->per_target));
  }
  return CheckWindow(m, out->window, out->hop);
}

// A list of ISO 4217 currency codes (three upper-case letters), no
// duplicates, in the order given.
absl::Status ParseCurrencies(const ConfigNode& node,
                             std::vector<CurrencyCode>* out) {
  absl::StatusOr<std::vector<ConfigNode>> elements = node.Elements();
  if (!elements.ok()) return elements.status();
  std::vector<CurrencyCode> currencies;
  for (const ConfigNode& element : *elements) {
    absl::StatusOr<std::string> code = element.String();
    if (!code.ok()) return code.status();
    const CurrencyCode currency = CurrencyCode::FromString(*code);
    if (!currency.known()) {
      return element.Error(absl::StrCat(
          "\"", *code, "\" is not a currency code (three upper-case letters)"));
    }
    if (std::find(currencies.begin(), currencies.end(), currency) !=
        currencies.end()) {
      return element.Error(absl::StrCat("duplicate currency ", *code));
    }
    currencies.push_back(currency);
  }
  *out = std::move(currencies);
  return absl::OkStatus();
}

absl::Status ParseForeignAdSpendTarget(ConfigMap& m,
                                       ForeignAdSpendTargetOptions* out) {
  if (std::optional<ConfigNode> currencies = m.Take("currencies")) {
    CONFIG_RETURN_IF_ERROR(ParseCurrencies(*currencies, &out->currencies));
  }
  CONFIG_RETURN_IF_ERROR(m.Double("first_seen_min_spend", Bound::kNonNegative,
                                  &out->first_seen_min_spend));
  CONFIG_RETURN_IF_ERROR(m.Int("min_ads", 0, kIntMax, &out->min_ads));
  CONFIG_RETURN_IF_ERROR(m.Section("scoring", [out](ConfigMap& s) {
    return ParseScoring(s, &out->scoring);
  }));
  return m.Section("count_scoring", [out](ConfigMap& s) {
    return ParseScoring(s, &out->count_scoring);
  });
}

absl::Status ParseForeignAdSpend(ConfigMap& m, ForeignAdSpendOptions* out) {
  CONFIG_RETURN_IF_ERROR(m.Bool("enabled", &out->enabled));
  CONFIG_RETURN_IF_ERROR(m.Duration("window", Bound::kPositive, &out->window));
  CONFIG_RETURN_IF_ERROR(m.Duration("hop", Bound::kPositive, &out->hop));
  if (std::optional<ConfigNode> targets = m.Take("targets")) {
    CONFIG_RETURN_IF_ERROR(ParseTargets(*targets, &out->targets));
  }
  CONFIG_RETURN_IF_ERROR(
      m.Double("spend_unit", Bound::kPositive, &out->spend_unit));
  CONFIG_RETURN_IF_ERROR(m.Int("max_keys", 1, kIntMax, &out->max_keys));
  CONFIG_RETURN_IF_ERROR(m.Int("max_payers", 1, kIntMax, &out->max_payers));
  if (std::optional<ConfigNode> severity = m.Take("first_seen_severity")) {
    absl::StatusOr<Severity> s = ParseSeverity(*severity);
    if (!s.ok()) return s.status();
    out->first_seen_severity = *s;
  }
  CONFIG_RETURN_IF_ERROR(m.Double("first_seen_min_spend", Bound::kNonNegative,
                                  &out->first_seen_min_spend));
  CONFIG_RETURN_IF_ERROR(m.Int("min_ads", 0, kIntMax, &out->min_ads));
  CONFIG_RETURN_IF_ERROR(m.Section("scoring", [out](ConfigMap& s) {
    return ParseScoring(s, &out->scoring);
  }));
  CONFIG_RETURN_IF_ERROR(m.Section("count_scoring", [out](ConfigMap& s) {
    return ParseScoring(s, &out->count_scoring);
  }));
  if (std::optional<ConfigNode> per_target = m.Take("per_target")) {
    ForeignAdSpendTargetOptions inherited;
    inherited.first_seen_min_spend = out->first_seen_min_spend;
    inherited.min_ads = out->min_ads;
    inherited.scoring = out->scoring;
    inherited.count_scoring = out->count_scoring;
    CONFIG_RETURN_IF_ERROR(ParsePerTarget<ForeignAdSpendTargetOptions>(
        *per_target, inherited, ParseForeignAdSpendTarget, &out->per_target));
  }
  return CheckWindow(m, out->window, out->hop);
}

// A target's own UTC offsets: whole hours from -12 to 14, no duplicates,
// stored sorted.
absl::Status ParseUtcOffsets(const ConfigNode& node, std::vector<int>* out) {
  absl::StatusOr<std::vector<ConfigNode>> elements = node.Elements();
  if (!elements.ok()) return elements.status();
  std::vector<int> offsets;
  for (const ConfigNode& element : *elements) {
    absl::StatusOr<int64_t> hours = element.Int(-12, 14);
    if (!hours.ok()) return hours.status();
    const int h = static_cast<int>(*hours);
    if (std::find(offsets.begin(), offsets.end(), h) != offsets.end()) {
      return element.Error(absl::StrCat("duplicate offset ", h));
    }
    offsets.push_back(h);
  }
  std::sort(offsets.begin(), offsets.end());
  *out = std::move(offsets);
  return absl::OkStatus();
}

absl::Status ParsePostingClockTarget(ConfigMap& m,
                                     PostingClockTargetOptions* out) {
  if (std::optional<ConfigNode> offsets = m.Take("utc_offsets")) {
    CONFIG_RETURN_IF_ERROR(ParseUtcOffsets(*offsets, &out->utc_offsets));
  }
  CONFIG_RETURN_IF_ERROR(m.Int("min_accounts", 1, kIntMax, &out->min_accounts));
  if (std::optional<ConfigNode> levels = m.Take("levels")) {
    CONFIG_RETURN_IF_ERROR(ParseLevels(*levels, &out->levels));
  }
  return absl::OkStatus();
}

absl::Status ParsePostingClock(ConfigMap& m, PostingClockOptions* out) {
  CONFIG_RETURN_IF_ERROR(m.Bool("enabled", &out->enabled));
  CONFIG_RETURN_IF_ERROR(m.Duration("hop", Bound::kPositive, &out->hop));
  if (out->hop > absl::Hours(24)) {
    return m.ErrorAt("hop", "must be at most 24h");
  }
  if (out->hop < kMinPostingClockHop) {
    return m.ErrorAt(
        "hop", absl::StrCat("must be at least ",
                            absl::FormatDuration(kMinPostingClockHop),
                            " (each hop classifies every tracked account)"));
  }
  if (std::optional<ConfigNode> targets = m.Take("targets")) {
    CONFIG_RETURN_IF_ERROR(ParseTargets(*targets, &out->targets));
  }
  CONFIG_RETURN_IF_ERROR(m.Int("max_accounts", 1, kIntMax, &out->max_accounts));
  CONFIG_RETURN_IF_ERROR(m.Int("min_posts", 1, kIntMax, &out->min_posts));
  CONFIG_RETURN_IF_ERROR(m.Int("min_active_days", 1, 7, &out->min_active_days));
  CONFIG_RETURN_IF_ERROR(
      m.Double("min_share", Bound::kPositive, &out->min_share));
  if (out->min_share > 1) return m.ErrorAt("min_share", "must be at most 1");
  CONFIG_RETURN_IF_ERROR(
      m.Int("min_offset_distance", 0, 12, &out->min_offset_distance));
  CONFIG_RETURN_IF_ERROR(m.Int("min_accounts", 1, kIntMax, &out->min_accounts));
  if (std::optional<ConfigNode> levels = m.Take("levels")) {
    CONFIG_RETURN_IF_ERROR(ParseLevels(*levels, &out->levels));
  }
  if (std::optional<ConfigNode> per_target = m.Take("per_target")) {
    PostingClockTargetOptions inherited;
    inherited.min_accounts = out->min_accounts;
    inherited.levels = out->levels;
    CONFIG_RETURN_IF_ERROR(ParsePerTarget<PostingClockTargetOptions>(
        *per_target, inherited, ParsePostingClockTarget, &out->per_target));
  }
  return absl::OkStatus();
}

// The sections of detectors.foreign_share, foreign_ad_spend and
// posting_clock.
absl::Status ParseShareAdsAndClockDetectors(ConfigMap& m, Config* config) {
  CONFIG_RETURN_IF_ERROR(m.Section("foreign_share", [config](ConfigMap& d) {
    return ParseForeignShare(d, &config->foreign_share);
  }));
  CONFIG_RETURN_IF_ERROR(m.Section("foreign_ad_spend", [config](ConfigMap& d) {
    return ParseForeignAdSpend(d, &config->foreign_ad_spend);
  }));
  return m.Section("posting_clock", [config](ConfigMap& d) {
    return ParsePostingClock(d, &config->posting_clock);
  });
}

absl::Status ParseKafka(ConfigMap& m, KafkaConfig* out) {
  CONFIG_RETURN_IF_ERROR(m.Str("brokers", &out->brokers));
  CONFIG_RETURN_IF_ERROR(m.Str("group_id", &out->group_id));
  for (auto [key, field] : {std::pair{"posts_topic", &out->posts_topic},
                            std::pair{"ads_topic", &out->ads_topic},
                            std::pair{"dlq_topic", &out->dlq_topic},
                            std::pair{"alerts_topic", &out->alerts_topic}}) {
    CONFIG_RETURN_IF_ERROR(m.Str(key, field));
    if (field->empty()) return m.ErrorAt(key, "must not be empty");
  }
  if (out->group_id.empty()) return m.ErrorAt("group_id", "must not be empty");
  return m.Section("settings", [out](ConfigMap& s) {
    return s.ForEach([out](const std::string& key, const ConfigNode& value) {
      if (!value.yaml().IsScalar()) {
        return value.TypeError("a string, number or boolean");
      }
      out->settings[key] = value.yaml().Scalar();
      return absl::OkStatus();
    });
  });
}

absl::Status ParseAlertmanager(ConfigMap& m, AlertmanagerConfig* out) {
  if (std::optional<ConfigNode> urls = m.Take("urls"); urls.has_value()) {
    absl::StatusOr<std::vector<ConfigNode>> elements = urls->Elements();
    if (!elements.ok()) return elements.status();
    out->urls.clear();
    for (const ConfigNode& element : *elements) {
      absl::StatusOr<std::string> url = element.String();
      if (!url.ok()) return url.status();
      if (!absl::StartsWith(*url, "http://") &&
          !absl::StartsWith(*url, "https://")) {
        return element.Error("must start with http:// or https://");
      }
      out->urls.push_back(*std::move(url));
    }
  }
  CONFIG_RETURN_IF_ERROR(
      m.Duration("resend_interval", Bound::kPositive, &out->resend_interval));
  if (out->resend_interval < kMinResendInterval) {
    return m.ErrorAt("resend_interval",
                     absl::StrCat("must be at least ",
                                  absl::FormatDuration(kMinResendInterval)));
  }
  CONFIG_RETURN_IF_ERROR(m.Duration("ttl", Bound::kNonNegative, &out->ttl));
  if (out->ttl != absl::ZeroDuration() && out->ttl < out->resend_interval) {
    return m.ErrorAt("ttl", "must be at least resend_interval (or 0)");
  }
  CONFIG_RETURN_IF_ERROR(
      m.Duration("min_hold", Bound::kNonNegative, &out->min_hold));
  const absl::Duration ttl =
      out->ttl == absl::ZeroDuration() ? 4 * out->resend_interval : out->ttl;
  if (out->min_hold > ttl) {
    return m.ErrorAt("min_hold",
                     "must not exceed ttl (4 * resend_interval "
                     "when ttl is 0)");
  }
  CONFIG_RETURN_IF_ERROR(
      m.Duration("timeout", Bound::kPositive, &out->timeout));
  CONFIG_RETURN_IF_ERROR(m.Str("runbook_base_url", &out->runbook_base_url));
  CONFIG_RETURN_IF_ERROR(m.Str("generator_url", &out->generator_url));
  return m.Bool("drill", &out->drill);
}

// "host:port" with a port of digits only.
bool IsHostAndNumericPort(const std::string& address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string::npos || colon + 1 == address.size()) return false;
  return std::all_of(address.begin() + colon + 1, address.end(),
                     [](char c) { return c >= '0' && c <= '9'; });
}

// Reads the first line of a password or hash file named by `node`.
absl::StatusOr<std::string> ReadSecretFile(const ConfigNode& node,
                                           const std::string& path) {
  absl::StatusOr<std::string> text =
      ReadFileToString(path, kMaxMetricsSecretFileBytes, "secret file");
  if (!text.ok()) return node.Error(FromAbsl(text.status().message()));
  std::string secret = *std::move(text);
  // One line; its end (a text editor's newline, a CRLF) is not part of it.
  const size_t eol = secret.find_first_of("\r\n");
  if (eol != std::string::npos) {
    if (secret.find_first_not_of("\r\n", eol) != std::string::npos) {
      return node.Error(absl::StrCat(path, " must hold a single line"));
    }
    secret.resize(eol);
  }
  if (secret.empty()) return node.Error(absl::StrCat(path, " is empty"));
  return secret;
}

absl::Status ParseMetricsAuth(ConfigMap& m, MetricsAuthConfig* out) {
  CONFIG_RETURN_IF_ERROR(m.Str("username", &out->username));
  if (out->username.empty()) {
    return m.ErrorAt("username", "is required with basic_auth");
  }
  if (out->username.find(':') != std::string::npos) {
    return m.ErrorAt("username", "must not contain ':'");
  }
  const bool plain = m.Has("password_file");
  const bool hashed = m.Has("password_hash_file");
  if (plain == hashed) {
    return m.ErrorAt(plain ? "password_hash_file" : "password_file",
                     "basic_auth needs exactly one of password_file and "
                     "password_hash_file (no inline passwords)");
  }
  const char* key = plain ? "password_file" : "password_hash_file";
  std::optional<ConfigNode> node = m.Take(key);
  absl::StatusOr<std::string> path = node->String();
  if (!path.ok()) return path.status();
  if (path->empty()) return node->Error("must name a file");
  (plain ? out->password_file : out->password_hash_file) = *path;
  // Read now, so that a missing or bad file stops vigia at start-up (and
  // `vigia config` reports it), not at the first scrape.
  absl::StatusOr<std::string> secret = ReadSecretFile(*node, *path);
  if (!secret.ok()) return secret.status();
  out->secret = *std::move(secret);
  out->hashed = hashed;
  if (hashed && !IsUsableCryptHash(out->secret)) {
    return node->Error(absl::StrCat(
        *path,
        " does not hold a crypt(3) hash this system can check (e.g. bcrypt "
        "from `htpasswd -nB USER` or sha512crypt from `openssl passwd -6`)"));
  }
  return absl::OkStatus();
}

absl::Status ParseRoot(ConfigMap& root, Config* config) {
  CONFIG_RETURN_IF_ERROR(root.Section("kafka", [config](ConfigMap& m) {
    return ParseKafka(m, &config->kafka);
  }));
  CONFIG_RETURN_IF_ERROR(root.Section("alertmanager", [config](ConfigMap& m) {
    return ParseAlertmanager(m, &config->alertmanager);
  }));
  CONFIG_RETURN_IF_ERROR(root.Section("metrics", [config](ConfigMap& m) {
    CONFIG_RETURN_IF_ERROR(m.Str("addr", &config->metrics_addr));
    if (!config->metrics_addr.empty() &&
        !IsHostAndNumericPort(config->metrics_addr)) {
      // A port suffix such as civetweb's "s" (TLS) or "r" (redirect) is
      // refused: vigia serves plain HTTP only (docs/metrics.md says why).
      return m.ErrorAt("addr", "must be HOST:PORT (or empty for none)");
    }
    if (m.Has("basic_auth")) {
      CONFIG_RETURN_IF_ERROR(m.Section("basic_auth", [config](ConfigMap& a) {
        return ParseMetricsAuth(a, &config->metrics_auth);
      }));
    }
    return absl::OkStatus();
  }));
  CONFIG_RETURN_IF_ERROR(root.Section("decoder", [config](ConfigMap& m) {
    return m.Int("max_event_bytes", 1, int64_t{1} << 30,
                 &config->decoder.max_event_bytes);
  }));
  CONFIG_RETURN_IF_ERROR(root.Section("watermark", [config](ConfigMap& m) {
    WatermarkOptions& w = config->watermark;
    CONFIG_RETURN_IF_ERROR(m.Duration(
        "max_out_of_orderness", Bound::kNonNegative, &w.max_out_of_orderness));
    CONFIG_RETURN_IF_ERROR(m.Duration("allowed_lateness", Bound::kNonNegative,
                                      &w.allowed_lateness));
    CONFIG_RETURN_IF_ERROR(
        m.Duration("idle_timeout", Bound::kPositive, &w.idle_timeout));
    CONFIG_RETURN_IF_ERROR(
        m.Duration("max_clock_lead", Bound::kPositive, &w.max_clock_lead));
    CONFIG_RETURN_IF_ERROR(
        m.Duration("max_lead", Bound::kPositive, &w.max_lead));
    CONFIG_RETURN_IF_ERROR(
        m.Int("quorum", 1, WatermarkTracker::kRecentWindow, &w.quorum));
    CONFIG_RETURN_IF_ERROR(m.Int("gap_quorum", 1, 100000, &w.gap_quorum));
    if (w.gap_quorum < w.quorum) {
      return m.ErrorAt("gap_quorum",
                       absl::StrCat("must be at least quorum (", w.quorum,
                                    "): a gap is taken on that many records"));
    }
    return absl::OkStatus();
  }));
  CONFIG_RETURN_IF_ERROR(root.Section("evidence", [config](ConfigMap& m) {
    CONFIG_RETURN_IF_ERROR(
        m.Int("max_samples", 0, 1000, &config->evidence_max_samples));
    return m.Int("top_n", 0, 1000, &config->evidence_top_n);
  }));
  return root.Section("detectors", [config](ConfigMap& m) {
    CONFIG_RETURN_IF_ERROR(
        m.Section("foreign_origin_surge", [config](ConfigMap& d) {
          return ParseForeignOriginSurge(d, &config->foreign_origin_surge);
        }));
    CONFIG_RETURN_IF_ERROR(ParseSharingAndAccountDetectors(m, config));
    return ParseShareAdsAndClockDetectors(m, config);
  });
}

absl::StatusOr<Config> ParseConfigOrThrow(std::string_view yaml,
                                          std::string_view name) {
  const std::vector<YAML::Node> documents = YAML::LoadAll(std::string(yaml));
  if (documents.size() > 1) {
    return ConfigNode(documents[1], "", ConfigNode::LineOf(documents[1], 0),
                      name)
        .Error("only one YAML document is allowed");
  }
  Config config = DefaultConfig();
  if (documents.empty()) return config;
  const ConfigNode root_node(documents[0], "",
                             ConfigNode::LineOf(documents[0], 1), name);
  absl::StatusOr<ConfigMap> root = ConfigMap::Of(root_node);
  if (!root.ok()) return root.status();
  CONFIG_RETURN_IF_ERROR(ParseRoot(*root, &config));
  CONFIG_RETURN_IF_ERROR(root->CheckNoUnknownKeys());
  return config;
}

// ---------------------------------------------------------------------------
// Canonical form.
// ---------------------------------------------------------------------------

class CanonicalWriter {
 public:
  void Add(std::string_view path, std::string_view value) {
    absl::StrAppend(&out_, ToAbsl(path), " = ", ToAbsl(value), "\n");
  }
  void Add(std::string_view path, const char* value) {
    Add(path, std::string_view(value));
  }
  void Add(std::string_view path, bool value) {
    Add(path, value ? "true" : "false");
  }
  void Add(std::string_view path, int64_t value) {
    Add(path, absl::StrCat(value));
  }
  void Add(std::string_view path, int value) {
    Add(path, static_cast<int64_t>(value));
  }
  void Add(std::string_view path, absl::Duration value) {
    Add(path, absl::FormatDuration(value));
  }
  // Doubles print in plain decimal notation with the fewest digits that
  // read back to the same value: any change of value changes the text.
  void Add(std::string_view path, double value) {
    char buf[400];
    const auto [end, ec] =
        std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::fixed);
    Add(path, ec == std::errc() ? std::string_view(buf, end - buf)
                                : std::string_view("?"));
  }

  std::string Release() { return std::move(out_); }

 private:
  std::string out_;
};

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

// coordinated_sharing, new_account_burst and state_media_amplification.

std::string CanonicalTargets(const std::vector<CountryCode>& targets) {
  std::vector<std::string> codes;
  for (CountryCode t : targets) codes.push_back(t.str());
  std::sort(codes.begin(), codes.end());
  return absl::StrCat("[", absl::StrJoin(codes, ", "), "]");
}

void CanonicalClusterLevels(std::string_view path,
                            const std::vector<ClusterLevel>& levels,
                            CanonicalWriter& w) {
  w.Add(absl::StrCat(ToAbsl(path), ".count"),
        static_cast<int64_t>(levels.size()));
  for (size_t i = 0; i < levels.size(); ++i) {
    const std::string level = absl::StrCat(ToAbsl(path), "[", i, "]");
    w.Add(absl::StrCat(level, ".severity"), SeverityName(levels[i].severity));
    w.Add(absl::StrCat(level, ".min_accounts"), levels[i].min_accounts);
  }
}

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

void CanonicalSharingAndAccountDetectors(const Config& c, CanonicalWriter& w) {
  const auto key = [](std::string_view prefix, std::string_view name) {
    return absl::StrCat(ToAbsl(prefix), ".", ToAbsl(name));
  };
  {
    const CoordinatedSharingOptions& o = c.coordinated_sharing;
    constexpr std::string_view p = "detectors.coordinated_sharing";
    w.Add(key(p, "enabled"), o.enabled);
    w.Add(key(p, "window"), o.window);
    w.Add(key(p, "resolve_after"), o.resolve_after);
    w.Add(key(p, "min_text_words"), o.min_text_words);
    w.Add(key(p, "targets"), CanonicalTargets(o.targets));
    w.Add(key(p, "max_keys"), o.max_keys);
    w.Add(key(p, "max_posts_per_key"), o.max_posts_per_key);
    CanonicalClusterLevels(key(p, "levels"), o.levels, w);
    CanonicalClusterLevels(key(p, "repost_levels"), o.repost_levels, w);
    CanonicalPerTarget(
        p, o.per_target,
        [&w, &key](std::string_view t,
                   const CoordinatedSharingTargetOptions& x) {
          CanonicalClusterLevels(key(t, "levels"), x.levels, w);
          CanonicalClusterLevels(key(t, "repost_levels"), x.repost_levels, w);
        },
        w);
  }
  {
    const NewAccountBurstOptions& o = c.new_account_burst;
    constexpr std::string_view p = "detectors.new_account_burst";
    w.Add(key(p, "enabled"), o.enabled);
    w.Add(key(p, "window"), o.window);
    w.Add(key(p, "hop"), o.hop);
    w.Add(key(p, "targets"), CanonicalTargets(o.targets));
    w.Add(key(p, "max_keys"), o.max_keys);
    w.Add(key(p, "max_account_age"), o.max_account_age);
    CanonicalScoring(key(p, "scoring"), o.scoring, w);
    CanonicalPerTarget(
        p, o.per_target,
        [&w, &key](std::string_view t, const NewAccountBurstTargetOptions& x) {
          w.Add(key(t, "max_account_age"), x.max_account_age);
          CanonicalScoring(key(t, "scoring"), x.scoring, w);
        },
        w);
  }
  {
    const StateMediaAmplificationOptions& o = c.state_media_amplification;
    constexpr std::string_view p = "detectors.state_media_amplification";
    w.Add(key(p, "enabled"), o.enabled);
    w.Add(key(p, "window"), o.window);
    w.Add(key(p, "hop"), o.hop);
    w.Add(key(p, "targets"), CanonicalTargets(o.targets));
    w.Add(key(p, "max_keys"), o.max_keys);
    w.Add(key(p, "count_state_affiliated_accounts"),
          o.count_state_affiliated_accounts);
    // The list by its contents, not its path: moving the file changes
    // nothing, editing it changes the hash.
    const std::shared_ptr<const StateMediaList> list =
        o.domains != nullptr ? o.domains : DefaultStateMediaList();
    w.Add(key(p, "domains_file"),
          absl::StrCat("sha256:", list->sha256, " (", list->outlets.size(),
                       " domains)"));
    CanonicalScoring(key(p, "scoring"), o.scoring, w);
    CanonicalPerTarget(
        p, o.per_target,
        [&w, &key](std::string_view t,
                   const StateMediaAmplificationTargetOptions& x) {
          CanonicalScoring(key(t, "scoring"), x.scoring, w);
        },
        w);
  }
}

// foreign_share, foreign_ad_spend and posting_clock.

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

void CanonicalShareAdsAndClockDetectors(const Config& c, CanonicalWriter& w) {
  const auto key = [](std::string_view prefix, std::string_view name) {
    return absl::StrCat(ToAbsl(prefix), ".", ToAbsl(name));
  };
  {
    const ForeignShareOptions& o = c.foreign_share;
    constexpr std::string_view p = "detectors.foreign_share";
    w.Add(key(p, "enabled"), o.enabled);
    w.Add(key(p, "window"), o.window);
    w.Add(key(p, "hop"), o.hop);
    w.Add(key(p, "targets"), CanonicalTargets(o.targets));
    w.Add(key(p, "max_hashtags"), o.max_hashtags);
    w.Add(key(p, "max_keys"), o.max_keys);
    w.Add(key(p, "min_total"), o.min_total);
    CanonicalScoring(key(p, "scoring"), o.scoring, w);
    CanonicalPerTarget(
        p, o.per_target,
        [&w, &key](std::string_view t, const ForeignShareTargetOptions& x) {
          w.Add(key(t, "min_total"), x.min_total);
          CanonicalScoring(key(t, "scoring"), x.scoring, w);
        },
        w);
  }
  {
    const ForeignAdSpendOptions& o = c.foreign_ad_spend;
    constexpr std::string_view p = "detectors.foreign_ad_spend";
    w.Add(key(p, "enabled"), o.enabled);
    w.Add(key(p, "window"), o.window);
    w.Add(key(p, "hop"), o.hop);
    w.Add(key(p, "targets"), CanonicalTargets(o.targets));
    w.Add(key(p, "spend_unit"), o.spend_unit);
    w.Add(key(p, "max_keys"), o.max_keys);
    w.Add(key(p, "max_payers"), o.max_payers);
    w.Add(key(p, "first_seen_severity"), SeverityName(o.first_seen_severity));
    w.Add(key(p, "first_seen_min_spend"), o.first_seen_min_spend);
    w.Add(key(p, "min_ads"), o.min_ads);
    CanonicalScoring(key(p, "scoring"), o.scoring, w);
    CanonicalScoring(key(p, "count_scoring"), o.count_scoring, w);
    CanonicalPerTarget(
        p, o.per_target,
        [&w, &key](std::string_view t, const ForeignAdSpendTargetOptions& x) {
          std::vector<std::string> codes;
          for (CurrencyCode cur : x.currencies) codes.push_back(cur.str());
          w.Add(key(t, "currencies"),
                absl::StrCat("[", absl::StrJoin(codes, ", "), "]"));
          w.Add(key(t, "first_seen_min_spend"), x.first_seen_min_spend);
          w.Add(key(t, "min_ads"), x.min_ads);
          CanonicalScoring(key(t, "scoring"), x.scoring, w);
          CanonicalScoring(key(t, "count_scoring"), x.count_scoring, w);
        },
        w);
  }
  {
    const PostingClockOptions& o = c.posting_clock;
    constexpr std::string_view p = "detectors.posting_clock";
    w.Add(key(p, "enabled"), o.enabled);
    w.Add(key(p, "hop"), o.hop);
    w.Add(key(p, "targets"), CanonicalTargets(o.targets));
    w.Add(key(p, "max_accounts"), o.max_accounts);
    w.Add(key(p, "min_posts"), o.min_posts);
    w.Add(key(p, "min_active_days"), o.min_active_days);
    w.Add(key(p, "min_share"), o.min_share);
    w.Add(key(p, "min_offset_distance"), o.min_offset_distance);
    w.Add(key(p, "min_accounts"), o.min_accounts);
    CanonicalLevels(key(p, "levels"), o.levels, w);
    CanonicalPerTarget(
        p, o.per_target,
        [&w, &key](std::string_view t, const PostingClockTargetOptions& x) {
          w.Add(key(t, "utc_offsets"),
                absl::StrCat("[", absl::StrJoin(x.utc_offsets, ", "), "]"));
          w.Add(key(t, "min_accounts"), x.min_accounts);
          CanonicalLevels(key(t, "levels"), x.levels, w);
        },
        w);
  }
}

}  // namespace

std::string Config::hash() const { return Sha256Hex(CanonicalConfig(*this)); }

Config DefaultConfig() { return Config{}; }

absl::StatusOr<Config> ParseConfig(std::string_view yaml,
                                   std::string_view name) {
  // yaml-cpp reports syntax errors (and a few others) by throwing; nothing
  // may escape this function.
  try {
    return ParseConfigOrThrow(yaml, name);
  } catch (const YAML::Exception& e) {
    std::string where(name);
    if (!e.mark.is_null()) absl::StrAppend(&where, ":", e.mark.line + 1);
    const bool syntax =
        dynamic_cast<const YAML::ParserException*>(&e) != nullptr;
    return absl::InvalidArgumentError(
        absl::StrCat(where, ": ", syntax ? "YAML syntax error: " : "", e.msg));
  } catch (const std::exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat(ToAbsl(name), ": cannot parse: ", e.what()));
  }
}

absl::StatusOr<Config> LoadConfigFile(const std::string& path) {
  absl::StatusOr<std::string> text =
      ReadFileToString(path, kMaxConfigFileBytes, "config");
  if (!text.ok()) return text.status();
  return ParseConfig(*text, path);
}

std::string CanonicalConfig(const Config& c) {
  CanonicalWriter w;
  w.Add("decoder.max_event_bytes",
        static_cast<int64_t>(c.decoder.max_event_bytes));
  w.Add("watermark.max_out_of_orderness", c.watermark.max_out_of_orderness);
  w.Add("watermark.allowed_lateness", c.watermark.allowed_lateness);
  w.Add("watermark.idle_timeout", c.watermark.idle_timeout);
  w.Add("watermark.max_clock_lead", c.watermark.max_clock_lead);
  w.Add("watermark.max_lead", c.watermark.max_lead);
  w.Add("watermark.quorum", c.watermark.quorum);
  w.Add("watermark.gap_quorum", c.watermark.gap_quorum);
  w.Add("evidence.max_samples", c.evidence_max_samples);
  w.Add("evidence.top_n", c.evidence_top_n);

  const ForeignOriginSurgeOptions& f = c.foreign_origin_surge;
  constexpr std::string_view kFos = "detectors.foreign_origin_surge";
  const auto fos = [kFos](std::string_view key) {
    return absl::StrCat(ToAbsl(kFos), ".", ToAbsl(key));
  };
  w.Add(fos("enabled"), f.enabled);
  w.Add(fos("window"), f.window);
  w.Add(fos("hop"), f.hop);
  std::vector<std::string> targets;
  for (CountryCode t : f.targets) targets.push_back(t.str());
  std::sort(targets.begin(), targets.end());
  w.Add(fos("targets"), absl::StrCat("[", absl::StrJoin(targets, ", "), "]"));
  w.Add(fos("max_keys"), f.max_keys);
  CanonicalScoring(fos("scoring"), f.scoring, w);
  CanonicalSharingAndAccountDetectors(c, w);
  CanonicalShareAdsAndClockDetectors(c, w);
  return w.Release();
}

bool IsUsableCryptHash(const std::string& hash) {
  // Legacy methods (DES, MD5) are refused: DES checks 8 characters only.
  if (hash.empty() || hash[0] != '$') return false;
  if (crypt_checksalt(hash.c_str()) != CRYPT_SALT_OK) return false;
  // Every scrape with a new password pays one check, and loading the
  // config one more: a cost of hours (bcrypt's 31, a billion SHA rounds)
  // is refused rather than run.
  if (absl::StartsWith(hash, "$2") && hash.size() > 7 && hash[3] == '$') {
    int cost = 0;
    if (!absl::SimpleAtoi(hash.substr(4, 2), &cost) || cost > kMaxBcryptCost) {
      return false;
    }
  }
  for (const char* prefix : {"$5$rounds=", "$6$rounds="}) {
    if (!absl::StartsWith(hash, prefix)) continue;
    const size_t start = std::string_view(prefix).size();
    int64_t rounds = 0;
    if (!absl::SimpleAtoi(hash.substr(start, hash.find('$', start) - start),
                          &rounds) ||
        rounds > kMaxShaCryptRounds) {
      return false;
    }
  }
  // crypt_checksalt accepts a bare setting ("$2b$10$" and a salt) too; a
  // whole hash is as long as what crypt() makes from it.
  struct crypt_data data {};
  const char* probe = crypt_rn("", hash.c_str(), &data, sizeof(data));
  return probe != nullptr && probe[0] == '$' &&
         std::string_view(probe).size() == hash.size();
}

bool IsSecretKafkaSetting(std::string_view key) {
  const std::string k = absl::AsciiStrToLower(ToAbsl(key));
  for (const char* marker : {"password", "secret", "token", "key.pem",
                             "oauthbearer.config", "sasl.jaas", "credential"}) {
    if (absl::StrContains(k, marker)) return true;
  }
  return false;
}

std::string RedactUrlCredentials(std::string_view url) {
  const size_t scheme = url.find("://");
  if (scheme == std::string_view::npos) return std::string(url);
  const size_t host = scheme + 3;
  const size_t end = url.find_first_of("/?#", host);
  const size_t at = url.substr(0, end).rfind('@');
  if (at == std::string_view::npos || at < host) return std::string(url);
  return absl::StrCat(ToAbsl(url.substr(0, host)), "[redacted]",
                      ToAbsl(url.substr(at)));
}

std::string CanonicalConnections(const Config& c) {
  CanonicalWriter w;
  const KafkaConfig& k = c.kafka;
  w.Add("kafka.brokers", k.brokers);
  w.Add("kafka.group_id", k.group_id);
  w.Add("kafka.posts_topic", k.posts_topic);
  w.Add("kafka.ads_topic", k.ads_topic);
  w.Add("kafka.dlq_topic", k.dlq_topic);
  w.Add("kafka.alerts_topic", k.alerts_topic);
  for (const auto& [key, value] : k.settings) {
    w.Add(absl::StrCat("kafka.settings.", key),
          IsSecretKafkaSetting(key) ? std::string("[redacted]") : value);
  }
  const AlertmanagerConfig& a = c.alertmanager;
  // Alertmanager URLs may carry basic-auth credentials: `vigia run` masks
  // them in its logs, and `vigia config` printed them in clear.
  std::vector<std::string> urls;
  for (const std::string& url : a.urls)
    urls.push_back(RedactUrlCredentials(url));
  w.Add("alertmanager.urls", absl::StrCat("[", absl::StrJoin(urls, ", "), "]"));
  w.Add("alertmanager.resend_interval", a.resend_interval);
  w.Add("alertmanager.ttl", a.ttl);
  w.Add("alertmanager.min_hold", a.min_hold);
  w.Add("alertmanager.timeout", a.timeout);
  w.Add("alertmanager.runbook_base_url",
        RedactUrlCredentials(a.runbook_base_url));
  w.Add("alertmanager.generator_url", RedactUrlCredentials(a.generator_url));
  w.Add("alertmanager.drill", a.drill);
  w.Add("metrics.addr", c.metrics_addr);
  // The file names only: what they hold never leaves the process.
  if (c.metrics_auth.enabled()) {
    const MetricsAuthConfig& a = c.metrics_auth;
    w.Add("metrics.basic_auth.username", a.username);
    if (a.hashed) {
      w.Add("metrics.basic_auth.password_hash_file", a.password_hash_file);
    } else {
      w.Add("metrics.basic_auth.password_file", a.password_file);
    }
  }
  return w.Release();
}

OperatorContext MakeOperatorContext(const Config& config) {
  OperatorContext context;
  context.config_hash = config.hash();
  context.max_samples = config.evidence_max_samples;
  context.top_n = config.evidence_top_n;
  return context;
}

}  // namespace vigia

#undef CONFIG_RETURN_IF_ERROR
