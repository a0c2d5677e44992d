#!/usr/bin/env bash
# Sets up, builds, and runs contentd on 127.0.0.1:7070 with its data in
# ./data and the articles of samples/ loaded. Ctrl-C stops it cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
# CONTENT_SETUP=0 skips installing and building (tests run this script
# against a tree they built).
[ "${CONTENT_SETUP:-1}" = 0 ] || scripts/setup.sh
build_dir=${BUILD_DIR:-build}
listen=${CONTENT_LISTEN:-127.0.0.1:7070}

# A port file left by an earlier run would name that run's port.
rm -f "$build_dir/contentd.port"
# In a session of its own, so that Ctrl-C reaches only this script, whose
# trap stops contentd with one SIGTERM: the terminal's SIGINT as well would
# be a second signal, which ends a stop at once.
setsid "$build_dir/contentd" --listen "$listen" --data-dir "${DATA_DIR:-data}" \
  --port-file "$build_dir/contentd.port" &
pid=$!
# On Ctrl-C, and on any failure below, the server stops too (it would hold
# the port and the data directory for the next run).
trap 'kill -TERM $pid 2>/dev/null; wait $pid' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
for _ in $(seq 1 600); do
  [ -s "$build_dir/contentd.port" ] && break
  kill -0 "$pid" 2>/dev/null || { echo "contentd did not start" >&2; exit 1; }
  sleep 0.05
done
[ -s "$build_dir/contentd.port" ] || { echo "contentd did not start in 30 s" >&2; exit 1; }
# The host contentctl dials: the listen address's, or loopback for a
# wildcard one (0.0.0.0, [::]).
host=${listen%:*}
case $host in "" | 0.0.0.0 | "[::]") host=127.0.0.1 ;; esac
server="$host:$(cat "$build_dir/contentd.port")"
"$build_dir/contentctl" --server "$server" apply -f samples/
echo
echo "contentd is serving on $server. Try:"
echo "  $build_dir/contentctl --server $server query --tag ai"
echo "  $build_dir/contentctl --server $server get <id> -o yaml"
echo "Ctrl-C stops it."
wait $pid
