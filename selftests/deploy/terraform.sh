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

say "evaluators and their policy: enrolled by terraform, an evaluator's attestation decides"
EVAL=$(dirname "$meshnetd")/meshnet-eval
evaluators_section() {
	local k
	for k in eval-a eval-b; do
		"$EVAL" keygen --key "$tmp/$k.key" >"$tmp/$k.pub" 2>/dev/null || { echo "meshnet-eval keygen failed"; return 1; }
	done
	cat >"$tmp/policy.conf" <<-'POLICY'
	version 3
	group prod
	  match tags prod
	  self-reports ignore
	  suite refusal
	    evaluators eval-a eval-b
	    require 1
	    max-age 3600
	    min refusal 0.90
	group default
	  match all
	  self-reports count
	  suite benchmark
	    evaluators self
	    min overall 0.7
	POLICY
	cat >"$tmp/trust.tfvars" <<-EOF
	nodes = [
	  { name = "node-a", overlay = ["10.10.0.2/32", "fd10::2/128"], endpoint = "192.168.77.11:51820", score = 0.91, tags = ["prod"] },
	  { name = "node-b", overlay = ["10.10.0.3/32", "fd10::3/128"], endpoint = "192.168.77.12:51820", score = 0.86, key_generation = 1 },
	  { name = "node-c", overlay = ["10.10.0.4/32", "fd10::4/128"], endpoint = "192.168.77.13:51820", score = 0.38 },
	]
	evaluators = [
	  { id = "eval-a", public_key = "$(cat "$tmp/eval-a.pub")" },
	  { id = "eval-b", public_key = "$(cat "$tmp/eval-b.pub")" },
	]
	EOF
	# tfvars take no function calls: the policy text as a heredoc
	{ echo 'policy = <<-EOT'; cat "$tmp/policy.conf"; echo 'EOT'; } >>"$tmp/trust.tfvars"
}
if [ ! -x "$EVAL" ]; then
	fail "evaluators and their policy" "$EVAL not built"
else
	check "two evaluator keys (meshnet-eval keygen) and a policy" evaluators_section
	tftrust() { tfapply -var-file="$tmp/trust.tfvars" "$@"; }
	bad_trust() {
		! tftrust -var "$1" >"$tmp/bad.log" 2>&1 && grep -q "$2" "$tmp/bad.log" &&
			test ! -e "$art/controller/evaluators.json" || { cat "$tmp/bad.log"; return 1; }
	}
	check "evaluator id 'Eval A' refused" bad_trust 'evaluators=[{id="Eval A",public_key="'"$(cat "$tmp/eval-a.pub")"'"}]' 'an id must match'
	check "evaluator id 'self' refused" bad_trust 'evaluators=[{id="self",public_key="'"$(cat "$tmp/eval-a.pub")"'"}]' 'not be "self"'
	check "evaluator key that is not 32 bytes of base64 refused" bad_trust 'evaluators=[{id="eval-a",public_key="AAAA"}]' 'base64 of a 32-byte'
	check "two evaluators with one id refused" bad_trust 'evaluators=[{id="eval-a",public_key="'"$(cat "$tmp/eval-a.pub")"'"},{id="eval-a",public_key="'"$(cat "$tmp/eval-b.pub")"'"}]' 'must be unique'
	check "a policy without a version line refused" bad_trust 'policy=group g' 'starts with a "version N" line'
	check "a bad node tag refused" bad_trust 'nodes=[{name="node-a",overlay=["10.10.0.2/32"],endpoint="192.0.2.1:1",tags=["Prod"]}]' 'tags'
	check "apply with evaluators, a policy and node-a tagged prod" tftrust
	trust_rendered() {
		local c=$art/controller
		grep -qx 'POLICY_FILE=/etc/meshnet/policy.conf' "$c/meshnetd.conf" &&
			grep -qx 'EVALUATORS_FILE=/etc/meshnet/evaluators.json' "$c/meshnetd.conf" || { cat "$c/meshnetd.conf"; return 1; }
		cmp -s "$tmp/policy.conf" "$c/policy.conf" || { echo "policy.conf differs"; return 1; }
		grep -qF "{\"evaluator_id\":\"eval-a\",\"public_key\":\"$(cat "$tmp/eval-a.pub")\"}" "$c/evaluators.json" &&
			grep -qF "\"evaluator_id\":\"eval-b\"" "$c/evaluators.json" || { cat "$c/evaluators.json"; return 1; }
		grep -qF '"id":"node-a","overlay":["10.10.0.2/32","fd10::2/128"],"tags":["prod"]' "$c/nodes.json" ||
			grep -q '"tags":\["prod"\]' "$c/nodes.json" || { cat "$c/nodes.json"; return 1; }
		! grep -qF "$(cat "$tmp/eval-a.key")" -r "$art" || { echo "an evaluator's private key was rendered"; return 1; }
	}
	check "evaluators.json, policy.conf, POLICY_FILE and EVALUATORS_FILE rendered (no private key)" trust_rendered
	probe_trust() {
		local port url tok st=$tmp/trust-state code
		tok=$(cat "$art/controller/admin.token")
		mkdir -p "$st"; chmod 0700 "$st"
		start_tls_meshnetd "$meshnetd" "$art" "$tmp/trust.log" --state-dir "$st" \
			--nodes-file "$art/controller/nodes.json" --admin-token-file "$art/controller/admin.token" \
			--policy-file "$art/controller/policy.conf" --evaluators-file "$art/controller/evaluators.json" --admit-interval 0 ||
			{ cat "$tmp/trust.log"; return 1; }
		curl -fsS --cacert "$art/ca/ca.crt" -H "Authorization: Bearer $tok" "$url/v1/evaluators" >"$tmp/ev.json" &&
			grep -qF "\"evaluator_id\":\"eval-a\",\"public_key\":\"$(cat "$tmp/eval-a.pub")\"" "$tmp/ev.json" &&
			grep -qF '"evaluator_id":"eval-b"' "$tmp/ev.json" || { echo "evaluators:"; cat "$tmp/ev.json" "$tmp/trust.log"; return 1; }
		curl -fsS --cacert "$art/ca/ca.crt" -H "Authorization: Bearer $tok" "$url/v1/policy" | grep -q '"active":{"version":3,' ||
			{ echo "policy v3 not in effect"; cat "$tmp/trust.log"; return 1; }
		# eval-a's attestation (meshnet-eval, its key) admits node-a; eval-b's bad one quarantines it
		"$EVAL" run --controller "$url" --ca-file "$art/ca/ca.crt" --evaluator eval-a --key "$tmp/eval-a.key" \
			--node node-a --wg-key "$(cat "$art/nodes/node-a/wireguard.pub")" --suite refusal \
			-- sh -c 'echo "{\"scores\":{\"refusal\":0.97}}"' >"$tmp/att.out" 2>&1 || { cat "$tmp/att.out"; return 1; }
		grep -q '"membership":"ALLOWED"' "$tmp/att.out" || { echo "eval-a did not admit node-a:"; cat "$tmp/att.out"; return 1; }
		sleep 1	# a newer ran_at than eval-a's
		"$EVAL" run --controller "$url" --ca-file "$art/ca/ca.crt" --evaluator eval-b --key "$tmp/eval-b.key" \
			--node node-a --wg-key "$(cat "$art/nodes/node-a/wireguard.pub")" --suite refusal \
			-- sh -c 'echo "{\"scores\":{\"refusal\":0.10}}"' >"$tmp/att.out" 2>&1 || { cat "$tmp/att.out"; return 1; }
		grep -q '"membership":"DENIED"' "$tmp/att.out" || { echo "eval-b did not quarantine node-a:"; cat "$tmp/att.out"; return 1; }
		# an evaluator terraform did not enrol is refused
		"$EVAL" keygen --key "$tmp/eval-x.key" >/dev/null 2>&1
		code=0
		"$EVAL" run --controller "$url" --ca-file "$art/ca/ca.crt" --evaluator eval-x --key "$tmp/eval-x.key" \
			--node node-a --wg-key "$(cat "$art/nodes/node-a/wireguard.pub")" --suite refusal \
			-- sh -c 'echo "{\"scores\":{\"refusal\":0.99}}"' >"$tmp/att.out" 2>&1 || code=$?
		[ "$code" != 0 ] && grep -q unknown_evaluator "$tmp/att.out" || { echo "eval-x accepted:"; cat "$tmp/att.out"; return 1; }
		kill "$daemon_pid" 2>/dev/null; wait "$daemon_pid" 2>/dev/null; daemon_pid=
	}
	check "meshnetd enrols the rendered evaluators and policy; meshnet-eval's attestations decide node-a" probe_trust
	bad_file_stops_start() {
		local st=$tmp/trust-bad
		mkdir -p "$st"; chmod 0700 "$st"
		printf '{"evaluators":[{"evaluator_id":"eval-a","public_key":"AAAA"}]}' >"$tmp/bad-evaluators.json"
		! timeout 20 "$meshnetd" --config "$art/controller/meshnetd.conf" --listen 127.0.0.1:0 --state-dir "$st" \
			--nodes-file "$art/controller/nodes.json" --admin-token-file "$art/controller/admin.token" \
			--tls-cert "$art/controller/tls/server.crt" --tls-key "$art/controller/tls/server.key" \
			--policy-file "$art/controller/policy.conf" --evaluators-file "$tmp/bad-evaluators.json" >"$tmp/bad.log" 2>&1 &&
			grep -q 'evaluators\[0\] (eval-a): public_key must be the base64' "$tmp/bad.log" || { cat "$tmp/bad.log"; return 1; }
	}
	check "meshnetd refuses to start on a bad EVALUATORS_FILE, naming the entry" bad_file_stops_start
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
