"""View-models without a Flet client: the pure rules table-tested, then the
view-models over a real device logged in to a real (demo-seeded) server."""

from __future__ import annotations

import datetime as dt
import time
import re
from pathlib import Path

import pytest

from field_app.core import Device, DeviceError
from field_app.ui.adapters import UiPrefs
from field_app.ui.i18n import STRINGS, FAMILIES, Translator, missing_translations
from field_app.ui.field.viewmodels import (
    CHINA,
    CaseVM,
    InspectionVM,
    LoginForm,
    SiteFilter,
    SiteListVM,
    SiteRow,
    SyncVM,
    allowed_transitions,
    better_fix,
    build_site_rows,
    case_deadline,
    forms_text,
    queue_forms,
    returned_to,
    review_label,
    sync_problem,
    check_logout,
    filter_sites,
    is_due,
    open_case,
    parse_intake,
    parse_number,
    quarantine_changes,
    sign_out,
    site_detail,
)
from shared_schema.calendar import WorkCalendar
from shared_schema.cases import EVENT_KINDS

UI = Path(__file__).resolve().parents[2] / "field_app" / "ui"


def ms(y: int, m: int, d: int, h: int = 12) -> int:
    return int(dt.datetime(y, m, d, h, tzinfo=CHINA).timestamp() * 1000)


NOW = ms(2025, 10, 15)
SITE = {"id": "s1", "kind": "construction", "status": "active"}


# --- due this month -------------------------------------------------------------------------

@pytest.mark.parametrize(("site", "inspections", "due"), [
    (SITE, [], True),
    ({**SITE, "status": None}, [], True),
    ({**SITE, "kind": "factory"}, [], False),  # only construction projects are due
    ({**SITE, "status": "completed"}, [], False),
    ({**SITE, "last_inspected_at": ms(2025, 10, 2)}, [], False),
    ({**SITE, "last_inspected_at": ms(2025, 9, 30)}, [], True),  # last month
    (SITE, [{"state": "submitted", "submitted_at": ms(2025, 10, 1, 9)}], False),
    (SITE, [{"state": "draft", "started_at": ms(2025, 10, 3)}], True),  # a draft is not done
    (SITE, [{"state": "submitted", "submitted_at": ms(2024, 10, 20)}], True),  # a year ago
    # 2025-09-30 23:30 in China is still September even though it is 15:30 UTC
    (SITE, [{"state": "submitted", "submitted_at": ms(2025, 9, 30, 23)}], True),
])
def test_due_this_month(site: dict, inspections: list, due: bool) -> None:
    assert is_due(site, inspections, NOW) is due


def test_due_uses_china_time_at_the_month_boundary() -> None:
    first_of_month_china = ms(2025, 11, 1, 1)  # still 31 October in UTC
    inspected = [{"state": "submitted", "submitted_at": ms(2025, 10, 31, 20)}]
    assert is_due(SITE, inspected, first_of_month_china)


# --- site list filtering ----------------------------------------------------------------------

def row(i: int, **kw: object) -> SiteRow:
    base = dict(id=f"s{i}", name=f"场所{i}", kind="construction", village_id="v1", village="梁滩村",
                address="", gov_invested=False, due=False, open_cases=0, unsynced=0,
                haystack=f"场所{i} 梁滩村")
    base.update(kw)
    return SiteRow(**base)  # type: ignore[arg-type]


def test_filter_sites_by_every_filter() -> None:
    rows = [row(1, due=True, gov_invested=True, haystack="安置房 渝通市政 梁滩村"),
            row(2, kind="factory", haystack="服装厂 梁滩村"),
            row(3, village_id="v2", haystack="安置房二期 新桥村")]
    assert [r.id for r in filter_sites(rows, SiteFilter(query="安置房"))] == ["s1", "s3"]
    assert [r.id for r in filter_sites(rows, SiteFilter(query="安置房 渝通"))] == ["s1"]
    assert [r.id for r in filter_sites(rows, SiteFilter(kind="factory"))] == ["s2"]
    assert [r.id for r in filter_sites(rows, SiteFilter(village_id="v2"))] == ["s3"]
    assert [r.id for r in filter_sites(rows, SiteFilter(gov_invested=True))] == ["s1"]
    assert [r.id for r in filter_sites(rows, SiteFilter(due_only=True))] == ["s1"]
    assert filter_sites(rows, SiteFilter(query="没有")) == []


# --- validation --------------------------------------------------------------------------------

def test_case_intake_validation() -> None:
    fields, errors = parse_intake({"title": " 拖欠工资 ", "sector": "construction",
                                   "workers_owed": "4", "amount_owed": "36,000",
                                   "period_from": "2025-01", "complainant_name": ""})
    assert errors == {}
    assert fields == {"title": "拖欠工资", "sector": "construction", "workers_owed": 4,
                      "amount_owed": 36000.0, "period_from": "2025-01"}
    _, errors = parse_intake({"workers_owed": "-1", "amount_owed": "很多",
                              "period_to": "2025/3", "sector": None})
    assert errors == {"workers_owed": "err.negative", "amount_owed": "err.not_a_number",
                      "period_to": "err.month_format", "title": "err.title_or_employer",
                      "sector": "err.required"}
    for key in errors.values():
        assert key in STRINGS


@pytest.mark.parametrize(("text", "integer", "expected"), [
    ("42", True, 42), (" 1,200 ", True, 1200), ("4.5", True, None), ("4.5", False, 4.5),
    ("", True, None), ("abc", False, None), ("7.0", True, 7),
])
def test_parse_number(text: str, integer: bool, expected: object) -> None:
    assert parse_number(text, integer) == expected


def test_quarantine_fix_keeps_the_refused_types() -> None:
    refused = {"name": "旧名", "workers_owed": 12, "amount_owed": 1.5, "gov_invested": False,
               "address": None}
    typed = {"name": "新名", "workers_owed": "9", "amount_owed": "1.5", "gov_invested": "是",
             "address": ""}
    assert quarantine_changes(refused, typed) == {"name": "新名", "workers_owed": 9,
                                                  "gov_invested": True}
    with pytest.raises(DeviceError):
        quarantine_changes(refused, {"workers_owed": "九"})


def test_login_form_validation() -> None:
    form = LoginForm(server_url="sync.example", username="", password="")
    assert not form.validate()
    assert form.errors == {"server_url": "err.url", "username": "err.required",
                           "password": "err.required"}
    assert LoginForm("http://127.0.0.1:8000", "grid1", "x").validate()


def test_logout_refused_without_confirmation_when_unsynced() -> None:
    assert check_logout(0, 0, 0, confirmed=False).allowed
    refused = check_logout(3, 1, 0, confirmed=False)
    assert not refused.allowed and refused.needs_confirmation and refused.pending == 4
    assert check_logout(3, 1, 0, confirmed=True).allowed


# --- cases: allowed transitions and deadlines -----------------------------------------------------

#: #17 kinds: investigation, advances and the reply while handling; exits for the office
HANDLING = ["investigation_record", "investigation_outcome"]
OFFICE_EXITS = ["transfer", "refer_procedure"]


@pytest.mark.parametrize(("case", "events", "role", "allowed"), [
    ({"status": "registered", "level": "village"}, [], "grid_officer",
     ["accept", "escalate", "note", "reply"]),
    ({"status": "registered", "level": "village"}, [], "office",
     ["accept", "dismiss", "escalate", "note", *OFFICE_EXITS, "reply"]),
    ({"status": "accepted", "level": "township"}, [], "grid_officer",
     ["payment", "resolve", "note", *HANDLING, "advance_payment", "reply"]),
    ({"status": "accepted", "level": "township"}, [], "office",
     ["request_leading_group", "refer", "payment", "extend", "resolve", "note", *HANDLING,
      *OFFICE_EXITS, "advance_payment", "reply"]),
    ({"status": "accepted", "level": "township"}, [{"kind": "extend"}], "office",
     ["request_leading_group", "refer", "payment", "resolve", "note", *HANDLING,
      *OFFICE_EXITS, "advance_payment", "reply"]),  # extended once
    ({"status": "accepted", "level": "leading_group"}, [], "leader",
     ["approve_escalation", "return_escalation", "refer", "extend", "note"]),
    ({"status": "closed", "level": "village"}, [], "grid_officer", ["note", "reply"]),
    ({"status": "registered", "level": "village"}, [], "admin", []),
    # a department's case: the village's grid officer supports, does not handle
    ({"status": "accepted", "level": "township", "route": "department"}, [], "grid_officer",
     ["note", "investigation_record", "reply"]),
])
def test_allowed_transitions(case: dict, events: list, role: str, allowed: list) -> None:
    assert allowed_transitions(case, events, role) == allowed


def test_case_deadlines_and_overdue() -> None:
    opened = ms(2025, 10, 17)  # a Friday
    case = {"status": "registered", "opened_at": opened}
    d = case_deadline(case, False, dt.date(2025, 10, 20))
    assert d is not None and (d.kind, d.due, d.overdue, d.days_left) == (
        "accept", dt.date(2025, 10, 24), False, 4)
    late = case_deadline(case, False, dt.date(2025, 10, 27))  # Monday after the due Friday
    assert late is not None and late.overdue and late.days_left == -1  # working days
    accepted = {**case, "status": "accepted", "accepted_at": ms(2025, 10, 20)}
    conclude = case_deadline(accepted, False, dt.date(2025, 10, 21))
    extended = case_deadline(accepted, True, dt.date(2025, 10, 21))
    assert conclude is not None and extended is not None and conclude.kind == "conclude"
    # 60 working days after Mon 2025-10-20: 9 in October, 20 in November, 23 in
    # December, then 2026-01-01/02 off and Sunday 01-04 a make-up day → Tue 01-13.
    # 90 once extended runs past the Spring Festival (02-15…02-23 off, Saturday
    # 02-14 and 02-28 make-up days) → Mon 03-02.
    assert conclude.due == dt.date(2026, 1, 13) and extended.due == dt.date(2026, 3, 2)
    assert case_deadline({**case, "status": "closed"}, False, dt.date(2025, 10, 20)) is None
    assert case_deadline({**case, "status": "resolved"}, False, dt.date(2025, 10, 20)) is None


def test_case_deadline_counts_the_holiday_calendar() -> None:
    """The phone counts public holidays and make-up days like the office ledger:
    registered Mon 2025-09-29, the National Day week (10-01…10-08) is not counted
    and Saturday 10-11 is a make-up working day, so 'accept within 5 working days'
    is Monday 10-13 (Monday–Friday counting alone would say 10-06)."""
    case = {"status": "registered", "opened_at": ms(2025, 9, 29)}
    d = case_deadline(case, False, dt.date(2025, 9, 30))
    assert d is not None and d.due == dt.date(2025, 10, 13) and d.days_left == 4
    on_holiday = case_deadline(case, False, dt.date(2025, 10, 6))
    assert on_holiday is not None and not on_holiday.overdue and on_holiday.days_left == 4
    weekends_only = WorkCalendar(frozenset(), frozenset(), frozenset())
    plain = case_deadline(case, False, dt.date(2025, 9, 30), cal=weekends_only)
    assert plain is not None and plain.due == dt.date(2025, 10, 6)


# --- i18n --------------------------------------------------------------------------------------

def test_every_key_has_both_languages() -> None:
    assert missing_translations() == []
    for key, (zh, en) in STRINGS.items():
        assert re.findall(r"{(\w+)}", zh) == re.findall(r"{(\w+)}", en) or sorted(
            re.findall(r"{(\w+)}", zh)) == sorted(re.findall(r"{(\w+)}", en)), key


def test_every_literal_key_used_by_the_views_exists() -> None:
    used: set[str] = set()
    prefixes: set[str] = set()
    for path in UI.rglob("*.py"):
        text = path.read_text("utf-8")
        used |= set(re.findall(r'\bt\("([a-z_]+\.[a-z_0-9.]+|[a-z_]+)"', text))
        used |= set(re.findall(r'"(err\.[a-z_]+)"', text))
        prefixes |= set(re.findall(r'\bt\(f"([a-z_]+\.[a-z_]*)\{', text))
        prefixes |= set(re.findall(r"\bt\('([a-z_]+\.)' \+", text))
    assert used and prefixes, "the scan found nothing"
    assert sorted(k for k in used if k not in STRINGS) == []
    assert sorted(p for p in prefixes if not any(k.startswith(p) for k in STRINGS)) == []


def test_domain_families_are_complete() -> None:
    for kind in EVENT_KINDS:
        assert f"event.{kind}" in STRINGS
    assert set(FAMILIES) == {"status", "level", "event"}
    for family in ("kind", "six", "review", "role", "sector", "source", "ans", "phase"):
        assert any(k.startswith(family + ".") for k in STRINGS)


def test_translator_formats_and_falls_back() -> None:
    zh, en = Translator("zh"), Translator("en")
    assert zh("badge.cases", n=2) == "案件 2" and en("badge.cases", n=2) == "2 case(s)"
    assert Translator("fr").lang == "zh"
    assert en.error("invalid_credentials", "x") == "Wrong username or password"
    assert en.error("some_new_code", "server words") == "server words"


def test_prefs_round_trip(tmp_path: Path) -> None:
    prefs = UiPrefs.load(tmp_path)
    assert prefs.language == "zh" and prefs.photo_max_px == 1600
    prefs.language, prefs.server_url = "en", "http://127.0.0.1:8000"
    prefs.save(tmp_path)
    assert UiPrefs.load(tmp_path) == prefs
    (tmp_path / "ui-prefs.json").write_text("{broken", "utf-8")
    assert UiPrefs.load(tmp_path) == UiPrefs()


# --- view-models over a real device ----------------------------------------------------------------

def construction_site(dev: Device) -> dict:
    return next(s for s in dev.sites() if s["kind"] == "construction")


def test_site_list_badges_and_search(grid1_device: Device) -> None:
    vm = SiteListVM(grid1_device)
    vm.load()
    assert vm.rows and all(r.village for r in vm.rows)
    assert {r.id for r in vm.rows if r.due} == {
        s["id"] for s in grid1_device.sites() if s["kind"] == "construction"}
    assert sum(r.open_cases for r in vm.rows) == len(
        [c for c in grid1_device.cases() if c.get("site_id")])
    site = construction_site(grid1_device)
    assert [r.id for r in vm.search(site["name"][:4])][:1] == [site["id"]]
    insp = grid1_device.start_inspection(site["id"])
    grid1_device.answer(insp, "C01", "yes")
    vm.load()
    assert next(r for r in vm.rows if r.id == site["id"]).unsynced == 2


def test_inspection_wizard_autosaves_and_lists_missing(grid1_device: Device,
                                                       tmp_path: Path) -> None:
    site = construction_site(grid1_device)
    vm = InspectionVM(grid1_device, grid1_device.start_inspection(site["id"]))
    assert [s.code for s in vm.steps] == ["funding", "account_deposit", "workforce", "payment",
                                          "notice_board", "risk"]
    vm.answer("C01", "yes")
    assert grid1_device.get("inspection", vm.id)["answers"]["C01"] == {"answer": "yes"}
    vm.answer_number("C08", "42")
    vm.set_note("C08", "含临时工")
    assert vm.entry("C08") == {"answer": 42, "note": "含临时工"}
    # bad text is returned as the field's error and kept, never raised or stored
    assert vm.answer_number("C09", "四十").key == "err.not_a_number"
    assert "C09" not in grid1_device.get("inspection", vm.id)["answers"]
    assert vm.set_value("C04", "银行").key == "err.answer_first"  # the value waits for its answer
    missing = vm.submit()
    assert {"item_code": "C08", "reason": "photo_required"} in missing
    assert {"item_code": "C02", "reason": "unanswered"} in missing
    assert {"item_code": "C09", "reason": "invalid"} in missing
    assert vm.headcounts()["on_site"] == 42
    # a fresh view-model sees the autosaved draft
    again = InspectionVM(grid1_device, vm.id)
    assert again.entry("C08")["answer"] == 42 and not again.read_only


def test_case_vm_transitions_follow_the_state_machine(grid1_device: Device) -> None:
    # a factory: the village handles its small cases (a construction project's go to its
    # department: tests/ui/test_case_lifecycle_vm.py)
    site = next(s for s in grid1_device.sites() if s["kind"] == "factory")
    case_id, errors = open_case(grid1_device, site["id"], {"title": "", "employer": ""})
    assert case_id is None and "title" in errors
    case_id, errors = open_case(grid1_device, site["id"], {
        "title": "拖欠工资", "sector": "non_construction", "workers_owed": "3",
        "amount_owed": "20000", "village_id": site["village_id"]})
    assert errors == {} and case_id
    vm = CaseVM(grid1_device, case_id, today=lambda: dt.date.today())
    assert vm.allowed() == ["accept", "escalate", "note", "reply"]
    deadline = vm.deadline()
    assert deadline is not None and deadline.kind == "accept" and not deadline.overdue
    with pytest.raises(DeviceError):
        vm.add_event("resolve", {"note": "x"})  # not allowed while registered
    vm.add_event("accept", {})
    assert vm.case["status"] == "accepted"
    assert vm.allowed() == ["escalate", "payment", "resolve", "note", *HANDLING,
                            "advance_payment", "reply"]
    vm.add_event("payment", {"amount_recovered": "5000"})
    assert [e["kind"] for e in vm.events] == ["accept", "payment"]
    detail = site_detail(grid1_device, site["id"])
    assert case_id in [c["id"] for c in detail.open_cases]


def test_sync_vm_reports_progress_and_logout_guard(grid1_device: Device) -> None:
    site = construction_site(grid1_device)
    grid1_device.start_inspection(site["id"])
    assert not sign_out(grid1_device).allowed  # something waits: refused
    vm = SyncVM(grid1_device)
    phases: list[str] = []
    vm.listeners.append(lambda s: phases.append(s.phase or ""))
    report = vm.run()
    assert report.ok and report.pushed == 1
    assert "push" in phases and vm.state.records_fraction == 1.0
    assert vm.pending() == (0, 0, 0)
    assert sign_out(grid1_device).allowed
    assert grid1_device.status().login_state == "logged_out"


# --- issue 16: bad input stays where it is, never stored ---------------------------------------

def factory_site(dev: Device) -> dict:
    return next(s for s in dev.sites() if s["kind"] == "factory")


def test_a_bad_number_is_kept_shown_and_never_stored(grid1_device: Device) -> None:
    """-5, abc and 4.5 in a headcount: the error is the field's own (an i18n
    key the view shows under it), the text stays, the stored value is the
    last good one, the text survives a new view-model (another step, another
    render) and submit lists the field as invalid."""
    site = construction_site(grid1_device)
    kept: dict = {}
    vm = InspectionVM(grid1_device, grid1_device.start_inspection(site["id"]), invalid=kept)
    assert vm.answer_number("C08", "42") is None
    zh = Translator("zh")
    for text, key, words in (("-5", "err.negative", "不能为负数"),
                             ("abc", "err.not_a_number", "请输入数字"),
                             ("4.5", "err.whole_number", "请输入整数")):
        err = vm.stage("C08", text)
        assert err is not None and err.key == key and zh(key) == words
        assert vm.answer_number("C08", text) == err  # a save of it stores nothing
        assert grid1_device.get("inspection", vm.id)["answers"]["C08"] == {"answer": 42}
        assert kept["C08"].text == text
    again = InspectionVM(grid1_device, vm.id, invalid=kept)
    assert again.invalid["C08"].text == "4.5"
    assert {"item_code": "C08", "reason": "invalid"} in again.missing()
    assert {"item_code": "C08", "reason": "invalid"} in again.submit()
    assert grid1_device.get("inspection", vm.id)["state"] == "draft"
    # fixed: the error goes, the new value is stored
    assert again.answer_number("C08", "40") is None
    assert "C08" not in kept and again.entry("C08")["answer"] == 40
    assert all(m["reason"] != "invalid" for m in again.missing())
    # an empty field of an item never answered is unanswered, not invalid
    assert again.stage("C09", "") is None and "C09" not in kept
    # an empty field of an answered item is invalid (the screen would lie otherwise)
    assert again.stage("C08", "").key == "err.required"


def test_migrants_above_on_site_are_refused_under_the_field(grid1_device: Device) -> None:
    site = factory_site(grid1_device)
    vm = InspectionVM(grid1_device, grid1_device.start_inspection(site["id"]))
    err = vm.answer_parts("E02", {"on_site": "10", "migrant": "12"})
    assert err is not None and err.key == "err.migrant_gt_on_site" and err.part == "migrant"
    assert Translator("zh")(err.key) == "外来务工人数不能大于在岗人数"
    assert (grid1_device.get("inspection", vm.id).get("answers") or {}).get("E02") is None
    assert vm.invalid["E02"].text == {"on_site": "10", "migrant": "12"}
    neg = vm.stage("E02", {"on_site": "-5", "migrant": "0"})
    assert neg is not None and neg.key == "err.negative" and neg.part == "on_site"
    assert vm.answer_parts("E02", {"on_site": "10", "migrant": "8"}) is None
    assert vm.entry("E02")["answer"] == {"on_site": 10, "migrant": 8} and not vm.invalid


def test_a_bad_extra_value_is_kept_and_not_stored(grid1_device: Device) -> None:
    site = construction_site(grid1_device)
    vm = InspectionVM(grid1_device, grid1_device.start_inspection(site["id"]))
    assert vm.set_value("C04", "银行").key == "err.answer_first"  # the value waits for its answer
    vm.answer("C04", "yes")
    assert vm.set_value("C04", "重庆农村商业银行") is None
    assert vm.entry("C04") == {"answer": "yes", "value": "重庆农村商业银行"}


def test_checklist_shortcuts(grid1_device: Device) -> None:
    """其余全部符合 answers the step's unanswered yes/no items with their
    compliant answer; a failed answer is flagged; C24 with workers reporting
    arrears offers 登记欠薪线索; the missing list knows each item's step."""
    site = construction_site(grid1_device)
    vm = InspectionVM(grid1_device, grid1_device.start_inspection(site["id"]))
    vm.answer("C01", "no")
    rest = vm.rest_compliant(0)
    assert rest and "C01" not in rest
    assert vm.answer_rest_compliant(0) == rest
    for code in rest:
        item = vm.template.item(code)
        assert vm.entry(code)["answer"] == item.good
    assert vm.rest_compliant(0) == [] and vm.failed("C01") and not vm.failed(rest[0])
    vm.answer_parts("C24", {"interviewed": "6", "reporting_arrears": "2"})
    assert vm.arrears_reported("C24") and vm.failed("C24")
    assert vm.step_of("C24") == [s.code for s in vm.steps].index("risk")
    assert vm.photos_taken() == 0 and vm.photos_required() >= 1


# --- issue 16: GPS that is saved, with its accuracy -----------------------------------------------

@pytest.mark.parametrize(("stored", "accuracy", "better"), [
    ({}, None, True),  # nothing stored: any fix
    ({"lat": 29.5, "lon": 106.3}, 50.0, True),  # stored without accuracy
    ({"lat": 29.5, "lon": 106.3, "accuracy_m": 20.0}, 12.0, True),
    ({"lat": 29.5, "lon": 106.3, "accuracy_m": 20.0}, 20.0, True),  # as good: the newer
    ({"lat": 29.5, "lon": 106.3, "accuracy_m": 20.0}, 35.0, False),
    ({"lat": 29.5, "lon": 106.3, "accuracy_m": 20.0}, None, False),
])
def test_better_fix(stored: dict, accuracy: float | None, better: bool) -> None:
    assert better_fix(stored, accuracy) is better


def test_the_best_fix_while_open_is_stored_and_shown_as_stored(grid1_device: Device) -> None:
    site = construction_site(grid1_device)
    vm = InspectionVM(grid1_device, grid1_device.start_inspection(site["id"]))
    now = NOW
    assert vm.gps(now).state == "missing"  # 未定位, never a made-up position
    cached = (29.0, 106.0, 8.0, now - 10 * 60_000)
    stale = vm.gps(now, cached)
    assert (stale.state, stale.age_ms) == ("stale", 10 * 60_000)  # shown with its age, not used
    assert grid1_device.get("inspection", vm.id).get("lat") is None
    assert vm.note_fix(29.59, 106.35, 30.0, now) is True
    assert vm.note_fix(29.70, 106.40, 80.0, now + 1000) is False  # worse: kept the better one
    assert vm.location == (29.70, 106.40, 80.0)  # the latest fix still tags the next photos
    assert vm.note_fix(29.5905, 106.3542, 12.0, now + 2000) is True  # 重新定位: better
    stored = grid1_device.get("inspection", vm.id)
    assert (stored["lat"], stored["lon"], stored["accuracy_m"], stored["located_at"]) == (
        29.5905, 106.3542, 12.0, now + 2000)
    shown = InspectionVM(grid1_device, vm.id).gps(now + 5000, cached)
    assert (shown.state, shown.lat, shown.lon, shown.accuracy, shown.at) == (
        "saved", 29.5905, 106.3542, 12.0, now + 2000)  # exactly the stored fields
    pid = vm.add_photo(camera_bytes(), "C08")
    photo = grid1_device.get("photo", pid)
    assert (photo["lat"], photo["lon"]) == (29.5905, 106.3542)


def camera_bytes() -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (10, 120, 200)).save(buf, "JPEG")
    return buf.getvalue()


# --- issue 16: returned inspections, drafts, the queue in forms, sync in words ---------------------

def test_review_labels_and_returned_to_me() -> None:
    assert review_label({"state": "draft", "review_state": "pending"}, False) is None  # 草稿
    assert review_label({"state": "submitted", "review_state": "pending"}, False) == (
        "review.pending")
    assert review_label({"state": "submitted", "review_state": "rejected"}, False) == (
        "review.rejected")
    assert review_label({"state": "submitted", "review_state": "rejected"}, True) == (
        "insp.resubmitted")
    mine = {"id": "i1", "site_id": "s1", "state": "submitted", "review_state": "rejected",
            "inspector_id": "me"}
    others = [mine, {**mine, "id": "i2", "inspector_id": "other"},
              {**mine, "id": "i3", "state": "draft"},  # reopened: being fixed
              {**mine, "id": "i4", "review_state": "approved"}]
    assert [i["id"] for i in returned_to(others, "me")] == ["i1"]
    rows = build_site_rows([{"id": "s1", "name": "工地"}], [], others, [], [], [], {}, NOW,
                           me="me")
    assert rows[0].returned == 1
    assert Translator("zh")("badge.returned") == "退回"


def test_only_a_returned_inspection_reopens_on_the_device(grid1_device: Device) -> None:
    site = construction_site(grid1_device)
    vm = InspectionVM(grid1_device, grid1_device.start_inspection(site["id"]))
    assert not vm.can_reopen()
    with pytest.raises(DeviceError) as exc:
        vm.reopen()
    assert exc.value.code == "not_returned"


def test_the_queue_is_counted_in_forms(grid1_device: Device) -> None:
    site = construction_site(grid1_device)
    insp = grid1_device.start_inspection(site["id"])
    for code in ("C01", "C02", "C03"):
        grid1_device.answer(insp, code, "yes")
    assert queue_forms(grid1_device) == {"inspection": 1}
    open_case(grid1_device, site["id"], {"title": "拖欠工资", "sector": "construction"})
    grid1_device.attach_photo(insp, camera_bytes(), item_code="C08")
    forms = queue_forms(grid1_device)
    assert forms == {"inspection": 1, "case": 1, "photo": 1}
    assert forms_text(Translator("zh"), forms) == "1 份巡查、1 个案件、1 张照片"
    assert forms_text(Translator("en"), forms) == "1 inspection(s), 1 case(s), 1 photo(s)"


def test_an_offline_sync_is_said_in_words(grid1_device: Device, demo_server) -> None:
    """The server is gone: the report carries the code ``network`` and the
    screen says 无网络 (never the English exception text); the last good sync
    time stays the one before."""
    import dataclasses

    good = grid1_device.status().last_good_sync_ms
    assert good is not None
    demo_server.stop()
    grid1_device.settings = dataclasses.replace(grid1_device.settings, max_attempts=1)
    site = construction_site(grid1_device)
    grid1_device.start_inspection(site["id"])
    report = grid1_device.sync()
    assert not report.ok and "network" in report.error_codes
    key = sync_problem(report)
    assert key == "sync.offline" and Translator("zh")(key).startswith("无网络")
    assert not re.search(r"[A-Za-z]{4,}", Translator("zh")(key))
    st = grid1_device.status()
    assert st.last_sync_ok is False and st.last_good_sync_ms == good
    from field_app.core.reports import SyncReport
    assert sync_problem(SyncReport(errors=["x"], error_codes=["http_503"])) == "sync.server_down"
    assert sync_problem(SyncReport(login_required=True, errors=["x"])) == "sync.login_required"
    assert sync_problem(SyncReport()) is None


def test_a_factory_page_shows_no_construction_fields() -> None:
    from field_app.ui.field.views.sites import site_fields

    factory = site_fields("factory")
    assert not {"builder", "contractor", "contract_amount", "start_date"} & set(factory)
    assert {"address", "industry", "contact_phone"} <= set(factory)
    assert {"builder", "contractor", "contract_amount"} <= set(site_fields("construction"))


def test_case_form_small_truths() -> None:
    from field_app.ui.field.viewmodels import employer_for, money

    base = {"title": "拖欠工资", "sector": "non_construction"}
    _, errors = parse_intake({**base, "period_from": "2025-05", "period_to": "2025-03",
                              "complainant_phone": "1234"})
    assert errors == {"period_to": "err.month_order", "complainant_phone": "err.phone"}
    assert Translator("zh")("err.month_order") == "结束月份不能早于开始月份"
    fields, errors = parse_intake({**base, "period_from": "2025-01", "period_to": "2025-03",
                                   "complainant_phone": "138 0000 1234"})
    assert errors == {} and fields["period_to"] == "2025-03"
    assert parse_intake({**base, "complainant_phone": "023-65001234"})[1] == {}
    assert money(42000) == "42,000 元" and money(1234.5) == "1,234.50 元" and money(None) == "—"
    assert employer_for({"kind": "factory", "name": "凯达五金制品厂"}) == "凯达五金制品厂"
    assert employer_for({"kind": "construction", "name": "工地", "contractor": "渝通建设"}) == (
        "渝通建设")


def test_an_offline_edit_the_server_replaced_is_shown_on_the_record(
        grid1_device: Device, demo_server, tmp_path: Path) -> None:
    """Two phones of grid1 change a site's contact phone; the one offline
    longer loses (older clock). Its record then lists what was typed, what
    was kept, and the office decides (the server's conflict record)."""
    from field_app.ui.field.viewmodels import replaced_edits
    from sync_server.demo import DEMO_PASSWORD

    site = construction_site(grid1_device)
    other = Device.open(tmp_path / "other-phone")
    try:
        other.login(demo_server.url, "grid1", DEMO_PASSWORD)
        assert other.sync().ok
        grid1_device.update_site(site["id"], contact_phone="13800000001")  # offline first
        time.sleep(0.01)
        other.update_site(site["id"], contact_phone="13900000002")
        assert other.sync().ok
        report = grid1_device.sync()
        assert report.ok and report.conflicts == 1
        edits = replaced_edits(grid1_device, "site", site["id"])
        assert [(e.field, e.mine, e.kept) for e in edits] == [
            ("contact_phone", "13800000001", "13900000002")]
        assert grid1_device.get("site", site["id"])["contact_phone"] == "13900000002"
        assert replaced_edits(other, "site", site["id"]) == []
    finally:
        other.close()


def test_emoji_are_stripped_with_a_word() -> None:
    from field_app.ui.field.viewmodels import strip_emoji

    assert strip_emoji("现场整洁👍🏻，工人✅已签字") == ("现场整洁，工人已签字", True)
    assert strip_emoji("👨‍👩‍👧 家属") == (" 家属", True)
    assert strip_emoji("合同 42 份（1—3 月）") == ("合同 42 份（1—3 月）", False)
    assert Translator("zh")("emoji.removed").startswith("已去掉表情符号")


def test_the_phone_lists_its_cases(grid1_device: Device) -> None:
    from field_app.ui.field.viewmodels import case_rows

    site = construction_site(grid1_device)
    case_id, errors = open_case(grid1_device, site["id"], {
        "title": "拖欠钢筋班组工资", "sector": "construction", "amount_owed": "42000",
        "village_id": site["village_id"]})
    assert not errors
    rows = case_rows(grid1_device, today=dt.date.today())
    mine = next(r for r in rows if r.id == case_id)
    assert (mine.title, mine.site, mine.status, mine.amount) == (
        "拖欠钢筋班组工资", site["name"], "registered", 42000)
    assert mine.deadline is not None and mine.deadline.kind == "accept"
    assert len(rows) == len(grid1_device.cases())


# --- issue 16, small truths: photos open full size, are deleted or replaced; text limits ------------

def test_a_draft_s_photo_opens_full_size_and_is_deleted_or_replaced(grid1_device: Device) -> None:
    """A thumbnail opens the photo's own file on the phone (offline); while the
    inspection is the author's draft a photo is deleted (the required-photo
    count and the missing list change at once) or replaced (same item and
    caption; a picture that cannot be read leaves the old one as it was)."""
    import io

    from PIL import Image

    site = construction_site(grid1_device)
    vm = InspectionVM(grid1_device, grid1_device.start_inspection(site["id"]))
    first = vm.add_photo(camera_bytes(), "C08", caption="工资表")
    [photo] = vm.photos("C08")
    path = vm.photo_file(photo)
    assert path is not None and Image.open(io.BytesIO(path.read_bytes())).size == (64, 48)
    assert vm.can_change_photos()
    assert {"item_code": "C08", "reason": "photo_required"} not in vm.missing()
    # replaced: a new photo of the same item and caption, the old one gone
    buf = io.BytesIO()
    Image.new("RGB", (80, 40), (200, 20, 20)).save(buf, "JPEG")
    second = vm.replace_photo(first, buf.getvalue())
    [photo] = vm.photos("C08")
    assert (photo["id"], photo["caption"]) == (second, "工资表")
    assert grid1_device.get("photo", first)["deleted"] is True
    # a broken replacement changes nothing
    with pytest.raises(DeviceError):
        vm.replace_photo(second, b"not a picture")
    assert [p["id"] for p in vm.photos("C08")] == [second]
    # deleted: the count and the missing list follow at once, the answers stay
    vm.answer_number("C08", "40")
    vm.delete_photo(second)
    assert vm.photos("C08") == [] and vm.photo_counts.get("C08", 0) == 0
    assert {"item_code": "C08", "reason": "photo_required"} in vm.missing()
    assert vm.entry("C08")["answer"] == 40
    # submitted (or another user's): no photo changes
    vm.record = {**vm.record, "state": "submitted"}
    assert not vm.can_change_photos()
    vm.record = {**vm.record, "state": "draft", "inspector_id": "someone-else"}
    assert not vm.can_change_photos()
    assert Translator("zh")("photo.delete_title") == "删除这张照片？"


def test_case_form_text_limits_come_from_the_field_table() -> None:
    from field_app.ui.field.viewmodels import CASE_TEXT_FIELDS, EVENT_TEXT_FIELDS, text_limit
    from shared_schema import fields as field_rules

    assert {n: text_limit("case", n) for n in CASE_TEXT_FIELDS} == {
        "title": field_rules.NAME_CHARS, "employer": field_rules.NAME_CHARS,
        "employer_address": field_rules.ADDRESS_CHARS, "work_done": field_rules.NOTE_CHARS,
        "complainant_name": field_rules.NAME_CHARS}
    assert all(text_limit("case_event", n) for n in EVENT_TEXT_FIELDS)
    base = {"title": "拖欠工资", "sector": "non_construction"}
    at_limit = "址" * field_rules.ADDRESS_CHARS
    fields, errors = parse_intake({**base, "employer_address": at_limit})
    assert errors == {} and fields["employer_address"] == at_limit
    _, errors = parse_intake({**base, "employer_address": at_limit + "址",
                              "work_done": "活" * (field_rules.NOTE_CHARS + 1)})
    assert errors == {"employer_address": "err.too_long", "work_done": "err.too_long"}
    assert Translator("zh")("err.too_long") == "内容太长，请删减"


def test_the_case_form_shows_a_counter_on_its_text_fields(grid1_device: Device) -> None:
    """The intake view's text fields carry the field table's limit (Flet shows
    it as a counter, 0/200), as the inspection's texts do."""
    import flet as ft

    from field_app.ui.field.views.cases import case_intake_view
    from field_app.ui.field.viewmodels import CASE_TEXT_FIELDS, text_limit

    class App:  # the few things the view reads (no Flet client in this test)
        device = grid1_device
        t = Translator("zh")

        def safe(self, fn):
            return fn

        def bar(self, *a):
            return None

        def navbar(self, *a):
            return None

    site = construction_site(grid1_device)
    view = case_intake_view(App(), site["id"])
    found: dict[str, ft.TextField] = {}

    def walk(c: object) -> None:
        if isinstance(c, ft.Semantics) and str(c.identifier or "").startswith("case-"):
            if isinstance(c.content, ft.TextField):
                found[c.identifier[5:]] = c.content
        for attr in ("controls", "content"):
            inner = getattr(c, attr, None)
            for x in (inner if isinstance(inner, list) else [inner] if inner else []):
                walk(x)

    walk(view)
    assert {n: found[n].max_length for n in CASE_TEXT_FIELDS} == {
        n: text_limit("case", n) for n in CASE_TEXT_FIELDS}
    assert found["workers_owed"].max_length is None  # numbers and months: no counter
