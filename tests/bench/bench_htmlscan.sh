#!/bin/sh
# bench_htmlscan.sh -- run the scanner-vs-libgumbo benchmark on the HTML that
# Debian documentation packages install (python3.11-doc, debian-reference-en),
# or on the directories given after the binary. Prints MB/s, speed-up and
# memory; docs/SCANNER.md records a run.
set -eu
bin=${1:?usage: bench_htmlscan.sh BENCH_BINARY [DIR...]}
shift
if [ $# -eq 0 ]; then
    set --
    for d in /usr/share/doc /usr/share/debian-reference; do
        [ -d "$d" ] && set -- "$@" "$d"
    done
fi
exec "$bin" --seconds "${BENCH_SECONDS:-3}" "$@"
