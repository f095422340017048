"""Inspections through the server: answers, submission, review."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from shared_schema.checklists import load_templates
from shared_schema.ids import uuid7

from .support import CONSTRUCTION, Device, World, ok, rejected
from .support import complete_answers as all_answers

def complete_answers() -> dict[str, dict[str, Any]]:
    """An answer for every item of the construction checklist; C04 not
    applicable, so it needs no photo."""
    return all_answers(C04={"answer": "na"})


def photos_for_required_items(dev: Device, inspection: str) -> list[dict[str, Any]]:
    required = [i.code for i in load_templates()[CONSTRUCTION].items if i.photo == "required"]
    return [dev.insert("photo", uuid7(), {
        "sha256": hashlib.sha256(code.encode()).hexdigest(), "owner_entity": "inspection",
        "owner_id": inspection, "item_code": code}) for code in required if code != "C04"]


@pytest.fixture
def draft(world: World, grid1: Device) -> str:
    insp = uuid7()
    ok(grid1.sync(grid1.upsert("inspection", insp, {
        "site_id": world.site1, "lat": 29.56, "lon": 106.55,
        "answers": {"C01": {"answer": "yes"}, "C08": {"answer": 40, "note": "含管理人员"}}}))[0])
    return insp


def test_a_new_inspection_gets_its_defaults(world: World, grid1: Device, draft: str) -> None:
    data = world.store.get_record("inspection", draft).data
    assert data["template_id"] == CONSTRUCTION
    assert data["inspector_id"] == grid1.user_id
    assert (data["state"], data["review_state"]) == ("draft", "pending")
    assert data["started_at"] == world.clock()
    assert data["answers"]["C08"] == {"answer": 40, "note": "含管理人员"}
    grid1.pull()
    assert grid1.record("inspection", draft)["answers"]["C01"]["answer"] == "yes"
    assert grid1.field_revs[("inspection", draft)]["answers.C08"] > 0


def test_answers_are_validated_per_item(world: World, grid1: Device, draft: str) -> None:
    results = grid1.sync(
        grid1.upsert("inspection", draft, {"answers": {"C99": {"answer": "yes"}}}),
        grid1.upsert("inspection", draft, {"answers": {"C08": {"answer": -3}}}),
        grid1.upsert("inspection", draft, {"answers": {"C02": {"answer": "maybe"}}}),
        grid1.upsert("inspection", draft, {"answers": {"C24": {
            "answer": {"interviewed": 2, "reporting_arrears": 5}}}}),
        grid1.upsert("inspection", draft, {"answers": {"C17": {"answer": "yes",
                                                              "value": "2025-13"}}}),
        grid1.upsert("inspection", draft, {"answers": {"C09": {"answer": 30}}}),
    )
    err = rejected(results[0], "unknown_template_item")
    assert err["details"]["path"] == "$.fields.answers.C99"
    assert rejected(results[1], "negative_value")["details"]["item_code"] == "C08"
    rejected(results[2], "invalid_answer")
    rejected(results[3], "out_of_range")
    rejected(results[4], "invalid_value")
    ok(results[5])
    answers = world.store.get_record("inspection", draft).data["answers"]
    assert answers["C08"]["answer"] == 40 and "C99" not in answers
    assert answers["C09"]["answer"] == 30


def test_inspection_on_an_unknown_site_is_rejected(grid1: Device) -> None:
    rejected(grid1.sync(grid1.upsert("inspection", uuid7(), {"site_id": uuid7()}))[0],
             "unknown_site")


def test_inspector_id_cannot_be_someone_else(world: World, grid1: Device) -> None:
    r = grid1.sync(grid1.upsert("inspection", uuid7(), {
        "site_id": world.site1, "inspector_id": world.user_id("sector1")}))[0]
    rejected(r, "invalid_value")


def test_office_cannot_start_an_inspection(world: World) -> None:
    office = world.device("office1", "devO")
    rejected(office.sync(office.upsert("inspection", uuid7(), {"site_id": world.site1}))[0],
             "role_not_allowed")


def test_submit_with_missing_items_is_rejected(world: World, grid1: Device,
                                               draft: str) -> None:
    r = rejected(grid1.sync(grid1.upsert("inspection", draft, {"state": "submitted"}))[0],
                 "incomplete_inspection")
    missing = r["details"]["missing"]
    assert {"item_code": "C02", "reason": "unanswered"} in missing
    assert {"item_code": "C08", "reason": "photo_required"} in missing
    assert {"item_code": "C01", "reason": "unanswered"} not in missing
    assert world.store.get_record("inspection", draft).data["state"] == "draft"


def test_submit_needs_the_required_photos(world: World, grid1: Device, draft: str) -> None:
    r = rejected(grid1.sync(grid1.upsert("inspection", draft, {
        "answers": complete_answers(), "state": "submitted"}))[0], "incomplete_inspection")
    assert {m["reason"] for m in r["details"]["missing"]} == {"photo_required"}


def test_a_complete_inspection_submits_and_is_then_read_only(
        world: World, grid1: Device, draft: str) -> None:
    world.clock.advance(60_000)
    results = grid1.sync(
        *photos_for_required_items(grid1, draft),
        grid1.upsert("inspection", draft, {"answers": complete_answers()}),
        grid1.upsert("inspection", draft, {"state": "submitted", "notes": "整体良好"}),
    )
    assert {r["status"] for r in results} == {"applied"}, results
    data = world.store.get_record("inspection", draft).data
    assert (data["state"], data["submitted_at"]) == ("submitted", world.clock())

    results = grid1.sync(
        grid1.upsert("inspection", draft, {"notes": "改一下"}),
        grid1.upsert("inspection", draft, {"answers": {"C02": {"answer": "no"}}}),
        grid1.upsert("inspection", draft, {"state": "draft"}),
    )
    for r in results:
        rejected(r, "inspection_submitted")
    rejected(grid1.sync(grid1.delete("inspection", draft))[0], "inspection_submitted")
    assert world.store.get_record("inspection", draft).data["notes"] == "整体良好"


@pytest.fixture
def submitted(world: World, grid1: Device, draft: str) -> str:
    results = grid1.sync(
        *photos_for_required_items(grid1, draft),
        grid1.upsert("inspection", draft, {"answers": complete_answers(),
                                           "state": "submitted"}))
    assert {r["status"] for r in results} == {"applied"}, results
    return draft


def test_the_office_reviews_a_submitted_inspection(world: World, submitted: str) -> None:
    office = world.device("office1", "devO")
    ok(office.sync(office.upsert("inspection", submitted, {
        "review_state": "has_issues", "review_comment": "工资专户未备案"}))[0])
    data = world.store.get_record("inspection", submitted).data
    assert (data["review_state"], data["review_comment"]) == ("has_issues", "工资专户未备案")
    # the office may not touch the inspector's own fields
    rejected(office.sync(office.upsert("inspection", submitted, {"notes": "x"}))[0],
             "not_author")


@pytest.mark.parametrize("username", ["grid1", "sector1"])
def test_field_roles_cannot_review(world: World, submitted: str, username: str) -> None:
    dev = world.device(username, f"dev-{username}-2")
    rejected(dev.sync(dev.upsert("inspection", submitted, {"review_state": "approved"}))[0],
             "role_not_allowed")
    assert world.store.get_record("inspection", submitted).data["review_state"] == "pending"


def test_a_draft_cannot_be_reviewed(world: World, draft: str) -> None:
    office = world.device("office1", "devO")
    rejected(office.sync(office.upsert("inspection", draft, {"review_state": "approved"}))[0],
             "not_submitted")


def test_only_the_inspector_edits_a_draft(world: World, draft: str) -> None:
    sector = world.device("sector1", "devS")  # same site, in scope, not the author
    rejected(sector.sync(sector.upsert("inspection", draft, {"notes": "我来改"}))[0],
             "not_author")
    rejected(sector.sync(sector.delete("inspection", draft))[0], "not_author")


def test_the_inspector_deletes_a_draft(world: World, grid1: Device, draft: str) -> None:
    ok(grid1.sync(grid1.delete("inspection", draft))[0])
    assert world.store.get_record("inspection", draft).deleted is True


def test_a_factory_uses_the_enterprise_template(world: World) -> None:
    grid2 = world.device("grid2", "devB")
    insp = uuid7()
    ok(grid2.sync(grid2.upsert("inspection", insp, {"site_id": world.site2}))[0])
    assert world.store.get_record("inspection", insp).data["template_id"] == "tpl-enterprise-v2"
    rejected(grid2.sync(grid2.upsert("inspection", insp, {
        "answers": {"C01": {"answer": "yes"}}}))[0], "unknown_template_item")


# --- photos of a draft: deleted (and so replaced) only while the inspection is editable ---------

def _photo(dev: Device, insp: str, code: str = "C08", tag: str = "a") -> tuple[str, dict[str, Any]]:
    pid = uuid7()
    return pid, dev.insert("photo", pid, {
        "sha256": hashlib.sha256(f"{insp}{code}{tag}".encode()).hexdigest(),
        "owner_entity": "inspection", "owner_id": insp, "item_code": code})


def test_the_author_deletes_a_photo_of_a_draft_and_replaces_it(
        world: World, grid1: Device, draft: str) -> None:
    """A tombstone like any delete: pulled as deleted, no longer counted for the
    required photos, and the replacement (delete + a new photo) counts instead."""
    pid, insert = _photo(grid1, draft)
    ok(grid1.sync(insert)[0])
    ok(grid1.sync(grid1.delete("photo", pid))[0])
    stored = world.store.get_record("photo", pid)
    assert stored.deleted is True
    assert stored.data["sha256"]  # the tombstone keeps what it was; the blob is the collector's
    changes = {c["id"]: c for c in grid1.pull()}
    assert changes[pid]["deleted"] is True
    # a deleted photo no longer counts: submit lists C08's photo as missing
    r = rejected(grid1.sync(*[m for m in photos_for_required_items(grid1, draft)
                              if m["fields"]["item_code"] != "C08"],
                            grid1.upsert("inspection", draft, {"answers": complete_answers()}),
                            grid1.upsert("inspection", draft, {"state": "submitted"}))[-1],
                 "incomplete_inspection")
    assert r["details"]["missing"] == [{"item_code": "C08", "reason": "photo_required"}]
    # replaced: a new photo of the same item, and the inspection submits
    new_id, replacement = _photo(grid1, draft, tag="b")
    ok(grid1.sync(replacement)[0])
    ok(grid1.sync(grid1.upsert("inspection", draft, {"state": "submitted"}))[0])
    # deleting twice is the same delete
    ok(grid1.sync(grid1.delete("photo", pid))[0])


def test_a_photo_inserted_and_deleted_in_one_push(world: World, grid1: Device,
                                                  draft: str) -> None:
    """Offline: taken and deleted before the phone synced; both go in one push."""
    pid, insert = _photo(grid1, draft)
    results = grid1.sync(insert, grid1.delete("photo", pid))
    ok(results[0]), ok(results[1])
    assert world.store.get_record("photo", pid).deleted is True
    assert grid1.receipt()["photos_missing"] == []  # a deleted photo is no photo to send


def test_a_photo_of_a_submitted_inspection_is_kept(world: World, grid1: Device,
                                                    submitted: str) -> None:
    photo = next(r for r in world.store.children_of(submitted, "photo"))
    rejected(grid1.sync(grid1.delete("photo", photo.id))[0], "inspection_submitted")
    assert world.store.get_record("photo", photo.id).deleted is False


def test_only_the_author_deletes_a_photo(world: World, grid1: Device, draft: str) -> None:
    pid, insert = _photo(grid1, draft)
    ok(grid1.sync(insert)[0])
    sector = world.device("sector1", "devS")  # same site, in scope, not the author
    rejected(sector.sync(sector.delete("photo", pid))[0], "not_author")
    office = world.device("office1", "devO")
    rejected(office.sync(office.delete("photo", pid))[0], "role_not_allowed")
    grid2 = world.device("grid2", "devB")  # another village: not even in scope
    rejected(grid2.sync(grid2.delete("photo", pid))[0], "out_of_scope")
    assert world.store.get_record("photo", pid).deleted is False


def test_a_returned_inspection_reopened_has_its_photos_replaced(
        world: World, grid1: Device, submitted: str) -> None:
    """退回 → reopened (a draft again): the author may delete and replace a photo;
    after the resubmission the photos are read-only again."""
    office = world.device("office1", "devO")
    ok(office.sync(office.upsert("inspection", submitted, {
        "review_state": "rejected", "review_comment": "C08 照片看不清"}))[0])
    photo = next(r for r in world.store.children_of(submitted, "photo")
                 if r.data.get("item_code") == "C08")
    rejected(grid1.sync(grid1.delete("photo", photo.id))[0], "inspection_submitted")
    ok(grid1.sync(grid1.upsert("inspection", submitted, {"state": "draft"}))[0])
    new_id, replacement = _photo(grid1, submitted, tag="clear")
    results = grid1.sync(grid1.delete("photo", photo.id), replacement,
                         grid1.upsert("inspection", submitted, {"state": "submitted"}))
    for r in results:
        ok(r)
    live = [r.id for r in world.store.children_of(submitted, "photo")
            if r.data.get("item_code") == "C08" and not r.deleted]
    assert live == [new_id]
    rejected(grid1.sync(grid1.delete("photo", new_id))[0], "inspection_submitted")


def test_photos_of_cases_and_case_events_stay_insert_only(world: World, grid1: Device) -> None:
    case = uuid7()
    ok(grid1.sync(grid1.upsert("case", case, {"site_id": world.site1, "sector": "construction",
                                              "title": "欠薪"}))[0])
    pid = uuid7()
    ok(grid1.sync(grid1.insert("photo", pid, {
        "sha256": hashlib.sha256(b"case-photo").hexdigest(), "owner_entity": "case",
        "owner_id": case}))[0])
    err = rejected(grid1.sync(grid1.delete("photo", pid))[0], "wrong_op")
    assert err["details"]["owner_entity"] == "case"
    assert world.store.get_record("photo", pid).deleted is False
    # a photo is never edited, only replaced
    rejected(grid1.sync(grid1.upsert("photo", pid, {"caption": "x"}))[0], "wrong_op")


def test_only_the_author_adds_photos_and_only_to_a_draft(
        world: World, grid1: Device, submitted: str) -> None:
    """An inspection's photos are its inspector's evidence: another user in
    scope cannot slip a photo into it, and nobody adds one to a submitted
    (reviewed) inspection."""
    draft = uuid7()
    ok(grid1.sync(grid1.upsert("inspection", draft, {"site_id": world.site1}))[0])
    sector = world.device("sector1", "devS")  # same site, in scope, not the author
    pid, insert = _photo(sector, draft)
    rejected(sector.sync(insert)[0], "not_author")
    assert world.store.get_record("photo", pid) is None
    pid, insert = _photo(grid1, submitted)
    rejected(grid1.sync(insert)[0], "inspection_submitted")
    assert world.store.get_record("photo", pid) is None
    pid, insert = _photo(grid1, draft)
    ok(grid1.sync(insert)[0])
