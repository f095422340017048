"""Hybrid logical clock: ``"{wall_ms:013d}.{counter:04d}.{node}"``.

String order equals clock order (fixed-width wall time and counter). The
clock is pure: wall time comes from an injected ``now_ms`` callable.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

MAX_COUNTER = 9999


class HlcError(ValueError):
    code = "invalid_hlc"


class ClockDriftError(HlcError):
    """A received clock is further ahead of our wall time than allowed."""

    code = "clock_drift"


class CounterOverflowError(HlcError):
    """More than 10,000 events in one millisecond without wall time moving."""

    code = "hlc_overflow"


@dataclass(frozen=True, order=True, slots=True)
class Hlc:
    wall_ms: int
    counter: int
    node: str

    def __str__(self) -> str:
        return f"{self.wall_ms:013d}.{self.counter:04d}.{self.node}"

    @classmethod
    def parse(cls, text: str) -> "Hlc":
        parts = text.split(".", 2)
        if (
            len(parts) != 3
            or len(parts[0]) != 13
            or len(parts[1]) != 4
            or not parts[0].isdigit()
            or not parts[1].isdigit()
            or not parts[2]
        ):
            raise HlcError(f"not an HLC string: {text!r}")
        return cls(int(parts[0]), int(parts[1]), parts[2])

    def restamped(self, wall_ms: int) -> "Hlc":
        """The same counter and node at another wall time (server clamping)."""
        return Hlc(wall_ms, self.counter, self.node)


def system_now_ms() -> int:
    return time.time_ns() // 1_000_000


class HybridClock:
    """One node's clock. ``tick`` stamps a local event, ``receive`` merges a remote HLC."""

    def __init__(
        self,
        node: str,
        now_ms: Callable[[], int] = system_now_ms,
        last: Hlc | None = None,
        max_drift_ms: int | None = None,
    ) -> None:
        if "." in node or not node:
            raise HlcError("node id must be non-empty and contain no '.'")
        self.node = node
        self._now = now_ms
        self.last = last or Hlc(0, 0, node)
        self.max_drift_ms = max_drift_ms

    def tick(self) -> Hlc:
        wall = self._now()
        if wall > self.last.wall_ms:
            nxt = Hlc(wall, 0, self.node)
        else:
            nxt = self._bump(self.last.wall_ms, self.last.counter)
        self.last = nxt
        return nxt

    def receive(self, remote: Hlc | str) -> Hlc:
        if isinstance(remote, str):
            remote = Hlc.parse(remote)
        wall = self._now()
        if self.max_drift_ms is not None and remote.wall_ms - wall > self.max_drift_ms:
            raise ClockDriftError(
                f"remote clock {remote.wall_ms} is {remote.wall_ms - wall} ms ahead"
            )
        top = max(wall, self.last.wall_ms, remote.wall_ms)
        if top == self.last.wall_ms == remote.wall_ms:
            nxt = self._bump(top, max(self.last.counter, remote.counter))
        elif top == self.last.wall_ms:
            nxt = self._bump(top, self.last.counter)
        elif top == remote.wall_ms:
            nxt = self._bump(top, remote.counter)
        else:
            nxt = Hlc(top, 0, self.node)
        self.last = nxt
        return nxt

    def _bump(self, wall: int, counter: int) -> Hlc:
        if counter >= MAX_COUNTER:
            raise CounterOverflowError(f"HLC counter overflow at wall {wall}")
        return Hlc(wall, counter + 1, self.node)
