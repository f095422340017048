"""The conformance suite on the in-memory backend: SQLite ``:memory:``, built
through ``open_store`` from its URL. One connection and nothing on disk: the
tests that need a second connection to the same database (another process)
or a reopened one have nothing to open and are skipped here; they run on the
file backend (test_sqlite_store.py)."""

from __future__ import annotations

from typing import Iterator

import pytest

from sync_server.store import SyncStore, open_store

from .conformance import SyncStoreConformance


@pytest.fixture
def store() -> Iterator[SyncStore]:
    s = open_store("sqlite:///:memory:")
    s.migrate()
    yield s
    s.close()


@pytest.fixture
def open_another() -> None:
    pytest.skip("an in-memory database has no second connection or reopening")


class TestMemoryStore(SyncStoreConformance):
    pass
