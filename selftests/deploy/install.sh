#!/usr/bin/env bash
# make install / make uninstall into a DESTDIR, and what they put there:
#
#   make install DESTDIR=$tmp/usr-root PREFIX=/usr
#     ├─ usr/sbin/{meshnetd,meshnet-agent,meshnetctl} run (--help)
#     ├─ usr/lib/systemd/system/*.service: systemd-analyze verify clean,
#     │    hardened (security --offline exposure, capabilities, ProtectSystem=strict)
#     ├─ etc/meshnet/*.conf: defaults, kept when edited
#     └─ usr/src/meshnet-VER: dkms build against the Debian kernel headers
#   make install DESTDIR=$tmp/local-root PREFIX=/usr/local (GNU layout)
#   make uninstall: nothing left but an edited config
#   bad PREFIX/DESTDIR: refused with a message, nothing installed
# Usage: install.sh [BUILD]   (the build directory holding the programs)
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/deploy/tap.sh"
tmp=$(mktemp -d /tmp/meshnet-install.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
version=$(cat "$top/VERSION")
programs=(meshnetd meshnet-agent meshnetctl meshnet-admin)
build=${1:-$top/build}
mk() { make -s --no-print-directory -C "$top" "BUILD=$build" "$@"; }

root=$tmp/usr-root
say "make install DESTDIR=$root PREFIX=/usr"
check "make install DESTDIR PREFIX=/usr" mk install "DESTDIR=$root" PREFIX=/usr

files_and_modes() {
	local f want rc=0
	while read -r f want; do
		if [ ! -f "$root/$f" ]; then echo "missing /$f"; rc=1; continue; fi
		[ "$(stat -c %a "$root/$f")" = "$want" ] || { echo "/$f: mode $(stat -c %a "$root/$f"), want $want"; rc=1; }
	done <<-LIST
	usr/sbin/meshnetd 755
	usr/sbin/meshnet-agent 755
	usr/sbin/meshnetctl 755
	usr/sbin/meshnet-admin 755
	usr/share/man/man8/meshnet-admin.8 644
	usr/share/bash-completion/completions/meshnet-admin 644
	usr/share/man/man8/meshnetd.8 644
	usr/share/man/man8/meshnet-agent.8 644
	usr/share/man/man8/meshnetctl.8 644
	usr/lib/systemd/system/meshnetd.service 644
	usr/lib/systemd/system/meshnet-agent@.service 644
	usr/lib/sysusers.d/meshnet.conf 644
	usr/lib/modules-load.d/meshnet.conf 644
	etc/meshnet/meshnetd.conf 644
	etc/meshnet/agent.conf 644
	usr/src/meshnet-$version/dkms.conf 644
	usr/src/meshnet-$version/Kbuild 644
	usr/src/meshnet-$version/kmod/Kbuild 644
	usr/src/meshnet-$version/uapi/linux/meshnet.h 644
	LIST
	return $rc
}
check "installed tree: every file in place with its mode" files_and_modes

dkms_has_all_sources() {
	local f rc=0
	for f in "$top"/kmod/*.c "$top"/kmod/*.h; do
		[ -e "$f" ] || continue
		case $f in *.mod.c) continue ;; esac	# kbuild output of an in-tree build
		cmp -s "$f" "$root/usr/src/meshnet-$version/kmod/${f##*/}" || { echo "kmod/${f##*/} not shipped"; rc=1; }
	done
	return $rc
}
check "DKMS source tree has every kmod source file" dkms_has_all_sources
check "DKMS source tree has no build products" \
	test -z "$(find "$root/usr/src" \( -name '*.o' -o -name '*.ko' -o -name '*.mod*' -o -name '.*.cmd' \) -print)"
check "no secret is installed (no key, token or certificate)" \
	test -z "$(find "$root" \( -name '*.key' -o -name '*.token' -o -name '*.pem' -o -name '*.crt' \) -print)"

binaries_run() {
	local p
	for p in "${programs[@]}"; do
		"$root/usr/sbin/$p" --help >"$tmp/help" 2>&1 || { echo "$p --help failed"; cat "$tmp/help"; return 1; }
		[ -s "$tmp/help" ] || { echo "$p --help printed nothing"; return 1; }
	done
}
check "installed programs run (--help)" binaries_run
check "no @PLACEHOLDER@ left in units, configs and dkms.conf" \
	bash -c "! grep -rn '@[A-Z]*@' '$root/usr/lib/systemd' '$root/etc' '$root/usr/src'"

execstart_paths() {
	local u bin
	for u in meshnetd meshnet-agent; do
		f=$root/usr/lib/systemd/system/$u.service
		[ -f "$f" ] || f=$root/usr/lib/systemd/system/$u@.service
		bin=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$f")
		[ "$bin" = "/usr/sbin/$u" ] || { echo "$u: ExecStart=$bin"; return 1; }
		[ -x "$root$bin" ] || { echo "$u: $bin not installed"; return 1; }
	done
}
check "units start the installed binaries" execstart_paths

# systemd-analyze verify needs the targets units depend on: verify in a copy
# of the installed root with the host's basic targets added.
verify_units() {
	local v=$tmp/verify-root t out
	rm -rf "$v"; cp -a "$root" "$v"
	mkdir -p "$v/bin" && cp /bin/kill "$v/bin/"	# ExecReload
	for t in sysinit.target basic.target multi-user.target network-online.target \
		shutdown.target sockets.target timers.target paths.target slices.target \
		local-fs.target swap.target systemd-modules-load.service wg-quick@.service; do
		[ -e "$v/usr/lib/systemd/system/$t" ] || cp "/lib/systemd/system/$t" "$v/usr/lib/systemd/system/" 2>/dev/null
	done
	out=$(systemd-analyze verify --man=no --root="$v" \
		/usr/lib/systemd/system/meshnetd.service /usr/lib/systemd/system/meshnet-agent@wg0.service 2>&1) ||
		{ echo "$out"; return 1; }
	[ -z "$out" ] || { echo "$out"; return 1; }
}
if command -v systemd-analyze >/dev/null; then
	check "systemd-analyze verify: both units clean" verify_units
	exposure() {
		local unit=$1 max=$2 level
		level=$(systemd-analyze security --offline=yes --root="$root" \
			"/usr/lib/systemd/system/$unit" 2>&1 | sed -n 's/.*Overall exposure level for .*: \([0-9.]*\).*/\1/p')
		[ -n "$level" ] || { echo "no exposure level for $unit"; return 1; }
		echo "$unit $level" >>"$tmp/exposure"
		awk -v l="$level" -v m="$max" 'BEGIN { exit !(l <= m) }' || { echo "$unit exposure $level > $max"; return 1; }
	}
	check "meshnetd.service exposure level <= 1.5 (systemd-analyze security)" exposure meshnetd.service 1.5
	check "meshnet-agent@.service exposure level <= 2.5 (systemd-analyze security)" exposure meshnet-agent@.service 2.5
	[ ! -f "$tmp/exposure" ] || say "systemd-analyze security --offline exposure: $(tr '\n' ' ' <"$tmp/exposure")"
else
	skip "systemd-analyze verify/security" "systemd-analyze not installed"
fi

unit_has() { grep -qx "$2" "$root/usr/lib/systemd/system/$1" || { echo "$1 lacks '$2'"; return 1; }; }
hardening() {
	unit_has meshnetd.service 'DynamicUser=yes' &&
	unit_has meshnetd.service 'CapabilityBoundingSet=' &&
	unit_has meshnetd.service 'ProtectSystem=strict' &&
	unit_has meshnetd.service 'NoNewPrivileges=yes' &&
	unit_has meshnetd.service 'LoadCredential=admin.token:/etc/meshnet/admin.token' &&
	unit_has meshnet-agent@.service 'User=meshnet' &&
	unit_has meshnet-agent@.service 'CapabilityBoundingSet=CAP_NET_ADMIN CAP_NET_RAW CAP_SETUID CAP_SETGID' &&
	unit_has meshnet-agent@.service 'AmbientCapabilities=CAP_NET_ADMIN CAP_NET_RAW CAP_SETUID CAP_SETGID' &&
	unit_has meshnet-agent@.service 'ProtectSystem=strict' &&
	unit_has meshnet-agent@.service 'NoNewPrivileges=yes' &&
	grep -q '^u meshnet ' "$root/usr/lib/sysusers.d/meshnet.conf" &&
	grep -q '^u meshnet-bench ' "$root/usr/lib/sysusers.d/meshnet.conf" &&
	grep -qx 'BENCH_USER=meshnet-bench' "$root/etc/meshnet/agent.conf"
}
check "units: dedicated users (the harness its own), least capabilities, ProtectSystem=strict" hardening

# Restart=always with no start limit (a unit never stays failed), SIGHUP
# reloads, the template follows its WireGuard unit.
lifecycle() {
	local u
	for u in meshnetd.service meshnet-agent@.service; do
		unit_has $u 'Restart=always' && unit_has $u 'StartLimitIntervalSec=0' &&
			unit_has $u 'SyslogLevelPrefix=yes' || return 1
	done
	unit_has meshnet-agent@.service 'ExecReload=/bin/kill -HUP $MAINPID' &&
	unit_has meshnet-agent@.service 'BindsTo=wg-quick@%i.service' &&
	grep -q -- '--interface %i' "$root/usr/lib/systemd/system/meshnet-agent@.service"
}
check "units: Restart=always without a start limit, reload by SIGHUP, agent@IFACE bound to wg-quick@IFACE" lifecycle

# SIGHUP reloads: a bad new config is refused and the agent runs on; a good
# one restarts it in place (same PID); SIGTERM stops it (exit 0).
agent_sighup() {
	local d=$tmp/hup conf pid rc=0
	mkdir -p "$d"; chmod 0700 "$d"; conf=$d/agent.conf
	printf 'NODE_ID=hup-node\nCONTROLLER_URL=http://127.0.0.1:9\nALLOW_PLAIN_HTTP=1\nDEMO_SCORES=yes\nSTATE_DIR=%s\nWG_INTERFACE=mnhup0\nEMIT_INTERVAL_SEC=1\nPROBE_INTERVAL_SEC=0\n' "$d" >"$conf"
	"$root/usr/sbin/meshnet-agent" --config "$conf" >"$d/log" 2>&1 &
	pid=$!
	sleep 1
	if kill -0 "$pid" 2>/dev/null; then
		echo "EMIT_INTERVAL_SEC=banana" >>"$conf"
		kill -HUP "$pid"; sleep 1
		grep -q "RELOAD refused" "$d/log" || { echo "bad config not refused"; rc=1; }
		kill -0 "$pid" 2>/dev/null || { echo "agent died on a bad reload"; rc=1; }
		sed -i '/banana/d' "$conf"
		kill -HUP "$pid"; sleep 2
		grep -q "RELOAD: configuration valid" "$d/log" || { echo "good config not reloaded"; rc=1; }
		[ "$(grep -c 'STARTED' "$d/log")" -ge 2 ] || { echo "agent did not restart in place"; rc=1; }
		kill -0 "$pid" 2>/dev/null || { echo "agent gone after reload"; rc=1; }
		kill -TERM "$pid"; wait "$pid" || { echo "SIGTERM: exit status $?"; rc=1; }
	else
		# no module here: setup fails before the loop; the reload is tested in the guest
		wait "$pid"
		grep -q "meshnet" "$d/log" && return 77
		rc=1
	fi
	[ $rc = 0 ] || cat "$d/log"
	return $rc
}
hup_name="meshnet-agent: SIGHUP refuses a bad config, reloads a good one in place; SIGTERM exits 0"
hup_out=$(agent_sighup 2>&1)
case $? in
0) pass "$hup_name" ;;
77) skip "$hup_name" "no meshnet.ko on this host: tested in the guest (selftests/e2e/reconcile.vmsuite)" ;;
*) fail "$hup_name" "$hup_out" ;;
esac

# https_health_once LOG CERT CMD...: CMD --listen 127.0.0.1:<a free port>
# (output to LOG) serves /health over TLS (CERT) within 5 s; stopped again.
https_health_once() {
	local log=$1 cert=$2 port pid ok=1
	shift 2
	port=$(free_port) || return 1
	"$@" --listen "127.0.0.1:$port" >"$log" 2>&1 &
	pid=$!
	for _ in $(seq 200); do	# up to 20 s: a loaded machine starts slowly
		if curl -fsS --cacert "$cert" "https://127.0.0.1:$port/health" >/dev/null 2>&1; then ok=0; break; fi
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null
	return $ok
}

# The installed default configs are accepted by the programs themselves.
meshnetd_default_config() {
	local d=$tmp/meshnetd-run rc=1
	mkdir -p "$d"; chmod 0700 "$d"
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 1 -subj /CN=localhost \
		-addext subjectAltName=IP:127.0.0.1 -keyout "$d/key.pem" -out "$d/cert.pem" 2>/dev/null || return 1
	chmod 0600 "$d/key.pem"
	openssl rand -hex 32 >"$d/token"; chmod 0600 "$d/token"
	echo '{"nodes": []}' >"$d/nodes.json"
	# the file's own settings (LISTEN, THRESHOLD, ...) are parsed; paths are overridden
	retry_port_clash "$d/log" https_health_once "$d/log" "$d/cert.pem" \
		"$root/usr/sbin/meshnetd" --config "$root/etc/meshnet/meshnetd.conf" \
		--state-dir "$d/state" --tls-cert "$d/cert.pem" --tls-key "$d/key.pem" \
		--nodes-file "$d/nodes.json" --admin-token-file "$d/token" && rc=0
	[ "$rc" = 0 ] || cat "$d/log"
	return $rc
}
check "meshnetd starts with the installed default meshnetd.conf" meshnetd_default_config
# The unit's own ExecStart line, run as systemd would: credentials (0400) in
# $CREDENTIALS_DIRECTORY, $STATE_DIRECTORY, paths inside the DESTDIR; only the
# listen address and the certificate/nodes paths of the config are overridden.
meshnetd_unit_execstart() {
	local d=$tmp/meshnetd-run cred=$tmp/credentials st=$tmp/unit-state cmd rc=1
	mkdir -p "$cred" "$st"; chmod 0700 "$st"
	install -m 0400 "$d/token" "$cred/admin.token"
	install -m 0400 "$d/key.pem" "$cred/tls.key"
	cmd=$(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$root/usr/lib/systemd/system/meshnetd.service" |
		sed -n 's/^ExecStart=//p')
	cmd=${cmd//'${CREDENTIALS_DIRECTORY}'/$cred}
	cmd=${cmd//'${STATE_DIRECTORY}'/$st}
	cmd=${cmd//\/usr\/sbin\//$root/usr/sbin/}
	cmd=${cmd//\/etc\/meshnet\//$root/etc/meshnet/}
	# shellcheck disable=SC2086
	retry_port_clash "$tmp/unit.log" https_health_once "$tmp/unit.log" "$d/cert.pem" \
		$cmd --tls-cert "$d/cert.pem" --nodes-file "$d/nodes.json" && rc=0
	[ -f "$st/epoch.json" ] || { echo "no state written to \$STATE_DIRECTORY"; rc=1; }
	[ "$rc" = 0 ] || { echo "ExecStart: $cmd"; cat "$tmp/unit.log"; }
	return $rc
}
check "meshnetd.service's ExecStart works with systemd credentials (0400) and STATE_DIRECTORY" meshnetd_unit_execstart
agent_unit_flags() {
	local flag rc=0
	"$root/usr/sbin/meshnet-agent" --help >"$tmp/agent.help" 2>&1
	for flag in $(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$root/usr/lib/systemd/system/meshnet-agent@.service" |
		sed -n 's/^ExecStart=//p' | grep -oE -- '--[a-z-]+'); do
		grep -qF -- "$flag" "$tmp/agent.help" || { echo "meshnet-agent has no $flag"; rc=1; }
	done
	return $rc
}
check "meshnet-agent.service's ExecStart flags are the agent's" agent_unit_flags
agent_default_config() {
	local d=$tmp/agent-state
	"$root/usr/sbin/meshnet-agent" keygen --config "$root/etc/meshnet/agent.conf" --node-id test-node \
		--state-dir "$d" >"$tmp/enrol.json" || return 1
	grep -q '"id":"test-node"' "$tmp/enrol.json" || { cat "$tmp/enrol.json"; return 1; }
	[ "$(stat -c %a "$d/wireguard.key")" = 600 ] && [ "$(stat -c %a "$d/ed25519.key")" = 600 ]
}
check "meshnet-agent keygen reads the installed agent.conf and writes 0600 keys" agent_default_config

say "DKMS builds meshnet.ko from the installed source"
kver=$(ls /lib/modules 2>/dev/null | sort -V | tail -n 1)
if ! command -v dkms >/dev/null; then
	skip "dkms build" "dkms not installed (scripts/install-deps.sh installs it)"
elif [ -z "$kver" ] || [ ! -d "/usr/src/linux-headers-$kver" ]; then
	skip "dkms build" "no kernel headers for ${kver:-any kernel}"
else
	dkms_build() {
		mkdir -p "$tmp/dkms/tree" "$tmp/dkms/install"
		dkms build -m meshnet -v "$version" -k "$kver" \
			--sourcetree "$root/usr/src" --dkmstree "$tmp/dkms/tree" \
			--installtree "$tmp/dkms/install" --kernelsourcedir "/usr/src/linux-headers-$kver" \
			>"$tmp/dkms.log" 2>&1 || { tail -n 30 "$tmp/dkms.log"; return 1; }
		local ko
		ko=$(find "$tmp/dkms/tree" -name meshnet.ko | head -n 1)
		[ -n "$ko" ] || { echo "no meshnet.ko built"; tail -n 30 "$tmp/dkms.log"; return 1; }
		modinfo -F vermagic "$ko" | grep -q "^$kver " || { echo "vermagic: $(modinfo -F vermagic "$ko")"; return 1; }
	}
	check "dkms build of meshnet/$version for $kver (real dkms, private trees)" dkms_build
fi

say "re-install keeps an edited config; PREFIX=/usr/local uses the GNU layout"
echo "NODE_ID=edited" >>"$root/etc/meshnet/agent.conf"
check "second make install" mk install "DESTDIR=$root" PREFIX=/usr
check "edited agent.conf kept" grep -qx 'NODE_ID=edited' "$root/etc/meshnet/agent.conf"

lroot=$tmp/local-root
check "make install DESTDIR PREFIX=/usr/local" mk install "DESTDIR=$lroot" PREFIX=/usr/local
local_layout() {
	[ -x "$lroot/usr/local/sbin/meshnetd" ] && [ -f "$lroot/etc/meshnet/meshnetd.conf" ] &&
		[ -f "$lroot/usr/local/lib/systemd/system/meshnetd.service" ] &&
		[ -f "$lroot/usr/local/share/man/man8/meshnetctl.8" ] &&
		[ -f "$lroot/usr/src/meshnet-$version/dkms.conf" ] || { find "$lroot" | head -n 30; return 1; }
	grep -q '^ExecStart=/usr/local/sbin/meshnetd --config /etc/meshnet/meshnetd.conf' \
		"$lroot/usr/local/lib/systemd/system/meshnetd.service" || { echo "unit paths not /usr/local"; return 1; }
	[ -z "$(find "$lroot" -path "$lroot/usr/local" -prune -o -path "$lroot/usr/src" -prune -o -path "$lroot/etc/meshnet" -prune -o -type f -print)" ] ||
		{ echo "files outside /usr/local, /etc/meshnet and /usr/src:"; find "$lroot" -type f | grep -v -e /usr/local/ -e /usr/src/ -e /etc/meshnet/; return 1; }
}
check "PREFIX=/usr/local: programs under /usr/local, config in /etc/meshnet (as the README says), DKMS source in /usr/src" local_layout

say "make uninstall"
check "make uninstall DESTDIR PREFIX=/usr" mk uninstall "DESTDIR=$root" PREFIX=/usr
check "only the edited config is left" test "$(cd "$root" && find . -type f)" = "./etc/meshnet/agent.conf"
check "make uninstall DESTDIR PREFIX=/usr/local" mk uninstall "DESTDIR=$lroot" PREFIX=/usr/local
check "PREFIX=/usr/local: no file left" test -z "$(find "$lroot" -type f)"

say "bad input is refused and installs nothing"
bad_install() {
	local out
	out=$(mk install "$@" 2>&1) && { echo "accepted: $*"; return 1; }
	echo "$out" | grep -q "must be an absolute path" || { echo "$out"; return 1; }
	[ ! -e "$tmp/bad" ] && [ ! -e "$top/relative" ] || { echo "something was installed"; return 1; }
}
check "relative PREFIX refused with a message naming PREFIX" bad_install PREFIX=usr/local "DESTDIR=$tmp/bad"
check "relative DESTDIR refused with a message naming DESTDIR" bad_install DESTDIR=relative/dir PREFIX=/usr
names_var() {
	local out
	out=$(mk install PREFIX=usr "DESTDIR=$tmp/bad" 2>&1)
	grep -q "PREFIX must be an absolute path, got 'usr'" <<<"$out" || { echo "$out"; return 1; }
}
check "the message names the variable and its value" names_var

tap_done
