"""#17 on the phone, view-models over a real device and the demo server: offline
routing with the pulled thresholds, the case screen's choices, refused codes."""

from __future__ import annotations

import datetime as dt

import pytest

from field_app.core import Device
from field_app.ui.field.viewmodels import CaseVM, UiError, open_case, route_preview, status_key
from field_app.ui.field.viewmodels.cases import event_choices, routed_locally
from shared_schema import cases


def site_of(dev: Device, kind: str) -> dict:
    return next(s for s in dev.sites() if s["kind"] == kind and not s.get("village_self_built"))


def test_offline_routing_and_choices(grid1_device: Device) -> None:
    dev = grid1_device
    project = site_of(dev, "construction")
    r = route_preview(dev, project, {"workers_owed": "2", "amount_owed": "9000"})
    assert (r.level, r.reason) == ("township", "construction")
    # a case recorded offline on the project: the phone routes it as the server will,
    # and the village's grid officer is not offered to take the department's case over
    case_id, errors = open_case(dev, project["id"], {
        "title": "班组欠薪", "sector": "construction", "workers_owed": "2", "amount_owed": "9000",
        "village_id": project["village_id"]})
    assert errors == {} and case_id
    vm = CaseVM(dev, case_id, today=lambda: dt.date.today())
    assert project.get("department_id")  # the demo's projects have their department
    assert vm.case["handled_by"] == "department"
    assert vm.allowed() == ["note", "reply"]
    with pytest.raises(UiError) as info:
        vm.add_event("reply", {"note": "已告知", "reply_date": "明天"})
    assert info.value.code == "invalid_value"
    vm.add_event("reply", {"note": "已告知由住建部门办理", "reply_date": "2026-12-01"})
    assert [e["kind"] for e in vm.events] == ["reply"]
    assert event_choices("refer_procedure", "referral_target") == ("arbitration", "court")
    assert "si_fa_suo" in event_choices("refer", "referral_target")


def test_status_key_shows_the_investigation() -> None:
    assert status_key({"status": "accepted", "investigation_records": 2}) == "investigating"
    assert status_key({"status": "accepted", "investigation_records": 2,
                       "investigation_outcome": "confirmed"}) == "accepted"
    assert status_key({"status": "transferred"}) == "transferred"


def test_a_synced_case_keeps_the_servers_route(grid1_device: Device) -> None:
    case = {"status": "accepted", "level": "township", "initial_level": "township",
            "route": "local", "site_id": site_of(grid1_device, "construction")["id"]}
    assert routed_locally(grid1_device, case) is case
    assert cases.route({}, None).reason == "no_village"


def test_console_event_forms_and_thresholds() -> None:
    from field_app.ui.i18n import Translator
    from field_app.ui.office import viewmodels as office_vm

    assert office_vm.event_fields("advance_payment") == (
        "advance_source", "amount_advanced", "workers_advanced", "note")
    body = office_vm.event_body("advance_payment", {"advance_source": "emergency_fund",
                                                    "amount_advanced": "12,000",
                                                    "workers_advanced": "3", "note": ""})
    assert (body.advance_source, body.amount_advanced, body.workers_advanced) == (
        "emergency_fund", 12_000.0, 3)
    with pytest.raises(UiError) as info:
        office_vm.event_body("refer_procedure", {"referral_target": "police", "note": "x"})
    assert info.value.code == "invalid_value"
    assert office_vm.event_choices("refer_procedure", "referral_target") == ("arbitration", "court")
    t = Translator("zh")
    assert office_vm.code_text(t, "advance_source", "general_contractor") == "总包单位先行清偿"
    assert office_vm.code_text(t, "referral_target", "区劳动保障监察大队") == "区劳动保障监察大队"
    assert office_vm.routing_body("20", "300,000").amount == 300_000.0
    for workers, amount, path in (("0", "1000", "$.workers"), ("x", "1000", None),
                                  ("5", "0", "$.amount")):
        with pytest.raises(UiError) as info:
            office_vm.routing_body(workers, amount)
        assert info.value.details.get("path") == path
