#!/usr/bin/env bash
# rcl talker -> listener one-way latency (bench/ros2/latency.c), rmw_zloan
# beside rmw_cyclonedds_cpp over loopback UDP and with iceoryx shared memory,
# in one interleaved run:
#
#   bench/ros2/run.sh                       # 5 repeats, about 7 minutes
#   ZLOAN_BENCH_REPEATS=3 bench/ros2/run.sh
#
# Cases: plain64 (a plain 64 B message, 2000 at 1 kHz), plain4m (a plain
# 4 MiB message, 200 at 20 Hz), image (sensor_msgs/Image 1920x1080 rgb8,
# 200 at 20 Hz, rcl_publish / rcl_take), and on rmw_zloan alone img-take
# (the same image taken with rcl_take_loaned_message: a view of its CDR in
# shared memory) and img-sized (also published from
# rmw_zloan_borrow_loaned_message_sized: no copy either way). Each repeat
# runs every case on the three middlewares, in an order that rotates from
# one repeat to the next, so that a load that comes and goes on the machine
# falls on each:
#   rmw_zloan                lends plain messages (rcl_borrow_loaned_message,
#                            rcl_publish_loaned_message, rcl_take_loaned_message)
#                            and serializes the image into a sized loan;
#   rmw_cyclonedds_cpp       copies through loopback UDP (bench/ros2/cyclonedds.xml);
#   rmw_cyclonedds_cpp+iox   the same rmw with Cyclone's iceoryx shared memory
#                            (bench/ros2/cyclonedds-iox.xml; Debian's cyclonedds
#                            0.10 is built with it), iox-roudi running with
#                            bench/roudi.toml: it lends plain messages too.
#
# Needs root (a private /dev/shm: unshare -m and a tmpfs of 4 GiB; iox-roudi,
# started in it and stopped by its pid, from Debian's iceoryx) and a ROS 2
# installation (ZLOAN_ROS2_PREFIX, default: the first of AMENT_PREFIX_PATH,
# else /opt/ros2) with rcl, sensor_msgs and rmw_cyclonedds_cpp. Builds in
# $ZLOAN_BENCH_BUILD (default build-bench/, Release, as bench/run.sh) and
# writes to $ZLOAN_BENCH_OUT/ros2 (default bench/results/ros2/):
#   ros2.tsv     one line per run: repeat case rmw path sent received
#                p50_us p90_us p99_us max_us mean_us
#   table.txt    bench/ros2/report.sh's table: per case and middleware, the
#                median over the repeats of each figure, and ratios to
#                rmw_cyclonedds_cpp's
#   machine.txt  date, load (uptime) before and after, CPU, commit
#   logs/        the build's, iox-roudi's and every run's stderr
# ROS domains (and so zloan domains) 229, 230, 231, 204 and 205, one per case.
# Messages a listener never took show in recv/sent (keep-last 10: a
# listener descheduled for longer than 10 periods loses the oldest).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=${ZLOAN_BENCH_OUT:-$ROOT/bench/results}/ros2
BUILD=${ZLOAN_BENCH_BUILD:-$ROOT/build-bench}
REPEATS=${ZLOAN_BENCH_REPEATS:-5}
AMENT_FIRST=${AMENT_PREFIX_PATH:-}
PREFIX=${ZLOAN_ROS2_PREFIX:-${AMENT_FIRST%%:*}}
PREFIX=${PREFIX:-/opt/ros2}
PROGRAM=$BUILD/bench/ros2/zloan_bench_ros2_latency

log() { printf '== %s\n' "$*" >&2; }

if [ "${ZLOAN_BENCH_ROS2_INSIDE:-}" != 1 ]; then
    [ "$(id -u)" = 0 ] || { echo "bench/ros2/run.sh: needs root (unshare -m for a private /dev/shm)" >&2; exit 1; }
    [ -d "$PREFIX/share/rcl" ] || { echo "bench/ros2/run.sh: no ROS 2 in $PREFIX (set ZLOAN_ROS2_PREFIX)" >&2; exit 1; }
    mkdir -p "$OUT/logs"
    log "building in $BUILD"
    cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
        -DZLOAN_BUILD_EXAMPLES=OFF -DCMAKE_PREFIX_PATH="$PREFIX" >"$OUT/logs/cmake.log" 2>&1 ||
        { cat "$OUT/logs/cmake.log"; exit 1; }
    if ! grep -q "building the ROS 2 latency benchmark" "$OUT/logs/cmake.log"; then
        grep -E "rmw_zloan: skipped|ROS 2 benchmark skipped" "$OUT/logs/cmake.log" >&2 || true
        echo "bench/ros2/run.sh: the ROS 2 benchmark is not configured (above)" >&2
        exit 1
    fi
    cmake --build "$BUILD" -j2 --target zloan_bench_ros2_latency >"$OUT/logs/build.log" 2>&1 ||
        { cat "$OUT/logs/build.log"; exit 1; }
    export ZLOAN_BENCH_ROS2_INSIDE=1 ZLOAN_BENCH_OUT="${ZLOAN_BENCH_OUT:-$ROOT/bench/results}" \
        ZLOAN_BENCH_BUILD="$BUILD" ZLOAN_ROS2_PREFIX="$PREFIX"
    # shellcheck disable=SC2016 # $0 is expanded by the inner sh: this script
    exec unshare -m --propagation private sh -c \
        'mount -t tmpfs -o size=4g tmpfs /dev/shm && exec "$0"' "$0"
fi

# ---- inside the private /dev/shm ----------------------------------------------
# librmw_implementation loads librmw_<name>.so along LD_LIBRARY_PATH; the
# listener and talker find zloan_bench_msgs' type supports there too.
export LD_LIBRARY_PATH="$BUILD/rmw_zloan:$BUILD/bench/ros2:$PREFIX/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export AMENT_PREFIX_PATH="$PREFIX${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
ROUDI_PID=""
stop_roudi() {
    if [ -n "$ROUDI_PID" ]; then
        kill -TERM "$ROUDI_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$ROUDI_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$ROUDI_PID" 2>/dev/null || true
        # RouDi 2.0 may abort at shutdown over clients already gone: not ours.
        wait "$ROUDI_PID" 2>/dev/null || true
        ROUDI_PID=""
    fi
}
trap stop_roudi EXIT
command -v iox-roudi >/dev/null || { echo "bench/ros2/run.sh: iox-roudi missing (Debian: iceoryx)" >&2; exit 1; }
iox-roudi -c "$ROOT/bench/roudi.toml" -m off -l warning >"$OUT/logs/roudi.log" 2>&1 &
ROUDI_PID=$!
for _ in $(seq 100); do
    grep -q "RouDi is ready" "$OUT/logs/roudi.log" 2>/dev/null && break
    kill -0 "$ROUDI_PID" 2>/dev/null || { cat "$OUT/logs/roudi.log"; exit 1; }
    sleep 0.1
done
TSV=$OUT/ros2.tsv
: >"$TSV"
{
    echo "date: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    echo "uptime:$(uptime)"
    echo "cpus: $(nproc); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
    echo "kernel: $(uname -r); net.core.rmem_max: $(cat /proc/sys/net/core/rmem_max)"
    echo "commit: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo unknown)"
} >"$OUT/machine.txt"
cat "$OUT/machine.txt" >&2

# case messages period_us domain
CASES="plain64 2000 1000 229
plain4m 200 50000 230
image 200 50000 231
img-take 200 50000 204
img-sized 200 50000 205"
FAILED=""
run_one() {
    local repeat=$1 kind=$2 messages=$3 period=$4 domain=$5 system=$6 rmw=${6%+iox} line
    local uri=$ROOT/bench/ros2/cyclonedds.xml
    [ "$system" = "$rmw" ] || uri=$ROOT/bench/ros2/cyclonedds-iox.xml
    log "repeat $repeat: $kind on $system"
    if line=$(RMW_IMPLEMENTATION=$rmw CYCLONEDDS_URI=file://$uri ROS_DOMAIN_ID=$domain timeout 120 \
        "$PROGRAM" "$kind" "$messages" "$period" 2>>"$OUT/logs/$kind-$system.log"); then
        printf '%s\t%s\n' "$repeat" "$line" | awk -F'\t' -v OFS='\t' -v s="$system" '{ $3 = s; print }' >>"$TSV"
    else
        FAILED="$FAILED $kind/$system/$repeat"
        log "failed: $kind on $system (repeat $repeat; $OUT/logs/$kind-$system.log)"
    fi
}
SYSTEMS=(rmw_zloan rmw_cyclonedds_cpp rmw_cyclonedds_cpp+iox)
for repeat in $(seq "$REPEATS"); do
    order=""
    for i in 0 1 2; do order="$order ${SYSTEMS[$(((repeat - 1 + i) % 3))]}"; done
    while read -r kind messages period domain; do
        for rmw in $order; do
            # The loaned image paths are rmw_zloan's (the others copy it:
            # their figure is the image case's).
            case $kind in img-*) [ "$rmw" = rmw_zloan ] || continue ;; esac
            run_one "$repeat" "$kind" "$messages" "$period" "$domain" "$rmw"
        done
    done <<<"$CASES"
done
echo "uptime after:$(uptime)" >>"$OUT/machine.txt"

"$ROOT/bench/ros2/report.sh" "$OUT" | tee "$OUT/table.txt"
if [ -n "$FAILED" ]; then
    echo "bench/ros2/run.sh: failed runs:$FAILED" >&2
    exit 1
fi
