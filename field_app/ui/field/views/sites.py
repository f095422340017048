"""My sites (the home screen) and one site: its facts, inspections, cases."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import flet as ft


from ...kit.widgets import BIG, PAD, badge, fmt_time, hook, kv, section
from ..viewmodels import (
    SITE_KINDS,
    current_user,
    money,
    review_label,
    waiting,
    site_detail,
)
from ..viewmodels.followup import risk_label_key, start_reinspection, task_rows
from .common import page_view, replaced_banner

if TYPE_CHECKING:
    from ..shell import FieldApp

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
    risk_key = risk_label_key(getattr(row, "risk_level", None))  # #17 warnings
    if risk_key:
        badges.append(badge(t(risk_key), ft.Colors.DEEP_ORANGE_800))
    if getattr(row, "overdue_tasks", 0):
        badges.append(badge(t("badge.reinspection_overdue", n=row.overdue_tasks),
                            ft.Colors.RED_900))
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
               "contact_name", "contact_phone", "industry",
               "credit_code", "legal_representative")  # #17: the enterprise header's facts
EDITABLE_SITE_FIELDS = ("address", "contractor", "contact_name", "contact_phone",
                        "credit_code", "legal_representative")
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

    tasks = task_rows(app.device, site_id)  # #17 warnings: 复查 tasks of this site

    def task_tile(n: int, task: Any) -> ft.Control:
        lines: list[ft.Control] = [
            ft.Text(t("site.task_row", items="、".join(task.items) or "—", due=task.due_date or "—"),
                    size=14, color=ft.Colors.RED_900 if task.overdue else None),
            ft.Text(t("site.task_overdue") if task.overdue else t(f"task_state.{task.state}"),
                    size=12, color=ft.Colors.RED_700 if task.overdue else ft.Colors.GREY_700)]
        if task.rectification:
            lines.append(ft.Text(task.rectification, size=12, color=ft.Colors.GREY_800))

        async def recheck(e: Any) -> None:
            await app.go(f"/inspection/{start_reinspection(app.device, task)}")
        lines.append(hook(f"task-recheck-{n}", ft.OutlinedButton(
            t("site.task_recheck"), icon=ft.Icons.FACT_CHECK, on_click=app.safe(recheck))))
        return hook(f"task-{n}", ft.Container(
            ft.Column(lines, spacing=4), padding=ft.Padding.all(8), border_radius=6,
            bgcolor=ft.Colors.RED_50 if task.overdue else ft.Colors.AMBER_50))

    risk_key = risk_label_key(s.get("risk_level"))
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
        hook("new-incident", ft.OutlinedButton(  # --- #17 incidents
            t("incident.new"), icon=ft.Icons.CAMPAIGN, on_click=app.nav(f"/site/{site_id}/incident"),
            height=BIG, style=ft.ButtonStyle(color=ft.Colors.RED_700))),
        ft.TextButton(t("site.edit"), icon=ft.Icons.EDIT, on_click=app.safe(edit_site)),
        *([hook("site-risk", badge(t(risk_key), ft.Colors.DEEP_ORANGE_800))] if risk_key else []),
        *([section(t("site.tasks", n=len(tasks)), *[task_tile(n, x) for n, x in enumerate(tasks)])]
          if tasks else []),
        section(t("site.six_systems"), *(six or [ft.Text(t("site.no_approved"), size=13)])),
        section(t("site.open_cases", n=len(d.open_cases)),
                *([case_tile(c) for c in d.all_cases] or [ft.Text(t("none"), size=13)])),
        section(t("site.inspections"),
                *([insp_tile(i) for i in d.inspections] or [ft.Text(t("none"), size=13)])),
        section(t("site.headcounts"), *(heads or [ft.Text(t("none"), size=13)])),
        section(t("site.registry"), *registry),
    ]
    return page_view(app, f"/site/{site_id}", t("site.title"), body, back="/sites")
