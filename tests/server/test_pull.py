"""Pull: revisions, pages, cursors, tombstones; and pushes racing on a real server."""

from __future__ import annotations

import threading
from pathlib import Path

from shared_schema.ids import uuid7

from .support import World, ok, serve_world


def test_pull_from_zero_is_the_whole_visible_state_in_revision_order(world: World) -> None:
    dev = world.device("office1", "devO", pull=False)
    r = dev.pull_response(0)
    body = r.json()
    revs = [c["rev"] for c in body["changes"]]
    assert revs == sorted(revs) and len(set(revs)) == len(revs)
    assert body["cursor"] == world.store.max_rev() == revs[-1]
    assert body["has_more"] is False
    assert body["server_time_ms"] == world.clock()
    site = next(c for c in body["changes"] if c["id"] == world.site1)
    assert site["entity"] == "site" and site["deleted"] is False
    assert site["data"]["name"] == "一村安置房工地"
    assert set(site["field_revs"]) >= {"name", "kind", "village_id", "contractor"}
    assert max(site["field_revs"].values()) == site["rev"]


def test_paging_with_limit_returns_everything_once(world: World) -> None:
    office = world.device("office1", "devO")
    for i in range(7):
        ok(office.sync(office.upsert("site", uuid7(), {"name": f"工地{i}", "kind": "other",
                                                       "village_id": world.v1}))[0])
    whole = [(c["entity"], c["id"], c["rev"]) for c in office.pull_response(0).json()["changes"]]
    paged, since, pages = [], 0, 0
    while True:
        body = office.pull_response(since, limit=3).json()
        pages += 1
        assert len(body["changes"]) <= 3
        paged += [(c["entity"], c["id"], c["rev"]) for c in body["changes"]]
        assert body["cursor"] >= since
        since = body["cursor"]
        if not body["has_more"]:
            break
    assert paged == whole
    assert pages == -(-len(whole) // 3)  # no empty last page


def test_an_incremental_pull_returns_only_new_changes(world: World) -> None:
    a = world.device("grid1", "devA")
    b = world.device("grid1", "devB")
    cursor = a.cursor
    ok(b.sync(b.upsert("site", world.site1, {"contact_name": "新联系人"}))[0])
    changes = a.pull()
    assert [(c["entity"], c["id"]) for c in changes] == [("site", world.site1)]
    assert changes[0]["rev"] > cursor
    assert a.pull() == []


def test_invisible_changes_move_the_cursor_but_are_not_sent(world: World) -> None:
    g1 = world.device("grid1", "devA")
    g2 = world.device("grid2", "devB")
    ok(g2.sync(g2.upsert("site", world.site2, {"contact_name": "二村的事"}))[0])
    body = g1.pull_response(g1.cursor).json()
    assert body["changes"] == []
    assert body["cursor"] == world.store.max_rev()


def test_a_deleted_record_is_pulled_as_a_tombstone(world: World) -> None:
    office = world.device("office1", "devO")
    g2 = world.device("grid2", "devB")
    ok(office.sync(office.delete("site", world.site2))[0])
    (tomb,) = g2.pull()
    assert (tomb["id"], tomb["deleted"]) == (world.site2, True)
    assert tomb["data"]["name"] == "二社区服装厂"  # the last state stays
    again = office.sync(office.delete("site", world.site2))[0]
    ok(again)  # deleting twice is harmless
    assert g2.pull() == []


def test_concurrent_pushes_on_a_real_server_all_commit_once(tmp_path: Path) -> None:
    """Four devices push at once through uvicorn: one writer, no lost or doubled write."""
    with serve_world(tmp_path) as (_, world):
        devices = [world.device("office1", f"race{i}") for i in range(4)]
        batches = {d.device_id: [[d.upsert("site", uuid7(), {
            "name": f"{d.device_id}-{n}-{k}", "kind": "other", "village_id": world.v1})
            for k in range(5)] for n in range(6)] for d in devices}
        start = threading.Barrier(len(devices))
        failures: list[str] = []

        def run(dev) -> None:
            start.wait()
            for batch in batches[dev.device_id]:
                r = dev.push_response(*batch)
                if r.status_code != 200 or {x["status"] for x in r.json()["results"]} != {
                        "applied"}:
                    failures.append(f"{dev.device_id}: {r.status_code} {r.text[:200]}")

        threads = [threading.Thread(target=run, args=(d,)) for d in devices]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert failures == []
        assert world.store.count_records("site") == 2 + 4 * 6 * 5
        revs = [r.rev for r in world.store.records("site")]
        assert len(set(revs)) == len(revs)
        for d in devices:
            assert world.store.device_stats(d.device_id).mutations_applied == 30
        assert world.store.health_check().ok
