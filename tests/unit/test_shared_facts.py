"""Facts both sides mean the same way are written once, in shared_schema, and imported:
the site kinds, the roles, the audit log's actions, each field's name for people.

The guard scans the product's source (ast) for a module-level table spelling one of
these facts again outside shared_schema."""

from __future__ import annotations

import ast
from pathlib import Path
from typing import get_args

import pytest

from shared_schema import audit, entities, field_labels, fields, roles, wire

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("sync_server", "field_app")
FACTS = {
    "SITE_KINDS": frozenset(entities.SITE_KINDS),
    "ROLES": frozenset(roles.ROLES),
    "FIELD_ROLES": frozenset(roles.FIELD_ROLES),
    "OFFICE_ROLES": frozenset(roles.OFFICE_ROLES),
    "AUDIT_ACTIONS": frozenset(audit.AUDIT_ACTIONS),
}


def test_the_tables_follow_their_types() -> None:
    assert entities.SITE_KINDS == get_args(entities.SiteKind) == (
        "construction", "factory", "logistics", "other")
    assert roles.ROLES == get_args(wire.Role)
    assert set(roles.FIELD_ROLES) | set(roles.OFFICE_ROLES) | {"admin"} == set(roles.ROLES)
    assert not set(roles.FIELD_ROLES) & set(roles.OFFICE_ROLES)
    assert audit.AUDIT_ACTIONS == get_args(audit.AuditAction)
    assert len(set(audit.AUDIT_ACTIONS)) == len(audit.AUDIT_ACTIONS)


def test_field_names_come_from_the_field_table() -> None:
    for entity, rules in fields.FIELDS.items():
        labelled = {name: rule.label for name, rule in rules.items() if rule.label}
        assert field_labels.FIELD_LABELS[entity] == labelled
    assert field_labels.field_label("site", "contact_phone") == "联系电话"
    assert field_labels.field_label("case_event", "amount_recovered", "en") == "Amount recovered"
    assert field_labels.field_label("case", "amount_recovered") == "已追回金额"
    assert field_labels.field_label("site", "id") == "记录编号"  # every record's field
    assert field_labels.field_label("user", "role") == "角色"  # a reference entity's, kept there


def _literal_sets(path: Path) -> list[tuple[int, frozenset[str]]]:
    """Every module-level name bound to a tuple, list or set of two or more string
    constants (or a frozenset of one): the way a table is written down. Rows of a
    permission matrix (values inside a dict) are not tables of their own."""
    found = []
    for node in ast.parse(path.read_text(encoding="utf-8"), str(path)).body:
        value = node.value if isinstance(node, (ast.Assign, ast.AnnAssign)) else None
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.args \
                and value.func.id in ("frozenset", "set", "tuple"):
            value = value.args[0]
        if isinstance(value, (ast.Tuple, ast.List, ast.Set)) and len(value.elts) >= 2 and all(
                isinstance(e, ast.Constant) and isinstance(e.value, str) for e in value.elts):
            found.append((node.lineno, frozenset(e.value for e in value.elts)))  # type: ignore[attr-defined]
    return found


def _copies() -> list[tuple[str, str, int]]:
    copies = []
    for package in PRODUCT:
        for path in sorted((ROOT / package).rglob("*.py")):
            for line, values in _literal_sets(path):
                for name, fact in FACTS.items():
                    if values == fact:
                        copies.append((name, str(path.relative_to(ROOT)), line))
    return copies


def test_the_scan_finds_a_copy(tmp_path: Path) -> None:
    # Guards the scan itself: a copy written in a module is found.
    module = tmp_path / "m.py"
    module.write_text('KINDS = ("construction", "factory", "logistics", "other")\n', encoding="utf-8")
    assert (1, FACTS["SITE_KINDS"]) in _literal_sets(module)


@pytest.mark.parametrize("name", sorted(FACTS))
def test_no_copy_of_a_shared_fact_in_the_product(name: str) -> None:
    assert [c for c in _copies() if c[0] == name] == []
