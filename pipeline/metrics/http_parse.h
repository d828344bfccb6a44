// The request-head parser of the metrics port's HTTP server: RFC 9112
// request line and header fields, strictly (no folded lines, no space
// before a colon, no control characters, no request bodies on GET or
// HEAD), within size limits. Separate from the server so that it can be
// fuzzed on its own (http_parse_fuzz.cc). Stateless and thread-safe.
#ifndef VIGIA_PIPELINE_METRICS_HTTP_PARSE_H_
#define VIGIA_PIPELINE_METRICS_HTTP_PARSE_H_

#include <cstddef>
#include <string_view>

#include "pipeline/metrics/http_server.h"

namespace vigia {

struct ParsedHead {
  enum Kind { kIncomplete, kRequest, kError } kind = kIncomplete;
  int error_status = 0;  // with kError: 400, 414, 431 or 505
  size_t consumed = 0;   // with kRequest: bytes of the request head
  HttpRequest request;   // with kRequest; any method (the server answers
                         // 405 to those it does not serve)
  bool keep_alive = false;
};

// Parses the request head at the start of `buffer`: kIncomplete while its
// end has not arrived and the limits are kept, kError with the status to
// answer, or kRequest. Leading empty lines are skipped, as RFC 9112 advises.
ParsedHead ParseRequestHead(std::string_view buffer,
                            const HttpServerLimits& limits);

}  // namespace vigia

#endif  // VIGIA_PIPELINE_METRICS_HTTP_PARSE_H_
