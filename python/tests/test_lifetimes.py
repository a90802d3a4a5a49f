"""Lifetimes that cannot go wrong: views keep their loan, BufferError while
views exist, garbage collection returns loans, returned loans raise, `with`
on exceptions, closing parents with loans out, interpreter shutdown."""
import gc
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import zloan
from conftest import (PEER_MSG_DTYPE, address_of, is_pool_segment, peer_msg_type, python_child_env,
                      shm_mapping_of)


@pytest.fixture
def pair(ctx, topic):
    t = peer_msg_type()
    with zloan.Publisher(ctx, topic, t) as pub, zloan.Subscription(ctx, topic, t) as sub:
        yield pub, sub


def send(pub, tag):
    with pub.loan() as m:
        m.array()["tag"] = tag


def test_views_copy_nothing_and_lie_in_the_pool(pair):
    pub, sub = pair
    m = pub.loan()
    view = memoryview(m)
    array = np.frombuffer(m, PEER_MSG_DTYPE)
    assert not view.readonly and array.flags.writeable
    assert address_of(np.frombuffer(view, np.uint8)) == address_of(array)
    assert is_pool_segment(shm_mapping_of(address_of(array)))
    array["tag"] = 41
    view[8] = 7  # first byte of "sequence", through the other view
    del view, array
    m.publish()
    r = sub.take()
    received = np.frombuffer(r, PEER_MSG_DTYPE)
    assert received["tag"] == 41 and received["sequence"] == 7
    assert memoryview(r).readonly and not received.flags.writeable
    with pytest.raises(ValueError):
        received["tag"] = 1  # read-only: the publisher's memory
    assert is_pool_segment(shm_mapping_of(address_of(received)))


def test_release_or_publish_with_views_raises_buffer_error(pair):
    pub, sub = pair
    m = pub.loan()
    view = memoryview(m)
    with pytest.raises(BufferError):
        m.publish()
    with pytest.raises(BufferError):
        m.release()
    assert m.state == "held" and m.exports == 1
    view.release()
    m.publish()
    r = sub.take()
    a = r.array()
    with pytest.raises(BufferError):
        r.release()
    del a
    r.release()
    assert sub.stats().loans_held == 0


def test_view_survives_del_of_the_sample(pair):
    pub, sub = pair
    send(pub, 1234)
    r = sub.take()
    a = r.array()
    del r
    gc.collect()
    assert sub.stats().loans_held == 1
    assert a["tag"] == 1234
    send(pub, 99)  # more traffic does not touch a held loan
    assert a["tag"] == 1234
    del a
    assert sub.stats().loans_held == 0


def test_dropping_the_last_reference_returns_the_loan(pair):
    pub, sub = pair
    m = pub.loan()
    assert pub.stats().loans_held == 1
    del m
    assert pub.stats().loans_held == 0
    send(pub, 1)
    sub.take()  # the loan object is dropped at once
    assert sub.stats().loans_held == 0
    # a loan in a reference cycle is returned by the garbage collector
    send(pub, 2)
    box = [sub.take()]
    box.append(box)
    del box
    gc.collect()
    assert sub.stats().loans_held == 0


def test_a_returned_loan_raises_and_never_crashes(pair):
    pub, sub = pair
    m = pub.loan()
    m.publish()
    for use in (m.publish, m.release, m.array, lambda: memoryview(m), lambda: bytes(m),
                lambda: np.frombuffer(m, np.uint8)):
        with pytest.raises(zloan.NotLoanError):
            use()
    assert m.state == "published"
    r = sub.take()
    r.release()
    with pytest.raises(zloan.NotLoanError):
        r.release()
    assert r.state == "returned" and sub.take() is None


def test_a_received_loan_cannot_be_published(pair):
    pub, sub = pair
    send(pub, 1)
    r = sub.take()
    with pytest.raises(zloan.InvalidArgumentError):
        r.publish()
    assert r.state == "held"


def test_with_publishes_on_normal_exit_and_returns_on_exception(pair):
    pub, sub = pair
    with pub.loan() as m:
        m.array()["tag"] = 1
    assert m.state == "published"
    with pytest.raises(RuntimeError):
        with pub.loan() as m:
            m.array()["tag"] = 2
            raise RuntimeError("boom")
    assert m.state == "returned"
    stats = pub.stats()
    assert (stats.published, stats.loans_held) == (1, 0)
    with sub.take() as r:
        assert r.array()["tag"] == 1
    assert r.state == "returned"
    assert sub.take() is None  # the failed one was never published


def test_exception_inside_with_while_a_view_exists_keeps_the_loan_until_the_view_goes(pair):
    pub, sub = pair
    send(pub, 5)
    kept = []
    with pytest.raises(KeyError):
        with sub.take() as r:
            kept.append(r.array())
            raise KeyError("the original exception is not masked")
    assert r.state == "held" and kept[0]["tag"] == 5
    del r
    assert sub.stats().loans_held == 1
    kept.clear()
    assert sub.stats().loans_held == 0


def test_normal_exit_with_a_view_left_raises_buffer_error(pair):
    pub, _ = pair
    with pytest.raises(BufferError):
        with pub.loan() as m:
            a = m.array()
    assert m.state == "held"
    del a
    m.publish()


def test_closing_a_subscription_with_loans_out_keeps_their_memory(ctx, topic):
    t = peer_msg_type()
    with zloan.Publisher(ctx, topic, t) as pub:
        sub = zloan.Subscription(ctx, topic, t)
        send(pub, 77)
        r = sub.take()
        a = r.array()
        sub.close()
        del sub
        gc.collect()
        assert r.state == "held" and r.info.publication_sequence == 1
        assert a["tag"] == 77
        pub.update_connections()
        assert pub.stats().subscriptions == 1  # still connected: the loan is out
        del a
        r.release()
        pub.update_connections()
        assert pub.stats().subscriptions == 0  # destroyed with its last loan


def test_closing_a_context_with_endpoints_keeps_them_working(topic):
    t = peer_msg_type()
    ctx = zloan.Context()
    pub = zloan.Publisher(ctx, topic, t)
    sub = zloan.Subscription(ctx, topic, t)
    ctx.close()
    del ctx
    send(pub, 3)
    with sub.take() as r:
        assert r.array()["tag"] == 3
    loan = pub.loan()
    del pub, sub  # the loan keeps its publisher, the publisher its context
    gc.collect()
    loan.array()["tag"] = 4
    loan.publish()


def test_interpreter_shutdown_with_loans_and_views_held(topic):
    script = textwrap.dedent(f"""
        import numpy as np, zloan
        t = zloan.Type("test_msg", size=256, alignment=8)
        ctx = zloan.Context()
        pub = zloan.Publisher(ctx, "{topic}", t)
        sub = zloan.Subscription(ctx, "{topic}", t)
        for i in range(3):
            with pub.loan() as m:
                m.array()[0] = i
        held = sub.take()
        view = np.frombuffer(sub.take(), np.uint8)
        cycle = [sub.take(), pub.loan()]
        cycle.append(cycle)
        unpublished = pub.loan()
        mv = memoryview(unpublished)
        print("holding", sub.stats().loans_held, pub.stats().loans_held, flush=True)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=60, env=python_child_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "holding 3 2"
    assert result.stderr == ""
    # Everything the process made is gone from /dev/shm.
    mangled = topic.replace("/", ".")
    assert [f for f in os.listdir("/dev/shm") if mangled in f] == []


def test_interpreter_shutdown_with_threads_waiting(topic):
    script = textwrap.dedent(f"""
        import threading, zloan
        t = zloan.Type("test_msg", size=256, alignment=8)
        ctx = zloan.Context()
        sub = zloan.Subscription(ctx, "{topic}", t)
        executor = zloan.Executor(ctx)
        executor.add_subscription(zloan.Subscription(ctx, "{topic}_2", t), lambda m: None)
        threading.Thread(target=sub.wait, daemon=True).start()
        threading.Thread(target=executor.spin, daemon=True).start()
        print("exiting", flush=True)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=60, env=python_child_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout == "exiting\n" and result.stderr == ""
    # Objects the daemon threads still used were never destroyed: what they
    # left in /dev/shm is the dead process's, and the next context sweeps it.
    zloan.Context().close()
    mangled = topic.replace("/", ".")
    assert [f for f in os.listdir("/dev/shm") if mangled in f] == []


def test_a_forked_child_neither_uses_nor_destroys_the_parents_objects(topic):
    script = textwrap.dedent(f"""
        import os, sys, zloan
        t = zloan.Type("test_msg", size=256, alignment=8)
        ctx = zloan.Context()
        pub = zloan.Publisher(ctx, "{topic}", t)
        sub = zloan.Subscription(ctx, "{topic}", t)
        pub.publish(bytes(256))
        held, unpublished = sub.take(), pub.loan()
        pid = os.fork()
        if pid == 0:
            for use in (pub.loan, sub.take, held.release, unpublished.publish):
                try:
                    use()
                    print("child: used", use, flush=True)
                except zloan.ClosedError as error:
                    assert "fork" in error.detail, error.detail
            sys.exit(0)  # finalization drops every inherited object
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        # The parent's objects, loans and shared memory are intact.
        held.release()
        unpublished.array()[0] = 9
        unpublished.publish()
        m = sub.take()
        assert m.array()[0] == 9, m.array()[0]
        print("parent ok", flush=True)
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            timeout=60, env=python_child_env())
    assert result.returncode == 0, result.stderr
    assert result.stdout == "parent ok\n"
