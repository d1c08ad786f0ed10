#!/usr/bin/env bash
# Validates docker-compose.yml and the Dockerfiles offline (no Docker engine here):
#
#   docker-compose.yml ──config -q──> schema valid
#        │── services controller, node-a, node-b, node-c (and, --profile postgres,
#        │   postgres + controller-b): health check, restart policy,
#        │   least capabilities, nodes mount only their own artifacts read-only,
#        │   controller state read-write
#        └── each build: every COPY/ADD source exists in the build context
#
# Usage: compose.sh [COMPOSE_FILE]
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
. "$top/selftests/deploy/tap.sh"
file=${1:-$top/docker-compose.yml}
tmp=$(mktemp -d /tmp/meshnet-compose.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

if ! command -v docker-compose >/dev/null; then
	skip "docker-compose config" "docker-compose is not installed (scripts/install-deps.sh installs it)"
	tap_done; exit 0
fi
# docker-compose (v1) is Python with PyYAML: the same interpreter reads its output.
py=$(head -n 1 "$(command -v docker-compose)" | sed -n 's/^#! *//p' | cut -d' ' -f1)
"$py" -c 'import yaml' 2>/dev/null || py=/usr/bin/python3

say "docker-compose -f $file config -q"
check "docker-compose config -q accepts the file" docker-compose -f "$file" config -q
docker-compose -f "$file" config >"$tmp/resolved.yml" 2>"$tmp/err" || cat "$tmp/err"

# query EXPR: evaluates a Python expression over the resolved file (s = services).
query() {
	"$py" - "$tmp/resolved.yml" "$1" <<'PY'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
s = doc.get("services", {})
ok = eval(sys.argv[2], {"s": s, "doc": doc})
if ok is not True:
    print("false:", sys.argv[2]); sys.exit(1)
PY
}
nodes="['node-a', 'node-b', 'node-c']"
check "services are exactly controller, node-a, node-b, node-c (+ postgres, controller-b)" \
	query "sorted(s) == ['controller', 'controller-b', 'node-a', 'node-b', 'node-c', 'postgres']"
check "postgres and controller-b only run with --profile postgres" \
	query "all(s[n].get('profiles') == ['postgres'] for n in ['postgres', 'controller-b']) and not any(s[n].get('profiles') for n in ['controller'] + $nodes)"
check "controller-b: no capability, artifacts read-only, after postgres is healthy" \
	query "s['controller-b'].get('cap_drop') == ['ALL'] and not s['controller-b'].get('cap_add') and [(v['source'].rsplit('/artifacts/', 1)[-1], v['target'], v.get('read_only')) for v in s['controller-b']['volumes']] == [('controller', '/etc/meshnet', True)] and s['controller-b']['depends_on']['postgres']['condition'] == 'service_healthy'"
check "postgres: PostgreSQL 15, password from a secret file, data in a volume" \
	query "s['postgres']['image'] == 'postgres:15' and s['postgres']['environment']['POSTGRES_PASSWORD_FILE'] == '/run/secrets/postgres_password' and doc['secrets']['postgres_password']['file'].endswith('/artifacts/controller/postgres.password') and 'pgdata' in doc['volumes']"
check "every service has a health check" \
	query "all(s[n].get('healthcheck', {}).get('test') for n in s)"
check "every service has a restart policy" \
	query "all(s[n].get('restart') in ('unless-stopped', 'always', 'on-failure') for n in s)"
check "nodes have NET_ADMIN and drop every other capability but NET_RAW" \
	query "all(s[n].get('cap_drop') == ['ALL'] and sorted(s[n].get('cap_add', [])) == ['NET_ADMIN', 'NET_RAW'] for n in $nodes)"
check "no service may load kernel modules or run privileged" \
	query "all('SYS_MODULE' not in s[n].get('cap_add', []) and not s[n].get('privileged') for n in s)"
check "controller runs with no capability at all" \
	query "s['controller'].get('cap_drop') == ['ALL'] and not s['controller'].get('cap_add')"
check "each node mounts only its own artifacts directory, read-only" \
	query "all([(v['source'].rsplit('/artifacts/', 1)[-1], v['target'], v.get('read_only')) for v in s[n]['volumes']] == [('nodes/' + n, '/etc/meshnet', True)] for n in $nodes)"
check "controller: artifacts read-only, state directory read-write" \
	query "sorted((v['source'].rsplit('/artifacts/', 1)[-1], v['target'], bool(v.get('read_only'))) for v in s['controller']['volumes']) == [('controller', '/etc/meshnet', True), ('controller/state', '/var/lib/meshnetd', False)]"
check "nodes start after the controller is healthy" \
	query "all(s[n]['depends_on']['controller']['condition'] == 'service_healthy' for n in $nodes)"
check "static addresses on one network match terraform's default endpoints" \
	query "[s[n]['networks']['meshnet']['ipv4_address'] for n in ['controller'] + $nodes] == ['192.168.77.10', '192.168.77.11', '192.168.77.12', '192.168.77.13']"
tf_endpoints() {
	local n ip
	for n in a b c; do
		ip=$(grep -o "name = \"node-$n\".*endpoint = \"[0-9.]*" "$top/terraform/variables.tf" | sed 's/.*"//')
		grep -q "ipv4_address: $ip\$" "$file" || { echo "node-$n: terraform endpoint $ip not in compose"; return 1; }
	done
}
check "terraform's node endpoints are the compose addresses" tf_endpoints

# copy_sources_exist DOCKERFILE CONTEXT: every COPY/ADD source (not --from) exists.
copy_sources_exist() {
	local df=$1 ctx=$2 line src missing=0
	[ -f "$df" ] || { echo "no Dockerfile $df"; return 1; }
	# join continuation lines, then take COPY/ADD instructions
	sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$df" | grep -Ei '^[[:space:]]*(COPY|ADD)[[:space:]]' |
		grep -v -- '--from=' >"$tmp/copies" || true
	while read -r line; do
		# shellcheck disable=SC2086
		set -- $line; shift
		while [ $# -gt 0 ] && [[ $1 == --* ]]; do shift; done
		while [ $# -gt 1 ]; do
			src=$1; shift
			compgen -G "$ctx/$src" >/dev/null || { echo "$df: COPY source '$src' not in context $ctx"; missing=1; }
		done
	done <"$tmp/copies"
	[ -s "$tmp/copies" ] || { echo "$df copies nothing"; return 1; }
	return $missing
}
builds_ok() {
	"$py" - "$tmp/resolved.yml" >"$tmp/builds" <<'PY' || return 1
import sys, yaml
s = yaml.safe_load(open(sys.argv[1]))["services"]
for n, svc in s.items():
    b = svc.get("build")
    if not b and svc.get("image") == "postgres:15":
        continue    # the upstream PostgreSQL image (--profile postgres)
    if not b:
        print("service %s has no build" % n); sys.exit(1)
    print(b["context"], b.get("dockerfile", "Dockerfile"))
PY
	local ctx df rc=0
	while read -r ctx df; do
		[[ $df == /* ]] || df=$ctx/$df
		copy_sources_exist "$df" "$ctx" || rc=1
	done < <(sort -u "$tmp/builds")
	return $rc
}
check "every image's build context has what its Dockerfile copies" builds_ok
# Replays a Dockerfile's build stage without Docker: copies what the stage
# COPYs into an empty directory and runs its make command there, with /out
# and /tmp/no-harness moved into the sandbox; every /out file a later stage
# copies must then exist. Catches a COPY that forgets a source the build needs.
replay_build_stage() {
	local df=$1 sim line src dst cmd f
	sim=$tmp/replay-$(basename "$(dirname "$1")")
	rm -rf "$sim"; mkdir -p "$sim/src" "$sim/out"
	sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$df" | awk '/^FROM/ { n++ } n == 1' >"$sim/stage"
	while read -r line; do
		# shellcheck disable=SC2086
		set -- $line; shift
		dst=${*: -1}
		while [ $# -gt 1 ]; do
			src=$1; shift
			# Docker semantics: a directory's contents go into dst/, a file into dst/ or as dst
			if [ -d "$top/$src" ]; then
				mkdir -p "$sim/src/$dst" && cp -r "$top/$src/." "$sim/src/$dst/" || return 1
			elif [[ $dst == */ || $dst == . || $# -gt 1 ]]; then
				mkdir -p "$sim/src/$dst" && cp "$top/$src" "$sim/src/$dst/" || return 1
			else
				mkdir -p "$(dirname "$sim/src/$dst")" && cp "$top/$src" "$sim/src/$dst" || return 1
			fi
		done
	done < <(grep -E '^COPY ' "$sim/stage")
	cmd=$(grep -E '^RUN .*make ' "$sim/stage" | sed 's/^RUN //')
	[ -n "$cmd" ] || { echo "$df: no RUN ... make in the build stage"; return 1; }
	cmd=${cmd//\/tmp\/no-harness/$sim/h}
	cmd=${cmd//\/out/$sim/out}
	(cd "$sim/src" && bash -c "$cmd") >"$sim/log" 2>&1 || { tail -n 20 "$sim/log"; return 1; }
	for f in $(grep -oE -- '--from=build /out/[A-Za-z0-9_.-]+' "$df" | sed 's|.*/||'); do
		[ -x "$sim/out/$f" ] || { echo "$df: the build stage did not produce /out/$f"; return 1; }
	done
	echo "$sim" >"$tmp/last-replay"
}
# Every shared library the copied programs need comes from a package the
# runtime stage installs (libc6 is in the base image).
runtime_libs_installed() {
	local df=$1 sim f so pkg pkgs rc=0 triplet
	triplet=$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)
	sim=$(cat "$tmp/last-replay") || return 1
	pkgs=" libc6 $(sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$df" | awk '/^FROM/ { n++ } n == 2' |
		grep -E '^RUN .*apt-get install' | tr ' \t' '\n\n' | grep -E '^[a-z0-9][a-z0-9.+-]+$' | tr '\n' ' ') "
	for f in $(grep -oE -- '--from=build /out/[A-Za-z0-9_.-]+' "$df" | sed 's|.*/||'); do
		for so in $(readelf -d "$sim/out/$f" | sed -n 's/.*Shared library: \[\(.*\)\]/\1/p'); do
			pkg=$( { dpkg -S "/lib/$triplet/$so" || dpkg -S "/usr/lib/$triplet/$so"; } 2>/dev/null |
				head -n 1 | cut -d: -f1)
			[ -n "$pkg" ] || { echo "$f: no package ships $so"; rc=1; continue; }
			[[ $pkgs == *" $pkg "* ]] || { echo "$f needs $so from $pkg, which $df does not install"; rc=1; }
		done
	done
	return $rc
}
for df in "$top"/docker/*/Dockerfile; do
	name=${df#"$top"/}
	check "$name: build stage builds its programs from only what it COPYs" replay_build_stage "$df"
	check "$name: runtime stage installs every shared library they need" runtime_libs_installed "$df"
done
check "node entrypoint is a valid POSIX sh script" sh -n "$top/docker/node/entrypoint.sh"

say "the checks can fail: broken inputs are caught"
sed 's/cap_add: \[NET_ADMIN, NET_RAW\]/cap_add: NET_ADMIN/' "$file" >"$tmp/bad-compose.yml"
check_fails "docker-compose config -q rejects a schema error" docker-compose -f "$tmp/bad-compose.yml" config -q
printf 'FROM debian:12-slim\nCOPY Makefile no/such/file /x/\n' >"$tmp/Dockerfile.bad"
check_fails "a COPY of a missing file is caught" copy_sources_exist "$tmp/Dockerfile.bad" "$top"
sed 's/ libcurl4 / /' "$top/docker/node/Dockerfile" >"$tmp/Dockerfile.nocurl"
check_fails "a runtime stage missing libcurl4 is caught" runtime_libs_installed "$tmp/Dockerfile.nocurl"

tap_done
