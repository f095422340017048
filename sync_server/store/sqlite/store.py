"""``SqliteStore``: the SQLite backend of ``SyncStore`` (WAL, one writer).

Writes go through one connection behind a lock with ``BEGIN IMMEDIATE``;
reads use one connection per thread, which WAL lets run beside the writer.
``synchronous=FULL`` on the writer: a push is acknowledged only after its
commit is on disk (see docs/architecture.md, "Durability").
"""

from __future__ import annotations

import functools
import inspect
import sqlite3
import threading
from pathlib import Path
from typing import Any, Callable

import sqlite_utils

from sync_server.store.base import DeviceRow, PullPage, StoreHealth, Visibility
from sync_server.store.sqlite.auth import AuthQueries, AuthReads
from sync_server.store.sqlite.blobs import BlobQueries
from sync_server.store.sqlite.columns import _DEVICE_COLS, _device
from sync_server.store.sqlite.ledger import LedgerQueries, LedgerReads
from sync_server.store.sqlite.migrations import migrations
from sync_server.store.sqlite.office import OfficeQueries
from sync_server.store.sqlite.records import RecordQueries
from sync_server.store.sqlite.writer import Writer, _connect


class SqliteStore(Writer, RecordQueries, LedgerReads, LedgerQueries, AuthReads,
                  AuthQueries, BlobQueries, OfficeQueries):
    """The SQLite store: one writer connection, one reader per thread."""

    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        Writer.__init__(self, self.path)
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        if self.path == ":memory:":
            self._serialize_reads()

    #: What ``_serialize_reads`` leaves alone: they take the writer's turn themselves.
    _WRITES = frozenset({"migrate", "close", "transaction", "write_grouped", "note_pull",
                         "backup"})

    def _serialize_reads(self) -> None:
        """An in-memory database has one connection, the writer's: a read from
        another thread would see a transaction's writes before they commit (or
        roll back). So each read method waits for the writer's turn, unless its
        thread holds it (a read inside its own transaction)."""
        lock = self._write_lock

        def serialized(read: Callable[..., Any]) -> Callable[..., Any]:
            @functools.wraps(read)
            def locked(*args: Any, **kwargs: Any) -> Any:
                if lock.owner == threading.get_ident():
                    return read(*args, **kwargs)
                with lock:
                    return read(*args, **kwargs)
            return locked

        for name in dir(self):
            if name in self._WRITES or (name.startswith("_") and name != "_stored_device"):
                continue
            method = getattr(self, name)
            if inspect.ismethod(method):
                setattr(self, name, serialized(method))

    # connections --------------------------------------------------------------
    @property
    def conn(self) -> sqlite3.Connection:  # a reader for this thread
        if self.path == ":memory:":
            return self._writer
        c = getattr(self._local, "conn", None)
        if c is None:
            c = _connect(self.path)
            self._local.conn = c
            with self._readers_lock:
                self._readers.append(c)
        return c

    def migrate(self) -> None:
        with self._write_lock:
            migrations.apply(sqlite_utils.Database(self._writer))

    def applied_migrations(self) -> list[str]:
        return [m.name for m in migrations.applied(sqlite_utils.Database(self._writer))]

    def pending_migrations(self) -> list[str]:
        return [m.name for m in migrations.pending(sqlite_utils.Database(self.conn))]

    def close(self) -> None:
        if self._pulls:
            with self.transaction():
                pass  # writes the noted pull times
        with self._readers_lock:
            for c in self._readers:
                c.close()
            self._readers.clear()
        self._writer.close()

    def _stored_device(self, device_id: str) -> DeviceRow | None:
        return AuthReads.get_device(self, device_id)

    def get_device(self, device_id: str) -> DeviceRow | None:
        device = self._stored_device(device_id)
        return None if device is None else self._with_pull(device)

    def pull_page(self, device_id: str, since: int, limit: int,
                  visibility: Visibility) -> PullPage:
        device = self.get_device(device_id)
        top = self.stable_rev()
        return PullPage(device, top, self.change_rows_since(since, limit, visibility, upto=top))

    def list_devices(self, user_id: str | None = None) -> list[DeviceRow]:
        sql = f"SELECT {_DEVICE_COLS} FROM devices"
        rows = (self.conn.execute(sql + " WHERE user_id=? ORDER BY device_id", (user_id,))
                if user_id else self.conn.execute(sql + " ORDER BY device_id"))
        return [self._with_pull(_device(r)) for r in rows]

    def pool_stats(self) -> dict[str, int]:
        """No connection pool here: an empty answer."""
        return {}

    def health_check(self) -> StoreHealth:
        """``PRAGMA integrity_check``: "ok", or one line per problem found."""
        return _health(self.conn)

    def backup(self, target: Path) -> StoreHealth:
        """Online backup (SQLite backup API) to ``target``, then the copy's
        ``integrity_check``. A copy that failed is removed; the exception is raised."""
        dest = sqlite3.connect(str(target))
        try:
            with self._write_lock:
                self._writer.backup(dest)
            return _health(dest)
        except BaseException:
            dest.close()
            Path(target).unlink(missing_ok=True)
            raise
        finally:
            dest.close()


def _health(conn: sqlite3.Connection) -> StoreHealth:
    lines = tuple(str(r[0]) for r in conn.execute("PRAGMA integrity_check"))
    return StoreHealth(ok=lines == ("ok",), problems=() if lines == ("ok",) else lines)
