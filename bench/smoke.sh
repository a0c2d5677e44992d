#!/usr/bin/env bash
# bench_smoke: ~10 s of contentbench against a real contentd on an ephemeral
# port, so the load generator cannot rot. Checks every workload reports
# non-zero throughput and no errors (update may report FAILED_PRECONDITION:
# those are revision conflicts it counts on purpose), and that queries find
# articles.
# Usage: smoke.sh CONTENTD CONTENTBENCH
set -euo pipefail
contentd=${1:?contentd binary}
bench=${2:?contentbench binary}
dir=$(mktemp -d)
pid=
cleanup() {
  if [[ -n $pid ]]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; fi
  rm -rf "$dir"
}
trap cleanup EXIT

"$contentd" --listen 127.0.0.1:0 --data-dir "$dir/data" --port-file "$dir/port" \
  2>"$dir/contentd.log" &
pid=$!
for _ in $(seq 100); do [[ -s $dir/port ]] && break; sleep 0.1; done
[[ -s $dir/port ]] || { echo "contentd did not start"; cat "$dir/contentd.log"; exit 1; }
target=127.0.0.1:$(cat "$dir/port")
common=(--target "$target" --articles 500 -c 2 -m 4 --json --quiet)

"$bench" load "${common[@]}" | tee "$dir/out"
grep -q '"errors":0,' "$dir/out" || { echo "FAIL: load reported errors"; exit 1; }

fail=0
# The last four use the raw paths: pre-encoded requests through the generic
# stub, as bench/compare drives etcd.
for w in get put update update-blind delete-undelete query-tag query-tag-date query-two-tags query-text \
         mixed health "get --raw-client" "query-two-tags --raw-client" "update-blind --raw-client" \
         "raw --raw-method /grpc.health.v1.Health/Check --raw-hex 0a00"; do
  # shellcheck disable=SC2086  # $w carries extra flags on purpose
  "$bench" run "${common[@]}" --workload $w --warmup 0.2 --duration 0.5 \
    --pool 64 --server-pid "$pid" >"$dir/out" || true
  cat "$dir/out"
  line=$(grep '^{' "$dir/out" || true)
  # CPU per operation: the tool's own and the server's, read from /proc.
  if [[ -z $line ]] || ! grep -q '"errors":0,' <<<"$line" ||
     grep -q '"ok":0,' <<<"$line" || grep -q '_cpu_us":null' <<<"$line"; then
    echo "FAIL: workload $w"; fail=1
  fi
  # A query, or a raw call, that finds nothing is no measurement: a broken
  # index answers fast and empty (rows, or for raw calls reply bytes, per op).
  if [[ $w == query-* || $w == *--raw-client* ]] &&
     grep -q '"rows_per_op":0.00,' <<<"$line"; then
    echo "FAIL: workload $w returned nothing"; fail=1
  fi
done
exit $fail
