#!/usr/bin/env bash
# Installs the SDK into a temporary prefix, builds client/examples/consumer
# against the installed package, and runs it against a real contentd.
#   consumer_test.sh BUILD_DIR SOURCE_DIR CONTENTD
set -euo pipefail
build=$1 src=$2 contentd=$3
work=$(mktemp -d)
server_pid=
cleanup() {
  [ -n "$server_pid" ] && kill -9 "$server_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

cmake --install "$build" --prefix "$work/prefix" >/dev/null
test -f "$work/prefix/include/content/client.h"
test -f "$work/prefix/include/content/v1/article.pb.h"
cmake -S "$src/client/examples/consumer" -B "$work/build" -G Ninja \
  -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/build" -j2 >/dev/null

"$contentd" --listen 127.0.0.1:0 --data-dir "$work/data" \
  --port-file "$work/port" >"$work/log" 2>&1 &
server_pid=$!
for _ in $(seq 1 300); do [ -s "$work/port" ] && break; sleep 0.05; done
port=$(cat "$work/port")

cat >"$work/a.md" <<'MD'
---
title: "安装包测试"
tags:
  - "sdk"
---
Body.
MD
out=$("$work/build/consumer" "127.0.0.1:$port" "$work/a.md" installed)
echo "$out"
[ "$out" = "articles/installed revision 1: 安装包测试" ]
