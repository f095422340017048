"""The whole field job in a phone-sized Chromium, through the stable hooks:

1. log in as grid1 (online: the registry is pulled);
2. the server stops (no signal on site);
3. a full construction inspection, offline, with headcounts and photos (one from
   flet-camera with Chromium's fake camera, the others through the file picker);
4. a wage case registered;
5. the server comes back;
6. sync;
7. the server holds the inspection, its photos (sha256 of the bytes) and the case.

Screenshots of every screen, in Chinese, go to tests/ui/artifacts/.
"""

from __future__ import annotations

import hashlib
import io
import json
import random
import time
from pathlib import Path

import httpx
from PIL import Image

from shared_schema.checklists import template_for_site_kind
from shared_schema.ids import uuid7
from server.support import device_secret
from sync_server.demo import DEMO_PASSWORD

from .conftest import read_only
from .phone import Phone

SITE = "回龙坝镇农贸市场改造工程(演示)"
CASE_TITLE = "拖欠木工班组三个月工资"
NUMBERS = {"C08": "42", "C09": "40", "C10": "42", "C24-interviewed": "6",
           "C24-reporting_arrears": "0"}
VALUES = {"C04": "重庆农村商业银行"}
TEXTS = {"C26": "无需整改"}
CAMERA_ITEM = "C08"


def camera_jpeg(path: Path) -> Path:
    rng = random.Random(7)
    img = Image.new("RGB", (1200, 900), (120, 140, 160))
    for _ in range(400):
        x, y = rng.randrange(1200), rng.randrange(900)
        img.paste((rng.randrange(256), rng.randrange(256), rng.randrange(256)),
                  (x, y, x + 40, y + 30))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    path.write_bytes(buf.getvalue())
    return path


def server_rows(db: Path, entity: str) -> list[dict]:
    """The records of one entity in a server's (or a device's) database."""
    rows = read_only(db, "SELECT id, data FROM records WHERE entity = ?", entity)
    return [{"id": i, **json.loads(d)} for i, d in rows]


def test_field_job_offline_then_sync(tmp_path: Path, demo_server, app_process,
                                     browser_page) -> None:
    t0 = time.monotonic()
    phone = Phone(browser_page, app_process.url)
    photo = camera_jpeg(tmp_path / "site.jpg")

    # 1. log in as grid1 ------------------------------------------------------------------
    phone.open()
    phone.wait("login-server")
    phone.shot("01-login")
    phone.fill("login-server", demo_server.url)
    phone.fill("login-username", "grid1")
    phone.fill("login-password", DEMO_PASSWORD)
    phone.click("login-submit")
    try:
        phone.wait("site-list", 40_000)
    except Exception:
        phone.shot("00-login-failed", 0)
        raise
    phone.wait_text(SITE)
    phone.shot("02-sites")

    # 2. no signal -------------------------------------------------------------------------
    demo_server.stop()

    # 3. a full construction inspection, offline ------------------------------------------------
    phone.fill("site-search", "农贸")
    time.sleep(0.8)
    phone.shot("03-sites-search")
    phone.click_text(SITE)
    phone.wait("new-inspection")
    phone.shot("04-site-detail")
    phone.click("new-inspection")
    phone.wait("inspection-submit", 30_000)
    phone.shot("05-inspection-start")

    # submit too early: the wizard lists what is missing
    phone.click("inspection-submit")
    phone.wait("inspection-missing")
    phone.shot("06-inspection-missing")
    browser_page.keyboard.press("Escape")
    time.sleep(0.5)
    if browser_page.locator('[flt-semantics-identifier="inspection-missing"]').count():
        phone.click_text("知道了")

    template = template_for_site_kind("construction")
    for step, group in enumerate(template.groups):
        for code in group.items:
            item = template.item(code)
            assert item is not None
            if item.answer.startswith("yes_no"):
                choice = "no" if item.good == "no" else "yes"
                phone.click(f"ans-{code}-{choice}")
                time.sleep(0.3)
            elif item.answer == "number":
                phone.fill(f"num-{code}", NUMBERS[code])
            elif item.answer == "numbers":
                for part in item.parts:
                    phone.fill(f"num-{code}-{part.key}", NUMBERS[f"{code}-{part.key}"])
            else:
                phone.fill(f"txt-{code}", TEXTS[code])
            if code in VALUES:
                time.sleep(0.8)  # the answer is saved before its value
                phone.fill(f"val-{code}", VALUES[code])
            if item.photo == "required":
                time.sleep(0.8)
                if code == CAMERA_ITEM:  # the site overview from the (fake) camera
                    phone.click(f"photo-cam-{code}")
                    phone.wait("camera-take")
                    time.sleep(2.0)  # the preview starts
                    phone.shot("07-inspection-camera", 0)
                    phone.click("camera-take")
                else:  # documents from the gallery (the file picker)
                    with browser_page.expect_file_chooser() as chooser:
                        phone.click(f"photo-file-{code}")
                    chooser.value.set_files(str(photo))
                phone.wait_text("照片已保存")
                time.sleep(0.5)
        time.sleep(0.8)
        if step in (0, 2):
            phone.shot(f"07-inspection-step{step + 1}")
        if step < len(template.groups) - 1:
            phone.click("wizard-next")
            time.sleep(0.6)
            if step + 1 == 2:
                phone.shot("07-inspection-workforce")
    phone.click("inspection-submit")
    phone.wait_text("巡查已提交")
    phone.wait("new-inspection")
    phone.shot("08-site-after-submit")

    # 4. a wage case -------------------------------------------------------------------------
    phone.click("new-case")
    phone.wait("case-submit")
    phone.fill("case-title", CASE_TITLE)
    phone.fill("case-workers_owed", "4")
    phone.fill("case-amount_owed", "36000")
    phone.fill("case-period_from", "2025-01")
    phone.fill("case-period_to", "2025-03")
    phone.shot("09-case-intake")
    phone.click("case-submit")
    phone.wait_text("受理期限")
    phone.shot("10-case-detail")

    # 5.–6. the server is back: sync ---------------------------------------------------------
    demo_server.start()
    phone.click("sync-status")
    phone.wait("sync-now")
    phone.shot("11-sync-before")
    phone.click("sync-now")
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        summary = browser_page.locator('[flt-semantics-identifier="sync-summary"]')
        if summary.count() and "上传" in summary.inner_text():
            break
        time.sleep(0.5)
    phone.wait_text("同步完成")
    phone.shot("12-sync-done")
    browser_page.get_by_role("tab", name="设置").click()
    phone.wait("settings-language")
    phone.shot("13-settings")
    browser_page.get_by_role("button", name="English").click()
    phone.wait_text("Language")
    phone.shot("14-settings-english")
    browser_page.get_by_role("button", name="中文").click()
    phone.wait_text("语言")

    # 7. the server holds it all ----------------------------------------------------------------
    sites = {s["name"]: s for s in server_rows(demo_server.db, "site")}
    site_id = sites[SITE]["id"]
    inspections = [i for i in server_rows(demo_server.db, "inspection")
                   if i.get("site_id") == site_id]
    assert len(inspections) == 1, inspections
    insp = inspections[0]
    assert insp["state"] == "submitted"
    answers = insp["answers"]
    assert answers["C08"]["answer"] == 42 and answers["C10"]["answer"] == 42
    assert answers["C09"]["answer"] == 40
    assert answers["C04"] == {"answer": "yes", "value": "重庆农村商业银行"}
    assert answers["C24"]["answer"] == {"interviewed": 6, "reporting_arrears": 0}
    photos = [p for p in server_rows(demo_server.db, "photo") if p.get("owner_id") == insp["id"]]
    assert {p["item_code"] for p in photos} == {
        i.code for i in template.items if i.photo == "required"}
    assert len({p["sha256"] for p in photos}) == 2  # the gallery file (deduplicated) + camera
    with httpx.Client(base_url=demo_server.url + "/api/v1") as http:
        device_id = uuid7()
        r = http.post("/auth/login", json={"username": "office1", "password": DEMO_PASSWORD,
                                           "device_id": device_id, "device_name": "ui-test",
                                           "device_secret": device_secret(device_id)})
        r.raise_for_status()
        token = r.json()["token"]
        for p in photos:
            blob = http.get(f"/blobs/{p['sha256']}", headers={"Authorization": f"Bearer {token}"})
            assert blob.status_code == 200
            assert hashlib.sha256(blob.content).hexdigest() == p["sha256"]
    cases = [c for c in server_rows(demo_server.db, "case") if c.get("title") == CASE_TITLE]
    assert len(cases) == 1
    case = cases[0]
    assert case["site_id"] == site_id and case["workers_owed"] == 4
    assert case["amount_owed"] == 36000 and case["status"] == "registered"
    print(f"field job walked in {time.monotonic() - t0:.1f}s")
