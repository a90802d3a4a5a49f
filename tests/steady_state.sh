#!/bin/sh
# Runs steady_state under strace and fails if its main thread made a system
# call between the "begin" and "end" markers (the other threads, such as the
# liveness monitor, may). Exit 77 (skipped) when strace is missing.
set -eu
program=$1
command -v strace >/dev/null 2>&1 || { echo "strace not installed: skipped"; exit 77; }
trace=$(mktemp)
trap 'rm -f "$trace"' EXIT
strace -f -qq -o "$trace" "$program" 2>/dev/null
main=$(head -n 1 "$trace" | awk '{print $1}')
# A marker's write may be split by strace ("<unfinished ...>" then
# "<... write resumed>") when another thread makes a call meanwhile: the
# resumed half is still the marker, not a call of the steady state.
calls=$(awk -v main="$main" '
    $1 == main && /steady state: begin/ { inside = 1; split_marker = /unfinished/; next }
    $1 == main && split_marker && /<\.\.\. write resumed>/ { split_marker = 0; next }
    $1 == main { split_marker = 0 }
    $1 == main && /steady state: end/   { inside = 0; next }
    inside && $1 == main { n++; print > "/dev/stderr" }
    END { print n + 0 }' "$trace")
echo "system calls of the main thread in the steady state: $calls"
[ "$calls" -eq 0 ]
