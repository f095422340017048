"""The office console (劳保所 and leaders), online against the server's office
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
from pathlib import Path
from typing import TYPE_CHECKING, Any, Awaitable, Callable, TypeVar

import flet as ft

from field_app.core.errors import DeviceError, NetworkError
from shared_schema.case_sources import source_label
from shared_schema.cases import LEVELS, STATUSES, TRANSITIONS
from shared_schema.entities import SITE_KINDS
from shared_schema.field_labels import entity_label, field_label

from . import office_viewmodels as vm
from .adapters import PickedPhoto
from .office_api import OfficeClient
from .views import PAD, badge, fmt_time, hook, logout_handler, section

if TYPE_CHECKING:
    from .app import FieldApp

T = TypeVar("T")
log = logging.getLogger("field_app.ui.office")
OFFICE_TABS = ("/office/review", "/office/conflicts", "/office/cases", "/office/registry",
               "/office/audit", "/office/dashboard", "/office/export")
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


def safe(app: "FieldApp", fn: Callable[..., Any]) -> Callable[..., Any]:
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
    return ft.Row([ft.Text(label, size=13, color=ft.Colors.GREY_700, width=110),
                   ft.Text("—" if value in (None, "") else str(value), size=14, expand=True)],
                  vertical_alignment=ft.CrossAxisAlignment.START)


def resolve(parts: list[str]) -> tuple[Callable[..., ft.View], list[str]]:
    match parts:
        case ["office", "inspection", insp_id]:
            return inspection_view, [insp_id]
        case ["office", "conflicts"]:
            return conflicts_view, []
        case ["office", "cases"]:
            return cases_view, []
        case ["office", "intake"]:
            return intake_view, []
        case ["office", "case", case_id]:
            return case_view, [case_id]
        case ["office", "registry"]:
            return registry_view, []
        case ["office", "site", site_id]:
            return site_view, [site_id]
        case ["office", "audit"]:
            return audit_view, []
        case ["office", "dashboard"]:
            return dashboard_view, []
        case ["office", "export"]:
            return export_view, []
    return review_view, []


async def with_client(app: "FieldApp", work: Callable[[OfficeClient], T]) -> T:
    """``work(client)`` in a worker thread (httpx is blocking), with a client
    made from the device's stored login."""
    def run() -> T:
        client = OfficeClient.for_device(app.device)
        try:
            return work(client)
        finally:
            client.close()

    return await asyncio.to_thread(run)


async def call(app: "FieldApp", method: str, *args: Any, **kw: Any) -> Any:
    """One office API call in a worker thread."""
    return await with_client(app, lambda client: getattr(client, method)(*args, **kw))


async def busy(app: "FieldApp", controls: list[ft.Control], work: Awaitable[T]) -> T:
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


def kept(app: "FieldApp", name: str, make: Callable[[], T]) -> T:
    """A screen's state, kept on ``app`` so a rebuild (coming back, a language
    switch) shows the same filters, page and typed values."""
    state = getattr(app, name, None) or make()
    setattr(app, name, state)
    return state


def village_names(app: "FieldApp") -> dict[str, str]:
    """Village id → name, from the device's reference data."""
    return {v["id"]: v.get("name") or v["id"] for v in app.device.villages()}


def role(app: "FieldApp") -> str:
    return app.device.status().role or ""


def office_page(app: "FieldApp", route: str, title: str, body: list[ft.Control],
                back: str | None = None) -> ft.View:
    t = app.t
    st = app.device.status()

    async def lang(e: Any) -> None:
        app.set_language("en" if app.t.lang == "zh" else "zh")
        await app.rerender()

    async def changed(e: Any) -> None:
        await app.go(OFFICE_TABS[e.control.selected_index])

    logout = logout_handler(app)

    who = f"{st.username} · {t('role.' + st.role) if st.role else '—'}"
    bar = ft.AppBar(
        title=ft.Text(f"{t('office.title')} · {title}", size=18),
        leading=ft.IconButton(ft.Icons.ARROW_BACK, on_click=app.nav(back),
                              tooltip=t("back")) if back else None,
        automatically_imply_leading=False, bgcolor=ft.Colors.BLUE_800, color=ft.Colors.WHITE,
        actions=[ft.Text(who, size=13),
                 hook("office-lang", ft.TextButton(
                     t("lang.switch"), on_click=safe(app, lang),
                     style=ft.ButtonStyle(color=ft.Colors.WHITE))),
                 hook("office-logout", ft.TextButton(
                     t("office.logout"), icon=ft.Icons.LOGOUT, on_click=safe(app, logout),
                     style=ft.ButtonStyle(color=ft.Colors.WHITE))),
                 ft.Container(width=8)])
    tab = route if route in OFFICE_TABS else SUB_TABS.get(route.split("/")[2], OFFICE_TABS[0])
    icons = (ft.Icons.FACT_CHECK, ft.Icons.CALL_SPLIT, ft.Icons.GAVEL, ft.Icons.APARTMENT,
             ft.Icons.HISTORY, ft.Icons.BAR_CHART, ft.Icons.DOWNLOAD)
    labels = ("review", "conflicts", "cases", "registry", "audit", "dashboard", "export")
    content = ft.Column(body, spacing=10, scroll=ft.ScrollMode.AUTO, expand=True,
                        horizontal_alignment=ft.CrossAxisAlignment.STRETCH)
    desk = is_desk(app)
    app._office_desk = desk
    if not getattr(app, "_office_resize", None):
        # rebuild when the window crosses DESK_WIDTH (rail <-> bottom bar): the user's
        # own resize, never a call's outcome; a handler set before is still called
        before = app.page.on_resize

        async def resized(e: Any) -> None:
            if before is not None:
                result = before(e)
                if inspect.isawaitable(result):
                    await result
            wide = (getattr(e, "width", None) or 0) >= DESK_WIDTH
            if (app.page.route or "").startswith("/office") and wide != getattr(
                    app, "_office_desk", None):
                await app.rerender()

        app._office_resize = resized
        app.page.on_resize = app.safe(resized)
    if desk:  # a side rail at desk widths
        rail = hook("office-rail", ft.NavigationRail(
            selected_index=OFFICE_TABS.index(tab), on_change=safe(app, changed),
            label_type=ft.NavigationRailLabelType.ALL, min_width=88, bgcolor=ft.Colors.WHITE,
            destinations=[ft.NavigationRailDestination(
                icon=i, label=hook(f"office-nav-{n}", ft.Text(t(f"office.nav.{n}"), size=13)))
                for i, n in zip(icons, labels)]))
        return ft.View(route=route, controls=[ft.Row(
            [rail, ft.Container(content, expand=True, padding=ft.Padding.all(12))],
            expand=True, spacing=0, vertical_alignment=ft.CrossAxisAlignment.STRETCH)],
            appbar=bar, bgcolor=ft.Colors.GREY_100, padding=0)
    nav = ft.NavigationBar(  # the bottom bar on narrow screens
        selected_index=OFFICE_TABS.index(tab), on_change=safe(app, changed),
        destinations=[ft.NavigationBarDestination(icon=i, label=t(f"office.nav.{n}"))
                      for i, n in zip(icons, labels)])
    return ft.View(route=route, controls=[content], appbar=bar, navigation_bar=nav,
                   bgcolor=ft.Colors.GREY_100, padding=ft.Padding.all(12))


#: From this width (logical px) the console has a side rail, below it the bottom bar.
DESK_WIDTH = 900


def is_desk(app: "FieldApp") -> bool:
    """A desk-wide window (an unknown width counts as a desk: the console's home)."""
    width = getattr(app.page, "width", None)
    return not width or width >= DESK_WIDTH


def loading(app: "FieldApp") -> ft.Control:
    return ft.Row([ft.ProgressRing(width=20, height=20), ft.Text(app.t("office.loading"))])


def later(app: "FieldApp", view: ft.View, box: ft.Column,
          build: Callable[[], Awaitable[list[ft.Control]]]) -> ft.View:
    """Fill ``box`` once the office API answers; a load that ends after the
    user has left ``view`` changes nothing. A failed load says why in the box,
    with a retry, instead of spinning forever (and in a snackbar)."""

    async def run() -> None:
        try:
            controls = await build()
        except Exception as exc:  # noqa: BLE001 - shown in the box, then to the boundary
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


def load_failed(app: "FieldApp", reason: str, retry: Callable[[Any], Any]) -> ft.Control:
    return hook("office-load-failed", ft.Row([
        ft.Icon(ft.Icons.CLOUD_OFF, color=ft.Colors.RED_700),
        ft.Text(app.t("office.load_failed", reason=reason), color=ft.Colors.RED_800,
                expand=True),
        ft.OutlinedButton(app.t("office.retry"), icon=ft.Icons.REFRESH,
                          on_click=safe(app, retry))]), container=True)


async def refill(app: "FieldApp", box: ft.Column,
                 build: Callable[[], Awaitable[list[ft.Control]]]) -> None:
    """Rebuild ``box`` in place, inside the handler (no route change)."""
    box.controls = await build()
    app.page.update()


def dropdown(label: str, value: str | None, options: list[tuple[str, str]], app: "FieldApp",
             on_pick: Callable[[str | None], Any]) -> ft.Dropdown:
    async def picked(e: Any) -> None:
        result = on_pick(e.control.value or None)
        if asyncio.iscoroutine(result):
            await result

    return ft.Dropdown(label=label, value=value or "", dense=True, width=220,
                       options=[ft.DropdownOption(key="", text=app.t("filter.all"))]
                       + [ft.DropdownOption(key=k, text=v) for k, v in options],
                       on_select=safe(app, picked))


# --------------------------------------------------------------------------------------
# Review queue


def review_view(app: "FieldApp") -> ft.View:
    t = app.t
    state = kept(app, "office_review", vm.ReviewQueueVM)
    villages = village_names(app)
    box = ft.Column([loading(app)], spacing=6)

    async def build() -> list[ft.Control]:
        page = await call(app, "inspections", **state.filters.params(), limit=200)
        state.items, state.total = page["items"], page["page"]["total"]
        rows = [ft.Text(t("office.count", n=state.total), size=13, color=ft.Colors.GREY_700)]
        if not state.items:
            rows.append(ft.Text(t("office.empty")))
        for n, item in enumerate(state.items):
            rs = item.get("review_state") or "pending"
            rows.append(hook(f"office-review-item-{n}", ft.Container(ft.Row([
                ft.Column([ft.Text(item.get("site_name") or "—", size=15,
                                   weight=ft.FontWeight.BOLD),
                           ft.Text(f"{villages.get(item.get('village_id'), '—')} · "
                                   f"{t('kind.' + (item.get('site_kind') or 'other'))} · "
                                   f"{item.get('inspector_name') or '—'} · "
                                   f"{fmt_time(item.get('submitted_at'))}", size=12,
                                   color=ft.Colors.GREY_700)], spacing=2, expand=True),
                badge(t(f"review.{rs}"), REVIEW_COLORS.get(rs, ft.Colors.GREY_600)),
                ft.Icon(ft.Icons.CHEVRON_RIGHT)]), padding=PAD, bgcolor=ft.Colors.WHITE,
                border_radius=8, on_click=app.nav(f"/office/inspection/{item['id']}")),
                button=True))
        return rows

    def refilter(name: str) -> Callable[[str | None], Any]:
        async def pick(value: str | None) -> None:
            setattr(state.filters, name, value)
            await refill(app, box, build)
        return pick

    filters = ft.Row([
        dropdown(t("office.review.state"), state.filters.review_state,
                 [(s, t(f"review.{s}")) for s in vm.REVIEW_STATES], app, refilter("review_state")),
        dropdown(t("office.review.village"), state.filters.village, sorted(villages.items(),
                 key=lambda kv_: kv_[1]), app, refilter("village")),
        dropdown(t("office.review.kind"), state.filters.kind,
                 [(k, t(f"kind.{k}")) for k in SITE_KINDS], app, refilter("kind")),
        ft.IconButton(ft.Icons.REFRESH, tooltip=t("office.refresh"),
                      on_click=safe(app, lambda e: refill(app, box, build))),
    ], wrap=True)
    return later(app, office_page(app, "/office/review", t("office.review.title"),
                                  [filters, hook("office-review-list", box, container=True)]),
                 box, build)


def inspection_view(app: "FieldApp", insp_id: str) -> ft.View:
    t = app.t
    box = ft.Column([loading(app)], spacing=10, horizontal_alignment=ft.CrossAxisAlignment.STRETCH)
    comment = ft.TextField(label=t("office.insp.comment"), multiline=True, min_lines=2)
    can_review = role(app) == "office"
    blobs: dict[str, bytes] = {}  # photo bytes, fetched once per screen
    done: dict[str, str] = {}  # the outcome of the review made here
    buttons: list[ft.Control] = []

    def enlarge(data: bytes) -> Callable[[Any], None]:
        def handler(e: Any) -> None:
            app.page.show_dialog(ft.AlertDialog(
                content=ft.Image(src=data, width=900, height=640, fit=ft.BoxFit.CONTAIN),
                actions=[ft.TextButton(t("ok"), on_click=lambda ev: app.page.pop_dialog())]))
        return handler

    def decide(decision: str) -> Callable[[Any], Any]:
        async def handler(e: Any) -> None:
            body = vm.review_body(decision, comment.value or "")
            answer = await busy(app, buttons, call(app, "review", insp_id, body))
            reg = answer.get("registry") or {}
            note = t("office.insp.reviewed", state=t(f"review.{decision}"))
            if reg.get("updated"):
                note += " · " + t("office.insp.registry_updated")
            elif reg.get("reason") == "newer_facts":
                note += " · " + t("office.insp.registry_kept")
            done["note"] = note
            comment.value = ""
            await refill(app, box, build)  # the new state, here: no navigation
        return handler

    async def photo(sha256: str) -> bytes:
        if sha256 not in blobs:
            blobs[sha256] = await call(app, "blob", sha256)
        return blobs[sha256]

    async def build() -> list[ft.Control]:
        d = await call(app, "inspection", insp_id)
        insp, site, author = d["inspection"], d.get("site") or {}, d.get("author") or {}
        rs = insp.get("review_state") or "pending"
        lat, lon = insp.get("lat"), insp.get("lon")
        gps = f"{lat:.6f}, {lon:.6f}" if lat is not None and lon is not None else "—"
        if insp.get("accuracy_m") is not None:
            gps += f" (±{insp['accuracy_m']:.0f} m)"
        head = section(site.get("name") or "—",
                       ft.Row([badge(t(f"review.{rs}"), REVIEW_COLORS.get(rs, ft.Colors.GREY_600))]),
                       kv(t("office.insp.author"),
                          f"{author.get('display_name') or author.get('username') or '—'} · "
                          f"{author.get('device_name') or '—'} ({(author.get('device_id') or '')[:8]})"),
                       kv(t("office.review.submitted"), fmt_time(insp.get("submitted_at"))),
                       kv(t("office.insp.gps"), gps),
                       *([hook("office-review-comment", kv(
                           t("office.insp.comment"), insp.get("review_comment")), container=True)]
                         if insp.get("review_comment") else []),
                       *[kv(t(f"six.{k}"), {True: t("yes"), False: t("no")}.get(v, "—"))
                         for k, v in (d.get("six_systems") or {}).items()])
        received = {p["sha256"]: p for p in d.get("photos") or [] if p.get("sha256")}

        async def thumbs_of(shas: list[str], size: tuple[int, int]) -> list[ft.Control]:
            out: list[ft.Control] = []
            for sha in shas:
                if not (received.get(sha) or {}).get("received"):
                    out.append(ft.Text(t("office.insp.photo_missing"), size=12))
                    continue
                data = await photo(sha)
                out.append(ft.Container(ft.Image(src=data, width=size[0], height=size[1],
                                                 fit=ft.BoxFit.COVER),
                                        on_click=enlarge(data), ink=True, border_radius=4))
            return out

        rows = vm.answer_rows(d, t)
        failed = sum(1 for r in rows if r.failed)
        lines: list[ft.Control] = []
        group = None
        for n, r in enumerate(rows):
            if r.group and r.group != group:
                group = r.group
                lines.append(ft.Text(group, size=14, weight=ft.FontWeight.BOLD,
                                     color=ft.Colors.BLUE_900))
            answer = ft.Row([ft.Icon(ft.Icons.CANCEL, size=16, color=ft.Colors.RED_700),
                             ft.Text(f"{t('office.insp.failed')} · {r.answer}", size=14,
                                     color=ft.Colors.RED_800, weight=ft.FontWeight.BOLD,
                                     expand=True)], spacing=4) if r.failed else ft.Text(
                r.answer, size=14)
            prev = ft.Text(t("office.insp.previous_was", text=r.previous), size=12, width=220,
                           color=ft.Colors.AMBER_900 if r.changed else ft.Colors.GREY_600
                           ) if d.get("previous") else ft.Container(width=0)
            pics = await thumbs_of(list(r.photos), (80, 60))
            lines.append(hook(f"office-answer-{r.code}", ft.Container(ft.Row([
                ft.Text(r.code, size=12, color=ft.Colors.GREY_600, width=44),
                ft.Text(r.question, size=14, weight=ft.FontWeight.W_500, width=320),
                ft.Container(answer, expand=True), prev,
                ft.Row(pics, spacing=4, wrap=True, width=260) if pics else ft.Container(width=260),
            ], vertical_alignment=ft.CrossAxisAlignment.START),
                padding=ft.Padding.only(left=28 if r.sub else 8, top=4, right=8, bottom=4),
                border_radius=6,
                bgcolor=ft.Colors.RED_50 if r.failed else (
                    ft.Colors.AMBER_50 if r.changed else None)), container=True))
        answers = section(t("office.insp.answers"),
                          hook("office-failed-count", ft.Text(
                              t("office.insp.items_count", n=len(rows), failed=failed), size=13,
                              color=ft.Colors.RED_800 if failed else ft.Colors.GREEN_800,
                              weight=ft.FontWeight.BOLD), container=True),
                          *([] if d.get("previous") else [ft.Text(t("office.insp.no_previous"),
                                                                  size=12)]),
                          *lines)
        loose = [p["sha256"] for p in vm.loose_photos(d) if p.get("sha256")]
        photos = section(t("office.insp.other_photos"),
                         ft.Row(await thumbs_of(loose, (140, 100)), wrap=True, spacing=8)) \
            if loose else ft.Container(height=0)
        open_ = can_review and rs not in FINAL_REVIEWS
        buttons[:] = [
            ft.FilledButton(t("office.insp.approve"), icon=ft.Icons.CHECK, disabled=not open_,
                            on_click=safe(app, decide("approved"))),
            ft.OutlinedButton(t("office.insp.has_issues"), icon=ft.Icons.REPORT,
                              disabled=not open_, on_click=safe(app, decide("has_issues"))),
            ft.OutlinedButton(t("office.insp.reject"), icon=ft.Icons.UNDO, disabled=not open_,
                              on_click=safe(app, decide("rejected")))]
        comment.disabled = not open_
        notes = [] if can_review else [ft.Text(t("office.insp.leader_readonly"))]
        if can_review and rs in FINAL_REVIEWS:
            notes.append(ft.Text(t("office.insp.final"), size=12, color=ft.Colors.GREY_700))
        actions = section(t("office.insp.comment"), hook("office-comment", comment), ft.Row([
            hook("office-approve", buttons[0]), hook("office-has-issues", buttons[1]),
            hook("office-reject", buttons[2]),
            hook("office-back-to-queue", ft.TextButton(
                t("office.insp.back_to_queue"), icon=ft.Icons.LIST,
                on_click=app.nav("/office/review")))], wrap=True), *notes)
        return [result_banner(done.get("note")), head, actions, answers, photos]

    return later(app, office_page(app, f"/office/inspection/{insp_id}", t("office.insp.title"),
                                  [box], back="/office/review"), box, build)


# --------------------------------------------------------------------------------------
# Conflicts


def conflicts_view(app: "FieldApp") -> ft.View:
    t = app.t
    box = ft.Column([loading(app)], spacing=10, horizontal_alignment=ft.CrossAxisAlignment.STRETCH)
    can = role(app) == "office"
    done: dict[str, str] = {}
    names = village_names(app)

    def who(a: dict[str, Any], hlc: str | None) -> str:
        return t("office.conf.who", name=a.get("display_name") or a.get("username") or "—",
                 device=f"{a.get('device_name') or '—'} {(a.get('device_id') or '')[:8]}",
                 when=fmt_time(vm.hlc_ms(hlc)))

    def card(n: int, c: dict[str, Any]) -> ft.Control:
        def words(value: Any) -> str:
            return vm.value_words(c.get("entity"), c.get("field"), value, t, names)

        custom = ft.TextField(label=t("office.conf.custom"), dense=True, expand=True,
                              disabled=not can)
        buttons: list[ft.Control] = []

        def pick(choice: str) -> Callable[[Any], Any]:
            async def handler(e: Any) -> None:
                body = vm.resolve_body(c, choice, custom.value or "")
                res = await busy(app, buttons + [custom], call(app, "resolve", c["id"], body))
                done["note"] = t("office.conf.resolved_to", record=c.get("record_name") or "",
                                 field=vm.field_name(c.get("entity"), c.get("field"), t),
                                 value=words((res.get("resolution") or {}).get("value")))
                await refill(app, box, build)
            return handler

        def column(title: str, value: Any, sub: str, color: str) -> ft.Container:
            return ft.Container(ft.Column([
                ft.Text(title, size=12, color=ft.Colors.GREY_700),
                ft.Text(words(value), size=15, weight=ft.FontWeight.BOLD),
                ft.Text(sub, size=11, color=ft.Colors.GREY_700)], spacing=2),
                padding=PAD, bgcolor=color, border_radius=6, expand=True)

        suffix = "" if n == 0 else f"-{n}"
        buttons[:] = [
            ft.FilledButton(t("office.conf.pick_winner"), disabled=not can,
                            on_click=safe(app, pick("winner"))),
            ft.OutlinedButton(t("office.conf.pick_loser"), disabled=not can,
                              on_click=safe(app, pick("loser"))),
            ft.OutlinedButton(t("office.conf.pick_custom"), disabled=not can,
                              on_click=safe(app, pick("custom")))]
        place = " · ".join(x for x in (c.get("village_name"), c.get("site_name"),
                                         c.get("address")) if x)
        return section(
            t("office.conf.title_line",
              record=c.get("record_name") or t("office.value.other_record"),
              entity=entity_label(c.get("entity"), t.lang),
              field=vm.field_name(c.get("entity"), c.get("field"), t)),
            ft.Text(t("office.conf.where", place=place or "—"), size=12,
                    color=ft.Colors.GREY_700),
            ft.Row([
                column(t("office.conf.base"), c.get("base_value"), t("office.conf.base_sub"),
                       ft.Colors.GREY_50),
                column(t("office.conf.winner"), c.get("winner_value"),
                       who(c.get("winner") or {}, c.get("winner_hlc")), ft.Colors.GREEN_50),
                column(t("office.conf.loser"), c.get("loser_value"),
                       who(c.get("loser") or {}, c.get("loser_hlc")), ft.Colors.ORANGE_50),
            ], vertical_alignment=ft.CrossAxisAlignment.START),
            ft.Row([
                hook(f"office-resolve-winner{suffix}", buttons[0]),
                hook(f"office-resolve-loser{suffix}", buttons[1]),
                custom, buttons[2],
            ], wrap=False))

    async def build() -> list[ft.Control]:
        page = await call(app, "conflicts", "open")
        items = page["items"]
        head: list[ft.Control] = [result_banner(done.get("note"))]
        if not items:
            return head + [hook("office-conflicts-none", ft.Text(t("office.conf.none")))]
        return head + [ft.Text(t("office.count", n=page["page"]["total"]), size=13)] + [
            card(n, c) for n, c in enumerate(items)]

    return later(app, office_page(app, "/office/conflicts", t("office.conf.title"),
                                  [hook("office-conflicts", box, container=True)]), box, build)


# --------------------------------------------------------------------------------------
# Case ledger


def case_chips(t: Any, case: dict[str, Any]) -> list[ft.Control]:
    s, lv = case.get("status") or "registered", case.get("level") or "village"
    return [badge(t(f"status.{s}"), STATUS_COLORS.get(s, ft.Colors.GREY_600)),
            badge(t(f"level.{lv}"), LEVEL_COLORS.get(lv, ft.Colors.GREY_600))]


def due_text(t: Any, view: dict[str, Any]) -> str:
    d = view.get("deadlines") or {}
    due = d.get("conclude_due") or d.get("accept_due") or "—"
    if d.get("overdue"):
        return f"{due} · {t('office.cases.overdue')}"
    if d.get("due_soon"):
        return f"{due} · {t('office.cases.due_soon')}"
    return str(due)


def source_text(t: Any, source: str | None) -> str:
    """A stored source code as its label (old phones' codes too; never the code)."""
    return source_label(source, t.lang)


def cases_view(app: "FieldApp") -> ft.View:
    t = app.t
    filters = kept(app, "office_cases", vm.CaseFilters)
    villages = village_names(app)
    box = ft.Column([loading(app)], spacing=6)

    async def build() -> list[ft.Control]:
        page = await call(app, "cases", **filters.params())
        rows = []
        for n, view in enumerate(page["items"]):
            c = view["case"]
            late = vm.is_overdue(view)
            rows.append(ft.DataRow(
                color=ft.Colors.RED_50 if late else None,
                cells=[ft.DataCell(hook(f"office-case-{n}", ft.Text(
                    c.get("title") or c.get("employer") or "—", width=260,
                    color=ft.Colors.RED_800 if late else ft.Colors.BLUE_800)),
                    on_tap=app.nav(f"/office/case/{c['id']}")),
                       ft.DataCell(ft.Text(view.get("village_name") or "—")),
                       ft.DataCell(ft.Text(source_text(t, c.get("source")), size=12)),
                       ft.DataCell(ft.Row(case_chips(t, c), spacing=4)),
                       ft.DataCell(ft.Text(f"{c.get('amount_owed') or 0:,.0f}")),
                       ft.DataCell(ft.Text(due_text(t, view),
                                           color=ft.Colors.RED_700 if late else None))]))
        table = ft.DataTable(columns=[
            ft.DataColumn(ft.Text(t("office.cases.case"))),
            ft.DataColumn(ft.Text(t("office.cases.village"))),
            ft.DataColumn(ft.Text(t("office.cases.source"))),
            ft.DataColumn(ft.Text(f"{t('office.cases.status')} / {t('office.cases.level')}")),
            ft.DataColumn(ft.Text(t("office.cases.amount")), numeric=True),
            ft.DataColumn(ft.Text(t("office.cases.due")))], rows=rows, show_checkbox_column=False,
            heading_row_color=ft.Colors.BLUE_50)
        return [ft.Text(t("office.count", n=page["page"]["total"]), size=13),
                ft.Container(table, bgcolor=ft.Colors.WHITE, border_radius=8)]

    def refilter(name: str) -> Callable[[str | None], Any]:
        async def pick(value: str | None) -> None:
            setattr(filters, name, value)
            await refill(app, box, build)
        return pick

    async def overdue(e: Any) -> None:
        filters.overdue = not filters.overdue
        e.control.selected = filters.overdue
        await refill(app, box, build)

    search = ft.TextField(label=t("office.cases.search"), value=filters.q, dense=True,
                          width=380, prefix_icon=ft.Icons.SEARCH,
                          on_change=lambda e: setattr(filters, "q", e.control.value or ""))

    async def do_search(e: Any) -> None:
        filters.q = search.value or ""
        await refill(app, box, build)

    search.on_submit = safe(app, do_search)
    bar = ft.Row([
        hook("office-cases-search", search),
        hook("office-cases-go", ft.IconButton(ft.Icons.SEARCH, tooltip=t("office.cases.search"),
                                              on_click=safe(app, do_search))),
        dropdown(t("office.cases.status"), filters.status, [(s, t(f"status.{s}")) for s in STATUSES],
                 app, refilter("status")),
        dropdown(t("office.cases.level"), filters.level, [(lv, t(f"level.{lv}")) for lv in LEVELS],
                 app, refilter("level")),
        dropdown(t("office.cases.village"), filters.village,
                 sorted(villages.items(), key=lambda kv_: kv_[1]), app, refilter("village")),
        ft.Chip(label=ft.Text(t("office.cases.overdue_only")), selected=filters.overdue,
                on_select=safe(app, overdue)),
        hook("office-intake-new", ft.FilledButton(
            t("office.intake.new"), icon=ft.Icons.ADD_CALL, disabled=role(app) != "office",
            on_click=app.nav("/office/intake"))),
    ], wrap=True)
    return later(app, office_page(app, "/office/cases", t("office.cases.title"),
                                  [bar, hook("office-cases", box, container=True)]), box, build)


def intake_view(app: "FieldApp") -> ft.View:
    """Office intake of a complaint that came by hotline (12333, 12345, the
    township's numbers), the national clue platform, a visit or a letter.
    The form lives on ``app`` (``IntakeForm``): a server refusal shows beside
    its field and nothing typed is lost, not even across a language switch."""
    t = app.t
    form = kept(app, "office_intake", vm.IntakeForm)
    villages = sorted(village_names(app).items(), key=lambda kv_: kv_[1])
    can = role(app) == "office"
    controls: dict[str, Any] = {}

    def on_change(name: str) -> Callable[[Any], None]:
        def handler(e: Any) -> None:
            form.set(name, e.control.value)
        return handler

    def text(name: str, **kw: Any) -> ft.Control:
        label = t(f"office.intake.{name}") if name in ("received_at", "complainant_id_number") \
            else t("case.title_field" if name == "title" else f"case.{name}")
        controls[name] = ft.TextField(label=label, value=form.values.get(name) or "", dense=True,
                                      on_change=on_change(name), disabled=not can, **kw)
        return hook(f"office-intake-{name.replace('_', '-')}", controls[name])

    def choice(name: str, label: str, options: list[tuple[str, str]],
               blank: bool = True, width: int = 420) -> ft.Control:
        def picked(e: Any) -> None:
            form.set(name, e.control.value or None)

        controls[name] = ft.Dropdown(
            label=label, value=form.values.get(name) or "", dense=True, disabled=not can,
            options=([ft.DropdownOption(key="", text="—")] if blank else [])
            + [ft.DropdownOption(key=k, text=v) for k, v in options],
            on_select=safe(app, picked), width=width)
        return hook(f"office-intake-{name.replace('_', '-')}", controls[name])

    def sector_changed(e: Any) -> None:
        form.set("sector", (e.control.selected or [None])[0])

    controls["sector"] = ft.SegmentedButton(
        selected=[form.values.get("sector") or "construction"], on_change=safe(app, sector_changed),
        segments=[ft.Segment(value=s, label=ft.Text(t(f"sector.{s}"))) for s in vm.SECTORS])

    def collective_changed(e: Any) -> None:
        form.set("collective_risk", bool(e.control.value))

    controls["collective_risk"] = ft.Switch(label=t("case.collective_risk"),
                                            value=bool(form.values.get("collective_risk")),
                                            on_change=safe(app, collective_changed))
    banner = ft.Column([])
    site_villages: dict[str, str | None] = {}

    def site_picked(site_id: str | None) -> None:
        form.set("site_id", site_id)
        if site_id and not form.values.get("village_id") and site_villages.get(site_id):
            form.set("village_id", site_villages[site_id])
            controls["village_id"].value = site_villages[site_id]
            app.page.update()

    def site_choice(options: list[tuple[str, str]]) -> ft.Control:
        control = choice("site_id", t("office.intake.site"), options, width=520)
        controls["site_id"].on_select = safe(app, lambda e: site_picked(e.control.value or None))
        return control

    site_box = ft.Column([site_choice([])], width=520)
    submit_btn = ft.FilledButton(t("office.intake.submit"), icon=ft.Icons.SAVE, disabled=not can)

    def show() -> None:
        """Errors beside their fields, the general error or the new case on top."""
        for name, control in controls.items():
            if isinstance(control, ft.TextField):
                control.value = form.values.get(name) or ""
                err = form.errors.get(name)
                control.error = vm.field_error_words(t, name, err) if err else None
        for name in ("source", "village_id", "site_id"):
            controls[name].value = form.values.get(name) or ""
            err = form.errors.get(name)
            controls[name].error_text = vm.field_error_words(t, name, err) if err else None
        controls["sector"].selected = [form.values.get("sector") or "construction"]
        controls["collective_risk"].value = bool(form.values.get("collective_risk"))
        banner.controls = []
        if form.general:
            g = form.general
            banner.controls.append(hook("office-intake-error", ft.Container(ft.Column([
                ft.Text(vm.field_error_words(t, "", g), weight=ft.FontWeight.BOLD,
                        color=ft.Colors.RED_800)],
                spacing=2), padding=PAD, bgcolor=ft.Colors.RED_50, border_radius=8),
                container=True))
        elif form.errors:
            banner.controls.append(hook("office-intake-error", ft.Text(
                t("case.fix_errors"), color=ft.Colors.RED_800, weight=ft.FontWeight.BOLD)))
        if form.created:
            c = form.created["case"]
            banner.controls.append(result_banner(t(
                "office.intake.done", title=c.get("title") or c.get("employer") or "",
                source=source_text(t, c.get("source")), level=t(f"level.{c.get('level')}"),
                due=(form.created.get("deadlines") or {}).get("accept_due") or "—")))
            banner.controls.append(hook("office-intake-open", ft.TextButton(
                t("office.intake.open"), icon=ft.Icons.OPEN_IN_NEW,
                on_click=app.nav(f"/office/case/{c['id']}"))))

    async def submit(e: Any) -> None:
        await busy(app, [submit_btn], with_client(app, form.submit))
        show()
        app.page.update()

    submit_btn.on_click = safe(app, submit)

    async def build() -> list[ft.Control]:
        sites = (await call(app, "sites"))["items"]
        site_villages.update({s["site"]["id"]: s["site"].get("village_id") for s in sites})
        return [site_choice([(s["site"]["id"],
                              f"{s['site'].get('name')} · {s.get('village_name') or '—'}")
                             for s in sites])]

    number = ft.KeyboardType.NUMBER
    body = [
        banner,
        section(t("office.intake.channel"), ft.Text(t("office.intake.hint"), size=12,
                                                   color=ft.Colors.GREY_700),
                ft.Row([choice("source", t("case.source"),
                               [(s, source_label(s, t.lang)) for s in vm.INTAKE_SOURCES],
                               blank=False, width=360),
                        ft.Container(text("received_at", hint_text="2026-01-05 09:30"),
                                     width=320)], wrap=True)),
        section(t("office.intake.employer_section"), text("title"), text("employer"),
                text("employer_address"), ft.Text(t("case.sector"), size=13), controls["sector"],
                ft.Row([choice("village_id", t("office.cases.village"), villages, width=360),
                        site_box], wrap=True, vertical_alignment=ft.CrossAxisAlignment.START),
                ft.Row([ft.Container(text("workers_owed", keyboard_type=number), expand=True),
                        ft.Container(text("amount_owed", keyboard_type=number), expand=True)]),
                ft.Row([ft.Container(text("period_from", hint_text="2025-01"), expand=True),
                        ft.Container(text("period_to", hint_text="2025-03"), expand=True)]),
                text("work_done", multiline=True), controls["collective_risk"]),
        section(t("office.intake.complainant_section"), text("complainant_name"),
                text("complainant_phone", keyboard_type=ft.KeyboardType.PHONE),
                text("complainant_id_number")),
        ft.Row([hook("office-intake-submit", submit_btn)]),
    ]
    show()
    return later(app, office_page(app, "/office/intake", t("office.intake.title"), body,
                                  back="/office/cases"), site_box, build)


class EvidencePicker:
    """Payment proofs from the file picker: photos or PDF receipts (web: bytes;
    desktop and phone: a path). Tests replace ``app.office_evidence``."""

    EXTENSIONS = ["jpg", "jpeg", "png", "webp", "heic", "pdf"]

    def __init__(self, picker: Any) -> None:
        self.picker = picker

    async def pick(self) -> list[PickedPhoto]:
        files = await self.picker.pick_files(
            with_data=True, allow_multiple=True, file_type=ft.FilePickerFileType.CUSTOM,
            allowed_extensions=self.EXTENSIONS)
        return [PickedPhoto(name=f.name, data=f.bytes, path=f.path) for f in files or []]


def evidence_source(app: "FieldApp") -> Any:
    source = getattr(app, "office_evidence", None)
    if source is None:
        picker = getattr(app.files, "picker", None)
        if picker is None:
            raise vm.UiError("no_file_picker", "no file picker on this device")
        source = app.office_evidence = EvidencePicker(picker)
    return source


def read_picked(f: PickedPhoto) -> bytes:
    content = f.content()
    return content if isinstance(content, bytes) else Path(content).read_bytes()


def case_view(app: "FieldApp", case_id: str) -> ft.View:
    t = app.t
    box = ft.Column([loading(app)], spacing=10, horizontal_alignment=ft.CrossAxisAlignment.STRETCH)
    done: dict[str, str] = {}
    blobs: dict[str, bytes] = {}
    buttons: list[ft.Control] = []

    async def after(kind: str) -> None:
        app.page.pop_dialog()
        done["note"] = t("office.cases.done", event=t(f"event.{kind}"))
        await refill(app, box, build)  # the new status, here: no navigation

    def event_form(kind: str) -> Callable[[Any], None]:
        def open_form(e: Any) -> None:
            fields = {name: ft.TextField(label=t(f"office.field.{name}"), dense=True)
                      for name in vm.event_fields(kind)}
            send_btn = ft.FilledButton(t("save"))

            async def send(ev: Any) -> None:
                body = vm.event_body(kind, {k: f.value or "" for k, f in fields.items()})
                await busy(app, [send_btn], call(app, "case_event", case_id, body))
                await after(kind)

            send_btn.on_click = safe(app, send)
            app.page.show_dialog(ft.AlertDialog(
                title=ft.Text(t(f"event.{kind}")),
                content=ft.Column(list(fields.values()), tight=True, width=420),
                actions=[ft.TextButton(t("cancel"), on_click=lambda ev: app.page.pop_dialog()),
                         hook("office-event-send", send_btn)]))
        return open_form

    def close_form(e: Any) -> None:
        """销号: pick payment proofs (uploaded at once, by tus), the workers'
        call-back note, then the ``close`` event with the evidence hashes."""
        form = vm.ClosureForm()
        files = ft.Column([ft.Text(t("office.close.none"), size=12, color=ft.Colors.GREY_700)],
                          spacing=4)
        callback = ft.TextField(label=t("office.field.callback_note"), multiline=True,
                                min_lines=2, on_change=lambda ev: setattr(
                                    form, "callback_note", ev.control.value or ""))
        note = ft.TextField(label=t("office.field.note"), dense=True,
                            on_change=lambda ev: setattr(form, "note", ev.control.value or ""))
        pick_btn = ft.OutlinedButton(t("office.close.pick"), icon=ft.Icons.ATTACH_FILE)
        send_btn = ft.FilledButton(t("event.close"), icon=ft.Icons.TASK_ALT)

        def list_files() -> None:
            files.controls = [hook(f"office-close-file-{n}", ft.Row([
                ft.Icon(ft.Icons.PICTURE_AS_PDF if ev.kind == "pdf" else ft.Icons.IMAGE, size=18),
                ft.Text(f"{ev.name} · {ev.size / 1024:.0f} KB · {ev.sha256[:12]}…", size=12,
                        expand=True),
                ft.Text(t("office.close.uploaded") if ev.uploaded else t("office.close.waiting"),
                        size=12, color=ft.Colors.GREEN_700 if ev.uploaded else ft.Colors.ORANGE_800),
                ft.IconButton(ft.Icons.DELETE_OUTLINE, tooltip=t("office.close.remove"),
                              on_click=lambda _e, sha=ev.sha256: (form.remove(sha), list_files(),
                                                                  app.page.update()))]))
                for n, ev in enumerate(form.evidence)] or [
                ft.Text(t("office.close.none"), size=12, color=ft.Colors.GREY_700)]

        async def pick(ev: Any) -> None:
            picked = await evidence_source(app).pick()
            if not picked:
                return

            async def add() -> None:
                max_px = int(app.device.settings.photo_max_px)
                for f in picked:
                    item = await asyncio.to_thread(
                        lambda f=f: vm.prepare_evidence(f.name, read_picked(f), max_px))
                    form.add(item)
                list_files()
                app.page.update()
                await with_client(app, form.upload)  # at once: the send only names them
                list_files()

            await busy(app, [pick_btn, send_btn], add())

        async def send(ev: Any) -> None:
            form.callback_note, form.note = callback.value or "", note.value or ""
            await busy(app, [pick_btn, send_btn],
                       with_client(app, lambda client: form.send(client, case_id)))
            await after("close")

        pick_btn.on_click = safe(app, pick)
        send_btn.on_click = safe(app, send)
        app.page.show_dialog(ft.AlertDialog(
            title=ft.Text(t("office.close.title")),
            content=ft.Column([ft.Text(t("office.close.hint"), size=12, color=ft.Colors.GREY_700),
                               hook("office-close-pick", pick_btn),
                               hook("office-close-files", files, container=True),
                               hook("office-close-callback", callback), note],
                              tight=True, width=520, spacing=8),
            actions=[ft.TextButton(t("cancel"), on_click=lambda ev: app.page.pop_dialog()),
                     hook("office-close-send", send_btn)]))

    async def thumb(sha256: str) -> ft.Control:
        if sha256 not in blobs:
            try:
                blobs[sha256] = await call(app, "blob", sha256)
            except vm.DeviceError as exc:  # one missing proof must not hide the case
                return ft.Text(error_words(t, exc), size=11,
                               color=ft.Colors.RED_700)
        data = blobs[sha256]
        if data[:5] == b"%PDF-":
            return ft.Container(ft.Row([ft.Icon(ft.Icons.PICTURE_AS_PDF), ft.Text(
                f"PDF {sha256[:8]}", size=11)], tight=True), padding=6,
                bgcolor=ft.Colors.GREY_200, border_radius=6)
        return ft.Image(src=data, width=96, height=72, fit=ft.BoxFit.COVER)

    def when(times: tuple[int | None, int | None]) -> str:
        main, reported = times  # server time first, the device's when it differs
        return fmt_time(main) + (f" ({t('office.time.reported', at=fmt_time(reported))})"
                                 if reported is not None else "")

    async def timeline_row(ev: dict[str, Any]) -> ft.Control:
        f = ev.get("fields") or {}
        lines: list[ft.Control] = [
            ft.Text(f"{when(vm.event_times(ev))} · "
                    f"{t('event.' + ev['kind']) if ev.get('kind') in TRANSITIONS else ev.get('label_zh')}",
                    weight=ft.FontWeight.BOLD, size=13),
            ft.Text(t("office.cases.by", name=ev.get("author_name") or "—",
                      role=t(f"role.{ev.get('author_role')}") if t.has(
                          f"role.{ev.get('author_role')}") else "—")
                    + (f" · {f['note']}" if f.get("note") else ""),
                    size=12, color=ft.Colors.GREY_700)]
        done_ = [f"{field_label('case_event', k, t.lang)}：{vm.with_unit(t, f[k], unit)}"
                 for k, unit in (("amount_recovered", "unit.yuan"),
                                 ("workers_paid", "unit.people"), ("referral_target", ""))
                 if f.get(k) not in (None, "")]
        if done_:
            lines.append(ft.Text(" · ".join(done_), size=12))
        if f.get("callback_note"):
            lines.append(ft.Text(f"{t('office.field.callback_note')}：{f['callback_note']}",
                                 size=12))
        if f.get("evidence"):
            lines.append(ft.Row([await thumb(h) for h in f["evidence"]], wrap=True, spacing=6))
        return ft.Row([ft.Icon(ft.Icons.CIRCLE, size=10, color=ft.Colors.BLUE_700),
                       ft.Column(lines, spacing=1, expand=True)],
                      vertical_alignment=ft.CrossAxisAlignment.START)

    async def build() -> list[ft.Control]:
        d = await call(app, "case", case_id)
        c, dl = d["case"], d.get("deadlines") or {}
        head = section(c.get("title") or c.get("employer") or "—",
                       ft.Row(case_chips(t, c) + ([badge(t("office.cases.overdue"),
                                                         ft.Colors.RED_700)]
                                                  if dl.get("overdue") else [])),
                       kv(t("office.cases.village"), d.get("village_name")),
                       kv(t("office.cases.employer"), c.get("employer")),
                       *([ft.Row([ft.Text(t("office.cases.site"), size=13,
                                          color=ft.Colors.GREY_700, width=110),
                                  hook("office-case-site", ft.TextButton(
                                      d.get("site_name") or t("office.value.other_record"),
                                      icon=ft.Icons.APARTMENT,
                                      on_click=app.nav(f"/office/site/{c['site_id']}")))])]
                         if c.get("site_id") else []),
                       kv(t("office.cases.period"), vm.period_text(t, c)),
                       kv(t("office.cases.work_done"), c.get("work_done")),
                       kv(t("office.cases.source"), source_text(t, c.get("source"))),
                       kv(t("office.cases.received"), when(vm.case_times(c))),
                       kv(t("office.cases.workers"), c.get("workers_owed")),
                       kv(t("office.cases.amount"), f"{c.get('amount_owed') or 0:,.2f}"),
                       kv(t("office.cases.recovered"), f"{c.get('amount_recovered') or 0:,.2f}"),
                       kv(t("office.cases.complainant"),
                          " ".join(str(c.get(k) or "") for k in (
                              "complainant_name", "complainant_phone",
                              "complainant_id_number")).strip()),
                       kv(t("office.cases.due"), due_text(t, d)))
        allowed = d.get("allowed_events") or []
        buttons[:] = [ft.OutlinedButton(
            t(f"event.{k}"), on_click=safe(app, close_form if k == "close" else event_form(k)))
            for k in allowed]
        actions = section(t("office.cases.actions"),
                          ft.Row([hook(f"office-event-{k}", b) for k, b in zip(allowed, buttons)],
                                 wrap=True) if buttons
                          else ft.Text(t("office.cases.no_actions")))
        rows = [await timeline_row(ev) for ev in d.get("events") or []]
        timeline = section(t("office.cases.timeline"), *rows or [ft.Text(t("office.empty"))])
        return [result_banner(done.get("note")), head, actions, timeline]

    return later(app, office_page(app, f"/office/case/{case_id}", t("office.cases.title"), [box],
                                  back="/office/cases"), box, build)


# --------------------------------------------------------------------------------------
# Site registry


def yes_no(t: Any, value: bool | None) -> str:
    return {True: t("yes"), False: t("no")}.get(value, t("office.registry.unknown"))


def registry_view(app: "FieldApp") -> ft.View:
    t = app.t
    state = kept(app, "office_registry", vm.RegistryVM)
    villages = village_names(app)
    box = ft.Column([loading(app)], spacing=6)

    async def build() -> list[ft.Control]:
        await with_client(app, state.load)
        rows = []
        for n, item in enumerate(state.items):
            s = item["site"]
            yes, known = vm.six_score(s)
            hc = vm.headcounts(s)
            rows.append(ft.DataRow(cells=[
                ft.DataCell(hook(f"office-site-{n}", ft.Text(s.get("name") or "—", width=220,
                                                            color=ft.Colors.BLUE_800)),
                            on_tap=app.nav(f"/office/site/{s['id']}")),
                ft.DataCell(ft.Text(item.get("village_name") or "—")),
                ft.DataCell(ft.Text(t(f"kind.{s.get('kind') or 'other'}"), size=12)),
                ft.DataCell(ft.Text(f"{yes}/{known}" if known else "—")),
                ft.DataCell(ft.Text(" / ".join("—" if hc[k] is None else str(hc[k])
                                               for k in ("on_site", "real_name", "contracts")))),
                ft.DataCell(ft.Text(fmt_time(s.get("last_inspected_at"))[:10])),
                ft.DataCell(ft.Text(str(item.get("open_cases") or 0),
                                    color=ft.Colors.RED_700 if item.get("open_cases") else None)),
            ]))
        table = ft.DataTable(columns=[
            ft.DataColumn(ft.Text(t("office.registry.site"))),
            ft.DataColumn(ft.Text(t("office.cases.village"))),
            ft.DataColumn(ft.Text(t("office.review.kind"))),
            ft.DataColumn(ft.Text(t("office.registry.six"))),
            ft.DataColumn(ft.Text(t("office.registry.headcounts"))),
            ft.DataColumn(ft.Text(t("office.registry.last_inspected"))),
            ft.DataColumn(ft.Text(t("office.registry.open_cases")), numeric=True)],
            rows=rows, heading_row_color=ft.Colors.BLUE_50)
        return [ft.Text(t("office.count", n=state.total), size=13),
                ft.Container(table, bgcolor=ft.Colors.WHITE, border_radius=8)]

    def refilter(name: str) -> Callable[[str | None], Any]:
        async def pick(value: str | None) -> None:
            setattr(state.filters, name, value)
            await refill(app, box, build)
        return pick

    search = ft.TextField(label=t("office.registry.search"), value=state.filters.q, dense=True,
                          width=260, prefix_icon=ft.Icons.SEARCH,
                          on_change=lambda e: setattr(state.filters, "q", e.control.value or ""))

    async def do_search(e: Any) -> None:
        state.filters.q = search.value or ""
        await refill(app, box, build)

    search.on_submit = safe(app, do_search)
    bar = ft.Row([
        dropdown(t("office.review.village"), state.filters.village,
                 sorted(villages.items(), key=lambda kv_: kv_[1]), app, refilter("village")),
        dropdown(t("office.review.kind"), state.filters.kind,
                 [(k, t(f"kind.{k}")) for k in SITE_KINDS], app, refilter("kind")),
        hook("office-registry-search", search),
        hook("office-registry-go", ft.IconButton(ft.Icons.SEARCH, tooltip=t("office.refresh"),
                                                 on_click=safe(app, do_search))),
    ], wrap=True)
    return later(app, office_page(app, "/office/registry", t("office.registry.title"),
                                  [bar, hook("office-registry", box, container=True)]), box, build)


def site_view(app: "FieldApp", site_id: str) -> ft.View:
    t = app.t
    state = vm.SiteDetailVM(site_id)
    villages = village_names(app)
    box = ft.Column([loading(app)], spacing=10, horizontal_alignment=ft.CrossAxisAlignment.STRETCH)

    async def toggle(e: Any) -> None:
        state.registry_only = not state.registry_only
        await refill(app, box, build)

    async def build() -> list[ft.Control]:
        await with_client(app, state.load)
        s = state.site
        hc = vm.headcounts(s)
        head = section(s.get("name") or "—",
                       kv(t("office.cases.village"), villages.get(s.get("village_id") or "")),
                       kv(t("office.review.kind"), t(f"kind.{s.get('kind') or 'other'}")),
                       kv(t("case.employer_address"), s.get("address")),
                       kv(t("office.registry.builder"), s.get("builder")),
                       kv(t("office.registry.contractor"), s.get("contractor")),
                       kv(t("office.registry.contact"),
                          f"{s.get('contact_name') or ''} {s.get('contact_phone') or ''}".strip()))
        six = vm.six_status(s)
        facts = hook("office-site-registry", section(
            t("office.registry.facts"),
            *[ft.Row([ft.Icon({True: ft.Icons.CHECK_CIRCLE, False: ft.Icons.CANCEL}.get(
                v, ft.Icons.HELP_OUTLINE), size=18, color={True: ft.Colors.GREEN_700,
                                                           False: ft.Colors.RED_700}.get(
                v, ft.Colors.GREY_500)), ft.Text(t(f"six.{k}"), size=13, width=160),
                ft.Text(yes_no(t, v), size=13)]) for k, v in six.items()],
            kv(t("office.registry.on_site"), hc["on_site"]),
            kv(t("office.registry.real_name"), hc["real_name"]),
            kv(t("office.registry.contracts"), hc["contracts"]),
            kv(t("office.registry.last_inspected"), fmt_time(s.get("last_inspected_at")))),
            container=True)
        table = ft.DataTable(columns=[
            ft.DataColumn(ft.Text(t("office.history.when"))),
            ft.DataColumn(ft.Text(t("office.history.field"))),
            ft.DataColumn(ft.Text(t("office.history.value"))),
            ft.DataColumn(ft.Text(t("office.history.who"))),
            ft.DataColumn(ft.Text(t("office.history.rev")), numeric=True)],
            rows=[ft.DataRow(color=ft.Colors.BLUE_50 if h.registry else None, cells=[
                ft.DataCell(ft.Text(fmt_time(h.at_ms), size=12)),
                ft.DataCell(ft.Text(vm.field_name("site", h.field, t), size=12)),
                ft.DataCell(ft.Text(vm.history_value(h, t, villages), size=12, width=360)),
                ft.DataCell(ft.Text(h.who, size=12)),
                ft.DataCell(ft.Text(str(h.rev), size=12))]) for h in state.history],
            heading_row_height=36, data_row_min_height=30)
        history = hook("office-site-history", section(
            t("office.history.title", n=len(state.history)),
            ft.Chip(label=ft.Text(t("office.history.registry_only")),
                    selected=state.registry_only, on_select=safe(app, toggle)),
            table), container=True)
        return [head, facts, history]

    return later(app, office_page(app, f"/office/site/{site_id}", t("office.registry.title"),
                                  [box], back="/office/registry"), box, build)


# --------------------------------------------------------------------------------------
# Audit log


def audit_view(app: "FieldApp") -> ft.View:
    t = app.t
    state = kept(app, "office_audit", vm.AuditVM)
    villages = village_names(app)
    box = ft.Column([loading(app)], spacing=6)
    f = state.filters

    def action_text(action: str | None) -> str:
        return t(f"office.audit.action.{action}") if action in vm.AUDIT_ACTIONS else (action or "")

    async def build() -> list[ft.Control]:
        await with_client(app, state.load)
        rows = [ft.DataRow(cells=[
            ft.DataCell(hook(f"office-audit-row-{n}", ft.Text(fmt_time(r.get("at")), size=12))),
            ft.DataCell(ft.Text(f"{r.get('username')} · {t('role.' + r['role']) if r.get('role') else '—'}",
                                size=12)),
            ft.DataCell(ft.Text(action_text(r.get("action")), size=12,
                                weight=ft.FontWeight.BOLD)),
            ft.DataCell(ft.Text(f"{entity_label(r.get('entity'), t.lang)} "
                                f"…{(r.get('entity_id') or '')[-6:]}", size=12)),
            ft.DataCell(ft.Text(vm.audit_details(r, t, villages), size=12, width=480)),
        ]) for n, r in enumerate(state.items)]
        table = ft.DataTable(columns=[
            ft.DataColumn(ft.Text(t("office.audit.when"))),
            ft.DataColumn(ft.Text(t("office.audit.who"))),
            ft.DataColumn(ft.Text(t("office.audit.what"))),
            ft.DataColumn(ft.Text(t("office.audit.record"))),
            ft.DataColumn(ft.Text(t("office.audit.details")))], rows=rows,
            heading_row_color=ft.Colors.BLUE_50, data_row_min_height=30)
        first = state.offset + 1 if state.items else 0
        pager = ft.Row([
            ft.Text(t("office.audit.range", first=first, last=state.offset + len(state.items)),
                    size=13),
            hook("office-audit-prev", ft.IconButton(ft.Icons.CHEVRON_LEFT,
                                                    disabled=state.offset == 0,
                                                    on_click=safe(app, page_by(-1)))),
            hook("office-audit-next", ft.IconButton(ft.Icons.CHEVRON_RIGHT,
                                                    disabled=not state.has_more,
                                                    on_click=safe(app, page_by(1))))])
        return [pager, ft.Container(table, bgcolor=ft.Colors.WHITE, border_radius=8)
                if rows else ft.Text(t("office.empty"))]

    def page_by(step: int) -> Callable[[Any], Any]:
        async def handler(e: Any) -> None:
            if step > 0:
                state.next_page()
            else:
                state.prev_page()
            await refill(app, box, build)
        return handler

    async def pick_action(value: str | None) -> None:
        f.action, state.offset = value, 0
        await refill(app, box, build)

    date_from = ft.TextField(label=t("office.audit.from"), value=f.date_from, dense=True,
                             width=160, hint_text="2026-01-01")
    date_to = ft.TextField(label=t("office.audit.to"), value=f.date_to, dense=True, width=160,
                           hint_text="2026-01-31")

    entity = ft.TextField(label=t("office.audit.entity_id"), value=f.entity_id, dense=True,
                          width=300)

    async def apply(e: Any) -> None:
        f.date_from, f.date_to, state.offset = date_from.value or "", date_to.value or "", 0
        f.entity_id = entity.value or ""
        f.params()  # a bad date is refused here, before the call
        await refill(app, box, build)

    date_from.on_submit = date_to.on_submit = entity.on_submit = safe(app, apply)
    bar = ft.Row([
        dropdown(t("office.audit.what"), f.action,
                 [(a, action_text(a)) for a in vm.AUDIT_ACTIONS], app, pick_action),
        hook("office-audit-from", date_from), hook("office-audit-to", date_to),
        hook("office-audit-entity", entity),
        hook("office-audit-apply", ft.FilledButton(t("office.audit.apply"), icon=ft.Icons.FILTER_ALT,
                                                   on_click=safe(app, apply))),
    ], wrap=True)
    return later(app, office_page(app, "/office/audit", t("office.audit.title"),
                                  [bar, hook("office-audit", box, container=True)]), box, build)


# --------------------------------------------------------------------------------------
# Dashboard


def bar_chart(groups: list[tuple[str, list[tuple[float, str]]]], max_y: float | None = None,
              stacked: bool = False, height: int = 240, unit: str = "",
              integer: bool = False, step: float | None = None) -> ft.Control:
    """A flet-charts bar chart; ``groups`` = [(label, [(value, color), …])]. The
    y axis has round ticks (``vm.nice_scale``) labelled with ``unit``."""
    import flet_charts as fch

    top = max([sum(v for v, _ in rods) if stacked else max((v for v, _ in rods), default=0)
               for _, rods in groups] or [0])
    if max_y is None or step is None:
        max_y, step = vm.nice_scale(top, integer=integer)
    chart_groups = []
    for x, (_, rods) in enumerate(groups):
        if stacked:
            acc, items = 0.0, []
            for v, color in rods:
                items.append(fch.BarChartRodStackItem(from_y=acc, to_y=acc + v, color=color))
                acc += v
            chart_rods = [fch.BarChartRod(from_y=0, to_y=acc, stack_items=items, width=22,
                                          border_radius=2, color=ft.Colors.TRANSPARENT)]
        else:
            chart_rods = [fch.BarChartRod(from_y=0, to_y=min(v, max_y), color=color, width=14,
                                          border_radius=2) for v, color in rods]
        chart_groups.append(fch.BarChartGroup(x=x, rods=chart_rods))
    ticks = [fch.ChartAxisLabel(value=v, label=ft.Text(
        f"{vm.fmt_number(int(v) if float(v).is_integer() else v)}{unit}", size=10))
        for v in vm.ticks_of(max_y, step)]
    return ft.Container(fch.BarChart(
        groups=chart_groups, max_y=max_y, min_y=0, interactive=True,
        bottom_axis=fch.ChartAxis(labels=[fch.ChartAxisLabel(value=x, label=ft.Text(
            label, size=10)) for x, (label, _) in enumerate(groups)], label_size=28),
        left_axis=fch.ChartAxis(labels=ticks, label_size=48, label_spacing=step),
        horizontal_grid_lines=fch.ChartGridLines(color=ft.Colors.GREY_300, width=1,
                                                 interval=step)),
        height=height, padding=ft.Padding.only(top=12, right=12))


def legend(items: list[tuple[str, str]]) -> ft.Row:
    return ft.Row([ft.Row([ft.Container(width=12, height=12, bgcolor=c, border_radius=2),
                           ft.Text(label, size=12)], spacing=4, tight=True)
                   for label, c in items], wrap=True)


def pct(x: float | None) -> str:
    """A rate as a percentage, capped at 100%."""
    return "—" if x is None else f"{vm.percent(x):.1f}%"


def compact_table(columns: list[tuple[str, bool]], rows: list[ft.DataRow]) -> ft.DataTable:
    """A dense DataTable for a dashboard panel: ``columns`` = [(header, numeric)]."""
    return ft.DataTable(
        columns=[ft.DataColumn(ft.Text(h, size=12, weight=ft.FontWeight.BOLD), numeric=num)
                 for h, num in columns], rows=rows, show_checkbox_column=False,
        heading_row_height=32, data_row_min_height=30, data_row_max_height=34,
        column_spacing=16, horizontal_margin=8, heading_row_color=ft.Colors.BLUE_50)


def count_box(label: str, n: int, color: str, light: str) -> ft.Control:
    return ft.Container(ft.Column([ft.Text(str(n), size=26, weight=ft.FontWeight.BOLD,
                                           color=color),
                                   ft.Text(label, size=12, color=color)],
                                  spacing=0, tight=True,
                                  horizontal_alignment=ft.CrossAxisAlignment.CENTER),
                        bgcolor=light, border_radius=8, width=110,
                        padding=ft.Padding.symmetric(horizontal=8, vertical=6))


#: Villages shown in the overdue panel (the most overdue first), so it stays compact.
VILLAGE_ROWS = 6


def overdue_panel(app: "FieldApp", panel: vm.OverduePanel) -> ft.Control:
    """Overdue and due-soon cases: the counts (in all and by village), the most
    overdue few (a tap opens the case) and 查看超期案件 (the ledger, overdue only).
    Hooks: office-dash-overdue, office-dash-overdue-N, office-dash-overdue-ledger."""
    t = app.t

    async def ledger(e: Any) -> None:  # the user's own tap
        app.office_cases = vm.CaseFilters(overdue=True)
        await app.nav("/office/cases")(e)

    counts = ft.Row([count_box(t("office.cases.overdue"), panel.overdue, ft.Colors.RED_700,
                               ft.Colors.RED_50),
                     count_box(t("office.cases.due_soon"), panel.due_soon,
                               ft.Colors.AMBER_900, ft.Colors.AMBER_50)], spacing=8)
    villages = ft.Container(compact_table(
        [(t("office.cases.village"), False), (t("office.cases.overdue"), True),
         (t("office.cases.due_soon"), True)],
        [ft.DataRow(cells=[ft.DataCell(ft.Text(v, size=12)),
                           ft.DataCell(ft.Text(str(late), size=12,
                                               color=ft.Colors.RED_700 if late else None)),
                           ft.DataCell(ft.Text(str(soon), size=12))])
         for v, (late, soon) in list(panel.by_village.items())[:VILLAGE_ROWS]]),
        bgcolor=ft.Colors.WHITE) if panel.by_village else ft.Text(t("office.empty"), size=12)
    more = len(panel.by_village) - VILLAGE_ROWS
    top = ft.Container(compact_table(
        [(t("office.cases.case"), False), (t("office.cases.village"), False),
         (t("office.cases.due"), False), (t("office.dash.days_overdue"), True)],
        [ft.DataRow(cells=[
            ft.DataCell(hook(f"office-dash-overdue-{n}", ft.Text(
                r.title, size=12, color=ft.Colors.RED_800, width=230, max_lines=1,
                overflow=ft.TextOverflow.ELLIPSIS, tooltip=r.title)),
                on_tap=app.nav(f"/office/case/{r.case_id}")),
            ft.DataCell(ft.Text(r.village, size=12)),
            ft.DataCell(ft.Text(r.due, size=12)),
            ft.DataCell(ft.Text(str(r.working_days_overdue), size=12,
                                color=ft.Colors.RED_700, weight=ft.FontWeight.BOLD))])
         for n, r in enumerate(panel.top)])) if panel.top else ft.Text(
        t("office.dash.none_overdue"), size=12, color=ft.Colors.GREEN_800)
    button = hook("office-dash-overdue-ledger", ft.OutlinedButton(
        t("office.dash.open_overdue"), icon=ft.Icons.LIST_ALT, on_click=safe(app, ledger)))
    left = ft.Column([counts, villages] + ([ft.Text(t("office.dash.more_villages", n=more),
                                                    size=12, color=ft.Colors.GREY_700)]
                                           if more > 0 else []), spacing=8, col={"md": 5})
    right = ft.Column([ft.Text(t("office.dash.most_overdue", n=len(panel.top)), size=13,
                               color=ft.Colors.GREY_800), top, button], spacing=6,
                      col={"md": 7}, horizontal_alignment=ft.CrossAxisAlignment.START)
    return hook("office-dash-overdue", section(
        t("office.dash.overdue_title"), ft.ResponsiveRow([left, right], spacing=12)),
        container=True)


def dashboard_view(app: "FieldApp") -> ft.View:
    t = app.t
    box = ft.Column([loading(app)], spacing=10, horizontal_alignment=ft.CrossAxisAlignment.STRETCH)

    async def build() -> list[ft.Control]:
        month = vm.this_month()
        months = vm.months_back(month, 3)
        cases = (await call(app, "cases"))["items"]
        panel = await with_client(app, vm.OverduePanel.load)
        summaries = {m: await call(app, "summary", m) for m in months}
        now = summaries[month]
        totals = now.get("totals") or {}
        # cases by village and status (stacked)
        by_v = vm.cases_by_village_status(cases)
        statuses = [s for s in STATUSES if any(s in v for v in by_v.values())]
        colors = {s: SERIES[i % len(SERIES)] for i, s in enumerate(STATUSES)}
        c1 = section(t("office.dash.by_village"),
                     bar_chart([(v, [(float(cnt.get(s, 0)), colors[s]) for s in statuses])
                                for v, cnt in by_v.items()], stacked=True, integer=True),
                     legend([(t(f"status.{s}"), colors[s]) for s in statuses]))
        # amounts owed vs recovered by month (10k yuan)
        amounts = vm.amounts_by_month(cases)
        c2 = section(t("office.dash.amounts"),
                     bar_chart([(m, [(o / 10_000, ft.Colors.RED_400), (r / 10_000,
                                                                      ft.Colors.GREEN_600)])
                                for m, (o, r) in amounts.items()]),
                     legend([(t("office.dash.owed"), ft.Colors.RED_400),
                             (t("office.dash.recovered"), ft.Colors.GREEN_600)]))
        # six systems by project kind (percent)
        rates = vm.six_rates_by_kind(now.get("projects") or {})
        kinds = list(rates)
        kind_colors = {"gov": ft.Colors.BLUE_600, "private": ft.Colors.ORANGE_600}
        c3 = section(t("office.dash.six"),
                     bar_chart([(t(f"six.{k}"), [(vm.percent(rates[g][k]), kind_colors[g])
                                                  for g in kinds]) for k in vm.SIX_SYSTEMS],
                               max_y=100, step=20, unit="%"),
                     legend([(t(f"office.dash.{g}"), kind_colors[g]) for g in kinds]),
                     ft.Text(" · ".join(f"{t('six.' + k.removesuffix('_rate'))} {pct(totals.get(k))}"
                                        for k in vm.RATE_KEYS), size=12))
        # inspections per month vs plan
        ivp = vm.inspections_vs_plan(summaries)
        c4 = section(t("office.dash.inspections"),
                     bar_chart([(m, [(float(d), ft.Colors.TEAL_600), (float(p), ft.Colors.GREY_400)])
                                for m, (d, p) in ivp.items()], integer=True),
                     legend([(t("office.dash.done"), ft.Colors.TEAL_600),
                             (t("office.dash.plan"), ft.Colors.GREY_400)]))
        head = ft.Text(t("office.dash.totals", opened=totals.get("cases_opened", 0),
                         owed=f"{totals.get('amount_owed') or 0:,.0f}",
                         recovered=f"{totals.get('amount_recovered') or 0:,.0f}",
                         rate=pct(totals.get("on_time_rate"))), size=14)
        return [head, overdue_panel(app, panel),
                ft.ResponsiveRow([ft.Container(c, col={"md": 6}) for c in (c1, c2, c3, c4)])]

    return later(app, office_page(app, "/office/dashboard", t("office.dash.title"),
                                  [hook("office-dashboard", box, container=True)]), box, build)


# --------------------------------------------------------------------------------------
# Exports


def export_dir(app: "FieldApp") -> Path:
    return Path(app.device.data_dir) / "exports"


def export_view(app: "FieldApp") -> ft.View:
    t = app.t
    month = ft.TextField(label=t("office.export.month"), value=vm.this_month(), width=220,
                         dense=True)
    saved = ft.Text("")
    last: dict[str, Any] = {}

    async def fetch() -> tuple[str, bytes]:
        m = (month.value or "").strip()
        if len(m) != 7 or m[4] != "-" or not (m[:4] + m[5:]).isdigit():
            raise vm.UiError("month_format", "YYYY-MM")
        return m, await call(app, "workbook", m)

    # the browser download is the main one; a copy in the app's folder is the extra
    browser_btn = ft.FilledButton(t("office.export.browser"), icon=ft.Icons.DOWNLOAD)
    download_btn = ft.OutlinedButton(t("office.export.download"), icon=ft.Icons.SAVE_ALT)

    async def save() -> None:
        m, data = await fetch()
        folder = export_dir(app)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"治欠台账-{m}.xlsx"
        await asyncio.to_thread(path.write_bytes, data)
        last.update(month=m, data=data)
        saved.value = t("office.export.saved", path=str(path))

    async def download(e: Any) -> None:
        await busy(app, [download_btn, browser_btn], save())

    async def to_browser(e: Any) -> None:
        async def get() -> None:
            m, data = await fetch()
            last.update(month=m, data=data)

        await busy(app, [download_btn, browser_btn], get())
        name = f"治欠台账-{last['month']}.xlsx"
        picker = getattr(app.files, "picker", None) or ft.FilePicker()
        app._office_picker = picker  # keep the service alive
        await picker.save_file(file_name=name, src_bytes=last["data"])
        saved.value = t("office.export.started", name=name)
        app.page.update()

    download_btn.on_click = safe(app, download)
    browser_btn.on_click = safe(app, to_browser)
    body = section(t("office.export.title"),
                   ft.Text(t("office.export.hint"), size=13, color=ft.Colors.GREY_700),
                   month,
                   ft.Row([hook("office-export-browser", browser_btn),
                           hook("office-export", download_btn)], wrap=True),
                   hook("office-export-path", saved))
    return office_page(app, "/office/export", t("office.export.title"), [body])
