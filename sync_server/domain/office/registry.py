"""The site registry as the office sees it: the list (filters, search) and a
site's history, every write of every field, who and when."""

from __future__ import annotations

from shared_schema.cases import FINAL_STATUSES
from sync_server.domain.auth.service import Principal
from sync_server.domain.office import access
from sync_server.domain.office.schema import HistoryRow, Page, SiteHistory, SiteList, SiteSummary
from sync_server.errors import ApiError
from sync_server.store.base import SyncStore

#: The fields an approval writes (六项制度, headcounts, last inspected).
REGISTRY_FIELDS = ("six_systems", "headcount_on_site", "headcount_real_name",
                   "headcount_contracts", "last_inspected_at")
#: The text fields ``q`` searches (case-insensitive substring).
SEARCHED = ("name", "address", "builder", "contractor", "industry")


def list_sites(store: SyncStore, p: Principal, *, village: str | None, kind: str | None,
               q: str | None, limit: int, offset: int) -> SiteList:
    """Live sites with their registry facts, by name; the open (not closed,
    referred or dismissed) cases naming each."""
    access.require(p, access.OFFICE_LEADER)
    needle = (q or "").strip().lower()
    villages = {v.id: v.data.get("name") for v in store.records("village")}
    open_cases = store.cases_per_site(FINAL_STATUSES)  # counted in the store, not decoded here
    items = []
    for rec in store.records("site"):
        d = rec.data
        if rec.deleted or (village and rec.village_id != village) \
                or (kind and d.get("kind") != kind) \
                or (needle and not any(needle in str(d.get(k) or "").lower() for k in SEARCHED)):
            continue
        items.append(SiteSummary(site=d, village_name=villages.get(rec.village_id or ""),
                                 open_cases=open_cases.get(rec.id, 0)))
    items.sort(key=lambda s: (s.site.get("name") or "", s.site.get("id") or ""))
    return SiteList(items=items[offset: offset + limit],
                    page=Page(total=len(items), limit=limit, offset=offset))


def site_history(store: SyncStore, p: Principal, site_id: str, field: str | None,
                 registry_only: bool) -> SiteHistory:
    access.require(p, access.OFFICE_LEADER)
    site = store.get_record("site", site_id)
    if site is None:
        raise ApiError("not_found", "no such site", 404, id=site_id)
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
