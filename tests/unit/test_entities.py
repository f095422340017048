"""check_fields: a partial field map type-checked against its record type."""

from __future__ import annotations

import msgspec
import pytest

from shared_schema.entities import ENTITY_TYPES, FieldTypeError, check_fields

# (entity, fields in, fields out)
GOOD = [
    ("site", {"name": "工地", "lat": 29.5}, {"name": "工地", "lat": 29.5}),
    ("site", {"contract_amount": 5}, {"contract_amount": 5}),
    ("site", {"name": None}, {"name": None}),
    ("site", {"name": "x", "unknown": 1}, {"name": "x"}),  # unknown fields are dropped
    ("site", {"six_systems": {"real_name": True, "deposit": None}},
     {"six_systems": {"real_name": True, "deposit": None}}),
    ("inspection", {"answers": {"C01": {"answer": "yes"}}}, {"answers": {"C01": {"answer": "yes"}}}),
    ("case_event", {"evidence": ["a" * 64]}, {"evidence": ["a" * 64]}),
    ("case", {}, {}),
    # tuples come back as the lists the store gives back, so equal values compare equal
    ("checklist_template", {"body": {"items": ({"code": "C01"},), "kinds": ("a", "b")}},
     {"body": {"items": [{"code": "C01"}], "kinds": ["a", "b"]}}),
    ("department", {"sectors": ("construction",)}, {"sectors": ["construction"]}),
]


@pytest.mark.parametrize(("entity", "fields", "expected"), GOOD)
def test_check_fields_keeps_known_fields(entity, fields, expected) -> None:
    got = check_fields(entity, fields)
    assert got == expected
    assert msgspec.json.decode(msgspec.json.encode(got)) == got  # already in stored form


# (entity, fields, path of the bad value)
BAD = [
    ("site", {"name": 5}, "$.fields.name"),
    ("site", {"kind": "farm"}, "$.fields.kind"),
    ("site", {"gov_invested": "yes"}, "$.fields.gov_invested"),
    ("site", {"lat": "north"}, "$.fields.lat"),
    ("inspection", {"answers": {"C01": "yes"}}, "$.fields.answers[...]"),
    ("inspection", {"state": "done"}, "$.fields.state"),
    ("case", {"workers_owed": 2.5}, "$.fields.workers_owed"),
    ("case_event", {"evidence": "a" * 64}, "$.fields.evidence"),
    ("photo", {"owner_entity": "village"}, "$.fields.owner_entity"),
]


@pytest.mark.parametrize(("entity", "fields", "path"), BAD)
def test_check_fields_names_the_bad_value(entity, fields, path) -> None:
    with pytest.raises(FieldTypeError) as info:
        check_fields(entity, fields)
    assert info.value.path == path


def test_every_entity_has_a_record_type_with_defaults() -> None:
    for entity, record_type in ENTITY_TYPES.items():
        assert check_fields(entity, {}) == {}
        assert msgspec.convert({}, record_type).deleted is False


def _via_json(entity, fields):
    """The reference: every known field through msgspec's JSON, as stored."""
    record_type = ENTITY_TYPES[entity]
    known = {k: v for k, v in fields.items() if k in record_type.__struct_fields__}
    built = msgspec.json.decode(msgspec.json.encode(msgspec.convert(known, record_type)))
    return {k: built.get(k) for k in known}


def _typed(value):
    """``value`` with the type of every part, so 1 ≠ 1.0 and [] ≠ () here."""
    if isinstance(value, dict):
        return ("dict", {k: _typed(v) for k, v in value.items()})
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, [_typed(v) for v in value])
    return (type(value).__name__, value)


NAN, INF = float("nan"), float("inf")
# Inputs where to_builtins alone would differ from JSON (tuples, NaN, infinities)
# and plain ones the fast path takes: the stored form must be the same.
SAME_AS_JSON = [
    ("inspection", {"lat": 3, "lon": -1.5, "answers": {"C01": {"answer": "yes", "note": "n"}}}),
    ("inspection", {"lat": NAN}),
    ("inspection", {"lon": -INF, "answers": {"C01": {"answer": "yes"}}}),
    ("inspection", {"answers": {"C01": {"answer": 3, "value": 2.5}}}),
    ("inspection", {"answers": {"C01": {"answer": "yes", "value": NAN}}}),
    ("inspection", {"answers": {"C01": {"answer": "yes", "value": INF}}}),
    ("inspection", {"answers": {"C01": {"answer": (1, 2)}}}),
    ("inspection", {"answers": {"C01": {"answer": "yes", "value": [(1, 2), {"a": (3,)}]}}}),
    ("inspection", {"answers": {"C01": {"answer": "yes", "value": {"b": NAN}}}}),
    ("inspection", {"answers": {"C01": {"answer": True, "value": None}}, "state": "draft"}),
    ("inspection", {"answers": None, "notes": None, "deleted": False}),
    ("site", {"contract_amount": 5, "lat": INF, "six_systems": {"a": True}}),
    ("site", {"name": "x", "lat": 1, "lon": 2.0, "kind": "factory"}),
    ("case", {"amount_owed": NAN, "workers_owed": 3}),
    ("case_event", {"evidence": ("a" * 64,), "amount_recovered": 1}),
    ("department", {"sectors": ("construction",)}),
    ("checklist_template", {"body": {"x": (1, NAN)}}),
    ("photo", {"lat": 1, "bytes": 5}),
]


@pytest.mark.parametrize(("entity", "fields"), SAME_AS_JSON)
def test_check_fields_gives_what_json_gives(entity, fields) -> None:
    assert _typed(check_fields(entity, fields)) == _typed(_via_json(entity, fields))
