"""Open conflicts, each with both values and who wrote them; keep one (数据冲突)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import flet as ft

from shared_schema.field_labels import entity_label
from shared_schema.office import Author, ConflictView

from ...kit.widgets import PAD, fmt_time, hook, section
from .. import viewmodels as vm
from .frame import (busy,
                    later, loading, office_page, refill, result_banner, safe,
                    with_client)

if TYPE_CHECKING:
    from ..shell import OfficeApp

# --------------------------------------------------------------------------------------
# Conflicts


def conflicts_view(app: "OfficeApp") -> ft.View:
    t = app.t
    box = ft.Column([loading(app)], spacing=10, horizontal_alignment=ft.CrossAxisAlignment.STRETCH)
    can = app.role == "office"
    done: dict[str, str] = {}
    names = app.session.villages

    def who(a: Author, hlc: str | None) -> str:
        return t("office.conf.who", name=a.display_name or a.username or "—",
                 device=f"{a.device_name or '—'} {(a.device_id or '')[:8]}",
                 when=fmt_time(vm.hlc_ms(hlc)))

    def card(n: int, c: ConflictView) -> ft.Control:
        def words(value: Any) -> str:
            return vm.value_words(c.entity, c.field, value, t, names)

        custom = ft.TextField(label=t("office.conf.custom"), dense=True, expand=True,
                              disabled=not can)
        buttons: list[ft.Control] = []

        def pick(choice: str) -> Callable[[Any], Any]:
            async def handler(e: Any) -> None:
                body = vm.resolve_body(c, choice, custom.value or "")
                res = await busy(app, buttons + [custom], with_client(app, lambda api: api.resolve(c.id, body)))
                done["note"] = t("office.conf.resolved_to", record=c.record_name or "",
                                 field=vm.field_name(c.entity, c.field, t),
                                 value=words((res.resolution or {}).get("value")))
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
        place = " · ".join(x for x in (c.village_name, c.site_name, c.address) if x)
        return section(
            t("office.conf.title_line",
              record=c.record_name or t("office.value.other_record"),
              entity=entity_label(c.entity, t.lang),
              field=vm.field_name(c.entity, c.field, t)),
            ft.Text(t("office.conf.where", place=place or "—"), size=12,
                    color=ft.Colors.GREY_700),
            ft.Row([
                column(t("office.conf.base"), c.base_value, t("office.conf.base_sub"),
                       ft.Colors.GREY_50),
                column(t("office.conf.winner"), c.winner_value,
                       who(c.winner, c.winner_hlc), ft.Colors.GREEN_50),
                column(t("office.conf.loser"), c.loser_value,
                       who(c.loser, c.loser_hlc), ft.Colors.ORANGE_50),
            ], vertical_alignment=ft.CrossAxisAlignment.START),
            ft.Row([
                hook(f"office-resolve-winner{suffix}", buttons[0]),
                hook(f"office-resolve-loser{suffix}", buttons[1]),
                custom, buttons[2],
            ], wrap=False))

    async def build() -> list[ft.Control]:
        page = await with_client(app, lambda api: api.conflicts("open"))
        items = page.items
        head: list[ft.Control] = [result_banner(done.get("note"))]
        if not items:
            return head + [hook("office-conflicts-none", ft.Text(t("office.conf.none")))]
        return head + [ft.Text(t("office.count", n=page.page.total), size=13)] + [
            card(n, c) for n, c in enumerate(items)]

    return later(app, office_page(app, "/office/conflicts", t("office.conf.title"),
                                  [hook("office-conflicts", box, container=True)]), box, build)
