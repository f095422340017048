"""Conflict resolution: the chosen value is a fresh server write every device converges to."""

from __future__ import annotations

import pytest

from server.support import Device, World, error_of, ok
from shared_schema.hlc import Hlc
from shared_schema.ids import uuid7


@pytest.fixture
def two(world: World) -> tuple[Device, Device]:
    return world.device("grid1", "devA"), world.device("sector1", "devS")


def make_conflict(world: World, a: Device, b: Device, field: str = "contractor",
                  va: str = "甲建设公司", vb: str = "乙建设公司") -> str:
    """a and b edit the same field from the same base; b pushes second and wins (later HLC)."""
    ma = a.upsert("site", world.site1, {field: va})
    world.clock.advance(10)
    mb = b.upsert("site", world.site1, {field: vb})
    ok(a.sync(ma)[0])
    res = ok(b.sync(mb)[0], "merged")
    return res["conflicts"][0]["conflict_id"]


def resolve(world: World, headers: dict[str, str], conflict: str, **body):
    return world.http.post(f"/api/v1/office/conflicts/{conflict}/resolve", json=body,
                           headers=headers)


def test_open_conflicts_are_listed_side_by_side(world: World, office: dict[str, str],
                                                two: tuple[Device, Device]) -> None:
    a, b = two
    cid = make_conflict(world, a, b)
    r = world.http.get("/api/v1/office/conflicts", params={"status": "open"}, headers=office)
    assert r.status_code == 200, r.text
    [c] = r.json()["items"]
    assert c["id"] == cid and c["field"] == "contractor" and c["status"] == "open"
    assert c["base_value"] == "原总包"
    assert (c["winner_value"], c["loser_value"]) == ("乙建设公司", "甲建设公司")
    assert (c["winner"]["username"], c["winner"]["device_id"]) == ("sector1", "devS")
    assert (c["loser"]["username"], c["loser"]["device_id"]) == ("grid1", "devA")
    assert c["current_value"] == "乙建设公司"
    assert c["record_name"] == "一村安置房工地"
    assert (c["village_name"], c["site_name"]) == ("一村", "一村安置房工地")  # where
    one = world.http.get(f"/api/v1/office/conflicts/{cid}", headers=office).json()
    assert one["id"] == cid
    assert world.http.get("/api/v1/office/conflicts", params={"status": "resolved"},
                          headers=office).json()["items"] == []


@pytest.mark.parametrize("choice,expected", [("winner", "乙建设公司"), ("loser", "甲建设公司"),
                                             ("custom", "丙建设公司(更正)")])
def test_resolution_converges_two_devices(world: World, office: dict[str, str],
                                          two: tuple[Device, Device], choice: str,
                                          expected: str) -> None:
    a, b = two
    cid = make_conflict(world, a, b)
    conflict = world.store.get_conflict(cid)
    body = {"choice": choice}
    if choice == "custom":
        body["value"] = expected
    r = resolve(world, office, cid, **body)
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["status"] == "resolved" and out["resolution"]["choice"] == choice
    assert out["resolution"]["value"] == expected
    assert out["resolved_by"] == world.user_id("office1")
    assert out["resolved_at"] == world.clock()
    hlc = Hlc.parse(out["resolution"]["hlc"])
    assert hlc > Hlc.parse(conflict.winner_hlc) and hlc > Hlc.parse(conflict.loser_hlc)
    assert str(hlc) > conflict.winner_hlc and str(hlc) > conflict.loser_hlc
    # both devices sync and hold the chosen value, at the same revision
    a.pull()
    b.pull()
    assert a.record("site", world.site1)["contractor"] == expected
    assert b.record("site", world.site1)["contractor"] == expected
    revs = a.field_revs[("site", world.site1)]["contractor"]
    assert revs == b.field_revs[("site", world.site1)]["contractor"]
    # a later edit by either device based on the pulled revision is clean
    world.clock.advance(10)
    ok(a.sync(a.upsert("site", world.site1, {"contractor": "丁"}))[0])
    assert world.store.get_record("site", world.site1).data["contractor"] == "丁"
    # audited: who, what, when
    [entry] = world.http.get("/api/v1/office/audit", params={"action": "resolve_conflict"},
                             headers=office).json()["items"]
    assert entry["username"] == "office1" and entry["entity_id"] == world.site1
    assert entry["details"]["conflict_id"] == cid and entry["details"]["value"] == expected


def test_a_resolved_conflict_cannot_be_resolved_again(world: World, office: dict[str, str],
                                                      two: tuple[Device, Device]) -> None:
    cid = make_conflict(world, *two)
    assert resolve(world, office, cid, choice="winner").status_code == 200
    assert error_of(resolve(world, office, cid, choice="loser"), 409)["code"] == \
        "conflict_resolved"
    assert error_of(resolve(world, office, uuid7(), choice="loser"), 404)["code"] == "not_found"


def test_bad_resolutions_are_refused(world: World, office: dict[str, str],
                                     leader: dict[str, str],
                                     two: tuple[Device, Device]) -> None:
    cid = make_conflict(world, *two)
    err = error_of(resolve(world, office, cid, choice="custom"), 422)
    assert err["code"] == "missing_field" and err["details"]["path"] == "$.value"
    err = error_of(resolve(world, office, cid, choice="custom", value=12), 400)
    assert err["code"] == "invalid_field" and err["details"]["path"] == "$.value.contractor"
    err = error_of(resolve(world, office, cid, choice="other"), 400)
    assert err["code"] == "invalid_body" and err["details"]["path"] == "$.choice"
    assert error_of(resolve(world, leader, cid, choice="winner"), 403)["code"] == "forbidden"
    assert world.store.get_conflict(cid).status == "open"


def test_an_answer_conflict_resolves_to_a_checked_custom_answer(
        world: World, office: dict[str, str]) -> None:
    a1 = world.device("grid1", "devA")
    insp = uuid7()
    ok(a1.sync(a1.upsert("inspection", insp, {"site_id": world.site1,
                                              "answers": {"C08": {"answer": 10}}}))[0])
    a2 = world.device("grid1", "devA2")  # the same inspector on a second phone
    m1 = a1.upsert("inspection", insp, {"answers": {"C08": {"answer": 11}}})
    world.clock.advance(5)
    m2 = a2.upsert("inspection", insp, {"answers": {"C08": {"answer": 13}}})
    ok(a1.sync(m1)[0])
    cid = ok(a2.sync(m2)[0], "merged")["conflicts"][0]["conflict_id"]
    assert world.store.get_conflict(cid).field == "answers.C08"
    err = error_of(resolve(world, office, cid, choice="custom", value={"answer": -1}), 422)
    assert err["code"] == "negative_value"
    r = resolve(world, office, cid, choice="custom", value={"answer": 12, "note": "现场复核"})
    assert r.status_code == 200, r.text
    a1.pull()
    a2.pull()
    for dev in (a1, a2):
        assert dev.record("inspection", insp)["answers"]["C08"] == {"answer": 12,
                                                                   "note": "现场复核"}


def test_choosing_the_value_already_held_still_reaches_the_other_device(
        world: World, office: dict[str, str], two: tuple[Device, Device]) -> None:
    a, b = two
    cid = make_conflict(world, a, b)
    rev_before = world.store.get_record("site", world.site1).meta["contractor"].rev
    assert resolve(world, office, cid, choice="winner").status_code == 200
    after = world.store.get_record("site", world.site1)
    assert after.data["contractor"] == "乙建设公司"
    assert after.meta["contractor"].rev > rev_before  # a new revision devices pull
    assert after.meta["contractor"].user_id == world.user_id("office1")


def test_a_conflict_on_an_inspection_says_which_site_and_village(
        world: World, office: dict[str, str]) -> None:
    """The inspector edits the same draft on a phone and a tablet."""
    a, b = world.device("grid1", "phone"), world.device("grid1", "tablet")
    insp = uuid7()
    ok(a.sync(a.upsert("inspection", insp, {"site_id": world.site1, "notes": "初稿"}))[0])
    b.pull()
    ma = a.upsert("inspection", insp, {"notes": "甲的备注"})
    world.clock.advance(10)
    mb = b.upsert("inspection", insp, {"notes": "乙的备注"})
    ok(a.sync(ma)[0])
    cid = ok(b.sync(mb)[0], "merged")["conflicts"][0]["conflict_id"]
    c = world.http.get(f"/api/v1/office/conflicts/{cid}", headers=office).json()
    assert (c["entity"], c["field"]) == ("inspection", "notes")
    assert (c["village_name"], c["site_name"]) == ("一村", "一村安置房工地")
