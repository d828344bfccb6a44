#include "pipeline/gen/reader.h"

#include <charconv>
#include <cmath>
#include <utility>

#include "pipeline/core/country.h"
#include "pipeline/core/status_macros.h"
#include "pipeline/core/strings.h"
#include "pipeline/core/time.h"
#include "yaml-cpp/yaml.h"

namespace vigia::gen::internal {
namespace {

absl::StatusOr<double> ParseNumber(std::string_view text) {
  double v = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || ptr != end || !std::isfinite(v)) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", ToAbsl(text), "\" is not a number"));
  }
  return v;
}

absl::StatusOr<int64_t> ParseInteger(std::string_view text) {
  int64_t v = 0;
  const char* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || ptr != end) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", ToAbsl(text), "\" is not an integer"));
  }
  return v;
}

absl::StatusOr<absl::Duration> ParseUtcOffset(std::string_view s) {
  if (s == "Z") return absl::ZeroDuration();
  if (s.size() != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':') {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", ToAbsl(s), "\" is not an offset like +03:00"));
  }
  auto digits = [&](size_t pos) {
    return (s[pos] - '0') * 10 + (s[pos + 1] - '0');
  };
  for (size_t pos : {1, 2, 4, 5}) {
    if (s[pos] < '0' || s[pos] > '9') {
      return absl::InvalidArgumentError(
          absl::StrCat("\"", ToAbsl(s), "\" is not an offset like +03:00"));
    }
  }
  const int hours = digits(1), minutes = digits(4);
  if (hours > 14 || minutes > 59) {
    return absl::InvalidArgumentError(
        absl::StrCat("\"", ToAbsl(s), "\" is out of range"));
  }
  const absl::Duration d = absl::Hours(hours) + absl::Minutes(minutes);
  return s[0] == '-' ? -d : d;
}

}  // namespace

ConfigNode YamlReader::Element(const ConfigNode& list, size_t i) {
  const YAML::Node element = list.yaml()[i];
  return ConfigNode(element, absl::StrCat(list.path(), "[", i, "]"),
                    ConfigNode::LineOf(element, list.line()), list.file());
}

absl::StatusOr<std::vector<ConfigNode>> YamlReader::List(const ConfigNode& v) {
  if (!v.yaml().IsSequence()) return v.Error("must be a list");
  return v.Elements();
}

absl::Status YamlReader::String(const ConfigNode& v, std::string* out) {
  if (v.is_null()) return v.Error("needs a value");
  if (!v.yaml().IsScalar()) return v.Error("must be a scalar");
  *out = v.yaml().Scalar();
  return absl::OkStatus();
}

absl::Status YamlReader::Number(const ConfigNode& v, double* out) {
  std::string text;
  VIGIA_RETURN_IF_ERROR(String(v, &text));
  absl::StatusOr<double> d = ParseNumber(text);
  if (!d.ok()) return v.Error(FromAbsl(d.status().message()));
  *out = *d;
  return absl::OkStatus();
}

absl::Status YamlReader::Int(const ConfigNode& v, int64_t* out) {
  std::string text;
  VIGIA_RETURN_IF_ERROR(String(v, &text));
  absl::StatusOr<int64_t> i = ParseInteger(text);
  if (!i.ok()) return v.Error(FromAbsl(i.status().message()));
  *out = *i;
  return absl::OkStatus();
}

absl::Status YamlReader::IntPair(const ConfigNode& v, int64_t* first,
                                 int64_t* second) {
  if (!v.yaml().IsSequence() || v.yaml().size() != 2) {
    return v.Error("must be a list of two integers");
  }
  VIGIA_RETURN_IF_ERROR(Int(Element(v, 0), first));
  return Int(Element(v, 1), second);
}

absl::Status YamlReader::Duration(const ConfigNode& v, absl::Duration* out) {
  std::string text;
  VIGIA_RETURN_IF_ERROR(String(v, &text));
  absl::StatusOr<absl::Duration> d = ParseScenarioDuration(text);
  if (!d.ok()) return v.Error(FromAbsl(d.status().message()));
  *out = *d;
  return absl::OkStatus();
}

absl::Status YamlReader::Time(const ConfigNode& v, absl::Time* out) {
  std::string text;
  VIGIA_RETURN_IF_ERROR(String(v, &text));
  absl::StatusOr<absl::Time> t = ParseRfc3339(text);
  if (!t.ok()) return v.Error(FromAbsl(t.status().message()));
  *out = *t;
  return absl::OkStatus();
}

absl::Status YamlReader::Country(const ConfigNode& v, CountryCode* out) {
  std::string text;
  VIGIA_RETURN_IF_ERROR(String(v, &text));
  *out = ParseCountry(text);
  if (!out->known()) {
    return v.Error(
        absl::StrCat("\"", text, "\" is not an ISO 3166-1 alpha-2 code"));
  }
  return absl::OkStatus();
}

absl::Status YamlReader::Currency(const ConfigNode& v, CurrencyCode* out) {
  std::string text;
  VIGIA_RETURN_IF_ERROR(String(v, &text));
  *out = CurrencyCode::FromString(text);
  if (!out->known()) return v.Error("is not a three-letter ISO 4217 code");
  return absl::OkStatus();
}

absl::Status YamlReader::UtcOffset(const ConfigNode& v, absl::Duration* out) {
  std::string text;
  VIGIA_RETURN_IF_ERROR(String(v, &text));
  absl::StatusOr<absl::Duration> d = ParseUtcOffset(text);
  if (!d.ok()) return v.Error(FromAbsl(d.status().message()));
  *out = *d;
  return absl::OkStatus();
}

absl::Status YamlReader::StringList(const ConfigNode& v,
                                    std::vector<std::string>* out) {
  absl::StatusOr<std::vector<ConfigNode>> elements = List(v);
  if (!elements.ok()) return elements.status();
  out->clear();
  for (const ConfigNode& element : *elements) {
    std::string s;
    VIGIA_RETURN_IF_ERROR(String(element, &s));
    out->push_back(std::move(s));
  }
  return absl::OkStatus();
}

absl::Status YamlReader::NumberList(const ConfigNode& v,
                                    std::vector<double>* out) {
  absl::StatusOr<std::vector<ConfigNode>> elements = List(v);
  if (!elements.ok()) return elements.status();
  out->clear();
  for (const ConfigNode& element : *elements) {
    double d;
    VIGIA_RETURN_IF_ERROR(Number(element, &d));
    out->push_back(d);
  }
  return absl::OkStatus();
}

absl::Status YamlReader::Shares(const ConfigNode& v,
                                std::vector<NamedShare>* out) {
  if (!v.yaml().IsMap()) return v.Error("must be a mapping name: share");
  absl::StatusOr<ConfigMap> map = ConfigMap::Of(v);
  if (!map.ok()) return map.status();
  out->clear();
  VIGIA_RETURN_IF_ERROR(map->ForEach(
      [&](const std::string& name, const ConfigNode& x) -> absl::Status {
        Note(x);
        double share;
        VIGIA_RETURN_IF_ERROR(Number(x, &share));
        out->push_back({name, share});
        return absl::OkStatus();
      }));
  std::sort(
      out->begin(), out->end(),
      [](const NamedShare& a, const NamedShare& b) { return a.name < b.name; });
  return absl::OkStatus();
}

absl::Status YamlReader::OriginMix(const ConfigNode& v,
                                   std::vector<OriginShare>* out) {
  if (!v.yaml().IsMap()) return v.Error("must be a mapping COUNTRY: share");
  absl::StatusOr<ConfigMap> map = ConfigMap::Of(v);
  if (!map.ok()) return map.status();
  out->clear();
  VIGIA_RETURN_IF_ERROR(map->ForEach(
      [&](const std::string& code, const ConfigNode& x) -> absl::Status {
        const CountryCode c = ParseCountry(code);
        if (!c.known()) return x.Error("is not an ISO 3166-1 alpha-2 code");
        Note(x);
        double share;
        VIGIA_RETURN_IF_ERROR(Number(x, &share));
        out->push_back({c, share});
        return absl::OkStatus();
      }));
  std::sort(out->begin(), out->end(),
            [](const OriginShare& a, const OriginShare& b) {
              return a.country < b.country;
            });
  return absl::OkStatus();
}

absl::Status YamlReader::Fail(const Problem& p) const {
  std::string path = p.path;
  int line = 1;
  while (true) {
    if (auto it = lines_.find(path); it != lines_.end()) {
      line = it->second;
      break;
    }
    const size_t cut = path.find_last_of(".[");
    if (cut == std::string::npos) {
      if (auto it = lines_.find(""); it != lines_.end()) line = it->second;
      break;
    }
    path.resize(cut);
  }
  return absl::InvalidArgumentError(
      absl::StrCat(ToAbsl(source_), ":", line, ": ", p.path, ": ", p.message));
}

}  // namespace vigia::gen::internal
