"""Fixtures of the office API tests: logins by role and submitted inspections.

The seeded ``world`` (tests/conftest.py, tests/server/support.py) runs the
real app through its lifespan on a tmp_path SQLite file; its manual clock
starts at 2025-11-26 08:53:20 UTC (16:53 in 重庆).
"""

from __future__ import annotations

from typing import Any, Callable

import pytest

from server.support import Device, World, complete_answers, submit_inspection


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
def submitted(world: World, grid1: Device) -> Callable[..., str]:
    def make(site_id: str | None = None, **kw: Any) -> str:
        return submit_inspection(grid1, site_id or world.site1, complete_answers(**kw))
    return make
