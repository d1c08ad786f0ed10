#!/bin/sh
# Sums every "# Totals: pass:N fail:N" line of the suite logs in RESULTS and
# prints the one summary line "N passed, N failed". Exits 1 if any failed or
# nothing ran.
results=${1:?usage: $0 RESULTS}
pass=0; fail=0
for f in "$results"/*.log; do
	[ -f "$f" ] || continue
	printf '%-28s %s\n' "$(basename "$f" .log)" \
		"$(grep -E '^# Totals: pass:' "$f" | awk '{p+=substr($3,6); x+=substr($4,6)} END {printf "pass:%d fail:%d", p, x}')"
done
eval "$(cat "$results"/*.log 2>/dev/null | grep -E '^# Totals: pass:' |
	awk '{p+=substr($3,6); x+=substr($4,6)} END {printf "pass=%d fail=%d", p, x}')"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ] && [ "$pass" -gt 0 ]
