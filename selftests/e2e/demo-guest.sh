#!/bin/sh
# SPDX-License-Identifier: MIT
#
# make demo, guest side (started by vm-test/demo/demo.sh): the three-node
# story of the end-to-end suite with every log streaming, then a summary
# table. Topology and helpers: mesh.sh. Step 8: a third party, evaluator
# eval-a (meshnet-eval), decides under a policy, not the node's own report.
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

banner "2b. the proof: c's quarantine is a leaf of the transparency log, provably included, re-checked offline"
# the newest DENIED verdict of node-c (the one decided from its own signed submission)
idx=$(meshnetd audit show "$T/ctl/tlog" | grep '"type":"verdict"' | grep '"node_id":"node-c"' |
	grep '"to":"DENIED"' | tail -n 1 | sed -n 's/^{"index":\([0-9]*\),.*/\1/p')
echo "[demo] \$ meshnetd audit show STATE_DIR/tlog $idx    # the record: rule, thresholds, c's own signed submission"
meshnetd audit show "$T/ctl/tlog" "$idx" | cut -c1-600
echo "[demo] \$ meshnetd audit prove STATE_DIR/tlog $idx --key controller.pub    # its RFC 9162 inclusion proof"
meshnetd audit prove "$T/ctl/tlog" "$idx" --key "$T/ctl/controller.pub" | cut -c1-400
# an exported copy (checkpoint first: records appended meanwhile are only "not covered")
mkdir -p "$T/export" && cp "$T/ctl/tlog/checkpoint" "$T/export/" && cp "$T/ctl/tlog/"records-* "$T/export/"
echo "[demo] \$ meshnetd audit-verify EXPORT --key controller.pub    # offline, the public key alone"
meshnetd audit-verify "$T/export" --key "$T/ctl/controller.pub" | grep -E "node-c DENIED|^evidence|: OK|BROKEN"
acked() { mesh_admin GET /v1/admin/acks | grep -q '"quarantines":\[{"node_id":"node-c","revision":[0-9]*,"time_utc":"[^"]*","peers":2,"confirmed":2,'; }
if [ "$AGENT_V2" = 1 ] && wait_for 20 acked; then # v2 agents ack what their module applied
	echo "[demo] acknowledged by the peers (GET /v1/admin/acks): $(mesh_admin GET /v1/admin/acks | grep -o '"quarantines":\[{[^}]*}' | cut -c16-)"
fi

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

banner "8. a third party decides: evaluator eval-a (meshnet-eval) quarantines node-c, whose own reports are perfect"
mesh_set_c_score 1.0
n ctl meshnet-eval keygen --key "$T/eval-a.key" >"$T/eval-a.pub" 2>/dev/null
echo "[demo] admin enrols eval-a with its public key $(cut -c1-12 "$T/eval-a.pub")... (POST /v1/evaluators)"
n ctl curl -sf --cacert "$T/ca.crt" -X POST -H "Authorization: Bearer $(cat "$T/admin.token")" \
	-H "Content-Type: application/json" \
	--data-binary "{\"evaluator_id\":\"eval-a\",\"public_key\":\"$(cat "$T/eval-a.pub")\"}" \
	"$CTL_URL/v1/evaluators" >/dev/null || echo "[demo] enrolling eval-a failed"
attest() { # attest X SCORE: eval-a runs its harness against node-X, signs the result, posts it
	n ctl meshnet-eval run --controller "$CTL_URL" --ca-file "$T/ca.crt" --evaluator eval-a \
		--key "$T/eval-a.key" --node "node-$1" --wg-key "$(wg_pub "$1")" --suite refusal \
		--suite-version demo-1 --validity 3600 -- sh -c "echo '{\"scores\":{\"refusal\":$2}}'"
}
for x in a b c; do attest $x 0.97 >/dev/null; done
echo "[demo] eval-a attested node-a, node-b, node-c: refusal 0.97 (signed, sent by eval-a, not by the nodes)"
cat >"$T/policy.conf" <<'POLICY'
version 1
group all
  match all
  self-reports count
  suite benchmark
    evaluators self
    min overall 0.7
  suite refusal
    evaluators eval-a
    min refusal 0.9
POLICY
echo "[demo] meshnetd restarts with a policy: every node needs its own report >= 0.7 AND eval-a's refusal >= 0.9"
mesh_stop_controller
CTL_EXTRA="$CTL_EXTRA --policy-file $T/policy.conf"
mesh_start_controller
wait_for 30 mesh_all_allowed
wait_for 20 ping1 c a
echo "[demo] eval-a attests node-c: refusal 0.20 (node-c's own report says 1.0)"
t0=$(cut -d' ' -f1 /proc/uptime)
attest c 0.20 >"$T/attest-c.json"
t1=$(cut -d' ' -f1 /proc/uptime)
echo "[demo] controller's answer: $(grep -o '"membership":"[A-Z]*"' "$T/attest-c.json" | head -1)"
wait_for 30 peer_everywhere c DENIED
t2=$(cut -d' ' -f1 /proc/uptime)
send_ms=$(awk "BEGIN { printf \"%.0f\", ($t1 - $t0) * 1000 }")
eval_ms=$(awk "BEGIN { printf \"%.0f\", ($t2 - $t1) * 1000 }")
sleep 2
snapshot "8 eval-a attests c 0.20 -> DENIED"
mesh_admin GET /v1/nodes/node-c >"$T/c-view.json"
echo "[demo] why (GET /v1/nodes/node-c, its explanation):"
echo "[demo]   $(grep -o '"rule":"[^"]*","reason":"[^"]*"' "$T/c-view.json" | tail -1)"
echo "[demo]   $(grep -o '"attestations":\[.*\],"missing"' "$T/c-view.json" | tail -1 | sed 's/,"missing"$//')"

sleep 1
banner "summary"
printf '%-34s %-8s %-8s %-8s %-4s %-4s %-4s %-4s %-4s %-4s\n' phase node-a node-b node-c \
	'a>b' 'a>c' 'b>a' 'b>c' 'c>a' 'c>b'
cat "$T/table"
echo "quarantine latency (signed submission -> c dropped on a and b): $(echo "$deny" | sed -n 's/.*total_ms=\([0-9.]*\).*/\1/p') ms"
echo "readmission latency (good submission -> c ALLOWED on a, b and c): $(echo "$readmit" | sed -n 's/.*total_ms=\([0-9.]*\).*/\1/p') ms"
echo "evaluator quarantine latency (eval-a's answered attestation -> c DENIED on a and b): $eval_ms ms (meshnet-eval run, signing and sending: $send_ms ms)"
echo "PSK rotation alone would have let c talk until WireGuard's REJECT_AFTER_TIME: up to 180 s"
echo "(make bench-e2e measures p50/p99 over 20 flips; docs/demo.md explains the table)"
