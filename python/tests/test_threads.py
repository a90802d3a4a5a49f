"""Blocking waits release the GIL; one thread at a time takes from a
subscription; loans may be returned from any thread."""
import threading
import time

import zloan
from conftest import peer_msg_type


def until_busy(sub):
    """Returns once another thread is inside a wait on sub (take raises BusyError)."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            sub.take()
        except zloan.BusyError as error:
            return error
        time.sleep(0.001)
    raise AssertionError("the other thread never waited on the subscription")


def test_a_thread_blocked_in_wait_does_not_block_other_threads(ctx, topic):
    t = peer_msg_type()
    with zloan.Publisher(ctx, topic, t) as pub, zloan.Subscription(ctx, topic, t) as sub:
        result = {}

        def waiter():
            result["ready"] = sub.wait(timeout=60)

        thread = threading.Thread(target=waiter)
        thread.start()
        until_busy(sub)
        # This thread runs Python while the other one sleeps in the wait: with
        # the GIL held there, it could not run until the 60 s timeout.
        spins = sum(1 for _ in range(200000))
        time.sleep(0.05)
        assert thread.is_alive() and spins == 200000
        with pub.loan() as m:
            m.array()["tag"] = 1
        thread.join(timeout=30)
        assert not thread.is_alive() and result["ready"] is True
        assert sub.take().array()["tag"] == 1


def test_take_while_another_thread_waits_raises_busy(ctx, topic):
    t = peer_msg_type()
    with zloan.Publisher(ctx, topic, t) as pub, zloan.Subscription(ctx, topic, t) as sub:
        thread = threading.Thread(target=sub.wait, kwargs={"timeout": 60})
        thread.start()
        busy = until_busy(sub)
        pub.publish(bytes(256))
        thread.join(timeout=30)
        assert busy.code == -14 and "waiting" in busy.detail
        assert sub.take() is not None  # the wait is over: taking works again


def test_close_while_another_thread_waits_is_safe(ctx, topic):
    t = peer_msg_type()
    with zloan.Publisher(ctx, topic, t) as pub:
        sub = zloan.Subscription(ctx, topic, t)
        result = {}
        thread = threading.Thread(target=lambda: result.setdefault("ready", sub.wait(timeout=1)))
        thread.start()
        until_busy(sub)
        sub.close()  # the C subscription stays until the wait is over
        pub.update_connections()
        assert sub.closed and pub.stats().subscriptions == 1
        thread.join(timeout=30)
        assert result["ready"] is False
        pub.update_connections()
        assert pub.stats().subscriptions == 0  # destroyed when the wait ended


def test_loans_returned_from_another_thread(ctx, topic):
    t = peer_msg_type()
    with zloan.Publisher(ctx, topic, t) as pub, zloan.Subscription(ctx, topic, t) as sub:
        for _ in range(4):
            pub.publish(bytes(256))
        loans = sub.take_sequence(4)
        threads = [threading.Thread(target=m.release) for m in loans]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert [m.state for m in loans] == ["returned"] * 4
        assert sub.stats().loans_held == 0
