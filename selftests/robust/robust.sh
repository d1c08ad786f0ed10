#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Robustness of meshnet.ko: load/unload under traffic (also while a netns with
# an attached device is being deleted), and 10,000-peer epochs applied over
# and over. Kernel warnings are caught by the runner's dmesg suite.
#
#   +----------------+   +----------------+   +----------------+
#   | ns a           |   | ns b           |   | ns c           |
#   | wg0 10.10.0.1  |   | wg0 10.10.0.2  |   | wg0 10.10.0.3  |
#   +-------+--------+   +-------+--------+   +-------+--------+
#           +----------- br0 in ns sw (veth) ---------+
#   plus, every other load cycle, a scratch ns "x" with its own wg0, attached
#   and given an epoch, deleted while meshnet.ko is being removed.
#
# Usage: robust.sh [LOAD_CYCLES] [BIG_EPOCHS] [BIG_PEERS]   (default 20 20 10000)

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../enforce/lib.sh"

cycles=${1:-20}
big_epochs=${2:-20}
big_peers=${3:-10000}

# A netns with a wg0 that meshnet is attached to and holds an epoch.
scratch_ns() {
	local ns=$1
	ip netns add "$ns" || return 1
	ip -n "$ns" link add wg0 type wireguard || return 1
	ip -n "$ns" addr add 10.30.0.1/24 dev wg0
	ip -n "$ns" link set wg0 up
	ip netns exec "$ns" meshnetctl attach wg0 >/dev/null || return 1
	ip netns exec "$ns" meshnetctl epoch apply "$tmpdir/epoch-a.json" >/dev/null
}

# One cycle: insmod, attach + epoch on a and b, traffic a -> b, rmmod while
# the traffic (and maybe a netns deletion) is running.
load_cycle() {
	local i=$1 sender pinger delns= rc
	insmod "$MESHNET_KO" || { comment "insmod failed"; return 1; }
	for x in a b; do
		n "$x" meshnetctl attach wg0 >/dev/null || { comment "attach $x failed"; return 1; }
		apply_epoch_quiet "$x" || { comment "epoch on $x failed"; return 1; }
	done
	if [ $((i % 2)) -eq 0 ]; then
		scratch_ns "$prefix-x$i" || { comment "scratch netns failed"; return 1; }
	fi
	ip netns exec "$ns_a" meshnet-udpflood send --to "$(v4 b)" --port 7000 --secs 60 --pps 500 \
		>/dev/null 2>&1 &
	sender=$!
	ip netns exec "$ns_b" ping -i 0.1 -c 1000 "$(v4 a)" >/dev/null 2>&1 &
	pinger=$!
	sleep 0.5
	if [ $((i % 2)) -eq 0 ]; then
		ip netns del "$prefix-x$i" &
		delns=$!
	fi
	rmmod meshnet
	rc=$?
	[ -n "$delns" ] && wait "$delns"
	kill "$sender" "$pinger" 2>/dev/null
	wait "$sender" "$pinger" 2>/dev/null
	[ "$rc" -eq 0 ] || { comment "rmmod failed ($rc)"; return 1; }
	! grep -q '^meshnet ' /proc/modules
}

tap_begin
if ! command -v meshnetctl >/dev/null || ! command -v meshnet-udpflood >/dev/null ||
	! [ -f "$MESHNET_KO" ]; then
	not_ok "meshnetctl, meshnet-udpflood and $MESHNET_KO present"
	tap_end
	exit 1
fi
grep -q '^meshnet ' /proc/modules && rmmod meshnet
if mesh_setup && ping_retry 4 a b && ping_retry 4 b a; then
	ok "setup: three WireGuard nodes, a <-> b pings without meshnet"
else
	not_ok "setup: three WireGuard nodes, a <-> b pings without meshnet"
	tap_end
	exit 1
fi
write_epoch "$tmpdir/epoch-a.json" a 1 $(($(date +%s) + 3600)) ALLOWED

comment "=== $cycles load/unload cycles under traffic"
bad=0
for i in $(seq "$cycles"); do
	t0=$(now_ms)
	if load_cycle "$i"; then
		comment "cycle $i ok in $(($(now_ms) - t0)) ms$([ $((i % 2)) -eq 0 ] && echo ', with a netns deleted during rmmod')"
	else
		bad=$((bad + 1))
		comment "cycle $i FAILED"
	fi
done
check "$cycles insmod/attach/epoch/rmmod cycles under traffic, every other one with a netns deletion racing rmmod ($bad failed)" \
	[ "$bad" -eq 0 ]
ping_retry 4 a b
check "WireGuard still works after the cycles (a -> b)" [ $? -eq 0 ]

comment "=== $big_epochs epochs of $big_peers peers"
mn_load
mctl a attach wg0
mctl b attach wg0
apply_epoch b
# Two tables (every 2nd / every 3rd synthetic peer DENIED), generated once;
# each epoch takes one of them with its own id, so every epoch flips verdicts.
for k in 2 3; do
	gen_big_epoch "$tmpdir/big$k.json" a 0 $(($(date +%s) + 3600)) "$big_peers" "$k"
done
bad=0; total=0; worst=0
for i in $(seq "$big_epochs"); do
	EPOCH[a]=$((EPOCH[a] + 1))
	sed "1s/\"id\": [0-9]*/\"id\": ${EPOCH[a]}/" "$tmpdir/big$((i % 2 + 2)).json" >"$tmpdir/big.json"
	t0=$(now_ms)
	if n a meshnetctl epoch apply "$tmpdir/big.json" >/dev/null; then
		dt=$(($(now_ms) - t0)); total=$((total + dt))
		[ "$dt" -gt "$worst" ] && worst=$dt
		comment "epoch ${EPOCH[a]}: $big_peers peers applied in $dt ms"
	else
		bad=$((bad + 1))
		comment "epoch ${EPOCH[a]} FAILED"
	fi
done
comment "apply time: mean $((total / big_epochs)) ms, worst $worst ms (meshnetctl incl. JSON parse, TCG)"
check "$big_epochs epochs of $big_peers peers applied ($bad failed)" [ "$bad" -eq 0 ]
count=$(state_field a peer_count)
check "table holds $((big_peers + 2)) peers after the last epoch ($count)" \
	[ "$count" = $((big_peers + 2)) ]
denied=$(mctl_out a peers --json | tr -d ' \n' | grep -o '"verdict":"DENIED"' | wc -l)
check "1 in $(((big_epochs % 2) + 2)) synthetic peers DENIED in the last epoch ($denied)" \
	[ "$denied" -eq $((big_peers / ((big_epochs % 2) + 2))) ]
ping_retry 4 a b && ping_retry 4 b a
check "allowed traffic a <-> b flows with the $big_peers-peer table" [ $? -eq 0 ]
ip netns exec "$ns_b" meshnet-udpflood send --to "$(v4 a)" --port 7001 --secs 30 --pps 1000 >/dev/null 2>&1 &
sender=$!
sleep 0.5
pp rmmod meshnet
check "rmmod with a $big_peers-peer table under traffic" [ $? -eq 0 ]
kill "$sender" 2>/dev/null; wait "$sender" 2>/dev/null
tap_end
