"""Fixtures for the reliability proofs (issue 6).

Every proof has two sizes: the CI size that ``make test`` runs, and a larger
one when ``WAGE_PATROL_SOAK=1`` (``make soak``). ``size(ci, soak)`` picks one.
Each proof records what it measured with ``figures.record(...)``; the totals
are printed at the end of the run (docs/reliability.md quotes them).
"""

from __future__ import annotations

import os
from collections import defaultdict
from typing import Any

import pytest

# The device tests' fixtures, shared: a server (thread or process) and devices in tmp_path.
from device.conftest import make_device, server, server_process  # noqa: F401

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
