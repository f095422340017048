"""Writing fields into stored records: per-field merge, history, conflicts, scope keys.

Pushes, the seed and office actions all write through ``write_fields`` so
every change gets a revision, one history row (all the fields it wrote) and,
when concurrent, a conflict record.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared_schema.entities import REFERENCE_ENTITIES
from shared_schema.ids import uuid7
from shared_schema.merge import Author, FieldEdit, FieldState, merge_field
from shared_schema.paths import MAP_FIELDS, flatten, get_flat
from shared_schema.servertime import RECEIVED_AT
from shared_schema.wire import ConflictRef
from sync_server.store.base import ConflictRecord, FieldMeta, StoreTx, StoredRecord

@dataclass
class WriteOutcome:
    wrote: bool = False
    conflicts: list[ConflictRef] = field(default_factory=list)


def base_for(base: dict[str, int], key: str) -> int:
    if key in base:
        return base[key]
    top = key.split(".", 1)[0]
    return base.get(top, 0)


def new_record(entity: str, id: str, now_ms: int, author: Author | None) -> StoredRecord:
    return StoredRecord(
        entity=entity, id=id, rev=0,
        # received_at: the server's clock when it first got the record (server-owned).
        data={"id": id, "created_at": now_ms, RECEIVED_AT: now_ms},
        created_by_user=author.user_id if author else None,
        created_by_device=author.device_id if author else None,
    )


def write_fields(
    tx: StoreTx,
    record: StoredRecord,
    fields: dict[str, Any],
    base: dict[str, int],
    hlc: str,
    author: Author,
    now_ms: int,
    mutation_id: str,
) -> WriteOutcome:
    """Merge ``fields`` into ``record`` (already loaded or new) and store it.

    Assigns one new revision to the record when anything changed; every
    written field gets that revision. A fresh record is always stored.
    """
    outcome = WriteOutcome()
    if not record.meta and (fields or record.rev == 0):
        # Nothing written yet (a new record): every field is a clean write, as
        # merge_field(None, …) says; one pass, no per-field merge bookkeeping.
        return _write_fresh(tx, record, fields, hlc, author, now_ms, outcome)
    writes: list[tuple[str, Any]] = []
    for key, value in flatten(record.entity, fields).items():
        meta = record.meta.get(key)
        if meta is None:  # never written: merge_field says "clean, write", no conflict
            writes.append((key, value))
            continue
        stored = (
            FieldState(get_flat(record.data, key), meta.rev, meta.hlc,
                       Author(meta.user_id or "", meta.device_id or ""))
            if meta else None
        )
        edit = FieldEdit(value=value, base=base_for(base, key), hlc=hlc, author=author)
        merged = merge_field(stored, edit)
        if merged.conflict:
            assert stored is not None
            found, base_value = tx.history_value(record.entity, record.id, key, edit.base)
            win, lose = (edit, stored) if merged.outcome == "won" else (stored, edit)
            conflict = ConflictRecord(
                id=uuid7(), entity=record.entity, entity_id=record.id, field=key,
                base_rev=edit.base, base_value=base_value if found else None,
                winner_value=win.value, winner_hlc=win.hlc,
                winner_user=win.author.user_id if win.author else None,
                winner_device=win.author.device_id if win.author else None,
                loser_value=lose.value, loser_hlc=lose.hlc,
                loser_user=lose.author.user_id if lose.author else None,
                loser_device=lose.author.device_id if lose.author else None,
                mutation_id=mutation_id, created_at=now_ms,
            )
            tx.add_conflict(conflict)
            outcome.conflicts.append(ConflictRef(field=key, conflict_id=conflict.id))
        if merged.write:
            writes.append((key, value))
    if writes or record.rev == 0:
        rev = tx.next_rev()
        copied: set[str] = set()
        meta = FieldMeta(rev=rev, hlc=hlc, user_id=author.user_id, device_id=author.device_id)
        values: dict[str, Any] = {}
        for key, value in writes:
            record.meta[key] = meta
            if "." in key:
                # set_flat, copying each map once per write rather than once per item
                top, item = key.split(".", 1)
                if top not in copied:
                    record.data[top] = dict(record.data.get(top) or {})
                    copied.add(top)
                record.data[top][item] = value
            else:
                record.data[key] = value
                copied.discard(key)
            values[key] = value
        _store_write(tx, record, meta, values, now_ms, outcome)
    return outcome


def _write_fresh(tx: StoreTx, record: StoredRecord, fields: dict[str, Any], hlc: str,
                 author: Author, now_ms: int, outcome: WriteOutcome) -> WriteOutcome:
    """``write_fields`` for a record with no field written yet."""
    values = flatten(record.entity, fields)
    rev = tx.next_rev()
    meta = FieldMeta(rev=rev, hlc=hlc, user_id=author.user_id, device_id=author.device_id)
    record.meta = dict.fromkeys(values, meta)
    maps = MAP_FIELDS.get(record.entity, ())
    for key, value in fields.items():
        if key in maps and isinstance(value, dict):
            record.data[key] = {**(record.data.get(key) or {}), **value}
        else:
            record.data[key] = value
    _store_write(tx, record, meta, values, now_ms, outcome)
    return outcome


def _store_write(tx: StoreTx, record: StoredRecord, meta: FieldMeta, values: dict[str, Any],
                 now_ms: int, outcome: WriteOutcome | None = None) -> None:
    """One write of ``record`` at ``meta.rev``: its history row (the fields it
    set) and the record itself."""
    if values:
        tx.add_write(record.entity, record.id, meta, values)
    record.rev = meta.rev
    record.data["updated_at"] = now_ms
    tx.put_record(record)
    if outcome is not None:
        outcome.wrote = True


def set_derived(tx: StoreTx, record: StoredRecord, values: dict[str, Any], hlc: str,
                author: Author, now_ms: int) -> bool:
    """Write server-derived fields (case status, level…) without merging."""
    changed = {k: v for k, v in values.items() if record.data.get(k) != v or k not in record.meta}
    if not changed:
        return False
    rev = tx.next_rev()
    meta = FieldMeta(rev=rev, hlc=hlc, user_id=author.user_id, device_id=author.device_id)
    for key, value in changed.items():
        record.meta[key] = meta
        record.data[key] = value
    _store_write(tx, record, meta, changed, now_ms)
    return True


Keys = tuple[str | None, str | None, str | None, str | None]


def peek(tx: StoreTx, entity: str, id: str) -> StoredRecord | None:
    """A record read only to look at it (scope keys, kind, existence): the
    transaction's ``peek_record`` (may hand out the same object again within
    the transaction). Never change it."""
    return tx.peek_record(entity, id)


def scope_keys(tx: StoreTx, entity: str, id: str, d: dict[str, Any]) -> Keys:
    """(village_id, department_id, site_id, parent_id) a record is visible by."""
    if entity in REFERENCE_ENTITIES:
        return None, None, None, None
    if entity == "site":
        return d.get("village_id"), d.get("department_id"), id, None
    if entity == "inspection":
        site = peek(tx, "site", d.get("site_id") or "")
        return (site.village_id, site.department_id, site.id, site.id) if site else (None,) * 4
    if entity == "case":
        site = peek(tx, "site", d.get("site_id") or "") if d.get("site_id") else None
        # A case on a site belongs where the site is, and follows it if it moves.
        village = site.village_id if site else d.get("village_id")
        return village, site.department_id if site else None, site.id if site else None, None
    if entity == "case_event":
        case = tx.get_record("case", d.get("case_id") or "")
        return (case.village_id, case.department_id, case.site_id, case.id) if case else (None,) * 4
    if entity == "photo":
        owner = tx.get_record(d.get("owner_entity") or "", d.get("owner_id") or "")
        if owner is None:
            return None, None, None, d.get("owner_id")
        return owner.village_id, owner.department_id, owner.site_id, owner.id
    # --- #17 warnings --- a risk warning or 复查 task is where its site is, under its inspection
    if entity in ("risk_warning", "reinspection"):
        site = peek(tx, "site", d.get("site_id") or "")
        return (site.village_id, site.department_id, site.id, d.get("inspection_id")) if site \
            else (None,) * 4
    return None, None, None, None


def keys_of(record: StoredRecord) -> Keys:
    return record.village_id, record.department_id, record.site_id, record.parent_id


def set_keys(record: StoredRecord, keys: Keys) -> None:
    record.village_id, record.department_id, record.site_id, record.parent_id = keys


def rescope_children(tx: StoreTx, site_id: str) -> None:
    """A site moved village or department: its records follow it, with new
    revisions so devices of the new scope pull them."""
    order = {"case": 0, "inspection": 1, "case_event": 2, "photo": 3}
    for child in sorted(tx.children_of_site(site_id), key=lambda r: order.get(r.entity, 9)):
        fresh = tx.get_record(child.entity, child.id)
        if fresh is None:
            continue
        keys = scope_keys(tx, fresh.entity, fresh.id, fresh.data)
        if keys != keys_of(fresh):
            set_keys(fresh, keys)
            fresh.rev = tx.next_rev()
            tx.put_record(fresh)
