// The SDK's check that a request will parse on the server
// (common/proto_wire.h).
#include "common/proto_wire.h"

#include <string>

#include "content/v1/content_service.pb.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "gtest/gtest.h"

namespace content {
namespace {

using ::content::internal::CheckParsable;
using ::testing::HasSubstr;

TEST(CheckParsableTest, NamesTheFieldThatIsNotUtf8) {
  v1::QueryArticlesRequest q;
  q.mutable_query()->add_tags("ok");
  q.mutable_query()->add_tags("a\xff");
  absl::Status s = CheckParsable(q);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("query.tags[1]: not valid UTF-8"));

  v1::ListTagsRequest t;
  t.set_prefix("caf\xe9");
  EXPECT_THAT(CheckParsable(t).message(), HasSubstr("prefix: not valid UTF-8"));

  // Params are named as the server names them: by their keys. (The map is
  // fetched again for each change: reflection reads a copy of it, synced
  // when it is fetched for writing.)
  v1::CreateArticleRequest c;
  auto seo =
      [&c]() -> google::protobuf::Map<std::string, google::protobuf::Value>& {
    return *(*c.mutable_article()->mutable_params()->mutable_fields())["seo"]
                .mutable_struct_value()
                ->mutable_fields();
  };
  seo()["title"].mutable_list_value()->add_values()->set_string_value(
      "\xc0\xaf");
  EXPECT_THAT(CheckParsable(c).message(),
              HasSubstr("article.params.seo.title[0]: not valid UTF-8"));
  seo().clear();
  seo()["bad\xff"].set_number_value(1);
  EXPECT_THAT(CheckParsable(c).message(),
              HasSubstr("article.params.seo: a key is not valid UTF-8"));
  seo().clear();
  seo()["fine"].set_string_value("日本語");
  EXPECT_TRUE(CheckParsable(c).ok());
}

// The check refuses exactly what protobuf's parser refuses.
TEST(CheckParsableTest, NestingAgreesWithTheParser) {
  int parsed = 0, refused = 0;
  for (int lists = 45; lists <= 52; ++lists) {
    for (bool struct_at_bottom : {false, true}) {
      SCOPED_TRACE(::testing::Message() << lists << " " << struct_at_bottom);
      v1::CreateArticleRequest c;
      google::protobuf::Value* v =
          &(*c.mutable_article()->mutable_params()->mutable_fields())["k"];
      for (int i = 0; i < lists; ++i) v = v->mutable_list_value()->add_values();
      if (struct_at_bottom) {
        (*v->mutable_struct_value()->mutable_fields())["x"].set_bool_value(1);
      }
      v1::CreateArticleRequest back;
      const bool parses = back.ParseFromString(c.SerializeAsString());
      ++(parses ? parsed : refused);
      const absl::Status s = CheckParsable(c);
      EXPECT_EQ(s.ok(), parses) << s;
      if (!s.ok()) {
        EXPECT_THAT(s.message(), HasSubstr("article.params.k[0][0]"));
        EXPECT_THAT(s.message(), HasSubstr("nests deeper than the 100 levels"));
      }
    }
  }
  // The range holds both sides of the limit.
  EXPECT_GT(parsed, 0);
  EXPECT_GT(refused, 0);
}

}  // namespace
}  // namespace content
