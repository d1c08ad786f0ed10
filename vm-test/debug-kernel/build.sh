#!/usr/bin/env bash
# Builds the debug guest kernel (issue 7) from Debian's linux-source-6.1, the
# same sources as the stock 6.1 kernel: tinyconfig + qemu.config (what the VM
# suites need) + debug.config (KASAN, KFENCE, lockdep, UBSAN, kmemleak, ...).
#
# The tree and a ccache live in the cache folder outside the repo, so a second
# run on the same machine only re-checks the config and relinks nothing:
#   $CACHE/debug-kernel/linux-<debian version>/   the built tree (KDIR)
#   $CACHE/debug-kernel/ccache/                   compiler cache
#
# Usage: build.sh [--print-kdir | --check-config CONFIG]
#   (no option)            build (or bring up to date), print the bzImage path last
#   --print-kdir           print the tree's path and exit (no build)
#   --check-config CONFIG  only check that CONFIG has every fragment line
# Environment: CACHE (default ~/.cache/meshnet), JOBS (default 2).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${CACHE:-$HOME/.cache/meshnet}
ROOT=$CACHE/debug-kernel
JOBS=${JOBS:-2}
SRC_TAR=/usr/src/linux-source-6.1.tar.xz
FRAGMENTS=("$HERE/qemu.config" "$HERE/debug.config")

log() { echo "debug-kernel: $*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Every fragment line must be in the final .config: Kconfig silently drops a
# symbol whose dependency is missing, which would leave a hole in the net.
check_fragment() {
	local frag=$1 config=$2 line sym got bad=0
	while IFS= read -r line; do
		case $line in
		CONFIG_*=*)
			sym=${line%%=*} ;;
		"# CONFIG_"*" is not set")
			sym=${line#\# }; sym=${sym%% *} ;;
		*)
			continue ;;
		esac
		got=$(grep -E "^(# )?$sym(=| is not set)" "$config" || true)
		# an unset symbol may also be absent (its menu is hidden)
		if [ "$got" != "$line" ] && ! { [ -z "$got" ] && [ "${line:0:1}" = "#" ]; }; then
			log "ERROR: $(basename "$frag"): wanted '$line', .config has '${got:-nothing}'"
			bad=1
		fi
	done <"$frag"
	return $bad
}

if [ "${1:-}" = "--check-config" ]; then
	[ -r "${2:-}" ] || die "--check-config needs a readable .config, got '${2:-}'"
	ok=1
	for frag in "${FRAGMENTS[@]}"; do
		check_fragment "$frag" "$2" || ok=0
	done
	[ $ok -eq 1 ] || die "$2 lacks fragment lines (see above)"
	log "$2 has every line of ${FRAGMENTS[*]##*/}"
	exit 0
fi

[ -f "$SRC_TAR" ] || die "$SRC_TAR missing: apt-get install -y --no-install-recommends linux-source-6.1 (make deps)"
SRC_VER=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null) ||
	die "package linux-source-6.1 is not installed"
KDIR=$ROOT/linux-$SRC_VER

if [ "${1:-}" = "--print-kdir" ]; then
	echo "$KDIR"
	exit 0
fi
[ $# -eq 0 ] || die "unknown argument '$1' (usage: build.sh [--print-kdir | --check-config CONFIG])"

mkdir -p "$ROOT"
# One build at a time per cache folder (two make targets may ask at once).
exec 9>"$ROOT/.lock"
flock 9

export CCACHE_DIR=$ROOT/ccache
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-4G}
# Same paths and build identity every time, so ccache hits after a re-extract.
KBUILD_BUILD_TIMESTAMP=$(date -u -r "$SRC_TAR" '+%Y-%m-%d %H:%M:%S UTC')
export KBUILD_BUILD_TIMESTAMP
export KBUILD_BUILD_USER=meshnet KBUILD_BUILD_HOST=debug-kernel
KMAKE=(nice make -C "$KDIR" -j"$JOBS" CC="ccache gcc" HOSTCC="ccache gcc")
start=$(date +%s)

# 1. Sources: extract once per Debian version, atomically.
if [ ! -f "$KDIR/.meshnet-extracted" ]; then
	log "extracting $SRC_TAR ($SRC_VER) into $KDIR"
	tmp=$(mktemp -d "$ROOT/extract.XXXXXX")
	tar -xJf "$SRC_TAR" -C "$tmp"
	rm -rf "$KDIR"
	mv "$tmp/linux-source-6.1" "$KDIR"
	rmdir "$tmp"
	touch "$KDIR/.meshnet-extracted"
fi

# 2. Config: regenerate only when a fragment (or the recipe) changed.
CONFIG_RECIPE="tinyconfig + merge_config.sh -m + olddefconfig, v1"
want_hash=$( (echo "$CONFIG_RECIPE"; cat "${FRAGMENTS[@]}") | sha256sum | cut -d' ' -f1)
have_hash=$(cat "$KDIR/.meshnet-config-hash" 2>/dev/null || true)
if [ "$want_hash" != "$have_hash" ] || [ ! -f "$KDIR/.config" ]; then
	log "configuring: tinyconfig + ${FRAGMENTS[*]##*/}"
	rm -f "$KDIR/.meshnet-config-hash"
	"${KMAKE[@]}" -s tinyconfig >/dev/null
	(cd "$KDIR" && scripts/kconfig/merge_config.sh -m .config "${FRAGMENTS[@]}" >/dev/null)
	"${KMAKE[@]}" -s olddefconfig >/dev/null
	ok=1
	for frag in "${FRAGMENTS[@]}"; do
		check_fragment "$frag" "$KDIR/.config" || ok=0
	done
	[ $ok -eq 1 ] || die "olddefconfig dropped fragment lines (see above): fix the fragment's dependencies"
	echo "$want_hash" >"$KDIR/.meshnet-config-hash"
else
	for frag in "${FRAGMENTS[@]}"; do
		check_fragment "$frag" "$KDIR/.config" || die "$KDIR/.config no longer matches $(basename "$frag")"
	done
fi
log "all fragment lines present in .config"

# 3. Build: bzImage + Module.symvers (needed by `make -C KDIR M=...`).
log "building in $KDIR (make -j$JOBS, ccache in $CCACHE_DIR)"
"${KMAKE[@]}" -s all
[ -f "$KDIR/Module.symvers" ] || die "no Module.symvers after the build"
log "done in $(($(date +%s) - start)) s; $(ccache -s 2>/dev/null | grep -Ei '^ *(hits|misses)' | tr -s ' ' | paste -sd';' || true)"
echo "$KDIR/arch/x86/boot/bzImage"
