"""Issue 14, finding 9: bad input is a clean 4xx, never a 500 or a traceback.

Invalid UTF-8 inside a JSON string, nesting past ``MAX_JSON_DEPTH``,
integers in query parameters outside SQLite's int64, and a Content-Encoding
the server does not decode each answer a 4xx in the one error shape, change
nothing, and leave no ERROR line in the log.
"""

from __future__ import annotations

import json
import logging
from typing import Any

import httpx
import pytest

from server.support import PASSWORD, World, error_of

#: The documented limit (docs/protocol.md; ``sync_server.http.MAX_JSON_DEPTH``).
MAX_JSON_DEPTH = 64

OFFICE_LISTS = ("/api/v1/office/inspections", "/api/v1/office/conflicts", "/api/v1/cases",
                "/api/v1/office/sites", "/api/v1/office/audit")


@pytest.fixture
def quiet(caplog: pytest.LogCaptureFixture):
    """Fails the test if anything was logged at ERROR (a traceback for a client error)."""
    caplog.set_level(logging.INFO)
    yield caplog
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, "\n".join(r.getMessage() for r in errors)


def _counts(world: World) -> tuple[int, ...]:
    conn = world.store.conn
    return tuple(conn.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                 for t in ("records", "mutations", "tokens", "devices"))


def test_invalid_utf8_inside_a_json_string_is_400(world: World, quiet) -> None:
    """Was a 500 on login, without a token."""
    before = _counts(world)
    for body in (b'{"username": "grid1\xff\xfe", "password": "x", "device_id": "d1"}',
                 b'{"username": "grid1", "password": "\xc3\x28", "device_id": "d1"}',
                 b'{"username": "\xed\xa0\x80", "password": "x", "device_id": "d1"}'):
        r = world.http.post("/api/v1/auth/login", content=body,
                            headers={"Content-Type": "application/json"})
        assert error_of(r, 400)["code"] == "malformed_json", body
    dev = world.device("grid1", "utf8-dev")
    r = world.http.post("/api/v1/sync/push", headers={**dev.headers,
                                                      "Content-Type": "application/json"},
                        content=b'{"protocol": 1, "device_id": "utf8-dev", "mutations": '
                                b'[{"op": "upsert", "id": "x\xff", "seq": 1}]}')
    assert error_of(r, 400)["code"] == "malformed_json"
    office = world.login("office1", "utf8-office")
    r = world.http.post("/api/v1/cases", headers={**office, "Content-Type": "application/json"},
                        content=b'{"source": "12333", "title": "\xff"}')
    assert error_of(r, 400)["code"] == "malformed_json"
    after = _counts(world)
    assert after[:2] == before[:2]  # no record, no ledger row (logins above added tokens)


def _nested(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def test_deep_nesting_is_400_too_deep(world: World, quiet) -> None:
    """1000 deep was a 500 (RecursionError in the decoder)."""
    for body in (_nested(1000), b'{"a":' * 1000 + b"1" + b"}" * 1000, _nested(30_000)):
        r = world.http.post("/api/v1/auth/login", content=body,
                            headers={"Content-Type": "application/json"})
        assert r.status_code == 400, r.text
        assert error_of(r, 400)["code"] in ("too_deep", "invalid_body")
    dev = world.device("grid1", "deep-dev")

    def push_with_answer(value: Any) -> httpx.Response:
        """A push whose answer is ``value`` (raw JSON bytes: deeper than json.dumps goes)."""
        m = dev.upsert("inspection", "0190aaaa-0000-7000-8000-000000000001",
                       {"site_id": world.site1, "answers": {"C01": {"answer": "__V__"}}})
        body = json.dumps({"protocol": 1, "device_id": dev.device_id,
                           "client_time_ms": world.clock(), "mutations": [m]}).encode()
        raw = value if isinstance(value, bytes) else json.dumps(value).encode()
        return world.http.post("/api/v1/sync/push", content=body.replace(b'"__V__"', raw),
                               headers={**dev.headers, "Content-Type": "application/json"})

    before = _counts(world)
    # the answer's value sits at depth 6 (body, mutations, mutation, fields,
    # answers, C01); nest lists below it to a total just over the limit
    over: Any = 1
    for _ in range(MAX_JSON_DEPTH - 6 + 1):
        over = [over]
    r = push_with_answer(over)
    err = error_of(r, 400)
    assert err["code"] == "too_deep" and err["details"]["limit"] == MAX_JSON_DEPTH
    r = push_with_answer(b'{"a":' * 1000 + b"1" + b"}" * 1000)
    assert error_of(r, 400)["code"] == "too_deep"
    assert _counts(world) == before
    at_limit: Any = 1
    for _ in range(MAX_JSON_DEPTH - 6):
        at_limit = [at_limit]
    r = push_with_answer(at_limit)
    assert r.status_code == 200, r.text  # the batch is read (the value itself is checked later)


def test_out_of_range_query_integers_are_400(world: World, quiet) -> None:
    """``offset=2**63`` on an office list was a 500 (SQLite's int64)."""
    office = world.login("office1", "range-office")
    for path in OFFICE_LISTS:
        for params in ({"offset": 2**63}, {"offset": -1}, {"limit": 2**63},
                       {"limit": -(2**63) - 1}, {"offset": 10**40}, {"limit": "1e3"}):
            r = world.http.get(path, params=params, headers=office)
            err = error_of(r, 400)
            assert err["code"] == "invalid_parameter", (path, params, err)
            assert err["details"]["path"] in params, err
        r = world.http.get(path, params={"offset": 2**63 - 1}, headers=office)
        assert r.status_code == 200, (path, r.text)  # the largest int64: an empty page
    dev = world.device("grid1", "range-dev")
    for params in ({"since": 2**63}, {"since": -(2**63) - 1}, {"limit": 2**64},
                   {"since": "9" * 5000}):
        r = world.http.get("/api/v1/sync/pull", params=params, headers=dev.headers)
        assert error_of(r, 400)["code"] == "invalid_parameter", params


@pytest.mark.parametrize("coding", ["br", "deflate", "compress", "gzip, br", "x-unknown"])
def test_an_unsupported_content_encoding_is_415(world: World, coding: str, quiet) -> None:
    """``Content-Encoding: br`` was read as plain JSON."""
    dev = world.device("grid1", f"enc-{coding[:5]}")
    before = _counts(world)
    body = (b'{"protocol": 1, "device_id": "%s", "mutations": []}'
            % dev.device_id.encode())
    r = world.http.post("/api/v1/sync/push", content=body, headers={
        **dev.headers, "Content-Type": "application/json", "Content-Encoding": coding})
    err = error_of(r, 415)
    assert err["code"] == "unsupported_encoding"
    assert "zstd" in r.headers.get("Accept-Encoding", "")
    r = world.http.post("/api/v1/auth/login", headers={
        "Content-Type": "application/json", "Content-Encoding": coding},
        content=b'{"username": "grid1", "password": "%s", "device_id": "enc"}'
        % PASSWORD.encode())
    assert error_of(r, 415)["code"] == "unsupported_encoding"
    assert _counts(world) == before
    # identity, said out loud, is plain
    r = world.http.post("/api/v1/sync/push", content=body, headers={
        **dev.headers, "Content-Type": "application/json", "Content-Encoding": "identity"})
    assert r.status_code == 200, r.text


def test_an_upload_patch_in_any_coding_but_identity_is_415(world: World, quiet) -> None:
    import base64
    import hashlib

    dev = world.device("grid1", "enc-upload")
    data = b"\xff\xd8 photo" * 10
    digest = hashlib.sha256(data).hexdigest()
    r = world.http.post("/api/v1/uploads", headers={
        **dev.headers, "Tus-Resumable": "1.0.0", "Upload-Length": str(len(data)),
        "Upload-Metadata": "sha256 " + base64.b64encode(digest.encode()).decode()})
    location = r.headers["Location"]
    r = world.http.patch(location, content=data, headers={
        **dev.headers, "Tus-Resumable": "1.0.0", "Upload-Offset": "0",
        "Content-Type": "application/offset+octet-stream", "Content-Encoding": "gzip"})
    assert error_of(r, 415)["code"] == "unsupported_encoding"
    assert world.http.head(location, headers=dev.headers).headers["Upload-Offset"] == "0"


def test_bad_upload_headers_are_400(world: World, quiet) -> None:
    """An Upload-Length that is no int64 (or no number): 400, never a 500."""
    dev = world.device("grid1", "hdr-dev")
    for length in ("-1", "1e3", "9" * 40, ""):
        r = world.http.post("/api/v1/uploads", headers={
            **dev.headers, "Tus-Resumable": "1.0.0", "Upload-Length": length,
            "Upload-Metadata": "sha256 " + "YQ=="})
        assert error_of(r, 400)["code"] == "invalid_header", (length, r.text)
