#!/bin/sh
# Between hosts, as root: two network namespaces joined by a veth pair, each
# with its own /dev/shm (the net tests' tests/net/lib.sh).
#   1. latency A→B→A (one way = RTT/2): zloan through bridges on both hosts,
#      beside plain Cyclone DDS with the same type and QoS; 64 B and 4 MiB;
#   2. throughput A→B, 64 B: the same pair, unpaced;
#   2b. paced throughput A→B: offered rates (64 B: RATES_SMALL, 4 MiB:
#      RATES_LARGE msg/s, each for PACED_SECONDS), delivered rate and loss, reliable
#      keep-last on both sides, zloan through the bridges beside plain
#      Cyclone DDS; a table at the end;
#   3. zloan's local latency in A, 64 B and 4 MiB, without a bridge, then
#      with bridges running and a remote reader in B of another topic that A
#      publishes (one run, so the two are comparable).
# Usage: bench/net_bench.sh BUILD_DIR   (e.g. build/gcc)
#   PARTS="latency throughput paced local" (the default: all) picks parts.
BUILD=$(cd "${1:-build/gcc}" && pwd)
BIN=$BUILD/bench
BRIDGE=$BUILD/bridge/zloan-bridge
. "$(dirname "$0")/../tests/net/lib.sh"
net_setup
B=$BUILD/bench/zloan_net_bench
ROUNDS=${ROUNDS:-2000}
ROUNDS_LARGE=${ROUNDS_LARGE:-100}

stop() { for p in "$@"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done; }

PARTS=${PARTS:-latency throughput paced local}
part() { case " $PARTS " in *" $1 "*) return 0 ;; esac; return 1; }

if part latency; then
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
stop $BA $BB
fi

if part throughput; then
echo "== throughput A→B"
bridge A; BA=$LAST_PID; bridge B; BB=$LAST_PID
N=${COUNT:-100000}
spawn count B "$B" zl-count /blast $N 20000 "zloan via bridges"; C=$LAST_PID
on A "$B" zl-blast /blast small $N; wait $C; cat "$WORK/count"
spawn count B "$B" dds-count /dblast $N 20000 "plain Cyclone DDS"; C=$LAST_PID
on A "$B" dds-blast /dblast small $N; wait $C; cat "$WORK/count"
stop $BA $BB
fi

if part paced; then
echo "== paced throughput A→B (reliable, keep-last)"
SECONDS_EACH=${PACED_SECONDS:-5}
bridge A; BA=$LAST_PID; bridge B; BB=$LAST_PID
TABLE=$WORK/paced_table
echo "| path | size | offered msg/s | sent (s) | received | delivered msg/s | loss |" >"$TABLE"
echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |" >>"$TABLE"
paced_case() { # KIND RATE
    kind=$1; rate=$2
    n=$(awk "BEGIN { printf \"%d\", $rate * $SECONDS_EACH }")
    for side in zl dds; do
        label="zloan via bridges"; [ $side = dds ] && label="plain Cyclone DDS"
        topic=/paced_${side}_${kind}_$rate
        spawn count B "$B" $side-count $topic $n $(( SECONDS_EACH * 1000 + 30000 )) "$label" $kind; C=$LAST_PID
        on A "$B" $side-paced $topic $kind $rate $SECONDS_EACH >"$WORK/paced"
        wait $C
        cat "$WORK/paced" "$WORK/count"
        size="64 B"; [ $kind = large ] && size="4 MiB"
        # Delivered: what arrived over the offered window (or over the
        # time it took to arrive, when longer).
        awk -v label="$label" -v size="$size" -v rate=$rate -v window=$SECONDS_EACH '
            /^sent / { took = $4 }
            / received / { for (i = 1; i <= NF; i++) { if ($i == "received") r = $(i + 1); if ($i == "of") n = $(i + 1); if ($i == "over") span = $(i + 1) }
                           sub(",", "", n); if (span < window) span = window
                           printf "| %s | %s | %d | %d (%.1f) | %d | %.0f | %.1f %% |\n", label, size, rate, n, took, r, r / span, (n > 0 ? 100 * (n - r) / n : 0) }' \
            "$WORK/paced" "$WORK/count" >>"$TABLE"
    done
}
for rate in ${RATES_SMALL:-1000 5000 20000}; do paced_case small $rate; done
for rate in ${RATES_LARGE:-30 60}; do paced_case large $rate; done
stop $BA $BB
cat "$TABLE"
fi

if part local; then
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
fi
