#include "serve/auth/jwt.h"

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <rapidjson/document.h>

#include <cmath>
#include <fstream>
#include <sstream>

namespace sonde::serve::auth {

namespace {

Error unauthorized(const std::string& why) { return Error{ErrorCode::unauthorized, "invalid token: " + why}; }

bool verify_with_key(EVP_PKEY* key, const std::string& data, const std::string& sig) {
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) != 1) return false;
  return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                          reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1;
}

// JWS ES256 signatures are r||s (32 bytes each); OpenSSL wants DER.
std::string es256_to_der(const std::string& raw) {
  if (raw.size() != 64) return "";
  ECDSA_SIG* sig = ECDSA_SIG_new();
  BIGNUM* r = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()), 32, nullptr);
  BIGNUM* s = BN_bin2bn(reinterpret_cast<const unsigned char*>(raw.data()) + 32, 32, nullptr);
  ECDSA_SIG_set0(sig, r, s);
  unsigned char* der = nullptr;
  int n = i2d_ECDSA_SIG(sig, &der);
  std::string out = n > 0 ? std::string(reinterpret_cast<char*>(der), static_cast<size_t>(n)) : "";
  OPENSSL_free(der);
  ECDSA_SIG_free(sig);
  return out;
}

}  // namespace

Result<std::string> base64url_decode(std::string_view in) {
  std::string b64(in);
  for (auto& c : b64) {
    if (c == '-') c = '+';
    else if (c == '_') c = '/';
    else if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/'))
      return fail(ErrorCode::unauthorized, "invalid token: not base64url");
  }
  if (b64.size() % 4 == 1) return fail(ErrorCode::unauthorized, "invalid token: bad base64url length");
  size_t pad = (4 - b64.size() % 4) % 4;
  b64.append(pad, '=');
  std::string out(b64.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(b64.data()), static_cast<int>(b64.size()));
  if (n < 0) return fail(ErrorCode::unauthorized, "invalid token: not base64url");
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

std::string base64url_encode(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()), static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (auto& c : out) {
    if (c == '+') c = '-';
    else if (c == '/') c = '_';
  }
  return out;
}

Result<JwtVerifier> JwtVerifier::from_key_text(const std::string& text, std::string role_claim) {
  JwtVerifier v;
  v.role_claim_ = std::move(role_claim);
  if (text.find("-----BEGIN PUBLIC KEY-----") != std::string::npos) {
    std::unique_ptr<BIO, decltype(&BIO_free)> bio(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())), BIO_free);
    EVP_PKEY* key = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
    if (!key) return fail(ErrorCode::bad_request, "--jwt-key: not a readable PEM public key");
    v.key_ = std::shared_ptr<EVP_PKEY>(key, EVP_PKEY_free);
    switch (EVP_PKEY_base_id(key)) {
      case EVP_PKEY_RSA: v.alg_ = Alg::rs256; break;
      case EVP_PKEY_EC: v.alg_ = Alg::es256; break;
      default: return fail(ErrorCode::bad_request, "--jwt-key: only RSA (RS256) and EC P-256 (ES256) public keys");
    }
    return v;
  }
  if (text.find("-----BEGIN") != std::string::npos)
    return fail(ErrorCode::bad_request, "--jwt-key: give the PUBLIC key (-----BEGIN PUBLIC KEY-----), not a private key or certificate");
  v.alg_ = Alg::hs256;
  v.secret_ = text;
  if (!v.secret_.empty() && v.secret_.back() == '\n') v.secret_.pop_back();
  if (v.secret_.size() < 16) return fail(ErrorCode::bad_request, "--jwt-key: an HS256 secret must be at least 16 bytes");
  return v;
}

Result<JwtVerifier> JwtVerifier::load_file(const std::string& path, std::string role_claim) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(ErrorCode::bad_request, "--jwt-key: cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return from_key_text(ss.str(), std::move(role_claim));
}

const char* JwtVerifier::algorithm() const {
  switch (alg_) {
    case Alg::hs256: return "HS256";
    case Alg::rs256: return "RS256";
    case Alg::es256: return "ES256";
  }
  return "?";
}

Result<Claims> JwtVerifier::verify(std::string_view token, double now, double skew_s) const {
  auto dot1 = token.find('.');
  auto dot2 = dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos)
    return std::unexpected(unauthorized("not a JWS compact token (header.payload.signature)"));
  auto header = base64url_decode(token.substr(0, dot1));
  auto payload = base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  auto sig = base64url_decode(token.substr(dot2 + 1));
  if (!header || !payload || !sig) return std::unexpected(unauthorized("not base64url"));

  rapidjson::Document h;
  h.Parse(header->c_str(), header->size());
  if (h.HasParseError() || !h.IsObject() || !h.HasMember("alg") || !h["alg"].IsString())
    return std::unexpected(unauthorized("header is not JSON with an alg"));
  if (std::string(h["alg"].GetString()) != algorithm())
    return std::unexpected(unauthorized(std::string("algorithm must be ") + algorithm() + " for this key"));

  std::string signed_part(token.substr(0, dot2));
  bool ok = false;
  if (alg_ == Alg::hs256) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), secret_.data(), static_cast<int>(secret_.size()),
         reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size(), mac, &len);
    ok = sig->size() == len && CRYPTO_memcmp(mac, sig->data(), len) == 0;
  } else if (alg_ == Alg::rs256) {
    ok = verify_with_key(key_.get(), signed_part, *sig);
  } else {
    std::string der = es256_to_der(*sig);
    ok = !der.empty() && verify_with_key(key_.get(), signed_part, der);
  }
  if (!ok) return std::unexpected(unauthorized("bad signature"));

  rapidjson::Document p;
  p.Parse(payload->c_str(), payload->size());
  if (p.HasParseError() || !p.IsObject()) return std::unexpected(unauthorized("payload is not a JSON object"));
  if (p.HasMember("exp")) {
    if (!p["exp"].IsNumber()) return std::unexpected(unauthorized("exp is not a number"));
    if (now > p["exp"].GetDouble() + skew_s) return std::unexpected(unauthorized("expired"));
  }
  if (p.HasMember("nbf")) {
    if (!p["nbf"].IsNumber()) return std::unexpected(unauthorized("nbf is not a number"));
    if (now + skew_s < p["nbf"].GetDouble()) return std::unexpected(unauthorized("not valid yet (nbf)"));
  }
  Claims c;
  if (p.HasMember("sub") && p["sub"].IsString()) c.subject = p["sub"].GetString();
  if (p.HasMember(role_claim_.c_str())) {
    const auto& r = p[role_claim_.c_str()];
    if (r.IsArray()) {
      for (const auto& v : r.GetArray())
        if (v.IsString()) c.roles.emplace_back(v.GetString());
    } else if (r.IsString()) {
      c.roles.emplace_back(r.GetString());
    }
  }
  return c;
}

}  // namespace sonde::serve::auth
