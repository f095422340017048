"""The office console in a desktop-sized Chromium (issue 5, app side):

seed the demo server, then through the real API (two field devices) one
site with two submitted inspections (so the detail has a previous one to
compare with) and one conflict (grid1 and sector1 edit the same site field
offline); then, as office1 in the browser: approve the newest inspection,
resolve the conflict by keeping the winner, look at the case ledger and the
dashboard, and download the monthly workbook (read back with openpyxl).
Screenshots of every office screen go to tests/ui/artifacts/office-*.png.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import openpyxl
import pytest

from field_app.core import Device
from shared_schema.ids import uuid7
from sync_server.demo import DEMO_PASSWORD
from tests.device.support import answer_all

from .conftest import CHROMIUM, CHROMIUM_ARGS
from .phone import Phone

SIZE = {"width": 1280, "height": 860}


@pytest.fixture
def desk_page() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport=SIZE, locale="zh-CN",
                                      timezone_id="Asia/Shanghai", accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(20_000)
        try:
            yield page
        finally:
            context.close()
            browser.close()


def seed_office_work(folder: Path, url: str) -> dict[str, str]:
    """Through the real sync API: two submitted inspections of one site, and
    one open conflict on that site's ``contractor``."""
    grid = Device.open(folder / "grid1")
    sector = Device.open(folder / "sector1")
    try:
        grid.login(url, "grid1", DEMO_PASSWORD)
        sector.login(url, "sector1", DEMO_PASSWORD)
        assert grid.sync().ok and sector.sync().ok
        site = next(s for s in grid.sites() if s["kind"] == "construction")
        first = grid.start_inspection(site["id"])
        answer_all(grid, first, photo_seed=10)
        grid.submit_inspection(first)
        assert grid.sync().ok
        second = grid.start_inspection(site["id"])
        answer_all(grid, second, photo_seed=50)
        grid.answer(second, "C08", 12)
        grid.submit_inspection(second)
        # the same field, edited on two devices before either syncs
        grid.update_site(site["id"], contractor="甲建筑劳务有限公司(演示)")
        sector.update_site(site["id"], contractor="乙建筑劳务有限公司(演示)")
        assert grid.sync().ok and sector.sync().ok
        return {"site": site["name"], "site_id": site["id"], "inspection": second}
    finally:
        grid.close()
        sector.close()


def api(url: str, username: str = "office1") -> httpx.Client:
    token = httpx.post(f"{url}/api/v1/auth/login", json={
        "username": username, "password": DEMO_PASSWORD, "device_id": uuid7(),
        "device_name": "pytest"}).json()["token"]
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"})


def until(check: Any, timeout: float = 20.0) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError("condition never held")


def wait_seen(desk: Phone, text: str, timeout: float = 20.0) -> None:
    """A text on screen, as a text node or inside a merged semantics label."""
    page = desk.page
    until(lambda: page.get_by_text(text, exact=False).count()
          or page.locator(f'[aria-label*="{text}"]').count(), timeout)


def wait_hook(desk: Phone, identifier: str, timeout: float = 40.0) -> None:
    """Wait for a hook; turn Flutter's semantics tree on again if it went away."""
    loc = desk.page.locator(f'[flt-semantics-identifier="{identifier}"]')
    deadline = time.monotonic() + timeout
    nudge = time.monotonic() + 8
    while time.monotonic() < deadline:
        if loc.count():
            return
        if time.monotonic() > nudge:
            desk.enable_semantics()
            nudge = time.monotonic() + 8
        time.sleep(0.3)
    raise AssertionError(f"hook {identifier!r} never appeared")


# Not yet in `make test`: it failed 1 run in 3 of the full suite (the app
# navigates back to the queue after a review returns, racing the test's next
# tap). Run it with `make test-office-browser` until that race is fixed.
@pytest.mark.office_browser
def test_office_console(tmp_path: Path, demo_server, app_process, desk_page) -> None:
    work = seed_office_work(tmp_path / "field", demo_server.url)
    probe = api(demo_server.url)
    conflicts = probe.get("/api/v1/office/conflicts").json()["items"]
    assert len(conflicts) == 1
    desk = Phone(desk_page, app_process.url)

    # log in as office1: the office console, not the field screens ------------------------
    desk.open()
    desk.wait("login-server")
    desk.fill("login-server", demo_server.url)
    desk.fill("login-username", "office1")
    desk.fill("login-password", DEMO_PASSWORD)
    desk.click("login-submit")
    try:
        wait_hook(desk, "office-review-item-0")
        wait_seen(desk, work["site"])
    except Exception:
        desk.shot("office-00-failed", 0)
        raise
    assert not desk_page.locator('[flt-semantics-identifier="site-list"]').count()
    desk.shot("office-01-review")

    # the newest inspection, beside the previous one; approve it ------------------------------
    desk.click("office-review-item-0")
    wait_hook(desk, "office-approve")
    wait_seen(desk, "C08")
    desk.shot("office-02-inspection")
    desk.click("office-approve")
    detail = until(lambda: (lambda d: d if d["inspection"].get("review_state") == "approved"
                            else None)(probe.get(
                                f"/api/v1/office/inspections/{work['inspection']}").json()))
    assert detail["inspection"]["review_state"] == "approved"
    # the app goes back to the queue once the review is saved: wait for it before moving on
    until(lambda: not desk.page.locator('[flt-semantics-identifier="office-approve"]').count())
    wait_hook(desk, "office-review-item-0")
    site = probe.get(f"/api/v1/office/sites/{work['site_id']}/history",
                     params={"registry_only": "true"}).json()
    assert any(h["field"] == "headcount_on_site" and h["value"] == 12 for h in site["history"])

    # resolve the conflict: keep the winner ---------------------------------------------------
    desk.page.get_by_role("tab", name="数据冲突").first.click()
    try:
        wait_hook(desk, "office-resolve-winner")
        wait_seen(desk, "乙建筑劳务有限公司")
    except Exception:
        desk.shot("office-00-conflicts-failed", 0)
        raise
    desk.shot("office-03-conflicts")
    desk.click("office-resolve-winner")
    resolved = until(lambda: (lambda c: c if c["status"] == "resolved" else None)(probe.get(
        f"/api/v1/office/conflicts/{conflicts[0]['id']}").json()))
    assert resolved["resolution"]["choice"] == "winner"
    assert resolved["resolution"]["value"] == conflicts[0]["winner_value"]
    wait_seen(desk, "没有待处理的冲突")

    # the case ledger, and one case's timeline --------------------------------------------------
    desk.page.get_by_role("tab", name="案件台账").first.click()
    wait_hook(desk, "office-case-0")
    wait_seen(desk, "一纵线建设班组反映欠薪")
    desk.shot("office-04-cases")
    desk.click("office-case-0")
    wait_hook(desk, "office-event-accept")
    desk.shot("office-05-case")

    # the dashboard --------------------------------------------------------------------------
    desk.page.get_by_role("tab", name="统计看板").first.click()
    try:
        wait_seen(desk, "六项制度落实率", 30)
    except Exception:
        desk.shot("office-00-dashboard-failed", 0)
        raise
    desk.shot("office-06-dashboard", 2.0)

    # the monthly workbook -------------------------------------------------------------------
    desk.page.get_by_role("tab", name="报表导出").first.click()
    desk.click("office-export")
    wait_seen(desk, "已保存")
    desk.shot("office-07-export")
    files = until(lambda: list((app_process.data_dir / "exports").glob("*.xlsx")))
    book = openpyxl.load_workbook(files[0])
    assert book.sheetnames == ["项目台账", "企业台账", "欠薪案件台账", "汇总"]
    assert book["项目台账"].max_row > 2
    probe.close()
