"""检查记录 and 限期整改通知书 of one inspection, as PDF bytes."""

from __future__ import annotations

import datetime as dt

from sync_server.domain.documents import answers as reading
from sync_server.domain.documents.paper import Paper
from sync_server.domain.documents.service import InspectionFacts, rectification_deadline
from sync_server.domain.errors import DomainError
from sync_server.domain.reports.labels import site_kind_label

ISSUER = "回龙坝镇劳动保障所"
REVIEW_ZH = {"pending": "待审核", "approved": "审核通过", "has_issues": "存在问题，限期整改",
             "rejected": "退回"}


def zh_date(day: dt.date | None) -> str:
    return f"{day.year}年{day.month}月{day.day}日" if day else "—"


def _site_name(f: InspectionFacts) -> str:
    return f.site.get("name") or "—"


def _header_values(f: InspectionFacts) -> list[tuple[str, str]]:
    """The template's header fields the inspection recorded (``header``), by their labels."""
    recorded = f.inspection.get("header")
    if f.template is None or not isinstance(recorded, dict):
        return []
    out = []
    for h in f.template.header:
        value = recorded.get(h.code)
        if value not in (None, "", []) and h.code != "gps":
            out.append((h.label.zh, "、".join(map(str, value)) if isinstance(value, list)
                        else str(value)))
    return out


def _inspectors(f: InspectionFacts) -> str:
    header = f.inspection.get("header")
    others = header.get("inspectors") if isinstance(header, dict) else None
    names = [f.inspector]
    if isinstance(others, list):
        names += [str(n) for n in others if str(n) not in names]
    elif isinstance(others, str) and others.strip():
        names += [n for n in others.replace("，", "、").replace(",", "、").split("、")
                  if n.strip() and n.strip() not in names]
    return "、".join(names)


def record_pdf(f: InspectionFacts) -> bytes:
    """检查记录: the site, date and inspectors, every item with its answer, the
    photos as thumbnails, and signature lines."""
    title = (f.template.title.zh if f.template else "巡查") + "检查记录"
    paper = Paper(title.replace("检查表检查记录", "检查记录"), subject="检查记录", author=ISSUER)
    d, s = f.inspection, f.site
    gps = (f"{d['lat']:.5f}, {d['lon']:.5f}" if isinstance(d.get("lat"), (int, float))
           and isinstance(d.get("lon"), (int, float)) else "—")
    pairs = [("场所名称", _site_name(f)), ("场所类型", site_kind_label(s.get("kind"))),
             ("所属村(社区)", f.village or "—"), ("行业主管部门", f.department or "—"),
             ("地址", s.get("address") or "—"), ("检查日期", zh_date(f.submitted_on)),
             ("检查人员", _inspectors(f)), ("GPS定位", gps)]
    if s.get("kind") == "construction":
        pairs += [("建设单位", s.get("builder") or "—"), ("施工总承包单位", s.get("contractor") or "—")]
    elif s.get("contact_name"):
        pairs += [("负责人", s.get("contact_name") or "—"), ("联系电话", s.get("contact_phone") or "—")]
    pairs += _header_values(f)
    paper.facts(pairs)
    paper.heading("检查内容及结果")
    answers = d.get("answers") or {}
    if f.template is None:
        paper.line("该检查使用的检查表已不存在，检查结果无法逐项列出。")
    else:
        rows = []
        for group in f.template.groups:
            for code in group.items:
                item = next((i for i in f.template.items if i.code == code), None)
                if item is None:
                    continue
                a = answers.get(code)
                verdict = "存在问题" if reading.failed(item, a) else ""
                rows.append([code, item.label.zh, reading.answer_text(item, a),
                             "；".join(x for x in (verdict, reading.detail_text(item, a)) if x)])
        paper.table(["编号", "检查内容", "检查结果", "情况说明"], rows, [16, 78, 30, 56])
    if d.get("notes"):
        paper.heading("备注")
        paper.line(str(d["notes"]))
    if d.get("review_state"):
        paper.heading("审核意见")
        paper.line(REVIEW_ZH.get(d["review_state"], "—")
                   + (f"：{d['review_comment']}" if d.get("review_comment") else ""))
    if f.photos or f.photos_missing:
        paper.heading("现场照片")
        paper.thumbnails(f.photos)
        if f.photos_missing:
            paper.line(f"另有 {f.photos_missing} 张照片未附（未上传完成或超出页数）。", size=9)
    paper.signatures(["检查人员", "检查人员", "被检查单位负责人"])
    return paper.output()


def rectification_pdf(f: InspectionFacts) -> bytes:
    """限期整改通知书 from the failed items, with the deadline."""
    if f.inspection.get("state") != "submitted":
        raise DomainError("not_submitted", "only a submitted inspection has a rectification notice")
    answers = f.inspection.get("answers") or {}
    items = reading.failed_items(f.template, answers) if f.template else []
    extra, c26_date = (reading.rectification_text(f.template, answers) if f.template
                       else ("", None))
    if not items and not extra:
        raise DomainError("nothing_to_rectify", "this inspection found nothing to rectify",
                          id=f.inspection.get("id"))
    due = rectification_deadline(f, c26_date)
    paper = Paper("限期整改通知书", author=ISSUER)
    s = f.site
    addressee = (s.get("contractor") if s.get("kind") == "construction" else None) or _site_name(f)
    paper.line(f"{addressee}：", size=12)
    paper.line(f"　　{zh_date(f.submitted_on)}，我所工作人员对你单位{_site_name(f)}"
               f"开展根治欠薪巡查，发现存在下列问题。根据《保障农民工工资支付条例》等规定，"
               f"请你单位于{zh_date(due)}前整改完毕，并将整改情况书面报送{ISSUER}。"
               f"逾期未整改或整改不到位的，将提请行业主管部门依法处理。")
    rows = [[str(n), item.label.zh, item.basis or "—"] for n, item in enumerate(items, start=1)]
    if extra:
        rows.append([str(len(rows) + 1), extra, "检查人员现场意见"])
    paper.table(["序号", "存在问题", "依据"], rows, [14, 90, 76])
    paper.line(f"整改期限：{zh_date(due)}前", size=11)
    paper.seal(ISSUER, zh_date(f.submitted_on))
    paper.signatures(["送达人", "被检查单位签收人"])
    return paper.output()
