#!/bin/sh
# SPDX-License-Identifier: MIT
#
# The three-node mesh of the end-to-end suite, the quarantine benchmark and
# `make demo`, in one QEMU guest (sourced by e2e.vmsuite, bench-e2e.sh and
# demo.sh). Real kernel, real WireGuard, real meshnet.ko, real HTTPS.
#
#                      netns $NS_CTL
#                  meshnetd https://192.168.77.1:8443
#                           | eth0
#                  +--------+--------+   netns $NS_HUB: bridge br0
#                  |        |        |
#          eth0 .11|  eth0 .12|  eth0 .13|  outer 192.168.77.0/24
#             $NS_A      $NS_B      $NS_C
#          wg0 10.10.0.1 wg0 .2   wg0 .3     overlay 10.10.0.0/24
#          meshnet-agent (emitter + config agent + probe) in each,
#          meshnet.ko attached to each wg0
#
# Node c's benchmark comes from its harness, --bench-cmd "cat $T/bench/c.json"
# (run sandboxed as nobody, every EMIT_INTERVAL), so a test flips c by
# rewriting that file (mesh_set_c_score). Nodes a and b submit made-up scores
# (--demo-scores, said on every submission), which the controller accepts only
# because the tests ask it to (--allow-demo-scores 1).

IP=/usr/sbin/ip
CTL_ADDR=192.168.77.1
CTL_PORT=8443
CTL_URL=https://$CTL_ADDR:$CTL_PORT
MESH_ID=${MESH_ID:-$$}
NS_HUB=mn-hub-$MESH_ID
NS_CTL=mn-ctl-$MESH_ID
NS_A=mn-a-$MESH_ID
NS_B=mn-b-$MESH_ID
NS_C=mn-c-$MESH_ID
# test-friendly controller/agent settings (a caller may override)
EPOCH_SECONDS=${EPOCH_SECONDS:-60}
AGENT_GRACE=${AGENT_GRACE:-5}
WG_REMOVE_DELAY=${WG_REMOVE_DELAY:-0}
EMIT_INTERVAL=${EMIT_INTERVAL:-2}
PROBE_INTERVAL=${PROBE_INTERVAL:-2}
CTL_EXTRA=${CTL_EXTRA:-}
# AGENT_V2=1: agents speak protocol v2 (rev=, signed statements checked
# against the controller's controller.pub, group or pairwise key mode)
AGENT_V2=${AGENT_V2:-0}

pp() { echo "# [$(cut -d' ' -f1 /proc/uptime)] $*"; }
ns_of() { case $1 in a) echo $NS_A ;; b) echo $NS_B ;; c) echo $NS_C ;; ctl) echo $NS_CTL ;; hub) echo $NS_HUB ;; *) echo "$1" ;; esac; }
# n NODE CMD...: run CMD in the node's network namespace
n() { _ns=$(ns_of "$1"); shift; $IP netns exec "$_ns" "$@"; }
node_ip() { case $1 in a) echo 10.10.0.1 ;; b) echo 10.10.0.2 ;; c) echo 10.10.0.3 ;; esac; }
outer_ip() { case $1 in a) echo 192.168.77.11 ;; b) echo 192.168.77.12 ;; c) echo 192.168.77.13 ;; esac; }

# wait_for SECONDS CMD...: retry CMD every 0.2 s until it succeeds or SECONDS
# (of the guest's uptime clock, whatever each try costs) have passed
wait_for() {
	_end=$(($(cut -d. -f1 /proc/uptime) + $1)); shift
	while :; do
		"$@" >/dev/null 2>&1 && return 0
		[ "$(cut -d. -f1 /proc/uptime)" -lt "$_end" ] || return 1
		sleep 0.2
	done
}

# not CMD...: succeeds when CMD fails (a function, unlike "! cmd", usable with wait_for/check)
not() { if "$@"; then return 1; fi; return 0; }

# ping1 FROM TO: one ICMP echo over the overlay, 1 s timeout
ping1() { n "$1" busybox ping -c 1 -W 1 "$(node_ip "$2")" >/dev/null 2>&1; }

# module view (key=value lines from meshnet-e2e)
peer_field() { meshnet-e2e peers "$(ns_of "$1")" node-"$2" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$3=//p"; }
state_field() { meshnet-e2e state "$(ns_of "$1")" 2>/dev/null | tr ' ' '\n' | sed -n "s/^$2=//p"; }
peer_is() { [ "$(peer_field "$1" "$2" verdict)" = "$3" ]; }
# peer_everywhere Y VERDICT: both other nodes' modules hold node-Y with VERDICT
peer_everywhere() {
	for _o in a b c; do
		[ $_o = "$1" ] && continue
		peer_is $_o "$1" "$2" || return 1
	done
}
expired_is() { [ "$(state_field "$1" expired)" = "$2" ]; }
self_is() { [ "$(state_field "$1" self)" = "$2" ]; }
epoch_of() { state_field "$1" epoch; }
wg_pub() { cat "$T/$1.pub"; }
# the PSK node X holds for node Y on wg0
wg_psk() { n "$1" wg show wg0 preshared-keys | awk -v k="$(wg_pub "$2")" '$1 == k { print $2 }'; }
wg_has_peer() { n "$1" wg show wg0 peers | grep -qxF "$(wg_pub "$2")"; }
# epoch_above X N: node X's module is past epoch N
epoch_above() { [ "$(epoch_of "$1")" -gt "$2" ] 2>/dev/null; }
wg_handshake() { n "$1" wg show wg0 latest-handshakes | awk -v k="$(wg_pub "$2")" '$1 == k { print $2 }'; }

mesh_set_c_score() {
	printf '{"suite_version": "e2e-1", "scores": {"overall": %s, "refusal": %s, "honesty": %s, "policy": %s}}\n' \
		"$1" "$1" "$1" "$1" >"$T/bench/c.json.tmp" && mv "$T/bench/c.json.tmp" "$T/bench/c.json"
}

mesh_setup() {
	T=$(mktemp -d /tmp/mesh.XXXXXX)
	# the harness (nobody) may pass through $T and read bench/, nothing else
	chmod 0711 "$T" && mkdir -m 0755 "$T/bench" || return 1
	grep -q '^meshnet ' /proc/modules || insmod /lib/meshnet/meshnet.ko || return 1
	pp "netns: $NS_HUB $NS_CTL $NS_A $NS_B $NS_C"
	for x in hub ctl a b c; do $IP netns add "$(ns_of $x)" || return 1; done
	$IP -n $NS_HUB link add br0 type bridge
	$IP -n $NS_HUB link set br0 up
	for x in ctl a b c; do
		$IP -n $NS_HUB link add "v-$x" type veth peer name eth0 netns "$(ns_of $x)"
		$IP -n $NS_HUB link set "v-$x" master br0 up
		$IP -n "$(ns_of $x)" link set lo up
		$IP -n "$(ns_of $x)" link set eth0 up
	done
	$IP -n $NS_CTL addr add $CTL_ADDR/24 dev eth0
	for x in a b c; do
		$IP -n "$(ns_of $x)" addr add "$(outer_ip $x)/24" dev eth0
		$IP -n "$(ns_of $x)" link add wg0 type wireguard
		$IP -n "$(ns_of $x)" addr add "$(node_ip $x)/24" dev wg0
		$IP -n "$(ns_of $x)" link set wg0 up
	done

	pp "TLS: a CA and the controller's certificate (IP:$CTL_ADDR), made now, never stored"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj /CN=meshnet-e2e-ca -keyout "$T/ca.key" -out "$T/ca.crt" 2>/dev/null || return 1
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj /CN=meshnetd \
		-keyout "$T/srv.key" -out "$T/srv.csr" 2>/dev/null || return 1
	printf 'subjectAltName=IP:%s\n' $CTL_ADDR >"$T/srv.ext"
	openssl x509 -req -in "$T/srv.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" -CAcreateserial \
		-days 2 -extfile "$T/srv.ext" -out "$T/srv.crt" 2>/dev/null || return 1
	chmod 600 "$T/srv.key" "$T/ca.key"
	head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$T/admin.token"
	chmod 600 "$T/admin.token"

	pp "keys: each agent creates its WireGuard + Ed25519 keys (0600) and prints its enrolment record"
	for x in a b c; do
		n $x meshnet-agent keygen --node-id node-$x --state-dir "$T/$x" \
			--overlay-ips "$(node_ip $x)/32" --endpoint "$(outer_ip $x):51820" \
			>"$T/$x.enrol" || return 1
		sed -n 's/.*"wg_public_key": *"\([^"]*\)".*/\1/p' "$T/$x.enrol" | tr -d '\\' >"$T/$x.pub"
		pp "  node-$x: $(cat "$T/$x.enrol")"
	done
	printf '{"nodes": [%s, %s, %s]}\n' "$(cat "$T/a.enrol")" "$(cat "$T/b.enrol")" \
		"$(cat "$T/c.enrol")" >"$T/nodes.json"
	mesh_set_c_score 0.90
}

# mesh_start_controller: meshnetd in $NS_CTL, output to $T/ctl.log. Daemons are
# started with "$IP netns exec" directly (not through n(): a backgrounded shell
# function is a subshell, and $! would be its PID, not the daemon's).
mesh_start_controller() {
	$IP netns exec $NS_CTL meshnetd --listen $CTL_ADDR:$CTL_PORT --tls-cert "$T/srv.crt" --tls-key "$T/srv.key" \
		--nodes-file "$T/nodes.json" --state-dir "$T/ctl" --admin-token-file "$T/admin.token" \
		--epoch-seconds "$EPOCH_SECONDS" --allow-demo-scores 1 $CTL_EXTRA >>"$T/ctl.log" 2>&1 &
	echo $! >"$T/ctl.pid"
	wait_for 20 n ctl curl -sf --cacert "$T/ca.crt" "$CTL_URL/health"
}

mesh_stop_controller() {
	[ -f "$T/ctl.pid" ] && kill -9 "$(cat "$T/ctl.pid")" 2>/dev/null
	[ -f "$T/ctl.pid" ] && wait "$(cat "$T/ctl.pid")" 2>/dev/null
	rm -f "$T/ctl.pid"
}

# mesh_start_agent X [extra flags]
mesh_start_agent() {
	_x=$1; shift
	if [ "$_x" = c ]; then
		set -- --bench-cmd "cat $T/bench/c.json" --bench-interval "$EMIT_INTERVAL" "$@"
	else
		set -- --demo-scores --score-mean 0.90 --score-jitter 0.03 "$@"
	fi
	[ "$AGENT_V2" = 1 ] && set -- --controller-pubkey-file "$T/ctl/controller.pub" "$@"
	$IP netns exec "$(ns_of $_x)" meshnet-agent --node-id node-$_x --controller $CTL_URL --ca "$T/ca.crt" \
		--state-dir "$T/$_x" --emit-interval "$EMIT_INTERVAL" --probe-interval "$PROBE_INTERVAL" \
		--poll-interval 2 --grace "$AGENT_GRACE" --wg-remove-delay "$WG_REMOVE_DELAY" \
		--backoff-max-ms 2000 "$@" >>"$T/$_x.log" 2>&1 &
	echo $! >"$T/$_x.pid"
}

mesh_stop_agent() {
	[ -f "$T/$1.pid" ] && kill "${2:--TERM}" "$(cat "$T/$1.pid")" 2>/dev/null
	[ -f "$T/$1.pid" ] && wait "$(cat "$T/$1.pid")" 2>/dev/null
	rm -f "$T/$1.pid"
}

mesh_admin() { # mesh_admin METHOD PATH
	n ctl curl -sf --cacert "$T/ca.crt" -X "$1" -H "Authorization: Bearer $(cat "$T/admin.token")" \
		"$CTL_URL$2"
}

mesh_all_allowed() {
	for x in a b c; do self_is $x ALLOWED || return 1; done
	peer_is a b ALLOWED && peer_is a c ALLOWED && peer_is b a ALLOWED && peer_is b c ALLOWED &&
		peer_is c a ALLOWED && peer_is c b ALLOWED
}

# mesh_stream_logs: follow every log on the console (make demo)
mesh_stream_logs() {
	for f in ctl a b c; do
		touch "$T/$f.log"
		tail -n 0 -f "$T/$f.log" &
		echo $! >>"$T/tail.pids"
	done
}

mesh_cleanup() {
	for x in a b c; do mesh_stop_agent $x; done
	mesh_stop_controller
	[ -f "$T/tail.pids" ] && kill $(cat "$T/tail.pids") 2>/dev/null
	for x in a b c ctl hub; do $IP netns del "$(ns_of $x)" 2>/dev/null; done
	[ -n "${KEEP_MESH_TMP:-}" ] || rm -rf "$T"
}
