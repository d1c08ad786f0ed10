#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Harness self-test (issue 7): proves the debug kernel reports each class of
# bug the VM suites count on it to catch. One short boot per planted bug
# (selftests/detector/meshnet_detector.c), WITHOUT panic_on_warn (with
# kasan_multi_shot), so each bug is checked on its own; a test passes only
# when the expected report is in that boot's console log. A control boot
# triggers nothing and must stay quiet.
#
#   host: detector-boots.sh             guest (debug kernel, --run mode)
#     for each bug:                       plant.sh BUG: insmod
#       run-vm.sh --run "plant.sh BUG" -->  meshnet_detector.ko, write BUG to
#       grep console log for the report     debugfs trigger, dmesg, kmemleak
#
# Usage: detector-boots.sh --kernel BZIMAGE [--bugs "oob uaf ..."]
# Prints kselftest TAP ending in a "# Totals:" line.
set -u

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
kernel=
bugs="none oob uaf rcu-sleep shift kfence-uaf leak"
logdir=$TOP/build/vm/detector

while [ $# -gt 0 ]; do
	case $1 in
	--kernel) kernel=${2:?--kernel needs a bzImage}; shift 2 ;;
	--bugs) bugs=${2:?--bugs needs a list}; shift 2 ;;
	*) echo "detector-boots: unknown argument '$1'" >&2; exit 2 ;;
	esac
done
[ -r "$kernel" ] || { echo "detector-boots: --kernel '$kernel': no such file" >&2; exit 2; }
module=$TOP/selftests/detector/meshnet_detector.ko
[ -r "$module" ] || { echo "detector-boots: $module missing (make detector-debug)" >&2; exit 2; }

# What each boot's console must show (extended regexes, all must match).
declare -A expect=(
	[none]='plant: kmemleak-check exited 0'
	[oob]='BUG: KASAN: slab-out-of-bounds in detector_oob_write'
	[uaf]='BUG: KASAN: (slab-)?use-after-free in detector_uaf_read'
	[rcu-sleep]='BUG: sleeping function called from invalid context|detector_sleep_in_rcu'
	[shift]='UBSAN: shift-out-of-bounds in .*meshnet_detector\.c'
	[kfence-uaf]='BUG: KFENCE: use-after-free read in detector_kfence_uaf'
	[leak]='plant: kmemleak-check exited 1|unreferenced object|detector_leak'
)
declare -A what=(
	[none]='control: no planted bug, no report, kmemleak clean'
	[oob]='KASAN reports the out-of-bounds write'
	[uaf]='KASAN reports the use-after-free read'
	[rcu-sleep]='DEBUG_ATOMIC_SLEEP reports GFP_KERNEL under rcu_read_lock()'
	[shift]='UBSAN reports the out-of-range shift'
	[kfence-uaf]='KFENCE reports the use-after-free read'
	[leak]='kmemleak reports the leaked object and the check fails'
)
# A report of any kind: must be absent from the control boot.
REPORT='BUG: |WARNING: |UBSAN: |Oops|general protection fault|sleeping function called|possible circular locking|suspicious RCU usage'

mkdir -p "$logdir"
n=0
for bug in $bugs; do
	[ -n "${expect[$bug]:-}" ] || { echo "detector-boots: unknown bug '$bug'" >&2; exit 2; }
	n=$((n + 1))
done
echo "TAP version 13"
echo "1..$n"
pass=0 fail=0 i=0
for bug in $bugs; do
	i=$((i + 1))
	console=$logdir/$bug.console
	start=$(date +%s)
	# A boot that dies before userspace (no "plant:" line: the planted module
	# is loaded from userspace, so it cannot be the cause) is retried once; the
	# first console is kept as BUG.console.boot1 and the retry is reported.
	for attempt in 1 2; do
		VM_BINS=${VM_BINS-} "$TOP/vm-test/run-vm.sh" --kernel "$kernel" --modules-dir none \
			--meshnet-ko /nonexistent/meshnet.ko --name "detector-$bug" \
			--append "kasan_multi_shot" --console-log "$console" --timeout 300 \
			--run "sh /opt/meshnet/selftests/detector/plant.sh $bug" >"$logdir/$bug.run" 2>&1
		rc=$?
		grep -aq 'plant:' "$console" && break
		[ "$attempt" = 1 ] || break
		mv "$console" "$console.boot1"
		echo "# $bug: the guest died before userspace (run-vm rc=$rc); booting it again" \
			"(first console: $console.boot1)"
	done
	secs=$(($(date +%s) - start))
	problems=()
	grep -aq 'plant: dmesg end' "$console" ||
		problems+=("guest did not finish (run-vm rc=$rc)")
	IFS='|' read -r -a needles <<<"${expect[$bug]}"
	for re in "${needles[@]}"; do
		grep -aEq "$re" "$console" || problems+=("no line matching '$re'")
	done
	if [ "$bug" = none ] && grep -aEq "$REPORT" "$console"; then
		problems+=("the control boot has a kernel report")
	fi
	if [ ${#problems[@]} -eq 0 ]; then
		pass=$((pass + 1))
		echo "ok $i $bug: ${what[$bug]} (${secs}s)"
		grep -aE "${expect[$bug]}" "$console" | head -n 3 | sed 's/^/#   /'
	else
		fail=$((fail + 1))
		printf '# %s\n' "${problems[@]}"
		echo "# console ($console), last lines:"
		tail -n 40 "$console" | sed 's/^/#   /'
		echo "not ok $i $bug: ${what[$bug]} (${secs}s)"
	fi
done
echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:0 error:0"
[ "$fail" -eq 0 ]
