# shellcheck shell=bash
# Minimal kselftest-style TAP for the deploy suites: source it, call
# `check NAME CMD...`, `skip NAME REASON`, and `tap_done` at the end.
# Output ends with the kselftest "# Totals:" line scripts/summarize.sh reads.
TAP_N=0 TAP_PASS=0 TAP_FAIL=0 TAP_SKIP=0
echo "TAP version 13"

# Each step prints what it does, like WireGuard's netns.sh.
say() { echo "# $*"; }

pass() { TAP_N=$((TAP_N + 1)); TAP_PASS=$((TAP_PASS + 1)); echo "ok $TAP_N $1"; }
fail() {
	TAP_N=$((TAP_N + 1)); TAP_FAIL=$((TAP_FAIL + 1)); echo "not ok $TAP_N $1"
	shift; [ $# -eq 0 ] || printf '#   %s\n' "$@"
}
skip() { TAP_N=$((TAP_N + 1)); TAP_SKIP=$((TAP_SKIP + 1)); echo "ok $TAP_N $1 # SKIP $2"; }

# check NAME CMD...: passes when CMD succeeds; shows CMD's output when it fails.
check() {
	local name=$1 out; shift
	if out=$("$@" 2>&1); then
		pass "$name"
	else
		fail "$name" "command: $*"
		[ -z "$out" ] || printf '%s\n' "$out" | head -n 20 | sed 's/^/#   | /'
	fi
}

# check_fails NAME CMD...: passes when CMD fails (an expected refusal).
check_fails() {
	local name=$1; shift
	if "$@" >/dev/null 2>&1; then fail "$name" "expected failure, but succeeded: $*"; else pass "$name"; fi
}

tap_done() {
	echo "1..$TAP_N"
	echo "# Totals: pass:$TAP_PASS fail:$TAP_FAIL xfail:0 xpass:0 skip:$TAP_SKIP error:0"
	[ "$TAP_FAIL" -eq 0 ]
}
