#!/bin/sh
# Cross-check of `rollcall key` and `rollcall ca` against openssl(1): what
# rollcall issues, openssl verifies (chains, purposes, SANs, CRLs); what
# openssl requests, rollcall signs.  Also the CLI's exit codes (0 ok,
# 1 failure, 2 usage).  Stops at the first failure, saying what failed.
set -eu

: "${ROLLCALL:?ROLLCALL must name the rollcall binary}"
command -v openssl >/dev/null 2>&1 || {
	echo "pki_openssl: openssl(1) not found" >&2
	exit 1
}

T=$(mktemp -d "${TMPDIR:-/tmp}/pki_openssl.XXXXXX")
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM
cd "$T"

fail() {
	echo "pki_openssl: FAIL: $*" >&2
	exit 1
}

# run CMD...: must exit 0; its stdout is kept in out.txt.
run() {
	if ! "$@" >out.txt 2>err.txt; then
		cat out.txt err.txt >&2
		fail "'$*' failed"
	fi
}

# expect_exit CODE CMD...: must exit with CODE.
expect_exit() {
	want=$1
	shift
	set +e
	"$@" >out.txt 2>err.txt
	got=$?
	set -e
	if [ "$got" -ne "$want" ]; then
		cat out.txt err.txt >&2
		fail "'$*' exited $got, want $want"
	fi
}

# mode_is FILE -rw-------
mode_is() {
	m=$(ls -ld "$1" | cut -c1-10)
	[ "$m" = "$2" ] || fail "$1 has mode $m, want $2"
}

# contains FILE TEXT: FILE holds the fixed string TEXT.
contains() {
	grep -F -q -- "$2" "$1" || {
		cat "$1" >&2
		fail "$1 does not contain '$2'"
	}
}

same_pubkey() {
	openssl pkey -in "$1" -pubout >pub1.txt
	openssl x509 -in "$2" -noout -pubkey >pub2.txt
	cmp -s pub1.txt pub2.txt || fail "$1 is not the key of $2"
}

verify() {
	run openssl verify -CAfile root/ca.pem "$@"
	contains out.txt ": OK"
}

echo "pki_openssl: key gen"
run "$ROLLCALL" key gen --out p256.key
mode_is p256.key -rw-------
run openssl pkey -in p256.key -noout -text
contains out.txt "NIST CURVE: P-256"
run "$ROLLCALL" key gen --type rsa2048 --out rsa.key
run openssl pkey -in rsa.key -noout -text
contains out.txt "2048 bit"
contains rsa.key "-----BEGIN PRIVATE KEY-----"
expect_exit 1 "$ROLLCALL" key gen --out p256.key
expect_exit 0 "$ROLLCALL" key gen --out p256.key --force
expect_exit 2 "$ROLLCALL" key gen --type p999 --out x.key
expect_exit 2 "$ROLLCALL" key gen

echo "pki_openssl: ca init, intermediate, issue"
run "$ROLLCALL" ca init --out root --cn "Cross Root"
mode_is root/ca.key -rw-------
mode_is root drwx------
run "$ROLLCALL" ca intermediate --ca root --out inter --cn "Cross Inter"
mode_is inter/ca.key -rw-------
run "$ROLLCALL" ca issue --ca inter --cn dev-0 --out dev0
cp out.txt issue.txt
mode_is dev0.key -rw-------
verify -untrusted inter/chain.pem dev0.pem
verify -purpose sslclient -untrusted inter/chain.pem dev0.pem
verify -purpose sslclient -untrusted dev0-chain.pem dev0.pem
same_pubkey dev0.key dev0.pem
# a client certificate is not a server certificate
expect_exit 2 openssl verify -purpose sslserver -CAfile root/ca.pem \
    -untrusted inter/chain.pem dev0.pem
# leaf + intermediate, without the root
[ "$(grep -c 'BEGIN CERTIFICATE' dev0-chain.pem)" -eq 2 ] ||
	fail "dev0-chain.pem should hold 2 certificates"
[ "$(grep -c 'BEGIN CERTIFICATE' inter/chain.pem)" -eq 2 ] ||
	fail "inter/chain.pem should hold 2 certificates"
# what rollcall prints is what openssl sees
serial=$(openssl x509 -in dev0.pem -noout -serial | sed 's/^serial=//')
thumb=$(openssl x509 -in dev0.pem -noout -fingerprint -sha256 |
	sed 's/^.*=//; s/://g')
contains issue.txt "serial    $serial"
contains issue.txt "sha256    $thumb"
run openssl x509 -in dev0.pem -noout -text
contains out.txt "TLS Web Client Authentication"
contains out.txt "CA:FALSE"
contains out.txt "ecdsa-with-SHA256"

echo "pki_openssl: ca sign of an openssl CSR"
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout dev1.key -subj /CN=dev-1 -out dev1.csr 2>/dev/null
run "$ROLLCALL" ca sign --ca inter --csr dev1.csr --out dev1.pem
verify -purpose sslclient -untrusted inter/chain.pem dev1.pem
same_pubkey dev1.key dev1.pem
run openssl x509 -in dev1.pem -noout -subject -nameopt RFC2253
contains out.txt "subject=CN=dev-1"
# DER and bare base64 (the DPS `csr` field) too; --chain adds the
# intermediate
openssl req -in dev1.csr -outform DER -out dev1.der
run "$ROLLCALL" ca sign --ca inter --csr dev1.der --out dev1b.pem --chain
verify -untrusted dev1b.pem dev1b.pem
openssl base64 -A -in dev1.der >dev1.b64
run "$ROLLCALL" ca sign --ca inter --csr dev1.b64 --out dev1c.pem --days 30
verify -untrusted inter/chain.pem dev1c.pem
# an RSA CSR with more in its subject: only the CN is kept
openssl req -new -newkey rsa:2048 -nodes -keyout dev2.key \
    -subj "/O=Evil/CN=dev-2" -out dev2.csr 2>/dev/null
run "$ROLLCALL" ca sign --ca root --csr dev2.csr --out dev2.pem
verify dev2.pem
run openssl x509 -in dev2.pem -noout -subject -nameopt RFC2253
contains out.txt "subject=CN=dev-2"
run openssl x509 -in dev2.pem -noout -text
contains out.txt "Digital Signature, Key Encipherment"
# an RSA CA signs with sha256WithRSAEncryption
run "$ROLLCALL" ca init --out rsaroot --cn "RSA Root" --type rsa2048 --days 30
run "$ROLLCALL" ca sign --ca rsaroot --csr dev1.csr --out dev1r.pem
run openssl verify -CAfile rsaroot/ca.pem dev1r.pem
run openssl x509 -in dev1r.pem -noout -text
contains out.txt "Signature Algorithm: sha256WithRSAEncryption"

echo "pki_openssl: server certificate"
run "$ROLLCALL" ca server-cert --ca inter --out srv --san DNS:rollcall.local \
    --san IP:127.0.0.1 --san IP:::1
verify -purpose sslserver -untrusted srv-chain.pem srv.pem
verify -purpose sslserver -verify_hostname rollcall.local \
    -untrusted srv-chain.pem srv.pem
verify -purpose sslserver -verify_ip 127.0.0.1 -untrusted srv-chain.pem \
    srv.pem
verify -purpose sslserver -verify_ip ::1 -untrusted srv-chain.pem srv.pem
run openssl x509 -in srv.pem -noout -ext subjectAltName
contains out.txt "DNS:rollcall.local"
contains out.txt "IP Address:127.0.0.1"
contains out.txt "IP Address:0:0:0:0:0:0:0:1"
same_pubkey srv.key srv.pem

echo "pki_openssl: crl"
run "$ROLLCALL" ca crl --ca inter --revoke "$serial" --out crl.pem
run openssl crl -in crl.pem -noout -text
contains out.txt "Serial Number: $serial"
contains out.txt "X509v3 CRL Number"
run openssl crl -in crl.pem -noout -CAfile inter/ca.pem
if openssl verify -crl_check -CAfile root/ca.pem -untrusted inter/chain.pem \
    -CRLfile crl.pem dev0.pem >out.txt 2>&1; then
	fail "a revoked leaf verified with -crl_check"
fi
contains out.txt "certificate revoked"
verify -crl_check -untrusted inter/chain.pem -CRLfile crl.pem dev1.pem
expect_exit 1 "$ROLLCALL" ca crl --ca inter --out crl.pem
run "$ROLLCALL" ca crl --ca inter --out crl.pem --force --days 1
run openssl crl -in crl.pem -noout -text
contains out.txt "No Revoked Certificates"

echo "pki_openssl: verification certificate"
run "$ROLLCALL" ca verification-cert --ca root --code 4F2A9C0B7D --out vc.pem
verify vc.pem
run openssl x509 -in vc.pem -noout -subject -nameopt RFC2253
contains out.txt "subject=CN=4F2A9C0B7D"
run "$ROLLCALL" ca verification-cert --ca inter --code 77AA --out vc2.pem
run openssl verify -partial_chain -CAfile inter/ca.pem vc2.pem
contains out.txt ": OK"

echo "pki_openssl: exit codes"
expect_exit 2 "$ROLLCALL" ca issue --cn x --out y
expect_exit 2 "$ROLLCALL" ca sign --csr dev1.csr --out z.pem
expect_exit 1 "$ROLLCALL" ca sign --ca inter --csr missing.csr --out z.pem
printf 'not a csr' >bad.csr
expect_exit 1 "$ROLLCALL" ca sign --ca inter --csr bad.csr --out z.pem
expect_exit 1 "$ROLLCALL" ca sign --ca nowhere --csr dev1.csr --out z.pem
[ ! -e z.pem ] || fail "a failed sign wrote z.pem"
expect_exit 1 "$ROLLCALL" ca sign --ca inter --csr dev1.csr --out dev1.pem
expect_exit 2 "$ROLLCALL" ca sign --ca inter --csr dev1.csr --out z.pem extra
expect_exit 1 "$ROLLCALL" ca init --out root --cn again
expect_exit 2 "$ROLLCALL" ca init --out r2 --cn x --days 0
expect_exit 2 "$ROLLCALL" ca init --out r2 --cn x --type p999
expect_exit 2 "$ROLLCALL" ca init --out r2
expect_exit 2 "$ROLLCALL" ca init --out r2 --cn x --csr dev1.csr
expect_exit 2 "$ROLLCALL" ca issue --ca inter --cn "" --out e
expect_exit 2 "$ROLLCALL" ca issue --ca inter --out e \
    --cn 0123456789012345678901234567890123456789012345678901234567890123X
run "$ROLLCALL" ca issue --ca inter --out e64 \
    --cn 0123456789012345678901234567890123456789012345678901234567890123
expect_exit 1 "$ROLLCALL" ca issue --ca nowhere --cn x --out e
expect_exit 1 "$ROLLCALL" ca issue --ca inter --cn dev-0 --out dev0
run "$ROLLCALL" ca issue --ca inter --cn dev-0 --out dev0 --force
expect_exit 2 "$ROLLCALL" ca server-cert --ca inter --out s2
expect_exit 2 "$ROLLCALL" ca server-cert --ca inter --out s2 --san FOO:bar
expect_exit 2 "$ROLLCALL" ca server-cert --ca inter --out s2 --san IP:1.2.3
expect_exit 2 "$ROLLCALL" ca crl --ca inter --revoke zz --out c2.pem
expect_exit 2 "$ROLLCALL" ca crl --ca inter --revoke 01 --revoke 1 --out c2.pem
expect_exit 2 "$ROLLCALL" ca verification-cert --ca root --out v2.pem
expect_exit 2 "$ROLLCALL" ca intermediate --ca root --out root --cn x --force
expect_exit 1 "$ROLLCALL" ca intermediate --ca inter --out deeper --cn x
expect_exit 1 "$ROLLCALL" ca intermediate --ca dev0 --out deeper --cn x
expect_exit 2 "$ROLLCALL" ca bogus
expect_exit 2 "$ROLLCALL" ca
expect_exit 0 "$ROLLCALL" ca --help
for sub in init intermediate issue sign server-cert crl verification-cert; do
	expect_exit 0 "$ROLLCALL" ca "$sub" --help
	contains out.txt "usage: rollcall ca $sub"
done
expect_exit 0 "$ROLLCALL" key gen --help
contains out.txt "usage: rollcall key gen"

echo "pki_openssl: ok"
