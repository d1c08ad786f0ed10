#!/usr/bin/env bash
# The controller's admin bearer token: 32 random bytes, hex, in
# controller/admin.token (0600). Kept when it exists; destroy removes it.
# Usage: admin-token.sh create|destroy ARTIFACTS
set -euo pipefail
action=${1:?usage: $0 create|destroy ARTIFACTS}
artifacts=${2:?artifacts directory missing}
file=$artifacts/controller/admin.token
umask 077
case $action in
create)
	mkdir -p "${file%/*}"
	if [ ! -s "$file" ]; then
		openssl rand -hex 32 >"$file.tmp"
		mv "$file.tmp" "$file"
		echo "admin-token: new token in $file"
	fi
	chmod 0600 "$file"
	;;
destroy)
	rm -f "$file"
	echo "admin-token: removed"
	;;
*)
	echo "admin-token: unknown action '$action'" >&2; exit 1 ;;
esac
