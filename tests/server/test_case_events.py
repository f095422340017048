"""Wage-arrears cases through the server: events fold into status and level."""

from __future__ import annotations

from typing import Any

import pytest

from shared_schema.ids import uuid7

from .support import Device, World, ok, record_case, rejected

SHA = "e" * 64


def event(dev: Device, case: str, kind: str, **fields: Any) -> dict[str, Any]:
    return dev.insert("case_event", uuid7(), {"case_id": case, "kind": kind, **fields})


def status(world: World, case: str) -> tuple[str, str]:
    data = world.store.get_record("case", case).data
    return data["status"], data["level"]


@pytest.fixture
def office(world: World) -> Device:
    return world.device("office1", "devO")


@pytest.fixture
def case(world: World, grid1: Device) -> str:
    return record_case(grid1, world.site1, "钢筋班组欠薪", employer="某劳务公司",
                       workers_owed=6, amount_owed=48_000)


def test_a_new_case_is_registered_at_its_routed_level(world: World, grid1: Device,
                                                      case: str) -> None:
    data = world.store.get_record("case", case).data
    assert (data["status"], data["level"]) == ("registered", "village")
    assert world.store.get_record("case", case).village_id == world.v1  # the site's
    assert data["opened_at"] == world.clock()
    big = uuid7()
    ok(grid1.sync(grid1.upsert("case", big, {"site_id": world.site1, "title": "集体欠薪",
                                             "sector": "construction", "village_id": world.v1,
                                             "workers_owed": 25}))[0])
    assert status(world, big) == ("registered", "township")


def test_illegal_events_are_rejected_with_their_code(world: World, grid1: Device,
                                                     office: Device, case: str) -> None:
    rejected(office.sync(event(office, case, "close", evidence=[SHA],
                               callback_note="回访"))[0], "illegal_transition")
    rejected(grid1.sync(event(grid1, case, "approve_escalation"))[0], "role_not_allowed")
    rejected(grid1.sync(event(grid1, case, "reopen_everything"))[0], "unknown_event_kind")
    assert status(world, case) == ("registered", "village")


def test_status_cannot_be_written_directly(world: World, office: Device, case: str) -> None:
    rejected(office.sync(office.upsert("case", case, {"status": "closed"}))[0],
             "derived_field")
    assert status(world, case) == ("registered", "village")


def test_escalation_to_referral(world: World, grid1: Device, office: Device,
                                case: str) -> None:
    sector = world.device("sector1", "devS")
    leader = world.device("leader1", "devL")
    steps = [
        (grid1, "accept", {}, ("accepted", "village")),
        (grid1, "escalate", {"note": "包工头失联"}, ("accepted", "township")),
        (sector, "request_leading_group", {"note": "涉及总包"}, ("accepted", "leading_group")),
    ]
    for dev, kind, fields, expected in steps:
        dev.pull()
        ok(dev.sync(event(dev, case, kind, **fields))[0])
        assert status(world, case) == expected
    for dev in (grid1, sector, office, leader):
        dev.pull()  # each acts on what it has seen
    for dev in (grid1, sector, office):
        rejected(dev.sync(event(dev, case, "approve_escalation"))[0], "role_not_allowed")
    ok(leader.sync(event(leader, case, "approve_escalation"))[0])
    office.pull()
    assert status(world, case) == ("accepted", "tackle_team")
    rejected(office.sync(event(office, case, "refer", note="移送"))[0], "missing_field")
    ok(office.sync(event(office, case, "refer", note="移送",
                         referral_target="区劳动保障监察大队"))[0])
    assert status(world, case) == ("referred", "district")
    grid1.pull()
    assert grid1.record("case", case)["status"] == "referred"


def test_payment_resolve_close(world: World, grid1: Device, office: Device, case: str) -> None:
    results = grid1.sync(
        event(grid1, case, "accept"),
        event(grid1, case, "payment", amount_recovered=30_000, workers_paid=4),
        event(grid1, case, "payment", amount_recovered=18_000, workers_paid=2),
        event(grid1, case, "resolve", note="已全部支付"),
    )
    assert [r["status"] for r in results] == ["applied"] * 4
    data = world.store.get_record("case", case).data
    assert (data["status"], data["amount_recovered"], data["workers_paid"]) == (
        "resolved", 48_000, 6)
    rejected(grid1.sync(event(grid1, case, "close", evidence=[SHA],
                              callback_note="回访"))[0], "role_not_allowed")
    office.pull()
    rejected(office.sync(event(office, case, "close", callback_note="回访"))[0],
             "missing_field")
    rejected(office.sync(event(office, case, "close", evidence=[SHA]))[0], "missing_field")
    ok(office.sync(event(office, case, "close", evidence=[SHA],
                         callback_note="电话回访6人，均已领取"))[0])
    data = world.store.get_record("case", case).data
    assert (data["status"], data["closed_at"]) == ("closed", world.clock())


def test_an_event_needs_its_predecessors_on_the_server(world: World, grid1: Device,
                                                       case: str) -> None:
    other = world.device("grid1", "devA2")  # the same officer's second phone
    accept = event(grid1, case, "accept")  # stamped first, pushed last
    world.clock.advance(1000)
    pay = event(other, case, "payment", amount_recovered=1000)
    rejected(other.sync(pay)[0], "illegal_transition")  # the accept is not here yet
    ok(grid1.sync(accept)[0])
    world.clock.advance(1000)
    ok(other.sync(event(other, case, "payment", amount_recovered=1000))[0])
    data = world.store.get_record("case", case).data
    assert (data["status"], data["amount_recovered"]) == ("accepted", 1000)


def test_events_fold_in_hlc_order_not_arrival_order(world: World, grid1: Device,
                                                    case: str) -> None:
    ok(grid1.sync(event(grid1, case, "accept"))[0])
    # a note stamped before everything fits anywhere
    early_note = event(grid1, case, "note", note="补录")
    early_note["hlc"] = "0000000000001.0000.devA"
    ok(grid1.sync(early_note)[0])
    # stamped before the accept, "resolve" lands on a registered case: illegal there,
    # though it would be legal in arrival order (after the accept)
    late = event(grid1, case, "resolve", note="补录的处置")
    late["hlc"] = "0000000000002.0000.devA"
    rejected(grid1.sync(late)[0], "illegal_transition")
    assert status(world, case) == ("accepted", "village")


def test_the_same_event_twice(world: World, grid1: Device, case: str) -> None:
    m = event(grid1, case, "accept")
    ok(grid1.sync(m)[0])
    resent = {**m, "id": uuid7(), "seq": m["seq"] + 100}  # another mutation, same event
    assert grid1.sync(resent)[0]["status"] == "duplicate"
    changed = {**resent, "id": uuid7(), "fields": {**m["fields"], "note": "不同"}}
    rejected(grid1.sync(changed)[0], "duplicate_entity")
    assert len(world.store.records("case_event")) == 1


def test_events_record_their_author(world: World, grid1: Device, case: str) -> None:
    m = event(grid1, case, "accept")
    ok(grid1.sync(m)[0])
    data = world.store.get_record("case_event", m["entity_id"]).data
    assert (data["author_role"], data["author_id"]) == ("grid_officer", grid1.user_id)
    assert data["hlc"] == m["hlc"]
