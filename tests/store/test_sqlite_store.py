"""SqliteStore: the conformance suite on a tmp_path file, plus SQLite specifics."""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import Callable, Iterator

import pytest
import sqlite_utils

from .conformance import SyncStoreConformance, put
from sync_server.store.base import FieldMeta, Visibility
from sync_server.store.sqlite import SqliteStore, migrations

MIGRATIONS = ["m001_core", "m002_office", "m003_drop_field_history_record",
              "m004_record_history", "m005_records_pull_columns",
              "m006_scoped_pull_indexes", "m007_device_secrets", "m008_logins",
              "m009_uploads_bounded", "m010_received_at"]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "server.db"


@pytest.fixture
def open_another(db_path: Path) -> Iterator[Callable[[], SqliteStore]]:
    opened: list[SqliteStore] = []

    def open_() -> SqliteStore:
        s = SqliteStore(db_path)
        opened.append(s)
        return s

    yield open_
    for s in opened:
        s.close()


@pytest.fixture
def store(db_path: Path) -> Iterator[SqliteStore]:
    s = SqliteStore(db_path)
    s.migrate()
    yield s
    s.close()


class TestSqliteStore(SyncStoreConformance):
    pass


# --- migrations ---------------------------------------------------------------


def test_migrations_are_recorded(store: SqliteStore) -> None:
    assert store.applied_migrations() == MIGRATIONS
    store.migrate()
    assert store.applied_migrations() == MIGRATIONS


def test_migrations_are_ordered_and_named() -> None:
    names = [m.name for m in migrations.pending(sqlite_utils.Database(memory=True))]
    assert names == MIGRATIONS == sorted(MIGRATIONS)


def schema_names(conn: sqlite3.Connection, kind: str) -> set[str]:
    """The names of the schema's objects of one kind ('table', 'index')."""
    return {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type=?", (kind,))}


def test_new_database_has_no_migrations_until_migrate(db_path: Path) -> None:
    s = SqliteStore(db_path)
    try:
        assert s.applied_migrations() == []
        s.migrate()
        assert s.applied_migrations() == MIGRATIONS
    finally:
        s.close()


def test_m001_core_creates_the_schema(store: SqliteStore, db_path: Path) -> None:
    with closing(sqlite3.connect(db_path)) as conn:
        assert {"counters", "records", "tombstones", "conflicts", "mutations",
                "users", "devices", "tokens", "blobs", "uploads"} <= schema_names(conn, "table")
        assert conn.execute("SELECT value FROM counters WHERE name='rev'").fetchone() == (0,)
        assert {"records_rev", "conflicts_status", "mutations_device",
                "tokens_device"} <= schema_names(conn, "index")


def test_m002_office_adds_audit_and_calendar(store: SqliteStore, db_path: Path) -> None:
    with closing(sqlite3.connect(db_path)) as conn:
        assert {"audit_log", "calendar"} <= schema_names(conn, "table")
        assert {"audit_log_at", "audit_log_entity"} <= schema_names(conn, "index")


def _migrated_up_to(path: Path, stop_before: str) -> sqlite_utils.Database:
    db = sqlite_utils.Database(str(path))
    migrations.apply(db, stop_before=stop_before)
    return db


def test_m003_history_lookups_use_the_primary_key(tmp_path: Path) -> None:
    db = _migrated_up_to(tmp_path / "old.db", "m004_record_history")
    try:
        conn = db.conn
        indexes = schema_names(conn, "index")
        assert "field_history_record" not in indexes
        plan = " ".join(str(r) for r in conn.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM field_history WHERE entity=? AND id=?", ("s", "x")))
        assert "sqlite_autoindex_field_history_1" in plan, plan
    finally:
        db.close()


#: field_history rows as m001 stored them: (entity, id, field, rev, value JSON, hlc, user, device)
OLD_HISTORY = [
    ("site", "s1", "name", 3, '"旧名"', "h3", "u1", "devA"),
    ("site", "s1", "contact_phone", 3, "null", "h3", "u1", "devA"),
    ("site", "s1", "gov_invested", 3, "true", "h3", "u1", "devA"),
    ("site", "s1", "name", 7, '"新名"', "h7", "u2", "devB"),
    ("site", "s1", "contract_amount", 7, "1250000.5", "h7", "u2", "devB"),
    ("inspection", "i1", "answers.C01", 4, '{"answer":"yes","value":null,"note":"现场"}',
     "h4", "u1", "devA"),
    ("inspection", "i1", "answers.C02", 4, '{"answer":"no","value":3,"note":""}',
     "h4", "u1", "devA"),
    ("inspection", "i1", "flags", 4, "[1,false,null]", "h4", "u1", "devA"),
]


def test_m004_folds_field_history_into_one_row_per_write(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = _migrated_up_to(path, "m004_record_history")
    with db.conn:
        db.conn.executemany("INSERT INTO field_history VALUES (?,?,?,?,?,?,?,?)", OLD_HISTORY)
    db.close()
    store = SqliteStore(path)
    try:
        store.migrate()
        assert store.applied_migrations() == MIGRATIONS
        conn = store.conn
        rows = conn.execute("SELECT entity, id, rev, hlc, user_id, device_id FROM record_history "
                            "ORDER BY entity, id, rev").fetchall()
        assert rows == [("inspection", "i1", 4, "h4", "u1", "devA"),
                        ("site", "s1", 3, "h3", "u1", "devA"),
                        ("site", "s1", 7, "h7", "u2", "devB")]
        # the same per-field history as before, through the store ...
        got = [(h.entity, h.id, h.field, h.rev, h.value, h.hlc, h.user_id, h.device_id)
               for e, i in (("site", "s1"), ("inspection", "i1"))
               for h in store.field_history(e, i)]
        want = [(e, i, f, r, json.loads(v), h, u, d) for e, i, f, r, v, h, u, d in sorted(
            OLD_HISTORY, key=lambda r: (r[0] != "site", r[3], r[2]))]
        assert got == want
        with store.transaction() as tx:
            assert tx.history_value("site", "s1", "contact_phone", 3) == (True, None)
            assert tx.history_value("site", "s1", "gov_invested", 3) == (True, True)
            assert tx.history_value("site", "s1", "name", 7) == (True, "新名")
            assert tx.history_value("site", "s1", "contact_phone", 7) == (False, None)
        # ... and through the compatibility view, value as the same JSON text
        view = conn.execute("SELECT entity, id, field, rev, value, hlc, user_id, device_id "
                            "FROM field_history").fetchall()
        assert sorted((*r[:4], json.loads(r[4]), *r[5:]) for r in view) == sorted(
            (*r[:4], json.loads(r[4]), *r[5:]) for r in OLD_HISTORY)
        assert {r[4] for r in view if r[2] == "gov_invested"} == {"true"}
        assert {r[4] for r in view if r[2] == "contact_phone"} == {"null"}
        assert "field_history" not in schema_names(conn, "table")
        assert store.health_check().ok
    finally:
        store.close()


def test_m005_backfills_the_pull_columns(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = _migrated_up_to(path, "m005_records_pull_columns")
    meta = {"name": [3, "1764140000000.0002.devA", "u1", "devA"],
            "answers.C01": [7, "1764140000000.0009.devB", "u2", "devB"],
            "lat": [5, None, None, None]}
    with db.conn:
        db.conn.execute(
            "INSERT INTO records (entity, id, rev, data, meta) VALUES (?,?,?,?,?)",
            ("site", "s1", 7, '{"id":"s1"}', json.dumps(meta)))
        db.conn.execute(
            "INSERT INTO records (entity, id, rev, data, meta) VALUES (?,?,?,?,?)",
            ("village", "v1", 8, '{"id":"v1"}', "{}"))
    db.close()
    store = SqliteStore(path)
    try:
        store.migrate()
        # rows written under the counter's back (it stays at 0): ask up to their revisions
        rows = {r.id: r for r in store.change_rows_since(0, 10, Visibility(all=True), upto=8)}
        assert json.loads(bytes(rows["s1"].field_revs)) == {"name": 3, "answers.C01": 7, "lat": 5}
        assert rows["s1"].hlc == "1764140000000.0009.devB"
        assert (json.loads(bytes(rows["v1"].field_revs)), rows["v1"].hlc) == ({}, None)
        assert bytes(rows["s1"].field_revs).decode() == json.dumps(
            {"name": 3, "answers.C01": 7, "lat": 5}, separators=(",", ":"))  # field order kept
    finally:
        store.close()


def test_m010_backfills_server_time(tmp_path: Path) -> None:
    """Records of an old database get ``received_at`` from the ledger (or their
    server-written times), submitted inspections ``submitted_received_at``, and
    cases fold their accept/resolve times again at the events' counted times."""
    path = tmp_path / "old.db"
    db = _migrated_up_to(path, "m010_received_at")
    day, t0 = 24 * 3600 * 1000, 1_764_140_000_000
    backdated = t0 - 400 * day
    rows = [  # entity, id, rev, parent, data
        ("case", "c1", 1, None, {"id": "c1", "created_at": backdated, "updated_at": t0 + 9,
                                 "opened_at": backdated, "initial_level": "village",
                                 "status": "resolved", "accepted_at": backdated,
                                 "resolved_at": backdated + day}),
        ("case_event", "e1", 2, "c1", {"id": "e1", "kind": "accept", "hlc": "a",
                                       "author_role": "grid_officer", "created_at": backdated,
                                       "updated_at": t0}),
        ("case_event", "e2", 3, "c1", {"id": "e2", "kind": "resolve", "note": "付清",
                                       "hlc": "b", "author_role": "grid_officer",
                                       "created_at": backdated + day, "updated_at": t0 + 9}),
        ("case", "c2", 4, None, {"id": "c2", "created_at": t0, "updated_at": t0 + 5,
                                 "opened_at": t0 - 10 * day}),  # office intake: no ledger
        ("inspection", "i1", 5, None, {"id": "i1", "created_at": t0 - 1, "updated_at": t0 + 7,
                                       "state": "submitted", "submitted_at": backdated}),
        ("site", "s1", 6, None, {"id": "s1", "created_at": t0 - 5, "updated_at": t0 - 2}),
        ("site", "s2", 7, None, {"id": "s2", "created_at": t0, "updated_at": t0,
                                 "received_at": 42}),
    ]
    ledger = [("m1", "case", "c1", t0), ("m2", "case_event", "e1", t0),
              ("m3", "case_event", "e2", t0 + 9), ("m4", "inspection", "i1", t0 + 3),
              ("m5", "inspection", "i1", t0 + 6), ("m6", "case", "c1", t0 + 8)]
    with db.conn:
        db.conn.executemany(
            "INSERT INTO records (entity, id, rev, parent_id, data, meta) VALUES (?,?,?,?,?,'{}')",
            [(e, i, r, p, json.dumps(d)) for e, i, r, p, d in rows])
        db.conn.executemany(
            "INSERT INTO mutations (id, device_id, user_id, seq, fingerprint, status, result, "
            "entity, entity_id, received_at) VALUES (?, 'devA', 'u1', 1, 'f', 'applied', '{}',"
            " ?, ?, ?)", ledger)
        db.conn.execute(  # a rejected mutation is no receipt
            "INSERT INTO mutations (id, device_id, user_id, seq, fingerprint, status, result, "
            "entity, entity_id, received_at) VALUES ('m7', 'devA', 'u1', 1, 'f', 'rejected', "
            "'{}', 'site', 's1', 1)")
    db.close()
    store = SqliteStore(path)
    try:
        store.migrate()
        data = {(r.entity, r.id): r.data for e in ("case", "case_event", "inspection", "site")
                for r in store.records(e)}
        assert data["case", "c1"]["received_at"] == t0
        assert data["case_event", "e2"]["received_at"] == t0 + 9
        assert data["case", "c2"]["received_at"] == t0 - 10 * day
        assert data["inspection", "i1"]["received_at"] == t0 + 3
        assert data["inspection", "i1"]["submitted_received_at"] == t0 + 6
        assert data["site", "s1"]["received_at"] == t0 - 5
        assert data["site", "s2"]["received_at"] == 42
        window = 72 * 3600 * 1000
        c1 = data["case", "c1"]
        assert (c1["accepted_at"], c1["resolved_at"]) == (t0 - window, t0 + 9 - window)
        assert c1["opened_at"] == backdated and data["case_event", "e1"]["created_at"] == backdated
    finally:
        store.close()


# --- SQLite specifics -----------------------------------------------------------


def _plan_of(store: SqliteStore, call: Callable[[], object]) -> str:
    """The query plan of the one statement on ``records`` that ``call`` runs."""
    captured: list[str] = []
    store.conn.set_trace_callback(captured.append)  # the statement with its values
    call()
    store.conn.set_trace_callback(None)
    (statement,) = [q for q in captured if "FROM records" in q]
    return " | ".join(r[3] for r in store.conn.execute("EXPLAIN QUERY PLAN " + statement))


def test_a_scoped_pull_reads_its_own_scope_not_every_newer_row(store: SqliteStore) -> None:
    """m006: each way of being visible is an index range; the township-wide
    revision index is not walked for a grid officer's pull."""
    vis = Visibility(all=False, village_ids=("v1", "v2"), department_ids=("d1",), user_id="u1")
    plan = _plan_of(store, lambda: store.change_rows_since(0, 10, vis, upto=10))
    for index in ("records_ref_rev", "records_village_rev", "records_department_rev",
                  "records_creator_rev"):
        assert index in plan, plan
    assert "INDEX records_rev " not in plan, plan


def test_photos_are_found_by_hash_and_by_device_through_indexes(store: SqliteStore) -> None:
    vis = Visibility(all=False, village_ids=("v1",), user_id="u1")
    plan = _plan_of(store, lambda: store.blob_visible("ab" * 32, vis))
    assert "records_photo_sha" in plan, plan
    plan = _plan_of(store, lambda: store.photo_hashes_named_by("dev-x"))
    assert "records_photo_device" in plan, plan


def test_wal_and_full_sync(store: SqliteStore) -> None:
    assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with store.transaction() as tx:
        assert tx.conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL


def test_record_revisions_are_unique_in_the_table(store: SqliteStore) -> None:
    with store.transaction() as tx:
        put(tx, "site", "s1")
    with pytest.raises(sqlite3.IntegrityError):
        with store.transaction() as tx:
            r = tx.get_record("site", "s1")
            r.id = "s2"  # same rev, another record
            tx.put_record(r)
    assert store.count_records("site") == 1


def test_reference_rows_are_flagged(store: SqliteStore) -> None:
    with store.transaction() as tx:
        for entity in ("village", "department", "user", "checklist_template", "site"):
            put(tx, entity, f"{entity}-1")
    flagged = dict(store.conn.execute("SELECT entity, ref FROM records").fetchall())
    assert flagged == {"village": 1, "department": 1, "user": 1, "checklist_template": 1,
                       "site": 0}


def test_backup_is_a_consistent_copy(store: SqliteStore, tmp_path: Path) -> None:
    with store.transaction() as tx:
        put(tx, "site", "s1", {"name": "备份"})
    assert store.backup(tmp_path / "copy.db").ok
    copy = SqliteStore(tmp_path / "copy.db")
    try:
        assert copy.get_record("site", "s1").data["name"] == "备份"
        assert copy.applied_migrations() == MIGRATIONS
        assert copy.health_check().ok
    finally:
        copy.close()


def test_meta_is_stored_once_per_write_and_the_per_field_form_is_still_read(
        store: SqliteStore) -> None:
    old = {"name": [3, "h3", "u1", "devA"], "answers.C01": [5, "h5", "u2", "devB"],
           "lat": [5, "h5", "u2", "devB"]}
    with store.transaction() as tx:
        tx.conn.execute("INSERT INTO records (entity, id, rev, data, meta) VALUES (?,?,?,?,?)",
                        ("site", "s1", 5, '{"id":"s1"}', json.dumps(old)))
    got = store.get_record("site", "s1")
    assert got.meta == {k: FieldMeta(*v) for k, v in old.items()}
    with store.transaction() as tx:
        tx.put_record(got)
    stored = json.loads(store.conn.execute("SELECT meta FROM records").fetchone()[0])
    assert sorted(stored) == [[3, "h3", "u1", "devA", ["name"]],
                              [5, "h5", "u2", "devB", ["answers.C01", "lat"]]]
    assert store.get_record("site", "s1") == got


def test_m007_devices_from_before_have_no_secret(tmp_path: Path) -> None:
    """A device row written before m007 keeps everything and has no secret
    bound: its own user's next login binds one (tests/security)."""
    path = tmp_path / "old.db"
    db = _migrated_up_to(path, "m007_device_secrets")
    with db.conn:
        db.conn.execute("INSERT INTO devices (device_id, user_id, name, created_at, last_hlc) "
                        "VALUES ('devA', 'u1', '红米', 5, '1764140000000.0001.devA')")
    db.close()
    store = SqliteStore(path)
    try:
        store.migrate()
        d = store.get_device("devA")
        assert (d.user_id, d.name, d.created_at, d.last_hlc, d.secret_hash) == (
            "u1", "红米", 5, "1764140000000.0001.devA", None)
    finally:
        store.close()


def test_m009_backfills_blob_holders_and_upload_times(tmp_path: Path) -> None:
    """Blobs sent before m009 keep their readers: the user of the device that
    sent them, and the creators of photo records that device pushed naming them.
    A photo record by anyone else does not make them a holder."""
    path = tmp_path / "old.db"
    db = _migrated_up_to(path, "m009_uploads_bounded")
    sha_a, sha_b = "a" * 64, "b" * 64
    with db.conn:
        db.conn.execute("INSERT INTO blobs VALUES (?,?,?,?)", (sha_a, 1, 10, "devA"))
        db.conn.execute("INSERT INTO blobs VALUES (?,?,?,?)", (sha_b, 1, 11, "devGone"))
        db.conn.execute("INSERT INTO devices (device_id, user_id) VALUES ('devA', 'u-now')")
        for id, sha, user, device, rev in (("p1", sha_a, "u-old", "devA", 1),
                                          ("p2", sha_a, "u-other", "devX", 2),
                                          ("p3", sha_b, "u-b", "devGone", 3)):
            db.conn.execute(
                "INSERT INTO records (entity, id, rev, data, meta, created_by_user, "
                "created_by_device) VALUES ('photo', ?, ?, ?, '[]', ?, ?)",
                (id, rev, f'{{"sha256": "{sha}"}}', user, device))
        db.conn.execute("INSERT INTO uploads VALUES ('up1', ?, 10, 0, '', 'devA', 'u-now', 77)",
                        (sha_a,))
    db.close()
    s = SqliteStore(path)
    try:
        s.migrate()
        assert s.blob_holders(sha_a) == ["u-now", "u-old"]
        assert s.blob_holders(sha_b) == ["u-b"]
        assert s.get_upload("up1").updated_at == 77
        assert s.pending_migrations() == []
    finally:
        s.close()


def test_pool_stats_are_empty_without_a_pool(store: SqliteStore) -> None:
    assert store.pool_stats() == {}
