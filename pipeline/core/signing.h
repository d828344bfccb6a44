// Ed25519 signatures (OpenSSL libcrypto) for evidence packages: a key pair
// in PEM (PKCS#8 private key, SubjectPublicKeyInfo public key, as
// `openssl genpkey -algorithm ed25519` writes them), signing, and checking
// a signature against a raw 32-byte public key. Stateless functions;
// thread-safe. Keys are passed as PEM text, never kept.
#ifndef VIGIA_PIPELINE_CORE_SIGNING_H_
#define VIGIA_PIPELINE_CORE_SIGNING_H_

#include <string>
#include <string_view>

#include "absl/status/statusor.h"

namespace vigia {

// A new Ed25519 private key, as PKCS#8 PEM.
absl::StatusOr<std::string> Ed25519GenerateKeyPem();

// The public key, as PEM, of a private or public Ed25519 key in PEM.
absl::StatusOr<std::string> Ed25519PublicKeyPem(std::string_view pem);

// The raw 32-byte public key of a private or public Ed25519 key in PEM.
// InvalidArgument when `pem` is not an Ed25519 key.
absl::StatusOr<std::string> Ed25519RawPublicKey(std::string_view pem);

// The 64-byte signature of `message` by the private key `private_pem`.
absl::StatusOr<std::string> Ed25519Sign(std::string_view private_pem,
                                        std::string_view message);

// True when `signature` is a valid Ed25519 signature of `message` by the
// raw 32-byte `public_key`; false otherwise (including malformed input).
bool Ed25519Verify(std::string_view public_key, std::string_view message,
                   std::string_view signature);

}  // namespace vigia

#endif  // VIGIA_PIPELINE_CORE_SIGNING_H_
