#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of one detector boot (run by detector-boots.sh through
# `run-vm.sh --run`): loads the planted-bug module, triggers ONE bug, gives
# the kernel time to report it, then prints dmesg, the kmemleak verdict (for
# leak and none) and the taint flags. The host decides from the console log.
#
# Usage: plant.sh BUG    (oob uaf rcu-sleep shift kfence-uaf leak none)
bug=${1:?usage: plant.sh BUG}
here=$(cd "$(dirname "$0")" && pwd)
trigger=/sys/kernel/debug/meshnet_detector/trigger

[ -e /sys/kernel/debug/kmemleak ] || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
echo "plant: taint before: $(cat /proc/sys/kernel/tainted)"
insmod "$here/meshnet_detector.ko" || { echo "plant: insmod meshnet_detector.ko failed"; exit 2; }
echo "plant: triggering '$bug'"
# A child process writes the trigger and exits: no stale pointer to a leaked
# object stays on a live task's kernel stack (kmemleak scans those).
sh -c "echo '$bug' >$trigger"
echo "plant: trigger write exited $?"
sleep 2
case $bug in
leak|none)
	sh "$here/kmemleak-check.sh" meshnet_detector
	echo "plant: kmemleak-check exited $?"
	;;
esac
echo "plant: dmesg begin"
dmesg
echo "plant: dmesg end"
echo "plant: taint after: $(cat /proc/sys/kernel/tainted)"
exit 0
