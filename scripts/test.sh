#!/usr/bin/env bash
# Builds zloan and runs every test:
#   1. gcc, warnings as errors: the whole suite, with the spin model of the
#      ring protocol (label model) and the net tests of zloan-bridge between
#      two network namespaces (label net, as root);
#   2. gcc with AddressSanitizer + UndefinedBehaviorSanitizer: the whole suite again;
#   3. clang, warnings as errors: the whole suite with the libFuzzer target
#      (label fuzz, 60 s; ZLOAN_FUZZ_TIME changes it);
#   4. clang with ThreadSanitizer: the whole suite again.
# Set ZLOAN_TEST_QUICK=1 to run only step 1.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
jobs=$(nproc)
run() { # name, cmake options...
  local name=$1
  shift
  echo "=== $name"
  cmake -S . -B "build/$name" -DZLOAN_WERROR=ON "$@" >/dev/null
  cmake --build "build/$name" -j"$jobs" >/dev/null
  (cd "build/$name" && ctest -j"$jobs" --output-on-failure --timeout 600)
}
run gcc -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo
if [ "${ZLOAN_TEST_QUICK:-0}" = 1 ]; then
  exit 0
fi
run gcc-asan -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=Debug -DZLOAN_SANITIZE=address,undefined
run clang -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DZLOAN_MODEL=OFF -DZLOAN_NET_TESTS=OFF
run clang-tsan -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=RelWithDebInfo -DZLOAN_SANITIZE=thread
