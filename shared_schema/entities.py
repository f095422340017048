"""Entity records as they travel in pull ``data`` and push ``fields``.

Every field has a default, so a partial ``fields`` map of a push converts to
the record type and is type-checked field by field (``check_fields``).
Records may carry more fields than these; unknown fields are ignored.
"""

from __future__ import annotations

import typing
from typing import Any, Literal

import msgspec

from shared_schema.base import WireStruct

SiteKind = Literal["construction", "factory", "logistics", "other"]
#: The site kinds in order, for lists and filters (the server's, the phone's, the office's).
SITE_KINDS: tuple[str, ...] = typing.get_args(SiteKind)
SiteStatus = Literal["active", "completed", "closed"]
InspectionState = Literal["draft", "submitted"]
ReviewState = Literal["pending", "approved", "has_issues", "rejected"]
Sector = Literal["construction", "non_construction"]


class Record(WireStruct, kw_only=True):
    id: str | None = None
    created_at: int | None = None  # unix ms
    updated_at: int | None = None
    deleted: bool = False


class Village(Record, kw_only=True):
    name: str | None = None
    kind: Literal["village", "community"] | None = None
    code: str | None = None
    demo: bool = False


class Department(Record, kw_only=True):
    name: str | None = None
    sectors: list[str] = []


class User(Record, kw_only=True):
    """Public view of a user, pulled as reference data (no secrets)."""

    username: str | None = None
    display_name: str | None = None
    role: str | None = None


class ChecklistTemplateRecord(Record, kw_only=True):
    """A checklist template as reference data; ``body`` is the template JSON."""

    kind: str | None = None
    version: int | None = None
    body: dict[str, Any] = {}


class WorkCalendarRecord(Record, kw_only=True):
    """The working-day calendar as reference data (id ``workdays``): ``body``
    is ``shared_schema.calendar.CalendarData`` as JSON, the one the office
    ledger counts deadlines with, so a device counts them the same way after
    an admin changes it (``PUT /api/v1/admin/calendar``)."""

    body: dict[str, Any] = {}


class Site(Record, kw_only=True):
    name: str | None = None
    kind: SiteKind | None = None
    village_id: str | None = None
    department_id: str | None = None
    address: str | None = None
    lat: float | None = None
    lon: float | None = None
    gov_invested: bool | None = None
    builder: str | None = None
    contractor: str | None = None
    contract_amount: float | None = None
    start_date: str | None = None
    status: SiteStatus | None = None
    contact_name: str | None = None
    contact_phone: str | None = None
    industry: str | None = None
    # Registry facts set by the office on approval of an inspection.
    six_systems: dict[str, bool | None] | None = None
    headcount_on_site: int | None = None
    headcount_real_name: int | None = None
    headcount_contracts: int | None = None
    last_inspected_at: int | None = None
    # --- #17 warnings ---
    risk_level: str | None = None  # server-owned: the highest level of the site's open warnings
    credit_code: str | None = None  # 统一社会信用代码
    legal_representative: str | None = None  # 法定代表人/负责人
    # --- #17 cases ---
    village_self_built: bool | None = None  # 村（社区）自建项目: the village handles its cases


class Answer(WireStruct, kw_only=True):
    answer: Any = None
    value: Any = None
    note: str | None = None


class Inspection(Record, kw_only=True):
    site_id: str | None = None
    template_id: str | None = None
    inspector_id: str | None = None
    started_at: int | None = None
    submitted_at: int | None = None
    state: InspectionState | None = None
    answers: dict[str, Answer] | None = None
    lat: float | None = None
    lon: float | None = None
    # The fix lat/lon came from: its accuracy radius (metres) and when it was
    # taken (unix ms). The phone keeps the best fix obtained while the
    # inspection is open (docs/device-api.md, "Inspection location").
    accuracy_m: float | None = None
    located_at: int | None = None
    notes: str | None = None
    review_state: ReviewState | None = None
    review_comment: str | None = None
    # --- #17 warnings ---
    co_inspectors: str | None = None  # 同行巡查人员 (names)
    subcontractors: str | None = None  # 分包单位
    reinspection_of: str | None = None  # the 复查 task this inspection checks


class Photo(Record, kw_only=True):
    sha256: str | None = None
    owner_entity: Literal["inspection", "case", "site", "case_event", "incident"] | None = None
    owner_id: str | None = None
    item_code: str | None = None
    taken_at: int | None = None
    lat: float | None = None
    lon: float | None = None
    caption: str | None = None
    bytes: int | None = None


class WageCase(Record, kw_only=True):
    site_id: str | None = None
    village_id: str | None = None
    title: str | None = None
    employer: str | None = None
    employer_address: str | None = None
    sector: Sector | None = None
    workers_owed: int | None = None
    amount_owed: float | None = None
    period_from: str | None = None
    period_to: str | None = None
    work_done: str | None = None
    collective_risk: bool | None = None
    source: str | None = None
    level: str | None = None
    status: str | None = None
    opened_at: int | None = None
    complainant_name: str | None = None
    complainant_phone: str | None = None
    complainant_id_number: str | None = None
    # --- #17 incidents --- (server-set: a case opened from or joined by an incident)
    incident_id: str | None = None
    collective_incident: bool | None = None
    # --- #17 cases --- derived by the server (shared_schema.cases; ``derived_field`` on a push)
    first_receiver_id: str | None = None
    route: str | None = None
    route_reason: str | None = None
    handled_by: str | None = None
    amount_advanced: float | None = None
    workers_advanced: int | None = None
    advanced_by_source: dict[str, float] | None = None
    investigation_records: int | None = None
    investigation_outcome: str | None = None
    transfer_to: str | None = None
    referral_target: str | None = None
    complainant_reply: str | None = None
    reply_date: str | None = None
    replied_at: int | None = None


class CaseEvent(Record, kw_only=True):
    case_id: str | None = None
    kind: str | None = None
    note: str | None = None
    amount_recovered: float | None = None
    workers_paid: int | None = None
    evidence: list[str] = []
    callback_note: str | None = None
    referral_target: str | None = None
    # --- #17 cases --- (shared_schema.cases: 调查, exits, advances, reply)
    investigation_kind: str | None = None
    investigation_outcome: str | None = None
    transfer_to: str | None = None
    advance_source: str | None = None
    amount_advanced: float | None = None
    workers_advanced: int | None = None
    reply_date: str | None = None


# --- #17 incidents ---
class Incident(Record, kw_only=True):
    """A collective incident (群体性讨薪/突发事件) reported from the phone
    (``shared_schema.incidents``). Insert-only: a report is a fact."""

    kind: str | None = None
    site_id: str | None = None
    village_id: str | None = None
    place: str | None = None
    headcount: int | None = None
    occurred_at: int | None = None  # unix ms, as the reporter gave it
    on_scene: str | None = None  # what was done on scene
    brought_in: list[str] = []  # REFERRAL_TARGETS codes
    attach_case_id: str | None = None  # an existing case the report joins
    # set by the server
    case_id: str | None = None
    alert_id: str | None = None
    reporter_id: str | None = None


class Alert(Record, kw_only=True):
    """An alert the server raises for every office and leader account; made
    only by the server, never by a device."""

    kind: str | None = None
    incident_id: str | None = None
    case_id: str | None = None
    site_id: str | None = None
    village_id: str | None = None
    place: str | None = None
    headcount: int | None = None
    occurred_at: int | None = None
    raised_at: int | None = None
    acknowledged_by: dict[str, int] = {}  # user id -> when (server time)
# --- #17 warnings ---
RiskLevel = Literal["none", "medium", "high"]
RiskWarningState = Literal["open", "handled"]
ReinspectionState = Literal["open", "closed", "extended"]


class RiskWarning(Record, kw_only=True):
    """An entry of the office risk list (农民工工资支付监控预警), made by the
    server when a submitted inspection's answers reveal risk
    (``shared_schema.risk``). Every field is the server's."""

    site_id: str | None = None
    village_id: str | None = None
    inspection_id: str | None = None
    inspector_id: str | None = None
    level: RiskLevel | None = None
    reasons: list[dict[str, Any]] = []
    raised_at: int | None = None
    state: RiskWarningState | None = None
    handled_by: str | None = None
    handled_at: int | None = None
    handled_note: str | None = None
    case_id: str | None = None


class Reinspection(Record, kw_only=True):
    """A 复查 task: the inspection's open rectification items to be checked
    again by ``due_date`` (a China date) by the responsible inspector."""

    site_id: str | None = None
    village_id: str | None = None
    inspection_id: str | None = None
    responsible_id: str | None = None
    items: list[str] = []
    rectification: str | None = None
    due_date: str | None = None
    state: ReinspectionState | None = None
    history: list[dict[str, Any]] = []
    closed_by: str | None = None
    closed_at: int | None = None


ENTITY_TYPES: dict[str, type[Record]] = {
    "village": Village,
    "department": Department,
    "user": User,
    "checklist_template": ChecklistTemplateRecord,
    "work_calendar": WorkCalendarRecord,
    "site": Site,
    "inspection": Inspection,
    "photo": Photo,
    "case": WageCase,
    "case_event": CaseEvent,
    # --- #17 incidents ---
    "incident": Incident,
    "alert": Alert,
    # --- #17 warnings ---
    "risk_warning": RiskWarning,
    "reinspection": Reinspection,
}
REFERENCE_ENTITIES = frozenset({"village", "department", "user", "checklist_template",
                                "work_calendar"})
INSERT_ONLY_ENTITIES = frozenset({"photo", "case_event"})
# --- #17 incidents --- (an alert is the server's: a device's insert is refused)
INSERT_ONLY_ENTITIES |= {"incident", "alert"}

#: Entities only the server writes (#17 warnings): no device or console mutation.
SERVER_ENTITIES = frozenset({"alert", "risk_warning", "reinspection"})

# --- #17 cases ---


class Setting(Record, kw_only=True):
    """An office setting as reference data every device pulls; ``case_routing``
    holds the routing thresholds (``shared_schema.cases.RoutingThresholds``)."""

    body: dict[str, Any] = {}


ENTITY_TYPES["setting"] = Setting
REFERENCE_ENTITIES = REFERENCE_ENTITIES | {"setting"}
# --- end #17 cases ---
PERSONAL_FIELDS = ("complainant_name", "complainant_phone", "complainant_id_number")
#: Fields every record carries that a device never writes directly.
SYSTEM_FIELDS = frozenset({"id", "created_at", "updated_at", "deleted"})


class FieldTypeError(ValueError):
    def __init__(self, message: str, path: str) -> None:
        super().__init__(message)
        self.path = path


def check_fields(entity: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Type-check a partial field map against ``entity``'s record type.

    Returns only the known fields, normalised (e.g. ints for floats kept as
    given); unknown fields are dropped, as the protocol says. Raises
    ``FieldTypeError`` with a ``$.fields.x`` path on a wrong type.
    """
    record_type = ENTITY_TYPES[entity]
    known = {k: v for k, v in fields.items() if k in record_type.__struct_fields__}
    try:
        record = msgspec.convert(known, record_type)
    except msgspec.ValidationError as exc:
        text = str(exc)
        path = text.rsplit(" - at `", 1)[1].rstrip("`") if " - at `" in text else "$"
        raise FieldTypeError(text, path.replace("$", "$.fields", 1)) from None
    built = _plain_builtins(entity, record)
    if built is None:
        # Through JSON, not ``to_builtins``: that keeps tuples as tuples, and a
        # tuple never equals the list the store gives back, so an unchanged value
        # would look changed (and get a new revision) on every write; JSON also
        # writes NaN and infinities as null.
        built = msgspec.json.decode(msgspec.json.encode(record))
    return {k: built.get(k) for k in known}


_PLAIN_SCALARS = frozenset({str, int, bool, type(None)})
_INF = float("inf")


def _float_fields(record_type: type[Record]) -> tuple[str, ...]:
    hints = typing.get_type_hints(record_type)
    return tuple(name for name in record_type.__struct_fields__
                 if hints[name] is float or float in typing.get_args(hints[name]))


#: Entities whose record type holds no ``Any`` but an inspection's answers,
#: with their float fields (the only values ``to_builtins`` and JSON differ on
#: there: NaN and infinities).
_PLAIN_FLOATS: dict[str, tuple[str, ...]] = {
    name: _float_fields(t) for name, t in ENTITY_TYPES.items()
    if name not in ("checklist_template", "work_calendar")
}


def _plain_builtins(entity: str, record: Record) -> dict[str, Any] | None:
    """``record`` as JSON would give it back, by ``to_builtins`` (one pass in C)
    when that is provably the same: no NaN or infinity in a float field and
    every answer and value of an inspection a str, int, bool, None or finite
    float. ``None`` otherwise (the caller goes through JSON)."""
    floats = _PLAIN_FLOATS.get(entity)
    if floats is None:
        return None
    built = msgspec.to_builtins(record)
    for name in floats:
        v = built.get(name)
        if v is not None and (v != v or v == _INF or v == -_INF):
            return None
    answers = built.get("answers") if entity == "inspection" else None
    if answers:
        plain = _PLAIN_SCALARS
        for a in answers.values():
            if "value" not in a and type(a.get("answer")) is str:
                continue  # the usual answer: a word, no value
            for v in (a.get("answer"), a.get("value")):
                if type(v) not in plain and not (
                        type(v) is float and v == v and v != _INF and v != -_INF):
                    return None
    return built
