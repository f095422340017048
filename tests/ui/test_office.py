"""The office console (``office-console``, its own entry) in a desktop-sized
Chromium (issue 5, app side):

seed the demo server, then through the real API (two field devices) one
site with two submitted inspections (so the detail has a previous one to
compare with) and one conflict (grid1 and sector1 edit the same site field
offline), one case already resolved (waiting for its closure) and one never
accepted since March (overdue, for the dashboard's overdue panel); then, as
office1 in the browser: approve the newest inspection, resolve the conflict
by keeping the winner, register a 12333 hotline case (first refused by the
server for a future time, the typed values kept, then accepted), close the
resolved case with a payment-proof photo picked in the file chooser
(uploaded by tus) and a call-back note, open the registry, a site's registry
and history, the audit log and the dashboard, download the monthly workbook
(read back with openpyxl), and log out.

Every step waits on what the screen shows (hooks and texts), never on a
sleep: an action keeps the user on its screen and shows its outcome in the
``office-result`` banner, so the next tap cannot race a navigation.
Screenshots of every office screen go to tests/ui/artifacts/office-*.png.
"""

from __future__ import annotations

import hashlib
import io
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import openpyxl
import pytest
from PIL import Image

from field_app.core import Device
from field_app.core.photos import process_photo
from server.support import device_secret
from shared_schema.ids import uuid7
from sync_server.demo import DEMO_PASSWORD
from tests.device.support import answer_all

from .conftest import ARTIFACTS, chromium_page, wait_until
from .phone import Phone

SIZE = {"width": 1280, "height": 860}
HOTLINE_TITLE = "12333来电：回龙坝物流园装卸工欠薪"
CLOSE_TITLE = "测试：梁滩村厂房装修班组欠薪(待销号)"
OVERDUE_TITLE = "测试：一纵线班组欠薪(超期未受理)"


@pytest.fixture
def desk_page() -> Iterator[Any]:
    yield from chromium_page(viewport=SIZE, accept_downloads=True)


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
        grid.answer(second, "C20", "no", note="工资卡由班组长保管")  # a failed answer
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
        "device_secret": device_secret(username), "device_name": "pytest"}).json()["token"]
    return httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"})


def resolved_case(probe: httpx.Client, site_id: str) -> str:
    """A case taken to 已解决 through the API: the browser closes it."""
    r = probe.post("/api/v1/cases", json={
        "source": "walk_in", "sector": "non_construction", "title": CLOSE_TITLE,
        "employer": "某装修班组(演示)", "workers_owed": 3, "amount_owed": 18000,
        "site_id": site_id, "period_from": "2026-09", "period_to": "2026-10",
        "work_done": "厂房内墙装修"})
    assert r.status_code == 201, r.text
    case_id = r.json()["case"]["id"]
    for body in ({"kind": "accept"}, {"kind": "payment", "amount_recovered": 18000,
                                      "workers_paid": 3},
                 {"kind": "resolve", "note": "班组长已结清工资"}):
        assert probe.post(f"/api/v1/cases/{case_id}/events", json=body).status_code == 200
    return case_id


def overdue_case(probe: httpx.Client) -> str:
    """A case taken in on 2026-03-02 and never accepted: past its accept deadline,
    so the dashboard's overdue panel lists it."""
    site = probe.get("/api/v1/office/sites", params={"q": "一纵线"}).json()["items"][0]["site"]
    r = probe.post("/api/v1/cases", json={
        "source": "12345", "sector": "construction", "title": OVERDUE_TITLE,
        "village_id": site["village_id"], "workers_owed": 2, "amount_owed": 8000,
        "received_at": 1772413200000})  # 2026-03-02 09:00 +08
    assert r.status_code == 201, r.text
    return r.json()["case"]["id"]


def proof_jpeg(path: Path) -> Path:
    img = Image.new("RGB", (900, 1200), (250, 250, 245))
    for y in range(100, 1100, 60):
        img.paste((60, 60, 60), (80, y, 820, y + 8))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    path.write_bytes(buf.getvalue())
    return path


def until(check: Any, timeout: float = 20.0) -> Any:
    return wait_until(check, timeout, every=0.2)


def seen(desk: Phone, text: str) -> int:
    page = desk.page
    return page.get_by_text(text, exact=False).count() or page.locator(
        f'[aria-label*="{text}"]').count()


def wait_seen(desk: Phone, text: str, timeout: float = 20.0) -> None:
    """A text on screen, as a text node or inside a merged semantics label."""
    try:
        until(lambda: seen(desk, text), timeout)
    except AssertionError:
        desk.shot("office-00-missing-text", 0)
        raise AssertionError(f"text {text!r} never appeared") from None


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
        time.sleep(0.2)
    desk.shot(f"office-00-missing-{identifier}", 0)
    shown = desk.page.eval_on_selector_all(
        "[flt-semantics-identifier]", "els => els.map(e => e.getAttribute('flt-semantics-identifier'))")
    raise AssertionError(f"hook {identifier!r} never appeared on {desk.page.url}; "
                         f"hooks shown: {shown[:40]}")


#: What must never reach an office screen (issue 16): field keys, answer codes,
#: English case-source codes, internal bookkeeping.
RAW_KEYS = (r"[a-z_]+\.[a-z_]+", r"[A-Z]\d\d \| (yes|no)",
            r"\b(patrol|walk_in|national_platform|platform|hotline(_\d+)?|trade_union|union|"
            r"bank_warning|monitoring(_platform)?|notice_board|letter)\b",
            r"\b(from_state|to_state|from_status|to_status|rev \d+|[a-z]+_id)\b",
            r"\((office|leader|grid_officer|sector_inspector|admin)\)")


def screen_texts(desk: Phone, scrolls: int = 30) -> str:
    """Every text the page shows, from top to bottom: Flutter keeps only what is
    on screen in the semantics tree, so scroll with the wheel and gather."""
    page = desk.page
    js = """() => {
        const out = [];
        const host = document.querySelector('flt-semantics-host') || document.body;
        const walk = document.createTreeWalker(host, NodeFilter.SHOW_TEXT);
        while (walk.nextNode()) out.push(walk.currentNode.textContent);
        host.querySelectorAll('[aria-label]').forEach(e => out.push(e.getAttribute('aria-label')));
        return out.join('\\n');
    }"""
    page.mouse.move(640, 450)
    seen_: list[str] = []
    last = None
    for _ in range(scrolls):
        now = page.evaluate(js)
        seen_.append(now)
        if now == last:
            break
        last = now
        page.mouse.wheel(0, 500)
        time.sleep(0.3)
    for _ in range(scrolls):
        page.mouse.wheel(0, -2000)
    time.sleep(0.3)
    return "\n".join(seen_)


def hook_text(desk: Phone, identifier: str) -> str:
    """A hook's text, as text nodes or merged semantics labels."""
    return desk.find(identifier).evaluate(
        "el => [el.innerText, el.getAttribute('aria-label') || '', ...Array.from("
        "el.querySelectorAll('[aria-label]')).map(e => e.getAttribute('aria-label'))].join(' ')")


def no_raw_keys(desk: Phone, where: str, texts: str | None = None) -> None:
    import re

    texts = screen_texts(desk) if texts is None else texts
    assert texts.strip(), where
    for pattern in RAW_KEYS:
        hit = re.search(pattern, texts)
        assert hit is None, f"{where}: raw key {hit.group(0)!r} on screen"


NAV = {"巡查审核": "review", "数据冲突": "conflicts", "案件台账": "cases", "场所台账": "registry",
       "操作日志": "audit", "统计看板": "dashboard", "报表导出": "export",
       "风险预警": "risk"}  # --- #17 warnings ---


def tab(desk: Phone, name: str) -> None:
    """The console's navigation: a side rail at desk widths, the bottom bar below."""
    rail = desk.page.locator(f'[flt-semantics-identifier="office-nav-{NAV[name]}"]')
    if rail.count():
        rail.first.click()
    else:
        desk.page.get_by_role("tab", name=name).first.click()


def index_of(items: list[dict[str, Any]], key: str, value: str) -> int:
    return next(n for n, item in enumerate(items) if item[key]["id"] == value)


def test_office_console(tmp_path: Path, demo_server, console_process, desk_page) -> None:
    try:
        office_console(tmp_path, demo_server, console_process, desk_page)
    except BaseException:
        # keep what the console and the server said beside the screenshots, and show
        # the console's last words in the test output (a CI run keeps only that)
        for log in (tmp_path / "console.log", demo_server.log):
            if log.exists():
                (ARTIFACTS / f"office-00-{log.stem}.log").write_bytes(log.read_bytes())
        app_log = tmp_path / "console.log"
        if app_log.exists():
            lines = app_log.read_text(errors="replace").splitlines()
            print("app.log, last lines:", *[ln[:300] for ln in lines[-15:]], sep="\n")
        raise


def office_console(tmp_path: Path, demo_server: Any, console_process: Any, desk_page: Any) -> None:
    work = seed_office_work(tmp_path / "field", demo_server.url)
    probe = api(demo_server.url)
    conflicts = probe.get("/api/v1/office/conflicts").json()["items"]
    assert len(conflicts) == 1
    closing = resolved_case(probe, work["site_id"])
    overdue_case(probe)
    proof = proof_jpeg(tmp_path / "payment-proof.jpg")
    desk = Phone(desk_page, console_process.url)

    # log in as office1 to the console (its own entry and login) --------------------------
    desk.open()
    desk.wait("login-server")
    desk.fill("login-server", demo_server.url)
    desk.fill("login-username", "office1")
    desk.fill("login-password", DEMO_PASSWORD)
    desk.click("login-submit")
    wait_hook(desk, "office-review-item-0")
    wait_seen(desk, work["site"])
    assert not desk_page.locator('[flt-semantics-identifier="site-list"]').count()
    wait_hook(desk, "office-nav-review")  # a side rail at 1280 px, not the bottom bar
    assert not desk_page.get_by_role("tab").count()
    desk.shot("office-01-review")
    no_raw_keys(desk, "review queue")

    # the newest inspection, beside the previous one; approve it: the outcome shows here ----
    desk.click("office-review-item-0")
    wait_hook(desk, "office-approve")
    # each item as its question, the answer in words, failures flagged and counted
    wait_hook(desk, "office-failed-count")
    wait_seen(desk, "不符合 4 项")  # C11, C23, C25 answered yes; C20 no
    wait_seen(desk, "现场在岗人数")
    wait_seen(desk, "12 人")
    assert "不符合" not in hook_text(desk, "office-answer-C01")
    assert "不符合" in hook_text(desk, "office-answer-C20")
    assert "工资卡/社保卡未被扣押" in hook_text(desk, "office-answer-C20")
    assert "工资卡由班组长保管" in hook_text(desk, "office-answer-C20")
    desk.shot("office-02-inspection")
    texts = screen_texts(desk)
    (ARTIFACTS / "office-texts-inspection.txt").write_text(texts)
    assert "资金与担保" in texts and "工资卡/社保卡未被扣押" in texts
    no_raw_keys(desk, "inspection", texts)
    desk.fill("office-comment", "C20 工资卡须退还工人本人")
    desk.click("office-approve")
    wait_hook(desk, "office-result")
    wait_seen(desk, "已审核：审核通过")
    wait_seen(desk, "已更新场所台账")
    wait_hook(desk, "office-review-comment")  # the comment stays on the page
    assert "工资卡须退还工人本人" in hook_text(desk, "office-review-comment")
    desk.shot("office-02-reviewed")
    no_raw_keys(desk, "reviewed inspection")
    detail = probe.get(f"/api/v1/office/inspections/{work['inspection']}").json()
    assert detail["inspection"]["review_state"] == "approved"
    assert desk_page.locator('[flt-semantics-identifier="office-approve"]').count()  # still here
    # print (#17): items failed, so the record and the rectification notice are offered
    desk.click("office-print")
    wait_hook(desk, "office-print-1")
    desk.shot("office-02-print")
    with desk_page.expect_download() as download:
        desk.click("office-print-1")
    assert download.value.suggested_filename.startswith("限期整改通知书")
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF-")
    site = probe.get(f"/api/v1/office/sites/{work['site_id']}/history",
                     params={"registry_only": "true"}).json()
    assert any(h["field"] == "headcount_on_site" and h["value"] == 12 for h in site["history"])

    # resolve the conflict: keep the winner ---------------------------------------------------
    tab(desk, "数据冲突")
    wait_hook(desk, "office-resolve-winner")
    wait_seen(desk, "乙建筑劳务有限公司")
    desk.shot("office-03-conflicts")
    conflict_texts = screen_texts(desk)
    assert "场所 · 施工总包单位" in conflict_texts  # not site.contractor
    no_raw_keys(desk, "conflicts", conflict_texts)
    desk.click("office-resolve-winner")
    wait_hook(desk, "office-conflicts-none")
    wait_seen(desk, "冲突已处理")
    resolved = probe.get(f"/api/v1/office/conflicts/{conflicts[0]['id']}").json()
    assert resolved["status"] == "resolved"
    assert resolved["resolution"]["choice"] == "winner"
    assert resolved["resolution"]["value"] == conflicts[0]["winner_value"]

    # the case ledger; register a 12333 hotline case ----------------------------------------
    tab(desk, "案件台账")
    wait_hook(desk, "office-case-0")
    wait_seen(desk, "一纵线建设班组反映欠薪")
    desk.shot("office-04-cases")
    no_raw_keys(desk, "case ledger")
    desk.click("office-intake-new")
    wait_hook(desk, "office-intake-title")
    desk.fill("office-intake-title", HOTLINE_TITLE)
    desk.fill("office-intake-employer", "回龙坝物流园某装卸队(演示)")
    desk.fill("office-intake-workers-owed", "6")
    desk.fill("office-intake-amount-owed", "56000")
    desk.fill("office-intake-complainant-name", "钱某某(演示)")
    desk.fill("office-intake-complainant-phone", "13800007788")
    desk.fill("office-intake-received-at", "2099-01-01 09:00")  # the server refuses a future
    desk.click("office-intake-submit")
    wait_hook(desk, "office-intake-error")
    wait_seen(desk, "来电/来访时间不能晚于现在")  # our words, not the server's English
    desk.shot("office-05-intake-error")
    no_raw_keys(desk, "intake refused")
    for hook_id, typed in (("office-intake-title", HOTLINE_TITLE),
                           ("office-intake-amount-owed", "56000")):  # nothing typed is lost
        assert desk.find(hook_id).locator("input").first.input_value() == typed
    assert not [c for c in probe.get("/api/v1/cases").json()["items"]
                if c["case"].get("title") == HOTLINE_TITLE]
    desk.fill("office-intake-received-at", "")
    desk.click("office-intake-submit")
    wait_hook(desk, "office-intake-open")
    wait_seen(desk, "已登记")
    desk.shot("office-06-intake")
    no_raw_keys(desk, "intake done")
    hotline = [c for c in probe.get("/api/v1/cases").json()["items"]
               if c["case"].get("title") == HOTLINE_TITLE]
    assert len(hotline) == 1 and hotline[0]["case"]["source"] == "12333"
    assert hotline[0]["case"]["amount_owed"] == 56000 and hotline[0]["case"]["workers_owed"] == 6
    assert hotline[0]["case"]["complainant_phone"] == "13800007788"

    # close the resolved case: payment proof by the file chooser, call-back note -------------
    tab(desk, "案件台账")
    wait_hook(desk, "office-cases-search")  # search the ledger (on the server)
    desk.fill("office-cases-search", "待销号")
    desk.click("office-cases-go")
    wait_seen(desk, "共 1 条")
    wait_seen(desk, CLOSE_TITLE)
    desk.shot("office-04-cases-search")
    desk.click("office-case-0")
    wait_hook(desk, "office-event-close")
    wait_seen(desk, CLOSE_TITLE)
    wait_seen(desk, "2026-09 至 2026-10")  # the period owed, the work, the site
    wait_seen(desk, "厂房内墙装修")
    wait_hook(desk, "office-case-site")
    desk.click("office-event-close")
    wait_hook(desk, "office-close-pick")
    with desk_page.expect_file_chooser() as chooser:
        desk.click("office-close-pick")
    chooser.value.set_files(str(proof))
    wait_hook(desk, "office-close-file-0")
    wait_seen(desk, "已上传")
    desk.fill("office-close-callback", "已电话回访3名工人，工资已全部到账")
    desk.shot("office-07-close")
    desk.click("office-close-send")
    wait_hook(desk, "office-result")
    wait_seen(desk, "已办理：销号")
    closed = probe.get(f"/api/v1/cases/{closing}").json()
    assert closed["case"]["status"] == "closed"
    event = next(e for e in closed["events"] if e["kind"] == "close")
    sha = process_photo(proof.read_bytes()).sha256
    assert event["fields"]["evidence"] == [sha]
    assert event["fields"]["callback_note"] == "已电话回访3名工人，工资已全部到账"
    blob = probe.get(f"/api/v1/blobs/{sha}")
    assert blob.status_code == 200 and hashlib.sha256(blob.content).hexdigest() == sha
    desk.shot("office-08-case-closed")
    with desk_page.expect_download() as download:  # the closed case's 销号记录 (#17)
        desk.click("office-print")
    assert download.value.suggested_filename.startswith("销号记录")
    assert Path(download.value.path()).read_bytes().startswith(b"%PDF-")
    no_raw_keys(desk, "case")
    desk.click("office-case-site")  # the case's site, one tap away
    wait_hook(desk, "office-site-registry")
    wait_seen(desk, work["site"])

    # the registry, and the approved site's registry facts and history ----------------------
    tab(desk, "场所台账")
    sites = probe.get("/api/v1/office/sites", params={"limit": 500}).json()["items"]
    row = index_of(sites, "site", work["site_id"])
    wait_hook(desk, f"office-site-{row}")
    desk.shot("office-09-registry")
    no_raw_keys(desk, "registry")
    desk.click(f"office-site-{row}")
    wait_hook(desk, "office-site-registry")
    wait_hook(desk, "office-site-history")
    wait_seen(desk, "在岗人数")
    wait_seen(desk, "乙建筑劳务有限公司")  # the contractor the conflict kept
    desk.shot("office-10-site")
    no_raw_keys(desk, "site history")

    # the audit log: who did what, when -------------------------------------------------------
    tab(desk, "操作日志")
    wait_hook(desk, "office-audit-row-0")
    for action in ("巡查审核", "处理冲突", "登记案件", "案件办理"):
        wait_seen(desk, action)
    desk.shot("office-11-audit")
    audit_texts = screen_texts(desk)
    assert "审核结论：待审核 → 审核通过" in audit_texts
    no_raw_keys(desk, "audit log", audit_texts)

    # the dashboard --------------------------------------------------------------------------
    tab(desk, "统计看板")
    wait_seen(desk, "六项制度落实率", 30)
    wait_hook(desk, "office-dash-overdue")  # the overdue panel, with the case never accepted
    wait_hook(desk, "office-dash-overdue-0")
    wait_seen(desk, OVERDUE_TITLE)
    desk.shot("office-12-dashboard", 2.0)
    no_raw_keys(desk, "dashboard")

    # the monthly workbook -------------------------------------------------------------------
    tab(desk, "报表导出")
    wait_hook(desk, "office-export-browser")
    with desk_page.expect_download() as download:  # the main button: a browser download
        desk.click("office-export-browser")
    wait_seen(desk, "已开始下载")
    assert download.value.suggested_filename.endswith(".xlsx")
    book = openpyxl.load_workbook(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert book.sheetnames == ["项目台账", "企业台账", "其他场所台账", "欠薪案件台账", "汇总"]
    desk.click("office-export")  # and a copy in the console's export folder
    wait_seen(desk, "已保存")
    desk.shot("office-13-export")
    no_raw_keys(desk, "export")
    files = until(lambda: list((console_process.data_dir / "exports").glob("*.xlsx")))
    book = openpyxl.load_workbook(files[0])
    assert book.sheetnames == ["项目台账", "企业台账", "其他场所台账", "欠薪案件台账", "汇总"]
    assert book["项目台账"].max_row > 2
    cases_sheet = book["欠薪案件台账"]
    assert any(HOTLINE_TITLE in str(c.value) for r in cases_sheet.iter_rows() for c in r)

    # a narrow window: the bottom bar instead of the rail -----------------------------------
    desk_page.set_viewport_size({"width": 760, "height": 860})
    until(lambda: desk_page.get_by_role("tab").count() == 9)  # 7 + 风险预警 and 预警提醒 (#17)
    assert not desk_page.locator('[flt-semantics-identifier="office-nav-review"]').count()
    desk.shot("office-14-narrow")
    tab(desk, "巡查审核")
    wait_hook(desk, "office-review-item-0")
    desk_page.set_viewport_size(SIZE)
    wait_hook(desk, "office-nav-review")

    # log out from the console: back to the login screen ------------------------------------
    desk.click("office-logout")
    desk.wait("login-username")
    probe.close()
