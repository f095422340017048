"""Shared fixtures: a real server on a tmp_path SQLite file and a seeded world.

The helpers they build (``World``, ``Device``, ``ManualClock``, assertions)
are in ``tests/server/support.py``. Every error response a test client
receives is checked against the one error shape as it arrives.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from litestar.testing import TestClient

from server.support import SCRYPT_N, AppClient, Device, ManualClock, World, watch_error_shape
from sync_server.app import create_app
from sync_server.settings import Settings

logging.getLogger("httpx").setLevel(logging.WARNING)


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def make_app_client(tmp_path: Path, clock: ManualClock,
                    store_engine: str, request: pytest.FixtureRequest
                    ) -> Iterator[Callable[..., AppClient]]:
    """Start an app on ``tmp_path/s.db`` (or, ``store_engine`` "postgres", a fresh
    PostgreSQL database) with settings overrides; closed at teardown."""
    opened: list[AppClient] = []
    pg = ({"database_url": request.getfixturevalue("pg_databases").fresh()}
          if store_engine == "postgres" else {})

    def make(raise_server_exceptions: bool = True, **overrides: Any) -> AppClient:
        # Passwords hash at the tests' cost (SCRYPT_N), set here through the
        # settings only: the default stays OWASP's.
        settings = Settings(db_path=tmp_path / "s.db", now_ms=clock,
                            **{"scrypt_n": SCRYPT_N, **pg, **overrides})
        app = create_app(settings)
        client = TestClient(app, raise_server_exceptions=raise_server_exceptions)
        client.__enter__()
        watch_error_shape(client)
        opened.append(AppClient(app, client, settings))
        return opened[-1]

    yield make
    for started in reversed(opened):
        started.close()
    if pg:
        request.getfixturevalue("pg_databases").drop(pg["database_url"])


@pytest.fixture
def app_client(make_app_client: Callable[..., AppClient]) -> AppClient:
    return make_app_client()


@pytest.fixture
def world(app_client: AppClient, clock: ManualClock) -> World:
    return World(app_client.client, app_client.store, clock).seed()


@pytest.fixture
def grid1(world: World) -> Device:
    """grid1 (village 1) on its phone ``devA``, logged in to the world."""
    return world.device("grid1", "devA")


# --- #18 PostgreSQL: databases for the tests (tests/pg_server.py) ---
@pytest.fixture(scope="session")
def pg_databases() -> Iterator[Any]:
    """Fresh PostgreSQL databases for this session; FAILS (never skips) when
    PostgreSQL can be neither found nor started."""
    from pg_server import Databases, PostgresMissing

    try:
        dbs = Databases()
    except PostgresMissing as exc:
        pytest.fail(f"PostgreSQL is required by these tests: {exc}", pytrace=False)
    yield dbs
    dbs.drop_all()


@pytest.fixture
def store_engine(request: pytest.FixtureRequest) -> str:
    """The app fixtures' store: "sqlite" unless a test parametrizes it
    (``@pytest.mark.parametrize("store_engine", ["postgres"], indirect=True)``)."""
    return getattr(request, "param", "sqlite")
