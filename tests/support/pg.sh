#!/usr/bin/env bash
# A private PostgreSQL 15 for tests: 127.0.0.1 on a free port, trust auth,
# no fsync (contentd's crash tests kill contentd, never PostgreSQL).
#
# Usage: tests/support/pg.sh start DIR   # idempotent; writes DIR/dsn
#        tests/support/pg.sh stop DIR    # stops it and removes its data
#        tests/support/pg.sh status DIR  # exit 0 if it answers
#
# DIR/data is the cluster, DIR/postgres.log its log, DIR/port the port and
# DIR/dsn the libpq connection string ("host=127.0.0.1 port=N user=postgres
# dbname=postgres"). As root, initdb and postgres run as the `postgres` OS
# user (they refuse to run as root); otherwise as the current user. When
# that user cannot reach DIR, the cluster and log go to /tmp/contentd-pg-*.
# PG_BIN overrides the binaries' directory (/usr/lib/postgresql/15/bin).
set -euo pipefail

pgbin=${PG_BIN:-/usr/lib/postgresql/15/bin}

die() {
  echo "pg.sh: $*" >&2
  exit 1
}

usage() {
  echo "usage: $0 start|stop|status DIR" >&2
  exit 2
}

[[ $# -eq 2 ]] || usage
cmd=$1
dir=$2
[[ -n $dir ]] || usage
case $cmd in start | stop | status) ;; *) usage ;; esac

mkdir -p "$dir"
dir=$(cd "$dir" && pwd)

as_pg=()
if [[ $(id -u) -eq 0 ]]; then
  id postgres >/dev/null 2>&1 ||
    die "running as root needs the 'postgres' OS user (apt-get install postgresql-15)"
  as_pg=(runuser -u postgres --)
fi
run() { "${as_pg[@]}" "$@"; }

# One start or stop at a time per DIR. (The server must not inherit fd 9.)
exec 9>"$dir/lock"
flock -w 120 9 || die "timed out waiting for the lock on $dir/lock"

# The cluster and its log live in DIR, unless the postgres user cannot
# reach it (root's clone under /root, mode 0700): then in /tmp, under a
# name made from DIR so start, status and stop find the same one. Only
# start makes that directory, and stop removes it, both under the lock:
# a status or stop made none that stayed behind empty, and a stop cannot
# remove it under a start for the same DIR.
home=$dir
if [[ ${#as_pg[@]} -gt 0 ]]; then
  chown postgres "$dir" 2>/dev/null || true
  if ! run test -w "$dir" 2>/dev/null; then
    home=/tmp/contentd-pg-$(printf '%s' "$dir" | sha1sum | cut -c1-16)
    if [[ $cmd == start ]]; then
      mkdir -p "$home"
      chown postgres "$home"
      chmod 700 "$home"
    fi
  fi
fi
data=$home/data
logfile=$home/postgres.log

running() {
  [[ -f $data/postmaster.pid && -f $dir/port ]] || return 1
  run "$pgbin/pg_ctl" -D "$data" status >/dev/null 2>&1 || return 1
  "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$(cat "$dir/port")" -t 5
}

write_dsn() {
  local port=$1
  echo "$port" >"$dir/port.tmp" && mv "$dir/port.tmp" "$dir/port"
  echo "host=127.0.0.1 port=$port user=postgres dbname=postgres" \
    >"$dir/dsn.tmp"
  mv "$dir/dsn.tmp" "$dir/dsn"
}

free_port() {
  # Bind port 0 and read back what the kernel picked.
  python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])' \
    2>/dev/null || echo $((20000 + RANDOM % 20000))
}

stop() {
  if [[ -f $data/postmaster.pid ]]; then
    run "$pgbin/pg_ctl" -D "$data" -m immediate -w -t 60 stop >/dev/null 2>&1 ||
      true
  fi
}

case $cmd in
  status)
    running
    exit
    ;;
  stop)
    stop
    rm -rf "$data" "$dir/dsn" "$dir/port"
    [[ $home == "$dir" ]] || rm -rf "$home"
    exit 0
    ;;
esac

# --- start ------------------------------------------------------------------
if running; then
  write_dsn "$(cat "$dir/port")"
  exit 0
fi
for b in initdb pg_ctl pg_isready postgres; do
  [[ -x $pgbin/$b ]] ||
    die "PostgreSQL 15 is not installed: $pgbin/$b is missing" \
      "(apt-get install postgresql-15 postgresql-client-15, or scripts/setup.sh)"
done
if [[ ${#as_pg[@]} -gt 0 ]]; then
  run test -w "$home" ||
    die "the postgres user cannot write $home"
fi
rm -f "$dir/dsn" "$dir/port"
stop # a cluster left behind that no longer answers

if [[ ! -f $data/PG_VERSION ]]; then
  rm -rf "$data"
  run "$pgbin/initdb" -D "$data" -U postgres -A trust -E UTF8 \
    --locale C.UTF-8 --no-sync >"$dir/initdb.log" 2>&1 ||
    die "initdb failed:"$'\n'"$(cat "$dir/initdb.log")"
fi
rm -f "$data/postmaster.pid"

# The port is free when picked but not reserved: try a few.
for attempt in 1 2 3 4 5; do
  port=$(free_port)
  if run "$pgbin/pg_ctl" -D "$data" -l "$logfile" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -c unix_socket_directories=''" \
    -o "-c max_connections=300 -c fsync=off -c full_page_writes=off" \
    start >/dev/null 2>&1 9>&-; then
    if "$pgbin/pg_isready" -q -h 127.0.0.1 -p "$port" -t 30; then
      write_dsn "$port"
      echo "pg.sh: PostgreSQL on 127.0.0.1:$port, $dir/dsn"
      exit 0
    fi
    stop
  fi
  echo "pg.sh: start on port $port failed (attempt $attempt)" >&2
done
die "PostgreSQL did not start; the end of $logfile:"$'\n'"$(tail -n 30 "$logfile" 2>/dev/null)"
