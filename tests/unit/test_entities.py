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
