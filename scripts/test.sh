#!/usr/bin/env bash
# Sets up, builds, and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
build_dir=${BUILD_DIR:-build}
quick=${CONTENT_QUICK:-0}

# The fuzz targets: with clang (run_sanitized.sh's default) and ASan they are
# in the sanitized tree (tests/fuzz/CMakeLists.txt), one instrumented tree to
# build instead of two; otherwise (SAN_CXX=g++) in a tree of their own.
sanitize=${SANITIZE:-address,undefined}
if [ -z "${FUZZ_BUILD_DIR:-}" ] && [[ "$sanitize" == *address* ]] &&
  [[ "$(basename "${SAN_CXX:-clang++}")" == clang* ]]; then
  export FUZZ_BUILD_DIR=${SAN_BUILD_DIR:-build-${sanitize//,/-}}
fi

# The sanitized and fuzz trees build in the background, at the lowest CPU
# and I/O priority, while the normal tree's tests run: those mostly wait (for
# a server to start, a deadline, a watch), leaving about a third of the two
# cores idle (670 s of CPU in 460 s). Their own run below builds whatever is
# left and shows any compile error. Same session, so `nice` counts against
# the tests (the kernel's autogroups are per session).
bg=
if [ "$quick" != 1 ] && [ "${BACKGROUND_BUILDS:-1}" = 1 ]; then
  log=$build_dir/background-builds.log
  set -m  # its own process group, so that an early exit stops all of it
  nice -n 19 ionice -c 3 bash -c 'BUILD_ONLY=1 tests/reliability/run_sanitized.sh &&
    BUILD_ONLY=1 tests/fuzz/run.sh' >"$log" 2>&1 </dev/null &
  bg=$!
  set +m
  trap '[ -n "$bg" ] && kill -TERM -- "-$bg" 2>/dev/null; true' EXIT
fi

# Four at a time on two cores: the end-to-end tests mostly wait; the whole
# tree's tests take about 670 s of CPU (user+sys), under 6 minutes of two
# cores.
(cd "$build_dir" && ctest --output-on-failure -j"${TEST_JOBS:-4}" --timeout 900)

# Reliability (docs/reliability.md): the whole suite again under
# AddressSanitizer + UndefinedBehaviorSanitizer (the crash suite included),
# then each libFuzzer target for FUZZ_SECONDS. CONTENT_QUICK=1 skips both.
if [ "$quick" != 1 ]; then
  if [ -n "$bg" ]; then
    wait "$bg" || echo "background builds failed (log: $log); building again"
    bg=
  fi
  tests/reliability/run_sanitized.sh
  tests/fuzz/run.sh
fi
