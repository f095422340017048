"""The device's local SQLite store: schema, migrations and every query.

One data folder is one device: ``<data_dir>/device.db`` (sqlite-utils, WAL,
``synchronous=FULL``) and ``<data_dir>/photos/``. One connection, guarded by
a lock, does all the work; every write is one ``BEGIN IMMEDIATE``
transaction, so a user action's record rows and its outbox mutation commit
together or not at all, whatever kills the process.

Tables (see docs/device-api.md, "Local store"):

* ``state`` — key → JSON: device id, HLC, next seq, cursor, login, sync state.
* ``records`` — one row per record the device knows: ``server`` (the values
  the server last sent, NULL for records only this device has), per-field
  server revisions, and ``data``, the view the user sees (server values with
  unacknowledged local edits on top, ``rebase.view``).
* ``outbox`` — mutations waiting for the server, as msgspec wire JSON, in seq order.
* ``quarantine`` — mutations (and photo uploads) the server refused for good.
* ``photos`` — the photo upload queue (tus upload URL persisted for resuming).
"""

from __future__ import annotations

import sqlite3
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import msgspec
import sqlite_utils
from sqlite_utils.migrations import Migrations

from field_app.core import rebase
from shared_schema import cases
from shared_schema.wire import Mutation

_enc = msgspec.json.Encoder()
_dec = msgspec.json.Decoder()
mutation_decoder = msgspec.json.Decoder(Mutation)


def dumps(value: Any) -> str:
    return _enc.encode(value).decode()


def loads(text: str | bytes | None) -> Any:
    return None if text is None else _dec.decode(text)


migrations = Migrations("field_app")


def _run(db: sqlite_utils.Database, statements: str) -> None:
    # Not executescript: it would COMMIT the migration's transaction half-way.
    for statement in statements.split(";"):
        if statement.strip():
            db.execute(statement)


@migrations(name="m001_initial")
def m001_initial(db: sqlite_utils.Database) -> None:
    _run(db, """
        CREATE TABLE state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE records (
            entity TEXT NOT NULL, id TEXT NOT NULL,
            data TEXT NOT NULL,
            server TEXT,
            field_revs TEXT NOT NULL DEFAULT '{}',
            server_rev INTEGER NOT NULL DEFAULT 0,
            server_hlc TEXT,
            deleted INTEGER NOT NULL DEFAULT 0,
            seen_gen INTEGER NOT NULL DEFAULT 0,
            updated_at INTEGER,
            PRIMARY KEY (entity, id)
        );
        CREATE INDEX records_site ON records(entity, json_extract(data, '$.site_id'));
        CREATE INDEX records_owner ON records(entity, json_extract(data, '$.owner_id'));
        CREATE INDEX records_case ON records(entity, json_extract(data, '$.case_id'));
        CREATE TABLE outbox (
            seq INTEGER PRIMARY KEY,
            id TEXT NOT NULL UNIQUE,
            entity TEXT NOT NULL, entity_id TEXT NOT NULL, op TEXT NOT NULL,
            hlc TEXT NOT NULL, body BLOB NOT NULL, created_at INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT
        );
        CREATE INDEX outbox_record ON outbox(entity, entity_id);
        CREATE TABLE quarantine (
            id TEXT PRIMARY KEY,
            kind TEXT NOT NULL,
            seq INTEGER, entity TEXT, entity_id TEXT, op TEXT, body BLOB,
            code TEXT NOT NULL, message TEXT NOT NULL, details TEXT NOT NULL DEFAULT '{}',
            state TEXT NOT NULL DEFAULT 'open',
            created_at INTEGER NOT NULL, resolved_at INTEGER, retried_as TEXT
        );
        CREATE INDEX quarantine_record ON quarantine(entity, entity_id, state);
        CREATE TABLE photos (
            sha256 TEXT PRIMARY KEY, path TEXT NOT NULL, bytes INTEGER NOT NULL,
            width INTEGER, height INTEGER,
            state TEXT NOT NULL DEFAULT 'pending',
            upload_url TEXT, attempts INTEGER NOT NULL DEFAULT 0, last_error TEXT,
            created_at INTEGER NOT NULL, uploaded_at INTEGER
        )
    """)


#: Columns holding a copy of the view's link to its parent record, filled at
#: write time (m002): the lists by site, owner and case are indexed on them.
KEY_COLUMNS = ("site_id", "owner_id", "case_id")


@migrations(name="m002_record_keys")
def m002_record_keys(db: sqlite_utils.Database) -> None:
    """Real columns instead of ``json_extract`` expression indexes, and the
    server values stored once when they are the view.

    * ``site_id``, ``owner_id``, ``case_id``: the view's links, written with
      the row; partial indexes (``WHERE … IS NOT NULL``) replace m001's three
      ``json_extract`` indexes, which parsed the data JSON three times per row
      written and indexed every row three times, NULL or not.
    * ``server_is_data``: 1 when the server values equal the view (no local
      edit on top, the usual case); ``server`` is then NULL instead of a
      second copy of the same JSON. ``server`` NULL with ``server_is_data`` 0
      still means "known only on this device".
    """
    _run(db, """
        ALTER TABLE records ADD COLUMN site_id TEXT;
        ALTER TABLE records ADD COLUMN owner_id TEXT;
        ALTER TABLE records ADD COLUMN case_id TEXT;
        ALTER TABLE records ADD COLUMN server_is_data INTEGER NOT NULL DEFAULT 0;
        UPDATE records SET
            site_id = CASE json_type(data, '$.site_id')
                      WHEN 'text' THEN json_extract(data, '$.site_id') END,
            owner_id = CASE json_type(data, '$.owner_id')
                       WHEN 'text' THEN json_extract(data, '$.owner_id') END,
            case_id = CASE json_type(data, '$.case_id')
                      WHEN 'text' THEN json_extract(data, '$.case_id') END;
        UPDATE records SET server = NULL, server_is_data = 1
            WHERE server IS NOT NULL AND server = data;
        DROP INDEX records_site;
        DROP INDEX records_owner;
        DROP INDEX records_case;
        CREATE INDEX records_site ON records(entity, site_id) WHERE site_id IS NOT NULL;
        CREATE INDEX records_owner ON records(entity, owner_id) WHERE owner_id IS NOT NULL;
        CREATE INDEX records_case ON records(entity, case_id) WHERE case_id IS NOT NULL
    """)


#: The link indexes of m002, by name. A first sync into an empty records table
#: leaves them out and makes them once at its end (``LocalStore.bulk_load``).
LINK_INDEXES = {
    "records_site": "CREATE INDEX IF NOT EXISTS records_site ON records(entity, site_id) "
                    "WHERE site_id IS NOT NULL",
    "records_owner": "CREATE INDEX IF NOT EXISTS records_owner ON records(entity, owner_id) "
                     "WHERE owner_id IS NOT NULL",
    "records_case": "CREATE INDEX IF NOT EXISTS records_case ON records(entity, case_id) "
                    "WHERE case_id IS NOT NULL",
}


#: Page size of a new device file (SQLite's default is 4 KiB).
PAGE_SIZE = 16384


def connect(path: str | Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
    # 16 KiB pages for a new file (no effect on an existing one): a pulled
    # inspection row is ~2 KB, and at 4 KiB a page held one and wasted 40%,
    # so a first sync wrote 1.6x the bytes.
    conn.execute(f"PRAGMA page_size={PAGE_SIZE}")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA busy_timeout=30000")
    # 32 MiB page cache (SQLite's default is 2 MiB): a first sync writes
    # 100k+ records with random ids into four B-trees (see docs/performance.md).
    conn.execute("PRAGMA cache_size=-32768")
    return conn


@dataclass(slots=True)
class RecordRow:
    entity: str
    id: str
    data: dict[str, Any]
    server: dict[str, Any] | None = None
    field_revs: dict[str, int] | None = None
    server_rev: int = 0
    server_hlc: str | None = None
    deleted: bool = False
    seen_gen: int = 0

    def base_for(self, keys: list[str]) -> dict[str, int]:
        revs = self.field_revs or {}
        return {k: revs.get(k, 0) for k in keys}


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


@dataclass(slots=True)
class ServerPart:
    """What a row holds of the server: its values (None: known only here),
    field revisions (stored JSON text), revision and HLC."""

    server: dict[str, Any] | None
    field_revs: str = "{}"
    server_rev: int = 0
    server_hlc: str | None = None

    def revs(self) -> dict[str, int]:
        return loads(self.field_revs) or {}


@dataclass(slots=True)
class OutboxEntry:
    seq: int
    mutation: Mutation
    attempts: int = 0
    body: bytes = b""  # the stored wire JSON, when read for a push


def _chunks(items: list[str], size: int = 400) -> Iterator[list[str]]:
    for i in range(0, len(items), size):
        yield items[i:i + size]


def _marks(items: list[str]) -> str:
    return ",".join("?" * len(items))


@dataclass(slots=True)
class QuarantineRow:
    id: str
    kind: str
    seq: int | None
    entity: str | None
    entity_id: str | None
    op: str | None
    mutation: Mutation | None
    code: str
    message: str
    details: dict[str, Any]
    state: str
    created_at: int


@dataclass(slots=True)
class PhotoRow:
    sha256: str
    path: str
    bytes: int
    state: str
    upload_url: str | None
    attempts: int
    last_error: str | None
    created_at: int


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
        events = self.rows("case_event", "case_id = ?", (case_id,))
        if not (self.has_overlays("case", case_id)
                or any(self.has_overlays("case_event", e.id) for e in events)):
            return
        role = (self.get("user") or {}).get("role") or "grid_officer"
        d = case.data
        initial = cases.CaseState(level=d.get("initial_level") or cases.route_level(d))
        ordered = sorted((e.data for e in events), key=lambda e: e.get("hlc") or "")
        try:
            state = cases.fold(initial, [
                (e.get("kind") or "", e.get("author_role") or role, e, e.get("created_at"))
                for e in ordered])
        except cases.CaseRuleError:
            return  # the server decides; its status stays shown
        case.data = {**d, "status": state.status, "level": state.level,
                     "extended": state.extended, "amount_recovered": state.amount_recovered,
                     "workers_paid": state.workers_paid}
        self.put_row(case)


class LocalStore:
    """The SQLite file of one device."""

    FILE = "device.db"

    def __init__(self, data_dir: str | Path, now_ms: Any) -> None:
        self.data_dir = Path(data_dir)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.path = self.data_dir / self.FILE
        self.conn = connect(self.path)
        self.db = sqlite_utils.Database(self.conn)
        self.lock = threading.RLock()
        self.now_ms = now_ms

    def migrate(self) -> None:
        with self.lock:
            migrations.apply(self.db)
        # A process killed during a first sync left them out (``bulk_load``).
        self.ensure_link_indexes()

    def ensure_link_indexes(self) -> None:
        with self.write(durable=False) as tx:
            for sql in LINK_INDEXES.values():
                tx.q(sql)

    @contextmanager
    def bulk_load(self, wanted: bool = True) -> Iterator[bool]:
        """Fill an empty records table (a device's first sync) without its link
        indexes, and make them once at the end: pulled records arrive in
        revision order, their sites in random order, so every page's commit
        rewrote most of the ``records_site`` index's pages (a district's first
        sync: 3.15 -> 2.72 s of SQLite, the 0.3 s sort at the end included;
        docs/performance.md). Yields whether it did so: only when ``wanted``
        and the table is empty. The indexes are back when the block ends,
        however it ends, and at the next open (``migrate``) if the process was
        killed in it; meanwhile a list by site, owner or case is read without
        them."""
        empty = False
        if wanted:
            with self.write(durable=False) as tx:
                empty = tx.q("SELECT 1 FROM records LIMIT 1").fetchone() is None
                if empty:
                    for name in LINK_INDEXES:
                        tx.q(f"DROP INDEX IF EXISTS {name}")
        try:
            yield empty
        finally:
            if empty:
                self.ensure_link_indexes()

    def applied_migrations(self) -> list[str]:
        return [m.name for m in migrations.applied(self.db)]

    @contextmanager
    def write(self, durable: bool = True) -> Iterator[Tx]:
        """One transaction: everything inside commits together or not at all.

        ``durable=False`` is for what the sync writes from the server's
        answers (a pull page, push results): the commit is atomic and survives
        a killed process like any other, but is not fsynced on its own
        (``synchronous=NORMAL`` in WAL mode); a power cut right after it may
        roll it back, never half of it. That only repeats work: the page is
        pulled again from the cursor that went back with it, a push answer is
        asked for again and comes back ``duplicate``. The next durable commit
        (any user action) fsyncs the log with everything before it, so
        nothing a user recorded is ever behind a lost sync commit."""
        with self.lock:
            if self.conn.in_transaction:
                raise RuntimeError("nested local transaction")
            if not durable:
                self.conn.execute("PRAGMA synchronous=NORMAL")
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                try:
                    yield Tx(self.conn, self.now_ms)
                except BaseException:
                    self.conn.execute("ROLLBACK")
                    raise
                else:
                    self.conn.execute("COMMIT")
            finally:
                if not durable:
                    self.conn.execute("PRAGMA synchronous=FULL")

    @contextmanager
    def read(self) -> Iterator[Tx]:
        with self.lock:
            yield Tx(self.conn, self.now_ms)

    def integrity_check(self) -> str:
        with self.lock:
            return self.conn.execute("PRAGMA integrity_check").fetchone()[0]

    def close(self) -> None:
        with self.lock:
            self.conn.close()
