"""Restoring a PostgreSQL database from a ``pg_dump`` backup (``sync-server restore``)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import psycopg

from sync_server.store.errors import RestoreError


def occupied(url: str) -> bool:
    """The database holds the store's tables (the photo store's own tables do not count)."""
    try:
        with psycopg.connect(url, connect_timeout=10) as conn:
            row = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public' "
                               "AND tablename NOT LIKE 'blobstore\\_%'").fetchone()
    except psycopg.Error as exc:
        raise RestoreError(f"cannot reach {url.split('@')[-1]}: {exc}") from None
    return bool(row and row[0])


def restore(file: Path, url: str) -> None:
    if shutil.which("pg_restore") is None:
        raise RestoreError("restoring a PostgreSQL backup needs pg_restore (Debian: postgresql-client)")
    done = subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges",
                           "--single-transaction", f"--dbname={url}", str(file)],
                          capture_output=True, text=True, check=False,
                          env={**os.environ, "PGCONNECT_TIMEOUT": "10"})
    if done.returncode != 0:
        raise RestoreError(f"pg_restore failed: {done.stderr.strip()}")
