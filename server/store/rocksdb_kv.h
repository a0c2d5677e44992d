// KvEngine on an embedded RocksDB, one column family per Family.
#ifndef CONTENT_SERVER_STORE_ROCKSDB_KV_H_
#define CONTENT_SERVER_STORE_ROCKSDB_KV_H_

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/store/kv.h"

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
};

// Opens (creating if needed) the database. UNAVAILABLE if the directory is
// locked by another process or unreadable; DATA_LOSS on corruption.
absl::StatusOr<std::unique_ptr<KvEngine>> OpenRocksKv(
    const RocksKvOptions& options);

}  // namespace content::store

#endif  // CONTENT_SERVER_STORE_ROCKSDB_KV_H_
