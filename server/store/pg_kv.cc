#include "server/store/pg_kv.h"

#include <libpq-fe.h>
#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <map>
#include <memory>
#include <optional>
#include <pqxx/pqxx>
#include <set>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/ascii.h"
#include "absl/strings/cord.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "absl/types/optional.h"
#include "server/error_details.h"
#include "server/host_name.h"
#include "server/store/pg_kv_internal.h"

namespace content::store {

namespace pg_internal {

// FNV-1a of "contentd:TABLE:NAME", shifted right once (a 63-bit key). The
// offset basis lacks the standard one's last digit; replicas of every
// version must compute the same keys, so it stays.
int64_t LockKey(absl::string_view table, absl::string_view name) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a
  auto mix = [&h](absl::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ULL;
    }
  };
  mix("contentd:");
  mix(table);
  mix(":");
  mix(name);
  return static_cast<int64_t>(h >> 1);
}

namespace {

// The spans of `dsn` that hold a password, as RedactDsnParseError says.
std::vector<std::string> DsnSecrets(absl::string_view dsn) {
  std::vector<std::string> out;
  absl::string_view rest = dsn;
  if (absl::ConsumePrefix(&rest, "postgresql://") ||
      absl::ConsumePrefix(&rest, "postgres://")) {
    // libpq's rule: user info runs to an `@` met before any `/`.
    const size_t end = rest.find_first_of("@/");
    if (end != absl::string_view::npos && rest[end] == '@') {
      const absl::string_view info = rest.substr(0, end);
      const size_t colon = info.find(':');
      if (colon != absl::string_view::npos) {
        out.emplace_back(info.substr(colon + 1));
      }
    }
    const size_t query = rest.find('?');
    if (query != absl::string_view::npos) {
      for (absl::string_view param :
           absl::StrSplit(rest.substr(query + 1), '&')) {
        const size_t eq = param.find('=');
        if (eq != absl::string_view::npos &&
            absl::EndsWith(param.substr(0, eq), "password")) {
          out.emplace_back(param.substr(eq + 1));
        }
      }
    }
    return out;
  }
  // key=value: each `...password =` key, its value quoted or bare.
  for (size_t at = dsn.find("password"); at != absl::string_view::npos;
       at = dsn.find("password", at + 1)) {
    size_t i = at + 8;
    while (i < dsn.size() && absl::ascii_isspace(dsn[i])) ++i;
    if (i >= dsn.size() || dsn[i] != '=') continue;
    ++i;
    while (i < dsn.size() && absl::ascii_isspace(dsn[i])) ++i;
    size_t end = i;
    if (i < dsn.size() && dsn[i] == '\'') {
      for (end = i + 1; end < dsn.size() && dsn[end] != '\''; ++end) {
        if (dsn[end] == '\\') ++end;
      }
      end = std::min(end, dsn.size());
      out.emplace_back(dsn.substr(i + 1, end - i - 1));
      continue;
    }
    // Bare: up to the next word that is a `key=` (a value with a space
    // in it is a syntax error libpq quotes the rest of).
    for (;;) {
      while (end < dsn.size() && !absl::ascii_isspace(dsn[end])) ++end;
      size_t next = end;
      while (next < dsn.size() && absl::ascii_isspace(dsn[next])) ++next;
      if (next >= dsn.size()) break;
      const size_t word_end = dsn.find_first_of(" \t\n\r\f\v", next);
      if (absl::StrContains(dsn.substr(next, word_end - next), "=")) break;
      end = next;
    }
    out.emplace_back(dsn.substr(i, end - i));
  }
  return out;
}

}  // namespace

std::string RedactDsnParseError(absl::string_view message,
                                absl::string_view dsn) {
  std::vector<std::string> secrets = DsnSecrets(dsn);
  secrets.erase(std::remove(secrets.begin(), secrets.end(), ""), secrets.end());
  constexpr absl::string_view kNotShown = "(not shown: it holds a password)";
  // Whole passwords first, wherever they are (one holding a `"` would
  // upset the pairing of quotes below); short ones would match ordinary
  // words, and the quotes catch them.
  std::string unquoted(message);
  std::sort(secrets.begin(), secrets.end(),
            [](const std::string& a, const std::string& b) {
              return a.size() > b.size();
            });
  for (const std::string& secret : secrets) {
    if (secret.size() >= 4) {
      unquoted = absl::StrReplaceAll(unquoted, {{secret, kNotShown}});
    }
  }
  std::string out;
  absl::string_view rest = unquoted;
  for (;;) {
    const size_t open = rest.find('"');
    const size_t close = open == absl::string_view::npos
                             ? absl::string_view::npos
                             : rest.find('"', open + 1);
    if (close == absl::string_view::npos) break;
    const absl::string_view quoted = rest.substr(open + 1, close - open - 1);
    const bool secret =
        !quoted.empty() &&
        std::any_of(secrets.begin(), secrets.end(), [&](const std::string& s) {
          return absl::StrContains(quoted, s) || absl::StrContains(s, quoted);
        });
    absl::StrAppend(&out, rest.substr(0, open + 1), secret ? kNotShown : quoted,
                    "\"");
    rest.remove_prefix(close + 1);
  }
  absl::StrAppend(&out, rest);
  return out;
}

}  // namespace pg_internal

namespace {

using pg_internal::LockKey;

// Retries of a write whose transaction failed to serialize.
constexpr int kMaxWriteAttempts = 30;
// Rows per INSERT/DELETE statement of a write.
constexpr size_t kRowsPerStatement = 4000;
// Rows an iterator fetches first after a seek, and at most per page.
constexpr int kFirstPage = 16;
constexpr int kMaxPage = 1024;

// SQLSTATE of a lock wait that ran past lock_timeout.
constexpr char kLockNotAvailable[] = "55P03";

// Takes session advisory lock `key`, waiting at most `timeout` (then
// SQLSTATE 55P03): a lock whose holder vanished stays taken until
// PostgreSQL ends the holder's session, hours later without keepalives.
// One round trip: the two statements run as one implicit transaction, to
// which SET LOCAL is confined; the session lock outlives it.
std::string LockSql(int64_t key, absl::Duration timeout) {
  return absl::StrCat("SET LOCAL lock_timeout = ",
                      std::max<int64_t>(1, absl::ToInt64Milliseconds(timeout)),
                      "; SELECT pg_advisory_lock(", key, ")");
}

// The processes, other than this session, holding advisory lock `key` (in
// `mode`, e.g. 'ExclusiveLock', if not empty): one row of how many, and
// who, each by the name its sessions gave themselves (application_name:
// "contentd on HOST (pid N)" for contentd's own), their backends and
// address. A replica's presence session and a write in flight on one of
// its pooled connections are one process; sessions without a name are
// each one.
std::string HoldersSql(int64_t key, absl::string_view mode) {
  return absl::StrCat(
      "SELECT count(*), coalesce(string_agg(who, ', ' ORDER BY first), '') "
      "FROM (SELECT min(l.pid) AS first, coalesce(nullif(max("
      "a.application_name), ''), 'a session') || ' (PostgreSQL backend' || "
      "CASE WHEN count(*) > 1 THEN 's ' ELSE ' ' END || string_agg("
      "l.pid::text, ', ' ORDER BY l.pid) || coalesce(', from ' || "
      "max(host(a.client_addr)), '') || ')' AS who FROM pg_locks l LEFT "
      "JOIN pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = "
      "'advisory' AND l.granted AND l.database = (SELECT oid FROM "
      "pg_database WHERE datname = current_database()) AND l.classid = ",
      key >> 32, "::bigint::oid AND l.objid = ", key & 0xffffffff,
      "::bigint::oid AND l.objsubid = 1 AND l.pid <> pg_backend_pid()",
      mode.empty() ? "" : absl::StrCat(" AND l.mode = '", mode, "'"),
      " GROUP BY coalesce(nullif(a.application_name, ''), l.pid::text)) "
      "holders");
}

// Who holds advisory lock `key` (HoldersSql), asked on `c` outside any
// transaction, as ": WHO" for a message; empty if no one does or the
// question failed (the message is then said without it).
std::string Holders(pqxx::connection_base& c, int64_t key,
                    absl::string_view mode) {
  try {
    pqxx::nontransaction tx(c);
    const pqxx::result r = tx.exec(HoldersSql(key, mode));
    if (r.empty() || r[0][0].as<int64_t>() == 0) return "";
    return absl::StrCat(": ", r[0][1].c_str());
  } catch (const std::exception&) {
    return "";
  }
}

bool ValidTableName(absl::string_view t) {
  if (t.empty() || t.size() > 63) return false;
  if (!(t[0] == '_' || (t[0] >= 'a' && t[0] <= 'z'))) return false;
  for (char c : t) {
    if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')))
      return false;
  }
  return true;
}

// Whether `e` is libpqxx's word for a connection that is gone: its own
// class, or (libpqxx 6.4) "Could not obtain client encoding", which is what
// starting a transaction on a connection libpq saw die throws.
bool ConnectionGone(const std::exception& e) {
  return dynamic_cast<const pqxx::broken_connection*>(&e) != nullptr ||
         absl::StartsWith(e.what(), "Could not obtain client encoding");
}

// Whether a read that failed with `e` may succeed if made again on a fresh
// connection: the connection broke, or the server ended the session or
// refused it for now (57P01 admin_shutdown on a restart or
// pg_terminate_backend, 57P02 crash_shutdown, 57P03 cannot_connect_now
// while it starts or stops, class 08 connection_exception; libpqxx 6.4
// throws these as broken_connection, since the server closes the session,
// and the SQLSTATEs are looked at in case one comes as sql_error); or the
// read lost to a concurrent change (40001 serialization_failure, also what
// a hot standby cancels a query with when recovery needs its rows, and
// 40P01 deadlock_detected), which libpqxx throws as transaction_rollback.
bool Transient(const std::exception& e) {
  if (ConnectionGone(e) ||
      dynamic_cast<const pqxx::transaction_rollback*>(&e) != nullptr) {
    return true;
  }
  const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e);
  if (sql == nullptr) return false;
  const std::string& state = sql->sqlstate();
  return absl::StartsWith(state, "08") || state == "57P01" ||
         state == "57P02" || state == "57P03" || state == "40001" ||
         state == "40P01";
}

// Attempts of a read that keeps failing transiently, and the pause before
// each attempt after the first: about half a second in all, so that a read
// outlives a connection that broke while idle, or a failover's moment,
// and a database that stays down fails it soon (the SDK retries reads that
// fail UNAVAILABLE).
constexpr int kReadAttempts = 4;
absl::Duration ReadRetryPause(int attempt) {
  return attempt <= 1 ? absl::ZeroDuration()
                      : absl::Milliseconds(100) * (1 << (2 * (attempt - 2)));
}

// What a read that failed transiently `kReadAttempts` times returns;
// `dsn_name` as PgKvOptions::dsn_name.
absl::Status ReadsFailed(absl::string_view dsn_name, absl::string_view what,
                         absl::string_view last) {
  std::string reason(absl::StripPrefix(last, "storage: "));
  while (!reason.empty() && (reason.back() == '\n' || reason.back() == ' '))
    reason.pop_back();
  return absl::UnavailableError(
      absl::StrCat("storage: PostgreSQL unavailable (", dsn_name, ") while ",
                   what, ", after ", kReadAttempts, " attempts: ", reason));
}

// The SQLSTATE of a database error, kept on the status made for it (as a
// payload under this key, which only this file reads: the service edge
// sends only ErrorInfo and BadRequest), so that a later error caused by it
// (LostPresence) can be classified and named by it too.
constexpr char kSqlStatePayload[] = "contentd.internal/sqlstate";

// SqlStateStatus's code for `state` (said below), without the payload.
absl::Status SqlStateCode(absl::string_view state, std::string message) {
  if (absl::StartsWith(state, "22"))  // data_exception
    return absl::InvalidArgumentError(message);
  if (state == "53100")  // disk_full
    return WithReason(absl::ResourceExhaustedError(message), reason::kDiskFull);
  if (absl::StartsWith(state, "54"))  // program_limit_exceeded
    return absl::ResourceExhaustedError(message);
  if (absl::StartsWith(state, "08") || absl::StartsWith(state, "53") ||
      absl::StartsWith(state, "57P") || state == "57014" || state == "40001" ||
      state == "40P01" || state == kLockNotAvailable || state == "25006") {
    return absl::UnavailableError(message);
  }
  return absl::InternalError(message);
}

// The status for a database error of SQLSTATE `state` (AIP-193), carrying
// `message`: UNAVAILABLE where the same call may succeed later (class 08
// connection_exception, 57P01-57P03 the server ending or refusing
// sessions, 57014 a statement cancelled, class 53 out of resources but for
// 53100 disk_full, 40001/40P01 a lost race, 55P03 a lock wait that timed
// out, 25006 a server that turned read-only, as a demoted primary does);
// INVALID_ARGUMENT for class 22 (data_exception: the data sent); and
// RESOURCE_EXHAUSTED for a full disk (DISK_FULL) or a value past a limit
// (class 54). Every other error (a privilege revoked, the table dropped,
// the server's own failure) is INTERNAL: the same call would meet it
// again, and a client retrying UNAVAILABLE would retry it for good; nor is
// it FAILED_PRECONDITION, which a shared store answers only for an
// offline repair (reason::kRepairRunning) or incomplete indexes. The
// status keeps `state` (SqlStateOf).
absl::Status SqlStateStatus(absl::string_view state, std::string message) {
  absl::Status s = SqlStateCode(state, std::move(message));
  if (!state.empty()) s.SetPayload(kSqlStatePayload, absl::Cord(state));
  return s;
}

// The SQLSTATE a status made by SqlStateStatus carries; empty for any other
// (a lost connection, a deadline, an error without one).
std::string SqlStateOf(const absl::Status& s) {
  const absl::optional<absl::Cord> state = s.GetPayload(kSqlStatePayload);
  return state.has_value() ? std::string(*state) : "";
}

// libpq's `message` on one line, for one log line: its lines trimmed and
// joined by "; " (a refused connection's second line is a tab-indented
// "Is the server running on that host ...?", one per address tried).
std::string OneLine(absl::string_view message) {
  std::vector<absl::string_view> lines;
  for (absl::string_view line : absl::StrSplit(message, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (!line.empty()) lines.push_back(line);
  }
  return absl::StrJoin(lines, "; ");
}

absl::Status Trouble(const std::exception& e, absl::string_view what) {
  std::string message = OneLine(e.what());
  if (ConnectionGone(e) ||
      dynamic_cast<const pqxx::in_doubt_error*>(&e) != nullptr) {
    return absl::UnavailableError(absl::StrCat(
        "storage: PostgreSQL connection lost while ", what, ": ", message));
  }
  message =
      absl::StrCat("storage: PostgreSQL error while ", what, ": ", message);
  const auto* sql = dynamic_cast<const pqxx::sql_error*>(&e);
  std::string state = sql != nullptr ? sql->sqlstate() : "";
  // libpqxx 6.4 throws these classes without their SQLSTATE.
  if (state.empty() && Transient(e)) state = "40001";
  if (state.empty() &&
      dynamic_cast<const pqxx::insufficient_privilege*>(&e) != nullptr)
    state = "42501";
  if (!state.empty() && !absl::StrContains(message, state))
    absl::StrAppend(&message, " (SQLSTATE ", state, ")");
  return SqlStateStatus(state, std::move(message));
}

// Whether libpq's message for a connection that could not be opened says
// the server refused this login, or the DSN itself is wrong: the same DSN
// would fail the same way again, where a server down, starting or full
// would not. (libpq gives no SQLSTATE for a failed connection.)
bool LoginRefused(absl::string_view message) {
  for (const char* refused : {
           "authentication failed",      // a wrong password
           "no password supplied",       // the server wants one
           "does not exist",             // the role or database
           "no pg_hba.conf entry",       // the server admits no such login
           "not permitted to log in",    // NOLOGIN role
           "invalid connection option",  // the DSN's syntax
           "missing \"=\" after",
           "unterminated quoted string",
           "invalid sslmode value",
           "invalid port number",
       }) {
    if (absl::StrContains(message, refused)) return true;
  }
  return false;
}

// A connection that could not be opened: UNAVAILABLE, naming the setting
// the DSN comes from (PgKvOptions::dsn_name) and carrying libpq's reason.
absl::Status ConnectTrouble(absl::string_view dsn_name,
                            const std::exception& e) {
  const std::string message = OneLine(e.what());
  return absl::UnavailableError(absl::StrCat(
      "storage: cannot connect to PostgreSQL (", dsn_name, "): ", message));
}

// SQLSTATE 42501: the user lacks a privilege. (libpqxx 6.4 throws this
// class without its SQLSTATE.)
bool Denied(const std::exception& e) {
  return dynamic_cast<const pqxx::insufficient_privilege*>(&e) != nullptr;
}

// The first line of a server error ("ERROR:  permission denied for ..."),
// without the statement excerpt PostgreSQL adds after it.
std::string FirstLine(absl::string_view message) {
  return std::string(message.substr(0, message.find('\n')));
}

// The connection broke after COMMIT was sent.
absl::Status InDoubt(const std::exception& e) {
  return absl::UnavailableError(
      absl::StrCat("storage: PostgreSQL connection lost while committing; "
                   "the write may or may not have been applied: ",
                   e.what()));
}

pqxx::binarystring Bytes(absl::string_view s) {
  return pqxx::binarystring(s.data(), s.size());
}

std::string FromBytea(const pqxx::field& f) {
  pqxx::binarystring b(f);
  return std::string(b.get(), b.size());
}

// Array literals for unnest(): '{1,2}' and '{"\\x0a0b","\\x"}'.
void AppendByteaElement(std::string* out, absl::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  out->append("\"\\\\x");
  for (unsigned char c : bytes) {
    out->push_back(kHex[c >> 4]);
    out->push_back(kHex[c & 15]);
  }
  out->push_back('"');
}

std::string EncodeInt64(int64_t v) {
  std::string out(8, '\0');
  const uint64_t u = static_cast<uint64_t>(v);
  for (int b = 0; b < 8; ++b) out[b] = static_cast<char>(u >> (8 * b));
  return out;
}

int64_t DecodeInt64(absl::string_view v) {
  uint64_t u = 0;
  for (size_t b = 0; b < 8 && b < v.size(); ++b)
    u |= uint64_t{static_cast<unsigned char>(v[b])} << (8 * b);
  return static_cast<int64_t>(u);
}

// A connection and the statements prepared on it.
struct Conn {
  explicit Conn(const std::string& dsn) : c(dsn) {}
  pqxx::connection c;
  absl::flat_hash_set<std::string> prepared;
};

// Whether an idle connection is known to be dead, without a round trip:
// closed on this side, or the server hung up. A backend that ends
// (pg_terminate_backend, a restart, idle timeouts) sends its FATAL and
// closes the socket, and an idle connection is sent nothing else.
bool Stale(const pqxx::connection_base& c) {
  if (!c.is_open()) return true;
  pollfd p{};
  p.fd = c.sock();
  p.events = POLLIN;
  return p.fd < 0 || poll(&p, 1, 0) != 0;
}
bool Stale(const Conn& conn) { return Stale(conn.c); }

// --- Bounded round trips, for pings and the presence locks. libpqxx 6
// blocks on the socket for as long as TCP does (minutes on a network that
// drops packets); these drive libpq without blocking and give up at a
// deadline.

struct PgConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using PgConnPtr = std::unique_ptr<PGconn, PgConnCloser>;

// libpq's last error on `c`, its lines joined into one.
std::string PqError(const PGconn* c) {
  std::string out;
  for (absl::string_view line : absl::StrSplit(
           c != nullptr ? PQerrorMessage(c) : "out of memory", '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (!line.empty()) absl::StrAppend(&out, out.empty() ? "" : " ", line);
  }
  return out;
}

// Waits for `c`'s socket to be ready for `events`; false once `deadline`
// passed first.
bool WaitForSocket(const PGconn* c, short events, absl::Time deadline) {
  for (;;) {
    const int64_t ms = absl::ToInt64Milliseconds(deadline - absl::Now());
    if (ms <= 0) return false;
    pollfd p{PQsocket(c), events, 0};
    if (p.fd < 0) return true;  // libpq says why on the next call
    const int r = poll(&p, 1, static_cast<int>(std::min<int64_t>(ms, INT_MAX)));
    if (r > 0 || (r < 0 && errno != EINTR)) return true;
    if (r == 0) return false;
  }
}

// How an UNAVAILABLE for a database out of reach begins, naming the DSN's
// setting (PgKvOptions::dsn_name).
std::string Unreachable(absl::string_view dsn_name) {
  return absl::StrCat("storage: PostgreSQL unreachable (", dsn_name, "): ");
}

absl::Status Unanswered(absl::string_view dsn_name, absl::Duration timeout) {
  return absl::UnavailableError(absl::StrCat(Unreachable(dsn_name),
                                             "no answer within ",
                                             absl::FormatDuration(timeout)));
}

// A new connection to `dsn`, opened by `deadline`; errors name the DSN as
// `dsn_name` (PgKvOptions::dsn_name).
absl::StatusOr<PgConnPtr> ConnectBy(const std::string& dsn,
                                    absl::string_view dsn_name,
                                    absl::Time deadline,
                                    absl::Duration timeout) {
  PgConnPtr c(PQconnectStart(dsn.c_str()));
  if (c == nullptr || PQstatus(c.get()) == CONNECTION_BAD) {
    return absl::UnavailableError(
        absl::StrCat(Unreachable(dsn_name), PqError(c.get())));
  }
  PostgresPollingStatusType st = PGRES_POLLING_WRITING;
  while (st != PGRES_POLLING_OK) {
    if (st == PGRES_POLLING_FAILED) {
      return absl::UnavailableError(
          absl::StrCat(Unreachable(dsn_name), PqError(c.get())));
    }
    if (!WaitForSocket(c.get(), st == PGRES_POLLING_READING ? POLLIN : POLLOUT,
                       deadline)) {
      return Unanswered(dsn_name, timeout);
    }
    st = PQconnectPoll(c.get());
  }
  if (PQsetnonblocking(c.get(), 1) != 0) {
    return absl::UnavailableError(
        absl::StrCat("storage: PostgreSQL: ", PqError(c.get())));
  }
  return c;
}

// Runs `sql` on `c` by `deadline`: the first row's values (none if it
// returned no row). UNAVAILABLE if the connection failed or the deadline
// passed, which leave `c` unusable; for an error the server answered with,
// its SQLSTATE's code (SqlStateStatus: INTERNAL for most) with a message
// naming `what` the query was for and the server's first line. Errors of
// the connection name the DSN as `dsn_name` (PgKvOptions::dsn_name).
absl::StatusOr<std::vector<std::string>> QueryBy(
    PGconn* c, absl::string_view dsn_name, const std::string& sql,
    absl::string_view what, absl::Time deadline, absl::Duration timeout) {
  auto lost = [c, dsn_name] {
    return absl::UnavailableError(
        absl::StrCat(Unreachable(dsn_name), "connection lost: ", PqError(c)));
  };
  if (PQsendQuery(c, sql.c_str()) == 0) return lost();
  for (;;) {
    const int f = PQflush(c);
    if (f == 0) break;
    if (f < 0) return lost();
    if (!WaitForSocket(c, POLLIN | POLLOUT, deadline))
      return Unanswered(dsn_name, timeout);
    if (PQconsumeInput(c) == 0) return lost();
  }
  std::vector<std::string> row;
  std::string error, state;
  for (;;) {
    while (PQisBusy(c) != 0) {
      if (!WaitForSocket(c, POLLIN, deadline))
        return Unanswered(dsn_name, timeout);
      if (PQconsumeInput(c) == 0) return lost();
    }
    PGresult* r = PQgetResult(c);
    if (r == nullptr) break;
    const ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_TUPLES_OK && PQntuples(r) > 0 && row.empty()) {
      for (int i = 0; i < PQnfields(r); ++i)
        row.emplace_back(PQgetvalue(r, 0, i));
    } else if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK &&
               error.empty()) {
      error = PQresultErrorMessage(r);
      const char* code = PQresultErrorField(r, PG_DIAG_SQLSTATE);
      if (code != nullptr) state = code;
    }
    PQclear(r);
  }
  if (PQstatus(c) == CONNECTION_BAD) return lost();
  if (!error.empty()) {
    std::string line = FirstLine(error);
    while (!line.empty() && line.back() == ' ') line.pop_back();
    return SqlStateStatus(
        state, absl::StrCat("storage: PostgreSQL error while ", what, ": ",
                            line, state.empty() ? "" : " (SQLSTATE ", state,
                            state.empty() ? "" : ")"));
  }
  return row;
}

// What names this process to other sessions (pg_stat_activity), so that a
// repair refused for live replicas can say which they are.
std::string ProcessName(absl::string_view role) {
  const std::string host = HostName();
  return absl::StrCat(role, " on ", host.empty() ? "?" : host, " (pid ",
                      getpid(), ")");
}

// `dsn` with `name` as libpq's fallback_application_name, so that every
// session this process opens names it in pg_stat_activity (an
// application_name the DSN sets wins). Rewritten in key=value form, which
// a URI ("postgresql://...") parses into too; a DSN libpq cannot parse is
// left as it is, for the connection to fail naming the problem.
std::string NamedDsn(const std::string& dsn, const std::string& name) {
  PQconninfoOption* options = PQconninfoParse(dsn.c_str(), nullptr);
  if (options == nullptr) return dsn;
  auto quote = [](absl::string_view value) {
    std::string out = "'";
    for (char c : value) {
      if (c == '\\' || c == '\'') out.push_back('\\');
      out.push_back(c);
    }
    out.push_back('\'');
    return out;
  };
  std::string out;
  for (const PQconninfoOption* o = options; o->keyword != nullptr; ++o) {
    if (o->val == nullptr ||
        absl::string_view(o->keyword) == "fallback_application_name")
      continue;
    absl::StrAppend(&out, out.empty() ? "" : " ", o->keyword, "=",
                    quote(o->val));
  }
  PQconninfoFree(options);
  absl::StrAppend(&out, out.empty() ? "" : " ",
                  "fallback_application_name=", quote(name));
  return out;
}

// Runs `sql` as a prepared statement on `conn` (preparing it on first use).
template <typename... Args>
pqxx::result Run(pqxx::transaction_base& tx, Conn& conn, const std::string& sql,
                 Args&&... args) {
  const std::string name =
      absl::StrCat("s", std::hash<std::string>()(sql) & 0xffffffffffff);
  if (conn.prepared.insert(name).second) conn.c.prepare(name, sql);
  return tx.exec_prepared(name, std::forward<Args>(args)...);
}

// A bounded set of connections. Thread-safe.
class Pool {
 public:
  // `dsn_name` as PgKvOptions::dsn_name.
  Pool(std::string dsn, std::string dsn_name, int size)
      : dsn_(std::move(dsn)), dsn_name_(std::move(dsn_name)), size_(size) {}

  // How errors name the DSN's setting (PgKvOptions::dsn_name).
  const std::string& dsn_name() const { return dsn_name_; }

  // Connections the calling thread holds: a thread holding one (a
  // snapshot) that asks for another must get it, or callers doing the same
  // would wait on each other for good. Shared so that a lease returned on
  // another thread, or after its thread ended, counts down safely.
  static const std::shared_ptr<std::atomic<int>>& HeldByThisThread() {
    thread_local const std::shared_ptr<std::atomic<int>> held =
        std::make_shared<std::atomic<int>>(0);
    return held;
  }

  // Borrowed connection; returned (or, if discarded, closed) on destruction.
  class Lease {
   public:
    Lease(Pool* pool, std::unique_ptr<Conn> conn)
        : pool_(pool), conn_(std::move(conn)), held_(HeldByThisThread()) {
      ++*held_;
    }
    Lease(Lease&& o) noexcept
        : pool_(std::exchange(o.pool_, nullptr)),
          conn_(std::move(o.conn_)),
          held_(std::move(o.held_)),
          discard_(o.discard_) {}
    Lease& operator=(Lease&& o) noexcept {
      if (this != &o) {
        Release();
        pool_ = std::exchange(o.pool_, nullptr);
        conn_ = std::move(o.conn_);
        held_ = std::move(o.held_);
        discard_ = o.discard_;
      }
      return *this;
    }
    ~Lease() { Release(); }
    Conn& operator*() const { return *conn_; }
    Conn* operator->() const { return conn_.get(); }
    // The connection is broken or in an unknown state: close it.
    void Discard() { discard_ = true; }

   private:
    void Release() {
      if (pool_ == nullptr) return;
      pool_->Return(std::move(conn_), discard_);
      --*held_;
      pool_ = nullptr;
    }

    Pool* pool_;
    std::unique_ptr<Conn> conn_;
    std::shared_ptr<std::atomic<int>> held_;
    bool discard_ = false;
  };

  // A pooled connection, or with `fresh` a new one: a call whose pooled
  // connection broke before it did anything retries on a fresh one, since
  // the other idle ones may have broken with it. `*could_not_connect` (if
  // given) says whether a failure was the new connection's.
  absl::StatusOr<Lease> Acquire(bool fresh = false,
                                bool* could_not_connect = nullptr) {
    if (could_not_connect != nullptr) *could_not_connect = false;
    const bool nested = HeldByThisThread()->load() > 0;
    std::vector<std::unique_ptr<Conn>> stale;  // closed outside the lock
    {
      absl::MutexLock lock(&mu_);
      auto ready = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !idle_.empty() || open_ < size_;
      };
      // `size` is a soft cap: past a short wait the pool opens one more and
      // closes it again when it comes back. Up to twice `size` for calls
      // holding none, so a burst queues here instead of running the
      // database out of connections ("too many clients" for every
      // replica); a call already holding one always gets its second.
      mu_.AwaitWithTimeout(absl::Condition(&ready), absl::Milliseconds(50));
      auto room = [this]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) {
        return !idle_.empty() || open_ < 2 * size_;
      };
      if (!nested && !mu_.AwaitWithTimeout(absl::Condition(&room), kMaxWait)) {
        return absl::UnavailableError(
            absl::StrCat("storage: all ", open_,
                         " connections to PostgreSQL stayed in use "
                         "for ",
                         absl::FormatDuration(kMaxWait),
                         "; raise storage.pool_size (and max_connections)"));
      }
      while (!fresh && !idle_.empty()) {
        std::unique_ptr<Conn> c = std::move(idle_.back());
        idle_.pop_back();
        if (!Stale(*c)) return Lease(this, std::move(c));
        stale.push_back(std::move(c));
        --open_;
      }
      ++open_;
    }
    try {
      return Lease(this, std::make_unique<Conn>(dsn_));
    } catch (const std::exception& e) {
      absl::MutexLock lock(&mu_);
      --open_;
      if (could_not_connect != nullptr) *could_not_connect = true;
      return ConnectTrouble(dsn_name_, e);
    }
  }

 private:
  void Return(std::unique_ptr<Conn> conn, bool discard) {
    // libpqxx's destructors swallow errors (an abort on a broken
    // connection), so callers cannot always tell: a closed connection is
    // not kept either.
    if (conn != nullptr && !conn->c.is_open()) discard = true;
    absl::MutexLock lock(&mu_);
    if (discard || conn == nullptr || open_ > size_) {
      --open_;
    } else {
      idle_.push_back(std::move(conn));
    }
  }

  // How long a call waits for a connection when all are in use.
  static constexpr absl::Duration kMaxWait = absl::Seconds(30);

  const std::string dsn_;
  const std::string dsn_name_;
  const int size_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<Conn>> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;
};

using ReadTx = pqxx::transaction<pqxx::isolation_level::repeatable_read,
                                 pqxx::readwrite_policy::read_only>;

// A repeatable-read transaction on a borrowed connection: the snapshot.
class PgSnapshot : public KvSnapshot {
 public:
  // Failing transiently before it read anything (a broken connection, a
  // server restarting), it starts again on a fresh connection, as reads do.
  explicit PgSnapshot(Pool* pool) {
    std::string last;
    for (int attempt = 0; attempt < kReadAttempts; ++attempt) {
      absl::SleepFor(ReadRetryPause(attempt));
      bool could_not_connect = false;
      lease_ = pool->Acquire(attempt > 0, &could_not_connect);
      if (!lease_.ok()) {
        if (!could_not_connect || LoginRefused(lease_.status().message()))
          return;
        last = std::string(lease_.status().message());
        continue;
      }
      try {
        tx_ = std::make_unique<ReadTx>((*lease_)->c);
        tx_->exec("SELECT 1");  // the snapshot is taken by the first query
        status_ = absl::OkStatus();
        return;
      } catch (const std::exception& e) {
        status_ = Trouble(e, "taking a snapshot");
        tx_.reset();
        lease_->Discard();
        if (!Transient(e)) return;
        last = e.what();
      }
    }
    lease_ = ReadsFailed(pool->dsn_name(), "taking a snapshot", last);
  }
  // Aborts (it only read). On a broken connection that fails silently, and
  // the pool drops the connection as closed.
  ~PgSnapshot() override { tx_.reset(); }
  absl::Status status() const {
    return lease_.ok() ? status_ : lease_.status();
  }
  pqxx::transaction_base& tx() const { return *tx_; }
  Conn& conn() const { return **lease_; }
  void Broken() const {
    if (lease_.ok()) lease_->Discard();
  }

 private:
  mutable absl::StatusOr<Pool::Lease> lease_;
  std::unique_ptr<ReadTx> tx_;
  absl::Status status_;
};

class PgKv;

class PgIterator : public KvIterator {
 public:
  PgIterator(PgKv* kv, Family family, const KvReadOptions& options)
      : kv_(kv),
        family_(family),
        snapshot_(static_cast<const PgSnapshot*>(options.snapshot)),
        lower_(options.lower_bound),
        upper_(options.upper_bound) {}

  bool Valid() const override { return status_.ok() && pos_ < rows_.size(); }
  void SeekToFirst() override {
    page_ = kFirstPage;
    Fetch(true, lower_.empty() ? std::nullopt : std::optional(lower_), true);
  }
  void SeekToLast() override {
    page_ = kFirstPage;
    Fetch(false, std::nullopt, true);
  }
  void Seek(absl::string_view target) override {
    page_ = kFirstPage;
    std::string start(target);
    if (start < lower_) start = lower_;
    Fetch(true, start, true);
  }
  void SeekForPrev(absl::string_view target) override {
    page_ = kFirstPage;
    if (!upper_.empty() && target >= upper_) {
      Fetch(false, std::nullopt, true);
    } else {
      Fetch(false, std::string(target), true);
    }
  }
  void Next() override {
    if (!Valid()) return;
    if (forward_ && pos_ + 1 < rows_.size()) {
      ++pos_;
    } else if (!forward_ || more_) {
      Grow();
      Fetch(true, rows_[pos_].first, false);
    } else {
      pos_ = rows_.size();
    }
  }
  void Prev() override {
    if (!Valid()) return;
    if (!forward_ && pos_ + 1 < rows_.size()) {
      ++pos_;
    } else if (forward_ || more_) {
      Grow();
      Fetch(false, rows_[pos_].first, false);
    } else {
      pos_ = rows_.size();
    }
  }
  absl::string_view key() const override { return rows_[pos_].first; }
  absl::string_view value() const override { return rows_[pos_].second; }
  absl::Status status() const override { return status_; }

 private:
  // A page cut short by its bytes stays as long: more rows would be cut.
  void Grow() {
    if (!cut_) page_ = std::min(page_ * 2, kMaxPage);
  }
  // Loads the page starting at `start` (inclusive or not) in a direction.
  void Fetch(bool forward, std::optional<std::string> start, bool inclusive);

  PgKv* const kv_;
  const Family family_;
  const PgSnapshot* const snapshot_;
  const std::string lower_;
  const std::string upper_;
  std::vector<std::pair<std::string, std::string>> rows_;
  size_t pos_ = 0;
  bool forward_ = true;
  bool more_ = false;  // the page was full: more rows may follow
  bool cut_ = false;   // the page was full by bytes before rows
  int page_ = kFirstPage;
  absl::Status status_;
};

class PgKv : public KvEngine {
 public:
  explicit PgKv(const PgKvOptions& options)
      : options_(options),
        table_("\"" + options.table + "\""),
        dsn_(NamedDsn(options.dsn, ProcessName(options.session_name))),
        pool_(dsn_, options.dsn_name, std::max(1, options.pool_size)) {}

  absl::Status Init() {
    absl::StatusOr<Pool::Lease> lease = pool_.Acquire();
    if (!lease.ok()) {
      // At start, a login the server refuses (or a DSN libpq cannot use)
      // is a configuration error, which contentd exits 2 for: starting
      // again will not help. A server not reachable yet stays UNAVAILABLE.
      if (LoginRefused(lease.status().message())) {
        return absl::InvalidArgumentError(absl::StrCat(
            lease.status().message(),
            " (check the DSN's host, user and dbname, and the password: "
            "PGPASSWORD or the DSN's password=)"));
      }
      return lease.status();
    }
    // PostgreSQL has advisory locks and NOTIFY; CockroachDB, for one, has
    // neither. Without them writers rely on serializable retries, replicas
    // poll for each other's commits, and every replica runs the jobs that
    // leases would give to one (their write conditions keep them from
    // doing anything twice).
    auto supports = [&](const char* sql) {
      try {
        pqxx::nontransaction tx((*lease)->c);
        tx.exec_params(sql, LockKey(options_.table, "probe"));
        return true;
      } catch (const pqxx::broken_connection&) {
        throw;
      } catch (const std::exception&) {
        return false;
      }
    };
    try {
      advisory_locks_ = supports(
          "SELECT pg_try_advisory_lock($1), pg_advisory_unlock($1), "
          "pg_try_advisory_xact_lock_shared($1)");
      notify_ = supports("SELECT pg_notify('contentd_probe', $1::text)");
    } catch (const std::exception& e) {
      lease->Discard();
      return Trouble(e, "connecting");
    }
    if (options_.write_lock && !advisory_locks_) {
      std::fprintf(stderr,
                   "contentd: storage: the database has no advisory locks; "
                   "writers across replicas rely on serializable retries\n");
      options_.write_lock = false;
    }
    // A table that exists is used as it is: CREATE TABLE IF NOT EXISTS
    // needs CREATE on the schema even then, which a user given only its
    // rows lacks (PostgreSQL 15 grants no one CREATE on `public` but the
    // database's owner).
    bool exists = false;
    try {
      pqxx::nontransaction tx((*lease)->c);
      exists =
          tx.exec_params("SELECT to_regclass($1) IS NOT NULL", table_)[0][0]
              .as<bool>();
    } catch (const std::exception& e) {
      lease->Discard();
      return Trouble(e, "looking up the table");
    }
    if (!exists && !options_.create_table) {
      return absl::InvalidArgumentError(absl::StrCat(
          "storage.table: no table ", options_.table, " in database ",
          (*lease)->c.dbname(), " (", options_.dsn_name, "): no store there"));
    }
    if (!exists) {
      try {
        pqxx::nontransaction tx((*lease)->c);
        // Replicas starting together must not race on the catalog.
        if (options_.write_lock)
          tx.exec(
              LockSql(LockKey(options_.table, "ddl"), options_.lock_timeout));
        tx.exec("CREATE TABLE IF NOT EXISTS " + table_ +
                " (family smallint NOT NULL, key bytea NOT NULL,"
                " value bytea NOT NULL, PRIMARY KEY (family, key))");
        if (options_.write_lock)
          tx.exec_params("SELECT pg_advisory_unlock($1)",
                         LockKey(options_.table, "ddl"));
      } catch (const std::exception& e) {
        lease->Discard();
        if (Denied(e)) {
          return absl::InvalidArgumentError(absl::StrCat(
              "storage.table: cannot create table ", options_.table, ": ",
              FirstLine(e.what()),
              " (grant the DSN's user CREATE on the schema, or create the "
              "table for it: docs/scaling.md)"));
        }
        return Trouble(e, "creating the table");
      }
    }
    // Every replica reads and writes rows; found now, not at the first
    // write. (has_table_privilege with a list is true if any one is held.)
    try {
      pqxx::nontransaction tx((*lease)->c);
      pqxx::result r = tx.exec_params(
          "SELECT has_table_privilege($1, 'SELECT') AND "
          "has_table_privilege($1, 'INSERT') AND "
          "has_table_privilege($1, 'UPDATE') AND "
          "has_table_privilege($1, 'DELETE')",
          table_);
      if (!r[0][0].as<bool>()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "storage.table: the DSN's user may not read and write table ",
            options_.table, ": GRANT SELECT, INSERT, UPDATE, DELETE ON ",
            table_, " TO it"));
      }
    } catch (const pqxx::broken_connection& e) {
      lease->Discard();
      return Trouble(e, "looking up the table");
    } catch (const std::exception&) {
      // A database without has_table_privilege: the first read will say.
    }
    return absl::OkStatus();
  }

  absl::Status Get(Family family, absl::string_view key, std::string* value,
                   const KvReadOptions& options) override {
    const std::string sql =
        "SELECT value FROM " + table_ + " WHERE family = $1 AND key = $2";
    auto read = [&](pqxx::transaction_base& tx, Conn& conn) {
      pqxx::result r = Run(tx, conn, sql, static_cast<int>(family), Bytes(key));
      if (r.empty()) return absl::NotFoundError("not found");
      *value = FromBytea(r[0][0]);
      return absl::OkStatus();
    };
    return Read(options.snapshot, "reading a key", read);
  }

  // One statement for all of `keys` (a page's articles, a retention
  // group's heads), not one round trip each.
  void MultiGet(Family family, const std::vector<std::string>& keys,
                std::vector<std::string>* values,
                std::vector<absl::Status>* statuses,
                const KvReadOptions& options) override {
    values->assign(keys.size(), std::string());
    statuses->assign(keys.size(), absl::OkStatus());
    if (keys.empty()) return;
    std::string array = "{";
    for (size_t i = 0; i < keys.size(); ++i) {
      if (i > 0) array.push_back(',');
      AppendByteaElement(&array, keys[i]);
    }
    array.push_back('}');
    const std::string sql =
        "SELECT u.i, t.value FROM unnest($2::bytea[]) WITH ORDINALITY AS "
        "u(k, i) JOIN " +
        table_ + " t ON t.family = $1 AND t.key = u.k";
    std::vector<bool> found;
    absl::Status s = Read(
        options.snapshot, "reading keys",
        [&](pqxx::transaction_base& tx, Conn& conn) {
          found.assign(keys.size(), false);
          pqxx::result r = Run(tx, conn, sql, static_cast<int>(family), array);
          for (const pqxx::row& row : r) {
            const int64_t i = row[0].as<int64_t>() - 1;
            if (i < 0 || i >= static_cast<int64_t>(keys.size())) continue;
            (*values)[i] = FromBytea(row[1]);
            found[i] = true;
          }
          return absl::OkStatus();
        });
    for (size_t i = 0; i < keys.size(); ++i) {
      if (!s.ok()) {
        (*values)[i].clear();
        (*statuses)[i] = s;
      } else if (!found[i]) {
        (*statuses)[i] = absl::NotFoundError("not found");
      }
    }
  }

  // One statement for all of `ranges` with an upper bound: each counted on
  // the primary key. (A range without one, counted by iterating, keeps the
  // statement's bounds plain: an "or unbounded" there made PostgreSQL scan
  // every key above the lower bound, for each range.)
  absl::Status CountKeys(
      Family family,
      const std::vector<std::pair<std::string, std::string>>& ranges,
      std::vector<int64_t>* counts, const KvReadOptions& options) override {
    counts->assign(ranges.size(), 0);
    std::string begins = "{", ends = "{";
    std::vector<size_t> at;  // (*counts)[at[j]] answers the j-th bounded one
    for (size_t i = 0; i < ranges.size(); ++i) {
      if (ranges[i].second.empty()) {
        std::vector<int64_t> one;
        absl::Status s =
            KvEngine::CountKeys(family, {ranges[i]}, &one, options);
        if (!s.ok()) return s;
        (*counts)[i] = one[0];
        continue;
      }
      if (!at.empty()) {
        begins.push_back(',');
        ends.push_back(',');
      }
      at.push_back(i);
      AppendByteaElement(&begins, ranges[i].first);
      AppendByteaElement(&ends, ranges[i].second);
    }
    if (at.empty()) return absl::OkStatus();
    begins.push_back('}');
    ends.push_back('}');
    const std::string sql =
        "SELECT u.i, (SELECT count(*) FROM " + table_ +
        " t WHERE t.family = $1 AND t.key >= u.b AND t.key < u.e) FROM "
        "unnest($2::bytea[], $3::bytea[]) WITH ORDINALITY AS u(b, e, i)";
    return Read(options.snapshot, "counting keys",
                [&](pqxx::transaction_base& tx, Conn& conn) {
                  pqxx::result r = Run(tx, conn, sql, static_cast<int>(family),
                                       begins, ends);
                  for (const pqxx::row& row : r) {
                    const int64_t j = row[0].as<int64_t>() - 1;
                    if (j >= 0 && j < static_cast<int64_t>(at.size()))
                      (*counts)[at[j]] = row[1].as<int64_t>();
                  }
                  return absl::OkStatus();
                });
  }

  std::unique_ptr<KvIterator> NewIterator(
      Family family, const KvReadOptions& options) override {
    return std::make_unique<PgIterator>(this, family, options);
  }

  std::unique_ptr<KvSnapshot> GetSnapshot() override {
    return std::make_unique<PgSnapshot>(&pool_);
  }

  // The data is the database's: the caller learns how it is backed up.
  using KvEngine::Checkpoint;
  absl::Status Checkpoint(const std::string&,
                          const CheckpointProgress&) override {
    return absl::UnimplementedError(absl::StrCat(
        "the postgres engine takes no checkpoints: back up its table with "
        "the database's tools (pg_dump -t ",
        options_.table,
        ", or the cluster's backups), or write the articles out with "
        "`contentctl export --dir`"));
  }

  absl::Status Write(KvBatch batch, bool sync) override {
    return WriteAfterRead(std::move(batch), sync, Family::kMeta, "", nullptr);
  }

  absl::Status WriteAfterRead(KvBatch batch, bool sync, Family family,
                              const std::string& key,
                              const Completion& complete) override {
    if (presence_role_ == Presence::kServing) {
      absl::Status present = PresenceForWrite();
      if (!present.ok()) return present;
    }
    bool fresh = false;
    for (int attempt = 0;; ++attempt) {
      absl::StatusOr<Pool::Lease> lease = pool_.Acquire(fresh);
      if (!lease.ok()) return lease.status();
      bool committing = false;
      bool repair_first = false;
      try {
        absl::Status s = WriteOnce(**lease, batch, sync, family, key, complete,
                                   &committing, &repair_first);
        if (repair_first && presence_role_ == Presence::kServing) {
          // Most likely this replica's presence session ended and a repair
          // took the lock: found out now, not at the next ping.
          RetakePresenceNow();
          if (writes_refused_) return LostPresence();
        }
        return s;
      } catch (const pqxx::in_doubt_error& e) {
        lease->Discard();
        return InDoubt(e);
      } catch (const pqxx::broken_connection& e) {
        lease->Discard();
        if (committing) return InDoubt(e);
        // Before COMMIT nothing applied: PostgreSQL rolls back the open
        // transaction of a session that ended. A pooled connection that
        // broke while idle is the likely cause (the SDK does not retry
        // writes), so once more on a fresh one; a second break is the
        // database's.
        if (fresh) return Trouble(e, "writing");
        fresh = true;
      } catch (const pqxx::transaction_rollback& e) {
        // Serialization failure or deadlock: nothing was applied.
        if (attempt + 1 >= kMaxWriteAttempts) {
          return absl::AbortedError(
              absl::StrCat("storage: write did not serialize after ",
                           kMaxWriteAttempts, " attempts: ", e.what()));
        }
        std::this_thread::sleep_for(
            std::chrono::microseconds(200 * (1 << std::min(attempt, 6))));
      } catch (const std::exception& e) {
        lease->Discard();
        return Trouble(e, "writing");
      }
    }
  }

  bool shared() const override { return true; }

  // True after a notification on the table's channel, and whenever one
  // may have been missed: without NOTIFY (replicas poll), on the call that
  // begins to listen (commits before it told no one) and after the
  // listener was lost. False when `timeout` passed in silence.
  bool WaitForWrites(absl::Duration timeout) override {
    if (!notify_) {
      absl::SleepFor(timeout);  // replicas poll
      return true;
    }
    absl::MutexLock lock(&listen_mu_);
    try {
      if (listener_ == nullptr) {
        listener_ = std::make_unique<pqxx::connection>(dsn_);
        receiver_ = std::make_unique<Receiver>(*listener_, options_.table);
        return true;
      }
      const int64_t us = absl::ToInt64Microseconds(timeout);
      return listener_->await_notification(us / 1000000, us % 1000000) > 0;
    } catch (const std::exception&) {
      receiver_.reset();
      listener_.reset();
      absl::SleepFor(timeout);
      return true;
    }
  }

  // Leases are session advisory locks of the presence connection, so that
  // the ping a second that shows this process still serves shows that it
  // still holds them too, in the same round trip: a lease is held only
  // while that session lives, and is said held only if the session
  // answered within lease_fresh (a ping, or else a query of this call's
  // own) and is not seen ended (Ended: no round trip). A lease not held is
  // asked for again in each ping's statement (PingReading); this call asks
  // itself only when no ping did within lease_fresh. (Leases had a
  // connection of their own, with a `SELECT 1` of their own a second.)
  absl::StatusOr<bool> TryLease(absl::string_view name) override {
    if (!advisory_locks_) return true;
    absl::MutexLock lock(&presence_mu_);
    const absl::Time deadline = absl::Now() + kLeaseTimeout;
    if (presence_ == nullptr) {
      // Never opened, or the last ping could not open it again (the
      // database out of reach): tried here too, saying why it failed.
      const bool had = presence_generation_ > 0;
      const absl::Status s = PresenceLocked(deadline, kLeaseTimeout);
      NotePresenceLocked(s);
      if (presence_ == nullptr) return LeasesUnreachable(had, s);
    } else if (Ended(presence_.get())) {
      // The session ended (a restart, pg_terminate_backend) and took its
      // locks with it. The next ping opens a new one, takes the presence
      // lock again and asks for the leases; none is held meanwhile. (Not
      // opened here: that raced the ping and the writes that take the
      // presence lock again, and a repair could come and go between.)
      return false;
    }
    SyncLeases();
    LeaseState& lease = leases_[name];
    const absl::Time now = absl::Now();
    if (now - (lease.held ? presence_answered_ : lease.known) <
        options_.lease_fresh)
      return lease.held;
    absl::StatusOr<std::vector<std::string>> r =
        QueryBy(presence_.get(), options_.dsn_name,
                lease.held ? std::string("SELECT true")
                           : absl::StrCat("SELECT pg_try_advisory_lock(",
                                          LockKey(options_.table, name), ")"),
                "taking a lease", deadline, kLeaseTimeout);
    if (r.ok()) {
      presence_answered_ = lease.known = absl::Now();
      lease.held = !r->empty() && (*r)[0] == "t";
      return lease.held;
    }
    // An error the server answered (a privilege revoked) keeps the
    // connection. A lost one took the session's locks with it: none is
    // held until the next ping opens a new one, as above.
    if (!SqlStateOf(r.status()).empty() &&
        PQstatus(presence_.get()) == CONNECTION_OK) {
      return r.status();
    }
    return false;
  }

  // A lost presence connection is opened again, and the lock taken again,
  // in the same call when the server answers (a backend ended alone,
  // pg_terminate_backend), not at the next ping.
  absl::Status Ping(absl::Duration timeout) override {
    return PingReading(timeout, Family::kMeta, "", nullptr);
  }

  // The ping is `SELECT 1` or, with `exists`, the read of whether the key
  // exists: no round trip of its own. A ping that made no query (the
  // connection just opened, or the lock refused: the server answered
  // already) reads it in one of its own on the presence connection. Either
  // bounded to a second's wait for a lock on the table (55P03), so that a
  // table locked exclusively (VACUUM FULL, LOCK TABLE) never makes a ping
  // time out and its presence session be given up; nor does an error the
  // server answers it with (a privilege on the table revoked). Then
  // nothing is read, and the caller reads it through the pool as before.
  absl::Status PingReading(absl::Duration timeout, Family family,
                           absl::string_view key,
                           std::optional<bool>* exists) override {
    absl::MutexLock lock(&presence_mu_);
    const absl::Time deadline = absl::Now() + timeout;
    const bool was_open = presence_ != nullptr;
    std::string read;
    if (exists != nullptr) {
      exists->reset();
      read = absl::StrCat(
          "SET LOCAL lock_timeout = '1s'; SELECT EXISTS (SELECT 1 FROM ",
          table_, " WHERE family = ", static_cast<int>(family),
          " AND key = decode('", absl::BytesToHexString(key), "', 'hex'))");
    }
    // Whether `r`, the answer to `read`, says the key exists; false (and
    // the connection kept) for an error the server answered with.
    auto note = [&](const absl::StatusOr<std::vector<std::string>>& r) {
      if (r.ok()) {
        *exists = !r->empty() && (*r)[0] == "t";
        return true;
      }
      return !SqlStateOf(r.status()).empty() &&
             PQstatus(presence_.get()) == CONNECTION_OK;
    };
    absl::Status s = PresenceLocked(deadline, timeout);
    // The leases asked for and not held are asked for again in the same
    // statement, a column each after the first (TryLease).
    SyncLeases();
    std::vector<std::string> asking;
    std::string lease_columns;
    for (const auto& [name, lease] : leases_) {
      if (lease.held) continue;
      asking.push_back(name);
      absl::StrAppend(&lease_columns, ", pg_try_advisory_lock(",
                      LockKey(options_.table, name), ")");
    }
    std::vector<std::string> refused;
    auto answered = [&](const absl::StatusOr<std::vector<std::string>>& r) {
      if (!r.ok()) return;
      SyncLeases();  // answered on the session it asked
      const absl::Time now = absl::Now();
      presence_answered_ = now;
      for (size_t i = 0; i < asking.size() && i + 1 < r->size(); ++i) {
        LeaseState& lease = leases_[asking[i]];
        lease.held = (*r)[i + 1] == "t";
        lease.known = now;
        if (!lease.held) refused.push_back(asking[i]);
      }
    };
    bool asked = false;
    if (s.ok() && was_open && presence_ != nullptr) {
      asked = true;
      absl::StatusOr<std::vector<std::string>> r =
          QueryBy(presence_.get(), options_.dsn_name,
                  absl::StrCat(read.empty() ? "SELECT 1" : read, lease_columns),
                  "pinging", deadline, timeout);
      answered(r);
      if (!(read.empty() ? r.ok() : note(r))) {
        s = r.status();
        presence_.reset();
        presence_locked_ = false;
        asked = false;
        if (absl::Now() < deadline) s = PresenceLocked(deadline, timeout);
      }
    }
    if (!read.empty() && !asked && presence_ != nullptr &&
        !absl::IsUnavailable(s) && absl::Now() < deadline) {
      absl::StatusOr<std::vector<std::string>> r = QueryBy(
          presence_.get(), options_.dsn_name, absl::StrCat(read, lease_columns),
          "reading a mark", deadline, timeout);
      answered(r);
      if (!note(r)) {
        // Lost meanwhile: the next ping opens it again.
        presence_.reset();
        presence_locked_ = false;
        if (s.ok()) s = r.status();
      }
    }
    if (!refused.empty() && presence_ != nullptr && absl::Now() < deadline) {
      EndSilentHolders(refused, deadline, timeout);
    }
    NotePresenceLocked(s);
    return s;
  }

  absl::Status MarkServing() override {
    return TakePresence(Presence::kServing);
  }

  absl::Status HoldAlone() override { return TakePresence(Presence::kAlone); }

  std::vector<std::pair<std::string, std::string>> Stats() override {
    std::vector<std::pair<std::string, std::string>> out;
    absl::Status s = Read(
        nullptr, "reading stats", [&](pqxx::transaction_base& tx, Conn& conn) {
          pqxx::result r =
              Run(tx, conn, "SELECT pg_total_relation_size($1::regclass)",
                  options_.table);
          out.emplace_back("postgres.table-bytes", r[0][0].c_str());
          return absl::OkStatus();
        });
    if (!s.ok()) out.emplace_back("postgres.error", s.ToString());
    return out;
  }

  // Runs `fn(tx, conn)` on the snapshot's transaction, or else on a
  // borrowed connection outside any transaction.
  template <typename Fn>
  absl::Status Read(const KvSnapshot* snapshot, absl::string_view what, Fn fn) {
    if (snapshot != nullptr) {
      const auto* snap = static_cast<const PgSnapshot*>(snapshot);
      if (!snap->status().ok()) return snap->status();
      try {
        return fn(snap->tx(), snap->conn());
      } catch (const std::exception& e) {
        snap->Broken();
        return Trouble(e, what);
      }
    }
    // A read is safe to repeat: on a fresh connection if the pooled one
    // broke, and a few times more, paused, while it fails transiently (a
    // server restarting refuses connections, then ends the sessions that
    // were open; Transient).
    std::string last;
    for (int attempt = 0; attempt < kReadAttempts; ++attempt) {
      absl::SleepFor(ReadRetryPause(attempt));
      bool could_not_connect = false;
      absl::StatusOr<Pool::Lease> lease =
          pool_.Acquire(attempt > 0, &could_not_connect);
      if (!lease.ok()) {
        // A login refused, or every connection in use for long: trying
        // again would not help.
        if (!could_not_connect || LoginRefused(lease.status().message()))
          return lease.status();
        last = std::string(lease.status().message());
        continue;
      }
      try {
        pqxx::nontransaction tx((*lease)->c);
        return fn(tx, **lease);
      } catch (const std::exception& e) {
        lease->Discard();
        if (!Transient(e)) return Trouble(e, what);
        last = e.what();
      }
    }
    return ReadsFailed(options_.dsn_name, what, last);
  }

  const std::string& table() const { return table_; }
  const PgKvOptions& options() const { return options_; }

 private:
  class Receiver : public pqxx::notification_receiver {
   public:
    using pqxx::notification_receiver::notification_receiver;
    void operator()(const std::string&, int) override {}
  };

  // Holds the store-wide write lock for a scope (see PgKvOptions), if
  // status() is OK: UNAVAILABLE when it stayed taken for `timeout`.
  class WriteLock {
   public:
    WriteLock(Conn& conn, int64_t key, bool enabled, absl::Duration timeout)
        : conn_(conn), key_(key) {
      if (!enabled) return;
      bool timed_out = false;
      {
        pqxx::nontransaction tx(conn_.c);
        try {
          tx.exec(LockSql(key_, timeout));
        } catch (const pqxx::sql_error& e) {
          if (e.sqlstate() != kLockNotAvailable) throw;
          timed_out = true;
        }
      }
      if (timed_out) {
        status_ = absl::UnavailableError(absl::StrCat(
            "storage: waited ", absl::FormatDuration(timeout),
            " (storage.lock_timeout_ms) for the write lock that serializes "
            "writers across replicas; another writer still holds it",
            Holders(conn_.c, key_, "ExclusiveLock"),
            " (a replica that vanished holding it keeps it until PostgreSQL "
            "ends its session: docs/scaling.md)"));
        return;
      }
      held_ = true;
    }
    ~WriteLock() {
      if (!held_) return;
      try {
        pqxx::nontransaction tx(conn_.c);
        tx.exec_params("SELECT pg_advisory_unlock($1)", key_);
      } catch (...) {
        // The connection is gone, and the lock with it.
      }
    }
    const absl::Status& status() const { return status_; }

   private:
    Conn& conn_;
    const int64_t key_;
    bool held_ = false;
    absl::Status status_;
  };

  // What this process's presence connection says of it: nothing, that it
  // serves the table (a shared advisory lock, which every replica holds at
  // once), or that it holds the table alone (the exclusive lock, which an
  // offline repair takes: it waits for no one, and refuses while anyone
  // serves).
  enum class Presence { kNone, kServing, kAlone };
  static constexpr absl::Duration kPresenceTimeout = absl::Seconds(10);
  // How long a write asks for a lost presence lock again (one query on an
  // open connection) before it is refused.
  static constexpr absl::Duration kRetakeTimeout = absl::Seconds(2);

  // The sessions, other than this one, holding the presence lock: how many,
  // and who (the name each gave itself, its backend and address).
  std::string PresenceHoldersSql() const {
    return HoldersSql(LockKey(options_.table, "serving"), "");
  }

  // A query of a lease's own waits this long for an answer (how long its
  // answer is trusted: PgKvOptions::lease_fresh).
  static constexpr absl::Duration kLeaseTimeout = absl::Seconds(5);

  // Ends the sessions holding any of the leases `refused` (this replica
  // asked and was refused) that have been idle, without a ping, for
  // lease_holder_silent: a stopped or hung replica's, which would keep
  // them as long as it stays so. Only sessions of a role this one is a
  // member of (pg_terminate_backend refuses others); the lock goes as the
  // backend exits, so the next ping takes the lease. The stopped replica
  // finds its presence session gone when it runs again, as after a
  // database restart (writes re-take the presence lock; its leases are
  // not trusted past lease_fresh). Asked at most every lease_holder_silent
  // / 3 (it reads pg_locks); a database that cannot answer the question
  // (no pg_stat_activity.state_change) is not asked again.
  void EndSilentHolders(const std::vector<std::string>& refused,
                        absl::Time deadline, absl::Duration timeout)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(presence_mu_) {
    const absl::Duration silent = options_.lease_holder_silent;
    if (silent <= absl::ZeroDuration() || !holder_check_works_) return;
    const absl::Time now = absl::Now();
    if (now - holders_checked_ < silent / 3) return;
    holders_checked_ = now;
    std::string keys;
    for (const std::string& name : refused) {
      const uint64_t key = static_cast<uint64_t>(LockKey(options_.table, name));
      absl::StrAppend(&keys, keys.empty() ? "" : ", ", "(", key >> 32,
                      "::bigint::oid, ", key & 0xffffffff, "::bigint::oid)");
    }
    // OFFSET 0 keeps the filter in the subquery, evaluated before any
    // backend is ended.
    const std::string sql = absl::StrCat(
        "SELECT coalesce(string_agg(coalesce(nullif(who, ''), 'a session') "
        "|| ' (PostgreSQL backend ' || pid || ')', ', '), '') FROM (SELECT "
        "a.pid, a.application_name AS who FROM pg_locks l JOIN "
        "pg_stat_activity a ON a.pid = l.pid WHERE l.locktype = 'advisory' "
        "AND l.granted AND l.mode = 'ExclusiveLock' AND l.objsubid = 1 AND "
        "l.database = (SELECT oid FROM pg_database WHERE datname = "
        "current_database()) AND (l.classid, l.objid) IN (",
        keys,
        ") AND a.pid <> pg_backend_pid() AND a.state = 'idle' AND "
        "a.state_change < clock_timestamp() - interval '",
        absl::ToInt64Milliseconds(silent),
        " milliseconds' AND pg_has_role(a.usesysid, 'MEMBER') OFFSET 0) "
        "silent WHERE pg_terminate_backend(pid)");
    absl::StatusOr<std::vector<std::string>> r =
        QueryBy(presence_.get(), options_.dsn_name, sql,
                "ending a silent lease holder", deadline, timeout);
    if (!r.ok()) {
      if (!SqlStateOf(r.status()).empty() &&
          PQstatus(presence_.get()) == CONNECTION_OK) {
        holder_check_works_ = false;
        std::fprintf(stderr,
                     "contentd: storage: cannot end a lease holder that "
                     "stopped answering (a stopped replica keeps its leases "
                     "until its sessions end): %s\n",
                     std::string(r.status().message()).c_str());
      } else {
        presence_.reset();  // lost: the next ping opens it again
        presence_locked_ = false;
      }
      return;
    }
    if (!r->empty() && !(*r)[0].empty()) {
      std::fprintf(stderr,
                   "contentd: storage: ended %s, which held a lease (%s) "
                   "without a ping for %s or more (a stopped or hung "
                   "replica); the lease passes on\n",
                   (*r)[0].c_str(), absl::StrJoin(refused, ", ").c_str(),
                   absl::FormatDuration(silent).c_str());
    }
  }

  // Forgets the leases of a presence session that is gone: a new one holds
  // none until it asks.
  void SyncLeases() ABSL_EXCLUSIVE_LOCKS_REQUIRED(presence_mu_) {
    if (lease_generation_ == presence_generation_) return;
    lease_generation_ = presence_generation_;
    for (auto& [name, lease] : leases_) lease = LeaseState();
  }

  // What TryLease says when the presence connection, which holds the
  // leases, is lost (`had`: it was open before) or cannot be opened: why
  // (`s`), with libpq's reason. An error the server answered with keeps
  // its own code (a privilege revoked: INTERNAL).
  absl::Status LeasesUnreachable(bool had, const absl::Status& s) const {
    if (!SqlStateOf(s).empty()) return s;
    absl::string_view why = s.message();
    const std::string unreachable = Unreachable(options_.dsn_name);
    absl::ConsumePrefix(&why, unreachable);
    absl::ConsumePrefix(&why, "connection lost: ");
    return absl::UnavailableError(absl::StrCat(
        unreachable, had ? "lost the connection" : "cannot connect",
        " for this replica's leases (retention, scheduled publishing): ", why));
  }

  // Takes the presence lock as `role` on a fresh presence connection
  // (serving: shared; alone: exclusive). OK without advisory locks: there
  // is no one to tell.
  absl::Status TakePresence(Presence role) {
    if (!advisory_locks_) return absl::OkStatus();
    absl::MutexLock lock(&presence_mu_);
    presence_role_ = role;
    presence_.reset();
    presence_locked_ = false;
    absl::Status s =
        PresenceLocked(absl::Now() + kPresenceTimeout, kPresenceTimeout);
    if (!s.ok()) presence_.reset();
    presence_open_ = presence_ != nullptr;
    alone_backend_ = role == Presence::kAlone && s.ok() && presence_ != nullptr
                         ? PQbackendPID(presence_.get())
                         : 0;
    writes_refused_ = false;  // a start refused ends the process
    return s;
  }

  // Makes sure the presence connection is open and, for a role, holds its
  // lock, by `deadline`: a connection the server ended is opened again (a
  // new session, which takes the lock again); one whose lock was refused
  // asks again, one query. UNAVAILABLE (the connection closed) if the
  // server cannot be reached; FAILED_PRECONDITION (kept open) if the lock
  // is taken: by a repair, or by any process serving for `kAlone`.
  absl::Status PresenceLocked(absl::Time deadline, absl::Duration timeout)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(presence_mu_) {
    if (presence_ != nullptr && Ended(presence_.get())) {
      presence_.reset();
      presence_locked_ = false;
    }
    if (presence_ == nullptr) {
      presence_locked_ = false;
      absl::StatusOr<PgConnPtr> c =
          ConnectBy(dsn_, options_.dsn_name, deadline, timeout);
      if (!c.ok()) return c.status();
      presence_ = *std::move(c);
      ++presence_generation_;  // a new session: no lease held (SyncLeases)
      presence_answered_ = absl::Now();
    }
    const Presence role = presence_role_;
    if (role == Presence::kNone || presence_locked_) return absl::OkStatus();
    const bool alone = role == Presence::kAlone;
    // The name a refused repair lists this process by.
    const std::string name = ProcessName(alone ? "contentd --check --repair"
                                               : options_.session_name);
    char* quoted = PQescapeLiteral(presence_.get(), name.data(), name.size());
    if (quoted == nullptr) {
      const std::string error = PqError(presence_.get());
      presence_.reset();
      return absl::UnavailableError(
          absl::StrCat("storage: PostgreSQL: ", error));
    }
    const std::string sql = absl::StrCat(
        "SELECT set_config('application_name', ", quoted, ", false), ",
        alone ? "pg_try_advisory_lock(" : "pg_try_advisory_lock_shared(",
        LockKey(options_.table, "serving"), ")");
    PQfreemem(quoted);
    absl::StatusOr<std::vector<std::string>> r = QueryBy(
        presence_.get(), options_.dsn_name, sql,
        alone ? "taking the presence lock alone" : "taking the presence lock",
        deadline, timeout);
    if (!r.ok()) {
      presence_.reset();
      return r.status();
    }
    if (r->size() == 2 && (*r)[1] == "t") {
      presence_locked_ = true;
      return absl::OkStatus();
    }
    if (!alone) {
      // Named, so that an operator finds the repair that keeps it out.
      absl::StatusOr<std::vector<std::string>> who = QueryBy(
          presence_.get(), options_.dsn_name,
          HoldersSql(LockKey(options_.table, "serving"), "ExclusiveLock"),
          "asking who holds the presence lock", deadline, timeout);
      if (!who.ok()) {
        presence_.reset();
        return who.status();
      }
      return RepairHolds(who->size() == 2 && (*who)[0] != "0" ? (*who)[1] : "");
    }
    absl::StatusOr<std::vector<std::string>> who =
        QueryBy(presence_.get(), options_.dsn_name, PresenceHoldersSql(),
                "asking who holds the presence lock", deadline, timeout);
    if (!who.ok()) {
      presence_.reset();
      return who.status();
    }
    const std::string n = who->size() == 2 ? (*who)[0] : "?";
    return absl::FailedPreconditionError(absl::StrCat(
        n == "1" ? "1 process serves" : n + " processes serve", " table ",
        options_.table, ": ", who->size() == 2 ? (*who)[1] : ""));
  }

  // True while backend `pid` holds the presence lock exclusively: a
  // repair's presence session is still there, and so is its lock.
  std::string HeldAloneSql(int pid) const {
    const int64_t key = LockKey(options_.table, "serving");
    return absl::StrCat(
        "EXISTS (SELECT 1 FROM pg_locks l WHERE l.locktype = 'advisory' AND "
        "l.granted AND l.mode = 'ExclusiveLock' AND l.pid = ",
        pid,
        " AND l.database = (SELECT oid FROM pg_database WHERE datname = "
        "current_database()) AND l.classid = ",
        key >> 32, "::bigint::oid AND l.objid = ", key & 0xffffffff,
        "::bigint::oid AND l.objsubid = 1)");
  }

  // What a repair's write gets once its presence session (backend `pid`)
  // ended, and the lock it held alone with it.
  absl::Status AloneLost(int pid) const {
    return absl::FailedPreconditionError(absl::StrCat(
        "storage: the repair lost its hold on table ", options_.table,
        ": its PostgreSQL presence session (backend ", pid,
        ") ended, and with it the lock that keeps replicas from serving "
        "and writing meanwhile; the repair stopped, and this write wrote "
        "nothing (replicas refuse to start on indexes whose repair did not "
        "finish): stop every replica and run contentd --check --repair "
        "again"));
  }

  // A serving replica's presence lock refused: the repair holds it.
  absl::Status RepairHolds(absl::string_view who) const {
    return WithReason(
        absl::FailedPreconditionError(absl::StrCat(
            "storage: an offline repair (contentd --check --repair) holds "
            "table ",
            options_.table, who.empty() ? "" : ": ", who,
            "; this replica serves it once the repair ends")),
        reason::kRepairRunning);
  }

  // Whether the presence connection is known to be gone without a round
  // trip, as Stale says of pooled ones: libpq saw it fail, or the server
  // sent the idle session something, which is its FATAL on ending it (it
  // sends an idle session that never LISTENs nothing else).
  static bool Ended(PGconn* c) {
    if (PQstatus(c) != CONNECTION_OK) return true;
    pollfd p{PQsocket(c), POLLIN, 0};
    return p.fd < 0 || poll(&p, 1, 0) != 0;
  }

  // A serving replica's writes follow its presence lock: refused from the
  // moment it is found lost until it is held again (`why`: how it was
  // lost). One log line each way.
  void NotePresenceLocked(const absl::Status& why)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(presence_mu_) {
    presence_open_ = presence_ != nullptr;
    if (presence_role_ != Presence::kServing) return;
    const bool refuse = !presence_locked_;
    {
      absl::MutexLock lock(&refused_mu_);
      refused_why_ = refuse ? why : absl::OkStatus();
    }
    if (writes_refused_.exchange(refuse) == refuse) return;
    if (refuse) {
      std::fprintf(stderr, "contentd: %s\n",
                   std::string(LostPresence().message()).c_str());
    } else {
      std::fprintf(stderr,
                   "contentd: storage: this replica holds its PostgreSQL "
                   "presence lock on table %s again; writes resume\n",
                   options_.table.c_str());
    }
  }

  // What a write gets while the presence lock is lost, by what it was lost
  // to (reason PRESENCE_LOST, metadata `table`). The lock refused, or the
  // database out of reach: UNAVAILABLE, writes resume once it is held
  // again. A database error taking it again (a privilege revoked, the
  // server out of resources): the code that error gets elsewhere
  // (SqlStateStatus: INTERNAL for most, which a retry would meet again),
  // naming it and, in metadata `sqlstate`, its SQLSTATE.
  absl::Status LostPresence() {
    absl::Status why;
    {
      absl::MutexLock lock(&refused_mu_);
      why = refused_why_;
    }
    const absl::string_view cause =
        absl::StripPrefix(why.message(), "storage: ");
    ErrorInfoMetadata metadata = {{"table", options_.table}};
    const std::string state = SqlStateOf(why);
    if (state.empty()) {
      return WithReason(
          absl::UnavailableError(absl::StrCat(
              "storage: this replica lost its PostgreSQL presence lock (a "
              "repair may be running); writes are refused until it is "
              "re-taken",
              cause.empty() ? "" : ": ", cause)),
          reason::kPresenceLost, std::move(metadata));
    }
    metadata.emplace_back("sqlstate", state);
    const absl::Status s = SqlStateStatus(
        state,
        absl::StrCat("storage: this replica lost its PostgreSQL presence lock "
                     "and cannot take it again: the database answers with an "
                     "error (SQLSTATE ",
                     state,
                     "), not a repair; writes are refused until it is "
                     "re-taken: ",
                     cause));
    // A reason of the error's own (DISK_FULL) is kept.
    return WithReason(s,
                      s.GetPayload(kErrorInfoTypeUrl).has_value()
                          ? ReasonOf(s)
                          : std::string(reason::kPresenceLost),
                      std::move(metadata));
  }

  // Before a write of a serving replica: OK while it holds its presence
  // lock. Lost, the lock is asked for again at once (RetakePresenceNow),
  // rather than at the next ping. Else UNAVAILABLE (LostPresence).
  absl::Status PresenceForWrite() {
    if (!writes_refused_) return absl::OkStatus();
    RetakePresenceNow();
    if (!writes_refused_) return absl::OkStatus();
    return LostPresence();
  }

  // Asks for the presence lock again now, if the presence connection is
  // open (a lock refused: one query; a session found ended: a new
  // connection), within kRetakeTimeout, after a ping under way (bounded
  // too). Nothing while the database is unreachable: the pings reconnect.
  void RetakePresenceNow() {
    if (!presence_open_) return;
    absl::MutexLock lock(&presence_mu_);
    if (presence_ == nullptr || presence_role_ != Presence::kServing) return;
    NotePresenceLocked(
        PresenceLocked(absl::Now() + kRetakeTimeout, kRetakeTimeout));
  }

  using Key = std::pair<int, std::string>;

  // One transaction: `complete` (if any) first sees `key`'s value, then the
  // batch applies. Sets `*committing` once COMMIT is sent, and
  // `*repair_first` if the presence lock was held exclusively (UNAVAILABLE).
  absl::Status WriteOnce(Conn& conn, const KvBatch& input, bool sync,
                         Family read_family, const std::string& read_key,
                         const Completion& complete, bool* committing,
                         bool* repair_first) {
    WriteLock write_lock(conn, LockKey(options_.table, "write"),
                         options_.write_lock, options_.lock_timeout);
    if (!write_lock.status().ok()) return write_lock.status();
    pqxx::transaction<pqxx::isolation_level::serializable> tx(conn.c);
    // Every write but a repair's holds the presence lock shared for its
    // transaction, taken before it reads or writes anything: the lock that
    // a repair (HoldAlone) takes exclusively for as long as it runs. So a
    // write and a repair never overlap, whatever became of this replica's
    // presence session. A repair that came first holds the lock, and the
    // write is refused having changed nothing. A write that came first,
    // one in flight when its replica's presence connection was lost
    // included, holds the lock until it commits or rolls back, so a repair
    // starting meanwhile is refused (naming the write's session) and no
    // repair runs under it: such a write may commit. The refusal of
    // writes while the presence lock is lost (PresenceForWrite) adds the
    // readiness and the message, not the safety.
    //
    // A repair's writes go on only while its presence session still holds
    // that lock exclusively: a session that ended (a restart, a network
    // cut, pg_terminate_backend) took the lock with it, and replicas may
    // serve and write again. The repair then stops at its next write,
    // which writes nothing (AloneLost).
    //
    // The lock, the repair's check and synchronous_commit ride on the
    // transaction's first statement, with the value `complete` reads (the
    // store's last sequence, read by every group commit): no round trip of
    // their own (docs/scaling.md measures the one the lock took).
    const Presence role = presence_role_;
    const bool guarded = advisory_locks_ && role != Presence::kAlone;
    const int alone_backend =
        role == Presence::kAlone ? alone_backend_.load() : 0;
    std::vector<std::string> columns;
    if (guarded) {
      columns.push_back(absl::StrCat("pg_try_advisory_xact_lock_shared(",
                                     LockKey(options_.table, "serving"), ")"));
    }
    if (alone_backend != 0) columns.push_back(HeldAloneSql(alone_backend));
    if (!sync) {
      columns.push_back("set_config('synchronous_commit', 'off', true)");
    }
    const std::string read_sql =
        "(SELECT value FROM " + table_ + " WHERE family = $1 AND key = $2)";
    std::optional<std::string> current;
    bool read = false;  // `current` holds the value `complete` sees
    if (!columns.empty()) {
      const bool fold = complete && options_.fold_first_read;
      std::string sql = "SELECT " + absl::StrJoin(columns, ", ");
      if (fold) absl::StrAppend(&sql, ", ", read_sql);
      pqxx::result r = fold ? Run(tx, conn, sql, static_cast<int>(read_family),
                                  Bytes(read_key))
                            : Run(tx, conn, sql);
      int column = 0;
      if (guarded && !r[0][column++].as<bool>()) {
        tx.abort();
        *repair_first = true;
        return absl::UnavailableError(absl::StrCat(
            "storage: writes are refused while another session holds table ",
            options_.table,
            "'s presence lock exclusively or waits for it (an offline "
            "repair, contentd --check --repair, takes it); nothing was "
            "written",
            Holders(conn.c, LockKey(options_.table, "serving"),
                    "ExclusiveLock")));
      }
      if (alone_backend != 0 && !r[0][column++].as<bool>()) {
        tx.abort();
        return AloneLost(alone_backend);
      }
      if (!sync) ++column;
      if (fold && !r[0][column].is_null()) current = FromBytea(r[0][column]);
      read = fold;
    }

    KvBatch completed;
    if (complete) {
      completed = input;
      if (!read) {
        pqxx::result r = Run(
            tx, conn,
            "SELECT value FROM " + table_ + " WHERE family = $1 AND key = $2",
            static_cast<int>(read_family), Bytes(read_key));
        if (!r.empty()) current = FromBytea(r[0][0]);
      }
      complete(current ? &*current : nullptr, &completed);
    }
    const KvBatch& batch = complete ? completed : input;

    // What the conditions and counters read, before the batch.
    std::set<Key> reads;
    for (const KvBatch::Op& op : batch.ops()) {
      if (op.type == KvBatch::OpType::kExpect ||
          op.type == KvBatch::OpType::kExpectMissing ||
          op.type == KvBatch::OpType::kAddInt64)
        reads.emplace(static_cast<int>(op.family), std::string(op.key));
    }

    std::map<Key, std::string> before;
    if (!reads.empty()) {
      std::string families = "{", keys = "{";
      for (const Key& k : reads) {
        if (families.size() > 1) {
          families.push_back(',');
          keys.push_back(',');
        }
        absl::StrAppend(&families, k.first);
        AppendByteaElement(&keys, k.second);
      }
      families.push_back('}');
      keys.push_back('}');
      pqxx::result r = Run(tx, conn,
                           "SELECT t.family, t.key, t.value FROM " + table_ +
                               " t JOIN unnest($1::int2[], $2::bytea[]) AS "
                               "u(f, k) ON t.family = u.f AND t.key = u.k",
                           families, keys);
      for (const pqxx::row& row : r)
        before[{row[0].as<int>(), FromBytea(row[1])}] = FromBytea(row[2]);
    }

    // The batch's final effect: range deletes first, then the last state
    // of every key written after them.
    struct Range {
      int family;
      std::string begin, end;
    };
    std::vector<Range> ranges;
    std::map<Key, std::optional<std::string>> after;
    auto covered = [&ranges](int family, const std::string& key) {
      for (const Range& r : ranges) {
        if (r.family == family && r.begin <= key && key < r.end) return true;
      }
      return false;
    };
    for (const KvBatch::Op& op : batch.ops()) {
      const int family = static_cast<int>(op.family);
      const Key key{family, std::string(op.key)};
      switch (op.type) {
        case KvBatch::OpType::kExpect:
        case KvBatch::OpType::kExpectMissing: {
          auto it = before.find(key);
          const bool holds = op.type == KvBatch::OpType::kExpect
                                 ? it != before.end() && it->second == op.value
                                 : it == before.end();
          if (!holds) {
            tx.abort();
            return absl::AbortedError(
                "storage: a write condition failed (another replica wrote "
                "first)");
          }
          break;
        }
        case KvBatch::OpType::kPut:
          after[key] = std::string(op.value);
          break;
        case KvBatch::OpType::kDelete:
          after[key] = std::nullopt;
          break;
        case KvBatch::OpType::kDeleteRange: {
          auto it = after.lower_bound(key);
          while (it != after.end() && it->first.first == family &&
                 it->first.second < op.value)
            it = after.erase(it);
          ranges.push_back({family, key.second, std::string(op.value)});
          break;
        }
        case KvBatch::OpType::kAddInt64: {
          int64_t base = 0;
          auto a = after.find(key);
          if (a != after.end()) {
            if (a->second) base = DecodeInt64(*a->second);
          } else if (!covered(family, key.second)) {
            auto b = before.find(key);
            if (b != before.end()) base = DecodeInt64(b->second);
          }
          after[key] = EncodeInt64(base + DecodeInt64(op.value));
          break;
        }
      }
    }

    for (const Range& r : ranges) {
      Run(tx, conn,
          "DELETE FROM " + table_ +
              " WHERE family = $1 AND key >= $2 AND key < $3",
          r.family, Bytes(r.begin), Bytes(r.end));
    }
    std::string f_del = "{", k_del = "{";
    std::string f_put = "{", k_put = "{", v_put = "{";
    size_t n_del = 0, n_put = 0;
    auto observe = [this](size_t rows, size_t bytes) {
      if (options_.on_statement) options_.on_statement(rows, bytes);
    };
    const size_t max_bytes =
        static_cast<size_t>(std::max<int64_t>(1, options_.statement_bytes));
    auto flush_deletes = [&] {
      if (n_del == 0) return;
      f_del.push_back('}');
      k_del.push_back('}');
      observe(n_del, f_del.size() + k_del.size());
      Run(tx, conn,
          "DELETE FROM " + table_ +
              " t USING unnest($1::int2[], $2::bytea[]) AS u(f, k)"
              " WHERE t.family = u.f AND t.key = u.k",
          f_del, k_del);
      f_del = k_del = "{";
      n_del = 0;
    };
    auto flush_puts = [&] {
      if (n_put == 0) return;
      f_put.push_back('}');
      k_put.push_back('}');
      v_put.push_back('}');
      observe(n_put, f_put.size() + k_put.size() + v_put.size());
      Run(tx, conn,
          "INSERT INTO " + table_ +
              " (family, key, value) SELECT * FROM "
              "unnest($1::int2[], $2::bytea[], $3::bytea[])"
              " ON CONFLICT (family, key) DO UPDATE SET value = "
              "EXCLUDED.value",
          f_put, k_put, v_put);
      f_put = k_put = v_put = "{";
      n_put = 0;
    };
    for (const auto& [key, value] : after) {
      if (!value) {
        if (n_del++ > 0) {
          f_del.push_back(',');
          k_del.push_back(',');
        }
        absl::StrAppend(&f_del, key.first);
        AppendByteaElement(&k_del, key.second);
        if (n_del == kRowsPerStatement ||
            f_del.size() + k_del.size() >= max_bytes)
          flush_deletes();
      } else {
        if (n_put++ > 0) {
          f_put.push_back(',');
          k_put.push_back(',');
          v_put.push_back(',');
        }
        absl::StrAppend(&f_put, key.first);
        AppendByteaElement(&k_put, key.second);
        AppendByteaElement(&v_put, *value);
        if (n_put == kRowsPerStatement ||
            f_put.size() + k_put.size() + v_put.size() >= max_bytes)
          flush_puts();
      }
    }
    flush_deletes();
    flush_puts();
    // Replicas waiting in WaitForWrites wake when this commits.
    if (notify_) Run(tx, conn, "SELECT pg_notify($1, '')", options_.table);
    *committing = true;
    tx.commit();
    return absl::OkStatus();
  }

  PgKvOptions options_;      // write_lock cleared if unsupported
  const std::string table_;  // quoted
  // options_.dsn naming this process's sessions (NamedDsn).
  const std::string dsn_;
  bool advisory_locks_ = true;
  bool notify_ = true;
  Pool pool_;

  absl::Mutex listen_mu_;
  std::unique_ptr<pqxx::connection> listener_ ABSL_GUARDED_BY(listen_mu_);
  std::unique_ptr<Receiver> receiver_ ABSL_GUARDED_BY(listen_mu_);

  // A connection of its own, driven with deadlines: pings, the presence
  // lock and the leases.
  absl::Mutex presence_mu_;
  PgConnPtr presence_ ABSL_GUARDED_BY(presence_mu_);
  // Counts the presence connections opened: leases_ holds what is known of
  // the one numbered lease_generation_.
  uint64_t presence_generation_ ABSL_GUARDED_BY(presence_mu_) = 0;
  uint64_t lease_generation_ ABSL_GUARDED_BY(presence_mu_) = 0;
  // When the presence session last answered a query.
  absl::Time presence_answered_ ABSL_GUARDED_BY(presence_mu_) =
      absl::InfinitePast();
  // Every lease asked for (TryLease): whether this process holds it, and
  // when that was last learnt.
  struct LeaseState {
    bool held = false;
    absl::Time known = absl::InfinitePast();
  };
  absl::flat_hash_map<std::string, LeaseState> leases_
      ABSL_GUARDED_BY(presence_mu_);
  // When EndSilentHolders last asked, and whether the database can answer.
  absl::Time holders_checked_ ABSL_GUARDED_BY(presence_mu_) =
      absl::InfinitePast();
  bool holder_check_works_ ABSL_GUARDED_BY(presence_mu_) = true;
  // Whether presence_ holds presence_role_'s lock.
  bool presence_locked_ ABSL_GUARDED_BY(presence_mu_) = false;
  // Written under presence_mu_; read by writes without it.
  std::atomic<Presence> presence_role_{Presence::kNone};
  // A serving replica lost its presence lock: writes are refused
  // (NotePresenceLocked), for `refused_why_`.
  std::atomic<bool> writes_refused_{false};
  // Whether presence_ was open when last looked at, for writes.
  std::atomic<bool> presence_open_{false};
  // The backend of the presence session that took the lock alone (a
  // repair): its writes check that it still holds it. 0: none.
  std::atomic<int> alone_backend_{0};
  absl::Mutex refused_mu_;
  absl::Status refused_why_ ABSL_GUARDED_BY(refused_mu_);
};

void PgIterator::Fetch(bool forward, std::optional<std::string> start,
                       bool inclusive) {
  std::string sql =
      "SELECT key, value FROM " + kv_->table() + " WHERE family = $1";
  std::vector<pqxx::binarystring> params;
  auto param = [&params](const std::string& bytes) {
    params.push_back(Bytes(bytes));
    return absl::StrCat("$", params.size() + 1);
  };
  if (start) {
    absl::StrAppend(
        &sql, " AND key ",
        forward ? (inclusive ? ">=" : ">") : (inclusive ? "<=" : "<"), " ",
        param(*start));
  }
  if (!upper_.empty() && (forward || !start))
    absl::StrAppend(&sql, " AND key < ", param(upper_));
  if (!lower_.empty() && (!forward || !start))
    absl::StrAppend(&sql, " AND key >= ", param(lower_));
  const char* order = forward ? " ORDER BY key" : " ORDER BY key DESC";
  absl::StrAppend(&sql, order, " LIMIT ", page_);
  // Of those rows, the first ones within page_bytes (at least one), and
  // how many there were: lengths come from the rows' headers, so values
  // left out are never read.
  sql = absl::StrCat(
      "SELECT key, value, n FROM (SELECT key, value, count(*) OVER () AS n,"
      " row_number() OVER w AS i, sum(octet_length(key) +"
      " octet_length(value)) OVER w AS bytes FROM (",
      sql, ") page WINDOW w AS (", order,
      " ROWS UNBOUNDED PRECEDING)) sized WHERE i = 1 OR bytes <= ",
      std::max<int64_t>(1, kv_->options().page_bytes), order);
  std::vector<std::pair<std::string, std::string>> rows;
  int64_t inner_rows = 0;
  status_ = kv_->Read(
      snapshot_, "iterating", [&](pqxx::transaction_base& tx, Conn& conn) {
        pqxx::result r;
        switch (params.size()) {
          case 0:
            r = Run(tx, conn, sql, static_cast<int>(family_));
            break;
          case 1:
            r = Run(tx, conn, sql, static_cast<int>(family_), params[0]);
            break;
          case 2:
            r = Run(tx, conn, sql, static_cast<int>(family_), params[0],
                    params[1]);
            break;
          default:
            r = Run(tx, conn, sql, static_cast<int>(family_), params[0],
                    params[1], params[2]);
            break;
        }
        rows.reserve(r.size());
        for (const pqxx::row& row : r)
          rows.emplace_back(FromBytea(row[0]), FromBytea(row[1]));
        if (!r.empty()) inner_rows = r[0][2].as<int64_t>();
        return absl::OkStatus();
      });
  cut_ = static_cast<int64_t>(rows.size()) < inner_rows;
  more_ = cut_ || inner_rows == page_;
  if (kv_->options().on_page && status_.ok()) {
    size_t bytes = 0;
    for (const auto& [key, value] : rows) bytes += key.size() + value.size();
    kv_->options().on_page(rows.size(), bytes);
  }
  rows_ = std::move(rows);
  pos_ = 0;
  forward_ = forward;
}

}  // namespace

absl::StatusOr<std::unique_ptr<KvEngine>> OpenPgKv(const PgKvOptions& options) {
  if (options.dsn.empty())
    return absl::InvalidArgumentError(
        "storage.dsn: required when storage.engine is postgres");
  if (!ValidTableName(options.table)) {
    return absl::InvalidArgumentError(absl::StrCat(
        "storage.table: \"", options.table,
        "\" must be 1-63 lower-case letters, digits or '_', not starting "
        "with a digit"));
  }
  // A DSN libpq cannot parse is a configuration error, said here before
  // any connection: libpq's message quotes the token it stopped at, or the
  // whole URI, which may hold the password, and contentd logs it.
  char* parse_error = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(options.dsn.c_str(), &parse_error);
  if (parsed == nullptr) {
    const std::string why =
        parse_error != nullptr ? OneLine(parse_error) : "out of memory";
    PQfreemem(parse_error);
    return absl::InvalidArgumentError(
        absl::StrCat("storage: cannot connect to PostgreSQL (",
                     options.dsn_name, "): the DSN does not parse: ",
                     pg_internal::RedactDsnParseError(why, options.dsn)));
  }
  // A URI's password holding an unencoded `@` parses, the rest of it going
  // to the host: libpq's "could not translate host name" error then
  // quoted that, and contentd logged it at every try. No host name holds
  // an `@`.
  bool at_in_host = false;
  for (const PQconninfoOption* o = parsed; o->keyword != nullptr; ++o) {
    if (o->val != nullptr && absl::string_view(o->keyword) == "host" &&
        absl::StrContains(o->val, '@')) {
      at_in_host = true;
    }
  }
  PQconninfoFree(parsed);
  if (at_in_host) {
    return absl::InvalidArgumentError(absl::StrCat(
        "storage: cannot connect to PostgreSQL (", options.dsn_name,
        "): the DSN's host holds an '@', which no host name does: in a URI "
        "(postgresql://USER:PASSWORD@HOST/DB) write an '@' of the password "
        "as %40 (the host is not shown: it may hold the rest of the "
        "password)"));
  }
  auto kv = std::make_unique<PgKv>(options);
  absl::Status s = kv->Init();
  if (!s.ok()) return s;
  return std::unique_ptr<KvEngine>(std::move(kv));
}

}  // namespace content::store
