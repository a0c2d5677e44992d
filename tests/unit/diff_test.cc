// Tests for the revision diff (server/editorial/diff.h).

#include "server/editorial/diff.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "content/markdown.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "gtest/gtest.h"

namespace content::editorial {
namespace {

using ::content::v1::Article;
using ::content::v1::DiffArticleRevisionsResponse;
using ::content::v1::FieldChange;
using ::testing::ElementsAre;

// The repository's own sample: Chinese news with front matter.
std::filesystem::path Sample() {
  return std::filesystem::path(CONTENT_SOURCE_DIR_DEFAULT) / "samples" /
         "deepseek-brokers.md";
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// "field: old -> new" per change, for readable failures.
std::vector<std::string> Changes(const DiffArticleRevisionsResponse& r) {
  std::vector<std::string> out;
  for (const FieldChange& c : r.field_changes()) {
    out.push_back(
        absl::StrCat(c.field(), ": ", c.old_value(), " -> ", c.new_value()));
  }
  return out;
}

constexpr char kOldParagraph[] =
    "成本是另一个被反复提及的因素。据多位从业者估算，同等效果下，新一代开源"
    "模型的推理开销比一年前低了不少，这让预算有限的中小机构第一次有了自建的"
    "底气。";
constexpr char kNewParagraph[] =
    "成本是另一个被反复提及的因素：同等效果下，开源模型的推理开销比一年前低"
    "了一半以上。";

TEST(DiffRevisionsTest, EditedSampleArticle) {
  const std::string text = ReadFile(Sample());
  ASSERT_FALSE(text.empty()) << "sample not readable: " << Sample();
  absl::StatusOr<Article> parsed = ParseMarkdown(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  Article from = *parsed;
  from.set_name("articles/deepseek-brokers");
  from.set_revision(1);
  Article to = from;
  to.set_revision(2);
  to.set_title("券商扎堆接入开源大模型");
  to.add_tags("llm");
  const std::string body = from.body();
  ASSERT_NE(body.find(kOldParagraph), std::string::npos);
  to.set_body(absl::StrReplaceAll(body, {{kOldParagraph, kNewParagraph}}));

  const DiffArticleRevisionsResponse r = DiffRevisions(from, to);
  EXPECT_EQ(r.name(), "articles/deepseek-brokers");
  EXPECT_EQ(r.from_revision(), 1);
  EXPECT_EQ(r.to_revision(), 2);
  EXPECT_FALSE(r.from_deleted());
  EXPECT_FALSE(r.to_deleted());
  EXPECT_THAT(Changes(r),
              ElementsAre("title: \"券商扎堆接入国产开源大模型，投研与客服成"
                          "首批落地场景\" -> \"券商扎堆接入开源大模型\"",
                          "tags: [\"ai\",\"finance\",\"brokers\"] -> "
                          "[\"ai\",\"finance\",\"brokers\",\"llm\"]"));
  // The body has 8 lines (a blank one first); the hunk has two lines of
  // context after the change, all there are.
  EXPECT_EQ(
      r.body_diff(),
      absl::StrCat(
          "--- articles/deepseek-brokers@1\n"
          "+++ articles/deepseek-brokers@2\n"
          "@@ -3,6 +3,6 @@\n"
          " \n"
          " 一位在华东某券商负责信息技术的人士介绍，此次部署主要面向三类需求："
          "研究报告的初稿整理、客服问答的自动回复，以及合规文档的预审。“过去我"
          "们也试过调用外部接口，但数据不能出机房，这是硬性要求。”他说。\n"
          " \n"
          "-",
          kOldParagraph,
          "\n"
          "+",
          kNewParagraph,
          "\n"
          " \n"
          " 不过，也有分析人士提醒，模型上线只是第一步。如何评估输出质量、如何"
          "在出错时追责，仍是行业需要共同回答的问题。\n"));
}

TEST(DiffRevisionsTest, EqualArticlesHaveNoChanges) {
  Article a;
  a.set_name("articles/x");
  a.set_title("T");
  a.set_body("one\ntwo\n");
  a.set_revision(3);
  Article b = a;
  b.set_revision(5);
  const DiffArticleRevisionsResponse r = DiffRevisions(a, b);
  EXPECT_EQ(r.field_changes_size(), 0);
  EXPECT_EQ(r.body_diff(), "");
  EXPECT_EQ(r.from_revision(), 3);
  EXPECT_EQ(r.to_revision(), 5);
}

TEST(DiffRevisionsTest, EveryKindOfFieldInFieldNumberOrder) {
  Article a;
  a.set_name("articles/x");
  a.set_title("T");
  a.add_lang("en");
  a.set_toc(false);
  (*a.mutable_params()->mutable_fields())["author"].set_string_value("Ann");
  (*a.mutable_params()->mutable_fields())["same"].set_number_value(1);
  a.mutable_style()->add_key_order("title");
  a.mutable_style()->set_date_zone("UTC");
  a.set_state(Article::DRAFT);
  a.set_revision(1);

  Article b = a;
  b.set_revision(2);
  b.mutable_date()->set_seconds(1739014452);  // 2025-02-08T11:34:12Z
  b.clear_lang();
  b.set_toc(true);
  b.set_comments(false);
  (*b.mutable_params()->mutable_fields())["author"].set_string_value(
      "Bo \"B\"");
  (*b.mutable_params()->mutable_fields())["extra"]
      .mutable_list_value()
      ->add_values()
      ->set_bool_value(true);
  b.mutable_style()->add_key_order("date");
  b.mutable_style()->set_date_layout(
      v1::FrontMatterStyle::DATE_LAYOUT_DATETIME);
  b.set_state(Article::PUBLISHED);
  b.mutable_publish_time()->set_seconds(1739014452);
  b.mutable_publish_time()->set_nanos(500000000);
  b.set_translation_key("launch");
  b.mutable_delete_time()->set_seconds(5);

  const DiffArticleRevisionsResponse r = DiffRevisions(a, b);
  EXPECT_FALSE(r.from_deleted());
  EXPECT_TRUE(r.to_deleted());
  EXPECT_THAT(
      Changes(r),
      ElementsAre("date:  -> \"2025-02-08T11:34:12Z\"", "lang: [\"en\"] -> ",
                  "comments:  -> false", "toc: false -> true",
                  "params.author: \"Ann\" -> \"Bo \\\"B\\\"\"",
                  "params.extra:  -> [true]",
                  "style.dateLayout:  -> \"DATE_LAYOUT_DATETIME\"",
                  "style.keyOrder: [\"title\"] -> [\"title\",\"date\"]",
                  "state: \"DRAFT\" -> \"PUBLISHED\"",
                  "publishDate:  -> \"2025-02-08T11:34:12.500Z\"",
                  "translationKey:  -> \"launch\""));
  EXPECT_EQ(r.body_diff(), "");
}

// A style field that holds messages (params_key_order) prints as JSON
// objects, like a map in params, not as JSON strings of escaped JSON.
TEST(DiffRevisionsTest, StyleMessagesPrintAsObjects) {
  Article a;
  a.set_title("T");
  v1::FrontMatterStyle::KeyOrder* order =
      a.mutable_style()->add_params_key_order();
  order->set_path("/menu/main");
  order->add_keys("weight");
  order->add_keys("name");
  Article b = a;
  b.mutable_style()->mutable_params_key_order(0)->add_keys("url");
  b.mutable_style()->add_big_integer_paths("/order");
  EXPECT_THAT(
      Changes(DiffRevisions(a, b)),
      ElementsAre(
          R"(style.paramsKeyOrder: [{"keys":["weight","name"],"path":"/menu/main"}])"
          R"( -> [{"keys":["weight","name","url"],"path":"/menu/main"}])",
          R"(style.bigIntegerPaths:  -> ["/order"])"));
}

// A Struct with keys k00..k(n-1), each set to its index, inserted in the
// given order; one entry holds a nested map built the same way.
google::protobuf::Struct Map(int n, bool reversed, int depth = 1) {
  google::protobuf::Struct s;
  for (int i = 0; i < n; ++i) {
    const int k = reversed ? n - 1 - i : i;
    google::protobuf::Value& v =
        (*s.mutable_fields())[absl::StrCat("k", k / 10, k % 10)];
    if (k == 1 && depth > 0) {
      *v.mutable_struct_value() = Map(n, reversed, depth - 1);
    } else {
      v.set_number_value(k);
    }
  }
  return s;
}

// The repository sample whose front matter has a nested `seo:` map: its
// entries come back from protobuf's map in an unspecified order, which
// differs between the two revisions' copies.
TEST(DiffRevisionsTest, NestedMapOfSampleIsNoChange) {
  const std::filesystem::path path =
      std::filesystem::path(CONTENT_SOURCE_DIR_DEFAULT) / "samples" /
      "fed-rate-pause.md";
  const std::string text = ReadFile(path);
  ASSERT_FALSE(text.empty()) << "sample not readable: " << path;
  absl::StatusOr<Article> parsed = ParseMarkdown(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->params().fields().count("seo"), 1);
  for (int i = 0; i < 20; ++i) {
    // Each revision parsed on its own, as the server reads each from disk.
    Article from = *ParseMarkdown(text);
    from.set_revision(1);
    Article to = *ParseMarkdown(text);
    to.set_revision(2);
    to.set_title("Changed title");
    EXPECT_THAT(Changes(DiffRevisions(from, to)),
                ElementsAre("title: \"Central bank holds rates steady, "
                            "signals patience on cuts\" -> \"Changed title\""));
    EXPECT_THAT(Changes(DiffRevisions(from, *ParseMarkdown(text))),
                ::testing::IsEmpty());
  }
}

TEST(DiffRevisionsTest, MapsInAnotherOrderAreEqual) {
  Article a;
  a.set_title("T");
  *(*a.mutable_params()->mutable_fields())["seo"].mutable_struct_value() =
      Map(26, false);
  Article b;
  b.set_title("T");
  *(*b.mutable_params()->mutable_fields())["seo"].mutable_struct_value() =
      Map(26, true);
  EXPECT_THAT(Changes(DiffRevisions(a, b)), ::testing::IsEmpty());
}

TEST(DiffRevisionsTest, MapValuesPrintWithKeysInByteOrder) {
  Article a;
  *(*a.mutable_params()->mutable_fields())["seo"].mutable_struct_value() =
      Map(8, true);
  Article b = a;
  (*(*b.mutable_params()->mutable_fields())["seo"]
        .mutable_struct_value()
        ->mutable_fields())["k07"]
      .set_bool_value(true);
  const std::string nested =
      R"({"k00":0,"k01":{"k00":0,"k01":1,"k02":2,"k03":3,"k04":4,"k05":5,)"
      R"("k06":6,"k07":7},"k02":2,"k03":3,"k04":4,"k05":5,"k06":6,)";
  EXPECT_THAT(Changes(DiffRevisions(a, b)),
              ElementsAre(absl::StrCat("params.seo: ", nested, R"("k07":7})",
                                       " -> ", nested, R"("k07":true})")));
}

struct UnifiedCase {
  std::string from, to, want;
};

// Expected texts are what GNU diff -u writes for the same input.
TEST(UnifiedDiffTest, MatchesDiffUtility) {
  const UnifiedCase cases[] = {
      {"a\nb\nc\n", "x\na\nb\nc\n", "@@ -1,3 +1,4 @@\n+x\n a\n b\n c\n"},
      {"a\nb\nc", "a\nb\nd",
       "@@ -1,3 +1,3 @@\n a\n b\n-c\n\\ No newline at end of file\n+d\n"
       "\\ No newline at end of file\n"},
      {"", "a\n", "@@ -0,0 +1 @@\n+a\n"},
      {"a\nb\n", "", "@@ -1,2 +0,0 @@\n-a\n-b\n"},
      {"1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n",
       "1\n4\n5\n6\n7\n8\n10\n11\n12\n",
       "@@ -1,12 +1,9 @@\n 1\n-2\n-3\n 4\n 5\n 6\n 7\n 8\n-9\n 10\n 11\n"
       " 12\n"},
      {"1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n15\n16\n",
       "1\n2\nX\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\nY\n16\n",
       "@@ -1,6 +1,6 @@\n 1\n 2\n-3\n+X\n 4\n 5\n 6\n"
       "@@ -12,5 +12,5 @@\n 12\n 13\n 14\n-15\n+Y\n 16\n"},
      {"1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n",
       "1\nX\n3\n4\n5\n6\n7\nY\n9\n10\n11\n12\n13\n14\n",
       "@@ -1,11 +1,11 @@\n 1\n-2\n+X\n 3\n 4\n 5\n 6\n 7\n-8\n+Y\n 9\n"
       " 10\n 11\n"},
      {"1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n",
       "1\nX\n3\n4\n5\n6\n7\n8\n9\n10\nY\n12\n13\n14\n",
       "@@ -1,5 +1,5 @@\n 1\n-2\n+X\n 3\n 4\n 5\n"
       "@@ -8,7 +8,7 @@\n 8\n 9\n 10\n-11\n+Y\n 12\n 13\n 14\n"},
      {"1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n13\n14\n",
       "1\nX\n3\n4\n5\n6\n7\n8\n9\nY\n11\n12\n13\n14\n",
       "@@ -1,5 +1,5 @@\n 1\n-2\n+X\n 3\n 4\n 5\n"
       "@@ -7,7 +7,7 @@\n 7\n 8\n 9\n-10\n+Y\n 11\n 12\n 13\n"},
  };
  for (const UnifiedCase& c : cases) {
    EXPECT_EQ(UnifiedDiff(c.from, c.to, "A", "B"),
              absl::StrCat("--- A\n+++ B\n", c.want))
        << c.from << "=>\n"
        << c.to;
  }
  EXPECT_EQ(UnifiedDiff("same\n", "same\n", "A", "B"), "");
}

// Applies a unified diff made by UnifiedDiff to `from`, checking every
// context and deleted line; "" with a failure on any mismatch.
std::string ApplyUnified(const std::string& from, const std::string& diff) {
  std::vector<std::string> a;
  for (size_t pos = 0; pos < from.size();) {
    size_t end = from.find('\n', pos);
    end = end == std::string::npos ? from.size() : end + 1;
    a.push_back(from.substr(pos, end - pos));
    pos = end;
  }
  std::vector<std::string> lines;
  for (size_t pos = 0; pos < diff.size();) {
    size_t end = diff.find('\n', pos);
    EXPECT_NE(end, std::string::npos) << "diff lines end with a newline";
    if (end == std::string::npos) return "";
    lines.push_back(diff.substr(pos, end + 1 - pos));
    pos = end + 1;
  }
  std::string out;
  size_t next = 0;  // next line of `a` to copy
  for (size_t i = 2; i < lines.size();) {
    long long old_first = 0, old_count = 1, new_first = 0, new_count = 1;
    const std::string& h = lines[i];
    if (std::sscanf(h.c_str(), "@@ -%lld,%lld +", &old_first, &old_count) < 2) {
      old_count = 1;
      std::sscanf(h.c_str(), "@@ -%lld", &old_first);
    }
    (void)new_first;
    (void)new_count;
    const size_t start = old_count == 0 ? a.size() : old_first - 1;
    EXPECT_GE(start, next) << "hunks overlap or go back: " << h;
    if (start < next) return "";
    for (; next < start; ++next) out += a[next];
    for (++i; i < lines.size() && lines[i][0] != '@'; ++i) {
      std::string text = lines[i].substr(1);
      if (i + 1 < lines.size() && lines[i + 1][0] == '\\') {
        text.pop_back();  // "\ No newline at end of file"
      }
      if (lines[i][0] == '\\') continue;
      if (lines[i][0] == '+') {
        out += text;
        continue;
      }
      EXPECT_LT(next, a.size());
      if (next >= a.size() || a[next] != text) {
        ADD_FAILURE() << "line " << next + 1 << " is not " << text;
        return "";
      }
      if (lines[i][0] == ' ') out += text;
      ++next;
    }
  }
  for (; next < a.size(); ++next) out += a[next];
  return out;
}

TEST(UnifiedDiffTest, LargeBodiesDiffWhole) {
  // 16,000 lines of "x" and "y" at random on each side: dtl's search passes
  // its 2M path coordinates, after which the line numbers it reported were
  // wrong and the diff stopped near line 15,030.
  std::mt19937 rng(1);
  for (int lines : {2000, 16000, 60000}) {
    std::string from, to;
    for (int i = 0; i < lines; ++i) {
      from += (rng() & 1) ? "x\n" : "y\n";
      to += (rng() & 1) ? "x\n" : "y\n";
    }
    to += "tail without a newline";
    const std::string diff = UnifiedDiff(from, to, "A", "B");
    EXPECT_EQ(ApplyUnified(from, diff), to) << lines << " lines";
  }
}

TEST(UnifiedDiffTest, RandomEditsRoundTrip) {
  std::mt19937 rng(7);
  for (int round = 0; round < 300; ++round) {
    std::vector<std::string> words = {"a\n", "b\n", "c\n", "段落\n", "\n"};
    std::string from, to;
    const int n = 1 + static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) {
      const std::string& w = words[rng() % words.size()];
      from += w;
      switch (rng() % 4) {
        case 0:
          break;  // deleted
        case 1:
          to += words[rng() % words.size()];  // replaced
          break;
        default:
          to += w;
      }
      if (rng() % 8 == 0) to += "new\n";
    }
    if (rng() % 3 == 0 && !to.empty()) to.pop_back();
    const std::string diff = UnifiedDiff(from, to, "A", "B");
    if (from == to) {
      EXPECT_EQ(diff, "");
      continue;
    }
    EXPECT_EQ(ApplyUnified(from, diff), to) << "from:\n"
                                            << from << "to:\n"
                                            << to << "diff:\n"
                                            << diff;
  }
}

}  // namespace
}  // namespace content::editorial
