"""The part of an app's shell both apps share: the error boundary (a handler
never crashes the page: an error becomes a snackbar), routing by
``page.push_route`` and the language switch."""

from __future__ import annotations

import functools
import inspect
import logging
import traceback
from pathlib import Path
from typing import Any, Callable

import flet as ft

from field_app.core.errors import DeviceError

from ..adapters import UiPrefs
from ..i18n import Translator

log = logging.getLogger("field_app.ui")
TOAST_CLEARANCE = 84  # px above the window's bottom edge: clear of a 56 px action bar
ASSETS_DIR = Path(__file__).resolve().parents[3] / "assets"
FONT = {"CJK": "fonts/NotoSansSC-subset.woff2"}


def style_page(page: ft.Page, title: str) -> None:
    """Both apps' look: the title, the bundled CJK font, a light blue theme."""
    page.title = title
    page.fonts = FONT
    page.theme = ft.Theme(font_family="CJK", color_scheme_seed=ft.Colors.BLUE_800)
    page.theme_mode = ft.ThemeMode.LIGHT


def serve_web(main: Callable[[ft.Page], Any], host: str, port: int) -> None:
    """Serve an app in web mode, fully offline (``no_cdn``, bundled CJK font).

    The renderer is CanvasKit, not Flet's default (skwasm in Chromium): the
    page is cross-origin isolated, so skwasm runs multi-threaded, and that
    mode's text layout racing its render worker can corrupt the wasm heap and
    freeze the tab at full CPU (flutter/flutter#190039). It froze the office
    case ledger in a full test run. CanvasKit is single-threaded,
    bundled with the web client, and Flet's own docs call it faster at the
    byte exchanges every Flet UI update makes."""
    ft.run(main, view=ft.AppView.WEB_BROWSER, host=host, port=port, no_cdn=True,
           assets_dir=str(ASSETS_DIR), web_renderer=ft.WebRenderer.CANVAS_KIT)


class Shell:
    """One page of an app: its translator, snackbar, error boundary and routing."""

    def __init__(self, page: ft.Page, prefs: UiPrefs) -> None:
        self.page = page
        self.prefs = prefs
        self.t = Translator(prefs.language)

    # --- error boundary ------------------------------------------------------------------
    def error_text(self, exc: BaseException) -> str:
        if isinstance(exc, DeviceError):
            return self.t.error(exc.code, exc.message)
        return self.t("err.unexpected", error=str(exc) or type(exc).__name__)

    def toast(self, text: str, error: bool = False) -> None:
        try:
            # floating above the bottom bars (上一步/下一步/提交, the tabs): never over them
            self.page.show_dialog(ft.SnackBar(
                ft.Text(text), bgcolor=ft.Colors.RED_700 if error else None,
                duration=ft.Duration(seconds=4), behavior=ft.SnackBarBehavior.FLOATING,
                margin=ft.Margin.only(left=12, right=12, bottom=TOAST_CLEARANCE)))
        except Exception:  # never let the boundary itself fail
            log.exception("snackbar failed")

    def after_handler(self) -> None:
        """Called after every wrapped handler, failed or not (the field app
        refreshes its sync chip here)."""

    def safe(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Wrap a handler: any exception becomes a snackbar, never an error page."""

        @functools.wraps(fn)
        async def handler(*args: Any) -> None:
            try:
                result = fn(*args)
                if inspect.isawaitable(result):
                    await result
            except Exception as exc:  # the boundary
                if not isinstance(exc, DeviceError):
                    log.error("handler failed: %s", traceback.format_exc())
                self.toast(self.error_text(exc), error=True)
            finally:
                self.after_handler()

        return handler

    # --- routing -------------------------------------------------------------------------
    async def go(self, route: str) -> None:
        await self.page.push_route(route)

    def nav(self, route: str) -> Callable[..., Any]:
        return self.safe(lambda *_: self.go(route))

    async def route_changed(self, e: Any = None) -> None:
        try:
            await self.render()
        except Exception as exc:  # show the error, keep the page alive
            log.error("render failed: %s", traceback.format_exc())
            self.toast(self.error_text(exc), error=True)

    async def render(self) -> None:
        raise NotImplementedError

    async def rerender(self) -> None:
        await self.render()

    # --- settings --------------------------------------------------------------------------
    def save_prefs(self) -> None:
        raise NotImplementedError

    def set_language(self, lang: str) -> None:
        self.prefs.language = lang
        self.t = Translator(lang)
        self.save_prefs()

    async def toggle_language(self, e: Any = None) -> None:
        """The 中文/English button: the other language, drawn at once."""
        self.set_language("en" if self.t.lang == "zh" else "zh")
        await self.rerender()
