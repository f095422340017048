"""The device file's schema: ordered, named migrations (sqlite-utils) and the connection.

Tables (docs/device-api.md, "Local store"):

* ``state`` — key → JSON: device id, HLC, next seq, cursor, login, sync state.
* ``records`` — one row per record the device knows: ``server`` (the values
  the server last sent, NULL for records only this device has), per-field
  server revisions, and ``data``, the view the user sees (server values with
  unacknowledged local edits on top, ``rebase.view``).
* ``outbox`` — mutations waiting for the server, as msgspec wire JSON, in seq order.
* ``quarantine`` — mutations (and photo uploads) the server refused for good.
* ``photos`` — the photo upload queue (tus upload URL persisted for resuming).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import sqlite_utils
from sqlite_utils.migrations import Migrations

migrations = Migrations("field_app")


def _run(db: sqlite_utils.Database, statements: str) -> None:
    # Not executescript: it would COMMIT the migration's transaction half-way.
    for statement in statements.split(";"):
        if statement.strip():
            db.execute(statement)


@migrations(name="m001_initial")
def m001_initial(db: sqlite_utils.Database) -> None:
    _run(db, """
        CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE records (
            entity TEXT NOT NULL, id TEXT NOT NULL,
            data TEXT NOT NULL,
            server TEXT,
            field_revs TEXT NOT NULL DEFAULT '{}',
            server_rev INTEGER NOT NULL DEFAULT 0,
            server_hlc TEXT,
            deleted INTEGER NOT NULL DEFAULT 0,
            seen_gen INTEGER NOT NULL DEFAULT 0,
            updated_at INTEGER,
            PRIMARY KEY (entity, id)
        );
        CREATE INDEX records_site ON records(entity, json_extract(data, '$.site_id'));
        CREATE INDEX records_owner ON records(entity, json_extract(data, '$.owner_id'));
        CREATE INDEX records_case ON records(entity, json_extract(data, '$.case_id'));
        CREATE TABLE outbox (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            entity TEXT NOT NULL, entity_id TEXT NOT NULL, op TEXT NOT NULL,
            hlc TEXT NOT NULL, body BLOB NOT NULL, created_at INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT
        );
        CREATE INDEX outbox_record ON outbox(entity, entity_id);
        CREATE TABLE quarantine (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            seq INTEGER, entity TEXT, entity_id TEXT, op TEXT, body BLOB,
            code TEXT NOT NULL, message TEXT NOT NULL, details TEXT NOT NULL DEFAULT '{}',
            state TEXT NOT NULL DEFAULT 'open',
            created_at INTEGER NOT NULL, resolved_at INTEGER, retried_as TEXT
        );
        CREATE INDEX quarantine_record ON quarantine(entity, entity_id, state);
        CREATE TABLE photos (
            sha256 TEXT PRIMARY KEY, path TEXT NOT NULL, bytes INTEGER NOT NULL,
            width INTEGER, height INTEGER,
            state TEXT NOT NULL DEFAULT 'pending',
            upload_url TEXT, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,
            created_at INTEGER NOT NULL, uploaded_at INTEGER
        )
    """)


#: Columns holding a copy of the view's link to its parent record, filled at
#: write time (m002): the lists by site, owner and case are indexed on them.
KEY_COLUMNS = ("site_id", "owner_id", "case_id")


@migrations(name="m002_record_keys")
def m002_record_keys(db: sqlite_utils.Database) -> None:
    """Real columns instead of ``json_extract`` expression indexes, and the
    server values stored once when they are the view.

    * ``site_id``, ``owner_id``, ``case_id``: the view's links, written with
      the row; partial indexes (``WHERE … IS NOT NULL``) replace m001's three
      ``json_extract`` indexes, which parsed the data JSON three times per row
      written and indexed every row three times, NULL or not.
    * ``server_is_data``: 1 when the server values equal the view (no local
      edit on top, the usual case); ``server`` is then NULL instead of a
      second copy of the same JSON. ``server`` NULL with ``server_is_data`` 0
      still means "known only on this device".
    """
    _run(db, """
        ALTER TABLE records ADD COLUMN site_id TEXT;
        ALTER TABLE records ADD COLUMN owner_id TEXT;
        ALTER TABLE records ADD COLUMN case_id TEXT;
        ALTER TABLE records ADD COLUMN server_is_data INTEGER NOT NULL DEFAULT 0;
        UPDATE records SET
            site_id = CASE json_type(data, '$.site_id')
                      WHEN 'text' THEN json_extract(data, '$.site_id') END,
            owner_id = CASE json_type(data, '$.owner_id')
                       WHEN 'text' THEN json_extract(data, '$.owner_id') END,
            case_id = CASE json_type(data, '$.case_id')
                      WHEN 'text' THEN json_extract(data, '$.case_id') END;
        UPDATE records SET server = NULL, server_is_data = 1
            WHERE server IS NOT NULL AND server = data;
        DROP INDEX records_site;
        DROP INDEX records_owner;
        DROP INDEX records_case;
        CREATE INDEX records_site ON records(entity, site_id) WHERE site_id IS NOT NULL;
        CREATE INDEX records_owner ON records(entity, owner_id) WHERE owner_id IS NOT NULL;
        CREATE INDEX records_case ON records(entity, case_id) WHERE case_id IS NOT NULL
    """)


#: The link indexes of m002, by name. A first sync into an empty records table
#: leaves them out and makes them once at its end (``LocalStore.bulk_load``).
LINK_INDEXES = {
    "records_site": "CREATE INDEX IF NOT EXISTS records_site ON records(entity, site_id) "
                    "WHERE site_id IS NOT NULL",
    "records_owner": "CREATE INDEX IF NOT EXISTS records_owner ON records(entity, owner_id) "
                     "WHERE owner_id IS NOT NULL",
    "records_case": "CREATE INDEX IF NOT EXISTS records_case ON records(entity, case_id) "
                    "WHERE case_id IS NOT NULL",
}


#: Page size of a new device file (SQLite's default is 4 KiB).
PAGE_SIZE = 16384


def connect(path: str | Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
    # 16 KiB pages for a new file (no effect on an existing one): a pulled
    # inspection row is large, and 4 KiB pages left much of each page unused,
    # so a first sync wrote more bytes (docs/performance.md).
    conn.execute(f"PRAGMA page_size={PAGE_SIZE}")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=30000")
    # A larger page cache than SQLite's default: a first sync writes a
    # district's records with random ids into four B-trees (docs/performance.md).
    conn.execute("PRAGMA cache_size=-32768")
    return conn

