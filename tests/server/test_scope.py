"""Who sees and writes what: villages, departments, reference data, personal data."""

from __future__ import annotations

from typing import Any

import pytest

from shared_schema.ids import uuid7
from sync_server.domain.auth.service import set_scope

from .support import Device, World, error_of, ok, rejected

REFERENCE = {"village", "department", "user", "checklist_template", "work_calendar"}


def by_entity(changes: list[dict[str, Any]]) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for c in changes:
        out.setdefault(c["entity"], set()).add(c["id"])
    return out


@pytest.fixture
def populated(world: World) -> dict[str, Any]:
    """An inspection, a case with an event and a photo on each site."""
    made: dict[str, Any] = {}
    for username, device_id, site in (("grid1", "g1", world.site1), ("grid2", "g2", world.site2)):
        dev = world.device(username, device_id)
        insp, case, event, photo = uuid7(), uuid7(), uuid7(), uuid7()
        results = dev.sync(
            dev.upsert("inspection", insp, {"site_id": site}),
            dev.upsert("case", case, {"site_id": site, "title": "欠薪线索",
                                      "sector": "construction"}),
            dev.insert("case_event", event, {"case_id": case, "kind": "accept"}),
            dev.insert("photo", photo, {"sha256": f"{len(made):064x}",
                                        "owner_entity": "inspection", "owner_id": insp}),
        )
        assert [r["status"] for r in results] == ["applied"] * 4, results
        made[site] = {"inspection": {insp}, "case": {case}, "case_event": {event},
                      "photo": {photo}, "site": {site}}
    return made


def test_grid_officer_pulls_own_village_and_reference_data(world: World, populated) -> None:
    got = by_entity(world.device("grid1", "devA", pull=False).pull(0))
    assert set(got) - REFERENCE == {"site", "inspection", "case", "case_event", "photo"}
    for entity, ids in populated[world.site1].items():
        assert got[entity] == ids, entity
    # reference data is everyone's, both villages and departments included
    assert {world.v1, world.v2} <= got["village"]
    assert {world.d1, world.d2} <= got["department"]
    assert "checklist_template" in got


def test_sector_inspector_pulls_sites_of_its_department(world: World, populated) -> None:
    # a third site in village 2 but supervised by department 1
    office = world.device("office1", "devO")
    logistics = uuid7()
    ok(office.sync(office.upsert("site", logistics, {
        "name": "二社区物流园", "kind": "logistics", "village_id": world.v2,
        "department_id": world.d1}))[0])
    got = by_entity(world.device("sector1", "devS", pull=False).pull(0))
    assert got["site"] == {world.site1, logistics}
    for entity, ids in populated[world.site1].items():
        if entity != "site":
            assert got[entity] == ids, entity
    grid1 = by_entity(world.device("grid1", "devA", pull=False).pull(0))
    assert logistics not in grid1["site"]


def test_office_and_leader_see_everything(world: World, populated) -> None:
    for username in ("office1", "leader1"):
        got = by_entity(world.device(username, f"dev-{username}", pull=False).pull(0))
        for site in (world.site1, world.site2):
            for entity, ids in populated[site].items():
                assert ids <= got[entity], (username, entity)


def test_writes_outside_scope_are_rejected(world: World, populated) -> None:
    g1 = world.device("grid1", "devA")
    case2 = next(iter(populated[world.site2]["case"]))
    insp2 = next(iter(populated[world.site2]["inspection"]))
    results = g1.sync(
        g1.upsert("site", world.site2, {"contractor": "越界修改"}),
        g1.upsert("site", uuid7(), {"name": "别村工地", "kind": "factory",
                                    "village_id": world.v2}),
        g1.upsert("inspection", uuid7(), {"site_id": world.site2}),
        g1.insert("case_event", uuid7(), {"case_id": case2, "kind": "note", "note": "x"}),
        g1.insert("photo", uuid7(), {"sha256": "f" * 64, "owner_entity": "inspection",
                                     "owner_id": insp2}),
        g1.upsert("site", world.site1, {"contact_name": "在范围内"}),
    )
    for r in results[:5]:
        err = rejected(r, "out_of_scope")
        assert "message" in err
    ok(results[5])
    assert world.store.get_record("site", world.site2).data.get("contractor") is None


def test_moving_a_site_out_of_ones_village_is_rejected(world: World) -> None:
    g1 = world.device("grid1", "devA")
    rejected(g1.sync(g1.upsert("site", world.site1, {"village_id": world.v2}))[0],
             "out_of_scope")
    assert world.store.get_record("site", world.site1).village_id == world.v1


def test_a_site_moved_by_the_office_takes_its_records_along(world: World, populated) -> None:
    g1 = world.device("grid1", "devA")
    g2 = world.device("grid2", "devB")
    office = world.device("office1", "devO")
    ok(office.sync(office.upsert("site", world.site1, {"village_id": world.v2}))[0])
    moved = populated[world.site1]
    got2 = by_entity(g2.pull())
    for entity in ("site", "inspection", "case", "case_event", "photo"):
        assert moved[entity] <= got2.get(entity, set()), entity
    # grid1 no longer sees them from 0
    got1 = by_entity(g1.pull(0))
    assert world.site1 not in got1.get("site", set())


def test_a_case_naming_its_village_follows_its_moved_site(world: World) -> None:
    g1 = world.device("grid1", "devA")
    g2 = world.device("grid2", "devB")
    office = world.device("office1", "devO")
    case = uuid7()
    ok(g1.sync(g1.upsert("case", case, {"site_id": world.site1, "village_id": world.v1,
                                        "title": "欠薪线索", "sector": "construction"}))[0])
    ok(office.sync(office.upsert("site", world.site1, {"village_id": world.v2}))[0])
    assert world.store.get_record("case", case).village_id == world.v2
    assert case in by_entity(g2.pull()).get("case", set())


def test_a_scope_change_forces_a_resync(world: World, populated) -> None:
    g1 = world.device("grid1", "devA")
    cursor = g1.cursor
    assert cursor > 0
    set_scope(world.store, "grid1", village_ids=[world.v2])

    err = error_of(g1.pull_response(cursor), 410)
    assert err["code"] == "resync_required"
    # still 410 until the device pulls from 0, however often it retries
    error_of(g1.pull_response(cursor), 410)

    got = by_entity(g1.pull(0))
    assert got["site"] == {world.site2}
    # the new village's records, and (docs/protocol.md "Scope") what grid1 created
    for entity in ("inspection", "case", "case_event", "photo"):
        assert got[entity] == populated[world.site2][entity] | populated[world.site1][entity]
    r = g1.pull_response(g1.cursor)
    assert r.status_code == 200 and r.json()["changes"] == []


def test_a_scope_change_applies_to_writes_at_once(world: World) -> None:
    g1 = world.device("grid1", "devA")
    set_scope(world.store, "grid1", village_ids=[world.v2])
    results = g1.sync(g1.upsert("site", world.site1, {"contact_name": "旧村"}),
                      g1.upsert("site", world.site2, {"contact_name": "新村"}))
    rejected(results[0], "out_of_scope")
    ok(results[1])


def test_a_device_that_never_pulled_from_zero_must_resync(world: World) -> None:
    g1 = world.device("grid1", "devA", pull=False)
    error_of(g1.pull_response(5), 410)


# --- personal data ----------------------------------------------------------------

ID_NUMBER = "500101199001011234"


def make_case_with_complainant(world: World) -> tuple[str, Device]:
    office = world.device("office1", "devO")
    case = uuid7()
    ok(office.sync(office.upsert("case", case, {
        "site_id": world.site1, "title": "张三等五人欠薪", "sector": "construction",
        "complainant_name": "张三丰", "complainant_phone": "13912345678",
        "complainant_id_number": ID_NUMBER}))[0])
    return case, office


def test_complainant_data_is_masked_for_field_roles(world: World) -> None:
    case, office = make_case_with_complainant(world)
    office.pull()
    clear = office.record("case", case)
    assert clear["complainant_id_number"] == ID_NUMBER
    assert clear["complainant_phone"] == "13912345678"
    leader = world.device("leader1", "devL")
    assert leader.record("case", case)["complainant_id_number"] == ID_NUMBER

    for username in ("grid1", "sector1"):
        dev = world.device(username, f"dev-{username}")
        seen = dev.record("case", case)
        assert seen["complainant_id_number"] != ID_NUMBER
        assert seen["complainant_id_number"] == "500***********1234"  # 3 + 4
        assert seen["complainant_phone"] == "139****5678"  # 3 + 4
        assert seen["complainant_name"] == "张**"
        assert seen["title"] == "张三等五人欠薪"  # only personal fields are masked
        # nowhere in the pulled page
        assert ID_NUMBER not in dev.pull_response(0).text


def test_the_recording_user_keeps_what_they_typed(world: World) -> None:
    g1 = world.device("grid1", "devA")
    case = uuid7()
    ok(g1.sync(g1.upsert("case", case, {"site_id": world.site1, "title": "线索",
                                        "sector": "construction",
                                        "complainant_id_number": ID_NUMBER}))[0])
    g1.pull()
    assert g1.record("case", case)["complainant_id_number"] == ID_NUMBER
    other = world.device("grid1", "devA2")  # same user, another phone
    assert other.record("case", case)["complainant_id_number"] == ID_NUMBER
    # another user on the recording device (a hand-over) does not inherit it
    handed = world.device("sector1", "devA")
    assert handed.record("case", case)["complainant_id_number"] != ID_NUMBER
