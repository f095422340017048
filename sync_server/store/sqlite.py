"""SQLite backend of ``SyncStore`` (sqlite-utils, WAL, one writer).

Writes go through one connection behind a lock with ``BEGIN IMMEDIATE``;
reads use one connection per thread, which WAL lets run beside the writer.
``synchronous=FULL`` on the writer: a push is acknowledged only after its
commit is on disk (see docs/architecture.md, "Durability").
"""

from __future__ import annotations

import collections
import sqlite3
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Sequence, TypeVar

import msgspec
import sqlite_utils
from sqlite_utils.migrations import Migrations

from shared_schema.entities import REFERENCE_ENTITIES
from sync_server.store.base import (
    CASE_SEARCH_FIELDS,
    AuditEntry,
    ConflictRecord,
    DeviceRow,
    DeviceStats,
    FieldMeta,
    HistoryEntry,
    LedgerEntry,
    LoginFailures,
    StoredRecord,
    TokenRow,
    UploadRow,
    UserRow,
    Visibility,
)

_enc = msgspec.json.Encoder()
T = TypeVar("T")
_dec = msgspec.json.Decoder()


def _dumps(value: Any) -> str:
    return _enc.encode(value).decode()


def _loads(text: str | None) -> Any:
    return None if text is None else _dec.decode(text)


migrations = Migrations("sync_server")


@migrations(name="m001_core")
def m001_core(db: sqlite_utils.Database) -> None:
    db.executescript(
        """
        CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
        INSERT INTO counters VALUES ('rev', 0);
        CREATE TABLE records (
            entity TEXT NOT NULL, id TEXT NOT NULL, rev INTEGER NOT NULL,
            deleted INTEGER NOT NULL DEFAULT 0, ref INTEGER NOT NULL DEFAULT 0,
            data TEXT NOT NULL, meta TEXT NOT NULL,
            village_id TEXT, department_id TEXT, site_id TEXT, parent_id TEXT,
            created_by_user TEXT, created_by_device TEXT,
            PRIMARY KEY (entity, id)
        );
        CREATE UNIQUE INDEX records_rev ON records(rev);
        CREATE INDEX records_site ON records(site_id);
        CREATE INDEX records_parent ON records(parent_id, entity);
        CREATE TABLE field_history (
            entity TEXT NOT NULL, id TEXT NOT NULL, field TEXT NOT NULL, rev INTEGER NOT NULL,
            value TEXT, hlc TEXT, user_id TEXT, device_id TEXT,
            PRIMARY KEY (entity, id, field, rev)
        );
        CREATE TABLE tombstones (
            entity TEXT NOT NULL, id TEXT NOT NULL, rev INTEGER NOT NULL,
            deleted_at INTEGER NOT NULL, deleted_by TEXT,
            PRIMARY KEY (entity, id)
        );
        CREATE TABLE conflicts (
            id TEXT PRIMARY KEY, entity TEXT NOT NULL, entity_id TEXT NOT NULL,
            field TEXT NOT NULL, base_rev INTEGER, base_value TEXT,
            winner_value TEXT, winner_hlc TEXT, winner_user TEXT, winner_device TEXT,
            loser_value TEXT, loser_hlc TEXT, loser_user TEXT, loser_device TEXT,
            mutation_id TEXT, created_at INTEGER, status TEXT NOT NULL DEFAULT 'open',
            resolved_by TEXT, resolved_at INTEGER, resolution TEXT
        );
        CREATE INDEX conflicts_status ON conflicts(status);
        CREATE TABLE mutations (
            id TEXT PRIMARY KEY, device_id TEXT NOT NULL, user_id TEXT NOT NULL,
            seq INTEGER NOT NULL, fingerprint TEXT NOT NULL, status TEXT NOT NULL,
            result TEXT NOT NULL, entity TEXT, entity_id TEXT, received_at INTEGER
        );
        CREATE INDEX mutations_device ON mutations(device_id, seq);
        CREATE TABLE users (
            id TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE, display_name TEXT NOT NULL,
            role TEXT NOT NULL, password_hash TEXT NOT NULL,
            village_ids TEXT NOT NULL DEFAULT '[]', department_ids TEXT NOT NULL DEFAULT '[]',
            scope_version INTEGER NOT NULL DEFAULT 1, active INTEGER NOT NULL DEFAULT 1,
            created_at INTEGER
        );
        CREATE TABLE devices (
            device_id TEXT PRIMARY KEY, user_id TEXT NOT NULL, name TEXT, created_at INTEGER,
            last_push_ms INTEGER, last_pull_ms INTEGER, clock_offset_ms INTEGER,
            skewed INTEGER NOT NULL DEFAULT 0, last_hlc TEXT NOT NULL DEFAULT '',
            scope_version_seen INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE tokens (
            token_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, device_id TEXT NOT NULL,
            expires_at INTEGER NOT NULL, created_at INTEGER NOT NULL, revoked_at INTEGER
        );
        CREATE INDEX tokens_device ON tokens(device_id);
        CREATE TABLE blobs (
            sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL, created_at INTEGER, device_id TEXT
        );
        CREATE TABLE uploads (
            id TEXT PRIMARY KEY, sha256 TEXT NOT NULL, length INTEGER NOT NULL,
            "offset" INTEGER NOT NULL, filename TEXT, device_id TEXT, user_id TEXT,
            created_at INTEGER
        );
        """
    )


@migrations(name="m002_office")
def m002_office(db: sqlite_utils.Database) -> None:
    """Office console: the audit log and the admin-edited working-day calendar."""
    db.executescript(
        """
        CREATE TABLE audit_log (
            id TEXT PRIMARY KEY, at INTEGER NOT NULL, user_id TEXT NOT NULL,
            username TEXT NOT NULL, role TEXT NOT NULL, device_id TEXT NOT NULL,
            action TEXT NOT NULL, entity TEXT NOT NULL DEFAULT '',
            entity_id TEXT NOT NULL DEFAULT '', details TEXT NOT NULL DEFAULT '{}'
        );
        CREATE INDEX audit_log_at ON audit_log(at, id);
        CREATE INDEX audit_log_entity ON audit_log(entity_id);
        CREATE TABLE calendar (
            name TEXT PRIMARY KEY, data TEXT NOT NULL, updated_at INTEGER NOT NULL,
            updated_by TEXT NOT NULL
        );
        CREATE INDEX field_history_record ON field_history(entity, id);
        """
    )


@migrations(name="m003_drop_field_history_record")
def m003_drop_field_history_record(db: sqlite_utils.Database) -> None:
    """``field_history_record`` repeats the start of the table's primary key
    (entity, id, field, rev), which already serves lookups by record; every
    history insert (27 per inspection push) paid for the extra index."""
    db.execute("DROP INDEX IF EXISTS field_history_record")


#: ``field_history``'s old row shape (one row per field written), as a view over
#: ``record_history``: raw-SQL readers (operators, the reliability proofs) keep
#: working. ``value`` is the field's JSON text, as it was stored before m004.
_FIELD_HISTORY_VIEW = """
CREATE VIEW field_history AS
SELECT h.entity AS entity, h.id AS id, j.key AS field, h.rev AS rev,
       CASE j.type WHEN 'object' THEN j.value WHEN 'array' THEN j.value
                   WHEN 'true' THEN 'true' WHEN 'false' THEN 'false'
                   WHEN 'null' THEN 'null' ELSE json_quote(j.value) END AS value,
       h.hlc AS hlc, h.user_id AS user_id, h.device_id AS device_id
FROM record_history AS h, json_each(h.fields) AS j
"""


@migrations(name="m004_record_history")
def m004_record_history(db: sqlite_utils.Database) -> None:
    """One history row per write instead of one per field written.

    ``record_history`` holds, per (entity, id, rev), the fields that write set
    as one JSON object (``{"name": …, "answers.C01": {…}}``) and its HLC and
    author: an inspection push is one row instead of 27. Existing
    ``field_history`` rows are folded into it by (entity, id, rev), and
    ``field_history`` becomes a view giving the old per-field rows."""
    db.executescript(
        """
        CREATE TABLE record_history (
            entity TEXT NOT NULL, id TEXT NOT NULL, rev INTEGER NOT NULL,
            hlc TEXT, user_id TEXT, device_id TEXT, fields TEXT NOT NULL,
            PRIMARY KEY (entity, id, rev)
        );
        INSERT INTO record_history (entity, id, rev, hlc, user_id, device_id, fields)
        SELECT entity, id, rev, max(hlc), max(user_id), max(device_id),
               json_group_object(field, json(coalesce(value, 'null')))
        FROM field_history GROUP BY entity, id, rev;
        DROP TABLE field_history;
        """ + _FIELD_HISTORY_VIEW
    )


@migrations(name="m005_records_pull_columns")
def m005_records_pull_columns(db: sqlite_utils.Database) -> None:
    """A record's pull-ready ``field_revs`` (JSON: field -> revision) and newest
    HLC as columns, written with the record: a pull page is then SQL and
    string assembly, without decoding ``meta`` per row. Backfilled from
    ``meta`` (field -> [rev, hlc, user, device])."""
    db.executescript(
        """
        ALTER TABLE records ADD COLUMN field_revs TEXT NOT NULL DEFAULT '{}';
        ALTER TABLE records ADD COLUMN newest_hlc TEXT;
        UPDATE records SET
            field_revs = (SELECT json_group_object(key, json_extract(value, '$[0]'))
                          FROM json_each(records.meta)),
            newest_hlc = (SELECT max(json_extract(value, '$[1]'))
                          FROM json_each(records.meta));
        """
    )


@migrations(name="m006_scoped_pull_indexes")
def m006_scoped_pull_indexes(db: sqlite_utils.Database) -> None:
    """Indexes for a scoped pull (``_changes``): one per way a record becomes
    visible (reference data, village, department, its creator), each ordered by
    revision. A grid officer's pull then reads its own village's new rows
    instead of every row newer than its cursor in the township (12x less per
    pull with 40 villages; see docs/performance.md). And photos by content
    hash and by the device that sent them: ``blob_visible`` (every photo
    fetched from the field) and ``photo_hashes_named_by`` (every receipt)
    looked at every photo record of the township."""
    db.executescript(
        """
        CREATE INDEX records_photo_sha ON records(json_extract(data, '$.sha256'))
            WHERE entity = 'photo';
        CREATE INDEX records_photo_device ON records(created_by_device)
            WHERE entity = 'photo';
        CREATE INDEX records_ref_rev ON records(rev) WHERE ref = 1;
        CREATE INDEX records_village_rev ON records(village_id, rev);
        CREATE INDEX records_department_rev ON records(department_id, rev);
        CREATE INDEX records_creator_rev ON records(created_by_user, rev);
        """
    )


@migrations(name="m007_device_secrets")
def m007_device_secrets(db: sqlite_utils.Database) -> None:
    """The sha256 of the secret a device proves its id with, bound at its first
    login (protocol 1.1). Devices from before have none: theirs binds at their
    own user's next login (``auth.service.login``)."""
    db.executescript("ALTER TABLE devices ADD COLUMN secret_hash TEXT;")


@migrations(name="m008_logins")
def m008_logins(db: sqlite_utils.Database) -> None:
    """Login back-off and persistent device revocation: failed logins per key
    (``user:<name>``, ``client:<address>``) with the time of the last one,
    and the devices an admin revoked (they may not log in until re-enabled)."""
    db.executescript(
        """
        CREATE TABLE login_failures (
            key TEXT PRIMARY KEY, failures INTEGER NOT NULL, last_failure_at INTEGER NOT NULL
        );
        CREATE INDEX login_failures_last ON login_failures(last_failure_at);
        CREATE TABLE device_blocks (
            device_id TEXT PRIMARY KEY, revoked_at INTEGER NOT NULL, revoked_by TEXT
        );
        """
    )


@migrations(name="m009_uploads_bounded")
def m009_uploads_bounded(db: sqlite_utils.Database) -> None:
    """Bounded uploads and blob rights (issue 14).

    ``uploads`` gets ``updated_at`` (the last time bytes arrived: an upload
    expires a set time after it) and a lock (``lock_token``, ``locked_at``)
    taken by compare-and-set for one PATCH at a time, in any number of server
    processes. ``blobs`` gets ``orphan_since``: the first collection that saw
    no live photo record name the blob. ``blob_holders`` keeps who sent (and
    had verified) each blob's bytes: a blob is served through a photo record
    only if the record's creator is one of them. Backfilled with the creators
    of the photo records the sending device pushed, and the user of that
    device."""
    db.executescript(
        """
        ALTER TABLE uploads ADD COLUMN updated_at INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE uploads ADD COLUMN lock_token TEXT;
        ALTER TABLE uploads ADD COLUMN locked_at INTEGER;
        UPDATE uploads SET updated_at = coalesce(created_at, 0);
        CREATE INDEX uploads_device ON uploads(device_id);
        CREATE INDEX uploads_user ON uploads(user_id);
        CREATE INDEX uploads_updated ON uploads(updated_at);
        ALTER TABLE blobs ADD COLUMN orphan_since INTEGER;
        CREATE TABLE blob_holders (
            sha256 TEXT NOT NULL, user_id TEXT NOT NULL, at INTEGER NOT NULL,
            PRIMARY KEY (sha256, user_id)
        );
        INSERT OR IGNORE INTO blob_holders (sha256, user_id, at)
        SELECT b.sha256, r.created_by_user, coalesce(b.created_at, 0)
        FROM blobs AS b JOIN records AS r
          ON r.entity = 'photo' AND json_extract(r.data, '$.sha256') = b.sha256
         AND r.created_by_device = b.device_id
        WHERE r.created_by_user IS NOT NULL;
        INSERT OR IGNORE INTO blob_holders (sha256, user_id, at)
        SELECT b.sha256, d.user_id, coalesce(b.created_at, 0)
        FROM blobs AS b JOIN devices AS d ON d.device_id = b.device_id;
        """
    )


@migrations(name="m010_received_at")
def m010_received_at(db: sqlite_utils.Database) -> None:
    """Server time for records written before the server stamped it
    (``shared_schema.servertime``): each record's ``received_at`` is the
    server's time of the first device mutation applied to it (the ledger's
    ``received_at``); a record no device sent (seed, office) takes the
    earliest of its server-written ``created_at``/``updated_at`` and, for an
    office case, its ``opened_at``. A submitted inspection's
    ``submitted_received_at`` is the ledger time of its last applied mutation
    (the submission: afterwards its author can change nothing), else its
    ``updated_at``. Then every case's ``accepted_at``/``resolved_at``/
    ``closed_at`` are folded again from its events at their counted times
    (default window), so backdated events of an old database stop counting.
    The data changes in place, without new revisions."""
    from shared_schema import cases
    from shared_schema.servertime import event_ms

    script = """
        CREATE TEMP TABLE m010_receipts AS
            SELECT entity, entity_id, min(received_at) AS first, max(received_at) AS last
            FROM mutations WHERE status IN ('applied', 'merged') AND received_at IS NOT NULL
            GROUP BY entity, entity_id;
        CREATE INDEX temp.m010_receipts_key ON m010_receipts(entity, entity_id);
        UPDATE records SET data = json_set(data, '$.received_at', coalesce(
            (SELECT r.first FROM m010_receipts r
             WHERE r.entity = records.entity AND r.entity_id = records.id),
            (SELECT min(t) FROM (
                SELECT json_extract(records.data, '$.created_at') AS t
                UNION ALL SELECT json_extract(records.data, '$.updated_at')
                UNION ALL SELECT json_extract(records.data, '$.opened_at')
                    WHERE records.entity = 'case'))))
        WHERE json_type(data, '$.received_at') IS NULL
          AND json_type(data, '$.updated_at') IS NOT NULL;
        UPDATE records SET data = json_set(data, '$.submitted_received_at', coalesce(
            (SELECT r.last FROM m010_receipts r
             WHERE r.entity = 'inspection' AND r.entity_id = records.id),
            json_extract(data, '$.updated_at')))
        WHERE entity = 'inspection' AND json_extract(data, '$.state') = 'submitted'
          AND json_type(data, '$.submitted_received_at') IS NULL;
        DROP TABLE temp.m010_receipts
        """
    for statement in script.split(";"):  # one by one: inside the migration's transaction
        db.conn.execute(statement)
    events: dict[str, list[dict[str, Any]]] = {}
    for parent, data in db.execute(
            "SELECT parent_id, data FROM records WHERE entity = 'case_event' AND deleted = 0"):
        events.setdefault(parent, []).append(_loads(data))
    updates = []
    for id, data in db.execute("SELECT id, data FROM records WHERE entity = 'case'"):
        mine = sorted(events.get(id, ()), key=lambda e: e.get("hlc") or "")
        if not mine:
            continue
        case = _loads(data)
        try:
            state = cases.fold(cases.CaseState(level=case.get("initial_level") or "township"), [
                (e.get("kind") or "", e.get("author_role") or "", e, event_ms(e)) for e in mine])
        except cases.CaseRuleError:
            continue  # events the rules no longer take: leave the case as it was
        times = {"accepted_at": state.accepted_at, "resolved_at": state.resolved_at,
                 "closed_at": state.closed_at}
        if any(case.get(k) != v for k, v in times.items()):
            updates.append((_dumps({**case, **times}), id))
    if updates:
        db.conn.executemany("UPDATE records SET data = ? WHERE entity = 'case' AND id = ?",
                            updates)


#: More villages and departments than this in one scope: the pull uses the
#: township-wide revision index (a compound SELECT has at most 500 terms).
_MAX_SCOPE_TERMS = 200


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    return conn


#: Up to this many keys are read as one ``UNION ALL`` of point lookups, more as
#: ``IN (…)`` lists. SQLite sets up an ``IN`` list before probing it: a phone's
#: push of five read its five new records and five sites in 125 µs that way,
#: and in 40 µs as ten point lookups; past a few dozen keys the lists win
#: (200 + 200 keys: 1.5 ms against 2.8 ms).
POINT_READS = 32


def _rows_where(conn: sqlite3.Connection, select: str, columns: str,
                keys: list[tuple]) -> list[tuple]:
    """The rows of ``select`` whose ``columns`` (one or more, comma-separated)
    equal one of ``keys``, each key a tuple of as many values. Keys are
    assumed distinct; rows come in no particular order."""
    if not keys:
        return []
    names = [c.strip() for c in columns.split(",")]
    if len(keys) <= POINT_READS:
        point = f"{select} WHERE " + " AND ".join(f"{n}=?" for n in names)
        return conn.execute(" UNION ALL ".join([point] * len(keys)),
                            [v for key in keys for v in key]).fetchall()
    *fixed, last = names
    groups: dict[tuple, list[Any]] = {}
    for key in keys:
        groups.setdefault(tuple(key[:-1]), []).append(key[-1])
    head = "".join(f"{n}=? AND " for n in fixed)
    rows: list[tuple] = []
    for prefix, values in groups.items():
        for i in range(0, len(values), 500):
            chunk = values[i:i + 500]
            rows += conn.execute(f"{select} WHERE {head}{last} IN ({','.join('?' * len(chunk))})",
                                 (*prefix, *chunk)).fetchall()
    return rows


_RECORD_COLS = (
    "entity, id, rev, deleted, data, meta, village_id, department_id, site_id, parent_id, "
    "created_by_user, created_by_device"
)
_RECORD_COLS_QUALIFIED = ", ".join(f"records.{c.strip()}" for c in _RECORD_COLS.split(","))


#: A pull page's columns (see ``SqliteStore.change_rows_since``).
_CHANGE_COLS = "entity, id, rev, deleted, data, field_revs, newest_hlc, created_by_user"


def _meta(text: str) -> dict[str, FieldMeta]:
    """``meta`` as stored. Written since m005: one entry per write,
    ``[[rev, hlc, user_id, device_id, [field, …]], …]`` (the fields of one write
    share its revision, HLC and author: an inspection's meta is ~0.5 KB instead
    of ~4.5 KB). Rows not rewritten since hold the older per-field form,
    ``{field: [rev, hlc, user_id, device_id]}``; both are read."""
    raw = _loads(text)
    if isinstance(raw, dict):
        return {k: FieldMeta(*v) for k, v in raw.items()}
    meta: dict[str, FieldMeta] = {}
    for rev, hlc, user_id, device_id, names in raw:
        m = FieldMeta(rev, hlc, user_id, device_id)
        for name in names:
            meta[name] = m
    return meta


def _record(row: tuple) -> StoredRecord:
    return StoredRecord(
        entity=row[0], id=row[1], rev=row[2], deleted=bool(row[3]), data=_loads(row[4]),
        meta=_meta(row[5]), village_id=row[6], department_id=row[7], site_id=row[8],
        parent_id=row[9], created_by_user=row[10], created_by_device=row[11],
    )


def _user(row: sqlite3.Row | tuple) -> UserRow:
    return UserRow(
        id=row[0], username=row[1], display_name=row[2], role=row[3], password_hash=row[4],
        village_ids=_loads(row[5]), department_ids=_loads(row[6]), scope_version=row[7],
        active=bool(row[8]), created_at=row[9] or 0,
    )


_USER_COLS = (
    "id, username, display_name, role, password_hash, village_ids, department_ids, "
    "scope_version, active, created_at"
)
#: Every authenticated request's one read (``get_token_and_user``).
_TOKEN_AND_USER = (
    "SELECT t.token_hash, t.user_id, t.device_id, t.expires_at, t.created_at, t.revoked_at, "
    + ", ".join(f"u.{c.strip()}" for c in _USER_COLS.split(","))
    + " FROM tokens t LEFT JOIN users u ON u.id = t.user_id WHERE t.token_hash=?"
)
_DEVICE_COLS = (
    "device_id, user_id, name, created_at, last_push_ms, last_pull_ms, clock_offset_ms, "
    "skewed, last_hlc, scope_version_seen, secret_hash"
)
_CONFLICT_COLS = (
    "id, entity, entity_id, field, base_rev, base_value, winner_value, winner_hlc, "
    "winner_user, winner_device, loser_value, loser_hlc, loser_user, loser_device, "
    "mutation_id, created_at, status, resolved_by, resolved_at, resolution"
)
_JSON_CONFLICT = {"base_value", "winner_value", "loser_value", "resolution"}


def _upsert(table: str, cols: str, key: str) -> str:
    """INSERT … ON CONFLICT (key) DO UPDATE. Not ``OR REPLACE``: that would also
    delete whichever other row holds a UNIQUE value (a record's revision, a
    username) instead of failing."""
    names = [c.strip() for c in cols.split(",")]
    keys = {k.strip() for k in key.split(",")}
    return (
        f"INSERT INTO {table} ({cols}) VALUES ({','.join('?' * len(names))}) "
        f"ON CONFLICT ({key}) DO UPDATE SET "
        + ", ".join(f"{n}=excluded.{n}" for n in names if n not in keys)
    )


_UPSERT_RECORD = _upsert("records", _RECORD_COLS + ", ref, field_revs, newest_hlc", "entity, id")


def _record_row(r: StoredRecord) -> tuple:
    """The ``_UPSERT_RECORD`` parameters of a record: ``meta`` one entry per
    write (see ``_meta``), plus the pull columns of m005."""
    meta = r.meta
    if meta and len(set(map(id, meta.values()))) == 1:
        # One write set every field (a new record): what the loop below gives, in one pass.
        m = next(iter(meta.values()))
        return (
            r.entity, r.id, r.rev, int(r.deleted), _dumps(r.data),
            _dumps([[m.rev, m.hlc, m.user_id, m.device_id, list(meta)]]),
            r.village_id, r.department_id, r.site_id, r.parent_id,
            r.created_by_user, r.created_by_device, int(r.entity in REFERENCE_ENTITIES),
            _dumps(dict.fromkeys(meta, m.rev)), m.hlc,
        )
    writes: dict[tuple, list[str]] = {}
    by_object: dict[int, list[str]] = {}  # the fields of one write share their FieldMeta
    revs = {}
    newest = None
    for k, m in meta.items():
        names = by_object.get(id(m))
        if names is None:
            key = (m.rev, m.hlc, m.user_id, m.device_id)
            names = writes.get(key)
            if names is None:
                names = writes[key] = []
            by_object[id(m)] = names
        names.append(k)
        revs[k] = m.rev
        if m.hlc is not None and (newest is None or m.hlc > newest):
            newest = m.hlc
    return (
        r.entity, r.id, r.rev, int(r.deleted), _dumps(r.data),
        _dumps([[*key, names] for key, names in writes.items()]),
        r.village_id, r.department_id, r.site_id, r.parent_id,
        r.created_by_user, r.created_by_device, int(r.entity in REFERENCE_ENTITIES),
        _dumps(revs), newest,
    )


_INSERT_HISTORY = (
    "INSERT INTO record_history (entity, id, rev, hlc, user_id, device_id, fields) "
    "VALUES (?,?,?,?,?,?,?)"
)
_UPSERT_USER = _upsert("users", _USER_COLS, "id")


def _device(row: tuple) -> DeviceRow:
    d = DeviceRow(*row)
    d.skewed = bool(d.skewed)
    return d


def _conflict(row: tuple) -> ConflictRecord:
    names = [c.strip() for c in _CONFLICT_COLS.split(",")]
    values = {n: (_loads(v) if n in _JSON_CONFLICT else v) for n, v in zip(names, row)}
    return ConflictRecord(**values)


class _Reads:
    """Read queries shared by the store (any thread) and the write transaction."""

    conn: sqlite3.Connection

    def get_user_by_username(self, username: str) -> UserRow | None:
        row = self.conn.execute(
            f"SELECT {_USER_COLS} FROM users WHERE username=?", (username,)
        ).fetchone()
        return _user(row) if row else None

    def max_rev(self) -> int:
        return self.conn.execute("SELECT value FROM counters WHERE name='rev'").fetchone()[0]

    def get_record(self, entity: str, id: str) -> StoredRecord | None:
        row = self.conn.execute(
            f"SELECT {_RECORD_COLS} FROM records WHERE entity=? AND id=?", (entity, id)
        ).fetchone()
        return _record(row) if row else None

    def is_blob_holder(self, sha256: str, user_id: str) -> bool:
        return self.conn.execute("SELECT 1 FROM blob_holders WHERE sha256=? AND user_id=?",
                                 (sha256, user_id)).fetchone() is not None

    def blob_holders(self, sha256: str) -> list[str]:
        return [r[0] for r in self.conn.execute(
            "SELECT user_id FROM blob_holders WHERE sha256=? ORDER BY user_id", (sha256,))]

    def photo_creators(self, sha256: str, device_id: str) -> list[str]:
        return [r[0] for r in self.conn.execute(
            "SELECT DISTINCT created_by_user FROM records WHERE entity='photo' AND deleted=0 "
            "AND json_extract(data, '$.sha256') = ? AND created_by_device = ? "
            "AND created_by_user IS NOT NULL ORDER BY created_by_user", (sha256, device_id))]

    def unfinished_uploads(self, *, device_id: str | None = None,
                           user_id: str | None = None) -> tuple[int, int]:
        if (device_id is None) == (user_id is None):
            raise ValueError("name a device or a user")
        column, key = ("device_id", device_id) if device_id is not None else ("user_id", user_id)
        count, size = self.conn.execute(
            f'SELECT count(*), coalesce(sum(length), 0) FROM uploads WHERE {column}=? '
            'AND "offset" < length', (key,)).fetchone()
        return count, size

    def get_device(self, device_id: str) -> DeviceRow | None:
        row = self.conn.execute(
            f"SELECT {_DEVICE_COLS} FROM devices WHERE device_id=?", (device_id,)
        ).fetchone()
        return _device(row) if row else None

    def get_mutation(self, id: str) -> LedgerEntry | None:
        row = self.conn.execute(
            "SELECT id, device_id, user_id, seq, fingerprint, status, result, entity, "
            "entity_id, received_at FROM mutations WHERE id=?",
            (id,),
        ).fetchone()
        if not row:
            return None
        return LedgerEntry(*row[:6], _loads(row[6]), *row[7:])

    def get_mutations(self, ids: Iterable[str]) -> dict[str, LedgerEntry]:
        """The ledger rows of several mutation ids; unseen ids are left out."""
        ids = list(dict.fromkeys(ids))
        out: dict[str, LedgerEntry] = {}
        for row in _rows_where(self.conn, "SELECT id, device_id, user_id, seq, fingerprint, "
                               "status, result, entity, entity_id, received_at FROM mutations",
                               "id", [(i,) for i in ids]):
            out[row[0]] = LedgerEntry(*row[:6], _loads(row[6]), *row[7:])
        return out

    def get_conflict(self, id: str) -> ConflictRecord | None:
        row = self.conn.execute(
            f"SELECT {_CONFLICT_COLS} FROM conflicts WHERE id=?", (id,)).fetchone()
        return _conflict(row) if row else None

    def children_of_site(self, site_id: str) -> list[StoredRecord]:
        rows = self.conn.execute(
            f"SELECT {_RECORD_COLS} FROM records WHERE site_id=? AND entity != 'site'",
            (site_id,),
        ).fetchall()
        return [_record(r) for r in rows]

    def children_of(self, parent_id: str, entity: str) -> list[StoredRecord]:
        """Records of ``entity`` under ``parent_id`` (a case's events, a
        record's photos, a site's inspections), by revision, through the
        ``(parent_id, entity)`` index."""
        rows = self.conn.execute(
            f"SELECT {_RECORD_COLS} FROM records WHERE parent_id=? AND entity=? ORDER BY rev",
            (parent_id, entity),
        ).fetchall()
        return [_record(r) for r in rows]


    # logins (migration m008_logins)
    def device_blocked(self, device_id: str) -> int | None:
        row = self.conn.execute(
            "SELECT revoked_at FROM device_blocks WHERE device_id=?", (device_id,)).fetchone()
        return row[0] if row else None

    def login_failures(self, keys: Sequence[str]) -> dict[str, LoginFailures]:
        keys = list(dict.fromkeys(keys))
        if not keys:
            return {}
        rows = self.conn.execute(
            "SELECT key, failures, last_failure_at FROM login_failures WHERE key IN "
            f"({','.join('?' * len(keys))})", keys).fetchall()
        return {r[0]: LoginFailures(*r) for r in rows}


_UPLOAD_COLS = ('id, sha256, length, "offset", filename, device_id, user_id, created_at, '
                 "updated_at")
_AUDIT_COLS = "id, at, user_id, username, role, device_id, action, entity, entity_id, details"


class _SqliteTx(_Reads):
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self._sp = 0
        self._peeked: dict[tuple[str, str], StoredRecord | None] = {}

    def peek_record(self, entity: str, id: str) -> StoredRecord | None:
        """``get_record`` for looking only (a site's scope keys, kind, existence):
        within this transaction the same object may be returned again, so the
        caller must not change it. Forgotten when the record is written or a
        savepoint rolls back."""
        key = (entity, id)
        if key in self._peeked:
            return self._peeked[key]
        rec = self._peeked[key] = self.get_record(entity, id)
        return rec

    def next_rev(self) -> int:
        return self.conn.execute(
            "UPDATE counters SET value = value + 1 WHERE name='rev' RETURNING value"
        ).fetchone()[0]

    def put_record(self, r: StoredRecord) -> None:
        self._peeked.pop((r.entity, r.id), None)
        self.conn.execute(_UPSERT_RECORD, _record_row(r))

    def put_records(self, records: list[StoredRecord]) -> None:
        """``put_record`` for many records, in one statement."""
        for r in records:
            self._peeked.pop((r.entity, r.id), None)
        self.conn.executemany(_UPSERT_RECORD, [_record_row(r) for r in records])

    def get_records(self, keys: Iterable[tuple[str, str]]
                    ) -> dict[tuple[str, str], StoredRecord]:
        """The stored records of several (entity, id) keys; absent keys are left out."""
        rows = _rows_where(self.conn, f"SELECT {_RECORD_COLS} FROM records", "entity, id",
                           list(dict.fromkeys(keys)))
        return {(row[0], row[1]): _record(row) for row in rows}

    def children_of_parents(self, parent_ids: Iterable[str]) -> list[StoredRecord]:
        """Every record whose ``parent_id`` is one of ``parent_ids``."""
        ids = list(dict.fromkeys(parent_ids))
        return [_record(r) for r in _rows_where(
            self.conn, f"SELECT {_RECORD_COLS} FROM records", "parent_id", [(i,) for i in ids])]

    def advance_rev(self, to: int) -> None:
        """Move the revision counter up to ``to`` (revisions handed out by the
        caller itself, ``max_rev() + 1 … to``); never down."""
        cur = self.conn.execute(
            "UPDATE counters SET value=? WHERE name='rev' AND value <= ?", (to, to))
        if cur.rowcount != 1:
            raise ValueError(f"the revision counter is already past {to}")

    def add_history(self, entity: str, id: str, field: str, meta: FieldMeta, value: Any) -> None:
        """One field written at ``meta.rev``: added to that write's row if it has one."""
        row = self.conn.execute(
            "SELECT fields FROM record_history WHERE entity=? AND id=? AND rev=?",
            (entity, id, meta.rev)).fetchone()
        if row is None:
            self.add_write(entity, id, meta, {field: value})
        else:
            self.conn.execute(
                "UPDATE record_history SET fields=? WHERE entity=? AND id=? AND rev=?",
                (_dumps({**_loads(row[0]), field: value}), entity, id, meta.rev))

    def add_write(self, entity: str, id: str, meta: FieldMeta, values: dict[str, Any]) -> None:
        """The history row of one write: the fields it set, at ``meta.rev``."""
        self.add_writes([(entity, id, meta, values)])

    def add_writes(self, writes: list[tuple[str, str, FieldMeta, dict[str, Any]]]) -> None:
        """``add_write`` for many writes, in one statement. Each write has its own
        revision: a second row for the same (entity, id, rev) is an error
        (``add_history`` adds a field to an existing row)."""
        self.conn.executemany(
            _INSERT_HISTORY,
            [(entity, id, m.rev, m.hlc, m.user_id, m.device_id, _dumps(values))
             for entity, id, m, values in writes],
        )

    def history_value(self, entity: str, id: str, field: str, rev: int) -> tuple[bool, Any]:
        row = self.conn.execute(
            "SELECT fields FROM record_history WHERE entity=? AND id=? AND rev=?",
            (entity, id, rev),
        ).fetchone()
        if row is None:
            return False, None
        values = _loads(row[0])
        return (True, values[field]) if field in values else (False, None)

    def add_tombstone(self, entity: str, id: str, rev: int, at_ms: int, user_id: str) -> None:
        self.conn.execute(
            "INSERT OR REPLACE INTO tombstones VALUES (?,?,?,?,?)", (entity, id, rev, at_ms, user_id)
        )

    def add_conflict(self, c: ConflictRecord) -> None:
        self.add_conflicts([c])

    def add_conflicts(self, conflicts: list[ConflictRecord]) -> None:
        names = [n.strip() for n in _CONFLICT_COLS.split(",")]
        self.conn.executemany(
            f"INSERT INTO conflicts ({_CONFLICT_COLS}) VALUES ({','.join('?' * len(names))})",
            [[_dumps(getattr(c, n)) if n in _JSON_CONFLICT else getattr(c, n) for n in names]
             for c in conflicts],
        )

    def put_mutation(self, e: LedgerEntry) -> None:
        self.put_mutations([e])

    def put_mutations(self, entries: list[LedgerEntry]) -> None:
        self.conn.executemany(
            "INSERT INTO mutations VALUES (?,?,?,?,?,?,?,?,?,?)",
            [(e.id, e.device_id, e.user_id, e.seq, e.fingerprint, e.status, _dumps(e.result),
              e.entity, e.entity_id, e.received_at) for e in entries],
        )

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

    def put_user(self, u: UserRow) -> None:
        self.conn.execute(
            _UPSERT_USER,
            (u.id, u.username, u.display_name, u.role, u.password_hash, _dumps(u.village_ids),
             _dumps(u.department_ids), u.scope_version, int(u.active), u.created_at),
        )

    def put_token(self, t: TokenRow) -> None:
        self.conn.execute(
            "INSERT INTO tokens VALUES (?,?,?,?,?,?)",
            (t.token_hash, t.user_id, t.device_id, t.expires_at, t.created_at, t.revoked_at),
        )

    def revoke_tokens(self, *, device_id: str | None = None, token_hash: str | None = None,
                      at_ms: int, user_id: str | None = None) -> int:
        if device_id is None and token_hash is None and user_id is None:
            raise ValueError("name a device, a token or a user to revoke")
        cur = self.conn.execute(
            "UPDATE tokens SET revoked_at=? WHERE revoked_at IS NULL AND "
            "(device_id=? OR token_hash=? OR user_id=?)",
            (at_ms, device_id, token_hash, user_id),
        )
        return cur.rowcount

    def add_login_failure(self, key: str, at_ms: int, forget_before_ms: int) -> int:
        return self.conn.execute(
            "INSERT INTO login_failures VALUES (?, 1, ?) ON CONFLICT (key) DO UPDATE SET "
            "failures = CASE WHEN last_failure_at < ? THEN 1 ELSE failures + 1 END, "
            "last_failure_at = max(last_failure_at, excluded.last_failure_at) "
            "RETURNING failures", (key, at_ms, forget_before_ms)).fetchone()[0]

    def clear_login_failures(self, key: str) -> None:
        self.conn.execute("DELETE FROM login_failures WHERE key=?", (key,))

    def forget_login_failures(self, before_ms: int) -> int:
        return self.conn.execute(
            "DELETE FROM login_failures WHERE last_failure_at < ?", (before_ms,)).rowcount

    def block_device(self, device_id: str, at_ms: int, by: str | None) -> None:
        self.conn.execute(
            "INSERT INTO device_blocks VALUES (?,?,?) ON CONFLICT (device_id) DO NOTHING",
            (device_id, at_ms, by))

    def unblock_device(self, device_id: str) -> bool:
        return self.conn.execute(
            "DELETE FROM device_blocks WHERE device_id=?", (device_id,)).rowcount > 0

    def put_device(self, d: DeviceRow) -> None:
        self.conn.execute(
            f"INSERT OR REPLACE INTO devices ({_DEVICE_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            (d.device_id, d.user_id, d.name, d.created_at, d.last_push_ms, d.last_pull_ms,
             d.clock_offset_ms, int(d.skewed), d.last_hlc, d.scope_version_seen,
             d.secret_hash),
        )

    def put_blob(self, sha256: str, size: int, at_ms: int, device_id: str | None) -> None:
        self.conn.execute(
            "INSERT OR IGNORE INTO blobs (sha256, size, created_at, device_id) VALUES (?,?,?,?)",
            (sha256, size, at_ms, device_id)
        )

    def put_upload(self, u: UploadRow) -> None:
        self.conn.execute(
            f"INSERT OR REPLACE INTO uploads ({_UPLOAD_COLS}) VALUES (?,?,?,?,?,?,?,?,?)",
            (u.id, u.sha256, u.length, u.offset, u.filename, u.device_id, u.user_id, u.created_at,
             u.updated_at or u.created_at),
        )

    def delete_upload(self, id: str) -> None:
        self.conn.execute("DELETE FROM uploads WHERE id=?", (id,))

    def claim_upload(self, id: str, offset: int, token: str, now_ms: int,
                     stale_before_ms: int) -> bool:
        cur = self.conn.execute(
            'UPDATE uploads SET lock_token=?, locked_at=? WHERE id=? AND "offset"=? '
            "AND (lock_token IS NULL OR locked_at < ?)",
            (token, now_ms, id, offset, stale_before_ms))
        return cur.rowcount == 1

    def renew_upload_claim(self, id: str, token: str, now_ms: int) -> bool:
        cur = self.conn.execute("UPDATE uploads SET locked_at=? WHERE id=? AND lock_token=?",
                                (now_ms, id, token))
        return cur.rowcount == 1

    def release_upload(self, id: str, token: str, offset: int, now_ms: int) -> bool:
        cur = self.conn.execute(
            'UPDATE uploads SET "offset"=?, updated_at=?, lock_token=NULL, locked_at=NULL '
            "WHERE id=? AND lock_token=?", (offset, now_ms, id, token))
        return cur.rowcount == 1

    def add_blob_holder(self, sha256: str, user_id: str, at_ms: int) -> None:
        self.conn.execute("INSERT OR IGNORE INTO blob_holders (sha256, user_id, at) "
                          "VALUES (?,?,?)", (sha256, user_id, at_ms))

    def touch_blob(self, sha256: str) -> None:
        self.conn.execute("UPDATE blobs SET orphan_since=NULL WHERE sha256=? "
                          "AND orphan_since IS NOT NULL", (sha256,))

    def sweep_uploads(self, expired_before_ms: int, stale_before_ms: int) -> list[UploadRow]:
        rows = self.conn.execute(
            f"SELECT {_UPLOAD_COLS} FROM uploads WHERE updated_at < ? "
            "AND (lock_token IS NULL OR locked_at < ?)",
            (expired_before_ms, stale_before_ms)).fetchall()
        self.conn.executemany("DELETE FROM uploads WHERE id=?", [(r[0],) for r in rows])
        return [UploadRow(*r) for r in rows]

    def sweep_orphan_blobs(self, now_ms: int, grace_ms: int) -> list[str]:
        named = ("EXISTS (SELECT 1 FROM records WHERE entity='photo' AND deleted=0 "
                 "AND json_extract(data, '$.sha256') = blobs.sha256)")
        self.conn.execute(f"UPDATE blobs SET orphan_since=NULL "
                          f"WHERE orphan_since IS NOT NULL AND {named}")
        self.conn.execute(f"UPDATE blobs SET orphan_since=? "
                          f"WHERE orphan_since IS NULL AND NOT {named}", (now_ms,))
        gone = [r[0] for r in self.conn.execute(
            f"SELECT sha256 FROM blobs WHERE orphan_since <= ? AND NOT {named}",
            (now_ms - grace_ms,))]
        for i in range(0, len(gone), 500):
            chunk = gone[i:i + 500]
            marks = ",".join("?" * len(chunk))
            self.conn.execute(f"DELETE FROM blobs WHERE sha256 IN ({marks})", chunk)
            self.conn.execute(f"DELETE FROM blob_holders WHERE sha256 IN ({marks})", chunk)
        return sorted(gone)

    def resolve_conflict(self, id: str, *, status: str, resolved_by: str, resolved_at: int,
                         resolution: Any) -> None:
        self.conn.execute(
            "UPDATE conflicts SET status=?, resolved_by=?, resolved_at=?, resolution=? "
            "WHERE id=?", (status, resolved_by, resolved_at, _dumps(resolution), id))

    def add_audit(self, e: AuditEntry) -> None:
        self.conn.execute(
            f"INSERT INTO audit_log ({_AUDIT_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (e.id, e.at, e.user_id, e.username, e.role, e.device_id, e.action, e.entity,
             e.entity_id, _dumps(e.details)))

    def put_calendar(self, data: dict[str, Any], at_ms: int, user_id: str) -> None:
        self.conn.execute(
            "INSERT INTO calendar VALUES ('workdays', ?, ?, ?) ON CONFLICT (name) DO UPDATE "
            "SET data=excluded.data, updated_at=excluded.updated_at, "
            "updated_by=excluded.updated_by", (_dumps(data), at_ms, user_id))


class _FairLock:
    """A mutex granted in arrival order. ``threading.Lock`` is not fair: with
    many handler threads queueing for the one writer, a waiter can lose the
    race again and again and wait seconds (the p99 of concurrent pushes). Here
    ``release`` hands the lock straight to the longest waiter."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._waiters: collections.deque[threading.Lock] = collections.deque()
        self._locked = False

    def acquire(self) -> bool:
        with self._mutex:
            if not self._locked:
                self._locked = True
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
        return True

    def release(self) -> None:
        with self._mutex:
            if self._waiters:
                self._waiters.popleft().release()  # ownership passes, still locked
            else:
                self._locked = False

    def __enter__(self) -> bool:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()


class _GroupJob:
    """One writer of a group commit (``SqliteStore.write_grouped``)."""

    __slots__ = ("fn", "wake", "done", "result", "error")

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        self.fn = fn
        self.wake = threading.Event()
        self.done = False
        self.result: Any = None
        self.error: BaseException | None = None

    def outcome(self) -> Any:
        if self.error is not None:
            raise self.error
        return self.result


class SqliteStore(_Reads):
    def __init__(self, path: str | Path) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
        self._writer = _connect(self.path)
        # The writer's page cache: 64 MiB instead of SQLite's 2 MiB default keeps the
        # record and field-history indexes of a busy district in memory
        # (about 10% less CPU per pushed mutation at 10k inspections).
        self._writer.execute("PRAGMA cache_size=-65536")
        # Savepoint and statement journals in memory, not in a temporary file: every
        # push runs in a savepoint of the group's transaction (``write_grouped``), and
        # the first change of each page in it copied the page to that file (a
        # five-inspection push: 460 -> 310 us in ``put_records``).
        self._writer.execute("PRAGMA temp_store=MEMORY")
        self._write_lock = _FairLock()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._group_lock = threading.Lock()
        self._group_queue: collections.deque[_GroupJob] = collections.deque()
        self._group_busy = False
        # Pull times not yet written (device id -> ms), see ``note_pull``.
        self._pulls: dict[str, int] = {}
        self._pulls_since: float | None = None
        self._pulls_lock = threading.Lock()

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

    def close(self) -> None:
        if self._pulls:
            with self.transaction():
                pass  # writes the noted pull times
        with self._readers_lock:
            for c in self._readers:
                c.close()
            self._readers.clear()
        self._writer.close()

    @contextmanager
    def transaction(self) -> Iterator[_SqliteTx]:
        with self._write_lock:
            self._writer.execute("BEGIN IMMEDIATE")
            try:
                yield _SqliteTx(self._writer)
                self._write_pulls()
            except BaseException:
                self._writer.execute("ROLLBACK")
                raise
            else:
                self._writer.execute("COMMIT")

    # group commit -------------------------------------------------------------------
    #: At most this many writers share one transaction (``write_grouped``).
    GROUP_MAX_WRITERS = 64

    def write_grouped(self, fn: Callable[[_SqliteTx], T]) -> T:
        """Run ``fn(tx)`` in a write transaction that writers arriving meanwhile
        share (group commit): each ``fn`` runs in a savepoint of its own (an
        exception undoes its writes only and is raised to its caller), and all
        are committed with one ``COMMIT``, i.e. one fsync, before any returns.

        The first caller while no group is running leads: it takes the queued
        writers (up to ``GROUP_MAX_WRITERS``), runs them in arrival order, commits,
        then hands the lead to the next queued writer. The others wait."""
        job = _GroupJob(fn)
        with self._group_lock:
            self._group_queue.append(job)
            lead = not self._group_busy
            self._group_busy = True
        if not lead:
            job.wake.wait()
            if job.done:
                return job.outcome()
        # leading: our job is at the head of the queue
        with self._group_lock:
            group = []
            while self._group_queue and len(group) < self.GROUP_MAX_WRITERS:
                group.append(self._group_queue.popleft())
        try:
            self._commit_group(group)
        finally:
            with self._group_lock:
                if self._group_queue:
                    self._group_queue[0].wake.set()  # the next leader
                else:
                    self._group_busy = False
        return job.outcome()

    def _commit_group(self, group: list["_GroupJob"]) -> None:
        try:
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
        except BaseException as exc:  # nothing of the group was committed
            for job in group:
                job.result, job.error = None, exc
        for job in group:
            job.done = True
            job.wake.set()

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
        now = time.monotonic()
        with self._pulls_lock:
            self._pulls[device_id] = max(at_ms, self._pulls.get(device_id, at_ms))
            if self._pulls_since is None:
                self._pulls_since = now
            due = now - self._pulls_since >= self.PULL_NOTE_MAX_WAIT_S
        if due:
            with self.transaction():
                pass  # carries the noted pull times

    def _write_pulls(self) -> None:
        """Inside a write transaction: write the noted pull times."""
        with self._pulls_lock:
            pulls, self._pulls, self._pulls_since = self._pulls, {}, None
        if pulls:
            try:
                self._writer.executemany(
                    "UPDATE devices SET last_pull_ms=max(coalesce(last_pull_ms, 0), ?) "
                    "WHERE device_id=?", [(ms, d) for d, ms in pulls.items()])
            except BaseException:
                with self._pulls_lock:  # not written: keep them for the next one
                    for d, ms in pulls.items():
                        self._pulls[d] = max(ms, self._pulls.get(d, ms))
                    self._pulls_since = self._pulls_since or time.monotonic()
                raise

    def _with_pull(self, device: DeviceRow) -> DeviceRow:
        with self._pulls_lock:
            ms = self._pulls.get(device.device_id)
        if ms is not None and (device.last_pull_ms is None or ms > device.last_pull_ms):
            device.last_pull_ms = ms
        return device

    def _stored_device(self, device_id: str) -> DeviceRow | None:
        return _Reads.get_device(self, device_id)

    def get_device(self, device_id: str) -> DeviceRow | None:
        device = self._stored_device(device_id)
        return None if device is None else self._with_pull(device)

    # reads --------------------------------------------------------------------
    def _changes(self, cols: str, since: int, limit: int, visibility: Visibility) -> list[tuple]:
        if visibility.all:
            return self.conn.execute(
                f"SELECT {cols} FROM records WHERE rev > ? ORDER BY rev LIMIT ?",
                (since, limit),
            ).fetchall()
        v, d = list(visibility.village_ids), list(visibility.department_ids)
        if len(v) + len(d) > _MAX_SCOPE_TERMS:  # SQLite caps a compound SELECT's terms
            return self.conn.execute(
                f"SELECT {cols} FROM records WHERE rev > ? AND (ref = 1 "
                f"OR village_id IN ({','.join('?' * len(v))}) "
                f"OR department_id IN ({','.join('?' * len(d))}) "
                "OR created_by_user = ?) ORDER BY rev LIMIT ?",
                (since, *v, *d, visibility.user_id, limit),
            ).fetchall()
        # One index range per way of being visible (m006), each cut at ``limit``:
        # the page's rows are among their union (UNION, not UNION ALL: a record
        # visible two ways must count once against the limit). Only the page's
        # row ids are sorted; then just those rows are read.
        term = ("SELECT rowid, rev FROM (SELECT rowid, rev FROM records "
                "WHERE {} AND rev > ? ORDER BY rev LIMIT ?)")
        terms, args = [term.format("ref = 1")], [since, limit]
        for col, keys in (("village_id", v), ("department_id", d),
                          ("created_by_user", [visibility.user_id])):
            for key in keys:
                terms.append(term.format(f"{col} = ?"))
                args += [key, since, limit]
        return self.conn.execute(
            f"SELECT {cols} FROM records WHERE rowid IN (SELECT rowid FROM "
            f"({' UNION '.join(terms)}) ORDER BY rev LIMIT ?) ORDER BY rev",
            (*args, limit),
        ).fetchall()

    def changes_since(self, since: int, limit: int, visibility: Visibility) -> list[StoredRecord]:
        return [_record(r) for r in self._changes(_RECORD_COLS, since, limit, visibility)]

    def change_rows_since(self, since: int, limit: int, visibility: Visibility) -> list[tuple]:
        """``changes_since`` for the pull page, without building records in Python:
        ``(entity, id, rev, deleted, data JSON, field_revs JSON, newest HLC,
        created_by_user)``, straight from the columns (``field_revs`` and
        ``newest_hlc`` are written with the record, m005)."""
        return self._changes(_CHANGE_COLS, since, limit, visibility)

    def get_user(self, user_id: str) -> UserRow | None:
        row = self.conn.execute(f"SELECT {_USER_COLS} FROM users WHERE id=?", (user_id,)).fetchone()
        return _user(row) if row else None

    def list_users(self) -> list[UserRow]:
        return [_user(r) for r in self.conn.execute(
            f"SELECT {_USER_COLS} FROM users ORDER BY username")]

    def get_token_and_user(self, token_hash: str) -> tuple[TokenRow, UserRow | None] | None:
        """``get_token`` and ``get_user`` of its user in one statement (one read
        per authenticated request instead of two); ``None`` for an unknown token."""
        row = self.conn.execute(_TOKEN_AND_USER, (token_hash,)).fetchone()
        if row is None:
            return None
        return TokenRow(*row[:6]), (_user(row[6:]) if row[6] is not None else None)

    def get_token(self, token_hash: str) -> TokenRow | None:
        row = self.conn.execute(
            "SELECT token_hash, user_id, device_id, expires_at, created_at, revoked_at "
            "FROM tokens WHERE token_hash=?",
            (token_hash,),
        ).fetchone()
        return TokenRow(*row) if row else None

    def list_devices(self, user_id: str | None = None) -> list[DeviceRow]:
        sql = f"SELECT {_DEVICE_COLS} FROM devices"
        rows = (self.conn.execute(sql + " WHERE user_id=? ORDER BY device_id", (user_id,))
                if user_id else self.conn.execute(sql + " ORDER BY device_id"))
        return [self._with_pull(_device(r)) for r in rows]

    def device_stats(self, device_id: str) -> DeviceStats:
        row = self.conn.execute(
            "SELECT count(*), coalesce(max(seq), 0), "
            "coalesce(sum(status IN ('applied','merged')), 0), "
            "coalesce(sum(status = 'rejected'), 0) FROM mutations WHERE device_id=?",
            (device_id,),
        ).fetchone()
        return DeviceStats(*row)

    def photo_hashes_named_by(self, device_id: str) -> list[str]:
        rows = self.conn.execute(
            "SELECT DISTINCT json_extract(data, '$.sha256') FROM records "
            "WHERE entity='photo' AND created_by_device=? AND deleted=0",
            (device_id,),
        ).fetchall()
        return sorted(r[0] for r in rows if r[0])

    def list_conflicts(self, status: str | None = None) -> list[ConflictRecord]:
        sql = f"SELECT {_CONFLICT_COLS} FROM conflicts"
        rows = (self.conn.execute(sql + " WHERE status=? ORDER BY created_at, id", (status,))
                if status else self.conn.execute(sql + " ORDER BY created_at, id"))
        return [_conflict(r) for r in rows]

    def count_records(self, entity: str, include_deleted: bool = False) -> int:
        sql = "SELECT count(*) FROM records WHERE entity=?"
        if not include_deleted:
            sql += " AND deleted=0"
        return self.conn.execute(sql, (entity,)).fetchone()[0]

    def inspections_page(self, *, state: str | None = None, review_state: str | None = None,
                         village_id: str | None = None, department_id: str | None = None,
                         site_kind: str | None = None, since_ms: int | None = None,
                         until_ms: int | None = None, limit: int = 50, offset: int = 0
                         ) -> tuple[int, list[StoredRecord]]:
        def at(*fields: str) -> str:  # Python's ``a or b or 0`` over the data's times
            return "coalesce(" + ", ".join(
                f"nullif(json_extract(i.data, '$.{f}'), 0)" for f in fields) + ", 0)"

        where, args = ["i.entity = 'inspection'", "i.deleted = 0"], []
        for clause, value in (("json_extract(i.data, '$.state') = ?", state),
                              ("json_extract(i.data, '$.review_state') = ?", review_state),
                              ("i.village_id = ?", village_id),
                              ("i.department_id = ?", department_id),
                              ("json_extract(s.data, '$.kind') = ?", site_kind)):
            if value:
                where.append(clause)
                args.append(value)
        when = at("submitted_at", "started_at", "created_at")
        if since_ms is not None:
            where.append(f"{when} >= ?")
            args.append(since_ms)
        if until_ms is not None:
            where.append(f"{when} < ?")
            args.append(until_ms)
        # an inspection's ``site_id`` column is its site's id (scope keys)
        match = (f"SELECT i.rowid AS r, {at('submitted_at', 'started_at')} AS at, i.id AS k "
                 "FROM records AS i LEFT JOIN records AS s ON s.entity = 'site' "
                 "AND s.id = i.site_id WHERE " + " AND ".join(where))
        return self._page(match, args, limit, offset)

    def _page(self, match: str, args: list[Any], limit: int | None,
              offset: int) -> tuple[int, list[StoredRecord]]:
        """(how many rows ``match`` gives, the page of their records) for a
        ``match`` selecting ``r`` (rowid), ``at`` and ``k`` (id): ordered by
        (at, k) newest first and cut on those keys, so only the page's rows are
        read whole (sorting whole rows, 100,000 inspections or 50,000 cases of
        a district, took three to four times as long)."""
        rows = self.conn.execute(
            f"WITH m AS ({match}), p AS (SELECT r, at, k FROM m ORDER BY at DESC, k DESC "
            f"LIMIT ? OFFSET ?) SELECT {_RECORD_COLS_QUALIFIED}, (SELECT count(*) FROM m) "
            "FROM p JOIN records ON records.rowid = p.r ORDER BY p.at DESC, p.k DESC",
            (*args, -1 if limit is None else limit, offset)).fetchall()
        if not rows:  # past the last page: still say how many match
            return self.conn.execute(f"SELECT count(*) FROM ({match})", args).fetchone()[0], []
        return rows[0][-1], [_record(r[:-1]) for r in rows]

    def cases_page(self, *, statuses: Iterable[str] | None = None, level: str | None = None,
                   village_id: str | None = None, source: str | None = None,
                   limit: int | None = 50, offset: int = 0, q: str | None = None,
                   q_fields: Sequence[str] = ("title", "employer")
                   ) -> tuple[int, list[StoredRecord]]:
        where, args = ["entity = 'case'", "deleted = 0"], []
        if q:
            fields = list(q_fields)
            if not fields or any(f not in CASE_SEARCH_FIELDS for f in fields):
                raise ValueError(f"not searchable case fields: {fields!r}")
            where.append("(" + " OR ".join(
                f"instr(lower(coalesce(json_extract(data, '$.{f}'), '')), lower(?)) > 0"
                for f in fields) + ")")
            args += [q] * len(fields)
        if statuses is not None:
            wanted = list(statuses)
            where.append("coalesce(json_extract(data, '$.status'), '') IN "
                         f"({','.join('?' * len(wanted))})")
            args += wanted
        for clause, value in (("json_extract(data, '$.level') = ?", level),
                              ("json_extract(data, '$.source') = ?", source),
                              ("village_id = ?", village_id)):
            if value:
                where.append(clause)
                args.append(value)
        match = ("SELECT rowid AS r, coalesce(nullif(json_extract(data, '$.opened_at'), 0), 0) "
                 "AS at, id AS k FROM records WHERE " + " AND ".join(where))
        return self._page(match, args, limit, offset)

    def cases_per_site(self, excluding_statuses: Iterable[str],
                       site_ids: Iterable[str] | None = None) -> dict[str, int]:
        out = list(excluding_statuses)
        sql = ("SELECT json_extract(data, '$.site_id') AS site, count(*) FROM records "
               "WHERE entity='case' AND deleted=0 AND site IS NOT NULL AND "
               f"coalesce(json_extract(data, '$.status'), '') NOT IN ({','.join('?' * len(out))})")
        if site_ids is None:
            return dict(self.conn.execute(sql + " GROUP BY site", out).fetchall())
        ids, counts = list(dict.fromkeys(site_ids)), {}
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            counts.update(self.conn.execute(
                f"{sql} AND site IN ({','.join('?' * len(chunk))}) GROUP BY site",
                (*out, *chunk)).fetchall())
        return counts

    def site_texts(self, fields: Sequence[str], *, village_id: str | None = None,
                   kind: str | None = None) -> list[tuple[Any, ...]]:
        for f in fields:
            if not f.isidentifier():
                raise ValueError(f"not a field name: {f!r}")
        where, args = ["entity = 'site'", "deleted = 0"], []
        for clause, value in (("village_id = ?", village_id),
                              ("json_extract(data, '$.kind') = ?", kind)):
            if value:
                where.append(clause)
                args.append(value)
        picked = "".join(f", json_extract(data, '$.{f}')" for f in fields)
        return self.conn.execute(
            f"SELECT id{picked} FROM records WHERE {' AND '.join(where)} "
            "ORDER BY coalesce(json_extract(data, '$.name'), ''), id", args).fetchall()

    def records(self, entity: str) -> list[StoredRecord]:
        rows = self.conn.execute(
            f"SELECT {_RECORD_COLS} FROM records WHERE entity=? ORDER BY rev", (entity,)
        ).fetchall()
        return [_record(r) for r in rows]

    def has_blob(self, sha256: str) -> bool:
        return self.conn.execute("SELECT 1 FROM blobs WHERE sha256=?", (sha256,)).fetchone() is not None

    def blobs_in(self, hashes: list[str]) -> set[str]:
        found: set[str] = set()
        for i in range(0, len(hashes), 500):
            chunk = hashes[i : i + 500]
            found.update(r[0] for r in self.conn.execute(
                f"SELECT sha256 FROM blobs WHERE sha256 IN ({','.join('?' * len(chunk))})", chunk))
        return found

    def blob_visible(self, sha256: str, visibility: Visibility) -> bool:
        """Did this caller send the bytes, or does a photo record they may see
        name the blob, created by someone who sent them?"""
        if visibility.user_id is not None and self.is_blob_holder(sha256, visibility.user_id):
            return True
        holder = ("created_by_user IN (SELECT user_id FROM blob_holders WHERE sha256 = ?)")
        if visibility.all:
            row = self.conn.execute(
                "SELECT 1 FROM records WHERE entity='photo' AND deleted=0 "
                f"AND json_extract(data, '$.sha256') = ? AND {holder} LIMIT 1",
                (sha256, sha256)).fetchone()
            return row is not None
        v = list(visibility.village_ids)
        d = list(visibility.department_ids)
        row = self.conn.execute(
            "SELECT 1 FROM records WHERE entity='photo' AND deleted=0 "
            "AND json_extract(data, '$.sha256') = ? AND ("
            f"village_id IN ({','.join('?' * len(v))}) "
            f"OR department_id IN ({','.join('?' * len(d))}) OR created_by_user = ?) "
            f"AND {holder} LIMIT 1",
            (sha256, *v, *d, visibility.user_id, sha256),
        ).fetchone()
        return row is not None

    def pending_migrations(self) -> list[str]:
        return [m.name for m in migrations.pending(sqlite_utils.Database(self.conn))]

    def get_upload(self, id: str) -> UploadRow | None:
        row = self.conn.execute(f"SELECT {_UPLOAD_COLS} FROM uploads WHERE id=?",
                                (id,)).fetchone()
        return UploadRow(*row) if row else None

    def integrity_check(self) -> str:
        return self.conn.execute("PRAGMA integrity_check").fetchone()[0]

    def field_history(self, entity: str, id: str) -> list[HistoryEntry]:
        """Every write of every field of a record, by revision then field: the
        rows of ``record_history`` expanded per field."""
        out: list[HistoryEntry] = []
        for rev, fields, hlc, user_id, device_id in self.conn.execute(
                "SELECT rev, fields, hlc, user_id, device_id FROM record_history "
                "WHERE entity=? AND id=? ORDER BY rev", (entity, id)):
            values = _loads(fields)
            out += [HistoryEntry(entity, id, name, rev, values[name], hlc, user_id, device_id)
                    for name in sorted(values)]
        return out

    def list_audit(self, *, action: str | None = None, entity_id: str | None = None,
                   since: int | None = None, until: int | None = None,
                   limit: int = 100, offset: int = 0) -> list[AuditEntry]:
        where, args = [], []
        for clause, value in (("action = ?", action), ("entity_id = ?", entity_id),
                              ("at >= ?", since), ("at < ?", until)):
            if value is not None:
                where.append(clause)
                args.append(value)
        sql = f"SELECT {_AUDIT_COLS} FROM audit_log"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self.conn.execute(sql + " ORDER BY at DESC, id DESC LIMIT ? OFFSET ?",
                                 (*args, limit, offset)).fetchall()
        return [AuditEntry(*r[:9], details=_loads(r[9])) for r in rows]

    def get_calendar(self) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT data FROM calendar WHERE name='workdays'").fetchone()
        return _loads(row[0]) if row else None

    def backup(self, target: str | Path) -> None:
        """Online backup (SQLite backup API) to ``target``."""
        dest = sqlite3.connect(str(target))
        try:
            with self._write_lock:
                self._writer.backup(dest)
        finally:
            dest.close()
