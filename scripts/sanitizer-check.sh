#!/bin/sh
# sanitizer-check.sh -- the whole test suite (unit and integration) on an
# AddressSanitizer + UndefinedBehaviorSanitizer build.
#
#   scripts/sanitizer-check.sh [BUILD_DIR]
#   scripts/sanitizer-check.sh --default-dir   (prints the default BUILD_DIR)
#
# The default BUILD_DIR is ${TMPDIR:-/tmp}/promptcause-sanitizers-N, one per
# source tree (scripts/builddir.sh says why).
#
# Configures an out-of-tree `--enable-sanitizers` build with gcc (CC may
# override), builds it and runs `make check` there. The unit tests and the CLI
# run with ASan's leak checker on. The module is a shared object loaded into
# Debian's unsanitized c-icap, which needs the ASan runtime first in its
# library list: the integration tests start c-icap through the PC_CICAP_WRAP
# hook of tests/integration/cicap.py as
#   env LD_PRELOAD=$(gcc -print-file-name=libasan.so) ASAN_OPTIONS=detect_leaks=0:log_path=...
# Leak checking is off for c-icap (its own allocations at exit are not ours;
# scripts/valgrind-check.sh checks the module for definite leaks), but every
# ASan or UBSan report from a c-icap child lands in BUILD_DIR/sanitizer-logs/
# and fails this script, even when the test itself passed (c-icap restarts a
# dead child, so a crash in the module can hide behind a retry).
# SAN_TESTS="tests/unit/test_zone ..." runs only those tests; SAN_EXCLUDE
# runs all but the ones it names (by hand only: scripts/test.sh runs them all).
# Integration tests that time a window on purpose widen it when ASAN_OPTIONS
# or PC_CICAP_WRAP shows this build (PC_TIME_FACTOR overrides the factor).
# Exit status: 0 all passed and no reports, 1 otherwise, 2 when a BUILD_DIR
# named on the command line is inside the source tree or was configured from
# another one (the default one is then rebuilt from scratch instead).
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
. "$SRC/scripts/builddir.sh"
if [ "${1:-}" = "--default-dir" ]; then
    pc_default_build_dir sanitizers
    exit 0
fi
CC=${CC:-gcc}
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
pc_build_dir sanitizers "${1:-}"
if [ ! -f Makefile ] || ! grep -q -- '-fsanitize=address' Makefile; then
    "$SRC/configure" -q --enable-sanitizers CC="$CC"
fi
make -j"$JOBS" >/dev/null

LOGS="$BUILD/sanitizer-logs"
rm -rf "$LOGS"
mkdir -p "$LOGS"
ASAN_LIB=$("$CC" -print-file-name=libasan.so)
if [ ! -e "$ASAN_LIB" ]; then
    echo "sanitizer-check: no libasan.so for $CC ($ASAN_LIB)" >&2
    exit 1
fi

# The programs built here (unit tests, cli/promptcause): report and stop at
# the first error, leaks included.
ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1"
UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
export ASAN_OPTIONS UBSAN_OPTIONS
# c-icap with the sanitized module.
PC_CICAP_WRAP="env LD_PRELOAD=$ASAN_LIB ASAN_OPTIONS=detect_leaks=0:halt_on_error=1:log_path=$LOGS/c-icap-asan UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:log_path=$LOGS/c-icap-ubsan"
export PC_CICAP_WRAP

# SAN_EXCLUDE="tests/... ..." runs every test but those.
if [ -z "${SAN_TESTS:-}" ] && [ -n "${SAN_EXCLUDE:-}" ]; then
    all=$(printf 'pc-print-tests:\n\t@echo $(TESTS)\n' | make -s --no-print-directory -f Makefile -f - pc-print-tests)
    SAN_TESTS=$(for t in $all; do
        case " $SAN_EXCLUDE " in *" $t "*) ;; *) printf '%s ' "$t" ;; esac
    done)
    echo "sanitizer-check: excluded: $SAN_EXCLUDE"
fi

status=0
if [ -n "${SAN_TESTS:-}" ]; then
    make -j"$JOBS" check TESTS="$SAN_TESTS" || status=1
else
    make -j"$JOBS" check || status=1
fi
if [ -n "$(ls -A "$LOGS")" ]; then
    echo "sanitizer-check: sanitizer reports from c-icap children:" >&2
    for f in "$LOGS"/*; do
        echo "--- $f" >&2
        head -n 40 "$f" >&2
    done
    status=1
fi
if [ "$status" -ne 0 ]; then
    echo "sanitizer-check: FAILED (see $BUILD/test-suite.log and $LOGS)" >&2
    exit 1
fi
echo "sanitizer-check: unit and integration tests passed under ASan+UBSan, no reports"
