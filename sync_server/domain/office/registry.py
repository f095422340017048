"""The site registry as the office sees it: the list (filters, search) and a
site's history, every write of every field, who and when."""

from __future__ import annotations

from shared_schema.cases import FINAL_STATUSES
from sync_server.domain.principal import Principal
from sync_server.domain.office import access
from shared_schema.office import HistoryRow, Page, SiteHistory, SiteList, SiteSummary
from sync_server.domain.errors import DomainError
from sync_server.store.base import SyncStore

#: The fields an approval writes (六项制度, headcounts, last inspected).
REGISTRY_FIELDS = ("six_systems", "headcount_on_site", "headcount_real_name",
                   "headcount_contracts", "last_inspected_at")
#: The text fields ``q`` searches (case-insensitive substring).
SEARCHED = ("name", "address", "builder", "contractor", "industry")


def list_sites(store: SyncStore, p: Principal, *, village: str | None, kind: str | None,
               q: str | None, limit: int, offset: int) -> SiteList:
    """Live sites with their registry facts, by name; the open (not closed,
    referred or dismissed) cases naming each. The store gives the filtered
    sites' searched texts in order; ``q`` is matched here (Python's
    ``lower``, not SQLite's ASCII-only one), and only the page's sites are
    read whole and have their cases counted."""
    access.require(p, access.OFFICE_LEADER)
    needle = (q or "").strip().lower()
    rows = store.site_texts(SEARCHED, village_id=village, kind=kind)
    if needle:
        rows = [r for r in rows if any(needle in str(v or "").lower() for v in r.texts)]
    page = [rec for r in rows[offset: offset + limit]
            if (rec := store.get_record("site", r.id)) is not None]
    villages = {v.id: v.data.get("name") for v in store.records("village")}
    open_cases = store.cases_per_site(FINAL_STATUSES, [rec.id for rec in page])
    items = [SiteSummary(site=rec.data, village_name=villages.get(rec.village_id or ""),
                         open_cases=open_cases.get(rec.id, 0)) for rec in page]
    return SiteList(items=items, page=Page(total=len(rows), limit=limit, offset=offset))


def site_history(store: SyncStore, p: Principal, site_id: str, field: str | None,
                 registry_only: bool) -> SiteHistory:
    access.require(p, access.OFFICE_LEADER)
    site = store.get_record("site", site_id)
    if site is None:
        raise DomainError("not_found", "no such site", id=site_id)
    names: dict[str, str | None] = {}

    def username(user_id: str | None) -> str | None:
        if user_id and user_id not in names:
            user = store.get_user(user_id)
            names[user_id] = user.username if user else None
        return names.get(user_id or "")

    rows = [HistoryRow(field=h.field, rev=h.rev, value=h.value, hlc=h.hlc, user_id=h.user_id,
                       username=username(h.user_id), device_id=h.device_id)
            for h in store.field_history("site", site_id)
            if (field is None or h.field == field)
            and (not registry_only or h.field in REGISTRY_FIELDS)]
    return SiteHistory(site=site.data, history=rows)
