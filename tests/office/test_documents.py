"""Printed documents (issue #17): an inspection's 检查记录 and 限期整改通知书, a
case's 销号记录, as PDFs read back with pypdf: Chinese text, every item's answer,
the embedded CJK font, photo thumbnails from the blob store; rights and 404s."""

from __future__ import annotations

import hashlib
import io
import re
from typing import Any, Callable

import pypdf
import pytest
from PIL import Image

from server.support import DAY_MS, Device, World, complete_answers, error_of, ok
from shared_schema.checklists import load_templates
from shared_schema.ids import uuid7
from sync_server.domain.documents import answers as reading
from sync_server.domain.documents.fonts import otf_path

from security.test_uploads import create, patch


def read(body: bytes) -> tuple[pypdf.PdfReader, str]:
    reader = pypdf.PdfReader(io.BytesIO(body))
    text = "".join(page.extract_text() for page in reader.pages)
    # fpdf2 gives a CFF font its CMap as an embedded stream, which pypdf reads
    # one byte at a time: each two-byte code comes out as NUL + the character
    # (the ToUnicode map is right: other readers copy the text cleanly).
    return reader, re.sub(r"[\s\x00]+", "", text)


def fonts_of(reader: pypdf.PdfReader) -> list[dict[str, Any]]:
    out = []
    for page in reader.pages:
        for ref in page["/Resources"]["/Font"].values():
            font = ref.get_object()
            desc = font["/DescendantFonts"][0].get_object()["/FontDescriptor"]
            out.append({"name": str(font["/BaseFont"]), "subtype": str(font["/Subtype"]),
                        "embedded": "/FontFile3" in desc or "/FontFile2" in desc})
    return out


def get_pdf(world: World, path: str, headers: dict[str, str]) -> bytes:
    r = world.http.get(path, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF-")
    return r.content


def jpeg(colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (800, 600), colour).save(out, format="JPEG")
    return out.getvalue()


def submit_with_photos(world: World, dev: Device, answers: dict[str, Any]) -> str:
    """A construction inspection whose required photos were uploaded (real JPEG bytes)."""
    insp = uuid7()
    ok(dev.sync(dev.upsert("inspection", insp, {"site_id": world.site1, "lat": 29.66,
                                                "lon": 106.38, "answers": answers}))[0])
    required = [i.code for i in load_templates()["tpl-construction-v1"].items
                if i.photo == "required"]
    for n, code in enumerate(required):
        data = jpeg(((60 * n) % 256, 120, 200))
        digest = hashlib.sha256(data).hexdigest()
        r = create(world.http, dev, len(data), digest)
        assert r.status_code == 201, r.text
        r = patch(world.http, dev, r.headers["Location"], 0, data)
        assert r.status_code == 204, r.text
        ok(dev.sync(dev.insert("photo", uuid7(), {"sha256": digest, "owner_entity": "inspection",
                                                  "owner_id": insp, "item_code": code}))[0])
    ok(dev.sync(dev.upsert("inspection", insp, {"state": "submitted"}))[0])
    return insp


def test_record_pdf_has_the_site_every_answer_photos_and_the_embedded_font(
        world: World, grid1: Device, office: dict[str, str]) -> None:
    insp = submit_with_photos(world, grid1, complete_answers(
        C04={"answer": "no"}, C24={"answer": {"interviewed": 6, "reporting_arrears": 2}}))
    required = [i for i in load_templates()["tpl-construction-v1"].items if i.photo == "required"]
    body = get_pdf(world, f"/api/v1/office/inspections/{insp}/record.pdf", office)
    reader, text = read(body)
    site = world.store.get_record("site", world.site1)
    assert site is not None
    assert "检查记录" in text and re.sub(r"\s+", "", site.data["name"]) in text
    template = load_templates()["tpl-construction-v1"]
    for item in template.items:  # every item printed with its label
        assert re.sub(r"\s+", "", item.label.zh) in text, item.code
    assert "开立农民工工资专用账户否存在问题" in text  # C04 answered no
    assert "访谈工人数：6；其中反映欠薪人数：2" in text
    assert "被检查单位负责人（签字）" in text
    fonts = fonts_of(reader)
    assert fonts and all(f["embedded"] and "NotoSansCJKSC" in f["name"] for f in fonts)
    images = [img for page in reader.pages for img in page.images]
    assert len(images) == len(required)
    assert all(max(img.image.size) <= 360 for img in images)  # thumbnails, not the photos


def test_rectification_pdf_lists_the_failed_items_with_the_default_deadline(
        world: World, office: dict[str, str], submitted: Callable[..., str]) -> None:
    insp = submitted(C04={"answer": "no"}, C22={"answer": "no"})
    body = get_pdf(world, f"/api/v1/office/inspections/{insp}/rectification.pdf", office)
    _, text = read(body)
    template = {i.code: i for i in load_templates()["tpl-construction-v1"].items}
    assert "限期整改通知书" in text
    assert re.sub(r"\s+", "", template["C04"].label.zh) in text
    assert re.sub(r"\s+", "", template["C22"].label.zh) in text
    assert re.sub(r"\s+", "", template["C01"].label.zh) not in text  # answered as required
    # The world's clock is 2025-11-26 (重庆); no deadline recorded: 15 days on.
    assert "请你单位于2025年12月11日前整改完毕" in text


def test_rectification_uses_the_date_the_inspector_set(
        world: World, office: dict[str, str], submitted: Callable[..., str]) -> None:
    insp = submitted(C26={"answer": "补开工资专户", "value": "2025-12-31"})
    _, text = read(get_pdf(world, f"/api/v1/office/inspections/{insp}/rectification.pdf", office))
    assert "补开工资专户" in text and "2025年12月31日前整改完毕" in text


def test_no_notice_without_problems_and_404_for_unknown(
        world: World, office: dict[str, str], submitted: Callable[..., str]) -> None:
    template = load_templates()["tpl-construction-v1"]
    insp = submitted(**{i.code: {"answer": i.good} for i in template.items if i.good})
    error_of(world.http.get(f"/api/v1/office/inspections/{insp}/rectification.pdf",
                            headers=office), 409)
    for path in ("/api/v1/office/inspections/nope/record.pdf",
                 "/api/v1/office/inspections/nope/rectification.pdf",
                 "/api/v1/cases/nope/closure.pdf"):
        assert error_of(world.http.get(path, headers=office), 404)["code"] == "not_found"


def test_field_roles_may_not_print(world: World, grid1: Device,
                                   submitted: Callable[..., str]) -> None:
    insp = submitted()
    err = error_of(world.http.get(f"/api/v1/office/inspections/{insp}/record.pdf",
                                  headers=grid1.headers), 403)
    assert err["code"] == "forbidden"


def test_closure_pdf_has_amounts_workers_paid_and_the_call_back(
        world: World, grid1: Device, office: dict[str, str], leader: dict[str, str]) -> None:
    r = world.http.post("/api/v1/cases", json={
        "source": "letter", "sector": "non_construction", "title": "某厂拖欠工资",
        "employer": "某厂(演示)", "workers_owed": 3, "amount_owed": 18_600,
        "complainant_name": "张三"}, headers=office)
    assert r.status_code == 201, r.text
    case = r.json()["case"]["id"]
    world.clock.advance(DAY_MS)
    for kind, extra in (("accept", {}),
                        ("resolve", {"note": "已足额支付", "amount_recovered": 18_600,
                                     "workers_paid": 3}),
                        ("close", {"evidence": ["d" * 64], "callback_note": "电话回访3人均已收到"})):
        r = world.http.post(f"/api/v1/cases/{case}/events", json={"kind": kind, **extra},
                            headers=office)
        assert r.status_code == 200, r.text
    reader, text = read(get_pdf(world, f"/api/v1/cases/{case}/closure.pdf", leader))
    assert "欠薪案件销号记录" in text
    assert "18,600.00元" in text and "已支付人数3人" in text
    assert "电话回访3人均已收到" in text and "来信" in text and "张三" in text
    assert "letter" not in text
    assert all(f["embedded"] for f in fonts_of(reader))


def test_answer_reading_is_chinese_and_finds_failures() -> None:
    template = load_templates()["tpl-construction-v1"]
    item = {i.code: i for i in template.items}
    assert reading.answer_text(item["C04"], {"answer": "na"}) == "不涉及"
    assert reading.answer_text(item["C04"], None) == "未填"
    assert reading.failed(item["C04"], {"answer": "no"})
    assert not reading.failed(item["C04"], {"answer": "na"})
    assert reading.rectification_text(template, {"C26": {"answer": "无"}}) == ("", None)


def test_the_font_is_decoded_once_to_an_opentype_file() -> None:
    path = otf_path()
    assert path.read_bytes()[:4] == b"OTTO" and otf_path() == path
    with pytest.raises(FileNotFoundError):
        otf_path(path.with_name("missing.woff2"))
