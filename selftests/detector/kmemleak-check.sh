#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest side: asks kmemleak for scans, 6 s apart (an object must be older than
# 5 s and keep its checksum from one scan to the next before it is reported),
# until an unreferenced object from a module matching PATTERN shows up or
# KMEMLEAK_SCANS (4) scans are done (two were not always enough for a leak
# made just before, in a loaded TCG guest); fails if there is one. A frame of a module that is
# already unloaded has no symbol any more ("[<addr>] 0xffffffffc0..."): it is
# counted too (in the test guests the only modules are meshnet and the
# planted-bug module). Unreferenced objects allocated by the kernel alone are
# listed as diagnostics, not counted. kselftest TAP output with a Totals line.
#
# Usage: kmemleak-check.sh [PATTERN]     (default: meshnet)
pattern=${1:-meshnet}
kml=/sys/kernel/debug/kmemleak
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok $((pass + fail)) $*"; }
not_ok() { fail=$((fail + 1)); echo "not ok $((pass + fail)) $*"; }
totals() {
	echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:0 error:0"
	[ "$fail" -eq 0 ]
	exit
}

echo "TAP version 13"
echo "1..2"
[ -e /sys/kernel/debug/kmemleak ] || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
if ! [ -e $kml ]; then
	not_ok "kmemleak: $kml missing (kernel without CONFIG_DEBUG_KMEMLEAK?)"
	not_ok "kmemleak: no objects from '$pattern' # not checked"
	totals
fi
if ! echo scan >$kml 2>/tmp/kmemleak.err; then
	# kmemleak turns itself off (e.g. its pool ran out): the net has a hole
	not_ok "kmemleak: scan refused ($(cat /tmp/kmemleak.err)); kmemleak is disabled"
	dmesg | grep -i kmemleak | tail -n 5 | sed 's/^/#   /'
	not_ok "kmemleak: no objects from '$pattern' # not checked"
	totals
fi

# count_ours: sorts the report's records into ours and the kernel's; sets
# n_ours and n_other
count_ours() {
	cat $kml >/tmp/kmemleak.report
	rm -f /tmp/kmemleak.ours /tmp/kmemleak.other
	# One record per "unreferenced object"; tag each as ours or the kernel's.
	awk -v pat="[$pattern" -v ours=/tmp/kmemleak.ours -v other=/tmp/kmemleak.other '
	function flush() {
		if (rec == "") return
		if (hit) { printf "%s", rec >> ours; n_ours++ } else { printf "%s", rec >> other; n_other++ }
		rec = ""; hit = 0
	}
	/^unreferenced object/ { flush() }
	{ rec = rec $0 "\n" }
	index($0, pat) { hit = 1 }
	/^ +\[<[0-9a-f]+>\] 0x[0-9a-f]+$/ { hit = 1 }
	END { flush(); printf "%d %d\n", n_ours, n_other }
	' /tmp/kmemleak.report >/tmp/kmemleak.counts
	read -r n_ours n_other </tmp/kmemleak.counts
}
scans=1
while :; do
	sleep 6
	echo scan >$kml
	scans=$((scans + 1))
	count_ours
	[ "${n_ours:-0}" -eq 0 ] && [ "$scans" -lt "${KMEMLEAK_SCANS:-4}" ] || break
done
ok "kmemleak: $scans scans done"
if [ "${n_other:-0}" -gt 0 ]; then
	echo "# $n_other unreferenced object(s) allocated by the kernel alone (not counted):"
	head -n 40 /tmp/kmemleak.other | sed 's/^/#   /'
fi
if [ "${n_ours:-0}" -eq 0 ]; then
	ok "kmemleak: no unreferenced object from '$pattern'"
else
	echo "# $n_ours unreferenced object(s) from '$pattern' (or an unloaded module):"
	head -n 80 /tmp/kmemleak.ours | sed 's/^/#   /'
	not_ok "kmemleak: $n_ours unreferenced object(s) from '$pattern'"
fi
rm -f /tmp/kmemleak.ours /tmp/kmemleak.other
totals
