#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# make demo: boots the QEMU guest (vm-test/run-vm.sh, TCG) and runs the
# three-node mesh story (selftests/e2e/demo-guest.sh) with the logs of the
# controller and of every node streaming, ending with a summary table (also
# kept in build/demo/summary.txt). docs/demo.md explains how to read it.
set -euo pipefail
TOP=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
OUT=$TOP/build/demo
mkdir -p "$OUT"
echo "make demo: booting the guest (QEMU TCG, about 3-5 minutes); log in $OUT/demo.log"
status=0
bash "$TOP/vm-test/run-vm.sh" --name demo --timeout 900 \
	--run "sh /opt/meshnet/selftests/e2e/demo-guest.sh" 2>&1 | tr -d '\r' | tee "$OUT/demo.log" ||
	status=$?
sed -n '/======== summary ========/,$p' "$OUT/demo.log" |
	grep -Ev '^\[(controller|node-[abc])\]' >"$OUT/summary.txt" || true
if [ -s "$OUT/summary.txt" ]; then
	echo
	echo "make demo: summary (also in $OUT/summary.txt)"
	cat "$OUT/summary.txt"
fi
exit $status
