#!/usr/bin/env bash
# Installs keel from a build tree to a temporary prefix, builds examples/plugin-template against
# the installed package alone, installs it beside keel's plugins, and checks that the installed
# keeld finds it, loads it and makes its engine.
# Usage: out_of_tree_plugin_test.sh <keel build dir> <example source dir>
set -euo pipefail
build=$1
example=$2
work=$(mktemp -d /tmp/keel-out-of-tree-XXXXXX)
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/prefix" >/dev/null
test -f "$work/prefix/include/keel/plugin.h"
test -x "$work/prefix/bin/keeld"

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake "${generator[@]}" -S "$example" -B "$work/build" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/build" >/dev/null
cmake --install "$work/build" --prefix "$work/prefix" >/dev/null
plugin=$(find "$work/prefix" -name keel-example-memory.so)
test -n "$plugin"

# Only the descriptor is exported (-fvisibility=hidden).
exports=$(nm -D --defined-only "$plugin" | awk '{print $NF}')
if [ "$exports" != "keel_plugin_descriptor" ]; then
  echo "the plugin exports more than its descriptor:"; echo "$exports"; exit 1
fi

list=$("$work/prefix/bin/keeld" --list-plugins)
echo "$list"
echo "$list" | grep -Eq "^backend +example-memory +0\.1\.0 +$plugin +loads$"

# Chosen by name, the installed keeld loads it and its factory runs.
run=$("$work/prefix/bin/keeld" --check --backend example-memory --data-dir "$work/data" 2>&1 || true)
echo "$run"
echo "$run" | grep -Eq "backend +example-memory 0\.1\.0 \($plugin\)$"
test ! -e "$work/data"

# And the member serves etcd's clients with it.
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$work/prefix/bin/keeld" --backend example-memory --unsafe-no-fsync --data-dir "$work/data" \
  --listen-client-urls "http://127.0.0.1:$port" --advertise-client-urls "http://127.0.0.1:$port" \
  >"$work/keeld.log" 2>&1 &
keeld_pid=$!
trap 'kill -9 $keeld_pid 2>/dev/null || true; rm -rf "$work"' EXIT
for _ in $(seq 1 300); do
  grep -q "ready to serve client requests" "$work/keeld.log" && break
  sleep 0.1
done
grep -q "ready to serve client requests" "$work/keeld.log" || { cat "$work/keeld.log"; exit 1; }
ETCDCTL_API=3 etcdctl --endpoints "127.0.0.1:$port" put outside-plugin works
test "$(ETCDCTL_API=3 etcdctl --endpoints "127.0.0.1:$port" get outside-plugin --print-value-only)" = works
kill -TERM $keeld_pid
wait $keeld_pid
echo "out-of-tree plugin: built against the installed keel, found and loaded"
