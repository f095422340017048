"""The monthly ledger workbook (openpyxl) and one CSV per sheet, written from
the JSON summary so the three never disagree.

Each sheet: a title row, the Chinese header row (bold, frozen with the title
above the data), one row per record, column widths from the column spec.
Booleans are written 是/否 (blank: unknown), rates as percentages.

Printing: A4 landscape, fitted to one page wide (as many pages tall as it
takes), the title and header rows repeated on every page, narrow margins,
centred, "第 N 页 共 M 页" in the footer; below the data the sign-off block a
township's 台账 carries (填报单位（盖章）, 填报人, 审核人, 日期), the rows
numbered in the 序号 column.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.page import PageMargins
from openpyxl.worksheet.worksheet import Worksheet

from sync_server.domain.reports.schema import Column, MonthlySummary, Sheet
from sync_server.domain.reports.service import RATE_KEYS

SHEET_KEYS = ("projects", "enterprises", "others", "cases", "summary")
HEADER_ROW = 2  # row 1 is the title
_HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")


def sheets(summary: MonthlySummary) -> list[Sheet]:
    return [getattr(summary, k) for k in SHEET_KEYS]


def cell_value(column: Column, row: dict[str, Any]) -> Any:
    """The value a cell holds: 是/否 for booleans, None for unknown."""
    value = row.get(column.key)
    if column.kind == "bool" or isinstance(value, bool):
        return None if value is None else ("是" if value else "否")
    if isinstance(value, str):
        # A device may type control characters (a case title, an employer);
        # openpyxl refuses them, which made the whole workbook a 500.
        return ILLEGAL_CHARACTERS_RE.sub("", value)
    return value


def _number_format(column: Column, row: dict[str, Any]) -> str | None:
    if column.kind == "money":
        return "#,##0.00"
    if column.kind == "number" and row.get("key") in RATE_KEYS:
        return "0.00%"
    return None


#: The sign-off block below each sheet's data: label, then blank space to sign in.
SIGN_OFF = ("填报单位（盖章）：", "填报人：", "审核人：", "日期：　　年　　月　　日")
ISSUER = "回龙坝镇劳动保障所"


def print_setup(ws: Worksheet, columns: int) -> None:
    """A4 landscape, one page wide, title and header rows on every page."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.page_setup.fitToWidth = 1
    ws.page_setup.fitToHeight = 0  # as many pages tall as the rows need
    ws.sheet_properties.pageSetUpPr.fitToPage = True
    ws.print_title_rows = f"1:{HEADER_ROW}"
    ws.page_margins = PageMargins(left=0.4, right=0.4, top=0.6, bottom=0.6,
                                  header=0.3, footer=0.3)
    ws.print_options.horizontalCentered = True
    ws.oddFooter.center.text = "第 &P 页 共 &N 页"
    ws.print_area = f"A1:{get_column_letter(columns)}{ws.max_row}"


def sign_off(ws: Worksheet, after_row: int, columns: int) -> int:
    """The sign-off block two rows below the data, spread over the sheet's
    width; the row it is on."""
    row = after_row + 2
    span = max(1, columns // len(SIGN_OFF))
    for k, label in enumerate(SIGN_OFF):
        text = label + (ISSUER if k == 0 else "")
        cell = ws.cell(row=row, column=1 + k * span, value=text)
        cell.font = Font(size=11)
    return row


def workbook_bytes(summary: MonthlySummary) -> bytes:
    wb = Workbook()
    wb.remove(wb.active)
    for sheet in sheets(summary):
        ws = wb.create_sheet(sheet.name)
        ws.cell(row=1, column=1, value=sheet.title).font = Font(bold=True, size=14)
        for i, column in enumerate(sheet.columns, start=1):
            cell = ws.cell(row=HEADER_ROW, column=i, value=column.header)
            cell.font = Font(bold=True)
            cell.fill = _HEADER_FILL
            cell.alignment = Alignment(horizontal="center", vertical="center", wrap_text=True)
            ws.column_dimensions[get_column_letter(i)].width = column.width
        for r, row in enumerate(sheet.rows, start=HEADER_ROW + 1):
            for i, column in enumerate(sheet.columns, start=1):
                cell = ws.cell(row=r, column=i, value=cell_value(column, row))
                if cell.data_type == "f":
                    # openpyxl takes text starting with "=" for a formula: text a
                    # device typed (an employer, a site name) stays text.
                    cell.data_type = "s"
                fmt = _number_format(column, row)
                if fmt:
                    cell.number_format = fmt
        ws.freeze_panes = ws.cell(row=HEADER_ROW + 1, column=1)
        sign_off(ws, HEADER_ROW + len(sheet.rows), len(sheet.columns))
        print_setup(ws, len(sheet.columns))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def csv_text(sheet: Sheet) -> str:
    """One sheet as CSV: the header row and the data rows (no title row)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([c.header for c in sheet.columns])
    for row in sheet.rows:
        writer.writerow(["" if (v := cell_value(c, row)) is None else _csv_text(v)
                         for c in sheet.columns])
    return out.getvalue()


#: What a spreadsheet evaluates at the start of a CSV cell (OWASP, "CSV Injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _csv_text(value: Any) -> Any:
    """Text starting like a formula gets a leading ``'``, so Excel shows it
    as text instead of evaluating what a device typed; numbers stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value
