// Disk faults end to end: contentd's data directory on a small tmpfs the test
// mounts, which it then fills up or remounts read-only. Writes must fail with
// a clear status (RESOURCE_EXHAUSTED or UNAVAILABLE, never UNKNOWN or
// INTERNAL), reads must go on, nothing may be corrupted, and writes must work
// again once the disk is healthy, without a restart (also when the volume
// was full before contentd started). A backup to another volume works
// meanwhile.
//
// Mounting needs root (CI runs as root); elsewhere the tests skip.
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "content/client.h"
#include "gmock/gmock.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/security/credentials.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "server/store/keys.h"
#include "server/store/kv.h"
#include "server/store/rocksdb_kv.h"
#include "tests/support/ctl.h"
#include "tests/support/grpc_raw.h"
#include "tests/support/harness.h"

namespace content {
namespace {

using ::content::testing::RunCommand;
using ::content::testing::ServerProcess;
using ::content::testing::TempDir;
using ::testing::AnyOf;

// With `period`, the body repeats its first `period` bytes: it compresses
// about body_bytes / period times in a table file, not in the WAL.
v1::Article Make(const std::string& id, size_t body_bytes, size_t period = 0) {
  v1::Article a;
  a.set_name(ArticleName(id));
  a.set_title("磁盘 " + id);
  a.add_tags("disk");
  a.mutable_date()->set_seconds(1700000000);
  // Incompressible-ish text so the WAL and SSTs really grow.
  std::string body;
  uint64_t x = std::hash<std::string>()(id) | 1;
  while (body.size() < body_bytes) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    absl::StrAppend(&body, x, " ");
  }
  if (period > 0) {
    for (size_t i = period; i < body.size(); ++i) body[i] = body[i - period];
  }
  a.set_body(body);
  return a;
}

// The /metrics line of `metric` (its name and labels), "" if there is
// none, from the server whose log is `log` (the last start's port).
std::string MetricLine(const std::string& log, const std::string& metric) {
  const size_t at = log.rfind("metrics on http://127.0.0.1:");
  if (at == std::string::npos) return "";
  httplib::Client http("127.0.0.1", std::atoi(log.c_str() + at + 28));
  httplib::Result res = http.Get("/metrics");
  if (!res || res->status != 200) return "";
  for (absl::string_view line : absl::StrSplit(res->body, '\n')) {
    if (absl::StartsWith(line, metric)) return std::string(line);
  }
  return "";
}

class DiskFaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    mount_ = tmp_.path() + "/mnt";
    std::filesystem::create_directories(mount_);
    testing::CommandResult r =
        testing::MountTestTmpfs(mount_, absl::StrCat("size=", size_));
    if (r.exit_code != 0) {
      GTEST_SKIP() << "cannot mount a tmpfs (needs root): " << r.err;
    }
    mounted_ = true;
    // The mount itself is the data directory, so the server log (DIR.log)
    // lives outside the small filesystem.
    server_ = ServerProcess::Start(mount_, args_);
    ASSERT_NE(server_, nullptr);
    Connect();
  }
  // (Re)connects client_ to the server, with no retries.
  void Connect() {
    ClientOptions options;
    options.target = server_->address();
    options.max_attempts = 1;
    client_ = *Client::Connect(options);
  }
  void TearDown() override {
    if (HasFailure() && server_ != nullptr)
      std::cerr << "server log:\n" << server_->Log();
    client_.reset();
    server_.reset();
    if (mounted_) testing::UnmountTestTmpfs(mount_);
  }

  absl::StatusOr<v1::Article> Create(const std::string& id, size_t bytes) {
    v1::CreateArticleRequest r;
    r.set_article_id(id);
    *r.mutable_article() = Make(id, bytes, period_);
    return client_->CreateArticle(r);
  }

  // Fills the filesystem with a filler file until `leave` bytes are free.
  void Fill(uintmax_t leave = 16 << 10) {
    std::FILE* f = std::fopen((mount_ + "/filler").c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::string chunk(64 << 10, 'f');
    for (int i = 0; i < 4096; ++i) {  // at most 256 MiB, far above the size
      if (std::fwrite(chunk.data(), 1, chunk.size(), f) != chunk.size()) break;
      if (std::fflush(f) != 0) break;
    }
    std::fclose(f);
    // Leave a little room so the filler's own tail is not the only victim.
    std::filesystem::resize_file(
        mount_ + "/filler",
        std::filesystem::file_size(mount_ + "/filler") - leave);
  }

  // Fill, then the last bytes (`filler2`), so that nothing at all fits.
  void FillAll() {
    Fill();
    std::FILE* f = std::fopen((mount_ + "/filler2").c_str(), "wb");
    ASSERT_NE(f, nullptr);
    const std::string chunk(4096, 'f');
    for (int i = 0; i < 64; ++i) {
      if (std::fwrite(chunk.data(), 1, chunk.size(), f) != chunk.size() ||
          std::fflush(f) != 0) {
        break;
      }
    }
    std::fclose(f);
  }

  // The store on mount_, opened in this process while no contentd runs:
  // as an earlier build of contentd left it (EarlierBuildsStore), or to read
  // what it holds. Small, as the volume is.
  std::unique_ptr<store::KvEngine> OpenHere() {
    store::RocksKvOptions options;
    options.path = mount_;
    options.block_cache_bytes = size_t{8} << 20;
    options.write_buffer_bytes = size_t{4} << 20;
    absl::StatusOr<std::unique_ptr<store::KvEngine>> kv =
        store::OpenRocksKv(options);
    EXPECT_TRUE(kv.ok()) << kv.status();
    return kv.ok() ? *std::move(kv) : nullptr;
  }
  // The meta record `key` of the stored store, "(none)" if there is none.
  std::string MetaRecord(absl::string_view key) {
    std::unique_ptr<store::KvEngine> kv = OpenHere();
    if (kv == nullptr) return "(no store)";
    std::string value;
    absl::Status s = kv->Get(store::Family::kMeta, key, &value);
    return s.ok() ? value : "(none)";
  }
  // Makes the (stopped) store one of a build before the text_index record
  // and the layout marker: neither is stored. With `text_ids`, the text
  // postings of those (deleted) articles go back where layout 1 kept them,
  // under the deleted kind, where queries no longer look.
  void EarlierBuildsStore(const std::vector<std::string>& text_ids = {}) {
    std::unique_ptr<store::KvEngine> kv = OpenHere();
    ASSERT_NE(kv, nullptr);
    store::KvBatch old;
    old.Delete(store::Family::kMeta, std::string(store::kTextIndexKey));
    old.Delete(store::Family::kMeta, std::string(store::kFormatKey));
    std::unique_ptr<store::KvIterator> it =
        kv->NewIterator(store::Family::kPostings, {});
    int moved = 0;
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const std::string key(it->key());
      if (key[0] != static_cast<char>(store::IndexKind::kText)) continue;
      for (const std::string& id : text_ids) {
        if (!absl::EndsWith(key, id)) continue;
        std::string to = key;
        to[0] = static_cast<char>('x' | store::kDeletedBit);
        old.Delete(store::Family::kPostings, key);
        old.Put(store::Family::kPostings, to, it->value());
        ++moved;
      }
    }
    ASSERT_TRUE(it->status().ok()) << it->status();
    if (!text_ids.empty()) ASSERT_GT(moved, 0);
    ASSERT_TRUE(kv->Write(std::move(old), true).ok());
  }

  // Writes until one fails; returns that status (OK if none did).
  absl::Status WriteUntilFailure(int* acked) {
    for (int i = 0; i < 200; ++i) {
      absl::StatusOr<v1::Article> a =
          Create(absl::StrCat("fill", attempt_++), 64 << 10);
      if (!a.ok()) return a.status();
      acked_.push_back(ArticleId(a->name()));
      ++*acked;
    }
    return absl::OkStatus();
  }

  // Retries a write for up to `timeout` until the store accepts it again.
  absl::Status WriteAgain(absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    absl::Status s;
    for (int i = 0; i < 100 && absl::Now() < deadline; ++i) {
      absl::StatusOr<v1::Article> a =
          Create(absl::StrCat("again", attempt_++), 1024);
      if (a.ok()) {
        acked_.push_back(ArticleId(a->name()));
        return absl::OkStatus();
      }
      s = a.status();
      absl::SleepFor(absl::Milliseconds(100));
    }
    return s;
  }

  // Backs the store up into `dest` (off the full volume) while it is
  // full, and checks the copy: clean offline, and every acknowledged
  // article served from it, at the store's last sequence.
  void BackUpWhileFull(const std::string& dest) {
    absl::StatusOr<v1::GetStatsResponse> stats =
        client_->GetStats(v1::GetStatsRequest());
    ASSERT_TRUE(stats.ok()) << stats.status();
    v1::BackupStoreRequest request;
    request.set_destination(dest);
    absl::StatusOr<v1::BackupStoreResponse> backup =
        client_->BackupStore(request);
    ASSERT_TRUE(backup.ok()) << backup.status() << "\n" << server_->Log();
    EXPECT_EQ(backup->last_sequence(), stats->last_sequence());
    std::vector<std::string> check = {testing::ContentdBinary(), "--check",
                                      "--data-dir", dest};
    check.insert(check.end(), check_args_.begin(), check_args_.end());
    testing::CommandResult r = RunCommand(check);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    std::unique_ptr<ServerProcess> copy = ServerProcess::Start(dest, args_);
    ASSERT_NE(copy, nullptr);
    ClientOptions options;
    options.target = copy->address();
    options.max_attempts = 1;
    std::unique_ptr<Client> reader = *Client::Connect(options);
    for (const std::string& id : acked_) {
      absl::StatusOr<v1::Article> a = reader->Get(id);
      EXPECT_TRUE(a.ok()) << id << " is not in the backup: " << a.status();
    }
  }

  // Every acknowledged article is readable, and fsck is clean after a
  // clean stop.
  void VerifyIntact() {
    for (const std::string& id : acked_) {
      absl::StatusOr<v1::Article> a = client_->Get(id);
      EXPECT_TRUE(a.ok()) << id << ": " << a.status();
    }
    server_->Stop(SIGTERM);
    std::vector<std::string> check = {testing::ContentdBinary(), "--check",
                                      "--data-dir", mount_};
    check.insert(check.end(), check_args_.begin(), check_args_.end());
    testing::CommandResult r = RunCommand(check);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  }

  // The tmpfs's size and contentd's arguments; set in a derived fixture's
  // constructor.
  std::string size_ = "24m";
  std::vector<std::string> args_ = {"--metrics-listen", "127.0.0.1:0"};
  // And those of `contentd --check` (the store's settings).
  std::vector<std::string> check_args_;
  // Make's `period` for the bodies Create writes.
  size_t period_ = 0;
  TempDir tmp_;
  std::string mount_;
  bool mounted_ = false;
  std::unique_ptr<ServerProcess> server_;
  std::unique_ptr<Client> client_;
  std::vector<std::string> acked_;
  int attempt_ = 0;
};

TEST_F(DiskFaultTest, FullDiskFailsWritesClearlyAndRecoversWhenSpaceReturns) {
  ASSERT_TRUE(Create("before", 1024).ok());
  acked_.push_back("before");
  Fill();
  int acked = 0;
  absl::Status failed = WriteUntilFailure(&acked);
  ASSERT_FALSE(failed.ok()) << "the disk never filled up";
  EXPECT_THAT(failed.code(), AnyOf(absl::StatusCode::kResourceExhausted,
                                   absl::StatusCode::kUnavailable))
      << failed;
  EXPECT_FALSE(failed.message().empty());
  // Later writes keep failing clearly while the disk is full.
  absl::StatusOr<v1::Article> again = Create("while-full", 1024);
  ASSERT_FALSE(again.ok());
  EXPECT_THAT(again.status().code(), AnyOf(absl::StatusCode::kResourceExhausted,
                                           absl::StatusCode::kUnavailable))
      << again.status();
  // Reads go on: a Get and a query.
  absl::StatusOr<v1::Article> before = client_->Get("before");
  ASSERT_TRUE(before.ok()) << before.status();
  v1::QueryArticlesRequest q;
  q.mutable_query()->add_tags("disk");
  absl::StatusOr<v1::QueryArticlesResponse> page = client_->QueryArticles(q);
  ASSERT_TRUE(page.ok()) << page.status();
  EXPECT_GE(page->articles_size(), 1);

  std::filesystem::remove(mount_ + "/filler");
  absl::Status recovered = WriteAgain(absl::Seconds(20));
  EXPECT_TRUE(recovered.ok())
      << "writes did not recover after space returned: " << recovered << "\n"
      << server_->Log();
  VerifyIntact();
}

// An import of 100 new articles ingests their revisions, then fails to
// commit on a full disk; undoing the ingest fails too (it is a bigger write).
// That undo must happen before anything else is written: it used to be left
// for the next start, which then deleted the same keys written again in the
// meantime (here: the import retried once space returned), so every one of
// those articles read DATA_LOSS after a restart.
TEST_F(DiskFaultTest, AnUndoLeftByAFullDiskNeverDeletesLaterWrites) {
  ASSERT_TRUE(Create("before", 1024).ok());
  acked_.push_back("before");
  Fill();
  // About 1 MiB free: room for the ingested table, not for a commit (the
  // store keeps 2 MiB in reserve).
  std::filesystem::resize_file(
      mount_ + "/filler",
      std::filesystem::file_size(mount_ + "/filler") - (1 << 20));
  auto import = [&](int* created, absl::Status* first_error) {
    int next = 0;
    return client_->ImportArticles(
        [&](v1::ImportArticlesRequest* batch) {
          if (next > 0) return false;
          for (; next < 100; ++next) {
            *batch->add_articles() = Make(absl::StrCat("imp", next), 200);
          }
          return true;
        },
        [&](const v1::ImportArticlesResponse& r) {
          for (const auto& x : r.results()) {
            if (x.outcome() == v1::ImportResult::OUTCOME_CREATED) ++*created;
            if (x.outcome() == v1::ImportResult::OUTCOME_FAILED &&
                first_error->ok()) {
              *first_error = absl::Status(
                  static_cast<absl::StatusCode>(x.error_code()), x.error());
            }
          }
        });
  };
  int created = 0;
  absl::Status first_error;
  absl::Status s = import(&created, &first_error);
  ASSERT_EQ(created, 0) << "the import fit: the test needs a fuller disk";
  EXPECT_FALSE(s.ok() && first_error.ok());

  std::filesystem::remove(mount_ + "/filler");
  created = 0;
  first_error = absl::OkStatus();
  s = import(&created, &first_error);
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_EQ(created, 100) << first_error;
  for (int i = 0; i < 100; ++i) acked_.push_back(absl::StrCat("imp", i));

  // A restart settles whatever ingest was left; every article survives it.
  server_->Stop(SIGTERM);
  ASSERT_TRUE(server_->Restart());
  ClientOptions options;
  options.target = server_->address();
  options.timeout = absl::Seconds(10);
  client_ = *Client::Connect(options);
  VerifyIntact();
}

// `admin compact --storage` is what reclaims space, so it gets run on a
// nearly full disk. Its compaction of revision bodies then failed with
// ENOSPC, and RocksDB 7.8's info logger, writing the failure to DIR/LOG
// through a WritableFileWriter whose last append had failed, hit that
// writer's assertion: contentd aborted. It must instead say there is not
// enough room (RESOURCE_EXHAUSTED, not a retryable UNAVAILABLE "Compaction
// too large: "), keep serving reads and writes, and compact once there is
// room.
TEST_F(DiskFaultTest, CompactionOnAFullDiskSaysSoAndKeepsServing) {
  // About 2 MiB of revision bodies for the compaction to flush and rewrite.
  for (int i = 0; i < 32; ++i) {
    const std::string id = absl::StrCat("big", i);
    ASSERT_TRUE(Create(id, 64 << 10).ok()) << id;
    acked_.push_back(id);
  }
  Fill();
  v1::CompactStoreRequest compact;
  compact.set_storage(true);
  absl::StatusOr<v1::CompactStoreResponse> r = client_->CompactStore(compact);
  ASSERT_FALSE(r.ok()) << "the compaction fit: the test needs a fuller disk";
  EXPECT_EQ(r.status().code(), absl::StatusCode::kResourceExhausted)
      << r.status();
  EXPECT_THAT(r.status().message(),
              ::testing::HasSubstr("not enough disk space to compact"));
  EXPECT_THAT(r.status().message(), ::testing::HasSubstr(mount_));
  // Still serving: reads now, and writes once there is room.
  absl::StatusOr<v1::Article> read = client_->Get("big0");
  ASSERT_TRUE(read.ok()) << read.status() << "\n" << server_->Log();
  std::filesystem::remove(mount_ + "/filler");
  ASSERT_TRUE(WriteAgain(absl::Seconds(20)).ok()) << server_->Log();
  r = client_->CompactStore(compact);
  EXPECT_TRUE(r.ok()) << r.status();
  VerifyIntact();
}

// A volume that fills up between two flushes: the writes fit in the WAL and
// the memtables, then the memtable's flush to a table file, in the
// background, meets ENOSPC. RocksDB stops writes (a hard error) and, left
// to itself, resumes only once its file manager finds a whole write buffer
// (32 MiB) free, which this volume never has again: every write was
// UNAVAILABLE "recovering from an earlier write error; retry", until a
// restart, with health SERVING. Writes must be refused as a full disk,
// reads go on, writes resume by themselves once there is room for the
// flush, and every acknowledged write survives a kill -9.
class FlushDiskFaultTest : public DiskFaultTest {
 protected:
  FlushDiskFaultTest() {
    // Room for a memtable's worth of WAL (32 MiB), and for its flush (the
    // bodies compress about 4 times there) only once the filler is gone;
    // without the text index a write is about its body.
    size_ = "48m";
    period_ = 16 << 10;
    check_args_ = {"--config", config_.path() + "/contentd.yaml"};
    args_.insert(args_.end(), check_args_.begin(), check_args_.end());
    std::ofstream(config_.path() + "/contentd.yaml") << "text_index: false\n";
  }
  TempDir config_;
};

TEST_F(FlushDiskFaultTest, AFlushOnAFullVolumeStopsWritesUntilThereIsRoom) {
  // About 28 MiB of revision bodies, in the WAL and the revisions family's
  // memtable, which is flushed at 32 MiB.
  auto wal_bytes = [&] {
    uintmax_t bytes = 0;
    for (const auto& f : std::filesystem::directory_iterator(mount_)) {
      if (f.path().extension() == ".log") bytes += f.file_size();
    }
    return bytes;
  };
  for (int i = 0; wal_bytes() < (uintmax_t{28} << 20); ++i) {
    ASSERT_LT(i, 1000) << "the WAL does not grow";
    const std::string id = absl::StrCat("m", i);
    ASSERT_TRUE(Create(id, 64 << 10).ok()) << id;
    acked_.push_back(id);
  }
  // Room for the writes that fill the memtable (and the 2 MiB a write keeps
  // free), not for its flush.
  Fill(/*leave=*/6 << 20);
  int acked = 0;
  absl::Status failed = WriteUntilFailure(&acked);
  ASSERT_FALSE(failed.ok()) << "the disk never filled up";
  // The flush runs in the background, its table file taking the room
  // meanwhile (so a write may first be refused by the space check before
  // it); small writes go on until it fails (bounded: a minute).
  const absl::Time deadline = absl::Now() + absl::Minutes(1);
  while (!absl::StrContains(failed.message(), "No space left") &&
         absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(50));
    const std::string id = absl::StrCat("small", attempt_++);
    absl::StatusOr<v1::Article> a = Create(id, 1024);
    if (a.ok()) acked_.push_back(id);
    failed = a.status();
  }
  // The flush failed: writes are refused as a full disk.
  EXPECT_THAT(failed.message(), ::testing::HasSubstr("No space left"))
      << failed;
  EXPECT_EQ(failed.code(), absl::StatusCode::kResourceExhausted) << failed;
  EXPECT_EQ(ErrorReason(failed), "DISK_FULL") << failed;
  // Later writes are refused alike, saying what to do.
  for (int i = 0; i < 3; ++i) {
    absl::StatusOr<v1::Article> again = Create("while-full", 1024);
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(again.status().code(), absl::StatusCode::kResourceExhausted)
        << again.status();
    EXPECT_EQ(ErrorReason(again.status()), "DISK_FULL") << again.status();
    EXPECT_THAT(again.status().message(), ::testing::HasSubstr(mount_));
    absl::SleepFor(absl::Milliseconds(200));
  }
  // Reads go on, and health stays SERVING: a restart would not help.
  for (const std::string& id : acked_) {
    absl::StatusOr<v1::Article> a = client_->Get(id);
    ASSERT_TRUE(a.ok()) << id << ": " << a.status();
  }
  std::shared_ptr<grpc::Channel> channel = grpc::CreateChannel(
      server_->address(), grpc::InsecureChannelCredentials());
  int serving = 0;
  ASSERT_TRUE(testing::CheckHealth(*channel, "", &serving).ok());
  EXPECT_EQ(serving, 1);
  // Not read-only: writes come back without a restart.
  absl::StatusOr<v1::GetStatsResponse> stats =
      client_->GetStats(v1::GetStatsRequest());
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_FALSE(stats->read_only());

  // While the volume stays full, writes do not make the store retry the
  // flush: each retry wrote table files until the volume was full again,
  // then deleted them, and one came every 5 s while writes were tried. So
  // writes for 7 s, and no flush is retried (GetStats counts them).
  auto resumes = [&]() -> std::string {
    absl::StatusOr<v1::GetStatsResponse> s =
        client_->GetStats(v1::GetStatsRequest());
    if (!s.ok()) return s.status().ToString();
    auto it = s->storage().find("rocksdb.write-resumes");
    return it == s->storage().end() ? "absent" : it->second;
  };
  const std::string resumes_before = resumes();
  EXPECT_NE(resumes_before, "absent");
  for (int i = 0; i < 28; ++i) {
    absl::SleepFor(absl::Milliseconds(250));
    absl::StatusOr<v1::Article> again = Create("still-full", 1024);
    ASSERT_FALSE(again.ok());
    EXPECT_EQ(ErrorReason(again.status()), "DISK_FULL") << again.status();
  }
  EXPECT_EQ(resumes(), resumes_before);

  // A backup to a volume with room works meanwhile (the checkpoint's flush
  // failed on the full volume): it is how an operator saves the data
  // before freeing space. Writes stay refused, and resume as below.
  BackUpWhileFull(tmp_.path() + "/backup");
  EXPECT_EQ(Create("after-backup", 1024).status().code(),
            absl::StatusCode::kResourceExhausted);

  // Room for the flush, though less than a whole write buffer.
  std::filesystem::remove(mount_ + "/filler");
  absl::Status recovered = WriteAgain(absl::Seconds(30));
  ASSERT_TRUE(recovered.ok())
      << "writes did not recover after space returned: " << recovered << "\n"
      << server_->Log();
  ASSERT_TRUE(testing::CheckHealth(*channel, "", &serving).ok());
  EXPECT_EQ(serving, 1);

  // Every acknowledged write survives a kill -9.
  client_.reset();
  server_->Stop(SIGKILL);
  ASSERT_TRUE(server_->Restart()) << server_->Log();
  Connect();
  VerifyIntact();
}

// A volume with no room at all: the read-write open cannot write its new
// MANIFEST, OPTIONS file and WAL. contentd used to exit 1 there (aborting
// in RocksDB's info logger before that), serving nothing, until space was
// freed. It opens the store read-only instead: every acknowledged write is
// read, writes are refused naming the disk, a backup to another volume
// works, and another contentd cannot open the directory meanwhile. Once
// the volume has room it takes writes again by itself, in place: health
// stays SERVING throughout and a watcher open across the switch goes on
// (until 2026-12-05, health turned NOT_SERVING for a restart to take
// writes).
TEST_F(DiskFaultTest, StartOnAFullVolumeServesReadsThenWritesOnceThereIsRoom) {
  ASSERT_TRUE(Create("before", 1024).ok());
  acked_.push_back("before");
  client_.reset();
  ASSERT_EQ(server_->Stop(SIGTERM), 0) << server_->Log();
  ASSERT_NO_FATAL_FAILURE(FillAll());
  ASSERT_TRUE(server_->Restart()) << server_->Log();
  EXPECT_THAT(server_->Log(), ::testing::HasSubstr("serving reads only"));
  EXPECT_THAT(server_->Log(),
              ::testing::Not(::testing::HasSubstr("Assertion")));
  Connect();
  absl::StatusOr<v1::Article> read = client_->Get("before");
  ASSERT_TRUE(read.ok()) << read.status();
  absl::StatusOr<v1::Article> refused = Create("while-full", 1024);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted)
      << refused.status();
  EXPECT_THAT(refused.status().message(), ::testing::HasSubstr("disk full"));
  EXPECT_THAT(refused.status().message(), ::testing::HasSubstr(mount_));
  EXPECT_THAT(refused.status().message(),
              ::testing::HasSubstr("takes writes again by itself"));
  EXPECT_EQ(ErrorReason(refused.status()), "DISK_FULL");

  std::shared_ptr<grpc::Channel> channel = grpc::CreateChannel(
      server_->address(), grpc::InsecureChannelCredentials());
  int serving = 0;
  ASSERT_TRUE(testing::CheckHealth(*channel, "", &serving).ok());
  EXPECT_EQ(serving, 1) << "reads are served: not a case for a restart";

  // Stats and /metrics say so, with the reason writes get.
  absl::StatusOr<v1::GetStatsResponse> stats =
      client_->GetStats(v1::GetStatsRequest());
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_TRUE(stats->read_only());
  EXPECT_EQ(stats->read_only_reason(), "DISK_FULL");
  EXPECT_EQ(stats->read_only_message(), refused.status().message());
  testing::CommandResult shown = testing::Ctl(*server_, {"admin", "stats"});
  EXPECT_EQ(shown.exit_code, 0) << shown.err;
  EXPECT_THAT(shown.out,
              ::testing::HasSubstr(absl::StrCat(
                  "read-only:         yes (DISK_FULL): storage: disk full: "
                  "the volume of ",
                  mount_)));
  EXPECT_EQ(MetricLine(server_->Log(), "contentd_store_read_only"),
            "contentd_store_read_only{reason=\"DISK_FULL\"} 1");

  // A backup to a volume with room works (it was refused: a backup
  // flushed the memtables first, on the full volume).
  BackUpWhileFull(tmp_.path() + "/backup");

  // The store is in use: a second contentd must not open it read-write.
  auto second_contentd = [&] {
    return RunCommand(
        {testing::ContentdBinary(), "--listen", "127.0.0.1:0", "--data-dir",
         mount_, "--port-file", tmp_.path() + "/second.port"},
        "", {}, std::chrono::seconds(60));
  };
  testing::CommandResult second = second_contentd();
  EXPECT_NE(second.exit_code, 0) << second.out << second.err;
  EXPECT_THAT(second.err, ::testing::HasSubstr("in use"));

  // A watcher open across the switch to read-write keeps its stream.
  std::atomic<int> lost{0};
  WatchHooks hooks;
  hooks.on_lost = [&](const absl::Status&, int64_t) { ++lost; };
  // A "now" watch sees only what is written after its stream started.
  absl::Notification started;
  hooks.on_started = [&](int64_t) { started.Notify(); };
  WatchCanceller canceller;
  std::promise<absl::Status> watched;
  std::atomic<bool> saw_after{false};
  std::thread watcher([&] {
    v1::WatchArticlesRequest w;
    w.set_start_now(true);
    watched.set_value(client_->Watch(
        w,
        [&](const v1::WatchArticlesResponse& r) {
          if (ArticleId(r.event().name()) == "after-room") saw_after = true;
          return !saw_after;
        },
        &canceller, hooks));
  });
  // Joined however the test ends.
  absl::Cleanup join_watcher = [&] {
    canceller.Cancel();
    watcher.join();
  };
  ASSERT_TRUE(started.WaitForNotificationWithTimeout(absl::Seconds(30)))
      << "the watch never started";

  std::filesystem::remove(mount_ + "/filler");
  std::filesystem::remove(mount_ + "/filler2");
  // The volume is checked every 5 s; writes come back without a restart.
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  absl::StatusOr<v1::Article> after = Create("after-room", 1024);
  while (!after.ok() && absl::Now() < deadline) {
    EXPECT_EQ(after.status().code(), absl::StatusCode::kResourceExhausted)
        << after.status();
    absl::SleepFor(absl::Milliseconds(200));
    after = Create("after-room", 1024);
  }
  ASSERT_TRUE(after.ok()) << after.status() << "\n" << server_->Log();
  acked_.push_back("after-room");
  EXPECT_THAT(server_->Log(),
              ::testing::HasSubstr("contentd: taking writes again"));
  EXPECT_THAT(server_->Log(),
              ::testing::Not(::testing::HasSubstr("health NOT_SERVING")));
  ASSERT_TRUE(testing::CheckHealth(*channel, "", &serving).ok());
  EXPECT_EQ(serving, 1);
  std::future<absl::Status> watch_done = watched.get_future();
  if (watch_done.wait_for(std::chrono::seconds(30)) !=
      std::future_status::ready) {
    canceller.Cancel();
  }
  std::move(join_watcher).Invoke();
  EXPECT_TRUE(saw_after) << "the watcher missed the write after the switch";
  EXPECT_TRUE(watch_done.get().ok());
  EXPECT_EQ(lost.load(), 0) << "the watcher's stream was cut";

  stats = client_->GetStats(v1::GetStatsRequest());
  ASSERT_TRUE(stats.ok()) << stats.status();
  EXPECT_FALSE(stats->read_only());
  EXPECT_EQ(stats->read_only_reason(), "");
  EXPECT_EQ(MetricLine(server_->Log(), "contentd_store_read_only"),
            "contentd_store_read_only 0");
  // Still this contentd's alone.
  second = second_contentd();
  EXPECT_NE(second.exit_code, 0) << second.out << second.err;
  EXPECT_THAT(second.err, ::testing::HasSubstr("in use"));
  ASSERT_TRUE(WriteAgain(absl::Seconds(10)).ok());
  VerifyIntact();
}

// The usual way a full disk meets a start: the volume filled up, contentd
// was restarted. The WAL it replays used to be flushed to new table and
// blob files at open, as many bytes again as it holds: on the full volume
// that failed ("No space left on device") and contentd could not start,
// not even to serve reads. It must start, serve reads, refuse writes
// clearly, and take them again once there is room.
TEST_F(DiskFaultTest, AStoreWhoseVolumeFilledUpStartsAndServesReads) {
  // About 4 MiB of revision bodies, left in the WAL by a clean stop.
  for (int i = 0; i < 64; ++i) {
    const std::string id = absl::StrCat("big", i);
    ASSERT_TRUE(Create(id, 64 << 10).ok()) << id;
    acked_.push_back(id);
  }
  client_.reset();
  ASSERT_EQ(server_->Stop(SIGTERM), 0) << server_->Log();
  // Room for the files any open writes (a MANIFEST, OPTIONS, a WAL), not
  // for the WAL's flush.
  Fill(/*leave=*/1 << 20);
  ASSERT_TRUE(server_->Restart()) << server_->Log();
  Connect();
  for (const std::string& id : acked_) {
    absl::StatusOr<v1::Article> a = client_->Get(id);
    ASSERT_TRUE(a.ok()) << id << ": " << a.status();
  }
  absl::StatusOr<v1::Article> refused = Create("while-full", 64 << 10);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), absl::StatusCode::kResourceExhausted)
      << refused.status();
  EXPECT_THAT(refused.status().message(), ::testing::HasSubstr("disk full"));

  std::filesystem::remove(mount_ + "/filler");
  ASSERT_TRUE(WriteAgain(absl::Seconds(20)).ok()) << server_->Log();
  VerifyIntact();
}

// A store of a build before the text_index record and the layout marker,
// started on a full volume, serves reads read-only like any other store (it
// exited: recording them failed DISK_FULL): reads do not need them, and
// they are stored with the first write once there is room, so none is
// stored without them. Both ways a full volume meets a start: opened
// read-only (no room to open for writing), and opened for writing with too
// little room for a write.
TEST_F(DiskFaultTest, AnEarlierBuildsStoreStartsOnAFullVolumeAndRecordsLater) {
  ASSERT_TRUE(Create("before", 1024).ok());
  acked_.push_back("before");
  client_.reset();
  ASSERT_EQ(server_->Stop(SIGTERM), 0) << server_->Log();
  for (const bool read_only : {true, false}) {
    SCOPED_TRACE(read_only ? "opened read-only" : "opened for writing");
    ASSERT_NO_FATAL_FAILURE(EarlierBuildsStore());
    if (read_only) {
      ASSERT_NO_FATAL_FAILURE(FillAll());
    } else {
      Fill(/*leave=*/1 << 20);
    }
    const size_t logged = server_->Log().size();  // the log is appended to
    ASSERT_TRUE(server_->Restart()) << server_->Log();
    const std::string log = server_->Log().substr(logged);
    EXPECT_EQ(log.find("serving reads only") != std::string::npos, read_only)
        << log;
    EXPECT_THAT(log, ::testing::HasSubstr(
                         "contentd: the volume is full: the store's "
                         "text_index setting and its layout marker will be "
                         "written with the first write once there is room"));
    Connect();
    for (const std::string& id : acked_) {
      absl::StatusOr<v1::Article> a = client_->Get(id);
      EXPECT_TRUE(a.ok()) << id << ": " << a.status();
    }
    absl::StatusOr<v1::Article> refused = Create("while-full", 64 << 10);
    ASSERT_FALSE(refused.ok());
    EXPECT_EQ(ErrorReason(refused.status()), "DISK_FULL") << refused.status();
    std::filesystem::remove(mount_ + "/filler");
    std::filesystem::remove(mount_ + "/filler2");
    ASSERT_TRUE(WriteAgain(absl::Seconds(60)).ok()) << server_->Log();
    client_.reset();
    ASSERT_EQ(server_->Stop(SIGTERM), 0) << server_->Log();
    EXPECT_EQ(MetaRecord(store::kTextIndexKey), "1");
    EXPECT_EQ(MetaRecord(store::kFormatKey), absl::StrCat(store::kStoreFormat));
  }
  ASSERT_TRUE(server_->Restart()) << server_->Log();
  Connect();
  VerifyIntact();
}

// A layout 3 store (from before the expiry list) with an expired article,
// started on a full volume: the list cannot be built, so a query of expired
// articles walks them all and still finds it, and the store stays layout 3
// once there is room to write; the next start builds the list, records
// layout 4, and the query reads the list.
TEST_F(DiskFaultTest,
       ALayoutThreeStoreBuildsItsExpiryListAtTheNextStartWithRoom) {
  const int64_t now = absl::ToUnixSeconds(absl::Now());
  v1::CreateArticleRequest r;
  r.set_article_id("expired");
  *r.mutable_article() = Make("expired", 1024, period_);
  r.mutable_article()->set_state(v1::Article::PUBLISHED);
  r.mutable_article()->mutable_publish_time()->set_seconds(now - 7200);
  r.mutable_article()->mutable_expiry_time()->set_seconds(now - 3600);
  ASSERT_TRUE(client_->CreateArticle(r).ok());  // not live: no plain Get
  ASSERT_TRUE(Create("kept", 1024).ok());
  acked_.push_back("kept");
  client_.reset();
  ASSERT_EQ(server_->Stop(SIGTERM), 0) << server_->Log();
  // What a layout 3 build left: the marker says 3 and there is no `y` list.
  const std::string expiry_kind(1,
                                static_cast<char>(store::IndexKind::kExpiry));
  auto expiry_entries = [&] {
    std::unique_ptr<store::KvEngine> kv = OpenHere();
    std::vector<std::string> keys;
    if (kv == nullptr) return keys;
    std::unique_ptr<store::KvIterator> it =
        kv->NewIterator(store::Family::kPostings, {});
    for (it->Seek(expiry_kind);
         it->Valid() && absl::StartsWith(it->key(), expiry_kind); it->Next())
      keys.emplace_back(it->key());
    EXPECT_TRUE(it->status().ok()) << it->status();
    return keys;
  };
  {
    const std::vector<std::string> listed = expiry_entries();
    ASSERT_EQ(listed.size(), 1u);
    std::unique_ptr<store::KvEngine> kv = OpenHere();
    ASSERT_NE(kv, nullptr);
    store::KvBatch earlier;
    earlier.Delete(store::Family::kPostings, listed[0]);
    earlier.Put(store::Family::kMeta, std::string(store::kFormatKey), "3");
    ASSERT_TRUE(kv->Write(std::move(earlier), true).ok());
  }
  auto expired_ids = [&] {
    v1::QueryArticlesRequest q;
    q.mutable_query()->add_windows(v1::Query::PUBLISH_WINDOW_EXPIRED);
    q.mutable_query()->set_visibility(v1::VISIBILITY_ALL);
    std::vector<std::string> ids;
    absl::StatusOr<v1::QueryArticlesResponse> page = client_->QueryArticles(q);
    EXPECT_TRUE(page.ok()) << page.status();
    if (!page.ok()) return ids;
    for (const v1::Article& a : page->articles())
      ids.push_back(ArticleId(a.name()));
    EXPECT_EQ(page->next_page_token(), "");
    return ids;
  };

  ASSERT_NO_FATAL_FAILURE(FillAll());
  size_t logged = server_->Log().size();
  ASSERT_TRUE(server_->Restart()) << server_->Log();
  std::string log = server_->Log().substr(logged);
  EXPECT_THAT(log, ::testing::HasSubstr(
                       "contentd: the volume is full: the expiry list is "
                       "built at the next start with room"))
      << log;
  Connect();
  EXPECT_THAT(expired_ids(), ::testing::ElementsAre("expired"));
  std::filesystem::remove(mount_ + "/filler");
  std::filesystem::remove(mount_ + "/filler2");
  ASSERT_TRUE(WriteAgain(absl::Seconds(60)).ok()) << server_->Log();
  EXPECT_THAT(expired_ids(), ::testing::ElementsAre("expired"));
  client_.reset();
  ASSERT_EQ(server_->Stop(SIGTERM), 0) << server_->Log();
  // Room returned while it served; the list waits for a start.
  EXPECT_EQ(MetaRecord(store::kFormatKey), "3");
  EXPECT_THAT(expiry_entries(), ::testing::IsEmpty());

  logged = server_->Log().size();
  ASSERT_TRUE(server_->Restart()) << server_->Log();
  log = server_->Log().substr(logged);
  EXPECT_THAT(log, ::testing::HasSubstr(
                       "contentd: built the expiry list that queries of "
                       "expired articles read (1 article with an expiry "
                       "time)"))
      << log;
  Connect();
  EXPECT_THAT(expired_ids(), ::testing::ElementsAre("expired"));
  VerifyIntact();  // stops it, then checks the store
  EXPECT_EQ(MetaRecord(store::kFormatKey), absl::StrCat(store::kStoreFormat));
  EXPECT_THAT(expiry_entries(), ::testing::SizeIs(1));
}

// A store of layout 1 keeps the text postings of deleted and unpublished
// articles where queries no longer look: until they move, text queries
// would leave those articles out. On a full volume, where they cannot move,
// contentd does not start (rather than serve wrong answers), saying so and
// what room the move needs; with room it moves them and serves.
TEST_F(DiskFaultTest, ALayoutOneStoreWhoseTextPostingsCannotMoveDoesNotStart) {
  ASSERT_TRUE(Create("kept", 1024).ok());
  acked_.push_back("kept");
  ASSERT_TRUE(Create("gone", 1024).ok());
  v1::DeleteArticleRequest del;
  del.set_name(ArticleName("gone"));
  ASSERT_TRUE(client_->DeleteArticle(del).ok());
  client_.reset();
  ASSERT_EQ(server_->Stop(SIGTERM), 0) << server_->Log();
  ASSERT_NO_FATAL_FAILURE(EarlierBuildsStore({"gone"}));
  ASSERT_NO_FATAL_FAILURE(FillAll());
  EXPECT_FALSE(server_->Restart()) << server_->Log();
  const std::string log = server_->Log();
  EXPECT_THAT(log, ::testing::HasSubstr("text postings (")) << log;
  EXPECT_THAT(log, ::testing::HasSubstr(
                       "bytes) of deleted or unpublished articles must move to "
                       "where queries look for them before it can serve (text "
                       "queries would leave those articles out): that takes "
                       "writes, and the volume is full. Free about "))
      << log;
  EXPECT_THAT(log, ::testing::Not(::testing::HasSubstr("Assertion")));
  std::filesystem::remove(mount_ + "/filler");
  std::filesystem::remove(mount_ + "/filler2");
  ASSERT_TRUE(server_->Restart()) << server_->Log();
  EXPECT_THAT(server_->Log(),
              ::testing::HasSubstr("text postings of deleted or unpublished "
                                   "articles into the text lists"));
  Connect();
  VerifyIntact();
}

// A store a newer build wrote (a higher layout marker) is refused with exit
// 2, which the systemd unit does not restart (RestartPreventExitStatus=2):
// a restart would be refused again. It exited 1 and was started every 2 s.
// (Not a disk fault: here for the engine opened in this process.)
TEST_F(DiskFaultTest, AStoreOfANewerLayoutIsRefusedWithExit2) {
  ASSERT_TRUE(Create("kept", 1024).ok());
  client_.reset();
  ASSERT_EQ(server_->Stop(SIGTERM), 0) << server_->Log();
  const std::string newer = absl::StrCat(store::kStoreFormat + 1);
  {
    std::unique_ptr<store::KvEngine> kv = OpenHere();
    ASSERT_NE(kv, nullptr);
    store::KvBatch b;
    b.Put(store::Family::kMeta, std::string(store::kFormatKey), newer);
    ASSERT_TRUE(kv->Write(std::move(b), true).ok());
  }
  testing::CommandResult r =
      RunCommand({testing::ContentdBinary(), "--listen", "127.0.0.1:0",
                  "--data-dir", mount_, "--storage-engine", "rocksdb"},
                 "", {}, std::chrono::seconds(60));
  EXPECT_FALSE(r.timed_out) << "contentd served:\n" << r.err;
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_THAT(r.err, ::testing::HasSubstr(absl::StrCat(
                         "the store has layout version ", newer,
                         ", newer than this build's ", store::kStoreFormat)));
  EXPECT_THAT(r.err, ::testing::Not(::testing::HasSubstr("serving on")));
  // Said in words, without the ErrorInfo's bytes (Status::ToString's).
  EXPECT_THAT(r.err, ::testing::Not(::testing::HasSubstr("type.googleapis")));
  r = RunCommand({testing::ContentdBinary(), "--check", "--data-dir", mount_},
                 "", {}, std::chrono::seconds(60));
  EXPECT_EQ(r.exit_code, 1) << r.err;
  EXPECT_THAT(r.err, ::testing::HasSubstr(absl::StrCat(
                         "contentd: FAILED_PRECONDITION: the store has layout "
                         "version ",
                         newer)));
  EXPECT_THAT(r.err, ::testing::Not(::testing::HasSubstr("type.googleapis")));
}

// A backup whose destination volume fills up fails naming the
// destination (reason DESTINATION_FULL, metadata destination, free_bytes
// and needed_bytes): it failed RESOURCE_EXHAUSTED (DISK_FULL) `storage: IO
// error: No space left on device ...`, as the store's own volume does when
// writes stop, while the store's volume had room and writes went on. Both
// ways a backup is made: a checkpoint, and the file copy of a store opened
// read-only on a full volume. Nothing is left in the destination.
TEST_F(DiskFaultTest, ABackupToAFullVolumeSaysTheDestinationIsFull) {
  // About 6 MiB of revision bodies; the destination has 1 MiB.
  for (int i = 0; i < 96; ++i) {
    const std::string id = absl::StrCat("big", i);
    ASSERT_TRUE(Create(id, 64 << 10).ok()) << id;
    acked_.push_back(id);
  }
  const std::string dest_mount = tmp_.path() + "/dest";
  std::filesystem::create_directories(dest_mount);
  testing::CommandResult mounted =
      testing::MountTestTmpfs(dest_mount, "size=1m");
  ASSERT_EQ(mounted.exit_code, 0) << mounted.err;
  absl::Cleanup unmount = [&] { testing::UnmountTestTmpfs(dest_mount); };
  const std::string dest = dest_mount + "/backup";
  auto expect_destination_full = [&](const absl::Status& s) {
    EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
    EXPECT_EQ(ErrorReason(s), "DESTINATION_FULL") << s;
    std::map<std::string, std::string> metadata = ErrorMetadata(s);
    EXPECT_EQ(metadata["destination"], dest) << s;
    int64_t free_bytes = -1, needed_bytes = -1;
    EXPECT_TRUE(absl::SimpleAtoi(metadata["free_bytes"], &free_bytes)) << s;
    EXPECT_TRUE(absl::SimpleAtoi(metadata["needed_bytes"], &needed_bytes)) << s;
    EXPECT_GT(needed_bytes, free_bytes) << s;
    EXPECT_LE(free_bytes, 1 << 20) << s;
    EXPECT_THAT(s.message(), ::testing::HasSubstr(absl::StrCat(
                                 "destination: no room for the backup in ",
                                 dest, ": its volume has")));
    EXPECT_THAT(s.message(),
                ::testing::HasSubstr(absl::StrCat("The store's own volume (",
                                                  mount_, ") is another")));
    EXPECT_FALSE(std::filesystem::exists(dest));
    EXPECT_FALSE(std::filesystem::exists(dest + ".tmp"));
  };
  v1::BackupStoreRequest request;
  request.set_destination(dest);
  absl::StatusOr<v1::BackupStoreResponse> backup =
      client_->BackupStore(request);
  ASSERT_FALSE(backup.ok()) << "the backup fit: the test needs a fuller "
                               "destination";
  expect_destination_full(backup.status());
  // The store takes writes on; contentctl says what is full, and under
  // -o json gives the reason.
  ASSERT_TRUE(Create("after-backup", 1024).ok());
  acked_.push_back("after-backup");
  testing::CommandResult shown =
      testing::Ctl(*server_, {"admin", "backup", dest});
  EXPECT_NE(shown.exit_code, 0);
  EXPECT_THAT(shown.err,
              ::testing::HasSubstr(absl::StrCat(
                  "RESOURCE_EXHAUSTED: DESTINATION: destination: no room for "
                  "the backup in ",
                  dest)));
  shown = testing::Ctl(*server_, {"-o", "json", "admin", "backup", dest});
  EXPECT_NE(shown.exit_code, 0);
  EXPECT_THAT(shown.err, ::testing::HasSubstr("\"DESTINATION_FULL\""));

  // Opened read-only on a full volume, the store copies its live files.
  // Not an obsolete table file a crash left (RocksDB deletes it at the next
  // read-write open), here one of 64 MiB (sparse, on a 24 MiB volume) with
  // a number no live file has: needed_bytes counted it.
  client_.reset();
  ASSERT_EQ(server_->Stop(SIGTERM), 0) << server_->Log();
  std::set<uint64_t> numbers;
  for (const auto& entry : std::filesystem::directory_iterator(mount_)) {
    const std::string name = entry.path().filename().string();
    uint64_t n = 0;
    const size_t digits = name.find_first_not_of("0123456789");
    if (digits > 0 && digits != std::string::npos &&
        absl::SimpleAtoi(name.substr(0, digits), &n)) {
      numbers.insert(n);
    }
    const size_t dash = name.find('-');
    if (dash != std::string::npos &&
        absl::SimpleAtoi(name.substr(dash + 1), &n)) {
      numbers.insert(n);
    }
  }
  ASSERT_FALSE(numbers.empty());
  uint64_t obsolete = 1;
  while (numbers.count(obsolete) > 0) ++obsolete;
  ASSERT_LT(obsolete, *numbers.rbegin());
  char obsolete_name[32];
  std::snprintf(obsolete_name, sizeof(obsolete_name), "/%06llu.sst",
                static_cast<unsigned long long>(obsolete));
  { std::ofstream(mount_ + obsolete_name); }
  std::filesystem::resize_file(mount_ + obsolete_name, uint64_t{64} << 20);
  ASSERT_NO_FATAL_FAILURE(FillAll());
  ASSERT_TRUE(server_->Restart()) << server_->Log();
  ASSERT_THAT(server_->Log(), ::testing::HasSubstr("serving reads only"));
  Connect();
  backup = client_->BackupStore(request);
  ASSERT_FALSE(backup.ok());
  expect_destination_full(backup.status());
  int64_t needed_bytes = -1;
  ASSERT_TRUE(absl::SimpleAtoi(ErrorMetadata(backup.status())["needed_bytes"],
                               &needed_bytes));
  EXPECT_LT(needed_bytes, int64_t{24} << 20)
      << "more than the store's whole volume holds: the obsolete file "
      << obsolete_name << " was counted";
  std::filesystem::remove(mount_ + "/filler");
  std::filesystem::remove(mount_ + "/filler2");
  ASSERT_TRUE(WriteAgain(absl::Seconds(30)).ok()) << server_->Log();
  VerifyIntact();
}

// Whether a tmpfs is mounted at `dir`.
bool Mounted(const std::string& dir) {
  std::ifstream in("/proc/self/mounts");
  std::string source, point, rest;
  while (in >> source >> point && std::getline(in, rest)) {
    if (point == dir && absl::StartsWith(rest, " tmpfs ")) return true;
  }
  return false;
}

// A test killed before it unmounts (a timeout, ^C) left its tmpfs mounted
// for good. The next mount a test makes unmounts those whose owner is gone
// and that nothing uses, and removes their directories; mounts of live
// tests, mounts in use and mounts no test recorded stay.
TEST(StaleMountTest, MountsOfGoneTestsAreUnmountedOthersStay) {
  TempDir gone, live, busy, unrecorded;
  // Until the end: the sweep of another test's mount, running meanwhile,
  // took the stale-looking mounts below first (`busy` before its file was
  // open) or half (`gone` unmounted, its directory not yet removed).
  testing::TestMountsLock no_other_sweep;
  for (const TempDir* d : {&gone, &live, &busy, &unrecorded})
    std::filesystem::create_directories(d->path() + "/mnt");
  if (testing::MountTestTmpfs(live.path() + "/mnt", "size=1m").exit_code != 0) {
    GTEST_SKIP() << "cannot mount a tmpfs (needs root)";
  }
  absl::Cleanup unmount_live = [&] {
    testing::UnmountTestTmpfs(live.path() + "/mnt");
  };
  // A process that has ended: its pid names no process (or another one,
  // started since: the start time in the record then differs).
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) ::_exit(0);
  ASSERT_EQ(::waitpid(child, nullptr, 0), child);
  for (const TempDir* d : {&gone, &busy}) {
    ASSERT_EQ(testing::MountTestTmpfs(d->path() + "/mnt", "size=1m").exit_code,
              0);
  }
  for (const TempDir* d : {&gone, &busy})
    testing::WriteFile(d->path() + "/mnt.owner", absl::StrCat(child, " 1\n"));
  absl::Cleanup unmount_busy_and_gone = [&] {
    testing::UnmountTestTmpfs(busy.path() + "/mnt");
    if (Mounted(gone.path() + "/mnt"))
      testing::UnmountTestTmpfs(gone.path() + "/mnt");
  };
  ASSERT_EQ(RunCommand({"mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs",
                        unrecorded.path() + "/mnt"})
                .exit_code,
            0);
  absl::Cleanup unmount_unrecorded = [&] {
    RunCommand({"umount", "-l", unrecorded.path() + "/mnt"});
  };
  std::FILE* open_file = std::fopen((busy.path() + "/mnt/open").c_str(), "w");
  ASSERT_NE(open_file, nullptr);
  absl::Cleanup close_file = [&] { std::fclose(open_file); };

  testing::UnmountStaleTestMounts();
  EXPECT_FALSE(Mounted(gone.path() + "/mnt"));
  EXPECT_FALSE(std::filesystem::exists(gone.path()))
      << "its directory stays behind";
  EXPECT_TRUE(Mounted(live.path() + "/mnt"));
  EXPECT_TRUE(Mounted(busy.path() + "/mnt")) << "unmounted while in use";
  EXPECT_TRUE(Mounted(unrecorded.path() + "/mnt"));
  EXPECT_TRUE(std::filesystem::exists(busy.path() + "/mnt/open"));
}

// Linux refuses to remount a filesystem read-only while a file on it is open
// for writing (the WAL always is), so a data directory cannot turn
// read-only under a running contentd; the runtime case (writes failing with
// an I/O error) is covered through FaultKv in store_fault_test. What can
// happen is a restart onto a read-only directory: contentd must refuse to
// start with a clear reason, change nothing, and serve again once the
// directory is writable.
TEST_F(DiskFaultTest, ReadOnlyDataDirIsRefusedClearlyAndNothingIsLost) {
  ASSERT_TRUE(Create("before", 1024).ok());
  acked_.push_back("before");
  server_->Stop(SIGTERM);
  testing::CommandResult r = RunCommand({"mount", "-o", "remount,ro", mount_});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  testing::CommandResult start = RunCommand(
      {testing::ContentdBinary(), "--listen", "127.0.0.1:0", "--data-dir",
       mount_, "--port-file", tmp_.path() + "/ro.port"});
  RunCommand({"mount", "-o", "remount,rw", mount_});
  EXPECT_EQ(start.exit_code, 1) << start.out << start.err;
  EXPECT_THAT(start.err, ::testing::HasSubstr("UNAVAILABLE"));
  EXPECT_THAT(start.err, ::testing::HasSubstr("Read-only file system"));

  ASSERT_TRUE(server_->Restart()) << server_->Log();
  ClientOptions options;
  options.target = server_->address();
  client_ = *Client::Connect(options);
  ASSERT_TRUE(WriteAgain(absl::Seconds(10)).ok());
  VerifyIntact();
}

}  // namespace
}  // namespace content
