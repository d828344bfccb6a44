// CanonicalWriter: the canonical text form of a configuration, one
// "key.path = value" line per setting in the order written. The text is
// hashed into every alert's config hash (and so its id), so a value's
// spelling here must never change for the same value.
//
// Example:
//   CanonicalWriter w;
//   w.Add("detectors.foreign_origin_surge.window", absl::Minutes(10));
//   std::string text = w.Release();  // "...window = 10m\n"
//
// A plain value type; not thread-safe.
#ifndef VIGIA_PIPELINE_CORE_CANONICAL_WRITER_H_
#define VIGIA_PIPELINE_CORE_CANONICAL_WRITER_H_

#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "pipeline/core/strings.h"

namespace vigia {

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

}  // namespace vigia

#endif  // VIGIA_PIPELINE_CORE_CANONICAL_WRITER_H_
