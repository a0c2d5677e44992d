#!/usr/bin/env bash
# What idle replicas cost their PostgreSQL: REPLICAS contentd processes on
# one table of a private PostgreSQL 15 (pg_stat_statements loaded), no
# client, no watcher; the statements they send in SECONDS once started
# (counts reset 2 s after the last replica serves), by kind, most first.
#
# Usage: bench/pg_idle.sh CONTENTD [REPLICAS=1] [SECONDS=30]
#
# Prints one line per statement: CALLS<TAB>QUERY (shortened), then the
# total. PG_BIN overrides the binaries' directory (/usr/lib/postgresql/15/bin).
set -euo pipefail

contentd=${1:?usage: bench/pg_idle.sh CONTENTD [REPLICAS] [SECONDS]}
replicas=${2:-1}
seconds=${3:-30}
pgbin=${PG_BIN:-/usr/lib/postgresql/15/bin}
[[ -x $contentd ]] || { echo "pg_idle.sh: $contentd is not executable" >&2; exit 2; }

tmp=$(mktemp -d /tmp/pg_idle.XXXXXX)
chmod 755 "$tmp"
as_pg=()
if [[ $(id -u) -eq 0 ]]; then
  as_pg=(runuser -u postgres --)
  chown postgres "$tmp"
fi
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  "${as_pg[@]}" "$pgbin/pg_ctl" -D "$tmp/pg" -m immediate -w -t 30 stop \
    >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

"${as_pg[@]}" "$pgbin/initdb" -D "$tmp/pg" -U postgres -A trust -E UTF8 \
  --locale C.UTF-8 --no-sync >"$tmp/initdb.log" 2>&1
port=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
"${as_pg[@]}" "$pgbin/pg_ctl" -D "$tmp/pg" -l "$tmp/pg.log" -w -t 60 \
  -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=''" \
  -o "-c fsync=off -c shared_preload_libraries=pg_stat_statements" \
  -o "-c pg_stat_statements.track=all" start >/dev/null
dsn="host=127.0.0.1 port=$port user=postgres dbname=postgres"
psql_() { "$pgbin/psql" "$dsn" -X -q -At -v ON_ERROR_STOP=1 "$@"; }
psql_ -c "CREATE EXTENSION pg_stat_statements"

for ((i = 0; i < replicas; i++)); do
  mkdir -p "$tmp/r$i"
  "$contentd" --listen 127.0.0.1:0 --data-dir "$tmp/r$i" \
    --storage-engine postgres --storage-dsn "$dsn" --storage-table idle_kv \
    >"$tmp/r$i/log" 2>&1 &
  pids+=($!)
  for _ in $(seq 600); do
    grep -q "serving on" "$tmp/r$i/log" && break
    sleep 0.1
  done
  grep -q "serving on" "$tmp/r$i/log" ||
    { echo "pg_idle.sh: replica $i did not serve:" >&2; cat "$tmp/r$i/log" >&2; exit 1; }
done
sleep 2
psql_ -c "SELECT pg_stat_statements_reset()" >/dev/null
sleep "$seconds"
psql_ -F $'\t' -c "SELECT calls, regexp_replace(left(query, 110), '\s+', ' ', 'g')
  FROM pg_stat_statements
  WHERE query NOT ILIKE '%pg_stat_statements%' ORDER BY calls DESC, query"
psql_ -c "SELECT 'total ' || sum(calls) FROM pg_stat_statements
  WHERE query NOT ILIKE '%pg_stat_statements%'"
