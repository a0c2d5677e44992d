// Internal to contentd (not installed): UTF-8 validity, as protobuf checks
// `string` fields. A request holding invalid UTF-8 is serialized anyway
// (with a libprotobuf log line) and then refused by the server as one that
// "cannot be parsed", naming no field: the SDK and the CLI check first.
#ifndef CONTENT_COMMON_UTF8_H_
#define CONTENT_COMMON_UTF8_H_

#include <cstddef>

#include "absl/strings/string_view.h"

namespace content::internal {

// Returns the offset of the first byte that does not start a well-formed
// UTF-8 sequence (overlongs, surrogates and values past U+10FFFF included),
// or npos when all of `s` is valid.
inline size_t InvalidUtf8Offset(absl::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = s[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    int len;
    unsigned char lo = 0x80, hi = 0xBF;  // bounds of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // past U+10FFFF
    } else {
      return i;
    }
    if (i + len > s.size()) return i;
    for (int k = 1; k < len; ++k) {
      const unsigned char b = s[i + k];
      const bool ok = k == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
      if (!ok) return i;
    }
    i += len;
  }
  return absl::string_view::npos;
}

inline bool IsValidUtf8(absl::string_view s) {
  return InvalidUtf8Offset(s) == absl::string_view::npos;
}

}  // namespace content::internal

#endif  // CONTENT_COMMON_UTF8_H_
