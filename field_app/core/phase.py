"""What the sync's phases share (``pull``, ``push``, ``upload``): the client's
parts, the clock offset, and a call run in the background while the caller
works (a pull page fetched, a push batch sent)."""

from __future__ import annotations

import threading
from typing import Callable, Generic, TypeVar

from field_app.core.outbox import DeviceClock, Outbox
from field_app.core.reports import SyncProgress
from field_app.core.settings import DeviceSettings
from field_app.core.store import LocalStore, Tx

Progress = Callable[[SyncProgress], None]


class Phase:
    """The parts every phase of ``SyncClient`` works with."""

    def __init__(self, store: LocalStore, outbox: Outbox, clock: DeviceClock,
                 settings: DeviceSettings, device_id: str) -> None:
        self.store = store
        self.outbox = outbox
        self.clock = clock
        self.settings = settings
        self.device_id = device_id

    def _offset(self, tx: Tx, server_time_ms: int, at_ms: int | None = None) -> None:
        """``server_time_ms`` of a response received at ``at_ms`` (now if None)."""
        if server_time_ms:
            tx.set("clock_offset_ms", server_time_ms - (at_ms or self.settings.now_ms()))



T = TypeVar("T")


class Prefetch(Generic[T]):
    """One call run in a background thread; ``result`` waits for it and
    returns its value or raises its exception, as if it were made then."""

    def __init__(self, fn: Callable[[], T], name: str) -> None:
        self._out: T | None = None
        self._exc: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fn,), daemon=True, name=name)
        self._thread.start()

    def _run(self, fn: Callable[[], T]) -> None:
        try:
            self._out = fn()
        except BaseException as exc:  # handed to the caller by result()
            self._exc = exc

    def result(self) -> T:
        self._thread.join()
        if self._exc is not None:
            raise self._exc
        return self._out  # type: ignore[return-value]

    def discard(self) -> None:
        self._thread.join()
