// Unit-level reliability of the store: the fsck checker finds every kind of
// damage it claims to and repairs the indexes; disk faults injected under the
// store (FaultKv) fail writes with a clear status, leave nothing half written
// and nothing acknowledged lost, and the store works again afterwards.
#include <stdlib.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/random/random.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/blocking_counter.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "content/v1/admin_service.grpc.pb.h"
#include "content/v1/content_service.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server/query/engine.h"
#include "server/service/admin_service.h"
#include "server/service/content_service.h"
#include "server/store/fsck.h"
#include "server/store/keys.h"
#include "server/store/rocksdb_kv.h"
#include "server/store/store.h"
#include "tests/reliability/fault_kv.h"
#include "tests/support/grpc_raw.h"
#include "tests/support/harness.h"

namespace content::store {
namespace {

using ::testing::HasSubstr;
using v1::Article;

Article MakeArticle(const std::string& title, std::vector<std::string> tags,
                    int64_t seconds = 1700000000) {
  Article a;
  a.set_title(title);
  a.set_body(absl::StrCat("正文 ", title, "\n"));
  for (auto& t : tags) a.add_tags(t);
  a.add_lang(seconds % 2 == 0 ? "zh-CN" : "en");
  a.add_categories("news");
  a.mutable_date()->set_seconds(seconds);
  return a;
}

std::string BigEndian(int64_t v) {
  std::string s;
  AppendBigEndian64(&s, static_cast<uint64_t>(v));
  return s;
}

class ReliabilityStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = getenv("TMPDIR");
    std::string pattern = absl::StrCat(
        tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/fault_test.XXXXXX");
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    OpenStore(/*text_index=*/true);
  }
  // Opens store_ on dir_ over a fresh FaultKv (fault_); close it first.
  void OpenStore(bool text_index) {
    RocksKvOptions kv_options;
    kv_options.path = dir_;
    kv_options.block_cache_bytes = size_t{8} << 20;
    absl::StatusOr<std::unique_ptr<KvEngine>> base = OpenRocksKv(kv_options);
    ASSERT_TRUE(base.ok()) << base.status();
    auto faulty = std::make_unique<FaultKv>(*std::move(base));
    fault_ = faulty.get();
    StoreOptions options;
    options.data_dir = dir_;
    options.sync = false;
    options.text_index = text_index;
    options.clock = clock_;
    absl::StatusOr<std::unique_ptr<Store>> store =
        Store::Open(std::move(faulty), options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }
  void TearDown() override {
    store_.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  FsckReport Check() {
    absl::StatusOr<FsckReport> report = CheckStore(*store_);
    EXPECT_TRUE(report.ok()) << report.status();
    return report.ok() ? *report : FsckReport();
  }

  // A few articles with several revisions, a tombstone and an undelete.
  void Populate() {
    for (int i = 0; i < 6; ++i) {
      const std::string id = absl::StrCat("a", i);
      ASSERT_TRUE(
          store_->Create(id, MakeArticle(id, {"t1", "t2"}, 1700000000 + i))
              .ok());
      ASSERT_TRUE(
          store_
              ->Update(id, MakeArticle(id + "v2", {"t2", "t3"}, 1700001000 + i),
                       {})
              .ok());
    }
    ASSERT_TRUE(store_->Delete("a1", {}).ok());
    ASSERT_TRUE(store_->Delete("a2", {}).ok());
    ASSERT_TRUE(store_->Undelete("a2", {}).ok());
  }

  // A service (ContentService, AdminService) on store_, served on a
  // loopback port, and a stub to it (of API, the generated class). Shut
  // down (waiting for its calls) when it goes, then the service.
  template <typename Service, typename Api>
  struct ServedOn {
    std::unique_ptr<Service> service;
    std::unique_ptr<grpc::Server> server;
    std::unique_ptr<typename Api::Stub> stub;
    ~ServedOn() {
      if (server != nullptr) {
        server->Shutdown(std::chrono::system_clock::now() +
                         std::chrono::seconds(5));
      }
    }
  };
  using Served = ServedOn<service::ContentService, v1::ContentService>;
  using ServedAdmin = ServedOn<service::AdminService, v1::AdminService>;
  template <typename Service, typename Api>
  static std::unique_ptr<ServedOn<Service, Api>> ServeOn(
      absl::StatusOr<std::unique_ptr<Service>> service,
      const grpc::ChannelArguments& args) {
    EXPECT_TRUE(service.ok()) << service.status();
    if (!service.ok()) return nullptr;
    auto served = std::make_unique<ServedOn<Service, Api>>();
    served->service = *std::move(service);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(served->service.get());
    served->server = builder.BuildAndStart();
    EXPECT_NE(served->server, nullptr);
    served->stub = Api::NewStub(
        grpc::CreateCustomChannel(absl::StrCat("127.0.0.1:", port),
                                  grpc::InsecureChannelCredentials(), args));
    return served;
  }
  // The scheduler is off unless `options` sets it: it reads postings and
  // revisions, which the fault hooks would see.
  std::unique_ptr<Served> Serve(
      service::ServiceOptions options = NoScheduler(),
      const grpc::ChannelArguments& args = grpc::ChannelArguments()) {
    return ServeOn<service::ContentService, v1::ContentService>(
        service::ContentService::Create(store_.get(), options, nullptr), args);
  }
  // AdminService with default options (no retention task runs: the
  // service's owner starts it).
  std::unique_ptr<ServedAdmin> ServeAdmin() {
    return ServeOn<service::AdminService, v1::AdminService>(
        service::AdminService::Create(store_.get(), nullptr, {}, nullptr),
        grpc::ChannelArguments());
  }
  static service::ServiceOptions NoScheduler() {
    service::ServiceOptions options;
    options.schedule_poll = absl::ZeroDuration();
    return options;
  }

  std::string dir_;
  FaultKv* fault_ = nullptr;
  std::unique_ptr<Store> store_;
  // The store's clock, if set before OpenStore (else the system's).
  std::function<absl::Time()> clock_;
};

// ---- fsck -----------------------------------------------------------------

TEST_F(ReliabilityStoreTest, FsckIsCleanAfterARandomWorkload) {
  absl::BitGen gen;
  std::map<std::string, bool> deleted;
  for (int step = 0; step < 300; ++step) {
    const std::string id = absl::StrCat("x", absl::Uniform(gen, 0, 20));
    const std::string tag = absl::StrCat("t", absl::Uniform(gen, 0, 5));
    const int64_t date = 1700000000 + absl::Uniform(gen, 0, 1000);
    if (!deleted.count(id)) {
      ASSERT_TRUE(store_->Create(id, MakeArticle(id, {tag}, date)).ok());
      deleted[id] = false;
    } else if (deleted[id]) {
      ASSERT_TRUE(store_->Undelete(id, {}).ok());
      deleted[id] = false;
    } else if (absl::Bernoulli(gen, 0.2)) {
      ASSERT_TRUE(store_->Delete(id, {}).ok());
      deleted[id] = true;
    } else {
      ASSERT_TRUE(
          store_->Update(id, MakeArticle(id + tag, {tag, "all"}, date), {})
              .ok());
    }
  }
  std::vector<std::pair<std::string, Article>> batch;
  for (int i = 0; i < 10; ++i)
    batch.emplace_back(absl::StrCat("b", i), MakeArticle("bulk", {"bulk"}));
  ASSERT_TRUE(store_->Apply(batch, /*dry_run=*/false).ok());

  FsckReport report = Check();
  EXPECT_TRUE(report.clean()) << report.ToString();
  EXPECT_EQ(report.articles, static_cast<int64_t>(deleted.size()) + 10);
  EXPECT_EQ(report.last_sequence, store_->last_sequence());
  EXPECT_EQ(report.changes, store_->last_sequence());
  EXPECT_EQ(report.first_sequence, 1);
  EXPECT_GT(report.postings, report.articles);
}

TEST_F(ReliabilityStoreTest, FsckFindsAndRepairsIndexDamage) {
  Populate();
  ASSERT_TRUE(Check().clean());
  KvEngine* kv = store_->engine();
  absl::StatusOr<Article> a0 = store_->Get("a0", 0, false);
  ASSERT_TRUE(a0.ok());
  const uint64_t date = DateKey(a0->date());

  KvBatch damage;
  // A posting the head needs, gone.
  damage.Delete(
      Family::kPostings,
      PostingKey(PostingPrefix(IndexKind::kTag, false, "t3"), date, "a0"));
  // A stale posting: a0 left t1 at revision 2.
  damage.Put(
      Family::kPostings,
      PostingKey(PostingPrefix(IndexKind::kTag, false, "t1"), date, "a0"),
      BigEndian(2));
  // A posting for an article that does not exist.
  damage.Put(
      Family::kPostings,
      PostingKey(PostingPrefix(IndexKind::kAll, false, ""), date, "ghost"),
      BigEndian(1));
  // A live posting for the deleted a1.
  absl::StatusOr<Article> a1 = store_->Get("a1", 0, true);
  ASSERT_TRUE(a1.ok());
  damage.Put(Family::kPostings,
             PostingKey(PostingPrefix(IndexKind::kLang, false, a1->lang(0)),
                        DateKey(a1->date()), "a1"),
             BigEndian(a1->revision()));
  // A posting naming a revision beyond its head's (older ones are fine:
  // updates keep the entries they do not change).
  damage.Put(Family::kPostings,
             PostingKey(PostingPrefix(IndexKind::kAll, false, ""), date, "a0"),
             BigEndian(a0->revision() + 7));
  // A counter that drifted.
  damage.AddInt64(Family::kMeta,
                  CountKey(PostingPrefix(IndexKind::kCategory, false, "news")),
                  5);
  // A tag posting whose fingerprints name tags its article lacks, and one
  // as written before fingerprints (the revision alone: not a problem).
  for (const char* id : {"a2", "a3"}) {
    absl::StatusOr<Article> a = store_->Get(id, 0, true);
    ASSERT_TRUE(a.ok()) << a.status();
    ASSERT_GT(a->tags_size(), 0);
    google::protobuf::RepeatedPtrField<std::string> other;
    *other.Add() = "not-a-tag-of-a2";
    damage.Put(Family::kPostings,
               PostingKey(PostingPrefix(IndexKind::kTag, a->has_delete_time(),
                                        a->tags(0)),
                          DateKey(a->date()), id),
               BigEndian(a->revision()) +
                   (id == std::string("a2") ? TagFingerprints(other) : ""));
  }
  // Text: a term a4 does not hold (right date and revision), and one of
  // a5's terms gone.
  absl::StatusOr<Article> a4 = store_->Get("a4", 0, false);
  ASSERT_TRUE(a4.ok());
  damage.Put(Family::kPostings,
             PostingKey(PostingPrefix(IndexKind::kText, false, "zzstale"),
                        DateKey(a4->date()), "a4"),
             BigEndian(a4->revision()));
  absl::StatusOr<Article> a5 = store_->Get("a5", 0, false);
  ASSERT_TRUE(a5.ok());
  damage.Delete(Family::kPostings,
                PostingKey(PostingPrefix(IndexKind::kText, false, "a5v2"),
                           DateKey(a5->date()), "a5"));
  // And one of a0's terms swapped for another: as many text postings as it
  // calls for, so only their terms (summed hashes) tell.
  damage.Delete(
      Family::kPostings,
      PostingKey(PostingPrefix(IndexKind::kText, false, "a0v2"), date, "a0"));
  damage.Put(
      Family::kPostings,
      PostingKey(PostingPrefix(IndexKind::kText, false, "zzswap"), date, "a0"),
      BigEndian(a0->revision()));
  ASSERT_TRUE(kv->Write(std::move(damage), true).ok());

  FsckReport report = Check();
  EXPECT_FALSE(report.clean());
  EXPECT_EQ(report.index_problems, report.problem_count) << report.ToString();
  EXPECT_THAT(report.ToString(),
              HasSubstr("posting xzzswap\\x00 a0: the head does not belong"));
  EXPECT_THAT(report.ToString(),
              HasSubstr("a0 revision 2 is missing from list xa0v2\\x00"));
  EXPECT_THAT(report.ToString(),
              HasSubstr("posting xzzstale\\x00 a4: the head does not belong"));
  EXPECT_THAT(report.ToString(),
              HasSubstr("a5 revision 2 is missing from list xa5v2\\x00"));
  const std::string text = report.ToString();
  EXPECT_THAT(text, HasSubstr("a0 revision 2 is missing from list tt3"));
  EXPECT_THAT(text, HasSubstr("posting tt1\\x00 a0: the head does not belong"));
  EXPECT_THAT(text, HasSubstr("posting a\\x00 ghost: no such article"));
  EXPECT_THAT(text, HasSubstr("a1: entry says live, head is deleted"));
  EXPECT_THAT(text, HasSubstr(absl::StrCat("a0: entry says revision ",
                                           a0->revision() + 7, ", head is ",
                                           a0->revision())));
  EXPECT_THAT(text, HasSubstr("counter of list cnews\\x00 is"));
  EXPECT_THAT(text, HasSubstr(" a2: tag fingerprints differ from the head's"));
  EXPECT_EQ(text.find(" a3"), std::string::npos) << text;

  absl::StatusOr<FsckReport> repaired = RepairIndexes(*store_);
  ASSERT_TRUE(repaired.ok()) << repaired.status();
  EXPECT_TRUE(repaired->clean()) << repaired->ToString();
  // Queries see the repaired lists: the counters match again.
  EXPECT_EQ(store_->NewReadView()->Count(
                PostingPrefix(IndexKind::kCategory, false, "news")),
            5);  // six articles, one deleted
}

// A repair writes in batches; one cut short (here by a write error after
// two batches) leaves a marker that keeps the store from serving and that
// fsck reports, until a repair completes.
TEST_F(ReliabilityStoreTest, AnInterruptedRepairIsReportedUntilOneCompletes) {
  Populate();
  RepairOptions small;
  small.postings_per_write = 3;
  fault_->writes_before_fault = fault_->writes.load() + 3;  // start + 2
  fault_->write_fault = FaultKv::Fault::kIoError;
  absl::StatusOr<FsckReport> cut = RepairIndexes(*store_, small);
  EXPECT_EQ(cut.status().code(), absl::StatusCode::kUnavailable)
      << cut.status();
  fault_->write_fault = FaultKv::Fault::kNone;

  const absl::Status pending = IndexRepairPending(*store_);
  EXPECT_EQ(pending.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(pending.message(), HasSubstr("--check --repair"));
  FsckReport report = Check();
  EXPECT_FALSE(report.clean());
  EXPECT_EQ(report.index_problems, report.problem_count) << report.ToString();
  EXPECT_THAT(report.ToString(),
              HasSubstr("an index repair started and did not finish"));

  const int64_t before = fault_->writes.load();
  absl::StatusOr<FsckReport> repaired = RepairIndexes(*store_, small);
  ASSERT_TRUE(repaired.ok()) << repaired.status();
  EXPECT_TRUE(repaired->clean()) << repaired->ToString();
  EXPECT_GT(fault_->writes.load() - before, 5) << "written in batches";
  EXPECT_TRUE(IndexRepairPending(*store_).ok());
  EXPECT_EQ(store_->NewReadView()->Count(
                PostingPrefix(IndexKind::kCategory, false, "news")),
            5);
}

// Text postings built with one text_index setting are wrong under the
// other: the store records its setting, a mismatch is refused and reported,
// and a repair with the new setting rebuilds the postings and the record.
TEST_F(ReliabilityStoreTest, ATextIndexSettingChangeNeedsARepair) {
  Populate();
  auto text_postings = [&](Store& store) {
    int64_t n = 0;
    std::unique_ptr<KvIterator> it =
        store.engine()->NewIterator(Family::kPostings, {});
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      n += KindOf(static_cast<unsigned char>(it->key()[0])) == IndexKind::kText;
    }
    return n;
  };
  ASSERT_TRUE(MatchTextIndexSetting(*store_).ok());  // records "1"
  std::string recorded;
  ASSERT_TRUE(
      store_->engine()->Get(Family::kMeta, kTextIndexKey, &recorded).ok());
  EXPECT_EQ(recorded, "1");
  const int64_t with_text = text_postings(*store_);
  EXPECT_GT(with_text, 0);

  for (const bool text : {false, true}) {
    SCOPED_TRACE(text ? "turned back on" : "turned off");
    store_.reset();
    OpenStore(text);
    ASSERT_NE(store_, nullptr);

    const absl::Status refused = MatchTextIndexSetting(*store_);
    EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_THAT(refused.message(),
                HasSubstr(absl::StrCat("built with text_index: ",
                                       text ? "false" : "true")));
    EXPECT_THAT(refused.message(), HasSubstr("--check --repair"));
    FsckReport report = Check();
    EXPECT_FALSE(report.clean());
    EXPECT_GT(report.index_problems, 0);
    // The cause comes first: the report lists only the first problems.
    ASSERT_FALSE(report.problems.empty());
    EXPECT_THAT(report.problems[0],
                HasSubstr(absl::StrCat("this configuration has text_index: ",
                                       text ? "true" : "false")));

    absl::StatusOr<FsckReport> repaired = RepairIndexes(*store_);
    ASSERT_TRUE(repaired.ok()) << repaired.status();
    EXPECT_TRUE(repaired->clean()) << repaired->ToString();
    EXPECT_TRUE(MatchTextIndexSetting(*store_).ok());
    EXPECT_EQ(text_postings(*store_), text ? with_text : 0);
  }
}

// A setting changed on a stopped store, through the binaries: contentd
// refuses to serve until `contentd --check --repair` with the new setting.
TEST(TextIndexSettingTest, ContentdServesAChangedSettingOnlyAfterARepair) {
  testing::TempDir dir;
  const std::string data = dir.path() + "/data";
  const std::string off = dir.path() + "/off.yaml";
  testing::WriteFile(off, "text_index: false\n");
  {
    auto server = testing::ServerProcess::Start(data);  // records "1"
    ASSERT_NE(server, nullptr);
  }
  // Bounded: a contentd that served anyway would never exit (124).
  testing::CommandResult serve = testing::RunCommand(
      {"timeout", "20", testing::ContentdBinary(), "--config", off,
       "--data-dir", data, "--listen", "127.0.0.1:0"});
  // Exit 2: a restart would be refused again (no systemd restart).
  EXPECT_EQ(serve.exit_code, 2) << serve.err;
  EXPECT_THAT(serve.err, HasSubstr("FAILED_PRECONDITION"));
  EXPECT_THAT(serve.err, HasSubstr("built with text_index: true"));
  EXPECT_THAT(serve.err, HasSubstr("--check --repair"));
  testing::CommandResult repair =
      testing::RunCommand({testing::ContentdBinary(), "--config", off,
                           "--check", "--repair", "--data-dir", data});
  EXPECT_EQ(repair.exit_code, 0) << repair.out << repair.err;
  EXPECT_THAT(repair.out, HasSubstr("repairing indexes"));
  auto server = testing::ServerProcess::Start(data, {"--config", off});
  EXPECT_NE(server, nullptr);
}

// The same through the binaries: contentd refuses to serve a data
// directory whose repair did not finish, and `contentd --check --repair`
// completes it.
TEST(RepairMarkerTest, ContentdServesOnlyAfterAnInterruptedRepairCompletes) {
  testing::TempDir dir;
  const std::string data = dir.path() + "/data";
  {
    auto server = testing::ServerProcess::Start(data);
    ASSERT_NE(server, nullptr);
  }
  {
    RocksKvOptions o;
    o.path = data;
    absl::StatusOr<std::unique_ptr<KvEngine>> kv = OpenRocksKv(o);
    ASSERT_TRUE(kv.ok()) << kv.status();
    KvBatch marker;
    marker.Put(Family::kMeta, std::string(kIndexRepairKey), "");
    ASSERT_TRUE((*kv)->Write(std::move(marker), true).ok());
  }
  // Bounded: a contentd that served anyway would never exit (124).
  testing::CommandResult serve =
      testing::RunCommand({"timeout", "20", testing::ContentdBinary(),
                           "--data-dir", data, "--listen", "127.0.0.1:0"});
  // Exit 2: a restart would be refused again (no systemd restart).
  EXPECT_EQ(serve.exit_code, 2) << serve.err;
  EXPECT_THAT(serve.err, HasSubstr("FAILED_PRECONDITION"));
  EXPECT_THAT(serve.err, HasSubstr("--check --repair"));
  testing::CommandResult check = testing::RunCommand(
      {testing::ContentdBinary(), "--check", "--data-dir", data});
  EXPECT_EQ(check.exit_code, 1) << check.out << check.err;
  EXPECT_THAT(check.out, HasSubstr("an index repair started"));
  testing::CommandResult repair = testing::RunCommand(
      {testing::ContentdBinary(), "--check", "--repair", "--data-dir", data});
  EXPECT_EQ(repair.exit_code, 0) << repair.out << repair.err;
  auto server = testing::ServerProcess::Start(data);
  EXPECT_NE(server, nullptr);
}

TEST_F(ReliabilityStoreTest, GroupCountersOfEarlierBuildsAreIgnoredAndDropped) {
  Populate();
  KvEngine* kv = store_->engine();
  // This build keeps no counters for translation groups; earlier ones did.
  const std::string group =
      PostingPrefix(IndexKind::kGroup, ListState::kLive, "a0");
  EXPECT_FALSE(HasCounter(group));
  EXPECT_TRUE(HasCounter(PostingPrefix(IndexKind::kTag, false, "t1")));
  EXPECT_EQ(store_->NewReadView()->Count(group), 0);
  KvBatch old;
  old.AddInt64(Family::kMeta, CountKey(group), 1);
  ASSERT_TRUE(kv->Write(std::move(old), true).ok());

  FsckReport report = Check();
  EXPECT_TRUE(report.clean()) << report.ToString();
  absl::StatusOr<FsckReport> repaired = RepairIndexes(*store_);
  ASSERT_TRUE(repaired.ok()) << repaired.status();
  EXPECT_TRUE(repaired->clean()) << repaired->ToString();
  EXPECT_EQ(store_->NewReadView()->Count(group), 0);
}

// Every text posting (key and value), in key order.
std::map<std::string, std::string> TextPostings(Store& store) {
  std::map<std::string, std::string> out;
  std::unique_ptr<KvIterator> it =
      store.engine()->NewIterator(Family::kPostings, {});
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (KindOf(static_cast<unsigned char>(it->key()[0])) == IndexKind::kText)
      out.emplace(std::string(it->key()), std::string(it->value()));
  }
  EXPECT_TRUE(it->status().ok()) << it->status();
  return out;
}

// Text lists hold every state (keys.h): a delete, an undelete, publishing a
// draft and archiving leave the text postings exactly as they were, all
// under the live kind, and the store stays consistent.
TEST_F(ReliabilityStoreTest, StateChangesLeaveTextPostingsWhereTheyAre) {
  Populate();
  Article draft = MakeArticle("草稿 draft", {"t1"});
  draft.set_state(Article::DRAFT);
  ASSERT_TRUE(store_->Create("d0", draft).ok());
  const std::map<std::string, std::string> before = TextPostings(*store_);
  ASSERT_FALSE(before.empty());
  for (const auto& [key, value] : before)
    EXPECT_EQ(static_cast<unsigned char>(key[0]), 'x') << absl::CEscape(key);
  const auto d0_terms = std::count_if(
      before.begin(), before.end(),
      [](const auto& kv) { return absl::EndsWith(kv.first, "d0"); });
  EXPECT_GT(d0_terms, 0);

  ASSERT_TRUE(store_->Delete("a0", {}).ok());
  EXPECT_EQ(TextPostings(*store_), before);
  ASSERT_TRUE(store_->Undelete("a1", {}).ok());
  EXPECT_EQ(TextPostings(*store_), before);
  draft.set_state(Article::PUBLISHED);
  ASSERT_TRUE(store_->Update("d0", draft, {}).ok());
  EXPECT_EQ(TextPostings(*store_), before);
  draft.set_state(Article::ARCHIVED);
  ASSERT_TRUE(store_->Update("d0", draft, {}).ok());
  EXPECT_EQ(TextPostings(*store_), before);
  FsckReport report = Check();
  EXPECT_TRUE(report.clean()) << report.ToString();
  // Only an edit of the text itself writes text postings.
  draft.set_body("另一个正文 other body");
  ASSERT_TRUE(store_->Update("d0", draft, {}).ok());
  EXPECT_NE(TextPostings(*store_), before);
  report = Check();
  EXPECT_TRUE(report.clean()) << report.ToString();
}

// Earlier builds kept the text postings of deleted and unpublished articles
// under those kinds. fsck reports such a store; MoveTextPostings moves them
// into the live kind's lists with their counters, in batches, and a second
// run finds nothing to move.
TEST_F(ReliabilityStoreTest, TextPostingsOfEarlierBuildsMoveIntoTheTextLists) {
  Populate();  // a1 deleted
  Article draft = MakeArticle("草稿 draft", {"t1"});
  draft.set_state(Article::DRAFT);
  ASSERT_TRUE(store_->Create("d0", draft).ok());
  const std::map<std::string, std::string> now = TextPostings(*store_);

  // The layout of earlier builds: a1's under the deleted bit, d0's under
  // the upper-case kind, counted there.
  KvEngine* kv = store_->engine();
  KvBatch old;
  int64_t old_layout = 0;
  for (const auto& [key, value] : now) {
    const bool deleted = absl::EndsWith(key, "a1");
    if (!deleted && !absl::EndsWith(key, "d0")) continue;
    std::string to = key;
    to[0] = static_cast<char>(deleted ? ('x' | kDeletedBit)
                                      : ('x' & ~kUnpublishedBit));
    old.Delete(Family::kPostings, key);
    old.Put(Family::kPostings, to, value);
    const size_t nul = key.find('\0', 1);
    old.AddInt64(Family::kMeta, CountKey(key.substr(0, nul + 1)), -1);
    old.AddInt64(Family::kMeta, CountKey(to.substr(0, nul + 1)), 1);
    ++old_layout;
  }
  ASSERT_GT(old_layout, 10);
  ASSERT_TRUE(kv->Write(std::move(old), true).ok());
  FsckReport report = Check();
  EXPECT_FALSE(report.clean());
  EXPECT_EQ(report.index_problems, report.problem_count) << report.ToString();
  EXPECT_THAT(report.ToString(),
              HasSubstr("as builds before 2026-12-02 wrote them; starting "
                        "contentd moves them"));
  EXPECT_THAT(report.ToString(),
              HasSubstr("a1 revision 3 is missing from list"))
      << report.ToString();

  MoveTextPostingsOptions options;
  options.postings_per_write = 3;  // several batches
  int64_t moved = -1;
  ASSERT_TRUE(MoveTextPostings(*store_, options, &moved).ok());
  EXPECT_EQ(moved, old_layout);
  EXPECT_EQ(TextPostings(*store_), now);
  report = Check();
  EXPECT_TRUE(report.clean()) << report.ToString();
  ASSERT_TRUE(MoveTextPostings(*store_, options, &moved).ok());
  EXPECT_EQ(moved, 0);
}

// contentd's start brings a store without a layout marker (an earlier
// build's) to this build's layout and records it; the next start finds it
// there and does nothing.
TEST_F(ReliabilityStoreTest, UpgradeStoreFormatMovesTextPostingsAndRecordsIt) {
  Populate();  // a1 deleted
  const std::map<std::string, std::string> now = TextPostings(*store_);
  KvEngine* kv = store_->engine();
  KvBatch old;
  int64_t old_layout = 0;
  for (const auto& [key, value] : now) {
    if (!absl::EndsWith(key, "a1")) continue;
    std::string to = key;
    to[0] = static_cast<char>('x' | kDeletedBit);
    old.Delete(Family::kPostings, key);
    old.Put(Family::kPostings, to, value);
    ++old_layout;
  }
  ASSERT_GT(old_layout, 0);
  old.AddInt64(Family::kMeta,
               CountKey(PostingPrefix(IndexKind::kText, ListState::kLive, "x")),
               3);
  ASSERT_TRUE(kv->Write(std::move(old), true).ok());
  std::string marker;
  ASSERT_TRUE(absl::IsNotFound(kv->Get(Family::kMeta, kFormatKey, &marker)));

  absl::StatusOr<FormatUpgrade> up = UpgradeStoreFormat(*store_);
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_EQ(up->from, 0);
  EXPECT_EQ(up->to, kStoreFormat);
  EXPECT_EQ(up->moved_text_postings, old_layout);
  EXPECT_TRUE(up->dropped_text_counters);
  EXPECT_EQ(TextPostings(*store_), now);
  ASSERT_TRUE(kv->Get(Family::kMeta, kFormatKey, &marker).ok());
  EXPECT_EQ(marker, absl::StrCat(kStoreFormat));
  FsckReport report = Check();
  EXPECT_TRUE(report.clean()) << report.ToString();

  up = UpgradeStoreFormat(*store_);
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_EQ(up->from, kStoreFormat);
  EXPECT_EQ(up->to, kStoreFormat);
  EXPECT_EQ(up->moved_text_postings, 0);
  EXPECT_FALSE(up->dropped_text_counters);

  // Layout 2 (whose postings name their heads) is layout 3 as it is, and
  // 4 once the expiry list is built (none of these articles has an expiry):
  // the text postings stay.
  KvBatch two;
  two.Put(Family::kMeta, std::string(kFormatKey), "2");
  ASSERT_TRUE(kv->Write(std::move(two), true).ok());
  up = UpgradeStoreFormat(*store_);
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_EQ(up->from, 2);
  EXPECT_EQ(up->to, kStoreFormat);
  EXPECT_EQ(up->moved_text_postings, 0);
  EXPECT_FALSE(up->dropped_text_counters);
  EXPECT_EQ(up->expiry_entries, 0);
  ASSERT_TRUE(kv->Get(Family::kMeta, kFormatKey, &marker).ok());
  EXPECT_EQ(marker, absl::StrCat(kStoreFormat));
  EXPECT_EQ(TextPostings(*store_), now);
}

// A store of layout 3 has no expiry list (keys.h): opened, it says so
// (Store::expiry_list), so that queries of EXPIRED articles alone walk
// every article and miss none, and fsck says why its articles are missing
// from the list. UpgradeStoreFormat builds the list from the heads (live
// articles with an expiry, past or future) and records layout 4; fsck
// then finds it clean, and finds an entry missing or stray, which a repair
// mends.
TEST_F(ReliabilityStoreTest, UpgradeStoreFormatBuildsTheExpiryList) {
  Populate();  // no expiry times
  auto expiring = [&](const std::string& id, int64_t expiry_seconds) {
    Article a = MakeArticle(id, {"t1"}, 1700002000);
    a.mutable_expiry_time()->set_seconds(expiry_seconds);
    absl::StatusOr<Article> r = store_->Create(id, a);
    ASSERT_TRUE(r.ok()) << r.status();
  };
  expiring("e0", 1600000000);  // expired when written
  expiring("e1", 4100000000);  // in 2099
  expiring("e2", 1600000000);
  ASSERT_TRUE(store_->Delete("e2", {}).ok());
  ASSERT_TRUE(store_->expiry_list());  // a new store keeps it from the start
  ASSERT_TRUE(Check().clean()) << Check().ToString();
  const std::string list =
      PostingPrefix(IndexKind::kExpiry, ListState::kLive, "");
  auto entries = [&] {
    std::vector<std::string> ids;
    std::unique_ptr<ReadView> view = store_->NewReadView();
    std::unique_ptr<KvIterator> it =
        view->Postings(list, PrefixSuccessor(list));
    for (it->SeekToFirst(); it->Valid(); it->Next())
      ids.emplace_back(it->key().substr(list.size() + 8));
    return ids;
  };
  EXPECT_THAT(entries(), ::testing::ElementsAre("e1", "e0"));  // newest first
  v1::Query expired;
  expired.set_visibility(v1::VISIBILITY_ALL);
  expired.add_windows(v1::Query::PUBLISH_WINDOW_EXPIRED);
  auto expired_ids = [&] {
    std::vector<std::string> ids;
    absl::StatusOr<query::QueryPage> page =
        query::RunQuery(*store_, expired, 100, "");
    EXPECT_TRUE(page.ok()) << page.status();
    if (page.ok())
      for (const Article& a : page->articles) ids.push_back(a.name());
    return ids;
  };
  EXPECT_THAT(expired_ids(), ::testing::ElementsAre("articles/e0"));

  // Layout 3, as an earlier build left it: no list, and a stale entry.
  KvEngine* kv = store_->engine();
  KvBatch three;
  three.DeleteRange(Family::kPostings, list, PrefixSuccessor(list));
  three.Put(Family::kPostings, PostingKey(list, 1, "a3"), BigEndian(2));
  three.Put(Family::kMeta, std::string(kFormatKey), "3");
  ASSERT_TRUE(kv->Write(std::move(three), true).ok());
  store_.reset();
  OpenStore(/*text_index=*/true);
  kv = store_->engine();
  EXPECT_FALSE(store_->expiry_list());
  // Queries walk: e0 still comes.
  EXPECT_THAT(expired_ids(), ::testing::ElementsAre("articles/e0"));
  FsckReport report = Check();
  EXPECT_FALSE(report.clean());
  EXPECT_EQ(report.index_problems, report.problem_count) << report.ToString();
  EXPECT_THAT(report.ToString(),
              HasSubstr("the store has layout 3, from before the expiry "
                        "list (layout 4): starting contentd builds it"));
  EXPECT_THAT(report.ToString(),
              HasSubstr("e0 revision 1 is missing from list y\\x00"));

  absl::StatusOr<FormatUpgrade> up = UpgradeStoreFormat(*store_);
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_EQ(up->from, 3);
  EXPECT_EQ(up->to, kStoreFormat);
  EXPECT_EQ(up->expiry_entries, 2);
  EXPECT_FALSE(up->expiry_list_deferred);
  EXPECT_TRUE(store_->expiry_list());
  EXPECT_THAT(entries(), ::testing::ElementsAre("e1", "e0"));  // newest first
  std::string marker;
  ASSERT_TRUE(kv->Get(Family::kMeta, kFormatKey, &marker).ok());
  EXPECT_EQ(marker, absl::StrCat(kStoreFormat));
  report = Check();
  EXPECT_TRUE(report.clean()) << report.ToString();
  EXPECT_THAT(expired_ids(), ::testing::ElementsAre("articles/e0"));
  // Reopened, the marker says the list is complete.
  store_.reset();
  OpenStore(/*text_index=*/true);
  kv = store_->engine();
  EXPECT_TRUE(store_->expiry_list());

  // An entry missing, and one for an article without an expiry time.
  absl::StatusOr<Article> e0 = store_->Get("e0", 0, false);
  ASSERT_TRUE(e0.ok()) << e0.status();
  absl::StatusOr<Article> a3 = store_->Get("a3", 0, false);
  ASSERT_TRUE(a3.ok()) << a3.status();
  KvBatch damage;
  damage.Delete(Family::kPostings,
                PostingKey(list, DateKey(e0->expiry_time()), "e0"));
  damage.Put(Family::kPostings, PostingKey(list, DateKey(a3->date()), "a3"),
             BigEndian(a3->revision()));
  ASSERT_TRUE(kv->Write(std::move(damage), true).ok());
  report = Check();
  EXPECT_FALSE(report.clean());
  EXPECT_THAT(report.ToString(),
              HasSubstr("e0 revision 1 is missing from list y\\x00"));
  EXPECT_THAT(report.ToString(),
              HasSubstr("posting y\\x00 a3: the head does not belong"));
  absl::StatusOr<FsckReport> repaired = RepairIndexes(*store_);
  ASSERT_TRUE(repaired.ok()) << repaired.status();
  EXPECT_TRUE(repaired->clean()) << repaired->ToString();
  EXPECT_THAT(entries(), ::testing::ElementsAre("e1", "e0"));  // newest first
  EXPECT_THAT(expired_ids(), ::testing::ElementsAre("articles/e0"));
}

// Builds from before the layout marker do not read it, so a store of
// layout 3 or later keeps the guard (kLayoutGuard) where they look for an
// unfinished index repair, and they refuse it. Their `--check --repair`
// (the way back the docs give) rebuilds the indexes in their layout, with
// no expiry list, and clears the guard but not the marker: on the next
// start this build must not take the store for a complete layout 4. It
// had: queries of expired articles read the empty list and missed them.
TEST_F(ReliabilityStoreTest,
       StoreRepairedByABuildBeforeTheMarkerIsUpgradedAgain) {
  Article e0 = MakeArticle("e0", {"t1"}, 1700002000);
  e0.mutable_expiry_time()->set_seconds(1600000000);  // expired
  ASSERT_TRUE(store_->Create("e0", e0).ok());
  absl::StatusOr<FormatUpgrade> up = UpgradeStoreFormat(*store_);
  ASSERT_TRUE(up.ok()) << up.status();
  KvEngine* kv = store_->engine();
  std::string guard;
  ASSERT_TRUE(kv->Get(Family::kMeta, kIndexRepairKey, &guard).ok());
  EXPECT_EQ(guard, kLayoutGuard);
  // Not a repair to this build.
  EXPECT_TRUE(IndexRepairPending(*store_).ok());
  EXPECT_TRUE(Check().clean()) << Check().ToString();

  // What the earlier build's repair leaves: its layout (no list y), the
  // guard cleared, the marker it does not know kept.
  const std::string list =
      PostingPrefix(IndexKind::kExpiry, ListState::kLive, "");
  KvBatch repaired;
  repaired.DeleteRange(Family::kPostings, list, PrefixSuccessor(list));
  repaired.Delete(Family::kMeta, std::string(kIndexRepairKey));
  ASSERT_TRUE(kv->Write(std::move(repaired), true).ok());
  store_.reset();
  OpenStore(/*text_index=*/true);
  EXPECT_FALSE(store_->expiry_list());
  v1::Query expired;
  expired.set_visibility(v1::VISIBILITY_ALL);
  expired.add_windows(v1::Query::PUBLISH_WINDOW_EXPIRED);
  auto expired_ids = [&] {
    std::vector<std::string> ids;
    absl::StatusOr<query::QueryPage> page =
        query::RunQuery(*store_, expired, 100, "");
    EXPECT_TRUE(page.ok()) << page.status();
    if (page.ok())
      for (const Article& a : page->articles) ids.push_back(a.name());
    return ids;
  };
  EXPECT_THAT(expired_ids(), ::testing::ElementsAre("articles/e0"));
  EXPECT_THAT(Check().ToString(), HasSubstr("without the layout guard"));

  up = UpgradeStoreFormat(*store_);
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_TRUE(up->guard_missing);
  EXPECT_EQ(up->from, kStoreFormat);
  EXPECT_EQ(up->to, kStoreFormat);
  EXPECT_EQ(up->expiry_entries, 1);
  EXPECT_TRUE(store_->expiry_list());
  EXPECT_THAT(expired_ids(), ::testing::ElementsAre("articles/e0"));
  ASSERT_TRUE(
      store_->engine()->Get(Family::kMeta, kIndexRepairKey, &guard).ok());
  EXPECT_EQ(guard, kLayoutGuard);
  EXPECT_TRUE(Check().clean()) << Check().ToString();
  // The next start finds it whole.
  up = UpgradeStoreFormat(*store_);
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_FALSE(up->guard_missing);
  EXPECT_EQ(up->expiry_entries, 0);

  // A store of layout 4 (before the guard) is brought to this layout.
  KvBatch four;
  four.Put(Family::kMeta, std::string(kFormatKey), "4");
  four.Delete(Family::kMeta, std::string(kIndexRepairKey));
  ASSERT_TRUE(store_->engine()->Write(std::move(four), true).ok());
  EXPECT_THAT(Check().ToString(),
              HasSubstr("the store has layout 4 without the layout guard"));
  up = UpgradeStoreFormat(*store_);
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_EQ(up->from, 4);
  EXPECT_EQ(up->to, kStoreFormat);
  EXPECT_TRUE(up->guard_missing);
  EXPECT_TRUE(Check().clean()) << Check().ToString();

  // An unmarked store with articles (a build's from before the marker):
  // the check says why its expiry list is missing.
  KvBatch unmarked;
  unmarked.Delete(Family::kMeta, std::string(kFormatKey));
  unmarked.Delete(Family::kMeta, std::string(kIndexRepairKey));
  unmarked.DeleteRange(Family::kPostings, list, PrefixSuccessor(list));
  ASSERT_TRUE(store_->engine()->Write(std::move(unmarked), true).ok());
  store_.reset();
  OpenStore(/*text_index=*/true);
  EXPECT_THAT(Check().ToString(),
              HasSubstr("the store has no layout marker (a build from "
                        "before 2026-12-02 wrote it)"));
  up = UpgradeStoreFormat(*store_);
  ASSERT_TRUE(up.ok()) << up.status();
  EXPECT_EQ(up->from, 0);
  EXPECT_EQ(up->expiry_entries, 1);
  EXPECT_TRUE(Check().clean()) << Check().ToString();

  // This build's repair keeps the guard.
  absl::StatusOr<FsckReport> report = RepairIndexes(*store_);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->clean()) << report->ToString();
  ASSERT_TRUE(
      store_->engine()->Get(Family::kMeta, kIndexRepairKey, &guard).ok());
  EXPECT_EQ(guard, kLayoutGuard);
}

// A store a newer build wrote (a higher layout marker) is refused with an
// error naming both versions, and so is a corrupt marker. An older layout
// opens, and a repair records this build's.
TEST_F(ReliabilityStoreTest, StoreOfANewerLayoutIsRefused) {
  Populate();
  store_.reset();
  // Sets the marker with the engine alone (no Store), as another build would.
  auto put_marker = [&](const std::string& value) {
    RocksKvOptions kv_options;
    kv_options.path = dir_;
    absl::StatusOr<std::unique_ptr<KvEngine>> kv = OpenRocksKv(kv_options);
    ASSERT_TRUE(kv.ok()) << kv.status();
    KvBatch b;
    b.Put(Family::kMeta, std::string(kFormatKey), value);
    ASSERT_TRUE((*kv)->Write(std::move(b), true).ok());
  };
  auto open = [&]() -> absl::Status {
    store_.reset();
    RocksKvOptions kv_options;
    kv_options.path = dir_;
    absl::StatusOr<std::unique_ptr<KvEngine>> kv = OpenRocksKv(kv_options);
    if (!kv.ok()) return kv.status();
    StoreOptions options;
    options.data_dir = dir_;
    absl::StatusOr<std::unique_ptr<Store>> store =
        Store::Open(*std::move(kv), options);
    if (store.ok()) store_ = *std::move(store);
    return store.status();
  };
  put_marker(absl::StrCat(kStoreFormat + 1));
  absl::Status s = open();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr(absl::StrCat(
                               "layout version ", kStoreFormat + 1,
                               ", newer than this build's ", kStoreFormat)));
  put_marker("two");
  s = open();
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_THAT(s.message(), HasSubstr("format marker is corrupt"));

  // An older layout opens; a repair records this build's.
  put_marker("1");
  ASSERT_TRUE(open().ok());
  absl::StatusOr<FsckReport> repaired = RepairIndexes(*store_);
  ASSERT_TRUE(repaired.ok()) << repaired.status();
  EXPECT_TRUE(repaired->clean()) << repaired->ToString();
  std::string marker;
  ASSERT_TRUE(store_->engine()->Get(Family::kMeta, kFormatKey, &marker).ok());
  EXPECT_EQ(marker, absl::StrCat(kStoreFormat));
}

// Earlier builds kept a counter per text list; this one estimates their
// sizes. fsck ignores such counters, DropTextCounters deletes them (of every
// list state) and leaves the other counters alone.
TEST_F(ReliabilityStoreTest, TextCountersOfEarlierBuildsAreDropped) {
  Populate();
  KvEngine* kv = store_->engine();
  const std::string tag = PostingPrefix(IndexKind::kTag, false, "t2");
  const int64_t tag_count = store_->NewReadView()->Count(tag);
  ASSERT_GT(tag_count, 0);
  const std::vector<std::string> text = {
      PostingPrefix(IndexKind::kText, ListState::kLive, "a0v2"),
      PostingPrefix(IndexKind::kText, ListState::kUnpublished, "a0v2"),
      PostingPrefix(IndexKind::kText, ListState::kDeleted, "a1v2")};
  KvBatch old;
  for (const std::string& prefix : text) {
    EXPECT_FALSE(HasCounter(prefix));
    old.AddInt64(Family::kMeta, CountKey(prefix), 7);
  }
  ASSERT_TRUE(kv->Write(std::move(old), true).ok());
  FsckReport report = Check();
  EXPECT_TRUE(report.clean()) << report.ToString();

  bool dropped = false;
  ASSERT_TRUE(DropTextCounters(*store_, &dropped).ok());
  EXPECT_TRUE(dropped);
  for (const std::string& prefix : text) {
    std::string value;
    EXPECT_TRUE(
        absl::IsNotFound(kv->Get(Family::kMeta, CountKey(prefix), &value)))
        << absl::CEscape(prefix);
  }
  EXPECT_EQ(store_->NewReadView()->Count(tag), tag_count);
  ASSERT_TRUE(DropTextCounters(*store_, &dropped).ok());
  EXPECT_FALSE(dropped);
  report = Check();
  EXPECT_TRUE(report.clean()) << report.ToString();
}

TEST_F(ReliabilityStoreTest, FsckFindsHistoryAndChangeLogDamage) {
  Populate();
  KvEngine* kv = store_->engine();
  KvBatch damage;
  // A hole inside a history (a missing oldest revision is retention's
  // doing, not damage).
  damage.Delete(Family::kRevisions, RevisionKey("a2", 2));
  damage.Delete(Family::kChanges, BigEndian(4));  // log hole
  Article forged = MakeArticle("forged", {"t2", "t3"});
  forged.set_name("articles/a4");
  forged.set_revision(2);
  forged.set_content_hash("0000");
  damage.Put(Family::kRevisions, RevisionKey("a4", 2),
             forged.SerializeAsString());  // content hash mismatch
  ASSERT_TRUE(kv->Write(std::move(damage), true).ok());

  FsckReport report = Check();
  const std::string text = report.ToString();
  EXPECT_THAT(text, HasSubstr("a2 skips from revision 1 to 3"));
  EXPECT_THAT(text, HasSubstr("change log jumps from 3 to 5"));
  EXPECT_THAT(text,
              HasSubstr("revision 2 of a4 does not match its content hash"));
  // A repair cannot invent lost history: still not clean.
  absl::StatusOr<FsckReport> repaired = RepairIndexes(*store_);
  ASSERT_TRUE(repaired.ok());
  EXPECT_FALSE(repaired->clean());
  EXPECT_EQ(repaired->index_problems, 0) << repaired->ToString();
}

TEST_F(ReliabilityStoreTest, FsckFindsLastSequenceBehindTheLog) {
  Populate();
  KvBatch damage;
  damage.Put(Family::kMeta, std::string(kLastSequenceKey), BigEndian(3));
  ASSERT_TRUE(store_->engine()->Write(std::move(damage), true).ok());
  const std::string text = Check().ToString();
  EXPECT_THAT(text, HasSubstr("but last_sequence says 3"));
  EXPECT_THAT(text, HasSubstr("but last_sequence is 3"));
}

// ---- Disk faults ----------------------------------------------------------

TEST_F(ReliabilityStoreTest, WriteErrorsAreUnavailableAndWriteNothing) {
  Populate();
  const int64_t sequence = store_->last_sequence();
  const std::string head = store_->Get("a0", 0, false)->SerializeAsString();
  for (auto [fault, code] :
       {std::pair{FaultKv::Fault::kIoError, absl::StatusCode::kUnavailable},
        std::pair{FaultKv::Fault::kNoSpace,
                  absl::StatusCode::kResourceExhausted}}) {
    fault_->write_fault = fault;
    EXPECT_EQ(store_->Create("new", MakeArticle("n", {"t"})).status().code(),
              code);
    EXPECT_EQ(store_->Update("a0", MakeArticle("u", {"t"}), {}).status().code(),
              code);
    EXPECT_EQ(store_->Delete("a0", {}).status().code(), code);
    EXPECT_EQ(store_->Undelete("a1", {}).status().code(), code);
    absl::StatusOr<std::vector<ApplyResult>> applied = store_->Apply(
        {{"b1", MakeArticle("b", {"t"})}, {"a3", MakeArticle("c", {"t"})}},
        false);
    EXPECT_EQ(applied.status().code(), code);
    // Failures are not INTERNAL or UNKNOWN, and the message says why.
    EXPECT_THAT(
        std::string(
            store_->Create("new", MakeArticle("n", {})).status().message()),
        HasSubstr("injected"));
    // Reads go on, and see exactly what was there.
    EXPECT_EQ(store_->Get("a0", 0, false)->SerializeAsString(), head);
    EXPECT_EQ(store_->Get("new", 0, true).status().code(),
              absl::StatusCode::kNotFound);
    EXPECT_EQ(store_->last_sequence(), sequence);
    FsckReport report = Check();
    EXPECT_TRUE(report.clean()) << report.ToString();
    EXPECT_EQ(report.last_sequence, sequence);
  }
  // Faults stop: writes work and the log continues without a gap.
  fault_->write_fault = FaultKv::Fault::kNone;
  absl::StatusOr<Article> created =
      store_->Create("new", MakeArticle("n", {"t"}));
  ASSERT_TRUE(created.ok()) << created.status();
  EXPECT_EQ(store_->last_sequence(), sequence + 1);
  absl::StatusOr<std::vector<v1::ChangeEvent>> changes =
      store_->ReadChanges(sequence, 10);
  ASSERT_TRUE(changes.ok());
  ASSERT_EQ(changes->size(), 1u);
  EXPECT_EQ((*changes)[0].sequence(), sequence + 1);
  EXPECT_TRUE(Check().clean());
}

// A big import batch hands its creates' revisions and text postings to the
// engine as ingested files before it commits; when the commit fails they
// must go too.
TEST_F(ReliabilityStoreTest, IngestedTextOfAFailedImportBatchIsUndone) {
  auto batch = [](const std::string& prefix) {
    std::vector<std::pair<std::string, Article>> items;
    for (int i = 0; i < 100; ++i) {
      Article a = MakeArticle(absl::StrCat(prefix, i), {"t"});
      a.set_body(absl::StrCat("数据库引擎 storage engine ", prefix, i));
      items.emplace_back(absl::StrCat(prefix, i), std::move(a));
    }
    return items;
  };
  auto text_postings = [this] {
    KvReadOptions ro;
    ro.lower_bound = "x";
    ro.upper_bound = "y";
    std::unique_ptr<KvIterator> it = fault_->NewIterator(Family::kPostings, ro);
    int n = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) ++n;
    return n;
  };
  fault_->write_fault = FaultKv::Fault::kIoError;
  EXPECT_EQ(store_->Apply(batch("f"), false).status().code(),
            absl::StatusCode::kUnavailable);
  fault_->write_fault = FaultKv::Fault::kNone;
  EXPECT_EQ(text_postings(), 0);
  FsckReport report = Check();
  EXPECT_TRUE(report.clean()) << report.ToString();
  EXPECT_EQ(report.articles, 0);
  EXPECT_EQ(report.revisions, 0) << "the ingested revisions went too";

  absl::StatusOr<std::vector<ApplyResult>> applied =
      store_->Apply(batch("g"), false);
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_GT(text_postings(), 100 * 10);
  report = Check();
  EXPECT_TRUE(report.clean()) << report.ToString();
  EXPECT_EQ(report.articles, 100);
  EXPECT_TRUE(std::filesystem::is_empty(dir_ + "/ingest"))
      << "undo files go once their batch commits";
}

// A backup that starts between an import batch's two ingests (revisions,
// then text postings) waits for the batch's commit; it must not hold the
// second ingest, which would wait for it in turn, with the batch's ids
// locked, and every later import and write to them behind it.
TEST_F(ReliabilityStoreTest, ABackupDuringAnImportBatchWaitsForItsCommit) {
  std::vector<std::pair<std::string, Article>> items;
  for (int i = 0; i < 100; ++i) {
    Article a = MakeArticle(absl::StrCat("b", i), {"t"});
    a.set_body(absl::StrCat("数据库引擎 storage engine ", i));
    items.emplace_back(absl::StrCat("b", i), std::move(a));
  }
  const std::string copy = dir_ + ".copy";
  std::thread backup;
  absl::Status backed_up;
  int ingests = 0;
  fault_->on_ingest = [&](const KvBatch&) {
    if (++ingests != 1) return;
    backup = std::thread([&] { backed_up = fault_->Checkpoint(copy); });
    absl::SleepFor(absl::Milliseconds(300));  // the checkpoint is waiting
  };
  std::future<absl::StatusOr<std::vector<ApplyResult>>> applied =
      std::async(std::launch::async,
                 [&] { return store_->Apply(std::move(items), false); });
  if (applied.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    ADD_FAILURE() << "the import batch and the backup wait for each other";
    std::fflush(stdout);
    std::_Exit(1);  // nothing can end the waits
  }
  absl::StatusOr<std::vector<ApplyResult>> results = applied.get();
  backup.join();
  fault_->on_ingest = nullptr;
  ASSERT_TRUE(results.ok()) << results.status();
  EXPECT_EQ(ingests, 2) << "revisions and text postings";
  ASSERT_TRUE(backed_up.ok()) << backed_up;
  store_.reset();
  StoreOptions options;
  options.data_dir = copy;
  absl::StatusOr<std::unique_ptr<Store>> restored = Store::Open(options);
  ASSERT_TRUE(restored.ok()) << restored.status();
  absl::StatusOr<FsckReport> report = CheckStore(**restored);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->clean()) << report->ToString();
  EXPECT_EQ(report->articles, 100) << "the copy holds the committed batch";
  restored->reset();
  std::error_code ec;
  std::filesystem::remove_all(copy, ec);
}

// A synchronous writer that leads the group commit (an import batch, the
// scheduler) hands asynchronous writers to the committer thread once its
// own group is done. Before, it committed groups for as long as updates
// kept arriving during each sync, and its caller waited that long.
TEST_F(ReliabilityStoreTest, ASynchronousLeaderReturnsWhileUpdatesKeepComing) {
  constexpr int kArticles = 64;
  constexpr int kChains = 8;
  constexpr int kUpdates = 4000;
  for (int i = 0; i < kArticles; ++i) {
    const std::string id = absl::StrCat("c", i);
    ASSERT_TRUE(store_->Create(id, MakeArticle(id, {"t"})).ok());
  }
  std::atomic<int> started{0};
  std::atomic<int> finished{0};
  std::atomic<int> failed{0};
  absl::Notification all_done;
  // Each chain updates its own articles in turn and issues its next update
  // from the commit's callback, so one is queued before every group ends.
  std::function<void(int, int)> next = [&](int chain, int step) {
    if (started.fetch_add(1) >= kUpdates) {
      if (finished.fetch_add(1) + 1 == kChains) all_done.Notify();
      return;
    }
    const std::string id =
        absl::StrCat("c", (chain + kChains * step) % kArticles);
    store_->UpdateAsync(id,
                        MakeArticle(absl::StrCat(id, " step ", step), {"t"}),
                        {}, [&, chain, step](absl::StatusOr<Article> a) {
                          if (!a.ok()) ++failed;
                          next(chain, step + 1);
                        });
  };
  // The import leads (the store is idle when it commits); the chains start
  // while its write is in flight, as updates arriving during a sync do.
  std::atomic<bool> first_write{true};
  fault_->on_write = [&] {
    if (!first_write.exchange(false)) return;
    std::thread([&] {
      for (int chain = 0; chain < kChains; ++chain) next(chain, 0);
    }).join();
  };
  std::vector<std::pair<std::string, Article>> one;
  one.emplace_back("imported", MakeArticle("imported", {"t"}));
  absl::StatusOr<std::vector<ApplyResult>> applied =
      store_->Apply(std::move(one), false);
  const int issued_when_applied = started.load();
  ASSERT_TRUE(applied.ok()) << applied.status();
  all_done.WaitForNotification();
  fault_->on_write = nullptr;
  EXPECT_FALSE(first_write.load());
  EXPECT_EQ(failed.load(), 0);
  EXPECT_LT(issued_when_applied, kUpdates / 2)
      << "the import led other writers' commits until they stopped coming";
}

// A group commit checks the disk's room per writer: a writer too big for it
// fails alone with RESOURCE_EXHAUSTED naming the free space and its size;
// the small writers queued with it commit.
TEST_F(ReliabilityStoreTest, OneWriterTooBigForTheDiskFailsAloneNotItsGroup) {
  constexpr int64_t kRoom = 64 << 10;
  Article big = MakeArticle("big", {"t"});
  big.set_body(std::string(256 << 10, 'x'));
  const std::vector<std::string> small = {"s1", "s2", "s3"};
  absl::Mutex mu;
  std::map<std::string, absl::Status> outcome;  // guarded by mu
  absl::BlockingCounter done(4);
  auto record = [&](const std::string& id) {
    return [&, id](absl::StatusOr<Article> a) {
      {
        absl::MutexLock lock(&mu);
        outcome[id] = a.status();
      }
      done.DecrementCount();
    };
  };
  // While the first create writes (and leads), four more queue behind it:
  // they commit as the next group.
  std::atomic<bool> first_write{true};
  fault_->on_write = [&] {
    if (!first_write.exchange(false)) return;
    fault_->room = kRoom;
    std::thread([&] {
      store_->CreateAsync("s1", MakeArticle("s1", {"t"}), record("s1"));
      store_->CreateAsync("big", big, record("big"));
      store_->CreateAsync("s2", MakeArticle("s2", {"t"}), record("s2"));
      store_->CreateAsync("s3", MakeArticle("s3", {"t"}), record("s3"));
    }).join();
  };
  ASSERT_TRUE(store_->Create("first", MakeArticle("first", {"t"})).ok());
  done.Wait();
  fault_->on_write = nullptr;
  EXPECT_FALSE(first_write.load());
  absl::MutexLock lock(&mu);
  for (const std::string& id : small) {
    EXPECT_TRUE(outcome[id].ok()) << id << ": " << outcome[id];
    EXPECT_TRUE(store_->Get(id, 0, false).ok()) << id;
  }
  EXPECT_EQ(outcome["big"].code(), absl::StatusCode::kResourceExhausted)
      << outcome["big"];
  EXPECT_THAT(std::string(outcome["big"].message()),
              HasSubstr(absl::StrCat(kRoom, " bytes free")));
  EXPECT_THAT(std::string(outcome["big"].message()), HasSubstr("a write of"));
  EXPECT_EQ(store_->Get("big", 0, true).status().code(),
            absl::StatusCode::kNotFound);
  fault_->room = -1;
  EXPECT_TRUE(Check().clean()) << Check().ToString();
}

// An import batch hands its creates' text postings to the engine already in
// key order (so the engine need not sort them), one per (term, article),
// with counters that match: ids that prefix one another, shared dates and
// shared terms are where a wrong order would show.
TEST_F(ReliabilityStoreTest, ImportBatchesIngestTextPostingsInKeyOrder) {
  std::vector<std::vector<std::string>> ingested;
  fault_->on_ingest = [&ingested](const KvBatch& puts) {
    std::vector<std::string>& keys = ingested.emplace_back();
    for (const KvBatch::Op& op : puts.ops()) keys.emplace_back(op.key);
  };
  std::vector<std::pair<std::string, Article>> items;
  for (int i = 99; i >= 0; --i) {
    const std::string id = absl::StrCat("a", i % 10, i / 10 == 0 ? "" : "x",
                                        i / 10);  // a3, a3x1, a3x2, ...
    Article a = MakeArticle(id, {"t"}, 1700000000 + i % 3);
    a.set_body(
        absl::StrCat("数据库引擎 storage engine 第", i, "版 word", i % 7));
    items.emplace_back(id, std::move(a));
  }
  absl::StatusOr<std::vector<ApplyResult>> applied =
      store_->Apply(items, false);
  ASSERT_TRUE(applied.ok()) << applied.status();
  fault_->on_ingest = nullptr;
  ASSERT_EQ(ingested.size(), 2u) << "the revisions, then the text postings";
  EXPECT_EQ(ingested[0].size(), 100u);
  const std::vector<std::string>& keys = ingested[1];
  for (size_t i = 1; i < keys.size(); ++i)
    ASSERT_LT(keys[i - 1], keys[i]) << "at " << i;
  // Every text posting in the store came from that one table.
  KvReadOptions ro;
  ro.lower_bound = "x";
  ro.upper_bound = "y";
  std::unique_ptr<KvIterator> it = fault_->NewIterator(Family::kPostings, ro);
  std::vector<std::string> stored;
  for (it->SeekToFirst(); it->Valid(); it->Next())
    stored.emplace_back(it->key());
  EXPECT_EQ(stored, keys);
  EXPECT_GT(keys.size(), 100u * 10);
  FsckReport report = Check();  // counters agree with the lists
  EXPECT_TRUE(report.clean()) << report.ToString();
  EXPECT_EQ(report.articles, 100);
}

// Between an import batch's ingest and its commit, its creates' first
// revisions are in the store but no head names them: every read that
// reaches revisions without a head must not show them yet.
TEST_F(ReliabilityStoreTest, IngestedFirstRevisionsStayHiddenUntilCommit) {
  std::vector<std::pair<std::string, Article>> items;
  for (int i = 0; i < 100; ++i) {
    const std::string id = absl::StrCat("r", 1000 + i);
    items.emplace_back(id, MakeArticle(id, {"t"}, 1700000000 + i));
  }
  int revision_tables = 0;
  fault_->on_ingest = [&](const KvBatch& puts) {
    if (puts.ops()[0].family != Family::kRevisions) return;
    ++revision_tables;
    EXPECT_EQ(puts.size(), 100u);
    for (const std::string id : {"r1000", "r1042", "r1099"}) {
      EXPECT_EQ(store_->Get(id, 1, true).status().code(),
                absl::StatusCode::kNotFound)
          << id;
      EXPECT_EQ(store_->Get(id, 0, true).status().code(),
                absl::StatusCode::kNotFound)
          << id;
      EXPECT_EQ(store_->ListRevisions(id, 0, 10).status().code(),
                absl::StatusCode::kNotFound)
          << id;
    }
  };
  absl::StatusOr<std::vector<ApplyResult>> applied =
      store_->Apply(items, false);
  fault_->on_ingest = nullptr;
  ASSERT_TRUE(applied.ok()) << applied.status();
  EXPECT_EQ(revision_tables, 1);
  absl::StatusOr<Article> first = store_->Get("r1042", 1, false);
  ASSERT_TRUE(first.ok()) << first.status();
  EXPECT_EQ(first->title(), "r1042");
  absl::StatusOr<std::vector<Article>> listed =
      store_->ListRevisions("r1042", 0, 10);
  ASSERT_TRUE(listed.ok()) << listed.status();
  EXPECT_EQ(listed->size(), 1u);
  FsckReport report = Check();
  EXPECT_TRUE(report.clean()) << report.ToString();
  EXPECT_EQ(report.revisions, 100);
}

// A history without a head is damage, unless it is an ingest in flight that
// was undone (or committed) after the check's snapshot.
TEST_F(ReliabilityStoreTest, FsckSettlesRevisionsOfIngestsInFlight) {
  Populate();
  Article a = MakeArticle("ghost", {"t"});
  a.set_name("articles/ghost");
  a.set_revision(1);
  a.set_content_hash(Store::ContentHash(a));
  KvBatch puts;
  puts.Put(Family::kRevisions, RevisionKey("ghost", 1), a.SerializeAsString());
  absl::StatusOr<std::string> ticket = fault_->Ingest(Family::kRevisions, puts);
  ASSERT_TRUE(ticket.ok()) << ticket.status();
  FsckReport report = Check();
  EXPECT_FALSE(report.clean());
  EXPECT_THAT(report.ToString(), HasSubstr("ghost has revisions up to 1"));
  // Undone after the snapshot.
  fault_->on_revisions_iterator = [&] { fault_->EndIngest(*ticket, false); };
  report = Check();
  EXPECT_TRUE(report.clean()) << report.ToString();
}

// An online check can take its snapshot between an import batch's ingest
// and its commit. Its headless postings are then settled against the
// latest state: committed since or undone since is no problem; still
// headless is.
TEST_F(ReliabilityStoreTest, FsckSettlesPostingsOfIngestsInFlight) {
  Populate();
  auto ingest = [this](const std::string& id) {
    KvBatch puts;
    puts.Put(Family::kPostings,
             PostingKey(PostingPrefix(IndexKind::kText, false, "ghost"), 1, id),
             BigEndian(1));
    absl::StatusOr<std::string> ticket =
        fault_->Ingest(Family::kPostings, puts);
    EXPECT_TRUE(ticket.ok()) << ticket.status();
    return ticket.ok() ? *ticket : std::string();
  };
  // Undone after the snapshot.
  std::string ticket = ingest("undone");
  fault_->on_postings_iterator = [&] { fault_->EndIngest(ticket, false); };
  FsckReport report = Check();
  EXPECT_TRUE(report.clean()) << report.ToString();
  // Committed after the snapshot (a head appears).
  ticket = ingest("committed");
  fault_->on_postings_iterator = [&] {
    KvBatch batch;
    batch.Put(Family::kHeads, "committed", BigEndian(1));
    batch.Put(Family::kMeta, IngestMarkerKey(ticket), "");
    ASSERT_TRUE(fault_->Write(std::move(batch), true).ok());
    fault_->EndIngest(ticket, true);
  };
  report = Check();
  EXPECT_TRUE(report.clean()) << report.ToString();
  // Still headless when the check ends: reported.
  ticket = ingest("orphan");
  report = Check();
  EXPECT_FALSE(report.clean());
  EXPECT_THAT(report.ToString(), HasSubstr("no such article"));
  fault_->EndIngest(ticket, false);
}

TEST_F(ReliabilityStoreTest, ReadErrorsAreUnavailable) {
  Populate();
  fault_->fail_reads = true;
  EXPECT_EQ(store_->Get("a0", 0, false).status().code(),
            absl::StatusCode::kUnavailable);
  // A write must read the head first: it fails the same way, writing nothing.
  EXPECT_EQ(store_->Update("a0", MakeArticle("u", {}), {}).status().code(),
            absl::StatusCode::kUnavailable);
  fault_->fail_reads = false;
  EXPECT_TRUE(Check().clean());
}

// An article whose head revision is gone is fsck's to report: retention
// and the scheduler pass it and do the rest of their work (each stopped at
// it, for every article, on every run).
TEST_F(ReliabilityStoreTest,
       OneDamagedArticleStopsNeitherRetentionNorSchedule) {
  const absl::Time now = absl::Now();
  Article bad = MakeArticle("bad", {"t1"});
  bad.mutable_publish_time()->set_seconds(
      absl::ToUnixSeconds(now + absl::Seconds(1)));
  ASSERT_TRUE(store_->Create("bad", bad).ok());
  Article good = MakeArticle("good", {"t1"});
  good.mutable_publish_time()->set_seconds(
      absl::ToUnixSeconds(now + absl::Seconds(2)));
  ASSERT_TRUE(store_->Create("good", good).ok());
  for (int i = 0; i < 4; ++i) {
    good.set_title(absl::StrCat("good ", i));
    ASSERT_TRUE(store_->Update("good", good, {}).ok());
  }
  KvBatch damage;
  damage.Delete(Family::kRevisions, RevisionKey("bad", 1));
  ASSERT_TRUE(store_->engine()->Write(std::move(damage), false).ok());
  ASSERT_EQ(store_->Get("bad", 0, false).status().code(),
            absl::StatusCode::kDataLoss);

  RetentionPolicy policy;
  policy.keep_revisions = 1;
  absl::StatusOr<RetentionResult> r = store_->ApplyRetention(policy);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->revisions_removed, 4);

  const int64_t before = store_->last_sequence();
  absl::SleepFor(now + absl::Seconds(3) - absl::Now());
  absl::StatusOr<absl::Time> next = store_->FireSchedule();
  ASSERT_TRUE(next.ok()) << next.status();
  absl::StatusOr<std::vector<v1::ChangeEvent>> events =
      store_->ReadChanges(before, 10);
  ASSERT_TRUE(events.ok()) << events.status();
  ASSERT_EQ(events->size(), 1u);
  EXPECT_EQ(events->front().name(), "articles/good");
  EXPECT_EQ(events->front().type(), v1::ChangeEvent::TYPE_PUBLISHED);
}

// A retention pass stops at the article where it is cancelled (contentd
// stopping, or the CompactStore caller gone), CANCELLED saying what it
// removed: each article it reached is trimmed whole, the rest untouched,
// and the next pass does them. It ran to the end regardless, minutes at 1M
// articles, holding a stop for as long.
TEST_F(ReliabilityStoreTest, RetentionStopsAtTheArticleWhereItIsCancelled) {
  for (int i = 0; i < 10; ++i) {
    const std::string id = absl::StrCat("a", i);
    Article a = MakeArticle(id, {"t1"});
    ASSERT_TRUE(store_->Create(id, a).ok());
    for (int r = 0; r < 2; ++r) {
      a.set_title(absl::StrCat(id, " ", r));
      ASSERT_TRUE(store_->Update(id, a, {}).ok());
    }
  }
  RetentionPolicy policy;
  policy.keep_revisions = 1;
  int asked = 0;
  // Three articles go through; the fourth question says stop.
  absl::StatusOr<RetentionResult> r =
      store_->ApplyRetention(policy, [&asked] { return ++asked > 3; });
  ASSERT_EQ(r.status().code(), absl::StatusCode::kCancelled) << r.status();
  EXPECT_THAT(std::string(r.status().message()),
              HasSubstr("after removing 6 old revisions and purging 0 "
                        "deleted articles (0 revisions)"));
  EXPECT_TRUE(Check().clean());
  int trimmed = 0;
  for (int i = 0; i < 10; ++i) {
    const std::string id = absl::StrCat("a", i);
    const bool first = store_->Get(id, 1, true).ok();
    EXPECT_EQ(first, store_->Get(id, 2, true).ok()) << id;  // both or neither
    EXPECT_TRUE(store_->Get(id, 3, true).ok()) << id;       // the head
    if (!first) ++trimmed;
  }
  EXPECT_EQ(trimmed, 3);
  r = store_->ApplyRetention(policy);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->revisions_removed, 14);
  EXPECT_TRUE(Check().clean());
}

// A retention pass reads only the articles it may change: with more
// revisions than it keeps, or deleted. It read and decoded every head, every
// minute, on a store of a million articles.
TEST_F(ReliabilityStoreTest, RetentionReadsOnlyArticlesItMayChange) {
  for (int i = 0; i < 200; ++i) {
    const std::string id = absl::StrCat("one", i);
    ASSERT_TRUE(store_->Create(id, MakeArticle(id, {"t1"})).ok());
  }
  Article many = MakeArticle("many", {"t1"});
  ASSERT_TRUE(store_->Create("many", many).ok());
  for (int i = 0; i < 4; ++i) {
    many.set_title(absl::StrCat("many ", i));
    ASSERT_TRUE(store_->Update("many", many, {}).ok());
  }
  ASSERT_TRUE(store_->Create("gone", MakeArticle("gone", {"t1"})).ok());
  ASSERT_TRUE(store_->Delete("gone", {}).ok());

  std::atomic<int> reads{0};
  fault_->on_revision_get = [&] { ++reads; };
  RetentionPolicy policy;
  policy.keep_revisions = 2;
  policy.purge_deleted_after = absl::Hours(1);
  absl::StatusOr<RetentionResult> r = store_->ApplyRetention(policy);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->revisions_removed, 3);  // many keeps 5 and 4
  EXPECT_EQ(r->articles_purged, 0);    // deleted just now
  EXPECT_EQ(reads.load(), 2);          // the heads of "many" and "gone"
  // Nothing more to trim: only the deleted article is read again, and it
  // goes once its time has passed.
  reads = 0;
  policy.purge_deleted_after = absl::Nanoseconds(1);
  absl::SleepFor(absl::Milliseconds(1100));  // delete times are seconds
  r = store_->ApplyRetention(policy);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->revisions_removed, 2);  // gone's revision and tombstone
  EXPECT_EQ(r->articles_purged, 1);
  EXPECT_EQ(reads.load(), 2);  // gone; many (5 > 2 revisions by number)
  fault_->on_revision_get = nullptr;
  EXPECT_TRUE(Check().clean());
  EXPECT_EQ(store_->Get("gone", 0, true).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_TRUE(store_->Get("many", 0, false).ok());
  EXPECT_TRUE(store_->Get("one7", 0, false).ok());
}

// GetArticle with `lang` reads each member of the group once: the one it
// returns used to be read a second time (the group was read without
// bodies, then the chosen member whole), and the article named twice.
TEST_F(ReliabilityStoreTest, GetArticleWithLangReadsEachMemberOnce) {
  for (const char* lang : {"de", "en", "zh-CN"}) {
    Article a = MakeArticle(absl::StrCat("launch ", lang), {"t1"});
    a.clear_lang();
    a.add_lang(lang);
    a.set_body(absl::StrCat("body in ", lang, "\n"));
    ASSERT_TRUE(store_->Create(absl::StrCat("launch.", lang), a).ok());
  }
  std::atomic<int> reads{0};  // before the server: its threads count here
  std::unique_ptr<Served> served = Serve();
  fault_->on_revision_get = [&] { ++reads; };
  for (const auto& [lang, want] :
       {std::pair<std::string, std::string>{"zh-CN", "zh-CN"},
        {"en", "en"},
        {"fr", ""}}) {
    SCOPED_TRACE(lang);
    reads = 0;
    v1::GetArticleRequest req;
    req.set_name("articles/launch.en");
    req.set_lang(lang);
    grpc::ClientContext ctx;
    v1::Article got;
    grpc::Status s = served->stub->GetArticle(&ctx, req, &got);
    if (want.empty()) {
      EXPECT_EQ(s.error_code(), grpc::StatusCode::NOT_FOUND);
      EXPECT_THAT(s.error_message(),
                  ::testing::HasSubstr("translation group \"launch\" has"));
    } else {
      ASSERT_TRUE(s.ok()) << s.error_message();
      EXPECT_EQ(got.name(), "articles/launch." + want);
      EXPECT_EQ(got.body(), "body in " + want + "\n");
    }
    EXPECT_EQ(reads.load(), 3);  // each of the three members, once
  }
  fault_->on_revision_get = nullptr;
}

// A change-log scan that fails keeps every event (it read as "all of them
// are old" and dropped the whole log).
TEST_F(ReliabilityStoreTest, AFailedScanTrimsNoChanges) {
  Populate();
  absl::StatusOr<int64_t> first = store_->FirstSequence();
  ASSERT_TRUE(first.ok());
  fault_->fail_change_iterators = true;
  EXPECT_EQ(store_->TrimChanges(0, absl::Hours(1)).code(),
            absl::StatusCode::kUnavailable);
  fault_->fail_change_iterators = false;
  absl::StatusOr<int64_t> after = store_->FirstSequence();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after, *first);
  EXPECT_LE(*after, store_->last_sequence());
}

// A watch asking for events retention trimmed is refused at its start
// (OUT_OF_RANGE, EVENTS_TRIMMED), which is no cut-off: not counted in
// watchers_cut_off_trimmed. So is one whose events are trimmed in the
// instant between its start's check of the log and its first read (here:
// as the check's iterator goes), which was counted.
TEST_F(ReliabilityStoreTest, AWatchRefusedAtItsStartIsNoCutOff) {
  for (int i = 0; i < 5; ++i) {
    const std::string id = absl::StrCat("w", i);
    ASSERT_TRUE(store_->Create(id, MakeArticle(id, {"t1"})).ok());
  }
  ASSERT_EQ(store_->last_sequence(), 5);
  // Set by the hook below, which a server thread runs: declared before the
  // server, which outlives it otherwise.
  std::atomic<bool> trimmed{false};
  std::unique_ptr<Served> served = Serve();
  ASSERT_NE(served, nullptr);
  // The watch from sequence 1, refused, as its client sees it.
  const auto refusal = [&] {
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(20));
    v1::WatchArticlesRequest req;
    req.set_after_sequence(1);
    auto stream = served->stub->WatchArticles(&ctx, req);
    v1::WatchArticlesResponse r;
    int events = 0;
    while (stream->Read(&r)) ++events;
    const grpc::Status s = stream->Finish();
    EXPECT_EQ(events, 0);
    EXPECT_EQ(s.error_code(), grpc::StatusCode::OUT_OF_RANGE)
        << s.error_message();
    EXPECT_EQ(s.error_message(),
              "after_sequence 1 is older than the retained change log, which "
              "starts at sequence 4; resync, then watch from there");
    const auto oldest =
        ctx.GetServerTrailingMetadata().find("content-oldest-sequence");
    EXPECT_EQ(oldest == ctx.GetServerTrailingMetadata().end()
                  ? "none"
                  : std::string(oldest->second.data(), oldest->second.size()),
              "4");
  };

  // Trimmed to sequence 4 once the start's check has read sequence 1.
  fault_->AfterChangeLogStart([&] {
    EXPECT_TRUE(store_->TrimChanges(2, absl::ZeroDuration()).ok());
    trimmed = true;
  });
  refusal();
  ASSERT_TRUE(trimmed.load());
  EXPECT_EQ(served->service->watchers_trimmed(), 0);

  // The log starts at 4 now: the start's check refuses it.
  refusal();
  EXPECT_EQ(served->service->watchers_trimmed(), 0);
  EXPECT_EQ(served->service->watchers_stalled(), 0);
}

// A watch from the oldest kept event (after_sequence 0) whose oldest events
// are trimmed in the instant between its start's check of the log and its
// first read starts from the new oldest: the client asked for whatever is
// kept. It was refused, `after_sequence 2 is older than the retained change
// log, which starts at sequence 5`, naming a number the client never sent.
// The start metadata says where the stream really starts.
TEST_F(ReliabilityStoreTest, AWatchFromTheOldestStartsAtTheOldestAfterATrim) {
  for (int i = 0; i < 5; ++i) {
    const std::string id = absl::StrCat("o", i);
    ASSERT_TRUE(store_->Create(id, MakeArticle(id, {"t1"})).ok());
  }
  ASSERT_TRUE(store_->TrimChanges(3, absl::ZeroDuration()).ok());
  ASSERT_EQ(*store_->FirstSequence(), 3);
  std::atomic<bool> trimmed{false};  // before the server, whose thread sets it
  std::unique_ptr<Served> served = Serve();
  ASSERT_NE(served, nullptr);
  // Trimmed to sequence 5 once the start's check has read sequence 3.
  fault_->AfterChangeLogStart([&] {
    EXPECT_TRUE(store_->TrimChanges(1, absl::ZeroDuration()).ok());
    trimmed = true;
  });
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  v1::WatchArticlesRequest req;
  req.set_after_sequence(0);
  auto stream = served->stub->WatchArticles(&ctx, req);
  v1::WatchArticlesResponse r;
  const bool read = stream->Read(&r);
  const int64_t first = r.event().sequence();
  if (read) ctx.TryCancel();  // else the status says why
  while (stream->Read(&r)) {
  }
  const grpc::Status s = stream->Finish();
  ASSERT_TRUE(read) << s.error_code() << ": " << s.error_message();
  ASSERT_TRUE(trimmed.load());
  EXPECT_EQ(first, 5);
  const auto after = ctx.GetServerInitialMetadata().find("content-watch-after");
  ASSERT_NE(after, ctx.GetServerInitialMetadata().end());
  EXPECT_EQ(std::string(after->second.data(), after->second.size()), "4");
  EXPECT_EQ(served->service->watchers_trimmed(), 0);
}

// Writers race while a third of the commits fail: every acknowledged write
// is the head afterwards (each writer owns its articles), no failed write
// left a trace, and sequences stay dense.
// A filtered watch reading a long backlog holds its stream for as long as
// that takes (here: blocked in its first revision read). Other watchers
// still get every new event: the hub's thread does not wait for it.
TEST_F(ReliabilityStoreTest, AWatchReadingItsBacklogDoesNotHoldUpOthers) {
  ASSERT_TRUE(
      store_->Create("seed", MakeArticle("seed", {"t1"}, 1700000000)).ok());
  // The first revision read blocks until released; later ones pass. The
  // hook's state is declared before the server, which outlives it otherwise:
  // a watch the server starts late ran the hook on freed stack (ASan).
  absl::Notification blocked, release;
  std::atomic<bool> first{true};
  std::unique_ptr<Served> served = Serve();
  v1::ContentService::Stub* stub = served->stub.get();
  fault_->on_revision_get = [&] {
    if (!first.exchange(false)) return;
    blocked.Notify();
    release.WaitForNotification();
  };
  // Deadlines, so a stream that never gets its events ends the test.
  const auto deadline =
      std::chrono::system_clock::now() + std::chrono::seconds(20);
  grpc::ClientContext slow_ctx;
  slow_ctx.set_deadline(deadline);
  v1::WatchArticlesRequest slow;
  slow.mutable_filter()->add_tags("no-such-tag");  // reads every revision
  auto slow_stream = stub->WatchArticles(&slow_ctx, slow);
  ASSERT_TRUE(blocked.WaitForNotificationWithTimeout(absl::Seconds(10)));

  grpc::ClientContext ctx;
  ctx.set_deadline(deadline);
  v1::WatchArticlesRequest req;
  req.set_after_sequence(store_->last_sequence());
  req.set_view(v1::WatchArticlesRequest::VIEW_NAME_ONLY);
  auto stream = stub->WatchArticles(&ctx, req);
  for (int i = 0; i < 3; ++i) {
    const std::string id = absl::StrCat("new", i);
    ASSERT_TRUE(store_->Create(id, MakeArticle(id, {"t1"}, 1700000000)).ok());
  }
  // Three events while the other stream is still blocked (the old hub
  // waited for it from the first commit on and delivered none or one).
  std::vector<std::string> names;
  v1::WatchArticlesResponse r;
  while (names.size() < 3 && stream->Read(&r))
    names.push_back(r.event().name());
  EXPECT_THAT(names, ::testing::ElementsAre("articles/new0", "articles/new1",
                                            "articles/new2"));
  release.Notify();
  ctx.TryCancel();
  slow_ctx.TryCancel();
  while (stream->Read(&r)) {
  }
  while (slow_stream->Read(&r)) {
  }
  stream->Finish();
  slow_stream->Finish();
}

// A watcher that does not read holds about 2 MiB of events read ahead, not
// a whole change-log batch (128 full articles: 128 MiB of 1 MiB ones).
// Counted in revision reads: each event read ahead with its article reads one.
TEST_F(ReliabilityStoreTest, AWatcherThatDoesNotReadHoldsLittle) {
  Article big = MakeArticle("big", {"t1"});
  big.set_body(std::string(512 << 10, 'x'));
  for (int i = 0; i < 60; ++i)
    ASSERT_TRUE(store_->Create(absl::StrCat("big", i), big).ok());
  // A window that stays narrow: gRPC's own grows with the load's late
  // probe answers, to more than the bound below.
  grpc::ChannelArguments args = content::testing::NarrowWindowArgs();
  args.SetMaxReceiveMessageSize(-1);
  std::atomic<int> reads{0};  // before the server: its threads count here
  std::unique_ptr<Served> served = Serve(NoScheduler(), args);
  v1::ContentService::Stub* stub = served->stub.get();

  fault_->on_revision_get = [&] { ++reads; };
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  auto stream = stub->WatchArticles(&ctx, v1::WatchArticlesRequest());
  absl::SleepFor(absl::Seconds(1));  // it reads ahead what it will
  const int ahead = reads.load();
  // 2 MiB of 512 KiB events, and what the transport took before its window
  // filled; all 60 of the batch before.
  EXPECT_GT(ahead, 0);
  EXPECT_LE(ahead, 30);
  // Every event still comes, in order, once the client reads.
  v1::WatchArticlesResponse r;
  int got = 0;
  while (got < 60 && stream->Read(&r)) {
    EXPECT_EQ(r.event().sequence(), got + 1);
    EXPECT_EQ(r.article().body().size(), size_t{512} << 10);
    ++got;
  }
  EXPECT_EQ(got, 60);
  fault_->on_revision_get = nullptr;
  ctx.TryCancel();
  while (stream->Read(&r)) {
  }
  stream->Finish();
}

// Watchers that have caught up take each commit's events, and the
// articles they name, from the hub's tail: the log and the revisions are
// read about once per commit, not once per watcher (on PostgreSQL each read
// is a round trip; hundreds of watchers fell behind the writers).
TEST_F(ReliabilityStoreTest, CaughtUpWatchersShareTheLogsReads) {
  std::atomic<int> revision_reads{0};  // before the server, which counts here
  std::unique_ptr<Served> served = Serve();
  v1::ContentService::Stub* stub = served->stub.get();
  // Over 64: the wakes are shared by two threads (WatchOptions::wake_threads).
  constexpr int kWatchers = 70;
  constexpr int kWrites = 20;
  const auto deadline =
      std::chrono::system_clock::now() + std::chrono::seconds(30);
  struct Watcher {
    grpc::ClientContext ctx;
    std::unique_ptr<grpc::ClientReader<v1::WatchArticlesResponse>> stream;
  };
  std::vector<std::unique_ptr<Watcher>> watchers;
  v1::WatchArticlesRequest req;
  req.set_start_now(true);
  req.mutable_filter()->add_tags("t1");  // each event's article is read
  for (int i = 0; i < kWatchers; ++i) {
    auto w = std::make_unique<Watcher>();
    w->ctx.set_deadline(deadline);
    w->stream = stub->WatchArticles(&w->ctx, req);
    watchers.push_back(std::move(w));
  }
  // Every watcher has started (its initial metadata came) before counting.
  for (auto& w : watchers) w->stream->WaitForInitialMetadata();
  fault_->on_revision_get = [&] { ++revision_reads; };
  const int64_t iterators_before = fault_->change_iterators.load();
  // One commit at a time, each seen by every watcher before the next.
  for (int i = 0; i < kWrites; ++i) {
    const std::string id = absl::StrCat("w", i);
    ASSERT_TRUE(store_->Create(id, MakeArticle(id, {"t1"}, 1700000000)).ok());
    for (auto& w : watchers) {
      v1::WatchArticlesResponse r;
      ASSERT_TRUE(w->stream->Read(&r)) << "watcher missed event " << i;
      EXPECT_EQ(r.event().name(), absl::StrCat("articles/w", i));
      EXPECT_EQ(r.article().tags(0), "t1");
    }
  }
  const int64_t iterators = fault_->change_iterators.load() - iterators_before;
  fault_->on_revision_get = nullptr;
  // Each watcher reading for itself: at least one log read per commit and
  // watcher (600) and, as a reader's watch checks the head too, two
  // revision reads per event and watcher (1200).
  EXPECT_LE(iterators, 4 * kWrites) << "change-log reads";
  EXPECT_LE(revision_reads.load(), 4 * kWrites) << "revision reads";
  EXPECT_GE(revision_reads.load(), kWrites);
  for (auto& w : watchers) w->ctx.TryCancel();
  for (auto& w : watchers) {
    v1::WatchArticlesResponse r;
    while (w->stream->Read(&r)) {
    }
    w->stream->Finish();
  }
}

// Purging an article leaves its events in the change log, and an id
// created again numbers its revisions from 1: a watcher resuming before the
// purge got the new article with the old one's events, and filters matched
// against it.
TEST_F(ReliabilityStoreTest, AWatchDoesNotGiveAPurgedArticlesEventsTheNewOne) {
  ASSERT_TRUE(store_->Create("p", MakeArticle("old", {"t-old"})).ok());
  ASSERT_TRUE(store_->Delete("p", {}).ok());
  absl::SleepFor(absl::Milliseconds(1100));  // delete times are seconds
  RetentionPolicy policy;
  policy.purge_deleted_after = absl::Nanoseconds(1);
  absl::StatusOr<RetentionResult> purged = store_->ApplyRetention(policy);
  ASSERT_TRUE(purged.ok()) << purged.status();
  ASSERT_EQ(purged->articles_purged, 1);
  ASSERT_TRUE(store_->Create("p", MakeArticle("new", {"t-new"})).ok());

  std::unique_ptr<Served> served = Serve();
  auto watch = [&](const std::string& tag, size_t want) {
    v1::WatchArticlesRequest req;
    req.set_after_sequence(0);
    req.set_view(v1::WatchArticlesRequest::VIEW_FULL);
    if (!tag.empty()) req.mutable_filter()->add_tags(tag);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(2));
    auto stream = served->stub->WatchArticles(&ctx, req);
    std::vector<v1::WatchArticlesResponse> got;
    v1::WatchArticlesResponse r;
    while (got.size() < want && stream->Read(&r)) got.push_back(r);
    ctx.TryCancel();
    while (stream->Read(&r)) {
    }
    stream->Finish();
    return got;
  };
  std::vector<v1::WatchArticlesResponse> all = watch("", 3);
  ASSERT_EQ(all.size(), 3u);
  EXPECT_EQ(all[0].event().type(), v1::ChangeEvent::TYPE_CREATED);
  EXPECT_FALSE(all[0].has_article())
      << "the purged article's creation came with " << all[0].article().title();
  EXPECT_EQ(all[1].event().type(), v1::ChangeEvent::TYPE_DELETED);
  EXPECT_FALSE(all[1].has_article());
  EXPECT_EQ(all[2].event().type(), v1::ChangeEvent::TYPE_CREATED);
  EXPECT_EQ(all[2].article().title(), "new");
  // Filtered on the new article's tag, the old events match nothing (the
  // deletion is sent, so a watcher holding the article drops it).
  std::vector<v1::WatchArticlesResponse> tagged = watch("t-new", 2);
  ASSERT_EQ(tagged.size(), 2u);
  EXPECT_EQ(tagged[0].event().type(), v1::ChangeEvent::TYPE_DELETED);
  EXPECT_EQ(tagged[1].event().type(), v1::ChangeEvent::TYPE_CREATED);
  EXPECT_EQ(tagged[1].article().title(), "new");
}

// Caught-up watchers wait for the hub's wake, which follows its read of
// each announced commit into the tail. Commits it was never told of (made
// before its listener was set; here the listener is taken off the store)
// and a read that failed are taken up by its 200 ms tick, which must wake
// the watchers too: they got nothing until the next announced commit.
TEST_F(ReliabilityStoreTest, TheHubsTickDeliversCommitsNoWakeAnnounced) {
  std::unique_ptr<Served> served = Serve();
  grpc::ClientContext ctx;
  // Bounds the wait for an event that would never come.
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(30));
  v1::WatchArticlesRequest req;
  req.set_start_now(true);
  req.set_view(v1::WatchArticlesRequest::VIEW_NAME_ONLY);
  auto stream = served->stub->WatchArticles(&ctx, req);
  stream->WaitForInitialMetadata();  // positioned, caught up
  store_->SetCommitListener(nullptr);

  ASSERT_TRUE(
      store_->Create("quiet0", MakeArticle("quiet0", {"t1"}, 1700000000)).ok());
  v1::WatchArticlesResponse r;
  ASSERT_TRUE(stream->Read(&r));
  EXPECT_EQ(r.event().name(), "articles/quiet0");

  // The tick's first read of the next commit fails (the watcher, caught up
  // with the tail, reads nothing itself); a later tick reads it again.
  fault_->fail_next_change_iterators = 1;
  ASSERT_TRUE(
      store_->Create("quiet1", MakeArticle("quiet1", {"t1"}, 1700000000)).ok());
  ASSERT_TRUE(stream->Read(&r));
  EXPECT_EQ(r.event().name(), "articles/quiet1");
  EXPECT_EQ(fault_->fail_next_change_iterators.load(), 0);

  ctx.TryCancel();
  while (stream->Read(&r)) {
  }
  stream->Finish();
}

TEST_F(ReliabilityStoreTest, AnExportStopsScanningWhenItsClientIsGone) {
  // 20,001 articles: a filter no index serves that rejects them all makes
  // three empty pages of 10,000 candidates.
  for (int i = 0; i <= 20000; ++i) {
    const std::string id = absl::StrCat("e", i);
    ASSERT_TRUE(store_->Create(id, MakeArticle(id, {"t1"}, 1700000000)).ok());
  }
  // The first page's list read waits until the client has cancelled; any
  // later page's read is counted (the state before the server, which
  // outlives it otherwise).
  absl::Notification first_page, cancelled;
  std::atomic<int> later_pages{0};
  std::unique_ptr<Served> served = Serve();  // no other reader of lists
  v1::ContentService::Stub* stub = served->stub.get();
  fault_->on_postings_iterator = [&] {
    fault_->on_postings_iterator = [&] { ++later_pages; };
    first_page.Notify();
    cancelled.WaitForNotification();
  };
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  v1::ExportArticlesRequest req;
  req.mutable_query()->mutable_update_time_to()->set_seconds(1);
  auto stream = stub->ExportArticles(&ctx, req);
  ASSERT_TRUE(first_page.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ctx.TryCancel();
  absl::SleepFor(absl::Milliseconds(300));  // the cancel reaches the server
  cancelled.Notify();
  v1::ExportArticlesResponse r;
  EXPECT_FALSE(stream->Read(&r));
  EXPECT_EQ(stream->Finish().error_code(), grpc::StatusCode::CANCELLED);
  // Shutdown waits for the reactor; by then it has stopped after the page it
  // was reading (it used to read the rest of the store).
  served->server->Shutdown(std::chrono::system_clock::now() +
                           std::chrono::seconds(5));
  EXPECT_EQ(later_pages.load(), 0);
  fault_->on_postings_iterator = nullptr;
}

// An online check (`contentctl admin fsck`) takes minutes on a big store.
// It ran on to the end after its caller left (Ctrl-C, a deadline), and a
// contentd stopping meanwhile waited for it past its grace. It stops once
// its call is cancelled: here, while it reads the revisions, so that it
// never reaches the change log, its last step.
TEST_F(ReliabilityStoreTest, AnOnlineCheckStopsWhenItsCallerIsGone) {
  for (int i = 0; i < 3000; ++i) {
    const std::string id = absl::StrCat("c", i);
    ASSERT_TRUE(store_->Create(id, MakeArticle(id, {"t1"}, 1700000000)).ok());
  }
  // The check's read of the revisions waits until the client has gone (the
  // hook's state before the server, whose work thread runs it).
  absl::Notification reading, cancelled;
  std::unique_ptr<ServedAdmin> admin = ServeAdmin();
  ASSERT_TRUE(admin != nullptr && admin->server != nullptr);
  v1::AdminService::Stub* stub = admin->stub.get();
  fault_->on_revisions_iterator = [&] {
    reading.Notify();
    cancelled.WaitForNotification();
  };
  const int64_t change_reads = fault_->change_iterators.load();
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  grpc::Status status;
  std::thread call([&] {
    v1::CheckStoreResponse response;
    status = stub->CheckStore(&ctx, v1::CheckStoreRequest(), &response);
  });
  // However the test ends (an assertion returns early): the call joined and
  // the check let go before the server, then its state, are destroyed.
  absl::Cleanup let_go = [&] {
    if (call.joinable()) {
      ctx.TryCancel();
      call.join();
    }
    if (!cancelled.HasBeenNotified()) cancelled.Notify();
  };
  ASSERT_TRUE(reading.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ctx.TryCancel();
  call.join();
  EXPECT_EQ(status.error_code(), grpc::StatusCode::CANCELLED);
  absl::SleepFor(absl::Milliseconds(300));  // the cancel reaches the server
  std::move(let_go).Invoke();
  // Shutdown waits for the call's reactor, and the service's threads end
  // with it: the check is over either way.
  admin.reset();
  EXPECT_EQ(fault_->change_iterators.load(), change_reads)
      << "the check read on to the change log after its caller left";
  fault_->on_revisions_iterator = nullptr;
}

// GetStats waited for one of the two admin work threads: with two backups
// (or compactions, checks) running it answered only when one ended. It has
// a thread of its own, and lists both while they run.
TEST_F(ReliabilityStoreTest, StatsAnswerWhileTwoLongAdminCallsRun) {
  for (int i = 0; i < 50; ++i) {
    const std::string id = absl::StrCat("s", i);
    ASSERT_TRUE(store_->Create(id, MakeArticle(id, {"t1"}, 1700000000)).ok());
  }
  // Each backup waits, on its admin work thread, as its checkpoint begins
  // (the hook's state before the server, whose work threads run it).
  absl::Notification release;
  std::atomic<int> held{0};
  std::unique_ptr<ServedAdmin> admin = ServeAdmin();
  ASSERT_TRUE(admin != nullptr && admin->server != nullptr);
  v1::AdminService::Stub* stub = admin->stub.get();

  const std::string backups_dir = dir_ + "-backups";
  std::filesystem::create_directories(backups_dir);
  absl::Cleanup remove_backups = [&] {
    std::error_code ec;
    std::filesystem::remove_all(backups_dir, ec);
  };
  fault_->on_checkpoint = [&] {
    ++held;
    release.WaitForNotification();
  };
  std::vector<grpc::Status> backups(2);
  std::vector<std::thread> calls;
  // However the test ends (an assertion returns early): the backups let go
  // and their calls joined before the server and the hook's state go.
  absl::Cleanup join = [&] {
    if (!release.HasBeenNotified()) release.Notify();
    for (std::thread& t : calls) t.join();
    fault_->on_checkpoint = nullptr;
  };
  for (int i = 0; i < 2; ++i) {
    calls.emplace_back([&, i] {
      grpc::ClientContext ctx;
      ctx.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::seconds(60));
      v1::BackupStoreRequest request;
      request.set_destination(absl::StrCat(backups_dir, "/b", i));
      v1::BackupStoreResponse response;
      backups[i] = stub->BackupStore(&ctx, request, &response);
    });
  }
  for (int j = 0; j < 1000 && held.load() < 2; ++j)
    absl::SleepFor(absl::Milliseconds(10));
  if (held.load() < 2) {
    FAIL() << "only " << held.load() << " of the two backups began";
  }

  // A bound for a broken build only: the stats wait on no backup.
  grpc::ClientContext ctx;
  ctx.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
  v1::GetStatsResponse stats;
  grpc::Status status = stub->GetStats(&ctx, v1::GetStatsRequest(), &stats);
  EXPECT_TRUE(status.ok()) << status.error_code() << " "
                           << status.error_message();
  EXPECT_EQ(stats.live_articles(), 50);
  ASSERT_EQ(stats.operations_size(), 2);
  EXPECT_EQ(stats.operations(0).kind(), "backup");
  EXPECT_EQ(stats.operations(1).kind(), "backup");

  std::move(join).Invoke();
  for (const grpc::Status& s : backups)
    EXPECT_TRUE(s.ok()) << s.error_code() << " " << s.error_message();
  admin.reset();
}

TEST_F(ReliabilityStoreTest, RandomFaultsUnderConcurrentWritersLoseNothing) {
  constexpr int kThreads = 6;
  constexpr int kOps = 120;
  fault_->write_fault = FaultKv::Fault::kIoError;
  fault_->write_fault_probability = 0.33;
  std::atomic<int64_t> acked{0};
  std::vector<std::map<std::string, std::string>> last_acked(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      absl::BitGen gen;
      for (int i = 0; i < kOps; ++i) {
        const std::string id =
            absl::StrCat("w", t, "-", absl::Uniform(gen, 0, 4));
        Article a = MakeArticle(absl::StrCat(id, " op ", i),
                                {absl::StrCat("t", absl::Uniform(gen, 0, 3))});
        absl::StatusOr<Article> r = last_acked[t].count(id)
                                        ? store_->Update(id, a, {})
                                        : store_->Create(id, a);
        if (r.ok()) {
          ++acked;
          last_acked[t][id] = r->content_hash();
        } else {
          EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable)
              << r.status();
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  fault_->write_fault = FaultKv::Fault::kNone;
  EXPECT_GT(fault_->failed_writes.load(), 0);
  EXPECT_GT(acked.load(), 0);
  EXPECT_EQ(store_->last_sequence(), acked.load());
  for (const auto& owned : last_acked) {
    for (const auto& [id, hash] : owned) {
      absl::StatusOr<Article> head = store_->Get(id, 0, false);
      ASSERT_TRUE(head.ok()) << id;
      EXPECT_EQ(head->content_hash(), hash) << id;
    }
  }
  FsckReport report = Check();
  EXPECT_TRUE(report.clean()) << report.ToString();
  EXPECT_EQ(report.changes, acked.load());
}

}  // namespace
}  // namespace content::store

namespace content::store {
namespace {

// contentd's retention task comes every minute on the replica holding the
// lease, and ran a pass each time: on PostgreSQL an idle store's heads,
// change log and a trim of it read and written every minute. A turn after
// which nothing the pass acts on can have changed now reads nothing: no
// commit since the last pass, no age rule due by the store's clock (old
// revisions, deleted articles, the change log), the safety net
// (retention_recheck) not yet due.
TEST_F(ReliabilityStoreTest,
       AnIdleRetentionTurnReadsNothingUntilACommitOrADueTime) {
  // The clock's state is the clock's own: the store that calls it (store_)
  // outlives this test's locals, until TearDown.
  struct FakeClock {
    absl::Mutex mu;
    absl::Time now ABSL_GUARDED_BY(mu);
  };
  const absl::Time start = absl::FromUnixSeconds(1700000000);
  auto fake = std::make_shared<FakeClock>();
  clock_ = [fake] {
    absl::MutexLock lock(&fake->mu);
    return fake->now;
  };
  auto set_now = [fake](absl::Time t) {
    absl::MutexLock lock(&fake->mu);
    fake->now = t;
  };
  set_now(start);
  store_.reset();
  OpenStore(/*text_index=*/true);
  ASSERT_TRUE(store_->Create("a", MakeArticle("a", {"t1"}, 1700000000)).ok());
  ASSERT_TRUE(
      store_->Update("a", MakeArticle("a2", {"t1"}, 1700000000), {}).ok());
  ASSERT_TRUE(store_->Create("d", MakeArticle("d", {"t1"}, 1700000000)).ok());
  ASSERT_TRUE(store_->Delete("d", {}).ok());

  service::AdminOptions options;
  options.retention.keep_age = absl::Hours(1);
  options.retention.purge_deleted_after = absl::Hours(2);
  options.changelog_retain_age = absl::Hours(3);
  options.retention_recheck = absl::Minutes(90);
  absl::StatusOr<std::unique_ptr<service::AdminService>> admin =
      service::AdminService::Create(store_.get(), nullptr, options, nullptr);
  ASSERT_TRUE(admin.ok()) << admin.status();
  // What a turn asked of the engine: reads and writes.
  auto cost = [&] {
    return fault_->gets.load() + fault_->iterators.load() +
           fault_->writes.load();
  };
  // One turn: the pass's response, or nullopt if it read nothing.
  auto turn = [&](bool leased = true) {
    const int64_t before = cost();
    absl::StatusOr<std::optional<v1::CompactStoreResponse>> r =
        (*admin)->RetentionTurn(leased);
    EXPECT_TRUE(r.ok()) << r.status();
    if (!r.ok()) return std::optional<v1::CompactStoreResponse>();
    EXPECT_EQ(r->has_value(), cost() != before)
        << "a turn that ran no pass asked the engine nothing, and one that "
           "ran one did";
    return *r;
  };

  std::optional<v1::CompactStoreResponse> r = turn();
  ASSERT_TRUE(r.has_value()) << "the first turn runs a pass";
  EXPECT_EQ(r->revisions_removed(), 0);
  for (int i = 0; i < 3; ++i)
    EXPECT_FALSE(turn().has_value()) << "idle turn " << i;
  set_now(start + absl::Minutes(59));
  EXPECT_FALSE(turn().has_value()) << "nothing is an hour old yet";

  // The revisions below a's and d's heads are an hour old (keep_age).
  set_now(start + absl::Hours(1) + absl::Seconds(2));
  r = turn();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->revisions_removed(), 2);
  EXPECT_EQ(r->articles_purged(), 0);
  EXPECT_FALSE(turn().has_value());

  // d was deleted two hours ago (purge_deleted_after).
  set_now(start + absl::Hours(2) + absl::Seconds(2));
  r = turn();
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->articles_purged(), 1);
  EXPECT_FALSE(turn().has_value());

  // A commit: the next turn runs, then idles again.
  ASSERT_TRUE(store_->Create("b", MakeArticle("b", {"t1"}, 1700000000)).ok());
  r = turn();
  ASSERT_TRUE(r.has_value()) << "a commit since the last pass";
  EXPECT_EQ(r->revisions_removed(), 0);
  EXPECT_FALSE(turn().has_value());

  // The change log's first events are three hours old
  // (changelog_retain_age); b's create, at 2 h, stays.
  set_now(start + absl::Hours(3) + absl::Seconds(2));
  r = turn();
  ASSERT_TRUE(r.has_value());
  EXPECT_GT(r->changes_removed(), 0);
  EXPECT_FALSE(turn().has_value());

  // Nothing due until b's create is three hours old: the safety net runs a
  // pass once retention_recheck has passed since the last.
  set_now(start + absl::Hours(4) + absl::Minutes(40));
  r = turn();
  ASSERT_TRUE(r.has_value()) << "retention_recheck";
  EXPECT_EQ(r->changes_removed(), 0);
  EXPECT_FALSE(turn().has_value());

  // Another replica held the lease meanwhile: this one's next pass runs.
  EXPECT_FALSE(turn(/*leased=*/false).has_value());
  EXPECT_TRUE(turn().has_value()) << "the lease taken again";
  EXPECT_FALSE(turn().has_value());
}

}  // namespace
}  // namespace content::store
