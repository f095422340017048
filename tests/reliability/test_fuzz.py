"""Fuzzing. schemathesis generates requests for every operation of the
server's own OpenAPI document (/schema/openapi.json) and sends each one as
every role (and without a token) to a real server on 127.0.0.1: no answer is
a 5xx, and every 4xx has the one error shape. Then hypothesis-generated
malformed and oversized push bodies get 400 / 413 and change nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
import schemathesis
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


def test_schemathesis_every_operation_every_role(tmp_path: Path, figures) -> None:
    with serve_world(tmp_path) as (live, world):
        headers = {u: world.login(u, f"fuzz-{u}") for u in ROLE_USERS}
        headers["anonymous"] = {}
        raw = httpx.get(live.url + "/schema/openapi.json", timeout=10).json()
        schema = schemathesis.openapi.from_dict(raw)
        calls = operations = 0
        problems: list[str] = []
        statuses: dict[int, int] = {}
        for result in schema.get_all_operations():
            op = result.ok()
            operations += 1

            @settings(max_examples=size(6, 100), deadline=None, database=None,
                      suppress_health_check=list(HealthCheck), derandomize=not SOAK)
            @given(case=op.as_strategy())
            def run(case: Any) -> None:
                nonlocal calls
                for who, h in headers.items():
                    case_headers = {**(case.headers or {})}
                    case_headers.pop("Authorization", None)
                    response = case.call(base_url=live.url, headers={**case_headers, **h},
                                         timeout=10)
                    calls += 1
                    code = response.status_code
                    statuses[code] = statuses.get(code, 0) + 1
                    where = f"{case.method} {case.formatted_path} {case.query or ''} as {who} -> {code}"
                    if code >= 500 and code != 503:
                        problems.append(f"{where}: {response.content[:200]!r}")
                    elif code >= 400 and case.method != "HEAD" and not _error_shape_ok(
                            response.content):
                        problems.append(f"{where}: not the error shape {response.content[:200]!r}")

            run()
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
