"""The case ledger's filters and event bodies, the dashboard's series and
overdue panel, and the intake form (hotline, national platform, walk-in)."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, TypeVar

import msgspec

from field_app.core.errors import DeviceError, ServerError
from shared_schema.case_sources import SOURCE_CODES
from shared_schema import cases as case_rules
from shared_schema.office import (CaseDetail, CaseEventRequest, CaseIntake, CaseRoutingRequest,
                                  CaseView)
from shared_schema.cases import STATUSES, TRANSITIONS, CaseState, allowed_kinds

from ...kit.rules import CHINA, UiError, parse_intake
from .review import EVENT_FIELDS, SIX_SYSTEMS, month_of, parse_custom

T = TypeVar("T")

# --------------------------------------------------------------------------------------
# Cases


@dataclass
class CaseFilters:
    status: str | None = None
    level: str | None = None
    village: str | None = None
    overdue: bool = False
    q: str = ""  # search: title, employer (and complainant, for the office)

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status, "level": self.level,
                               "village": self.village, "q": (self.q or "").strip()}
        if self.overdue:
            out["overdue"] = "true"
        return {k: v for k, v in out.items() if v}


def case_state(case: dict[str, Any]) -> CaseState:
    return CaseState(status=case.get("status") or "registered",
                     level=case.get("level") or "village",
                     extended=bool(case.get("extended")),
                     route=case.get("route") or case_rules.ROUTE_LOCAL)


#: #17 events' form fields (in order), beside ``review.EVENT_FIELDS``.
LIFECYCLE_FIELDS: dict[str, tuple[str, ...]] = {
    "investigation_record": ("investigation_kind", "note"),
    "investigation_outcome": ("investigation_outcome", "note"),
    "transfer": ("transfer_to", "note"),
    "refer_procedure": ("referral_target", "note"),
    "advance_payment": ("advance_source", "amount_advanced", "workers_advanced", "note"),
    "reply": ("reply_date", "note"),
}
#: Events that may name attached files (photos or PDFs by sha256, ``evidence``).
ATTACHING_EVENTS = frozenset({"investigation_record"})
#: Event fields that take a code: their i18n family (the names are the shared labels).
CODE_FAMILY = {"referral_target": "referral", "investigation_kind": "inv_kind",
               "investigation_outcome": "inv_outcome", "advance_source": "advance"}
_CODES: dict[str, tuple[str, ...]] = {
    "referral_target": tuple(case_rules.REFERRAL_TARGETS),
    "investigation_kind": tuple(case_rules.INVESTIGATION_KINDS),
    "investigation_outcome": tuple(case_rules.INVESTIGATION_OUTCOMES),
    "advance_source": tuple(case_rules.ADVANCE_SOURCES),
}


def event_choices(kind: str, name: str) -> tuple[str, ...]:
    """The codes a coded field offers for ``kind`` (empty: a text field)."""
    if kind == "refer_procedure" and name == "referral_target":
        return case_rules.PROCEDURE_TARGETS
    return _CODES.get(name, ())


def code_text(t: Any, name: str, value: Any) -> str:
    """A coded value for people; an old free-text referral as it was typed."""
    family = CODE_FAMILY.get(name)
    if family and t.has(f"{family}.{value}"):
        return t(f"{family}.{value}")
    return str(value)


def routing_body(workers: str, amount: str) -> CaseRoutingRequest:
    """``PUT /api/v1/office/settings/case-routing`` from the form; the same
    checks as the server (whole workers 1–10,000; 1–10⁹ yuan)."""
    try:
        w = int((workers or "").strip())
        a = float((amount or "").replace(",", "").strip())
    except ValueError:
        raise UiError("not_a_number", "thresholds must be numbers") from None
    try:
        t = case_rules.check_thresholds({"workers": w, "amount": a})
    except case_rules.CaseRuleError as exc:
        raise UiError(exc.code, exc.message, **exc.details) from None
    return CaseRoutingRequest(workers=t.workers, amount=t.amount)


def transitions_for(case: dict[str, Any], role: str) -> list[str]:
    """The events this role may add to this case (the shared state machine,
    the same the server applies); leaders alone approve escalations."""
    return allowed_kinds(case_state(case), role)


def event_fields(kind: str) -> tuple[str, ...]:
    """The form fields for an event kind."""
    if kind in LIFECYCLE_FIELDS:
        return LIFECYCLE_FIELDS[kind]
    if kind in EVENT_FIELDS:
        return EVENT_FIELDS[kind]
    return ("note",) if "note" in TRANSITIONS[kind].requires else ("note",)


def event_body(kind: str, values: dict[str, str]) -> CaseEventRequest:
    """``POST /api/v1/cases/{id}/events`` from the form's text values."""
    body: dict[str, Any] = {"kind": kind}
    for name, raw in values.items():
        raw = (raw or "").strip()
        if not raw:
            continue
        if name in ("amount_recovered", "amount_advanced"):
            body[name] = float(parse_custom(raw.replace(",", ""), 0.0))  # 12,000 as written
        elif name in ("workers_paid", "workers_advanced"):
            body[name] = parse_custom(raw, 0)
        elif name == "evidence":
            body[name] = [s.strip() for s in raw.replace(",", " ").split() if s.strip()]
        else:
            body[name] = raw
    try:
        case_rules.check_new_event(kind, body)
    except case_rules.CaseRuleError as exc:
        raise UiError(exc.code, exc.message, **exc.details) from None
    return typed_body(body, CaseEventRequest)


def typed_body(body: dict[str, Any], type_: type[T]) -> T:
    """A request body as its ``shared_schema.office`` type; a value of the
    wrong type is refused here, as the server would (``invalid_body``)."""
    try:
        return msgspec.convert(body, type_)
    except msgspec.ValidationError as exc:
        raise UiError("invalid_body", str(exc)) from None


def period_text(t: Any, case: dict[str, Any]) -> str | None:
    """The months wages are owed for (``2025-09 至 2025-11``), or None."""
    start, end = case.get("period_from"), case.get("period_to")
    if not start and not end:
        return None
    return t("office.cases.period_range", start=start or "—", end=end or "—")


def is_overdue(view: CaseView | CaseDetail) -> bool:
    return view.deadlines.overdue


# --------------------------------------------------------------------------------------
# Dashboard


def cases_by_village_status(cases: list[CaseView]) -> dict[str, dict[str, int]]:
    """``{village name: {status: count}}`` from ``GET /cases`` items."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for view in cases:
        case = view.case
        village = view.village_name or "—"
        out[village][case.get("status") or "registered"] += 1
    return {v: {s: out[v][s] for s in STATUSES if out[v].get(s)} for v in sorted(out)}


def amounts_by_month(cases: list[CaseView]) -> dict[str, tuple[float, float]]:
    """``{YYYY-MM: (owed, recovered)}`` by the month each case was opened."""
    out: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for view in cases:
        case = view.case
        month = month_of(case.get("opened_at") or case.get("created_at")) or "—"
        out[month][0] += float(case.get("amount_owed") or 0)
        out[month][1] += float(case.get("amount_recovered") or 0)
    return {m: (v[0], v[1]) for m, v in sorted(out.items())}


def six_rates_by_kind(projects: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    """六项制度 rates per project kind (``gov`` government-invested or
    ``private``) from the summary's 项目台账 table: the share of yes among the
    known yes/no values of each system (``None`` when nothing is known)."""
    keys = [c["key"] for c in projects.get("columns") or []]
    counts: dict[str, dict[str, list[int]]] = defaultdict(lambda: {k: [0, 0] for k in SIX_SYSTEMS})
    for row in projects.get("rows") or []:
        rec = row if isinstance(row, dict) else dict(zip(keys, row, strict=False))
        gov = rec.get("gov_invested")
        group = "gov" if gov in (True, "是") else "private"
        for k in SIX_SYSTEMS:
            v = rec.get(k)
            if v in (True, "是"):
                counts[group][k][0] += 1
                counts[group][k][1] += 1
            elif v in (False, "否"):
                counts[group][k][1] += 1
    return {g: {k: (c[k][0] / c[k][1] if c[k][1] else None) for k in SIX_SYSTEMS}
            for g, c in sorted(counts.items())}


def nice_scale(top: float, ticks: int = 5, integer: bool = False) -> tuple[float, float]:
    """A chart's y axis with round ticks: ``(max_y, step)`` with ``step`` 1, 2,
    2.5 or 5 times a power of ten, about ``ticks`` steps, ``max_y`` the first
    multiple of ``step`` at or above ``top`` (whole steps for counts)."""
    import math

    if not top or top <= 0 or not math.isfinite(top):
        return (float(ticks) if integer else 1.0), 1.0 if integer else 0.2
    raw = top / ticks
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    if integer:
        step = max(1.0, float(math.ceil(step)))
    steps = math.ceil(round(top / step, 9))
    return steps * step, step


def ticks_of(max_y: float, step: float) -> list[float]:
    """The tick values 0, step, …, max_y."""
    n = int(round(max_y / step))
    return [round(i * step, 9) for i in range(n + 1)]


def percent(rate: float | None) -> float:
    """A rate (0..1) as a chart percentage, capped to 0..100."""
    return 0.0 if rate is None else max(0.0, min(100.0, rate * 100))


def inspections_vs_plan(summaries: dict[str, dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """``{YYYY-MM: (projects inspected, plan)}``: the plan is every active
    construction project at least once a month."""
    out = {}
    for month, s in summaries.items():
        totals = s.get("totals") or {}
        out[month] = (int(totals.get("projects_inspected") or 0), int(totals.get("projects") or 0))
    return out


@dataclass(frozen=True)
class OverdueCase:
    """One row of the dashboard's most-overdue list."""
    case_id: str
    title: str
    village: str
    due: str  # YYYY-MM-DD: the open deadline that has passed
    working_days_overdue: int


@dataclass
class OverduePanel:
    """The dashboard's overdue panel: how many cases are overdue and due soon
    (in all, and by village), and the most overdue few. Built from ``GET
    /cases?overdue=true`` and ``GET /cases?due_soon=true`` (``load``), so the
    counts are the server's (its ``page.total``), over its working-day calendar."""
    overdue: int = 0
    due_soon: int = 0
    #: ``{village name: (overdue, due soon)}``, the most overdue villages first.
    by_village: dict[str, tuple[int, int]] = field(default_factory=dict)
    top: list[OverdueCase] = field(default_factory=list)

    TOP = 5

    @classmethod
    def build(cls, overdue: list[CaseView], due_soon: list[CaseView],
              overdue_total: int | None = None, due_soon_total: int | None = None,
              top: int | None = None) -> "OverduePanel":
        """From ``GET /cases`` items (each already overdue, or due soon); the
        totals default to the lists' lengths."""
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for view in overdue:
            counts[view.village_name or "—"][0] += 1
        for view in due_soon:
            counts[view.village_name or "—"][1] += 1
        by_village = {v: (c[0], c[1]) for v, c in sorted(
            counts.items(), key=lambda kv: (-kv[1][0], -kv[1][1], kv[0]))}
        rows = sorted((overdue_row(v) for v in overdue),
                      key=lambda r: (-r.working_days_overdue, r.due, r.title, r.case_id))
        return cls(overdue=len(overdue) if overdue_total is None else overdue_total,
                   due_soon=len(due_soon) if due_soon_total is None else due_soon_total,
                   by_village=by_village, top=rows[:cls.TOP if top is None else top])

    @classmethod
    def load(cls, client: Any, top: int | None = None) -> "OverduePanel":
        """Two calls to the case ledger with its ``overdue`` / ``due_soon`` filters."""
        late = client.cases(overdue=True)
        soon = client.cases(due_soon=True)
        return cls.build(late.items, soon.items, late.page.total, soon.page.total, top)


def overdue_row(view: CaseView) -> OverdueCase:
    """A ``GET /cases`` item as a most-overdue row: the open deadline (accept
    while registered, conclude once accepted) and how many working days have
    passed since it (``-working_days_left``; 0 when only a weekend or holiday
    has passed)."""
    case, d = view.case, view.deadlines
    due = (d.conclude_due if case.get("status") == "accepted" else None) \
        or d.accept_due or d.conclude_due or "—"
    left = d.working_days_left
    return OverdueCase(case_id=case.get("id") or "",
                       title=case.get("title") or case.get("employer") or "—",
                       village=view.village_name or "—", due=str(due),
                       working_days_overdue=max(0, -int(left)) if isinstance(left, int) else 0)


# --------------------------------------------------------------------------------------
# Case intake (hotline, national platform, walk-in)

#: ``CaseIntake.source`` values (the server's ``IntakeSource``: the shared
#: list, shared_schema.case_sources), hotlines first.
_HOTLINES = ("12333", "12345", "hotline_65650178", "hotline_65650431", "hotline")
INTAKE_SOURCES = _HOTLINES + tuple(c for c in SOURCE_CODES if c not in _HOTLINES)
SECTORS = ("construction", "non_construction")
#: The typed fields of the intake form, in the order the form shows them.
INTAKE_TEXT = ("title", "employer", "employer_address", "workers_owed", "amount_owed",
               "period_from", "period_to", "work_done", "complainant_name",
               "complainant_phone", "complainant_id_number", "received_at")
INTAKE_CHOICES = ("source", "sector", "village_id", "site_id")


def parse_local_time(text: str) -> int:
    """``YYYY-MM-DD HH:MM`` (or a date alone) in 重庆 time → unix ms."""
    text = (text or "").strip()
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            when = dt.datetime.strptime(text, fmt)
        except ValueError:
            continue
        return int(when.replace(tzinfo=CHINA).timestamp() * 1000)
    raise UiError("datetime_format", "expected YYYY-MM-DD HH:MM")


def error_field(details: dict[str, Any], fields: tuple[str, ...]) -> str | None:
    """The form field a server error is about: ``path`` (``$.amount_owed``),
    ``field``, the first of ``missing`` (``title|employer``), or a detail
    named like a field (``village_id``)."""
    path = details.get("path")
    if isinstance(path, str) and path.startswith("$."):
        name = path[2:].split(".")[0].split("[")[0]
        if name in fields:
            return name
    if details.get("field") in fields:
        return str(details["field"])
    for missing in details.get("missing") or []:
        for name in str(missing).split("|"):
            if name in fields:
                return name
    return next((k for k in details if k in fields), None)


@dataclass
class FieldError:
    code: str  # shown as ``err.<code>`` when the table has it
    message: str = ""  # the server's own words, shown beside it


#: Server refusals of one intake field that deserve their own sentence.
FIELD_ERRORS = {("received_at", "invalid_value"): "office.intake.received_future"}


def field_error_words(t: Any, name: str, err: FieldError) -> str:
    """A form error in the console's words: never the server's English
    message (it is logged, and kept on ``FieldError.message``)."""
    key = FIELD_ERRORS.get((name, err.code))
    if key:
        return t(key)
    return t(f"err.{err.code}") if t.has(f"err.{err.code}") else t("office.err.refused")


def blank_intake() -> dict[str, Any]:
    return {**{k: "" for k in INTAKE_TEXT}, "source": "12333", "sector": "construction",
            "village_id": None, "site_id": None, "collective_risk": False}


@dataclass
class IntakeForm:
    """The office intake form. ``values`` holds what was typed, and is never
    cleared by an error: only a successful registration starts a new form."""

    values: dict[str, Any] = field(default_factory=blank_intake)
    errors: dict[str, FieldError] = field(default_factory=dict)
    general: FieldError | None = None  # an error not about one field
    created: CaseDetail | None = None  # the last registered case

    FIELDS = INTAKE_TEXT + INTAKE_CHOICES + ("collective_risk",)

    def set(self, name: str, value: Any) -> None:
        self.values[name] = value

    def body(self) -> dict[str, Any] | None:
        """``CaseIntake`` from the values, or None with ``errors`` set."""
        self.errors, self.general = {}, None
        raw = {k: self.values.get(k) for k in INTAKE_TEXT if k != "received_at"}
        raw.update(sector=self.values.get("sector"), village_id=self.values.get("village_id"),
                   site_id=self.values.get("site_id"))
        fields, errors = parse_intake(raw)
        for name, key in errors.items():
            self.errors[name] = FieldError(key.removeprefix("err."))
        source = self.values.get("source")
        if source not in INTAKE_SOURCES:
            self.errors["source"] = FieldError("required")
        received = (self.values.get("received_at") or "").strip()
        if received:
            try:
                fields["received_at"] = parse_local_time(received)
            except UiError as exc:
                self.errors["received_at"] = FieldError(exc.code)
        if self.errors:
            return None
        if self.values.get("collective_risk"):
            fields["collective_risk"] = True
        return {"source": source, **fields}

    def submit(self, client: Any) -> CaseDetail | None:
        """Register the case; on any refusal the errors are set and the values kept."""
        self.created = None
        body = self.body()
        if body is None:
            return None
        try:
            detail = client.intake(typed_body(body, CaseIntake))
        except DeviceError as exc:
            self.show_error(exc)
            return None
        self.created = detail
        self.values, self.errors, self.general = blank_intake(), {}, None
        return detail

    def show_error(self, exc: DeviceError) -> None:
        err = FieldError(exc.code, exc.message)
        name = error_field(exc.details, self.FIELDS) if isinstance(exc, ServerError) else None
        if name:
            self.errors[name] = err
        else:
            self.general = err
