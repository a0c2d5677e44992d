#include "server/query/page_token.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "absl/strings/escaping.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"

namespace content::query {
namespace {

constexpr size_t kTagSize = 12;

std::string Tag(absl::string_view payload, absl::string_view key) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(payload.data()), payload.size(),
       mac, &size);
  return std::string(reinterpret_cast<const char*>(mac), kTagSize);
}

}  // namespace

std::string SealPageToken(absl::string_view payload, absl::string_view key) {
  std::string raw(payload);
  raw += Tag(payload, key);
  return absl::WebSafeBase64Escape(raw);
}

absl::StatusOr<std::string> OpenPageToken(absl::string_view token,
                                          absl::string_view key) {
  std::string raw;
  // Only the canonical encoding is accepted: base64 can spell the same bytes
  // several ways (unused low bits in the last character), and a token must
  // have exactly one spelling.
  if (!absl::WebSafeBase64Unescape(token, &raw) || raw.size() < kTagSize ||
      absl::WebSafeBase64Escape(raw) != token) {
    return absl::InvalidArgumentError(
        "page_token: malformed; pass next_page_token unchanged");
  }
  const absl::string_view payload(raw.data(), raw.size() - kTagSize);
  const std::string expected = Tag(payload, key);
  if (CRYPTO_memcmp(expected.data(), raw.data() + payload.size(), kTagSize) !=
      0) {
    return absl::InvalidArgumentError(
        "page_token: not issued by this server or altered; pass "
        "next_page_token unchanged");
  }
  return std::string(payload);
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
