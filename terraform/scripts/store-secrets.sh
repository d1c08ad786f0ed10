#!/usr/bin/env bash
# Secrets of a PostgreSQL store (terraform var controller_store), kept when
# they exist; destroy removes them:
#   controller/store.key          32 random bytes, base64 (0600): seals epoch
#                                 secrets in the database (STORE_KEY_FILE); the
#                                 same file on every controller
#   controller/postgres.password  the database role's password (0600), for the
#                                 compose file's postgres service
#   controller/pgpass             libpq password file (0600) for meshnetd
# Usage: store-secrets.sh create|destroy ARTIFACTS
set -euo pipefail
action=${1:?usage: $0 create|destroy ARTIFACTS}
artifacts=${2:?artifacts directory missing}
dir=$artifacts/controller
umask 077
case $action in
create)
	mkdir -p "$dir"
	if [ ! -s "$dir/store.key" ]; then
		openssl rand -base64 32 >"$dir/store.key.tmp"
		mv "$dir/store.key.tmp" "$dir/store.key"
		echo "store-secrets: new store key in $dir/store.key"
	fi
	if [ ! -s "$dir/postgres.password" ]; then
		openssl rand -hex 24 >"$dir/postgres.password.tmp"
		mv "$dir/postgres.password.tmp" "$dir/postgres.password"
	fi
	printf 'postgres:5432:meshnet:meshnet:%s\n' "$(cat "$dir/postgres.password")" >"$dir/pgpass.tmp"
	mv "$dir/pgpass.tmp" "$dir/pgpass"
	chmod 0600 "$dir/store.key" "$dir/postgres.password" "$dir/pgpass"
	;;
destroy)
	rm -f "$dir/store.key" "$dir/postgres.password" "$dir/pgpass"
	echo "store-secrets: removed"
	;;
*)
	echo "store-secrets: unknown action '$action'" >&2; exit 1 ;;
esac
