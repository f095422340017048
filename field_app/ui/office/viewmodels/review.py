"""The review queue and an inspection's answers in words, and conflict
resolution: filters, request bodies and rows the review screens bind."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from shared_schema.case_sources import source_label
from shared_schema.field_labels import field_label
from shared_schema.office import (
    ConflictView,
    InspectionDetail,
    InspectionSummary,
    PhotoInfo,
    ResolveRequest,
    ReviewRequest,
)

from ...kit.rules import CHINA, UiError

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


def review_body(decision: str, comment: str) -> ReviewRequest:
    """``POST …/review``; a comment is required unless approving."""
    if decision not in REVIEW_DECISIONS:
        raise UiError("invalid_decision", f"unknown review decision {decision!r}")
    comment = (comment or "").strip()
    if decision != "approved" and not comment:
        raise UiError("comment_required", "say what is wrong")
    return ReviewRequest(state=decision, comment=comment)


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


def side_by_side(detail: InspectionDetail) -> list[tuple[str, str, str, bool]]:
    """Rows ``(item, this inspection, previous inspection, changed)``."""
    now = detail.inspection.get("answers") or {}
    prev = (detail.previous or {}).get("answers") or {}
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


def template_of(detail: InspectionDetail) -> Any:
    """The checklist template the inspection was answered on (by its
    ``template_id``; else the newest for the site's kind), or None."""
    from shared_schema.checklists import ChecklistError, load_templates, template_for_site_kind

    tid = detail.inspection.get("template_id") or ""
    template = load_templates().get(tid)
    if template is None:
        try:
            template = template_for_site_kind((detail.site or {}).get("kind") or "")
        except ChecklistError:
            return None
    return template


def answer_rows(detail: InspectionDetail, t: Any) -> list[AnswerRow]:
    """The review page's items in checklist order: question text, the answer
    in words beside the previous one, failed answers flagged, photos beside
    their item; answers the template does not know come last."""
    template = template_of(detail)
    now = detail.inspection.get("answers") or {}
    prev = (detail.previous or {}).get("answers") or {}
    photos: dict[str, list[str]] = defaultdict(list)
    for p in detail.photos:
        if p.item_code and p.sha256:
            photos[p.item_code].append(p.sha256)
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


def loose_photos(detail: InspectionDetail) -> list[PhotoInfo]:
    """Photos taken for no item (or an item not on the page)."""
    shown = {r.code for r in answer_rows(detail, _Codes())}
    return [p for p in detail.photos if p.item_code not in shown]


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
    items: list[InspectionSummary] = field(default_factory=list)
    total: int = 0

    def load(self, client: Any) -> None:
        page = client.inspections(**self.filters.params(), limit=200)
        self.items, self.total = page.items, page.page.total

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


def resolve_body(conflict: ConflictView, choice: str, custom: str = "") -> ResolveRequest:
    """``POST …/resolve``: pick the winner, the other value, or a corrected one."""
    if choice in ("winner", "loser"):
        return ResolveRequest(choice=choice)
    if choice == "custom":
        like = conflict.winner_value
        if like is None:
            like = conflict.loser_value
        return ResolveRequest(choice="custom", value=parse_custom(custom, like))
    raise UiError("invalid_choice", f"unknown choice {choice!r}")


def show_value(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return str(value)
