#!/bin/sh
# Cross-check of `rollcall cert info` and `rollcall cert verify` against
# openssl(1).  A root, an intermediate and a leaf are made by openssl alone;
# rollcall's thumbprints, serials, names and dates must equal what openssl
# prints, and its verdicts must agree with `openssl verify` on a good chain,
# an intermediate anchor, an expired and a not-yet-valid chain (--at /
# -attime) and an unknown issuer.  JSON is read with node.
set -eu

: "${ROLLCALL:?set ROLLCALL to the rollcall CLI}"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/x509_openssl.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
cd "$tmp"

fail() {
	echo "x509_openssl: FAIL: $*" >&2
	exit 1
}

check_eq() {
	[ "$1" = "$2" ] || fail "$3: rollcall '$1', openssl '$2'"
}

# json_get FILE.json KEY [INDEX]: one field of rollcall's JSON output.
json_get() {
	node -e '
const j = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
const o = process.argv[3] === undefined ? j : j[Number(process.argv[3])];
console.log(o[process.argv[2]]);' "$@"
}

ec="-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"

cat >ca.ext <<EOF
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
EOF
cat >leaf.ext <<EOF
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
subjectAltName = DNS:device-1.example, IP:127.0.0.1
EOF

# shellcheck disable=SC2086
openssl req -x509 $ec -keyout root.key -out root.pem -days 30 -utf8 \
	-subj '/C=US/O=Contoso, Ltd./OU=Azure IoT/CN=Root Gerät' \
	-addext 'basicConstraints=critical,CA:TRUE' \
	-addext 'keyUsage=critical,keyCertSign,cRLSign' 2>/dev/null
# shellcheck disable=SC2086
openssl req -new $ec -keyout int.key -out int.csr \
	-subj '/O=Contoso/CN=Intermediate 1' 2>/dev/null
openssl x509 -req -in int.csr -CA root.pem -CAkey root.key \
	-set_serial 0x1f00 -days 20 -extfile ca.ext -out int.pem 2>/dev/null
# shellcheck disable=SC2086
openssl req -new $ec -keyout leaf.key -out leaf.csr \
	-subj '/CN=device-1' 2>/dev/null
# a serial with the high bit set: DER adds a 00 byte, -serial omits it
openssl x509 -req -in leaf.csr -CA int.pem -CAkey int.key \
	-set_serial 0xF00DCAFE0123456789 -days 10 -extfile leaf.ext \
	-out leaf.pem 2>/dev/null
cat leaf.pem int.pem >chain.pem
openssl x509 -in leaf.pem -outform DER -out leaf.der
openssl base64 -in leaf.der -out leaf.b64

names="RFC2253,-esc_msb,sep_comma_plus_space"
for c in root int leaf; do
	"$ROLLCALL" cert info --json "$c.pem" >"$c.json"
	want=$(openssl x509 -in "$c.pem" -noout -fingerprint -sha1 |
	    sed 's/^.*=//; s/://g')
	check_eq "$(json_get "$c.json" sha1Thumbprint)" "$want" "$c sha1"
	want=$(openssl x509 -in "$c.pem" -noout -fingerprint -sha256 |
	    sed 's/^.*=//; s/://g')
	check_eq "$(json_get "$c.json" sha256Thumbprint)" "$want" "$c sha256"
	want=$(openssl x509 -in "$c.pem" -noout -serial | sed 's/^serial=//')
	check_eq "$(json_get "$c.json" serialNumber)" "$want" "$c serial"
	want=$(openssl x509 -in "$c.pem" -noout -subject -nameopt "$names" |
	    sed 's/^subject=//')
	check_eq "$(json_get "$c.json" subjectName)" "$want" "$c subject"
	want=$(openssl x509 -in "$c.pem" -noout -issuer -nameopt "$names" |
	    sed 's/^issuer=//')
	check_eq "$(json_get "$c.json" issuerName)" "$want" "$c issuer"
	want=$(openssl x509 -in "$c.pem" -noout -startdate -dateopt iso_8601 |
	    sed 's/^notBefore=//; s/ /T/')
	check_eq "$(json_get "$c.json" notBeforeUtc)" "$want" "$c notBefore"
	want=$(openssl x509 -in "$c.pem" -noout -enddate -dateopt iso_8601 |
	    sed 's/^notAfter=//; s/ /T/')
	check_eq "$(json_get "$c.json" notAfterUtc)" "$want" "$c notAfter"
	check_eq "$(json_get "$c.json" version)" 3 "$c version"
done
check_eq "$(json_get root.json subjectName)" \
	'CN=Root Gerät, OU=Azure IoT, O=Contoso\, Ltd., C=US' "root subject"

# the same certificate as DER and as bare base64
want=$(json_get leaf.json sha256Thumbprint)
for f in leaf.der leaf.b64; do
	"$ROLLCALL" cert info --json "$f" >f.json
	check_eq "$(json_get f.json sha256Thumbprint)" "$want" "$f"
done
# a chain file gives an array, in file order
"$ROLLCALL" cert info --json chain.pem >chain.json
check_eq "$(json_get chain.json subjectName 0)" "CN=device-1" "chain[0]"
check_eq "$(json_get chain.json subjectName 1)" \
	"CN=Intermediate 1, O=Contoso" "chain[1]"
"$ROLLCALL" cert info chain.pem | grep -q '^SANs: *DNS:device-1.example' ||
	fail "SANs missing from the table"

# verify_both NAME WANT_RC ROLLCALL_ARGS -- OPENSSL_ARGS: both tools must
# agree (openssl exits 0 or 2; rollcall 0 or 1).
verify_both() {
	name=$1
	want=$2
	shift 2
	rargs=""
	while [ "$1" != "--" ]; do
		rargs="$rargs $1"
		shift
	done
	shift
	rc=0
	# shellcheck disable=SC2086
	"$ROLLCALL" cert verify $rargs >r.out 2>&1 || rc=$?
	check_eq "$rc" "$want" "$name: rollcall exit ($(cat r.out))"
	orc=0
	openssl verify "$@" >o.out 2>&1 || orc=$?
	if [ "$want" -eq 0 ]; then
		check_eq "$orc" 0 "$name: openssl exit ($(cat o.out))"
		check_eq "$(cat r.out)" "$(cat o.out)" "$name: output"
	else
		[ "$orc" -ne 0 ] || fail "$name: openssl accepted it"
	fi
}

now=$(date +%s)
late=$((now + 100 * 86400))
early=$((now - 86400))
verify_both good 0 --anchor root.pem --untrusted int.pem leaf.pem -- \
	-CAfile root.pem -untrusted int.pem leaf.pem
verify_both chainfile 0 --anchor root.pem chain.pem -- \
	-CAfile root.pem -untrusted int.pem chain.pem
verify_both partial 0 --anchor int.pem leaf.pem -- \
	-partial_chain -CAfile int.pem leaf.pem
verify_both expired 1 --anchor root.pem --untrusted int.pem --at "$late" \
	leaf.pem -- -attime "$late" -CAfile root.pem -untrusted int.pem leaf.pem
grep -q 'certificate has expired' r.out || fail "expired: $(cat r.out)"
verify_both notyet 1 --anchor root.pem --untrusted int.pem --at "$early" \
	leaf.pem -- -attime "$early" -CAfile root.pem -untrusted int.pem \
	leaf.pem
grep -q 'not yet valid' r.out || fail "notyet: $(cat r.out)"
verify_both noissuer 1 --anchor root.pem leaf.pem -- -CAfile root.pem leaf.pem
verify_both selfsigned 1 --anchor int.pem root.pem -- \
	-partial_chain -CAfile int.pem root.pem

# usage errors exit 2
for args in "leaf.pem" "--anchor root.pem" "--anchor root.pem --at soon leaf.pem" \
	"--bogus --anchor root.pem leaf.pem"; do
	rc=0
	# shellcheck disable=SC2086
	"$ROLLCALL" cert verify $args >/dev/null 2>&1 || rc=$?
	check_eq "$rc" 2 "usage: cert verify $args"
done
rc=0
"$ROLLCALL" cert info >/dev/null 2>&1 || rc=$?
check_eq "$rc" 2 "usage: cert info"
rc=0
"$ROLLCALL" cert info leaf.key >/dev/null 2>&1 || rc=$?
check_eq "$rc" 1 "cert info on a key"

echo "x509_openssl: ok"
