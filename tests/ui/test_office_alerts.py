"""The alerts screen of the office console in Chromium (#17): a grid officer's
incident, recorded offline and synced, raises an alert; office1's console
shows the red banner and the badge, lists the alert with its case, and
acknowledges it (the server then holds the audited acknowledgement).
Screenshots: tests/ui/artifacts/office-alerts-*.png."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import pytest

from field_app.core import Device
from field_app.core.incidents import report_incident
from shared_schema.incidents import derived_id
from sync_server.demo import DEMO_PASSWORD

from .phone import Phone
from .test_office import api, no_raw_keys, wait_hook, wait_seen
from .conftest import chromium_page

SIZE = {"width": 1280, "height": 860}


@pytest.fixture
def desk_page() -> Iterator[Any]:
    yield from chromium_page(viewport=SIZE)


def text_of(desk: Phone, identifier: str) -> str:
    """All the text inside a hook (a card is read whole, not tapped)."""
    return desk.page.locator(f'[flt-semantics-identifier="{identifier}"]').first.evaluate(
        "el => [el.innerText, el.getAttribute('aria-label') || '', ...Array.from("
        "el.querySelectorAll('[aria-label]')).map(e => e.getAttribute('aria-label'))].join(' ')")


def reported_incident(folder: Path, url: str) -> tuple[str, str]:
    """grid1 reports an incident at a construction site of the demo, then syncs."""
    grid = Device.open(folder / "grid1")
    try:
        grid.login(url, "grid1", DEMO_PASSWORD)
        assert grid.sync().ok
        site = next(s for s in grid.sites() if s["kind"] == "construction")
        incident_id = report_incident(
            grid, kind="collective_claim", site_id=site["id"], headcount=14,
            occurred_at=grid.settings.now_ms() - 30 * 60_000,
            on_scene="村主任到场劝导，工人情绪稳定", brought_in=["ping_an_ban", "si_fa_suo"])
        assert grid.sync().ok
        return incident_id, site["name"]
    finally:
        grid.close()


def test_office_alerts_screen(tmp_path: Path, demo_server, console_process, desk_page) -> None:
    incident_id, site_name = reported_incident(tmp_path / "field", demo_server.url)
    desk = Phone(desk_page, console_process.url)
    desk.open()
    desk.wait("login-server")
    desk.fill("login-server", demo_server.url)
    desk.fill("login-username", "office1")
    desk.fill("login-password", DEMO_PASSWORD)
    desk.click("login-submit")
    wait_hook(desk, "office-nav-alerts")
    desk.click("office-nav-alerts")
    wait_hook(desk, "office-alert-0")
    wait_seen(desk, f"群体性讨薪：{site_name}")
    wait_seen(desk, "待确认")
    text = text_of(desk, "office-alert-0")
    assert "平安办" in text and "司法所" in text and "14" in text
    desk.shot("office-alerts-01-list")
    no_raw_keys(desk, "alerts")
    # the count came with the answer: every other screen shows the red banner
    desk.click("office-nav-cases")
    wait_hook(desk, "office-alert-banner")
    assert "1" in text_of(desk, "office-alert-banner")
    desk.shot("office-alerts-02-banner")
    desk.click("office-alert-banner")
    wait_hook(desk, "office-alert-ack-0")
    desk.click("office-alert-ack-0")
    wait_hook(desk, "office-result")
    wait_seen(desk, "已确认收到")
    desk.shot("office-alerts-03-acknowledged")
    assert not desk_page.locator('[flt-semantics-identifier="office-alert-ack-0"]').count()
    probe = api(demo_server.url)
    alert = probe.get("/api/v1/office/alerts").json()["items"][0]
    assert alert["id"] == derived_id(incident_id, "alert") and alert["acknowledged"] is True
    audit = probe.get("/api/v1/office/audit", params={"action": "alert_ack"}).json()["items"]
    assert [a["username"] for a in audit] == ["office1"]
    # the case opened from the incident, one tap away
    desk.click("office-alert-case-0")
    wait_hook(desk, "office-case-site")
    # nothing open any more: no banner on the next screen
    desk.click("office-nav-cases")
    wait_hook(desk, "office-cases")
    wait_seen(desk, "群体性讨薪")
    assert not desk_page.locator('[flt-semantics-identifier="office-alert-banner"]').count()
