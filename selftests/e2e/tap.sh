#!/bin/sh
# SPDX-License-Identifier: MIT
#
# TAP helpers of the guest e2e suites (sourced after mesh.sh): one "ok N" or
# "not ok N" line per check, the kselftest Totals line at the end.
#   check "description" CMD...   one TAP line: ok if CMD succeeds
#   finish                       the plan and Totals; exit 0 only if none failed
#   dump_logs                    the last DUMP_LINES (25) lines of each log in
#                                DUMP_LOGS (ctl a b c), as TAP comments
#   now_ms                       the guest's uptime clock in ms

N=0 PASS=0 FAIL=0 SKIPPED=0
ok() { N=$((N + 1)); PASS=$((PASS + 1)); echo "ok $N $*"; }
nok() { N=$((N + 1)); FAIL=$((FAIL + 1)); echo "not ok $N $*"; }
check() { _d=$1; shift; if "$@"; then ok "$_d"; else nok "$_d"; fi; }
finish() {
	echo "1..$N"
	echo "# Totals: pass:$PASS fail:$FAIL xfail:0 xpass:0 skip:$SKIPPED error:0"
	[ "$FAIL" -eq 0 ] || exit 1
	exit 0
}
dump_logs() {
	for f in ${DUMP_LOGS:-ctl a b c}; do
		[ -f "$T/$f.log" ] || continue
		echo "# ---- last lines of $f.log"
		tail -n "${DUMP_LINES:-25}" "$T/$f.log" | sed 's/^/#   /'
	done
}
now_ms() { awk '{ printf "%d\n", $1 * 1000 }' /proc/uptime; }
