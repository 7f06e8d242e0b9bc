#!/usr/bin/env bash
# Runs every fuzz target of the module, one after another.
#
#   bash fuzz/run.sh [budget] [filter]
#   bash fuzz/run.sh -l [filter]        # list the targets and their budgets
#
# budget is how much each target fuzzes. Without it, each target gets its
# execution count from fuzz/budgets (FUZZ_DEFAULT_BUDGET, 100000x, for a
# target not listed there): this is what CI runs. Given, it applies to every
# target: an execution count such as 50000x, a number of seconds, or any
# duration -fuzztime takes (30s, 2m).
#
# Execution counts are the deterministic budget: a count-limited run has no
# deadline, so it cannot hit the race of Go's fuzz coordinator at the
# -fuzztime deadline (golang/go#75804, fixed in Go 1.27), which fails a
# duration-limited run with "context deadline exceeded" and no input; and
# it does the same work on a slow or busy machine, only slower.
#
# filter, if given, is an extended regular expression; only targets whose
# "package target" line matches it run. FUZZ_FLAGS adds flags to every go
# test run (e.g. FUZZ_FLAGS=-parallel=2). FUZZ_TIMEOUT is each target's go
# test -timeout (default 15m, far above what a budget takes on a busy
# machine).
#
# Targets are the func FuzzXxx(f *testing.F) in the _test.go files of the
# packages of this module (go list ./..., so nested modules and testdata
# are excluded), except bench/. The exit status is 1 if any target failed:
# found a failing input (written to pkg/testdata/fuzz/FuzzXxx/, and named
# here), failed on its seed corpus, hung, or did not build.
set -u -o pipefail

cd "$(dirname "$0")/.." || exit 2

list=
if [ "${1:-}" = "-l" ]; then
	list=1
	shift
	budget_arg=
	filter=${1:-}
else
	budget_arg=${1:-}
	filter=${2:-}
fi
case $budget_arg in
*[0-9]) budget_arg=${budget_arg}s ;;
esac
default_budget=${FUZZ_DEFAULT_BUDGET:-100000x}
timeout=${FUZZ_TIMEOUT:-15m}
read -r -a extra <<<"${FUZZ_FLAGS:-}"

mod=$(go list -m) || exit 2

# "dir importpath" for every package of this module, bench/ excluded.
pkgs=$(go list -e -f '{{.Dir}} {{.ImportPath}}' ./... | grep -v -E " ${mod}/bench(/|$)") || {
	echo "fuzz: no packages found" >&2
	exit 2
}

# budget_of PKG NAME prints the target's budget: the argument, its line in
# fuzz/budgets ("./pkg FuzzName 200000x"), or the default.
budget_of() {
	if [ -n "$budget_arg" ]; then
		echo "$budget_arg"
		return
	fi
	local b=
	if [ -f fuzz/budgets ]; then
		b=$(awk -v p="$1" -v n="$2" '$1 == p && $2 == n { print $3; exit }' fuzz/budgets)
	fi
	echo "${b:-$default_budget}"
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

if [ -n "$list" ]; then
	for t in "${targets[@]}"; do
		read -r pkg name <<<"$t"
		printf '%-14s %-28s %s\n' "$pkg" "$name" "$(budget_of "$pkg" "$name")"
	done
	exit 0
fi

total=${#targets[@]}
failed=0
log=$(mktemp)
trap 'rm -f "$log"' EXIT

for t in "${targets[@]}"; do
	read -r pkg name <<<"$t"
	budget=$(budget_of "$pkg" "$name")
	corpus=$pkg/testdata/fuzz/$name
	before=$(ls "$corpus" 2>/dev/null)
	start=$SECONDS
	go test "${extra[@]}" -run '^$' -fuzz "^${name}\$" -fuzztime "$budget" -timeout "$timeout" "$pkg" >"$log" 2>&1
	status=$?
	secs=$((SECONDS - start))
	# The coordinator's last progress line says how many inputs ran.
	execs=$(grep -o -E 'execs: [0-9]+' "$log" | tail -n 1 | cut -d' ' -f2)
	if [ "$status" -eq 0 ]; then
		printf 'ok    %-28s %-14s %10s execs %5ds\n' "$name" "$pkg" "${execs:-?}" "$secs"
		continue
	fi
	failed=$((failed + 1))
	printf 'FAIL  %-28s %-14s %10s execs %5ds\n' "$name" "$pkg" "${execs:-?}" "$secs"
	# The failure, the failing input's path and how to re-run it.
	grep -v -E '^fuzz: elapsed' "$log" | tail -n 40 | sed 's/^/      /'
	new=$(comm -13 <(echo "$before") <(ls "$corpus" 2>/dev/null))
	if [ -n "$new" ]; then
		for f in $new; do
			echo "      new failing input: $corpus/$f (replay: go test -run '$name/$f' $pkg)"
		done
	else
		echo "      no new failing input was written (a seed failed, the target hung or did not build)"
		case $budget in
		*x) ;;
		*) grep -q -x -E '[[:space:]]*context deadline exceeded' "$log" &&
			echo "      a duration budget can fail so at its deadline in Go < 1.27 (golang/go#75804); count budgets (Nx) cannot" ;;
		esac
	fi
done

echo "fuzz: $total targets, $failed failed"
[ "$failed" -eq 0 ]
