"""Fixtures for the reliability proofs (issue 6).

Every proof has two sizes: the CI size that ``make test`` runs, and a larger
one when ``WAGE_PATROL_SOAK=1`` (``make soak``). ``size(ci, soak)`` picks one.
Each proof records what it measured with ``figures.record(...)``; the totals
are printed at the end of the run (docs/reliability.md quotes them).
"""

from __future__ import annotations

import os
from collections import defaultdict
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from device.support import PASSWORD, LiveServer, ServerProcess, fast_settings
from field_app.core import Device

SOAK = os.environ.get("WAGE_PATROL_SOAK", "") not in ("", "0")


def size(ci: int, soak: int) -> int:
    return soak if SOAK else ci


class Figures:
    """What the proofs measured: proof -> figure -> number (summed)."""

    def __init__(self) -> None:
        self.data: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def record(self, proof: str, **numbers: int) -> None:
        for name, n in numbers.items():
            self.data[proof][name] += int(n)


FIGURES = Figures()


@pytest.fixture
def figures() -> Figures:
    return FIGURES


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES.data:
        return
    terminalreporter.section("reliability figures" + (" (soak)" if SOAK else " (CI size)"))
    for proof, numbers in sorted(FIGURES.data.items()):
        line = ", ".join(f"{k}={v}" for k, v in numbers.items())
        terminalreporter.write_line(f"{proof}: {line}")


@pytest.fixture
def server(tmp_path: Path) -> Iterator[LiveServer]:
    s = LiveServer(tmp_path / "server")
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture
def server_process(tmp_path: Path) -> Iterator[ServerProcess]:
    p = ServerProcess(tmp_path / "server")
    try:
        yield p
    finally:
        p.stop()


@pytest.fixture
def make_device(tmp_path: Path) -> Iterator[Callable[..., Device]]:
    opened: list[Device] = []

    def make(name: str, server: Any = None, username: str | None = None,
             url: str | None = None, **settings: Any) -> Device:
        dev = Device.open(tmp_path / "devices" / name, fast_settings(**settings))
        opened.append(dev)
        if server is not None and username is not None:
            dev.login(url or server.url, username, PASSWORD)
            report = dev.sync()
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
