#!/usr/bin/env bash
# A throwaway PostgreSQL 15 server for the tests and benchmarks: initdb in a
# temporary directory as an unprivileged user, listening on 127.0.0.1 (a free
# port) and on a Unix socket inside that directory. Real server, real fsync.
#
#   pg-test-server.sh start DIR      initdb (if DIR is new) + start; prints the URL
#   pg-test-server.sh stop DIR       fast shutdown (keeps DIR)
#   pg-test-server.sh kill DIR       SIGKILL the postmaster (crash; DIR kept)
#   pg-test-server.sh restart DIR    stop + start on the same port
#   pg-test-server.sh url DIR        prints the URL of a started DIR
#   pg-test-server.sh clean DIR      stop and remove DIR
#   pg-test-server.sh run -- CMD...  start in a fresh temporary DIR, run CMD with
#                                    MESHNET_PG_URL and MESHNET_PG_DIR set, stop and
#                                    remove everything on exit (also on a signal)
#
# As root, postgres runs as the user "meshnet-pg" (created if missing, no
# login shell); otherwise as the calling user. Binaries: PG_BIN, default
# /usr/lib/postgresql/15/bin. The database is "meshnet", the role "meshnet"
# (trust authentication on 127.0.0.1 and the socket only: a test server).
set -euo pipefail

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PG_USER=${PG_USER:-meshnet-pg}
DB=meshnet
ROLE=meshnet

die() { echo "pg-test-server: $*" >&2; exit 1; }

[ -x "$PG_BIN/postgres" ] || die "no PostgreSQL binaries in $PG_BIN (install postgresql-15; scripts/install-deps.sh does)"

as_pg() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u "$PG_USER" -- "$@"
	else
		"$@"
	fi
}

ensure_user() {
	[ "$(id -u)" -eq 0 ] || return 0
	id -u "$PG_USER" >/dev/null 2>&1 && return 0
	useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
		"$PG_USER" 2>/dev/null || id -u "$PG_USER" >/dev/null 2>&1 ||
		die "cannot create the unprivileged user $PG_USER"
}

free_port() {
	local p
	for _ in $(seq 1 50); do
		p=$(( (RANDOM << 1 | RANDOM & 1) % 20000 + 30000 ))
		# Taken if anything listens on it (bash's /dev/tcp connects).
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	die "no free TCP port found"
}

url_of() {
	local dir=$1
	[ -f "$dir/port" ] || die "$dir: not a test server directory"
	echo "postgres://$ROLE@127.0.0.1:$(cat "$dir/port")/$DB?connect_timeout=5"
}

do_init() {
	local dir=$1
	ensure_user
	mkdir -p "$dir"
	if [ "$(id -u)" -eq 0 ]; then
		chown "$PG_USER" "$dir"
	fi
	chmod 0700 "$dir"
	[ -f "$dir/data/PG_VERSION" ] && return 0
	as_pg "$PG_BIN/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 \
		>"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; die "initdb failed"; }
	mkdir -p "$dir/sock"
	[ "$(id -u)" -eq 0 ] && chown "$PG_USER" "$dir/sock"
	cat >>"$dir/data/postgresql.conf" <<-EOF
	# pg-test-server.sh
	listen_addresses = '127.0.0.1'
	unix_socket_directories = '$dir/sock'
	max_connections = 200
	shared_buffers = 64MB
	fsync = on
	synchronous_commit = on
	log_min_messages = warning
	log_connections = off
	EOF
	cat >"$dir/data/pg_hba.conf" <<-EOF
	local all all trust
	host all all 127.0.0.1/32 trust
	EOF
}

do_start() {
	local dir=$1 port
	do_init "$dir"
	port=$(cat "$dir/port" 2>/dev/null || free_port)
	for _ in 1 2 3; do
		echo "$port" >"$dir/port"
		if as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
			-o "-p $port" start >/dev/null 2>&1; then
			break
		fi
		grep -qi "address already in use" "$dir/server.log" 2>/dev/null ||
			{ tail -n 20 "$dir/server.log" >&2 || true; die "postgres did not start"; }
		port=$(free_port)
	done
	for _ in $(seq 1 120); do
		as_pg "$PG_BIN/pg_isready" -q -h "$dir/sock" -p "$port" && break
		sleep 0.25
	done
	as_pg "$PG_BIN/pg_isready" -q -h "$dir/sock" -p "$port" || die "postgres is not ready"
	if [ ! -f "$dir/created" ]; then
		as_pg "$PG_BIN/psql" -qAt -h "$dir/sock" -p "$port" -U postgres -d postgres \
			-v ON_ERROR_STOP=1 \
			-c "CREATE ROLE $ROLE LOGIN CREATEDB" -c "CREATE DATABASE $DB OWNER $ROLE" >/dev/null ||
			die "cannot create the database"
		touch "$dir/created"
	fi
	url_of "$dir"
}

do_stop() {
	local dir=$1 mode=${2:-fast}
	[ -f "$dir/data/postmaster.pid" ] || return 0
	as_pg "$PG_BIN/pg_ctl" -D "$dir/data" -m "$mode" -w -t 60 stop >/dev/null 2>&1 || true
}

do_kill() {
	local dir=$1 pid
	[ -f "$dir/data/postmaster.pid" ] || return 0
	pid=$(head -n 1 "$dir/data/postmaster.pid")
	kill -9 "$pid" 2>/dev/null || true
	# The backends notice the postmaster is gone and exit; wait for them.
	for _ in $(seq 1 100); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.05
	done
}

cmd=${1:-}
case "$cmd" in
start) [ $# -eq 2 ] || die "usage: $0 start DIR"; do_start "$2" ;;
stop) [ $# -eq 2 ] || die "usage: $0 stop DIR"; do_stop "$2" ;;
kill) [ $# -eq 2 ] || die "usage: $0 kill DIR"; do_kill "$2" ;;
restart) [ $# -eq 2 ] || die "usage: $0 restart DIR"; do_stop "$2"; do_start "$2" ;;
url) [ $# -eq 2 ] || die "usage: $0 url DIR"; url_of "$2" ;;
clean)
	[ $# -eq 2 ] || die "usage: $0 clean DIR"
	do_stop "$2" immediate
	rm -rf "$2"
	;;
run)
	shift
	[ "${1:-}" = "--" ] && shift
	[ $# -ge 1 ] || die "usage: $0 run -- CMD [ARGS...]"
	dir=$(mktemp -d "${TMPDIR:-/tmp}/meshnet-pg.XXXXXX")
	chmod 0755 "$dir"
	trap 'do_stop "$dir/srv" immediate; rm -rf "$dir"' EXIT
	trap 'exit 130' INT TERM
	MESHNET_PG_URL=$(do_start "$dir/srv")
	export MESHNET_PG_URL MESHNET_PG_DIR="$dir/srv"
	rc=0
	"$@" || rc=$?
	exit $rc
	;;
*)
	die "usage: $0 start|stop|kill|restart|url|clean DIR, or run -- CMD..."
	;;
esac
