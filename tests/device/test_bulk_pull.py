"""The bulk pull path and the store layout it writes (m002): a pulled record
with no local edit on top is stored as the JSON text the server sent, and
must end up exactly as the decoding path (``_apply_change``) would store it;
the link columns replace m001's expression indexes; one clock advance per
page; sync commits are atomic but not fsynced on their own."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import msgspec
import pytest
import sqlite_utils

from field_app.core import Device
from field_app.core.outbox import DeviceClock
from field_app.core.store import (
    LINK_INDEXES,
    PAGE_SIZE,
    LocalStore,
    Tx,
    dumps,
    loads,
    migrations,
)
from field_app.core.pull import _raw_row, raw_pull_decoder
from shared_schema.wire import RawChange

from .support import PASSWORD, FaultTransport, fast_settings

SITE = "0190aaaa-0000-7000-8000-00000000a001"
CASE = "0190aaaa-0000-7000-8000-00000000c001"
COLUMNS = ("entity, id, data, server, server_is_data, field_revs, server_rev, server_hlc, "
           "deleted, seen_gen, site_id, owner_id, case_id")


def _change(entity: str, id: str, data: object, *, rev: int = 7, deleted: bool = False,
            field_revs: object | None = None, hlc: str | None = "1795600000000.0001.server"
            ) -> dict[str, object]:
    revs = field_revs if field_revs is not None else (
        {k: rev for k in data} if isinstance(data, dict) else {})
    return {"entity": entity, "id": id, "rev": rev, "deleted": deleted, "data": data,
            "field_revs": revs, "hlc": hlc}


#: Changes the bulk path takes, and changes it must leave to the decoding path.
BULK = [
    _change("site", SITE, {"id": SITE, "name": "安置房一期", "kind": "construction",
                           "lat": 29.5, "contract_amount": 178000.0}),
    _change("inspection", "i1", {"id": "i1", "site_id": SITE, "state": "submitted",
                                 "answers": {"C01": {"answer": "yes", "note": None},
                                             "C02": {"deleted": True, "answer": "no"}}},
            field_revs={"site_id": 7, "answers.C01": 5, "answers.C02": 7}),
    _change("site", "gone", {"id": "gone", "name": "拆除"}, deleted=True, rev=9),
    _change("case", CASE, {"id": CASE, "site_id": SITE, "title": "say \"deleted\" here"}),
    _change("case_event", "e1", {"id": "e1", "case_id": CASE, "kind": "accept"}, hlc=None),
    _change("photo", "p1", {"id": "p1", "owner_id": "i1", "owner_entity": "inspection"}),
]
DECODED = [
    _change("site", "d1", {"id": "d1", "name": "x", "deleted": True}),  # names deleted itself
    _change("site", "d2", {}),  # empty object
    _change("inspection", "d3", {"id": "d3", "site_id": 12}),  # a link that is not text
]


def _page(changes: list[dict[str, object]]) -> list[RawChange]:
    body = msgspec.json.encode({"changes": changes, "cursor": 99, "has_more": False})
    return raw_pull_decoder.decode(body).changes


def _table(store: LocalStore) -> dict[tuple[str, str], dict[str, object]]:
    out = {}
    for row in store.conn.execute(f"SELECT {COLUMNS} FROM records"):
        d = dict(zip([c.strip() for c in COLUMNS.split(",")], row, strict=True))
        d["data"], d["field_revs"] = loads(d["data"]), loads(d["field_revs"])
        d["server"] = loads(d["server"])
        out[(d["entity"], d["id"])] = d
    return out


def test_raw_rows_are_what_the_decoding_path_stores(tmp_path: Path) -> None:
    changes = _page(BULK + DECODED)
    rows = [_raw_row(c, 3, 1000) for c in changes]
    assert [r is not None for r in rows] == [True] * len(BULK) + [False] * len(DECODED)

    bulk = Device.open(tmp_path / "bulk", fast_settings(now_ms=lambda: 1000))
    slow = Device.open(tmp_path / "slow", fast_settings(now_ms=lambda: 1000))
    try:
        with bulk.store.write(durable=False) as tx:
            bulk._client()._apply_page(tx, changes, rows, 3)
        client = slow._client()
        with slow.store.write() as tx:
            for c in changes:
                client._apply_change(tx, c, 3)
        got, want = _table(bulk.store), _table(slow.store)
        assert got.keys() == want.keys() == {(c.entity, c.id) for c in changes}
        assert got == want
        # Spot checks of what both must say.
        insp = got[("inspection", "i1")]
        assert insp["site_id"] == SITE and insp["server_is_data"] == 1 and insp["server"] is None
        assert insp["data"]["deleted"] is False
        assert insp["data"]["answers"]["C02"] == {"deleted": True, "answer": "no"}
        assert got[("site", "gone")]["deleted"] == 1
        assert got[("site", "gone")]["data"]["deleted"] is True
        assert got[("case_event", "e1")]["case_id"] == CASE
        assert got[("photo", "p1")]["owner_id"] == "i1"
        assert got[("inspection", "d3")]["site_id"] is None  # only text links
        assert got[("site", "d1")]["data"]["deleted"] is False  # the change's flag wins
        with bulk.store.read() as tx:
            row = tx.row("inspection", "i1")
            assert row is not None and row.server == row.data and row.server is not row.data
            assert row.field_revs == {"site_id": 7, "answers.C01": 5, "answers.C02": 7}
        assert bulk.check() == [] and slow.check() == []
        # One advance for the page, persisted with it: past its newest HLC.
        assert bulk.clock.last > "1795600000000.0001.server"
        with bulk.store.read() as tx:
            assert tx.get("hlc") == bulk.clock.last
    finally:
        bulk.close()
        slow.close()


def test_a_malformed_record_still_fails_the_page(tmp_path: Path) -> None:
    """The bulk path trusts no more than the typed decode did: data that is
    not an object goes to the decoding path, which refuses it, and the page's
    transaction rolls back whole."""
    changes = _page([BULK[0], _change("site", "bad", [1, 2], field_revs={})])
    rows = [_raw_row(c, 0, 1) for c in changes]
    assert rows[1] is None
    dev = Device.open(tmp_path / "d", fast_settings())
    try:
        with pytest.raises(msgspec.ValidationError):
            with dev.store.write(durable=False) as tx:
                dev._client()._apply_page(tx, changes, rows, 0)
        with dev.store.read() as tx:
            assert tx.count("records") == 0
    finally:
        dev.close()


def test_receive_all_moves_past_the_newest_with_one_write(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "s", lambda: 5)
    store.migrate()
    clock = DeviceClock("dev", lambda: 5, None)
    stamps = ["1795600000000.0003.b", None, "1795600000009.0001.a", "1795600000000.0007.c"]
    writes: list[str] = []
    with store.write() as tx:
        real_set = tx.set
        tx.set = lambda k, v: (writes.append(k), real_set(k, v))  # type: ignore[method-assign]
        clock.receive_all(tx, stamps)
        assert tx.get("hlc") == clock.last
    assert writes == ["hlc"]
    assert clock.last > "1795600000009.0001.a"
    # An invalid newest stamp is skipped, the valid ones still count.
    with store.write() as tx:
        clock.receive_all(tx, ["1795600000020.0000.a", "zzz-not-an-hlc"])
        assert clock.last > "1795600000020.0000.a" and tx.get("hlc") == clock.last
    with store.write() as tx:
        clock.receive_all(tx, [None, ""])  # nothing to receive
        assert tx.get("hlc") == clock.last
    store.close()


def test_m002_moves_links_to_columns_and_stores_server_once(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    db = sqlite_utils.Database(path)
    migrations.apply(db, stop_before="m002_record_keys")
    same = {"id": SITE, "name": "工地", "deleted": False}
    edited = {"id": "i1", "site_id": SITE, "notes": "本地", "deleted": False}
    rows = [
        ("site", SITE, dumps(same), dumps(same)),
        ("inspection", "i1", dumps(edited), dumps({**edited, "notes": "服务器"})),
        ("photo", "p1", dumps({"id": "p1", "owner_id": "i1", "deleted": False}), None),
        ("case_event", "e1", dumps({"id": "e1", "case_id": CASE, "deleted": False}), None),
        ("inspection", "i2", dumps({"id": "i2", "site_id": 5, "deleted": False}), None),
    ]
    for r in rows:
        db.execute("INSERT INTO records(entity, id, data, server) VALUES (?,?,?,?)", r)
    db.conn.commit()
    before = {(r[0], r[1]): (loads(r[2]), loads(r[3])) for r in rows}
    db.close()

    store = LocalStore(tmp_path / "x", lambda: 0)  # any folder; reopen the old file
    store.conn.close()
    store.path = path
    from field_app.core.store import connect

    store.conn = connect(path)
    store.db = sqlite_utils.Database(store.conn)
    store.migrate()
    assert store.applied_migrations() == ["m001_initial", "m002_record_keys"]
    assert store.conn.execute("PRAGMA page_size").fetchone()[0] == 4096  # an old file keeps its
    cols = {r[0]: r[1:] for r in store.conn.execute(
        "SELECT id, site_id, owner_id, case_id, server IS NULL, server_is_data FROM records")}
    assert cols == {SITE: (None, None, None, 1, 1), "i1": (SITE, None, None, 0, 0),
                    "p1": (None, "i1", None, 1, 0), "e1": (None, None, CASE, 1, 0),
                    "i2": (None, None, None, 1, 0)}
    with store.read() as tx:
        for (entity, id), (data, server) in before.items():
            row = tx.row(entity, id)
            assert row is not None and (row.data, row.server) == (data, server)
        plan = " ".join(r[3] for r in tx.q(
            "EXPLAIN QUERY PLAN SELECT id FROM records WHERE entity='inspection' AND site_id=?",
            (SITE,)))
        assert "records_site" in plan
        assert [r.id for r in tx.rows("case_event", "case_id = ?", (CASE,))] == ["e1"]
    indexes = {r[1]: r[4] for r in store.conn.execute("PRAGMA index_list(records)")}
    assert {"records_site", "records_owner", "records_case"} <= set(indexes)
    assert all(indexes[n] == 1 for n in ("records_site", "records_owner", "records_case"))
    store.close()


def test_new_file_page_size_and_sync_commits(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "s", lambda: 0)
    store.migrate()

    def sync_level() -> int:
        return store.conn.execute("PRAGMA synchronous").fetchone()[0]

    assert store.conn.execute("PRAGMA page_size").fetchone()[0] == PAGE_SIZE
    assert sync_level() == 2  # FULL: user actions
    with store.write(durable=False) as tx:
        assert sync_level() == 1  # NORMAL: this commit is atomic, not fsynced on its own
        tx.set("cursor", 1)
    assert sync_level() == 2
    with pytest.raises(RuntimeError):
        with store.write(durable=False) as tx:
            tx.set("cursor", 2)
            raise RuntimeError("power cut")
    assert sync_level() == 2
    with store.read() as tx:
        assert tx.get("cursor") == 1
    store.close()
    # Another connection sees the committed state (WAL, nothing half-written).
    conn = sqlite3.connect(tmp_path / "s" / "device.db")
    assert conn.execute("SELECT value FROM state WHERE key='cursor'").fetchone() == ("1",)
    conn.close()


def test_records_lists_use_the_link_columns(tmp_path: Path) -> None:
    dev = Device.open(tmp_path / "d", fast_settings())
    try:
        changes = _page(BULK)
        with dev.store.write(durable=False) as tx:
            dev._client()._apply_page(tx, changes, [_raw_row(c, 0, 1) for c in changes], 0)
        assert [r["id"] for r in dev.inspections(site_id=SITE)] == ["i1"]
        assert [r["id"] for r in dev.cases(site_id=SITE)] == [CASE]
        assert [r["id"] for r in dev.photos("i1")] == ["p1"]
        assert [r["id"] for r in dev.records("case_event", case_id=CASE)] == ["e1"]
        assert dev.records("inspection", site_id="nope") == []
        assert [r["id"] for r in dev.records("site", name="安置房一期")] == [SITE]
    finally:
        dev.close()


def test_tx_helpers_see_server_is_data(tmp_path: Path) -> None:
    """A row stored with server_is_data reads back with its server values; an
    edit on top stores them apart again."""
    store = LocalStore(tmp_path / "s", lambda: 0)
    store.migrate()
    with store.write() as tx:
        Tx.put_raw_rows(tx, [(_raw_row(_page([BULK[0]])[0], 0, 1))])
        row = tx.row("site", SITE)
        assert row is not None and row.server == row.data
        row.data = {**row.data, "name": "本地名"}
        tx.put_row(row)
        again = tx.row("site", SITE)
        assert again is not None and again.server is not None
        assert again.server["name"] == "安置房一期" and again.data["name"] == "本地名"
    flags = store.conn.execute("SELECT server IS NULL, server_is_data FROM records").fetchall()
    assert flags == [(0, 0)]
    store.close()


def test_a_pull_from_zero_takes_larger_pages(server, make_device) -> None:
    """first_pull_limit for a pull from cursor 0 (and a full resync), then
    pull_limit; the pages still arrive one at a time, each in order."""
    limits: list[tuple[int, int]] = []

    class Watch(FaultTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("/sync/pull"):
                limits.append((int(request.url.params["since"]),
                               int(request.url.params["limit"])))
            return super().handle_request(request)

    dev = make_device("A", server, "office1", transport=Watch(), pull_limit=2,
                      first_pull_limit=3)
    first = list(limits)
    assert first[0] == (0, 3) and len(first) >= 3  # paged, 3 at a time
    assert all(lim == 3 for _, lim in first)
    assert [s for s, _ in first] == sorted(s for s, _ in first)
    n = dev.status().cursor
    dev.update_site(server.town.site1, contact_name="甲")
    dev.update_site(server.town.site2, contact_name="乙")
    dev.update_site(server.town.site3, contact_name="丙")
    limits.clear()
    assert dev.sync().ok
    assert limits and all(lim == 2 for _, lim in limits)
    assert limits[0][0] == n
    assert dev.check() == []


def test_a_response_is_freed_without_the_cycle_collector() -> None:
    """A pull page is megabytes: its response must go when the last reference
    does, not when the cycle collector happens to run (it used to: the device
    held a few hundred MB of old pages during a first sync)."""
    import gc
    import weakref

    from field_app.core.api import ApiClient

    body = b'{"changes":[],"cursor":0,"has_more":false}' * 1000
    transport = httpx.MockTransport(lambda req: httpx.Response(200, content=body))
    api = ApiClient("http://device.test", fast_settings(transport=transport), "t")
    gc.disable()
    try:
        r = api.send("GET", "/api/v1/sync/pull")
        assert r.content == body and r.read() == body
        ref = weakref.ref(r)
        del r
        assert ref() is None
    finally:
        gc.enable()
        api.close()


# --- the first sync fills the table without its link indexes (bulk_load) ------------------


def _link_indexes(db: Path) -> set[str]:
    """The link indexes a device file has, seen through a connection of its own."""
    con = sqlite3.connect(db)
    try:
        return {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='index'")
                } & set(LINK_INDEXES)
    finally:
        con.close()


class _SeeIndexes(FaultTransport):
    """Notes, at every pull request, which link indexes the device file has; goes
    offline after ``offline_after`` pull requests."""

    def __init__(self, db: Path, offline_after: int | None = None) -> None:
        super().__init__()
        self.db = db
        self.offline_after = offline_after
        self.seen: list[tuple[int, set[str]]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/sync/pull") and not self.offline:
            self.seen.append((int(request.url.params["since"]), _link_indexes(self.db)))
            if self.offline_after is not None and len(self.seen) >= self.offline_after:
                self.offline = True
        return super().handle_request(request)


def test_a_first_sync_makes_the_link_indexes_at_its_end(server, make_device,
                                                        tmp_path: Path) -> None:
    db = tmp_path / "devices" / "A" / LocalStore.FILE
    watch = _SeeIndexes(db)
    dev = make_device("A", server, "office1", transport=watch, first_pull_limit=3)
    first = list(watch.seen)
    assert len(first) >= 3 and first[0][0] == 0
    assert all(present == set() for _, present in first)  # filled without them
    assert _link_indexes(db) == set(LINK_INDEXES)  # and made at the end
    with dev.store.read() as tx:
        plan = " ".join(r[3] for r in tx.q(
            "EXPLAIN QUERY PLAN SELECT id FROM records WHERE entity='inspection' AND site_id=?",
            (server.town.site1,)))
        assert "records_site" in plan
        assert tx.count("records", "entity='site'") > 0
    assert dev.check() == []
    # A later sync pulls into a table that has records: the indexes stay.
    dev.update_site(server.town.site1, contact_name="甲")
    watch.seen.clear()
    assert dev.sync().ok
    assert watch.seen and all(present == set(LINK_INDEXES) for _, present in watch.seen)


def test_a_first_sync_cut_off_keeps_its_pages_and_the_indexes(server, make_device,
                                                              tmp_path: Path) -> None:
    db = tmp_path / "devices" / "B" / LocalStore.FILE
    watch = _SeeIndexes(db, offline_after=2)
    dev = make_device("B", transport=watch, first_pull_limit=3)
    dev.login(server.url, "office1", PASSWORD)
    report = dev.sync()
    assert not report.ok and report.pulled == 3  # one page in, then no signal
    assert _link_indexes(db) == set(LINK_INDEXES)
    with dev.store.read() as tx:
        assert tx.count("records") == 3
    watch.offline, watch.offline_after = False, None
    assert dev.sync().ok  # on from the cursor: the table is not empty, the indexes stay
    assert all(present == set(LINK_INDEXES) for _, present in watch.seen[2:])
    assert dev.check() == []


def test_a_process_killed_in_a_first_sync_gets_the_indexes_back(tmp_path: Path) -> None:
    # A process that dies (os._exit: no finally runs) inside a first sync's bulk load.
    script = (
        "import os, sys\n"
        "from field_app.core.store import LocalStore\n"
        "store = LocalStore(sys.argv[1], lambda: 0)\n"
        "store.migrate()\n"
        "with store.bulk_load() as filling:\n"
        "    assert filling\n"
        "    os._exit(9)\n")
    died = subprocess.run([sys.executable, "-c", script, str(tmp_path / "k")],
                          cwd=Path(__file__).resolve().parents[2], timeout=60)
    assert died.returncode == 9
    assert _link_indexes(tmp_path / "k" / LocalStore.FILE) == set()
    again = Device.open(tmp_path / "k", fast_settings())
    try:
        assert _link_indexes(again.store.path) == set(LINK_INDEXES)
    finally:
        again.close()


def test_bulk_load_leaves_a_table_with_records_alone(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "r", lambda: 0)
    store.migrate()
    with store.write() as tx:
        tx.put_raw_rows([_raw_row(c, 1, 0) for c in _page(BULK[:1])])
    with store.bulk_load() as filling:
        assert filling is False
        assert _link_indexes(store.path) == set(LINK_INDEXES)
    with store.bulk_load(wanted=False) as filling:
        assert filling is False
    store.close()
