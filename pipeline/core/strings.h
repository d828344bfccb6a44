// Bridges std::string_view and absl::string_view.
//
// Debian 12's Abseil is built with ABSL_OPTION_USE_STD_STRING_VIEW 0, so
// absl::string_view is its own class and absl::StrCat, absl::StrFormat or
// absl::Status do not take a std::string_view. vigia's own interfaces use
// std::string_view (as simdjson does); wrap one in ToAbsl() at an absl call.
#ifndef VIGIA_PIPELINE_CORE_STRINGS_H_
#define VIGIA_PIPELINE_CORE_STRINGS_H_

#include <string_view>

#include "absl/strings/string_view.h"

namespace vigia {

inline absl::string_view ToAbsl(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}
inline std::string_view FromAbsl(absl::string_view s) {
  return std::string_view(s.data(), s.size());
}

}  // namespace vigia

#endif  // VIGIA_PIPELINE_CORE_STRINGS_H_
