#!/bin/sh
# Node container entrypoint: copy this node's keys into the agent's state
# directory (tmpfs, 0700), bring up wg0 from the rendered template, then run
# meshnet-agent in the foreground (exec, so `docker stop` reaches it).
# Arguments go to the agent.
set -eu
etc=/etc/meshnet
state=/var/lib/meshnet-agent
say() { echo "[$(hostname)] $*"; }

if [ ! -d /sys/module/meshnet ]; then
	say "meshnet.ko is not loaded on the host: run 'sudo modprobe meshnet' (docs/deploy.md)" >&2
	exit 1
fi
for f in wg0.conf wireguard.key ed25519.key ca.crt agent.conf; do
	if [ ! -r "$etc/$f" ]; then
		say "$etc/$f missing: run 'terraform -chdir=terraform apply' first (docs/deploy.md)" >&2
		exit 1
	fi
done
umask 077
mkdir -p "$state"
chmod 0700 "$state"
install -m 0600 "$etc/wireguard.key" "$etc/ed25519.key" "$state/"
# wg0 starts with no peer: the agent adds each ALLOWED peer (with the pair's
# PSK) only after the controller's verdict, and the module drops the rest.
if ! ip link show wg0 >/dev/null 2>&1; then
	say "bringing up wg0 from $etc/wg0.conf"
	wg-quick up "$etc/wg0.conf"
fi
exec /usr/sbin/meshnet-agent "$@"
