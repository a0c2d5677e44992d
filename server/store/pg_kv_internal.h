// What the PostgreSQL engine (pg_kv.cc) shares with its tests alone: not
// part of the engine's interface (pg_kv.h), and nothing else includes it.
#ifndef CONTENT_SERVER_STORE_PG_KV_INTERNAL_H_
#define CONTENT_SERVER_STORE_PG_KV_INTERNAL_H_

#include <cstdint>

#include "absl/strings/string_view.h"

namespace content::store::pg_internal {

// The pg_advisory_lock key of the engine's lock `name` ("write",
// "serving", a lease's name) on `table`: the same in every replica, so
// replicas of one table meet on it. Tests that take or look for one of the
// engine's locks use this, so that they follow the engine if the scheme
// changes.
int64_t LockKey(absl::string_view table, absl::string_view name);

}  // namespace content::store::pg_internal

#endif  // CONTENT_SERVER_STORE_PG_KV_INTERNAL_H_
