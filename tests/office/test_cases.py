"""The case ledger: office intake, routing, filters, timeline, transitions, deadlines."""

from __future__ import annotations

from typing import Any

import pytest

from server.support import DAY_MS, Device, World, error_of, ok
from shared_schema.ids import uuid7

SHA = "e" * 64


def intake(world: World, headers: dict[str, str], **fields: Any):
    body = {"source": "12333", "sector": "construction", "title": "班组反映欠薪",
            "employer": "某劳务公司", "workers_owed": 3, "amount_owed": 20_000,
            "complainant_name": "赵某", "complainant_phone": "13800001234",
            "complainant_id_number": "500106199001011234", **fields}
    return world.http.post("/api/v1/cases", json=body, headers=headers)


def event(world: World, headers: dict[str, str], case: str, kind: str, **fields: Any):
    return world.http.post(f"/api/v1/cases/{case}/events", json={"kind": kind, **fields},
                           headers=headers)


@pytest.fixture
def village_case(world: World, office: dict[str, str]) -> str:
    r = intake(world, office, village_id=world.v1, site_id=world.site1)
    assert r.status_code == 201, r.text
    return r.json()["case"]["id"]


def test_intake_routes_like_a_device_case(world: World, office: dict[str, str]) -> None:
    small = intake(world, office, village_id=world.v1, source="hotline_65650178").json()
    assert (small["case"]["status"], small["case"]["level"]) == ("registered", "village")
    assert small["case"]["source"] == "hotline_65650178"
    assert small["case"]["opened_at"] == world.clock()
    assert small["village_name"] == "一村"
    assert small["deadlines"]["accept_due"] == "2025-12-03"
    assert "accept" in small["allowed_events"] and "approve_escalation" not in \
        small["allowed_events"]
    big = intake(world, office, village_id=world.v1, workers_owed=12,
                 source="national_platform").json()
    assert big["case"]["level"] == "township"
    nowhere = intake(world, office, source="walk_in").json()
    assert nowhere["case"]["level"] == "township"
    collective = intake(world, office, village_id=world.v2, collective_risk=True,
                        source="hotline_65650431").json()
    assert collective["case"]["level"] == "township"
    # the office reads personal data in clear
    assert small["case"]["complainant_id_number"] == "500106199001011234"
    [entry] = world.http.get("/api/v1/office/audit", params={"entity_id": small["case"]["id"]},
                             headers=office).json()["items"]
    assert entry["action"] == "case_intake" and entry["details"]["source"] == "hotline_65650178"


def test_intake_is_checked(world: World, office: dict[str, str]) -> None:
    err = error_of(intake(world, office, source="微信"), 400)
    assert err["code"] == "invalid_body" and err["details"]["path"] == "$.source"
    err = error_of(intake(world, office, workers_owed="many"), 400)
    assert err["details"]["path"] == "$.workers_owed"
    assert error_of(intake(world, office, amount_owed=-5), 422)["code"] == "negative_value"
    assert error_of(intake(world, office, village_id=uuid7()), 422)["code"] == "unknown_village"
    assert error_of(intake(world, office, received_at=world.clock() + DAY_MS),
                    422)["code"] == "invalid_value"
    body = {"source": "12345", "sector": "construction"}
    r = world.http.post("/api/v1/cases", json=body, headers=office)
    assert error_of(r, 422)["code"] == "missing_field"
    assert world.store.count_records("case") == 0


def test_field_devices_get_intakes_masked(world: World, office: dict[str, str],
                                         leader: dict[str, str], grid1: Device,
                                         village_case: str) -> None:
    grid1.pull()
    data = grid1.record("case", village_case)
    assert data["complainant_id_number"] == "500***********1234"  # 3 + 4
    assert data["complainant_phone"] != "13800001234"
    clear = world.http.get(f"/api/v1/cases/{village_case}", headers=leader).json()
    assert clear["case"]["complainant_phone"] == "13800001234"


def test_list_filters(world: World, office: dict[str, str], village_case: str) -> None:
    world.clock.advance(DAY_MS)
    town = intake(world, office, village_id=world.v2, workers_owed=20).json()["case"]["id"]
    ok_ = event(world, office, town, "accept")
    assert ok_.status_code == 200, ok_.text

    def ids(**params: Any) -> list[str]:
        r = world.http.get("/api/v1/cases", params=params, headers=office)
        assert r.status_code == 200, r.text
        return [i["case"]["id"] for i in r.json()["items"]]

    assert ids() == [town, village_case]  # newest first
    assert ids(status="registered") == [village_case]
    assert ids(level="township") == [town]
    assert ids(village=world.v1) == [village_case]
    assert ids(overdue="true") == []
    # 2025-11-26 + 5 working days = 2025-12-03; on 2025-12-04 the registered case is overdue
    world.clock.advance(8 * DAY_MS)
    assert ids(overdue="true") == [village_case]
    assert ids(overdue="false") == [town]
    r = world.http.get("/api/v1/cases", params={"overdue": "true"}, headers=office).json()
    assert r["items"][0]["deadlines"]["overdue"] is True
    assert r["page"]["total"] == 1
    # pages, with and without the deadline filters (counted after the store's page)
    assert ids(limit="1") == [town] and ids(limit="1", offset="1") == [village_case]
    assert ids(overdue="false", status="accepted", offset="1") == []
    r = world.http.get("/api/v1/cases", params={"due_soon": "false", "limit": "1",
                                                "offset": "1"}, headers=office).json()
    assert [i["case"]["id"] for i in r["items"]] == [village_case]
    assert r["page"] == {"total": 2, "limit": 1, "offset": 1}
    for params in ({"status": "open"}, {"level": "city"}, {"overdue": "maybe"},
                   {"limit": "1000"}):
        assert error_of(world.http.get("/api/v1/cases", params=params, headers=office),
                        400)["code"] == "invalid_parameter"


def test_due_soon(world: World, office: dict[str, str], village_case: str) -> None:
    world.clock.advance(4 * DAY_MS)  # Sunday Nov 30: 3 working days left (Dec 1, 2, 3)
    r = world.http.get("/api/v1/cases", params={"due_soon": "true"}, headers=office).json()
    [item] = r["items"]
    assert item["deadlines"]["working_days_left"] == 3 and item["deadlines"]["due_soon"]


def test_transitions_through_the_state_machine(world: World, office: dict[str, str],
                                               leader: dict[str, str], grid1: Device,
                                               village_case: str) -> None:
    case = village_case
    assert event(world, office, case, "accept").json()["case"]["status"] == "accepted"
    err = error_of(event(world, office, case, "escalate"), 422)
    assert err["code"] == "missing_field" and err["details"]["missing"] == ["note"]
    r = event(world, office, case, "escalate", note="涉及多个班组")
    assert r.json()["case"]["level"] == "township"
    r = event(world, office, case, "request_leading_group", note="跨部门")
    assert r.json()["case"]["level"] == "leading_group"
    err = error_of(event(world, office, case, "approve_escalation"), 403)
    assert err["code"] == "role_not_allowed"
    r = event(world, leader, case, "approve_escalation")
    assert r.status_code == 200, r.text
    assert r.json()["case"]["level"] == "tackle_team"
    assert r.json()["allowed_events"] == ["refer", "extend", "note"]
    assert event(world, office, case, "payment", amount_recovered=12_000,
                 workers_paid=2).status_code == 200
    assert event(world, leader, case, "extend", note="证据调取").status_code == 200
    err = error_of(event(world, office, case, "extend", note="再延"), 409)
    assert err["code"] == "already_extended"
    assert error_of(event(world, office, case, "close", evidence=[SHA], callback_note="回访"),
                    409)["code"] == "illegal_transition"
    r = event(world, office, case, "resolve", note="已全部支付", amount_recovered=8_000,
              workers_paid=1)
    assert r.json()["case"]["status"] == "resolved"
    err = error_of(event(world, office, case, "close"), 422)
    assert err["code"] == "missing_field" and set(err["details"]["missing"]) == {
        "evidence", "callback_note"}
    assert error_of(event(world, office, case, "close", evidence=[SHA]), 422)["details"][
        "missing"] == ["callback_note"]
    assert error_of(event(world, leader, case, "close", evidence=[SHA], callback_note="回访"),
                    403)["code"] == "role_not_allowed"
    r = event(world, office, case, "close", evidence=[SHA], callback_note="电话回访3人均已收到")
    assert r.status_code == 200, r.text
    detail = r.json()
    assert detail["case"]["status"] == "closed"
    assert (detail["case"]["amount_recovered"], detail["case"]["workers_paid"]) == (20_000, 3)
    assert detail["deadlines"]["on_time"] is True
    kinds = [e["kind"] for e in detail["events"]]
    assert kinds == ["accept", "escalate", "request_leading_group", "approve_escalation",
                     "payment", "extend", "resolve", "close"]
    by_kind = {e["kind"]: e for e in detail["events"]}
    assert by_kind["approve_escalation"]["author_role"] == "leader"
    assert by_kind["approve_escalation"]["label_zh"] == "审定同意，交攻坚组处置"
    assert by_kind["close"]["fields"]["evidence"] == [SHA]
    assert by_kind["accept"]["author_name"] == "office1"
    hlcs = [e["hlc"] for e in detail["events"]]
    assert hlcs == sorted(hlcs)
    # devices pull the office's events and the folded status
    grid1.pull()
    assert grid1.record("case", case)["status"] == "closed"
    audit = world.http.get("/api/v1/office/audit", params={"action": "case_transition"},
                           headers=office).json()["items"]
    assert len(audit) == 8
    assert audit[0]["details"]["kind"] == "close" and audit[0]["details"]["to_status"] == "closed"
    assert {a["username"] for a in audit} == {"office1", "leader1"}


def test_office_events_fold_after_device_events(world: World, office: dict[str, str],
                                                grid1: Device, village_case: str) -> None:
    grid1.pull()
    ok(grid1.sync(grid1.insert("case_event", uuid7(), {"case_id": village_case,
                                                        "kind": "accept"}))[0])
    r = event(world, office, village_case, "escalate", note="金额较大")
    assert r.status_code == 200, r.text
    assert (r.json()["case"]["status"], r.json()["case"]["level"]) == ("accepted", "township")
    assert [e["kind"] for e in r.json()["events"]] == ["accept", "escalate"]


def test_bad_events(world: World, office: dict[str, str], village_case: str) -> None:
    assert error_of(event(world, office, village_case, "teleport"), 422)["code"] == \
        "unknown_event_kind"
    assert error_of(event(world, office, uuid7(), "accept"), 404)["code"] == "not_found"
    err = error_of(event(world, office, village_case, "payment", amount_recovered="lots"), 400)
    assert err["details"]["path"] == "$.amount_recovered"
    event(world, office, village_case, "accept")
    assert error_of(event(world, office, village_case, "payment", amount_recovered=-1),
                    422)["code"] == "negative_value"
    err = error_of(event(world, office, village_case, "close", evidence=["not-a-hash"],
                         callback_note="x"), 400)
    assert err["code"] == "invalid_field"
    assert error_of(world.http.get(f"/api/v1/cases/{uuid7()}", headers=office),
                    404)["code"] == "not_found"


def test_ledger_search_by_title_employer_and_for_the_office_the_complainant(
        world: World, office: dict[str, str], leader: dict[str, str]) -> None:
    """Issue 16: ``q`` searches the ledger on the server; the complainant's name
    (personal data) is searchable by the office only, never by a leader."""
    a = intake(world, office, title="回龙坝物流园装卸工欠薪", employer="Acme 物流",
               complainant_name="钱某某").json()["case"]["id"]
    b = intake(world, office, title="纺织厂欠薪", employer="某纺织厂",
               complainant_name="孙某").json()["case"]["id"]

    def found(headers: dict[str, str], q: str) -> list[str]:
        r = world.http.get("/api/v1/cases", params={"q": q}, headers=headers)
        assert r.status_code == 200, r.text
        assert r.json()["page"]["total"] == len(r.json()["items"])
        return [item["case"]["id"] for item in r.json()["items"]]

    assert found(office, "物流园") == [a]
    assert found(office, "acme") == [a]  # ASCII letters in any case
    assert found(office, " 纺织 ") == [b]
    assert found(office, "钱某") == [a]  # the office finds a complainant
    assert found(leader, "钱某") == []  # a leader cannot look a person up
    assert found(leader, "纺织") == [b]
    assert found(office, "%") == []  # no pattern characters
    assert set(found(office, "")) >= {a, b}
    err = error_of(world.http.get("/api/v1/cases", params={"q": "长" * 101}, headers=office),
                   400)
    assert err["code"] == "invalid_parameter" and err["details"]["path"] == "q"
