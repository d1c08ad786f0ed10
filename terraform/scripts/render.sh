#!/usr/bin/env bash
# Writes a file that Terraform rendered with templatefile(), filling in what
# only exists after the keys were made (Terraform cannot read files created
# during the same apply):
#   @@WG_PUB:<node>@@    base64 WireGuard public key of <node>
#   @@WG_KEY:<node>@@    base64 WireGuard private key of <node> (only in that node's 0600 files)
#   @@ED25519_PUB:<node>@@  base64 raw Ed25519 public key of <node>
# The file is written atomically with MODE; a placeholder left over is an error.
# Usage: CONTENT=... render.sh create ARTIFACTS RELPATH MODE
#        render.sh destroy ARTIFACTS RELPATH
set -euo pipefail
action=${1:?usage: $0 create|destroy ARTIFACTS RELPATH [MODE]}
artifacts=${2:?artifacts directory missing}
rel=${3:?relative path missing}
mode=${4:-0644}
[[ $rel != /* && $rel != *..* ]] || { echo "render: bad path '$rel'" >&2; exit 1; }
[[ $mode =~ ^0[0-7]{3}$ ]] || { echo "render: bad mode '$mode'" >&2; exit 1; }
out=$artifacts/$rel

case $action in
create)
	content=${CONTENT?CONTENT is not set}
	for dir in "$artifacts"/nodes/*/; do
		[ -d "$dir" ] || continue
		node=$(basename "$dir")
		for kind in WG_PUB:wireguard.pub WG_KEY:wireguard.key ED25519_PUB:ed25519.pub; do
			tag="@@${kind%%:*}:$node@@"
			[[ $content == *"$tag"* ]] || continue
			value=$(<"$dir/${kind#*:}")
			content=${content//"$tag"/$value}
		done
	done
	if [[ $content =~ @@[A-Z0-9_]+:[^@]*@@ ]]; then
		echo "render: $rel: no key for ${BASH_REMATCH[0]} (is that node in var.nodes?)" >&2
		exit 1
	fi
	umask 077
	mkdir -p "$(dirname "$out")"
	printf '%s' "$content" >"$out.tmp"
	chmod "$mode" "$out.tmp"
	mv "$out.tmp" "$out"
	echo "render: wrote $rel ($mode)"
	;;
destroy)
	rm -f "$out"
	rmdir "$(dirname "$out")" 2>/dev/null || true
	echo "render: removed $rel"
	;;
*)
	echo "render: unknown action '$action'" >&2; exit 1 ;;
esac
