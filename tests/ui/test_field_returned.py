"""Issue #16's phone journeys in a phone-sized Chromium (Debian's), against the
real server (the office's review goes through the office API):

1. a bad number is shown under its field, kept across steps, listed by submit
   and never saved (neither on the phone nor on the server);
2. no GPS at the start (permission refused): 未定位; the permission comes back
   and 重新定位 gives a fix, which is stored and reaches the office exactly as
   the phone showed it;
3. offline, a sync failure is said in Chinese (无网络), never English text;
4. the office returns (退回) the inspection: the phone shows the 退回 badge,
   the 退回给我 list and the comment on the inspection; the inspector reopens,
   fixes and resubmits (sent at once, online), the office approves;
5. a photo's thumbnail opens it full size (offline, from the phone's file) and
   closes; on the reopened draft a photo is replaced and another deleted (after
   a confirmation), the photo count follows at once, and the server ends with
   the replacement live and the other two as tombstones.

Screens go to tests/ui/artifacts/ (names starting with ``r``).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from server.support import device_secret
from shared_schema.ids import uuid7
from sync_server.demo import DEMO_PASSWORD

from .conftest import read_only, wait_until
from .phone import Phone, sel
from .test_field_job import server_rows

COMMENT = "E03 合同人数与职工名册不符，请核实后重新提交"
ENGLISH_ERRORS = re.compile(r"ConnectError|attempts|failed|Traceback|Exception|refused")


def jpeg(path: Path, color: tuple[int, int, int]) -> Path:
    """A small photo of one colour (each colour its own bytes)."""
    Image.new("RGB", (640, 480), color).save(path, "JPEG", quality=85)
    return path


def server_photos(db: Path, owner_id: str) -> dict[str, bool]:
    """Photo id → deleted, for one owner, as the server stores them."""
    rows = read_only(db, "SELECT id, deleted FROM records WHERE entity = 'photo' AND "
                         "json_extract(data, '$.owner_id') = ?", owner_id)
    return {i: bool(d) for i, d in rows}


def device_record(data_dir: Path, entity: str, rid: str) -> dict[str, Any]:
    rows = read_only(data_dir / "device.db",
                     "SELECT data FROM records WHERE entity = ? AND id = ?", entity, rid)
    return json.loads(rows[0][0]) if rows else {}


def device_rows(data_dir: Path, entity: str) -> list[dict[str, Any]]:
    return server_rows(data_dir / "device.db", entity)


def office_token(url: str) -> str:
    device_id = uuid7()
    r = httpx.post(url + "/api/v1/auth/login", json={
        "username": "office1", "password": DEMO_PASSWORD, "device_id": device_id,
        "device_secret": device_secret(device_id), "device_name": "ui-test-office"})
    r.raise_for_status()
    return r.json()["token"]


def review_reaches_phone(office: httpx.Client, phone: Phone, data_dir: Path, insp_id: str,
                         state: str, comment: str) -> None:
    """The office reviews the inspection (``state``); the phone, on its sync
    screen, syncs until its copy of the inspection has that review."""
    r = office.post(f"/office/inspections/{insp_id}/review",
                    json={"state": state, "comment": comment})
    assert r.status_code == 200, r.text
    phone.click("sync-now")
    wait_until(lambda: device_record(data_dir, "inspection", insp_id).get("review_state")
               == state, 60, f"the review ({state}) pulled")
    time.sleep(1)


def page_text(page: Any) -> str:
    """Every text of the semantics tree: node texts and aria-labels (Flutter
    puts a node's words in either)."""
    return page.evaluate("""() => {
        const out = [document.body.innerText];
        document.querySelectorAll('[aria-label]').forEach(
            el => out.push(el.getAttribute('aria-label')));
        return out.join(' | ');
    }""")


def wait_words(page: Any, words: str, timeout: float = 20.0) -> None:
    wait_until(lambda: words in page_text(page), timeout, f"{words!r} on screen")


def test_bad_input_gps_offline_words_and_returned_inspection(
        tmp_path: Path, demo_server, app_process, browser_page) -> None:
    page = browser_page
    phone = Phone(page, app_process.url)
    data_dir = app_process.data_dir

    # log in (online) ------------------------------------------------------------------------
    phone.open()
    phone.fill("login-server", demo_server.url)
    phone.fill("login-username", "grid1")
    phone.fill("login-password", DEMO_PASSWORD)
    phone.click("login-submit")
    phone.wait("site-list", 40_000)
    factory = sorted((s for s in device_rows(data_dir, "site") if s.get("kind") == "factory"),
                     key=lambda s: s["name"])[0]

    # no GPS at the start, and no signal ---------------------------------------------------------
    page.context.clear_permissions()
    demo_server.stop()
    phone.fill("site-search", factory["name"])
    time.sleep(0.8)
    phone.click_text(factory["name"])
    phone.click("new-inspection")
    phone.wait("inspection-submit", 30_000)
    insp_id = page.url.rstrip("/").split("/")[-1]
    time.sleep(7)  # the wizard's own attempt to locate gives up (permission refused)
    assert "未定位" in phone.text("gps-status")

    # 1. a bad number: shown under the field, kept, never saved ----------------------------------
    phone.click("ans-E01-yes")
    # the chosen answer tells a screen reader it is chosen, the other does not;
    # answer buttons are never below the 44 px of a secondary button
    time.sleep(0.5)
    attrs = """el => Object.fromEntries([...el.attributes].map(a => [a.name, a.value]))"""
    chosen = phone.find("ans-E01-yes").evaluate(attrs)
    other = phone.find("ans-E01-no").evaluate(attrs)
    # (Flutter web says "selected" of a button as aria-current)
    assert chosen.get("aria-current") == "true", chosen
    assert other.get("aria-current") != "true", other
    assert phone.find("ans-E01-no").bounding_box()["height"] >= 44
    phone.fill("num-E02-on_site", "10")
    phone.fill("num-E02-migrant", "12")
    phone.wait_text("外来务工人数不能大于在岗人数")
    phone.shot("r01-bad-number")
    assert page.locator(sel("wizard-next")).first.is_visible()
    time.sleep(1.5)  # longer than the autosave pause: still nothing saved
    assert "E02" not in (device_record(data_dir, "inspection", insp_id).get("answers") or {})
    phone.click("wizard-next")
    time.sleep(0.8)
    phone.click("wizard-prev")
    time.sleep(0.8)
    found = phone.find("num-E02-migrant")
    found.click()  # Flutter puts the <input> there while the field has the focus
    time.sleep(0.5)
    assert found.locator("input").first.input_value() == "12"  # the user's text, still there
    phone.wait_text("外来务工人数不能大于在岗人数")
    phone.click("inspection-submit")
    phone.wait("inspection-missing")
    assert page.locator(sel("missing-E02-invalid")).count() == 1
    phone.shot("r02-missing-invalid")
    phone.click("missing-E02-invalid")  # jumps to the item
    time.sleep(0.8)
    phone.fill("num-E02-migrant", "8")
    time.sleep(1.5)
    phone.shot("r02b-fixed")
    assert not page.get_by_text("外来务工人数不能大于在岗人数").count()
    assert device_record(data_dir, "inspection", insp_id)["answers"]["E02"]["answer"] == {
        "on_site": 10, "migrant": 8}

    # the rest of the checklist, with 其余全部符合 per step --------------------------------------
    phone.fill("num-E03", "8")
    phone.click("rest-compliant")
    phone.click("rest-compliant-confirm")
    time.sleep(0.8)
    phone.click("wizard-next")
    time.sleep(0.8)
    phone.fill("num-E05", "10")
    phone.click("rest-compliant")
    phone.click("rest-compliant-confirm")
    time.sleep(0.8)
    phone.click("wizard-next")
    time.sleep(0.8)
    phone.fill("num-E11-workers_owed", "0")
    phone.fill("num-E11-amount_owed", "0")
    phone.fill("txt-E17", "无需整改")  # v2's 整改意见及期限 (#17), a text no tap answers
    # 5. a photo: its thumbnail opens it full size (offline: from the phone's own file) -----------
    with page.expect_file_chooser() as chooser:
        phone.click("photo-file-E14")
    chooser.value.set_files(str(jpeg(tmp_path / "e14-a.jpg", (200, 60, 60))))
    phone.wait_text("照片已保存")
    time.sleep(0.8)
    phone.click("photo-thumb-E14-1")
    phone.wait("photo-full")
    phone.shot("r03a-photo-full")
    assert page.locator(sel("photo-delete")).count() == 1  # a draft: its author may delete it
    phone.click("photo-close")
    time.sleep(0.8)
    assert not page.locator(sel("photo-full")).count()
    phone.click("rest-compliant")
    phone.click("rest-compliant-confirm")
    time.sleep(1.2)

    # 2. GPS comes back: 重新定位 stores the fix with its accuracy ---------------------------------
    page.context.grant_permissions(["geolocation"])
    phone.click("gps-refresh")
    shown = wait_until(lambda: "精度 ±12 米" in phone.text("gps-status")
                       and phone.text("gps-status"), 20, "a GPS fix on screen")
    assert "29.59050, 106.35420" in shown
    phone.shot("r03-located")
    phone.click("inspection-submit")
    phone.wait_text("巡查已提交")
    phone.wait("new-inspection")

    # 3. offline: the sync failure in Chinese --------------------------------------------------------
    phone.click("sync-status")
    phone.click("sync-now")
    problem = wait_until(lambda: page.locator(sel("sync-problem")).count()
                         and "无网络" in phone.text("sync-problem")
                         and phone.text("sync-problem"), 60, "无网络 on the sync page")
    assert "无网络" in problem
    text = page_text(page)
    assert "1 份巡查" in text, text
    assert not ENGLISH_ERRORS.search(text), text
    assert "记录 0/?" not in text
    phone.shot("r04-sync-offline")

    # the server is back: sync; the office sees what the phone showed ----------------------------------
    demo_server.start()
    phone.click("sync-now")
    phone.wait_text("同步完成", 60)
    stored = next(i for i in server_rows(demo_server.db, "inspection") if i["id"] == insp_id)
    assert stored["answers"]["E02"]["answer"] == {"on_site": 10, "migrant": 8}
    assert (stored["lat"], stored["lon"], stored["accuracy_m"]) == (29.5905, 106.3542, 12)
    token = office_token(demo_server.url)
    office = httpx.Client(base_url=demo_server.url + "/api/v1",
                          headers={"Authorization": f"Bearer {token}"})
    detail = office.get(f"/office/inspections/{insp_id}").json()["inspection"]
    assert (detail["lat"], detail["lon"], detail["accuracy_m"]) == (29.5905, 106.3542, 12)
    assert detail["located_at"] == stored["located_at"]

    # 4. 退回 → fixed → resubmitted → approved -------------------------------------------------------
    review_reaches_phone(office, phone, data_dir, insp_id, "rejected", COMMENT)
    page.get_by_role("tab", name="场所").click()
    phone.wait("returned-list")
    assert page.locator(sel(f"returned-{insp_id}")).count() == 1
    assert COMMENT in phone.text(f"returned-{insp_id}")
    phone.fill("site-search", factory["name"])
    time.sleep(0.8)
    phone.wait_text("退回")
    phone.shot("r05-returned-list")
    phone.click(f"returned-{insp_id}")
    phone.wait("inspection-review")
    phone.shot("r06-returned-inspection")
    wait_words(page, COMMENT)  # the reviewer's comment on the inspection itself
    phone.shot("r06-returned-inspection")
    phone.click("inspection-reopen")
    phone.wait_text("已重新打开")
    phone.fill("num-E03", "9")
    time.sleep(1.5)
    # the reopened draft's photos: one replaced, one added by mistake and deleted
    phone.click("wizard-next")
    time.sleep(0.8)
    phone.click("wizard-next")
    time.sleep(0.8)
    first_photo = [p["id"] for p in device_rows(data_dir, "photo")
                   if p.get("owner_id") == insp_id]
    phone.click("photo-thumb-E14-1")
    phone.wait("photo-full")
    with page.expect_file_chooser() as chooser:
        phone.click("photo-replace-file")
    chooser.value.set_files(str(jpeg(tmp_path / "e14-b.jpg", (60, 160, 60))))
    phone.wait_text("照片已替换")
    time.sleep(0.8)
    with page.expect_file_chooser() as chooser:
        phone.click("photo-file-E14")
    chooser.value.set_files(str(jpeg(tmp_path / "e14-c.jpg", (60, 60, 200))))
    phone.wait_text("照片已保存")
    wait_words(page, "照片 2 张")
    phone.click("photo-thumb-E14-2")
    phone.wait("photo-full")
    phone.click("photo-delete")
    phone.wait("photo-delete-confirm")
    phone.shot("r06b-photo-delete")
    phone.click("photo-delete-confirm")
    phone.wait_text("照片已删除")
    wait_words(page, "照片 1 张")  # the count follows at once
    assert not page.locator(sel("photo-thumb-E14-2")).count()
    live_here = [p["id"] for p in device_rows(data_dir, "photo")
                 if p.get("owner_id") == insp_id and not p.get("deleted")]
    assert len(live_here) == 1 and live_here != first_photo
    phone.click("inspection-submit")
    phone.wait_text("巡查已提交")

    def resubmitted() -> dict | None:  # online: sent at once, no 30 s timer
        rec = next(i for i in server_rows(demo_server.db, "inspection") if i["id"] == insp_id)
        return rec if rec["state"] == "submitted" and rec["review_state"] == "pending" else None

    rec = wait_until(resubmitted, 25, "the resubmission on the server")
    assert rec["answers"]["E03"]["answer"] == 9 and rec["review_comment"] == COMMENT
    photos = wait_until(lambda: (p := server_photos(demo_server.db, insp_id)) and len(p) == 3
                        and p, 25, "the photo changes on the server")
    assert [i for i, deleted in photos.items() if not deleted] == live_here
    phone.click("sync-status")
    review_reaches_phone(office, phone, data_dir, insp_id, "approved", "已核实")
    page.get_by_role("tab", name="场所").click()
    phone.wait("site-list")
    assert not page.locator(sel("returned-list")).count()
    phone.fill("site-search", factory["name"])
    time.sleep(0.8)
    phone.click_text(factory["name"])
    phone.wait_text("审核通过")
    phone.shot("r07-approved")
    office.close()
