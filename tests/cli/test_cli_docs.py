"""docs/cli.md documents every command, option, exit code and import column."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from sync_server.cli import EXIT_OK, EXIT_USAGE, EXIT_USER_ERROR, build_parser
from sync_server.domain.registry.importer import COLUMNS, KINDS, STATUSES

DOC = (Path(__file__).parents[2] / "docs" / "cli.md").read_text(encoding="utf-8")


def commands(parser: argparse.ArgumentParser, prefix: tuple[str, ...] = ()):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield prefix + (name,), sub
                yield from commands(sub, prefix + (name,))


def section(title: str) -> str:
    m = re.search(rf"^## `{re.escape(title)}`\n(.*?)(?=^## |\Z)", DOC, re.S | re.M)
    assert m, f"docs/cli.md has no section ## `{title}`"
    return m.group(1)


def test_every_command_and_option_is_documented():
    found = list(commands(build_parser()))
    assert len(found) >= 10
    for path, parser in found:
        has_sub = any(isinstance(a, argparse._SubParsersAction) for a in parser._actions)
        if has_sub:
            continue
        assert "sync-server " + " ".join(path) in DOC
        text = section(" ".join(path))
        for action in parser._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            names = action.option_strings or [action.dest.upper()]
            assert any(n in text for n in names), f"{path}: {names} not documented"


def test_exit_codes_are_documented():
    codes = DOC.split("## Exit codes", 1)[1].split("\n## ", 1)[0]
    for code in (EXIT_OK, EXIT_USER_ERROR, EXIT_USAGE, 130):
        assert f"| `{code}` |" in codes, code


def test_import_columns_and_values_are_documented():
    text = section("import-sites")
    for column, names in COLUMNS.items():
        assert f"| {names[0]} | `{names[1]}` |" in text, column
    for word in list(KINDS) + list(STATUSES):
        assert word in text, word
