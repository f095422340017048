"""Plain-Python state for the office console (no Flet here): filters and
their query parameters, review and conflict-resolution request bodies, the
case transitions a role may take, and the dashboard's series. The views
only bind these; the tests drive them without a server."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from shared_schema.cases import STATUSES, TRANSITIONS, CaseState, allowed_kinds

from .viewmodels import CHINA, UiError

OFFICE_ROLES = ("office", "leader")
REVIEW_DECISIONS = ("approved", "has_issues", "rejected")
REVIEW_STATES = ("pending", "approved", "has_issues", "rejected")
SIX_SYSTEMS = ("real_name", "deposit", "account", "bank_payroll", "notice_board",
               "monthly_full_pay")
RATE_KEYS = ("deposit_rate", "account_rate", "real_name_rate", "bank_payroll_rate",
             "notice_board_rate", "monthly_full_pay_rate")
# event kinds whose form needs more than a note
EVENT_FIELDS: dict[str, tuple[str, ...]] = {
    "payment": ("amount_recovered", "workers_paid", "note"),
    "refer": ("referral_target", "note"),
    "close": ("evidence", "callback_note", "note"),
}


def is_office(role: str | None) -> bool:
    """Whether this role gets the office console instead of the field screens."""
    return role in OFFICE_ROLES


def month_of(ms: int | None) -> str | None:
    if not ms:
        return None
    return dt.datetime.fromtimestamp(ms / 1000, CHINA).strftime("%Y-%m")


def this_month(now: dt.datetime | None = None) -> str:
    return (now or dt.datetime.now(CHINA)).strftime("%Y-%m")


def months_back(month: str, n: int) -> list[str]:
    """``n`` months ending with ``month``, oldest first."""
    y, m = (int(p) for p in month.split("-"))
    out = []
    for _ in range(n):
        out.append(f"{y:04d}-{m:02d}")
        m -= 1
        if m == 0:
            y, m = y - 1, 12
    return out[::-1]


# --------------------------------------------------------------------------------------
# Review queue


@dataclass
class ReviewFilters:
    review_state: str | None = "pending"
    village: str | None = None
    kind: str | None = None
    state: str | None = "submitted"

    def params(self) -> dict[str, Any]:
        """The query string of ``GET /api/v1/office/inspections``."""
        out = {"state": self.state, "review_state": self.review_state,
               "village": self.village, "kind": self.kind}
        return {k: v for k, v in out.items() if v}


def review_body(decision: str, comment: str) -> dict[str, Any]:
    """``POST …/review``; a comment is required unless approving."""
    if decision not in REVIEW_DECISIONS:
        raise UiError("invalid_decision", f"unknown review decision {decision!r}")
    comment = (comment or "").strip()
    if decision != "approved" and not comment:
        raise UiError("comment_required", "say what is wrong")
    return {"state": decision, "comment": comment}


def answer_text(entry: Any) -> str:
    """One answer as shown in the review table."""
    if entry is None:
        return "—"
    if isinstance(entry, dict):
        ans = entry.get("answer")
        if isinstance(ans, dict):
            ans = " / ".join(f"{k}:{v}" for k, v in ans.items())
        text = "—" if ans is None else str(ans)
        if entry.get("value") not in (None, ""):
            text += f" ({entry['value']})"
        if entry.get("note"):
            text += f" · {entry['note']}"
        return text
    return str(entry)


def side_by_side(detail: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    """Rows ``(item, this inspection, previous inspection, changed)``."""
    now = (detail.get("inspection") or {}).get("answers") or {}
    prev = ((detail.get("previous") or {}).get("answers")) or {}
    rows = []
    for code in sorted(set(now) | set(prev)):
        a, b = answer_text(now.get(code)), answer_text(prev.get(code)) if prev else "—"
        rows.append((code, a, b, bool(prev) and a != b))
    return rows


@dataclass
class ReviewQueueVM:
    filters: ReviewFilters = field(default_factory=ReviewFilters)
    items: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0

    def load(self, client: Any) -> None:
        page = client.inspections(**self.filters.params(), limit=200)
        self.items, self.total = page["items"], page["page"]["total"]

    def village_options(self, villages: list[dict[str, Any]]) -> list[tuple[str, str]]:
        return [(v["id"], v.get("name") or v["id"]) for v in villages]


# --------------------------------------------------------------------------------------
# Conflicts


def parse_custom(text: str, like: Any) -> Any:
    """A typed-in corrected value, shaped like the values in conflict."""
    text = (text or "").strip()
    if text == "":
        raise UiError("value_required", "enter the corrected value")
    if isinstance(like, bool):
        if text.lower() in ("true", "yes", "是", "1"):
            return True
        if text.lower() in ("false", "no", "否", "0"):
            return False
        raise UiError("invalid_value", "expected yes or no")
    if isinstance(like, int):
        try:
            return int(text)
        except ValueError:
            raise UiError("invalid_value", "expected a whole number") from None
    if isinstance(like, float):
        try:
            return float(text)
        except ValueError:
            raise UiError("invalid_value", "expected a number") from None
    if isinstance(like, (dict, list)):
        try:
            return json.loads(text)
        except ValueError:
            raise UiError("invalid_value", "expected JSON") from None
    return text


def resolve_body(conflict: dict[str, Any], choice: str, custom: str = "") -> dict[str, Any]:
    """``POST …/resolve``: pick the winner, the other value, or a corrected one."""
    if choice in ("winner", "loser"):
        return {"choice": choice}
    if choice == "custom":
        like = conflict.get("winner_value")
        if like is None:
            like = conflict.get("loser_value")
        return {"choice": "custom", "value": parse_custom(custom, like)}
    raise UiError("invalid_choice", f"unknown choice {choice!r}")


def show_value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


# --------------------------------------------------------------------------------------
# Cases


@dataclass
class CaseFilters:
    status: str | None = None
    level: str | None = None
    village: str | None = None
    overdue: bool = False

    def params(self) -> dict[str, Any]:
        out: dict[str, Any] = {"status": self.status, "level": self.level,
                               "village": self.village}
        if self.overdue:
            out["overdue"] = "true"
        return {k: v for k, v in out.items() if v}


def case_state(case: dict[str, Any]) -> CaseState:
    return CaseState(status=case.get("status") or "registered",
                     level=case.get("level") or "village",
                     extended=bool(case.get("extended")))


def transitions_for(case: dict[str, Any], role: str) -> list[str]:
    """The events this role may add to this case (the shared state machine,
    the same the server applies); leaders alone approve escalations."""
    return allowed_kinds(case_state(case), role)


def event_fields(kind: str) -> tuple[str, ...]:
    """The form fields for an event kind."""
    if kind in EVENT_FIELDS:
        return EVENT_FIELDS[kind]
    return ("note",) if "note" in TRANSITIONS[kind].requires else ("note",)


def event_body(kind: str, values: dict[str, str]) -> dict[str, Any]:
    """``POST /api/v1/cases/{id}/events`` from the form's text values."""
    body: dict[str, Any] = {"kind": kind}
    for name, raw in values.items():
        raw = (raw or "").strip()
        if not raw:
            continue
        if name == "amount_recovered":
            body[name] = float(parse_custom(raw, 0.0))
        elif name == "workers_paid":
            body[name] = parse_custom(raw, 0)
        elif name == "evidence":
            body[name] = [s.strip() for s in raw.replace(",", " ").split() if s.strip()]
        else:
            body[name] = raw
    return body


def is_overdue(view: dict[str, Any]) -> bool:
    return bool((view.get("deadlines") or {}).get("overdue"))


# --------------------------------------------------------------------------------------
# Dashboard


def cases_by_village_status(cases: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """``{village name: {status: count}}`` from ``GET /cases`` items."""
    out: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for view in cases:
        case = view.get("case") or {}
        village = view.get("village_name") or "—"
        out[village][case.get("status") or "registered"] += 1
    return {v: {s: out[v][s] for s in STATUSES if out[v].get(s)} for v in sorted(out)}


def amounts_by_month(cases: list[dict[str, Any]]) -> dict[str, tuple[float, float]]:
    """``{YYYY-MM: (owed, recovered)}`` by the month each case was opened."""
    out: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for view in cases:
        case = view.get("case") or {}
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
        rec = row if isinstance(row, dict) else dict(zip(keys, row))
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


def inspections_vs_plan(summaries: dict[str, dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """``{YYYY-MM: (projects inspected, plan)}``: the plan is every active
    construction project at least once a month."""
    out = {}
    for month, s in summaries.items():
        totals = s.get("totals") or {}
        out[month] = (int(totals.get("projects_inspected") or 0), int(totals.get("projects") or 0))
    return out
