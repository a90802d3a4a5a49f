#!/bin/sh
# Installs the build in BUILD_DIR to a temporary prefix and imports the zloan
# module from there with PYTHON, as a user of the installed package would.
set -eu
build_dir=$1
python=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cmake --install "$build_dir" --prefix "$work/prefix" >/dev/null
module=$(find "$work/prefix" -name 'zloan.cpython-*.so')
test -n "$module"
cd "$work" # not the build tree: python -c looks in the working directory first
PYTHONPATH=$(dirname "$module") "$python" -c '
import sys, zloan
assert zloan.__file__.startswith(sys.argv[1]), zloan.__file__
with zloan.Context() as ctx:
    print("imported", zloan.__file__[len(sys.argv[1]):], "domain", ctx.domain_id)
' "$work/prefix"
