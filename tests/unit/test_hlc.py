"""Hybrid logical clock: text form, order, tick, receive, drift and overflow."""

from __future__ import annotations

import pytest

from shared_schema.hlc import (
    MAX_COUNTER,
    ClockDriftError,
    CounterOverflowError,
    Hlc,
    HlcError,
    HybridClock,
)


class Wall:
    """A wall clock the test sets by hand (frozen unless told)."""

    def __init__(self, now: int) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now


# --- text form ----------------------------------------------------------------

FORMAT = [
    (Hlc(1764140000000, 0, "devA"), "1764140000000.0000.devA"),
    (Hlc(1, 7, "n"), "0000000000001.0007.n"),
    (Hlc(0, 0, "server"), "0000000000000.0000.server"),
    (Hlc(1764140000000, 9999, "a-b_c"), "1764140000000.9999.a-b_c"),
    # the node is everything after the second dot
    (Hlc(1764140000000, 12, "x.y"), "1764140000000.0012.x.y"),
]


@pytest.mark.parametrize(("hlc", "text"), FORMAT)
def test_format_and_parse_round_trip(hlc: Hlc, text: str) -> None:
    assert str(hlc) == text
    assert Hlc.parse(text) == hlc


BAD_TEXT = [
    "",
    "1764140000000.0000",  # no node
    "1764140000000.0000.",  # empty node
    "176414000000.0000.devA",  # 12-digit wall
    "17641400000000.0000.devA",  # 14-digit wall
    "1764140000000.000.devA",  # 3-digit counter
    "1764140000000.00001.devA",
    "1764140000000.00a0.devA",
    "-764140000000.0000.devA",
    "1764140000000-0000-devA",
]


@pytest.mark.parametrize("text", BAD_TEXT)
def test_parse_rejects_malformed_text(text: str) -> None:
    with pytest.raises(HlcError) as info:
        Hlc.parse(text)
    assert info.value.code == "invalid_hlc"


ORDERED_PAIRS = [
    # (lower, higher): by wall, then counter, then node
    (Hlc(1000, 5, "z"), Hlc(1001, 0, "a")),
    (Hlc(999, 0, "a"), Hlc(1000, 0, "a")),  # 999 < 1000 although "999" > "1000" unpadded
    (Hlc(1000, 9, "z"), Hlc(1000, 10, "a")),  # 9 < 10 although "9" > "10" unpadded
    (Hlc(1000, 1, "devA"), Hlc(1000, 1, "devB")),
    (Hlc(1000, 1, "dev"), Hlc(1000, 1, "devA")),
    (Hlc(1764140000000, 0, "b"), Hlc(1764140000000, 1, "a")),
]


@pytest.mark.parametrize(("low", "high"), ORDERED_PAIRS)
def test_string_order_equals_clock_order(low: Hlc, high: Hlc) -> None:
    assert low < high
    assert str(low) < str(high)
    assert sorted([str(high), str(low)]) == [str(low), str(high)]


def test_restamped_keeps_counter_and_node() -> None:
    assert Hlc(5000, 42, "devA").restamped(1000) == Hlc(1000, 42, "devA")


@pytest.mark.parametrize("node", ["", "dev.A"])
def test_clock_node_must_be_non_empty_without_dot(node: str) -> None:
    with pytest.raises(HlcError):
        HybridClock(node, now_ms=Wall(1000))


# --- tick -------------------------------------------------------------------

# (last, wall readings for three ticks, expected three stamps)
TICKS = [
    pytest.param(None, [1000, 1001, 1005], [(1000, 0), (1001, 0), (1005, 0)], id="wall-moves"),
    pytest.param(None, [1000, 1000, 1000], [(1000, 0), (1000, 1), (1000, 2)], id="frozen"),
    pytest.param(None, [1000, 900, 800], [(1000, 0), (1000, 1), (1000, 2)], id="backwards"),
    pytest.param((2000, 3), [1000, 1000, 2001], [(2000, 4), (2000, 5), (2001, 0)],
                 id="restored-ahead-of-wall"),
    pytest.param(None, [1000, 999, 1001], [(1000, 0), (1000, 1), (1001, 0)],
                 id="back-then-forward"),
]


@pytest.mark.parametrize(("last", "walls", "expected"), TICKS)
def test_tick_is_monotonic(last, walls, expected) -> None:
    wall = Wall(walls[0])
    clock = HybridClock("devA", now_ms=wall, last=Hlc(*last, "devA") if last else None)
    stamps = []
    for reading in walls:
        wall.now = reading
        stamps.append(clock.tick())
    assert [(h.wall_ms, h.counter) for h in stamps] == expected
    assert all(h.node == "devA" for h in stamps)
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    assert clock.last == stamps[-1]


def test_tick_overflows_at_max_counter() -> None:
    clock = HybridClock("devA", now_ms=Wall(1000), last=Hlc(1000, MAX_COUNTER - 1, "devA"))
    assert clock.tick() == Hlc(1000, MAX_COUNTER, "devA")
    with pytest.raises(CounterOverflowError) as info:
        clock.tick()
    assert info.value.code == "hlc_overflow"
    assert clock.last == Hlc(1000, MAX_COUNTER, "devA"), "a failed tick must not move the clock"


def test_overflow_clears_when_wall_time_moves() -> None:
    wall = Wall(1000)
    clock = HybridClock("devA", now_ms=wall, last=Hlc(1000, MAX_COUNTER, "devA"))
    with pytest.raises(CounterOverflowError):
        clock.tick()
    wall.now = 1001
    assert clock.tick() == Hlc(1001, 0, "devA")


# --- receive ------------------------------------------------------------------

# (last (wall, counter), wall now, remote (wall, counter), expected (wall, counter))
RECEIVES = [
    pytest.param((1000, 0), 2000, (1500, 7), (2000, 0), id="wall-ahead-of-both"),
    pytest.param((1000, 0), 1000, (1500, 7), (1500, 8), id="remote-ahead"),
    pytest.param((1500, 3), 1000, (1200, 9), (1500, 4), id="last-ahead"),
    pytest.param((1500, 3), 1000, (1500, 9), (1500, 10), id="last-equals-remote-remote-higher"),
    pytest.param((1500, 9), 1000, (1500, 3), (1500, 10), id="last-equals-remote-last-higher"),
    pytest.param((1500, 2), 1500, (1500, 2), (1500, 3), id="all-equal"),
    pytest.param((1000, 4), 1500, (1500, 2), (1500, 3), id="wall-equals-remote"),
    pytest.param((1500, 4), 1500, (1000, 2), (1500, 5), id="wall-equals-last"),
]


@pytest.mark.parametrize(("last", "now", "remote", "expected"), RECEIVES)
def test_receive_merges_remote_clock(last, now, remote, expected) -> None:
    clock = HybridClock("devA", now_ms=Wall(now), last=Hlc(*last, "devA"))
    got = clock.receive(str(Hlc(*remote, "devB")))
    assert (got.wall_ms, got.counter) == expected
    assert got.node == "devA"
    assert got > Hlc(*last, "devA") and got > Hlc(*remote, "devB")
    assert clock.last == got
    assert clock.tick() > got


def test_receive_accepts_hlc_objects_and_strings_alike() -> None:
    a = HybridClock("devA", now_ms=Wall(1000))
    b = HybridClock("devA", now_ms=Wall(1000))
    remote = Hlc(1200, 3, "devB")
    assert a.receive(remote) == b.receive(str(remote))


def test_receive_rejects_malformed_remote() -> None:
    with pytest.raises(HlcError):
        HybridClock("devA", now_ms=Wall(1000)).receive("yesterday")


# (max drift, remote ahead of wall by, raises?)
DRIFTS = [
    (60_000, 60_000, False),
    (60_000, 60_001, True),
    (60_000, -10_000, False),
    (None, 10 * 365 * 24 * 3600 * 1000, False),  # no limit configured
]


@pytest.mark.parametrize(("max_drift", "ahead", "raises"), DRIFTS)
def test_receive_refuses_a_clock_too_far_ahead(max_drift, ahead, raises) -> None:
    now = 1_764_140_000_000
    before = Hlc(now - 5, 0, "devA")
    clock = HybridClock("devA", now_ms=Wall(now), last=before, max_drift_ms=max_drift)
    remote = Hlc(now + ahead, 0, "devB")
    if raises:
        with pytest.raises(ClockDriftError) as info:
            clock.receive(remote)
        assert info.value.code == "clock_drift"
        assert clock.last == before, "a refused clock must not move ours"
    else:
        assert clock.receive(remote).wall_ms == max(now, now + ahead)


def test_receive_overflow_at_max_counter() -> None:
    clock = HybridClock("devA", now_ms=Wall(1000), last=Hlc(1000, 5, "devA"))
    with pytest.raises(CounterOverflowError):
        clock.receive(Hlc(1000, MAX_COUNTER, "devB"))
