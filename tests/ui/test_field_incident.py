"""上报突发事件 on the phone in Chromium (412×860), with no signal (#17): the
empty form shows each error beside its field and keeps what was typed; the
report is saved offline (待上报); once the server is back a sync sends it,
the server opens the township case, and the report names it (已上报, a link
to the case). Screenshots: tests/ui/artifacts/incident-*.png."""

from __future__ import annotations

import json
import time
from pathlib import Path

from sync_server.demo import DEMO_PASSWORD

from .conftest import read_only
from .phone import Phone
from .test_office import wait_seen

SITE = "一纵线建设"


def test_incident_reported_offline_then_synced(tmp_path: Path, demo_server, app_process,
                                               browser_page) -> None:
    phone = Phone(browser_page, app_process.url)
    phone.open()
    phone.wait("login-server")
    phone.fill("login-server", demo_server.url)
    phone.fill("login-username", "grid1")
    phone.fill("login-password", DEMO_PASSWORD)
    phone.click("login-submit")
    phone.wait("site-list", 40_000)
    phone.wait_text(SITE)

    demo_server.stop()  # no signal at the scene
    phone.click_text(SITE)
    phone.wait("new-incident")
    phone.click("new-incident")
    phone.wait("incident-submit")
    phone.fill("incident-on_scene", "村主任到场劝导，维持秩序")
    phone.click("incident-submit")
    phone.shot("incident-01-errors")
    wait_seen(phone, "请填写聚集人数")  # beside the headcount; what was typed stays
    assert browser_page.locator("textarea, input").evaluate_all(
        "els => els.some(e => e.value === '村主任到场劝导，维持秩序')")
    phone.fill("incident-headcount", "14")
    phone.click("incident-brought-ping_an_ban")
    phone.click("incident-submit")
    phone.wait("incident-state")
    phone.wait_text("待上报")
    phone.shot("incident-02-saved-offline")

    demo_server.start()
    phone.click("sync-status")
    phone.wait("sync-now")
    phone.click("sync-now")
    phone.wait_text("同步完成", 60)
    browser_page.get_by_role("tab", name="案件").click()
    phone.wait("incident-row-0")
    phone.click("incident-row-0")
    phone.wait("incident-case")
    phone.wait_text("已上报")
    phone.wait_text(f"群体性讨薪：{SITE}")
    phone.shot("incident-03-sent")

    rows = [json.loads(d) for (d,) in read_only(
        demo_server.db, "SELECT data FROM records WHERE entity = 'case'")]
    [case] = [c for c in rows if c.get("collective_incident")]
    assert (case["level"], case["workers_owed"]) == ("township", 14)
    [incident] = [json.loads(d) for (d,) in read_only(
        demo_server.db, "SELECT data FROM records WHERE entity = 'incident'")]
    assert incident["brought_in"] == ["ping_an_ban"] and incident["case_id"] == case["id"]
    phone.click("incident-case")
    phone.wait_text("受理期限")
    time.sleep(0.2)
    phone.shot("incident-04-case")
