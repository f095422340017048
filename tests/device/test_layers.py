"""The device's layers hold (issue 15): SQL lives only in the device store
(``field_app/core/store/``), and the field view-models reach the device only
through ``Device`` calls, never its store or outbox."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from .support import ROOT

FIELD_APP = ROOT / "field_app"
STORE = FIELD_APP / "core" / "store"
VIEWMODELS = FIELD_APP / "ui" / "field" / "viewmodels"
SQL = re.compile(r"\bSELECT\b.+\bFROM\b|\bINSERT\s+(OR\s+\w+\s+)?INTO\b|\bUPDATE\s+\w+\s+SET\b"
                 r"|\bDELETE\s+FROM\b|\bPRAGMA\s+\w+|\bCREATE\s+(TABLE|INDEX)\b"
                 r"|\bjson_extract\(|\w+\s*(=|<|>|LIKE)\s*\?|\bstate\s*=\s*'\w+'", re.S)
#: What only the store touches: its connection and its raw query method.
STORE_INNARDS = {"conn", "q", "execute", "executemany", "executescript"}


def _modules(folder: Path) -> list[Path]:
    return sorted(folder.rglob("*.py"))


def _sql_strings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [f"{path.relative_to(ROOT)}:{node.lineno}" for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and SQL.search(node.value)]


def test_the_sql_pattern_finds_the_store() -> None:
    assert any(_sql_strings(p) for p in _modules(STORE))


@pytest.mark.parametrize("path", [p for p in _modules(FIELD_APP) if STORE not in p.parents],
                         ids=lambda p: str(p.relative_to(ROOT)))
def test_no_sql_outside_the_device_store(path: Path) -> None:
    assert _sql_strings(path) == []
    if FIELD_APP / "core" in path.parents:
        tree = ast.parse(path.read_text(encoding="utf-8"))
        used = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
        assert used.isdisjoint(STORE_INNARDS), sorted(used & STORE_INNARDS)


@pytest.mark.parametrize("path", _modules(VIEWMODELS), ids=lambda p: p.name)
def test_view_models_only_call_the_device(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    reached = sorted(f"{n.attr} (line {n.lineno})" for n in ast.walk(tree)
                     if isinstance(n, ast.Attribute) and n.attr in {"store", "outbox"})
    assert reached == []
