#!/usr/bin/env bash
# The controller's TLS: a private CA and a server certificate signed by it.
#   ca/ca.key (0600), ca/ca.crt                         the CA (kept out of containers)
#   controller/tls/server.key (0600), server.crt, ca.crt  what meshnetd serves
# ECDSA P-256 (GnuTLS, which libmicrohttpd uses for HTTPS, and OpenSSL both speak it).
# An existing CA / certificate is kept; destroy removes it so the next create renews it.
# Usage: pki.sh ca create|destroy ARTIFACTS DAYS
#        pki.sh server create|destroy ARTIFACTS DAYS SAN[,SAN...]   (SAN: DNS:name or IP:addr)
set -euo pipefail
what=${1:?usage: $0 ca|server create|destroy ARTIFACTS DAYS [SANS]}
action=${2:?action missing}
artifacts=${3:?artifacts directory missing}
days=${4:-825}
sans=${5:-}
[[ $days =~ ^[1-9][0-9]{0,4}$ ]] || { echo "pki: bad validity '$days' (days)" >&2; exit 1; }
ca=$artifacts/ca
tls=$artifacts/controller/tls
umask 077

case $what/$action in
ca/create)
	mkdir -p "$ca"
	if [ ! -s "$ca/ca.key" ] || [ ! -s "$ca/ca.crt" ]; then
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$ca/ca.key"
		openssl req -new -x509 -key "$ca/ca.key" -sha256 -days "$days" \
			-subj "/CN=aligned-meshnet CA" \
			-addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
			-addext "keyUsage=critical,keyCertSign,cRLSign" -out "$ca/ca.crt"
		echo "pki: new CA $(openssl x509 -in "$ca/ca.crt" -noout -fingerprint -sha256)"
	fi
	chmod 0600 "$ca/ca.key"; chmod 0644 "$ca/ca.crt"
	;;
ca/destroy)
	rm -f "$ca/ca.key" "$ca/ca.crt" "$ca/ca.srl"
	rmdir "$ca" 2>/dev/null || true
	echo "pki: CA removed"
	;;
server/create)
	[ -n "$sans" ] || { echo "pki: no subjectAltName given" >&2; exit 1; }
	IFS=, read -ra list <<<"$sans"
	for san in "${list[@]}"; do
		[[ $san =~ ^(DNS:[A-Za-z0-9.-]+|IP:[0-9A-Fa-f.:]+)$ ]] ||
			{ echo "pki: bad subjectAltName '$san' (want DNS:name or IP:address)" >&2; exit 1; }
	done
	mkdir -p "$tls"
	if [ ! -s "$tls/server.key" ] || [ ! -s "$tls/server.crt" ]; then
		tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
		openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tls/server.key"
		openssl req -new -key "$tls/server.key" -subj "/CN=${list[0]#*:}" -out "$tmp/server.csr"
		printf '%s\n' "basicConstraints=critical,CA:FALSE" \
			"keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" \
			"subjectAltName=$sans" >"$tmp/ext"
		openssl x509 -req -in "$tmp/server.csr" -CA "$ca/ca.crt" -CAkey "$ca/ca.key" \
			-CAcreateserial -sha256 -days "$days" -extfile "$tmp/ext" -out "$tls/server.crt" 2>/dev/null
		echo "pki: new server certificate for $sans"
	fi
	cp "$ca/ca.crt" "$tls/ca.crt"
	chmod 0755 "$tls"; chmod 0600 "$tls/server.key"; chmod 0644 "$tls/server.crt" "$tls/ca.crt"
	;;
server/destroy)
	rm -f "$tls/server.key" "$tls/server.crt" "$tls/ca.crt"
	rmdir "$tls" 2>/dev/null || true
	echo "pki: server certificate removed"
	;;
*)
	echo "pki: unknown '$what $action'" >&2; exit 1 ;;
esac
