"""The wage-arrears case (欠薪案件) state machine — pure rules.

A case's ``status`` and ``level`` are never written directly: they are the
fold, in HLC order, of the case's events over its initial state. Each event
``kind`` is allowed from some statuses and levels, for some roles, and needs
some fields. Where a new case starts (``route``) follows the plan's rules
(谁主管谁负责, 属地处置, 小案件不出村，大案件不出镇) with the office's
thresholds (``RoutingThresholds``, the ``setting`` record ``case_routing``).
See docs/cases.md for the tables.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace
from typing import Any, Iterable

from shared_schema.errors import CodedError
from shared_schema.roles import FIELD_ROLES, OFFICE_ROLES
from shared_schema import case_labels  # noqa: F401  (the module, for its other tables)
from shared_schema.case_labels import (  # noqa: F401  (re-exported: the labels live beside)
    ADVANCE_SOURCES,
    HANDLER_LABELS,
    INVESTIGATION_KINDS,
    INVESTIGATION_OUTCOMES,
    LEVEL_LABELS,
    OUTCOME_LABELS,
    PROCEDURE_TARGETS,
    REFERRAL_TARGETS,
    ROUTE_REASONS,
    STATUS_LABELS,
    event_label,
    referral_code,
    referral_label,
    status_label,
)

# Statuses
REGISTERED = "registered"  # 已登记: waiting to be accepted (5 working days)
ACCEPTED = "accepted"  # 已受理: being handled at its level
RESOLVED = "resolved"  # 已解决: paid, waiting for closure evidence
CLOSED = "closed"  # 已销号
REFERRED = "referred"  # 已移送: district inspectorate or police
DISMISSED = "dismissed"  # 不予受理: not accepted (over 2 years, no wage claim…)
TRANSFERRED = "transferred"  # 已转送有关部门: another department's case (首问负责)
REFERRED_PROCEDURE = "referred_procedure"  # 已移送仲裁/诉讼: in arbitration or court

STATUSES = (REGISTERED, ACCEPTED, RESOLVED, CLOSED, REFERRED, DISMISSED, TRANSFERRED,
            REFERRED_PROCEDURE)
FINAL_STATUSES = frozenset({CLOSED, REFERRED, DISMISSED, TRANSFERRED, REFERRED_PROCEDURE})

# Levels: 小案件不出村，大案件不出镇
LEVELS = ("village", "township", "leading_group", "tackle_team", "district")

FIELD = FIELD_ROLES
HANDLERS = FIELD + ("office",)

#: Default routing thresholds for a new case (the office changes them: the
#: ``setting`` record ``case_routing``): at or above either, a case that
#: could stay in the village starts at the township.
ROUTE_WORKERS = 10
ROUTE_AMOUNT = 100_000
#: The reference record holding the office's thresholds (entity ``setting``).
ROUTING_SETTING_ID = "case_routing"
#: Who handles a case at township level and above: the site's supervising
#: department (a construction project) or the labour office (劳保所).
ROUTE_DEPARTMENT = "department"
ROUTE_LOCAL = "local"
#: Working days to accept a case: 5; a collective incident's case the same day (0).
ACCEPT_WORKING_DAYS = 5
INCIDENT_ACCEPT_WORKING_DAYS = 0


class CaseRuleError(CodedError, ValueError):
    """A case rule was broken (a ``ValueError`` too)."""


@dataclass(frozen=True, slots=True)
class Transition:
    kind: str
    roles: tuple[str, ...]
    from_status: tuple[str, ...]
    from_level: tuple[str, ...] | None = None  # None: any level
    to_status: str | None = None  # None: unchanged
    to_level: str | None = None
    requires: tuple[str, ...] = ()
    label_zh: str = ""


#: Kinds a village's grid officer may still add to a case its supervising
#: department handles: first response and 维稳 are recorded, handling is not.
VILLAGE_SUPPORT_KINDS = frozenset({"note", "reply", "investigation_record"})

TRANSITIONS: dict[str, Transition] = {
    t.kind: t
    for t in (
        Transition("accept", HANDLERS, (REGISTERED,), to_status=ACCEPTED, label_zh="受理"),
        Transition("dismiss", ("office",), (REGISTERED,), to_status=DISMISSED,
                   requires=("note",), label_zh="不予受理"),
        Transition("escalate", HANDLERS, (REGISTERED, ACCEPTED), ("village",),
                   to_status=ACCEPTED, to_level="township", requires=("note",),
                   label_zh="上报镇级处置"),
        Transition("request_leading_group", ("sector_inspector", "office"), (ACCEPTED,),
                   ("township",), to_level="leading_group", requires=("note",),
                   label_zh="提请领导小组审定"),
        Transition("approve_escalation", ("leader",), (ACCEPTED,), ("leading_group",),
                   to_level="tackle_team", label_zh="审定同意，交攻坚组处置"),
        Transition("return_escalation", ("leader",), (ACCEPTED,), ("leading_group",),
                   to_level="township", requires=("note",), label_zh="退回镇级处置"),
        Transition("refer", OFFICE_ROLES, (ACCEPTED,),
                   ("township", "leading_group", "tackle_team"), to_status=REFERRED,
                   to_level="district", requires=("note", "referral_target"),
                   label_zh="移送"),
        Transition("payment", HANDLERS, (ACCEPTED,), requires=("amount_recovered|workers_paid",),
                   label_zh="追回欠薪"),
        Transition("extend", OFFICE_ROLES, (ACCEPTED,), requires=("note",),
                   label_zh="延期30个工作日"),
        Transition("resolve", HANDLERS, (ACCEPTED,), requires=("note",), to_status=RESOLVED,
                   label_zh="处置完毕"),
        Transition("reopen", ("office",), (RESOLVED,), to_status=ACCEPTED, requires=("note",),
                   label_zh="重新处置"),
        Transition("close", ("office",), (RESOLVED,), to_status=CLOSED,
                   requires=("evidence", "callback_note"), label_zh="销号"),
        Transition("note", HANDLERS + ("leader",), STATUSES, requires=("note",),
                   label_zh="备注"),
        # 调查: between 受理 and 处置, records (核实情况, 询问笔录, photos) and an outcome.
        Transition("investigation_record", HANDLERS, (ACCEPTED,),
                   requires=("investigation_kind", "note"), label_zh="调查记录"),
        Transition("investigation_outcome", HANDLERS, (ACCEPTED,),
                   requires=("investigation_outcome", "note"), label_zh="调查结论"),
        # Exits: another department's matter (首问负责 passes it on), or a
        # dispute in arbitration or court; both before or after acceptance.
        Transition("transfer", ("office",), (REGISTERED, ACCEPTED), to_status=TRANSFERRED,
                   requires=("transfer_to", "note"), label_zh="转送有关部门"),
        Transition("refer_procedure", ("office",), (REGISTERED, ACCEPTED),
                   to_status=REFERRED_PROCEDURE, requires=("referral_target", "note"),
                   label_zh="移送仲裁/诉讼"),
        Transition("advance_payment", HANDLERS, (ACCEPTED,),
                   requires=("advance_source", "amount_advanced"), label_zh="垫付/先行清偿"),
        # 首问负责: the reply given to the complainant, in any status.
        Transition("reply", HANDLERS, STATUSES, requires=("note",), label_zh="答复反映人"),
    )
}
EVENT_KINDS = tuple(TRANSITIONS)
#: Event fields holding a code, and the codes each takes (``check_new_event``).
CODED_EVENT_FIELDS: dict[str, frozenset[str]] = {
    "investigation_kind": frozenset(INVESTIGATION_KINDS),
    "investigation_outcome": frozenset(INVESTIGATION_OUTCOMES),
    "advance_source": frozenset(ADVANCE_SOURCES),
}
COUNTED_EVENT_FIELDS = ("amount_recovered", "workers_paid", "amount_advanced", "workers_advanced")


@dataclass(frozen=True, slots=True)
class CaseState:
    status: str = REGISTERED
    level: str = "village"
    extended: bool = False
    amount_recovered: float = 0.0  # from the employer
    workers_paid: int = 0
    accepted_at: int | None = None
    resolved_at: int | None = None
    closed_at: int | None = None
    route: str = ROUTE_LOCAL  # who handles it above the village (``route``)
    amount_advanced: float = 0.0  # paid by others first (advance_payment), apart from the above
    workers_advanced: int = 0
    advanced_by_source: tuple[tuple[str, float], ...] = ()
    investigation_records: int = 0
    investigation_outcome: str | None = None
    transfer_to: str | None = None
    referral_target: str | None = None
    complainant_reply: str | None = None
    reply_date: str | None = None
    replied_at: int | None = None

    @property
    def handled_by(self) -> str:
        return handled_by(self.level, self.route)


def handled_by(level: str, route: str) -> str:
    """Who handles a case at ``level``: the village, then the supervising
    department (a construction project's) or the labour office, then the district."""
    if level == "village":
        return "village"
    if level == "district":
        return "district"
    return "department" if route == ROUTE_DEPARTMENT else "labour_office"


# --- routing ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RoutingThresholds:
    """小案件不出村: a case below both stays in the village (if nothing else
    sends it up); the office sets them (``setting`` ``case_routing``)."""

    workers: int = ROUTE_WORKERS
    amount: float = ROUTE_AMOUNT


MAX_THRESHOLD_WORKERS = 10_000
MAX_THRESHOLD_AMOUNT = 1_000_000_000


def check_thresholds(body: dict[str, Any]) -> RoutingThresholds:
    """The thresholds the office sends, or ``invalid_value`` (whole workers
    1–10,000; an amount 1–10⁹ yuan)."""
    workers, amount = body.get("workers"), body.get("amount")
    if isinstance(workers, bool) or not isinstance(workers, int) or \
            not 1 <= workers <= MAX_THRESHOLD_WORKERS:
        raise CaseRuleError("invalid_value", f"workers must be a whole number 1–{MAX_THRESHOLD_WORKERS}",
                            path="$.workers")
    if isinstance(amount, bool) or not isinstance(amount, (int, float)) or \
            not 1 <= amount <= MAX_THRESHOLD_AMOUNT:
        raise CaseRuleError("invalid_value", f"amount must be 1–{MAX_THRESHOLD_AMOUNT} yuan",
                            path="$.amount")
    return RoutingThresholds(workers, float(amount))


def thresholds_from(body: dict[str, Any] | None) -> RoutingThresholds:
    """The thresholds of a stored ``case_routing`` body; the defaults when
    there is none (or it is unreadable)."""
    try:
        return check_thresholds(body) if body else RoutingThresholds()
    except CaseRuleError:
        return RoutingThresholds()


@dataclass(frozen=True, slots=True)
class Route:
    level: str  # where the case starts
    route: str  # ROUTE_DEPARTMENT or ROUTE_LOCAL
    reason: str  # ROUTE_REASONS code


def route(fields: dict[str, Any], site: dict[str, Any] | None = None,
          thresholds: RoutingThresholds | None = None) -> Route:
    """Where a new case starts and who handles it (谁主管谁负责、谁发包谁负责;
    归口管理、属地处置; 小案件不出村，大案件不出镇). ``site``: the case's site
    record, if any; ``thresholds``: the office's (defaults otherwise)."""
    t = thresholds or RoutingThresholds()
    site = site or {}
    # A construction project is known by its site: a complaint that names no
    # site has no supervising department yet and routes by size like any other.
    construction = site.get("kind") == "construction"
    self_built = bool(site.get("village_self_built"))
    project = construction and not self_built
    kind = ROUTE_DEPARTMENT if project and site.get("department_id") else ROUTE_LOCAL
    workers = fields.get("workers_owed") or 0
    amount = fields.get("amount_owed") or 0
    if fields.get("incident_id") or fields.get("collective_incident"):
        return Route("township", kind, "incident")
    if project:
        return Route("township", kind, "construction")
    if site.get("gov_invested"):
        return Route("township", kind, "gov_invested")
    if not (fields.get("village_id") or site.get("village_id")):
        return Route("township", kind, "no_village")
    if fields.get("collective_risk"):
        return Route("township", kind, "collective_risk")
    if workers >= t.workers or amount >= t.amount:
        return Route("township", kind, "large")
    return Route("village", kind, "village_self_built" if self_built else "small")


def route_level(fields: dict[str, Any], site: dict[str, Any] | None = None,
                thresholds: RoutingThresholds | None = None) -> str:
    return route(fields, site, thresholds).level


def initial_state(fields: dict[str, Any], site: dict[str, Any] | None = None,
                  thresholds: RoutingThresholds | None = None) -> CaseState:
    r = route(fields, site, thresholds)
    return CaseState(level=r.level, route=r.route)


def accept_working_days(case: dict[str, Any]) -> int:
    """Working days to accept ``case``: the same day (0) for a collective
    incident's case (``incident_id`` / ``collective_incident``), else 5."""
    if case.get("incident_id") or case.get("collective_incident"):
        return INCIDENT_ACCEPT_WORKING_DAYS
    return ACCEPT_WORKING_DAYS


# --- events ----------------------------------------------------------------------


def _has(fields: dict[str, Any], name: str) -> bool:
    if "|" in name:
        return any(_has(fields, n) for n in name.split("|"))
    value = fields.get(name)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value > 0
    return bool(value.strip()) if isinstance(value, str) else bool(value)


def _role_refused(state: CaseState, kind: str, role: str) -> bool:
    t = TRANSITIONS[kind]
    if role not in t.roles:
        return True
    # 谁主管谁负责: a department's case is handled by it (and the office); the
    # village's grid officer records first response and keeps informed.
    return (role == "grid_officer" and state.handled_by == "department"
            and kind not in VILLAGE_SUPPORT_KINDS)


def allowed_kinds(state: CaseState, role: str) -> list[str]:
    """The event kinds this role may add to a case in this state."""
    return [
        t.kind
        for t in TRANSITIONS.values()
        if not _role_refused(state, t.kind, role)
        and state.status in t.from_status
        and (t.from_level is None or state.level in t.from_level)
        and not (t.kind == "extend" and state.extended)
    ]


def check_new_event(kind: str, fields: dict[str, Any]) -> None:
    """The values a NEW event must have beyond ``apply_event``'s checks (codes
    from the tables, a date), raised as ``invalid_value``. Not re-checked when
    stored events are folded again: an old free-text referral stays readable."""
    for name, codes in CODED_EVENT_FIELDS.items():
        value = fields.get(name)
        if value not in (None, "") and value not in codes:
            raise CaseRuleError("invalid_value", f"{name} must be one of: {', '.join(sorted(codes))}",
                                path=f"$.fields.{name}", allowed=sorted(codes))
    target = fields.get("referral_target")
    if kind in ("refer", "refer_procedure") and target not in (None, ""):
        code = referral_code(target)
        allowed = PROCEDURE_TARGETS if kind == "refer_procedure" else tuple(REFERRAL_TARGETS)
        if code not in allowed:
            raise CaseRuleError("invalid_value",
                                f"referral_target must be one of: {', '.join(allowed)}",
                                path="$.fields.referral_target", allowed=list(allowed))
    date = fields.get("reply_date")
    if date not in (None, "") and not _is_date(date):
        raise CaseRuleError("invalid_value", "reply_date must be a date YYYY-MM-DD",
                            path="$.fields.reply_date")


def _is_date(value: Any) -> bool:
    try:
        return isinstance(value, str) and len(value) == 10 and bool(dt.date.fromisoformat(value))
    except ValueError:
        return False


def apply_event(
    state: CaseState, kind: str, role: str, fields: dict[str, Any], at_ms: int | None = None
) -> CaseState:
    """The state after one event, or ``CaseRuleError`` with a stable code."""
    t = TRANSITIONS.get(kind)
    if t is None:
        raise CaseRuleError("unknown_event_kind", f"unknown case event kind {kind!r}", kind=kind)
    if _role_refused(state, kind, role):
        raise CaseRuleError(
            "role_not_allowed", f"role {role} may not '{kind}' this case",
            kind=kind, role=role, allowed_roles=list(t.roles), handled_by=state.handled_by,
        )
    if state.status not in t.from_status or (
        t.from_level is not None and state.level not in t.from_level
    ):
        raise CaseRuleError(
            "illegal_transition",
            f"'{kind}' is not allowed for a case that is {state.status} at {state.level} level",
            kind=kind, status=state.status, level=state.level,
        )
    if kind == "extend" and state.extended:
        raise CaseRuleError("already_extended", "the deadline may be extended only once", kind=kind)
    missing = [name for name in t.requires if not _has(fields, name)]
    if missing:
        raise CaseRuleError(
            "missing_field", f"'{kind}' needs: {', '.join(missing)}", kind=kind, missing=missing
        )
    for name in COUNTED_EVENT_FIELDS:
        value = fields.get(name)
        if value is not None and value < 0:
            raise CaseRuleError("negative_value", f"{name} cannot be negative", field=name)
    new = state
    if t.to_status:
        new = replace(new, status=t.to_status)
    if t.to_level:
        new = replace(new, level=t.to_level)
    if kind == "accept" or (kind == "escalate" and state.status == REGISTERED):
        new = replace(new, accepted_at=at_ms)
    if kind == "extend":
        new = replace(new, extended=True)
    if kind == "resolve":
        new = replace(new, resolved_at=at_ms)
    if kind == "close":
        new = replace(new, closed_at=at_ms)
    if kind in ("payment", "resolve", "close", "note"):
        new = replace(
            new,
            amount_recovered=new.amount_recovered + float(fields.get("amount_recovered") or 0),
            workers_paid=new.workers_paid + int(fields.get("workers_paid") or 0),
        )
    return _apply_lifecycle(new, kind, fields, at_ms)


def _apply_lifecycle(new: CaseState, kind: str, fields: dict[str, Any],
                     at_ms: int | None) -> CaseState:
    """The derived fields of the investigation, exits, advances and reply."""
    if kind == "investigation_record":
        return replace(new, investigation_records=new.investigation_records + 1)
    if kind == "investigation_outcome":
        return replace(new, investigation_outcome=fields.get("investigation_outcome"))
    if kind == "transfer":
        return replace(new, transfer_to=fields.get("transfer_to"))
    if kind in ("refer", "refer_procedure"):
        target = fields.get("referral_target")
        return replace(new, referral_target=referral_code(target) or target)
    if kind == "advance_payment":
        amount = float(fields.get("amount_advanced") or 0)
        source = str(fields.get("advance_source") or "")
        by = dict(new.advanced_by_source)
        by[source] = by.get(source, 0.0) + amount
        return replace(new, amount_advanced=new.amount_advanced + amount,
                       workers_advanced=new.workers_advanced + int(fields.get("workers_advanced") or 0),
                       advanced_by_source=tuple(sorted(by.items())))
    if kind == "reply":
        return replace(new, complainant_reply=fields.get("note"),
                       reply_date=fields.get("reply_date") or None, replied_at=at_ms)
    return new


def fold(
    initial: CaseState, events: Iterable[tuple[str, str, dict[str, Any], int | None]]
) -> CaseState:
    """Fold ``(kind, role, fields, at_ms)`` events, already in HLC order."""
    state = initial
    for kind, role, fields, at_ms in events:
        state = apply_event(state, kind, role, fields, at_ms)
    return state
