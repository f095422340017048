"""``LocalStore``: the SQLite file of one device, its lock and its transactions."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator

import sqlite_utils

from field_app.core.store.schema import LINK_INDEXES, connect, migrations
from field_app.core.store.tx import Tx

class LocalStore:
    """The SQLite file of one device."""

    FILE = "device.db"

    def __init__(self, data_dir: str | Path, now_ms: Any) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.data_dir / self.FILE
        self.conn = connect(self.path)
        self.db = sqlite_utils.Database(self.conn)
        self.lock = threading.RLock()
        self.now_ms = now_ms

    def migrate(self) -> None:
        with self.lock:
            migrations.apply(self.db)
        # A process killed during a first sync left them out (``bulk_load``).
        self.ensure_link_indexes()

    def ensure_link_indexes(self) -> None:
        with self.write(durable=False) as tx:
            for sql in LINK_INDEXES.values():
                tx.q(sql)

    @contextmanager
    def bulk_load(self, wanted: bool = True) -> Iterator[bool]:
        """Fill an empty records table (a device's first sync) without its link
        indexes, and make them once at the end: pulled records arrive in
        revision order, their sites in random order, so every page's commit
        rewrote most of the ``records_site`` index's pages; one sort at the end
        costs less (figures in docs/performance.md). Yields whether it did so: only when ``wanted``
        and the table is empty. The indexes are back when the block ends,
        however it ends, and at the next open (``migrate``) if the process was
        killed in it; meanwhile a list by site, owner or case is read without
        them."""
        empty = False
        if wanted:
            with self.write(durable=False) as tx:
                empty = tx.q("SELECT 1 FROM records LIMIT 1").fetchone() is None
                if empty:
                    for name in LINK_INDEXES:
                        tx.q(f"DROP INDEX IF EXISTS {name}")
        try:
            yield empty
        finally:
            if empty:
                self.ensure_link_indexes()

    def applied_migrations(self) -> list[str]:
        return [m.name for m in migrations.applied(self.db)]

    @contextmanager
    def write(self, durable: bool = True) -> Iterator[Tx]:
        """One transaction: everything inside commits together or not at all.

        ``durable=False`` is for what the sync writes from the server's
        answers (a pull page, push results): the commit is atomic and survives
        a killed process like any other, but is not fsynced on its own
        (``synchronous=NORMAL`` in WAL mode); a power cut right after it may
        roll it back, never half of it. That only repeats work: the page is
        pulled again from the cursor that went back with it, a push answer is
        asked for again and comes back ``duplicate``. The next durable commit
        (any user action) fsyncs the log with everything before it, so
        nothing a user recorded is ever behind a lost sync commit."""
        with self.lock:
            if self.conn.in_transaction:
                raise RuntimeError("nested local transaction")
            if not durable:
                self.conn.execute("PRAGMA synchronous=NORMAL")
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                try:
                    yield Tx(self.conn, self.now_ms)
                except BaseException:
                    self.conn.execute("ROLLBACK")
                    raise
                else:
                    self.conn.execute("COMMIT")
            finally:
                if not durable:
                    self.conn.execute("PRAGMA synchronous=FULL")

    @contextmanager
    def read(self) -> Iterator[Tx]:
        with self.lock:
            yield Tx(self.conn, self.now_ms)

    def integrity_check(self) -> str:
        with self.lock:
            return self.conn.execute("PRAGMA integrity_check").fetchone()[0]

    def close(self) -> None:
        with self.lock:
            self.conn.close()

