"""#17 warnings on the phone, over a real device and a real (demo-seeded) server:
a risky answer offers a case on the spot (the existing new-case path,
prefilled), the rectification deadline defaults to 15 days, the header is
typed on the inspection, and the server's 复查 task comes back to the phone,
overdue by its date, and starts a re-inspection linked to it."""

from __future__ import annotations

import datetime as dt
import io

from PIL import Image

from field_app.core import Device
from field_app.ui.field.viewmodels import CHINA, InspectionVM, SiteListVM, open_case
from field_app.ui.field.viewmodels.followup import (
    stash_case_draft,
    start_reinspection,
    take_case_draft,
    task_rows,
)
from field_app.ui.i18n import Translator


def jpeg() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 10)).save(buf, "JPEG")
    return buf.getvalue()


def construction_site(dev: Device) -> dict:
    return next(s for s in dev.sites() if s["kind"] == "construction")


def fill_compliant(vm: InspectionVM) -> None:
    for item in vm.template.items:
        if item.good is not None:
            vm.answer(item.code, item.good)
        elif item.answer == "number":
            vm.answer(item.code, 8)
        elif item.answer == "numbers":
            vm.answer(item.code, {p.key: 0 for p in item.parts})
        elif item.answer == "text":
            vm.answer(item.code, "无")
        if item.photo == "required":
            vm.add_photo(jpeg(), item.code)


def test_a_risky_answer_offers_a_prefilled_case(grid1_device: Device) -> None:
    dev = grid1_device
    site = construction_site(dev)
    vm = InspectionVM(dev, dev.start_inspection(site["id"]))
    assert not vm.risk().risky
    vm.answer("C24", {"interviewed": 8, "reporting_arrears": 3})
    found = vm.risk()
    assert (found.level, [r.code for r in found.reasons]) == ("medium", ["arrears_reported"])
    assert vm.risk_items() == {"C24"}
    assert Translator("zh")(f"risk.level.{found.level}") == "一般风险"
    typed: dict[str, dict] = {}
    route = stash_case_draft(typed, vm.case_draft())
    assert route == f"/site/{site['id']}/case"
    form = take_case_draft(typed, site["id"])
    assert form["workers_owed"] == "3" and form["sector"] == "construction"
    assert form["employer"] == (site.get("contractor") or "")
    assert take_case_draft(typed, site["id"]) == {}  # taken once
    # the form's own path opens the case (no second one)
    case_id, errors = open_case(dev, site["id"], {**form, "title": "安置房工地欠薪"})
    assert errors == {} and case_id
    case = dev.get("case", case_id)
    assert (case["workers_owed"], case["site_id"], case["source"]) == (3, site["id"], "patrol")


def test_rectification_task_comes_back_and_starts_a_reinspection(grid1_device: Device) -> None:
    dev = grid1_device
    site = construction_site(dev)
    vm = InspectionVM(dev, dev.start_inspection(site["id"]))
    assert any(h.field == "co_inspectors" and h.editable for h in vm.header_rows())
    vm.set_header("co_inspectors", "李四")
    assert dev.get("inspection", vm.id)["co_inspectors"] == "李四"
    fill_compliant(vm)
    vm.answer("C22", "no")
    vm.answer("C26", "补设维权告示牌")
    today = dt.datetime.now(CHINA).date()
    due = (today + dt.timedelta(days=15)).isoformat()
    assert vm.entry("C26")["value"] == due  # the default deadline, editable
    assert vm.submit() == []
    assert dev.sync().ok
    assert dev.sync().ok  # the server's task and the site's facts come back
    [task] = task_rows(dev, site["id"])
    assert (task.items, task.due_date, task.overdue, task.mine) == (["C22"], due, False, True)
    assert task_rows(dev, site["id"], today=today + dt.timedelta(days=16))[0].overdue
    later = SiteListVM(dev, clock=lambda: int((dt.datetime.now(CHINA) + dt.timedelta(days=16))
                                              .timestamp() * 1000))
    later.load()
    assert next(r for r in later.rows if r.id == site["id"]).overdue_tasks == 1
    again = InspectionVM(dev, start_reinspection(dev, task))
    assert again.record["reinspection_of"] == task.id
    assert again.reinspection_task()["items"] == ["C22"]


def test_the_console_lists_handles_and_extends(grid1_device: Device, demo_server) -> None:
    """The console's risk screen state over the real office API: the phone's
    risky submission is on the risk list with its reasons in words; the office
    marks it handled and extends the 复查 task (a bad date is caught first)."""
    import httpx
    import pytest

    from field_app.ui.kit.rules import UiError
    from field_app.ui.office.client import OfficeClient
    from field_app.ui.office.viewmodels.risk import RiskVM, reason_words
    from server.support import device_secret
    from shared_schema.ids import uuid7
    from sync_server.demo import DEMO_PASSWORD

    dev = grid1_device
    site = construction_site(dev)
    vm = InspectionVM(dev, dev.start_inspection(site["id"]))
    fill_compliant(vm)
    vm.answer("C24", {"interviewed": 8, "reporting_arrears": 3})
    vm.answer("C12", "no")
    assert vm.submit() == [] and dev.sync().ok
    token = httpx.post(f"{demo_server.url}/api/v1/auth/login", json={
        "username": "office1", "password": DEMO_PASSWORD, "device_id": uuid7(),
        "device_secret": device_secret("office1"), "device_name": "pytest-office"}
    ).json()["token"]
    client = OfficeClient(demo_server.url, token)
    try:
        state = RiskVM()
        state.load(client)
        [warning] = [w for w in state.warnings if w.inspection_id == vm.id]
        assert state.open_count >= 1 and warning.level == "medium"
        assert reason_words(Translator("zh"), warning.reasons[0]) == "工人反映欠薪（C24，3人）"
        done = state.handle(client, warning.id, "已约谈", "")
        assert (done.state, done.handled_note) == ("handled", "已约谈")
        state.load(client)  # the default filter shows open warnings only
        assert all(w.id != warning.id for w in state.warnings)
        [task] = [x for x in state.tasks if x.inspection_id == vm.id]
        assert task.items == ["C12"] and not task.overdue
        with pytest.raises(UiError):
            state.extend(client, task.id, "明年一月", "")
        later = (dt.datetime.now(CHINA).date() + dt.timedelta(days=40)).isoformat()
        assert state.extend(client, task.id, later, "春节").due_date == later
    finally:
        client.close()


def test_the_review_page_shows_the_v2_header() -> None:
    from field_app.ui.office.viewmodels.risk import header_facts

    insp = {"template_id": "tpl-enterprise-v2", "co_inspectors": "李四"}
    site = {"name": "二社区服装厂", "credit_code": "91500106MA5U000000", "address": "二社区1号",
            "legal_representative": "王五"}
    facts = dict(header_facts(insp, site, "zh"))
    assert facts == {"统一社会信用代码": "91500106MA5U000000", "经营地址": "二社区1号",
                     "法定代表人或负责人": "王五", "同行巡查人员": "李四"}
    assert header_facts({"template_id": "tpl-enterprise-v1"}, site, "zh") == []
