"""``FieldApp``: one page of the field app over one device: the route is the
single source of truth (``render``; the route table is ``app.resolve``), the
always-visible sync chip, background sync. The error boundary is the kit's
(``Shell``). Views take a ``FieldApp``; this module imports no view."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
import traceback
from typing import Any, Callable

import flet as ft

from field_app.core import Device

from ..adapters import (
    Locator,
    PhotoSource,
    UiPrefs,
    server_reachable,
)
from ..kit.rules import CHINA, UiError, is_office
from ..kit.shell import Shell
from .viewmodels import (
    QUEUE_ORDER,
    SiteListVM,
    SyncVM,
    queue_forms,
    sync_problem,
)

log = logging.getLogger("field_app.ui")
TOP_ROUTES = ("/sites", "/cases", "/sync", "/settings")
#: route parts → (view builder, its arguments)
Routes = Callable[[list[str]], tuple[Callable[..., ft.View], list[str]]]


class FieldApp(Shell):
    """One page of the app over one device."""

    def __init__(self, page: ft.Page, device: Device, prefs: UiPrefs,
                 files: PhotoSource | None = None,
                 locator: Locator | None = None, auto_sync_s: float = 30.0, *,
                 routes: Routes) -> None:
        super().__init__(page, prefs)
        self.routes = routes
        self.device = device
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
        self.services: tuple[Any, ...] = ()  # the page's services, kept alive with it
        self.apply_photo_size()

    def closed(self, e: Any = None) -> None:
        """The page went away: the background sync loop ends."""
        self._closed = True

    def after_handler(self) -> None:
        self.refresh_chip()

    def logged_in(self) -> bool:
        st = self.device.status()
        return st.username is not None and st.login_state != "logged_out"

    async def render(self) -> None:
        route = self.page.route or "/"
        if not self.logged_in() and route != "/login":
            await self.go("/login")
            return
        # office and leader accounts work in the office console, not here
        office = self.logged_in() and is_office(self.device.status().role)
        home = "/office-account" if office else "/sites"
        if route in ("/", "") or (route == "/login" and self.logged_in()
                                  and self.device.status().login_state == "logged_in"):
            await self.go(home)
            return
        if route != "/login" and office != (route == "/office-account"):
            await self.go(home)
            return
        parts = route.strip("/").split("/")
        builder, args = self.routes(parts)
        view = builder(self, *args)
        view.route = route
        self.page.views.clear()
        self.page.views.append(view)
        self.refresh_chip(update=False)
        self.page.update()

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
        except Exception:  # the chip is best effort
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
            except Exception:  # background: offline stays queued
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
            except Exception:  # the loop must survive anything
                log.warning("background sync failed: %s", traceback.format_exc())
