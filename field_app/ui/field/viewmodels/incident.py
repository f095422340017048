"""The incident report (上报突发事件) on the phone: the form's state, its checks
(the shared ``incident_errors``, as i18n keys beside each field), the report
(``field_app.core.incidents.report_incident``: offline, one outbox insert)
and a stored incident as the screen shows it. No Flet here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from field_app.core import Device, InvalidInput
from field_app.core.incidents import report_incident
from field_app.ui.kit.rules import CHINA
from shared_schema.cases import FINAL_STATUSES
from shared_schema.incidents import INCIDENT_KINDS, REFERRAL_TARGETS, incident_errors

from .common import check_number_text

#: The form's text fields (each with a counter up to the server's limit).
INCIDENT_TEXT_FIELDS = ("place", "on_scene")
KINDS: tuple[str, ...] = tuple(INCIDENT_KINDS)
TARGETS: tuple[str, ...] = tuple(REFERRAL_TARGETS)
TIME_FORMAT = "%Y-%m-%d %H:%M"


@dataclass
class IncidentForm:
    """What the user typed, kept while the app lives (a rebuild, a language
    switch or a refused report loses nothing)."""

    kind: str = "collective_claim"
    place: str = ""
    village_id: str | None = None
    headcount: str = ""
    occurred: str = ""  # YYYY-MM-DD HH:MM, China time; blank: now
    on_scene: str = ""
    brought_in: list[str] = field(default_factory=list)
    attach_case_id: str | None = None


#: One form per place the report starts from ("" without a site), per app.
_FORMS: "WeakKeyDictionary[Any, dict[str, IncidentForm]]" = WeakKeyDictionary()


def form_for(owner: Any, site_id: str | None) -> IncidentForm:
    """The form of ``owner`` (the app) for this site, made on first use."""
    forms = _FORMS.setdefault(owner, {})
    return forms.setdefault(site_id or "", IncidentForm())


def forget_form(owner: Any, site_id: str | None) -> None:
    _FORMS.get(owner, {}).pop(site_id or "", None)


def parse_time(text: str, now_ms: int) -> tuple[int | None, str | None]:
    """Typed China time → (unix ms, None) or (None, an i18n key); blank: now."""
    text = (text or "").strip()
    if not text:
        return now_ms, None
    try:
        at = dt.datetime.strptime(text, TIME_FORMAT).replace(tzinfo=CHINA)
    except ValueError:
        return None, "incident.err.occurred_at.invalid_value"
    return int(at.timestamp() * 1000), None


def error_key(name: str, code: str) -> str:
    """The i18n key of a refused field: ``incident.err.<field>.<code>``, known
    for every field and code ``incident_errors`` gives."""
    return f"incident.err.{name}.{code}"


def build_fields(form: IncidentForm, site_id: str | None, now_ms: int
                 ) -> tuple[dict[str, Any], dict[str, str]]:
    """The record's fields from the form, and the errors (field → i18n key)."""
    errors: dict[str, str] = {}
    headcount, bad = check_number_text(form.headcount, True)
    if bad is not None:  # blank: the form's own words; else the number's
        errors["headcount"] = (error_key("headcount", "required") if bad.key == "err.required"
                               else bad.key)
    occurred, bad_time = parse_time(form.occurred, now_ms)
    if bad_time is not None:
        errors["occurred_at"] = bad_time
    fields: dict[str, Any] = {
        "kind": form.kind, "headcount": headcount, "occurred_at": occurred,
        "on_scene": form.on_scene.strip() or None, "brought_in": list(form.brought_in),
        "attach_case_id": form.attach_case_id or None,
    }
    if site_id:
        fields["site_id"] = site_id
    else:
        fields["place"] = form.place.strip() or None
        fields["village_id"] = form.village_id or None
    for name, code in incident_errors(fields, now_ms).items():
        errors.setdefault(name, error_key(name, code))
    return fields, errors


def submit(device: Device, form: IncidentForm, site_id: str | None
           ) -> tuple[str | None, dict[str, str]]:
    """Record the report on this phone: (incident id, {}) or (None, errors
    beside their fields). The form is left as typed either way."""
    now = device.settings.now_ms()
    fields, errors = build_fields(form, site_id, now)
    if errors:
        return None, errors
    try:
        return report_incident(device, **fields), {}
    except InvalidInput as exc:
        found = exc.details.get("errors") or {}
        if found:
            return None, {n: error_key(n, c) for n, c in found.items()}
        name = str(exc.details.get("field") or "_form")  # "_form": under the whole form
        return None, {name: f"err.{exc.code}"}


def village_choices(device: Device) -> list[tuple[str, str]]:
    """(id, name) of the villages on this phone (the user's), by name."""
    return sorted(((v["id"], v.get("name") or "") for v in device.villages()
                   if not v.get("deleted")), key=lambda p: p[1])


def case_choices(device: Device, site_id: str | None) -> list[tuple[str, str]]:
    """Open cases the report may join: the site's (or every one on this phone)."""
    rows = [c for c in device.cases()
            if (not site_id or c.get("site_id") == site_id)
            and (c.get("status") or "registered") not in FINAL_STATUSES]
    return [(c["id"], c.get("title") or c.get("employer") or "—") for c in rows]


@dataclass(frozen=True)
class IncidentSummary:
    """A stored incident as the screen shows it."""

    id: str
    kind: str
    place: str
    headcount: int | None
    occurred_at: int | None
    on_scene: str
    brought_in: list[str]
    case_id: str | None  # set by the server once the report reached it
    case_title: str | None
    photos: int
    waiting: bool  # not on the server yet


def incident_summary(device: Device, incident_id: str) -> IncidentSummary | None:
    d = device.get("incident", incident_id)
    if d is None:
        return None
    site = device.get("site", d["site_id"]) if d.get("site_id") else None
    case_id = d.get("case_id") or d.get("attach_case_id")
    case = device.get("case", case_id) if case_id else None
    waiting = device.waiting_by_record().get(("incident", incident_id), 0) > 0
    return IncidentSummary(
        id=incident_id, kind=d.get("kind") or "collective_claim",
        place=(site or {}).get("name") or d.get("place") or "",
        headcount=d.get("headcount"), occurred_at=d.get("occurred_at"),
        on_scene=d.get("on_scene") or "", brought_in=list(d.get("brought_in") or []),
        case_id=case_id if case is not None else None,
        case_title=(case or {}).get("title"), photos=len(device.photos(incident_id)),
        waiting=waiting)


def incident_ids(device: Device) -> list[str]:
    """The incidents on this phone (mine and my villages'), newest first."""
    rows = sorted(device.records("incident"), key=lambda d: d.get("occurred_at") or 0,
                  reverse=True)
    return [d["id"] for d in rows if not d.get("deleted")]
