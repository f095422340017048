"""#17 warnings through the real server: a submitted inspection that reveals risk
raises a risk warning and the site's risk level; open rectification items make a
复查 task, overdue by the server's clock; a re-inspection closes or extends it;
the office lists and handles them (audited); field roles and other villages
are kept out."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from shared_schema.checklists import load_templates
from shared_schema.ids import uuid7

from .support import DAY_MS, Device, World, complete_answers, error_of, ok, rejected, submit_inspection

ENTERPRISE = "tpl-enterprise-v2"


def calm(**overrides: Any) -> dict[str, dict[str, Any]]:
    """A construction inspection with nothing to report and nothing to rectify."""
    answers = complete_answers(
        C11={"answer": "no"}, C23={"answer": "no"}, C25={"answer": "no"},
        C24={"answer": {"interviewed": 5, "reporting_arrears": 0}})
    answers.update(overrides)
    return answers


def enterprise_answers(**overrides: Any) -> dict[str, dict[str, Any]]:
    answers: dict[str, dict[str, Any]] = {}
    for item in load_templates()[ENTERPRISE].items:
        if item.answer == "number":
            answers[item.code] = {"answer": 10}
        elif item.answer == "numbers":
            answers[item.code] = {"answer": {p.key: 0 for p in item.parts}}
        elif item.answer == "text":
            answers[item.code] = {"answer": "无"}
        else:
            answers[item.code] = {"answer": item.good}
    answers.update(overrides)
    return answers


def submit_enterprise(dev: Device, site_id: str, answers: dict[str, Any]) -> str:
    insp = uuid7()
    ok(dev.sync(dev.upsert("inspection", insp, {"site_id": site_id, "answers": answers}))[0])
    ok(dev.sync(dev.upsert("inspection", insp, {"state": "submitted"}))[0])
    return insp


def office_get(world: World, headers: dict[str, str], path: str, **params: Any) -> dict:
    r = world.http.get(path, params=params, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture
def office(world: World) -> dict[str, str]:
    return world.login("office1", "office-pc")


def warnings_of(world: World, site_id: str) -> list[Any]:
    return [r for r in world.store.records("risk_warning") if r.data.get("site_id") == site_id]


def tasks_of(world: World, site_id: str) -> list[Any]:
    return [r for r in world.store.records("reinspection") if r.data.get("site_id") == site_id]


# --- warnings ---------------------------------------------------------------------------------

def test_a_calm_inspection_raises_nothing(world: World, grid1: Device) -> None:
    submit_inspection(grid1, world.site1, calm())
    assert warnings_of(world, world.site1) == [] and tasks_of(world, world.site1) == []
    assert world.store.get_record("site", world.site1).data.get("risk_level") is None


def test_a_draft_raises_nothing_until_submitted(world: World, grid1: Device) -> None:
    insp = uuid7()
    ok(grid1.sync(grid1.upsert("inspection", insp, {"site_id": world.site1, "answers": {
        "C25": {"answer": "yes"}}}))[0])
    assert warnings_of(world, world.site1) == []


def test_submission_raises_a_warning_and_the_site_level(world: World, grid1: Device,
                                                        office: dict[str, str]) -> None:
    world.clock.advance(3_600_000)
    insp = submit_inspection(grid1, world.site1, calm(
        C24={"answer": {"interviewed": 6, "reporting_arrears": 2}}))
    [w] = warnings_of(world, world.site1)
    assert w.data["inspection_id"] == insp and w.data["state"] == "open"
    assert w.data["level"] == "medium"
    assert w.data["raised_at"] == world.clock()  # server time
    assert w.data["reasons"] == [{"code": "arrears_reported", "item_code": "C24",
                                  "level": "medium", "workers": 2}]
    assert world.store.get_record("site", world.site1).data["risk_level"] == "medium"
    # the phone in scope pulls both, as server-written records
    grid1.pull()
    assert grid1.record("risk_warning", w.id)["level"] == "medium"
    assert grid1.record("site", world.site1)["risk_level"] == "medium"
    # and the office lists it
    body = office_get(world, office, "/api/v1/office/risk-warnings")
    assert body["open_count"] == 1
    [item] = body["items"]
    assert (item["id"], item["site_name"], item["level"]) == (w.id, "一村安置房工地", "medium")
    assert office_get(world, office, "/api/v1/office/risk-warnings", level="high")["items"] == []
    assert office_get(world, office, "/api/v1/office/risk-warnings",
                      village=world.v2)["items"] == []


def test_a_higher_warning_raises_the_level_and_handling_lowers_it(
        world: World, grid1: Device, office: dict[str, str]) -> None:
    submit_inspection(grid1, world.site1, calm(C06={"answer": "no"}))
    submit_inspection(grid1, world.site1, calm(C25={"answer": "yes"}))
    site = world.store.get_record("site", world.site1)
    assert site.data["risk_level"] == "high"
    high = next(w for w in warnings_of(world, world.site1) if w.data["level"] == "high")
    case_id = uuid7()
    ok(grid1.sync(grid1.upsert("case", case_id, {
        "site_id": world.site1, "sector": "construction", "title": "集体讨薪苗头"}))[0])
    world.clock.advance(60_000)
    r = world.http.post(f"/api/v1/office/risk-warnings/{high.id}/handle",
                        json={"note": "已约谈总包", "case_id": case_id}, headers=office)
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["state"], body["case_id"], body["handled_note"]) == ("handled", case_id,
                                                                      "已约谈总包")
    assert body["handled_at"] == world.clock()
    # the other open warning (medium) is what the site shows now
    assert world.store.get_record("site", world.site1).data["risk_level"] == "medium"
    audit = world.http.get("/api/v1/office/audit", params={"action": "risk_handle"},
                           headers=office).json()["items"]
    assert audit[0]["entity_id"] == high.id and audit[0]["details"]["case_id"] == case_id
    # a second time is refused and changes nothing
    again = world.http.post(f"/api/v1/office/risk-warnings/{high.id}/handle", json={},
                            headers=office)
    assert error_of(again, 409)["code"] == "already_handled"
    assert office_get(world, office, "/api/v1/office/risk-warnings",
                      state="handled")["items"][0]["id"] == high.id


def test_handle_refuses_bad_input(world: World, grid1: Device, office: dict[str, str]) -> None:
    submit_inspection(grid1, world.site1, calm(C25={"answer": "yes"}))
    [w] = warnings_of(world, world.site1)
    r = world.http.post(f"/api/v1/office/risk-warnings/{w.id}/handle",
                        json={"case_id": uuid7()}, headers=office)
    assert error_of(r, 422)["code"] == "unknown_case"
    r = world.http.post(f"/api/v1/office/risk-warnings/{w.id}/handle",
                        json={"note": "x", "extra": 1}, headers=office)
    assert error_of(r, 400)["code"] == "unknown_field"
    r = world.http.post(f"/api/v1/office/risk-warnings/{uuid7()}/handle", json={},
                        headers=office)
    assert error_of(r, 404)["code"] == "not_found"
    assert world.store.get_record("risk_warning", w.id).data["state"] == "open"


def test_enterprise_answers_raise_warnings(world: World) -> None:
    grid2 = world.device("grid2", "devB")
    submit_enterprise(grid2, world.site2, enterprise_answers(
        E11={"answer": {"workers_owed": 14, "amount_owed": 236000}, "value": "2026-09至10"},
        E14={"answer": "yes"}))
    [w] = warnings_of(world, world.site2)
    assert w.data["level"] == "high"
    assert [r["code"] for r in w.data["reasons"]] == ["workers_owed", "business_distress"]


def test_field_roles_cannot_list_or_handle(world: World, grid1: Device) -> None:
    submit_inspection(grid1, world.site1, calm(C25={"answer": "yes"}))
    [w] = warnings_of(world, world.site1)
    headers = world.login("grid1", "devA2")
    r = world.http.post(f"/api/v1/office/risk-warnings/{w.id}/handle", json={}, headers=headers)
    assert error_of(r, 403)["code"] == "forbidden"
    leader = world.login("leader1", "leader-pc")  # leaders read, the office acts
    r = world.http.post(f"/api/v1/office/risk-warnings/{w.id}/handle", json={}, headers=leader)
    assert error_of(r, 403)["code"] == "forbidden"
    assert office_get(world, leader, "/api/v1/office/risk-warnings")["open_count"] == 1
    # nor push the server's records or fields
    rejected(grid1.sync(grid1.upsert("risk_warning", w.id, {"state": "handled"}))[0],
             "read_only_entity")
    rejected(grid1.sync(grid1.upsert("site", world.site1, {"risk_level": "none"}))[0],
             "field_not_writable")
    assert world.store.get_record("risk_warning", w.id).data["state"] == "open"


def test_other_villages_do_not_pull_the_warning(world: World, grid1: Device) -> None:
    submit_inspection(grid1, world.site1, calm(C25={"answer": "yes"}))
    grid2 = world.device("grid2", "devB")
    grid2.pull()
    assert not [k for k in grid2.records if k[0] in ("risk_warning", "reinspection")]


# --- 复查 tasks ---------------------------------------------------------------------------------

def test_rectification_makes_a_task_due_on_the_typed_date(world: World, grid1: Device) -> None:
    insp = submit_inspection(grid1, world.site1, calm(
        C22={"answer": "no"}, C26={"answer": "补设维权告示牌", "value": "2025-12-05"}))
    [task] = tasks_of(world, world.site1)
    d = task.data
    assert (d["inspection_id"], d["responsible_id"]) == (insp, grid1.user_id)
    assert (d["items"], d["rectification"], d["due_date"], d["state"]) == (
        ["C22"], "补设维权告示牌", "2025-12-05", "open")
    grid1.pull()
    assert grid1.record("reinspection", task.id)["due_date"] == "2025-12-05"


def test_default_deadline_is_fifteen_days_after_submission(world: World, grid1: Device) -> None:
    submit_inspection(grid1, world.site1, calm(C12={"answer": "no"}))
    [task] = tasks_of(world, world.site1)
    assert task.data["due_date"] == "2025-12-11"  # T0 is 2025-11-26 in 重庆


def test_overdue_follows_the_server_clock(world: World, grid1: Device,
                                          office: dict[str, str]) -> None:
    submit_inspection(grid1, world.site1, calm(C22={"answer": "no"},
                                               C26={"answer": "整改", "value": "2025-11-28"}))
    path = "/api/v1/office/reinspections"
    body = office_get(world, office, path)
    assert body["overdue_count"] == 0 and body["items"][0]["overdue"] is False
    world.clock.advance(2 * DAY_MS)  # 2025-11-28 in 重庆: due today, not yet overdue
    assert office_get(world, office, path)["overdue_count"] == 0
    world.clock.advance(DAY_MS)
    body = office_get(world, office, path, overdue=True)
    assert body["overdue_count"] == 1 and body["items"][0]["overdue"] is True
    assert office_get(world, office, path, overdue=False)["items"] == []


def reinspect(dev: Device, world: World, task_id: str, **answers: Any) -> str:
    insp = uuid7()
    ok(dev.sync(dev.upsert("inspection", insp, {
        "site_id": world.site1, "reinspection_of": task_id, "answers": calm(**answers)}))[0])
    required = [i.code for i in load_templates()["tpl-construction-v2"].items
                if i.photo == "required"]
    for r in dev.sync(*[dev.insert("photo", uuid7(), {
            "sha256": hashlib.sha256(f"{insp}{c}".encode()).hexdigest(),
            "owner_entity": "inspection", "owner_id": insp, "item_code": c})
            for c in required]):
        ok(r)
    ok(dev.sync(dev.upsert("inspection", insp, {"state": "submitted"}))[0])
    return insp


def test_a_reinspection_closes_the_task_when_fixed(world: World, grid1: Device) -> None:
    submit_inspection(grid1, world.site1, calm(C22={"answer": "no"}))
    [task] = tasks_of(world, world.site1)
    world.clock.advance(DAY_MS)
    insp = reinspect(grid1, world, task.id)
    [task] = tasks_of(world, world.site1)  # closed, and no second task
    assert (task.data["state"], task.data["closed_by"]) == ("closed", insp)
    assert task.data["closed_at"] == world.clock()
    assert [h["action"] for h in task.data["history"]] == ["opened", "closed"]


def test_a_reinspection_extends_the_task_when_not_fixed(world: World, grid1: Device,
                                                        office: dict[str, str]) -> None:
    submit_inspection(grid1, world.site1, calm(C22={"answer": "no"}, C12={"answer": "no"}))
    [task] = tasks_of(world, world.site1)
    insp = reinspect(grid1, world, task.id, C22={"answer": "no"},
                     C26={"answer": "告示牌仍未设立", "value": "2025-12-20"})
    [task] = tasks_of(world, world.site1)
    assert (task.data["state"], task.data["due_date"], task.data["items"]) == (
        "extended", "2025-12-20", ["C22"])
    last = task.data["history"][-1]
    assert (last["action"], last["inspection_id"], last["still_failing"]) == (
        "extended", insp, ["C22"])
    # the office extends it again (audited); a past date is refused
    r = world.http.post(f"/api/v1/office/reinspections/{task.id}/extend",
                        json={"due_date": "2025-11-01"}, headers=office)
    assert error_of(r, 422)["code"] == "invalid_value"
    r = world.http.post(f"/api/v1/office/reinspections/{task.id}/extend",
                        json={"due_date": "2025-13-01"}, headers=office)
    assert error_of(r, 422)["code"] == "invalid_value"
    r = world.http.post(f"/api/v1/office/reinspections/{task.id}/extend",
                        json={"due_date": "2026-01-10", "note": "春节前"}, headers=office)
    assert r.status_code == 200, r.text
    assert r.json()["due_date"] == "2026-01-10"
    audit = world.http.get("/api/v1/office/audit", params={"action": "reinspection_extend"},
                           headers=office).json()["items"]
    assert (audit[0]["details"]["from_due"], audit[0]["details"]["to_due"]) == (
        "2025-12-20", "2026-01-10")


def test_a_closed_task_cannot_be_extended(world: World, grid1: Device,
                                          office: dict[str, str]) -> None:
    submit_inspection(grid1, world.site1, calm(C22={"answer": "no"}))
    [task] = tasks_of(world, world.site1)
    reinspect(grid1, world, task.id)
    r = world.http.post(f"/api/v1/office/reinspections/{task.id}/extend",
                        json={"due_date": "2026-01-10"}, headers=office)
    assert error_of(r, 409)["code"] == "reinspection_closed"
    grid = world.login("grid1", "devA3")
    r = world.http.post(f"/api/v1/office/reinspections/{task.id}/extend",
                        json={"due_date": "2026-01-10"}, headers=grid)
    assert error_of(r, 403)["code"] == "forbidden"


def test_reinspection_of_must_name_a_task_of_the_site(world: World, grid1: Device) -> None:
    rejected(grid1.sync(grid1.upsert("inspection", uuid7(), {
        "site_id": world.site1, "reinspection_of": uuid7()}))[0], "unknown_reinspection")
    # a task of another site (village 2) is not this site's
    grid2 = world.device("grid2", "devB")
    submit_enterprise(grid2, world.site2, enterprise_answers(E06={"answer": "no"}))
    [other] = tasks_of(world, world.site2)
    rejected(grid1.sync(grid1.upsert("inspection", uuid7(), {
        "site_id": world.site1, "reinspection_of": other.id}))[0], "unknown_reinspection")


def test_an_old_phone_keeps_its_v1_template(world: World, grid1: Device) -> None:
    """A phone still on the v1 checklist starts (and can submit) a v1 inspection."""
    insp = uuid7()
    ok(grid1.sync(grid1.upsert("inspection", insp, {
        "site_id": world.site1, "template_id": "tpl-construction-v1"}))[0])
    assert world.store.get_record("inspection", insp).data["template_id"] == "tpl-construction-v1"
