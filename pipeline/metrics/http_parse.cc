#include "pipeline/metrics/http_parse.h"

#include <algorithm>
#include <cstring>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace vigia {
namespace {

// RFC 9110 token characters (method and header names).
bool IsTokenChar(char c) {
  if (absl::ascii_isalnum(static_cast<unsigned char>(c))) return true;
  return std::strchr("!#$%&'*+-.^_`|~", c) != nullptr && c != '\0';
}

bool IsToken(absl::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), IsTokenChar);
}

// A header value may hold visible characters, spaces and tabs (and
// obs-text), never other control characters.
bool IsFieldValue(absl::string_view s) {
  return std::none_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return (u < 0x20 && u != '\t') || u == 0x7f;
  });
}

ParsedHead Error(int status) {
  ParsedHead p;
  p.kind = ParsedHead::kError;
  p.error_status = status;
  return p;
}

// One line of `buf` from `pos`, without its end (LF or CRLF); sets `next`
// past the end. Returns false if no LF follows yet.
bool NextLine(absl::string_view buf, size_t pos, absl::string_view* line,
              size_t* next) {
  const size_t lf = buf.find('\n', pos);
  if (lf == absl::string_view::npos) return false;
  size_t end = lf;
  if (end > pos && buf[end - 1] == '\r') --end;
  *line = buf.substr(pos, end - pos);
  *next = lf + 1;
  return true;
}

}  // namespace

ParsedHead ParseRequestHead(std::string_view buffer,
                            const HttpServerLimits& limits) {
  const absl::string_view buf(buffer.data(), buffer.size());
  size_t pos = 0;
  absl::string_view line;
  size_t next = 0;
  while (true) {
    if (!NextLine(buf, pos, &line, &next)) {
      if (buf.size() - pos > limits.max_request_line_bytes) return Error(414);
      if (buf.size() > limits.max_header_bytes) return Error(431);
      return ParsedHead();
    }
    if (!line.empty()) break;
    pos = next;
  }
  if (line.size() > limits.max_request_line_bytes) return Error(414);
  const std::vector<absl::string_view> parts = absl::StrSplit(line, ' ');
  if (parts.size() != 3) return Error(400);
  const absl::string_view method = parts[0], target = parts[1],
                          version = parts[2];
  if (!IsToken(method) || target.empty() || target[0] != '/' ||
      !std::all_of(target.begin(), target.end(),
                   [](char c) { return c > 0x20 && c < 0x7f; })) {
    return Error(400);
  }
  bool http11;
  if (version == "HTTP/1.1") {
    http11 = true;
  } else if (version == "HTTP/1.0") {
    http11 = false;
  } else if (version.size() == 8 && absl::StartsWith(version, "HTTP/") &&
             absl::ascii_isdigit(version[5]) && version[6] == '.' &&
             absl::ascii_isdigit(version[7])) {
    return Error(505);
  } else {
    return Error(400);
  }

  ParsedHead p;
  HttpRequest& r = p.request;
  r.method = std::string(method);
  const size_t question = target.find('?');
  r.path = std::string(target.substr(0, question));
  if (question != absl::string_view::npos) {
    r.query = std::string(target.substr(question + 1));
  }
  bool close = false, keep_alive = false, body = false;
  while (true) {
    pos = next;
    if (!NextLine(buf, pos, &line, &next)) {
      return buf.size() > limits.max_header_bytes ? Error(431) : ParsedHead();
    }
    if (next > limits.max_header_bytes) return Error(431);
    if (line.empty()) break;
    // Folded lines (obs-fold) and a space before the colon are refused,
    // as RFC 9112 asks of a server: both have been used to smuggle.
    if (line[0] == ' ' || line[0] == '\t') return Error(400);
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos) return Error(400);
    const absl::string_view name = line.substr(0, colon);
    const absl::string_view value =
        absl::StripAsciiWhitespace(line.substr(colon + 1));
    if (!IsToken(name) || !IsFieldValue(value)) return Error(400);
    if (static_cast<int>(r.headers.size()) >= limits.max_headers) {
      return Error(431);
    }
    r.headers.emplace_back(absl::AsciiStrToLower(name), std::string(value));
    const std::string& lower = r.headers.back().first;
    if (lower == "connection") {
      for (absl::string_view token : absl::StrSplit(value, ',')) {
        token = absl::StripAsciiWhitespace(token);
        if (absl::EqualsIgnoreCase(token, "close")) close = true;
        if (absl::EqualsIgnoreCase(token, "keep-alive")) keep_alive = true;
      }
    } else if (lower == "transfer-encoding" ||
               (lower == "content-length" && value != "0")) {
      body = true;
    }
  }
  // No GET or HEAD here has a body; other methods are answered 405.
  if (body && (method == "GET" || method == "HEAD")) return Error(400);
  p.kind = ParsedHead::kRequest;
  p.consumed = next;
  p.keep_alive = http11 ? !close : (keep_alive && !close);
  return p;
}

}  // namespace vigia
