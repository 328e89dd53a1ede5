#!/bin/sh
# Runs libFuzzer targets built by `make fuzz`, each for SECONDS (default 60),
# starting from its committed seed corpus.  New inputs go to a scratch corpus
# under build/fuzz/corpus/, never into the repository.
#   scripts/fuzz.sh [SECONDS] [TARGET ...]     (targets: buf b64 pem csr sas conf json ...)
set -eu
cd "$(dirname "$0")/.."
secs=${1:-60}
[ $# -gt 0 ] && shift
targets=${*:-$(ls fuzz/fuzz_*.c | sed 's/.*fuzz_//; s/\.c$//')}
for t in $targets; do
	bin=build/fuzz/fuzz/fuzz_$t
	[ -x "$bin" ] || { echo "fuzz.sh: $bin missing: run 'make fuzz'" >&2; exit 2; }
	scratch=build/fuzz/corpus/$t
	mkdir -p "$scratch"
	echo "== fuzz_$t for ${secs}s"
	"$bin" -max_total_time="$secs" -print_final_stats=1 "$scratch" "fuzz/corpus/$t"
done
