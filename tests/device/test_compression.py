"""The device's content codings (docs/protocol.md "Compression"): it asks
for zstd first, sends push bodies in zstd once the server says it takes them,
and falls back to gzip (or plain JSON) against a server that does not offer
zstd — injected here by replacing the server's negotiation."""

from __future__ import annotations

import gzip
from typing import Any, Callable

import httpx
import msgspec
import pytest
import zstandard

from field_app.core import Device
from field_app.core.sync import PULL, PUSH
from shared_schema import wire
from sync_server import http as server_http
from sync_server.domain.sync import controller
from sync_server.domain.errors import DomainError

from .support import FaultTransport, LiveServer


class Capture(FaultTransport):
    """Records each sync request's codings and its push bodies, decoded."""

    def __init__(self) -> None:
        super().__init__()
        self.seen: list[dict[str, Any]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path not in (PUSH, PULL):
            return super().handle_request(request)
        sent = request.read()
        response = super().handle_request(request)
        coding = request.headers.get("content-encoding")
        body = sent
        if coding == "zstd":
            body = zstandard.ZstdDecompressor().decompressobj().decompress(sent)
        elif coding == "gzip":
            body = gzip.decompress(sent)
        self.seen.append({"path": request.url.path, "accept": request.headers.get("accept-encoding"),
                          "sent_coding": coding, "sent": len(sent), "body": body,
                          "answer_coding": response.headers.get("content-encoding")})
        return response

    def pushes(self) -> list[dict[str, Any]]:
        return [s for s in self.seen if s["path"] == PUSH]

    def pulls(self) -> list[dict[str, Any]]:
        return [s for s in self.seen if s["path"] == PULL]


def record_big_inspection(dev: Device, server: LiveServer) -> list[wire.Mutation]:
    """Edits whose push body is well over 1 KiB (compressed when the server takes it)."""
    dev.update_site(server.town.site1, contact_name="陈", address="长江路1号")
    insp = dev.start_inspection(server.town.site1)
    dev.answer(insp, "C01", "yes", note="见" * 600)
    with dev.store.read() as tx:
        return [e.mutation for e in tx.outbox()]


def exchange(make_device: Callable[..., Device], server: LiveServer) -> tuple[Capture, Capture,
                                                                               list[wire.Mutation]]:
    """Device A pushes a large inspection, device B pulls it from 0."""
    a_log, b_log = Capture(), Capture()
    a = make_device("A", server, "grid1", transport=a_log)
    expected = record_big_inspection(a, server)
    assert a.sync().ok
    b = make_device("B", server, "grid1", transport=b_log)
    with b.store.read() as tx:
        assert tx.count("records", "entity='inspection'") == 1
    return a_log, b_log, expected


def pushed(log: Capture) -> list[wire.Mutation]:
    return [m for p in log.pushes()
            for m in msgspec.json.decode(p["body"], type=wire.PushRequest).mutations]


def test_the_device_asks_for_zstd_first_and_pushes_zstd(server: LiveServer, make_device) -> None:
    a_log, b_log, expected = exchange(make_device, server)
    for s in a_log.seen + b_log.seen:
        assert s["accept"].split(",")[0].strip() == "zstd"
    [push] = a_log.pushes()
    assert push["sent_coding"] == "zstd"
    assert push["sent"] < len(push["body"]) / 2
    assert pushed(a_log) == expected
    # B's pull from 0 carries the inspection (over 1 KiB): answered in zstd
    assert "zstd" in [p["answer_coding"] for p in b_log.pulls()]
    assert "gzip" not in [s["answer_coding"] for s in a_log.seen + b_log.seen]


@pytest.fixture
def gzip_only_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server as before zstd: gzip answers, gzip advertised, and a zstd
    request body refused (so a device that sent one anyway would fail)."""
    monkeypatch.setattr(controller, "ACCEPTS", {"Accept-Encoding": "gzip"})
    monkeypatch.setattr(controller, "response_coding",
                        lambda request: "gzip" if server_http.accepts_gzip(request) else None)

    def refuse(body: bytes, limit: int) -> bytes:
        raise DomainError("unsupported_encoding", "this server takes no zstd")

    monkeypatch.setattr(server_http, "_unzstd", refuse)


def test_the_device_falls_back_to_gzip_against_a_server_without_zstd(
        gzip_only_server: None, server: LiveServer, make_device) -> None:
    a_log, b_log, expected = exchange(make_device, server)
    [push] = a_log.pushes()
    assert push["sent_coding"] == "gzip"
    assert pushed(a_log) == expected
    assert "gzip" in [p["answer_coding"] for p in b_log.pulls()]
    assert "zstd" not in [s["answer_coding"] for s in a_log.seen + b_log.seen]


@pytest.fixture
def plain_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """A server that offers no compression at all (advertises nothing)."""
    monkeypatch.setattr(controller, "ACCEPTS", {})
    monkeypatch.setattr(controller, "response_coding", lambda request: None)


def test_the_device_sends_plain_json_to_a_server_that_offers_nothing(
        plain_server: None, server: LiveServer, make_device) -> None:
    a_log, b_log, expected = exchange(make_device, server)
    [push] = a_log.pushes()
    assert push["sent_coding"] is None
    assert pushed(a_log) == expected
    assert {s["answer_coding"] for s in a_log.seen + b_log.seen} == {None}


def test_a_device_build_without_zstandard_uses_gzip(monkeypatch: pytest.MonkeyPatch,
                                                    server: LiveServer, make_device) -> None:
    """A device whose package set lacks ``zstandard`` (field_app.core.api.ZSTD
    false) neither asks for zstd nor sends it, even to a server offering it."""
    from field_app.core import api

    monkeypatch.setattr(api, "ZSTD", False)
    monkeypatch.setattr(api, "ACCEPT_ENCODING", "gzip")
    a_log, b_log, expected = exchange(make_device, server)
    assert {s["accept"] for s in a_log.seen + b_log.seen} == {"gzip"}
    [push] = a_log.pushes()
    assert push["sent_coding"] == "gzip"
    assert pushed(a_log) == expected
    assert "gzip" in [p["answer_coding"] for p in b_log.pulls()]
    assert "zstd" not in [s["answer_coding"] for s in a_log.seen + b_log.seen]
