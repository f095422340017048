"""``Tx``: every query of the device store, on its one connection."""

from __future__ import annotations

import sqlite3
from typing import Any, Iterator

from field_app.core import rebase
from field_app.core.store.rows import (
    OutboxEntry,
    PhotoRow,
    QuarantineRow,
    RecordRow,
    ServerPart,
    _enc,
    dumps,
    loads,
    mutation_decoder,
)
from field_app.core.store.schema import KEY_COLUMNS
from shared_schema.wire import Mutation

_ROW_COLS = ("entity, id, data, server, field_revs, server_rev, server_hlc, deleted, seen_gen, "
             "server_is_data")
#: The columns ``put_row`` and ``put_raw_rows`` write, in this order.
_PUT_COLS = ("entity, id, data, server, server_is_data, field_revs, server_rev, server_hlc, "
             "deleted, seen_gen, updated_at, site_id, owner_id, case_id")
_PUT_SQL = (f"INSERT OR REPLACE INTO records({_PUT_COLS}) "
            f"VALUES ({','.join('?' * len(_PUT_COLS.split(',')))})")


def _row(r: tuple) -> RecordRow:
    # server_is_data: the server values are the view (decoded again: a
    # separate dict, callers change one without the other).
    server = loads(r[3]) if r[3] is not None else (loads(r[2]) if r[9] else None)
    return RecordRow(entity=r[0], id=r[1], data=loads(r[2]), server=server,
                     field_revs=loads(r[4]), server_rev=r[5], server_hlc=r[6],
                     deleted=bool(r[7]), seen_gen=r[8])


def _key(data: dict[str, Any], name: str) -> str | None:
    value = data.get(name)
    return value if isinstance(value, str) else None


def raw_row(entity: str, id: str, data: str, field_revs: str, server_rev: int,
            server_hlc: str | None, deleted: bool, seen_gen: int, updated_at: int,
            site_id: str | None, owner_id: str | None, case_id: str | None) -> tuple:
    """The row of a record whose view is its server values, its JSON already
    text (a pulled record with no local edit on top), for ``put_raw_rows``:
    a plain tuple in ``_PUT_COLS`` order, nothing built per row but it."""
    return (entity, id, data, None, 1, field_revs, server_rev, server_hlc, int(deleted),
            seen_gen, updated_at, site_id, owner_id, case_id)


#: Where ``raw_row`` puts the ``case_id`` link.
RAW_CASE_ID = 13


def _chunks(items: list[str], size: int = 400) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _marks(items: list[str]) -> str:
    return ",".join("?" * len(items))


class Tx:
    """Reads and writes on the one connection, inside a transaction or not."""

    def __init__(self, conn: sqlite3.Connection, now_ms: Any) -> None:
        self.conn = conn
        self.now_ms = now_ms

    def q(self, sql: str, params: tuple | list = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)

    # state --------------------------------------------------------------------
    def get(self, key: str, default: Any = None) -> Any:
        row = self.q("SELECT value FROM state WHERE key=?", (key,)).fetchone()
        return default if row is None else loads(row[0])

    def set(self, key: str, value: Any) -> None:
        self.q("INSERT INTO state(key, value) VALUES (?, ?) "
               "ON CONFLICT(key) DO UPDATE SET value=excluded.value", (key, dumps(value)))

    def incr(self, key: str, by: int = 1) -> int:
        value = int(self.get(key, 0)) + by
        self.set(key, value)
        return value

    # records ------------------------------------------------------------------
    def row(self, entity: str, id: str) -> RecordRow | None:
        r = self.q(f"SELECT {_ROW_COLS} FROM records WHERE entity=? AND id=?",
                   (entity, id)).fetchone()
        return _row(r) if r else None

    def find(self, id: str, entities: tuple[str, ...]) -> RecordRow | None:
        marks = ",".join("?" * len(entities))
        r = self.q(f"SELECT {_ROW_COLS} FROM records WHERE id=? AND entity IN ({marks})",
                   (id, *entities)).fetchone()
        return _row(r) if r else None

    def rows(self, entity: str, where: str = "", params: tuple | list = (),
             include_deleted: bool = False) -> list[RecordRow]:
        sql = f"SELECT {_ROW_COLS} FROM records WHERE entity=?"
        if not include_deleted:
            sql += " AND deleted=0"
        if where:
            sql += f" AND ({where})"
        sql += " ORDER BY json_extract(data, '$.name'), id"
        return [_row(r) for r in self.q(sql, (entity, *params))]

    def rows_with(self, entity: str, **equal: Any) -> list[RecordRow]:
        """Live records of one entity whose view's fields equal the given values."""
        # The link fields have their own indexed columns (m002), text only.
        where = " AND ".join(
            f"{k} = ?" if k in KEY_COLUMNS and isinstance(v, str)
            else f"json_extract(data, '$.{k}') = ?" for k, v in equal.items())
        return self.rows(entity, where, list(equal.values()))

    def search_sites(self, query: str | None = None, village_id: str | None = None,
                     kind: str | None = None) -> list[RecordRow]:
        """Live sites in a village, of a kind, and whose name, address, builder
        or contractor contains ``query``; ordered by name."""
        where, params = [], []
        if village_id:
            where.append("json_extract(data, '$.village_id') = ?")
            params.append(village_id)
        if kind:
            where.append("json_extract(data, '$.kind') = ?")
            params.append(kind)
        if query:
            like = f"%{query}%"
            where.append(" OR ".join(f"json_extract(data, '$.{f}') LIKE ?" for f in
                                     ("name", "address", "builder", "contractor")))
            params += [like] * 4
        return self.rows("site", " AND ".join(f"({w})" for w in where), params)

    def all_rows(self) -> list[RecordRow]:
        return [_row(r) for r in self.q(f"SELECT {_ROW_COLS} FROM records ORDER BY entity, id")]

    @staticmethod
    def _params(r: RecordRow, now: int) -> tuple:
        same = r.server is not None and r.server == r.data
        d = r.data
        return (r.entity, r.id, dumps(d),
                None if r.server is None or same else dumps(r.server), int(same),
                dumps(r.field_revs or {}), r.server_rev, r.server_hlc, int(r.deleted), r.seen_gen,
                now, _key(d, "site_id"), _key(d, "owner_id"), _key(d, "case_id"))

    def put_row(self, r: RecordRow) -> None:
        self.q(_PUT_SQL, self._params(r, self.now_ms()))

    def put_raw_rows(self, rows: list[tuple]) -> None:
        """Rows made by ``raw_row`` (view = server values, JSON as received):
        one statement, no encoding, the server values stored once (m002)."""
        self.conn.executemany(_PUT_SQL, rows)

    def delete_row(self, entity: str, id: str) -> None:
        self.q("DELETE FROM records WHERE entity=? AND id=?", (entity, id))

    # outbox and quarantine -------------------------------------------------------
    def add_mutation(self, m: Mutation) -> None:
        op = type(m).__name__.lower()
        self.q("INSERT INTO outbox(seq, id, entity, entity_id, op, hlc, body, created_at) "
               "VALUES (?,?,?,?,?,?,?,?)",
               (m.seq, m.id, m.entity, m.entity_id, op, m.hlc, _enc.encode(m), self.now_ms()))

    def outbox(self, limit: int | None = None) -> list[OutboxEntry]:
        sql = "SELECT seq, body, attempts FROM outbox ORDER BY seq"
        rows = self.q(sql + " LIMIT ?", (limit,)) if limit else self.q(sql)
        return [OutboxEntry(seq, mutation_decoder.decode(body), attempts)
                for seq, body, attempts in rows]

    def outbox_ids(self) -> list[str]:
        return [r[0] for r in self.q("SELECT id FROM outbox ORDER BY seq")]

    def outbox_entry(self, id: str) -> OutboxEntry | None:
        r = self.q("SELECT seq, body, attempts FROM outbox WHERE id=?", (id,)).fetchone()
        return OutboxEntry(r[0], mutation_decoder.decode(r[1]), r[2]) if r else None

    def remove_outbox(self, *ids: str) -> None:
        """Remove these mutations from the outbox (one statement)."""
        self.conn.executemany("DELETE FROM outbox WHERE id=?", [(i,) for i in ids])

    def outbox_seqs(self, ids: list[str]) -> dict[str, int]:
        """id → seq of those of ``ids`` still in the outbox."""
        out: dict[str, int] = {}
        for chunk in _chunks(ids):
            out.update(self.q(f"SELECT id, seq FROM outbox WHERE id IN ({_marks(chunk)})",
                              chunk).fetchall())
        return out

    def outbox_after(self, after: int, last: int, limit: int) -> list[OutboxEntry]:
        """The next ``limit`` waiting mutations with ``after < seq <= last``,
        in seq order, with their stored wire JSON (``OutboxEntry.body``)."""
        return [OutboxEntry(seq, mutation_decoder.decode(body), attempts, body)
                for seq, body, attempts in self.q(
                    "SELECT seq, body, attempts FROM outbox WHERE seq > ? AND seq <= ? "
                    "ORDER BY seq LIMIT ?", (after, last, limit))]

    def server_rows(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str], ServerPart]:
        """The server side of these records' rows (those that exist), for
        ``Outbox.acknowledge_all``: the server values decoded once (from
        ``data`` when ``server_is_data``), the field revisions as stored text."""
        out: dict[tuple[str, str], ServerPart] = {}
        by_entity: dict[str, list[str]] = {}
        for entity, id in keys:
            by_entity.setdefault(entity, []).append(id)
        for entity, ids in by_entity.items():
            for chunk in _chunks(ids):
                for id, server, revs, rev, hlc in self.q(
                        "SELECT id, CASE WHEN server_is_data THEN data ELSE server END, "
                        "field_revs, server_rev, server_hlc FROM records WHERE entity=? "
                        f"AND id IN ({_marks(chunk)})", (entity, *chunk)):
                    out[(entity, id)] = ServerPart(loads(server), revs, rev, hlc)
        return out

    def put_views(self, rows: list[tuple[str, str, dict[str, Any], dict[str, Any] | None,
                                         ServerPart, int]]) -> None:
        """Rows given as (entity, id, view, server values or None when the view
        is them, the row's server part, seen_gen), in one statement."""
        now = self.now_ms()
        self.conn.executemany(_PUT_SQL, [
            (entity, id, dumps(view), None if server is None else dumps(server),
             int(server is None), part.field_revs, part.server_rev, part.server_hlc,
             int(bool(view.get("deleted"))), gen, now,
             _key(view, "site_id"), _key(view, "owner_id"), _key(view, "case_id"))
            for entity, id, view, server, part, gen in rows])

    def overlays_by_key(self, keys: list[tuple[str, str]]) -> dict[tuple[str, str],
                                                                    list[Mutation]]:
        """``overlays`` of many records at once (only keys that have some)."""
        out: dict[tuple[str, str], list[Mutation]] = {}
        wanted = set(keys)
        by_entity: dict[str, list[str]] = {}
        for entity, id in wanted:
            by_entity.setdefault(entity, []).append(id)
        found: list[tuple[int, str, str, bytes]] = []
        for entity, ids in by_entity.items():
            for chunk in _chunks(ids):
                marks = _marks(chunk)
                found += self.q(
                    f"SELECT seq, entity, entity_id, body FROM outbox WHERE entity=? "
                    f"AND entity_id IN ({marks}) UNION ALL "
                    f"SELECT seq, entity, entity_id, body FROM quarantine WHERE kind='mutation' "
                    f"AND state='open' AND entity=? AND entity_id IN ({marks})",
                    (entity, *chunk, entity, *chunk)).fetchall()
        for _, entity, entity_id, body in sorted(found, key=lambda r: r[0]):
            out.setdefault((entity, entity_id), []).append(mutation_decoder.decode(body))
        return out

    def note_attempt(self, ids: list[str], error: str | None) -> None:
        self.conn.executemany("UPDATE outbox SET attempts=attempts+1, last_error=? WHERE id=?",
                              [(error, i) for i in ids])

    def count(self, table: str, where: str = "", params: tuple = ()) -> int:
        sql = f"SELECT count(*) FROM {table}" + (f" WHERE {where}" if where else "")
        return self.q(sql, params).fetchone()[0]

    # counts ------------------------------------------------------------------------
    def outbox_count(self) -> int:
        return self.count("outbox")

    def outbox_last_seq(self) -> int | None:
        return self.q("SELECT max(seq) FROM outbox").fetchone()[0]

    def quarantined_count(self) -> int:
        """Items open in the quarantine."""
        return self.count("quarantine", "state='open'")

    def photo_count(self, *states: str) -> int:
        """Photos of the upload queue in one of these states."""
        return self.count("photos", f"state IN ({_marks(list(states))})", states)

    def in_outbox(self, entity: str, id: str) -> bool:
        """Whether a change of this record waits in the outbox."""
        return self.q("SELECT 1 FROM outbox WHERE entity = ? AND entity_id = ? LIMIT 1",
                      (entity, id)).fetchone() is not None

    def waiting_by_record(self) -> dict[tuple[str, str], int]:
        """Waiting changes (outbox + open quarantine) per (entity, id)."""
        counts: dict[tuple[str, str], int] = {}
        for sql in ("SELECT entity, entity_id, COUNT(*) FROM outbox GROUP BY 1, 2",
                    "SELECT entity, entity_id, COUNT(*) FROM quarantine "
                    "WHERE state='open' AND entity IS NOT NULL GROUP BY 1, 2"):
            for entity, entity_id, n in self.q(sql).fetchall():
                counts[(entity, entity_id)] = counts.get((entity, entity_id), 0) + n
        return counts

    def outbox_records(self) -> dict[str, int]:
        """Records with a change in the outbox, counted per entity."""
        return dict(self.q(
            "SELECT entity, COUNT(DISTINCT entity_id) FROM outbox GROUP BY 1").fetchall())

    def overlays(self, entity: str, id: str) -> list[Mutation]:
        """The unacknowledged mutations of a record, in seq order: pending in
        the outbox, or held open in the quarantine (never silently dropped)."""
        rows = self.q(
            "SELECT seq, body FROM outbox WHERE entity=? AND entity_id=? "
            "UNION ALL SELECT seq, body FROM quarantine "
            "WHERE kind='mutation' AND state='open' AND entity=? AND entity_id=? ORDER BY 1",
            (entity, id, entity, id)).fetchall()
        return [mutation_decoder.decode(body) for _, body in rows]

    def overlay_keys(self) -> set[tuple[str, str]]:
        """(entity, id) of every record with unacknowledged mutations (see ``overlays``)."""
        return set(self.q(
            "SELECT entity, entity_id FROM outbox UNION SELECT entity, entity_id FROM quarantine "
            "WHERE kind='mutation' AND state='open'").fetchall())

    def case_ids_of_events(self, event_ids: list[str]) -> set[str]:
        """The ``case_id`` of these case events (those the device holds)."""
        out: set[str] = set()
        for i in range(0, len(event_ids), 500):
            chunk = event_ids[i:i + 500]
            out.update(r[0] for r in self.q(
                "SELECT case_id FROM records WHERE entity='case_event' "
                f"AND id IN ({','.join('?' * len(chunk))})", chunk) if r[0])
        return out

    def has_overlays(self, entity: str, id: str) -> bool:
        return self.q(
            "SELECT 1 FROM outbox WHERE entity=? AND entity_id=? UNION ALL "
            "SELECT 1 FROM quarantine WHERE kind='mutation' AND state='open' "
            "AND entity=? AND entity_id=? LIMIT 1", (entity, id, entity, id)).fetchone() is not None

    def add_quarantine(self, *, id: str, kind: str, code: str, message: str,
                       details: dict[str, Any], m: Mutation | None = None,
                       seq: int | None = None) -> None:
        self.q(
            "INSERT OR REPLACE INTO quarantine(id, kind, seq, entity, entity_id, op, body, code, "
            "message, details, state, created_at) VALUES (?,?,?,?,?,?,?,?,?,?, 'open', ?)",
            (id, kind, seq if seq is not None else (m.seq if m else None),
             m.entity if m else None, m.entity_id if m else None,
             type(m).__name__.lower() if m else None, _enc.encode(m) if m else None,
             code, message, dumps(details), self.now_ms()))

    def quarantine(self, state: str | None = "open") -> list[QuarantineRow]:
        sql = ("SELECT id, kind, seq, entity, entity_id, op, body, code, message, details, state, "
               "created_at FROM quarantine")
        rows = (self.q(sql + " WHERE state=? ORDER BY created_at, seq, id", (state,)) if state
                else self.q(sql + " ORDER BY created_at, seq, id"))
        return [QuarantineRow(r[0], r[1], r[2], r[3], r[4], r[5],
                              mutation_decoder.decode(r[6]) if r[6] else None, r[7], r[8],
                              loads(r[9]), r[10], r[11]) for r in rows]

    def resolve_quarantine(self, id: str, state: str, retried_as: str | None = None) -> None:
        self.q("UPDATE quarantine SET state=?, resolved_at=?, retried_as=? WHERE id=?",
               (state, self.now_ms(), retried_as, id))

    # photos -------------------------------------------------------------------
    def note_photo_attempt(self, sha256: str, error: str) -> None:
        self.q("UPDATE photos SET attempts=attempts+1, last_error=? WHERE sha256=?",
               (error, sha256))

    def add_photo(self, sha256: str, path: str, size: int, width: int, height: int) -> None:
        self.q("INSERT OR IGNORE INTO photos(sha256, path, bytes, width, height, created_at) "
               "VALUES (?,?,?,?,?,?)", (sha256, path, size, width, height, self.now_ms()))

    def photos(self, state: str | None = None) -> list[PhotoRow]:
        sql = ("SELECT sha256, path, bytes, state, upload_url, attempts, last_error, created_at "
               "FROM photos")
        rows = (self.q(sql + " WHERE state=? ORDER BY created_at, sha256", (state,)) if state
                else self.q(sql + " ORDER BY created_at, sha256"))
        return [PhotoRow(*r) for r in rows]

    def photo(self, sha256: str) -> PhotoRow | None:
        r = self.q("SELECT sha256, path, bytes, state, upload_url, attempts, last_error, "
                   "created_at FROM photos WHERE sha256=?", (sha256,)).fetchone()
        return PhotoRow(*r) if r else None

    def update_photo(self, sha256: str, **values: Any) -> None:
        sets = ", ".join(f"{k}=?" for k in values)
        self.q(f"UPDATE photos SET {sets} WHERE sha256=?", (*values.values(), sha256))

    # maintenance --------------------------------------------------------------------
    def drop_unseen(self, gen: int) -> None:
        """After a full resync of generation ``gen``: forget the server's records
        it no longer showed, except those with local edits still waiting (they
        stay, and the server will answer their mutations)."""
        stale = self.q("SELECT entity, id FROM records WHERE seen_gen < ? "
                       "AND (server IS NOT NULL OR server_is_data)", (gen,)).fetchall()
        for entity, id in stale:
            if not self.has_overlays(entity, id):
                self.delete_row(entity, id)

    def integrity(self) -> str:
        """SQLite's ``integrity_check``: "ok", or what is wrong."""
        return self.q("PRAGMA integrity_check").fetchone()[0]

    # the view ---------------------------------------------------------------------
    def refresh(self, entity: str, id: str) -> RecordRow | None:
        """Recompute a record's view from its server values and overlays."""
        row = self.row(entity, id)
        muts = self.overlays(entity, id)
        if row is None and not muts:
            return None
        server = row.server if row else None
        if server is None and not muts:
            # Known only locally and nothing left to say about it (discarded).
            self.delete_row(entity, id)
            return None
        data = rebase.view(entity, id, server, muts)
        row = row or RecordRow(entity=entity, id=id, data=data)
        row.data = data
        row.deleted = bool(data.get("deleted"))
        self.put_row(row)
        if entity == "case":
            self.derive_case(id)
        elif entity == "case_event" and data.get("case_id"):
            self.derive_case(data["case_id"])
        return row

    def derive_case(self, case_id: str) -> None:
        """Show a case's status as its local events make it, while some of
        them (or the case) are not yet acknowledged. The server folds the same
        events in HLC order and its answer replaces this on the next pull."""
        case = self.row("case", case_id)
        if case is None:
            return
        events = self.rows_with("case_event", case_id=case_id)
        if not (self.has_overlays("case", case_id)
                or any(self.has_overlays("case_event", e.id) for e in events)):
            return
        role = (self.get("user") or {}).get("role") or "grid_officer"
        derived = rebase.case_view(case.data, (e.data for e in events), role)
        if derived is None:
            return  # the server decides; its status stays shown
        case.data = derived
        self.put_row(case)

