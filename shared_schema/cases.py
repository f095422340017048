"""The wage-arrears case (欠薪案件) state machine — pure rules.

A case's ``status`` and ``level`` are never written directly: they are the
fold, in HLC order, of the case's events over its initial state. Each event
``kind`` is allowed from some statuses and levels, for some roles, and needs
some fields. See docs/cases.md for the diagram.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Iterable

from shared_schema.errors import CodedError
from shared_schema.roles import FIELD_ROLES, OFFICE_ROLES

# Statuses
REGISTERED = "registered"  # 已登记: waiting to be accepted (5 working days)
ACCEPTED = "accepted"  # 已受理: being handled at its level
RESOLVED = "resolved"  # 已解决: paid, waiting for closure evidence
CLOSED = "closed"  # 已销号
REFERRED = "referred"  # 已移送: district inspectorate or police
DISMISSED = "dismissed"  # 不予受理/转办: outside remit, over 2 years, in arbitration

STATUSES = (REGISTERED, ACCEPTED, RESOLVED, CLOSED, REFERRED, DISMISSED)
FINAL_STATUSES = frozenset({CLOSED, REFERRED, DISMISSED})

# Levels: 小案件不出村，大案件不出镇
LEVELS = ("village", "township", "leading_group", "tackle_team", "district")

FIELD = FIELD_ROLES
HANDLERS = FIELD + ("office",)

#: Routing thresholds for a new case: at or above any of them it starts at the township.
ROUTE_WORKERS = 10
ROUTE_AMOUNT = 100_000


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


TRANSITIONS: dict[str, Transition] = {
    t.kind: t
    for t in (
        Transition("accept", HANDLERS, (REGISTERED,), to_status=ACCEPTED, label_zh="受理"),
        Transition("dismiss", ("office",), (REGISTERED,), to_status=DISMISSED,
                   requires=("note",), label_zh="不予受理/转办"),
        Transition("escalate", HANDLERS, (REGISTERED, ACCEPTED), ("village",),
                   to_status=ACCEPTED, to_level="township", requires=("note",),
                   label_zh="上报镇级处置"),
        Transition("request_leading_group", ("sector_inspector", "office"), (ACCEPTED,),
                   ("township",), to_level="leading_group", requires=("note",),
                   label_zh="提请领导小组"),
        Transition("approve_escalation", ("leader",), (ACCEPTED,), ("leading_group",),
                   to_level="tackle_team", label_zh="领导小组批准，交攻坚组"),
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
    )
}
EVENT_KINDS = tuple(TRANSITIONS)


@dataclass(frozen=True, slots=True)
class CaseState:
    status: str = REGISTERED
    level: str = "village"
    extended: bool = False
    amount_recovered: float = 0.0
    workers_paid: int = 0
    accepted_at: int | None = None
    resolved_at: int | None = None
    closed_at: int | None = None


def route_level(fields: dict[str, Any]) -> str:
    """Where a new case starts. Big or collective cases, or cases with no
    village, go to the township; small ones stay in the village."""
    workers = fields.get("workers_owed") or 0
    amount = fields.get("amount_owed") or 0
    if (
        not fields.get("village_id")
        or fields.get("collective_risk")
        or workers >= ROUTE_WORKERS
        or amount >= ROUTE_AMOUNT
    ):
        return "township"
    return "village"


def initial_state(fields: dict[str, Any]) -> CaseState:
    return CaseState(level=route_level(fields))


def _has(fields: dict[str, Any], name: str) -> bool:
    if "|" in name:
        return any(_has(fields, n) for n in name.split("|"))
    value = fields.get(name)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value > 0
    return bool(value.strip()) if isinstance(value, str) else bool(value)


def allowed_kinds(state: CaseState, role: str) -> list[str]:
    """The event kinds this role may add to a case in this state."""
    return [
        t.kind
        for t in TRANSITIONS.values()
        if role in t.roles
        and state.status in t.from_status
        and (t.from_level is None or state.level in t.from_level)
        and not (t.kind == "extend" and state.extended)
    ]


def apply_event(
    state: CaseState, kind: str, role: str, fields: dict[str, Any], at_ms: int | None = None
) -> CaseState:
    """The state after one event, or ``CaseRuleError`` with a stable code."""
    t = TRANSITIONS.get(kind)
    if t is None:
        raise CaseRuleError("unknown_event_kind", f"unknown case event kind {kind!r}", kind=kind)
    if role not in t.roles:
        raise CaseRuleError(
            "role_not_allowed", f"role {role} may not '{kind}' a case",
            kind=kind, role=role, allowed_roles=list(t.roles),
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
    for name in ("amount_recovered", "workers_paid"):
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
    return new


def fold(
    initial: CaseState, events: Iterable[tuple[str, str, dict[str, Any], int | None]]
) -> CaseState:
    """Fold ``(kind, role, fields, at_ms)`` events, already in HLC order."""
    state = initial
    for kind, role, fields, at_ms in events:
        state = apply_event(state, kind, role, fields, at_ms)
    return state
