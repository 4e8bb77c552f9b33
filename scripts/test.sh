#!/bin/sh
# test.sh -- the README's test command: install dependencies, build, and run
# the whole suite:
#   1. make check: cmocka unit tests, integration tests against a real c-icap,
#      Squid, origin, Alertmanager and Chromium;
#   2. a short libFuzzer run of every fuzz target (make fuzz, FUZZ_SECONDS each);
#   3. the unit and integration tests again on an ASan+UBSan build
#      (scripts/sanitizer-check.sh).
# PC_QUICK=1 runs stage 1 only. Ends with one "N passed, N failed" line
# counting test programs and fuzz targets; exits non-zero when anything failed.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${PC_BUILD:-$src/build}
if [ "$(id -u)" -eq 0 ] && [ -z "${PC_SKIP_DEPS:-}" ]; then
    "$src/scripts/install-deps.sh"
fi
"$src/scripts/build.sh" "$build"
cd "$build"

pass=0; fail=0; skip=0
# Count automake's per-test results under DIR (one .trs file per test).
count_trs() {
    for trs in $(find "$1" -name '*.trs'); do
        r=$(sed -n 's/^:test-result: //p' "$trs" | head -1)
        case "$r" in
            PASS|XFAIL) pass=$((pass + 1)) ;;
            SKIP) skip=$((skip + 1)) ;;
            *) fail=$((fail + 1)) ;;
        esac
    done
}

status=0
echo "== stage 1: make check"
find . -name '*.trs' -delete 2>/dev/null || true
make -j"$(nproc)" check || status=1
[ -f test-suite.log ] && awk '/^(FAIL|ERROR|XPASS)/' test-suite.log | head -50
count_trs .
[ $status -ne 0 ] && [ $fail -eq 0 ] && fail=$((fail + 1))

if [ -z "${PC_QUICK:-}" ]; then
    echo "== stage 2: fuzz every target for ${FUZZ_SECONDS:-10} s"
    # Ask make for the value: mk/*.am files add targets with +=, which
    # automake writes as continuation lines.
    targets=$(printf 'pc-print-fuzz:\n\t@echo $(FUZZ_TARGETS)\n' | make -s --no-print-directory -f Makefile -f - pc-print-fuzz)
    for t in $targets; do
        if make fuzz FUZZ_TARGETS="$t" FUZZ_SECONDS="${FUZZ_SECONDS:-10}" >"fuzz-$t.log" 2>&1; then
            pass=$((pass + 1)); echo "PASS: fuzz $t"
        else
            fail=$((fail + 1)); status=1; echo "FAIL: fuzz $t"; tail -30 "fuzz-$t.log"
        fi
    done

    echo "== stage 3: unit and integration tests under ASan+UBSan"
    san=${PC_SAN_BUILD:-$("$src/scripts/sanitizer-check.sh" --default-dir)}
    find "$san" -name '*.trs' -delete 2>/dev/null || true
    # Every test runs here too. Tests that time a window on purpose (watch's
    # quiet period) scale it when they see a sanitizer build; SAN_EXCLUDE
    # (see sanitizer-check.sh) leaves tests out by hand.
    san_status=0
    "$src/scripts/sanitizer-check.sh" "$san" || san_status=1
    before=$fail
    count_trs "$san"
    if [ $san_status -ne 0 ]; then
        status=1
        [ $fail -eq $before ] && fail=$((fail + 1)) # a sanitizer report, not a test failure
    fi
fi

echo "tests: $pass passed, $fail failed, $skip skipped"
exit $status
