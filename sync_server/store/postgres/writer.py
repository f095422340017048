"""The write side: transactions on a pooled connection, savepoints, and the
pull times noted in memory.

Every write transaction begins by locking the revision counter's row
(``SELECT … FOR UPDATE``) and holds it until it commits or rolls back, in
whichever server process it runs. Write transactions therefore run one at a
time across processes: revisions are handed out and committed in order (the
pull cursor rule, docs/protocol.md "Cursor"), and a mutation id is read from
the ledger only after any earlier push of it committed (exactly once). In a
process, writers queue on a lock before taking a connection, so a burst of
writers holds one pooled connection, not the whole pool.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager
from typing import Any, Callable, Iterable, Iterator, Sequence, TypeVar

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from sync_server.store.grouping import GroupCommit, GroupJob, PullNotes
from sync_server.store.base import DeviceRow, StoredRecord
from sync_server.store.postgres.auth import AuthReads, AuthWrites
from sync_server.store.postgres.blobs import BlobReads, BlobWrites
from sync_server.store.postgres.columns import MULTI_ROW_PARAMS, fetched, multi_row
from sync_server.store.postgres.ledger import LedgerReads, LedgerWrites
from sync_server.store.postgres.office import OfficeWrites
from sync_server.store.postgres.records import RecordWrites

T = TypeVar("T")


def is_unavailable(exc: BaseException) -> bool:
    """The database cannot be reached (no connection within the timeout, the
    connection broke, the server is shutting down or starting): not a fault of
    the statement."""
    if isinstance(exc, PoolTimeout):
        return True
    if not isinstance(exc, psycopg.OperationalError):
        return False
    state = exc.sqlstate
    return state is None or state.startswith("08") or state in ("57P01", "57P02", "57P03")


def unavailable(exc: BaseException) -> Exception:
    from sync_server.store.errors import StoreUnavailable

    return StoreUnavailable(f"the database is unavailable: {exc}".strip())


class PostgresTx(RecordWrites, LedgerReads, LedgerWrites, AuthReads, AuthWrites,
                 BlobReads, BlobWrites, OfficeWrites):
    """Writes inside one transaction, on its connection."""

    def __init__(self, conn: psycopg.Connection) -> None:
        self.conn = conn
        self._sp = 0
        self._peeked: dict[tuple[str, str], StoredRecord | None] = {}

    def _all(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        cur = self.conn.execute(sql, args)
        return fetched(cur)

    def _exec(self, sql: str, args: Sequence[Any] = ()) -> int:
        return self.conn.execute(sql, args).rowcount

    def _many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """``sql`` once per row. A few rows of an ``INSERT`` go as one
        multi-row ``INSERT`` (one statement instead of a pipeline of one a
        row), as long as psycopg keeps its parsed form (``MULTI_ROW_PARAMS``
        parameters at most); more go through ``executemany``, which parses
        the statement once for all rows. The callers give an upsert
        (``ON CONFLICT … DO UPDATE``) rows of distinct keys, as one statement
        may not update a row twice."""
        rows = list(rows)
        if not rows:
            return
        many = multi_row(sql, len(rows)) if len(rows) * len(rows[0]) <= MULTI_ROW_PARAMS else None
        if len(rows) > 1 and many is not None:
            self.conn.execute(many, [v for row in rows for v in row])
            return
        with self.conn.cursor() as cur:
            cur.executemany(sql, rows)

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        self._sp += 1
        name = f"sp{self._sp}"
        self.conn.execute(f"SAVEPOINT {name}")
        try:
            yield
        except BaseException:
            self._peeked.clear()
            self.conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
            self.conn.execute(f"RELEASE SAVEPOINT {name}")
            raise
        else:
            self.conn.execute(f"RELEASE SAVEPOINT {name}")


class Writer:
    """``transaction``, ``write_grouped`` and ``note_pull`` over the pool."""

    _pool: ConnectionPool

    def __init__(self) -> None:
        self._write_lock = threading.Lock()
        self._groups = GroupCommit(self.GROUP_MAX_WRITERS)
        # Pull times not yet written (device id -> ms), see ``note_pull``.
        self._pulls = PullNotes(self.PULL_NOTE_MAX_WAIT_S)

    def _stored_device(self, device_id: str) -> DeviceRow | None:
        raise NotImplementedError

    @contextmanager
    def transaction(self) -> Iterator[PostgresTx]:
        with self._write_lock:
            conn = self._begin()
            try:
                yield from self._run(conn)
            except (psycopg.Error, PoolTimeout) as exc:
                if is_unavailable(exc):
                    raise unavailable(exc) from exc
                raise
            finally:
                self._pool.putconn(conn)

    #: Sent as one query (one round trip): the transaction and its turn at the
    #: revision counter's row lock.
    _BEGIN_LOCKED = "BEGIN; SELECT value FROM counters WHERE name='rev' FOR UPDATE"

    def _begin(self) -> psycopg.Connection:
        """A pooled connection in a new transaction that holds the revision
        counter's row lock. One the server closed (it restarted) fails at
        ``BEGIN`` and is dropped; the next is tried."""
        for _ in range(self._pool.max_size + 1):
            try:
                conn = self._pool.getconn()
            except (psycopg.Error, PoolTimeout) as exc:
                raise unavailable(exc) from exc
            try:
                conn.execute(self._BEGIN_LOCKED)
                return conn
            except psycopg.Error as exc:
                self._pool.putconn(conn)
                if not conn.broken:
                    raise
                last = exc
        raise unavailable(last)

    def _run(self, conn: psycopg.Connection) -> Iterator[PostgresTx]:
        pulls: dict[str, int] = {}
        try:
            yield PostgresTx(conn)
            pulls = self._write_pulls(conn)
            conn.execute("COMMIT")
        except BaseException:
            self._pulls.keep(pulls)
            if not conn.closed and not conn.broken:
                conn.execute("ROLLBACK")
            raise

    # group commit -------------------------------------------------------------------
    #: At most this many writers share one transaction (``write_grouped``).
    GROUP_MAX_WRITERS = 64

    def write_grouped(self, fn: Callable[[PostgresTx], T]) -> T:
        """``fn(tx)`` in a write transaction shared with the writers of this
        process that queue meanwhile (group commit: one turn at the counter's
        lock and one commit for all of them). Each ``fn`` runs in a savepoint:
        if it raises, its writes alone are undone and the exception is raised
        to its caller. A writer arriving while no group runs leads: it runs
        the queued writers in order and commits; the next queued writer (if
        any) then leads the next group."""
        return self._groups.run(fn, self._run_group)

    def _run_group(self, group: list[GroupJob]) -> None:
        if len(group) == 1:  # alone: its transaction is its savepoint
            job = group[0]
            with self.transaction() as tx:
                job.result = job.fn(tx)
            return
        with self.transaction() as tx:
            for job in group:
                try:
                    with tx.savepoint():
                        job.result = job.fn(tx)
                except Exception as exc:  # this writer's failure only
                    job.error = exc

    # pull bookkeeping ------------------------------------------------------------
    #: A noted pull time waits at most this long for a transaction to carry it.
    PULL_NOTE_MAX_WAIT_S = 2.0

    def note_pull(self, device_id: str, at_ms: int, scope_version: int | None = None) -> None:
        """As the SQLite store's: a changed scope version is written at once; a
        pull time alone is kept in memory and written by the next write
        transaction of this process (at most ``PULL_NOTE_MAX_WAIT_S`` later)."""
        if scope_version is not None:
            device = self._stored_device(device_id)
            if device is not None and device.scope_version_seen != scope_version:
                with self.transaction() as tx:
                    tx.conn.execute(
                        "UPDATE devices SET scope_version_seen=%s, last_pull_ms="
                        "greatest(coalesce(last_pull_ms, 0), %s) WHERE device_id=%s",
                        (scope_version, at_ms, device_id))
                return
        if self._pulls.note(device_id, at_ms):  # due: a transaction carries them now
            with self.transaction():
                pass  # carries the noted pull times

    def _write_pulls(self, conn: psycopg.Connection) -> dict[str, int]:
        """Inside a write transaction: write the noted pull times; returns them
        (kept again in memory if the transaction does not commit)."""
        pulls = self._pulls.take()
        if pulls:
            try:
                conn.execute(  # one statement for all of them
                    "UPDATE devices d SET last_pull_ms=greatest(coalesce(d.last_pull_ms, 0), p.ms) "
                    "FROM unnest(%s::text[], %s::bigint[]) AS p(id, ms) WHERE d.device_id=p.id",
                    (list(pulls), list(pulls.values())))
            except BaseException:
                self._pulls.keep(pulls)
                raise
        return pulls

    def _with_pull(self, device: DeviceRow) -> DeviceRow:
        ms = self._pulls.latest(device.device_id)
        if ms is not None and (device.last_pull_ms is None or ms > device.last_pull_ms):
            device.last_pull_ms = ms
        return device
