"""Names for people of a case's codes (zh, en): statuses, outcomes, levels,
handlers, event kinds, referral targets, advance-payment sources and
investigation records. One table read by the phone, the office console and
the workbook, so a code is shown the same everywhere and never raw.
Re-exported by ``shared_schema.cases``; pure data, no IO.
"""

from __future__ import annotations

Label = tuple[str, str]

#: Every status a case can have (``shared_schema.cases.STATUSES``).
STATUS_LABELS: dict[str, Label] = {
    "registered": ("已登记", "Registered"),
    "accepted": ("已受理", "Accepted"),
    "resolved": ("已办结（待销号）", "Resolved (awaiting closure)"),
    "closed": ("已销号", "Closed"),
    "referred": ("已移送", "Referred"),
    "dismissed": ("不予受理", "Not accepted"),
    "transferred": ("已转送有关部门", "Transferred to a department"),
    "referred_procedure": ("已移送仲裁/诉讼", "Referred to arbitration/court"),
}
#: An accepted case with investigation records and no outcome yet is shown so.
INVESTIGATING_LABEL: Label = ("调查中", "Under investigation")

#: How a case ended (its final status): the outcome columns of the ledger.
OUTCOME_LABELS: dict[str, Label] = {
    "closed": ("已处置销号", "Settled and closed"),
    "dismissed": ("不予受理", "Not accepted"),
    "transferred": ("转送有关部门", "Transferred to the competent department"),
    "referred_procedure": ("移送仲裁/诉讼", "Referred to arbitration or court"),
    "referred": ("移送公安/监察", "Referred to police or the inspectorate"),
}

LEVEL_LABELS: dict[str, Label] = {
    "village": ("村（社区）", "Village"),
    "township": ("镇级", "Township"),
    "leading_group": ("提请领导小组审定", "Leading group"),
    "tackle_team": ("攻坚组", "Tackle team"),
    "district": ("区级", "District"),
}

#: Who handles a case now (``CaseState.handled_by``).
HANDLER_LABELS: dict[str, Label] = {
    "village": ("村（社区）", "Village"),
    "department": ("行业主管部门", "Supervising department"),
    "labour_office": ("劳保所", "Labour office"),
    "district": ("区级部门", "District"),
}

#: Where a case is referred (``refer``, ``refer_procedure``) or who was
#: brought in (an incident report): code -> (zh, en).
REFERRAL_TARGETS: dict[str, Label] = {
    "ping_an_ban": ("平安办", "Public safety office"),
    "si_fa_suo": ("司法所", "Judicial office"),
    "police": ("派出所", "Police station"),
    "legal_aid": ("法律援助", "Legal aid"),
    "arbitration": ("劳动仲裁", "Labour arbitration"),
    "court": ("法院", "Court"),
    "industry_department": ("行业主管部门", "Supervising department"),
    "district_inspectorate": ("区劳动保障监察支队", "District labour inspectorate"),
}
#: The targets of ``refer_procedure`` (移送仲裁/诉讼).
PROCEDURE_TARGETS = ("arbitration", "court")
#: Names typed before the targets were codes: still accepted and shown as the code.
LEGACY_REFERRAL_NAMES: dict[str, str] = {
    "区劳动保障监察大队": "district_inspectorate",
    "区劳动监察大队": "district_inspectorate",
    "公安": "police",
    "公安机关": "police",
}

#: ``advance_payment`` sources: who paid the workers before the employer did.
ADVANCE_SOURCES: dict[str, Label] = {
    "deposit": ("工资保证金支付", "Paid from the wage deposit"),
    "emergency_fund": ("应急周转金垫付", "Advanced from the emergency fund"),
    "general_contractor": ("总包单位先行清偿", "Paid first by the main contractor"),
    "developer": ("建设单位先行垫付", "Advanced by the developer"),
}

#: ``investigation_record`` kinds (调查).
INVESTIGATION_KINDS: dict[str, Label] = {
    "verification": ("核实情况", "Verification"),
    "interview": ("询问笔录", "Interview record"),
}
#: ``investigation_outcome`` results.
INVESTIGATION_OUTCOMES: dict[str, Label] = {
    "confirmed": ("欠薪属实", "Arrears confirmed"),
    "partly_confirmed": ("部分属实", "Partly confirmed"),
    "not_confirmed": ("反映不属实", "Not confirmed"),
    "in_procedure": ("已进入仲裁/诉讼程序", "Already in arbitration or court"),
    "other_department": ("属其他部门管辖", "Another department's matter"),
}

#: Event kinds (``shared_schema.cases.TRANSITIONS``), zh and en.
EVENT_LABELS: dict[str, Label] = {
    "accept": ("受理", "Accept"),
    "dismiss": ("不予受理", "Do not accept"),
    "escalate": ("上报镇级处置", "Escalate to the township"),
    "request_leading_group": ("提请领导小组审定", "Ask the leading group"),
    "approve_escalation": ("审定同意，交攻坚组处置", "Approve: to the tackle team"),
    "return_escalation": ("退回镇级处置", "Return to the township"),
    "refer": ("移送", "Refer"),
    "payment": ("追回欠薪", "Wages recovered"),
    "extend": ("延期30个工作日", "Extend by 30 working days"),
    "resolve": ("处置完毕", "Resolved"),
    "reopen": ("重新处置", "Reopen"),
    "close": ("销号", "Close"),
    "note": ("备注", "Note"),
    "investigation_record": ("调查记录", "Investigation record"),
    "investigation_outcome": ("调查结论", "Investigation outcome"),
    "transfer": ("转送有关部门", "Transfer to a department"),
    "refer_procedure": ("移送仲裁/诉讼", "Refer to arbitration/court"),
    "advance_payment": ("垫付/先行清偿", "Advance payment"),
    "reply": ("答复反映人", "Reply to the complainant"),
}

#: Why a new case starts where it does (``shared_schema.cases.route``).
ROUTE_REASONS: dict[str, Label] = {
    "incident": ("群体性事件，镇级处置", "Collective incident: township"),
    "construction": ("工程建设项目，行业主管部门负责", "Construction project: its department"),
    "gov_invested": ("政府投资项目，不在村级处置", "Government-invested: not at village level"),
    "no_village": ("未明确村（社区），镇级处置", "No village: township"),
    "collective_risk": ("有集体讨薪风险，镇级处置", "Collective-claim risk: township"),
    "large": ("大案件不出镇", "Large case: township"),
    "small": ("小案件不出村", "Small case: village"),
    "village_self_built": ("村（社区）自建项目，村级处置", "Village-built project: village"),
}


def _pick(label: Label, lang: str) -> str:
    return label[1] if lang == "en" else label[0]


def status_label(case: dict, lang: str = "zh") -> str:
    """A case's status for people: 调查中 while an accepted case is being
    investigated (records, no outcome yet), else its status's label."""
    status = case.get("status") or "registered"
    if status == "accepted" and case.get("investigation_records") and \
            not case.get("investigation_outcome"):
        return _pick(INVESTIGATING_LABEL, lang)
    label = STATUS_LABELS.get(status)
    return _pick(label, lang) if label else status


def event_label(kind: str, lang: str = "zh") -> str:
    label = EVENT_LABELS.get(kind)
    return _pick(label, lang) if label else kind


def referral_code(value: str | None) -> str | None:
    """The code of a referral target: a code, its Chinese name or a name typed
    before targets were codes; None for anything else."""
    if not value:
        return None
    text = value.strip()
    if text in REFERRAL_TARGETS:
        return text
    for code, (zh, _en) in REFERRAL_TARGETS.items():
        if text == zh:
            return code
    return LEGACY_REFERRAL_NAMES.get(text)


def referral_label(value: str | None, lang: str = "zh") -> str:
    """A referral target for people: its name, or an old free text as typed."""
    code = referral_code(value)
    return _pick(REFERRAL_TARGETS[code], lang) if code else (value or "")
