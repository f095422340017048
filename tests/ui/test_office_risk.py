"""The console's 风险预警 screen in Chromium (#17 warnings): a grid officer's
phone submits an inspection where workers report unpaid wages and an item
fails; office1 opens 风险预警, reads the warning and the 复查 task in Chinese
(no raw keys), marks the warning handled with a note, and the outcome shows
where the user is. Screenshot: tests/ui/artifacts/office-risk-*.png."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from field_app.core import Device
from sync_server.demo import DEMO_PASSWORD
from tests.device.support import answer_all

from .phone import Phone
from .test_office import desk_page, no_raw_keys, wait_hook, wait_seen  # noqa: F401


def risky_submission(folder: Path, url: str) -> str:
    grid = Device.open(folder / "grid1")
    try:
        grid.login(url, "grid1", DEMO_PASSWORD)
        assert grid.sync().ok
        site = next(s for s in grid.sites() if s["kind"] == "construction")
        insp = grid.start_inspection(site["id"])
        answer_all(grid, insp)
        for code, good in (("C11", "no"), ("C23", "no"), ("C25", "no")):
            grid.answer(insp, code, good)
        grid.answer(insp, "C24", {"interviewed": 6, "reporting_arrears": 3})
        grid.answer(insp, "C12", "no")
        grid.submit_inspection(insp)
        assert grid.sync().ok
        return site["name"]
    finally:
        grid.close()


def test_office_risk_screen(tmp_path: Path, demo_server: Any, console_process: Any,
                            desk_page: Any) -> None:  # noqa: F811
    site = risky_submission(tmp_path / "field", demo_server.url)
    desk = Phone(desk_page, console_process.url)
    desk.open()
    desk.wait("login-server")
    desk.fill("login-server", demo_server.url)
    desk.fill("login-username", "office1")
    desk.fill("login-password", DEMO_PASSWORD)
    desk.click("login-submit")
    wait_hook(desk, "office-nav-risk")
    desk.click("office-nav-risk")
    wait_hook(desk, "office-risk-list")
    wait_seen(desk, "风险预警清单（未处理 1 条）")
    wait_seen(desk, site)
    wait_seen(desk, "工人反映欠薪（C24，3人）")
    wait_seen(desk, "复查任务")
    wait_seen(desk, "整改事项 C12")
    desk.shot("office-risk-1-list")
    no_raw_keys(desk, "risk list")
    desk.fill("office-risk-note-0", "已约谈施工总包，督促本周内结清")
    desk.click("office-risk-handle-0")
    wait_hook(desk, "office-result")
    wait_seen(desk, "已标记为已处理")
    wait_seen(desk, "风险预警清单（未处理 0 条）")
    desk.shot("office-risk-2-handled")
