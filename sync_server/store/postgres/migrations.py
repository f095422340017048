"""The PostgreSQL store's schema: ordered, named migrations recorded in the
``schema_migrations`` table (name, applied_at).

The tables mirror the SQLite store's shape after its m010 (see
sync_server/store/sqlite/migrations.py), written for PostgreSQL at once:
records' ``data`` is ``jsonb`` (the office lists and photo lookups query it),
integers are ``bigint`` (unix ms), text keys sort bytewise (``COLLATE "C"``,
as SQLite's do), and each index of the scoped pull is on (visibility column,
revision). ``apply`` runs under an advisory lock, so several server processes
starting at once migrate once.
"""

from __future__ import annotations

from typing import Any

#: Text that sorts and compares as SQLite's (by bytes, whatever the database's locale).
_T = 'text COLLATE "C"'

_M001_CORE = f"""
CREATE TABLE counters (name {_T} PRIMARY KEY, value bigint NOT NULL);
INSERT INTO counters VALUES ('rev', 0);
CREATE TABLE records (
    entity {_T} NOT NULL, id {_T} NOT NULL, rev bigint NOT NULL,
    deleted integer NOT NULL DEFAULT 0, ref integer NOT NULL DEFAULT 0,
    data jsonb NOT NULL, meta text NOT NULL,
    village_id {_T}, department_id {_T}, site_id {_T}, parent_id {_T},
    created_by_user {_T}, created_by_device {_T},
    field_revs text NOT NULL DEFAULT '{{}}', newest_hlc {_T},
    PRIMARY KEY (entity, id)
);
CREATE UNIQUE INDEX records_rev ON records(rev);
CREATE INDEX records_site ON records(site_id);
CREATE INDEX records_parent ON records(parent_id, entity);
CREATE TABLE record_history (
    entity {_T} NOT NULL, id {_T} NOT NULL, rev bigint NOT NULL,
    hlc {_T}, user_id {_T}, device_id {_T}, fields text NOT NULL,
    PRIMARY KEY (entity, id, rev)
);
CREATE TABLE tombstones (
    entity {_T} NOT NULL, id {_T} NOT NULL, rev bigint NOT NULL,
    deleted_at bigint NOT NULL, deleted_by {_T},
    PRIMARY KEY (entity, id)
);
CREATE TABLE conflicts (
    id {_T} PRIMARY KEY, entity {_T} NOT NULL, entity_id {_T} NOT NULL,
    field {_T} NOT NULL, base_rev bigint, base_value text,
    winner_value text, winner_hlc {_T}, winner_user {_T}, winner_device {_T},
    loser_value text, loser_hlc {_T}, loser_user {_T}, loser_device {_T},
    mutation_id {_T}, created_at bigint, status {_T} NOT NULL DEFAULT 'open',
    resolved_by {_T}, resolved_at bigint, resolution text
);
CREATE INDEX conflicts_status ON conflicts(status);
CREATE TABLE mutations (
    id {_T} PRIMARY KEY, device_id {_T} NOT NULL, user_id {_T} NOT NULL,
    seq bigint NOT NULL, fingerprint {_T} NOT NULL, status {_T} NOT NULL,
    result text NOT NULL, entity {_T}, entity_id {_T}, received_at bigint
);
CREATE INDEX mutations_device ON mutations(device_id, seq);
CREATE TABLE users (
    id {_T} PRIMARY KEY, username {_T} NOT NULL UNIQUE, display_name {_T} NOT NULL,
    role {_T} NOT NULL, password_hash {_T} NOT NULL,
    village_ids text NOT NULL DEFAULT '[]', department_ids text NOT NULL DEFAULT '[]',
    scope_version bigint NOT NULL DEFAULT 1, active integer NOT NULL DEFAULT 1,
    created_at bigint
);
CREATE TABLE devices (
    device_id {_T} PRIMARY KEY, user_id {_T} NOT NULL, name {_T}, created_at bigint,
    last_push_ms bigint, last_pull_ms bigint, clock_offset_ms bigint,
    skewed integer NOT NULL DEFAULT 0, last_hlc {_T} NOT NULL DEFAULT '',
    scope_version_seen bigint NOT NULL DEFAULT 0, secret_hash {_T}
);
CREATE TABLE tokens (
    token_hash {_T} PRIMARY KEY, user_id {_T} NOT NULL, device_id {_T} NOT NULL,
    expires_at bigint NOT NULL, created_at bigint NOT NULL, revoked_at bigint
);
CREATE INDEX tokens_device ON tokens(device_id);
CREATE INDEX tokens_user ON tokens(user_id);
CREATE TABLE blobs (
    sha256 {_T} PRIMARY KEY, size bigint NOT NULL, created_at bigint, device_id {_T},
    orphan_since bigint
);
CREATE TABLE blob_holders (
    sha256 {_T} NOT NULL, user_id {_T} NOT NULL, at bigint NOT NULL,
    PRIMARY KEY (sha256, user_id)
);
CREATE TABLE uploads (
    id {_T} PRIMARY KEY, sha256 {_T} NOT NULL, length bigint NOT NULL,
    "offset" bigint NOT NULL, filename text, device_id {_T}, user_id {_T},
    created_at bigint, updated_at bigint NOT NULL DEFAULT 0,
    lock_token {_T}, locked_at bigint
);
CREATE INDEX uploads_device ON uploads(device_id);
CREATE INDEX uploads_user ON uploads(user_id);
CREATE INDEX uploads_updated ON uploads(updated_at);
CREATE TABLE audit_log (
    id {_T} PRIMARY KEY, at bigint NOT NULL, user_id {_T} NOT NULL,
    username {_T} NOT NULL, role {_T} NOT NULL, device_id {_T} NOT NULL,
    action {_T} NOT NULL, entity {_T} NOT NULL DEFAULT '',
    entity_id {_T} NOT NULL DEFAULT '', details text NOT NULL DEFAULT '{{}}'
);
CREATE INDEX audit_log_at ON audit_log(at, id);
CREATE INDEX audit_log_entity ON audit_log(entity_id);
CREATE TABLE calendar (
    name {_T} PRIMARY KEY, data text NOT NULL, updated_at bigint NOT NULL,
    updated_by {_T} NOT NULL
);
CREATE TABLE login_failures (
    key {_T} PRIMARY KEY, failures bigint NOT NULL, last_failure_at bigint NOT NULL
);
CREATE INDEX login_failures_last ON login_failures(last_failure_at);
CREATE TABLE device_blocks (
    device_id {_T} PRIMARY KEY, revoked_at bigint NOT NULL, revoked_by {_T}
)
"""

#: One index per way a record becomes visible to a scoped pull (reference data,
#: village, department, creator), each by revision; photos by content hash and
#: by sending device (blob rights, receipts); the office lists' filters.
_M002_INDEXES = """
CREATE INDEX records_ref_rev ON records(rev) WHERE ref = 1;
CREATE INDEX records_village_rev ON records(village_id, rev);
CREATE INDEX records_department_rev ON records(department_id, rev);
CREATE INDEX records_creator_rev ON records(created_by_user, rev);
CREATE INDEX records_photo_sha ON records((data->>'sha256')) WHERE entity = 'photo';
CREATE INDEX records_photo_device ON records(created_by_device) WHERE entity = 'photo';
CREATE INDEX records_inspection_state ON records((data->>'state'), (data->>'review_state'))
    WHERE entity = 'inspection' AND deleted = 0;
CREATE INDEX records_case_status ON records((data->>'status'))
    WHERE entity = 'case' AND deleted = 0;
CREATE INDEX records_case_site ON records((data->>'site_id'))
    WHERE entity = 'case' AND deleted = 0
"""

#: A record's JSON as text, made once when the record is written (the same
#: text ``data::text`` gives): pull pages and record reads send it as it is,
#: instead of turning ``jsonb`` into text for every device that pulls it.
#: A row stays uncompressed up to 8 kB (an inspection's is about 2.5 kB with
#: its text), so neither the write nor the pull spends time in compression.
_M003_RECORD_TEXT = """
ALTER TABLE records ADD COLUMN data_text text GENERATED ALWAYS AS (data::text) STORED;
ALTER TABLE records SET (toast_tuple_target = 8160)
"""

#: (name, statements) in order; a name once released never changes.
MIGRATIONS: list[tuple[str, str]] = [
    ("m001_core", _M001_CORE),
    ("m002_indexes", _M002_INDEXES),
    ("m003_record_text", _M003_RECORD_TEXT),
]

#: The advisory lock key migrations run under (any fixed number).
_MIGRATE_LOCK = 0x57A6E_0001


def applied(conn: Any) -> list[str]:
    """The names recorded in ``schema_migrations`` (none when it does not exist)."""
    exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()[0]
    if not exists:
        return []
    return [r[0] for r in conn.execute("SELECT name FROM schema_migrations ORDER BY applied_order")]


def pending(conn: Any) -> list[str]:
    done = set(applied(conn))
    return [name for name, _ in MIGRATIONS if name not in done]


def apply(conn: Any, now_ms: int) -> list[str]:
    """Apply the pending migrations, each in its own transaction with its record;
    returns their names. ``conn`` is in autocommit mode."""
    conn.execute("SELECT pg_advisory_lock(%s)", (_MIGRATE_LOCK,))
    try:
        conn.execute(
            'CREATE TABLE IF NOT EXISTS schema_migrations (name text COLLATE "C" PRIMARY KEY, '
            "applied_order integer NOT NULL, applied_at bigint NOT NULL)")
        done: list[str] = []
        for order, (name, script) in enumerate(MIGRATIONS, start=1):
            if name in set(applied(conn)):
                continue
            conn.execute("BEGIN")
            try:
                for statement in script.split(";"):
                    if statement.strip():
                        conn.execute(statement)
                conn.execute("INSERT INTO schema_migrations VALUES (%s, %s, %s)",
                             (name, order, now_ms))
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
            done.append(name)
        return done
    finally:
        conn.execute("SELECT pg_advisory_unlock(%s)", (_MIGRATE_LOCK,))
