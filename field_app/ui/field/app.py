"""The field app's entry: the route table (``resolve``), the Flet entry point
over one device (``make_main``) and web mode (``run``). It imports the kit and
the field screens, never the office console: an office or leader account is
told to use the console instead (``/office-account``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import flet as ft

from field_app.core import Device, DeviceSettings

from ..adapters import FilePickerSource, GeolocatorLocator, UiPrefs
from ..kit.shell import ASSETS_DIR, serve_web, style_page
from .shell import FieldApp
from .views import cases, incident, login, sites, sync
from .views.settings import settings_view
from .views.inspection import inspection_view

__all__ = ["ASSETS_DIR", "FieldApp", "make_main", "resolve", "run"]


def resolve(parts: list[str]) -> tuple[Callable[..., ft.View], list[str]]:
    match parts:
        case ["login"]:
            return login.login_view, []
        case ["office-account"]:
            return login.office_account_view, []
        case ["sites"]:
            return sites.sites_view, []
        case ["site", site_id]:
            return sites.site_view, [site_id]
        case ["site", site_id, "case"]:
            return cases.case_intake_view, [site_id]
        case ["inspection", insp_id]:
            return inspection_view, [insp_id]
        case ["cases"]:
            return cases.cases_view, []
        case ["case", case_id]:
            return cases.case_view, [case_id]
        case ["sync"]:
            return sync.sync_view, []
        case ["settings"]:
            return settings_view, []
        # --- #17 incidents ---
        case ["site", site_id, "incident"]:
            return incident.incident_form_view, [site_id]
        case ["incident", "new"]:
            return incident.incident_form_view, [None]
        case ["incident", incident_id]:
            return incident.incident_view, [incident_id]
    return sites.sites_view, []


def make_main(data_dir: Path, settings: DeviceSettings | None = None,
              auto_sync_s: float = 30.0) -> Callable[[ft.Page], Any]:
    """The Flet entry point for a device in ``data_dir``. One process = one
    device, so every browser tab shares the same Device."""
    device = Device.open(data_dir, settings)

    async def main(page: ft.Page) -> None:
        style_page(page, "治欠巡查")
        prefs = UiPrefs.load(device.data_dir)
        picker = ft.FilePicker()  # services register themselves with the page
        geo = None
        try:
            import flet_geolocator as fg

            geo = fg.Geolocator()
        except ImportError:  # optional on a desktop build
            pass
        app = FieldApp(page, device, prefs, files=FilePickerSource(picker),
                       locator=GeolocatorLocator(geo) if geo is not None else None,
                       auto_sync_s=auto_sync_s, routes=resolve)
        page.data = app
        app.services = (picker, geo)  # services live as long as the page
        page.on_route_change = app.route_changed

        async def view_pop(e: Any) -> None:
            await app.go("/sites")

        page.on_view_pop = view_pop
        page.on_disconnect = app.closed
        page.run_task(app.auto_sync_loop)
        await app.render()

    return main


def run(data_dir: Path, host: str = "127.0.0.1", port: int = 8550,
        settings: DeviceSettings | None = None, auto_sync_s: float = 30.0) -> None:
    """Serve the app in web mode (``kit.shell.serve_web``: offline, CanvasKit)."""
    serve_web(make_main(Path(data_dir), settings, auto_sync_s), host, port)
