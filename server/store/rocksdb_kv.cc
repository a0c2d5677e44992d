#include "server/store/rocksdb_kv.h"

#include <array>
#include <cstring>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "rocksdb/cache.h"
#include "rocksdb/db.h"
#include "rocksdb/filter_policy.h"
#include "rocksdb/merge_operator.h"
#include "rocksdb/table.h"

namespace content::store {
namespace {

const std::array<const char*, kFamilyCount> kFamilyNames = {
    "default", "heads", "revisions", "postings", "changes"};

absl::Status ToStatus(const rocksdb::Status& s) {
  if (s.ok()) return absl::OkStatus();
  const std::string msg = absl::StrCat("storage: ", s.ToString());
  if (s.IsNotFound()) return absl::NotFoundError(msg);
  if (s.IsNoSpace() || s.IsMemoryLimit())
    return absl::ResourceExhaustedError(msg);
  if (s.IsCorruption()) return absl::DataLossError(msg);
  if (s.IsInvalidArgument()) return absl::InvalidArgumentError(msg);
  return absl::UnavailableError(msg);
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
  void Seek(absl::string_view t) override { it_->Seek(Slice(t)); }
  void SeekForPrev(absl::string_view t) override { it_->SeekForPrev(Slice(t)); }
  void Next() override { it_->Next(); }
  void Prev() override { it_->Prev(); }
  absl::string_view key() const override { return View(it_->key()); }
  absl::string_view value() const override { return View(it_->value()); }
  absl::Status status() const override { return ToStatus(it_->status()); }

 private:
  static rocksdb::Slice Slice(absl::string_view s) {
    return rocksdb::Slice(s.data(), s.size());
  }
  static absl::string_view View(const rocksdb::Slice& s) {
    return absl::string_view(s.data(), s.size());
  }
  std::string lower_, upper_;
  rocksdb::Slice lower_slice_, upper_slice_;
  std::unique_ptr<rocksdb::Iterator> it_;
};

class RocksKv : public KvEngine {
 public:
  RocksKv(std::unique_ptr<rocksdb::DB> db,
          std::vector<rocksdb::ColumnFamilyHandle*> handles)
      : db_(std::move(db)), handles_(std::move(handles)) {}
  ~RocksKv() override {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
    // Flush nothing: the WAL holds every write; Close releases the lock.
    db_->Close();
  }

  absl::Status Get(Family family, absl::string_view key, std::string* value,
                   const KvReadOptions& options) override {
    rocksdb::ReadOptions ro;
    if (options.snapshot != nullptr)
      ro.snapshot = static_cast<const RocksSnapshot*>(options.snapshot)->get();
    rocksdb::PinnableSlice slice;
    rocksdb::Status s = db_->Get(
        ro, handle(family), rocksdb::Slice(key.data(), key.size()), &slice);
    if (!s.ok()) return ToStatus(s);
    value->assign(slice.data(), slice.size());
    return absl::OkStatus();
  }

  std::unique_ptr<KvIterator> NewIterator(
      Family family, const KvReadOptions& options) override {
    return std::make_unique<RocksIterator>(db_.get(), handle(family), options);
  }

  absl::Status Write(KvBatch batch, bool sync) override {
    rocksdb::WriteBatch wb;
    for (const KvBatch::Op& op : batch.ops()) {
      rocksdb::ColumnFamilyHandle* cf = handle(op.family);
      rocksdb::Status s;
      switch (op.type) {
        case KvBatch::OpType::kPut:
          s = wb.Put(cf, op.key, op.value);
          break;
        case KvBatch::OpType::kDelete:
          s = wb.Delete(cf, op.key);
          break;
        case KvBatch::OpType::kDeleteRange:
          s = wb.DeleteRange(cf, op.key, op.value);
          break;
        case KvBatch::OpType::kAddInt64:
          s = wb.Merge(cf, op.key, op.value);
          break;
      }
      if (!s.ok()) return ToStatus(s);
    }
    rocksdb::WriteOptions wo;
    wo.sync = sync;
    return ToStatus(db_->Write(wo, &wb));
  }

  std::unique_ptr<KvSnapshot> GetSnapshot() override {
    return std::make_unique<RocksSnapshot>(db_.get(), db_->GetSnapshot());
  }

 private:
  rocksdb::ColumnFamilyHandle* handle(Family f) const {
    return handles_[static_cast<int>(f)];
  }
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

}  // namespace

absl::StatusOr<std::unique_ptr<KvEngine>> OpenRocksKv(
    const RocksKvOptions& options) {
  rocksdb::Options db_options;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.max_background_jobs = 2;
  db_options.bytes_per_sync = 1 << 20;
  // Our own queue already batches commits; RocksDB pipelines the rest.
  db_options.enable_pipelined_write = true;
  db_options.keep_log_file_num = 4;

  std::shared_ptr<rocksdb::Cache> cache =
      rocksdb::NewLRUCache(options.block_cache_bytes);
  auto family_options = [&](bool bloom, bool zstd) {
    rocksdb::ColumnFamilyOptions cf;
    cf.write_buffer_size = options.write_buffer_bytes;
    rocksdb::BlockBasedTableOptions table;
    table.block_cache = cache;
    table.cache_index_and_filter_blocks = true;
    table.pin_l0_filter_and_index_blocks_in_cache = true;
    if (bloom) table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(10));
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
        /*bloom=*/family == Family::kHeads || family == Family::kRevisions ||
            family == Family::kMeta,
        /*zstd=*/family == Family::kRevisions);
    if (family == Family::kMeta) {
      cf.merge_operator = std::make_shared<Int64AddOperator>();
      // Every write adds a +1/-1 operand to each of its lists' counters and
      // every query reads those counters: without a cap a popular tag's
      // counter piles up thousands of operands in the memtable, and each
      // read folds them all (this was most of a query's CPU at 100k
      // articles). At the cap the write folds them into one value.
      cf.max_successive_merges = 16;
    }
    if (family == Family::kHeads || family == Family::kRevisions ||
        family == Family::kMeta) {
      // Point lookups mostly miss the memtable; a whole-key bloom there
      // skips the skiplist search.
      cf.memtable_prefix_bloom_size_ratio = 0.02;
      cf.memtable_whole_key_filtering = true;
    }
    descriptors.emplace_back(kFamilyNames[f], cf);
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      rocksdb::DB::Open(rocksdb::DBOptions(db_options), options.path,
                        descriptors, &handles, &raw);
  if (!s.ok()) {
    return absl::Status(
        ToStatus(s).code(),
        absl::StrCat("opening ", options.path, ": ", s.ToString()));
  }
  return std::unique_ptr<KvEngine>(
      new RocksKv(std::unique_ptr<rocksdb::DB>(raw), std::move(handles)));
}

}  // namespace content::store
