"""The words a township labour office writes (issue #17): every Chinese string the
phone, the console, the workbook and the printed documents show uses the office's
terms, one word for each thing, and a server error a staff member meets has Chinese
words in the console (never the server's English)."""

from __future__ import annotations

import re

import pytest

from field_app.ui.i18n import STRINGS
from shared_schema import cases as case_rules
from shared_schema.case_sources import CASE_SOURCES
from sync_server.domain.reports import labels
from sync_server.domain.reports.service import INDICATORS, SIX_LABELS
from sync_server.errors import STATUS

#: A variant the office does not write → the word it writes.
FORBIDDEN: dict[str, str] = {
    r"劳动保障所工作台": "劳保所工作台",
    r"立案": "新登记线索 (立案 is an act of labour inspection)",
    r"在场": "在岗",
    r"投诉人": "反映人",
    r"已关闭": "已关停",
    r"非工程建设": "非建设领域",
    r"工程建设(?!项目)": "建设领域 (a 领域), 工程建设项目 (a site)",
    r"工厂企业": "工贸企业",
    r"(?<!农民工)工资专用账户": "农民工工资专用账户",
    r"(?<!工资支付)监测预警平台": "农民工工资支付监控预警平台",
    r"(?<!主管部门)行业巡查员": "行业主管部门巡查员",
    r"已解决": "已办结（待销号）",
    r"^有问题$": "存在问题，限期整改",
    r"批准，交攻坚组": "审定同意，交攻坚组处置",
    r"提请领导小组(?!审定)": "提请领导小组审定",
}

#: Keys whose words are fixed by the plan.
EXACT = {
    "office.title": "劳保所工作台",
    "sector.construction": "建设领域",
    "sector.non_construction": "非建设领域",
    "kind.factory": "工贸企业",
    "kind.logistics": "物流企业",
    "status.resolved": "已办结（待销号）",
    "event.request_leading_group": "提请领导小组审定",
    "event.approve_escalation": "审定同意，交攻坚组处置",
    "review.has_issues": "存在问题，限期整改",
    "six.account": "农民工工资专用账户",
    "role.sector_inspector": "行业主管部门巡查员",
    "role.leader": "分管领导",
    "source.national_platform": "全国根治欠薪线索反映平台",
    "source.monitoring_platform": "农民工工资支付监控预警平台",
}


def offending(texts: dict[str, str]) -> list[str]:
    return [f"{where}: {text!r} ({pattern} → {word})" for where, text in texts.items()
            for pattern, word in FORBIDDEN.items() if re.search(pattern, text)]


def test_the_string_tables_use_the_offices_words() -> None:
    assert offending({key: zh for key, (zh, _) in STRINGS.items()}) == []


@pytest.mark.parametrize("key,word", sorted(EXACT.items()))
def test_the_plans_terms(key: str, word: str) -> None:
    assert STRINGS[key][0] == word


def test_the_ledgers_and_documents_use_the_offices_words() -> None:
    texts = {f"labels.{name}.{code}": zh for name in ("STATUS_ZH", "LEVEL_ZH", "SECTOR_ZH",
                                                        "SITE_KIND_ZH", "SITE_STATUS_ZH")
             for code, zh in getattr(labels, name).items()}
    texts |= {f"source.{code}": zh for code, (zh, _) in CASE_SOURCES.items()}
    texts |= {f"six.{code}": zh for code, zh in SIX_LABELS.items()}
    texts |= {f"indicator.{key}": f"{label} {basis}" for key, label, _, basis in INDICATORS}
    assert offending(texts) == []
    assert labels.sector_label("construction") == "建设领域"
    assert labels.status_label("resolved") == "已办结（待销号）"


def test_the_case_rules_labels_use_the_offices_words() -> None:
    texts = {f"transition.{kind}": t.label_zh for kind, t in case_rules.TRANSITIONS.items()}
    assert offending(texts) == []


def test_every_error_code_has_chinese_words_for_staff() -> None:
    missing = [code for code in STATUS if f"err.{code}" not in STRINGS]
    assert missing == []
    assert all(re.search(r"[\u4e00-\u9fff]", STRINGS[f"err.{code}"][0]) for code in STATUS)
