#!/usr/bin/env bash
# rcl talker -> listener one-way latency (bench/ros2/latency.c), rmw_zloan
# beside rmw_cyclonedds_cpp, in one interleaved run:
#
#   bench/ros2/run.sh                       # 5 repeats, about 6 minutes
#   ZLOAN_BENCH_REPEATS=3 bench/ros2/run.sh
#
# Cases: plain64 (a plain 64 B message, 2000 at 1 kHz), plain4m (a plain
# 4 MiB message, 200 at 20 Hz), image (sensor_msgs/Image 1920x1080 rgb8,
# 200 at 20 Hz). Each repeat runs every case on both middlewares, and the
# order of the two alternates from one repeat to the next, so that a load
# that comes and goes on the machine falls on both. rmw_zloan lends plain
# messages (rcl_borrow_loaned_message, rcl_publish_loaned_message,
# rcl_take_loaned_message) and serializes the image into a sized loan;
# rmw_cyclonedds_cpp copies through loopback UDP (bench/ros2/cyclonedds.xml).
# Cyclone DDS with iceoryx shared memory is not measured: Debian's
# cyclonedds is built without it.
#
# Needs root (a private /dev/shm: unshare -m and a tmpfs of 4 GiB) and a ROS 2
# installation (ZLOAN_ROS2_PREFIX, default: the first of AMENT_PREFIX_PATH,
# else /opt/ros2) with rcl, sensor_msgs and rmw_cyclonedds_cpp. Builds in
# $ZLOAN_BENCH_BUILD (default build-bench/, Release, as bench/run.sh) and
# writes to $ZLOAN_BENCH_OUT/ros2 (default bench/results/ros2/):
#   ros2.tsv     one line per run: repeat case rmw path sent received
#                p50_us p90_us p99_us max_us mean_us
#   table.txt    bench/ros2/report.sh's table: per case and middleware, the
#                median over the repeats of each figure, and its ratio to
#                rmw_cyclonedds_cpp's
#   logs/        the build's and every run's stderr
# ROS domains (and so zloan domains) 229, 230 and 231, one per case.
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
    exec unshare -m --propagation private sh -c \
        'mount -t tmpfs -o size=4g tmpfs /dev/shm && exec "$0"' "$0"
fi

# ---- inside the private /dev/shm ----------------------------------------------
# librmw_implementation loads librmw_<name>.so along LD_LIBRARY_PATH; the
# listener and talker find zloan_bench_msgs' type supports there too.
export LD_LIBRARY_PATH="$BUILD/rmw_zloan:$BUILD/bench/ros2:$PREFIX/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export AMENT_PREFIX_PATH="$PREFIX${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}"
export CYCLONEDDS_URI="file://$ROOT/bench/ros2/cyclonedds.xml"
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
image 200 50000 231"
FAILED=""
run_one() {
    local repeat=$1 kind=$2 messages=$3 period=$4 domain=$5 rmw=$6 line
    log "repeat $repeat: $kind on $rmw"
    if line=$(RMW_IMPLEMENTATION=$rmw ROS_DOMAIN_ID=$domain timeout 120 \
        "$PROGRAM" "$kind" "$messages" "$period" 2>>"$OUT/logs/$kind-$rmw.log"); then
        printf '%s\t%s\n' "$repeat" "$line" >>"$TSV"
    else
        FAILED="$FAILED $kind/$rmw/$repeat"
        log "failed: $kind on $rmw (repeat $repeat; $OUT/logs/$kind-$rmw.log)"
    fi
}
for repeat in $(seq "$REPEATS"); do
    if [ $((repeat % 2)) = 1 ]; then order="rmw_zloan rmw_cyclonedds_cpp"; else order="rmw_cyclonedds_cpp rmw_zloan"; fi
    while read -r kind messages period domain; do
        for rmw in $order; do
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
