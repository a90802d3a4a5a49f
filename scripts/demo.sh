#!/usr/bin/env bash
# Builds zloan and runs the demo: a talker and a listener in two processes
# exchanging 4 MiB camera frames through loans for three seconds; the
# listener prints frames received, lost, and the median one-way latency.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --demo
start=$SECONDS
echo "demo: building the talker and the listener (build/release)"
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF \
  -DZLOAN_BUILD_BENCH=OFF >/dev/null
cmake --build build/release -j"$(nproc)" --target image_talker image_listener >/dev/null
echo "demo: built in $((SECONDS - start)) s; running for 3 s"
build/release/examples/image_listener 10 &
listener=$!
sleep 0.3
build/release/examples/image_talker 3 60
wait "$listener"
