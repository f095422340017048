"""Monthly reports on the seeded demo township: the JSON summary, the workbook read
back with openpyxl, and the CSV per sheet all carry the same figures."""

from __future__ import annotations

import csv
import io
from typing import Any, Callable

import openpyxl
import pytest

from server.support import DAY_MS, AppClient, Device, ManualClock, World, device_secret, error_of
from sync_server.demo import DEMO_PASSWORD, demo_id, seed_demo

from server.support import complete_answers, submit_inspection

SHEETS = ["项目台账", "企业台账", "其他场所台账", "欠薪案件台账", "汇总"]
KEYS = ["projects", "enterprises", "others", "cases", "summary"]
SHA = "d" * 64


class Demo:
    def __init__(self, app: AppClient, clock: ManualClock) -> None:
        self.app = app
        self.http = app.client
        self.clock = clock

    def login(self, username: str, device_id: str) -> dict[str, str]:
        r = self.http.post("/api/v1/auth/login", json={
            "username": username, "password": DEMO_PASSWORD, "device_id": device_id,
            "device_secret": device_secret(device_id)})
        assert r.status_code == 200, r.text
        return {"Authorization": "Bearer " + r.json()["token"]}


@pytest.fixture
def demo(make_app_client: Callable[..., AppClient], clock: ManualClock) -> dict[str, Any]:
    """The demo seed, two inspections approved (one with the deposit missing), one demo
    case paid, resolved and closed, and one office intake in the month."""
    app = make_app_client()
    seed_demo(app.store, clock(), activity=False,  # exact figures of this scenario only
              scrypt_n=app.settings.scrypt_n)
    world = World(app.client, app.store, clock)  # only for its test Device
    world.users = {u.username: u for u in app.store.list_users()}
    office = Demo(app, clock).login("office1", "office-pc")
    sector = Device(world, "sector1", "devS", Demo(app, clock).login("sector1", "devS"))
    sector.pull(0)
    site_a, site_b = demo_id("site", "一纵线建设"), demo_id("site", "区科技创新中心")
    a = submit_inspection(sector, site_a, complete_answers(
        on_site=40, real_name=38, C07={"answer": "yes", "value": 500_000},
        C06={"answer": "yes", "value": 1_200_000}))
    b = submit_inspection(sector, site_b, complete_answers(on_site=25, real_name=25, C07={"answer": "no"}))
    for insp in (a, b):
        r = app.client.post(f"/api/v1/office/inspections/{insp}/review",
                            json={"state": "approved"}, headers=office)
        assert r.status_code == 200, r.text
    case = demo_id("case", "纺织厂拖欠3名工人两个月工资(演示)")
    clock.advance(DAY_MS)
    for kind, extra in (("accept", {}), ("payment", {"amount_recovered": 10_000,
                                                     "workers_paid": 2}),
                        ("resolve", {"note": "已支付", "amount_recovered": 8_600,
                                     "workers_paid": 1}),
                        ("close", {"evidence": [SHA], "callback_note": "回访3人"})):
        r = app.client.post(f"/api/v1/cases/{case}/events", json={"kind": kind, **extra},
                            headers=office)
        assert r.status_code == 200, r.text
    r = app.client.post("/api/v1/cases", json={
        "source": "12345", "sector": "construction", "title": "镇级受理欠薪(演示)",
        "workers_owed": 4, "amount_owed": 30_000}, headers=office)
    assert r.status_code == 201, r.text
    return {"app": app, "office": office, "sites": (site_a, site_b), "case": case}


def get(demo: dict[str, Any], path: str, **params: str):
    return demo["app"].client.get(path, params=params, headers=demo["office"])


def expected_cell(column: dict[str, Any], row: dict[str, Any]) -> Any:
    value = row.get(column["key"])
    if column["kind"] == "bool" or isinstance(value, bool):
        return None if value is None else ("是" if value else "否")
    return value


def test_summary_figures(demo: dict[str, Any]) -> None:
    r = get(demo, "/api/v1/reports/summary", month="2025-11")
    assert r.status_code == 200, r.text
    s = r.json()
    t = s["totals"]
    assert s["month"] == "2025-11" and s["township"] == "回龙坝镇"
    assert t["cases_opened"] == 3
    assert t["workers_owed"] == 3 + 14 + 4
    assert t["amount_owed"] == 18_600 + 236_000 + 30_000
    assert (t["amount_recovered"], t["workers_paid"]) == (18_600, 3)
    assert (t["cases_concluded"], t["cases_closed"], t["concluded_on_time"]) == (1, 1, 1)
    assert t["on_time_rate"] == 1.0
    assert (t["open_cases"], t["overdue_cases"]) == (2, 0)
    store = demo["app"].store
    active = [x for x in store.records("site") if x.data["kind"] == "construction"
              and x.data["status"] == "active"]
    assert t["projects"] == len(active) and t["projects_inspected"] == 2
    assert t["inspection_coverage"] == round(2 / len(active), 4)
    assert t["deposit_rate"] == 0.5  # one stored, one missing; the others unknown
    assert t["real_name_rate"] == 0.5  # 38 registered of 40 on site is not in place
    assert t["account_rate"] == 1.0 and t["notice_board_rate"] == 1.0
    rows = {row["project"]: row for row in s["projects"]["rows"]}
    one = rows["一纵线建设"]
    assert (one["headcount_on_site"], one["headcount_real_name"]) == (40, 38)
    assert (one["deposit"], one["real_name"], one["bank_payroll"]) == (True, False, True)
    assert (one["deposit_amount"], one["labour_cost_transferred"]) == (500_000, 1_200_000)
    assert one["inspections_in_month"] == 1 and one["last_inspected"] == "2025-11-26"
    assert one["amount_owed"] == 236_000 and one["open_cases"] == 1
    assert rows["区科技创新中心"]["deposit"] is False
    cases = {c["title"]: c for c in s["cases"]["rows"]}
    closed = cases["纺织厂拖欠3名工人两个月工资(演示)"]
    assert (closed["status"], closed["on_time"], closed["amount_recovered"]) == (
        "已销号", True, 18_600)
    assert closed["accept_due"] == "2025-12-03"
    firms = {e["enterprise"] for e in s["enterprises"]["rows"]}
    assert {"永辉超市物流", "传化物流", "红星美凯龙物流"} <= firms
    # an empty month
    empty = get(demo, "/api/v1/reports/summary", month="2025-01").json()["totals"]
    assert empty["cases_opened"] == 0 and empty["amount_recovered"] == 0
    assert empty["on_time_rate"] is None


def test_workbook_matches_the_summary(demo: dict[str, Any]) -> None:
    summary = get(demo, "/api/v1/reports/summary", month="2025-11").json()
    r = get(demo, "/api/v1/reports/monthly.xlsx", month="2025-11")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    assert "attachment" in r.headers["content-disposition"]
    wb = openpyxl.load_workbook(io.BytesIO(r.content))
    assert wb.sheetnames == SHEETS
    for key, name in zip(KEYS, SHEETS, strict=True):
        sheet, ws = summary[key], wb[name]
        assert ws["A1"].value == sheet["title"]
        headers = [c.value for c in ws[2]]
        assert headers == [c["header"] for c in sheet["columns"]]
        assert all(h and any("\u4e00" <= ch <= "\u9fff" for ch in h) for h in headers)
        assert ws.freeze_panes == "A3"
        assert ws["A2"].font.bold
        for i, column in enumerate(sheet["columns"], start=1):
            letter = openpyxl.utils.get_column_letter(i)
            assert ws.column_dimensions[letter].width == column["width"]
        data = [[c.value for c in row] for row in ws.iter_rows(
            min_row=3, max_row=2 + len(sheet["rows"]))]
        assert len(data) == len(sheet["rows"])
        assert all(v is None for v in next(ws.iter_rows(min_row=3 + len(sheet["rows"]),
                                                        values_only=True)))  # then the sign-off
        for got, row in zip(data, sheet["rows"], strict=True):
            want = [expected_cell(c, row) for c in sheet["columns"]]
            assert got == want
    # the 汇总 sheet: every figure of the totals, rates as percentages
    ws = wb["汇总"]
    values = {row[0].value: row[1] for row in ws.iter_rows(min_row=3)}
    for row in summary["summary"]["rows"]:
        assert values[row["indicator"]].value == summary["totals"][row["key"]]
    assert values["工资保证金存储率"].number_format == "0.00%"
    assert values["线索按期办结率"].value == 1.0


@pytest.mark.parametrize("key,name", list(zip(KEYS, SHEETS, strict=True)))
def test_csv_per_sheet_matches_the_summary(demo: dict[str, Any], key: str, name: str) -> None:
    summary = get(demo, "/api/v1/reports/summary", month="2025-11").json()
    r = get(demo, "/api/v1/reports/monthly.csv", month="2025-11", sheet=key)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    text = r.content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text)))
    sheet = summary[key]
    assert rows[0] == [c["header"] for c in sheet["columns"]]
    assert len(rows) - 1 == len(sheet["rows"])
    for got, row in zip(rows[1:], sheet["rows"], strict=True):
        want = [expected_cell(c, row) for c in sheet["columns"]]
        assert got == ["" if v is None else str(v) for v in want]


def test_bad_report_parameters(demo: dict[str, Any]) -> None:
    for params in ({"month": "2025-13"}, {"month": "2025-1"}, {"month": "nov"}):
        assert error_of(get(demo, "/api/v1/reports/summary", **params), 400)["code"] == \
            "invalid_parameter"
    r = get(demo, "/api/v1/reports/monthly.csv", month="2025-11", sheet="秘密")
    assert error_of(r, 400)["code"] == "invalid_parameter"
    # no month: the current one
    assert get(demo, "/api/v1/reports/summary").json()["month"] == "2025-11"


def test_leader_reads_reports(demo: dict[str, Any]) -> None:
    leader = Demo(demo["app"], None).login("leader1", "leader-pc")  # type: ignore[arg-type]
    r = demo["app"].client.get("/api/v1/reports/monthly.xlsx", headers=leader)
    assert r.status_code == 200
    grid = Demo(demo["app"], None).login("grid1", "g-phone")  # type: ignore[arg-type]
    assert error_of(demo["app"].client.get("/api/v1/reports/summary", headers=grid),
                    403)["code"] == "forbidden"


def test_workbook_source_column_shows_labels_old_phone_codes_too(
        demo: dict[str, Any], clock: ManualClock) -> None:
    """Issue 16: the 来源 column shows the shared list's Chinese label, never a
    code; a case an old phone pushed with its own code (``platform``) keeps
    that stored code and reads as the national platform."""
    from shared_schema.ids import uuid7

    app = demo["app"]
    world = World(app.client, app.store, clock)
    world.users = {u.username: u for u in app.store.list_users()}
    grid = Device(world, "grid1", "old-phone", Demo(app, clock).login("grid1", "old-phone"))
    case_id = uuid7()
    village = app.store.get_record("site", demo["sites"][0]).village_id
    result = grid.sync(grid.upsert("case", case_id, {
        "title": "旧版手机登记(演示)", "employer": "某班组", "sector": "construction",
        "village_id": village, "source": "platform", "workers_owed": 2, "amount_owed": 5000}))
    assert result[0]["status"] == "applied", result
    assert app.store.get_record("case", case_id).data["source"] == "platform"  # not rewritten
    s = get(demo, "/api/v1/reports/summary", month="2025-11").json()
    keys = [c["key"] for c in s["cases"]["columns"]]
    rows = [row if isinstance(row, dict) else dict(zip(keys, row, strict=True)) for row in s["cases"]["rows"]]
    sources = {row["title"]: row["source"] for row in rows}
    assert sources["纺织厂拖欠3名工人两个月工资(演示)"] == "巡查发现"
    assert sources["镇级受理欠薪(演示)"] == "12345政务服务热线"
    assert sources["旧版手机登记(演示)"] == "全国根治欠薪线索反映平台"
    wb = openpyxl.load_workbook(io.BytesIO(get(demo, "/api/v1/reports/monthly.xlsx",
                                               month="2025-11").content))
    values = list(wb["欠薪案件台账"].iter_rows(values_only=True))
    head = next(n for n, row in enumerate(values) if "来源" in row)
    col = values[head].index("来源")
    shown = {row[col] for row in values[head + 1:]} - {None}
    assert {"巡查发现", "12345政务服务热线", "全国根治欠薪线索反映平台"} <= shown, shown
