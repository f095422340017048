"""The server's operational surface on the real app: photos through either
blob engine, the request id, JSON logs, /metrics and 503 while the
database is unreachable."""

from __future__ import annotations

import json
import logging
from typing import Any, Iterator

import pytest
from litestar.testing import TestClient

from ops.conftest import photo, sha, tus_metadata
from server.support import (
    SCRYPT_N,
    AppClient,
    Device,
    ManualClock,
    World,
    assert_error_shape,
    watch_error_shape,
)
from sync_server.app import create_app
from sync_server.observability import JsonFormatter, RequestIdFilter
from sync_server.settings import Settings
from sync_server.store import StoreUnavailable


def tus_upload(http: Any, dev: Device, data: bytes, cut: int) -> str:
    """POST, then two PATCHes (the second from ``cut``); the upload's URL."""
    r = http.post("/api/v1/uploads", headers={**dev.headers, "Tus-Resumable": "1.0.0",
                                              "Upload-Length": str(len(data)),
                                              "Upload-Metadata": tus_metadata(data)})
    assert r.status_code == 201, r.text
    location = r.headers["Location"]
    for start, end in ((0, cut), (cut, len(data))):
        r = http.patch(location, content=data[start:end], headers={
            **dev.headers, "Tus-Resumable": "1.0.0", "Upload-Offset": str(start),
            "Content-Type": "application/offset+octet-stream"})
        assert r.status_code == 204, r.text
        assert r.headers["Upload-Offset"] == str(end)
    return location


@pytest.fixture
def pg_app(pg_store_db: str, pg_db: str, clock: ManualClock) -> Iterator[tuple[AppClient, World]]:
    """The app on a PostgreSQL store with its photos in another PostgreSQL database."""
    settings = Settings(database_url=pg_store_db, blobs_url=pg_db, now_ms=clock,
                        scrypt_n=SCRYPT_N)
    app = create_app(settings)
    with TestClient(app) as client:
        watch_error_shape(client)
        started = AppClient(app, client, settings)
        yield started, World(client, started.store, clock).seed()
        started.closed = True


def test_photos_in_postgresql_upload_download_and_collect(pg_app, clock: ManualClock) -> None:
    from sync_server.domain.uploads.service import collect

    app, world = pg_app
    assert app.app.state.blobs.kind == "postgresql"
    dev = world.device("grid1", "cam-pg")
    data = photo(2_300_000)
    location = tus_upload(world.http, dev, data, cut=1_100_000)
    assert world.http.head(location, headers=dev.headers).headers["Upload-Offset"] == str(len(data))
    r = world.http.get(f"/api/v1/blobs/{sha(data)}", headers=dev.headers)
    assert r.status_code == 200 and r.content == data
    assert r.headers["Content-Length"] == str(len(data))
    assert world.http.head(f"/api/v1/blobs/{sha(data)}",
                           headers=dev.headers).headers["Content-Length"] == str(len(data))
    # another user, who neither sent the bytes nor sees a record naming them
    other = world.device("grid2", "cam-pg2")
    assert world.http.get(f"/api/v1/blobs/{sha(data)}", headers=other.headers).status_code == 404

    ready = world.http.get("/readyz").json()
    assert ready["blob_store"] == "postgresql" and ready["blobs"] == "writable"

    # no photo record names it: an orphan, collected after the grace period
    collect(app.store, app.app.state.blobs, app.settings)
    clock.advance(app.settings.orphan_grace_ms + 1)
    done = collect(app.store, app.app.state.blobs, app.settings)
    assert done.orphan_blobs == 1 and done.bytes_freed == len(data)
    assert world.http.get(f"/api/v1/blobs/{sha(data)}", headers=dev.headers).status_code == 404


def test_an_unfinished_postgresql_upload_expires_with_its_bytes(pg_app, clock: ManualClock) -> None:
    from sync_server.domain.uploads.service import collect

    app, world = pg_app
    dev = world.device("grid1", "cam-pg")
    data = photo(50_000)
    r = world.http.post("/api/v1/uploads", headers={**dev.headers, "Tus-Resumable": "1.0.0",
                                                    "Upload-Length": str(len(data)),
                                                    "Upload-Metadata": tus_metadata(data)})
    r = world.http.patch(r.headers["Location"], content=data[:20_000], headers={
        **dev.headers, "Tus-Resumable": "1.0.0", "Upload-Offset": "0",
        "Content-Type": "application/offset+octet-stream"})
    assert r.status_code == 204
    assert app.app.state.blobs.partial_count() == 1
    clock.advance(app.settings.upload_expiry_ms)
    done = collect(app.store, app.app.state.blobs, app.settings)
    assert done.expired_uploads == 1 and done.bytes_freed == 20_000
    assert app.app.state.blobs.partial_count() == 0


# --- request id and logs -------------------------------------------------------------


def test_the_request_id_is_taken_or_made_and_echoed(app_client: AppClient) -> None:
    http = app_client.client
    r = http.get("/healthz", headers={"X-Request-ID": "nginx-3f2a9c"})
    assert r.headers["X-Request-ID"] == "nginx-3f2a9c"
    made = http.get("/healthz").headers["X-Request-ID"]
    assert len(made) == 32 and made != http.get("/healthz").headers["X-Request-ID"]
    # a header that is not a sane token is not echoed into logs and answers
    r = http.get("/healthz", headers={"X-Request-ID": "x" * 200})
    assert r.headers["X-Request-ID"] != "x" * 200 and len(r.headers["X-Request-ID"]) == 32
    err = http.get("/api/v1/sync/pull", headers={"X-Request-ID": "req-401"})
    assert err.status_code == 401 and err.headers["X-Request-ID"] == "req-401"


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[str] = []
        self.setFormatter(JsonFormatter())
        self.addFilter(RequestIdFilter())

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def json_lines():
    handler = _Lines()
    logger = logging.getLogger("sync_server")
    logger.addHandler(handler)
    yield handler.lines
    logger.removeHandler(handler)


def test_a_server_fault_is_logged_as_json_with_its_request_id(
        make_app_client, json_lines: list[str], monkeypatch) -> None:
    app = make_app_client(raise_server_exceptions=False)
    world = World(app.client, app.store, ManualClock()).seed()
    dev = world.device("grid1", "devA", pull=False)

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("a bug")

    monkeypatch.setattr(app.store, "change_rows_since", broken)  # the fault injected
    r = world.http.get("/api/v1/sync/pull", params={"since": 0},
                       headers={**dev.headers, "X-Request-ID": "trace-500"})
    assert r.status_code == 500 and assert_error_shape(r)["code"] == "internal_error"
    assert "a bug" not in r.text
    logged = [json.loads(line) for line in json_lines]
    fault = [e for e in logged if e["request_id"] == "trace-500"]
    assert fault and fault[0]["level"] == "error" and "RuntimeError: a bug" in fault[0]["exception"]


def test_the_database_down_answers_503_with_retry_after(
        make_app_client, json_lines: list[str], monkeypatch) -> None:
    app = make_app_client(raise_server_exceptions=False)
    world = World(app.client, app.store, ManualClock()).seed()
    dev = world.device("grid1", "devA", pull=False)

    def down(*args: Any, **kwargs: Any) -> Any:
        raise StoreUnavailable("connection refused")

    monkeypatch.setattr(app.store, "change_rows_since", down)  # the fault injected
    monkeypatch.setattr(app.store, "transaction", down)
    r = world.http.get("/api/v1/sync/pull", params={"since": 0}, headers=dev.headers)
    assert r.status_code == 503 and r.headers["Retry-After"] == "5"
    assert assert_error_shape(r)["code"] == "database_unavailable"
    r = dev.push_response(dev.insert("site", "s-new", {"name": "新工地", "kind": "construction"}))
    assert r.status_code == 503 and r.headers["Retry-After"] == "5"
    assert any(json.loads(line)["message"].startswith("database unavailable") for line in json_lines)


# --- metrics ---------------------------------------------------------------------------


def _metric(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            if all(f'{k}="{v}"' in line for k, v in labels.items()):
                total += float(line.rsplit(" ", 1)[1])
    return total


def test_metrics_count_requests_mutations_and_uploads(world: World) -> None:
    http = world.http
    before = http.get("/metrics").text
    dev = world.device("grid1", "devM")
    dev.push(dev.upsert("site", world.site1, {"contact_phone": "13500000000"}))
    data = photo(40_000, seed=9)
    tus_upload(http, dev, data, cut=10_000)
    r = http.get("/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    after = r.text
    assert (_metric(after, "wage_patrol_requests_total", path="/api/v1/sync/push")
            - _metric(before, "wage_patrol_requests_total", path="/api/v1/sync/push")) == 1
    assert _metric(after, "wage_patrol_request_duration_seconds_count", path="/api/v1/sync/pull") >= 1
    assert (_metric(after, "wage_patrol_mutations_total", status="applied")
            - _metric(before, "wage_patrol_mutations_total", status="applied")) == 1
    assert (_metric(after, "wage_patrol_uploads_total", event="completed")
            - _metric(before, "wage_patrol_uploads_total", event="completed")) == 1
    assert (_metric(after, "wage_patrol_upload_bytes_total")
            - _metric(before, "wage_patrol_upload_bytes_total")) == len(data)
    assert _metric(after, "wage_patrol_open_uploads") == 0
    r = http.post("/api/v1/uploads", headers={**dev.headers, "Tus-Resumable": "1.0.0",
                                              "Upload-Length": "10",
                                              "Upload-Metadata": tus_metadata(b"0123456789")})
    assert r.status_code == 201
    assert _metric(http.get("/metrics").text, "wage_patrol_open_uploads") == 1  # read at the scrape


def test_metrics_can_be_turned_off(make_app_client) -> None:
    app = make_app_client(metrics=False)
    assert app.client.get("/metrics").status_code == 404
