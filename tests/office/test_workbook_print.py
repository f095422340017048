"""The monthly workbook prints as a township 台账 (issue #17): A4 landscape, one page
wide, the title and header rows on every page, the sign-off block below the data,
the rows numbered; farms and other sites in their own ledger sheet; sources,
statuses, levels and 领域 in Chinese, never a code."""

from __future__ import annotations

import io
from typing import Any

import openpyxl

from server.support import Device, World
from sync_server.domain.reports.workbook import SIGN_OFF

from .test_reports import demo  # noqa: F401  (the seeded demo fixture)

CODES = ("registered", "accepted", "resolved", "closed", "construction", "non_construction",
         "village", "township", "leading_group", "tackle_team", "letter", "patrol", "walk_in",
         "national_platform")


def workbook(demo: dict[str, Any]) -> openpyxl.Workbook:  # noqa: F811
    r = demo["app"].client.get("/api/v1/reports/monthly.xlsx", params={"month": "2025-11"},
                               headers=demo["office"])
    assert r.status_code == 200, r.text
    return openpyxl.load_workbook(io.BytesIO(r.content))


def test_every_sheet_prints_a4_landscape_one_page_wide_with_headers_repeated(
        demo: dict[str, Any]) -> None:  # noqa: F811
    wb = workbook(demo)
    for ws in wb.worksheets:
        assert ws.page_setup.orientation == "landscape", ws.title
        assert int(ws.page_setup.paperSize) == int(ws.PAPERSIZE_A4) == 9
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert int(ws.page_setup.fitToWidth) == 1 and int(ws.page_setup.fitToHeight) == 0
        assert ws.print_title_rows == "$1:$2"
        assert ws.page_margins.left < 0.75  # narrower than Excel's default
        assert "&P" in ws.oddFooter.center.text


def test_the_sign_off_block_follows_the_data_and_rows_are_numbered(
        demo: dict[str, Any]) -> None:  # noqa: F811
    wb = workbook(demo)
    summary = demo["app"].client.get("/api/v1/reports/summary", params={"month": "2025-11"},
                                     headers=demo["office"]).json()
    for key, ws in zip(("projects", "enterprises", "others", "cases"), wb.worksheets,
                       strict=False):
        rows = summary[key]["rows"]
        assert ws.cell(row=2, column=1).value == "序号"
        assert [ws.cell(row=3 + n, column=1).value for n in range(len(rows))] == \
            list(range(1, len(rows) + 1))
        sign_row = [c for c in next(ws.iter_rows(min_row=4 + len(rows), max_row=4 + len(rows),
                                                 values_only=True)) if c]
        assert len(sign_row) == len(SIGN_OFF), (ws.title, sign_row)
        assert sign_row[0].startswith("填报单位（盖章）") and sign_row[1] == "填报人："
        assert sign_row[2] == "审核人：" and sign_row[3].startswith("日期")


def test_farms_and_cooperatives_have_their_own_ledger(demo: dict[str, Any]) -> None:  # noqa: F811
    summary = demo["app"].client.get("/api/v1/reports/summary", params={"month": "2025-11"},
                                     headers=demo["office"]).json()
    others = summary["others"]
    assert others["name"] == "其他场所台账"
    sites = [s for s in demo["app"].store.records("site")
             if s.data.get("kind") == "other" and not s.deleted]
    assert sites and len(others["rows"]) == len(sites)
    assert {r["site"] for r in others["rows"]} == {s.data["name"] for s in sites}
    enterprise_names = {r["enterprise"] for r in summary["enterprises"]["rows"]}
    assert not enterprise_names & {s.data["name"] for s in sites}


def test_no_code_is_shown_in_any_sheet(demo: dict[str, Any]) -> None:  # noqa: F811
    wb = workbook(demo)
    cells = {v for ws in wb.worksheets for row in ws.iter_rows(min_row=3, values_only=True)
             for v in row if isinstance(v, str)}
    assert not cells & set(CODES), cells & set(CODES)
    cases = wb["欠薪案件台账"]
    header = [c.value for c in cases[2]]
    sector = {row[header.index("行业类别")] for row in cases.iter_rows(min_row=3, values_only=True)
              if row[0] is not None and isinstance(row[0], int)}
    assert sector <= {"建设领域", "非建设领域", None}, sector


def test_the_ledger_source_filter_matches_older_phone_codes(
        world: World, grid1: Device, office: dict[str, str]) -> None:
    from server.support import record_case

    old = record_case(grid1, world.site1, title="旧码", source="platform")
    new = record_case(grid1, world.site1, title="新码", source="national_platform")
    record_case(grid1, world.site1, title="别的", source="patrol")
    for code in ("national_platform", "platform"):
        r = world.http.get("/api/v1/cases", params={"source": code}, headers=office)
        assert r.status_code == 200, r.text
        assert {c["case"]["id"] for c in r.json()["items"]} == {old, new}
        assert r.json()["page"]["total"] == 2
    r = world.http.get("/api/v1/cases", params={"source": "patrol", "limit": 1}, headers=office)
    assert r.json()["page"]["total"] == 1
