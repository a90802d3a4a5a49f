"""C and Python endpoints in separate processes, through the C test peer
(tests/peer.c): the same type description on both sides, zero copy."""
import os
import subprocess
import time

import numpy as np
import pytest

import zloan
from conftest import (PEER_MSG_DTYPE, address_of, fill_peer_msg, peer_msg_type, peer_msg_words,
                      is_pool_segment, shm_mapping_of)


def test_c_publisher_to_python_subscription(ctx, topic, peer):
    count = 50
    with zloan.Subscription(ctx, topic, peer_msg_type(), depth=64, max_loans=16) as sub:
        c_pub = subprocess.Popen([peer, "pub", topic, "3", str(count), "--wait-subs", "1",
                                  "--interval-us", "500", "--linger-ms", "300",
                                  # chunks for the whole queue: depth 64 + 16 loans + 1
                                  "--budget", "81"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        received = []
        deadline = time.monotonic() + 20
        while len(received) < count and time.monotonic() < deadline:
            m = sub.take(timeout=1.0)
            if m is None:
                continue
            with m:
                a = m.array()
                assert a["tag"] == 3
                assert (a["words"][0] == peer_msg_words(3, int(a["sequence"][0]))).all()
                assert m.info.publication_sequence == a["sequence"][0]
                assert not m.info.from_this_process
                # Zero copy: the array lies in the C publisher's pool, mapped here.
                assert is_pool_segment(shm_mapping_of(address_of(a)))
                received.append(int(a["sequence"][0]))
                del a
        out, err = c_pub.communicate(timeout=30)
        assert c_pub.returncode == 0, err
        assert received == list(range(1, count + 1))
        assert sub.stats().lost == 0


def test_python_publisher_to_c_subscription(ctx, topic, peer):
    count = 50
    c_sub = subprocess.Popen([peer, "sub", topic, str(count), "--exact", "--depth", "64"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert c_sub.stdout.readline().strip() == "ready"
        with zloan.Publisher(ctx, topic, peer_msg_type()) as pub:
            deadline = time.monotonic() + 10
            while pub.stats().subscriptions < 1 and time.monotonic() < deadline:
                time.sleep(0.001)
            assert pub.stats().subscriptions == 1
            for sequence in range(1, count + 1):
                with pub.loan() as m:
                    fill_peer_msg(m.array()[0], 7, sequence)
                time.sleep(0.0005)
            out, err = c_sub.communicate(timeout=30)
    finally:
        if c_sub.poll() is None:
            c_sub.kill()
    assert c_sub.returncode == 0, err
    assert out.strip().splitlines()[-1] == f"received {count} lost 0 bad 0"


def test_python_copy_publish_reaches_c(ctx, topic, peer):
    c_sub = subprocess.Popen([peer, "sub", topic, "3", "--exact"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, text=True)
    try:
        assert c_sub.stdout.readline().strip() == "ready"
        with zloan.Publisher(ctx, topic, peer_msg_type()) as pub:
            while pub.stats().subscriptions < 1:
                time.sleep(0.001)
            message = np.zeros((), PEER_MSG_DTYPE)
            for sequence in (1, 2, 3):
                fill_peer_msg(message, 9, sequence)
                pub.publish(message)
            out, err = c_sub.communicate(timeout=30)
    finally:
        if c_sub.poll() is None:
            c_sub.kill()
    assert c_sub.returncode == 0, err
    assert out.strip().splitlines()[-1] == "received 3 lost 0 bad 0"


def test_a_python_type_without_the_c_layout_text_is_refused(ctx, topic, peer):
    c_pub = subprocess.Popen([peer, "pub", topic, "1", "1", "--wait-subs", "1"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 10
        shm = "zl.%d.%d.%s" % (os.getuid(), ctx.domain_id, topic.replace("/", "."))
        while not any(f.startswith(shm + ":p") for f in os.listdir("/dev/shm")):
            assert time.monotonic() < deadline
            time.sleep(0.005)
        same_size_no_layout = zloan.Type("test_msg", PEER_MSG_DTYPE)
        with pytest.raises(zloan.TypeMismatchError) as error:
            zloan.Subscription(ctx, topic, same_size_no_layout)
        assert "test_msg" in error.value.detail
        with zloan.Subscription(ctx, topic, peer_msg_type()) as sub:
            assert sub.take(timeout=10) is not None
    finally:
        c_pub.communicate(timeout=30)
    assert c_pub.returncode == 0
