"""#17 warnings on the phone: the 复查 (re-inspection) tasks pulled from the
server (mine and my villages'), overdue by the date the server's tasks carry,
starting a re-inspection of one, and the site's risk level in words."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable

from field_app.core import Device
from shared_schema import risk

from field_app.ui.kit.rules import CHINA

from .common import current_user, now_ms

#: The key of ``FieldApp.typed`` the new-case form takes its prefill from.
CASE_DRAFT_KEY = "case-draft:{site_id}"


@dataclass(frozen=True)
class TaskRow:
    id: str
    site_id: str
    site: str
    items: list[str]
    rectification: str | None
    due_date: str | None
    state: str
    overdue: bool
    mine: bool


def today_china(clock: Callable[[], int] = now_ms) -> dt.date:
    return dt.datetime.fromtimestamp(clock() / 1000, CHINA).date()


def task_rows(device: Device, site_id: str | None = None, today: dt.date | None = None
              ) -> list[TaskRow]:
    """Open and extended 复查 tasks on this phone (closed ones are done), overdue
    first, then by due date; ``site_id`` narrows to one site."""
    today = today or today_china(device.settings.now_ms)
    me = current_user(device).get("id")
    names = {s["id"]: s.get("name") or "" for s in device.sites()}
    rows = []
    for t in device.records("reinspection"):
        if t.get("deleted") or t.get("state") == "closed":
            continue
        if site_id is not None and t.get("site_id") != site_id:
            continue
        rows.append(TaskRow(
            id=t["id"], site_id=t.get("site_id") or "", site=names.get(t.get("site_id") or "", ""),
            items=list(t.get("items") or []), rectification=t.get("rectification"),
            due_date=t.get("due_date"), state=t.get("state") or "open",
            overdue=risk.overdue(t.get("due_date"), today),
            mine=bool(me) and t.get("responsible_id") == me))
    rows.sort(key=lambda r: (not r.overdue, r.due_date or ""))
    return rows


def start_reinspection(device: Device, task: TaskRow) -> str:
    """A new inspection of the task's site that checks the task again: its
    submission closes the task when the items are fixed, else extends it."""
    insp_id = device.start_inspection(task.site_id)
    device.set_inspection_fields(insp_id, reinspection_of=task.id)
    return insp_id


def stash_case_draft(typed: dict[str, dict], draft: dict[str, Any]) -> str:
    """Keep the case prefill where the new-case form finds it; the route to open."""
    site_id = draft.get("site_id") or ""
    typed[CASE_DRAFT_KEY.format(site_id=site_id)] = dict(draft)
    return f"/site/{site_id}/case"


def take_case_draft(typed: dict[str, dict], site_id: str) -> dict[str, str]:
    """The prefill kept for this site's new-case form (once), as the form's
    texts (24000.0 reads 24000), or {}."""
    draft = typed.pop(CASE_DRAFT_KEY.format(site_id=site_id), {})
    return {k: _text(v) for k, v in draft.items() if v is not None}


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def risk_label_key(level: str | None) -> str | None:
    """The i18n key of a site's risk badge; None when there is no risk."""
    return f"risk.level.{level}" if level in ("medium", "high") else None
