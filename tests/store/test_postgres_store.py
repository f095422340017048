"""PostgresStore: the conformance suite on a fresh PostgreSQL database per
test, plus PostgreSQL specifics (tests/store/test_postgres_concurrency.py:
the cursor and exactly-once across connections)."""

from __future__ import annotations

from typing import Any, Callable, Iterator

import pytest

from .conformance import SyncStoreConformance, put
from sync_server.store import StoreMissing, StoreUnavailable, open_store
from sync_server.store.base import Visibility
from sync_server.store.postgres import PostgresStore
from sync_server.store.postgres.migrations import MIGRATIONS


@pytest.fixture
def pg_url(pg_databases: Any) -> Iterator[str]:
    url = pg_databases.fresh()
    yield url
    pg_databases.drop(url)


@pytest.fixture
def open_another(pg_url: str) -> Iterator[Callable[[], PostgresStore]]:
    opened: list[PostgresStore] = []

    def open_() -> PostgresStore:
        s = PostgresStore(pg_url)
        opened.append(s)
        return s

    yield open_
    for s in opened:
        s.close()


@pytest.fixture
def store(pg_url: str) -> Iterator[PostgresStore]:
    s = PostgresStore(pg_url)
    s.migrate()
    yield s
    s.close()


class TestPostgresStore(SyncStoreConformance):
    pass


def test_migrations_are_recorded_once(store: PostgresStore) -> None:
    assert store.applied_migrations() == [name for name, _ in MIGRATIONS]
    store.migrate()
    assert store.applied_migrations() == [name for name, _ in MIGRATIONS]
    assert store.pending_migrations() == []


def test_a_new_database_is_migrated_from_nothing(pg_databases: Any) -> None:
    url = pg_databases.empty()
    store = open_store(url)
    try:
        assert store.pending_migrations() == [name for name, _ in MIGRATIONS]
        store.migrate()
        assert store.pending_migrations() == []
        with store.transaction() as tx:
            put(tx, "site", "s1", {"name": "工地"})
        assert [r.id for r in store.change_rows_since(0, 10, Visibility(all=True), upto=1)] == [
            "s1"]
    finally:
        store.close()
        pg_databases.drop(url)


def test_open_store_refuses_an_empty_database_when_asked_not_to_create(
        pg_databases: Any) -> None:
    url = pg_databases.empty()
    try:
        with pytest.raises(StoreMissing):
            open_store(url, create=False)
    finally:
        pg_databases.drop(url)


def test_an_unreachable_server_is_unavailable() -> None:
    with pytest.raises(StoreUnavailable, match="unavailable"):
        open_store("postgresql://postgres@127.0.0.1:1/nothing", connect_timeout=1)


def test_the_database_going_away_is_unavailable(pg_databases: Any) -> None:
    url = pg_databases.empty()
    store = open_store(url, connect_timeout=1)
    try:
        store.migrate()
        assert store.max_rev() == 0
        pg_databases.drop(url)  # DROP DATABASE … WITH (FORCE): ends the store's connections
        with pytest.raises(StoreUnavailable):
            for _ in range(3):  # the pool may hand out a connection it has not seen die
                store.max_rev()
        with pytest.raises(StoreUnavailable):
            with store.transaction():
                pass
    finally:
        store.close()


def test_connections_the_server_closed_are_replaced(pg_url: str) -> None:
    """After the server ends every connection (a restart), reads and writes go
    on through new connections: the dead ones fail at once and leave the pool."""
    import psycopg

    from pg_server import ADMIN_URL

    store = PostgresStore(pg_url, pool_min=3, pool_max=3)
    try:
        with store.transaction() as tx:
            put(tx, "site", "s1")
        dbname = pg_url.rpartition("/")[2]
        with psycopg.connect(ADMIN_URL, autocommit=True) as admin:
            ended = admin.execute(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = %s", (dbname,)).fetchone()[0]
        assert ended >= 1
        assert store.get_record("site", "s1") is not None
        assert store.max_rev() == 1
        with store.transaction() as tx:
            put(tx, "site", "s2")
        assert store.max_rev() == 2
    finally:
        store.close()


def test_pool_stats_tell_the_pool(pg_url: str) -> None:
    """psycopg_pool's counters: its size as opened, and the checkouts made."""
    store = PostgresStore(pg_url, pool_min=2, pool_max=4)
    try:
        before = store.pool_stats()
        assert before["pool_min"] == 2 and before["pool_max"] == 4 and before["pool_size"] >= 2
        store.max_rev()
        store.max_rev()
        assert store.pool_stats()["requests_num"] >= before.get("requests_num", 0) + 2
    finally:
        store.close()


def test_backup_leaves_out_the_photo_tables_data(pg_url: str, tmp_path: Any) -> None:
    """Photos kept in the store's database (``blobstore_*``) are copied by the
    backup's photo step: the dump holds their tables but not their bytes."""
    import subprocess

    import psycopg

    store = PostgresStore(pg_url)
    try:
        with store.transaction() as tx:
            put(tx, "site", "s1")
        with psycopg.connect(pg_url, autocommit=True) as conn:
            conn.execute("CREATE TABLE blobstore_blobs (sha256 text PRIMARY KEY, data bytea)")
            conn.execute("INSERT INTO blobstore_blobs VALUES ('ab', '\\x00ff')")
        assert store.backup(tmp_path / "db.pgdump").ok
    finally:
        store.close()
        with psycopg.connect(pg_url, autocommit=True) as conn:  # the database is reused
            conn.execute("DROP TABLE IF EXISTS blobstore_blobs")
    listing = subprocess.run(["pg_restore", "--list", str(tmp_path / "db.pgdump")],
                             capture_output=True, text=True, check=True).stdout
    assert " TABLE public blobstore_blobs " in listing
    assert " TABLE DATA public records " in listing
    assert " TABLE DATA public blobstore_blobs " not in listing


def test_multi_row_insert_statements() -> None:
    from sync_server.store.postgres.columns import multi_row

    assert multi_row("INSERT INTO t (a, b) VALUES (%s, coalesce(%s, (1))) ON CONFLICT (a) DO NOTHING",
                     2) == ("INSERT INTO t (a, b) VALUES (%s, coalesce(%s, (1))),(%s, coalesce(%s, (1)))"
                            " ON CONFLICT (a) DO NOTHING")
    assert multi_row("UPDATE t SET a=%s WHERE b=%s", 2) is None
    assert multi_row("INSERT INTO t (a) SELECT %s", 2) is None
