"""Views: functions of (app, route arguments) → ``ft.View``. They bind
controls to view-models and wrap every handler in ``app.safe``; every string
comes from the translation table (``app.t``)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import TYPE_CHECKING, Any, Awaitable, Callable

import flet as ft

from field_app.core import DeviceError, NetworkError, ServerError
from shared_schema.case_sources import source_label

from .adapters import PHOTO_SIZES
from .field.viewmodels import (
    CASE_SOURCES,
    CASE_TEXT_FIELDS,
    CHINA,
    EVENT_TEXT_FIELDS,
    SITE_KINDS,
    CaseVM,
    UiError,
    case_rows,
    current_user,
    replaced_edits,
    strip_emoji,
    employer_for,
    forms_text,
    money,
    queue_forms,
    review_label,
    sync_problem,
    waiting,
    quarantine_changes,
    InspectionVM,
    LoginForm,
    open_case,
    required_fields,
    STALE_FIX_MS,
    sign_out,
    site_detail,
    text_limit,
)

if TYPE_CHECKING:
    from .app import FieldApp

BIG = 56  # touch target height (px)
SECONDARY = 44  # secondary buttons: never below 44 px
TEXT_MAX = 200  # characters of a free-text answer, value or note (the counter shows it)
PAD = ft.Padding.all(12)


def hook(identifier: str, control: ft.Control, **kw: Any) -> ft.Semantics:
    """A stable test hook: ``[flt-semantics-identifier=…]`` in the browser."""
    return ft.Semantics(identifier=identifier, content=control, **kw)


def fmt_time(ms: int | None) -> str:
    if not ms:
        return "—"
    return dt.datetime.fromtimestamp(ms / 1000, CHINA).strftime("%Y-%m-%d %H:%M")


def replaced_banner(app: "FieldApp", entity: str, entity_id: str,
                    label: Callable[[str], str]) -> list[ft.Control]:
    """My offline edits the server replaced, on the record itself: what I
    typed, what was kept, and that the labour office decides (the conflict)."""
    t = app.t
    edits = replaced_edits(app.device, entity, entity_id)
    if not edits:
        return []

    def words(v: Any) -> str:
        if isinstance(v, dict):
            inner = v.get("answer", v)
            if isinstance(inner, str) and app.t.has(f"ans.{inner}"):
                return t(f"ans.{inner}")
            return str(inner)
        return "—" if v in (None, "") else str(v)

    lines = [ft.Text(t("conflict.title"), size=14, weight=ft.FontWeight.BOLD,
                     color=ft.Colors.ORANGE_900)]
    lines += [ft.Text(t("conflict.detail", field=label(e.field), mine=words(e.mine),
                        kept=words(e.kept), who=t("conflict.newer")), size=13)
              for e in edits]
    return [hook(f"replaced-{entity}", ft.Container(
        ft.Column(lines, spacing=4), padding=PAD, bgcolor=ft.Colors.ORANGE_50,
        border_radius=8))]


def badge(text: str, color: str) -> ft.Container:
    return ft.Container(ft.Text(text, size=12, color=ft.Colors.WHITE, weight=ft.FontWeight.BOLD),
                        bgcolor=color, border_radius=10,
                        padding=ft.Padding.symmetric(horizontal=8, vertical=2))


def section(title: str, *controls: ft.Control) -> ft.Container:
    return ft.Container(ft.Column([ft.Text(title, size=16, weight=ft.FontWeight.BOLD),
                                   *controls], spacing=6,
                                  horizontal_alignment=ft.CrossAxisAlignment.STRETCH),
                        padding=PAD, bgcolor=ft.Colors.WHITE, border_radius=8)


def kv(label: str, value: Any) -> ft.Row:
    return ft.Row([ft.Text(label, size=13, color=ft.Colors.GREY_700, width=110),
                   ft.Text("—" if value in (None, "") else str(value), size=14, expand=True,
                           selectable=True)], vertical_alignment=ft.CrossAxisAlignment.START)


def page_view(app: "FieldApp", route: str, title: str, body: list[ft.Control],
              back: str | None = None, bottom: ft.Control | None = None,
              scroll: bool = True) -> ft.View:
    content = ft.Column(body, spacing=10, scroll=ft.ScrollMode.AUTO if scroll else None,
                        expand=True, horizontal_alignment=ft.CrossAxisAlignment.STRETCH)
    controls: list[ft.Control] = [content]
    if bottom is not None:
        controls.append(bottom)
    return ft.View(route=route, controls=controls, appbar=app.bar(title, back),
                   navigation_bar=app.navbar(route), bgcolor=ft.Colors.GREY_100,
                   padding=ft.Padding.all(10))


# --------------------------------------------------------------------------------------
# Login


def login_view(app: "FieldApp") -> ft.View:
    t = app.t
    st = app.device.status()
    form = LoginForm(server_url=app.prefs.server_url or st.server_url or "",
                     username=st.username or "")
    server = ft.TextField(label=t("login.server"), value=form.server_url,
                          keyboard_type=ft.KeyboardType.URL)
    user = ft.TextField(label=t("login.username"), value=form.username)
    password = ft.TextField(label=t("login.password"), password=True,
                            can_reveal_password=True)
    message = ft.Text("", color=ft.Colors.RED_700)
    if st.login_state == "login_required":
        message.value = t("login.expired", reason=t.error(st.login_reason or "auth_required", ""))
    busy = ft.ProgressRing(visible=False, width=24, height=24)

    async def submit(e: Any) -> None:
        form.server_url, form.username = server.value or "", user.value or ""
        form.password = password.value or ""
        ok = form.validate()
        server.error = t(form.errors["server_url"]) if "server_url" in form.errors else None
        user.error = t(form.errors["username"]) if "username" in form.errors else None
        password.error = t(form.errors["password"]) if "password" in form.errors else None
        if not ok:
            app.page.update()
            return
        busy.visible, message.value = True, t("login.working")
        app.page.update()
        try:
            await asyncio.to_thread(app.device.login, form.server_url.strip(),
                                    form.username.strip(), form.password)
        except NetworkError:
            busy.visible = False
            message.value = t("login.unreachable")
            app.page.update()
            return
        except ServerError as exc:
            busy.visible = False
            message.value = t.error(exc.code, exc.message)
            app.page.update()
            return
        finally:
            busy.visible = False
        app.prefs.server_url = form.server_url.strip()
        app.save_prefs()
        message.value = t("login.first_sync")
        app.page.update()
        report = await app.run_sync()
        if not report.ok:
            app.toast(t(sync_problem(report) or "sync.offline"), error=True)
        await app.go("/sites")

    async def lang(e: Any) -> None:
        app.set_language("en" if app.t.lang == "zh" else "zh")
        await app.rerender()

    card = ft.Container(ft.Column([
        ft.Text(t("app.name"), size=26, weight=ft.FontWeight.BOLD, color=ft.Colors.BLUE_800),
        ft.Text(t("login.subtitle"), size=14, color=ft.Colors.GREY_700),
        hook("login-server", server),
        hook("login-username", user),
        hook("login-password", password),
        ft.Row([hook("login-submit", ft.FilledButton(
            t("login.submit"), on_click=app.safe(submit), height=BIG, expand=True),
            expand=True), busy]),
        message,
        ft.Text(t("login.offline_hint"), size=12, color=ft.Colors.GREY_600),
        ft.TextButton(t("login.continue_offline"), on_click=app.nav("/sites"),
                      visible=st.login_state == "login_required"),
        ft.TextButton(t("lang.switch"), on_click=app.safe(lang)),
    ], spacing=12, horizontal_alignment=ft.CrossAxisAlignment.STRETCH),
        padding=ft.Padding.all(20), bgcolor=ft.Colors.WHITE, border_radius=12)
    return ft.View(route="/login", controls=[ft.Column([card], scroll=ft.ScrollMode.AUTO,
                                                       expand=True)],
                   bgcolor=ft.Colors.GREY_100, padding=ft.Padding.all(16))


# --------------------------------------------------------------------------------------
# Home: my sites


def site_card(app: "FieldApp", row: Any) -> ft.Control:
    t = app.t
    badges: list[ft.Control] = []
    if row.due:
        badges.append(badge(t("badge.due"), ft.Colors.ORANGE_800))
    if row.open_cases:
        badges.append(badge(t("badge.cases", n=row.open_cases), ft.Colors.RED_700))
    if row.returned:
        badges.append(badge(t("badge.returned"), ft.Colors.RED_900))
    if row.unsynced:
        badges.append(badge(t("badge.unsynced", n=row.unsynced), ft.Colors.BLUE_700))
    sub = " · ".join(x for x in (row.village, t(f"kind.{row.kind}"),
                                 t("site.gov") if row.gov_invested else "") if x)
    return ft.Container(
        ft.Column([ft.Text(row.name, size=16, weight=ft.FontWeight.W_600),
                   ft.Text(sub, size=12, color=ft.Colors.GREY_700),
                   ft.Row(badges, spacing=6, visible=bool(badges))], spacing=4),
        padding=PAD, bgcolor=ft.Colors.WHITE, border_radius=8,
        on_click=app.nav(f"/site/{row.id}"), ink=True)


SITE_PAGE = 100  # cards drawn per keystroke; the count says how many match


def sites_view(app: "FieldApp") -> ft.View:
    t = app.t
    vm = app.sites
    vm.load()
    listing = ft.ListView(spacing=8, expand=True)
    count = ft.Text("", size=12, color=ft.Colors.GREY_700)

    def fill() -> None:
        rows = vm.visible()
        listing.controls = [site_card(app, r) for r in rows[:SITE_PAGE]]
        if not rows:
            listing.controls = [ft.Text(t("sites.empty"), color=ft.Colors.GREY_700)]
        count.value = t("sites.count", shown=len(rows), total=len(vm.rows), due=vm.due_count())

    def search(e: Any) -> None:
        vm.filter.query = e.control.value or ""
        fill()
        app.page.update()

    def pick_village(e: Any) -> None:
        vm.filter.village_id = e.control.value or None
        fill()
        app.page.update()

    def pick_kind(e: Any) -> None:
        vm.filter.kind = e.control.value or None
        fill()
        app.page.update()

    def toggle(name: str) -> Callable[[Any], None]:
        def handler(e: Any) -> None:
            if name == "due":
                vm.filter.due_only = not vm.filter.due_only
                e.control.selected = vm.filter.due_only
            else:
                vm.filter.gov_invested = None if vm.filter.gov_invested else True
                e.control.selected = bool(vm.filter.gov_invested)
            fill()
            app.page.update()
        return handler

    any_opt = ft.DropdownOption(key="", text=t("filter.all"))
    village = ft.Dropdown(label=t("filter.village"), value=vm.filter.village_id or "",
                          options=[any_opt] + [ft.DropdownOption(key=v["id"], text=v.get("name"))
                                               for v in vm.villages],
                          on_select=app.safe(pick_village), dense=True, expand=True)
    kind = ft.Dropdown(label=t("filter.kind"), value=vm.filter.kind or "",
                       options=[ft.DropdownOption(key="", text=t("filter.all"))] + [
                           ft.DropdownOption(key=k, text=t(f"kind.{k}")) for k in SITE_KINDS],
                       on_select=app.safe(pick_kind), dense=True, expand=True)
    fill()
    returned: list[ft.Control] = []
    if vm.returned:
        returned.append(hook("returned-list", ft.Container(ft.Column([
            ft.Text(t("sites.returned", n=len(vm.returned)), size=15,
                    weight=ft.FontWeight.BOLD, color=ft.Colors.RED_900),
            *[hook(f"returned-{i['id']}", ft.Container(
                ft.Column([ft.Text(name, size=14, weight=ft.FontWeight.W_600),
                           ft.Text(i.get("review_comment") or "", size=12,
                                   color=ft.Colors.GREY_800)], spacing=2),
                padding=ft.Padding.all(8), border_radius=6, bgcolor=ft.Colors.WHITE,
                on_click=app.nav(f"/inspection/{i['id']}"), ink=True))
              for i, name in vm.returned[:5]]], spacing=6,
            horizontal_alignment=ft.CrossAxisAlignment.STRETCH),
            padding=ft.Padding.all(10), bgcolor=ft.Colors.RED_50, border_radius=8)))
    body: list[ft.Control] = [
        *returned,
        hook("site-search", ft.TextField(
            label=t("sites.search"), value=vm.filter.query, prefix_icon=ft.Icons.SEARCH,
            on_change=app.safe(search), dense=True)),
        ft.Row([village, kind], spacing=8),
        ft.Row([ft.Chip(label=ft.Text(t("filter.due")), selected=vm.filter.due_only,
                        on_select=app.safe(toggle("due"))),
                ft.Chip(label=ft.Text(t("filter.gov")), selected=bool(vm.filter.gov_invested),
                        on_select=app.safe(toggle("gov"))),
                count], spacing=8, scroll=ft.ScrollMode.AUTO),
        hook("site-list", listing, expand=True),
    ]
    return page_view(app, "/sites", t("sites.title"), body, scroll=False)


# --------------------------------------------------------------------------------------
# Site detail


SITE_FIELDS = ("address", "builder", "contractor", "contract_amount", "start_date", "status",
               "contact_name", "contact_phone", "industry")
EDITABLE_SITE_FIELDS = ("address", "contractor", "contact_name", "contact_phone")
CONSTRUCTION_ONLY = ("builder", "contractor", "contract_amount", "start_date")


def site_fields(kind: str | None) -> tuple[str, ...]:
    """The registry fields a site's page shows: a factory or a logistics firm
    has no builder, general contractor, contract amount or start of works."""
    if kind == "construction":
        return tuple(f for f in SITE_FIELDS if f != "industry")
    return tuple(f for f in SITE_FIELDS if f not in CONSTRUCTION_ONLY)


def site_view(app: "FieldApp", site_id: str) -> ft.View:
    t = app.t
    d = site_detail(app.device, site_id)
    s = d.site
    registry = [kv(t("site.village"), d.village), kv(t("site.kind"), t(f"kind.{s.get('kind')}")),
                kv(t("site.gov"), t("yes") if s.get("gov_invested") else t("no"))]
    for f in site_fields(s.get("kind")):
        value = s.get(f)
        if f == "status" and value:
            value = t(f"site_status.{value}")
        elif f == "contract_amount" and value is not None:
            value = money(value)
        registry.append(kv(t(f"site.{f}"), value))
    six = [ft.Row([ft.Icon(ft.Icons.CHECK_CIRCLE if v else ft.Icons.CANCEL if v is False
                           else ft.Icons.HELP_OUTLINE,
                           color=ft.Colors.GREEN_700 if v else ft.Colors.RED_700
                           if v is False else ft.Colors.GREY_500, size=18),
                   ft.Text(t(f"six.{k}"), size=14)]) for k, v in d.six_systems.items()]
    heads = [ft.Text(t("site.headcount_row", at=fmt_time(h["at"]), on_site=h["on_site"] or "—",
                       real_name=h["real_name"] or "—", contracts=h["contracts"] or "—"),
                     size=13) for h in d.headcounts[:8]]

    def insp_tile(i: dict) -> ft.Control:
        state = t(f"insp_state.{i.get('state') or 'draft'}")
        label = review_label(i, waiting(app.device, "inspection", i["id"]))
        review = t(label) if label else ""
        lines = [ft.Text(f"{fmt_time(i.get('submitted_at') or i.get('started_at'))} · {state}"
                         + (f" · {review}" if review else ""), size=14)]
        if i.get("review_comment"):
            lines.append(ft.Text(t("site.review_comment", comment=i["review_comment"]),
                                 size=12, color=ft.Colors.GREY_700))
        returned = label == "review.rejected"
        return ft.Container(ft.Column(lines, spacing=2), padding=ft.Padding.all(8),
                            border_radius=6,
                            bgcolor=ft.Colors.RED_50 if returned else ft.Colors.BLUE_50,
                            on_click=app.nav(f"/inspection/{i['id']}"), ink=True)

    def case_tile(c: dict) -> ft.Control:
        return ft.Container(ft.Column([
            ft.Text(c.get("title") or c.get("employer") or "—", size=14),
            ft.Text(f"{t('status.' + (c.get('status') or 'registered'))} · "
                    f"{t('level.' + (c.get('level') or 'village'))}", size=12,
                    color=ft.Colors.GREY_700)], spacing=2),
            padding=ft.Padding.all(8), border_radius=6, bgcolor=ft.Colors.RED_50,
            on_click=app.nav(f"/case/{c['id']}"), ink=True)

    async def new_inspection(e: Any) -> None:
        me = current_user(app.device).get("id")
        draft = next((i for i in d.inspections if i.get("state") == "draft"
                      and i.get("inspector_id") == me), None)
        if draft is not None:  # one draft per site at a time: carry on with it
            app.toast(t("site.continue_draft"))
            await app.go(f"/inspection/{draft['id']}")
            return
        # the wizard locates while it is open and keeps the best fix (never a cached one)
        insp_id = app.device.start_inspection(site_id)
        await app.go(f"/inspection/{insp_id}")

    def edit_site(e: Any) -> None:
        fields = {f: ft.TextField(label=t(f"site.{f}"), value=str(s.get(f) or ""))
                  for f in EDITABLE_SITE_FIELDS
                  if s.get("kind") == "construction" or f not in CONSTRUCTION_ONLY}

        async def save(ev: Any) -> None:
            changes = {f: (c.value or "").strip() or None for f, c in fields.items()}
            app.device.update_site(site_id, **{k: v for k, v in changes.items()
                                               if v != s.get(k)})
            app.page.pop_dialog()
            app.toast(t("saved"))
            await app.rerender()

        app.page.show_dialog(ft.AlertDialog(
            title=ft.Text(t("site.edit")), content=ft.Column(list(fields.values()), tight=True,
                                                            scroll=ft.ScrollMode.AUTO),
            actions=[ft.TextButton(t("cancel"), on_click=lambda ev: app.page.pop_dialog()),
                     ft.FilledButton(t("save"), on_click=app.safe(save))]))

    actions = ft.Row([
        hook("new-inspection", ft.FilledButton(t("site.new_inspection"), icon=ft.Icons.CHECKLIST,
                                               on_click=app.safe(new_inspection), height=BIG),
             expand=True),
        hook("new-case", ft.OutlinedButton(t("site.new_case"), icon=ft.Icons.REPORT,
                                           on_click=app.nav(f"/site/{site_id}/case"),
                                           height=BIG), expand=True),
    ], spacing=8)
    body = [
        ft.Text(s.get("name") or "", size=20, weight=ft.FontWeight.BOLD),
        *replaced_banner(app, "site", site_id,
                         lambda f: t(f"site.{f}") if t.has(f"site.{f}") else f),
        actions,
        ft.TextButton(t("site.edit"), icon=ft.Icons.EDIT, on_click=app.safe(edit_site)),
        section(t("site.six_systems"), *(six or [ft.Text(t("site.no_approved"), size=13)])),
        section(t("site.open_cases", n=len(d.open_cases)),
                *([case_tile(c) for c in d.all_cases] or [ft.Text(t("none"), size=13)])),
        section(t("site.inspections"),
                *([insp_tile(i) for i in d.inspections] or [ft.Text(t("none"), size=13)])),
        section(t("site.headcounts"), *(heads or [ft.Text(t("none"), size=13)])),
        section(t("site.registry"), *registry),
    ]
    return page_view(app, f"/site/{site_id}", t("site.title"), body, back="/sites")


async def locate(app: "FieldApp") -> Any:
    """A fresh GPS fix within a few seconds, or None (recording never waits
    for GPS). The app remembers the last fix and its time (shown as stale
    later, never reused as a current one)."""
    if app.locator is None:
        return None
    try:
        fix = await asyncio.wait_for(app.locator.locate(), timeout=6)
    except Exception:  # noqa: BLE001 - no GPS is not an error
        return None
    if fix is not None:
        app.fix, app.fix_at = fix, app.device.settings.now_ms()
    return fix


def age_text(t: Any, ms: int) -> str:
    minutes = max(1, ms // 60_000)
    return t("gps.age_min", n=minutes) if minutes < 120 else t("gps.age_hour", n=minutes // 60)


def date_button(app: "FieldApp", on_date: Callable[[str], Any]) -> ft.Control:
    """A calendar button: the picked day as YYYY-MM-DD."""

    def pick(e: Any) -> None:
        def changed(ev: Any) -> None:
            value = ev.control.value
            if value is not None:
                on_date(value.strftime("%Y-%m-%d") if hasattr(value, "strftime")
                        else str(value)[:10])

        app.page.show_dialog(ft.DatePicker(
            first_date=dt.datetime(2000, 1, 1), last_date=dt.datetime(2100, 12, 31),
            on_change=app.safe(changed)))

    return ft.IconButton(ft.Icons.CALENDAR_MONTH, tooltip=app.t("insp.pick_date"),
                         on_click=app.safe(pick), width=SECONDARY, height=SECONDARY)


# --------------------------------------------------------------------------------------
# Inspection wizard


def inspection_view(app: "FieldApp", insp_id: str) -> ft.View:
    t = app.t
    lang = t.lang
    vm = InspectionVM(app.device, insp_id, invalid=app.typed.setdefault(insp_id, {}))
    step_box = ft.Column(spacing=10)
    steps_row = ft.Row(spacing=6, scroll=ft.ScrollMode.AUTO)
    progress = ft.Text("", size=13)
    gps = ft.Text("", size=12, color=ft.Colors.GREY_700)
    heads = ft.Text("", size=13, weight=ft.FontWeight.W_600)
    pending_saves: dict[str, asyncio.Task] = {}
    rest_btn = ft.OutlinedButton("", icon=ft.Icons.DONE_ALL, height=SECONDARY)
    rest_box = hook("rest-compliant", rest_btn)

    def err_text(err: Any) -> str:
        return t(err.key, **{k: v[lang] if isinstance(v, dict) else v
                             for k, v in err.args.items()})

    def gps_text() -> str:
        """The stored location (what the office sees), else 未定位, with a
        cached older fix named stale with its age."""
        now = app.device.settings.now_ms()
        cached = None
        if app.fix is not None and app.fix_at and now - app.fix_at > STALE_FIX_MS:
            cached = (app.fix.lat, app.fix.lon, app.fix.accuracy, app.fix_at)
        g = vm.gps(now, cached)
        if g.state == "saved":
            gps.color = ft.Colors.GREEN_800
            return t("gps.saved", lat=f"{g.lat:.5f}", lon=f"{g.lon:.5f}",
                     acc=f"{g.accuracy:.0f}" if g.accuracy is not None else "?",
                     when=fmt_time(g.at)[11:] if g.at else "—")
        gps.color = ft.Colors.RED_700
        if g.state == "stale":
            return t("gps.stale", age=age_text(t, g.age_ms or 0))
        return t("gps.missing")

    def header() -> None:
        progress.value = t("insp.counts", done=vm.answered(), total=len(vm.template.items),
                           missing=len(vm.missing()), photos=vm.photos_taken(),
                           required=vm.photos_required())
        h = vm.headcounts()
        heads.value = t("insp.heads", on_site=_n(h["on_site"]), real_name=_n(h["real_name"]),
                        contracts=_n(h["contracts"]))
        gps.value = gps_text()
        rest = vm.rest_compliant(vm.step)
        rest_btn.content = t("insp.rest_compliant", n=len(rest))
        rest_box.visible = bool(rest) and not vm.read_only
        steps_row.controls = [
            ft.Chip(label=ft.Text(f"{i + 1}. {s.label[lang]}"
                                  + (f" ({vm.step_missing(i)})" if vm.step_missing(i) else " ✓"),
                                  size=12),
                    selected=i == vm.step, on_select=app.safe(goto(i)))
            for i, s in enumerate(vm.steps)]

    def goto(i: int) -> Callable[[Any], Any]:
        async def handler(e: Any) -> None:
            await flush()
            vm.step = i
            draw()
            app.page.update()
            await to_top()
        return handler

    async def flush() -> None:
        for task in list(pending_saves.values()):
            if not task.done():
                task.cancel()
        for code, fn in list(pending_now.items()):
            fn()
        pending_now.clear()
        pending_saves.clear()

    pending_now: dict[str, Callable[[], None]] = {}

    def cancel_save(key: str) -> None:
        old = pending_saves.pop(key, None)
        if old and not old.done():
            old.cancel()
        pending_now.pop(key, None)

    def debounced(key: str, fn: Callable[[], Any]) -> None:
        """Autosave typed text after a short pause (and on step change / submit)."""
        old = pending_saves.get(key)
        if old and not old.done():
            old.cancel()
        pending_now[key] = fn

        async def later() -> None:
            await asyncio.sleep(0.6)
            f = pending_now.pop(key, None)
            if f is None:
                return
            try:
                f()
                header()
                app.refresh_chip()
                app.page.update()
            except Exception as exc:  # noqa: BLE001 - boundary for the timer
                app.toast(app.error_text(exc), error=True)

        pending_saves[key] = asyncio.ensure_future(later())

    def item_card(item: Any) -> ft.Container:
        # a key new on every draw: a key matching the previous draw's makes Flet
        # freeze the new controls ("Frozen controls cannot be updated" on typing)
        box = ft.Container(padding=PAD, bgcolor=ft.Colors.WHITE, border_radius=8,
                           key=ft.ScrollKey(f"item-{item.code}-{drawn[0]}"))
        box.content = item_body(item, box)
        return box

    def redraw(item: Any, box: ft.Container) -> None:
        box.content = item_body(item, box)
        header()
        app.page.update()

    def item_body(item: Any, box: ft.Container) -> ft.Control:
        entry = vm.entry(item.code)
        ans = entry.get("answer")
        ro = vm.read_only
        rows: list[ft.Control] = [
            ft.Text(f"{item.code}  {getattr(item.label, lang)}", size=15,
                    weight=ft.FontWeight.W_600)]
        if item.basis:
            rows.append(ft.Text(item.basis, size=11, color=ft.Colors.GREY_600))
        if item.answer in ("yes_no", "yes_no_na", "yes_no_exempt"):
            choices = {"yes_no": ("yes", "no"), "yes_no_na": ("yes", "no", "na"),
                       "yes_no_exempt": ("yes", "no", "exempt")}[item.answer]

            def choose(choice: str) -> Callable[[Any], None]:
                def handler(e: Any) -> None:
                    vm.answer(item.code, choice)
                    redraw(item, box)
                    app.refresh_chip()
                return handler

            buttons = []
            for c in choices:
                selected = ans == c
                bad = selected and item.good is not None and c in ("yes", "no") and c != item.good
                style = ft.ButtonStyle(
                    bgcolor=(ft.Colors.RED_600 if bad else ft.Colors.BLUE_700) if selected
                    else ft.Colors.GREY_200,
                    color=ft.Colors.WHITE if selected else ft.Colors.BLACK,
                    shape=ft.RoundedRectangleBorder(radius=8))
                buttons.append(hook(f"ans-{item.code}-{c}", ft.FilledButton(
                    ("✓ " if selected else "") + t(f"ans.{c}"), style=style, height=BIG,
                    disabled=ro, on_click=app.safe(choose(c))), expand=True,
                    selected=selected, button=True))
            rows.append(ft.Row(buttons, spacing=6))
        elif item.answer == "number":
            kept = vm.invalid.get(item.code)
            num = ft.TextField(
                label=t("insp.number"),
                value=kept.text if kept else ("" if ans is None else str(ans)),
                error=err_text(kept.error) if kept else None, error_max_lines=3,
                keyboard_type=ft.KeyboardType.NUMBER, disabled=ro, text_size=18)

            def typed(e: Any) -> None:
                text = e.control.value or ""
                err = vm.stage(item.code, text)  # checked at once, shown under the field
                num.error = err_text(err) if err else None
                if err is None and text.strip():
                    debounced(item.code, lambda: vm.answer_number(item.code, text))
                else:
                    cancel_save(item.code)  # the bad text is never stored
                header()
                app.page.update()
            num.on_change = app.safe(typed)
            rows.append(hook(f"num-{item.code}", num))
        elif item.answer == "numbers":
            current = dict(ans) if isinstance(ans, dict) else {}
            kept = vm.invalid.get(item.code)
            texts = dict(kept.text) if kept else {
                p.key: "" if current.get(p.key) is None else str(current[p.key])
                for p in item.parts}
            boxes = {p.key: ft.TextField(
                label=getattr(p.label, lang), value=texts.get(p.key, ""), disabled=ro,
                keyboard_type=ft.KeyboardType.NUMBER, error_max_lines=3)
                for p in item.parts}

            def show_parts(err: Any) -> None:
                first = item.parts[0].key
                for key, box in boxes.items():
                    box.error = err_text(err) if err and (err.part or first) == key else None

            def typed_part(key: str) -> Callable[[Any], None]:
                def handler(e: Any) -> None:
                    texts[key] = e.control.value or ""
                    snapshot = dict(texts)
                    err = vm.stage(item.code, snapshot)
                    show_parts(err)
                    if err is None and all(v.strip() for v in snapshot.values()):
                        debounced(item.code, lambda: vm.answer_parts(item.code, snapshot))
                    else:
                        cancel_save(item.code)
                    header()
                    app.page.update()
                return handler

            show_parts(kept.error if kept else None)
            for key, box in boxes.items():
                box.on_change = app.safe(typed_part(key))
            rows.append(ft.Row([hook(f"num-{item.code}-{p.key}", boxes[p.key], expand=True)
                                for p in item.parts], spacing=6,
                               vertical_alignment=ft.CrossAxisAlignment.START))
        else:  # text
            def typed_text(e: Any) -> None:
                text = no_emoji(e.control)
                if text:
                    debounced(item.code, lambda: vm.answer(item.code, text))
            rows.append(hook(f"txt-{item.code}", ft.TextField(
                label=t("insp.text"), value=ans or "", multiline=True, min_lines=2,
                max_length=TEXT_MAX, on_change=app.safe(typed_text), disabled=ro)))
        if item.value is not None:
            vkey = f"{item.code}.value"
            kept_value = vm.invalid.get(vkey)
            value = entry.get("value")
            val_box = ft.TextField(
                label=getattr(item.value.label, lang)
                + (" (YYYY-MM-DD)" if item.value.type == "date" else
                   " (YYYY-MM)" if item.value.type == "month" else ""),
                value=kept_value.text if kept_value else ("" if value is None else str(value)),
                error=err_text(kept_value.error) if kept_value else None,
                dense=True, disabled=ro, max_length=TEXT_MAX if item.value.type == "text"
                else None,
                keyboard_type=ft.KeyboardType.NUMBER if item.value.type == "number" else None)

            def saved_value(text: str) -> Callable[[], None]:
                def save() -> None:
                    err = vm.set_value(item.code, text)
                    val_box.error = err_text(err) if err else None
                return save

            def typed_value(e: Any) -> None:
                debounced(vkey, saved_value(e.control.value or ""))
            val_box.on_change = app.safe(typed_value)
            value_row: list[ft.Control] = [hook(f"val-{item.code}", val_box, expand=True)]
            if item.value.type == "date" and not ro:
                value_row.append(date_button(app, lambda d: (
                    setattr(val_box, "value", d), saved_value(d)(), redraw(item, box))))
            rows.append(ft.Row(value_row, spacing=4,
                               vertical_alignment=ft.CrossAxisAlignment.START))
        note = ft.TextField(label=t("insp.note"), value=entry.get("note") or "", dense=True,
                            visible=bool(entry.get("note")), disabled=ro,
                            max_length=TEXT_MAX,
                            on_change=app.safe(lambda e: debounced(
                                f"{item.code}.note",
                                (lambda text: lambda: vm.set_note(item.code, text))(
                                    no_emoji(e.control)))))

        def show_note(e: Any) -> None:
            note.visible = not note.visible
            app.page.update()

        if vm.failed(item.code) and not ro:
            # a failed answer asks for the evidence: a note and/or a photo
            note.visible = True
            rows.append(hook(f"failed-{item.code}", ft.Text(
                t("insp.failed_hint"), size=12, color=ft.Colors.RED_700)))
        rows.append(note)
        tools: list[ft.Control] = [ft.TextButton(t("insp.add_note"), icon=ft.Icons.NOTES,
                                                 on_click=app.safe(show_note), disabled=ro,
                                                 height=SECONDARY)]
        if vm.arrears_reported(item.code) and not ro:
            tools.append(hook(f"arrears-{item.code}", ft.OutlinedButton(
                t("insp.arrears_lead"), icon=ft.Icons.REPORT, height=SECONDARY,
                on_click=app.nav(f"/site/{vm.record.get('site_id')}/case"))))
        if item.photo != "none":
            photos = vm.photos(item.code)
            thumbs = []
            for n, p in enumerate(photos, start=1):
                path = vm.photo_file(p)
                if path is not None:
                    thumbs.append(hook(f"photo-thumb-{item.code}-{n}", ft.Container(
                        ft.Image(src=path.read_bytes(), width=64, height=64,
                                 fit=ft.BoxFit.COVER, border_radius=6),
                        on_click=app.safe(open_photo(item, box, p, n)), ink=True,
                        border_radius=6), button=True,
                        label=t("photo.open", code=item.code, n=n)))
            need = item.photo == "required" and ans != "na" and not photos
            hint = getattr(item.photo_hint, lang) if item.photo_hint else ""
            rows.append(ft.Text(
                (t("insp.photo_required") if item.photo == "required" else t("insp.photo_optional"))
                + (f": {hint}" if hint else "") + f" ({len(photos)})", size=12,
                color=ft.Colors.RED_700 if need else ft.Colors.GREY_700))
            if thumbs:
                rows.append(ft.Row(thumbs, spacing=6, scroll=ft.ScrollMode.AUTO))

            async def from_files(e: Any) -> None:
                if app.files is None:
                    raise UiError("no_camera", "no file picker")
                picked = await app.files.pick()
                if picked is None:
                    return
                vm.add_photo(picked.content(), item.code, caption=hint or None)
                app.toast(t("insp.photo_added"))
                redraw(item, box)

            async def from_camera(e: Any) -> None:
                await camera_dialog(app, lambda data: (vm.add_photo(data, item.code,
                                                                    caption=hint or None),
                                                       redraw(item, box)))

            tools += [
                hook(f"photo-cam-{item.code}", ft.TextButton(
                    t("insp.camera"), icon=ft.Icons.PHOTO_CAMERA, disabled=ro,
                    on_click=app.safe(from_camera), height=SECONDARY)),
                hook(f"photo-file-{item.code}", ft.TextButton(
                    t("insp.gallery"), icon=ft.Icons.PHOTO_LIBRARY, disabled=ro,
                    on_click=app.safe(from_files), height=SECONDARY)),
            ]
        rows.append(ft.Row(tools, spacing=0, wrap=True))
        return ft.Column(rows, spacing=6, horizontal_alignment=ft.CrossAxisAlignment.STRETCH)

    drawn = [0]  # draws so far: part of the item cards' scroll keys

    def open_photo(item: Any, box: ft.Container, photo: dict[str, Any],
                   n: int) -> Callable[[Any], Any]:
        """Tap a thumbnail: the photo full size from its file on this phone
        (offline), with 关闭; while the inspection is the author's draft also
        删除 (after a confirmation) and 重拍 / 从相册替换."""
        def handler(e: Any) -> None:
            path = vm.photo_file(photo)
            if path is None:
                raise UiError("not_here", t("photo.not_here"))
            pid = photo["id"]

            def done(text: str) -> None:
                app.page.pop_dialog()
                app.toast(text)
                redraw(item, box)
                app.refresh_chip()

            def confirm_delete(ev: Any) -> None:
                async def go(ev2: Any) -> None:
                    app.page.pop_dialog()  # the confirmation
                    vm.delete_photo(pid)
                    done(t("photo.deleted"))

                app.page.pop_dialog()  # the photo
                app.page.show_dialog(ft.AlertDialog(
                    title=ft.Text(t("photo.delete_title")),
                    content=ft.Text(t("photo.delete_confirm")),
                    actions=[ft.TextButton(t("cancel"), height=SECONDARY,
                                           on_click=lambda ev2: app.page.pop_dialog()),
                             hook("photo-delete-confirm", ft.FilledButton(
                                 t("photo.delete"), height=SECONDARY,
                                 style=ft.ButtonStyle(bgcolor=ft.Colors.RED_700),
                                 on_click=app.safe(go)))]))

            async def from_gallery(ev: Any) -> None:
                if app.files is None:
                    raise UiError("no_camera", "no file picker")
                picked = await app.files.pick()
                if picked is None:
                    return
                vm.replace_photo(pid, picked.content())
                done(t("photo.replaced"))

            async def from_camera(ev: Any) -> None:
                app.page.pop_dialog()
                await camera_dialog(app, lambda data: (vm.replace_photo(pid, data),
                                                       redraw(item, box)))

            actions: list[ft.Control] = []
            if vm.can_change_photos():
                actions += [
                    hook("photo-delete", ft.TextButton(
                        t("photo.delete"), icon=ft.Icons.DELETE, height=SECONDARY,
                        style=ft.ButtonStyle(color=ft.Colors.RED_700),
                        on_click=app.safe(confirm_delete))),
                    hook("photo-replace-camera", ft.TextButton(
                        t("photo.replace_camera"), icon=ft.Icons.PHOTO_CAMERA,
                        height=SECONDARY, on_click=app.safe(from_camera))),
                    hook("photo-replace-file", ft.TextButton(
                        t("photo.replace_gallery"), icon=ft.Icons.PHOTO_LIBRARY,
                        height=SECONDARY, on_click=app.safe(from_gallery))),
                ]
            actions.append(hook("photo-close", ft.FilledButton(
                t("photo.close"), height=SECONDARY,
                on_click=lambda ev: app.page.pop_dialog())))
            caption = photo.get("caption") or ""
            app.page.show_dialog(ft.AlertDialog(
                title=ft.Text(t("photo.title", code=item.code) + f" · {n}", size=16),
                content=hook("photo-full", ft.Column([
                    ft.Image(src=path.read_bytes(), width=340, height=440,
                             fit=ft.BoxFit.CONTAIN),
                    ft.Text(caption, size=12, color=ft.Colors.GREY_700, visible=bool(caption)),
                ], tight=True, spacing=6)),
                actions=actions, actions_overflow_button_spacing=4,
                inset_padding=ft.Padding.all(12)))
        return handler

    def no_emoji(control: Any) -> str:
        """The field's text without emoji (the phone's font cannot show them):
        removed from the field at once, with a word why."""
        clean, removed = strip_emoji(control.value or "")
        if removed:
            control.value = clean
            app.toast(t("emoji.removed"))
        return clean.strip()

    def draw() -> None:
        drawn[0] += 1
        step = vm.steps[vm.step]
        cards: list[ft.Control] = [ft.Text(step.label[lang], size=17, weight=ft.FontWeight.BOLD)]
        if any(i.headcount for i in step.items):
            cards.append(ft.Container(heads, padding=PAD, bgcolor=ft.Colors.AMBER_50,
                                      border_radius=8))
        if not vm.read_only:
            cards.append(rest_box)
        cards += [item_card(i) for i in step.items]
        step_box.controls = cards
        prev_btn.disabled = vm.step == 0
        next_btn.disabled = vm.step >= len(vm.steps) - 1
        header()

    def confirm_rest(e: Any) -> None:
        codes = vm.rest_compliant(vm.step)

        async def go(ev: Any) -> None:
            app.page.pop_dialog()
            vm.answer_rest_compliant(vm.step)
            draw()
            app.refresh_chip()
            app.page.update()

        app.page.show_dialog(ft.AlertDialog(
            title=ft.Text(t("insp.rest_compliant_title")),
            content=ft.Text(t("insp.rest_compliant_confirm", n=len(codes),
                              codes="、".join(codes))),
            actions=[ft.TextButton(t("cancel"), on_click=lambda ev: app.page.pop_dialog()),
                     hook("rest-compliant-confirm", ft.FilledButton(
                         t("insp.rest_compliant_ok"), on_click=app.safe(go)))]))

    rest_btn.on_click = app.safe(confirm_rest)

    async def to_top() -> None:
        scroller = view.controls[0] if view.controls else None
        if isinstance(scroller, ft.Column) and scroller.page is not None:
            await scroller.scroll_to(offset=0, duration=0)

    async def move(delta: int) -> None:
        await flush()
        vm.step = max(0, min(len(vm.steps) - 1, vm.step + delta))
        draw()
        app.page.update()
        await to_top()

    async def refresh_gps(e: Any) -> None:
        fix = await locate(app)
        if fix is None:
            app.toast(t("gps.unavailable"), error=True)
            return
        saved = vm.note_fix(fix.lat, fix.lon, fix.accuracy, app.fix_at)
        if saved:
            app.toast(t("gps.updated"))
        elif not vm.read_only:
            app.toast(t("gps.kept", acc=f"{fix.accuracy:.0f}" if fix.accuracy is not None
                        else "?", best=f"{vm.record.get('accuracy_m'):.0f}"))
        header()
        app.refresh_chip()
        app.page.update()

    async def locate_on_open() -> None:
        """The wizard looks for a fix as soon as it opens (a draft only)."""
        try:
            fix = await locate(app)
            if fix is not None and vm.note_fix(fix.lat, fix.lon, fix.accuracy, app.fix_at):
                header()
                app.refresh_chip()
                app.page.update()
        except Exception:  # noqa: BLE001 - background: the page may be gone
            pass

    async def reopen(e: Any) -> None:
        vm.reopen()
        app.toast(t("insp.reopened"))
        await app.rerender()

    def jump(code: str) -> Callable[[Any], Any]:
        async def handler(e: Any) -> None:
            app.page.pop_dialog()
            step = vm.step_of(code)
            if step is None:
                return
            vm.step = step
            draw()
            app.page.update()
            scroller = view.controls[0] if view.controls else None
            if isinstance(scroller, ft.Column) and scroller.page is not None:
                await scroller.scroll_to(scroll_key=f"item-{code}-{drawn[0]}", duration=0)
        return handler

    async def submit(e: Any) -> None:
        await flush()
        missing = vm.submit()
        if missing:
            lines = []
            for m in missing:
                item = vm.template.item(m["item_code"])
                label = getattr(item.label, lang) if item else ""
                lines.append(hook(f"missing-{m['item_code']}-{m['reason']}", ft.TextButton(
                    f"{m['item_code']} {label}: {t('reason.' + m['reason'])}",
                    on_click=app.safe(jump(m["item_code"])),
                    style=ft.ButtonStyle(alignment=ft.Alignment.CENTER_LEFT,
                                         padding=ft.Padding.symmetric(horizontal=4)),
                    height=44)))
            app.page.show_dialog(ft.AlertDialog(
                title=ft.Text(t("insp.missing_title", n=len(missing))),
                content=hook("inspection-missing", ft.Column(lines, tight=True,
                                                             scroll=ft.ScrollMode.AUTO,
                                                             height=360)),
                actions=[ft.TextButton(t("ok"), on_click=lambda ev: app.page.pop_dialog())]))
            return
        app.typed.pop(insp_id, None)
        app.toast(t("insp.submitted"))
        app.sync_soon()  # online: sent at once, not at the next timer tick
        await app.go(f"/site/{vm.record.get('site_id')}")

    def item_label(field: str) -> str:
        code = field.split(".")[-1]
        item = vm.template.item(code)
        return f"{code} {getattr(item.label, lang)}" if item else field

    def review_banner() -> list[ft.Control]:
        """The reviewer's word on the inspection itself; a returned one offers
        修改后重新提交 (a new revision of the same inspection)."""
        r = vm.record
        label = review_label(r, waiting(app.device, "inspection", vm.id))
        if vm.returned and (r.get("state") == "draft" or label == "review.rejected"):
            rows: list[ft.Control] = [ft.Text(
                t("insp.returned", comment=r.get("review_comment") or "—"), size=14,
                weight=ft.FontWeight.W_600, color=ft.Colors.RED_900)]
            if vm.can_reopen():
                rows.append(hook("inspection-reopen", ft.FilledButton(
                    t("insp.reopen"), icon=ft.Icons.EDIT, height=SECONDARY,
                    on_click=app.safe(reopen))))
            return [hook("inspection-review", ft.Container(
                ft.Column(rows, spacing=6), padding=PAD, bgcolor=ft.Colors.RED_50,
                border_radius=8))]
        if label:
            text = t("insp.review_state", state=t(label))
            if r.get("review_comment"):
                text += " · " + t("site.review_comment", comment=r["review_comment"])
            return [hook("inspection-review", ft.Text(text, size=13,
                                                      color=ft.Colors.GREY_800))]
        return []

    prev_btn = ft.OutlinedButton(t("prev"), on_click=app.safe(lambda e: move(-1)), height=BIG)
    next_btn = ft.OutlinedButton(t("next"), on_click=app.safe(lambda e: move(1)), height=BIG)
    submit_btn = hook("inspection-submit", ft.FilledButton(
        t("insp.submit"), icon=ft.Icons.SEND, on_click=app.safe(submit), height=BIG,
        disabled=vm.read_only), expand=True)
    draw()
    title = vm.template.title.zh if lang == "zh" else vm.template.title.en
    body = [
        ft.Text(vm.site.get("name") or "", size=17, weight=ft.FontWeight.BOLD),
        ft.Text(title, size=13, color=ft.Colors.GREY_700),
        ft.Row([progress], wrap=True),
        ft.Row([ft.Icon(ft.Icons.GPS_FIXED, size=16), hook("gps-status", gps),
                hook("gps-refresh", ft.TextButton(t("gps.refresh"), height=SECONDARY,
                                                  on_click=app.safe(refresh_gps),
                                                  disabled=vm.read_only))],
               wrap=True, spacing=4),
        *review_banner(),
        *replaced_banner(app, "inspection", insp_id, item_label),
        ft.Text(t("insp.read_only"), color=ft.Colors.RED_700,
                visible=vm.read_only and not vm.returned),
        steps_row,
        step_box,
    ]
    if not vm.read_only and app.locator is not None:
        app.page.run_task(locate_on_open)
    bottom = ft.Row([hook("wizard-prev", prev_btn), hook("wizard-next", next_btn), submit_btn],
                    spacing=6)
    view = page_view(app, f"/inspection/{insp_id}", t("insp.title"), body,
                     back=f"/site/{vm.record.get('site_id')}", bottom=bottom)
    return view


def _n(v: Any) -> str:
    return "—" if v is None else str(v)


async def camera_dialog(app: "FieldApp", on_photo: Callable[[bytes], Any]) -> None:
    """Preview the back camera in a dialog; "take" stores the picture."""
    t = app.t
    try:
        import flet_camera as fc
    except ImportError:
        raise UiError("no_camera", t("insp.no_camera")) from None
    cam = fc.Camera(width=320, height=320, preview_enabled=True)

    async def take(e: Any) -> None:
        data = await cam.take_picture()
        app.page.pop_dialog()
        on_photo(bytes(data))
        app.toast(t("insp.photo_added"))

    app.page.show_dialog(ft.AlertDialog(
        title=ft.Text(t("insp.camera")), content=ft.Container(cam, width=320, height=320),
        actions=[ft.TextButton(t("cancel"), on_click=lambda e: app.page.pop_dialog()),
                 hook("camera-take", ft.FilledButton(t("insp.take"), on_click=app.safe(take)))]))
    try:
        cams = await cam.get_available_cameras()
        if not cams:
            raise UiError("no_camera", t("insp.no_camera"))
        back = next((c for c in cams if "back" in str(getattr(c, "lens_direction", ""))),
                    cams[0])
        await cam.initialize(back, fc.ResolutionPreset.HIGH, enable_audio=False)
    except DeviceError:
        app.page.pop_dialog()
        raise
    except Exception:  # noqa: BLE001 - no camera: say so, suggest the gallery
        app.page.pop_dialog()
        raise UiError("no_camera", t("insp.no_camera")) from None


# --------------------------------------------------------------------------------------
# Cases


def case_intake_view(app: "FieldApp", site_id: str) -> ft.View:
    t = app.t
    site = app.device.get("site", site_id) or {}
    sector = "construction" if site.get("kind") == "construction" else "non_construction"
    fields: dict[str, ft.TextField] = {}

    def tf(name: str, **kw: Any) -> ft.Control:
        key = "case.title_field" if name == "title" else f"case.{name}"
        if name in CASE_TEXT_FIELDS:  # a counter with the server's limit (shared_schema.fields)
            kw.setdefault("max_length", text_limit("case", name))
        fields[name] = ft.TextField(label=t(key), **kw)
        return hook(f"case-{name}", fields[name])

    sector_btn = ft.SegmentedButton(
        selected=[sector], segments=[ft.Segment(value=s, label=ft.Text(t(f"sector.{s}")))
                                     for s in ("construction", "non_construction")])
    source = ft.Dropdown(label=t("case.source"), value="patrol", options=[
        ft.DropdownOption(key=s, text=t(f"source.{s}")) for s in CASE_SOURCES], dense=True)
    collective = ft.Switch(label=t("case.collective_risk"), value=False)
    number = ft.KeyboardType.NUMBER
    form = [
        tf("title"), tf("employer", value=employer_for(site)),
        tf("employer_address", value=site.get("address") or ""),
        ft.Text(t("case.sector"), size=13), sector_btn,
        ft.Row([ft.Container(tf("workers_owed", keyboard_type=number), expand=True),
                ft.Container(tf("amount_owed", keyboard_type=number), expand=True)]),
        ft.Row([ft.Container(tf("period_from", hint_text="2025-01"), expand=True),
                ft.Container(tf("period_to", hint_text="2025-03"), expand=True)]),
        tf("work_done", multiline=True), source, collective,
        tf("complainant_name"), tf("complainant_phone", keyboard_type=ft.KeyboardType.PHONE),
    ]

    async def submit(e: Any) -> None:
        removed = False
        for control in fields.values():
            control.value, gone = strip_emoji(control.value or "")
            removed = removed or gone
        if removed:
            app.toast(t("emoji.removed"))
        raw = {k: c.value for k, c in fields.items()}
        raw["sector"] = (sector_btn.selected or [None])[0]
        raw["source"] = source.value
        raw["collective_risk"] = bool(collective.value) or None
        if site.get("village_id"):
            raw["village_id"] = site["village_id"]
        case_id, errors = open_case(app.device, site_id, raw)
        for name, control in fields.items():
            control.error = t(errors[name]) if name in errors else None
        if errors:
            app.toast(t("case.fix_errors"), error=True)
            app.page.update()
            return
        app.toast(t("case.saved"))
        await app.go(f"/case/{case_id}")

    body = [ft.Text(site.get("name") or "", size=17, weight=ft.FontWeight.BOLD),
            ft.Text(t("case.intake_hint"), size=12, color=ft.Colors.GREY_700),
            *form,
            hook("case-submit", ft.FilledButton(t("case.submit"), icon=ft.Icons.SAVE,
                                                on_click=app.safe(submit), height=BIG))]
    return page_view(app, f"/site/{site_id}/case", t("case.new_title"), body,
                     back=f"/site/{site_id}")


EVENT_FIELDS = ("note", "amount_recovered", "workers_paid", "referral_target", "callback_note")


def cases_view(app: "FieldApp") -> ft.View:
    """案件: every case on this phone, open ones first, with the next deadline."""
    t = app.t
    tiles: list[ft.Control] = []
    for r in case_rows(app.device):
        sub = " · ".join(x for x in (r.site, money(r.amount) if r.amount is not None else "",
                                     fmt_time(r.opened_at)[:10]) if x)
        lines: list[ft.Control] = [
            ft.Text(r.title, size=15, weight=ft.FontWeight.W_600),
            ft.Text(sub, size=12, color=ft.Colors.GREY_700),
            ft.Row([badge(t(f"status.{r.status}"), ft.Colors.BLUE_700),
                    badge(t(f"level.{r.level}"), ft.Colors.TEAL_700)], spacing=6)]
        if r.deadline:
            lines.append(ft.Text(
                t(f"case.deadline_{r.deadline.kind}", due=r.deadline.due.isoformat()) + " · "
                + (t("case.overdue", days=-r.deadline.days_left) if r.deadline.overdue
                   else t("case.days_left", days=r.deadline.days_left)), size=12,
                color=ft.Colors.RED_700 if r.deadline.overdue else ft.Colors.GREEN_800))
        tiles.append(hook(f"case-row-{r.id}", ft.Container(
            ft.Column(lines, spacing=4), padding=PAD, bgcolor=ft.Colors.WHITE, border_radius=8,
            on_click=app.nav(f"/case/{r.id}"), ink=True)))
    body: list[ft.Control] = [hook("case-list", ft.Column(
        tiles or [ft.Text(t("cases.empty"), color=ft.Colors.GREY_700)], spacing=8,
        horizontal_alignment=ft.CrossAxisAlignment.STRETCH))]
    return page_view(app, "/cases", t("cases.title"), body)


def case_view(app: "FieldApp", case_id: str) -> ft.View:
    t = app.t
    vm = CaseVM(app.device, case_id)
    c = vm.case
    if not c:
        raise UiError("unknown_case", f"no case {case_id}")
    dl = vm.deadline()
    deadline: ft.Control = ft.Text(t("case.no_deadline"), size=13)
    if dl:
        deadline = ft.Text(
            t(f"case.deadline_{dl.kind}", due=dl.due.isoformat())
            + " · " + (t("case.overdue", days=-dl.days_left) if dl.overdue
                       else t("case.days_left", days=dl.days_left)),
            size=14, weight=ft.FontWeight.BOLD,
            color=ft.Colors.RED_700 if dl.overdue else ft.Colors.GREEN_800)
    info = [kv(t(f"case.{f}"), money(c.get(f)) if f == "amount_owed" and c.get(f) is not None
               else c.get(f)) for f in
            ("employer", "employer_address", "workers_owed", "amount_owed", "period_from",
             "period_to", "work_done")]
    info.append(kv(t("case.sector"), t(f"sector.{c['sector']}") if c.get("sector") else None))
    info.append(kv(t("case.source"), source_label(c.get("source"), t.lang)))
    timeline = [ft.Row([ft.Icon(ft.Icons.CIRCLE, size=10, color=ft.Colors.BLUE_700),
                        ft.Column([ft.Text(f"{fmt_time(c.get('opened_at') or c.get('created_at'))}"
                                           f" · {t('case.registered')}", size=13)],
                                  spacing=0, expand=True)])]
    for ev in vm.events:
        extra = " · ".join(str(ev[f]) for f in EVENT_FIELDS if ev.get(f) not in (None, ""))
        timeline.append(ft.Row([ft.Icon(ft.Icons.CIRCLE, size=10, color=ft.Colors.BLUE_700),
                                ft.Column([ft.Text(f"{fmt_time(ev.get('created_at'))} · "
                                                   f"{t('event.' + (ev.get('kind') or 'note'))}",
                                                   size=13),
                                           ft.Text(extra, size=12, color=ft.Colors.GREY_700,
                                                   visible=bool(extra))],
                                          spacing=0, expand=True)]))

    def action(kind: str) -> Callable[[Any], None]:
        def handler(e: Any) -> None:
            needs = {n for r in required_fields(kind) for n in r.split("|")}
            names = [f for f in EVENT_FIELDS if f in needs] or ["note"]
            inputs = {n: ft.TextField(label=t(f"event_field.{n}") + (" *" if n in needs else ""),
                                      multiline=n in ("note", "callback_note"),
                                      max_length=text_limit("case_event", n)
                                      if n in EVENT_TEXT_FIELDS else None)
                      for n in names}

            async def save(ev: Any) -> None:
                vm.add_event(kind, {n: c.value for n, c in inputs.items()})
                app.page.pop_dialog()
                app.toast(t("saved"))
                await app.rerender()

            app.page.show_dialog(ft.AlertDialog(
                title=ft.Text(t(f"event.{kind}")),
                content=ft.Column(list(inputs.values()), tight=True),
                actions=[ft.TextButton(t("cancel"), on_click=lambda ev: app.page.pop_dialog()),
                         hook("case-event-save", ft.FilledButton(t("save"),
                                                                 on_click=app.safe(save)))]))
        return handler

    allowed = vm.allowed()
    buttons = [hook(f"case-action-{k}", ft.OutlinedButton(t(f"event.{k}"),
                                                         on_click=app.safe(action(k))))
               for k in allowed]
    body = [
        ft.Text(c.get("title") or c.get("employer") or "", size=18, weight=ft.FontWeight.BOLD),
        ft.Row([badge(t("status." + (c.get("status") or "registered")), ft.Colors.BLUE_700),
                badge(t("level." + (c.get("level") or "village")), ft.Colors.TEAL_700)]),
        deadline,
        *replaced_banner(app, "case", case_id,
                         lambda f: t(f"case.{f}") if t.has(f"case.{f}") else f),
        section(t("case.actions"), ft.Row(buttons, wrap=True, spacing=6) if buttons
                else ft.Text(t("case.no_actions"), size=13)),
        section(t("case.timeline"), *timeline),
        section(t("case.details"), *info),
    ]
    back = f"/site/{c['site_id']}" if c.get("site_id") else "/sites"
    return page_view(app, f"/case/{case_id}", t("case.title"), body, back=back)


# --------------------------------------------------------------------------------------
# Sync


def sync_view(app: "FieldApp") -> ft.View:
    t = app.t
    st = app.device.status()
    records_bar = ft.ProgressBar(value=0, height=10)
    photos_bar = ft.ProgressBar(value=0, height=10)
    records_label = ft.Text("", size=12)
    photos_label = ft.Text("", size=12)
    summary = ft.Text("", size=14)
    counts = ft.Text("", size=14)
    problem = ft.Text("", size=14, weight=ft.FontWeight.BOLD, color=ft.Colors.RED_700)
    last_good = ft.Text("", size=13)
    problem_box = hook("sync-problem", problem)

    def queue_text() -> str:
        now = app.device.status()
        forms = queue_forms(app.device)
        text = t("sync.queue", forms=forms_text(t, forms)) if forms else t("sync.queue_empty")
        if now.quarantined:
            text += " · " + t("sync.refused", n=now.quarantined)
        return text
    receipt_box = ft.Column(spacing=4)

    def show_progress() -> None:
        s = app.sync.state
        records_bar.value = s.records_fraction
        photos_bar.value = s.bytes_fraction
        if not s.running:  # never an endless "working" bar once it is over
            done = 1.0 if s.report is not None and s.report.ok else 0.0
            records_bar.value = done if records_bar.value is None else records_bar.value
            photos_bar.value = done if photos_bar.value is None else photos_bar.value
            if s.report is not None and not s.report.ok:
                records_bar.value = photos_bar.value = 0.0
        if s.running and s.records_total:
            records_label.value = t("sync.records", done=s.records_done,
                                    total=s.records_total,
                                    phase=t(f"phase.{s.phase}") if s.phase else "")
        elif s.running:
            records_label.value = t(f"phase.{s.phase}") if s.phase else ""
        else:  # never "记录 0/?" once it is over
            records_label.value = t("sync.records_done") if s.report and s.report.ok else ""
        photos_label.value = t("sync.photos", done=_kb(s.bytes_done),
                               total=_kb(s.bytes_total)) if s.bytes_total else ""
        if s.report is not None:
            r = s.report
            text = t("sync.summary", pushed=r.pushed, pulled=r.pulled,
                     photos=r.photos_uploaded, rejected=r.rejected, conflicts=r.conflicts)
            summary.value = text
            summary.color = ft.Colors.GREEN_800 if r.ok else ft.Colors.GREY_800
        now = app.device.status()
        key = sync_problem(s.report) if s.report is not None else (
            "sync.offline" if now.last_sync_ok is False else None)
        problem.value = t(key) if key else ""
        problem_box.visible = bool(key)  # the hook, not its content (Semantics needs one)
        last_good.value = t("sync.last_good", when=fmt_time(now.last_good_sync_ms)
                            if now.last_good_sync_ms else t("sync.never"))
        counts.value = queue_text()
        try:
            app.page.update()
        except Exception:  # noqa: BLE001 - page may be gone
            pass

    async def sync_now(e: Any) -> None:
        report = await app.run_sync(show_progress)
        if report.login_required:
            app.toast(t("sync.login_required"), error=True)
            await app.go("/login")
            return
        app.toast(t("sync.done") if report.ok else t(sync_problem(report) or "sync.offline"),
                  error=not report.ok)
        await app.rerender()

    async def receipt(e: Any) -> None:
        r = await asyncio.to_thread(app.device.receipt)
        receipt_box.controls = [
            ft.Text(t("receipt.safe") if r.safe_to_wipe else t("receipt.not_safe"),
                    size=15, weight=ft.FontWeight.BOLD,
                    color=ft.Colors.GREEN_800 if r.safe_to_wipe else ft.Colors.RED_700),
            ft.Text(t("receipt.counts", acked=r.local_acknowledged, rejected=r.local_rejected,
                      pending=r.pending_mutations, photos=r.photos_uploaded,
                      missing=len(r.photos_not_on_server)), size=13),
            *[ft.Text(p, size=12, color=ft.Colors.RED_700) for p in r.problems]]
        app.page.update()

    def q_tile(q: Any) -> ft.Control:
        def retry(e: Any) -> None:
            inputs = {k: ft.TextField(label=k, value="" if v is None else str(v), dense=True)
                      for k, v in q.fields.items() if not isinstance(v, (dict, list))}

            async def go(ev: Any) -> None:
                changes = quarantine_changes(q.fields, {k: c.value or "" for k, c in
                                                        inputs.items()})
                app.device.retry_quarantined(q.id, **changes)
                app.page.pop_dialog()
                app.toast(t("quarantine.retried"))
                await app.rerender()

            app.page.show_dialog(ft.AlertDialog(
                title=ft.Text(t("quarantine.fix")),
                content=ft.Column([ft.Text(f"{q.code}: {t.error(q.code, q.message)}", size=13),
                                   *inputs.values()], tight=True, scroll=ft.ScrollMode.AUTO),
                actions=[ft.TextButton(t("cancel"), on_click=lambda ev: app.page.pop_dialog()),
                         ft.FilledButton(t("quarantine.retry"), on_click=app.safe(go))]))

        def discard(e: Any) -> None:
            async def go(ev: Any) -> None:
                app.device.discard_quarantined(q.id, confirm=True)
                app.page.pop_dialog()
                await app.rerender()

            app.page.show_dialog(ft.AlertDialog(
                title=ft.Text(t("quarantine.discard_title")),
                content=ft.Text(t("quarantine.discard_warning")),
                actions=[ft.TextButton(t("cancel"), on_click=lambda ev: app.page.pop_dialog()),
                         ft.FilledButton(t("quarantine.discard"), on_click=app.safe(go))]))

        what = t(f"entity.{q.entity}") if q.entity else t("entity.photo")
        return ft.Container(ft.Column([
            ft.Text(f"{what} · {q.code}", size=14, weight=ft.FontWeight.W_600),
            ft.Text(t.error(q.code, q.message), size=12),
            ft.Row([ft.TextButton(t("quarantine.fix"), on_click=app.safe(retry)),
                    ft.TextButton(t("quarantine.discard"), on_click=app.safe(discard))])],
            spacing=2), padding=ft.Padding.all(8), bgcolor=ft.Colors.ORANGE_50, border_radius=6)

    quarantine = app.device.quarantine()
    body = [
        section(t("sync.title"), hook("sync-queue", counts), problem_box,
                hook("sync-last-good", last_good),
                ft.Text(t("sync.server", url=st.server_url or "—"), size=12,
                        color=ft.Colors.GREY_700),
                hook("sync-now", ft.FilledButton(t("sync.now"), icon=ft.Icons.SYNC,
                                                 on_click=app.safe(sync_now), height=BIG)),
                records_label, records_bar, photos_label, photos_bar,
                hook("sync-summary", summary)),
        section(t("quarantine.title", n=len(quarantine)),
                *([q_tile(q) for q in quarantine] or [ft.Text(t("quarantine.empty"), size=13)])),
        section(t("receipt.title"), ft.OutlinedButton(t("receipt.check"),
                                                      on_click=app.safe(receipt)), receipt_box),
    ]
    view = page_view(app, "/sync", t("nav.sync"), body)
    show_progress()  # fills labels (the update inside is harmless before mounting)
    return view


def _kb(n: int) -> str:
    return f"{n / 1024:.0f} KB"


# --------------------------------------------------------------------------------------
# Settings


def logout_handler(app: "FieldApp") -> Callable[[Any], Awaitable[None]]:
    """Log out (field and office screens alike): at once when nothing is left
    on the phone, else only after a warning naming what has not reached the
    server (``sign_out`` in the view-models decides)."""
    t = app.t

    async def logout(e: Any) -> None:
        check = sign_out(app.device, confirmed=False)
        if check.allowed:
            await app.go("/login")
            return

        async def confirm(ev: Any) -> None:
            sign_out(app.device, confirmed=True)
            app.page.pop_dialog()
            await app.go("/login")

        app.page.show_dialog(ft.AlertDialog(
            title=ft.Text(t("logout.warning_title")),
            content=ft.Text(t("logout.warning", n=check.pending)),
            actions=[ft.TextButton(t("cancel"), on_click=lambda ev: app.page.pop_dialog()),
                     hook("logout-confirm", ft.FilledButton(
                         t("logout.anyway"), on_click=app.safe(confirm),
                         style=ft.ButtonStyle(bgcolor=ft.Colors.RED_700)))]))

    return logout


def settings_view(app: "FieldApp") -> ft.View:
    t = app.t
    st = app.device.status()

    async def lang(e: Any) -> None:
        app.set_language(e.control.selected[0])
        await app.rerender()

    def photo_size(e: Any) -> None:
        app.prefs.photo_max_px = int(e.control.selected[0])
        app.save_prefs()
        app.apply_photo_size()
        app.toast(t("saved"))

    def server(e: Any) -> None:
        app.prefs.server_url = (e.control.value or "").strip()
        app.save_prefs()
        app.toast(t("settings.server_saved"))

    def auto(e: Any) -> None:
        app.prefs.auto_sync = bool(e.control.value)
        app.save_prefs()

    logout = logout_handler(app)

    body = [
        section(t("settings.language"), hook("settings-language", ft.SegmentedButton(
            selected=[t.lang], on_change=app.safe(lang),
            segments=[ft.Segment(value="zh", label=ft.Text("中文")),
                      ft.Segment(value="en", label=ft.Text("English"))]))),
        section(t("settings.account"),
                kv(t("settings.user"), st.username), kv(t("settings.role"),
                                                        t(f"role.{st.role}") if st.role else None),
                kv(t("settings.login_state"), t(f"login_state.{st.login_state}")),
                kv(t("settings.device"), st.device_id[:13]),
                kv(t("settings.data_dir"), st.data_dir),
                hook("logout", ft.OutlinedButton(t("settings.logout"), icon=ft.Icons.LOGOUT,
                                                 on_click=app.safe(logout)))),
        section(t("settings.server"), ft.TextField(
            label=t("login.server"), value=app.prefs.server_url or st.server_url or "",
            on_blur=app.safe(server), on_submit=app.safe(server), dense=True),
                ft.Switch(label=t("settings.auto_sync"), value=app.prefs.auto_sync,
                          on_change=app.safe(auto))),
        section(t("settings.photo_size"), ft.SegmentedButton(
            selected=[str(app.prefs.photo_max_px)], on_change=app.safe(photo_size),
            segments=[ft.Segment(value=str(p), label=ft.Text(f"{p}px")) for p in PHOTO_SIZES])),
    ]
    return page_view(app, "/settings", t("nav.settings"), body)


__all__ = ["login_view", "sites_view", "site_view", "inspection_view", "case_intake_view",
           "case_view", "cases_view", "sync_view", "settings_view"]
