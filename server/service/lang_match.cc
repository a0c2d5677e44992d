#include "server/service/lang_match.h"

#include <unicode/locid.h>
#include <unicode/stringpiece.h>
#include <unicode/utypes.h>

#include <algorithm>
#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "common/lang_tag.h"

namespace content::service {
namespace {

absl::string_view PrimarySubtag(absl::string_view tag) {
  return tag.substr(0, tag.find_first_of("-_"));
}

struct Likely {
  std::string script;
  std::string region;
};

// `tag` with its likely subtags added (`zh-HK` is `zh-Hant-HK`, `en` is
// `en-Latn-US`); nothing for a tag ICU cannot read or maximize.
std::optional<Likely> Maximize(absl::string_view tag) {
  const std::string dashed = internal::CanonicalLanguageTag(tag);
  UErrorCode status = U_ZERO_ERROR;
  icu::Locale locale = icu::Locale::forLanguageTag(
      icu::StringPiece(dashed.data(), static_cast<int32_t>(dashed.size())),
      status);
  // No language (`x-klingon`): ICU would make it `und`, and that `en`.
  if (U_FAILURE(status) || locale.isBogus() || *locale.getLanguage() == '\0' ||
      absl::string_view(locale.getLanguage()) == "und") {
    return std::nullopt;
  }
  locale.addLikelySubtags(status);
  if (U_FAILURE(status) || locale.isBogus()) return std::nullopt;
  if (*locale.getScript() == '\0') return std::nullopt;
  return Likely{locale.getScript(), locale.getCountry()};
}

}  // namespace

LanguageMatch MatchLanguage(absl::string_view have, absl::string_view want) {
  if (internal::SameLanguageTag(have, want)) return LanguageMatch::kExact;
  if (!absl::EqualsIgnoreCase(PrimarySubtag(have), PrimarySubtag(want)))
    return LanguageMatch::kNone;
  const std::optional<Likely> h = Maximize(have);
  const std::optional<Likely> w = Maximize(want);
  if (!h.has_value() || !w.has_value() || h->script != w->script)
    return LanguageMatch::kSameLanguage;
  return h->region == w->region ? LanguageMatch::kSameScriptAndRegion
                                : LanguageMatch::kSameScript;
}

LanguagePreference::LanguagePreference(std::vector<std::string> wanted)
    : wanted_(std::move(wanted)) {}

size_t LanguagePreference::Rank(
    const google::protobuf::RepeatedPtrField<std::string>& langs) const {
  constexpr size_t kLevels = static_cast<size_t>(LanguageMatch::kNone);
  for (size_t i = 0; i < wanted_.size(); ++i) {
    LanguageMatch best = LanguageMatch::kNone;
    for (const std::string& have : langs)
      best = std::min(best, MatchLanguage(have, wanted_[i]));
    if (best != LanguageMatch::kNone)
      return i * kLevels + static_cast<size_t>(best);
  }
  return kNoMatch;
}

}  // namespace content::service
