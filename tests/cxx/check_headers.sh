#!/bin/sh
# cxx_headers: every public header compiles as C++ (C++17 and C++20, g++ and
# clang++, -Wall -Wextra -Wpedantic -Werror; each alone too, with g++
# -std=c++17), every public macro is used by headers.cpp, and headers.cpp,
# linked with the library and with a C twin (types_c.c), runs: a descriptor
# made by ZL_TYPE_PLAIN in C++ equals the one made in C.
# Usage: check_headers.sh SOURCE_DIR STATIC_LIBRARY
set -eu
source_dir=$1
library=$2
here=$source_dir/tests/cxx
include=$source_dir/include
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
flags="-Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wold-style-cast -Wzero-as-null-pointer-constant -Werror"
status=0

# Every macro a public header defines (but its include guard) must be named
# in headers.cpp, so that a new macro is compiled as C++ too.
for name in $(sed -n 's/^#define \(ZL[A-Z0-9_]*\).*/\1/p' "$include"/zloan/*.h "$include"/zloan/*.hpp |
              grep -v '^ZLOAN_.*_H\(PP\)\{0,1\}$' | sort -u); do
  case $name in ZLOAN_PLAIN_MESSAGE) file=$here/layer.cpp ;; *) file=$here/headers.cpp ;; esac
  if ! grep -qw "$name" "$file"; then
    echo "cxx_headers: macro $name is not used by $(basename "$file")"
    status=1
  fi
done

for pair in g++:gcc clang++:clang; do
  cxx=${pair%%:*}
  cc=${pair#*:}
  if ! command -v "$cxx" >/dev/null || ! command -v "$cc" >/dev/null; then
    echo "cxx_headers: $cxx or $cc is missing (scripts/deps.sh installs them)"
    exit 1
  fi
  "$cc" -std=c11 -Wall -Wextra -Werror -I"$include" -c "$here/types_c.c" -o "$work/types_c.o"
  for std in c++17 c++20; do
    # Each header alone, once (the first compiler and standard): it includes
    # what it needs. (headers.cpp below includes them all in every setting.)
    if [ "$cxx$std" = g++c++17 ]; then
      for header in "$include"/zloan/*.h "$include"/zloan/*.hpp; do
        printf '#include <zloan/%s>\n' "$(basename "$header")" >"$work/one.cpp"
        if ! "$cxx" -std=$std $flags -I"$include" -fsyntax-only "$work/one.cpp"; then
          echo "cxx_headers: $cxx -std=$std: $(basename "$header") does not compile alone"
          status=1
        fi
      done
    fi
    if "$cxx" -std=$std $flags -I"$include" "$here/headers.cpp" "$work/types_c.o" "$library" \
         -pthread -o "$work/headers"; then
      if "$work/headers"; then
        echo "cxx_headers: $cxx -std=$std: ok"
      else
        echo "cxx_headers: $cxx -std=$std: headers.cpp failed"
        status=1
      fi
    else
      echo "cxx_headers: $cxx -std=$std: headers.cpp does not compile"
      status=1
    fi
  done
done
exit $status
