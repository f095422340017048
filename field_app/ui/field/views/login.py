"""The field app's login (online once; the token is kept for offline work)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

import flet as ft

from field_app.core import NetworkError, ServerError

from ...kit.login import login_card, login_controls
from ...kit.widgets import BIG, hook
from ..viewmodels import (
    sync_problem,
    LoginForm,
)

from .settings import logout_handler

if TYPE_CHECKING:
    from ..shell import FieldApp

# --------------------------------------------------------------------------------------
# Login


def login_view(app: "FieldApp") -> ft.View:
    t = app.t
    st = app.device.status()
    form = LoginForm(server_url=app.prefs.server_url or st.server_url or "",
                     username=st.username or "")
    c = login_controls(t, form.server_url, form.username)
    server, user, password, message, busy = c.server, c.user, c.password, c.message, c.busy
    if st.login_state == "login_required":
        message.value = t("login.expired", reason=t.error(st.login_reason or "auth_required", ""))

    async def submit(e: Any) -> None:
        form.server_url, form.username = server.value or "", user.value or ""
        form.password = password.value or ""
        ok = form.validate()
        server.error = t(form.errors["server_url"]) if "server_url" in form.errors else None
        user.error = t(form.errors["username"]) if "username" in form.errors else None
        password.error = t(form.errors["password"]) if "password" in form.errors else None
        if not ok:
            app.page.update()
            return
        busy.visible, message.value = True, t("login.working")
        app.page.update()
        try:
            await asyncio.to_thread(app.device.login, form.server_url.strip(),
                                    form.username.strip(), form.password)
        except NetworkError:
            busy.visible = False
            message.value = t("login.unreachable")
            app.page.update()
            return
        except ServerError as exc:
            busy.visible = False
            message.value = t.error(exc.code, exc.message)
            app.page.update()
            return
        finally:
            busy.visible = False
        app.prefs.server_url = form.server_url.strip()
        app.save_prefs()
        message.value = t("login.first_sync")
        app.page.update()
        report = await app.run_sync()
        if not report.ok:
            app.toast(t(sync_problem(report) or "sync.offline"), error=True)
        await app.go("/sites")

    card = login_card(app, c, t("app.name"), t("login.subtitle"), submit, [
        ft.Text(t("login.offline_hint"), size=12, color=ft.Colors.GREY_600),
        ft.TextButton(t("login.continue_offline"), on_click=app.nav("/sites"),
                      visible=st.login_state == "login_required"),
    ])
    return ft.View(route="/login", controls=[ft.Column([card], scroll=ft.ScrollMode.AUTO,
                                                       expand=True)],
                   bgcolor=ft.Colors.GREY_100, padding=ft.Padding.all(16))


def office_account_view(app: "FieldApp") -> ft.View:
    """An office or leader account logged in here: this app is the field's;
    the labour office works in the office console (``office-console``)."""
    t = app.t
    card = ft.Container(ft.Column([
        ft.Text(t("office.field_app.title"), size=20, weight=ft.FontWeight.BOLD,
                color=ft.Colors.BLUE_800),
        hook("office-account", ft.Text(t("office.field_app.hint"), size=14)),
        hook("logout", ft.OutlinedButton(t("settings.logout"), icon=ft.Icons.LOGOUT,
                                         on_click=app.safe(logout_handler(app)), height=BIG)),
    ], spacing=12, horizontal_alignment=ft.CrossAxisAlignment.STRETCH),
        padding=ft.Padding.all(20), bgcolor=ft.Colors.WHITE, border_radius=12)
    return ft.View(route="/office-account", controls=[card], bgcolor=ft.Colors.GREY_100,
                   padding=ft.Padding.all(16))
