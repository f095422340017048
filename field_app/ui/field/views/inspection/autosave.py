"""Typed text is saved after a short pause, and at once on a step change or
submit (``flush``): a save per keystroke would write the outbox on every key."""

from __future__ import annotations

import asyncio
from typing import Any, Callable

PAUSE_S = 0.6


class Autosave:
    def __init__(self, saved: Callable[[], None], failed: Callable[[BaseException], None]) -> None:
        self.saved = saved  # after a delayed save: redraw what it changed
        self.failed = failed  # a delayed save that raised: the timer's own boundary
        self.tasks: dict[str, asyncio.Task[Any]] = {}
        self.waiting: dict[str, Callable[[], None]] = {}

    def later(self, key: str, fn: Callable[[], Any]) -> None:
        """Save ``fn`` for ``key`` after the pause, replacing one not yet run."""
        old = self.tasks.get(key)
        if old and not old.done():
            old.cancel()
        self.waiting[key] = fn

        async def run() -> None:
            await asyncio.sleep(PAUSE_S)
            f = self.waiting.pop(key, None)
            if f is None:
                return
            try:
                f()
                self.saved()
            except Exception as exc:  # the timer has no handler around it: this is its boundary
                self.failed(exc)

        self.tasks[key] = asyncio.ensure_future(run())

    def cancel(self, key: str) -> None:
        """Drop a waiting save (the text turned invalid: it is never stored)."""
        old = self.tasks.pop(key, None)
        if old and not old.done():
            old.cancel()
        self.waiting.pop(key, None)

    async def flush(self) -> None:
        """Every waiting save, now."""
        for task in list(self.tasks.values()):
            if not task.done():
                task.cancel()
        for fn in list(self.waiting.values()):
            fn()
        self.waiting.clear()
        self.tasks.clear()
