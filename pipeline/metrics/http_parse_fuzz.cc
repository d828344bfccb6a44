// Fuzz target for the metrics port's request-head parser: any bytes, in
// any split, must parse without crashing, within the limits, and to a
// request that keeps the parser's promises. A broken promise aborts.
//
// With VIGIA_LIBFUZZER: build/fuzz/pipeline/metrics/http_parse_fuzz
// CORPUS_DIR; otherwise ctest replays tests/testdata/http_corpus.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "pipeline/metrics/http_parse.h"

namespace {

void Check(bool promise) {
  if (!promise) std::abort();
}

bool IsLower(const std::string& s) {
  for (char c : s) {
    if (c >= 'A' && c <= 'Z') return false;
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using vigia::ParsedHead;
  vigia::HttpServerLimits limits;
  // Small limits too, so that the fuzzer reaches them with short inputs.
  vigia::HttpServerLimits tight;
  tight.max_request_line_bytes = 32;
  tight.max_header_bytes = 96;
  tight.max_headers = 3;
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  for (const vigia::HttpServerLimits& l : {limits, tight}) {
    const ParsedHead whole = vigia::ParseRequestHead(input, l);
    switch (whole.kind) {
      case ParsedHead::kRequest: {
        Check(whole.consumed > 0 && whole.consumed <= size);
        Check(whole.consumed <= l.max_header_bytes);
        Check(!whole.request.method.empty());
        Check(!whole.request.path.empty() && whole.request.path[0] == '/');
        Check(static_cast<int>(whole.request.headers.size()) <= l.max_headers);
        for (const auto& [name, value] : whole.request.headers) {
          Check(!name.empty() && IsLower(name));
          Check(value.find_first_of("\r\n") == std::string::npos);
        }
        // The head alone parses to the same request.
        const ParsedHead head =
            vigia::ParseRequestHead(input.substr(0, whole.consumed), l);
        Check(head.kind == ParsedHead::kRequest &&
              head.consumed == whole.consumed &&
              head.request.path == whole.request.path &&
              head.request.headers == whole.request.headers);
        break;
      }
      case ParsedHead::kError:
        Check(whole.error_status == 400 || whole.error_status == 414 ||
              whole.error_status == 431 || whole.error_status == 505);
        break;
      case ParsedHead::kIncomplete:
        // Waiting for more is only allowed within the limits.
        Check(size <= l.max_header_bytes);
        break;
    }
    // Every prefix is a prefix: it may be incomplete, or the same error
    // or request found sooner, but never a request that the whole lacks.
    if (size > 0) {
      const ParsedHead prefix =
          vigia::ParseRequestHead(input.substr(0, size / 2), l);
      if (prefix.kind == ParsedHead::kRequest) {
        Check(whole.kind == ParsedHead::kRequest &&
              prefix.consumed == whole.consumed);
      }
    }
  }
  return 0;
}
