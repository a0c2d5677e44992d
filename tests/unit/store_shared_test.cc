// The store on a shared engine (server/store/pg_kv.h): several Store
// objects on one PostgreSQL table behave as replicas of one store. Runs on
// the pg fixture's server ($CONTENTD_TEST_PG_DIR); skipped without it.
#include <atomic>
#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "content/v1/article.pb.h"
#include "gtest/gtest.h"
#include "server/error_details.h"
#include "server/store/fsck.h"
#include "server/store/keys.h"
#include "server/store/pg_kv.h"
#include "server/store/pg_kv_internal.h"
#include "server/store/store.h"
#include "tests/support/harness.h"

namespace content::store {
namespace {

using v1::Article;
using v1::ChangeEvent;

Article MakeArticle(const std::string& title, const std::string& tag) {
  Article a;
  a.set_title(title);
  a.set_body("Body of " + title + " 本地化部署");
  a.add_tags(tag);
  a.mutable_date()->set_seconds(1700000000);
  return a;
}

class SharedStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (testing::TestPgDsn().empty()) {
      GTEST_SKIP() << "no PostgreSQL for tests: run through ctest (the pg "
                      "fixture sets CONTENTD_TEST_PG_DIR)";
    }
    std::random_device rd;
    table_ = absl::StrCat("sharedtest_", rd(), "_", rd());
    testing::DropPgTableAfterTest(table_);
  }

  // A replica: its own engine (connections, listener, leases) on the table.
  std::unique_ptr<Store> OpenReplica() {
    StoreOptions o;
    o.engine = "postgres";
    o.pg_dsn = testing::TestPgDsn();
    o.pg_table = table_;
    o.pg_pool_size = 8;
    absl::StatusOr<std::unique_ptr<Store>> s = Store::Open(o);
    EXPECT_TRUE(s.ok()) << s.status();
    return s.ok() ? *std::move(s) : nullptr;
  }

  std::string table_;
};

TEST_F(SharedStoreTest, CreatesOfOneIdRaceToExactlyOneWinner) {
  std::unique_ptr<Store> a = OpenReplica(), b = OpenReplica();
  ASSERT_TRUE(a && b);
  for (int round = 0; round < 20; ++round) {
    const std::string id = absl::StrCat("race-", round);
    absl::StatusOr<Article> ra, rb;
    std::thread ta([&] { ra = a->Create(id, MakeArticle("from a", "x")); });
    std::thread tb([&] { rb = b->Create(id, MakeArticle("from b", "x")); });
    ta.join();
    tb.join();
    ASSERT_NE(ra.ok(), rb.ok()) << ra.status() << " / " << rb.status();
    const absl::Status& lost = ra.ok() ? rb.status() : ra.status();
    EXPECT_TRUE(absl::IsAlreadyExists(lost)) << lost;
    const std::string winner = ra.ok() ? "from a" : "from b";
    absl::StatusOr<Article> got = b->Get(id, 0, false);
    ASSERT_TRUE(got.ok());
    EXPECT_EQ(got->title(), winner);
    EXPECT_EQ(got->revision(), 1);
  }
}

TEST_F(SharedStoreTest, ConditionalUpdatesThroughTwoReplicasOneWins) {
  std::unique_ptr<Store> a = OpenReplica(), b = OpenReplica();
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(a->Create("doc", MakeArticle("v1", "x")).ok());
  for (int round = 0; round < 20; ++round) {
    absl::StatusOr<Article> head = a->Get("doc", 0, false);
    ASSERT_TRUE(head.ok());
    WriteConditions c;
    c.expected_revision = head->revision();
    absl::StatusOr<Article> ra, rb;
    std::thread ta([&] {
      ra = a->Update("doc", MakeArticle(absl::StrCat("a", round), "x"), c);
    });
    std::thread tb([&] {
      rb = b->Update("doc", MakeArticle(absl::StrCat("b", round), "x"), c);
    });
    ta.join();
    tb.join();
    ASSERT_NE(ra.ok(), rb.ok()) << ra.status() << " / " << rb.status();
    const absl::Status& lost = ra.ok() ? rb.status() : ra.status();
    EXPECT_TRUE(absl::IsFailedPrecondition(lost)) << lost;
    EXPECT_EQ((ra.ok() ? *ra : *rb).revision(), head->revision() + 1);
  }
}

TEST_F(SharedStoreTest, SequencesAreDenseAcrossReplicasAndFollowed) {
  // c only watches: its listener must hear of a's and b's commits. Its
  // state is declared before the replicas: c's follower thread calls the
  // listener until c is destroyed.
  absl::Mutex mu;
  int64_t heard = 0;
  std::unique_ptr<Store> a = OpenReplica(), b = OpenReplica(),
                         c = OpenReplica();
  ASSERT_TRUE(a && b && c);
  c->SetCommitListener([&](int64_t s) {
    absl::MutexLock lock(&mu);
    heard = std::max(heard, s);
  });
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int w = 0; w < 4; ++w) {
    Store* s = w % 2 ? a.get() : b.get();
    writers.emplace_back([s, w, &failures] {
      for (int i = 0; i < 15; ++i) {
        const std::string id = absl::StrCat("w", w, "-", i);
        if (!s->Create(id, MakeArticle(id, "t")).ok()) ++failures;
        if (!s->Update(id, MakeArticle(id + " again", "u"), {}).ok())
          ++failures;
      }
    });
  }
  for (std::thread& t : writers) t.join();
  EXPECT_EQ(failures.load(), 0);
  constexpr int64_t kEvents = 4 * 15 * 2;
  {
    absl::MutexLock lock(&mu);
    auto all = [&] { return heard >= kEvents; };
    EXPECT_TRUE(mu.AwaitWithTimeout(absl::Condition(&all), absl::Seconds(5)))
        << "replica c heard up to " << heard;
  }
  EXPECT_EQ(c->last_sequence(), kEvents);
  absl::StatusOr<std::vector<ChangeEvent>> events = c->ReadChanges(0, 1000);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(static_cast<int64_t>(events->size()), kEvents);
  std::set<std::string> created;
  for (int64_t i = 0; i < kEvents; ++i) {
    const ChangeEvent& e = (*events)[i];
    EXPECT_EQ(e.sequence(), i + 1);
    // Per article: created before updated.
    if (e.type() == ChangeEvent::TYPE_CREATED) created.insert(e.name());
    if (e.type() == ChangeEvent::TYPE_UPDATED)
      EXPECT_TRUE(created.count(e.name())) << e.name();
  }
  // The indexes the replicas wrote together are consistent.
  absl::StatusOr<FsckReport> report = CheckStore(*c);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->clean()) << report->ToString();
}

TEST_F(SharedStoreTest, OneReplicaAtATimeHoldsALease) {
  std::unique_ptr<Store> a = OpenReplica(), b = OpenReplica();
  ASSERT_TRUE(a && b);
  absl::StatusOr<bool> la = a->TryLease("retention");
  absl::StatusOr<bool> lb = b->TryLease("retention");
  ASSERT_TRUE(la.ok() && lb.ok());
  EXPECT_TRUE(*la);
  EXPECT_FALSE(*lb);
  EXPECT_TRUE(*a->TryLease("retention"));  // still held
  // Another name is another lease.
  EXPECT_TRUE(*b->TryLease("schedule"));
  // The holder goes away: the other takes over.
  a.reset();
  absl::StatusOr<bool> again = false;
  for (int i = 0; i < 50 && again.ok() && !*again; ++i) {
    again = b->TryLease("retention");
    if (again.ok() && !*again) absl::SleepFor(absl::Milliseconds(100));
  }
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(*again);
}

// Retention on a shared engine gives several articles' removals one
// transaction: a pass over 600 articles commits a few transactions, not
// 600 (each commit notifies the table's channel once, which a listener
// counts), every article keeps exactly its head, and fsck finds the
// indexes clean. It committed once per article: a pass over 20k articles
// took minutes.
TEST_F(SharedStoreTest, RetentionGivesManyArticlesOneTransaction) {
  std::unique_ptr<Store> a = OpenReplica();
  ASSERT_TRUE(a);
  constexpr int kArticles = 600;
  std::vector<std::thread> writers;
  std::atomic<int> failures{0};
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      for (int i = w; i < kArticles; i += 4) {
        const std::string id = absl::StrCat("r", i);
        if (!a->Create(id, MakeArticle(id, "t")).ok()) ++failures;
        if (!a->Update(id, MakeArticle(id + " again", "u"), {}).ok())
          ++failures;
      }
    });
  }
  for (std::thread& t : writers) t.join();
  ASSERT_EQ(failures.load(), 0);

  class Counter : public pqxx::notification_receiver {
   public:
    using pqxx::notification_receiver::notification_receiver;
    void operator()(const std::string& payload, int) override {
      if (payload == "end") {
        ended = true;
      } else {
        ++commits;
      }
    }
    int commits = 0;
    bool ended = false;
  };
  pqxx::connection listener(testing::TestPgDsn());
  Counter counter(listener, table_);
  listener.get_notifs();  // LISTEN is sent with the first wait

  RetentionPolicy policy;
  policy.keep_revisions = 1;
  absl::StatusOr<RetentionResult> result = a->ApplyRetention(policy);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->revisions_removed, kArticles);
  {
    // Delivered after every commit before it.
    pqxx::connection other(testing::TestPgDsn());
    pqxx::nontransaction tx(other);
    tx.exec("SELECT pg_notify('" + table_ + "', 'end')");
  }
  while (!counter.ended) listener.await_notification(5, 0);
  EXPECT_GE(counter.commits, 1);
  EXPECT_LE(counter.commits, 4) << "write transactions of the pass";

  for (int i = 0; i < kArticles; i += 97) {
    const std::string id = absl::StrCat("r", i);
    absl::StatusOr<std::vector<Article>> revisions =
        a->ListRevisions(id, 0, 10);
    ASSERT_TRUE(revisions.ok()) << revisions.status();
    ASSERT_EQ(revisions->size(), 1u) << id;
    EXPECT_EQ((*revisions)[0].revision(), 2) << id;
  }
  absl::StatusOr<FsckReport> report = CheckStore(*a);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->clean()) << report->ToString();
}

// The engine `kv`, counting the reads and the plain writes made through it.
class CountingKv : public KvEngine {
 public:
  explicit CountingKv(std::unique_ptr<KvEngine> kv) : kv_(std::move(kv)) {}
  std::atomic<int> gets{0}, multi_gets{0}, counts{0}, revision_iterators{0},
      mark_gets{0}, pings{0}, sequence_gets{0}, waits{0}, writes{0};

  absl::Status Get(Family family, absl::string_view key, std::string* value,
                   const KvReadOptions& options) override {
    ++gets;
    if (family == Family::kMeta && key == kIndexRepairKey) ++mark_gets;
    if (family == Family::kMeta && key == kLastSequenceKey) ++sequence_gets;
    return kv_->Get(family, key, value, options);
  }
  absl::Status Ping(absl::Duration timeout) override {
    ++pings;
    return kv_->Ping(timeout);
  }
  absl::Status PingReading(absl::Duration timeout, Family family,
                           absl::string_view key,
                           std::optional<bool>* exists) override {
    ++pings;
    return kv_->PingReading(timeout, family, key, exists);
  }
  void MultiGet(Family family, const std::vector<std::string>& keys,
                std::vector<std::string>* values,
                std::vector<absl::Status>* statuses,
                const KvReadOptions& options) override {
    ++multi_gets;
    kv_->MultiGet(family, keys, values, statuses, options);
  }
  absl::Status CountKeys(
      Family family,
      const std::vector<std::pair<std::string, std::string>>& ranges,
      std::vector<int64_t>* out, const KvReadOptions& options) override {
    ++counts;
    return kv_->CountKeys(family, ranges, out, options);
  }
  std::unique_ptr<KvIterator> NewIterator(
      Family family, const KvReadOptions& options) override {
    if (family == Family::kRevisions) ++revision_iterators;
    return kv_->NewIterator(family, options);
  }
  int64_t EstimateKeys(Family family, absl::string_view begin,
                       absl::string_view end) override {
    return kv_->EstimateKeys(family, begin, end);
  }
  absl::Status Write(KvBatch batch, bool sync) override {
    ++writes;
    return kv_->Write(std::move(batch), sync);
  }
  absl::Status WriteAfterRead(KvBatch batch, bool sync, Family family,
                              const std::string& key,
                              const Completion& complete) override {
    return kv_->WriteAfterRead(std::move(batch), sync, family, key, complete);
  }
  std::unique_ptr<KvSnapshot> GetSnapshot() override {
    return kv_->GetSnapshot();
  }
  bool shared() const override { return kv_->shared(); }
  bool WaitForWrites(absl::Duration timeout) override {
    const bool wrote = kv_->WaitForWrites(timeout);
    ++waits;
    return wrote;
  }
  absl::StatusOr<bool> TryLease(absl::string_view name) override {
    return kv_->TryLease(name);
  }

 private:
  std::unique_ptr<KvEngine> kv_;
};

// A replica on `table` whose engine counts its reads in `*reads`; with
// `serving`, the engine has taken its presence lock first; the store reads
// the last sequence unasked every `follow_recheck`.
absl::StatusOr<std::unique_ptr<Store>> OpenCountingReplica(
    const std::string& table, int pool_size, bool serving, CountingKv** reads,
    absl::Duration follow_recheck = StoreOptions().follow_recheck) {
  PgKvOptions pg;
  pg.dsn = testing::TestPgDsn();
  pg.table = table;
  pg.pool_size = pool_size;
  absl::StatusOr<std::unique_ptr<KvEngine>> engine = OpenPgKv(pg);
  if (!engine.ok()) return engine.status();
  if (serving) {
    if (absl::Status s = (*engine)->MarkServing(); !s.ok()) return s;
  }
  auto counting = std::make_unique<CountingKv>(*std::move(engine));
  *reads = counting.get();
  StoreOptions o;
  o.engine = "postgres";
  o.pg_table = table;
  o.follow_recheck = follow_recheck;
  return Store::Open(std::move(counting), o);
}

// An idle replica reads the stored last sequence only when a notification
// says another replica may have written (or once its listener opened:
// commits before it told no one), and follows their writes so: it read it
// after every 200 ms wait, five times a second per replica, with nothing
// written anywhere.
TEST_F(SharedStoreTest, AnIdleReplicaReadsTheLastSequenceOnlyWhenToldOfAWrite) {
  CountingKv* kv = nullptr;
  // No recheck within the test: every read counted is one a wait asked for.
  absl::StatusOr<std::unique_ptr<Store>> a =
      OpenCountingReplica(table_, 2, false, &kv, absl::Hours(1));
  ASSERT_TRUE(a.ok()) << a.status();
  std::unique_ptr<Store> b = OpenReplica();
  ASSERT_TRUE(b);
  // The listener is open after the first wait; the read it asked for
  // follows it.
  while (kv->waits.load() < 2) absl::SleepFor(absl::Milliseconds(5));
  const int before = kv->sequence_gets.load();
  const int waited = kv->waits.load();
  while (kv->waits.load() < waited + 15) absl::SleepFor(absl::Milliseconds(5));
  EXPECT_EQ(kv->sequence_gets.load(), before) << "15 waits in silence";

  ASSERT_TRUE(b->Create("told", MakeArticle("told", "x")).ok());
  const int64_t want = b->last_sequence();
  ASSERT_GT(want, 0);
  for (const absl::Time deadline = absl::Now() + absl::Seconds(30);
       (*a)->last_sequence() < want && absl::Now() < deadline;) {
    absl::SleepFor(absl::Milliseconds(5));
  }
  EXPECT_EQ((*a)->last_sequence(), want) << "the notification was followed";
  EXPECT_GT(kv->sequence_gets.load(), before);
}

// A trim with nothing older than its cut writes nothing: it wrote a range
// delete of the empty range (a write transaction on PostgreSQL, a tombstone
// on RocksDB) on every pass once the log had been trimmed to its limit.
TEST_F(SharedStoreTest, ATrimWithNothingToDropWritesNothing) {
  CountingKv* kv = nullptr;
  absl::StatusOr<std::unique_ptr<Store>> a =
      OpenCountingReplica(table_, 2, false, &kv);
  ASSERT_TRUE(a.ok()) << a.status();
  for (int i = 0; i < 5; ++i) {
    const std::string id = absl::StrCat("trim", i);
    ASSERT_TRUE((*a)->Create(id, MakeArticle(id, "t")).ok());
  }
  const int64_t last = (*a)->last_sequence();
  ASSERT_TRUE((*a)->TrimChanges(2, absl::ZeroDuration()).ok());
  absl::StatusOr<int64_t> first = (*a)->FirstSequence();
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, last - 1) << "the newest two kept";

  const int writes = kv->writes.load();
  ASSERT_TRUE((*a)->TrimChanges(2, absl::ZeroDuration()).ok());
  // By age: the first event young enough is the first one there.
  ASSERT_TRUE((*a)->TrimChanges(0, absl::Hours(1)).ok());
  EXPECT_EQ(kv->writes.load(), writes) << "nothing was older than the cut";
  first = (*a)->FirstSequence();
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, last - 1);

  // Something to drop is still dropped.
  ASSERT_TRUE((*a)->Create("trim5", MakeArticle("trim5", "t")).ok());
  ASSERT_TRUE((*a)->TrimChanges(2, absl::ZeroDuration()).ok());
  first = (*a)->FirstSequence();
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(*first, (*a)->last_sequence() - 1);
}

// A retention pass reads each group of articles together: their heads,
// the revisions to cut at and how many go, a statement each for up to 256
// articles, and no read of an article of its own. It read each article
// separately (its head, its head's revision, an iterator over its
// revisions: about 1.5 ms an article on PostgreSQL) while it wrote them in
// groups.
TEST_F(SharedStoreTest, RetentionReadsEachGroupOfArticlesTogether) {
  std::unique_ptr<Store> a = OpenReplica();
  ASSERT_TRUE(a);
  constexpr int kArticles = 300;
  for (int i = 0; i < kArticles; ++i) {
    const std::string id = absl::StrCat("g", i);
    ASSERT_TRUE(a->Create(id, MakeArticle(id, "t")).ok());
    ASSERT_TRUE(a->Update(id, MakeArticle(id + " again", "u"), {}).ok());
    if (i % 3 == 0)  // a third with a third revision
      ASSERT_TRUE(a->Update(id, MakeArticle(id + " third", "u"), {}).ok());
  }
  CountingKv* reads = nullptr;
  absl::StatusOr<std::unique_ptr<Store>> b =
      OpenCountingReplica(table_, /*pool_size=*/4, /*serving=*/false, &reads);
  ASSERT_TRUE(b.ok()) << b.status();
  reads->gets = 0;
  reads->multi_gets = 0;
  reads->counts = 0;
  reads->revision_iterators = 0;

  RetentionPolicy policy;
  policy.keep_revisions = 1;
  absl::StatusOr<RetentionResult> result = (*b)->ApplyRetention(policy);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->revisions_removed, kArticles + kArticles / 3);
  // None per article (it made two for each, 800 here). A few may be the
  // replica's own background reads (the poll for other replicas' events),
  // more of them the slower the run: 3 under the sanitizers.
  EXPECT_LT(reads->gets.load(), 20);
  EXPECT_EQ(reads->revision_iterators.load(), 0);
  // Two groups (256 + 44): heads, their revisions, the revisions to cut
  // at, and the counts.
  EXPECT_EQ(reads->multi_gets.load(), 6);
  EXPECT_EQ(reads->counts.load(), 2);
  for (int i = 0; i < kArticles; i += 37) {
    const std::string id = absl::StrCat("g", i);
    absl::StatusOr<std::vector<Article>> revisions =
        a->ListRevisions(id, 0, 10);
    ASSERT_TRUE(revisions.ok()) << revisions.status();
    ASSERT_EQ(revisions->size(), 1u) << id;
    EXPECT_EQ((*revisions)[0].revision(), i % 3 == 0 ? 3 : 2) << id;
  }
  // Nothing left to do: a second pass removes nothing.
  result = (*b)->ApplyRetention(policy);
  ASSERT_TRUE(result.ok()) << result.status();
  EXPECT_EQ(result->revisions_removed, 0);
  absl::StatusOr<FsckReport> report = CheckStore(*a);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->clean()) << report->ToString();
}

// A replica's ping a second reads the index-repair mark in the ping's own
// statement, on its presence connection: no read of the mark through the
// pool (main.cc made one after every ping, a query a second per replica),
// and the mark is still seen to come and go.
TEST_F(SharedStoreTest, PingsReadTheIndexRepairMarkInTheirOwnStatement) {
  std::unique_ptr<Store> a = OpenReplica();
  ASSERT_TRUE(a);
  CountingKv* reads = nullptr;
  absl::StatusOr<std::unique_ptr<Store>> b =
      OpenCountingReplica(table_, /*pool_size=*/2, /*serving=*/true, &reads);
  ASSERT_TRUE(b.ok()) << b.status();
  reads->mark_gets = 0;
  reads->pings = 0;
  auto mark = [&](bool set) {
    KvBatch batch;
    if (set) {
      batch.Put(Family::kMeta, std::string(kIndexRepairKey), "");
    } else {
      batch.Delete(Family::kMeta, std::string(kIndexRepairKey));
    }
    ASSERT_TRUE(a->engine()->Write(std::move(batch), true).ok());
  };

  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(PingAndNoteIndexes(**b, absl::Seconds(5)).ok());
  }
  EXPECT_TRUE((*b)->IndexesUsable().ok());
  ASSERT_NO_FATAL_FAILURE(mark(true));
  for (int i = 0; i < 2; ++i) {
    const absl::Status marked = PingAndNoteIndexes(**b, absl::Seconds(5));
    EXPECT_TRUE(absl::IsFailedPrecondition(marked)) << marked;
    EXPECT_EQ(ReasonOf(marked), "INDEX_REPAIR_PENDING");
    EXPECT_EQ(ReasonOf((*b)->IndexesUsable()), "INDEX_REPAIR_PENDING");
  }
  ASSERT_NO_FATAL_FAILURE(mark(false));
  EXPECT_TRUE(PingAndNoteIndexes(**b, absl::Seconds(5)).ok());
  EXPECT_TRUE((*b)->IndexesUsable().ok());
  EXPECT_EQ(reads->pings.load(), 6);
  EXPECT_EQ(reads->mark_gets.load(), 0) << "a read of the mark per ping";

  // The table locked exclusively (VACUUM FULL, LOCK TABLE): the ping still
  // answers, within a second's wait for the lock, leaving the mark unread
  // (to the pool's read, which waits for the lock as any read does), and
  // its presence session stays; a ping that waited for the lock until its
  // deadline would have given the session up.
  // This table's presence lock only: other tests' servers on the same
  // PostgreSQL (the pg_* lanes run beside this one) hold theirs.
  pqxx::connection admin(testing::TestPgDsn());
  const uint64_t presence =
      static_cast<uint64_t>(pg_internal::LockKey(table_, "serving"));
  auto presence_backends = [&admin, presence] {
    pqxx::nontransaction tx(admin);
    const pqxx::result r = tx.exec(absl::StrCat(
        "SELECT coalesce(string_agg(pid::text, ',' ORDER BY pid), '') FROM "
        "pg_locks WHERE locktype = 'advisory' AND granted AND mode = "
        "'ShareLock' AND classid = ",
        presence >> 32, "::bigint::oid AND objid = ", presence & 0xffffffff,
        "::bigint::oid AND objsubid = 1"));
    return std::string(r[0][0].c_str());
  };
  const std::string before = presence_backends();
  EXPECT_FALSE(before.empty());
  pqxx::connection locker(testing::TestPgDsn());
  pqxx::work lock_tx(locker);
  lock_tx.exec("LOCK TABLE " + table_ + " IN ACCESS EXCLUSIVE MODE");
  std::optional<bool> exists;
  const absl::Status locked = reads->PingReading(
      absl::Seconds(5), Family::kMeta, std::string(kIndexRepairKey), &exists);
  EXPECT_TRUE(locked.ok()) << locked;
  EXPECT_FALSE(exists.has_value());
  lock_tx.abort();
  EXPECT_EQ(presence_backends(), before);
  EXPECT_TRUE(PingAndNoteIndexes(**b, absl::Seconds(5)).ok());
  EXPECT_EQ(reads->mark_gets.load(), 0);
}

}  // namespace
}  // namespace content::store
