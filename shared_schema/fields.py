"""Field owners: who may write which field of which entity, which fields are
personal data, and how long a value may be. One table, read by the device
(before a change is queued, so the phone says no at once) and by the server
(authoritative, on every push and office write).

``FIELDS[entity][field]`` is a ``FieldRule``:

* ``writers`` — who may write the field:

  - ``editor``: whoever the entity's own rules let write the record (role,
    scope, the case state machine; ``sync_server/domain/sync/rules.py``);
    the field adds no restriction of its own.
  - ``recorder``: the user who recorded the record (a case's or site's
    creator, an inspection's inspector); on a new record, its creator.
  - ``office``: the labour office role, from a device or the office console.
  - ``approval``: the office console only (the approval of an inspection
    copies its facts into the site registry; an office decision on a
    conflict): never a push, not even from an office device.
  - ``server``: nobody from outside; the server stamps or derives it.

* ``personal`` — personal data of a complainant: shown masked to everyone
  who did not record it but the office and leaders, and a masked value is
  never accepted as a write (``masked_value``).
* ``label`` — the field's name for people (zh, en), read by the office
  console and the phone through ``shared_schema.field_labels``.
* ``max_chars`` — the longest text, in characters; for a list or map it
  bounds every text inside it (keys too). ``max_items`` — the most entries
  of a list or map. Longer values: ``field_too_long``. A text holding
  U+0000 anywhere (keys and items too): ``invalid_value``.

A field not in the table is unknown to that entity (``unknown_field``), not
silently dropped. Reference entities (village, department, user,
checklist_template, work_calendar) are not here: no device writes them at
all (``read_only_entity``).

Everything here is pure: no clock, no IO. The checks return a
``FieldRefusal`` (or ``None``); the server turns it into a rejected
mutation or an API error, the device into an ``InvalidInput``.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, NamedTuple

import msgspec

EDITOR = "editor"
RECORDER = "recorder"
OFFICE = "office"
APPROVAL = "approval"
SERVER = "server"
WRITERS = (EDITOR, RECORDER, OFFICE, APPROVAL, SERVER)


class FieldRule(NamedTuple):
    writers: frozenset[str]
    personal: bool = False
    max_chars: int | None = None
    max_items: int | None = None
    #: For a map of records (an inspection's answers): the fields each has.
    item_fields: frozenset[str] | None = None
    #: The field's name for people (zh, en); None: the name every record's
    #: field of that key has (``shared_schema.field_labels``).
    label: tuple[str, str] | None = None


def _rule(*writers: str, personal: bool = False, chars: int | None = None,
          items: int | None = None, item_fields: Iterable[str] | None = None,
          label: tuple[str, str] | None = None) -> FieldRule:
    return FieldRule(frozenset(writers), personal, chars, items,
                     frozenset(item_fields) if item_fields is not None else None, label)


#: Limits, in characters (text) and entries (lists, maps).
ID_CHARS = 64  # a UUID is 36, a sha256 64
SHORT_CHARS = 32  # dates, phone numbers, ID numbers
CODE_CHARS = 64  # codes: a case source, an event kind, a template item
NAME_CHARS = 200  # names, titles, employers, contractors
ADDRESS_CHARS = 500
NOTE_CHARS = 5000  # notes and comments typed on a phone
ANSWER_CHARS = 2000  # any text inside one checklist answer
ANSWER_ITEMS = 200  # a template has ~30 items
EVIDENCE_ITEMS = 100  # photos named by one case event
SIX_SYSTEMS_ITEMS = 20

_EDIT = (EDITOR,)
#: Every record's own fields. ``created_at`` is the device's report of when
#: it was recorded (kept as reported; the server's ``received_at`` is what
#: counts), so only the record's recorder may give it.
_RECORD = {
    "id": _rule(SERVER),
    "created_at": _rule(RECORDER),
    "updated_at": _rule(SERVER),
    "deleted": _rule(SERVER),  # a delete is its own operation
    "received_at": _rule(SERVER),  # stamped by the server on receipt
}

FIELDS: dict[str, dict[str, FieldRule]] = {
    "site": {
        **_RECORD,
        "name": _rule(*_EDIT, chars=NAME_CHARS, label=("场所名称", "Site name")),
        "kind": _rule(*_EDIT, chars=CODE_CHARS, label=("场所类型", "Site kind")),
        "village_id": _rule(*_EDIT, chars=ID_CHARS),
        "department_id": _rule(*_EDIT, chars=ID_CHARS),
        "address": _rule(*_EDIT, chars=ADDRESS_CHARS, label=("地址", "Address")),
        "lat": _rule(*_EDIT, label=("纬度", "Latitude")),
        "lon": _rule(*_EDIT, label=("经度", "Longitude")),
        "gov_invested": _rule(*_EDIT, label=("政府投资项目", "Government-invested")),
        "builder": _rule(*_EDIT, chars=NAME_CHARS, label=("建设单位", "Builder")),
        "contractor": _rule(*_EDIT, chars=NAME_CHARS, label=("施工总包单位", "Main contractor")),
        "contract_amount": _rule(*_EDIT, label=("合同金额", "Contract amount")),
        "start_date": _rule(*_EDIT, chars=SHORT_CHARS, label=("开工日期", "Start date")),
        "status": _rule(*_EDIT, chars=CODE_CHARS, label=("场所状态", "Site status")),
        # The site's contact is a company's, posted at the gate: not a
        # complainant's personal data, and the field staff call it.
        "contact_name": _rule(*_EDIT, chars=NAME_CHARS, label=("联系人", "Contact")),
        "contact_phone": _rule(*_EDIT, chars=SHORT_CHARS, label=("联系电话", "Contact phone")),
        "industry": _rule(*_EDIT, chars=NAME_CHARS, label=("行业", "Industry")),
        # Registry facts: copied from an approved inspection by the office.
        "six_systems": _rule(APPROVAL, chars=CODE_CHARS, items=SIX_SYSTEMS_ITEMS,
                             label=("六项制度", "Six systems")),
        "headcount_on_site": _rule(APPROVAL, label=("在场务工人数", "Workers on site")),
        "headcount_real_name": _rule(APPROVAL, label=("实名登记人数", "Registered by real name")),
        "headcount_contracts": _rule(APPROVAL, label=("签订合同人数", "With a contract")),
        "last_inspected_at": _rule(APPROVAL, label=("最近巡查", "Last inspected")),
    },
    "inspection": {
        **_RECORD,
        "site_id": _rule(RECORDER, chars=ID_CHARS),
        "template_id": _rule(RECORDER, chars=CODE_CHARS, label=("检查表", "Checklist")),
        "inspector_id": _rule(RECORDER, chars=ID_CHARS, label=("检查人", "Inspector")),
        "started_at": _rule(RECORDER, label=("开始时间", "Started")),
        "submitted_at": _rule(RECORDER, label=("提交时间", "Submitted")),
        "state": _rule(RECORDER, chars=CODE_CHARS, label=("巡查状态", "State")),
        "answers": _rule(RECORDER, chars=ANSWER_CHARS, items=ANSWER_ITEMS,
                         item_fields=("answer", "value", "note"), label=("检查结果", "Answers")),
        "lat": _rule(RECORDER, label=("纬度", "Latitude")),
        "lon": _rule(RECORDER, label=("经度", "Longitude")),
        "accuracy_m": _rule(RECORDER, label=("定位精度（米）", "GPS accuracy (m)")),  # the fix's accuracy radius
        "located_at": _rule(RECORDER, label=("定位时间", "Located at")),  # when the fix was taken (device time)
        "notes": _rule(RECORDER, chars=NOTE_CHARS, label=("备注", "Notes")),
        "review_state": _rule(OFFICE, chars=CODE_CHARS, label=("审核结论", "Review")),
        "review_comment": _rule(OFFICE, chars=NOTE_CHARS, label=("审核意见", "Review comment")),
        "submitted_received_at": _rule(SERVER),  # stamped when a submission arrives
    },
    "photo": {
        **_RECORD,
        "sha256": _rule(*_EDIT, chars=ID_CHARS),
        "owner_entity": _rule(*_EDIT, chars=CODE_CHARS),
        "owner_id": _rule(*_EDIT, chars=ID_CHARS),
        "item_code": _rule(*_EDIT, chars=CODE_CHARS, label=("检查项", "Checklist item")),
        "taken_at": _rule(*_EDIT, label=("拍摄时间", "Taken")),
        "lat": _rule(*_EDIT),
        "lon": _rule(*_EDIT),
        "caption": _rule(*_EDIT, chars=ADDRESS_CHARS, label=("说明", "Caption")),
        "bytes": _rule(*_EDIT),
    },
    "case": {
        **_RECORD,
        "site_id": _rule(*_EDIT, chars=ID_CHARS),
        "village_id": _rule(*_EDIT, chars=ID_CHARS),
        "title": _rule(*_EDIT, chars=NAME_CHARS, label=("案件名称", "Title")),
        "employer": _rule(*_EDIT, chars=NAME_CHARS, label=("用人单位", "Employer")),
        "employer_address": _rule(*_EDIT, chars=ADDRESS_CHARS, label=("单位地址", "Employer address")),
        "sector": _rule(*_EDIT, chars=CODE_CHARS, label=("行业类别", "Sector")),
        "workers_owed": _rule(*_EDIT, label=("涉及人数", "Workers owed")),
        "amount_owed": _rule(*_EDIT, label=("欠薪金额", "Amount owed")),
        "period_from": _rule(*_EDIT, chars=SHORT_CHARS, label=("欠薪起始月", "Owed from")),
        "period_to": _rule(*_EDIT, chars=SHORT_CHARS, label=("欠薪截止月", "Owed to")),
        "work_done": _rule(*_EDIT, chars=NOTE_CHARS, label=("工作内容", "Work done")),
        "collective_risk": _rule(*_EDIT, label=("群体性风险", "Collective risk")),
        "source": _rule(*_EDIT, chars=CODE_CHARS, label=("来源", "Source")),
        "opened_at": _rule(*_EDIT, label=("登记时间", "Opened")),
        # Personal data: the recorder and the office only.
        "complainant_name": _rule(RECORDER, OFFICE, personal=True, chars=NAME_CHARS,
                                  label=("投诉人姓名", "Complainant")),
        "complainant_phone": _rule(RECORDER, OFFICE, personal=True, chars=SHORT_CHARS,
                                   label=("投诉人电话", "Complainant phone")),
        "complainant_id_number": _rule(RECORDER, OFFICE, personal=True, chars=SHORT_CHARS,
                                       label=("投诉人身份证号", "Complainant ID number")),
        # Derived by the server from the case's events (``derived_field``).
        "status": _rule(SERVER, label=("案件状态", "Status")),
        "level": _rule(SERVER, label=("办理层级", "Level")),
        "initial_level": _rule(SERVER),
        "extended": _rule(SERVER),
        "amount_recovered": _rule(SERVER, label=("已追回金额", "Amount recovered")),
        "workers_paid": _rule(SERVER, label=("已支付人数", "Workers paid")),
        "accepted_at": _rule(SERVER),
        "resolved_at": _rule(SERVER),
        "closed_at": _rule(SERVER),
    },
    "case_event": {
        **_RECORD,
        "case_id": _rule(*_EDIT, chars=ID_CHARS, label=("案件", "Case")),
        "kind": _rule(*_EDIT, chars=CODE_CHARS, label=("办理事项", "Event")),
        "note": _rule(*_EDIT, chars=NOTE_CHARS),
        "amount_recovered": _rule(*_EDIT, label=("追回金额", "Amount recovered")),
        "workers_paid": _rule(*_EDIT, label=("支付人数", "Workers paid")),
        "evidence": _rule(*_EDIT, chars=ID_CHARS, items=EVIDENCE_ITEMS, label=("凭证", "Evidence")),
        "callback_note": _rule(*_EDIT, chars=NOTE_CHARS, label=("回访记录", "Call-back")),
        "referral_target": _rule(*_EDIT, chars=NAME_CHARS, label=("移送单位", "Referred to")),
        # Stamped by the server from the login and the stored HLC.
        "author_role": _rule(SERVER),
        "author_id": _rule(SERVER),
        "hlc": _rule(SERVER),
    },
    # --- #17 incidents ---
    "incident": {
        **_RECORD,
        "kind": _rule(RECORDER, chars=CODE_CHARS, label=("事件类型", "Incident kind")),
        "site_id": _rule(RECORDER, chars=ID_CHARS),
        "village_id": _rule(RECORDER, chars=ID_CHARS),
        "place": _rule(RECORDER, chars=ADDRESS_CHARS, label=("事发地点", "Place")),
        "headcount": _rule(RECORDER, label=("聚集人数", "Headcount")),
        "occurred_at": _rule(RECORDER, label=("事发时间", "Time of the incident")),
        "on_scene": _rule(RECORDER, chars=NOTE_CHARS, label=("现场处置情况", "Done on scene")),
        "brought_in": _rule(RECORDER, chars=CODE_CHARS, items=20,
                            label=("通知/协调单位", "Brought in")),
        "attach_case_id": _rule(RECORDER, chars=ID_CHARS, label=("关联案件", "Joins case")),
        "case_id": _rule(SERVER, label=("案件", "Case")),
        "alert_id": _rule(SERVER),
        "reporter_id": _rule(SERVER, label=("上报人", "Reported by")),
    },
    "alert": {
        **_RECORD,
        **{name: _rule(SERVER) for name in (
            "kind", "incident_id", "case_id", "site_id", "village_id", "place", "headcount",
            "occurred_at", "raised_at", "acknowledged_by")},
    },
}
# --- #17 incidents --- (the case fields an incident sets)
FIELDS["case"].update({
    "incident_id": _rule(SERVER, label=("突发事件", "Incident")),
    "collective_incident": _rule(SERVER, label=("群体性事件", "Collective incident")),
})

# --- #17 cases --- (shared_schema.cases: routing, 调查, exits, advances, 首问负责)
FIELDS["site"]["village_self_built"] = _rule(*_EDIT, label=("村（社区）自建项目", "Village-built project"))
FIELDS["case"].update({
    "first_receiver_id": _rule(SERVER, label=("首问责任人", "First received by")),
    "route": _rule(SERVER, label=("承办渠道", "Route")),
    "route_reason": _rule(SERVER, label=("分办依据", "Routed because")),
    "handled_by": _rule(SERVER, label=("承办单位", "Handled by")),
    "amount_advanced": _rule(SERVER, label=("垫付/先行清偿金额", "Amount advanced")),
    "workers_advanced": _rule(SERVER, label=("垫付人数", "Workers paid in advance")),
    "advanced_by_source": _rule(SERVER, label=("垫付来源", "Advances by source")),
    "investigation_records": _rule(SERVER, label=("调查记录数", "Investigation records")),
    "investigation_outcome": _rule(SERVER, label=("调查结论", "Investigation outcome")),
    "transfer_to": _rule(SERVER, label=("转送部门", "Passed to")),
    "referral_target": _rule(SERVER, label=("移送单位", "Referred to")),
    "complainant_reply": _rule(SERVER, label=("答复反映人", "Reply to complainant")),
    "reply_date": _rule(SERVER, label=("答复日期", "Reply date")),
    "replied_at": _rule(SERVER, label=("答复时间", "Replied at")),
})
FIELDS["case_event"].update({
    "investigation_kind": _rule(*_EDIT, chars=CODE_CHARS, label=("调查方式", "Investigation record")),
    "investigation_outcome": _rule(*_EDIT, chars=CODE_CHARS, label=("调查结论", "Outcome")),
    "transfer_to": _rule(*_EDIT, chars=NAME_CHARS, label=("转送部门", "Passed to")),
    "advance_source": _rule(*_EDIT, chars=CODE_CHARS, label=("垫付来源", "Advance source")),
    "amount_advanced": _rule(*_EDIT, label=("垫付金额", "Amount advanced")),
    "workers_advanced": _rule(*_EDIT, label=("垫付人数", "Workers paid")),
    "reply_date": _rule(*_EDIT, chars=SHORT_CHARS, label=("答复日期", "Reply date")),
})
# --- end #17 cases ---

#: Personal-data fields per entity.
PERSONAL: dict[str, frozenset[str]] = {
    entity: frozenset(name for name, rule in rules.items() if rule.personal)
    for entity, rules in FIELDS.items()
}


class FieldRefusal(NamedTuple):
    """Why a field may not be written: a stable code, the field, the path of
    the bad value (``$.fields.<field>…``), a message and details."""

    code: str
    field: str
    path: str
    message: str
    details: dict[str, Any]

    def info(self) -> dict[str, Any]:
        """The details of the error: the path, the field and the rest."""
        return {"path": self.path, "field": self.field, **self.details}


# --- masks ----------------------------------------------------------------------

MASK_CHARS = ("*", "＊")


def mask(value: Any) -> Any:
    """The masked form of a personal value. Phone and ID numbers (11
    characters or more) keep their first 3 and last 4 (``138****1234``,
    ``500***********1234``); shorter numbers (a landline) their first and last
    2; a name its first character (the surname: ``张*``). The length is kept.
    Every mask has at least one ``*``; non-text values pass through."""
    if not isinstance(value, str) or not value:
        return value
    n = len(value)
    if n >= 11:
        head, tail = 3, 4
    elif n >= 7 and sum(c.isdigit() for c in value) * 2 > n:
        head, tail = 2, 2
    elif n >= 2:
        head, tail = 1, 0
    else:
        head, tail = 0, 0
    return value[:head] + "*" * (n - head - tail) + value[n - tail:]


def is_masked(value: Any, stored: Any = None) -> bool:
    """Whether ``value`` is a mask: it has a mask character (no phone number,
    ID number or name has one), or it is the masked form of ``stored``."""
    if not isinstance(value, str):
        return False
    if any(c in value for c in MASK_CHARS):
        return True
    return stored is not None and value != stored and value == mask(stored)


# --- checks ----------------------------------------------------------------------


def rule_for(entity: str, field: str) -> FieldRule | None:
    return FIELDS.get(entity, {}).get(field)


def may_write(rule: FieldRule, role: str, *, recorder: bool | None, console: bool) -> bool:
    """Whether a user of ``role`` may write a field with ``rule``.
    ``recorder``: whether the user recorded the record (``None``: not known
    here, the server decides; the device passes it when it cannot tell).
    ``console``: the write comes from the office console, not a push."""
    w = rule.writers
    if EDITOR in w or role in w:
        return True
    if RECORDER in w and recorder is not False:
        return True
    return APPROVAL in w and console and role == OFFICE


def refuse_writer(entity: str, names: Iterable[str], role: str, *, recorder: bool | None,
                  console: bool = False) -> FieldRefusal | None:
    """The first field of ``names`` the caller may not write (unknown fields
    are left to ``refuse_values``)."""
    table = FIELDS.get(entity, {})
    for name in names:
        rule = table.get(name)
        if rule is not None and not may_write(rule, role, recorder=recorder, console=console):
            return FieldRefusal(
                "field_not_writable", name, f"$.fields.{name}",
                f"a {role} may not write {entity}.{name}",
                {"entity": entity, "writers": sorted(rule.writers), "role": role})
    return None


def refuse_values(entity: str, fields: Mapping[str, Any],
                  stored: Mapping[str, Any] | None = None) -> FieldRefusal | None:
    """The first unknown field, too long value or masked personal value of
    ``fields`` (``stored``: the record as stored, to recognise its own mask)."""
    table = FIELDS.get(entity)
    if table is None:
        return None
    for name, value in fields.items():
        rule = table.get(name)
        if rule is None:
            return FieldRefusal("unknown_field", name, f"$.fields.{name}",
                                f"{entity} has no field {name!r}", {"entity": entity})
        if rule.item_fields is not None and type(value) is dict:
            for key, item in value.items():
                extra = [k for k in item if k not in rule.item_fields] if type(item) is dict else []
                if extra:
                    return FieldRefusal(
                        "unknown_field", name,
                        _key_path(_key_path(f"$.fields.{name}", key), extra[0]),
                        f"an item of {entity}.{name} has no field {extra[0]!r}",
                        {"entity": entity})
        if value is None:
            continue
        if _holds_nul(value):
            return FieldRefusal(
                "invalid_value", name, f"$.fields.{name}",
                f"{entity}.{name} holds a NUL character (U+0000), which no text may hold",
                {"entity": entity})
        if rule.max_chars is None and rule.max_items is None:
            continue
        long = _too_long(rule, value, f"$.fields.{name}")
        if long is not None:
            path, limit, unit, got = long
            return FieldRefusal(
                "field_too_long", name, path,
                f"{entity}.{name} is too long: at most {limit} {unit}",
                {"limit": limit, "unit": unit, "got": got})
        if rule.personal and is_masked(value, (stored or {}).get(name)):
            return FieldRefusal(
                "masked_value", name, f"$.fields.{name}",
                f"{entity}.{name} is a masked value, not the real one",
                {"entity": entity})
    return None


def _holds_nul(value: Any) -> bool:
    """A U+0000 anywhere in a text, a map's key or an item: no engine stores it
    alike (PostgreSQL's jsonb refuses it), so no field may hold one. A walk
    with a stack, not recursion: the nesting depth is the sender's."""
    stack = [value]
    while stack:
        v = stack.pop()
        if type(v) is str:
            if "\x00" in v:
                return True
        elif type(v) is dict:
            stack.extend(v.keys())
            stack.extend(v.values())
        elif type(v) is list:
            stack.extend(v)
    return False


def _encoded_len(value: Any) -> int:
    """Bytes of ``value`` as JSON (one pass in C), at least the characters of
    any text inside it; unbounded if it is not JSON."""
    try:
        return len(msgspec.json.encode(value))
    except (TypeError, ValueError, RecursionError, msgspec.EncodeError):
        return 1 << 62


def _any_text_over(value: list | dict, chars: int) -> bool:
    """Whether any text inside ``value`` (keys too) is over ``chars``."""
    stack: list[Any] = [value]
    pop, push = stack.pop, stack.append
    while stack:
        v = pop()
        if type(v) is dict:
            for k in v:
                if type(k) is str and len(k) > chars:
                    return True
            v = v.values()
        for x in v:
            t = type(x)
            if t is str:
                if len(x) > chars:
                    return True
            elif t is dict or t is list:
                push(x)
    return False


def _key_path(path: str, key: Any) -> str:
    return f"{path}.{key}" if isinstance(key, str) and key.isidentifier() else f"{path}[{key!r}]"


def _too_long(rule: FieldRule, value: Any, path: str) -> tuple[str, int, str, int] | None:
    """(path, limit, unit, got) of the first text or list over the rule's
    limits inside ``value``; walked without recursion (any depth)."""
    chars, items = rule.max_chars, rule.max_items
    if type(value) is str:  # the usual case, first
        if chars is not None and len(value) > chars:
            return path, chars, "chars", len(value)
        return None
    if not isinstance(value, (list, dict)):
        return None
    if items is not None and len(value) > items:
        return path, items, "items", len(value)
    if chars is None or _encoded_len(value) <= chars or not _any_text_over(value, chars):
        return None  # no text in it is longer than all of it as JSON: the usual case
    # Found one: walk again, naming the path (paths cost, so only now).
    stack: list[tuple[str, Any]] = [(path, value)]
    while stack:
        where, v = stack.pop()
        if isinstance(v, str):
            if chars is not None and len(v) > chars:
                return where, chars, "chars", len(v)
        elif isinstance(v, dict):
            for k, x in v.items():
                if chars is not None and isinstance(k, str) and len(k) > chars:
                    return where, chars, "chars", len(k)
                stack.append((_key_path(where, k), x))
        elif isinstance(v, list):
            stack.extend((f"{where}[{i}]", x) for i, x in enumerate(v))
    return None


# --- #17 warnings ---
# Template fidelity: the header facts the checklists ask for; the site's risk
# level (the server's: the highest level of its open risk warnings); the
# re-inspection link of an inspection (docs/inspections.md).
FIELDS["site"].update({
    "risk_level": _rule(SERVER, label=("风险等级", "Risk level")),
    "credit_code": _rule(*_EDIT, chars=SHORT_CHARS, label=("统一社会信用代码", "Unified social credit code")),
    "legal_representative": _rule(*_EDIT, chars=NAME_CHARS,
                                  label=("法定代表人/负责人", "Legal representative or manager")),
})
FIELDS["inspection"].update({
    "co_inspectors": _rule(RECORDER, chars=NAME_CHARS, label=("同行巡查人员", "Co-inspectors")),
    "subcontractors": _rule(RECORDER, chars=ADDRESS_CHARS, label=("分包单位", "Subcontractors")),
    "reinspection_of": _rule(RECORDER, chars=ID_CHARS, label=("复查任务", "Re-inspection of")),
})
_WARNING_RECORD = {**_RECORD, "created_at": _rule(SERVER)}
FIELDS["risk_warning"] = {
    **_WARNING_RECORD,
    "site_id": _rule(SERVER, label=("场所", "Site")),
    "village_id": _rule(SERVER),
    "inspection_id": _rule(SERVER, label=("巡查", "Inspection")),
    "inspector_id": _rule(SERVER, label=("检查人", "Inspector")),
    "level": _rule(SERVER, label=("风险等级", "Risk level")),
    "reasons": _rule(SERVER, label=("预警原因", "Reasons")),
    "raised_at": _rule(SERVER, label=("预警时间", "Raised")),
    "state": _rule(SERVER, label=("处理状态", "State")),
    "handled_by": _rule(SERVER, label=("处理人", "Handled by")),
    "handled_at": _rule(SERVER, label=("处理时间", "Handled")),
    "handled_note": _rule(SERVER, label=("处理意见", "Handling note")),
    "case_id": _rule(SERVER, label=("关联案件", "Case")),
}
FIELDS["reinspection"] = {
    **_WARNING_RECORD,
    "site_id": _rule(SERVER, label=("场所", "Site")),
    "village_id": _rule(SERVER),
    "inspection_id": _rule(SERVER, label=("巡查", "Inspection")),
    "responsible_id": _rule(SERVER, label=("责任人", "Responsible")),
    "items": _rule(SERVER, label=("整改事项", "Items")),
    "rectification": _rule(SERVER, label=("整改意见", "Rectification")),
    "due_date": _rule(SERVER, label=("整改期限", "Due")),
    "state": _rule(SERVER, label=("复查状态", "State")),
    "history": _rule(SERVER, label=("复查记录", "History")),
    "closed_by": _rule(SERVER, label=("复查巡查", "Closed by")),
    "closed_at": _rule(SERVER, label=("复查完成时间", "Closed")),
}
PERSONAL.update({entity: frozenset() for entity in ("risk_warning", "reinspection")})
