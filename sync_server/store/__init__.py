"""The server's store: the contract (``base``), one package per engine
(``sqlite``, ``postgres``), and ``open_store``, the one place a store is built.

The engine is chosen by one setting, the database location (``--db`` /
``WAGE_PATROL_DB`` / ``WAGE_PATROL_DATABASE_URL``): a file path, or a URL whose
scheme names the engine (``sqlite:///data/server.db``, ``sqlite:////srv/server.db``
for an absolute path, ``sqlite:///:memory:`` for a store in memory;
``postgresql://user@host:5432/dbname`` or ``postgres://…`` for PostgreSQL).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import psycopg

from sync_server.store.base import StoreHealth, SyncStore

__all__ = ["BACKEND_ERRORS", "StoreHealth", "engine_disk_full", "StoreMissing", "StoreUnavailable", "SyncStore",
           "is_database_url", "open_store"]

#: What the engines raise when their database fails under a running command
#: (the CLI reports it in one line).
BACKEND_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error, psycopg.Error)

_SQLITE = "sqlite:///"
_POSTGRES = ("postgresql://", "postgres://")


def engine_disk_full(exc: BaseException) -> bool:
    """Whether an engine's own error says its disk is full (SQLite: ``SQLITE_FULL``,
    "database or disk is full"); the OS's ENOSPC is the caller's to test."""
    if isinstance(exc, psycopg.errors.DiskFull):  # PostgreSQL: 53100 disk_full
        return True
    return isinstance(exc, sqlite3.Error) and (
        getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
        or "database or disk is full" in str(exc))


class StoreMissing(LookupError):
    """``open_store(..., create=False)``: there is no database there."""


class StoreUnavailable(Exception):
    """The database cannot be opened: the message says why."""


def open_store(location: str | Path, *, create: bool = True, pool_min: int | None = None,
               pool_max: int | None = None, connect_timeout: float | None = None) -> SyncStore:
    """The store at ``location``, opened but not migrated (``migrate()`` is the
    caller's next step). ``create`` off: refuse to make a new, empty database
    (PostgreSQL: one with no tables yet). The pool limits and connect timeout
    are PostgreSQL's (None: ``PostgresStore``'s defaults)."""
    text = str(location)
    if isinstance(location, str) and "://" in text:
        if text.startswith(_POSTGRES):
            pool = {k: v for k, v in (("pool_min", pool_min), ("pool_max", pool_max),
                                      ("connect_timeout", connect_timeout)) if v is not None}
            return _open_postgres(text, create=create, **pool)
        if not text.startswith(_SQLITE):
            scheme = text.split("://", 1)[0]
            raise StoreUnavailable(
                f"no store engine for {scheme}:// (known: sqlite:///, postgresql://)")
        text = text[len(_SQLITE):]
    return _open_sqlite(text, create=create)


def is_database_url(location: str | Path) -> bool:
    """Whether ``location`` names a server database (a URL) rather than a file."""
    return isinstance(location, str) and location.startswith(_POSTGRES)


def _open_postgres(url: str, *, create: bool, **pool: Any) -> SyncStore:
    from sync_server.store.postgres import PostgresStore

    store = PostgresStore(url, **pool)
    if not create and store.applied_migrations() == []:
        store.close()
        raise StoreMissing(_without_password(url))
    return store


def _without_password(url: str) -> str:
    """The URL to show: ``user:secret@`` becomes ``user@``."""
    head, sep, rest = url.partition("://")
    if "@" in rest:
        creds, _, host = rest.rpartition("@")
        rest = creds.split(":", 1)[0] + "@" + host
    return head + sep + rest


def _open_sqlite(path: str, *, create: bool) -> SyncStore:
    from sync_server.store.sqlite import SqliteStore

    if path != ":memory:":
        if not create and not Path(path).is_file():
            raise StoreMissing(path)
        if Path(path).is_dir():
            raise StoreUnavailable(f"{path} is a directory, not a database file")
    try:
        return SqliteStore(path)
    except (sqlite3.Error, OSError) as exc:
        raise StoreUnavailable(f"cannot open database {path}: {exc}") from None
