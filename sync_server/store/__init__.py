"""The server's store: the contract (``base``), one package per engine
(``sqlite``), and ``open_store``, the one place a store is built.

The engine is chosen by one setting, the database location (``--db`` /
``WAGE_PATROL_DB``): a file path, or a URL whose scheme names the engine
(``sqlite:///data/server.db``, ``sqlite:////srv/server.db`` for an absolute
path, ``sqlite:///:memory:`` for a store in memory).
Another engine (``postgresql://…``) is added here, beside its package.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sync_server.store.base import StoreHealth, SyncStore

__all__ = ["BACKEND_ERRORS", "StoreHealth", "engine_disk_full", "StoreMissing", "StoreUnavailable", "SyncStore",
           "open_store"]

#: What the engines raise when their database fails under a running command
#: (the CLI reports it in one line).
BACKEND_ERRORS: tuple[type[Exception], ...] = (sqlite3.Error,)

_SQLITE = "sqlite:///"


def engine_disk_full(exc: BaseException) -> bool:
    """Whether an engine's own error says its disk is full (SQLite: ``SQLITE_FULL``,
    "database or disk is full"); the OS's ENOSPC is the caller's to test."""
    return isinstance(exc, sqlite3.Error) and (
        getattr(exc, "sqlite_errorcode", None) == sqlite3.SQLITE_FULL
        or "database or disk is full" in str(exc))


class StoreMissing(LookupError):
    """``open_store(..., create=False)``: there is no database there."""


class StoreUnavailable(Exception):
    """The database cannot be opened: the message says why."""


def open_store(location: str | Path, *, create: bool = True) -> SyncStore:
    """The store at ``location``, opened but not migrated (``migrate()`` is the
    caller's next step). ``create`` off: refuse to make a new, empty database."""
    text = str(location)
    if isinstance(location, str) and "://" in text:
        if not text.startswith(_SQLITE):
            scheme = text.split("://", 1)[0]
            raise StoreUnavailable(f"no store engine for {scheme}:// (known: sqlite:///)")
        text = text[len(_SQLITE):]
    return _open_sqlite(text, create=create)


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
