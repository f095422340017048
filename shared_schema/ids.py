"""UUID version 7 (RFC 9562): 48-bit unix ms, then random bits; sorts by time."""

from __future__ import annotations

import os
import uuid
from typing import Callable

from shared_schema.hlc import system_now_ms


def uuid7(now_ms: Callable[[], int] = system_now_ms, rand: Callable[[int], bytes] = os.urandom) -> str:
    ms = now_ms() & ((1 << 48) - 1)
    r = int.from_bytes(rand(10), "big")
    rand_a = r >> 68 & 0xFFF
    rand_b = r & ((1 << 62) - 1)
    value = ms << 80 | 0x7 << 76 | rand_a << 64 | 0b10 << 62 | rand_b
    return str(uuid.UUID(int=value))


def is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
    except (ValueError, TypeError, AttributeError):
        return False
    return True
