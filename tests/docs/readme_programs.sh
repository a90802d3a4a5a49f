#!/bin/sh
# readme_programs: the programs the README shows (the C twenty lines and the
# C++ example) compile as they are written there, and run.
# Usage: readme_programs.sh SOURCE_DIR STATIC_LIBRARY C_COMPILER CXX_COMPILER
set -eu
root=$1
library=$2
cc=$3
cxx=$4
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
extract() { # fence language -> the first such block of the README
  awk -v fence="\`\`\`$1" '$0 == fence { on = 1; next } on && $0 == "```" { exit } on' "$root/README.md"
}
extract c >"$work/twenty.c"
extract cpp >"$work/camera.cpp"
for f in twenty.c camera.cpp; do
  if [ ! -s "$work/$f" ]; then
    echo "readme_programs: no such block in README.md ($f)"
    exit 1
  fi
done
"$cc" -std=c11 -Wall -Wextra -Werror -I"$root/include" "$work/twenty.c" "$library" -pthread \
  -o "$work/twenty"
"$work/twenty" >"$work/twenty.out"
grep -qx "frame 1" "$work/twenty.out" || { cat "$work/twenty.out"; echo "readme_programs: twenty lines printed no frame"; exit 1; }
"$cxx" -std=c++17 -Wall -Wextra -Werror -I"$root/include" "$work/camera.cpp" "$library" -pthread \
  -o "$work/camera"
"$work/camera" >"$work/camera.out"
grep -qx "frame 3, sequence 3" "$work/camera.out" || { cat "$work/camera.out"; echo "readme_programs: the C++ example printed no third frame"; exit 1; }
echo "readme_programs: both programs of README.md compile and run"
