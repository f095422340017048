"""Monthly figures (重庆 口径, 渝府办发〔2025〕38号): the JSON summary that the
workbook and the CSV files are written from, so the three always agree.

A month is local time (UTC+8). Registry facts (六项制度, headcounts) are the
site's as approved by the office; amounts come from the latest approved
inspection submitted by the month's end; cases and their recoveries from the
case ledger and its events. A rate is in-place ÷ known among active
construction projects (null when none is known: "na" and "exempt" answers
are left out, as the checklist reading says).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from shared_schema import cases as case_rules
from shared_schema.case_sources import source_label
from shared_schema.checklists import SIX_SYSTEMS, headcounts, load_templates
from shared_schema.servertime import (
    DEFAULT_MAX_BACKDATE_MS,
    case_opened_ms,
    event_ms,
    submitted_ms,
)
from sync_server.domain.principal import Principal
from sync_server.domain.calendar import service as calendar
from sync_server.domain.calendar.service import LOCAL, safe_local_date
from sync_server.domain.office import access
from sync_server.domain.reports import labels
from sync_server.domain.reports.schema import Column, MonthlySummary, Sheet
from sync_server.settings import Settings
from sync_server.store.base import StoredRecord, SyncStore

TOWNSHIP = "回龙坝镇"
SIX_LABELS = {"real_name": "实名制", "deposit": "工资保证金", "account": "农民工工资专用账户",
              "bank_payroll": "银行代发", "notice_board": "维权告示牌",
              "monthly_full_pay": "按月足额支付"}

#: Columns the ledgers share (the same key, header, kind and width). ``seq`` (序号)
#: numbers the rows of each ledger from 1, as a printed 台账 does.
_SEQ = Column(key="seq", header="序号", kind="int", width=6)
_TOWNSHIP = Column(key="township", header="镇街", width=10)
_VILLAGE = Column(key="village", header="所属村(社区)", width=16)
_SITE_STATUS = Column(key="status", header="状态", width=10)
_CONTRACTS = Column(key="headcount_contracts", header="签订劳动合同人数", kind="int", width=16)
_AMOUNT_OWED = Column(key="amount_owed", header="欠薪金额(元)", kind="money", width=14)
_AMOUNT_RECOVERED = Column(key="amount_recovered", header="追回金额(元)", kind="money", width=14)
#: The last columns of both site ledgers: this month's inspections, the site's cases.
_SITE_TAIL = [
    Column(key="inspections_in_month", header="本月巡查次数", kind="int", width=12),
    Column(key="last_inspected", header="最近检查日期", kind="date", width=13),
    Column(key="open_cases", header="在办欠薪案件", kind="int", width=12),
    _AMOUNT_OWED,
    _AMOUNT_RECOVERED,
]

PROJECT_COLUMNS = [
    _SEQ,
    _TOWNSHIP,
    Column(key="project", header="项目名称", width=30),
    _VILLAGE,
    Column(key="department", header="主管部门", width=24),
    Column(key="builder", header="建设单位", width=28),
    Column(key="contractor", header="施工总承包单位", width=28),
    Column(key="contract_amount", header="合同金额(元)", kind="money", width=16),
    Column(key="gov_invested", header="政府投资", kind="bool", width=9),
    _SITE_STATUS,
    *[Column(key=k, header=SIX_LABELS[k], kind="bool", width=12) for k in SIX_SYSTEMS],
    Column(key="headcount_on_site", header="在岗农民工人数", kind="int", width=14),
    Column(key="headcount_real_name", header="实名登记人数", kind="int", width=13),
    _CONTRACTS,
    Column(key="deposit_amount", header="工资保证金金额(元)", kind="money", width=18),
    Column(key="labour_cost_transferred", header="最近拨付人工费(元)", kind="money", width=18),
    *_SITE_TAIL,
]
ENTERPRISE_COLUMNS = [
    _SEQ,
    _TOWNSHIP,
    Column(key="enterprise", header="企业名称", width=28),
    Column(key="kind", header="类型", width=10),
    Column(key="industry", header="行业", width=10),
    _VILLAGE,
    _SITE_STATUS,
    Column(key="headcount_on_site", header="在岗人数", kind="int", width=10),
    Column(key="migrant_workers", header="农民工人数", kind="int", width=11),
    _CONTRACTS,
    *_SITE_TAIL,
]
#: Farms and other sites (花卉苗木基地, 合作社: site kind ``other``).
OTHER_COLUMNS = [
    _SEQ,
    _TOWNSHIP,
    Column(key="site", header="场所名称", width=28),
    Column(key="industry", header="类别", width=14),
    _VILLAGE,
    Column(key="address", header="地址", width=26),
    Column(key="contact", header="负责人及电话", width=22),
    _SITE_STATUS,
    Column(key="headcount_on_site", header="在岗人数", kind="int", width=10),
    _CONTRACTS,
    *_SITE_TAIL,
]
CASE_COLUMNS = [
    _SEQ,
    Column(key="opened", header="登记日期", kind="date", width=12),
    Column(key="title", header="案件名称", width=34),
    Column(key="source", header="来源", width=12),
    _VILLAGE,
    Column(key="employer", header="用人单位", width=28),
    Column(key="sector", header="行业类别", width=10),
    Column(key="level", header="处置层级", width=10),
    Column(key="status", header="状态", width=12),
    Column(key="workers_owed", header="涉及人数", kind="int", width=10),
    _AMOUNT_OWED,
    Column(key="workers_paid", header="已支付人数", kind="int", width=11),
    _AMOUNT_RECOVERED,
    Column(key="accept_due", header="受理期限", kind="date", width=12),
    Column(key="conclude_due", header="办结期限", kind="date", width=12),
    Column(key="concluded", header="办结日期", kind="date", width=12),
    Column(key="on_time", header="按期办结", kind="bool", width=10),
    Column(key="overdue", header="是否超期", kind="bool", width=10),
    Column(key="deadline_note", header="期限说明", width=22),
]
#: The 期限说明 of a deadline past the working-day calendar's last day.
BEYOND_CALENDAR_NOTE = "期限超出工作日历，为估算"
SUMMARY_COLUMNS = [
    Column(key="indicator", header="指标", width=26),
    Column(key="value", header="数值", kind="number", width=14),
    Column(key="target", header="目标", width=12),
    Column(key="basis", header="口径说明", width=60),
]
#: (key, 指标, target, 口径说明) of the 汇总 sheet, in order.
INDICATORS: list[tuple[str, str, str, str]] = [
    ("cases_opened", "本月新登记线索(件)", "", "本月登记的欠薪线索(案件)"),
    ("workers_owed", "本月新增涉及农民工(人)", "同比下降12%", "本月登记案件的涉及人数"),
    ("amount_owed", "本月新增欠薪金额(元)", "同比下降15%", "本月登记案件的欠薪金额"),
    ("amount_recovered", "本月追回金额(元)", "", "本月案件事件(追回、办结、销号)记录的追回金额"),
    ("workers_paid", "本月已支付人数(人)", "", "本月案件事件记录的已支付人数"),
    ("cases_concluded", "本月办结案件(件)", "", "本月处置完毕(已办结待销号)的案件"),
    ("cases_closed", "本月销号案件(件)", "", "本月销号的案件"),
    ("concluded_on_time", "其中按期办结(件)", "", "受理后60个工作日内办结(延期一次加30个工作日)"),
    ("on_time_rate", "线索按期办结率", "≥96%", "按期办结 ÷ 本月办结"),
    ("open_cases", "月末在办案件(件)", "", "已登记或已受理、月末未办结"),
    ("overdue_cases", "月末超期案件(件)", "0", "月末超过受理或办结期限的在办案件"),
    ("projects", "在建工程项目(个)", "", "状态为在建的工程建设项目"),
    ("projects_inspected", "本月已巡查项目(个)", "", "本月至少提交一次检查表的在建项目"),
    ("inspection_coverage", "项目月度巡查覆盖率", "100%", "每个在建项目每月至少巡查一次"),
    ("deposit_rate", "工资保证金存储率", "100%", "六项制度:工资保证金 在位 ÷ 已核实"),
    ("account_rate", "农民工工资专用账户开设率", "≥85%", "六项制度:工资专户 在位 ÷ 已核实"),
    ("real_name_rate", "实名制管理率", "≥70%", "六项制度:实名登记人数≥在岗人数 ÷ 已核实"),
    ("bank_payroll_rate", "银行代发工资率", "≥85%", "六项制度:银行代发 在位 ÷ 已核实"),
    ("notice_board_rate", "维权信息告示牌设置率", "100%", "六项制度:维权告示牌 在位 ÷ 已核实"),
    ("monthly_full_pay_rate", "按月足额支付率", "100%", "六项制度:按月足额支付 在位 ÷ 已核实"),
    ("enterprises", "在营企业(家)", "", "工贸企业、物流企业"),
    ("enterprises_inspected", "本月已巡查企业(家)", "", "本月至少提交一次检查表的在营企业"),
]
RATE_KEYS = frozenset(k for k, *_ in INDICATORS if k.endswith("_rate") or k.endswith("coverage"))
SIX_RATE_KEY = {"deposit": "deposit_rate", "account": "account_rate",
                "real_name": "real_name_rate", "bank_payroll": "bank_payroll_rate",
                "notice_board": "notice_board_rate", "monthly_full_pay": "monthly_full_pay_rate"}


def month_bounds(month: str) -> tuple[int, int]:
    first = dt.date.fromisoformat(month + "-01")
    nxt = (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1)

    def ms(d: dt.date) -> int:
        return int(dt.datetime.combine(d, dt.time(), LOCAL).timestamp() * 1000)

    return ms(first), ms(nxt)


def _rate(yes: int, known: int) -> float | None:
    return round(yes / known, 4) if known else None


def _date(ms: int | None) -> str | None:
    day = safe_local_date(ms)
    return day.isoformat() if day else None


def _number(answer: dict[str, Any] | None) -> float | None:
    value = (answer or {}).get("value")
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


class _Month:
    """The records of the report, grouped once. Every time that places a
    record in a month counts at server time (``shared_schema.servertime``):
    the device's time only within ``window`` ms before the server received it."""

    def __init__(self, store: SyncStore, month: str, window: int) -> None:
        self.start, self.end = month_bounds(month)
        self.window = window
        self.names = {e: {r.id: r.data.get("name") for r in store.records(e)}
                      for e in ("village", "department")}
        self.sites = [s for s in store.records("site") if not s.deleted]
        self.inspections: dict[str, list[StoredRecord]] = {}
        for i in store.records("inspection"):
            if not i.deleted and i.data.get("state") == "submitted" \
                    and (self.submitted(i) or 0) < self.end:
                self.inspections.setdefault(i.data.get("site_id") or "", []).append(i)
        self.cases = [c for c in store.records("case") if not c.deleted
                      and (self.opened(c) or 0) < self.end]
        self.events = [e for e in store.records("case_event") if not e.deleted]

    def opened(self, case: StoredRecord) -> int | None:
        return case_opened_ms(case.data, self.window)

    def submitted(self, inspection: StoredRecord) -> int | None:
        return submitted_ms(inspection.data, self.window)

    def event_at(self, event: StoredRecord) -> int | None:
        return event_ms(event.data, self.window)

    def in_month(self, ms: int | None) -> bool:
        return ms is not None and self.start <= ms < self.end

    def latest_approved(self, site_id: str) -> StoredRecord | None:
        approved = [i for i in self.inspections.get(site_id, [])
                    if i.data.get("review_state") == "approved"]
        return max(approved, key=lambda i: self.submitted(i) or 0, default=None)

    def inspected_in_month(self, site_id: str) -> int:
        return sum(self.in_month(self.submitted(i))
                   for i in self.inspections.get(site_id, []))

    def site_cases(self, site_id: str) -> tuple[int, float, float]:
        mine = [c for c in self.cases if c.data.get("site_id") == site_id]
        open_ = sum((c.data.get("status") or "registered") in ("registered", "accepted")
                    for c in mine)
        return (open_, sum(c.data.get("amount_owed") or 0 for c in mine),
                sum(c.data.get("amount_recovered") or 0 for c in mine))


def _site_tail(m: _Month, s: StoredRecord) -> dict[str, Any]:
    """The values of ``_SITE_TAIL``: the site's inspections this month, its cases."""
    open_, owed, recovered = m.site_cases(s.id)
    return {
        "inspections_in_month": m.inspected_in_month(s.id),
        "last_inspected": _date(s.data.get("last_inspected_at")),
        "open_cases": open_, "amount_owed": owed, "amount_recovered": recovered,
    }


def _project_row(m: _Month, s: StoredRecord) -> dict[str, Any]:
    d = s.data
    systems = d.get("six_systems") or {}
    latest = m.latest_approved(s.id)
    answers = (latest.data.get("answers") or {}) if latest else {}
    return {
        "township": TOWNSHIP, "project": d.get("name"),
        "village": m.names["village"].get(s.village_id or ""),
        "department": m.names["department"].get(s.department_id or ""),
        "builder": d.get("builder"), "contractor": d.get("contractor"),
        "contract_amount": d.get("contract_amount"), "gov_invested": d.get("gov_invested"),
        "status": labels.site_status_label(d.get("status")),
        **{k: systems.get(k) for k in SIX_SYSTEMS},
        "headcount_on_site": d.get("headcount_on_site"),
        "headcount_real_name": d.get("headcount_real_name"),
        "headcount_contracts": d.get("headcount_contracts"),
        "deposit_amount": _number(answers.get("C07")),
        "labour_cost_transferred": _number(answers.get("C06")),
        **_site_tail(m, s),
    }


def _enterprise_row(m: _Month, s: StoredRecord) -> dict[str, Any]:
    d = s.data
    latest = m.latest_approved(s.id)
    migrant = None
    if latest is not None:
        template = load_templates().get(latest.data.get("template_id") or "")
        if template is not None:
            migrant = headcounts(template, latest.data.get("answers") or {}).get("migrant")
    return {
        "township": TOWNSHIP, "enterprise": d.get("name"),
        "kind": labels.site_kind_label(d.get("kind")), "industry": d.get("industry"),
        "village": m.names["village"].get(s.village_id or ""),
        "status": labels.site_status_label(d.get("status")),
        "headcount_on_site": d.get("headcount_on_site"), "migrant_workers": migrant,
        "headcount_contracts": d.get("headcount_contracts"),
        **_site_tail(m, s),
    }


def _other_row(m: _Month, s: StoredRecord) -> dict[str, Any]:
    d = s.data
    contact = " ".join(str(d[k]) for k in ("contact_name", "contact_phone") if d.get(k))
    return {
        "township": TOWNSHIP, "site": d.get("name"), "industry": d.get("industry"),
        "village": m.names["village"].get(s.village_id or ""), "address": d.get("address"),
        "contact": contact or None, "status": labels.site_status_label(d.get("status")),
        "headcount_on_site": d.get("headcount_on_site"),
        "headcount_contracts": d.get("headcount_contracts"),
        **_site_tail(m, s),
    }


def _numbered(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{"seq": n, **row} for n, row in enumerate(rows, start=1)]


def _case_row(m: _Month, c: StoredRecord, deadlines: calendar.Deadlines) -> dict[str, Any]:
    d = c.data
    concluded = d.get("resolved_at") or d.get("closed_at")
    return {
        "opened": _date(m.opened(c)),
        "title": d.get("title") or d.get("employer"),
        "source": source_label(d.get("source")) if d.get("source") else None,
        "village": m.names["village"].get(c.village_id or ""), "employer": d.get("employer"),
        "sector": labels.sector_label(d.get("sector")) if d.get("sector") else None,
        "level": labels.level_label(d.get("level")) if d.get("level") else None,
        "status": labels.status_label(d.get("status")),
        "workers_owed": d.get("workers_owed"), "amount_owed": d.get("amount_owed"),
        "workers_paid": d.get("workers_paid") or 0,
        "amount_recovered": d.get("amount_recovered") or 0.0,
        "accept_due": deadlines.accept_due, "conclude_due": deadlines.conclude_due,
        "concluded": _date(concluded), "on_time": deadlines.on_time,
        "overdue": deadlines.overdue,
        "deadline_note": BEYOND_CALENDAR_NOTE if deadlines.beyond_calendar else None,
    }


def monthly_summary(store: SyncStore, settings: Settings, p: Principal,
                    month: str) -> MonthlySummary:
    access.require(p, access.OFFICE_LEADER, "read reports")
    return build(store, settings.now_ms(), month, settings.max_backdate_ms)


def build(store: SyncStore, now_ms: int, month: str,
          max_backdate_ms: int = DEFAULT_MAX_BACKDATE_MS) -> MonthlySummary:
    m = _Month(store, month, max_backdate_ms)
    cal = calendar.load(store)
    as_of = min(now_ms, m.end - 1)  # deadlines as they stood at the month's end
    projects = [s for s in m.sites if s.data.get("kind") == "construction"]
    enterprises = [s for s in m.sites if s.data.get("kind") in ("factory", "logistics")]
    others = [s for s in m.sites if s.data.get("kind") == "other"]
    project_rows = _numbered([_project_row(m, s) for s in projects])
    enterprise_rows = _numbered([_enterprise_row(m, s) for s in enterprises])
    other_rows = _numbered([_other_row(m, s) for s in others])
    ledger = []
    for c in m.cases:
        done = c.data.get("closed_at") or c.data.get("resolved_at")
        final = (c.data.get("status") or "") in case_rules.FINAL_STATUSES
        if final and (done or c.data.get("updated_at") or 0) < m.start:
            continue  # finished before this month
        ledger.append((c, calendar.case_deadlines(cal, c.data, as_of, m.window)))
    ledger.sort(key=lambda x: (m.opened(x[0]) or 0, x[0].id))
    case_rows = _numbered([_case_row(m, c, dl) for c, dl in ledger])

    opened = [c for c, _ in ledger if m.in_month(m.opened(c))]
    concluded = [(c, dl) for c, dl in ledger if m.in_month(c.data.get("resolved_at"))]
    month_events = [e for e in m.events if m.in_month(m.event_at(e))
                    and e.data.get("kind") in ("payment", "resolve", "close", "note")]
    active_projects = [s for s in projects if s.data.get("status") in (None, "active")]
    active_enterprises = [s for s in enterprises if s.data.get("status") in (None, "active")]
    totals: dict[str, Any] = {
        "cases_opened": len(opened),
        "workers_owed": sum(c.data.get("workers_owed") or 0 for c in opened),
        "amount_owed": round(sum(c.data.get("amount_owed") or 0 for c in opened), 2),
        "amount_recovered": round(sum(e.data.get("amount_recovered") or 0
                                      for e in month_events), 2),
        "workers_paid": sum(e.data.get("workers_paid") or 0 for e in month_events),
        "cases_concluded": len(concluded),
        "cases_closed": sum(m.in_month(c.data.get("closed_at")) for c, _ in ledger),
        "concluded_on_time": sum(bool(dl.on_time) for _, dl in concluded),
        "open_cases": sum((c.data.get("status") or "registered") in ("registered", "accepted")
                          for c, _ in ledger),
        "overdue_cases": sum(dl.overdue for _, dl in ledger),
        "projects": len(active_projects),
        "projects_inspected": sum(m.inspected_in_month(s.id) > 0 for s in active_projects),
        "enterprises": len(active_enterprises),
        "enterprises_inspected": sum(m.inspected_in_month(s.id) > 0
                                     for s in active_enterprises),
    }
    totals["on_time_rate"] = _rate(totals["concluded_on_time"], totals["cases_concluded"])
    totals["inspection_coverage"] = _rate(totals["projects_inspected"], totals["projects"])
    for system, key in SIX_RATE_KEY.items():
        known = [(s.data.get("six_systems") or {}).get(system) for s in active_projects]
        known = [v for v in known if v is not None]
        totals[key] = _rate(sum(known), len(known))
    summary_rows = [{"indicator": label, "value": totals[key], "target": target or None,
                     "basis": basis, "key": key} for key, label, target, basis in INDICATORS]
    month_zh = f"{month[:4]}年{int(month[5:])}月"
    return MonthlySummary(
        month=month, township=TOWNSHIP, generated_at=now_ms,
        projects=Sheet(name="项目台账", title=f"{TOWNSHIP}{month_zh}工程建设项目台账",
                       columns=PROJECT_COLUMNS, rows=project_rows),
        enterprises=Sheet(name="企业台账", title=f"{TOWNSHIP}{month_zh}企业台账",
                          columns=ENTERPRISE_COLUMNS, rows=enterprise_rows),
        others=Sheet(name="其他场所台账",
                     title=f"{TOWNSHIP}{month_zh}其他场所台账（花卉苗木基地、合作社等）",
                     columns=OTHER_COLUMNS, rows=other_rows),
        cases=Sheet(name="欠薪案件台账", title=f"{TOWNSHIP}{month_zh}欠薪案件台账",
                    columns=CASE_COLUMNS, rows=case_rows),
        summary=Sheet(name="汇总", title=f"{TOWNSHIP}{month_zh}根治欠薪工作汇总(重庆口径)",
                      columns=SUMMARY_COLUMNS, rows=summary_rows),
        totals=totals)
