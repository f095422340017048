"""User actions: local validation with the shared rules, one mutation each,
read-only after submit, case events through the state machine."""

from __future__ import annotations

import pytest

from field_app.core import Device, DeviceError, InvalidInput, LoginRequired, NotFound

from .support import LiveServer, answer_all, fast_settings, small_jpeg


def pending(dev: Device) -> int:
    return dev.status().pending_mutations


def code_of(exc: pytest.ExceptionInfo) -> str:
    return exc.value.code


def test_recording_needs_a_login_once(tmp_path) -> None:
    dev = Device.open(tmp_path / "new", fast_settings())
    try:
        with pytest.raises(LoginRequired) as exc:
            dev.open_case(title="x", sector="construction")
        assert code_of(exc) == "not_logged_in"
    finally:
        dev.close()


def test_sites(server: LiveServer, make_device) -> None:
    t = server.town
    dev = make_device("A", server, "grid1")
    assert [s["name"] for s in dev.sites()] == ["一村安置房工地", "一村物流园"]
    assert [s["id"] for s in dev.sites(query="物流")] == [t.site3]
    assert [s["id"] for s in dev.sites(kind="construction")] == [t.site1]
    assert dev.sites(village_id=t.v2) == []
    with pytest.raises(InvalidInput) as exc:
        dev.create_site(name="缺类型", village_id=t.v1)
    assert code_of(exc) == "missing_field"
    with pytest.raises(InvalidInput) as exc:
        dev.create_site(name="x", kind="castle", village_id=t.v1)
    assert code_of(exc) == "invalid_field"
    with pytest.raises(InvalidInput) as exc:
        dev.create_site(name="x", kind="other", village_id=t.v1, colour="red")
    assert code_of(exc) == "unknown_field"
    with pytest.raises(InvalidInput) as exc:
        dev.create_site(name="x", kind="other", village_id="01234567-0000-7000-8000-000000000000")
    assert code_of(exc) == "unknown_village"
    with pytest.raises(NotFound):
        dev.update_site("01234567-0000-7000-8000-000000000000", name="x")
    assert pending(dev) == 0
    site = dev.create_site(name="新厂房", kind="factory", village_id=t.v1, gov_invested=False)
    assert pending(dev) == 1
    dev.update_site(site, contact_phone="1")
    dev.update_site(site, contact_phone="1")  # unchanged: no mutation
    assert pending(dev) == 2
    assert dev.get("site", site)["contact_phone"] == "1"
    assert dev.sync().ok
    assert server.record("site", site)["name"] == "新厂房"


def test_inspection_lifecycle(server: LiveServer, make_device) -> None:
    t = server.town
    dev = make_device("A", server, "grid1")
    office = make_device("B", server, "office1")
    with pytest.raises(DeviceError) as exc:
        office.start_inspection(t.site1)
    assert code_of(exc) == "role_not_allowed"

    insp = dev.start_inspection(t.site1, lat=29.66, lon=106.38)
    assert dev.get("inspection", insp)["template_id"] == "tpl-construction-v2"
    factory = make_device("C", server, "grid2")
    assert factory.get("inspection", factory.start_inspection(t.site2))["template_id"] == (
        "tpl-enterprise-v2")

    for args, code in ((("C99", "yes"), "unknown_template_item"),
                       (("C01", "maybe"), "invalid_answer"),
                       (("C08", -3), "negative_value")):
        with pytest.raises(InvalidInput) as exc:
            dev.answer(insp, *args)
        assert code_of(exc) == code
    with pytest.raises(InvalidInput) as exc:
        dev.attach_photo(insp, small_jpeg(1), item_code="C99")
    assert code_of(exc) == "unknown_template_item"

    dev.answer(insp, "C01", "yes")
    with pytest.raises(InvalidInput) as exc:
        dev.submit_inspection(insp)
    assert code_of(exc) == "incomplete_inspection"
    missing = exc.value.details["missing"]
    assert {"item_code": "C04", "reason": "photo_required"} in missing

    answer_all(dev, insp)
    dev.submit_inspection(insp)
    assert dev.get("inspection", insp)["state"] == "submitted"
    for action in (lambda: dev.answer(insp, "C01", "no"),
                   lambda: dev.attach_photo(insp, small_jpeg(5)),
                   lambda: dev.submit_inspection(insp)):
        with pytest.raises(DeviceError) as exc:
            action()
        assert code_of(exc) == "inspection_submitted"
    report = dev.sync()
    assert report.ok and report.rejected == 0, report
    assert server.record("inspection", insp)["state"] == "submitted"
    assert office.sync().ok
    assert office.get("inspection", insp)["state"] == "submitted"
    # Someone else's inspection is not theirs to answer.
    other = make_device("D", server, "sector1")
    with pytest.raises(DeviceError) as exc:
        other.answer(insp, "C01", "no")
    assert code_of(exc) in ("not_author", "inspection_submitted")


def test_cases_and_events(server: LiveServer, make_device) -> None:
    t = server.town
    dev = make_device("A", server, "grid1")
    with pytest.raises(InvalidInput) as exc:
        dev.open_case(site_id=t.site1, sector="construction")
    assert code_of(exc) == "missing_field"
    with pytest.raises(InvalidInput) as exc:
        dev.open_case(title="x", sector="construction", status="closed")
    assert code_of(exc) == "derived_field"
    with pytest.raises(InvalidInput) as exc:
        dev.open_case(title="x", sector="construction", workers_owed=-1)
    assert code_of(exc) == "negative_value"

    case = dev.open_case(site_id=t.site1, title="欠薪线索", employer="某劳务",
                         sector="construction", workers_owed=4, amount_owed=36000,
                         complainant_name="张三", complainant_phone="13812345678")
    data = dev.get("case", case)
    assert data["village_id"] == t.v1  # from the site: a village case
    assert (data["status"], data["level"]) == ("registered", "village")
    with pytest.raises(InvalidInput) as exc:
        dev.add_case_event(case, "close", note="x")
    assert code_of(exc) == "role_not_allowed"
    with pytest.raises(InvalidInput) as exc:
        dev.add_case_event(case, "resolve", note="x")
    assert code_of(exc) == "illegal_transition"
    dev.add_case_event(case, "accept")
    assert dev.get("case", case)["status"] == "accepted"  # shown before any sync
    dev.add_case_event(case, "payment", amount_recovered=36000, workers_paid=4)
    dev.add_case_event(case, "resolve", note="已全额支付")
    local = dev.get("case", case)
    assert (local["status"], local["amount_recovered"], local["workers_paid"]) == (
        "resolved", 36000.0, 4)
    assert len(dev.records("case_event", case_id=case)) == 3
    report = dev.sync()
    assert report.ok and report.rejected == 0, report
    stored = server.record("case", case)
    assert (stored["status"], stored["amount_recovered"]) == ("resolved", 36000.0)
    assert dev.get("case", case)["status"] == "resolved"
    assert dev.get("case", case)["complainant_phone"] == "13812345678"  # own record: unmasked
