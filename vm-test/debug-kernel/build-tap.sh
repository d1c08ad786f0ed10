#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# The debug builds as a result suite (vm-debug-build), so a broken build is a
# counted failure in `make check`, not a silently missing run: the debug
# kernel (fragments checked), meshnet.ko against it, and the planted-bug
# module. Prints kselftest TAP with a Totals line; each step's log is in
# build/debug-build/<step>.log. Called by debug.mk (MAKE, TOP in the environment).
set -u
TOP=${TOP:?}
MAKE=${MAKE:-make}
logs=$TOP/build/debug-build
mkdir -p "$logs"
pass=0 fail=0 n=0
echo "TAP version 13"
echo "1..3"
step() { # step NAME DESCRIPTION MAKE-ARGS...
	local name=$1 what=$2 start rc
	shift 2
	n=$((n + 1))
	start=$(date +%s)
	"$MAKE" -C "$TOP" --no-print-directory "$@" >"$logs/$name.log" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then
		pass=$((pass + 1))
		echo "ok $n $what ($(($(date +%s) - start))s)"
	else
		fail=$((fail + 1))
		tail -n 30 "$logs/$name.log" | sed 's/^/#   /'
		echo "not ok $n $what (rc=$rc, log: $logs/$name.log)"
	fi
	return $rc
}
if step kernel "debug kernel built, every fragment line in .config" debug-kernel; then
	step kmod "meshnet.ko built against the debug kernel (W=1)" kmod-debug DEBUG_KERNEL_DONE=1
	step detector "planted-bug module built against the debug kernel (W=1)" detector-debug DEBUG_KERNEL_DONE=1
else
	n=3 fail=$((fail + 2))
	echo "not ok 2 meshnet.ko against the debug kernel # not built: no kernel"
	echo "not ok 3 planted-bug module against the debug kernel # not built: no kernel"
fi
grep -h 'debug-kernel: done' "$logs/kernel.log" 2>/dev/null | sed 's/^/# /'
echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:0 error:0"
[ $fail -eq 0 ]
