// Internal to contentd and its clients (not installed): the caller's request
// id, sent in `x-request-id` metadata so that a call in a client's logs can
// be found in contentd's request log. The SDK checks an id before sending it
// and contentd checks it again, by this one rule.
#ifndef CONTENT_COMMON_REQUEST_ID_H_
#define CONTENT_COMMON_REQUEST_ID_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "absl/strings/str_cat.h"

namespace content::internal {

inline constexpr char kRequestIdMetadata[] = "x-request-id";
// Long enough for a UUID, a W3C trace id or a few of them joined; short
// enough that a line of the request log stays a line.
inline constexpr size_t kMaxRequestIdBytes = 128;

// The rule `id` breaks, for a message `x-request-id: RULE` (or a field of
// the SDK's options), or "" for an id that may be sent: 1-128 bytes of
// printable ASCII (0x20-0x7E). gRPC aborts a client process on a header
// value with another byte, and a log line must not carry raw control
// characters. The rule never quotes the id.
inline std::string RequestIdProblem(std::string_view id) {
  if (id.empty()) return "must not be empty";
  if (id.size() > kMaxRequestIdBytes) {
    return absl::StrCat("must be at most ", kMaxRequestIdBytes,
                        " bytes of printable ASCII, got ", id.size(), " bytes");
  }
  for (size_t i = 0; i < id.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(id[i]);
    if (c < 0x20 || c > 0x7e) {
      return absl::StrCat("must be printable ASCII (0x20-0x7E), got byte 0x",
                          absl::Hex(c, absl::kZeroPad2), " at offset ", i);
    }
  }
  return "";
}

}  // namespace content::internal

#endif  // CONTENT_COMMON_REQUEST_ID_H_
