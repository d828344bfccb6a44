// The YAML reader scenarios are parsed with: typed values over the core's
// strict reader (pipeline/core/yaml_config.h: key paths, lines, duplicate
// keys, the "file:line: key.path: problem" errors config files share). The
// loader (load.cc) reads the common parts with it, and each campaign kind
// its own section (KindSpec::parse, kinds/). Every key read records its
// line, so that a problem validation finds afterwards points at a line too.
//
// Internal to vigia::gen. One reader per document; not thread-safe.
#ifndef VIGIA_PIPELINE_GEN_READER_H_
#define VIGIA_PIPELINE_GEN_READER_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "pipeline/core/types.h"
#include "pipeline/core/yaml_config.h"
#include "pipeline/gen/checks.h"
#include "pipeline/gen/scenario.h"

namespace vigia::gen::internal {

class YamlReader {
 public:
  // `source` names the document in messages; it must outlive the reader.
  explicit YamlReader(std::string_view source) : source_(source) {}

  // Calls fn(key, value) for each key of the mapping `node`, in document
  // order; a key not in `allowed` is an error naming those that are. A
  // section present but empty (`disorder:`) keeps its defaults.
  template <typename F>
  absl::Status Map(const ConfigNode& node,
                   const std::vector<std::string_view>& allowed, F&& fn) {
    if (node.is_null()) return absl::OkStatus();
    if (!node.yaml().IsMap()) return node.Error("must be a mapping");
    absl::StatusOr<ConfigMap> map = ConfigMap::Of(node);
    if (!map.ok()) return map.status();
    return map->ForEach([&](const std::string& name,
                            const ConfigNode& value) -> absl::Status {
      if (std::find(allowed.begin(), allowed.end(), name) == allowed.end()) {
        return value.Error(absl::StrCat(
            "unknown key (expected one of: ",
            absl::StrJoin(
                allowed, ", ",
                [](std::string* out, std::string_view k) { out->append(k); }),
            ")"));
      }
      Note(value);
      return fn(name, value);
    });
  }

  // Element i of a list. REQUIRES: i < the list's size.
  static ConfigNode Element(const ConfigNode& list, size_t i);
  // The elements of a list, or an error unless `v` is one.
  static absl::StatusOr<std::vector<ConfigNode>> List(const ConfigNode& v);

  // Scalars: each is an error naming the key unless `v` holds one.
  absl::Status String(const ConfigNode& v, std::string* out);
  absl::Status Number(const ConfigNode& v, double* out);
  absl::Status Int(const ConfigNode& v, int64_t* out);
  // A list of exactly two integers: [8, 15].
  absl::Status IntPair(const ConfigNode& v, int64_t* first, int64_t* second);
  // The scenario syntax: "1d14h30m" (ParseScenarioDuration).
  absl::Status Duration(const ConfigNode& v, absl::Duration* out);
  // RFC 3339.
  absl::Status Time(const ConfigNode& v, absl::Time* out);
  // ISO 3166-1 alpha-2.
  absl::Status Country(const ConfigNode& v, CountryCode* out);
  // ISO 4217.
  absl::Status Currency(const ConfigNode& v, CurrencyCode* out);
  // "+03:00", "-05:30" or "Z", within +-14:00.
  absl::Status UtcOffset(const ConfigNode& v, absl::Duration* out);

  // Lists and mixes.
  absl::Status StringList(const ConfigNode& v, std::vector<std::string>* out);
  absl::Status NumberList(const ConfigNode& v, std::vector<double>* out);
  // A mapping name: share, sorted by name.
  absl::Status Shares(const ConfigNode& v, std::vector<NamedShare>* out);
  // A mapping COUNTRY: share, sorted by country.
  absl::Status OriginMix(const ConfigNode& v, std::vector<OriginShare>* out);

  // Records that the key at `v` was read, and its line.
  void Note(const ConfigNode& v) { lines_[v.path()] = v.line(); }
  // Whether a key with this path was read.
  bool Has(const std::string& path) const { return lines_.contains(path); }
  // A problem found after reading, at the line of its key path or of the
  // nearest enclosing key that was read.
  absl::Status Fail(const Problem& p) const;

  std::string_view source() const { return source_; }

 private:
  std::string_view source_;
  std::map<std::string, int> lines_;
};

}  // namespace vigia::gen::internal

#endif  // VIGIA_PIPELINE_GEN_READER_H_
