"""Review of inspections: list, detail, review states, registry update on approval."""

from __future__ import annotations

from typing import Callable

from server.support import DAY_MS, Device, World, complete_answers, error_of, ok
from shared_schema.ids import uuid7


def review(world: World, headers: dict[str, str], insp: str, state: str, comment: str = ""):
    return world.http.post(f"/api/v1/office/inspections/{insp}/review",
                           json={"state": state, "comment": comment}, headers=headers)


def test_list_filters_and_paginates(world: World, office: dict[str, str], grid1: Device,
                                    submitted: Callable[..., str]) -> None:
    first = submitted()
    world.clock.advance(DAY_MS)
    second = submitted()
    draft = uuid7()
    ok(grid1.sync(grid1.upsert("inspection", draft, {"site_id": world.site1}))[0])
    r = world.http.get("/api/v1/office/inspections", headers=office)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["page"]["total"] == 3
    r = world.http.get("/api/v1/office/inspections", headers=office,
                       params={"state": "submitted", "review_state": "pending",
                               "village": world.v1, "department": world.d1,
                               "kind": "construction", "limit": 1})
    body = r.json()
    assert body["page"] == {"total": 2, "limit": 1, "offset": 0}
    assert [i["id"] for i in body["items"]] == [second]  # newest first
    item = body["items"][0]
    assert (item["site_name"], item["site_kind"], item["device_id"]) == (
        "一村安置房工地", "construction", "devA")
    page2 = world.http.get("/api/v1/office/inspections", headers=office,
                           params={"state": "submitted", "limit": 1, "offset": 1}).json()
    assert [i["id"] for i in page2["items"]] == [first]
    # date range (local dates): the first inspection's day only
    r = world.http.get("/api/v1/office/inspections", headers=office,
                       params={"state": "submitted", "from": "2025-11-26", "to": "2025-11-26"})
    assert [i["id"] for i in r.json()["items"]] == [first]
    none = world.http.get("/api/v1/office/inspections", headers=office,
                          params={"village": world.v2}).json()
    assert none["page"]["total"] == 0


def test_bad_filters_are_400(world: World, office: dict[str, str]) -> None:
    for params in ({"state": "x"}, {"kind": "farm"}, {"from": "2025-13-01"},
                   {"limit": "0"}, {"limit": "abc"}, {"offset": "-1"}):
        r = world.http.get("/api/v1/office/inspections", headers=office, params=params)
        assert error_of(r, 400)["code"] == "invalid_parameter", params


def test_detail_has_answers_photos_gps_author_device(
        world: World, office: dict[str, str], submitted: Callable[..., str]) -> None:
    older = submitted()
    world.clock.advance(DAY_MS)
    insp = submitted(on_site=30, real_name=20)
    r = world.http.get(f"/api/v1/office/inspections/{insp}", headers=office)
    assert r.status_code == 200, r.text
    d = r.json()
    assert d["inspection"]["answers"]["C08"]["answer"] == 30
    assert (d["inspection"]["lat"], d["inspection"]["lon"]) == (29.66, 106.38)
    assert d["author"]["username"] == "grid1" and d["author"]["device_id"] == "devA"
    assert d["author"]["device_name"] == "grid1's phone"
    assert {p["item_code"] for p in d["photos"]} >= {"C08", "C22"}
    assert all(p["url"].startswith("/api/v1/blobs/") for p in d["photos"])
    assert d["headcounts"]["on_site"] == 30
    assert d["six_systems"]["real_name"] is False  # 20 registered < 30 on site
    assert d["previous"]["id"] == older
    assert d["site"]["name"] == "一村安置房工地"
    assert error_of(world.http.get(f"/api/v1/office/inspections/{uuid7()}", headers=office),
                    404)["code"] == "not_found"


def test_review_states(world: World, office: dict[str, str], grid1: Device,
                       submitted: Callable[..., str]) -> None:
    draft = uuid7()
    ok(grid1.sync(grid1.upsert("inspection", draft, {"site_id": world.site1}))[0])
    assert error_of(review(world, office, draft, "approved"), 409)["code"] == "not_submitted"
    insp = submitted()
    r = review(world, office, insp, "has_issues", "告示牌缺投诉电话")
    assert r.status_code == 200, r.text
    assert r.json()["inspection"]["review_state"] == "has_issues"
    assert r.json().get("registry") is None
    r = review(world, office, insp, "approved", "已整改")
    assert r.json()["inspection"]["review_state"] == "approved"
    assert r.json()["registry"]["updated"] is True
    err = error_of(review(world, office, insp, "rejected"), 409)
    assert err["code"] == "already_reviewed" and err["details"]["review_state"] == "approved"
    other = submitted()
    assert review(world, office, other, "rejected", "照片不清").status_code == 200
    assert error_of(review(world, office, other, "approved"), 409)["code"] == "already_reviewed"
    assert error_of(review(world, office, uuid7(), "approved"), 404)["code"] == "not_found"


def test_review_bodies_are_checked(world: World, office: dict[str, str],
                                   submitted: Callable[..., str]) -> None:
    insp = submitted()
    url = f"/api/v1/office/inspections/{insp}/review"
    err = error_of(world.http.post(url, json={"state": "maybe"}, headers=office), 400)
    assert err["code"] == "invalid_body" and err["details"]["path"] == "$.state"
    err = error_of(world.http.post(url, json={"comment": "x"}, headers=office), 400)
    assert err["code"] == "invalid_body"
    err = error_of(world.http.post(url, content=b"{nope", headers=office), 400)
    assert err["code"] == "malformed_json"
    err = error_of(world.http.post(url, json={"state": "approved", "comment": 5},
                                   headers=office), 400)
    assert err["details"]["path"] == "$.comment"


def test_review_syncs_back_to_the_authors_device(world: World, office: dict[str, str],
                                                 grid1: Device,
                                                 submitted: Callable[..., str]) -> None:
    insp = submitted()
    grid1.pull()
    assert review(world, office, insp, "has_issues", "补拍告示牌").status_code == 200
    changes = grid1.pull()
    assert any(c["entity"] == "inspection" and c["id"] == insp for c in changes)
    mine = grid1.record("inspection", insp)
    assert (mine["review_state"], mine["review_comment"]) == ("has_issues", "补拍告示牌")
    assert grid1.field_revs[("inspection", insp)]["review_state"] > 0


def test_approval_updates_the_registry_with_history(
        world: World, office: dict[str, str], grid1: Device,
        submitted: Callable[..., str]) -> None:
    insp = submitted(on_site=40, real_name=40, contracts=35,
                     C16={"answer": "no"})
    submitted_at = world.store.get_record("inspection", insp).data["submitted_at"]
    assert review(world, office, insp, "approved").status_code == 200
    site = world.store.get_record("site", world.site1).data
    assert site["headcount_on_site"] == 40
    assert site["headcount_real_name"] == 40
    assert site["headcount_contracts"] == 35
    assert site["last_inspected_at"] == submitted_at
    assert site["six_systems"] == {"account": True, "deposit": True, "real_name": True,
                                   "bank_payroll": False, "notice_board": True,
                                   "monthly_full_pay": True}
    grid1.pull()
    assert grid1.record("site", world.site1)["headcount_on_site"] == 40
    r = world.http.get(f"/api/v1/office/sites/{world.site1}/history", headers=office,
                       params={"registry_only": "true"})
    assert r.status_code == 200, r.text
    rows = r.json()["history"]
    assert {h["field"] for h in rows} == {"six_systems", "headcount_on_site",
                                          "headcount_real_name", "headcount_contracts",
                                          "last_inspected_at"}
    assert all(h["username"] == "office1" for h in rows)
    # a second approval adds history, keeping the first values
    world.clock.advance(DAY_MS)
    later = submitted(on_site=44, real_name=44)
    assert review(world, office, later, "approved").status_code == 200
    r = world.http.get(f"/api/v1/office/sites/{world.site1}/history", headers=office,
                       params={"field": "headcount_on_site"})
    assert [h["value"] for h in r.json()["history"]] == [40, 44]


def test_approving_an_earlier_inspection_does_not_regress_the_registry(
        world: World, office: dict[str, str], submitted: Callable[..., str]) -> None:
    early = submitted(on_site=10, real_name=5)
    world.clock.advance(2 * DAY_MS)
    late = submitted(on_site=20, real_name=20)
    r = review(world, office, late, "approved")
    assert r.json()["registry"]["updated"] is True
    before = world.store.get_record("site", world.site1)
    r = review(world, office, early, "approved")
    assert r.status_code == 200
    assert r.json()["registry"] == {"updated": False, "reason": "newer_facts"}
    assert r.json()["inspection"]["review_state"] == "approved"
    after = world.store.get_record("site", world.site1)
    assert after.data["headcount_on_site"] == 20
    assert after.data["six_systems"]["real_name"] is True
    assert after.data["last_inspected_at"] == \
        world.store.get_record("inspection", late).data["submitted_at"]
    assert after.rev == before.rev  # nothing written to the site


def test_leader_reads_but_does_not_review(world: World, leader: dict[str, str],
                                          submitted: Callable[..., str]) -> None:
    insp = submitted()
    assert world.http.get("/api/v1/office/inspections", headers=leader).status_code == 200
    assert world.http.get(f"/api/v1/office/inspections/{insp}", headers=leader).status_code == 200
    assert error_of(review(world, leader, insp, "approved"), 403)["code"] == "forbidden"


def test_an_enterprise_approval_sets_headcounts_only(world: World, office: dict[str, str]
                                                    ) -> None:
    # complete_answers is construction-only; an enterprise inspection is not needed for
    # the rule: _facts gives no six systems for templates without markers.
    from sync_server.domain.office.review import _facts
    from sync_server.store.base import StoredRecord
    rec = StoredRecord("inspection", "x", 1, {"template_id": "tpl-enterprise-v1", "answers": {
        "E02": {"answer": {"on_site": 50, "migrant": 30}}, "E03": {"answer": 45}}})
    counts, systems = _facts(rec)
    assert systems == {} and (counts["on_site"], counts["migrant"], counts["contracts"]) == (
        50, 30, 45)
    assert complete_answers()["C08"] == {"answer": 12}


# --- returned (退回) inspections: fixed and resubmitted as a new revision ------------------------

def test_a_returned_inspection_is_fixed_resubmitted_and_approved(
        world: World, office: dict[str, str], grid1: Device,
        submitted: Callable[..., str]) -> None:
    """退回 → the author reopens the same inspection (state draft), fixes an
    answer, submits again → the server sets the review back to pending (the
    reviewer's comment stays until the next review) → the office approves.
    The review history is kept: both reviews in the audit log, every
    review_state the record had in its history."""
    insp = submitted()
    r = review(world, office, insp, "rejected", "C02 照片看不清，请补拍")
    assert r.status_code == 200, r.text
    assert review(world, office, insp, "approved").status_code == 409  # final for the office
    world.clock.advance(60_000)
    ok(grid1.sync(grid1.upsert("inspection", insp, {"state": "draft"}))[0])
    data = world.store.get_record("inspection", insp).data
    assert (data["state"], data["review_state"]) == ("draft", "rejected")
    r = review(world, office, insp, "approved")  # a draft again: nothing to review yet
    assert error_of(r, 409)["code"] == "not_submitted"
    ok(grid1.sync(grid1.upsert("inspection", insp, {"answers": {"C02": {"answer": "no"}}}))[0])
    ok(grid1.sync(grid1.upsert("inspection", insp, {"state": "submitted"}))[0])
    data = world.store.get_record("inspection", insp).data
    assert (data["state"], data["review_state"]) == ("submitted", "pending")
    assert data["review_comment"] == "C02 照片看不清，请补拍"
    assert data["submitted_at"] == world.clock()
    assert data["answers"]["C02"] == {"answer": "no"}
    # the returned revision is read-only again
    rejected_r = grid1.sync(grid1.upsert("inspection", insp, {"notes": "再改"}))[0]
    assert rejected_r["status"] == "rejected"
    assert rejected_r["error"]["code"] == "inspection_submitted"
    r = review(world, office, insp, "approved", "已整改")
    assert r.status_code == 200, r.text
    assert r.json()["inspection"]["review_state"] == "approved"
    reviews = [a.details for a in world.store.list_audit(action="review", entity_id=insp)]
    assert sorted((d["from_state"], d["to_state"]) for d in reviews) == [
        ("pending", "approved"), ("pending", "rejected")]
    states = [h.value for h in world.store.field_history("inspection", insp)
              if h.field == "review_state"]
    assert states == ["pending", "rejected", "pending", "approved"]


def test_only_a_returned_inspection_reopens_and_only_for_its_author(
        world: World, office: dict[str, str], grid1: Device,
        submitted: Callable[..., str]) -> None:
    pending = submitted()
    world.clock.advance(DAY_MS)
    issues = submitted()
    assert review(world, office, issues, "has_issues", "整改后复查").status_code == 200
    world.clock.advance(DAY_MS)
    approved = submitted()
    assert review(world, office, approved, "approved").status_code == 200
    for insp in (pending, issues, approved):
        r = grid1.sync(grid1.upsert("inspection", insp, {"state": "draft"}))[0]
        assert r["error"]["code"] == "inspection_submitted", insp
    world.clock.advance(DAY_MS)
    returned = submitted()
    assert review(world, office, returned, "rejected", "重填").status_code == 200
    other = world.device("sector1", "devS")  # in scope, not the author
    r = other.sync(other.upsert("inspection", returned, {"state": "draft"}))[0]
    assert r["error"]["code"] == "not_author"
    # a returned inspection is reopened with state draft alone, not edited while submitted
    r = grid1.sync(grid1.upsert("inspection", returned, {"notes": "改"}))[0]
    assert r["error"]["code"] == "inspection_submitted"
    assert world.store.get_record("inspection", returned).data["state"] == "submitted"


def test_the_location_is_stored_with_its_accuracy(world: World, grid1: Device) -> None:
    insp = uuid7()
    ok(grid1.sync(grid1.upsert("inspection", insp, {
        "site_id": world.site1, "lat": 29.59, "lon": 106.35, "accuracy_m": 12.0,
        "located_at": world.clock()}))[0])
    data = world.store.get_record("inspection", insp).data
    assert (data["lat"], data["lon"], data["accuracy_m"], data["located_at"]) == (
        29.59, 106.35, 12.0, world.clock())
    r = grid1.sync(grid1.upsert("inspection", insp, {"accuracy_m": -1.0}))[0]
    assert r["error"]["code"] == "negative_value"
