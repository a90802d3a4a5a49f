#!/usr/bin/env bash
# Installs the Debian packages zloan's build and tests need, if missing.
# Usage: scripts/deps.sh [extra-package ...]
set -euo pipefail
packages=(cmake make gcc clang libclang-rt-14-dev pkg-config procps util-linux spin valgrind strace
  python3-dev python3-numpy python3-pytest "$@")
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
echo "deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "deps: not root; run: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
