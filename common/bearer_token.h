// Internal to contentd's clients (not installed): the bearer token as sent.
// The SDK (Client::Connect) and contentbench, which share no library but
// the protos, check a token the same way.
#ifndef CONTENT_COMMON_BEARER_TOKEN_H_
#define CONTENT_COMMON_BEARER_TOKEN_H_

#include <cstddef>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace content::internal {

// The token as sent: without the one line ending ("\n" or "\r\n") that a
// token read from a file or a Kubernetes Secret carries. gRPC aborts the
// process on a header value with any other byte outside printable ASCII, so
// those are INVALID_ARGUMENT, `token: contains ...`, and so is a leading
// space (`token: starts with a space ...`); the message never holds the
// token.
inline absl::StatusOr<std::string> CleanToken(std::string token) {
  if (absl::EndsWith(token, "\r\n")) {
    token.resize(token.size() - 2);
  } else if (absl::EndsWith(token, "\n")) {
    token.pop_back();
  }
  // `Bearer` and the token are separated by one or more spaces (RFC 6750),
  // which contentd drops: a token that starts with one would be sent and
  // hashed with it, and never match.
  if (!token.empty() && token[0] == ' ') {
    return absl::InvalidArgumentError(
        "token: starts with a space, which the `authorization: Bearer TOKEN` "
        "header cannot carry (a token is printable ASCII; one trailing "
        "newline is dropped)");
  }
  for (size_t i = 0; i < token.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(token[i]);
    if (c >= 0x20 && c < 0x7f) continue;
    return absl::InvalidArgumentError(absl::StrCat(
        "token: contains ",
        c < 0x80 ? "a control character" : "a byte that is not ASCII",
        " at byte ", i,
        " (a token is printable ASCII; one trailing newline is dropped)"));
  }
  return token;
}

}  // namespace content::internal

#endif  // CONTENT_COMMON_BEARER_TOKEN_H_
