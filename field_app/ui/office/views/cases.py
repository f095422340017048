"""The case ledger with its filters and search, and the office intake form
(案件台账, 登记案件)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import flet as ft

from shared_schema.case_sources import source_label
from shared_schema.cases import LEVELS, STATUSES

from shared_schema.office import CaseDetail, CaseView

from ...kit.widgets import PAD, badge, hook, section
from .. import viewmodels as vm
from .frame import (LEVEL_COLORS, STATUS_COLORS, busy, refilterer, search_field,
                    dropdown, later, loading, office_page, refill, result_banner, safe,
                    with_client)

if TYPE_CHECKING:
    from ..shell import OfficeApp

# --------------------------------------------------------------------------------------
# Case ledger


def case_chips(t: Any, case: dict[str, Any]) -> list[ft.Control]:
    s, lv = case.get("status") or "registered", case.get("level") or "village"
    key = "investigating" if (s == "accepted" and case.get("investigation_records")
                              and not case.get("investigation_outcome")) else s
    return [badge(t(f"status.{key}"), STATUS_COLORS.get(s, ft.Colors.GREY_600)),
            badge(t(f"level.{lv}"), LEVEL_COLORS.get(lv, ft.Colors.GREY_600))]


def due_text(t: Any, view: CaseView | CaseDetail) -> str:
    d = view.deadlines
    due = d.conclude_due or d.accept_due or "—"
    if d.overdue:
        return f"{due} · {t('office.cases.overdue')}"
    if d.due_soon:
        return f"{due} · {t('office.cases.due_soon')}"
    return str(due)


def source_text(t: Any, source: str | None) -> str:
    """A stored source code as its label (old phones' codes too; never the code)."""
    return source_label(source, t.lang)


def cases_view(app: "OfficeApp") -> ft.View:
    t = app.t
    filters = app.state.cases
    villages = app.session.villages
    box = ft.Column([loading(app)], spacing=6)

    async def build() -> list[ft.Control]:
        page = await with_client(app, lambda api: api.cases(**filters.params()))
        rows = []
        for n, view in enumerate(page.items):
            c = view.case
            late = vm.is_overdue(view)
            rows.append(ft.DataRow(
                color=ft.Colors.RED_50 if late else None,
                cells=[ft.DataCell(hook(f"office-case-{n}", ft.Text(
                    c.get("title") or c.get("employer") or "—", width=260,
                    color=ft.Colors.RED_800 if late else ft.Colors.BLUE_800)),
                    on_tap=app.nav(f"/office/case/{c['id']}")),
                       ft.DataCell(ft.Text(view.village_name or "—")),
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
        return [ft.Text(t("office.count", n=page.page.total), size=13),
                ft.Container(table, bgcolor=ft.Colors.WHITE, border_radius=8)]

    refilter = refilterer(app, box, build, filters)

    async def overdue(e: Any) -> None:
        filters.overdue = not filters.overdue
        e.control.selected = filters.overdue
        await refill(app, box, build)

    search = search_field(app, t("office.cases.search"), box, build, filters, 380)
    bar = ft.Row([
        hook("office-cases-search", search),
        hook("office-cases-go", ft.IconButton(ft.Icons.SEARCH, tooltip=t("office.cases.search"),
                                              on_click=search.on_submit)),
        dropdown(t("office.cases.status"), filters.status, [(s, t(f"status.{s}")) for s in STATUSES],
                 app, refilter("status")),
        dropdown(t("office.cases.level"), filters.level, [(lv, t(f"level.{lv}")) for lv in LEVELS],
                 app, refilter("level")),
        dropdown(t("office.cases.village"), filters.village,
                 sorted(villages.items(), key=lambda kv_: kv_[1]), app, refilter("village")),
        ft.Chip(label=ft.Text(t("office.cases.overdue_only")), selected=filters.overdue,
                on_select=safe(app, overdue)),
        hook("office-intake-new", ft.FilledButton(
            t("office.intake.new"), icon=ft.Icons.ADD_CALL, disabled=app.role != "office",
            on_click=app.nav("/office/intake"))),
        hook("office-routing", ft.OutlinedButton(t("office.routing.title"), icon=ft.Icons.TUNE,
                                                 on_click=safe(app, routing_form(app)))),
    ], wrap=True)
    return later(app, office_page(app, "/office/cases", t("office.cases.title"),
                                  [bar, hook("office-cases", box, container=True)]), box, build)


def routing_form(app: "OfficeApp") -> Callable[[Any], Any]:
    """分办标准: the office's thresholds (小案件不出村，大案件不出镇), read by
    everyone in the console, changed by the labour office (audited)."""
    t = app.t

    async def open_form(e: Any) -> None:
        now = await with_client(app, lambda api: api.case_routing())
        office = app.role == "office"
        workers = ft.TextField(label=t("office.routing.workers"), value=str(now.workers),
                               dense=True, disabled=not office, width=200)
        amount = ft.TextField(label=t("office.routing.amount"), value=f"{now.amount:.0f}",
                              dense=True, disabled=not office, width=200)
        note = ft.Text(t("office.routing.default") if now.is_default else t(
            "office.routing.set_by", name=now.updated_by or "—"), size=12,
            color=ft.Colors.GREY_700)
        save = ft.FilledButton(t("save"), disabled=not office)

        async def send(ev: Any) -> None:
            workers.error = amount.error = None
            try:
                body = vm.routing_body(workers.value or "", amount.value or "")
            except vm.UiError as exc:
                where = amount if str(exc.details.get("path", "")).endswith("amount") else workers
                where.error = t.error(exc.code, "")
                app.page.update()
                return
            await busy(app, [save], with_client(app, lambda api: api.set_case_routing(body)))
            app.page.pop_dialog()
            app.toast(t("office.routing.saved"))

        save.on_click = safe(app, send)
        app.page.show_dialog(ft.AlertDialog(
            title=ft.Text(t("office.routing.title")),
            content=ft.Column([ft.Text(t("office.routing.hint"), size=12),
                               hook("office-routing-workers", workers),
                               hook("office-routing-amount", amount), note],
                              tight=True, width=420, spacing=8),
            actions=[ft.TextButton(t("cancel"), on_click=lambda ev: app.page.pop_dialog()),
                     hook("office-routing-save", save)]))
    return open_form


def intake_view(app: "OfficeApp") -> ft.View:
    """Office intake of a complaint that came by hotline (12333, 12345, the
    township's numbers), the national clue platform, a visit or a letter.
    The form lives on ``app`` (``IntakeForm``): a server refusal shows beside
    its field and nothing typed is lost, not even across a language switch."""
    t = app.t
    form = app.state.intake
    villages = sorted(app.session.villages.items(), key=lambda kv_: kv_[1])
    can = app.role == "office"
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
            c = form.created.case
            banner.controls.append(result_banner(t(
                "office.intake.done", title=c.get("title") or c.get("employer") or "",
                source=source_text(t, c.get("source")), level=t(f"level.{c.get('level')}"),
                due=form.created.deadlines.accept_due or "—")))
            banner.controls.append(hook("office-intake-open", ft.TextButton(
                t("office.intake.open"), icon=ft.Icons.OPEN_IN_NEW,
                on_click=app.nav(f"/office/case/{c['id']}"))))

    async def submit(e: Any) -> None:
        await busy(app, [submit_btn], with_client(app, form.submit))
        show()
        app.page.update()

    submit_btn.on_click = safe(app, submit)

    async def build() -> list[ft.Control]:
        sites = (await with_client(app, lambda api: api.sites())).items
        site_villages.update({s.site["id"]: s.site.get("village_id") for s in sites})
        return [site_choice([(s.site["id"], f"{s.site.get('name')} · {s.village_name or '—'}")
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
