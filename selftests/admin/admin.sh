#!/usr/bin/env bash
# meshnet-admin against a real meshnetd (plain HTTP on loopback), and a
# node joining with a one-time token through the real meshnet-agent:
#
#   meshnet-admin enrol node-d ──▶ token ──▶ meshnet-agent join (keys made on the node)
#   status / nodes / node / pin / unpin / rotate / epochs / audit tail / remove
#   --json on each; bad input: exit 2 naming it; refusals: exit 1 with the
#   controller's message; a used, wrong or foreign token changes nothing.
# Usage: admin.sh [BUILD]
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/deploy/tap.sh"
build=${1:-$top/build}
tmp=$(mktemp -d /tmp/meshnet-admin.XXXXXX)
pid=
cleanup() { [ -z "$pid" ] || kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT

openssl rand -hex 32 >"$tmp/token"; chmod 600 "$tmp/token"
echo '{"nodes": []}' >"$tmp/nodes.json"
# start_meshnetd LOG ARGS...: on a free port ($port, $url, $pid), retried on a port clash
start_meshnetd() {
	local log=$1; shift
	start_args=("$@") start_log=$log
	start_once() {
		port=$(free_port) || return 1
		url=http://127.0.0.1:$port
		"$build/meshnetd" --listen "127.0.0.1:$port" "${start_args[@]}" >"$start_log" 2>&1 &
		pid=$!
		for _ in $(seq 100); do
			curl -fs "$url/health" >/dev/null 2>&1 && return 0
			kill -0 "$pid" 2>/dev/null || { wait "$pid"; pid=; return 1; }
			sleep 0.1
		done
		return 1
	}
	retry_port_clash "$log" start_once
}
start_meshnetd "$tmp/ctl.log" --state-dir "$tmp/state" --nodes-file "$tmp/nodes.json" \
	--admin-token-file "$tmp/token" --allow-demo-scores 1 --deny-rotate-interval 0

adm() { "$build/meshnet-admin" --controller "$url" --token-file "$tmp/token" "$@"; }
# out_has PATTERN CMD...: CMD succeeds and prints PATTERN (ERE)
out_has() { local p=$1 out; shift; out=$("$@" 2>&1) || { echo "exit $?: $out"; return 1; }
	grep -Eq -- "$p" <<<"$out" || { echo "no '$p' in:"; echo "$out"; return 1; }; }
# refused RC PATTERN CMD...: CMD exits RC and its stderr names the problem
refused() { local rc=$1 p=$2 out got; shift 2; out=$("$@" 2>&1); got=$?
	[ "$got" = "$rc" ] || { echo "exit $got, want $rc: $out"; return 1; }
	grep -Eq -- "$p" <<<"$out" || { echo "no '$p' in: $out"; return 1; }; }

say "status, and the empty mesh"
check "status: epoch, 0 nodes, audit head" out_has '^nodes: +0: 0 allowed' adm status
check "status --json: version and rules" out_has '"allow_demo_scores":true' adm --json status
check "nodes on an empty mesh: only the header" out_has '^NODE +VERDICT' adm nodes

say "enrol node-d with a one-time token; the node joins with keys it made itself"
tokout=$(adm --json enrol node-d --overlay 10.10.0.5/32 --endpoint 192.0.2.15:51820)
token=$(sed -n 's/.*"token": *"\([0-9a-f]*\)".*/\1/p' <<<"$tokout")
check "enrol prints a 64-hex one-time token" test "${#token}" = 64
check "a token is not an enrolment: node-d is not listed yet" bash -c "! $build/meshnet-admin --controller $url --token-file $tmp/token nodes | grep -q node-d"
join() { "$build/meshnet-agent" join --node-id "$1" --controller "$url" --plain-http \
	--state-dir "$tmp/$1" --token "$2"; }
refused_join() { local out; out=$(join "$1" "$2" 2>&1) && { echo "accepted: $out"; return 1; }
	grep -q "$3" <<<"$out" || { echo "$out"; return 1; }; }
check "the token is for node-d only: node-e refused (bad_token)" refused_join node-e "$token" "bad_token\|unknown, expired"
check "a wrong token is refused" refused_join node-d "$(openssl rand -hex 32)" "unknown, expired"
check "meshnet-agent join with the token enrols node-d" out_has 'node-d: enrolled with its own keys' join node-d "$token"
check "the private keys stayed on the node (0600 in its state dir)" \
	test "$(stat -c %a "$tmp/node-d/wireguard.key")$(stat -c %a "$tmp/node-d/ed25519.key")" = 600600
check "the token works once: a second join is refused" refused_join node-d "$token" "unknown, expired, used"
check "nodes lists node-d DENIED (no benchmark yet)" out_has '^node-d +DENIED +- +- +- +never' adm nodes
pub=$("$build/meshnet-agent" keygen --node-id node-d --state-dir "$tmp/node-d" | sed -n 's/.*"wg_public_key":"\([^"]*\)".*/\1/p' | tr -d '\\')
has_key() { adm --json nodes | grep -qF "\"public_key\":\"$pub\""; }
check "nodes --json: node-d's public key is the one the node made" has_key
check "enrol of an enrolled node refused (409 exists)" refused 1 'enrolled already.*409 exists' adm enrol node-d --overlay 10.10.0.5/32

say "a benchmark, pins, one node's history"
# a signed submission as node-d, by the agent itself (made-up scores, said so)
submit() { "$build/meshnet-agent" bench --submit --node-id "$1" --controller "$url" --plain-http \
	--state-dir "$tmp/$1" --demo-scores --score-mean "$2" --score-jitter 0; }
check "meshnet-agent bench --submit: node-d's first benchmark accepted" out_has '"membership":"ALLOWED"' submit node-d 0.91
check "node show: the benchmark and its history against the thresholds" out_has '0\.91/.*above \(demo\)' adm node node-d
check "a second benchmark below the threshold flips node-d DENIED" out_has '"membership":"DENIED"' submit node-d 0.30
check "history keeps both, the second BELOW the threshold" out_has '0\.30/.*BELOW' adm node node-d
check "nodes: scores, DEMO yes, last seen" out_has '^node-d +DENIED +- +0\.30/0\.30/0\.30/0\.30 +yes +20[0-9-]+T' adm nodes
# signed_ack NODE REVISION: POST /v1/ack/NODE signed with the node's own key (its
# ed25519.key is the raw seed: wrapped into PKCS#8 for openssl), as its agent does
signed_ack() {
	local node=$1 rev=$2 path body ts nonce sig pem=$tmp/$1.ack.pem
	{ echo "-----BEGIN PRIVATE KEY-----"
	  { printf '\x30\x2e\x02\x01\x00\x30\x05\x06\x03\x2b\x65\x70\x04\x22\x04\x20'; base64 -d "$tmp/$node/ed25519.key"; } | base64 -w0
	  echo; echo "-----END PRIVATE KEY-----"; } >"$pem"
	path=/v1/ack/$node
	body='{"node_id":"'$node'","revision":'$rev',"epoch":1,"table_digest":"'$(printf '%064d' 0)'","applied_unix":'$(date +%s)',"agent_version":"meshnet-agent test-9"}'
	ts=$(date +%s); nonce=$(openssl rand -hex 16)
	printf 'meshnet-v2\nmeshnet\nPOST\n%s\n%s\n%s\n%s\n' "$path" "$ts" "$nonce" \
		"$(printf '%s' "$body" | sha256sum | cut -d' ' -f1)" >"$tmp/ack.signed"
	sig=$(openssl pkeyutl -sign -rawin -inkey "$pem" -in "$tmp/ack.signed" | base64 -w0) || return 1
	curl -fsS -X POST -H 'Content-Type: application/json' -H "X-Meshnet-Node: $node" \
		-H "X-Meshnet-Timestamp: $ts" -H "X-Meshnet-Nonce: $nonce" -H "X-Meshnet-Signature: $sig" \
		--data-binary "$body" "$url$path"
}
check "nodes: node-d never acknowledged (APPLIED -, AGENT -)" out_has '^node-d +DENIED +- +[0-9./]+ +yes +20[0-9:TZ-]+ +- +- ' adm nodes
check "node node-d: never acknowledged" out_has '^applied: +never acknowledged' adm node node-d
head_rev=$(curl -fsS "$url/health" | sed -n 's/.*"revision":\([0-9]*\).*/\1/p')
check "node-d acknowledges revision $head_rev, signed with its own key" signed_ack node-d "$head_rev"
check "nodes: node-d's applied revision and agent version" out_has "^node-d +DENIED +- +[0-9./]+ +yes +20[0-9:TZ-]+ +$head_rev +meshnet-agent test-9 " adm nodes
check "node node-d: applied revision, agent, last ack" out_has "^applied: +revision $head_rev \(agent meshnet-agent test-9, last ack 20" adm node node-d
check "nodes --json: applied_revision" out_has "\"applied_revision\": *$head_rev," adm --json nodes
check "nodes --json: agent_version" out_has '"agent_version": *"meshnet-agent test-9"' adm --json nodes
check "status counts node-d on demo scores" out_has 'denied, 0 pinned, 0 without a benchmark, 1 on demo scores' adm status
check "node node-d: verdict, key, thresholds" out_has '^thresholds: +overall >= 0\.70' adm node node-d
check "node --json: score_history array" out_has '"score_history"' adm --json node node-d
check "node node-d: why it is DENIED (rule, reason)" \
	out_has '^why: +rule v1-threshold \(built-in v1 threshold rule\): score 0\.30 < threshold 0\.70' adm node node-d
check "... the report it rests on (evaluator, suite, scores, age)" \
	out_has '^  used: +self / benchmark: overall 0\.30 .*\([0-9]+ s old\)' adm node node-d
check "... and what is missing" out_has '^  missing: +score 0\.30 < threshold 0\.70' adm node node-d
check "node --json: the explanation" out_has '"explanation": ?\{' adm --json node node-d
check "pin node-d allowed" out_has '^node-d: ALLOWED' adm pin node-d allowed
check "nodes shows the pin" out_has '^node-d +ALLOWED +ALLOWED' adm nodes
check "unpin node-d: its scores decide again" out_has '^node-d: ' adm unpin node-d
check "nodes: no pin" out_has '^node-d +[A-Z]+ +- ' adm nodes

say "epochs, rotate, audit"
before=$(adm --json epochs | sed -n 's/.*"id":\([0-9]*\).*/\1/p' | head -n 1)
check "rotate starts a new epoch" out_has '^new epoch' adm rotate
after=$(adm --json epochs | sed -n 's/.*"id":\([0-9]*\).*/\1/p' | head -n 1)
check "epochs: the id moved on ($before -> $after)" test "$after" -gt "$before"
check "epochs: secret shown only as its hash" out_has '^secret: +sha256:[0-9a-f]{64}' adm epochs
check "audit tail: the enrolment and the pin are recorded" out_has ' enrol +node-d' adm audit tail -n 50
check "audit tail: node-d's verdict change, with its reason" out_has ' verdict +node-d ALLOWED -> DENIED: score 0\.30' adm audit -n 50
check "audit --json -n 1: exactly one record" bash -c "[ \$($build/meshnet-admin --controller $url --token-file $tmp/token --json audit -n 1 | grep -c '\"index\"') = 1 ]"
check "audit verify PATH: meshnetd's verifier on the state's log" env PATH="$build:$PATH" \
	"$build/meshnet-admin" audit verify "$tmp/state"

say "bad input: exit 2 naming it; refusals: exit 1 with the controller's words"
check "unknown subcommand" refused 2 "unknown subcommand 'frobnicate'" adm frobnicate
check "bad node id" refused 2 "bad node id 'Node/D'" adm node Node/D
check "pin with a bad verdict" refused 2 "unknown verdict 'maybe'" adm pin node-d maybe
check "enrol without --overlay" refused 2 "overlay is required" adm enrol node-x
check "enrol with a bad prefix: the controller's message" refused 1 "HTTP 400" adm enrol node-x --overlay 10.10.0.0/8
check "audit -n 0" refused 2 "-n: bad number '0'" adm audit -n 0
check "unknown node" refused 1 "node node-z is not enrolled.*404 unknown_node" adm node node-z
check "wrong admin token: 401, nothing shown" bash -c "openssl rand -hex 32 >$tmp/bad; chmod 600 $tmp/bad; out=\$($build/meshnet-admin --controller $url --token-file $tmp/bad nodes 2>&1); [ \$? = 1 ] && grep -q 'HTTP 401' <<<\"\$out\""
check "token file readable by others refused before any request" bash -c "cp $tmp/token $tmp/open; chmod 644 $tmp/open; out=\$($build/meshnet-admin --controller $url --token-file $tmp/open status 2>&1); [ \$? = 1 ] && grep -q 'readable by group or others' <<<\"\$out\""
check "controller unreachable: exit 1, named" refused 1 "127.0.0.1:1" "$build/meshnet-admin" --controller http://127.0.0.1:1 --token-file "$tmp/token" status
check "bad --controller URL" refused 2 "not an http:// or https:// URL" "$build/meshnet-admin" --controller ftp://x status
check "every subcommand has --help" bash -c "for s in status nodes node enrol remove pin unpin rotate epochs audit; do $build/meshnet-admin \$s --help | grep -q \"^Usage: meshnet-admin \$s\" || { echo \$s; exit 1; }; done"
check "--version" out_has '^meshnet-admin [0-9]' "$build/meshnet-admin" --version

say "/metrics: per-node series within METRICS_NODES_MAX, checked by promtool"
curl -fsS "$url/metrics" >"$tmp/metrics.txt"
check "meshnetd's /metrics passes promtool check metrics" bash -c "promtool check metrics <$tmp/metrics.txt"
check "by default no node id in the public /metrics (METRICS_NODES_MAX=0)" bash -c "! grep -q 'node-d' $tmp/metrics.txt"
check "... node-d counted as left out" grep -qx 'meshnet_nodes_unlabelled 1' "$tmp/metrics.txt"
# a second controller with three nodes and METRICS_NODES_MAX=2
main_pid=$pid main_url=$url
i=0
for x in node-x node-y node-z; do
	i=$((i + 1))
	"$build/meshnet-agent" keygen --node-id $x --state-dir "$tmp/$x" --overlay-ips "10.20.0.$i/32" >"$tmp/$x.rec" 2>/dev/null
done
printf '{"nodes": [%s, %s, %s]}\n' "$(cat "$tmp/node-x.rec")" "$(cat "$tmp/node-y.rec")" "$(cat "$tmp/node-z.rec")" >"$tmp/nodes3.json"
if start_meshnetd "$tmp/ctl2.log" --state-dir "$tmp/state2" --nodes-file "$tmp/nodes3.json" \
	--admin-token-file "$tmp/token" --metrics-nodes-max 2 --allow-demo-scores 1; then
	check "node-x submits 0.30 to it" out_has '"membership":"DENIED"' submit node-x 0.30
	curl -fsS "$url/metrics" >"$tmp/metrics2.txt"
	check "METRICS_NODES_MAX=2 of 3 nodes: two verdict series" test "$(grep -c '^meshnet_node_allowed{' "$tmp/metrics2.txt")" = 2
	check "... and meshnet_nodes_unlabelled 1" grep -qx 'meshnet_nodes_unlabelled 1' "$tmp/metrics2.txt"
	check "node-x's verdict series (DENIED: 0)" grep -qx 'meshnet_node_allowed{node="node-x",pin="none"} 0' "$tmp/metrics2.txt"
	check "node-x's last benchmark age" grep -qE '^meshnet_node_benchmark_age_seconds\{node="node-x"\} [0-9]+$' "$tmp/metrics2.txt"
	check "node-x's last score, marked demo" grep -qx 'meshnet_node_score{node="node-x",demo="yes"} 0.3' "$tmp/metrics2.txt"
	check "node-y: no benchmark, age -1, no score series" bash -c "grep -qx 'meshnet_node_benchmark_age_seconds{node=\"node-y\"} -1' $tmp/metrics2.txt && ! grep -q '^meshnet_node_score{node=\"node-y\"' $tmp/metrics2.txt"
	check "... passes promtool check metrics" bash -c "promtool check metrics <$tmp/metrics2.txt"
	kill "$pid"; wait "$pid" 2>/dev/null
else
	fail "a second meshnetd with --metrics-nodes-max 2 and three nodes" "$(tail -n 5 "$tmp/ctl2.log")"
fi
pid=$main_pid url=$main_url
check "--metrics-nodes-max -1 is refused, naming the setting" refused 2 'METRICS_NODES_MAX' \
	"$build/meshnetd" --metrics-nodes-max -1 --state-dir "$tmp/state3" --admin-token-file "$tmp/token"

say "evaluators and the policy (a controller with POLICY_FILE)"
main_pid=$pid main_url=$url
"$build/meshnet-eval" keygen --key "$tmp/eval-a.key" >/dev/null 2>&1
evkey=$("$build/meshnet-eval" pubkey --key "$tmp/eval-a.key" 2>/dev/null)
cat >"$tmp/policy.conf" <<'POLICY'
version 1
group default
  match all
  self-reports count
  suite benchmark
    evaluators self eval-a
    max-age 300
    min overall 0.80
POLICY
if start_meshnetd "$tmp/ctl4.log" --state-dir "$tmp/state4" --nodes-file "$tmp/nodes.json" \
	--admin-token-file "$tmp/token" --policy-file "$tmp/policy.conf"; then
	check "evaluators on a new controller: only the header" bash -c "test \"\$($build/meshnet-admin --controller $url --token-file $tmp/token evaluators | wc -l)\" = 1"
	check "meshnet-eval pubkey gives a 44-character key" test "${#evkey}" = 44
	check "evaluator add eval-a KEY" out_has '^evaluator eval-a enrolled' adm evaluator add eval-a "$evkey"
	check "evaluators lists eval-a, active, with its key" bash -c "$build/meshnet-admin --controller $url --token-file $tmp/token evaluators | grep -Fqx 'eval-a                   active   $evkey'"
	check "evaluators --json: the controller's array" out_has '"evaluator_id": *"eval-a"' adm --json evaluators
	check "evaluator add eval-a again: refused by the controller" refused 1 'eval-a' adm evaluator add eval-a "$evkey"
	check "evaluator add with a bad id: exit 2 naming it" refused 2 "bad evaluator id 'Eval_A'" adm evaluator add Eval_A "$evkey"
	check "evaluator add with a bad key: exit 2 naming it" refused 2 "bad public key 'abc'" adm evaluator add eval-b abc
	check "evaluator add without a key: exit 2" refused 2 'missing PUBKEY' adm evaluator add eval-b
	check "evaluator frobnicate: exit 2 naming it" refused 2 "unknown action 'frobnicate'" adm evaluator frobnicate eval-a
	check "... nothing was enrolled by the refusals" bash -c "test \"\$($build/meshnet-admin --controller $url --token-file $tmp/token evaluators | wc -l)\" = 2"
	check "policy (show): version 1 in effect, its text" out_has '^active: +version 1, 1 group' adm policy
	check "policy show --json: active and pending" out_has '"pending": *null' adm --json policy show
	printf 'version 2\ngroup default\n  match all\n  colour blue\n' >"$tmp/bad.conf"
	check "policy set with an invalid file: refused with line and field" refused 1 'line 4.*colour|colour.*line 4' adm policy set "$tmp/bad.conf"
	check "... the policy in effect is still version 1" out_has '^active: +version 1,' adm policy
	check "policy set with a missing file: exit 1 naming it" refused 1 "cannot open '$tmp/none.conf'" adm policy set "$tmp/none.conf"
	check "policy set without FILE: exit 2" refused 2 'missing FILE' adm policy set
	sed 's/^version 1$/version 2/; s/min overall 0.80/min overall 0.85/' "$tmp/policy.conf" >"$tmp/v2.conf"
	check "policy set v2: in effect" out_has '^policy in effect' adm policy set "$tmp/v2.conf"
	check "... policy shows version 2" out_has '^active: +version 2,' adm policy
	check "... and POLICY_FILE now holds it" grep -qx 'version 2' "$tmp/policy.conf"
	check "policy reload of the same version: refused, naming it" refused 1 'version 2 must be greater' adm policy reload
	sed -i 's/^version 2$/version 3/' "$tmp/policy.conf"
	check "policy reload: re-reads POLICY_FILE (now version 3)" out_has '^active: +version 3,' adm policy reload
	check "policy frobnicate: exit 2 naming it" refused 2 "unknown action 'frobnicate'" adm policy frobnicate
	check "evaluator remove eval-a" out_has '^evaluator removed' adm evaluator remove eval-a
	check "... listed as removed" out_has '^eval-a +removed ' adm evaluators
	check "evaluator remove an unknown one: refused by the controller" refused 1 '.' adm evaluator remove eval-z
	kill "$pid"; wait "$pid" 2>/dev/null
else
	fail "a controller with POLICY_FILE" "$(tail -n 5 "$tmp/ctl4.log")"
fi
pid=$main_pid url=$main_url

say "remove"
check "remove node-d" out_has '^node-d removed' adm remove node-d
check "removed: not listed" bash -c "! $build/meshnet-admin --controller $url --token-file $tmp/token nodes | grep -q '^node-d '"
check "remove again: 404 unknown_node" refused 1 "unknown_node" adm remove node-d

say "bash completion"
check "completion offers the subcommands" bash -c ". $top/packaging/bash-completion/meshnet-admin; COMP_WORDS=(meshnet-admin p); COMP_CWORD=1; _meshnet_admin; printf '%s\n' \"\${COMPREPLY[@]}\" | grep -qx pin"
check "completion offers policy's actions" bash -c ". $top/packaging/bash-completion/meshnet-admin; COMP_WORDS=(meshnet-admin policy ''); COMP_CWORD=2; _meshnet_admin; printf '%s\n' \"\${COMPREPLY[@]}\" | grep -qx reload"
check "completion offers pin's verdicts" bash -c ". $top/packaging/bash-completion/meshnet-admin; COMP_WORDS=(meshnet-admin pin node-a ''); COMP_CWORD=3; _meshnet_admin; printf '%s\n' \"\${COMPREPLY[@]}\" | grep -qx denied"
tap_done
