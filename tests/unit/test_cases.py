"""The wage-arrears case state machine, as tables."""

from __future__ import annotations

import pytest

from shared_schema.cases import (
    EVENT_KINDS,
    ROUTE_AMOUNT,
    ROUTE_WORKERS,
    TRANSITIONS,
    CaseRuleError,
    CaseState,
    allowed_kinds,
    apply_event,
    fold,
    initial_state,
    route_level,
)

SHA = "a" * 64
NOTE = {"note": "说明"}
REFER = {"note": "移送区监察支队", "referral_target": "district_inspectorate"}
CLOSE = {"evidence": [SHA], "callback_note": "回访工人，已足额领取"}


def S(status="registered", level="village", **kw) -> CaseState:
    return CaseState(status=status, level=level, **kw)


# (state, kind, role, fields, expected (status, level) or error code)
TRANSITION_TABLE = [
    # accept
    (S(), "accept", "grid_officer", {}, ("accepted", "village")),
    (S(), "accept", "sector_inspector", {}, ("accepted", "village")),
    (S(level="township"), "accept", "office", {}, ("accepted", "township")),
    (S(), "accept", "leader", {}, "role_not_allowed"),
    (S(), "accept", "admin", {}, "role_not_allowed"),
    (S("accepted"), "accept", "office", {}, "illegal_transition"),
    # dismiss
    (S(), "dismiss", "office", NOTE, ("dismissed", "village")),
    (S(), "dismiss", "office", {}, "missing_field"),
    (S(), "dismiss", "office", {"note": "   "}, "missing_field"),
    (S(), "dismiss", "grid_officer", NOTE, "role_not_allowed"),
    (S("accepted"), "dismiss", "office", NOTE, "illegal_transition"),
    # escalate
    (S(), "escalate", "grid_officer", NOTE, ("accepted", "township")),
    (S("accepted"), "escalate", "sector_inspector", NOTE, ("accepted", "township")),
    (S("accepted"), "escalate", "office", {}, "missing_field"),
    (S("accepted", "township"), "escalate", "office", NOTE, "illegal_transition"),
    (S("resolved"), "escalate", "office", NOTE, "illegal_transition"),
    # request_leading_group
    (S("accepted", "township"), "request_leading_group", "office", NOTE,
     ("accepted", "leading_group")),
    (S("accepted", "township"), "request_leading_group", "sector_inspector", NOTE,
     ("accepted", "leading_group")),
    (S("accepted", "township"), "request_leading_group", "grid_officer", NOTE,
     "role_not_allowed"),
    (S("accepted", "village"), "request_leading_group", "office", NOTE, "illegal_transition"),
    (S("registered", "township"), "request_leading_group", "office", NOTE,
     "illegal_transition"),
    # approve / return escalation: leader only
    (S("accepted", "leading_group"), "approve_escalation", "leader", {},
     ("accepted", "tackle_team")),
    (S("accepted", "leading_group"), "approve_escalation", "office", {}, "role_not_allowed"),
    (S("accepted", "leading_group"), "approve_escalation", "grid_officer", {},
     "role_not_allowed"),
    (S("accepted", "township"), "approve_escalation", "leader", {}, "illegal_transition"),
    (S("accepted", "leading_group"), "return_escalation", "leader", NOTE,
     ("accepted", "township")),
    (S("accepted", "leading_group"), "return_escalation", "leader", {}, "missing_field"),
    # refer
    (S("accepted", "tackle_team"), "refer", "office", REFER, ("referred", "district")),
    (S("accepted", "township"), "refer", "leader", REFER, ("referred", "district")),
    (S("accepted", "township"), "refer", "office", NOTE, "missing_field"),
    (S("accepted", "village"), "refer", "office", REFER, "illegal_transition"),
    (S("accepted", "township"), "refer", "grid_officer", REFER, "role_not_allowed"),
    # payment
    (S("accepted"), "payment", "grid_officer", {"amount_recovered": 5000},
     ("accepted", "village")),
    (S("accepted"), "payment", "office", {"workers_paid": 3}, ("accepted", "village")),
    (S("accepted"), "payment", "office", {}, "missing_field"),
    (S("accepted"), "payment", "office", {"amount_recovered": 0}, "missing_field"),
    (S("accepted"), "payment", "office", {"amount_recovered": -5, "workers_paid": 1},
     "negative_value"),
    (S("accepted"), "payment", "office", {"amount_recovered": 100, "workers_paid": -1},
     "negative_value"),
    (S(), "payment", "office", {"amount_recovered": 100}, "illegal_transition"),
    (S("accepted"), "payment", "leader", {"amount_recovered": 100}, "role_not_allowed"),
    # extend: once
    (S("accepted"), "extend", "office", NOTE, ("accepted", "village")),
    (S("accepted", extended=True), "extend", "leader", NOTE, "already_extended"),
    (S("accepted"), "extend", "grid_officer", NOTE, "role_not_allowed"),
    # resolve / reopen / close
    (S("accepted"), "resolve", "grid_officer", NOTE, ("resolved", "village")),
    (S("accepted"), "resolve", "office", {}, "missing_field"),
    (S(), "resolve", "office", NOTE, "illegal_transition"),
    (S("resolved"), "reopen", "office", NOTE, ("accepted", "village")),
    (S("resolved"), "reopen", "grid_officer", NOTE, "role_not_allowed"),
    (S("resolved"), "close", "office", CLOSE, ("closed", "village")),
    (S("resolved"), "close", "office", {"evidence": [SHA]}, "missing_field"),
    (S("resolved"), "close", "office", {"callback_note": "回访"}, "missing_field"),
    (S("resolved"), "close", "office", {**CLOSE, "evidence": []}, "missing_field"),
    (S("resolved"), "close", "grid_officer", CLOSE, "role_not_allowed"),
    (S(), "close", "office", CLOSE, "illegal_transition"),
    (S("accepted"), "close", "office", CLOSE, "illegal_transition"),
    # note: anything, anywhere, by anyone but admin
    (S("closed"), "note", "leader", NOTE, ("closed", "village")),
    (S("referred", "district"), "note", "grid_officer", NOTE, ("referred", "district")),
    (S(), "note", "office", {}, "missing_field"),
    (S(), "note", "admin", NOTE, "role_not_allowed"),
    # final states accept nothing but notes
    (S("closed"), "reopen", "office", NOTE, "illegal_transition"),
    (S("dismissed"), "accept", "office", {}, "illegal_transition"),
    (S("referred", "district"), "resolve", "office", NOTE, "illegal_transition"),
    # unknown kinds
    (S(), "approve", "leader", {}, "unknown_event_kind"),
    (S(), "status", "office", {"status": "closed"}, "unknown_event_kind"),
]


@pytest.mark.parametrize(("state", "kind", "role", "fields", "expected"), TRANSITION_TABLE)
def test_transition(state, kind, role, fields, expected) -> None:
    if isinstance(expected, str):
        with pytest.raises(CaseRuleError) as info:
            apply_event(state, kind, role, fields)
        assert info.value.code == expected
        assert info.value.details.get("kind", kind) == kind
    else:
        new = apply_event(state, kind, role, fields)
        assert (new.status, new.level) == expected


def test_role_error_names_allowed_roles() -> None:
    with pytest.raises(CaseRuleError) as info:
        apply_event(S("accepted", "leading_group"), "approve_escalation", "office", {})
    assert info.value.details["allowed_roles"] == ["leader"]


def test_missing_field_names_what_is_missing() -> None:
    with pytest.raises(CaseRuleError) as info:
        apply_event(S("resolved"), "close", "office", {"callback_note": "回访"})
    assert info.value.details["missing"] == ["evidence"]


# (state, role, expected allowed kinds)
ALLOWED = [
    (S(), "grid_officer", ["accept", "escalate", "note", "reply"]),
    (S(), "sector_inspector", ["accept", "escalate", "note", "reply"]),
    (S(), "office", ["accept", "dismiss", "escalate", "note", "transfer", "refer_procedure",
                     "reply"]),
    (S(), "leader", ["note"]),
    (S(), "admin", []),
    (S("accepted"), "grid_officer",
     ["escalate", "payment", "resolve", "note", "investigation_record", "investigation_outcome",
      "advance_payment", "reply"]),
    (S("accepted", "township"), "office",
     ["request_leading_group", "refer", "payment", "extend", "resolve", "note",
      "investigation_record", "investigation_outcome", "transfer", "refer_procedure",
      "advance_payment", "reply"]),
    (S("accepted", "leading_group"), "leader",
     ["approve_escalation", "return_escalation", "refer", "extend", "note"]),
    (S("accepted", "leading_group", extended=True), "leader",
     ["approve_escalation", "return_escalation", "refer", "note"]),
    (S("resolved"), "office", ["reopen", "close", "note", "reply"]),
    (S("closed"), "office", ["note", "reply"]),
    # a department's case: the village's grid officer supports, the department handles
    (S("accepted", "township", route="department"), "grid_officer",
     ["note", "investigation_record", "reply"]),
    (S("accepted", "township", route="department"), "sector_inspector",
     ["request_leading_group", "payment", "resolve", "note", "investigation_record",
      "investigation_outcome", "advance_payment", "reply"]),
]


@pytest.mark.parametrize(("state", "role", "expected"), ALLOWED)
def test_allowed_kinds(state, role, expected) -> None:
    assert allowed_kinds(state, role) == expected


@pytest.mark.parametrize("status", ["registered", "accepted", "resolved", "closed"])
@pytest.mark.parametrize("role", ["grid_officer", "sector_inspector", "office", "leader"])
def test_allowed_kinds_agree_with_apply_event(status: str, role: str) -> None:
    """Every kind offered applies (given its fields); every other kind is refused."""
    state = S(status)
    full = {**REFER, **CLOSE, "amount_recovered": 1.0, "investigation_kind": "interview",
            "investigation_outcome": "confirmed", "transfer_to": "区住建委",
            "advance_source": "deposit", "amount_advanced": 1.0}
    offered = allowed_kinds(state, role)
    for kind in EVENT_KINDS:
        if kind in offered:
            apply_event(state, kind, role, full)
        else:
            with pytest.raises(CaseRuleError):
                apply_event(state, kind, role, full)


# (fields of a new case, level it starts at)
ROUTES = [
    ({"village_id": "v1", "workers_owed": 3, "amount_owed": 20_000}, "village"),
    ({"village_id": "v1", "workers_owed": ROUTE_WORKERS - 1}, "village"),
    ({"village_id": "v1", "workers_owed": ROUTE_WORKERS}, "township"),
    ({"village_id": "v1", "amount_owed": ROUTE_AMOUNT - 1}, "village"),
    ({"village_id": "v1", "amount_owed": ROUTE_AMOUNT}, "township"),
    ({"village_id": "v1", "amount_owed": 99_999.99}, "village"),
    ({"village_id": "v1", "collective_risk": True}, "township"),
    ({"village_id": "v1", "collective_risk": False}, "village"),
    ({"village_id": "v1", "workers_owed": None, "amount_owed": None}, "village"),
    ({"workers_owed": 1}, "township"),  # no village: township
    ({"village_id": "", "workers_owed": 1}, "township"),
]


@pytest.mark.parametrize(("fields", "level"), ROUTES)
def test_route_level(fields, level) -> None:
    assert route_level(fields) == level
    assert initial_state(fields) == CaseState(status="registered", level=level, route="local")


def test_escalation_happy_path() -> None:
    events = [
        ("accept", "grid_officer", {}, 1),
        ("escalate", "grid_officer", NOTE, 2),
        ("request_leading_group", "office", NOTE, 3),
        ("approve_escalation", "leader", {}, 4),
        ("refer", "leader", REFER, 5),
    ]
    start = initial_state({"village_id": "v1", "workers_owed": 3})
    seen = []
    state = start
    for e in events:
        state = fold(state, [e])
        seen.append((state.status, state.level))
    assert seen == [
        ("accepted", "village"),
        ("accepted", "township"),
        ("accepted", "leading_group"),
        ("accepted", "tackle_team"),
        ("referred", "district"),
    ]
    assert fold(start, events) == state
    assert state.accepted_at == 1


def test_approve_escalation_is_the_leaders_alone() -> None:
    start = fold(initial_state({"village_id": "v1"}), [
        ("escalate", "grid_officer", NOTE, 1),
        ("request_leading_group", "sector_inspector", NOTE, 2),
    ])
    for role in ("grid_officer", "sector_inspector", "office", "admin"):
        with pytest.raises(CaseRuleError) as info:
            apply_event(start, "approve_escalation", role, {})
        assert info.value.code == "role_not_allowed"
    assert apply_event(start, "approve_escalation", "leader", {}).level == "tackle_team"


def test_payment_resolve_close_happy_path() -> None:
    state = fold(initial_state({"village_id": "v1", "workers_owed": 4}), [
        ("accept", "grid_officer", {}, 10),
        ("payment", "grid_officer", {"amount_recovered": 12_000.5, "workers_paid": 3}, 20),
        ("payment", "office", {"amount_recovered": 3_000}, 25),
        ("resolve", "grid_officer", {**NOTE, "workers_paid": 1}, 30),
        ("close", "office", CLOSE, 40),
    ])
    assert (state.status, state.level) == ("closed", "village")
    assert state.amount_recovered == 15_000.5
    assert state.workers_paid == 4
    assert (state.accepted_at, state.resolved_at, state.closed_at) == (10, 30, 40)


def test_fold_stops_at_the_first_illegal_event() -> None:
    with pytest.raises(CaseRuleError) as info:
        fold(S(), [("accept", "office", {}, 1), ("close", "office", CLOSE, 2)])
    assert info.value.code == "illegal_transition"
    assert info.value.details["status"] == "accepted"


def test_every_transition_names_known_statuses_and_roles() -> None:
    roles = {"grid_officer", "sector_inspector", "office", "leader"}
    for t in TRANSITIONS.values():
        assert set(t.roles) <= roles, t
        assert t.label_zh, t
