"""销号记录 of one case: what was owed, recovered and paid, the call-back, the steps taken."""

from __future__ import annotations

from shared_schema.case_sources import source_label
from shared_schema.cases import TRANSITIONS
from sync_server.domain.calendar.service import safe_local_date
from sync_server.domain.documents.inspection_docs import ISSUER, zh_date
from sync_server.domain.documents.paper import Paper
from sync_server.domain.documents.service import CaseFacts
from sync_server.domain.reports.labels import level_label, sector_label, status_label


def _money(value: object) -> str:
    return f"{value:,.2f} 元" if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else "—"


def _count(value: object) -> str:
    return f"{value} 人" if isinstance(value, int) and not isinstance(value, bool) else "—"


def _day(ms: object) -> str:
    return zh_date(safe_local_date(ms if isinstance(ms, int) else None))


def closure_pdf(f: CaseFacts) -> bytes:
    c = f.case
    paper = Paper("欠薪案件销号记录", author=ISSUER)
    period = "至".join(x for x in (c.get("period_from"), c.get("period_to")) if x) or "—"
    paper.facts([
        ("案件名称", c.get("title") or "—"), ("用人单位", c.get("employer") or "—"),
        ("来源", source_label(c.get("source"))), ("行业类别", sector_label(c.get("sector"))),
        ("所属村(社区)", f.village or "—"), ("所在场所", f.site or "—"),
        ("反映人", c.get("complainant_name") or "—"), ("联系电话", c.get("complainant_phone") or "—"),
        ("登记日期", _day(c.get("opened_at") or c.get("received_at"))),
        ("受理日期", _day(c.get("accepted_at"))),
        ("欠薪期间", period), ("处置层级", level_label(c.get("level"))),
        ("涉及人数", _count(c.get("workers_owed"))), ("欠薪金额", _money(c.get("amount_owed"))),
        ("已支付人数", _count(c.get("workers_paid"))), ("追回金额", _money(c.get("amount_recovered"))),
        ("办结日期", _day(c.get("resolved_at"))), ("销号日期", _day(c.get("closed_at"))),
        ("案件状态", status_label(c.get("status"))), ("", ""),
    ])
    callbacks = [e.data.get("callback_note") for e in f.events if e.data.get("callback_note")]
    paper.heading("回访情况")
    paper.line("；".join(callbacks) if callbacks else "尚无回访记录。")
    paper.heading("办理经过")
    rows = []
    for e in f.events:
        d = e.data
        t = TRANSITIONS.get(d.get("kind") or "")
        said = [str(d["note"])] if d.get("note") else []
        if d.get("amount_recovered"):
            said.append(f"追回 {_money(d['amount_recovered'])}")
        if d.get("workers_paid"):
            said.append(f"支付 {_count(d['workers_paid'])}")
        if d.get("evidence"):
            said.append(f"凭证 {len(d['evidence'])} 份")
        rows.append([_day(d.get("received_at") or d.get("created_at")),
                     t.label_zh if t else "其他事项", "；".join(said),
                     f.users.get(d.get("author_id") or "", "—")])
    paper.table(["日期", "办理事项", "情况", "经办人"], rows, [30, 34, 90, 26])
    paper.signatures(["经办人", "审核人", "分管领导"])
    paper.seal(ISSUER, "________年____月____日")
    return paper.output()
