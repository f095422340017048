"""Fixtures for the reliability proofs (issue 6).

Every proof has two sizes: the CI size that ``make test`` runs, and a larger
one when ``WAGE_PATROL_SOAK=1`` (``make soak``). ``size(ci, soak)`` picks one.
Each proof records what it measured with ``figures.record(...)``; the totals
are printed at the end of the run (docs/reliability.md quotes them).
"""

from __future__ import annotations

import os
from collections import defaultdict
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

# The device tests' fixtures, shared: a server (thread or process) and devices in tmp_path.
from device.conftest import make_device, server  # noqa: F401

from .engines import LaunchedServer, ServerSpec, drop_template, fresh_database

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


@pytest.fixture(scope="session", autouse=True)
def _pg_template() -> Iterator[None]:
    """The session's migrated PostgreSQL template, if a proof made one, dropped at the end."""
    yield
    drop_template()


@pytest.fixture
def launch(tmp_path: Path) -> Iterator[Callable[..., LaunchedServer]]:
    """``launch(spec)``: a seeded township in a fresh database of ``spec.engine``
    and ``sync-server serve`` for it with ``spec.workers`` workers (not yet
    started); killed, and its database dropped, at teardown."""
    stack = ExitStack()
    started: list[LaunchedServer] = []

    def make(spec: ServerSpec, name: str = "server") -> LaunchedServer:
        location = stack.enter_context(fresh_database(spec, tmp_path / name))
        srv = LaunchedServer(location, tmp_path / name, workers=spec.workers)
        started.append(srv)
        return srv

    try:
        yield make
    finally:
        for srv in started:
            srv.kill()
        stack.close()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if not FIGURES.data:
        return
    terminalreporter.section("reliability figures" + (" (soak)" if SOAK else " (CI size)"))
    for proof, numbers in sorted(FIGURES.data.items()):
        line = ", ".join(f"{k}={v}" for k, v in numbers.items())
        terminalreporter.write_line(f"{proof}: {line}")
