"""Helpers for the device tests (the fixtures are in conftest.py): a REAL
sync server on 127.0.0.1 (uvicorn in a background thread, or a subprocess a
test may SIGKILL), a seeded township, camera-like photos, and a
fault-injecting httpx transport (the only fake: it injects network faults;
the server is real).

    village 1 ── site1 construction (dept 1), site3 logistics (no dept)   grid1, sector1
    village 2 ── site2 factory (dept 2)                                   grid2
    office1: whole township
"""

from __future__ import annotations

import io
import logging
import os
import random
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import httpx
import uvicorn
from PIL import Image

from field_app.core import Device, DeviceSettings
from server.support import (
    SCRYPT_N,
    device_secret,
    field_users,
    free_port,
    pull_changes,
    upsert_township,
)
from shared_schema.ids import uuid7
from sync_server.app import create_app
from sync_server.domain.auth.service import create_user
from sync_server.domain.registry.service import ServerWriter
from sync_server.settings import Settings
from sync_server.store.sqlite import SqliteStore

logging.getLogger("httpx").setLevel(logging.WARNING)

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
PASSWORD = "pw-治欠"


# --- the township ---------------------------------------------------------------------


@dataclass
class Township:
    v1: str = field(default_factory=uuid7)
    v2: str = field(default_factory=uuid7)
    d1: str = field(default_factory=uuid7)
    d2: str = field(default_factory=uuid7)
    site1: str = field(default_factory=uuid7)
    site2: str = field(default_factory=uuid7)
    site3: str = field(default_factory=uuid7)
    users: dict[str, str] = field(default_factory=dict)

    def seed(self, db_path: Path) -> None:
        store = SqliteStore(db_path)
        store.migrate()
        try:
            with store.transaction() as tx:
                w = ServerWriter(tx, int(time.time() * 1000))
                upsert_township(w, self, sectors=False)
                w.upsert("site", self.site3, {
                    "name": "一村物流园", "kind": "logistics", "village_id": self.v1,
                    "status": "active"})
            for username, role, scope in field_users(self):
                self.users[username] = create_user(store, username, PASSWORD, role,
                                                   scrypt_n=SCRYPT_N, **scope).id
        finally:
            store.close()


class LiveServer:
    """The real app under uvicorn in a background thread on 127.0.0.1."""

    def __init__(self, folder: Path, **overrides: Any) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.db = folder / "server.db"
        self.town = Township()
        self.town.seed(self.db)
        self.settings = Settings(db_path=self.db, **{"scrypt_n": SCRYPT_N, **overrides})
        self.app = create_app(self.settings)
        config = uvicorn.Config(self.app, host="127.0.0.1", port=0, log_level="error",
                                lifespan="on", access_log=False)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        port = self.server.servers[0].sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"

    @property
    def store(self) -> SqliteStore:
        return self.app.state.store

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=20)

    # reading the server's truth ------------------------------------------------------
    def record(self, entity: str, id: str) -> dict[str, Any] | None:
        rec = self.store.get_record(entity, id)
        return rec.data if rec else None

    def pull_all(self, username: str, device_id: str | None = None) -> dict[tuple[str, str], Any]:
        """A fresh pull from 0 by a throw-away device of ``username``."""
        device_id = device_id or uuid7()
        with httpx.Client(base_url=self.url) as c:
            r = c.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD,
                                                     "device_id": device_id,
                                                     "device_secret": device_secret(device_id)})
            assert r.status_code == 200, r.text
            return {(ch["entity"], ch["id"]): ch["data"]
                    for ch in pull_changes(c, r.json()["token"])}


class ServerProcess:
    """The server as ``uvicorn --factory sync_server.app:app_from_env`` in a
    subprocess, so a test can SIGKILL it."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.db = folder / "server.db"
        self.town = Township()
        self.town.seed(self.db)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc: subprocess.Popen | None = None
        self.log = folder / "uvicorn.log"

    def start(self) -> None:
        env = {**os.environ, "WAGE_PATROL_DB": str(self.db),
               "WAGE_PATROL_SCRYPT_N": str(SCRYPT_N)}
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [PYTHON, "-m", "uvicorn", "--factory", "sync_server.app:app_from_env",
                 "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"],
                env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited: " + self.log.read_text(errors="replace"))
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                time.sleep(0.05)
        raise RuntimeError("the server subprocess did not start")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()


# --- faults ----------------------------------------------------------------------------


class _CountingStream(httpx.SyncByteStream):
    """Counts request body bytes on their way to the socket; optionally cuts
    the connection after ``cut_after`` bytes."""

    def __init__(self, inner: Any, owner: "FaultTransport", cut_after: int | None,
                 method: str) -> None:
        self.inner = inner
        self.owner = owner
        self.cut_after = cut_after
        self.method = method

    def _count(self, n: int) -> None:
        self.owner.body_bytes += n
        if self.method == "PATCH":
            self.owner.patch_bytes += n

    def __iter__(self) -> Iterator[bytes]:
        sent = 0
        for chunk in self.inner:
            if self.cut_after is not None and sent + len(chunk) >= self.cut_after:
                part = chunk[: self.cut_after - sent]
                if part:
                    self._count(len(part))
                    yield part
                self.owner.offline = self.owner.offline_after_cut
                raise httpx.WriteError("test: connection cut mid-upload")
            sent += len(chunk)
            self._count(len(chunk))
            yield chunk


class FaultTransport(httpx.BaseTransport):
    """A real HTTP transport with injected faults: refuse a request before it
    leaves, drop the response after the server handled it, answer 503, go
    offline, or cut a PATCH body after N bytes. ``log`` records every request."""

    def __init__(self, seed: int = 0, fail_rate: float = 0.0) -> None:
        self.inner = httpx.HTTPTransport()
        self.rng = random.Random(seed)
        self.fail_rate = fail_rate
        self.offline = False
        self.plan: list[str] = []  # next actions, then random faults at fail_rate
        self.cut_patch_after: int | None = None
        self.cut_on_patch_number = 1  # cut the n-th PATCH after cut_patch_after bytes
        self.offline_after_cut = True
        self.body_bytes = 0  # request body bytes that reached the socket
        self.patch_bytes = 0  # of which in PATCH (tus upload) requests
        self.patches = 0
        self.log: list[tuple[str, str, str]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        where = (request.method, request.url.path)
        if self.offline:
            self.log.append((*where, "offline"))
            raise httpx.ConnectError("test: no signal", request=request)
        action = self.plan.pop(0) if self.plan else "ok"
        if action == "ok" and self.fail_rate and self.rng.random() < self.fail_rate:
            action = self.rng.choice(["refuse", "drop", "503"])
        if action == "refuse":
            self.log.append((*where, "refused"))
            raise httpx.ConnectError("test: connection refused", request=request)
        if action == "503":
            self.log.append((*where, "503"))
            return httpx.Response(503, json={"error": {"code": "unavailable",
                                                       "message": "test"}}, request=request)
        cut = None
        if request.method == "PATCH":
            self.patches += 1
            if self.cut_patch_after is not None and self.patches >= self.cut_on_patch_number:
                cut, self.cut_patch_after = self.cut_patch_after, None
        request.stream = _CountingStream(request.stream, self, cut, request.method)
        response = self.inner.handle_request(request)
        if action == "drop":
            response.read()
            response.close()
            self.log.append((*where, "dropped"))
            raise httpx.ReadError("test: response lost", request=request)
        self.log.append((*where, str(response.status_code)))
        return response

    def close(self) -> None:
        self.inner.close()


# --- devices -------------------------------------------------------------------------------


def fast_settings(**overrides: Any) -> DeviceSettings:
    """Settings for tests: back-off without waiting."""
    return DeviceSettings(**{"sleep": lambda s: None, "max_attempts": 4, **overrides})


# --- photos ----------------------------------------------------------------------------------


def camera_jpeg(w: int = 4000, h: int = 3000, orientation: int = 6, seed: int = 1,
                gps: bool = True) -> bytes:
    """A camera-like JPEG: smooth shapes plus sensor noise, with EXIF
    orientation, capture time (+08:00) and optionally GPS. The sensor's
    top-left corner is pure red, so a test can see where it ends up."""
    random.seed(seed)
    coarse = Image.effect_noise((max(1, w // 16), max(1, h // 16)), 60).resize(
        (w, h), Image.Resampling.BICUBIC)
    fine = Image.effect_noise((w, h), 18)
    grad = Image.linear_gradient("L").resize((w, h))
    img = Image.merge("RGB", (
        Image.blend(coarse, fine, 0.35), Image.blend(grad, fine, 0.3),
        Image.blend(coarse.transpose(Image.Transpose.FLIP_LEFT_RIGHT), grad, 0.5)))
    img.paste((255, 0, 0), (0, 0, w // 10, h // 10))
    exif = Image.Exif()
    exif[0x0112] = orientation
    exif.get_ifd(0x8769)[0x9003] = "2025:11:26 10:30:00"
    exif.get_ifd(0x8769)[0x9011] = "+08:00"
    if gps:
        g = exif.get_ifd(0x8825)
        g[1], g[2], g[3], g[4] = "N", (29.0, 39.0, 36.0), "E", (106.0, 22.0, 48.0)
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=92, exif=exif)
    return buf.getvalue()


def small_jpeg(seed: int = 0, size: tuple[int, int] = (640, 480)) -> bytes:
    """A small photo with distinct bytes per seed."""
    rng = random.Random(seed)
    img = Image.new("RGB", size, (rng.randrange(256), rng.randrange(256), rng.randrange(256)))
    img.paste(Image.effect_noise((size[0] // 2, size[1] // 2), 40 + seed % 20).convert("RGB"),
              (rng.randrange(size[0] // 2), rng.randrange(size[1] // 2)))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def answer_all(dev: Device, insp_id: str, photo_seed: int = 100) -> None:
    """Answer every item of a construction inspection so it can be submitted."""
    insp = dev.get("inspection", insp_id)
    template = dev.template(insp["template_id"])
    for item in template.items:
        if item.answer in ("yes_no", "yes_no_na", "yes_no_exempt"):
            answer: Any = "yes"
        elif item.answer == "number":
            answer = 10
        elif item.answer == "numbers":
            answer = {p.key: 0 for p in item.parts}
        else:
            answer = "无"
        dev.answer(insp_id, item.code, answer)
        if item.photo == "required":
            dev.attach_photo(insp_id, small_jpeg(photo_seed), item_code=item.code)
            photo_seed += 1
