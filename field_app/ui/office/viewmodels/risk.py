"""The office's risk list (农民工工资支付监控预警) and 复查 tasks: filters, the
reasons in words, marking a warning handled and extending a task (#17 warnings,
docs/office-api.md "Risk warnings and re-inspections"). No Flet here."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from shared_schema.office import (
    ExtendReinspectionRequest,
    HandleWarningRequest,
    ReinspectionView,
    RiskWarningView,
)

from ...kit.rules import UiError

LEVEL_ORDER = ("high", "medium")


@dataclass
class RiskFilters:
    state: str | None = "open"
    village: str | None = None
    level: str | None = None
    task_state: str | None = None
    overdue: str | None = None  # "true" / "false" / None (the dropdown's keys)

    def warning_params(self) -> dict[str, Any]:
        out = {"state": self.state, "village": self.village, "level": self.level}
        return {k: v for k, v in out.items() if v}

    def task_params(self) -> dict[str, Any]:
        out: dict[str, Any] = {"state": self.task_state, "village": self.village}
        if self.overdue in ("true", "false"):
            out["overdue"] = self.overdue == "true"
        return {k: v for k, v in out.items() if v is not None}


def reason_words(t: Any, reason: dict[str, Any]) -> str:
    """One reason in words: 工人反映欠薪（C24，3人）, 存在被欠薪人员（E11，3人，24000元）."""
    code = reason.get("code") or ""
    name = t(f"risk.reason.{code}") if t.has(f"risk.reason.{code}") else t("office.risk.other")
    extra = [str(reason.get("item_code") or "")]
    if reason.get("workers"):
        extra.append(t("office.risk.workers", n=reason["workers"]))
    if reason.get("amount"):
        amount = reason["amount"]
        extra.append(t("office.risk.amount", amount=f"{amount:,.0f}"))
    return f"{name}（{'，'.join(x for x in extra if x)}）"


@dataclass
class RiskVM:
    filters: RiskFilters = field(default_factory=RiskFilters)
    warnings: list[RiskWarningView] = field(default_factory=list)
    tasks: list[ReinspectionView] = field(default_factory=list)
    open_count: int = 0
    overdue_count: int = 0
    #: typed but not yet sent: warning id -> (note, case id); task id -> (date, note)
    notes: dict[str, tuple[str, str]] = field(default_factory=dict)
    result: str | None = None
    error: bool = False

    def load(self, client: Any) -> None:
        warnings = client.risk_warnings(**self.filters.warning_params())
        self.warnings, self.open_count = warnings.items, warnings.open_count
        tasks = client.reinspections(**self.filters.task_params())
        self.tasks, self.overdue_count = tasks.items, tasks.overdue_count

    def handle(self, client: Any, warning_id: str, note: str, case_id: str) -> RiskWarningView:
        """Mark a warning handled (the office), with a note and optionally the case opened."""
        body = HandleWarningRequest(note=note.strip(), case_id=case_id.strip() or None)
        done = client.handle_warning(warning_id, body)
        self.notes.pop(warning_id, None)
        return done

    def extend(self, client: Any, task_id: str, due_date: str, note: str) -> ReinspectionView:
        """A new due date for a task; the date is checked here first."""
        text = due_date.strip()
        try:
            dt.date.fromisoformat(text)
        except ValueError:
            raise UiError("invalid_value", "due_date must be YYYY-MM-DD", field="due_date") from None
        if len(text) != 10:
            raise UiError("invalid_value", "due_date must be YYYY-MM-DD", field="due_date")
        done = client.extend_reinspection(task_id, ExtendReinspectionRequest(
            due_date=text, note=note.strip()))
        self.notes.pop(task_id, None)
        return done


def header_facts(inspection: dict[str, Any], site: dict[str, Any], lang: str
                 ) -> list[tuple[str, Any]]:
    """The checklist header of an inspection (v2 templates say where each value
    is kept: the site's registry or the inspection), as (label, value) pairs;
    v1 inspections (no such markers) give none."""
    from shared_schema.checklists import load_templates

    template = load_templates().get(inspection.get("template_id") or "")
    out: list[tuple[str, Any]] = []
    for h in template.header if template else ():
        if not h.field or "." not in h.field:
            continue
        where, name = h.field.split(".", 1)
        if name == "name":
            continue  # the site's name heads the page already
        value = (site if where == "site" else inspection).get(name)
        out.append((h.label.en if lang == "en" else h.label.zh, value))
    return out
