#!/usr/bin/env bash
# Builds the libFuzzer targets and runs each for FUZZ_SECONDS (default 30)
# from its seed corpus, FUZZ_JOBS (default 2) at a time. A crash fails the
# script and leaves the input in $dir/crash-*: turn it into a regression
# test.
#
# The targets build in a tree of their own (build-fuzz: clang, CONTENT_FUZZ,
# coverage in all the code), or with FUZZ_BUILD_DIR=DIR in a tree already
# configured: the sanitized clang tree of tests/reliability/run_sanitized.sh
# has them too, with coverage in the sources each target exercises
# (tests/fuzz/CMakeLists.txt). scripts/test.sh uses that one.
set -euo pipefail
cd "$(dirname "$0")/../.."
seconds=${FUZZ_SECONDS:-30}
jobs=${FUZZ_JOBS:-2}
export CCACHE_BASEDIR=$PWD
targets=(markdown_fuzz page_token_fuzz validation_fuzz)
if [ -n "${FUZZ_BUILD_DIR:-}" ]; then
  dir=$FUZZ_BUILD_DIR
  if ! grep -q '^build tests/fuzz/markdown_fuzz:' "$dir/build.ninja" 2>/dev/null; then
    echo "fuzz: $dir has no fuzz targets (a CONTENT_FUZZ tree, or" \
      "run_sanitized.sh's with clang, has them)" >&2
    exit 2
  fi
else
  dir=build-fuzz
  CC=clang CXX=clang++ cmake -S . -B "$dir" -G Ninja -DCONTENT_FUZZ=ON \
    -DCONTENT_LINE_TABLES_ONLY=ON -DCONTENT_BUILD_BENCH=OFF >/dev/null
fi
cmake --build "$dir" -j"${JOBS:-2}" --target "${targets[@]}"
[ "${BUILD_ONLY:-0}" = 1 ] && exit 0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
# LSan off: the page-token target keeps its store open for the whole run.
export ASAN_OPTIONS=detect_leaks=0
logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
# One target's run: its output in $logs/<target>, its exit status in
# $logs/<target>.rc. A scratch corpus dir first so that new inputs do not
# land in the repo.
fuzz() {
  local t=$1 name=${1%_fuzz} work rc=0
  work=$(mktemp -d)
  "$dir/tests/fuzz/$t" -max_total_time="$seconds" -max_len=4096 -timeout=10 \
    -artifact_prefix="$dir/" -print_final_stats=1 "$work" \
    "tests/fuzz/corpus/$name" >"$logs/$t" 2>&1 || rc=$?
  rm -rf "$work"
  echo "$rc" >"$logs/$t.rc"
}
running=0
for t in "${targets[@]}"; do
  if [ "$running" -ge "$jobs" ]; then
    wait -n
    running=$((running - 1))
  fi
  echo "fuzz: $t for ${seconds}s"
  fuzz "$t" &
  running=$((running + 1))
done
wait
failed=0
for t in "${targets[@]}"; do
  rc=$(cat "$logs/$t.rc")
  echo "fuzz: $t"
  if [ "$rc" -eq 0 ]; then
    tail -n 12 "$logs/$t"
  else
    cat "$logs/$t"  # the whole report
    echo "fuzz: $t failed (exit $rc)"
    failed=$rc
  fi
done
exit "$failed"
