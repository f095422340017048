"""The exactly-once ledger (mutations) and the conflicts a push records."""

from __future__ import annotations

from typing import Any, Iterable

from sync_server.store.base import ConflictRecord, DeviceStats, LedgerEntry
from sync_server.store.sqlite.columns import (
    _CONFLICT_COLS,
    _JSON_CONFLICT,
    Connected,
    _conflict,
    _dumps,
    _loads,
    _rows_where,
)


def _ledger(row: tuple) -> LedgerEntry:
    return LedgerEntry(id=row[0], device_id=row[1], user_id=row[2], seq=row[3], fingerprint=row[4],
                       status=row[5], result=_loads(row[6]), entity=row[7], entity_id=row[8],
                       received_at=row[9])


class LedgerReads(Connected):
    """Ledger and conflict reads shared by the store and its transactions."""

    def get_mutation(self, id: str) -> LedgerEntry | None:
        row = self.conn.execute(
            "SELECT id, device_id, user_id, seq, fingerprint, status, result, entity, "
            "entity_id, received_at FROM mutations WHERE id=?",
            (id,),
        ).fetchone()
        if not row:
            return None
        return _ledger(row)

    def get_mutations(self, ids: Iterable[str]) -> dict[str, LedgerEntry]:
        """The ledger rows of several mutation ids; unseen ids are left out."""
        ids = list(dict.fromkeys(ids))
        out: dict[str, LedgerEntry] = {}
        for row in _rows_where(self.conn, "SELECT id, device_id, user_id, seq, fingerprint, "
                               "status, result, entity, entity_id, received_at FROM mutations",
                               "id", [(i,) for i in ids]):
            out[row[0]] = _ledger(row)
        return out

    def get_conflict(self, id: str) -> ConflictRecord | None:
        row = self.conn.execute(
            f"SELECT {_CONFLICT_COLS} FROM conflicts WHERE id=?", (id,)).fetchone()
        return _conflict(row) if row else None


class LedgerWrites(Connected):
    """Ledger and conflict writes inside one transaction."""

    def add_conflict(self, c: ConflictRecord) -> None:
        self.add_conflicts([c])

    def add_conflicts(self, conflicts: list[ConflictRecord]) -> None:
        names = [n.strip() for n in _CONFLICT_COLS.split(",")]
        self.conn.executemany(
            f"INSERT INTO conflicts ({_CONFLICT_COLS}) VALUES ({','.join('?' * len(names))})",
            [[_dumps(getattr(c, n)) if n in _JSON_CONFLICT else getattr(c, n) for n in names]
             for c in conflicts],
        )

    def put_mutation(self, e: LedgerEntry) -> None:
        self.put_mutations([e])

    def put_mutations(self, entries: list[LedgerEntry]) -> None:
        self.conn.executemany(
            "INSERT INTO mutations VALUES (?,?,?,?,?,?,?,?,?,?)",
            [(e.id, e.device_id, e.user_id, e.seq, e.fingerprint, e.status, _dumps(e.result),
              e.entity, e.entity_id, e.received_at) for e in entries],
        )

    def resolve_conflict(self, id: str, *, status: str, resolved_by: str, resolved_at: int,
                         resolution: Any) -> None:
        self.conn.execute(
            "UPDATE conflicts SET status=?, resolved_by=?, resolved_at=?, resolution=? "
            "WHERE id=?", (status, resolved_by, resolved_at, _dumps(resolution), id))


class LedgerQueries(Connected):
    """Ledger reads of the store only."""

    def device_stats(self, device_id: str) -> DeviceStats:
        row = self.conn.execute(
            "SELECT count(*), coalesce(max(seq), 0), "
            "coalesce(sum(status IN ('applied','merged')), 0), "
            "coalesce(sum(status = 'rejected'), 0) FROM mutations WHERE device_id=?",
            (device_id,),
        ).fetchone()
        return DeviceStats(*row)

    def list_conflicts(self, status: str | None = None) -> list[ConflictRecord]:
        sql = f"SELECT {_CONFLICT_COLS} FROM conflicts"
        rows = (self.conn.execute(sql + " WHERE status=? ORDER BY created_at, id", (status,))
                if status else self.conn.execute(sql + " ORDER BY created_at, id"))
        return [_conflict(r) for r in rows]
