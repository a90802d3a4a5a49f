#!/usr/bin/env bash
# User memory (issue 13) in numbers: publish-to-completion latency across
# processes for one and two subscriptions, and the instructions of one
# user-memory round (publish from a memfd, take, return, completion notice
# taken) beside one pool-loan round (loan, publish, take, return), counted
# by callgrind in the same run.
#
#   bench/user_memory.sh                   # about a minute on 2 cores
#   ZLOAN_BENCH_ROUNDS=20000 bench/user_memory.sh
#
# Builds the two programs (Release) in build-bench/ (or $ZLOAN_BENCH_BUILD)
# and prints a table; logs go to bench/results/user_memory/ (or
# $ZLOAN_BENCH_OUT/user_memory). Needs valgrind for the instruction counts
# (Debian's valgrind; skipped with a note when missing).
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${ZLOAN_BENCH_BUILD:-$ROOT/build-bench}
OUT=${ZLOAN_BENCH_OUT:-$ROOT/bench/results}/user_memory
ROUNDS=${ZLOAN_BENCH_ROUNDS:-5000}
COUNTED=2000 # callgrind: N and 2N rounds, the difference over N

log() { printf '== %s\n' "$*" >&2; }
mkdir -p "$OUT"
log "building in $BUILD"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
    -DZLOAN_BUILD_EXAMPLES=OFF >"$OUT/cmake.log" 2>&1 || { cat "$OUT/cmake.log"; exit 1; }
cmake --build "$BUILD" -j2 --target zloan_bench_user_round zloan_bench_user_latency \
    >"$OUT/build.log" 2>&1 || { cat "$OUT/build.log"; exit 1; }
BIN=$BUILD/bench

# ---- latency ------------------------------------------------------------------
latency() { # subs -> "median p99 max" in microseconds
    log "latency, $1 subscription(s), $ROUNDS rounds"
    "$BIN/zloan_bench_user_latency" "$1" "$ROUNDS" | tee "$OUT/latency-$1.log" |
        awk '{print $6, $8, $10}'
}
read -r med1 p991 max1 < <(latency 1)
read -r med2 p992 max2 < <(latency 2)

# ---- instructions -------------------------------------------------------------
instructions() { # pool|user -> instructions of one round
    if ! command -v valgrind >/dev/null; then
        echo "-"
        return
    fi
    log "callgrind, $1 rounds"
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$BIN/zloan_bench_user_round" "$1" \
        "$COUNTED" >"$OUT/callgrind-$1-1.log" 2>&1
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$BIN/zloan_bench_user_round" "$1" \
        $((2 * COUNTED)) >"$OUT/callgrind-$1-2.log" 2>&1
    local a b
    a=$(awk '/Collected :/ {print $NF}' "$OUT/callgrind-$1-1.log")
    b=$(awk '/Collected :/ {print $NF}' "$OUT/callgrind-$1-2.log")
    echo $(((b - a) / COUNTED))
}
pool=$(instructions pool)
user=$(instructions user)
wall_pool=$("$BIN/zloan_bench_user_round" pool 200000 | awk '{print $6}')
wall_user=$("$BIN/zloan_bench_user_round" user 200000 | awk '{print $6}')

cat <<TABLE

publish to completion (4 KiB frame in a sealed memfd; each subscription in its
own process sleeps in a wait set, takes, returns; the publisher sleeps in a
wait set until the completion notice; one frame in flight, $ROUNDS rounds)

| subscriptions | median | p99 | max |
| --- | --- | --- | --- |
| 1 | ${med1} µs | ${p991} µs | ${max1} µs |
| 2 | ${med2} µs | ${p992} µs | ${max2} µs |

one round in one process (64-byte message, callgrind: instructions; wall:
mean of 200,000 rounds)

| round | instructions | wall |
| --- | --- | --- |
| pool loan: loan, publish, take, return | ${pool} | ${wall_pool} ns |
| user memory: publish, take, return, completion notice taken | ${user} | ${wall_user} ns |
TABLE
