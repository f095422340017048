"""Importing the site list an office already keeps (.xlsx or .csv) into the registry.

Every row is validated first; if any row is invalid nothing is written and
all errors come back, each naming its spreadsheet row ("第3行 (row 3): …").
A row whose name and village match a live site updates that site; any
other row creates a site. All writes go through ``ServerWriter`` in one
transaction, so devices pull them like any other change.

Columns are found by their Chinese or English header (``COLUMNS``); the
header row may sit below a title row. Blank cells leave a site's stored
value alone. See docs/cli.md, "import-sites".
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

from shared_schema.entities import FieldTypeError, check_fields
from shared_schema.ids import uuid7
from sync_server.domain.registry.reference import NameIndex, ReferenceLookupError
from sync_server.domain.registry.service import ServerWriter
from sync_server.store.base import SyncStore

#: Column → (Chinese header, English header, other accepted headers…).
COLUMNS: dict[str, tuple[str, ...]] = {
    "name": ("项目名称", "name", "名称", "企业名称", "项目/企业名称", "site"),
    "kind": ("类型", "kind", "项目类型"),
    "village": ("所属村社区", "village", "所属村(社区)", "村社区", "村(社区)"),
    "department": ("主管部门", "department", "行业主管部门"),
    "address": ("地址", "address"),
    "lat": ("纬度", "lat", "latitude"),
    "lon": ("经度", "lon", "longitude", "lng"),
    "gov_invested": ("政府投资", "gov_invested", "是否政府投资"),
    "builder": ("建设单位", "builder"),
    "contractor": ("施工总承包", "contractor", "施工总承包单位"),
    "contract_amount": ("合同金额", "contract_amount"),
    "start_date": ("开工日期", "start_date"),
    "status": ("状态", "status"),
    "contact_name": ("联系人", "contact_name"),
    "contact_phone": ("联系电话", "contact_phone"),
    "industry": ("行业", "industry"),
}
LABELS = {column: names[0] for column, names in COLUMNS.items()}
REQUIRED_COLUMNS = ("name", "village")

KINDS = {
    "施工": "construction", "工地": "construction", "工程": "construction",
    "建筑": "construction", "construction": "construction",
    "工厂": "factory", "企业": "factory", "factory": "factory",
    "物流": "logistics", "logistics": "logistics",
    "其他": "other", "other": "other",
}
STATUSES = {
    "在建": "active", "active": "active",
    "竣工": "completed", "completed": "completed",
    "关闭": "closed", "closed": "closed",
}
BOOLS = {
    "是": True, "yes": True, "true": True, "1": True, "y": True,
    "否": False, "no": False, "false": False, "0": False, "n": False,
}
TEXT_COLUMNS = ("address", "builder", "contractor", "contact_name", "contact_phone", "industry")
#: Rows per ServerWriter: its clock ticks at most 9999 times per millisecond.
_WRITER_BATCH = 5000


class ImportFileError(ValueError):
    """The file itself cannot be used: unreadable, wrong type, no header."""


@dataclass(frozen=True)
class RowError:
    row: int  # spreadsheet row number (the header is usually row 1)
    column: str | None
    message: str  # "中文说明 (English explanation)"

    def __str__(self) -> str:
        return f"第{self.row}行 (row {self.row}): {self.message}"


@dataclass
class SiteRow:
    row: int
    name: str
    village_id: str
    fields: dict[str, Any]  # Site fields to write (checked)
    site_id: str | None = None
    action: str = ""  # "create", "update" or "unchanged"


@dataclass
class ImportResult:
    rows: list[SiteRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    dry_run: bool = False
    ignored_columns: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def written(self) -> bool:
        return self.ok and not self.dry_run


# --- reading the file ----------------------------------------------------------


def _header_key(text: Any) -> tuple[str, str]:
    """A header cell → (normalised name, unit) e.g. "合同金额（万元）" → ("合同金额", "万元")."""
    s = str(text or "").strip().lower().replace("（", "(").replace("）", ")")
    s = re.sub(r"\s+", "", s)
    unit = ""
    m = re.fullmatch(r"(.+?)\((.*)\)", s)
    if m and m.group(1) in _ALIASES:
        s, unit = m.group(1), m.group(2)
    return s, unit


_ALIASES = {
    re.sub(r"\s+", "", alias.lower()): column
    for column, aliases in COLUMNS.items() for alias in aliases
}


def _rows_of_csv(path: Path) -> Iterator[tuple[int, list[Any]]]:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:  # pragma: no cover - gb18030 decodes any byte string
        raise ImportFileError(f"{path.name}: not UTF-8 or GB18030 text")
    first = text.split("\n", 1)[0]
    delimiter = max(",\t;", key=first.count) if first else ","
    for number, row in enumerate(csv.reader(io.StringIO(text, newline=""),
                                            delimiter=delimiter), start=1):
        yield number, row


def _rows_of_xlsx(path: Path) -> Iterator[tuple[int, list[Any]]]:
    import openpyxl  # imported here: only this command needs it
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as exc:
        raise ImportFileError(f"{path.name}: cannot read the workbook ({exc})") from None
    try:
        sheet = book.worksheets[0]
        for number, row in enumerate(sheet.iter_rows(values_only=True), start=1):
            yield number, list(row)
    finally:
        book.close()


def read_table(path: str | Path) -> tuple[dict[str, tuple[int, str]], list[str],
                                          list[tuple[int, dict[str, Any]]]]:
    """Read the first sheet (or the CSV): (columns → (index, unit), ignored
    headers, [(row number, {column: cell})]). The header row is the first of
    the first ten rows that has a name column."""
    path = Path(path)
    if not path.is_file():
        raise ImportFileError(f"no file {path}")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        rows = _rows_of_csv(path)
    elif suffix in (".xlsx", ".xlsm"):
        rows = _rows_of_xlsx(path)
    else:
        raise ImportFileError(
            f"{path.name}: use an .xlsx or .csv file (got {suffix or 'no suffix'})")
    header: dict[str, tuple[int, str]] | None = None
    ignored: list[str] = []
    data: list[tuple[int, dict[str, Any]]] = []
    for number, cells in rows:
        if header is None:
            found: dict[str, tuple[int, str]] = {}
            for i, cell in enumerate(cells):
                key, unit = _header_key(cell)
                if key in _ALIASES and _ALIASES[key] not in found:
                    found[_ALIASES[key]] = (i, unit)
            if "name" in found:
                header = found
                used = {i for i, _ in found.values()}
                ignored = [str(c).strip() for i, c in enumerate(cells)
                           if i not in used and c not in (None, "")]
            elif number >= 10:
                break
            continue
        values = {col: cells[i] if i < len(cells) else None for col, (i, _) in header.items()}
        if all(_blank(v) for v in values.values()):
            continue
        data.append((number, values))
    if header is None:
        raise ImportFileError(
            f"{path.name}: no header row with a 项目名称/name column in the first 10 rows")
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise ImportFileError(
            f"{path.name}: missing column(s) "
            + ", ".join(f"{LABELS[c]}/{c}" for c in missing))
    return header, ignored, data


# --- parsing cells -------------------------------------------------------------


class _CellError(ValueError):
    pass


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _text(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a phone number typed into a number cell
    return str(value).strip()


def _number(value: Any, label: str, unit: str = "") -> float:
    if isinstance(value, bool):
        raise _CellError(f"{label} '{value}' 不是数字 (not a number)")
    scale = 10_000 if "万" in unit else 1
    if isinstance(value, (int, float)):
        number = float(value)
    else:
        s = str(value).strip().replace(",", "").replace("，", "").replace("¥", "")
        if s.endswith("元"):
            s = s[:-1]
        if s.endswith("万"):
            s, scale = s[:-1], 10_000
        try:
            number = float(s)
        except ValueError:
            raise _CellError(f"{label} '{value}' 不是数字 (not a number)") from None
    if not math.isfinite(number):
        raise _CellError(f"{label} '{value}' 不是数字 (not a number)")
    return number * scale


def _date(value: Any, label: str) -> str:
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    s = str(value).strip()
    m = re.fullmatch(r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?", s)
    if m:
        try:
            return dt.date(*map(int, m.groups())).isoformat()
        except ValueError:
            pass
    raise _CellError(f"{label} '{value}' 不是日期 YYYY-MM-DD (not a date; use YYYY-MM-DD)")


def _choice(value: Any, table: dict[str, Any], label: str, english: str) -> Any:
    key = _text(value).lower()
    if key in table:
        return table[key]
    zh = "/".join(k for k in table if not k.isascii())
    en = ", ".join(sorted({k for k in table if k.isascii() and k.isalpha() and len(k) > 1}))
    raise _CellError(f"{label} '{_text(value)}' 不是 {zh} 之一 (unknown {english} "
                     f"'{_text(value)}'; use {en})")


def _bool(value: Any, label: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)) and value in (0, 1):
        return bool(value)
    key = _text(value).lower()
    if key in BOOLS:
        return BOOLS[key]
    raise _CellError(f"{label} '{_text(value)}' 应为 是/否 (use yes/no, true/false or 1/0)")


# --- validating and importing --------------------------------------------------


def _parse_row(number: int, cells: dict[str, Any], units: dict[str, str],
               villages: NameIndex, departments: NameIndex,
               errors: list[RowError]) -> tuple[str, str | None, dict[str, Any]] | None:
    """(name, village_id, fields) for a row, or None after adding its errors."""
    out: dict[str, Any] = {}
    before = len(errors)

    def fail(column: str | None, message: str) -> None:
        errors.append(RowError(number, column, message))

    def cell(column: str) -> Any:
        value = cells.get(column)
        return None if _blank(value) else value

    name = _text(cell("name")) if cell("name") is not None else ""
    if not name:
        fail("name", "缺少项目名称 (missing name)")
    elif len(name) > 200:
        fail("name", "项目名称超过200字 (name is longer than 200 characters)")
    village_id: str | None = None
    if cell("village") is None:
        fail("village", "缺少所属村社区 (missing village)")
    else:
        try:
            rec = villages.find(_text(cell("village")))
        except ReferenceLookupError as exc:
            rec = None
            fail("village", f"所属村社区不唯一 ({exc})")
        else:
            if rec is None:
                fail("village", f"所属村社区 '{_text(cell('village'))}' 不存在 "
                                f"(unknown village '{_text(cell('village'))}')")
        if rec is not None:
            village_id = rec.id
            out["village_id"] = rec.id
    if cell("department") is not None:
        try:
            rec = departments.find(_text(cell("department")))
        except ReferenceLookupError as exc:
            fail("department", f"主管部门不唯一 ({exc})")
        else:
            if rec is None:
                fail("department", f"主管部门 '{_text(cell('department'))}' 不存在 "
                                   f"(unknown department '{_text(cell('department'))}')")
            else:
                out["department_id"] = rec.id
    parsers = {
        "kind": lambda v: _choice(v, KINDS, LABELS["kind"], "kind"),
        "status": lambda v: _choice(v, STATUSES, LABELS["status"], "status"),
        "gov_invested": lambda v: _bool(v, LABELS["gov_invested"]),
        "start_date": lambda v: _date(v, LABELS["start_date"]),
        "lat": lambda v: _number(v, LABELS["lat"]),
        "lon": lambda v: _number(v, LABELS["lon"]),
        "contract_amount": lambda v: _number(v, LABELS["contract_amount"],
                                             units.get("contract_amount", "")),
    }
    for column, parse in parsers.items():
        if cell(column) is not None:
            try:
                out[column] = parse(cell(column))
            except _CellError as exc:
                fail(column, str(exc))
    for column in TEXT_COLUMNS:
        if cell(column) is not None:
            out[column] = _text(cell(column))
    if "lat" in out and not -90 <= out["lat"] <= 90:
        fail("lat", f"纬度 {out['lat']} 超出范围 (latitude must be within -90..90)")
    if "lon" in out and not -180 <= out["lon"] <= 180:
        fail("lon", f"经度 {out['lon']} 超出范围 (longitude must be within -180..180)")
    if ("lat" in out) != ("lon" in out) and not any(e.column in ("lat", "lon")
                                                    for e in errors[before:]):
        fail("lat", "纬度和经度须同时填写 (give both lat and lon, or neither)")
    if out.get("contract_amount", 0) < 0:
        fail("contract_amount", "合同金额不能为负 (contract amount cannot be negative)")
    if len(errors) > before:
        return None
    out["name"] = name
    try:
        fields = check_fields("site", out)
    except FieldTypeError as exc:  # a bug here, but never write a bad row
        fail(None, f"字段类型错误 (invalid field: {exc})")
        return None
    return name, village_id, fields


def validate_sites(store: SyncStore, path: str | Path) -> ImportResult:
    """Read and check every row; decide create or update for each. Writes nothing."""
    header, ignored, table = read_table(path)
    units = {column: unit for column, (_, unit) in header.items()}
    villages = NameIndex.of(store, "village")
    departments = NameIndex.of(store, "department")
    existing: dict[tuple[str, str], list[Any]] = {}
    for site in store.records("site"):
        if not site.deleted and site.data.get("village_id"):
            key = ((site.data.get("name") or "").strip(), site.data["village_id"])
            existing.setdefault(key, []).append(site)
    result = ImportResult(ignored_columns=ignored)
    first_row: dict[str, int] = {}
    for number, cells in table:
        raw_name = "" if _blank(cells.get("name")) else _text(cells["name"])
        if raw_name in first_row:
            result.errors.append(RowError(
                number, "name",
                f"项目名称 '{raw_name}' 与第{first_row[raw_name]}行重复 "
                f"(duplicate name, first on row {first_row[raw_name]})"))
        elif raw_name:
            first_row[raw_name] = number
        parsed = _parse_row(number, cells, units, villages, departments, result.errors)
        if parsed is None or first_row.get(raw_name) != number:
            continue
        name, village_id, fields = parsed
        row = SiteRow(row=number, name=name, village_id=village_id or "", fields=fields)
        matches = existing.get((name, row.village_id), [])
        if len(matches) > 1:
            result.errors.append(RowError(
                number, "name",
                f"项目名称 '{name}' 在该村社区已有{len(matches)}个工地，无法确定更新哪一个 "
                f"({len(matches)} existing sites have this name and village; "
                "rename one of them first)"))
            continue
        if matches:
            site = matches[0]
            row.site_id = site.id
            changed = any(site.data.get(k) != v for k, v in fields.items())
            row.action = "update" if changed else "unchanged"
        else:
            if "kind" not in fields:
                result.errors.append(RowError(
                    number, "kind", "新工地缺少类型 (a new site needs a kind: "
                                    "construction, factory, logistics or other)"))
                continue
            fields.setdefault("status", "active")
            row.action = "create"
        result.rows.append(row)
    return result


def import_sites(store: SyncStore, path: str | Path, now_ms: int, *,
                 dry_run: bool = False) -> ImportResult:
    """Validate ``path``; unless a row is invalid or ``dry_run``, write every
    row in one transaction. ``ImportFileError`` if the file is unusable."""
    result = validate_sites(store, path)
    result.dry_run = dry_run
    counts = {"create": 0, "update": 0, "unchanged": 0}
    for row in result.rows:
        counts[row.action] += 1
    if result.errors:
        return result
    if not dry_run:
        with store.transaction() as tx:
            writer = ServerWriter(tx, now_ms)
            for i, row in enumerate(result.rows):
                if i and i % _WRITER_BATCH == 0:
                    writer = ServerWriter(tx, now_ms + i // _WRITER_BATCH)
                if row.action == "unchanged":
                    continue
                row.site_id = row.site_id or uuid7()
                writer.upsert("site", row.site_id, row.fields)
    result.created, result.updated, result.unchanged = (
        counts["create"], counts["update"], counts["unchanged"])
    return result
