"""Risk warnings, case drafts and rectification from answers (shared_schema.risk),
and the v2 templates of #17 (template fidelity; v1 still loads)."""

from __future__ import annotations

import datetime as dt
import json
from importlib import resources

import pytest

from shared_schema import risk
from shared_schema.checklists import load_templates, missing_for_submit, template_for_site_kind

T = load_templates()
C1, C2 = T["tpl-construction-v1"], T["tpl-construction-v2"]
E1, E2 = T["tpl-enterprise-v1"], T["tpl-enterprise-v2"]
DAY = dt.date(2026, 12, 3)


def a(answer, value=None):
    return {"answer": answer, **({"value": value} if value is not None else {})}


@pytest.mark.parametrize("answers, level, codes", [
    ({}, "none", []),
    ({"C24": a({"interviewed": 6, "reporting_arrears": 0}), "C25": a("no"), "C06": a("yes")},
     "none", []),
    ({"C24": a({"interviewed": 6, "reporting_arrears": 2})}, "medium", ["arrears_reported"]),
    ({"C24": a({"interviewed": 12, "reporting_arrears": 10})}, "high", ["arrears_reported"]),
    ({"C25": a("yes")}, "high", ["collective_claim_signs"]),
    ({"C24": a({"interviewed": 6, "reporting_arrears": 1}), "C25": a("yes")}, "high",
     ["arrears_reported", "collective_claim_signs"]),
    ({"C06": a("no")}, "medium", ["labour_cost_not_paid"]),
    ({"E11": a({"workers_owed": 3, "amount_owed": 24000})}, "medium", ["workers_owed"]),
    ({"E11": a({"workers_owed": 0, "amount_owed": 5000})}, "medium", ["workers_owed"]),
    ({"E11": a({"workers_owed": 0, "amount_owed": 0})}, "none", []),
    ({"E11": a({"workers_owed": 14, "amount_owed": 236000})}, "high", ["workers_owed"]),
    ({"E14": a("yes")}, "medium", ["business_distress"]),
    ({"E14": a("no")}, "none", []),
])
def test_assess_gives_level_and_reasons(answers, level, codes) -> None:
    found = risk.assess(answers)
    assert found.level == level
    assert [r.code for r in found.reasons] == codes
    assert found.risky == (level != "none")


def test_reasons_carry_counts_and_amounts() -> None:
    found = risk.assess({"E11": a({"workers_owed": 3, "amount_owed": 24000})})
    assert found.reasons[0].as_dict() == {"code": "workers_owed", "item_code": "E11",
                                          "level": "medium", "workers": 3, "amount": 24000.0}


def test_case_draft_prefills_site_employer_workers_amount() -> None:
    factory = {"id": "s2", "kind": "factory", "name": "二社区服装厂", "address": "二社区1号"}
    draft = risk.case_draft(factory, {"E11": a({"workers_owed": 3, "amount_owed": 24000},
                                               "2026-09至2026-10")})
    assert draft == {"site_id": "s2", "employer": "二社区服装厂", "employer_address": "二社区1号",
                     "sector": "non_construction", "source": "patrol", "workers_owed": 3,
                     "amount_owed": 24000.0, "work_done": "欠薪期间：2026-09至2026-10"}
    project = {"id": "s1", "kind": "construction", "name": "安置房", "contractor": "某建司"}
    draft = risk.case_draft(project, {"C24": a({"interviewed": 12, "reporting_arrears": 11})})
    assert (draft["employer"], draft["sector"], draft["workers_owed"]) == (
        "某建司", "construction", 11)
    assert draft["collective_risk"] is True and "amount_owed" not in draft


def test_rectification_uses_the_typed_deadline_or_fifteen_days() -> None:
    answers = {"C22": a("no"), "C25": a("no"), "C26": a("补设维权告示牌", "2026-12-20")}
    fix = risk.rectification(C2, answers, DAY)
    assert fix == risk.Rectification(("C22",), "补设维权告示牌", "2026-12-20")
    fix = risk.rectification(C2, {"C22": a("no"), "C26": a("无")}, DAY)
    assert fix.items == ("C22",) and fix.text is None and fix.due_date == "2026-12-18"
    assert not risk.rectification(C2, {"C22": a("yes"), "C26": a("无")}, DAY).needed
    # the enterprise checklist's own rectification item (v2: E17)
    fix = risk.rectification(E2, {"E06": a("no"), "E17": a("补发工资", "2027-01-05")}, DAY)
    assert fix == risk.Rectification(("E06",), "补发工资", "2027-01-05")


def test_recheck_and_overdue() -> None:
    assert risk.recheck(C2, ["C22", "C12"], {"C22": a("yes"), "C12": a("yes")}) == ()
    assert risk.recheck(C2, ["C22", "C12"], {"C22": a("no"), "C12": a("yes")}) == ("C22",)
    assert risk.recheck(C2, ["C22"], {}) == ("C22",)  # not checked again: still open
    assert not risk.overdue("2026-12-03", DAY)
    assert risk.overdue("2026-12-02", DAY)
    assert not risk.overdue(None, DAY)


# --- templates (#17 template fidelity) -----------------------------------------------------

def test_new_inspections_use_v2_and_v1_still_loads() -> None:
    assert template_for_site_kind("construction") is C2
    assert template_for_site_kind("factory") is E2
    # a stored v1 inspection still renders and is still judged by v1's items
    assert C1.item("C26") is not None and C1.item("C27") is None
    answers = {i.code: a("yes") for i in C1.items if i.good}
    assert all(m["item_code"] != "C27" for m in missing_for_submit(C1, answers, {}))


def test_v2_keeps_every_v1_item_and_its_basis() -> None:
    for old, new in ((C1, C2), (E1, E2)):
        for item in old.items:
            now = new.item(item.code)
            assert now is not None, item.code
            assert (now.basis is None) == (item.basis is None), item.code
            assert now.answer == item.answer, item.code  # a stored answer stays valid


def test_new_items_have_a_legal_basis() -> None:
    assert "两金" in (C2.item("C27").basis or "")
    assert C2.item("C27").answer == "yes_no_exempt" and C2.item("C27").value.type == "number"
    assert "《工资支付暂行规定》第七条" in (E2.item("E16").basis or "")
    assert E2.item("E15").label.zh == "公示欠薪投诉电话" and E2.item("E15").basis
    assert "《最低工资规定》" in (E2.item("E10").basis or "")
    assert "第二十六条" in (E2.item("E10").basis or "")


def test_patrols_do_not_cite_the_two_inspector_rule() -> None:
    for name in ("construction.v2.json", "enterprise.v2.json"):
        text = resources.files("shared_schema").joinpath("templates", name).read_text("utf-8")
        assert "第十六条" not in text, name
    for tpl in (C2, E2):
        codes = {h.code: h for h in tpl.header}
        assert codes["inspectors"].basis is None
        assert codes["co_inspectors"].field == "inspection.co_inspectors"


def test_v2_headers_say_where_they_are_kept() -> None:
    c = {h.code: h.field for h in C2.header}
    assert c["subcontractors"] == "inspection.subcontractors"
    assert c["developer"] == "site.builder"
    e = {h.code: h.field for h in E2.header}
    assert e["credit_code"] == "site.credit_code"
    assert e["person_in_charge"] == "site.legal_representative"
    # v1's header is as it was
    raw = json.loads(resources.files("shared_schema").joinpath(
        "templates", "construction.v1.json").read_text("utf-8"))
    assert [h["code"] for h in raw["header"]] == [h.code for h in C1.header]
