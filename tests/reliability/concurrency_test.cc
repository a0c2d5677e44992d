// Concurrency suite: many clients race conditional updates of the same few
// articles while readers page through queries over them, against a real
// contentd.
//  - Every revision is won by exactly one writer; losers get
//    FAILED_PRECONDITION; no update is lost (each winner appends a unique
//    line, and the final body is the base plus exactly the winners' lines in
//    revision order).
//  - Queries during the load never return an article twice (within a page or
//    across the pages of one pass), never an entry without its article, never
//    an article that does not match, and never skip an article that did not
//    change.
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/random/random.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "content/client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/harness.h"

namespace content {
namespace {

using ::content::testing::ServerProcess;
using ::content::testing::TempDir;

constexpr int kContended = 4;  // articles everyone updates
constexpr int kStatic = 30;    // articles nobody touches
constexpr int kWriters = 8;
constexpr int kReaders = 2;
constexpr char kBase[] = "base\n";

std::unique_ptr<Client> Connect(const std::string& address) {
  ClientOptions options;
  options.target = address;
  options.max_attempts = 1;  // a retried write could win twice
  absl::StatusOr<std::unique_ptr<Client>> c = Client::Connect(options);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *std::move(c) : nullptr;
}

v1::Article Make(const std::string& id, const std::string& body, bool hot,
                 int64_t seconds) {
  v1::Article a;
  a.set_name(ArticleName(id));
  a.set_title("并发 " + id);
  a.add_tags(hot ? "hot" : "cold");
  a.add_tags("all");
  a.add_lang("zh-CN");
  a.mutable_date()->set_seconds(seconds);
  a.set_body(body);
  return a;
}

struct Win {
  std::string id;
  int64_t revision;
  std::string line;
};

TEST(ConcurrencyTest, ConditionalUpdatesRaceWithoutLostUpdatesOrBadQueries) {
  TempDir tmp;
  std::unique_ptr<ServerProcess> server =
      ServerProcess::Start(tmp.path() + "/data");
  ASSERT_NE(server, nullptr);
  std::unique_ptr<Client> setup = Connect(server->address());
  // Dates are fixed per article, so keyset paging must neither repeat nor
  // skip while bodies and tags change underneath.
  for (int i = 0; i < kContended + kStatic; ++i) {
    const std::string id =
        i < kContended ? absl::StrCat("c", i) : absl::StrCat("s", i);
    v1::CreateArticleRequest r;
    r.set_article_id(id);
    *r.mutable_article() = Make(id, kBase, /*hot=*/true, 1700000000 + i * 60);
    ASSERT_TRUE(setup->CreateArticle(r).ok());
  }

  std::mutex mu;
  std::vector<Win> wins;
  std::map<std::string, std::set<int64_t>> won_revisions;
  std::atomic<int> losses{0}, attempts{0};
  std::atomic<bool> stop{false};
  const absl::Time end = absl::Now() + absl::Seconds(8);

  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      std::unique_ptr<Client> client = Connect(server->address());
      absl::BitGen gen;
      for (int i = 0; i < 400 && absl::Now() < end; ++i) {
        const std::string id =
            absl::StrCat("c", absl::Uniform(gen, 0, kContended));
        absl::StatusOr<v1::Article> head = client->Get(id);
        ASSERT_TRUE(head.ok()) << head.status();
        const std::string line = absl::StrCat("writer ", w, " op ", i, "\n");
        v1::UpdateArticleRequest r;
        // Tags flip so articles leave and rejoin the `hot` list.
        *r.mutable_article() =
            Make(id, head->body() + line, absl::Bernoulli(gen, 0.5),
                 head->date().seconds());
        r.set_expected_revision(head->revision());
        ++attempts;
        absl::StatusOr<v1::Article> updated = client->UpdateArticle(r);
        if (updated.ok()) {
          EXPECT_EQ(updated->revision(), head->revision() + 1);
          std::lock_guard<std::mutex> lock(mu);
          EXPECT_TRUE(won_revisions[id].insert(updated->revision()).second)
              << id << " revision " << updated->revision() << " won twice";
          wins.push_back({id, updated->revision(), line});
        } else {
          ASSERT_EQ(updated.status().code(),
                    absl::StatusCode::kFailedPrecondition)
              << updated.status();
          EXPECT_THAT(std::string(updated.status().message()),
                      ::testing::HasSubstr("expected_revision"));
          ++losses;
        }
      }
    });
  }

  std::atomic<int> passes{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < kReaders; ++r) {
    readers.emplace_back([&, r] {
      std::unique_ptr<Client> client = Connect(server->address());
      for (int pass = 0; pass < 2000 && !stop.load(); ++pass) {
        v1::QueryArticlesRequest q;
        q.mutable_query()->add_tags(r == 0 ? "hot" : "all");
        q.mutable_query()->add_langs("zh-CN");
        q.set_page_size(3 + pass % 5);
        std::set<std::string> seen;
        for (int page = 0; page < 100; ++page) {
          absl::StatusOr<v1::QueryArticlesResponse> resp =
              client->QueryArticles(q);
          ASSERT_TRUE(resp.ok()) << resp.status();
          for (const v1::Article& a : resp->articles()) {
            EXPECT_TRUE(seen.insert(a.name()).second)
                << a.name() << " returned twice in one pass";
            // A complete article at a real revision that matches.
            EXPECT_FALSE(a.title().empty()) << a.name();
            EXPECT_GE(a.revision(), 1) << a.name();
            EXPECT_FALSE(a.has_delete_time()) << a.name();
            EXPECT_TRUE(absl::StartsWith(a.body(), kBase)) << a.name();
            bool has_tag = false;
            for (const auto& t : a.tags()) has_tag |= t == q.query().tags(0);
            EXPECT_TRUE(has_tag) << a.name() << " does not match";
          }
          if (resp->next_page_token().empty()) break;
          q.set_page_token(resp->next_page_token());
        }
        for (int i = kContended; i < kContended + kStatic; ++i) {
          EXPECT_TRUE(seen.count(ArticleName(absl::StrCat("s", i))))
              << "pass skipped untouched s" << i;
        }
        ++passes;
      }
    });
  }
  for (auto& t : writers) t.join();
  stop = true;
  for (auto& t : readers) t.join();

  EXPECT_EQ(static_cast<int>(wins.size()) + losses.load(), attempts.load());
  EXPECT_GT(losses.load(), 0) << "no contention happened";
  EXPECT_GT(passes.load(), 0);
  // No lost update: each article's body is the base plus its winners'
  // lines in revision order, and revisions 2..head were each won once.
  std::map<std::string, std::map<int64_t, std::string>> by_revision;
  for (const Win& w : wins) by_revision[w.id][w.revision] = w.line;
  for (int i = 0; i < kContended; ++i) {
    const std::string id = absl::StrCat("c", i);
    absl::StatusOr<v1::Article> head = setup->Get(id);
    ASSERT_TRUE(head.ok());
    std::string expected = kBase;
    int64_t next = 2;
    for (const auto& [revision, line] : by_revision[id]) {
      EXPECT_EQ(revision, next++) << id << ": a revision nobody won";
      expected += line;
    }
    EXPECT_EQ(head->revision(), next - 1) << id;
    EXPECT_EQ(head->body(), expected) << id << ": an update was lost";
  }
  std::cerr << "concurrency: " << wins.size() << " wins, " << losses.load()
            << " losses, " << passes.load() << " query passes\n";
}

}  // namespace
}  // namespace content
