"""Content codings of sync bodies (docs/protocol.md "Compression"): zstd
preferred, gzip as before, identity for clients that ask for nothing; push
bodies in zstd or gzip, bad ones 400 in the one error shape, and the size limit
holding for the decompressed bytes."""

from __future__ import annotations

import gzip
import json
from typing import Any

import httpx
import pytest
import zstandard

from .support import AppClient, Device, World, error_of, ok

PUSH = "/api/v1/sync/push"
PULL = "/api/v1/sync/pull"


@pytest.fixture
def small_world(make_app_client, clock) -> World:
    app: AppClient = make_app_client(max_push_bytes=4096, max_mutations=3)
    return World(app.client, app.store, clock).seed()


def state_of(world: World) -> tuple[Any, ...]:
    s = world.store
    return (s.max_rev(), [(r.id, r.rev) for r in s.records("site")])


def big_pull(world: World) -> Device:
    """A device whose pull from 0 is well over 1 KiB (compressed when asked)."""
    dev = world.device("grid1", "devA")
    ok(dev.sync(dev.upsert("site", world.site1, {"address": "长江路" * 160}))[0])
    return dev


def pull(world: World, dev: Device, accept: str) -> httpx.Response:
    r = world.http.get(PULL, params={"since": 0},
                       headers={**dev.headers, "Accept-Encoding": accept})
    assert r.status_code == 200, r.text
    return r


def body_of(dev: Device, *mutations: dict[str, Any]) -> bytes:
    return json.dumps({"protocol": 1, "device_id": dev.device_id,
                       "client_time_ms": dev.world.clock(),
                       "mutations": list(mutations)}).encode()


def post(world: World, dev: Device, body: bytes, coding: str | None,
         accept: str = "zstd, gzip") -> httpx.Response:
    headers = {**dev.headers, "Content-Type": "application/json", "Accept-Encoding": accept}
    if coding:
        headers["Content-Encoding"] = coding
    return world.http.post(PUSH, content=body, headers=headers)


# --- responses ------------------------------------------------------------------


@pytest.mark.parametrize("accept, coding", [
    ("zstd, gzip", "zstd"),
    ("gzip, deflate, br, zstd", "zstd"),  # httpx's default with zstandard installed
    ("zstd", "zstd"),
    ("gzip", "gzip"),  # an old device: gzip as before
    ("gzip, deflate", "gzip"),
    ("x-gzip", "gzip"),
    ("*", "gzip"),
    ("zstd;q=0, gzip", "gzip"),
    ("zstd;q=0.5, gzip", "gzip"),  # the client prefers gzip
    ("zstd;q=1, gzip;q=0.5", "zstd"),
    ("identity", None),
    ("gzip;q=0, zstd;q=0", None),
])
def test_a_pull_answer_is_coded_as_the_client_accepts(world: World, accept: str,
                                                      coding: str | None) -> None:
    dev = big_pull(world)
    plain = pull(world, dev, "identity")
    assert "content-encoding" not in plain.headers
    r = pull(world, dev, accept)
    assert r.headers.get("content-encoding") == coding
    if coding:
        assert r.headers["vary"] == "Accept-Encoding"
        assert int(r.headers["content-length"]) < len(plain.content) / 3
    # the same JSON whatever the coding (httpx decodes zstd and gzip)
    assert r.json() == plain.json()
    # every sync answer says which request codings the server takes, zstd first
    assert r.headers["accept-encoding"] == "zstd, gzip"


def test_zstd_on_the_wire_is_a_valid_zstd_frame_of_the_json(world: World) -> None:
    dev = big_pull(world)
    plain = pull(world, dev, "identity").content
    with world.http.stream("GET", PULL, params={"since": 0},
                           headers={**dev.headers, "Accept-Encoding": "zstd"}) as r:
        raw = b"".join(r.iter_raw())
    assert r.headers["content-encoding"] == "zstd"
    assert zstandard.ZstdDecompressor().decompressobj().decompress(raw) == plain
    with world.http.stream("GET", PULL, params={"since": 0},
                           headers={**dev.headers, "Accept-Encoding": "gzip"}) as r:
        raw = b"".join(r.iter_raw())
    assert r.headers["content-encoding"] == "gzip"
    assert gzip.decompress(raw) == plain


def test_small_answers_are_not_compressed(world: World) -> None:
    dev = world.device("grid1", "devA")
    r = pull(world, dev, "zstd, gzip")
    if len(r.content) < 1024:
        assert "content-encoding" not in r.headers
    r = post(world, dev, body_of(dev, dev.upsert("site", world.site1, {"address": "短"})),
             None)
    assert r.status_code == 200, r.text
    assert "content-encoding" not in r.headers  # one result: under 1 KiB
    assert r.headers["accept-encoding"] == "zstd, gzip"


def test_a_push_answer_is_zstd_for_a_client_that_accepts_it(world: World) -> None:
    dev = world.device("grid1", "devA")
    ms = [dev.upsert("site", world.site1, {"address": f"长江路{i}号"}) for i in range(40)]
    r = post(world, dev, body_of(dev, *ms), None, accept="zstd, gzip")
    assert r.status_code == 200, r.text
    assert r.headers["content-encoding"] == "zstd"
    assert [res["id"] for res in r.json()["results"]] == [m["id"] for m in ms]


# --- request bodies -------------------------------------------------------------------


@pytest.mark.parametrize("coding", ["zstd", "gzip", None])
def test_a_push_body_in_zstd_gzip_or_plain_is_applied(world: World, coding: str | None) -> None:
    dev = world.device("grid1", "devA")
    m = dev.upsert("site", world.site1, {"address": "长江路1号" * 50})
    body = body_of(dev, m)
    if coding == "zstd":
        body = zstandard.ZstdCompressor(level=6).compress(body)
    elif coding == "gzip":
        body = gzip.compress(body)
    r = post(world, dev, body, coding)
    assert r.status_code == 200, r.text
    ok(r.json()["results"][0])
    [site] = [r for r in world.store.records("site") if r.id == world.site1]
    assert site.data["address"] == "长江路1号" * 50


def test_a_streamed_zstd_body_without_content_size_and_several_frames_is_applied(
        world: World) -> None:
    dev = world.device("grid1", "devA")
    m = dev.upsert("site", world.site1, {"address": "黄河路2号"})
    body = body_of(dev, m)
    c = zstandard.ZstdCompressor(level=3, write_content_size=False)
    half = len(body) // 2
    frames = b""
    for part in (body[:half], body[half:]):
        o = c.compressobj()
        frames += o.compress(part) + o.flush()
    r = post(world, dev, frames, "zstd")
    assert r.status_code == 200, r.text
    ok(r.json()["results"][0])


@pytest.mark.parametrize("coding, bad", [
    ("zstd", b"this is not zstd at all"),
    ("zstd", b""),
    ("zstd", "truncated"),
    ("zstd", "trailing garbage"),
    ("gzip", b"this is not gzip at all"),
    ("gzip", "truncated"),
])
def test_a_bad_compressed_body_is_400_in_the_error_shape(world: World, coding: str,
                                                         bad: Any) -> None:
    dev = world.device("grid1", "devA")
    body = body_of(dev, dev.upsert("site", world.site1, {"address": "长" * 500}))
    packed = (zstandard.ZstdCompressor().compress(body) if coding == "zstd"
              else gzip.compress(body))
    if bad == "truncated":
        bad = packed[: len(packed) // 2]
    elif bad == "trailing garbage":
        bad = packed + b"\x00garbage"
    before = state_of(world)
    err = error_of(post(world, dev, bad, coding), 400)
    assert err["code"] == "malformed_json"
    assert coding in err["message"]
    assert state_of(world) == before


@pytest.mark.parametrize("content_size", [True, False])
def test_a_zstd_bomb_is_413_on_its_decompressed_size(small_world: World,
                                                     content_size: bool) -> None:
    """max_push_bytes (4096 here) holds for what the body decompresses to, as
    for gzip; the server stops reading past the limit."""
    dev = small_world.device("grid1", "devA")
    before = state_of(small_world)
    inner = body_of(dev, dev.upsert("site", small_world.site1, {"address": " " * (50 << 20)}))
    bomb = zstandard.ZstdCompressor(level=3, write_content_size=content_size).compress(inner)
    assert len(bomb) < 4096
    err = error_of(post(small_world, dev, bomb, "zstd"), 413)
    assert err["code"] == "too_large"
    assert err["details"]["limit"] == 4096
    assert state_of(small_world) == before


def test_a_gzip_bomb_is_413_on_its_inflated_size(small_world: World) -> None:
    dev = small_world.device("grid1", "devA")
    before = state_of(small_world)
    inner = body_of(dev, dev.upsert("site", small_world.site1, {"address": " " * (5 << 20)}))
    bomb = gzip.compress(inner, 9)
    assert len(bomb) < 4096 * 2
    r = post(small_world, dev, bomb, "gzip")
    err = error_of(r, 413)
    assert err["code"] == "too_large"
    assert state_of(small_world) == before


def test_a_zstd_body_under_the_limit_once_decompressed_goes_through(small_world: World) -> None:
    dev = small_world.device("grid1", "devA")
    body = body_of(dev, dev.upsert("site", small_world.site1, {"address": "路" * 480}))
    assert 1024 < len(body) < 4096
    r = post(small_world, dev, zstandard.ZstdCompressor().compress(body), "zstd")
    assert r.status_code == 200, r.text
    ok(r.json()["results"][0])


def test_a_zstd_frame_asking_for_a_huge_window_is_400(world: World) -> None:
    dev = world.device("grid1", "devA")
    body = body_of(dev, dev.upsert("site", world.site1, {"address": "长"}))
    params = zstandard.ZstdCompressionParameters.from_level(3, window_log=27,
                                                            write_content_size=False)
    c = zstandard.ZstdCompressor(compression_params=params)
    o = c.compressobj()
    frame = o.compress(body) + o.flush()
    err = error_of(post(world, dev, frame, "zstd"), 400)
    assert err["code"] == "malformed_json"


# --- old clients ---------------------------------------------------------------------


def test_an_old_client_without_compression_gets_plain_json_both_ways(world: World) -> None:
    dev = big_pull(world)
    m = dev.upsert("site", world.site1, {"contact_name": "陈"})
    r = post(world, dev, body_of(dev, m), None, accept="identity")
    assert r.status_code == 200, r.text
    assert "content-encoding" not in r.headers
    r = pull(world, dev, "identity")
    assert "content-encoding" not in r.headers
    json.loads(r.content)  # plain JSON on the wire


def test_an_old_gzip_client_sends_gzip_and_gets_gzip(world: World) -> None:
    dev = big_pull(world)
    ms = [dev.upsert("site", world.site1, {"address": f"老路{i}号" * 20}) for i in range(40)]
    r = post(world, dev, gzip.compress(body_of(dev, *ms)), "gzip", accept="gzip, deflate")
    assert r.status_code == 200, r.text
    assert r.headers["content-encoding"] == "gzip"
    assert "gzip" in r.headers["accept-encoding"]  # what an old device looks for
    assert pull(world, dev, "gzip, deflate").headers["content-encoding"] == "gzip"


def test_the_bounded_zstd_read_does_not_decompress_past_the_limit() -> None:
    """The reader used by the server returns at most limit + 1 bytes of a
    frame that claims gigabytes."""
    from sync_server.domain.errors import DomainError
    from sync_server.errors import status_of
    from sync_server.http import _unzstd

    bomb = zstandard.ZstdCompressor(level=1).compress(b"\0" * (64 << 20))
    with pytest.raises(DomainError) as exc:
        _unzstd(bomb, 1000)
    assert (status_of(exc.value.code), exc.value.code) == (413, "too_large")
    assert _unzstd(zstandard.ZstdCompressor().compress(b"x" * 1000), 1000) == b"x" * 1000
