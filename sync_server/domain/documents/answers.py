"""How a checklist answer reads on paper (Chinese), and which items failed.

Pure: over a template (``shared_schema.checklists``) and an inspection's answers.
"""

from __future__ import annotations

from typing import Any

from shared_schema.checklists import CHOICES, ChecklistItem, ChecklistTemplate

CHOICE_ZH = {"yes": "是", "no": "否", "na": "不涉及", "exempt": "依规免缴"}
#: The rectification item: its text is what must be put right, its value the deadline.
RECTIFICATION_ITEM = {"construction": "C26"}
NONE_TEXTS = ("", "无", "没有", "/", "—", "-")


def _number(value: Any) -> str:
    if isinstance(value, bool) or value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"{value:,}" if isinstance(value, (int, float)) else str(value)


def _parts(item_parts: Any, value: Any) -> str:
    if not isinstance(value, dict):
        return _number(value)
    return "；".join(f"{p.label.zh}：{_number(value.get(p.key))}" for p in item_parts
                    if value.get(p.key) is not None)


def answer_text(item: ChecklistItem, answer: dict[str, Any] | None) -> str:
    """The answer as printed: 是/否/不涉及, a number, the parts of a numbers answer, text."""
    if not answer or answer.get("answer") is None:
        return "未填"
    value = answer.get("answer")
    if item.answer in CHOICES:
        return CHOICE_ZH.get(str(value), "未填")
    if item.answer == "numbers":
        return _parts(item.parts, value)
    if item.answer == "number":
        return _number(value)
    return str(value)


def detail_text(item: ChecklistItem, answer: dict[str, Any] | None) -> str:
    """The recorded extra value (with its label) and the inspector's note."""
    if not answer:
        return ""
    bits = []
    value = answer.get("value")
    if value not in (None, "") and item.value is not None:
        shown = _parts(item.value.parts, value) if item.value.type == "numbers" else _number(value)
        bits.append(f"{item.value.label.zh}：{shown}")
    if answer.get("note"):
        bits.append(str(answer["note"]))
    return "；".join(bits)


def failed(item: ChecklistItem, answer: dict[str, Any] | None) -> bool:
    """A yes/no item answered against its compliant answer, or workers reporting
    arrears (a ``numbers`` part named like ``reporting_arrears``/``workers_owed``) above 0."""
    value = (answer or {}).get("answer")
    if item.answer in CHOICES:
        return item.good is not None and value in ("yes", "no") and value != item.good
    if item.answer == "numbers" and isinstance(value, dict):
        return any(isinstance(value.get(k), (int, float)) and value[k] > 0
                   for k in ("reporting_arrears", "workers_owed"))
    return False


def failed_items(template: ChecklistTemplate, answers: dict[str, Any]) -> list[ChecklistItem]:
    return [i for i in template.items if failed(i, answers.get(i.code))]


def rectification_text(template: ChecklistTemplate, answers: dict[str, Any]) -> tuple[str, str | None]:
    """What the inspector wrote must be put right (C26's text, none when "无") and its date."""
    code = RECTIFICATION_ITEM.get(template.kind)
    answer = answers.get(code or "") or {}
    text = str(answer.get("answer") or "").strip()
    date = answer.get("value") if isinstance(answer.get("value"), str) else None
    return ("" if text in NONE_TEXTS else text), date
