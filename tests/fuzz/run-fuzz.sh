#!/bin/sh
# run-fuzz.sh -- build and run the libFuzzer targets (called by `make fuzz`,
# see mk/fuzz.am; usable by hand with the same variables).
#
#   run-fuzz.sh build            compile core/ and every target with clang
#   run-fuzz.sh run [TARGET...]  fuzz each target FUZZ_SECONDS seconds from
#                                its checked-in corpus, one after the other;
#                                exit 1 on the first crash, leak, timeout or
#                                failed check (the input is left in
#                                $FUZZ_OUT/artifacts/)
#
# The core sources are compiled directly with clang and
# -fsanitize=fuzzer-no-link,address,undefined, not taken from the libtool
# library (built by the configured compiler, usually gcc, without coverage).
# Environment: FUZZ_SRCDIR (top source dir), FUZZ_OUT (work dir),
# FUZZ_CLANG, FUZZ_LIB_CFLAGS / FUZZ_LIBS (pcre2, jansson, psl, nettle),
# FUZZ_CICAP_CFLAGS / FUZZ_CICAP_LIBS (settings target), FUZZ_SECONDS,
# FUZZ_TARGETS, FUZZ_ARGS (extra libFuzzer options).
set -eu

: "${FUZZ_SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${FUZZ_OUT:=fuzz}"
: "${FUZZ_CLANG:=clang}"
: "${FUZZ_SECONDS:=60}"
: "${FUZZ_LIB_CFLAGS:=$(pkg-config --cflags libpcre2-8 jansson libpsl nettle)}"
: "${FUZZ_LIBS:=$(pkg-config --libs libpcre2-8 jansson libpsl nettle) -lm}"
: "${FUZZ_CICAP_CFLAGS:=-I/usr/include/c_icap}"
: "${FUZZ_CICAP_LIBS:=-licapapi}"
: "${FUZZ_TARGETS:=challenge ntlm kerberos credentials htmlscan urlres evparse squidlog storm_rules zone settings classify}"
: "${FUZZ_ARGS:=}"

SAN="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
CFLAGS="-g -O1 -std=gnu11 -Wall -Wextra $SAN -I$FUZZ_SRCDIR/core $FUZZ_LIB_CFLAGS"

build() {
    mkdir -p "$FUZZ_OUT/obj"
    objs=
    for src in "$FUZZ_SRCDIR"/core/*.c; do
        o="$FUZZ_OUT/obj/$(basename "$src" .c).o"
        # rebuild when the source or any core header is newer than the object
        if [ ! -f "$o" ] || [ "$src" -nt "$o" ] || \
           [ -n "$(find "$FUZZ_SRCDIR/core" -name '*.h' -newer "$o" 2>/dev/null | head -n 1)" ]; then
            echo "  CC(fuzz) core/$(basename "$src")"
            $FUZZ_CLANG $CFLAGS -fsanitize=fuzzer-no-link -c "$src" -o "$o"
        fi
        objs="$objs $o"
    done
    rm -f "$FUZZ_OUT/libcore-fuzz.a"
    ar rcs "$FUZZ_OUT/libcore-fuzz.a" $objs
    for t in $FUZZ_TARGETS; do
        src="$FUZZ_SRCDIR/tests/fuzz/fuzz_$t.c"
        extra_src= extra_flags= extra_libs=
        if [ "$t" = settings ]; then
            extra_src="$FUZZ_SRCDIR/module/settings.c"
            extra_flags="-I$FUZZ_SRCDIR/module $FUZZ_CICAP_CFLAGS"
            extra_libs="$FUZZ_CICAP_LIBS"
        fi
        echo "  CCLD(fuzz) fuzz_$t"
        $FUZZ_CLANG $CFLAGS -Werror $extra_flags -fsanitize=fuzzer -o "$FUZZ_OUT/fuzz_$t" "$src" $extra_src \
            "$FUZZ_OUT/libcore-fuzz.a" $FUZZ_LIBS $extra_libs
    done
}

# Options per target: longer inputs for the HTML scanner (values up to
# HTMLSCAN_VALUE_MAX are kept, longer ones dropped), quiet stderr for the
# settings handlers (they report every rejected value there; libFuzzer and
# the sanitizers still report through their own copy of stderr).
target_opts() {
    case "$1" in
    htmlscan) echo "-max_len=20000" ;;
    urlres|classify|evparse|squidlog) echo "-max_len=8192" ;;
    settings) echo "-close_fd_mask=2" ;;
    *) echo "" ;;
    esac
}

run() {
    mkdir -p "$FUZZ_OUT/artifacts"
    summary="$FUZZ_OUT/summary.txt"
    : > "$summary"
    printf '%-12s %12s %10s %8s %8s %s\n' target execs exec/s cov ft corpus | tee -a "$summary"
    for t in "$@"; do
        seeds="$FUZZ_SRCDIR/tests/fuzz/corpus/$t"
        work="$FUZZ_OUT/corpus/$t"
        mkdir -p "$work"
        dict=
        [ -f "$FUZZ_SRCDIR/tests/fuzz/$t.dict" ] && dict="-dict=$FUZZ_SRCDIR/tests/fuzz/$t.dict"
        log="$FUZZ_OUT/$t.log"
        set +e
        # shellcheck disable=SC2046,SC2086
        "$FUZZ_OUT/fuzz_$t" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2048 \
            -print_final_stats=1 -artifact_prefix="$FUZZ_OUT/artifacts/$t-" $(target_opts "$t") $dict \
            $FUZZ_ARGS "$work" "$seeds" > "$log" 2>&1
        rc=$?
        set -e
        execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
        rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
        cov=$(grep -o 'cov: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
        ft=$(grep -o 'ft: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
        units=$(grep -o 'corp: [0-9]*' "$log" | tail -n 1 | cut -d' ' -f2)
        printf '%-12s %12s %10s %8s %8s %s\n' "$t" "${execs:-?}" "${rate:-?}" "${cov:-?}" "${ft:-?}" "${units:-?}" \
            | tee -a "$summary"
        if [ "$rc" -ne 0 ]; then
            echo "fuzz_$t FAILED (exit $rc); log: $log" >&2
            grep -E 'ERROR|runtime error|Assertion|SUMMARY|Test unit written|differs|does not parse' "$log" | head -n 20 >&2
            exit 1
        fi
    done
}

cmd=${1:-}
[ $# -gt 0 ] && shift
case "$cmd" in
build) build ;;
run) if [ $# -gt 0 ]; then run "$@"; else run $FUZZ_TARGETS; fi ;;
*) echo "usage: $0 build | run [TARGET...]" >&2; exit 2 ;;
esac
