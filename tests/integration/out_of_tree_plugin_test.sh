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

# Chosen by name, the installed keeld loads it and its factory runs (the other kinds' default
# engines may not be built yet, so only the backend's line is checked).
run=$("$work/prefix/bin/keeld" --backend example-memory --data-dir "$work/data" 2>&1 || true)
echo "$run"
echo "$run" | grep -Eq "backend +example-memory 0\.1\.0 \($plugin\)$"
test ! -e "$work/data"
echo "out-of-tree plugin: built against the installed keel, found and loaded"
