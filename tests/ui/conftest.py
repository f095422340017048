"""Fixtures for the UI tests.

* ``DemoServer``: the real ``sync-server serve`` in a subprocess on a free
  127.0.0.1 port, over a SQLite file seeded with ``sync_server.demo.seed_demo``;
  it can be stopped and restarted on the same port (the phone goes offline).
* ``AppProcess``: the field app in web mode (``field-app --data-dir DIR ui``),
  one process = one phone; ``ConsoleProcess``: the office console in web mode
  (``office-console --data-dir DIR``, run as ``python -m field_app.ui.office``).
* ``browser_page``: Playwright driving Debian's /usr/bin/chromium (never a
  downloaded browser) at a 412×860 phone viewport, with helpers in ``Phone``.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from field_app.core import Device
from server.support import SCRYPT_N, free_port, stop_after
from sync_server.demo import DEMO_PASSWORD, seed_demo
from sync_server.store.sqlite import SqliteStore

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run",
                 # a fake camera (a test pattern) for flet-camera, granted without a prompt
                 "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


def read_only(db: Path, sql: str, *params: object) -> list[tuple]:
    """The rows of ``sql`` in a SQLite file opened read-only (the server or
    the app that owns it keeps running)."""
    conn = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def wait_until(check: Any, timeout: float = 40.0, what: str = "the condition",
               every: float = 0.5) -> Any:
    """Poll ``check()`` every ``every`` seconds until it gives a true value
    (returned); an AssertionError naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"never happened: {what}")


def wait_http(url: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer in {timeout}s")


def seed(db: Path) -> None:
    db.parent.mkdir(parents=True, exist_ok=True)
    store = SqliteStore(db)
    store.migrate()
    try:
        assert seed_demo(store, int(time.time() * 1000), activity=False,
                         scrypt_n=SCRYPT_N).seeded
    finally:
        store.close()


def stop(proc: subprocess.Popen | None) -> None:
    if proc is None or proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)


class DemoServer:
    def __init__(self, folder: Path) -> None:
        self.db = folder / "server.db"
        seed(self.db)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = folder / "server.log"
        self.proc: subprocess.Popen | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [str(BIN / "sync-server"), "serve", "--db", str(self.db), "--host", "127.0.0.1",
             "--port", str(self.port)], stdout=self.log.open("ab"), stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "WAGE_PATROL_SCRYPT_N": str(SCRYPT_N)})  # the tests' cost
        wait_http(self.url + "/healthz")

    def stop(self) -> None:
        stop(self.proc)
        self.proc = None


class WebProcess:
    """A Flet app in web mode on a free port, in its own process group."""

    def __init__(self, argv: list[str], data_dir: Path, log: Path) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/"
        env = {**os.environ, "FLET_FORCE_WEB_SERVER": "1"}
        self.proc = subprocess.Popen(
            [*argv, "--port", str(self.port)], stdout=log.open("ab"),
            stderr=subprocess.STDOUT, env=env, start_new_session=True)
        wait_http(self.url, 60)

    def stop(self) -> None:
        stop(self.proc)


class AppProcess(WebProcess):
    def __init__(self, data_dir: Path, log: Path) -> None:
        super().__init__([str(BIN / "field-app"), "--data-dir", str(data_dir), "ui"],
                         data_dir, log)


class ConsoleProcess(WebProcess):
    def __init__(self, data_dir: Path, log: Path) -> None:
        super().__init__([sys.executable, "-m", "field_app.ui.office", "--data-dir",
                          str(data_dir)], data_dir, log)


@pytest.fixture
def demo_server(tmp_path: Path) -> Iterator[DemoServer]:
    server = DemoServer(tmp_path / "server")
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def grid1_device(tmp_path: Path, demo_server: DemoServer) -> Iterator[Device]:
    """A device logged in as grid1 with the registry pulled (for view-model tests)."""
    dev = Device.open(tmp_path / "device")
    dev.login(demo_server.url, "grid1", DEMO_PASSWORD)
    assert dev.sync().ok
    try:
        yield dev
    finally:
        dev.close()


@pytest.fixture
def app_process(tmp_path: Path) -> Iterator[AppProcess]:
    yield from stop_after(AppProcess(tmp_path / "phone", tmp_path / "app.log"))


@pytest.fixture
def console_process(tmp_path: Path) -> Iterator[ConsoleProcess]:
    yield from stop_after(ConsoleProcess(tmp_path / "console", tmp_path / "console.log"))


@pytest.fixture
def browser_page() -> Iterator[object]:
    yield from chromium_page(viewport={"width": 412, "height": 860},
                             permissions=["geolocation", "camera"],
                             geolocation={"latitude": 29.5905, "longitude": 106.3542,
                                          "accuracy": 12})


def chromium_page(**context_options: Any) -> Iterator[Any]:
    """A fixture's body: a page of Debian's headless Chromium in zh-CN and
    Chongqing's time zone, with ``context_options`` (viewport, permissions...);
    skips the test where Chromium is not installed."""
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (.ci/run installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(locale="zh-CN", timezone_id="Asia/Shanghai",
                                      **context_options)
        page = context.new_page()
        page.set_default_timeout(20_000)
        try:
            yield page
        finally:
            context.close()
            browser.close()
