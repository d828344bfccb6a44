// Strict reading of YAML configuration files (vigia's config, scenarios):
// a value's key path and line travel with it, so every error reads the same
// way, "<file>:<line>: <key.path>: <problem>", e.g.
//   config.yaml:12: detectors.foreign_origin_surge.hop: must divide window
// ConfigMap records which keys were taken, so a misspelt key is reported
// instead of silently falling back to a default.
//
// Example:
//   absl::StatusOr<ConfigMap> m = ConfigMap::Of(node);
//   VIGIA_RETURN_IF_ERROR(m->Duration("window", Bound::kPositive, &window));
//   VIGIA_RETURN_IF_ERROR(m->CheckNoUnknownKeys());
//
// Values are small and copied freely; a ConfigNode refers to its file name
// (a string_view) and to the yaml-cpp document, which must outlive it. Not
// thread-safe (yaml-cpp nodes are not); use from one thread.
#ifndef VIGIA_PIPELINE_CORE_YAML_CONFIG_H_
#define VIGIA_PIPELINE_CORE_YAML_CONFIG_H_

#include <yaml-cpp/yaml.h>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "pipeline/core/strings.h"

namespace vigia {

// What the value of a number or duration may be.
enum class Bound { kAny, kNonNegative, kPositive, kAtLeastOne };

// One value of a YAML document with its key path and 1-based line. Typed
// getters return the value or an InvalidArgument error at the node.
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

// The keys of one mapping, taken one at a time by the section parsers; a
// key nobody took is an "unknown key" error (CheckNoUnknownKeys).
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

}  // namespace vigia

#endif  // VIGIA_PIPELINE_CORE_YAML_CONFIG_H_
