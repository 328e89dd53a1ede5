#!/bin/sh
# Cross-check of `rollcall cert csr` against openssl(1): the request
# verifies and names the CN in both PEM and DER form, a key of each type
# works, and the result signs into a leaf that keeps the CN (seed rule S2).
set -eu

: "${ROLLCALL:?ROLLCALL must name the rollcall binary}"
T=$(mktemp -d "${TMPDIR:-/tmp}/csr_openssl.XXXXXX")
trap 'rm -rf "$T"' EXIT
cd "$T"

fail() {
	echo "csr_openssl: FAIL: $*" >&2
	exit 1
}

for type in p256 p384 rsa2048; do
	"$ROLLCALL" key gen --type $type --out $type.key >/dev/null ||
		fail "key gen $type"
	"$ROLLCALL" cert csr --key $type.key --cn "dev-$type" --out $type.csr \
		>/dev/null || fail "cert csr $type"
	openssl req -in $type.csr -noout -verify 2>/dev/null ||
		fail "openssl does not verify the $type CSR"
	subj=$(openssl req -in $type.csr -noout -subject -nameopt RFC2253)
	[ "$subj" = "subject=CN=dev-$type" ] || fail "$type subject is '$subj'"
done

"$ROLLCALL" cert csr --key p256.key --cn dev-der --out d.der --der >/dev/null
openssl req -inform DER -in d.der -noout -verify 2>/dev/null ||
	fail "DER CSR does not verify"

"$ROLLCALL" ca init --out ca --cn "csr test root" >/dev/null
"$ROLLCALL" ca sign --ca ca --csr p256.csr --out leaf.pem >/dev/null
openssl verify -CAfile ca/ca.pem leaf.pem >/dev/null || fail "leaf does not verify"
subj=$(openssl x509 -in leaf.pem -noout -subject -nameopt RFC2253)
[ "$subj" = "subject=CN=dev-p256" ] || fail "leaf subject is '$subj'"

# exit codes: existing output 1, missing option 2, 65-character CN 2
set +e
"$ROLLCALL" cert csr --key p256.key --cn x --out p256.csr 2>/dev/null
[ $? -eq 1 ] || fail "overwriting without --force must exit 1"
"$ROLLCALL" cert csr --key p256.key --out y.csr 2>/dev/null
[ $? -eq 2 ] || fail "missing --cn must exit 2"
"$ROLLCALL" cert csr --key p256.key --out y.csr \
	--cn aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa 2>/dev/null
[ $? -eq 2 ] || fail "a 65-character CN must exit 2"
set -e
echo "csr_openssl: ok"
