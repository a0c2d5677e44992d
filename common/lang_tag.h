// Internal to contentd (not installed): language tags compared as the same
// language. BCP 47 tags ignore ASCII case, and stores hold POSIX locale
// names (`zh_CN`) from before writes were checked, which the check still
// takes: '_' matches '-'.
#ifndef CONTENT_COMMON_LANG_TAG_H_
#define CONTENT_COMMON_LANG_TAG_H_

#include "absl/strings/ascii.h"
#include "absl/strings/string_view.h"

namespace content::internal {

inline bool SameLanguageTag(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const char x = a[i] == '_' ? '-' : absl::ascii_tolower(a[i]);
    const char y = b[i] == '_' ? '-' : absl::ascii_tolower(b[i]);
    if (x != y) return false;
  }
  return true;
}

}  // namespace content::internal

#endif  // CONTENT_COMMON_LANG_TAG_H_
