"""``import-sites``: the office's site list, from .csv or .xlsx, all or nothing."""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import openpyxl
import pytest

from sync_server.domain.registry.importer import ImportFileError, import_sites

HEADER_ZH = ["项目名称", "类型", "所属村社区", "主管部门", "地址", "纬度", "经度", "政府投资",
             "建设单位", "施工总承包", "合同金额", "开工日期", "状态", "联系人", "联系电话"]
HEADER_EN = ["name", "kind", "village", "department", "address", "lat", "lon", "gov_invested",
             "builder", "contractor", "contract_amount", "start_date", "status", "contact_name",
             "contact_phone"]
ROWS = [
    ["回龙坝镇敬老院改造工程", "施工", "梁滩村(演示)", "规划建设管理环保办公室(演示)",
     "回龙坝镇梁滩村2社", "29.671", "106.401", "是", "回龙坝镇人民政府(演示)",
     "山城建筑工程有限公司(演示)", "1,250,000", "2025-03-01", "在建", "王工", "13800001001"],
    ["顺达纺织厂", "工厂", "石院村", "经济发展办公室(演示)", "回龙坝镇石院村5社", "29.684",
     "106.374", "否", "", "", "", "2019-07-15", "active", "李厂长", "13800001002"],
    ["渝西冷链物流", "logistics", "新桥村(演示)", "", "西部现代物流园8号", "", "", "", "", "",
     "", "", "", "", ""],
]


def write_csv(path: Path, header: list[str], rows: list[list[str]],
              encoding: str = "utf-8-sig") -> Path:
    with open(path, "w", newline="", encoding=encoding) as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)
    return path


def sites_by_name(api, db):
    with api.store(db) as store:
        return {s.data["name"]: s for s in store.records("site") if not s.deleted}


def test_valid_csv_imports(db, api, tmp_path):
    before = sites_by_name(api, db)
    path = write_csv(tmp_path / "sites.csv", HEADER_ZH, ROWS)
    with api.store(db) as store:
        result = import_sites(store, path, api.now + 1000)
        villages = {v.data["name"]: v.id for v in store.records("village")}
    assert result.ok and result.errors == []
    assert (result.created, result.updated, result.unchanged) == (3, 0, 0)
    assert [r.row for r in result.rows] == [2, 3, 4]
    after = sites_by_name(api, db)
    assert len(after) == len(before) + 3
    home = after["回龙坝镇敬老院改造工程"]
    assert home.data["kind"] == "construction" and home.data["gov_invested"] is True
    assert home.data["contract_amount"] == 1_250_000
    assert home.data["village_id"] == villages["梁滩村(演示)"] == home.village_id
    assert home.data["start_date"] == "2025-03-01" and home.data["status"] == "active"
    assert home.data["lat"] == 29.671 and home.data["contact_phone"] == "13800001001"
    factory = after["顺达纺织厂"]
    assert factory.data["village_id"] == villages["石院村(演示)"]  # found without "(演示)"
    assert factory.data["gov_invested"] is False and "builder" not in factory.data
    cold = after["渝西冷链物流"]
    assert cold.data["kind"] == "logistics" and cold.data["status"] == "active"
    assert cold.department_id is None and "lat" not in cold.data


def test_valid_xlsx_imports_with_title_row_dates_and_numbers(db, api, tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["回龙坝镇在建项目及企业台账"])  # a title row above the header
    sheet.append(HEADER_EN[:4] + ["合同金额（万元）", "开工日期", "政府投资", "联系电话", "备注"])
    sheet.append(["回龙坝镇文化站改造", "construction", "回龙社区(演示)",
                  "规划建设管理环保办公室(演示)", 350, dt.datetime(2024, 5, 6), True,
                  13800001003, "无"])
    sheet.append(["恒通机械加工厂", "工厂", "大林村(演示)", "经济发展办公室(演示)", None,
                  dt.date(2016, 1, 2), 0, "13800001004", None])
    sheet.append([None] * 9)  # blank rows are skipped
    path = tmp_path / "sites.xlsx"
    book.save(path)
    with api.store(db) as store:
        result = import_sites(store, path, api.now + 1000)
    assert result.ok, [str(e) for e in result.errors]
    assert result.created == 2 and [r.row for r in result.rows] == [3, 4]
    assert result.ignored_columns == ["备注"]
    sites = sites_by_name(api, db)
    hall = sites["回龙坝镇文化站改造"].data
    assert hall["contract_amount"] == 3_500_000  # 350 万元
    assert hall["start_date"] == "2024-05-06" and hall["gov_invested"] is True
    assert hall["contact_phone"] == "13800001003"
    mill = sites["恒通机械加工厂"].data
    assert mill["kind"] == "factory" and mill["start_date"] == "2016-01-02"
    assert mill["gov_invested"] is False


def test_invalid_file_imports_nothing_and_lists_every_bad_row(db, api, tmp_path, cli):
    rows = [list(r) for r in ROWS]
    rows[0][1] = "xx"  # row 2: unknown kind
    rows[2][2] = "不存在村"  # row 4: unknown village
    rows[2][10] = "很多"  # row 4: bad number
    path = write_csv(tmp_path / "bad.csv", HEADER_ZH, rows)
    before = sites_by_name(api, db)
    with api.store(db) as store:
        rev = store.max_rev()
        result = import_sites(store, path, api.now + 1000)
        assert store.max_rev() == rev
    assert not result.ok and result.created == result.updated == 0
    assert sorted({e.row for e in result.errors}) == [2, 4]
    text = "\n".join(str(e) for e in result.errors)
    assert "第2行 (row 2): 类型 'xx' 不是" in text and "unknown kind 'xx'" in text
    assert "第4行 (row 4)" in text and "unknown village '不存在村'" in text
    assert "合同金额 '很多' 不是数字" in text
    res = cli("import-sites", path, "--db", db)
    assert res.code == 1
    assert "第2行 (row 2)" in res.err and "第4行 (row 4)" in res.err
    assert "nothing imported: 3 error(s) in 2 row(s)" in res.err
    assert "Traceback" not in res.err
    assert sites_by_name(api, db).keys() == before.keys()


@pytest.mark.parametrize("cells, message", [
    ({0: ""}, "缺少项目名称 (missing name)"),
    ({2: ""}, "missing village"),
    ({3: "不存在办"}, "unknown department '不存在办'"),
    ({5: "north"}, "纬度 'north' 不是数字"),
    ({5: "129.6"}, "latitude must be within -90..90"),
    ({6: ""}, "give both lat and lon"),
    ({7: "maybe"}, "政府投资 'maybe' 应为 是/否"),
    ({10: "-5"}, "contract amount cannot be negative"),
    ({11: "2025-02-30"}, "开工日期 '2025-02-30' 不是日期"),
    ({11: "next week"}, "not a date; use YYYY-MM-DD"),
    ({12: "停工"}, "unknown status '停工'"),
    ({1: ""}, "a new site needs a kind"),
])
def test_each_row_error(db, api, tmp_path, cells, message):
    row = list(ROWS[0])
    for i, value in cells.items():
        row[i] = value
    path = write_csv(tmp_path / "one.csv", HEADER_ZH, [row])
    with api.store(db) as store:
        result = import_sites(store, path, api.now)
    assert [e.row for e in result.errors] == [2]
    assert message in str(result.errors[0])


def test_duplicate_name_within_file(db, api, tmp_path):
    path = write_csv(tmp_path / "dup.csv", HEADER_ZH, [ROWS[0], ROWS[1], ROWS[0]])
    with api.store(db) as store:
        result = import_sites(store, path, api.now)
    assert [str(e) for e in result.errors] == [
        "第4行 (row 4): 项目名称 '回龙坝镇敬老院改造工程' 与第2行重复 (duplicate name, first on row 2)"]


def test_reimport_updates_instead_of_duplicating(db, api, tmp_path, cli):
    path = write_csv(tmp_path / "sites.csv", HEADER_ZH, ROWS)
    assert cli("import-sites", path, "--db", db).code == 0
    first = sites_by_name(api, db)
    rows = [list(r) for r in ROWS]
    rows[0][12] = "竣工"  # completed
    rows[0][14] = "13800001999"
    write_csv(path, HEADER_ZH, rows)
    res = cli("import-sites", path, "--db", db)
    assert res.code == 0, res.err
    assert "created 0, updated 1, unchanged 2" in res.out
    second = sites_by_name(api, db)
    assert second.keys() == first.keys()
    home = second["回龙坝镇敬老院改造工程"]
    assert home.id == first["回龙坝镇敬老院改造工程"].id
    assert home.data["status"] == "completed" and home.data["contact_phone"] == "13800001999"
    assert home.rev > first["回龙坝镇敬老院改造工程"].rev
    assert second["顺达纺织厂"].rev == first["顺达纺织厂"].rev


def test_import_updates_a_demo_site_and_blank_cells_keep_values(db, api, tmp_path):
    before = sites_by_name(api, db)["区科技创新中心"]
    path = write_csv(tmp_path / "u.csv", ["项目名称", "所属村社区", "状态"],
                     [["区科技创新中心", "回龙社区(演示)", "竣工"]])
    with api.store(db) as store:
        result = import_sites(store, path, api.now + 5000)
    assert (result.created, result.updated) == (0, 1)
    after = sites_by_name(api, db)["区科技创新中心"]
    assert after.id == before.id and after.data["status"] == "completed"
    assert after.data["contractor"] == before.data["contractor"]


def test_dry_run_writes_nothing(db, api, tmp_path, cli):
    path = write_csv(tmp_path / "sites.csv", HEADER_EN, ROWS)
    with api.store(db) as store:
        rev = store.max_rev()
    res = cli("import-sites", path, "--db", db, "--dry-run")
    assert res.code == 0, res.err
    assert "dry run" in res.out and "created 3" in res.out
    with api.store(db) as store:
        assert store.max_rev() == rev


def test_gbk_csv_from_excel(db, api, tmp_path):
    path = write_csv(tmp_path / "gbk.csv", HEADER_ZH, ROWS, encoding="gbk")
    with api.store(db) as store:
        result = import_sites(store, path, api.now)
    assert result.ok and result.created == 3


@pytest.mark.parametrize("name, content, message", [
    ("sites.txt", "x", "use an .xlsx or .csv file"),
    ("sites.csv", "地址,联系人\n某地,某人\n", "no header row with a 项目名称/name column"),
    ("sites.csv", "项目名称,类型\n某厂,工厂\n", "missing column(s) 所属村社区/village"),
    ("sites.xlsx", "not a zip", "cannot read the workbook"),
])
def test_unusable_files(db, api, tmp_path, cli, name, content, message):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with api.store(db) as store, pytest.raises(ImportFileError, match=message.replace("(", r"\(")
                                                     .replace(")", r"\)")):
        import_sites(store, path, api.now)
    res = cli("import-sites", path, "--db", db)
    assert res.code == 1 and message in res.err and "Traceback" not in res.err


def test_imported_sites_reach_devices_in_scope(db, api, tmp_path, cli):
    path = write_csv(tmp_path / "sites.csv", HEADER_ZH, ROWS)
    assert cli("import-sites", path, "--db", db).code == 0
    with api.client(db) as client:
        grid1 = api.pull_all(client, api.login(client, "grid1", "g1"))
        sector1 = api.pull_all(client, api.login(client, "sector1", "s1"))

    def names(changes: list[dict]) -> set[str]:
        return {c["data"]["name"] for c in changes if c["entity"] == "site"}

    assert "回龙坝镇敬老院改造工程" in names(grid1)
    assert "顺达纺织厂" not in names(grid1)
    assert "回龙坝镇敬老院改造工程" in names(sector1)
