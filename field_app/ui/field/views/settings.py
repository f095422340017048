"""Settings: language, account and logout, server, photo size."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Awaitable, Callable

import flet as ft


from ...adapters import PHOTO_SIZES
from ...kit.widgets import hook, kv, section
from ..viewmodels import (
    sign_out,
)
from .common import page_view

if TYPE_CHECKING:
    from ..shell import FieldApp

# --------------------------------------------------------------------------------------
# Settings


def logout_handler(app: "FieldApp") -> Callable[[Any], Awaitable[None]]:
    """Log out (field and office screens alike): at once when nothing is left
    on the phone, else only after a warning naming what has not reached the
    server (``sign_out`` in the view-models decides)."""
    t = app.t

    async def logout(e: Any) -> None:
        check = sign_out(app.device, confirmed=False)
        if check.allowed:
            await app.go("/login")
            return

        async def confirm(ev: Any) -> None:
            sign_out(app.device, confirmed=True)
            app.page.pop_dialog()
            await app.go("/login")

        app.page.show_dialog(ft.AlertDialog(
            title=ft.Text(t("logout.warning_title")),
            content=ft.Text(t("logout.warning", n=check.pending)),
            actions=[ft.TextButton(t("cancel"), on_click=lambda ev: app.page.pop_dialog()),
                     hook("logout-confirm", ft.FilledButton(
                         t("logout.anyway"), on_click=app.safe(confirm),
                         style=ft.ButtonStyle(bgcolor=ft.Colors.RED_700)))]))

    return logout


def settings_view(app: "FieldApp") -> ft.View:
    t = app.t
    st = app.device.status()

    async def lang(e: Any) -> None:
        app.set_language(e.control.selected[0])
        await app.rerender()

    def photo_size(e: Any) -> None:
        app.prefs.photo_max_px = int(e.control.selected[0])
        app.save_prefs()
        app.apply_photo_size()
        app.toast(t("saved"))

    def server(e: Any) -> None:
        app.prefs.server_url = (e.control.value or "").strip()
        app.save_prefs()
        app.toast(t("settings.server_saved"))

    def auto(e: Any) -> None:
        app.prefs.auto_sync = bool(e.control.value)
        app.save_prefs()

    logout = logout_handler(app)

    body = [
        section(t("settings.language"), hook("settings-language", ft.SegmentedButton(
            selected=[t.lang], on_change=app.safe(lang),
            segments=[ft.Segment(value="zh", label=ft.Text("中文")),
                      ft.Segment(value="en", label=ft.Text("English"))]))),
        section(t("settings.account"),
                kv(t("settings.user"), st.username), kv(t("settings.role"),
                                                        t(f"role.{st.role}") if st.role else None),
                kv(t("settings.login_state"), t(f"login_state.{st.login_state}")),
                kv(t("settings.device"), st.device_id[:13]),
                kv(t("settings.data_dir"), st.data_dir),
                hook("logout", ft.OutlinedButton(t("settings.logout"), icon=ft.Icons.LOGOUT,
                                                 on_click=app.safe(logout)))),
        section(t("settings.server"), ft.TextField(
            label=t("login.server"), value=app.prefs.server_url or st.server_url or "",
            on_blur=app.safe(server), on_submit=app.safe(server), dense=True),
                ft.Switch(label=t("settings.auto_sync"), value=app.prefs.auto_sync,
                          on_change=app.safe(auto))),
        section(t("settings.photo_size"), ft.SegmentedButton(
            selected=[str(app.prefs.photo_max_px)], on_change=app.safe(photo_size),
            segments=[ft.Segment(value=str(p), label=ft.Text(f"{p}px")) for p in PHOTO_SIZES])),
    ]
    return page_view(app, "/settings", t("nav.settings"), body)
