"""The one writer: its connection, the fair lock, transactions, group commit
and the pull times noted in memory."""

from __future__ import annotations

import collections
import sqlite3
import threading
from contextlib import contextmanager
from typing import Callable, Iterator, Sequence, TypeVar

from sync_server.store.grouping import GroupCommit, GroupJob, PullNotes
from sync_server.store.base import BatchReads, DeviceRow
from sync_server.store.sqlite.auth import AuthReads, AuthWrites
from sync_server.store.sqlite.blobs import BlobReads, BlobWrites
from sync_server.store.sqlite.ledger import LedgerReads, LedgerWrites
from sync_server.store.sqlite.office import OfficeWrites
from sync_server.store.sqlite.records import RecordWrites

T = TypeVar("T")


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


class SqliteTx(RecordWrites, LedgerReads, LedgerWrites, AuthReads, AuthWrites,
               BlobReads, BlobWrites, OfficeWrites):
    """Writes inside one transaction (``BEGIN IMMEDIATE`` on the writer)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._sp = 0
        self._peeked = {}

    @property
    def conn(self) -> sqlite3.Connection:
        return self._conn

    def read_batch(self, mutation_ids: Sequence[str], keys: Sequence[tuple[str, str]],
                   parent_ids: Sequence[str], device_id: str) -> BatchReads:
        return BatchReads(self.get_mutations(mutation_ids), self.get_records(keys),
                          self.children_of_parents(parent_ids), self.get_device(device_id))

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


class _FairLock:
    """A mutex granted in arrival order. ``threading.Lock`` is not fair: with
    many handler threads queueing for the one writer, a waiter can lose the
    race again and again and wait seconds (the p99 of concurrent pushes). Here
    ``release`` hands the lock straight to the longest waiter."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiters: collections.deque[threading.Lock] = collections.deque()
        self._locked = False
        self.owner: int | None = None  # the thread holding it (set by that thread)

    def acquire(self) -> bool:
        with self._mutex:
            if not self._locked:
                self._locked = True
                self.owner = threading.get_ident()
                return True
            waiter = threading.Lock()
            waiter.acquire()
            self._waiters.append(waiter)
        try:
            waiter.acquire()  # released by ``release``: the lock is ours
        except BaseException:
            with self._mutex:
                if waiter in self._waiters:  # not handed over yet: just leave the queue
                    self._waiters.remove(waiter)
                    raise
            self.release()  # handed over meanwhile: pass it on
            raise
        self.owner = threading.get_ident()
        return True

    def release(self) -> None:
        with self._mutex:
            self.owner = None
            if self._waiters:
                self._waiters.popleft().release()  # ownership passes, still locked
            else:
                self._locked = False

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


class Writer:
    """The store's write side: ``transaction``, ``write_grouped`` and ``note_pull``."""

    def __init__(self, path: str) -> None:
        self._writer = _connect(path)
        # The writer's page cache: 64 MiB instead of SQLite's 2 MiB default keeps the
        # record and field-history indexes of a busy district in memory.
        self._writer.execute("PRAGMA cache_size=-65536")
        # Savepoint and statement journals in memory, not in a temporary file: every
        # push runs in a savepoint of the group's transaction (``write_grouped``), and
        # the first change of each page in it copied the page to that file.
        self._writer.execute("PRAGMA temp_store=MEMORY")
        self._write_lock = _FairLock()
        self._groups = GroupCommit(self.GROUP_MAX_WRITERS)
        # Pull times not yet written (device id -> ms), see ``note_pull``.
        self._pulls = PullNotes(self.PULL_NOTE_MAX_WAIT_S)

    def _stored_device(self, device_id: str) -> DeviceRow | None:
        raise NotImplementedError

    @contextmanager
    def transaction(self) -> Iterator[SqliteTx]:
        with self._write_lock:
            self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield SqliteTx(self._writer)
                self._write_pulls()
            except BaseException:
                self._writer.execute("ROLLBACK")
                raise
            else:
                self._writer.execute("COMMIT")

    # group commit -------------------------------------------------------------------
    #: At most this many writers share one transaction (``write_grouped``).
    GROUP_MAX_WRITERS = 64

    def write_grouped(self, fn: Callable[[SqliteTx], T]) -> T:
        """Run ``fn(tx)`` in a write transaction that writers arriving meanwhile
        share (group commit): each ``fn`` runs in a savepoint of its own (an
        exception undoes its writes only and is raised to its caller), and all
        are committed with one ``COMMIT``, i.e. one fsync, before any returns.

        The first caller while no group is running leads (``store.grouping``);
        the others wait."""
        return self._groups.run(fn, self._commit_group)

    def _commit_group(self, group: list[GroupJob]) -> None:
        with self.transaction() as tx:
            for job in group:
                tx.conn.execute("SAVEPOINT grouped")
                try:
                    job.result = job.fn(tx)
                except BaseException as exc:  # this writer's failure only
                    tx._peeked.clear()
                    tx.conn.execute("ROLLBACK TO SAVEPOINT grouped")
                    job.error = exc
                tx.conn.execute("RELEASE SAVEPOINT grouped")

    # pull bookkeeping ------------------------------------------------------------
    #: A noted pull time waits at most this long for a transaction to carry it.
    PULL_NOTE_MAX_WAIT_S = 2.0

    def note_pull(self, device_id: str, at_ms: int, scope_version: int | None = None) -> None:
        """Record that ``device_id`` pulled at ``at_ms``; from 0 also the scope
        version it now holds. A changed scope version is written at once (the
        next pull's 410 depends on it); a pull time alone is kept in memory and
        written by the next write transaction (a push's), so a pull takes no
        turn at the single writer. Reads (``get_device``, ``list_devices``) see
        it at once; at most ``PULL_NOTE_MAX_WAIT_S`` of pull times can be lost
        in a crash (they are the receipt's "last pull", nothing is replayed)."""
        if scope_version is not None:
            device = self._stored_device(device_id)
            if device is not None and device.scope_version_seen != scope_version:
                with self.transaction() as tx:
                    tx.conn.execute(
                        "UPDATE devices SET scope_version_seen=?, last_pull_ms="
                        "max(coalesce(last_pull_ms, 0), ?) WHERE device_id=?",
                        (scope_version, at_ms, device_id))
                return
        if self._pulls.note(device_id, at_ms):  # due: a transaction carries them now
            with self.transaction():
                pass  # carries the noted pull times

    def _write_pulls(self) -> None:
        """Inside a write transaction: write the noted pull times."""
        pulls = self._pulls.take()
        if pulls:
            try:
                self._writer.executemany(
                    "UPDATE devices SET last_pull_ms=max(coalesce(last_pull_ms, 0), ?) "
                    "WHERE device_id=?", [(ms, d) for d, ms in pulls.items()])
            except BaseException:
                self._pulls.keep(pulls)  # not written: kept for the next one
                raise

    def _with_pull(self, device: DeviceRow) -> DeviceRow:
        ms = self._pulls.latest(device.device_id)
        if ms is not None and (device.last_pull_ms is None or ms > device.last_pull_ms):
            device.last_pull_ms = ms
        return device
