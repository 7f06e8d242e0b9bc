#!/usr/bin/env bash
# idle-scale.sh: server memory per idle connection at 100,000 or 1,000,000
# connections (or any count), raw and after a GC, for the libraries named in
# LIBS. Not run in CI: it needs limits raised beyond a default machine's.
#
#   bash bench/idle-scale.sh 100000
#   LIBS=loop,nbio bash bench/idle-scale.sh 1000000
#
# By default the event-loop server (loop) runs first, then the others.
# Where the open-files limit cannot be raised to N, it runs at the largest
# count the limit allows.
#
# What a count of N needs, on Linux, as root (the script tries each and says
# what it could not do):
#   - N open files in each of the two processes (the harness holds the
#     client ends, the server the other ends): ulimit -n above N, which
#     needs fs.nr_open above N and CAP_SYS_RESOURCE to raise the hard limit;
#   - fs.file-max above 2N for the whole machine;
#   - source addresses: one loopback address gives about 28,000 ephemeral
#     ports towards one server address (more with a wider
#     net.ipv4.ip_local_port_range); the dials are spread over
#     ceil(N / 25,000) addresses 127.0.0.1, 127.0.0.2, ... (all of
#     127.0.0.0/8 is local on Linux);
#   - memory: the harness keeps a 4 KiB read buffer per client connection
#     (about 5 GB at 1M) and the kernel about 3-4 KiB of socket state per
#     connection end (net.ipv4.tcp_mem may need raising); the server's own
#     RSS is what is measured.
# The tables go to standard output and to $OUT (default /tmp/idle-N.md).
# The figure to beat at 1M: 1 GiB of server RSS (about 1.05 KiB per
# connection).
set -u
N=${1:-100000}
LIBS=${LIBS:-loop,ours,gobwas,gws,nbio,floor}
want=$((N + 100))
cd "$(dirname "$0")"

try() { "$@" 2>/dev/null || echo "idle-scale: could not: $*" >&2; }
if [ "$(id -u)" = 0 ]; then
	[ "$(cat /proc/sys/fs/nr_open)" -lt "$want" ] && try sysctl -q -w fs.nr_open=$((want + 1000))
	[ "$(cat /proc/sys/fs/file-max)" -lt $((2 * want)) ] && try sysctl -q -w fs.file-max=$((2 * want + 10000))
	try sysctl -q -w net.ipv4.ip_local_port_range="1024 65000"
	try sysctl -q -w net.core.somaxconn=65535
	try sysctl -q -w net.ipv4.tcp_max_syn_backlog=65535
fi
if [ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt "$want" ]; then
	ulimit -Hn "$want" 2>/dev/null || echo "idle-scale: the hard limit on open files is $(ulimit -Hn) and cannot be raised here; a process holds fewer than $N connections" >&2
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null
if [ "$(ulimit -n)" != unlimited ] && [ "$(ulimit -n)" -lt "$want" ]; then
	# Run at the largest count the limit allows (the Go runtime raises
	# the soft limit to the hard one; a few hundred descriptors stay for
	# the process itself), and say so.
	N=$(( $(ulimit -n) - 500 ))
	echo "idle-scale: running at N=$N, the most the open-files limit allows" >&2
fi
sources=$(( (N + 24999) / 25000 ))
[ "$sources" -lt 8 ] && sources=8
echo "idle-scale: N=$N, open files $(ulimit -n), $sources source addresses, libraries $LIBS" >&2
exec go run ./cmd/bench -cases '^idle/' -idle "$N" -idle-sources "$sources" -libs "$LIBS" -runs 1 -maxtime 3h -o "${OUT:-/tmp/idle-$N.md}"
