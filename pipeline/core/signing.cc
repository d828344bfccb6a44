#include "pipeline/core/signing.h"

#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "openssl/bio.h"
#include "openssl/err.h"
#include "openssl/evp.h"
#include "openssl/pem.h"

namespace vigia {
namespace {

struct PkeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Bio = std::unique_ptr<BIO, BioFree>;
using MdCtx = std::unique_ptr<EVP_MD_CTX, MdCtxFree>;

// The last OpenSSL error, for messages; clears the queue.
std::string OpenSslError() {
  const unsigned long e = ERR_get_error();
  ERR_clear_error();
  if (e == 0) return "unknown OpenSSL error";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof(buf));
  return buf;
}

// A private key from PEM, or a public one when `pem` holds only that.
Pkey ReadKey(std::string_view pem, bool* is_private) {
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return nullptr;
  Pkey key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  *is_private = key != nullptr;
  if (key == nullptr) {
    ERR_clear_error();
    Bio again(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
    key.reset(PEM_read_bio_PUBKEY(again.get(), nullptr, nullptr, nullptr));
  }
  ERR_clear_error();
  if (key != nullptr && EVP_PKEY_get_id(key.get()) != EVP_PKEY_ED25519) {
    return nullptr;
  }
  return key;
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

}  // namespace

absl::StatusOr<std::string> Ed25519GenerateKeyPem() {
  Pkey key(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
  if (key == nullptr) return absl::InternalError(OpenSslError());
  Bio bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PrivateKey(bio.get(), key.get(), nullptr, nullptr, 0,
                               nullptr, nullptr) != 1) {
    return absl::InternalError(OpenSslError());
  }
  return BioText(bio.get());
}

absl::StatusOr<std::string> Ed25519PublicKeyPem(std::string_view pem) {
  bool is_private = false;
  Pkey key = ReadKey(pem, &is_private);
  if (key == nullptr) {
    return absl::InvalidArgumentError("not an Ed25519 key in PEM form");
  }
  Bio bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_PUBKEY(bio.get(), key.get()) != 1) {
    return absl::InternalError(OpenSslError());
  }
  return BioText(bio.get());
}

absl::StatusOr<std::string> Ed25519RawPublicKey(std::string_view pem) {
  bool is_private = false;
  Pkey key = ReadKey(pem, &is_private);
  if (key == nullptr) {
    return absl::InvalidArgumentError("not an Ed25519 key in PEM form");
  }
  std::string raw(32, '\0');
  size_t len = raw.size();
  if (EVP_PKEY_get_raw_public_key(
          key.get(), reinterpret_cast<unsigned char*>(raw.data()), &len) != 1 ||
      len != 32) {
    return absl::InternalError(OpenSslError());
  }
  return raw;
}

absl::StatusOr<std::string> Ed25519Sign(std::string_view private_pem,
                                        std::string_view message) {
  bool is_private = false;
  Pkey key = ReadKey(private_pem, &is_private);
  if (key == nullptr || !is_private) {
    return absl::InvalidArgumentError(
        "not an Ed25519 private key in PEM form (PKCS#8, as `openssl genpkey "
        "-algorithm ed25519` writes it)");
  }
  MdCtx ctx(EVP_MD_CTX_new());
  std::string sig(64, '\0');
  size_t len = sig.size();
  if (ctx == nullptr ||
      EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) !=
          1 ||
      EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()),
                     &len,
                     reinterpret_cast<const unsigned char*>(message.data()),
                     message.size()) != 1 ||
      len != 64) {
    return absl::InternalError(absl::StrCat("signing: ", OpenSslError()));
  }
  return sig;
}

bool Ed25519Verify(std::string_view public_key, std::string_view message,
                   std::string_view signature) {
  if (public_key.size() != 32 || signature.size() != 64) return false;
  Pkey key(EVP_PKEY_new_raw_public_key(
      EVP_PKEY_ED25519, nullptr,
      reinterpret_cast<const unsigned char*>(public_key.data()),
      public_key.size()));
  MdCtx ctx(EVP_MD_CTX_new());
  const bool ok =
      key != nullptr && ctx != nullptr &&
      EVP_DigestVerifyInit(ctx.get(), nullptr, nullptr, nullptr, key.get()) ==
          1 &&
      EVP_DigestVerify(ctx.get(),
                       reinterpret_cast<const unsigned char*>(signature.data()),
                       signature.size(),
                       reinterpret_cast<const unsigned char*>(message.data()),
                       message.size()) == 1;
  ERR_clear_error();
  return ok;
}

}  // namespace vigia
