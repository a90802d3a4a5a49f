#!/bin/sh
# Long crash soak: the chaos test for 10,000 iterations (kill -9 / exit() /
# return from main of a random publisher or subscription, then recovery
# checks), then 10,000 leftover cycles (kill -9 of every participant, then a
# start that must remove everything they left).
#
#   tests/crash/soak.sh [BUILD_DIR=build] [ITERATIONS=10000] [SEED]
#
# Prints the seed (rerun a failure with the same seed: the order of events
# follows it, their timing does not) and exits non-zero on the first failure.
set -eu
build=${1:-build}
iterations=${2:-10000}
seed=${3:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}
shm_before=$(df -k --output=used /dev/shm | tail -1)
start=$(date +%s)
"$build/tests/crash_chaos" "$iterations" "$seed"
"$build/tests/crash_leftovers" "$iterations"
end=$(date +%s)
shm_after=$(df -k --output=used /dev/shm | tail -1)
echo "soak passed: $iterations chaos iterations and $iterations leftover cycles in" \
     "$((end - start)) s; /dev/shm used ${shm_before} KiB before, ${shm_after} KiB after"
