"""The office console's view-models: filters → query parameters, review and
conflict choices → request bodies, the case transitions office and leader
may take, the dashboard series (plain values); and the intake form, the
registry and a site's history, the audit log, closure with evidence and a
leader's escalation approval against the real server (``sync-server serve``
on 127.0.0.1 over the seeded demo, through ``OfficeClient``)."""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import re
import typing
from pathlib import Path
from typing import Any, Iterator

import httpx
import msgspec
import pytest
from PIL import Image

from field_app.core.errors import DeviceError, ServerError
from field_app.ui.i18n import STRINGS, missing_translations
from field_app.ui.kit.rules import CHINA, UiError
from field_app.ui.office import viewmodels as vm
from field_app.ui.office.client import OfficeClient
from server.support import device_secret
from shared_schema.ids import uuid7
from sync_server.demo import DEMO_PASSWORD
from sync_server.domain.office.audit import ACTIONS
from shared_schema.office import (
    AuditRow,
    CaseEventRequest,
    CaseIntake,
    CaseView,
    ConflictView,
    InspectionDetail,
    IntakeSource,
    ResolveRequest,
    ReviewRequest,
    TimelineEvent,
)

from .conftest import DemoServer

CONFLICT = {"id": "c1", "entity": "site", "entity_id": "s1", "field": "contractor",
            "status": "open", "base_value": "原", "winner_value": "乙", "loser_value": "甲",
            "winner": {}, "loser": {}}


def conflict(**values: Any) -> ConflictView:
    """A conflict as the console decodes it from the server."""
    return msgspec.convert({**CONFLICT, **values}, ConflictView)


def intake(values: dict[str, Any]) -> CaseIntake:
    return msgspec.convert(values, CaseIntake)


def audit_row(**values: Any) -> AuditRow:
    """An audit row as the console decodes it (who and when do not matter here)."""
    return AuditRow(**{"id": "a1", "at": 0, "user_id": "u1", "username": "office1",
                       "role": "office", "device_id": "d1", **values})


def detail_of(raw: dict[str, Any]) -> InspectionDetail:
    """An inspection's detail as the console decodes it from the server."""
    return msgspec.convert({"author": {}, **raw}, InspectionDetail)


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
    assert vm.review_body("approved", "") == ReviewRequest(state="approved", comment="")
    assert vm.review_body("rejected", " 照片不清 ") == ReviewRequest(state="rejected",
                                                                  comment="照片不清")
    with pytest.raises(UiError) as err:
        vm.review_body("has_issues", "  ")
    assert err.value.code == "comment_required"
    with pytest.raises(UiError):
        vm.review_body("maybe", "x")


def test_side_by_side_marks_changes() -> None:
    detail = {"inspection": {"answers": {"C01": {"answer": "yes"}, "C08": {"answer": 12}}},
              "previous": {"answers": {"C01": {"answer": "yes"}, "C08": {"answer": 10}}}}
    assert vm.side_by_side(detail_of(detail)) == [("C01", "yes", "yes", False),
                                                  ("C08", "12", "10", True)]
    alone = vm.side_by_side(detail_of(
        {"inspection": {"answers": {"C01": {"answer": "no", "note": "缺"}}}}))
    assert alone == [("C01", "no · 缺", "—", False)]


def test_review_page_shows_questions_answers_in_words_and_failures() -> None:
    """Issue 16: each item as its question, 是/否/不适用 and numbers with
    units, failed answers flagged and counted, photos beside their item."""
    from field_app.ui.i18n import Translator

    raw = {
        "inspection": {"template_id": "construction.v1", "answers": {
            "C01": {"answer": "yes"}, "C02": {"answer": "no", "note": "未提供保函"},
            "C04": {"answer": "na"}, "C07": {"answer": "yes", "value": 50000},
            "C08": {"answer": 12}, "C11": {"answer": "yes"},
            "C24": {"answer": {"interviewed": 6, "reporting_arrears": 2}}}},
        "previous": {"answers": {"C01": {"answer": "yes"}, "C08": {"answer": 10}}},
        "site": {"kind": "construction"},
        "photos": [{"id": "p1", "sha256": "a" * 64, "item_code": "C08", "received": True},
                   {"id": "p2", "sha256": "b" * 64, "item_code": None, "received": True}]}
    detail = detail_of(raw)
    rows = {r.code: r for r in vm.answer_rows(detail, Translator("zh"))}
    assert list(rows) == ["C01", "C02", "C04", "C07", "C08", "C11", "C24"]  # checklist order
    assert rows["C08"].question == "现场在岗人数" and rows["C08"].answer == "12 人"
    assert rows["C08"].previous == "10 人" and rows["C08"].changed
    assert rows["C08"].photos == ("a" * 64,)
    assert rows["C01"].answer == "是" and not rows["C01"].failed and not rows["C01"].changed
    assert rows["C02"].answer == "否 · 备注：未提供保函" and rows["C02"].failed
    assert rows["C04"].answer == "不适用" and not rows["C04"].failed
    assert rows["C07"].answer == "是 · 保证金或保函金额：50,000 元"
    assert rows["C11"].failed  # 有无未登记人员进场: yes is the bad answer
    assert rows["C24"].answer == "访谈工人数 6 人 · 其中反映欠薪人数 2 人" and rows["C24"].failed
    assert rows["C02"].group == "资金与担保"
    assert sum(r.failed for r in rows.values()) == 3
    assert [p.sha256 for p in vm.loose_photos(detail)] == ["b" * 64]
    en = {r.code: r for r in vm.answer_rows(detail, Translator("en"))}
    assert en["C04"].answer == "N/A" and en["C08"].answer == "12 people"
    for r in rows.values():  # no raw answer codes left
        assert not re.search(r"\b(yes|no|na)\b|[a-z_]+:", r.answer), r


#: What an office screen must never show (issue 16).
RAW = re.compile(r"[a-z_]+\.[a-z_]+|\b[a-z]+_[a-z_]+\b|\brev \d|\b(patrol|platform|hotline|"
                 r"pending|approved|registered|accepted|township|village|winner|office)\b|"
                 r"[0-9a-f]{8}-")


def test_keys_and_codes_in_words() -> None:
    """Issue 16: field names from the shared label table, codes as labels,
    ids as names; audit details, conflict values and history in words."""
    from field_app.ui.i18n import Translator
    from shared_schema.entities import ENTITY_TYPES
    from shared_schema.field_labels import ENTITY_LABELS, FIELD_LABELS, field_label

    t = Translator("zh")
    assert vm.field_name("site", "contact_phone", t) == "联系电话"
    assert vm.field_name("inspection", "answers.C08", t) == "C08 现场在岗人数"
    assert vm.field_name("site", "brand_new_field", t) == "其他字段"
    for entity in ("site", "inspection", "case", "case_event"):  # every field has a label
        assert entity in ENTITY_LABELS
        for name in ENTITY_TYPES[entity].__struct_fields__:
            assert field_label(entity, name) != "其他字段", (entity, name)
        assert set(FIELD_LABELS[entity]) <= set(ENTITY_TYPES[entity].__struct_fields__) | {
            "amount_recovered", "workers_paid"}
    v = "ad7142ae-0000-7000-8000-000000000001"
    assert vm.value_words("site", "village_id", v, t, {v: "梁滩村"}) == "梁滩村"
    assert vm.value_words("case", "source", "national_platform", t) == "全国根治欠薪线索反映平台"
    assert vm.value_words("case", "status", "accepted", t) == "已受理"
    assert vm.value_words("site", "status", "active", t) == "在建/在营"
    assert vm.value_words("site", "kind", "construction", t) == "工程建设项目"
    assert vm.value_words("site", "gov_invested", True, t) == "是"
    assert vm.value_words("inspection", "answers.C02", {"answer": "no"}, t) == "否"
    review = audit_row(**{"action": "review", "entity": "inspection", "details": {
        "site_id": v, "from_state": "pending", "to_state": "approved", "comment": "好",
        "registry_updated": True, "hlc": "0000000000001-0000-dev"}})
    assert vm.audit_details(review, t) == \
        "审核结论：待审核 → 审核通过 · 审核意见：好 · 更新场所台账：是"
    moved = audit_row(**{"action": "case_transition", "entity": "case", "details": {
        "kind": "accept", "from_status": "registered", "to_status": "accepted",
        "from_level": "township", "to_level": "township", "note": "已联系"}})
    assert vm.audit_details(moved, t) == \
        "办理事项：受理 · 状态：已登记 → 已受理 · 层级：镇级 · 备注：已联系"
    resolved = audit_row(**{"action": "resolve_conflict", "entity": "site", "details": {
        "field": "contact_phone", "choice": "winner", "value": "13800000002",
        "conflict_id": v}})
    assert vm.audit_details(resolved, t) == \
        "字段：联系电话 · 处理方式：采用当前值 · 采用值：13800000002"
    intake = audit_row(**{"action": "case_intake", "entity": "case", "details": {
        "source": "walk_in", "level": "village", "village_id": v, "title": "来访"}})
    assert vm.audit_details(intake, t, {v: "梁滩村"}) == \
        "案件：来访 · 来源：来访 · 层级：村级 · 村（社区）：梁滩村"
    for row in (review, moved, resolved, intake):
        assert not RAW.search(vm.audit_details(row, t)), row


def test_conflict_choice_to_request_body() -> None:
    assert vm.resolve_body(conflict(), "winner") == ResolveRequest(choice="winner")
    assert vm.resolve_body(conflict(), "loser") == ResolveRequest(choice="loser")
    assert vm.resolve_body(conflict(), "custom", " 丙公司 ") == ResolveRequest(choice="custom",
                                                                            value="丙公司")
    assert msgspec.json.encode(vm.resolve_body(conflict(), "winner")) == b'{"choice":"winner"}'
    # typed like the values in conflict
    assert vm.resolve_body(conflict(winner_value=40), "custom", "42").value == 42
    assert vm.resolve_body(conflict(winner_value=1.5), "custom", "2.5").value == 2.5
    assert vm.resolve_body(conflict(winner_value=True), "custom", "否").value is False
    assert vm.resolve_body(conflict(winner_value=None, loser_value=3), "custom",
                           "4").value == 4
    with pytest.raises(UiError) as err:
        vm.resolve_body(conflict(), "custom", "")
    assert err.value.code == "value_required"
    with pytest.raises(UiError):
        vm.resolve_body(conflict(winner_value=40), "custom", "forty")
    with pytest.raises(UiError):
        vm.resolve_body(conflict(), "base")


def test_case_filters_to_query() -> None:
    assert vm.CaseFilters().params() == {}
    assert vm.CaseFilters(status="accepted", overdue=True).params() == {
        "status": "accepted", "overdue": "true"}
    assert vm.CaseFilters(q=" 物流 ").params() == {"q": "物流"}


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
                                     "workers_paid": "3", "note": ""}) == CaseEventRequest(
        kind="payment", amount_recovered=15.0, workers_paid=3)
    assert vm.event_body("close", {"evidence": "a b", "callback_note": "已回访"}) == (
        CaseEventRequest(kind="close", evidence=["a", "b"], callback_note="已回访"))
    assert vm.event_fields("refer") == ("referral_target", "note")
    assert vm.event_fields("accept") == ("note",)


def test_dashboard_series() -> None:
    jan = 1767225600000  # 2026-01-01 08:00 +08
    cases = [msgspec.convert(raw, CaseView) for raw in (
        {"case": {"status": "accepted", "amount_owed": 1000, "amount_recovered": 400,
                  "opened_at": jan}, "village_name": "梁滩村", "deadlines": {"overdue": True}},
        {"case": {"status": "registered", "amount_owed": 500, "opened_at": jan},
         "village_name": "梁滩村", "deadlines": {}},
        {"case": {"status": "closed", "amount_owed": 0, "opened_at": jan},
         "village_name": None, "deadlines": {}},
    )]
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


def test_chart_axes_have_round_ticks_and_percentages_stop_at_100() -> None:
    assert vm.nice_scale(23.6) == (25.0, 5.0)
    assert vm.nice_scale(7, integer=True) == (8.0, 2.0)
    assert vm.nice_scale(3, integer=True) == (3.0, 1.0)
    assert vm.nice_scale(0, integer=True) == (5.0, 1.0)
    assert vm.nice_scale(36.45) == (40.0, 10.0)
    assert vm.nice_scale(1234) == (1250.0, 250.0)
    for top in (0.3, 1, 9.9, 17, 99.5, 101, 4321):
        max_y, step = vm.nice_scale(top)
        assert max_y >= top and max_y - step < top
        assert step / 10 ** __import__("math").floor(__import__("math").log10(step)) in (
            1, 2, 2.5, 5)
    assert vm.ticks_of(25.0, 5.0) == [0, 5, 10, 15, 20, 25]
    assert vm.percent(1.25) == 100 and vm.percent(0.5) == 50 and vm.percent(None) == 0
    assert vm.percent(-0.1) == 0


def test_overdue_panel_counts_and_most_overdue() -> None:
    def item(cid: str, village: str | None, status: str, left: int, overdue: bool,
             accept: str = "2026-01-08", conclude: str | None = None) -> CaseView:
        return msgspec.convert({"case": {"id": cid, "title": f"案件{cid}", "status": status},
                                "village_name": village,
                                "deadlines": {"accept_due": accept, "conclude_due": conclude,
                                              "overdue": overdue, "due_soon": not overdue,
                                              "working_days_left": left}}, CaseView)

    late = [item("a", "梁滩村", "registered", -3, True),
            item("b", "梁滩村", "accepted", -40, True, conclude="2026-04-01"),
            item("c", None, "registered", 0, True, accept="2026-01-09"),  # only a weekend since
            item("d", "双碑村", "registered", -3, True, accept="2026-01-07")]
    soon = [item("e", "双碑村", "registered", 2, False), item("f", "梁滩村", "accepted", 0, False)]
    panel = vm.OverduePanel.build(late, soon)
    assert (panel.overdue, panel.due_soon) == (4, 2)
    assert panel.by_village == {"梁滩村": (2, 1), "双碑村": (1, 1), "—": (1, 0)}
    # most overdue first; a tie goes to the earlier due date
    assert [(r.case_id, r.working_days_overdue, r.due) for r in panel.top] == [
        ("b", 40, "2026-04-01"), ("d", 3, "2026-01-07"), ("a", 3, "2026-01-08"),
        ("c", 0, "2026-01-09")]
    assert panel.top[0].title == "案件b" and panel.top[0].village == "梁滩村"
    assert panel.top[3].village == "—"
    # the server's totals win over a page's length; the list is cut to the few
    cut = vm.OverduePanel.build(late, soon, overdue_total=12, due_soon_total=7, top=2)
    assert (cut.overdue, cut.due_soon) == (12, 7) and [r.case_id for r in cut.top] == ["b", "d"]
    assert len(vm.OverduePanel.build(late * 3, []).top) == vm.OverduePanel.TOP
    empty = vm.OverduePanel.build([], [])
    assert (empty.overdue, empty.due_soon, empty.by_village, empty.top) == (0, 0, {}, [])


def test_office_strings_complete() -> None:
    assert missing_translations() == []
    assert all(k in STRINGS for k in ("office.nav.review", "office.insp.approve",
                                      "office.conf.pick_winner", "office.export.download"))


def test_office_views_use_only_known_strings() -> None:
    import re

    from field_app.ui.office import views

    source = "\n".join(p.read_text(encoding="utf-8")
                       for p in sorted(Path(views.__file__).parent.glob("*.py")))
    used = set(re.findall(r'\bt\("([a-z_.0-9]+)"', source))
    assert used and not sorted(k for k in used if k not in STRINGS)


# --------------------------------------------------------------------------------------
# Intake, registry, audit, closure with evidence: against the real server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    srv = DemoServer(tmp_path_factory.mktemp("office-vm"))
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def client_for(server: DemoServer, username: str) -> OfficeClient:
    token = httpx.post(f"{server.url}/api/v1/auth/login", json={
        "username": username, "password": DEMO_PASSWORD, "device_id": uuid7(),
        "device_secret": device_secret(username), "device_name": f"pytest-{username}"}
    ).json()["token"]
    return OfficeClient(server.url, token)


@pytest.fixture
def office(server: DemoServer) -> Iterator[OfficeClient]:
    client = client_for(server, "office1")
    yield client
    client.close()


@pytest.fixture
def leader(server: DemoServer) -> Iterator[OfficeClient]:
    client = client_for(server, "leader1")
    yield client
    client.close()


def test_console_session_has_its_own_login_and_token(server: DemoServer, tmp_path: Path) -> None:
    """The console logs in with its own device identity (kept in its folder),
    holds the token itself, loads the villages' names, refuses field accounts,
    and its logout revokes the token on the server."""
    from field_app.ui.office.shell import OfficeSession

    session = OfficeSession(tmp_path / "console")
    with pytest.raises(UiError) as err:
        session.login(server.url, "grid1", DEMO_PASSWORD)
    assert err.value.code == "office_only" and not session.logged_in
    user = session.login(server.url + "/", "office1", DEMO_PASSWORD)
    assert user.role == "office" and session.logged_in and session.server_url == server.url
    ident = (tmp_path / "console" / "console.json").read_text()
    assert session.identity()[0] in ident  # the same id on every login of this console
    assert session.villages and all(name for name in session.villages.values())
    client = session.client()
    try:
        assert client.sites(limit=1).page.total > 0
    finally:
        client.close()
    token = session.token
    session.logout()
    assert not session.logged_in
    gone = httpx.get(f"{server.url}/api/v1/office/sites",
                     headers={"Authorization": f"Bearer {token}"})
    assert gone.status_code == 401
    with pytest.raises(UiError):
        session.client()


class NoServer:
    """A client that fails the test if the form calls it."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the form called the server ({name}) with invalid input")


def hotline_form(title: str, **values: Any) -> vm.IntakeForm:
    form = vm.IntakeForm()
    for name, value in {"title": title, "employer": "某装卸队(演示)", "workers_owed": "6",
                        "amount_owed": "56,000", "complainant_name": "钱某某(演示)",
                        "complainant_phone": "13800007788", **values}.items():
        form.set(name, value)
    return form


def test_intake_sources_and_audit_actions_match_the_server() -> None:
    assert set(vm.INTAKE_SOURCES) == set(typing.get_args(IntakeSource))
    assert vm.AUDIT_ACTIONS == ACTIONS
    for key in ([f"source.{s}" for s in vm.INTAKE_SOURCES]
                + [f"office.audit.action.{a}" for a in vm.AUDIT_ACTIONS]):
        assert key in STRINGS and all(STRINGS[key]), key


def test_one_case_source_list_for_phone_office_and_server() -> None:
    """Issue 16: the phone's case form, the office intake and the server take
    their codes from shared_schema.case_sources; an old phone's stored code
    reads as the same channel, and no screen shows a code."""
    from field_app.ui.field import viewmodels as phone
    from field_app.ui.i18n import Translator
    from shared_schema import case_sources as cs
    from sync_server.demo import DEMO_CASES, DEMO_MORE_CASES
    from shared_schema.office import SOURCE_LABELS

    assert set(typing.get_args(IntakeSource)) == set(cs.SOURCE_CODES) == set(vm.INTAKE_SOURCES)
    assert set(phone.CASE_SOURCES) <= set(cs.SOURCE_CODES)
    assert SOURCE_LABELS == {k: zh for k, (zh, _) in cs.CASE_SOURCES.items()}
    for case in (*DEMO_CASES, *DEMO_MORE_CASES):  # the demo's stored codes are in the list
        code = case[5] if len(case) == 6 else case[1]
        assert code in cs.SOURCE_CODES, case
    zh, en = Translator("zh"), Translator("en")
    for code in (*cs.SOURCE_CODES, *cs.LEGACY_SOURCES):
        assert zh(f"source.{code}") == cs.source_label(code) != code
        assert en(f"source.{code}") == cs.source_label(code, "en")
    assert cs.source_label("platform") == "全国根治欠薪线索反映平台" == cs.source_label(
        "national_platform")
    assert cs.source_label("union") == "工会" and cs.source_label("monitoring") == "农民工工资支付监控预警平台"
    assert cs.source_label("hotline") == "镇投诉电话" and cs.source_label("walk_in") == "来访"
    assert cs.source_label("wechat") == "其他来源" and cs.source_label(None) == "—"
    assert cs.codes_for("national_platform") == ("national_platform", "platform")


def test_intake_registers_a_hotline_case(office: OfficeClient) -> None:
    form = hotline_form("12333来电：物流园装卸工欠薪(VM)", received_at="2026-01-05 09:30")
    detail = form.submit(office)
    assert detail is not None and form.created is detail
    case = detail.case
    assert case["source"] == "12333" and case["sector"] == "construction"
    assert case["amount_owed"] == 56000 and case["workers_owed"] == 6
    assert case["complainant_phone"] == "13800007788"
    assert case["opened_at"] == vm.parse_local_time("2026-01-05 09:30")
    assert case["level"] == "township"  # no village named: the township handles it
    assert form.values == vm.blank_intake() and not form.errors  # a fresh form for the next call
    listed = office.cases(source="12333").items
    assert case["id"] in {c.case["id"] for c in listed}


def test_intake_routes_a_small_project_case_to_its_department(office: OfficeClient) -> None:
    # #17: 谁主管谁负责 — a construction project's case, however small, is its department's
    project = office.sites(q="一纵线").items[0].site
    form = hotline_form("12345来电：小额欠薪(VM)", source="12345", workers_owed="2",
                        amount_owed="3000", village_id=project["village_id"],
                        site_id=project["id"], sector="construction")
    detail = form.submit(office)
    assert detail is not None
    assert detail.case["level"] == "township" and detail.case["site_id"] == project["id"]
    assert detail.case["route_reason"] == "construction"
    assert detail.first_receiver_name  # 首问负责: the office user who took the call


def test_intake_keeps_every_value_on_a_server_refusal(office: OfficeClient) -> None:
    form = hotline_form("12333来电：时间填错(VM)", received_at="2099-01-01 09:00")
    typed = dict(form.values)
    assert form.submit(office) is None
    err = form.errors["received_at"]
    assert err.code == "invalid_value" and "received_at" in err.message  # the server's words
    assert form.values == typed and form.created is None
    # an unknown village: the server's own check, shown beside the village
    form.set("received_at", "")
    form.set("village_id", "no-such-village")
    assert form.submit(office) is None
    assert form.errors["village_id"].code == "unknown_village"
    assert form.values["title"] == "12333来电：时间填错(VM)"
    assert not [c for c in office.cases(source="12333").items
                if c.case.get("title") == "12333来电：时间填错(VM)"]
    # fixed, the same form goes through
    form.set("village_id", None)
    assert form.submit(office) is not None


def test_intake_checks_what_it_can_before_calling() -> None:
    form = hotline_form("", employer="", amount_owed="五万", period_from="2025-13",
                        received_at="昨天", source="fax")
    assert form.submit(NoServer()) is None
    assert {k: e.code for k, e in form.errors.items()} == {
        "title": "title_or_employer", "amount_owed": "not_a_number",
        "period_from": "month_format", "received_at": "datetime_format", "source": "required"}
    assert form.values["amount_owed"] == "五万"
    for e in form.errors.values():
        assert f"err.{e.code}" in STRINGS


def test_server_error_details_name_the_field() -> None:
    fields = vm.IntakeForm.FIELDS
    assert vm.error_field({"path": "$.amount_owed"}, fields) == "amount_owed"
    assert vm.error_field({"field": "workers_owed"}, fields) == "workers_owed"
    assert vm.error_field({"entity": "case", "missing": ["title|employer"]}, fields) == "title"
    assert vm.error_field({"village_id": "x"}, fields) == "village_id"
    assert vm.error_field({"path": "$.nope"}, fields) is None
    form = vm.IntakeForm()
    form.show_error(ServerError("invalid_body", "Expected `float | null`", status=400,
                                path="$.amount_owed"))
    assert form.errors["amount_owed"].code == "invalid_body" and form.general is None
    form.show_error(ServerError("forbidden", "a leader may not register cases", status=403))
    assert form.general is not None and form.general.code == "forbidden"


def test_registry_list_filters_and_search(office: OfficeClient) -> None:
    reg = vm.RegistryVM()
    reg.load(office)
    assert reg.total == len(reg.items) > 10
    assert [i.site["name"] for i in reg.items] == sorted(i.site["name"] for i in reg.items)
    reg.filters.kind = "construction"
    reg.load(office)
    assert reg.items and {i.site["kind"] for i in reg.items} == {"construction"}
    village = reg.items[0].site["village_id"]
    reg.filters = vm.RegistryFilters(village=village)
    assert reg.filters.params() == {"village": village}
    reg.load(office)
    assert {i.site["village_id"] for i in reg.items} == {village}
    assert all(i.village_name for i in reg.items)
    reg.filters = vm.RegistryFilters(q=" 一纵线 ")
    reg.load(office)
    assert [i.site["name"] for i in reg.items] == ["一纵线建设"]
    assert reg.items[0].open_cases >= 1  # the demo case on it
    with pytest.raises(ServerError) as err:
        office.sites(kind="shop")
    assert err.value.code == "invalid_parameter"


def test_site_detail_registry_and_history(office: OfficeClient) -> None:
    site = office.sites(q="一纵线").items[0].site
    detail = vm.SiteDetailVM(site["id"])
    detail.load(office)
    assert detail.site["name"] == "一纵线建设"
    assert detail.history and detail.history[0].rev >= detail.history[-1].rev  # newest first
    assert {h.field for h in detail.history} >= {"name", "contractor"}
    assert all(h.at_ms for h in detail.history)
    assert vm.six_status(detail.site) == {k: None for k in vm.SIX_SYSTEMS}  # nothing approved
    assert vm.six_score(detail.site) == (0, 0)
    detail.registry_only = True
    detail.load(office)
    assert all(h.registry for h in detail.history)
    from field_app.ui.i18n import Translator

    t = Translator("zh")
    line = vm.HistoryLine("six_systems", 3, {"real_name": True, "deposit": False}, None, "o", True)
    assert vm.history_value(line, t) == "实名制管理：是 · 工资保证金：否"
    when = vm.HistoryLine("last_inspected_at", 4, 1767225600000, None, "o", True)
    assert vm.history_value(when, t) == "2026-01-01 08:00"
    village = vm.HistoryLine("village_id", 1, site["village_id"], None, "o", False)
    assert vm.history_value(village, t, {site["village_id"]: "梁滩村"}) == "梁滩村"
    assert vm.history_value(village, t) == "（其他记录）"  # never the id
    for h in detail.history:  # every line of the real history in words
        assert not RAW.search(vm.field_name("site", h.field, t) + vm.history_value(h, t)), h
    assert vm.headcounts({"headcount_on_site": 12}) == {"on_site": 12, "real_name": None,
                                                        "contracts": None}


def test_audit_log_lists_and_filters(office: OfficeClient) -> None:
    form = hotline_form("12333来电：审计日志(VM)")
    created = form.submit(office)
    assert created is not None
    audit = vm.AuditVM()
    audit.filters.action = "case_intake"
    audit.load(office)
    row = next(r for r in audit.items if r.entity_id == created.case["id"])
    assert row.username == "office1" and row.role == "office" and row.at
    from field_app.ui.i18n import Translator

    t = Translator("zh")
    words = vm.audit_details(row, t, {})
    assert "12333来电：审计日志(VM)" in words and "来源：12333劳动保障热线" in words, words
    assert not RAW.search(words), words
    assert {r.action for r in audit.items} == {"case_intake"}
    one = vm.AuditVM(filters=vm.AuditFilters(entity_id=f" {created.case['id']} "))
    one.load(office)
    assert [r.entity_id for r in one.items] == [created.case["id"]]
    today = dt.datetime.now(vm.CHINA).date()
    audit.filters.date_from = (today - dt.timedelta(days=1)).isoformat()
    audit.filters.date_to = (today + dt.timedelta(days=1)).isoformat()
    audit.load(office)
    assert created.case["id"] in {r.entity_id for r in audit.items}
    audit.filters.date_from = audit.filters.date_to = "2020-01-01"
    audit.load(office)
    assert audit.items == []
    audit.filters.date_from = "1月1日"
    with pytest.raises(UiError) as err:
        audit.load(office)
    assert err.value.code == "date_format"
    # pages of one: newest first, and the pager knows when there is more
    paged = vm.AuditVM(limit=1)
    paged.load(office)
    assert len(paged.items) == 1 and paged.has_more
    first = paged.items[0].id
    paged.next_page()
    paged.load(office)
    assert paged.offset == 1 and paged.items[0].id != first
    paged.prev_page()
    assert paged.offset == 0


def jpeg_bytes(seed: int = 3) -> bytes:
    img = Image.new("RGB", (2400, 1800), (240, 240, 230))
    img.paste((seed * 40 % 256, 80, 80), (200, 200, 900, 700))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=92)
    return buf.getvalue()


def resolved_case(office: OfficeClient, title: str) -> str:
    detail = office.intake(intake({"source": "walk_in", "sector": "non_construction", "title": title,
                            "workers_owed": 3, "amount_owed": 18000}))
    case_id = detail.case["id"]
    office.case_event(case_id, CaseEventRequest(kind="accept"))
    office.case_event(case_id, CaseEventRequest(kind="payment", amount_recovered=18000, workers_paid=3))
    office.case_event(case_id, CaseEventRequest(kind="resolve", note="已结清"))
    return case_id


def test_closure_uploads_the_evidence_and_closes(office: OfficeClient) -> None:
    case_id = resolved_case(office, "销号凭证(VM)")
    form = vm.ClosureForm()
    with pytest.raises(UiError) as err:
        form.body()
    assert err.value.code == "evidence_required"
    photo = form.add(vm.prepare_evidence("proof.jpg", jpeg_bytes(), max_px=1600))
    assert photo.kind == "photo" and photo.data is not None
    assert max(Image.open(io.BytesIO(photo.data)).size) == 1600  # the device's pipeline
    assert photo.sha256 == hashlib.sha256(photo.data).hexdigest()
    receipt_bytes = b"%PDF-1.4\n% receipt (demo)\n%%EOF\n"
    receipt = form.add(vm.prepare_evidence("receipt.pdf", receipt_bytes))
    assert receipt.kind == "pdf" and receipt.sha256 == hashlib.sha256(receipt_bytes).hexdigest()
    assert form.add(vm.prepare_evidence("again.pdf", receipt_bytes)) is receipt  # no duplicate
    with pytest.raises(UiError) as err:
        form.body()
    assert err.value.code == "callback_required"
    form.callback_note = "已电话回访3名工人，工资已到账"
    form.upload(office)  # at pick time, by tus
    assert all(e.uploaded and e.data is None for e in form.evidence)
    detail = form.send(office, case_id)
    assert detail.case["status"] == "closed"
    close = next(e for e in detail.events if e.kind == "close")
    assert close.fields["evidence"] == [photo.sha256, receipt.sha256]
    assert close.fields["callback_note"] == "已电话回访3名工人，工资已到账"
    assert hashlib.sha256(office.blob(photo.sha256)).hexdigest() == photo.sha256
    assert office.blob(receipt.sha256) == receipt_bytes


def test_an_interview_record_carries_its_pages(office: OfficeClient) -> None:
    """询问笔录 (#17): the pages picked in the event form are uploaded at once and
    named by the ``investigation_record`` event; the office reads them back."""
    detail = office.intake(intake({"source": "walk_in", "sector": "non_construction",
                                   "title": "询问笔录附件(VM)", "workers_owed": 2,
                                   "amount_owed": 9000}))
    case_id = detail.case["id"]
    office.case_event(case_id, CaseEventRequest(kind="accept"))
    assert "investigation_record" in vm.ATTACHING_EVENTS
    files = vm.Attachments()
    page = files.add(vm.prepare_evidence("笔录第1页.jpg", jpeg_bytes(5), max_px=1600))
    signed = files.add(vm.prepare_evidence("笔录.pdf", b"%PDF-1.4\n% interview\n%%EOF\n"))
    files.upload(office)
    assert all(e.uploaded for e in files.evidence)
    body = vm.event_body("investigation_record", {
        "investigation_kind": "interview", "note": "询问班组长，确认欠薪2人",
        "evidence": " ".join(files.hashes())})
    after = office.case_event(case_id, body)
    record = next(e for e in after.events if e.kind == "investigation_record")
    assert record.fields["evidence"] == [page.sha256, signed.sha256]
    assert hashlib.sha256(office.blob(page.sha256)).hexdigest() == page.sha256


def test_closure_without_a_callback_is_refused_by_the_server_too(office: OfficeClient) -> None:
    case_id = resolved_case(office, "销号缺回访(VM)")
    with pytest.raises(ServerError) as err:
        office.case_event(case_id, CaseEventRequest(kind="close", evidence=["a" * 64]))
    assert err.value.code == "missing_field"
    with pytest.raises(DeviceError) as bad:  # neither a photo nor a PDF receipt
        vm.prepare_evidence("notes.txt", b"not an image")
    assert bad.value.code == "invalid_photo" and "err.invalid_photo" in STRINGS


def test_leader_approves_an_escalation(office: OfficeClient, leader: OfficeClient) -> None:
    detail = office.intake(intake({"source": "national_platform", "sector": "construction",
                            "title": "平台线索：集体讨薪风险(VM)", "workers_owed": 40,
                            "amount_owed": 800000, "collective_risk": True}))
    case_id = detail.case["id"]
    office.case_event(case_id, CaseEventRequest(kind="accept"))
    waiting = office.case_event(case_id, vm.event_body("request_leading_group",
                                                       {"note": "涉及40人，提请领导小组"}))
    assert waiting.case["level"] == "leading_group"
    assert "approve_escalation" not in waiting.allowed_events  # not for the office
    with pytest.raises(ServerError) as err:
        office.case_event(case_id, CaseEventRequest(kind="approve_escalation"))
    assert err.value.code == "role_not_allowed"
    seen = leader.case(case_id)
    assert {"approve_escalation", "return_escalation"} <= set(seen.allowed_events)
    assert vm.transitions_for(seen.case, "leader") == seen.allowed_events
    done = leader.case_event(case_id, vm.event_body("approve_escalation", {"note": "同意"}))
    assert done.case["level"] == "tackle_team"
    assert done.events[-1].author_role == "leader"


def test_case_ledger_search_through_the_client(office: OfficeClient,
                                               leader: OfficeClient) -> None:
    made = hotline_form("12333来电：搜索测试(VM)")
    made.set("complainant_name", "周某某(VM)")
    assert made.submit(office) is not None
    by_title = office.cases(**vm.CaseFilters(q="搜索测试").params()).items
    assert [v.case["title"] for v in by_title] == ["12333来电：搜索测试(VM)"]
    assert len(office.cases(**vm.CaseFilters(q="周某某(VM)").params()).items) == 1
    assert leader.cases(**vm.CaseFilters(q="周某某(VM)").params()).items == []


def test_leaders_cannot_register_cases(leader: OfficeClient) -> None:
    form = hotline_form("领导不能登记(VM)")
    assert form.submit(leader) is None
    assert form.general is not None and form.general.code == "forbidden"


def test_overdue_panel_against_the_server(office: OfficeClient) -> None:
    """Cases taken in long ago are past their accept deadline (5 working days),
    one taken in two working days ago is due soon: the panel counts them as the
    server's ledger filters do, by village, and lists the most overdue first."""
    from shared_schema import calendar

    cal = calendar.packaged()
    today = dt.datetime.now(CHINA).date()
    now_ms = int(dt.datetime.now(CHINA).timestamp() * 1000)
    site = office.sites(q="一纵线").items[0]
    village_id = site.site["village_id"]
    village = site.village_name

    def taken_in(title: str, day: dt.date, **extra: Any) -> str:
        form = hotline_form(title, received_at=f"{day.isoformat()} 09:00", workers_owed="2",
                            amount_owed="3000", **extra)
        detail = form.submit(office)
        assert detail is not None, form.errors or form.general
        return detail.case["id"]

    def ms(day: dt.date) -> int:
        return int(dt.datetime.combine(day, dt.time(9), CHINA).timestamp() * 1000)

    # the latest day before today whose accept deadline is at most 3 working days away
    soon_day = next(d for d in (today - dt.timedelta(days=n) for n in range(1, 15))
                    if calendar.case_deadlines(cal, {"opened_at": ms(d)}, now_ms).due_soon)
    oldest = taken_in("超期最久(VM)", dt.date(2024, 3, 4), village_id=village_id)
    older = taken_in("超期较久(VM)", dt.date(2025, 6, 2), village_id=village_id)
    taken_in("超期无村(VM)", dt.date(2025, 9, 1))
    soon = taken_in("即将到期(VM)", soon_day, village_id=village_id)

    late_page, soon_page = office.cases(overdue=True), office.cases(due_soon=True)
    panel = vm.OverduePanel.load(office)
    assert panel.overdue == late_page.page.total >= 3
    assert panel.due_soon == soon_page.page.total >= 1
    assert soon in {v.case["id"] for v in soon_page.items}
    expected: dict[str, list[int]] = {}
    for n, items in enumerate((late_page.items, soon_page.items)):
        for v in items:
            expected.setdefault(v.village_name or "—", [0, 0])[n] += 1
    assert panel.by_village == {k: tuple(c) for k, c in expected.items()}
    assert panel.by_village[village][0] >= 2 and panel.by_village[village][1] >= 1
    assert panel.by_village["—"][0] >= 1
    # the most overdue few, most overdue first; the working days are the calendar's
    assert len(panel.top) == min(vm.OverduePanel.TOP, panel.overdue)
    days = [r.working_days_overdue for r in panel.top]
    assert days == sorted(days, reverse=True)
    full = vm.OverduePanel.load(office, top=500)
    assert len(full.top) == panel.overdue and full.top[:len(panel.top)] == panel.top
    rows = {r.case_id: r for r in full.top}
    assert soon not in rows
    for case_id, opened in ((oldest, dt.date(2024, 3, 4)), (older, dt.date(2025, 6, 2))):
        due = cal.add_workdays(opened, calendar.ACCEPT_DAYS)
        row = rows[case_id]
        assert row.due == due.isoformat() and row.village == village
        assert row.working_days_overdue == cal.workdays_between(due, today) > 0
    assert rows[oldest].working_days_overdue > rows[older].working_days_overdue
    assert panel.top[0].working_days_overdue >= rows[oldest].working_days_overdue
    assert office.case(panel.top[0].case_id).deadlines.overdue  # the row opens its case


def test_side_rail_at_desk_widths_bottom_bar_below() -> None:
    from types import SimpleNamespace

    from field_app.ui.office.views import frame

    def app(width: float | None) -> Any:
        return SimpleNamespace(page=SimpleNamespace(width=width))

    assert frame.is_desk(app(1280)) and frame.is_desk(app(900))
    assert not frame.is_desk(app(899)) and not frame.is_desk(app(412))
    assert frame.is_desk(app(None))  # not known yet: the console is a desk tool


def test_office_views_never_navigate_after_a_call() -> None:
    """The race of issue 5: an action's handler keeps the user where they are;
    only the user's own taps (tabs, rows, back, logout) change the route. The
    login screen is left out: logging in is what takes the user to the console."""
    from field_app.ui.office import views

    folder = Path(views.__file__).parent
    screens = [p for p in sorted(folder.glob("*.py")) if p.name not in ("login.py", "frame.py")]
    assert len(screens) >= 6
    frame = (folder / "frame.py").read_text(encoding="utf-8")
    start = frame.index("def office_page(")
    end = frame.index("\ndef ", start + 10)
    outside = frame[:start] + frame[end:] + "".join(p.read_text(encoding="utf-8") for p in screens)
    assert "app.go(" not in outside and "rerender(" not in outside


def test_server_time_first_and_the_device_time_as_reported() -> None:
    t0, hour, day = 1_764_140_000_000, 3_600_000, 86_400_000
    assert vm.shown_times(t0, t0 - 60_000) == (t0, None)  # a minute apart: one time shown
    assert vm.shown_times(t0, t0 - day) == (t0, t0 - day)
    assert vm.shown_times(None, t0) == (t0, None)  # not on the server yet
    assert vm.event_times(TimelineEvent(id="e1", created_at=t0 - hour, received_at=t0)) == (t0, t0 - hour)
    assert vm.case_times({"opened_at": t0 - 5 * day, "created_at": t0,
                          "received_at": t0}) == (t0, t0 - 5 * day)
    assert STRINGS["office.time.reported"][0].format(at="x") == "上报时间 x"


def test_case_and_timeline_carry_the_server_time(office: OfficeClient) -> None:
    arrived = vm.parse_local_time("2026-01-06 10:00")
    detail = hotline_form("来信：时间显示(VM)", received_at="2026-01-06 10:00").submit(office)
    assert detail is not None
    assert vm.case_times(detail.case) == (arrived, None)
    after = office.case_event(detail.case["id"], CaseEventRequest(kind="note", note="已电话回访"))
    [note] = after.events
    main, reported = vm.event_times(note)
    assert main == note.received_at == note.counted_at and reported is None


def test_login_and_user_audit_rows_in_words() -> None:
    """The audit rows of logins and the user life cycle (issue 14) read as
    words on the console: outcomes and roles as labels, no raw codes."""
    from field_app.ui.i18n import Translator

    t = Translator("zh")
    failed = audit_row(**{"action": "login_failed", "entity": "user",
              "details": {"outcome": "wrong_password", "client": "127.0.0.1"}})
    assert vm.audit_details(failed, t) == "结果：密码错误 · 来源地址：127.0.0.1"
    throttled = audit_row(**{"action": "login_failed", "entity": "user",
                 "details": {"outcome": "throttled", "client": "10.0.0.9", "retry_after_s": 4}})
    assert "尝试过多" in vm.audit_details(throttled, t)
    role = audit_row(**{"action": "user_role", "entity": "user",
            "details": {"username": "grid1", "before": "grid_officer", "after": "office"}})
    shown = vm.audit_details(role, t)
    assert "原角色：网格员" in shown and "新角色：劳保所" in shown
    for row in (failed, throttled, role):
        assert not RAW.search(vm.audit_details(row, t)), row
    for action in vm.AUDIT_ACTIONS:
        assert t.has(f"office.audit.action.{action}"), action
