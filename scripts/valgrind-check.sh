#!/bin/sh
# valgrind-check.sh -- c-icap with the promptcause module under valgrind for
# integration runs: zero errors and zero definite leaks, in every c-icap
# process (the main process and each forked child get their own log).
#
#   scripts/valgrind-check.sh [BUILD_DIR]
#
# The default BUILD_DIR is ${TMPDIR:-/tmp}/promptcause-valgrind-N, one per
# source tree (scripts/builddir.sh says why).
#
# Configures an ordinary out-of-tree build (no sanitizers: valgrind and ASan
# do not mix), then runs the integration tests named in VALGRIND_TESTS
# (default: the ICAP service scenarios and the correlation end-to-end test)
# with c-icap started through the PC_CICAP_WRAP hook of
# tests/integration/cicap.py as
#   valgrind --leak-check=full --errors-for-leak-kinds=definite \
#            --suppressions=tests/valgrind.supp --log-file=BUILD_DIR/valgrind-logs/vg.%p ...
# c-icap's own leaks and its own uninitialised reads are suppressed in
# tests/valgrind.supp (each entry says why); nothing of the module is.
# Exit status: 0 when the tests pass and every log says "0 errors", else 1;
# 2 for a build dir it refuses (scripts/builddir.sh).
set -eu

SRC=$(cd "$(dirname "$0")/.." && pwd)
JOBS=${JOBS:-$(nproc 2>/dev/null || echo 2)}
VALGRIND_TESTS=${VALGRIND_TESTS:-tests/integration/test_icap_service.py tests/integration/test_correlation_e2e.py}

command -v valgrind >/dev/null || { echo "valgrind-check: valgrind not installed" >&2; exit 1; }
. "$SRC/scripts/builddir.sh"
pc_build_dir valgrind "${1:-}"
if [ ! -f Makefile ] || grep -q -- '-fsanitize=address' Makefile; then
    "$SRC/configure" -q CFLAGS="${CFLAGS:--g -O1}"
fi
make -j"$JOBS" >/dev/null

LOGS="$BUILD/valgrind-logs"
rm -rf "$LOGS"
mkdir -p "$LOGS"
PC_CICAP_WRAP="valgrind --error-exitcode=99 --leak-check=full --show-leak-kinds=definite --errors-for-leak-kinds=definite --track-origins=yes --num-callers=30 --suppressions=$SRC/tests/valgrind.supp --log-file=$LOGS/vg.%p"
export PC_CICAP_WRAP

status=0
make check TESTS="$VALGRIND_TESTS" || status=1

nlogs=0 nsummary=0
for f in "$LOGS"/vg.*; do
    [ -e "$f" ] || continue
    nlogs=$((nlogs + 1))
    # A process valgrind saw to its end (exit, or death by SIGTERM) has an
    # ERROR SUMMARY, leak check included; one killed with SIGKILL has none.
    if grep -q 'ERROR SUMMARY:' "$f"; then
        nsummary=$((nsummary + 1))
    fi
    if grep -q -E 'ERROR SUMMARY: [1-9]|definitely lost in loss record' "$f"; then
        echo "--- $f" >&2
        sed -n '/HEAP SUMMARY/q;p' "$f" | head -n 80 >&2
        grep -A 12 'definitely lost in loss record' "$f" | head -n 60 >&2
        status=1
    fi
done
if [ "$nsummary" -eq 0 ]; then
    echo "valgrind-check: no c-icap process ran to its end under valgrind ($nlogs logs)" >&2
    status=1
fi
if [ "$status" -ne 0 ]; then
    echo "valgrind-check: FAILED ($nsummary of $nlogs c-icap processes checked to the end; logs in $LOGS)" >&2
    exit 1
fi
echo "valgrind-check: $nlogs c-icap processes under valgrind ($nsummary checked to their end, leak check included): 0 errors, 0 definite leaks"
