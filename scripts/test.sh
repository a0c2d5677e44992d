#!/usr/bin/env bash
# Sets up, builds, and runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
build_dir=${BUILD_DIR:-build}
(cd "$build_dir" && ctest --output-on-failure -j2 --timeout 900)

# Reliability (docs/reliability.md): the whole suite again under
# AddressSanitizer + UndefinedBehaviorSanitizer (the crash suite included),
# then each libFuzzer target for FUZZ_SECONDS. CONTENT_QUICK=1 skips both.
if [ "${CONTENT_QUICK:-0}" != 1 ]; then
  tests/reliability/run_sanitized.sh
  tests/fuzz/run.sh
fi
