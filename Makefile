# Thin wrapper over CMake presets; the build itself is in CMakeLists.txt.
JOBS != nproc

all:
	cmake --preset dev >/dev/null
	cmake --build --preset dev -j $(JOBS)

release:
	cmake --preset release >/dev/null
	cmake --build --preset release -j $(JOBS)

run:
	sh scripts/run.sh

test:
	sh scripts/test.sh

# The benchmark suite (docs/performance.md): builds the release preset,
# runs every measurement against rollcalld, Mosquitto and the TLS echo
# baseline, prints the table and appends it to docs/performance.md.
bench:
	sh bench/run.sh --append

fuzz:
	cmake --preset fuzz >/dev/null
	cmake --build --preset fuzz -j $(JOBS)
	@echo "run them with: scripts/fuzz.sh [SECONDS] [TARGET ...]"

style:
	sh scripts/check-style.sh

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

.PHONY: all release run test bench fuzz style format clean
