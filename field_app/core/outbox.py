"""The outbox: user edits as numbered, clock-stamped wire mutations, and what
happens to them when the server answers.

* ``DeviceClock`` stamps every mutation with the device's HLC (node = device
  id) and persists it in the same transaction, so it never goes back, even
  across restarts; it also advances past every HLC the server sends.
* ``Outbox`` allocates ``seq`` (one more per mutation, never reused), writes
  the mutation, and applies the server's answers: acknowledged mutations
  leave the outbox and their values become the record's server values until
  the next pull; rejected ones move to the quarantine, still shown on top of
  the record, until a person retries (fixed) or discards them.
"""

from __future__ import annotations

from typing import Any, Callable

from field_app.core import rebase
from field_app.core.errors import InvalidInput, NotFound
from field_app.core.store import RecordRow, Tx
from shared_schema.entities import FieldTypeError, check_fields
from shared_schema.hlc import CounterOverflowError, Hlc, HlcError, HybridClock
from shared_schema.ids import uuid7
from shared_schema.wire import Delete, Insert, Mutation, MutationResult, Upsert


class DeviceClock:
    """The device's HLC, persisted under ``state.hlc`` by whoever calls it."""

    def __init__(self, node: str, now_ms: Callable[[], int], last: str | None) -> None:
        self._clock = HybridClock(node, now_ms=now_ms, last=Hlc.parse(last) if last else None)

    @property
    def last(self) -> str:
        return str(self._clock.last)

    def tick(self, tx: Tx) -> str:
        try:
            hlc = str(self._clock.tick())
        except CounterOverflowError:
            hlc = self._roll_over()
        tx.set("hlc", hlc)
        return hlc

    def _roll_over(self) -> str:
        """10,000 stamps on one millisecond: a phone clock far behind the HLCs
        it received. Step to the next millisecond rather than refuse to record
        (still monotonic, still in string order)."""
        last = self._clock.last
        self._clock.last = Hlc(last.wall_ms + 1, 0, last.node)
        return str(self._clock.last)

    def receive(self, tx: Tx, remote: str | None) -> None:
        """Move past a received HLC (never back); persists the new value."""
        if not remote:
            return
        try:
            parsed = Hlc.parse(remote)
        except HlcError:
            return
        if parsed > self._clock.last:
            try:
                self._clock.receive(parsed)
            except CounterOverflowError:
                self._clock.last = Hlc(max(parsed.wall_ms, self._clock.last.wall_ms) + 1, 0,
                                       self._clock.last.node)
            tx.set("hlc", str(self._clock.last))


class Outbox:
    def __init__(self, clock: DeviceClock, now_ms: Callable[[], int]) -> None:
        self.clock = clock
        self.now_ms = now_ms

    # writing ----------------------------------------------------------------------
    def _stamp(self, tx: Tx) -> tuple[str, int, str]:
        return uuid7(self.now_ms), tx.incr("next_seq"), self.clock.tick(tx)

    def upsert(self, tx: Tx, entity: str, entity_id: str, fields: dict[str, Any],
               base: dict[str, int]) -> Upsert:
        id, seq, hlc = self._stamp(tx)
        m = Upsert(id=id, seq=seq, hlc=hlc, entity=entity, entity_id=entity_id,
                   fields=fields, base=base)
        tx.add_mutation(m)
        tx.refresh(entity, entity_id)
        return m

    def insert(self, tx: Tx, entity: str, entity_id: str, fields: dict[str, Any]) -> Insert:
        id, seq, hlc = self._stamp(tx)
        m = Insert(id=id, seq=seq, hlc=hlc, entity=entity, entity_id=entity_id, fields=fields)
        tx.add_mutation(m)
        tx.refresh(entity, entity_id)
        return m

    def edit(self, tx: Tx, row: RecordRow, fields: dict[str, Any]) -> Upsert:
        """An edit of an existing record, based on the revisions the user sees now."""
        return self.upsert(tx, row.entity, row.id, fields,
                           row.base_for(rebase.flat_keys(row.entity, fields)))

    # the server's answers -----------------------------------------------------------
    def acknowledge(self, tx: Tx, m: Mutation, result: MutationResult) -> None:
        """applied / merged / duplicate: the mutation is the server's now."""
        conflicted = {c.field for c in result.conflicts}
        row = tx.row(m.entity, m.entity_id) or RecordRow(entity=m.entity, id=m.entity_id,
                                                         data={})
        if result.status == "duplicate" and isinstance(m, Upsert):
            # Applied at an earlier attempt whose answer was lost. A pull since
            # then may have brought newer values of these fields, and the cursor
            # is past them: where the device saw a revision newer than the
            # mutation's base, the pulled value is the server's — keep it.
            revs = row.field_revs or {}
            conflicted |= {k for k in rebase.flat_keys(m.entity, m.fields)
                           if revs.get(k, 0) != m.base.get(k, 0)}
        row.server = rebase.acknowledge(m.entity, row.server, m, conflicted)
        row.seen_gen = int(tx.get("gen", 0))  # the server holds it for us: visible
        tx.remove_outbox(m.id)
        tx.put_row(row)
        tx.refresh(m.entity, m.entity_id)
        tx.incr("acked_count")
        tx.set("last_answered_seq", max(int(tx.get("last_answered_seq", 0)), m.seq))
        self.clock.receive(tx, result.hlc)

    def reject(self, tx: Tx, m: Mutation, code: str, message: str,
               details: dict[str, Any]) -> None:
        """A permanent failure: keep it, with its reason, for a person to handle."""
        tx.add_quarantine(id=m.id, kind="mutation", code=code, message=message,
                          details=details, m=m)
        tx.remove_outbox(m.id)
        tx.refresh(m.entity, m.entity_id)
        tx.incr("rejected_count")
        tx.set("last_answered_seq", max(int(tx.get("last_answered_seq", 0)), m.seq))

    # the quarantine -------------------------------------------------------------------
    def retry(self, tx: Tx, qid: str, changes: dict[str, Any]) -> str:
        """Queue a quarantined mutation again, with ``changes`` written over its
        fields, as a NEW mutation (new id, seq and HLC: the server remembers the
        rejected id and would answer the same again). Unchanged fields keep the
        base the user saw when typing them; changed fields base on the revision
        the user sees now. Returns the new mutation id (or the photo's id)."""
        q = next((r for r in tx.quarantine("open") if r.id == qid), None)
        if q is None:
            raise NotFound("not_in_quarantine", f"nothing open in the quarantine with id {qid}")
        if q.kind == "photo":
            if changes:
                raise InvalidInput("invalid_field", "a photo upload has no fields to set")
            tx.update_photo(qid.split(":", 1)[1], state="pending", upload_url=None,
                            attempts=0, last_error=None)
            tx.resolve_quarantine(qid, "retried", qid)
            return qid
        m = q.mutation
        assert m is not None
        if changes:
            if isinstance(m, Delete):
                raise InvalidInput("invalid_field", "a delete has no fields to set")
            try:
                check_fields(m.entity, changes)
            except FieldTypeError as exc:
                raise InvalidInput("invalid_field", str(exc), path=exc.path) from None
        fields = rebase.apply_fields(m.entity, dict(m.fields), changes)
        id, seq, hlc = self._stamp(tx)
        if isinstance(m, Insert):
            new: Mutation = Insert(id=id, seq=seq, hlc=hlc, entity=m.entity,
                                   entity_id=m.entity_id, fields=fields)
        else:
            base = dict(m.base)
            row = tx.row(m.entity, m.entity_id)
            for key in rebase.flat_keys(m.entity, changes):
                base[key] = row.base_for([key])[key] if row else 0
            cls = Delete if isinstance(m, Delete) else Upsert
            new = cls(id=id, seq=seq, hlc=hlc, entity=m.entity, entity_id=m.entity_id,
                      fields=fields, base=base)
        tx.resolve_quarantine(qid, "retried", new.id)
        tx.add_mutation(new)
        tx.refresh(m.entity, m.entity_id)
        return new.id

    def discard(self, tx: Tx, qid: str) -> None:
        """Drop a quarantined item for good (the caller has asked the user)."""
        q = next((r for r in tx.quarantine("open") if r.id == qid), None)
        if q is None:
            raise NotFound("not_in_quarantine", f"nothing open in the quarantine with id {qid}")
        tx.resolve_quarantine(qid, "discarded")
        if q.kind == "photo":
            tx.update_photo(qid.split(":", 1)[1], state="discarded")
        elif q.entity and q.entity_id:
            row = tx.refresh(q.entity, q.entity_id)
            # A record the last full resync no longer showed was kept only for
            # this edit: with the edit gone, it goes too.
            if (row is not None and row.seen_gen < int(tx.get("gen", 0))
                    and not tx.get("resync", False)
                    and not tx.has_overlays(q.entity, q.entity_id)):
                tx.delete_row(q.entity, q.entity_id)
