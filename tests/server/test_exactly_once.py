"""Exactly once and atomic batches: replays, reused ids, crashes, restarts."""

from __future__ import annotations

from typing import Any

import pytest

import sync_server.domain.sync.service as sync_service
from shared_schema.ids import uuid7

from .support import World, error_of, ok, rejected


def snapshot(world: World) -> dict[str, Any]:
    """Everything a push can change, to compare before and after."""
    store = world.store
    return {
        "max_rev": store.max_rev(),
        "records": {(r.entity, r.id): (r.rev, r.data, r.field_revs(), r.deleted)
                    for e in ("site", "case", "case_event", "inspection", "photo")
                    for r in store.records(e)},
        "conflicts": [c.id for c in store.list_conflicts()],
        "stats": {d: store.device_stats(d) for d in ("devA", "devB")},
    }


def test_replayed_push_changes_nothing_and_answers_duplicate(world: World) -> None:
    dev = world.device("grid1", "devA")
    dev.pull(0)
    case_id = uuid7()
    batch = [
        dev.upsert("site", world.site1, {"contractor": "新总包", "contact_phone": "13800000000"}),
        dev.upsert("case", case_id, {"site_id": world.site1, "title": "拖欠木工工资",
                                     "sector": "construction", "workers_owed": 3}),
        dev.insert("case_event", uuid7(), {"case_id": case_id, "kind": "accept"}),
    ]
    first = dev.sync(*batch)
    assert [r["status"] for r in first] == ["applied"] * 3
    before = snapshot(world)
    for _ in range(3):
        again = dev.push(*batch)
        assert [r["status"] for r in again["results"]] == ["duplicate"] * 3
        assert all("error" not in r and "conflicts" not in r for r in again["results"])
        assert again["cursor_hint"] == before["max_rev"]
        assert snapshot(world) == before
    case = world.store.get_record("case", case_id)
    assert case.data["status"] == "accepted"  # the event was folded once, not four times
    assert len([r for r in world.store.records("case_event")]) == 1


def test_replay_inside_one_batch_is_a_duplicate(world: World) -> None:
    dev = world.device("grid1", "devA")
    m = dev.upsert("site", world.site1, {"contact_name": "张工"})
    results = dev.sync(m, m)
    assert [r["status"] for r in results] == ["applied", "duplicate"]


def test_same_mutation_id_with_another_payload_is_rejected(world: World) -> None:
    dev = world.device("grid1", "devA")
    m = dev.upsert("site", world.site1, {"contractor": "甲公司"})
    ok(dev.sync(m)[0])
    before = snapshot(world)
    reused = {**m, "fields": {"contractor": "乙公司"}}
    rejected(dev.sync(reused)[0], "mutation_id_reused")
    assert snapshot(world) == before
    assert world.store.get_record("site", world.site1).data["contractor"] == "甲公司"
    # the original is still a plain duplicate afterwards
    assert dev.sync(m)[0]["status"] == "duplicate"


def test_another_device_reusing_a_mutation_id_is_rejected(world: World) -> None:
    a = world.device("grid1", "devA")
    b = world.device("office1", "devB")
    m = a.upsert("site", world.site1, {"contractor": "甲公司"})
    ok(a.sync(m)[0])
    stolen = b.upsert("site", world.site1, {"contractor": "乙公司"})
    stolen["id"] = m["id"]
    rejected(b.sync(stolen)[0], "mutation_id_reused")
    assert world.store.get_record("site", world.site1).data["contractor"] == "甲公司"


def test_a_rejected_mutation_replayed_is_rejected_the_same_way(world: World) -> None:
    dev = world.device("grid1", "devA")
    bad = dev.upsert("site", world.site2, {"contractor": "越界"})
    first = dev.sync(bad)[0]
    rejected(first, "out_of_scope")
    assert dev.sync(bad)[0] == first
    assert world.store.device_stats("devA").mutations_received == 1


def test_exactly_once_across_a_restart(make_app_client, clock) -> None:
    first = make_app_client()
    world = World(first.client, first.store, clock).seed()
    dev = world.device("grid1", "devA")
    m = dev.upsert("site", world.site1, {"contractor": "重启前"})
    ok(dev.sync(m)[0])
    rev = first.store.max_rev()
    first.close()  # stops the app: the store closes

    second = make_app_client()
    world.http, world.store = second.client, second.store
    assert dev.sync(m)[0]["status"] == "duplicate"  # the same token still works
    assert second.store.max_rev() == rev
    assert second.store.device_stats("devA").mutations_received == 1


# --- atomic batches -------------------------------------------------------------


@pytest.fixture
def crashing(make_app_client, clock, monkeypatch):
    """A world whose server raises on the 3rd mutation it applies, while armed."""
    app = make_app_client(raise_server_exceptions=False)
    world = World(app.client, app.store, clock).seed()
    real_apply = sync_service.apply
    state = {"calls": 0, "armed": True}

    def faulty_apply(batch, m, checked):
        state["calls"] += 1
        if state["armed"] and state["calls"] == 3:
            raise RuntimeError("disk on fire")
        return real_apply(batch, m, checked)

    monkeypatch.setattr(sync_service, "apply", faulty_apply)
    return world, state


def test_a_crash_mid_batch_applies_nothing_and_a_retry_applies_all(crashing) -> None:
    world, fault = crashing
    dev = world.device("grid1", "devA")
    dev.pull(0)
    case_id = uuid7()
    batch = [
        dev.upsert("site", world.site1, {"contractor": "崩溃前"}),
        dev.upsert("case", case_id, {"site_id": world.site1, "title": "拖欠工资",
                                     "sector": "construction"}),
        dev.insert("case_event", uuid7(), {"case_id": case_id, "kind": "accept"}),
        dev.upsert("site", world.site1, {"contact_name": "李工"}),
    ]
    before = snapshot(world)
    device_before = world.store.get_device("devA")

    r = dev.push_response(*batch)
    err = error_of(r, 500)
    assert err["code"] == "internal_error"
    assert "disk on fire" not in r.text  # no internals leak
    assert fault["calls"] == 3
    assert snapshot(world) == before
    for m in batch:
        assert world.store.get_mutation(m["id"]) is None
    assert world.store.get_record("case", case_id) is None
    assert world.store.get_device("devA") == device_before

    fault["armed"] = False
    results = dev.sync(*batch)
    assert [r["status"] for r in results] == ["applied"] * 4
    site = world.store.get_record("site", world.site1).data
    assert (site["contractor"], site["contact_name"]) == ("崩溃前", "李工")
    assert world.store.get_record("case", case_id).data["status"] == "accepted"
    assert world.store.device_stats("devA").mutations_applied == 4


def test_a_rejected_mutation_leaves_no_trace_but_its_ledger_row(world: World) -> None:
    dev = world.device("grid1", "devA")
    case_id = uuid7()
    create = dev.upsert("case", case_id, {"site_id": world.site1, "title": "欠薪",
                                          "sector": "construction"})
    ok(dev.sync(create)[0])
    before = snapshot(world)
    bad = dev.insert("case_event", uuid7(), {"case_id": case_id, "kind": "resolve",
                                             "note": "已处理"})
    rejected(dev.sync(bad)[0], "illegal_transition")
    after = snapshot(world)
    assert after["records"] == before["records"]
    assert after["max_rev"] == before["max_rev"]
    assert world.store.get_mutation(bad["id"]).status == "rejected"


def test_a_rejection_between_writes_to_one_record_keeps_the_others(world: World) -> None:
    """One push, three edits of the same site; the middle one is rejected. The
    batch is read and written set-wise: the first and last edits both land,
    each with its own revision and one history row, and the rejected one
    leaves only its ledger row."""
    dev = world.device("grid1", "devA")
    dev.pull(0)
    before = snapshot(world)
    history_before = len(world.store.field_history("site", world.site1))
    first = dev.upsert("site", world.site1, {"contact_name": "王工"})
    bad = dev.upsert("site", world.site1, {"contract_amount": -5, "contact_name": "坏"})
    last = dev.upsert("site", world.site1, {"contact_phone": "13900000000"})
    results = dev.sync(first, bad, last)
    assert [r["status"] for r in results] == ["applied", "rejected", "applied"]
    assert results[1]["error"]["code"] == "negative_value"
    site = world.store.get_record("site", world.site1)
    assert (site.data["contact_name"], site.data["contact_phone"]) == ("王工", "13900000000")
    assert site.data.get("contract_amount") == before["records"][("site", world.site1)][1].get(
        "contract_amount")
    revs = site.field_revs()
    assert before["max_rev"] < revs["contact_name"] < revs["contact_phone"] == site.rev
    assert world.store.max_rev() == site.rev == before["max_rev"] + 2
    history = world.store.field_history("site", world.site1)[history_before:]
    assert [(h.field, h.value) for h in history] == [
        ("contact_name", "王工"), ("contact_phone", "13900000000")]
    assert [world.store.get_mutation(m["id"]).status for m in (first, bad, last)] == [
        "applied", "rejected", "applied"]
    assert world.store.list_conflicts() == []
