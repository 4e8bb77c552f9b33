#!/bin/sh
# build.sh -- configure and build promptcause in the source tree (or in the
# directory given as $1, out of tree). Used by the demo and test commands so
# both build the same way.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src}
cd "$src"
[ -x configure ] || autoreconf -fi >/dev/null
mkdir -p "$build"
cd "$build"
if [ ! -f Makefile ]; then
    "$src/configure" -q ${PC_CONFIGURE_FLAGS:-} 2>&1 | grep -v "cannot remove 'core'" || true
    [ -f Makefile ] || { echo "build.sh: configure failed (see $build/config.log)" >&2; exit 1; }
fi
make -j"$(nproc)" >/dev/null
echo "build: done in $build"
