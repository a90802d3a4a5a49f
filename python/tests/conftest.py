"""Shared by the zloan Python tests: unique topics, the message type the C
test peer (tests/peer.c) exchanges, and where memory lies (/proc/self/maps)."""
import itertools
import os
import re

import numpy as np
import pytest

import zloan

_counter = itertools.count()

# Under AddressSanitizer the interpreter runs with the sanitizer's shared
# runtime preloaded (python/CMakeLists.txt). The C programs the tests start
# bring their own (clang links it statically, and two runtimes in one
# process abort), so the preload is not passed on to them; a Python child
# gets it back through python_child_env().
_SANITIZER_PRELOAD = os.environ.pop("LD_PRELOAD", None)


def python_child_env():
    """The environment for a Python child process: this one's, preload included."""
    env = dict(os.environ)
    if _SANITIZER_PRELOAD:
        env["LD_PRELOAD"] = _SANITIZER_PRELOAD
    return env

# tests/peer.h: typedef struct { uint64_t tag, sequence, words[30]; } test_msg;
# with ZL_TYPE_PLAIN_LAYOUT(test_msg, "u64 tag;u64 seq;u64 w[30]").
PEER_MSG_DTYPE = np.dtype([("tag", "<u8"), ("sequence", "<u8"), ("words", "<u8", (30,))], align=True)
PEER_MSG_LAYOUT = "u64 tag;u64 seq;u64 w[30]"


def peer_msg_type():
    return zloan.Type("test_msg", PEER_MSG_DTYPE, layout=PEER_MSG_LAYOUT)


def peer_msg_words(tag, sequence):
    """tests/peer.h test_msg_word() for i in 0..29, with uint64 wrap-around."""
    with np.errstate(over="ignore"):
        i = np.arange(30, dtype=np.uint64)
        x = np.uint64(tag) * np.uint64(0x9E3779B97F4A7C15) ^ (np.uint64(sequence) + i) * np.uint64(
            0xBF58476D1CE4E5B9)
        return x ^ (x >> np.uint64(31))


def fill_peer_msg(record, tag, sequence):
    record["tag"] = tag
    record["sequence"] = sequence
    record["words"] = peer_msg_words(tag, sequence)


def shm_mapping_of(address):
    """The /dev/shm file whose mapping in this process holds address, or None."""
    with open("/proc/self/maps") as maps:
        for line in maps:
            fields = line.split()
            start, end = (int(x, 16) for x in fields[0].split("-"))
            if start <= address < end:
                return fields[5] if len(fields) > 5 else ""
    return None


def is_pool_segment(path):
    """Whether path names a segment of a publisher's pool: the pool's name
    (zl.<uid>.<domain>.<topic>:p<id>) then .<serial> (docs/design.md, 2.1)."""
    name = os.path.basename(path or "")
    return name.startswith("zl.") and re.search(r":p[0-9a-f]+\.[0-9a-f]+$", name) is not None


def address_of(array):
    return array.__array_interface__["data"][0]


@pytest.fixture
def topic(request):
    name = "".join(c if c.isalnum() else "_" for c in request.node.name)
    return f"/pytest/{name}_{os.getpid()}_{next(_counter)}"


@pytest.fixture
def ctx():
    with zloan.Context() as context:
        yield context


@pytest.fixture
def peer():
    path = os.environ.get("ZLOAN_TEST_PEER")
    if not path:
        pytest.fail("ZLOAN_TEST_PEER is not set (CTest sets it to the zloan_test_peer program)")
    return path
