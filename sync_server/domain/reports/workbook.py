"""The monthly ledger workbook (openpyxl) and one CSV per sheet, written from
the JSON summary so the three never disagree.

Each sheet: a title row, the Chinese header row (bold, frozen with the title
above the data), one row per record, column widths from the column spec.
Booleans are written 是/否 (blank: unknown), rates as percentages.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from sync_server.domain.reports.schema import Column, MonthlySummary, Sheet
from sync_server.domain.reports.service import RATE_KEYS

SHEET_KEYS = ("projects", "enterprises", "cases", "summary")
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
