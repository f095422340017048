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
from sync_server.store.base import BatchReads, DeviceRow, StoredRecord
from sync_server.store.postgres.auth import DEVICE_BY_ID, AuthReads, AuthWrites
from sync_server.store.postgres.blobs import BlobReads, BlobWrites
from sync_server.store.postgres.columns import (
    MULTI_ROW_PARAMS,
    _device,
    _record,
    fetched,
    multi_row,
)
from sync_server.store.postgres.ledger import LEDGER_BY_IDS, LedgerReads, LedgerWrites, _ledger
from sync_server.store.postgres.office import OfficeWrites
from sync_server.store.postgres.records import CHILDREN_OF_PARENTS, RECORDS_BY_KEYS, RecordWrites

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
    """Writes inside one transaction, on its connection.

    A write whose answer nobody reads (``_many``, ``_defer``) is held back and
    sent with the transaction's next statement, in one pipeline: the push's
    records, history, ledger rows and device go to PostgreSQL with the
    counter's update and the ``COMMIT`` in two round trips, not one each. An
    error in a held-back write is raised by that next statement, still inside
    the transaction (and inside the savepoint it was written in: savepoint
    statements send what is held back first).

    The transaction holds the revision counter's row lock from its start
    (``Writer._begin``), so the counter is known here: ``max_rev``,
    ``next_rev`` and ``advance_rev`` work on that value and its update goes
    with the next statement."""

    def __init__(self, conn: psycopg.Connection, rev: int) -> None:
        self.conn = conn
        self._sp = 0
        self._peeked: dict[tuple[str, str], StoredRecord | None] = {}
        self._held: list[tuple[str, Sequence[Any] | list[Sequence[Any]], bool]] = []
        self._rev = self._rev_stored = rev

    # the revision counter, whose row lock this transaction holds ----------------------
    def max_rev(self) -> int:
        return self._rev

    def next_rev(self) -> int:
        self._rev += 1
        return self._rev

    def advance_rev(self, to: int) -> None:
        if to < self._rev:
            raise ValueError(f"the revision counter is already past {to}")
        self._rev = to

    # statements --------------------------------------------------------------------------
    def _send(self, sql: str, args: Sequence[Any] = ()) -> psycopg.Cursor:
        """Run ``sql`` after the held-back writes, in one round trip."""
        held = self._take_held()
        if not held:
            return self.conn.execute(sql, args)
        with self.conn.pipeline():
            self._send_held(held)
            cur = self.conn.execute(sql, args)
        return cur

    def _take_held(self) -> list[tuple[str, Any, bool]]:
        """The held-back writes, the counter's update (when it moved) last."""
        if self._rev != self._rev_stored:
            self._defer("UPDATE counters SET value=%s WHERE name='rev'", (self._rev,))
            self._rev_stored = self._rev
        held, self._held = self._held, []
        return held

    def _send_held(self, held: list[tuple[str, Any, bool]]) -> None:
        for statement, values, many in held:
            if many:
                with self.conn.cursor() as cur:
                    cur.executemany(statement, values)
            else:
                self.conn.execute(statement, values)

    def _all(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        return fetched(self._send(sql, args))

    def _all_together(self, statements: list[tuple[str, Sequence[Any]]]) -> list[list[tuple]]:
        """Several reads (after the held-back writes) in one round trip."""
        held = self._take_held()
        with self.conn.pipeline():
            self._send_held(held)
            curs = [self.conn.execute(sql, args) for sql, args in statements]
        return [fetched(cur) for cur in curs]

    def read_batch(self, mutation_ids: Sequence[str], keys: Sequence[tuple[str, str]],
                   parent_ids: Sequence[str], device_id: str) -> BatchReads:
        ids, wanted = list(dict.fromkeys(mutation_ids)), list(dict.fromkeys(keys))
        parents = list(dict.fromkeys(parent_ids))
        ledger, records, children, device = self._all_together([
            (LEDGER_BY_IDS, (ids,)),
            (RECORDS_BY_KEYS, ([k[0] for k in wanted], [k[1] for k in wanted])),
            (CHILDREN_OF_PARENTS, (parents,)),
            (DEVICE_BY_ID, (device_id,))])
        return BatchReads(
            mutations={row[0]: _ledger(row) for row in ledger},
            records={(row[0], row[1]): _record(row) for row in records},
            children=[_record(row) for row in children],
            device=_device(device[0]) if device else None)

    def _exec(self, sql: str, args: Sequence[Any] = ()) -> int:
        return self._send(sql, args).rowcount

    def _defer(self, sql: str, args: Sequence[Any] = ()) -> None:
        """``sql`` with the next statement (its row count is not wanted)."""
        self._held.append((sql, args, False))

    def _many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        """``sql`` once per row, with the next statement. A few rows of an
        ``INSERT`` go as one multi-row ``INSERT`` as long as psycopg keeps its
        parsed form (``MULTI_ROW_PARAMS`` parameters at most); more go
        through ``executemany``, which parses the statement once for all
        rows. The callers give an upsert (``ON CONFLICT … DO UPDATE``) rows
        of distinct keys, as one statement may not update a row twice."""
        rows = list(rows)
        if not rows:
            return
        many = multi_row(sql, len(rows)) if len(rows) * len(rows[0]) <= MULTI_ROW_PARAMS else None
        if len(rows) > 1 and many is not None:
            self._defer(many, [v for row in rows for v in row])
        else:
            self._held.append((sql, rows, True))

    def _discard_held(self) -> None:
        self._held.clear()

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        self._sp += 1
        name = f"sp{self._sp}"
        self._send(f"SAVEPOINT {name}")
        rev = self._rev
        try:
            yield
            self._send(f"RELEASE SAVEPOINT {name}")  # a held-back write's error is raised here
        except BaseException:
            self._peeked.clear()
            self._held.clear()
            self._rev = self._rev_stored = rev
            if not self.conn.broken:
                self.conn.execute(f"ROLLBACK TO SAVEPOINT {name}")
                self.conn.execute(f"RELEASE SAVEPOINT {name}")
            raise


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
            conn, rev = self._begin()
            try:
                yield from self._run(conn, rev)
            except (psycopg.Error, PoolTimeout) as exc:
                if is_unavailable(exc):
                    raise unavailable(exc) from exc
                raise
            finally:
                self._pool.putconn(conn)

    #: Sent as one query (one round trip): the transaction and its turn at the
    #: revision counter's row lock.
    _BEGIN_LOCKED = "BEGIN; SELECT value FROM counters WHERE name='rev' FOR UPDATE"

    def _begin(self) -> tuple[psycopg.Connection, int]:
        """A pooled connection in a new transaction that holds the revision
        counter's row lock, and the counter. One the server closed (it
        restarted) fails at ``BEGIN`` and is dropped; the next is tried."""
        for _ in range(self._pool.max_size + 1):
            try:
                conn = self._pool.getconn()
            except (psycopg.Error, PoolTimeout) as exc:
                raise unavailable(exc) from exc
            try:
                cur = conn.execute(self._BEGIN_LOCKED)
                cur.nextset()  # past BEGIN's result to the counter's
                row = cur.fetchone()
                assert row is not None, "the revision counter is missing"
                return conn, int(row[0])
            except psycopg.Error as exc:
                self._pool.putconn(conn)
                if not conn.broken:
                    raise
                last = exc
        raise unavailable(last)

    def _run(self, conn: psycopg.Connection, rev: int) -> Iterator[PostgresTx]:
        pulls: dict[str, int] = {}
        tx = PostgresTx(conn, rev)
        try:
            yield tx
            pulls = self._write_pulls(tx)
            tx._send("COMMIT")  # with the writes held back: one round trip
        except BaseException:
            self._pulls.keep(pulls)
            tx._discard_held()
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
                    tx._defer(
                        "UPDATE devices SET scope_version_seen=%s, last_pull_ms="
                        "greatest(coalesce(last_pull_ms, 0), %s) WHERE device_id=%s",
                        (scope_version, at_ms, device_id))
                return
        if self._pulls.note(device_id, at_ms):  # due: a transaction carries them now
            with self.transaction():
                pass  # carries the noted pull times

    def _write_pulls(self, tx: PostgresTx) -> dict[str, int]:
        """Inside a write transaction: write the noted pull times (with the
        ``COMMIT``); returns them (kept again in memory if the transaction
        does not commit)."""
        pulls = self._pulls.take()
        if pulls:
            tx._defer(  # one statement for all of them
                "UPDATE devices d SET last_pull_ms=greatest(coalesce(d.last_pull_ms, 0), p.ms) "
                "FROM unnest(%s::text[], %s::bigint[]) AS p(id, ms) WHERE d.device_id=p.id",
                (list(pulls), list(pulls.values())))
        return pulls

    def _with_pull(self, device: DeviceRow) -> DeviceRow:
        ms = self._pulls.latest(device.device_id)
        if ms is not None and (device.last_pull_ms is None or ms > device.last_pull_ms):
            device.last_pull_ms = ms
        return device
