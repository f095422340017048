"""PostgreSQL goes away under a running server (its connections cut, new ones
refused), then comes back: requests answer 503 ``database_unavailable`` with
``Retry-After`` meanwhile, nothing half-done is kept, and the same push
succeeds afterwards."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any, Iterator

import pytest
from litestar.testing import TestClient

from server.support import SCRYPT_N, ManualClock, World, assert_error_shape, watch_error_shape
from sync_server.app import create_app
from sync_server.settings import Settings


class Link:
    """A loopback TCP relay to PostgreSQL that can be cut and restored on the
    same port (the database host going away and coming back)."""

    def __init__(self, upstream: tuple[str, int]) -> None:
        self.upstream = upstream
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.conns: list[socket.socket] = []
        self.lock = threading.Lock()
        self.listener: socket.socket | None = None

    def restore(self) -> None:
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", self.port))
        self.listener.listen(32)
        threading.Thread(target=self._accept, args=(self.listener,), daemon=True).start()

    def cut(self) -> None:
        if self.listener is not None:
            try:
                self.listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
            except OSError:
                pass
            self.listener.close()
            self.listener = None
        with self.lock:
            conns, self.conns = self.conns, []
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            c.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # cut
            server = socket.create_connection(self.upstream, timeout=5)
            with self.lock:
                self.conns += [client, server]
            for src, dst in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    @staticmethod
    def _pump(src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.close()
            except OSError:
                pass


@pytest.fixture
def linked(pg_store_db: str) -> Iterator[tuple[Any, World, Link]]:
    from urllib.parse import urlsplit

    parts = urlsplit(pg_store_db)
    link = Link((parts.hostname or "127.0.0.1", parts.port or 5432))
    link.restore()
    via_link = pg_store_db.replace(f"{parts.hostname}:{parts.port}", f"127.0.0.1:{link.port}")
    clock = ManualClock()
    settings = Settings(database_url=via_link, now_ms=clock, scrypt_n=SCRYPT_N,
                        db_connect_timeout_s=2.0, gc_interval_ms=0)
    app = create_app(settings)
    try:
        with TestClient(app, raise_server_exceptions=False) as http:
            watch_error_shape(http)
            yield http, World(http, app.state.store, clock).seed(), link
    finally:
        link.cut()


def test_the_database_away_answers_503_then_the_retry_succeeds(linked) -> None:
    http, world, link = linked
    dev = world.device("grid1", "devA")
    first = dev.upsert("site", world.site1, {"contact_phone": "13599990000"})
    assert http.get("/readyz").status_code == 200

    link.cut()
    r = dev.push_response(first)
    assert r.status_code == 503, r.text
    assert assert_error_shape(r)["code"] == "database_unavailable"
    assert r.headers["Retry-After"] == "5"
    r = http.get("/api/v1/sync/pull", params={"since": 0}, headers=dev.headers)
    assert r.status_code == 503 and r.headers["Retry-After"] == "5"
    ready = http.get("/readyz")
    assert ready.status_code == 503 and ready.json()["error"]["details"]["database"].startswith(
        "unreachable")

    link.restore()  # the database is back: the phone sends the same mutation again, as its
    # outbox does after a 503 (Retry-After), until the pool has reconnected (its back-off)
    deadline = time.monotonic() + 30
    r = dev.push_response(first)
    while r.status_code == 503 and time.monotonic() < deadline:
        assert assert_error_shape(r)["code"] == "database_unavailable"
        time.sleep(0.5)
        r = dev.push_response(first)
    assert r.status_code == 200, r.text
    # applied now, not a duplicate: the push that met the 503 committed nothing
    assert r.json()["results"][0]["status"] == "applied"
    assert http.get("/readyz").status_code == 200
