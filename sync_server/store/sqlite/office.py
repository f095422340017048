"""The office console's queries: review queue, case ledger, registry index,
audit log and calendar."""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from sync_server.store.base import CASE_SEARCH_FIELDS, AuditRow, SiteTexts, StoredRecord
from sync_server.store.sqlite.columns import (
    _AUDIT_COLS,
    _RECORD_COLS_QUALIFIED,
    Connected,
    _dumps,
    _loads,
    _record,
)


class OfficeWrites(Connected):
    """Writes inside one transaction."""

    def add_audit(self, e: AuditRow) -> None:
        self.conn.execute(
            f"INSERT INTO audit_log ({_AUDIT_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (e.id, e.at, e.user_id, e.username, e.role, e.device_id, e.action, e.entity,
             e.entity_id, _dumps(e.details)))

    def put_calendar(self, data: dict[str, Any], at_ms: int, user_id: str) -> None:
        self.conn.execute(
            "INSERT INTO calendar VALUES ('workdays', ?, ?, ?) ON CONFLICT (name) DO UPDATE "
            "SET data=excluded.data, updated_at=excluded.updated_at, "
            "updated_by=excluded.updated_by", (_dumps(data), at_ms, user_id))


class OfficeQueries(Connected):
    """Reads of the store only."""

    def inspections_page(self, *, state: str | None = None, review_state: str | None = None,
                         village_id: str | None = None, department_id: str | None = None,
                         site_kind: str | None = None, since_ms: int | None = None,
                         until_ms: int | None = None, limit: int = 50, offset: int = 0
                         ) -> tuple[int, list[StoredRecord]]:
        def at(*fields: str) -> str:  # Python's ``a or b or 0`` over the data's times
            return "coalesce(" + ", ".join(
                f"nullif(json_extract(i.data, '$.{f}'), 0)" for f in fields) + ", 0)"

        where, args = ["i.entity = 'inspection'", "i.deleted = 0"], list[Any]()
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
        where, args = ["entity = 'case'", "deleted = 0"], list[Any]()
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
        ids, counts = list(dict.fromkeys(site_ids)), dict[str, int]()
        for i in range(0, len(ids), 500):
            chunk = ids[i:i + 500]
            counts.update(self.conn.execute(
                f"{sql} AND site IN ({','.join('?' * len(chunk))}) GROUP BY site",
                (*out, *chunk)).fetchall())
        return counts

    def site_texts(self, fields: Sequence[str], *, village_id: str | None = None,
                   kind: str | None = None) -> list[SiteTexts]:
        for f in fields:
            if not f.isidentifier():
                raise ValueError(f"not a field name: {f!r}")
        where, args = ["entity = 'site'", "deleted = 0"], list[Any]()
        for clause, value in (("village_id = ?", village_id),
                              ("json_extract(data, '$.kind') = ?", kind)):
            if value:
                where.append(clause)
                args.append(value)
        picked = "".join(f", json_extract(data, '$.{f}')" for f in fields)
        return [SiteTexts(row[0], tuple(row[1:])) for row in self.conn.execute(
            f"SELECT id{picked} FROM records WHERE {' AND '.join(where)} "
            "ORDER BY coalesce(json_extract(data, '$.name'), ''), id", args)]

    def list_audit(self, *, action: str | None = None, entity_id: str | None = None,
                   since: int | None = None, until: int | None = None,
                   limit: int = 100, offset: int = 0) -> list[AuditRow]:
        where, args = list[str](), list[Any]()
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
        return [AuditRow(id=r[0], at=r[1], user_id=r[2], username=r[3], role=r[4], device_id=r[5],
                           action=r[6], entity=r[7], entity_id=r[8], details=_loads(r[9]))
                for r in rows]

    def get_calendar(self) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT data FROM calendar WHERE name='workdays'").fetchone()
        return _loads(row[0]) if row else None
