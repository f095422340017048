"""Review of submitted inspections, and the site registry update on approval.

A review is the office's write of ``review_state``/``review_comment``
through the push rules (only a submitted inspection; office only), so it
syncs back to the author's device like any change. Review states:
``pending`` → ``approved`` | ``has_issues`` | ``rejected``; ``has_issues``
may be reviewed again once rectified; ``approved`` and ``rejected`` are final.

Approval copies the inspection's facts into the site registry (六项制度,
headcounts, last inspected) through the same write path, so every change has
a history row. ``last_inspected_at`` is the submission time (at server time,
``servertime.submitted_ms``) of the inspection the facts came from:
approving an inspection submitted before it leaves the registry alone
(``reason: newer_facts``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from shared_schema.checklists import headcounts, load_templates, six_systems
from shared_schema.servertime import submitted_ms
from sync_server.domain.principal import Principal
from sync_server.domain.office import access, writes
from sync_server.domain.office.common import author, live, photos_of
from sync_server.domain.office.params import day_start_ms
from shared_schema.office import (
    InspectionDetail,
    InspectionList,
    InspectionSummary,
    Page,
    RegistryUpdate,
    ReviewRequest,
    ReviewResponse,
)
from sync_server.domain.errors import DomainError
from sync_server.settings import Settings
from sync_server.store.base import StoreTx, StoredRecord, SyncStore

FINAL_REVIEWS = frozenset({"approved", "rejected"})


def _facts(rec: StoredRecord) -> tuple[dict[str, int | None], dict[str, bool | None]]:
    template = load_templates().get(rec.data.get("template_id") or "")
    if template is None:
        return {}, {}
    answers = {k: v for k, v in (rec.data.get("answers") or {}).items() if isinstance(v, dict)}
    return headcounts(template, answers), six_systems(template, answers)


def list_inspections(store: SyncStore, p: Principal, *, state: str | None,
                     review_state: str | None, village: str | None, department: str | None,
                     kind: str | None, date_from: dt.date | None, date_to: dt.date | None,
                     limit: int, offset: int) -> InspectionList:
    access.require(p, access.OFFICE_LEADER)
    total, page = store.inspections_page(  # filtered, ordered and paged in the store
        state=state, review_state=review_state, village_id=village, department_id=department,
        site_kind=kind, since_ms=day_start_ms(date_from) if date_from else None,
        until_ms=day_start_ms(date_to + dt.timedelta(days=1)) if date_to else None,
        limit=limit, offset=offset)
    items: list[InspectionSummary] = []
    for rec in page:
        d = rec.data
        site = store.get_record("site", d.get("site_id") or "")
        user = store.get_user(d.get("inspector_id") or "") if d.get("inspector_id") else None
        items.append(InspectionSummary(
            id=rec.id, site_id=d.get("site_id"), site_name=site.data.get("name") if site else None,
            site_kind=site.data.get("kind") if site else None, village_id=rec.village_id,
            department_id=rec.department_id, inspector_id=d.get("inspector_id"),
            inspector_name=user.display_name if user else None,
            device_id=rec.created_by_device, state=d.get("state"),
            review_state=d.get("review_state"), review_comment=d.get("review_comment"),
            started_at=d.get("started_at"), submitted_at=d.get("submitted_at")))
    return InspectionList(items=items, page=Page(total=total, limit=limit, offset=offset))


def _get(store_or_tx: Any, inspection_id: str) -> StoredRecord:
    rec = store_or_tx.get_record("inspection", inspection_id)
    if not live(rec):
        raise DomainError("not_found", "no such inspection", id=inspection_id)
    return rec


def inspection_detail(store: SyncStore, p: Principal, inspection_id: str) -> InspectionDetail:
    access.require(p, access.OFFICE_LEADER)
    rec = _get(store, inspection_id)
    site = store.get_record("site", rec.data.get("site_id") or "")
    counts, systems = _facts(rec)
    previous = None
    mine = rec.data.get("submitted_at") or rec.data.get("started_at") or 0
    earlier = [i for i in store.children_of(rec.parent_id or "", "inspection")
               if i.id != rec.id and not i.deleted and i.data.get("site_id") == rec.data.get("site_id")
               and i.data.get("state") == "submitted" and (i.data.get("submitted_at") or 0) < mine]
    if earlier:
        previous = max(earlier, key=lambda i: i.data.get("submitted_at") or 0).data
    return InspectionDetail(
        inspection=rec.data, site=site.data if site else None,
        author=author(store, rec.data.get("inspector_id") or rec.created_by_user,
                      rec.created_by_device),
        photos=photos_of(store, rec.id), headcounts=counts, six_systems=systems,
        previous=previous)


def update_registry(tx: StoreTx, settings: Settings, p: Principal, now: int,
                    rec: StoredRecord) -> RegistryUpdate:
    site = tx.get_record("site", rec.data.get("site_id") or "")
    if not live(site):
        return RegistryUpdate(updated=False, reason="site_deleted")
    assert site is not None
    # The submission at server time: the device's submitted_at only within
    # max_backdate_ms before the server received it (shared_schema.servertime).
    submitted = submitted_ms(rec.data, settings.max_backdate_ms) \
        or rec.data.get("updated_at") or now
    known = site.data.get("last_inspected_at")
    if known is not None and submitted < known:
        return RegistryUpdate(updated=False, reason="newer_facts")
    counts, systems = _facts(rec)
    fields: dict[str, Any] = {"last_inspected_at": submitted}
    if systems:
        fields["six_systems"] = systems
    for kind in ("on_site", "real_name", "contracts"):
        if counts.get(kind) is not None:
            fields[f"headcount_{kind}"] = counts[kind]
    base = {k: site.meta[k].rev for k in fields if k in site.meta}
    writes.apply(tx, settings, p, now, "upsert", "site", site.id, fields, base,
                 after=[m.hlc for m in site.meta.values()])
    return RegistryUpdate(updated=True, fields=fields)


def review(store: SyncStore, settings: Settings, p: Principal, inspection_id: str,
           req: ReviewRequest) -> ReviewResponse:
    access.require(p, access.OFFICE, "review inspections")
    now = settings.now_ms()
    with store.transaction() as tx:
        rec = _get(tx, inspection_id)
        before = rec.data.get("review_state") or "pending"
        if rec.data.get("state") != "submitted":
            raise DomainError("not_submitted", "only a submitted inspection can be reviewed")
        if before in FINAL_REVIEWS:
            raise DomainError("already_reviewed", f"this inspection was already {before}",
                              review_state=before)
        fields = {"review_state": req.state, "review_comment": req.comment}
        base = {k: rec.meta[k].rev for k in fields if k in rec.meta}
        writes.apply(tx, settings, p, now, "upsert", "inspection", rec.id, fields, base,
                     after=[m.hlc for m in rec.meta.values()])
        registry = None
        if req.state == "approved":
            registry = update_registry(tx, settings, p, now, rec)
        access.audit(tx, p, now, "review", "inspection", rec.id, site_id=rec.data.get("site_id"),
                     from_state=before, to_state=req.state, comment=req.comment,
                     registry_updated=registry.updated if registry else None,
                     registry_reason=registry.reason if registry else None)
        stored = tx.get_record("inspection", rec.id)
        assert stored is not None
    return ReviewResponse(inspection=stored.data, registry=registry)
