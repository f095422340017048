"""The one write path of records: what a push and an office action both go through.

``check`` is what needs no database (entity, id, HLC, field types, values);
``apply`` the rest, against the stored records (role, scope, who may write
which field, the case fold, the per-field merge), inside the caller's
transaction. ``push`` (``service.py``) runs them per mutation with the
device ledger; an office action runs them once through ``write``. A broken
rule is a ``Rejection``.
"""

from __future__ import annotations

import functools
import hashlib
import re
from collections import Counter
from typing import Any, NamedTuple

from shared_schema import fields as field_rules
from shared_schema.checklists import ChecklistError, load_templates, template_for_site_kind
from shared_schema.entities import (
    ENTITY_TYPES,
    INSERT_ONLY_ENTITIES,
    SERVER_ENTITIES,
    SYSTEM_FIELDS,
    FieldTypeError,
    check_fields,
)
from shared_schema.hlc import Hlc, HlcError
from shared_schema.ids import is_uuid
from shared_schema.merge import Author
from shared_schema.servertime import RECEIVED_AT, event_ms
from shared_schema.wire import Delete, Insert, Mutation, MutationResult, Upsert, mutation_fingerprint
from sync_server.domain.errors import Rejection
from sync_server.domain.principal import Principal
from sync_server.domain.sync import followup, incidents, rules
from sync_server.domain.sync.records import (
    keys_of,
    new_record,
    peek,
    rescope_children,
    scope_keys,
    set_derived,
    set_keys,
    write_fields,
)
from sync_server.settings import Settings
from sync_server.store.base import StoreTx, StoredRecord


class Batch:
    """State of one write while its transaction is open: a push, or an
    office action (``console=True``)."""

    def __init__(self, tx: StoreTx, p: Principal, settings: Settings, now: int,
                 console: bool = False) -> None:
        self.tx = tx
        self.p = p
        self.settings = settings
        self.now = now
        self.author = Author(p.user_id, p.device_id)
        self.device = device = tx.get_device(p.device_id)
        self.last_hlc = Hlc.parse(device.last_hlc) if device and device.last_hlc else None
        self.skewed = False
        #: An office console write (``office/writes.py``), not a push: the
        #: only way to write the fields ``shared_schema.fields`` gives to
        #: ``approval`` (the site registry's facts).
        self.console = console


def _fingerprint(m: Mutation) -> str:
    return hashlib.sha256(mutation_fingerprint(m)).hexdigest()


class Checked(NamedTuple):
    """What a mutation is, apart from the database: its exactly-once
    fingerprint, and either its parsed HLC and type-checked fields or the
    first rule it breaks (raised only after the ledger has been asked, so a
    replay still answers as the first time)."""

    fp: str
    hlc: Hlc | None = None
    fields: dict[str, Any] | None = None
    error: Rejection | None = None


def check(p: Principal, m: Mutation) -> Checked:
    """The checks that need no database, the first failing one reported:
    entity, id, operation, HLC, unknown fields, lengths and masked personal
    values (``shared_schema.fields``), derived case fields, field types,
    values. Pure: run by the request's thread before it queues for the
    single writer; ``apply`` then does the checks that need the stored
    records (role, scope, who may write which field)."""
    fp = _fingerprint(m)
    hlc = None
    try:
        if m.entity not in ENTITY_TYPES:
            raise Rejection("unknown_entity", f"unknown entity {m.entity!r}", entity=m.entity)
        if not (isinstance(m.entity_id, str) and _CANONICAL_UUID.fullmatch(m.entity_id)
                or is_uuid(m.entity_id)):
            raise Rejection("invalid_id", "entity_id must be a UUID", path="$.entity_id")
        if m.entity in SERVER_ENTITIES:  # --- #17 warnings: written by the server only ---
            raise Rejection("read_only_entity", f"{m.entity} is written by the server only",
                            entity=m.entity)
        op = "upsert" if isinstance(m, Upsert) else "insert" if isinstance(m, Insert) else "delete"
        rules.check_op(m.entity, op)
        try:
            parsed = Hlc.parse(m.hlc)
        except HlcError as exc:
            raise Rejection("invalid_hlc", str(exc), path="$.hlc") from None
        if parsed.node != p.device_id:
            raise Rejection("invalid_hlc", "the HLC node must be the device id", path="$.hlc")
        hlc = parsed  # a valid clock: stamped even if the fields are then rejected
        if isinstance(m, Delete):
            return Checked(fp, hlc)
        refusal = field_rules.refuse_values(m.entity, m.fields)
        if refusal is not None:
            raise refused(refusal)
        if m.entity == "case":
            rules.check_case_fields(m.fields)  # every name sent, not only the typed ones
        try:
            fields = check_fields(m.entity, {k: v for k, v in m.fields.items()
                                             if k not in SYSTEM_FIELDS or k == "created_at"})
        except FieldTypeError as exc:
            raise Rejection("invalid_field", str(exc), path=exc.path) from None
        rules.check_values(m.entity, fields)
        return Checked(fp, hlc, fields)
    except Rejection as r:
        return Checked(fp, hlc, error=r)


def refused(r: field_rules.FieldRefusal) -> Rejection:
    return Rejection(r.code, r.message, **r.info())


def _check_owners(b: Batch, m: Mutation, stored: StoredRecord | None) -> None:
    """Every field ``m`` sends, against who may write it (``shared_schema.fields``):
    after the entity's own rules, so their codes (``not_author``,
    ``role_not_allowed``…) come first. ``stored`` is ``None`` for a new record,
    whose creator is its recorder."""
    if stored is None:
        recorder = True
    elif m.entity == "inspection":
        recorder = stored.data.get("inspector_id") == b.p.user_id
    else:
        recorder = stored.created_by_user == b.p.user_id
    refusal = field_rules.refuse_writer(m.entity, m.fields, b.p.role, recorder=recorder,
                                        console=b.console)
    if refusal is not None:
        raise refused(refusal)


def stamp(b: Batch, m: Mutation, hlc: Hlc) -> tuple[str, bool]:
    """The HLC to store: the device's (parsed and checked by ``check``), or
    re-stamped at server time if it is too far ahead. Returns (hlc, restamped)."""
    restamped = False
    if hlc.wall_ms > b.now + b.settings.max_clock_skew_ms:
        hlc = hlc.restamped(b.now)
        restamped = True
        b.skewed = True
    if restamped and b.last_hlc is not None and hlc <= b.last_hlc:
        # Keep the device's own order after clamping.
        hlc = Hlc(b.last_hlc.wall_ms, b.last_hlc.counter + 1, hlc.node)
        if hlc.counter > 9999:
            hlc = Hlc(hlc.wall_ms + 1, 0, hlc.node)
    if b.last_hlc is None or hlc > b.last_hlc:
        b.last_hlc = hlc
    if not restamped and m.hlc.isascii():
        return m.hlc, False  # str(Hlc.parse(text)) is text for ASCII digits
    return str(hlc), restamped


#: The canonical spelling of a UUID: ``is_uuid`` accepts it (and other spellings,
#: which go to ``is_uuid`` itself); a regex match is cheaper than ``uuid.UUID``.
_CANONICAL_UUID = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def apply(b: Batch, m: Mutation, c: Checked) -> MutationResult:
    assert c.hlc is not None  # a mutation that failed check does not get here
    hlc, restamped = stamp(b, m, c.hlc)
    if isinstance(m, Delete):
        status = _delete(b, m, hlc)
    else:
        fields = c.fields
        assert fields is not None
        if m.entity in INSERT_ONLY_ENTITIES:
            status, conflicts = _insert(b, m, fields, hlc), []
        else:
            status, conflicts = _upsert(b, m, fields, hlc)
        if status != "duplicate" and conflicts:
            return MutationResult(id=m.id, status="merged", conflicts=conflicts,
                                  hlc=hlc if restamped else None)
    return MutationResult(id=m.id, status=status, hlc=hlc if restamped else None)


def _load_live(b: Batch, entity: str, id: str) -> StoredRecord | None:
    rec = b.tx.get_record(entity, id)
    if rec is not None and rec.deleted:
        raise Rejection("record_deleted", f"this {entity} was deleted", entity=entity, id=id)
    return rec


def _upsert(b: Batch, m: Upsert, fields: dict[str, Any], hlc: str):
    p, tx = b.p, b.tx
    stored = _load_live(b, m.entity, m.entity_id)
    rules.check_role(p, rules.UPSERT_ROLES[m.entity], "edit", m.entity)
    if stored is not None:
        rules.check_scope(p, stored.village_id, stored.department_id, stored.created_by_user,
                          m.entity, m.entity_id)
    merged = {**(stored.data if stored else {}), **fields}
    base = m.base
    if stored is None:
        rules.check_role(p, rules.CREATE_ROLES[m.entity], "create", m.entity)
        rules.check_required(m.entity, merged)
    if m.entity == "case":
        if stored is None:
            # A case on a site is in the site's village: it routes with that
            # village when it names none itself (small cases stay in the village).
            site = peek(tx, "site", merged["site_id"]) if merged.get("site_id") else None
            routed = {**merged, "village_id": merged.get("village_id")
                      or (site.village_id if site is not None else None)}
            fields = {**fields, **rules.case_initial(routed, site, tx, p.user_id)}
            fields.setdefault("opened_at", b.now)
    if m.entity == "inspection":
        site_id = merged.get("site_id")
        site = peek(tx, "site", site_id or "")
        if site is None or site.deleted:
            raise Rejection("unknown_site", "the inspection's site is not in the registry",
                            site_id=site_id)
        template = _template(stored, site, fields.get("template_id"))
        counts = Counter(
            ph.data.get("item_code") or "" for ph in tx.children_of(m.entity_id, "photo")
            if not ph.deleted
        )
        fields = rules.check_inspection(p, stored, fields, template, dict(counts), b.now)
        if (stored is not None and "review_state" in fields and "review_state" not in m.fields
                and "review_state" in stored.meta):
            # the server's own write (a resubmitted returned inspection goes back to
            # pending) is based on what it holds: no conflict with the reviewer
            base = {**base, "review_state": stored.meta["review_state"].rev}
    _check_owners(b, m, stored)
    if m.entity in ("case", "inspection", "site"):
        _check_reference(b, m.entity, merged)
    keys = scope_keys(tx, m.entity, m.entity_id, {**merged, **fields})
    rules.check_scope(p, keys[0], keys[1], stored.created_by_user if stored else p.user_id,
                      m.entity, m.entity_id)
    record = stored or new_record(m.entity, m.entity_id, b.now, b.author)
    moved = stored is not None and keys_of(stored) != keys
    set_keys(record, keys)
    out = write_fields(tx, record, fields, base, hlc, b.author, b.now, m.id)
    if moved and not out.wrote:
        record.rev = tx.next_rev()
        tx.put_record(record)
    if moved and m.entity == "site":
        rescope_children(tx, m.entity_id)
    if m.entity == "inspection":  # --- #17 warnings: risk warning, 复查 task on submission ---
        followup.after_inspection_write(tx, p, b.now, fields, record)
    return ("applied" if not out.conflicts else "merged"), out.conflicts


#: The bundled templates are fixed for the life of the process: looked up once.
_templates = functools.lru_cache(maxsize=1)(load_templates)
_template_for_kind = functools.lru_cache(maxsize=64)(template_for_site_kind)


def _template(stored: StoredRecord | None, site: StoredRecord, asked: Any = None):
    templates = _templates()
    if stored is not None and stored.data.get("template_id") in templates:
        return templates[stored.data["template_id"]]
    # --- #17 warnings: a phone with an older app starts on the template it has
    # (v1), if that one covers the site's kind; else the newest for the kind.
    older = templates.get(asked) if stored is None and isinstance(asked, str) else None
    if older is not None and (site.data.get("kind") or "other") in older.site_kinds:
        return older
    try:
        return _template_for_kind(site.data.get("kind") or "other")
    except ChecklistError:
        raise Rejection("unknown_template", "no checklist template for this site kind") from None


def _check_reference(b: Batch, entity: str, merged: dict[str, Any]) -> None:
    for field, ref in (("village_id", "village"), ("department_id", "department"),
                       ("site_id", "site")):
        value = merged.get(field)
        if value and field in ENTITY_TYPES[entity].__struct_fields__:
            if entity == "inspection" and field != "site_id":
                continue
            rec = peek(b.tx, ref, value)
            if rec is None or rec.deleted:
                raise Rejection(f"unknown_{ref}", f"no {ref} with id {value}", **{field: value})


def _insert(b: Batch, m: Insert, fields: dict[str, Any], hlc: str) -> str:
    p, tx = b.p, b.tx
    stored = tx.get_record(m.entity, m.entity_id)
    if stored is not None:
        same = all(stored.data.get(k) == v for k, v in fields.items()
                   if k not in ("created_at",))
        if same:
            return "duplicate"
        raise Rejection("duplicate_entity",
                        f"this {m.entity} already exists with different content", id=m.entity_id)
    rules.check_required(m.entity, fields)
    record = new_record(m.entity, m.entity_id, b.now, b.author)
    if m.entity == "incident":  # a collective incident: opens or joins a case (#17)
        return incidents.record(b, m, fields, hlc, record, _insert)
    if m.entity == "photo":
        rules.check_role(p, rules.CREATE_ROLES["photo"], "add", "photo")
        owner = tx.get_record(fields["owner_entity"], fields["owner_id"])
        if owner is None or owner.deleted:
            raise Rejection("unknown_owner", "the photo's inspection or case is not on the server",
                            owner_entity=fields["owner_entity"], owner_id=fields["owner_id"])
        rules.check_scope(p, owner.village_id, owner.department_id, owner.created_by_user,
                          owner.entity, owner.id)
        if owner.entity == "inspection":
            rules.check_inspection_photos(p, owner)
        _check_owners(b, m, None)
        set_keys(record, scope_keys(tx, "photo", m.entity_id, fields))
        write_fields(tx, record, fields, {}, hlc, b.author, b.now, m.id)
        return "applied"
    # case_event: fold the case's events in HLC order, the new one included.
    case = _load_live(b, "case", fields["case_id"])
    if case is None:
        raise Rejection("unknown_case", "the case is not on the server", case_id=fields["case_id"])
    rules.check_scope(p, case.village_id, case.department_id, case.created_by_user,
                      "case", case.id)
    _check_owners(b, m, None)
    fields = {**fields, "author_role": p.role, "author_id": p.user_id, "hlc": hlc}
    events = [e.data for e in tx.children_of(case.id, "case_event") if not e.deleted]
    events.append({"created_at": b.now, **fields, RECEIVED_AT: b.now})
    events.sort(key=lambda e: e["hlc"])
    # Each event counts at server time (its receipt, or its device time within
    # max_backdate_ms before it): accepted_at, resolved_at, closed_at follow.
    window = b.settings.max_backdate_ms
    derived = rules.fold_case(case, [
        (e["kind"], e["author_role"], e, event_ms(e, window)) for e in events
    ])
    set_keys(record, scope_keys(tx, "case_event", m.entity_id, fields))
    write_fields(tx, record, fields, {}, hlc, b.author, b.now, m.id)
    set_derived(tx, case, derived, hlc, b.author, b.now)
    return "applied"


def _delete(b: Batch, m: Delete, hlc: str) -> str:
    p, tx = b.p, b.tx
    stored = tx.get_record(m.entity, m.entity_id)
    if stored is None:
        raise Rejection("not_found", f"no {m.entity} {m.entity_id} to delete")
    if stored.deleted:
        return "applied"
    rules.check_scope(p, stored.village_id, stored.department_id, stored.created_by_user,
                      m.entity, m.entity_id)
    rules.check_role(p, rules.DELETE_ROLES[m.entity], "delete", m.entity)
    if m.entity == "inspection" and p.role != "office":
        if stored.data.get("inspector_id") != p.user_id:
            raise Rejection("not_author", "only its inspector may delete a draft inspection")
        if stored.data.get("state") == "submitted":
            raise Rejection("inspection_submitted", "a submitted inspection cannot be deleted")
    if m.entity == "photo":
        owner_id = stored.data.get("owner_id")
        owner = (tx.get_record("inspection", owner_id)
                 if stored.data.get("owner_entity") == "inspection" and owner_id else None)
        rules.check_photo_delete(p, stored, owner)
    stored.deleted = True
    set_derived(tx, stored, {"deleted": True}, hlc, b.author, b.now)
    tx.add_tombstone(m.entity, m.entity_id, stored.rev, b.now, p.user_id)
    return "applied"


def write(b: Batch, m: Mutation) -> MutationResult:
    """One mutation that came from no device outbox (an office action):
    checked, then applied in a savepoint of ``b``'s transaction; the first
    rule it breaks is raised as a ``Rejection`` and leaves no trace."""
    checked = check(b.p, m)
    if checked.error is not None:
        raise checked.error
    with b.tx.savepoint():
        return apply(b, m, checked)
