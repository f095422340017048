"""Records: reads, the pull pages, the revision counter, writes and history."""

from __future__ import annotations

from typing import Any, Iterable

from msgspec import Raw

from sync_server.store.base import ChangeRow, FieldMeta, HistoryEntry, StoredRecord, Visibility
from sync_server.store.sqlite.columns import (
    _CHANGE_COLS,
    _INSERT_HISTORY,
    _RECORD_COLS,
    _UPSERT_RECORD,
    Connected,
    _dumps,
    _loads,
    _record,
    _record_row,
    _rows_where,
)

#: More villages and departments than this in one scope: the pull uses the
#: township-wide revision index (a compound SELECT has at most 500 terms).
_MAX_SCOPE_TERMS = 200


class RecordReads(Connected):
    """Record reads shared by the store and its transactions."""

    def max_rev(self) -> int:
        return self.conn.execute("SELECT value FROM counters WHERE name='rev'").fetchone()[0]

    def get_record(self, entity: str, id: str) -> StoredRecord | None:
        row = self.conn.execute(
            f"SELECT {_RECORD_COLS} FROM records WHERE entity=? AND id=?", (entity, id)
        ).fetchone()
        return _record(row) if row else None

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


class RecordWrites(RecordReads):
    """Record writes inside one transaction."""

    _peeked: dict[tuple[str, str], StoredRecord | None]

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


class RecordQueries(RecordReads):
    """Record reads of the store only: pull pages, counts, history."""

    def stable_rev(self) -> int:
        """The committed revision counter: with one writer, a revision is
        committed (or rolled back with the counter) before the next one is
        handed out, so none at or below it can still appear."""
        return self.max_rev()

    def _changes(self, cols: str, since: int, limit: int, visibility: Visibility,
                 upto: int) -> list[tuple]:
        if visibility.all:
            return self.conn.execute(
                f"SELECT {cols} FROM records WHERE rev > ? AND rev <= ? ORDER BY rev LIMIT ?",
                (since, upto, limit),
            ).fetchall()
        v, d = list(visibility.village_ids), list(visibility.department_ids)
        if len(v) + len(d) > _MAX_SCOPE_TERMS:  # SQLite caps a compound SELECT's terms
            return self.conn.execute(
                f"SELECT {cols} FROM records WHERE rev > ? AND rev <= ? AND (ref = 1 "
                f"OR village_id IN ({','.join('?' * len(v))}) "
                f"OR department_id IN ({','.join('?' * len(d))}) "
                "OR created_by_user = ?) ORDER BY rev LIMIT ?",
                (since, upto, *v, *d, visibility.user_id, limit),
            ).fetchall()
        # One index range per way of being visible (m006), each cut at ``limit``:
        # the page's rows are among their union (UNION, not UNION ALL: a record
        # visible two ways must count once against the limit). Only the page's
        # row ids are sorted; then just those rows are read.
        term = ("SELECT rowid, rev FROM (SELECT rowid, rev FROM records "
                "WHERE {} AND rev > ? AND rev <= ? ORDER BY rev LIMIT ?)")
        terms, args = [term.format("ref = 1")], list[Any]([since, upto, limit])
        for col, keys in (("village_id", v), ("department_id", d),
                          ("created_by_user", [visibility.user_id])):
            for key in keys:
                terms.append(term.format(f"{col} = ?"))
                args += [key, since, upto, limit]
        return self.conn.execute(
            f"SELECT {cols} FROM records WHERE rowid IN (SELECT rowid FROM "
            f"({' UNION '.join(terms)}) ORDER BY rev LIMIT ?) ORDER BY rev",
            (*args, limit),
        ).fetchall()

    def change_rows_since(self, since: int, limit: int, visibility: Visibility, *,
                          upto: int) -> list[ChangeRow]:
        """The pull page, without decoding records: the JSON text of ``data`` and ``field_revs`` and the newest
        HLC straight from the columns (written with the record, m005)."""
        return [ChangeRow(entity, id, rev, bool(deleted), Raw(data), Raw(field_revs), hlc, by)
                for entity, id, rev, deleted, data, field_revs, hlc, by
                in self._changes(_CHANGE_COLS, since, limit, visibility, upto)]

    def count_records(self, entity: str, include_deleted: bool = False) -> int:
        sql = "SELECT count(*) FROM records WHERE entity=?"
        if not include_deleted:
            sql += " AND deleted=0"
        return self.conn.execute(sql, (entity,)).fetchone()[0]

    def records(self, entity: str) -> list[StoredRecord]:
        rows = self.conn.execute(
            f"SELECT {_RECORD_COLS} FROM records WHERE entity=? ORDER BY rev", (entity,)
        ).fetchall()
        return [_record(r) for r in rows]

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
