"""Blobs in PostgreSQL: every worker process, on any machine, sees the same
bytes, partial uploads included. Three tables of its own (``blobstore_*``),
in the store's database or another one:

- ``blobstore_blobs``: one row per verified blob (``trashed`` during a collection);
- ``blobstore_partials``: one row per unfinished upload, and when bytes last came;
- ``blobstore_chunks``: an upload's bytes, a row per write of at most ``CHUNK`` bytes.

Each chunk is committed before the offset moves (``sync``), so a PATCH after a
cut connection, on whichever process, resumes from what the database holds.
"""

from __future__ import annotations

import errno
import hashlib
import io
import os
import shutil
import sys
from contextlib import contextmanager
from typing import Any, BinaryIO, Callable, Iterator

import psycopg
from psycopg import errors as pg_errors
from psycopg_pool import ConnectionPool, PoolTimeout

from sync_server.blobs.base import BlobError

#: Bytes gathered before a chunk row is written.
CHUNK = 1 << 20

SCHEMA = """
CREATE TABLE IF NOT EXISTS blobstore_blobs (
    sha256 text PRIMARY KEY,
    size bigint NOT NULL,
    data bytea NOT NULL,
    trashed boolean NOT NULL DEFAULT false
);
ALTER TABLE blobstore_blobs ALTER COLUMN data SET STORAGE EXTERNAL;
CREATE TABLE IF NOT EXISTS blobstore_partials (
    upload_id text PRIMARY KEY,
    touched_ms bigint NOT NULL
);
CREATE TABLE IF NOT EXISTS blobstore_chunks (
    upload_id text NOT NULL REFERENCES blobstore_partials ON DELETE CASCADE,
    start bigint NOT NULL,
    data bytea NOT NULL,
    PRIMARY KEY (upload_id, start)
);
"""
#: Serialises the schema's creation between processes starting together.
_SCHEMA_LOCK = 0x77700B10B


def _now_sql() -> str:
    return "(extract(epoch from clock_timestamp()) * 1000)::bigint"


def _failed(exc: psycopg.Error) -> BlobError:
    if isinstance(exc, pg_errors.DiskFull):
        return BlobError(errno.ENOSPC, f"photo database: {exc}")
    return BlobError(errno.EIO, f"photo database: {exc}")


class _Pool:
    """psycopg_pool's pool of autocommit connections; its and psycopg's errors
    come out as ``BlobError``."""

    def __init__(self, url: str, size: int = 8, timeout_s: float = 10.0) -> None:
        self.pool = ConnectionPool(url, min_size=1, max_size=size, timeout=timeout_s,
                                   kwargs={"autocommit": True, "connect_timeout": 5},
                                   check=ConnectionPool.check_connection, name="wage-patrol-blobs",
                                   open=False)
        try:
            self.pool.open(wait=True, timeout=timeout_s)
        except (psycopg.Error, PoolTimeout) as exc:
            self.pool.close()
            raise BlobError(errno.EIO, f"photo database: {exc}") from exc

    @contextmanager
    def connection(self) -> Iterator[psycopg.Connection[Any]]:
        try:
            with self.pool.connection() as conn:
                yield conn
        except psycopg.Error as exc:
            raise _failed(exc) from exc
        except PoolTimeout as exc:
            raise BlobError(errno.EIO, f"photo database: {exc}") from exc

    def close(self) -> None:
        self.pool.close()


class _ChunkWriter:
    #: Its writes wait on the network: the upload path runs them off the event loop.
    blocking = True

    def __init__(self, blobs: "PostgresBlobs", upload_id: str, offset: int) -> None:
        self.blobs, self.upload_id = blobs, upload_id
        self.offset = self.position = offset
        self.buffer = bytearray()
        self.blobs._truncate(upload_id, offset)

    def write(self, data: bytes) -> None:
        self.buffer += data
        if len(self.buffer) >= CHUNK:
            self._flush()

    def _flush(self) -> None:
        if not self.buffer:
            return
        with self.blobs.pool.connection() as conn, conn.transaction():
            conn.execute("INSERT INTO blobstore_chunks (upload_id, start, data) VALUES (%s, %s, %s)",
                         (self.upload_id, self.position, bytes(self.buffer)))
            conn.execute(f"UPDATE blobstore_partials SET touched_ms = {_now_sql()} WHERE upload_id = %s",
                         (self.upload_id,))
        self.position += len(self.buffer)
        self.buffer.clear()

    def sync(self) -> None:
        self._flush()

    def truncate(self) -> None:
        self.buffer.clear()
        self.blobs._truncate(self.upload_id, self.offset)
        self.position = self.offset

    def close(self) -> None:
        self.buffer.clear()


class PostgresBlobs:
    kind = "postgresql"

    def __init__(self, url: str, *, pool_size: int = 8) -> None:
        self.url = url
        self.pool = _Pool(url, pool_size)
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
            conn.execute(SCHEMA)

    def _one(self, sql: str, params: tuple = ()) -> tuple | None:
        with self.pool.connection() as conn:
            return conn.execute(sql, params).fetchone()

    def _run(self, sql: str, params: tuple = ()) -> int:
        with self.pool.connection() as conn:
            return conn.execute(sql, params).rowcount

    # verified blobs
    def has(self, sha256: str) -> bool:
        return self._one("SELECT 1 FROM blobstore_blobs WHERE sha256 = %s AND NOT trashed",
                         (sha256,)) is not None

    def size(self, sha256: str) -> int | None:
        row = self._one("SELECT size FROM blobstore_blobs WHERE sha256 = %s AND NOT trashed",
                        (sha256,))
        return None if row is None else int(row[0])

    def open(self, sha256: str) -> BinaryIO:
        row = self._one("SELECT data FROM blobstore_blobs WHERE sha256 = %s AND NOT trashed",
                        (sha256,))
        if row is None:
            raise FileNotFoundError(f"no blob {sha256}")
        return io.BytesIO(bytes(row[0]))

    def put(self, sha256: str, data: bytes) -> None:
        self._run("INSERT INTO blobstore_blobs (sha256, size, data) VALUES (%s, %s, %s) "
                  "ON CONFLICT (sha256) DO UPDATE SET trashed = false", (sha256, len(data), data))

    def hashes(self) -> Iterator[str]:
        with self.pool.connection() as conn:
            rows = conn.execute("SELECT sha256 FROM blobstore_blobs WHERE NOT trashed "
                                "ORDER BY sha256").fetchall()
        for (sha,) in rows:
            yield sha

    # partial uploads
    def start_partial(self, upload_id: str) -> None:
        self._run(f"INSERT INTO blobstore_partials (upload_id, touched_ms) VALUES (%s, {_now_sql()}) "
                  "ON CONFLICT (upload_id) DO NOTHING", (upload_id,))

    def writer(self, upload_id: str, offset: int) -> _ChunkWriter:
        self.start_partial(upload_id)
        return _ChunkWriter(self, upload_id, offset)

    def _truncate(self, upload_id: str, offset: int) -> None:
        with self.pool.connection() as conn, conn.transaction():
            conn.execute("DELETE FROM blobstore_chunks WHERE upload_id = %s AND start >= %s",
                         (upload_id, offset))
            conn.execute("UPDATE blobstore_chunks SET data = substring(data from 1 for (%s - start)::int) "
                         "WHERE upload_id = %s AND start + length(data) > %s",
                         (offset, upload_id, offset))

    def partial_sha256(self, upload_id: str) -> str:
        digest = hashlib.sha256()
        with self.pool.connection() as conn:
            starts = conn.execute("SELECT start FROM blobstore_chunks WHERE upload_id = %s "
                                  "ORDER BY start", (upload_id,)).fetchall()
            for (start,) in starts:  # a chunk at a time: a photo never sits in memory twice
                row = conn.execute("SELECT data FROM blobstore_chunks WHERE upload_id = %s "
                                   "AND start = %s", (upload_id, start)).fetchone()
                digest.update(row[0] if row else b"")
        return digest.hexdigest()

    def discard_partial(self, upload_id: str) -> int:
        with self.pool.connection() as conn, conn.transaction():
            row = conn.execute("SELECT coalesce(sum(length(data)), 0) FROM blobstore_chunks "
                               "WHERE upload_id = %s", (upload_id,)).fetchone()
            conn.execute("DELETE FROM blobstore_partials WHERE upload_id = %s", (upload_id,))
        return int(row[0]) if row else 0

    def promote(self, upload_id: str, sha256: str) -> None:
        with self.pool.connection() as conn, conn.transaction():
            conn.execute(
                "INSERT INTO blobstore_blobs (sha256, size, data) "
                "SELECT %s, coalesce(sum(length(data)), 0), coalesce(string_agg(data, ''::bytea "
                "ORDER BY start), ''::bytea) FROM blobstore_chunks WHERE upload_id = %s "
                "ON CONFLICT (sha256) DO UPDATE SET trashed = false", (sha256, upload_id))
            conn.execute("DELETE FROM blobstore_partials WHERE upload_id = %s", (upload_id,))

    def partial_count(self) -> int:
        row = self._one("SELECT count(*) FROM blobstore_partials")
        return int(row[0]) if row else 0

    def stray_partials(self, idle_before_ms: int) -> Iterator[str]:
        with self.pool.connection() as conn:
            rows = conn.execute("SELECT upload_id FROM blobstore_partials WHERE touched_ms <= %s",
                                (idle_before_ms,)).fetchall()
        for (upload_id,) in rows:
            yield upload_id

    # collection
    def trash(self, sha256: str) -> None:
        self._run("UPDATE blobstore_blobs SET trashed = true WHERE sha256 = %s", (sha256,))

    def untrash(self, sha256: str) -> None:
        self._run("UPDATE blobstore_blobs SET trashed = false WHERE sha256 = %s", (sha256,))

    def purge(self, sha256: str) -> int:
        with self.pool.connection() as conn:
            row = conn.execute("DELETE FROM blobstore_blobs WHERE sha256 = %s AND trashed "
                               "RETURNING size", (sha256,)).fetchone()
        return int(row[0]) if row else 0

    def recover_trash(self, keep: Callable[[str], bool]) -> None:
        with self.pool.connection() as conn:
            trashed = [r[0] for r in conn.execute(
                "SELECT sha256 FROM blobstore_blobs WHERE trashed").fetchall()]
        for sha in trashed:
            if keep(sha):
                self.untrash(sha)
            else:
                self.purge(sha)

    # health
    def free_bytes(self) -> int:
        """The free space of the database's disk when this machine can see its
        data directory (a local server, a role allowed to read the setting);
        else unknown, reported as unlimited (the database's own monitoring
        watches its disk)."""
        try:
            row = self._one("SELECT current_setting('data_directory')")
            if row and os.path.isdir(row[0]):
                return shutil.disk_usage(row[0]).free
        except (BlobError, OSError):
            pass
        return sys.maxsize

    def writable(self) -> bool:
        """The database takes writes (not a standby) and this role may insert."""
        try:
            row = self._one("SELECT NOT pg_is_in_recovery() "
                            "AND has_table_privilege('blobstore_chunks', 'INSERT') "
                            "AND has_table_privilege('blobstore_blobs', 'INSERT')")
        except BlobError:
            return False
        return bool(row and row[0])

    def close(self) -> None:
        self.pool.close()
