"""Push, pull and receipt: the rules of docs/protocol.md.

``push`` commits a whole batch in one transaction, set-wise
(``batch.BatchTx``): the batch's ledger rows and records are read in a few
statements, every mutation is checked and merged in Python inside its own
(in-memory) savepoint, so a rejected one leaves no trace but its ledger row
and the rest of the batch still applies, and the writes go out at the end
with one ``executemany`` per table.
"""

from __future__ import annotations

from typing import Any

import msgspec

from shared_schema import fields as field_rules
from shared_schema.entities import PERSONAL_FIELDS
from shared_schema.roles import OFFICE_ROLES
from shared_schema.wire import (
    SUPPORTED_PROTOCOLS,
    Mutation,
    MutationResult,
    PushRequest,
    PushResponse,
    RawChange,
    RawPullResponse,
    Receipt,
)
from sync_server.domain.errors import DomainError, Rejection
from sync_server.domain.principal import Principal
from sync_server.domain.sync.apply import Batch, Checked, apply, check, stamp
from sync_server.domain.sync.batch import BatchTx
from sync_server.settings import Settings
from sync_server.store.base import ChangeRow, LedgerEntry, StoreTx, SyncStore



# --- push ---------------------------------------------------------------------


def push(store: SyncStore, settings: Settings, p: Principal, req: PushRequest) -> PushResponse:
    if req.protocol not in SUPPORTED_PROTOCOLS:
        raise DomainError("unsupported_protocol", f"protocol {req.protocol} is not supported",
                          supported=list(SUPPORTED_PROTOCOLS))
    if req.device_id != p.device_id:
        raise DomainError("device_mismatch", "this login belongs to another device")
    if len(req.mutations) > settings.max_mutations:
        raise DomainError("too_many_mutations",
                          f"at most {settings.max_mutations} mutations per push",
                          limit=settings.max_mutations, got=len(req.mutations))
    now = settings.now_ms()
    # What needs no database is worked out first, outside the single writer.
    checked = [check(p, m) for m in req.mutations]
    # Concurrent pushes share one transaction and one fsync (group commit); each
    # is undone alone if it fails, and all are committed before any answers.
    results, skewed, cursor = store.write_grouped(
        lambda tx: _push_in(tx, settings, p, req, checked, now))
    return PushResponse(results=results, server_time_ms=now, cursor_hint=cursor,
                        clock_skewed=skewed)


def _push_in(tx: StoreTx, settings: Settings, p: Principal, req: PushRequest,
             checked: list["Checked"], now: int) -> tuple[list[MutationResult], bool, int]:
    work = BatchTx(tx)
    work.prefetch(req.mutations, p.device_id)
    batch = Batch(work, p, settings, now)
    results = [_one(batch, m, c) for m, c in zip(req.mutations, checked, strict=True)]
    work.flush()
    device = batch.device  # read once above; nothing in the batch writes it
    if device is not None:
        device.last_push_ms = now
        if req.client_time_ms:
            device.clock_offset_ms = req.client_time_ms - now
        device.skewed = batch.skewed or (
            device.clock_offset_ms is not None
            and abs(device.clock_offset_ms) > settings.max_clock_skew_ms
        )
        if batch.last_hlc is not None:
            device.last_hlc = str(batch.last_hlc)
        tx.put_device(device)
    return results, batch.skewed, work.max_rev()  # the counter as flushed: no read


def _one(b: Batch, m: Mutation, c: Checked) -> MutationResult:
    fp = c.fp
    seen = b.tx.get_mutation(m.id)
    if seen is not None:
        if seen.fingerprint != fp:
            return MutationResult(id=m.id, status="rejected", error=Rejection(
                "mutation_id_reused",
                "this mutation id was already used for a different change",
            ).info())
        if seen.status == "rejected":
            return msgspec.convert(seen.result, MutationResult)
        return MutationResult(id=m.id, status="duplicate")
    try:
        if c.error is not None:
            if c.hlc is not None:
                stamp(b, m, c.hlc)  # a valid clock counts, as when fields were checked after it
            raise c.error
        with b.tx.savepoint():
            result = apply(b, m, c)
    except Rejection as r:
        result = MutationResult(id=m.id, status="rejected", error=r.info())
    b.tx.put_mutation(LedgerEntry(
        id=m.id, device_id=b.p.device_id, user_id=b.p.user_id, seq=m.seq, fingerprint=fp,
        status=result.status, result=msgspec.to_builtins(result), entity=m.entity,
        entity_id=m.entity_id, received_at=b.now,
    ))
    return result


# --- pull ---------------------------------------------------------------------


def mask(value: Any) -> Any:
    """A personal value as others see it: ``shared_schema.fields.mask`` (phone
    numbers 3+4, ``138****1234``), shared with the device so it can tell a
    mask from a value and never sends one back."""
    return field_rules.mask(value)


def must_mask(p: Principal, entity: str, created_by_user: str | None) -> bool:
    """Complainant data is masked for field roles, except for the user who
    recorded the case (on any of their devices). Never because of a device
    id: a device id is sent by the client and seen by everyone in ``hlc``."""
    return (entity == "case" and p.role not in OFFICE_ROLES
            and (created_by_user is None or created_by_user != p.user_id))


def pull(store: SyncStore, settings: Settings, p: Principal, since: int,
         limit: int | None) -> "RawPullResponse":
    limit = settings.pull_default_limit if limit is None else limit
    if limit < 1 or limit > settings.pull_max_limit:
        raise DomainError("invalid_parameter", f"limit must be 1..{settings.pull_max_limit}",
                          path="limit")
    if since < 0:
        raise DomainError("invalid_parameter", "since must be ≥ 0", path="since")
    now = settings.now_ms()
    # The device, the stable revision (the cursor never passes it: see
    # docs/protocol.md, "Cursor") and the page up to it, read together.
    read = store.pull_page(p.device_id, since, limit + 1, p.visibility())
    device, top = read.device, read.top
    if since > 0 and (device is None or device.scope_version_seen != p.scope_version):
        raise DomainError("resync_required",
                          "your villages or departments changed: pull again from 0")
    if since > top:
        # The device has seen revisions this database never made: the server
        # was restored from a backup. Pulling on from ``since`` would skip the
        # revisions made after the restore up to it; start over from 0.
        raise DomainError("resync_required",
                          "the server's data was restored from a backup: pull again from 0",
                          since=since, server_rev=top)
    raw = read.rows
    has_more = len(raw) > limit
    raw = raw[:limit]
    changes = [_raw_change(p, r) for r in raw]
    last_rev = raw[-1].rev if raw else 0
    cursor = last_rev if has_more else max(top, since)
    # The receipt's "last pull", without a turn at the single writer (see note_pull).
    store.note_pull(p.device_id, now, p.scope_version if since == 0 else None)
    return RawPullResponse(changes=changes, cursor=cursor, has_more=has_more,
                            server_time_ms=now)


def _raw_change(p: Principal, r: ChangeRow) -> RawChange:
    data = r.data
    if must_mask(p, r.entity, r.created_by_user):
        masked = {k: (mask(v) if k in PERSONAL_FIELDS else v)
                  for k, v in msgspec.json.decode(data).items()}
        data = msgspec.Raw(msgspec.json.encode(masked))
    return RawChange(entity=r.entity, id=r.id, rev=r.rev, deleted=r.deleted, data=data,
                     field_revs=r.field_revs, hlc=r.hlc)


# --- receipt ------------------------------------------------------------------


def receipt(store: SyncStore, p: Principal, device_id: str | None) -> Receipt:
    device_id = device_id or p.device_id
    if device_id != p.device_id and p.role not in ("office", "admin"):
        raise DomainError("forbidden", "you may read only your own device's receipt")
    device = store.get_device(device_id)
    if device is None:
        raise DomainError("not_found", "no such device")
    stats = store.device_stats(device_id)
    named = store.photo_hashes_named_by(device_id)
    held = store.blobs_in(named)
    return Receipt(
        device_id=device_id, mutations_received=stats.mutations_received,
        last_seq=stats.last_seq, mutations_applied=stats.mutations_applied,
        mutations_rejected=stats.mutations_rejected, photos_received=len(held),
        photos_verified=sorted(held), photos_missing=[h for h in named if h not in held],
        last_push_ms=device.last_push_ms, last_pull_ms=device.last_pull_ms,
        clock_offset_ms=device.clock_offset_ms, clock_skewed=device.skewed,
    )
