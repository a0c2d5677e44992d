// Opaque, tamper-evident page tokens: encrypted, since a payload may name
// what the caller must not see (the last term or article a page examined,
// hidden ones included).
#ifndef CONTENT_SERVER_QUERY_PAGE_TOKEN_H_
#define CONTENT_SERVER_QUERY_PAGE_TOKEN_H_

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/message.h"

namespace content::query {

// Seals `payload` with AES-256-GCM under keys derived from `key`; URL-safe
// base64, never starting with `-`. Deterministic: the same payload and key
// give the same token.
std::string SealPageToken(absl::string_view payload, absl::string_view key);

// The payload of a token made by SealPageToken with the same key.
// INVALID_ARGUMENT ("page_token: ...") if it is malformed or was altered.
absl::StatusOr<std::string> OpenPageToken(absl::string_view token,
                                          absl::string_view key);

// Stable 64-bit fingerprint of a message's deterministic encoding, to bind a
// token to the request it continues.
uint64_t Fingerprint(const google::protobuf::Message& message);

}  // namespace content::query

#endif  // CONTENT_SERVER_QUERY_PAGE_TOKEN_H_
