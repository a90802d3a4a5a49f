#!/bin/sh
# Between hosts, as root: two network namespaces joined by a veth pair, each
# with its own /dev/shm (the net tests' tests/net/lib.sh).
#   1. latency A→B→A (one way = RTT/2): zloan through bridges on both hosts,
#      beside plain Cyclone DDS with the same type and QoS; 64 B and 4 MiB;
#   2. throughput A→B, 64 B: the same pair;
#   3. zloan's local latency in A, 64 B and 4 MiB, without a bridge, then
#      with bridges running and a remote reader in B of another topic that A
#      publishes (one run, so the two are comparable).
# Usage: bench/net_bench.sh BUILD_DIR   (e.g. build/gcc)
BUILD=$(cd "${1:-build/gcc}" && pwd)
BIN=$BUILD/bench
BRIDGE=$BUILD/bridge/zloan-bridge
. "$(dirname "$0")/../tests/net/lib.sh"
net_setup
B=$BUILD/bench/zloan_net_bench
ROUNDS=${ROUNDS:-2000}
ROUNDS_LARGE=${ROUNDS_LARGE:-100}

stop() { for p in "$@"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; }

echo "== latency A→B (one way)"
bridge A; BA=$LAST_PID; bridge B; BB=$LAST_PID
for size in small large; do
    r=$ROUNDS; [ $size = large ] && r=$ROUNDS_LARGE
    spawn echo B "$B" zl-echo /ping_$size /pong_$size $size; E=$LAST_PID
    on A "$B" zl-ping /ping_$size /pong_$size $size $r "zloan via bridges"
    stop $E
    spawn echo B "$B" dds-echo /dping_$size /dpong_$size $size; E=$LAST_PID
    on A "$B" dds-ping /dping_$size /dpong_$size $size $r "plain Cyclone DDS"
    stop $E
done

echo "== throughput A→B"
N=${COUNT:-100000}
spawn count B "$B" zl-count /blast $N 20000 "zloan via bridges"; C=$LAST_PID
on A "$B" zl-blast /blast small $N; wait $C; cat "$WORK/count"
spawn count B "$B" dds-count /dblast $N 20000 "plain Cyclone DDS"; C=$LAST_PID
on A "$B" dds-blast /dblast small $N; wait $C; cat "$WORK/count"
stop $BA $BB

echo "== local latency in A"
local_round() {
    for size in small large; do
        r=$ROUNDS; [ $size = large ] && r=$ROUNDS_LARGE
        spawn echo A "$B" zl-echo /lping_$size /lpong_$size $size; E=$LAST_PID
        on A "$B" zl-ping /lping_$size /lpong_$size $size $r "$1"
        stop $E
    done
}
local_round "zloan local, no bridge"
bridge A; BA=$LAST_PID; bridge B; BB=$LAST_PID
spawn remote_reader B "$B" zl-count /other 1000000000 600000 "remote reader"; RR=$LAST_PID
spawn other_pub A "$B" zl-blast /other small 1000000000; OP=$LAST_PID
sleep 3
local_round "zloan local, bridge + remote"
stop $OP $RR $BA $BB
