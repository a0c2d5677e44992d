// Tests for the Markdown/front-matter codec (include/content/markdown.h).

#include "content/markdown.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/string_view.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "content/v1/content_service.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace content {
namespace {

using ::content::v1::Article;
using ::content::v1::FrontMatterStyle;
using ::google::protobuf::Value;
using ::google::protobuf::util::MessageDifferencer;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

// ---- Helpers ----------------------------------------------------------------

Article MustParse(const std::string& text, const std::string& zone = "UTC") {
  MarkdownOptions options;
  options.default_zone = zone;
  absl::StatusOr<Article> article = ParseMarkdown(text, options);
  EXPECT_TRUE(article.ok()) << article.status() << "\n" << text;
  return article.ok() ? *article : Article();
}

// Parses `text` and checks that it fails with INVALID_ARGUMENT and `message`
// somewhere in the message.
void ExpectError(const std::string& text, const std::string& message,
                 const std::string& zone = "UTC") {
  MarkdownOptions options;
  options.default_zone = zone;
  absl::StatusOr<Article> article = ParseMarkdown(text, options);
  ASSERT_FALSE(article.ok()) << "parsed: " << text;
  EXPECT_EQ(article.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(article.status().message()), HasSubstr(message))
      << text;
}

std::string WithFrontMatter(const std::string& yaml,
                            const std::string& body = "\nBody.\n") {
  return absl::StrCat("---\n", yaml, "---\n", body);
}

int64_t UnixSeconds(absl::CivilSecond cs, absl::string_view zone = "UTC") {
  absl::TimeZone tz;
  EXPECT_TRUE(absl::LoadTimeZone(std::string(zone), &tz)) << zone;
  return absl::ToUnixSeconds(absl::FromCivil(cs, tz));
}

bool HaveZone(const std::string& name) {
  absl::TimeZone tz;
  return absl::LoadTimeZone(name, &tz);
}

std::string Diff(const Article& a, const Article& b) {
  std::string report;
  MessageDifferencer differencer;
  differencer.ReportDifferencesToString(&report);
  differencer.Compare(a, b);
  return report;
}

// Checks that `a` is written as `text`, which reads back as `a` (dates
// without a zone read in `zone`).
void ExpectWrittenBackAs(const Article& a, const std::string& text,
                         const std::string& zone = "UTC") {
  const std::string written = FormatMarkdown(a);
  EXPECT_EQ(written, text);
  const Article b = MustParse(written, zone);
  EXPECT_TRUE(MessageDifferencer::Equals(a, b)) << Diff(a, b);
}

std::string SourceDir() {
  if (const char* dir = std::getenv("CONTENT_SOURCE_DIR")) return dir;
  // Compiled in by tests/CMakeLists.txt (__FILE__ may be relative to the
  // build directory, so it cannot locate the tree).
  return CONTENT_SOURCE_DIR_DEFAULT;
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// ---- Typed fields -----------------------------------------------------------

// FrontMatterFieldKeys() is what contentctl apply checks keys against (a
// key close to a field is warned of): it lists every key read as a field,
// and a key it does not list is a param.
TEST(ParseMarkdownTest, FrontMatterFieldKeysAreTheKeysReadAsFields) {
  const std::vector<std::string>& keys = FrontMatterFieldKeys();
  EXPECT_THAT(
      keys,
      ElementsAre("title", "date", "summary", "categories", "lang",
                  "translations", "tags", "menu", "thumbnail", "lead",
                  "comments", "authorbox", "pager", "toc", "mathjax", "sidebar",
                  "widgets", "id", "state", "draft", "published", "publishDate",
                  "expiryDate", "translationKey", "params"));
  for (const std::string& key : keys) {
    // A string there is the param `params`; in `published`, a param too
    // (only a boolean is the state).
    if (key == "params" || key == "published") continue;
    // A string there fills the field or is refused as its value.
    const absl::StatusOr<Article> a =
        ParseMarkdown(WithFrontMatter(absl::StrCat(key, ": \"published\"\n")));
    if (a.ok()) {
      EXPECT_EQ(a->params().fields().count(key), 0u) << key;
    }
  }
  const Article a = MustParse(WithFrontMatter("Title: x\ntag: [y]\n"));
  EXPECT_EQ(a.params().fields().count("Title"), 1u);
  EXPECT_EQ(a.params().fields().count("tag"), 1u);
}

TEST(ParseMarkdownTest, ReadsStringFields) {
  const Article a =
      MustParse(WithFrontMatter("title: \"A title\"\n"
                                "summary: 'single quoted'\n"
                                "menu: main\n"
                                "thumbnail: \"https://example.com/a.jpg\"\n"
                                "lead: \"\"\n"
                                "sidebar: \"right\"\n"));
  EXPECT_EQ(a.title(), "A title");
  EXPECT_EQ(a.summary(), "single quoted");
  EXPECT_EQ(a.menu(), "main");
  EXPECT_EQ(a.thumbnail(), "https://example.com/a.jpg");
  EXPECT_EQ(a.lead(), "");
  EXPECT_EQ(a.sidebar(), "right");
  EXPECT_EQ(a.body(), "\nBody.\n");
}

TEST(ParseMarkdownTest, ScalarsAreTakenAsTheirTextInTitleAndSummary) {
  const Article a =
      MustParse(WithFrontMatter("title: 2025\n"
                                "summary: true\n"
                                "thumbnail: |\n  two\n  lines\n"
                                "lead: \"false\"\n"
                                "menu: 'null'\n"
                                "sidebar: 1.5px\n"));
  EXPECT_EQ(a.title(), "2025");
  EXPECT_EQ(a.summary(), "true");
  // Quoted, or plain text, a scalar is a string in any typed string field
  // (tagged `!!str`, one in a theme's field goes to params:
  // StringsInParamsUnderThemeKeysStayInParams).
  EXPECT_EQ(a.thumbnail(), "two\nlines\n");
  EXPECT_EQ(a.lead(), "false");
  EXPECT_EQ(a.menu(), "null");
  EXPECT_EQ(a.sidebar(), "1.5px");
  EXPECT_EQ(a.params().fields_size(), 0);
  EXPECT_THAT(FormatMarkdown(a), HasSubstr("lead: \"false\"\n"));
}

// `sidebar: false` came back as `sidebar: "false"`, which a Hugo template
// takes as true. A plain scalar that YAML reads as a boolean, number or
// null in a theme's string field is kept in params with its type, as a
// list or map there is, and written back where and as it was.
TEST(ParseMarkdownTest, NonStringScalarsInThemeStringFieldsKeepTheirType) {
  const std::string text = WithFrontMatter(
      "title: \"T\"\n"
      "sidebar: false\n"
      "menu: 1.5\n"
      "lead: null\n"
      "thumbnail: -3\n");
  const Article a = MustParse(text);
  EXPECT_EQ(a.sidebar(), "");
  EXPECT_EQ(a.menu(), "");
  EXPECT_EQ(a.lead(), "");
  EXPECT_EQ(a.thumbnail(), "");
  const auto& f = a.params().fields();
  ASSERT_EQ(f.at("sidebar").kind_case(), Value::kBoolValue);
  EXPECT_FALSE(f.at("sidebar").bool_value());
  EXPECT_EQ(f.at("menu").number_value(), 1.5);
  EXPECT_EQ(f.at("lead").kind_case(), Value::kNullValue);
  EXPECT_EQ(f.at("thumbnail").number_value(), -3);
  EXPECT_EQ(FormatMarkdown(a), text);
  const Article back = MustParse(FormatMarkdown(a));
  EXPECT_TRUE(MessageDifferencer::Equals(a, back)) << Diff(a, back);

  // Other spellings of the same values keep their type too.
  const Article b = MustParse(WithFrontMatter(
      "title: \"T\"\nsidebar: True\nmenu: 1.50\nlead:\nthumbnail: ~\n"));
  EXPECT_EQ(FormatMarkdown(b), WithFrontMatter("title: \"T\"\n"
                                               "sidebar: true\n"
                                               "menu: 1.5\n"
                                               "lead: null\n"
                                               "thumbnail: null\n"));

  // Articles from the API, with no key order, write it too; beside a value
  // in the typed field, the params entry is written in `params:`.
  Article api;
  api.set_title("T");
  (*api.mutable_params()->mutable_fields())["sidebar"].set_bool_value(false);
  EXPECT_EQ(FormatMarkdown(api), "---\ntitle: \"T\"\nsidebar: false\n---\n");
  api.set_sidebar("left");
  EXPECT_EQ(FormatMarkdown(api),
            "---\ntitle: \"T\"\nsidebar: \"left\"\nparams:\n  sidebar: false\n"
            "---\n");
  const Article both = MustParse(FormatMarkdown(api));
  EXPECT_EQ(both.sidebar(), "left");
  EXPECT_TRUE(MessageDifferencer::Equals(api.params(), both.params()));
}

// Hugo's `menu` may be a list of menu names or a map of entries, and
// themes give their keys any shape: kept in params under the key, and
// written back where and as they were.
TEST(ParseMarkdownTest, ListsAndMapsInThemeStringFieldsAreKeptInParams) {
  const std::string text = WithFrontMatter(
      "title: \"T\"\n"
      "menu:\n"
      "  main:\n"
      "    parent: \"docs\"\n"
      "    weight: 10\n"
      "sidebar:\n"
      "  - \"left\"\n"
      "  - false\n"
      "thumbnail: \"a.jpg\"\n");
  const Article a = MustParse(text);
  EXPECT_EQ(a.menu(), "");
  EXPECT_EQ(a.sidebar(), "");
  EXPECT_EQ(a.thumbnail(), "a.jpg");
  const auto& f = a.params().fields();
  const auto& main = f.at("menu").struct_value().fields().at("main");
  EXPECT_EQ(main.struct_value().fields().at("weight").number_value(), 10);
  EXPECT_EQ(f.at("sidebar").list_value().values(1).bool_value(), false);
  EXPECT_EQ(f.count("thumbnail"), 0u);
  EXPECT_EQ(FormatMarkdown(a), text);
  const Article listed =
      MustParse(WithFrontMatter("title: \"T\"\nmenu: [main, footer]\n"));
  EXPECT_EQ(listed.params().fields().at("menu").list_value().values_size(), 2);
  EXPECT_THAT(FormatMarkdown(listed),
              HasSubstr("menu:\n  - \"main\"\n  - \"footer\"\n"));
  // An article made through the API, with no key order, writes it too.
  Article api;
  api.set_title("T");
  (*api.mutable_params()->mutable_fields())["menu"]
      .mutable_list_value()
      ->add_values()
      ->set_string_value("main");
  const Article back = MustParse(FormatMarkdown(api));
  EXPECT_TRUE(MessageDifferencer::Equals(api.params(), back.params()))
      << FormatMarkdown(api);
  // Beside a value in the typed field, the params entry is written in
  // `params:`.
  api.set_menu("footer");
  EXPECT_THAT(
      FormatMarkdown(api),
      HasSubstr("menu: \"footer\"\nparams:\n  menu:\n    - \"main\"\n"));
}

// An article from the API may hold a string in params under a theme key
// with the field empty. Written `sidebar: "right"` it came back in the
// field; YAML's explicit string tag keeps it in params, and is the same
// string to Hugo.
TEST(ParseMarkdownTest, StringsInParamsUnderThemeKeysStayInParams) {
  for (const char* key : {"menu", "thumbnail", "lead", "sidebar"}) {
    Article api;
    api.set_title("T");
    (*api.mutable_params()->mutable_fields())[key].set_string_value("right");
    const std::string text = FormatMarkdown(api);
    EXPECT_EQ(text, absl::StrCat("---\ntitle: \"T\"\n", key,
                                 ": !!str \"right\"\n---\n"));
    Article back = MustParse(text);
    EXPECT_EQ(FormatMarkdown(back), text);
    back.clear_style();  // the reader records the key order
    EXPECT_TRUE(MessageDifferencer::Equals(api, back)) << Diff(api, back);
    // So is a file that says so in any spelling; untagged, it is the field.
    const Article plain =
        MustParse(WithFrontMatter(absl::StrCat(key, ": !!str right\n")));
    EXPECT_EQ(plain.params().fields().at(key).string_value(), "right");
    const Article field =
        MustParse(WithFrontMatter(absl::StrCat(key, ": right\n")));
    EXPECT_EQ(field.params().fields().count(key), 0u);
  }
  // A key order that names the key writes it in its place.
  Article ordered;
  ordered.set_title("T");
  (*ordered.mutable_params()->mutable_fields())["lead"].set_string_value("");
  ordered.mutable_style()->add_key_order("lead");
  ordered.mutable_style()->add_key_order("title");
  const std::string text = FormatMarkdown(ordered);
  EXPECT_EQ(text, "---\nlead: !!str \"\"\ntitle: \"T\"\n---\n");
  const Article back = MustParse(text);
  EXPECT_TRUE(MessageDifferencer::Equals(ordered, back)) << Diff(ordered, back);
}

TEST(ParseMarkdownTest, TomlFrontMatterIsRefusedWithAHint) {
  for (const char* text : {"+++\ntitle = \"T\"\n+++\nBody.\n",
                           "+++\r\ntitle = \"T\"\r\n+++\r\n"}) {
    absl::StatusOr<Article> a = ParseMarkdown(text);
    ASSERT_FALSE(a.ok()) << text;
    EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(a.status().message()), HasSubstr("TOML"));
  }
  // A body that merely starts with "+++" text is still a body.
  EXPECT_EQ(MustParse("+++ fast\n").body(), "+++ fast\n");
}

TEST(ParseMarkdownTest, JsonFrontMatterIsRefusedWithAHint) {
  // Hugo's JSON front matter; read as body it was refused only as a
  // missing title, with no word of why.
  for (const char* text : {"{\n  \"title\": \"T\"\n}\nBody.\n",
                           "\xEF\xBB\xBF{\"title\": \"T\"}\r\nBody.\r\n"}) {
    absl::StatusOr<Article> a = ParseMarkdown(text);
    ASSERT_FALSE(a.ok()) << text;
    EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_EQ(a.status().message(),
              "front matter: JSON (an object opening the file) is not "
              "supported; write it as YAML between \"---\" lines");
  }
  // A body that merely starts with a brace is still a body.
  EXPECT_EQ(MustParse("{{< figure >}}\n").body(), "{{< figure >}}\n");
}

// Hexo's front matter has no opening `---`: read as body, it was refused
// only as a missing title, with no word of why.
TEST(ParseMarkdownTest, HexoFrontMatterWithoutAnOpeningLineIsRefusedWithAHint) {
  for (const char* text :
       {"title: Hello\ndate: 2024-01-02\n---\nBody.\n",
        "\xEF\xBB\xBFtitle: Hello\r\ntags:\r\n- a\r\n---\r\nBody.\r\n",
        "tags:\n  - a\n---\n"}) {
    absl::StatusOr<Article> a = ParseMarkdown(text);
    ASSERT_FALSE(a.ok()) << text;
    EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(std::string(a.status().message()),
                ::testing::StartsWith("front matter: the file opens with \""));
    EXPECT_THAT(std::string(a.status().message()),
                ::testing::EndsWith(
                    ":\" and a \"---\" line follows, as Hexo writes front "
                    "matter; it needs a \"---\" line above it as well"));
  }
  // A body that opens with a colon but has no delimiter line below, or
  // whose first word is no key, is still a body.
  EXPECT_EQ(MustParse("Note: read this.\n\nMore.\n").body(),
            "Note: read this.\n\nMore.\n");
  EXPECT_EQ(MustParse("See http://x.org/a: b\n---\n").body(),
            "See http://x.org/a: b\n---\n");
}

TEST(ParseMarkdownTest, YamlMergeKeysAreMerged) {
  // `<<: *anchor`, as Hugo's YAML reader merges it; it was kept as a param
  // entry named "<<" holding the anchored mapping.
  const Article a =
      MustParse(WithFrontMatter("base: &b {x: 1, y: 2}\n"
                                "more: &c {z: 3, x: 9}\n"
                                "one:\n  <<: *b\n  y: 5\n"
                                "list:\n  <<: [*b, *c]\n"
                                "literal:\n  \"<<\": text\n"
                                "<<: {summary: merged, extra: 1}\n"));
  const auto& f = a.params().fields();
  const auto& one = f.at("one").struct_value().fields();
  EXPECT_EQ(one.size(), 2u);
  EXPECT_EQ(one.at("x").number_value(), 1);
  EXPECT_EQ(one.at("y").number_value(), 5);  // the mapping's own key wins
  const auto& list = f.at("list").struct_value().fields();
  EXPECT_EQ(list.size(), 3u);
  EXPECT_EQ(list.at("x").number_value(), 1);  // the first mapping wins
  EXPECT_EQ(list.at("z").number_value(), 3);
  // A quoted "<<" is a key like any other.
  EXPECT_EQ(f.at("literal").struct_value().fields().at("<<").string_value(),
            "text");
  // At the top level, merged keys are read as the keys they are.
  EXPECT_EQ(a.summary(), "merged");
  EXPECT_EQ(f.at("extra").number_value(), 1);
  EXPECT_EQ(f.count("<<"), 0u);
  // A key given twice is still refused, merges or not.
  ExpectError(WithFrontMatter("b: &b {x: 1}\none:\n  <<: *b\n  y: 1\n  y: 2\n"),
              "front matter key \"y\": appears more than once");
}

TEST(ParseMarkdownTest, ReadsListFields) {
  const Article a =
      MustParse(WithFrontMatter("categories:\n  - \"qq\"\n  - news\n"
                                "translations: [en, \"zh-CN\"]\n"
                                "tags:\n  - 123\n  - \"a, b\"\n"
                                "widgets: search\n"
                                "lang: []\n"));
  EXPECT_THAT(a.categories(), ElementsAre("qq", "news"));
  EXPECT_THAT(a.translations(), ElementsAre("en", "zh-CN"));
  EXPECT_THAT(a.tags(), ElementsAre("123", "a, b"));
  EXPECT_THAT(a.widgets(), ElementsAre("search"));  // scalar -> one element
  EXPECT_TRUE(a.lang().empty());
  EXPECT_FALSE(a.style().lang_scalar());
}

TEST(ParseMarkdownTest, ReadsBooleans) {
  const Article a = MustParse(WithFrontMatter(
      "comments: true\nauthorbox: false\npager: True\ntoc: FALSE\n"));
  ASSERT_TRUE(a.has_comments());
  EXPECT_TRUE(a.comments());
  ASSERT_TRUE(a.has_authorbox());
  EXPECT_FALSE(a.authorbox());
  ASSERT_TRUE(a.has_pager());
  EXPECT_TRUE(a.pager());
  ASSERT_TRUE(a.has_toc());
  EXPECT_FALSE(a.toc());
  EXPECT_FALSE(a.has_mathjax());  // absent: the site default
}

TEST(ParseMarkdownTest, IdSetsNameAndIsWrittenBack) {
  const std::string text =
      WithFrontMatter("id: \"hello-world\"\ntitle: \"T\"\n");
  const Article a = MustParse(text);
  EXPECT_EQ(a.name(), "articles/hello-world");
  EXPECT_THAT(a.style().key_order(), ElementsAre("id", "title"));
  EXPECT_EQ(FormatMarkdown(a), text);
}

TEST(ParseMarkdownTest, RecordsEveryKeyInOrder) {
  const Article a = MustParse(WithFrontMatter(
      "tags: [x]\nauthor: \"me\"\ntitle: \"T\"\nid: \"a1\"\ndate: "
      "2025-01-02\ncomments: false\n"));
  EXPECT_THAT(a.style().key_order(),
              ElementsAre("tags", "author", "title", "id", "date", "comments"));
}

TEST(ParseMarkdownTest, LangScalarAndList) {
  const std::string scalar = WithFrontMatter("lang: \"zh-CN\"\n");
  const Article a = MustParse(scalar);
  EXPECT_THAT(a.lang(), ElementsAre("zh-CN"));
  EXPECT_TRUE(a.style().lang_scalar());
  EXPECT_EQ(FormatMarkdown(a), scalar);

  const std::string list = WithFrontMatter("lang:\n  - \"zh-CN\"\n");
  const Article b = MustParse(list);
  EXPECT_THAT(b.lang(), ElementsAre("zh-CN"));
  EXPECT_FALSE(b.style().lang_scalar());
  EXPECT_EQ(FormatMarkdown(b), list);

  // A scalar flag with several languages can only be written as a list.
  Article c = a;
  c.add_lang("en");
  EXPECT_THAT(FormatMarkdown(c),
              HasSubstr("lang:\n  - \"zh-CN\"\n  - \"en\"\n"));
}

// `categories: news` came back as a one-entry list. Every list key written
// as a scalar is recorded and written back as one while it holds one entry.
TEST(ParseMarkdownTest, ScalarListKeysAreWrittenBackAsScalars) {
  const std::string text = WithFrontMatter(
      "title: \"T\"\n"
      "categories: \"news\"\n"
      "translations: \"en\"\n"
      "tags:\n  - \"a\"\n"
      "widgets: \"search\"\n");
  const Article a = MustParse(text);
  EXPECT_THAT(a.categories(), ElementsAre("news"));
  EXPECT_THAT(a.widgets(), ElementsAre("search"));
  EXPECT_THAT(a.style().scalar_keys(),
              ElementsAre("categories", "translations", "widgets"));
  EXPECT_FALSE(a.style().lang_scalar());
  EXPECT_EQ(FormatMarkdown(a), text);
  // Unquoted, as editors write it, it is written quoted, still a scalar.
  EXPECT_THAT(FormatMarkdown(MustParse(WithFrontMatter("categories: news\n"))),
              HasSubstr("\ncategories: \"news\"\n"));

  // With no entry or several, only a list can say it.
  Article b = a;
  b.add_categories("tech");
  b.clear_widgets();
  EXPECT_EQ(FormatMarkdown(b), WithFrontMatter("title: \"T\"\n"
                                               "categories:\n"
                                               "  - \"news\"\n"
                                               "  - \"tech\"\n"
                                               "translations: \"en\"\n"
                                               "tags:\n  - \"a\"\n"
                                               "widgets: []\n"));
  // Articles from the API, with no key order, are written the same way.
  Article api;
  api.set_title("T");
  api.add_tags("x");
  api.mutable_style()->add_scalar_keys("tags");
  EXPECT_EQ(FormatMarkdown(api), "---\ntitle: \"T\"\ntags: \"x\"\n---\n");
}

// ---- Dates ------------------------------------------------------------------

TEST(DateTest, DateTimeInUtc) {
  const std::string text = WithFrontMatter("date: \"2025-02-08 19:34:12\"\n");
  const Article a = MustParse(text);
  EXPECT_EQ(a.date().seconds(),
            UnixSeconds(absl::CivilSecond(2025, 2, 8, 19, 34, 12)));
  EXPECT_EQ(a.date().nanos(), 0);
  EXPECT_EQ(a.style().date_layout(), FrontMatterStyle::DATE_LAYOUT_DATETIME);
  EXPECT_EQ(a.style().date_zone(), "UTC");
  EXPECT_EQ(FormatMarkdown(a), text);
}

TEST(DateTest, DefaultZoneShiftsTimestampAndRoundTrips) {
  if (!HaveZone("Asia/Shanghai")) GTEST_SKIP() << "no tzdata";
  const std::string text = WithFrontMatter("date: \"2025-02-08 19:34:12\"\n");
  const Article utc = MustParse(text, "UTC");
  const Article shanghai = MustParse(text, "Asia/Shanghai");
  EXPECT_EQ(utc.date().seconds() - shanghai.date().seconds(), 8 * 3600);
  EXPECT_EQ(shanghai.style().date_zone(), "Asia/Shanghai");
  EXPECT_EQ(FormatMarkdown(shanghai), text);

  const std::string day = WithFrontMatter("date: \"2024-11-15\"\n");
  const Article d = MustParse(day, "Asia/Shanghai");
  EXPECT_EQ(
      d.date().seconds(),
      UnixSeconds(absl::CivilSecond(2024, 11, 15, 0, 0, 0), "Asia/Shanghai"));
  EXPECT_EQ(d.date().seconds(),
            UnixSeconds(absl::CivilSecond(2024, 11, 14, 16, 0, 0)));
  EXPECT_EQ(FormatMarkdown(d), day);
}

// Hugo sites write zoneless dates with a `T` (`2025-01-01T10:00:00`); they
// are read in the default zone like the space form, and written back as
// they came: with or without seconds, with their fraction.
TEST(DateTest, ZonelessTFormIsReadInTheDefaultZoneAndRoundTrips) {
  if (!HaveZone("Asia/Shanghai")) GTEST_SKIP() << "no tzdata";
  struct Case {
    std::string in;
    absl::CivilSecond civil;
    int32_t nanos;
    FrontMatterStyle::DateLayout layout;
  };
  const Case cases[] = {
      {"2025-01-01T10:00:00", absl::CivilSecond(2025, 1, 1, 10, 0, 0), 0,
       FrontMatterStyle::DATE_LAYOUT_LOCAL},
      {"2025-01-01T10:07", absl::CivilSecond(2025, 1, 1, 10, 7, 0), 0,
       FrontMatterStyle::DATE_LAYOUT_LOCAL_MINUTES},
      {"2025-01-01T23:59:59.25", absl::CivilSecond(2025, 1, 1, 23, 59, 59),
       250000000, FrontMatterStyle::DATE_LAYOUT_LOCAL},
      {"2024-02-29T00:00:00.123456789", absl::CivilSecond(2024, 2, 29, 0, 0, 0),
       123456789, FrontMatterStyle::DATE_LAYOUT_LOCAL},
  };
  for (const Case& c : cases) {
    for (const char* zone : {"UTC", "Asia/Shanghai"}) {
      SCOPED_TRACE(absl::StrCat(c.in, " in ", zone));
      const std::string text =
          WithFrontMatter(absl::StrCat("date: \"", c.in, "\"\n"));
      const Article a = MustParse(text, zone);
      EXPECT_EQ(a.date().seconds(), UnixSeconds(c.civil, zone));
      EXPECT_EQ(a.date().nanos(), c.nanos);
      EXPECT_EQ(a.style().date_layout(), c.layout);
      EXPECT_EQ(a.style().date_zone(), zone);
      // Exported, it stays the same text; read back, the same article.
      ExpectWrittenBackAs(a, text, zone);
    }
  }
  // The same instant as the space form, unquoted too (YAML would call it a
  // timestamp; it is read as text).
  const Article t = MustParse(WithFrontMatter("date: 2025-01-01T10:00:00\n"),
                              "Asia/Shanghai");
  const Article space = MustParse(
      WithFrontMatter("date: \"2025-01-01 10:00:00\"\n"), "Asia/Shanghai");
  EXPECT_EQ(t.date().seconds(), space.date().seconds());
  EXPECT_EQ(t.date().seconds(),
            UnixSeconds(absl::CivilSecond(2025, 1, 1, 2, 0, 0)));
  EXPECT_EQ(FormatMarkdown(t),
            WithFrontMatter("date: \"2025-01-01T10:00:00\"\n"));
  // publishDate and expiryDate take it as well, in the shared zone.
  const std::string keys = WithFrontMatter(
      "date: \"2025-01-01T10:00\"\n"
      "publishDate: \"2025-01-02T08:00:00\"\n"
      "expiryDate: \"2025-02-01 00:00:00\"\n");
  const Article k = MustParse(keys, "Asia/Shanghai");
  EXPECT_EQ(
      k.publish_time().seconds(),
      UnixSeconds(absl::CivilSecond(2025, 1, 2, 8, 0, 0), "Asia/Shanghai"));
  EXPECT_EQ(k.style().publish_date_layout(),
            FrontMatterStyle::DATE_LAYOUT_LOCAL);
  EXPECT_EQ(FormatMarkdown(k), keys);
}

// The space form takes minutes without seconds as the T form does
// (`2025-01-01 10:00`, which editors and many sites write); it is read in the
// default zone and written back as it came, space and all.
TEST(DateTest, SpaceFormWithoutSecondsIsReadLikeTheTFormAndRoundTrips) {
  if (!HaveZone("Asia/Shanghai")) GTEST_SKIP() << "no tzdata";
  for (const char* zone : {"UTC", "Asia/Shanghai"}) {
    SCOPED_TRACE(zone);
    const std::string text = WithFrontMatter("date: \"2025-01-01 10:07\"\n");
    const Article a = MustParse(text, zone);
    EXPECT_EQ(a.date().seconds(),
              UnixSeconds(absl::CivilSecond(2025, 1, 1, 10, 7, 0), zone));
    EXPECT_EQ(a.date().nanos(), 0);
    EXPECT_EQ(a.style().date_layout(),
              FrontMatterStyle::DATE_LAYOUT_DATETIME_MINUTES);
    EXPECT_EQ(a.style().date_zone(), zone);
    EXPECT_EQ(a.date().seconds(),
              MustParse(WithFrontMatter("date: \"2025-01-01T10:07\"\n"), zone)
                  .date()
                  .seconds());
    ExpectWrittenBackAs(a, text, zone);
  }
  // Unquoted, and for publishDate and expiryDate in the shared zone.
  const std::string keys = WithFrontMatter(
      "date: 2025-01-01 10:00\n"
      "publishDate: \"2025-01-02 08:30\"\n"
      "expiryDate: \"2025-02-01 00:00\"\n");
  const Article k = MustParse(keys, "Asia/Shanghai");
  EXPECT_EQ(
      k.publish_time().seconds(),
      UnixSeconds(absl::CivilSecond(2025, 1, 2, 8, 30, 0), "Asia/Shanghai"));
  EXPECT_EQ(k.style().publish_date_layout(),
            FrontMatterStyle::DATE_LAYOUT_DATETIME_MINUTES);
  EXPECT_EQ(k.style().expiry_date_layout(),
            FrontMatterStyle::DATE_LAYOUT_DATETIME_MINUTES);
  EXPECT_EQ(FormatMarkdown(k),
            WithFrontMatter("date: \"2025-01-01 10:00\"\n"
                            "publishDate: \"2025-01-02 08:30\"\n"
                            "expiryDate: \"2025-02-01 00:00\"\n"));
}

TEST(DateTest, DateOnly) {
  const std::string text = WithFrontMatter("date: \"2024-02-29\"\n");
  const Article a = MustParse(text);
  EXPECT_EQ(a.date().seconds(),
            UnixSeconds(absl::CivilSecond(2024, 2, 29, 0, 0, 0)));
  EXPECT_EQ(a.style().date_layout(), FrontMatterStyle::DATE_LAYOUT_DATE);
  EXPECT_EQ(a.style().date_zone(), "UTC");
  EXPECT_EQ(FormatMarkdown(a), text);
}

TEST(DateTest, UnquotedDateIsWrittenQuoted) {
  const Article a = MustParse(WithFrontMatter("date: 2024-02-29\n"));
  EXPECT_EQ(a.style().date_layout(), FrontMatterStyle::DATE_LAYOUT_DATE);
  EXPECT_EQ(FormatMarkdown(a), WithFrontMatter("date: \"2024-02-29\"\n"));
}

TEST(DateTest, Rfc3339Variants) {
  struct Case {
    std::string in;
    int64_t seconds;
    int32_t nanos;
    std::string zone;
    std::string out;  // as written back
  };
  const int64_t base = UnixSeconds(absl::CivilSecond(2025, 2, 8, 19, 34, 12));
  const Case cases[] = {
      {"2025-02-08T19:34:12Z", base, 0, "", "2025-02-08T19:34:12Z"},
      {"2025-02-08T19:34:12+08:00", base - 8 * 3600, 0, "+08:00",
       "2025-02-08T19:34:12+08:00"},
      {"2025-02-08T19:34:12-05:30", base + 5 * 3600 + 1800, 0, "-05:30",
       "2025-02-08T19:34:12-05:30"},
      {"2025-02-08T19:34:12+00:00", base, 0, "+00:00",
       "2025-02-08T19:34:12+00:00"},
      {"2025-02-08 19:34:12Z", base, 0, "", "2025-02-08T19:34:12Z"},
      {"2025-02-08t19:34:12.5z", base, 500000000, "", "2025-02-08T19:34:12.5Z"},
      {"2025-02-08T19:34:12.123456789+01:00", base - 3600, 123456789, "+01:00",
       "2025-02-08T19:34:12.123456789+01:00"},
      {"2025-02-08T19:34:12.000Z", base, 0, "", "2025-02-08T19:34:12Z"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.in);
    const Article a =
        MustParse(WithFrontMatter(absl::StrCat("date: \"", c.in, "\"\n")));
    // In UTC the date is written as for an article with no style, so
    // none is kept.
    EXPECT_EQ(a.has_style(), !c.zone.empty());
    if (a.has_style()) {
      EXPECT_EQ(a.style().date_layout(), FrontMatterStyle::DATE_LAYOUT_RFC3339);
      EXPECT_EQ(a.style().date_zone(), c.zone);
    }
    EXPECT_EQ(a.date().seconds(), c.seconds);
    EXPECT_EQ(a.date().nanos(), c.nanos);
    EXPECT_EQ(FormatMarkdown(a),
              WithFrontMatter(absl::StrCat("date: \"", c.out, "\"\n")));
  }
}

TEST(DateTest, Rfc3339IgnoresDefaultZone) {
  const Article a = MustParse(
      WithFrontMatter("date: \"2025-02-08T19:34:12Z\"\n"), "No/Such_Zone");
  EXPECT_EQ(a.date().seconds(),
            UnixSeconds(absl::CivilSecond(2025, 2, 8, 19, 34, 12)));
}

// Jekyll's date form (Ruby's Time#to_s), `YYYY-MM-DD HH:MM:SS +hhmm`, as
// every post of a new Jekyll site has it: refused before 2026-12-08 (the
// import of such a site failed on each post). The offset is kept as
// written and written back so.
TEST(DateTest, JekyllFormWithAnOffsetIsReadAndWrittenBackAsIs) {
  const int64_t base = UnixSeconds(absl::CivilSecond(2024, 1, 2, 3, 4, 5));
  struct Case {
    std::string in;
    int64_t seconds;
    std::string zone;
  };
  const Case cases[] = {
      {"2024-01-02 03:04:05 +0800", base - 8 * 3600, "+0800"},
      {"2024-01-02 03:04:05 -0530", base + 5 * 3600 + 1800, "-0530"},
      {"2024-01-02 03:04:05 +0000", base, "+0000"},
      {"2024-01-02 03:04:05 +08:00", base - 8 * 3600, "+08:00"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.in);
    const std::string text =
        WithFrontMatter(absl::StrCat("date: \"", c.in, "\"\n"));
    // The default zone is for dates without one: not this.
    const Article a = MustParse(text, "America/New_York");
    EXPECT_EQ(a.date().seconds(), c.seconds);
    EXPECT_EQ(a.style().date_layout(),
              FrontMatterStyle::DATE_LAYOUT_DATETIME_OFFSET);
    EXPECT_EQ(a.style().date_zone(), c.zone);
    ExpectWrittenBackAs(a, text);
  }
  // Unquoted, as Jekyll writes it, and for publishDate and expiryDate.
  const Article k =
      MustParse(WithFrontMatter("date: 2024-01-02 03:04:05 +0800\n"
                                "publishDate: 2024-01-03 00:00:00 +0800\n"
                                "expiryDate: 2024-02-01 00:00:00 -0500\n"));
  EXPECT_EQ(k.publish_time().seconds(),
            UnixSeconds(absl::CivilSecond(2024, 1, 2, 16, 0, 0)));
  EXPECT_EQ(k.style().expiry_date_zone(), "-0500");
  EXPECT_EQ(FormatMarkdown(k),
            WithFrontMatter("date: \"2024-01-02 03:04:05 +0800\"\n"
                            "publishDate: \"2024-01-03 00:00:00 +0800\"\n"
                            "expiryDate: \"2024-02-01 00:00:00 -0500\"\n"));
  // A fraction of a second (set through the API) does not fit the form:
  // RFC 3339 in the same offset, which reads back.
  Article f =
      MustParse(WithFrontMatter("date: \"2024-01-02 03:04:05 +0800\"\n"));
  f.mutable_date()->set_nanos(250000000);
  EXPECT_EQ(FormatMarkdown(f),
            WithFrontMatter("date: \"2024-01-02T03:04:05.25+08:00\"\n"));
  EXPECT_EQ(MustParse(FormatMarkdown(f)).date().nanos(), 250000000);
}

TEST(DateTest, RejectsMalformedDates) {
  const char* const kBad[] = {
      "2025-13-40",
      "2025-02-30",
      "2023-02-29",
      "2025-00-10",
      "2025-2-8",
      "25-02-08",
      "2025/02/08",
      "2025-02-08T19",
      "2025-02-08T19:",
      "2025-02-08T19:34:",
      "2025-02-08T19:34:1",
      "2025-02-08T19:34.5",
      "2025-02-08T19:34:12.",
      "2025-02-08T19:34:12.1234567891",
      "2025-02-08T24:00",
      "2025-02-08T19:60:00",
      "2025-02-08T19:34 ",
      "2025-02-08 24:00:00",
      "2025-02-08 19:60:00",
      "2025-02-08 19:34:60",
      "2025-02-08 24:00",
      "2025-02-08 19:60",
      "2025-02-08 19:3",
      "2025-02-08 19:34 ",
      "2025-02-08 19:34.5",
      "2025-02-08 19",
      "2025-02-08T19:34:12+24:00",
      "2025-02-08T19:34:12+0800",
      "2025-02-08 19:34:12 +08",
      "2025-02-08 19:34:12 +080",
      "2025-02-08 19:34:12  +0800",
      "2025-02-08 19:34:12 0800",
      "2025-02-08 19:34:12 +2400",
      "2025-02-08 19:34:12 +0860",
      "2025-02-08 19:34:12 +0800 ",
      "2025-02-08 19:34 +0800",
      "2025-02-08T19:34:12 +0800",
      "2025-02-08T19:34:12.Z",
      "2025-02-08T19:34:12.1234567891Z",
      "2025-02-08T19:34:12ZZ",
      "2025-02-08  19:34:12",
      "yesterday",
      "",
      " 2025-02-08",
      "2025-02-08 ",
  };
  for (const char* bad : kBad) {
    ExpectError(WithFrontMatter(absl::StrCat("date: \"", bad, "\"\n")),
                absl::StrCat("front matter key \"date\": \"", bad,
                             "\" is not a date (RFC 3339 or Jekyll's "
                             "\"YYYY-MM-DD HH:MM:SS +hhmm\"; without a zone "
                             "\"YYYY-MM-DDTHH:MM[:SS[.frac]]\", \"YYYY-MM-DD "
                             "HH:MM[:SS]\" or \"YYYY-MM-DD\")"));
  }
}

TEST(DateTest, RejectsNonScalarAndOutOfRangeDates) {
  ExpectError(WithFrontMatter("date: [2025-02-08]\n"),
              "front matter key \"date\": must be a date");
  ExpectError(WithFrontMatter("date: \"0000-06-01\"\n"),
              "front matter key \"date\": \"0000-06-01\" is out of range");
  ExpectError(WithFrontMatter("date: \"0001-01-01T00:30:00+01:00\"\n"),
              "front matter key \"date\": ");
}

TEST(DateTest, NullDateIsUnset) {
  const Article a = MustParse(WithFrontMatter("date:\n"));
  EXPECT_FALSE(a.has_date());
}

TEST(DateTest, UnknownDefaultZoneIsNamed) {
  ExpectError(WithFrontMatter("date: \"2025-02-08\"\n"),
              "front matter key \"date\": cannot load time zone "
              "\"Mars/Olympus_Mons\"",
              "Mars/Olympus_Mons");
}

TEST(DateTest, EmptyDefaultZoneMeansUtc) {
  const Article a = MustParse(WithFrontMatter("date: \"2025-02-08\"\n"), "");
  EXPECT_EQ(a.date().seconds(),
            UnixSeconds(absl::CivilSecond(2025, 2, 8, 0, 0, 0)));
  EXPECT_EQ(a.style().date_zone(), "UTC");
}

TEST(FormatDateTest, UnspecifiedLayoutIsRfc3339InUtc) {
  Article a;
  a.mutable_date()->set_seconds(
      UnixSeconds(absl::CivilSecond(2025, 2, 8, 19, 34, 12)));
  EXPECT_EQ(FormatMarkdown(a),
            WithFrontMatter("date: \"2025-02-08T19:34:12Z\"\n", ""));
}

TEST(FormatDateTest, Rfc3339InANamedZoneUsesItsOffset) {
  if (!HaveZone("America/New_York")) GTEST_SKIP() << "no tzdata";
  Article a;
  a.mutable_date()->set_seconds(
      UnixSeconds(absl::CivilSecond(2025, 7, 1, 12, 0, 0)));
  a.mutable_style()->set_date_layout(FrontMatterStyle::DATE_LAYOUT_RFC3339);
  a.mutable_style()->set_date_zone("America/New_York");
  EXPECT_THAT(FormatMarkdown(a),
              HasSubstr("date: \"2025-07-01T08:00:00-04:00\"\n"));
}

TEST(FormatDateTest, WidensLayoutsThatWouldLoseTime) {
  Article a;
  a.mutable_date()->set_seconds(
      UnixSeconds(absl::CivilSecond(2025, 2, 8, 10, 0, 0)));
  a.mutable_style()->set_date_layout(FrontMatterStyle::DATE_LAYOUT_DATE);
  a.mutable_style()->set_date_zone("UTC");
  EXPECT_THAT(FormatMarkdown(a), HasSubstr("date: \"2025-02-08 10:00:00\"\n"));

  a.mutable_date()->set_nanos(250000000);
  a.mutable_style()->set_date_layout(FrontMatterStyle::DATE_LAYOUT_DATETIME);
  EXPECT_THAT(FormatMarkdown(a),
              HasSubstr("date: \"2025-02-08T10:00:00.25Z\"\n"));
}

TEST(FormatDateTest, LocalMinutesWidensToSecondsRatherThanDropThem) {
  Article a;
  a.mutable_date()->set_seconds(
      UnixSeconds(absl::CivilSecond(2025, 2, 8, 10, 0, 5)));
  a.mutable_style()->set_date_layout(
      FrontMatterStyle::DATE_LAYOUT_LOCAL_MINUTES);
  a.mutable_style()->set_date_zone("UTC");
  EXPECT_THAT(FormatMarkdown(a), HasSubstr("date: \"2025-02-08T10:00:05\"\n"));
  a.mutable_date()->set_seconds(
      UnixSeconds(absl::CivilSecond(2025, 2, 8, 10, 0, 0)));
  a.mutable_date()->set_nanos(500000000);
  EXPECT_THAT(FormatMarkdown(a),
              HasSubstr("date: \"2025-02-08T10:00:00.5\"\n"));
}

TEST(FormatDateTest, DateTimeMinutesWidensToSecondsRatherThanDropThem) {
  Article a;
  a.mutable_date()->set_seconds(
      UnixSeconds(absl::CivilSecond(2025, 2, 8, 10, 0, 5)));
  a.mutable_style()->set_date_layout(
      FrontMatterStyle::DATE_LAYOUT_DATETIME_MINUTES);
  a.mutable_style()->set_date_zone("UTC");
  EXPECT_THAT(FormatMarkdown(a), HasSubstr("date: \"2025-02-08 10:00:05\"\n"));
  // The space form has no fraction: RFC 3339 keeps it.
  a.mutable_date()->set_seconds(
      UnixSeconds(absl::CivilSecond(2025, 2, 8, 10, 0, 0)));
  a.mutable_date()->set_nanos(500000000);
  EXPECT_THAT(FormatMarkdown(a),
              HasSubstr("date: \"2025-02-08T10:00:00.5Z\"\n"));
}

// A zone this machine cannot load (a name from elsewhere, or no tzdata, as
// in slim containers) falls back to UTC. A zoneless date was then written
// as UTC wall time, which a reader takes in the named zone (an export
// applied again with --default-zone Asia/Shanghai moved by 8 hours): it is
// RFC 3339 in UTC instead, the same instant whoever reads it.
TEST(FormatDateTest, ZonelessLayoutInAnUnknownZoneIsRfc3339InUtc) {
  Article a;
  a.mutable_date()->set_seconds(
      UnixSeconds(absl::CivilSecond(2025, 2, 8, 10, 0, 0)));
  a.mutable_style()->set_date_zone("No/Such_Zone");
  for (auto layout : {FrontMatterStyle::DATE_LAYOUT_DATETIME,
                      FrontMatterStyle::DATE_LAYOUT_DATETIME_MINUTES,
                      FrontMatterStyle::DATE_LAYOUT_LOCAL,
                      FrontMatterStyle::DATE_LAYOUT_LOCAL_MINUTES,
                      FrontMatterStyle::DATE_LAYOUT_DATE}) {
    SCOPED_TRACE(FrontMatterStyle::DateLayout_Name(layout));
    a.mutable_style()->set_date_layout(layout);
    a.mutable_style()->set_publish_date_layout(layout);
    *a.mutable_publish_time() = a.date();
    const std::string text = FormatMarkdown(a);
    EXPECT_THAT(text, HasSubstr("\ndate: \"2025-02-08T10:00:00Z\"\n"));
    EXPECT_THAT(text, HasSubstr("\npublishDate: \"2025-02-08T10:00:00Z\"\n"));
    const Article b = MustParse(text, "Asia/Shanghai");
    EXPECT_EQ(b.date().seconds(), a.date().seconds());
    EXPECT_EQ(b.publish_time().seconds(), a.publish_time().seconds());
  }
}

// Likewise for an offset as the zone (an article made through the API):
// no default zone can be an offset, so the offset is written.
TEST(FormatDateTest, ZonelessLayoutWithAnOffsetZoneIsRfc3339) {
  Article a;
  a.mutable_date()->set_seconds(
      UnixSeconds(absl::CivilSecond(2025, 2, 8, 10, 0, 0)));
  a.mutable_style()->set_date_zone("+08:00");
  a.mutable_style()->set_date_layout(FrontMatterStyle::DATE_LAYOUT_DATETIME);
  EXPECT_THAT(FormatMarkdown(a),
              HasSubstr("date: \"2025-02-08T18:00:00+08:00\"\n"));
}

// Where DST starts at midnight (America/Havana, 2025-03-09), a day starts at
// 01:00: `2025-03-09` reads as that instant, and was written back as
// `2025-03-09 01:00:00`, so an export applied again was a new revision.
TEST(FormatDateTest, DateOnASkippedMidnightIsWrittenAsTheDay) {
  if (!HaveZone("America/Havana")) GTEST_SKIP() << "no tzdata";
  const std::string text = WithFrontMatter("date: \"2025-03-09\"\n");
  const Article a = MustParse(text, "America/Havana");
  EXPECT_EQ(a.date().seconds(),
            UnixSeconds(absl::CivilSecond(2025, 3, 9, 5, 0, 0)));
  EXPECT_EQ(FormatMarkdown(a), text);
  // A time of day after the day's start is still written.
  Article later = a;
  later.mutable_date()->set_seconds(a.date().seconds() + 3600);
  EXPECT_THAT(FormatMarkdown(later),
              HasSubstr("date: \"2025-03-09 02:00:00\"\n"));
}

// ---- Params -----------------------------------------------------------------

TEST(ParamsTest, ScalarTypes) {
  const Article a =
      MustParse(WithFrontMatter("author: \"Ann\"\n"
                                "count: 3\n"
                                "ratio: 0.25\n"
                                "negative: -7\n"
                                "exp: 1e3\n"
                                "plus: +2.5\n"
                                "flag: true\n"
                                "off: False\n"
                                "nothing: null\n"
                                "tilde: ~\n"
                                "empty:\n"
                                "quoted_number: \"123\"\n"
                                "single_quoted: '4.5'\n"
                                "quoted_true: \"true\"\n"
                                "quoted_null: \"null\"\n"
                                "tagged: !!str 12\n"
                                "version: 1.2.3\n"
                                "hex: 0x1F\n"
                                "yes_word: yes\n"
                                "big: 12345678901234567890\n"
                                "bare: hello world\n"
                                "literal: |\n  a\n  b\n"));
  const auto& f = a.params().fields();
  EXPECT_EQ(f.at("author").string_value(), "Ann");
  EXPECT_EQ(f.at("count").number_value(), 3);
  EXPECT_EQ(f.at("ratio").number_value(), 0.25);
  EXPECT_EQ(f.at("negative").number_value(), -7);
  EXPECT_EQ(f.at("exp").number_value(), 1000);
  EXPECT_EQ(f.at("plus").number_value(), 2.5);
  EXPECT_TRUE(f.at("flag").bool_value());
  EXPECT_EQ(f.at("off").kind_case(), Value::kBoolValue);
  EXPECT_FALSE(f.at("off").bool_value());
  for (const char* key : {"nothing", "tilde", "empty"}) {
    EXPECT_EQ(f.at(key).kind_case(), Value::kNullValue) << key;
  }
  EXPECT_EQ(f.at("quoted_number").string_value(), "123");
  EXPECT_EQ(f.at("single_quoted").string_value(), "4.5");
  EXPECT_EQ(f.at("quoted_true").string_value(), "true");
  EXPECT_EQ(f.at("quoted_null").string_value(), "null");
  EXPECT_EQ(f.at("tagged").string_value(), "12");
  EXPECT_EQ(f.at("version").string_value(), "1.2.3");
  EXPECT_EQ(f.at("hex").string_value(), "0x1F");
  EXPECT_EQ(f.at("yes_word").string_value(), "yes");
  // Too big for a double to hold exactly: kept as text.
  EXPECT_EQ(f.at("big").string_value(), "12345678901234567890");
  EXPECT_EQ(f.at("bare").string_value(), "hello world");
  EXPECT_EQ(f.at("literal").string_value(), "a\nb\n");
  EXPECT_EQ(a.style().key_order_size(), 22);
}

// YAML's NaN and infinities are numbers, as a YAML reader such as Hugo's
// takes them, for contentd to refuse (`params.rating: must be a finite
// number`); quoted, they are text. Before, `.nan` was read as the text
// ".nan" and exported quoted: a string to Hugo where the file had a float.
TEST(ParamsTest, NanAndInfinitiesAreNumbers) {
  const Article a = MustParse(WithFrontMatter(
      "rating: .nan\nup: .inf\nplus: +.Inf\ndown: -.INF\nquoted: \".nan\"\n"
      "word: .nano\nlist: [1, -.inf]\n"));
  const auto& f = a.params().fields();
  EXPECT_TRUE(std::isnan(f.at("rating").number_value()));
  EXPECT_EQ(f.at("up").number_value(), std::numeric_limits<double>::infinity());
  EXPECT_EQ(f.at("plus").number_value(),
            std::numeric_limits<double>::infinity());
  EXPECT_EQ(f.at("down").number_value(),
            -std::numeric_limits<double>::infinity());
  EXPECT_EQ(f.at("quoted").string_value(), ".nan");
  EXPECT_EQ(f.at("word").string_value(), ".nano");
  EXPECT_EQ(f.at("list").list_value().values(1).number_value(),
            -std::numeric_limits<double>::infinity());
}

// Under `menu`, `thumbnail`, `lead` and `sidebar` too: a plain number there
// is kept in params, and so are NaN and the infinities, as params read them
// elsewhere (for contentd to refuse). They were the text ".inf" in the
// field, which export wrote quoted: a string to Hugo where the file had a
// float. Quoted, they are text in the field.
TEST(ParamsTest, NanAndInfinitiesUnderTypedKeysAreNumbersInParams) {
  const Article a =
      MustParse(WithFrontMatter("menu: .nan\nthumbnail: .inf\nlead: -.Inf\n"
                                "sidebar: +.INF\n"));
  const auto& f = a.params().fields();
  EXPECT_TRUE(std::isnan(f.at("menu").number_value()));
  EXPECT_EQ(f.at("thumbnail").number_value(),
            std::numeric_limits<double>::infinity());
  EXPECT_EQ(f.at("lead").number_value(),
            -std::numeric_limits<double>::infinity());
  EXPECT_EQ(f.at("sidebar").number_value(),
            std::numeric_limits<double>::infinity());
  EXPECT_TRUE(a.menu().empty());
  EXPECT_TRUE(a.thumbnail().empty());
  EXPECT_TRUE(a.lead().empty());
  EXPECT_TRUE(a.sidebar().empty());

  const Article quoted = MustParse(
      WithFrontMatter("sidebar: \".inf\"\nlead: '.nan'\nthumbnail: .nano\n"));
  EXPECT_EQ(quoted.sidebar(), ".inf");
  EXPECT_EQ(quoted.lead(), ".nan");
  EXPECT_EQ(quoted.thumbnail(), ".nano");
  EXPECT_TRUE(quoted.params().fields().empty());
}

TEST(ParamsTest, Collections) {
  const std::string text = WithFrontMatter(
      "title: \"T\"\n"
      "seo:\n"
      "  description: \"d\"\n"
      "  keywords:\n"
      "    - \"a\"\n"
      "    - 2\n"
      "  nested:\n"
      "    deeper:\n"
      "      flag: false\n"
      "  noindex: null\n"
      "empty_map: {}\n"
      "empty_list: []\n"
      "people:\n"
      "  - name: \"Ann\"\n"
      "    roles:\n"
      "      - \"editor\"\n"
      "  - name: \"Bo\"\n"
      "    roles: []\n"
      "matrix:\n"
      "  - - 1\n"
      "    - 2.5\n"
      "  - []\n"
      "  - {}\n");
  const Article a = MustParse(text);
  const auto& f = a.params().fields();
  const auto& seo = f.at("seo").struct_value().fields();
  EXPECT_EQ(seo.at("description").string_value(), "d");
  EXPECT_EQ(seo.at("keywords").list_value().values(1).number_value(), 2);
  EXPECT_FALSE(seo.at("nested")
                   .struct_value()
                   .fields()
                   .at("deeper")
                   .struct_value()
                   .fields()
                   .at("flag")
                   .bool_value());
  EXPECT_EQ(seo.at("noindex").kind_case(), Value::kNullValue);
  EXPECT_TRUE(f.at("empty_map").has_struct_value());
  EXPECT_TRUE(f.at("empty_list").has_list_value());
  EXPECT_EQ(f.at("people").list_value().values_size(), 2);
  EXPECT_EQ(f.at("matrix").list_value().values(0).list_value().values_size(),
            2);
  EXPECT_THAT(a.style().key_order(),
              ElementsAre("title", "seo", "empty_map", "empty_list", "people",
                          "matrix"));
  // Written in the same shape (nested keys are sorted, as they are here).
  EXPECT_EQ(FormatMarkdown(a), text);
}

// A Struct is a map: keys inside params came back sorted. Mappings read in
// another order keep it in style.params_key_order, by JSON Pointer.
TEST(ParamsTest, NestedKeysAreWrittenInTheOrderRead) {
  const std::string text = WithFrontMatter(
      "title: \"T\"\n"
      "menu:\n"
      "  main:\n"
      "    weight: 10\n"
      "    parent: \"docs\"\n"
      "seo:\n"
      "  title: \"s\"\n"
      "  description: \"d\"\n"
      "  \"a/b~c\":\n"
      "    z: 1\n"
      "    y: 2\n"
      "people:\n"
      "  - name: \"Ann\"\n"
      "    age: 3\n"
      "  - age: 4\n"
      "    name: \"Bo\"\n");
  const Article a = MustParse(text);
  std::vector<std::string> paths;
  for (const auto& order : a.style().params_key_order()) {
    paths.push_back(order.path());
  }
  // Only maps not already sorted are recorded (`menu` and `/people/1` are).
  EXPECT_THAT(paths,
              ElementsAre("/menu/main", "/seo/a~1b~0c", "/seo", "/people/0"));
  EXPECT_THAT(a.style().params_key_order(2).keys(),
              ElementsAre("title", "description", "a/b~c"));
  EXPECT_EQ(FormatMarkdown(a), text);
  const Article back = MustParse(FormatMarkdown(a));
  EXPECT_TRUE(MessageDifferencer::Equals(a, back)) << Diff(a, back);

  // Edited through the API: keys gone are skipped, new ones follow sorted.
  Article b = a;
  auto& seo = *(*b.mutable_params()->mutable_fields())["seo"]
                   .mutable_struct_value()
                   ->mutable_fields();
  seo.erase("description");
  seo["b"].set_string_value("new");
  seo["a"].set_string_value("new");
  EXPECT_THAT(FormatMarkdown(b), HasSubstr("seo:\n"
                                           "  title: \"s\"\n"
                                           "  \"a/b~c\":\n"
                                           "    z: 1\n"
                                           "    y: 2\n"
                                           "  a: \"new\"\n"
                                           "  b: \"new\"\n"
                                           "people:\n"));
}

// An integer past 2^53 is kept as text (a double would drop digits) and
// came back quoted, a string to Hugo. Where it was a plain integer it is
// written back as one.
TEST(ParamsTest, BigIntegersAreWrittenBackUnquoted) {
  const std::string text = WithFrontMatter(
      "title: \"T\"\n"
      "order: 12345678901234567890\n"
      "quoted: \"12345678901234567890\"\n"
      "ids:\n"
      "  - -98765432109876543210\n"
      "  - 7\n"
      "nested:\n"
      "  \"a/b\": +9007199254740993\n"
      "sidebar: 9007199254740993\n");
  const Article a = MustParse(text);
  const auto& f = a.params().fields();
  EXPECT_EQ(f.at("order").string_value(), "12345678901234567890");
  EXPECT_EQ(f.at("quoted").string_value(), "12345678901234567890");
  EXPECT_EQ(f.at("sidebar").string_value(), "9007199254740993");
  EXPECT_EQ(a.sidebar(), "");
  EXPECT_THAT(a.style().big_integer_paths(),
              ElementsAre("/order", "/ids/0", "/nested/a~1b", "/sidebar"));
  EXPECT_EQ(FormatMarkdown(a), text);
  const Article back = MustParse(FormatMarkdown(a));
  EXPECT_TRUE(MessageDifferencer::Equals(a, back)) << Diff(a, back);

  // A value changed through the API to anything else is written quoted,
  // so that it reads back as the string it is.
  Article b = a;
  (*b.mutable_params()->mutable_fields())["order"].set_string_value("12");
  (*(*b.mutable_params()->mutable_fields())["nested"]
        .mutable_struct_value()
        ->mutable_fields())["a/b"]
      .set_string_value("x y");
  const std::string written = FormatMarkdown(b);
  EXPECT_THAT(written, HasSubstr("\norder: \"12\"\n"));
  EXPECT_THAT(written, HasSubstr("\n  \"a/b\": \"x y\"\n"));
  const Article b_back = MustParse(written);
  EXPECT_TRUE(MessageDifferencer::Equals(b.params(), b_back.params()))
      << Diff(b, b_back);
}

TEST(ParamsTest, FormatsNumbersCompactlyAndExactly) {
  const double kNumbers[] = {0,
                             3,
                             -7,
                             0.1,
                             -0.5,
                             1e20,
                             1.0 / 3,
                             2.5e-8,
                             123456789,
                             1e15,
                             9007199254740992.0,
                             -1234.5678};
  for (double d : kNumbers) {
    Article a;
    (*a.mutable_params()->mutable_fields())["n"].set_number_value(d);
    const std::string text = FormatMarkdown(a);
    const Article b = MustParse(text);
    ASSERT_EQ(b.params().fields().at("n").kind_case(), Value::kNumberValue)
        << text;
    EXPECT_EQ(b.params().fields().at("n").number_value(), d) << text;
  }
  Article a;
  auto& fields = *a.mutable_params()->mutable_fields();
  fields["a"].set_number_value(3);
  fields["b"].set_number_value(-0.5);
  fields["c"].set_null_value(google::protobuf::NULL_VALUE);
  EXPECT_EQ(FormatMarkdown(a), "---\na: 3\nb: -0.5\nc: null\n---\n");
}

TEST(ParamsTest, AwkwardKeysAreQuoted) {
  Article a;
  auto& fields = *a.mutable_params()->mutable_fields();
  for (const char* key :
       {"null", "a b", "", "-x", "中文", "k: v", "#c", "~", "true", "x\ny"}) {
    fields[key].set_string_value(key);
  }
  const std::string text = FormatMarkdown(a);
  EXPECT_THAT(text, HasSubstr("\"null\": \"null\"\n"));
  EXPECT_THAT(text, HasSubstr("\"\": \"\"\n"));
  const Article b = MustParse(text);
  EXPECT_TRUE(MessageDifferencer::Equals(a.params(), b.params()))
      << text << Diff(a, b);
}

TEST(ParamsTest, KeysLongerThanYamlsImplicitKeyLimitRoundTrip) {
  // YAML reads an implicit key of at most 1024 characters; longer keys (and
  // short ones that escaping lengthens) are written as explicit `? ` keys,
  // with scalar and collection values, at the top and nested.
  Article a;
  auto& fields = *a.mutable_params()->mutable_fields();
  const std::string plain(1500, 'k');
  const std::string escaped = std::string(400, '\r') + "x";  // 801 quoted
  const std::string escaped_long = std::string(600, '\r');   // 1202 quoted
  fields[plain].set_string_value("v");
  fields[escaped].set_number_value(1);
  auto& nested = *fields[escaped_long].mutable_struct_value()->mutable_fields();
  nested[plain].mutable_list_value()->add_values()->set_bool_value(true);
  nested["short"].set_string_value("s");
  const std::string text = FormatMarkdown(a);
  EXPECT_THAT(text, HasSubstr("? " + plain + "\n: \"v\"\n"));
  const Article b = MustParse(text);
  EXPECT_TRUE(MessageDifferencer::Equals(a.params(), b.params())) << Diff(a, b);
}

// Hugo's `params:` mapping: each entry is a param, whatever its name.
TEST(ParamsTest, ParamsMappingEntriesAreParams) {
  const std::string text = WithFrontMatter(
      "title: \"T\"\n"
      "summary: \"field\"\n"
      "params:\n"
      "  zeta: 1\n"
      "  summary: \"param\"\n"
      "other: true\n");
  const Article a = MustParse(text);
  EXPECT_EQ(a.summary(), "field");
  const auto& f = a.params().fields();
  EXPECT_EQ(f.at("summary").string_value(), "param");
  EXPECT_EQ(f.at("zeta").number_value(), 1);
  EXPECT_TRUE(f.at("other").bool_value());
  EXPECT_EQ(f.count("params"), 0u);
  EXPECT_EQ(FormatMarkdown(a), text);

  // Anything but a mapping is the param named `params`, as before.
  const Article scalar = MustParse(WithFrontMatter("params: 3\n"));
  EXPECT_EQ(scalar.params().fields().at("params").number_value(), 3);
  EXPECT_EQ(FormatMarkdown(scalar), WithFrontMatter("params: 3\n"));

  // A param given twice would lose one of them.
  ExpectError(WithFrontMatter("zeta: 1\nparams:\n  zeta: 2\n"),
              "front matter key \"zeta\": is given both at the top level and "
              "in the \"params\" mapping");
  ExpectError(WithFrontMatter("params:\n  zeta: 2\nzeta: 1\n"),
              "front matter key \"zeta\": is given both");
}

// An article from the API may hold anything in params["summary"], with or
// without a summary. At the top level a string came back in the field and a
// list or map made a file that did not parse; the `params:` mapping keeps
// it a param, and Hugo reads it as .Params.summary.
TEST(ParamsTest, SummaryInParamsIsWrittenInTheParamsMapping) {
  Value list;
  list.mutable_list_value()->add_values()->set_string_value("a");
  Value map;
  (*map.mutable_struct_value()->mutable_fields())["k"].set_bool_value(true);
  Value text;
  text.set_string_value("from params");
  for (const Value& v : {text, list, map}) {
    for (const char* field : {"", "the summary"}) {
      Article a;
      a.set_title("T");
      a.set_summary(field);
      (*a.mutable_params()->mutable_fields())["summary"] = v;
      const std::string md = FormatMarkdown(a);
      EXPECT_THAT(md, HasSubstr("\nparams:\n  summary:"));
      absl::StatusOr<Article> b = ParseMarkdown(md);
      ASSERT_TRUE(b.ok()) << b.status() << "\n" << md;
      EXPECT_EQ(b->summary(), field) << md;
      EXPECT_TRUE(MessageDifferencer::Equals(a.params(), b->params()))
          << md << Diff(a, *b);
      EXPECT_EQ(FormatMarkdown(*b), md);
    }
  }
}

// params["title"] beside the title was dropped on export; without a title
// it came back as the title.
TEST(ParamsTest, TitleInParamsIsWrittenInTheParamsMapping) {
  for (const char* field : {"The title", ""}) {
    Article a;
    a.set_title(field);
    (*a.mutable_params()->mutable_fields())["title"].set_string_value("param");
    const std::string md = FormatMarkdown(a);
    if (*field != '\0') {
      EXPECT_EQ(
          md, "---\ntitle: \"The title\"\nparams:\n  title: \"param\"\n---\n");
    }
    const Article b = MustParse(md);
    EXPECT_EQ(b.title(), field) << md;
    EXPECT_TRUE(MessageDifferencer::Equals(a.params(), b.params()))
        << md << Diff(a, b);
  }
}

// An article read by an older build from a `params:` mapping holds it as
// params["params"]; it is written inside the mapping, and reads back so.
TEST(ParamsTest, ParamNamedParamsIsWrittenInTheParamsMapping) {
  Article a;
  a.set_title("T");
  auto* fields = a.mutable_params()->mutable_fields();
  (*(*fields)["params"].mutable_struct_value()->mutable_fields())["k"]
      .set_number_value(1);
  const std::string md = FormatMarkdown(a);
  EXPECT_EQ(md, "---\ntitle: \"T\"\nparams:\n  params:\n    k: 1\n---\n");
  const Article b = MustParse(md);
  EXPECT_TRUE(MessageDifferencer::Equals(a.params(), b.params())) << Diff(a, b);
}

// ---- Formatting
// ---------------------------------------------------------------

TEST(FormatTest, CanonicalOrderWithoutKeyOrder) {
  Article a;
  a.set_body("\nHello.\n");
  (*a.mutable_params()->mutable_fields())["zeta"].set_bool_value(true);
  (*a.mutable_params()->mutable_fields())["alpha"].set_string_value("x");
  a.add_widgets("search");
  a.set_sidebar("right");
  a.set_mathjax(false);
  a.set_comments(true);
  a.add_tags("ai");
  a.add_lang("en");
  a.set_summary("S");
  a.set_title("T");
  a.mutable_date()->set_seconds(
      UnixSeconds(absl::CivilSecond(2024, 5, 6, 7, 8, 9)));
  a.mutable_style()->set_date_layout(FrontMatterStyle::DATE_LAYOUT_DATETIME);
  a.mutable_style()->set_date_zone("UTC");
  EXPECT_EQ(FormatMarkdown(a),
            "---\n"
            "title: \"T\"\n"
            "date: \"2024-05-06 07:08:09\"\n"
            "summary: \"S\"\n"
            "lang:\n  - \"en\"\n"
            "tags:\n  - \"ai\"\n"
            "comments: true\n"
            "mathjax: false\n"
            "sidebar: \"right\"\n"
            "widgets:\n  - \"search\"\n"
            "alpha: \"x\"\n"
            "zeta: true\n"
            "---\n"
            "\nHello.\n");
}

TEST(FormatTest, KeyOrderFirstThenCanonicalThenParams) {
  Article a;
  a.set_title("T");
  a.set_menu("");
  a.add_tags("x");
  a.set_summary("S");
  (*a.mutable_params()->mutable_fields())["b"].set_string_value("b");
  (*a.mutable_params()->mutable_fields())["a"].set_string_value("a");
  for (const char* key :
       {"b", "tags", "menu", "categories", "toc", "date", "unknown", "tags"}) {
    a.mutable_style()->add_key_order(key);
  }
  // `menu` and `categories` were in the document, so they are written even
  // though empty; `toc`, `date` and `unknown` have nothing to write.
  EXPECT_EQ(FormatMarkdown(a),
            "---\n"
            "b: \"b\"\n"
            "tags:\n  - \"x\"\n"
            "menu: \"\"\n"
            "categories: []\n"
            "title: \"T\"\n"
            "summary: \"S\"\n"
            "a: \"a\"\n"
            "---\n");
}

TEST(FormatTest, SkipsServerSetFields) {
  Article a;
  a.set_name("articles/x");
  a.set_title("T");
  a.set_revision(7);
  a.set_etag("\"abc\"");
  a.mutable_create_time()->set_seconds(1);
  a.mutable_update_time()->set_seconds(2);
  a.mutable_delete_time()->set_seconds(3);
  a.set_content_hash("deadbeef");
  // No `id` either: it is written only when the document had one.
  EXPECT_EQ(FormatMarkdown(a), "---\ntitle: \"T\"\n---\n");
  a.mutable_style()->add_key_order("id");
  EXPECT_EQ(FormatMarkdown(a), "---\nid: \"x\"\ntitle: \"T\"\n---\n");
}

TEST(FormatTest, EscapesStrings) {
  Article a;
  a.set_title(
      "q\"b\\n\nt\tr\r"
      "\x01\x1f\x7f"
      "\xC2\x85\xC2\x9F"  // C1 controls
      "\xE2\x80\xA8\xE2\x80\xA9\xEF\xBB\xBF"
      "中文 é 😀");
  const std::string text = FormatMarkdown(a);
  EXPECT_EQ(text,
            "---\ntitle: \"q\\\"b\\\\n\\nt\\tr\\r\\x01\\x1F\\x7F\\x85\\x9F"
            "\\u2028\\u2029\\uFEFF中文 é 😀\"\n---\n");
  EXPECT_EQ(MustParse(text).title(), a.title());

  a.set_title(std::string("nul\0byte", 8));
  EXPECT_THAT(FormatMarkdown(a), HasSubstr("\"nul\\x00byte\""));
  EXPECT_EQ(MustParse(FormatMarkdown(a)).title(), a.title());
}

TEST(FormatTest, StringsThatLookLikeOtherTypesStayStrings) {
  Article a;
  for (const char* s : {"true", "123", "null", "~", "", " lead", "trail ",
                        "- item", "# not a comment", "a: b", "[x]", "{y}",
                        "*ref", "&anchor", "!tag", "'", "---", "..."}) {
    a.add_tags(s);
    (*a.mutable_params()->mutable_fields())[absl::StrCat("k", a.tags_size())]
        .set_string_value(s);
  }
  a.set_title("null");
  a.set_summary("123");
  a.add_lang("true");
  a.mutable_style()->set_lang_scalar(true);
  const Article b = MustParse(FormatMarkdown(a));
  EXPECT_THAT(b.tags(), testing::ElementsAreArray(a.tags()));
  EXPECT_TRUE(MessageDifferencer::Equals(a.params(), b.params()));
  EXPECT_EQ(b.title(), "null");
  EXPECT_EQ(b.summary(), "123");
  EXPECT_THAT(b.lang(), ElementsAre("true"));
  EXPECT_TRUE(b.style().lang_scalar());
}

// A param named `id` was dropped (and beside no name, read back as one).
TEST(FormatTest, ParamNamedIdIsWrittenInTheParamsMapping) {
  Article a;
  a.set_title("T");
  (*a.mutable_params()->mutable_fields())["id"].set_string_value("shadow");
  (*a.mutable_params()->mutable_fields())["ok"].set_string_value("kept");
  const std::string text = FormatMarkdown(a);
  EXPECT_EQ(
      text,
      "---\ntitle: \"T\"\nok: \"kept\"\nparams:\n  id: \"shadow\"\n---\n");
  Article b = MustParse(text);
  b.clear_style();
  EXPECT_TRUE(MessageDifferencer::Equals(a, b)) << Diff(a, b);
  a.set_name("articles/x");
  a.mutable_style()->add_key_order("id");
  EXPECT_THAT(FormatMarkdown(a), StartsWith("---\nid: \"x\"\n"));
  const Article c = MustParse(FormatMarkdown(a));
  EXPECT_EQ(c.name(), "articles/x");
  EXPECT_TRUE(MessageDifferencer::Equals(a.params(), c.params()));
}

// Every key the reader maps to a field, with a param of its name beside a
// value in the field or not: both come back. At the top level such a param
// was dropped, came back in the field, or made a file that did not parse.
TEST(FormatTest, ParamsNamedLikeFieldsKeepParamAndField) {
  // Each key, and the front matter that gives its field a value.
  const std::pair<const char*, const char*> kKeys[] = {
      {"title", "title: \"T\"\n"},
      {"date", "date: \"2024-05-06\"\n"},
      {"summary", "summary: \"s\"\n"},
      {"categories", "categories: \"c\"\n"},
      {"lang", "lang: \"en\"\n"},
      {"translations", "translations:\n  - \"zh\"\n"},
      {"tags", "tags: []\n"},
      {"menu", "menu: \"m\"\n"},
      {"thumbnail", "thumbnail: \"t.png\"\n"},
      {"lead", "lead: \"l\"\n"},
      {"comments", "comments: true\n"},
      {"authorbox", "authorbox: false\n"},
      {"pager", "pager: true\n"},
      {"toc", "toc: true\n"},
      {"mathjax", "mathjax: false\n"},
      {"sidebar", "sidebar: \"right\"\n"},
      {"widgets", "widgets:\n  - \"w\"\n"},
      {"id", "id: \"x\"\n"},
      {"state", "state: \"archived\"\n"},
      {"draft", "draft: true\n"},
      {"publishDate", "publishDate: \"2024-05-06T10:00:00+08:00\"\n"},
      {"expiryDate", "expiryDate: \"2030-01-01\"\n"},
      {"translationKey", "translationKey: \"k\"\n"},
      {"params", "params: 3\n"}};
  Value text;
  text.set_string_value("2025-01-02");
  Value flag;
  flag.set_bool_value(true);
  Value list;
  list.mutable_list_value()->add_values()->set_string_value("draft");
  Value map;
  (*map.mutable_struct_value()->mutable_fields())["k"].set_string_value("v");
  Value null;
  null.set_null_value(google::protobuf::NULL_VALUE);
  for (const auto& [key, yaml] : kKeys) {
    for (const Value& v : {text, flag, list, map, null}) {
      for (bool with_field : {false, true}) {
        Article a = MustParse(WithFrontMatter(with_field ? yaml : ""));
        if (std::string(key) == "params") {
          a.mutable_params()->clear_fields();  // `params: 3` is the param
        }
        (*a.mutable_params()->mutable_fields())[key] = v;
        const std::string md = FormatMarkdown(a);
        absl::StatusOr<Article> b = ParseMarkdown(md);
        ASSERT_TRUE(b.ok()) << b.status() << "\n" << md;
        EXPECT_TRUE(MessageDifferencer::Equals(a.params(), b->params()))
            << md << Diff(a, *b);
        Article a_fields = a;
        Article b_fields = *b;
        a_fields.clear_params();
        a_fields.clear_style();
        b_fields.clear_params();
        b_fields.clear_style();
        EXPECT_TRUE(MessageDifferencer::Equals(a_fields, b_fields))
            << md << Diff(a_fields, b_fields);
        EXPECT_EQ(FormatMarkdown(*b), md);
      }
    }
  }
}

// ---- Editorial keys -------------------------------------------------------

TEST(EditorialTest, StateAndDraftRoundTripByteExact) {
  struct Case {
    std::string yaml;
    Article::State state;
  };
  const Case cases[] = {
      {"state: \"draft\"\n", Article::DRAFT},
      {"state: \"published\"\n", Article::PUBLISHED},
      {"state: \"archived\"\n", Article::ARCHIVED},
      {"draft: true\n", Article::DRAFT},
      {"draft: false\n", Article::PUBLISHED},
      // Both, agreeing: each is written back where it was.
      {"draft: true\ntitle: \"T\"\nstate: \"draft\"\n", Article::DRAFT},
      {"state: \"published\"\ndraft: false\n", Article::PUBLISHED},
  };
  for (const Case& c : cases) {
    const std::string text = WithFrontMatter(c.yaml);
    const Article a = MustParse(text);
    EXPECT_EQ(a.state(), c.state) << c.yaml;
    EXPECT_FALSE(a.params().fields().contains("draft")) << c.yaml;
    EXPECT_FALSE(a.params().fields().contains("state")) << c.yaml;
    EXPECT_EQ(FormatMarkdown(a), text);
  }
}

TEST(EditorialTest, StateIsReadInAnyCaseAndWrittenLowerCase) {
  for (const char* value : {"Draft", "DRAFT", "draft", "\"dRaFt\""}) {
    const Article a = MustParse(
        WithFrontMatter(absl::StrCat("title: \"T\"\nstate: ", value, "\n")));
    EXPECT_EQ(a.state(), Article::DRAFT) << value;
    EXPECT_EQ(FormatMarkdown(a),
              WithFrontMatter("title: \"T\"\nstate: \"draft\"\n"));
  }
  EXPECT_EQ(MustParse(WithFrontMatter("state: ARCHIVED\n")).state(),
            Article::ARCHIVED);
}

TEST(EditorialTest, NullStateAndDraftAreUnset) {
  EXPECT_EQ(MustParse(WithFrontMatter("state:\n")).state(),
            Article::STATE_UNSPECIFIED);
  EXPECT_EQ(MustParse(WithFrontMatter("draft:\n")).state(),
            Article::STATE_UNSPECIFIED);
  // `draft:` with nothing beside `state: archived` does not disagree.
  EXPECT_EQ(MustParse(WithFrontMatter("draft:\nstate: archived\n")).state(),
            Article::ARCHIVED);
}

TEST(EditorialTest, ConflictingStateAndDraftNameBothKeys) {
  ExpectError(WithFrontMatter("state: published\ndraft: true\n"),
              "front matter keys \"state\" and \"draft\" disagree: state is "
              "\"published\" but draft: true means \"draft\"");
  ExpectError(WithFrontMatter("draft: false\nstate: \"draft\"\n"),
              "front matter keys \"state\" and \"draft\" disagree: state is "
              "\"draft\" but draft: false means \"published\"");
  ExpectError(WithFrontMatter("draft: false\nstate: archived\n"),
              "front matter keys \"state\" and \"draft\" disagree");
  ExpectError(WithFrontMatter("draft: true\nstate: archived\n"),
              "front matter keys \"state\" and \"draft\" disagree");
}

// Jekyll's `published: false` keeps a post from the site: it was a param,
// and the post went live to readers. A boolean is the state, written back
// as read; anything else (Hugo's date alias) stays a param.
TEST(EditorialTest, JekyllsPublishedFalseIsADraft) {
  for (const auto& [yaml, state] :
       {std::pair<std::string, Article::State>{"published: false\n",
                                               Article::DRAFT},
        {"published: true\n", Article::PUBLISHED},
        {"published: false\ndraft: true\n", Article::DRAFT},
        {"published: \"2024-01-01\"\n", Article::STATE_UNSPECIFIED}}) {
    SCOPED_TRACE(yaml);
    const std::string text = WithFrontMatter("title: \"T\"\n" + yaml);
    const Article a = MustParse(text);
    EXPECT_EQ(a.state(), state);
    EXPECT_EQ(a.params().fields().count("published"),
              state == Article::STATE_UNSPECIFIED ? 1u : 0u);
    EXPECT_EQ(FormatMarkdown(a), text);
  }
  ExpectError(WithFrontMatter("published: false\ndraft: false\n"),
              "front matter keys \"draft\" and \"published\" disagree: "
              "draft: false means \"published\" but published: false means "
              "\"draft\"; give one of them");
  ExpectError(WithFrontMatter("state: archived\npublished: true\n"),
              "front matter keys \"state\" and \"published\" disagree: state "
              "is \"archived\" but published: true means \"published\"");
  // Archived through the API: `published:` cannot say it, `state:` does.
  Article archived = MustParse(WithFrontMatter("published: false\n"));
  archived.set_state(Article::ARCHIVED);
  EXPECT_EQ(FormatMarkdown(archived), WithFrontMatter("state: \"archived\"\n"));
  // A boolean param of that name (the API's) goes under `params:`, where
  // it reads back as a param.
  Article param;
  param.set_title("T");
  (*param.mutable_params()->mutable_fields())["published"].set_bool_value(
      false);
  const Article back = MustParse(FormatMarkdown(param));
  EXPECT_EQ(back.state(), Article::STATE_UNSPECIFIED);
  EXPECT_EQ(back.params().fields().at("published").bool_value(), false);
}

TEST(EditorialTest, BadValuesNameTheKeyAndTheRule) {
  struct Case {
    std::string yaml;
    std::string message;
  };
  const Case cases[] = {
      {"state: live\n",
       "front matter key \"state\": must be draft, published or archived, "
       "got \"live\""},
      {"state: \"\"\n",
       "front matter key \"state\": must be draft, published or archived, "
       "got \"\""},
      {"state: [draft]\n",
       "front matter key \"state\": must be draft, published or archived"},
      {"state: true\n",
       "front matter key \"state\": must be draft, published or archived"},
      {"draft: yes\n", "front matter key \"draft\": must be true or false"},
      {"draft: \"true\"\n",
       "front matter key \"draft\": must be true or false"},
      {"draft: draft\n", "front matter key \"draft\": must be true or false"},
      {"draft: [true]\n", "front matter key \"draft\": must be true or false"},
      {"publishDate: tomorrow\n",
       "front matter key \"publishDate\": \"tomorrow\" is not a date (RFC "
       "3339 or Jekyll's \"YYYY-MM-DD HH:MM:SS +hhmm\"; without a zone "
       "\"YYYY-MM-DDTHH:MM[:SS[.frac]]\", \"YYYY-MM-DD HH:MM[:SS]\" or "
       "\"YYYY-MM-DD\")"},
      {"publishDate: \"2025-02-30\"\n",
       "front matter key \"publishDate\": \"2025-02-30\" is not a date"},
      {"expiryDate: [2025-02-08]\n",
       "front matter key \"expiryDate\": must be a date string"},
      {"expiryDate: \"2025-02-08T19:34:1\"\n",
       "front matter key \"expiryDate\": \"2025-02-08T19:34:1\" is not a "
       "date"},
      {"expiryDate: \"0000-06-01\"\n",
       "front matter key \"expiryDate\": \"0000-06-01\" is out of range"},
      {"translationKey: [a]\n",
       "front matter key \"translationKey\": must be a string"},
      {"translationKey: {a: b}\n",
       "front matter key \"translationKey\": must be a string"},
      {"state: draft\nstate: draft\n",
       "front matter key \"state\": appears more than once"},
  };
  for (const Case& c : cases) ExpectError(WithFrontMatter(c.yaml), c.message);
  ExpectError(WithFrontMatter("publishDate: \"2025-02-08\"\n"),
              "front matter key \"publishDate\": cannot load time zone "
              "\"Mars/Olympus_Mons\"",
              "Mars/Olympus_Mons");
}

TEST(EditorialTest, PublishAndExpiryDatesKeepTheirLayouts) {
  if (!HaveZone("Asia/Shanghai")) GTEST_SKIP() << "no tzdata";
  const std::string text = WithFrontMatter(
      "title: \"T\"\n"
      "date: \"2025-02-08 19:34:12\"\n"
      "expiryDate: \"2026-01-01\"\n"
      "publishDate: \"2025-02-10 08:00:00\"\n");
  const Article a = MustParse(text, "Asia/Shanghai");
  EXPECT_EQ(
      a.publish_time().seconds(),
      UnixSeconds(absl::CivilSecond(2025, 2, 10, 8, 0, 0), "Asia/Shanghai"));
  EXPECT_EQ(
      a.expiry_time().seconds(),
      UnixSeconds(absl::CivilSecond(2026, 1, 1, 0, 0, 0), "Asia/Shanghai"));
  EXPECT_EQ(a.style().date_zone(), "Asia/Shanghai");
  EXPECT_EQ(a.style().publish_date_layout(),
            FrontMatterStyle::DATE_LAYOUT_DATETIME);
  EXPECT_EQ(a.style().expiry_date_layout(), FrontMatterStyle::DATE_LAYOUT_DATE);
  EXPECT_FALSE(a.params().fields().contains("publishDate"));
  EXPECT_FALSE(a.params().fields().contains("expiryDate"));
  EXPECT_EQ(FormatMarkdown(a), text);
}

TEST(EditorialTest, Rfc3339DatesRoundTripByteExact) {
  for (const char* yaml : {
           "date: \"2025-02-08T19:34:12+08:00\"\n"
           "publishDate: \"2025-02-09T00:00:00.5+08:00\"\n"
           "expiryDate: \"2025-03-09T00:00:00+08:00\"\n",
           "publishDate: \"2025-02-09T00:00:00Z\"\n",
           "expiryDate: \"2025-02-09T00:00:00-05:30\"\n"
           "publishDate: \"2025-01-09T10:00:00-05:30\"\n",
       }) {
    const std::string text = WithFrontMatter(yaml);
    EXPECT_EQ(FormatMarkdown(MustParse(text)), text) << yaml;
  }
  // Without `date`, the first date key read sets the shared zone.
  const Article a = MustParse(
      WithFrontMatter("publishDate: \"2025-02-09T00:00:00+08:00\"\n"));
  EXPECT_EQ(a.style().date_zone(), "+08:00");
  EXPECT_EQ(a.style().publish_date_layout(),
            FrontMatterStyle::DATE_LAYOUT_RFC3339);
  EXPECT_FALSE(a.has_date());
}

// Each date key keeps its own zone. They shared the first one's, so that
// `publishDate` came back as the same instant in another text (here
// "2025-02-10T16:00:00+08:00").
TEST(EditorialTest, EachDateKeyKeepsItsZone) {
  const std::string text = WithFrontMatter(
      "date: \"2025-02-08T19:34:12+08:00\"\n"
      "publishDate: \"2025-02-10 08:00:00\"\n"
      "expiryDate: \"2026-01-01T00:00:00-05:30\"\n");
  const Article a = MustParse(text);
  EXPECT_EQ(a.publish_time().seconds(),
            UnixSeconds(absl::CivilSecond(2025, 2, 10, 8, 0, 0)));
  EXPECT_EQ(a.expiry_time().seconds(),
            UnixSeconds(absl::CivilSecond(2026, 1, 1, 5, 30, 0)));
  EXPECT_EQ(a.style().date_zone(), "+08:00");
  EXPECT_EQ(a.style().publish_date_zone(), "UTC");
  EXPECT_EQ(a.style().publish_date_layout(),
            FrontMatterStyle::DATE_LAYOUT_DATETIME);
  EXPECT_EQ(a.style().expiry_date_zone(), "-05:30");
  ExpectWrittenBackAs(a, text);

  // Keys in the zone of the first record none of their own, as before.
  const Article same =
      MustParse(WithFrontMatter("expiryDate: \"2026-01-01T00:00:00Z\"\n"
                                "publishDate: \"2025-02-10T08:00:00Z\"\n"
                                "date: \"2025-02-08\"\n"));
  EXPECT_EQ(same.style().date_zone(), "UTC");  // `date` is read first
  EXPECT_EQ(same.style().publish_date_zone(), "");
  EXPECT_EQ(same.style().expiry_date_zone(), "");

  // Stored before these fields, an article's keys share `date_zone`.
  Article old = a;
  old.mutable_style()->clear_publish_date_zone();
  old.mutable_style()->clear_expiry_date_zone();
  old.mutable_style()->set_publish_date_layout(
      FrontMatterStyle::DATE_LAYOUT_RFC3339);
  EXPECT_THAT(FormatMarkdown(old),
              HasSubstr("publishDate: \"2025-02-10T16:00:00+08:00\"\n"
                        "expiryDate: \"2026-01-01T13:30:00+08:00\"\n"));
}

// Random date keys, each in a zone and layout of its own, in any order:
// the text comes back byte for byte.
TEST(EditorialTest, RandomDateKeysInTheirOwnZonesAreByteExact) {
  if (!HaveZone("Asia/Shanghai")) GTEST_SKIP() << "no tzdata";
  std::mt19937 rng(2026);
  const char* const kSuffixes[] = {"+08:00", "Z", "-05:30", "+00:00",
                                   ".25Z",   "",  " ",      "T"};
  for (int i = 0; i < 500; ++i) {
    std::vector<std::string> lines;
    for (const char* key : {"date", "publishDate", "expiryDate"}) {
      if (rng() % 4 == 0) continue;
      const std::string suffix = kSuffixes[rng() % std::size(kSuffixes)];
      std::string value = absl::StrFormat("%04d-%02d-%02d", 2000 + rng() % 30,
                                          1 + rng() % 12, 1 + rng() % 28);
      const std::string time =
          absl::StrFormat("%02d:%02d:%02d", rng() % 24, rng() % 60, rng() % 60);
      if (suffix == " " || suffix == "T") {
        absl::StrAppend(&value, suffix, time);  // zoneless
      } else if (!suffix.empty()) {
        absl::StrAppend(&value, "T", time, suffix);
      }
      lines.push_back(absl::StrCat(key, ": \"", value, "\"\n"));
    }
    std::shuffle(lines.begin(), lines.end(), rng);
    std::string yaml = "title: \"T\"\n";
    for (const std::string& line : lines) yaml += line;
    const std::string text = WithFrontMatter(yaml);
    const Article a = MustParse(text, "Asia/Shanghai");
    ASSERT_EQ(FormatMarkdown(a), text);
  }
}

TEST(EditorialTest, TranslationKeyRoundTrips) {
  for (const char* yaml : {"translationKey: \"launch\"\nlang: \"en\"\n",
                           "title: \"T\"\ntranslationKey: \"\"\n"}) {
    const std::string text = WithFrontMatter(yaml);
    const Article a = MustParse(text);
    EXPECT_FALSE(a.params().fields().contains("translationKey"));
    EXPECT_EQ(FormatMarkdown(a), text);
  }
  EXPECT_EQ(
      MustParse(WithFrontMatter("translationKey: launch\n")).translation_key(),
      "launch");
  EXPECT_EQ(
      MustParse(WithFrontMatter("translationKey: 42\n")).translation_key(),
      "42");
}

TEST(EditorialTest, EveryKeyInAnyOrderIsByteExact) {
  const std::string text = WithFrontMatter(
      "translationKey: \"launch\"\n"
      "expiryDate: \"2026-01-01 00:00:00\"\n"
      "title: \"Launch\"\n"
      "draft: true\n"
      "author: \"Ann\"\n"
      "publishDate: \"2025-12-24\"\n"
      "date: \"2025-12-20 09:30:00\"\n"
      "lang: \"en\"\n");
  const Article a = MustParse(text);
  EXPECT_EQ(a.state(), Article::DRAFT);
  EXPECT_EQ(a.translation_key(), "launch");
  EXPECT_TRUE(a.has_publish_time());
  EXPECT_TRUE(a.has_expiry_time());
  EXPECT_EQ(a.params().fields_size(), 1);
  EXPECT_EQ(FormatMarkdown(a), text);
}

TEST(EditorialTest, ArticlesFromTheApiUseCanonicalKeys) {
  Article a;
  a.set_title("T");
  a.add_widgets("search");
  (*a.mutable_params()->mutable_fields())["author"].set_string_value("Ann");
  a.set_translation_key("k");
  a.mutable_publish_time()->set_seconds(
      UnixSeconds(absl::CivilSecond(2025, 12, 24, 8, 0, 0)));
  a.mutable_expiry_time()->set_seconds(
      UnixSeconds(absl::CivilSecond(2026, 1, 1, 0, 0, 0)));
  const std::string tail =
      "publishDate: \"2025-12-24T08:00:00Z\"\n"
      "expiryDate: \"2026-01-01T00:00:00Z\"\n"
      "translationKey: \"k\"\n"
      "author: \"Ann\"\n"
      "---\n";
  const std::string head = "---\ntitle: \"T\"\nwidgets:\n  - \"search\"\n";
  a.set_state(Article::DRAFT);
  EXPECT_EQ(FormatMarkdown(a), absl::StrCat(head, "draft: true\n", tail));
  a.set_state(Article::ARCHIVED);
  EXPECT_EQ(FormatMarkdown(a),
            absl::StrCat(head, "state: \"archived\"\n", tail));
  a.set_state(Article::PUBLISHED);
  EXPECT_EQ(FormatMarkdown(a), absl::StrCat(head, "draft: false\n", tail));
  a.set_state(Article::STATE_UNSPECIFIED);
  EXPECT_EQ(FormatMarkdown(a), absl::StrCat(head, tail));
  // Every state comes back as it was: PUBLISHED left out read back as
  // unspecified, another content (a new revision when re-applied).
  for (auto state : {Article::DRAFT, Article::PUBLISHED, Article::ARCHIVED,
                     Article::STATE_UNSPECIFIED}) {
    a.set_state(state);
    const Article b = MustParse(FormatMarkdown(a));
    EXPECT_EQ(b.state(), state);
    EXPECT_EQ(FormatMarkdown(b), FormatMarkdown(a));
  }
}

TEST(EditorialTest, DraftKeyThatCannotSayTheStateBecomesState) {
  Article a = MustParse(WithFrontMatter("title: \"T\"\ndraft: true\nx: 1\n"));
  a.set_state(Article::ARCHIVED);
  EXPECT_EQ(FormatMarkdown(a),
            WithFrontMatter("title: \"T\"\nstate: \"archived\"\nx: 1\n"));
  a.set_state(Article::PUBLISHED);
  EXPECT_EQ(FormatMarkdown(a),
            WithFrontMatter("title: \"T\"\ndraft: false\nx: 1\n"));
  a.set_state(Article::STATE_UNSPECIFIED);
  EXPECT_EQ(FormatMarkdown(a), WithFrontMatter("title: \"T\"\nx: 1\n"));

  // With a `state:` line too, ARCHIVED is written there once.
  Article b = MustParse(
      WithFrontMatter("draft: false\ntitle: \"T\"\nstate: published\n"));
  b.set_state(Article::ARCHIVED);
  const std::string text = FormatMarkdown(b);
  EXPECT_EQ(text, WithFrontMatter("title: \"T\"\nstate: \"archived\"\n"));
  EXPECT_EQ(MustParse(text).state(), Article::ARCHIVED);
}

// Before these keys were typed they were kept in params. Such a param is a
// param: it is written in `params:` and reads back there, the field unset
// (it was written at the top level, and came back in the field).
TEST(EditorialTest, EditorialKeysLeftInParamsStayParams) {
  Article a;
  a.set_title("T");
  auto* fields = a.mutable_params()->mutable_fields();
  (*fields)["draft"].set_bool_value(true);
  (*fields)["translationKey"].set_string_value("k");
  const std::string text = FormatMarkdown(a);
  EXPECT_EQ(
      text,
      "---\ntitle: \"T\"\nparams:\n  draft: true\n  translationKey: \"k\"\n"
      "---\n");
  Article b = MustParse(text);
  b.clear_style();
  EXPECT_TRUE(MessageDifferencer::Equals(a, b)) << Diff(a, b);

  // Beside typed values, both are written.
  a.set_state(Article::ARCHIVED);
  a.set_translation_key("typed");
  EXPECT_EQ(FormatMarkdown(a),
            "---\ntitle: \"T\"\nstate: \"archived\"\n"
            "translationKey: \"typed\"\nparams:\n  draft: true\n"
            "  translationKey: \"k\"\n---\n");
}

TEST(EditorialTest, RandomEditorialFieldsSurviveFormatAndParse) {
  std::mt19937 rng(4242);
  const FrontMatterStyle::DateLayout kLayouts[] = {
      FrontMatterStyle::DATE_LAYOUT_RFC3339,
      FrontMatterStyle::DATE_LAYOUT_DATETIME,
      FrontMatterStyle::DATE_LAYOUT_DATE,
      FrontMatterStyle::DATE_LAYOUT_LOCAL,
      FrontMatterStyle::DATE_LAYOUT_LOCAL_MINUTES,
      FrontMatterStyle::DATE_LAYOUT_DATETIME_MINUTES};
  for (int i = 0; i < 300; ++i) {
    Article a;
    a.set_title("T");
    std::vector<std::string> keys = {"title"};
    if (rng() % 2) {
      const Article::State state = static_cast<Article::State>(1 + rng() % 3);
      a.set_state(state);
      const bool draft_ok = state != Article::ARCHIVED;
      keys.push_back(draft_ok && rng() % 2 ? "draft" : "state");
    }
    // The date keys share one zone: all RFC 3339 (zone as written, "" for
    // Z), or all zoneless in the default zone.
    const bool rfc3339 = rng() % 3 == 0;
    for (int which = 0; which < 2; ++which) {
      if (rng() % 2) continue;
      auto* ts =
          which == 0 ? a.mutable_publish_time() : a.mutable_expiry_time();
      const auto layout = rfc3339 ? kLayouts[0] : kLayouts[1 + rng() % 5];
      absl::CivilSecond cs(2000 + rng() % 30, 1 + rng() % 12, 1 + rng() % 28,
                           rng() % 24, rng() % 60, rng() % 60);
      if (layout == FrontMatterStyle::DATE_LAYOUT_DATE) cs = absl::CivilDay(cs);
      if (layout == FrontMatterStyle::DATE_LAYOUT_LOCAL_MINUTES ||
          layout == FrontMatterStyle::DATE_LAYOUT_DATETIME_MINUTES) {
        cs = absl::CivilMinute(cs);
      }
      ts->set_seconds(UnixSeconds(cs));
      if (layout == FrontMatterStyle::DATE_LAYOUT_LOCAL && rng() % 2) {
        ts->set_nanos(static_cast<int32_t>(1 + rng() % 999999999));
      }
      a.mutable_style()->set_date_zone(rfc3339 ? "" : "UTC");
      if (which == 0) {
        a.mutable_style()->set_publish_date_layout(layout);
        keys.push_back("publishDate");
      } else {
        a.mutable_style()->set_expiry_date_layout(layout);
        keys.push_back("expiryDate");
      }
    }
    if (rng() % 2) {
      a.set_translation_key(rng() % 2 ? "launch" : "");
      keys.push_back("translationKey");
    }
    std::shuffle(keys.begin(), keys.end(), rng);
    for (const std::string& key : keys) a.mutable_style()->add_key_order(key);
    const std::string text = FormatMarkdown(a);
    absl::StatusOr<Article> b = ParseMarkdown(text);
    ASSERT_TRUE(b.ok()) << b.status() << "\n" << text;
    // Written as an article with no style would be, it reads back with
    // none.
    if (!b->has_style()) {
      a.clear_style();
      ASSERT_EQ(FormatMarkdown(a), text);
    }
    ASSERT_TRUE(MessageDifferencer::Equals(a, *b)) << text << Diff(a, *b);
    ASSERT_EQ(FormatMarkdown(*b), text);
  }
}

// ---- Style of the default layout --------------------------------------------

// Articles the API creates have no style. FormatMarkdown writes them in one
// layout; read back, that layout must give no style, or re-applying an
// export records a style the stored article lacks (a new revision).
std::vector<Article> ArticlesWithoutStyle() {
  std::vector<Article> articles;
  Article& plain = articles.emplace_back();
  plain.set_title("T");
  plain.set_body("\nBody.\n");
  Article& typed = articles.emplace_back();
  typed.set_title("標題");
  typed.set_state(Article::PUBLISHED);
  typed.set_summary("S");
  typed.mutable_date()->set_seconds(
      UnixSeconds(absl::CivilSecond(2025, 2, 8, 11, 34, 12)));
  typed.mutable_date()->set_nanos(250000000);
  typed.add_categories("news");
  typed.add_lang("zh-CN");
  typed.add_translations("en");
  typed.add_tags("ai");
  typed.add_tags("café");
  typed.set_menu("main");
  typed.set_comments(false);
  typed.set_toc(true);
  typed.set_sidebar("right");
  typed.add_widgets("recent");
  Article& editorial = articles.emplace_back();
  editorial.set_title("E");
  editorial.set_state(Article::DRAFT);
  editorial.mutable_date()->set_seconds(
      UnixSeconds(absl::CivilSecond(2025, 2, 8, 0, 0, 0)));
  editorial.mutable_publish_time()->set_seconds(
      UnixSeconds(absl::CivilSecond(2030, 1, 1, 8, 0, 0)));
  editorial.mutable_expiry_time()->set_seconds(
      UnixSeconds(absl::CivilSecond(2031, 1, 1, 0, 0, 0)));
  editorial.set_translation_key("launch");
  Article& archived = articles.emplace_back();
  archived.set_title("A");
  archived.set_state(Article::ARCHIVED);
  archived.mutable_publish_time()->set_seconds(
      UnixSeconds(absl::CivilSecond(2024, 1, 1, 0, 0, 0)));
  Article& params = articles.emplace_back();
  params.set_title("P");
  auto& fields = *params.mutable_params()->mutable_fields();
  fields["weight"].set_number_value(10);
  fields["flag"].set_bool_value(true);
  fields["nothing"].set_null_value(google::protobuf::NULL_VALUE);
  fields["order"].set_string_value("12345678901234567890");
  fields["title"].set_string_value("a param named title");
  fields["id"].set_string_value("p");
  fields["sidebar"].set_string_value("left");
  auto& menu = *fields["menu"].mutable_struct_value()->mutable_fields();
  (*menu["main"].mutable_struct_value()->mutable_fields())["weight"]
      .set_number_value(2);
  (*menu["main"].mutable_struct_value()->mutable_fields())["parent"]
      .set_string_value("docs");
  (*fields["params"].mutable_struct_value()->mutable_fields())["z"]
      .set_number_value(1);
  fields["people"].mutable_list_value()->add_values()->set_string_value("ann");
  return articles;
}

TEST(DefaultStyleTest, ArticlesWithoutStyleReadBackWithout) {
  for (const Article& a : ArticlesWithoutStyle()) {
    const std::string text = FormatMarkdown(a);
    SCOPED_TRACE(text);
    const Article b = MustParse(text);
    EXPECT_FALSE(b.has_style()) << b.style().DebugString();
    EXPECT_EQ(Diff(a, b), "");
    EXPECT_EQ(FormatMarkdown(b), text);
  }
}

TEST(DefaultStyleTest, HandWrittenFileInTheDefaultLayoutHasNoStyle) {
  const std::string text = WithFrontMatter(
      "title: \"T\"\n"
      "date: \"2025-02-08T11:34:12Z\"\n"
      "tags:\n  - \"a\"\n  - \"b\"\n"
      "author: \"Ann\"\n");
  const Article a = MustParse(text);
  EXPECT_FALSE(a.has_style()) << a.style().DebugString();
  EXPECT_EQ(FormatMarkdown(a), text);
}

// Anything written otherwise keeps the whole style, the parts that match
// the default layout too: the fields depend on each other.
TEST(DefaultStyleTest, AnyOtherLayoutKeepsTheWholeStyle) {
  const std::string key_order = WithFrontMatter(
      "date: \"2025-02-08T11:34:12Z\"\n"
      "title: \"T\"\n");
  Article a = MustParse(key_order);
  EXPECT_THAT(a.style().key_order(), ElementsAre("date", "title"));
  EXPECT_EQ(a.style().date_layout(), FrontMatterStyle::DATE_LAYOUT_RFC3339);
  EXPECT_EQ(FormatMarkdown(a), key_order);

  const std::string date_layout = WithFrontMatter(
      "title: \"T\"\n"
      "date: \"2025-02-08 11:34:12\"\n");
  a = MustParse(date_layout);
  EXPECT_THAT(a.style().key_order(), ElementsAre("title", "date"));
  EXPECT_EQ(a.style().date_layout(), FrontMatterStyle::DATE_LAYOUT_DATETIME);
  EXPECT_EQ(a.style().date_zone(), "UTC");
  EXPECT_EQ(FormatMarkdown(a), date_layout);

  const std::string offset = WithFrontMatter(
      "title: \"T\"\n"
      "date: \"2025-02-08T19:34:12+08:00\"\n");
  a = MustParse(offset);
  EXPECT_EQ(a.style().date_zone(), "+08:00");
  EXPECT_EQ(FormatMarkdown(a), offset);

  const std::string scalar = WithFrontMatter(
      "title: \"T\"\n"
      "tags: \"a\"\n");
  a = MustParse(scalar);
  EXPECT_THAT(a.style().scalar_keys(), ElementsAre("tags"));
  EXPECT_THAT(a.style().key_order(), ElementsAre("title", "tags"));
  EXPECT_EQ(FormatMarkdown(a), scalar);

  const std::string unsorted = WithFrontMatter(
      "title: \"T\"\n"
      "m:\n  b: 1\n  a: 2\n");
  a = MustParse(unsorted);
  EXPECT_EQ(a.style().params_key_order_size(), 1);
  EXPECT_EQ(FormatMarkdown(a), unsorted);

  // A document with no front matter keys has no style either way.
  EXPECT_FALSE(MustParse("---\n---\nBody.\n").has_style());
  EXPECT_FALSE(MustParse("Body.\n").has_style());
}

// ---- Document structure
// -------------------------------------------------------

TEST(DocumentTest, NoFrontMatterIsAllBody) {
  for (const std::string text :
       {"# Hello\n\nText.\n", "", "--- \ntitle: x\n---\n", "----\n",
        "\n---\ntitle: x\n---\n", "text\n---\n"}) {
    const Article a = MustParse(text);
    EXPECT_EQ(a.body(), text);
    EXPECT_EQ(a.title(), "");
    EXPECT_TRUE(a.style().key_order().empty());
  }
}

TEST(DocumentTest, EmptyFrontMatter) {
  for (const std::string yaml : {"", "# just a comment\n", "\n\n"}) {
    const Article a = MustParse(absl::StrCat("---\n", yaml, "---\nBody"));
    EXPECT_EQ(a.body(), "Body");
    EXPECT_TRUE(a.style().key_order().empty());
  }
  EXPECT_EQ(FormatMarkdown(MustParse("---\n---\nBody")), "---\n---\nBody");
}

TEST(DocumentTest, CrlfDelimiters) {
  const Article a = MustParse(
      "---\r\ntitle: \"x\"\r\ntags:\r\n  - \"a\"\r\n---\r\n\r\nbody\r\n");
  EXPECT_EQ(a.title(), "x");
  EXPECT_THAT(a.tags(), ElementsAre("a"));
  // The body's line ends are read as \n: a file saved by a Windows editor
  // is the article its LF twin is. A \r inside a line is kept; every one
  // that ends a line goes (\r\r\n: a file converted twice), so what is
  // read has no \r\n left to read another way (markdown_fuzz's round trip
  // found "\r\r\n" read as "\r\n", then as "\n").
  EXPECT_EQ(a.body(), "\nbody\n");
  const Article twice = MustParse("---\r\ntitle: x\r\n---\r\na\r\nb\rc\r\r\n");
  EXPECT_EQ(twice.body(), "a\nb\rc\n");
  EXPECT_EQ(MustParse(FormatMarkdown(twice)).body(), twice.body());
  EXPECT_EQ(MustParse("x\r\r\r\ny\r").body(), "x\ny\r");
  EXPECT_EQ(MustParse("no front matter\r\n").body(), "no front matter\n");
}

TEST(DocumentTest, BodyIsKeptByteForByte) {
  const std::string body =
      "\n  indented  \n---\nnot: front matter\n---\n\ttab\n\n\nno newline";
  const std::string text = WithFrontMatter("title: \"T\"\n", body);
  const Article a = MustParse(text);
  EXPECT_EQ(a.body(), body);
  EXPECT_EQ(FormatMarkdown(a), text);
}

TEST(DocumentTest, ClosingDelimiterAtEndOfInput) {
  const Article a = MustParse("---\ntitle: \"T\"\n---");
  EXPECT_EQ(a.title(), "T");
  EXPECT_EQ(a.body(), "");
}

TEST(DocumentTest, ByteOrderMarkBeforeFrontMatter) {
  const Article a = MustParse("\xEF\xBB\xBF---\ntitle: \"T\"\n---\nB");
  EXPECT_EQ(a.title(), "T");
  EXPECT_EQ(a.body(), "B");
}

// ---- Errors
// -------------------------------------------------------------------

TEST(ErrorTest, InvalidYamlNamesLineAndColumn) {
  ExpectError("---\ntitle: \"x\"\nsummary: a: b\n---\n",
              "front matter: invalid YAML at line 3, column 11: ");
  ExpectError("---\ntitle: \"x\"\n\tsummary: y\n---\n",
              "front matter: invalid YAML at line 3, column 2: ");
  ExpectError("---\ntags: [a, b\n---\n", "front matter: invalid YAML at line ");
}

TEST(ErrorTest, FrontMatterMustBeAMapping) {
  for (const std::string yaml : {"- a\n- b\n", "just text\n", "\"quoted\"\n"}) {
    ExpectError(WithFrontMatter(yaml),
                "front matter: must be a mapping of keys to values");
  }
}

TEST(ErrorTest, UnterminatedFrontMatter) {
  for (const std::string text :
       {"---\ntitle: \"x\"\n", "---\n", "---", "---\r\ntitle: x\r\n",
        "---\ntitle: x\n--- \nbody\n"}) {
    ExpectError(text, "front matter: no closing \"---\" line");
  }
}

TEST(ErrorTest, WrongValueTypesNameTheKey) {
  struct Case {
    std::string yaml;
    std::string message;
  };
  const Case cases[] = {
      {"tags: {a: 1}\n",
       "front matter key \"tags\": must be a list of strings"},
      {"tags:\n  - [a]\n",
       "front matter key \"tags\": must be a list of strings"},
      {"tags: [a, ~]\n",
       "front matter key \"tags\": must be a list of strings"},
      {"categories:\n  - x: y\n",
       "front matter key \"categories\": must be a list of strings"},
      {"lang: {zh: CN}\n",
       "front matter key \"lang\": must be a list of strings"},
      {"widgets: [[search]]\n",
       "front matter key \"widgets\": must be a list of strings"},
      {"title: [a]\n", "front matter key \"title\": must be a string"},
      {"summary: {a: b}\n", "front matter key \"summary\": must be a string"},
      {"comments: yes\n",
       "front matter key \"comments\": must be true or false"},
      {"authorbox: \"true\"\n",
       "front matter key \"authorbox\": must be true or false"},
      {"pager: 1\n", "front matter key \"pager\": must be true or false"},
      {"toc: [true]\n", "front matter key \"toc\": must be true or false"},
      {"mathjax: maybe\n",
       "front matter key \"mathjax\": must be true or false"},
      {"id: [a]\n", "front matter key \"id\": must be a string"},
      {"id:\n", "front matter key \"id\": must be a string"},
      {"title: \"a\"\ntitle: \"b\"\n",
       "front matter key \"title\": appears more than once"},
      {"seo:\n  a: 1\n  a: 2\n",
       "front matter key \"a\": appears more than once"},
      {"? [a, b]\n: c\n", "front matter: keys must be strings"},
      {"title: \"x\"\n...\nsummary: \"y\"\n",
       "front matter: must be a single YAML document"},
      // yaml-cpp's LoadAll never returns on this one.
      {",title: \"x\"\n", "front matter: "},
      // yaml-cpp 0.7 reads an unclosed quote to the end of the front matter.
      {"title: \"x\ndate: 2020-01-01\n",
       "front matter: invalid YAML at line 2, column 8: the double-quoted "
       "string opened here has no closing \""},
      {"title: 'x\ndate: 2020-01-01\n",
       "front matter: invalid YAML at line 2, column 8: the single-quoted "
       "string opened here has no closing '"},
      {"title: \"ok\"\nseo:\n  description: \"b\\\"\n  keywords: x\n",
       "front matter: invalid YAML at line 4, column 16: the double-quoted"},
      {"title: !!str 'it''s\n", "single-quoted string opened here"},
      // A comment between a tag and its scalar.
      {"title: !!str # note\n  \"Hello\ndate: 2020-01-01\n",
       "double-quoted string opened here"},
      {"title: &t # note\n  'Hello\ndate: 2020-01-01\n",
       "single-quoted string opened here"},
  };
  for (const Case& c : cases) ExpectError(WithFrontMatter(c.yaml), c.message);
}

TEST(ParseTest, ClosedQuotesAcrossLinesAndEscapesStillParse) {
  absl::StatusOr<Article> article = ParseMarkdown(WithFrontMatter(
      "title: \"say \\\"hi\\\" and\n  go on\"\nsummary: 'it''s'\n"
      "tags: [\"a\\\\\", 'b']\n"));
  ASSERT_TRUE(article.ok()) << article.status();
  EXPECT_EQ(article->title(), "say \"hi\" and go on");
  EXPECT_EQ(article->summary(), "it's");
  ASSERT_EQ(article->tags_size(), 2);
  EXPECT_EQ(article->tags(0), "a\\");
  EXPECT_EQ(article->tags(1), "b");
}

TEST(ErrorTest, InvalidUtf8NamesTheOffset) {
  struct Case {
    std::string text;
    int offset;
  };
  const Case cases[] = {
      {"\x80", 0},                                 // lone continuation byte
      {"ab\xC0\x80", 2},                           // overlong NUL
      {"ab\xC1\xBF", 2},                           // overlong
      {"\xE0\x80\xAF", 0},                         // overlong 3-byte
      {"\xF0\x80\x80\xAF", 0},                     // overlong 4-byte
      {"x\xED\xA0\x80", 1},                        // surrogate U+D800
      {"x\xED\xBF\xBF", 1},                        // surrogate U+DFFF
      {"\xF4\x90\x80\x80", 0},                     // past U+10FFFF
      {"\xF5\x80\x80\x80", 0},                     // invalid lead byte
      {"\xFF", 0},                                 //
      {"中\xE4\xB8", 3},                           // truncated at the end
      {"中\xE4\x41\x41", 3},                       // bad continuation
      {"---\ntitle: \"\xC3\"\n---\n", 12},         // in the front matter
      {"---\ntitle: \"ok\"\n---\nbody \xFE", 25},  // in the body
  };
  for (const Case& c : cases) {
    ExpectError(c.text,
                absl::StrCat("document is not valid UTF-8 (byte offset ",
                             c.offset, ")"));
  }
  // Boundary code points that are valid.
  const Article a = MustParse(WithFrontMatter(
      "title: \"\xED\x9F\xBF\xEE\x80\x80\xF4\x8F\xBF\xBF\xF0\x90\x80\x80\xC2"
      "\x80\"\n"));
  EXPECT_EQ(a.title(),
            "\xED\x9F\xBF\xEE\x80\x80\xF4\x8F\xBF\xBF\xF0\x90\x80\x80\xC2\x80");
}

TEST(ErrorTest, YamlEscapeGivingInvalidUtf8IsRejected) {
  // yaml-cpp decodes "\_" (no-break space) to the single byte 0xA0.
  ExpectError(WithFrontMatter("title: \"a\\_b\"\n"),
              "front matter key \"title\": a YAML escape");
}

TEST(ErrorTest, AliasCycleIsRejected) {
  ExpectError(WithFrontMatter("loop: &x [*x]\n"),
              "front matter key \"loop\": is nested more than");
}

TEST(ErrorTest, DeepNestingIsRejected) {
  const std::string deep = absl::StrCat("deep: ", std::string(100, '['),
                                        std::string(100, ']'), "\n");
  ExpectError(WithFrontMatter(deep), "front matter key \"deep\": is nested");
}

// Params as deep as the reader takes fit every message that carries an
// article, in protobuf and in JSON; one level more is refused naming the key
// (sent, the server could only say the request "cannot be parsed", or -o
// json could not print it).
TEST(ErrorTest, ParamsNestingStopsWhereProtobufAndJsonDo) {
  for (const auto& [open, close] :
       {std::pair{"[", "]"}, std::pair{"{a: ", "}"}}) {
    SCOPED_TRACE(open);
    auto nested = [&, open = open, close = close](int n) {
      std::string yaml = "deep: ";
      for (int i = 0; i < n; ++i) yaml += open;
      yaml += "1";
      for (int i = 0; i < n; ++i) yaml += close;
      return WithFrontMatter("title: t\n" + yaml + "\n");
    };
    absl::StatusOr<Article> a = ParseMarkdown(nested(30));
    ASSERT_TRUE(a.ok()) << a.status();
    // The deepest carrier: results, article, params, entry, value.
    v1::BatchGetArticlesResponse batch;
    *batch.add_results()->mutable_article() = *a;
    v1::BatchGetArticlesResponse back;
    EXPECT_TRUE(back.ParseFromString(batch.SerializeAsString()));
    std::string json;
    EXPECT_TRUE(google::protobuf::util::MessageToJsonString(batch, &json).ok());
    ExpectError(nested(31),
                "front matter key \"deep\": is nested more than 30");
    // One level more would not print as JSON: the limit is no lower than
    // it need be.
    Value* v = &(*batch.mutable_results(0)
                      ->mutable_article()
                      ->mutable_params()
                      ->mutable_fields())["deep"];
    Value inner = *v;
    v->mutable_list_value()->add_values()->Swap(&inner);
    EXPECT_FALSE(
        google::protobuf::util::MessageToJsonString(batch, &json).ok());
  }
}

TEST(ErrorTest, AliasBombIsRejected) {
  std::string yaml = "a: &a [x, x, x, x, x, x, x, x, x, x]\n";
  for (char c = 'b'; c <= 'g'; ++c) {
    absl::StrAppend(&yaml, std::string(1, c), ": &", std::string(1, c), " [");
    for (int i = 0; i < 10; ++i) {
      absl::StrAppend(&yaml, i ? ", " : "", "*", std::string(1, c - 1));
    }
    absl::StrAppend(&yaml, "]\n");
  }
  ExpectError(WithFrontMatter(yaml), "holds more than 100000 values");
}

// Mutated documents must come back as a status, never as an exception.
TEST(ErrorTest, NeverThrowsOnMutatedInput) {
  const std::string seed = ReadFile(std::filesystem::path(SourceDir()) /
                                    "samples" / "fed-rate-pause.md");
  ASSERT_FALSE(seed.empty());
  const std::string kNoise = ":-[]{}\"'\\\n\t #&*!|>%@`?,~";
  std::mt19937 rng(20250208);
  int failures = 0;
  for (int i = 0; i < 2000; ++i) {
    std::string text = seed.substr(0, 900);  // mostly front matter
    const int edits = 1 + rng() % 4;
    for (int e = 0; e < edits; ++e) {
      const size_t pos = 4 + rng() % (text.size() - 4);
      if (rng() % 8 == 0) {
        text[pos] = static_cast<char>(rng() % 256);
      } else {
        text[pos] = kNoise[rng() % kNoise.size()];
      }
    }
    absl::StatusOr<Article> a;
    EXPECT_NO_THROW(a = ParseMarkdown(text)) << text;
    if (!a.ok()) {
      ++failures;
      EXPECT_EQ(a.status().code(), absl::StatusCode::kInvalidArgument);
    }
  }
  EXPECT_GT(failures, 0);
}

// ---- Round trips
// --------------------------------------------------------------

// Shaped exactly like the articles we import (see the design notes).
constexpr char kNewsArticle[] = R"md(---
title: "城市更新提速：老旧小区改造带动家装与建材需求回暖"
date: "2025-03-12 08:41:27"
summary: "多地公布年度老旧小区改造计划，业内人士预计，相关家装、建材与社区服务需求将在二季度集中释放..."
categories:
  - "qq"
lang:
  - "zh-CN"
translations:
  - "zh-CN"
tags:
  - "qq"
menu: ""
thumbnail: "https://images.example.com/om/2025/03/renewal_640360/0"
lead: ""
comments: false
authorbox: false
pager: true
toc: false
mathjax: false
sidebar: "right"
widgets:
  - "search"
  - "recent"
  - "taglist"
---

记者：林晓

开春以来，多个城市陆续发布年度老旧小区改造清单。一位长期跟踪建材行业的分析师说：“改造项目从规划到开工的周期明显缩短了。”

从已公布的计划看，加装电梯、管网更新与外墙保温是最常见的改造内容，部分城市还把社区养老和托育设施一并纳入。

![图片](https://images.example.com/om/2025/03/renewal-site/641)图片来源：示例图库

需求回暖的信号已经出现在企业端。多家建材企业表示，三月以来的订单环比有所增长，“但价格竞争依然激烈”。
)md";

TEST(RoundTripTest, NewsArticleShapeIsByteExact) {
  const Article a = MustParse(kNewsArticle);
  EXPECT_EQ(a.title(), "城市更新提速：老旧小区改造带动家装与建材需求回暖");
  EXPECT_THAT(a.widgets(), ElementsAre("search", "recent", "taglist"));
  EXPECT_TRUE(a.has_pager() && a.pager());
  EXPECT_EQ(a.style().key_order_size(), 17);
  EXPECT_EQ(FormatMarkdown(a), kNewsArticle);
}

TEST(RoundTripTest, SamplesAreByteExact) {
  const std::filesystem::path dir =
      std::filesystem::path(SourceDir()) / "samples";
  ASSERT_TRUE(std::filesystem::is_directory(dir)) << dir;
  int files = 0, zh = 0, en = 0, lang_scalar = 0, with_params = 0;
  std::set<int> layouts;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    if (entry.path().extension() != ".md") continue;
    SCOPED_TRACE(entry.path().string());
    ++files;
    const std::string text = ReadFile(entry.path());
    const Article a = MustParse(text, "Asia/Shanghai");
    EXPECT_FALSE(a.title().empty());
    EXPECT_TRUE(a.has_date());
    EXPECT_EQ(FormatMarkdown(a), text);
    ASSERT_EQ(a.lang_size(), 1);
    zh += a.lang(0) == "zh-CN";
    en += a.lang(0) == "en";
    lang_scalar += a.style().lang_scalar();
    with_params += a.params().fields_size() > 0;
    layouts.insert(a.style().date_layout());
  }
  EXPECT_GE(files, 6);
  EXPECT_GE(zh, 3);
  EXPECT_GE(en, 3);
  EXPECT_GE(lang_scalar, 1);
  EXPECT_GE(with_params, 1);
  EXPECT_EQ(layouts.size(), 3u);
}

// Builds random articles of the kind ParseMarkdown produces: style consistent
// with the fields, key_order naming every key that will be written.
class ArticleGenerator {
 public:
  explicit ArticleGenerator(uint32_t seed) : rng_(seed) {}

  Article Next() {
    Article a;
    std::vector<std::string> keys;
    auto maybe = [&](int percent) { return Uniform(100) < percent; };
    for (const char* key :
         {"title", "summary", "menu", "thumbnail", "lead", "sidebar"}) {
      if (!maybe(60)) continue;
      const std::string s = String();
      SetString(&a, key, s);
      if (!s.empty() || maybe(50)) keys.push_back(key);
    }
    for (const char* key :
         {"categories", "lang", "translations", "tags", "widgets"}) {
      if (!maybe(60)) continue;
      const int n = Uniform(4);
      for (int i = 0; i < n; ++i) AddString(&a, key, String());
      if (n > 0 || maybe(50)) keys.push_back(key);
    }
    if (a.lang_size() == 1 && maybe(50))
      a.mutable_style()->set_lang_scalar(true);
    // A theme's string field may hold a boolean, number or null, kept in
    // params under its key; so may an article from the API hold a string
    // there.
    for (const char* key : {"menu", "thumbnail", "lead", "sidebar"}) {
      if (!GetString(a, key).empty() || !maybe(15)) continue;
      (*a.mutable_params()->mutable_fields())[key] = RandomValue(3);
      if (std::find(keys.begin(), keys.end(), key) == keys.end())
        keys.push_back(key);
    }
    for (const char* key :
         {"comments", "authorbox", "pager", "toc", "mathjax"}) {
      if (!maybe(50)) continue;
      SetBool(&a, key, maybe(50));
      keys.push_back(key);
    }
    // The API may put a param under any key the reader maps to a field,
    // beside the field or not: it is written in the `params:` mapping,
    // whose keys the style lists, in order, under the empty path.
    std::vector<std::string> nested;
    for (const char* key :
         {"title",       "date",         "summary",        "categories",
          "lang",        "translations", "tags",           "menu",
          "thumbnail",   "lead",         "comments",       "authorbox",
          "pager",       "toc",          "mathjax",        "sidebar",
          "widgets",     "id",           "state",          "draft",
          "publishDate", "expiryDate",   "translationKey", "params"}) {
      if (!maybe(8) || a.params().fields().count(key) > 0) continue;
      (*a.mutable_params()->mutable_fields())[key] = RandomValue(2);
      nested.push_back(key);
    }
    if (!nested.empty()) {
      std::shuffle(nested.begin(), nested.end(), rng_);
      FrontMatterStyle::KeyOrder* order =
          a.mutable_style()->add_params_key_order();
      for (const std::string& key : nested) order->add_keys(key);
      keys.push_back("params");
    }
    if (maybe(70)) {
      SetDate(&a);
      keys.push_back("date");
    }
    if (maybe(30)) {
      a.set_name(absl::StrCat("articles/", String()));
      keys.push_back("id");
    }
    const int params = Uniform(4);
    for (int i = 0; i < params; ++i) {
      const std::string key = absl::StrCat("p", i, String());
      (*a.mutable_params()->mutable_fields())[key] = RandomValue(0);
      keys.push_back(key);
    }
    std::shuffle(keys.begin(), keys.end(), rng_);
    for (const std::string& key : keys) a.mutable_style()->add_key_order(key);
    // One-entry lists written as scalars, recorded in document order.
    for (const std::string& key : keys) {
      const auto* field = Field(key.c_str());
      if (key != "lang" && field != nullptr && field->is_repeated() &&
          a.GetReflection()->FieldSize(a, field) == 1 && maybe(40)) {
        a.mutable_style()->add_scalar_keys(key);
      }
    }
    // As the reader gives bodies: no \r before a \n (DocumentTest.
    // CrlfDelimiters), so a body with one would not come back the same.
    std::string body = maybe(50)
                           ? absl::StrCat("\n", String(), "\n---\n", String())
                           : String();
    while (absl::StrContains(body, "\r\n")) {
      absl::StrReplaceAll({{"\r\n", "\n"}}, &body);
    }
    a.set_body(body);
    return a;
  }

 private:
  int Uniform(int n) { return static_cast<int>(rng_() % n); }

  std::string String() {
    static const char* const kPieces[] = {
        "a",      "Z",      "0",      "9",    " ",     "  ",   "\"",
        "\\",     "\n",     "\r\n",   "\t",   ":",     ": ",   "#",
        " #",     "-",      "- ",     "---",  "'",     "{",    "}",
        "[",      "]",      ",",      "&",    "*",     "!",    "|",
        ">",      "%",      "@",      "`",    "?",     "中",   "文",
        "金融",   "😀",      "é",      "\x01", "\x7f",  "\x1b", "\u0085",
        "\u2028", "\uFEFF", "\uFFFE", "true", "false", "null", "~",
        "123",    "-1.5",   "1e3",    "0x1F", "yes",   ".inf", "...",
        "%YAML",  "<<"};
    static const char* const kWhole[] = {"true",   "null", "123", "",  " lead",
                                         "trail ", "~",    "1.0", "-", "no"};
    if (Uniform(10) == 0) return kWhole[Uniform(std::size(kWhole))];
    std::string s;
    const int n = Uniform(10);
    for (int i = 0; i < n; ++i) s += kPieces[Uniform(std::size(kPieces))];
    return s;
  }

  Value RandomValue(int depth) {
    Value v;
    switch (Uniform(depth < 3 ? 7 : 5)) {
      case 0:
        v.set_null_value(google::protobuf::NULL_VALUE);
        break;
      case 1:
        v.set_bool_value(Uniform(2));
        break;
      case 2:
        v.set_string_value(String());
        break;
      case 3:
        v.set_number_value(static_cast<int64_t>(rng_()) - (1LL << 31));
        break;
      case 4:
        v.set_number_value(
            std::ldexp(static_cast<double>(rng_()) - 2e9, Uniform(120) - 60));
        break;
      case 5: {
        auto* fields = v.mutable_struct_value()->mutable_fields();
        const int n = Uniform(4);
        for (int i = 0; i < n; ++i)
          (*fields)[String()] = RandomValue(depth + 1);
        break;
      }
      default: {
        auto* list = v.mutable_list_value();
        const int n = Uniform(4);
        for (int i = 0; i < n; ++i)
          *list->add_values() = RandomValue(depth + 1);
      }
    }
    return v;
  }

  void SetDate(Article* a) {
    static const char* const kOffsets[] = {"", "+08:00", "-05:30", "+00:00"};
    static const char* const kZones[] = {"UTC", "Asia/Shanghai",
                                         "America/New_York"};
    FrontMatterStyle* style = a->mutable_style();
    const absl::CivilSecond civil(1995 + Uniform(40), 1 + Uniform(12),
                                  1 + Uniform(28), Uniform(24), Uniform(60),
                                  Uniform(60));
    switch (Uniform(3)) {
      case 0: {
        style->set_date_layout(FrontMatterStyle::DATE_LAYOUT_RFC3339);
        style->set_date_zone(kOffsets[Uniform(4)]);
        a->mutable_date()->set_seconds(UnixSeconds(civil));
        if (Uniform(2)) a->mutable_date()->set_nanos(Uniform(1000000000));
        break;
      }
      case 1:
        style->set_date_layout(FrontMatterStyle::DATE_LAYOUT_DATETIME);
        style->set_date_zone(kZones[Uniform(3)]);
        a->mutable_date()->set_seconds(UnixSeconds(civil, style->date_zone()));
        break;
      default:
        style->set_date_layout(FrontMatterStyle::DATE_LAYOUT_DATE);
        style->set_date_zone(kZones[Uniform(3)]);
        a->mutable_date()->set_seconds(
            UnixSeconds(absl::CivilDay(civil), style->date_zone()));
    }
  }

  static const google::protobuf::FieldDescriptor* Field(const char* name) {
    return Article::descriptor()->FindFieldByName(name);
  }
  static std::string GetString(const Article& a, const char* key) {
    return a.GetReflection()->GetString(a, Field(key));
  }
  static void SetString(Article* a, const char* key, const std::string& s) {
    a->GetReflection()->SetString(a, Field(key), s);
  }
  static void AddString(Article* a, const char* key, const std::string& s) {
    a->GetReflection()->AddString(a, Field(key), s);
  }
  static void SetBool(Article* a, const char* key, bool b) {
    a->GetReflection()->SetBool(a, Field(key), b);
  }

  std::mt19937 rng_;
};

std::string ZoneToParseWith(const Article& a) {
  const auto layout = a.style().date_layout();
  return layout == FrontMatterStyle::DATE_LAYOUT_DATE ||
                 layout == FrontMatterStyle::DATE_LAYOUT_DATETIME
             ? a.style().date_zone()
             : "UTC";
}

TEST(RoundTripTest, RandomArticlesSurviveFormatAndParse) {
  if (!HaveZone("Asia/Shanghai") || !HaveZone("America/New_York")) {
    GTEST_SKIP() << "no tzdata";
  }
  ArticleGenerator generator(12345);
  for (int i = 0; i < 500; ++i) {
    const Article a = generator.Next();
    const std::string text = FormatMarkdown(a);
    MarkdownOptions options;
    options.default_zone = ZoneToParseWith(a);
    absl::StatusOr<Article> b = ParseMarkdown(text, options);
    ASSERT_TRUE(b.ok()) << b.status() << "\n" << text;
    ASSERT_TRUE(MessageDifferencer::Equals(a, *b)) << "iteration " << i << "\n"
                                                   << text << "\n"
                                                   << Diff(a, *b);
    ASSERT_EQ(FormatMarkdown(*b), text);
  }
}

// Articles from the API need not be consistent with their style (stray
// key_order entries, a lang_scalar flag on two languages, server fields).
// Their content survives, and one round trip reaches a fixed point.
TEST(RoundTripTest, InconsistentArticlesReachAFixedPoint) {
  ArticleGenerator generator(777);
  std::mt19937 rng(99);
  for (int i = 0; i < 300; ++i) {
    Article a = generator.Next();
    FrontMatterStyle* style = a.mutable_style();
    if (rng() % 2) style->clear_key_order();
    // As from the API: nothing says which params were in `params:`.
    if (rng() % 2) style->clear_params_key_order();
    if (rng() % 3 == 0) style->add_key_order("not-a-key");
    if (rng() % 3 == 0) style->add_key_order("toc");
    if (rng() % 3 == 0) style->set_lang_scalar(true);
    if (rng() % 4 == 0) {
      style->set_date_layout(FrontMatterStyle::DATE_LAYOUT_UNSPECIFIED);
    }
    a.set_revision(3);
    a.set_etag("e");
    a.mutable_update_time()->set_seconds(5);
    const std::string text = FormatMarkdown(a);
    MarkdownOptions options;
    options.default_zone = ZoneToParseWith(a);
    absl::StatusOr<Article> b = ParseMarkdown(text, options);
    ASSERT_TRUE(b.ok()) << b.status() << "\n" << text;

    Article expected = a;
    expected.clear_style();
    expected.clear_revision();
    expected.clear_etag();
    expected.clear_update_time();
    if (std::find(a.style().key_order().begin(), a.style().key_order().end(),
                  "id") == a.style().key_order().end()) {
      expected.clear_name();
    }
    Article got = *b;
    got.clear_style();
    ASSERT_TRUE(MessageDifferencer::Equals(expected, got))
        << text << "\n"
        << Diff(expected, got);

    absl::StatusOr<Article> c = ParseMarkdown(FormatMarkdown(*b), options);
    ASSERT_TRUE(c.ok()) << c.status();
    ASSERT_TRUE(MessageDifferencer::Equals(*b, *c)) << Diff(*b, *c);
    ASSERT_EQ(FormatMarkdown(*b), text);
  }
}

}  // namespace
}  // namespace content
