// KvEngine on an embedded RocksDB, one column family per Family.
#ifndef CONTENT_SERVER_STORE_ROCKSDB_KV_H_
#define CONTENT_SERVER_STORE_ROCKSDB_KV_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/store/kv.h"

namespace rocksdb {
class FileSystem;
}  // namespace rocksdb

namespace content::store {

// Options for OpenRocksKv.
struct RocksKvOptions {
  // Directory of the database; created if missing. Default: "./data".
  std::string path = "./data";
  // Shared block cache for all families. Default: 128 MiB.
  size_t block_cache_bytes = size_t{128} << 20;
  // Memtable size per family. Default: 32 MiB.
  size_t write_buffer_bytes = size_t{32} << 20;
  // Stores revision values of 512 bytes or more in blob files (key-value
  // separation) rather than in the LSM tree. Default: true.
  bool separate_revision_values = true;
  // On close, memtables are flushed when the live WAL holds more than this,
  // so the next start does not replay it (after a 1M import: 1.36 GB of
  // WAL, 4.3 s before serving). Smaller WALs are left for a fast stop; a
  // crash replays whatever there is either way. Default: 64 MiB.
  size_t flush_on_close_wal_bytes = size_t{64} << 20;
  // A family that ingests (KvEngine::Ingest) compacts level 0 only once it
  // holds many tables, until this long after its last ingest: imports
  // rewrite level 1 less often, queries meanwhile read more tables.
  // Default: 10 s.
  absl::Duration bulk_shape_hold = absl::Seconds(10);
  // Opens an existing database without changing a byte of its directory
  // (RocksDB's OpenForReadOnly: no lock, no MANIFEST, OPTIONS or LOG file,
  // no flush or compaction), for checking a stopped store, a backup or a
  // read-only mount. Every write (Write, WriteAfterRead, Ingest,
  // CompactAll, Checkpoint) is FAILED_PRECONDITION. An ingest a crash left
  // uncommitted (KvEngine::Ingest) is hidden from reads rather than undone,
  // so reads see what a read-write open would after its recovery. Reads see
  // the database as it was at open; another process writing it meanwhile
  // may remove files from under them, so check RocksKvInUse first.
  // Default: false.
  bool read_only = false;
  // Called once, when RocksDB stops taking writes for good: an I/O error it
  // classes as fatal (with RocksDB 7.8, any failed WAL append or sync other
  // than a full disk, and failed flushes and MANIFEST writes). DB::Resume
  // cannot clear it; from then on every write is UNAVAILABLE saying a
  // restart is needed, while reads go on. Reopening recovers every
  // acknowledged write from the WAL. Runs on the thread that met the error
  // (a writer or a RocksDB background thread) and must not call back into
  // the engine. Errors RocksDB can recover from (a full disk) do not call
  // it: the next write resumes. Default: none.
  std::function<void(const absl::Status&)> on_writes_stopped;
  // An existing database whose volume has no room for a read-write open
  // (RocksDB writes a new MANIFEST, OPTIONS file and WAL before it serves)
  // opens as read_only does instead, but holding LOCK as a read-write open
  // does, so that its reads are served: every write is then
  // RESOURCE_EXHAUSTED (disk full) saying to free space, and
  // `on_opened_read_only` is called with that status. Checkpoint copies
  // its files meanwhile. The volume is checked every `room_check_period`;
  // once it has room for a read-write open, the engine opens the database
  // read-write in place and takes writes (reads begun before finish on the
  // read-only open), saying so on stderr (`contentd: taking writes again:
  // ...`).
  // Should that open fail other than for want of room, `on_writes_stopped`
  // is called (a restart may do better). False: such an open fails with
  // RESOURCE_EXHAUSTED. Default: true.
  bool read_only_when_full = true;
  std::function<void(const absl::Status&)> on_opened_read_only;
  absl::Duration room_check_period = absl::Seconds(5);
  // Tests only: the file system RocksDB runs on, e.g. a wrapper that
  // injects I/O errors. Default: null, the local file system.
  std::shared_ptr<rocksdb::FileSystem> file_system;
  // Tests only: the bytes free on the volume of `path`, wherever the engine
  // measures it: the open's probe (see OpenRocksKv), the room check of
  // every write, before a retry of a flush that failed for want of room and
  // before a compaction. Default: null, statvfs of `path` or, if it does not
  // exist yet, of its nearest existing parent.
  std::function<absl::StatusOr<uint64_t>(const std::string& path)> free_space;
  // Tests only: called when a read-write open in place (read_only_when_full)
  // has failed, before the engine makes sure it still holds LOCK. Default:
  // none.
  std::function<void()> after_failed_reopen;
};

// The least free space a read-write open creates a new database in: the
// write path keeps 2 MiB free (a full disk then fails writes cleanly) and
// the first files take some more.
inline constexpr uint64_t kRocksKvMinFreeToCreate = uint64_t{4} << 20;

// Opens (creating if needed, unless read_only) the database.
// RESOURCE_EXHAUSTED, naming the path, the free space and what it needs, if
// there is no database yet and the volume has less than
// kRocksKvMinFreeToCreate free. On a volume with little free space (less
// than 8 times what RocksDB preallocates for its log files: 1.1 x
// write_buffer_bytes per WAL, 4 MiB per MANIFEST) nothing is preallocated,
// so the space a small volume has is the store's to use. UNAVAILABLE if
// the directory is locked by another process or unreadable; DATA_LOSS on
// corruption; read_only: INVALID_ARGUMENT if there is no database, and
// FAILED_PRECONDITION if it lacks a column family this build uses (not a
// contentd store, or one from an older version).
absl::StatusOr<std::unique_ptr<KvEngine>> OpenRocksKv(
    const RocksKvOptions& options);

// Whether another process has the database at `path` open read-write:
// RocksDB holds a POSIX record lock on `path`/LOCK while it does. False if
// there is no LOCK file. UNAVAILABLE if LOCK exists but cannot be opened or
// queried. Opens nothing for writing.
// REQUIRES: this process does not have the database open itself: closing
// any descriptor of LOCK drops this process's record locks on it (POSIX),
// and a process's own locks never show as held.
absl::StatusOr<bool> RocksKvInUse(const std::string& path);

}  // namespace content::store

#endif  // CONTENT_SERVER_STORE_ROCKSDB_KV_H_
