#!/bin/sh
# rollcall init: every file with its mode, the server certificate checked
# by openssl(1), connections.json read by node, the config checked by
# `rollcalld -n` when that binary exists ($ROLLCALLD, else next to
# $ROLLCALL), and a second init refused without --force.
set -eu
: "${ROLLCALL:?ROLLCALL must name the rollcall binary}"
ROLLCALLD=${ROLLCALLD:-$(dirname "$ROLLCALL")/rollcalld}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/rc-init.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM
d=$tmp/data

fail() {
	echo "init.sh: $*" >&2
	exit 1
}

"$ROLLCALL" init "$d" --hostname rc.test --https-port 0 >"$tmp/out" ||
	fail "rollcall init failed"
grep -q "is ready" "$tmp/out" || fail "no summary printed"

mode() {
	[ -e "$d/$1" ] || fail "$1 is missing"
	m=$(stat -c %a "$d/$1")
	[ "$m" = "$2" ] || fail "$1 has mode $m, want $2"
}
check_modes() {
	mode . 700
	mode rollcall.conf 600
	mode connections.json 600
	for dir in ca ca/root ca/devices tls; do
		mode "$dir" 700
	done
	for key in ca/root/ca.key ca/devices/ca.key tls/server.key; do
		mode "$key" 600
	done
	for f in ca/root/ca.pem ca/devices/ca.pem ca/devices/chain.pem \
	    ca/root.pem tls/server.pem; do
		[ -s "$d/$f" ] || fail "$f is missing or empty"
	done
}
check_modes

# The PKI, checked by an independent implementation.
openssl verify -CAfile "$d/ca/root.pem" "$d/tls/server.pem" >/dev/null ||
	fail "server certificate does not verify against ca/root.pem"
openssl verify -CAfile "$d/ca/root.pem" "$d/ca/devices/ca.pem" >/dev/null ||
	fail "device CA does not verify against ca/root.pem"
for name in rc.test localhost; do
	openssl verify -CAfile "$d/ca/root.pem" -purpose sslserver \
	    -verify_hostname "$name" "$d/tls/server.pem" >/dev/null ||
		fail "server certificate is not valid for $name"
done
for ip in 127.0.0.1 ::1; do
	openssl verify -CAfile "$d/ca/root.pem" -verify_ip "$ip" \
	    "$d/tls/server.pem" >/dev/null ||
		fail "server certificate is not valid for $ip"
done
if openssl verify -CAfile "$d/ca/root.pem" -verify_hostname other.test \
    "$d/tls/server.pem" >/dev/null 2>&1; then
	fail "server certificate is valid for a name it was not given"
fi
sans=$(openssl x509 -in "$d/tls/server.pem" -noout -ext subjectAltName)
for want in "DNS:localhost" "IP Address:127.0.0.1" \
    "IP Address:0:0:0:0:0:0:0:1" "DNS:rc.test"; do
	echo "$sans" | grep -qF "$want" || fail "SAN $want missing: $sans"
done
a=$(openssl x509 -in "$d/tls/server.pem" -noout -pubkey)
b=$(openssl pkey -in "$d/tls/server.key" -pubout)
[ "$a" = "$b" ] || fail "tls/server.key does not match tls/server.pem"
a=$(openssl x509 -in "$d/ca/devices/ca.pem" -noout -pubkey)
b=$(openssl pkey -in "$d/ca/devices/ca.key" -pubout)
[ "$a" = "$b" ] || fail "ca/devices/ca.key does not match ca/devices/ca.pem"

# The config: the port asked for, absolute paths, every policy.
conf=$d/rollcall.conf
grep -qx 'https-port 0' "$conf" || fail "https-port 0 missing"
grep -qx 'mqtt-port 8883' "$conf" || fail "mqtt-port 8883 missing"
grep -qx 'hostname rc.test' "$conf" || fail "hostname missing"
grep -qE '^id-scope 0ne[0-9A-F]{8}$' "$conf" || fail "bad id-scope"
for kw in store tls-cert tls-key trust-bundle device-ca; do
	v=$(sed -n "s/^$kw //p" "$conf")
	case $v in
	sqlite:/* | /*) ;;
	*) fail "$kw is not an absolute path: '$v'" ;;
	esac
done
for p in provisioningserviceowner enrollmentread enrollmentwrite; do
	grep -qE "^dps-policy $p [A-Za-z,]+ [A-Za-z0-9+/]{43}=$" "$conf" ||
		fail "dps-policy $p missing"
done
for p in iothubowner service registryRead registryReadWrite; do
	grep -qE "^hub-policy rc $p [A-Za-z,]+ [A-Za-z0-9+/]{43}=$" "$conf" ||
		fail "hub-policy $p missing"
done
grep -qx 'hub rc rc.test' "$conf" || fail "hub line missing"

if [ -x "$ROLLCALLD" ]; then
	"$ROLLCALLD" -n -f "$conf" >"$tmp/n.out" 2>&1 ||
		{ cat "$tmp/n.out" >&2; fail "rollcalld -n refuses the config"; }
else
	echo "init.sh: no rollcalld at $ROLLCALLD: config check skipped"
fi

# connections.json, read by node, has every field.
node - "$d" <<'JS' || fail "connections.json is incomplete"
const fs = require('fs');
const dir = fs.realpathSync(process.argv[2]);
const c = JSON.parse(fs.readFileSync(dir + '/connections.json', 'utf8'));
const ok = (cond, what) => { if (!cond) { console.error('missing: ' + what); process.exit(1); } };
const cs = (s, host, pol) => typeof s === 'string' &&
    new RegExp('^HostName=' + host.replace(/\./g, '\\.') +
        ';SharedAccessKeyName=' + pol + ';SharedAccessKey=[A-Za-z0-9+/]{43}=$').test(s);
ok(/^0ne[0-9A-F]{8}$/.test(c.idScope), 'idScope');
ok(c.dps && c.dps.host === 'rc.test', 'dps.host');
ok(c.dps.httpsPort === 0 && c.dps.mqttPort === 8883, 'dps ports');
ok(cs(c.dps.connectionString, 'rc.test', 'provisioningserviceowner'), 'dps.connectionString');
for (const p of ['provisioningserviceowner', 'enrollmentread', 'enrollmentwrite'])
	ok(cs(c.dps.connectionStrings[p], 'rc.test', p), 'dps.connectionStrings.' + p);
ok(Array.isArray(c.hubs) && c.hubs.length === 1, 'hubs');
const h = c.hubs[0];
ok(h.name === 'rc' && h.host === 'rc.test', 'hub name/host');
ok(cs(h.connectionString, 'rc.test', 'iothubowner'), 'hub connectionString');
for (const p of ['iothubowner', 'service', 'registryRead', 'registryReadWrite'])
	ok(cs(h.connectionStrings[p], 'rc.test', p), 'hub connectionStrings.' + p);
ok(c.trustBundle === dir + '/ca/root.pem', 'trustBundle');
for (const [k, sub] of [['deviceCa', 'devices'], ['rootCa', 'root']]) {
	ok(c[k] && c[k].dir === dir + '/ca/' + sub, k + '.dir');
	ok(fs.existsSync(c[k].cert) && fs.existsSync(c[k].key), k + ' files');
}
JS

# A second init is refused (exit 1) and changes nothing.
sum=$(cat "$d/rollcall.conf" "$d/ca/root/ca.pem" | cksum)
set +e
"$ROLLCALL" init "$d" --hostname rc.test >"$tmp/out2" 2>&1
rc=$?
set -e
[ $rc -eq 1 ] || fail "second init exited $rc, want 1"
grep -q -- "--force" "$tmp/out2" || fail "refusal does not mention --force"
[ "$(cat "$d/rollcall.conf" "$d/ca/root/ca.pem" | cksum)" = "$sum" ] ||
	fail "a refused init changed files"

# --force replaces everything; --json prints what connections.json holds.
"$ROLLCALL" init "$d" --hostname rc.test --https-port 8443 --force --json \
    >"$tmp/json" || fail "init --force failed"
check_modes
node -e '
const fs = require("fs");
const a = JSON.parse(fs.readFileSync(process.argv[1], "utf8"));
const b = JSON.parse(fs.readFileSync(process.argv[2] + "/connections.json", "utf8"));
if (JSON.stringify(a) !== JSON.stringify(b) || a.dps.httpsPort !== 8443) process.exit(1);
' "$tmp/json" "$d" || fail "--json output differs from connections.json"

# Usage errors exit 2.
set +e
"$ROLLCALL" init >/dev/null 2>&1
rc=$?
set -e
[ $rc -eq 2 ] || fail "init without DIR exited $rc, want 2"
echo "init.sh: ok"
