#!/usr/bin/env bash
# Runs the original Autobahn TestSuite (the crossbario/autobahn-testsuite
# Docker image) against this library, in both roles, and fails unless every
# case is OK or INFORMATIONAL.
#
#   autobahn/run-docker.sh            # both modes
#   autobahn/run-docker.sh server     # fuzzingclient: tests autobahn/echoserver
#   autobahn/run-docker.sh client     # fuzzingserver: tests autobahn/echoclient
#
# Environment: AUTOBAHN_IMAGE (default crossbario/autobahn-testsuite),
# AUTOBAHN_REPORTS (default autobahn/reports), AUTOBAHN_TIMEOUT (seconds per
# suite run, default 3600).
#
# Exit status: 0 all cases OK or INFORMATIONAL; 1 a case is anything else,
# or a step failed; 2 no Docker engine is available (nothing was tested).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
IMAGE=${AUTOBAHN_IMAGE:-crossbario/autobahn-testsuite}
REPORTS=${AUTOBAHN_REPORTS:-$ROOT/autobahn/reports}
TIMEOUT=${AUTOBAHN_TIMEOUT:-3600}
ADDR=127.0.0.1:9001
MODE=${1:-all}

case "$MODE" in
server | client | all) ;;
*)
	echo "usage: $0 [server|client|all]" >&2
	exit 1
	;;
esac

if ! command -v docker >/dev/null 2>&1; then
	echo "run-docker.sh: docker is not installed; the original suite needs a Docker engine." >&2
	echo "Nothing was tested. The Go catalog runs without Docker: see autobahn/README.md." >&2
	exit 2
fi
if ! docker info >/dev/null 2>&1; then
	echo "run-docker.sh: no Docker engine answers ('docker info' failed); the original suite needs one." >&2
	echo "Nothing was tested. The Go catalog runs without Docker: see autobahn/README.md." >&2
	exit 2
fi

WORK=$(mktemp -d)
PIDS=()
CONTAINER=""
cleanup() {
	for pid in "${PIDS[@]}"; do
		kill -INT "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	if [ -n "$CONTAINER" ]; then
		docker stop -t 5 "$CONTAINER" >/dev/null 2>&1 || true
	fi
	rm -rf "$WORK"
}
trap cleanup EXIT

# wait_port waits up to $2 tenths of a second for something to listen on $1.
wait_port() {
	local host=${1%:*} port=${1##*:} i
	for ((i = 0; i < $2; i++)); do
		if (exec 3<>"/dev/tcp/$host/$port") 2>/dev/null; then
			return 0
		fi
		sleep 0.1
	done
	echo "run-docker.sh: nothing listens on $1" >&2
	return 1
}

# check_index prints every case of index.json $1 whose behavior or
# behaviorClose is not OK or INFORMATIONAL, and fails if there is one or if
# the report holds no case at all.
check_index() {
	local index=$1
	if [ ! -s "$index" ]; then
		echo "run-docker.sh: no report at $index" >&2
		return 1
	fi
	local total offenders
	if command -v jq >/dev/null 2>&1; then
		total=$(jq '[.[] | keys[]] | length' "$index") &&
			offenders=$(jq -r '
				def good: . == "OK" or . == "INFORMATIONAL";
				to_entries[] | .key as $agent | .value | to_entries[]
				| select((.value.behavior | good | not) or (.value.behaviorClose | good | not))
				| "\($agent) \(.key): \(.value.behavior) / \(.value.behaviorClose)"' "$index") || {
			echo "run-docker.sh: jq cannot read $index" >&2
			return 1
		}
	elif command -v python3 >/dev/null 2>&1; then
		total=$(python3 -c 'import json,sys; print(sum(len(v) for v in json.load(open(sys.argv[1])).values()))' "$index") &&
			offenders=$(python3 - "$index" <<'PY'
import json, sys
good = ("OK", "INFORMATIONAL")
def key(case_id):
    return [int(p) for p in case_id.split(".")]
for agent, cases in json.load(open(sys.argv[1])).items():
    for case_id in sorted(cases, key=key):
        r = cases[case_id]
        if r["behavior"] not in good or r["behaviorClose"] not in good:
            print("%s %s: %s / %s" % (agent, case_id, r["behavior"], r["behaviorClose"]))
PY
			) || {
			echo "run-docker.sh: python3 cannot read $index" >&2
			return 1
		}
	else
		echo "run-docker.sh: reading $index needs jq or python3" >&2
		return 1
	fi
	case "$total" in
	'' | *[!0-9]*)
		echo "run-docker.sh: cannot count the cases in $index" >&2
		return 1
		;;
	0)
		echo "run-docker.sh: $index holds no case" >&2
		return 1
		;;
	esac
	if [ -n "$offenders" ]; then
		echo "$(echo "$offenders" | wc -l) of $total cases are neither OK nor INFORMATIONAL ($index):"
		echo "$offenders"
		return 1
	fi
	echo "all $total cases OK or INFORMATIONAL ($index)"
}

mkdir -p "$REPORTS"
echo "== building the agents"
(cd "$ROOT" && go build -o "$WORK/echoserver" ./autobahn/echoserver && go build -o "$WORK/echoclient" ./autobahn/echoclient)
echo "== pulling $IMAGE"
docker pull "$IMAGE" >/dev/null

# The configs are mounted at /config and the reports at /reports; the
# configs' outdir ./reports/... resolves there with the working directory /.
DOCKER_ARGS=(--rm --network host -w / -v "$ROOT/autobahn:/config:ro" -v "$REPORTS:/reports")

status=0

if [ "$MODE" = server ] || [ "$MODE" = all ]; then
	echo "== fuzzingclient: the suite tests autobahn/echoserver on $ADDR"
	rm -rf "$REPORTS/servers"
	"$WORK/echoserver" -addr "$ADDR" &
	PIDS+=($!)
	wait_port "$ADDR" 100
	timeout "$TIMEOUT" docker run "${DOCKER_ARGS[@]}" "$IMAGE" \
		wstest -m fuzzingclient -s /config/fuzzingclient.json || status=1
	check_index "$REPORTS/servers/index.json" || status=1
fi

if [ "$MODE" = client ] || [ "$MODE" = all ]; then
	# The echo server of the first mode listens on the same port.
	for pid in "${PIDS[@]}"; do
		kill -INT "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	PIDS=()
	echo "== fuzzingserver: the suite on $ADDR tests autobahn/echoclient"
	rm -rf "$REPORTS/clients"
	CONTAINER=$(docker run -d "${DOCKER_ARGS[@]}" "$IMAGE" \
		wstest -m fuzzingserver -s /config/fuzzingserver.json)
	wait_port "$ADDR" 600
	timeout "$TIMEOUT" "$WORK/echoclient" -url "ws://$ADDR" -agent ws || status=1
	docker stop -t 5 "$CONTAINER" >/dev/null 2>&1 || true
	CONTAINER=""
	check_index "$REPORTS/clients/index.json" || status=1
fi

echo "== reports in $REPORTS (open servers/index.html and clients/index.html)"
exit $status
