"""The console's login: server, username, password (the same hooks as the
field app's: ``login-server``, ``login-username``, ``login-password``,
``login-submit``). Online only: the token lives in the console's session."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import flet as ft

from field_app.core.errors import DeviceError, NetworkError

from ...kit.widgets import BIG, hook

if TYPE_CHECKING:
    from ..shell import OfficeApp


def login_view(app: "OfficeApp") -> ft.View:
    t = app.t
    server = ft.TextField(label=t("login.server"), value=app.prefs.server_url or "",
                          keyboard_type=ft.KeyboardType.URL)
    user = ft.TextField(label=t("login.username"),
                        value=app.session.user.username if app.session.user else "")
    password = ft.TextField(label=t("login.password"), password=True, can_reveal_password=True)
    message = ft.Text("", color=ft.Colors.RED_700)
    busy = ft.ProgressRing(visible=False, width=24, height=24)

    async def submit(e: Any) -> None:
        fields = {"server_url": server, "username": user, "password": password}
        missing = {k for k, c in fields.items() if not (c.value or "").strip()}
        for name, control in fields.items():
            control.error = t("err.required") if name in missing else None
        if missing:
            app.page.update()
            return
        busy.visible, message.value = True, t("login.working")
        app.page.update()
        try:
            await asyncio.to_thread(app.session.login, server.value or "",
                                    (user.value or "").strip(), password.value or "")
        except NetworkError:
            message.value = t("login.unreachable")
            return
        except DeviceError as exc:
            message.value = t.error(exc.code, exc.message)
            return
        finally:
            busy.visible = False
            app.page.update()
        app.prefs.server_url = (server.value or "").strip()
        app.save_prefs()
        await app.go("/office/review")

    async def lang(e: Any) -> None:
        app.set_language("en" if app.t.lang == "zh" else "zh")
        await app.rerender()

    card = ft.Container(ft.Column([
        ft.Text(t("office.title"), size=26, weight=ft.FontWeight.BOLD, color=ft.Colors.BLUE_800),
        ft.Text(t("office.login.subtitle"), size=14, color=ft.Colors.GREY_700),
        hook("login-server", server),
        hook("login-username", user),
        hook("login-password", password),
        ft.Row([hook("login-submit", ft.FilledButton(
            t("login.submit"), on_click=app.safe(submit), height=BIG, expand=True),
            expand=True), busy]),
        message,
        ft.TextButton(t("lang.switch"), on_click=app.safe(lang)),
    ], spacing=12, horizontal_alignment=ft.CrossAxisAlignment.STRETCH),
        padding=ft.Padding.all(20), bgcolor=ft.Colors.WHITE, border_radius=12, width=480)
    return ft.View(route="/login", controls=[ft.Row([card], alignment=ft.MainAxisAlignment.CENTER)],
                   bgcolor=ft.Colors.GREY_100, padding=ft.Padding.all(24),
                   scroll=ft.ScrollMode.AUTO)
