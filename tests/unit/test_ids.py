"""UUID version 7: layout, version and variant bits, and time order."""

from __future__ import annotations

import uuid

import pytest

from shared_schema.ids import is_uuid, uuid7

T = 1_764_140_000_000


def _fixed(byte: int):
    return lambda n: bytes([byte]) * n


# (now_ms, random byte, expected text)
LAYOUT = [
    (0, 0x00, "00000000-0000-7000-8000-000000000000"),
    (T, 0x00, f"{T:012x}"[:8] + "-" + f"{T:012x}"[8:] + "-7000-8000-000000000000"),
    (T, 0xFF, f"{T:012x}"[:8] + "-" + f"{T:012x}"[8:] + "-7fff-bfff-ffffffffffff"),
    # only the low 48 bits of the time fit
    ((1 << 48) + 5, 0x00, "00000000-0005-7000-8000-000000000000"),
]


@pytest.mark.parametrize(("now", "byte", "text"), LAYOUT)
def test_layout(now: int, byte: int, text: str) -> None:
    assert uuid7(now_ms=lambda: now, rand=_fixed(byte)) == text


@pytest.mark.parametrize("byte", [0x00, 0x5A, 0xFF])
@pytest.mark.parametrize("now", [0, T, (1 << 48) - 1])
def test_version_variant_and_time(now: int, byte: int) -> None:
    u = uuid.UUID(uuid7(now_ms=lambda: now, rand=_fixed(byte)))
    assert u.version == 7
    assert u.variant == uuid.RFC_4122
    assert u.int >> 80 == now


def test_random_bits_differ_between_calls() -> None:
    ids = {uuid7(now_ms=lambda: T) for _ in range(1000)}
    assert len(ids) == 1000


TIMES = [
    [T, T + 1, T + 2],
    [0, 1, 1 << 20, T],
    [T - 1000, T, T + 86_400_000],
]


@pytest.mark.parametrize("times", TIMES)
def test_sorts_by_time(times: list[int]) -> None:
    # the later id gets the smallest random part: time alone must order them
    made = [uuid7(now_ms=lambda t=t: t, rand=_fixed(0xFF if i == 0 else 0x00))
            for i, t in enumerate(times)]
    assert sorted(made) == made
    assert sorted(made, key=uuid.UUID) == made


IS_UUID = [
    ("00000000-0000-7000-8000-000000000000", True),
    (str(uuid.uuid4()), True),
    ("019ab123-4567-7abc-8def-0123456789ab", True),
    ("not-a-uuid", False),
    ("", False),
    ("019ab123-4567-7abc-8def-0123456789a", False),
    (None, False),
    (42, False),
]


@pytest.mark.parametrize(("value", "expected"), IS_UUID)
def test_is_uuid(value, expected: bool) -> None:
    assert is_uuid(value) is expected
