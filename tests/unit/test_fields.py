"""shared_schema.fields: the field-owner table and its pure checks."""

from __future__ import annotations

import typing
from typing import Any

import pytest

from shared_schema import fields as f
from shared_schema.entities import ENTITY_TYPES, PERSONAL_FIELDS, REFERENCE_ENTITIES

WRITABLE = sorted(set(ENTITY_TYPES) - REFERENCE_ENTITIES)

# --- the table itself -----------------------------------------------------------------


def test_the_table_covers_exactly_the_entities_devices_write() -> None:
    assert sorted(f.FIELDS) == WRITABLE


@pytest.mark.parametrize("entity", WRITABLE)
def test_every_record_field_has_a_rule(entity: str) -> None:
    missing = set(ENTITY_TYPES[entity].__struct_fields__) - set(f.FIELDS[entity])
    assert not missing


@pytest.mark.parametrize("entity", WRITABLE)
def test_fields_the_record_type_does_not_have_are_the_servers(entity: str) -> None:
    """A known field that the record type cannot type-check is never taken from
    outside: the server stamps or derives it."""
    extra = set(f.FIELDS[entity]) - set(ENTITY_TYPES[entity].__struct_fields__)
    assert extra
    for name in extra:
        assert f.FIELDS[entity][name].writers == {f.SERVER}, name


@pytest.mark.parametrize("entity", WRITABLE)
def test_every_text_list_and_map_a_device_writes_is_bounded(entity: str) -> None:
    hints = typing.get_type_hints(ENTITY_TYPES[entity])
    for name, rule in f.FIELDS[entity].items():
        assert rule.writers and rule.writers <= set(f.WRITERS), name
        if name not in hints or rule.writers == {f.SERVER}:
            continue
        kinds = {typing.get_origin(t) or t for t in typing.get_args(hints[name]) or (hints[name],)}
        if kinds & {str, typing.Literal}:
            assert rule.max_chars is not None, name
        if kinds & {list, dict}:
            assert rule.max_items is not None and rule.max_chars is not None, name


def test_the_fields_of_an_answer_are_the_answer_type() -> None:
    from shared_schema.entities import Answer
    assert f.FIELDS["inspection"]["answers"].item_fields == set(Answer.__struct_fields__)


def test_personal_data_is_the_complainants() -> None:
    assert f.PERSONAL["case"] == set(PERSONAL_FIELDS)
    assert not any(f.PERSONAL[e] for e in WRITABLE if e != "case")
    for name in PERSONAL_FIELDS:
        assert f.FIELDS["case"][name].writers == {f.RECORDER, f.OFFICE}


def test_registry_facts_are_written_by_approval_only() -> None:
    for name in ("six_systems", "headcount_on_site", "headcount_real_name",
                 "headcount_contracts", "last_inspected_at"):
        assert f.FIELDS["site"][name].writers == {f.APPROVAL}


def test_server_stamped_fields() -> None:
    for entity in WRITABLE:
        for name in ("id", "updated_at", "deleted", "received_at"):
            assert f.FIELDS[entity][name].writers == {f.SERVER}


# --- masks ---------------------------------------------------------------------------------

MASKS = [
    ("13812341234", "138****1234"),
    ("+8613812341234", "+86*******1234"),
    ("500101199001011234", "500***********1234"),
    ("50010119900101123X", "500***********123X"),
    ("68123456", "68****56"),  # a landline
    ("张三", "张*"),
    ("王小明", "王**"),
    ("欧阳某某", "欧***"),
    ("赵某某(演示)", "赵******"),
    ("张", "*"),
    ("", ""),
    (None, None),
    (5, 5),
]


@pytest.mark.parametrize(("value", "masked"), MASKS)
def test_mask(value: Any, masked: Any) -> None:
    assert f.mask(value) == masked
    if isinstance(value, str) and value:
        assert len(masked) == len(value) and "*" in masked
        assert f.is_masked(masked, value) and not f.is_masked(value, value)


def test_a_phone_shows_7_of_11_digits() -> None:
    shown = f.mask("13701231111")
    assert sum(c.isdigit() for c in shown) == 7


@pytest.mark.parametrize(("value", "stored", "masked"), [
    ("137****1111", None, True),
    ("137＊＊＊＊1111", None, True),  # full-width stars
    ("*", None, True),
    ("13701231111", None, False),
    ("13701231111", "13701231111", False),
    ("张*", "张三", True),
    (None, "张三", False),
    (12, None, False),
])
def test_is_masked(value: Any, stored: Any, masked: bool) -> None:
    assert f.is_masked(value, stored) is masked


# --- who may write ----------------------------------------------------------------------

# (entity, field, role, recorder, console, allowed)
WRITES = [
    ("site", "name", "grid_officer", False, False, True),
    ("site", "six_systems", "grid_officer", True, False, False),
    ("site", "headcount_on_site", "office", True, False, False),  # an office device
    ("site", "headcount_on_site", "office", False, True, True),  # the office console
    ("site", "last_inspected_at", "grid_officer", True, True, False),  # console is office only
    ("case", "complainant_phone", "grid_officer", True, False, True),
    ("case", "complainant_phone", "grid_officer", False, False, False),
    ("case", "complainant_phone", "grid_officer", None, False, True),  # unknown: server decides
    ("case", "complainant_phone", "sector_inspector", False, False, False),
    ("case", "complainant_phone", "office", False, False, True),
    ("case", "complainant_phone", "leader", False, False, False),
    ("case", "status", "office", True, True, False),
    ("case", "title", "grid_officer", False, False, True),
    ("inspection", "answers", "grid_officer", True, False, True),
    ("inspection", "answers", "sector_inspector", False, False, False),
    ("inspection", "review_state", "office", False, False, True),
    ("inspection", "review_state", "grid_officer", True, False, False),
    ("case_event", "author_role", "office", True, True, False),
    ("case_event", "note", "leader", True, False, True),
    ("photo", "id", "grid_officer", True, False, False),
]


@pytest.mark.parametrize(("entity", "field", "role", "recorder", "console", "allowed"), WRITES)
def test_may_write(entity: str, field: str, role: str, recorder: bool | None, console: bool,
                   allowed: bool) -> None:
    rule = f.FIELDS[entity][field]
    assert f.may_write(rule, role, recorder=recorder, console=console) is allowed
    refusal = f.refuse_writer(entity, {field: 1}, role, recorder=recorder, console=console)
    if allowed:
        assert refusal is None
    else:
        assert refusal is not None
        assert (refusal.code, refusal.field, refusal.path) == (
            "field_not_writable", field, f"$.fields.{field}")
        assert refusal.info()["writers"] == sorted(rule.writers)


def test_refuse_writer_names_the_first_refused_field_and_skips_unknown_ones() -> None:
    r = f.refuse_writer("site", ["name", "nonsense", "six_systems", "headcount_on_site"],
                        "grid_officer", recorder=True)
    assert r is not None and r.field == "six_systems"


# --- values -------------------------------------------------------------------------------

# (entity, fields, code, path, details subset)
REFUSED = [
    ("site", {"contractr": "x"}, "unknown_field", "$.fields.contractr", {"entity": "site"}),
    ("site", {"name": "ok", "colour": None}, "unknown_field", "$.fields.colour", {}),
    ("site", {"address": "x" * 501}, "field_too_long", "$.fields.address",
     {"limit": 500, "unit": "chars", "got": 501}),
    ("site", {"address": "x" * 7_000_000}, "field_too_long", "$.fields.address",
     {"limit": 500, "got": 7_000_000}),
    ("case", {"complainant_phone": "1" * 33}, "field_too_long", "$.fields.complainant_phone",
     {"limit": 32}),
    ("case_event", {"evidence": ["a" * 64] * 101}, "field_too_long", "$.fields.evidence",
     {"limit": 100, "unit": "items", "got": 101}),
    ("case_event", {"evidence": ["a" * 65]}, "field_too_long", "$.fields.evidence[0]",
     {"limit": 64, "unit": "chars"}),
    ("inspection", {"answers": {"C01": {"answer": "yes", "note": "n" * 2001}}},
     "field_too_long", "$.fields.answers.C01.note", {"limit": 2000}),
    ("inspection", {"answers": {"C01": {"answer": {"a": ["x" * 2001]}}}},
     "field_too_long", "$.fields.answers.C01.answer.a[0]", {"limit": 2000}),
    ("inspection", {"answers": {"c" * 2001: {}}}, "field_too_long", "$.fields.answers",
     {"limit": 2000}),
    ("inspection", {"answers": {f"C{i}": {} for i in range(201)}}, "field_too_long",
     "$.fields.answers", {"unit": "items", "limit": 200}),
    ("inspection", {"answers": {"C01": {"answer": "yes", "photo_count": 2}}}, "unknown_field",
     "$.fields.answers.C01.photo_count", {"entity": "inspection"}),
    ("case", {"complainant_phone": "137****1111"}, "masked_value",
     "$.fields.complainant_phone", {"entity": "case"}),
    ("case", {"complainant_name": "张*"}, "masked_value", "$.fields.complainant_name", {}),
]


@pytest.mark.parametrize(("entity", "fields", "code", "path", "details"), REFUSED)
def test_refuse_values(entity: str, fields: dict[str, Any], code: str, path: str,
                       details: dict[str, Any]) -> None:
    r = f.refuse_values(entity, fields)
    assert r is not None
    assert (r.code, r.path) == (code, path)
    assert details.items() <= r.details.items()
    assert r.info()["path"] == path and r.info()["field"] == path.split(".")[2].split("[")[0]


ACCEPTED = [
    ("site", {"address": "x" * 500, "name": None, "lat": 1e300}),
    ("site", {"name": "A*B 工地"}),  # a star is fine outside personal data
    ("case", {"complainant_phone": "13701231111", "complainant_name": None}),
    ("case", {"complainant_phone": ""}),
    ("case_event", {"evidence": ["a" * 64] * 100, "note": "字" * 5000}),
    ("inspection", {"answers": {"C01": {"answer": "yes", "note": "n" * 2000}}}),
    ("village", {"anything": 1}),  # reference data: refused whole elsewhere
]


@pytest.mark.parametrize(("entity", "fields"), ACCEPTED)
def test_values_within_the_table_pass(entity: str, fields: dict[str, Any]) -> None:
    assert f.refuse_values(entity, fields) is None


def test_the_masked_form_of_the_stored_value_is_refused() -> None:
    r = f.refuse_values("case", {"complainant_name": "张*"}, {"complainant_name": "张三"})
    assert r is not None and r.code == "masked_value"


def test_a_deeply_nested_answer_does_not_recurse() -> None:
    value: Any = "x" * 2001
    for _ in range(5000):
        value = [value]
    r = f.refuse_values("inspection", {"answers": {"C01": {"answer": value}}})
    assert r is not None and r.code == "field_too_long"
