"""The monthly report as JSON: one table per workbook sheet, plus the totals."""

from __future__ import annotations

from typing import Any

from shared_schema.base import WireStruct


class Column(WireStruct, kw_only=True, omit_defaults=False):
    key: str
    header: str  # the Chinese header of the workbook and CSV
    kind: str = "text"  # text | int | money | bool | date | rate
    width: int = 12


class Sheet(WireStruct, kw_only=True):
    name: str  # the workbook sheet name
    title: str
    columns: list[Column]
    rows: list[dict[str, Any]]


class MonthlySummary(WireStruct, kw_only=True):
    month: str  # YYYY-MM
    township: str
    generated_at: int
    projects: Sheet  # 项目台账
    enterprises: Sheet  # 企业台账
    others: Sheet  # 其他场所台账: farms, cooperatives (site kind other)
    cases: Sheet  # 欠薪案件台账
    summary: Sheet  # 汇总
    totals: dict[str, Any]  # the 汇总 figures by key
