#!/usr/bin/env bash
# Builds zloan and runs its tests, with progress: a line per build step and
# per test label, each with its elapsed time, and a summary at the end.
#
# With no options (what CI runs, .ci/run): every build and every test:
#   gcc         warnings as errors; the whole suite with the spin model of
#               the ring protocol (label model) and the net tests of
#               zloan-bridge between two network namespaces (label net, as root);
#   gcc-asan    AddressSanitizer + UndefinedBehaviorSanitizer: the suite again;
#   clang       warnings as errors; the suite with the libFuzzer target (label
#               fuzz, 60 s; the environment variable ZLOAN_FUZZ_TIME changes it);
#   clang-tsan  ThreadSanitizer: the suite again.
#
# For the inner loop, a subset:
#   -b BUILD     only this build (repeatable): gcc, gcc-asan, clang, clang-tsan
#   -L LABEL     only tests with this label: unit, process, crash, python, net, fuzz, model
#   -R PATTERN   only tests whose name matches (a ctest regular expression)
#   -j N         parallel jobs (default: the number of CPUs)
# e.g. scripts/test.sh -b gcc -L unit, or scripts/test.sh -b gcc -R cxx.
# ZLOAN_TEST_QUICK=1 is the same as -b gcc.
set -euo pipefail
cd "$(dirname "$0")/.."

builds=()
label=
pattern=
jobs=$(nproc)
while getopts "b:L:R:j:h" option; do
  case $option in
    b) builds+=("$OPTARG") ;;
    L) label=$OPTARG ;;
    R) pattern=$OPTARG ;;
    j) jobs=$OPTARG ;;
    *) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
  esac
done
if [ ${#builds[@]} -eq 0 ]; then
  if [ "${ZLOAN_TEST_QUICK:-0}" = 1 ]; then
    builds=(gcc)
  else
    builds=(gcc gcc-asan clang clang-tsan)
  fi
fi

options_of() { # build name -> its cmake options
  case $1 in
    gcc) echo "-DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ -DCMAKE_BUILD_TYPE=RelWithDebInfo" ;;
    gcc-asan) echo "-DCMAKE_C_COMPILER=gcc -DCMAKE_CXX_COMPILER=g++ -DCMAKE_BUILD_TYPE=Debug -DZLOAN_SANITIZE=address,undefined" ;;
    clang) echo "-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo -DZLOAN_MODEL=OFF -DZLOAN_NET_TESTS=OFF ${ZLOAN_FUZZ_TIME:+-DZLOAN_FUZZ_TIME=$ZLOAN_FUZZ_TIME}" ;;
    clang-tsan) echo "-DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_BUILD_TYPE=RelWithDebInfo -DZLOAN_SANITIZE=thread" ;;
    *) echo "test: unknown build '$1' (gcc, gcc-asan, clang, clang-tsan)" >&2; return 1 ;;
  esac
}
for b in "${builds[@]}"; do options_of "$b" >/dev/null; done

# The tests run in a /dev/shm of their own: a fresh tmpfs (half of RAM at
# most, allocated as used) in a private mount namespace, when run as root
# with unshare(1). Other users of the machine's /dev/shm (another checkout's
# tests, on the same domains) then neither see ours nor disturb them, and
# nothing the tests leave behind outlives the run. ZLOAN_TEST_SHARED_SHM=1,
# or no root or unshare, runs in the machine's /dev/shm; the line below says
# which.
if [ -z "${ZLOAN_TEST_SHM_MOUNTED:-}" ] && [ "${ZLOAN_TEST_SHARED_SHM:-0}" != 1 ] &&
   [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
  ZLOAN_TEST_SHM_MOUNTED=1 exec unshare -m --propagation private \
    sh -c 'mount -t tmpfs -o size=50%,mode=1777 tmpfs /dev/shm && exec "$0" "$@"' "$PWD/scripts/test.sh" "$@"
fi
if [ -n "${ZLOAN_TEST_SHM_MOUNTED:-}" ]; then
  echo "=== /dev/shm: a private tmpfs for this run"
else
  echo "=== /dev/shm: the machine's (shared with its other users)"
fi

scripts/deps.sh

elapsed() { # seconds -> "1m05s" or "12s"
  local s=$1
  if [ "$s" -ge 60 ]; then printf '%dm%02ds' $((s / 60)) $((s % 60)); else printf '%ds' "$s"; fi
}
all_start=$SECONDS
failed=()
summary=()

# Runs the tests of one build; prints one block per label.
run_tests() { # build
  local build=$1 dir=build/$1 labels ran="" start rc
  if [ -n "$pattern" ] && [ -z "$label" ]; then
    labels=("")
  elif [ -n "$label" ]; then
    labels=("$label")
  else
    # Every label the build has, in this order, each test once (a test with
    # two labels runs with the first).
    labels=()
    for l in unit process crash python net ros2 model fuzz; do
      if (cd "$dir" && ctest -N -L "^$l\$" | grep -q "Total Tests: [1-9]"); then labels+=("$l"); fi
    done
    labels+=(other) # whatever has none of these labels, so that nothing is skipped
  fi
  for l in "${labels[@]}"; do
    local args=(-j"$jobs" --output-on-failure --timeout 900)
    [ -n "$l" ] && [ "$l" != other ] && args+=(-L "^$l\$")
    [ -n "$ran" ] && args+=(-LE "^($ran)\$")
    [ -n "$pattern" ] && args+=(-R "$pattern")
    local count
    count=$(cd "$dir" && ctest -N "${args[@]}" | sed -n 's/^Total Tests: //p')
    if [ "${count:-0}" = 0 ]; then
      echo "--- $build ${l:-tests matching '$pattern'}: no tests"
      if [ -n "$l" ]; then ran=${ran:+$ran|}$l; fi
      continue
    fi
    echo "--- $build ${l:-tests matching '$pattern'}: $count tests"
    start=$SECONDS
    # ctest's own lines, one per test, without the blank lines and the label
    # time summary (the filter never fails, so the status is ctest's).
    if (cd "$dir" && ctest "${args[@]}") 2>&1 |
       { grep -v -e '^$' -e '^Label Time Summary:' -e 'sec\*proc' -e '^Test project' \
                 -e '^Total Test time' || true; }; then
      rc=0
    else
      rc=1
    fi
    local result=passed
    if [ $rc -ne 0 ]; then result=FAILED; failed+=("$build/${l:-$pattern}"); fi
    echo "--- $build ${l:-tests matching '$pattern'}: $result in $(elapsed $((SECONDS - start)))"
    summary+=("$build ${l:-$pattern}: $count tests $result in $(elapsed $((SECONDS - start)))")
    if [ -n "$l" ]; then ran=${ran:+$ran|}$l; fi
  done
}

for build in "${builds[@]}"; do
  echo "=== $build: configure and build (build/$build)"
  start=$SECONDS
  # shellcheck disable=SC2046
  log=build/$build.log
  mkdir -p build
  if ! cmake -S . -B "build/$build" -DZLOAN_WERROR=ON $(options_of "$build") >"$log" 2>&1 ||
     ! cmake --build "build/$build" -j"$jobs" >>"$log" 2>&1; then
    tail -n 40 "$log"
    echo "=== $build: build FAILED after $(elapsed $((SECONDS - start))) (log: $log)"
    failed+=("$build/build")
    summary+=("$build: build FAILED")
    continue
  fi
  rm -f "$log"
  echo "=== $build: built in $(elapsed $((SECONDS - start)))"
  run_tests "$build"
done

echo "=== summary ($(elapsed $((SECONDS - all_start))) in all)"
printf '    %s\n' "${summary[@]}"
if [ ${#failed[@]} -ne 0 ]; then
  echo "=== FAILED: ${failed[*]}"
  exit 1
fi
echo "=== all passed"
