#!/usr/bin/env bash
# Installs the Debian 12 packages contentd needs (only those missing) and
# builds everything into ${BUILD_DIR:-build} with Ninja.
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  build-essential cmake ninja-build ccache pkg-config
  protobuf-compiler protobuf-compiler-grpc libprotobuf-dev libgrpc++-dev
  libabsl-dev librocksdb-dev libyaml-cpp-dev libssl-dev libcli11-dev libcpp-httplib-dev
  libgtest-dev libgmock-dev libbenchmark-dev libicu-dev libxapian-dev libdtl-dev
  clang libclang-rt-14-dev lld openssl zsh
  libpqxx-dev postgresql-15 postgresql-client-15 libgoogle-perftools-dev
)
sudo=""
[ "$(id -u)" -ne 0 ] && sudo=sudo
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
    missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update -qq
  # (through env: sudo's env_reset would drop a plain assignment)
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
    --no-install-recommends "${missing[@]}" >/dev/null
fi

# promtool, Prometheus' rule checker, for the tests of
# deploy/prometheus/contentd-rules.yaml: the one binary of Debian's
# prometheus package, to /usr/local/bin (installing the package would
# start a Prometheus server where it can).
if ! command -v promtool >/dev/null; then
  echo "setup: installing promtool (from Debian's prometheus package)"
  tmp=$(mktemp -d)
  (
    cd "$tmp"
    apt-get download -qq prometheus >/dev/null 2>&1 || {
      $sudo apt-get update -qq
      apt-get download -qq prometheus >/dev/null
    }
    dpkg-deb -x prometheus_*.deb root
  )
  $sudo install -m 0755 "$tmp/root/usr/bin/promtool" /usr/local/bin/promtool
  rm -rf "$tmp"
fi

build_dir=${BUILD_DIR:-build}
export CCACHE_BASEDIR=$PWD
# CI keeps line tables only (-g1): a third less compile time, and a failure's
# backtrace still has file and line.
options=()
if [ "${CI:-}" = true ]; then options+=(-DCONTENT_LINE_TABLES_ONLY=ON); fi
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  "${options[@]}" >/dev/null
cmake --build "$build_dir" -j"${JOBS:-2}"
