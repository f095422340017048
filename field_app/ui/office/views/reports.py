"""The dashboard's charts and overdue panel, the monthly workbook (统计看板, 报表导出)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import flet as ft

from shared_schema.calendar import CalendarCoverage
from shared_schema.cases import STATUSES

from ...kit.widgets import hook, section
from .. import viewmodels as vm
from .frame import (SERIES, busy,
                    later, loading, office_page, safe,
                    with_client)

if TYPE_CHECKING:
    from ..client import OfficeClient
    from ..shell import OfficeApp

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


def overdue_panel(app: "OfficeApp", panel: vm.OverduePanel) -> ft.Control:
    """Overdue and due-soon cases: the counts (in all and by village), the most
    overdue few (a tap opens the case) and 查看超期案件 (the ledger, overdue only).
    Hooks: office-dash-overdue, office-dash-overdue-N, office-dash-overdue-ledger."""
    t = app.t

    async def ledger(e: Any) -> None:  # the user's own tap
        app.state.cases = vm.CaseFilters(overdue=True)
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


def dashboard_view(app: "OfficeApp") -> ft.View:
    t = app.t
    box = ft.Column([loading(app)], spacing=10, horizontal_alignment=ft.CrossAxisAlignment.STRETCH)

    async def build() -> list[ft.Control]:
        month = vm.this_month()
        months = vm.months_back(month, 3)
        cases = (await with_client(app, lambda api: api.cases())).items
        panel = await with_client(app, vm.OverduePanel.load)
        summaries = {m: await with_client(app, lambda api, m=m: api.summary(m)) for m in months}
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
        coverage = await with_client(app, lambda api: api.calendar_coverage())
        return [*calendar_warning(app, coverage), head, overdue_panel(app, panel),
                ft.ResponsiveRow([ft.Container(c, col={"md": 6}) for c in (c1, c2, c3, c4)])]

    return later(app, office_page(app, "/office/dashboard", t("office.dash.title"),
                                  [hook("office-dashboard", box, container=True)]), box, build)


# --------------------------------------------------------------------------------------
# Exports


def export_view(app: "OfficeApp") -> ft.View:
    t = app.t
    month = ft.TextField(label=t("office.export.month"), value=vm.this_month(), width=220,
                         dense=True)
    saved = ft.Text("")
    last: dict[str, Any] = {}

    async def fetch() -> tuple[str, bytes]:
        m = (month.value or "").strip()
        if len(m) != 7 or m[4] != "-" or not (m[:4] + m[5:]).isdigit():
            raise vm.UiError("month_format", "YYYY-MM")
        return m, await with_client(app, lambda api: api.workbook(m))

    # the browser download is the main one; a copy in the app's folder is the extra
    browser_btn = ft.FilledButton(t("office.export.browser"), icon=ft.Icons.DOWNLOAD)
    download_btn = ft.OutlinedButton(t("office.export.download"), icon=ft.Icons.SAVE_ALT)

    async def save() -> None:
        m, data = await fetch()
        folder = Path(app.data_dir) / "exports"
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
        picker = app.files.picker if app.files is not None else ft.FilePicker()
        app.state.export_picker = picker  # keep the service alive
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


# --------------------------------------------------------------------------------------
# Printed documents (#17): one button on the inspection and case screens


#: (label key, file name, what fetches the PDF) of one printable document.
Document = tuple[str, str, Callable[["OfficeClient"], bytes]]


def calendar_warning(app: "OfficeApp", coverage: CalendarCoverage) -> list[ft.Control]:
    """A banner when the working-day calendar ends within a year (server time): due
    dates past its end are estimates until the admin adds the year."""
    if coverage.covered:
        return []
    text = app.t("office.calendar.warning", last=coverage.last_day or "—",
                 years="、".join(map(str, coverage.missing_years)))
    return [hook("office-calendar-warning", ft.Container(
        ft.Row([ft.Icon(ft.Icons.WARNING_AMBER, color=ft.Colors.AMBER_900),
                ft.Text(text, size=13, color=ft.Colors.AMBER_900, expand=True)]),
        bgcolor=ft.Colors.AMBER_50, padding=10, border_radius=6), container=True)]


def documents_button(app: "OfficeApp", documents: list[Document]) -> ft.Control:
    """打印文书: one document downloads at once (the browser's save dialog); several
    are offered in a dialog, one button each. The PDFs come from the server."""
    t = app.t
    button = ft.OutlinedButton(t("office.print.button"), icon=ft.Icons.PRINT)

    async def fetch_and_save(doc: Document) -> None:
        _, name, fetch = doc
        data = await busy(app, [button], with_client(app, fetch))
        picker = app.files.picker if app.files is not None else ft.FilePicker()
        app.state.export_picker = picker  # keep the service alive
        await picker.save_file(file_name=name, src_bytes=data)
        app.toast(t("office.export.started", name=name))

    def one(doc: Document) -> Callable[[Any], Any]:
        async def handler(e: Any) -> None:
            app.page.pop_dialog()
            await fetch_and_save(doc)
        return safe(app, handler)

    async def click(e: Any) -> None:
        if len(documents) == 1:
            await fetch_and_save(documents[0])
            return
        app.page.show_dialog(ft.AlertDialog(
            title=ft.Text(t("office.print.choose")),
            content=ft.Column([hook(f"office-print-{i}", ft.FilledButton(
                t(key), icon=ft.Icons.PICTURE_AS_PDF, on_click=one(doc)))
                for i, doc in enumerate(documents) for key in (doc[0],)], tight=True,
                spacing=8),
            actions=[ft.TextButton(t("cancel"), on_click=lambda ev: app.page.pop_dialog())]))

    button.on_click = safe(app, click)
    return hook("office-print", button)


def _file_part(text: str | None) -> str:
    """A name for a file the user saves: what the document is about, without the
    characters a file name cannot hold (never an internal id)."""
    cleaned = "".join("_" if ch in '\\/:*?"<>|' or ord(ch) < 32 else ch for ch in (text or ""))
    return cleaned.strip()[:40] or "文书"


def inspection_documents(insp_id: str, with_notice: bool, about: str) -> list[Document]:
    """The 检查记录, and the 限期整改通知书 when the inspection found problems;
    ``about`` names the files (the site and the day)."""
    part = _file_part(about)
    docs: list[Document] = [("office.print.record", f"检查记录-{part}.pdf",
                             lambda api: api.inspection_pdf(insp_id, "record"))]
    if with_notice:
        docs.append(("office.print.rectification", f"限期整改通知书-{part}.pdf",
                     lambda api: api.inspection_pdf(insp_id, "rectification")))
    return docs


def case_documents(case_id: str, about: str) -> list[Document]:
    """The 销号记录; ``about`` (the case's title) names the file."""
    return [("office.print.closure", f"销号记录-{_file_part(about)}.pdf",
             lambda api: api.closure_pdf(case_id))]
