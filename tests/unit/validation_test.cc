// Tests for request validation (server/service/validation.h): every rule
// fails with INVALID_ARGUMENT and a message that names the field.

#include "server/service/validation.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "content/v1/article.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace content::service {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;
using v1::Article;
using v1::Query;

// Passes if `s` is INVALID_ARGUMENT and its message starts with `field: `.
::testing::AssertionResult InvalidNaming(const absl::Status& s,
                                         const std::string& field) {
  if (s.code() != absl::StatusCode::kInvalidArgument) {
    return ::testing::AssertionFailure()
           << "want INVALID_ARGUMENT naming " << field << ", got " << s;
  }
  if (s.message().substr(0, field.size() + 2) != field + ": ") {
    return ::testing::AssertionFailure()
           << "message does not start with \"" << field << ": \": " << s;
  }
  return ::testing::AssertionSuccess();
}

Article Valid() {
  Article a;
  a.set_title("标题 Title");
  a.set_summary("A summary");
  a.set_body("# 正文\n\nBody with\ttabs and newlines.\n");
  a.add_tags("go");
  a.add_tags("数据库");
  a.add_categories("Tech");
  a.add_lang("zh-CN");
  a.add_translations("en");
  a.add_widgets("toc");
  a.mutable_date()->set_seconds(1738986852);
  a.set_comments(true);
  (*a.mutable_params()->mutable_fields())["author"].set_string_value("李");
  (*a.mutable_params()->mutable_fields())["weight"].set_number_value(3);
  a.mutable_style()->set_date_layout(v1::FrontMatterStyle::DATE_LAYOUT_DATE);
  return a;
}

// ---- Ids and names ---------------------------------------------------------

TEST(ValidateIdTest, AcceptsSlugs) {
  for (const std::string& id :
       std::vector<std::string>{"a", "Z", "0", "hello-world", "a.b_c-d",
                                "2025.02.08_news", std::string(128, 'x')}) {
    EXPECT_TRUE(ValidateId(id, "article_id").ok()) << id;
  }
}

TEST(ValidateIdTest, RejectsOthersNamingTheField) {
  for (const std::string id :
       {std::string(), std::string("-a"), std::string(".a"), std::string("_a"),
        std::string("a/b"), std::string("a b"), std::string("a?"),
        std::string("ä"), std::string("a\n"), std::string("a\0b", 3),
        std::string(129, 'x')}) {
    absl::Status s = ValidateId(id, "article_id");
    EXPECT_TRUE(InvalidNaming(s, "article_id")) << "id " << id;
  }
  EXPECT_THAT(ValidateId("a/b", "article_id").message(),
              HasSubstr("[A-Za-z0-9._-]"));
}

TEST(ParseNameTest, ParsesAndRejects) {
  absl::StatusOr<std::string> id = ParseName("articles/hello-1", "name");
  ASSERT_TRUE(id.ok()) << id.status();
  EXPECT_EQ(*id, "hello-1");
  for (const char* bad :
       {"", "hello", "article/x", "Articles/x", "articles/", "articles/a/b",
        "articles/-x", "/articles/x", "articles//x"}) {
    EXPECT_TRUE(
        InvalidNaming(ParseName(bad, "article.name").status(), "article.name"))
        << bad;
  }
  EXPECT_THAT(ParseName("", "name").status().message(), HasSubstr("required"));
}

// ---- Articles --------------------------------------------------------------

class ValidateArticleTest : public ::testing::Test {
 protected:
  absl::Status Check(const Article& a) {
    return ValidateArticle(a, limits_, "article");
  }
  Limits limits_;
};

TEST_F(ValidateArticleTest, AcceptsAWellFormedArticle) {
  EXPECT_TRUE(Check(Valid()).ok()) << Check(Valid());
  Article minimal;
  minimal.set_title("t");
  EXPECT_TRUE(Check(minimal).ok());
}

TEST_F(ValidateArticleTest, TitleRequiredAndBounded) {
  Article a = Valid();
  a.clear_title();
  EXPECT_TRUE(InvalidNaming(Check(a), "article.title"));
  EXPECT_THAT(Check(a).message(), HasSubstr("required"));
  a.set_title(" \t\n ");
  EXPECT_TRUE(InvalidNaming(Check(a), "article.title"));
  a.set_title(std::string(1024, 't'));
  EXPECT_TRUE(Check(a).ok());
  a.set_title(std::string(1025, 't'));
  EXPECT_TRUE(InvalidNaming(Check(a), "article.title"));
  EXPECT_THAT(Check(a).message(), HasSubstr("1024"));
  // 1024 bytes, not characters: 342 three-byte characters are too many.
  std::string han;
  for (int i = 0; i < 342; ++i) han += "中";
  a.set_title(han);
  EXPECT_TRUE(InvalidNaming(Check(a), "article.title"));
}

TEST_F(ValidateArticleTest, TitleAndSummaryRefuseControlCharacters) {
  Article a = Valid();
  a.set_title(std::string("a\0b", 3));
  EXPECT_TRUE(InvalidNaming(Check(a), "article.title"));
  EXPECT_THAT(Check(a).message(), HasSubstr("0x00"));
  a.set_title("a\ab");
  EXPECT_TRUE(InvalidNaming(Check(a), "article.title"));
  a.set_title("a\x7f");
  EXPECT_TRUE(InvalidNaming(Check(a), "article.title"));
  // Tabs and line breaks (a folded YAML title ends in one) are fine.
  a.set_title("folded\ttitle\r\n");
  EXPECT_TRUE(Check(a).ok()) << Check(a);
  a.set_summary("line one\nline two\x1b[0m");
  EXPECT_TRUE(InvalidNaming(Check(a), "article.summary"));
  a.set_summary("line one\nline two\n");
  EXPECT_TRUE(Check(a).ok());
  // The body may hold anything valid UTF-8.
  a.set_body(std::string("nul \0 in a body", 16));
  EXPECT_TRUE(Check(a).ok());
}

// Each list limit takes a list no longer than the stored head's, past the
// limit; longer than both, or without a head, the limit holds.
TEST_F(ValidateArticleTest, ListsPastTheLimitPassIfNoLongerThanStored) {
  limits_.max_list_entries = 2;
  Article stored = Valid();  // three entries in every list
  for (auto* list : {stored.mutable_tags(), stored.mutable_categories(),
                     stored.mutable_lang(), stored.mutable_translations(),
                     stored.mutable_widgets()}) {
    list->Clear();
    for (const char* v : {"en", "fr", "de"}) list->Add(v);
  }
  for (const char* list :
       {"tags", "categories", "lang", "translations", "widgets"}) {
    SCOPED_TRACE(list);
    Article a = Valid();
    auto* field = a.mutable_tags();
    if (std::string(list) == "categories") field = a.mutable_categories();
    if (std::string(list) == "lang") field = a.mutable_lang();
    if (std::string(list) == "translations") field = a.mutable_translations();
    if (std::string(list) == "widgets") field = a.mutable_widgets();
    field->Clear();
    for (const char* v : {"en", "fr", "de"}) field->Add(v);  // 3 > 2
    EXPECT_TRUE(ExceedsListLimit(a, limits_));
    const std::string name = absl::StrCat("article.", list);
    EXPECT_TRUE(InvalidNaming(Check(a), name)) << Check(a);
    Article shorter_stored = Valid();  // one entry each
    EXPECT_TRUE(
        InvalidNaming(ValidateArticle(a, limits_, "article", TextUtf8::kCheck,
                                      &shorter_stored),
                      name));
    absl::Status s =
        ValidateArticle(a, limits_, "article", TextUtf8::kCheck, &stored);
    EXPECT_TRUE(s.ok()) << s;
    field->Add("es");  // 4 > 3 stored
    s = ValidateArticle(a, limits_, "article", TextUtf8::kCheck, &stored);
    EXPECT_TRUE(InvalidNaming(s, name)) << s;
    EXPECT_THAT(s.message(), HasSubstr("at most 3 entries (the stored "
                                       "revision's count; the limit for new "
                                       "content is 2), got 4"));
  }
}

TEST_F(ValidateArticleTest, TagRules) {
  Article a = Valid();
  a.clear_tags();
  for (int i = 0; i < 64; ++i) a.add_tags(absl::StrCat("t", i));
  EXPECT_TRUE(Check(a).ok());
  a.add_tags("t64");
  EXPECT_TRUE(InvalidNaming(Check(a), "article.tags"));
  EXPECT_THAT(Check(a).message(), HasSubstr("64"));

  a.clear_tags();
  a.add_tags("ok");
  a.add_tags(std::string(128, 'x'));
  EXPECT_TRUE(Check(a).ok());
  a.set_tags(1, std::string(129, 'x'));
  EXPECT_TRUE(InvalidNaming(Check(a), "article.tags[1]"));
  EXPECT_THAT(Check(a).message(), HasSubstr("128"));

  a.clear_tags();
  a.add_tags("go");
  a.add_tags("db");
  a.add_tags("go");
  EXPECT_TRUE(InvalidNaming(Check(a), "article.tags[2]"));
  EXPECT_THAT(Check(a).message(), HasSubstr("duplicate"));

  for (const std::string bad :
       {std::string(), std::string("a\x01"), std::string("line\nbreak"),
        std::string("tab\t"), std::string("del\x7f"), std::string("nul\0", 4),
        std::string(" lead"), std::string("trail "), std::string("\xff")}) {
    a.clear_tags();
    a.add_tags("fine");
    a.add_tags(bad);
    EXPECT_TRUE(InvalidNaming(Check(a), "article.tags[1]")) << bad;
  }
}

// Languages compare without case and with `_` for `-` everywhere
// (SameLanguageTag), so a list naming one language twice is refused.
TEST_F(ValidateArticleTest, LanguagesAreDistinctAsLookupsCompareThem) {
  Article a = Valid();
  a.clear_lang();
  a.add_lang("en");
  a.add_lang("zh-CN");
  EXPECT_TRUE(Check(a).ok());
  a.add_lang("EN");
  EXPECT_TRUE(InvalidNaming(Check(a), "article.lang[2]"));
  EXPECT_THAT(Check(a).message(), HasSubstr("duplicate language \"EN\""));
  // The other entry by its index in the list, as tags name theirs: an
  // `apply` printed `lang[2]: ... (the same as articles[0].lang[0] "en")`,
  // the API's path beside the file's key.
  EXPECT_THAT(Check(a).message(), HasSubstr("(the same as lang[0] \"en\")"));
  EXPECT_THAT(Check(a).message(), Not(HasSubstr("article.lang[0]")));
  a.set_lang(2, "zh_cn");
  EXPECT_TRUE(InvalidNaming(Check(a), "article.lang[2]"));
  a.set_lang(2, "zh-TW");
  EXPECT_TRUE(Check(a).ok());
}

// "café" composed (U+00E9) or decomposed (e + U+0301) is one tag: both
// are stored composed (NFC). Case is not folded.
TEST(NormalizeArticleTermsTest, TagsAndCategoriesBecomeNfc) {
  const std::string composed = "caf\xC3\xA9";
  const std::string decomposed = "cafe\xCC\x81";
  Article a = Valid();
  ASSERT_TRUE(TermsAreNfc(a));
  a.add_tags(decomposed);
  a.add_tags("AI");
  a.add_tags("ai");
  a.add_categories("Re\xCC\x81sume\xCC\x81");
  a.add_lang("en");
  EXPECT_FALSE(TermsAreNfc(a));
  ASSERT_TRUE(NormalizeArticleTerms(&a, "article").ok());
  EXPECT_TRUE(TermsAreNfc(a));
  EXPECT_THAT(a.tags(),
              ::testing::ElementsAre("go", "数据库", composed, "AI", "ai"));
  EXPECT_THAT(a.categories(),
              ::testing::ElementsAre("Tech", "R\xC3\xA9sum\xC3\xA9"));
  EXPECT_TRUE(ValidateArticle(a, Limits(), "article").ok());

  // Two spellings of one tag are one tag given twice.
  Article twice = Valid();
  twice.add_tags(composed);
  twice.add_tags(decomposed);
  const absl::Status s = NormalizeArticleTerms(&twice, "article");
  EXPECT_TRUE(InvalidNaming(s, "article.tags[3]"));
  EXPECT_THAT(s.message(), HasSubstr("is tags[2] in another Unicode spelling"));

  // Bytes that are not UTF-8 are left for ValidateArticle to refuse.
  Article bad = Valid();
  bad.add_categories("\xff");
  ASSERT_TRUE(NormalizeArticleTerms(&bad, "article").ok());
  EXPECT_EQ(bad.categories(1), "\xff");
  EXPECT_TRUE(InvalidNaming(ValidateArticle(bad, Limits(), "article"),
                            "article.categories[1]"));
}

TEST_F(ValidateArticleTest, CategoryAndLangRules) {
  Article a = Valid();
  a.add_categories("Tech");
  EXPECT_TRUE(InvalidNaming(Check(a), "article.categories[1]"));
  a = Valid();
  a.add_lang("");
  EXPECT_TRUE(InvalidNaming(Check(a), "article.lang[1]"));
  a = Valid();
  for (int i = 0; i < 65; ++i) a.add_translations("en");
  EXPECT_TRUE(InvalidNaming(Check(a), "article.translations"));
}

// lang and translations hold BCP 47 tags, checked by syntax alone; '_' is
// taken for '-', as stores hold POSIX locale names from before the check.
TEST_F(ValidateArticleTest, LangsMustBeWellFormedLanguageTags) {
  for (const char* good :
       {"en", "EN", "zh-CN", "zh-cn", "zh-Hant-TW", "yue", "de-CH-1996",
        "sr-Latn-RS", "es-419", "x-klingon", "i-navajo", "en-x-private",
        "en-US-u-ca-gregory", "abcde", "abcdefgh", "zh_CN", "en_us"}) {
    Article a = Valid();
    a.clear_lang();
    a.add_lang(good);
    a.clear_translations();
    a.add_translations(good);
    EXPECT_TRUE(Check(a).ok()) << good << ": " << Check(a);
  }
  for (const char* bad : {"not a lang!", "e", "en-languages1", "abcdefghi",
                          "zh_", "zh-", "-en", "en--US", "en-x", "abcd", "12",
                          "en-US!", "zh-中文", "en-toolongsubtag"}) {
    Article a = Valid();
    a.add_lang(bad);
    EXPECT_TRUE(InvalidNaming(Check(a), "article.lang[1]")) << bad;
    EXPECT_THAT(Check(a).message(), HasSubstr("BCP 47")) << bad;
    a = Valid();
    a.add_translations(bad);
    EXPECT_TRUE(InvalidNaming(Check(a), "article.translations[1]")) << bad;
  }
  // An empty translations entry was always taken; an empty lang never was.
  Article a = Valid();
  a.add_translations("");
  EXPECT_TRUE(Check(a).ok()) << Check(a);
  a = Valid();
  a.clear_lang();
  EXPECT_TRUE(Check(a).ok()) << Check(a);
}

TEST_F(ValidateArticleTest, InvalidUtf8NamesTheField) {
  const std::string bad = "ok \xc3\x28 bad";  // 0xc3 wants a continuation
  struct Case {
    const char* field;
    void (*set)(Article*, const std::string&);
  };
  const Case cases[] = {
      {"article.title",
       [](Article* a, const std::string& v) { a->set_title(v); }},
      {"article.summary",
       [](Article* a, const std::string& v) { a->set_summary(v); }},
      {"article.body",
       [](Article* a, const std::string& v) { a->set_body(v); }},
      {"article.menu",
       [](Article* a, const std::string& v) { a->set_menu(v); }},
      {"article.thumbnail",
       [](Article* a, const std::string& v) { a->set_thumbnail(v); }},
      {"article.lead",
       [](Article* a, const std::string& v) { a->set_lead(v); }},
      {"article.sidebar",
       [](Article* a, const std::string& v) { a->set_sidebar(v); }},
      {"article.translations[1]",
       [](Article* a, const std::string& v) { a->add_translations(v); }},
      {"article.widgets[1]",
       [](Article* a, const std::string& v) { a->add_widgets(v); }},
      {"article.categories[1]",
       [](Article* a, const std::string& v) { a->add_categories(v); }},
  };
  for (const Case& c : cases) {
    Article a = Valid();
    c.set(&a, bad);
    EXPECT_TRUE(InvalidNaming(Check(a), c.field));
    EXPECT_THAT(Check(a).message(), HasSubstr("UTF-8"));
  }
}

// The server skips the text fields' UTF-8 scan for articles that came off
// the wire (TextUtf8::kCheckedByParser): that rests on protobuf refusing to
// parse a proto3 string that is not UTF-8, checked here for each of them.
TEST_F(ValidateArticleTest, CheckedByParserRestsOnProtobufRefusingBadUtf8) {
  const std::string bad = "ok \xc3\x28 bad";
  const std::vector<void (*)(Article*, const std::string&)> setters = {
      [](Article* a, const std::string& v) { a->set_title(v); },
      [](Article* a, const std::string& v) { a->set_summary(v); },
      [](Article* a, const std::string& v) { a->set_body(v); },
      [](Article* a, const std::string& v) { a->set_menu(v); },
      [](Article* a, const std::string& v) { a->set_thumbnail(v); },
      [](Article* a, const std::string& v) { a->set_lead(v); },
      [](Article* a, const std::string& v) { a->set_sidebar(v); },
  };
  for (size_t i = 0; i < setters.size(); ++i) {
    Article a = Valid();
    setters[i](&a, bad);
    std::string wire;
    // Serializing logs the bad string (and goes on); parsing refuses it.
    ASSERT_TRUE(a.SerializeToString(&wire));
    Article parsed;
    EXPECT_FALSE(parsed.ParseFromString(wire)) << "field " << i;
  }
  // Every other rule still holds when the text scan is skipped.
  Article a = Valid();
  EXPECT_TRUE(
      ValidateArticle(a, Limits(), "article", TextUtf8::kCheckedByParser).ok());
  a.set_title("  ");
  EXPECT_TRUE(InvalidNaming(
      ValidateArticle(a, Limits(), "article", TextUtf8::kCheckedByParser),
      "article.title"));
  a = Valid();
  a.add_tags("bad\ttag");
  EXPECT_TRUE(InvalidNaming(
      ValidateArticle(a, Limits(), "article", TextUtf8::kCheckedByParser),
      "article.tags[2]"));
}

TEST_F(ValidateArticleTest, ParamsAreCheckedDeeply) {
  Article a = Valid();
  auto& fields = *a.mutable_params()->mutable_fields();
  fields["note"].set_string_value("\xed\xa0\x80");  // a surrogate
  EXPECT_TRUE(InvalidNaming(Check(a), "article.params.note"));

  a = Valid();
  auto* list =
      (*a.mutable_params()->mutable_fields())["menu"].mutable_list_value();
  list->add_values()->set_string_value("fine");
  auto* inner = list->add_values()->mutable_struct_value();
  (*inner->mutable_fields())["name"].set_string_value("\xc0\xaf");  // overlong
  EXPECT_TRUE(InvalidNaming(Check(a), "article.params.menu[1].name"));

  a = Valid();
  (*a.mutable_params()->mutable_fields())["bad\xff"].set_bool_value(true);
  EXPECT_TRUE(InvalidNaming(Check(a), "article.params"));

  a = Valid();
  (*a.mutable_params()->mutable_fields())["x"].set_number_value(
      std::numeric_limits<double>::quiet_NaN());
  EXPECT_TRUE(InvalidNaming(Check(a), "article.params.x"));

  a = Valid();
  google::protobuf::Value* v = &(*a.mutable_params()->mutable_fields())["deep"];
  for (int i = 0; i < 40; ++i) {
    v = &(*v->mutable_struct_value()->mutable_fields())["d"];
  }
  v->set_string_value("bottom");
  absl::Status s = Check(a);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_THAT(std::string(s.message()), StartsWith("article.params.deep"));
  EXPECT_THAT(s.message(), HasSubstr("nested more than 30 deep"));

  // The limit is the Markdown reader's: 30 levels pass, 31 do not (one
  // more would not print as JSON, and deeper mappings do not parse).
  for (int levels : {30, 31}) {
    a = Valid();
    v = &(*a.mutable_params()->mutable_fields())["deep"];
    for (int i = 0; i < levels; ++i) {
      v = &(*v->mutable_struct_value()->mutable_fields())["a"];
    }
    v->set_number_value(1);
    EXPECT_EQ(Check(a).ok(), levels == 30) << levels << " " << Check(a);
  }
}

TEST_F(ValidateArticleTest, TimestampsAreBounded) {
  Article a = Valid();
  a.mutable_date()->set_nanos(-1);
  EXPECT_TRUE(InvalidNaming(Check(a), "article.date"));
  a.mutable_date()->set_nanos(1000000000);
  EXPECT_TRUE(InvalidNaming(Check(a), "article.date"));
  a.mutable_date()->set_nanos(999999999);
  EXPECT_TRUE(Check(a).ok());
  a.mutable_date()->set_seconds(253402300800);  // 10000-01-01
  EXPECT_TRUE(InvalidNaming(Check(a), "article.date"));
  a.mutable_date()->set_seconds(-62135596801);  // before 0001-01-01
  EXPECT_TRUE(InvalidNaming(Check(a), "article.date"));
  a.mutable_date()->set_seconds(-62135596800);
  a.mutable_date()->set_nanos(0);
  EXPECT_TRUE(Check(a).ok());
}

TEST_F(ValidateArticleTest, OversizedArticle) {
  Article a = Valid();
  a.set_body(std::string(limits_.max_article_bytes, 'b'));
  absl::Status s = Check(a);
  EXPECT_TRUE(InvalidNaming(s, "article.body"));
  EXPECT_THAT(s.message(), HasSubstr(absl::StrCat(limits_.max_article_bytes)));

  // Big without one big field: the article as a whole is named.
  a = Valid();
  for (int i = 0; i < 64; ++i)
    a.add_widgets(std::string(limits_.max_article_bytes / 60, 'w'));
  EXPECT_TRUE(InvalidNaming(Check(a), "article"));

  limits_.max_article_bytes = 100;
  a = Valid();
  EXPECT_EQ(Check(a).code(), absl::StatusCode::kInvalidArgument);
}

// The limit is on the content: an article read back whole (name, etag,
// timestamps, content hash) and sent again as it came is no larger than it
// was stored.
TEST_F(ValidateArticleTest, SizeLimitCountsTheContentOnly) {
  limits_.max_article_bytes = 4096;
  Article a = Valid();
  a.clear_body();
  // Field 20 takes a 2-byte tag and, for this size, a 2-byte length.
  a.set_body(
      std::string(limits_.max_article_bytes - a.ByteSizeLong() - 4, 'b'));
  ASSERT_EQ(static_cast<int64_t>(a.ByteSizeLong()), limits_.max_article_bytes);
  EXPECT_TRUE(Check(a).ok());
  a.set_name("articles/a-rather-long-id-of-the-kind-slugs-make");
  a.set_revision(123456);
  a.set_etag("123456-0123456789abcdef");
  a.mutable_create_time()->set_seconds(1893456000);
  a.mutable_update_time()->set_seconds(1893456000);
  a.mutable_update_time()->set_nanos(123456789);
  a.mutable_delete_time()->set_seconds(1893456000);
  a.set_content_hash(std::string(64, 'f'));
  EXPECT_TRUE(Check(a).ok()) << Check(a);
  a.mutable_body()->push_back('b');
  absl::Status s = Check(a);
  EXPECT_TRUE(InvalidNaming(s, "article.body"));
  EXPECT_THAT(s.message(),
              HasSubstr("article is 4097 bytes; the limit is 4096"));
}

TEST_F(ValidateArticleTest, UnknownEnumInStyle) {
  Article a = Valid();
  a.mutable_style()->set_date_layout(
      static_cast<v1::FrontMatterStyle::DateLayout>(42));
  EXPECT_TRUE(InvalidNaming(Check(a), "article.style.date_layout"));
  EXPECT_THAT(Check(a).message(), HasSubstr("42"));
}

TEST_F(ValidateArticleTest, LimitsAreConfigurable) {
  limits_.max_list_entries = 2;
  limits_.max_term_bytes = 3;
  limits_.max_title_bytes = 5;
  Article a;
  a.set_title("12345");
  a.add_tags("abc");
  a.add_tags("de");
  EXPECT_TRUE(Check(a).ok());
  a.add_tags("f");
  EXPECT_TRUE(InvalidNaming(Check(a), "article.tags"));
  a.mutable_tags()->RemoveLast();
  a.set_tags(1, "defg");
  EXPECT_TRUE(InvalidNaming(Check(a), "article.tags[1]"));
  a.set_tags(1, "de");
  a.set_title("123456");
  EXPECT_TRUE(InvalidNaming(Check(a), "article.title"));
}

TEST(IsValidUtf8Test, Cases) {
  for (const std::string ok :
       {std::string(), std::string("ascii"), std::string("中文 ok"),
        std::string("emoji \xf0\x9f\x98\x80"), std::string("\xef\xbf\xbf"),
        std::string("\xf4\x8f\xbf\xbf"), std::string("nul\0inside", 10)}) {
    EXPECT_TRUE(IsValidUtf8(ok)) << ok;
  }
  for (const std::string bad :
       {std::string("\x80"), std::string("\xc0\xaf"), std::string("\xc1\xbf"),
        std::string("\xe0\x80\xaf"), std::string("\xed\xa0\x80"),
        std::string("\xed\xbf\xbf"), std::string("\xf4\x90\x80\x80"),
        std::string("\xf5\x80\x80\x80"), std::string("\xf8\x88\x80\x80\x80"),
        std::string("\xe4\xb8"), std::string("\xe4\xb8x"), std::string("\xfe"),
        std::string("\xff")}) {
    EXPECT_FALSE(IsValidUtf8(bad)) << ::testing::PrintToString(bad);
  }
}

// ---- Queries and page sizes ------------------------------------------------

TEST(ValidateQueryTest, Rules) {
  Limits limits;
  Query q;
  EXPECT_TRUE(ValidateQuery(q, limits).ok());
  q.add_tags("go");
  q.add_tags("新闻");
  q.set_tag_match(Query::TAG_MATCH_ALL);
  q.add_categories("Tech");
  q.add_langs("en");
  q.mutable_date_from()->set_seconds(100);
  q.mutable_date_to()->set_seconds(100);
  q.mutable_date_to()->set_nanos(1);
  q.set_order(Query::ORDER_OLDEST_FIRST);
  EXPECT_TRUE(ValidateQuery(q, limits).ok());

  Query bad = q;
  bad.set_tag_match(static_cast<Query::TagMatch>(3));
  EXPECT_TRUE(InvalidNaming(ValidateQuery(bad, limits), "query.tag_match"));
  bad = q;
  bad.set_order(static_cast<Query::Order>(-1));
  EXPECT_TRUE(InvalidNaming(ValidateQuery(bad, limits), "query.order"));
  bad = q;
  bad.mutable_date_to()->set_nanos(0);  // from == to
  EXPECT_TRUE(InvalidNaming(ValidateQuery(bad, limits), "query.date_to"));
  bad.mutable_date_to()->set_seconds(99);  // from > to
  bad.mutable_date_to()->set_nanos(999999999);
  EXPECT_TRUE(InvalidNaming(ValidateQuery(bad, limits), "query.date_to"));
  bad = q;
  bad.mutable_date_from()->set_nanos(-5);
  EXPECT_TRUE(InvalidNaming(ValidateQuery(bad, limits), "query.date_from"));
  bad = q;
  bad.add_tags("go");
  EXPECT_TRUE(InvalidNaming(ValidateQuery(bad, limits), "query.tags[2]"));
  bad = q;
  bad.add_categories("");
  EXPECT_TRUE(InvalidNaming(ValidateQuery(bad, limits), "query.categories[1]"));
  bad = q;
  bad.add_langs("\xff");
  EXPECT_TRUE(InvalidNaming(ValidateQuery(bad, limits), "query.langs[1]"));
  bad = q;
  for (int i = 0; i < 64; ++i) bad.add_tags(absl::StrCat("t", i));
  EXPECT_TRUE(InvalidNaming(ValidateQuery(bad, limits), "query.tags"));
  // Open-ended ranges are fine.
  bad = q;
  bad.clear_date_from();
  EXPECT_TRUE(ValidateQuery(bad, limits).ok());
  // A caller names the query's field (a watch's `filter`), in the rule too.
  bad = q;
  bad.mutable_date_to()->set_nanos(0);
  absl::Status s = ValidateQuery(bad, limits, "filter");
  EXPECT_TRUE(InvalidNaming(s, "filter.date_to"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("after filter.date_from"));
  EXPECT_THAT(std::string(s.message()), ::testing::Not(HasSubstr("query")));
  bad = q;
  bad.add_states(Article::DRAFT);
  s = ValidateQuery(bad, limits, "filter");
  EXPECT_TRUE(InvalidNaming(s, "filter.states[0]"));
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("set filter.visibility to VISIBILITY_ALL"));
}

// A search's text: pasted tabs and line breaks are word breaks, a NUL or an
// escape is refused naming the byte, as a title refuses it.
TEST(ValidateQueryTest, TextRefusesControlCharactersButTabsAndLineBreaks) {
  Limits limits;
  Query q;
  q.set_text("本地\t部署\r\nlocal deploy");
  EXPECT_TRUE(ValidateQuery(q, limits).ok());
  for (const std::string bad :
       {std::string("a\0b", 3), std::string("a\x1b[A"), std::string("a\x7f")}) {
    SCOPED_TRACE(::testing::PrintToString(bad));
    q.set_text(bad);
    absl::Status s = ValidateQuery(q, limits);
    EXPECT_TRUE(InvalidNaming(s, "query.text"));
    EXPECT_THAT(std::string(s.message()),
                HasSubstr("must not contain control characters other than tab "
                          "and line breaks"));
  }
}

// Publish windows: each entry a known window; SCHEDULED and EXPIRED, never
// live, need VISIBILITY_ALL as DRAFT in `states` does, LIVE any
// visibility; beside `states` they need PUBLISHED there, which they narrow.
TEST(ValidateQueryTest, WindowsRules) {
  Limits limits;
  Query q;
  q.add_windows(Query::PUBLISH_WINDOW_LIVE);
  EXPECT_TRUE(ValidateQuery(q, limits).ok());
  q.set_visibility(v1::VISIBILITY_ALL);
  q.add_windows(Query::PUBLISH_WINDOW_SCHEDULED);
  q.add_windows(Query::PUBLISH_WINDOW_EXPIRED);
  EXPECT_TRUE(ValidateQuery(q, limits).ok());
  q.add_states(Article::DRAFT);
  q.add_states(Article::STATE_UNSPECIFIED);  // counts as PUBLISHED
  EXPECT_TRUE(ValidateQuery(q, limits).ok());

  Query reader;
  reader.add_windows(Query::PUBLISH_WINDOW_SCHEDULED);
  absl::Status s = ValidateQuery(reader, limits);
  EXPECT_TRUE(InvalidNaming(s, "query.windows[0]"));
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("PUBLISH_WINDOW_SCHEDULED articles are not live; set "
                        "query.visibility to VISIBILITY_ALL"));
  reader.set_visibility(v1::VISIBILITY_LIVE);
  reader.set_windows(0, Query::PUBLISH_WINDOW_LIVE);
  reader.add_windows(Query::PUBLISH_WINDOW_EXPIRED);
  EXPECT_TRUE(InvalidNaming(ValidateQuery(reader, limits, "filter"),
                            "filter.windows[1]"));

  Query bad;
  bad.set_visibility(v1::VISIBILITY_ALL);
  bad.add_windows(Query::PUBLISH_WINDOW_UNSPECIFIED);
  s = ValidateQuery(bad, limits);
  EXPECT_TRUE(InvalidNaming(s, "query.windows[0]"));
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("must be PUBLISH_WINDOW_SCHEDULED, PUBLISH_WINDOW_LIVE "
                        "or PUBLISH_WINDOW_EXPIRED, got 0"));
  bad.set_windows(0, static_cast<Query::PublishWindow>(4));
  EXPECT_TRUE(InvalidNaming(ValidateQuery(bad, limits), "query.windows[0]"));
  bad.set_windows(0, Query::PUBLISH_WINDOW_LIVE);
  for (int i = 0; i < 3; ++i) bad.add_windows(Query::PUBLISH_WINDOW_LIVE);
  EXPECT_TRUE(InvalidNaming(ValidateQuery(bad, limits), "query.windows"));

  // States that leave published articles out leave the windows nothing.
  bad = Query();
  bad.set_visibility(v1::VISIBILITY_ALL);
  bad.add_states(Article::DRAFT);
  bad.add_states(Article::ARCHIVED);
  bad.add_windows(Query::PUBLISH_WINDOW_EXPIRED);
  s = ValidateQuery(bad, limits);
  EXPECT_TRUE(InvalidNaming(s, "query.windows"));
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("add PUBLISHED to query.states"));
}

// Query langs are language tags by the rule `Article.lang` follows: a
// malformed one (`en US`) matched nothing and read as an empty result.
TEST(ValidateQueryTest, LangsMustBeWellFormedLanguageTags) {
  Limits limits;
  Query q;
  for (const char* good : {"en", "zh-CN", "zh_cn", "x-klingon"})
    q.add_langs(good);
  EXPECT_TRUE(ValidateQuery(q, limits).ok()) << ValidateQuery(q, limits);
  for (const char* bad : {"en US", "e", "zh-", "not a lang!"}) {
    Query b = q;
    b.add_langs(bad);
    absl::Status s = ValidateQuery(b, limits);
    EXPECT_TRUE(InvalidNaming(s, "query.langs[4]")) << bad << ": " << s;
    EXPECT_THAT(std::string(s.message()), HasSubstr("BCP 47")) << bad;
    EXPECT_TRUE(
        InvalidNaming(ValidateQuery(b, limits, "filter"), "filter.langs[4]"))
        << bad;
  }
}

TEST(PageSizeTest, Rules) {
  Limits limits;
  EXPECT_TRUE(InvalidNaming(PageSize(-1, limits).status(), "page_size"));
  EXPECT_TRUE(InvalidNaming(
      PageSize(std::numeric_limits<int32_t>::min(), limits).status(),
      "page_size"));
  EXPECT_EQ(*PageSize(0, limits), 20);
  EXPECT_EQ(*PageSize(1, limits), 1);
  EXPECT_EQ(*PageSize(1000, limits), 1000);
  // Larger pages are lowered to the max (AIP-158).
  EXPECT_EQ(*PageSize(1001, limits), 1000);
  EXPECT_EQ(*PageSize(std::numeric_limits<int32_t>::max(), limits), 1000);
  limits.default_page_size = 7;
  limits.max_page_size = 9;
  EXPECT_EQ(*PageSize(0, limits), 7);
  EXPECT_EQ(*PageSize(9, limits), 9);
  EXPECT_EQ(*PageSize(10, limits), 9);
}

}  // namespace
}  // namespace content::service
