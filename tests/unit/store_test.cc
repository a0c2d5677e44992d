// Tests for the versioned article store (server/store/store.h): revisions,
// conditions, tombstones, the change log, reopening, posting-list index
// consistency and concurrent writers.

#include "server/store/store.h"

#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "content/v1/article.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/store/fsck.h"
#include "server/store/keys.h"
#include "server/store/kv.h"
#include "server/store/rocksdb_kv.h"
#include "server/text/tokenizer.h"

namespace content::store {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using v1::Article;
using v1::ChangeEvent;

constexpr int64_t kBaseSeconds = 1700000000;  // 2023-11-14

std::string MakeTempDir() {
  const char* tmp = getenv("TMPDIR");
  std::string pattern = absl::StrCat(
      tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/store_test.XXXXXX");
  char* dir = mkdtemp(pattern.data());
  EXPECT_NE(dir, nullptr);
  return pattern;
}

Article MakeArticle(absl::string_view title, std::vector<std::string> tags = {},
                    std::vector<std::string> categories = {},
                    std::vector<std::string> langs = {},
                    int64_t date_seconds = kBaseSeconds) {
  Article a;
  a.set_title(std::string(title));
  a.set_body(absl::StrCat("Body of ", title));
  for (auto& t : tags) a.add_tags(t);
  for (auto& c : categories) a.add_categories(c);
  for (auto& l : langs) a.add_lang(l);
  a.mutable_date()->set_seconds(date_seconds);
  return a;
}

int64_t Seconds(const google::protobuf::Timestamp& t) { return t.seconds(); }

class StoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = MakeTempDir();
    Open();
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // (Re)opens the store on dir_. The clock ticks one second per call, so
  // create and update times of successive writes differ.
  void Open(bool sync = false) {
    store_.reset();
    StoreOptions options;
    options.data_dir = dir_;
    options.sync = sync;
    options.block_cache_bytes = size_t{8} << 20;
    options.clock = [this] {
      return absl::FromUnixSeconds(clock_.fetch_add(1) + 1);
    };
    absl::StatusOr<std::unique_ptr<Store>> store = Store::Open(options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  Article MustCreate(absl::string_view id, Article a) {
    absl::StatusOr<Article> created = store_->Create(id, std::move(a));
    EXPECT_TRUE(created.ok()) << created.status();
    return created.ok() ? *created : Article();
  }

  // Articles a0..a119 tagged x and y, about 60 text postings each: over
  // 4096 postings in all, enough for a check or repair to report progress.
  void CreateWordyArticles() {
    for (int i = 0; i < 120; ++i) {
      Article a = MakeArticle(absl::StrCat("article ", i), {"x", "y"});
      std::string body;
      for (int w = 0; w < 60; ++w)
        absl::StrAppend(&body, "word", i, "w", w, " ");
      a.set_body(body);
      MustCreate(absl::StrCat("a", i), a);
    }
  }

  Article MustGet(absl::string_view id, int64_t revision = 0,
                  bool show_deleted = true) {
    absl::StatusOr<Article> a = store_->Get(id, revision, show_deleted);
    EXPECT_TRUE(a.ok()) << a.status();
    return a.ok() ? *a : Article();
  }

  std::vector<ChangeEvent> AllChanges() {
    absl::StatusOr<std::vector<ChangeEvent>> changes =
        store_->ReadChanges(0, 1 << 30);
    EXPECT_TRUE(changes.ok()) << changes.status();
    return changes.ok() ? *changes : std::vector<ChangeEvent>();
  }

  std::string dir_;
  std::atomic<int64_t> clock_{kBaseSeconds};
  std::unique_ptr<Store> store_;
};

// A restored backup's first start jumps the numbering past what its source
// may have given out (SkipSequencesAfterRestore): the log then has a hole
// that is no loss. Keep-N-events retention counted the skipped numbers as
// events, and dropped every event from before the restore at its first
// pass.
TEST_F(StoreTest, ASequenceJumpAfterARestoreIsNoHoleAndNoEvents) {
  for (int i = 0; i < 3; ++i)
    MustCreate(absl::StrCat("old", i), MakeArticle("old"));
  bool deferred = true;
  absl::StatusOr<bool> skipped =
      store_->SkipSequencesAfterRestore(3, &deferred);
  ASSERT_TRUE(skipped.ok()) << skipped.status();
  EXPECT_TRUE(*skipped);
  EXPECT_FALSE(deferred);
  const int64_t through = 3 + kRestoreSequenceGap;
  EXPECT_EQ(store_->last_sequence(), through);
  MustCreate("new0", MakeArticle("new"));
  MustCreate("new1", MakeArticle("new"));
  // Once only, and kept across a reopen.
  Open();
  skipped = store_->SkipSequencesAfterRestore(3, &deferred);
  ASSERT_TRUE(skipped.ok()) << skipped.status();
  EXPECT_FALSE(*skipped);
  EXPECT_EQ(store_->last_sequence(), through + 2);
  EXPECT_EQ(store_->SkipSequenceGaps(4), through + 1);
  EXPECT_TRUE(store_->GapHolding(5).has_value());
  EXPECT_FALSE(store_->GapHolding(3).has_value());
  EXPECT_FALSE(store_->GapHolding(through).has_value());
  absl::StatusOr<FsckReport> report = CheckStore(*store_);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->clean()) << report->ToString();

  // The newest 4 events: 2, 3 and the two after the jump.
  ASSERT_TRUE(store_->TrimChanges(4, absl::ZeroDuration()).ok());
  std::vector<int64_t> kept;
  for (const ChangeEvent& e : AllChanges()) kept.push_back(e.sequence());
  EXPECT_THAT(kept, ElementsAre(2, 3, through + 1, through + 2));
}

// ---- Create / Get --------------------------------------------------------

TEST_F(StoreTest, CreateWritesRevisionOneWithServerFields) {
  Article in = MakeArticle("Hello", {"go", "db"}, {"tech"}, {"en"});
  in.set_name("articles/ignored");
  in.set_revision(42);
  in.set_etag("bogus");
  in.mutable_delete_time()->set_seconds(5);
  Article a = MustCreate("hello", in);
  EXPECT_EQ(a.name(), "articles/hello");
  EXPECT_EQ(a.revision(), 1);
  EXPECT_TRUE(a.has_create_time());
  EXPECT_TRUE(a.has_update_time());
  EXPECT_EQ(Seconds(a.create_time()), Seconds(a.update_time()));
  EXPECT_FALSE(a.has_delete_time());
  EXPECT_FALSE(a.etag().empty());
  EXPECT_NE(a.etag(), "bogus");
  EXPECT_EQ(a.content_hash().size(), 64u);
  EXPECT_EQ(a.content_hash(), Store::ContentHash(in));
  EXPECT_EQ(a.title(), "Hello");
  EXPECT_THAT(a.tags(), ElementsAre("go", "db"));
  EXPECT_EQ(store_->last_sequence(), 1);

  Article got = MustGet("hello", 0, /*show_deleted=*/false);
  EXPECT_EQ(got.SerializeAsString(), a.SerializeAsString());
}

TEST_F(StoreTest, CreateOnTakenIdIsAlreadyExistsAndWritesNothing) {
  MustCreate("taken", MakeArticle("First"));
  absl::StatusOr<Article> again = store_->Create("taken", MakeArticle("Two"));
  EXPECT_EQ(again.status().code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(again.status().message(), HasSubstr("articles/taken"));
  EXPECT_EQ(store_->last_sequence(), 1);
  EXPECT_EQ(MustGet("taken").title(), "First");
  EXPECT_EQ(AllChanges().size(), 1u);
}

TEST_F(StoreTest, CreateOnDeletedIdIsAlreadyExists) {
  MustCreate("gone", MakeArticle("First"));
  ASSERT_TRUE(store_->Delete("gone", {}).ok());
  EXPECT_EQ(store_->Create("gone", MakeArticle("Two")).status().code(),
            absl::StatusCode::kAlreadyExists);
}

TEST_F(StoreTest, GetHeadAndByRevision) {
  MustCreate("a", MakeArticle("v1"));
  ASSERT_TRUE(store_->Update("a", MakeArticle("v2"), {}).ok());
  ASSERT_TRUE(store_->Update("a", MakeArticle("v3"), {}).ok());
  EXPECT_EQ(MustGet("a").title(), "v3");
  EXPECT_EQ(MustGet("a").revision(), 3);
  for (int r = 1; r <= 3; ++r) {
    Article a = MustGet("a", r);
    EXPECT_EQ(a.revision(), r);
    EXPECT_EQ(a.title(), absl::StrCat("v", r));
  }
}

TEST_F(StoreTest, GetMissingIsNotFound) {
  MustCreate("a", MakeArticle("v1"));
  EXPECT_EQ(store_->Get("b", 0, false).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Get("b", 0, true).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Get("b", 1, false).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Get("a", 2, false).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Get("a", -1, false).status().code(),
            absl::StatusCode::kInvalidArgument);
  // The empty id names nothing.
  EXPECT_EQ(store_->Get("", 0, true).status().code(),
            absl::StatusCode::kNotFound);
}

// ---- Update --------------------------------------------------------------

TEST_F(StoreTest, UpdateWritesNewRevisionAndKeepsCreateTime) {
  Article v1 = MustCreate("a", MakeArticle("v1", {"x"}));
  absl::StatusOr<Article> v2 =
      store_->Update("a", MakeArticle("v2", {"y"}), {});
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_EQ(v2->revision(), 2);
  EXPECT_EQ(v2->name(), "articles/a");
  EXPECT_EQ(Seconds(v2->create_time()), Seconds(v1.create_time()));
  EXPECT_GT(Seconds(v2->update_time()), Seconds(v1.update_time()));
  EXPECT_NE(v2->etag(), v1.etag());
  EXPECT_NE(v2->content_hash(), v1.content_hash());
  EXPECT_EQ(store_->last_sequence(), 2);
  EXPECT_EQ(MustGet("a", 1).title(), "v1");
}

TEST_F(StoreTest, IdenticalUpdateWritesNoRevision) {
  Article v1 = MustCreate("a", MakeArticle("same", {"x"}));
  // Server-set fields and the name in the request do not make it different.
  Article again = MakeArticle("same", {"x"});
  again.set_name("articles/a");
  again.set_revision(7);
  again.set_etag(v1.etag());
  again.mutable_update_time()->set_seconds(1);
  absl::StatusOr<Article> out = store_->Update("a", again, {});
  ASSERT_TRUE(out.ok()) << out.status();
  EXPECT_EQ(out->revision(), 1);
  EXPECT_EQ(out->etag(), v1.etag());
  EXPECT_EQ(store_->last_sequence(), 1);
  EXPECT_EQ(MustGet("a").revision(), 1);
  EXPECT_EQ(store_->Get("a", 2, true).status().code(),
            absl::StatusCode::kNotFound);
}

TEST_F(StoreTest, ConditionMismatchIsFailedPreconditionAndWritesNothing) {
  Article v1 = MustCreate("a", MakeArticle("v1"));
  WriteConditions wrong_revision;
  wrong_revision.expected_revision = 2;
  WriteConditions wrong_etag;
  wrong_etag.etag = "1-0000000000000000";
  for (const WriteConditions& c : {wrong_revision, wrong_etag}) {
    EXPECT_EQ(store_->Update("a", MakeArticle("v2"), c).status().code(),
              absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(store_->Delete("a", c).status().code(),
              absl::StatusCode::kFailedPrecondition);
  }
  // An identical update with a stale condition fails too.
  EXPECT_EQ(
      store_->Update("a", MakeArticle("v1"), wrong_revision).status().code(),
      absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->last_sequence(), 1);
  Article head = MustGet("a");
  EXPECT_EQ(head.SerializeAsString(), v1.SerializeAsString());

  WriteConditions right;
  right.expected_revision = 1;
  right.etag = v1.etag();
  absl::StatusOr<Article> v2 = store_->Update("a", MakeArticle("v2"), right);
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_EQ(v2->revision(), 2);
  // The old etag is stale now.
  WriteConditions stale;
  stale.etag = v1.etag();
  EXPECT_EQ(store_->Delete("a", stale).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(StoreTest, UpdateOfMissingIsNotFound) {
  EXPECT_EQ(store_->Update("nope", MakeArticle("x"), {}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Delete("nope", {}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Undelete("nope", {}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->last_sequence(), 0);
}

using Done = std::function<void(absl::StatusOr<Article>)>;

// Starts an asynchronous write with a `done` callback and waits for it;
// returns what it was called with, checking it was called exactly once.
absl::StatusOr<Article> AwaitOnce(const std::function<void(Done)>& start) {
  absl::Mutex mu;
  int calls = 0;
  absl::StatusOr<Article> got = absl::UnknownError("not called");
  start([&](absl::StatusOr<Article> a) {
    absl::MutexLock lock(&mu);
    ++calls;
    got = std::move(a);
  });
  absl::MutexLock lock(&mu);
  mu.Await(absl::Condition(
      +[](int* n) { return *n > 0; }, &calls));
  EXPECT_EQ(calls, 1);
  return got;
}

// UpdateAsync returns before its commit; `done` runs once, with what
// Update would have returned, for every outcome.
TEST_F(StoreTest, UpdateAsyncAnswersAsUpdateWould) {
  MustCreate("a", MakeArticle("one", {"t1"}));
  auto update = [this](absl::string_view id, Article content,
                       WriteConditions conditions = {}) {
    return AwaitOnce([&](Done done) {
      store_->UpdateAsync(id, std::move(content), conditions, std::move(done));
    });
  };
  absl::StatusOr<Article> two = update("a", MakeArticle("two", {"t2"}));
  ASSERT_TRUE(two.ok()) << two.status();
  EXPECT_EQ(two->revision(), 2);
  EXPECT_EQ(MustGet("a").title(), "two");
  // Unchanged content: the head, no new revision.
  absl::StatusOr<Article> same = update("a", MakeArticle("two", {"t2"}));
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_EQ(same->revision(), 2);
  EXPECT_EQ(update("a", MakeArticle("x"), {1, ""}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(update("missing", MakeArticle("x")).status().code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(store_->Delete("a", {}).ok());
  EXPECT_EQ(update("a", MakeArticle("x")).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(AllChanges().size(), 3u) << "create, update, delete";
}

// CreateAsync answers as Create would: the article at revision 1, or
// ALREADY_EXISTS (the existing head untouched), and concurrent creates of
// one id make exactly one article.
TEST_F(StoreTest, CreateAsyncAnswersAsCreateWould) {
  auto create = [this](absl::string_view id, Article content) {
    return AwaitOnce([&](Done done) {
      store_->CreateAsync(id, std::move(content), std::move(done));
    });
  };
  absl::StatusOr<Article> a = create("a", MakeArticle("one", {"t1"}));
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->revision(), 1);
  EXPECT_TRUE(a->has_create_time());
  EXPECT_EQ(MustGet("a").title(), "one");
  EXPECT_EQ(create("a", MakeArticle("two")).status().code(),
            absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(MustGet("a").title(), "one");

  std::atomic<int> pending{0}, created{0}, exists{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&, t] {
      ++pending;
      store_->CreateAsync("race", MakeArticle(absl::StrCat("w", t), {"t"}),
                          [&](absl::StatusOr<Article> r) {
                            if (r.ok()) ++created;
                            if (absl::IsAlreadyExists(r.status())) ++exists;
                            --pending;
                          });
    });
  }
  for (std::thread& t : threads) t.join();
  while (pending.load() > 0) std::this_thread::yield();
  EXPECT_EQ(created.load(), 1);
  EXPECT_EQ(exists.load(), 7);
  EXPECT_EQ(MustGet("race").revision(), 1);
  EXPECT_EQ(AllChanges().size(), 2u) << "a and race, once each";
}

// DeleteAsync, UndeleteAsync and RestoreAsync answer as Delete, Undelete
// and Restore would, each calling `done` once, for every outcome; racing
// deletes and undeletes of one id alternate, none lost.
TEST_F(StoreTest, DeleteUndeleteRestoreAsyncAnswerAsSyncWould) {
  MustCreate("a", MakeArticle("one", {"x"}));
  ASSERT_TRUE(store_->Update("a", MakeArticle("two", {"y"}), {}).ok());
  auto del = [this](absl::string_view id, WriteConditions c = {}) {
    return AwaitOnce(
        [&](Done done) { store_->DeleteAsync(id, c, std::move(done)); });
  };
  auto undel = [this](absl::string_view id, WriteConditions c = {}) {
    return AwaitOnce(
        [&](Done done) { store_->UndeleteAsync(id, c, std::move(done)); });
  };
  auto restore = [this](absl::string_view id, int64_t revision,
                        WriteConditions c = {}) {
    return AwaitOnce([&](Done done) {
      store_->RestoreAsync(id, revision, c, std::move(done));
    });
  };
  EXPECT_EQ(del("a", {1, ""}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(del("missing").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(undel("a").status().code(), absl::StatusCode::kFailedPrecondition);
  absl::StatusOr<Article> tomb = del("a", {2, ""});
  ASSERT_TRUE(tomb.ok()) << tomb.status();
  EXPECT_EQ(tomb->revision(), 3);
  EXPECT_TRUE(tomb->has_delete_time());
  EXPECT_EQ(store_->Get("a", 0, false).status().code(),
            absl::StatusCode::kNotFound);
  absl::StatusOr<Article> again = del("a");
  EXPECT_EQ(again.status().code(), absl::StatusCode::kNotFound);
  EXPECT_THAT(std::string(again.status().message()),
              HasSubstr("articles/a is already deleted"));
  absl::StatusOr<Article> back = undel("a", {3, ""});
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->revision(), 4);
  EXPECT_EQ(MustGet("a").title(), "two");

  EXPECT_EQ(restore("a", 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(restore("a", 9).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(restore("a", 3).status().code(), absl::StatusCode::kInvalidArgument)
      << "revision 3 is a tombstone";
  absl::StatusOr<Article> one = restore("a", 1, {4, ""});
  ASSERT_TRUE(one.ok()) << one.status();
  EXPECT_EQ(one->revision(), 5);
  EXPECT_EQ(MustGet("a").title(), "one");
  absl::StatusOr<Article> same = restore("a", 1);  // the head holds it
  ASSERT_TRUE(same.ok()) << same.status();
  EXPECT_EQ(same->revision(), 5);
  std::vector<ChangeEvent> events = AllChanges();
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(events[2].type(), ChangeEvent::TYPE_DELETED);
  EXPECT_EQ(events[3].type(), ChangeEvent::TYPE_UNDELETED);
  EXPECT_EQ(events[4].type(), ChangeEvent::TYPE_UPDATED);

  // Racing writers on one id: each delete or undelete sees the head the
  // previous one committed, so exactly the ones that find the state they
  // change succeed, and the revisions count them.
  constexpr int kThreads = 8, kRounds = 25;
  std::atomic<int> pending{0}, written{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int r = 0; r < kRounds; ++r) {
        ++pending;
        Done done = [&](absl::StatusOr<Article> a) {
          if (a.ok()) ++written;
          --pending;
        };
        if ((t + r) % 2 == 0) {
          store_->DeleteAsync("a", {}, std::move(done));
        } else {
          store_->UndeleteAsync("a", {}, std::move(done));
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  while (pending.load() > 0) std::this_thread::yield();
  EXPECT_GT(written.load(), 0);
  Article head = MustGet("a", 0, true);
  EXPECT_EQ(head.revision(), 5 + written.load());
  EXPECT_EQ(AllChanges().size(), 5u + written.load());
  EXPECT_EQ(head.has_delete_time(), written.load() % 2 == 1)
      << "deletes and undeletes alternate from a live head";
}

// Asynchronous updates and synchronous writes share the group commit: none
// is lost or applied twice, each article's revisions follow its writes, and
// the change log has no gap.
TEST_F(StoreTest, AsyncAndSyncWritersShareTheGroupCommit) {
  constexpr int kArticles = 8;
  constexpr int kRounds = 40;
  for (int i = 0; i < kArticles; ++i)
    MustCreate(absl::StrCat("a", i), MakeArticle("v0", {"t"}));
  std::atomic<int> pending{0}, failed{0};
  std::vector<std::thread> threads;
  for (int i = 0; i < kArticles; ++i) {
    threads.emplace_back([&, i] {
      const std::string id = absl::StrCat("a", i);
      for (int r = 1; r <= kRounds; ++r) {
        Article content = MakeArticle(absl::StrCat("v", r), {"t"});
        if (i % 2 == 0) {  // async: conditional on the revision it follows
          ++pending;
          store_->UpdateAsync(id, std::move(content), {r, ""},
                              [&](absl::StatusOr<Article> a) {
                                if (!a.ok()) ++failed;
                                --pending;
                              });
          // The next condition needs this write's head: wait for it.
          while (pending.load() > 0 && MustGet(id).revision() < r + 1)
            std::this_thread::yield();
        } else {
          if (!store_->Update(id, std::move(content), {r, ""}).ok()) ++failed;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  while (pending.load() > 0) std::this_thread::yield();
  EXPECT_EQ(failed.load(), 0);
  for (int i = 0; i < kArticles; ++i) {
    const Article head = MustGet(absl::StrCat("a", i));
    EXPECT_EQ(head.revision(), kRounds + 1);
    EXPECT_EQ(head.title(), absl::StrCat("v", kRounds));
  }
  const std::vector<ChangeEvent> changes = AllChanges();
  ASSERT_EQ(changes.size(), static_cast<size_t>(kArticles * (kRounds + 1)));
  for (size_t k = 0; k < changes.size(); ++k)
    EXPECT_EQ(changes[k].sequence(), static_cast<int64_t>(k + 1));
}

// ---- Delete / Undelete ---------------------------------------------------

TEST_F(StoreTest, DeleteWritesTombstone) {
  Article v1 = MustCreate("a", MakeArticle("v1", {"t"}));
  absl::StatusOr<Article> tomb = store_->Delete("a", {});
  ASSERT_TRUE(tomb.ok()) << tomb.status();
  EXPECT_EQ(tomb->revision(), 2);
  EXPECT_TRUE(tomb->has_delete_time());
  EXPECT_EQ(Seconds(tomb->delete_time()), Seconds(tomb->update_time()));
  EXPECT_EQ(Seconds(tomb->create_time()), Seconds(v1.create_time()));
  EXPECT_EQ(tomb->title(), "v1");
  EXPECT_EQ(tomb->content_hash(), v1.content_hash());

  absl::StatusOr<Article> hidden = store_->Get("a", 0, false);
  EXPECT_EQ(hidden.status().code(), absl::StatusCode::kNotFound);
  Article shown = MustGet("a", 0, true);
  EXPECT_EQ(shown.revision(), 2);
  EXPECT_TRUE(shown.has_delete_time());
  // Old revisions stay readable.
  EXPECT_EQ(MustGet("a", 1, false).title(), "v1");

  EXPECT_EQ(store_->Update("a", MakeArticle("v2"), {}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Delete("a", {}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->last_sequence(), 2);
}

TEST_F(StoreTest, UndeleteRestoresAsNewRevision) {
  MustCreate("a", MakeArticle("v1", {"t"}));
  ASSERT_TRUE(store_->Delete("a", {}).ok());
  WriteConditions wrong;
  wrong.expected_revision = 1;
  EXPECT_EQ(store_->Undelete("a", wrong).status().code(),
            absl::StatusCode::kFailedPrecondition);
  WriteConditions right;
  right.expected_revision = 2;
  absl::StatusOr<Article> back = store_->Undelete("a", right);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->revision(), 3);
  EXPECT_FALSE(back->has_delete_time());
  EXPECT_EQ(back->title(), "v1");
  EXPECT_THAT(back->tags(), ElementsAre("t"));
  Article head = MustGet("a", 0, false);
  EXPECT_EQ(head.revision(), 3);

  EXPECT_EQ(store_->Undelete("a", {}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->last_sequence(), 3);
  // Live again: updates work.
  absl::StatusOr<Article> v4 = store_->Update("a", MakeArticle("v4"), {});
  ASSERT_TRUE(v4.ok()) << v4.status();
  EXPECT_EQ(v4->revision(), 4);
}

// ---- ListRevisions -------------------------------------------------------

// Revisions stop being read (and decoded) once they hold the byte bound,
// with at least one listed and the cut reported.
TEST_F(StoreTest, ListRevisionsStopsAtItsByteBound) {
  Article big = MakeArticle("v1");
  big.set_body(std::string(900 << 10, 'x'));
  MustCreate("big", big);
  for (int i = 2; i <= 10; ++i) {
    big.set_title(absl::StrCat("v", i));
    ASSERT_TRUE(store_->Update("big", big, {}).ok());
  }
  bool cut = false;
  absl::StatusOr<std::vector<Article>> list =
      store_->ListRevisions("big", 0, 1001, size_t{2} << 20, &cut);
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->size(), 2u);  // a third would pass 2 MiB
  EXPECT_TRUE(cut);
  list = store_->ListRevisions("big", 0, 1001, 1, &cut);
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->size(), 1u);
  EXPECT_TRUE(cut);
  list = store_->ListRevisions("big", 0, 1001, size_t{100} << 20, &cut);
  ASSERT_TRUE(list.ok()) << list.status();
  EXPECT_EQ(list->size(), 10u);
  EXPECT_FALSE(cut);
  list = store_->ListRevisions("big", 2, 1001, 1, &cut);
  ASSERT_TRUE(list.ok()) << list.status();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(list->front().revision(), 2);
}

TEST_F(StoreTest, ListRevisionsNewestFirstWithStartAndLimit) {
  MustCreate("a", MakeArticle("v1"));
  // An id sharing a prefix must not leak into the listing.
  MustCreate("ab", MakeArticle("other"));
  for (int i = 2; i <= 5; ++i)
    ASSERT_TRUE(
        store_->Update("a", MakeArticle(absl::StrCat("v", i)), {}).ok());
  auto revisions = [&](int64_t start, int limit) {
    absl::StatusOr<std::vector<Article>> list =
        store_->ListRevisions("a", start, limit);
    EXPECT_TRUE(list.ok()) << list.status();
    std::vector<int64_t> out;
    if (list.ok()) {
      for (const Article& a : *list) {
        EXPECT_EQ(a.name(), "articles/a");
        out.push_back(a.revision());
      }
    }
    return out;
  };
  EXPECT_THAT(revisions(0, 100), ElementsAre(5, 4, 3, 2, 1));
  EXPECT_THAT(revisions(0, 2), ElementsAre(5, 4));
  EXPECT_THAT(revisions(3, 100), ElementsAre(3, 2, 1));
  EXPECT_THAT(revisions(3, 2), ElementsAre(3, 2));
  EXPECT_THAT(revisions(1, 5), ElementsAre(1));
  EXPECT_THAT(revisions(99, 2), ElementsAre(5, 4));
  EXPECT_EQ(store_->ListRevisions("nope", 0, 10).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->ListRevisions("nope", 3, 10).status().code(),
            absl::StatusCode::kNotFound);
  // An empty page of an existing article is not NOT_FOUND.
  absl::StatusOr<std::vector<Article>> empty = store_->ListRevisions("a", 0, 0);
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_TRUE(empty->empty());
  // A deleted article still has its history.
  ASSERT_TRUE(store_->Delete("a", {}).ok());
  EXPECT_THAT(revisions(0, 2), ElementsAre(6, 5));
}

// ---- Change log ----------------------------------------------------------

TEST_F(StoreTest, ReadChangesHasOneEventPerWriteWithoutGaps) {
  MustCreate("a", MakeArticle("v1"));
  MustCreate("b", MakeArticle("b1"));
  ASSERT_TRUE(store_->Update("a", MakeArticle("v2"), {}).ok());
  ASSERT_TRUE(store_->Update("a", MakeArticle("v2"), {}).ok());  // no-op
  ASSERT_TRUE(store_->Delete("a", {}).ok());
  ASSERT_FALSE(store_->Delete("a", {}).ok());  // failed: no event
  ASSERT_TRUE(store_->Undelete("a", {}).ok());
  std::vector<ChangeEvent> changes = AllChanges();
  ASSERT_EQ(changes.size(), 5u);
  const std::vector<std::pair<ChangeEvent::Type, std::string>> want = {
      {ChangeEvent::TYPE_CREATED, "articles/a"},
      {ChangeEvent::TYPE_CREATED, "articles/b"},
      {ChangeEvent::TYPE_UPDATED, "articles/a"},
      {ChangeEvent::TYPE_DELETED, "articles/a"},
      {ChangeEvent::TYPE_UNDELETED, "articles/a"}};
  const std::vector<int64_t> want_revision = {1, 1, 2, 3, 4};
  for (size_t i = 0; i < changes.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ(changes[i].sequence(), static_cast<int64_t>(i + 1));
    EXPECT_EQ(changes[i].type(), want[i].first);
    EXPECT_EQ(changes[i].name(), want[i].second);
    EXPECT_EQ(changes[i].revision(), want_revision[i]);
    EXPECT_TRUE(changes[i].has_time());
    // The event time is the revision's update time.
    Article rev = MustGet(want[i].second.substr(9), want_revision[i]);
    EXPECT_EQ(Seconds(changes[i].time()), Seconds(rev.update_time()));
  }
  EXPECT_EQ(store_->last_sequence(), 5);

  absl::StatusOr<std::vector<ChangeEvent>> tail = store_->ReadChanges(3, 10);
  ASSERT_TRUE(tail.ok());
  ASSERT_EQ(tail->size(), 2u);
  EXPECT_EQ((*tail)[0].sequence(), 4);
  absl::StatusOr<std::vector<ChangeEvent>> limited = store_->ReadChanges(1, 2);
  ASSERT_TRUE(limited.ok());
  ASSERT_EQ(limited->size(), 2u);
  EXPECT_EQ((*limited)[0].sequence(), 2);
  EXPECT_EQ((*limited)[1].sequence(), 3);
  absl::StatusOr<std::vector<ChangeEvent>> none = store_->ReadChanges(5, 10);
  ASSERT_TRUE(none.ok());
  EXPECT_TRUE(none->empty());
  // A negative `after` reads from the start.
  absl::StatusOr<std::vector<ChangeEvent>> all = store_->ReadChanges(-5, 10);
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(all->size(), 5u);
}

// ---- Reopen --------------------------------------------------------------

TEST_F(StoreTest, ReopenKeepsEverything) {
  MustCreate("a", MakeArticle("v1", {"t"}));
  ASSERT_TRUE(store_->Update("a", MakeArticle("v2", {"u"}), {}).ok());
  MustCreate("b", MakeArticle("b1"));
  ASSERT_TRUE(store_->Delete("b", {}).ok());
  const std::string token_key = store_->token_key();
  EXPECT_EQ(token_key.size(), 32u);
  const Article a2 = MustGet("a");
  const Article b2 = MustGet("b");

  Open(/*sync=*/true);
  EXPECT_EQ(store_->last_sequence(), 4);
  EXPECT_EQ(store_->token_key(), token_key);
  EXPECT_EQ(MustGet("a").SerializeAsString(), a2.SerializeAsString());
  EXPECT_EQ(MustGet("b").SerializeAsString(), b2.SerializeAsString());
  EXPECT_EQ(MustGet("a", 1).title(), "v1");
  EXPECT_EQ(AllChanges().size(), 4u);
  // Sequence numbers continue where they stopped.
  ASSERT_TRUE(store_->Undelete("b", {}).ok());
  std::vector<ChangeEvent> changes = AllChanges();
  ASSERT_EQ(changes.size(), 5u);
  EXPECT_EQ(changes.back().sequence(), 5);
  EXPECT_EQ(changes.back().type(), ChangeEvent::TYPE_UNDELETED);
  EXPECT_EQ(store_->last_sequence(), 5);

  Open();
  EXPECT_EQ(store_->last_sequence(), 5);
  EXPECT_EQ(MustGet("b", 0, false).revision(), 3);
}

// A store opened read-only (what `contentd --check` does) reads what was
// written, checks clean, and answers every write FAILED_PRECONDITION,
// synchronous or not, through the store or its engine; none of them lands.
TEST_F(StoreTest, ReadOnlyStoreReadsAndRefusesEveryWrite) {
  MustCreate("a", MakeArticle("v1", {"t"}));
  ASSERT_TRUE(store_->Update("a", MakeArticle("v2", {"t"}), {}).ok());
  MustCreate("b", MakeArticle("b1", {"t"}));
  const std::string token_key = store_->token_key();
  store_.reset();

  StoreOptions options;
  options.data_dir = dir_;
  options.block_cache_bytes = size_t{8} << 20;
  options.read_only = true;
  absl::StatusOr<std::unique_ptr<Store>> opened = Store::Open(options);
  ASSERT_TRUE(opened.ok()) << opened.status();
  Store& ro = **opened;
  EXPECT_TRUE(ro.read_only());
  EXPECT_EQ(ro.last_sequence(), 3);
  EXPECT_EQ(ro.token_key(), token_key);
  absl::StatusOr<Article> a = ro.Get("a", 0, false);
  ASSERT_TRUE(a.ok()) << a.status();
  EXPECT_EQ(a->title(), "v2");
  EXPECT_EQ(ro.Get("a", 1, false)->title(), "v1");
  EXPECT_EQ(ro.ListRevisions("a", 0, 10)->size(), 2u);
  EXPECT_EQ(ro.ReadChanges(0, 10)->size(), 3u);
  EXPECT_EQ(ro.NewReadView()->Count(PostingPrefix(IndexKind::kTag, false, "t")),
            2);
  absl::StatusOr<FsckReport> report = CheckStore(ro);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->clean()) << report->ToString();
  EXPECT_EQ(report->articles, 2);
  EXPECT_EQ(report->revisions, 3);
  // A dry run writes nothing, so it runs.
  std::vector<std::pair<std::string, Article>> items;
  items.emplace_back("c", MakeArticle("c1"));
  EXPECT_TRUE(ro.Apply(items, /*dry_run=*/true).ok());

  auto refused = [](const absl::Status& s, const char* what) {
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << what << s;
    EXPECT_THAT(s.message(), HasSubstr("store opened read-only")) << what;
  };
  refused(ro.Create("c", MakeArticle("c1")).status(), "Create");
  refused(ro.Update("a", MakeArticle("v3"), {}).status(), "Update");
  refused(ro.Delete("b", {}).status(), "Delete");
  refused(ro.Restore("a", 1, {}).status(), "Restore");
  refused(ro.Apply(items, /*dry_run=*/false).status(), "Apply");
  // An import batch big enough to ingest table files is refused first.
  std::vector<std::pair<std::string, Article>> many;
  for (int i = 0; i < 100; ++i)
    many.emplace_back(absl::StrCat("m", i), MakeArticle("m"));
  refused(ro.Apply(many, /*dry_run=*/false).status(), "Apply (ingest)");
  RetentionPolicy policy;
  policy.keep_revisions = 1;
  refused(ro.ApplyRetention(policy).status(), "ApplyRetention");
  refused(ro.TrimChanges(1, absl::ZeroDuration()), "TrimChanges");
  // No committer thread runs: asynchronous writes are answered at once.
  absl::Status async_update, async_create;
  ro.UpdateAsync("a", MakeArticle("v3"), {},
                 [&](absl::StatusOr<Article> r) { async_update = r.status(); });
  ro.CreateAsync("d", MakeArticle("d1"),
                 [&](absl::StatusOr<Article> r) { async_create = r.status(); });
  refused(async_update, "UpdateAsync");
  refused(async_create, "CreateAsync");
  // The engine underneath refuses too (fsck's repair writes through it).
  KvBatch batch;
  batch.Put(Family::kMeta, "x", "y");
  refused(ro.engine()->Write(std::move(batch), true), "KvEngine::Write");
  KvBatch puts;
  puts.Put(Family::kPostings, "k", "v");
  refused(ro.engine()->Ingest(Family::kPostings, puts).status(),
          "KvEngine::Ingest");
  refused(ro.engine()->CompactAll(), "KvEngine::CompactAll");
  int64_t sequence = 0;
  refused(ro.Checkpoint(dir_ + ".copy", &sequence), "Checkpoint");
  EXPECT_FALSE(std::filesystem::exists(dir_ + ".copy"));
  opened->reset();

  // Nothing of it landed.
  Open();
  EXPECT_EQ(store_->last_sequence(), 3);
  EXPECT_EQ(MustGet("a").title(), "v2");
  EXPECT_EQ(store_->Get("c", 0, true).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Get("m0", 0, true).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(CheckStore(*store_)->clean());
}

// The sequence a checkpoint reports is the copy's own, exactly, though
// writes go on while it is made (one read before the copy fell 2-5 short
// under load), and every write acknowledged before it is in the copy.
TEST_F(StoreTest, CheckpointReportsTheLastSequenceTheCopyHolds) {
  std::atomic<bool> stop{false};
  std::atomic<int> created{0};
  std::vector<std::thread> writers;
  for (int w = 0; w < 3; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; !stop; ++i) {
        if (store_->Create(absl::StrCat("w", w, "-", i), MakeArticle("x")).ok())
          ++created;
      }
    });
  }
  // Joined on every way out, a failed ASSERT too.
  absl::Cleanup join = [&] {
    stop = true;
    for (std::thread& t : writers) t.join();
  };
  for (int round = 0; round < 5; ++round) {
    // Writes both before and during the copy.
    const int target = created + 50;
    while (created < target) std::this_thread::yield();
    const int64_t acknowledged = store_->last_sequence();
    const std::string copy = absl::StrCat(dir_, ".copy", round);
    int64_t reported = 0;
    ASSERT_TRUE(store_->Checkpoint(copy, &reported).ok());
    StoreOptions options;
    options.data_dir = copy;
    options.block_cache_bytes = size_t{8} << 20;
    options.read_only = true;
    absl::StatusOr<std::unique_ptr<Store>> opened = Store::Open(options);
    ASSERT_TRUE(opened.ok()) << opened.status();
    EXPECT_GE(reported, acknowledged);
    EXPECT_EQ(reported, (*opened)->last_sequence()) << "round " << round;
    absl::StatusOr<std::vector<ChangeEvent>> last =
        (*opened)->ReadChanges(reported - 1, 10);
    ASSERT_TRUE(last.ok()) << last.status();
    ASSERT_EQ(last->size(), 1u) << "round " << round;
    EXPECT_EQ(last->front().sequence(), reported);
    opened->reset();
    std::error_code ec;
    std::filesystem::remove_all(copy, ec);
  }
}

// ---- Index consistency ---------------------------------------------------

struct Posting {
  std::string prefix;
  uint64_t date_key;
  std::string id;
  bool operator<(const Posting& o) const {
    return std::tie(prefix, date_key, id) <
           std::tie(o.prefix, o.date_key, o.id);
  }
  bool operator==(const Posting& o) const {
    return prefix == o.prefix && date_key == o.date_key && id == o.id;
  }
};

// Splits a raw posting key `kind term \0 date id`.
bool SplitPostingKey(absl::string_view key, Posting* p) {
  const size_t nul = key.find('\0');
  if (nul == absl::string_view::npos) return false;
  p->prefix = std::string(key.substr(0, nul + 1));
  uint64_t date_key = 0;
  absl::string_view id;
  if (!ParsePostingKey(key, nul + 1, &date_key, &id)) return false;
  p->date_key = date_key;
  p->id = std::string(id);
  return true;
}

int64_t MicrosOf(const google::protobuf::Timestamp& t) {
  return t.seconds() * 1000000 + t.nanos() / 1000;
}

// The postings every head should have: its all/tag/category/lang/group
// lists, under the deleted bit when it is a tombstone and upper-case when it
// is a draft or archived; its text lists, under the live kind whatever its
// state; and a live head's publish and expiry times still to come when it
// was written, on the schedule lists, and its expiry time on the expiry
// list.
std::map<Posting, int64_t> ExpectedPostings(const std::vector<Article>& heads) {
  std::map<Posting, int64_t> out;
  for (const Article& a : heads) {
    const std::string id = a.name().substr(9);
    const ListState state =
        a.has_delete_time() ? ListState::kDeleted
        : (a.state() == Article::DRAFT || a.state() == Article::ARCHIVED)
            ? ListState::kUnpublished
            : ListState::kLive;
    const uint64_t date = DateKey(a.date());
    auto add = [&](IndexKind kind, const std::string& term) {
      out[{PostingPrefix(kind, state, term), date, id}] = a.revision();
    };
    add(IndexKind::kAll, "");
    for (const std::string& t : a.tags()) add(IndexKind::kTag, t);
    for (const std::string& c : a.categories()) add(IndexKind::kCategory, c);
    for (const std::string& l : a.lang()) add(IndexKind::kLang, l);
    // The random ids hold no dot: the group is the key, else the id.
    add(IndexKind::kGroup,
        a.translation_key().empty() ? id : a.translation_key());
    for (const std::string& t : text::ArticleTerms(a)) {
      out[{PostingPrefix(IndexKind::kText, ListState::kLive, t), date, id}] =
          a.revision();
    }
    if (state != ListState::kLive) continue;
    const int64_t written = MicrosOf(a.update_time());
    const bool pub = a.has_publish_time();
    const bool exp = a.has_expiry_time();
    // The generator keeps publish < expiry.
    if (pub && MicrosOf(a.publish_time()) > written) {
      out[{PostingPrefix(IndexKind::kPublishAt, state, ""),
           DateKey(a.publish_time()), id}] = a.revision();
    }
    if (exp && MicrosOf(a.expiry_time()) > written) {
      out[{PostingPrefix(IndexKind::kExpireAt, state, ""),
           DateKey(a.expiry_time()), id}] = a.revision();
    }
    // Every expiry, past or future, on the expiry list (local stores).
    if (exp) {
      out[{PostingPrefix(IndexKind::kExpiry, state, ""),
           DateKey(a.expiry_time()), id}] = a.revision();
    }
  }
  return out;
}

// Postings and the revisions they carry. Tag postings' fingerprints (what
// follows the revision) go to `fingerprints` if given, by article id.
std::map<Posting, int64_t> ActualPostings(
    const ReadView& view,
    std::map<Posting, std::string>* fingerprints = nullptr) {
  std::map<Posting, int64_t> out;
  std::unique_ptr<KvIterator> it = view.Postings("", "");
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    Posting p;
    EXPECT_TRUE(SplitPostingKey(it->key(), &p))
        << "malformed posting key " << it->key();
    const bool tag =
        KindOf(static_cast<unsigned char>(p.prefix[0])) == IndexKind::kTag;
    if (tag) {
      EXPECT_GE(it->value().size(), 8u);
      if (fingerprints != nullptr && it->value().size() >= 8)
        (*fingerprints)[p] = std::string(it->value().substr(8));
    } else {
      EXPECT_EQ(it->value().size(), 8u);
    }
    const int64_t revision =
        it->value().size() >= 8
            ? static_cast<int64_t>(ReadBigEndian64(it->value()))
            : -1;
    EXPECT_TRUE(out.emplace(p, revision).second);
  }
  EXPECT_TRUE(it->status().ok()) << it->status();
  return out;
}

std::string Describe(const Posting& p) {
  return absl::StrCat(
      "kind=", static_cast<int>(static_cast<unsigned char>(p.prefix[0])),
      " term=", p.prefix.substr(1, p.prefix.size() - 2),
      " date_key=", p.date_key, " id=", p.id);
}

// Whether the store holds a counter record for the list (text and group
// lists keep none: HasCounter).
bool HasCounterRecord(Store& store, const std::string& prefix) {
  std::string value;
  return store.engine()->Get(Family::kMeta, CountKey(prefix), &value).ok();
}

// Scans the postings family and checks it holds exactly the postings of
// the heads of `ids` (and nothing for any other article), and that every
// list's counter equals its entries. `prefixes_ever` collects the lists seen
// so far, so that emptied lists are checked to count 0.
void ExpectIndexMatchesHeads(Store& store, const std::vector<std::string>& ids,
                             std::set<std::string>* prefixes_ever) {
  std::vector<Article> heads;
  for (const std::string& id : ids) {
    absl::StatusOr<Article> head = store.Get(id, 0, /*show_deleted=*/true);
    ASSERT_TRUE(head.ok()) << head.status();
    heads.push_back(*head);
  }
  std::map<Posting, int64_t> want = ExpectedPostings(heads);
  std::unique_ptr<ReadView> view = store.NewReadView();
  std::map<Posting, std::string> fingerprints;
  std::map<Posting, int64_t> got = ActualPostings(*view, &fingerprints);
  // Every tag posting carries the fingerprints of its head's tags.
  std::map<std::string, std::string> head_fingerprints;
  for (const Article& h : heads) {
    head_fingerprints[h.name().substr(h.name().rfind('/') + 1)] =
        TagFingerprints(h.tags());
  }
  for (const auto& [p, fp] : fingerprints) {
    auto h = head_fingerprints.find(p.id);
    if (h == head_fingerprints.end()) continue;  // reported as stale below
    EXPECT_EQ(fp, h->second) << "tag fingerprints of " << Describe(p);
  }
  for (const auto& [p, rev] : want) {
    auto it = got.find(p);
    if (it == got.end()) {
      ADD_FAILURE() << "missing posting " << Describe(p);
    } else {
      // Kept from the revision that wrote the entry (keys.h).
      EXPECT_GE(it->second, 1) << Describe(p);
      EXPECT_LE(it->second, rev)
          << "revision from the future in " << Describe(p);
    }
  }
  for (const auto& [p, rev] : got) {
    if (want.count(p) == 0)
      ADD_FAILURE() << "stale posting " << Describe(p) << " rev " << rev;
  }
  std::map<std::string, int64_t> per_list;
  for (const auto& [p, rev] : want) {
    ++per_list[p.prefix];
    prefixes_ever->insert(p.prefix);
  }
  for (const std::string& prefix : *prefixes_ever) {
    const std::string list =
        absl::StrCat("list kind=", static_cast<unsigned char>(prefix[0]),
                     " term=", prefix.substr(1, prefix.size() - 2));
    if (HasCounter(prefix)) {
      EXPECT_EQ(view->Count(prefix), per_list[prefix]) << "count of " << list;
    } else {
      EXPECT_FALSE(HasCounterRecord(store, prefix)) << "counter of " << list;
    }
  }
}

TEST_F(StoreTest, IndexMatchesHeadsAfterRandomWrites) {
  std::mt19937 rng(20240607);
  const std::vector<std::string> tags = {"go",   "db", "c++", "rust",
                                         "新闻", "ai", "web"};
  const std::vector<std::string> categories = {"tech", "life", "news"};
  const std::vector<std::string> langs = {"zh-CN", "en", "ja"};
  auto pick = [&](const std::vector<std::string>& from, int max) {
    std::vector<std::string> out = from;
    std::shuffle(out.begin(), out.end(), rng);
    out.resize(std::uniform_int_distribution<int>(0, max)(rng));
    return out;
  };
  auto random_article = [&](int n) {
    // Few distinct dates, so several articles share a date.
    Article a = MakeArticle(absl::StrCat("title ", n), pick(tags, 4),
                            pick(categories, 2), pick(langs, 2),
                            kBaseSeconds - 86400 * (rng() % 6));
    // Editorial fields now and then: states, a translation key, publish
    // and expiry times around the clock (which ticks a second per write).
    if (rng() % 3 == 0) a.set_state(static_cast<Article::State>(rng() % 4));
    if (rng() % 5 == 0) a.set_translation_key(absl::StrCat("g", rng() % 3));
    const int64_t now = clock_.load();
    if (rng() % 4 == 0)
      a.mutable_publish_time()->set_seconds(now - 5 + rng() % 20);
    if (rng() % 4 == 0) {
      a.mutable_expiry_time()->set_seconds(
          (a.has_publish_time() ? a.publish_time().seconds() : now - 5) + 1 +
          rng() % 20);
    }
    return a;
  };

  std::set<std::string> prefixes_ever;
  std::vector<std::string> ids;
  int writes = 0;
  for (int step = 0; step < 400; ++step) {
    const int op = rng() % 10;
    if (ids.size() < 5 || op < 3) {
      std::string id = absl::StrCat("art-", ids.size());
      MustCreate(id, random_article(step));
      ids.push_back(id);
      ++writes;
      continue;
    }
    const std::string& id = ids[rng() % ids.size()];
    const Article head = MustGet(id);
    const bool deleted = head.has_delete_time();
    if (op < 7) {
      Article next = random_article(step);
      if (rng() % 4 == 0) next = head;  // sometimes identical: no write
      absl::StatusOr<Article> r = store_->Update(id, next, {});
      if (deleted) {
        EXPECT_EQ(r.status().code(), absl::StatusCode::kNotFound);
      } else {
        ASSERT_TRUE(r.ok()) << r.status();
        if (r->revision() != head.revision()) ++writes;
      }
    } else if (op < 9) {
      absl::StatusOr<Article> r = store_->Delete(id, {});
      EXPECT_EQ(r.ok(), !deleted) << r.status();
      if (r.ok()) ++writes;
    } else {
      absl::StatusOr<Article> r = store_->Undelete(id, {});
      EXPECT_EQ(r.ok(), deleted) << r.status();
      if (r.ok()) ++writes;
    }

    if (step % 50 == 49 || step == 399) {
      SCOPED_TRACE(absl::StrCat("step ", step));
      ExpectIndexMatchesHeads(*store_, ids, &prefixes_ever);
      // One event per write, plus the publish/expiry events that writes
      // carry for times that passed unhandled (no scheduler runs here).
      const std::vector<ChangeEvent> changes = AllChanges();
      EXPECT_EQ(store_->last_sequence(), static_cast<int64_t>(changes.size()));
      EXPECT_EQ(
          std::count_if(changes.begin(), changes.end(),
                        [](const ChangeEvent& e) {
                          return e.type() != ChangeEvent::TYPE_PUBLISHED &&
                                 e.type() != ChangeEvent::TYPE_UNPUBLISHED;
                        }),
          writes);
    }
  }
  // And the same after a reopen.
  Open();
  ExpectIndexMatchesHeads(*store_, ids, &prefixes_ever);
}

TEST_F(StoreTest, AnUpdateKeepsTheTextPostingsOfTermsItKeeps) {
  Article a = MakeArticle("alpha", {"x"});
  a.set_body("kept words here");
  MustCreate("a", a);
  a.set_title("omega");
  ASSERT_TRUE(store_->Update("a", a, {}).ok());
  std::unique_ptr<ReadView> view = store_->NewReadView();
  auto value_of = [&](IndexKind kind, const std::string& term) -> int64_t {
    std::string key =
        PostingKey(PostingPrefix(kind, false, term), DateKey(a.date()), "a");
    std::unique_ptr<KvIterator> it = view->Postings(key, key + '\xff');
    it->SeekToFirst();
    if (!it->Valid() || it->key() != key) return -1;
    return static_cast<int64_t>(ReadBigEndian64(it->value()));
  };
  EXPECT_EQ(value_of(IndexKind::kText, "kept"), 1);    // not rewritten
  EXPECT_EQ(value_of(IndexKind::kText, "omega"), 2);   // added by rev 2
  EXPECT_EQ(value_of(IndexKind::kText, "alpha"), -1);  // removed
  EXPECT_EQ(value_of(IndexKind::kTag, "x"), 1);        // kept too
  EXPECT_FALSE(HasCounterRecord(
      *store_, PostingPrefix(IndexKind::kText, false, "kept")));
}

// An update writes only the entries whose key or value changes: a kept
// entry keeps the revision that wrote it, unless the date moves it or (tag
// entries) the article's tag fingerprints change. Queries then read heads.
TEST_F(StoreTest, AnUpdateLeavesTheEntriesItKeeps) {
  Article a = MakeArticle("alpha", {"x", "y"}, {"tech"}, {"en"});
  a.set_body("first body");
  MustCreate("a", a);
  auto posting = [&](IndexKind kind, const std::string& term) {
    std::unique_ptr<ReadView> view = store_->NewReadView();
    std::string key =
        PostingKey(PostingPrefix(kind, false, term), DateKey(a.date()), "a");
    std::unique_ptr<KvIterator> it = view->Postings(key, key + '\xff');
    it->SeekToFirst();
    if (!it->Valid() || it->key() != key) return std::string("missing");
    return std::string(it->value());
  };
  auto revision_of = [&](IndexKind kind, const std::string& term) -> int64_t {
    const std::string v = posting(kind, term);
    return v.size() >= 8 ? static_cast<int64_t>(ReadBigEndian64(v)) : -1;
  };

  // The body alone: nothing but text postings changes.
  a.set_body("second body");
  ASSERT_TRUE(store_->Update("a", a, {}).ok());
  EXPECT_EQ(revision_of(IndexKind::kAll, ""), 1);
  EXPECT_EQ(revision_of(IndexKind::kTag, "x"), 1);
  EXPECT_EQ(revision_of(IndexKind::kTag, "y"), 1);
  EXPECT_EQ(revision_of(IndexKind::kCategory, "tech"), 1);
  EXPECT_EQ(revision_of(IndexKind::kLang, "en"), 1);
  EXPECT_EQ(revision_of(IndexKind::kText, "second"), 2);

  // A tag swap: the kept tag's entry carries new fingerprints.
  a.clear_tags();
  a.add_tags("x");
  a.add_tags("z");
  ASSERT_TRUE(store_->Update("a", a, {}).ok());
  EXPECT_EQ(revision_of(IndexKind::kTag, "x"), 3);
  EXPECT_EQ(revision_of(IndexKind::kTag, "z"), 3);
  EXPECT_EQ(posting(IndexKind::kTag, "y"), "missing");
  EXPECT_EQ(posting(IndexKind::kTag, "x").substr(8), TagFingerprints(a.tags()));
  EXPECT_EQ(revision_of(IndexKind::kCategory, "tech"), 1);

  // The same tags in another order: same fingerprints, nothing rewritten.
  a.clear_tags();
  a.add_tags("z");
  a.add_tags("x");
  ASSERT_TRUE(store_->Update("a", a, {}).ok());
  EXPECT_EQ(revision_of(IndexKind::kTag, "x"), 3);

  // A new date moves every entry.
  a.mutable_date()->set_seconds(kBaseSeconds + 86400);
  ASSERT_TRUE(store_->Update("a", a, {}).ok());
  EXPECT_EQ(revision_of(IndexKind::kAll, ""), 5);
  EXPECT_EQ(revision_of(IndexKind::kCategory, "tech"), 5);

  std::set<std::string> prefixes;
  ExpectIndexMatchesHeads(*store_, {"a"}, &prefixes);
  absl::StatusOr<FsckReport> report = CheckStore(*store_);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->clean()) << report->ToString();
}

// A check tells its progress: each of its seven steps in order, each
// begun at 0, then every few thousand keys, counting up, with an estimate
// of the keys to come where it has one (what ListOperations reports).
TEST_F(StoreTest, CheckStoreTellsEachStepAndHowFarItHasCome) {
  CreateWordyArticles();
  std::vector<CheckProgress> told;
  CheckOptions options;
  options.progress = [&](const CheckProgress& p) { told.push_back(p); };
  absl::StatusOr<FsckReport> report = CheckStore(*store_, options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->clean()) << report->ToString();
  ASSERT_GT(report->postings, 4096);

  std::vector<std::string> steps;
  int64_t postings_told = 0;
  for (size_t i = 0; i < told.size(); ++i) {
    const CheckProgress& p = told[i];
    EXPECT_EQ(p.step_count, 7);
    if (p.done == 0) {
      steps.push_back(p.step);
      EXPECT_EQ(p.step_number, static_cast<int>(steps.size())) << p.step;
      continue;
    }
    // Later reports of the step begun last, counting up.
    ASSERT_FALSE(steps.empty());
    EXPECT_EQ(steps.back(), p.step);
    const CheckProgress& before = told[i - 1];
    EXPECT_EQ(before.step, p.step);
    EXPECT_GT(p.done, before.done);
    if (std::string(p.step) == "postings") postings_told = p.done;
  }
  EXPECT_THAT(steps,
              ElementsAre("heads", "revisions", "postings", "index entries",
                          "extra text postings", "counters", "change log"));
  // Told every 4096 keys read in all: one report inside the postings.
  EXPECT_GT(postings_told, 0);
  EXPECT_LE(postings_told, report->postings);
  for (const CheckProgress& p : told) {
    if (p.done != 0) continue;
    if (std::string(p.step) == "index entries") {
      EXPECT_EQ(p.total, 120);  // the heads loaded
      EXPECT_STREQ(p.unit, "articles");
    } else if (std::string(p.step) == "heads" ||
               std::string(p.step) == "postings") {
      EXPECT_GT(p.total, 0) << p.step;  // the engine's estimate
      EXPECT_STREQ(p.unit, "keys");
    }
  }
}

// A repair tells its progress: its three steps in order, the heads it has
// read of the engine's estimate, and the postings written, rising after
// each write and all of them (as many as the check then counts) once the
// counters' step begins; the check that follows tells its own.
TEST_F(StoreTest, RepairIndexesTellsEachStepAndThePostingsWritten) {
  CreateWordyArticles();
  std::vector<RepairProgress> told;
  std::vector<std::string> check_steps;
  RepairOptions options;
  options.postings_per_write = 1000;  // several writes
  options.progress = [&](const RepairProgress& p) { told.push_back(p); };
  options.check.progress = [&](const CheckProgress& p) {
    if (p.done == 0) check_steps.push_back(p.step);
  };
  absl::StatusOr<FsckReport> report = RepairIndexes(*store_, options);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->clean()) << report->ToString();
  ASSERT_GT(report->postings, 4 * options.postings_per_write);

  std::vector<std::string> steps;
  int writes_told = 0;
  for (size_t i = 0; i < told.size(); ++i) {
    const RepairProgress& p = told[i];
    EXPECT_EQ(p.step_count, 3);
    if (steps.empty() || steps.back() != p.step) {
      steps.push_back(p.step);
      EXPECT_EQ(p.step_number, static_cast<int>(steps.size())) << p.step;
    }
    if (i == 0) {
      EXPECT_EQ(p.heads_read, 0);
      EXPECT_EQ(p.postings_written, 0);
      continue;
    }
    const RepairProgress& before = told[i - 1];
    EXPECT_GE(p.heads_read, before.heads_read);
    EXPECT_GE(p.postings_written, before.postings_written);
    if (std::string(p.step) == "postings") {
      EXPECT_GT(p.heads_total, 0);  // the engine's estimate
      if (p.postings_written > before.postings_written) {
        ++writes_told;
        // A whole write at a time.
        EXPECT_LE(p.postings_written - before.postings_written,
                  options.postings_per_write + 100);
      }
    }
  }
  EXPECT_THAT(steps, ElementsAre("dropping indexes", "postings", "counters"));
  // One report per write of postings.
  EXPECT_GE(writes_told, report->postings / (options.postings_per_write + 100));
  ASSERT_FALSE(told.empty());
  EXPECT_STREQ(told.back().step, "counters");
  EXPECT_EQ(told.back().heads_read, 120);
  EXPECT_EQ(told.back().postings_written, report->postings);
  EXPECT_THAT(check_steps,
              ElementsAre("heads", "revisions", "postings", "index entries",
                          "extra text postings", "counters", "change log"));
}

// StoredLatest reads the head from any revision at or below it, and from
// one beyond it or one retention removed through the head.
TEST_F(StoreTest, StoredLatestFindsTheHeadFromAnyRevision) {
  Article a = MakeArticle("alpha", {"x"});
  MustCreate("a", a);
  MustCreate("b", MakeArticle("beta"));
  for (int edit = 2; edit <= 4; ++edit) {
    a.set_body(absl::StrCat("edit ", edit));
    ASSERT_TRUE(store_->Update("a", a, {}).ok());
  }
  std::unique_ptr<ReadView> view = store_->NewReadView();
  std::vector<absl::StatusOr<StoredArticle>> got = view->StoredLatest(
      {{"a", 1}, {"a", 3}, {"a", 4}, {"a", 9}, {"b", 1}, {"ghost", 1}});
  ASSERT_EQ(got.size(), 6u);
  for (int i : {0, 1, 2, 3}) {
    ASSERT_TRUE(got[i].ok()) << i << ": " << got[i].status();
    EXPECT_EQ(got[i]->skeleton.revision(), 4) << i;
    absl::StatusOr<Article> full = got[i]->Decode();
    ASSERT_TRUE(full.ok());
    EXPECT_EQ(full->body(), "edit 4");
  }
  ASSERT_TRUE(got[4].ok()) << got[4].status();
  EXPECT_EQ(got[4]->skeleton.revision(), 1);
  EXPECT_EQ(got[5].status().code(), absl::StatusCode::kNotFound);
  EXPECT_TRUE(view->StoredLatest({}).empty());
  EXPECT_TRUE(view->StoredHeads({}).empty());
}

TEST_F(StoreTest, AnUpdateThatKeepsTheTextLeavesEveryTextPostingAlone) {
  Article a = MakeArticle("alpha", {"x"});
  a.set_body("kept words");
  MustCreate("a", a);
  // Tags only: the text, state and date are the same.
  a.clear_tags();
  a.add_tags("y");
  ASSERT_TRUE(store_->Update("a", a, {}).ok());
  std::unique_ptr<ReadView> view = store_->NewReadView();
  auto value_of = [&](IndexKind kind, bool deleted, const std::string& term,
                      uint64_t date) -> int64_t {
    std::string key = PostingKey(PostingPrefix(kind, deleted, term), date, "a");
    std::unique_ptr<KvIterator> it = view->Postings(key, key + '\xff');
    it->SeekToFirst();
    if (!it->Valid() || it->key() != key) return -1;
    return static_cast<int64_t>(ReadBigEndian64(it->value()));
  };
  const uint64_t date = DateKey(a.date());
  EXPECT_EQ(value_of(IndexKind::kText, false, "alpha", date), 1);
  EXPECT_EQ(value_of(IndexKind::kText, false, "kept", date), 1);
  EXPECT_EQ(value_of(IndexKind::kTag, false, "y", date), 2);
  EXPECT_EQ(value_of(IndexKind::kTag, false, "x", date), -1);
  EXPECT_EQ(view->Count(PostingPrefix(IndexKind::kTag, false, "x")), 0);

  // A new date moves the text postings even with the same text.
  a.mutable_date()->set_seconds(kBaseSeconds + 1000);
  ASSERT_TRUE(store_->Update("a", a, {}).ok());
  // Deleting leaves them where they are: text lists hold every state.
  ASSERT_TRUE(store_->Delete("a", {}).ok());
  view = store_->NewReadView();
  const uint64_t new_date = DateKey(a.date());
  EXPECT_EQ(value_of(IndexKind::kText, false, "kept", date), -1);
  EXPECT_EQ(value_of(IndexKind::kText, false, "kept", new_date), 3);
  EXPECT_EQ(value_of(IndexKind::kText, true, "kept", new_date), -1);

  std::set<std::string> prefixes = {
      PostingPrefix(IndexKind::kText, false, "kept"),
      PostingPrefix(IndexKind::kTag, false, "x")};
  ExpectIndexMatchesHeads(*store_, {"a"}, &prefixes);
}

// ---- Apply (batched create-or-update) --------------------------------------

TEST_F(StoreTest, ApplyCommitsABatchAtomicallyWithConsistentIndexes) {
  MustCreate("kept", MakeArticle("kept", {"x"}));
  MustCreate("gone", MakeArticle("gone", {"x"}));
  ASSERT_TRUE(store_->Delete("gone", {}).ok());
  const int64_t before = store_->last_sequence();

  std::vector<std::pair<std::string, Article>> items;
  items.emplace_back("new", MakeArticle("new", {"x", "y"}, {"c"}, {"en"}));
  items.emplace_back("kept", MakeArticle("kept", {"x"}));   // unchanged
  items.emplace_back("gone", MakeArticle("back?", {"x"}));  // deleted: fails
  // The same id twice: the second sees the first (new date, new tags).
  items.emplace_back("new", MakeArticle("new 2", {"y", "z"}, {"c"}, {"ja"},
                                        kBaseSeconds + 50));
  items.emplace_back("kept", MakeArticle("kept 2", {"w"}));

  // A dry run writes nothing.
  absl::StatusOr<std::vector<ApplyResult>> dry =
      store_->Apply(items, /*dry_run=*/true);
  ASSERT_TRUE(dry.ok()) << dry.status();
  EXPECT_EQ(store_->last_sequence(), before);
  EXPECT_EQ(store_->Get("new", 0, true).status().code(),
            absl::StatusCode::kNotFound);

  absl::StatusOr<std::vector<ApplyResult>> results =
      store_->Apply(items, /*dry_run=*/false);
  ASSERT_TRUE(results.ok()) << results.status();
  ASSERT_EQ(results->size(), items.size());
  using Outcome = ApplyResult::Outcome;
  const std::vector<std::pair<Outcome, int64_t>> want = {
      {Outcome::kCreated, 1},
      {Outcome::kUnchanged, 1},
      {Outcome::kFailed, 0},
      {Outcome::kUpdated, 2},
      {Outcome::kUpdated, 2}};
  for (size_t i = 0; i < want.size(); ++i) {
    SCOPED_TRACE(i);
    EXPECT_EQ((*results)[i].outcome, want[i].first);
    EXPECT_EQ((*results)[i].revision, want[i].second);
    EXPECT_EQ((*results)[i].status.ok(), want[i].first != Outcome::kFailed);
    EXPECT_EQ((*dry)[i].outcome, want[i].first);
  }
  EXPECT_EQ((*results)[2].status.code(), absl::StatusCode::kNotFound);

  EXPECT_EQ(store_->last_sequence(), before + 3);
  EXPECT_EQ(MustGet("new").title(), "new 2");
  EXPECT_EQ(MustGet("new", 1).title(), "new");
  EXPECT_EQ(MustGet("kept").title(), "kept 2");
  std::vector<ChangeEvent> changes = AllChanges();
  ASSERT_EQ(static_cast<int64_t>(changes.size()), before + 3);
  for (size_t k = 0; k < changes.size(); ++k)
    EXPECT_EQ(changes[k].sequence(), static_cast<int64_t>(k + 1));
  EXPECT_EQ(changes[before].type(), ChangeEvent::TYPE_CREATED);
  EXPECT_EQ(changes[before + 1].type(), ChangeEvent::TYPE_UPDATED);
  EXPECT_EQ(changes[before + 1].name(), "articles/new");
  EXPECT_EQ(changes[before + 2].name(), "articles/kept");

  std::set<std::string> prefixes = {
      PostingPrefix(IndexKind::kTag, false, "x"),
      PostingPrefix(IndexKind::kLang, false, "en")};
  ExpectIndexMatchesHeads(*store_, {"new", "kept", "gone"}, &prefixes);
}

// A stored revision is the content's encoding (the bytes the hash covers)
// followed by the server fields'. Whatever the write path, it must decode
// to the article the write returned, and the skeleton reader must find the
// server fields after the body.
TEST_F(StoreTest, StoredRevisionBytesDecodeToTheWrittenArticle) {
  Article in = MakeArticle("bytes", {"x", "y"}, {"c"}, {"en"});
  in.set_body(std::string(3000, 'b'));
  in.set_etag("from the client");
  in.set_revision(9);
  const Article created = MustCreate("c", in);
  absl::StatusOr<Article> updated =
      store_->Update("c", MakeArticle("bytes 2", {"y"}), {});
  ASSERT_TRUE(updated.ok()) << updated.status();
  ASSERT_TRUE(store_->Delete("c", {}).ok());
  std::vector<std::pair<std::string, Article>> items;
  items.emplace_back("applied", in);
  ASSERT_TRUE(store_->Apply(items, /*dry_run=*/false).ok());

  std::unique_ptr<ReadView> reader = store_->NewReadView();
  const ReadView& view = *reader;
  const std::vector<std::tuple<std::string, int64_t, Article>> want = {
      {"c", 1, created}, {"c", 2, *updated}};
  for (const auto& [id, revision, article] : want) {
    SCOPED_TRACE(revision);
    absl::StatusOr<StoredArticle> stored = view.StoredRevision(id, revision);
    ASSERT_TRUE(stored.ok()) << stored.status();
    absl::StatusOr<Article> decoded = stored->Decode();
    ASSERT_TRUE(decoded.ok()) << decoded.status();
    EXPECT_EQ(decoded->SerializeAsString(), article.SerializeAsString());
    EXPECT_EQ(Seconds(stored->skeleton.update_time()),
              Seconds(article.update_time()));
    EXPECT_EQ(stored->skeleton.revision(), revision);
  }
  absl::StatusOr<StoredArticle> tombstone = view.StoredRevision("c", 3);
  ASSERT_TRUE(tombstone.ok()) << tombstone.status();
  EXPECT_TRUE(tombstone->skeleton.has_delete_time());
  absl::StatusOr<Article> applied = view.StoredHead("applied")->Decode();
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(applied->name(), "articles/applied");
  EXPECT_EQ(applied->revision(), 1);
  EXPECT_EQ(applied->content_hash(), Store::ContentHash(in));
  EXPECT_EQ(applied->etag().substr(0, 2), "1-");
  EXPECT_TRUE(applied->has_create_time());
  EXPECT_EQ(applied->body(), in.body());
}

// ---- Concurrency ---------------------------------------------------------

TEST_F(StoreTest, ConcurrentConditionalUpdatesNeverLoseOrDuplicate) {
  constexpr int kThreads = 8;
  constexpr int kUpdatesPerThread = 200;
  const std::vector<std::string> ids = {"c0", "c1", "c2", "c3"};
  for (const std::string& id : ids) MustCreate(id, MakeArticle(id));

  std::mutex mu;
  std::map<std::string, std::vector<int64_t>> written;  // id -> revisions
  std::atomic<int> conflicts{0};
  std::atomic<int> errors{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kUpdatesPerThread; ++i) {
        const std::string& id = ids[(t + i) % ids.size()];
        while (true) {
          absl::StatusOr<Article> head = store_->Get(id, 0, false);
          if (!head.ok()) {
            ++errors;
            return;
          }
          Article next = MakeArticle(id);
          next.set_body(absl::StrCat("thread ", t, " update ", i));
          WriteConditions c;
          c.expected_revision = head->revision();
          absl::StatusOr<Article> r = store_->Update(id, next, c);
          if (r.ok()) {
            if (r->revision() != head->revision() + 1) ++errors;
            std::lock_guard<std::mutex> lock(mu);
            written[id].push_back(r->revision());
            break;
          }
          if (r.status().code() != absl::StatusCode::kFailedPrecondition) {
            ++errors;
            return;
          }
          ++conflicts;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(errors.load(), 0);

  int total = 0;
  for (const std::string& id : ids) {
    SCOPED_TRACE(id);
    std::vector<int64_t>& revs = written[id];
    std::sort(revs.begin(), revs.end());
    const int n = static_cast<int>(revs.size());
    total += n;
    // Every successful update wrote a distinct revision 2..n+1.
    for (int k = 0; k < n; ++k) ASSERT_EQ(revs[k], k + 2);
    Article head = MustGet(id);
    EXPECT_EQ(head.revision(), 1 + n);
    absl::StatusOr<std::vector<Article>> all =
        store_->ListRevisions(id, 0, n + 10);
    ASSERT_TRUE(all.ok()) << all.status();
    ASSERT_EQ(static_cast<int>(all->size()), n + 1);
    std::set<std::string> bodies;
    for (int k = 0; k <= n; ++k) {
      EXPECT_EQ((*all)[k].revision(), n + 1 - k);
      bodies.insert((*all)[k].body());
    }
    EXPECT_EQ(static_cast<int>(bodies.size()), n + 1);
  }
  EXPECT_EQ(total, kThreads * kUpdatesPerThread);

  std::vector<ChangeEvent> changes = AllChanges();
  ASSERT_EQ(static_cast<int>(changes.size()), total + 4);
  std::map<std::string, int64_t> last_revision;
  for (size_t k = 0; k < changes.size(); ++k) {
    ASSERT_EQ(changes[k].sequence(), static_cast<int64_t>(k + 1));
    // Per article, the log lists revisions in order.
    int64_t& last = last_revision[changes[k].name()];
    EXPECT_EQ(changes[k].revision(), last + 1);
    last = changes[k].revision();
  }
  EXPECT_EQ(store_->last_sequence(), total + 4);
}

TEST_F(StoreTest, ConcurrentCreatesGroupCommit) {
  Open(/*sync=*/true);  // WAL syncs make writers queue up into groups
  constexpr int kThreads = 8;
  constexpr int kPerThread = 25;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kPerThread; ++i) {
        absl::StatusOr<Article> a = store_->Create(
            absl::StrCat("t", t, "-", i),
            MakeArticle(absl::StrCat("t", t, " #", i), {"group"}));
        if (!a.ok() || a->revision() != 1) ++failures;
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  constexpr int kTotal = kThreads * kPerThread;
  EXPECT_EQ(store_->last_sequence(), kTotal);
  std::vector<ChangeEvent> changes = AllChanges();
  ASSERT_EQ(static_cast<int>(changes.size()), kTotal);
  std::set<std::string> names;
  for (int k = 0; k < kTotal; ++k) {
    EXPECT_EQ(changes[k].sequence(), k + 1);
    EXPECT_EQ(changes[k].type(), ChangeEvent::TYPE_CREATED);
    names.insert(changes[k].name());
  }
  EXPECT_EQ(static_cast<int>(names.size()), kTotal);
  std::unique_ptr<ReadView> view = store_->NewReadView();
  EXPECT_EQ(view->Count(PostingPrefix(IndexKind::kTag, false, "group")),
            kTotal);
  EXPECT_EQ(view->Count(PostingPrefix(IndexKind::kAll, false, "")), kTotal);
}

// ---- Faults --------------------------------------------------------------

// Passes everything to a real engine but fails writes on demand.
class FaultyKv : public KvEngine {
 public:
  explicit FaultyKv(std::unique_ptr<KvEngine> base) : base_(std::move(base)) {}
  absl::Status Get(Family family, absl::string_view key, std::string* value,
                   const KvReadOptions& options) override {
    return base_->Get(family, key, value, options);
  }
  std::unique_ptr<KvIterator> NewIterator(
      Family family, const KvReadOptions& options) override {
    return base_->NewIterator(family, options);
  }
  absl::Status Write(KvBatch batch, bool sync) override {
    if (fail_writes) return absl::UnavailableError("injected: disk gone");
    {
      absl::MutexLock lock(&mu_);
      ++writes_begun_;
      mu_.Await(absl::Condition(
          +[](bool* held) { return !*held; }, &hold_writes_));
    }
    return base_->Write(std::move(batch), sync);
  }
  std::unique_ptr<KvSnapshot> GetSnapshot() override {
    return base_->GetSnapshot();
  }
  std::atomic<bool> fail_writes{false};
  // Writes wait while held, as behind a slow WAL sync.
  void HoldWrites(bool hold) {
    absl::MutexLock lock(&mu_);
    hold_writes_ = hold;
  }
  // Waits until `n` writes have begun in all.
  void AwaitWritesBegun(int n) {
    absl::MutexLock lock(&mu_);
    auto begun = [this, n]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
      return writes_begun_ >= n;
    };
    mu_.Await(absl::Condition(&begun));
  }
  int writes_begun() {
    absl::MutexLock lock(&mu_);
    return writes_begun_;
  }

 private:
  std::unique_ptr<KvEngine> base_;
  absl::Mutex mu_;
  bool hold_writes_ ABSL_GUARDED_BY(mu_) = false;
  int writes_begun_ ABSL_GUARDED_BY(mu_) = 0;
};

class FaultyStoreTest : public StoreTest {
 protected:
  // Reopens store_ on a FaultyKv over the same directory.
  FaultyKv* ReopenFaulty() {
    store_.reset();
    RocksKvOptions kv_options;
    kv_options.path = dir_;
    kv_options.block_cache_bytes = size_t{8} << 20;
    absl::StatusOr<std::unique_ptr<KvEngine>> base = OpenRocksKv(kv_options);
    EXPECT_TRUE(base.ok()) << base.status();
    if (!base.ok()) return nullptr;
    auto faulty = std::make_unique<FaultyKv>(*std::move(base));
    FaultyKv* fault = faulty.get();
    StoreOptions options;
    options.data_dir = dir_;
    options.sync = false;
    absl::StatusOr<std::unique_ptr<Store>> opened =
        Store::Open(std::move(faulty), options);
    EXPECT_TRUE(opened.ok()) << opened.status();
    if (!opened.ok()) return nullptr;
    store_ = *std::move(opened);
    return fault;
  }
};

TEST_F(FaultyStoreTest, FailedWriteChangesNothingAndLeavesNoGap) {
  FaultyKv* fault = ReopenFaulty();
  ASSERT_NE(fault, nullptr);

  const Article v1 = MustCreate("a", MakeArticle("v1", {"x"}));
  fault->fail_writes = true;
  EXPECT_EQ(store_->Update("a", MakeArticle("v2", {"y"}), {}).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(store_->Create("b", MakeArticle("b")).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(store_->Delete("a", {}).status().code(),
            absl::StatusCode::kUnavailable);
  EXPECT_EQ(store_->last_sequence(), 1);
  EXPECT_EQ(MustGet("a").SerializeAsString(), v1.SerializeAsString());
  EXPECT_EQ(store_->Get("b", 0, true).status().code(),
            absl::StatusCode::kNotFound);

  fault->fail_writes = false;
  absl::StatusOr<Article> v2 =
      store_->Update("a", MakeArticle("v2", {"y"}), {});
  ASSERT_TRUE(v2.ok()) << v2.status();
  EXPECT_EQ(v2->revision(), 2);
  MustCreate("b", MakeArticle("b"));
  std::vector<ChangeEvent> changes = AllChanges();
  ASSERT_EQ(changes.size(), 3u);
  for (int k = 0; k < 3; ++k) EXPECT_EQ(changes[k].sequence(), k + 1);
  std::unique_ptr<ReadView> view = store_->NewReadView();
  EXPECT_EQ(view->Count(PostingPrefix(IndexKind::kTag, false, "x")), 0);
  EXPECT_EQ(view->Count(PostingPrefix(IndexKind::kTag, false, "y")), 1);
  EXPECT_EQ(view->Count(PostingPrefix(IndexKind::kAll, false, "")), 2);
}

// UpdateAsyncNoWait, as gRPC's threads call it: an update of an article
// with a write in flight goes to `elsewhere` (it would wait there for that
// commit); an update of another article proceeds on the calling thread, and
// neither thread waits for the WAL, which the committer thread writes.
// Each answer is the revision's stored encoding, as GetStored reads it.
TEST_F(FaultyStoreTest, UpdateAsyncNoWaitHandsOnlyABusyArticleElsewhere) {
  FaultyKv* fault = ReopenFaulty();
  ASSERT_NE(fault, nullptr);
  MustCreate("a", MakeArticle("a1", {"x"}));
  MustCreate("b", MakeArticle("b1", {"x"}));
  const int begun = fault->writes_begun();

  absl::Mutex mu;
  std::vector<std::pair<std::string, absl::StatusOr<std::string>>> answers;
  auto answer = [&](std::string what) {
    return [&, what](absl::StatusOr<std::string> bytes) {
      absl::MutexLock lock(&mu);
      answers.emplace_back(what, std::move(bytes));
    };
  };
  auto answered = [&](size_t n) {
    absl::MutexLock lock(&mu);
    auto enough = [&]() { return answers.size() >= n; };
    mu.Await(absl::Condition(&enough));
  };
  fault->HoldWrites(true);
  // Returns at once although its commit is held.
  store_->UpdateAsyncNoWait(
      "a", MakeArticle("a2", {"y"}), {}, answer("a2"),
      [](std::function<void()>) { ADD_FAILURE() << "a is not busy yet"; });
  fault->AwaitWritesBegun(begun + 1);  // the committer holds a2's write

  std::function<void()> deferred;
  store_->UpdateAsyncNoWait(
      "a", MakeArticle("a3", {"z"}), {}, answer("a3"),
      [&](std::function<void()> work) { deferred = std::move(work); });
  EXPECT_TRUE(deferred != nullptr) << "a is busy: the update goes elsewhere";
  store_->UpdateAsyncNoWait(
      "b", MakeArticle("b2", {"y"}), {}, answer("b2"),
      [](std::function<void()>) { ADD_FAILURE() << "b is not busy"; });
  {
    absl::MutexLock lock(&mu);
    EXPECT_TRUE(answers.empty()) << "nothing has committed";
  }

  fault->HoldWrites(false);
  answered(2);
  ASSERT_NE(deferred, nullptr);
  deferred();  // a write thread's turn: a2 has committed, so no wait
  answered(3);
  absl::MutexLock lock(&mu);
  ASSERT_EQ(answers.size(), 3u);
  for (const auto& [what, bytes] : answers) {
    ASSERT_TRUE(bytes.ok()) << what << ": " << bytes.status();
    Article a;
    ASSERT_TRUE(a.ParseFromString(*bytes)) << what;
    EXPECT_EQ(a.title(), what);
    absl::StatusOr<StoredArticle> stored =
        store_->GetStored(what.substr(0, 1), a.revision(), false);
    ASSERT_TRUE(stored.ok()) << what << ": " << stored.status();
    EXPECT_EQ(stored->bytes, *bytes) << what;
  }
  EXPECT_EQ(answers[2].first, "a3");
  EXPECT_EQ(MustGet("a").title(), "a3");
  EXPECT_EQ(MustGet("a").revision(), 3);
  EXPECT_EQ(MustGet("b").revision(), 2);
  const std::vector<ChangeEvent> changes = AllChanges();
  ASSERT_EQ(changes.size(), 5u);
  for (size_t k = 0; k < changes.size(); ++k)
    EXPECT_EQ(changes[k].sequence(), static_cast<int64_t>(k + 1));
}

// An update that changes nothing answers with the head's stored bytes, and
// a failed one with its status; neither writes.
TEST_F(StoreTest, UpdateAsyncNoWaitAnswersUnchangedAndFailedUpdates) {
  MustCreate("a", MakeArticle("a1", {"x"}));
  auto run = [&](Article content, const WriteConditions& conditions) {
    absl::StatusOr<std::string> answer = absl::UnknownError("no answer");
    store_->UpdateAsyncNoWait(
        "a", std::move(content), conditions,
        [&](absl::StatusOr<std::string> bytes) { answer = std::move(bytes); },
        [](std::function<void()>) { ADD_FAILURE() << "a is not busy"; });
    return answer;  // an unchanged or failed update answers at once
  };
  absl::StatusOr<std::string> same = run(MakeArticle("a1", {"x"}), {});
  ASSERT_TRUE(same.ok()) << same.status();
  absl::StatusOr<StoredArticle> head = store_->GetStored("a", 0, false);
  ASSERT_TRUE(head.ok()) << head.status();
  EXPECT_EQ(*same, head->bytes);
  EXPECT_EQ(head->skeleton.revision(), 1);

  absl::StatusOr<std::string> stale = run(MakeArticle("a2"), {7, ""});
  EXPECT_EQ(stale.status().code(), absl::StatusCode::kFailedPrecondition)
      << stale.status();
  EXPECT_EQ(MustGet("a").revision(), 1);
  EXPECT_EQ(AllChanges().size(), 1u);
}

// ---- Editorial: visibility, schedules, restore, translation groups --------

TEST(VisibilityTest, IsLiveFollowsStateAndTimes) {
  const absl::Time now = absl::FromUnixSeconds(kBaseSeconds);
  Article a = MakeArticle("a");
  EXPECT_TRUE(IsLive(a, now));  // no state, no times: published
  a.set_state(Article::PUBLISHED);
  EXPECT_TRUE(IsLive(a, now));
  a.set_state(Article::DRAFT);
  EXPECT_FALSE(IsLive(a, now));
  a.set_state(Article::ARCHIVED);
  EXPECT_FALSE(IsLive(a, now));
  a.set_state(Article::PUBLISHED);
  a.mutable_publish_time()->set_seconds(kBaseSeconds + 1);
  EXPECT_FALSE(IsLive(a, now));                    // scheduled
  EXPECT_TRUE(IsLive(a, now + absl::Seconds(1)));  // the moment it is due
  a.mutable_expiry_time()->set_seconds(kBaseSeconds + 10);
  EXPECT_TRUE(IsLive(a, now + absl::Seconds(9)));
  EXPECT_FALSE(IsLive(a, now + absl::Seconds(10)));  // expired at the moment
  a.clear_publish_time();
  a.mutable_delete_time()->set_seconds(kBaseSeconds);
  EXPECT_FALSE(IsLive(a, now));
  EXPECT_TRUE(IsLiveContent(a, now));
  // A tombstone of an article deleted while embargoed stays hidden.
  a.mutable_publish_time()->set_seconds(kBaseSeconds + 1);
  EXPECT_FALSE(IsLiveContent(a, now + absl::Seconds(5)));
  a.mutable_publish_time()->set_seconds(kBaseSeconds);  // due as it went
  EXPECT_TRUE(IsLiveContent(a, now + absl::Seconds(5)));
}

// An old revision readers may read: published itself (and due), whatever
// its expiry; a draft or archived one never, though a later one is live.
TEST(VisibilityTest, IsPublishedRevisionLooksAtTheRevisionsOwnState) {
  const absl::Time now = absl::FromUnixSeconds(kBaseSeconds);
  Article a = MakeArticle("a");
  EXPECT_TRUE(IsPublishedRevision(a, now));  // unset state: published
  a.set_state(Article::DRAFT);
  EXPECT_FALSE(IsPublishedRevision(a, now));
  a.set_state(Article::ARCHIVED);
  EXPECT_FALSE(IsPublishedRevision(a, now));
  a.set_state(Article::PUBLISHED);
  EXPECT_TRUE(IsPublishedRevision(a, now));
  a.mutable_publish_time()->set_seconds(kBaseSeconds + 1);
  EXPECT_FALSE(IsPublishedRevision(a, now));  // scheduled, not due
  EXPECT_TRUE(IsPublishedRevision(a, now + absl::Seconds(1)));
  a.mutable_expiry_time()->set_seconds(kBaseSeconds + 2);
  EXPECT_TRUE(IsPublishedRevision(a, now + absl::Seconds(3)));  // was shown
  EXPECT_FALSE(IsLiveContent(a, now + absl::Seconds(3)));
  // A tombstone of an article deleted while embargoed was never shown.
  a.mutable_delete_time()->set_seconds(kBaseSeconds);
  EXPECT_FALSE(IsPublishedRevision(a, now + absl::Seconds(5)));
}

TEST(VisibilityTest, TranslationGroupFromKeyOrIdStem) {
  Article a = MakeArticle("a", {}, {}, {"en"});
  a.set_name("articles/launch.en");
  EXPECT_EQ(TranslationGroup(a), "launch");
  a.set_name("articles/launch.EN");  // case-insensitive
  EXPECT_EQ(TranslationGroup(a), "launch");
  a.set_name("articles/launch.fr");  // not one of its languages
  EXPECT_EQ(TranslationGroup(a), "launch.fr");
  a.add_translations("fr");  // ... unless listed in translations
  EXPECT_EQ(TranslationGroup(a), "launch");
  a.set_name("articles/v1.2");
  EXPECT_EQ(TranslationGroup(a), "v1.2");
  a.set_translation_key("k");
  EXPECT_EQ(TranslationGroup(a), "k");
}

class ScheduleTest : public StoreTest {
 protected:
  // The next clock reading will be exactly `seconds`.
  void SetClock(int64_t seconds) { clock_.store(seconds - 1); }

  std::vector<ChangeEvent> EventsAfter(int64_t sequence) {
    absl::StatusOr<std::vector<ChangeEvent>> changes =
        store_->ReadChanges(sequence, 1 << 20);
    EXPECT_TRUE(changes.ok()) << changes.status();
    return changes.ok() ? *changes : std::vector<ChangeEvent>();
  }

  absl::Time Fire() {
    absl::StatusOr<absl::Time> next = store_->FireSchedule();
    EXPECT_TRUE(next.ok()) << next.status();
    return next.ok() ? *next : absl::InfinitePast();
  }
};

TEST_F(ScheduleTest, PublishAndExpiryEventsFireOnceWhenDue) {
  const int64_t t0 = kBaseSeconds + 100;
  SetClock(kBaseSeconds);
  Article s = MakeArticle("scheduled");
  s.mutable_publish_time()->set_seconds(t0);
  s.mutable_expiry_time()->set_seconds(t0 + 100);
  MustCreate("s", s);
  Article d = MakeArticle("draft");
  d.set_state(Article::DRAFT);
  d.mutable_publish_time()->set_seconds(t0);
  MustCreate("d", d);  // never live: no schedule
  Article p = MakeArticle("past");
  p.mutable_publish_time()->set_seconds(kBaseSeconds - 100);
  MustCreate("p", p);  // live already: no schedule
  std::vector<ChangeEvent> created = EventsAfter(0);
  ASSERT_EQ(created.size(), 3u);
  EXPECT_FALSE(created[0].live_after());  // scheduled, not yet visible
  EXPECT_FALSE(created[1].live_after());
  EXPECT_TRUE(created[2].live_after());
  const int64_t base = store_->last_sequence();

  SetClock(kBaseSeconds + 50);
  // Due once its key's whole microsecond has passed.
  EXPECT_EQ(Fire(), absl::FromUnixSeconds(t0) + absl::Microseconds(1));
  EXPECT_TRUE(EventsAfter(base).empty());

  SetClock(t0 + 10);
  EXPECT_EQ(Fire(), absl::FromUnixSeconds(t0 + 100) + absl::Microseconds(1));
  std::vector<ChangeEvent> events = EventsAfter(base);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type(), ChangeEvent::TYPE_PUBLISHED);
  EXPECT_EQ(events[0].name(), "articles/s");
  EXPECT_EQ(events[0].revision(), 1);
  EXPECT_FALSE(events[0].live_before());
  EXPECT_TRUE(events[0].live_after());

  // Again, and after a reopen: the position is stored, nothing repeats.
  Fire();
  Open();
  SetClock(t0 + 20);
  Fire();
  EXPECT_EQ(EventsAfter(base).size(), 1u);

  SetClock(t0 + 150);
  EXPECT_EQ(Fire(), absl::InfiniteFuture());
  events = EventsAfter(base);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[1].type(), ChangeEvent::TYPE_UNPUBLISHED);
  EXPECT_TRUE(events[1].live_before());
  EXPECT_FALSE(events[1].live_after());
  EXPECT_EQ(events[1].sequence(), events[0].sequence() + 1);
}

// The clock jumped a day ahead and came back: what fell due by the wrong
// clock fired then, and the stored position stayed where that left it, so
// an article scheduled meanwhile before that position never fired when its
// time came. From a position far past the clock the scheduler goes on from
// now (and the one fired early fires again at its time).
TEST_F(ScheduleTest, AClockThatWentBackStillFiresWhatFallsDue) {
  const int64_t day = 24 * 3600;
  SetClock(kBaseSeconds);
  Article early = MakeArticle("early");
  early.mutable_publish_time()->set_seconds(kBaseSeconds + 100);
  MustCreate("early", early);
  SetClock(kBaseSeconds + day);  // the jump
  Fire();
  const int64_t base = store_->last_sequence();
  SetClock(kBaseSeconds + 10);  // corrected
  Fire();
  Article later = MakeArticle("later");
  later.mutable_publish_time()->set_seconds(kBaseSeconds + 50);
  MustCreate("later", later);
  SetClock(kBaseSeconds + 300);
  Fire();
  std::vector<std::string> published;
  for (const ChangeEvent& e : EventsAfter(base)) {
    if (e.type() == ChangeEvent::TYPE_PUBLISHED) published.push_back(e.name());
  }
  EXPECT_THAT(published, ElementsAre("articles/later", "articles/early"));
}

TEST_F(ScheduleTest, AWriteAfterAMissedTimeCarriesItsEventFirst) {
  const int64_t t0 = kBaseSeconds + 100;
  SetClock(kBaseSeconds);
  Article s = MakeArticle("scheduled");
  s.mutable_publish_time()->set_seconds(t0);
  MustCreate("s", s);
  const int64_t base = store_->last_sequence();
  // The time passes, the scheduler has not run, and an editor updates it.
  SetClock(t0 + 5);
  Article next = s;
  next.set_title("scheduled, edited");
  ASSERT_TRUE(store_->Update("s", next, {}).ok());
  std::vector<ChangeEvent> events = EventsAfter(base);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].type(), ChangeEvent::TYPE_PUBLISHED);
  EXPECT_EQ(events[0].revision(), 1);
  EXPECT_EQ(events[1].type(), ChangeEvent::TYPE_UPDATED);
  EXPECT_TRUE(events[1].live_before());
  EXPECT_TRUE(events[1].live_after());
  // The scheduler, running late, does not repeat it.
  Fire();
  EXPECT_EQ(EventsAfter(base).size(), 2u);
}

TEST_F(ScheduleTest, RescheduledArticleFiresAtTheNewTimeOnly) {
  const int64_t t0 = kBaseSeconds + 100;
  SetClock(kBaseSeconds);
  Article s = MakeArticle("scheduled");
  s.mutable_publish_time()->set_seconds(t0);
  MustCreate("s", s);
  s.mutable_publish_time()->set_seconds(t0 + 50);
  ASSERT_TRUE(store_->Update("s", s, {}).ok());
  const int64_t base = store_->last_sequence();
  SetClock(t0 + 10);
  EXPECT_EQ(Fire(), absl::FromUnixSeconds(t0 + 50) + absl::Microseconds(1));
  EXPECT_TRUE(EventsAfter(base).empty());
  SetClock(t0 + 60);
  Fire();
  std::vector<ChangeEvent> events = EventsAfter(base);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].revision(), 2);
}

TEST(VisibilityTest, TimesCompareToTheNanosecond) {
  const absl::Time t = absl::FromUnixSeconds(kBaseSeconds);
  Article a = MakeArticle("a");
  a.mutable_publish_time()->set_seconds(kBaseSeconds);
  a.mutable_publish_time()->set_nanos(500);
  EXPECT_FALSE(IsLive(a, t));  // not due within its microsecond yet
  EXPECT_TRUE(IsLive(a, t + absl::Nanoseconds(500)));
  a.clear_publish_time();
  a.mutable_expiry_time()->set_seconds(kBaseSeconds);
  a.mutable_expiry_time()->set_nanos(500);
  EXPECT_TRUE(IsLive(a, t + absl::Nanoseconds(499)));
  EXPECT_FALSE(IsLive(a, t + absl::Nanoseconds(500)));
}

TEST_F(ScheduleTest, SubMicrosecondTimeFiresOnceItsMicrosecondHasPassed) {
  const int64_t t0 = kBaseSeconds + 100;
  SetClock(kBaseSeconds);
  Article s = MakeArticle("scheduled");
  s.mutable_publish_time()->set_seconds(t0);
  s.mutable_publish_time()->set_nanos(500);
  MustCreate("s", s);
  const int64_t base = store_->last_sequence();
  SetClock(t0);  // the key's microsecond, before the time itself
  EXPECT_EQ(Fire(), absl::FromUnixSeconds(t0) + absl::Microseconds(1));
  EXPECT_TRUE(EventsAfter(base).empty());
  SetClock(t0 + 1);
  Fire();
  std::vector<ChangeEvent> events = EventsAfter(base);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].type(), ChangeEvent::TYPE_PUBLISHED);
}

TEST_F(StoreTest, StateChangesMoveTheArticleBetweenLists) {
  Article a = MakeArticle("a", {"x"});
  a.set_state(Article::DRAFT);
  MustCreate("a", a);
  std::unique_ptr<ReadView> view = store_->NewReadView();
  EXPECT_EQ(view->Count(PostingPrefix(IndexKind::kTag, ListState::kLive, "x")),
            0);
  EXPECT_EQ(
      view->Count(PostingPrefix(IndexKind::kTag, ListState::kUnpublished, "x")),
      1);
  a.set_state(Article::PUBLISHED);
  absl::StatusOr<Article> published = store_->Update("a", a, {});
  ASSERT_TRUE(published.ok()) << published.status();
  view = store_->NewReadView();
  EXPECT_EQ(view->Count(PostingPrefix(IndexKind::kTag, ListState::kLive, "x")),
            1);
  EXPECT_EQ(
      view->Count(PostingPrefix(IndexKind::kTag, ListState::kUnpublished, "x")),
      0);
  std::vector<ChangeEvent> events = AllChanges();
  ASSERT_EQ(events.size(), 2u);
  EXPECT_FALSE(events[0].live_after());
  EXPECT_FALSE(events[1].live_before());
  EXPECT_TRUE(events[1].live_after());
}

TEST_F(StoreTest, RestoreWritesANewRevisionWithTheOldContent) {
  MustCreate("a", MakeArticle("one", {"x"}));
  ASSERT_TRUE(store_->Update("a", MakeArticle("two", {"y"}), {}).ok());
  absl::StatusOr<Article> r = store_->Restore("a", 1, {2, ""});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->revision(), 3);
  EXPECT_EQ(r->title(), "one");
  EXPECT_EQ(r->content_hash(), MustGet("a", 1).content_hash());
  EXPECT_EQ(Seconds(r->create_time()), Seconds(MustGet("a", 1).create_time()));
  // History is kept, not rewritten.
  EXPECT_EQ(MustGet("a", 2).title(), "two");
  // Restoring what the head already holds writes nothing.
  absl::StatusOr<Article> same = store_->Restore("a", 1, {});
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->revision(), 3);
  // Conditions, missing revisions, tombstones.
  EXPECT_EQ(store_->Restore("a", 2, {1, ""}).status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(store_->Restore("a", 9, {}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(store_->Restore("nope", 1, {}).status().code(),
            absl::StatusCode::kNotFound);
  ASSERT_TRUE(store_->Delete("a", {}).ok());  // revision 4, a tombstone
  absl::StatusOr<Article> tomb = store_->Restore("a", 4, {});
  EXPECT_EQ(tomb.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(tomb.status().message()), HasSubstr("tombstone"));
  // Restoring into a deleted article undeletes it.
  absl::StatusOr<Article> back = store_->Restore("a", 2, {4, ""});
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->revision(), 5);
  EXPECT_FALSE(back->has_delete_time());
  EXPECT_EQ(back->title(), "two");
  std::vector<ChangeEvent> events = AllChanges();
  ASSERT_EQ(events.size(), 5u);
  EXPECT_EQ(events[2].type(), ChangeEvent::TYPE_UPDATED);
  EXPECT_EQ(events[4].type(), ChangeEvent::TYPE_UNDELETED);
}

}  // namespace
}  // namespace content::store
