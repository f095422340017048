"""Issue 14, findings 5 and 8: uploads are bounded.

Unfinished uploads expire (tus Expiration) and are collected by the server
and by ``sync-server gc``; a device holds a bounded number of unfinished
bytes and a user a bounded number of unfinished uploads; blobs no photo
record names go after a grace period; one PATCH at a time per upload; a
full disk answers 507 and leaves nothing half-written; ``/readyz`` reports
the database, migrations, blob directory and free space.

Fakes only inject faults: ``open`` in the upload service (a file whose
writes hit ENOSPC) and the store's write methods (SQLite's "database or
disk is full").
"""

from __future__ import annotations

import base64
import email.utils
import errno
import hashlib
import logging
import socket
import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

import sync_server.domain.uploads.service as upload_service
import sync_server.blobs.directory as blob_directory
from server.support import (
    DAY_MS,
    AppClient,
    Device,
    ManualClock,
    World,
    device_secret,
    error_of,
    ok,
    serve_world,
)
from shared_schema.ids import uuid7
from sync_server.cli import main as cli_main

MiB = 1024 * 1024
HOUR_MS = 3600 * 1000


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def metadata(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


def create(http: httpx.Client, dev: Device, length: int, digest: str) -> httpx.Response:
    return http.post("/api/v1/uploads", headers={
        **dev.headers, "Tus-Resumable": "1.0.0", "Upload-Length": str(length),
        "Upload-Metadata": metadata(sha256=digest, filename="p.jpg")})


def patch(http: httpx.Client, dev: Device, location: str, offset: int,
          body: bytes) -> httpx.Response:
    return http.patch(location, content=body, headers={
        **dev.headers, "Tus-Resumable": "1.0.0", "Upload-Offset": str(offset),
        "Content-Type": "application/offset+octet-stream"})


def partials(app: AppClient) -> set[str]:
    return {p.name for p in (Path(app.settings.blob_path) / "partial").iterdir()
            if not p.name.startswith(".")}


def upload_rows(app: AppClient) -> int:
    return app.store.conn.execute("SELECT count(*) FROM uploads").fetchone()[0]


@pytest.fixture
def bounded(make_app_client, clock: ManualClock) -> tuple[AppClient, World]:
    app = make_app_client()  # the server's own collector waits gc_interval_ms (1 h) first
    return app, World(app.client, app.store, clock).seed()


# --- expiration ---------------------------------------------------------------------


def test_unfinished_uploads_expire_and_are_collected(bounded, clock: ManualClock) -> None:
    app, world = bounded
    dev = world.device("grid1", "cam-exp")
    r = world.http.options("/api/v1/uploads")
    assert "expiration" in r.headers["Tus-Extension"].split(",")

    data = b"\xff\xd8" + bytes(range(256)) * 40
    r = create(world.http, dev, len(data), sha(data))
    assert r.status_code == 201
    location = r.headers["Location"]
    expires = email.utils.parsedate_to_datetime(r.headers["Upload-Expires"])
    assert expires.timestamp() * 1000 == clock() + app.settings.upload_expiry_ms
    clock.advance(HOUR_MS)
    r = patch(world.http, dev, location, 0, data[:1000])
    assert r.status_code == 204
    # bytes arrived: the expiry moved on from now
    patched = email.utils.parsedate_to_datetime(r.headers["Upload-Expires"])
    assert patched.timestamp() * 1000 == clock() + app.settings.upload_expiry_ms
    head = world.http.head(location, headers=dev.headers)
    assert head.headers["Upload-Expires"] == r.headers["Upload-Expires"]
    upload_id = location.rsplit("/", 1)[1]
    assert upload_id in partials(app)

    clock.advance(app.settings.upload_expiry_ms - 1)  # not yet
    assert upload_service.collect(app.store, app.app.state.blobs,
                                  app.settings).expired_uploads == 0
    assert world.http.head(location, headers=dev.headers).status_code == 200

    clock.advance(1)  # expired: gone for the client at once, and gc removes it
    assert world.http.head(location, headers=dev.headers).status_code == 404
    error_of(patch(world.http, dev, location, 1000, data[1000:]), 404)
    done = upload_service.collect(app.store, app.app.state.blobs, app.settings)
    assert done.expired_uploads == 1 and done.bytes_freed >= 1000
    assert upload_id not in partials(app)
    assert app.store.get_upload(upload_id) is None


def test_gc_command_removes_uploads_expired_by_the_wall_clock(tmp_path: Path, capsys) -> None:
    """``sync-server gc --db DB`` with the real clock: an upload whose last byte
    arrived two days ago goes, with its partial file."""
    from sync_server.settings import Settings
    from sync_server.store.base import UploadRow
    from sync_server.store.sqlite import SqliteStore

    db = tmp_path / "s.db"
    store = SqliteStore(db)
    store.migrate()
    old = Settings().now_ms() - 2 * DAY_MS
    with store.transaction() as tx:
        for id, at in (("old", old), ("fresh", Settings().now_ms())):
            tx.put_upload(UploadRow(id=id, sha256="a" * 64, length=10, offset=3, filename="",
                                    device_id="d", user_id="u", created_at=at))
    store.close()
    blobs = upload_service.BlobStore(tmp_path / "blobs")
    blobs.partial("old").write_bytes(b"abc")
    blobs.partial("fresh").write_bytes(b"abc")
    assert cli_main(["gc", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "removed 1 expired upload(s)" in out, out
    assert not blobs.partial("old").exists() and blobs.partial("fresh").exists()
    store = SqliteStore(db)
    try:
        assert store.get_upload("old") is None and store.get_upload("fresh") is not None
    finally:
        store.close()


def test_the_server_collects_expired_uploads_on_its_own(make_app_client,
                                                        clock: ManualClock) -> None:
    app = make_app_client(gc_interval_ms=10)
    world = World(app.client, app.store, clock).seed()
    dev = world.device("grid1", "cam-bg")
    r = create(world.http, dev, 100, "c" * 64)
    upload_id = r.headers["Location"].rsplit("/", 1)[1]
    clock.advance(app.settings.upload_expiry_ms + 1)
    state = app.app.state
    rounds = state.gc_rounds
    for _ in range(3000):  # wait for two full rounds of the lifespan's collector
        if state.gc_rounds >= rounds + 2:
            break
        time.sleep(0.01)  # the app's event loop runs in the client's portal thread
    assert state.gc_rounds >= rounds + 2, "the collector did not run"
    assert app.store.get_upload(upload_id) is None
    assert upload_id not in partials(app)


# --- quotas -------------------------------------------------------------------------


def test_a_device_cannot_pile_up_unfinished_uploads(bounded) -> None:
    """Finding 5: 100 unfinished 20 MiB uploads were all taken and kept."""
    app, world = bounded
    dev = world.device("grid1", "cam-quota")
    statuses = []
    for i in range(100):
        r = create(world.http, dev, 20 * MiB, f"{i:064x}")
        statuses.append(r.status_code)
        if r.status_code == 429:
            err = error_of(r, 429)
            assert err["code"] == "upload_quota"
            assert int(r.headers["Retry-After"]) > 0
            break
    limit = 10  # the default max_unfinished_bytes, 200 MiB, holds ten 20 MiB photos
    assert statuses == [201] * limit + [429], statuses
    assert app.settings.max_unfinished_bytes == 200 * MiB
    assert upload_rows(app) == limit
    # the same user on another device has a quota of its own ...
    other = world.device("grid1", "cam-quota-2")
    assert create(world.http, other, 20 * MiB, "e" * 64).status_code == 201
    # ... and finishing or abandoning an upload frees room
    r = create(world.http, dev, 1, "f" * 64)
    assert error_of(r, 429)["code"] == "upload_quota"


def test_a_user_has_a_cap_on_unfinished_uploads(make_app_client, clock: ManualClock) -> None:
    app = make_app_client(gc_interval_ms=0, max_unfinished_uploads=3)
    world = World(app.client, app.store, clock).seed()
    devs = [world.device("grid1", f"cam-cap-{i}") for i in range(4)]
    codes = [create(world.http, d, 10, f"{i:064x}").status_code for i, d in enumerate(devs)]
    assert codes == [201, 201, 201, 429]
    r = create(world.http, devs[3], 10, "9" * 64)
    err = error_of(r, 429)
    assert err["code"] == "upload_quota" and err["details"]["limit_uploads"] == 3
    # grid2 is not held back by grid1's uploads
    assert create(world.http, world.device("grid2", "cam-g2"), 10, "8" * 64).status_code == 201


# --- orphan blobs -------------------------------------------------------------------


def _upload(world: World, dev: Device, data: bytes) -> None:
    r = create(world.http, dev, len(data), sha(data))
    assert r.status_code == 201, r.text
    if int(r.headers["Upload-Offset"]) < len(data):
        assert patch(world.http, dev, r.headers["Location"], 0, data).status_code == 204


def test_orphan_blobs_go_after_the_grace_period(bounded, clock: ManualClock) -> None:
    app, world = bounded
    blobs = app.app.state.blobs
    dev = world.device("grid1", "cam-orphan")
    orphan, named, late = b"orphan" * 100, b"named" * 100, b"late" * 100
    for data in (orphan, named, late):
        _upload(world, dev, data)
    insp = uuid7()
    ok(dev.sync(dev.upsert("inspection", insp, {"site_id": world.site1}))[0])
    ok(dev.sync(dev.insert("photo", uuid7(), {"sha256": sha(named), "owner_entity": "inspection",
                                              "owner_id": insp}))[0])

    def collect() -> Any:
        return upload_service.collect(app.store, blobs, app.settings)

    assert collect().orphan_blobs == 0  # the orphans' clock starts now
    clock.advance(app.settings.orphan_grace_ms - 1)
    assert collect().orphan_blobs == 0
    # named before the grace ran out: kept
    ok(dev.sync(dev.insert("photo", uuid7(), {"sha256": sha(late), "owner_entity": "inspection",
                                              "owner_id": insp}))[0])
    clock.advance(1)
    done = collect()
    assert done.orphan_blobs == 1 and done.bytes_freed == len(orphan)
    assert not app.store.has_blob(sha(orphan)) and not blobs.has(sha(orphan))
    for data in (named, late):
        assert app.store.has_blob(sha(data)) and blobs.has(sha(data))
        r = world.http.get(f"/api/v1/blobs/{sha(data)}", headers=dev.headers)
        assert r.content == data
    error_of(world.http.get(f"/api/v1/blobs/{sha(orphan)}", headers=dev.headers), 404)
    clock.advance(10 * app.settings.orphan_grace_ms)
    assert collect().orphan_blobs == 0  # a blob a live record names is never deleted
    # the collected bytes can be sent again (a device still holding them)
    dev = world.device("grid1", "cam-orphan-later")  # 70 days on: a new login
    _upload(world, dev, orphan)
    assert app.store.has_blob(sha(orphan)) and blobs.has(sha(orphan))


def test_a_collection_that_fails_puts_the_files_back(bounded, clock: ManualClock,
                                                     monkeypatch) -> None:
    app, world = bounded
    blobs = app.app.state.blobs
    dev = world.device("grid1", "cam-rollback")
    data = b"keep-me" * 50
    _upload(world, dev, data)
    upload_service.collect(app.store, blobs, app.settings)
    clock.advance(app.settings.orphan_grace_ms)
    real = app.store.transaction

    def failing_after_sweep():  # the commit of the orphans' deletion fails
        from contextlib import contextmanager

        @contextmanager
        def tx():
            with real() as t:
                yield t
                raise sqlite3.OperationalError("database or disk is full")
        return tx()

    monkeypatch.setattr(app.store, "transaction", failing_after_sweep)
    with pytest.raises(sqlite3.OperationalError):
        upload_service.collect(app.store, blobs, app.settings)
    monkeypatch.undo()
    assert app.store.has_blob(sha(data)) and blobs.has(sha(data))


# --- one PATCH at a time ------------------------------------------------------------


def _raw_patch_start(port: int, location: str, dev: Device, offset: int, total: int,
                     first: bytes) -> socket.socket:
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(f"PATCH {location} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
              f"Authorization: {dev.headers['Authorization']}\r\nTus-Resumable: 1.0.0\r\n"
              f"Content-Type: application/offset+octet-stream\r\nUpload-Offset: {offset}\r\n"
              f"Content-Length: {total}\r\n\r\n".encode() + first)
    return s


def _status_of(s: socket.socket) -> int:
    s.settimeout(60)
    head = b""
    while b"\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            break
        head += chunk
    return int(head.split(b" ", 2)[1])


def test_concurrent_patches_on_one_upload_get_upload_busy(tmp_path: Path,
                                                          caplog: pytest.LogCaptureFixture
                                                          ) -> None:
    """Finding 8: three PATCHes at offset 0 at once answered [460, 500, 500];
    HEAD then said complete and GET /blobs was 404."""
    with serve_world(tmp_path) as (server, world):
        dev = world.device("grid1", "cam-race")
        data = bytes(range(256)) * 4096  # 1 MiB
        r = create(world.http, dev, len(data), sha(data))
        location = r.headers["Location"]
        upload_id = location.rsplit("/", 1)[1]
        first = _raw_patch_start(server.port, location, dev, 0, len(data), data[:1000])
        try:
            for _ in range(3000):  # until the first PATCH holds the upload's lock
                if world.store.conn.execute("SELECT lock_token FROM uploads WHERE id=?",
                                            (upload_id,)).fetchone()[0]:
                    break
                time.sleep(0.01)
            answers = [patch(world.http, dev, location, 0, data) for _ in range(2)]
            for a in answers:
                err = error_of(a, 423)
                assert err["code"] == "upload_busy"
                assert a.headers["Retry-After"] == "1"
            assert world.http.head(location, headers=dev.headers).headers["Upload-Offset"] == "0"
            r = world.http.delete(location, headers=dev.headers)
            assert error_of(r, 423)["code"] == "upload_busy"
            first.sendall(data[1000:])
            assert _status_of(first) == 204
        finally:
            first.close()
        head = world.http.head(location, headers=dev.headers)
        assert head.headers["Upload-Offset"] == str(len(data))
        # complete means served (the uploader reads its own bytes)
        assert world.http.get(f"/api/v1/blobs/{sha(data)}", headers=dev.headers).content == data
        # a late PATCH at 0 is told the offset, never a 500
        late = patch(world.http, dev, location, 0, data)
        assert error_of(late, 409)["code"] == "offset_mismatch"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text


def test_three_parallel_patches_never_answer_500(tmp_path: Path) -> None:
    """The finding's own reproduction, with threads: whatever the interleaving,
    each answer is 204, 409 or 423, and the result is consistent."""
    import concurrent.futures

    with serve_world(tmp_path) as (server, world):
        dev = world.device("grid1", "cam-race3")
        data = bytes(range(256)) * 8192  # 2 MiB
        r = create(world.http, dev, len(data), sha(data))
        location = r.headers["Location"]

        start = threading.Barrier(3)

        def pieces() -> Any:
            start.wait(30)  # all three bodies begin together, 64 KiB at a time
            for i in range(0, len(data), 64 * 1024):
                yield data[i:i + 64 * 1024]

        def send(_: int) -> int:
            with httpx.Client(base_url=server.url, timeout=60) as c:
                return c.patch(location, content=pieces(), headers={
                    **dev.headers, "Tus-Resumable": "1.0.0", "Upload-Offset": "0",
                    "Content-Type": "application/offset+octet-stream",
                    "Content-Length": str(len(data))}).status_code

        with concurrent.futures.ThreadPoolExecutor(3) as pool:
            codes = sorted(pool.map(send, range(3)))
        assert all(c in (204, 409, 423) for c in codes), codes
        assert codes.count(204) >= 1, codes
        head = world.http.head(location, headers=dev.headers)
        assert head.headers["Upload-Offset"] == str(len(data))
        assert world.http.get(f"/api/v1/blobs/{sha(data)}", headers=dev.headers).content == data


# --- a full disk ----------------------------------------------------------------------


class _FullFile:
    """A partial file whose disk fills after ``room`` more bytes."""

    def __init__(self, f: Any, room: int) -> None:
        self._f = f
        self._room = room

    def write(self, data: bytes) -> int:
        if len(data) > self._room:
            self._f.write(data[:self._room])  # a short write, then the disk is full
            self._room = 0
            raise OSError(errno.ENOSPC, "No space left on device")
        self._room -= len(data)
        return self._f.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._f, name)

    def __enter__(self) -> "_FullFile":
        self._f.__enter__()
        return self

    def __exit__(self, *exc: Any) -> Any:
        return self._f.__exit__(*exc)


def test_a_full_disk_mid_patch_answers_507_and_keeps_nothing_half_written(
        bounded, monkeypatch, caplog: pytest.LogCaptureFixture) -> None:
    app, world = bounded
    dev = world.device("grid1", "cam-full")
    data = bytes(range(256)) * 200
    r = create(world.http, dev, len(data), sha(data))
    location = r.headers["Location"]
    assert patch(world.http, dev, location, 0, data[:1000]).status_code == 204
    upload_id = location.rsplit("/", 1)[1]
    real_open = open

    def full_open(path: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        f = real_open(path, mode, *args, **kwargs)
        return _FullFile(f, 3000) if ("+" in mode or "w" in mode) else f

    monkeypatch.setattr(blob_directory, "open", full_open, raising=False)  # where partial bytes are written
    r = patch(world.http, dev, location, 1000, data[1000:])
    err = error_of(r, 507)
    assert err["code"] == "storage_full"
    assert r.headers["Upload-Offset"] == "1000"
    head = world.http.head(location, headers=dev.headers)
    assert head.headers["Upload-Offset"] == "1000"
    assert (Path(app.settings.blob_path) / "partial" / upload_id).stat().st_size == 1000
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text

    monkeypatch.undo()  # space again: the upload goes on from where it was
    assert patch(world.http, dev, location, 1000, data[1000:]).status_code == 204
    assert world.http.get(f"/api/v1/blobs/{sha(data)}", headers=dev.headers).content == data


def test_an_upload_that_would_fill_the_disk_is_refused(make_app_client,
                                                       clock: ManualClock) -> None:
    app = make_app_client(gc_interval_ms=0, min_free_bytes=2**62)  # more than any disk
    world = World(app.client, app.store, clock).seed()
    dev = world.device("grid1", "cam-nospace")
    r = create(world.http, dev, 1000, "d" * 64)
    assert error_of(r, 507)["code"] == "storage_full"
    assert upload_rows(app) == 0 and partials(app) == set()


def _disk_full(store: Any, monkeypatch) -> None:
    """SQLite reports a full disk on every write from now on."""
    def full(*args: Any, **kwargs: Any) -> Any:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(store, "transaction", full)
    monkeypatch.setattr(store, "write_grouped", full)


def test_a_full_database_disk_answers_507_on_push_pull_and_login(
        bounded, monkeypatch, caplog: pytest.LogCaptureFixture) -> None:
    """Finding 5: with the disk full, push, pull and login answered 500."""
    app, world = bounded
    dev = world.device("grid1", "cam-dbfull")
    before = app.store.max_rev()
    _disk_full(app.store, monkeypatch)
    r = dev.push_response(dev.upsert("site", world.site1, {"contact_name": "满"}))
    assert error_of(r, 507)["code"] == "storage_full"
    r = world.http.post("/api/v1/auth/login", json={
        "username": "grid1", "password": "pw-治欠", "device_id": "cam-new",
        "device_secret": device_secret("cam-new")})
    err = error_of(r, 507)
    assert err["code"] == "storage_full" and "full" in err["message"]
    fresh = Device(world, "grid1", "cam-dbfull-2", dev.headers)
    r = fresh.pull_response(0)  # a pull that must write the device's scope version
    assert r.status_code in (200, 507), r.text
    if r.status_code == 507:
        assert error_of(r, 507)["code"] == "storage_full"
    monkeypatch.undo()
    assert app.store.max_rev() == before
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info], \
        caplog.text


# --- /readyz --------------------------------------------------------------------------


def test_readyz_reports_database_migrations_blobs_and_free_space(make_app_client) -> None:
    app = make_app_client(gc_interval_ms=0)
    r = app.client.get("/readyz")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "ready"
    assert body["database"] == "ok" and body["migrations"] == "current"
    assert body["blobs"] == "writable"
    assert body["free_bytes"] >= body["min_free_bytes"] == app.settings.min_free_bytes
    assert app.client.get("/healthz").status_code == 200


def test_readyz_is_503_below_the_free_space_setting(make_app_client) -> None:
    app = make_app_client(gc_interval_ms=0, min_free_bytes=2**62)
    r = app.client.get("/readyz")
    err = error_of(r, 503)
    assert err["code"] == "not_ready"
    assert err["details"]["free_bytes"] < err["details"]["min_free_bytes"]
    assert err["details"]["database"] == "ok"


def test_readyz_is_503_when_the_database_fails(make_app_client, monkeypatch) -> None:
    app = make_app_client(gc_interval_ms=0)

    def gone() -> int:
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr(app.store, "max_rev", gone)
    err = error_of(app.client.get("/readyz"), 503)
    assert err["details"]["database"].startswith("unreachable")



def test_a_really_full_database_answers_507_and_keeps_nothing(bounded) -> None:
    """No fake: SQLite itself refuses to grow the file (``max_page_count``)."""
    app, world = bounded
    dev = world.device("grid1", "cam-pages")
    writer = app.store._writer
    pages = writer.execute("PRAGMA page_count").fetchone()[0]
    before = app.store.max_rev()
    writer.execute(f"PRAGMA max_page_count = {pages}")
    try:
        batch = [dev.upsert("case", uuid7(), {"site_id": world.site1, "title": "满页",
                                              "work_done": "满" * 2000,
                                              "sector": "construction"}) for _ in range(40)]
        r = dev.push_response(*batch)
        err = error_of(r, 507)
        assert err["code"] == "storage_full"
        assert app.store.max_rev() == before
    finally:
        writer.execute("PRAGMA max_page_count = 1073741823")
    assert [x["status"] for x in dev.push(*batch)["results"]] == ["applied"] * 40
