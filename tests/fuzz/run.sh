#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (CONTENT_FUZZ) and runs each for
# FUZZ_SECONDS (default 30) from its seed corpus. A crash fails the script
# and leaves the input in $dir/crash-*: turn it into a regression test.
set -euo pipefail
cd "$(dirname "$0")/../.."
dir=${FUZZ_BUILD_DIR:-build-fuzz}
seconds=${FUZZ_SECONDS:-30}
export CCACHE_BASEDIR=$PWD
CC=clang CXX=clang++ cmake -S . -B "$dir" -G Ninja -DCONTENT_FUZZ=ON \
  -DCONTENT_LINE_TABLES_ONLY=ON -DCONTENT_BUILD_BENCH=OFF >/dev/null
targets=(markdown_fuzz page_token_fuzz validation_fuzz)
cmake --build "$dir" -j"${JOBS:-2}" --target "${targets[@]}"
[ "${BUILD_ONLY:-0}" = 1 ] && exit 0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# LSan off: the page-token target keeps its store open for the whole run.
export ASAN_OPTIONS=detect_leaks=0
for t in "${targets[@]}"; do
  name=${t%_fuzz}
  work=$(mktemp -d)
  echo "fuzz: $t for ${seconds}s"
  # A scratch corpus dir first so new inputs do not land in the repo.
  set +e
  "$dir/tests/fuzz/$t" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
    -artifact_prefix="$dir/" -print_final_stats=1 "$work" \
    "tests/fuzz/corpus/$name" 2>&1 | tail -n 12
  rc=${PIPESTATUS[0]}
  set -e
  rm -rf "$work"
  [ "$rc" -eq 0 ] || { echo "fuzz: $t failed"; exit "$rc"; }
done
