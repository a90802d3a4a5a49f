"""User memory from Python (zl_user_memory_*): zloan.UserMemory is a sealed
memfd mapped here, whose numpy views are published without a copy to
subscriptions in other processes, with completion notices when they are done
(issue 22 item 11). Misuse raises, never crashes, and changes nothing."""
import gc
import os
import subprocess
import sys
import time
import warnings

import numpy as np
import pytest

import zloan
from conftest import address_of, python_child_env

DOMAIN = 211
FRAME = np.dtype([("sequence", "<u8"), ("pixels", "u1", (1000,))], align=True)

# The subscription in another process: it takes `count` frames, prints each
# one's sequence, a checksum of its pixels and the file its bytes lie in,
# holds them all until told "return", then returns them.
CHILD = r"""
import sys, zlib
import numpy as np
import zloan
topic, count = sys.argv[1], int(sys.argv[2])
frame = np.dtype([("sequence", "<u8"), ("pixels", "u1", (1000,))], align=True)
def mapping_of(address):
    for line in open("/proc/self/maps"):
        fields = line.split()
        start, end = (int(x, 16) for x in fields[0].split("-"))
        if start <= address < end:
            return " ".join(fields[5:])
with zloan.Context(domain_id=%d) as ctx, \
        zloan.Subscription(ctx, topic, zloan.Type("frame", frame), depth=8) as sub:
    print("ready", flush=True)
    held = []
    while len(held) < count:
        m = sub.take(timeout=10)
        assert m is not None, "no frame within 10 s"
        a = m.array()
        print(int(a[0]["sequence"]), zlib.crc32(a[0]["pixels"].tobytes()), m.info.size,
              mapping_of(a.__array_interface__["data"][0]), flush=True)
        del a
        held.append(m)
    assert sys.stdin.readline().strip() == "return"
    for m in held:
        m.release()
    print("returned", flush=True)
""" % DOMAIN


@pytest.fixture
def ctx():
    with zloan.Context(domain_id=DOMAIN) as context:
        yield context


def frame_type():
    return zloan.Type("frame", FRAME)


def wait_for(condition, what, seconds=10):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.002)


def test_user_memory_reaches_another_process_and_completes(ctx, topic):
    import zlib
    child = subprocess.Popen([sys.executable, "-c", CHILD, topic, "3"], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=python_child_env())
    try:
        assert child.stdout.readline().strip() == "ready"
        with zloan.Publisher(ctx, topic, frame_type()) as pub, \
                zloan.UserMemory(pub, 4 * FRAME.itemsize, max_in_flight=4) as memory:
            assert memory.is_shared and memory.length == 4 * FRAME.itemsize
            frames = memory.array(FRAME, (4,))
            assert address_of(frames) == address_of(memory.array())  # one mapping, no copy

            def connected():
                pub.update_connections()
                return pub.stats().subscriptions == 1
            wait_for(connected, "the child's subscription never connected")
            sums = []
            for i in range(3):
                frames[i]["sequence"] = 100 + i
                frames[i]["pixels"] = (np.arange(1000) * (i + 3)) % 251
                sums.append(zlib.crc32(frames[i]["pixels"].tobytes()))
                assert memory.publish(frames[i:i + 1]) == i * FRAME.itemsize
            for i in range(3):
                sequence, crc, size, mapping = child.stdout.readline().split(maxsplit=3)
                # The very bytes written here, read in the child from the memfd.
                assert (int(sequence), int(crc), int(size)) == (100 + i, sums[i], FRAME.itemsize)
                assert mapping.startswith("/memfd:zloan-user-memory"), mapping

            # Held by the child: in flight, no completion, and the memory
            # refuses to close or to publish over them (nothing changes).
            assert memory.in_flight_count == 3
            assert all(memory.in_flight(frames[i:i + 1]) for i in range(3))
            assert not memory.in_flight(3 * FRAME.itemsize)
            assert memory.take_completed() is None
            with pytest.raises(zloan.BusyError, match="in flight"):
                memory.close()
            with pytest.raises(zloan.BusyError):
                memory.publish(frames[1:2])
            assert not memory.closed and memory.in_flight_count == 3

            child.stdin.write("return\n")
            child.stdin.flush()
            assert child.stdout.readline().strip() == "returned"
            completed = []

            def all_completed():
                offset = memory.take_completed()
                if offset is not None:
                    completed.append(offset)
                return len(completed) == 3
            wait_for(all_completed, f"completions seen: {completed}")
            assert sorted(completed) == [0, FRAME.itemsize, 2 * FRAME.itemsize]
            assert memory.in_flight_count == 0 and memory.take_completed() is None
            del frames
        assert memory.closed
        child.communicate(timeout=30)
    finally:
        if child.poll() is None:
            child.kill()
            child.communicate()
    assert child.returncode == 0


def test_misuse_raises_and_changes_nothing(ctx, topic):
    with zloan.Publisher(ctx, topic, frame_type()) as pub, \
            zloan.Subscription(ctx, topic, frame_type()) as sub:
        for length, error in ((0, zloan.InvalidArgumentError), (-1, zloan.InvalidArgumentError)):
            with pytest.raises(error):
                zloan.UserMemory(pub, length)
        with pytest.raises(zloan.InvalidArgumentError, match="max_in_flight|in_flight"):
            zloan.UserMemory(pub, 4096, max_in_flight=0)
        with pytest.raises(TypeError):
            zloan.UserMemory(sub, 4096)
        memory = zloan.UserMemory(pub, 2 * FRAME.itemsize, max_in_flight=1)
        frames = memory.array(FRAME)
        assert frames.shape == (2,)
        with pytest.raises(zloan.InvalidArgumentError, match="outside"):
            memory.publish(2 * FRAME.itemsize)  # past the end
        with pytest.raises(zloan.InvalidArgumentError, match="does not lie"):
            memory.publish(np.zeros(1, FRAME))  # memory of its own
        with pytest.raises(zloan.InvalidArgumentError):
            memory.publish(frames[0:2])  # two frames' bytes for one message
        with pytest.raises(zloan.InvalidArgumentError):
            memory.publish(frames[0:0])  # no bytes: no message
        with pytest.raises(zloan.InvalidArgumentError):
            memory.publish(4)  # misaligned
        with pytest.raises(zloan.InvalidArgumentError, match="fit"):
            memory.array(FRAME, (3,))
        with pytest.raises(TypeError):
            memory.publish("0")
        assert pub.stats().published == 0
        assert memory.publish(np.int64(0)) == 0  # numpy's integers are offsets too
        with pytest.raises(zloan.BusyError):
            memory.publish(FRAME.itemsize)  # max_in_flight (1) already in flight
        # Publisher.close() while memory is registered: no more publishing
        # from it, the C publisher kept until the memory goes.
        loan = sub.take(timeout=1.0)
        with pytest.raises(zloan.BusyError, match="in flight"):
            memory.close()
        loan.release()
        wait_for(lambda: memory.in_flight_count == 0, "never completed")
        assert memory.take_completed() == 0
        memory.close()
        memory.close()  # twice is fine
        for use in (lambda: memory.publish(0), memory.take_completed, lambda: memory.in_flight(0),
                    lambda: memory.array(), lambda: memory.in_flight_count, memory.fileno,
                    lambda: memoryview(memory)):
            with pytest.raises(zloan.ClosedError):
                use()
        # Views made before close stay usable: ordinary memory of this process.
        frames[1]["sequence"] = 9
        assert frames[1]["sequence"] == 9
        del frames
    with pytest.raises(zloan.ClosedError):
        zloan.UserMemory(pub, 4096)


def test_closing_the_publisher_first_keeps_it_for_the_memory(ctx, topic):
    pub = zloan.Publisher(ctx, topic, frame_type())
    memory = zloan.UserMemory(pub, 4096)
    pub.close()
    with pytest.raises(zloan.ClosedError, match="publisher"):
        memory.publish(0)
    memory.close()  # the C publisher goes now


def test_collected_with_messages_in_flight_warns_and_keeps_the_memory(ctx, topic):
    pub = zloan.Publisher(ctx, topic, frame_type())
    sub = zloan.Subscription(ctx, topic, frame_type())
    memory = zloan.UserMemory(pub, 4096)
    memory.array(FRAME, (1,))[0]["sequence"] = 42
    memory.publish(0)
    loan = sub.take(timeout=1.0)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del memory
        gc.collect()
    assert any(issubclass(w.category, ResourceWarning) for w in caught)
    # The subscription still reads the bytes: nothing was unmapped under it.
    assert loan.array()[0]["sequence"] == 42
    loan.release()
    sub.close()
    pub.close()


def test_a_publisher_that_cannot_lend_copies_and_completes_at_once(ctx, topic):
    with zloan.Publisher(ctx, topic, frame_type(), disable_loans=True) as pub, \
            zloan.Subscription(ctx, topic, frame_type()) as sub, \
            zloan.UserMemory(pub, 4096) as memory:
        assert not memory.is_shared
        memory.array(FRAME, (1,))[0]["sequence"] = 7
        memory.publish(0)
        assert memory.in_flight_count == 0 and memory.take_completed() == 0
        with sub.take(timeout=1.0) as m:
            assert m.array()[0]["sequence"] == 7


def test_sized_messages_from_user_memory(ctx, topic):
    t = zloan.Type("bytes_msg", np.dtype([("n", "<u8")]), tail=np.dtype("u1"), max_count=1000)
    with zloan.Publisher(ctx, topic, t) as pub, zloan.Subscription(ctx, topic, t) as sub, \
            zloan.UserMemory(pub, 4096) as memory:
        raw = memory.array()
        raw[:8] = np.frombuffer(np.uint64(5).tobytes(), np.uint8)
        raw[8:13] = [1, 2, 3, 4, 5]
        memory.publish(raw[:13])  # the count (5) follows from the length
        raw[16:24] = np.frombuffer(np.uint64(2).tobytes(), np.uint8)
        assert memory.publish(16, count=2) == 16  # by offset: the count given
        with sub.take(timeout=1.0) as m:
            assert m.info.count == 5 and list(m.tail()) == [1, 2, 3, 4, 5]
        with sub.take(timeout=1.0) as m:
            assert m.info.count == 2 and m.array()[0]["n"] == 2
        del raw
        wait_for(lambda: memory.in_flight_count == 0, "never completed")
