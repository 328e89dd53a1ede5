#!/bin/sh
# The benchmark suite (`make bench`, docs/performance.md): builds the
# release preset, starts rollcalld (made by `rollcall init` on loopback),
# the mutual-TLS echo baseline (rollcall-echo) and Mosquitto 2
# (require_certificate, use_identity_as_username), drives each with the
# same client (rollcall-load) and prints one table; with --append it also
# appends the table, the machine, the commit and the command to
# docs/performance.md.  Everything listens on 127.0.0.1; every process
# started here is stopped by its pid.
#
#   sh bench/run.sh [--append] [--quick]
#
# --quick runs every measurement at a tenth of its size (a smoke test).
set -eu
cd "$(dirname "$0")/.."
ROOT=$(pwd)

APPEND=0
SCALE=1
for a in "$@"; do
	case "$a" in
	--append) APPEND=1 ;;
	--quick) SCALE=10 ;;
	*) echo "usage: sh bench/run.sh [--append] [--quick]" >&2; exit 2 ;;
	esac
done

# Sizes (divided by SCALE with --quick), chosen so that the whole suite
# fits in 10 minutes on 2 cores: the registration and roll rates of
# today's rollcalld, not the targets, set them (docs/performance.md).
N_REG=$((1000 / SCALE))      # registrations per protocol
N_CSR=$((600 / SCALE))       # registrations with a CSR (issuance)
N_HOLD=$((10000 / SCALE))    # idle connections (also the roll fleet)
N_BIG=$((50000 / SCALE))     # idle connections, second point
N_CONN=$((3000 / SCALE))     # hub connects
N_ECHO=$((3000 / SCALE))     # raw handshakes
N_TEL=100                    # telemetry devices
T_TEL=10s
ROLL_INTERVAL=30s            # each device sends one message per interval
ROLL_MAX=150s                # the roll is cut there (and projected)
SRC=127.0.0.2-127.0.0.33

B=$ROOT/build/release
W=$(mktemp -d "${TMPDIR:-/tmp}/rollcall-bench.XXXXXX")
PIDS=""
RES=$W/results.txt
: >"$RES"

stop_all() {
	for p in $PIDS; do
		kill "$p" 2>/dev/null || true
	done
	for p in $PIDS; do
		wait "$p" 2>/dev/null || true
	done
	PIDS=""
}
cleanup() {
	stop_all
	rm -rf "$W"
}
trap cleanup EXIT INT TERM

log() { echo "bench: $*" >&2; }

# Waits (at most 20 s) for a line matching $2 in file $1.
wait_line() {
	i=0
	while ! grep -q "$2" "$1" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 200 ] || { log "timeout waiting for $2 in $1"; cat "$1" >&2; exit 1; }
		sleep 0.1
	done
}

free_port() {
	node -e "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

# rollcall-load with the common options; its RESULT line goes to $RES.
load() {
	"$B/rollcall-load" "$@" --certs "$W/fleet.pem" -s "$SRC" \
	    2>>"$W/load.log" | tee -a "$RES" >&2 || true
}

# What is measured: the commit, marked if the tree differs from it.
REV="$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src include bench CMakeLists.txt || echo '+dirty')"
log "building the release preset"
cmake --preset release >/dev/null
cmake --build --preset release -j "$(nproc)" --target rollcalld \
    rollcall-cli rollcall-load rollcall-echo >/dev/null

# The fd limit: each side of N connections needs N descriptors.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
NOFILE=$(ulimit -n)

# rollcalld, made by `rollcall init`.
D=$W/data
"$B/rollcall" init "$D" --hostname 127.0.0.1 --listen 127.0.0.1 \
    --https-port 0 --mqtt-port 0 --json >"$W/conn.json"
"$B/rollcalld" -d -f "$D/rollcall.conf" >"$W/rollcalld.out" 2>"$W/rollcalld.log" &
RCD=$!
PIDS="$PIDS $RCD"
wait_line "$W/rollcalld.out" "rollcalld ready"
HTTPS=$(sed -n 's/.*https=[^ ]*:\([0-9]*\).*/\1/p' "$W/rollcalld.out")
MQTT=$(sed -n 's/.*mqtt=[^ ]*:\([0-9]*\).*/\1/p' "$W/rollcalld.out")
SCOPE=$(sed -n 's/.*"idScope": "\([^"]*\)".*/\1/p' "$W/conn.json")
DPS_CS=$(sed -n 's/.*"connectionString": "\(HostName=[^"]*provisioningserviceowner[^"]*\)".*/\1/p' "$W/conn.json" | head -1 | sed "s/HostName=127.0.0.1;/HostName=127.0.0.1:$HTTPS;/")
HUB_CS=$(sed -n 's/.*"connectionString": "\(HostName=[^"]*iothubowner[^"]*\)".*/\1/p' "$W/conn.json" | head -1)
TRUST=$D/ca/root.pem

# The fleet: a CA with a group enrollment (no per-device enrollment), and
# one certificate per device.
"$B/rollcall" ca init --out "$W/fleet" --cn "Bench fleet" >/dev/null
"$B/rollcall" group create bench --primary-cert "$W/fleet/ca.pem" \
    --connection-string "$DPS_CS" --cacert "$TRUST" >/dev/null
# Device layout: [0, N_HOLD) hub identities by bulk import (connect,
# hold, telemetry and, last, the roll); [R0, R2) registered through DPS
# with their own certificate; [R2, BIG) imported for the second hold
# point; [BIG, BIG + N_CSR) registered with a CSR (their hub identity
# then has the issued certificate, so they come last).
R0=$N_HOLD
R1=$((N_HOLD + N_REG))
R2=$((N_HOLD + 2 * N_REG))
BIG_OK=0
[ "$NOFILE" -ge $((N_BIG + 1000)) ] && BIG_OK=1
BIG=$R2
[ $BIG_OK -eq 1 ] && [ $N_BIG -gt $R2 ] && BIG=$N_BIG
FLEET=$((BIG + N_CSR))
log "making $FLEET device certificates"
"$B/rollcall-load" certs --ca "$W/fleet" -n "$FLEET" --certs "$W/fleet.pem" \
    --label certs | tee -a "$RES" >&2
# Devices [0, N_HOLD) get hub identities by bulk import (connect, hold,
# telemetry, and last the roll); the others register through DPS.
"$B/rollcall-load" import -n "$N_HOLD" --certs "$W/fleet.pem" \
    -a "127.0.0.1:$HTTPS" --trust "$TRUST" --connection-string "$HUB_CS" \
    --label import >/dev/null

# The baselines.
"$B/rollcall-echo" -c "$D/tls/server.pem" -k "$D/tls/server.key" \
    -C "$W/fleet/ca.pem" >"$W/echo.out" 2>"$W/echo.log" &
ECHO=$!
PIDS="$PIDS $ECHO"
wait_line "$W/echo.out" "ready"
EPORT=$(sed -n 's/.*port=\([0-9]*\).*/\1/p' "$W/echo.out")
MPORT=$(free_port)
sed -e "s|@PORT@|$MPORT|" -e "s|@CA@|$W/fleet/ca.pem|" \
    -e "s|@CERT@|$D/tls/server.pem|" -e "s|@KEY@|$D/tls/server.key|" \
    bench/mosquitto.conf.in >"$W/mosquitto.conf"
mosquitto -c "$W/mosquitto.conf" >"$W/mosquitto.log" 2>&1 &
MOSQ=$!
PIDS="$PIDS $MOSQ"
wait_line "$W/mosquitto.log" "running"

T_R="--trust $TRUST"
HUB="-a 127.0.0.1:$MQTT --server-pid $RCD $T_R"
MOS="-p mqtt -a 127.0.0.1:$MPORT --server-pid $MOSQ $T_R"
ECH="-p echo -a 127.0.0.1:$EPORT --server-pid $ECHO $T_R"

log "raw mutual-TLS handshakes (echo)"
load register $ECH -n "$N_ECHO" -c 100 --label handshake
log "registrations over MQTT, HTTPS; with a CSR"
load register -p dps-mqtt -a "127.0.0.1:$MQTT" --id-scope "$SCOPE" $T_R \
    --server-pid "$RCD" --first $R0 -n "$N_REG" -c 1000 --label reg_mqtt
load register -p dps-http -a "127.0.0.1:$HTTPS" --id-scope "$SCOPE" $T_R \
    --server-pid "$RCD" --first $R1 -n "$N_REG" -c 1000 --label reg_http
load register -p dps-mqtt -a "127.0.0.1:$MQTT" --id-scope "$SCOPE" $T_R \
    --server-pid "$RCD" --first $BIG -n "$N_CSR" -c 1000 --csr --label issue
log "hub connects: rollcalld, Mosquitto, echo"
load connect -p hub $HUB -n "$N_CONN" -c 100 --label conn_hub
load connect $MOS -n "$N_CONN" -c 100 --label conn_mosq
load connect $ECH -n "$N_CONN" -c 100 --label conn_echo
log "telemetry, QoS 1"
load telemetry -p hub $HUB -n $N_TEL -c 100 -t $T_TEL --label tel_hub
load telemetry $MOS -n $N_TEL -c 100 -t $T_TEL --label tel_mosq
load telemetry $ECH -n $N_TEL -c 100 -t $T_TEL --label tel_echo
log "idle connections: $N_HOLD"
load hold -p hub $HUB -n "$N_HOLD" -c 200 -t 1s --label hold_hub
load hold $MOS -n "$N_HOLD" -c 200 -t 1s --label hold_mosq
load hold $ECH -n "$N_HOLD" -c 200 -t 1s --label hold_echo
# Each side needs N_BIG descriptors (plus the store's and the listeners').
if [ $BIG_OK -eq 1 ]; then
	log "idle connections: $N_BIG"
	[ $BIG -gt $R2 ] && "$B/rollcall-load" import --first "$R2" \
	    -n $((BIG - R2)) --certs "$W/fleet.pem" -a "127.0.0.1:$HTTPS" \
	    --trust "$TRUST" --connection-string "$HUB_CS" >/dev/null
	load hold -p hub $HUB -n "$N_BIG" -c 200 -t 1s --label big_hub
	load hold $MOS -n "$N_BIG" -c 200 -t 1s --label big_mosq
	load hold $ECH -n "$N_BIG" -c 200 -t 1s --label big_echo
else
	log "skipping $N_BIG idle connections: the fd limit is $NOFILE"
fi
log "fleet roll of $N_HOLD devices"
load roll $HUB --id-scope "$SCOPE" -n "$N_HOLD" -c 200 \
    --interval $ROLL_INTERVAL -t $ROLL_MAX --timeout 60s --label roll

# rollcalld's signer is its own process; the numbers above are the main
# process only (the signer holds keys, not connections).
stop_all
sh bench/table.sh "$RES" "$NOFILE" "$N_BIG" >"$W/table.md"
cat "$W/table.md"
if [ $APPEND -eq 1 ]; then
	{
		echo
		echo "## $(date -u +%Y-%m-%d) $REV"
		echo
		echo "- machine: $(nproc) CPU ($(sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1)), $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr), $(openssl version | cut -d' ' -f1-2), $(mosquitto -h 2>/dev/null | sed -n 's/^mosquitto version /Mosquitto /p')"
		echo "- commit: $(git rev-parse HEAD) ($REV at the build)"
		echo "- command: \`make bench\` (sh bench/run.sh --append$( [ $SCALE -eq 1 ] || echo ' --quick'))"
		echo "- fd limit: $NOFILE; client and servers on the same machine, loopback"
		echo
		cat "$W/table.md"
		echo
		echo "<details><summary>raw RESULT lines</summary>"
		echo
		echo '```'
		cat "$RES"
		echo '```'
		echo
		echo "</details>"
	} >>docs/performance.md
	log "appended to docs/performance.md"
fi
