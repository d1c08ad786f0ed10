#!/bin/sh
# Node container entrypoint: bring up wg0 from the rendered template, attach
# the meshnet module to it, then run meshnet-agent in the foreground (PID 1's
# child via exec, so `docker stop` reaches it). Arguments go to the agent.
set -eu
conf=/etc/meshnet/wg0.conf
say() { echo "[$(hostname)] $*"; }

if [ ! -d /sys/module/meshnet ]; then
	say "meshnet.ko is not loaded on the host: run 'sudo modprobe meshnet' (docs/deploy.md)" >&2
	exit 1
fi
if [ ! -r "$conf" ]; then
	say "$conf missing: run 'terraform -chdir=terraform apply' first (docs/deploy.md)" >&2
	exit 1
fi
# The module starts enforcing before wg0 can pass a packet: peers are only
# added by the agent once the controller has said who is ALLOWED.
if ! ip link show wg0 >/dev/null 2>&1; then
	say "bringing up wg0 from $conf"
	wg-quick up "$conf"
fi
meshnetctl attach wg0 2>/dev/null || meshnetctl show >/dev/null
exec /usr/sbin/meshnet-agent "$@"
