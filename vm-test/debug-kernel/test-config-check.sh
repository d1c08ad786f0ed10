#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# Host suite: the fragment check of build.sh (`--check-config`) must turn a
# symbol that Kconfig dropped or changed into an error, so a detector cannot
# silently go missing from the debug kernel. Synthetic .config files made from
# the real fragments; when the debug tree is built, its .config is checked too.
# kselftest TAP output with a Totals line.
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BUILD_SH=$HERE/build.sh
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0 skip=0 n=0

result() { # result OK|FAIL|SKIP description
	n=$((n + 1))
	case $1 in
	OK) pass=$((pass + 1)); echo "ok $n $2" ;;
	SKIP) skip=$((skip + 1)); echo "ok $n $2 # SKIP" ;;
	*) fail=$((fail + 1)); echo "not ok $n $2" ;;
	esac
}
# expect_check pass|fail CONFIG DESCRIPTION [MESSAGE-REGEX]
expect_check() {
	local want=$1 config=$2 what=$3 re=${4:-} rc
	bash "$BUILD_SH" --check-config "$config" >"$tmp/out" 2>&1
	rc=$?
	sed 's/^/#   /' "$tmp/out"
	if [ "$want" = pass ] && [ $rc -eq 0 ]; then
		result OK "$what"
	elif [ "$want" = fail ] && [ $rc -ne 0 ] && { [ -z "$re" ] || grep -Eq "$re" "$tmp/out"; }; then
		result OK "$what"
	else
		result FAIL "$what (rc=$rc)"
	fi
}

echo "TAP version 13"
echo "1..8"
# A .config holding exactly the fragments' lines, among unrelated ones.
{
	echo "CONFIG_CC_VERSION_TEXT=\"gcc\""
	grep -hE '^(CONFIG_|# CONFIG_.* is not set)' "$HERE/qemu.config" "$HERE/debug.config"
	echo "# CONFIG_UNRELATED is not set"
} >"$tmp/full"
expect_check pass "$tmp/full" "a .config with every fragment line passes"

grep -v '^CONFIG_KASAN=y$' "$tmp/full" >"$tmp/no-kasan"
expect_check fail "$tmp/no-kasan" "CONFIG_KASAN dropped by Kconfig is an error naming it" \
	"wanted 'CONFIG_KASAN=y', .config has 'nothing'"

sed 's/^CONFIG_PROVE_LOCKING=y$/# CONFIG_PROVE_LOCKING is not set/' "$tmp/full" >"$tmp/no-lockdep"
expect_check fail "$tmp/no-lockdep" "PROVE_LOCKING turned off is an error naming it" \
	"wanted 'CONFIG_PROVE_LOCKING=y', .config has '# CONFIG_PROVE_LOCKING is not set'"

sed 's/^CONFIG_DEBUG_KMEMLEAK_MEM_POOL_SIZE=.*/CONFIG_DEBUG_KMEMLEAK_MEM_POOL_SIZE=16000/' \
	"$tmp/full" >"$tmp/pool"
expect_check fail "$tmp/pool" "a changed value is an error" "DEBUG_KMEMLEAK_MEM_POOL_SIZE"

sed 's/^# CONFIG_UBSAN_TRAP is not set$/CONFIG_UBSAN_TRAP=y/' "$tmp/full" >"$tmp/trap"
expect_check fail "$tmp/trap" "a symbol the fragment turns off, found on, is an error" "UBSAN_TRAP"

grep -v '^# CONFIG_UBSAN_TRAP is not set$' "$tmp/full" >"$tmp/hidden"
expect_check pass "$tmp/hidden" "a symbol the fragment turns off may be absent (hidden menu)"

bash "$BUILD_SH" --check-config "$tmp/does-not-exist" >"$tmp/out" 2>&1
if [ $? -ne 0 ] && grep -q "needs a readable .config" "$tmp/out"; then
	result OK "a missing .config is a clear error"
else
	result FAIL "a missing .config is a clear error"
fi

kdir=$(bash "$BUILD_SH" --print-kdir 2>/dev/null)
if [ -n "$kdir" ] && [ -f "$kdir/.config" ] && [ -f "$kdir/arch/x86/boot/bzImage" ]; then
	expect_check pass "$kdir/.config" "the built debug kernel's .config has every fragment line"
else
	result SKIP "the built debug kernel's .config (not built yet: make debug-kernel)"
fi
echo "# Totals: pass:$pass fail:$fail xfail:0 xpass:0 skip:$skip error:0"
[ $fail -eq 0 ]
