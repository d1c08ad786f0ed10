#!/usr/bin/env bash
# Creates (or removes) one node's long-term keys under ARTIFACTS/nodes/NAME/:
#   wireguard.key (0600) / wireguard.pub            WireGuard X25519 key pair, base64 as `wg` prints it
#   ed25519.pem (0600)                the node's Ed25519 identity, PKCS#8 PEM
#   ed25519.key (0600) / ed25519.pub  the same key as raw 32 bytes, base64 (PROTOCOL.md)
# Existing keys are kept: re-running never rotates. Rotation = destroy + create
# (terraform: bump the node's key_generation, or -replace the resource).
# Usage: node-keys.sh create|destroy ARTIFACTS NAME
set -euo pipefail
action=${1:?usage: $0 create|destroy ARTIFACTS NAME}
artifacts=${2:?artifacts directory missing}
name=${3:?node name missing}
[[ $name =~ ^[a-z0-9][a-z0-9._-]{0,62}$ ]] || { echo "node-keys: bad node name '$name'" >&2; exit 1; }
dir=$artifacts/nodes/$name

wg_genkey() {
	if command -v wg >/dev/null; then
		wg genkey
	else	# same format without wireguard-tools: the raw X25519 scalar, base64
		openssl genpkey -algorithm x25519 -outform DER | tail -c 32 | base64
	fi
}

wg_pubkey() {
	if command -v wg >/dev/null; then
		wg pubkey
	else
		{ printf '\x30\x2e\x02\x01\x00\x30\x05\x06\x03\x2b\x65\x6e\x04\x22\x04\x20'
		  base64 -d; } | openssl pkey -inform DER -pubout -outform DER | tail -c 32 | base64
	fi
}

case $action in
create)
	umask 077
	mkdir -p "$dir"
	if [ ! -s "$dir/wireguard.key" ]; then
		wg_genkey >"$dir/wireguard.key.tmp"
		mv "$dir/wireguard.key.tmp" "$dir/wireguard.key"
		echo "node-keys: $name: new WireGuard key"
	fi
	wg_pubkey <"$dir/wireguard.key" >"$dir/wireguard.pub"
	if [ ! -s "$dir/ed25519.pem" ]; then
		openssl genpkey -algorithm ed25519 -out "$dir/ed25519.pem.tmp"
		mv "$dir/ed25519.pem.tmp" "$dir/ed25519.pem"
		echo "node-keys: $name: new Ed25519 identity"
	fi
	# PKCS#8 DER of an Ed25519 key ends with the 32-byte seed, the SPKI with the public key.
	openssl pkey -in "$dir/ed25519.pem" -outform DER | tail -c 32 | base64 >"$dir/ed25519.key"
	openssl pkey -in "$dir/ed25519.pem" -pubout -outform DER | tail -c 32 | base64 >"$dir/ed25519.pub"
	chmod 0600 "$dir/wireguard.key" "$dir/ed25519.pem" "$dir/ed25519.key"
	chmod 0644 "$dir/wireguard.pub" "$dir/ed25519.pub"
	chmod 0755 "$dir"
	;;
destroy)
	rm -f "$dir/wireguard.key" "$dir/wireguard.pub" "$dir/ed25519.pem" "$dir/ed25519.key" "$dir/ed25519.pub"
	rmdir "$dir" 2>/dev/null || true
	echo "node-keys: $name: keys removed"
	;;
*)
	echo "node-keys: unknown action '$action'" >&2; exit 1 ;;
esac
