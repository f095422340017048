"""Conflict records: list them, and resolve one to a value every device converges to.

Resolving writes the chosen value (the winner's, the loser's, or a corrected
one) as a server write by the office user with a fresh HLC later than both
conflicting HLCs and the field's current one, based on the field's current
revision (so it is a clean write, not a new conflict). Devices pull it like
any change. The conflict record keeps who resolved it, when, and how; the
resolution is also in the audit log.
"""

from __future__ import annotations

from typing import Any

import msgspec

from shared_schema import fields as field_rules
from shared_schema.checklists import AnswerError, load_templates, validate_answer
from shared_schema.entities import FieldTypeError, check_fields
from shared_schema.merge import Author
from sync_server.domain.principal import Principal
from sync_server.domain.office import access, writes
from sync_server.domain.office.common import author, name_of
from shared_schema.office import ConflictList, ConflictView, Page, ResolveRequest
from sync_server.domain.sync import apply as write_path
from shared_schema.paths import get_flat
from sync_server.domain.sync.records import write_fields
from sync_server.domain.errors import DomainError
from sync_server.settings import Settings
from sync_server.store.base import ConflictRecord, FieldMeta, StoredRecord, SyncStore

STATUSES = ("open", "resolved", "all")


def _view(store: SyncStore, c: ConflictRecord) -> ConflictView:
    rec = store.get_record(c.entity, c.entity_id)
    return ConflictView(
        id=c.id, entity=c.entity, entity_id=c.entity_id, field=c.field, status=c.status,
        base_rev=c.base_rev, base_value=c.base_value, winner_value=c.winner_value,
        winner_hlc=c.winner_hlc, winner=author(store, c.winner_user, c.winner_device),
        loser_value=c.loser_value, loser_hlc=c.loser_hlc,
        loser=author(store, c.loser_user, c.loser_device),
        current_value=get_flat(rec.data, c.field) if rec else None, created_at=c.created_at,
        resolved_by=c.resolved_by, resolved_at=c.resolved_at, resolution=c.resolution,
        record_name=(rec.data.get("name") or rec.data.get("title")) if rec else None,
        **_place(store, rec))


def _place(store: SyncStore, rec: StoredRecord | None) -> dict[str, str | None]:
    """The record's village, site and address: where the edited thing is."""
    if rec is None:
        return {}
    site = rec if rec.entity == "site" else (
        store.get_record("site", rec.site_id) if rec.site_id else None)
    return {"village_name": name_of(store, "village", rec.village_id),
            "site_name": site.data.get("name") if site else None,
            "address": (site.data.get("address") if site else None)
            or rec.data.get("employer_address")}


def list_conflicts(store: SyncStore, p: Principal, status: str, entity: str | None,
                   limit: int, offset: int) -> ConflictList:
    access.require(p, access.OFFICE_LEADER)
    rows = store.list_conflicts(None if status == "all" else status)
    if entity:
        rows = [c for c in rows if c.entity == entity]
    return ConflictList(items=[_view(store, c) for c in rows[offset: offset + limit]],
                        page=Page(total=len(rows), limit=limit, offset=offset))


def get_conflict(store: SyncStore, p: Principal, conflict_id: str) -> ConflictView:
    access.require(p, access.OFFICE_LEADER)
    c = store.get_conflict(conflict_id)
    if c is None:
        raise DomainError("not_found", "no such conflict", id=conflict_id)
    return _view(store, c)


def _checked(p: Principal, entity: str, field: str, value: Any,
             data: dict[str, Any]) -> dict[str, Any]:
    """The fields map that writes ``value`` into ``field``, type-checked and
    held to the field table (``shared_schema.fields``: lengths, masks, owners;
    the office decides between recorded values, so a recorder's field is
    the office's to settle here)."""
    if "." in field:
        top, item = field.split(".", 1)
        fields = {top: {item: value}}
    else:
        fields = {field: value}
    refusal = (field_rules.refuse_values(entity, fields, data)
               or field_rules.refuse_writer(entity, fields, p.role, recorder=None,
                                            console=True))
    if refusal is not None:
        err = write_path.refused(refusal).as_error()
        at = f"$.fields.{field}"  # the resolution's value is that field's value
        err.details["path"] = ("$.value" + refusal.path[len(at):]
                               if refusal.path.startswith(at) else "$.value")
        raise err
    try:
        checked = check_fields(entity, fields)
    except FieldTypeError as exc:
        raise DomainError("invalid_field", str(exc),
                          path=exc.path.replace("$.fields", "$.value", 1)) from None
    if entity == "inspection" and "." in field:
        template = load_templates().get(data.get("template_id") or "")
        answer = checked[top][item] or {}
        if template is not None:
            try:
                validate_answer(template, item, answer.get("answer"), answer.get("value"))
            except AnswerError as exc:
                raise DomainError(exc.code, exc.message, path="$.value", **exc.details) from None
    return checked


def resolve(store: SyncStore, settings: Settings, p: Principal, conflict_id: str,
            req: ResolveRequest) -> ConflictView:
    access.require(p, access.OFFICE, "resolve conflicts")
    now = settings.now_ms()
    with store.transaction() as tx:
        c = tx.get_conflict(conflict_id)
        if c is None:
            raise DomainError("not_found", "no such conflict", id=conflict_id)
        if c.status != "open":
            raise DomainError("conflict_resolved", "this conflict was already resolved",
                              resolved_by=c.resolved_by, resolved_at=c.resolved_at)
        if req.choice == "custom" and req.value is msgspec.UNSET:
            raise DomainError("missing_field", "a custom resolution needs a value",
                              path="$.value")
        value = {"winner": c.winner_value, "loser": c.loser_value}.get(req.choice, req.value)
        rec = tx.get_record(c.entity, c.entity_id)
        if rec is None:
            raise DomainError("not_found", "the conflicting record is gone", id=c.entity_id)
        if rec.deleted:
            raise DomainError("record_deleted", f"this {c.entity} was deleted",
                              entity=c.entity, id=c.entity_id)
        fields = _checked(p, c.entity, c.field, value, rec.data)
        meta = rec.meta.get(c.field)
        hlc = writes.fresh_hlc(p.device_id, now, [c.winner_hlc, c.loser_hlc,
                                                  meta.hlc if meta else None])
        chosen = get_flat(fields, c.field)
        if meta is not None and get_flat(rec.data, c.field) == chosen:
            # The field already holds it: still a new revision and HLC, so a device
            # that kept the other value locally pulls the decision and converges.
            rev = tx.next_rev()
            rec.meta[c.field] = FieldMeta(rev, str(hlc), p.user_id, p.device_id)
            tx.add_history(rec.entity, rec.id, c.field, rec.meta[c.field], chosen)
            rec.rev = rev
            rec.data["updated_at"] = now
            tx.put_record(rec)
        else:
            write_fields(tx, rec, fields, {c.field: meta.rev if meta else 0}, str(hlc),
                         Author(p.user_id, p.device_id), now, mutation_id=f"resolve:{c.id}")
        writes.bump_device_hlc(tx, p, hlc)
        stored = get_flat(rec.data, c.field)
        resolution = {"choice": req.choice, "value": stored, "hlc": str(hlc), "rev": rec.rev}
        tx.resolve_conflict(c.id, status="resolved", resolved_by=p.user_id, resolved_at=now,
                            resolution=resolution)
        # The audit log is read by admin too, who pulls personal data masked:
        # a complainant's value is written there masked (docs/security.md).
        shown = (field_rules.mask(stored)
                 if c.field in field_rules.PERSONAL.get(c.entity, ()) else stored)
        access.audit(tx, p, now, "resolve_conflict", c.entity, c.entity_id, conflict_id=c.id,
                     field=c.field, choice=req.choice, value=shown, hlc=str(hlc))
    return _view(store, store.get_conflict(conflict_id))
