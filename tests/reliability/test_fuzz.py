"""Fuzzing. schemathesis generates requests for every operation of the
server's own OpenAPI document (/schema/openapi.json) and sends each one as
every role (and without a token) to a real server on 127.0.0.1: no answer is
a 5xx, and every 4xx has the one error shape. Then hypothesis-generated
malformed and oversized push bodies get 400 / 413 and change nothing, and
(issue 14) invalid UTF-8 inside JSON strings and deep nesting sent to every
JSON endpoint get 400 and change nothing."""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import schemathesis
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import FailureGroup
from schemathesis.core.parameters import ParameterLocation
from schemathesis.generation import GenerationMode
from hypothesis import HealthCheck, given, settings, strategies as st

from server.support import World, assert_error_shape, serve_world
from shared_schema.wire import error_decoder

from .conftest import SOAK, size

ROLE_USERS = ("grid1", "sector1", "office1", "leader1", "admin")


def _error_shape_ok(body: bytes) -> bool:
    try:
        error_decoder.decode(body)
        decoded = msgspec.json.decode(body)
    except (msgspec.ValidationError, msgspec.DecodeError):
        return False
    return set(decoded) == {"error"} and set(decoded["error"]) <= {"code", "message", "details"}


@schemathesis.serializer("application/offset+octet-stream")
def _tus_chunk(ctx: Any, value: Any) -> dict[str, Any]:
    """The body of a tus PATCH: bytes as they are."""
    return {"data": value if isinstance(value, bytes) else str(value).encode()}


#: A valid request may still be refused for what the server holds, which no
#: schema can state: 410 ``resync_required`` (a cursor past the server's
#: revisions) and 422 (a rule on the stored records: an unknown site, a
#: calendar that contradicts itself). Schemathesis's own list, with those two.
CONTRACT = SchemathesisConfig.from_dict({"checks": {"positive_data_acceptance": {
    "expected-statuses": ["2xx", "3xx", "401", "403", "404", "409", "410", "422", "429",
                          "5xx"]}}})


def test_schemathesis_every_operation_every_role(tmp_path: Path, figures) -> None:
    """Every check schemathesis has (the document against the server: status
    codes, content types, headers and bodies of every answer, valid data
    accepted, invalid data refused, auth not ignored, 405 with ``Allow``…),
    as every role and anonymous, on valid and on invalid requests. Only the
    tus discovery ``OPTIONS`` is left out: it answers anyone, by design,
    without a login."""
    with serve_world(tmp_path) as (live, world):
        headers = {u: world.login(u, f"fuzz-{u}") for u in ROLE_USERS}
        headers["anonymous"] = {}
        raw = httpx.get(live.url + "/schema/openapi.json", timeout=10).json()
        schema = schemathesis.openapi.from_dict(raw, config=CONTRACT)
        calls = operations = 0
        problems: list[str] = []
        statuses: dict[int, int] = {}
        # logout last: it revokes the token every later request would carry
        ops = sorted((r.ok() for r in schema.get_all_operations()),
                     key=lambda op: op.path.endswith("/logout"))
        for op, mode in itertools.product(ops, GenerationMode):
            if op.method.upper() == "OPTIONS":
                continue
            operations += 1

            @settings(max_examples=size(6, 100), deadline=None, database=None,
                      suppress_health_check=list(HealthCheck), derandomize=not SOAK)
            @given(case=op.as_strategy(generation_mode=mode))
            def run(case: Any) -> None:
                nonlocal calls
                for who, h in headers.items():
                    case_headers = {**(case.headers or {})}
                    case_headers.pop("Authorization", None)
                    sent = {**case_headers, **h}
                    response = case.call(base_url=live.url, headers=sent, timeout=10)
                    calls += 1
                    code = response.status_code
                    statuses[code] = statuses.get(code, 0) + 1
                    where = f"{case.method} {case.formatted_path} {case.query or ''} as {who} -> {code}"
                    if code >= 500 and code != 503:
                        problems.append(f"{where}: {response.content[:200]!r}")
                    elif code >= 400 and case.method != "HEAD" and not _error_shape_ok(
                            response.content):
                        problems.append(f"{where}: not the error shape {response.content[:200]!r}")
                    if who != "anonymous" and case.meta is not None and case.meta.is_negative_at(
                            ParameterLocation.HEADER):
                        # the invalid headers may be a missing Authorization, which this
                        # loop puts back for each role: judged on the anonymous call only
                        continue
                    try:
                        case.validate_response(response, headers=sent,
                                               transport_kwargs={"base_url": live.url})
                    except (AssertionError, FailureGroup) as exc:  # every failed check, and why
                        problems.append(f"{where}: {str(exc)[:600]}")

            run()
        if os.environ.get("FUZZ_DUMP"):
            Path(os.environ["FUZZ_DUMP"]).write_text("\n=====\n".join(problems))
        assert not problems, "\n".join(problems[:20])
    figures.record("fuzzing: schemathesis", operations=operations, requests=calls,
                   roles=len(headers), server_errors=0,
                   **{f"status_{k}": v for k, v in sorted(statuses.items())})


# --- malformed and oversized push bodies ---------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                 max_size=3),
    max_leaves=8)


def _valid_body(world: World, device_id: str, n: int = 1) -> dict[str, Any]:
    return {"protocol": 1, "device_id": device_id, "client_time_ms": world.clock(),
            "mutations": [{"op": "upsert", "id": f"0190aaaa-0000-7000-8000-{i:012d}", "seq": i + 1,
                           "hlc": f"{world.clock():013d}.0000.{device_id}", "entity": "site",
                           "entity_id": world.site1, "fields": {"address": "x"},
                           "base": {}} for i in range(n)]}


ENVELOPE_PATHS = [("protocol",), ("device_id",), ("client_time_ms",), ("mutations",),
                  ("mutations", 0), ("mutations", 0, "op"), ("mutations", 0, "id"),
                  ("mutations", 0, "seq"), ("mutations", 0, "hlc"), ("mutations", 0, "entity"),
                  ("mutations", 0, "entity_id"), ("mutations", 0, "fields"),
                  ("mutations", 0, "base")]
WRONG = {"protocol": st.text() | st.lists(st.integers()) | st.floats(0.5, 9.5),
         "device_id": st.integers() | st.lists(st.text()) | st.booleans(),
         "client_time_ms": st.text(min_size=1) | st.lists(st.integers()) | st.booleans(),
         "mutations": st.integers() | st.text() | st.dictionaries(st.text(), st.integers(),
                                                                   max_size=2),
         0: st.integers() | st.text() | st.lists(st.integers(), max_size=2),
         "op": st.text(max_size=6).filter(lambda s: s not in ("upsert", "insert", "delete"))
         | st.integers(),
         "id": st.integers() | st.lists(st.text(), max_size=2) | st.booleans(),
         "seq": st.text(min_size=1) | st.lists(st.integers(), max_size=2) | st.floats(0.5, 9.5),
         "hlc": st.integers() | st.lists(st.text(), max_size=2) | st.booleans(),
         "entity": st.integers() | st.lists(st.text(), max_size=2),
         "entity_id": st.integers() | st.lists(st.text(), max_size=2),
         "fields": st.integers() | st.text() | st.lists(st.integers(), max_size=2),
         "base": st.text() | st.lists(st.integers(), max_size=2)
         | st.dictionaries(st.text(min_size=1, max_size=4), st.text(min_size=1), min_size=1,
                           max_size=2)}


def _counts(world: World) -> tuple[int, ...]:
    import sqlite3
    db = sqlite3.connect(world.store.path)
    try:
        return tuple(db.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
                     for t in ("mutations", "field_history", "conflicts", "records")) + (
            db.execute("SELECT value FROM counters WHERE name='rev'").fetchone()[0],)
    finally:
        db.close()


@pytest.fixture
def limited_world(make_app_client, clock) -> World:
    app = make_app_client(max_push_bytes=64 * 1024, max_mutations=50)
    return World(app.client, app.store, clock).seed()


def test_malformed_and_oversized_push_bodies_change_nothing(limited_world: World,
                                                            figures) -> None:
    world = limited_world
    dev = world.device("grid1", "fuzz-device")
    h = {**dev.headers, "Content-Type": "application/json"}
    before = _counts(world)
    sent = {"malformed": 0, "wrong_type": 0, "oversized": 0, "too_many": 0}

    def post(body: bytes) -> httpx.Response:
        return world.http.post("/api/v1/sync/push", content=body, headers=h)

    common = dict(deadline=None, database=None, derandomize=not SOAK,
                  suppress_health_check=list(HealthCheck))

    @settings(max_examples=size(150, 2000), **common)
    @given(st.binary(max_size=300) | json_values.map(lambda v: json.dumps(v).encode()))
    def malformed(body: bytes) -> None:
        try:
            value = json.loads(body)
            if isinstance(value, dict) and {"device_id", "mutations"} <= set(value):
                return  # leave the (impossible) valid envelope to the next property
        except (ValueError, UnicodeDecodeError):
            pass
        r = post(body)
        assert r.status_code == 400, (body, r.status_code, r.text)
        assert assert_error_shape(r)["code"] in ("malformed_json", "invalid_body",
                                                 "unsupported_protocol")
        sent["malformed"] += 1

    @settings(max_examples=size(150, 2000), **common)
    @given(st.data())
    def wrong_type(data: st.DataObject) -> None:
        body = _valid_body(world, dev.device_id)
        path = data.draw(st.sampled_from(ENVELOPE_PATHS))
        target: Any = body
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = data.draw(WRONG[path[-1]])
        r = post(json.dumps(body).encode())
        assert r.status_code == 400, (path, body, r.status_code, r.text)
        err = assert_error_shape(r)
        assert err["code"] in ("invalid_body", "unsupported_protocol"), err
        if err["code"] == "invalid_body":
            assert err["details"]["path"].startswith("$"), err
        sent["wrong_type"] += 1

    @settings(max_examples=size(20, 200), **common)
    @given(st.integers(64 * 1024 + 1, 300 * 1024), st.booleans())
    def oversized(n: int, declared: bool) -> None:
        body = json.dumps({**_valid_body(world, dev.device_id), "pad": "x" * n}).encode()
        if declared:
            r = post(body)
        else:  # streamed without Content-Length: cut at the limit
            r = world.http.post("/api/v1/sync/push", content=iter([body[i:i + 8192] for i in
                                                                   range(0, len(body), 8192)]),
                                headers=h)
        assert r.status_code == 413, r.text
        assert assert_error_shape(r)["code"] == "too_large"
        sent["oversized"] += 1

    @settings(max_examples=size(10, 100), **common)
    @given(st.integers(51, 200))
    def too_many(n: int) -> None:
        r = post(json.dumps(_valid_body(world, dev.device_id, n)).encode())
        assert r.status_code == 413, r.text
        assert assert_error_shape(r)["code"] == "too_many_mutations"
        sent["too_many"] += 1

    malformed()
    wrong_type()
    oversized()
    too_many()
    assert _counts(world) == before  # nothing was applied, not even a ledger row
    figures.record("fuzzing: malformed/oversized pushes", **sent, changed=0)


# --- invalid UTF-8 inside strings, deep nesting (issue 14) -----------------------------

#: Byte sequences that are not UTF-8: lone continuation bytes, overlong forms,
#: surrogates, bytes never valid, truncated sequences.
BAD_UTF8 = [b"\x80", b"\xbf", b"\xc0\xaf", b"\xc3\x28", b"\xe0\x80\xaf", b"\xed\xa0\x80",
            b"\xf4\x90\x80\x80", b"\xf8\x88\x80\x80\x80", b"\xfe", b"\xff", b"\xe6\x9c",
            b"\xf0\x9f\x98"]


def _json_targets(world: World) -> list[tuple[str, str, dict[str, str], dict[str, Any]]]:
    """Every endpoint that reads a JSON body, with a valid-looking body for it."""
    grid = world.login("grid1", "fuzz-utf8-grid")
    office = world.login("office1", "fuzz-utf8-office")
    admin = world.login("admin", "fuzz-utf8-admin")
    some = "0190aaaa-0000-7000-8000-000000000001"
    return [
        ("POST", "/api/v1/auth/login", {}, {"username": "grid1", "password": "pw",
                                            "device_id": "fuzz-x", "device_name": "名字"}),
        ("POST", "/api/v1/sync/push", grid, _valid_body(world, "fuzz-utf8-grid")),
        ("POST", "/api/v1/cases", office, {"source": "12333", "sector": "construction",
                                           "title": "欠薪线索", "site_id": world.site1}),
        ("POST", f"/api/v1/cases/{some}/events", office, {"kind": "note", "note": "记录"}),
        ("POST", f"/api/v1/office/inspections/{some}/review", office,
         {"decision": "approved", "comment": "好"}),
        ("POST", f"/api/v1/office/conflicts/{some}/resolve", office,
         {"choice": "winner", "comment": "好"}),
        ("POST", "/api/v1/admin/users", admin, {"username": "新人", "role": "office",
                                                "password": "a-long-password-1"}),
        ("PUT", "/api/v1/admin/calendar", admin, {"years": {}}),
    ]


def _strings_in(body: bytes) -> list[tuple[int, int]]:
    """(start, end) of the inside of each JSON string in ``body``."""
    spans, i = [], 0
    while True:
        start = body.find(b'"', i)
        if start < 0:
            return spans
        end = start + 1
        while body[end:end + 1] != b'"':
            end += 2 if body[end:end + 1] == b"\\" else 1
        spans.append((start + 1, end))
        i = end + 1


def test_invalid_utf8_and_deep_nesting_on_every_json_endpoint(world: World, figures) -> None:
    targets = _json_targets(world)
    before = _counts(world)
    sent = {"invalid_utf8": 0, "deep_nesting": 0}
    statuses: dict[int, int] = {}
    codes: dict[str, int] = {}
    common = dict(deadline=None, database=None, derandomize=not SOAK,
                  suppress_health_check=list(HealthCheck))

    def send(method: str, path: str, headers: dict[str, str], body: bytes) -> httpx.Response:
        r = world.http.request(method, path, content=body,
                               headers={**headers, "Content-Type": "application/json"})
        statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
        assert r.status_code < 500, (path, body[:120], r.status_code, r.text)
        return r

    @settings(max_examples=size(150, 2000), **common)
    @given(st.data())
    def invalid_utf8(data: st.DataObject) -> None:
        method, path, headers, valid = data.draw(st.sampled_from(targets))
        body = json.dumps(valid, ensure_ascii=False).encode()
        spans = _strings_in(body)
        start, end = data.draw(st.sampled_from(spans))
        at = data.draw(st.integers(start, end))
        bad = data.draw(st.sampled_from(BAD_UTF8))
        r = send(method, path, headers, body[:at] + bad + body[at:])
        assert r.status_code == 400, (path, r.status_code, r.text)
        assert assert_error_shape(r)["code"] == "malformed_json", r.text
        sent["invalid_utf8"] += 1

    @settings(max_examples=size(100, 1000), **common)
    @given(st.data())
    def deep_nesting(data: st.DataObject) -> None:
        method, path, headers, valid = data.draw(st.sampled_from(targets))
        depth = data.draw(st.integers(65, 5000))
        opens = data.draw(st.lists(st.sampled_from([b"[", b'{"k":']), min_size=1, max_size=4))
        chain = b"".join(opens[i % len(opens)] for i in range(depth))
        closes = b"".join(b"]" if opens[i % len(opens)] == b"[" else b"}"
                          for i in reversed(range(depth)))
        deep = chain + b"1" + closes
        # alone, or as the value of one of the body's own fields
        # (a push: also as a mutation's field value, where any JSON value is read)
        keys = [None, *valid] + (["fields"] * 4 if path.endswith("/push") else [])
        key = data.draw(st.sampled_from(keys))
        if key is None:
            body = deep
        elif key == "fields":
            mutation = {**valid["mutations"][0], "fields": {"address": "__DEEP__"}}
            body = json.dumps({**valid, "mutations": [mutation]}).encode()
        else:
            body = json.dumps({**valid, key: "__DEEP__"}).encode()
        body = body.replace(b'"__DEEP__"', deep)
        r = send(method, path, headers, body)
        # 400 too_deep where the deep value is decoded; where a typed body skips
        # it (an unknown key) the body's own checks answer (invalid_body, 422 …)
        assert 400 <= r.status_code < 500, (path, depth, r.status_code, r.text)
        code = assert_error_shape(r)["code"]
        codes[code] = codes.get(code, 0) + 1
        sent["deep_nesting"] += 1

    invalid_utf8()
    deep_nesting()
    assert _counts(world) == before
    assert codes.get("too_deep", 0) > 0, codes
    figures.record("fuzzing: invalid UTF-8 and deep nesting", **sent,
                   requests=sum(statuses.values()), server_errors=0,
                   too_deep=codes.get("too_deep", 0),
                   **{f"status_{k}": v for k, v in sorted(statuses.items())})
