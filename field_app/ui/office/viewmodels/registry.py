"""The site registry and its history, the audit log, the closure (销号)
form with its evidence, and server vs device times."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from typing import Any

import msgspec

from field_app.core.photos import process_photo
from shared_schema.hlc import Hlc, HlcError
from shared_schema.office import AuditRow, CaseEventRequest, SiteSummary, TimelineEvent
from shared_schema.servertime import differs

from ...kit.rules import UiError
from .review import SIX_SYSTEMS, field_name, show_value, value_words

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
    items: list[SiteSummary] = field(default_factory=list)
    total: int = 0

    def load(self, client: Any) -> None:
        page = client.sites(**self.filters.params())
        self.items, self.total = page.items, page.page.total


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
        self.site = data.site
        self.history = sorted(
            (HistoryLine(field=h.field, rev=h.rev, value=h.value,
                         at_ms=hlc_ms(h.hlc), who=h.username or "—",
                         registry=h.field in REGISTRY_FIELDS)
             for h in data.history), key=lambda h: (h.rev, h.field), reverse=True)


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
    items: list[AuditRow] = field(default_factory=list)
    limit: int = 50
    offset: int = 0
    total: int = 0

    def load(self, client: Any) -> None:
        page = client.audit(**self.filters.params(), limit=self.limit, offset=self.offset)
        self.items, self.total = page.items, page.page.total

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


def audit_details(row: AuditRow, t: Any, names: dict[str, str] | None = None) -> str:
    """The audit row's details in one line of words, the telling keys first:
    labels for keys and codes (``审核结论：待审核 → 审核通过``), names for ids."""
    d = row.details
    entity = row.entity
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
class Attachments:
    """Files a case event names by sha256 (photos or PDFs, uploaded by tus as
    soon as they are picked): 销号's payment proofs, a 询问笔录's pages."""

    evidence: list[Evidence] = field(default_factory=list)

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

    def hashes(self) -> list[str]:
        return [e.sha256 for e in self.evidence]


@dataclass
class ClosureForm(Attachments):
    """销号: evidence of payment and the worker call-back note the state
    machine requires (``close``)."""

    callback_note: str = ""
    note: str = ""

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

    def send(self, client: Any, case_id: str) -> Any:
        """Upload what is missing, then the ``close`` event; the case detail."""
        body = msgspec.convert(self.body(), CaseEventRequest)
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


def event_times(event: TimelineEvent) -> tuple[int | None, int | None]:
    """A timeline event's ``(main, reported)`` times (``GET /cases/{id}`` events)."""
    return shown_times(event.received_at, event.created_at)


def case_times(case: dict[str, Any]) -> tuple[int | None, int | None]:
    """A case's ``(main, reported)`` times: received by the server, opened on the device."""
    return shown_times(case.get("received_at"), case.get("opened_at") or case.get("created_at"))
