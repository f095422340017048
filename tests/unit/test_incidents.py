"""The pure rules of collective incidents (shared_schema.incidents)."""

from __future__ import annotations

import pytest

from shared_schema import fields as field_rules
from shared_schema.entities import INSERT_ONLY_ENTITIES, check_fields
from shared_schema.incidents import (
    REFERRAL_TARGETS,
    alert_fields,
    case_fields,
    derived_id,
    incident_errors,
    unacknowledged,
)
from shared_schema.ids import is_uuid

NOW = 1_764_140_000_000
GOOD = {"kind": "collective_claim", "site_id": "s1", "headcount": 14, "occurred_at": NOW,
        "on_scene": "到场劝导", "brought_in": ["ping_an_ban"]}


@pytest.mark.parametrize(("change", "errors"), [
    ({}, {}),
    ({"site_id": None, "place": "村口"}, {}),
    ({"site_id": None, "place": "  "}, {"place": "required"}),
    ({"kind": "riot"}, {"kind": "invalid_value"}),
    ({"kind": None}, {"kind": "required"}),
    ({"headcount": None}, {"headcount": "required"}),
    ({"headcount": 0}, {"headcount": "invalid_value"}),
    ({"headcount": 100_001}, {"headcount": "invalid_value"}),
    ({"headcount": True}, {"headcount": "invalid_value"}),
    ({"occurred_at": None}, {"occurred_at": "required"}),
    ({"occurred_at": NOW + 10 * 60 * 1000}, {}),  # a phone's clock may run a little ahead
    ({"occurred_at": NOW + 10 * 60 * 1000 + 1}, {"occurred_at": "in_future"}),
    ({"on_scene": ""}, {"on_scene": "required"}),
    ({"brought_in": ["ping_an_ban", "mayor"]}, {"brought_in": "invalid_value"}),
])
def test_incident_errors(change: dict, errors: dict) -> None:
    assert incident_errors({**GOOD, **change}, NOW) == errors


def test_referral_targets_are_the_plans_parties() -> None:
    for code in ("ping_an_ban", "si_fa_suo", "police", "legal_aid", "arbitration", "court",
                 "industry_department"):
        assert code in REFERRAL_TARGETS
    assert REFERRAL_TARGETS["si_fa_suo"][0] == "司法所"


def test_derived_ids_are_stable_uuids_per_incident_and_kind() -> None:
    a = derived_id("0190a0a0-0000-7000-8000-000000000001", "case")
    assert a == derived_id("0190A0A0-0000-7000-8000-000000000001", "case") and is_uuid(a)
    assert a != derived_id("0190a0a0-0000-7000-8000-000000000001", "alert")
    assert a != derived_id("0190a0a0-0000-7000-8000-000000000002", "case")


def test_the_case_of_an_incident() -> None:
    site = {"name": "一纵线建设", "kind": "construction", "contractor": "某建工（演示）"}
    f = case_fields("i1", GOOD, site)
    assert f["title"] == "群体性讨薪：一纵线建设" and f["employer"] == "某建工（演示）"
    assert (f["collective_incident"], f["collective_risk"], f["incident_id"]) == (True, True, "i1")
    assert (f["sector"], f["workers_owed"], f["source"]) == ("construction", 14, "patrol")
    check_fields("case", f)  # every field is a case's, of its type
    placed = case_fields("i2", {**GOOD, "site_id": None, "place": "镇农贸市场",
                                "kind": "emergency"}, None)
    assert placed["title"] == "突发事件：镇农贸市场" and "employer" not in placed
    assert placed["sector"] == "non_construction" and "site_id" not in placed


def test_the_alert_names_no_complainant_and_counts_per_account() -> None:
    a = alert_fields("i1", GOOD, "c1", {"name": "工地", "village_id": "v1"}, NOW)
    assert a["raised_at"] == NOW and a["acknowledged_by"] == {}
    assert a["village_id"] == "v1" and a["place"] == "工地"
    assert not set(a) & set(field_rules.PERSONAL["case"])
    check_fields("alert", a)
    alerts = [a, {**a, "acknowledged_by": {"u1": NOW}}]
    assert (unacknowledged(alerts, "u1"), unacknowledged(alerts, "u2")) == (1, 2)


def test_owners_incidents_are_insert_only_and_alerts_the_servers() -> None:
    assert {"incident", "alert"} <= INSERT_ONLY_ENTITIES
    assert all(r.writers == {"server"} for n, r in field_rules.FIELDS["alert"].items()
               if n not in ("created_at",))
    refusal = field_rules.refuse_writer("incident", {"case_id": "x"}, "grid_officer", recorder=True)
    assert refusal is not None and refusal.code == "field_not_writable"
    for name in ("incident_id", "collective_incident"):
        assert field_rules.FIELDS["case"][name].writers == {"server"}
