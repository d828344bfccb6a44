#include "operators/url_normalize.h"

#include <algorithm>
#include <array>
#include <string>
#include <string_view>

#include "absl/container/inlined_vector.h"

namespace vigia {
namespace {

char AsciiLower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

char AsciiUpper(char c) {
  return (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
}

bool IsHex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') ||
         (c >= 'A' && c <= 'F');
}

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  const auto space = [](char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
  };
  while (!s.empty() && space(s.front())) s.remove_prefix(1);
  while (!s.empty() && space(s.back())) s.remove_suffix(1);
  return s;
}

// The parts of a URL as views into it; the host is not yet lower-cased.
struct UrlParts {
  std::string_view host;
  std::string_view port;  // without ':'
  std::string_view path;
  std::string_view query;  // without '?'
};

UrlParts Split(std::string_view url) {
  UrlParts parts;
  url = Trim(url);
  // A scheme is letters, digits, '+', '-' and '.' after a first letter.
  const size_t sep = url.find("://");
  if (sep != std::string_view::npos && sep > 0) {
    bool scheme =
        (url[0] >= 'a' && url[0] <= 'z') || (url[0] >= 'A' && url[0] <= 'Z');
    for (size_t i = 1; scheme && i < sep; ++i) {
      const char c = url[i];
      scheme = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
               (c >= '0' && c <= '9') || c == '+' || c == '-' || c == '.';
    }
    if (scheme) url.remove_prefix(sep + 3);
  } else if (url.substr(0, 2) == "//") {
    url.remove_prefix(2);
  } else if (!url.empty() && url.front() == '/') {
    return parts;  // a relative path: no host
  }
  if (const size_t hash = url.find('#'); hash != std::string_view::npos) {
    url = url.substr(0, hash);
  }
  // A plain loop: string_view::find_first_of calls memchr once per byte of
  // the URL, which made this function several hundred instructions a URL.
  size_t authority_end = std::string_view::npos;
  for (size_t i = 0; i < url.size(); ++i) {
    if (url[i] == '/' || url[i] == '?') {
      authority_end = i;
      break;
    }
  }
  std::string_view authority = url.substr(0, authority_end);
  std::string_view rest = authority_end == std::string_view::npos
                              ? std::string_view()
                              : url.substr(authority_end);
  if (const size_t at = authority.rfind('@'); at != std::string_view::npos) {
    authority.remove_prefix(at + 1);
  }
  if (!authority.empty() && authority.front() == '[') {
    // An IPv6 literal: the port, if any, follows the closing bracket.
    const size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      parts.host = authority;
    } else {
      parts.host = authority.substr(0, close + 1);
      std::string_view after = authority.substr(close + 1);
      if (!after.empty() && after.front() == ':') parts.port = after.substr(1);
    }
  } else {
    const size_t colon = authority.find(':');
    parts.host = authority.substr(0, colon);
    if (colon != std::string_view::npos) {
      parts.port = authority.substr(colon + 1);
    }
  }
  const size_t q = rest.find('?');
  parts.path = rest.substr(0, q);
  if (q != std::string_view::npos) parts.query = rest.substr(q + 1);
  return parts;
}

// Appends the host lower-cased, without "www." and a trailing dot.
void AppendCanonicalHost(std::string_view host, std::string& out) {
  while (!host.empty() && host.back() == '.') host.remove_suffix(1);
  // "www." goes only when something with a dot remains: "www.com" stays.
  if (host.size() > 4 && (host[0] == 'w' || host[0] == 'W') &&
      (host[1] == 'w' || host[1] == 'W') &&
      (host[2] == 'w' || host[2] == 'W') && host[3] == '.' &&
      host.find('.', 4) != std::string_view::npos) {
    host.remove_prefix(4);
  }
  // Appended whole, then lower-cased in place: a push_back per byte cost
  // a capacity check each.
  const size_t start = out.size();
  out.append(host);
  for (size_t i = start; i < out.size(); ++i) out[i] = AsciiLower(out[i]);
}

// Appends `s` with its percent escapes' hex digits upper-cased, so that
// "%2f" and "%2F" match.
void AppendEscaped(std::string_view s, std::string& out) {
  // Most paths and parameters have no escape: the bytes between escapes are
  // appended in one piece.
  size_t i = 0;
  while (true) {
    const size_t pct = s.find('%', i);
    if (pct == std::string_view::npos) {
      out.append(s.substr(i));
      return;
    }
    out.append(s.substr(i, pct + 1 - i));
    i = pct + 1;
    if (pct + 2 < s.size() && IsHex(s[pct + 1]) && IsHex(s[pct + 2])) {
      out.push_back(AsciiUpper(s[pct + 1]));
      out.push_back(AsciiUpper(s[pct + 2]));
      i += 2;
    }
  }
}

constexpr std::array<std::string_view, 28> kTrackingParameters = {
    "fbclid",     "gclid",   "gclsrc",   "dclid",      "gbraid",  "wbraid",
    "msclkid",    "yclid",   "ysclid",   "twclid",     "ttclid",  "igshid",
    "igsh",       "mc_cid",  "mc_eid",   "li_fat_id",  "mkt_tok", "_ga",
    "_gl",        "_hsenc",  "_hsmi",    "ref_src",    "s_cid",   "oly_anon_id",
    "oly_enc_id", "vero_id", "wickedid", "rb_clickid",
};

}  // namespace

bool IsTrackingParameter(std::string_view name) {
  if (name.size() > 4 && EqualsIgnoreCase(name.substr(0, 4), "utm_")) {
    return true;
  }
  for (std::string_view t : kTrackingParameters) {
    if (EqualsIgnoreCase(name, t)) return true;
  }
  return false;
}

std::string UrlHost(std::string_view url) {
  std::string out;
  UrlHostTo(url, out);
  return out;
}

void UrlHostTo(std::string_view url, std::string& out) {
  out.clear();
  AppendCanonicalHost(Split(url).host, out);
}

std::string NormalizeUrl(std::string_view url) {
  std::string out;
  NormalizeUrlTo(url, out);
  return out;
}

void NormalizeUrlTo(std::string_view url, std::string& out) {
  NormalizeUrlTo(url, out, nullptr);
}

void NormalizeUrlTo(std::string_view url, std::string& out, size_t* host_size) {
  out.clear();
  const UrlParts parts = Split(url);
  AppendCanonicalHost(parts.host, out);
  if (host_size != nullptr) *host_size = out.size();
  if (out.empty()) return;
  if (!parts.port.empty() && parts.port != "80" && parts.port != "443") {
    out.push_back(':');
    out.append(parts.port);
  }
  std::string_view path = parts.path;
  while (!path.empty() && path.back() == '/') path.remove_suffix(1);
  AppendEscaped(path, out);

  absl::InlinedVector<std::string_view, 8> params;
  std::string_view query = parts.query;
  while (!query.empty()) {
    const size_t amp = query.find('&');
    const std::string_view param = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view()
                                          : query.substr(amp + 1);
    if (param.empty()) continue;
    if (IsTrackingParameter(param.substr(0, param.find('=')))) continue;
    params.push_back(param);
  }
  // Parameter order never selects different content on the sites that
  // matter here, and sorting makes "?a=1&b=2" and "?b=2&a=1" one URL.
  std::sort(params.begin(), params.end());
  for (size_t i = 0; i < params.size(); ++i) {
    out.push_back(i == 0 ? '?' : '&');
    AppendEscaped(params[i], out);
  }
}

}  // namespace vigia
