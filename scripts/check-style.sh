#!/bin/sh
# Style gate (STYLE.md rules 1 and 7): clang-format must have nothing to
# change, and the banned functions appear nowhere in our C sources.
set -eu
cd "$(dirname "$0")/.."

files=$(git ls-files -co --exclude-standard '*.c' '*.h' | grep -v '^build/' || true)
[ -n "$files" ] || exit 0
status=0

for f in $files; do
	[ -f "$f" ] || continue
	if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
		echo "check-style: $f is not clang-formatted (run: make format)"
		status=1
	fi
done

# Banned calls, as a call (name followed by an opening parenthesis).
banned='strcpy|strcat|sprintf|vsprintf|gets|strtok|strncpy|atoi|atol|sscanf|alloca|system|rand'
hits=$(grep -nE "(^|[^_[:alnum:].>])($banned)[[:space:]]*\(" $files || true)
if [ -n "$hits" ]; then
	echo "check-style: banned functions (STYLE.md rule 7):"
	echo "$hits"
	status=1
fi

# Raw allocation outside the allocator wrapper (and the fuzz/test drivers,
# which are not part of the product).
lib=$(echo "$files" | grep -E '^src/' | grep -v '^src/lib/mem\.c$' || true)
if [ -n "$lib" ]; then
	hits=$(grep -nE '(^|[^_[:alnum:].>])(malloc|calloc|realloc|free|strdup|strndup)[[:space:]]*\(' $lib || true)
	if [ -n "$hits" ]; then
		echo "check-style: raw allocation outside src/lib/mem.c:"
		echo "$hits"
		status=1
	fi
fi

[ $status -eq 0 ] && echo "check-style: ok"
exit $status
