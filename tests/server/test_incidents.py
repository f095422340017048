"""Collective incidents through the real server: a pushed incident opens a
township case and raises an alert; replays make nothing twice; a case to
join is checked; the alert count reaches office and leader accounts on
every response, never field roles; acknowledging is audited and once."""

from __future__ import annotations

from typing import Any

import pytest

from server.support import Device, World, error_of, ok, rejected
from shared_schema.ids import uuid7
from shared_schema.incidents import ALERTS_HEADER, derived_id

HOUR_MS = 3600 * 1000


def report(dev: Device, world: World, **fields: Any) -> dict[str, Any]:
    """An incident as the phone sends it (site 1, 14 workers, an hour ago)."""
    return dev.insert("incident", uuid7(), {
        "kind": "collective_claim", "site_id": world.site1, "headcount": 14,
        "occurred_at": world.clock() - HOUR_MS, "on_scene": "村主任到场劝离，维持秩序",
        "brought_in": ["ping_an_ban", "police"], **fields})


@pytest.fixture
def office(world: World) -> dict[str, str]:
    return world.login("office1", "office-pc")


@pytest.fixture
def leader(world: World) -> dict[str, str]:
    return world.login("leader1", "leader-pc")


def count(world: World, headers: dict[str, str]) -> str | None:
    r = world.http.get("/api/v1/sync/pull", params={"since": 0, "limit": 1}, headers=headers)
    assert r.status_code == 200, r.text
    return r.headers.get(ALERTS_HEADER)


def test_an_incident_opens_a_township_case_and_raises_an_alert(world: World, grid1: Device,
                                                              office: dict[str, str]) -> None:
    m = report(grid1, world)
    ok(grid1.sync(m)[0])
    incident = world.store.get_record("incident", m["entity_id"])
    case_id, alert_id = derived_id(m["entity_id"], "case"), derived_id(m["entity_id"], "alert")
    assert incident.data["case_id"] == case_id and incident.data["alert_id"] == alert_id
    assert incident.data["reporter_id"] == world.user_id("grid1")
    assert incident.village_id == world.v1 and incident.site_id == world.site1
    case = world.store.get_record("case", case_id).data
    assert (case["level"], case["status"]) == ("township", "registered")
    assert case["incident_id"] == m["entity_id"] and case["collective_incident"] is True
    assert case["workers_owed"] == 14 and case["site_id"] == world.site1
    assert case["sector"] == "construction" and case["source"] == "patrol"
    assert case["opened_at"] == world.clock()
    alert = world.store.get_record("alert", alert_id)
    assert alert.data["raised_at"] == world.clock()  # server time, not the phone's
    assert (alert.data["incident_id"], alert.data["case_id"]) == (m["entity_id"], case_id)
    assert alert.village_id is None and alert.created_by_user is None
    # the reporter's phone gets the case and the incident back, never the alert
    pulled = {(c["entity"], c["id"]) for c in grid1.pull(0)}
    assert ("case", case_id) in pulled and ("incident", m["entity_id"]) in pulled
    assert ("alert", alert_id) not in pulled
    # an office login sees it in the list, with the count
    body = world.http.get("/api/v1/office/alerts", headers=office).json()
    assert body["unacknowledged"] == 1
    [item] = body["items"]
    assert item["id"] == alert_id and item["case_title"].startswith("群体性讨薪")
    assert item["headcount"] == 14 and item["brought_in"] == ["ping_an_ban", "police"]
    assert item["acknowledged"] is False and item["reporter_name"]


def test_a_replayed_incident_opens_no_second_case(world: World, grid1: Device) -> None:
    m = report(grid1, world)
    ok(grid1.sync(m)[0])
    ok(grid1.sync(m)[0], "duplicate")  # the same mutation again
    again = {**m, "id": uuid7(), "seq": m["seq"] + 1}  # the same report, a new mutation id
    ok(grid1.sync(again)[0], "duplicate")
    assert len(world.store.records("incident")) == 1
    assert len(world.store.records("case")) == 1
    assert len(world.store.records("alert")) == 1


def test_an_incident_joins_the_case_it_names_and_takes_it_to_the_township(
        world: World, grid1: Device) -> None:
    case_id = uuid7()
    ok(grid1.sync(grid1.upsert("case", case_id, {
        "site_id": world.site1, "title": "小额欠薪", "sector": "construction",
        "workers_owed": 2, "amount_owed": 8000}))[0])
    assert world.store.get_record("case", case_id).data["level"] == "village"
    m = report(grid1, world, attach_case_id=case_id)
    ok(grid1.sync(m)[0])
    case = world.store.get_record("case", case_id).data
    assert case["incident_id"] == m["entity_id"] and case["collective_incident"] is True
    assert (case["level"], case["status"]) == ("township", "accepted")
    [event] = world.store.records("case_event")
    assert event.data["kind"] == "escalate" and event.data["case_id"] == case_id
    assert len(world.store.records("case")) == 1  # joined, none opened
    assert world.store.get_record("incident", m["entity_id"]).data["case_id"] == case_id


def test_joining_a_case_out_of_scope_is_refused_and_writes_nothing(world: World,
                                                                  grid1: Device) -> None:
    grid2 = world.device("grid2", "devB")
    theirs = uuid7()
    ok(grid2.sync(grid2.upsert("case", theirs, {
        "site_id": world.site2, "title": "服装厂欠薪", "sector": "non_construction"}))[0])
    before = world.store.max_rev()
    m = report(grid1, world, attach_case_id=theirs)
    rejected(grid1.sync(m)[0], "out_of_scope")
    rejected(grid1.sync(report(grid1, world, attach_case_id=uuid7()))[0], "unknown_case")
    assert world.store.max_rev() == before
    assert world.store.records("incident") == [] and world.store.records("alert") == []
    assert world.store.get_record("case", theirs).data.get("collective_incident") is None


def test_bad_reports_are_refused_with_their_field(world: World, grid1: Device) -> None:
    no_place = report(grid1, world, site_id=None)
    assert rejected(grid1.sync(no_place)[0], "missing_field")["details"]["field"] == "place"
    future = report(grid1, world, occurred_at=world.clock() + 24 * HOUR_MS)
    assert rejected(grid1.sync(future)[0], "invalid_value")["details"]["field"] == "occurred_at"
    who = report(grid1, world, brought_in=["mayor"])
    assert rejected(grid1.sync(who)[0], "invalid_value")["details"]["field"] == "brought_in"
    # the server's fields are the server's
    rejected(grid1.sync(report(grid1, world, case_id=uuid7()))[0], "field_not_writable")
    # a device never writes an alert
    rejected(grid1.sync(grid1.insert("alert", uuid7(), {"kind": "incident"}))[0],
             "read_only_entity")
    assert world.store.records("incident") == [] and world.store.records("case") == []


def test_a_place_without_a_site_stays_in_the_reporters_village(world: World,
                                                                grid1: Device) -> None:
    m = report(grid1, world, site_id=None, place="镇农贸市场门口", village_id=world.v1)
    ok(grid1.sync(m)[0])
    case = world.store.get_record("case", derived_id(m["entity_id"], "case"))
    assert case.village_id == world.v1 and case.data["title"] == "群体性讨薪：镇农贸市场门口"
    assert case.data["sector"] == "non_construction" and case.data["level"] == "township"
    grid2 = world.device("grid2", "devB")
    other = report(grid2, world, site_id=None, place="一村村口", village_id=world.v1)
    rejected(grid2.sync(other)[0], "out_of_scope")


def test_the_alert_count_header_for_office_and_leader_only(world: World, grid1: Device,
                                                          office: dict[str, str],
                                                          leader: dict[str, str]) -> None:
    assert count(world, office) == "0" and count(world, leader) == "0"
    ok(grid1.sync(report(grid1, world))[0])
    # their very next request says so, whatever it is
    assert count(world, office) == "1" and count(world, leader) == "1"
    r = world.http.get("/api/v1/cases", headers=leader)
    assert r.headers[ALERTS_HEADER] == "1"
    assert count(world, grid1.headers) is None
    sector1 = world.device("sector1", "devS")
    assert count(world, sector1.headers) is None
    assert world.http.get("/healthz").headers.get(ALERTS_HEADER) is None


def test_acknowledging_is_per_account_audited_and_idempotent(world: World, grid1: Device,
                                                             office: dict[str, str],
                                                             leader: dict[str, str]) -> None:
    m = report(grid1, world)
    ok(grid1.sync(m)[0])
    alert_id = derived_id(m["entity_id"], "alert")
    r = world.http.post(f"/api/v1/office/alerts/{alert_id}/ack", headers=office)
    assert r.status_code == 200, r.text
    assert r.json()["already"] is False and r.json()["alert"]["acknowledged"] is True
    assert r.json()["alert"]["acknowledged_at"] == world.clock()
    assert r.json()["unacknowledged"] == 0
    assert r.headers[ALERTS_HEADER] == "0"
    rev = world.store.max_rev()
    world.clock.advance(HOUR_MS)
    again = world.http.post(f"/api/v1/office/alerts/{alert_id}/ack", headers=office)
    assert again.status_code == 200 and again.json()["already"] is True
    assert again.json()["alert"]["acknowledged_at"] == world.clock() - HOUR_MS
    assert world.store.max_rev() == rev  # nothing written the second time
    audit = world.http.get("/api/v1/office/audit", params={"action": "alert_ack"},
                           headers=office).json()["items"]
    assert [(a["username"], a["entity_id"]) for a in audit] == [("office1", alert_id)]
    # the leader's own count is untouched by the office's acknowledgement
    assert count(world, leader) == "1"
    listed = world.http.get("/api/v1/office/alerts", params={"unacknowledged": "true"},
                            headers=leader).json()
    assert listed["unacknowledged"] == 1 and [i["id"] for i in listed["items"]] == [alert_id]
    assert listed["items"][0]["acknowledged_count"] == 1
    # the acknowledgement pulls to office devices like any change
    pulled = [c for c in world.device("office1", "office-phone").pull(0) if c["entity"] == "alert"]
    assert list(pulled[0]["data"]["acknowledged_by"]) == [world.user_id("office1")]


def test_field_roles_cannot_list_or_acknowledge(world: World, grid1: Device) -> None:
    m = report(grid1, world)
    ok(grid1.sync(m)[0])
    alert_id = derived_id(m["entity_id"], "alert")
    sector1 = world.device("sector1", "devS")
    for dev in (grid1, sector1):
        error_of(world.http.get("/api/v1/office/alerts", headers=dev.headers), 403)
        assert error_of(world.http.post(f"/api/v1/office/alerts/{alert_id}/ack",
                                        headers=dev.headers), 403)["code"] == "forbidden"
    assert world.store.get_record("alert", alert_id).data["acknowledged_by"] == {}
    error_of(world.http.get("/api/v1/office/alerts"), 401)


def test_acknowledging_an_unknown_alert(world: World, office: dict[str, str]) -> None:
    assert error_of(world.http.post(f"/api/v1/office/alerts/{uuid7()}/ack", headers=office),
                    404)["code"] == "not_found"


def test_a_photo_of_an_incident(world: World, grid1: Device) -> None:
    m = report(grid1, world)
    ok(grid1.sync(m)[0])
    photo = grid1.insert("photo", uuid7(), {
        "sha256": "ab" * 32, "owner_entity": "incident", "owner_id": m["entity_id"]})
    ok(grid1.sync(photo)[0])
    assert world.store.get_record("photo", photo["entity_id"]).village_id == world.v1
