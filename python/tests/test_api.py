"""The Pythonic API: types and their layout hash, errors as exceptions,
copies in and out, sequences, statistics, closed objects."""
import struct

import numpy as np
import pytest

import zloan
from conftest import PEER_MSG_DTYPE, PEER_MSG_LAYOUT, peer_msg_type


def fnv1a(data, h=0xCBF29CE484222325):
    for byte in data:
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return h


def c_layout_hash(name, size, alignment, layout=None):
    """What src/type.c computes for ZL_TYPE_PLAIN / ZL_TYPE_PLAIN_LAYOUT."""
    h = fnv1a(name.encode() + b"\0")
    h = fnv1a(struct.pack("<QQQ", size, alignment, 1), h)
    if layout is not None:
        h = fnv1a(layout.encode(), h)
    return h or 1


def test_type_from_a_structured_dtype_has_the_c_struct_geometry():
    t = peer_msg_type()
    assert (t.name, t.size, t.alignment, t.layout) == ("test_msg", 256, 8, PEER_MSG_LAYOUT)
    assert t.layout_hash == c_layout_hash("test_msg", 256, 8, PEER_MSG_LAYOUT)
    assert t.dtype is PEER_MSG_DTYPE


def test_type_like_c_padding_needs_align_true():
    # struct { uint8_t a; uint64_t b; } is 16 bytes, aligned 8, in C.
    aligned = zloan.Type("s", np.dtype([("a", "u1"), ("b", "<u8")], align=True))
    packed = zloan.Type("s", np.dtype([("a", "u1"), ("b", "<u8")]))
    assert (aligned.size, aligned.alignment) == (16, 8)
    assert aligned.layout_hash == c_layout_hash("s", 16, 8)
    assert (packed.size, packed.alignment) != (16, 8)


def test_type_without_dtype_and_invalid_types():
    assert zloan.Type("raw", size=100, alignment=4).layout_hash == c_layout_hash("raw", 100, 4)
    with pytest.raises(zloan.InvalidArgumentError) as error:
        zloan.Type("bad", size=8, alignment=3)
    assert "alignment" in error.value.detail
    with pytest.raises(zloan.InvalidArgumentError):
        zloan.Type("", size=8)
    with pytest.raises(zloan.InvalidArgumentError):
        zloan.Type("empty")


def test_each_code_has_its_exception_class_under_error():
    classes = [zloan.InvalidArgumentError, zloan.NoDataError, zloan.TooManyLoansError,
               zloan.ExhaustedError, zloan.TypeMismatchError, zloan.TopicNameError,
               zloan.NoSharedMemoryError, zloan.NoMemoryError, zloan.NotLoanError, zloan.LimitError,
               zloan.SerializeError, zloan.CorruptError, zloan.PermissionDeniedError,
               zloan.BusyError, zloan.TimeoutError, zloan.SystemCallError, zloan.NotSupportedError]
    assert len(set(classes)) == 17
    assert all(issubclass(c, zloan.Error) for c in classes)
    assert issubclass(zloan.InvalidArgumentError, ValueError)
    assert issubclass(zloan.TimeoutError, TimeoutError)
    assert issubclass(zloan.PermissionDeniedError, PermissionError)
    assert issubclass(zloan.ClosedError, zloan.InvalidArgumentError)


def test_bad_topic_name_raises_with_code_and_detail(ctx):
    with pytest.raises(zloan.TopicNameError) as error:
        zloan.Publisher(ctx, "/1starts_with_a_digit", peer_msg_type())
    assert error.value.code == -6
    assert "digit" in error.value.detail
    assert isinstance(error.value, ValueError)


def test_type_mismatch_names_both_types(ctx, topic):
    with zloan.Publisher(ctx, topic, peer_msg_type()):
        other = zloan.Type("other_msg", PEER_MSG_DTYPE)
        with pytest.raises(zloan.TypeMismatchError) as error:
            zloan.Subscription(ctx, topic, other)
    assert "test_msg" in error.value.detail and "other_msg" in error.value.detail


def test_publish_copy_and_take_into(ctx, topic):
    t = peer_msg_type()
    with zloan.Publisher(ctx, topic, t) as pub, zloan.Subscription(ctx, topic, t) as sub:
        message = np.zeros((), PEER_MSG_DTYPE)
        message["tag"] = 5
        pub.publish(message)
        message["tag"] = 6  # the caller keeps its message; the copy is sent
        out = np.zeros((), PEER_MSG_DTYPE)
        info = sub.take_into(out)
        assert out["tag"] == 5 and info.publication_sequence == 1
        assert sub.take_into(out) is None
        with pytest.raises(zloan.InvalidArgumentError):
            pub.publish(b"too short")
        with pytest.raises(zloan.InvalidArgumentError):
            sub.take_into(bytearray(3))
        with pytest.raises(BufferError):
            sub.take_into(bytes(256))  # read-only


def test_take_sequence_and_stats(ctx, topic):
    t = peer_msg_type()
    with zloan.Publisher(ctx, topic, t) as pub, zloan.Subscription(ctx, topic, t, max_loans=8) as sub:
        for i in range(5):
            with pub.loan() as m:
                m.array()["sequence"] = i
        loans = sub.take_sequence(3)
        assert [int(m.array()["sequence"][0]) for m in loans] == [0, 1, 2]
        assert [m.info.reception_sequence for m in loans] == [1, 2, 3]
        assert sub.stats().loans_held == 3
        del loans
        stats = sub.stats()
        assert (stats.received, stats.loans_held, stats.publishers) == (3, 0, 1)
        assert len(sub.take_sequence(10)) == 2
        assert sub.take_sequence(10) == []
        pstats = pub.stats()
        assert (pstats.published, pstats.subscriptions, pstats.loans_held) == (5, 1, 0)


def test_too_many_loans_raises(ctx, topic):
    with zloan.Publisher(ctx, topic, peer_msg_type(), max_loans=2) as pub:
        held = [pub.loan(), pub.loan()]
        with pytest.raises(zloan.TooManyLoansError):
            pub.loan()
        held[0].release()
        pub.loan().release()


def test_closed_objects_raise_closed_error(ctx, topic):
    t = peer_msg_type()
    pub = zloan.Publisher(ctx, topic, t)
    sub = zloan.Subscription(ctx, topic, t)
    pub.close()
    sub.close()
    assert pub.closed and sub.closed
    with pytest.raises(zloan.ClosedError):
        pub.loan()
    with pytest.raises(zloan.ClosedError):
        sub.take()
    with pytest.raises(zloan.ClosedError):
        sub.wait(0)
    ctx.close()
    with pytest.raises(zloan.ClosedError):
        zloan.Subscription(ctx, topic, t)


def test_wait_times_out_and_take_with_timeout(ctx, topic):
    t = peer_msg_type()
    with zloan.Subscription(ctx, topic, t) as sub:
        assert sub.wait(timeout=0.05) is False
        assert sub.take(timeout=0.05) is None
        with zloan.Publisher(ctx, topic, t) as pub:
            pub.publish(np.zeros((), PEER_MSG_DTYPE))
            assert sub.wait(timeout=5)
            m = sub.take(timeout=5)
            assert m is not None and m.info.from_this_process
            m.release()


def test_the_refusal_path_has_the_same_calls(topic):
    t = peer_msg_type()
    with zloan.Context(disable_loans=True) as ctx, zloan.Publisher(ctx, topic, t) as pub, \
            zloan.Subscription(ctx, topic, t) as sub:
        assert not pub.can_loan and not sub.can_loan
        with pub.loan() as m:  # allocator memory, copied when published
            m.array()["tag"] = 11
        with sub.take(timeout=5) as m:
            assert m.array()["tag"] == 11 and m.readonly
