"""The office console (劳保所 and leaders), online against the server's office
API (docs/office-api.md "Office screens"). Views only bind: the logic is in
``office_viewmodels``; every call goes through ``OfficeClient`` in a worker
thread, and every handler is wrapped by ``app.safe`` (errors → snackbar).
Stable test hooks: office-review-list, office-approve, office-conflicts,
office-resolve-winner, office-cases, office-dashboard, office-export."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import flet as ft

from shared_schema.cases import LEVELS, STATUSES, TRANSITIONS

from . import office_viewmodels as vm
from .office_api import OfficeClient
from .views import PAD, badge, fmt_time, hook, kv, section

if TYPE_CHECKING:
    from .app import FieldApp

OFFICE_TABS = ("/office/review", "/office/conflicts", "/office/cases", "/office/dashboard",
               "/office/export")
SITE_KINDS = ("construction", "factory", "logistics", "other")
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


def resolve(parts: list[str]) -> tuple[Callable[..., ft.View], list[str]]:
    match parts:
        case ["office", "inspection", insp_id]:
            return inspection_view, [insp_id]
        case ["office", "conflicts"]:
            return conflicts_view, []
        case ["office", "cases"]:
            return cases_view, []
        case ["office", "case", case_id]:
            return case_view, [case_id]
        case ["office", "dashboard"]:
            return dashboard_view, []
        case ["office", "export"]:
            return export_view, []
    return review_view, []


async def call(app: "FieldApp", method: str, *args: Any, **kw: Any) -> Any:
    """One office API call in a worker thread (httpx is blocking)."""
    def run() -> Any:
        client = OfficeClient.for_device(app.device)
        try:
            return getattr(client, method)(*args, **kw)
        finally:
            client.close()

    return await asyncio.to_thread(run)


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

    bar = ft.AppBar(
        title=ft.Text(f"{t('office.title')} · {title}", size=18),
        leading=ft.IconButton(ft.Icons.ARROW_BACK, on_click=app.nav(back),
                              tooltip=t("back")) if back else None,
        automatically_imply_leading=False, bgcolor=ft.Colors.BLUE_800, color=ft.Colors.WHITE,
        actions=[ft.Text(f"{st.username} · {st.role}", size=13),
                 ft.TextButton(t("lang.switch"), on_click=app.safe(lang),
                               style=ft.ButtonStyle(color=ft.Colors.WHITE)),
                 ft.Container(width=8)])
    tab = route if route in OFFICE_TABS else {
        "inspection": OFFICE_TABS[0], "case": OFFICE_TABS[2]}.get(route.split("/")[2],
                                                                  OFFICE_TABS[0])
    nav = ft.NavigationBar(
        selected_index=OFFICE_TABS.index(tab), on_change=app.safe(changed),
        destinations=[
            ft.NavigationBarDestination(icon=ft.Icons.FACT_CHECK, label=t("office.nav.review")),
            ft.NavigationBarDestination(icon=ft.Icons.CALL_SPLIT,
                                        label=t("office.nav.conflicts")),
            ft.NavigationBarDestination(icon=ft.Icons.GAVEL, label=t("office.nav.cases")),
            ft.NavigationBarDestination(icon=ft.Icons.BAR_CHART,
                                        label=t("office.nav.dashboard")),
            ft.NavigationBarDestination(icon=ft.Icons.DOWNLOAD, label=t("office.nav.export")),
        ])
    content = ft.Column(body, spacing=10, scroll=ft.ScrollMode.AUTO, expand=True,
                        horizontal_alignment=ft.CrossAxisAlignment.STRETCH)
    return ft.View(route=route, controls=[content], appbar=bar, navigation_bar=nav,
                   bgcolor=ft.Colors.GREY_100, padding=ft.Padding.all(12))


def loading(app: "FieldApp") -> ft.Control:
    return ft.Row([ft.ProgressRing(width=20, height=20), ft.Text(app.t("office.loading"))])


def later(app: "FieldApp", box: ft.Column, build: Callable[[], Any]) -> None:
    """Fill ``box`` once the office API answers (errors → snackbar)."""

    async def run() -> None:
        controls = await build()
        box.controls = controls
        app.page.update()

    app.page.run_task(app.safe(run))


def dropdown(label: str, value: str | None, options: list[tuple[str, str]], app: "FieldApp",
             on_pick: Callable[[str | None], Any]) -> ft.Dropdown:
    async def picked(e: Any) -> None:
        result = on_pick(e.control.value or None)
        if asyncio.iscoroutine(result):
            await result

    return ft.Dropdown(label=label, value=value or "", dense=True, width=220,
                       options=[ft.DropdownOption(key="", text=app.t("filter.all"))]
                       + [ft.DropdownOption(key=k, text=v) for k, v in options],
                       on_select=app.safe(picked))


# --------------------------------------------------------------------------------------
# Review queue


def review_view(app: "FieldApp") -> ft.View:
    t = app.t
    state: vm.ReviewQueueVM = getattr(app, "office_review", None) or vm.ReviewQueueVM()
    app.office_review = state
    villages = {v["id"]: v.get("name") or v["id"] for v in app.device.villages()}
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
            await app.rerender()
        return pick

    filters = ft.Row([
        dropdown(t("office.review.state"), state.filters.review_state,
                 [(s, t(f"review.{s}")) for s in vm.REVIEW_STATES], app, refilter("review_state")),
        dropdown(t("office.review.village"), state.filters.village, sorted(villages.items(),
                 key=lambda kv_: kv_[1]), app, refilter("village")),
        dropdown(t("office.review.kind"), state.filters.kind,
                 [(k, t(f"kind.{k}")) for k in SITE_KINDS], app, refilter("kind")),
        ft.IconButton(ft.Icons.REFRESH, tooltip=t("office.refresh"),
                      on_click=app.safe(lambda e: app.rerender())),
    ], wrap=True)
    later(app, box, build)
    return office_page(app, "/office/review", t("office.review.title"),
                       [filters, hook("office-review-list", box, container=True)])


def inspection_view(app: "FieldApp", insp_id: str) -> ft.View:
    t = app.t
    box = ft.Column([loading(app)], spacing=10, horizontal_alignment=ft.CrossAxisAlignment.STRETCH)
    comment = ft.TextField(label=t("office.insp.comment"), multiline=True, min_lines=2)
    can_review = role(app) == "office"

    def enlarge(data: bytes) -> Callable[[Any], None]:
        def handler(e: Any) -> None:
            app.page.show_dialog(ft.AlertDialog(
                content=ft.Image(src=data, width=900, height=640, fit=ft.BoxFit.CONTAIN),
                actions=[ft.TextButton(t("ok"), on_click=lambda ev: app.page.pop_dialog())]))
        return handler

    def decide(decision: str) -> Callable[[Any], Any]:
        async def handler(e: Any) -> None:
            body = vm.review_body(decision, comment.value or "")
            answer = await call(app, "review", insp_id, body)
            reg = answer.get("registry") or {}
            note = t("office.insp.reviewed", state=t(f"review.{decision}"))
            if reg.get("updated"):
                note += " · " + t("office.insp.registry_updated")
            elif reg.get("reason") == "newer_facts":
                note += " · " + t("office.insp.registry_kept")
            app.toast(note)
            await app.go("/office/review")
        return handler

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
                       *[kv(t(f"six.{k}"), {True: t("yes"), False: t("no")}.get(v, "—"))
                         for k, v in (d.get("six_systems") or {}).items()])
        thumbs: list[ft.Control] = []
        for p in d.get("photos") or []:
            if not p.get("received"):
                thumbs.append(ft.Text(t("office.insp.photo_missing"), size=12))
                continue
            data = await call(app, "blob", p["sha256"])
            thumbs.append(ft.Container(ft.Column([
                ft.Image(src=data, width=140, height=100, fit=ft.BoxFit.COVER),
                ft.Text(p.get("item_code") or "", size=11)], spacing=2),
                on_click=enlarge(data), ink=True))
        photos = section(t("office.insp.photos"),
                         ft.Row(thumbs, wrap=True, spacing=8) if thumbs
                         else ft.Text(t("office.insp.no_photos")))
        rows = vm.side_by_side(d)
        table = ft.DataTable(
            columns=[ft.DataColumn(ft.Text(t("office.insp.item"))),
                     ft.DataColumn(ft.Text(t("office.insp.this"))),
                     ft.DataColumn(ft.Text(t("office.insp.previous")))],
            rows=[ft.DataRow(cells=[ft.DataCell(ft.Text(c)), ft.DataCell(ft.Text(a)),
                                    ft.DataCell(ft.Text(b))],
                             color=ft.Colors.AMBER_50 if changed else None)
                  for c, a, b, changed in rows], heading_row_height=36, data_row_min_height=30)
        answers = section(t("office.insp.answers"),
                          *([] if d.get("previous") else [ft.Text(t("office.insp.no_previous"),
                                                                  size=12)]), table)
        actions = section(t("office.insp.comment"), comment, ft.Row([
            hook("office-approve", ft.FilledButton(
                t("office.insp.approve"), icon=ft.Icons.CHECK, disabled=not can_review,
                on_click=app.safe(decide("approved")))),
            hook("office-has-issues", ft.OutlinedButton(
                t("office.insp.has_issues"), icon=ft.Icons.REPORT, disabled=not can_review,
                on_click=app.safe(decide("has_issues")))),
            hook("office-reject", ft.OutlinedButton(
                t("office.insp.reject"), icon=ft.Icons.UNDO, disabled=not can_review,
                on_click=app.safe(decide("rejected")))),
        ], wrap=True), *([] if can_review else [ft.Text(t("office.insp.leader_readonly"))]))
        return [head, actions, photos, answers]

    later(app, box, build)
    return office_page(app, f"/office/inspection/{insp_id}", t("office.insp.title"), [box],
                       back="/office/review")


# --------------------------------------------------------------------------------------
# Conflicts


def conflicts_view(app: "FieldApp") -> ft.View:
    t = app.t
    box = ft.Column([loading(app)], spacing=10, horizontal_alignment=ft.CrossAxisAlignment.STRETCH)
    can = role(app) == "office"

    def who(a: dict[str, Any], hlc: str | None) -> str:
        when = fmt_time(int(hlc.split(".")[0])) if hlc else "—"
        return t("office.conf.who", name=a.get("display_name") or a.get("username") or "—",
                 device=f"{a.get('device_name') or '—'} {(a.get('device_id') or '')[:8]}",
                 when=when)

    def card(n: int, c: dict[str, Any]) -> ft.Control:
        custom = ft.TextField(label=t("office.conf.custom"), dense=True, expand=True)

        def pick(choice: str) -> Callable[[Any], Any]:
            async def handler(e: Any) -> None:
                body = vm.resolve_body(c, choice, custom.value or "")
                await call(app, "resolve", c["id"], body)
                app.toast(t("office.conf.resolved"))
                await app.rerender()
            return handler

        def column(title: str, value: Any, sub: str, color: str) -> ft.Container:
            return ft.Container(ft.Column([
                ft.Text(title, size=12, color=ft.Colors.GREY_700),
                ft.Text(vm.show_value(value), size=15, weight=ft.FontWeight.BOLD),
                ft.Text(sub, size=11, color=ft.Colors.GREY_700)], spacing=2),
                padding=PAD, bgcolor=color, border_radius=6, expand=True)

        suffix = "" if n == 0 else f"-{n}"
        return section(
            f"{c.get('record_name') or c.get('entity_id')} · {c.get('entity')}.{c.get('field')}",
            ft.Row([
                column(t("office.conf.base"), c.get("base_value"), f"rev {c.get('base_rev')}",
                       ft.Colors.GREY_50),
                column(t("office.conf.winner"), c.get("winner_value"),
                       who(c.get("winner") or {}, c.get("winner_hlc")), ft.Colors.GREEN_50),
                column(t("office.conf.loser"), c.get("loser_value"),
                       who(c.get("loser") or {}, c.get("loser_hlc")), ft.Colors.ORANGE_50),
            ], vertical_alignment=ft.CrossAxisAlignment.START),
            ft.Row([
                hook(f"office-resolve-winner{suffix}", ft.FilledButton(
                    t("office.conf.pick_winner"), disabled=not can,
                    on_click=app.safe(pick("winner")))),
                hook(f"office-resolve-loser{suffix}", ft.OutlinedButton(
                    t("office.conf.pick_loser"), disabled=not can,
                    on_click=app.safe(pick("loser")))),
                custom,
                ft.OutlinedButton(t("office.conf.pick_custom"), disabled=not can,
                                  on_click=app.safe(pick("custom"))),
            ], wrap=False))

    async def build() -> list[ft.Control]:
        page = await call(app, "conflicts", "open")
        items = page["items"]
        if not items:
            return [ft.Text(t("office.conf.none"))]
        return [ft.Text(t("office.count", n=page["page"]["total"]), size=13)] + [
            card(n, c) for n, c in enumerate(items)]

    later(app, box, build)
    return office_page(app, "/office/conflicts", t("office.conf.title"),
                       [hook("office-conflicts", box, container=True)])


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


def cases_view(app: "FieldApp") -> ft.View:
    t = app.t
    filters: vm.CaseFilters = getattr(app, "office_cases", None) or vm.CaseFilters()
    app.office_cases = filters
    villages = {v["id"]: v.get("name") or v["id"] for v in app.device.villages()}
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
                       ft.DataCell(ft.Row(case_chips(t, c), spacing=4)),
                       ft.DataCell(ft.Text(f"{c.get('amount_owed') or 0:,.0f}")),
                       ft.DataCell(ft.Text(due_text(t, view),
                                           color=ft.Colors.RED_700 if late else None))]))
        table = ft.DataTable(columns=[
            ft.DataColumn(ft.Text(t("office.cases.case"))),
            ft.DataColumn(ft.Text(t("office.cases.village"))),
            ft.DataColumn(ft.Text(f"{t('office.cases.status')} / {t('office.cases.level')}")),
            ft.DataColumn(ft.Text(t("office.cases.amount")), numeric=True),
            ft.DataColumn(ft.Text(t("office.cases.due")))], rows=rows, show_checkbox_column=False,
            heading_row_color=ft.Colors.BLUE_50)
        return [ft.Text(t("office.count", n=page["page"]["total"]), size=13),
                ft.Container(table, bgcolor=ft.Colors.WHITE, border_radius=8)]

    def refilter(name: str) -> Callable[[str | None], Any]:
        async def pick(value: str | None) -> None:
            setattr(filters, name, value)
            await app.rerender()
        return pick

    async def overdue(e: Any) -> None:
        filters.overdue = not filters.overdue
        await app.rerender()

    bar = ft.Row([
        dropdown(t("office.cases.status"), filters.status, [(s, t(f"status.{s}")) for s in STATUSES],
                 app, refilter("status")),
        dropdown(t("office.cases.level"), filters.level, [(lv, t(f"level.{lv}")) for lv in LEVELS],
                 app, refilter("level")),
        dropdown(t("office.cases.village"), filters.village,
                 sorted(villages.items(), key=lambda kv_: kv_[1]), app, refilter("village")),
        ft.Chip(label=ft.Text(t("office.cases.overdue_only")), selected=filters.overdue,
                on_select=app.safe(overdue)),
    ], wrap=True)
    later(app, box, build)
    return office_page(app, "/office/cases", t("office.cases.title"),
                       [bar, hook("office-cases", box, container=True)])


def case_view(app: "FieldApp", case_id: str) -> ft.View:
    t = app.t
    box = ft.Column([loading(app)], spacing=10, horizontal_alignment=ft.CrossAxisAlignment.STRETCH)

    def event_form(kind: str) -> Callable[[Any], None]:
        def open_form(e: Any) -> None:
            fields = {name: ft.TextField(label=t(f"office.field.{name}"), dense=True)
                      for name in vm.event_fields(kind)}

            async def send(ev: Any) -> None:
                body = vm.event_body(kind, {k: f.value or "" for k, f in fields.items()})
                await call(app, "case_event", case_id, body)
                app.page.pop_dialog()
                app.toast(t("office.cases.done", event=t(f"event.{kind}")))
                await app.rerender()

            app.page.show_dialog(ft.AlertDialog(
                title=ft.Text(t(f"event.{kind}")),
                content=ft.Column(list(fields.values()), tight=True, width=420),
                actions=[ft.TextButton(t("cancel"), on_click=lambda ev: app.page.pop_dialog()),
                         hook("office-event-send", ft.FilledButton(t("save"),
                                                                   on_click=app.safe(send)))]))
        return open_form

    async def build() -> list[ft.Control]:
        d = await call(app, "case", case_id)
        c, dl = d["case"], d.get("deadlines") or {}
        head = section(c.get("title") or c.get("employer") or "—",
                       ft.Row(case_chips(t, c) + ([badge(t("office.cases.overdue"),
                                                         ft.Colors.RED_700)]
                                                  if dl.get("overdue") else [])),
                       kv(t("office.cases.village"), d.get("village_name")),
                       kv(t("office.cases.employer"), c.get("employer")),
                       kv(t("office.cases.source"), c.get("source")),
                       kv(t("office.cases.workers"), c.get("workers_owed")),
                       kv(t("office.cases.amount"), f"{c.get('amount_owed') or 0:,.2f}"),
                       kv(t("office.cases.recovered"), f"{c.get('amount_recovered') or 0:,.2f}"),
                       kv(t("office.cases.complainant"),
                          " ".join(str(c.get(k) or "") for k in ("complainant_name",
                                                                  "complainant_phone")).strip()),
                       kv(t("office.cases.due"), due_text(t, d)))
        allowed = d.get("allowed_events") or []
        buttons = [hook(f"office-event-{k}", ft.OutlinedButton(
            t(f"event.{k}"), on_click=app.safe(event_form(k)))) for k in allowed]
        actions = section(t("office.cases.actions"),
                          ft.Row(buttons, wrap=True) if buttons
                          else ft.Text(t("office.cases.no_actions")))
        timeline = section(t("office.cases.timeline"), *[
            ft.Row([ft.Icon(ft.Icons.CIRCLE, size=10, color=ft.Colors.BLUE_700),
                    ft.Column([ft.Text(f"{fmt_time(ev.get('created_at'))} · "
                                       f"{t('event.' + ev['kind']) if ev.get('kind') in TRANSITIONS else ev.get('label_zh')}",
                                       weight=ft.FontWeight.BOLD, size=13),
                               ft.Text(f"{ev.get('author_name') or '—'} ({ev.get('author_role') or '—'})"
                                       + (f" · {ev['fields'].get('note')}"
                                          if (ev.get('fields') or {}).get('note') else ""),
                                       size=12, color=ft.Colors.GREY_700)], spacing=1,
                              expand=True)], vertical_alignment=ft.CrossAxisAlignment.START)
            for ev in d.get("events") or []] or [ft.Text(t("office.empty"))])
        return [head, actions, timeline]

    later(app, box, build)
    return office_page(app, f"/office/case/{case_id}", t("office.cases.title"), [box],
                       back="/office/cases")


# --------------------------------------------------------------------------------------
# Dashboard


def bar_chart(groups: list[tuple[str, list[tuple[float, str]]]], max_y: float | None = None,
              stacked: bool = False, height: int = 240) -> ft.Control:
    """A flet-charts bar chart; ``groups`` = [(label, [(value, color), …])]."""
    import flet_charts as fch

    top = max_y or max([sum(v for v, _ in rods) if stacked else max((v for v, _ in rods),
                                                                     default=0)
                        for _, rods in groups] or [0]) or 1
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
            chart_rods = [fch.BarChartRod(from_y=0, to_y=v, color=color, width=14,
                                          border_radius=2) for v, color in rods]
        chart_groups.append(fch.BarChartGroup(x=x, rods=chart_rods))
    return ft.Container(fch.BarChart(
        groups=chart_groups, max_y=top * 1.15, interactive=True,
        bottom_axis=fch.ChartAxis(labels=[fch.ChartAxisLabel(value=x, label=ft.Text(
            label, size=10)) for x, (label, _) in enumerate(groups)], label_size=28),
        left_axis=fch.ChartAxis(label_size=40),
        horizontal_grid_lines=fch.ChartGridLines(color=ft.Colors.GREY_300, width=1)),
        height=height, padding=ft.Padding.only(top=12, right=12))


def legend(items: list[tuple[str, str]]) -> ft.Row:
    return ft.Row([ft.Row([ft.Container(width=12, height=12, bgcolor=c, border_radius=2),
                           ft.Text(label, size=12)], spacing=4, tight=True)
                   for label, c in items], wrap=True)


def pct(x: float | None) -> str:
    return "—" if x is None else f"{x * 100:.1f}%"


def dashboard_view(app: "FieldApp") -> ft.View:
    t = app.t
    box = ft.Column([loading(app)], spacing=10, horizontal_alignment=ft.CrossAxisAlignment.STRETCH)

    async def build() -> list[ft.Control]:
        month = vm.this_month()
        months = vm.months_back(month, 3)
        cases = (await call(app, "cases"))["items"]
        summaries = {m: await call(app, "summary", m) for m in months}
        now = summaries[month]
        totals = now.get("totals") or {}
        # cases by village and status (stacked)
        by_v = vm.cases_by_village_status(cases)
        statuses = [s for s in STATUSES if any(s in v for v in by_v.values())]
        colors = {s: SERIES[i % len(SERIES)] for i, s in enumerate(STATUSES)}
        c1 = section(t("office.dash.by_village"),
                     bar_chart([(v, [(float(cnt.get(s, 0)), colors[s]) for s in statuses])
                                for v, cnt in by_v.items()], stacked=True),
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
                     bar_chart([(t(f"six.{k}"), [((rates[g][k] or 0) * 100, kind_colors[g])
                                                  for g in kinds]) for k in vm.SIX_SYSTEMS],
                               max_y=100),
                     legend([(t(f"office.dash.{g}"), kind_colors[g]) for g in kinds]),
                     ft.Text(" · ".join(f"{t('six.' + k.removesuffix('_rate'))} {pct(totals.get(k))}"
                                        for k in vm.RATE_KEYS), size=12))
        # inspections per month vs plan
        ivp = vm.inspections_vs_plan(summaries)
        c4 = section(t("office.dash.inspections"),
                     bar_chart([(m, [(float(d), ft.Colors.TEAL_600), (float(p), ft.Colors.GREY_400)])
                                for m, (d, p) in ivp.items()]),
                     legend([(t("office.dash.done"), ft.Colors.TEAL_600),
                             (t("office.dash.plan"), ft.Colors.GREY_400)]))
        late = [c for c in cases if vm.is_overdue(c)]
        c5 = section(t("office.dash.overdue", n=len(late)), *[
            ft.Text(f"{v['case'].get('title') or v['case'].get('employer')} · "
                    f"{v.get('village_name') or '—'} · {due_text(t, v)}", color=ft.Colors.RED_700)
            for v in late] or [ft.Text(t("office.empty"))])
        head = ft.Text(t("office.dash.totals", opened=totals.get("cases_opened", 0),
                         owed=f"{totals.get('amount_owed') or 0:,.0f}",
                         recovered=f"{totals.get('amount_recovered') or 0:,.0f}",
                         rate=pct(totals.get("on_time_rate"))), size=14)
        return [head, ft.ResponsiveRow([ft.Container(c, col={"md": 6}) for c in (c1, c2, c3, c4)]),
                c5]

    later(app, box, build)
    return office_page(app, "/office/dashboard", t("office.dash.title"),
                       [hook("office-dashboard", box, container=True)])


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

    async def download(e: Any) -> None:
        m, data = await fetch()
        folder = export_dir(app)
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"治欠台账-{m}.xlsx"
        await asyncio.to_thread(path.write_bytes, data)
        last.update(month=m, data=data)
        saved.value = t("office.export.saved", path=str(path))
        app.page.update()

    async def to_browser(e: Any) -> None:
        if not last:
            await download(e)
        picker = ft.FilePicker()
        app._office_picker = picker  # keep the service alive
        await picker.save_file(file_name=f"治欠台账-{last['month']}.xlsx", src_bytes=last["data"])

    body = section(t("office.export.title"),
                   ft.Text(t("office.export.hint"), size=13, color=ft.Colors.GREY_700),
                   month,
                   ft.Row([hook("office-export", ft.FilledButton(
                       t("office.export.download"), icon=ft.Icons.DOWNLOAD,
                       on_click=app.safe(download))),
                       hook("office-export-browser", ft.OutlinedButton(
                           t("office.export.browser"), icon=ft.Icons.SAVE_ALT,
                           on_click=app.safe(to_browser)))], wrap=True),
                   hook("office-export-path", saved))
    return office_page(app, "/office/export", t("office.export.title"), [body])
