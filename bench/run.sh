#!/usr/bin/env bash
# zloan benchmarks beside iceoryx 2.0 and Cyclone DDS 0.10, in one run.
#
#   bench/run.sh                 # everything, about 5 minutes on 2 cores
#   ZLOAN_BENCH_SECONDS=1 bench/run.sh   # shorter windows per figure
#   ZLOAN_BENCH_ONLY=mix bench/run.sh    # only the size mix, memory, before/after
#
# Installs the peers from Debian when missing (apt-get; needs root), builds
# zloan and the benchmark programs (Release) in build-bench/, starts iox-roudi
# with bench/roudi.toml (mempools up to 16 MiB) and stops it by its pid,
# runs every program through the same harness (bench/harness.c), and writes
# to bench/results/ (or $ZLOAN_BENCH_OUT):
#   results.tsv    the raw result lines
#   results.json   the same as JSON
#   table.txt      the table printed at the end
#   latency.png    one-way latency against payload size, log-log
#   mix.tsv        a random mix of sizes (1 KiB..16 MiB) for zloan and
#                  iceoryx, the shared memory each reserved for it, and 64 B
#                  and 4 MiB latency of the previous design (the commit
#                  before pools grew, built here: ZLOAN_BEFORE_COMMIT) beside
#                  this one; its tables end table.txt
#   logs/          every program's stderr
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${ZLOAN_BENCH_OUT:-$ROOT/bench/results}
BUILD=${ZLOAN_BENCH_BUILD:-$ROOT/build-bench}
WINDOW=${ZLOAN_BENCH_SECONDS:-2}
ONLY=${ZLOAN_BENCH_ONLY:-all}
SIZES="64 4096 65536 1048576 4194304 16777216"
# Instruction count: N and 2N rounds. Kept small: under valgrind an iceoryx
# application is slow enough for RouDi to declare it dead after a few
# seconds (20,000 rounds: RouDi "cleaned up" the app, which then hung).
ROUNDS=2000

log() { printf '== %s\n' "$*" >&2; }

# ---- packages ---------------------------------------------------------------
PACKAGES="cmake gcc make iceoryx libiceoryx-binding-c-dev cyclonedds-dev cyclonedds-tools
          gnuplot-nox valgrind gawk"
missing=""
for p in $PACKAGES; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
    log "installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # shellcheck disable=SC2086
    apt-get install -y -qq -o DPkg::Lock::Timeout=600 $missing >/dev/null
fi

# ---- build ------------------------------------------------------------------
mkdir -p "$OUT/logs"
log "building in $BUILD"
cmake -S "$ROOT" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
    -DZLOAN_BUILD_EXAMPLES=OFF >"$OUT/logs/cmake.log" 2>&1 || { cat "$OUT/logs/cmake.log"; exit 1; }
cmake --build "$BUILD" -j2 >"$OUT/logs/build.log" 2>&1 || { cat "$OUT/logs/build.log"; exit 1; }
BIN=$BUILD/bench
for program in zloan_bench zloan_bench_floor zloan_bench_round iceoryx_bench iceoryx_bench_round \
    cyclone_bench; do
    [ -x "$BIN/$program" ] || { echo "bench/run.sh: $program was not built" >&2; exit 1; }
done

mkdir -p "$OUT/logs"
TSV=$OUT/results.tsv
: >"$TSV"

# ---- iox-roudi ----------------------------------------------------------------
ROUDI_PID=""
stop_roudi() {
    if [ -n "$ROUDI_PID" ]; then
        kill -TERM "$ROUDI_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$ROUDI_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$ROUDI_PID" 2>/dev/null || true
        wait "$ROUDI_PID" 2>/dev/null || true
        ROUDI_PID=""
    fi
}
trap stop_roudi EXIT
log "starting iox-roudi"
iox-roudi -c "$ROOT/bench/roudi.toml" -l warning >"$OUT/logs/roudi.log" 2>&1 &
ROUDI_PID=$!
for _ in $(seq 100); do
    grep -q "RouDi is ready" "$OUT/logs/roudi.log" 2>/dev/null && break
    kill -0 "$ROUDI_PID" 2>/dev/null || { cat "$OUT/logs/roudi.log"; exit 1; }
    sleep 0.1
done

export CYCLONEDDS_URI="file://$ROOT/bench/cyclonedds.xml"

# Runs one program; its result lines go to the TSV, its stderr to a log. A
# failure is reported (and listed at the end) but does not stop the run.
FAILED=""
run() {
    local name=$1
    shift
    log "$name $*"
    if ! timeout 300 "$@" >>"$TSV" 2>>"$OUT/logs/$name.log"; then
        echo "bench/run.sh: '$*' failed; see $OUT/logs/$name.log" >&2
        tail -3 "$OUT/logs/$name.log" >&2
        FAILED="$FAILED
  $*"
    fi
}

# ---- latency and floors -------------------------------------------------------
if [ "$ONLY" = all ]; then
run floor "$BIN/zloan_bench_floor" cacheline "$WINDOW"
run floor "$BIN/zloan_bench_floor" futex "$WINDOW"
for size in $SIZES; do
    run zloan "$BIN/zloan_bench" latency "$size" busy "$WINDOW"
    run zloan "$BIN/zloan_bench" latency "$size" blocking "$WINDOW"
    run iceoryx "$BIN/iceoryx_bench" latency "$size" busy "$WINDOW"
    run iceoryx "$BIN/iceoryx_bench" latency "$size" blocking "$WINDOW"
    run cyclonedds "$BIN/cyclone_bench" latency "$size" busy "$WINDOW"
    run cyclonedds "$BIN/cyclone_bench" latency "$size" blocking "$WINDOW"
    run uds "$BIN/zloan_bench_floor" latency "$size" blocking "$WINDOW"
done
fi

# ---- a random mix of sizes, shared memory, the previous design -------------------
MIX=$OUT/mix.tsv
: >"$MIX"
runmix() { # runmix <label> <program> <args...>: result lines to mix.tsv, system renamed
    local label=$1
    shift
    log "$label $*"
    if ! timeout 300 "$@" 2>>"$OUT/logs/$label.log" |
        awk -F'\t' -v OFS='\t' -v label="$label" '{$2 = label; print}' >>"$MIX"; then
        FAILED="$FAILED
  $*"
    fi
}
for variant in busy blocking; do
    runmix zloan "$BIN/zloan_bench" latency mix "$variant" "$WINDOW"
    runmix iceoryx "$BIN/iceoryx_bench" latency mix "$variant" "$WINDOW"
done
# iceoryx reserves every mempool of bench/roudi.toml when RouDi starts.
awk '/size =/ {size = $3} /count =/ {total += size * $3} END {printf "memory\ticeoryx\tmix\t%d\t1\n", total}' \
    "$ROOT/bench/roudi.toml" >>"$MIX"
BEFORE_COMMIT=${ZLOAN_BEFORE_COMMIT:-facbd7f3a51ed90f33e6fce2f31b1c072d1b2723}
BEFORE=$BUILD/before
log "building the previous design ($BEFORE_COMMIT) in $BEFORE"
rm -rf "$BEFORE/src" && mkdir -p "$BEFORE/src"
if git -C "$ROOT" archive "$BEFORE_COMMIT" | tar -x -C "$BEFORE/src" &&
    cmake -S "$BEFORE/src" -B "$BEFORE/build" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
        -DZLOAN_BUILD_EXAMPLES=OFF >"$OUT/logs/before-build.log" 2>&1 &&
    cmake --build "$BEFORE/build" -j2 --target zloan_bench >>"$OUT/logs/before-build.log" 2>&1; then
    for size in 64 4194304; do
        for round in 1 2; do # alternating, so that a slow moment hits both
            runmix zloan-before "$BEFORE/build/bench/zloan_bench" latency "$size" busy "$WINDOW"
            runmix zloan-now "$BIN/zloan_bench" latency "$size" busy "$WINDOW"
        done
    done
else
    FAILED="$FAILED
  building $BEFORE_COMMIT (see $OUT/logs/before-build.log)"
fi

# ---- throughput -----------------------------------------------------------------
if [ "$ONLY" = all ]; then
for size in 64 1048576; do
    for subs in 1 3; do
        run zloan "$BIN/zloan_bench" throughput "$size" "$subs" "$WINDOW"
        run iceoryx "$BIN/iceoryx_bench" throughput "$size" "$subs" "$WINDOW"
        run cyclonedds "$BIN/cyclone_bench" throughput "$size" "$subs" "$WINDOW"
        # Lossless: zloan ZL_LOSSLESS beside iceoryx WAIT_FOR_CONSUMER/BLOCK_PRODUCER.
        run zloan "$BIN/zloan_bench" lossless "$size" "$subs" "$WINDOW"
        run iceoryx "$BIN/iceoryx_bench" lossless "$size" "$subs" "$WINDOW"
    done
done

# ---- instructions per round -------------------------------------------------------
instructions() {
    local system=$1 program=$2 a b
    log "callgrind $program"
    timeout 300 valgrind --tool=callgrind --callgrind-out-file=/dev/null "$program" "$ROUNDS" \
        >"$OUT/logs/callgrind-$system-1.log" 2>&1 || true
    timeout 300 valgrind --tool=callgrind --callgrind-out-file=/dev/null "$program" $((2 * ROUNDS)) \
        >"$OUT/logs/callgrind-$system-2.log" 2>&1 || true
    a=$(awk '/Collected :/ {print $NF}' "$OUT/logs/callgrind-$system-1.log")
    b=$(awk '/Collected :/ {print $NF}' "$OUT/logs/callgrind-$system-2.log")
    if ! grep -q "^rounds" "$OUT/logs/callgrind-$system-1.log" ||
        ! grep -q "^rounds" "$OUT/logs/callgrind-$system-2.log" || [ -z "$a" ] || [ -z "$b" ]; then
        echo "bench/run.sh: callgrind of $program failed; see $OUT/logs/callgrind-$system-*.log" >&2
        FAILED="$FAILED
  callgrind $program"
        return 0
    fi
    printf 'instructions\t%s\t%s\n' "$system" "$(((b - a) / ROUNDS))" >>"$TSV"
}
instructions zloan "$BIN/zloan_bench_round"
instructions iceoryx "$BIN/iceoryx_bench_round"
fi

stop_roudi

# ---- report -----------------------------------------------------------------------
if [ "$ONLY" = all ]; then
    "$ROOT/bench/report.sh" "$OUT" "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
else
    : >"$OUT/table.txt"
fi
{
    echo
    echo "random size mix, 1 KiB..16 MiB (transport one-way latency, ns)"
    awk -F'\t' '$1 == "latency" && $4 == 0 && $5 == "transport" {
        printf "  %-10s %-8s p50 %9s  p90 %9s  p99 %9s\n", $2, $3, $7, $8, $9 }' "$MIX"
    echo "shared memory reserved for the mix (bytes; zloan: the most each of its two pools held)"
    awk -F'\t' '$1 == "memory" { bytes[$2] += $4 } END { for (s in bytes) printf "  %-10s %14d\n", s, bytes[s] }' "$MIX"
    echo "previous design against this one, same run (busy, transport p50, ns; ratio now/before)"
    awk -F'\t' '$1 == "latency" && $5 == "transport" && ($2 == "zloan-before" || $2 == "zloan-now") {
            sum[$2, $4] += $7; n[$2, $4]++; sizes[$4] = 1 }
        END { for (z in sizes) { b = sum["zloan-before", z] / n["zloan-before", z]
                                 a = sum["zloan-now", z] / n["zloan-now", z]
                                 printf "  %9d B  before %9.0f  now %9.0f  ratio %.2f\n", z, b, a, a / b } }' "$MIX"
} | tee -a "$OUT/table.txt"
if [ -n "$FAILED" ]; then
    echo "failed (no figures):$FAILED" | tee -a "$OUT/table.txt" >&2
    exit 1
fi
