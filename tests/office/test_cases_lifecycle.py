"""#17 cases through the real server: routing by the site and the office's
thresholds, 调查, exits after acceptance, advances, 首问负责; every refusal a
coded error that changes nothing."""

from __future__ import annotations

from typing import Any

import pytest

from server.support import Device, World, error_of, ok, record_case, rejected
from shared_schema.ids import uuid7

SHA = "c" * 64
ROUTING = "/api/v1/office/settings/case-routing"


def intake(world: World, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"source": "12333", "sector": "non_construction", "title": "班组反映欠薪",
            "employer": "某加工厂", "village_id": world.v1, "workers_owed": 3,
            "amount_owed": 20_000, **fields}
    r = world.http.post("/api/v1/cases", json=body, headers=headers)
    assert r.status_code == 201, r.text
    return r.json()


def event(world: World, headers: dict[str, str], case: str, kind: str, **fields: Any):
    return world.http.post(f"/api/v1/cases/{case}/events", json={"kind": kind, **fields},
                           headers=headers)


def detail(world: World, headers: dict[str, str], case: str) -> dict[str, Any]:
    r = world.http.get(f"/api/v1/cases/{case}", headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
def office_dev(world: World) -> Device:
    return world.device("office1", "devO")


@pytest.fixture
def dept_site(world: World, office_dev: Device) -> str:
    """A construction project in village 1 supervised by department 1 (not village-built)."""
    site = uuid7()
    ok(office_dev.sync(office_dev.upsert("site", site, {
        "name": "回龙大道改造工程", "kind": "construction", "village_id": world.v1,
        "department_id": world.d1, "gov_invested": True, "status": "active"}))[0])
    return site


def test_a_construction_projects_case_goes_to_its_department(
        world: World, grid1: Device, dept_site: str) -> None:
    case = record_case(grid1, dept_site, "路面班组欠薪", workers_owed=2, amount_owed=9_000)
    data = world.store.get_record("case", case).data
    assert (data["status"], data["level"], data["handled_by"]) == ("registered", "township",
                                                                    "department")
    assert (data["route"], data["route_reason"]) == ("department", "construction")
    assert data["first_receiver_id"] == world.user_id("grid1")  # 首问负责, server-stamped
    grid1.pull()
    assert grid1.record("case", case)["handled_by"] == "department"  # the village sees it
    # the village responds and keeps informed; it does not take the case over
    rejected(grid1.sync(grid1.insert("case_event", uuid7(), {"case_id": case,
                                                              "kind": "accept"}))[0],
             "role_not_allowed")
    assert world.store.get_record("case", case).data["status"] == "registered"
    ok(grid1.sync(grid1.insert("case_event", uuid7(), {"case_id": case, "kind": "note",
                                                       "note": "已到现场稳定情绪"}))[0])
    sector = world.device("sector1", "devS")
    ok(sector.sync(sector.insert("case_event", uuid7(), {"case_id": case, "kind": "accept"}))[0])
    assert world.store.get_record("case", case).data["status"] == "accepted"


def test_the_office_sets_the_thresholds_and_new_cases_follow(
        world: World, office: dict[str, str], leader: dict[str, str]) -> None:
    r = world.http.get(ROUTING, headers=leader)
    assert r.status_code == 200
    assert r.json() == {"workers": 10, "amount": 100_000.0, "is_default": True}
    grid2 = world.device("grid2", "devB")
    before = record_case(grid2, world.site2, "服装厂欠薪", sector="non_construction",
                         workers_owed=12, amount_owed=60_000)
    assert world.store.get_record("case", before).data["level"] == "township"
    # a leader reads but does not change them; bad values are refused; neither changes anything
    assert error_of(world.http.put(ROUTING, json={"workers": 20, "amount": 300_000},
                                   headers=leader), 403)["code"] == "forbidden"
    assert error_of(world.http.put(ROUTING, json={"workers": 0, "amount": 300_000},
                                   headers=office), 422)["code"] == "invalid_value"
    assert world.store.get_record("setting", "case_routing") is None
    r = world.http.put(ROUTING, json={"workers": 20, "amount": 300_000}, headers=office)
    assert r.status_code == 200, r.text
    assert (r.json()["workers"], r.json().get("is_default", False), r.json()["updated_by"]) == (
        20, False, "office1")
    audit = world.http.get("/api/v1/office/audit", params={"action": "case_routing_update"},
                           headers=office).json()["items"]
    assert len(audit) == 1
    assert audit[0]["details"]["from_workers"] == 10 and audit[0]["details"]["to_workers"] == 20
    # phones pull the setting, so they route offline as the server does
    grid2.pull()
    assert grid2.record("setting", "case_routing")["body"]["workers"] == 20
    after = record_case(grid2, world.site2, "服装厂欠薪二", sector="non_construction",
                        workers_owed=12, amount_owed=60_000)
    assert world.store.get_record("case", after).data["level"] == "village"
    assert world.store.get_record("case", before).data["level"] == "township"  # kept


def test_investigation_advances_and_reply(world: World, office: dict[str, str]) -> None:
    case = intake(world, office)["case"]["id"]
    assert event(world, office, case, "accept").status_code == 200
    r = event(world, office, case, "investigation_record", investigation_kind="interview",
              note="询问班组长张某", evidence=[SHA])
    assert r.status_code == 200, r.text
    assert r.json()["case"]["investigation_records"] == 1
    r = event(world, office, case, "investigation_outcome", investigation_outcome="confirmed",
              note="欠薪属实")
    assert r.json()["case"]["investigation_outcome"] == "confirmed"
    for kind, fields in (
            ("advance_payment", {"advance_source": "deposit", "amount_advanced": 12_000,
                                 "workers_advanced": 3}),
            ("payment", {"amount_recovered": 8_000, "workers_paid": 3}),
            ("reply", {"note": "已告知处理结果", "reply_date": "2025-11-26"})):
        r = event(world, office, case, kind, **fields)
        assert r.status_code == 200, r.text
    body = r.json()
    c = body["case"]
    assert (c["amount_advanced"], c["workers_advanced"], c["advanced_by_source"]) == (
        12_000.0, 3, {"deposit": 12_000.0})
    assert (c["amount_recovered"], c["workers_paid"]) == (8_000.0, 3)
    assert (c["complainant_reply"], c["reply_date"]) == ("已告知处理结果", "2025-11-26")
    assert body["first_receiver_name"]
    kinds = [e["kind"] for e in body["events"]]
    assert kinds == ["accept", "investigation_record", "investigation_outcome",
                     "advance_payment", "payment", "reply"]
    record = body["events"][1]
    assert record["label_zh"] == "调查记录"
    assert record["fields"]["investigation_kind"] == "interview"
    assert record["fields"]["evidence"] == [SHA]


def test_exits_after_acceptance_are_distinct(world: World, office: dict[str, str]) -> None:
    transferred = intake(world, office)["case"]["id"]
    referred = intake(world, office)["case"]["id"]
    for case in (transferred, referred):
        assert event(world, office, case, "accept").status_code == 200
    # 不予受理 is before acceptance only: 409, and nothing written
    before = detail(world, office, transferred)
    err = error_of(event(world, office, transferred, "dismiss", note="不属受理范围"), 409)
    assert err["code"] == "illegal_transition"
    assert detail(world, office, transferred)["events"] == before["events"]
    r = event(world, office, transferred, "transfer", transfer_to="区住房城乡建委",
              note="属行业主管部门管辖")
    assert r.status_code == 200, r.text
    assert (r.json()["case"]["status"], r.json()["case"]["transfer_to"]) == (
        "transferred", "区住房城乡建委")
    # 移送仲裁/诉讼 takes arbitration or court only
    err = error_of(event(world, office, referred, "refer_procedure", referral_target="police",
                         note="已申请仲裁"), 422)
    assert (err["code"], err["details"]["path"]) == ("invalid_value", "$.fields.referral_target")
    assert detail(world, office, referred)["case"]["status"] == "accepted"
    r = event(world, office, referred, "refer_procedure", referral_target="arbitration",
              note="已申请劳动仲裁")
    assert r.json()["case"]["status"] == "referred_procedure"
    assert r.json()["allowed_events"] == ["note", "reply"]


def test_bad_event_values_are_refused_and_change_nothing(
        world: World, grid1: Device) -> None:
    case = record_case(grid1, world.site1, "钢筋班组欠薪", workers_owed=2, amount_owed=9_000)
    ok(grid1.sync(grid1.insert("case_event", uuid7(), {"case_id": case, "kind": "accept"}))[0])
    rev = world.store.get_record("case", case).rev
    for fields in ({"kind": "advance_payment", "advance_source": "bank", "amount_advanced": 100},
                   {"kind": "advance_payment", "advance_source": "deposit", "amount_advanced": -1},
                   {"kind": "investigation_record", "investigation_kind": "photo", "note": "x"},
                   {"kind": "reply", "note": "已答复", "reply_date": "2025-02-30"}):
        result = grid1.sync(grid1.insert("case_event", uuid7(), {"case_id": case, **fields}))[0]
        assert result["status"] == "rejected", result
        assert result["error"]["code"] in ("invalid_value", "negative_value")
    assert world.store.get_record("case", case).rev == rev
    # derived case fields are the server's
    rejected(grid1.sync(grid1.upsert("case", case, {"amount_advanced": 5}))[0], "derived_field")
