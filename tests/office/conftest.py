"""Fixtures of the office API tests: logins by role and submitted inspections.

The seeded ``world`` (tests/conftest.py, tests/server/support.py) runs the
real app through its lifespan on a tmp_path SQLite file; its manual clock
starts at 2025-11-26 08:53:20 UTC (16:53 in 重庆).
"""

from __future__ import annotations

import hashlib
from typing import Any, Callable

import pytest

from server.support import Device, World, ok
from shared_schema.checklists import load_templates
from shared_schema.ids import uuid7

CONSTRUCTION = "tpl-construction-v1"


def complete_answers(on_site: int = 12, real_name: int = 12, contracts: int = 12,
                     **overrides: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """An answer for every construction item: all six systems in place by default."""
    answers: dict[str, dict[str, Any]] = {}
    for item in load_templates()[CONSTRUCTION].items:
        if item.answer == "number":
            answers[item.code] = {"answer": 12}
        elif item.answer == "numbers":
            answers[item.code] = {"answer": {p.key: 0 for p in item.parts}}
        elif item.answer == "text":
            answers[item.code] = {"answer": "无"}
        else:
            answers[item.code] = {"answer": "yes"}
    answers["C08"] = {"answer": on_site}
    answers["C10"] = {"answer": real_name}
    answers["C09"] = {"answer": contracts}
    answers.update(overrides)
    return answers


def submit_inspection(dev: Device, site_id: str, answers: dict[str, dict[str, Any]]) -> str:
    """A complete construction inspection, with photos for required items, submitted."""
    insp = uuid7()
    ok(dev.sync(dev.upsert("inspection", insp, {"site_id": site_id, "lat": 29.66,
                                                "lon": 106.38, "answers": answers}))[0])
    required = [i.code for i in load_templates()[CONSTRUCTION].items if i.photo == "required"]
    photos = [dev.insert("photo", uuid7(), {
        "sha256": hashlib.sha256(f"{insp}{code}".encode()).hexdigest(),
        "owner_entity": "inspection", "owner_id": insp, "item_code": code})
        for code in required if (answers.get(code) or {}).get("answer") != "na"]
    for r in dev.sync(*photos):
        ok(r)
    ok(dev.sync(dev.upsert("inspection", insp, {"state": "submitted"}))[0])
    return insp


@pytest.fixture
def office(world: World) -> dict[str, str]:
    return world.login("office1", "office-pc")


@pytest.fixture
def leader(world: World) -> dict[str, str]:
    return world.login("leader1", "leader-pc")


@pytest.fixture
def admin(world: World) -> dict[str, str]:
    return world.login("admin", "admin-pc")


@pytest.fixture
def grid1(world: World) -> Device:
    return world.device("grid1", "devA")


@pytest.fixture
def submitted(world: World, grid1: Device) -> Callable[..., str]:
    def make(site_id: str | None = None, **kw: Any) -> str:
        return submit_inspection(grid1, site_id or world.site1, complete_answers(**kw))
    return make
