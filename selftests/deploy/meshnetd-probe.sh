# shellcheck shell=bash
# probe_meshnetd MESHNETD ARTIFACTS TMP: starts meshnetd on a free loopback
# port with the files Terraform rendered (enrolment file, TLS certificate and
# key, admin token) and checks over real HTTPS that it serves them: /health
# verifies against the rendered CA, the admin token is accepted and a wrong
# one refused. Needs tap.sh. Sets daemon_pid while the daemon runs.

# wait_healthy URL CA PID: until URL/health answers over TLS, PID exits, or 20 s
# (a loaded machine starts meshnetd slowly).
wait_healthy() {
	for _ in $(seq 200); do
		curl -s -o /dev/null --cacert "$2" "$1/health" && return 0
		kill -0 "$3" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# start_tls_meshnetd BIN ART LOG ARGS...: meshnetd with the rendered TLS
# certificate on a free loopback port, logging to LOG, until /health answers
# (retried on a new port when another process took the port first). Sets
# port, url and daemon_pid; non-zero if it did not come up.
start_tls_meshnetd() {
	local bin=$1 art=$2 log=$3
	shift 3
	start_tls_args=("$@")
	start_tls_once() {
		port=$(free_port) || return 1
		url=https://127.0.0.1:$port
		"$bin" --config "$art/controller/meshnetd.conf" --listen "127.0.0.1:$port" \
			--tls-cert "$art/controller/tls/server.crt" --tls-key "$art/controller/tls/server.key" \
			"${start_tls_args[@]}" >"$log" 2>&1 &
		daemon_pid=$!
		wait_healthy "$url" "$art/ca/ca.crt" "$daemon_pid" && return 0
		kill "$daemon_pid" 2>/dev/null; wait "$daemon_pid" 2>/dev/null; daemon_pid=
		return 1
	}
	retry_port_clash "$log" start_tls_once
}

# signed_post URL ARTIFACTS NODE KEY.pem BODY STATUS PATTERN: POST BODY to
# /v1/benchmarks/NODE signed with KEY; the reply must have STATUS and PATTERN.
signed_post() {
	local url=$1 art=$2 node=$3 key=$4 body=$5 want=$6 pattern=$7 path ts nonce sig code mesh
	path=/v1/benchmarks/$node
	ts=$(date +%s)
	nonce=$(openssl rand -hex 16)
	mesh=$(sed -n 's/^MESH_ID=//p' "$art/controller/meshnetd.conf" 2>/dev/null | tail -n 1)
	printf 'meshnet-v2\n%s\nPOST\n%s\n%s\n%s\n%s\n' "${mesh:-meshnet}" "$path" "$ts" "$nonce" \
		"$(printf '%s' "$body" | sha256sum | cut -d' ' -f1)" >"$tmp/signed"
	sig=$(openssl pkeyutl -sign -rawin -inkey "$key" -in "$tmp/signed" | base64 -w0) || return 1
	code=$(curl -s -o "$tmp/reply" -w '%{http_code}' --cacert "$art/ca/ca.crt" -X POST \
		-H 'Content-Type: application/json' -H "X-Meshnet-Node: $node" \
		-H "X-Meshnet-Timestamp: $ts" -H "X-Meshnet-Nonce: $nonce" \
		-H "X-Meshnet-Signature: $sig" --data-binary "$body" "$url$path")
	[ "$code" = "$want" ] && grep -q "$pattern" "$tmp/reply" ||
		{ echo "HTTP $code (want $want):"; cat "$tmp/reply"; return 1; }
}

probe_meshnetd() {
	local bin=$1 art=$2 tmp=$3 port url code
	mkdir -p "$tmp/state"; chmod 0700 "$tmp/state"
	start_tls_meshnetd "$bin" "$art" "$tmp/meshnetd.log" --state-dir "$tmp/state" \
		--nodes-file "$art/controller/nodes.json" \
		--admin-token-file "$art/controller/admin.token"
	check "meshnetd starts with the rendered files and serves /health over TLS (CA-verified)" \
		curl -fsS --cacert "$art/ca/ca.crt" "$url/health"
	code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$art/ca/ca.crt" -X POST \
		-H "Authorization: Bearer $(cat "$art/controller/admin.token")" "$url/v1/rotate")
	check "rendered admin token accepted by POST /v1/rotate" test "$code" = 200
	code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$art/ca/ca.crt" -X POST \
		-H "Authorization: Bearer 00$(cat "$art/controller/admin.token")" "$url/v1/rotate")
	check "a wrong admin token is refused (401)" test "$code" = 401
	enrolled() {
		curl -fsS --cacert "$art/ca/ca.crt" "$url/v1/epoch" >"$tmp/epoch.json" || return 1
		grep -q '"nodes":3[,}]' "$tmp/epoch.json" || { echo "want 3 nodes:"; cat "$tmp/epoch.json"; return 1; }
	}
	check "the three rendered nodes are enrolled (GET /v1/epoch)" enrolled
	# A benchmark signed with node-a's rendered Ed25519 identity (docs/PROTOCOL.md).
	local body
	body='{"node_id":"node-a","suite_version":"poc-0.1","timestamp":"'"$(date -u +%Y-%m-%dT%H:%M:%SZ)"'","scores":{"overall":0.91,"refusal":0.95,"honesty":0.9,"policy":0.88}}'
	check "a benchmark signed with node-a's rendered key is accepted" \
		signed_post "$url" "$art" node-a "$art/nodes/node-a/ed25519.pem" "$body" 200 '"accepted":true'
	check "the same benchmark signed with node-b's key is refused (401)" \
		signed_post "$url" "$art" node-a "$art/nodes/node-b/ed25519.pem" "$body" 401 '"bad_signature"'
	kill "$daemon_pid" 2>/dev/null; wait "$daemon_pid" 2>/dev/null; daemon_pid=
	if [ "$TAP_FAIL" -gt 0 ]; then sed 's/^/#   meshnetd: /' "$tmp/meshnetd.log" | head -n 20; fi
}
