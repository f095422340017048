"""The case ledger (欠薪案件台账): office intake, list, detail, transitions.

Intake and transitions are office mutations through the push path
(``writes.apply``): the case is routed by ``shared_schema.cases`` exactly as
a device's case, and an event is a ``case_event`` folded by the same state
machine, so the office cannot do what the rules forbid a device. Deadlines
(accept within 5 working days, conclude within 60, extendable once by 30)
are computed over the working-day calendar on every read.
"""

from __future__ import annotations

from typing import Any

import msgspec

from shared_schema import cases as case_rules
from shared_schema.ids import uuid7
from sync_server.domain.auth.service import Principal
from sync_server.domain.calendar import service as calendar
from sync_server.domain.office import access, writes
from sync_server.domain.office.common import name_of, photos_of
from sync_server.domain.office.schema import (
    CaseDetail,
    CaseEventRequest,
    CaseIntake,
    CaseList,
    CaseView,
    Page,
    TimelineEvent,
)
from sync_server.errors import ApiError
from sync_server.settings import Settings
from sync_server.store.base import StoredRecord, SyncStore

EVENT_FIELDS = ("note", "amount_recovered", "workers_paid", "evidence", "callback_note",
                "referral_target")


def _state(data: dict[str, Any]) -> case_rules.CaseState:
    return case_rules.CaseState(status=data.get("status") or "registered",
                                level=data.get("level") or "township",
                                extended=bool(data.get("extended")))


def _view(store: SyncStore, p: Principal, cal: calendar.WorkCalendar, rec: StoredRecord,
          now: int) -> CaseView:
    return CaseView(case=rec.data, deadlines=calendar.case_deadlines(cal, rec.data, now),
                    allowed_events=case_rules.allowed_kinds(_state(rec.data), p.role),
                    village_name=name_of(store, "village", rec.village_id),
                    site_name=name_of(store, "site", rec.data.get("site_id")))


def _get(store_or_tx: Any, case_id: str) -> StoredRecord:
    rec = store_or_tx.get_record("case", case_id)
    if rec is None or rec.deleted:
        raise ApiError("not_found", "no such case", 404, id=case_id)
    return rec


def list_cases(store: SyncStore, settings: Settings, p: Principal, *, status: str | None,
               level: str | None, village: str | None, overdue: bool | None,
               due_soon: bool | None, source: str | None, limit: int,
               offset: int) -> CaseList:
    access.require(p, access.OFFICE_LEADER)
    now = settings.now_ms()
    cal = calendar.load(store)
    items = []
    for rec in store.records("case"):
        d = rec.data
        if rec.deleted or (status and d.get("status") != status) \
                or (level and d.get("level") != level) \
                or (village and rec.village_id != village) \
                or (source and d.get("source") != source):
            continue
        view = _view(store, p, cal, rec, now)
        if overdue is not None and view.deadlines.overdue != overdue:
            continue
        if due_soon is not None and view.deadlines.due_soon != due_soon:
            continue
        items.append(view)
    items.sort(key=lambda v: (v.case.get("opened_at") or 0, v.case["id"]), reverse=True)
    return CaseList(items=items[offset: offset + limit],
                    page=Page(total=len(items), limit=limit, offset=offset))


def case_detail(store: SyncStore, settings: Settings, p: Principal, case_id: str) -> CaseDetail:
    access.require(p, access.OFFICE_LEADER)
    rec = _get(store, case_id)
    view = _view(store, p, calendar.load(store), rec, settings.now_ms())
    events = []
    for e in sorted((e for e in store.children_of(rec.id, "case_event") if not e.deleted),
                    key=lambda e: e.data.get("hlc") or ""):
        d = e.data
        user = store.get_user(d.get("author_id") or "") if d.get("author_id") else None
        t = case_rules.TRANSITIONS.get(d.get("kind") or "")
        events.append(TimelineEvent(
            id=e.id, kind=d.get("kind"), label_zh=t.label_zh if t else "", hlc=d.get("hlc"),
            created_at=d.get("created_at"), author_id=d.get("author_id"),
            author_name=user.display_name if user else None, author_role=d.get("author_role"),
            device_id=e.created_by_device,
            fields={k: d[k] for k in EVENT_FIELDS if d.get(k) not in (None, [], "")}))
    return CaseDetail(case=view.case, deadlines=view.deadlines,
                      allowed_events=view.allowed_events, events=events,
                      photos=photos_of(store, rec.id), village_name=view.village_name,
                      site_name=view.site_name)


def intake(store: SyncStore, settings: Settings, p: Principal, req: CaseIntake) -> CaseDetail:
    access.require(p, access.OFFICE, "register cases")
    now = settings.now_ms()
    fields = {k: v for k, v in msgspec.structs.asdict(req).items()
              if v is not None and k != "received_at"}
    if req.received_at is not None and not 0 <= req.received_at <= now:
        raise ApiError("invalid_value", "received_at must be a past unix time in ms", 422,
                       path="$.received_at")
    fields["opened_at"] = req.received_at if req.received_at is not None else now
    case_id = uuid7()
    with store.transaction() as tx:
        writes.apply(tx, settings, p, now, "upsert", "case", case_id, fields)
        rec = tx.get_record("case", case_id)
        assert rec is not None
        access.audit(tx, p, now, "case_intake", "case", case_id, source=req.source,
                     level=rec.data.get("level"), village_id=rec.village_id,
                     title=rec.data.get("title") or rec.data.get("employer"))
    return case_detail(store, settings, p, case_id)


def add_event(store: SyncStore, settings: Settings, p: Principal, case_id: str,
              req: CaseEventRequest) -> CaseDetail:
    access.require(p, access.OFFICE_LEADER)
    now = settings.now_ms()
    fields: dict[str, Any] = {"case_id": case_id, "kind": req.kind}
    fields.update({k: v for k, v in msgspec.structs.asdict(req).items()
                   if k in EVENT_FIELDS and v not in (None, [])})
    with store.transaction() as tx:
        before = _get(tx, case_id)
        was = (before.data.get("status"), before.data.get("level"))
        events = [e for e in tx.children_of(case_id, "case_event")]
        writes.apply(tx, settings, p, now, "insert", "case_event", uuid7(), fields,
                     after=[e.data.get("hlc") for e in events])
        after = _get(tx, case_id)
        access.audit(tx, p, now, "case_transition", "case", case_id, kind=req.kind,
                     from_status=was[0], from_level=was[1], to_status=after.data.get("status"),
                     to_level=after.data.get("level"), note=req.note)
    return case_detail(store, settings, p, case_id)
