#!/usr/bin/env bash
# Installs the peers of the interop tests: Debian's chromium (headless) and
# libnss3-tools (certutil, to make Chromium trust the test's CA), Debian's
# python3-websockets, Debian's haproxy (the load balancer of the Socket.IO
# cluster test in natsbroker/siocluster), and the npm packages of package.json (from
# package-lock.json, into interop/node_modules). Idempotent: what is there already is not fetched
# again, so a second run takes a second or two. Runs as root (as CI does) or
# through sudo; needs no input.
set -euo pipefail
cd "$(dirname "$0")"

SUDO=
if [ "$(id -u)" != 0 ]; then
	SUDO=sudo
fi

# Debian packages, installed only when missing.
debs=(chromium libnss3-tools python3-websockets haproxy)
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
	debs+=(nodejs npm)
fi
missing=()
for p in "${debs[@]}"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$'; then
		missing+=("$p")
	fi
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "interop/install.sh: apt-get install ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	$SUDO apt-get update -q -o DPkg::Lock::Timeout=300 >/dev/null
	$SUDO apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=300 "${missing[@]}" >/dev/null
fi

# The npm packages (ws; socket.io and socket.io-client for the Socket.IO
# tests: the reference server, and the real client in Node and, from its
# browser bundle, in Chromium), at the
# versions of package-lock.json.
stale=$(node -e '
const lock = require("./package-lock.json");
for (const name of Object.keys(require("./package.json").dependencies)) {
  let have = "";
  try { have = require("./node_modules/" + name + "/package.json").version; } catch (e) {}
  if (have !== lock.packages["node_modules/" + name].version) console.log(name);
}')
if [ -n "$stale" ]; then
	echo "interop/install.sh: npm ci ($(echo $stale))"
	npm ci --no-audit --no-fund --loglevel=error
fi

echo "interop peers: $(chromium --version 2>/dev/null | head -n1)," \
	"Node $(node --version) with ws $(node -p "require('./node_modules/ws/package.json').version")," \
	"Python websockets $(/usr/bin/python3 -c 'import websockets; print(websockets.__version__)')"
