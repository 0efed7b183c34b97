// A bearer token is the first thing an unauthenticated client controls: any
// bytes through base64url, JSON and the HS256 check.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "serve/auth/jwt.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto verifier =
      sonde::serve::auth::JwtVerifier::from_key_text("a-fuzzing-secret-of-32-bytes-len", "roles");
  if (!verifier) __builtin_trap();
  std::string_view token(reinterpret_cast<const char*>(data), size);
  (void)verifier->verify(token, 1800000000);
  return 0;
}
