// Validation of ISO 3166-1 alpha-2 country codes.
#ifndef VIGIA_PIPELINE_CORE_COUNTRY_H_
#define VIGIA_PIPELINE_CORE_COUNTRY_H_

#include <string_view>

#include "pipeline/core/types.h"

namespace vigia {

// Returns the code if `code` is an officially assigned ISO 3166-1 alpha-2
// code (upper case), or XK (Kosovo, user-assigned but used by every major
// platform); otherwise the unknown code. Thread-safe, allocation-free.
CountryCode ParseCountry(std::string_view code);

}  // namespace vigia

#endif  // VIGIA_PIPELINE_CORE_COUNTRY_H_
