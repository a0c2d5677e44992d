// A write-ahead-log write or sync that fails under RocksDB (WalFaultFs
// injects the error beneath it): what the store, the service and health
// then do, and that a reopen recovers every acknowledged write.
#include <fcntl.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "content/client.h"
#include "content/v1/content_service.grpc.pb.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "server/error_details.h"
#include "server/service/content_service.h"
#include "server/service/health.h"
#include "server/store/fsck.h"
#include "server/store/keys.h"
#include "server/store/rocksdb_kv.h"
#include "server/store/store.h"
#include "tests/reliability/fault_fs.h"
#include "tests/reliability/fault_kv.h"
#include "tests/support/grpc_raw.h"

namespace content::store {
namespace {

using ::testing::HasSubstr;

// What grpc.health.v1.Health/Check answers for `service`: 1 SERVING,
// 2 NOT_SERVING, -1 if the call failed.
int HealthOf(grpc::Channel* channel, const std::string& service) {
  int serving = -1;
  if (!content::testing::CheckHealth(*channel, service, &serving).ok())
    return -1;
  return serving;
}

class WalFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = getenv("TMPDIR");
    std::string pattern = absl::StrCat(
        tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/wal_fault.XXXXXX");
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
    grpc::EnableDefaultHealthCheckService(true);
  }
  void TearDown() override {
    Stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  // Opens the store on dir_ (over fs_ if given) and serves it as contentd
  // does: ContentService, the health service through health_.
  void Start(std::shared_ptr<WalFaultFs> fs) {
    fs_ = fs;
    health_ = std::make_unique<service::ServingHealth>(&log_);
    RocksKvOptions kv_options;
    kv_options.path = dir_;
    kv_options.block_cache_bytes = size_t{8} << 20;
    kv_options.file_system = fs;
    kv_options.on_writes_stopped = [this](const absl::Status& s) {
      health_->StorageFailed(s);
    };
    absl::StatusOr<std::unique_ptr<KvEngine>> kv = OpenRocksKv(kv_options);
    ASSERT_TRUE(kv.ok()) << kv.status();
    // Counts the writes that reach the engine (the scheduler's included).
    auto counted = std::make_unique<FaultKv>(*std::move(kv));
    kv_ = counted.get();
    kv = std::unique_ptr<KvEngine>(std::move(counted));
    StoreOptions options;
    options.data_dir = dir_;
    options.sync = true;
    if (schedule_poll_ > absl::ZeroDuration()) {  // scheduler tests
      options.clock = [this] {
        absl::MutexLock lock(&clock_mu_);
        return now_;
      };
    }
    absl::StatusOr<std::unique_ptr<Store>> store =
        Store::Open(*std::move(kv), options);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
    service::ServiceOptions service_options;
    service_options.schedule_poll = schedule_poll_;
    service_options.schedule_recheck = schedule_recheck_;
    service_options.log = &schedule_log_;
    absl::StatusOr<std::unique_ptr<service::ContentService>> service =
        service::ContentService::Create(store_.get(), service_options, nullptr);
    ASSERT_TRUE(service.ok()) << service.status();
    service_ = *std::move(service);
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(),
                             &port);
    builder.RegisterService(service_.get());
    // Why health is NOT_SERVING, in its answers' trailers, as contentd's.
    std::vector<
        std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>>
        interceptors;
    interceptors.push_back(
        service::NewHealthReasonInterceptorFactory(health_.get()));
    builder.experimental().SetInterceptorCreators(std::move(interceptors));
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    health_->Attach(server_->GetHealthCheckService());
    address_ = absl::StrCat("127.0.0.1:", port);
    channel_ =
        grpc::CreateChannel(address_, grpc::InsecureChannelCredentials());
    stub_ = v1::ContentService::NewStub(channel_);
  }
  void Stop() {
    if (server_ != nullptr) {
      health_->Shutdown();
      health_->Attach(nullptr);
      service_->PrepareShutdown();
      server_->Shutdown(std::chrono::system_clock::now() +
                        std::chrono::seconds(5));
      server_.reset();
    }
    stub_.reset();
    channel_.reset();
    service_.reset();
    store_.reset();
    kv_ = nullptr;
  }

  void SetNow(absl::Time t) {
    absl::MutexLock lock(&clock_mu_);
    now_ = t;
  }

  // Waits until the engine has seen `n` more writes than `after`, however
  // long that takes (ctest's timeout bounds it).
  void AwaitWrites(int64_t after, int64_t n) {
    while (kv_->writes.load() < after + n)
      absl::SleepFor(absl::Milliseconds(5));
  }

  // Waits until the scheduler has polled `n` more times (a lease asked for
  // each), however long that takes.
  void AwaitPolls(int64_t n) {
    const int64_t until = kv_->leases.load() + n;
    while (kv_->leases.load() < until) absl::SleepFor(absl::Milliseconds(5));
  }

  // Waits up to 30 s for the store's last sequence to pass `sequence`; the
  // events after it.
  std::vector<v1::ChangeEvent> EventsAfter(int64_t sequence) {
    for (const absl::Time deadline = absl::Now() + absl::Seconds(30);
         store_->last_sequence() <= sequence && absl::Now() < deadline;) {
      absl::SleepFor(absl::Milliseconds(5));
    }
    absl::StatusOr<std::vector<v1::ChangeEvent>> events =
        store_->ReadChanges(sequence, 100);
    EXPECT_TRUE(events.ok()) << events.status();
    return events.ok() ? *std::move(events) : std::vector<v1::ChangeEvent>{};
  }

  // Creates `id`, published at `publish`.
  grpc::Status CreateScheduled(const std::string& id, absl::Time publish) {
    v1::CreateArticleRequest request;
    request.set_article_id(id);
    request.mutable_article()->set_title("scheduled");
    request.mutable_article()->set_body("正文\n");
    request.mutable_article()->mutable_date()->set_seconds(1700000000);
    request.mutable_article()->mutable_publish_time()->set_seconds(
        absl::ToUnixSeconds(publish));
    grpc::ClientContext ctx;
    v1::Article out;
    return stub_->CreateArticle(&ctx, request, &out);
  }

  grpc::Status Create(const std::string& id, const std::string& title,
                      v1::Article* out) {
    v1::CreateArticleRequest request;
    request.set_article_id(id);
    request.mutable_article()->set_title(title);
    request.mutable_article()->set_body(absl::StrCat("正文 ", title, "\n"));
    request.mutable_article()->add_tags("wal");
    request.mutable_article()->mutable_date()->set_seconds(1700000000);
    grpc::ClientContext ctx;
    ctx.set_deadline(std::chrono::system_clock::now() +
                     std::chrono::seconds(30));
    return stub_->CreateArticle(&ctx, request, out);
  }

  // Every name health answers, and what it answers.
  std::map<std::string, int> Health() {
    std::map<std::string, int> out;
    for (const std::string name :
         {"", "content.v1.ContentService", "content.v1.AdminService"}) {
      out[name] = HealthOf(channel_.get(), name);
    }
    return out;
  }
  static std::map<std::string, int> AllHealth(int status) {
    return {{"", status},
            {"content.v1.ContentService", status},
            {"content.v1.AdminService", status}};
  }

  std::string dir_;
  std::string address_;  // the server's, once started
  std::ostringstream log_;
  // The scheduler's log; read once the service is gone.
  std::ostringstream schedule_log_;
  absl::Duration schedule_poll_ = absl::ZeroDuration();
  absl::Duration schedule_recheck_ = service::ServiceOptions().schedule_recheck;
  absl::Mutex clock_mu_;
  absl::Time now_ ABSL_GUARDED_BY(clock_mu_) =
      absl::FromUnixSeconds(1700000000);
  FaultKv* kv_ = nullptr;  // owned by store_
  std::shared_ptr<WalFaultFs> fs_;
  std::unique_ptr<service::ServingHealth> health_;
  std::unique_ptr<Store> store_;
  std::unique_ptr<service::ContentService> service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<v1::ContentService::Stub> stub_;
};

class WalIoErrorTest : public WalFaultTest,
                       public ::testing::WithParamInterface<WalFaultFs::Fault> {
};

// RocksDB 7.8 classes a failed WAL append or sync (not a full disk) as a
// fatal error: DB::Resume cannot clear it. Writes then fail saying a
// restart is needed, health turns NOT_SERVING under every name (so an
// orchestrator restarts contentd), reads go on, and a reopen has every
// acknowledged write.
TEST_P(WalIoErrorTest, StopsWritesAndHealthUntilAReopenThatLosesNothing) {
  Start(std::make_shared<WalFaultFs>());
  std::map<std::string, v1::Article> acked;
  for (int i = 0; i < 5; ++i) {
    const std::string id = absl::StrCat("a", i);
    v1::Article created;
    grpc::Status s = Create(id, absl::StrCat("title ", i), &created);
    ASSERT_TRUE(s.ok()) << s.error_message();
    acked[id] = created;
  }
  EXPECT_EQ(Health(), AllHealth(1));

  fs_->fault = GetParam();
  v1::Article ignored;
  grpc::Status failed = Create("lost", "lost", &ignored);
  EXPECT_GT(fs_->failures.load(), 0);
  EXPECT_EQ(failed.error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_THAT(failed.error_message(), HasSubstr("restart contentd"));
  EXPECT_THAT(failed.error_message(), HasSubstr("injected"));
  EXPECT_EQ(Health(), AllHealth(2));

  // The disk is fine again, but RocksDB will not resume: every write still
  // fails the same way, and health stays NOT_SERVING.
  fs_->fault = WalFaultFs::Fault::kNone;
  for (int i = 0; i < 2; ++i) {
    grpc::Status again = Create(absl::StrCat("later", i), "later", &ignored);
    EXPECT_EQ(again.error_code(), grpc::StatusCode::UNAVAILABLE);
    EXPECT_THAT(again.error_message(), HasSubstr("restart contentd"));
  }
  EXPECT_EQ(Health(), AllHealth(2));
  EXPECT_TRUE(health_->storage_failed());
  // What admin stats and /metrics report as read-only.
  EXPECT_EQ(store_->WritesRefused().code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(store_->WritesRefused().message(), HasSubstr("restart contentd"));
  // What the systemd watchdog asks: no more pings.
  EXPECT_FALSE(health_->serving());
  // One line says why.
  const std::string log = log_.str();
  EXPECT_THAT(log, HasSubstr("health NOT_SERVING"));
  EXPECT_THAT(log, HasSubstr("restart contentd"));
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 1) << log;
  // The SDK's health check (contentctl admin health's) gets that line's
  // reason with the answer, for "" and readiness alike.
  ClientOptions options;
  options.target = address_;
  absl::StatusOr<std::unique_ptr<Client>> client = Client::Connect(options);
  ASSERT_TRUE(client.ok()) << client.status();
  for (const std::string name : {"", "content.v1.Readiness"}) {
    absl::StatusOr<content::Health> health = (*client)->CheckHealth(name);
    ASSERT_TRUE(health.ok()) << name << ": " << health.status();
    EXPECT_EQ(health->status, content::Health::Status::kNotServing) << name;
    EXPECT_THAT(health->reason, HasSubstr("storage: writes stopped after an "
                                          "I/O error the database cannot "
                                          "recover from while running"))
        << name;
    EXPECT_THAT(health->reason, HasSubstr("restart contentd")) << name;
    EXPECT_THAT(log, HasSubstr(health->reason)) << name;
  }

  // Reads go on.
  for (const auto& [id, article] : acked) {
    v1::GetArticleRequest request;
    request.set_name(absl::StrCat("articles/", id));
    grpc::ClientContext ctx;
    v1::Article got;
    grpc::Status s = stub_->GetArticle(&ctx, request, &got);
    ASSERT_TRUE(s.ok()) << s.error_message();
    EXPECT_EQ(got.title(), article.title());
  }

  // A restart: every acknowledged write is there, fsck is clean, and
  // writes and health are back.
  Stop();
  Start(nullptr);
  for (const auto& [id, article] : acked) {
    absl::StatusOr<v1::Article> got = store_->Get(id, 0, false);
    ASSERT_TRUE(got.ok()) << id << ": " << got.status();
    EXPECT_EQ(got->title(), article.title());
    EXPECT_EQ(got->revision(), article.revision());
    EXPECT_EQ(got->etag(), article.etag());
  }
  absl::StatusOr<FsckReport> report = CheckStore(*store_);
  ASSERT_TRUE(report.ok()) << report.status();
  EXPECT_TRUE(report->clean()) << report->ToString();
  EXPECT_EQ(Health(), AllHealth(1));
  EXPECT_TRUE(store_->WritesRefused().ok());
  v1::Article created;
  grpc::Status s = Create("after", "after", &created);
  EXPECT_TRUE(s.ok()) << s.error_message();
}

INSTANTIATE_TEST_SUITE_P(
    AppendAndSync, WalIoErrorTest,
    ::testing::Values(WalFaultFs::Fault::kAppendIoError,
                      WalFaultFs::Fault::kSyncIoError),
    [](const ::testing::TestParamInfo<WalFaultFs::Fault>& info) {
      return info.param == WalFaultFs::Fault::kAppendIoError ? "Append"
                                                             : "Sync";
    });

// A full disk under the WAL is a hard error RocksDB can resume from: the
// write fails RESOURCE_EXHAUSTED, health stays SERVING, and the next write
// once there is room resumes and succeeds without a restart.
TEST_F(WalFaultTest, AFullDiskUnderTheWalResumesWithoutARestart) {
  Start(std::make_shared<WalFaultFs>());
  v1::Article created;
  ASSERT_TRUE(Create("a0", "before", &created).ok());
  fs_->fault = WalFaultFs::Fault::kAppendNoSpace;
  v1::Article ignored;
  grpc::Status failed = Create("full", "full", &ignored);
  EXPECT_GT(fs_->failures.load(), 0);
  EXPECT_EQ(failed.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED)
      << failed.error_message();
  EXPECT_EQ(Health(), AllHealth(1));
  fs_->fault = WalFaultFs::Fault::kNone;
  // RocksDB may still be recovering by itself for a moment: such a write
  // is UNAVAILABLE, saying so. (Bounded, so a store that never recovers
  // fails the test rather than hanging it.)
  grpc::Status s = Create("a1", "after", &created);
  for (int i = 0; i < 300 && s.error_code() == grpc::StatusCode::UNAVAILABLE;
       ++i) {
    EXPECT_THAT(s.error_message(), HasSubstr("recovering"));
    absl::SleepFor(absl::Milliseconds(100));
    s = Create("a1", "after", &created);
  }
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_EQ(Health(), AllHealth(1));
  EXPECT_FALSE(health_->storage_failed());
  EXPECT_EQ(log_.str(), "");
  Stop();
  Start(nullptr);
  EXPECT_TRUE(store_->Get("a0", 0, false).ok());
  EXPECT_TRUE(store_->Get("a1", 0, false).ok());
  EXPECT_EQ(store_->Get("full", 0, true).status().code(),
            absl::StatusCode::kNotFound);
}

// While writes are stopped, the scheduler fails on its due entry at every
// poll: it says so once, not once a poll.
TEST_F(WalFaultTest, TheSchedulerLogsStoppedWritesOnceNotEveryPoll) {
  schedule_poll_ = absl::Milliseconds(10);
  Start(std::make_shared<WalFaultFs>());
  const absl::Time publish = absl::FromUnixSeconds(1700003600);
  ASSERT_TRUE(CreateScheduled("soon", publish).ok());
  fs_->fault = WalFaultFs::Fault::kAppendIoError;
  v1::Article ignored;
  ASSERT_EQ(Create("lost", "lost", &ignored).error_code(),
            grpc::StatusCode::UNAVAILABLE);
  fs_->fault = WalFaultFs::Fault::kNone;
  const int64_t before = kv_->writes.load();
  SetNow(publish + absl::Seconds(1));
  AwaitWrites(before, 20);  // twenty polls, each failing on "soon"
  Stop();                   // joins the scheduler
  const std::string log = schedule_log_.str();
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 1) << log;
  EXPECT_THAT(log, HasSubstr("contentd: schedule: "));
  EXPECT_THAT(log, HasSubstr("restart contentd"));
}

// An idle scheduler reads the store only when something it read may have
// changed: polls that find no new commit and nothing due read nothing (on
// PostgreSQL each poll read a key and four iterator pages, a second). A
// write that adds an earlier time is read at the next poll and fires when
// due, and the next time, reached with no write, fires too.
TEST_F(WalFaultTest, AnIdleSchedulerReadsNothingUntilAWriteOrADueTime) {
  schedule_poll_ = absl::Milliseconds(10);
  schedule_recheck_ = absl::Hours(1);  // not within the test
  Start(nullptr);
  const absl::Time start = absl::FromUnixSeconds(1700000000);  // now_
  ASSERT_TRUE(CreateScheduled("later", start + absl::Hours(2)).ok());
  AwaitPolls(5);  // one of them read the create's entry
  const int64_t iterators = kv_->postings_iterators.load();
  AwaitPolls(50);
  EXPECT_EQ(kv_->postings_iterators.load(), iterators) << "50 idle polls";

  int64_t sequence = store_->last_sequence();
  ASSERT_TRUE(CreateScheduled("earlier", start + absl::Minutes(30)).ok());
  ++sequence;  // the create
  AwaitPolls(5);
  SetNow(start + absl::Minutes(31));
  std::vector<v1::ChangeEvent> fired = EventsAfter(sequence);
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0].type(), v1::ChangeEvent::TYPE_PUBLISHED);
  EXPECT_EQ(fired[0].name(), "articles/earlier");
  sequence = fired[0].sequence();

  AwaitPolls(5);
  SetNow(start + absl::Hours(2) + absl::Seconds(1));
  fired = EventsAfter(sequence);
  ASSERT_EQ(fired.size(), 1u);
  EXPECT_EQ(fired[0].type(), v1::ChangeEvent::TYPE_PUBLISHED);
  EXPECT_EQ(fired[0].name(), "articles/later");
}

// A failure the scheduler gets past (a full disk that has room again): one
// line when it starts, one when the scheduler fires again.
TEST_F(WalFaultTest, TheSchedulerLogsAFailureOnceAndItsEndOnce) {
  schedule_poll_ = absl::Milliseconds(10);
  Start(nullptr);
  const absl::Time publish = absl::FromUnixSeconds(1700003600);
  ASSERT_TRUE(CreateScheduled("soon", publish).ok());
  kv_->write_fault = FaultKv::Fault::kNoSpace;
  const int64_t before = kv_->writes.load();
  const int64_t sequence = store_->last_sequence();
  SetNow(publish + absl::Seconds(1));
  AwaitWrites(before, 20);
  kv_->write_fault = FaultKv::Fault::kNone;
  // The entry fires: its event is committed.
  while (store_->last_sequence() == sequence)
    absl::SleepFor(absl::Milliseconds(5));
  Stop();
  const std::string log = schedule_log_.str();
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 2) << log;
  EXPECT_THAT(log, HasSubstr("injected: no space left"));
  EXPECT_THAT(log, HasSubstr("contentd: schedule: firing again"));
}

// A failure whose reason changes while it lasts (a full disk, then a write
// error): one more line for the new reason, still not one a poll.
TEST_F(WalFaultTest, TheSchedulerLogsAChangedReasonOnce) {
  schedule_poll_ = absl::Milliseconds(10);
  Start(nullptr);
  const absl::Time publish = absl::FromUnixSeconds(1700003600);
  ASSERT_TRUE(CreateScheduled("soon", publish).ok());
  kv_->write_fault = FaultKv::Fault::kNoSpace;
  int64_t before = kv_->writes.load();
  SetNow(publish + absl::Seconds(1));
  AwaitWrites(before, 20);
  kv_->write_fault = FaultKv::Fault::kIoError;
  before = kv_->writes.load();
  AwaitWrites(before, 20);
  Stop();
  const std::string log = schedule_log_.str();
  EXPECT_EQ(std::count(log.begin(), log.end(), '\n'), 2) << log;
  const size_t full = log.find("injected: no space left");
  const size_t io = log.find("injected: write I/O error");
  EXPECT_NE(full, std::string::npos) << log;
  EXPECT_NE(io, std::string::npos) << log;
  EXPECT_LT(full, io) << log;
}

// What a volume's free space makes of a read-write open: a small volume
// gets no preallocated log files (on a 40 MB ext4 they took all of it, and
// the first write at start failed "disk full"), a large one keeps them, and
// one too small for a new store is refused, saying what it has and needs.
class SmallVolumeTest : public WalFaultTest {
 protected:
  absl::StatusOr<std::unique_ptr<KvEngine>> Open(uint64_t free_bytes,
                                                 WalFaultFs* fs) {
    RocksKvOptions options;
    options.path = dir_ + "/db";
    options.block_cache_bytes = size_t{8} << 20;
    options.file_system =
        std::shared_ptr<rocksdb::FileSystem>(fs, [](rocksdb::FileSystem*) {});
    options.free_space = [free_bytes](const std::string&) {
      return absl::StatusOr<uint64_t>(free_bytes);
    };
    return OpenRocksKv(options);
  }
};

TEST_F(SmallVolumeTest, ASmallVolumeGetsNoPreallocatedLogFiles) {
  WalFaultFs fs;
  absl::StatusOr<std::unique_ptr<KvEngine>> kv = Open(uint64_t{30} << 20, &fs);
  ASSERT_TRUE(kv.ok()) << kv.status();
  EXPECT_GE(fs.log_files.load(), 2);  // a WAL and a MANIFEST at least
  EXPECT_EQ(fs.preallocated_log_files.load(), 0);
  KvBatch batch;
  batch.Put(Family::kMeta, "k", "v");
  EXPECT_TRUE((*kv)->Write(std::move(batch), true).ok());
}

TEST_F(SmallVolumeTest, ALargeVolumeKeepsPreallocation) {
  WalFaultFs fs;
  absl::StatusOr<std::unique_ptr<KvEngine>> kv = Open(uint64_t{1} << 40, &fs);
  ASSERT_TRUE(kv.ok()) << kv.status();
  EXPECT_GE(fs.preallocated_log_files.load(), 2);
  EXPECT_EQ(fs.preallocated_log_files.load(), fs.log_files.load());
}

TEST_F(SmallVolumeTest, ANewStoreOnAVolumeTooSmallIsRefusedSayingWhy) {
  WalFaultFs fs;
  absl::StatusOr<std::unique_ptr<KvEngine>> kv = Open(uint64_t{1} << 20, &fs);
  EXPECT_EQ(kv.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(std::string(kv.status().message()),
              HasSubstr(absl::StrCat("opening ", dir_,
                                     "/db: the volume has 1048576 bytes free; "
                                     "a new store needs at least ",
                                     kRocksKvMinFreeToCreate)));
  EXPECT_EQ(fs.log_files.load(), 0);
  EXPECT_FALSE(std::filesystem::exists(dir_ + "/db"));
  // An existing store opens, whatever is free: reads go on, and a write
  // that does not fit fails on its own.
  {
    WalFaultFs roomy;
    ASSERT_TRUE(Open(uint64_t{1} << 40, &roomy).ok());
  }
  EXPECT_TRUE(Open(uint64_t{1} << 20, &fs).ok());
}

// Every write checks that the volume has room for it (twice its bytes and
// a 2 MiB reserve) before RocksDB meets a full disk, and a compaction that
// its flush has room: both measure the free space as the rest of the
// full-volume logic does, through RocksKvOptions::free_space where a test
// sets it (they called statvfs themselves, so a test could not steer them).
TEST_F(SmallVolumeTest, WritesAndCompactionsMeasureRoomThroughTheProbe) {
  std::atomic<uint64_t> free_bytes{uint64_t{1} << 40};
  RocksKvOptions options;
  options.path = dir_ + "/db";
  options.block_cache_bytes = size_t{8} << 20;
  options.free_space = [&free_bytes](const std::string&) {
    return absl::StatusOr<uint64_t>(free_bytes.load());
  };
  absl::StatusOr<std::unique_ptr<KvEngine>> kv = OpenRocksKv(options);
  ASSERT_TRUE(kv.ok()) << kv.status();
  KvEngine& engine = **kv;
  auto write = [&engine] {
    KvBatch batch;
    batch.Put(Family::kMeta, "k", std::string(1000, 'v'));
    return engine.Write(std::move(batch), true);
  };
  ASSERT_TRUE(write().ok());
  free_bytes = uint64_t{1} << 20;
  absl::Status refused = write();
  EXPECT_EQ(refused.code(), absl::StatusCode::kResourceExhausted) << refused;
  EXPECT_EQ(ReasonOf(refused), "DISK_FULL") << refused;
  EXPECT_THAT(std::string(refused.message()),
              HasSubstr(absl::StrCat("storage: disk full: 1048576 bytes free "
                                     "in ",
                                     dir_, "/db, a write of ")));
  absl::Status compacted = engine.CompactAll();
  EXPECT_EQ(compacted.code(), absl::StatusCode::kResourceExhausted)
      << compacted;
  EXPECT_THAT(
      std::string(compacted.message()),
      HasSubstr("not enough disk space to compact: 1048576 bytes free"));
  free_bytes = uint64_t{1} << 40;
  EXPECT_TRUE(write().ok());
  EXPECT_TRUE(engine.CompactAll().ok());
}

// A file system with no room for new files while `full` is set: a
// read-write open then fails as on a full volume (it writes a new MANIFEST,
// OPTIONS file and WAL), a read-only one does not.
class FullVolumeFs : public rocksdb::FileSystemWrapper {
 public:
  FullVolumeFs() : rocksdb::FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "FullVolumeFs"; }
  rocksdb::IOStatus NewWritableFile(
      const std::string& name, const rocksdb::FileOptions& options,
      std::unique_ptr<rocksdb::FSWritableFile>* file,
      rocksdb::IODebugContext* dbg) override {
    if (full) return rocksdb::IOStatus::NoSpace("injected: volume full");
    return target()->NewWritableFile(name, options, file, dbg);
  }
  std::atomic<bool> full{false};
};

// Options for a store on `fs` whose volume has `*free_bytes` free, checked
// for room every 20 ms.
RocksKvOptions FullVolumeOptions(std::shared_ptr<FullVolumeFs> fs,
                                 const std::atomic<uint64_t>* free_bytes,
                                 const std::string& path) {
  RocksKvOptions options;
  options.path = path;
  options.block_cache_bytes = size_t{8} << 20;
  options.file_system = std::move(fs);
  options.free_space = [free_bytes](const std::string&) {
    return absl::StatusOr<uint64_t>(free_bytes->load());
  };
  options.room_check_period = absl::Milliseconds(20);
  return options;
}

// A store opened read-only for a full volume opens itself read-write in
// place once the volume has room (it asked for a restart before
// 2026-12-05): writes go through, and a snapshot and an iterator taken
// before the switch read on, as of when they were taken.
TEST_F(SmallVolumeTest, AFullVolumeOpenTakesWritesOnceThereIsRoom) {
  auto fs = std::make_shared<FullVolumeFs>();
  std::atomic<uint64_t> free_bytes{uint64_t{1} << 40};
  RocksKvOptions options = FullVolumeOptions(fs, &free_bytes, dir_ + "/db");
  absl::Status stopped;
  options.on_writes_stopped = [&stopped](const absl::Status& s) {
    stopped = s;
  };
  {
    absl::StatusOr<std::unique_ptr<KvEngine>> kv = OpenRocksKv(options);
    ASSERT_TRUE(kv.ok()) << kv.status();
    KvBatch batch;
    batch.Put(Family::kMeta, "a", "1");
    batch.Put(Family::kMeta, "b", "2");
    ASSERT_TRUE((*kv)->Write(std::move(batch), true).ok());
  }
  fs->full = true;
  free_bytes = 0;
  absl::StatusOr<std::unique_ptr<KvEngine>> kv = OpenRocksKv(options);
  ASSERT_TRUE(kv.ok()) << kv.status();
  KvEngine& engine = **kv;
  EXPECT_EQ(engine.WritesRefused().code(),
            absl::StatusCode::kResourceExhausted);
  KvBatch refused;
  refused.Put(Family::kMeta, "a", "refused");
  EXPECT_EQ(engine.Write(std::move(refused), true).code(),
            absl::StatusCode::kResourceExhausted);
  std::unique_ptr<KvSnapshot> snapshot = engine.GetSnapshot();
  std::unique_ptr<KvIterator> it = engine.NewIterator(Family::kMeta);
  it->Seek("a");
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), "a");

  fs->full = false;
  free_bytes = uint64_t{1} << 40;
  for (int i = 0; i < 1000 && !engine.WritesRefused().ok(); ++i)
    absl::SleepFor(absl::Milliseconds(10));
  ASSERT_TRUE(engine.WritesRefused().ok()) << engine.WritesRefused();
  EXPECT_TRUE(stopped.ok()) << stopped;
  KvBatch batch;
  batch.Put(Family::kMeta, "a", "3");
  batch.Put(Family::kMeta, "c", "4");
  ASSERT_TRUE(engine.Write(std::move(batch), true).ok());
  std::string value;
  ASSERT_TRUE(engine.Get(Family::kMeta, "a", &value).ok());
  EXPECT_EQ(value, "3");
  // Begun before: as of then.
  KvReadOptions at;
  at.snapshot = snapshot.get();
  ASSERT_TRUE(engine.Get(Family::kMeta, "a", &value, at).ok());
  EXPECT_EQ(value, "1");
  EXPECT_TRUE(absl::IsNotFound(engine.Get(Family::kMeta, "c", &value, at)));
  std::unique_ptr<KvIterator> old_view = engine.NewIterator(Family::kMeta, at);
  old_view->SeekToFirst();
  ASSERT_TRUE(old_view->Valid());
  EXPECT_EQ(old_view->value(), "1");
  it->Next();
  ASSERT_TRUE(it->Valid());
  EXPECT_EQ(it->key(), "b");
  it->Next();
  EXPECT_FALSE(it->Valid());
  EXPECT_TRUE(it->status().ok());
  old_view.reset();
  it.reset();
  snapshot.reset();  // the read-only open closes
  ASSERT_TRUE(engine.Get(Family::kMeta, "c", &value).ok());
  EXPECT_EQ(value, "4");
  kv->reset();
  // What it wrote is there at the next open.
  kv = OpenRocksKv(options);
  ASSERT_TRUE(kv.ok()) << kv.status();
  ASSERT_TRUE((*kv)->Get(Family::kMeta, "a", &value).ok());
  EXPECT_EQ(value, "3");
}

// A read begun on the read-only open before the switch may still open
// files after it: a revision's blob file is opened at its first read. The
// read-write open's compaction (admin compact relocates every blob) must
// not delete them from under it while it lives.
TEST_F(SmallVolumeTest, AReadBegunBeforeTheSwitchOutlivesACompaction) {
  auto fs = std::make_shared<FullVolumeFs>();
  std::atomic<uint64_t> free_bytes{uint64_t{1} << 40};
  RocksKvOptions options = FullVolumeOptions(fs, &free_bytes, dir_ + "/db");
  const int kRevisions = 40;
  auto body = [](int i, char c) {
    return std::string(2048, c) + std::to_string(i);
  };
  {
    absl::StatusOr<std::unique_ptr<KvEngine>> kv = OpenRocksKv(options);
    ASSERT_TRUE(kv.ok()) << kv.status();
    for (int i = 0; i < kRevisions; ++i) {
      KvBatch batch;
      batch.Put(Family::kRevisions, absl::StrCat("r", i), body(i, 'a'));
      ASSERT_TRUE((*kv)->Write(std::move(batch), true).ok());
    }
    // Into a table and a blob file, not left in the WAL.
    ASSERT_TRUE((*kv)->CompactAll().ok());
  }
  fs->full = true;
  free_bytes = 0;
  absl::StatusOr<std::unique_ptr<KvEngine>> kv = OpenRocksKv(options);
  ASSERT_TRUE(kv.ok()) << kv.status();
  KvEngine& engine = **kv;
  ASSERT_FALSE(engine.WritesRefused().ok());
  std::unique_ptr<KvSnapshot> snapshot = engine.GetSnapshot();

  fs->full = false;
  free_bytes = uint64_t{1} << 40;
  for (int i = 0; i < 1000 && !engine.WritesRefused().ok(); ++i)
    absl::SleepFor(absl::Milliseconds(10));
  ASSERT_TRUE(engine.WritesRefused().ok()) << engine.WritesRefused();
  for (int i = 0; i < kRevisions; ++i) {
    KvBatch batch;
    batch.Put(Family::kRevisions, absl::StrCat("r", i), body(i, 'b'));
    ASSERT_TRUE(engine.Write(std::move(batch), true).ok());
  }
  auto blob_files = [&options] {
    std::set<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(options.path))
      if (e.path().extension() == ".blob") names.insert(e.path().string());
    return names;
  };
  const std::set<std::string> before = blob_files();
  ASSERT_FALSE(before.empty());
  ASSERT_TRUE(engine.CompactAll().ok());
  for (const std::string& name : before)
    EXPECT_TRUE(std::filesystem::exists(name)) << name << " deleted";

  KvReadOptions at;
  at.snapshot = snapshot.get();
  for (int i = 0; i < kRevisions; ++i) {
    std::string value;
    absl::Status s =
        engine.Get(Family::kRevisions, absl::StrCat("r", i), &value, at);
    ASSERT_TRUE(s.ok()) << "r" << i << ": " << s;
    EXPECT_EQ(value, body(i, 'a'));
  }
  snapshot.reset();  // the read-only open closes; deletions go on
  auto any_left = [&] {
    for (const std::string& name : before)
      if (std::filesystem::exists(name)) return true;
    return false;
  };
  for (int i = 0; i < 1000 && any_left(); ++i)
    absl::SleepFor(absl::Milliseconds(10));
  EXPECT_FALSE(any_left()) << "the relocated blob files were kept";
  std::string value;
  ASSERT_TRUE(engine.Get(Family::kRevisions, "r0", &value).ok());
  EXPECT_EQ(value, body(0, 'b'));
}

// Whether another process could take the write lock on `lock` now, as a
// second contentd's RocksDB open would (fcntl F_SETLK). Asked from a child
// process: any descriptor of LOCK this process closed would drop its own
// lock.
bool AnotherProcessCouldLock(const std::string& lock) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    const int fd = ::open(lock.c_str(), O_RDWR | O_CLOEXEC);
    struct flock fl = {};
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
    ::_exit(fd >= 0 && ::fcntl(fd, F_SETLK, &fl) == 0 ? 0 : 1);
  }
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid) return false;
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// A read-write open in place that fails (here: no file can be made though
// the volume says it has room) keeps LOCK. RocksDB's failed open closed its
// own descriptor of LOCK, which dropped this process's lock until it was
// taken back, and another contentd could open the directory read-write in
// between while this one still served it. After every failed try, before
// the engine looks at its lock again, no other process can take it.
TEST_F(SmallVolumeTest, AFailedReopenLetsNoOtherProcessTakeTheLock) {
  auto fs = std::make_shared<FullVolumeFs>();
  std::atomic<uint64_t> free_bytes{uint64_t{1} << 40};
  RocksKvOptions options = FullVolumeOptions(fs, &free_bytes, dir_ + "/db");
  absl::Status stopped;
  options.on_writes_stopped = [&stopped](const absl::Status& s) {
    stopped = s;
  };
  const std::string lock = options.path + "/LOCK";
  {
    absl::StatusOr<std::unique_ptr<KvEngine>> kv = OpenRocksKv(options);
    ASSERT_TRUE(kv.ok()) << kv.status();
    KvBatch batch;
    batch.Put(Family::kMeta, "a", "1");
    ASSERT_TRUE((*kv)->Write(std::move(batch), true).ok());
  }
  ASSERT_TRUE(AnotherProcessCouldLock(lock)) << "the probe cannot lock";
  std::atomic<int> failed_tries{0};
  std::atomic<int> taken{0};
  options.after_failed_reopen = [&] {
    if (AnotherProcessCouldLock(lock)) ++taken;
    ++failed_tries;
  };
  fs->full = true;
  free_bytes = 0;
  absl::StatusOr<std::unique_ptr<KvEngine>> kv = OpenRocksKv(options);
  ASSERT_TRUE(kv.ok()) << kv.status();
  KvEngine& engine = **kv;
  ASSERT_FALSE(engine.WritesRefused().ok());
  EXPECT_FALSE(AnotherProcessCouldLock(lock));
  // Room, says the volume; but the open cannot make its files.
  free_bytes = uint64_t{1} << 40;
  for (int i = 0; i < 1000 && failed_tries.load() < 3; ++i)
    absl::SleepFor(absl::Milliseconds(10));
  ASSERT_GE(failed_tries.load(), 3);
  EXPECT_EQ(taken.load(), 0) << "another process took LOCK after a failed "
                                "read-write open, while this one served it";
  EXPECT_FALSE(engine.WritesRefused().ok());
  EXPECT_TRUE(stopped.ok()) << stopped;

  fs->full = false;
  for (int i = 0; i < 1000 && !engine.WritesRefused().ok(); ++i)
    absl::SleepFor(absl::Milliseconds(10));
  ASSERT_TRUE(engine.WritesRefused().ok()) << engine.WritesRefused();
  EXPECT_TRUE(stopped.ok()) << stopped;
  KvBatch batch;
  batch.Put(Family::kMeta, "a", "2");
  ASSERT_TRUE(engine.Write(std::move(batch), true).ok());
  EXPECT_FALSE(AnotherProcessCouldLock(lock));
  kv->reset();
  EXPECT_TRUE(AnotherProcessCouldLock(lock));
}

// A figure of `engine`'s Stats, as a number (-1 if it has none).
int64_t StatOf(KvEngine& engine, const std::string& name) {
  for (const auto& [key, value] : engine.Stats()) {
    int64_t n = 0;
    if (key == name && absl::SimpleAtoi(value, &n)) return n;
  }
  return -1;
}

// Until the last read begun on the read-only open ends, both opens are in
// memory; they share one block cache, so block_cache_bytes still bounds
// it: blocks a read on the read-only open loads count in the read-write
// open's cache figures, whose capacity is the one configured.
TEST_F(SmallVolumeTest, BothOpensOfTheSwitchShareOneBlockCache) {
  auto fs = std::make_shared<FullVolumeFs>();
  std::atomic<uint64_t> free_bytes{uint64_t{1} << 40};
  RocksKvOptions options = FullVolumeOptions(fs, &free_bytes, dir_ + "/db");
  const int kKeys = 4096;  // 4 MiB of values, half the 8 MiB cache
  {
    absl::StatusOr<std::unique_ptr<KvEngine>> kv = OpenRocksKv(options);
    ASSERT_TRUE(kv.ok()) << kv.status();
    for (int i = 0; i < kKeys; i += 256) {
      KvBatch batch;
      for (int k = i; k < i + 256; ++k)
        batch.Put(Family::kMeta, absl::StrCat("k", 100000 + k),
                  std::string(1024, 'a' + k % 26));
      ASSERT_TRUE((*kv)->Write(std::move(batch), false).ok());
    }
    ASSERT_TRUE((*kv)->CompactAll().ok());  // into table files
  }
  fs->full = true;
  free_bytes = 0;
  absl::StatusOr<std::unique_ptr<KvEngine>> kv = OpenRocksKv(options);
  ASSERT_TRUE(kv.ok()) << kv.status();
  KvEngine& engine = **kv;
  std::unique_ptr<KvSnapshot> snapshot = engine.GetSnapshot();
  fs->full = false;
  free_bytes = uint64_t{1} << 40;
  for (int i = 0; i < 1000 && !engine.WritesRefused().ok(); ++i)
    absl::SleepFor(absl::Milliseconds(10));
  ASSERT_TRUE(engine.WritesRefused().ok()) << engine.WritesRefused();

  EXPECT_EQ(StatOf(engine, "rocksdb.block-cache-capacity"),
            static_cast<int64_t>(options.block_cache_bytes));
  const int64_t before = StatOf(engine, "rocksdb.block-cache-usage");
  ASSERT_GE(before, 0);
  KvReadOptions at;
  at.snapshot = snapshot.get();  // the read-only open's
  for (int k = 0; k < kKeys; ++k) {
    std::string value;
    ASSERT_TRUE(
        engine.Get(Family::kMeta, absl::StrCat("k", 100000 + k), &value, at)
            .ok());
  }
  const int64_t after = StatOf(engine, "rocksdb.block-cache-usage");
  EXPECT_GE(after - before, int64_t{2} << 20)
      << "the read-only open's reads did not fill the read-write open's "
         "cache: two caches ("
      << before << " -> " << after << " bytes)";
  EXPECT_LE(after, static_cast<int64_t>(options.block_cache_bytes));
}

// A store that stored no page-token key (a build before it did) whose
// volume is full at start opens read-only like any other: it failed in
// Store::Open trying to store the key. The key it makes is stored once
// the engine takes writes again, without a write of the store's, so that
// page tokens sealed meanwhile outlive a restart.
TEST_F(SmallVolumeTest, AStoreWithNoTokenKeyStartsOnAFullVolume) {
  auto fs = std::make_shared<FullVolumeFs>();
  std::atomic<uint64_t> free_bytes{uint64_t{1} << 40};
  RocksKvOptions kv_options = FullVolumeOptions(fs, &free_bytes, dir_ + "/db");
  StoreOptions options;
  options.data_dir = kv_options.path;
  auto open_store = [&]() -> absl::StatusOr<std::unique_ptr<Store>> {
    absl::StatusOr<std::unique_ptr<KvEngine>> kv = OpenRocksKv(kv_options);
    if (!kv.ok()) return kv.status();
    return Store::Open(*std::move(kv), options);
  };
  {
    absl::StatusOr<std::unique_ptr<Store>> store = open_store();
    ASSERT_TRUE(store.ok()) << store.status();
    v1::Article a;
    a.set_title("a");
    a.set_body("body\n");
    a.mutable_date()->set_seconds(1700000000);
    ASSERT_TRUE((*store)->Create("a", a).ok());
  }
  {
    absl::StatusOr<std::unique_ptr<KvEngine>> kv = OpenRocksKv(kv_options);
    ASSERT_TRUE(kv.ok()) << kv.status();
    KvBatch batch;
    batch.Delete(Family::kMeta, std::string(kTokenKeyKey));
    ASSERT_TRUE((*kv)->Write(std::move(batch), true).ok());
  }
  fs->full = true;
  free_bytes = 0;
  absl::StatusOr<std::unique_ptr<Store>> store = open_store();
  ASSERT_TRUE(store.ok()) << store.status();
  KvEngine& engine = *(*store)->engine();
  ASSERT_EQ(engine.WritesRefused().code(),
            absl::StatusCode::kResourceExhausted);
  const std::string key = (*store)->token_key();
  EXPECT_EQ(key.size(), 32u);
  EXPECT_TRUE((*store)->Get("a", 0, false).ok());
  std::string stored;
  EXPECT_TRUE(
      absl::IsNotFound(engine.Get(Family::kMeta, kTokenKeyKey, &stored)));

  fs->full = false;
  free_bytes = uint64_t{1} << 40;
  absl::Status found = engine.Get(Family::kMeta, kTokenKeyKey, &stored);
  for (int i = 0; i < 1000 && !found.ok(); ++i) {
    absl::SleepFor(absl::Milliseconds(10));
    found = engine.Get(Family::kMeta, kTokenKeyKey, &stored);
  }
  ASSERT_TRUE(found.ok()) << "the key was not stored once writes resumed: "
                          << found;
  EXPECT_EQ(stored, key);
  store->reset();
  store = open_store();
  ASSERT_TRUE(store.ok()) << store.status();
  EXPECT_EQ((*store)->token_key(), key);
}

// A file system with no room for table and blob files while `full` is
// set: a flush fails for want of room, the WAL takes writes.
class NoRoomForTablesFs : public rocksdb::FileSystemWrapper {
 public:
  NoRoomForTablesFs()
      : rocksdb::FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "NoRoomForTablesFs"; }
  rocksdb::IOStatus NewWritableFile(
      const std::string& name, const rocksdb::FileOptions& options,
      std::unique_ptr<rocksdb::FSWritableFile>* file,
      rocksdb::IODebugContext* dbg) override {
    if (full && (absl::EndsWith(name, ".sst") || absl::EndsWith(name, ".blob")))
      return rocksdb::IOStatus::NoSpace("injected: no room for a table");
    return target()->NewWritableFile(name, options, file, dbg);
  }
  std::atomic<bool> full{false};
};

// After a flush failed for want of room, a write tries it again only once
// the volume has an eighth of the memtables more free than that try had
// (at least 1 MiB): on a volume freed slowly, 1 MiB at a time, a step of
// 1 MiB made a try per MiB, each writing table files until the volume was
// full again.
TEST_F(SmallVolumeTest, AFlushRetryWaitsForAnEighthOfTheMemtablesMoreRoom) {
  auto fs = std::make_shared<NoRoomForTablesFs>();
  std::atomic<uint64_t> free_bytes{uint64_t{1} << 40};
  RocksKvOptions options;
  options.path = dir_ + "/db";
  options.block_cache_bytes = size_t{8} << 20;
  options.file_system = fs;
  options.free_space = [&free_bytes](const std::string&) {
    return absl::StatusOr<uint64_t>(free_bytes.load());
  };
  absl::StatusOr<std::unique_ptr<KvEngine>> kv = OpenRocksKv(options);
  ASSERT_TRUE(kv.ok()) << kv.status();
  KvEngine& engine = **kv;
  fs->full = true;
  constexpr uint64_t kMiB = uint64_t{1} << 20;
  // Fill the memtables until their flush fails and writes stop (the
  // volume's room as the write's own check sees it stays ample: only table
  // files find no room).
  const std::string value(64 << 10, 'v');
  absl::Status failed;
  for (int i = 0; i < 4096 && failed.ok(); ++i) {
    KvBatch batch;
    batch.Put(Family::kMeta, absl::StrCat("m", 100000 + i), value);
    failed = engine.Write(std::move(batch), false);
  }
  ASSERT_EQ(failed.code(), absl::StatusCode::kResourceExhausted) << failed;
  free_bytes = 2 * kMiB;
  auto write = [&engine] {
    KvBatch batch;
    batch.Put(Family::kMeta, "small", "x");
    return engine.Write(std::move(batch), false);
  };
  // The first write after tries the flush (and fails): the try's room is
  // 2 MiB.
  ASSERT_EQ(write().code(), absl::StatusCode::kResourceExhausted);
  const int64_t first = StatOf(engine, "rocksdb.write-resumes");
  ASSERT_GE(first, 1);
  const int64_t memtables = StatOf(engine, "rocksdb.cur-size-all-mem-tables");
  ASSERT_GE(memtables, int64_t{24} << 20);
  // Freed 1 MiB at a time, 16 times (less than the memtables: a flush of
  // them whole never fits), with a write at each step.
  const int kSteps = 16;
  for (int i = 1; i <= kSteps; ++i) {
    free_bytes = (2 + i) * kMiB;
    absl::Status s = write();
    EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
    EXPECT_EQ(ReasonOf(s), "DISK_FULL") << s;
  }
  const int64_t tries = StatOf(engine, "rocksdb.write-resumes") - first;
  const int64_t step = std::max<int64_t>(kMiB, memtables / 8);
  EXPECT_GE(tries, 1);
  EXPECT_LE(tries, kSteps * static_cast<int64_t>(kMiB) / step + 1)
      << "a flush retry per MiB freed (memtables: " << memtables << " bytes)";
  // Room: the next write flushes and goes through.
  fs->full = false;
  free_bytes = uint64_t{1} << 40;
  EXPECT_TRUE(write().ok());
}

// A retention pass syncs the WAL once when it ends, however it ends, not
// once per article: at about 6.7 ms a sync, a pass over 20k articles took
// 135 s on this project's VMs.
TEST(RetentionSyncTest, APassSyncsTheWalOnceWhenItEnds) {
  const char* tmp = getenv("TMPDIR");
  std::string pattern = absl::StrCat(
      tmp != nullptr && *tmp != '\0' ? tmp : "/tmp", "/retention_sync.XXXXXX");
  ASSERT_NE(mkdtemp(pattern.data()), nullptr);
  const std::string dir = pattern;
  auto fs = std::make_shared<WalFaultFs>();
  {
    RocksKvOptions kv_options;
    kv_options.path = dir;
    kv_options.block_cache_bytes = size_t{8} << 20;
    kv_options.file_system = fs;
    absl::StatusOr<std::unique_ptr<KvEngine>> kv = OpenRocksKv(kv_options);
    ASSERT_TRUE(kv.ok()) << kv.status();
    StoreOptions options;
    options.data_dir = dir;
    options.sync = true;
    absl::StatusOr<std::unique_ptr<Store>> store =
        Store::Open(*std::move(kv), options);
    ASSERT_TRUE(store.ok()) << store.status();
    for (int i = 0; i < 40; ++i) {
      const std::string id = absl::StrCat("a", i);
      v1::Article a;
      a.set_title(id);
      a.set_body("body\n");
      a.mutable_date()->set_seconds(1700000000 + i);
      ASSERT_TRUE((*store)->Create(id, a).ok());
      for (int r = 0; r < 2; ++r) {
        a.set_title(absl::StrCat(id, " ", r));
        ASSERT_TRUE((*store)->Update(id, a, {}).ok());
      }
    }
    RetentionPolicy policy;
    policy.keep_revisions = 1;

    // Stopped after 10 articles: what it removed is synced too.
    int asked = 0;
    int before = fs->wal_syncs.load();
    absl::StatusOr<RetentionResult> r =
        (*store)->ApplyRetention(policy, [&asked] { return ++asked > 10; });
    ASSERT_EQ(r.status().code(), absl::StatusCode::kCancelled) << r.status();
    EXPECT_GE(fs->wal_syncs.load() - before, 1);
    EXPECT_LE(fs->wal_syncs.load() - before, 2);

    before = fs->wal_syncs.load();
    r = (*store)->ApplyRetention(policy);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->revisions_removed, 60);
    EXPECT_GE(fs->wal_syncs.load() - before, 1);
    EXPECT_LE(fs->wal_syncs.load() - before, 2);  // it was one per article

    // Nothing to remove: nothing written, nothing synced.
    before = fs->wal_syncs.load();
    r = (*store)->ApplyRetention(policy);
    ASSERT_TRUE(r.ok()) << r.status();
    EXPECT_EQ(r->revisions_removed, 0);
    EXPECT_EQ(fs->wal_syncs.load(), before);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}

}  // namespace
}  // namespace content::store
