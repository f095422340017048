"""Columns of the PostgreSQL store: column lists, the statements' shared
pieces and how a query mixin reaches its connection.

A record's row is built by the SQLite store's ``_record_row`` (the same
``meta`` form, one entry per write, and the same pull columns), so both
engines store a record alike; ``data`` goes into ``jsonb``.
"""

from __future__ import annotations

import functools
from typing import Any, Iterable, Sequence

import psycopg
from psycopg.pq import ExecStatus

from sync_server.store.base import DeviceRow, StoredRecord, UserRow
from sync_server.store.sqlite.columns import (
    _CONFLICT_COLS,
    _DEVICE_COLS,
    _JSON_CONFLICT,
    _USER_COLS,
    _dumps,
    _loads,
    _meta,
    _record_row,
)

__all__ = ["Connected", "_CONFLICT_COLS", "_DEVICE_COLS", "_JSON_CONFLICT", "_USER_COLS",
           "_dumps", "_loads", "_meta", "_record_row"]


class Connected:
    """What every query mixin runs on: ``_all``/``_one``/``_exec``/``_many``,
    on a pooled connection of its own for the store's reads, on the
    transaction's connection inside a transaction."""

    def _all(self, sql: str, args: Sequence[Any] = ()) -> list[tuple]:
        raise NotImplementedError

    def _one(self, sql: str, args: Sequence[Any] = ()) -> tuple | None:
        rows = self._all(sql, args)
        return rows[0] if rows else None

    def _exec(self, sql: str, args: Sequence[Any] = ()) -> int:
        """Run a write; how many rows it touched."""
        raise NotImplementedError

    def _many(self, sql: str, rows: Iterable[Sequence[Any]]) -> None:
        raise NotImplementedError

    def _defer(self, sql: str, args: Sequence[Any] = ()) -> None:
        """Run a write whose row count is not wanted: a transaction sends it
        with its next statement (``PostgresTx``); elsewhere it runs now."""
        self._exec(sql, args)


def fetched(cur: psycopg.Cursor) -> list[tuple]:
    """The rows of the statement ``cur`` ran, none for one that returns none
    (read from the result's status: ``cur.description`` builds every column's
    description first)."""
    res = cur.pgresult
    return cur.fetchall() if res is not None and res.status == ExecStatus.TUPLES_OK else []


#: A multi-row ``INSERT`` of at most this many parameters (psycopg caches the
#: parsed form of a statement up to 50): ``PostgresTx._many``.
MULTI_ROW_PARAMS = 50


@functools.lru_cache(maxsize=256)
def multi_row(sql: str, n: int) -> str | None:
    """``sql``, an ``INSERT … VALUES (%s,…) …`` of one row, made to insert
    ``n`` rows in one statement (one round trip, one plan); None for any other
    statement."""
    head, sep, rest = sql.partition(" VALUES (")
    if not sep or not head.lstrip().upper().startswith("INSERT") or sql.count(" VALUES (") != 1:
        return None
    depth = 1
    for end, ch in enumerate(rest):
        depth += {"(": 1, ")": -1}.get(ch, 0)
        if depth == 0:
            group = "(" + rest[:end + 1]
            return f"{head} VALUES {','.join([group] * n)}{rest[end + 1:]}"
    return None


def marks(n: int) -> str:
    return ",".join(["%s"] * n)


#: A record as read: ``data`` as its JSON text (decoded here, not by the driver),
#: from the text column kept beside the ``jsonb`` (m003: a pulled record is
#: sent many times, so its text is made once, when it is written).
_RECORD_COLS = (
    "entity, id, rev, deleted, data_text, meta, village_id, department_id, site_id, "
    "parent_id, created_by_user, created_by_device"
)


def _qualified(alias: str) -> str:
    return ", ".join(f"{alias}.{c.strip()}" for c in _RECORD_COLS.split(","))


#: A pull page's columns (see ``change_rows_since``).
_CHANGE_COLS = "entity, id, rev, deleted, data_text, field_revs, newest_hlc, created_by_user"

_RECORD_WRITE_COLS = ("entity, id, rev, deleted, data, meta, village_id, department_id, "
                      "site_id, parent_id, created_by_user, created_by_device, ref, field_revs, "
                      "newest_hlc")


def _upsert(table: str, cols: str, key: str, casts: dict[str, str] | None = None) -> str:
    """INSERT … ON CONFLICT (key) DO UPDATE every other column."""
    names = [c.strip() for c in cols.split(",")]
    keys = {k.strip() for k in key.split(",")}
    values = ",".join("%s" + (casts or {}).get(n, "") for n in names)
    return (f"INSERT INTO {table} ({cols}) VALUES ({values}) ON CONFLICT ({key}) DO UPDATE SET "
            + ", ".join(f"{n}=EXCLUDED.{n}" for n in names if n not in keys))


_UPSERT_RECORD = _upsert("records", _RECORD_WRITE_COLS, "entity, id", {"data": "::jsonb"})
_UPSERT_USER = _upsert("users", _USER_COLS, "id")
_UPSERT_DEVICE = _upsert("devices", _DEVICE_COLS, "device_id")


def _record(row: Sequence[Any]) -> StoredRecord:
    return StoredRecord(
        entity=row[0], id=row[1], rev=row[2], deleted=bool(row[3]), data=_loads(row[4]),
        meta=_meta(row[5]), village_id=row[6], department_id=row[7], site_id=row[8],
        parent_id=row[9], created_by_user=row[10], created_by_device=row[11],
    )


def _user(row: Sequence[Any]) -> UserRow:
    return UserRow(
        id=row[0], username=row[1], display_name=row[2], role=row[3], password_hash=row[4],
        village_ids=_loads(row[5]), department_ids=_loads(row[6]), scope_version=row[7],
        active=bool(row[8]), created_at=row[9] or 0,
    )


def _device(row: Sequence[Any]) -> DeviceRow:
    d = DeviceRow(*row)
    d.skewed = bool(d.skewed)
    return d


def _num(alias: str, field: str) -> str:
    """``data.field`` as a number when it is one, else NULL (SQLite's
    ``json_extract`` of a number)."""
    col = f"{alias}.data" if alias else "data"
    return (f"(CASE WHEN jsonb_typeof({col}->'{field}') = 'number' "
            f"THEN ({col}->>'{field}')::numeric END)")


_UPLOAD_COLS = ('id, sha256, length, "offset", filename, device_id, user_id, created_at, '
                "updated_at")
_AUDIT_COLS = "id, at, user_id, username, role, device_id, action, entity, entity_id, details"
