#!/usr/bin/env bash
# Usage: bench/pg_retention.sh CONTENTD CONTENTCTL N TABLE PGDIR
# Starts contentd on the PostgreSQL of PGDIR (tests/support/pg.sh start PGDIR),
# makes N articles with 2 revisions each, then times one
# `contentctl admin compact` under retention keep_revisions: 1.
set -euo pipefail
contentd=$1 ctl=$2 n=$3 table=$4 pgdir=$5
work=$(mktemp -d)
mkdir -p "$work/md1" "$work/md2"
dsn=$(cat "$pgdir/dsn")
cat >"$work/config.yaml" <<YAML
retention:
  keep_revisions: 1
retention_interval_ms: 86400000
YAML
python3 - "$work" "$n" <<'PY'
import sys
work, n = sys.argv[1], int(sys.argv[2])
for i in range(n):
    for v in (1, 2):
        with open(f"{work}/md{v}/a{i:06d}.md", "w") as f:
            f.write(f"---\ntitle: Article {i} v{v}\ndate: 2025-01-01T00:00:00Z\ntags: [bench, t{i%50}]\ncategories: [c{i%7}]\nlang: en\n---\n\nBody {i} version {v}. " + "word " * 60 + "\n")
PY
"$contentd" --listen 127.0.0.1:0 --port-file "$work/port" --no-auth \
  --config "$work/config.yaml" --data-dir "$work/data" \
  --storage-engine postgres --storage-dsn "$dsn" --storage-table "$table" \
  2>"$work/contentd.log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 300); do [[ -s $work/port ]] && break; sleep 0.1; done
export CONTENT_SERVER=127.0.0.1:$(cat "$work/port")
"$ctl" apply -f "$work/md1/" >/dev/null
"$ctl" apply -f "$work/md2/" >/dev/null
start=$(date +%s.%N)
"$ctl" admin compact
end=$(date +%s.%N)
python3 -c "print('compact seconds: %.2f' % ($end - $start))"
