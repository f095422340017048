"""#17 case lifecycle, pure rules: routing by site and setting, 调查, exits after
acceptance, advances, the reply to the complainant, labels."""

from __future__ import annotations

import pytest

from shared_schema import cases
from shared_schema.cases import (
    CaseRuleError,
    CaseState,
    RoutingThresholds,
    apply_event,
    check_new_event,
    check_thresholds,
    fold,
    route,
    thresholds_from,
)

NOTE = {"note": "说明"}
DEPT_SITE = {"kind": "construction", "village_id": "v1", "department_id": "d1"}
FACTORY = {"kind": "factory", "village_id": "v1", "department_id": "d2"}
SMALL = {"village_id": "v1", "workers_owed": 3, "amount_owed": 20_000}


def S(status="accepted", level="township", **kw) -> CaseState:
    return CaseState(status=status, level=level, **kw)


# (case fields, site, thresholds, (level, route, reason))
ROUTES = [
    # 谁主管谁负责: a construction project's case goes to its department, however small
    (SMALL, DEPT_SITE, None, ("township", "department", "construction")),
    ({**SMALL, "workers_owed": 1}, {**DEPT_SITE, "gov_invested": True}, None,
     ("township", "department", "construction")),
    # a construction site with no department: the labour office
    (SMALL, {"kind": "construction", "village_id": "v1"}, None,
     ("township", "local", "construction")),
    # 村（社区）自建项目: the village, by size
    (SMALL, {**DEPT_SITE, "village_self_built": True}, None, ("village", "local", "village_self_built")),
    ({**SMALL, "workers_owed": 10}, {**DEPT_SITE, "village_self_built": True}, None,
     ("township", "local", "large")),
    # government-invested projects never start in the village, self-built or not
    (SMALL, {**DEPT_SITE, "village_self_built": True, "gov_invested": True}, None,
     ("township", "local", "gov_invested")),
    (SMALL, {**FACTORY, "gov_invested": True}, None, ("township", "local", "gov_invested")),
    # 小案件不出村，大案件不出镇 at a non-construction employer
    (SMALL, FACTORY, None, ("village", "local", "small")),
    ({**SMALL, "workers_owed": 10}, FACTORY, None, ("township", "local", "large")),
    ({**SMALL, "amount_owed": 100_000}, FACTORY, None, ("township", "local", "large")),
    ({**SMALL, "collective_risk": True}, FACTORY, None, ("township", "local", "collective_risk")),
    # the office's thresholds decide what is large
    ({**SMALL, "workers_owed": 10}, FACTORY, RoutingThresholds(20, 500_000),
     ("village", "local", "small")),
    (SMALL, FACTORY, RoutingThresholds(3, 500_000), ("township", "local", "large")),
    (SMALL, FACTORY, RoutingThresholds(20, 20_000), ("township", "local", "large")),
    # the site's village counts when the case names none
    ({"workers_owed": 1}, FACTORY, None, ("village", "local", "small")),
    ({"workers_owed": 1}, None, None, ("township", "local", "no_village")),
    # a complaint naming no site routes by size, whatever its sector
    ({**SMALL, "sector": "construction"}, None, None, ("village", "local", "small")),
    # a collective incident's case starts at the township (and keeps its route)
    ({**SMALL, "incident_id": "i1", "collective_incident": True}, FACTORY, None,
     ("township", "local", "incident")),
    ({**SMALL, "incident_id": "i1"}, DEPT_SITE, None, ("township", "department", "incident")),
]


@pytest.mark.parametrize(("fields", "site", "thresholds", "expected"), ROUTES)
def test_route(fields, site, thresholds, expected) -> None:
    r = route(fields, site, thresholds)
    assert (r.level, r.route, r.reason) == expected
    assert r.reason in cases.ROUTE_REASONS
    assert cases.initial_state(fields, site, thresholds) == CaseState(level=r.level, route=r.route)


def test_handler_follows_level_and_route() -> None:
    assert CaseState(level="village").handled_by == "village"
    assert S(route="department").handled_by == "department"
    assert S().handled_by == "labour_office"
    assert S(level="tackle_team", route="department").handled_by == "department"
    assert S(level="district", route="department").handled_by == "district"
    escalated = apply_event(CaseState(), "escalate", "grid_officer", NOTE)
    assert escalated.handled_by == "labour_office"


def test_thresholds_check_and_fallback() -> None:
    assert check_thresholds({"workers": 20, "amount": 300_000}) == RoutingThresholds(20, 300_000.0)
    for bad in ({"workers": 0, "amount": 1}, {"workers": 2.5, "amount": 1}, {"workers": True, "amount": 1},
                {"workers": 5, "amount": -1}, {"workers": 5}, {"workers": 5, "amount": float("nan")}):
        with pytest.raises(CaseRuleError) as info:
            check_thresholds(bad)
        assert info.value.code == "invalid_value"
    assert thresholds_from(None) == RoutingThresholds()
    assert thresholds_from({"workers": "x"}) == RoutingThresholds()  # unreadable: defaults


def test_incident_cases_are_accepted_the_same_day() -> None:
    assert cases.accept_working_days({}) == 5
    assert cases.accept_working_days({"incident_id": "i1", "collective_incident": True}) == 0


# (state, kind, role, fields, expected status or error code)
TABLE = [
    # 调查
    (S(), "investigation_record", "office", {"investigation_kind": "interview", **NOTE}, "accepted"),
    (S(), "investigation_record", "grid_officer", {"investigation_kind": "verification", **NOTE},
     "accepted"),
    (S(), "investigation_record", "office", NOTE, "missing_field"),
    (S(), "investigation_record", "leader", {"investigation_kind": "interview", **NOTE},
     "role_not_allowed"),
    (S("registered"), "investigation_record", "office", {"investigation_kind": "interview", **NOTE},
     "illegal_transition"),
    (S("resolved"), "investigation_outcome", "office",
     {"investigation_outcome": "confirmed", **NOTE}, "illegal_transition"),
    (S(), "investigation_outcome", "sector_inspector", {"investigation_outcome": "confirmed", **NOTE},
     "accepted"),
    (S(), "investigation_outcome", "office", NOTE, "missing_field"),
    # exits: 转送 and 移送仲裁/诉讼, before or after acceptance; 不予受理 only before
    (S(), "transfer", "office", {"transfer_to": "区住建委", **NOTE}, "transferred"),
    (S("registered"), "transfer", "office", {"transfer_to": "区住建委", **NOTE}, "transferred"),
    (S(), "transfer", "office", NOTE, "missing_field"),
    (S(), "transfer", "grid_officer", {"transfer_to": "区住建委", **NOTE}, "role_not_allowed"),
    (S("resolved"), "transfer", "office", {"transfer_to": "区住建委", **NOTE}, "illegal_transition"),
    (S(), "refer_procedure", "office", {"referral_target": "arbitration", **NOTE},
     "referred_procedure"),
    (S("registered"), "refer_procedure", "office", {"referral_target": "court", **NOTE},
     "referred_procedure"),
    (S(), "refer_procedure", "leader", {"referral_target": "court", **NOTE}, "role_not_allowed"),
    (S(), "refer_procedure", "office", NOTE, "missing_field"),
    (S(), "dismiss", "office", NOTE, "illegal_transition"),
    (S("transferred"), "accept", "office", {}, "illegal_transition"),
    (S("referred_procedure"), "resolve", "office", NOTE, "illegal_transition"),
    (S("transferred"), "reply", "office", NOTE, "transferred"),
    # advances
    (S(), "advance_payment", "office", {"advance_source": "deposit", "amount_advanced": 5000},
     "accepted"),
    (S(), "advance_payment", "office", {"advance_source": "deposit"}, "missing_field"),
    (S(), "advance_payment", "office", {"amount_advanced": 5000}, "missing_field"),
    (S(), "advance_payment", "office",
     {"advance_source": "deposit", "amount_advanced": 5, "workers_advanced": -1}, "negative_value"),
    (S("registered"), "advance_payment", "office", {"advance_source": "deposit", "amount_advanced": 5},
     "illegal_transition"),
    (S(), "advance_payment", "leader", {"advance_source": "deposit", "amount_advanced": 5},
     "role_not_allowed"),
    # reply (首问负责): any status, a handler
    (S("registered"), "reply", "grid_officer", NOTE, "registered"),
    (S("dismissed"), "reply", "office", NOTE, "dismissed"),
    (S(), "reply", "office", {}, "missing_field"),
    (S(), "reply", "admin", NOTE, "role_not_allowed"),
    # a department's case: the grid officer supports, does not handle
    (S("registered", route="department"), "accept", "grid_officer", {}, "role_not_allowed"),
    (S("registered", route="department"), "accept", "sector_inspector", {}, "accepted"),
    (S(route="department"), "resolve", "grid_officer", NOTE, "role_not_allowed"),
    (S(route="department"), "note", "grid_officer", NOTE, "accepted"),
    (S(route="department"), "investigation_record", "grid_officer",
     {"investigation_kind": "verification", **NOTE}, "accepted"),
]


@pytest.mark.parametrize(("state", "kind", "role", "fields", "expected"), TABLE)
def test_lifecycle_transition(state, kind, role, fields, expected) -> None:
    if expected in cases.STATUSES:
        assert apply_event(state, kind, role, fields).status == expected
        assert kind in cases.allowed_kinds(state, role)
    else:
        with pytest.raises(CaseRuleError) as info:
            apply_event(state, kind, role, fields)
        assert info.value.code == expected


def test_advances_fold_apart_from_recovered_amounts() -> None:
    state = fold(S(), [
        ("payment", "office", {"amount_recovered": 8_000, "workers_paid": 2}, 1),
        ("advance_payment", "office", {"advance_source": "deposit", "amount_advanced": 30_000,
                                       "workers_advanced": 6}, 2),
        ("advance_payment", "office", {"advance_source": "general_contractor",
                                       "amount_advanced": 12_000}, 3),
        ("advance_payment", "office", {"advance_source": "deposit", "amount_advanced": 1_000}, 4),
    ])
    assert (state.amount_recovered, state.workers_paid) == (8_000, 2)
    assert (state.amount_advanced, state.workers_advanced) == (43_000, 6)
    assert dict(state.advanced_by_source) == {"deposit": 31_000, "general_contractor": 12_000}


def test_investigation_exit_and_reply_are_recorded() -> None:
    state = fold(S(), [
        ("investigation_record", "office", {"investigation_kind": "verification", **NOTE}, 1),
        ("investigation_record", "office", {"investigation_kind": "interview", **NOTE}, 2),
        ("investigation_outcome", "office", {"investigation_outcome": "in_procedure", **NOTE}, 3),
        ("refer_procedure", "office", {"referral_target": "劳动仲裁", **NOTE}, 4),
        ("reply", "office", {"note": "已告知向仲裁委申请", "reply_date": "2026-12-01"}, 5),
    ])
    assert (state.investigation_records, state.investigation_outcome) == (2, "in_procedure")
    assert (state.status, state.referral_target) == ("referred_procedure", "arbitration")
    assert (state.complainant_reply, state.reply_date, state.replied_at) == (
        "已告知向仲裁委申请", "2026-12-01", 5)


@pytest.mark.parametrize(("kind", "fields", "ok"), [
    ("refer", {"referral_target": "police"}, True),
    ("refer", {"referral_target": "派出所"}, True),
    ("refer", {"referral_target": "区劳动保障监察大队"}, True),  # an old name, still taken
    ("refer", {"referral_target": "随便写的单位"}, False),
    ("refer_procedure", {"referral_target": "court"}, True),
    ("refer_procedure", {"referral_target": "police"}, False),
    ("advance_payment", {"advance_source": "emergency_fund"}, True),
    ("advance_payment", {"advance_source": "bank"}, False),
    ("investigation_record", {"investigation_kind": "photo"}, False),
    ("investigation_outcome", {"investigation_outcome": "maybe"}, False),
    ("reply", {"reply_date": "2026-12-01"}, True),
    ("reply", {"reply_date": "2026-13-01"}, False),
    ("reply", {"reply_date": "明天"}, False),
])
def test_new_event_values(kind, fields, ok) -> None:
    if ok:
        check_new_event(kind, fields)
    else:
        with pytest.raises(CaseRuleError) as info:
            check_new_event(kind, fields)
        assert info.value.code == "invalid_value"
        assert info.value.details["path"].startswith("$.fields.")


def test_every_code_has_a_label_and_outcomes_are_distinct() -> None:
    assert set(cases.STATUS_LABELS) == set(cases.STATUSES)
    assert set(cases.case_labels.EVENT_LABELS) == set(cases.EVENT_KINDS)
    assert set(cases.LEVEL_LABELS) == set(cases.LEVELS)
    assert set(cases.OUTCOME_LABELS) == set(cases.FINAL_STATUSES)
    zh = [label[0] for label in cases.OUTCOME_LABELS.values()]
    assert len(set(zh)) == len(zh)
    assert cases.OUTCOME_LABELS["dismissed"][0] == "不予受理"
    assert cases.OUTCOME_LABELS["transferred"][0] == "转送有关部门"
    for code in ("ping_an_ban", "si_fa_suo", "police", "legal_aid", "arbitration", "court",
                 "industry_department"):
        assert code in cases.REFERRAL_TARGETS
    for kind, t in cases.TRANSITIONS.items():
        assert t.label_zh == cases.event_label(kind)


def test_labels_for_people() -> None:
    assert cases.status_label({"status": "accepted", "investigation_records": 1}) == "调查中"
    assert cases.status_label({"status": "accepted", "investigation_records": 1,
                               "investigation_outcome": "confirmed"}) == "已受理"
    assert cases.status_label({"status": "transferred"}, "en") == "Transferred to a department"
    assert cases.referral_label("si_fa_suo") == "司法所"
    assert cases.referral_label("某街道办") == "某街道办"  # old free text, shown as typed


def test_an_incident_case_is_due_for_acceptance_the_same_day() -> None:
    import datetime as dt

    from shared_schema.calendar import LOCAL, packaged
    from shared_schema.case_deadlines import deadlines

    cal = packaged()
    opened = int(dt.datetime(2026, 3, 2, 9, 0, tzinfo=LOCAL).timestamp() * 1000)  # a Monday
    later = opened + 6 * 3600 * 1000
    next_day = opened + 24 * 3600 * 1000
    plain = {"opened_at": opened, "received_at": opened, "status": "registered"}
    incident = {**plain, "incident_id": "i1", "collective_incident": True}
    assert deadlines(cal, plain, later).accept_due == "2026-03-09"
    same = deadlines(cal, incident, later)
    assert (same.accept_due, same.overdue, same.due_soon) == ("2026-03-02", False, True)
    assert deadlines(cal, incident, next_day).overdue
    accepted = deadlines(cal, {**incident, "status": "accepted", "accepted_at": later}, next_day)
    assert (accepted.accept_due, accepted.overdue) == ("2026-03-02", False)
