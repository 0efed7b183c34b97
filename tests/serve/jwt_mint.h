// Mints JWTs for tests with OpenSSL's signing side (the agent only verifies).
#pragma once

#include <string>

namespace sonde::test {

std::string mint_hs256(const std::string& secret, const std::string& payload_json,
                       const std::string& alg_in_header = "HS256");
// key_pem: a PEM private key (RSA for RS256, EC P-256 for ES256).
std::string mint_with_key(const std::string& alg, const std::string& key_pem, const std::string& payload_json);

}  // namespace sonde::test
