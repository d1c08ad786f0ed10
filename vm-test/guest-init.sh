#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# /init of the test guest built by vm-test/run-vm.sh. Mounts the pseudo file
# systems, loads the boot modules, then (per /etc/meshnet-vm/config) runs the
# suites, one command, or a shell; ends by writing a status byte to the
# isa-debug-exit port 0xf4 (QEMU exits with (v << 1) | 1).
# /bin/sh is dash: scripts get /usr/sbin/ip (iproute2), not busybox's applet.

export PATH=/opt/meshnet/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/root TERM=vt100 LANG=C
MARK=@@MESHNET-VM@@

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts /dev/shm
# devtmpfs has no fd links; bash process substitution needs /dev/fd.
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
mount -t devpts devpts /dev/pts
mount -t tmpfs tmpfs /tmp
mount -t tmpfs tmpfs /run
mount -t tmpfs tmpfs /dev/shm
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mkdir -p /run/netns /var/tmp
hostname meshnet-vm
# The console starts with terminal escapes: begin on a fresh line.
echo
/usr/sbin/ip link set lo up
. /etc/meshnet-vm/config

guest_exit() {
	# Let the console drain, then leave through the debug-exit port.
	sync
	printf "\\$(printf '%03o' "$1")" | dd of=/dev/port bs=1 seek=244 count=1 2>/dev/null
	# Not reached with isa-debug-exit; fall back to a power-off.
	poweroff -f
}

if [ -f /lib/modules/boot/order ]; then
	while read -r ko; do
		insmod "/lib/modules/boot/$ko" 2>/tmp/insmod.err ||
			grep -q 'File exists' /tmp/insmod.err ||
			echo "init: insmod $ko failed: $(cat /tmp/insmod.err)"
	done </lib/modules/boot/order
fi
taint_boot=$(cat /proc/sys/kernel/tainted)

case $VM_MODE in
shell)
	echo "meshnet test guest: modules in /lib/modules/boot, meshnet.ko at"
	echo "/lib/meshnet/meshnet.ko (not loaded), selftests in /opt/meshnet/selftests."
	echo "Exit the shell to power off."
	setsid cttyhack /bin/bash -l || setsid cttyhack /bin/sh
	guest_exit 0
	;;
run)
	cd /opt/meshnet/selftests || exit 1
	echo "$MARK RUN-BEGIN"
	/bin/sh /etc/meshnet-vm/run.sh
	rc=$?
	[ "$rc" -gt 255 ] && rc=255
	guest_exit "$rc"
	;;
esac

dmesg -c >/tmp/dmesg-boot.txt

# Runs "$@" in a new session and kills the whole session after $limit
# seconds; returns the command's status (124 on time-out).
run_limited() {
	limit=$1; shift
	setsid "$@" </dev/null &
	pid=$!
	(sleep "$limit"; touch /tmp/timed-out.$pid
		echo "# runner: time limit of ${limit}s reached, killing"
		kill -KILL -"$pid" 2>/dev/null) &
	watchdog=$!
	wait "$pid"
	rc=$?
	kill "$watchdog" 2>/dev/null
	wait "$watchdog" 2>/dev/null
	# Stray background processes of the suite go too.
	kill -KILL -"$pid" 2>/dev/null
	if [ -e /tmp/timed-out.$pid ]; then
		rc=124
	fi
	return $rc
}

# Between suites: no leftover namespaces, no module loaded.
cleanup_after_suite() {
	for ns in $(/usr/sbin/ip netns list 2>/dev/null | awk '{print $1}'); do
		/usr/sbin/ip netns del "$ns" 2>/dev/null
	done
	if grep -q '^meshnet ' /proc/modules; then
		rmmod meshnet 2>/dev/null ||
			echo "# runner: rmmod meshnet after suite $1 failed"
	fi
}

failed=0
for s in $VM_SUITES; do
	var=$(echo "$s" | tr -c 'A-Za-z0-9_\n' '_')
	eval "path=\$VM_SUITE_PATH_$var limit=\$VM_SUITE_LIMIT_$var"
	echo "$MARK BEGIN $s"
	start=$(cut -d. -f1 /proc/uptime)
	(cd "$(dirname "$path")" && run_limited "$limit" /bin/sh "$path") 2>&1
	rc=$?
	end=$(cut -d. -f1 /proc/uptime)
	echo "$MARK END $s rc=$rc secs=$((end - start))"
	[ "$rc" -eq 0 ] || failed=1
	cleanup_after_suite "$s" >/dev/null 2>&1
	dmesg -c >"/tmp/dmesg-suite-$s.txt"
done

# ------------------------------------------------------------ dmesg ---
# Kernel messages of the whole run, checked per suite so an offender names
# the suite that caused it.
PATTERNS='WARNING:|BUG:|Oops|KASAN|KFENCE|UBSAN|possible circular locking|'\
'suspicious RCU usage|inconsistent lock state|'\
'sleeping function called from invalid context|scheduling while atomic|'\
'list_add corruption|list_del corruption|refcount_t:|refcount_t |'\
'rcu_sched self-detected stall|rcu: INFO|soft lockup|hung_task|'\
'blocked for more than|general protection fault|Unable to handle kernel|'\
'kernel BUG at|Kernel panic|unreferenced object'
echo "$MARK BEGIN dmesg"
dmesg -c >/tmp/dmesg-end.txt
echo "TAP version 13"
echo "1..2"
bad=0 npass=0 nfail=0
for f in /tmp/dmesg-boot.txt /tmp/dmesg-suite-*.txt /tmp/dmesg-end.txt; do
	[ -f "$f" ] || continue
	if grep -E -q "$PATTERNS" "$f"; then
		bad=1
		src=${f#/tmp/dmesg-}; src=${src%.txt}; src=${src#suite-}
		echo "# kernel problem reported during: $src"
		grep -E -B 2 -A 25 "$PATTERNS" "$f" | head -n 80 | sed 's/^/#   /'
	fi
done
if [ "$bad" -eq 0 ]; then
	npass=$((npass + 1))
	echo "ok 1 dmesg: no WARNING/BUG/Oops/KASAN/lockdep/RCU/lockup reports"
else
	nfail=$((nfail + 1))
	echo "not ok 1 dmesg: kernel reported problems (above)"
fi
# Taint bits allowed: O (12, out-of-tree) and E (13, unsigned module).
taint=$(cat /proc/sys/kernel/tainted)
other=$((taint & ~((1 << 12) | (1 << 13))))
if [ "$other" -eq 0 ]; then
	npass=$((npass + 1))
	echo "ok 2 kernel taint $taint has no flag besides O/E (boot: $taint_boot)"
else
	nfail=$((nfail + 1))
	echo "# taint bits set: $(i=0; while [ $i -lt 20 ]; do
		[ $((other >> i & 1)) -eq 1 ] && printf '%s ' $i; i=$((i + 1)); done)"
	echo "not ok 2 kernel taint $taint has flags besides O/E (boot: $taint_boot)"
fi
echo "# Totals: pass:$npass fail:$nfail xfail:0 xpass:0 skip:0 error:0"
echo "$MARK END dmesg rc=$nfail secs=0"
[ "$nfail" -eq 0 ] || failed=1
guest_exit "$failed"
