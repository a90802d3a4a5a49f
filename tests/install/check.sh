#!/bin/sh
# Installs the build in BUILD_DIR to a temporary prefix, then builds and runs
# a consumer twice: with CMake's find_package(zloan) and with pkg-config,
# and the C++ example (examples/cpp/) with pkg-config.
set -eu
build_dir=$1
source_dir=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
# The installed programs find the library of their prefix by themselves.
for program in zloan zloan-bridge; do
  if [ -e "$work/prefix/bin/$program" ]; then
    "$work/prefix/bin/$program" --help >/dev/null
  fi
done
cmake -S "$source_dir" -B "$work/consumer" -DCMAKE_PREFIX_PATH="$work/prefix" >/dev/null
cmake --build "$work/consumer" >/dev/null
LD_LIBRARY_PATH="$work/prefix/lib:$work/prefix/lib64:${LD_LIBRARY_PATH:-}" "$work/consumer/consumer"
libdir=$(ls -d "$work/prefix"/lib*/pkgconfig | head -n 1)
export PKG_CONFIG_PATH="$libdir"
cc $(pkg-config --cflags zloan) "$source_dir/consumer.c" -o "$work/consumer-pc" \
  $(pkg-config --libs zloan) -Wl,-rpath,"$(pkg-config --variable=libdir zloan)"
"$work/consumer-pc"
# The C++ layer is installed with the headers: the C++ example builds
# against the installed copy and runs.
if command -v c++ >/dev/null; then
  c++ -std=c++17 $(pkg-config --cflags zloan) "$source_dir/../../examples/cpp/camera.cpp" \
    -o "$work/camera" $(pkg-config --libs zloan) -Wl,-rpath,"$(pkg-config --variable=libdir zloan)"
  ZLOAN_DOMAIN_ID=206 "$work/camera" | grep -q "frame 3, sequence 3"
fi
