"""Runs one pytest file as one CTest case: exit 77 (CTest: skipped) when the
interpreter lacks pytest or numpy, which scripts/deps.sh installs."""
import sys

try:
    import numpy  # noqa: F401
    import pytest
except ImportError as missing:
    print(f"skipped: {missing} (Debian: python3-numpy python3-pytest)")
    sys.exit(77)

sys.exit(pytest.main(["-q", "-p", "no:cacheprovider", *sys.argv[1:]]))
