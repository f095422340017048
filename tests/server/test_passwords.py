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


def test_a_login_storm_runs_scrypt_on_one_thread_per_core(monkeypatch) -> None:
    """However many threads log in at once, scrypt runs on the pool's threads
    only (each keeps its 16 MiB in its own malloc arena)."""
    encoded = hash_password("pw")
    real = hashlib.scrypt
    names: set[str] = set()

    def recording(*args, **kwargs):  # the real scrypt, noting the thread it runs on
        names.add(threading.current_thread().name)
        return real(*args, **kwargs)

    monkeypatch.setattr(passwords.hashlib, "scrypt", recording)
    with ThreadPoolExecutor(12) as pool:
        results = list(pool.map(lambda _: verify_password("pw", encoded), range(24)))
    assert results == [True] * 24
    assert names and all(n.startswith("scrypt") for n in names)
    assert len(names) <= passwords.SCRYPT_THREADS == max(1, os.cpu_count() or 1)
