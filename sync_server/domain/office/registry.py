"""A site's registry history: every write of every field, who and when."""

from __future__ import annotations

from sync_server.domain.auth.service import Principal
from sync_server.domain.office import access
from sync_server.domain.office.schema import HistoryRow, SiteHistory
from sync_server.errors import ApiError
from sync_server.store.base import SyncStore

#: The fields an approval writes (六项制度, headcounts, last inspected).
REGISTRY_FIELDS = ("six_systems", "headcount_on_site", "headcount_real_name",
                   "headcount_contracts", "last_inspected_at")


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
