#!/bin/sh
# The ABI of libzloan.so: it exports the public zl_* functions and nothing
# else (no internal zl__* function, no helper of another name), and every
# function the public headers declare is exported; the version script lists
# exactly the declared functions, one by one (no glob).
# Usage: exports.sh LIBZLOAN_SO INCLUDE_DIR VERSION_SCRIPT
set -eu
lib=$1
include=$2
map=$3
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Defined dynamic symbols, without version suffixes and version nodes (type A).
nm -D --defined-only "$lib" | awk '$2 != "A" { sub(/@.*/, "", $3); print $3 }' | sort -u \
  > "$work/exported"
if [ ! -s "$work/exported" ]; then
  echo "FAIL: nm listed no symbol in $lib" >&2
  exit 1
fi
grep -v '^zl_[a-z0-9]' "$work/exported" > "$work/foreign" || true
grep '^zl__' "$work/exported" >> "$work/foreign" || true
if [ -s "$work/foreign" ]; then
  echo "FAIL: $lib exports symbols outside the public API:" >&2
  cat "$work/foreign" >&2
  exit 1
fi
# Every ZL_API declaration of the public headers.
grep -h '^ZL_API ' "$include"/zloan/*.h | sed 's/(.*//' | awk '{ print $NF }' | tr -d '*' \
  | sort -u > "$work/declared"
missing=$(comm -23 "$work/declared" "$work/exported")
if [ -n "$missing" ]; then
  echo "FAIL: declared in the public headers but not exported: $missing" >&2
  exit 1
fi
# The version script's list: names ending in ';' between global: and local:.
sed -n '/global:/,/local:/p' "$map" | grep -v 'global:\|local:' | tr -d ' ;' | grep -v '^$' \
  | sort -u > "$work/listed"
if grep -q '[*?]' "$work/listed"; then
  echo "FAIL: $map exports by pattern; list each function" >&2
  exit 1
fi
if ! cmp -s "$work/listed" "$work/declared"; then
  echo "FAIL: $map and the ZL_API declarations differ (< listed only, > declared only):" >&2
  diff "$work/listed" "$work/declared" | grep '^[<>]' >&2
  exit 1
fi
echo "abi_exports: $(wc -l < "$work/exported") symbols, all public"
