#!/usr/bin/env bash
# Installs the Debian packages zloan needs, if missing, quietly: one line says
# what is installed, apt's output goes to a log (shown when apt fails).
# Usage: scripts/deps.sh [--demo] [extra-package ...]
#   --demo   only what building and running the demo needs
#   default  what building and testing needs (scripts/test.sh, CI)
set -euo pipefail
if [ "${1:-}" = --demo ]; then
  shift
  packages=(cmake make gcc libc6-dev "$@")
else
  packages=(cmake make gcc g++ libc6-dev binutils clang libclang-rt-14-dev pkg-config procps util-linux
            doxygen spin valgrind strace python3-dev python3-numpy python3-pytest
            cyclonedds-dev cyclonedds-tools iproute2 "$@")
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "deps: missing ${missing[*]}; run: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
log=${TMPDIR:-/tmp}/zloan-deps.log
echo "deps: installing ${missing[*]} from Debian (log: $log)"
export DEBIAN_FRONTEND=noninteractive
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
     >"$log" 2>&1; then
  tail -n 20 "$log" >&2
  echo "deps: apt-get failed (whole log: $log)" >&2
  exit 1
fi
