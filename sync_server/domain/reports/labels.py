"""Chinese labels of the codes the ledger, the workbook and the printed documents show.

Case statuses are read from the case rules (``shared_schema.cases``) when they carry a
label table (``STATUS_LABELS``: code → (zh, en) or zh); until then, and for any code
that table lacks, the words below. An unknown code prints as 其他, never the code.
"""

from __future__ import annotations

from typing import Any

from shared_schema import cases as case_rules

STATUS_ZH = {"registered": "已登记", "accepted": "已受理", "resolved": "已办结（待销号）",
             "closed": "已销号", "referred": "已移送", "dismissed": "不予受理/转办"}
LEVEL_ZH = {"village": "村(社区)", "township": "镇级", "leading_group": "领导小组",
            "tackle_team": "攻坚组", "district": "区级"}
SECTOR_ZH = {"construction": "建设领域", "non_construction": "非建设领域"}
SITE_KIND_ZH = {"construction": "工程建设项目", "factory": "工贸企业", "logistics": "物流企业",
                "other": "其他场所"}
SITE_STATUS_ZH = {"active": "在建/在营", "completed": "已完工", "closed": "已关停"}
OTHER = "其他"


def _zh(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, (tuple, list)) and value and isinstance(value[0], str):
        return value[0]
    return None


def status_label(code: str | None) -> str:
    if not code:
        return STATUS_ZH["registered"]
    table = getattr(case_rules, "STATUS_LABELS", None) or {}
    return _zh(table.get(code)) or STATUS_ZH.get(code, OTHER)


def level_label(code: str | None) -> str:
    table = getattr(case_rules, "LEVEL_LABELS", None) or {}
    return (_zh(table.get(code or "")) or LEVEL_ZH.get(code or "", OTHER)) if code else "—"


def sector_label(code: str | None) -> str:
    return SECTOR_ZH.get(code or "", OTHER) if code else "—"


def site_kind_label(code: str | None) -> str:
    return SITE_KIND_ZH.get(code or "", OTHER) if code else "—"


def site_status_label(code: str | None) -> str:
    return SITE_STATUS_ZH.get(code or "active", OTHER)
