"""``PostgresStore``: the PostgreSQL backend of ``SyncStore`` (psycopg 3).

Reads take a connection from a pool (``psycopg_pool``, autocommit) for one
statement; writes run in transactions on one pooled connection at a time per
process (``writer``). A database that cannot be reached raises
``StoreUnavailable``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence, TypeVar

import psycopg
from psycopg_pool import ConnectionPool, PoolTimeout

from sync_server.store.base import DeviceRow, PullPage, StoreHealth, Visibility
from sync_server.store.postgres import migrations
from sync_server.store.postgres.auth import AuthQueries, AuthReads
from sync_server.store.postgres.blobs import BlobQueries
from sync_server.store.postgres.columns import _CHANGE_COLS, _DEVICE_COLS, _device, fetched
from sync_server.store.postgres.ledger import LedgerQueries, LedgerReads
from sync_server.store.postgres.office import OfficeQueries
from sync_server.store.postgres.records import RecordQueries, change_row, changes_query
from sync_server.store.postgres.writer import Writer, is_unavailable, unavailable

R = TypeVar("R")

#: The counter as the pull page's statement reads it once (``pull_page``).
_TOP = "(SELECT value FROM top)"

#: Pool limits and the connect timeout when the caller gives none.
POOL_MIN, POOL_MAX, CONNECT_TIMEOUT_S = 1, 10, 10.0

#: Every pooled connection plans each statement for its parameters. psycopg
#: prepares a statement run often on a connection; PostgreSQL would then soon
#: keep one generic plan for it, made while the table was small, and a
#: ``WHERE id = ANY(%s)`` planned so stays a sequential scan as the table
#: grows (the ledger's, measured: every push read the whole table).
SESSION_OPTIONS = "-c plan_cache_mode=force_custom_plan"


class PostgresStore(Writer, RecordQueries, LedgerReads, LedgerQueries, AuthReads,
                    AuthQueries, BlobQueries, OfficeQueries):
    """The PostgreSQL store at ``url`` (``postgresql://user@host:port/dbname``)."""

    def __init__(self, url: str, *, pool_min: int = POOL_MIN, pool_max: int = POOL_MAX,
                 connect_timeout: float = CONNECT_TIMEOUT_S) -> None:
        Writer.__init__(self)
        self.url = url
        try:  # one connection first: its error says why (the pool's would only time out)
            psycopg.connect(url, connect_timeout=max(1, int(connect_timeout))).close()
        except psycopg.Error as exc:
            raise unavailable(exc) from exc
        self._pool = ConnectionPool(
            url, min_size=pool_min, max_size=max(pool_min, pool_max), timeout=connect_timeout,
            kwargs={"autocommit": True, "connect_timeout": max(1, int(connect_timeout)),
                    "options": SESSION_OPTIONS},
            open=False, name="wage-patrol")
        try:
            self._pool.open(wait=True, timeout=connect_timeout)
        except (psycopg.Error, PoolTimeout) as exc:
            self._pool.close()
            raise unavailable(exc) from exc

    # statements on a pooled connection ---------------------------------------------
    def _all(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        """Run a read (``_on_pooled``)."""
        return self._on_pooled(lambda conn: fetched(conn.execute(sql, args)))

    def _pipelined(self, statements: Sequence[tuple[str, Sequence[Any]]]) -> list[list[tuple]]:
        """Several reads in one round trip (a pipeline on one pooled
        connection), each in its own snapshot, in order (``_on_pooled``)."""
        def run(conn: psycopg.Connection) -> list[list[tuple]]:
            with conn.pipeline():
                curs = [conn.execute(sql, args) for sql, args in statements]
            return [fetched(cur) for cur in curs]

        return self._on_pooled(run)

    def _on_pooled(self, read: Callable[[psycopg.Connection], R]) -> R:
        """``read`` on a pooled connection. A pooled connection the server
        closed (it restarted) fails at once and leaves the pool: the read is
        tried again on the next, up to one more time than the pool holds
        connections."""
        for _ in range(self._pool.max_size + 1):
            try:
                with self._pool.connection() as conn:
                    try:
                        return read(conn)
                    except psycopg.OperationalError:
                        if not conn.broken:
                            raise
                # the connection was dead: the pool drops it, the read goes on the next
            except (psycopg.Error, PoolTimeout) as exc:
                if is_unavailable(exc):
                    raise unavailable(exc) from exc
                raise
        raise unavailable(psycopg.OperationalError("every pooled connection was closed"))

    def _exec(self, sql: str, args: Sequence[Any] = ()) -> int:
        with self.transaction() as tx:
            return tx._exec(sql, args)

    def _many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        with self.transaction() as tx:
            tx._many(sql, rows)

    # schema ---------------------------------------------------------------------------
    def migrate(self) -> None:
        with self._pool.connection() as conn:
            migrations.apply(conn, int(time.time() * 1000))

    def applied_migrations(self) -> list[str]:
        with self._pool.connection() as conn:
            return migrations.applied(conn)

    def pending_migrations(self) -> list[str]:
        with self._pool.connection() as conn:
            return migrations.pending(conn)

    def close(self) -> None:
        try:
            if self._pulls:
                with self.transaction():
                    pass  # writes the noted pull times
        finally:
            self._pool.close()

    # devices: the stored row and the pull times noted in memory ------------------------
    def _stored_device(self, device_id: str) -> DeviceRow | None:
        return AuthReads.get_device(self, device_id)

    def get_device(self, device_id: str) -> DeviceRow | None:
        device = self._stored_device(device_id)
        return None if device is None else self._with_pull(device)

    def pull_page(self, device_id: str, since: int, limit: int,
                  visibility: Visibility) -> PullPage:
        """The device's row, and in one statement the counter (the stable
        revision: ``stable_rev``) with the page up to it, both sent at once.
        The page's statement always returns a row (the counter, and no record
        when the page is empty)."""
        page, args = changes_query(_CHANGE_COLS, since, limit, visibility, _TOP)
        device_rows, rows = self._pipelined([
            (f"SELECT {_DEVICE_COLS} FROM devices WHERE device_id=%s", (device_id,)),
            ("WITH top AS MATERIALIZED (SELECT value FROM counters WHERE name='rev') "
             f"SELECT {_TOP}, p.* FROM (SELECT 1) AS one LEFT JOIN ({page}) AS p ON true "
             "ORDER BY p.rev", args)])
        device = self._with_pull(_device(device_rows[0])) if device_rows else None
        return PullPage(device, int(rows[0][0]),
                        [change_row(r[1:]) for r in rows if r[1] is not None])

    def list_devices(self, user_id: str | None = None) -> list[DeviceRow]:
        sql = f"SELECT {_DEVICE_COLS} FROM devices"
        rows = (self._all(sql + " WHERE user_id=%s ORDER BY device_id", (user_id,))
                if user_id else self._all(sql + " ORDER BY device_id"))
        return [self._with_pull(_device(r)) for r in rows]

    def pool_stats(self) -> dict[str, int]:
        """The connection pool's counters (psycopg_pool's ``get_stats()``)."""
        return dict(self._pool.get_stats())

    # health and backup ------------------------------------------------------------------
    def health_check(self) -> StoreHealth:
        """What PostgreSQL's own guarantees leave to check: every migration is
        applied, and the revision counter is at or past every stored revision."""
        problems: list[str] = []
        pending = self.pending_migrations()
        if pending:
            problems.append("migrations not applied: " + ", ".join(pending))
        else:
            row = self._one("SELECT (SELECT value FROM counters WHERE name='rev'), "
                            "(SELECT coalesce(max(rev), 0) FROM records)")
            if row is None or row[0] is None:
                problems.append("the revision counter is missing")
            elif row[0] < row[1]:
                problems.append(f"the revision counter ({row[0]}) is below a stored revision "
                                f"({row[1]})")
        return StoreHealth(ok=not problems, problems=tuple(problems))

    def backup(self, target: Path) -> StoreHealth:
        """A consistent copy (``pg_dump``'s one snapshot, custom format) to the
        new file ``target``, read back with ``pg_restore --list``; then this
        store's ``health_check``. A copy that failed is removed and the error
        raised (``StoreUnavailable``: no ``pg_dump`` here, or it failed)."""
        from sync_server.store.errors import StoreUnavailable

        if shutil.which("pg_dump") is None or shutil.which("pg_restore") is None:
            raise StoreUnavailable("a PostgreSQL backup needs pg_dump and pg_restore "
                                   "(Debian: postgresql-client)")
        env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
        try:
            # Photos kept in this database (``blobstore_*``) are copied by the
            # backup's own photo step: their tables go in, their bytes do not.
            for cmd in (["pg_dump", "--format=custom", "--exclude-table-data=blobstore_*",
                         f"--file={target}", f"--dbname={self.url}"],
                        ["pg_restore", "--list", str(target)]):
                done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
                if done.returncode != 0:
                    raise StoreUnavailable(f"{cmd[0]} failed: {done.stderr.strip()}")
        except BaseException:
            Path(target).unlink(missing_ok=True)
            raise
        return self.health_check()
