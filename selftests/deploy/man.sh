#!/usr/bin/env bash
# Man pages and --help stay in step with the programs:
#
#   man/meshnetd.8 man/meshnet-agent.8 man/meshnetctl.8
#     ├─ groff -man -ww: no warning; NAME/SYNOPSIS/DESCRIPTION/SEE ALSO present
#     ├─ every --flag and KEY that `PROG --help` lists is documented
#     ├─ every meshnetctl subcommand has --help and a man entry
#     └─ bad flags / subcommands: non-zero exit and a message naming them
#
# Usage: man.sh [BUILD]   (directory holding the release programs)
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/deploy/tap.sh"
build=${1:-$top/build}
tmp=$(mktemp -d /tmp/meshnet-man.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
programs=(meshnetd meshnet-agent meshnetctl meshnet-admin)

# The page as plain text with roff escapes for '-' undone, for grepping.
page_text() { sed -e 's/\\-/-/g' -e 's/\\f[BIRP]//g' -e 's/\\e/\\/g' "$top/man/$1.8"; }

for p in "${programs[@]}"; do
	groff_clean() {
		local out
		out=$(groff -man -Tutf8 -ww -z "$top/man/$1.8" 2>&1) || { echo "$out"; return 1; }
		[ -z "$out" ] || { echo "$out"; return 1; }
	}
	check "$p.8: groff -man -ww renders without warnings" groff_clean "$p"
	sections() {
		local s
		for s in NAME SYNOPSIS DESCRIPTION 'EXIT STATUS' 'SEE ALSO'; do
			grep -q "^\.SH \"\?$s" "$top/man/$1.8" || { echo "no $s section"; return 1; }
		done
		grep -q "^\.TH $(echo "$1" | tr a-z A-Z | sed 's/-/\\\\-/g') 8 " "$top/man/$1.8" || { echo ".TH wrong"; return 1; }
	}
	check "$p.8: title and standard sections" sections "$p"
done

# --version on every program (meshnet-eval too; meshnet-witness once built)
versions() {
	local p out rc=0
	for p in "${programs[@]}" meshnet-eval meshnet-witness; do
		[ -x "$build/$p" ] || { [ "$p" = meshnet-witness ] && continue; echo "$p not built"; rc=1; continue; }
		out=$("$build/$p" --version 2>&1) || { echo "$p --version: exit $?: $out"; rc=1; continue; }
		grep -Eq "^$p [0-9]+\.[0-9]+" <<<"$out" || { echo "$p --version: '$out'"; rc=1; }
	done
	return $rc
}
check "every program answers --version with its name and version" versions

help_documented() {
	local p=$1 bin=$build/$1 item missing=0
	[ -x "$bin" ] || { echo "$bin not built"; return 1; }
	"$bin" --help >"$tmp/$p.help" 2>&1 || { echo "$p --help exited non-zero"; return 1; }
	page_text "$p" >"$tmp/$p.txt"
	# long flags and UPPER_CASE setting names listed by --help
	for item in $(grep -oE -- '--[a-z][a-z0-9-]+' "$tmp/$p.help" | sort -u) \
		$(grep -oE '(^|[[:space:]])[A-Z][A-Z0-9]*_[A-Z0-9_]+' "$tmp/$p.help" | tr -d ' ' | sort -u); do
		grep -qF -- "$item" "$tmp/$p.txt" || { echo "$p: '$item' from --help is not in $p.8"; missing=1; }
	done
	return $missing
}
check "meshnetd: every flag and setting of --help is in meshnetd.8" help_documented meshnetd
check "meshnet-agent: every flag and setting of --help is in meshnet-agent.8" help_documented meshnet-agent

meshnetd_commands() {
	"$build/meshnetd" audit-verify --help >"$tmp/out" 2>&1 && grep -qi "usage.*audit-verify" "$tmp/out" ||
		{ echo "meshnetd audit-verify --help:"; cat "$tmp/out"; return 1; }
	grep -q '^\.BI "audit\\-verify " FILE$' "$top/man/meshnetd.8" || { echo "audit-verify not in meshnetd.8"; return 1; }
}
check "meshnetd: audit-verify --help works and is in the page" meshnetd_commands
routes_documented() {
	local method path missing=0
	"$build/meshnetd" routes >"$tmp/routes" 2>&1 || { echo "meshnetd routes failed"; cat "$tmp/routes"; return 1; }
	page_text meshnetd >"$tmp/meshnetd.txt"
	while read -r method path; do
		path=$(sed 's/{[a-z_]*}/id/g' <<<"$path")
		grep -qF -- "$method $path" "$tmp/meshnetd.txt" || { echo "route $method $path not in meshnetd.8 HTTP API"; missing=1; }
	done <"$tmp/routes"
	[ -s "$tmp/routes" ] && grep -q '^\.B meshnetd routes$' "$top/man/meshnetd.8" && return $missing
}
check "meshnetd: every route of 'meshnetd routes' is in meshnetd.8" routes_documented

agent_commands() {
	local c
	for c in keygen status; do
		"$build/meshnet-agent" "$c" --help >"$tmp/out" 2>&1 && grep -q "Usage: meshnet-agent $c" "$tmp/out" ||
			{ echo "meshnet-agent $c --help"; cat "$tmp/out"; return 1; }
	done
	for c in run keygen join bench status help; do
		grep -q "^\.B $c\$" "$top/man/meshnet-agent.8" || { echo "$c not in meshnet-agent.8 COMMANDS"; return 1; }
	done
}
check "meshnet-agent: keygen/status --help work and every command is in the page" agent_commands

ctl_subcommands() {
	local sub missing=0 flag
	"$build/meshnetctl" help >"$tmp/ctl.help" 2>&1 || { echo "meshnetctl help failed"; return 1; }
	page_text meshnetctl >"$tmp/ctl.txt"
	sed 's/\\-/-/g' "$top/man/meshnetctl.8" >"$tmp/ctl.roff"
	for sub in $(awk '/^Subcommands:/ { on = 1; next } on && !NF { exit } on { print $1 }' "$tmp/ctl.help"); do
		if [ "$sub" = help ]; then
			grep -q '^\.B help$' "$tmp/ctl.roff" || { echo "help has no entry"; missing=1; }
			continue
		fi
		"$build/meshnetctl" "$sub" --help >"$tmp/sub.help" 2>&1 ||
			{ echo "meshnetctl $sub --help exited non-zero"; missing=1; continue; }
		grep -q "Usage: meshnetctl $sub" "$tmp/sub.help" || { echo "meshnetctl $sub --help: no usage"; missing=1; }
		grep -qE "^\.B $sub( |\$)|^\.BI \"$sub " "$tmp/ctl.roff" || { echo "$sub has no entry in meshnetctl.8"; missing=1; }
		for flag in $(grep -oE -- '--[a-z][a-z-]+' "$tmp/sub.help" | grep -v -- '--help' | sort -u); do
			grep -qF -- "$flag" "$tmp/ctl.txt" || { echo "meshnetctl $sub $flag not in meshnetctl.8"; missing=1; }
		done
	done
	[ -s "$tmp/ctl.help" ] && return $missing
}
check "meshnetctl: every subcommand has --help and an entry (with its flags) in meshnetctl.8" ctl_subcommands

admin_subcommands() {
	local sub missing=0 flag
	"$build/meshnet-admin" help >"$tmp/adm.help" 2>&1 || { echo "meshnet-admin help failed"; return 1; }
	page_text meshnet-admin >"$tmp/adm.txt"
	sed 's/\\-/-/g' "$top/man/meshnet-admin.8" >"$tmp/adm.roff"
	for flag in $(grep -oE -- '--[a-z][a-z-]+' "$tmp/adm.help" | sort -u); do
		grep -qF -- "$flag" "$tmp/adm.txt" || { echo "meshnet-admin $flag not in meshnet-admin.8"; missing=1; }
	done
	for sub in $(awk '/^Subcommands:/ { on = 1; next } on && !NF { exit } on { print $1 }' "$tmp/adm.help"); do
		grep -qE "^\.B $sub( |\$)|^\.BI \"$sub |^\.BR \"$sub " "$tmp/adm.roff" || { echo "$sub has no entry in meshnet-admin.8"; missing=1; }
		[ "$sub" = help ] && continue
		"$build/meshnet-admin" "$sub" --help >"$tmp/sub.help" 2>&1 && grep -q "Usage: meshnet-admin $sub" "$tmp/sub.help" ||
			{ echo "meshnet-admin $sub --help: no usage"; missing=1; continue; }
		for flag in $(grep -oE -- '--[a-z][a-z-]+' "$tmp/sub.help" | grep -v -- '--help' | sort -u); do
			grep -qF -- "$flag" "$tmp/adm.txt" || { echo "meshnet-admin $sub $flag not in meshnet-admin.8"; missing=1; }
		done
	done
	[ -s "$tmp/adm.help" ] && return $missing
}
check "meshnet-admin: every subcommand has --help and an entry (with its flags) in meshnet-admin.8" admin_subcommands

# refused PROG ARGS... -- WORD: non-zero exit, and the message names WORD.
refused() {
	local bin=$1 word=${*: -1} out rc
	set -- "${@:2:$#-3}"
	out=$("$build/$bin" "$@" 2>&1 </dev/null); rc=$?
	[ "$rc" -ne 0 ] || { echo "$bin $*: exit 0"; return 1; }
	grep -qF -- "$word" <<<"$out" || { echo "$bin $*: message does not name '$word': $out"; return 1; }
}
check "meshnetctl: unknown subcommand refused, named" refused meshnetctl frobnicate -- frobnicate
check "meshnetctl: bad key refused, named" refused meshnetctl del-peer not-base64! -- not-base64!
check "meshnet-agent: unknown flag refused, named" refused meshnet-agent --no-such-flag 1 -- --no-such-flag
check "meshnet-agent: bad interval refused, named" refused meshnet-agent --emit-interval abc -- EMIT_INTERVAL_SEC
check "meshnet-admin: unknown subcommand refused, named" refused meshnet-admin frobnicate -- frobnicate
check "meshnet-admin: bad node id refused, named" refused meshnet-admin node ../x -- ../x
check "meshnetd: unknown flag refused, named" refused meshnetd --no-such-flag 1 -- --no-such-flag
check "meshnetd: out-of-range setting refused, named" refused meshnetd --epoch-seconds 0 -- epoch-seconds

tap_done
