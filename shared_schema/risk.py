"""Risk warnings and rectification follow-up read from an inspection's answers.

Pure rules (no clock, no IO), used by the server when an inspection is
submitted and by the phone while it is being answered (docs/inspections.md):

* ``assess`` — the answers that reveal a risk of unpaid wages
  (农民工工资支付监控预警): workers reporting arrears (C24, E11), signs of a
  collective claim (C25), labour costs not transferred monthly and in full
  (C06, the money the dedicated account should receive), signs of business
  distress (E14). Each gives a reason with a level; the warning's level is the
  highest of them.
* ``case_draft`` — what the new-case form is prefilled with when the inspector
  opens a case on the spot.
* ``rectification`` — the failed items of an inspection, the rectification
  text (C26 / E17) and its deadline (the answer's date, else ``DEFAULT_DAYS``
  after the submission day).
* ``recheck`` — a re-inspection's verdict on a task's items: fixed, or still
  failing.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal, NamedTuple

RiskLevel = Literal["none", "medium", "high"]
#: Levels from lowest to highest.
RISK_LEVELS: tuple[str, ...] = ("none", "medium", "high")
RISK_LEVEL_LABELS: dict[str, tuple[str, str]] = {
    "none": ("无风险", "No risk"),
    "medium": ("一般风险", "Medium risk"),
    "high": ("较大风险", "High risk"),
}
#: Workers owed at or above this many make an arrears reason ``high`` (a large
#: group: a collective claim is likely).
LARGE_GROUP = 10
#: Days from the submission to the rectification deadline when none is given.
DEFAULT_DAYS = 15

REASON_LABELS: dict[str, tuple[str, str]] = {
    "arrears_reported": ("工人反映欠薪", "Workers report unpaid wages"),
    "collective_claim_signs": ("有集体讨薪苗头", "Signs of a collective wage claim"),
    "labour_cost_not_paid": ("建设单位未按月足额拨付人工费", "Labour costs not transferred monthly in full"),
    "workers_owed": ("存在被欠薪人员", "Workers are owed wages"),
    "business_distress": ("经营异常信号", "Signs of business distress"),
}
REASON_CODES: tuple[str, ...] = tuple(REASON_LABELS)
#: Items whose text answer is the rectification required, and its date value.
RECTIFICATION_ITEMS = ("C26", "E17")
#: Text answers that say "no rectification".
NOTHING = frozenset({"", "无", "没有", "无整改", "无需整改", "none", "n/a", "-", "—"})


class RiskReason(NamedTuple):
    code: str
    item_code: str
    level: str
    workers: int | None = None  # workers concerned, where the answer counts them
    amount: float | None = None

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"code": self.code, "item_code": self.item_code, "level": self.level}
        if self.workers is not None:
            out["workers"] = self.workers
        if self.amount is not None:
            out["amount"] = self.amount
        return out


class RiskAssessment(NamedTuple):
    level: str
    reasons: tuple[RiskReason, ...]

    @property
    def risky(self) -> bool:
        return self.level != "none"


def higher(a: str | None, b: str | None) -> str:
    """The higher of two risk levels (unknown or None counts as none)."""
    rank = {level: n for n, level in enumerate(RISK_LEVELS)}
    return max(a or "none", b or "none", key=lambda x: rank.get(x, 0))


def _answer(answers: dict[str, Any], code: str) -> Any:
    entry = answers.get(code)
    return entry.get("answer") if isinstance(entry, dict) else None


def _count(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return 0
    return max(0, int(value))


def _amount(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value:
        return None
    return float(value) if value > 0 else None


def assess(answers: dict[str, Any]) -> RiskAssessment:
    """The risk the answers reveal (either template: the item codes differ)."""
    reasons: list[RiskReason] = []
    collective = _answer(answers, "C25") == "yes"
    c24 = _answer(answers, "C24")
    if isinstance(c24, dict) and _count(c24.get("reporting_arrears")) > 0:
        n = _count(c24.get("reporting_arrears"))
        level = "high" if collective or n >= LARGE_GROUP else "medium"
        reasons.append(RiskReason("arrears_reported", "C24", level, workers=n))
    if collective:
        reasons.append(RiskReason("collective_claim_signs", "C25", "high"))
    if _answer(answers, "C06") == "no":
        reasons.append(RiskReason("labour_cost_not_paid", "C06", "medium"))
    e11 = _answer(answers, "E11")
    if isinstance(e11, dict):
        n, amount = _count(e11.get("workers_owed")), _amount(e11.get("amount_owed"))
        if n > 0 or amount is not None:
            level = "high" if n >= LARGE_GROUP else "medium"
            reasons.append(RiskReason("workers_owed", "E11", level, workers=n or None,
                                      amount=amount))
    if _answer(answers, "E14") == "yes":
        reasons.append(RiskReason("business_distress", "E14", "medium"))
    level = "none"
    for r in reasons:
        level = higher(level, r.level)
    return RiskAssessment(level, tuple(reasons))


def case_draft(site: dict[str, Any], answers: dict[str, Any]) -> dict[str, Any]:
    """The new-case form's prefill from an inspection: the site, its employer
    (a construction project's contractor, else the firm itself), the workers
    owed and the amount (E11; C24 counts workers only), the sector and the
    collective-claim risk. Only what the answers say; the inspector edits it."""
    construction = site.get("kind") == "construction"
    draft: dict[str, Any] = {
        "site_id": site.get("id"),
        "employer": (site.get("contractor") if construction else site.get("name")) or "",
        "employer_address": site.get("address") or "",
        "sector": "construction" if construction else "non_construction",
        "source": "patrol",
    }
    workers: int | None = None
    amount: float | None = None
    c24, e11 = _answer(answers, "C24"), _answer(answers, "E11")
    if isinstance(c24, dict) and _count(c24.get("reporting_arrears")):
        workers = _count(c24.get("reporting_arrears"))
    if isinstance(e11, dict):
        workers = _count(e11.get("workers_owed")) or workers
        amount = _amount(e11.get("amount_owed"))
        period = answers.get("E11", {}).get("value")
        if isinstance(period, str) and period.strip():
            draft["work_done"] = f"欠薪期间：{period.strip()}"
    if workers:
        draft["workers_owed"] = workers
    if amount is not None:
        draft["amount_owed"] = amount
    if _answer(answers, "C25") == "yes" or (workers or 0) >= LARGE_GROUP:
        draft["collective_risk"] = True
    return draft


class Rectification(NamedTuple):
    items: tuple[str, ...]  # failed item codes, in template order
    text: str | None  # what the inspector asked to be rectified
    due_date: str | None  # YYYY-MM-DD; None when nothing is to be rectified

    @property
    def needed(self) -> bool:
        return bool(self.items) or self.text is not None


def failed_items(template: Any, answers: dict[str, Any]) -> tuple[str, ...]:
    """Yes/no items answered against their compliant answer, in template order."""
    return tuple(item.code for item in template.items
                 if item.good is not None and _answer(answers, item.code) in ("yes", "no")
                 and _answer(answers, item.code) != item.good)


def default_due(submitted_day: dt.date, days: int = DEFAULT_DAYS) -> str:
    return (submitted_day + dt.timedelta(days=days)).isoformat()


def rectification(template: Any, answers: dict[str, Any], submitted_day: dt.date
                  ) -> Rectification:
    """What a submitted inspection asks to be rectified, and by when: the
    deadline typed with C26/E17, else ``DEFAULT_DAYS`` after ``submitted_day``
    (the submission's China date at server time)."""
    items = failed_items(template, answers)
    text: str | None = None
    due: str | None = None
    for code in RECTIFICATION_ITEMS:
        if template.item(code) is None:
            continue
        answer = _answer(answers, code)
        if isinstance(answer, str) and answer.strip().lower() not in NOTHING:
            text = answer.strip()
        value = (answers.get(code) or {}).get("value")
        if isinstance(value, str) and _is_date(value):
            due = value
    if not (items or text):
        return Rectification((), None, None)
    return Rectification(items, text, due or default_due(submitted_day))


def _is_date(text: str) -> bool:
    try:
        dt.date.fromisoformat(text)
    except ValueError:
        return False
    return len(text) == 10


def recheck(template: Any, task_items: list[str], answers: dict[str, Any]) -> tuple[str, ...]:
    """The task's items a re-inspection still finds failing (or left
    unanswered): empty when every item is fixed."""
    still = []
    for code in task_items:
        item = template.item(code)
        answer = _answer(answers, code)
        if item is None or item.good is None:
            continue  # the item is not on this checklist: it cannot be checked here
        if answer != item.good and answer not in ("na", "exempt"):
            still.append(code)
    return tuple(still)


def overdue(due_date: str | None, today: dt.date) -> bool:
    """A task is overdue on the day after its due date (China dates)."""
    return bool(due_date) and _is_date(due_date or "") and today > dt.date.fromisoformat(due_date or "")
