#!/usr/bin/env bash
# Builds zloan and runs the demo: a talker and a listener in two processes
# exchanging 4 MiB camera frames through loans for a few seconds; the
# listener prints frames received, lost, and the median one-way latency.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release -DBUILD_TESTING=OFF >/dev/null
cmake --build build/release -j"$(nproc)" --target image_talker image_listener >/dev/null
build/release/examples/image_listener 10 &
listener=$!
sleep 0.3
build/release/examples/image_talker 3 60
wait "$listener"
