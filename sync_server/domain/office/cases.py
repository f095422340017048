"""The case ledger (欠薪案件台账): office intake, list, detail, transitions.

Intake and transitions are office mutations through the push path
(``writes.apply``): the case is routed by ``shared_schema.cases`` exactly as
a device's case, and an event is a ``case_event`` folded by the same state
machine, so the office cannot do what the rules forbid a device. Deadlines
(accept within 5 working days, a collective incident's case the same day;
conclude within 60, extendable once by 30) are computed over the
working-day calendar on every read (``shared_schema.case_deadlines``).
"""

from __future__ import annotations

from typing import Any

import msgspec

from shared_schema import case_deadlines
from shared_schema import cases as case_rules
from shared_schema.case_sources import codes_for
from shared_schema.ids import uuid7
from shared_schema.servertime import RECEIVED_AT, event_ms
from sync_server.domain.principal import Principal
from sync_server.domain.calendar import service as calendar
from sync_server.domain.office import access, writes
from sync_server.domain.office.common import name_of, photos_of
from shared_schema.office import (
    CaseDetail,
    CaseEventRequest,
    CaseIntake,
    CaseList,
    CaseView,
    Page,
    TimelineEvent,
)
from sync_server.domain.errors import DomainError
from sync_server.settings import Settings
from sync_server.store.base import StoredRecord, SyncStore

EVENT_FIELDS = ("note", "amount_recovered", "workers_paid", "evidence", "callback_note",
                "referral_target", "investigation_kind", "investigation_outcome", "transfer_to",
                "advance_source", "amount_advanced", "workers_advanced", "reply_date")


def _state(data: dict[str, Any]) -> case_rules.CaseState:
    return case_rules.CaseState(status=data.get("status") or "registered",
                                level=data.get("level") or "township",
                                extended=bool(data.get("extended")),
                                route=data.get("route") or case_rules.ROUTE_LOCAL)


def _view(store: SyncStore, p: Principal, cal: calendar.WorkCalendar, rec: StoredRecord,
          now: int, window: int) -> CaseView:
    return CaseView(case=rec.data, deadlines=case_deadlines.deadlines(cal, rec.data, now, window),
                    allowed_events=case_rules.allowed_kinds(_state(rec.data), p.role),
                    village_name=name_of(store, "village", rec.village_id),
                    site_name=name_of(store, "site", rec.data.get("site_id")))


def _get(store_or_tx: Any, case_id: str) -> StoredRecord:
    rec = store_or_tx.get_record("case", case_id)
    if rec is None or rec.deleted:
        raise DomainError("not_found", "no such case", id=case_id)
    return rec


#: Statuses whose deadline runs (a case with no status is registered): only
#: these can be overdue or due soon (``calendar.case_deadlines``).
RUNNING = ("", case_rules.REGISTERED, case_rules.ACCEPTED)


#: ``q`` searches these; the complainant's name (personal data) only for the office.
SEARCHED = ("title", "employer")
SEARCHED_BY_OFFICE = SEARCHED + ("complainant_name",)
MAX_Q = 100


def list_cases(store: SyncStore, settings: Settings, p: Principal, *, status: str | None,
               level: str | None, village: str | None, overdue: bool | None,
               due_soon: bool | None, source: str | None, limit: int,
               offset: int, q: str | None = None) -> CaseList:
    """The ledger, newest first. The store filters, orders and pages it; with
    ``overdue`` or ``due_soon`` the deadlines of every matching case are
    counted here (they depend on today and the calendar), so the store
    returns all of them, only those whose deadline runs when either flag is
    true. Names and allowed events are worked out for the page only. ``q``
    finds a substring of the title or employer, and of the complainant's
    name for the office role only (a leader cannot find cases by a person)."""
    access.require(p, access.OFFICE_LEADER)
    needle = (q or "").strip()
    if len(needle) > MAX_Q:
        raise DomainError("invalid_parameter", f"q must be at most {MAX_Q} characters",
                          path="q")
    now = settings.now_ms()
    window = settings.max_backdate_ms
    cal = calendar.load(store)
    statuses = [status] if status else (RUNNING if overdue or due_soon else None)
    by_deadline = overdue is not None or due_soon is not None
    # A source matches the codes older phones stored for it too (case_sources.codes_for):
    # the store takes one code, so several are matched here.
    sources = codes_for(source) if source else ()
    here = by_deadline or len(sources) > 1
    total, page = store.cases_page(statuses=statuses, level=level, village_id=village,
                                   source=source if len(sources) == 1 else None,
                                   limit=None if here else limit,
                                   offset=0 if here else offset, q=needle or None,
                                   q_fields=SEARCHED_BY_OFFICE if p.role == "office"
                                   else SEARCHED)
    if here:
        page = [rec for rec in page if (len(sources) < 2 or rec.data.get("source") in sources)
                and (not by_deadline or _deadlines_match(
                    case_deadlines.deadlines(cal, rec.data, now, window), overdue, due_soon))]
        total, page = len(page), page[offset: offset + limit]
    return CaseList(items=[_view(store, p, cal, rec, now, window) for rec in page],
                    page=Page(total=total, limit=limit, offset=offset))


def _deadlines_match(d: calendar.Deadlines, overdue: bool | None,
                     due_soon: bool | None) -> bool:
    return (overdue is None or d.overdue == overdue) and \
        (due_soon is None or d.due_soon == due_soon)


def case_detail(store: SyncStore, settings: Settings, p: Principal, case_id: str) -> CaseDetail:
    access.require(p, access.OFFICE_LEADER)
    rec = _get(store, case_id)
    view = _view(store, p, calendar.load(store), rec, settings.now_ms(),
                 settings.max_backdate_ms)
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
            fields={k: d[k] for k in EVENT_FIELDS if d.get(k) not in (None, [], "")},
            received_at=d.get(RECEIVED_AT), counted_at=event_ms(d, settings.max_backdate_ms)))
    return CaseDetail(case=view.case, deadlines=view.deadlines,
                      allowed_events=view.allowed_events, events=events,
                      photos=photos_of(store, rec.id), village_name=view.village_name,
                      site_name=view.site_name,
                      first_receiver_name=_user_name(store, rec.data.get("first_receiver_id")))


def _user_name(store: SyncStore, user_id: str | None) -> str | None:
    user = store.get_user(user_id) if user_id else None
    return user.display_name if user else None


def intake(store: SyncStore, settings: Settings, p: Principal, req: CaseIntake) -> CaseDetail:
    access.require(p, access.OFFICE, "register cases")
    now = settings.now_ms()
    fields = {k: v for k, v in msgspec.structs.asdict(req).items()
              if v is not None and k != "received_at"}
    if req.received_at is not None and not 0 <= req.received_at <= now:
        raise DomainError("invalid_value", "received_at must be a past unix time in ms",
                          path="$.received_at")
    fields["opened_at"] = req.received_at if req.received_at is not None else now
    case_id = uuid7()
    with store.transaction() as tx:
        writes.apply(tx, settings, p, now, "upsert", "case", case_id, fields)
        rec = tx.get_record("case", case_id)
        assert rec is not None
        if req.received_at is not None:
            # The township received it when the office says (a past time, audited
            # with the intake): that is the receipt its deadlines count from.
            rec.data[RECEIVED_AT] = req.received_at
            tx.put_record(rec)
        access.audit(tx, p, now, "case_intake", "case", case_id, source=req.source,
                     received_at=fields["opened_at"],
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
