"""Where a wage-arrears case came from (受理渠道): the one code list shared by
the phone, the server's office intake, the office console and the monthly
workbook's 来源 column.

Codes are stored on ``case.source``. Older phones stored a few other codes
for the same channels (``platform``, ``union``, ``monitoring``); they stay
valid in stored data and are read through ``canonical`` (never rewritten), so
a case keeps its meaning and shows the same label on every screen.
"""

from __future__ import annotations

#: code → (zh, en), in the order the forms offer them.
CASE_SOURCES: dict[str, tuple[str, str]] = {
    "patrol": ("巡查发现", "Found on patrol"),
    "12333": ("12333劳动保障热线", "12333 labour hotline"),
    "12345": ("12345政务服务热线", "12345 government hotline"),
    "hotline_65650178": ("镇投诉电话65650178", "Township hotline 65650178"),
    "hotline_65650431": ("镇投诉电话65650431", "Township hotline 65650431"),
    "hotline": ("镇投诉电话", "Township hotline"),
    "national_platform": ("全国根治欠薪线索反映平台", "National wage-arrears clue platform"),
    "walk_in": ("来访", "Walk-in"),
    "letter": ("来信", "Letter"),
    "notice_board": ("维权告示牌电话", "Notice-board number"),
    "trade_union": ("工会", "Trade union"),
    "bank_warning": ("农民工工资专用账户预警", "Wage-account warning"),
    "monitoring_platform": ("农民工工资支付监控预警平台", "Wage-payment monitoring and warning platform"),
}
SOURCE_CODES: tuple[str, ...] = tuple(CASE_SOURCES)

#: Codes older phones stored, and the code of the same channel in the list.
LEGACY_SOURCES: dict[str, str] = {
    "platform": "national_platform",
    "union": "trade_union",
    "monitoring": "monitoring_platform",
}

#: The channels a field officer meets on a patrol (the phone's case form).
FIELD_SOURCES: tuple[str, ...] = ("patrol", "12333", "12345", "national_platform", "walk_in",
                                  "notice_board", "hotline", "trade_union", "bank_warning",
                                  "monitoring_platform")

OTHER = ("其他来源", "Other source")


def canonical(code: str | None) -> str | None:
    """The list's code for a stored code (an old phone's code mapped), or None
    when it is not a known source."""
    if code in CASE_SOURCES:
        return code
    return LEGACY_SOURCES.get(code or "")


def source_label(code: str | None, lang: str = "zh") -> str:
    """The label of a stored source code in ``lang`` (zh or en): "—" for
    none, 其他来源 for a code no list knows (never the raw code)."""
    if not code:
        return "—"
    pair = CASE_SOURCES.get(canonical(code) or "", OTHER)
    return pair[1] if lang == "en" else pair[0]


def codes_for(code: str) -> tuple[str, ...]:
    """Every stored code that means this source (itself and its old codes)."""
    main = canonical(code) or code
    return (main, *[old for old, new in LEGACY_SOURCES.items() if new == main])
