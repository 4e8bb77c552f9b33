#!/bin/sh
# run-demo.sh -- show promptcause at work on this machine, loopback only.
#
# Starts the test origin (serving demo/site/ and every 401/407 scenario), c-icap
# with the built promptcause module, and a Squid in front, on free loopback
# ports in a temp dir; a scripted browser loads a sample site that reproduces
# every prompt cause of SPEC's table; then prints promptcause's events and the
# Squid log lines carrying the X-Prompt-* fields, and stops everything.
#
# Usage: demo/run-demo.sh [BUILD_DIR]   (or PC_BUILD=BUILD_DIR; default: the
# source tree, for an in-tree build). PC_DEMO_KEEP=1 keeps the temp dir.
# Exit status: 0 when events were produced, non-zero when a part failed to start.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-${PC_BUILD:-$src}}
build=$(cd "$build" 2>/dev/null && pwd) || { echo "run-demo: no build directory: ${1:-${PC_BUILD:-$src}}" >&2; exit 2; }
module="$build/module/.libs/srv_promptcause.so"
if [ ! -f "$module" ]; then
    echo "run-demo: $module not found; build first (scripts/build.sh $build)" >&2
    exit 2
fi
PC_TOP_BUILDDIR=$build
PC_TOP_SRCDIR=$src
PC_MODULE=$module
export PC_TOP_BUILDDIR PC_TOP_SRCDIR PC_MODULE
keep=
[ -n "${PC_DEMO_KEEP:-}" ] && keep=--keep
exec python3 "$src/demo/demo.py" $keep
