"""A text holding U+0000 is refused the same way on every engine: SQLite would
keep it, PostgreSQL's jsonb cannot, so no field may hold one (shared_schema.fields)."""

from __future__ import annotations

import pytest

from shared_schema.ids import uuid7

from .support import World, rejected


@pytest.mark.parametrize("store_engine", ["sqlite", "postgres"], indirect=True)
@pytest.mark.parametrize("fields", [
    {"contact_name": "张\x00工"},
    {"address": "回龙坝镇\x00"},
])
def test_nul_in_a_site_field_is_refused_and_changes_nothing(world: World, fields: dict) -> None:
    dev = world.device("grid1", "devA")
    dev.pull(0)
    before = world.store.get_record("site", world.site1)
    (result,) = dev.sync(dev.upsert("site", world.site1, fields))
    error = rejected(result, "invalid_value")
    name = next(iter(fields))
    assert error["details"]["path"] == f"$.fields.{name}" and "U+0000" in error["message"]
    after = world.store.get_record("site", world.site1)
    assert (after.rev, after.data) == (before.rev, before.data)


@pytest.mark.parametrize("store_engine", ["sqlite", "postgres"], indirect=True)
def test_nul_inside_a_nested_answer_is_refused(world: World) -> None:
    dev = world.device("grid1", "devA")
    dev.pull(0)
    case_id = uuid7()
    (result,) = dev.sync(dev.upsert("case", case_id, {
        "site_id": world.site1, "title": "拖欠工资", "sector": "construction",
        "workers_owed": 2, "work_done": "砌墙\x00"}))
    rejected(result, "invalid_value")
    assert world.store.get_record("case", case_id) is None
