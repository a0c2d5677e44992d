#!/usr/bin/env bash
# Sets up, builds, and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
build_dir=${BUILD_DIR:-build}
# Four at a time on two cores: the end-to-end tests mostly wait (for a
# server to start, a deadline, a watch); the whole tree's tests take about
# 670 s of CPU (user+sys), under 6 minutes of two cores.
(cd "$build_dir" && ctest --output-on-failure -j"${TEST_JOBS:-4}" --timeout 900)

# Reliability (docs/reliability.md): the whole suite again under
# AddressSanitizer + UndefinedBehaviorSanitizer (the crash suite included),
# then each libFuzzer target for FUZZ_SECONDS. CONTENT_QUICK=1 skips both.
if [ "${CONTENT_QUICK:-0}" != 1 ]; then
  tests/reliability/run_sanitized.sh
  tests/fuzz/run.sh
fi
