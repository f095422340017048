"""Device settings: one frozen dataclass, passed to ``Device.open``.

Nothing is read from the environment here; the CLI (or the UI) builds the
settings once and hands them in. The injectable callables (``sleep``,
``random``, ``now_ms``) and ``transport`` exist so tests can drive back-off,
time and network faults without waiting.
"""

from __future__ import annotations

import random as _random
import time
from dataclasses import dataclass, field
from typing import Callable

import httpx

from shared_schema.hlc import system_now_ms


@dataclass(frozen=True)
class DeviceSettings:
    #: Mutations per push request.
    batch_size: int = 200
    #: Changes per pull page (the server caps it at 10,000).
    pull_limit: int = 1000
    #: Changes per pull page when pulling from cursor 0 (first sync, full resync): each page
    #: is one local commit, and a commit rewrites every record-index page it touched, so a
    #: district-size first sync writes far less with fewer, larger pages.
    first_pull_limit: int = 5000
    #: Longest edge of a stored photo, in pixels.
    photo_max_px: int = 1600
    #: JPEG quality of stored photos.
    jpeg_quality: int = 80
    #: If a stored photo is larger than this, the quality is stepped down (to 50 at least).
    photo_max_bytes: int = 400_000
    #: Keep the camera's original file under photos/originals/ as well.
    keep_originals: bool = False
    #: Attempts for one request (or one photo) before the sync gives up for now.
    max_attempts: int = 5
    #: Back-off before retry n is random() * min(backoff_max_s, backoff_base_s * 2**n).
    backoff_base_s: float = 0.5
    backoff_max_s: float = 30.0
    #: httpx timeouts, in seconds.
    connect_timeout_s: float = 10.0
    read_timeout_s: float = 60.0
    #: Bytes per tus PATCH request.
    upload_chunk_bytes: int = 1024 * 1024
    #: Name sent with the login (shown to the office in the device list).
    device_name: str = "field-app"
    # Injectable for tests.
    sleep: Callable[[float], None] = field(default=time.sleep, compare=False, repr=False)
    random: Callable[[], float] = field(default=_random.random, compare=False, repr=False)
    now_ms: Callable[[], int] = field(default=system_now_ms, compare=False, repr=False)
    transport: httpx.BaseTransport | None = field(default=None, compare=False, repr=False)

    def backoff_s(self, attempt: int) -> float:
        """Seconds to wait before retry ``attempt`` (0-based): full jitter."""
        return self.random() * min(self.backoff_max_s, self.backoff_base_s * 2**attempt)
