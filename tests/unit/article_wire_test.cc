// Tests for server/store/article_wire: the skeleton parse and the body cut
// agree with protobuf's own parse of the same bytes.
#include "server/store/article_wire.h"

#include <random>
#include <string>

#include "content/v1/article.pb.h"
#include "google/protobuf/stubs/logging.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace content::store {
namespace {

using google::protobuf::util::MessageDifferencer;
using v1::Article;

google::protobuf::Timestamp Ts(int64_t seconds, int32_t nanos = 0) {
  google::protobuf::Timestamp t;
  t.set_seconds(seconds);
  t.set_nanos(nanos);
  return t;
}

// Every field set, strings in Chinese, a Struct and optional flags.
Article Full() {
  Article a;
  a.set_name("articles/news-1");
  a.set_title("本地化部署的数据库引擎");
  *a.mutable_date() = Ts(1700000000, 123456789);
  a.set_summary("摘要");
  a.add_categories("科技");
  a.add_lang("zh-CN");
  a.add_translations("en");
  a.add_tags("数据库");
  a.add_tags("rocksdb");
  a.set_menu("main");
  a.set_thumbnail("https://example.com/t.png");
  a.set_lead("导语");
  a.set_comments(false);
  a.set_toc(true);
  a.set_sidebar("right");
  a.add_widgets("search");
  (*a.mutable_params()->mutable_fields())["author"].set_string_value("李雷");
  a.set_body(std::string(3000, 'x') + "正文");
  a.mutable_style()->set_date_layout(v1::FrontMatterStyle::DATE_LAYOUT_DATE);
  a.mutable_style()->add_key_order("title");
  a.set_state(Article::ARCHIVED);
  *a.mutable_publish_time() = Ts(1700000100);
  *a.mutable_expiry_time() = Ts(1800000000, 5);
  a.set_translation_key("news");
  a.set_revision(7);
  a.set_etag("\"7\"");
  *a.mutable_create_time() = Ts(1600000000);
  *a.mutable_update_time() = Ts(1700000200, 1);
  *a.mutable_delete_time() = Ts(1700000300);
  a.set_content_hash("abc");
  return a;
}

TEST(ArticleWireTest, SkeletonHoldsExactlyTheFilterFields) {
  const Article full = Full();
  Article want;
  *want.mutable_date() = full.date();
  want.set_state(full.state());
  *want.mutable_publish_time() = full.publish_time();
  *want.mutable_expiry_time() = full.expiry_time();
  want.set_revision(full.revision());
  *want.mutable_create_time() = full.create_time();
  *want.mutable_update_time() = full.update_time();
  *want.mutable_delete_time() = full.delete_time();

  Article got;
  got.set_title("left over from an earlier use");
  ASSERT_TRUE(ParseArticleSkeleton(full.SerializeAsString(), &got));
  EXPECT_TRUE(MessageDifferencer::Equals(got, want)) << got.ShortDebugString();
}

TEST(ArticleWireTest, UnsetFieldsStayUnset) {
  Article a;
  a.set_title("only a title");
  a.set_body("and a body");
  Article got;
  ASSERT_TRUE(ParseArticleSkeleton(a.SerializeAsString(), &got));
  EXPECT_FALSE(got.has_date());
  EXPECT_FALSE(got.has_delete_time());
  EXPECT_FALSE(got.has_publish_time());
  EXPECT_EQ(got.state(), Article::STATE_UNSPECIFIED);
  EXPECT_EQ(got.revision(), 0);

  ASSERT_TRUE(ParseArticleSkeleton("", &got));
  EXPECT_EQ(got.ByteSizeLong(), 0u);
}

TEST(ArticleWireTest, UnknownFieldsAreSkipped) {
  Article a = Full();
  std::string bytes = a.SerializeAsString();
  // Field 99 as a varint, a fixed64 and a length-delimited value.
  bytes += std::string("\x98\x06\x2a", 3);
  bytes += std::string("\x99\x06", 2) + std::string(8, '\x01');
  bytes += std::string("\x9a\x06\x03", 3) + "abc";
  Article got;
  ASSERT_TRUE(ParseArticleSkeleton(bytes, &got));
  EXPECT_EQ(got.revision(), 7);
  std::string cut;
  ASSERT_TRUE(AppendArticleWithoutBody(bytes, &cut));
  Article parsed;
  ASSERT_TRUE(parsed.ParseFromString(cut));
  EXPECT_TRUE(parsed.body().empty());
  EXPECT_EQ(parsed.title(), a.title());
}

TEST(ArticleWireTest, WithoutBodyEqualsClearedBody) {
  const Article full = Full();
  std::string cut = "prefix";
  ASSERT_TRUE(AppendArticleWithoutBody(full.SerializeAsString(), &cut));
  ASSERT_EQ(cut.substr(0, 6), "prefix");
  Article got;
  ASSERT_TRUE(got.ParseFromString(cut.substr(6)));
  Article want = full;
  want.clear_body();
  EXPECT_TRUE(MessageDifferencer::Equals(got, want)) << got.ShortDebugString();

  // No body: the bytes pass unchanged.
  const std::string bytes = want.SerializeAsString();
  std::string same;
  ASSERT_TRUE(AppendArticleWithoutBody(bytes, &same));
  EXPECT_EQ(same, bytes);
}

TEST(ArticleWireTest, MalformedBytesAreRefused) {
  const std::string bytes = Full().SerializeAsString();
  Article got;
  std::string out;
  // Cut inside the body's length-delimited value, and a bad wire type.
  EXPECT_FALSE(ParseArticleSkeleton(bytes.substr(0, bytes.size() - 10), &got));
  EXPECT_FALSE(
      AppendArticleWithoutBody(bytes.substr(0, bytes.size() - 10), &out));
  EXPECT_FALSE(ParseArticleSkeleton(std::string("\x0f\x01", 2), &got));
  // A date whose length runs past the end.
  EXPECT_FALSE(ParseArticleSkeleton(std::string("\x1a\x10\x08\x01", 4), &got));
  // A date that is not a Timestamp.
  EXPECT_FALSE(ParseArticleSkeleton(std::string("\x1a\x02\x0f\x01", 4), &got));
}

// HasAllTags is the query's confirmation of a fingerprint match: exact
// strings, every tag asked for, repeated tags fine, and false on bytes
// that are not an Article.
TEST(ArticleWireTest, HasAllTagsComparesExactTagStrings) {
  const std::string bytes = Full().SerializeAsString();  // 数据库, rocksdb
  auto tags = [](std::initializer_list<const char*> list) {
    google::protobuf::RepeatedPtrField<std::string> out;
    for (const char* t : list) out.Add(t);
    return out;
  };
  EXPECT_TRUE(HasAllTags(bytes, tags({})));
  EXPECT_TRUE(HasAllTags(bytes, tags({"rocksdb"})));
  EXPECT_TRUE(HasAllTags(bytes, tags({"数据库", "rocksdb"})));
  EXPECT_TRUE(HasAllTags(bytes, tags({"rocksdb", "rocksdb"})));
  EXPECT_FALSE(HasAllTags(bytes, tags({"rocksdb", "etcd"})));
  EXPECT_FALSE(HasAllTags(bytes, tags({"RocksDB"}))) << "no case folding";
  EXPECT_FALSE(HasAllTags(bytes, tags({"rocks"}))) << "no prefixes";
  EXPECT_FALSE(HasAllTags(bytes, tags({"数据"})));
  // Tags are found wherever they sit among the other fields, and the body
  // may hold the same words without counting.
  Article body_only;
  body_only.set_body("rocksdb 数据库");
  body_only.add_categories("rocksdb");
  EXPECT_FALSE(HasAllTags(body_only.SerializeAsString(), tags({"rocksdb"})));
  EXPECT_FALSE(
      HasAllTags(bytes.substr(0, bytes.size() - 10), tags({"rocksdb"})));
  EXPECT_FALSE(HasAllTags(std::string("\x0f\x01", 2), tags({"rocksdb"})));
}

TEST(ArticleWireTest, RandomBytesNeverCrashAndAgreeOnValidity) {
  // Protobuf logs each invalid UTF-8 string it refuses; expected here.
  google::protobuf::LogSilencer quiet;
  std::mt19937 rng(7);
  const std::string base = Full().SerializeAsString();
  for (int i = 0; i < 2000; ++i) {
    std::string bytes = base;
    const int flips = std::uniform_int_distribution<int>(1, 4)(rng);
    for (int f = 0; f < flips; ++f) {
      bytes[std::uniform_int_distribution<size_t>(0, bytes.size() - 1)(rng)] =
          static_cast<char>(rng());
    }
    Article skeleton;
    std::string cut;
    const bool skeleton_ok = ParseArticleSkeleton(bytes, &skeleton);
    const bool cut_ok = AppendArticleWithoutBody(bytes, &cut);
    // Structure (tags, lengths) decides both; protobuf's full parse also
    // checks UTF-8, so it may refuse what they accept, never the reverse.
    Article full;
    if (full.ParseFromString(bytes)) {
      EXPECT_TRUE(skeleton_ok);
      EXPECT_TRUE(cut_ok);
      EXPECT_EQ(skeleton.revision(), full.revision());
      EXPECT_EQ(skeleton.has_delete_time(), full.has_delete_time());
    }
  }
}

}  // namespace
}  // namespace content::store
