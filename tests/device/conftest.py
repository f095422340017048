"""Fixtures for the device tests: a real sync server on 127.0.0.1 (uvicorn in
a background thread, or a subprocess a test may SIGKILL), and field devices
in tmp folders. The helpers they use live in ``support.py``."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from field_app.core import Device

from server.support import stop_after

from .support import PASSWORD, LiveServer, ServerProcess, camera_jpeg, fast_settings


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    yield from stop_after(LiveServer(tmp_path / "server"))


@pytest.fixture
def make_server(tmp_path: Path) -> Iterator[Callable[..., LiveServer]]:
    started: list[LiveServer] = []

    def make(**overrides: Any) -> LiveServer:
        s = LiveServer(tmp_path / f"server{len(started)}", **overrides)
        started.append(s)
        return s

    try:
        yield make
    finally:
        for s in started:
            s.stop()


@pytest.fixture
def server_process(tmp_path: Path) -> Iterator[ServerProcess]:
    yield from stop_after(ServerProcess(tmp_path / "server"))


@pytest.fixture
def make_device(tmp_path: Path) -> Iterator[Callable[..., Device]]:
    opened: list[Device] = []

    def make(name: str, server: LiveServer | ServerProcess | None = None,
             username: str | None = None, url: str | None = None, **settings: Any) -> Device:
        """A device in this test's folder; with a server and a username, logged
        in (at ``url`` instead of the server's own, e.g. through a fault proxy)
        and synced once."""
        dev = Device.open(tmp_path / "devices" / name, fast_settings(**settings))
        opened.append(dev)
        if server is not None and username is not None:
            dev.login(url or server.url, username, PASSWORD)
            report = dev.sync()  # the first pull: the registry mirror
            assert report.ok, report
        return dev

    try:
        yield make
    finally:
        for dev in opened:
            try:
                dev.close()
            except Exception:
                pass


@pytest.fixture(scope="session")
def big_camera_photo() -> bytes:
    return camera_jpeg()


