#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Enforcement of membership verdicts by meshnet.ko on real WireGuard devices,
# IPv4 and IPv6 over the overlay, three nodes in three network namespaces:
#
#   +----------------+   +----------------+   +----------------+
#   | ns a           |   | ns b           |   | ns c           |
#   | wg0 10.10.0.1  |   | wg0 10.10.0.2  |   | wg0 10.10.0.3  |
#   |     fd10::1    |   |     fd10::2    |   |     fd10::3    |
#   | eth0 192.0.2.1 |   | eth0 192.0.2.2 |   | eth0 192.0.2.3 |
#   +-------+--------+   +-------+--------+   +-------+--------+
#           +----------- br0 in ns sw (veth) ---------+
#
# meshnet.ko is attached to every wg0 and configured with meshnetctl; the
# cases change node a's table (or policy) and check pings, WireGuard's
# handshake state and the module's counters.
#
# Usage: enforce.sh [CASE...]   (default: all; see the list at the bottom)

here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

# ---------------------------------------------------------------- cases ---

# All six directed pairs ping over the overlay.
case_allowed() {
	local fam=$1 x y bad=
	for x in $NODES; do
		for y in $NODES; do
			[ "$x" = "$y" ] && continue
			ping_retry "$fam" "$x" "$y" || bad="$bad $x->$y"
		done
	done
	[ -z "$bad" ] || comment "no reply:$bad"
	check "IPv$fam: allowed peers ping each other" [ -z "$bad" ]
}

# Denying c on a drops the very next packet both ways, counts it, keeps the
# WireGuard session; b <-> c is not affected; ALLOWED again reopens.
case_deny() {
	local fam=$1 hs_before hs_after tx0 rx0 tx1 rx1 ok_b=1
	ping_retry "$fam" a c || comment "a -> c did not work before the test"
	hs_before=$(latest_handshake a c)
	mctl a set-peer "$(pubkey c)" verdict denied name node-c \
		allowed-ips "$(v4 c)/32,$(v6 c)/128" reason "enforce test"
	tx0=$(peer_counter a c tx_drop_packets)
	rx0=$(peer_counter a c rx_drop_packets)
	! ping_ok "$fam" a c
	check "IPv$fam: denied peer: a -> c dropped" [ $? -eq 0 ]
	tx1=$(peer_counter a c tx_drop_packets)
	check "IPv$fam: the very next packet to c is dropped and counted (tx_drop $tx0 -> $tx1)" \
		expect '[ -n "$tx0" ] && [ "${tx1:-0}" -eq $((tx0 + 1)) ]'
	! ping_ok "$fam" c a
	check "IPv$fam: denied peer: c -> a dropped" [ $? -eq 0 ]
	rx1=$(peer_counter a c rx_drop_packets)
	check "IPv$fam: c's next packet is dropped inbound and counted (rx_drop $rx0 -> $rx1)" \
		expect '[ -n "$rx0" ] && [ "${rx1:-0}" -eq $((rx0 + 1)) ]'
	hs_after=$(latest_handshake a c)
	comment "a's latest handshake with c: $hs_before -> $hs_after"
	check "IPv$fam: WireGuard session a-c still established (handshake unchanged)" \
		expect '[ "${hs_before:-0}" -ne 0 ] && [ "$hs_before" = "$hs_after" ]'
	ping_retry "$fam" b c || ok_b=0
	check "IPv$fam: b <-> c unaffected by a's table" [ "$ok_b" -eq 1 ]
	mctl a set-peer "$(pubkey c)" verdict allowed name node-c \
		allowed-ips "$(v4 c)/32,$(v6 c)/128"
	ping_retry "$fam" a c && ping_retry "$fam" c a
	check "IPv$fam: ALLOWED again: a <-> c flows" [ $? -eq 0 ]
}

# A peer not in the table: dropped by default, passes with "unknown allow".
case_unknown() {
	local fam=$1 r1 r2 r3
	mctl a del-peer "$(pubkey c)"
	! ping_ok "$fam" a c; r1=$?
	mctl a policy unknown allow
	ping_retry "$fam" a c && ping_retry "$fam" c a; r2=$?
	mctl a policy unknown drop
	! ping_ok "$fam" c a; r3=$?
	check "IPv$fam: unknown peer dropped by default" [ "$r1" -eq 0 ]
	check "IPv$fam: unknown peer passes with policy unknown allow" [ "$r2" -eq 0 ]
	check "IPv$fam: unknown peer dropped again with policy unknown drop" [ "$r3" -eq 0 ]
	mctl a set-peer "$(pubkey c)" verdict allowed name node-c \
		allowed-ips "$(v4 c)/32,$(v6 c)/128"
	ping_retry "$fam" a c
	check "IPv$fam: re-added peer flows" [ $? -eq 0 ]
}

# The local node DENIED: all of its wg traffic is dropped.
case_self_deny() {
	local fam=$1 r1 r2 r3
	mctl a self verdict denied reason "self-deny test"
	! ping_ok "$fam" a b; r1=$?
	! ping_ok "$fam" b a; r2=$?
	mctl a self verdict allowed
	ping_retry "$fam" a b && ping_retry "$fam" b a; r3=$?
	check "IPv$fam: self DENIED: a -> b dropped" [ "$r1" -eq 0 ]
	check "IPv$fam: self DENIED: b -> a dropped" [ "$r2" -eq 0 ]
	check "IPv$fam: self ALLOWED again: a <-> b flows" [ "$r3" -eq 0 ]
}

# Dead man's switch: an epoch that expires (6 s, generous for a loaded TCG
# guest) with grace 1 s fails closed; the next epoch reopens.
case_expiry() {
	local fam=$1 r0 r1 r2 expired i
	mctl a policy fail-closed on grace 1
	apply_epoch a 6
	ping_retry "$fam" a b; r0=$?
	# expiry + grace (1 s) + timer slack
	for i in $(seq 20); do
		expired=$(state_field a expired)
		[ "$expired" = true ] && break
		sleep 1
	done
	comment "a: epoch ${EPOCH[a]} expired=$expired"
	! ping_ok "$fam" a b && ! ping_ok "$fam" b a; r1=$?
	apply_epoch a 3600
	ping_retry "$fam" a b && ping_retry "$fam" b a; r2=$?
	check "IPv$fam: traffic flows before the epoch expires" [ "$r0" -eq 0 ]
	check "IPv$fam: state says expired after expiry + grace" [ "$expired" = true ]
	check "IPv$fam: expired epoch fails closed (a <-> b dropped)" [ "$r1" -eq 0 ]
	check "IPv$fam: a new epoch reopens (a <-> b flows, expired=$(state_field a expired))" \
		expect '[ "$r2" -eq 0 ] && [ "$(state_field a expired)" = false ]'
	mctl a policy fail-closed off grace 0
}

# 50 epoch swaps (25 on the sender a, 25 on the receiver b) under a steady
# UDP stream a -> b: no allowed datagram lost, no drop counted.
case_swap() {
	local fam=$1 port=$((5000 + $1)) i fails=0 sent received lost d0a d0b d1a d1b
	d0a=$(peer_counter a b tx_drop_packets); d0b=$(peer_counter b a rx_drop_packets)
	ip netns exec "$ns_b" meshnet-udpflood sink --port "$port" --secs 900 --idle 5 >"$tmpdir/sink" &
	local sink=$!
	for i in $(seq 50); do
		grep -q listening "$tmpdir/sink" && break
		sleep 0.1
	done
	ip netns exec "$ns_a" meshnet-udpflood send --to "$(addr "$fam" b)" --port "$port" --secs 600 \
		--pps 300 >"$tmpdir/send" &
	local sender=$!
	sleep 1
	for i in $(seq 25); do
		apply_epoch_quiet a || fails=$((fails + 1))
		apply_epoch_quiet b || fails=$((fails + 1))
	done
	sleep 1
	kill -TERM "$sender"; wait "$sender"
	wait "$sink"
	quiet cat "$tmpdir/send" "$tmpdir/sink"
	sent=$(sed -n 's/.*sent=\([0-9]*\).*/\1/p' "$tmpdir/send")
	received=$(sed -n 's/.*received=\([0-9]*\).*/\1/p' "$tmpdir/sink")
	lost=$(sed -n 's/.*lost=\([0-9]*\).*/\1/p' "$tmpdir/sink")
	d1a=$(peer_counter a b tx_drop_packets); d1b=$(peer_counter b a rx_drop_packets)
	comment "epochs now a=${EPOCH[a]} b=${EPOCH[b]}; drops a->b tx $d0a->$d1a, b rx $d0b->$d1b"
	check "IPv$fam: 50 epoch swaps under traffic all applied" [ "$fails" -eq 0 ]
	check "IPv$fam: no datagram lost during the swaps (sent=$sent received=$received lost=$lost)" \
		expect '[ -n "$sent" ] && [ "$sent" -gt 0 ] && [ "$sent" = "$received" ] && [ "$lost" = 0 ]'
	check "IPv$fam: no drop counted for the allowed peer during the swaps" \
		expect '[ -n "$d0a" ] && [ "$d0a" = "$d1a" ] && [ "$d0b" = "$d1b" ]'
}

# State is per network namespace: a fresh namespace sees none of it.
case_netns() {
	local fresh=$prefix-fresh peers devs
	pp ip netns add "$fresh"
	peers=$(ip netns exec "$fresh" meshnetctl show --json | tr -d ' \n' |
		sed -n 's/.*"peer_count":\([0-9]*\).*/\1/p')
	devs=$(ip netns exec "$fresh" meshnetctl show --json | tr -d ' \n' |
		sed -n 's/.*"devices":\[\([^]]*\)\].*/\1/p')
	check "netns isolation: a fresh namespace has no peers ($peers) and no devices ($devs)" \
		expect '[ "$peers" = 0 ] && [ -z "$devs" ]'
	check "netns isolation: node a still has its 2 peers ($(state_field a peer_count))" \
		[ "$(state_field a peer_count)" = 2 ]
	ip netns del "$fresh"
}

# Deltas (APPLY_DELTA via meshnetctl delta): a flip to DENIED drops the very
# next packet and keeps the peer's counters; the flip back reopens; a stale
# revision changes nothing.
case_delta() {
	local tx0 tx1 txp0 txp1 out rc
	ping_retry 4 a c || comment "a -> c did not work before the test"
	txp0=$(peer_counter a c tx_packets)
	tx0=$(peer_counter a c tx_drop_packets)
	mctl a delta 100 deny "$(pubkey c)" reason "delta test"
	! ping_ok 4 a c
	check "delta: denied peer: a -> c dropped" [ $? -eq 0 ]
	tx1=$(peer_counter a c tx_drop_packets)
	txp1=$(peer_counter a c tx_packets)
	check "delta: the very next packet to c is dropped and counted (tx_drop $tx0 -> $tx1)" \
		expect '[ -n "$tx0" ] && [ "${tx1:-0}" -eq $((tx0 + 1)) ]'
	check "delta: c's counters survived the flip (tx_packets $txp0 -> $txp1)" \
		expect '[ -n "$txp0" ] && [ "$txp0" -gt 0 ] && [ "$txp0" = "$txp1" ]'
	! mctl a delta 100 allow "$(pubkey c)"
	check "delta: a stale revision is refused" [ $? -eq 0 ]
	! ping_ok 4 a c
	check "delta: ... and changed nothing (a -> c still dropped)" [ $? -eq 0 ]
	mctl a delta 101 allow "$(pubkey c)"
	ping_retry 4 a c && ping_retry 4 c a
	check "delta: ALLOWED again: a <-> c flows" [ $? -eq 0 ]
}

# Bytes a's WireGuard received from PEER (wg show transfer).
wg_peer_rx() {
	n "$1" wg show wg0 transfer | awk -v k="$(pubkey "$2")" '$1 == k {print $2}'
}

# c floods a's overlay address for a second (through c's wg0) and pings it.
c_sends() {
	n c meshnet-udpflood send --to "$(v4 a)" --port 9000 --secs 1 --size 64 >/dev/null 2>&1
	ping_ok 4 c a
	true
}

# Outer endpoint drop (policy endpoint-drop on): c DENIED on a with its
# real endpoint 192.0.2.3:51820: c's encrypted datagrams are dropped on
# a's eth0 before WireGuard decrypts them (a's WireGuard receives nothing
# from c, the module counts endpoint_drop_packets, rx_drop does not grow);
# b (ALLOWED, endpoint 192.0.2.2) is unaffected. c with a stale endpoint
# in the table (192.0.2.99, roaming) is dropped after decryption as before
# (the backstop); an endpoint that an ALLOWED peer's entry shares is left
# to WireGuard (b's entry given c's endpoint: no endpoint drop, c still
# dropped by the inner hook, b still flows). Policy off: inner drop only.
case_endpoint() {
	local e0 e1 r0 r1 w0 w1 eb f0 f1
	ping_retry 4 a c && ping_retry 4 c a || comment "a <-> c did not work before the test"
	mctl a policy endpoint-drop on
	check "endpoint: policy endpoint-drop on reported by show" \
		expect '[ "$(state_field a endpoint_drop)" = true ]'
	apply_epoch a 3600 ALLOWED c=DENIED
	e0=$(peer_counter a c endpoint_drop_packets); r0=$(peer_counter a c rx_drop_packets)
	w0=$(wg_peer_rx a c)
	c_sends
	e1=$(peer_counter a c endpoint_drop_packets); r1=$(peer_counter a c rx_drop_packets)
	w1=$(wg_peer_rx a c)
	comment "c DENIED at its endpoint: endpoint_drop $e0 -> $e1, rx_drop $r0 -> $r1, a's wg0 rx bytes from c $w0 -> $w1"
	check "endpoint: c's datagrams dropped before decryption, counted (endpoint_drop $e0 -> $e1)" \
		expect '[ -n "$e0" ] && [ "${e1:-0}" -gt $((e0 + 50)) ]'
	check "endpoint: a's WireGuard received nothing from c (rx bytes $w0 -> $w1)" \
		expect '[ -n "$w0" ] && [ "$w0" = "$w1" ]'
	check "endpoint: nothing of c reached the inner hook (rx_drop $r0 -> $r1)" \
		expect '[ -n "$r0" ] && [ "$r0" = "$r1" ]'
	ping_retry 4 a b && ping_retry 4 b a
	check "endpoint: b (ALLOWED, another endpoint) flows" [ $? -eq 0 ]
	eb=$(peer_counter a b endpoint_drop_packets)
	check "endpoint: nothing of b dropped on the underlay ($eb)" [ "${eb:-x}" = 0 ]

	# Stale endpoint: the backstop drops c after decryption.
	mctl a set-peer "$(pubkey c)" verdict denied name node-c endpoint 192.0.2.99:51820 \
		allowed-ips "$(v4 c)/32,$(v6 c)/128" reason "roamed"
	e0=$(peer_counter a c endpoint_drop_packets); r0=$(peer_counter a c rx_drop_packets)
	c_sends
	e1=$(peer_counter a c endpoint_drop_packets); r1=$(peer_counter a c rx_drop_packets)
	check "endpoint: c from an endpoint not in the table: dropped after decryption (rx_drop $r0 -> $r1, endpoint_drop $e0 -> $e1)" \
		expect '[ -n "$r0" ] && [ "${r1:-0}" -gt "$r0" ] && [ "$e0" = "$e1" ]'

	# Shared endpoint: b's entry (ALLOWED) carries c's endpoint too.
	mctl a set-peer "$(pubkey c)" verdict denied name node-c endpoint 192.0.2.3:51820 \
		allowed-ips "$(v4 c)/32,$(v6 c)/128" reason "back"
	mctl a set-peer "$(pubkey b)" verdict allowed name node-b endpoint 192.0.2.3:51820 \
		allowed-ips "$(v4 b)/32,$(v6 b)/128"
	e0=$(peer_counter a c endpoint_drop_packets); r0=$(peer_counter a c rx_drop_packets)
	c_sends
	e1=$(peer_counter a c endpoint_drop_packets); r1=$(peer_counter a c rx_drop_packets)
	check "endpoint: shared with an ALLOWED peer's entry: no underlay drop, the inner hook drops c (endpoint_drop $e0 -> $e1, rx_drop $r0 -> $r1)" \
		expect '[ -n "$e0" ] && [ "$e0" = "$e1" ] && [ "${r1:-0}" -gt "$r0" ]'
	ping_retry 4 a b && ping_retry 4 b a
	check "endpoint: b flows with c's endpoint in its entry" [ $? -eq 0 ]

	# c's entry removed with its endpoint: the drop goes with it.
	mctl a set-peer "$(pubkey b)" verdict allowed name node-b endpoint 192.0.2.2:51820 \
		allowed-ips "$(v4 b)/32,$(v6 b)/128"
	mctl a del-peer "$(pubkey c)"
	mctl a policy unknown allow
	ping_retry 4 c a
	check "endpoint: c's entry removed: its endpoint no longer drops (unknown allow: c -> a flows)" [ $? -eq 0 ]
	mctl a policy unknown drop

	# Fragments: with wg0's MTU at 4000 on c, c's 3000-byte datagrams leave
	# eth0 as IPv4 fragments of the outer UDP datagram; each is dropped on
	# its first fragment (the one with the UDP header), the others die in
	# a's reassembly: a's WireGuard still receives nothing from c.
	apply_epoch a 3600 ALLOWED c=DENIED
	n c ip link set wg0 mtu 4000
	e0=$(peer_counter a c endpoint_drop_packets); w0=$(wg_peer_rx a c)
	f0=$(n a awk '/^Ip: [0-9]/ {print $15; exit}' /proc/net/snmp)
	n c meshnet-udpflood send --to "$(v4 a)" --port 9000 --secs 1 --size 3000 >/dev/null 2>&1
	sleep 0.5
	e1=$(peer_counter a c endpoint_drop_packets); w1=$(wg_peer_rx a c)
	f1=$(n a awk '/^Ip: [0-9]/ {print $15; exit}' /proc/net/snmp)
	n c ip link set wg0 mtu 1420
	comment "fragmented: endpoint_drop $e0 -> $e1, a's wg rx bytes from c $w0 -> $w1, a's ReasmReqds $f0 -> $f1"
	check "endpoint: fragmented datagrams of c dropped before decryption (endpoint_drop $e0 -> $e1, wg rx $w0 -> $w1)" \
		expect '[ -n "$e0" ] && [ "${e1:-0}" -gt "$e0" ] && [ -n "$w0" ] && [ "$w0" = "$w1" ] && [ "${f1:-0}" -gt "${f0:-0}" ]'

	# Off: the inner drop only.
	mctl a policy endpoint-drop off
	apply_epoch a 3600 ALLOWED c=DENIED
	e0=$(peer_counter a c endpoint_drop_packets); r0=$(peer_counter a c rx_drop_packets)
	c_sends
	e1=$(peer_counter a c endpoint_drop_packets); r1=$(peer_counter a c rx_drop_packets)
	check "endpoint: policy off: dropped after decryption only (rx_drop $r0 -> $r1, endpoint_drop $e0 -> $e1)" \
		expect '[ -n "$r0" ] && [ "${r1:-0}" -gt "$r0" ] && [ "$e0" = "$e1" ]'
	apply_epoch a
	ping_retry 4 a c && ping_retry 4 c a
	check "endpoint: ALLOWED again: a <-> c flows" [ $? -eq 0 ]
}

# A WireGuard device moved to another namespace after its creation keeps
# its UDP socket in the namespace it was created in (m1): the datagrams of
# its DENIED peer s never cross m2's hooks on the underlay, so nothing is
# endpoint-dropped in m2, and the inner drop (the backstop) drops s's
# packets after decryption.
case_endpoint_moved() {
	local m1=$prefix-m1 m2=$prefix-m2 s=$prefix-s e r w ok=1
	ip netns add "$m1" && ip netns add "$m2" && ip netns add "$s" || ok=
	for x in "$m1" "$m2" "$s"; do ip -n "$x" link set lo up; done
	ip -n "$m1" link add eth0 type veth peer name eth0 netns "$s" || ok=
	ip -n "$m1" addr add 198.51.100.1/24 dev eth0 && ip -n "$m1" link set eth0 up
	ip -n "$s" addr add 198.51.100.2/24 dev eth0 && ip -n "$s" link set eth0 up
	wg genkey >"$tmpdir/m.key"; wg pubkey <"$tmpdir/m.key" >"$tmpdir/m.pub"
	wg genkey >"$tmpdir/s.key"; wg pubkey <"$tmpdir/s.key" >"$tmpdir/s.pub"
	pp ip -n "$m1" link add wgm type wireguard || ok=
	pp ip -n "$m1" link set wgm netns "$m2" || ok=
	ip netns exec "$m2" wg set wgm private-key "$tmpdir/m.key" listen-port 51821 \
		peer "$(cat "$tmpdir/s.pub")" allowed-ips 10.30.0.2/32 || ok=
	ip -n "$m2" addr add 10.30.0.1/24 dev wgm && ip -n "$m2" link set wgm up
	ip -n "$s" link add wgs type wireguard || ok=
	ip netns exec "$s" wg set wgs private-key "$tmpdir/s.key" listen-port 51822 \
		peer "$(cat "$tmpdir/m.pub")" allowed-ips 10.30.0.1/32 endpoint 198.51.100.1:51821 || ok=
	ip -n "$s" addr add 10.30.0.2/24 dev wgs && ip -n "$s" link set wgs up
	check "moved device: wgm created in m1, moved to m2, peer s set up" [ -n "$ok" ]
	printf '{"node_id": "node-m", "epoch": {"id": 1, "expiry_unix": %s}, "membership": "ALLOWED", "reason": "moved device test", "peers": [{"node_id": "node-s", "public_key": "%s", "endpoint": "198.51.100.2:51822", "allowed_ips": ["10.30.0.2/32"], "membership": "DENIED"}]}\n' \
		"$(($(date +%s) + 3600))" "$(cat "$tmpdir/s.pub")" >"$tmpdir/moved.json"
	mctl m2 attach wgm && mctl m2 epoch apply "$tmpdir/moved.json" && mctl m2 policy endpoint-drop on
	check "moved device: meshnet attached in m2, s DENIED at its endpoint, endpoint-drop on" [ $? -eq 0 ]
	ip netns exec "$s" meshnet-udpflood send --to 10.30.0.1 --port 9000 --secs 1 --size 64 >/dev/null 2>&1
	e=$(peer_counter m2 s endpoint_drop_packets); r=$(peer_counter m2 s rx_drop_packets)
	w=$(ip netns exec "$m2" wg show wgm transfer | awk '{print $2}')
	comment "moved device: endpoint_drop $e, rx_drop $r, wgm rx bytes $w"
	check "moved device: no underlay drop in m2 (the socket is in m1), s dropped after decryption (endpoint_drop $e, rx_drop $r)" \
		expect '[ "$e" = 0 ] && [ "${r:-0}" -gt 0 ] && [ "${w:-0}" -gt 0 ]'
	mctl m2 detach wgm
	for x in "$s" "$m2" "$m1"; do ip netns del "$x"; done
}

# GSO: a TCP stream b -> a leaves b's wg0 as GSO packets (WireGuard
# segments them itself): b's module counts the segments, so its tx_packets
# for a follow wg0's tx_packets, not the (far fewer) skbs.
case_gso() {
	local tx0 tx1 wg0 wg1 m w lp
	tx0=$(peer_counter b a tx_packets)
	wg0=$(n b cat /sys/class/net/wg0/statistics/tx_packets)
	n a timeout 60 nc -l -p 5001 >/dev/null &
	lp=$!
	sleep 0.5
	n b timeout 60 bash -c "dd if=/dev/zero bs=65536 count=64 2>/dev/null >/dev/tcp/$(v4 a)/5001"
	wait "$lp"
	tx1=$(peer_counter b a tx_packets)
	wg1=$(n b cat /sys/class/net/wg0/statistics/tx_packets)
	m=$((${tx1:-0} - ${tx0:-0})); w=$((wg1 - wg0))
	comment "4 MiB over TCP b -> a: module tx_packets +$m, wg0 tx_packets +$w"
	check "GSO packets count as their segments (module +$m vs wg0 +$w)" \
		expect '[ "$w" -gt 1000 ] && [ $((m * 100)) -ge $((w * 90)) ] && [ $((m * 100)) -le $((w * 110)) ]'
}

# ----------------------------------------------------------------- main ---
tap_begin
cases=${*:-"allowed deny unknown self_deny expiry swap netns delta endpoint endpoint_moved gso"}

if ! mn_load; then
	not_ok "insmod $MESHNET_KO"
	tap_end
	exit 1
fi
if ! command -v meshnetctl >/dev/null || ! command -v meshnet-udpflood >/dev/null; then
	not_ok "meshnetctl and meshnet-udpflood in PATH"
	tap_end
	exit 1
fi
if mesh_setup && mesh_meshnet_up; then
	ok "setup: three WireGuard nodes, meshnet attached, epoch 1 applied"
else
	not_ok "setup: three WireGuard nodes, meshnet attached, epoch 1 applied"
	tap_end
	exit 1
fi

for c in $cases; do
	case $c in
	netns|delta|endpoint|endpoint_moved|gso)
		comment "=== $c"
		"case_$c" ;;
	*)
		for fam in 4 6; do
			comment "=== $c IPv$fam"
			"case_$c" "$fam"
		done ;;
	esac
done
tap_end
