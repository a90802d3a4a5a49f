#!/bin/sh
# Model-checks tests/model/rings.pml with spin: generates the verifier, builds
# it with the C compiler and runs an exhaustive safety search (assertions and
# invalid end states, i.e. deadlocks). Fails when spin reports an error or
# could not search the whole state space.
#
#   run_spin.sh MODEL.pml WORKDIR [-DNAME=VALUE ...]
#
# Exit 77 (CTest: skipped) when spin is not installed (Debian: apt-get
# install spin).
set -eu
model=$1
work=$2
shift 2
command -v spin >/dev/null 2>&1 || { echo "spin is not installed (apt-get install spin)"; exit 77; }
cc=${CC_FOR_PAN:-gcc}
mkdir -p "$work"
# A copy beside the verifier: spin -t finds the trail by the model's name.
cp "$model" "$work/model.pml"
cd "$work"
rm -f pan pan.* ./*.trail
model=model.pml
spin -a "$@" "$model"
# -DSAFETY: assertions and end states only (no never claim). -DCOLLAPSE
# compresses state vectors. -w: pan.c is generated code.
"$cc" -O2 -DSAFETY -DCOLLAPSE -w -o pan pan.c
./pan -m10000000 -w26 > pan.out 2>&1 || true
cat pan.out
if ls ./*.trail >/dev/null 2>&1; then
    echo "counterexample:"
    spin "$@" -t -p -g -l "$model" | tail -60
fi
grep -q "errors: 0" pan.out || { echo "FAIL: spin found errors"; exit 1; }
if grep -q "max search depth too small" pan.out; then
    echo "FAIL: search depth too small: the state space was not searched completely"
    exit 1
fi
echo "model check passed"
