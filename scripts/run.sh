#!/usr/bin/env bash
# Sets up, builds, and runs contentd on 127.0.0.1:7070 with its data in
# ./data and the articles of samples/ loaded. Ctrl-C stops it cleanly.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
build_dir=${BUILD_DIR:-build}
listen=${CONTENT_LISTEN:-127.0.0.1:7070}

"$build_dir/contentd" --listen "$listen" --data-dir "${DATA_DIR:-data}" \
  --port-file "$build_dir/contentd.port" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid' INT TERM
for _ in $(seq 1 200); do [ -s "$build_dir/contentd.port" ] && break; sleep 0.05; done
server="127.0.0.1:$(cat "$build_dir/contentd.port")"
"$build_dir/contentctl" --server "$server" apply -f samples/
echo
echo "contentd is serving on $server. Try:"
echo "  $build_dir/contentctl --server $server query --tag ai"
echo "  $build_dir/contentctl --server $server get <id> -o yaml"
echo "Ctrl-C stops it."
wait $pid
