"""The office's risk list (农民工工资支付监控预警) and 复查 (re-inspection) tasks.

Lists read the ``risk_warning`` and ``reinspection`` records the submission
hook made (``sync/followup.py``); a task is overdue by the server's clock (the China
date after its due date). Marking a warning handled and extending a task are
office actions: written by the server through ``ServerWrites`` (revisions,
pulled by the phones in scope) and audited.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Iterable

from shared_schema import risk
from shared_schema.office import (
    ExtendReinspectionRequest,
    HandleWarningRequest,
    Page,
    ReinspectionList,
    ReinspectionView,
    RiskWarningList,
    RiskWarningView,
)
from sync_server.domain.errors import DomainError
from sync_server.domain.office import access
from sync_server.domain.principal import Principal
from sync_server.domain.sync.followup import ServerWrites, china_day, refresh_site_level
from sync_server.settings import Settings
from sync_server.store.base import StoredRecord, SyncStore

NOTE_CHARS = 5000


def _names(store: SyncStore, recs: Iterable[StoredRecord], user_field: str
           ) -> tuple[dict[str, str | None], dict[str, str | None]]:
    sites: dict[str, str | None] = {}
    users: dict[str, str | None] = {}
    for rec in recs:
        sid, uid = rec.data.get("site_id"), rec.data.get(user_field)
        if sid and sid not in sites:
            site = store.get_record("site", sid)
            sites[sid] = site.data.get("name") if site else None
        if uid and uid not in users:
            user = store.get_user(uid)
            users[uid] = user.display_name if user else None
    return sites, users


def _live(store: SyncStore, entity: str) -> list[StoredRecord]:
    return [r for r in store.records(entity) if not r.deleted]


def list_warnings(store: SyncStore, p: Principal, *, state: str | None, village: str | None,
                  level: str | None, limit: int, offset: int) -> RiskWarningList:
    access.require(p, access.OFFICE_LEADER)
    recs = _live(store, "risk_warning")
    open_count = sum(1 for r in recs if r.data.get("state") == "open")
    picked = [r for r in recs
              if (state is None or r.data.get("state") == state)
              and (village is None or r.village_id == village)
              and (level is None or r.data.get("level") == level)]
    # open first, the highest level first, then newest
    rank = {lv: n for n, lv in enumerate(risk.RISK_LEVELS)}
    picked.sort(key=lambda r: (r.data.get("state") != "open", -rank.get(r.data.get("level"), 0),
                               -(r.data.get("raised_at") or 0)))
    page = picked[offset:offset + limit]
    sites, users = _names(store, page, "inspector_id")
    items = [_warning_view(r, sites, users) for r in page]
    return RiskWarningList(items=items, page=Page(total=len(picked), limit=limit, offset=offset),
                           open_count=open_count)


def _warning_view(r: StoredRecord, sites: dict[str, str | None], users: dict[str, str | None]
                  ) -> RiskWarningView:
    d = r.data
    return RiskWarningView(
        id=r.id, site_id=d.get("site_id"), site_name=sites.get(d.get("site_id") or ""),
        village_id=r.village_id, inspection_id=d.get("inspection_id"),
        inspector_id=d.get("inspector_id"), inspector_name=users.get(d.get("inspector_id") or ""),
        level=d.get("level"), reasons=list(d.get("reasons") or []), raised_at=d.get("raised_at"),
        state=d.get("state"), handled_by=d.get("handled_by"), handled_at=d.get("handled_at"),
        handled_note=d.get("handled_note"), case_id=d.get("case_id"))


def handle_warning(store: SyncStore, settings: Settings, p: Principal, warning_id: str,
                   req: HandleWarningRequest) -> RiskWarningView:
    """Mark a warning handled (the office only), optionally naming the case
    opened for it; the site's risk level falls to its other open warnings'."""
    access.require(p, access.OFFICE, "handle risk warnings")
    if len(req.note) > NOTE_CHARS:
        raise DomainError("field_too_long", f"the note is longer than {NOTE_CHARS} characters",
                          path="$.note", limit=NOTE_CHARS)
    now = settings.now_ms()
    with store.transaction() as tx:
        rec = tx.get_record("risk_warning", warning_id)
        if rec is None or rec.deleted:
            raise DomainError("not_found", "no such risk warning", id=warning_id)
        if rec.data.get("state") == "handled":
            raise DomainError("already_handled", "this risk warning was already handled",
                              id=warning_id)
        if req.case_id:
            case = tx.get_record("case", req.case_id)
            if case is None or case.deleted:
                raise DomainError("unknown_case", "no such case", case_id=req.case_id)
        writer = ServerWrites(tx, now)
        fields: dict[str, Any] = {"state": "handled", "handled_by": p.user_id, "handled_at": now,
                                  "handled_note": req.note.strip() or None,
                                  "case_id": req.case_id or None}
        writer.upsert("risk_warning", rec.id, fields)
        level = refresh_site_level(tx, writer, rec.data.get("site_id") or "")
        access.audit(tx, p, now, "risk_handle", "risk_warning", rec.id,
                     site_id=rec.data.get("site_id"), case_id=req.case_id, note=req.note,
                     site_risk_level=level)
        stored = tx.get_record("risk_warning", rec.id)
        assert stored is not None
    sites, users = _names(store, [stored], "inspector_id")
    return _warning_view(stored, sites, users)


def _task_view(r: StoredRecord, today: dt.date, sites: dict[str, str | None],
               users: dict[str, str | None]) -> ReinspectionView:
    d = r.data
    return ReinspectionView(
        id=r.id, site_id=d.get("site_id"), site_name=sites.get(d.get("site_id") or ""),
        village_id=r.village_id, inspection_id=d.get("inspection_id"),
        responsible_id=d.get("responsible_id"),
        responsible_name=users.get(d.get("responsible_id") or ""),
        items=list(d.get("items") or []), rectification=d.get("rectification"),
        due_date=d.get("due_date"), state=d.get("state"),
        overdue=d.get("state") != "closed" and risk.overdue(d.get("due_date"), today),
        history=list(d.get("history") or []), closed_by=d.get("closed_by"),
        closed_at=d.get("closed_at"))


def list_reinspections(store: SyncStore, settings: Settings, p: Principal, *,
                       state: str | None, village: str | None, overdue: bool | None,
                       limit: int, offset: int) -> ReinspectionList:
    access.require(p, access.OFFICE_LEADER)
    today = china_day(settings.now_ms())
    recs = _live(store, "reinspection")
    sites, users = _names(store, recs, "responsible_id")
    views = [_task_view(r, today, sites, users) for r in recs]
    overdue_count = sum(1 for v in views if v.overdue)
    picked = [v for v in views
              if (state is None or v.state == state)
              and (village is None or v.village_id == village)
              and (overdue is None or v.overdue == overdue)]
    picked.sort(key=lambda v: (v.state == "closed", not v.overdue, v.due_date or ""))
    return ReinspectionList(items=picked[offset:offset + limit],
                            page=Page(total=len(picked), limit=limit, offset=offset),
                            overdue_count=overdue_count)


def extend_reinspection(store: SyncStore, settings: Settings, p: Principal, task_id: str,
                        req: ExtendReinspectionRequest) -> ReinspectionView:
    """A new due date for an open task (the office only; audited and kept in
    the task's history)."""
    access.require(p, access.OFFICE, "extend re-inspections")
    try:
        due = dt.date.fromisoformat(req.due_date)
    except ValueError:
        raise DomainError("invalid_value", "due_date must be a date written YYYY-MM-DD",
                          path="$.due_date") from None
    if len(req.note) > NOTE_CHARS:
        raise DomainError("field_too_long", f"the note is longer than {NOTE_CHARS} characters",
                          path="$.note", limit=NOTE_CHARS)
    now = settings.now_ms()
    today = china_day(now)
    if due < today:
        raise DomainError("invalid_value", "the new due date has already passed",
                          path="$.due_date", due_date=req.due_date, today=today.isoformat())
    with store.transaction() as tx:
        rec = tx.get_record("reinspection", task_id)
        if rec is None or rec.deleted:
            raise DomainError("not_found", "no such re-inspection task", id=task_id)
        if rec.data.get("state") == "closed":
            raise DomainError("reinspection_closed", "this re-inspection task is closed",
                              id=task_id)
        before = rec.data.get("due_date")
        history = [*(rec.data.get("history") or []),
                   {"action": "extended", "at": now, "by": p.user_id, "due_date": req.due_date,
                    "note": req.note.strip() or None}]
        ServerWrites(tx, now).upsert("reinspection", rec.id, {
            "state": "extended", "due_date": req.due_date, "history": history})
        access.audit(tx, p, now, "reinspection_extend", "reinspection", rec.id,
                     site_id=rec.data.get("site_id"), from_due=before, to_due=req.due_date,
                     note=req.note)
        stored = tx.get_record("reinspection", rec.id)
        assert stored is not None
    sites, users = _names(store, [stored], "responsible_id")
    return _task_view(stored, today, sites, users)
