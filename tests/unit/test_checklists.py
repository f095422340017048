"""Checklist templates (data) and the pure rules in shared_schema.checklists."""

from __future__ import annotations

import re

import msgspec
import pytest

from shared_schema.checklists import (
    ANSWER_ERROR_CODES,
    HEADCOUNT_KINDS,
    SIX_SYSTEMS,
    AnswerError,
    ChecklistTemplate,
    TemplateNotFoundError,
    headcounts,
    load_templates,
    missing_for_submit,
    six_systems,
    template_for_site_kind,
    validate_answer,
)

CONSTRUCTION = "tpl-construction-v1"
ENTERPRISE = "tpl-enterprise-v1"
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")

# (template, code, Chinese label exactly as in the reference table, basis fragment or None)
REFERENCE_ITEMS = [
    (CONSTRUCTION, "C01", "建设资金落实/施工许可", "第二十三条"),
    (CONSTRUCTION, "C02", "工程款支付担保", "第二十四条、第五十七条"),
    (CONSTRUCTION, "C03", "人工费拨付周期≤1个月", "第二十四条"),
    (CONSTRUCTION, "C04", "开立农民工工资专用账户", "人社部发〔2021〕53号"),
    (CONSTRUCTION, "C05", "专户开户后30日内备案", "渝人社发〔2022〕45号"),
    (CONSTRUCTION, "C06", "建设单位按月足额拨付人工费", "第二十九条、第五十七条"),
    (CONSTRUCTION, "C07", "工资保证金已存储或有保函", "人社部发〔2021〕65号"),
    (CONSTRUCTION, "C08", "现场在岗人数", None),
    (CONSTRUCTION, "C09", "签订劳动合同人数", "第二十八条"),
    (CONSTRUCTION, "C10", "实名制登记人数", "第二十八条、第五十五条"),
    (CONSTRUCTION, "C11", "有无未登记人员进场", "第二十八条"),
    (CONSTRUCTION, "C12", "考勤记录完整", "第二十八条"),
    (CONSTRUCTION, "C13", "配备劳资专管员", "第二十八条"),
    (CONSTRUCTION, "C14", "用工管理台账(保存≥3年)", "第二十八条"),
    (CONSTRUCTION, "C15", "分包单位按月编制工资支付表并经本人签字", "第三十一条、第五十六条"),
    (CONSTRUCTION, "C16", "总包通过专户代发工资", "第三十一条"),
    (CONSTRUCTION, "C17", "按月足额支付(最近已发月份)", "第三条、第十二条"),
    (CONSTRUCTION, "C18", "工资支付台账(保存≥3年)", "第十五条、第五十四条"),
    (CONSTRUCTION, "C19", "向工人提供工资清单", "第十五条、第五十四条"),
    (CONSTRUCTION, "C20", "工资卡/社保卡未被扣押", "第三十一条、第五十四条"),
    (CONSTRUCTION, "C21", "以货币支付，无实物抵工资", "第十一条、第五十四条"),
    (CONSTRUCTION, "C22", "设立维权信息告示牌", "第三十四条、第五十六条"),
    (CONSTRUCTION, "C22a", "告示牌列明各方单位及劳资专管员", "第三十四条第（一）项"),
    (CONSTRUCTION, "C22b", "告示牌列明最低工资标准及发薪日", "第三十四条第（二）项"),
    (CONSTRUCTION, "C22c", "告示牌列明投诉、仲裁、法律援助热线", "第三十四条第（三）项"),
    (CONSTRUCTION, "C23", "有无转包、违法分包、挂靠", "第三十六条、第四十三条"),
    (CONSTRUCTION, "C24", "访谈工人数 / 其中反映欠薪人数", None),
    (CONSTRUCTION, "C25", "有无集体讨薪苗头", "第二十九条"),
    (CONSTRUCTION, "C26", "整改意见及期限", None),
    (ENTERPRISE, "E01", "建立职工名册", "《中华人民共和国劳动合同法》第七条"),
    (ENTERPRISE, "E02", "在岗人数 / 其中农民工人数", None),
    (ENTERPRISE, "E03", "签订书面劳动合同人数(用工1个月内)", "劳动合同法》第十条、第八十二条"),
    (ENTERPRISE, "E04", "书面约定工资标准、支付时间和方式", "第六条"),
    (ENTERPRISE, "E05", "固定发薪日", "《工资支付暂行规定》第七条"),
    (ENTERPRISE, "E06", "最近一期按时足额发放", "劳动合同法》第三十条"),
    (ENTERPRISE, "E07", "以货币支付给本人", "第十一条"),
    (ENTERPRISE, "E08", "书面工资支付台账保存≥3年", "第十五条"),
    (ENTERPRISE, "E09", "提供工资清单", "第十五条"),
    (ENTERPRISE, "E10", "不低于最低工资标准", "《劳动保障监察条例》第二十六条"),
    (ENTERPRISE, "E11", "被欠薪人数 / 金额 / 期间", None),
    (ENTERPRISE, "E12", "劳务派遣或外包单位有资质", "第十八条"),
    (ENTERPRISE, "E13", "未扣押身份证等证件", "劳动合同法》第九条"),
    (ENTERPRISE, "E14", "经营异常信号(欠水电费、欠租、停产)", "第三十八条"),
]

# (template, code, answer type, good answer, photo rule)
ANSWER_RULES = [
    (CONSTRUCTION, "C01", "yes_no_na", "yes", "optional"),
    (CONSTRUCTION, "C04", "yes_no_na", "yes", "required"),
    (CONSTRUCTION, "C07", "yes_no_exempt", "yes", "required"),
    (CONSTRUCTION, "C08", "number", None, "required"),
    (CONSTRUCTION, "C09", "number", None, "none"),
    (CONSTRUCTION, "C10", "number", None, "none"),
    (CONSTRUCTION, "C11", "yes_no", "no", "optional"),
    (CONSTRUCTION, "C12", "yes_no", "yes", "required"),
    (CONSTRUCTION, "C15", "yes_no", "yes", "required"),
    (CONSTRUCTION, "C22", "yes_no", "yes", "required"),
    (CONSTRUCTION, "C22a", "yes_no", "yes", "none"),
    (CONSTRUCTION, "C23", "yes_no", "no", "optional"),
    (CONSTRUCTION, "C24", "numbers", None, "none"),
    (CONSTRUCTION, "C25", "yes_no", "no", "optional"),
    (CONSTRUCTION, "C26", "text", None, "none"),
    (ENTERPRISE, "E02", "numbers", None, "none"),
    (ENTERPRISE, "E03", "number", None, "none"),
    (ENTERPRISE, "E05", "number", None, "none"),
    (ENTERPRISE, "E11", "numbers", None, "none"),
    (ENTERPRISE, "E12", "yes_no_na", "yes", "none"),
    (ENTERPRISE, "E14", "yes_no", "no", "optional"),
]

# (template, code, answer, value, expected error code or None)
VALIDATION_CASES = [
    # yes/no families
    (CONSTRUCTION, "C02", "yes", None, None),
    (CONSTRUCTION, "C02", "no", None, None),
    (CONSTRUCTION, "C02", "maybe", None, "invalid_answer"),
    (CONSTRUCTION, "C02", "na", None, "invalid_answer"),
    (CONSTRUCTION, "C02", True, None, "invalid_answer"),
    (CONSTRUCTION, "C02", None, None, "invalid_answer"),
    (CONSTRUCTION, "C01", "na", None, None),
    (CONSTRUCTION, "C01", "exempt", None, "invalid_answer"),
    (CONSTRUCTION, "C07", "exempt", None, None),
    (CONSTRUCTION, "C07", "na", None, "invalid_answer"),
    (ENTERPRISE, "E12", "na", None, None),
    # number answers
    (CONSTRUCTION, "C08", 42, None, None),
    (CONSTRUCTION, "C08", 0, None, None),
    (CONSTRUCTION, "C08", 12.0, None, None),
    (CONSTRUCTION, "C08", -1, None, "negative_value"),
    (CONSTRUCTION, "C10", -3, None, "negative_value"),
    (CONSTRUCTION, "C08", 3.5, None, "invalid_answer"),
    (CONSTRUCTION, "C08", "42", None, "invalid_answer"),
    (CONSTRUCTION, "C08", True, None, "invalid_answer"),
    (CONSTRUCTION, "C08", float("nan"), None, "invalid_answer"),
    (CONSTRUCTION, "C08", "yes", None, "invalid_answer"),
    (ENTERPRISE, "E05", 15, None, None),
    (ENTERPRISE, "E05", 31, None, None),
    (ENTERPRISE, "E05", 0, None, "out_of_range"),
    (ENTERPRISE, "E05", 32, None, "out_of_range"),
    (ENTERPRISE, "E05", -5, None, "negative_value"),
    # numbers answers
    (CONSTRUCTION, "C24", {"interviewed": 6, "reporting_arrears": 2}, None, None),
    (CONSTRUCTION, "C24", {"interviewed": 6, "reporting_arrears": 7}, None, "out_of_range"),
    (CONSTRUCTION, "C24", {"interviewed": -1, "reporting_arrears": 0}, None, "negative_value"),
    (CONSTRUCTION, "C24", {"interviewed": 6}, None, "invalid_answer"),
    (CONSTRUCTION, "C24", {"interviewed": 6, "reporting_arrears": 0, "extra": 1}, None, "invalid_answer"),
    (CONSTRUCTION, "C24", {"interviewed": "6", "reporting_arrears": 0}, None, "invalid_answer"),
    (CONSTRUCTION, "C24", [6, 0], None, "invalid_answer"),
    (ENTERPRISE, "E02", {"on_site": 80, "migrant": 50}, None, None),
    (ENTERPRISE, "E02", {"on_site": 80, "migrant": 81}, None, "out_of_range"),
    (ENTERPRISE, "E11", {"workers_owed": 3, "amount_owed": 12500.5}, "2024-09至2024-11", None),
    (ENTERPRISE, "E11", {"workers_owed": 0, "amount_owed": 0}, None, None),
    (ENTERPRISE, "E11", {"workers_owed": 3, "amount_owed": -100}, None, "negative_value"),
    (ENTERPRISE, "E11", {"workers_owed": 3, "amount_owed": 100}, 202409, "invalid_value"),
    # text answers and the date value
    (CONSTRUCTION, "C26", "补办专户备案", "2025-01-31", None),
    (CONSTRUCTION, "C26", "无", None, None),
    (CONSTRUCTION, "C26", 7, None, "invalid_answer"),
    (CONSTRUCTION, "C26", "补办专户备案", "2025-02-30", "invalid_value"),
    (CONSTRUCTION, "C26", "补办专户备案", "31/01/2025", "invalid_value"),
    (CONSTRUCTION, "C26", "补办专户备案", "20250131", "invalid_value"),
    # other values
    (CONSTRUCTION, "C04", "yes", "重庆农村商业银行", None),
    (CONSTRUCTION, "C04", "yes", 123, "invalid_value"),
    (CONSTRUCTION, "C06", "yes", 350000, None),
    (CONSTRUCTION, "C06", "yes", -1, "negative_value"),
    (CONSTRUCTION, "C06", "yes", "350000", "invalid_value"),
    (CONSTRUCTION, "C07", "yes", 120000.0, None),
    (CONSTRUCTION, "C16", "yes", 37, None),
    (CONSTRUCTION, "C16", "yes", 3.5, "invalid_value"),
    (CONSTRUCTION, "C17", "yes", "2024-11", None),
    (CONSTRUCTION, "C17", "yes", "2024-13", "invalid_value"),
    (CONSTRUCTION, "C17", "yes", "2024-11-01", "invalid_value"),
    (ENTERPRISE, "E10", "yes", 2100, None),
    (ENTERPRISE, "E10", "yes", -2100, "negative_value"),
    (CONSTRUCTION, "C02", "yes", "anything", "invalid_value"),
    # unknown items
    (CONSTRUCTION, "C99", "yes", None, "unknown_template_item"),
    (CONSTRUCTION, "E01", "yes", None, "unknown_template_item"),
    (ENTERPRISE, "C01", "yes", None, "unknown_template_item"),
]

# A fully answered construction inspection.
FULL_CONSTRUCTION = {
    "C01": {"answer": "yes"},
    "C02": {"answer": "yes"},
    "C03": {"answer": "yes"},
    "C04": {"answer": "yes", "value": "重庆农村商业银行"},
    "C05": {"answer": "yes"},
    "C06": {"answer": "yes", "value": 350000},
    "C07": {"answer": "yes", "value": 120000},
    "C08": {"answer": 42},
    "C09": {"answer": 40},
    "C10": {"answer": 42},
    "C11": {"answer": "no"},
    "C12": {"answer": "yes"},
    "C13": {"answer": "yes", "value": "张三 13800000000"},
    "C14": {"answer": "yes"},
    "C15": {"answer": "yes"},
    "C16": {"answer": "yes", "value": 42},
    "C17": {"answer": "yes", "value": "2024-11"},
    "C18": {"answer": "yes"},
    "C19": {"answer": "yes"},
    "C20": {"answer": "yes"},
    "C21": {"answer": "yes"},
    "C22": {"answer": "yes"},
    "C22a": {"answer": "yes"},
    "C22b": {"answer": "yes"},
    "C22c": {"answer": "no"},
    "C23": {"answer": "no"},
    "C24": {"answer": {"interviewed": 6, "reporting_arrears": 0}},
    "C25": {"answer": "no"},
    "C26": {"answer": "告示牌补充法律援助热线", "value": "2025-01-31"},
}
FULL_CONSTRUCTION_PHOTOS = {"C04": 1, "C07": 2, "C08": 1, "C12": 1, "C15": 1}

FULL_ENTERPRISE = {
    "E01": {"answer": "yes"},
    "E02": {"answer": {"on_site": 80, "migrant": 50}},
    "E03": {"answer": 78},
    "E04": {"answer": "yes"},
    "E05": {"answer": 15},
    "E06": {"answer": "yes"},
    "E07": {"answer": "yes"},
    "E08": {"answer": "yes"},
    "E09": {"answer": "yes"},
    "E10": {"answer": "yes", "value": 2100},
    "E11": {"answer": {"workers_owed": 0, "amount_owed": 0}},
    "E12": {"answer": "na"},
    "E13": {"answer": "yes"},
    "E14": {"answer": "no"},
}


def _template(template_id: str) -> ChecklistTemplate:
    return load_templates()[template_id]


def _with(base: dict, **changes: dict | None) -> dict:
    """A copy of ``base`` with entries replaced, or removed where the change is None."""
    merged = dict(base)
    for code, entry in changes.items():
        if entry is None:
            merged.pop(code, None)
        else:
            merged[code] = entry
    return merged


# --------------------------------------------------------------------------
# Template data


def test_bundled_templates_are_keyed_by_id():
    templates = load_templates()
    assert set(templates) == {CONSTRUCTION, ENTERPRISE,  # v1 kept for stored inspections
                              "tpl-construction-v2", "tpl-enterprise-v2"}
    assert all(template.id == key for key, template in templates.items())


@pytest.mark.parametrize(
    ("template_id", "expected_codes"),
    [
        (CONSTRUCTION, [f"C{n:02d}" for n in range(1, 23)] + ["C22a", "C22b", "C22c"]
         + [f"C{n:02d}" for n in range(23, 27)]),
        (ENTERPRISE, [f"E{n:02d}" for n in range(1, 15)]),
    ],
)
def test_each_template_has_exactly_the_reference_codes_in_order(template_id, expected_codes):
    assert [item.code for item in _template(template_id).items] == expected_codes


@pytest.mark.parametrize(("template_id", "code", "zh", "basis"), REFERENCE_ITEMS)
def test_item_matches_reference(template_id, code, zh, basis):
    template = _template(template_id)
    matching = [item for item in template.items if item.code == code]
    assert len(matching) == 1
    item = matching[0]
    assert item.label.zh == zh
    assert item.label.en.strip()
    assert not CJK.search(item.label.en), "English label contains Chinese text"
    if basis is None:
        assert item.basis is None
    else:
        assert item.basis and basis in item.basis


@pytest.mark.parametrize(("template_id", "code", "answer", "good", "photo"), ANSWER_RULES)
def test_item_answer_rules(template_id, code, answer, good, photo):
    item = _template(template_id).item(code)
    assert (item.answer, item.good, item.photo) == (answer, good, photo)


@pytest.mark.parametrize(
    ("template_id", "code", "value_type", "part_keys"),
    [
        (CONSTRUCTION, "C04", "text", None),
        (CONSTRUCTION, "C06", "number", None),
        (CONSTRUCTION, "C07", "number", None),
        (CONSTRUCTION, "C13", "text", None),
        (CONSTRUCTION, "C16", "number", None),
        (CONSTRUCTION, "C17", "month", None),
        (CONSTRUCTION, "C26", "date", None),
        (ENTERPRISE, "E10", "number", None),
        (ENTERPRISE, "E11", "text", None),
        (CONSTRUCTION, "C24", None, ["interviewed", "reporting_arrears"]),
        (ENTERPRISE, "E02", None, ["on_site", "migrant"]),
        (ENTERPRISE, "E11", "text", ["workers_owed", "amount_owed"]),
    ],
)
def test_item_values_and_parts(template_id, code, value_type, part_keys):
    item = _template(template_id).item(code)
    if value_type is not None:
        assert item.value is not None and item.value.type == value_type
        assert item.value.label.zh and item.value.label.en
    if part_keys is not None:
        assert [part.key for part in item.parts] == part_keys
        assert all(part.label.zh and part.label.en and part.min == 0 for part in item.parts)


@pytest.mark.parametrize("template_id", [CONSTRUCTION, ENTERPRISE])
def test_groups_cover_every_item_once(template_id):
    template = _template(template_id)
    grouped = [code for group in template.groups for code in group.items]
    assert sorted(grouped) == sorted(item.code for item in template.items)
    assert len(grouped) == len(set(grouped))
    assert all(group.label.zh and group.label.en for group in template.groups)


@pytest.mark.parametrize("template_id", [CONSTRUCTION, ENTERPRISE])
def test_header_fields_are_not_items(template_id):
    template = _template(template_id)
    header_codes = {field.code for field in template.header}
    assert {"gps", "inspectors"} <= header_codes
    assert not header_codes & {item.code for item in template.items}
    assert all(field.label.zh and field.label.en for field in template.header)


@pytest.mark.parametrize("template_id", [CONSTRUCTION, ENTERPRISE])
def test_template_round_trips_through_msgspec(template_id):
    template = _template(template_id)
    encoded = msgspec.json.encode(template)
    assert msgspec.json.decode(encoded, type=ChecklistTemplate) == template
    assert b'"with":"C22"' in encoded or template_id == ENTERPRISE


@pytest.mark.parametrize("template_id", [CONSTRUCTION, ENTERPRISE])
def test_markers_are_consistent(template_id):
    template = _template(template_id)
    codes = {item.code for item in template.items}
    number_markers = [i.headcount for i in template.items if i.answer == "number" and i.headcount]
    part_markers = [p.headcount for i in template.items for p in i.parts if p.headcount]
    assert len(number_markers + part_markers) == len(set(number_markers + part_markers))
    for item in template.items:
        assert (item.good is not None) == item.answer.startswith("yes_no")
        assert item.parent is None or item.parent in codes
        if item.answer in ("number", "numbers"):
            assert item.min is not None or item.parts
        if item.answer == "numbers" and item.headcount:
            assert item.headcount in {p.headcount for p in item.parts}


@pytest.mark.parametrize(
    ("code", "system"),
    [("C10", "real_name"), ("C07", "deposit"), ("C04", "account"), ("C16", "bank_payroll"),
     ("C22", "notice_board"), ("C17", "monthly_full_pay")],
)
def test_six_systems_markers(code, system):
    assert _template(CONSTRUCTION).item(code).six_systems == system


def test_sub_items_belong_to_the_notice_board():
    template = _template(CONSTRUCTION)
    assert [i.code for i in template.items if i.parent] == ["C22a", "C22b", "C22c"]
    assert {i.parent for i in template.items if i.parent} == {"C22"}


@pytest.mark.parametrize(
    ("site_kind", "template_id"),
    [("construction", "tpl-construction-v2"), ("factory", "tpl-enterprise-v2"),
     ("logistics", "tpl-enterprise-v2"), ("other", "tpl-enterprise-v2")],
)
def test_template_for_site_kind(site_kind, template_id):  # the newest version (#17: v2)
    assert template_for_site_kind(site_kind).id == template_id


@pytest.mark.parametrize("site_kind", ["farm", "", "Construction"])
def test_template_for_unknown_site_kind(site_kind):
    with pytest.raises(TemplateNotFoundError) as caught:
        template_for_site_kind(site_kind)
    assert caught.value.code == "unknown_site_kind"
    assert isinstance(caught.value, LookupError)


def test_load_templates_returns_a_fresh_dict():
    first = load_templates()
    first.clear()
    assert load_templates()


# --------------------------------------------------------------------------
# validate_answer


@pytest.mark.parametrize(("template_id", "code", "answer", "value", "expected"), VALIDATION_CASES)
def test_validate_answer(template_id, code, answer, value, expected):
    template = _template(template_id)
    if expected is None:
        assert validate_answer(template, code, answer, value) is None
        return
    with pytest.raises(AnswerError) as caught:
        validate_answer(template, code, answer, value)
    error = caught.value
    assert error.code == expected
    assert error.code in ANSWER_ERROR_CODES
    assert error.details["item_code"] == code
    assert error.message and str(error) == error.message


@pytest.mark.parametrize("template_id", [CONSTRUCTION, ENTERPRISE])
def test_full_sample_inspections_validate(template_id):
    template = _template(template_id)
    answers = FULL_CONSTRUCTION if template_id == CONSTRUCTION else FULL_ENTERPRISE
    for code, entry in answers.items():
        validate_answer(template, code, entry["answer"], entry.get("value"))


# --------------------------------------------------------------------------
# missing_for_submit

MISSING_CASES = [
    # (description, template, answers, photos, expected [(code, reason)])
    ("complete but no C22 photo", CONSTRUCTION, FULL_CONSTRUCTION, FULL_CONSTRUCTION_PHOTOS,
     [("C22", "photo_required")]),
    ("complete with every photo", CONSTRUCTION, FULL_CONSTRUCTION,
     FULL_CONSTRUCTION_PHOTOS | {"C22": 1}, []),
    ("no board: sub-items may stay blank", CONSTRUCTION,
     _with(FULL_CONSTRUCTION, C22={"answer": "no"}, C22a=None, C22b=None, C22c=None),
     FULL_CONSTRUCTION_PHOTOS | {"C22": 1}, []),
    ("board present: sub-items needed", CONSTRUCTION,
     _with(FULL_CONSTRUCTION, C22a=None, C22c={"answer": None}),
     FULL_CONSTRUCTION_PHOTOS | {"C22": 1}, [("C22a", "unanswered"), ("C22c", "unanswered")]),
    ("board unanswered: everything needed", CONSTRUCTION,
     _with(FULL_CONSTRUCTION, C22=None, C22a=None, C22b=None, C22c=None),
     FULL_CONSTRUCTION_PHOTOS,
     [("C22", "unanswered"), ("C22", "photo_required"), ("C22a", "unanswered"),
      ("C22b", "unanswered"), ("C22c", "unanswered")]),
    ("sub-item photos are not asked for", CONSTRUCTION, FULL_CONSTRUCTION,
     FULL_CONSTRUCTION_PHOTOS | {"C22": 1, "C22a": 0}, []),
    ("no account needed: no account photo", CONSTRUCTION,
     _with(FULL_CONSTRUCTION, C04={"answer": "na"}),
     _with(FULL_CONSTRUCTION_PHOTOS, C04=None) | {"C22": 1}, []),
    ("account answered no still needs a photo", CONSTRUCTION,
     _with(FULL_CONSTRUCTION, C04={"answer": "no"}),
     _with(FULL_CONSTRUCTION_PHOTOS, C04=None) | {"C22": 1}, [("C04", "photo_required")]),
    ("zero photos count as none", CONSTRUCTION, FULL_CONSTRUCTION,
     FULL_CONSTRUCTION_PHOTOS | {"C22": 1, "C08": 0}, [("C08", "photo_required")]),
    ("blank text and missing items", CONSTRUCTION,
     _with(FULL_CONSTRUCTION, C01=None, C26={"answer": "  ", "value": "2025-01-31"}),
     FULL_CONSTRUCTION_PHOTOS | {"C22": 1}, [("C01", "unanswered"), ("C26", "unanswered")]),
    ("zero headcount is an answer", CONSTRUCTION,
     _with(FULL_CONSTRUCTION, C08={"answer": 0}),
     FULL_CONSTRUCTION_PHOTOS | {"C22": 1}, []),
    ("enterprise complete, no photos needed", ENTERPRISE, FULL_ENTERPRISE, {}, []),
    ("enterprise missing E02", ENTERPRISE, _with(FULL_ENTERPRISE, E02=None), {},
     [("E02", "unanswered")]),
]


@pytest.mark.parametrize(
    ("template_id", "answers", "photos", "expected"),
    [case[1:] for case in MISSING_CASES],
    ids=[case[0] for case in MISSING_CASES],
)
def test_missing_for_submit(template_id, answers, photos, expected):
    missing = missing_for_submit(_template(template_id), answers, photos)
    assert missing == [{"item_code": code, "reason": reason} for code, reason in expected]


def test_missing_for_submit_on_an_empty_construction_inspection():
    template = _template(CONSTRUCTION)
    missing = missing_for_submit(template, {}, {})
    unanswered = [m["item_code"] for m in missing if m["reason"] == "unanswered"]
    photos = [m["item_code"] for m in missing if m["reason"] == "photo_required"]
    assert unanswered == [item.code for item in template.items]
    assert photos == ["C04", "C07", "C08", "C12", "C15", "C22"]


# --------------------------------------------------------------------------
# headcounts


def _counts(**known: int) -> dict:
    return dict.fromkeys(HEADCOUNT_KINDS) | known


HEADCOUNT_CASES = [
    ("construction complete", CONSTRUCTION, FULL_CONSTRUCTION,
     _counts(on_site=42, real_name=42, contracts=40, interviewed=6)),
    ("construction empty", CONSTRUCTION, {}, _counts()),
    ("float whole numbers", CONSTRUCTION, {"C08": {"answer": 12.0}}, _counts(on_site=12)),
    ("invalid answers are ignored", CONSTRUCTION,
     {"C08": {"answer": "many"}, "C09": {"answer": -2}, "C10": {"answer": True},
      "C24": {"answer": [6, 0]}},
     _counts()),
    ("enterprise complete", ENTERPRISE, FULL_ENTERPRISE,
     _counts(on_site=80, migrant=50, contracts=78)),
    ("enterprise partial numbers", ENTERPRISE, {"E02": {"answer": {"on_site": 9}}},
     _counts(on_site=9)),
]


@pytest.mark.parametrize(
    ("template_id", "answers", "expected"),
    [case[1:] for case in HEADCOUNT_CASES],
    ids=[case[0] for case in HEADCOUNT_CASES],
)
def test_headcounts(template_id, answers, expected):
    assert headcounts(_template(template_id), answers) == expected


def test_headcounts_always_has_the_core_keys():
    counts = headcounts(_template(CONSTRUCTION), {})
    assert {"on_site", "real_name", "contracts"} <= set(counts)


# --------------------------------------------------------------------------
# six_systems

ALL_IN_PLACE = dict.fromkeys(SIX_SYSTEMS, True)

SIX_SYSTEM_CASES = [
    ("all in place", FULL_CONSTRUCTION, ALL_IN_PLACE),
    ("nothing answered", {}, dict.fromkeys(SIX_SYSTEMS)),
    ("no dedicated account", _with(FULL_CONSTRUCTION, C04={"answer": "no"}),
     ALL_IN_PLACE | {"account": False}),
    ("account not applicable", _with(FULL_CONSTRUCTION, C04={"answer": "na"}),
     ALL_IN_PLACE | {"account": None}),
    ("deposit exempt", _with(FULL_CONSTRUCTION, C07={"answer": "exempt"}),
     ALL_IN_PLACE | {"deposit": None}),
    ("no deposit", _with(FULL_CONSTRUCTION, C07={"answer": "no"}),
     ALL_IN_PLACE | {"deposit": False}),
    ("not paid through the bank", _with(FULL_CONSTRUCTION, C16={"answer": "no"}),
     ALL_IN_PLACE | {"bank_payroll": False}),
    ("no board", _with(FULL_CONSTRUCTION, C22={"answer": "no"}),
     ALL_IN_PLACE | {"notice_board": False}),
    ("not paid in full", _with(FULL_CONSTRUCTION, C17={"answer": "no"}),
     ALL_IN_PLACE | {"monthly_full_pay": False}),
    ("fewer registered than on site", _with(FULL_CONSTRUCTION, C10={"answer": 30}),
     ALL_IN_PLACE | {"real_name": False}),
    ("more registered than on site", _with(FULL_CONSTRUCTION, C10={"answer": 50}), ALL_IN_PLACE),
    ("nobody on site", _with(FULL_CONSTRUCTION, C08={"answer": 0}),
     ALL_IN_PLACE | {"real_name": None}),
    ("on-site count missing", _with(FULL_CONSTRUCTION, C08=None),
     ALL_IN_PLACE | {"real_name": None}),
]


@pytest.mark.parametrize(
    ("answers", "expected"),
    [case[1:] for case in SIX_SYSTEM_CASES],
    ids=[case[0] for case in SIX_SYSTEM_CASES],
)
def test_six_systems(answers, expected):
    assert six_systems(_template(CONSTRUCTION), answers) == expected


def test_six_systems_on_enterprise_template_is_empty():
    assert six_systems(_template(ENTERPRISE), FULL_ENTERPRISE) == {}
