// Internal to contentd and contentctl (not installed): the syntax of a
// language tag, and tags compared as the same language. BCP 47 tags ignore
// ASCII case, and stores hold POSIX locale names (`zh_CN`) from before
// writes were checked, which the check still takes: '_' matches '-'.
#ifndef CONTENT_COMMON_LANG_TAG_H_
#define CONTENT_COMMON_LANG_TAG_H_

#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"

namespace content::internal {

// What IsLanguageTag takes, for errors: `FIELD: RULE "VALUE"`.
inline constexpr absl::string_view kLanguageTagRule =
    "must be a BCP 47 language tag: subtags of 1-8 letters or digits "
    "joined by '-', the first 2-3 or 5-8 letters (or x/i for private use), "
    "e.g. en, zh-CN; got ";

// A well-formed BCP 47 language tag, by syntax alone (no registry lookup,
// ASCII case ignored): subtags of 1-8 letters or digits joined by '-'; the
// first is a language of 2-3 or 5-8 letters, or `x` (private use) or `i`
// (grandfathered, e.g. `i-klingon`); a one-character subtag (`x`, or an
// extension's singleton) is followed by another. '_' is taken for '-':
// POSIX locale names (`zh_CN`) were stored before articles were checked.
inline bool IsLanguageTag(absl::string_view value) {
  const std::vector<absl::string_view> subtags =
      absl::StrSplit(value, absl::ByAnyChar("-_"));
  for (size_t i = 0; i < subtags.size(); ++i) {
    const absl::string_view t = subtags[i];
    bool ok = !t.empty() && t.size() <= 8;
    for (unsigned char c : t) ok = ok && absl::ascii_isalnum(c);
    if (i == 0 && ok) {
      const bool letters = std::all_of(t.begin(), t.end(), [](char c) {
        return absl::ascii_isalpha(static_cast<unsigned char>(c));
      });
      const bool private_use =
          absl::EqualsIgnoreCase(t, "x") || absl::EqualsIgnoreCase(t, "i");
      ok = letters &&
           (private_use || (t.size() >= 2 && t.size() <= 3) || t.size() >= 5);
    }
    if (ok && t.size() == 1) ok = i + 1 < subtags.size();
    if (!ok) return false;
  }
  return true;
}

inline bool SameLanguageTag(absl::string_view a, absl::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    const char x = a[i] == '_' ? '-' : absl::ascii_tolower(a[i]);
    const char y = b[i] == '_' ? '-' : absl::ascii_tolower(b[i]);
    if (x != y) return false;
  }
  return true;
}

// `tag` in BCP 47's conventional case (RFC 5646 2.1.1) with '-' between
// subtags: the language lowercase, a 4-letter script titlecase, a 2-letter
// region uppercase, everything else and all after a singleton (extensions,
// `x-` private use) lowercase: `zh_cn` and `ZH-cn` are `zh-CN`,
// `zh_hans_cn` is `zh-Hans-CN`. Tags that are SameLanguageTag get the same
// spelling, so it can stand for all of them.
inline std::string CanonicalLanguageTag(absl::string_view tag) {
  std::string out(tag.size(), '\0');
  size_t start = 0;  // of the current subtag
  bool after_singleton = false;
  for (size_t i = 0; i <= tag.size(); ++i) {
    if (i < tag.size() && tag[i] != '-' && tag[i] != '_') continue;
    const size_t size = i - start;
    for (size_t k = start; k < i; ++k) {
      const bool upper = !after_singleton && start > 0 &&
                         (size == 2 || (size == 4 && k == start));
      out[k] =
          upper ? absl::ascii_toupper(tag[k]) : absl::ascii_tolower(tag[k]);
    }
    if (size == 1) after_singleton = true;
    if (i < tag.size()) out[i] = '-';
    start = i + 1;
  }
  return out;
}

}  // namespace content::internal

#endif  // CONTENT_COMMON_LANG_TAG_H_
