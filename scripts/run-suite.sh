#!/bin/sh
# Runs one test suite, keeps its output in RESULTS/NAME.log and guarantees the
# log has a kselftest "# Totals:" line: a suite that crashes or exits non-zero
# without reporting a failure counts as one failure.
# Usage: run-suite.sh RESULTS NAME CMD [ARGS...]
results=$1; name=$2; shift 2
mkdir -p "$results"
log="$results/$name.log"
echo "== suite $name: $*"
"$@" >"$log" 2>&1
rc=$?
cat "$log"
if ! grep -q '^# Totals: pass:' "$log"; then
	echo "# Totals: pass:0 fail:1 xfail:0 xpass:0 skip:0 error:0 (suite $name gave no totals, rc=$rc)" | tee -a "$log"
elif [ "$rc" -ne 0 ] && ! grep -Eq '^# Totals: pass:[0-9]+ fail:[1-9]' "$log"; then
	echo "# Totals: pass:0 fail:1 xfail:0 xpass:0 skip:0 error:0 (suite $name exited rc=$rc)" | tee -a "$log"
fi
exit 0
