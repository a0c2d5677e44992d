// What the PostgreSQL engine (pg_kv.cc) shares with its tests alone: not
// part of the engine's interface (pg_kv.h), and nothing else includes it.
#ifndef CONTENT_SERVER_STORE_PG_KV_INTERNAL_H_
#define CONTENT_SERVER_STORE_PG_KV_INTERNAL_H_

#include <cstdint>
#include <string>

#include "absl/strings/string_view.h"

namespace content::store::pg_internal {

// The pg_advisory_lock key of the engine's lock `name` ("write",
// "serving", a lease's name) on `table`: the same in every replica, so
// replicas of one table meet on it. Tests that take or look for one of the
// engine's locks use this, so that they follow the engine if the scheme
// changes.
int64_t LockKey(absl::string_view table, absl::string_view name);

// libpq's `message` for `dsn`, a DSN it could not parse, with every quoted
// excerpt that holds a password of the DSN (or part of one) replaced:
// libpq quotes the offending token, or the whole URI, and contentd logs
// the message. A password is the URI's `user:PASSWORD@` or the value of a
// `password` or `sslpassword` entry (key=value or URI query), an unquoted
// value up to the next `key=` word.
std::string RedactDsnParseError(absl::string_view message,
                                absl::string_view dsn);

}  // namespace content::store::pg_internal

#endif  // CONTENT_SERVER_STORE_PG_KV_INTERNAL_H_
