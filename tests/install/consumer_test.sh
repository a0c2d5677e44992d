#!/usr/bin/env bash
# Installs the SDK into a temporary prefix, builds client/examples/consumer
# against the installed package as C++17 and as C++20, and runs both against
# a real contentd.
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
# The systemd unit's Documentation= files, which a prefix of /usr/local
# installs (the README names docs/ files beside it).
for doc in $(sed -n 's|^Documentation=||p' "$src/deploy/systemd/contentd.service"); do
  path=${doc#file:///usr/local/}
  if [ "$path" = "$doc" ] || [ ! -f "$work/prefix/$path" ]; then
    echo "deploy/systemd/contentd.service: Documentation=$doc is not" \
      "installed under the prefix" >&2
    exit 1
  fi
done
# Every docs/*.md an installed document names is installed beside it: the
# operator's guides sent readers to docs/benchmarks.md, left out.
docdir=$(dirname "$(find "$work/prefix" -name README.md -path '*doc*' | head -1)")
for md in "$docdir/README.md" "$docdir"/docs/*.md; do
  for named in $(grep -o 'docs/[a-z-]*\.md' "$md" | sort -u); do
    if [ ! -f "$docdir/$named" ]; then
      echo "${md#"$docdir"/} names $named, which is not installed" >&2
      exit 1
    fi
  done
done
test -f "$work/prefix/include/content/v1/article.pb.h"
# The .proto files beside the generated headers: client.h sends a reader to
# content_service.proto for each RPC's errors, which the generated code
# leaves out.
for proto in article content_service admin_service; do
  if ! grep -q '^service\|^message' \
    "$work/prefix/include/content/v1/$proto.proto" 2>/dev/null; then
    echo "include/content/v1/$proto.proto was not installed" >&2
    exit 1
  fi
done
# Only the headers the public ones include, directly or through another:
# the gRPC stubs (*.grpc.pb.h, article's empty) were installed though
# nothing included them.
inc="$work/prefix/include"
needed=$(
  todo="content/client.h content/markdown.h" seen=""
  while [ -n "$todo" ]; do
    set -- $todo
    h=$1
    shift
    todo="$*"
    case " $seen " in *" $h "*) continue ;; esac
    seen="$seen $h"
    todo="$todo $(sed -n 's|^#include "\(content/[^"]*\)".*|\1|p' "$inc/$h")"
  done
  printf '%s\n' $seen | sort
)
installed=$(cd "$inc" && find content -name '*.h' | sort)
if [ "$installed" != "$needed" ]; then
  echo "installed headers differ from those client.h and markdown.h include" \
    "(< installed, > included):" >&2
  diff <(echo "$installed") <(echo "$needed") >&2 || true
  exit 1
fi
if [ -e "$inc/content/v1/article.grpc.pb.h" ]; then
  echo "include/content/v1/article.grpc.pb.h was installed" >&2
  exit 1
fi
# The installed message library holds messages only: the gRPC stubs, whose
# headers are not installed, live in libcontent.a, which calls them.
proto_lib=$(find "$work/prefix" -name libcontent_proto.a | head -n 1)
if [ -z "$proto_lib" ]; then
  echo "libcontent_proto.a was not installed" >&2
  exit 1
fi
stubs=$(nm -C "$proto_lib" | grep -E ' [TtWVDdBbRr] .*(Stub|grpc::)' || true)
if [ -n "$stubs" ]; then
  echo "$proto_lib defines gRPC stub code:" >&2
  echo "$stubs" | head -n 5 >&2
  exit 1
fi
# (grep -c reads all: grep -q would end nm with SIGPIPE, failing the pipe.)
if [ "$(nm -C "$(dirname "$proto_lib")/libcontent.a" | grep -c ' T .*Stub::')" \
  = 0 ]; then
  echo "libcontent.a does not define the stubs the SDK calls" >&2
  exit 1
fi
# The public headers must build as C++17 and as C++20; the C++20 build must
# have used it (the compile command names it; C++17 is the compiler's
# default, which CMake may leave unnamed). A consumer that asks for C++14 is
# raised to C++17 by the package (cxx_std_17): it failed inside client.h
# (`'string_view' is not a member of 'std'`).
for std in 14 17 20; do
  cmake -S "$src/client/examples/consumer" -B "$work/build$std" -G Ninja \
    -DCMAKE_PREFIX_PATH="$work/prefix" -DCMAKE_CXX_STANDARD=$std \
    -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >/dev/null
  if ! cmake --build "$work/build$std" -j2 >"$work/build$std.log" 2>&1; then
    echo "consumer did not build with CMAKE_CXX_STANDARD=$std:" >&2
    grep -m 5 error "$work/build$std.log" >&2 || tail -n 20 "$work/build$std.log" >&2
    exit 1
  fi
  want=$std
  [ "$std" = 14 ] && want=17
  if [ "$std" != 17 ] && ! grep -Eq -- "-std=(c|gnu)\+\+$want( |\")" \
    "$work/build$std/compile_commands.json"; then
    echo "consumer was not built as C++$want:" >&2
    grep -o -- '-std=[^ "]*' "$work/build$std/compile_commands.json" >&2 || true
    exit 1
  fi
done

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
for std in 14 17 20; do
  out=$("$work/build$std/consumer" "127.0.0.1:$port" "$work/a.md" "cxx$std")
  echo "$out"
  [ "$out" = "articles/cxx$std revision 1: 安装包测试" ]
done
