#include "server/store/rocksdb_kv.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <limits>
#include <memory>
#include <optional>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/env.h"
#include "rocksdb/file_system.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/listener.h"
#include "rocksdb/merge_operator.h"
#include "rocksdb/metadata.h"
#include "rocksdb/sst_file_reader.h"
#include "rocksdb/sst_file_writer.h"
#include "rocksdb/statistics.h"
#include "rocksdb/table.h"
#include "rocksdb/utilities/checkpoint.h"
#include "server/error_details.h"
#include "server/store/keys.h"

namespace content::store {
namespace {

const std::array<const char*, kFamilyCount> kFamilyNames = {
    "default", "heads", "revisions", "postings", "changes"};

absl::Status ToStatus(const rocksdb::Status& s) {
  if (s.ok()) return absl::OkStatus();
  const std::string msg = absl::StrCat("storage: ", s.ToString());
  if (s.IsNotFound()) return absl::NotFoundError(msg);
  if (s.IsNoSpace())
    return WithReason(absl::ResourceExhaustedError(msg), reason::kDiskFull);
  if (s.IsMemoryLimit()) return absl::ResourceExhaustedError(msg);
  if (s.IsCorruption()) return absl::DataLossError(msg);
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(msg);
  return absl::UnavailableError(msg);
}

absl::Status OpenedReadOnlyError() {
  return absl::FailedPreconditionError("store opened read-only");
}

rocksdb::Slice ToSlice(absl::string_view s) {
  return rocksdb::Slice(s.data(), s.size());
}

int64_t DecodeInt64(const rocksdb::Slice& s) {
  if (s.size() != 8) return 0;
  uint64_t u = 0;
  for (size_t i = 0; i < 8; ++i)
    u |= uint64_t{static_cast<unsigned char>(s[i])} << (8 * i);
  return static_cast<int64_t>(u);
}

// Sums 8-byte little-endian counters, so counter updates are blind writes
// that need no read inside the write path.
class Int64AddOperator : public rocksdb::AssociativeMergeOperator {
 public:
  bool Merge(const rocksdb::Slice&, const rocksdb::Slice* existing,
             const rocksdb::Slice& value, std::string* new_value,
             rocksdb::Logger*) const override {
    int64_t sum = (existing ? DecodeInt64(*existing) : 0) + DecodeInt64(value);
    uint64_t u = static_cast<uint64_t>(sum);
    new_value->resize(8);
    for (size_t i = 0; i < 8; ++i)
      (*new_value)[i] = static_cast<char>(u >> (8 * i));
    return true;
  }
  const char* Name() const override { return "content.Int64Add"; }
};

// Bytes [at, at + 8) of `s` as a big-endian integer, zero-padded.
uint64_t BigEndianWord(absl::string_view s, size_t at) {
  uint64_t w = 0;
  if (s.size() >= at + 8) {
    std::memcpy(&w, s.data() + at, 8);
    return __builtin_bswap64(w);
  }
  for (size_t i = 0; i < 8; ++i)
    w = (w << 8) |
        (at + i < s.size() ? static_cast<unsigned char>(s[at + i]) : 0u);
  return w;
}

// Level-0 compaction trigger of a family that ingests (RocksKv::Ingest),
// until RocksKvOptions::bulk_shape_hold after its last ingest, and otherwise.
// Import of 400k articles with the text index (2026-12-01): 370 s with the
// default trigger (4: each L0->L1 compaction rewrote level 1 for a few small
// tables), 179 s at 24, 146 s at 48, 115 s at 96.
constexpr int kBulkL0Trigger = 96;
constexpr int kNormalL0Trigger = 4;
// Threads per compaction during an import and otherwise. Split during a 1M
// text import, compactions took 565 s of server CPU and the import 296 s,
// against 418-434 s and 222-227 s unsplit (both cores are busy anyway);
// after it, split, 195 level-0 tables cleared in 46 s (205 unsplit: 110 s).
constexpr int kBulkSubcompactions = 1;
constexpr int kNormalSubcompactions = 3;
// Merge operands a meta memtable holds per counter before a write folds
// them (max_successive_merges), normally and during an import. Checking the
// count is a memtable seek per operand: 5% of a 1M import's server CPU. An
// import batch adds one operand per list, so reads fold at most a few
// hundred meanwhile.
constexpr int kNormalMergeCap = 16;
constexpr int kBulkMergeCap = 0;

class RocksSnapshot : public KvSnapshot {
 public:
  RocksSnapshot(rocksdb::DB* db, const rocksdb::Snapshot* snap)
      : db_(db), snap_(snap) {}
  ~RocksSnapshot() override { db_->ReleaseSnapshot(snap_); }
  const rocksdb::Snapshot* get() const { return snap_; }

 private:
  rocksdb::DB* db_;
  const rocksdb::Snapshot* snap_;
};

class RocksIterator : public KvIterator {
 public:
  // Bounds are owned here because RocksDB keeps pointers to them.
  RocksIterator(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf,
                const KvReadOptions& options)
      : lower_(options.lower_bound), upper_(options.upper_bound) {
    rocksdb::ReadOptions ro;
    if (options.snapshot != nullptr)
      ro.snapshot = static_cast<const RocksSnapshot*>(options.snapshot)->get();
    if (!lower_.empty()) {
      lower_slice_ = rocksdb::Slice(lower_);
      ro.iterate_lower_bound = &lower_slice_;
    }
    if (!upper_.empty()) {
      upper_slice_ = rocksdb::Slice(upper_);
      ro.iterate_upper_bound = &upper_slice_;
    }
    it_.reset(db->NewIterator(ro, cf));
  }
  bool Valid() const override { return it_->Valid(); }
  void SeekToFirst() override { it_->SeekToFirst(); }
  void SeekToLast() override { it_->SeekToLast(); }
  void Seek(absl::string_view t) override { it_->Seek(ToSlice(t)); }
  void SeekForPrev(absl::string_view t) override {
    it_->SeekForPrev(ToSlice(t));
  }
  void Next() override { it_->Next(); }
  void Prev() override { it_->Prev(); }
  absl::string_view key() const override { return View(it_->key()); }
  absl::string_view value() const override { return View(it_->value()); }
  absl::Status status() const override { return ToStatus(it_->status()); }

 private:
  static absl::string_view View(const rocksdb::Slice& s) {
    return absl::string_view(s.data(), s.size());
  }
  std::string lower_, upper_;
  rocksdb::Slice lower_slice_, upper_slice_;
  std::unique_ptr<rocksdb::Iterator> it_;
};

// Keys of one family that a read-only open hides: those of ingests a crash
// left uncommitted, which a read-write open would undo (RecoverIngests).
using HiddenKeys = absl::flat_hash_set<std::string>;

// An iterator that steps over hidden keys in either direction.
class HidingIterator : public KvIterator {
 public:
  HidingIterator(std::unique_ptr<KvIterator> base, const HiddenKeys* hidden)
      : base_(std::move(base)), hidden_(hidden) {}
  bool Valid() const override { return base_->Valid(); }
  void SeekToFirst() override {
    base_->SeekToFirst();
    SkipForward();
  }
  void SeekToLast() override {
    base_->SeekToLast();
    SkipBackward();
  }
  void Seek(absl::string_view t) override {
    base_->Seek(t);
    SkipForward();
  }
  void SeekForPrev(absl::string_view t) override {
    base_->SeekForPrev(t);
    SkipBackward();
  }
  void Next() override {
    base_->Next();
    SkipForward();
  }
  void Prev() override {
    base_->Prev();
    SkipBackward();
  }
  absl::string_view key() const override { return base_->key(); }
  absl::string_view value() const override { return base_->value(); }
  absl::Status status() const override { return base_->status(); }

 private:
  void SkipForward() {
    while (base_->Valid() && hidden_->contains(base_->key())) base_->Next();
  }
  void SkipBackward() {
    while (base_->Valid() && hidden_->contains(base_->key())) base_->Prev();
  }
  std::unique_ptr<KvIterator> base_;
  const HiddenKeys* hidden_;
};

// Whether RocksDB has stopped writes for good, and why. RocksDB 7.8 classes
// a failed WAL append or sync that is not a full disk as a fatal background
// error (reproduced in wal_fault_test with an injected EIO): the DB
// refuses every write and DB::Resume returns the error again, so only a
// reopen (which replays the WAL) recovers. Shared by the engine and its
// listener. Thread-safe.
class WriteHalt {
 public:
  explicit WriteHalt(std::function<void(const absl::Status&)> on_halt)
      : on_halt_(std::move(on_halt)) {}

  // Records a fatal `error`; the first one calls on_halt.
  void Halt(const rocksdb::Status& error) {
    absl::Status why = absl::UnavailableError(absl::StrCat(
        "storage: writes stopped after an I/O error the database cannot "
        "recover from while running (",
        error.ToString(),
        "); restart contentd: it recovers every acknowledged write from the "
        "write-ahead log"));
    {
      absl::MutexLock lock(&mu_);
      if (!why_.ok()) return;
      why_ = why;
      halted_.store(true, std::memory_order_release);
    }
    if (on_halt_) on_halt_(why);
  }
  // OK, or the UNAVAILABLE every write answers once halted.
  absl::Status status() const {
    if (!halted_.load(std::memory_order_acquire)) return absl::OkStatus();
    absl::MutexLock lock(&mu_);
    return why_;
  }

 private:
  const std::function<void(const absl::Status&)> on_halt_;
  mutable absl::Mutex mu_;
  absl::Status why_ ABSL_GUARDED_BY(mu_);
  std::atomic<bool> halted_{false};
};

// Hands RocksDB's fatal background errors to a WriteHalt. Lesser ones
// (soft and hard: a full disk) clear with DB::Resume, which the next write
// calls (RocksKv::WriteNow).
class HaltListener : public rocksdb::EventListener {
 public:
  explicit HaltListener(std::shared_ptr<WriteHalt> halt)
      : halt_(std::move(halt)) {}
  void OnBackgroundError(rocksdb::BackgroundErrorReason,
                         rocksdb::Status* error) override {
    if (error->severity() >= rocksdb::Status::Severity::kFatalError)
      halt_->Halt(*error);
  }
  // A flush (or WAL write) that met a full volume stops writes (a hard
  // error). RocksDB's own recovery waits for a whole write buffer (32 MiB)
  // free, which a small volume may never have, and meanwhile makes
  // DB::Resume answer Busy: every write was UNAVAILABLE "retry", for good.
  // The write path resumes instead, once the volume has room for the flush
  // (RocksKv::WriteNow). Soft errors (a compaction out of room) keep
  // RocksDB's recovery: without it background work would stop while
  // writes go on, and they would stall once the memtables filled.
  void OnErrorRecoveryBegin(rocksdb::BackgroundErrorReason,
                            rocksdb::Status error,
                            bool* auto_recovery) override {
    if (error.IsNoSpace() &&
        error.severity() >= rocksdb::Status::Severity::kHardError &&
        error.severity() < rocksdb::Status::Severity::kFatalError) {
      *auto_recovery = false;
    }
  }

 private:
  std::shared_ptr<WriteHalt> halt_;
};

absl::StatusOr<uint64_t> FreeBytesAt(const std::string& path);

// A store opened read-only because its volume had no room for a read-write
// open (RocksKvOptions::read_only_when_full): the descriptor holding the
// write lock on LOCK, as a read-write open would, so that no other contentd
// opens it meanwhile; what every write answers; and the free space a
// read-write open needs (ReopeningKv waits for it); and the block cache,
// which the read-write open shares (both opens live until the last read
// begun on the read-only one ends, and two caches would double the bound
// block_cache_bytes sets).
struct FullVolume {
  int lock_fd = -1;
  absl::Status why;
  uint64_t room_needed = 0;
  std::shared_ptr<rocksdb::Cache> cache;
};

// The RESOURCE_EXHAUSTED (DISK_FULL) every write to such a store answers.
absl::Status FullVolumeError(const RocksKvOptions& options,
                             uint64_t free_at_open, uint64_t room_needed) {
  return WithReason(
      absl::ResourceExhaustedError(absl::StrCat(
          "storage: disk full: the volume of ", options.path, " had ",
          free_at_open,
          " bytes free when contentd started, too few to open the store for "
          "writing, so it serves reads only; free space (a read-write open "
          "needs about ",
          room_needed, " bytes): contentd checks every ",
          absl::FormatDuration(options.room_check_period),
          " and takes writes again by itself once there is room, without a "
          "restart")),
      reason::kDiskFull);
}

class RocksKv : public KvEngine {
 public:
  RocksKv(std::unique_ptr<rocksdb::Env> env, std::shared_ptr<WriteHalt> halt,
          std::unique_ptr<rocksdb::DB> db,
          std::vector<rocksdb::ColumnFamilyHandle*> handles, std::string path,
          size_t flush_on_close_wal_bytes, absl::Duration bulk_shape_hold,
          bool read_only, absl::Status full_why = absl::OkStatus())
      : env_(std::move(env)),
        halt_(std::move(halt)),
        db_(std::move(db)),
        handles_(std::move(handles)),
        path_(std::move(path)),
        flush_on_close_wal_bytes_(flush_on_close_wal_bytes),
        bulk_shape_hold_(bulk_shape_hold),
        read_only_(read_only),
        full_why_(std::move(full_why)) {}
  ~RocksKv() override {
    // The WAL holds every write, so a small one is left to the next start.
    // A big one (slow families such as the counters keep old WAL files
    // alive) is flushed away now; failing that, the next start replays it.
    // A read-only open leaves the WAL to the next read-write one.
    if (!read_only_ && LiveWalBytes() > flush_on_close_wal_bytes_) {
      rocksdb::FlushOptions fo;
      fo.wait = true;
      db_->Flush(fo, handles_).PermitUncheckedError();
    }
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
    db_->Close();
  }

  absl::Status Get(Family family, absl::string_view key, std::string* value,
                   const KvReadOptions& options) override {
    rocksdb::ReadOptions ro;
    if (options.snapshot != nullptr)
      ro.snapshot = static_cast<const RocksSnapshot*>(options.snapshot)->get();
    rocksdb::PinnableSlice slice;
    rocksdb::Status s = db_->Get(ro, handle(family), ToSlice(key), &slice);
    if (!s.ok()) return ToStatus(s);
    if (Hidden(family, key)) return ToStatus(rocksdb::Status::NotFound());
    value->assign(slice.data(), slice.size());
    return absl::OkStatus();
  }

  void MultiGet(Family family, const std::vector<std::string>& keys,
                std::vector<std::string>* values,
                std::vector<absl::Status>* statuses,
                const KvReadOptions& options) override {
    rocksdb::ReadOptions ro;
    if (options.snapshot != nullptr)
      ro.snapshot = static_cast<const RocksSnapshot*>(options.snapshot)->get();
    const size_t n = keys.size();
    std::vector<rocksdb::Slice> slices;
    slices.reserve(n);
    for (const std::string& k : keys) slices.push_back(ToSlice(k));
    std::vector<rocksdb::PinnableSlice> found(n);
    std::vector<rocksdb::Status> st(n);
    db_->MultiGet(ro, handle(family), n, slices.data(), found.data(), st.data(),
                  /*sorted_input=*/false);
    values->resize(n);
    statuses->clear();
    statuses->reserve(n);
    for (size_t i = 0; i < n; ++i) {
      if (st[i].ok() && Hidden(family, keys[i])) {
        statuses->push_back(ToStatus(rocksdb::Status::NotFound()));
        continue;
      }
      statuses->push_back(ToStatus(st[i]));
      if (st[i].ok()) (*values)[i].assign(found[i].data(), found[i].size());
    }
  }

  std::unique_ptr<KvIterator> NewIterator(
      Family family, const KvReadOptions& options) override {
    MaybeLeaveBulkShape();
    auto it =
        std::make_unique<RocksIterator>(db_.get(), handle(family), options);
    const HiddenKeys& hidden = hidden_[static_cast<size_t>(family)];
    if (hidden.empty()) return it;
    return std::make_unique<HidingIterator>(std::move(it), &hidden);
  }
  // The memtables' keys in the range (MemtableKeys) plus the table files'
  // bytes in the range over the family's bytes per key. Table offsets come
  // from the index at block granularity: a range inside one block counts
  // about 0.
  int64_t EstimateKeys(Family family, absl::string_view begin,
                       absl::string_view end) override {
    rocksdb::ColumnFamilyHandle* h = handle(family);
    const rocksdb::Range range(ToSlice(begin), ToSlice(end));
    const int64_t memtable_keys = MemtableKeys(h, range);
    rocksdb::SizeApproximationOptions o;
    o.include_memtables = false;
    o.include_files = true;
    uint64_t file_bytes = 0;
    if (!db_->GetApproximateSizes(o, h, &range, 1, &file_bytes).ok())
      file_bytes = 0;
    if (file_bytes == 0) return memtable_keys;
    return memtable_keys +
           static_cast<int64_t>(static_cast<double>(file_bytes) /
                                FileBytesPerKey(family));
  }

  // Keys of `range` in the memtables: counted, up to kExactMemtableKeys;
  // past that, RocksDB's estimate if larger. Its estimate walks the
  // skiplist's towers, so one tall node weighs 4^height: a range of 5 keys
  // counted as the whole memtable (20005) and one of 20000 as 4488 (kv_test
  // saw both, about 1 run in 300). The planner puts the rarest text term
  // first, so a rare term must not look common.
  static constexpr int64_t kExactMemtableKeys = 1024;
  int64_t MemtableKeys(rocksdb::ColumnFamilyHandle* h,
                       const rocksdb::Range& range) {
    rocksdb::ReadOptions ro;
    ro.read_tier = rocksdb::kMemtableTier;
    if (!range.limit.empty()) ro.iterate_upper_bound = &range.limit;
    // Deletions the iterator steps over count against the cap too.
    ro.max_skippable_internal_keys = kExactMemtableKeys;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, h));
    int64_t n = 0;
    for (it->Seek(range.start); it->Valid() && n < kExactMemtableKeys;
         it->Next()) {
      ++n;
    }
    if (n < kExactMemtableKeys && it->status().ok()) return n;
    uint64_t keys = 0, bytes = 0;
    db_->GetApproximateMemTableStats(h, range, &keys, &bytes);
    return std::max(n, static_cast<int64_t>(keys));
  }

  // Table-file bytes per key of `family`, refreshed from the DB's
  // properties at most every 10 s (they take the DB mutex).
  double FileBytesPerKey(Family family) {
    Density& d = density_[static_cast<size_t>(family)];
    const int64_t now = absl::GetCurrentTimeNanos();
    if (now - d.refreshed_ns.load(std::memory_order_relaxed) > 10'000'000'000) {
      d.refreshed_ns.store(now, std::memory_order_relaxed);
      rocksdb::ColumnFamilyHandle* h = handle(family);
      uint64_t keys = 0, bytes = 0, active = 0, immutable = 0;
      db_->GetIntProperty(h, "rocksdb.estimate-num-keys", &keys);
      db_->GetIntProperty(h, "rocksdb.live-sst-files-size", &bytes);
      db_->GetIntProperty(h, "rocksdb.num-entries-active-mem-table", &active);
      db_->GetIntProperty(h, "rocksdb.num-entries-imm-mem-tables", &immutable);
      const uint64_t file_keys =
          keys > active + immutable ? keys - active - immutable : 0;
      if (file_keys > 0 && bytes > 0) {
        d.bytes_per_key.store(
            static_cast<double>(bytes) / static_cast<double>(file_keys),
            std::memory_order_relaxed);
      }
    }
    return std::max(1.0, d.bytes_per_key.load(std::memory_order_relaxed));
  }

  absl::Status Write(KvBatch batch, bool sync) override {
    if (read_only_) return ReadOnlyError();
    if (absl::Status s = halt_->status(); !s.ok()) return s;
    if (absl::Status s = SettleFailedUndos(); !s.ok()) return s;
    return WriteNow(std::move(batch), sync);
  }

  // Write without settling failed undos first (the undo itself).
  absl::Status WriteNow(KvBatch batch, bool sync) {
    MaybeLeaveBulkShape();
    // Conditions are checked under a lock that every conditional batch
    // takes; the store sends none (this engine is not shared), so this is
    // for the seam's contract, not the write path.
    absl::ReleasableMutexLock expect_lock(&expect_mu_);
    bool conditional = false;
    for (const KvBatch::Op& op : batch.ops()) {
      if (op.type != KvBatch::OpType::kExpect &&
          op.type != KvBatch::OpType::kExpectMissing)
        continue;
      conditional = true;
      std::string value;
      absl::Status s = Get(op.family, op.key, &value, KvReadOptions());
      if (!s.ok() && !absl::IsNotFound(s)) return s;
      const bool holds = op.type == KvBatch::OpType::kExpect
                             ? s.ok() && value == op.value
                             : absl::IsNotFound(s);
      if (!holds)
        return absl::AbortedError("storage: a write condition failed");
    }
    if (!conditional) expect_lock.Release();
    rocksdb::WriteBatch wb;
    const std::vector<const KvBatch::Op*> order = InsertOrder(batch);
    for (size_t i = 0; i < order.size(); ++i) {
      const KvBatch::Op& op = *order[i];
      rocksdb::ColumnFamilyHandle* cf = handle(op.family);
      rocksdb::Status s;
      if (op.type == KvBatch::OpType::kAddInt64 && i + 1 < order.size() &&
          SameCounter(op, *order[i + 1])) {
        // Sorted, a batch's adds to one counter are adjacent: fold them into
        // one merge operand. A 1000-article import batch touches a common
        // text term's counter hundreds of times; each operand is a memtable
        // insert, and past max_successive_merges a read.
        int64_t sum = DecodeAdd(op.value);
        while (i + 1 < order.size() && SameCounter(op, *order[i + 1]))
          sum += DecodeAdd(order[++i]->value);
        std::string value(8, '\0');
        const uint64_t u = static_cast<uint64_t>(sum);
        for (int b = 0; b < 8; ++b) value[b] = static_cast<char>(u >> (8 * b));
        s = wb.Merge(cf, ToSlice(op.key), value);
        if (!s.ok()) return ToStatus(s);
        continue;
      }
      switch (op.type) {
        case KvBatch::OpType::kPut:
          s = wb.Put(cf, ToSlice(op.key), ToSlice(op.value));
          break;
        case KvBatch::OpType::kDelete:
          s = wb.Delete(cf, ToSlice(op.key));
          break;
        case KvBatch::OpType::kDeleteRange:
          s = wb.DeleteRange(cf, ToSlice(op.key), ToSlice(op.value));
          break;
        case KvBatch::OpType::kAddInt64:
          s = wb.Merge(cf, ToSlice(op.key), ToSlice(op.value));
          break;
        case KvBatch::OpType::kExpect:
        case KvBatch::OpType::kExpectMissing:
          break;  // checked above
      }
      if (!s.ok()) return ToStatus(s);
    }
    // Disk trouble. Debian's RocksDB 7.8 keeps its assertions, and after a
    // failed WAL append the next write to the same WAL aborts the process
    // (`sync_without_flush_called_`, fixed upstream in RocksDB 9.1,
    // facebook/rocksdb#12448). So: refuse a write that would not fit rather
    // than let RocksDB hit ENOSPC, and after any failed write recover
    // (Resume: flush and a fresh WAL) before writing again.
    // Found by tests/reliability/disk_fault_test.cc.
    // A fatal error (WriteHalt) is past Resume: say that a restart is
    // needed rather than repeat RocksDB's error.
    absl::MutexLock lock(&recovery_mu_);
    if (absl::Status s = halt_->status(); !s.ok()) return s;
    if (needs_resume_) {
      // Resume flushes every memtable. Each attempt that fails for want of
      // room writes table files until the volume is full, then deletes
      // them: after one, it is tried again only once the volume has more
      // room than that attempt had by an eighth of the memtables (at least
      // 1 MiB; on a volume freed slowly a step of 1 MiB made a try per MiB,
      // 32 of them for full memtables), or room for the memtables whole
      // (what the flush writes at most, compression aside) and the 2 MiB
      // reserve. Not after a time: on a volume that stays full every retry
      // failed the same way (they came every 5 s while writes were tried).
      absl::StatusOr<uint64_t> free_bytes = FreeBytes();
      if (!resume_no_space_.ok()) {
        const uint64_t memtables = MemtableBytes();
        const uint64_t step =
            std::max<uint64_t>(uint64_t{1} << 20, memtables / 8);
        if (!free_bytes.ok() ||
            (*free_bytes < resume_failed_free_ + step &&
             *free_bytes < memtables + (uint64_t{2} << 20))) {
          return DiskFull(resume_no_space_);
        }
      }
      resumes_.fetch_add(1, std::memory_order_relaxed);
      rocksdb::Status r = db_->Resume();
      if (!r.ok()) {
        if (r.severity() >= rocksdb::Status::Severity::kFatalError)
          halt_->Halt(r);
        absl::Status s = halt_->status();
        if (!s.ok()) return s;
        // RocksDB's own recovery is running (a soft error's).
        if (r.IsBusy()) {
          return absl::UnavailableError(
              "storage: recovering from an earlier write error; retry");
        }
        if (r.IsNoSpace()) {
          // The room it had: measured before, as its table files may not
          // all be gone yet.
          resume_no_space_ = r;
          resume_failed_free_ = free_bytes.ok() ? *free_bytes : 0;
          return DiskFull(r);
        }
        return ToStatus(r);
      }
      needs_resume_ = false;
      resume_no_space_ = rocksdb::Status::OK();
    }
    absl::Status space = CheckSpace(wb.GetDataSize());
    if (!space.ok()) return space;
    rocksdb::WriteOptions wo;
    wo.sync = sync;
    rocksdb::Status s = db_->Write(wo, &wb);
    if (!s.ok() && !s.IsInvalidArgument()) needs_resume_ = true;
    // The listener ran inside Write if the error was fatal.
    if (!s.ok()) {
      if (absl::Status halted = halt_->status(); !halted.ok()) return halted;
    }
    if (s.IsNoSpace()) return DiskFull(s);
    return ToStatus(s);
  }

  // The RESOURCE_EXHAUSTED (DISK_FULL) of a write refused because RocksDB
  // met a full volume: writing its WAL, or flushing the memtables (in the
  // background, or to resume from that), after which it takes no writes
  // until a flush succeeds. Says what a flush needs; no restart is.
  absl::Status DiskFull(const rocksdb::Status& error) const {
    absl::StatusOr<uint64_t> free_bytes = FreeBytes();
    const uint64_t memtables = MemtableBytes();
    return WithReason(
        absl::ResourceExhaustedError(absl::StrCat(
            "storage: disk full: ",
            free_bytes.ok() ? absl::StrCat(*free_bytes, " bytes free")
                            : std::string("little space free"),
            " in ", path_,
            ", and the database takes no writes until it has flushed its "
            "memtables (",
            memtables,
            " bytes) to table files there; writes resume by themselves once "
            "there is room, without a restart, and reads go on (",
            error.ToString(), ")")),
        reason::kDiskFull);
  }

  absl::Status CheckRoom(size_t bytes) override {
    if (read_only_) return absl::OkStatus();  // Write refuses it anyway
    return CheckSpace(bytes);
  }

  // The order to hand a batch's ops to RocksDB. Memtable inserts were most
  // of a bulk import's CPU: a skip-list insert in key order reuses the
  // previous insert's search path, one in random order walks from the top.
  // So big batches go sorted by (family, key); the sort is stable, so ops on
  // one key keep their order, and ops on different keys commute. A range
  // delete does not commute with the keys it covers: such batches keep
  // their order.
  static std::vector<const KvBatch::Op*> InsertOrder(const KvBatch& batch) {
    std::vector<const KvBatch::Op*> order;
    order.reserve(batch.ops().size());
    bool sortable = batch.ops().size() >= 32;
    for (const KvBatch::Op& op : batch.ops()) {
      order.push_back(&op);
      sortable = sortable && op.type != KvBatch::OpType::kDeleteRange;
    }
    if (sortable) {
      std::stable_sort(order.begin(), order.end(),
                       [](const KvBatch::Op* a, const KvBatch::Op* b) {
                         if (a->family != b->family)
                           return a->family < b->family;
                         return a->key < b->key;
                       });
    }
    return order;
  }

  static bool SameCounter(const KvBatch::Op& a, const KvBatch::Op& b) {
    return b.type == KvBatch::OpType::kAddInt64 && a.family == b.family &&
           a.key == b.key;
  }
  static int64_t DecodeAdd(absl::string_view v) {
    uint64_t u = 0;
    for (size_t b = 0; b < 8 && b < v.size(); ++b)
      u |= uint64_t{static_cast<unsigned char>(v[b])} << (8 * b);
    return static_cast<int64_t>(u);
  }

  std::unique_ptr<KvSnapshot> GetSnapshot() override {
    return std::make_unique<RocksSnapshot>(db_.get(), db_->GetSnapshot());
  }

  // Lets RocksDB delete obsolete files again after an open that held them
  // (OpenRocks' hold_file_deletions).
  void ReleaseFileDeletions() {
    db_->EnableFileDeletions(/*force=*/false).PermitUncheckedError();
  }

  using KvEngine::CompactAll;
  absl::Status CompactAll(const CompactProgress& progress) override {
    if (read_only_) return ReadOnlyError();
    absl::MutexLock l(&compact_mu_);
    // No background compaction starts meanwhile: one that took tables
    // while another family compacted made the merge below wait for it (a
    // minute after a 1M import).
    std::vector<rocksdb::ColumnFamilyHandle*> merged;
    std::vector<bool> rewrite;
    for (int f = 0; f < kFamilyCount; ++f) {
      const Family family = static_cast<Family>(f);
      if (family == Family::kRevisions) continue;
      merged.push_back(handles_[f]);
      rewrite.push_back(family == Family::kHeads || family == Family::kMeta);
    }
    // The compaction flushes the memtables first. A flush that meets a full
    // disk is a hard error to RocksDB: every write fails until its own
    // recovery finds write_buffer_size (32 MiB) free, never on a small
    // volume, or contentd restarts. So the flush's room (the memtables' size
    // and the 2 MiB a write keeps in reserve, CheckSpace) is checked first.
    const uint64_t memtables = MemtableBytes();
    absl::StatusOr<uint64_t> free_bytes = FreeBytes();
    if (free_bytes.ok() && *free_bytes < memtables + (uint64_t{2} << 20)) {
      return NoRoomToCompact(absl::StrCat(
          "the memtables it flushes first hold ", memtables, " bytes"));
    }
    rocksdb::Status s = SetAutoCompactions(merged, false);
    CompactMeter meter(this, progress, merged, rewrite);
    if (s.ok()) s = CompactRevisions();
    meter.Tell();
    for (size_t i = 0; s.ok() && i < merged.size(); ++i) {
      s = CompactToBottom(merged[i], rewrite[i]);
      meter.Tell();
    }
    meter.Stop();
    rocksdb::Status on = SetAutoCompactions(merged, true);
    if (s.IsNoSpace() || s.IsCompactionTooLarge())
      return NoRoomToCompact(s.ToString());
    return ToStatus(s.ok() ? on : s);
  }

  // How far a CompactAll has come, for its `progress`: the bytes RocksDB's
  // compactions have read since it began (the COMPACT_READ_BYTES ticker,
  // which a compaction adds to every 1000 keys, from whichever thread runs
  // it), of the size of the tables it will merge, measured when it begins
  // (and the revisions' blob files, which their garbage collection reads).
  // The size is an estimate: the memtables flushed first add tables, a
  // compaction reads index blocks too, and background compactions of the
  // revisions count as well. Told from a thread of its own twice a second,
  // and by Tell, one call at a time; Stop ends it.
  class CompactMeter {
   public:
    CompactMeter(RocksKv* kv, const CompactProgress& progress,
                 const std::vector<rocksdb::ColumnFamilyHandle*>& merged,
                 const std::vector<bool>& rewrite)
        : progress_(progress), statistics_(kv->db_->GetDBOptions().statistics) {
      if (!progress_ || statistics_ == nullptr) return;
      base_ = statistics_->getTickerCount(rocksdb::COMPACT_READ_BYTES);
      rocksdb::ColumnFamilyMetaData meta;
      kv->db_->GetColumnFamilyMetaData(kv->handle(Family::kRevisions), &meta);
      total_ = meta.size + meta.blob_file_size;
      for (size_t i = 0; i < merged.size(); ++i) {
        kv->db_->GetColumnFamilyMetaData(merged[i], &meta);
        // CompactToBottom leaves a family that is one sorted run in its
        // last level, unless it rewrites it or a flush adds a table.
        bool read = rewrite[i];
        for (const rocksdb::LevelMetaData& level : meta.levels) {
          if (level.level + 1 < static_cast<int>(meta.levels.size()) &&
              !level.files.empty())
            read = true;
        }
        uint64_t unflushed = 0;
        for (const char* p : {"rocksdb.num-entries-active-mem-table",
                              "rocksdb.num-entries-imm-mem-tables"}) {
          uint64_t n = 0;
          if (kv->db_->GetIntProperty(merged[i], p, &n)) unflushed += n;
        }
        if (read || unflushed > 0) total_ += meta.size;
      }
      Tell();
      poller_ = std::thread([this] {
        while (
            !stopped_.WaitForNotificationWithTimeout(absl::Milliseconds(500)))
          Tell();
      });
    }
    ~CompactMeter() { Stop(); }

    void Tell() {
      if (!progress_ || statistics_ == nullptr) return;
      absl::MutexLock lock(&mu_);
      const uint64_t read =
          statistics_->getTickerCount(rocksdb::COMPACT_READ_BYTES) - base_;
      progress_(static_cast<int64_t>(read), static_cast<int64_t>(total_));
    }

    void Stop() {
      if (!poller_.joinable()) return;
      stopped_.Notify();
      poller_.join();
    }

   private:
    const CompactProgress& progress_;
    const std::shared_ptr<rocksdb::Statistics> statistics_;
    uint64_t base_ = 0;
    uint64_t total_ = 0;
    absl::Mutex mu_;  // one call of progress_ at a time
    absl::Notification stopped_;
    std::thread poller_;
  };

  // A compaction writes its new tables before it deletes the ones they
  // replace. Out of room, RocksDB fails it with ENOSPC ("IO error: No space
  // left on device: While appending to file: DIR/000071.blob") or, once it
  // has seen that, refuses the next one with "Compaction too large: " and no
  // more (UNAVAILABLE, which the SDK retried): both say what to do instead,
  // `why` in parentheses after it.
  absl::Status NoRoomToCompact(absl::string_view why) const {
    absl::StatusOr<uint64_t> free = FreeBytes();
    const std::string free_bytes = free.ok()
                                       ? absl::StrCat(*free, " bytes free")
                                       : std::string("little space free");
    return WithReason(
        absl::ResourceExhaustedError(absl::StrCat(
            "storage: not enough disk space to compact: ", free_bytes, " in ",
            path_,
            ", and a compaction writes its new tables before it deletes the "
            "old ones; nothing was lost, and reads and writes go on. Free some "
            "space (a backup on the same volume keeps the old tables too) and "
            "run it again (",
            why, ")")),
        reason::kDiskFull);
  }

  rocksdb::Status SetAutoCompactions(
      const std::vector<rocksdb::ColumnFamilyHandle*>& handles, bool on) {
    rocksdb::Status first;
    for (rocksdb::ColumnFamilyHandle* h : handles) {
      rocksdb::Status s = db_->SetOptions(
          h, {{"disable_auto_compactions", on ? "false" : "true"}});
      if (first.ok()) first = s;
    }
    return first;
  }

  // CompactRange: its blob garbage collection is what drops the bodies
  // purges left behind (background compactions never relocate revision
  // blobs; revisions are write-once). Only keys and blob references move,
  // so its level-by-level walk is cheap here.
  rocksdb::Status CompactRevisions() {
    rocksdb::CompactRangeOptions o;
    o.bottommost_level_compaction =
        rocksdb::BottommostLevelCompaction::kForceOptimized;
    o.blob_garbage_collection_policy =
        rocksdb::BlobGarbageCollectionPolicy::kForce;
    o.blob_garbage_collection_age_cutoff = 1.0;
    return db_->CompactRange(o, handle(Family::kRevisions), nullptr, nullptr);
  }

  // Merges every table of `h` into its last level in one compaction.
  // CompactRange walks level by level, and an import leaves tables in
  // every level (an ingested table lands as deep as it fits), so postings
  // were rewritten six times: 1M articles with the text index, 3.3 GB of
  // postings, about 300 s (2026-12-02).
  // With `rewrite_bottom`, a family already in its last level is rewritten
  // too, so its tables take the current table options (the small
  // point-lookup families: tables written before ca4fab3 had partitioned
  // indexes). REQUIRES: background compactions of `h` disabled (running
  // ones are waited for: they would take tables from under CompactFiles).
  rocksdb::Status CompactToBottom(rocksdb::ColumnFamilyHandle* h,
                                  bool rewrite_bottom) {
    rocksdb::FlushOptions fo;
    fo.allow_write_stall = true;
    rocksdb::Status s = db_->Flush(fo, h);
    if (!s.ok()) return s;
    for (;;) {
      rocksdb::ColumnFamilyMetaData meta;
      db_->GetColumnFamilyMetaData(h, &meta);
      std::vector<std::string> files;
      bool busy = false, above_bottom = false;
      for (const rocksdb::LevelMetaData& level : meta.levels) {
        for (const rocksdb::SstFileMetaData& file : level.files) {
          files.push_back(file.name);
          busy = busy || file.being_compacted;
          if (level.level + 1 < static_cast<int>(meta.levels.size()))
            above_bottom = true;
        }
      }
      // Already one sorted run in the last level: nothing to merge.
      if (files.empty() || (!above_bottom && !rewrite_bottom))
        return rocksdb::Status::OK();
      if (busy) {
        absl::SleepFor(absl::Milliseconds(50));
        continue;
      }
      rocksdb::CompactionOptions o;
      // The family's own compression for the output level (the default
      // would be Snappy), its table size, and split across threads.
      o.compression = rocksdb::kDisableCompressionOption;
      o.output_file_size_limit = db_->GetOptions(h).target_file_size_base;
      o.max_subcompactions = kNormalSubcompactions;
      return db_->CompactFiles(o, h, files,
                               static_cast<int>(meta.levels.size()) - 1);
    }
  }

  absl::StatusOr<std::string> Ingest(Family family,
                                     const KvBatch& puts) override {
    if (read_only_) return ReadOnlyError();
    if (absl::Status s = halt_->status(); !s.ok()) return s;
    if (absl::Status s = SettleFailedUndos(); !s.ok()) return s;
    // Callers usually hand the keys in order (Store's BulkLoad); otherwise
    // they are sorted by their first 16 bytes as two integers, then the
    // rest: a text batch's ~190k keys share long prefixes, and comparing
    // them with memcmp was a sixth of the import's write-path CPU.
    if (puts.ops().empty())
      return absl::InvalidArgumentError("storage: nothing to ingest");
    bool ascending = true;
    const KvBatch::Op* prev = nullptr;
    for (const KvBatch::Op& op : puts.ops()) {
      if (op.type != KvBatch::OpType::kPut || op.family != family)
        return absl::InvalidArgumentError(
            "storage: an ingested batch holds puts into one family only");
      ascending = ascending && (prev == nullptr || prev->key < op.key);
      prev = &op;
    }
    std::vector<const KvBatch::Op*> order;
    order.reserve(puts.size());
    if (ascending) {
      for (const KvBatch::Op& op : puts.ops()) order.push_back(&op);
    } else {
      struct Entry {
        uint64_t head, next;
        const KvBatch::Op* op;
      };
      std::vector<Entry> entries;
      entries.reserve(puts.size());
      for (const KvBatch::Op& op : puts.ops())
        entries.push_back(
            {BigEndianWord(op.key, 0), BigEndianWord(op.key, 8), &op});
      // Zero padding makes "a" and "a\0" tie on the words; the full compare
      // then orders them.
      std::sort(entries.begin(), entries.end(),
                [](const Entry& a, const Entry& b) {
                  if (a.head != b.head) return a.head < b.head;
                  if (a.next != b.next) return a.next < b.next;
                  return a.op->key < b.op->key;
                });
      for (const Entry& e : entries) order.push_back(e.op);
    }
    const std::thread::id self = std::this_thread::get_id();
    const std::string ticket =
        absl::StrCat(static_cast<int>(family), "-", ingest_epoch_, "-",
                     ingest_count_.fetch_add(1, std::memory_order_relaxed));
    {
      // A checkpoint must not copy an ingested file whose commit it misses,
      // so it holds new ingests while it waits for the open ones; but not
      // one from a thread that holds an open ingest already. An import
      // batch ingests revisions, then text postings, for one commit: held,
      // the second would wait for the checkpoint and the checkpoint for the
      // first one's commit.
      absl::MutexLock lock(&ingest_mu_);
      if (!ingest_threads_.contains(self))
        ingest_mu_.Await(absl::Condition(this, &RocksKv::NoCheckpoint));
      ++ingest_threads_[self];
      ingest_owners_[ticket] = self;
      ++ingests_open_;
    }
    const std::string file = IngestFile(ticket);
    // RocksDB takes the file by hard link and then unlinks the name it was
    // given; a second name keeps ours as the undo log until the commit.
    const std::string handed = file + ".move";
    auto fail = [this, &ticket, &file, &handed](const rocksdb::Status& s) {
      std::remove(file.c_str());
      std::remove(handed.c_str());
      CloseIngest(ticket);
      return ToStatus(s);
    };
    // The family's level-0 compression (LZ4), even for a table that lands
    // in the bottommost level: zstd there took 15% of an import's server
    // CPU, and a full compaction (`admin compact --storage`) recompresses.
    rocksdb::Options writer_options = db_->GetOptions(handle(family));
    writer_options.bottommost_compression = rocksdb::kDisableCompressionOption;
    rocksdb::SstFileWriter writer(rocksdb::EnvOptions(), writer_options,
                                  handle(family));
    rocksdb::Status s = writer.Open(file);
    for (size_t i = 0; s.ok() && i < order.size(); ++i) {
      if (i > 0 && order[i - 1]->key == order[i]->key) {
        std::remove(file.c_str());
        CloseIngest(ticket);
        return absl::InvalidArgumentError(
            "storage: an ingested batch holds a key twice");
      }
      s = writer.Put(ToSlice(order[i]->key), ToSlice(order[i]->value));
    }
    // Finish syncs the file; the directory entry must be durable too, or a
    // crash could keep the ingested keys and lose the file that undoes them.
    if (s.ok()) s = writer.Finish();
    if (s.ok() && ::link(file.c_str(), handed.c_str()) != 0)
      s = rocksdb::Status::IOError("linking ", handed);
    if (s.ok() && !SyncDir(ingest_dir_))
      s = rocksdb::Status::IOError("syncing ", ingest_dir_);
    if (!s.ok()) return fail(s);
    EnterBulkShape(family);
    rocksdb::IngestExternalFileOptions io;
    io.move_files = true;           // a link, not a copy
    io.write_global_seqno = false;  // never rewrite the shared file
    s = db_->IngestExternalFile(handle(family), {handed}, io);
    if (!s.ok()) return fail(s);
    return ticket;
  }

  void EndIngest(const std::string& ticket, bool committed) override {
    if (read_only_) return;  // Ingest refused: no ticket is ours
    const std::string file = IngestFile(ticket);
    if (!committed) {
      absl::Status s = UndoIngest(ticket);
      if (!s.ok()) {
        // Undone before anything else is written (SettleFailedUndos): left
        // for the next open, the undo would delete whatever wrote the same
        // keys meanwhile (the same import, retried). The caller still holds
        // the articles' locks, so no write to them comes before this.
        std::fprintf(stderr,
                     "contentd: undoing ingest %s: %s; writes wait for it\n",
                     ticket.c_str(), std::string(s.message()).c_str());
        {
          absl::MutexLock lock(&undo_mu_);
          failed_undos_.push_back(ticket);
          has_failed_undos_.store(true, std::memory_order_release);
        }
        CloseIngest(ticket);
        return;
      }
    }
    // The marker stays until the next open (RecoverIngests): deleting it
    // before this unlink is durable could make a crash undo a commit.
    std::remove(file.c_str());
    CloseIngest(ticket);
  }

  // Settles the ingests a crash interrupted: a file whose marker was
  // committed (or written by its undo) is done; one without is undone. Then the
  // markers go. A read-only open hides what it would undo instead.
  absl::Status RecoverIngests() {
    if (read_only_) return HideUncommittedIngests();
    std::error_code ec;
    std::filesystem::create_directories(ingest_dir_, ec);
    if (ec)
      return absl::UnavailableError(
          absl::StrCat("storage: creating ", ingest_dir_, ": ", ec.message()));
    std::vector<std::string> names;
    for (const auto& entry :
         std::filesystem::directory_iterator(ingest_dir_, ec)) {
      names.push_back(entry.path().filename().string());
    }
    if (ec)
      return absl::UnavailableError(
          absl::StrCat("storage: listing ", ingest_dir_, ": ", ec.message()));
    for (const std::string& name : names) {
      if (absl::EndsWith(name, ".sst")) {
        const std::string ticket = name.substr(0, name.size() - 4);
        std::string marker;
        absl::Status s = Get(Family::kMeta, IngestMarkerKey(ticket), &marker,
                             KvReadOptions());
        if (absl::IsNotFound(s)) s = UndoIngest(ticket);
        if (!s.ok()) return s;
      }
      std::remove((ingest_dir_ + "/" + name).c_str());
    }
    if (!SyncDir(ingest_dir_))
      return absl::UnavailableError(
          absl::StrCat("storage: syncing ", ingest_dir_));
    KvBatch markers;
    KvReadOptions ro;
    ro.lower_bound = std::string(kIngestMarkerPrefix);
    ro.upper_bound = PrefixSuccessor(kIngestMarkerPrefix);
    std::unique_ptr<KvIterator> it = NewIterator(Family::kMeta, ro);
    for (it->SeekToFirst(); it->Valid(); it->Next())
      markers.Delete(Family::kMeta, it->key());
    if (!it->status().ok()) return it->status();
    if (markers.empty()) return absl::OkStatus();
    return Write(std::move(markers), /*sync=*/true);
  }

  using KvEngine::Checkpoint;
  absl::Status Checkpoint(const std::string& dir,
                          const CheckpointProgress& progress) override {
    if (read_only_) {
      // Opened read-only for a full volume, the store holds its LOCK and
      // changes no file: a copy of its files is a backup, taken without
      // writing a byte on the full volume (it is how an operator saves the
      // data before freeing space). Other read-only opens (a check, a
      // backup read back) hold no lock and take no backups.
      if (full_why_.ok()) return ReadOnlyError();
      absl::Status where = CheckCheckpointDir(dir);
      if (!where.ok()) return where;
      CopyMeter meter(this, dir, progress);
      absl::Status s = CopyFilesTo(dir);
      if (s.ok()) meter.Finish();
      return s;
    }
    absl::Status where = CheckCheckpointDir(dir);
    if (!where.ok()) return where;
    // Waits out the ingests in progress and holds new ones: the copy has no
    // undo files, so an ingest without its commit would stay in it.
    {
      absl::MutexLock lock(&ingest_mu_);
      ++checkpoints_;
      ingest_mu_.Await(absl::Condition(this, &RocksKv::NoIngestOpen));
    }
    // Nor an ingest whose undo failed (it would have no undo file): settled
    // here, after the wait, as an ingest that ended meanwhile may have left
    // one, and while new ingests are held off.
    absl::Status s = SettleFailedUndos();
    if (s.ok()) {
      CopyMeter meter(this, dir, progress);
      s = CheckpointNow(dir);
      if (s.ok()) meter.Finish();
    }
    absl::MutexLock lock(&ingest_mu_);
    --checkpoints_;
    return s;
  }

  absl::StatusOr<std::unique_ptr<KvEngine>> OpenCheckpoint(
      const std::string& dir) override {
    RocksKvOptions options;
    options.path = dir;
    options.read_only = true;
    options.block_cache_bytes = size_t{8} << 20;  // a few point reads
    return OpenRocksKv(options);
  }

  // A copy inside the store's own directory would go when the directory
  // does (and lives on the same disk); a missing parent is the caller's
  // mistake, not an outage (RocksDB reports it as an IO error).
  absl::Status CheckCheckpointDir(const std::string& dir) const {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path target = fs::weakly_canonical(fs::path(dir), ec);
    const fs::path store = fs::weakly_canonical(fs::path(path_), ec);
    if (!ec) {
      auto t = target.begin();
      auto s = store.begin();
      while (s != store.end() && t != target.end() && *s == *t) ++s, ++t;
      if (s == store.end() || (s->empty() && ++s == store.end())) {
        return absl::InvalidArgumentError(
            absl::StrCat("destination: ", dir, " is inside the data directory ",
                         path_, "; back up to a directory outside it"));
      }
    }
    const fs::path parent = fs::path(dir).parent_path();
    if (fs::exists(parent, ec) && !fs::is_directory(parent, ec)) {
      return absl::FailedPreconditionError(
          absl::StrCat("destination: parent ", parent.string(),
                       " is not a directory on the server"));
    }
    if (!fs::is_directory(parent, ec)) {
      return absl::FailedPreconditionError(
          absl::StrCat("destination: parent directory ", parent.string(),
                       " does not exist on the server"));
    }
    // RocksDB reports an unwritable parent as an IO error (UNAVAILABLE:
    // retry), but retrying cannot help: the caller's mistake.
    if (::access(parent.c_str(), W_OK) != 0) {
      const int err = errno;
      return absl::FailedPreconditionError(
          absl::StrCat("destination: the server cannot write in ",
                       parent.string(), ": ", std::strerror(err)));
    }
    return absl::OkStatus();
  }

  absl::Status CheckpointNow(const std::string& dir) {
    rocksdb::Checkpoint* raw = nullptr;
    rocksdb::Status s = rocksdb::Checkpoint::Create(db_.get(), &raw);
    if (!s.ok()) return ToStatus(s);
    std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
    // Flushes the memtables first (log_size_for_flush 0), so the copy is SST
    // files hard-linked where possible plus a short WAL. Not where the
    // flush has no room (RoomToFlush): a flush that meets a full volume
    // stops every write, and the backup failed with it. The copy then
    // takes the WAL whole instead (copied, not linked), so it still holds
    // every acknowledged write; and if a flush fails after all, the copy
    // is taken again that way.
    const bool flush = RoomToFlush();
    s = checkpoint->CreateCheckpoint(
        dir, flush ? 0 : std::numeric_limits<uint64_t>::max());
    if (s.IsInvalidArgument() &&
        s.ToString().find("exists") != std::string::npos) {
      return absl::AlreadyExistsError(absl::StrCat(dir, " already exists"));
    }
    if (!s.ok() && flush) {
      std::error_code ec;
      if (!std::filesystem::exists(dir, ec)) {
        s = checkpoint->CreateCheckpoint(dir,
                                         std::numeric_limits<uint64_t>::max());
      }
    }
    // Out of room: the copy's, as the try without a flush writes only
    // there (a flush that failed so was followed by that try).
    if (s.IsNoSpace()) return DestinationFull(dir, s.ToString());
    return ToStatus(s);
  }

  // How far a Checkpoint into `dir` has come, for its `progress`: the
  // bytes of the files written into DIR.tmp, where RocksDB's checkpoint and
  // CopyFilesTo build the copy, of the bytes of the files they will copy,
  // measured as it begins: the live files (BackupFiles; for CopyFilesTo,
  // the ingest directory's tables too), but for table and blob files where
  // `dir` is on the store's volume (hard links, which take no time; a table
  // with other links is not counted as copied). On another volume a backup
  // copies every byte: minutes at 1M articles. The total is exact when no
  // file changes meanwhile (a store opened read-only); else an estimate:
  // a checkpoint that flushes the memtables first copies the tables they
  // become (counted as the keys and values they hold) instead of the WAL,
  // which holds them and what was flushed before (its files live on until
  // every family has flushed their writes: half again the store's size
  // after an import), and writes go on. Told at the start and twice a
  // second from a thread of its own; Finish, after a copy that succeeded,
  // tells what `dir` holds.
  class CopyMeter {
   public:
    CopyMeter(RocksKv* kv, const std::string& dir,
              const CheckpointProgress& progress)
        : progress_(progress), dir_(dir), exact_(kv->read_only_) {
      if (!progress_) return;
      const bool same_volume = kv->SameVolume(dir);
      // As CheckpointNow decides.
      const bool flush = !kv->read_only_ && kv->RoomToFlush();
      std::vector<BackupFile> files;
      if (kv->BackupFiles(&files).ok()) {
        for (const BackupFile& f : files)
          if ((!same_volume || !f.table) && !(flush && f.wal)) total_ += f.size;
        if (flush && !same_volume)
          total_ += FlushedBytes(*kv->db_, kv->handles_);
      } else {
        exact_ = false;  // nothing counted: the line shows the bytes alone
      }
      std::error_code ec;
      if (exact_ && !same_volume &&
          std::filesystem::is_directory(kv->ingest_dir_, ec)) {
        for (const auto& entry :
             std::filesystem::directory_iterator(kv->ingest_dir_, ec)) {
          std::error_code size_ec;
          const uintmax_t size = entry.file_size(size_ec);
          if (!size_ec && absl::EndsWith(entry.path().string(), ".sst"))
            total_ += size;
        }
      }
      Tell(dir_ + ".tmp");
      poller_ = std::thread([this] {
        while (
            !stopped_.WaitForNotificationWithTimeout(absl::Milliseconds(500)))
          Tell(dir_ + ".tmp");
      });
    }
    ~CopyMeter() { Stop(); }

    // Tells what the finished copy holds. REQUIRES: the copy is in `dir`.
    void Finish() {
      Stop();
      if (progress_) Tell(dir_);
    }

   private:
    void Stop() {
      if (!poller_.joinable()) return;
      stopped_.Notify();
      poller_.join();
    }

    // Never less than told before: a listing that meets the rename of
    // DIR.tmp into place sees nothing.
    void Tell(const std::string& where) {
      absl::MutexLock lock(&mu_);
      done_ = std::max(done_, CopiedBytes(where));
      progress_(done_, static_cast<int64_t>(total_), exact_);
    }

    // About the bytes of the tables a flush of `handles` writes: the size
    // of the keys and values their memtables hold (not the memtables' size
    // in memory: an arena of a megabyte or more for a few writes).
    static uint64_t FlushedBytes(
        rocksdb::DB& db,
        const std::vector<rocksdb::ColumnFamilyHandle*>& handles) {
      // Past every key: none starts with 0xff (text, which UTF-8 keeps
      // below it, or a big-endian number far below 2^56).
      const std::string end(64, '\xff');
      uint64_t bytes = 0;
      for (rocksdb::ColumnFamilyHandle* h : handles) {
        uint64_t count = 0, size = 0;
        db.GetApproximateMemTableStats(h, rocksdb::Range("", end), &count,
                                       &size);
        if (count == 0) continue;
        // `size` is the entries' mean size times `count`, which RocksDB
        // estimates from the skip list's levels: for a few large entries
        // that was off by up to a half either way (a backup's total 33%
        // under the copy). Over the whole key range the memtables' exact
        // entry counts say how many there are.
        uint64_t active = 0, immutable = 0;
        if (db.GetIntProperty(h, "rocksdb.num-entries-active-mem-table",
                              &active) &&
            db.GetIntProperty(h, "rocksdb.num-entries-imm-mem-tables",
                              &immutable) &&
            active + immutable > 0) {
          size = size / count * (active + immutable);
        }
        bytes += size;
      }
      return bytes;
    }

    // The bytes of the files under `dir` that were copied, not linked.
    static int64_t CopiedBytes(const std::string& dir) {
      namespace fs = std::filesystem;
      int64_t bytes = 0;
      std::error_code ec;
      for (fs::recursive_directory_iterator it(dir, ec), end; !ec && it != end;
           it.increment(ec)) {
        struct stat st;
        if (::lstat(it->path().c_str(), &st) != 0 || !S_ISREG(st.st_mode))
          continue;
        // Tables, blob files and OPTIONS are linked where they can be.
        if (st.st_nlink == 1) bytes += st.st_size;
      }
      return bytes;
    }

    const CheckpointProgress& progress_;
    const std::string dir_;
    bool exact_;
    uint64_t total_ = 0;
    absl::Mutex mu_;  // one call of progress_ at a time
    int64_t done_ ABSL_GUARDED_BY(mu_) = 0;
    absl::Notification stopped_;
    std::thread poller_;
  };

  // Whether `dir`, a backup's destination, is on the store's volume (its
  // parent is, as `dir` does not exist yet).
  bool SameVolume(const std::string& dir) const {
    const std::string parent =
        std::filesystem::path(dir).parent_path().string();
    struct stat store_st, dest_st;
    return ::stat(path_.c_str(), &store_st) == 0 &&
           ::stat(parent.c_str(), &dest_st) == 0 &&
           store_st.st_dev == dest_st.st_dev;
  }

  // The RESOURCE_EXHAUSTED (DESTINATION_FULL) of a backup into `dir` that
  // ran out of room there (`error` says how): the destination's volume, not
  // the store's, whose DISK_FULL means that writes stop. It names the
  // destination, its free space and about what the copy needs: the
  // database's live files (BackupFiles), but for table and blob files where
  // `dir` is on the store's volume (hard links).
  absl::Status DestinationFull(const std::string& dir,
                               absl::string_view error) const {
    namespace fs = std::filesystem;
    const std::string parent = fs::path(dir).parent_path().string();
    const bool same_volume = SameVolume(dir);
    uint64_t needed = 0;
    std::error_code ec;
    std::vector<BackupFile> files;
    if (BackupFiles(&files).ok()) {
      // What a checkpoint or CopyFilesTo copies: the live files only.
      for (const BackupFile& f : files)
        if (!same_volume || !f.table) needed += f.size;
    } else {
      // For want of better, the directory's files of those kinds.
      for (const auto& entry : fs::directory_iterator(path_, ec)) {
        const std::string name = entry.path().filename().string();
        const bool table =
            absl::EndsWith(name, ".sst") || absl::EndsWith(name, ".blob");
        if (table ? same_volume : !CopiedDatabaseFile(name)) continue;
        std::error_code size_ec;
        const uintmax_t size = entry.file_size(size_ec);
        if (!size_ec) needed += size;
      }
    }
    absl::StatusOr<uint64_t> free_bytes = FreeBytesAt(parent);
    ErrorInfoMetadata metadata = {{"destination", dir}};
    if (free_bytes.ok())
      metadata.emplace_back("free_bytes", absl::StrCat(*free_bytes));
    if (!ec) metadata.emplace_back("needed_bytes", absl::StrCat(needed));
    return WithReason(
        absl::ResourceExhaustedError(absl::StrCat(
            "destination: no room for the backup in ", dir, ": its volume has ",
            free_bytes.ok() ? absl::StrCat(*free_bytes, " bytes")
                            : std::string("too little"),
            " free",
            ec ? std::string()
               : absl::StrCat(", and the copy needs about ", needed, " bytes"),
            "; free space there or back up to a volume with room. ",
            same_volume
                ? absl::StrCat("It is the store's own volume: writes to the "
                               "store may be refused too until ",
                               path_, " has room")
                : absl::StrCat("The store's own volume (", path_,
                               ") is another: writes go on"),
            " (", error, ")")),
        reason::kDestinationFull, std::move(metadata));
  }

  struct BackupFile {
    std::string name;  // in the database directory
    uint64_t size = 0;
    bool table = false;  // a table or blob file (hard-linked where it can)
    bool wal = false;
  };
  // The database files a backup copies: RocksDB's live ones (tables, blob
  // files, the WAL, the MANIFEST, CURRENT, OPTIONS), as of now without a
  // flush, and IDENTITY. Not the obsolete files RocksDB no longer uses,
  // which stay in the directory until a read-write open deletes them (a
  // crash, or a switch to read-write that held deletions, can leave them).
  absl::Status BackupFiles(std::vector<BackupFile>* files) const {
    std::vector<rocksdb::LiveFileStorageInfo> live;
    rocksdb::LiveFilesStorageInfoOptions no_flush;
    no_flush.wal_size_for_flush = std::numeric_limits<uint64_t>::max();
    rocksdb::Status s = db_->GetLiveFilesStorageInfo(no_flush, &live);
    if (!s.ok()) return ToStatus(s);
    files->clear();
    for (const rocksdb::LiveFileStorageInfo& f : live) {
      files->push_back({f.relative_filename, f.size,
                        f.file_type == rocksdb::kTableFile ||
                            f.file_type == rocksdb::kBlobFile,
                        f.file_type == rocksdb::kWalFile});
    }
    std::error_code ec;
    const uintmax_t identity = std::filesystem::file_size(
        std::filesystem::path(path_) / "IDENTITY", ec);
    if (!ec) files->push_back({"IDENTITY", identity, false});
    return absl::OkStatus();
  }

  // Whether a backup copies the database file `name` (not a table file)
  // into the destination: the WAL, the MANIFEST and the small files that
  // name it. (Where RocksDB cannot list its live files.)
  static bool CopiedDatabaseFile(const std::string& name) {
    return absl::EndsWith(name, ".log") || name == "CURRENT" ||
           name == "IDENTITY" || absl::StartsWith(name, "MANIFEST-") ||
           absl::StartsWith(name, "OPTIONS-");
  }

  // Whether a flush of the memtables now has room: no flush failed for want
  // of it since (writes wait for one), and the volume has room for the
  // memtables and the 2 MiB reserve a write keeps (CheckSpace).
  bool RoomToFlush() {
    {
      absl::MutexLock lock(&recovery_mu_);
      if (needs_resume_) return false;
    }
    absl::StatusOr<uint64_t> free_bytes = FreeBytes();
    return free_bytes.ok() &&
           *free_bytes >= MemtableBytes() + (uint64_t{2} << 20);
  }

  // Tests only (RocksKvOptions::free_space): how the free space of the
  // store's volume is measured.
  void SetFreeSpaceProbe(
      std::function<absl::StatusOr<uint64_t>(const std::string&)> probe) {
    free_space_ = std::move(probe);
  }
  // The bytes free on the store's volume.
  absl::StatusOr<uint64_t> FreeBytes() const {
    return free_space_ ? free_space_(path_) : FreeBytesAt(path_);
  }

  // The bytes RocksDB's memtables hold, all families, flushed or not.
  uint64_t MemtableBytes() const {
    uint64_t memtables = 0;
    for (rocksdb::ColumnFamilyHandle* h : handles_) {
      uint64_t bytes = 0;
      if (db_->GetIntProperty(h, "rocksdb.cur-size-all-mem-tables", &bytes))
        memtables += bytes;
    }
    return memtables;
  }

  // A backup of a store opened read-only for a full volume: its database
  // files copied into `dir`, staged in DIR.tmp and renamed once whole, as
  // RocksDB's checkpoints are. Table and blob files, which never change,
  // are hard links where `dir` is on the same volume; the MANIFEST, WAL
  // and the rest are copies. The ingest directory goes too, so that the
  // copy's first read-write open undoes the ingests this one hides.
  absl::Status CopyFilesTo(const std::string& dir) const {
    namespace fs = std::filesystem;
    std::error_code ec;
    if (fs::exists(dir, ec))
      return absl::AlreadyExistsError(absl::StrCat(dir, " already exists"));
    const std::string staging = dir + ".tmp";
    fs::remove_all(staging, ec);  // left by a backup that failed
    // The live files, as a checkpoint copies; by name where RocksDB
    // cannot list them.
    std::vector<BackupFile> files;
    absl::flat_hash_set<std::string> live;
    if (BackupFiles(&files).ok()) {
      for (const BackupFile& f : files) live.insert(f.name);
    }
    absl::Status s = CopyDatabaseFiles(path_, staging, /*ingest=*/false,
                                       live.empty() ? nullptr : &live);
    if (s.ok() && fs::is_directory(ingest_dir_, ec))
      s = CopyDatabaseFiles(ingest_dir_, staging + "/ingest", /*ingest=*/true);
    if (s.ok() && !SyncDir(staging))
      s = absl::UnavailableError(absl::StrCat("storage: syncing ", staging));
    if (s.ok() && ::rename(staging.c_str(), dir.c_str()) != 0)
      s = FileError("renaming ", staging, errno);
    if (s.ok() && !SyncDir(fs::path(dir).parent_path().string()))
      s = absl::UnavailableError(absl::StrCat("storage: syncing ", dir));
    if (!s.ok()) fs::remove_all(staging, ec);
    // Only the copy writes (the store's volume is the full one, and gets
    // nothing): a full disk is the destination's.
    if (ReasonOf(s) == reason::kDiskFull)
      return DestinationFull(dir, s.message());
    return s;
  }

  // Copies (or links) the files of a database directory `from` that a copy
  // needs into `to`, created here: those in `live` if given, else by name;
  // of an ingest directory, its tables.
  static absl::Status CopyDatabaseFiles(
      const std::string& from, const std::string& to, bool ingest,
      const absl::flat_hash_set<std::string>* live = nullptr) {
    namespace fs = std::filesystem;
    if (::mkdir(to.c_str(), 0755) != 0)
      return FileError("creating ", to, errno);
    std::error_code ec;
    std::vector<std::string> names;
    for (const auto& entry : fs::directory_iterator(from, ec)) {
      if (entry.is_regular_file(ec))
        names.push_back(entry.path().filename().string());
    }
    if (ec) {
      return absl::UnavailableError(
          absl::StrCat("storage: listing ", from, ": ", ec.message()));
    }
    for (const std::string& name : names) {
      const bool table =
          absl::EndsWith(name, ".sst") || absl::EndsWith(name, ".blob");
      const bool needed = ingest            ? absl::EndsWith(name, ".sst")
                          : live != nullptr ? live->contains(name)
                                            : table || CopiedDatabaseFile(name);
      if (!needed) continue;
      const std::string src = from + "/" + name;
      const std::string dst = to + "/" + name;
      if (table && ::link(src.c_str(), dst.c_str()) == 0) continue;
      if (absl::Status s = CopyFile(src, dst); !s.ok()) return s;
    }
    return SyncDir(to)
               ? absl::OkStatus()
               : absl::UnavailableError(absl::StrCat("storage: syncing ", to));
  }

  // Copies `src` to `dst` (which must not exist) and syncs it.
  static absl::Status CopyFile(const std::string& src, const std::string& dst) {
    const int in = ::open(src.c_str(), O_RDONLY | O_CLOEXEC);
    if (in < 0) return FileError("opening ", src, errno);
    const int out =
        ::open(dst.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (out < 0) {
      const int err = errno;
      ::close(in);
      return FileError("creating ", dst, err);
    }
    std::vector<char> buf(size_t{1} << 20);
    absl::Status s;
    for (;;) {
      const ssize_t n = ::read(in, buf.data(), buf.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        s = FileError("reading ", src, errno);
        break;
      }
      if (n == 0) break;
      for (ssize_t done = 0; done < n;) {
        const ssize_t w = ::write(out, buf.data() + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0) {
          s = FileError("writing ", dst, errno);
          break;
        }
        done += w;
      }
      if (!s.ok()) break;
    }
    if (s.ok() && ::fsync(out) != 0) s = FileError("syncing ", dst, errno);
    ::close(out);
    ::close(in);
    return s;
  }

  // A failed file operation of a backup copy; ENOSPC as a full disk.
  static absl::Status FileError(absl::string_view what, const std::string& file,
                                int err) {
    const std::string msg =
        absl::StrCat("storage: ", what, file, ": ", std::strerror(err));
    if (err == ENOSPC) {
      return WithReason(absl::ResourceExhaustedError(msg), reason::kDiskFull);
    }
    return absl::UnavailableError(msg);
  }

  absl::Status WritesRefused() override {
    if (read_only_) return ReadOnlyError();
    return halt_->status();
  }

  std::vector<std::pair<std::string, std::string>> Stats() override {
    std::vector<std::pair<std::string, std::string>> out;
    for (const char* name :
         {"rocksdb.estimate-live-data-size", "rocksdb.total-sst-files-size",
          "rocksdb.cur-size-all-mem-tables", "rocksdb.estimate-num-keys",
          "rocksdb.estimate-pending-compaction-bytes",
          "rocksdb.num-running-compactions", "rocksdb.block-cache-usage",
          "rocksdb.block-cache-capacity", "rocksdb.block-cache-pinned-usage",
          "rocksdb.estimate-table-readers-mem"}) {
      uint64_t total = 0;
      bool any = false;
      for (auto* h : handles_) {
        uint64_t v = 0;
        if (db_->GetIntProperty(h, name, &v)) {
          total += v;
          any = true;
        }
      }
      // The block cache is shared and running compactions are counted for
      // the whole database: read those once (summed, they read 5x).
      if (any && (absl::StrContains(name, "block-cache") ||
                  absl::StrContains(name, "num-running-compactions"))) {
        db_->GetIntProperty(handles_[0], name, &total);
      }
      if (any) out.emplace_back(name, absl::StrCat(total));
    }
    if (const std::shared_ptr<rocksdb::Statistics> st =
            db_->GetDBOptions().statistics) {
      const uint64_t hits = st->getTickerCount(rocksdb::BLOCK_CACHE_HIT);
      const uint64_t misses = st->getTickerCount(rocksdb::BLOCK_CACHE_MISS);
      out.emplace_back("rocksdb.block-cache-hit", absl::StrCat(hits));
      out.emplace_back("rocksdb.block-cache-miss", absl::StrCat(misses));
      out.emplace_back(
          "rocksdb.block-cache-hit-ratio",
          absl::StrCat(hits + misses == 0
                           ? 0.0
                           : static_cast<double>(hits) / (hits + misses)));
      // Revision bodies live in blob files and share the cache, but their
      // lookups are counted apart: a page or get that misses reads a file.
      out.emplace_back(
          "rocksdb.blob-cache-hit",
          absl::StrCat(st->getTickerCount(rocksdb::BLOB_DB_CACHE_HIT)));
      out.emplace_back(
          "rocksdb.blob-cache-miss",
          absl::StrCat(st->getTickerCount(rocksdb::BLOB_DB_CACHE_MISS)));
    }
    if (!read_only_) {
      out.emplace_back("rocksdb.write-resumes",
                       absl::StrCat(resumes_.load(std::memory_order_relaxed)));
    }
    std::string stats;
    if (db_->GetProperty(handles_[0], "rocksdb.dbstats", &stats)) {
      // Cumulative writes and WAL syncs are in the text; keep it for admins.
      out.emplace_back("rocksdb.dbstats", stats);
    }
    return out;
  }

 private:
  rocksdb::ColumnFamilyHandle* handle(Family f) const {
    return handles_[static_cast<int>(f)];
  }
  // What every write answers on a read-only open.
  absl::Status ReadOnlyError() const {
    return !full_why_.ok() ? full_why_ : OpenedReadOnlyError();
  }
  bool Hidden(Family f, absl::string_view key) const {
    const HiddenKeys& hidden = hidden_[static_cast<size_t>(f)];
    return !hidden.empty() && hidden.contains(key);
  }
  // RESOURCE_EXHAUSTED unless the data directory has room for `bytes` of
  // WAL plus a reserve for flushes and the manifest.
  // Measured as the rest of the full-volume logic measures it (FreeBytes);
  // a volume whose free space cannot be read is left to RocksDB.
  absl::Status CheckSpace(size_t bytes) const {
    constexpr uint64_t kReserve = uint64_t{2} << 20;
    absl::StatusOr<uint64_t> free_bytes = FreeBytes();
    if (!free_bytes.ok()) return absl::OkStatus();
    if (*free_bytes >= 2 * uint64_t{bytes} + kReserve) return absl::OkStatus();
    return WithReason(absl::ResourceExhaustedError(absl::StrCat(
                          "storage: disk full: ", *free_bytes,
                          " bytes free in ", path_, ", a write of ", bytes,
                          " bytes needs ", 2 * uint64_t{bytes} + kReserve)),
                      reason::kDiskFull);
  }

  // Sum of the live WAL files' sizes (0 if they cannot be listed).
  uint64_t LiveWalBytes() const {
    rocksdb::VectorLogPtr files;
    if (!db_->GetSortedWalFiles(files).ok()) return 0;
    uint64_t bytes = 0;
    for (const auto& f : files) bytes += f->SizeFileBytes();
    return bytes;
  }

  // While postings ingest, level 0 collects their small tables and each
  // compaction merges many of them into level 1 at once; the default trigger
  // rewrote level 1 every few tables. Queries then read more level-0 tables,
  // so the normal shape returns bulk_shape_hold_ after the last ingest, on
  // the next read or write (nobody reads a shape nobody uses). Any ingest
  // also lifts the counters' merge cap, and keeps compactions unsplit.
  void EnterBulkShape(Family family) {
    bulk_until_us_.store(absl::ToUnixMicros(absl::Now() + bulk_shape_hold_),
                         std::memory_order_relaxed);
    absl::MutexLock lock(&shape_mu_);
    const uint32_t bit = 1u << static_cast<int>(family);
    if (bulk_families_ & bit) return;
    if (bulk_families_ == 0) {
      SetSubcompactions(kBulkSubcompactions);
      SetMergeCap(kBulkMergeCap);
    }
    bulk_families_ |= bit;
    // Revision tables of ids that come in order land below level 0 (a
    // sorted tree applied, or a corpus), and level 0 of the other families
    // must stay under their slowdown trigger (64).
    if (family == Family::kPostings) SetL0Trigger(family, kBulkL0Trigger);
  }

  void MaybeLeaveBulkShape() {
    const int64_t until = bulk_until_us_.load(std::memory_order_relaxed);
    if (until == 0 || absl::ToUnixMicros(absl::Now()) < until) return;
    absl::MutexLock lock(&shape_mu_);
    // Fails if an ingest extended the hold meanwhile.
    int64_t expected = until;
    if (!bulk_until_us_.compare_exchange_strong(expected, 0)) return;
    // Before the trigger drops: the compaction that follows is split.
    if (bulk_families_ != 0) {
      SetSubcompactions(kNormalSubcompactions);
      SetMergeCap(kNormalMergeCap);
    }
    if (bulk_families_ & (1u << static_cast<int>(Family::kPostings)))
      SetL0Trigger(Family::kPostings, kNormalL0Trigger);
    bulk_families_ = 0;
  }

  // A memtable keeps the cap it was created with: the meta memtable is
  // flushed (in the background) so that the next one has this cap.
  void SetMergeCap(int cap) {
    rocksdb::ColumnFamilyHandle* meta = handle(Family::kMeta);
    rocksdb::Status s =
        db_->SetOptions(meta, {{"max_successive_merges", std::to_string(cap)}});
    if (s.ok()) {
      rocksdb::FlushOptions fo;
      fo.wait = false;
      fo.allow_write_stall = true;
      s = db_->Flush(fo, meta);
    }
    if (!s.ok()) {
      std::fprintf(stderr, "contentd: setting the counters' merge cap: %s\n",
                   s.ToString().c_str());
    }
  }

  void SetSubcompactions(int n) {
    rocksdb::Status s =
        db_->SetDBOptions({{"max_subcompactions", std::to_string(n)}});
    if (!s.ok()) {
      std::fprintf(stderr, "contentd: setting max_subcompactions: %s\n",
                   s.ToString().c_str());
    }
  }

  void SetL0Trigger(Family family, int trigger) {
    rocksdb::Status s = db_->SetOptions(
        handle(family),
        {{"level0_file_num_compaction_trigger", std::to_string(trigger)}});
    if (!s.ok()) {
      std::fprintf(stderr, "contentd: setting the level-0 trigger: %s\n",
                   s.ToString().c_str());
    }
  }

  // Ends the count of an open ingest (Ingest failed or EndIngest).
  void CloseIngest(const std::string& ticket) {
    absl::MutexLock lock(&ingest_mu_);
    auto owner = ingest_owners_.find(ticket);
    if (owner == ingest_owners_.end()) return;  // not open
    auto held = ingest_threads_.find(owner->second);
    if (held != ingest_threads_.end() && --held->second == 0)
      ingest_threads_.erase(held);
    ingest_owners_.erase(owner);
    --ingests_open_;
  }
  bool NoCheckpoint() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(ingest_mu_) {
    return checkpoints_ == 0;
  }
  bool NoIngestOpen() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(ingest_mu_) {
    return ingests_open_ == 0;
  }

  std::string IngestFile(absl::string_view ticket) const {
    return absl::StrCat(ingest_dir_, "/", ticket, ".sst");
  }

  static bool SyncDir(const std::string& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY);
    if (fd < 0) return false;
    const bool ok = ::fsync(fd) == 0;
    ::close(fd);
    return ok;
  }

  // Calls `visit` with each key of an ingest's file (the ticket names its
  // family). A file that is not a table was never ingested.
  absl::Status ForEachIngestedKey(
      const std::string& ticket,
      const std::function<void(Family, absl::string_view)>& visit) {
    int family = -1;
    if (!absl::SimpleAtoi(ticket.substr(0, ticket.find('-')), &family) ||
        family < 0 || family >= kFamilyCount)
      return absl::OkStatus();  // not ours
    rocksdb::SstFileReader reader(db_->GetOptions(handles_[family]));
    // Only a file that is not a whole table (a crash before Finish synced
    // it) was never ingested; any other failure to read it (EMFILE, EIO)
    // would leave ingested keys behind if taken for that.
    const rocksdb::Status opened = reader.Open(IngestFile(ticket));
    if (opened.IsCorruption() || opened.IsNotFound()) return absl::OkStatus();
    if (!opened.ok()) return ToStatus(opened);
    rocksdb::ReadOptions ro;
    std::unique_ptr<rocksdb::Iterator> it(reader.NewIterator(ro));
    for (it->SeekToFirst(); it->Valid(); it->Next())
      visit(static_cast<Family>(family),
            absl::string_view(it->key().data(), it->key().size()));
    return ToStatus(it->status());
  }

  // Deletes the keys of an ingest's file, and settles its ticket in the
  // same synced write: the file's removal that follows is not synced, and
  // should a power loss bring the file back, an open must not undo it
  // again over the keys written since (the same import, retried).
  absl::Status UndoIngest(const std::string& ticket) {
    KvBatch undo;
    absl::Status s = ForEachIngestedKey(
        ticket,
        [&undo](Family f, absl::string_view key) { undo.Delete(f, key); });
    if (!s.ok()) return s;
    if (undo.empty()) return absl::OkStatus();
    undo.Put(Family::kMeta, IngestMarkerKey(ticket), "");
    return WriteNow(std::move(undo), /*sync=*/true);
  }

  // Retries the undos EndIngest could not do; until they are done every
  // write, ingest and checkpoint fails with their error.
  absl::Status SettleFailedUndos() {
    if (!has_failed_undos_.load(std::memory_order_acquire))
      return absl::OkStatus();
    absl::MutexLock lock(&undo_mu_);
    while (!failed_undos_.empty()) {
      const std::string& ticket = failed_undos_.back();
      absl::Status s = UndoIngest(ticket);
      if (!s.ok()) {
        return absl::Status(
            s.code(), absl::StrCat("storage: undoing a failed import first: ",
                                   s.message()));
      }
      std::remove(IngestFile(ticket).c_str());
      failed_undos_.pop_back();
    }
    has_failed_undos_.store(false, std::memory_order_release);
    return absl::OkStatus();
  }

  // Read-only opens: hides the keys RecoverIngests would undo (ingests
  // without their committed marker), changing nothing on disk.
  absl::Status HideUncommittedIngests() {
    std::error_code ec;
    if (!std::filesystem::is_directory(ingest_dir_, ec))
      return absl::OkStatus();
    std::vector<std::string> tickets;
    for (const auto& entry :
         std::filesystem::directory_iterator(ingest_dir_, ec)) {
      const std::string name = entry.path().filename().string();
      if (absl::EndsWith(name, ".sst"))
        tickets.push_back(name.substr(0, name.size() - 4));
    }
    if (ec)
      return absl::UnavailableError(
          absl::StrCat("storage: listing ", ingest_dir_, ": ", ec.message()));
    for (const std::string& ticket : tickets) {
      std::string marker;
      absl::Status s =
          Get(Family::kMeta, IngestMarkerKey(ticket), &marker, KvReadOptions());
      if (s.ok()) continue;  // committed
      if (!absl::IsNotFound(s)) return s;
      s = ForEachIngestedKey(ticket, [this](Family f, absl::string_view key) {
        hidden_[static_cast<size_t>(f)].emplace(key);
      });
      if (!s.ok()) return s;
    }
    return absl::OkStatus();
  }

  // The file system's Env (null: the default one); outlives db_.
  std::unique_ptr<rocksdb::Env> env_;
  std::shared_ptr<WriteHalt> halt_;
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  const std::string path_;
  const std::string ingest_dir_ = path_ + "/ingest";
  // Tickets are unique across opens: the open's time and a counter.
  const int64_t ingest_epoch_ = absl::ToUnixMicros(absl::Now());
  std::atomic<uint64_t> ingest_count_{0};
  // Unix micros until which the ingesting families keep the bulk shape;
  // 0 when none has it.
  std::atomic<int64_t> bulk_until_us_{0};
  // Ingests between Ingest and EndIngest, and checkpoints in progress.
  absl::Mutex ingest_mu_;
  int ingests_open_ ABSL_GUARDED_BY(ingest_mu_) = 0;
  // Open ingests by the thread that made them, and each ticket's thread.
  absl::flat_hash_map<std::thread::id, int> ingest_threads_
      ABSL_GUARDED_BY(ingest_mu_);
  absl::flat_hash_map<std::string, std::thread::id> ingest_owners_
      ABSL_GUARDED_BY(ingest_mu_);
  // Tickets of ingests whose undo failed (see SettleFailedUndos).
  absl::Mutex undo_mu_;
  std::vector<std::string> failed_undos_ ABSL_GUARDED_BY(undo_mu_);
  std::atomic<bool> has_failed_undos_{false};
  int checkpoints_ ABSL_GUARDED_BY(ingest_mu_) = 0;
  absl::Mutex shape_mu_;
  uint32_t bulk_families_ ABSL_GUARDED_BY(shape_mu_) = 0;
  const size_t flush_on_close_wal_bytes_;
  const absl::Duration bulk_shape_hold_;
  absl::Mutex expect_mu_;
  // Serializes writes with recovery. The store's group commit already
  // issues one write at a time, so this costs nothing in the common case.
  absl::Mutex recovery_mu_;
  absl::Mutex compact_mu_;  // one CompactAll at a time
  struct Density {
    std::atomic<int64_t> refreshed_ns{0};
    std::atomic<double> bytes_per_key{32.0};  // until first measured
  };
  std::array<Density, kFamilyCount> density_;
  bool needs_resume_ ABSL_GUARDED_BY(recovery_mu_) = false;
  // The last Resume's error while it failed for want of room (else OK),
  // and the bytes free when it began.
  rocksdb::Status resume_no_space_ ABSL_GUARDED_BY(recovery_mu_);
  uint64_t resume_failed_free_ ABSL_GUARDED_BY(recovery_mu_) = 0;
  // Resume calls (flushes to take writes again after a failed one), for
  // Stats: a full volume must not make them churn.
  std::atomic<uint64_t> resumes_{0};
  const bool read_only_;
  // Not OK when the store opened read-only for a full volume (what every
  // write answers); its LOCK is then held (ReopeningKv), so no other
  // process changes its files.
  const absl::Status full_why_;
  // Filled at a read-only open (HideUncommittedIngests), then only read.
  std::array<HiddenKeys, kFamilyCount> hidden_;
  // Set at open (SetFreeSpaceProbe), then only read.
  std::function<absl::StatusOr<uint64_t>(const std::string&)> free_space_;
};

// RocksDB's info log (DIR/LOG), written with plain write(2) calls whose
// errors are ignored. RocksDB 7.8's own logger appends through a
// WritableFileWriter, which asserts (aborting contentd) on the append after
// one that failed: on a full disk the first log line after an ENOSPC took
// the process down, at start (it could not be started again until space
// was freed) and during `admin compact --storage`, whose failure RocksDB
// logs. A lost log line is the lesser harm. The LOG of the previous run is
// kept as LOG.old.MICROS, as RocksDB names it, and RocksDB deletes those
// beyond keep_log_file_num.
class BestEffortLogger : public rocksdb::Logger {
 public:
  // nullptr if DIR/LOG cannot be opened (a read-only or missing directory):
  // RocksDB then opens its own and says why it cannot.
  static std::shared_ptr<rocksdb::Logger> Open(const std::string& dir,
                                               rocksdb::InfoLogLevel level) {
    const std::string path = dir + "/LOG";
    std::error_code ec;
    std::filesystem::create_directories(dir, ec);  // as RocksDB would
    struct stat st;
    if (::stat(path.c_str(), &st) == 0 && st.st_size > 0) {
      // Best effort too: on failure the new lines follow the old ones.
      (void)::rename(path.c_str(), absl::StrCat(dir, "/LOG.old.",
                                                absl::ToUnixMicros(absl::Now()))
                                       .c_str());
    }
    const int fd =
        ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) return nullptr;
    return std::make_shared<BestEffortLogger>(fd, level);
  }

  BestEffortLogger(int fd, rocksdb::InfoLogLevel level)
      : rocksdb::Logger(level), fd_(fd) {}
  ~BestEffortLogger() override { ::close(fd_); }

  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    // `2026/12/04-16:21:17.744815 23019 text`, as RocksDB's own lines.
    const absl::Time now = absl::Now();
    std::string line =
        absl::FormatTime("%Y/%m/%d-%H:%M:%E6S ", now, absl::LocalTimeZone());
    absl::StrAppend(&line, static_cast<int64_t>(::gettid()), " ");
    char buf[1024];
    va_list copy;
    va_copy(copy, ap);
    const int n = std::vsnprintf(buf, sizeof(buf), format, copy);
    va_end(copy);
    if (n < 0) return;
    if (static_cast<size_t>(n) < sizeof(buf)) {
      line.append(buf, static_cast<size_t>(n));
    } else {
      std::string big(static_cast<size_t>(n) + 1, '\0');
      std::vsnprintf(big.data(), big.size(), format, ap);
      big.pop_back();
      line += big;
    }
    if (line.back() != '\n') line += '\n';
    // One write per line (O_APPEND), so lines of threads do not interleave.
    (void)!::write(fd_, line.data(), line.size());
  }

 private:
  const int fd_;
};

// Bytes free on the volume of `path`, or of its nearest existing parent.
// An error for a volume that cannot hold the store at all: read-only, or a
// pseudo filesystem (/proc, /sys: no blocks, so "0 bytes free"). The open
// then says why it fails ("Read-only file system", "No such file or
// directory") rather than that the volume is full.
absl::StatusOr<uint64_t> FreeBytesAt(const std::string& path) {
  std::error_code ec;
  std::filesystem::path at = std::filesystem::absolute(path, ec);
  if (ec) at = path;
  while (!std::filesystem::exists(at, ec) && at.has_parent_path() &&
         at.parent_path() != at) {
    at = at.parent_path();
  }
  struct statvfs fs;
  if (statvfs(at.c_str(), &fs) != 0) {
    return absl::UnavailableError(absl::StrCat(
        "storage: free space of ", at.string(), ": ", std::strerror(errno)));
  }
  if ((fs.f_flag & ST_RDONLY) != 0 || fs.f_blocks == 0) {
    return absl::FailedPreconditionError(
        absl::StrCat("storage: ", at.string(), " cannot hold files"));
  }
  return uint64_t{fs.f_bavail} * fs.f_frsize;
}

// RocksDB's preallocation of its log files (fallocate): each WAL reserves
// 1.1 x the largest write buffer, each MANIFEST manifest_preallocation_size.
// On a volume with little free space (an ext4 of 40 MB: the first WAL
// took 28 MB, the MANIFEST 4 MB) that reservation was all of it: the store's
// own space check (RocksKv::CheckSpace) then refused the first write at
// start with "0 bytes free" while the files were a few KB. So small volumes
// go without: less than kNoPreallocationFactor times the reservation free.
constexpr uint64_t kNoPreallocationFactor = 8;

// Sets how `db_options` preallocates, and refuses to create a database on
// a volume too small for one (see OpenRocksKv).
absl::Status FitToVolume(const RocksKvOptions& options,
                         rocksdb::Options* db_options) {
  absl::StatusOr<uint64_t> free_bytes = options.free_space
                                            ? options.free_space(options.path)
                                            : FreeBytesAt(options.path);
  if (!free_bytes.ok()) return absl::OkStatus();  // the open says what fails
  std::error_code ec;
  const bool fresh =
      !std::filesystem::exists(options.path + "/CURRENT", ec) && !ec;
  if (fresh && *free_bytes < kRocksKvMinFreeToCreate) {
    return absl::ResourceExhaustedError(absl::StrCat(
        "opening ", options.path, ": the volume has ", *free_bytes,
        " bytes free; a new store needs at least ", kRocksKvMinFreeToCreate,
        " (", kRocksKvMinFreeToCreate >> 20, " MiB)"));
  }
  const uint64_t reserved = options.write_buffer_bytes / 10 * 11 +
                            db_options->manifest_preallocation_size;
  if (*free_bytes < kNoPreallocationFactor * reserved)
    db_options->allow_fallocate = false;
  // An open replays the WAL into memtables and by default flushes them to
  // new table and blob files: as many bytes again as the WAL holds. On a
  // volume that filled up (the reason contentd was restarted, often) that
  // flush failed with ENOSPC and contentd could not start at all, not even
  // to serve reads. Without room for it, the replayed writes stay in the
  // memtables and the WAL is kept: reads are served, writes are refused
  // with "disk full" until space returns, and flushes run then.
  uint64_t wal_bytes = 0;
  if (!fresh) {
    for (const auto& entry :
         std::filesystem::directory_iterator(options.path, ec)) {
      if (entry.path().extension() != ".log") continue;
      std::error_code size_ec;
      const uintmax_t size = entry.file_size(size_ec);
      if (!size_ec) wal_bytes += size;
    }
  }
  if (*free_bytes < 2 * wal_bytes + reserved)
    db_options->avoid_flush_during_recovery = true;
  return absl::OkStatus();
}

// OpenRocksKv's fallback for an existing database whose read-write open
// failed for want of space: takes LOCK's write lock (RocksDB's own, a POSIX
// record lock, which a read-only open does not take) and opens read-only.
// FAILED_PRECONDITION when this does not apply (no database there), so the
// caller reports the read-write open's error.
absl::StatusOr<FullVolume> OpenReadOnlyForFullVolume(
    const RocksKvOptions& options, rocksdb::Options db_options,
    const std::vector<rocksdb::ColumnFamilyDescriptor>& descriptors,
    std::vector<rocksdb::ColumnFamilyHandle*>* handles, rocksdb::DB** raw) {
  std::error_code ec;
  if (!std::filesystem::exists(options.path + "/CURRENT", ec))
    return absl::FailedPreconditionError("no database");
  const std::string lock = options.path + "/LOCK";
  const int fd = ::open(lock.c_str(), O_RDWR | O_CLOEXEC);
  if (fd < 0) return absl::FailedPreconditionError("no LOCK file");
  struct flock fl = {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  if (::fcntl(fd, F_SETLK, &fl) != 0) {
    ::close(fd);
    return absl::UnavailableError(
        absl::StrCat("opening ", options.path, ": ", lock,
                     " is locked: another process has the store open"));
  }
  db_options.create_if_missing = false;
  db_options.create_missing_column_families = false;
  handles->clear();
  rocksdb::Status s = rocksdb::DB::OpenForReadOnly(
      rocksdb::DBOptions(db_options), options.path, descriptors, handles, raw);
  if (!s.ok()) {
    ::close(fd);
    return absl::Status(
        ToStatus(s).code(),
        absl::StrCat("opening ", options.path,
                     " read-only for a full volume: ", s.ToString()));
  }
  absl::StatusOr<uint64_t> free_bytes = options.free_space
                                            ? options.free_space(options.path)
                                            : FreeBytesAt(options.path);
  // A read-write open writes a MANIFEST about as big as the current one,
  // an OPTIONS file and a WAL, and the write path keeps 2 MiB free.
  uint64_t manifest_bytes = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(options.path, ec)) {
    if (!absl::StartsWith(entry.path().filename().string(), "MANIFEST-"))
      continue;
    std::error_code size_ec;
    manifest_bytes =
        std::max<uint64_t>(manifest_bytes, entry.file_size(size_ec));
  }
  FullVolume full;
  full.lock_fd = fd;
  full.room_needed = kRocksKvMinFreeToCreate + manifest_bytes;
  full.why = FullVolumeError(options, free_bytes.ok() ? *free_bytes : 0,
                             full.room_needed);
  return full;
}

// The file system of ReopeningKv's read-write open, whose process holds
// the database's LOCK already, through FullVolume::lock_fd: RocksDB's lock
// of that file takes nothing and its unlock releases nothing. RocksDB locks
// through a descriptor of its own, and a failed open closes it; POSIX then
// drops every lock this process has on the file, the one taken through
// lock_fd too, so another contentd could open the directory read-write
// before the lock was taken back, while this one still served it. Every
// other call goes to `target`.
class HeldLockFs : public rocksdb::FileSystemWrapper {
 public:
  HeldLockFs(std::shared_ptr<rocksdb::FileSystem> target, std::string lock)
      : rocksdb::FileSystemWrapper(std::move(target)), lock_(std::move(lock)) {}
  const char* Name() const override { return "HeldLockFs"; }
  rocksdb::IOStatus LockFile(const std::string& name,
                             const rocksdb::IOOptions& options,
                             rocksdb::FileLock** lock,
                             rocksdb::IODebugContext* dbg) override {
    if (name != lock_) return target()->LockFile(name, options, lock, dbg);
    *lock = new Held;
    return rocksdb::IOStatus::OK();
  }
  rocksdb::IOStatus UnlockFile(rocksdb::FileLock* lock,
                               const rocksdb::IOOptions& options,
                               rocksdb::IODebugContext* dbg) override {
    if (auto* held = dynamic_cast<Held*>(lock); held != nullptr) {
      delete held;
      return rocksdb::IOStatus::OK();
    }
    return target()->UnlockFile(lock, options, dbg);
  }

 private:
  class Held : public rocksdb::FileLock {};
  const std::string lock_;
};

// Takes the write lock on LOCK through `fd` (again: closing or unlocking
// any descriptor of LOCK in this process drops it). False if another
// process holds it.
bool LockThrough(int fd) {
  struct flock fl = {};
  fl.l_type = F_WRLCK;
  fl.l_whence = SEEK_SET;
  return ::fcntl(fd, F_SETLK, &fl) == 0;
}

// A snapshot of one of ReopeningKv's engines, which it keeps open.
struct HeldSnapshot : public KvSnapshot {
  HeldSnapshot(std::shared_ptr<KvEngine> e, std::unique_ptr<KvSnapshot> s)
      : engine(std::move(e)), snapshot(std::move(s)) {}
  std::shared_ptr<KvEngine> engine;      // destroyed last
  std::unique_ptr<KvSnapshot> snapshot;  // of `engine`
};

// An iterator of one of ReopeningKv's engines, which it keeps open.
class HeldIterator : public KvIterator {
 public:
  HeldIterator(std::shared_ptr<KvEngine> engine, std::unique_ptr<KvIterator> it)
      : engine_(std::move(engine)), it_(std::move(it)) {}
  bool Valid() const override { return it_->Valid(); }
  void SeekToFirst() override { it_->SeekToFirst(); }
  void SeekToLast() override { it_->SeekToLast(); }
  void Seek(absl::string_view t) override { it_->Seek(t); }
  void SeekForPrev(absl::string_view t) override { it_->SeekForPrev(t); }
  void Next() override { it_->Next(); }
  void Prev() override { it_->Prev(); }
  absl::string_view key() const override { return it_->key(); }
  absl::string_view value() const override { return it_->value(); }
  absl::Status status() const override { return it_->status(); }

 private:
  std::shared_ptr<KvEngine> engine_;  // destroyed last
  std::unique_ptr<KvIterator> it_;
};

// OpenRocksKv; with `hold_file_deletions` the read-write open deletes no
// file until RocksKv::ReleaseFileDeletions (no compaction runs before the
// hold is taken). With `cache`, the open uses it as its block cache
// rather than a new one of options.block_cache_bytes.
absl::StatusOr<std::unique_ptr<KvEngine>> OpenRocks(
    const RocksKvOptions& options, bool hold_file_deletions,
    std::shared_ptr<rocksdb::Cache> cache = nullptr);

// A store opened read-only for a full volume (RocksKvOptions::
// read_only_when_full) that opens itself read-write in place once the
// volume has room: it checks every room_check_period, and when there is
// room for a read-write open it opens the database so beside the
// read-only one, and sends every call from then on to it. Reads and
// iterators begun before (a snapshot, an export, a page) finish on the
// read-only engine, which closes once the last of them is done: both see
// the same data, as the read-only one took no writes. Meanwhile the
// read-write engine deletes no file: the read-only one opens a blob file
// at its first read, and a compaction (admin compact relocates every
// blob) would delete it from under it. It holds LOCK
// throughout, so no other process opens the directory meanwhile. A
// read-write open that fails for want of room again is tried again later;
// one that fails otherwise calls on_writes_stopped (a restart may do
// better). Thread-safe.
class ReopeningKv : public KvEngine {
 public:
  ReopeningKv(const RocksKvOptions& options, FullVolume full,
              std::unique_ptr<KvEngine> read_only)
      : options_(options),
        full_(std::move(full)),
        current_(std::move(read_only)),
        thread_([this] { Watch(); }) {}
  ~ReopeningKv() override {
    stop_.Notify();
    thread_.join();
    {
      absl::MutexLock lock(&mu_);
      current_.reset();
    }
    // Only once the database is closed: closing a descriptor of LOCK drops
    // this process's lock on it, RocksDB's too.
    ::close(full_.lock_fd);
  }

  absl::Status Get(Family family, absl::string_view key, std::string* value,
                   const KvReadOptions& options) override {
    KvReadOptions o;
    std::shared_ptr<KvEngine> e = Route(options, &o);
    return e->Get(family, key, value, o);
  }
  void MultiGet(Family family, const std::vector<std::string>& keys,
                std::vector<std::string>* values,
                std::vector<absl::Status>* statuses,
                const KvReadOptions& options) override {
    KvReadOptions o;
    std::shared_ptr<KvEngine> e = Route(options, &o);
    e->MultiGet(family, keys, values, statuses, o);
  }
  std::unique_ptr<KvIterator> NewIterator(
      Family family, const KvReadOptions& options) override {
    KvReadOptions o;
    std::shared_ptr<KvEngine> e = Route(options, &o);
    std::unique_ptr<KvIterator> it = e->NewIterator(family, o);
    return std::make_unique<HeldIterator>(std::move(e), std::move(it));
  }
  absl::Status CountKeys(
      Family family,
      const std::vector<std::pair<std::string, std::string>>& ranges,
      std::vector<int64_t>* counts, const KvReadOptions& options) override {
    KvReadOptions o;
    std::shared_ptr<KvEngine> e = Route(options, &o);
    return e->CountKeys(family, ranges, counts, o);
  }
  int64_t EstimateKeys(Family family, absl::string_view begin,
                       absl::string_view end) override {
    return Current()->EstimateKeys(family, begin, end);
  }
  absl::Status Write(KvBatch batch, bool sync) override {
    if (absl::Status s = GaveUp(); !s.ok()) return s;
    return Current()->Write(std::move(batch), sync);
  }
  absl::Status CheckRoom(size_t bytes) override {
    return Current()->CheckRoom(bytes);
  }
  absl::Status WriteAfterRead(KvBatch batch, bool sync, Family family,
                              const std::string& key,
                              const Completion& complete) override {
    if (absl::Status s = GaveUp(); !s.ok()) return s;
    return Current()->WriteAfterRead(std::move(batch), sync, family, key,
                                     complete);
  }
  std::unique_ptr<KvSnapshot> GetSnapshot() override {
    std::shared_ptr<KvEngine> e = Current();
    std::unique_ptr<KvSnapshot> s = e->GetSnapshot();
    return std::make_unique<HeldSnapshot>(std::move(e), std::move(s));
  }
  using KvEngine::Checkpoint;
  absl::Status Checkpoint(const std::string& dir,
                          const CheckpointProgress& progress) override {
    // The read-only engine copies the files (RocksKv::CopyFilesTo), which
    // a read-write open meanwhile would change: the reopen waits.
    absl::ReaderMutexLock lock(&reopen_mu_);
    return Current()->Checkpoint(dir, progress);
  }
  absl::StatusOr<std::unique_ptr<KvEngine>> OpenCheckpoint(
      const std::string& dir) override {
    return Current()->OpenCheckpoint(dir);
  }
  absl::StatusOr<std::string> Ingest(Family family,
                                     const KvBatch& puts) override {
    return Current()->Ingest(family, puts);
  }
  // The read-only engine refuses Ingest, so every ticket is the current
  // engine's.
  void EndIngest(const std::string& ticket, bool committed) override {
    Current()->EndIngest(ticket, committed);
  }
  using KvEngine::CompactAll;
  absl::Status CompactAll(const CompactProgress& progress) override {
    return Current()->CompactAll(progress);
  }
  absl::Status WritesRefused() override {
    if (absl::Status s = GaveUp(); !s.ok()) return s;
    return Current()->WritesRefused();
  }
  std::vector<std::pair<std::string, std::string>> Stats() override {
    return Current()->Stats();
  }
  void SetWritesResumed(std::function<void()> resumed) override {
    absl::MutexLock lock(&resumed_mu_);
    resumed_ = std::move(resumed);
  }

 private:
  std::shared_ptr<KvEngine> Current() const {
    absl::MutexLock lock(&mu_);
    return current_;
  }
  // OK, or the UNAVAILABLE writes answer once the reopen failed for good.
  absl::Status GaveUp() const {
    absl::MutexLock lock(&mu_);
    return gave_up_;
  }
  // The engine a read with `options` goes to (its snapshot's, else the
  // current one), and in `*inner` the options for it.
  std::shared_ptr<KvEngine> Route(const KvReadOptions& options,
                                  KvReadOptions* inner) const {
    *inner = options;
    if (options.snapshot == nullptr) return Current();
    const auto* held = static_cast<const HeldSnapshot*>(options.snapshot);
    inner->snapshot = held->snapshot.get();
    return held->engine;
  }

  void Watch() {
    while (!stop_.WaitForNotificationWithTimeout(options_.room_check_period)) {
      if (held_ != nullptr) {
        // Reopened: file deletions wait for the read-only engine's end.
        if (!read_only_.expired()) continue;
        held_->ReleaseFileDeletions();
        return;
      }
      absl::StatusOr<uint64_t> free_bytes =
          options_.free_space ? options_.free_space(options_.path)
                              : FreeBytesAt(options_.path);
      if (!free_bytes.ok() || *free_bytes < full_.room_needed) continue;
      const bool done = Reopen(*free_bytes);
      if (held_ != nullptr) {
        // Taking writes: outside reopen_mu_ and mu_, as it may write.
        absl::MutexLock lock(&resumed_mu_);
        if (resumed_) resumed_();
      }
      if (done && held_ == nullptr) return;
    }
  }

  // Opens the database read-write and sends calls to it from now on; true
  // when done with (reopened, or given up on).
  bool Reopen(uint64_t free_bytes) {
    absl::MutexLock reopening(&reopen_mu_);
    RocksKvOptions rw = options_;
    rw.read_only_when_full = false;
    rw.on_opened_read_only = nullptr;
    // LOCK stays held through lock_fd whatever the open does (HeldLockFs),
    // and the block cache is the read-only open's.
    rw.file_system = std::make_shared<HeldLockFs>(
        options_.file_system != nullptr ? options_.file_system
                                        : rocksdb::FileSystem::Default(),
        options_.path + "/LOCK");
    absl::StatusOr<std::unique_ptr<KvEngine>> opened =
        OpenRocks(rw, /*hold_file_deletions=*/true, full_.cache);
    if (opened.ok()) {
      // Not wrapped: rw opens read-write or fails.
      held_ = static_cast<RocksKv*>(opened->get());
      std::shared_ptr<KvEngine> read_only;
      {
        absl::MutexLock lock(&mu_);
        read_only = std::exchange(current_, *std::move(opened));
      }
      read_only_ = read_only;
      read_only.reset();  // closes once the reads begun on it are done
      std::fprintf(stderr,
                   "contentd: taking writes again: storage: the volume of %s "
                   "has %llu bytes free again, and the store is open for "
                   "writing (it opened read-only when the volume was full)\n",
                   options_.path.c_str(),
                   static_cast<unsigned long long>(free_bytes));
      return true;
    }
    if (options_.after_failed_reopen) options_.after_failed_reopen();
    // The failed open let go of nothing (HeldLockFs); made sure of here,
    // as writes must not resume without the lock.
    const bool relocked = LockThrough(full_.lock_fd);
    if (relocked && absl::IsResourceExhausted(opened.status()))
      return false;  // the volume filled again: wait for room
    const absl::Status why = absl::UnavailableError(absl::StrCat(
        "storage: the volume of ", options_.path, " has ", free_bytes,
        " bytes free again, but opening the store for writing failed (",
        relocked ? opened.status().message()
                 : "and another process took its LOCK meanwhile",
        "); restart contentd to take writes (it opened the store read-only "
        "when the volume was full)"));
    {
      absl::MutexLock lock(&mu_);
      gave_up_ = why;
    }
    if (options_.on_writes_stopped) options_.on_writes_stopped(why);
    return true;
  }

  const RocksKvOptions options_;
  const FullVolume full_;
  mutable absl::Mutex mu_;
  std::shared_ptr<KvEngine> current_ ABSL_GUARDED_BY(mu_);
  absl::Status gave_up_ ABSL_GUARDED_BY(mu_);
  // Held by the reopen, and shared by checkpoints of the read-only engine.
  absl::Mutex reopen_mu_;
  // SetWritesResumed's; held while it runs.
  absl::Mutex resumed_mu_;
  std::function<void()> resumed_ ABSL_GUARDED_BY(resumed_mu_);
  // Watch's only: once reopened, the read-write engine holding its file
  // deletions, and the read-only engine it waits for.
  RocksKv* held_ = nullptr;
  std::weak_ptr<KvEngine> read_only_;
  absl::Notification stop_;
  std::thread thread_;  // last: starts once the rest is set
};

}  // namespace

absl::StatusOr<std::unique_ptr<KvEngine>> OpenRocksKv(
    const RocksKvOptions& options) {
  return OpenRocks(options, /*hold_file_deletions=*/false);
}

namespace {

absl::StatusOr<std::unique_ptr<KvEngine>> OpenRocks(
    const RocksKvOptions& options, bool hold_file_deletions,
    std::shared_ptr<rocksdb::Cache> cache) {
  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  // One flush and two compactions at a time. A text import ingests a table
  // per batch into postings' level 0 while level 1 moves down to level 2;
  // with one compaction at a time the level-0 merge waited behind that, and
  // the import stalled for 20-30 s five times per million articles with a
  // core idle (1M with the text index: 327-357 s; with two: 224-227 s).
  db_options.max_background_jobs = 3;
  // A big level-0 compaction (the one after an import merges a hundred
  // tables or more) runs in up to three threads; during an import none is
  // split (RocksKv::EnterBulkShape). Not 2: RocksDB before 8.4 splits only
  // when it finds two or more boundaries (facebook/rocksdb #11476).
  db_options.max_subcompactions = kNormalSubcompactions;
  db_options.bytes_per_sync = 1 << 20;
  // Our own queue already batches commits; RocksDB pipelines the rest.
  db_options.enable_pipelined_write = true;
  db_options.keep_log_file_num = 4;
  // Tickers only (no histograms): the block-cache hit rate for /metrics at
  // the cost of a few relaxed atomic increments per read.
  db_options.statistics = rocksdb::CreateDBStatistics();
  db_options.statistics->set_stats_level(
      rocksdb::StatsLevel::kExceptHistogramOrTimers);
  if (options.read_only) {
    db_options.create_if_missing = false;
    db_options.create_missing_column_families = false;
  } else if (absl::Status s = FitToVolume(options, &db_options); !s.ok()) {
    return s;
  }
  std::unique_ptr<rocksdb::Env> env;
  if (options.file_system != nullptr) {
    env = rocksdb::NewCompositeEnv(options.file_system);
    db_options.env = env.get();
  }
  if (!options.read_only) {
    // (A read-only open writes no log.)
    db_options.info_log =
        BestEffortLogger::Open(options.path, db_options.info_log_level);
  }
  auto halt = std::make_shared<WriteHalt>(options.on_writes_stopped);
  db_options.listeners.push_back(std::make_shared<HaltListener>(halt));

  if (cache == nullptr) cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  auto family_options = [&](bool point_lookups, bool zstd) {
    rocksdb::ColumnFamilyOptions cf;
    cf.write_buffer_size = options.write_buffer_bytes;
    rocksdb::BlockBasedTableOptions table;
    table.block_cache = cache;
    if (point_lookups) {
      // Heads, revisions and meta are read by whole key. Their tables hold
      // small entries (revision bodies are in blob files), so a whole index
      // and bloom filter take about 3.5 MB per million keys: each table
      // reader keeps its own outside the cache, and a lookup costs one
      // cache probe (the data block) instead of five (top-level index,
      // index partition, filter partition index, filter partition, data
      // block), each a shard mutex. A 20-article page is 20 such lookups.
      table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
      table.cache_index_and_filter_blocks = false;
      table.data_block_index_type =
          rocksdb::BlockBasedTableOptions::kDataBlockBinaryAndHash;
    } else {
      table.cache_index_and_filter_blocks = true;
      table.pin_l0_filter_and_index_blocks_in_cache = true;
      // Partitioned index: at 1M articles with the text index a compacted
      // posting table's index block is megabytes, and the 128 MiB cache
      // cannot keep them all; each miss read, checksummed and allocated a
      // whole index block (most of a query's CPU). Now a miss loads one
      // 4 KiB partition, and only the small top level stays pinned.
      table.index_type =
          rocksdb::BlockBasedTableOptions::IndexType::kTwoLevelIndexSearch;
      table.metadata_block_size = 4096;
      table.pin_top_level_index_and_filter = true;
    }
    cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
    cf.compression = rocksdb::kLZ4Compression;
    if (zstd) {
      // zstd on the bottommost level, where nearly all revisions live; level
      // 1 because on a small box compaction CPU competes with serving and
      // level 3 barely shrinks 4 KiB blocks of text further.
      cf.bottommost_compression = rocksdb::kZSTD;
      cf.bottommost_compression_opts.level = 1;
      cf.bottommost_compression_opts.enabled = true;
    }
    return cf;
  };

  std::vector<rocksdb::ColumnFamilyDescriptor> descriptors;
  for (int f = 0; f < kFamilyCount; ++f) {
    const Family family = static_cast<Family>(f);
    rocksdb::ColumnFamilyOptions cf = family_options(
        /*point_lookups=*/family == Family::kHeads ||
            family == Family::kRevisions || family == Family::kMeta,
        /*zstd=*/family == Family::kRevisions);
    if (family == Family::kPostings) {
      // Imports ingest a small table per batch (KvEngine::Ingest) and raise
      // the compaction trigger meanwhile (RocksKv::EnterBulkShape); when they
      // stop, the trigger drops back with a hundred or more tables in level
      // 0. No gradual slowdown (it starts below the stop): throttled to a
      // crawl at 192 tables, a 1M text import lost ~30 s (257 s against
      // 227 s); the stop still bounds level 0 if compaction falls behind.
      cf.level0_slowdown_writes_trigger = kBulkL0Trigger * 4;
      cf.level0_stop_writes_trigger = kBulkL0Trigger * 4;
      // Posting lists spread every import over the whole key range; taking
      // level-1 files in turn cost less compaction CPU than the default
      // pick by overlap (1M text imports: 261 s against 269-297 s).
      cf.compaction_pri = rocksdb::kRoundRobin;
    } else {
      // Their level-0 tables are small, but their compactions can wait
      // behind postings' long ones during an import: at the default 20
      // tables the revisions family slowed a 1M text import 54 times.
      cf.level0_slowdown_writes_trigger = 64;
      cf.level0_stop_writes_trigger = 100;
    }
    if (family == Family::kHeads || family == Family::kRevisions) {
      // Updates land all over their key range, so every level-0 table
      // overlaps all of level 1, and each level-0 compaction rewrites the
      // whole level. Revisions flush small tables (their bodies go to blob
      // files), so at the default 256 MiB level 1 grew for millions of
      // updates, each compaction rewriting more of it: at 3.6M revisions
      // in a 59 MiB level 1, a quarter of the server's CPU under updates.
      // A small level 1 hands them on to level 2 file by file.
      cf.max_bytes_for_level_base = uint64_t{16} << 20;
      cf.target_file_size_base = uint64_t{4} << 20;
    }
    if (family == Family::kMeta) {
      cf.merge_operator = std::make_shared<Int64AddOperator>();
      // Every write adds a +1/-1 operand to each of its lists' counters and
      // every query reads those counters: without a cap a popular tag's
      // counter piles up thousands of operands in the memtable, and each
      // read folds them all (this was most of a query's CPU at 100k
      // articles). At the cap the write folds them into one value.
      cf.max_successive_merges = kNormalMergeCap;
    }
    if (family == Family::kRevisions && options.separate_revision_values) {
      // Revisions are written once and read by key: their bodies go to blob
      // files at flush and stay there, so compactions move keys and blob
      // references only (they rewrote every body two or three times), and
      // the key-only tables stay small enough for the block cache.
      cf.enable_blob_files = true;
      cf.min_blob_size = 512;
      cf.blob_compression_type = rocksdb::kLZ4Compression;
      cf.blob_file_size = uint64_t{256} << 20;
      // Hot articles (the newest of a popular tag) stay decoded in memory,
      // as their blocks did before; blobs enter the shared cache at low
      // priority, below index and filter blocks.
      cf.blob_cache = cache;
    }
    if (family == Family::kHeads || family == Family::kRevisions ||
        family == Family::kMeta) {
      // Point lookups mostly miss the memtable; a whole-key bloom there
      // skips the skiplist search.
      cf.memtable_prefix_bloom_size_ratio = 0.02;
      cf.memtable_whole_key_filtering = true;
    }
    // Held deletions: no compaction until the hold is taken (below).
    if (hold_file_deletions) cf.disable_auto_compactions = true;
    descriptors.emplace_back(kFamilyNames[f], cf);
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s;
  if (options.read_only) {
    // A read-only open creates nothing, so a family missing here is not
    // created: say what that means rather than RocksDB's "not found".
    std::error_code ec;
    if (!std::filesystem::exists(options.path + "/CURRENT", ec)) {
      return absl::InvalidArgumentError(
          absl::StrCat("opening ", options.path,
                       " read-only: no database there (no CURRENT file)"));
    }
    std::vector<std::string> names;
    s = rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(db_options),
                                        options.path, &names);
    for (int f = 0; s.ok() && f < kFamilyCount; ++f) {
      if (std::find(names.begin(), names.end(), kFamilyNames[f]) ==
          names.end()) {
        return absl::FailedPreconditionError(absl::StrCat(
            "opening ", options.path, " read-only: it has no \"",
            kFamilyNames[f],
            "\" column family: not a contentd store, or one from an older "
            "version"));
      }
    }
    if (s.ok()) {
      s = rocksdb::DB::OpenForReadOnly(rocksdb::DBOptions(db_options),
                                       options.path, descriptors, &handles,
                                       &raw);
    }
  } else {
    s = rocksdb::DB::Open(rocksdb::DBOptions(db_options), options.path,
                          descriptors, &handles, &raw);
    if (s.ok() && hold_file_deletions) {
      s = raw->DisableFileDeletions();
      for (size_t i = 0; s.ok() && i < handles.size(); ++i)
        s = raw->SetOptions(handles[i],
                            {{"disable_auto_compactions", "false"}});
      if (!s.ok()) {
        for (auto* h : handles) raw->DestroyColumnFamilyHandle(h);
        delete raw;
        handles.clear();
        raw = nullptr;
      }
    }
  }
  std::optional<FullVolume> full;
  if (s.IsNoSpace() && !options.read_only && options.read_only_when_full) {
    // The open writes a new MANIFEST, OPTIONS file and WAL before it
    // serves; on a volume with no room for them (another program filled
    // it, or the store did) contentd could not start even to serve
    // reads. A read-only open writes nothing and replays the WAL into
    // memory, so every acknowledged write is read.
    absl::StatusOr<FullVolume> opened = OpenReadOnlyForFullVolume(
        options, db_options, descriptors, &handles, &raw);
    if (opened.ok()) {
      full = *std::move(opened);
      full->cache = cache;
      s = rocksdb::Status::OK();
    } else if (!absl::IsFailedPrecondition(opened.status())) {
      return opened.status();
    }
  }
  if (!s.ok()) {
    return absl::Status(
        ToStatus(s).code(),
        absl::StrCat("opening ", options.path, ": ", s.ToString()));
  }
  auto kv = std::make_unique<RocksKv>(
      std::move(env), std::move(halt), std::unique_ptr<rocksdb::DB>(raw),
      std::move(handles), options.path, options.flush_on_close_wal_bytes,
      options.bulk_shape_hold, options.read_only || full.has_value(),
      full.has_value() ? full->why : absl::OkStatus());
  kv->SetFreeSpaceProbe(options.free_space);
  absl::Status recovered = kv->RecoverIngests();
  if (!recovered.ok()) {
    kv.reset();
    if (full.has_value()) ::close(full->lock_fd);
    return recovered;
  }
  if (!full.has_value()) return std::unique_ptr<KvEngine>(std::move(kv));
  if (options.on_opened_read_only) options.on_opened_read_only(full->why);
  return std::unique_ptr<KvEngine>(
      std::make_unique<ReopeningKv>(options, *std::move(full), std::move(kv)));
}

}  // namespace

absl::StatusOr<bool> RocksKvInUse(const std::string& path) {
  const std::string lock = path + "/LOCK";
  // Read-only is enough to ask (F_GETLK needs no write access), and works
  // on a read-only mount.
  const int fd = ::open(lock.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return false;
    return absl::UnavailableError(
        absl::StrCat("opening ", lock, ": ", std::strerror(errno)));
  }
  struct flock query = {};
  query.l_type = F_WRLCK;  // would a write lock on the whole file conflict?
  query.l_whence = SEEK_SET;
  query.l_start = 0;
  query.l_len = 0;
  const int r = ::fcntl(fd, F_GETLK, &query);
  const int error = errno;
  ::close(fd);
  if (r != 0) {
    return absl::UnavailableError(absl::StrCat("querying the lock on ", lock,
                                               ": ", std::strerror(error)));
  }
  return query.l_type != F_UNLCK;
}

}  // namespace content::store
