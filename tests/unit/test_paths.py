"""Merge keys (shared_schema.paths): one definition for the server and the device."""

from __future__ import annotations

import pytest

from shared_schema.paths import flat_keys, flatten, get_flat, set_flat

A = {"answer": "yes"}


@pytest.mark.parametrize("entity, fields, flat", [
    ("site", {"name": "x", "contractor": "y"}, {"name": "x", "contractor": "y"}),
    ("inspection", {"answers": {"C01": A, "C02": {}}, "notes": "n"},
     {"answers.C01": A, "answers.C02": {}, "notes": "n"}),
    ("inspection", {"answers": {}}, {}),  # no items: no keys
    ("inspection", {"answers": None}, {"answers": None}),  # not an object: merged whole
    ("case", {"answers": {"C01": 1}}, {"answers": {"C01": 1}}),  # only inspections per item
])
def test_flatten(entity, fields, flat) -> None:
    assert flatten(entity, fields) == flat
    assert flat_keys(entity, fields) == list(flat)


@pytest.mark.parametrize("data, key, value", [
    ({"name": "x"}, "name", "x"),
    ({"name": "x"}, "contractor", None),
    ({"answers": {"C01": A}}, "answers.C01", A),
    ({"answers": {"C01": A}}, "answers.C02", None),
    ({}, "answers.C01", None),
    ({"answers": None}, "answers.C01", None),
    ({"answers": "not an object"}, "answers.C01", None),
])
def test_get_flat(data, key, value) -> None:
    assert get_flat(data, key) == value


@pytest.mark.parametrize("data, key, value, after", [
    ({"name": "x"}, "name", "y", {"name": "y"}),
    ({}, "answers.C01", A, {"answers": {"C01": A}}),
    ({"answers": {"C01": A}}, "answers.C02", 1, {"answers": {"C01": A, "C02": 1}}),
    ({"answers": None}, "answers.C01", A, {"answers": {"C01": A}}),
])
def test_set_flat(data, key, value, after) -> None:
    before_items = data.get("answers")
    set_flat(data, key, value)
    assert data == after
    if isinstance(before_items, dict) and "." in key:
        assert data["answers"] is not before_items  # the map is copied, not changed in place


def test_flatten_then_get_flat_round_trip() -> None:
    fields = {"answers": {"C01": A, "C07": {"answer": 3}}, "notes": "n"}
    assert {k: get_flat(fields, k) for k in flat_keys("inspection", fields)} == flatten(
        "inspection", fields)
