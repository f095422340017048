"""The login form both apps draw: the same fields and the same test hooks
(``login-server``, ``login-username``, ``login-password``, ``login-submit``);
each app keeps its own submit (the field app logs its device in and syncs,
the console opens a session)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import flet as ft

from ..i18n import Translator
from .shell import Shell
from .widgets import BIG, hook


@dataclass
class LoginControls:
    server: ft.TextField
    user: ft.TextField
    password: ft.TextField
    message: ft.Text
    busy: ft.ProgressRing


def login_controls(t: Translator, server_url: str, username: str) -> LoginControls:
    return LoginControls(
        server=ft.TextField(label=t("login.server"), value=server_url,
                            keyboard_type=ft.KeyboardType.URL),
        user=ft.TextField(label=t("login.username"), value=username),
        password=ft.TextField(label=t("login.password"), password=True,
                              can_reveal_password=True),
        message=ft.Text("", color=ft.Colors.RED_700),
        busy=ft.ProgressRing(visible=False, width=24, height=24))


def login_card(app: Shell, c: LoginControls, title: str, subtitle: str,
               submit: Callable[..., Any], extra: list[ft.Control],
               width: int | None = None) -> ft.Container:
    """The white card: title, subtitle, the fields, submit, the message, then
    ``extra`` (the app's own hints and buttons) and the language switch."""
    t = app.t
    return ft.Container(ft.Column([
        ft.Text(title, size=26, weight=ft.FontWeight.BOLD, color=ft.Colors.BLUE_800),
        ft.Text(subtitle, size=14, color=ft.Colors.GREY_700),
        hook("login-server", c.server),
        hook("login-username", c.user),
        hook("login-password", c.password),
        ft.Row([hook("login-submit", ft.FilledButton(
            t("login.submit"), on_click=app.safe(submit), height=BIG, expand=True),
            expand=True), c.busy]),
        c.message,
        *extra,
        ft.TextButton(t("lang.switch"), on_click=app.safe(app.toggle_language)),
    ], spacing=12, horizontal_alignment=ft.CrossAxisAlignment.STRETCH),
        padding=ft.Padding.all(20), bgcolor=ft.Colors.WHITE, border_radius=12, width=width)
