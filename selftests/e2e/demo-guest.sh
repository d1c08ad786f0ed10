#!/bin/sh
# SPDX-License-Identifier: MIT
#
# make demo, guest side (started by vm-test/demo/demo.sh): the three-node
# story of the end-to-end suite with every log streaming, then a summary
# table. Topology and helpers: mesh.sh.
cd "$(dirname "$0")" || exit 1
EPOCH_SECONDS=${EPOCH_SECONDS:-20}
AGENT_GRACE=${AGENT_GRACE:-2}
. ./mesh.sh
trap 'mesh_cleanup' EXIT

banner() { echo; echo "======== $* ========"; }
flip() { # flip SCORE WATCH...
	_s=$1; shift
	meshnet-e2e flip --controller $CTL_URL --ca "$T/ca.crt" --node node-c \
		--key "$T/c/ed25519.key" --netns $NS_C --score "$_s" --timeout 60 "$@"
}
verdict() { # verdict X: the node's own verdict in its module (EXPIRED if failed closed)
	if [ "$(state_field "$1" expired)" = 1 ]; then echo EXPIRED; else state_field "$1" self; fi
}
# snapshot "phase title": one row of the summary table
snapshot() {
	_row=$(printf '%-34s %-8s %-8s %-8s' "$1" "$(verdict a)" "$(verdict b)" "$(verdict c)")
	for p in "a b" "a c" "b a" "b c" "c a" "c b"; do
		set -- $p
		if ping1 $1 $2; then _r=OK; else _r=FAIL; fi
		_row="$_row $(printf '%-4s' $_r)"
	done
	echo "$_row" >>"$T/table"
	echo "[demo] $_row"
}

banner "setup: controller + node-a, node-b, node-c in network namespaces, HTTPS, WireGuard 10.10.0.0/24"
mesh_setup || exit 1
mesh_stream_logs
mesh_start_controller || exit 1
for x in a b c; do mesh_start_agent $x --probe-interval 4; done

banner "1. every node benchmarks well: all ALLOWED, every pair pings"
wait_for 60 mesh_all_allowed
sleep 4
snapshot "1 all benchmark well"
echo "[demo] wg show on node-a and node-b: the same PSK for their pair"
echo "[demo]   node-a -> node-b psk $(wg_psk a b | cut -c1-8)...   node-b -> node-a psk $(wg_psk b a | cut -c1-8)..."

banner "2. node-c's score drops to 0.30: it is quarantined at once"
mesh_set_c_score 0.30
deny=$(flip 0.30 --watch $NS_A:node-c:denied --watch $NS_B:node-c:denied)
echo "[demo] $deny"
sleep 3
snapshot "2 node-c score 0.30 -> DENIED"
echo "[demo] module on node-a: $(meshnet-e2e peers $NS_A node-c)"
echo "[demo] controller status.json: $(grep -o '"reason": *"[^"]*"' "$T/ctl/status.json" | head -3 | tr '\n' ' ')"

banner "3. node-c recovers: readmitted after its next good benchmark"
mesh_set_c_score 0.95
readmit=$(flip 0.95 --watch $NS_A:node-c:allowed --watch $NS_B:node-c:allowed --watch-self $NS_C:allowed)
echo "[demo] $readmit"
wait_for 20 ping1 c a
snapshot "3 node-c score 0.95 -> readmitted"

banner "4. the controller is killed: the last epoch stays applied until it expires"
mesh_stop_controller
snapshot "4 controller down, epoch valid"
echo "[demo] waiting for the epoch to expire (+${AGENT_GRACE}s grace): the modules fail closed"
wait_for $((EPOCH_SECONDS + AGENT_GRACE + 20)) expired_is a 1
snapshot "5 controller down, epoch expired"

banner "6. the controller restarts: the mesh comes back by itself"
mesh_start_controller
mesh_back() { ping1 a b && ping1 c a; }
wait_for 60 mesh_back
snapshot "6 controller back"

banner "7. node-a's agent is killed and restarted: allowed traffic goes on"
n a busybox ping -c 30 -i 0.2 10.10.0.2 >"$T/ping-ab.log" 2>&1 &
pp=$!
sleep 1
mesh_stop_agent a -KILL
sleep 1
mesh_start_agent a --probe-interval 4
wait $pp
echo "[demo] a -> b during the restart: $(grep 'packet loss' "$T/ping-ab.log")"
snapshot "7 node-a agent restarted"

sleep 1
banner "summary"
printf '%-34s %-8s %-8s %-8s %-4s %-4s %-4s %-4s %-4s %-4s\n' phase node-a node-b node-c \
	'a>b' 'a>c' 'b>a' 'b>c' 'c>a' 'c>b'
cat "$T/table"
echo "quarantine latency (signed submission -> c dropped on a and b): $(echo "$deny" | sed -n 's/.*total_ms=\([0-9.]*\).*/\1/p') ms"
echo "readmission latency (good submission -> c ALLOWED on a, b and c): $(echo "$readmit" | sed -n 's/.*total_ms=\([0-9.]*\).*/\1/p') ms"
echo "PSK rotation alone would have let c talk until WireGuard's REJECT_AFTER_TIME: up to 180 s"
echo "(make bench-e2e measures p50/p99 over 20 flips; docs/demo.md explains the table)"
