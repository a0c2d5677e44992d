#include "server/query/page_token.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <cstdlib>
#include <cstring>
#include <iostream>

#include "absl/strings/escaping.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "server/error_details.h"

namespace content::query {
namespace {

constexpr size_t kNonceSize = 12;  // AES-GCM's standard nonce
constexpr size_t kTagSize = 16;

// Keys derived from the store's token key, one per use; cached per thread,
// since a store has one key and pages come often.
struct TokenKeys {
  std::string from;             // the token key they were derived from
  unsigned char cipher[32];     // AES-256-GCM
  unsigned char nonce_mac[32];  // HMAC-SHA256 of the payload -> nonce
};

void Derive(absl::string_view key, const char* label, unsigned char* out) {
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(label), strlen(label), out,
       &size);
}

const TokenKeys& KeysFor(absl::string_view key) {
  thread_local TokenKeys keys;
  if (keys.from.empty() || keys.from != key) {
    keys.from = std::string(key);
    Derive(key, "contentd page token cipher", keys.cipher);
    Derive(key, "contentd page token nonce", keys.nonce_mac);
  }
  return keys;
}

// AES-256-GCM over `in` into `out` (the same size) with `nonce`; `tag` is
// written when sealing and checked when opening. False if the check fails.
bool Crypt(bool seal, const TokenKeys& keys, const unsigned char* nonce,
           const unsigned char* in, size_t size, unsigned char* out,
           unsigned char* tag) {
  EVP_CIPHER_CTX* ctx = EVP_CIPHER_CTX_new();
  if (ctx == nullptr) return false;
  int len = 0;
  bool ok = EVP_CipherInit_ex(ctx, EVP_aes_256_gcm(), nullptr, keys.cipher,
                              nonce, seal ? 1 : 0) == 1 &&
            EVP_CipherUpdate(ctx, out, &len, in, static_cast<int>(size)) == 1;
  if (ok && !seal) {
    ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_SET_TAG, kTagSize, tag) == 1;
  }
  ok = ok && EVP_CipherFinal_ex(ctx, out + len, &len) == 1;
  if (ok && seal) {
    ok = EVP_CIPHER_CTX_ctrl(ctx, EVP_CTRL_GCM_GET_TAG, kTagSize, tag) == 1;
  }
  EVP_CIPHER_CTX_free(ctx);
  return ok;
}

}  // namespace

std::string SealPageToken(absl::string_view payload, absl::string_view key) {
  const TokenKeys& keys = KeysFor(key);
  // nonce | ciphertext | tag. The nonce is a MAC of the payload, so a token
  // is a function of its payload (as before) and two payloads never share a
  // nonce unless equal.
  std::string raw(kNonceSize + payload.size() + kTagSize, '\0');
  auto* bytes = reinterpret_cast<unsigned char*>(raw.data());
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), keys.nonce_mac, sizeof(keys.nonce_mac),
       reinterpret_cast<const unsigned char*>(payload.data()), payload.size(),
       mac, &size);
  memcpy(bytes, mac, kNonceSize);
  // A token never starts with `-` (the first six bits 62): a command line
  // read `--page-token -Xyz...` as two flags, one in 64 pages. 63 spells
  // `_`. Opening does not derive the nonce again, so tokens sealed before
  // still open.
  if ((bytes[0] >> 2) == 62) bytes[0] |= 0x04;
  if (!Crypt(/*seal=*/true, keys, bytes,
             reinterpret_cast<const unsigned char*>(payload.data()),
             payload.size(), bytes + kNonceSize,
             bytes + kNonceSize + payload.size())) {
    // Only a broken crypto library gets here; a wrong token would lose the
    // rest of the caller's results.
    std::cerr << "contentd: cannot seal a page token (OpenSSL failed)\n";
    std::abort();
  }
  return absl::WebSafeBase64Escape(raw);
}

absl::StatusOr<std::string> OpenPageToken(absl::string_view token,
                                          absl::string_view key) {
  std::string raw;
  // Only the canonical encoding is accepted: base64 can spell the same bytes
  // several ways (unused low bits in the last character), and a token must
  // have exactly one spelling.
  if (!absl::WebSafeBase64Unescape(token, &raw) ||
      raw.size() < kNonceSize + kTagSize ||
      absl::WebSafeBase64Escape(raw) != token) {
    return InvalidField("page_token",
                        "malformed; pass next_page_token unchanged");
  }
  auto* bytes = reinterpret_cast<unsigned char*>(raw.data());
  const size_t size = raw.size() - kNonceSize - kTagSize;
  std::string payload(size, '\0');
  if (!Crypt(/*seal=*/false, KeysFor(key), bytes, bytes + kNonceSize, size,
             reinterpret_cast<unsigned char*>(payload.data()),
             bytes + kNonceSize + size)) {
    return InvalidField("page_token",
                        "not issued by this server or altered; pass "
                        "next_page_token unchanged");
  }
  return payload;
}

uint64_t Fingerprint(const google::protobuf::Message& message) {
  std::string bytes;
  {
    google::protobuf::io::StringOutputStream out(&bytes);
    google::protobuf::io::CodedOutputStream coded(&out);
    coded.SetSerializationDeterministic(true);
    message.SerializeToCodedStream(&coded);
  }
  // FNV-1a: stable across processes and releases, unlike std::hash.
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

}  // namespace content::query
