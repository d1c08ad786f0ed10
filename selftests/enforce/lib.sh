#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Shared helpers of the guest suites enforce/, robust/ and bench/: TAP output,
# step printing, a three-node WireGuard mesh in network namespaces, and
# meshnetctl wrappers. Source it from bash; it sets a cleanup trap.
#
#   +----------------+   +----------------+   +----------------+
#   | $ns_a          |   | $ns_b          |   | $ns_c          |
#   | wg0 10.10.0.1  |   | wg0 10.10.0.2  |   | wg0 10.10.0.3  |
#   |     fd10::1    |   |     fd10::2    |   |     fd10::3    |
#   | eth0 192.0.2.1 |   | eth0 192.0.2.2 |   | eth0 192.0.2.3 |
#   +-------+--------+   +-------+--------+   +-------+--------+
#           |   veth             |   veth             |   veth
#   +-------+--------------------+--------------------+--------+
#   | $ns_sw                 br0 (bridge)                      |
#   +----------------------------------------------------------+
#
# WireGuard listens on 51820 in every node; every node has the two others as
# peers with allowed-ips 10.10.0.N/32,fd10::N/128. meshnet.ko is attached to
# each wg0 and configured with meshnetctl.

set -u
export LC_ALL=C
umask 077

prefix=mn$$
ns_sw=$prefix-sw
ns_a=$prefix-a
ns_b=$prefix-b
ns_c=$prefix-c
NODES="a b c"
tmpdir=$(mktemp -d /tmp/meshnet-test.XXXXXX)
MESHNET_KO=${MESHNET_KO:-/lib/meshnet/meshnet.ko}

# ------------------------------------------------------------------ TAP ---
tap_n=0
tap_pass=0
tap_fail=0
tap_skip=0

# The plan is printed at the end (TAP 13 allows a trailing plan), so a
# suite's case count cannot drift from its plan.
tap_begin() {
	echo "TAP version 13"
}

ok() {
	tap_n=$((tap_n + 1)); tap_pass=$((tap_pass + 1))
	echo "ok $tap_n $*"
}

not_ok() {
	tap_n=$((tap_n + 1)); tap_fail=$((tap_fail + 1))
	echo "not ok $tap_n $*"
}

skip() {
	tap_n=$((tap_n + 1)); tap_skip=$((tap_skip + 1))
	echo "ok $tap_n # SKIP $*"
}

# check "description" cmd args...: one TAP line for the command's status.
check() {
	local desc=$1; shift
	if "$@"; then ok "$desc"; else not_ok "$desc"; fi
}

# expect 'SHELL CONDITION': for conditions with && or ||, as in
# check "desc" expect '[ "$a" = 1 ] && [ "$b" = 2 ]'
expect() { eval "$1"; }

tap_end() {
	echo "1..$tap_n"
	echo "# Totals: pass:$tap_pass fail:$tap_fail xfail:0 xpass:0 skip:$tap_skip error:0"
	[ "$tap_fail" -eq 0 ]
}

# ------------------------------------------------------------- helpers ---
# pp: print a step, then run it (its output indented as TAP comments).
pp() {
	echo "# [+] $*"
	"$@" 2>&1 | sed 's/^/#     /'
	return "${PIPESTATUS[0]}"
}
# quiet: run without printing the step; output as comments.
quiet() {
	"$@" 2>&1 | sed 's/^/#     /'
	return "${PIPESTATUS[0]}"
}
comment() { echo "# $*"; }

# n NODE CMD: run CMD in NODE's netns. Not for "&": $! would be the
# subshell of the function, not CMD; use ip netns exec "$ns_X" CMD & there.
n() { local node=$1; shift; ip netns exec "$prefix-$node" "$@"; }
na() { pp ip netns exec "$ns_a" "$@"; }
nb() { pp ip netns exec "$ns_b" "$@"; }
nc_() { pp ip netns exec "$ns_c" "$@"; }
mctl() { local node=$1; shift; pp ip netns exec "$prefix-$node" meshnetctl "$@"; }
# mctl_out NODE ARGS: meshnetctl output on stdout (for parsing), errors as comments
mctl_out() { local node=$1; shift; ip netns exec "$prefix-$node" meshnetctl "$@"; }

node_num() { case $1 in a) echo 1 ;; b) echo 2 ;; c) echo 3 ;; esac; }
v4() { echo "10.10.0.$(node_num "$1")"; }
v6() { echo "fd10::$(node_num "$1")"; }
addr() { if [ "$1" = 4 ]; then v4 "$2"; else v6 "$2"; fi; }
pubkey() { cat "$tmpdir/$1.pub"; }

# ping_ok FAMILY FROM TO: one ping (2 s) over the overlay.
ping_ok() {
	local fam=$1 from=$2 to=$3
	if [ "$fam" = 4 ]; then
		n "$from" ping -c 1 -W 2 "$(v4 "$to")" >/dev/null 2>&1
	else
		n "$from" ping6 -c 1 -W 2 "$(v6 "$to")" >/dev/null 2>&1
	fi
}
# ping_retry FAMILY FROM TO: up to 5 tries (first handshake under TCG is slow).
ping_retry() {
	local i
	for i in 1 2 3 4 5; do
		ping_ok "$@" && return 0
	done
	return 1
}

# Seconds since the last handshake of NODE with PEER's key (0 = never).
latest_handshake() {
	n "$1" wg show wg0 latest-handshakes | awk -v k="$(pubkey "$2")" '$1 == k {print $2}'
}

wg_rx_packets() { n "$1" cat /sys/class/net/wg0/statistics/rx_packets; }

cleanup() {
	local ns
	set +e
	for ns in $ns_a $ns_b $ns_c $ns_sw; do
		ip netns pids "$ns" 2>/dev/null | xargs -r kill -KILL 2>/dev/null
		ip netns del "$ns" 2>/dev/null
	done
	rm -rf "$tmpdir"
}
trap cleanup EXIT

mesh_setup() {
	local x y
	pp ip netns add "$ns_sw" || return 1
	pp ip -n "$ns_sw" link add br0 type bridge || return 1
	ip -n "$ns_sw" link set br0 up
	ip -n "$ns_sw" link set lo up
	for x in $NODES; do
		pp ip netns add "$prefix-$x" || return 1
		n "$x" ip link set lo up
		# Created from inside the node's netns: 6.1 looks the new name up in
		# the caller's netns, and the guest's root netns has an eth0 when
		# the suites run beside PostgreSQL (run-vm.sh --pg-url: EEXIST).
		pp ip -n "$prefix-$x" link add eth0 type veth peer name "port-$x" netns "$ns_sw" ||
			return 1
		ip -n "$ns_sw" link set "port-$x" master br0 up
		n "$x" ip addr add "192.0.2.$(node_num "$x")/24" dev eth0
		n "$x" ip link set eth0 up
		wg genkey >"$tmpdir/$x.key"
		wg pubkey <"$tmpdir/$x.key" >"$tmpdir/$x.pub"
		pp ip -n "$prefix-$x" link add wg0 type wireguard || return 1
		n "$x" ip addr add "$(v4 "$x")/24" dev wg0
		n "$x" ip addr add "$(v6 "$x")/64" dev wg0 nodad
	done
	for x in $NODES; do
		pp n "$x" wg set wg0 private-key "$tmpdir/$x.key" listen-port 51820 || return 1
		for y in $NODES; do
			[ "$x" = "$y" ] && continue
			n "$x" wg set wg0 peer "$(pubkey "$y")" \
				allowed-ips "$(v4 "$y")/32,$(v6 "$y")/128" \
				endpoint "192.0.2.$(node_num "$y"):51820" || return 1
		done
		n "$x" ip link set wg0 up
	done
}

# ------------------------------------------------------------- meshnet ---
mn_load() {
	grep -q '^meshnet ' /proc/modules && return 0
	pp insmod "$MESHNET_KO"
}

mn_unload() {
	grep -q '^meshnet ' /proc/modules || return 0
	pp rmmod meshnet
}

# write_epoch FILE SELF_NODE EPOCH_ID EXPIRY_UNIX SELF_VERDICT [PEER=VERDICT...]
# Writes a config reply (docs/PROTOCOL.md) for SELF_NODE, every other node a
# peer with the given verdict (default ALLOWED).
write_epoch() {
	local file=$1 self=$2 id=$3 expiry=$4 verdict=$5 y v sep=
	shift 5
	{
		printf '{"node_id": "node-%s", "epoch": {"id": %s, "expiry_unix": %s},\n' \
			"$self" "$id" "$expiry"
		printf ' "membership": "%s", "reason": "test epoch %s", "peers": [\n' "$verdict" "$id"
		for y in $NODES; do
			[ "$y" = "$self" ] && continue
			v=ALLOWED
			for kv in "$@"; do
				[ "${kv%%=*}" = "$y" ] && v=${kv#*=}
			done
			printf '%s  {"node_id": "node-%s", "public_key": "%s", "endpoint": "192.0.2.%s:51820",' \
				"$sep" "$y" "$(pubkey "$y")" "$(node_num "$y")"
			printf ' "allowed_ips": ["%s/32", "%s/128"], "membership": "%s"}\n' \
				"$(v4 "$y")" "$(v6 "$y")" "$v"
			sep=,
		done
		printf ' ]}\n'
	} >"$file"
}

# apply_epoch NODE [TTL_SECONDS] [SELF_VERDICT] [PEER=VERDICT...]: the
# node's next epoch (ids count up per node), expiring TTL seconds from now.
declare -A EPOCH=([a]=0 [b]=0 [c]=0)
apply_epoch() {
	local node=$1 ttl=${2:-3600} self=${3:-ALLOWED} file
	shift $(($# < 3 ? $# : 3))
	EPOCH[$node]=$((EPOCH[$node] + 1))
	file=$tmpdir/epoch-$node.json
	write_epoch "$file" "$node" "${EPOCH[$node]}" "$(($(date +%s) + ttl))" "$self" "$@"
	mctl "$node" epoch apply "$file"
}

# apply_epoch_quiet: the same without printing the step (for loops).
apply_epoch_quiet() {
	local node=$1 ttl=${2:-3600} self=${3:-ALLOWED} file
	shift $(($# < 3 ? $# : 3))
	EPOCH[$node]=$((EPOCH[$node] + 1))
	file=$tmpdir/epoch-$node.json
	write_epoch "$file" "$node" "${EPOCH[$node]}" "$(($(date +%s) + ttl))" "$self" "$@"
	n "$node" meshnetctl epoch apply "$file" >/dev/null
}

# Attaches meshnet to wg0 in every node and applies epoch 1 (all ALLOWED).
mesh_meshnet_up() {
	local x
	for x in $NODES; do
		mctl "$x" attach wg0 || return 1
		apply_epoch "$x" || return 1
	done
}

# peer_counter NODE PEER_NODE COUNTER: a counter of PEER_NODE's entry in
# NODE's table, from `meshnetctl peers --json` (COUNTER: rx_packets,
# tx_drop_packets, ...). Prints nothing if absent.
peer_counter() {
	mctl_out "$1" peers --json 2>/dev/null | tr -d ' \n' |
		sed 's/},{/}\n{/g' | grep "\"node-$2\"" |
		sed -n "s/.*\"$3\":\([0-9]*\).*/\1/p" | head -n 1
}

# state_field NODE FIELD: a top-level value of `meshnetctl show --json`.
state_field() {
	mctl_out "$1" show --json 2>/dev/null | tr -d ' \n' |
		sed -n "s/.*\"$2\":\"\{0,1\}\([^,\"}]*\).*/\1/p" | head -n 1
}

# gen_big_epoch FILE SELF_NODE EPOCH_ID EXPIRY_UNIX NFAKE [DENY_EVERY] [PEER=VERDICT...]
# A config reply with the real peers plus NFAKE synthetic peers (keys
# "AAA<39 digits>A=", prefixes 10.20.x.y/32 and fd20::x:y/128); every
# DENY_EVERY-th synthetic peer is DENIED (0: none).
gen_big_epoch() {
	local file=$1 self=$2 id=$3 expiry=$4 nfake=$5 every=${6:-0}
	shift $(($# < 6 ? $# : 6))
	write_epoch "$file.real" "$self" "$id" "$expiry" ALLOWED "$@"
	# Drop the closing " ]}" of the real epoch and append the synthetic peers.
	sed '$d' "$file.real" >"$file"
	awk -v n="$nfake" -v every="$every" 'BEGIN {
		for (i = 1; i <= n; i++) {
			hi = int(i / 256); lo = i % 256
			printf ",  {\"node_id\": \"fake-%d\", \"public_key\": \"AAA%039dA=\",", i, i
			printf " \"allowed_ips\": [\"10.20.%d.%d/32\", \"fd20::%x:%x/128\"],", hi, lo, hi, lo
			printf " \"membership\": \"%s\"}\n", (every > 0 && i % every == 0) ? "DENIED" : "ALLOWED"
		}
		print " ]}"
	}' >>"$file"
	rm -f "$file.real"
}

# fake_v4_list N: the synthetic peers' IPv4 addresses, comma separated.
fake_v4_list() {
	awk -v n="$1" 'BEGIN { for (i = 1; i <= n; i++)
		printf "%s10.20.%d.%d", (i > 1 ? ", " : ""), int(i / 256), i % 256 }'
}

# now_ms: monotonic-enough wall clock in milliseconds (bash 5).
now_ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
