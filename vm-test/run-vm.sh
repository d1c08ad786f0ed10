#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Boots a kernel in QEMU (TCG) with a busybox initramfs holding WireGuard,
# iproute2, nftables, meshnet.ko, the project's binaries and the selftests/
# tree, runs the guest suites (selftests/*/*.vmsuite) and splits the serial
# console into build/results/vm-<name>-<suite>.log (kselftest TAP with a
# "# Totals:" line each), plus a dmesg/taint check suite vm-<name>-dmesg.
# The contract is docs/VM-TEST.md.
#
#   host                                  guest (QEMU, -accel tcg)
#   run-vm.sh --+-- initramfs: base.cpio  /init: mount, insmod deps,
#               |   (cached) + proj.cpio   for each suite: BEGIN marker,
#               |                          sh suite.vmsuite, END marker,
#               +-- serial console ------> dmesg check, exit code to port 0xf4
#               +-- split by markers ----> build/results/vm-NAME-SUITE.log
#
# Usage: see usage() below or docs/VM-TEST.md.
set -euo pipefail
# The whole script is one compound command: bash parses all of it before
# running, so editing this file cannot break a run in progress.
{

TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KVER=${KVER:-$(ls /lib/modules 2>/dev/null | sort -V | tail -n 1)}
CACHE=${CACHE:-$HOME/.cache/meshnet}
RESULTS=${RESULTS:-$TOP/build/results}
DEFAULT_APPEND="slub_debug=FZPU panic_on_warn=1"

kernel=/boot/vmlinuz-$KVER
modules_dir=/lib/modules/$KVER
meshnet_ko=$TOP/kmod/meshnet.ko
append=$DEFAULT_APPEND
append_extra=
name=stock
suites=
run_cmd=
mode=suites
timeout=
suite_timeout=600
timeout_scale=1
mem=1024
smp=2
console_log=
keep=0
pg_url=${MESHNET_PG_URL:-}

# Modules loaded at boot, in this order, with their dependencies (from
# modprobe --show-depends). nf_tables brings sets, lookup, payload, meta,
# cmp, counter and immediate built in: enough for "ip saddr @set drop".
BOOT_MODULES="udp_tunnel ip6_udp_tunnel wireguard veth dummy bridge
	nf_tables"

# Host programs copied into the guest (with their ldd libraries), if present.
GUEST_TOOLS="/usr/bin/wg /usr/sbin/ip /usr/sbin/nft /usr/sbin/genl /usr/sbin/tc
	/usr/sbin/bridge /usr/bin/ss /usr/bin/timeout /bin/bash /bin/dash
	/usr/bin/openssl /usr/bin/curl"

usage() {
	cat <<EOF
usage: $0 [options]
  --kernel BZIMAGE       kernel image (default /boot/vmlinuz-\$KVER, KVER=$KVER)
  --modules-dir DIR|none modules tree (default /lib/modules/\$KVER); none: the
                         kernel has wireguard, veth, nf_tables built in
  --meshnet-ko PATH      module copied to /lib/meshnet/meshnet.ko (default kmod/meshnet.ko)
  --name NAME            results are build/results/vm-NAME-SUITE.log (default stock)
  --suites "a b"         suites to run (basenames of selftests/*/*.vmsuite; default all)
  --append "ARGS"        extra kernel cmdline, replaces the default "$DEFAULT_APPEND"
  --append-extra "ARGS"  extra kernel cmdline added to the default one
  --run "CMD"            run one guest command, stream its output, exit with its status
  --shell                interactive guest shell on the console (Ctrl-A x quits QEMU)
  --timeout SECONDS      limit for the whole QEMU run (default: from the suites)
  --suite-timeout SECS   default guest-side limit per suite (default $suite_timeout;
                         a suite may say "# vmsuite-timeout: N")
  --timeout-scale N      multiply every suite limit and the derived QEMU limit
                         by N (slow debug kernels; default 1)
  --mem MB, --smp N      guest size (default $mem MB, $smp CPUs)
  --results DIR          where the suite logs go (default build/results)
  --console-log FILE     keep the raw serial console here
                         (default build/vm/NAME/console.log)
  --keep                 keep the work dir (build/vm/NAME.XXXXXX: initramfs, split logs)
  --pg-url URL           a PostgreSQL server on the host (postgres://ROLE@127.0.0.1:PORT/DB...,
                         as scripts/pg-test-server.sh prints it), reached from the guest
                         through a user-mode NIC (virtio-net, 10.0.2.2 is the host's
                         loopback); the guest suites get it as VM_PG_URL (default
                         \$MESHNET_PG_URL, set by scripts/pg-test-server.sh run)
EOF
}

die() { echo "run-vm: $*" >&2; exit 2; }
need_arg() { [ $# -ge 2 ] || die "option $1 needs an argument"; }

while [ $# -gt 0 ]; do
	case $1 in
	--kernel) need_arg "$@"; kernel=$2; shift 2 ;;
	--modules-dir) need_arg "$@"; modules_dir=$2; shift 2 ;;
	--meshnet-ko) need_arg "$@"; meshnet_ko=$2; shift 2 ;;
	--name) need_arg "$@"; name=$2; shift 2 ;;
	--suites) need_arg "$@"; suites=$2; shift 2 ;;
	--append) need_arg "$@"; append=$2; shift 2 ;;
	--append-extra) need_arg "$@"; append_extra=$2; shift 2 ;;
	--run) need_arg "$@"; run_cmd=$2; mode=run; shift 2 ;;
	--shell) mode=shell; shift ;;
	--timeout) need_arg "$@"; timeout=$2; shift 2 ;;
	--suite-timeout) need_arg "$@"; suite_timeout=$2; shift 2 ;;
	--timeout-scale) need_arg "$@"; timeout_scale=$2; shift 2 ;;
	--mem) need_arg "$@"; mem=$2; shift 2 ;;
	--smp) need_arg "$@"; smp=$2; shift 2 ;;
	--results) need_arg "$@"; RESULTS=$2; shift 2 ;;
	--console-log) need_arg "$@"; console_log=$2; shift 2 ;;
	--keep) keep=1; shift ;;
	--pg-url) need_arg "$@"; pg_url=$2; shift 2 ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; die "unknown option '$1'" ;;
	esac
done

case $name in ''|*[!A-Za-z0-9_.-]*) die "--name '$name': use letters, digits, . _ -" ;; esac
for n in "$suite_timeout" "$timeout_scale" "$mem" "$smp" ${timeout:+"$timeout"}; do
	case $n in ''|*[!0-9]*) die "'$n' is not a number of seconds/MB/CPUs" ;; esac
done
[ -r "$kernel" ] || die "--kernel '$kernel': no such readable file"
# The guest reaches the host's 127.0.0.1 as 10.0.2.2 (QEMU user networking).
guest_pg_url=
if [ -n "$pg_url" ]; then
	guest_pg_url=$(printf '%s\n' "$pg_url" |
		sed -n 's|^\(postgres\(ql\)\{0,1\}://[^@/]*@\)127\.0\.0\.1\(:[0-9][0-9]*/.*\)$|\110.0.2.2\3|p')
	[ -n "$guest_pg_url" ] ||
		die "--pg-url '$pg_url': expected postgres://ROLE@127.0.0.1:PORT/DB (a server on the host's loopback)"
	BOOT_MODULES="$BOOT_MODULES virtio_pci virtio_net"
fi
if [ "$modules_dir" != none ]; then
	[ -d "$modules_dir" ] || die "--modules-dir '$modules_dir': no such directory"
	case $modules_dir in
	*/lib/modules/*) ;;
	*) die "--modules-dir '$modules_dir': expected ROOT/lib/modules/KVER" ;;
	esac
fi
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (make deps)"
[ -x /bin/busybox ] || die "/bin/busybox missing (make deps: busybox-static)"

# A private work dir per run: colleagues may run the same --name at once.
mkdir -p "$TOP/build/vm" "$CACHE"
workdir=$(mktemp -d "$TOP/build/vm/$name.XXXXXX")
[ "$keep" = 1 ] || trap 'rm -rf "$workdir"' EXIT
# The console is written to the work dir and moved to its place at the end.
console_final=${console_log:-$TOP/build/vm/$name/console.log}
console_log=$workdir/console.log
mkdir -p "$workdir/root" "$(dirname "$console_final")"

# ---------------------------------------------------------------- suites ---
declare -A suite_path=()
all_suites=()
for f in $(ls "$TOP"/selftests/*/*.vmsuite 2>/dev/null | sort); do
	s=$(basename "$f" .vmsuite)
	suite_path[$s]=$f
done
mapfile -t all_suites < <(printf '%s\n' "${!suite_path[@]}" | sort)
selected=()
if [ "$mode" = suites ]; then
	if [ -n "$suites" ]; then
		for s in $suites; do
			[ -n "${suite_path[$s]:-}" ] || die "--suites: no selftests/*/$s.vmsuite"
			selected+=("$s")
		done
	else
		for s in "${all_suites[@]}"; do
			# "# vmsuite-kernels: debug" limits a suite to those --name values
			k=$(sed -n 's/^# vmsuite-kernels: *//p' "${suite_path[$s]}" | head -n 1)
			if [ -n "$k" ] && ! [[ " $k " == *" $name "* ]]; then
				continue
			fi
			selected+=("$s")
		done
	fi
fi

suite_limit() {
	local t
	t=$(sed -n 's/^# vmsuite-timeout: *\([0-9]*\).*/\1/p' "${suite_path[$1]}" | head -n 1)
	echo $((${t:-$suite_timeout} * timeout_scale))
}
# Limits are read once: the suite files may change while the guest runs.
declare -A suite_limits=()
for s in ${selected[@]+"${selected[@]}"}; do
	suite_limits[$s]=$(suite_limit "$s")
done

# ------------------------------------------------------ initramfs: base ---
# Copies a host file to the same path under $1, plus every library ldd lists.
copy_with_libs() {
	local root=$1 f=$2 lib
	[ -e "$f" ] || return 0
	mkdir -p "$root$(dirname "$f")"
	cp -L "$f" "$root$f"
	for lib in $(ldd "$f" 2>/dev/null | awk '/=> \//{print $3} /^\t\/[^ ]+ \(/{print $1}'); do
		[ -e "$root$lib" ] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}

module_files() {
	local m root
	[ "$modules_dir" = none ] && return 0
	# modprobe wants ROOT with ROOT/lib/modules/KVER
	root=${modules_dir%/lib/modules/*}
	for m in $BOOT_MODULES; do
		modprobe -d "${root:-/}" -S "$(basename "$modules_dir")" \
			--show-depends "$m" 2>/dev/null | awk '$1 == "insmod" {print $2}' |
			grep . || echo "run-vm: warning: no module $m in $modules_dir" >&2
	done | awk '!seen[$0]++'
}

build_base() {
	local root m rel out applet
	root=$(mktemp -d "$CACHE/vm-base.XXXXXX")
	mkdir -p "$root"/{bin,sbin,etc,proc,sys,dev,tmp,run,root,var,mnt} \
		"$root"/usr/{bin,sbin} "$root"/lib/modules "$root"/lib/x86_64-linux-gnu \
		"$root"/lib64 "$root"/usr/lib
	ln -s /run "$root/var/run"
	ln -s /lib/x86_64-linux-gnu "$root/usr/lib/x86_64-linux-gnu"
	cp /bin/busybox "$root/bin/busybox"
	for f in $GUEST_TOOLS; do
		copy_with_libs "$root" "$f"
	done
	# Busybox applets for everything the real tools above do not provide.
	# /bin/sh is dash, not busybox ash: busybox ash would run its own "ip"
	# applet even when /usr/sbin/ip comes first in PATH.
	for applet in $(/bin/busybox --list); do
		for d in /bin /sbin /usr/bin /usr/sbin; do
			[ -e "$root$d/$applet" ] && continue 2
		done
		ln -s busybox "$root/bin/$applet"
	done
	ln -sf dash "$root/bin/sh"
	for m in ${modfiles[@]+"${modfiles[@]}"}; do
		rel=${m#"$modules_dir"/}
		mkdir -p "$root/lib/modules/boot"
		case $m in
		*.ko.xz) xz -dc "$m" >"$root/lib/modules/boot/$(basename "$m" .xz)" ;;
		*.ko.zst) zstd -qdc "$m" >"$root/lib/modules/boot/$(basename "$m" .zst)" ;;
		*) cp "$m" "$root/lib/modules/boot/" ;;
		esac
		basename "${rel%.xz}" | sed 's/\.zst$//' >>"$root/lib/modules/boot/order"
	done
	[ -d /usr/lib/ssl ] && mkdir -p "$root/usr/lib/ssl" &&
		cp -L /usr/lib/ssl/openssl.cnf "$root/usr/lib/ssl/" 2>/dev/null || true
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\n' \
		>"$root/etc/passwd"
	printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
	printf '127.0.0.1 localhost\n::1 localhost\n' >"$root/etc/hosts"
	printf 'passwd: files\ngroup: files\nhosts: files\n' >"$root/etc/nsswitch.conf"
	out=$(mktemp "$CACHE/vm-base.cpio.XXXXXX")
	(cd "$root" && find . -print0 | sort -z | cpio --null -o -H newc --quiet) >"$out"
	mv "$out" "$base_cpio"
	rm -rf "$root"
}

mapfile -t modfiles < <(module_files)
# The base depends on the code that builds it and on the files it copies.
base_key=$( {
	declare -f build_base copy_with_libs
	echo "$BOOT_MODULES $GUEST_TOOLS $modules_dir"
	stat -L -c '%n %s %Y' /bin/busybox $GUEST_TOOLS ${modfiles[@]+"${modfiles[@]}"} 2>/dev/null
} | sha256sum | cut -c1-16)
base_cpio=$CACHE/vm-base-$base_key.cpio

t_start=$(date +%s)
if [ ! -s "$base_cpio" ]; then
	echo "run-vm: building initramfs base ($base_cpio)"
	# Old bases go once unused for a day (a parallel run may still read one).
	find "$CACHE" -maxdepth 1 -name 'vm-base-*.cpio' -mmin +1440 -delete 2>/dev/null || true
	build_base
fi
touch "$base_cpio"

# --------------------------------------------------- initramfs: project ---
root=$workdir/root
mkdir -p "$root/opt/meshnet/bin" "$root/lib/meshnet" "$root/etc/meshnet-vm"
# Libraries already in the base do not need copying again.
base_list=$workdir/base.list
cpio -it --quiet <"$base_cpio" | sed 's|^\./|/|' >"$base_list"

copy_project_bin() {
	local f=$1 lib
	cp "$f" "$root/opt/meshnet/bin/"
	for lib in $(ldd "$f" 2>/dev/null | awk '/=> \//{print $3} /^\t\/[^ ]+ \(/{print $1}'); do
		grep -qxF "$lib" "$base_list" && continue
		[ -e "$root$lib" ] && continue
		mkdir -p "$root$(dirname "$lib")"
		cp -L "$lib" "$root$lib"
	done
}

if [ -z "${VM_BINS+set}" ]; then
	VM_BINS=$(make -s --no-print-directory -C "$TOP" vm-print-bins 2>/dev/null || true)
fi
bins=()
for b in meshnetctl meshnetd meshnet-agent $VM_BINS; do
	if [ -x "$TOP/build/$b" ]; then
		copy_project_bin "$TOP/build/$b"
		bins+=("$b")
	else
		echo "run-vm: note: build/$b not built, not in the guest"
	fi
done
if [ -f "$meshnet_ko" ]; then
	cp "$meshnet_ko" "$root/lib/meshnet/meshnet.ko"
else
	echo "run-vm: warning: $meshnet_ko missing (make kmod); suites that need it will fail"
fi
mkdir -p "$root/opt/meshnet/selftests"
(cd "$TOP/selftests" && tar --exclude='*.o' --exclude='*.d' -cf - .) |
	tar -xf - -C "$root/opt/meshnet/selftests"
cp "$TOP/vm-test/guest-init.sh" "$root/init"
chmod 755 "$root/init"

{
	echo "VM_NAME='$name'"
	echo "VM_MODE='$mode'"
	echo "VM_PG_URL='$guest_pg_url'"
	printf 'VM_SUITES='\''%s'\''\n' "${selected[*]:-}"
	for s in ${selected[@]+"${selected[@]}"}; do
		rel=${suite_path[$s]#"$TOP"/selftests/}
		echo "VM_SUITE_PATH_${s//[^A-Za-z0-9_]/_}='/opt/meshnet/selftests/$rel'"
		echo "VM_SUITE_LIMIT_${s//[^A-Za-z0-9_]/_}='${suite_limits[$s]}'"
	done
} >"$root/etc/meshnet-vm/config"
[ "$mode" = run ] && printf '%s\n' "$run_cmd" >"$root/etc/meshnet-vm/run.sh"

initrd=$workdir/initrd.cpio
(cd "$root" && find . -print0 | sort -z | cpio --null -o -H newc --quiet) >"$workdir/proj.cpio"
cat "$base_cpio" "$workdir/proj.cpio" >"$initrd"
echo "run-vm: initramfs ready in $(($(date +%s) - t_start)) s ($(du -h "$initrd" | cut -f1)), binaries: ${bins[*]:-none}"

# -------------------------------------------------------------- boot ---
if [ -z "$timeout" ]; then
	case $mode in
	shell) timeout=14400 ;;
	run) timeout=1800 ;;
	*)
		timeout=$((120 * timeout_scale))
		for s in ${selected[@]+"${selected[@]}"}; do
			timeout=$((timeout + ${suite_limits[$s]} + 15))
		done ;;
	esac
fi
cmdline="console=ttyS0 panic=-1 oops=panic loglevel=4 log_buf_len=8M"
cmdline="$cmdline rdinit=/init $append $append_extra"
qemu=(timeout --foreground -k 10 "$timeout" qemu-system-x86_64 -accel tcg -cpu max
	-smp "$smp" -m "$mem" -nographic -no-reboot
	-device isa-debug-exit,iobase=0xf4,iosize=0x04
	-kernel "$kernel" -initrd "$initrd" -append "$cmdline")
# No NIC unless a suite needs the host's PostgreSQL (no ROM: nothing boots from it).
[ -n "$guest_pg_url" ] && qemu+=(-netdev user,id=pgnet,net=10.0.2.0/24
	-device virtio-net-pci,netdev=pgnet,romfile=)

echo "run-vm: booting $kernel ($name, mode $mode, limit ${timeout}s): $cmdline"
if [ "$mode" = shell ]; then
	set +e
	"${qemu[@]}"
	exit 0
fi

set +e
if [ "$mode" = run ]; then
	# Stream only what the guest command prints (and any kernel report).
	"${qemu[@]}" </dev/null 2>&1 | tee "$console_log" | tr -d '\r' |
		sed -u -n '/^@@MESHNET-VM@@ RUN-BEGIN/,${/^@@MESHNET-VM@@/!p}'
	qrc=${PIPESTATUS[0]}
else
	"${qemu[@]}" </dev/null >"$console_log" 2>&1
	qrc=$?
fi
set -e
tr -d '\r' <"$console_log" >"$console_log.txt" && mv "$console_log.txt" "$console_log"
cp "$console_log" "$console_final.$$" && mv "$console_final.$$" "$console_final"
t_total=$(($(date +%s) - t_start))

# QEMU exits with (v << 1) | 1 when the guest writes v to port 0xf4.
guest_rc=
if [ $((qrc & 1)) -eq 1 ] && [ "$qrc" -ne 124 ] && [ "$qrc" -lt 256 ]; then
	guest_rc=$((qrc >> 1))
fi
died=
if grep -a -q -E 'Kernel panic - not syncing|---\[ end Kernel panic' "$console_log"; then
	died="kernel panic"
elif [ "$qrc" -eq 124 ] || [ "$qrc" -eq 137 ]; then
	died="QEMU killed after ${timeout}s"
elif [ -z "$guest_rc" ]; then
	died="QEMU exited $qrc without a guest exit code"
fi

if [ "$mode" = run ]; then
	if [ -n "$died" ]; then
		echo "run-vm: guest did not finish: $died (console: $console_final)" >&2
		grep -a -A30 -E 'Kernel panic|BUG:|WARNING:|Oops' "$console_log" | head -n 60 >&2 || true
		exit 125
	fi
	echo "run-vm: guest command exited $guest_rc after ${t_total}s"
	exit "$guest_rc"
fi

# ------------------------------------------------- split the console ---
# Lines between "@@MESHNET-VM@@ BEGIN s" and "@@MESHNET-VM@@ END s rc=N secs=T"
# are suite s's output; a suite with no END never finished.
split=$workdir/split
rm -rf "$split"; mkdir -p "$split"
awk -v dir="$split" '
/^@@MESHNET-VM@@ BEGIN / { cur = $3; out = dir "/" cur ".out"; printf "" > out; next }
/^@@MESHNET-VM@@ END / {
	rc = $4; sub(/^rc=/, "", rc); secs = $5; sub(/^secs=/, "", secs)
	print rc > (dir "/" $3 ".rc"); print secs > (dir "/" $3 ".secs")
	close(dir "/" $3 ".rc"); close(dir "/" $3 ".secs"); close(out); cur = ""; next
}
cur != "" { print >> out }
' "$console_log"

mkdir -p "$RESULTS"
report_suite() {
	local s=$1 out=$split/$1.out rc secs note
	if [ -f "$split/$s.rc" ]; then
		rc=$(cat "$split/$s.rc"); secs=$(cat "$split/$s.secs")
		[ "$rc" = 124 ] && note="timed out in the guest (limit ${suite_limits[$s]}s)"
	elif [ -f "$out" ]; then
		rc=1; secs=?; note="never finished: ${died:-guest stopped}"
	else
		rc=1; secs=-; note="not run: ${died:-guest stopped before it}"
		: >"$out"
	fi
	if [ -n "${note:-}" ]; then
		echo "# runner: suite $s $note" >>"$out"
		if [ -n "$died" ]; then
			echo "# runner: console tail:" >>"$out"
			tail -n 40 "$console_log" | sed 's/^/#   /' >>"$out"
		fi
	fi
	printf '%-24s rc=%-4s %5ss\n' "$s" "$rc" "$secs" >>"$workdir/summary"
	sh "$TOP/scripts/run-suite.sh" "$RESULTS" "vm-$name-$s" \
		sh -c 'cat "$1"; exit "$2"' sh "$out" "$rc" >/dev/null
	grep -E '^(not ok|# Totals)' "$RESULTS/vm-$name-$s.log" | sed "s/^/  [$s] /" | tail -n 20
}

: >"$workdir/summary"
for s in ${selected[@]+"${selected[@]}"} dmesg; do
	report_suite "$s"
done
echo "run-vm: $name finished in ${t_total}s${died:+ ($died)}; per suite:"
cat "$workdir/summary"
# Exit status: 0 when every suite passed.
bad=0
for s in ${selected[@]+"${selected[@]}"} dmesg; do
	grep -Eq '^# Totals: pass:[0-9]+ fail:[1-9]' "$RESULTS/vm-$name-$s.log" && bad=1
done
exit $bad
}
