"""``open_store``: the one place a store is built, from the one setting."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sync_server.store import StoreMissing, StoreUnavailable, open_store
from sync_server.store.base import Visibility
from sync_server.store.sqlite import SqliteStore

from .conformance import put


@pytest.mark.parametrize("form", ["path", "str", "url"])
def test_a_path_or_an_sqlite_url_opens_the_same_file(tmp_path: Path, form: str) -> None:
    db = tmp_path / "server.db"
    location = {"path": db, "str": str(db), "url": f"sqlite:///{db}"}[form]
    store = open_store(location)
    try:
        assert isinstance(store, SqliteStore) and store.path == str(db)
        store.migrate()
        with store.transaction() as tx:
            put(tx, "site", "s1")
    finally:
        store.close()
    again = open_store(db, create=False)
    try:
        assert [r.id for r in again.change_rows_since(0, 10, Visibility(all=True), upto=1)] == [
            "s1"]
    finally:
        again.close()


def test_a_relative_sqlite_url_is_relative(tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = open_store("sqlite:///data/server.db")
    store.close()
    assert (tmp_path / "data" / "server.db").is_file()


def test_an_in_memory_store_keeps_nothing(tmp_path: Path) -> None:
    store = open_store("sqlite:///:memory:")
    try:
        store.migrate()
        assert store.pending_migrations() == []
    finally:
        store.close()
    assert list(tmp_path.iterdir()) == []


def test_create_off_refuses_a_missing_database(tmp_path: Path) -> None:
    with pytest.raises(StoreMissing):
        open_store(tmp_path / "nope.db", create=False)
    assert not (tmp_path / "nope.db").exists()


def test_a_directory_is_not_a_database(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable, match="is a directory"):
        open_store(tmp_path)


def test_an_unknown_engine_is_refused(tmp_path: Path) -> None:
    with pytest.raises(StoreUnavailable, match="known: sqlite:///, postgresql://"):
        open_store("mysql://wage@localhost/patrol")


def test_a_postgresql_url_builds_the_postgresql_store(pg_databases: Any) -> None:
    from sync_server.store.postgres import PostgresStore

    url = pg_databases.fresh()
    try:
        for form in (url, url.replace("postgresql://", "postgres://", 1)):
            store = open_store(form, pool_min=1, pool_max=2, connect_timeout=5)
            try:
                assert isinstance(store, PostgresStore)
                assert store.pending_migrations() == []
            finally:
                store.close()
    finally:
        pg_databases.drop(url)


def test_the_app_and_the_cli_build_the_store_only_through_open_store() -> None:
    """No engine below the factory: app.py and the CLI import neither
    ``sqlite3`` nor the SQLite backend."""
    import ast

    root = Path(__file__).resolve().parents[2] / "sync_server"
    files = [root / "app.py", *sorted((root / "cli").glob("*.py"))]
    for path in files:
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module:
                imported.add(node.module)
        assert not {m for m in imported if m in ("sqlite3", "psycopg")
                    or m.startswith(("sync_server.store.sqlite", "sync_server.store.postgres"))
                    }, path
