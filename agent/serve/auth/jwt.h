// Verifying JSON Web Tokens with OpenSSL (never our own cryptography):
// HS256 with a shared secret, RS256 or ES256 with a PEM public key. The
// algorithm is fixed by the key, not by the token's header, so a token cannot
// pick a weaker one ("none", or HS256 with a public key as the secret).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace sonde::serve::auth {

struct Claims {
  std::string subject;
  std::vector<std::string> roles;
};

class JwtVerifier {
 public:
  // A PEM public key (RSA or EC P-256) file, else the file's bytes are an
  // HS256 secret (one trailing newline removed, DESIGN.md §1).
  static Result<JwtVerifier> load_file(const std::string& path, std::string role_claim);
  static Result<JwtVerifier> from_key_text(const std::string& text, std::string role_claim);

  // Signature, exp and nbf (with `skew_s` of clock skew allowed) and the role claim.
  Result<Claims> verify(std::string_view token, double now, double skew_s = 60) const;
  const char* algorithm() const;

 private:
  enum class Alg { hs256, rs256, es256 };
  Alg alg_ = Alg::hs256;
  std::string secret_;
  std::shared_ptr<EVP_PKEY> key_;
  std::string role_claim_;
};

// base64url without padding, as JWTs use it (exposed for tests and tooling).
Result<std::string> base64url_decode(std::string_view in);
std::string base64url_encode(std::string_view in);

}  // namespace sonde::serve::auth
