"""The office console's entry (劳保所 and leaders, at a desk, online): the
route table (``resolve``; ``/login`` and ``/office/*``), the Flet entry point
(``make_main``), web mode (``run``) and ``main`` for ``office-console`` /
``python -m field_app.ui.office``. It imports the kit, never the field app."""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path
from typing import Any, Callable

import flet as ft

from field_app.core.settings import DeviceSettings

from ..adapters import FilePickerSource, UiPrefs
from ..kit.shell import serve_web, style_page
from .shell import OfficeApp, OfficeSession
from .views import alerts, case, cases, conflicts, login, registry, reports, review, risk



def resolve(parts: list[str]) -> tuple[Callable[..., ft.View], list[str]]:
    match parts:
        case ["login"]:
            return login.login_view, []
        case ["office", "inspection", insp_id]:
            return review.inspection_view, [insp_id]
        case ["office", "conflicts"]:
            return conflicts.conflicts_view, []
        case ["office", "cases"]:
            return cases.cases_view, []
        case ["office", "intake"]:
            return cases.intake_view, []
        case ["office", "case", case_id]:
            return case.case_view, [case_id]
        case ["office", "registry"]:
            return registry.registry_view, []
        case ["office", "site", site_id]:
            return registry.site_view, [site_id]
        case ["office", "audit"]:
            return registry.audit_view, []
        case ["office", "dashboard"]:
            return reports.dashboard_view, []
        case ["office", "export"]:
            return reports.export_view, []
        case ["office", "alerts"]:  # --- #17 incidents
            return alerts.alerts_view, []
        case ["office", "risk"]:  # --- #17 warnings ---
            return risk.risk_view, []
    return review.review_view, []


def make_main(data_dir: Path, settings: DeviceSettings | None = None) -> Callable[[ft.Page], Any]:
    """The Flet entry point of a console whose files live in ``data_dir``
    (preferences, its device identity, exported workbooks)."""
    session = OfficeSession(Path(data_dir), settings)

    async def main(page: ft.Page) -> None:
        style_page(page, "治欠巡查 · 办公端")
        prefs = UiPrefs.load(session.data_dir)
        picker = ft.FilePicker()  # services register themselves with the page
        app = OfficeApp(page, session, prefs, files=FilePickerSource(picker), routes=resolve)
        page.data = app
        page.on_route_change = app.route_changed

        async def view_pop(e: Any) -> None:
            await app.go("/office/review")

        page.on_view_pop = view_pop
        await app.render()

    return main


def run(data_dir: Path, host: str = "127.0.0.1", port: int = 8551,
        settings: DeviceSettings | None = None) -> None:
    """Serve the console in web mode, offline-capable like the field app
    (``no_cdn``, bundled CJK font, the CanvasKit renderer: see docs/mobile.md)."""
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    serve_web(make_main(Path(data_dir), settings), host, port)


def main(argv: list[str] | None = None) -> None:
    """``office-console [--data-dir DIR] [--host 127.0.0.1] [--port 8551]``."""
    parser = argparse.ArgumentParser(prog="office-console",
                                     description="the office console (劳保所), in web mode")
    parser.add_argument("--data-dir", default=os.environ.get("WAGE_PATROL_OFFICE_DIR")
                        or "office-console-data",
                        help="its preferences, device identity and exported workbooks")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8551, help="port (default 8551)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    run(Path(args.data_dir), host=args.host, port=args.port)
