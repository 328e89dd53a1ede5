#!/bin/sh
# The test command: installs what is missing, builds the dev preset (ASan +
# UBSan + -Werror) and runs every test under CTest.  Extra arguments go to
# ctest (e.g. -L unit, -R x509).
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh
cmake --preset dev >/dev/null
cmake --build --preset dev -j "$(nproc)"
ctest --preset dev "$@"
