"""The office console's page state: its login (``OfficeSession``: its own
token, never the phone's device store), what each screen keeps
(``ConsoleState``) and ``OfficeApp``, one page over the session. Views take an
``OfficeApp``; this module imports no view (the route table is ``app.resolve``)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import flet as ft

from field_app.core.settings import DeviceSettings
from shared_schema.ids import uuid7
from shared_schema.wire import LoginRequest, UserInfo

from ..adapters import FilePickerSource, UiPrefs
from ..kit.rules import UiError, is_office
from ..kit.shell import Shell
from . import viewmodels as vm
from .client import OfficeClient
from .viewmodels.risk import RiskVM  # --- #17 warnings ---

log = logging.getLogger("field_app.ui.office")
IDENTITY = "console.json"  # the console's own device id and secret, in its data folder
DEVICE_NAME = "office-console"
#: route parts → (view builder, its arguments)
Routes = Callable[[list[str]], tuple[Callable[..., ft.View], list[str]]]


class OfficeSession:
    """The console's login, shared by every page of one process (one desk):
    the server, the token, the user and the villages' names. The id and
    secret the server binds the login to are the console's own, kept in its
    data folder."""

    def __init__(self, data_dir: Path, settings: DeviceSettings | None = None) -> None:
        self.data_dir = Path(data_dir)
        self.settings = settings or DeviceSettings(device_name=DEVICE_NAME)
        self.server_url = ""
        self.token: str | None = None
        self.user: UserInfo | None = None
        self.villages: dict[str, str] = {}
        self._lock = threading.Lock()

    def identity(self) -> tuple[str, str]:
        """(device id, device secret): made on first use and kept."""
        path = self.data_dir / IDENTITY
        with self._lock:
            try:
                raw = json.loads(path.read_text("utf-8"))
                return raw["device_id"], raw["device_secret"]
            except (OSError, ValueError, KeyError):
                pass
            ident = {"device_id": uuid7(), "device_secret": secrets.token_urlsafe(32)}
            self.data_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            tmp.write_text(json.dumps(ident), "utf-8")
            os.replace(tmp, path)
            return ident["device_id"], ident["device_secret"]

    @property
    def logged_in(self) -> bool:
        return self.token is not None and self.user is not None

    def login(self, server_url: str, username: str, password: str) -> UserInfo:
        """Log in online; only office and leader accounts may use the console."""
        device_id, secret = self.identity()
        url = server_url.strip().rstrip("/")
        resp = OfficeClient.login(url, LoginRequest(
            username=username, password=password, device_id=device_id,
            device_name=self.settings.device_name, device_secret=secret))
        client = OfficeClient(url, resp.token, settings=self.settings)
        try:
            if not is_office(resp.user.role):
                client.logout()
                raise UiError("office_only", "the office console is for office and leader accounts")
            villages = client.villages()
        finally:
            client.close()
        self.server_url, self.token, self.user, self.villages = url, resp.token, resp.user, villages
        return resp.user

    def client(self) -> OfficeClient:
        if self.token is None:
            raise UiError("not_logged_in", "log in online to use the office screens")
        return OfficeClient(self.server_url, self.token, settings=self.settings)

    def logout(self) -> None:
        """Forget the token; the server revokes it when it answers (best effort)."""
        token, self.token, self.user = self.token, None, None
        if token is None:
            return
        client = OfficeClient(self.server_url, token, settings=self.settings)
        try:
            client.logout()
        except Exception as exc:  # the token is forgotten here whatever the server says
            log.info("logout not confirmed by the server: %s", exc)
        finally:
            client.close()


@dataclass
class ConsoleState:
    """What each screen keeps while the page lives, so a rebuild (coming back,
    a language switch, a resize) shows the same filters, page and typed values."""

    review: vm.ReviewQueueVM = field(default_factory=vm.ReviewQueueVM)
    cases: vm.CaseFilters = field(default_factory=vm.CaseFilters)
    intake: vm.IntakeForm = field(default_factory=vm.IntakeForm)
    registry: vm.RegistryVM = field(default_factory=vm.RegistryVM)
    audit: vm.AuditVM = field(default_factory=vm.AuditVM)
    export_picker: Any = None  # the save-file service, kept alive with the page
    risk: RiskVM = field(default_factory=RiskVM)  # --- #17 warnings ---


class OfficeApp(Shell):
    """One page of the console over the process's ``OfficeSession``."""

    def __init__(self, page: ft.Page, session: OfficeSession, prefs: UiPrefs,
                 files: FilePickerSource | None = None, *, routes: Routes) -> None:
        super().__init__(page, prefs)
        self.routes = routes
        self.session = session
        self.files = files
        self.evidence: Any = None  # the payment-proof source (``views.case.EvidencePicker``)
        self.state = ConsoleState()
        self.desk_wide: bool | None = None  # the layout drawn last: rail (True) or bottom bar
        self.resized: Callable[..., Any] | None = None  # the page's resize handler, once set

    @property
    def data_dir(self) -> Path:
        return self.session.data_dir

    @property
    def role(self) -> str:
        return self.session.user.role if self.session.user else ""

    def save_prefs(self) -> None:
        self.prefs.save(self.data_dir)

    async def render(self) -> None:
        route = self.page.route or "/"
        logged_in = self.session.logged_in
        if not logged_in and route != "/login":
            await self.go("/login")
            return
        if logged_in and not route.startswith("/office/"):
            await self.go("/office/review")
            return
        builder, args = self.routes(route.strip("/").split("/"))
        view = builder(self, *args)
        view.route = route
        self.page.views.clear()
        self.page.views.append(view)
        self.page.update()

    async def logout(self) -> None:
        await asyncio.to_thread(self.session.logout)
        self.state = ConsoleState()
        await self.go("/login")
