#!/bin/sh
# Counts a host suite that left no log (it did not build, or make never ran
# it) as one failure, so a broken build cannot drop a suite from the summary.
# Usage: missing-suites.sh RESULTS SUITE...
results=$1; shift
for s in "$@"; do
	[ -f "$results/$s.log" ] || [ -f "$results/${s#test-}.log" ] && continue
	echo "missing-suites: $s left no log (it did not build or did not run)"
	printf '# Totals: pass:0 fail:1 xfail:0 xpass:0 skip:0 error:0 (suite %s left no log)\n' \
		"$s" >"$results/$s.log"
done
exit 0
