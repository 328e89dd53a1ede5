#!/bin/sh
# Install what rollcall needs to build and test on Debian 12 (DESIGN.md §7),
# the PKCS#11 keystore of rollcall-agent (pkcs11.h from libp11-kit-dev;
# SoftHSM2, pkcs11-tool and OpenSSL's pkcs11 engine for it and its tests),
# and what `make bench` needs (mosquitto, the broker baseline; linux-perf
# and valgrind, for the profiles in docs/performance.md).
# Idempotent: packages already present are skipped, and nothing is printed
# when there is nothing to do.
set -eu

PKGS="build-essential cmake pkg-config clang clang-format openssl
libssl-dev libevent-dev libsqlite3-dev libjansson-dev libcurl4-openssl-dev
libcmocka-dev libclang-rt-14-dev mosquitto-clients libmosquitto-dev
mosquitto linux-perf valgrind libp11-kit-dev softhsm2 opensc
libengine-pkcs11-openssl"

missing=""
for p in $PKGS; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null |
	    grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
# Node 20 runs the e2e and interop tests; any node >= 18 with node:test works.
command -v node >/dev/null 2>&1 || missing="$missing nodejs"
command -v npm >/dev/null 2>&1 || missing="$missing npm"

[ -z "$missing" ] && exit 0

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing:$missing"
$SUDO apt-get update -q
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
