// The ordered key-value seam under the store. RocksDB implements it today; a
// distributed ordered-KV or SQL engine can implement it later without the
// store, the query engine or the service changing.
#ifndef CONTENT_SERVER_STORE_KV_H_
#define CONTENT_SERVER_STORE_KV_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace content::store {

// Key spaces. Each is ordered bytewise and independent of the others.
enum class Family : int {
  kMeta = 0,   // counters and store settings
  kHeads,      // id -> head revision
  kRevisions,  // id \0 revision -> Article
  kPostings,   // kind term \0 date id -> revision
  kChanges,    // sequence -> ChangeEvent
};
inline constexpr int kFamilyCount = 5;

// An atomic group of writes. Not thread-safe.
class KvBatch {
 public:
  enum class OpType {
    kPut,
    kDelete,
    kDeleteRange,
    kAddInt64,
    kExpect,
    kExpectMissing
  };
  // Keys and values live in the batch's own blocks: building a batch is a
  // few copies into them, not two allocations per op (a text-indexed import
  // batch holds ~200k ops). Views stay valid while the batch lives, moves
  // included.
  struct Op {
    OpType type;
    Family family;
    absl::string_view key;
    // kPut: the value; kAddInt64: 8-byte little endian; kDeleteRange: the
    // exclusive end key; kExpect: the expected value.
    absl::string_view value;
  };

  KvBatch() = default;
  KvBatch(KvBatch&& other) noexcept { *this = std::move(other); }
  KvBatch& operator=(KvBatch&& other) noexcept;
  // Deep copies.
  KvBatch(const KvBatch& other);
  KvBatch& operator=(const KvBatch& other);

  void Put(Family family, absl::string_view key, absl::string_view value);
  void Delete(Family family, absl::string_view key);
  // Deletes every key in [begin, end).
  void DeleteRange(Family family, absl::string_view begin,
                   absl::string_view end);
  // Adds `delta` to the signed 64-bit counter at `key` (missing reads as 0).
  void AddInt64(Family family, absl::string_view key, int64_t delta);
  // Conditions: the batch applies only if, before it, `key` holds exactly
  // `value` (Expect) or is missing (ExpectMissing); otherwise Write returns
  // ABORTED and applies nothing. Shared engines need them because the
  // store's in-process locks do not reach other replicas.
  void Expect(Family family, absl::string_view key, absl::string_view value);
  void ExpectMissing(Family family, absl::string_view key);
  // Moves every op of `other` to the end of this batch.
  void Append(KvBatch&& other);
  // Room for `n` ops in all: growing the vector step by step moved a big
  // import batch's ops a dozen times.
  void Reserve(size_t n) { ops_.reserve(n); }
  size_t size() const { return ops_.size(); }
  // About the bytes the batch takes in a write-ahead log: its keys and
  // values and a few bytes of framing per op (an upper bound for RocksDB's).
  size_t ApproximateBytes() const;

  const std::vector<Op>& ops() const { return ops_; }
  bool empty() const { return ops_.empty(); }

 private:
  void Add(OpType type, Family family, absl::string_view key,
           absl::string_view value);
  absl::string_view Keep(absl::string_view bytes);

  std::vector<Op> ops_;
  std::vector<std::unique_ptr<char[]>> blocks_;
  char* free_ = nullptr;  // unused tail of blocks_.back()
  size_t free_size_ = 0;
};

// Meta keys under this prefix belong to the engine (KvEngine::Ingest).
inline constexpr absl::string_view kIngestMarkerPrefix = "~ingest/";
inline std::string IngestMarkerKey(absl::string_view ticket) {
  return std::string(kIngestMarkerPrefix) + std::string(ticket);
}

// A consistent point-in-time view. Release by destroying it.
class KvSnapshot {
 public:
  virtual ~KvSnapshot() = default;
};

// Iterates one family in key order. Not thread-safe.
class KvIterator {
 public:
  virtual ~KvIterator() = default;
  virtual bool Valid() const = 0;
  virtual void SeekToFirst() = 0;
  virtual void SeekToLast() = 0;
  // First key >= target.
  virtual void Seek(absl::string_view target) = 0;
  // Last key <= target.
  virtual void SeekForPrev(absl::string_view target) = 0;
  virtual void Next() = 0;
  virtual void Prev() = 0;
  // REQUIRES: Valid(). Views stay valid until the iterator moves.
  virtual absl::string_view key() const = 0;
  virtual absl::string_view value() const = 0;
  // Not OK if iteration stopped on an error rather than at the end.
  virtual absl::Status status() const = 0;
};

// Per-read settings.
struct KvReadOptions {
  // Read as of this snapshot; null reads the latest state. Default: null.
  const KvSnapshot* snapshot = nullptr;
  // Iterators only: keys outside [lower_bound, upper_bound) are invisible.
  // Empty means unbounded. Default: unbounded.
  std::string lower_bound;
  std::string upper_bound;
};

// The engine. Thread-safe.
class KvEngine {
 public:
  virtual ~KvEngine() = default;
  // NOT_FOUND if the key is missing; UNAVAILABLE on I/O trouble.
  virtual absl::Status Get(Family family, absl::string_view key,
                           std::string* value,
                           const KvReadOptions& options = {}) = 0;
  // Get of each of `keys`: (*statuses)[i] and (*values)[i] answer keys[i].
  // Engines that can look keys up together (one pass over shared blocks,
  // filters probed as a batch) override it; this default reads one by one.
  virtual void MultiGet(Family family, const std::vector<std::string>& keys,
                        std::vector<std::string>* values,
                        std::vector<absl::Status>* statuses,
                        const KvReadOptions& options = {}) {
    values->assign(keys.size(), std::string());
    statuses->clear();
    statuses->reserve(keys.size());
    for (size_t i = 0; i < keys.size(); ++i)
      statuses->push_back(Get(family, keys[i], &(*values)[i], options));
  }
  virtual std::unique_ptr<KvIterator> NewIterator(
      Family family, const KvReadOptions& options = {}) = 0;
  // How many keys each [begin, end) range of `ranges` holds, exactly (an
  // empty `end`: no upper bound): (*counts)[i] answers ranges[i]. Engines that
  // can count several ranges in one round trip override it; this default
  // iterates each.
  virtual absl::Status CountKeys(
      Family family,
      const std::vector<std::pair<std::string, std::string>>& ranges,
      std::vector<int64_t>* counts, const KvReadOptions& options = {});
  // About how many keys lie in [begin, end), for planning. Engines that can
  // estimate from their index override it (cheap, not exact: small ranges
  // may count 0); this default counts, stopping at kEstimateCountCap.
  static constexpr int64_t kEstimateCountCap = 10000;
  virtual int64_t EstimateKeys(Family family, absl::string_view begin,
                               absl::string_view end);
  // Applies the whole batch or nothing. With `sync`, returns only once the
  // batch is durable. ABORTED if an Expect condition does not hold;
  // UNAVAILABLE or RESOURCE_EXHAUSTED on disk trouble.
  virtual absl::Status Write(KvBatch batch, bool sync) = 0;
  // Whether a write of about `bytes` (KvBatch::ApproximateBytes) has room
  // on disk now: RESOURCE_EXHAUSTED, naming the free space and what the
  // write needs, where Write would refuse it for space. The store's group
  // commit asks per writer, so that one writer too big for the disk fails
  // alone rather than with its whole group. Default: OK (no such check).
  virtual absl::Status CheckRoom(size_t bytes) { return absl::OkStatus(); }
  // Adds ops to a batch from the value a key held just before it.
  // `current` is null if the key was missing. It may run more than once
  // (retries) on a fresh copy of the batch each time.
  using Completion =
      std::function<void(const std::string* current, KvBatch* batch)>;
  // Write, after letting `complete` add ops that depend on the current value
  // of `key` (e.g. the next sequence numbers). Shared engines read and write
  // in one atomic step; this default reads, then writes, which is atomic
  // only for a caller whose writes to `key` are serialized (the store's
  // commit queue is).
  virtual absl::Status WriteAfterRead(KvBatch batch, bool sync, Family family,
                                      const std::string& key,
                                      const Completion& complete) {
    std::string value;
    absl::Status s = Get(family, key, &value);
    if (!s.ok() && !absl::IsNotFound(s)) return s;
    complete(s.ok() ? &value : nullptr, &batch);
    return Write(std::move(batch), sync);
  }
  virtual std::unique_ptr<KvSnapshot> GetSnapshot() = 0;
  // Told how far a Checkpoint has come: `done` bytes copied into the copy,
  // of `total` to copy (0: not counted); `exact` when total is not an
  // estimate.
  using CheckpointProgress =
      std::function<void(int64_t done, int64_t total, bool exact)>;
  // Writes a consistent, complete copy of the database into `dir` (which
  // must not exist) while writes go on. UNIMPLEMENTED if the engine cannot.
  // `progress`, if set, is told at the start, about twice a second while
  // the copy is written (from a thread of the engine's), and once more with
  // what the finished copy holds, one call at a time, never after
  // Checkpoint returns.
  virtual absl::Status Checkpoint(const std::string& dir,
                                  const CheckpointProgress& progress) {
    return absl::UnimplementedError("this engine cannot take checkpoints");
  }
  absl::Status Checkpoint(const std::string& dir) {
    return Checkpoint(dir, nullptr);
  }
  // Opens the copy Checkpoint wrote into `dir`, read-only (every write is
  // FAILED_PRECONDITION), to read what the copy holds. UNIMPLEMENTED if the
  // engine cannot take checkpoints.
  virtual absl::StatusOr<std::unique_ptr<KvEngine>> OpenCheckpoint(
      const std::string& dir) {
    return absl::UnimplementedError("this engine cannot take checkpoints");
  }
  // Whether other processes (replicas) write to the same data. The store
  // then guards each write with Expect conditions, takes sequence numbers
  // optimistically and follows other replicas' commits. Default: false.
  virtual bool shared() const { return false; }
  // Blocks until another process may have written, or `timeout` passed:
  // true if one may have (the engine was told, or cannot tell: it has no
  // notifications, or may have missed some), false if `timeout` passed
  // with no sign of a write. Only meaningful for shared engines. Default:
  // sleeps `timeout`, true.
  virtual bool WaitForWrites(absl::Duration timeout) {
    absl::SleepFor(timeout);
    return true;
  }
  // Whether this process holds the named lease (taking it if free), for
  // jobs that one replica at a time should run (retention, the scheduler).
  // A lease is held until the process ends or loses its connection.
  // Default: true (a process that owns its data holds every lease).
  virtual absl::StatusOr<bool> TryLease(absl::string_view name) { return true; }
  // Whether the data can be reached now, answered within about `timeout`:
  // OK, or UNAVAILABLE saying why (FAILED_PRECONDITION while an offline
  // repair holds a shared store: HoldAlone). One round trip on a
  // connection of the engine's own, cheap enough for every second; for
  // readiness. Default: OK (embedded data is there while the process is).
  virtual absl::Status Ping(absl::Duration timeout) { return absl::OkStatus(); }
  // Ping, and whether `key` of `family` exists (a mark the caller watches,
  // as the index repair's), read in the ping's own round trip where the
  // engine can: `*exists` is set when it was read, and left empty when not
  // (the caller then reads it itself, if the ping says the data answers).
  // Default: Ping, reading nothing.
  virtual absl::Status PingReading(absl::Duration timeout, Family family,
                                   absl::string_view key,
                                   std::optional<bool>* exists) {
    return Ping(timeout);
  }
  // Shared engines: marks this process as one serving the data, beside any
  // number of others, until it ends (Ping marks it again after a lost
  // connection). FAILED_PRECONDITION while a process holds the data alone
  // (HoldAlone); UNAVAILABLE if the data cannot be reached. Default: OK.
  virtual absl::Status MarkServing() { return absl::OkStatus(); }
  // Shared engines: holds the data for this process alone until it ends
  // (an offline repair), refusing while any process serves it
  // (MarkServing): FAILED_PRECONDITION naming them. Default: OK (embedded
  // data is held by its lock file).
  virtual absl::Status HoldAlone() { return absl::OkStatus(); }
  // Bulk loading: adds `puts` (kPut ops into `family` only, any order, no
  // key twice, none of them already in the family) as one sorted table
  // file, without logging each key, and returns a ticket. The keys are
  // visible at once but provisional: the caller must next commit a batch
  // holding `Put(Family::kMeta, IngestMarkerKey(ticket), "")` and then call
  // EndIngest with whether that commit succeeded. A failed commit, or a
  // crash before it, removes the keys again (in EndIngest, or when the
  // engine next opens). UNIMPLEMENTED (the default) means the caller writes
  // the keys in its batch instead.
  virtual absl::StatusOr<std::string> Ingest(Family family,
                                             const KvBatch& puts) {
    return absl::UnimplementedError("this engine cannot ingest files");
  }
  virtual void EndIngest(const std::string& ticket, bool committed) {}
  // Told how far a CompactAll has come: `done` bytes read of about `total`
  // (0: not counted).
  using CompactProgress = std::function<void(int64_t done, int64_t total)>;
  // Rewrites the whole database into its most compact form (for RocksDB:
  // every family compacted into its bottommost level), so reads do not pay
  // for the shape a bulk load left. UNIMPLEMENTED if the engine cannot.
  // `progress`, if set, is told at the start, after each family, and about
  // twice a second between (on the calling thread or one of the engine's,
  // one call at a time), never after CompactAll returns.
  virtual absl::Status CompactAll(const CompactProgress& progress) {
    return absl::UnimplementedError("this engine cannot compact");
  }
  absl::Status CompactAll() { return CompactAll(nullptr); }
  // OK while the engine takes writes; else the error every write answers
  // until the process restarts (writes stopped for good after an I/O
  // error) or the engine reopens itself (opened read-only for a full
  // volume: SetWritesResumed). A refusal that clears by itself (a full
  // disk, a lost connection) is not one. Default: OK.
  virtual absl::Status WritesRefused() { return absl::OkStatus(); }
  // Calls `resumed` once WritesRefused, having refused writes, is OK again
  // without a restart (an engine opened read-only for a full volume that
  // opened itself for writing), on a thread of the engine's, holding none
  // of its locks: it may write. Null clears it; once that call returns,
  // no earlier `resumed` is running or will run. Default: never calls it.
  virtual void SetWritesResumed(std::function<void()> resumed) {}
  // Engine figures for operators (e.g. "rocksdb.estimate-live-data-size"),
  // name -> value; empty if the engine has none.
  virtual std::vector<std::pair<std::string, std::string>> Stats() {
    return {};
  }
};

}  // namespace content::store

#endif  // CONTENT_SERVER_STORE_KV_H_
