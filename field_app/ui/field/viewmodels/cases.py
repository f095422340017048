"""Cases: deadlines over the working-day calendar, allowed transitions, the
intake form, a case's page and the case list.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from field_app.core import Device
from shared_schema import cases as case_rules
from shared_schema.calendar import WorkCalendar
from shared_schema.calendar import packaged as packaged_calendar
from shared_schema.case_deadlines import deadlines as case_deadlines
from shared_schema.case_sources import FIELD_SOURCES
from shared_schema.cases import FINAL_STATUSES, TRANSITIONS, CaseState, allowed_kinds

from field_app.ui.kit.rules import CHINA, UiError, filled, parse_intake

from .common import now_ms, parse_number


@dataclass(frozen=True)
class Deadline:
    kind: str  # "accept" (5 working days) or "conclude" (60, +30 once extended)
    due: dt.date
    overdue: bool
    days_left: int  # working days; negative once overdue


def case_deadline(case: dict[str, Any], extended: bool, today: dt.date,
                  cal: WorkCalendar | None = None) -> Deadline | None:
    """The case's next deadline over the working-day calendar (weekends, public
    holidays and make-up days; the same rules as the office ledger,
    ``shared_schema.calendar``): accept within 5 working days of registration,
    conclude within 60 working days of acceptance (90 once extended); a
    collective incident's case is accepted the same day. None when
    the case has no open deadline (final, resolved, or not yet synced)."""
    cal = cal or packaged_calendar()
    status = case.get("status") or "registered"
    if status not in ("registered", "accepted"):
        return None
    noon = dt.datetime.combine(today, dt.time(12), CHINA)
    d = case_deadlines(cal, {**case, "extended": extended}, int(noon.timestamp() * 1000))
    due = d.accept_due if status == "registered" else d.conclude_due
    if due is None or d.working_days_left is None:
        return None
    return Deadline("accept" if status == "registered" else "conclude",
                    dt.date.fromisoformat(due), d.overdue, d.working_days_left)


def case_state(case: dict[str, Any], events: Iterable[dict[str, Any]]) -> CaseState:
    return CaseState(status=case.get("status") or "registered",
                     level=case.get("level") or "village",
                     extended=any(e.get("kind") == "extend" for e in events),
                     route=case.get("route") or case_rules.ROUTE_LOCAL)


def status_key(case: dict[str, Any]) -> str:
    """The i18n family key of a case's status: ``investigating`` (调查中) for an
    accepted case with investigation records and no outcome yet."""
    status = case.get("status") or "registered"
    if status == "accepted" and case.get("investigation_records") and \
            not case.get("investigation_outcome"):
        return "investigating"
    return status


def routed_locally(device: Device, case: dict[str, Any]) -> dict[str, Any]:
    """A case as the server will route it, while the server has not yet
    (recorded offline, no ``route``): its level and route from the shared rules
    over its site and the pulled thresholds, so the phone offers what the
    server will allow (a grid officer does not accept a department's case)."""
    if not case or case.get("route"):
        return case
    site = device.get("site", case.get("site_id") or "") or {}
    setting = device.get("setting", case_rules.ROUTING_SETTING_ID) or {}
    r = case_rules.route(case, site or None, case_rules.thresholds_from(setting.get("body")))
    level = case["level"] if case.get("initial_level") and case.get("level") else r.level
    return {**case, "level": level, "route": r.route,
            "handled_by": case_rules.handled_by(level, r.route)}


def route_preview(device: Device, site: dict[str, Any], raw: dict[str, Any]) -> case_rules.Route:
    """Where a case with the form's values would start, as the server will
    route it: the shared rules over the site and the office's thresholds
    this phone pulled (the ``setting`` record ``case_routing``)."""
    setting = device.get("setting", case_rules.ROUTING_SETTING_ID) or {}
    fields: dict[str, Any] = {"village_id": site.get("village_id"),
                              "collective_risk": bool(raw.get("collective_risk"))}
    for name, whole in (("workers_owed", True), ("amount_owed", False)):
        text = str(raw.get(name) or "").strip()
        fields[name] = parse_number(text, whole) if text else None
    return case_rules.route(fields, site or None, case_rules.thresholds_from(setting.get("body")))


def allowed_transitions(case: dict[str, Any], events: Iterable[dict[str, Any]],
                        role: str | None) -> list[str]:
    """The event kinds this role may add now (shared_schema.cases.allowed_kinds)."""
    return allowed_kinds(case_state(case, list(events)), role or "")


def required_fields(kind: str) -> list[str]:
    """Field names an event kind needs; "a|b" means either."""
    return list(TRANSITIONS[kind].requires) if kind in TRANSITIONS else []


def employer_for(site: dict[str, Any]) -> str:
    """The case form's employer, pre-filled from the site: a factory or a firm
    is the employer itself; on a construction project it is the contractor."""
    if site.get("kind") == "construction":
        return site.get("contractor") or ""
    return site.get("name") or ""


INTAKE_FIELDS = ("title", "employer", "employer_address", "sector", "workers_owed",
                 "amount_owed", "period_from", "period_to", "work_done", "collective_risk",
                 "source", "complainant_name", "complainant_phone")
#: The case form's free-text fields: each shows a counter up to its limit (``text_limit``).
CASE_TEXT_FIELDS = ("title", "employer", "employer_address", "work_done", "complainant_name")
#: The same for a case event's texts.
EVENT_TEXT_FIELDS = ("note", "callback_note", "transfer_to")
#: A case event's fields that take a code, with the codes (shown by their labels).
EVENT_CHOICES: dict[str, tuple[str, ...]] = {
    "referral_target": tuple(case_rules.REFERRAL_TARGETS),
    "investigation_kind": tuple(case_rules.INVESTIGATION_KINDS),
    "investigation_outcome": tuple(case_rules.INVESTIGATION_OUTCOMES),
    "advance_source": tuple(case_rules.ADVANCE_SOURCES),
}
#: Numbers of a case event: whole (True) or yuan (False).
EVENT_NUMBERS = {"amount_recovered": False, "workers_paid": True, "amount_advanced": False,
                 "workers_advanced": True}


def event_choices(kind: str, name: str) -> tuple[str, ...]:
    """The codes a coded event field offers for ``kind``."""
    if kind == "refer_procedure" and name == "referral_target":
        return case_rules.PROCEDURE_TARGETS
    return EVENT_CHOICES.get(name, ())
#: The case form's sources: the shared list's codes (shared_schema.case_sources).
CASE_SOURCES = FIELD_SOURCES


class CaseVM:
    def __init__(self, device: Device, case_id: str, today: Callable[[], dt.date] | None = None):
        self.device = device
        self.id = case_id
        self.today = today or (lambda: dt.datetime.now(CHINA).date())
        self.reload()

    def reload(self) -> None:
        self.case = routed_locally(self.device, self.device.get("case", self.id) or {})
        self.events = sorted(self.device.records("case_event", case_id=self.id),
                             key=lambda e: e.get("created_at") or 0)
        self.role = self.device.status().role

    def allowed(self) -> list[str]:
        return allowed_transitions(self.case, self.events, self.role)

    def deadline(self) -> Deadline | None:
        return case_deadline(self.case, case_state(self.case, self.events).extended,
                             self.today(), self.device.work_calendar())

    def add_event(self, kind: str, raw: dict[str, Any]) -> str:
        if kind not in self.allowed():
            raise UiError("illegal_transition", f"'{kind}' is not allowed now", kind=kind)
        fields: dict[str, Any] = {}
        for name, value in filled(raw):
            if name in EVENT_NUMBERS:
                value = parse_number(str(value), EVENT_NUMBERS[name])
            if value is None:
                raise UiError("invalid_field", f"{name} is not a number", field=name)
            fields[name] = value
        try:
            case_rules.check_new_event(kind, fields)
        except case_rules.CaseRuleError as exc:
            raise UiError(exc.code, exc.message, **exc.details) from None
        event_id = self.device.add_case_event(self.id, kind, **fields)
        self.reload()
        return event_id


@dataclass
class CaseRow:
    id: str
    title: str
    site: str
    status: str
    level: str
    amount: Any
    opened_at: int | None
    deadline: Deadline | None


def case_rows(device: Device, today: dt.date | None = None) -> list[CaseRow]:
    """The cases on this phone (my villages' and the ones I registered), open
    ones first, then newest first, each with its next deadline."""
    today = today or dt.datetime.now(CHINA).date()
    sites = {s["id"]: s.get("name") or "" for s in device.sites()}
    events: dict[str, list[dict]] = {}
    for e in device.records("case_event"):
        events.setdefault(e.get("case_id") or "", []).append(e)
    cal = device.work_calendar()
    rows = []
    for c in device.cases():
        state = case_state(c, events.get(c["id"], []))
        rows.append(CaseRow(
            id=c["id"], title=c.get("title") or c.get("employer") or "—",
            site=sites.get(c.get("site_id") or "", ""), status=status_key(c), level=state.level,
            amount=c.get("amount_owed"), opened_at=c.get("opened_at") or c.get("created_at"),
            deadline=case_deadline(c, state.extended, today, cal)))
    rows.sort(key=lambda r: (r.status in FINAL_STATUSES, -(r.opened_at or 0)))
    return rows


def open_case(device: Device, site_id: str | None, raw: dict[str, Any]
              ) -> tuple[str | None, dict[str, str]]:
    """Validate the intake form and open the case; (case id, {}) or (None, errors)."""
    fields, errors = parse_intake(raw)
    if errors:
        return None, errors
    if site_id:
        fields["site_id"] = site_id
    fields.setdefault("opened_at", now_ms())
    return device.open_case(**fields), {}
