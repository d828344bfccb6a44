// Stable content hashes for alert ids and config fingerprints.
#ifndef VIGIA_PIPELINE_CORE_HASH_H_
#define VIGIA_PIPELINE_CORE_HASH_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace vigia {

// Returns the lower-case hex SHA-256 of `data` (64 characters). A
// cryptographic hash, so that a config fingerprint or alert id quoted in a
// report cannot be forged to match other content. Thread-safe.
std::string Sha256Hex(std::string_view data);

// The lower-case hex SHA-256 of the file at `path`, read in blocks (an
// archive may be gigabytes). NotFound or PermissionDenied when it cannot be
// opened, DataLoss when a read fails.
absl::StatusOr<std::string> Sha256FileHex(const std::string& path);

}  // namespace vigia

#endif  // VIGIA_PIPELINE_CORE_HASH_H_
