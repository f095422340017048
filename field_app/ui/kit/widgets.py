"""Small widgets both apps draw: the stable test hook (``hook``), a time in
China's zone, a coloured badge, a titled section and a label/value row."""

from __future__ import annotations

import datetime as dt
from typing import Any

import flet as ft

from .rules import CHINA

BIG = 56  # touch target height (px)
SECONDARY = 44  # secondary buttons: never below 44 px
PAD = ft.Padding.all(12)


def hook(identifier: str, control: ft.Control, **kw: Any) -> ft.Semantics:
    """A stable test hook: ``[flt-semantics-identifier=…]`` in the browser."""
    return ft.Semantics(identifier=identifier, content=control, **kw)


def fmt_time(ms: int | None) -> str:
    if not ms:
        return "—"
    return dt.datetime.fromtimestamp(ms / 1000, CHINA).strftime("%Y-%m-%d %H:%M")


def badge(text: str, color: str) -> ft.Container:
    return ft.Container(ft.Text(text, size=12, color=ft.Colors.WHITE, weight=ft.FontWeight.BOLD),
                        bgcolor=color, border_radius=10,
                        padding=ft.Padding.symmetric(horizontal=8, vertical=2))


def section(title: str, *controls: ft.Control) -> ft.Container:
    return ft.Container(ft.Column([ft.Text(title, size=16, weight=ft.FontWeight.BOLD),
                                   *controls], spacing=6,
                                  horizontal_alignment=ft.CrossAxisAlignment.STRETCH),
                        padding=PAD, bgcolor=ft.Colors.WHITE, border_radius=8)


def kv(label: str, value: Any, selectable: bool = True) -> ft.Row:
    """A label and its value. The office passes ``selectable=False``: Flutter web
    leaves selectable text out of the accessibility tree, so a screen reader
    (and the browser tests) would not read it."""
    return ft.Row([ft.Text(label, size=13, color=ft.Colors.GREY_700, width=110),
                   ft.Text("—" if value in (None, "") else str(value), size=14, expand=True,
                           **({"selectable": True} if selectable else {}))],
                  vertical_alignment=ft.CrossAxisAlignment.START)
