"""Photos over tus 1.0 with the stock client (tuspy, on ``requests``) against a
real uvicorn on 127.0.0.1, and the receipt that tells what is still missing."""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import random
import socket
import threading
from pathlib import Path
from typing import Any, Iterator

import pytest
from PIL import Image
from tusclient import client as tus
from tusclient.exceptions import TusUploadFailed

import sync_server.domain.uploads.service as upload_service
from shared_schema.ids import uuid7
from sync_server.domain.errors import DomainError

from .support import Device, Live, World, error_of, ok, serve_world

CHUNK = 256 * 1024
MiB = 1024 * 1024


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Live, World]]:
    with serve_world(tmp_path_factory.mktemp("live")) as served:
        yield served


@pytest.fixture(scope="module")
def jpeg() -> bytes:
    """A real JPEG of random noise, at least 3 MB."""
    rng = random.Random(7)
    side = 1600
    while True:
        img = Image.frombytes("RGB", (side, side), rng.randbytes(side * side * 3))
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=95)
        if buf.tell() >= 3 * MiB:
            return buf.getvalue()
        side += 100


def small_jpeg(seed: int) -> bytes:
    rng = random.Random(seed)
    img = Image.frombytes("RGB", (64, 64), rng.randbytes(64 * 64 * 3))
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=90)
    return buf.getvalue()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class CountingStream(io.BytesIO):
    """A file the tus client reads from, counting the bytes it sends."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.sent = 0
        self.reads: list[int] = []

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.sent += len(chunk)
        self.reads.append(len(chunk))
        return chunk


def tus_client(server: Live, dev: Device) -> tus.TusClient:
    return tus.TusClient(f"{server.url}/api/v1/uploads", headers=dict(dev.headers))


def upload(server: Live, dev: Device, data: bytes, filename: str) -> str:
    """``data`` uploaded whole by the stock tus client in CHUNK-sized chunks; its sha256."""
    digest = sha(data)
    tus_client(server, dev).uploader(
        file_stream=io.BytesIO(data), chunk_size=CHUNK,
        metadata={"sha256": digest, "filename": filename}).upload()
    return digest


def blob_files(server: Live) -> set[str]:
    root = Path(server.settings.blob_path)
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def metadata(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


@pytest.fixture
def device(live) -> Iterator[Device]:
    _, world = live
    yield world.device("grid1", f"cam-{uuid7()[-12:]}")


# --- tus with the stock client ----------------------------------------------------


def test_options_announces_tus(live) -> None:
    server, world = live
    r = world.http.options("/api/v1/uploads")
    assert r.status_code in (200, 204)
    assert r.headers["Tus-Resumable"] == "1.0.0"
    assert "1.0.0" in r.headers["Tus-Version"].split(",")
    assert {"creation", "termination"} <= set(r.headers["Tus-Extension"].split(","))
    assert int(r.headers["Tus-Max-Size"]) == server.settings.max_upload_bytes


def test_the_stock_client_uploads_3mb_in_256kb_chunks(live, jpeg: bytes, device: Device) -> None:
    server, world = live
    digest = sha(jpeg)
    assert len(jpeg) >= 3 * MiB
    stream = CountingStream(jpeg)
    up = tus_client(server, device).uploader(
        file_stream=stream, chunk_size=CHUNK, metadata={"sha256": digest, "filename": "a.jpg"})
    up.upload()
    assert stream.sent == len(jpeg)
    assert all(n == CHUNK for n in stream.reads[:-1]) and 0 < stream.reads[-1] <= CHUNK
    assert len(stream.reads) == -(-len(jpeg) // CHUNK)

    r = world.http.get(f"/api/v1/blobs/{digest}", headers=device.headers)
    assert r.status_code == 200
    assert r.content == jpeg
    assert r.headers["content-type"].startswith("image/jpeg")
    head = world.http.head(f"/api/v1/blobs/{digest}", headers=device.headers)
    assert head.status_code == 200 and int(head.headers["content-length"]) == len(jpeg)
    assert f"{digest[:2]}/{digest}" in blob_files(server)
    assert world.store.has_blob(digest)


def test_a_blob_is_readable_by_whoever_sees_a_photo_naming_it(live, device: Device) -> None:
    server, world = live
    data = small_jpeg(1)
    digest = upload(server, device, data, "b.jpg")
    sector = world.device("sector1", f"sec-{uuid7()[-12:]}")  # department 1: site 1
    grid2 = world.device("grid2", f"g2-{uuid7()[-12:]}")  # village 2: not site 1
    path = f"/api/v1/blobs/{digest}"
    for dev in (sector, grid2):
        error_of(world.http.get(path, headers=dev.headers), 404)
        assert world.http.head(path, headers=dev.headers).status_code == 404

    insp = uuid7()
    results = device.sync(
        device.upsert("inspection", insp, {"site_id": world.site1}),
        device.insert("photo", uuid7(), {"sha256": digest, "owner_entity": "inspection",
                                         "owner_id": insp, "item_code": "C08",
                                         "bytes": len(data)}))
    assert [r["status"] for r in results] == ["applied", "applied"]
    assert world.http.get(path, headers=sector.headers).content == data
    office = world.device("office1", f"off-{uuid7()[-12:]}")
    assert world.http.get(path, headers=office.headers).content == data
    error_of(world.http.get(path, headers=grid2.headers), 404)


def test_a_cut_upload_resumes_from_the_servers_offset(live, jpeg: bytes,
                                                      device: Device) -> None:
    server, world = live
    data = jpeg[:-1] + b"\x01" if jpeg[-1] != 1 else jpeg[:-1] + b"\x02"  # a new blob
    digest = sha(data)
    half = len(data) // 2
    first = tus_client(server, device).uploader(
        file_stream=io.BytesIO(data), chunk_size=CHUNK,
        metadata={"sha256": digest, "filename": "c.jpg"})
    first.upload(stop_at=half)
    assert first.offset == half

    head = world.http.head(first.url.removeprefix(server.url), headers=device.headers)
    assert head.status_code == 200
    assert int(head.headers["Upload-Offset"]) == half
    assert int(head.headers["Upload-Length"]) == len(data)
    assert not world.store.has_blob(digest)

    stream = CountingStream(data)
    resumed = tus_client(server, device).uploader(file_stream=stream, chunk_size=CHUNK,
                                                  url=first.url)
    assert resumed.offset == half  # asked the server
    resumed.upload()
    assert stream.sent == len(data) - half
    r = world.http.get(f"/api/v1/blobs/{digest}", headers=device.headers)
    assert r.content == data


class AppendDone(threading.Event):
    """Set when the server has finished handling a PATCH, however it ended;
    ``raised`` is the exception it ended with, if any."""

    raised: BaseException | None = None


@pytest.fixture
def append_done(monkeypatch) -> AppendDone:
    done = AppendDone()
    real = upload_service.append

    async def observed(*args: Any, **kwargs: Any):
        try:
            return await real(*args, **kwargs)
        except BaseException as exc:
            done.raised = exc
            raise
        finally:
            done.set()

    monkeypatch.setattr(upload_service, "append", observed)
    return done


def test_a_connection_cut_mid_patch_keeps_what_arrived(live, device: Device,
                                                       append_done: AppendDone,
                                                       caplog: pytest.LogCaptureFixture) -> None:
    server, world = live
    data = random.Random(11).randbytes(2 * MiB)
    digest = sha(data)
    r = world.http.post("/api/v1/uploads", headers={
        **device.headers, "Tus-Resumable": "1.0.0", "Upload-Length": str(len(data)),
        "Upload-Metadata": metadata(sha256=digest, filename="d.jpg")})
    assert r.status_code == 201
    location = r.headers["Location"]

    # send the headers and 700 KB of a 2 MB PATCH, then drop the connection
    sent = 700 * 1024
    with socket.create_connection(("127.0.0.1", server.port)) as s:
        s.sendall(
            f"PATCH {location} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Authorization: {device.headers['Authorization']}\r\nTus-Resumable: 1.0.0\r\n"
            f"Content-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\n"
            f"Content-Length: {len(data)}\r\n\r\n".encode() + data[:sent])
    assert append_done.wait(30), "the server never finished the cut PATCH"
    # a phone losing signal is not a server fault: a client error, nothing in the error log
    assert isinstance(append_done.raised, DomainError), append_done.raised
    assert append_done.raised.code == "client_disconnected"
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR], caplog.text

    head = world.http.head(location, headers=device.headers)
    offset = int(head.headers["Upload-Offset"])
    assert 0 <= offset <= sent
    stream = CountingStream(data)
    tus_client(server, device).uploader(file_stream=stream, chunk_size=CHUNK,
                                        url=f"{server.url}{location}").upload()
    assert stream.sent == len(data) - offset
    assert world.http.get(f"/api/v1/blobs/{digest}", headers=device.headers).content == data


def test_a_wrong_sha256_is_refused_and_stores_nothing(live, device: Device) -> None:
    server, world = live
    data = small_jpeg(2)
    claimed = sha(b"something else")
    before = blob_files(server)
    up = tus_client(server, device).uploader(
        file_stream=io.BytesIO(data), chunk_size=CHUNK,
        metadata={"sha256": claimed, "filename": "e.jpg"})
    with pytest.raises(TusUploadFailed) as info:
        up.upload()
    assert info.value.status_code == 460
    assert b'"checksum_mismatch"' in info.value.response_content
    assert blob_files(server) == before
    for h in (claimed, sha(data)):
        assert world.http.head(f"/api/v1/blobs/{h}", headers=device.headers).status_code == 404
        assert not world.store.has_blob(h)
    assert world.http.head(up.url.removeprefix(server.url),
                           headers=device.headers).status_code == 404


def test_a_second_upload_of_the_same_bytes_sends_nothing(live, device: Device) -> None:
    server, world = live
    data = small_jpeg(3)
    digest = upload(server, device, data, "f.jpg")
    before = blob_files(server)

    other = world.device("grid1", f"cam2-{uuid7()[-12:]}")
    r = world.http.post("/api/v1/uploads", headers={
        **other.headers, "Tus-Resumable": "1.0.0", "Upload-Length": str(len(data)),
        "Upload-Metadata": metadata(sha256=digest, filename="f-again.jpg")})
    assert r.status_code == 201
    assert int(r.headers["Upload-Offset"]) == len(data)
    head = world.http.head(r.headers["Location"], headers=other.headers)
    assert int(head.headers["Upload-Offset"]) == len(data)
    assert blob_files(server) == before


def test_upload_limits_and_offsets(live, device: Device) -> None:
    server, world = live
    tus_headers = {**device.headers, "Tus-Resumable": "1.0.0"}
    too_big = server.settings.max_upload_bytes + 1
    r = world.http.post("/api/v1/uploads", headers={
        **tus_headers, "Upload-Length": str(too_big),
        "Upload-Metadata": metadata(sha256="a" * 64)})
    assert error_of(r, 413)["code"] == "too_large"

    r = world.http.post("/api/v1/uploads", headers={
        **tus_headers, "Upload-Length": "10", "Upload-Metadata": metadata(filename="x.jpg")})
    assert error_of(r, 400)["code"] == "invalid_metadata"

    r = world.http.post("/api/v1/uploads", headers={
        **tus_headers, "Upload-Length": "10", "Upload-Metadata": metadata(sha256="b" * 64)})
    location = r.headers["Location"]
    patch = {**tus_headers, "Content-Type": "application/offset+octet-stream"}
    r = world.http.patch(location, headers={**patch, "Upload-Offset": "4"}, content=b"xxxxxx")
    assert error_of(r, 409)["code"] == "offset_mismatch"
    assert r.headers["Upload-Offset"] == "0"
    r = world.http.patch(location, headers={**patch, "Upload-Offset": "0"}, content=b"x" * 11)
    assert error_of(r, 413)["code"] == "too_large"

    # an upload is its user's, on any of their devices (the token's user, not a
    # device id, decides); another user does not see it
    same_user = world.device("grid1", f"other-{uuid7()[-12:]}")
    assert world.http.head(location, headers=same_user.headers).status_code == 200
    stranger = world.device("grid2", f"other-{uuid7()[-12:]}")
    assert world.http.head(location, headers=stranger.headers).status_code == 404
    r = world.http.delete(location, headers=stranger.headers)
    error_of(r, 404)
    assert world.http.delete(location, headers=device.headers).status_code == 204
    assert world.http.head(location, headers=device.headers).status_code == 404


# --- the receipt ------------------------------------------------------------------


def test_the_receipt_counts_and_names_missing_photos(live, device: Device) -> None:
    server, world = live
    data = small_jpeg(4)
    digest = sha(data)
    case = uuid7()
    batch = [
        device.upsert("case", case, {"site_id": world.site1, "title": "收据测试",
                                     "sector": "construction"}),
        device.insert("photo", uuid7(), {"sha256": digest, "owner_entity": "case",
                                         "owner_id": case}),
        device.upsert("site", world.site2, {"contact_name": "越界"}),  # rejected
    ]
    results = device.sync(*batch)
    assert [r["status"] for r in results] == ["applied", "applied", "rejected"]
    receipt = device.receipt()
    assert receipt["device_id"] == device.device_id
    assert receipt["mutations_received"] == 3
    assert receipt["mutations_applied"] == 2
    assert receipt["mutations_rejected"] == 1
    assert receipt["last_seq"] == batch[-1]["seq"]
    assert receipt["photos_missing"] == [digest]
    assert receipt.get("photos_verified", []) == []
    assert receipt.get("photos_received", 0) == 0
    assert receipt["last_push_ms"] == world.clock()
    assert receipt["last_pull_ms"] == world.clock()

    device.sync(*batch)  # replays are not counted again
    assert device.receipt()["mutations_received"] == 3

    assert upload(server, device, data, "g.jpg") == digest
    receipt = device.receipt()
    assert receipt.get("photos_missing", []) == []
    assert receipt["photos_verified"] == [digest]
    assert receipt["photos_received"] == 1


def test_a_photo_uploaded_before_its_record_counts_once_named(live, device: Device) -> None:
    server, world = live
    digest = upload(server, device, small_jpeg(5), "h.jpg")
    assert device.receipt().get("photos_verified", []) == []  # no record names it yet
    insp = uuid7()
    ok(device.sync(device.upsert("inspection", insp, {"site_id": world.site1}))[0])
    ok(device.sync(device.insert("photo", uuid7(), {
        "sha256": digest, "owner_entity": "inspection", "owner_id": insp}))[0])
    receipt = device.receipt()
    assert receipt["photos_verified"] == [digest]
    assert receipt.get("photos_missing", []) == []
