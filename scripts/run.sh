#!/bin/sh
# The run command: installs what is missing, builds, makes a data directory
# (./data, or $ROLLCALL_DATA) on first use, and runs the all-in-one
# rollcalld (DPS + hub + CA on the embedded SQLite store) in the
# foreground.  Ctrl-C stops it.
#
# The Azure SDKs always dial port 443, so as root the server listens there;
# otherwise it uses 8443 (our own CLI handles any port).
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh
cmake --preset dev >/dev/null
cmake --build --preset dev -j "$(nproc)" >/dev/null

data=${ROLLCALL_DATA:-$PWD/data}
port=443
[ "$(id -u)" -eq 0 ] || port=8443
if [ ! -f "$data/rollcall.conf" ]; then
	build/dev/rollcall init "$data" --https-port "$port" >/dev/null
	echo "made the data directory $data"
fi

cat <<MSG

rollcalld is starting with $data/rollcall.conf.
Connection strings, ID scope and CA paths:   cat $data/connections.json
Try it (in another shell):
  build/dev/rollcall enrollment list --data $data
  build/dev/rollcall ca issue --ca $data/ca/devices --cn device-001 --out /tmp/device-001
  build/dev/rollcall enrollment create device-001 --primary-cert /tmp/device-001.pem --data $data
For the Azure SDKs: NODE_EXTRA_CA_CERTS=$data/ca/root.pem

MSG
exec build/dev/rollcalld -d -f "$data/rollcall.conf"
