"""The office console's view-models, without a server or a client: filters
→ query parameters, review and conflict choices → request bodies, the case
transitions office and leader may take, and the dashboard series."""

from __future__ import annotations

import pytest

from field_app.ui import office_viewmodels as vm
from field_app.ui.i18n import STRINGS, missing_translations
from field_app.ui.viewmodels import UiError

CONFLICT = {"id": "c1", "entity": "site", "field": "contractor", "base_value": "原",
            "winner_value": "乙", "loser_value": "甲"}


def test_office_roles_only() -> None:
    assert vm.is_office("office") and vm.is_office("leader")
    for role in ("grid_officer", "sector_inspector", "admin", None, ""):
        assert not vm.is_office(role)


def test_review_filters_to_query() -> None:
    f = vm.ReviewFilters()
    assert f.params() == {"state": "submitted", "review_state": "pending"}
    f.review_state, f.village, f.kind = None, "v1", "construction"
    assert f.params() == {"state": "submitted", "village": "v1", "kind": "construction"}


def test_review_body_needs_a_comment_unless_approving() -> None:
    assert vm.review_body("approved", "") == {"state": "approved", "comment": ""}
    assert vm.review_body("rejected", " 照片不清 ") == {"state": "rejected", "comment": "照片不清"}
    with pytest.raises(UiError) as err:
        vm.review_body("has_issues", "  ")
    assert err.value.code == "comment_required"
    with pytest.raises(UiError):
        vm.review_body("maybe", "x")


def test_side_by_side_marks_changes() -> None:
    detail = {"inspection": {"answers": {"C01": {"answer": "yes"}, "C08": {"answer": 12}}},
              "previous": {"answers": {"C01": {"answer": "yes"}, "C08": {"answer": 10}}}}
    assert vm.side_by_side(detail) == [("C01", "yes", "yes", False), ("C08", "12", "10", True)]
    alone = vm.side_by_side({"inspection": {"answers": {"C01": {"answer": "no", "note": "缺"}}}})
    assert alone == [("C01", "no · 缺", "—", False)]


def test_conflict_choice_to_request_body() -> None:
    assert vm.resolve_body(CONFLICT, "winner") == {"choice": "winner"}
    assert vm.resolve_body(CONFLICT, "loser") == {"choice": "loser"}
    assert vm.resolve_body(CONFLICT, "custom", " 丙公司 ") == {"choice": "custom", "value": "丙公司"}
    # typed like the values in conflict
    assert vm.resolve_body({**CONFLICT, "winner_value": 40}, "custom", "42")["value"] == 42
    assert vm.resolve_body({**CONFLICT, "winner_value": 1.5}, "custom", "2.5")["value"] == 2.5
    assert vm.resolve_body({**CONFLICT, "winner_value": True}, "custom", "否")["value"] is False
    assert vm.resolve_body({**CONFLICT, "winner_value": None, "loser_value": 3}, "custom",
                           "4")["value"] == 4
    with pytest.raises(UiError) as err:
        vm.resolve_body(CONFLICT, "custom", "")
    assert err.value.code == "value_required"
    with pytest.raises(UiError):
        vm.resolve_body({**CONFLICT, "winner_value": 40}, "custom", "forty")
    with pytest.raises(UiError):
        vm.resolve_body(CONFLICT, "base")


def test_case_filters_to_query() -> None:
    assert vm.CaseFilters().params() == {}
    assert vm.CaseFilters(status="accepted", overdue=True).params() == {
        "status": "accepted", "overdue": "true"}


def test_allowed_transitions_office_vs_leader() -> None:
    waiting = {"status": "accepted", "level": "leading_group"}
    assert "approve_escalation" in vm.transitions_for(waiting, "leader")
    assert "return_escalation" in vm.transitions_for(waiting, "leader")
    assert "approve_escalation" not in vm.transitions_for(waiting, "office")
    township = {"status": "accepted", "level": "township"}
    assert "request_leading_group" in vm.transitions_for(township, "office")
    assert "request_leading_group" not in vm.transitions_for(township, "leader")
    resolved = {"status": "resolved", "level": "township"}
    assert "close" in vm.transitions_for(resolved, "office")
    assert vm.transitions_for(resolved, "leader") == ["note"]
    assert "extend" not in vm.transitions_for({**township, "extended": True}, "office")
    assert vm.transitions_for({"status": "registered", "level": "village"}, "office")[:1] == [
        "accept"]


def test_event_body_from_form() -> None:
    assert vm.event_body("payment", {"amount_recovered": "1,5".replace(",", ""),
                                     "workers_paid": "3", "note": ""}) == {
        "kind": "payment", "amount_recovered": 15.0, "workers_paid": 3}
    assert vm.event_body("close", {"evidence": "a b", "callback_note": "已回访"}) == {
        "kind": "close", "evidence": ["a", "b"], "callback_note": "已回访"}
    assert vm.event_fields("refer") == ("referral_target", "note")
    assert vm.event_fields("accept") == ("note",)


def test_dashboard_series() -> None:
    jan = 1767225600000  # 2026-01-01 08:00 +08
    cases = [
        {"case": {"status": "accepted", "amount_owed": 1000, "amount_recovered": 400,
                  "opened_at": jan}, "village_name": "梁滩村", "deadlines": {"overdue": True}},
        {"case": {"status": "registered", "amount_owed": 500, "opened_at": jan},
         "village_name": "梁滩村", "deadlines": {}},
        {"case": {"status": "closed", "amount_owed": 0, "opened_at": jan},
         "village_name": None},
    ]
    assert vm.cases_by_village_status(cases) == {
        "梁滩村": {"registered": 1, "accepted": 1}, "—": {"closed": 1}}
    assert vm.amounts_by_month(cases) == {"2026-01": (1500.0, 400.0)}
    assert [vm.is_overdue(c) for c in cases] == [True, False, False]
    projects = {"columns": [{"key": "gov_invested"}, {"key": "deposit"}, {"key": "account"}],
                "rows": [{"gov_invested": True, "deposit": True, "account": False},
                         {"gov_invested": True, "deposit": True, "account": None},
                         {"gov_invested": False, "deposit": False, "account": True}]}
    rates = vm.six_rates_by_kind(projects)
    assert rates["gov"]["deposit"] == 1.0 and rates["gov"]["account"] == 0.0
    assert rates["gov"]["real_name"] is None and rates["private"]["deposit"] == 0.0
    assert vm.inspections_vs_plan({"2026-01": {"totals": {"projects": 11,
                                                          "projects_inspected": 4}}}) == {
        "2026-01": (4, 11)}
    assert vm.months_back("2026-02", 3) == ["2025-12", "2026-01", "2026-02"]


def test_office_strings_complete() -> None:
    assert missing_translations() == []
    assert all(k in STRINGS for k in ("office.nav.review", "office.insp.approve",
                                      "office.conf.pick_winner", "office.export.download"))


def test_office_views_use_only_known_strings() -> None:
    import re
    from pathlib import Path

    from field_app.ui import office_views

    source = Path(office_views.__file__).read_text(encoding="utf-8")
    used = set(re.findall(r'\bt\("([a-z_.0-9]+)"', source))
    assert used and not sorted(k for k in used if k not in STRINGS)
