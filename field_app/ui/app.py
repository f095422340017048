"""The Flet shell: routing (the route is the single source of truth), the
error boundary (handlers never crash the page: errors become a snackbar),
the always-visible sync chip, background sync, and ``run``."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import functools
import inspect
import logging
import traceback
from pathlib import Path
from typing import Any, Callable

import flet as ft

from field_app.core import Device, DeviceError, DeviceSettings

from . import office_views, views
from .adapters import (
    FilePickerSource,
    GeolocatorLocator,
    Locator,
    PhotoSource,
    UiPrefs,
    server_reachable,
)
from .i18n import Translator
from .office_viewmodels import is_office
from .field.viewmodels import (
    CHINA,
    SiteListVM,
    SyncVM,
    QUEUE_ORDER,
    UiError,
    queue_forms,
    sync_problem,
)

log = logging.getLogger("field_app.ui")
ASSETS_DIR = Path(__file__).resolve().parents[2] / "assets"
FONT = {"CJK": "fonts/NotoSansSC-subset.woff2"}
TOP_ROUTES = ("/sites", "/cases", "/sync", "/settings")
TOAST_CLEARANCE = 84  # px above the window's bottom edge: clear of a 56 px action bar


class FieldApp:
    """One page of the app over one device."""

    def __init__(self, page: ft.Page, device: Device, prefs: UiPrefs,
                 files: PhotoSource | None = None,
                 locator: Locator | None = None, auto_sync_s: float = 30.0) -> None:
        self.page = page
        self.device = device
        self.prefs = prefs
        self.t = Translator(prefs.language)
        self.files = files
        self.locator = locator
        self.auto_sync_s = auto_sync_s
        self.sites = SiteListVM(device)
        self.sync = SyncVM(device)
        self.sync_chip = ft.Text("", size=12)
        self.fix: Any = None  # last GPS fix
        self.fix_at: int | None = None  # when it was taken (ms)
        self.typed: dict[str, dict] = {}  # insp id -> text typed but not stored (invalid)
        self._closed = False
        self.apply_photo_size()

    # --- error boundary ------------------------------------------------------------------
    def error_text(self, exc: BaseException) -> str:
        if isinstance(exc, DeviceError):
            return self.t.error(exc.code, exc.message)
        return self.t("err.unexpected", error=str(exc) or type(exc).__name__)

    def toast(self, text: str, error: bool = False) -> None:
        try:
            # floating above the bottom bars (上一步/下一步/提交, the tabs): never over them
            self.page.show_dialog(ft.SnackBar(
                ft.Text(text), bgcolor=ft.Colors.RED_700 if error else None,
                duration=ft.Duration(seconds=4), behavior=ft.SnackBarBehavior.FLOATING,
                margin=ft.Margin.only(left=12, right=12, bottom=TOAST_CLEARANCE)))
        except Exception:  # noqa: BLE001 - never let the boundary itself fail
            log.exception("snackbar failed")

    def safe(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Wrap a handler: any exception becomes a snackbar, never an error page."""

        @functools.wraps(fn)
        async def handler(*args: Any) -> None:
            try:
                result = fn(*args)
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:  # noqa: BLE001 - the boundary
                if not isinstance(exc, DeviceError):
                    log.error("handler failed: %s", traceback.format_exc())
                self.toast(self.error_text(exc), error=True)
            finally:
                self.refresh_chip()

        return handler

    # --- routing -------------------------------------------------------------------------
    async def go(self, route: str) -> None:
        await self.page.push_route(route)

    def nav(self, route: str) -> Callable[..., Any]:
        return self.safe(lambda *_: self.go(route))

    def logged_in(self) -> bool:
        st = self.device.status()
        return st.username is not None and st.login_state != "logged_out"

    async def route_changed(self, e: Any = None) -> None:
        try:
            await self.render()
        except Exception as exc:  # noqa: BLE001 - show the error, keep the page alive
            log.error("render failed: %s", traceback.format_exc())
            self.toast(self.error_text(exc), error=True)

    async def render(self) -> None:
        route = self.page.route or "/"
        if not self.logged_in() and route != "/login":
            await self.go("/login")
            return
        office = self.logged_in() and is_office(self.device.status().role)
        home = "/office/review" if office else "/sites"
        if route in ("/", "") or (route == "/login" and self.logged_in()
                                  and self.device.status().login_state == "logged_in"):
            await self.go(home)
            return
        # office and leader accounts get the office console only; field roles never see it
        if route != "/login" and office != route.startswith("/office"):
            await self.go(home)
            return
        parts = route.strip("/").split("/")
        builder, args = self.resolve(parts)
        view = builder(self, *args)
        view.route = route
        self.page.views.clear()
        self.page.views.append(view)
        self.refresh_chip(update=False)
        self.page.update()

    def resolve(self, parts: list[str]) -> tuple[Callable[..., ft.View], list[str]]:
        match parts:
            case ["login"]:
                return views.login_view, []
            case ["sites"]:
                return views.sites_view, []
            case ["site", site_id]:
                return views.site_view, [site_id]
            case ["site", site_id, "case"]:
                return views.case_intake_view, [site_id]
            case ["inspection", insp_id]:
                return views.inspection_view, [insp_id]
            case ["cases"]:
                return views.cases_view, []
            case ["case", case_id]:
                return views.case_view, [case_id]
            case ["sync"]:
                return views.sync_view, []
            case ["settings"]:
                return views.settings_view, []
            case ["office", *_]:
                return office_views.resolve(parts)
        return views.sites_view, []

    async def rerender(self) -> None:
        await self.render()

    # --- chrome ----------------------------------------------------------------------------
    def chip_text(self) -> str:
        """What waits, in forms (2 份巡查、3 张照片), and the last good sync;
        无网络 after a sync that could not reach the server."""
        st = self.device.status()
        last = self.t("sync.never")
        if st.last_good_sync_ms:
            last = dt.datetime.fromtimestamp(st.last_good_sync_ms / 1000, CHINA).strftime(
                "%m-%d %H:%M")
        forms = queue_forms(self.device)
        # short, so the page title beside it is never cut off; the sync page has the words
        text = (self.t("chip.waiting", forms=" ".join(
            self.t(f"short.{e}", n=n) for e, n in sorted(
                forms.items(), key=lambda kv: QUEUE_ORDER.index(kv[0])
                if kv[0] in QUEUE_ORDER else 99)))
                if forms else self.t("chip.nothing", last=last))
        if self.sync.state.running:
            text = self.t("chip.running") + " · " + text
        elif st.last_sync_ok is False and sync_problem(self.sync.state.report) in (
                None, "sync.offline"):
            text = self.t("chip.offline") + " · " + text
        if st.quarantined:
            text += " · " + self.t("chip.quarantined", n=st.quarantined)
        return text

    def refresh_chip(self, update: bool = True) -> None:
        try:
            self.sync_chip.value = self.chip_text()
            if update and self.sync_chip.page is not None:
                self.sync_chip.update()
        except Exception:  # noqa: BLE001 - the chip is best effort
            pass

    def bar(self, title: str, back: str | None = None) -> ft.AppBar:
        chip = ft.Semantics(identifier="sync-status", button=True, content=ft.Container(
            content=ft.Row([ft.Icon(ft.Icons.SYNC, size=16), self.sync_chip], spacing=4,
                           tight=True),
            padding=ft.Padding.symmetric(horizontal=8, vertical=4),
            border_radius=16, bgcolor=ft.Colors.with_opacity(0.15, ft.Colors.ON_PRIMARY),
            on_click=self.nav("/sync")))
        return ft.AppBar(
            title=ft.Text(title, size=18, overflow=ft.TextOverflow.ELLIPSIS),
            leading=ft.IconButton(ft.Icons.ARROW_BACK, on_click=self.nav(back),
                                  tooltip=self.t("back")) if back else None,
            automatically_imply_leading=False,
            bgcolor=ft.Colors.BLUE_800, color=ft.Colors.WHITE,
            actions=[chip, ft.Container(width=8)])

    def navbar(self, route: str) -> ft.NavigationBar | None:
        if route not in TOP_ROUTES:
            return None

        async def changed(e: Any) -> None:
            await self.go(TOP_ROUTES[e.control.selected_index])

        return ft.NavigationBar(
            selected_index=TOP_ROUTES.index(route), on_change=self.safe(changed),
            destinations=[
                ft.NavigationBarDestination(icon=ft.Icons.APARTMENT, label=self.t("nav.sites")),
                ft.NavigationBarDestination(icon=ft.Icons.REPORT, label=self.t("nav.cases")),
                ft.NavigationBarDestination(icon=ft.Icons.SYNC, label=self.t("nav.sync")),
                ft.NavigationBarDestination(icon=ft.Icons.SETTINGS, label=self.t("nav.settings")),
            ])

    # --- settings --------------------------------------------------------------------------
    def save_prefs(self) -> None:
        self.prefs.save(self.device.data_dir)

    def apply_photo_size(self) -> None:
        self.device.settings = dataclasses.replace(self.device.settings,
                                                   photo_max_px=int(self.prefs.photo_max_px))

    def set_language(self, lang: str) -> None:
        self.prefs.language = lang
        self.t = Translator(lang)
        self.save_prefs()

    # --- sync ------------------------------------------------------------------------------
    async def run_sync(self, on_progress: Callable[[], None] | None = None) -> Any:
        """Run a sync in a worker thread; refresh ``on_progress`` while it runs."""
        if self.sync.state.running:
            raise UiError("sync_in_progress", "a sync is already running")
        task = asyncio.ensure_future(asyncio.to_thread(self.sync.run))
        while not task.done():
            await asyncio.sleep(0.25)
            self.refresh_chip()
            if on_progress:
                on_progress()
        report = task.result()
        self.refresh_chip()
        if on_progress:
            on_progress()
        return report

    def sync_soon(self) -> None:
        """Send now if the server answers (after a submit): no wait for the timer."""
        async def go() -> None:
            try:
                st = self.device.status()
                if (not self.prefs.auto_sync or self.sync.state.running
                        or st.login_state != "logged_in"):
                    return
                if await asyncio.to_thread(server_reachable, st.server_url):
                    await self.run_sync()
                    if (self.page.route or "").startswith(("/sites", "/sync", "/site/")):
                        await self.render()
            except Exception:  # noqa: BLE001 - background: offline stays queued
                log.warning("sync after submit failed: %s", traceback.format_exc())
        self.page.run_task(go)

    async def auto_sync_loop(self) -> None:
        """Background sync: whenever something waits and the server answers."""
        while not self._closed:
            await asyncio.sleep(self.auto_sync_s)
            try:
                if not self.prefs.auto_sync or self.sync.state.running:
                    continue
                st = self.device.status()
                if st.login_state != "logged_in":
                    continue
                stale = not st.last_sync_ms or (
                    self.device.settings.now_ms() - st.last_sync_ms > 15 * 60_000)
                if not (st.pending_mutations or st.pending_photos or stale):
                    continue
                if not await asyncio.to_thread(server_reachable, st.server_url):
                    continue
                await self.run_sync()
                if (self.page.route or "") in ("/sites", "/sync"):
                    await self.render()
            except Exception:  # noqa: BLE001 - the loop must survive anything
                log.warning("background sync failed: %s", traceback.format_exc())


def make_main(data_dir: Path, settings: DeviceSettings | None = None,
              auto_sync_s: float = 30.0) -> Callable[[ft.Page], Any]:
    """The Flet entry point for a device in ``data_dir``. One process = one
    device, so every browser tab shares the same Device."""
    device = Device.open(data_dir, settings)

    async def main(page: ft.Page) -> None:
        page.title = "治欠巡查"
        page.fonts = FONT
        page.theme = ft.Theme(font_family="CJK", color_scheme_seed=ft.Colors.BLUE_800)
        page.theme_mode = ft.ThemeMode.LIGHT
        prefs = UiPrefs.load(device.data_dir)
        picker = ft.FilePicker()  # services register themselves with the page
        geo = None
        try:
            import flet_geolocator as fg

            geo = fg.Geolocator()
        except ImportError:  # optional on a desktop build
            pass
        app = FieldApp(page, device, prefs, files=FilePickerSource(picker),
                       locator=GeolocatorLocator(geo) if geo is not None else None,
                       auto_sync_s=auto_sync_s)
        page.data = app
        app._keep = (picker, geo)  # services live as long as the page
        page.on_route_change = app.route_changed

        async def view_pop(e: Any) -> None:
            await app.go("/sites")

        page.on_view_pop = view_pop
        page.on_disconnect = lambda e: setattr(app, "_closed", True)
        page.run_task(app.auto_sync_loop)
        await app.render()

    return main


def run(data_dir: Path, host: str = "127.0.0.1", port: int = 8550,
        settings: DeviceSettings | None = None, auto_sync_s: float = 30.0) -> None:
    """Serve the app in web mode, fully offline (``no_cdn``, bundled CJK font).

    The renderer is CanvasKit, not Flet's default (skwasm in Chromium): the
    page is cross-origin isolated, so skwasm runs multi-threaded, and that
    mode's text layout racing its render worker can corrupt the wasm heap and
    freeze the tab at full CPU (flutter/flutter#190039). It froze the office
    case ledger in a full test run. CanvasKit is single-threaded,
    bundled with the web client, and Flet's own docs call it faster at the
    byte exchanges every Flet UI update makes."""
    ft.run(make_main(Path(data_dir), settings, auto_sync_s), view=ft.AppView.WEB_BROWSER,
           host=host, port=port, no_cdn=True, assets_dir=str(ASSETS_DIR),
           web_renderer=ft.WebRenderer.CANVAS_KIT)
