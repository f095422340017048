"""The SQLite store's schema: ordered, named migrations (sqlite-utils
``Migrations``), recorded in the ``_sqlite_migrations`` table. Each has a test
in tests/store/test_sqlite_store.py; docs/architecture.md lists them."""

from __future__ import annotations

from typing import Any

import sqlite_utils
from sqlite_utils.migrations import Migrations

from sync_server.store.sqlite.columns import _dumps, _loads

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
