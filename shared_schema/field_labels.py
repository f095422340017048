"""Names people read for the records and their fields (zh, en): the one table
the office console (conflicts, site history, audit log) and the phone use
instead of internal keys such as ``site.contact_phone``. Pure data; a
checklist answer (``answers.C08``) is named by its checklist template. The
fields of the entities devices write are named in their field table
(``shared_schema.fields``, ``FieldRule.label``)."""

from __future__ import annotations

from shared_schema.fields import FIELDS

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
    # --- #17 incidents ---
    "incident": ("突发事件", "Incident"),
    "alert": ("预警提醒", "Alert"),
    # --- #17 warnings ---
    "risk_warning": ("风险预警", "Risk warning"),
    "reinspection": ("复查任务", "Re-inspection task"),
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

#: Per entity, the fields whose name differs from ``_COMMON``'s: for the
#: entities devices write, the labels of the field table (``shared_schema.fields``),
#: so a field and its name are written once; for the reference entities, here.
FIELD_LABELS: dict[str, dict[str, Label]] = {
    **{entity: {name: rule.label for name, rule in rules.items() if rule.label}
       for entity, rules in FIELDS.items()},
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
