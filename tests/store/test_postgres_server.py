"""The real app on PostgreSQL through TestClient: the pull tests (push/pull
round trips, pages, tombstones), the exactly-once tests and the office lists
(case ledger, review queue), collected here again with the app fixtures' store
on a fresh PostgreSQL database (``store_engine``, tests/conftest.py). They run
on SQLite in their own modules; those that start a server of their own (not
through the app fixtures) are left out here."""

from __future__ import annotations

import inspect

import pytest
from _pytest.fixtures import FixtureFunctionDefinition

from office import test_cases, test_review
from office.conftest import admin, leader, office, submitted  # noqa: F401  (fixtures)
from server import test_exactly_once, test_pull

_APP_FIXTURES = {"world", "app_client", "make_app_client", "grid1", "office", "leader", "admin",
                 "submitted"}

for _module in (test_pull, test_exactly_once, test_cases, test_review):
    for _name, _thing in vars(_module).items():
        if isinstance(_thing, FixtureFunctionDefinition):  # the module's own fixtures
            globals()[_name] = _thing
        elif (_name.startswith("test_") and inspect.isfunction(_thing)
                and _APP_FIXTURES & set(inspect.signature(_thing).parameters)):
            globals()[_name] = _thing

pytestmark = pytest.mark.parametrize("store_engine", ["postgres"], indirect=True)
