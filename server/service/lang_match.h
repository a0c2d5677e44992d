// Choosing a translation for a reader (GetArticle with `lang` and
// `fallback_langs`): which of an article's languages answers a language
// asked for, and how closely. A language matches exactly (ignoring case,
// '_' taken for '-'), else by primary subtag; among primary-subtag
// matches the closer wins, judged on the tags with their likely subtags
// added (CLDR, through ICU): `zh-HK` is `zh-Hant-HK`, so `zh-TW`
// (`zh-Hant-TW`) answers it before `zh-CN` (`zh-Hans-CN`) does.
#ifndef CONTENT_SERVER_SERVICE_LANG_MATCH_H_
#define CONTENT_SERVER_SERVICE_LANG_MATCH_H_

#include <cstddef>
#include <limits>
#include <string>
#include <vector>

#include "absl/strings/string_view.h"
#include "google/protobuf/repeated_ptr_field.h"

namespace content::service {

// How an article's language answers one asked for, best first.
enum class LanguageMatch {
  // The same tag (SameLanguageTag): `zh-CN` for `zh_cn`.
  kExact = 0,
  // The same language, script and region once likely subtags are added:
  // `zh-TW` for `zh-Hant-TW`, `en` for `en-US`, `zh-CN` for `zh`.
  kSameScriptAndRegion = 1,
  // The same language and script: `zh-TW` for `zh-HK`, `en-GB` for `en-US`.
  kSameScript = 2,
  // The same primary subtag only: `zh-CN` for `zh-HK`.
  kSameLanguage = 3,
  kNone = 4,
};

// How `have` answers `want`. Both are well-formed tags
// (internal::IsLanguageTag); a tag ICU cannot read (`x-klingon`) matches
// only exactly or by primary subtag. Thread-safe.
LanguageMatch MatchLanguage(absl::string_view have, absl::string_view want);

// A reader's languages in order (GetArticleRequest's `lang`, then
// `fallback_langs`), ranking the articles of a translation group. An
// article's rank is set by the first language it answers, and within it by
// how closely (LanguageMatch): an exact `zh-TW` later in the list does not
// beat the `zh-TW` that answers `zh-HK` at its head, but neither does the
// `zh-CN` that answers it less closely. Immutable: safe for concurrent use.
class LanguagePreference {
 public:
  // A rank no language answered.
  static constexpr size_t kNoMatch = std::numeric_limits<size_t>::max();

  explicit LanguagePreference(std::vector<std::string> wanted);

  // The rank of an article in `langs`: lower is better; kNoMatch when none
  // of them answers any language wanted.
  size_t Rank(
      const google::protobuf::RepeatedPtrField<std::string>& langs) const;

 private:
  std::vector<std::string> wanted_;
};

}  // namespace content::service

#endif  // CONTENT_SERVER_SERVICE_LANG_MATCH_H_
