# shellcheck shell=bash
# probe_meshnetd MESHNETD ARTIFACTS TMP: starts meshnetd on a free loopback
# port with the files Terraform rendered (enrolment file, TLS certificate and
# key, admin token) and checks over real HTTPS that it serves them: /health
# verifies against the rendered CA, the admin token is accepted and a wrong
# one refused. Needs tap.sh. Sets daemon_pid while the daemon runs.
free_port() {
	local p
	for p in $(shuf -i 20000-60000 -n 20); do
		! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null && { echo "$p"; return; }
	done
	return 1
}

probe_meshnetd() {
	local bin=$1 art=$2 tmp=$3 port url i code
	port=$(free_port) || { fail "meshnetd: no free port"; return; }
	url=https://127.0.0.1:$port
	mkdir -p "$tmp/state"; chmod 0700 "$tmp/state"
	"$bin" --listen "127.0.0.1:$port" --state-dir "$tmp/state" \
		--nodes-file "$art/controller/nodes.json" \
		--admin-token-file "$art/controller/admin.token" \
		--tls-cert "$art/controller/tls/server.crt" --tls-key "$art/controller/tls/server.key" \
		>"$tmp/meshnetd.log" 2>&1 &
	daemon_pid=$!
	for i in $(seq 50); do
		curl -s -o /dev/null --cacert "$art/ca/ca.crt" "$url/health" && break
		kill -0 "$daemon_pid" 2>/dev/null || break
		sleep 0.1
	done
	check "meshnetd starts with the rendered files and serves /health over TLS (CA-verified)" \
		curl -fsS --cacert "$art/ca/ca.crt" "$url/health"
	code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$art/ca/ca.crt" -X POST \
		-H "Authorization: Bearer $(cat "$art/controller/admin.token")" "$url/v1/rotate")
	check "rendered admin token accepted by POST /v1/rotate" test "$code" = 200
	code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$art/ca/ca.crt" -X POST \
		-H "Authorization: Bearer 00$(cat "$art/controller/admin.token")" "$url/v1/rotate")
	check "a wrong admin token is refused (401)" test "$code" = 401
	enrolled() {
		local n
		curl -fsS --cacert "$art/ca/ca.crt" "$url/v1/epoch" >"$tmp/epoch.json" || return 1
		for n in node-a node-b node-c; do
			grep -q "\"$n\"" "$tmp/epoch.json" || { echo "$n not in GET /v1/epoch"; cat "$tmp/epoch.json"; return 1; }
		done
	}
	check "every rendered node is enrolled (GET /v1/epoch lists it)" enrolled
	kill "$daemon_pid" 2>/dev/null; wait "$daemon_pid" 2>/dev/null; daemon_pid=
	if [ "$TAP_FAIL" -gt 0 ]; then sed 's/^/#   meshnetd: /' "$tmp/meshnetd.log" | head -n 20; fi
}
