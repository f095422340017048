"""Password hashing with scrypt (stdlib); constant-time verification; the
cost is a setting (``Settings.scrypt_n``) and old hashes are upgraded on login."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache

#: OWASP Password Storage Cheat Sheet: scrypt with N=2^17 (128 MiB), r=8, p=1.
OWASP_N, R, P = 2**17, 8, 1
#: Hashes made before the cost was a setting (and the cost the test suite
#: runs with, set through ``Settings``): 2^14.
LEGACY_N = 2**14
#: The scrypt memory a stored hash may ask for: parameters beyond it are a
#: refusal, not an allocation (a tampered row cannot make a login take GiBs).
MAX_SCRYPT_MEMORY = 1024 * 1024 * 1024

#: scrypt needs 128·r·N bytes (128 MiB at OWASP's cost) and a large share of a
#: core. It runs on a pool of one thread per core: more at once only adds memory
#: (at most SCRYPT_THREADS × 128·r·N bytes while hashing). Blocks of that size are
#: above glibc's mmap threshold and go back to the system when a hash ends
#: (docs/performance.md, "Settings").
SCRYPT_THREADS = max(1, os.cpu_count() or 1)
_POOL = ThreadPoolExecutor(SCRYPT_THREADS, thread_name_prefix="scrypt")


def scrypt_memory(n: int, r: int, p: int) -> int:
    """The bytes OpenSSL's scrypt allocates (its ``maxmem`` check): the
    working array V (128·r·(N+2)) and the block B (128·r·p)."""
    return 128 * r * (n + 2) + 128 * r * p


def valid_n(n: int) -> bool:
    """A usable cost: a power of two from 2^10 to 2^20."""
    return 2**10 <= n <= 2**20 and n & (n - 1) == 0


def _scrypt(password: bytes, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    # hashlib's default ``maxmem`` is OpenSSL's 32 MiB: too little for 2^17.
    return _POOL.submit(hashlib.scrypt, password, salt=salt, n=n, r=r, p=p, dklen=dklen,
                        maxmem=scrypt_memory(n, r, p) + 1024 * 1024).result()


def hash_password(password: str, n: int = OWASP_N) -> str:
    """``scrypt$N$r$p$salt$digest``; ``n`` is the cost (default OWASP's)."""
    if not valid_n(n):
        raise ValueError(f"scrypt N must be a power of two from 2^10 to 2^20, got {n}")
    salt = secrets.token_bytes(16)
    digest = _scrypt(password.encode(), salt, n, R, P, 32)
    b64 = base64.b64encode
    return f"scrypt${n}${R}${P}${b64(salt).decode()}${b64(digest).decode()}"


def parameters(encoded: str) -> tuple[int, int, int] | None:
    """(N, r, p) of a stored hash, or None when it is not one of ours."""
    try:
        scheme, n, r, p, _salt, _digest = encoded.split("$")
        if scheme != "scrypt":
            return None
        return int(n), int(r), int(p)
    except ValueError:
        return None


def needs_rehash(encoded: str, n: int = OWASP_N) -> bool:
    """Is this stored hash weaker than the current cost (any parameter
    lower than N ``n``, r=8, p=1)? Checked after a successful login."""
    params = parameters(encoded)
    return params is None or params[0] < n or params[1] < R or params[2] < P


def verify_password(password: str, encoded: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = encoded.split("$")
        if scheme != "scrypt":
            return False
        n_, r_, p_ = int(n), int(r), int(p)
        if min(n_, r_, p_) < 1 or scrypt_memory(n_, r_, p_) > MAX_SCRYPT_MEMORY:
            return False
        expect = base64.b64decode(digest)
        got = _scrypt(password.encode(), base64.b64decode(salt), n_, r_, p_, len(expect))
    except (ValueError, TypeError, OverflowError):
        return False
    return hmac.compare_digest(got, expect)


@lru_cache(maxsize=4)
def dummy_hash(n: int) -> str:
    """A fixed hash at cost ``n`` to verify against when the user does not
    exist, so a wrong username costs as much time as a wrong password."""
    return hash_password("not-a-password", n)
