// Tests for choosing a translation (server/service/lang_match.h): exact
// tags first, then the closest of one primary language by likely script
// and region, in the order the reader gave the languages.

#include "server/service/lang_match.h"

#include <string>
#include <vector>

#include "google/protobuf/repeated_ptr_field.h"
#include "gtest/gtest.h"

namespace content::service {
namespace {

google::protobuf::RepeatedPtrField<std::string> Langs(
    std::vector<std::string> tags) {
  return {tags.begin(), tags.end()};
}

TEST(MatchLanguageTest, ExactThenScriptAndRegionThenScriptThenLanguage) {
  EXPECT_EQ(MatchLanguage("zh-CN", "zh_cn"), LanguageMatch::kExact);
  EXPECT_EQ(MatchLanguage("zh-CN", "ZH-cn"), LanguageMatch::kExact);
  // zh-TW is zh-Hant-TW; zh is zh-Hans-CN; en is en-Latn-US.
  EXPECT_EQ(MatchLanguage("zh-TW", "zh-Hant-TW"),
            LanguageMatch::kSameScriptAndRegion);
  EXPECT_EQ(MatchLanguage("zh-TW", "zh-Hant"),
            LanguageMatch::kSameScriptAndRegion);
  EXPECT_EQ(MatchLanguage("zh-CN", "zh"), LanguageMatch::kSameScriptAndRegion);
  EXPECT_EQ(MatchLanguage("zh-CN", "zh-Hans-CN"),
            LanguageMatch::kSameScriptAndRegion);
  EXPECT_EQ(MatchLanguage("en", "en-US"), LanguageMatch::kSameScriptAndRegion);
  EXPECT_EQ(MatchLanguage("zh-TW", "zh-HK"), LanguageMatch::kSameScript);
  EXPECT_EQ(MatchLanguage("zh-Hant", "zh-HK"), LanguageMatch::kSameScript);
  EXPECT_EQ(MatchLanguage("en-GB", "en-US"), LanguageMatch::kSameScript);
  EXPECT_EQ(MatchLanguage("zh-CN", "zh-HK"), LanguageMatch::kSameLanguage);
  EXPECT_EQ(MatchLanguage("zh-CN", "zh-Hant"), LanguageMatch::kSameLanguage);
  EXPECT_EQ(MatchLanguage("zh_CN", "zh-TW"), LanguageMatch::kSameLanguage);
  EXPECT_EQ(MatchLanguage("en", "fr"), LanguageMatch::kNone);
  // ICU would read a tag with no language as `und`, likely `en`: such tags
  // match exactly or by primary subtag only, as before.
  EXPECT_EQ(MatchLanguage("x-klingon", "x-klingon"), LanguageMatch::kExact);
  EXPECT_EQ(MatchLanguage("x-klingon", "x-vulcan"),
            LanguageMatch::kSameLanguage);
  EXPECT_EQ(MatchLanguage("x-klingon", "en"), LanguageMatch::kNone);
  EXPECT_EQ(MatchLanguage("und", "en"), LanguageMatch::kNone);
}

// A Hong Kong reader's chain, zh-HK -> zh-TW -> zh -> en, against a group
// in zh-CN, zh-TW and en: the Traditional zh-TW, not zh-CN by id order.
TEST(LanguagePreferenceTest, TheClosestOfTheFirstLanguageAnsweredWins) {
  const LanguagePreference hk({"zh-HK", "zh-TW", "zh", "en"});
  EXPECT_LT(hk.Rank(Langs({"zh-TW"})), hk.Rank(Langs({"zh-CN"})));
  EXPECT_LT(hk.Rank(Langs({"zh-CN"})), hk.Rank(Langs({"en"})));
  EXPECT_EQ(hk.Rank(Langs({"fr"})), LanguagePreference::kNoMatch);
  EXPECT_EQ(hk.Rank(Langs({})), LanguagePreference::kNoMatch);
  // A browser's zh-TW, zh: the Traditional article tagged by script alone.
  const LanguagePreference tw({"zh-TW", "zh"});
  EXPECT_LT(tw.Rank(Langs({"zh-Hant"})), tw.Rank(Langs({"zh-CN"})));
  // An article in several languages ranks by the best of them.
  EXPECT_EQ(tw.Rank(Langs({"en", "zh-TW"})), tw.Rank(Langs({"zh-TW"})));
  // An earlier language answered at all beats a later one answered
  // exactly: the reader's order comes first.
  const LanguagePreference us({"en-US", "fr"});
  EXPECT_LT(us.Rank(Langs({"en-GB"})), us.Rank(Langs({"fr"})));
  EXPECT_LT(us.Rank(Langs({"en"})), us.Rank(Langs({"en-GB"})));
  EXPECT_LT(us.Rank(Langs({"en-us"})), us.Rank(Langs({"en"})));
}

}  // namespace
}  // namespace content::service
