"""Fixtures for the ``sync-server`` CLI tests: real SQLite files in tmp_path,
the real app through ``TestClient``, the CLI through ``main([...])``."""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import pytest
from litestar.testing import TestClient

from server.support import SCRYPT_N, device_secret, pull_changes
from sync_server.app import create_app
from sync_server.cli import main
from sync_server.demo import DEMO_PASSWORD, seed_demo
from sync_server.settings import Settings
from sync_server.store.sqlite import SqliteStore

NOW = 1_760_000_000_000  # 2025-10-09, a fixed clock for seeds


@dataclass
class CliRun:
    code: int
    out: str
    err: str


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Callable[..., CliRun]:
    """Run ``sync-server`` in-process: ``cli("user", "list", "--db", path)``."""

    def run(*argv: object) -> CliRun:
        capsys.readouterr()
        code = main([str(a) for a in argv])
        captured = capsys.readouterr()
        return CliRun(code, captured.out, captured.err)

    return run


@contextmanager
def open_store(path: Path) -> Iterator[SqliteStore]:
    store = SqliteStore(path)
    store.migrate()
    try:
        yield store
    finally:
        store.close()


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One seed per session (six scrypt hashes); tests get copies."""
    path = tmp_path_factory.mktemp("seed") / "template.db"
    with open_store(path) as store:
        assert seed_demo(store, NOW, scrypt_n=SCRYPT_N).seeded
    # Closing the last connection checkpoints the WAL into the file.
    assert not path.with_name(path.name + "-wal").exists()
    return path


@pytest.fixture
def db(tmp_path: Path, seeded_template: Path) -> Path:
    """A seeded demo database of this test's own."""
    path = tmp_path / "s.db"
    shutil.copyfile(seeded_template, path)
    return path


@contextmanager
def app_client(path: Path) -> Iterator[TestClient]:
    with TestClient(create_app(Settings(db_path=path, scrypt_n=SCRYPT_N))) as client:
        yield client


def login(client: TestClient, username: str, device_id: str = "dev-1",
          password: str = DEMO_PASSWORD) -> str:
    res = client.post("/api/v1/auth/login",
                      json={"username": username, "password": password, "device_id": device_id,
                            "device_secret": device_secret(device_id)})
    assert res.status_code == 200, res.text
    return res.json()["token"]


class Api:
    """The real app and store helpers, handed to tests as the ``api`` fixture."""

    client = staticmethod(app_client)
    login = staticmethod(login)
    pull_all = staticmethod(pull_changes)
    store = staticmethod(open_store)
    now = NOW
    password = DEMO_PASSWORD


@pytest.fixture
def api() -> type[Api]:
    return Api
