"""Plain-Python state for the office console (no Flet here): filters and
their query parameters, review and conflict-resolution request bodies, the
case transitions a role may take, the case intake form (with the server's
validation errors beside their fields), the site registry and its history,
the audit log, the closure (销号) form with its evidence, and the dashboard's
series. The views only bind these; the tests drive them directly, and
against the real server through ``OfficeClient``."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from field_app.core.errors import DeviceError, ServerError
from field_app.core.photos import process_photo
from shared_schema.case_sources import SOURCE_CODES, source_label
from shared_schema.audit import AUDIT_ACTIONS as AUDIT_ACTIONS  # the audit screen's filter
from shared_schema.field_labels import field_label
from shared_schema.roles import OFFICE_ROLES
from shared_schema.cases import STATUSES, TRANSITIONS, CaseState, allowed_kinds
from shared_schema.hlc import Hlc, HlcError
from shared_schema.servertime import differs

from .field.viewmodels import CHINA, UiError, parse_intake

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


# Names and values in words (no internal keys on screen) ---------------------------------


def item_of(code: str) -> Any:
    """The checklist item with this code in any bundled template, or None."""
    from shared_schema.checklists import load_templates

    for template in load_templates().values():
        item = template.item(code)
        if item is not None:
            return item
    return None


def field_name(entity: str | None, field_: str | None, t: Any) -> str:
    """A field in words: the shared field-label table, a checklist answer
    (``answers.C08``) as its item's code and question."""
    if field_ and field_.startswith("answers."):
        code = field_.split(".", 1)[1]
        item = item_of(code)
        if item is not None:
            return f"{code} {item.label.zh if t.lang == 'zh' else item.label.en}"
        return field_label("inspection", "answers", t.lang)
    return field_label(entity, field_, t.lang)


def _coded(t: Any, prefix: str, value: Any) -> str:
    key = f"{prefix}.{value}"
    return t(key) if isinstance(value, str) and t.has(key) else show_value(value)


def value_words(entity: str | None, field_: str | None, value: Any, t: Any,
                names: dict[str, str] | None = None) -> str:
    """A stored value in words for the screen: 是/否, 六项制度 by name, times as
    dates, codes as their labels, record ids as the names they point at (or
    （其他记录）, never the id)."""
    names = names or {}
    f = field_ or ""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return t("yes") if value else t("no")
    if f == "six_systems" and isinstance(value, dict):
        marks = {True: t("yes"), False: t("no")}
        return " · ".join(f"{t('six.' + k)}：{marks.get(value.get(k), '—')}"
                          for k in SIX_SYSTEMS if k in value) or "—"
    if f.endswith("_at") and isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(value / 1000, CHINA).strftime("%Y-%m-%d %H:%M")
    if f.startswith("answers."):
        return answer_words(t, item_of(f.split(".", 1)[1]), value)
    if f == "source":
        return source_label(str(value), t.lang)
    if f == "kind":
        return _coded(t, "event" if entity in ("case_event", "case") else "kind", value)
    if f == "status":
        return _coded(t, "site_status" if entity == "site" else "status", value)
    if f in ("review_state",):
        return _coded(t, "review", value)
    if f == "state":
        return _coded(t, "office.state", value)
    for name, prefix in (("level", "level"), ("sector", "sector"), ("role", "role")):
        if f == name:
            return _coded(t, prefix, value)
    if f.endswith("_id"):
        return names.get(str(value)) or t("office.value.other_record")
    if f.endswith("_ids") and isinstance(value, list):
        return "、".join(names.get(str(v)) or t("office.value.other_record") for v in value) \
            or "—"
    if isinstance(value, (int, float)):
        return fmt_number(value)
    if isinstance(value, list):
        return "、".join(show_value(v) for v in value)
    return show_value(value)


# The review page: each item as its question, the answer in words -----------------------

#: Parts of a ``numbers`` answer whose value above zero reveals unpaid wages
#: (C24 workers reporting arrears, E11 workers and amount owed).
ARREARS_PARTS = frozenset({"reporting_arrears", "workers_owed", "amount_owed"})


def unit_of(label_zh: str, headcount: str | None = None) -> str:
    """The unit key (``unit.yuan``, ``unit.people``, ``unit.day``) a number
    under this checklist label is counted in, or "" (the templates name money
    as ``（元）`` and headcounts as ``…人数``)."""
    if "（元）" in label_zh or "(元)" in label_zh:
        return "unit.yuan"
    if headcount or label_zh.endswith("人数"):
        return "unit.people"
    if label_zh.endswith("发薪日"):
        return "unit.day"
    return ""


def fmt_number(x: Any) -> str:
    """12 → ``12``; 42000.0 → ``42,000``; 1234.5 → ``1,234.5``."""
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        return str(x)
    if isinstance(x, float) and x.is_integer():
        x = int(x)
    return f"{x:,}"


def with_unit(t: Any, x: Any, unit: str) -> str:
    return f"{fmt_number(x)} {t(unit)}" if unit else fmt_number(x)


def plain_label(label: str) -> str:
    """A label without its unit in brackets (``欠薪金额（元）`` → ``欠薪金额``)."""
    for mark in ("（元）", "(元)", " (yuan)", "(yuan)"):
        label = label.replace(mark, "")
    return label.strip()


def _parts_text(t: Any, parts: Any, value: Any) -> str:
    if not isinstance(value, dict):
        return show_value(value)
    out = []
    for part in parts:
        if part.key in value:
            out.append(f"{plain_label(part.label.zh if t.lang == 'zh' else part.label.en)} "
                       f"{with_unit(t, value[part.key], unit_of(part.label.zh, part.headcount))}")
    return " · ".join(out) or show_value(value)


def answer_words(t: Any, item: Any, entry: Any) -> str:
    """One stored answer in words: 是/否/不适用/免缴, numbers with their unit,
    the item's extra value under its own label, and the note."""
    if not isinstance(entry, dict) or entry.get("answer") in (None, ""):
        return t("office.insp.unanswered")
    ans = entry.get("answer")
    if item is None:
        text = t(f"ans.{ans}") if isinstance(ans, str) and t.has(f"ans.{ans}") else show_value(ans)
    elif item.answer in ("yes_no", "yes_no_na", "yes_no_exempt") and t.has(f"ans.{ans}"):
        text = t(f"ans.{ans}")
    elif item.answer == "number":
        text = with_unit(t, ans, unit_of(item.label.zh, item.headcount))
    elif item.answer == "numbers":
        text = _parts_text(t, item.parts, ans)
    else:
        text = show_value(ans)
    value = entry.get("value")
    if value not in (None, ""):
        spec = item.value if item is not None else None
        if spec is None:
            text += f" · {show_value(value)}"
        else:
            label = spec.label.zh if t.lang == "zh" else spec.label.en
            if spec.type == "numbers":
                shown = _parts_text(t, spec.parts, value)
            elif spec.type == "number":
                shown = with_unit(t, value, unit_of(spec.label.zh))
            else:
                shown = show_value(value)
            text += f" · {plain_label(label)}：{shown}"
    if entry.get("note"):
        text += f" · {t('office.insp.note')}：{entry['note']}"
    return text


def is_failed(item: Any, entry: Any) -> bool:
    """A non-compliant answer: a yes/no item answered against its ``good``
    answer, or a count of unpaid workers (or money owed) above zero."""
    if item is None or not isinstance(entry, dict):
        return False
    ans = entry.get("answer")
    if item.good is not None:
        return ans in ("yes", "no") and ans != item.good
    if item.answer == "numbers" and isinstance(ans, dict):
        return any(isinstance(ans.get(k), (int, float)) and ans.get(k) > 0
                   for k in ARREARS_PARTS)
    return False


@dataclass(frozen=True)
class AnswerRow:
    """One checklist item on the review page."""
    code: str
    question: str
    group: str
    answer: str
    previous: str
    failed: bool
    changed: bool
    photos: tuple[str, ...] = ()  # sha256 of the photos taken for this item
    sub: bool = False  # a sub-item (C22a belongs to C22)


def template_of(detail: dict[str, Any]) -> Any:
    """The checklist template the inspection was answered on (by its
    ``template_id``; else the newest for the site's kind), or None."""
    from shared_schema.checklists import ChecklistError, load_templates, template_for_site_kind

    tid = (detail.get("inspection") or {}).get("template_id") or ""
    template = load_templates().get(tid)
    if template is None:
        try:
            template = template_for_site_kind((detail.get("site") or {}).get("kind") or "")
        except ChecklistError:
            return None
    return template


def answer_rows(detail: dict[str, Any], t: Any) -> list[AnswerRow]:
    """The review page's items in checklist order: question text, the answer
    in words beside the previous one, failed answers flagged, photos beside
    their item; answers the template does not know come last."""
    template = template_of(detail)
    now = (detail.get("inspection") or {}).get("answers") or {}
    prev = ((detail.get("previous") or {}).get("answers")) or {}
    photos: dict[str, list[str]] = defaultdict(list)
    for p in detail.get("photos") or []:
        if p.get("item_code") and p.get("sha256"):
            photos[p["item_code"]].append(p["sha256"])
    rows: list[AnswerRow] = []
    seen: set[str] = set()
    groups = list(template.groups) if template is not None else []
    order = [(g, code) for g in groups for code in g.items]
    if template is not None and not groups:
        order = [(None, item.code) for item in template.items]
    for group, code in order:
        item = template.item(code)
        if code not in now and code not in prev and code not in photos:
            continue  # an item this inspection did not reach
        seen.add(code)
        a = answer_words(t, item, now.get(code))
        b = answer_words(t, item, prev.get(code)) if prev else "—"
        rows.append(AnswerRow(
            code=code, question=item.label.zh if t.lang == "zh" else item.label.en,
            group=(group.label.zh if t.lang == "zh" else group.label.en) if group else "",
            answer=a, previous=b, failed=is_failed(item, now.get(code)),
            changed=bool(prev) and a != b, photos=tuple(photos.get(code, ())),
            sub=item.parent is not None))
    for code in sorted((set(now) | set(prev)) - seen):
        a = answer_words(t, None, now.get(code))
        b = answer_words(t, None, prev.get(code)) if prev else "—"
        rows.append(AnswerRow(code=code, question=t("office.insp.unknown_item"), group="",
                              answer=a, previous=b, failed=False,
                              changed=bool(prev) and a != b,
                              photos=tuple(photos.get(code, ()))))
    return rows


def loose_photos(detail: dict[str, Any]) -> list[dict[str, Any]]:
    """Photos taken for no item (or an item not on the page)."""
    shown = {r.code for r in answer_rows(detail, _Codes())}
    return [p for p in detail.get("photos") or [] if p.get("item_code") not in shown]


class _Codes:
    """A stand-in translator for ``loose_photos`` (only the codes matter)."""
    lang = "zh"

    def __call__(self, key: str, **values: Any) -> str:
        return key

    def has(self, key: str) -> bool:
        return True


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


def period_text(t: Any, case: dict[str, Any]) -> str | None:
    """The months wages are owed for (``2025-09 至 2025-11``), or None."""
    start, end = case.get("period_from"), case.get("period_to")
    if not start and not end:
        return None
    return t("office.cases.period_range", start=start or "—", end=end or "—")


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
    def build(cls, overdue: list[dict[str, Any]], due_soon: list[dict[str, Any]],
              overdue_total: int | None = None, due_soon_total: int | None = None,
              top: int | None = None) -> "OverduePanel":
        """From ``GET /cases`` items (each already overdue, or due soon); the
        totals default to the lists' lengths."""
        counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for view in overdue:
            counts[view.get("village_name") or "—"][0] += 1
        for view in due_soon:
            counts[view.get("village_name") or "—"][1] += 1
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
        return cls.build(late["items"], soon["items"], (late.get("page") or {}).get("total"),
                         (soon.get("page") or {}).get("total"), top)


def overdue_row(view: dict[str, Any]) -> OverdueCase:
    """A ``GET /cases`` item as a most-overdue row: the open deadline (accept
    while registered, conclude once accepted) and how many working days have
    passed since it (``-working_days_left``; 0 when only a weekend or holiday
    has passed)."""
    case = view.get("case") or {}
    d = view.get("deadlines") or {}
    due = (d.get("conclude_due") if case.get("status") == "accepted" else None) \
        or d.get("accept_due") or d.get("conclude_due") or "—"
    left = d.get("working_days_left")
    return OverdueCase(case_id=case.get("id") or "",
                       title=case.get("title") or case.get("employer") or "—",
                       village=view.get("village_name") or "—", due=str(due),
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
    created: dict[str, Any] | None = None  # the last registered case (CaseDetail)

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

    def submit(self, client: Any) -> dict[str, Any] | None:
        """Register the case; on any refusal the errors are set and the values kept."""
        self.created = None
        body = self.body()
        if body is None:
            return None
        try:
            detail = client.intake(body)
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


# --------------------------------------------------------------------------------------
# Site registry


@dataclass
class RegistryFilters:
    village: str | None = None
    kind: str | None = None
    q: str = ""

    def params(self) -> dict[str, Any]:
        """The query string of ``GET /api/v1/office/sites``."""
        out = {"village": self.village, "kind": self.kind, "q": (self.q or "").strip()}
        return {k: v for k, v in out.items() if v}


def six_status(site: dict[str, Any]) -> dict[str, bool | None]:
    """六项制度 as the registry holds them (None: not known yet)."""
    six = site.get("six_systems") or {}
    return {k: six.get(k) for k in SIX_SYSTEMS}


def six_score(site: dict[str, Any]) -> tuple[int, int]:
    """(systems in place, systems known)."""
    known = [v for v in six_status(site).values() if v is not None]
    return sum(1 for v in known if v), len(known)


def headcounts(site: dict[str, Any]) -> dict[str, int | None]:
    return {k: site.get(f"headcount_{k}") for k in ("on_site", "real_name", "contracts")}


@dataclass
class RegistryVM:
    filters: RegistryFilters = field(default_factory=RegistryFilters)
    items: list[dict[str, Any]] = field(default_factory=list)
    total: int = 0

    def load(self, client: Any) -> None:
        page = client.sites(**self.filters.params())
        self.items, self.total = page["items"], page["page"]["total"]


REGISTRY_FIELDS = ("six_systems", "headcount_on_site", "headcount_real_name",
                   "headcount_contracts", "last_inspected_at")


def hlc_ms(hlc: str | None) -> int | None:
    try:
        return Hlc.parse(hlc).wall_ms if hlc else None
    except HlcError:
        return None


@dataclass
class HistoryLine:
    field: str
    rev: int
    value: Any
    at_ms: int | None
    who: str
    registry: bool  # one of the fields an approval writes


@dataclass
class SiteDetailVM:
    site_id: str
    site: dict[str, Any] = field(default_factory=dict)
    history: list[HistoryLine] = field(default_factory=list)
    registry_only: bool = False

    def load(self, client: Any) -> None:
        data = client.site_history(self.site_id, registry_only=self.registry_only)
        self.site = data["site"]
        self.history = sorted(
            (HistoryLine(field=h["field"], rev=h["rev"], value=h.get("value"),
                         at_ms=hlc_ms(h.get("hlc")), who=h.get("username") or "—",
                         registry=h["field"] in REGISTRY_FIELDS)
             for h in data["history"]), key=lambda h: (h.rev, h.field), reverse=True)


def history_value(line: HistoryLine, t: Any, names: dict[str, str] | None = None) -> str:
    """A history value in words: 六项制度 as ``实名制管理：是 · 工资保证金：否``,
    times as dates, ids as the names they point at, codes as labels."""
    return value_words("site", line.field, line.value, t, names)


# --------------------------------------------------------------------------------------
# Audit log



def parse_day(text: str) -> str | None:
    text = (text or "").strip()
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise UiError("date_format", "expected YYYY-MM-DD") from None


@dataclass
class AuditFilters:
    action: str | None = None
    date_from: str = ""
    date_to: str = ""
    entity_id: str = ""

    def params(self) -> dict[str, Any]:
        """The query string of ``GET /api/v1/office/audit`` (dates checked here)."""
        out = {"action": self.action, "from": parse_day(self.date_from),
               "to": parse_day(self.date_to), "entity_id": (self.entity_id or "").strip()}
        return {k: v for k, v in out.items() if v}


@dataclass
class AuditVM:
    filters: AuditFilters = field(default_factory=AuditFilters)
    items: list[dict[str, Any]] = field(default_factory=list)
    limit: int = 50
    offset: int = 0
    total: int = 0

    def load(self, client: Any) -> None:
        page = client.audit(**self.filters.params(), limit=self.limit, offset=self.offset)
        self.items, self.total = page["items"], page["page"]["total"]

    @property
    def has_more(self) -> bool:
        return self.total > self.offset + len(self.items)

    def next_page(self) -> None:
        if self.has_more:
            self.offset += self.limit

    def prev_page(self) -> None:
        self.offset = max(0, self.offset - self.limit)


AUDIT_DETAIL_KEYS = ("outcome", "title", "source", "level", "kind", "from_state", "to_state",
                     "from_status", "to_status", "from_level", "to_level", "field", "choice",
                     "value", "comment", "note", "username", "role", "registry_updated",
                     "registry_reason", "village_id", "years", "tokens_revoked")
AUDIT_HIDDEN = ("hlc",)  # machine detail: in the API, not on the screen
#: Transitions shown as ``before → after`` under one label.
AUDIT_PAIRS = {"from_state": ("to_state", "review_state"),
               "from_status": ("to_status", "status"),
               "from_level": ("to_level", "level")}


def audit_details(row: dict[str, Any], t: Any, names: dict[str, str] | None = None) -> str:
    """The audit row's details in one line of words, the telling keys first:
    labels for keys and codes (``审核结论：待审核 → 审核通过``), names for ids."""
    d = row.get("details") or {}
    entity = row.get("entity") or ""
    keys = [k for k in AUDIT_DETAIL_KEYS if d.get(k) not in (None, "")]
    keys += [k for k in sorted(d) if k not in AUDIT_DETAIL_KEYS and d.get(k) not in (None, "")
             and not k.endswith(("_id", "_ids")) and k not in AUDIT_HIDDEN]
    out = []
    for k in keys:
        if k in ("to_state", "to_status", "to_level") and any(
                AUDIT_PAIRS[f][0] == k and f in keys for f in AUDIT_PAIRS):
            continue  # shown with its ``from_``
        if k in AUDIT_PAIRS:
            to, field_ = AUDIT_PAIRS[k]
            ent = "inspection" if field_ == "review_state" else "case"
            a = value_words(ent, field_, d.get(k), t, names)
            b = value_words(ent, field_, d.get(to), t, names)
            out.append(f"{t('office.audit.key.' + field_)}：{a}" + (f" → {b}" if b != a else ""))
            continue
        if k == "value" and d.get("field"):
            shown = value_words(entity, d["field"], d[k], t, names)
        elif k == "field":
            shown = field_name(entity, d[k], t)
        elif k == "kind":
            shown = value_words("case_event", "kind", d[k], t, names)
        elif k == "choice":
            shown = t(f"office.audit.choice.{d[k]}") if t.has(
                f"office.audit.choice.{d[k]}") else show_value(d[k])
        elif k == "outcome":
            shown = t(f"office.audit.outcome.{d[k]}") if t.has(
                f"office.audit.outcome.{d[k]}") else show_value(d[k])
        elif k in ("role", "before", "after") and t.has(f"role.{d[k]}"):
            shown = t(f"role.{d[k]}")
        elif k == "registry_reason":
            shown = t(f"office.audit.reason.{d[k]}") if t.has(
                f"office.audit.reason.{d[k]}") else show_value(d[k])
        else:
            shown = value_words(entity, k, d[k], t, names)
        label = t(f"office.audit.key.{k}") if t.has(f"office.audit.key.{k}") else \
            t("office.audit.key.other")
        out.append(f"{label}：{shown}")
    return " · ".join(out)


# --------------------------------------------------------------------------------------
# Closure (销号) with evidence


@dataclass
class Evidence:
    name: str
    sha256: str
    size: int
    kind: str  # "photo" | "pdf"
    data: bytes | None = None  # kept until the server holds it
    uploaded: bool = False


def prepare_evidence(name: str, raw: bytes, max_px: int = 1600) -> Evidence:
    """A picked file as evidence: a photo goes through the device's photo
    pipeline (turned upright, downscaled, EXIF dropped); a PDF receipt is kept
    as it is. Named by the sha256 of the bytes sent."""
    if raw[:5] == b"%PDF-":
        return Evidence(name=name, sha256=hashlib.sha256(raw).hexdigest(), size=len(raw),
                        kind="pdf", data=raw)
    photo = process_photo(raw, max_px=max_px)
    return Evidence(name=name, sha256=photo.sha256, size=len(photo.data), kind="photo",
                    data=photo.data)


@dataclass
class ClosureForm:
    """销号: evidence of payment (photos or receipts, uploaded by tus) and the
    worker call-back note the state machine requires (``close``)."""

    evidence: list[Evidence] = field(default_factory=list)
    callback_note: str = ""
    note: str = ""

    def add(self, item: Evidence) -> Evidence:
        for have in self.evidence:
            if have.sha256 == item.sha256:
                return have
        self.evidence.append(item)
        return item

    def remove(self, sha256: str) -> None:
        self.evidence = [e for e in self.evidence if e.sha256 != sha256]

    def upload(self, client: Any) -> None:
        """Send every file the server does not hold yet (resumable: tus)."""
        for item in self.evidence:
            if not item.uploaded and item.data is not None:
                client.upload(item.sha256, item.data)
                item.uploaded, item.data = True, None

    def body(self) -> dict[str, Any]:
        if not self.evidence:
            raise UiError("evidence_required", "add a payment proof photo or receipt")
        if not (self.callback_note or "").strip():
            raise UiError("callback_required", "record the call-back to the workers")
        body: dict[str, Any] = {"kind": "close", "evidence": [e.sha256 for e in self.evidence],
                                "callback_note": self.callback_note.strip()}
        if (self.note or "").strip():
            body["note"] = self.note.strip()
        return body

    def send(self, client: Any, case_id: str) -> dict[str, Any]:
        """Upload what is missing, then the ``close`` event; the case detail."""
        body = self.body()
        self.upload(client)
        return client.case_event(case_id, body)


# --- server time and the device's "reported at" -----------------------------------------


def shown_times(received_ms: int | None, reported_ms: int | None
                ) -> tuple[int | None, int | None]:
    """``(main, reported)``: the server's receipt is the main time shown; the
    device's own time is shown beside it (上报时间) only when it differs
    notably (``servertime.differs``: 10 minutes or more), else ``None``."""
    main = received_ms if received_ms is not None else reported_ms
    return main, (reported_ms if differs(reported_ms, main) else None)


def event_times(event: dict[str, Any]) -> tuple[int | None, int | None]:
    """A timeline event's ``(main, reported)`` times (``GET /cases/{id}`` events)."""
    return shown_times(event.get("received_at"), event.get("created_at"))


def case_times(case: dict[str, Any]) -> tuple[int | None, int | None]:
    """A case's ``(main, reported)`` times: received by the server, opened on the device."""
    return shown_times(case.get("received_at"), case.get("opened_at") or case.get("created_at"))
