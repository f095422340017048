"""Docs match the code: every error code, setting, wire message, endpoint
and case event the code defines is documented."""

from __future__ import annotations

import dataclasses
import inspect
import re
from pathlib import Path

import msgspec
import pytest

from shared_schema import cases, checklists, wire
from sync_server import errors
from sync_server.app import create_app
from sync_server.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
RAISERS = r"(?:Rejection|DomainError|CaseRuleError|AnswerError|TemplateNotFoundError|ChecklistError|FieldRefusal)"


def _source_codes() -> set[str]:
    codes: set[str] = set()
    for folder in ("sync_server", "shared_schema", "field_app"):
        for path in (ROOT / folder).rglob("*.py"):
            text = path.read_text(encoding="utf-8")
            codes.update(re.findall(RAISERS + r'\(\s*"([a-z_]+)"', text))
    codes.update(checklists.ANSWER_ERROR_CODES)
    codes.update(errors._HTTP_CODES.values())
    codes.update({"internal_error", "malformed_json", "invalid_body", "http_error"})
    return codes


def test_source_codes_are_found() -> None:
    # Guards the scan itself: a regex that matched nothing would pass vacuously.
    assert {"out_of_scope", "mutation_id_reused", "illegal_transition"} <= _source_codes()


@pytest.mark.parametrize("code", sorted(_source_codes()))
def test_error_code_documented(code: str) -> None:
    assert f"`{code}`" in (DOCS / "errors.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", [f.name for f in dataclasses.fields(Settings)])
def test_setting_documented(name: str) -> None:
    assert f"`{name}`" in (DOCS / "architecture.md").read_text(encoding="utf-8")


WIRE_TYPES = [
    name for name, obj in vars(wire).items()
    if inspect.isclass(obj) and issubclass(obj, msgspec.Struct) and not name.startswith("_")
    and obj.__module__ == wire.__name__
]


@pytest.mark.parametrize("name", WIRE_TYPES)
def test_wire_message_documented(name: str) -> None:
    assert re.search(rf"`{name}\b", (DOCS / "protocol.md").read_text(encoding="utf-8"))


@pytest.mark.parametrize("kind", cases.EVENT_KINDS)
def test_case_event_documented(kind: str) -> None:
    assert f"`{kind}`" in (DOCS / "cases.md").read_text(encoding="utf-8")


def test_every_endpoint_documented(tmp_path: Path) -> None:
    app = create_app(Settings(db_path=tmp_path / "s.db"))
    text = (DOCS / "protocol.md").read_text(encoding="utf-8")
    paths = {re.sub(r":\w+}", "}", r.path) for r in app.routes if r.path.startswith("/api/")}
    assert paths, "no API routes found"
    for path in sorted(paths):
        assert f"`{path}" in text, path


def test_readme_links_and_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for link in ("docs/protocol.md", "docs/architecture.md", "docs/cli.md"):
        assert link in readme
        assert (ROOT / link).exists() or link == "docs/cli.md"
    assert "make demo" in readme and "make test" in readme
    for user in ("grid1", "grid2", "sector1", "office1", "leader1", "admin"):
        assert f"`{user}`" in readme
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in ci
