"""Fixtures of the operations tests: PostgreSQL databases (``pg_databases``,
tests/pg_server.py), tus helpers, and photo bytes."""

from __future__ import annotations

import base64
import hashlib
import os
import shutil

import pytest

@pytest.fixture
def pg_db(pg_databases) -> str:
    """A new, empty PostgreSQL database (dropped at the session's end)."""
    return pg_databases.empty()


@pytest.fixture
def pg_store_db(pg_databases) -> str:
    """A new, migrated, empty store database."""
    return pg_databases.fresh()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def tus_metadata(data: bytes, filename: str = "p.jpg") -> str:
    return ", ".join(f"{k} {base64.b64encode(v.encode()).decode()}"
                     for k, v in (("sha256", sha(data)), ("filename", filename)))


def photo(n: int = 300_000, seed: int = 1) -> bytes:
    """Bytes that stand for a photo (a JPEG's first two bytes, then noise)."""
    out = bytearray(b"\xff\xd8")
    block = hashlib.sha256(str(seed).encode()).digest()
    while len(out) < n:
        block = hashlib.sha256(block).digest()
        out += block
    return bytes(out[:n])


def have(program: str) -> bool:
    return shutil.which(program) is not None or os.path.exists(program)
