#!/usr/bin/env bash
# Extracts kselftest_harness.h and kselftest.h from Debian's linux-source-6.1
# into a cache folder outside the repository (never committed).
# Usage: get-kselftest-harness.sh DESTDIR
set -euo pipefail
dest=${1:?usage: $0 DESTDIR}
[ -f "$dest/kselftest_harness.h" ] && [ -f "$dest/kselftest.h" ] && exit 0
mkdir -p "$dest"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
src=$(ls /usr/src/linux-source-6.1.tar.xz 2>/dev/null || true)
if [ -n "$src" ]; then
	tar -xJf "$src" -C "$tmp" --wildcards \
		'*/tools/testing/selftests/kselftest_harness.h' \
		'*/tools/testing/selftests/kselftest.h'
else
	(cd "$tmp" && apt-get download -qq linux-source-6.1 >/dev/null)
	dpkg-deb --fsys-tarfile "$tmp"/linux-source-6.1_*.deb |
		tar -xO --wildcards '*/linux-source-6.1.tar.xz' |
		tar -xJ -C "$tmp" --wildcards \
			'*/tools/testing/selftests/kselftest_harness.h' \
			'*/tools/testing/selftests/kselftest.h'
fi
find "$tmp" -name kselftest_harness.h -exec cp {} "$dest/" \;
find "$tmp" -name kselftest.h -path '*selftests/kselftest.h' -exec cp {} "$dest/" \;
[ -f "$dest/kselftest_harness.h" ] && [ -f "$dest/kselftest.h" ]
echo "kselftest harness in $dest"
