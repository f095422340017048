"""The exactly-once ledger (mutations) and the conflicts a push records.

A mutation id is the ledger's primary key. Two pushes of the same id cannot
both apply it: write transactions run one at a time (the revision counter's
row lock, taken at their start), and the second reads the ledger only after
the first committed (each statement reads what is committed when it starts).
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

from sync_server.store.base import ConflictRecord, DeviceStats, LedgerEntry
from sync_server.store.postgres.columns import (
    _CONFLICT_COLS,
    _JSON_CONFLICT,
    Connected,
    _dumps,
    _loads,
    marks,
)

_LEDGER_COLS = ("id, device_id, user_id, seq, fingerprint, status, result, entity, entity_id, "
                "received_at")
_CONFLICT_NAMES = [c.strip() for c in _CONFLICT_COLS.split(",")]


#: Ledger rows by mutation id (an array).
LEDGER_BY_IDS = f"SELECT {_LEDGER_COLS} FROM mutations WHERE id = ANY(%s)"


def _ledger(row: Sequence[Any]) -> LedgerEntry:
    return LedgerEntry(id=row[0], device_id=row[1], user_id=row[2], seq=row[3], fingerprint=row[4],
                       status=row[5], result=_loads(row[6]), entity=row[7], entity_id=row[8],
                       received_at=row[9])


def _conflict(row: Sequence[Any]) -> ConflictRecord:
    return ConflictRecord(**{n: (_loads(v) if n in _JSON_CONFLICT else v)
                             for n, v in zip(_CONFLICT_NAMES, row, strict=True)})


class LedgerReads(Connected):
    """Ledger and conflict reads shared by the store and its transactions."""

    def get_mutation(self, id: str) -> LedgerEntry | None:
        row = self._one(f"SELECT {_LEDGER_COLS} FROM mutations WHERE id=%s", (id,))
        return _ledger(row) if row else None

    def get_mutations(self, ids: Iterable[str]) -> dict[str, LedgerEntry]:
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            return {}
        return {row[0]: _ledger(row) for row in self._all(LEDGER_BY_IDS, (wanted,))}

    def get_conflict(self, id: str) -> ConflictRecord | None:
        row = self._one(f"SELECT {_CONFLICT_COLS} FROM conflicts WHERE id=%s", (id,))
        return _conflict(row) if row else None


class LedgerWrites(Connected):
    """Ledger and conflict writes inside one transaction."""

    def add_conflict(self, c: ConflictRecord) -> None:
        self.add_conflicts([c])

    def add_conflicts(self, conflicts: list[ConflictRecord]) -> None:
        self._many(
            f"INSERT INTO conflicts ({_CONFLICT_COLS}) VALUES ({marks(len(_CONFLICT_NAMES))})",
            [[_dumps(getattr(c, n)) if n in _JSON_CONFLICT else getattr(c, n)
              for n in _CONFLICT_NAMES] for c in conflicts])

    def put_mutation(self, e: LedgerEntry) -> None:
        self.put_mutations([e])

    def put_mutations(self, entries: list[LedgerEntry]) -> None:
        self._many(
            f"INSERT INTO mutations ({_LEDGER_COLS}) VALUES ({marks(10)})",
            [(e.id, e.device_id, e.user_id, e.seq, e.fingerprint, e.status, _dumps(e.result),
              e.entity, e.entity_id, e.received_at) for e in entries])

    def resolve_conflict(self, id: str, *, status: str, resolved_by: str, resolved_at: int,
                         resolution: Any) -> None:
        self._exec("UPDATE conflicts SET status=%s, resolved_by=%s, resolved_at=%s, "
                   "resolution=%s WHERE id=%s",
                   (status, resolved_by, resolved_at, _dumps(resolution), id))


class LedgerQueries(Connected):
    """Ledger reads of the store only."""

    def device_stats(self, device_id: str) -> DeviceStats:
        row = self._one(
            "SELECT count(*), coalesce(max(seq), 0), "
            "count(*) FILTER (WHERE status IN ('applied','merged')), "
            "count(*) FILTER (WHERE status = 'rejected') FROM mutations WHERE device_id=%s",
            (device_id,))
        assert row is not None
        return DeviceStats(*(int(v) for v in row))

    def list_conflicts(self, status: str | None = None) -> list[ConflictRecord]:
        sql = f"SELECT {_CONFLICT_COLS} FROM conflicts"
        rows = (self._all(sql + " WHERE status=%s ORDER BY created_at, id", (status,))
                if status else self._all(sql + " ORDER BY created_at, id"))
        return [_conflict(r) for r in rows]
