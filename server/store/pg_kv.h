// KvEngine on PostgreSQL-compatible SQL (PostgreSQL, and on paper
// CockroachDB and YugabyteDB): one table of (family, key, value) ordered by
// key, shared by any number of contentd replicas.
#ifndef CONTENT_SERVER_STORE_PG_KV_H_
#define CONTENT_SERVER_STORE_PG_KV_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "server/store/kv.h"

namespace content::store {

// Options for OpenPgKv.
struct PgKvOptions {
  // libpq connection string, e.g. "host=db port=5432 user=contentd
  // dbname=content". Required.
  std::string dsn;
  // Table holding the store; created if missing. Replicas that share a
  // table share a store. Lower-case letters, digits and '_', starting with
  // a letter or '_'. Default: "contentd_kv".
  std::string table = "contentd_kv";
  // Create `table` if it is missing. Off, a missing table fails the open
  // (INVALID_ARGUMENT naming storage.table) and nothing is created: a check
  // of a mistyped name must not report an empty new table clean.
  // Default: true.
  bool create_table = true;
  // Connections per process (reads borrow one per call or per snapshot).
  // Default: 16.
  int pool_size = 16;
  // Take a session advisory lock around each write transaction so that
  // writers across replicas run one at a time instead of failing each other
  // with serialization errors (every write touches the change sequence).
  // Turn off on engines without advisory locks (CockroachDB): the
  // serializable transactions and their retries stay correct without it.
  // Default: true.
  bool write_lock = true;
  // How long a write waits for the write lock before failing UNAVAILABLE.
  // A replica that vanished (power, network) while holding it keeps it
  // until PostgreSQL notices and ends its session, which takes the
  // server's TCP keepalive time (2 hours by default; docs/scaling.md);
  // meanwhile writes on every other replica fail after this wait instead
  // of queueing for good. Default: 10 s.
  absl::Duration lock_timeout = absl::Seconds(10);
  // Bytes (keys and values) an iterator fetches per page: pages grow to
  // 1,024 rows, which on big values (a scan of revisions) would hold
  // gigabytes. A page holds at least one row, however big. Default: 4 MiB.
  int64_t page_bytes = int64_t{4} << 20;
  // Bytes of rows (as sent: hex text) past which an INSERT or DELETE
  // statement of a write ends with the row that passed them, besides its
  // cap of 4,000 rows: group commit puts several writes' values in one
  // transaction, and PostgreSQL refuses a message past 1 GB.
  // Default: 64 MiB.
  int64_t statement_bytes = int64_t{64} << 20;
  // What this process's sessions call themselves in PostgreSQL
  // (pg_stat_activity.application_name, as "NAME on HOST (pid N)"), so
  // that a refusal naming the sessions in its way names the process each
  // belongs to. A DSN that sets application_name keeps its own (libpq's
  // fallback_application_name). Default: "contentd".
  std::string session_name = "contentd";
  // How errors name the setting the DSN came from, in parentheses: `storage:
  // PostgreSQL unreachable (storage.dsn): ...`. contentd passes what the
  // operator typed: `--storage-dsn`, or `storage.dsn in FILE`.
  // Default: "storage.dsn".
  std::string dsn_name = "storage.dsn";
  // For benchmarks: false sends the read a write's completion needs
  // (KvEngine::WriteAfterRead) as a statement of its own after the
  // transaction's first one (the presence lock, synchronous_commit), as
  // before they were folded into one; docs/scaling.md measures both.
  // Default: true.
  bool fold_first_read = true;
  // How long a lease's answer (KvEngine::TryLease) is trusted after the
  // presence session last answered, a ping (one a second keeps it fresh)
  // or a query of the lease's own; past it, TryLease asks the database
  // itself. For tests, which cannot count on a loaded machine making its
  // calls within 3 s of a ping. Default: 3 s.
  absl::Duration lease_fresh = absl::Seconds(3);
  // How long a lease holder's presence session may stay idle (no ping: a
  // live one pings every second) before a replica wanting the lease ends
  // that session (pg_terminate_backend, where this role may), so that the
  // lease passes on. A stopped or hung process keeps its sessions open
  // (its kernel still answers TCP), and its leases with them, for as long
  // as it stays stopped; the holder itself stopped trusting the lease
  // after lease_fresh. Zero: never. Default: 15 s.
  absl::Duration lease_holder_silent = absl::Seconds(15);
  // For tests: called with the rows and bytes of each INSERT or DELETE
  // statement a write sends. Default: none.
  std::function<void(size_t rows, size_t bytes)> on_statement;
  // For tests: called with the rows and bytes of each page an iterator
  // fetched. Default: none.
  std::function<void(size_t rows, size_t bytes)> on_page;
};

// The largest limits.max_article_bytes contentd accepts on this engine: a
// value travels as hex text (twice its size) in one array parameter, and
// PostgreSQL refuses a parameter or message past 1 GB.
inline constexpr int64_t kPgMaxArticleBytes = int64_t{256} << 20;

// Connects and creates the table if missing. INVALID_ARGUMENT on a bad
// table name or DSN; UNAVAILABLE if the server cannot be reached.
absl::StatusOr<std::unique_ptr<KvEngine>> OpenPgKv(const PgKvOptions& options);

}  // namespace content::store

#endif  // CONTENT_SERVER_STORE_PG_KV_H_
