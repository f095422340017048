"""Password hashing: scrypt at OWASP's cost by default (N=2^17, r=8, p=1),
round trip, refusals, re-hashing an old-cost hash at login, and a login storm
bounded to one scrypt per core instead of one per worker thread."""

from __future__ import annotations

import hashlib
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from server.support import PASSWORD, SCRYPT_N, device_secret
from sync_server.domain.auth import passwords
from sync_server.domain.auth.passwords import hash_password, needs_rehash, verify_password
from sync_server.domain.auth.service import create_user
from sync_server.settings import Settings


def test_the_default_cost_is_owasps() -> None:
    """OWASP Password Storage Cheat Sheet: scrypt N=2^17 (128 MiB), r=8, p=1.
    The test suite lowers it through ``Settings.scrypt_n`` only."""
    assert Settings().scrypt_n == 2**17 == passwords.OWASP_N
    assert Settings.from_env().scrypt_n == 2**17
    assert (passwords.R, passwords.P) == (8, 1)
    encoded = hash_password("pw-治欠")  # past hashlib's default maxmem of 32 MiB
    assert encoded.startswith("scrypt$131072$8$1$")
    assert verify_password("pw-治欠", encoded)
    assert not needs_rehash(encoded)
    assert needs_rehash(hash_password("pw-治欠", 2**14))


def test_a_password_verifies_and_a_wrong_one_does_not() -> None:
    encoded = hash_password("pw-治欠", SCRYPT_N)
    assert encoded.startswith(f"scrypt${SCRYPT_N}$8$1$")
    assert verify_password("pw-治欠", encoded)
    assert not verify_password("pw-治欠 ", encoded)
    assert hash_password("pw-治欠", SCRYPT_N) != encoded  # a fresh salt each time


def test_the_cost_setting_reads_from_the_environment(monkeypatch) -> None:
    monkeypatch.setenv("WAGE_PATROL_SCRYPT_N", "16384")
    assert Settings.from_env().scrypt_n == 2**14
    monkeypatch.setenv("WAGE_PATROL_SCRYPT_N", "100000")  # not a power of two
    with pytest.raises(ValueError, match="WAGE_PATROL_SCRYPT_N"):
        Settings.from_env()


def test_login_rehashes_an_old_cost_hash(make_app_client) -> None:
    """A hash below the server's cost is replaced at the next successful login
    (audited as ``rehashed``); a wrong password changes nothing."""
    app = make_app_client(scrypt_n=2**15)
    user = create_user(app.store, "old", PASSWORD, "office", scrypt_n=2**14)
    assert user.password_hash.startswith("scrypt$16384$")
    wrong = app.client.post("/api/v1/auth/login", json={
        "username": "old", "password": "not-it-at-all", "device_id": "d-old",
                                                        "device_secret": device_secret("d-old")})
    assert wrong.status_code == 401
    assert app.store.get_user_by_username("old").password_hash == user.password_hash
    r = app.client.post("/api/v1/auth/login", json={
        "username": "old", "password": PASSWORD, "device_id": "d-old",
                                                 "device_secret": device_secret("d-old")})
    assert r.status_code == 200, r.text
    stored = app.store.get_user_by_username("old").password_hash
    assert stored.startswith("scrypt$32768$8$1$") and verify_password(PASSWORD, stored)
    login = app.store.list_audit(action="login")
    assert login and login[0].details["rehashed"] is True
    again = app.client.post("/api/v1/auth/login", json={
        "username": "old", "password": PASSWORD, "device_id": "d-old",
                                                 "device_secret": device_secret("d-old")})
    assert again.status_code == 200
    assert app.store.get_user_by_username("old").password_hash == stored  # not again


@pytest.mark.parametrize("encoded", [
    "", "scrypt$x", "bcrypt$16384$8$1$c2FsdA==$ZGlnZXN0", "scrypt$abc$8$1$c2FsdA==$ZGlnZXN0",
    "scrypt$16384$8$1$***$ZGlnZXN0",
    "scrypt$1073741824$8$1$c2FsdA==$ZGlnZXN0",  # 1 TiB: refused, not allocated
    "scrypt$0$8$1$c2FsdA==$ZGlnZXN0",
])
def test_a_malformed_hash_is_a_refusal_not_a_crash(encoded: str) -> None:
    assert verify_password("anything", encoded) is False


def test_a_login_storm_runs_scrypt_on_one_thread_per_core(monkeypatch) -> None:
    """However many threads log in at once, scrypt runs on the pool's threads
    only (each keeps its 16 MiB in its own malloc arena)."""
    encoded = hash_password("pw", SCRYPT_N)
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
