// End-to-end tests of the query engine against a real contentd: Chinese and
// English full-text search, mixed filters with NOT, facets, BatchGetArticles,
// ListTags/ListCategories, pagination during concurrent inserts, and the
// contentctl verbs (`query --text/--not-tag/--view/--facets`, `tags`,
// `categories`).

#include <atomic>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "content/client.h"
#include "content/v1/content_service.grpc.pb.h"
#include "content/v1/content_service.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "tests/support/ctl.h"
#include "tests/support/harness.h"

namespace content {
namespace {

using ::content::testing::CommandResult;
using ::content::testing::ServerProcess;
using ::content::testing::TempDir;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::UnorderedElementsAre;

constexpr int64_t k2025 = 1735689600;  // 2025-01-01T00:00:00Z
constexpr int64_t kDay = 86400;

google::protobuf::Timestamp Date(int64_t seconds) {
  google::protobuf::Timestamp t;
  t.set_seconds(seconds);
  return t;
}

class QueryE2eTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = ServerProcess::Start(dir_.path() + "/data");
    ASSERT_NE(server_, nullptr);
    ClientOptions options;
    options.target = server_->address();
    absl::StatusOr<std::unique_ptr<Client>> c = Client::Connect(options);
    ASSERT_TRUE(c.ok()) << c.status();
    client_ = *std::move(c);
  }

  void Create(const std::string& id, const std::string& title,
              const std::string& body, std::vector<std::string> tags,
              int64_t date, const std::string& lang = "zh-CN",
              const std::string& category = "Tech") {
    v1::CreateArticleRequest req;
    req.set_article_id(id);
    v1::Article& a = *req.mutable_article();
    a.set_title(title);
    a.set_body(body);
    for (auto& t : tags) a.add_tags(t);
    a.add_lang(lang);
    a.add_categories(category);
    *a.mutable_date() = Date(date);
    absl::StatusOr<v1::Article> r = client_->CreateArticle(req);
    ASSERT_TRUE(r.ok()) << r.status();
  }

  // The fixture corpus: Chinese and English articles, newest last.
  void LoadCorpus() {
    Create("zh-deploy", "DeepSeek 支持本地化部署",
           "企业可以在内网完成本地化部署。", {"ai", "deploy"},
           k2025 + 1 * kDay);
    Create("zh-apart", "本地化工作", "文化部门负责部署新系统。", {"ai"},
           k2025 + 2 * kDay);
    Create("zh-split", "本地化，部署", "两件事。", {"ops"}, k2025 + 3 * kDay,
           "zh-CN", "Ops");
    Create("en-deploy", "On-premise deployment",
           "Local DEPLOYMENT of large models.", {"ai", "deploy"},
           k2025 + 4 * kDay, "en");
    Create("en-rust", "Ｒｕｓｔ databases", "A database engine in Rust.",
           {"rust", "db"}, k2025 + 5 * kDay, "en", "Engineering");
    Create("mixed", "GPT模型的本地化部署指南", "Rust 与 GPT。", {"ai", "rust"},
           k2025 + 6 * kDay);
  }

  std::vector<std::string> Names(const v1::Query& q, int page_size = 100) {
    std::vector<std::string> names;
    std::string token;
    do {
      v1::QueryArticlesRequest req;
      *req.mutable_query() = q;
      req.set_page_size(page_size);
      req.set_page_token(token);
      absl::StatusOr<v1::QueryArticlesResponse> r = client_->QueryArticles(req);
      EXPECT_TRUE(r.ok()) << r.status();
      if (!r.ok()) break;
      for (const v1::Article& a : r->articles())
        names.push_back(a.name().substr(9));
      token = r->next_page_token();
    } while (!token.empty());
    return names;
  }

  CommandResult Ctl(std::vector<std::string> args) {
    return testing::Ctl(*server_, std::move(args));
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<Client> client_;
};

TEST_F(QueryE2eTest, ChineseTextFindsExactlyThePhrase) {
  LoadCorpus();
  v1::Query q;
  q.set_text("本地化部署");
  // zh-apart has 本地, 地化, 化部 and 部署 but not the phrase; zh-split has
  // a comma inside it.
  EXPECT_THAT(Names(q), ElementsAre("mixed", "zh-deploy"));
  q.set_order(v1::Query::ORDER_OLDEST_FIRST);
  EXPECT_THAT(Names(q, 1), ElementsAre("zh-deploy", "mixed"));
  q.set_text("部署");
  q.clear_order();
  EXPECT_THAT(Names(q),
              ElementsAre("mixed", "zh-split", "zh-apart", "zh-deploy"));
  q.set_text("化");  // one character: anywhere
  EXPECT_EQ(Names(q).size(), 4u);
}

TEST_F(QueryE2eTest, EnglishTextIsCaseAndWidthInsensitiveWholeWords) {
  LoadCorpus();
  v1::Query q;
  q.set_text("deployment LOCAL");
  EXPECT_THAT(Names(q), ElementsAre("en-deploy"));
  q.set_text("rust");  // full-width title, plain body, mixed article
  EXPECT_THAT(Names(q), ElementsAre("mixed", "en-rust"));
  q.set_text("ＲＵＳＴ database");
  EXPECT_THAT(Names(q), ElementsAre("en-rust"));
  q.set_text("data");  // not a whole word anywhere
  EXPECT_TRUE(Names(q).empty());
  q.set_text("gpt 本地化");  // mixed scripts
  EXPECT_THAT(Names(q), ElementsAre("mixed"));
}

TEST_F(QueryE2eTest, MixedFiltersWithNotAndUpdateTime) {
  LoadCorpus();
  v1::Query q;
  q.add_tags("ai");
  q.add_not_tags("rust");
  q.add_langs("zh-CN");
  EXPECT_THAT(Names(q), ElementsAre("zh-apart", "zh-deploy"));
  q.set_text("部署");
  *q.mutable_date_from() = Date(k2025 + 2 * kDay);
  EXPECT_THAT(Names(q), ElementsAre("zh-apart"));

  // update_time: only what was written after a point.
  v1::Query all;
  v1::QueryArticlesRequest req;
  req.set_page_size(100);
  absl::StatusOr<v1::QueryArticlesResponse> r = client_->QueryArticles(req);
  ASSERT_TRUE(r.ok());
  google::protobuf::Timestamp cut;
  for (const v1::Article& a : r->articles())
    if (a.name() == "articles/en-deploy") cut = a.update_time();
  *all.mutable_update_time_from() = cut;  // en-deploy, en-rust, mixed
  EXPECT_THAT(Names(all), ElementsAre("mixed", "en-rust", "en-deploy"));
  *all.mutable_update_time_to() = r->articles(0).update_time();  // mixed's
  EXPECT_THAT(Names(all), ElementsAre("en-rust", "en-deploy"));

  // Bad input names the field.
  absl::Status s;
  v1::QueryArticlesRequest bad;
  bad.mutable_query()->set_text("。。。");
  EXPECT_THAT(std::string(client_->QueryArticles(bad).status().message()),
              HasSubstr("query.text"));
  bad.mutable_query()->set_text("x");
  bad.mutable_query()->add_not_tags("");
  EXPECT_THAT(std::string(client_->QueryArticles(bad).status().message()),
              HasSubstr("query.not_tags[0]"));
  bad.mutable_query()->clear_not_tags();
  // A malformed language matched nothing: an empty result, no error.
  bad.mutable_query()->add_langs("en US");
  s = client_->QueryArticles(bad).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("query.langs[0]: must be a BCP 47 language tag"));
  bad.mutable_query()->clear_langs();
  bad.add_facets(v1::FACET_FIELD_UNSPECIFIED);
  s = client_->QueryArticles(bad).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("facets[0]"));
}

TEST_F(QueryE2eTest, FacetsAndBasicView) {
  LoadCorpus();
  v1::QueryArticlesRequest req;
  req.mutable_query()->add_tags("ai");
  req.set_page_size(1);
  req.set_view(v1::ARTICLE_VIEW_BASIC);
  req.add_facets(v1::FACET_FIELD_TAGS);
  req.add_facets(v1::FACET_FIELD_LANG);
  req.set_facet_limit(2);
  absl::StatusOr<v1::QueryArticlesResponse> r = client_->QueryArticles(req);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->articles_size(), 1);
  EXPECT_TRUE(r->articles(0).body().empty());
  EXPECT_FALSE(r->articles(0).title().empty());
  EXPECT_TRUE(r->facets_complete());
  EXPECT_EQ(r->facet_articles_counted(), 4);
  ASSERT_EQ(r->facets_size(), 2);
  // ai 4, then deploy 2 and rust 1: the top 2.
  ASSERT_EQ(r->facets(0).values_size(), 2);
  EXPECT_EQ(r->facets(0).values(0).value(), "ai");
  EXPECT_EQ(r->facets(0).values(0).count(), 4);
  EXPECT_EQ(r->facets(0).values(1).value(), "deploy");
  EXPECT_EQ(r->facets(0).values(1).count(), 2);
  EXPECT_EQ(r->facets(1).values(0).value(), "zh-CN");
  EXPECT_EQ(r->facets(1).values(0).count(), 3);
  // The next page continues with the token, without facets, full view.
  v1::QueryArticlesRequest next;
  *next.mutable_query() = req.query();
  next.set_page_size(10);
  next.set_page_token(r->next_page_token());
  absl::StatusOr<v1::QueryArticlesResponse> r2 = client_->QueryArticles(next);
  ASSERT_TRUE(r2.ok()) << r2.status();
  EXPECT_EQ(r2->articles_size(), 3);
  EXPECT_FALSE(r2->articles(0).body().empty());
  EXPECT_EQ(r2->facets_size(), 0);
}

TEST_F(QueryE2eTest, BatchGetReportsMissingPerName) {
  LoadCorpus();
  v1::DeleteArticleRequest del;
  del.set_name("articles/zh-split");
  ASSERT_TRUE(client_->DeleteArticle(del).ok());
  v1::BatchGetArticlesRequest req;
  for (const char* n : {"articles/mixed", "articles/nope", "articles/zh-split",
                        "articles/mixed"})
    req.add_names(n);
  req.set_view(v1::ARTICLE_VIEW_BASIC);
  absl::StatusOr<v1::BatchGetArticlesResponse> r =
      client_->BatchGetArticles(req);
  ASSERT_TRUE(r.ok()) << r.status();
  ASSERT_EQ(r->results_size(), 4);
  EXPECT_EQ(r->results(0).article().title(), "GPT模型的本地化部署指南");
  EXPECT_TRUE(r->results(0).article().body().empty());
  EXPECT_EQ(r->results(0).error_code(), 0);
  EXPECT_EQ(r->results(1).name(), "articles/nope");
  EXPECT_EQ(r->results(1).error_code(), 5);  // NOT_FOUND
  EXPECT_FALSE(r->results(1).has_article());
  EXPECT_EQ(r->results(2).error_code(), 5);  // deleted
  EXPECT_EQ(r->results(3).article().name(), "articles/mixed");
  req.set_show_deleted(true);
  r = client_->BatchGetArticles(req);
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->results(2).article().has_delete_time());

  req.add_names("bad name");
  absl::Status s = client_->BatchGetArticles(req).status();
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(s.message()), HasSubstr("names[4]"));
  v1::BatchGetArticlesRequest big;
  for (int i = 0; i < 1001; ++i) big.add_names(absl::StrCat("articles/a", i));
  EXPECT_EQ(client_->BatchGetArticles(big).status().code(),
            absl::StatusCode::kInvalidArgument);
  big.mutable_names()->RemoveLast();
  r = client_->BatchGetArticles(big);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->results_size(), 1000);
}

TEST_F(QueryE2eTest, ListTagsAndCategoriesWithCountsPaged) {
  LoadCorpus();
  v1::DeleteArticleRequest del;
  del.set_name("articles/en-rust");
  ASSERT_TRUE(client_->DeleteArticle(del).ok());  // db gone, rust 2 -> 1
  std::vector<std::string> seen;
  std::string token;
  do {
    v1::ListTagsRequest req;
    req.set_page_size(2);
    req.set_page_token(token);
    absl::StatusOr<v1::ListTagsResponse> r = client_->ListTags(req);
    ASSERT_TRUE(r.ok()) << r.status();
    for (const v1::TermCount& t : r->tags())
      seen.push_back(absl::StrCat(t.value(), "=", t.article_count()));
    token = r->next_page_token();
  } while (!token.empty());
  EXPECT_THAT(seen, ElementsAre("ai=4", "deploy=2", "ops=1", "rust=1"));

  v1::ListTagsRequest prefixed;
  prefixed.set_prefix("d");
  absl::StatusOr<v1::ListTagsResponse> r = client_->ListTags(prefixed);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->tags_size(), 1);
  EXPECT_EQ(r->tags(0).value(), "deploy");

  v1::ListCategoriesRequest cats;
  absl::StatusOr<v1::ListCategoriesResponse> c = client_->ListCategories(cats);
  ASSERT_TRUE(c.ok());
  ASSERT_EQ(c->categories_size(), 2);  // Engineering's only article is gone
  EXPECT_EQ(c->categories(0).value(), "Ops");
  EXPECT_EQ(c->categories(1).value(), "Tech");
  EXPECT_EQ(c->categories(1).article_count(), 4);

  // A token of another listing is refused.
  v1::ListTagsRequest first;
  first.set_page_size(1);
  r = client_->ListTags(first);
  ASSERT_TRUE(r.ok());
  v1::ListCategoriesRequest wrong;
  wrong.set_page_token(r->next_page_token());
  EXPECT_EQ(client_->ListCategories(wrong).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// "café" composed (U+00E9) and decomposed (e + U+0301, as macOS and some
// editors write it) were two tags, each finding half the articles. Tags and
// categories are stored in NFC and queries normalized alike; case is kept.
TEST_F(QueryE2eTest, TagsInEitherUnicodeSpellingAreOneTag) {
  const std::string composed = "caf\xC3\xA9";
  const std::string decomposed = "cafe\xCC\x81";
  Create("nfd", "Decomposed", "x", {decomposed, "AI"}, k2025 + 2 * kDay, "fr",
         "Cafe\xCC\x81s");
  Create("nfc", "Composed", "x", {composed}, k2025 + kDay, "fr",
         "Caf\xC3\xA9s");
  v1::GetArticleRequest get;
  get.set_name("articles/nfd");
  absl::StatusOr<v1::Article> stored = client_->GetArticle(get);
  ASSERT_TRUE(stored.ok()) << stored.status();
  EXPECT_THAT(stored->tags(), ElementsAre(composed, "AI"));
  EXPECT_THAT(stored->categories(), ElementsAre("Caf\xC3\xA9s"));

  for (const std::string& spelling : {composed, decomposed}) {
    v1::Query tag;
    tag.add_tags(spelling);
    EXPECT_THAT(Names(tag), ElementsAre("nfd", "nfc"));
    v1::Query category;
    category.add_categories(spelling == composed ? "Caf\xC3\xA9s"
                                                 : "Cafe\xCC\x81s");
    EXPECT_THAT(Names(category), ElementsAre("nfd", "nfc"));
    v1::ListTagsRequest prefixed;
    prefixed.set_prefix(spelling);
    absl::StatusOr<v1::ListTagsResponse> r = client_->ListTags(prefixed);
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_EQ(r->tags_size(), 1);
    EXPECT_EQ(r->tags(0).value(), composed);
    EXPECT_EQ(r->tags(0).article_count(), 2);
  }
  v1::Query lower;
  lower.add_tags("ai");
  EXPECT_THAT(Names(lower), ::testing::IsEmpty());  // case is kept

  // Both spellings in one article are one tag given twice.
  v1::CreateArticleRequest twice;
  twice.set_article_id("twice");
  twice.mutable_article()->set_title("Twice");
  twice.mutable_article()->add_tags(composed);
  twice.mutable_article()->add_tags(decomposed);
  absl::StatusOr<v1::Article> refused = client_->CreateArticle(twice);
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(refused.status().message(), HasSubstr("article.tags[1]: "));

  // A file with the decomposed spelling applies, and again unchanged.
  const std::string file = dir_.path() + "/nfd-file.md";
  {
    std::ofstream out(file, std::ios::binary);
    out << "---\ntitle: \"File\"\ntags:\n  - \"" << decomposed
        << "\"\n---\nBody.\n";
  }
  CommandResult applied = Ctl({"apply", "-f", file});
  ASSERT_EQ(applied.exit_code, 0) << applied.err;
  applied = Ctl({"apply", "-f", file});
  ASSERT_EQ(applied.exit_code, 0) << applied.err;
  EXPECT_THAT(applied.out, HasSubstr("articles/nfd-file unchanged"));
  v1::Query tag;
  tag.add_tags(decomposed);
  EXPECT_THAT(Names(tag), UnorderedElementsAre("nfd", "nfc", "nfd-file"));

  // A watch filter in either spelling sees them too (an article tagged
  // `end` closes the watch).
  Create("end", "End", "x", {"end"}, k2025);
  v1::WatchArticlesRequest watch;
  watch.mutable_filter()->add_tags(decomposed);
  watch.mutable_filter()->add_tags("end");
  std::vector<std::string> watched;
  ASSERT_TRUE(client_
                  ->Watch(watch,
                          [&](const v1::WatchArticlesResponse& r) {
                            watched.push_back(r.event().name().substr(9));
                            return watched.back() != "end";
                          })
                  .ok());
  EXPECT_THAT(watched, ElementsAre("nfd", "nfc", "nfd-file", "end"));
}

TEST_F(QueryE2eTest, PagesOfLargeArticlesFitWhatADefaultClientReceives) {
  // Six articles of 900 KB: a page of all six (5.4 MB) would exceed the
  // 4 MiB a gRPC client receives by default (RESOURCE_EXHAUSTED).
  for (int i = 0; i < 6; ++i) {
    Create(absl::StrCat("large", i), absl::StrCat("Large ", i),
           std::string(900000, static_cast<char>('a' + i)), {"large"},
           k2025 + i * kDay, "en");
  }
  auto stub = v1::ContentService::NewStub(grpc::CreateChannel(
      server_->address(), grpc::InsecureChannelCredentials()));
  v1::QueryArticlesRequest req;
  req.mutable_query()->add_tags("large");
  req.set_page_size(20);
  std::vector<std::string> names;
  std::vector<int> sizes;
  do {
    grpc::ClientContext ctx;
    v1::QueryArticlesResponse resp;
    grpc::Status s = stub->QueryArticles(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_code() << ": " << s.error_message();
    sizes.push_back(resp.articles_size());
    for (const v1::Article& a : resp.articles())
      names.push_back(a.name().substr(9));
    req.set_page_token(resp.next_page_token());
  } while (!req.page_token().empty());
  // Pages end once they hold 2 MiB: three articles, then the other three.
  EXPECT_THAT(sizes, ElementsAre(3, 3));
  EXPECT_THAT(names, ElementsAre("large5", "large4", "large3", "large2",
                                 "large1", "large0"));
}

// Revision pages end at 2 MiB like query pages; a BatchGet, which has no
// pages, refuses a reply over 16 MiB instead of building it.
TEST_F(QueryE2eTest, RevisionPagesAndBatchGetsOfLargeArticlesStayBounded) {
  Create("big", "Big", std::string(900000, 'a'), {"big"}, k2025, "en");
  for (int i = 1; i < 6; ++i) {
    v1::UpdateArticleRequest u;
    u.mutable_article()->set_name("articles/big");
    u.mutable_article()->set_title("Big");
    u.mutable_article()->add_tags("big");
    u.mutable_article()->mutable_date()->set_seconds(k2025);
    u.mutable_article()->set_body(
        std::string(900000, static_cast<char>('a' + i)));
    ASSERT_TRUE(client_->UpdateArticle(u).ok());
  }
  auto stub = v1::ContentService::NewStub(grpc::CreateChannel(
      server_->address(), grpc::InsecureChannelCredentials()));
  v1::ListArticleRevisionsRequest req;
  req.set_name("articles/big");
  req.set_page_size(20);
  std::vector<int64_t> revisions;
  std::vector<int> sizes;
  do {
    grpc::ClientContext ctx;
    v1::ListArticleRevisionsResponse resp;
    grpc::Status s = stub->ListArticleRevisions(&ctx, req, &resp);
    ASSERT_TRUE(s.ok()) << s.error_code() << ": " << s.error_message();
    sizes.push_back(resp.revisions_size());
    for (const v1::Article& a : resp.revisions())
      revisions.push_back(a.revision());
    req.set_page_token(resp.next_page_token());
  } while (!req.page_token().empty());
  EXPECT_THAT(sizes, ElementsAre(2, 2, 2));
  EXPECT_THAT(revisions, ElementsAre(6, 5, 4, 3, 2, 1));

  v1::BatchGetArticlesRequest batch;
  for (int i = 0; i < 19; ++i) batch.add_names("articles/big");  // 17 MB
  absl::StatusOr<v1::BatchGetArticlesResponse> got =
      client_->BatchGetArticles(batch);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(got.status().message()),
              ::testing::HasSubstr("names: the articles named hold more than "
                                   "16 MiB"));
  batch.set_view(v1::ARTICLE_VIEW_BASIC);
  got = client_->BatchGetArticles(batch);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->results_size(), 19);
}

TEST_F(QueryE2eTest, PagingDuringConcurrentInsertsNeitherRepeatsNorSkips) {
  // 300 articles with text; a writer keeps adding matching ones (some
  // older, some newer than the cursor) while a reader pages.
  for (int i = 0; i < 300; ++i) {
    Create(absl::StrCat("p", i), absl::StrCat("数据库 ", i),
           i % 3 ? "本地化部署 database" : "other", {i % 2 ? "odd" : "even"},
           k2025 + (i % 50) * kDay);
  }
  v1::Query q;
  q.set_text("本地化部署");
  q.add_not_tags("even");
  const std::vector<std::string> before = Names(q);
  ASSERT_EQ(before.size(), 100u);

  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop.load() && i < 2000; ++i) {
      Create(absl::StrCat("late", i), "late", "本地化部署", {"odd"},
             k2025 + (i * 7 % 60) * kDay);
    }
  });
  // Stopped and joined however the test ends (an assertion below returns).
  absl::Cleanup join_writer = [&] {
    stop = true;
    writer.join();
  };
  std::vector<std::string> seen;
  std::string token;
  do {
    v1::QueryArticlesRequest req;
    *req.mutable_query() = q;
    req.set_page_size(7);
    req.set_page_token(token);
    absl::StatusOr<v1::QueryArticlesResponse> r = client_->QueryArticles(req);
    ASSERT_TRUE(r.ok()) << r.status();
    for (const v1::Article& a : r->articles())
      seen.push_back(a.name().substr(9));
    token = r->next_page_token();
    absl::SleepFor(absl::Milliseconds(2));
  } while (!token.empty());
  std::move(join_writer).Invoke();
  std::set<std::string> unique(seen.begin(), seen.end());
  EXPECT_EQ(unique.size(), seen.size()) << "an article came twice";
  for (const std::string& id : before)
    EXPECT_EQ(unique.count(id), 1u) << id << " was skipped";
}

TEST_F(QueryE2eTest, ContentctlQueryFlagsAndListVerbs) {
  LoadCorpus();
  CommandResult r = Ctl({"query", "--text", "本地化部署", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("articles/mixed"));
  EXPECT_THAT(r.out, HasSubstr("articles/zh-deploy"));
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("articles/zh-apart")));

  r = Ctl({"query", "--tag", "ai", "--not-tag", "rust", "--not-tag", "deploy"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("articles/zh-apart"));
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("articles/mixed")));

  r = Ctl({"query", "--view", "basic", "--facets", "tags,lang", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("\"body\"")));
  EXPECT_THAT(r.out, HasSubstr("FACET_FIELD_TAGS"));
  EXPECT_THAT(r.out, HasSubstr("\"facetsComplete\": true"));

  r = Ctl({"query", "--facets", "tags"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("FACET"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("tags +ai +4"));

  r = Ctl({"query", "--facets", "colour"});
  EXPECT_EQ(r.exit_code, 2);
  r = Ctl({"query", "--view", "tiny"});
  EXPECT_EQ(r.exit_code, 2);
  r = Ctl({"query", "--text", "!!!"});
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_THAT(r.err, HasSubstr("INVALID_ARGUMENT"));

  r = Ctl({"tags"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, ::testing::ContainsRegex("TAG +ARTICLES"));
  EXPECT_THAT(r.out, ::testing::ContainsRegex("ai +4"));
  r = Ctl({"tags", "--prefix", "r", "-o", "json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("\"value\": \"rust\""));
  EXPECT_THAT(r.out, HasSubstr("\"articleCount\": \"2\""));
  r = Ctl({"categories", "--limit", "1"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_THAT(r.out, HasSubstr("Engineering"));
  EXPECT_THAT(r.err, HasSubstr("--page-token"));
}

// A two-tag AND reads the article at its cursor. The rarer tag's entries
// carry the fingerprints of their article's tags, so the other tag's list
// is not moved and stood at another article ("c", revision 3): its
// revision was read as "a"'s, which on PostgreSQL (whose postings name the
// head) failed the query, NOT_FOUND `reading a for a query: not found`.
TEST_F(QueryE2eTest, TwoTagAndReadsTheArticleAtItsCursor) {
  Create("c", "c", "", {"x"}, k2025 + 3 * kDay);
  for (int64_t day : {4, 5}) {
    v1::UpdateArticleRequest req;
    v1::Article& a = *req.mutable_article();
    a.set_name("articles/c");
    a.set_title("c");
    a.add_tags("x");
    a.add_lang("zh-CN");
    a.add_categories("Tech");
    *a.mutable_date() = Date(k2025 + day * kDay);
    absl::StatusOr<v1::Article> r = client_->UpdateArticle(req);
    ASSERT_TRUE(r.ok()) << r.status();
  }
  Create("a", "a", "", {"x", "y"}, k2025 + 2 * kDay);
  Create("b", "b", "", {"x"}, k2025 + 1 * kDay);
  v1::Query q;
  q.add_tags("x");
  q.add_tags("y");
  q.set_tag_match(v1::Query::TAG_MATCH_ALL);
  EXPECT_THAT(Names(q), ElementsAre("a"));
}

}  // namespace
}  // namespace content
