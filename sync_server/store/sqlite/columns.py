"""Columns of the SQLite store: column lists, row <-> typed row mapping, JSON text.

Shared by the query modules (records, ledger, auth, blobs, office) and the
migrations; nothing here opens a connection or runs a statement except
``_rows_where``, which the set-wise reads of a push share.
"""

from __future__ import annotations

import sqlite3
from typing import Any

import msgspec

from shared_schema.entities import REFERENCE_ENTITIES
from sync_server.store.base import (
    ConflictRecord,
    DeviceRow,
    FieldMeta,
    StoredRecord,
    UserRow,
)

_enc = msgspec.json.Encoder()
_dec = msgspec.json.Decoder()


def _dumps(value: Any) -> str:
    return _enc.encode(value).decode()


def _loads(text: str | None) -> Any:
    return None if text is None else _dec.decode(text)



class Connected:
    """What every query mixin runs on: the store's reader for this thread, or
    the writer inside a transaction."""

    @property
    def conn(self) -> sqlite3.Connection:
        raise NotImplementedError


#: Up to this many keys are read as one ``UNION ALL`` of point lookups, more as
#: ``IN (…)`` lists. SQLite sets up an ``IN`` list before probing it, which costs
#: more than a few point lookups (a phone's push of five) and less than many of
#: them (a batch of 200); the measurement is in docs/performance.md.
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
    values = {n: (_loads(v) if n in _JSON_CONFLICT else v) for n, v in zip(names, row, strict=True)}
    return ConflictRecord(**values)


_UPLOAD_COLS = ('id, sha256, length, "offset", filename, device_id, user_id, created_at, '
                 "updated_at")
_AUDIT_COLS = "id, at, user_id, username, role, device_id, action, entity, entity_id, details"
