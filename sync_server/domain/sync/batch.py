"""A push batch's view of the store: read set-wise first, write set-wise last.

``BatchTx`` wraps the push's ``StoreTx`` and offers the part of the same
interface the push rules use (records, children, revisions, history,
conflicts, tombstones, the ledger). Before the first mutation it reads, in a
few statements, every ledger row and record the batch names (and the sites,
cases and children those point to). The mutations are then checked and
merged in Python against that working set; their writes are kept in memory
and written at the end with one ``executemany`` per table (``flush``), in
the push's one transaction.

A savepoint here is an in-memory one: the working set and the pending
writes are put back as they were, so a rejected mutation leaves nothing but
its ledger row, as with SQL savepoints. Nothing is written before ``flush``,
so a crash (or an exception) before ``COMMIT`` leaves nothing at all.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Iterable, Iterator

from shared_schema.wire import Mutation
from sync_server.store.base import (
    ConflictRecord,
    DeviceRow,
    FieldMeta,
    LedgerEntry,
    StoreTx,
    StoredRecord,
)

Key = tuple[str, str]
_MISSING: Any = object()

#: Fields of a mutation that name another record the rules will look at.
_REFERENCES = (("site_id", "site"), ("case_id", "case"), ("village_id", "village"),
               ("department_id", "department"))


def _copy(r: StoredRecord) -> StoredRecord:
    """A copy the caller may change (``data`` and ``meta`` copied one level:
    writers replace nested maps and ``FieldMeta`` objects, never change them)."""
    return StoredRecord(r.entity, r.id, r.rev, dict(r.data), dict(r.meta), r.deleted,
                        r.village_id, r.department_id, r.site_id, r.parent_id,
                        r.created_by_user, r.created_by_device)


class BatchTx:
    """The push's ``StoreTx``, read up front and written at the end (see module doc)."""

    def __init__(self, tx: StoreTx) -> None:
        self.tx = tx
        self._records: dict[Key, StoredRecord | None] = {}  # stored or pending state
        self._dirty: dict[Key, StoredRecord] = {}  # to write, latest state
        self._ledger: dict[str, LedgerEntry | None] = {}
        self._new_ledger: list[LedgerEntry] = []
        self._writes: list[tuple[str, str, FieldMeta, dict[str, Any]]] = []
        self._conflicts: list[ConflictRecord] = []
        self._tombstones: list[tuple[str, str, int, int, str]] = []
        self._children: dict[str, set[Key]] = {}  # parent id -> keys (stored and pending)
        self._children_loaded: set[str] = set()
        self._first_rev = self._rev = tx.max_rev()
        self._undo: list[tuple[dict, Any, Any]] = []
        self._device: tuple[str, DeviceRow | None] | None = None

    # --- reading the batch's working set -------------------------------------------------
    def prefetch(self, mutations: Iterable[Mutation], device_id: str) -> None:
        """Read the ledger rows, records and device ``mutations`` will look at,
        set-wise: one ``read_batch``, then the records those point to."""
        mutations = list(mutations)
        ids = [m.id for m in mutations if m.id not in self._ledger]
        keys: list[Key] = []
        parents: list[str] = []
        for m in mutations:
            if not isinstance(m.entity, str) or not isinstance(m.entity_id, str):
                continue
            keys.append((m.entity, m.entity_id))
            fields = m.fields if isinstance(m.fields, dict) else {}
            keys += self._references(fields)
            owner, owner_id = fields.get("owner_entity"), fields.get("owner_id")
            if isinstance(owner, str) and isinstance(owner_id, str):
                keys.append((owner, owner_id))
            if m.entity in ("inspection", "case"):
                parents.append(m.entity_id)
            case_id = fields.get("case_id")
            if m.entity == "case_event" and isinstance(case_id, str):
                parents.append(case_id)
        missing = list(dict.fromkeys(k for k in keys if k not in self._records))
        new_parents = [p for p in dict.fromkeys(parents) if p not in self._children_loaded]
        read = self.tx.read_batch(ids, missing, new_parents, device_id)
        for id in ids:
            self._ledger[id] = read.mutations.get(id)
        for key in missing:
            self._records[key] = read.records.get(key)
        self._add_children(new_parents, read.children)
        self._device = (device_id, read.device)
        # what the stored records point to (an inspection edit names no site_id)
        self._load([k for key in keys if (r := self._records.get(key)) is not None
                    for k in self._references(r.data)])

    @staticmethod
    def _references(fields: dict[str, Any]) -> list[Key]:
        return [(entity, v) for name, entity in _REFERENCES
                if isinstance(v := fields.get(name), str) and v]

    def _load(self, keys: Iterable[Key]) -> None:
        missing = list(dict.fromkeys(k for k in keys if k not in self._records))
        if missing:
            found = self.tx.get_records(missing)
            for key in missing:
                self._records[key] = found.get(key)

    def _load_children(self, parent_ids: Iterable[str]) -> None:
        new = [p for p in dict.fromkeys(parent_ids) if p not in self._children_loaded]
        if not new:
            return
        self._add_children(new, self.tx.children_of_parents(new))

    def _add_children(self, parent_ids: list[str], children: list[StoredRecord]) -> None:
        for r in children:
            key = (r.entity, r.id)
            self._records.setdefault(key, r)  # a pending version is newer
            self._children.setdefault(r.parent_id or "", set()).add(key)
        self._children_loaded.update(parent_ids)

    # --- StoreTx: records ------------------------------------------------------------------
    def _current(self, entity: str, id: str) -> StoredRecord | None:
        key = (entity, id)
        if key not in self._records:
            self._records[key] = self.tx.get_record(entity, id)
        return self._records[key]

    def get_record(self, entity: str, id: str) -> StoredRecord | None:
        r = self._current(entity, id)
        return None if r is None else _copy(r)

    def peek_record(self, entity: str, id: str) -> StoredRecord | None:
        """The working-set object itself: look, never change."""
        return self._current(entity, id)

    def put_record(self, record: StoredRecord) -> None:
        key = (record.entity, record.id)
        self._undo.append((self._records, key, self._records.get(key, _MISSING)))
        self._undo.append((self._dirty, key, self._dirty.get(key, _MISSING)))
        self._records[key] = record
        self._dirty[key] = record
        if record.parent_id:
            self._children.setdefault(record.parent_id, set()).add(key)

    def children_of(self, parent_id: str, entity: str) -> list[StoredRecord]:
        self._load_children([parent_id])
        out = [r for k in self._children.get(parent_id, ())
               if (r := self._records.get(k)) is not None
               and r.entity == entity and r.parent_id == parent_id]
        return [_copy(r) for r in sorted(out, key=lambda r: r.rev)]

    def children_of_site(self, site_id: str) -> list[StoredRecord]:
        keys = []
        for r in self.tx.children_of_site(site_id):
            key = (r.entity, r.id)
            self._records.setdefault(key, r)
            keys.append(key)
        keys += [k for k, r in self._dirty.items() if r.site_id == site_id]
        out = {k: r for k in keys if (r := self._records.get(k)) is not None
               and r.site_id == site_id and r.entity != "site"}
        return [_copy(r) for r in sorted(out.values(), key=lambda r: r.rev)]

    # --- StoreTx: revisions ------------------------------------------------------------------
    def next_rev(self) -> int:
        self._rev += 1
        return self._rev

    def max_rev(self) -> int:
        return self._rev

    # --- StoreTx: history, conflicts, tombstones ---------------------------------------------
    def add_write(self, entity: str, id: str, meta: FieldMeta, values: dict[str, Any]) -> None:
        self._writes.append((entity, id, meta, values))

    def add_writes(self, writes: list[tuple[str, str, FieldMeta, dict[str, Any]]]) -> None:
        self._writes += writes

    def add_history(self, entity: str, id: str, field: str, meta: FieldMeta,
                    value: Any) -> None:
        self._writes.append((entity, id, meta, {field: value}))

    def history_value(self, entity: str, id: str, field: str, rev: int) -> tuple[bool, Any]:
        for e, i, meta, values in reversed(self._writes):
            if meta.rev == rev and i == id and e == entity and field in values:
                return True, values[field]
        return self.tx.history_value(entity, id, field, rev)

    def add_conflict(self, conflict: ConflictRecord) -> None:
        self._conflicts.append(conflict)

    def add_tombstone(self, entity: str, id: str, rev: int, at_ms: int, user_id: str) -> None:
        self._tombstones.append((entity, id, rev, at_ms, user_id))

    # --- StoreTx: the ledger ---------------------------------------------------------------
    def get_mutation(self, id: str) -> LedgerEntry | None:
        if id not in self._ledger:
            self._ledger[id] = self.tx.get_mutation(id)
        return self._ledger[id]

    def put_mutation(self, entry: LedgerEntry) -> None:
        self._undo.append((self._ledger, entry.id, self._ledger.get(entry.id, _MISSING)))
        self._ledger[entry.id] = entry
        self._new_ledger.append(entry)

    # --- StoreTx: the device row (read and written at once, outside any savepoint) ---------
    def get_device(self, device_id: str) -> DeviceRow | None:
        if self._device is not None and self._device[0] == device_id:
            return self._device[1]  # read with the batch (``prefetch``)
        return self.tx.get_device(device_id)

    def put_device(self, device: DeviceRow) -> None:
        self.tx.put_device(device)

    # --- savepoints and the final write ------------------------------------------------------
    @contextmanager
    def savepoint(self) -> Iterator[None]:
        mark = (len(self._undo), len(self._writes), len(self._conflicts),
                len(self._tombstones), len(self._new_ledger), self._rev)
        try:
            yield
        except BaseException:
            undo, writes, conflicts, tombstones, ledger, rev = mark
            while len(self._undo) > undo:
                table, key, old = self._undo.pop()
                if old is _MISSING:
                    table.pop(key, None)
                else:
                    table[key] = old
            del self._writes[writes:], self._conflicts[conflicts:]
            del self._tombstones[tombstones:], self._new_ledger[ledger:]
            self._rev = rev
            raise

    def flush(self) -> None:
        """Write everything the batch did: records (latest state), history rows,
        conflicts, tombstones, ledger rows, the revision counter."""
        tx = self.tx
        if self._dirty:
            tx.put_records(list(self._dirty.values()))
        if self._writes:
            merged: dict[tuple[str, str, int], tuple[str, str, FieldMeta, dict[str, Any]]] = {}
            for entity, id, meta, values in self._writes:
                key = (entity, id, meta.rev)
                if key in merged:  # several fields of one revision: one row
                    values = {**merged[key][3], **values}
                merged[key] = (entity, id, meta, values)
            tx.add_writes(list(merged.values()))
        if self._conflicts:
            tx.add_conflicts(self._conflicts)
        for tombstone in self._tombstones:
            tx.add_tombstone(*tombstone)
        if self._new_ledger:
            tx.put_mutations(self._new_ledger)
        if self._rev > self._first_rev:
            tx.advance_rev(self._rev)
        self._undo.clear()
