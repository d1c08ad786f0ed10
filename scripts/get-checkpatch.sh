#!/usr/bin/env bash
# Extracts checkpatch.pl and its data files from Debian's linux-source-6.1
# into a cache folder outside the repository.
# Usage: get-checkpatch.sh DESTDIR
set -euo pipefail
dest=${1:?usage: $0 DESTDIR}
[ -x "$dest/checkpatch.pl" ] && exit 0
mkdir -p "$dest"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
files=('*/scripts/checkpatch.pl' '*/scripts/spelling.txt' '*/scripts/const_structs.checkpatch')
if [ -f /usr/src/linux-source-6.1.tar.xz ]; then
	tar -xJf /usr/src/linux-source-6.1.tar.xz -C "$tmp" --wildcards "${files[@]}"
else
	(cd "$tmp" && apt-get download -qq linux-source-6.1 >/dev/null)
	dpkg-deb --fsys-tarfile "$tmp"/linux-source-6.1_*.deb |
		tar -xO --wildcards '*/linux-source-6.1.tar.xz' |
		tar -xJ -C "$tmp" --wildcards "${files[@]}"
fi
find "$tmp" -path '*/scripts/*' -type f -exec cp {} "$dest/" \;
chmod +x "$dest/checkpatch.pl"
echo "checkpatch in $dest"
