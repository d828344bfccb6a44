// Stable content hashes for alert ids and config fingerprints.
#ifndef VIGIA_PIPELINE_CORE_HASH_H_
#define VIGIA_PIPELINE_CORE_HASH_H_

#include <string>
#include <string_view>

namespace vigia {

// Returns the lower-case hex SHA-256 of `data` (64 characters). A
// cryptographic hash, so that a config fingerprint or alert id quoted in a
// report cannot be forged to match other content. Thread-safe.
std::string Sha256Hex(std::string_view data);

}  // namespace vigia

#endif  // VIGIA_PIPELINE_CORE_HASH_H_
