#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench-kmod (run in the guest by vm-test/run-vm.sh --run): meshnet.ko
# against an nftables set rule and against no filter, same run, same traffic
# generator (meshnet-udpflood), same WireGuard topology:
#
#   ns c (denied, 10.10.0.3) --wg--> ns a (10.10.0.1) <--wg-- ns b (allowed, 10.10.0.2)
#
# 1. drop rate: c floods a with 64-byte UDP for $SECS s; packets dropped per
#    second at a with meshnet (c DENIED among 10,000 peers), with nftables
#    ("iifname wg0 ip saddr @denied drop", the same 10,000 addresses + c in
#    the set), and with no filter (a UDP sink receives instead).
# 2. allowed throughput: b floods a with 1280-byte UDP; received pps/Mbit/s
#    at a's sink with meshnet attached and 10,000 peers vs module not loaded.
# 3. time to apply a 10,000-peer epoch: the genl transaction as the agent
#    runs it (meshnet-epoch-time, JSON parsed beforehand), the commit alone,
#    and the whole `meshnetctl epoch apply` command.
# Each measurement is repeated $ROUNDS times, modes interleaved; the median
# counts. Output lines start with "bench", "ratio" or "goal" (host collects
# them into build/bench/kmod.txt).

here=$(cd "$(dirname "$0")" && pwd)
. "$here/../enforce/lib.sh"

SECS=${SECS:-4}
ROUNDS=${ROUNDS:-5}
PEERS=${PEERS:-10000}
EPOCH_ROUNDS=${EPOCH_ROUNDS:-9}

median() { tr ' ' '\n' | grep . | sort -n | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.3f", a / b; else print "nan" }'; }
field() { sed -n "s/.*$1=\([0-9.]*\).*/\1/p" "$2"; }

meshnet_on() {
	mn_load >/dev/null || return 1
	n a meshnetctl attach wg0 >/dev/null || return 1
	n a meshnetctl epoch apply "$tmpdir/big.json" >/dev/null
}
meshnet_off() { grep -q '^meshnet ' /proc/modules && rmmod meshnet; true; }

nft_on() {
	{
		echo "table inet meshbench {"
		echo "  set denied { type ipv4_addr; size 65536; elements = { $(v4 c), $(fake_v4_list "$PEERS") } }"
		echo "  chain pre { type filter hook prerouting priority filter; policy accept;"
		echo "    iifname \"wg0\" ip saddr @denied counter drop"
		echo "  }"
		echo "}"
	} >"$tmpdir/bench.nft"
	n a nft -f "$tmpdir/bench.nft"
}
nft_off() { n a nft delete table inet meshbench 2>/dev/null; true; }
nft_dropped() {
	n a nft list chain inet meshbench pre | sed -n 's/.*counter packets \([0-9]*\).*/\1/p'
}

# flood FROM SIZE: FROM floods a:9000 for $SECS s while a's sink listens.
# Prints "sent received rx_wg0" (rx_wg0: packets wg0 on a decrypted).
flood() {
	local from=$1 size=$2 rx0 rx1 sink
	rx0=$(wg_rx_packets a)
	ip netns exec "$ns_a" meshnet-udpflood sink --port 9000 --secs $((SECS + 3)) --idle 1 >"$tmpdir/sink" &
	sink=$!
	sleep 0.3
	n "$from" meshnet-udpflood send --to "$(v4 a)" --port 9000 --secs "$SECS" \
		--size "$size" >"$tmpdir/send"
	sleep 0.5
	rx1=$(wg_rx_packets a)
	kill -TERM "$sink" 2>/dev/null; wait "$sink"
	sed 's/^/#   /' "$tmpdir/send" "$tmpdir/sink" >&2
	echo "$(field sent "$tmpdir/send") $(field received "$tmpdir/sink") $((rx1 - rx0)) $(field mbps "$tmpdir/sink")"
}

echo "# bench-kmod: $(uname -r), $(nproc) vCPUs under TCG, $PEERS peers, ${SECS}s floods, median of $ROUNDS"
meshnet_off
if ! mesh_setup >/dev/null || ! ping_retry 4 a b || ! ping_retry 4 c a; then
	echo "# bench-kmod: mesh setup failed" >&2
	exit 1
fi
gen_big_epoch "$tmpdir/big.json" a 1 $(($(date +%s) + 36000)) "$PEERS" 0 c=DENIED

# ------------------------------------------------------ 1. drop rate ---
declare -A drop_pps=()
for r in $(seq "$ROUNDS"); do
	for mode in meshnet nftables nofilter; do
		case $mode in
		meshnet) meshnet_on || exit 1
			n a meshnetctl reset-counters >/dev/null ;;
		nftables) nft_on || exit 1 ;;
		esac
		read -r sent received rxwg _ < <(flood c 64)
		case $mode in
		meshnet) dropped=$(peer_counter a c rx_drop_packets); meshnet_off ;;
		nftables) dropped=$(nft_dropped); nft_off ;;
		nofilter) dropped=$received ;;
		esac
		pps=$(awk -v d="$dropped" -v s="$SECS" 'BEGIN {printf "%.0f", d / s}')
		echo "# round $r $mode: sent=$sent wg0_rx=$rxwg sink_received=$received handled=$dropped -> $pps pps"
		# A filter that let packets through to the sink is not dropping.
		if [ "$mode" != nofilter ] && [ "${received:-0}" -ne 0 ]; then
			echo "# ERROR: $mode let $received packets of the denied peer through" >&2
			exit 1
		fi
		drop_pps[$mode]="${drop_pps[$mode]:-} $pps"
	done
done
m_mesh=$(echo "${drop_pps[meshnet]}" | median)
m_nft=$(echo "${drop_pps[nftables]}" | median)
m_none=$(echo "${drop_pps[nofilter]}" | median)
echo "bench drop_rate_pps meshnet=$m_mesh nftables=$m_nft nofilter_delivered=$m_none (runs:${drop_pps[meshnet]} /${drop_pps[nftables]} /${drop_pps[nofilter]})"
r_drop=$(ratio "$m_mesh" "$m_nft")
echo "ratio drop_rate meshnet/nftables=$r_drop meshnet/nofilter=$(ratio "$m_mesh" "$m_none")"

# ------------------------------------------------ 2. allowed traffic ---
declare -A tput=() tmbps=()
for r in $(seq "$ROUNDS"); do
	for mode in meshnet unloaded; do
		[ "$mode" = meshnet ] && { meshnet_on || exit 1; }
		read -r sent received rxwg mbps < <(flood b 1280)
		[ "$mode" = meshnet ] && meshnet_off
		pps=$(awk -v d="$received" -v s="$SECS" 'BEGIN {printf "%.0f", d / s}')
		echo "# round $r $mode: sent=$sent wg0_rx=$rxwg received=$received -> $pps pps, $mbps Mbit/s"
		tput[$mode]="${tput[$mode]:-} $pps"
		tmbps[$mode]="${tmbps[$mode]:-} $mbps"
	done
done
t_mesh=$(echo "${tput[meshnet]}" | median)
t_base=$(echo "${tput[unloaded]}" | median)
echo "bench allowed_pps meshnet_${PEERS}peers=$t_mesh unloaded=$t_base (runs:${tput[meshnet]} /${tput[unloaded]}) Mbit/s medians $(echo "${tmbps[meshnet]}" | median) / $(echo "${tmbps[unloaded]}" | median)"
r_tput=$(ratio "$t_mesh" "$t_base")
overhead=$(awk -v r="$r_tput" 'BEGIN {printf "%.1f", (1 - r) * 100}')
echo "ratio allowed_throughput meshnet/unloaded=$r_tput overhead=${overhead}%"

# ------------------------------------------------ 3. epoch apply time ---
# meshnet-epoch-time parses the file once, then times the netlink
# transaction (begin + batched set-peers + commit) and the commit alone;
# meshnetctl epoch apply adds process start and the JSON parse.
meshnet_on || exit 1
n a meshnet-epoch-time "$tmpdir/big.json" "$EPOCH_ROUNDS" >"$tmpdir/etime" || exit 1
sed 's/^/#   /' "$tmpdir/etime"
m_apply=$(sed -n 's/^median txn_ms=\([0-9.]*\).*/\1/p' "$tmpdir/etime")
m_commit=$(sed -n 's/^median.*commit_ms=\([0-9.]*\).*/\1/p' "$tmpdir/etime")
ctl=()
for r in 1 2 3; do
	sed "1s/\"id\": [0-9]*/\"id\": $((1000 + r))/" "$tmpdir/big.json" >"$tmpdir/e.json"
	t0=$EPOCHREALTIME
	n a meshnetctl epoch apply "$tmpdir/e.json" >/dev/null || exit 1
	t1=$EPOCHREALTIME
	ctl+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.1f", (b - a) * 1000}')")
done
count=$(state_field a peer_count)
meshnet_off
m_ctl=$(echo "${ctl[*]}" | median)
echo "bench epoch_apply_ms peers=$count transaction_median=$m_apply commit_only_median=$m_commit meshnetctl_epoch_apply_median=$m_ctl (meshnetctl runs: ${ctl[*]})"

# ------------------------------------------------------------ goals ---
verdict() { if awk "BEGIN {exit !($1)}"; then echo MET; else echo MISSED; fi; }
echo "goal drop_rate meshnet/nftables >= 1.0: $r_drop $(verdict "$r_drop >= 1.0")"
echo "goal allowed_overhead <= 3%: ${overhead}% $(verdict "$overhead <= 3")"
echo "goal epoch_apply_10k < 50 ms: transaction $m_apply ms $(verdict "$m_apply < 50") (commit alone $m_commit ms; meshnetctl incl. process start + JSON parse $m_ctl ms)"
