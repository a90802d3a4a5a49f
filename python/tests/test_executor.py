"""The callback loop: loans delivered to callbacks, kept or returned, timers,
stop() from another thread, exceptions, re-entrance."""
import threading

import pytest

import zloan
from conftest import peer_msg_type


@pytest.fixture
def pair(ctx, topic):
    t = peer_msg_type()
    with zloan.Publisher(ctx, topic, t) as pub, zloan.Subscription(ctx, topic, t) as sub:
        yield pub, sub


def send(pub, tag):
    with pub.loan() as m:
        m.array()["tag"] = tag


def test_callbacks_get_loans_returned_unless_kept(ctx, pair):
    pub, sub = pair
    seen, kept = [], []

    def on_message(loan):
        tag = int(loan.array()["tag"][0])
        seen.append(tag)
        if tag == 2:
            kept.append(loan)  # keeping the object keeps the loan

    with zloan.Executor(ctx) as executor:
        executor.add_subscription(sub, on_message)
        for tag in (1, 2, 3):
            send(pub, tag)
        assert executor.spin_some() == 3
        assert seen == [1, 2, 3]
        assert sub.stats().loans_held == 1
        assert kept[0].array()["tag"] == 2 and kept[0].state == "held"
        kept.clear()
        assert sub.stats().loans_held == 0
        assert executor.spin_once(timeout=0.01) == 0


def test_timer_and_stop_from_another_thread(ctx, pair):
    pub, sub = pair
    ticks = []
    with zloan.Executor(ctx) as executor:
        executor.add_timer(0.01, lambda expirations: ticks.append(expirations))
        executor.add_subscription(sub, lambda loan: None)
        stopper = threading.Timer(0.2, executor.stop)
        stopper.start()
        executor.spin(timeout=60)  # returns through stop(), long before the timeout
        stopper.join()
    assert len(ticks) >= 1 and all(n >= 1 for n in ticks)


def test_a_callback_exception_propagates_and_spinning_again_works(ctx, pair):
    pub, sub = pair

    def on_message(loan):
        if loan.array()["tag"] == 1:
            raise ValueError("from the callback")

    with zloan.Executor(ctx) as executor:
        executor.add_subscription(sub, on_message)
        send(pub, 1)
        send(pub, 2)
        with pytest.raises(ValueError):
            executor.spin_once(timeout=5)
        assert sub.stats().loans_held == 0
        assert executor.spin_once(timeout=5) == 1


def test_spinning_from_a_callback_raises_busy_and_close_from_a_callback_is_safe(ctx, pair):
    pub, sub = pair
    errors = []
    with zloan.Executor(ctx) as executor:
        def on_message(loan):
            try:
                executor.spin_some()
            except zloan.BusyError as error:
                errors.append(error)
            executor.close()
            sub.close()

        executor.add_subscription(sub, on_message)
        send(pub, 1)
        send(pub, 2)
        assert executor.spin(timeout=5) == 1  # closed after the first callback
    assert len(errors) == 1 and executor.closed and sub.closed
    with pytest.raises(zloan.ClosedError):
        executor.spin_once(0)
