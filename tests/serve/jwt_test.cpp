#include <doctest/doctest.h>

#include <cstdlib>

#include "child.h"
#include "jwt_mint.h"
#include "serve/auth/authorizer.h"
#include "serve/auth/jwt.h"
#include "serve/auth/peer_allow.h"

using namespace sonde;
using namespace sonde::serve::auth;
using sonde::test::mint_hs256;
using sonde::test::mint_with_key;

namespace {
const std::string kSecret = "a-test-secret-of-32-bytes-length";
const double kNow = 1800000000;

std::string keypair(const std::string& kind, std::string* pub) {
  sonde::test::TempDir d;
  std::string gen = kind == "rsa" ? "openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048"
                                  : "openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256";
  std::string cmd = gen + " -out " + d.path + "/k.pem 2>/dev/null && openssl pkey -in " + d.path + "/k.pem -pubout -out " +
                    d.path + "/p.pem";
  REQUIRE(std::system(cmd.c_str()) == 0);
  *pub = sonde::test::read_file(d.path + "/p.pem");
  return sonde::test::read_file(d.path + "/k.pem");
}
}  // namespace

TEST_CASE("base64url round-trips without padding") {
  for (std::string s : std::vector<std::string>{"", "a", "ab", "abc", "abcd", std::string("\xff\xfe\x00\x01", 4)}) {
    auto enc = base64url_encode(s);
    CHECK(enc.find('=') == std::string::npos);
    CHECK(*base64url_decode(enc) == s);
  }
  CHECK_FALSE(base64url_decode("a$b"));
}

TEST_CASE("HS256: signature, exp, nbf and roles") {
  auto v = JwtVerifier::from_key_text(kSecret + "\n", "roles");  // one trailing newline is not part of the key
  REQUIRE(v);
  CHECK(std::string(v->algorithm()) == "HS256");
  auto ok = v->verify(mint_hs256(kSecret, R"({"sub":"ops","roles":["group:Admin"],"exp":1800000100})"), kNow);
  REQUIRE(ok);
  CHECK(ok->subject == "ops");
  REQUIRE(ok->roles.size() == 1);
  CHECK(ok->roles[0] == "group:Admin");
  CHECK(v->verify(mint_hs256("another-secret-of-enough-length", R"({"exp":1800000100})"), kNow).error().message.find("signature") != std::string::npos);
  CHECK(v->verify(mint_hs256(kSecret, R"({"exp":1799999000})"), kNow).error().message.find("expired") != std::string::npos);
  CHECK(v->verify(mint_hs256(kSecret, R"({"exp":1799999990})"), kNow));  // within the 60 s skew
  CHECK(v->verify(mint_hs256(kSecret, R"({"nbf":1800001000})"), kNow).error().message.find("nbf") != std::string::npos);
  // The header cannot choose the algorithm.
  CHECK_FALSE(v->verify(mint_hs256(kSecret, R"({})", "none"), kNow));
  CHECK_FALSE(v->verify("abc", kNow));
  CHECK_FALSE(v->verify("a.b.c.d", kNow));
  CHECK_FALSE(v->verify("", kNow));
  auto custom = JwtVerifier::from_key_text(kSecret, "groups");
  auto c = custom->verify(mint_hs256(kSecret, R"({"groups":"group:Admin"})"), kNow);
  REQUIRE(c);
  CHECK(c->roles == std::vector<std::string>{"group:Admin"});
  CHECK_FALSE(JwtVerifier::from_key_text("short", "roles"));
}

TEST_CASE("RS256 and ES256 with PEM public keys; a key decides its algorithm") {
  for (std::string kind : {"rsa", "ec"}) {
    CAPTURE(kind);
    std::string pub;
    std::string priv = keypair(kind, &pub);
    auto v = JwtVerifier::from_key_text(pub, "roles");
    REQUIRE(v);
    std::string alg = kind == "rsa" ? "RS256" : "ES256";
    CHECK(v->algorithm() == alg);
    CHECK(v->verify(mint_with_key(alg, priv, R"({"roles":["group:Admin"]})"), kNow));
    std::string other_pub;
    std::string other = keypair(kind, &other_pub);
    CHECK_FALSE(v->verify(mint_with_key(alg, other, R"({"roles":["group:Admin"]})"), kNow));
    // HS256 signed with the public key text as the secret: the classic confusion, refused.
    CHECK_FALSE(v->verify(mint_hs256(pub, R"({"roles":["group:Admin"]})"), kNow));
    CHECK_FALSE(JwtVerifier::from_key_text(priv, "roles"));  // a private key is refused with a hint
  }
}

TEST_CASE("the authorizer: open, status and admin routes; socket peers by credentials") {
  auto v = JwtVerifier::from_key_text(kSecret, "roles");
  Authorizer auth(*v, false, *PeerAllowList::parse("1000,@0"));
  serve::Request req;
  req.target = "/x";
  CHECK_FALSE(auth.check(req, serve::Access::open));
  CHECK(auth.check(req, serve::Access::status)->status == 401);
  req.headers["authorization"] = "Bearer " + mint_hs256(kSecret, R"({"roles":["reader"],"exp":9999999999})");
  CHECK_FALSE(auth.check(req, serve::Access::status));
  auto denied = auth.check(req, serve::Access::admin);
  REQUIRE(denied);
  CHECK(denied->status == 403);
  CHECK(denied->body.find("group:Admin") != std::string::npos);
  req.headers["authorization"] = "bearer " + mint_hs256(kSecret, R"({"roles":["group:Admin"],"exp":9999999999})");
  CHECK_FALSE(auth.check(req, serve::Access::admin));
  req.headers["authorization"] = "Bearer garbage";
  CHECK(auth.check(req, serve::Access::admin)->status == 401);

  serve::Request local;
  local.transport = serve::Transport::unix_socket;
  local.peer_uid = 1000;
  CHECK_FALSE(auth.check(local, serve::Access::admin));  // no token on the socket: credentials decide
  local.peer_uid = 0;
  CHECK_FALSE(auth.check(local, serve::Access::admin));  // root always
  local.peer_uid = 4242;
  local.peer_gid = 4242;
  CHECK(auth.check(local, serve::Access::status)->status == 403);
  local.peer_gid = 0;
  CHECK_FALSE(auth.check(local, serve::Access::status));

  Authorizer public_status(*v, true, PeerAllowList{});
  serve::Request anon;
  CHECK_FALSE(public_status.check(anon, serve::Access::status));
  CHECK(public_status.check(anon, serve::Access::admin)->status == 401);
  CHECK_FALSE(PeerAllowList::parse("@no-such-group-here"));
}
