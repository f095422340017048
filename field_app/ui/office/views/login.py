"""The console's login: server, username, password (the same hooks as the
field app's: ``login-server``, ``login-username``, ``login-password``,
``login-submit``). Online only: the token lives in the console's session."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import flet as ft

from field_app.core.errors import DeviceError, NetworkError

from ...kit.login import login_card, login_controls

if TYPE_CHECKING:
    from ..shell import OfficeApp


def login_view(app: "OfficeApp") -> ft.View:
    t = app.t
    c = login_controls(t, app.prefs.server_url or "",
                       app.session.user.username if app.session.user else "")
    server, user, password, message, busy = c.server, c.user, c.password, c.message, c.busy

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

    card = login_card(app, c, t("office.title"), t("office.login.subtitle"), submit, [],
                      width=480)
    return ft.View(route="/login", controls=[ft.Row([card], alignment=ft.MainAxisAlignment.CENTER)],
                   bgcolor=ft.Colors.GREY_100, padding=ft.Padding.all(24),
                   scroll=ft.ScrollMode.AUTO)
