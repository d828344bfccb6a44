#include "pipeline/core/signing.h"

#include <string>

#include "gtest/gtest.h"

namespace vigia {
namespace {

TEST(Ed25519, SignsAndVerifiesAndRejectsAnyChange) {
  absl::StatusOr<std::string> key = Ed25519GenerateKeyPem();
  ASSERT_TRUE(key.ok()) << key.status();
  EXPECT_NE(key->find("BEGIN PRIVATE KEY"), std::string::npos);
  absl::StatusOr<std::string> pub = Ed25519RawPublicKey(*key);
  ASSERT_TRUE(pub.ok()) << pub.status();
  ASSERT_EQ(pub->size(), 32u);
  const std::string message = "{\"manifest\":1}";
  absl::StatusOr<std::string> sig = Ed25519Sign(*key, message);
  ASSERT_TRUE(sig.ok()) << sig.status();
  ASSERT_EQ(sig->size(), 64u);
  EXPECT_TRUE(Ed25519Verify(*pub, message, *sig));
  // One bit anywhere: message, signature, key.
  std::string m = message;
  m[3] ^= 1;
  EXPECT_FALSE(Ed25519Verify(*pub, m, *sig));
  std::string s = *sig;
  s[10] ^= 1;
  EXPECT_FALSE(Ed25519Verify(*pub, message, s));
  std::string p = *pub;
  p[0] ^= 1;
  EXPECT_FALSE(Ed25519Verify(p, message, *sig));
  EXPECT_FALSE(Ed25519Verify(*pub, message, sig->substr(0, 63)));
  // Another key's signature does not verify.
  absl::StatusOr<std::string> other = Ed25519GenerateKeyPem();
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(Ed25519Verify(*Ed25519RawPublicKey(*other), message, *sig));
}

TEST(Ed25519, ThePublicKeyPemGivesTheSameRawKeyAndCannotSign) {
  absl::StatusOr<std::string> key = Ed25519GenerateKeyPem();
  ASSERT_TRUE(key.ok());
  absl::StatusOr<std::string> pub_pem = Ed25519PublicKeyPem(*key);
  ASSERT_TRUE(pub_pem.ok()) << pub_pem.status();
  EXPECT_NE(pub_pem->find("BEGIN PUBLIC KEY"), std::string::npos);
  EXPECT_EQ(*Ed25519RawPublicKey(*pub_pem), *Ed25519RawPublicKey(*key));
  EXPECT_EQ(Ed25519Sign(*pub_pem, "x").status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Ed25519RawPublicKey("not a key").status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace vigia
