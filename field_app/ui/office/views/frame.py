"""The frame of every office screen: the bar, the rail or bottom bar, the
error words, loading in place (``later``) and the action helpers.

The office console (劳保所 and leaders), online against the server's office
API (docs/office-api.md "Office screens"). Views only bind: the logic is in
``office_viewmodels``; every call goes through ``OfficeClient`` in a worker
thread, and every handler is wrapped by ``app.safe`` (errors → snackbar).

An action never navigates by itself once its call returns: the user stays
on the screen, its buttons are disabled while the call is in flight, and
the screen is rebuilt in place with the result (``office-result``). Only the
user's own taps (tabs, rows, back) change the route.

Stable test hooks: office-review-list, office-approve, office-result,
office-conflicts, office-resolve-winner, office-cases, office-intake-*,
office-registry, office-site-*, office-audit, office-close-*,
office-dashboard, office-dash-overdue(-N, -ledger), office-export, office-logout."""

from __future__ import annotations

import asyncio
import inspect
import logging
from weakref import WeakKeyDictionary
from typing import TYPE_CHECKING, Any, Awaitable, Callable, TypeVar

import flet as ft

from field_app.core.errors import DeviceError, NetworkError

from ...kit.widgets import PAD, hook
from ...kit.widgets import kv as kit_kv
from ..client import OfficeClient
from ..viewmodels.alerts import badge_text  # --- #17 incidents

if TYPE_CHECKING:
    from ..shell import OfficeApp

T = TypeVar("T")
log = logging.getLogger("field_app.ui.office")
OFFICE_TABS = ("/office/review", "/office/conflicts", "/office/cases", "/office/registry",
               "/office/audit", "/office/dashboard", "/office/export",
               "/office/risk",  # --- #17 warnings ---
               "/office/alerts")  # --- #17 incidents
#: Screens below a tab: the tab they belong to.
SUB_TABS = {"inspection": "/office/review", "case": "/office/cases",
            "intake": "/office/cases", "site": "/office/registry"}
STATUS_COLORS = {"registered": ft.Colors.BLUE_600, "accepted": ft.Colors.INDIGO_600,
                 "resolved": ft.Colors.TEAL_600, "closed": ft.Colors.GREEN_700,
                 "referred": ft.Colors.PURPLE_600, "dismissed": ft.Colors.GREY_600}
LEVEL_COLORS = {"village": ft.Colors.LIGHT_BLUE_700, "township": ft.Colors.ORANGE_700,
                "leading_group": ft.Colors.DEEP_ORANGE_700, "tackle_team": ft.Colors.RED_700,
                "district": ft.Colors.BROWN_600}
REVIEW_COLORS = {"pending": ft.Colors.ORANGE_700, "approved": ft.Colors.GREEN_700,
                 "has_issues": ft.Colors.AMBER_800, "rejected": ft.Colors.RED_700}
SERIES = (ft.Colors.BLUE_600, ft.Colors.INDIGO_600, ft.Colors.TEAL_600, ft.Colors.GREEN_700,
          ft.Colors.PURPLE_600, ft.Colors.GREY_600)
FINAL_REVIEWS = ("approved", "rejected")


def error_words(t: Any, exc: BaseException) -> str:
    """A failure in the console's words (Chinese by default): our text for a
    known error code, else a plain sentence; never the server's English."""
    if isinstance(exc, NetworkError):
        return t("office.err.unreachable")
    if isinstance(exc, DeviceError):
        return t(f"err.{exc.code}") if t.has(f"err.{exc.code}") else t("office.err.refused")
    return t("office.err.refused")


def safe(app: "OfficeApp", fn: Callable[..., Any]) -> Callable[..., Any]:
    """``app.safe`` for the console: a refused call is told in ``error_words``
    (logged with the server's own message), anything else goes to the boundary."""

    async def handler(*args: Any) -> None:
        try:
            result = fn(*args)
            if inspect.isawaitable(result):
                await result
        except DeviceError as exc:
            log.info("office action refused: %s: %s", exc.code, exc.message)
            app.toast(error_words(app.t, exc), error=True)

    return app.safe(handler)


def kv(label: str, value: Any) -> ft.Row:
    """A label and its value. Not selectable (unlike the phone's): Flutter web
    leaves selectable text out of the accessibility tree, so a screen reader
    (and the browser tests) would not read it."""
    return kit_kv(label, value, selectable=False)


async def with_client(app: "OfficeApp", work: Callable[[OfficeClient], T]) -> T:
    """``work(client)`` in a worker thread (httpx is blocking), with a client
    over the console's own login (``app.session``)."""
    def run() -> T:
        client = app.session.client()
        try:
            return work(client)
        finally:
            if client.alert_count is not None:  # --- #17 incidents: the header's count
                app.session.alert_count = client.alert_count  # type: ignore[attr-defined]
            client.close()

    return await asyncio.to_thread(run)


async def busy(app: "OfficeApp", controls: list[ft.Control], work: Awaitable[T]) -> T:
    """Run ``work`` with ``controls`` disabled, so nothing can be tapped twice
    (or raced) while the call is in flight."""
    for c in controls:
        c.disabled = True
    app.page.update()
    try:
        return await work
    finally:
        for c in controls:
            c.disabled = False
        app.page.update()


def result_banner(text: str | None, error: bool = False) -> ft.Control:
    """The outcome of the last action, where the user is (hook ``office-result``)."""
    if not text:
        return ft.Container(height=0)
    return hook("office-result", ft.Container(ft.Row([
        ft.Icon(ft.Icons.ERROR_OUTLINE if error else ft.Icons.CHECK_CIRCLE,
                color=ft.Colors.RED_700 if error else ft.Colors.GREEN_700),
        ft.Text(text, size=14, expand=True, weight=ft.FontWeight.BOLD,
                color=ft.Colors.RED_800 if error else ft.Colors.GREEN_800)]),
        padding=PAD, border_radius=8,
        bgcolor=ft.Colors.RED_50 if error else ft.Colors.GREEN_50), container=True)


def office_page(app: "OfficeApp", route: str, title: str, body: list[ft.Control],
                back: str | None = None) -> ft.View:
    t = app.t
    user = app.session.user

    async def changed(e: Any) -> None:
        await app.go(OFFICE_TABS[e.control.selected_index])

    async def logout(e: Any) -> None:  # the user's own tap
        await app.logout()

    who = f"{user.username} · {t('role.' + user.role)}" if user else "—"
    bar = ft.AppBar(
        title=ft.Text(f"{t('office.title')} · {title}", size=18),
        leading=ft.IconButton(ft.Icons.ARROW_BACK, on_click=app.nav(back),
                              tooltip=t("back")) if back else None,
        automatically_imply_leading=False, bgcolor=ft.Colors.BLUE_800, color=ft.Colors.WHITE,
        actions=[ft.Text(who, size=13),
                 hook("office-lang", ft.TextButton(
                     t("lang.switch"), on_click=safe(app, app.toggle_language),
                     style=ft.ButtonStyle(color=ft.Colors.WHITE))),
                 hook("office-logout", ft.TextButton(
                     t("office.logout"), icon=ft.Icons.LOGOUT, on_click=safe(app, logout),
                     style=ft.ButtonStyle(color=ft.Colors.WHITE))),
                 ft.Container(width=8)])
    tab = route if route in OFFICE_TABS else SUB_TABS.get(route.split("/")[2], OFFICE_TABS[0])
    icons = (ft.Icons.FACT_CHECK, ft.Icons.CALL_SPLIT, ft.Icons.GAVEL, ft.Icons.APARTMENT,
             ft.Icons.HISTORY, ft.Icons.BAR_CHART, ft.Icons.DOWNLOAD,
             ft.Icons.WARNING_AMBER)  # --- #17 warnings ---
    labels = ("review", "conflicts", "cases", "registry", "audit", "dashboard", "export",
              "risk")  # --- #17 warnings ---
    # --- #17 incidents: the alerts tab, with the unacknowledged count as its badge
    open_alerts = getattr(app.session, "alert_count", None)
    bell = ft.Icon(ft.Icons.NOTIFICATIONS_ACTIVE, badge=alert_badge(open_alerts))
    _BELLS[app] = bell  # the alerts screen sets its badge in place after an acknowledgement
    icons = (*icons, bell)  # type: ignore[assignment]
    labels += ("alerts",)
    if open_alerts and route != "/office/alerts":
        body = [hook("office-alert-banner", ft.Container(ft.Row([
            ft.Icon(ft.Icons.CAMPAIGN, color=ft.Colors.WHITE),
            ft.Text(t("office.alerts.banner", n=open_alerts), color=ft.Colors.WHITE,
                    weight=ft.FontWeight.BOLD, expand=True),
            ft.Icon(ft.Icons.CHEVRON_RIGHT, color=ft.Colors.WHITE)]),
            bgcolor=ft.Colors.RED_700, border_radius=8, padding=PAD,
            on_click=app.nav("/office/alerts"), ink=True), container=True), *body]
    content = ft.Column(body, spacing=10, scroll=ft.ScrollMode.AUTO, expand=True,
                        horizontal_alignment=ft.CrossAxisAlignment.STRETCH)
    desk = is_desk(app)
    app.desk_wide = desk
    if app.resized is None:
        # rebuild when the window crosses DESK_WIDTH (rail <-> bottom bar): the user's
        # own resize, never a call's outcome; a handler set before is still called
        before = app.page.on_resize

        async def resized(e: Any) -> None:
            if before is not None:
                result = before(e)
                if inspect.isawaitable(result):
                    await result
            wide = (getattr(e, "width", None) or 0) >= DESK_WIDTH
            if (app.page.route or "").startswith("/office") and wide != app.desk_wide:
                await app.rerender()

        app.resized = resized
        app.page.on_resize = app.safe(resized)
    if desk:  # a side rail at desk widths
        rail = hook("office-rail", ft.NavigationRail(
            selected_index=OFFICE_TABS.index(tab), on_change=safe(app, changed),
            label_type=ft.NavigationRailLabelType.ALL, min_width=88, bgcolor=ft.Colors.WHITE,
            destinations=[ft.NavigationRailDestination(
                icon=i, label=hook(f"office-nav-{n}", ft.Text(t(f"office.nav.{n}"), size=13)))
                for i, n in zip(icons, labels, strict=True)]))
        return ft.View(route=route, controls=[ft.Row(
            [rail, ft.Container(content, expand=True, padding=ft.Padding.all(12))],
            expand=True, spacing=0, vertical_alignment=ft.CrossAxisAlignment.STRETCH)],
            appbar=bar, bgcolor=ft.Colors.GREY_100, padding=0)
    nav = ft.NavigationBar(  # the bottom bar on narrow screens
        selected_index=OFFICE_TABS.index(tab), on_change=safe(app, changed),
        destinations=[ft.NavigationBarDestination(icon=i, label=t(f"office.nav.{n}"))
                      for i, n in zip(icons, labels, strict=True)])
    return ft.View(route=route, controls=[content], appbar=bar, navigation_bar=nav,
                   bgcolor=ft.Colors.GREY_100, padding=ft.Padding.all(12))


#: From this width (logical px) the console has a side rail, below it the bottom bar.
DESK_WIDTH = 900


def is_desk(app: "OfficeApp") -> bool:
    """A desk-wide window (an unknown width counts as a desk: the console's home)."""
    width = getattr(app.page, "width", None)
    return not width or width >= DESK_WIDTH


def loading(app: "OfficeApp") -> ft.Control:
    return ft.Row([ft.ProgressRing(width=20, height=20), ft.Text(app.t("office.loading"))])


def later(app: "OfficeApp", view: ft.View, box: ft.Column,
          build: Callable[[], Awaitable[list[ft.Control]]]) -> ft.View:
    """Fill ``box`` once the office API answers; a load that ends after the
    user has left ``view`` changes nothing. A failed load says why in the box,
    with a retry, instead of spinning forever (and in a snackbar)."""

    async def run() -> None:
        try:
            controls = await build()
        except Exception as exc:  # shown in the box, then to the boundary
            log.warning("office load of %s failed: %s: %s", view.route,
                        type(exc).__name__, exc)
            if any(v is view for v in app.page.views):
                box.controls = [load_failed(app, error_words(app.t, exc), retry)]
                app.page.update()
            raise
        if not any(v is view for v in app.page.views):
            return
        box.controls = controls
        app.page.update()

    async def retry(e: Any) -> None:
        box.controls = [loading(app)]
        app.page.update()
        await run()

    app.page.run_task(safe(app, run))
    return view


def load_failed(app: "OfficeApp", reason: str, retry: Callable[[Any], Any]) -> ft.Control:
    return hook("office-load-failed", ft.Row([
        ft.Icon(ft.Icons.CLOUD_OFF, color=ft.Colors.RED_700),
        ft.Text(app.t("office.load_failed", reason=reason), color=ft.Colors.RED_800,
                expand=True),
        ft.OutlinedButton(app.t("office.retry"), icon=ft.Icons.REFRESH,
                          on_click=safe(app, retry))]), container=True)


async def refill(app: "OfficeApp", box: ft.Column,
                 build: Callable[[], Awaitable[list[ft.Control]]]) -> None:
    """Rebuild ``box`` in place, inside the handler (no route change)."""
    box.controls = await build()
    app.page.update()


def refilterer(app: "OfficeApp", box: ft.Column,
               build: Callable[[], Awaitable[list[ft.Control]]],
               filters: Any) -> Callable[[str], Callable[[str | None], Any]]:
    """``refilter(name)``: the handler of a filter's dropdown, which sets
    ``filters.<name>`` and refills ``box``."""
    def refilter(name: str) -> Callable[[str | None], Any]:
        async def pick(value: str | None) -> None:
            setattr(filters, name, value)
            await refill(app, box, build)
        return pick
    return refilter


def search_field(app: "OfficeApp", label: str, box: ft.Column,
                 build: Callable[[], Awaitable[list[ft.Control]]], filters: Any,
                 width: int) -> ft.TextField:
    """The search box of a list: it keeps ``filters.q``; Enter refills ``box``."""
    search = ft.TextField(label=label, value=filters.q, dense=True, width=width,
                          prefix_icon=ft.Icons.SEARCH,
                          on_change=lambda e: setattr(filters, "q", e.control.value or ""))

    async def do_search(e: Any) -> None:
        filters.q = search.value or ""
        await refill(app, box, build)

    search.on_submit = safe(app, do_search)
    return search


def dropdown(label: str, value: str | None, options: list[tuple[str, str]], app: "OfficeApp",
             on_pick: Callable[[str | None], Any]) -> ft.Dropdown:
    async def picked(e: Any) -> None:
        result = on_pick(e.control.value or None)
        if asyncio.iscoroutine(result):
            await result

    return ft.Dropdown(label=label, value=value or "", dense=True, width=220,
                       options=[ft.DropdownOption(key="", text=app.t("filter.all"))]
                       + [ft.DropdownOption(key=k, text=v) for k, v in options],
                       on_select=safe(app, picked))


# --- #17 incidents ---
#: Per console page: the alerts tab's icon on the screen now (its badge is the count).
_BELLS: "WeakKeyDictionary[Any, ft.Icon]" = WeakKeyDictionary()


def show_alert_count(app: "OfficeApp", count: int) -> None:
    """The alerts tab's badge says ``count`` now, without leaving the screen."""
    bell = _BELLS.get(app)
    if bell is not None:
        bell.badge = alert_badge(count)


def alert_badge(count: int | None) -> ft.Badge | None:
    """The alerts tab's badge: the unacknowledged count (None: nothing open)."""
    text = badge_text(count)
    return ft.Badge(label=text, bgcolor=ft.Colors.RED_700) if text else None
