"""The site registry, one site's registry facts and history, the audit log
(场所台账, 操作日志)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import flet as ft

from shared_schema.entities import SITE_KINDS

from shared_schema.field_labels import entity_label

from ...kit.widgets import fmt_time, hook, section
from .. import viewmodels as vm
from .frame import (dropdown, kv, later, loading, office_page, refill, refilterer, safe,
                    search_field,
                    with_client)

if TYPE_CHECKING:
    from ..shell import OfficeApp

# --------------------------------------------------------------------------------------
# Site registry


def yes_no(t: Any, value: bool | None) -> str:
    return {True: t("yes"), False: t("no")}.get(value, t("office.registry.unknown"))


def registry_view(app: "OfficeApp") -> ft.View:
    t = app.t
    state = app.state.registry
    villages = app.session.villages
    box = ft.Column([loading(app)], spacing=6)

    async def build() -> list[ft.Control]:
        await with_client(app, state.load)
        rows = []
        for n, item in enumerate(state.items):
            s = item.site
            yes, known = vm.six_score(s)
            hc = vm.headcounts(s)
            rows.append(ft.DataRow(cells=[
                ft.DataCell(hook(f"office-site-{n}", ft.Text(s.get("name") or "—", width=220,
                                                            color=ft.Colors.BLUE_800)),
                            on_tap=app.nav(f"/office/site/{s['id']}")),
                ft.DataCell(ft.Text(item.village_name or "—")),
                ft.DataCell(ft.Text(t(f"kind.{s.get('kind') or 'other'}"), size=12)),
                ft.DataCell(ft.Text(f"{yes}/{known}" if known else "—")),
                ft.DataCell(ft.Text(" / ".join("—" if hc[k] is None else str(hc[k])
                                               for k in ("on_site", "real_name", "contracts")))),
                ft.DataCell(ft.Text(fmt_time(s.get("last_inspected_at"))[:10])),
                ft.DataCell(ft.Text(str(item.open_cases),
                                    color=ft.Colors.RED_700 if item.open_cases else None)),
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

    refilter = refilterer(app, box, build, state.filters)
    search = search_field(app, t("office.registry.search"), box, build, state.filters, 260)
    bar = ft.Row([
        dropdown(t("office.review.village"), state.filters.village,
                 sorted(villages.items(), key=lambda kv_: kv_[1]), app, refilter("village")),
        dropdown(t("office.review.kind"), state.filters.kind,
                 [(k, t(f"kind.{k}")) for k in SITE_KINDS], app, refilter("kind")),
        hook("office-registry-search", search),
        hook("office-registry-go", ft.IconButton(ft.Icons.SEARCH, tooltip=t("office.refresh"),
                                                 on_click=search.on_submit)),
    ], wrap=True)
    return later(app, office_page(app, "/office/registry", t("office.registry.title"),
                                  [bar, hook("office-registry", box, container=True)]), box, build)


def site_view(app: "OfficeApp", site_id: str) -> ft.View:
    t = app.t
    state = vm.SiteDetailVM(site_id)
    villages = app.session.villages
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


def audit_view(app: "OfficeApp") -> ft.View:
    t = app.t
    state = app.state.audit
    villages = app.session.villages
    box = ft.Column([loading(app)], spacing=6)
    f = state.filters

    def action_text(action: str | None) -> str:
        return t(f"office.audit.action.{action}") if action in vm.AUDIT_ACTIONS else (action or "")

    async def build() -> list[ft.Control]:
        await with_client(app, state.load)
        rows = [ft.DataRow(cells=[
            ft.DataCell(hook(f"office-audit-row-{n}", ft.Text(fmt_time(r.at), size=12))),
            ft.DataCell(ft.Text(f"{r.username} · {t('role.' + r.role) if r.role else '—'}",
                                size=12)),
            ft.DataCell(ft.Text(action_text(r.action), size=12,
                                weight=ft.FontWeight.BOLD)),
            ft.DataCell(ft.Text(f"{entity_label(r.entity, t.lang)} "
                                f"…{r.entity_id[-6:]}", size=12)),
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
