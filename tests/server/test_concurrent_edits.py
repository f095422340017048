"""Per-field merge through the server: clean, concurrent, equal and own edits."""

from __future__ import annotations

from shared_schema.hlc import Hlc
from shared_schema.ids import uuid7

from .support import World, ok


def test_concurrent_edits_of_one_field_merge_and_keep_both_values(world: World) -> None:
    a = world.device("grid1", "devA")
    b = world.device("office1", "devB")
    base_rev = a.field_revs[("site", world.site1)]["contractor"]
    assert base_rev == b.field_revs[("site", world.site1)]["contractor"] > 0

    world.clock.advance(1000)
    ma = a.upsert("site", world.site1, {"contractor": "甲劳务公司"})
    world.clock.advance(1000)
    mb = b.upsert("site", world.site1, {"contractor": "乙建工集团"})  # later: higher HLC
    assert ma["base"] == mb["base"] == {"contractor": base_rev}
    assert Hlc.parse(mb["hlc"]) > Hlc.parse(ma["hlc"])

    ok(a.sync(ma)[0])
    rb = ok(b.sync(mb)[0], "merged")
    (ref,) = rb["conflicts"]
    assert ref["field"] == "contractor"

    (c,) = world.store.list_conflicts("open")
    assert c.id == ref["conflict_id"]
    assert (c.entity, c.entity_id, c.field) == ("site", world.site1, "contractor")
    assert (c.base_rev, c.base_value) == (base_rev, "原总包")
    assert (c.winner_value, c.winner_hlc) == ("乙建工集团", mb["hlc"])
    assert (c.winner_user, c.winner_device) == (world.user_id("office1"), "devB")
    assert (c.loser_value, c.loser_hlc) == ("甲劳务公司", ma["hlc"])
    assert (c.loser_user, c.loser_device) == (world.user_id("grid1"), "devA")
    assert c.mutation_id == mb["id"]

    for dev in (a, b):
        dev.pull()
        assert dev.record("site", world.site1)["contractor"] == "乙建工集团"


def test_the_higher_hlc_wins_even_when_it_arrives_first(world: World) -> None:
    a = world.device("grid1", "devA")
    b = world.device("office1", "devB")
    mb = b.upsert("site", world.site1, {"contractor": "先写"})
    world.clock.advance(5000)
    ma = a.upsert("site", world.site1, {"contractor": "后写"})
    ok(a.sync(ma)[0])
    rb = ok(b.sync(mb)[0], "merged")  # arrives last, but is older: it loses
    (c,) = world.store.list_conflicts("open")
    assert c.id == rb["conflicts"][0]["conflict_id"]
    assert (c.winner_value, c.winner_device) == ("后写", "devA")
    assert (c.loser_value, c.loser_device) == ("先写", "devB")
    b.pull()
    assert b.record("site", world.site1)["contractor"] == "后写"


def test_edits_of_different_fields_both_apply(world: World) -> None:
    a = world.device("grid1", "devA")
    b = world.device("office1", "devB")
    ok(a.sync(a.upsert("site", world.site1, {"contact_name": "王工"}))[0])
    ok(b.sync(b.upsert("site", world.site1, {"contact_phone": "023-6888888"}))[0])
    assert world.store.list_conflicts() == []
    a.pull()
    site = a.record("site", world.site1)
    assert (site["contact_name"], site["contact_phone"]) == ("王工", "023-6888888")
    assert site["contractor"] == "原总包"


def test_the_same_value_typed_concurrently_is_no_conflict(world: World) -> None:
    a = world.device("grid1", "devA")
    b = world.device("office1", "devB")
    ok(a.sync(a.upsert("site", world.site1, {"contractor": "同一公司"}))[0])
    rev = world.store.get_record("site", world.site1).rev
    ok(b.sync(b.upsert("site", world.site1, {"contractor": "同一公司"}))[0])
    assert world.store.list_conflicts() == []
    assert world.store.get_record("site", world.site1).rev == rev  # nothing changed


def test_a_devices_second_edit_from_an_old_base_is_not_a_self_conflict(world: World) -> None:
    a = world.device("grid1", "devA")
    first = a.upsert("site", world.site1, {"contractor": "第一次"})
    second = a.upsert("site", world.site1, {"contractor": "第二次"})
    assert first["base"] == second["base"]  # no pull in between
    ok(a.sync(first)[0])
    ok(a.sync(second)[0])
    assert world.store.list_conflicts() == []
    assert world.store.get_record("site", world.site1).data["contractor"] == "第二次"


def test_an_edit_after_pulling_the_other_edit_is_clean(world: World) -> None:
    a = world.device("grid1", "devA")
    b = world.device("office1", "devB")
    ok(a.sync(a.upsert("site", world.site1, {"contractor": "甲"}))[0])
    b.pull()
    ok(b.sync(b.upsert("site", world.site1, {"contractor": "乙"}))[0])
    assert world.store.list_conflicts() == []


def test_new_record_fields_get_revisions_devices_can_base_on(world: World) -> None:
    a = world.device("grid1", "devA")
    b = world.device("sector1", "devB")
    site = uuid7()
    ok(a.sync(a.upsert("site", site, {"name": "新工地", "kind": "construction",
                                      "village_id": world.v1, "department_id": world.d1}))[0])
    b.pull()
    revs = b.field_revs[("site", site)]
    assert set(revs) >= {"name", "kind", "village_id", "department_id"}
    ok(b.sync(b.upsert("site", site, {"name": "新工地（二期）"}))[0])
    assert world.store.list_conflicts() == []


def test_inspection_answers_merge_per_item(world: World) -> None:
    a = world.device("grid1", "devA")
    insp = uuid7()
    ok(a.sync(a.upsert("inspection", insp, {"site_id": world.site1,
                                            "answers": {"C01": {"answer": "yes"}}}))[0])
    # two edits of different items from the same old base: both kept
    m1 = a.upsert("inspection", insp, {"answers": {"C02": {"answer": "no"}}}, base={})
    m2 = a.upsert("inspection", insp, {"answers": {"C03": {"answer": "yes"}}}, base={})
    assert [r["status"] for r in a.sync(m1, m2)] == ["applied", "applied"]
    answers = world.store.get_record("inspection", insp).data["answers"]
    assert {k: v["answer"] for k, v in answers.items()} == {"C01": "yes", "C02": "no",
                                                             "C03": "yes"}
