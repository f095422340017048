"""The office console's queries: review queue, case ledger, registry index,
audit log and calendar, filtered, sorted and cut in SQL."""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from sync_server.store.base import CASE_SEARCH_FIELDS, AuditRow, SiteTexts, StoredRecord
from sync_server.store.postgres.columns import (
    _AUDIT_COLS,
    Connected,
    _dumps,
    _loads,
    _num,
    _qualified,
    _record,
    marks,
)


class OfficeWrites(Connected):
    """Writes inside one transaction."""

    def add_audit(self, e: AuditRow) -> None:
        self._exec(f"INSERT INTO audit_log ({_AUDIT_COLS}) VALUES ({marks(10)})",
                   (e.id, e.at, e.user_id, e.username, e.role, e.device_id, e.action, e.entity,
                    e.entity_id, _dumps(e.details)))

    def put_calendar(self, data: dict[str, Any], at_ms: int, user_id: str) -> None:
        self._exec(
            "INSERT INTO calendar VALUES ('workdays', %s, %s, %s) ON CONFLICT (name) DO UPDATE "
            "SET data=EXCLUDED.data, updated_at=EXCLUDED.updated_at, "
            "updated_by=EXCLUDED.updated_by", (_dumps(data), at_ms, user_id))


def _first_time(alias: str, *fields: str) -> str:
    """Python's ``a or b or 0`` over the data's times."""
    return "coalesce(" + ", ".join(f"nullif({_num(alias, f)}, 0)" for f in fields) + ", 0)"


class OfficeQueries(Connected):
    """Reads of the store only."""

    def inspections_page(self, *, state: str | None = None, review_state: str | None = None,
                         village_id: str | None = None, department_id: str | None = None,
                         site_kind: str | None = None, since_ms: int | None = None,
                         until_ms: int | None = None, limit: int = 50, offset: int = 0
                         ) -> tuple[int, list[StoredRecord]]:
        where, args = ["i.entity = 'inspection'", "i.deleted = 0"], list[Any]()
        for clause, value in (("i.data->>'state' = %s", state),
                              ("i.data->>'review_state' = %s", review_state),
                              ("i.village_id = %s", village_id),
                              ("i.department_id = %s", department_id),
                              ("s.data->>'kind' = %s", site_kind)):
            if value:
                where.append(clause)
                args.append(value)
        when = _first_time("i", "submitted_at", "started_at", "created_at")
        if since_ms is not None:
            where.append(f"{when} >= %s")
            args.append(since_ms)
        if until_ms is not None:
            where.append(f"{when} < %s")
            args.append(until_ms)
        source = ("records AS i LEFT JOIN records AS s ON s.entity = 'site' "
                  "AND s.id = i.site_id")
        return self._page(source, "i", " AND ".join(where), args,
                          _first_time("i", "submitted_at", "started_at"), limit, offset)

    def _page(self, source: str, alias: str, where: str, args: list[Any], at: str,
              limit: int | None, offset: int) -> tuple[int, list[StoredRecord]]:
        """(how many rows match, the page of them) newest first by (at, id).
        The matches are first taken as keys only (entity, id, at): they are
        counted and cut there, and only the page's rows are read whole (a
        window count over whole rows read every match's row, 15x slower
        at 20,000 inspections)."""
        match = (f"SELECT {alias}.entity AS e, {alias}.id AS k, {at} AS at FROM {source} "
                 f"WHERE {where}")
        rows = self._all(
            f"WITH m AS MATERIALIZED ({match}), p AS (SELECT e, k, at FROM m "
            "ORDER BY at DESC, k DESC LIMIT %s OFFSET %s) "
            f"SELECT {_qualified('r')}, (SELECT count(*) FROM m) FROM p "
            "JOIN records AS r ON r.entity = p.e AND r.id = p.k ORDER BY p.at DESC, p.k DESC",
            (*args, limit, offset))
        if not rows:  # past the last page: still say how many match
            row = self._one(f"SELECT count(*) FROM ({match}) AS m", args)
            return (int(row[0]) if row else 0), []
        return int(rows[0][-1]), [_record(r[:-1]) for r in rows]

    def cases_page(self, *, statuses: Iterable[str] | None = None, level: str | None = None,
                   village_id: str | None = None, source: str | None = None,
                   limit: int | None = 50, offset: int = 0, q: str | None = None,
                   q_fields: Sequence[str] = ("title", "employer")
                   ) -> tuple[int, list[StoredRecord]]:
        where, args = ["c.entity = 'case'", "c.deleted = 0"], list[Any]()
        if q:
            fields = list(q_fields)
            if not fields or any(f not in CASE_SEARCH_FIELDS for f in fields):
                raise ValueError(f"not searchable case fields: {fields!r}")
            where.append("(" + " OR ".join(
                f"strpos(lower(coalesce(c.data->>'{f}', '')), lower(%s)) > 0"
                for f in fields) + ")")
            args += [q] * len(fields)
        if statuses is not None:
            where.append("coalesce(c.data->>'status', '') = ANY(%s)")
            args.append(list(statuses))
        for clause, value in (("c.data->>'level' = %s", level),
                              ("c.data->>'source' = %s", source),
                              ("c.village_id = %s", village_id)):
            if value:
                where.append(clause)
                args.append(value)
        return self._page("records AS c", "c", " AND ".join(where), args,
                          _first_time("c", "opened_at"), limit, offset)

    def cases_per_site(self, excluding_statuses: Iterable[str],
                       site_ids: Iterable[str] | None = None) -> dict[str, int]:
        sql = ("SELECT data->>'site_id' AS site, count(*) FROM records "
               "WHERE entity='case' AND deleted=0 AND data->>'site_id' IS NOT NULL AND "
               "NOT (coalesce(data->>'status', '') = ANY(%s))")
        args: list[Any] = [list(excluding_statuses)]
        if site_ids is not None:
            sql += " AND data->>'site_id' = ANY(%s)"
            args.append(list(dict.fromkeys(site_ids)))
        return {r[0]: int(r[1]) for r in self._all(sql + " GROUP BY 1", args)}

    def site_texts(self, fields: Sequence[str], *, village_id: str | None = None,
                   kind: str | None = None) -> list[SiteTexts]:
        for f in fields:
            if not f.isidentifier():
                raise ValueError(f"not a field name: {f!r}")
        where, args = ["entity = 'site'", "deleted = 0"], list[Any]()
        for clause, value in (("village_id = %s", village_id), ("data->>'kind' = %s", kind)):
            if value:
                where.append(clause)
                args.append(value)
        picked = "".join(f", (data->'{f}')::text" for f in fields)
        return [SiteTexts(row[0], tuple(_loads(v) for v in row[1:])) for row in self._all(
            f"SELECT id{picked} FROM records WHERE {' AND '.join(where)} "
            "ORDER BY coalesce(data->>'name', '') COLLATE \"C\", id", args)]

    def list_audit(self, *, action: str | None = None, entity_id: str | None = None,
                   since: int | None = None, until: int | None = None,
                   limit: int = 100, offset: int = 0) -> list[AuditRow]:
        where, args = list[str](), list[Any]()
        for clause, value in (("action = %s", action), ("entity_id = %s", entity_id),
                              ("at >= %s", since), ("at < %s", until)):
            if value is not None:
                where.append(clause)
                args.append(value)
        sql = f"SELECT {_AUDIT_COLS} FROM audit_log"
        if where:
            sql += " WHERE " + " AND ".join(where)
        rows = self._all(sql + " ORDER BY at DESC, id DESC LIMIT %s OFFSET %s",
                         (*args, limit, offset))
        return [AuditRow(id=r[0], at=r[1], user_id=r[2], username=r[3], role=r[4], device_id=r[5],
                         action=r[6], entity=r[7], entity_id=r[8], details=_loads(r[9]))
                for r in rows]

    def get_calendar(self) -> dict[str, Any] | None:
        row = self._one("SELECT data FROM calendar WHERE name='workdays'")
        return _loads(row[0]) if row else None
