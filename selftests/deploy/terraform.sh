#!/usr/bin/env bash
# Applies terraform/ to a temporary directory and checks what it renders:
#
#   copy of terraform/ ──apply──> $tmp/artifacts/{ca,controller,nodes/<n>}
#        │                               │
#        ├─ re-apply: no change, same keys
#        ├─ key_generation bump: only that node's keys rotate
#        ├─ bad variables: refused, nothing changes
#        ├─ no harness and no demo_scores: refused
#        ├─ meshnetd loads the rendered nodes file, TLS cert and admin token
#        ├─ destroy: everything but the controller's state/audit is gone
#        └─ MESHNET_DESTROY_STATE=1 destroy: the artifacts directory is gone
#
# Terraform is not a Debian package: without it the suite reports SKIP.
# Usage: terraform.sh [MESHNETD [AGENT]]   (default build/meshnetd, build/meshnet-agent)
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/deploy/tap.sh"
meshnetd=${1:-$top/build/meshnetd}
AGENT=${2:-$(dirname "$meshnetd")/meshnet-agent}

if ! command -v terraform >/dev/null; then
	skip "terraform apply/destroy" "terraform is not installed (not packaged by Debian; install it from HashiCorp to run this suite)"
	tap_done; exit 0
fi

tmp=$(mktemp -d /tmp/meshnet-tf.XXXXXX)
daemon_pid=
cleanup() {
	[ -z "$daemon_pid" ] || kill "$daemon_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
export CHECKPOINT_DISABLE=1 TF_IN_AUTOMATION=1 TF_INPUT=0
: >"$tmp/empty.tfrc"; export TF_CLI_CONFIG_FILE=$tmp/empty.tfrc
cp -r "$top/terraform" "$tmp/tf"
rm -rf "$tmp/tf/.terraform" "$tmp/tf"/terraform.tfstate*
art=$tmp/artifacts
tf() { terraform -chdir="$tmp/tf" "$@" -no-color; }
# the default nodes have no harness: the suite renders the compose demo
tfapply() { tf apply -auto-approve -var "artifacts_dir=$art" -var demo_scores=true "$@"; }

say "terraform init && terraform apply (artifacts_dir=$art)"
check "terraform init works offline" tf init -input=false
check "terraform validate" tf validate
no_score_source_refused() {
	! tf apply -auto-approve -var "artifacts_dir=$art" >"$tmp/nodemo.log" 2>&1 &&
		grep -q "every node needs a bench_cmd" "$tmp/nodemo.log" && test ! -e "$art/nodes" ||
		{ cat "$tmp/nodemo.log"; return 1; }
}
check "no bench_cmd and no demo_scores: refused, nothing rendered" no_score_source_refused
check "terraform apply" tfapply
nodes=(node-a node-b node-c)

demo_said() {
	local n
	for n in "${nodes[@]}"; do
		grep -qx 'DEMO_SCORES=yes' "$art/nodes/$n/agent.conf" || { echo "$n: no DEMO_SCORES=yes"; return 1; }
		! grep -q '^BENCH_CMD=' "$art/nodes/$n/agent.conf" || return 1
	done
	grep -qx 'ALLOW_DEMO_SCORES=1' "$art/controller/meshnetd.conf"
}
check "demo_scores: every agent.conf says DEMO_SCORES=yes, meshnetd.conf ALLOW_DEMO_SCORES=1" demo_said

mode_is() { [ "$(stat -c %a "$1")" = "$2" ] || { echo "$1: mode $(stat -c %a "$1"), want $2"; return 1; }; }
secrets_0600() {
	local f
	for f in "$art"/ca/ca.key "$art"/controller/admin.token "$art"/controller/tls/server.key \
		"$art"/nodes/*/wireguard.key "$art"/nodes/*/ed25519.key "$art"/nodes/*/ed25519.pem "$art"/nodes/*/wg0.conf; do
		[ -f "$f" ] || { echo "missing $f"; return 1; }
		mode_is "$f" 600 || return 1
	done
}
check "every secret file exists with mode 0600" secrets_0600

wg_keys_valid() {
	local n pub
	for n in "${nodes[@]}"; do
		[ "$(base64 -d <"$art/nodes/$n/wireguard.key" | wc -c)" = 32 ] || { echo "$n: wireguard.key is not 32 bytes"; return 1; }
		pub=$(wg pubkey <"$art/nodes/$n/wireguard.key") || return 1
		[ "$pub" = "$(cat "$art/nodes/$n/wireguard.pub")" ] || { echo "$n: wireguard.pub does not match wireguard.key"; return 1; }
	done
}
check "WireGuard keys valid and wireguard.pub matches wireguard.key" wg_keys_valid

ed25519_valid() {
	local n d pub seed
	for n in "${nodes[@]}"; do
		d=$art/nodes/$n
		pub=$(openssl pkey -in "$d/ed25519.pem" -pubout -outform DER | tail -c 32 | base64)
		[ "$pub" = "$(cat "$d/ed25519.pub")" ] || { echo "$n: ed25519.pub does not match"; return 1; }
		seed=$(openssl pkey -in "$d/ed25519.pem" -outform DER | tail -c 32 | base64)
		[ "$seed" = "$(cat "$d/ed25519.key")" ] || { echo "$n: ed25519.key does not match"; return 1; }
		# sign and verify with the identity: the key pair works
		echo "meshnet-v1 test" >"$tmp/msg"
		openssl pkeyutl -sign -rawin -inkey "$d/ed25519.pem" -in "$tmp/msg" -out "$tmp/sig" &&
			openssl pkeyutl -verify -rawin -pubin -inkey <(openssl pkey -in "$d/ed25519.pem" -pubout) \
				-in "$tmp/msg" -sigfile "$tmp/sig" >/dev/null || { echo "$n: sign/verify failed"; return 1; }
	done
}
check "Ed25519 identities valid (PEM, raw seed and public key agree)" ed25519_valid

tls_valid() {
	local t=$art/controller/tls
	openssl verify -CAfile "$art/ca/ca.crt" "$t/server.crt" || return 1
	cmp -s "$art/ca/ca.crt" "$t/ca.crt" || { echo "tls/ca.crt differs from the CA"; return 1; }
	[ "$(openssl x509 -in "$t/server.crt" -noout -pubkey)" = "$(openssl pkey -in "$t/server.key" -pubout)" ] ||
		{ echo "server.key does not match server.crt"; return 1; }
	openssl x509 -in "$t/server.crt" -noout -ext subjectAltName | grep -q 'DNS:controller' || return 1
	openssl x509 -in "$t/server.crt" -noout -ext subjectAltName | grep -q 'IP Address:127.0.0.1' || return 1
	openssl x509 -in "$t/server.crt" -noout -ext extendedKeyUsage | grep -q 'TLS Web Server Authentication'
}
check "server certificate signed by the CA, matches its key, SANs controller/127.0.0.1" tls_valid
check "admin token is 32 random bytes in hex" grep -Eqx '[0-9a-f]{64}' "$art/controller/admin.token"

wg_conf_valid() {
	local n c
	for n in "${nodes[@]}"; do
		c=$art/nodes/$n/wg0.conf
		grep -qx "PrivateKey = $(cat "$art/nodes/$n/wireguard.key")" "$c" || { echo "$n: PrivateKey missing"; return 1; }
		grep -q '^ListenPort = 51820$' "$c" || { echo "$n: ListenPort"; return 1; }
		grep -q '^Address = 10\.10\.0\.[0-9]*/24, fd10::[0-9]*/64$' "$c" || { echo "$n: Address"; return 1; }
		! grep -q '@@' "$c" || { echo "$n: placeholder left"; return 1; }
	done
}
check "wg0.conf of every node: its own private key, address, port" wg_conf_valid

no_foreign_secrets() {
	local n m
	for n in "${nodes[@]}"; do
		for m in "${nodes[@]}"; do
			[ "$n" != "$m" ] || continue
			if grep -rqF -e "$(cat "$art/nodes/$m/wireguard.key")" -e "$(cat "$art/nodes/$m/ed25519.key")" "$art/nodes/$n"; then
				echo "$n's directory holds a secret of $m"; return 1
			fi
		done
		! grep -rqF "$(cat "$art/controller/admin.token")" "$art/nodes/$n" || { echo "$n has the admin token"; return 1; }
	done
	! grep -rqF "$(cat "$art/ca/ca.key" | sed -n 2p)" "$art/nodes" "$art/controller" || { echo "CA key copied"; return 1; }
}
check "a node's directory holds no other node's secret, no admin token, no CA key" no_foreign_secrets

enrolment_valid() {
	local f=$art/controller/nodes.json n
	for n in "${nodes[@]}"; do
		grep -qF "\"wg_public_key\":\"$(cat "$art/nodes/$n/wireguard.pub")\"" "$f" || { echo "$n: wg key not enrolled"; return 1; }
		grep -qF "\"ed25519_public_key\":\"$(cat "$art/nodes/$n/ed25519.pub")\"" "$f" || { echo "$n: ed25519 key not enrolled"; return 1; }
		grep -qF "\"id\":\"$n\"" "$f" || return 1
	done
	! grep -q '@@' "$f" || { echo "placeholder left"; return 1; }
	! grep -qF "$(cat "$art/nodes/node-a/wireguard.key")" "$f" || { echo "private key in enrolment file"; return 1; }
}
check "enrolment file lists every node's public keys and no secret" enrolment_valid

# What the node container's entrypoint does: copy the node's keys into the
# agent's state directory; the agent must read the rendered agent.conf and
# find the very keys the enrolment file announces.
agent_reads_rendered() {
	local agent=$top/build/meshnet-agent n st rec
	[ -n "${AGENT:-}" ] && agent=$AGENT
	[ -x "$agent" ] || { echo "$agent not built"; return 1; }
	for n in "${nodes[@]}"; do
		st=$tmp/agent-$n; mkdir -p "$st"; chmod 0700 "$st"
		install -m 0600 "$art/nodes/$n/wireguard.key" "$art/nodes/$n/ed25519.key" "$st/"
		rec=$("$agent" keygen --config "$art/nodes/$n/agent.conf" --state-dir "$st" 2>&1) ||
			{ echo "$n: $rec"; return 1; }
		rec=$(sed 's|\\/|/|g' <<<"$rec")	# JSON may escape '/'
		[ "$(ls "$st" | sort | tr '\n' ' ')" = "ed25519.key wireguard.key " ] || { echo "$n: agent made new keys"; return 1; }
		grep -qF "\"wg_public_key\":\"$(cat "$art/nodes/$n/wireguard.pub")\"" <<<"$rec" ||
			{ echo "$n: agent's WireGuard key differs: $rec"; return 1; }
		grep -qF "\"ed25519_public_key\":\"$(cat "$art/nodes/$n/ed25519.pub")\"" <<<"$rec" ||
			{ echo "$n: agent's Ed25519 key differs: $rec"; return 1; }
		grep -qF "\"id\":\"$n\"" <<<"$rec" || { echo "$n: NODE_ID not from agent.conf: $rec"; return 1; }
	done
}
check "meshnet-agent reads each rendered agent.conf and key files (same public keys as enrolled)" agent_reads_rendered

say "re-apply: nothing changes, no key rotates"
sums() { sha256sum "$art"/nodes/*/wireguard.key "$art"/nodes/*/ed25519.pem "$art"/controller/admin.token "$art"/ca/ca.key "$art"/controller/tls/server.key; }
sums >"$tmp/sums.1"
check "second apply succeeds" tfapply
check "keys, token and TLS key unchanged after re-apply" cmp "$tmp/sums.1" <(sums)
check "plan after apply shows no change" tf plan -detailed-exitcode -var "artifacts_dir=$art" -var demo_scores=true

say "bad variables are refused and change nothing"
bad_apply() { ! tfapply -var "$1" >"$tmp/bad.log" 2>&1 && grep -q "$2" "$tmp/bad.log" && cmp -s "$tmp/sums.1" <(sums); }
check "bad node name refused with a message" bad_apply 'nodes=[{name="Node/A",overlay=["10.10.0.2/32"],endpoint="192.0.2.1:51820"}]' 'a name must match'
check "overlay not a host prefix refused" bad_apply 'nodes=[{name="node-a",overlay=["10.10.0.0/24"],endpoint="192.0.2.1:51820"}]' 'host prefix'
check "endpoint without port refused" bad_apply 'nodes=[{name="node-a",overlay=["10.10.0.2/32"],endpoint="192.0.2.1"}]' 'endpoint must be'
check "score outside 0..1 refused" bad_apply 'nodes=[{name="node-a",overlay=["10.10.0.2/32"],endpoint="192.0.2.1:1",score=1.5}]' 'score must be'
check "duplicate node names refused" bad_apply 'nodes=[{name="a",overlay=["10.10.0.2/32"],endpoint="192.0.2.1:1"},{name="a",overlay=["10.10.0.3/32"],endpoint="192.0.2.1:2"}]' 'unique'
check "bad TLS subjectAltName refused" bad_apply 'controller_san=["controller"]' 'DNS:name or IP:address'

say "rotate node-b's keys on request (key_generation = 1)"
rotated='nodes=[{name="node-a",overlay=["10.10.0.2/32","fd10::2/128"],endpoint="192.168.77.11:51820",score=0.91},{name="node-b",overlay=["10.10.0.3/32","fd10::3/128"],endpoint="192.168.77.12:51820",score=0.86,key_generation=1},{name="node-c",overlay=["10.10.0.4/32","fd10::4/128"],endpoint="192.168.77.13:51820",score=0.38}]'
old_b=$(cat "$art/nodes/node-b/wireguard.pub")
check "apply with node-b key_generation=1" tfapply -var "$rotated"
only_b_rotated() {
	[ "$(cat "$art/nodes/node-b/wireguard.pub")" != "$old_b" ] || { echo "node-b key unchanged"; return 1; }
	grep -v -e node-b/ "$tmp/sums.1" | sha256sum -c --quiet || { echo "another key changed"; return 1; }
	grep -qF "$(cat "$art/nodes/node-b/wireguard.pub")" "$art/controller/nodes.json" || { echo "nodes.json not updated"; return 1; }
	wg_keys_valid && secrets_0600
}
check "only node-b's keys rotated, enrolment file updated" only_b_rotated

say "meshnetd accepts the rendered deployment"
if [ ! -x "$meshnetd" ]; then
	fail "meshnetd loads the rendered files" "$meshnetd not built"
else
	. "$top/selftests/deploy/meshnetd-probe.sh"
	probe_meshnetd "$meshnetd" "$art" "$tmp"
fi

say "terraform destroy keeps the controller's state and audit log unless asked"
echo '{"t":"audit"}' >"$art/controller/state/audit.jsonl"
check "terraform destroy" tf destroy -auto-approve -var "artifacts_dir=$art" -var demo_scores=true -var "$rotated"
state_kept() {
	[ -s "$art/controller/state/audit.jsonl" ] || { echo "audit log gone"; return 1; }
	[ ! -e "$art/nodes" ] && [ ! -e "$art/ca" ] && [ ! -e "$art/controller/admin.token" ] ||
		{ echo "keys left behind:"; find "$art"; return 1; }
}
check "keys gone, controller state and audit log kept" state_kept
check "re-apply over the kept state" tfapply -var "$rotated"
check "MESHNET_DESTROY_STATE=1 terraform destroy" env MESHNET_DESTROY_STATE=1 \
	terraform -chdir="$tmp/tf" destroy -auto-approve -no-color -var "artifacts_dir=$art" -var demo_scores=true -var "$rotated"
check "artifacts directory is gone" test ! -e "$art"

tap_done
