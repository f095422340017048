"""docs/device-api.md matches the code: every public Device call, setting,
report field, CLI command and device error code is documented."""

from __future__ import annotations

import dataclasses
import inspect
import re
from pathlib import Path

import msgspec
import pytest

from field_app.cli import build_parser
from field_app.core import (
    Device,
    DeviceSettings,
    DeviceStatus,
    QuarantineItem,
    ReceiptReport,
    SyncProgress,
    SyncReport,
)

from .support import ROOT

DOC = (ROOT / "docs" / "device-api.md").read_text(encoding="utf-8")
RAISERS = r"(?:DeviceError|InvalidInput|NotFound|LoginRequired|NetworkError|ServerError)"


def _codes() -> set[str]:
    codes: set[str] = set()
    for path in (ROOT / "field_app").rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        for code in re.findall(RAISERS + r'\(\s*f?"([a-z_{}]+)"', text, flags=re.S):
            codes.add(code.replace("{entity}", "<entity>"))
        codes.update(re.findall(r'_quarantine_photo\([^,]+,\s*"([a-z_]+)"', text))
    return codes


def test_codes_are_found() -> None:
    assert {"not_logged_in", "pending_other_user", "confirmation_required",
            "unknown_<entity>", "photo_unreadable"} <= _codes()


@pytest.mark.parametrize("code", sorted(_codes()))
def test_error_code_documented(code: str) -> None:
    assert f"`{code}`" in DOC


PUBLIC = [name for name, member in inspect.getmembers(Device)
          if not name.startswith("_") and (inspect.isfunction(member)
                                           or isinstance(member, classmethod))]


@pytest.mark.parametrize("name", PUBLIC)
def test_device_call_documented(name: str) -> None:
    assert re.search(rf"`(?:dev|Device)\.{name}\(", DOC), name


@pytest.mark.parametrize("name", [f.name for f in dataclasses.fields(DeviceSettings)])
def test_setting_documented(name: str) -> None:
    assert f"| `{name}` |" in DOC


@pytest.mark.parametrize("struct", [SyncReport, SyncProgress, DeviceStatus, QuarantineItem,
                                    ReceiptReport])
def test_report_fields_documented(struct: type[msgspec.Struct]) -> None:
    section = DOC.split(f"* `{struct.__name__}`", 1)[1][:1500]
    for name in struct.__struct_fields__:
        assert f"`{name}`" in section, (struct.__name__, name)


def _commands() -> list[str]:
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, type(parser._subparsers._actions[-1])))
    out = []
    for name, p in sub.choices.items():
        out.append(name)
        for action in p._actions:
            if getattr(action, "choices", None) and isinstance(action.choices, dict):
                out += [f"{name} {inner}" for inner in action.choices]
    return out


@pytest.mark.parametrize("command", _commands())
def test_cli_command_documented(command: str) -> None:
    assert f"field-app --data-dir DIR {command}" in DOC


def test_exit_codes_documented() -> None:
    for code in ("`0` ok", "`1` error", "`3` login required"):
        assert code in DOC


def test_doc_file_is_where_the_issue_says() -> None:
    assert Path(ROOT / "docs" / "device-api.md").exists()
