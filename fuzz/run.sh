#!/usr/bin/env bash
# Runs every fuzz target of the module, one after another.
#
#   bash fuzz/run.sh [fuzztime] [filter]
#
# fuzztime is a number of seconds per target (default 10), or any value
# -fuzztime takes (30s, 2m, 10000x). filter, if given, is an extended regular
# expression; only targets whose "package target" line matches it run.
# FUZZ_FLAGS adds flags to every go test run (e.g. FUZZ_FLAGS=-parallel=2).
#
# Targets are the func FuzzXxx(f *testing.F) in the _test.go files of the
# packages of this module (go list ./..., so nested modules are excluded),
# except bench/. The exit status is 1 if any target failed or did not build.
set -u -o pipefail

cd "$(dirname "$0")/.." || exit 2

time_arg=${1:-10}
case $time_arg in
*[0-9]) time_arg=${time_arg}s ;;
esac
filter=${2:-}
read -r -a extra <<<"${FUZZ_FLAGS:-}"

mod=$(go list -m) || exit 2

# "dir importpath" for every package of this module, bench/ excluded.
pkgs=$(go list -e -f '{{.Dir}} {{.ImportPath}}' ./... | grep -v -E " ${mod}/bench(/|$)") || {
	echo "fuzz: no packages found" >&2
	exit 2
}

targets=()
while read -r dir path; do
	if [ "$path" = "$mod" ]; then
		rel=.
	else
		rel=./${path#"$mod"/}
	fi
	for name in $(grep -h -o -E '^func Fuzz[A-Za-z0-9_]*\([A-Za-z_][A-Za-z0-9_]* \*testing\.F\)' "$dir"/*_test.go 2>/dev/null |
		sed -E 's/^func (Fuzz[A-Za-z0-9_]*)\(.*/\1/' | sort -u); do
		if [ -n "$filter" ] && ! grep -q -E -- "$filter" <<<"$rel $name"; then
			continue
		fi
		targets+=("$rel $name")
	done
done <<<"$pkgs"

total=${#targets[@]}
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

for t in "${targets[@]}"; do
	read -r pkg name <<<"$t"
	start=$SECONDS
	if go test "${extra[@]}" -run '^$' -fuzz "^${name}\$" -fuzztime "$time_arg" "$pkg" >"$log" 2>&1; then
		printf 'ok    %-28s %-14s %ds\n' "$name" "$pkg" $((SECONDS - start))
	else
		failed=$((failed + 1))
		printf 'FAIL  %-28s %-14s %ds\n' "$name" "$pkg" $((SECONDS - start))
		# The failure, the failing input's path and how to re-run it.
		grep -v -E '^fuzz: elapsed' "$log" | tail -n 40 | sed 's/^/      /'
	fi
done

echo "fuzz: $total targets, $failed failed"
[ "$failed" -eq 0 ]
