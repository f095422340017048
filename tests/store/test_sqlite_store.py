"""SqliteStore: the conformance suite on a tmp_path file, plus SQLite specifics."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Callable, Iterator

import pytest
import sqlite_utils

from .conformance import SyncStoreConformance, put
from sync_server.store.sqlite import SqliteStore, migrations

MIGRATIONS = ["m001_core", "m002_office", "m003_drop_field_history_record"]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "server.db"


@pytest.fixture
def open_another(db_path: Path) -> Iterator[Callable[[], SqliteStore]]:
    opened: list[SqliteStore] = []

    def open_() -> SqliteStore:
        s = SqliteStore(db_path)
        opened.append(s)
        return s

    yield open_
    for s in opened:
        s.close()


@pytest.fixture
def store(db_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(db_path)
    s.migrate()
    yield s
    s.close()


class TestSqliteStore(SyncStoreConformance):
    pass


# --- migrations ---------------------------------------------------------------


def test_migrations_are_recorded(store: SqliteStore) -> None:
    assert store.applied_migrations() == MIGRATIONS
    store.migrate()
    assert store.applied_migrations() == MIGRATIONS


def test_migrations_are_ordered_and_named() -> None:
    names = [m.name for m in migrations.pending(sqlite_utils.Database(memory=True))]
    assert names == MIGRATIONS == sorted(MIGRATIONS)


def test_new_database_has_no_migrations_until_migrate(db_path: Path) -> None:
    s = SqliteStore(db_path)
    try:
        assert s.applied_migrations() == []
        s.migrate()
        assert s.applied_migrations() == MIGRATIONS
    finally:
        s.close()


def test_m001_core_creates_the_schema(store: SqliteStore, db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"counters", "records", "field_history", "tombstones", "conflicts", "mutations",
                "users", "devices", "tokens", "blobs", "uploads"} <= tables
        assert conn.execute("SELECT value FROM counters WHERE name='rev'").fetchone() == (0,)
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        assert {"records_rev", "conflicts_status", "mutations_device", "tokens_device"} <= indexes
    finally:
        conn.close()


def test_m002_office_adds_audit_and_calendar(store: SqliteStore, db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    try:
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"audit_log", "calendar"} <= tables
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        assert {"audit_log_at", "audit_log_entity"} <= indexes
    finally:
        conn.close()


def test_m003_history_lookups_use_the_primary_key(store: SqliteStore, db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    try:
        indexes = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        assert "field_history_record" not in indexes
        plan = " ".join(str(r) for r in conn.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM field_history WHERE entity=? AND id=?", ("s", "x")))
        assert "sqlite_autoindex_field_history_1" in plan, plan
    finally:
        conn.close()


# --- SQLite specifics -----------------------------------------------------------


def test_wal_and_full_sync(store: SqliteStore) -> None:
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with store.transaction() as tx:
        assert tx.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_record_revisions_are_unique_in_the_table(store: SqliteStore) -> None:
    with store.transaction() as tx:
        put(tx, "site", "s1")
    with pytest.raises(sqlite3.IntegrityError):
        with store.transaction() as tx:
            r = tx.get_record("site", "s1")
            r.id = "s2"  # same rev, another record
            tx.put_record(r)
    assert store.count_records("site") == 1


def test_reference_rows_are_flagged(store: SqliteStore) -> None:
    with store.transaction() as tx:
        for entity in ("village", "department", "user", "checklist_template", "site"):
            put(tx, entity, f"{entity}-1")
    flagged = dict(store.conn.execute("SELECT entity, ref FROM records").fetchall())
    assert flagged == {"village": 1, "department": 1, "user": 1, "checklist_template": 1,
                       "site": 0}


def test_backup_is_a_consistent_copy(store: SqliteStore, tmp_path: Path) -> None:
    with store.transaction() as tx:
        put(tx, "site", "s1", {"name": "备份"})
    store.backup(tmp_path / "copy.db")
    copy = SqliteStore(tmp_path / "copy.db")
    try:
        assert copy.get_record("site", "s1").data["name"] == "备份"
        assert copy.applied_migrations() == MIGRATIONS
        assert copy.integrity_check() == "ok"
    finally:
        copy.close()
