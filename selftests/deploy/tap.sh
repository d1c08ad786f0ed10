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

# free_port: a loopback TCP port nothing listens on right now. Another
# process can still take it before the caller binds it: callers start their
# daemon with retry_port_clash, which tries again on a new port.
free_port() {
	local p
	for p in $(shuf -i 20000-60000 -n 20); do
		! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && { echo "$p"; return; }
	done
	return 1
}

# retry_port_clash LOG CMD...: runs CMD (which takes a port with free_port,
# starts its daemon logging to LOG and fails if it did not come up) up to
# five times while LOG says the address was in use (the free-port race).
retry_port_clash() {
	local log=$1 try rc
	shift
	for try in 1 2 3 4 5; do
		: >"$log"
		"$@"; rc=$?
		[ $rc = 0 ] && return 0
		grep -qi 'address in use\|address already in use' "$log" || return $rc
		echo "# port clash (try $try): $(grep -i 'address' "$log" | head -n 1); again on a new port"
	done
	return $rc
}

tap_done() {
	echo "1..$TAP_N"
	echo "# Totals: pass:$TAP_PASS fail:$TAP_FAIL xfail:0 xpass:0 skip:$TAP_SKIP error:0"
	[ "$TAP_FAIL" -eq 0 ]
}
