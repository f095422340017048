"""What both store engines' writers keep in the process: the group-commit
queue and the noted pull times.

Group commit: writers that queue while a group runs share its transaction
and its commit.

The first caller while no group is running leads: it takes the queued writers
(up to ``max_writers``), hands them to the engine's ``commit_group`` in
arrival order, then hands the lead to the next queued writer. The others
wait. ``commit_group`` sets each job's ``result`` or ``error`` (a writer's
failure undoes its own writes only; a failed commit is every job's error);
every job of the group is then finished and woken here.
"""

from __future__ import annotations

import collections
import threading
import time
from typing import Any, Callable


class GroupJob:
    """One writer of a group: its function, then its outcome."""

    __slots__ = ("fn", "wake", "done", "result", "error")

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        self.fn = fn
        self.wake = threading.Event()
        self.done = False
        self.result: Any = None
        self.error: BaseException | None = None

    def outcome(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.result


class GroupCommit:
    """The queue of one store's writers and whose turn it is to lead."""

    def __init__(self, max_writers: int) -> None:
        self.max_writers = max_writers
        self._lock = threading.Lock()
        self._queue: collections.deque[GroupJob] = collections.deque()
        self._busy = False

    def run(self, fn: Callable[[Any], Any],
            commit_group: Callable[[list[GroupJob]], None]) -> Any:
        """``fn``'s result (or its exception) once its group is committed."""
        job = GroupJob(fn)
        with self._lock:
            self._queue.append(job)
            lead = not self._busy
            self._busy = True
        if not lead:
            job.wake.wait()
            if job.done:
                return job.outcome()
        # leading: our job is at the head of the queue
        with self._lock:
            group: list[GroupJob] = []
            while self._queue and len(group) < self.max_writers:
                group.append(self._queue.popleft())
        try:
            try:
                commit_group(group)
            except BaseException as exc:  # nothing of the group was committed
                for j in group:
                    j.result, j.error = None, exc
            for j in group:
                j.done = True
                j.wake.set()
        finally:
            with self._lock:
                if self._queue:
                    self._queue[0].wake.set()  # the next leader
                else:
                    self._busy = False
        return job.outcome()


class PullNotes:
    """Pull times noted in memory, written by the next write transaction of the
    process (both engines' ``note_pull``): the latest per device, and since when
    the oldest has waited."""

    def __init__(self, max_wait_s: float) -> None:
        self.max_wait_s = max_wait_s
        self._lock = threading.Lock()
        self._pulls: dict[str, int] = {}
        self._since: float | None = None

    def __bool__(self) -> bool:
        return bool(self._pulls)

    def note(self, device_id: str, at_ms: int) -> bool:
        """Keep ``at_ms`` for ``device_id``; whether a write is due to carry them."""
        now = time.monotonic()
        with self._lock:
            self._pulls[device_id] = max(at_ms, self._pulls.get(device_id, at_ms))
            if self._since is None:
                self._since = now
            return now - self._since >= self.max_wait_s

    def take(self) -> dict[str, int]:
        """All noted times, for a transaction to write (``keep`` them if it fails)."""
        with self._lock:
            pulls, self._pulls, self._since = self._pulls, {}, None
        return pulls

    def keep(self, pulls: dict[str, int]) -> None:
        """Times a transaction took but did not commit: noted again."""
        if not pulls:
            return
        with self._lock:
            for d, ms in pulls.items():
                self._pulls[d] = max(ms, self._pulls.get(d, ms))
            self._since = self._since or time.monotonic()

    def latest(self, device_id: str) -> int | None:
        with self._lock:
            return self._pulls.get(device_id)
