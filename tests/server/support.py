"""Helpers for the server tests: a manual clock, the seeded ``World``, a small
test ``Device``, and assertions on push results and the error shape.

The fixtures that build these live in ``tests/conftest.py``.

``World`` is the township every server test starts from::

    village 1 ── construction site (supervised by department 1)   grid1, sector1
    village 2 ── factory site (supervised by department 2)         grid2
    office1, leader1, admin: whole township

Time is a ``ManualClock`` given to the server as ``Settings.now_ms`` and to
every test device's HLC, so a test moves time on purpose and never waits.
"""

from __future__ import annotations

import hashlib
import socket
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Protocol, TypeVar

import httpx
import msgspec
import uvicorn
from litestar import Litestar
from litestar.testing import TestClient

from shared_schema.checklists import load_templates
from shared_schema.hlc import HybridClock
from shared_schema.ids import uuid7
from shared_schema.wire import error_decoder
from sync_server.app import create_app
from sync_server.domain.auth.service import create_user
from sync_server.domain.registry.service import ServerWriter
from sync_server.settings import Settings
from sync_server.store.sqlite import SqliteStore

#: 2025-11-26 08:53:20 UTC, the start of every test's clock.
T0 = 1_764_140_000_000
DAY_MS = 24 * 3600 * 1000
PASSWORD = "pw-治欠"
#: The tests' password hashing cost, given to the server as ``Settings.scrypt_n``
#: (tests/conftest.py): 2^14, 16 MiB and ~50 ms a hash, instead of the
#: default OWASP 2^17 (128 MiB, ~0.5 s). tests/server/test_passwords.py checks
#: the default.
SCRYPT_N = 2**14


def device_secret(device_id: str) -> str:
    """The secret a test device proves its id with: one per device id, so a
    hand-over (another user on the same device) sends the same one."""
    return hashlib.sha256(b"test-device-secret:" + device_id.encode()).hexdigest()


class ManualClock:
    """Unix ms that move only when a test says so."""

    def __init__(self, now: int = T0) -> None:
        self.now = now

    def __call__(self) -> int:
        return self.now

    def advance(self, ms: int) -> int:
        self.now += ms
        return self.now


# --- error shape --------------------------------------------------------------


def assert_error_shape(response: httpx.Response) -> dict[str, Any]:
    """The body of an error response, checked against the one error shape."""
    body = response.read()
    try:
        error_decoder.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError) as exc:
        raise AssertionError(
            f"{response.request.method} {response.request.url.path} -> "
            f"{response.status_code}: body is not the error shape ({exc}): {body[:300]!r}"
        ) from None
    decoded = msgspec.json.decode(body)
    assert set(decoded) == {"error"}, decoded
    assert set(decoded["error"]) <= {"code", "message", "details"}, decoded
    return decoded["error"]


def _check_error_shape(response: httpx.Response) -> None:
    if response.status_code >= 400 and response.request.method != "HEAD":
        assert_error_shape(response)


def watch_error_shape(client: httpx.Client) -> None:
    client.event_hooks = {"response": [_check_error_shape]}


def error_of(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, (response.status_code, response.text)
    return assert_error_shape(response)


# --- app ----------------------------------------------------------------------


@dataclass
class AppClient:
    """An app started through its lifespan, with a TestClient on it."""

    app: Litestar
    client: TestClient
    settings: Settings
    closed: bool = False

    @property
    def store(self) -> SqliteStore:
        return self.app.state.store

    def close(self) -> None:
        """Stop the app (its lifespan closes the store); safe to call twice."""
        if not self.closed:
            self.closed = True
            self.client.__exit__(None, None, None)


def upsert_township(w: ServerWriter, t: Any, sectors: bool = True) -> None:
    """Villages 1 and 2, departments 1 and 2 (with the sectors they supervise
    unless ``sectors`` is false) and sites 1 and 2 of a test township ``t``
    (anything with the ids v1, v2, d1, d2, site1 and site2)."""
    w.upsert("village", t.v1, {"name": "一村", "kind": "village"})
    w.upsert("village", t.v2, {"name": "二社区", "kind": "community"})
    for dept, name, sector in ((t.d1, "住建办", "construction"), (t.d2, "经发办", "manufacturing")):
        w.upsert("department", dept, {"name": name, **({"sectors": [sector]} if sectors else {})})
    w.upsert("site", t.site1, {
        "name": "一村安置房工地", "kind": "construction", "village_id": t.v1,
        "department_id": t.d1, "contractor": "原总包", "status": "active",
        # #17: a village-built project, so its small cases stay in the village
        # (a department's project routes to the department: tests/server/test_cases_lifecycle.py)
        "village_self_built": True})
    w.upsert("site", t.site2, {
        "name": "二社区服装厂", "kind": "factory", "village_id": t.v2,
        "department_id": t.d2, "status": "active"})


def field_users(t: Any) -> list[tuple[str, str, dict[str, list[str]]]]:
    """Username, role and scope of the township ``t``'s grid1, grid2, sector1
    and office1."""
    return [("grid1", "grid_officer", {"village_ids": [t.v1]}),
            ("grid2", "grid_officer", {"village_ids": [t.v2]}),
            ("sector1", "sector_inspector", {"department_ids": [t.d1]}),
            ("office1", "office", {})]


@dataclass
class World:
    """Seeded reference data, sites and users on a running server."""

    http: httpx.Client
    store: SqliteStore
    clock: ManualClock
    v1: str = field(default_factory=uuid7)
    v2: str = field(default_factory=uuid7)
    d1: str = field(default_factory=uuid7)
    d2: str = field(default_factory=uuid7)
    site1: str = field(default_factory=uuid7)  # construction, village 1, department 1
    site2: str = field(default_factory=uuid7)  # factory, village 2, department 2
    users: dict[str, Any] = field(default_factory=dict)

    def seed(self) -> "World":
        with self.store.transaction() as tx:
            upsert_township(ServerWriter(tx, self.clock()), self)
        for username, role, scope in (*field_users(self), ("leader1", "leader", {}),
                                      ("admin", "admin", {})):
            self.users[username] = create_user(self.store, username, PASSWORD, role,
                                               now_ms=self.clock(), scrypt_n=self.scrypt_n(),
                                               **scope)
        return self

    def user_id(self, username: str) -> str:
        return self.users[username].id

    def scrypt_n(self) -> int:
        """The cost the server hashes at (its ``Settings.scrypt_n``)."""
        app = getattr(self.http, "app", None)
        return app.state.settings.scrypt_n if app is not None else SCRYPT_N

    def login(self, username: str, device_id: str) -> dict[str, str]:
        r = self.http.post("/api/v1/auth/login", json={
            "username": username, "password": PASSWORD, "device_id": device_id,
            "device_secret": device_secret(device_id), "device_name": f"{username}'s phone"})
        assert r.status_code == 200, r.text
        return {"Authorization": "Bearer " + r.json()["token"]}

    def device(self, username: str, device_id: str, skew_ms: int = 0,
               pull: bool = True) -> "Device":
        """Log a device in and, as the app does, pull everything visible."""
        dev = Device(self, username, device_id, self.login(username, device_id), skew_ms)
        if pull:
            dev.pull(0)
        return dev


class Device:
    """A field device reduced to what the protocol needs: an HLC, a seq
    counter, the field revisions it has pulled, and a login."""

    def __init__(self, world: World, username: str, device_id: str,
                 headers: dict[str, str], skew_ms: int = 0) -> None:
        self.world = world
        self.username = username
        self.device_id = device_id
        self.headers = headers
        self.skew_ms = skew_ms
        self.clock = HybridClock(device_id, now_ms=lambda: world.clock() + self.skew_ms)
        self.seq = 0
        self.cursor = 0
        self.field_revs: dict[tuple[str, str], dict[str, int]] = {}
        self.records: dict[tuple[str, str], dict[str, Any]] = {}

    @property
    def user_id(self) -> str:
        return self.world.user_id(self.username)

    # building mutations
    def _mutation(self, op: str, entity: str, entity_id: str,
                  fields: dict[str, Any]) -> dict[str, Any]:
        self.seq += 1
        return {"op": op, "id": uuid7(), "seq": self.seq, "hlc": str(self.clock.tick()),
                "entity": entity, "entity_id": entity_id, "fields": fields}

    def base_for(self, entity: str, entity_id: str, fields: dict[str, Any]) -> dict[str, int]:
        """The revision of each edited field this device last pulled (0: none)."""
        revs = self.field_revs.get((entity, entity_id), {})
        keys = []
        for name, value in fields.items():
            if name == "answers" and isinstance(value, dict):
                keys += [f"answers.{code}" for code in value]
            else:
                keys.append(name)
        return {k: revs.get(k, 0) for k in keys}

    def upsert(self, entity: str, entity_id: str, fields: dict[str, Any],
               base: dict[str, int] | None = None) -> dict[str, Any]:
        m = self._mutation("upsert", entity, entity_id, fields)
        m["base"] = self.base_for(entity, entity_id, fields) if base is None else base
        return m

    def insert(self, entity: str, entity_id: str, fields: dict[str, Any]) -> dict[str, Any]:
        return self._mutation("insert", entity, entity_id, fields)

    def delete(self, entity: str, entity_id: str) -> dict[str, Any]:
        m = self._mutation("delete", entity, entity_id, {})
        m["base"] = {}
        return m

    # talking to the server
    def push_response(self, *mutations: dict[str, Any], device_id: str | None = None,
                      **extra: Any) -> httpx.Response:
        body = {"protocol": 1, "device_id": device_id or self.device_id,
                "client_time_ms": self.world.clock() + self.skew_ms,
                "mutations": list(mutations), **extra}
        return self.world.http.post("/api/v1/sync/push", json=body, headers=self.headers)

    def push(self, *mutations: dict[str, Any]) -> dict[str, Any]:
        r = self.push_response(*mutations)
        assert r.status_code == 200, r.text
        body = r.json()
        assert [res["id"] for res in body["results"]] == [m["id"] for m in mutations]
        return body

    def sync(self, *mutations: dict[str, Any]) -> list[dict[str, Any]]:
        """Push and return the results, one per mutation."""
        return self.push(*mutations)["results"]

    def pull_response(self, since: int | None = None, limit: int | None = None
                      ) -> httpx.Response:
        params = {"since": self.cursor if since is None else since}
        if limit is not None:
            params["limit"] = limit
        return self.world.http.get("/api/v1/sync/pull", params=params, headers=self.headers)

    def pull(self, since: int | None = None) -> list[dict[str, Any]]:
        """Pull every page from ``since`` (default: this device's cursor)."""
        since = self.cursor if since is None else since
        changes: list[dict[str, Any]] = []
        while True:
            r = self.pull_response(since)
            assert r.status_code == 200, r.text
            page = r.json()
            for c in page["changes"]:
                self.field_revs[(c["entity"], c["id"])] = c["field_revs"]
                self.records[(c["entity"], c["id"])] = c["data"]
                if c.get("hlc"):
                    self.clock.receive(c["hlc"])  # never stamp behind what we have seen
            changes += page["changes"]
            since = self.cursor = page["cursor"]
            if not page["has_more"]:
                return changes

    def record(self, entity: str, entity_id: str) -> dict[str, Any]:
        return self.records[(entity, entity_id)]

    def receipt(self) -> dict[str, Any]:
        r = self.world.http.get("/api/v1/sync/receipt", params={"device_id": self.device_id},
                                headers=self.headers)
        assert r.status_code == 200, r.text
        return r.json()


def pull_changes(client: httpx.Client, token: str) -> list[dict[str, Any]]:
    """Every change a login may pull, from revision 0, page after page (any
    httpx client: a ``TestClient`` or one on a live server)."""
    changes: list[dict[str, Any]] = []
    since = 0
    while True:
        r = client.get("/api/v1/sync/pull", params={"since": since},
                       headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 200, r.text
        page = r.json()
        changes += page["changes"]
        since = page["cursor"]
        if not page["has_more"]:
            return changes


def ok(result: dict[str, Any], status: str = "applied") -> dict[str, Any]:
    """Assert a push result's status, showing the error if it differs."""
    assert result["status"] == status, result
    return result


def rejected(result: dict[str, Any], code: str) -> dict[str, Any]:
    assert result["status"] == "rejected", result
    assert result["error"]["code"] == code, result
    return result["error"]


# --- a live server ----------------------------------------------------------------


def free_port() -> int:
    """A free TCP port on 127.0.0.1 (for a server started on it afterwards)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Stoppable(Protocol):
    def stop(self) -> None: ...


S = TypeVar("S", bound=Stoppable)


def stop_after(thing: S) -> Iterator[S]:
    """A fixture's body for a server, process or device: yield it, then
    ``stop()`` it even when the test failed (``yield from stop_after(...)``)."""
    try:
        yield thing
    finally:
        thing.stop()


class Live:
    """uvicorn serving the app on a free 127.0.0.1 port, in a thread."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.app = create_app(settings)
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self.server = uvicorn.Server(uvicorn.Config(self.app, log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]},
                                       daemon=True)

    def __enter__(self) -> "Live":
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        self.sock.close()


@contextmanager
def serve_world(directory: Path, **overrides: Any) -> Iterator[tuple[Live, World]]:
    """A seeded world on a real uvicorn, with an httpx client on it; stopped after."""
    clock = ManualClock()
    settings = Settings(db_path=directory / "s.db", now_ms=clock,
                        **{"scrypt_n": SCRYPT_N, **overrides})
    with Live(settings) as server:
        http = httpx.Client(base_url=server.url, timeout=30)
        watch_error_shape(http)
        try:
            yield server, World(http, server.app.state.store, clock).seed()
        finally:
            http.close()


# --- cases -------------------------------------------------------------------------


def record_case(dev: Device, site_id: str, title: str = "欠薪", sector: str = "construction",
                **fields: Any) -> str:
    """A new case at ``site_id`` recorded by ``dev``, asserted applied; its id."""
    case = uuid7()
    ok(dev.sync(dev.upsert("case", case, {"site_id": site_id, "title": title, "sector": sector,
                                          **fields}))[0])
    return case


# --- inspections ---------------------------------------------------------------

CONSTRUCTION = "tpl-construction-v2"


def complete_answers(on_site: int = 12, real_name: int = 12, contracts: int = 12,
                     **overrides: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """An answer for every construction item: all six systems in place by default."""
    answers: dict[str, dict[str, Any]] = {}
    for item in load_templates()[CONSTRUCTION].items:
        if item.answer == "number":
            answers[item.code] = {"answer": 12}
        elif item.answer == "numbers":
            answers[item.code] = {"answer": {p.key: 0 for p in item.parts}}
        elif item.answer == "text":
            answers[item.code] = {"answer": "无"}
        else:
            answers[item.code] = {"answer": "yes"}
    answers["C08"] = {"answer": on_site}
    answers["C10"] = {"answer": real_name}
    answers["C09"] = {"answer": contracts}
    answers.update(overrides)
    return answers


def submit_inspection(dev: Device, site_id: str, answers: dict[str, dict[str, Any]]) -> str:
    """A complete construction inspection, with photos for required items, submitted."""
    insp = uuid7()
    ok(dev.sync(dev.upsert("inspection", insp, {"site_id": site_id, "lat": 29.66,
                                                "lon": 106.38, "answers": answers}))[0])
    required = [i.code for i in load_templates()[CONSTRUCTION].items if i.photo == "required"]
    photos = [dev.insert("photo", uuid7(), {
        "sha256": hashlib.sha256(f"{insp}{code}".encode()).hexdigest(),
        "owner_entity": "inspection", "owner_id": insp, "item_code": code})
        for code in required if (answers.get(code) or {}).get("answer") != "na"]
    for r in dev.sync(*photos):
        ok(r)
    ok(dev.sync(dev.upsert("inspection", insp, {"state": "submitted"}))[0])
    return insp
