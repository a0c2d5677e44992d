// Crash suite: concurrent writers, an importer and a watcher run against a
// real contentd that is SIGKILLed at random moments and restarted on the same
// port. After every kill:
//  - `contentd --check` on the stopped data directory is clean: every index
//    entry matches a complete head, every head has its entries, histories
//    have no gaps, the change log no holes (so no unacknowledged write is
//    half there);
//  - every acknowledged write is there: the head is at or past the acked
//    revision and every acked revision has exactly the acked content;
//  - each writer's next conditional write gets exactly the next revision.
// At the end the watcher has seen every event exactly once, in order, and
// every acknowledged write among them.
//
// CI runs about 20 kills in about a minute. CONTENT_CRASH_SECONDS=600 runs
// for ten minutes (as many kills as fit); CONTENT_CRASH_KILLS caps the count.
#include <signal.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/random/random.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "content/client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/support/harness.h"

namespace content {
namespace {

using ::content::testing::RunCommand;
using ::content::testing::ServerProcess;
using ::content::testing::TempDir;

int64_t EnvInt(const char* name, int64_t fallback) {
  const char* v = std::getenv(name);
  int64_t out = 0;
  return v != nullptr && absl::SimpleAtoi(v, &out) && out > 0 ? out : fallback;
}

// One acknowledged revision of an article.
struct Acked {
  int64_t revision = 0;
  std::string content_hash;
  bool deleted = false;
  bool verified = false;  // checked against the server after a kill
};

// What a writer knows about an article it owns.
struct ArticleModel {
  bool known = true;  // false after a write with an unknown outcome
  bool exists = false;
  bool deleted = false;
  int64_t head = 0;
  bool last_error_deadline = false;
  std::vector<Acked> acked;
};

std::unique_ptr<Client> Connect(const std::string& address, int attempts) {
  ClientOptions options;
  options.target = address;
  options.timeout = absl::Seconds(5);
  options.max_attempts = attempts;
  absl::StatusOr<std::unique_ptr<Client>> c = Client::Connect(options);
  EXPECT_TRUE(c.ok()) << c.status();
  return c.ok() ? *std::move(c) : nullptr;
}

v1::Article Content(const std::string& id, int writer, int64_t op) {
  v1::Article a;
  a.set_name(ArticleName(id));
  a.set_title(absl::StrCat("崩溃测试 ", id, " op ", op));
  a.add_tags(absl::StrCat("w", writer));
  a.add_tags(absl::StrCat("op", op % 5));
  a.add_lang(op % 2 ? "en" : "zh-CN");
  a.mutable_date()->set_seconds(1700000000 + op % 1000);
  // A body large enough that a revision spans more than one WAL block.
  a.set_body(
      absl::StrCat("正文 ", id, " ", op, "\n", std::string(op % 7 * 900, 'x')));
  return a;
}

// A Get that waits out a channel still backing off from the restart: the
// server is up, but a channel that saw it down may refuse calls for a
// moment. Bounded to 15 s.
absl::StatusOr<v1::Article> GetAfterRestart(Client& client,
                                            const v1::GetArticleRequest& r) {
  const absl::Time deadline = absl::Now() + absl::Seconds(15);
  absl::StatusOr<v1::Article> got = client.GetArticle(r);
  // A server just restarted can be slow to answer its first calls (under
  // ASan it once passed the client's timeout): retried like a refusal.
  while (!got.ok() &&
         (got.status().code() == absl::StatusCode::kUnavailable ||
          got.status().code() == absl::StatusCode::kDeadlineExceeded) &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
    got = client.GetArticle(r);
  }
  return got;
}

bool Retryable(absl::StatusCode code) {
  return code == absl::StatusCode::kUnavailable ||
         code == absl::StatusCode::kDeadlineExceeded ||
         code == absl::StatusCode::kCancelled;
}

class CrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    data_dir_ = tmp_.path() + "/data";
    server_ = ServerProcess::Start(data_dir_);
    ASSERT_NE(server_, nullptr);
    address_ = server_->address();
  }

  // Runs one writer thread until stop_: creates, conditional updates,
  // deletes and undeletes of its own articles, recording every ack.
  void Writer(int w) {
    std::unique_ptr<Client> client = Connect(address_, 1);
    absl::BitGen gen;
    int64_t op = 0;
    while (!stop_.load()) {
      const std::string id =
          absl::StrCat("w", w, "-", absl::Uniform(gen, 0, kArticlesPerWriter));
      ArticleModel m;
      {
        std::lock_guard<std::mutex> lock(mu_);
        m = models_[id];
      }
      ++op;
      if (!m.known) {
        absl::StatusOr<v1::Article> head = client->GetArticle([&] {
          v1::GetArticleRequest r;
          r.set_name(ArticleName(id));
          r.set_show_deleted(true);
          return r;
        }());
        std::lock_guard<std::mutex> lock(mu_);
        ArticleModel& mm = models_[id];
        if (head.ok()) {
          mm.known = true;
          mm.exists = true;
          mm.head = head->revision();
          mm.deleted = head->has_delete_time();
        } else if (head.status().code() == absl::StatusCode::kNotFound) {
          mm.known = true;
          mm.exists = false;
        } else {
          absl::SleepFor(absl::Milliseconds(10));
        }
        continue;
      }
      absl::StatusOr<v1::Article> result;
      std::string what;
      if (!m.exists) {
        what = "create";
        v1::CreateArticleRequest r;
        r.set_article_id(id);
        *r.mutable_article() = Content(id, w, op);
        result = client->CreateArticle(r);
      } else if (m.deleted) {
        what = "undelete";
        v1::UndeleteArticleRequest r;
        r.set_name(ArticleName(id));
        r.set_expected_revision(m.head);
        result = client->UndeleteArticle(r);
      } else if (absl::Bernoulli(gen, 0.1)) {
        what = "delete";
        v1::DeleteArticleRequest r;
        r.set_name(ArticleName(id));
        r.set_expected_revision(m.head);
        result = client->DeleteArticle(r);
      } else {
        what = "update";
        v1::UpdateArticleRequest r;
        *r.mutable_article() = Content(id, w, op);
        r.set_expected_revision(m.head);
        result = client->UpdateArticle(r);
      }
      std::lock_guard<std::mutex> lock(mu_);
      ArticleModel& mm = models_[id];
      if (result.ok()) {
        ++acks_;
        // A conditional write on a known head gets exactly the next
        // revision: anything else is a lost or a doubled revision.
        EXPECT_EQ(result->revision(), m.head + 1)
            << what << " " << id << " acked the wrong revision";
        mm.exists = true;
        mm.head = result->revision();
        mm.deleted = result->has_delete_time();
        mm.last_error_deadline = false;
        mm.acked.push_back(
            {result->revision(), result->content_hash(), mm.deleted, false});
        continue;
      }
      const absl::StatusCode code = result.status().code();
      ++errors_[code];
      if (!Retryable(code) && !m.last_error_deadline) {
        ADD_FAILURE() << what << " " << id << " at head " << m.head
                      << " failed unexpectedly: " << result.status();
      }
      mm.known = false;
      mm.last_error_deadline = code == absl::StatusCode::kDeadlineExceeded;
      if (Retryable(code)) absl::SleepFor(absl::Milliseconds(10));
    }
  }

  // Imports batches of new articles, one ImportArticles call per batch;
  // a batch whose results came back is acknowledged. Every other batch is
  // big enough (64 or more) to ingest its text postings as a table file
  // (KvEngine::Ingest), so kills also land between ingest and commit.
  void Importer() {
    std::unique_ptr<Client> client = Connect(address_, 1);
    int batch_no = 0;
    while (!stop_.load()) {
      ++batch_no;
      std::vector<std::string> ids;
      bool sent = false;
      v1::ImportArticlesResponse results;
      absl::Status s = client->ImportArticles(
          [&](v1::ImportArticlesRequest* req) {
            if (sent) return false;
            sent = true;
            for (int k = 0; k < BatchSize(batch_no); ++k) {
              const std::string id = absl::StrCat("imp", batch_no, "-", k);
              ids.push_back(id);
              *req->add_articles() = Content(id, 99, batch_no * 100 + k);
            }
            return true;
          },
          [&](const v1::ImportArticlesResponse& r) { results = r; });
      if (results.results_size() == 0) {
        absl::SleepFor(absl::Milliseconds(20));
        continue;
      }
      std::lock_guard<std::mutex> lock(mu_);
      EXPECT_EQ(results.results_size(), BatchSize(batch_no)) << s;
      for (int k = 0; k < results.results_size(); ++k) {
        const v1::ImportResult& r = results.results(k);
        EXPECT_EQ(r.outcome(), v1::ImportResult::OUTCOME_CREATED) << r.error();
        imported_.push_back({ids[k], r.revision()});
      }
      ++acked_batches_;
      absl::SleepFor(absl::Milliseconds(50));
    }
  }

  static int BatchSize(int batch_no) { return batch_no % 2 == 0 ? 80 : 25; }

  // Watches from the start across every kill.
  void Watcher() {
    std::unique_ptr<Client> client = Connect(address_, 4);
    v1::WatchArticlesRequest req;
    req.set_view(v1::WatchArticlesRequest::VIEW_NAME_ONLY);
    watch_status_ = client->Watch(
        req,
        [&](const v1::WatchArticlesResponse& e) {
          std::lock_guard<std::mutex> lock(mu_);
          events_.push_back(e.event());
          return true;
        },
        &watch_cancel_);
  }

  // Stops the server with SIGKILL and checks the data directory offline.
  // Returns the last sequence fsck reports.
  int64_t KillAndCheck() {
    server_->Stop(SIGKILL);
    testing::CommandResult r = RunCommand(
        {testing::ContentdBinary(), "--check", "--data-dir", data_dir_});
    EXPECT_EQ(r.exit_code, 0) << "fsck after kill " << kills_ << ":\n"
                              << r.out << r.err;
    ++kills_;
    const size_t at = r.out.find("..");
    int64_t last = -1;
    if (at != std::string::npos) {
      const size_t end = r.out.find(')', at);
      (void)absl::SimpleAtoi(r.out.substr(at + 2, end - at - 2), &last);
    }
    return last;
  }

  // Every acked revision not yet verified is present with its content.
  void VerifyAcked(Client& client) {
    std::map<std::string, ArticleModel> snapshot;
    std::vector<std::pair<std::string, int64_t>> imported;
    {
      std::lock_guard<std::mutex> lock(mu_);
      snapshot = models_;
      imported = imported_;
    }
    for (auto& [id, m] : snapshot) {
      if (m.acked.empty()) continue;
      v1::GetArticleRequest head_req;
      head_req.set_name(ArticleName(id));
      head_req.set_show_deleted(true);
      absl::StatusOr<v1::Article> head = GetAfterRestart(client, head_req);
      ASSERT_TRUE(head.ok()) << id << ": " << head.status();
      EXPECT_GE(head->revision(), m.acked.back().revision) << id;
      for (size_t k = 0; k < m.acked.size(); ++k) {
        const Acked& a = m.acked[k];
        if (a.verified) continue;
        v1::GetArticleRequest r = head_req;
        r.set_revision(a.revision);
        absl::StatusOr<v1::Article> got = GetAfterRestart(client, r);
        ASSERT_TRUE(got.ok())
            << id << " revision " << a.revision << ": " << got.status();
        EXPECT_EQ(got->content_hash(), a.content_hash)
            << id << " " << a.revision;
        EXPECT_EQ(got->has_delete_time(), a.deleted) << id << " " << a.revision;
        ++verified_revisions_;
        std::lock_guard<std::mutex> lock(mu_);
        models_[id].acked[k].verified = true;
      }
    }
    for (; imports_verified_ < imported.size(); ++imports_verified_) {
      const auto& [id, revision] = imported[imports_verified_];
      v1::GetArticleRequest r;
      r.set_name(ArticleName(id));
      r.set_revision(revision);
      absl::StatusOr<v1::Article> got = GetAfterRestart(client, r);
      ASSERT_TRUE(got.ok()) << "imported " << id << ": " << got.status();
    }
  }

  static constexpr int kWriters = 4;
  static constexpr int kArticlesPerWriter = 6;

  TempDir tmp_;
  std::string data_dir_;
  std::string address_;
  std::unique_ptr<ServerProcess> server_;
  std::atomic<bool> stop_{false};
  std::mutex mu_;
  std::map<std::string, ArticleModel> models_;
  std::vector<std::pair<std::string, int64_t>> imported_;
  std::vector<v1::ChangeEvent> events_;
  std::map<absl::StatusCode, int> errors_;
  int64_t acks_ = 0;
  int acked_batches_ = 0;
  int kills_ = 0;
  int64_t verified_revisions_ = 0;
  size_t imports_verified_ = 0;
  absl::Status watch_status_;
  WatchCanceller watch_cancel_;
};

TEST_F(CrashTest, AcknowledgedWritesSurviveSigkill) {
  const absl::Duration budget =
      absl::Seconds(EnvInt("CONTENT_CRASH_SECONDS", 60));
  const int64_t max_kills =
      EnvInt("CONTENT_CRASH_KILLS",
             std::getenv("CONTENT_CRASH_SECONDS") ? 1 << 30 : 20);
  const absl::Time start = absl::Now();
  std::unique_ptr<Client> checker = Connect(address_, 4);
  ASSERT_NE(checker, nullptr);

  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w)
    threads.emplace_back([this, w] { Writer(w); });
  threads.emplace_back([this] { Importer(); });
  std::thread watcher([this] { Watcher(); });
  // Stopped and joined however the test ends: an assertion below returned
  // with them running, which ended the binary (std::terminate).
  absl::Cleanup join = [&] {
    stop_ = true;
    for (auto& t : threads) {
      if (t.joinable()) t.join();
    }
    watch_cancel_.Cancel();
    if (watcher.joinable()) watcher.join();
  };

  absl::BitGen gen;
  // Each cycle: let the load run a random while, kill, check, restart.
  // Bounded by count and by time (cycles run ~2-3 s in CI).
  while (kills_ < max_kills && absl::Now() - start < budget) {
    absl::SleepFor(absl::Milliseconds(absl::Uniform(gen, 150, 1200)));
    KillAndCheck();
    if (HasFatalFailure()) break;
    ASSERT_TRUE(server_->RestartOnSamePort()) << server_->Log();
    VerifyAcked(*checker);
    if (HasFatalFailure()) break;
  }
  stop_ = true;
  for (auto& t : threads) t.join();

  // Final state: everything acked, and the watcher caught up exactly.
  const int64_t last = KillAndCheck();
  ASSERT_TRUE(server_->RestartOnSamePort()) << server_->Log();
  VerifyAcked(*checker);
  ASSERT_GT(last, 0);
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  while (absl::Now() < deadline) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!events_.empty() && events_.back().sequence() >= last) break;
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  watch_cancel_.Cancel();
  watcher.join();
  EXPECT_TRUE(watch_status_.ok()) << watch_status_;

  std::lock_guard<std::mutex> lock(mu_);
  ASSERT_EQ(static_cast<int64_t>(events_.size()), last)
      << "the watcher missed or repeated events";
  std::set<std::pair<std::string, int64_t>> seen;
  for (size_t k = 0; k < events_.size(); ++k) {
    ASSERT_EQ(events_[k].sequence(), static_cast<int64_t>(k) + 1)
        << "event out of order or repeated at " << k;
    seen.insert({ArticleId(events_[k].name()), events_[k].revision()});
  }
  for (const auto& [id, m] : models_) {
    for (const Acked& a : m.acked)
      EXPECT_TRUE(seen.count({id, a.revision})) << id << " " << a.revision;
  }
  for (const auto& [id, revision] : imported_)
    EXPECT_TRUE(seen.count({id, revision})) << id;

  // The suite proved something only if the load actually ran across kills.
  EXPECT_GE(kills_, std::min<int64_t>(max_kills, 3));
  EXPECT_GT(acks_, kills_);
  EXPECT_GT(acked_batches_, 0);
  std::string errors;
  for (const auto& [code, n] : errors_)
    absl::StrAppend(&errors, absl::StatusCodeToString(code), "=", n, " ");
  std::cerr << "crash suite: " << kills_ << " kills, " << acks_
            << " acked writes, " << acked_batches_ << " acked import batches, "
            << verified_revisions_ << " revisions verified, " << events_.size()
            << " events watched; errors: " << errors << "\n";
}

}  // namespace
}  // namespace content
