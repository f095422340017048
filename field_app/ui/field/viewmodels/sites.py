"""The site list (本月待巡查, filters, badges) and a site's detail page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Callable, Iterable

from field_app.core import Device, DeviceError
from shared_schema.cases import FINAL_STATUSES
from shared_schema.checklists import (
    headcounts,
    six_systems,
)

from field_app.ui.kit.rules import CHINA, UiError

from .common import ACTIVE_SITE_STATUSES, current_user, month_of, now_ms
from .followup import task_rows


def is_due(site: dict[str, Any], inspections: Iterable[dict[str, Any]], at_ms: int,
           tz: dt.tzinfo = CHINA) -> bool:
    """"Due" (本月待巡查): an active construction project not inspected this month.

    Inspected means the registry's ``last_inspected_at`` (set by the office on
    approval) or a *submitted* inspection of the site, in the current calendar
    month (China time). Drafts do not count.
    """
    if site.get("kind") != "construction" or site.get("status") not in ACTIVE_SITE_STATUSES:
        return False
    this_month = month_of(at_ms, tz)
    if month_of(site.get("last_inspected_at"), tz) == this_month:
        return False
    for insp in inspections:
        if insp.get("state") == "submitted" and month_of(
                insp.get("submitted_at") or insp.get("started_at"), tz) == this_month:
            return False
    return True


@dataclass
class SiteRow:
    id: str
    name: str
    kind: str
    village_id: str | None
    village: str
    address: str
    gov_invested: bool
    due: bool
    open_cases: int
    unsynced: int
    haystack: str  # lower-cased text the search matches
    returned: int = 0  # my inspections the office returned (退回), not yet reopened
    risk_level: str | None = None  # #17 warnings: the server's level from open warnings
    overdue_tasks: int = 0  # #17 warnings: 复查 tasks past their due date


@dataclass
class SiteFilter:
    query: str = ""
    village_id: str | None = None
    kind: str | None = None
    gov_invested: bool | None = None
    due_only: bool = False


def filter_sites(rows: list[SiteRow], f: SiteFilter) -> list[SiteRow]:
    """The rows matching every filter; the query matches name, address,
    builder, contractor and village (case-insensitive, every word)."""
    words = f.query.lower().split()
    out = []
    for r in rows:
        if f.village_id and r.village_id != f.village_id:
            continue
        if f.kind and r.kind != f.kind:
            continue
        if f.gov_invested is not None and r.gov_invested != f.gov_invested:
            continue
        if f.due_only and not r.due:
            continue
        if words and not all(w in r.haystack for w in words):
            continue
        out.append(r)
    return out


def pending_by_record(device: Device) -> dict[tuple[str, str], int]:
    """Waiting changes (outbox + open quarantine) per (entity, id)."""
    return device.waiting_by_record()


def build_site_rows(sites: list[dict], villages: list[dict], inspections: list[dict],
                    cases: list[dict], photos: list[dict], events: list[dict],
                    pending: dict[tuple[str, str], int], at_ms: int,
                    me: str | None = None) -> list[SiteRow]:
    """Pure: one row per site with its badges."""
    returned: dict[str, int] = {}
    for i in returned_to(inspections, me):
        returned[i.get("site_id")] = returned.get(i.get("site_id"), 0) + 1
    village_names = {v["id"]: v.get("name") or "" for v in villages}
    insp_by_site: dict[str, list[dict]] = {}
    insp_site: dict[str, str] = {}
    for i in inspections:
        insp_by_site.setdefault(i.get("site_id"), []).append(i)
        insp_site[i["id"]] = i.get("site_id")
    case_site = {c["id"]: c.get("site_id") for c in cases}
    open_cases: dict[str, int] = {}
    for c in cases:
        if c.get("status") not in FINAL_STATUSES and c.get("site_id"):
            open_cases[c["site_id"]] = open_cases.get(c["site_id"], 0) + 1
    unsynced: dict[str, int] = {}

    def bump(site_id: str | None, n: int) -> None:
        if site_id:
            unsynced[site_id] = unsynced.get(site_id, 0) + n

    owner_site = {**insp_site, **case_site}
    event_case = {e["id"]: e.get("case_id") for e in events}
    photo_owner = {p["id"]: p.get("owner_id") for p in photos}
    for (entity, rid), n in pending.items():
        if entity == "site":
            bump(rid, n)
        elif entity in ("inspection", "case"):
            bump(owner_site.get(rid), n)
        elif entity == "case_event":
            bump(case_site.get(event_case.get(rid)), n)
        elif entity == "photo":
            owner = photo_owner.get(rid)
            bump(owner if owner not in owner_site else owner_site.get(owner), n)
    rows = []
    for s in sites:
        village = village_names.get(s.get("village_id"), "")
        hay = " ".join(str(s.get(k) or "") for k in ("name", "address", "builder", "contractor"))
        rows.append(SiteRow(
            id=s["id"], name=s.get("name") or "", kind=s.get("kind") or "other",
            village_id=s.get("village_id"), village=village, address=s.get("address") or "",
            gov_invested=bool(s.get("gov_invested")),
            due=is_due(s, insp_by_site.get(s["id"], ()), at_ms),
            open_cases=open_cases.get(s["id"], 0), unsynced=unsynced.get(s["id"], 0),
            haystack=f"{hay} {village}".lower(), returned=returned.get(s["id"], 0),
            risk_level=s.get("risk_level")))
    return rows


def returned_to(inspections: Iterable[dict[str, Any]], me: str | None) -> list[dict[str, Any]]:
    """退回给我: my inspections the office returned, not yet submitted again."""
    return [i for i in inspections if i.get("review_state") == "rejected"
            and i.get("state") == "submitted" and me and i.get("inspector_id") == me]


class SiteListVM:
    """Home: my sites, filtered in memory (fast enough per keystroke: see bench/)."""

    def __init__(self, device: Device | None = None, clock: Callable[[], int] = now_ms) -> None:
        self.device = device
        self.clock = clock
        self.rows: list[SiteRow] = []
        self.filter = SiteFilter()
        self.villages: list[dict] = []
        self.returned: list[tuple[dict, str]] = []  # (inspection, site name): 退回给我

    def load(self) -> None:
        d = self.device
        assert d is not None
        self.villages = sorted(d.villages(), key=lambda v: v.get("name") or "")
        inspections = d.inspections()
        pending = pending_by_record(d)
        me = current_user(d).get("id")
        self.rows = build_site_rows(d.sites(), self.villages, inspections, d.cases(),
                                    d.records("photo"), d.records("case_event"),
                                    pending, self.clock(), me=me)
        overdue: dict[str, int] = {}  # #17 warnings
        for task in task_rows(d, today=dt.datetime.fromtimestamp(self.clock() / 1000, CHINA).date()):
            if task.overdue:
                overdue[task.site_id] = overdue.get(task.site_id, 0) + 1
        for row in self.rows:
            row.overdue_tasks = overdue.get(row.id, 0)
        names = {r.id: r.name for r in self.rows}
        self.returned = [(i, names.get(i.get("site_id"), "")) for i in returned_to(
            inspections, me) if not pending.get(("inspection", i["id"]))]

    def set_rows(self, rows: list[SiteRow]) -> None:
        self.rows = rows

    def visible(self) -> list[SiteRow]:
        return filter_sites(self.rows, self.filter)

    def search(self, query: str) -> list[SiteRow]:
        self.filter.query = query
        return self.visible()

    def due_count(self) -> int:
        return sum(1 for r in self.rows if r.due)


@dataclass
class SiteDetail:
    site: dict[str, Any]
    village: str
    six_systems: dict[str, bool | None]
    six_source: str | None  # id of the inspection the 六项制度 come from
    headcounts: list[dict[str, Any]]  # newest first: when, on_site, real_name, contracts
    inspections: list[dict[str, Any]]  # newest first
    open_cases: list[dict[str, Any]]
    all_cases: list[dict[str, Any]]


def site_detail(device: Device, site_id: str) -> SiteDetail:
    site = device.get("site", site_id)
    if site is None:
        raise UiError("unknown_site", f"no site {site_id} on this device")
    village = device.get("village", site.get("village_id") or "") or {}
    inspections = sorted(device.inspections(site_id),
                         key=lambda i: i.get("submitted_at") or i.get("started_at") or 0,
                         reverse=True)
    heads, systems, source = [], dict(site.get("six_systems") or {}), None
    for insp in inspections:
        try:
            tpl = device.template(insp.get("template_id") or "")
        except DeviceError:
            continue
        answers = insp.get("answers") or {}
        counts = headcounts(tpl, answers)
        if any(v is not None for v in counts.values()):
            heads.append({"at": insp.get("submitted_at") or insp.get("started_at"),
                          "on_site": counts["on_site"], "real_name": counts["real_name"],
                          "contracts": counts["contracts"], "state": insp.get("state")})
        if source is None and insp.get("review_state") == "approved":
            systems, source = six_systems(tpl, answers), insp["id"]
    cases = device.cases(site_id)
    return SiteDetail(site=site, village=village.get("name") or "", six_systems=systems,
                      six_source=source, headcounts=heads, inspections=inspections,
                      open_cases=[c for c in cases if c.get("status") not in FINAL_STATUSES],
                      all_cases=cases)
