#!/bin/sh
# SPDX-License-Identifier: MIT
#
# make bench-e2e, guest side: quarantine latency of the real mesh (mesh.sh
# topology, controller and agents with their DEFAULT settings, except that
# node-c's own emitter is off: this script is c's benchmark harness), with
# v1 agents (the baseline) and v2 agents (signed statements, deltas, group
# keys) on the same controller in the same run, in alternating blocks of
# BLOCK (5) rounds.
#
# For each of ROUNDS flips:
#   deny:   meshnet-e2e flip submits a signed score 0.30 as node-c (from c's
#           netns, with c's key) and times, from just before the request is
#           sent, until the meshnet module in a's AND b's netns holds c as
#           DENIED: from that instant their hooks drop c's packets. The drop
#           is then confirmed on the data path (a -> c ping fails, a's drop
#           counter for c grows).
#   readmit: score 0.95, until a's and b's modules hold c ALLOWED and c's own
#           module no longer self-denies.
#   confirmed (v2 agents): the time meshnetd counts from the flip's verdict
#           until the last peer (a, b) acknowledged a revision at or past it
#           (POST /v1/ack: its module applied it), from GET /v1/admin/acks.
#   PSK only: the time c's traffic would go on if only PSKs rotated, i.e.
#           until WireGuard's REJECT_AFTER_TIME (180 s) after the session's
#           last handshake (a rekey at REKEY_AFTER_TIME = 120 s fails with the
#           new PSK, the old session stays valid until 180 s).
# Prints "bench ..." / "ratio ..." / "goal ..." lines (collected into
# build/bench/e2e.txt by the host).
cd "$(dirname "$0")" || exit 1
ROUNDS=${ROUNDS:-20}
# E2E_DEBUG=1: meshnetd and the agents log at debug level (their TIMING lines:
# where each answered poll's time went) and the logs are printed at the end
E2E_DEBUG=${E2E_DEBUG:-0}
. ./mesh.sh
dump_logs() {
	[ "$E2E_DEBUG" = 1 ] || return 0
	for f in ctl a b c; do sed "s/^/# log $f: /" "$T/$f.log"; done
}
trap 'dump_logs; mesh_cleanup' EXIT
_dbg=
[ "$E2E_DEBUG" = 1 ] && _dbg="--log-level debug"

flip() { # flip SCORE WATCH...
	_s=$1; shift
	meshnet-e2e flip --controller $CTL_URL --ca "$T/ca.crt" --node node-c \
		--key "$T/c/ed25519.key" --netns $NS_C --score "$_s" --timeout 60 "$@"
}
ms_of() { sed -n 's/.*total_ms=\([0-9.]*\).*/\1/p'; }
# pct FILE P: nearest-rank percentile of the numbers in FILE
pct() { sort -n "$1" | awk -v p="$2" '{ v[NR] = $1 } END { r = int((p * NR + 99) / 100); if (r < 1) r = 1; print v[r] }'; }

mesh_setup || { echo "bench e2e setup failed"; exit 1; }
EPOCH_SECONDS=60 # meshnetd's default
# The bench flaps node-c on purpose, 20 times: it measures the quarantine and
# readmission mechanism, so meshnetd's flap damping and admission limit are off.
CTL_EXTRA="--flap-hold-down 0 --admit-interval 0 $_dbg"
mesh_start_controller || { echo "bench e2e controller failed"; cat "$T/ctl.log"; exit 1; }
# agents with their defaults (emit 10 s, poll 10 s, probe 15 s, long-poll 25 s);
# start_agents v1|v2: v2 checks signed statements against controller.pub
start_agents() {
	_v2=
	[ "$1" = v2 ] && _v2="--controller-pubkey-file $T/ctl/controller.pub"
	for x in a b; do
		$IP netns exec "$(ns_of $x)" meshnet-agent --node-id node-$x --controller $CTL_URL --ca "$T/ca.crt" \
			--state-dir "$T/$x" --demo-scores --score-mean 0.9 $_v2 $_dbg >>"$T/$x.log" 2>&1 &
		echo $! >"$T/$x.pid"
	done
	$IP netns exec $NS_C meshnet-agent --node-id node-c --controller $CTL_URL --ca "$T/ca.crt" \
		--state-dir "$T/c" --emit-interval 0 $_v2 $_dbg >>"$T/c.log" 2>&1 &
	echo $! >"$T/c.pid"
}

# confirmed_ms REV: "revision ms" of node-c's newest quarantine once both peers
# acked it, if its revision is not REV (the previous round's)
confirmed_ms() {
	mesh_admin GET /v1/admin/acks | sed -n 's/.*"quarantines":\[{"node_id":"node-c","revision":\([0-9]*\),"time_utc":"[^"]*","peers":2,"confirmed":2,"all_confirmed":true,"all_confirmed_ms":\([0-9]*\).*/\1 \2/p' |
		awk -v prev="$1" '$1 != prev { print; ok = 1 } END { exit !ok }'
}

# run_rounds MODE FIRST COUNT: flips FIRST..FIRST+COUNT-1 with the agents of
# MODE (started for these rounds, stopped after); figures appended to $T/MODE.*
run_rounds() {
	_m=$1
	i=$2
	_last=$(($2 + $3 - 1))
	start_agents "$_m"
	flip 0.95 --watch $NS_A:node-c:allowed --watch $NS_B:node-c:allowed --watch-self $NS_C:allowed \
		>/dev/null || { echo "bench e2e: the mesh did not come up ($_m)"; tail "$T"/*.log; exit 1; }
	wait_for 60 mesh_all_allowed || { echo "bench e2e: not all ALLOWED ($_m)"; exit 1; }
	while [ $i -le $_last ]; do
		wait_for 60 ping1 a c || echo "# $_m round $i: a -> c did not come back"
		hs=$(wg_handshake a c)
		now=$(date +%s)
		drop0=$(peer_field a c tx_drop)
		out=$(flip 0.30 --watch $NS_A:node-c:denied --watch $NS_B:node-c:denied)
		echo "# $_m round $i deny:    $out"
		echo "$out" | grep -q '^flip ok' && echo "$out" | ms_of >>"$T/$_m.deny.ms"
		if ping1 a c; then
			echo "# $_m round $i: a -> c still answered after the flip"
		elif [ "$(peer_field a c tx_drop)" -le "${drop0:-0}" ]; then
			echo "# $_m round $i: a's module counted no drop for c"
		fi
		[ -n "$hs" ] && [ "$hs" != 0 ] && echo $((hs + 180 - now)) >>"$T/$_m.psk.s"
		if [ "$_m" = v2 ]; then
			if wait_for 30 confirmed_ms "$qrev"; then
				set -- $(confirmed_ms "$qrev")
				qrev=$1
				echo "$2" >>"$T/$_m.confirm.ms"
				echo "# $_m round $i confirmed: revision $1, all peers acked after $2 ms"
			else
				echo "# $_m round $i: the peers' acks of the quarantine did not all arrive"
			fi
		fi
		out=$(flip 0.95 --watch $NS_A:node-c:allowed --watch $NS_B:node-c:allowed --watch-self $NS_C:allowed)
		echo "# $_m round $i readmit: $out"
		echo "$out" | grep -q '^flip ok' && echo "$out" | ms_of >>"$T/$_m.readmit.ms"
		i=$((i + 1))
	done
	for x in a b c; do mesh_stop_agent $x; done
}

# The same mesh and controller with v1 agents (the baseline) and v2 agents,
# in alternating blocks of BLOCK rounds (v1 1-5, v2 1-5, v1 6-10, ...): the
# host's load drifts over a run (other guests, builds), and whole halves of
# the run would compare that drift rather than the two agents.
BLOCK=${BLOCK:-5}
for m in v1 v2; do : >"$T/$m.deny.ms"; : >"$T/$m.readmit.ms"; : >"$T/$m.psk.s"; : >"$T/$m.confirm.ms"; done
qrev=0 # the last quarantine revision whose acks were counted (v2)
first=1
while [ $first -le "$ROUNDS" ]; do
	count=$BLOCK
	[ $((first + count - 1)) -gt "$ROUNDS" ] && count=$((ROUNDS - first + 1))
	run_rounds v1 $first $count
	run_rounds v2 $first $count
	first=$((first + count))
done

nd=$(wc -l <"$T/v1.deny.ms"); nr=$(wc -l <"$T/v1.readmit.ms"); np=$(wc -l <"$T/v1.psk.s")
[ "$nd" -gt 0 ] || { echo "bench e2e: no successful flip"; tail -n 30 "$T"/*.log; exit 1; }
d50=$(pct "$T/v1.deny.ms" 50); d99=$(pct "$T/v1.deny.ms" 99); dmax=$(pct "$T/v1.deny.ms" 100)
r50=$(pct "$T/v1.readmit.ms" 50); r99=$(pct "$T/v1.readmit.ms" 99)
p50=$(pct "$T/v1.psk.s" 50); pmin=$(pct "$T/v1.psk.s" 1); pmax=$(pct "$T/v1.psk.s" 100)
n2=$(wc -l <"$T/v2.deny.ms"); n2r=$(wc -l <"$T/v2.readmit.ms")
[ "$n2" -gt 0 ] || { echo "bench e2e: no successful v2 flip"; tail -n 30 "$T"/*.log; exit 1; }
v50=$(pct "$T/v2.deny.ms" 50); v99=$(pct "$T/v2.deny.ms" 99); vmax=$(pct "$T/v2.deny.ms" 100)
w50=$(pct "$T/v2.readmit.ms" 50); w99=$(pct "$T/v2.readmit.ms" 99)
nc=$(wc -l <"$T/v2.confirm.ms")
if [ "$nc" -gt 0 ]; then
	c50=$(pct "$T/v2.confirm.ms" 50); c99=$(pct "$T/v2.confirm.ms" 99); cmax=$(pct "$T/v2.confirm.ms" 100)
fi
echo "bench e2e kernel=$(uname -r) accel=tcg rounds=$ROUNDS block=$BLOCK epoch_seconds=$EPOCH_SECONDS deny_rotate_interval=default guest_load=$(cut -d' ' -f1-3 /proc/loadavg)"
echo "bench e2e quarantine_ms n=$nd p50=$d50 p99=$d99 max=$dmax (v1 agents: signed submission -> c DENIED in a's and b's module)"
echo "bench e2e readmission_ms n=$nr p50=$r50 p99=$r99 (v1 agents: good submission -> c ALLOWED on a, b and itself)"
echo "bench e2e v2_quarantine_ms n=$n2 p50=$v50 p99=$v99 max=$vmax (v2 agents: signed statement checked, delta applied)"
echo "bench e2e v2_readmission_ms n=$n2r p50=$w50 p99=$w99 (v2 agents)"
[ "$nc" -gt 0 ] && echo "bench e2e v2_all_peers_confirmed_ms n=$nc p50=$c50 p99=$c99 max=$cmax (verdict -> the last peer's ack of the revision its module applied, as meshnetd counts it)"
echo "bench e2e psk_only_s n=$np p50=$p50 min=$pmin max=$pmax (c's traffic would go on until last handshake + REJECT_AFTER_TIME 180 s; rekey at REKEY_AFTER_TIME 120 s)"
awk -v a="$v50" -v b="$d50" 'BEGIN { printf "ratio e2e v2_quarantine_p50 / v1_quarantine_p50 = %.2f\n", a / b }'
awk -v a="$v99" -v b="$d99" 'BEGIN { printf "ratio e2e v2_quarantine_p99 / v1_quarantine_p99 = %.2f\n", a / b }'
awk -v p="$p50" -v d="$d50" 'BEGIN { printf "ratio e2e psk_only_p50 / quarantine_p50 = %.0fx\n", p * 1000 / d }'
awk -v d="$d99" 'BEGIN { printf "goal e2e quarantine p99 <= 1000 ms under TCG: %s (%.1f ms)\n", d <= 1000 ? "PASS" : "FAIL", d }'
awk -v a="$v50" -v b="$d50" 'BEGIN { printf "goal e2e v2 quarantine p50 not slower than v1 (ratio <= 1.10): %s (%.2f)\n", a / b <= 1.10 ? "PASS" : "MISS", a / b }'
awk -v d="$v99" 'BEGIN { printf "goal e2e v2 quarantine p99 <= 1000 ms under TCG: %s (%.1f ms)\n", d <= 1000 ? "PASS" : "FAIL", d }'
[ "$nd" -eq "$ROUNDS" ] || echo "goal e2e all $ROUNDS flips measured: FAIL ($nd)"
[ "$n2" -eq "$ROUNDS" ] || echo "goal e2e all $ROUNDS v2 flips measured: FAIL ($n2)"
if [ "$nc" -gt 0 ]; then
	awk -v c="$c99" -v n="$nc" -v r="$ROUNDS" 'BEGIN { printf "goal e2e every v2 quarantine confirmed by all peers (acks): %s (%d of %d, p99 %.0f ms)\n", n == r ? "PASS" : "MISS", n, r, c }'
else
	echo "goal e2e every v2 quarantine confirmed by all peers (acks): MISS (0 of $ROUNDS)"
fi
