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

from typing import Any, Callable, Iterable

from field_app.core import rebase
from field_app.core.errors import InvalidInput, NotFound
from field_app.core.store import RecordRow, ServerPart, Tx
from shared_schema import fields as field_rules
from shared_schema.entities import FieldTypeError, check_fields
from shared_schema.hlc import CounterOverflowError, Hlc, HlcError, HybridClock
from shared_schema.ids import uuid7
from shared_schema.paths import flat_keys
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

    def receive_all(self, tx: Tx, remotes: Iterable[str | None]) -> None:
        """Move past every HLC in ``remotes`` with one advance and one state
        write: past the newest (string order is HLC order). If the newest is
        not a valid HLC, each is received in turn, as ``receive`` would."""
        stamps = [r for r in remotes if r]
        if not stamps:
            return
        newest = max(stamps)
        try:
            Hlc.parse(newest)
        except HlcError:
            for remote in stamps:
                self.receive(tx, remote)
            return
        self.receive(tx, newest)


#: Acknowledged one at a time (see ``Outbox.acknowledge_all``).
CASE_ENTITIES = frozenset({"case", "case_event"})


def _kept(field_revs: dict[str, int] | None, m: Mutation, result: MutationResult) -> set[str]:
    """The fields of ``m`` NOT to write into the server values on its
    acknowledgement: those the server reported in conflict (the next pull
    says which value won) and, for a ``duplicate`` upsert (applied at an
    earlier attempt whose answer was lost), those whose revision the device
    has seen (``field_revs``) move past the mutation's base: a pull since
    then brought the server's newer value, and the cursor is past it — keep it."""
    kept = {c.field for c in result.conflicts}
    if result.status == "duplicate" and isinstance(m, Upsert):
        revs = field_revs or {}
        kept |= {k for k in flat_keys(m.entity, m.fields)
                 if revs.get(k, 0) != m.base.get(k, 0)}
    return kept


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

    def delete(self, tx: Tx, row: RecordRow) -> Delete:
        """A delete of an existing record (a tombstone on the server)."""
        id, seq, hlc = self._stamp(tx)
        m = Delete(id=id, seq=seq, hlc=hlc, entity=row.entity, entity_id=row.id,
                   fields={}, base={})
        tx.add_mutation(m)
        tx.refresh(row.entity, row.id)
        return m

    def edit(self, tx: Tx, row: RecordRow, fields: dict[str, Any]) -> Upsert:
        """An edit of an existing record, based on the revisions the user sees now."""
        return self.upsert(tx, row.entity, row.id, fields,
                           row.base_for(flat_keys(row.entity, fields)))

    # the server's answers -----------------------------------------------------------
    def acknowledge(self, tx: Tx, m: Mutation, result: MutationResult) -> None:
        """applied / merged / duplicate: the mutation is the server's now (one
        mutation; ``acknowledge_all`` does a push's worth at once)."""
        row = tx.row(m.entity, m.entity_id) or RecordRow(entity=m.entity, id=m.entity_id,
                                                         data={})
        kept = _kept(row.field_revs if result.status == "duplicate" else None, m, result)
        row.server = rebase.acknowledge(m.entity, row.server, m, kept)
        row.seen_gen = int(tx.get("gen", 0))  # the server holds it for us: visible
        tx.remove_outbox(m.id)
        tx.put_row(row)
        tx.refresh(m.entity, m.entity_id)
        tx.incr("acked_count")
        tx.set("last_answered_seq", max(int(tx.get("last_answered_seq", 0)), m.seq))
        self.clock.receive(tx, result.hlc)

    def acknowledge_all(self, tx: Tx, answered: list[tuple[Mutation, MutationResult]]) -> int:
        """``acknowledge`` for a push's acknowledged mutations at once, set
        based: the outbox rows go in one statement, every touched record is
        read once, its server values take its mutations' fields in seq order,
        its view is recomputed once over what is still waiting, and the rows
        are written in one statement. Mutations no longer in the outbox (an
        answer applied already) are skipped. Returns how many were acknowledged.

        Per mutation: its fields become the record's server values until the
        next pull brings the server's record, except the fields ``_kept``
        names."""
        waiting = tx.outbox_seqs([m.id for m, _ in answered])
        todo = sorted({m.id: (m, r) for m, r in answered if m.id in waiting}.values(),
                      key=lambda p: p[0].seq)
        # Cases and their events one at a time, as ``acknowledge``: the case's
        # locally folded status (``Tx.derive_case``) depends on which events
        # were still waiting at each step. They touch no other entity's rows.
        bulk = [(m, r) for m, r in todo if m.entity not in CASE_ENTITIES]
        for m, r in todo:
            if m.entity in CASE_ENTITIES:
                self.acknowledge(tx, m, r)
        if not bulk:
            return len(todo)
        tx.remove_outbox(*[m.id for m, _ in bulk])
        keys = list(dict.fromkeys((m.entity, m.entity_id) for m, _ in bulk))
        parts = tx.server_rows(keys)
        left = tx.overlays_by_key(keys)
        revs: dict[tuple[str, str], dict[str, int]] = {}
        for m, result in bulk:
            key = (m.entity, m.entity_id)
            part = parts.get(key) or parts.setdefault(key, ServerPart(None))
            if result.status == "duplicate" and key not in revs:
                revs[key] = part.revs()
            kept = _kept(revs.get(key), m, result)
            part.server = rebase.acknowledge(m.entity, part.server, m, kept)
        gen = int(tx.get("gen", 0))  # the server holds them for us: visible
        out = []
        for key in keys:
            part = parts[key]
            on_top = left.get(key)
            if on_top:
                out.append((*key, rebase.view(key[0], key[1], part.server, on_top),
                            part.server, part, gen))
            else:  # nothing on top: the view is the server values, stored once
                out.append((*key, part.server, None, part, gen))
        tx.put_views(out)
        tx.incr("acked_count", len(bulk))
        tx.set("last_answered_seq", max(int(tx.get("last_answered_seq", 0)), bulk[-1][0].seq))
        self.clock.receive_all(tx, [r.hlc for _, r in bulk])
        return len(todo)

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
            refusal = field_rules.refuse_values(m.entity, changes)
            if refusal is not None:  # unknown, too long or masked: as the server would say
                raise InvalidInput(refusal.code, refusal.message, **refusal.info())
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
            for key in flat_keys(m.entity, changes):
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
            if (q.entity == "photo" and isinstance(q.mutation, Delete) and row is not None
                    and not row.deleted):
                # the refused delete of a photo is dropped: the photo is back,
                # and so is its upload if the delete took it off the queue
                queued = tx.photo(row.data.get("sha256") or "")
                if queued is not None and queued.state == "discarded":
                    tx.update_photo(queued.sha256, state="pending", upload_url=None)
            # A record the last full resync no longer showed was kept only for
            # this edit: with the edit gone, it goes too.
            if (row is not None and row.seen_gen < int(tx.get("gen", 0))
                    and not tx.get("resync", False)
                    and not tx.has_overlays(q.entity, q.entity_id)):
                tx.delete_row(q.entity, q.entity_id)
