#!/bin/sh
# demo.sh -- the README's demo command: install dependencies, build, then run
# the loopback demo (Squid + c-icap with promptcause + a sample site that
# reproduces each prompt cause) and print what promptcause found.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${PC_BUILD:-$src/build}
if [ "$(id -u)" -eq 0 ] && [ -z "${PC_SKIP_DEPS:-}" ]; then
    "$src/scripts/install-deps.sh"
fi
"$src/scripts/build.sh" "$build"
exec "$src/demo/run-demo.sh" "$build"
