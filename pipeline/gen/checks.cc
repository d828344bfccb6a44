#include "pipeline/gen/checks.h"

#include <cmath>
#include <cstdint>
#include <set>

#include "absl/strings/str_cat.h"

namespace vigia::gen::internal {

bool IsValidUtf8(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    int n;
    uint32_t cp;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;
    for (int k = 1; k <= n; ++k) {
      const unsigned char cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
      return false;
    }
    i += n + 1;
  }
  return true;
}

std::string Fmt(double v) { return absl::StrCat(v); }

std::optional<Problem> CheckShare(double v, std::string path) {
  if (!(v >= 0 && v <= 1)) {
    return Problem{std::move(path),
                   absl::StrCat("must be in [0, 1], not ", Fmt(v))};
  }
  return std::nullopt;
}

std::optional<Problem> CheckMix(const std::vector<NamedShare>& mix,
                                const std::string& path, bool allow_empty) {
  if (mix.empty() && !allow_empty) return Problem{path, "must not be empty"};
  if (mix.size() > 64) return Problem{path, "has more than 64 entries"};
  std::set<std::string> seen;
  for (const NamedShare& s : mix) {
    const std::string p = absl::StrCat(path, ".", s.name);
    if (s.name.empty() || !IsValidUtf8(s.name)) {
      return Problem{path, "names must be non-empty UTF-8"};
    }
    if (!seen.insert(s.name).second) return Problem{p, "duplicate name"};
    if (!(s.share > 0 && std::isfinite(s.share))) {
      return Problem{p, "share must be > 0"};
    }
  }
  return std::nullopt;
}

std::optional<Problem> CheckStrings(const std::vector<std::string>& list,
                                    const std::string& path) {
  for (const std::string& s : list) {
    if (s.empty()) return Problem{path, "entries must not be empty"};
    if (!IsValidUtf8(s)) return Problem{path, "entries must be valid UTF-8"};
  }
  return std::nullopt;
}

const TargetSpec* FindTarget(const Scenario& s, CountryCode c) {
  for (const TargetSpec& t : s.targets) {
    if (t.country == c) return &t;
  }
  return nullptr;
}

double PairShare(const TargetSpec& t, CountryCode origin) {
  double total = 0, pair = 0;
  for (const OriginShare& o : t.origins) {
    total += o.share;
    if (o.country == origin) pair += o.share;
  }
  return total > 0 ? pair / total : 0;
}

std::optional<Problem> CheckHttpUrls(const std::vector<std::string>& urls,
                                     const std::string& path) {
  for (const std::string& url : urls) {
    if (!url.starts_with("https://") && !url.starts_with("http://")) {
      return Problem{path, absl::StrCat("\"", url, "\" is not an http(s) URL")};
    }
  }
  return std::nullopt;
}

std::optional<Problem> CheckContent(const ContentSpec& k,
                                    const std::string& path) {
  if (!k.lang.empty() && !IsValidUtf8(k.lang)) {
    return Problem{path + ".content.lang", "must be valid UTF-8"};
  }
  if (auto p = CheckStrings(k.messages, path + ".content.messages")) return p;
  if (auto p = CheckStrings(k.hashtags, path + ".content.hashtags")) return p;
  if (auto p = CheckStrings(k.urls, path + ".content.urls")) return p;
  if (auto p = CheckHttpUrls(k.urls, path + ".content.urls")) return p;
  if (auto p = CheckShare(k.repost_share, path + ".content.repost_share")) {
    return p;
  }
  if (auto p = CheckShare(k.url_share, path + ".content.url_share")) return p;
  return std::nullopt;
}

}  // namespace vigia::gen::internal
