"""The sync screen: progress, what waits (counted in forms), why a sync did
not finish, edits the server replaced, and the quarantine's fix-and-retry form.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from field_app.core import Device, DeviceError, SyncProgress, SyncReport
from shared_schema.paths import get_flat

from field_app.ui.kit.rules import UiError

from .common import parse_number


@dataclass
class SyncState:
    running: bool = False
    phase: str | None = None
    records_done: int = 0
    records_total: int | None = None
    bytes_done: int = 0
    bytes_total: int | None = None
    report: SyncReport | None = None
    last_error: str | None = None

    def _fraction(self, done: int, total: int | None) -> float | None:
        """done ÷ total, at most 1 (1 once the sync is done; None: no total yet)."""
        if self.phase == "done":
            return 1.0
        if not total:
            return None
        return min(1.0, done / total)

    @property
    def records_fraction(self) -> float | None:
        return self._fraction(self.records_done, self.records_total)

    @property
    def bytes_fraction(self) -> float | None:
        return self._fraction(self.bytes_done, self.bytes_total)


class SyncVM:
    def __init__(self, device: Device) -> None:
        self.device = device
        self.state = SyncState()
        self.listeners: list[Callable[[SyncState], None]] = []

    def _progress(self, p: SyncProgress) -> None:
        s = self.state
        s.phase = p.phase
        if p.phase in ("push", "pull"):
            s.records_done, s.records_total = p.records_done, p.records_total
        if p.phase == "upload" or p.bytes_total:
            s.bytes_done, s.bytes_total = p.bytes_done, p.bytes_total
        for fn in list(self.listeners):
            fn(s)

    def run(self) -> SyncReport:
        """Blocking: call from a worker thread. Never raises for network trouble."""
        if self.state.running:
            raise UiError("sync_in_progress", "a sync is already running")
        self.state = SyncState(running=True, phase="pull")
        try:
            report = self.device.sync(progress=self._progress)
            self.state.report = report
            return report
        except DeviceError as exc:
            self.state.last_error = exc.message
            raise
        finally:
            self.state.running = False
            if self.state.phase != "done":
                self.state.phase = "done" if self.state.report and self.state.report.ok else (
                    self.state.phase)

    def pending(self) -> tuple[int, int, int]:
        st = self.device.status()
        return st.pending_mutations, st.pending_photos, st.quarantined


QUEUE_ORDER = ("inspection", "case", "case_event", "site", "photo")


def queue_forms(device: Device) -> dict[str, int]:
    """What waits to be sent, counted in forms (an inspection with 30 answers
    is 1 份巡查), not in field changes: records per entity in the outbox, and
    photos as the larger of photo records and photo uploads waiting."""
    counts = device.outbox_records()
    uploads = device.status().pending_photos
    counts["photo"] = max(counts.get("photo", 0), uploads)
    return {k: v for k, v in counts.items() if v}


def forms_text(t: Callable[..., str], counts: dict[str, int]) -> str:
    """2 份巡查、1 个案件、3 张照片 (or the English words)."""
    parts = []
    for entity in QUEUE_ORDER:
        if counts.get(entity):
            parts.append(t(f"queue.{entity}", n=counts[entity]))
    other = sum(n for e, n in counts.items() if e not in QUEUE_ORDER)
    if other:
        parts.append(t("queue.other", n=other))
    return ("、" if t("queue.case", n=1).startswith("1 个") else ", ").join(parts)


def sync_problem(report: SyncReport | None) -> str | None:
    """The i18n key for why a sync did not finish, from the report's error
    codes (never its English text): 无网络 when the server cannot be reached,
    a login prompt, else 服务器暂时出错."""
    if report is None or report.ok:
        return None
    if report.login_required:
        return "sync.login_required"
    codes = getattr(report, "error_codes", None) or []
    if "network" in codes or not codes:
        return "sync.offline"
    return "sync.server_down"


@dataclass(frozen=True)
class ReplacedEdit:
    field: str  # "contact_phone", "answers.C08"
    mine: Any  # what this phone sent
    kept: Any  # what the server kept (the record's value now)
    conflict_id: str


def replaced_edits(device: Device, entity: str, entity_id: str) -> list[ReplacedEdit]:
    """My offline edits of this record that the server replaced (it kept
    another value in a conflict record the office decides on): what I typed
    and what is stored now. An edit the pull shows as kept is not listed."""
    noted = device.replaced_edits(entity, entity_id)
    record = device.get(entity, entity_id) or {}
    out: dict[str, ReplacedEdit] = {}
    for r in noted:
        kept = get_flat(record, r["field"])
        if kept != r.get("mine"):
            out[r["field"]] = ReplacedEdit(r["field"], r.get("mine"), kept,
                                           r.get("conflict_id") or "")
        else:
            out.pop(r["field"], None)
    return list(out.values())


def quarantine_changes(fields: dict[str, Any], typed: dict[str, str]) -> dict[str, Any]:
    """Fix-and-retry form → the changed fields, typed like the refused values
    (numbers stay numbers, yes/no stays a bool); untouched fields are left out."""
    changes: dict[str, Any] = {}
    for name, text in typed.items():
        old = fields.get(name)
        text = (text or "").strip()
        new: Any = text
        if isinstance(old, bool):
            new = text.lower() in ("1", "true", "yes", "是")
        elif isinstance(old, (int, float)):
            if not text:
                new = None
            else:
                number = parse_number(text, isinstance(old, int))
                if number is None:
                    raise UiError("invalid_field", f"{name} is not a number", field=name)
                new = number
        elif old is None and text == "":
            continue
        if new != old:
            changes[name] = new
    return changes


def sync_summary_parts(report: SyncReport) -> dict[str, int]:
    return {"pushed": report.pushed, "pulled": report.pulled, "photos": report.photos_uploaded,
            "rejected": report.rejected, "conflicts": report.conflicts}
