"""Restoring an SQLite database from a backup file (``sync-server restore``)."""

from __future__ import annotations

import os
import shutil
import sqlite3
from pathlib import Path

from sync_server.store.errors import RestoreError


def occupied(db: Path) -> bool:
    return db.exists() and db.stat().st_size > 0


def restore(file: Path, db: Path) -> None:
    """The backup copied beside the database, checked, then moved over it in one rename."""
    db.parent.mkdir(parents=True, exist_ok=True)
    tmp = db.with_name(f".{db.name}.restoring")
    shutil.copyfile(file, tmp)
    with sqlite3.connect(tmp) as conn:
        if conn.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
            tmp.unlink()
            raise RestoreError(f"{file} fails SQLite's integrity check; nothing restored")
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    os.replace(tmp, db)
