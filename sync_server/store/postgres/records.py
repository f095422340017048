"""Records: reads, the pull pages, the revision counter, writes and history."""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from msgspec import Raw

from sync_server.store.base import ChangeRow, FieldMeta, HistoryEntry, StoredRecord, Visibility
from sync_server.store.postgres.columns import (
    _CHANGE_COLS,
    _RECORD_COLS,
    _UPSERT_RECORD,
    Connected,
    _dumps,
    _loads,
    _record,
    _record_row,
)


#: Records by key (two arrays: entities, ids), and the children of parents.
RECORDS_BY_KEYS = (f"SELECT {_RECORD_COLS} FROM records JOIN unnest(%s::text[], %s::text[]) "
                   "AS k(e, i) ON records.entity = k.e AND records.id = k.i")
CHILDREN_OF_PARENTS = f"SELECT {_RECORD_COLS} FROM records WHERE parent_id = ANY(%s)"

#: More villages (or departments) than this in one scope: one ``= ANY`` range
#: for them instead of one ordered range each.
_MAX_SCOPE_TERMS = 100


class RecordReads(Connected):
    """Record reads shared by the store and its transactions."""

    def max_rev(self) -> int:
        row = self._one("SELECT value FROM counters WHERE name='rev'")
        assert row is not None
        return int(row[0])

    def get_record(self, entity: str, id: str) -> StoredRecord | None:
        row = self._one(f"SELECT {_RECORD_COLS} FROM records WHERE entity=%s AND id=%s",
                        (entity, id))
        return _record(row) if row else None

    def children_of_site(self, site_id: str) -> list[StoredRecord]:
        return [_record(r) for r in self._all(
            f"SELECT {_RECORD_COLS} FROM records WHERE site_id=%s AND entity <> 'site'",
            (site_id,))]

    def children_of(self, parent_id: str, entity: str) -> list[StoredRecord]:
        return [_record(r) for r in self._all(
            f"SELECT {_RECORD_COLS} FROM records WHERE parent_id=%s AND entity=%s ORDER BY rev",
            (parent_id, entity))]


class RecordWrites(RecordReads):
    """Record writes inside one transaction (which holds the revision counter's
    row lock from its start and keeps the counter: see ``writer.PostgresTx``)."""

    _peeked: dict[tuple[str, str], StoredRecord | None]

    def peek_record(self, entity: str, id: str) -> StoredRecord | None:
        key = (entity, id)
        if key in self._peeked:
            return self._peeked[key]
        rec = self._peeked[key] = self.get_record(entity, id)
        return rec

    def put_record(self, r: StoredRecord) -> None:
        self.put_records([r])

    def put_records(self, records: list[StoredRecord]) -> None:
        last = {(r.entity, r.id): r for r in records}  # a record given twice: its last form
        for key in last:
            self._peeked.pop(key, None)
        self._many(_UPSERT_RECORD, [_record_row(r) for r in last.values()])

    def get_records(self, keys: Iterable[tuple[str, str]]
                    ) -> dict[tuple[str, str], StoredRecord]:
        wanted = list(dict.fromkeys(keys))
        if not wanted:
            return {}
        rows = self._all(RECORDS_BY_KEYS, ([k[0] for k in wanted], [k[1] for k in wanted]))
        return {(row[0], row[1]): _record(row) for row in rows}

    def children_of_parents(self, parent_ids: Iterable[str]) -> list[StoredRecord]:
        ids = list(dict.fromkeys(parent_ids))
        if not ids:
            return []
        return [_record(r) for r in self._all(CHILDREN_OF_PARENTS, (ids,))]

    def add_history(self, entity: str, id: str, field: str, meta: FieldMeta, value: Any) -> None:
        row = self._one("SELECT fields FROM record_history WHERE entity=%s AND id=%s AND rev=%s",
                        (entity, id, meta.rev))
        if row is None:
            self.add_write(entity, id, meta, {field: value})
        else:
            self._exec("UPDATE record_history SET fields=%s WHERE entity=%s AND id=%s AND rev=%s",
                       (_dumps({**_loads(row[0]), field: value}), entity, id, meta.rev))

    def add_write(self, entity: str, id: str, meta: FieldMeta, values: dict[str, Any]) -> None:
        self.add_writes([(entity, id, meta, values)])

    def add_writes(self, writes: list[tuple[str, str, FieldMeta, dict[str, Any]]]) -> None:
        self._many(
            "INSERT INTO record_history (entity, id, rev, hlc, user_id, device_id, fields) "
            "VALUES (%s,%s,%s,%s,%s,%s,%s)",
            [(entity, id, m.rev, m.hlc, m.user_id, m.device_id, _dumps(values))
             for entity, id, m, values in writes])

    def history_value(self, entity: str, id: str, field: str, rev: int) -> tuple[bool, Any]:
        row = self._one("SELECT fields FROM record_history WHERE entity=%s AND id=%s AND rev=%s",
                        (entity, id, rev))
        if row is None:
            return False, None
        values = _loads(row[0])
        return (True, values[field]) if field in values else (False, None)

    def add_tombstone(self, entity: str, id: str, rev: int, at_ms: int, user_id: str) -> None:
        self._exec(
            "INSERT INTO tombstones VALUES (%s,%s,%s,%s,%s) ON CONFLICT (entity, id) DO UPDATE "
            "SET rev=EXCLUDED.rev, deleted_at=EXCLUDED.deleted_at, deleted_by=EXCLUDED.deleted_by",
            (entity, id, rev, at_ms, user_id))


def change_row(r: Sequence[Any]) -> ChangeRow:
    """A pull page's row (``_CHANGE_COLS``) as the store contract gives it."""
    entity, id, rev, deleted, data, field_revs, hlc, by = r
    return ChangeRow(entity, id, rev, bool(deleted), Raw(data), Raw(field_revs), hlc, by)


def changes_query(cols: str, since: int, limit: int, visibility: Visibility, upto: str,
                  upto_args: tuple[Any, ...] = ()) -> tuple[str, list[Any]]:
    """The pull page's statement and its parameters: up to ``limit`` records
    ``visibility`` sees with ``since < rev <= upto`` by revision; ``upto`` is
    SQL (``%s`` with ``upto_args``, or a subquery).

    One index range per way of being visible (per village, per department,
    the creator, reference data), each read in revision order and cut at
    ``limit``; the page is the first ``limit`` of their union, a record
    visible two ways once (its revision is unique). A scope of very many keys
    is one range per column instead (``= ANY``: not in revision order, so it
    reads every row of the scope past the cursor)."""
    if visibility.all:
        return (f"SELECT {cols} FROM records WHERE rev > %s AND rev <= {upto} "
                "ORDER BY rev LIMIT %s", [since, *upto_args, limit])
    term = (f"(SELECT {cols} FROM records WHERE {{}} AND rev > %s AND rev <= {upto} "
            "ORDER BY rev LIMIT %s)")
    terms, args = [term.format("ref = 1")], list[Any]([since, *upto_args, limit])
    keys = [("village_id", list(visibility.village_ids)),
            ("department_id", list(visibility.department_ids))]
    for col, values in keys:
        if len(values) > _MAX_SCOPE_TERMS:
            terms.append(term.format(f"{col} = ANY(%s)"))
            args += [values, since, *upto_args, limit]
            continue
        for value in values:
            terms.append(term.format(f"{col} = %s"))
            args += [value, since, *upto_args, limit]
    if visibility.user_id is not None:
        terms.append(term.format("created_by_user = %s"))
        args += [visibility.user_id, since, *upto_args, limit]
    return (f"SELECT DISTINCT ON (u.rev) u.* FROM ({' UNION ALL '.join(terms)}) AS u "
            "ORDER BY u.rev LIMIT %s", [*args, limit])


class RecordQueries(RecordReads):
    """Record reads of the store only: pull pages, counts, history."""

    def stable_rev(self) -> int:
        """The committed revision counter. Every write transaction takes the
        counter's row lock when it begins and holds it to its end, in any
        process: a revision is committed, or rolled back with the counter,
        before the next is handed out, so none at or below it can still appear
        (docs/protocol.md, "Cursor")."""
        return self.max_rev()

    def _changes(self, cols: str, since: int, limit: int, visibility: Visibility,
                 upto: int) -> list[tuple]:
        return self._all(*changes_query(cols, since, limit, visibility, "%s", (upto,)))

    def change_rows_since(self, since: int, limit: int, visibility: Visibility, *,
                          upto: int) -> list[ChangeRow]:
        return [change_row(r) for r in self._changes(_CHANGE_COLS, since, limit, visibility, upto)]

    def count_records(self, entity: str, include_deleted: bool = False) -> int:
        sql = "SELECT count(*) FROM records WHERE entity=%s"
        if not include_deleted:
            sql += " AND deleted=0"
        row = self._one(sql, (entity,))
        return int(row[0]) if row else 0

    def records(self, entity: str) -> list[StoredRecord]:
        return [_record(r) for r in self._all(
            f"SELECT {_RECORD_COLS} FROM records WHERE entity=%s ORDER BY rev", (entity,))]

    def field_history(self, entity: str, id: str) -> list[HistoryEntry]:
        out: list[HistoryEntry] = []
        for rev, fields, hlc, user_id, device_id in self._all(
                "SELECT rev, fields, hlc, user_id, device_id FROM record_history "
                "WHERE entity=%s AND id=%s ORDER BY rev", (entity, id)):
            values = _loads(fields)
            out += [HistoryEntry(entity, id, name, rev, values[name], hlc, user_id, device_id)
                    for name in sorted(values)]
        return out
