"""Python offers what the C API has: every member of the option structs is a
keyword of its Python object (the context's but its C hooks), every member of the statistics structs a field
of its Python statistics, and the constants have the C values. The lists are
read from the headers (include/zloan/), so a member added in C fails here
until Python has it (issue 22 item 11)."""
import pathlib
import re
import time

import numpy as np
import pytest

import zloan

HEADERS = pathlib.Path(__file__).resolve().parents[2] / "include" / "zloan"

# Members of zl_user_memory_options that zloan.UserMemory makes itself: the
# memfd (fd, offset 0), its mapping (base) and the length it is given.
USER_MEMORY_MADE = {"fd", "offset", "base", "length"}
# Members of zl_context_options Python does not take: the allocator (the C
# default serves the module) and the log callback with its state (it may run
# on zloan's own threads, which hold no GIL; lines go to stderr).
CONTEXT_NOT_TAKEN = {"allocator", "log_callback", "log_state"}


@pytest.fixture
def ctx():
    """This file's own domain (212), apart from the other tests'."""
    with zloan.Context(domain_id=212) as context:
        yield context


def c_struct_members(header, name):
    """The member names of `typedef struct name { ... } name;` in header, in order."""
    text = (HEADERS / header).read_text()
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.S)
    text = re.sub(r"//[^\n]*", " ", text)
    body = re.search(r"typedef\s+struct\s+%s\s*\{(.*?)\}\s*%s\s*;" % (name, name), text, re.S)
    assert body, f"struct {name} not found in {header}"
    members = []
    for declaration in body.group(1).split(";"):
        declaration = declaration.strip()
        if declaration:
            members.append(re.search(r"(\w+)\s*(\[[^\]]*\])?$", declaration).group(1))
    assert members, f"no members parsed from {name}"
    return members


def c_enum_values(header, name):
    text = re.sub(r"/\*.*?\*/", " ", (HEADERS / header).read_text(), flags=re.S)
    body = re.search(r"typedef\s+enum\s+%s\s*\{(.*?)\}" % name, text, re.S).group(1)
    return {k: int(v) for k, v in re.findall(r"(ZL_\w+)\s*=\s*(\d+)", body)}


def c_define(header, name):
    text = (HEADERS / header).read_text()
    return int(re.search(r"#define\s+%s\s+(\d+)" % name, text).group(1))


def test_the_parser_reads_what_the_headers_say():
    # A parser that found nothing would make the comparisons below vacuous.
    assert c_struct_members("publisher.h", "zl_publisher_options")[:2] == ["history", "max_loans"]
    assert "max_blocking_time_ns" in c_struct_members("publisher.h", "zl_publisher_options")
    assert "reliability" in c_struct_members("subscription.h", "zl_subscription_options")
    assert "shm_bytes_high" in c_struct_members("publisher.h", "zl_publisher_stats")


@pytest.mark.parametrize("header,struct,cls", [
    ("publisher.h", "zl_publisher_options", zloan.Publisher),
    ("subscription.h", "zl_subscription_options", zloan.Subscription),
])
def test_every_c_option_is_a_keyword(ctx, topic, header, struct, cls):
    members = c_struct_members(header, struct)
    defaults = cls.default_options()
    assert list(defaults) == members
    # Each keyword is accepted and reaches the C options (read back).
    t = zloan.Type("c_api_t", np.dtype("<u8"))
    with cls(ctx, topic, t, **defaults) as endpoint:
        assert endpoint.options == defaults
    changed = {"history": 3 if cls is zloan.Publisher else True, "max_loans": 2,
               "max_subscriptions": 4, "chunks_per_subscription": 12, "pool_bytes_max": 1 << 24,
               "disable_loans": True, "max_blocking_time_ns": 1000, "depth": 3,
               "reliability": zloan.LOSSLESS}
    options = {k: changed[k] for k in members}
    with cls(ctx, topic, t, **options) as endpoint:
        assert endpoint.options == options


@pytest.mark.parametrize("header,struct,cls", [
    ("publisher.h", "zl_publisher_stats", zloan.PublisherStats),
    ("subscription.h", "zl_subscription_stats", zloan.SubscriptionStats),
])
def test_every_c_statistic_is_a_field(header, struct, cls):
    assert list(cls.__match_args__) == c_struct_members(header, struct)


def test_every_c_context_option_but_the_hooks_is_a_keyword(topic):
    members = c_struct_members("context.h", "zl_context_options")
    assert CONTEXT_NOT_TAKEN <= set(members)
    defaults = zloan.Context.default_options()
    assert list(defaults) == [m for m in members if m not in CONTEXT_NOT_TAKEN]
    with zloan.Context(**dict(defaults, domain_id=212)) as ctx:
        assert ctx.domain_id == 212 and ctx.name is None
    # Each one reaches the C context: the name, the transport (loopback
    # does not lend), the level (refused out of range).
    with zloan.Context(domain_id=212, name="py_c_api", log_level=zloan.LOG_ERROR,
                       transports="loopback") as ctx, \
            zloan.Publisher(ctx, topic, zloan.Type("c_api_t", np.dtype("<u8"))) as pub:
        assert ctx.name == "py_c_api" and not pub.can_loan
    for bad in (dict(log_level=zloan.LOG_DEBUG + 1), dict(transports="carrier_pigeon"),
                dict(name="x" * 300)):
        with pytest.raises(zloan.InvalidArgumentError):
            zloan.Context(domain_id=212, **bad)


def test_user_memory_takes_every_c_option_it_does_not_make():
    members = c_struct_members("user_memory.h", "zl_user_memory_options")
    assert USER_MEMORY_MADE <= set(members)
    assert list(zloan.UserMemory.default_options()) == [m for m in members if m not in USER_MEMORY_MADE]


def test_constants_have_the_c_values():
    assert c_enum_values("subscription.h", "zl_reliability") == {
        "ZL_KEEP_LAST": zloan.KEEP_LAST, "ZL_LOSSLESS": zloan.LOSSLESS}
    assert c_enum_values("log.h", "zl_log_level") == {
        "ZL_LOG_" + n: getattr(zloan, "LOG_" + n) for n in ("ERROR", "WARN", "INFO", "DEBUG")}
    assert zloan.DOMAIN_ID_MAX == c_define("context.h", "ZL_DOMAIN_ID_MAX")
    for name in ("MAX_BLOCKING_TIME_DEFAULT_NS", "MAX_BLOCKING_TIME_MAX_NS", "TOPIC_PUBLISHERS_MAX",
                 "TOPIC_SUBSCRIPTIONS_MAX"):
        assert getattr(zloan, name) == c_define("publisher.h", "ZL_" + name), name


def test_bad_options_are_refused_by_name(ctx, topic):
    t = zloan.Type("c_api_t", np.dtype("<u8"))
    with pytest.raises(zloan.InvalidArgumentError, match="reliability"):
        zloan.Subscription(ctx, topic, t, reliability=2)
    with pytest.raises(zloan.InvalidArgumentError, match="max_loans"):
        zloan.Publisher(ctx, topic, t, max_loans=-1)
    with pytest.raises(zloan.InvalidArgumentError, match="max_blocking_time_ns"):
        zloan.Publisher(ctx, topic, t, max_blocking_time_ns=zloan.MAX_BLOCKING_TIME_MAX_NS + 1)
    with pytest.raises(TypeError, match="depth"):
        zloan.Subscription(ctx, topic, t, depth="8")
    with pytest.raises(TypeError, match="'bogus'"):
        zloan.Publisher(ctx, topic, t, bogus=1)


def test_lossless_from_python_holds_the_publisher_back(ctx, topic):
    # Before issue 22 item 11 lossless delivery was unreachable from Python.
    t = zloan.Type("c_api_t", np.dtype("<u8"))
    with zloan.Publisher(ctx, topic, t, max_blocking_time_ns=0) as pub, \
            zloan.Subscription(ctx, topic, t, depth=2, reliability=zloan.LOSSLESS) as sub:
        pub.publish(np.uint64(1))
        pub.publish(np.uint64(2))
        with pytest.raises(zloan.TimeoutError):
            pub.publish(np.uint64(3))  # the queue is full: nothing published
        m = pub.loan()
        m.array()[0] = 4
        with pytest.raises(zloan.TimeoutError):
            m.publish()
        assert m.state == "held"  # still the caller's
        stats = pub.stats()
        assert (stats.published, stats.timeouts) == (2, 2) and stats.blocked >= 2
        assert sub.stats().held_back >= 2
        assert [int(sub.take().array()[0]) for _ in range(2)] == [1, 2]
        m.publish()
        assert int(sub.take().array()[0]) == 4
        assert sub.stats().lost == 0
    # A bound of 50 ms waits that long before refusing.
    with zloan.Publisher(ctx, topic + "_b", t, max_blocking_time_ns=50_000_000) as pub, \
            zloan.Subscription(ctx, topic + "_b", t, depth=1, reliability=zloan.LOSSLESS):
        pub.publish(np.uint64(1))
        start = time.monotonic()
        with pytest.raises(zloan.TimeoutError):
            pub.publish(np.uint64(2))
        assert time.monotonic() - start >= 0.045


def test_pool_statistics_reach_python(ctx, topic):
    t = zloan.Type("c_api_big", np.dtype(("u1", (64 << 10,))))
    with zloan.Publisher(ctx, topic, t, pool_bytes_max=64 << 20) as pub:
        loans = [pub.loan() for _ in range(3)]
        stats = pub.stats()
        assert stats.segments >= 1 and stats.growths >= 1
        assert 3 * (64 << 10) <= stats.shm_bytes <= stats.shm_bytes_high <= stats.shm_bytes_max
        assert stats.shm_bytes_max == 64 << 20
        assert (stats.other_owners, stats.other_transport) == (0, 0)
        for m in loans:
            m.release()
