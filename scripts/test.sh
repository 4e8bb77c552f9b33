#!/bin/sh
# test.sh -- the README's test command: install dependencies, build, and run
# the whole suite (cmocka unit tests, integration tests against a real c-icap,
# Squid and origin). Ends with one "N passed, N failed" line; exits non-zero
# when anything failed.
set -eu
src=$(cd "$(dirname "$0")/.." && pwd)
build=${PC_BUILD:-$src/build}
if [ "$(id -u)" -eq 0 ] && [ -z "${PC_SKIP_DEPS:-}" ]; then
    "$src/scripts/install-deps.sh"
fi
"$src/scripts/build.sh" "$build"
cd "$build"
status=0
make -j"$(nproc)" check || status=$?
# Per-test lines for the log reader; automake's own summary stays above.
if [ -f test-suite.log ]; then
    awk '/^(FAIL|ERROR|XPASS)/' test-suite.log | head -50
fi
pass=0; fail=0; skip=0
for trs in $(find . -name '*.trs'); do
    r=$(sed -n 's/^:test-result: //p' "$trs" | head -1)
    case "$r" in
        PASS|XFAIL) pass=$((pass + 1)) ;;
        SKIP) skip=$((skip + 1)) ;;
        *) fail=$((fail + 1)) ;;
    esac
done
if [ $status -ne 0 ] && [ $fail -eq 0 ]; then fail=1; fi
echo "tests: $pass passed, $fail failed, $skip skipped"
exit $status
