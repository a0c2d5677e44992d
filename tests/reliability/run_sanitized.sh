#!/usr/bin/env bash
# Builds an ASan+UBSan tree (CONTENT_SANITIZE) and runs the whole unit and
# end-to-end suite in it. SANITIZE=thread builds a TSan tree instead.
# Usage: tests/reliability/run_sanitized.sh [ctest args...]
# Each test binary runs as a few GTest shards (cli_test_1of9, ...; see
# tests/CMakeLists.txt), not a process per case. One case alone:
# `build-address-undefined/tests/cli_test --gtest_filter=CliTest.Name`, or
# SHARDED=OFF to register every case with ctest again.
set -euo pipefail
cd "$(dirname "$0")/../.."
sanitize=${SANITIZE:-address,undefined}
dir=${SAN_BUILD_DIR:-build-${sanitize//,/-}}
export CCACHE_BASEDIR=$PWD
# -O1 keeps the instrumented build and run fast enough for CI; line tables
# (-g1) are all a report's stack needs. clang by default: it compiles this
# tree in about half the CPU time GCC 12 takes with the same sanitizers
# (cli_test.cc 50 s to 27 s, ops_test.cc 51 to 18), GCC's UBSan being the
# costly part. SAN_CXX=g++ for GCC's.
cxx=$(command -v "${SAN_CXX:-clang++}")
# A tree configured for another compiler is configured afresh: CMake would
# drop its cache itself, and with it this command's -D options, once.
was=$(sed -n 's/^CMAKE_CXX_COMPILER:[A-Z]*=//p' "$dir/CMakeCache.txt" 2>/dev/null || true)
if [ -n "$was" ] &&
  [ "$(readlink -f "$(command -v "$was")")" != "$(readlink -f "$cxx")" ]; then
  echo "run_sanitized: configuring $dir afresh for $cxx"
  rm -rf "$dir/CMakeCache.txt" "$dir/CMakeFiles"
fi
cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_COMPILER="$cxx" \
  -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" -DCONTENT_BUILD_BENCH=OFF \
  -DCONTENT_SANITIZE="$sanitize" -DCONTENT_TEST_SHARDED="${SHARDED:-ON}" \
  >/dev/null
cmake --build "$dir" -j"${JOBS:-2}"
# BUILD_ONLY=1: scripts/test.sh builds the tree while other tests run.
[ "${BUILD_ONLY:-0}" = 1 ] && exit 0
supp=$PWD/tests/reliability/sanitizers
# Leak checking stays on (LSan). UBSan stops at the first report.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:suppressions=$supp/asan.supp}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$supp/lsan.supp}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
export TSAN_OPTIONS=${TSAN_OPTIONS:-suppressions=$supp/tsan.supp:halt_on_error=1:second_deadlock_stack=1}
cd "$dir"
# The installed-consumer test builds an uninstrumented consumer against the
# instrumented static libraries, which cannot link; the normal tree runs it.
# The pg_* reruns of whole end-to-end binaries on PostgreSQL stay in the
# normal tree too (CI time); the PostgreSQL engine's own tests (kv_test,
# store_shared_test, replicas_test) run here.
# -j2: unlike the normal tree's, these tests keep both cores busy (CPU 1.9
# times the wall at -j2), every contentctl run paying ASan's 0.13 s of
# set-up and leak check (docs/reliability.md, "CI time").
ctest --output-on-failure -j2 --timeout 900 \
  -E "install_consumer_test|^pg_.*_test$" "$@"
