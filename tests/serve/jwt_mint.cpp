#include "jwt_mint.h"

#include <openssl/bio.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <stdexcept>

#include "serve/auth/jwt.h"

namespace sonde::test {

using serve::auth::base64url_encode;

std::string mint_hs256(const std::string& secret, const std::string& payload_json, const std::string& alg) {
  std::string head = base64url_encode("{\"alg\":\"" + alg + "\",\"typ\":\"JWT\"}") + "." + base64url_encode(payload_json);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()), reinterpret_cast<const unsigned char*>(head.data()),
       head.size(), mac, &len);
  return head + "." + base64url_encode(std::string(reinterpret_cast<char*>(mac), len));
}

std::string mint_with_key(const std::string& alg, const std::string& key_pem, const std::string& payload_json) {
  std::string head = base64url_encode("{\"alg\":\"" + alg + "\",\"typ\":\"JWT\"}") + "." + base64url_encode(payload_json);
  BIO* bio = BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (!key) throw std::runtime_error("bad private key");
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key);
  size_t n = 0;
  EVP_DigestSign(ctx, nullptr, &n, reinterpret_cast<const unsigned char*>(head.data()), head.size());
  std::string sig(n, '\0');
  EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &n, reinterpret_cast<const unsigned char*>(head.data()),
                 head.size());
  sig.resize(n);
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  if (alg == "ES256") {
    // DER -> r||s, as JWS wants.
    const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
    const BIGNUM *r, *s;
    ECDSA_SIG_get0(es, &r, &s);
    std::string raw(64, '\0');
    BN_bn2binpad(r, reinterpret_cast<unsigned char*>(raw.data()), 32);
    BN_bn2binpad(s, reinterpret_cast<unsigned char*>(raw.data()) + 32, 32);
    ECDSA_SIG_free(es);
    sig = raw;
  }
  return head + "." + base64url_encode(sig);
}

}  // namespace sonde::test
