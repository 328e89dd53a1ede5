#!/bin/sh
# Cross-check of SAS tokens against node's own crypto, computing tokens as
# azure-iot-common's SharedAccessSignature.create does
# (reference/azure-service-api.md §1.4): sr = raw HostName, se = now + 3600,
# sig = encodeURIComponent(base64(HMAC-SHA256(key, sr + "\n" + se))) with
# !'()* escaped too, fields in the order sr, sig, skn, se.
#
# 1. `rollcall sas verify` accepts node's token (exit 0) and refuses it with
#    one character of sig changed, with se changed, with sr changed, and
#    for another host (exit 1).
# 2. node recomputes the HMAC of a token from `rollcall sas token` and
#    finds it equal.
set -eu

: "${ROLLCALL:?ROLLCALL must name the rollcall CLI}"
if ! command -v node >/dev/null 2>&1; then
	echo "sas_node: FAIL: node is not installed (scripts/install-deps.sh installs it)" >&2
	exit 1
fi

fail() {
	echo "sas_node: FAIL: $*" >&2
	exit 1
}

HOST=myhub.example.net
POLICY=iothubowner
KEY=$(node -e 'process.stdout.write(require("crypto").randomBytes(32).toString("base64"))')
CS="HostName=$HOST;SharedAccessKeyName=$POLICY;SharedAccessKey=$KEY"

# node_token SR SE [SIGNED_SR]: a token for SR signed over SIGNED_SR (SR if
# not given), built the SDK's way.
node_token() {
	node -e '
const crypto = require("crypto");
const [key, policy, sr, se, signedSr] = process.argv.slice(1);
function strict(s) {
	return encodeURIComponent(s).replace(/[!\x27()*]/g,
	    (c) => "%" + c.charCodeAt(0).toString(16));
}
const sig = crypto.createHmac("sha256", Buffer.from(key, "base64"))
    .update((signedSr || sr) + "\n" + se).digest("base64");
let t = "SharedAccessSignature ";
const f = { sr: sr, sig: strict(sig), skn: policy ? strict(policy) : "", se: se };
for (const k of ["sr", "sig", "skn", "se"]) {
	if (!f[k]) continue;
	if (t[t.length - 1] !== " ") t += "&";
	t += k + "=" + f[k];
}
process.stdout.write(t);
' "$KEY" "$POLICY" "$@"
}

# expect CODE DESCRIPTION TOKEN [verify options]
expect() {
	want=$1 what=$2 tok=$3
	shift 3
	set +e
	out=$("$ROLLCALL" sas verify --connection-string "$CS" "$@" "$tok")
	got=$?
	set -e
	[ "$got" -eq "$want" ] ||
		fail "$what: exit $got, want $want ($out; token: $tok)"
	echo "sas_node: ok: $what: $out"
}

SE=$(node -e 'process.stdout.write(String(Math.ceil(Date.now() / 1000 + 3600)))')
GOOD=$(node_token "$HOST" "$SE")
expect 0 "node token accepted" "$GOOD"

# One character of sig changed (the first base64 digit).
SIG=${GOOD#*&sig=}
SIG=${SIG%%&*}
FIRST=$(printf '%s' "$SIG" | cut -c1)
if [ "$FIRST" = A ]; then NEW=B; else NEW=A; fi
BADSIG=$(printf '%s' "$GOOD" | sed "s|&sig=$FIRST|\&sig=$NEW|")
[ "$BADSIG" != "$GOOD" ] || fail "could not tamper with sig"
expect 1 "sig changed" "$BADSIG"

BADSE=$(printf '%s' "$GOOD" | sed "s|&se=$SE\$|\&se=$((SE + 1))|")
[ "$BADSE" != "$GOOD" ] || fail "could not tamper with se"
expect 1 "se changed" "$BADSE"

BADSR=$(printf '%s' "$GOOD" | sed "s|sr=$HOST&|sr=other.example.net\&|")
[ "$BADSR" != "$GOOD" ] || fail "could not tamper with sr"
expect 1 "sr changed" "$BADSR"

expect 1 "another host" "$(node_token other.example.net "$SE")" \
    --host other.example.net.evil
expect 1 "expired" "$(node_token "$HOST" $((SE - 7200)))"
expect 1 "signed by another key" \
    "$(KEY=$(node -e 'process.stdout.write(require("crypto").randomBytes(32).toString("base64"))') node_token "$HOST" "$SE")"

# The device SDK's form: encoded sr for a path below the host, no skn.
DEVSR=$(node -e 'process.stdout.write(encodeURIComponent(process.argv[1] + "/devices/dev-1"))' "$HOST")
expect 0 "device-form sr below the host" \
    "$(POLICY= node_token "$DEVSR" "$SE")"
# The documented form: signed over the lower-case resource.
expect 0 "documented lower-case string-to-sign" \
    "$(node_token MyHub.Example.NET "$SE" "$HOST")"

# rollcall's token, checked by node's own HMAC recomputation.
TOKEN=$("$ROLLCALL" sas token --connection-string "$CS") ||
	fail "rollcall sas token failed"
ENVTOKEN=$(ROLLCALL_CONNECTION_STRING=$CS "$ROLLCALL" sas token --ttl 600) ||
	fail "rollcall sas token (connection string from env) failed"
for t in "$TOKEN" "$ENVTOKEN"; do
	node -e '
const crypto = require("crypto");
const [tok, key, host, policy] = process.argv.slice(1);
const m = /^SharedAccessSignature sr=([^&]+)&sig=([^&]+)&skn=([^&]+)&se=([0-9]+)$/.exec(tok);
if (!m) { console.error("bad shape: " + tok); process.exit(1); }
const [, sr, sig, skn, se] = m;
const want = crypto.createHmac("sha256", Buffer.from(key, "base64"))
    .update(sr + "\n" + se).digest();
const got = Buffer.from(decodeURIComponent(sig), "base64");
const ttl = Number(se) - Date.now() / 1000;
if (sr !== host) { console.error("sr " + sr); process.exit(1); }
if (decodeURIComponent(skn) !== policy) { console.error("skn " + skn); process.exit(1); }
if (got.length !== 32 || !crypto.timingSafeEqual(want, got)) {
	console.error("signature differs: " + tok); process.exit(1);
}
if (!(ttl > 0 && ttl <= 3601)) { console.error("ttl " + ttl); process.exit(1); }
' "$t" "$KEY" "$HOST" "$POLICY" || fail "node refused rollcall's token: $t"
	echo "sas_node: ok: node verified rollcall's token"
done
echo "sas_node: all checks passed"
