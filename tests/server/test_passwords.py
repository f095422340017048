"""Password hashing: scrypt round trip, refusals, and a login storm bounded to
one scrypt per core (16 MiB each) instead of one per worker thread."""

from __future__ import annotations

import hashlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from sync_server.domain.auth import passwords
from sync_server.domain.auth.passwords import hash_password, verify_password


def test_a_password_verifies_and_a_wrong_one_does_not() -> None:
    encoded = hash_password("pw-治欠")
    assert encoded.startswith("scrypt$16384$8$1$")
    assert verify_password("pw-治欠", encoded)
    assert not verify_password("pw-治欠 ", encoded)
    assert hash_password("pw-治欠") != encoded  # a fresh salt each time


@pytest.mark.parametrize("encoded", [
    "", "scrypt$x", "bcrypt$16384$8$1$c2FsdA==$ZGlnZXN0", "scrypt$abc$8$1$c2FsdA==$ZGlnZXN0",
    "scrypt$16384$8$1$***$ZGlnZXN0",
])
def test_a_malformed_hash_is_a_refusal_not_a_crash(encoded: str) -> None:
    assert verify_password("anything", encoded) is False


def test_a_login_storm_runs_one_scrypt_per_core_at_most(monkeypatch) -> None:
    encoded = hash_password("pw")
    real = hashlib.scrypt
    lock = threading.Lock()
    now = [0]
    peak = [0]

    def counting(*args, **kwargs):  # the real scrypt, with the number running at once
        with lock:
            now[0] += 1
            peak[0] = max(peak[0], now[0])
        try:
            return real(*args, **kwargs)
        finally:
            with lock:
                now[0] -= 1

    monkeypatch.setattr(passwords.hashlib, "scrypt", counting)
    monkeypatch.setattr(passwords, "SCRYPT_SLOTS", threading.BoundedSemaphore(2))  # two cores
    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(lambda _: verify_password("pw", encoded), range(24)))
    assert results == [True] * 24
    assert 1 <= peak[0] <= 2


def test_the_slots_are_the_cores() -> None:
    held = 0
    while passwords.SCRYPT_SLOTS.acquire(blocking=False):
        held += 1
    for _ in range(held):
        passwords.SCRYPT_SLOTS.release()
    assert held == max(1, os.cpu_count() or 1)
