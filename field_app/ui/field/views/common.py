"""What the field screens share: the page frame (bar, sync chip, tabs), the
banner of offline edits the server replaced, GPS and the date button."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import TYPE_CHECKING, Any, Callable

import flet as ft


from ...kit.widgets import PAD, SECONDARY, hook
from ..viewmodels import (
    replaced_edits,
)

if TYPE_CHECKING:
    from ..shell import FieldApp

TEXT_MAX = 200  # characters of a free-text answer, value or note (the counter shows it)


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


async def locate(app: "FieldApp") -> Any:
    """A fresh GPS fix within a few seconds, or None (recording never waits
    for GPS). The app remembers the last fix and its time (shown as stale
    later, never reused as a current one)."""
    if app.locator is None:
        return None
    try:
        fix = await asyncio.wait_for(app.locator.locate(), timeout=6)
    except Exception:  # no GPS is not an error
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
