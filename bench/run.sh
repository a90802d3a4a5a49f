#!/usr/bin/env bash
# zloan benchmarks beside iceoryx 2.0 and Cyclone DDS 0.10, in one run.
#
#   bench/run.sh                 # everything: longer than the hot part alone
#   ZLOAN_BENCH_SECONDS=1 bench/run.sh   # shorter windows per figure
#   ZLOAN_BENCH_ONLY=mix bench/run.sh    # only the size mix, memory, before/after
#   ZLOAN_BENCH_ONLY=hot bench/run.sh    # only the hot path's figures (issue 21), ~6 min
#                                        # (5m52s on an idle 2-core machine)
#   ZLOAN_BENCH_ONLY=flat bench/run.sh   # only the flatness figures of the hot path, ~2 min
#   ZLOAN_BENCH_REPEATS=5 bench/run.sh   # runs per figure of the hot path (default 3)
#   ZLOAN_BENCH_ONLY=batch bench/run.sh  # only 64 B throughput, unbatched and batched, ~2 min
#                                        # per repeat
#   ZLOAN_BENCH_SHM=huge=never bench/run.sh  # the private /dev/shm's huge= option (below)
#
# Run as root with unshare(1), everything (iox-roudi included, so both
# systems share the mount) runs in a private mount namespace whose /dev/shm
# is a fresh tmpfs mounted with ZLOAN_BENCH_SHM (default huge=advise: zloan
# advises its segments of 2 MiB or more MADV_HUGEPAGE, so large messages get
# 2 MiB pages; iceoryx 2.0 does not advise, so it gets none either way). It
# also keeps other users of the machine's /dev/shm out of the figures. It
# does not isolate iceoryx entirely: RouDi's lock and socket
# (/tmp/iox-unique-roudi.lock, /tmp/roudi) are in the machine's /tmp, so a
# RouDi already running elsewhere on the machine stops this one starting.
# ZLOAN_BENCH_SHM=shared, or no root or unshare, runs in the machine's
# /dev/shm, as it is mounted; the output says which (shm.txt).
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
#   hot.tsv        the hot path's figures, zloan beside iceoryx, systems
#                  interleaved (REPEATS runs of each latency and throughput
#                  figure): instructions per in-process round and per call
#                  (loan, publish, take, return) for a fixed 64 B type, a
#                  sized type and a lossless subscription (callgrind, N and
#                  2N rounds, the difference over N: the inclusive cost of
#                  main and of each public function, and every function's
#                  self cost, where a round goes); transport latency at
#                  64 B and 16 MiB (busy-poll, pinned) and their ratio, the
#                  flatness, beside 64 B paced to a 16 MiB round's length
#                  and 16 MiB filled with non-temporal stores, which take
#                  the fill's and the long wait's effects out
#                  (bench/harness.c); 64 B messages received per second, one publisher
#                  process and one subscription process, keep-last and
#                  lossless, zloan with single and batched takes
#                  (ZLOAN_BENCH_TAKE_BATCH, bench/zloan_bench.c) and with
#                  batched publishes (ZLOAN_BENCH_PUBLISH_BATCH: 16 loans
#                  published in one call, alone and with takes of 16;
#                  iceoryx has no batched publish, so its figure is its
#                  one-at-a-time publish); report.sh prints them as ratios.
#                  ZLOAN_BENCH_ONLY=batch runs these throughput figures
#                  alone
#   shm.txt        which /dev/shm the run used, and its mount options
#   logs/          every program's stderr (and callgrind's outputs)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
OUT=${ZLOAN_BENCH_OUT:-$ROOT/bench/results}
BUILD=${ZLOAN_BENCH_BUILD:-$ROOT/build-bench}
WINDOW=${ZLOAN_BENCH_SECONDS:-2}
ONLY=${ZLOAN_BENCH_ONLY:-all}
REPEATS=${ZLOAN_BENCH_REPEATS:-3}
case $ONLY in all | mix | hot | flat | batch) ;; *) echo "bench/run.sh: ZLOAN_BENCH_ONLY=$ONLY: all, mix, hot, flat or batch" >&2; exit 2 ;; esac
# The 64 B rounds' length in the paced flatness runs: about a 16 MiB fill.
PACE_NS=${ZLOAN_BENCH_PACE_NS:-2000000}
SHM=${ZLOAN_BENCH_SHM:-huge=advise}
case $SHM in huge=never | huge=advise | huge=within_size | huge=always | shared) ;;
    *) echo "bench/run.sh: ZLOAN_BENCH_SHM=$SHM: huge=never, huge=advise, huge=within_size, huge=always or shared" >&2; exit 2 ;;
esac
SIZES="64 4096 65536 1048576 4194304 16777216"
# Instruction count: N and 2N rounds. Kept small: under valgrind an iceoryx
# application is slow enough for RouDi to declare it dead after a few
# seconds (20,000 rounds: RouDi "cleaned up" the app, which then hung).
ROUNDS=2000

log() { printf '== %s\n' "$*" >&2; }

# ---- a private /dev/shm ---------------------------------------------------------
# Re-runs this script in a mount namespace of its own with /dev/shm a fresh
# tmpfs (half of RAM at most, allocated as used). ZLOAN_BENCH_SHM_MOUNTED
# tells the second run that it is inside.
if [ "$SHM" != shared ] && [ -z "${ZLOAN_BENCH_SHM_MOUNTED:-}" ]; then
    if [ "$(id -u)" = 0 ] && unshare -m --propagation private true 2>/dev/null; then
        log "running in a private /dev/shm (tmpfs, $SHM)"
        # shellcheck disable=SC2016 # expanded by the inner bash
        exec unshare -m --propagation private bash -c \
            'mount -t tmpfs -o "size=50%,$1" tmpfs /dev/shm && ZLOAN_BENCH_SHM_MOUNTED="$1" exec bash "$2"' \
            run.sh "$SHM" "$0"
    fi
    log "cannot make a private /dev/shm (needs root and unshare): the machine's is used"
fi
SHM_MOUNT=$(awk '$2 == "/dev/shm" { o = $4 } END { print o }' /proc/self/mounts)
if [ -n "${ZLOAN_BENCH_SHM_MOUNTED:-}" ]; then
    SHM_NOTE="/dev/shm: private tmpfs ($SHM_MOUNT), for zloan and iceoryx alike"
else
    SHM_NOTE="/dev/shm: the machine's, shared with its other users (${SHM_MOUNT:-not mounted})"
fi
log "$SHM_NOTE"

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
for program in zloan_bench zloan_bench_floor zloan_bench_round zloan_bench_round_shared \
    iceoryx_bench iceoryx_bench_round cyclone_bench; do
    [ -x "$BIN/$program" ] || { echo "bench/run.sh: $program was not built" >&2; exit 1; }
done

mkdir -p "$OUT/logs"
echo "$SHM_NOTE" >"$OUT/shm.txt"
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
# Monitoring off: with it on, RouDi removes a benchmark process that was not
# scheduled for 1.5 s (a loaded machine) and that process then aborts with
# POPO__CHUNK_SENDER_INVALID_CHUNK_TO_SEND_FROM_USER (bench/iceoryx_bench.c).
iox-roudi -c "$ROOT/bench/roudi.toml" -m off -l warning >"$OUT/logs/roudi.log" 2>&1 &
ROUDI_PID=$!
for _ in $(seq 100); do
    grep -q "RouDi is ready" "$OUT/logs/roudi.log" 2>/dev/null && break
    kill -0 "$ROUDI_PID" 2>/dev/null || { cat "$OUT/logs/roudi.log"; exit 1; }
    sleep 0.1
done

export CYCLONEDDS_URI="file://$ROOT/bench/cyclonedds.xml"

# Runs one program; its result lines go to the TSV (run_into: to the file
# given), its stderr to a log. A failure is reported (and listed at the end)
# but does not stop the run.
FAILED=""
run() { run_into "$TSV" "$@"; }
run_into() {
    local into=$1 name=$2
    shift 2
    log "$name $*"
    if ! timeout 300 "$@" >>"$into" 2>>"$OUT/logs/$name.log"; then
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
if [ "$ONLY" = all ] || [ "$ONLY" = mix ]; then
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
        for _ in 1 2; do # alternating, so that a slow moment hits both
            runmix zloan-before "$BEFORE/build/bench/zloan_bench" latency "$size" busy "$WINDOW"
            runmix zloan-now "$BIN/zloan_bench" latency "$size" busy "$WINDOW"
        done
    done
else
    FAILED="$FAILED
  building $BEFORE_COMMIT (see $OUT/logs/before-build.log)"
fi
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

fi

# ---- the hot path: instructions, flatness, throughput (hot.tsv) -------------------
HOT=$OUT/hot.tsv
: >"$HOT"
# Inclusive instructions of each function named, from one callgrind output
# file (the first line naming the function: callgrind_annotate sorts them).
inclusive_costs() { # file function... -> one count per function, "-" when absent
    local file=$1
    shift
    callgrind_annotate --inclusive=yes --threshold=100 "$file" 2>/dev/null | awk -v names="$*" '
        BEGIN { n = split(names, name, " ") }
        { for (i = 2; i <= NF; i++) if (match($i, /:[A-Za-z0-9_]+$/)) {
              f = substr($i, RSTART + 1); if (!(f in cost)) { c = $1; gsub(",", "", c); cost[f] = c } } }
        END { for (k = 1; k <= n; k++) printf "%s ", (name[k] in cost) ? cost[name[k]] : "-"; print "" }'
}
# Self (exclusive) instructions per round of every function, from the
# outputs of the N and 2N rounds runs: "function" lines, where they go.
self_costs() { # system mode file_n file_2n
    local file
    for file in "$3" "$4"; do
        callgrind_annotate --threshold=100 "$file" 2>/dev/null | awk '
            /^ *[0-9,]+ \( *[0-9.]+%\)  / && !/PROGRAM TOTALS/ {
                c = $1; gsub(",", "", c); name = $0
                sub(/^ *[0-9,]+ \( *[0-9.]+%\)  /, "", name); sub(/ \[[^]]*\]$/, "", name)
                sub(/^[^:]*:/, "", name); print c "\t" name }'
        echo "--"
    done | awk -F'\t' -v sys="$1" -v mode="$2" -v rounds="$ROUNDS" '
        $0 == "--" { part++; next }
        part == 0 { a[$2] += $1 } part == 1 { b[$2] += $1; seen[$2] = 1 }
        END { for (f in seen) { d = (b[f] - a[f]) / rounds
                  if (d >= 1) printf "function\t%s\t%s\t%s\t%.0f\n", sys, mode, f, d } }' >>"$HOT"
}
# count_round <system> <mode> <program> <loan> <publish> <take> <return>: runs the
# round program with N and 2N rounds and writes, per round, the instructions
# of main (the round and its loop), of the four calls and (self_costs) of
# every function.
count_round() {
    local system=$1 mode=$2 program=$3 rounds file
    shift 3
    local -a counts=()
    for rounds in "$ROUNDS" $((2 * ROUNDS)); do
        file=$OUT/logs/callgrind-$system-$mode-$rounds
        log "callgrind $program $rounds $mode"
        # 120 s: the program is done in far less; iceoryx's exit sometimes
        # hangs under valgrind (bench/iceoryx_round.c), and the rounds,
        # printed before, still count.
        # One output per thread: $file.out-01 is the main thread's, which
        # runs the rounds (zloan's liveness monitor and iceoryx's keep-alive
        # threads wake by the clock, so their counts differ between runs).
        timeout 120 valgrind --tool=callgrind --separate-threads=yes \
            --callgrind-out-file="$file.out" "$program" "$rounds" "$mode" >"$file.log" 2>&1 || true
        if ! grep -q "^rounds $rounds mode $mode" "$file.log"; then
            echo "bench/run.sh: callgrind of $program $rounds $mode failed; see $file.log" >&2
            FAILED="$FAILED
  callgrind $program $rounds $mode"
            return 0
        fi
        counts+=("$(inclusive_costs "$file.out-01" main "$@")")
    done
    awk -v sys="$system" -v mode="$mode" -v rounds="$ROUNDS" -v a="${counts[0]}" -v b="${counts[1]}" '
        BEGIN { split("round loan publish take return", op, " "); split(a, x, " "); split(b, y, " ")
                for (k = 1; k <= 5; k++)
                    printf "instructions\t%s\t%s\t%s\t%s\n", sys, mode, op[k],
                        (x[k] == "-" || y[k] == "-") ? "-" : sprintf("%.0f", (y[k] - x[k]) / rounds) }' >>"$HOT"
    self_costs "$system" "$mode" "$OUT/logs/callgrind-$system-$mode-$ROUNDS.out-01" \
        "$OUT/logs/callgrind-$system-$mode-$((2 * ROUNDS)).out-01"
}
runhot() { run_into "$HOT" "$@"; }
# One run of each 64 B throughput figure, systems interleaved: zloan one
# message per call, with batched takes, with batched publishes (16 per
# zl_publisher_publish_loans) alone and with batched takes, and iceoryx
# (which has no batched publish).
throughput_runs() {
    local variant
    for variant in throughput lossless; do
        runhot zloan "$BIN/zloan_bench" "$variant" 64 1 "$WINDOW"
        runhot iceoryx "$BIN/iceoryx_bench" "$variant" 64 1 "$WINDOW"
        ZLOAN_BENCH_TAKE_BATCH=8 runhot zloan "$BIN/zloan_bench" "$variant" 64 1 "$WINDOW"
        ZLOAN_BENCH_PUBLISH_BATCH=16 runhot zloan "$BIN/zloan_bench" "$variant" 64 1 "$WINDOW"
        ZLOAN_BENCH_PUBLISH_BATCH=16 ZLOAN_BENCH_TAKE_BATCH=16 \
            runhot zloan "$BIN/zloan_bench" "$variant" 64 1 "$WINDOW"
    done
}
if [ "$ONLY" = all ] || [ "$ONLY" = hot ]; then
    ZLOAN_OPS="zl_publisher_loan zl_publisher_publish_loan zl_subscription_take_loan zl_subscription_return_loan"
    ZLOAN_SIZED_OPS="zl_publisher_loan_sized zl_publisher_publish_loan_sized zl_subscription_take_loan zl_subscription_return_loan"
    ICEORYX_OPS="iox_pub_loan_aligned_chunk iox_pub_publish_chunk iox_sub_take_chunk iox_sub_release_chunk"
    # shellcheck disable=SC2086
    {
        count_round zloan fixed "$BIN/zloan_bench_round" $ZLOAN_OPS
        # The same round against libzloan.so, as applications link it.
        count_round zloan.so fixed "$BIN/zloan_bench_round_shared" $ZLOAN_OPS
        count_round iceoryx fixed "$BIN/iceoryx_bench_round" $ICEORYX_OPS
        count_round zloan sized "$BIN/zloan_bench_round" $ZLOAN_SIZED_OPS
        count_round zloan lossless "$BIN/zloan_bench_round" $ZLOAN_OPS
        count_round iceoryx lossless "$BIN/iceoryx_bench_round" $ICEORYX_OPS
    }
fi
if [ "$ONLY" = all ] || [ "$ONLY" = hot ] || [ "$ONLY" = flat ]; then
    for _ in $(seq "$REPEATS"); do
        for size in 64 16777216; do
            runhot zloan "$BIN/zloan_bench" latency "$size" busy "$WINDOW"
            runhot iceoryx "$BIN/iceoryx_bench" latency "$size" busy "$WINDOW"
        done
        for system in zloan iceoryx; do
            ZLOAN_BENCH_PACE_NS=$PACE_NS runhot "$system" "$BIN/${system}_bench" latency 64 busy "$WINDOW"
            ZLOAN_BENCH_FILL=stream runhot "$system" "$BIN/${system}_bench" latency 16777216 busy "$WINDOW"
        done
        [ "$ONLY" != flat ] || continue
        throughput_runs
    done
fi
if [ "$ONLY" = batch ]; then
    for _ in $(seq "$REPEATS"); do throughput_runs; done
fi

stop_roudi

# ---- report -----------------------------------------------------------------------
if [ "$ONLY" != mix ]; then
    "$ROOT/bench/report.sh" "$OUT" "$(date -u +%Y-%m-%dT%H:%M:%SZ)"
else
    : >"$OUT/table.txt"
fi
if [ "$ONLY" = all ] || [ "$ONLY" = mix ]; then {
    echo
    echo "random size mix, 1 KiB..16 MiB (transport one-way latency, ns)"
    awk -F'\t' '$1 == "latency" && $4 == 0 && $5 == "transport" {
        printf "  %-10s %-8s p50 %9s  p90 %9s  p99 %9s\n", $2, $3, $7, $8, $9 }' "$MIX"
    echo "shared memory reserved for the mix (bytes; zloan: its two pools, ping's and pong's, at their"
    echo "most, in the run that reserved most; iceoryx: every mempool of bench/roudi.toml)"
    # A run's memory lines come before its latency lines: sum them per run,
    # keep the largest run (not the sum over busy and blocking runs).
    awk -F'\t' '$1 == "memory" && $3 == "mix" { run[$2] += $4 }
        $1 == "latency" && $4 == 0 && $5 == "transport" { if (run[$2] > most[$2]) most[$2] = run[$2]; run[$2] = 0 }
        END { for (s in run) if (run[s] > most[s]) most[s] = run[s]
              for (s in most) printf "  %-10s %14d\n", s, most[s] }' "$MIX"
    echo "previous design against this one, same run (busy, transport p50, ns; ratio now/before)"
    awk -F'\t' '$1 == "latency" && $5 == "transport" && ($2 == "zloan-before" || $2 == "zloan-now") {
            sum[$2, $4] += $7; n[$2, $4]++; sizes[$4] = 1 }
        END { for (z in sizes) { b = sum["zloan-before", z] / n["zloan-before", z]
                                 a = sum["zloan-now", z] / n["zloan-now", z]
                                 printf "  %9d B  before %9.0f  now %9.0f  ratio %.2f\n", z, b, a, a / b } }' "$MIX"
} | tee -a "$OUT/table.txt"; fi
if [ -n "$FAILED" ]; then
    echo "failed (no figures):$FAILED" | tee -a "$OUT/table.txt" >&2
    exit 1
fi
