"""Names people read for the records and their fields (zh, en): the one table
the office console (conflicts, site history, audit log) and the phone use
instead of internal keys such as ``site.contact_phone``. Pure data; a
checklist answer (``answers.C08``) is named by its checklist template."""

from __future__ import annotations

Label = tuple[str, str]

ENTITY_LABELS: dict[str, Label] = {
    "village": ("村（社区）", "Village"),
    "department": ("行业部门", "Department"),
    "user": ("用户", "User"),
    "site": ("场所", "Site"),
    "inspection": ("巡查", "Inspection"),
    "photo": ("照片", "Photo"),
    "case": ("欠薪案件", "Wage-arrears case"),
    "case_event": ("案件办理记录", "Case event"),
    "checklist_template": ("检查表", "Checklist"),
    "work_calendar": ("工作日历", "Work calendar"),
    "device": ("设备", "Device"),
}

_COMMON: dict[str, Label] = {
    "id": ("记录编号", "Record id"),
    "created_at": ("创建时间", "Created"),
    "updated_at": ("修改时间", "Updated"),
    "deleted": ("已删除", "Deleted"),
    "village_id": ("村（社区）", "Village"),
    "department_id": ("行业部门", "Department"),
    "site_id": ("场所", "Site"),
    "name": ("名称", "Name"),
    "kind": ("类型", "Kind"),
    "status": ("状态", "Status"),
    "note": ("备注", "Note"),
}

FIELD_LABELS: dict[str, dict[str, Label]] = {
    "site": {
        "name": ("场所名称", "Site name"),
        "kind": ("场所类型", "Site kind"),
        "address": ("地址", "Address"),
        "lat": ("纬度", "Latitude"),
        "lon": ("经度", "Longitude"),
        "gov_invested": ("政府投资项目", "Government-invested"),
        "builder": ("建设单位", "Builder"),
        "contractor": ("施工总包单位", "Main contractor"),
        "contract_amount": ("合同金额", "Contract amount"),
        "start_date": ("开工日期", "Start date"),
        "status": ("场所状态", "Site status"),
        "contact_name": ("联系人", "Contact"),
        "contact_phone": ("联系电话", "Contact phone"),
        "industry": ("行业", "Industry"),
        "six_systems": ("六项制度", "Six systems"),
        "headcount_on_site": ("在场务工人数", "Workers on site"),
        "headcount_real_name": ("实名登记人数", "Registered by real name"),
        "headcount_contracts": ("签订合同人数", "With a contract"),
        "last_inspected_at": ("最近巡查", "Last inspected"),
    },
    "inspection": {
        "template_id": ("检查表", "Checklist"),
        "inspector_id": ("检查人", "Inspector"),
        "started_at": ("开始时间", "Started"),
        "submitted_at": ("提交时间", "Submitted"),
        "state": ("巡查状态", "State"),
        "answers": ("检查结果", "Answers"),
        "lat": ("纬度", "Latitude"),
        "lon": ("经度", "Longitude"),
        "accuracy_m": ("定位精度（米）", "GPS accuracy (m)"),
        "located_at": ("定位时间", "Located at"),
        "notes": ("备注", "Notes"),
        "review_state": ("审核结论", "Review"),
        "review_comment": ("审核意见", "Review comment"),
    },
    "case": {
        "title": ("案件名称", "Title"),
        "employer": ("用人单位", "Employer"),
        "employer_address": ("单位地址", "Employer address"),
        "sector": ("行业类别", "Sector"),
        "workers_owed": ("涉及人数", "Workers owed"),
        "amount_owed": ("欠薪金额", "Amount owed"),
        "period_from": ("欠薪起始月", "Owed from"),
        "period_to": ("欠薪截止月", "Owed to"),
        "work_done": ("工作内容", "Work done"),
        "collective_risk": ("群体性风险", "Collective risk"),
        "source": ("来源", "Source"),
        "level": ("办理层级", "Level"),
        "status": ("案件状态", "Status"),
        "opened_at": ("登记时间", "Opened"),
        "complainant_name": ("投诉人姓名", "Complainant"),
        "complainant_phone": ("投诉人电话", "Complainant phone"),
        "complainant_id_number": ("投诉人身份证号", "Complainant ID number"),
        "amount_recovered": ("已追回金额", "Amount recovered"),
        "workers_paid": ("已支付人数", "Workers paid"),
    },
    "case_event": {
        "case_id": ("案件", "Case"),
        "kind": ("办理事项", "Event"),
        "amount_recovered": ("追回金额", "Amount recovered"),
        "workers_paid": ("支付人数", "Workers paid"),
        "evidence": ("凭证", "Evidence"),
        "callback_note": ("回访记录", "Call-back"),
        "referral_target": ("移送单位", "Referred to"),
    },
    "photo": {
        "item_code": ("检查项", "Checklist item"),
        "taken_at": ("拍摄时间", "Taken"),
        "caption": ("说明", "Caption"),
    },
    "user": {
        "username": ("用户名", "Username"),
        "display_name": ("姓名", "Name"),
        "role": ("角色", "Role"),
    },
    "village": {"code": ("区划代码", "Division code")},
    "department": {"sectors": ("负责行业", "Sectors")},
}

OTHER_FIELD: Label = ("其他字段", "Other field")


def _pick(pair: Label, lang: str) -> str:
    return pair[1] if lang == "en" else pair[0]


def entity_label(entity: str | None, lang: str = "zh") -> str:
    """The record kind in words (场所, 欠薪案件, …); "—" when none is given."""
    if not entity:
        return "—"
    return _pick(ENTITY_LABELS.get(entity, ("记录", "Record")), lang)


def field_label(entity: str | None, field: str | None, lang: str = "zh") -> str:
    """A field's name in words: the entity's table, then the fields every
    record has; a field no table knows reads 其他字段, never its key."""
    if not field:
        return "—"
    pair = FIELD_LABELS.get(entity or "", {}).get(field) or _COMMON.get(field)
    return _pick(pair or OTHER_FIELD, lang)
