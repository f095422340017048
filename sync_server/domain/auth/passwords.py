"""Password hashing with scrypt (stdlib); constant-time verification."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from concurrent.futures import ThreadPoolExecutor

N, R, P = 2**14, 8, 1

#: scrypt with these parameters needs 16 MiB (128·r·N bytes) and a core for
#: ~50 ms. It runs on a pool of one thread per core: more at once only adds
#: memory, and every thread that ever ran it keeps those 16 MiB in its own
#: malloc arena — logins on the server's 14–40 worker threads held ~300 MiB
#: after a login storm of 200 phones (see docs/performance.md).
SCRYPT_THREADS = max(1, os.cpu_count() or 1)
_POOL = ThreadPoolExecutor(SCRYPT_THREADS, thread_name_prefix="scrypt")


def _scrypt(password: bytes, salt: bytes, n: int, r: int, p: int, dklen: int) -> bytes:
    return _POOL.submit(hashlib.scrypt, password, salt=salt, n=n, r=r, p=p,
                        dklen=dklen).result()


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = _scrypt(password.encode(), salt, N, R, P, 32)
    b64 = base64.b64encode
    return f"scrypt${N}${R}${P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, encoded: str) -> bool:
    try:
        scheme, n, r, p, salt, digest = encoded.split("$")
        if scheme != "scrypt":
            return False
        expect = base64.b64decode(digest)
        got = _scrypt(password.encode(), base64.b64decode(salt), int(n), int(r), int(p),
                      len(expect))
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, expect)
