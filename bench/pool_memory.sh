#!/usr/bin/env bash
# Shared memory reserved by a publisher's pool at creation and after a
# steady state (bench/pool_memory.c), for this design and the previous one
# (the commit before pools grew, built here from git):
#
#   bench/pool_memory.sh [SECONDS]        # default 10
#
# The previous design reserves its whole pool at creation: for a 64 MiB
# type that is about 12.6 GB, so it is measured only with
# ZLOAN_BENCH_BEFORE_64=1 (and enough RAM).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SECONDS_RUN=${1:-10}
BEFORE_COMMIT=${ZLOAN_BEFORE_COMMIT:-facbd7f3a51ed90f33e6fce2f31b1c072d1b2723}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

build() { # build <source dir> <build dir>
    cmake -S "$1" -B "$2" -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
        -DZLOAN_BUILD_EXAMPLES=OFF >/dev/null
    cmake --build "$2" -j2 --target zloan_static >/dev/null
    cc -std=c11 -O2 -I"$1/include" "$ROOT/bench/pool_memory.c" "$2/libzloan.a" -lpthread \
        -o "$2/pool_memory"
}
mkdir -p "$WORK/before"
git -C "$ROOT" archive "$BEFORE_COMMIT" | tar -x -C "$WORK/before"
build "$WORK/before" "$WORK/before-build"
build "$ROOT" "$WORK/now-build"

printf 'design\ttype bytes\tat creation\tafter %ss\n' "$SECONDS_RUN"
for size in 1048576 67108864; do
    if [ "$size" -lt 67108864 ] || [ "${ZLOAN_BENCH_BEFORE_64:-0}" = 1 ]; then
        "$WORK/before-build/pool_memory" "$size" "$SECONDS_RUN" | awk -v OFS='\t' '{print "before", $2, $3, $4}'
    else
        printf 'before\t%s\t(not run: about 12.6 GB; ZLOAN_BENCH_BEFORE_64=1)\n' "$size"
    fi
    "$WORK/now-build/pool_memory" "$size" "$SECONDS_RUN" | awk -v OFS='\t' '{print "now", $2, $3, $4}'
done
