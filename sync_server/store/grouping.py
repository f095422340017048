"""Group commit, whatever the engine: writers that queue while a group runs
share its transaction and its commit.

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
