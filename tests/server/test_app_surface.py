"""The app's outer surface: one error shape everywhere, the offline API
docs, the reference data it publishes, and restarts that change nothing."""

from __future__ import annotations

import re

import pytest

from .support import AppClient, World, assert_error_shape, error_of

#: Every endpoint of docs/protocol.md.
PROTOCOL_ENDPOINTS = {
    ("post", "/api/v1/auth/login"),
    ("post", "/api/v1/sync/push"),
    ("get", "/api/v1/sync/pull"),
    ("get", "/api/v1/sync/receipt"),
    ("options", "/api/v1/uploads"),
    ("post", "/api/v1/uploads"),
    ("head", "/api/v1/uploads/{upload_id}"),
    ("patch", "/api/v1/uploads/{upload_id}"),
    ("delete", "/api/v1/uploads/{upload_id}"),
    ("get", "/api/v1/blobs/{sha256}"),
    ("head", "/api/v1/blobs/{sha256}"),
}


def app_endpoints(app) -> set[tuple[str, str]]:
    """(method, path) of every route handler the app documents."""
    found = set()
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if handler.include_in_schema is False or route.path.startswith("/schema"):
                continue
            path = re.sub(r"\{(\w+):\w+\}", r"{\1}", route.path)
            found |= {(m.lower(), path) for m in handler.http_methods}
    return found


def test_openapi_lists_every_endpoint(app_client: AppClient) -> None:
    r = app_client.client.get("/schema/openapi.json")
    assert r.status_code == 200, r.text
    doc = r.json()
    listed = {(method, path) for path, ops in doc["paths"].items() for method in ops
              if method in ("get", "post", "put", "patch", "delete", "head", "options")}
    assert listed == app_endpoints(app_client.app)
    assert PROTOCOL_ENDPOINTS <= listed
    ids = [op["operationId"] for ops in doc["paths"].values() for op in ops.values()
           if isinstance(op, dict) and "operationId" in op]
    assert len(ids) == len(set(ids)) == len(listed)


def test_openapi_describes_bodies_and_errors(app_client: AppClient) -> None:
    doc = app_client.client.get("/schema/openapi.json").json()
    push = doc["paths"]["/api/v1/sync/push"]["post"]
    assert push["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PushRequest"}
    assert push["responses"]["413"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorBody"}
    assert push["security"] == [{"bearer": []}]
    assert "security" not in doc["paths"]["/api/v1/auth/login"]["post"]
    for name in ("PushRequest", "PushResponse", "PullResponse", "Receipt", "ErrorBody",
                 "LoginRequest", "LoginResponse"):
        assert name in doc["components"]["schemas"]


def test_schema_page_is_offline_html(app_client: AppClient) -> None:
    r = app_client.client.get("/schema")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")
    page = r.text
    assert re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page, re.I) is None, page
    assert "<script" not in page.lower()
    for _method, path in PROTOCOL_ENDPOINTS:
        assert path in page, path


# (method, path, headers, body, status, code) — each answered in the one error shape
ERRORS = [
    ("GET", "/api/v1/nowhere", False, None, 404, "not_found"),
    ("DELETE", "/api/v1/sync/pull", True, None, 405, "method_not_allowed"),
    ("GET", "/api/v1/sync/pull", False, None, 401, "auth_required"),
    ("GET", "/api/v1/sync/pull?since=x", True, None, 400, "invalid_parameter"),
    ("POST", "/api/v1/sync/push", True, b"{", 400, "malformed_json"),
    ("POST", "/api/v1/sync/push", True, b"[]", 400, "invalid_body"),
    ("POST", "/api/v1/auth/login", False, b'{"username": 1}', 400, "invalid_body"),
    ("GET", "/api/v1/blobs/" + "0" * 64, True, None, 404, "not_found"),
    ("GET", "/api/v1/blobs/not-a-hash", True, None, 404, "not_found"),
    ("POST", "/api/v1/uploads", True, None, 400, "invalid_header"),
    ("PATCH", "/api/v1/uploads/nope", True, b"x", 415, "unsupported_media_type"),
    ("DELETE", "/api/v1/uploads/nope", True, None, 404, "not_found"),
    ("GET", "/api/v1/sync/receipt?device_id=other", True, None, 403, "forbidden"),
]


@pytest.mark.parametrize(("method", "path", "auth", "body", "status", "code"), ERRORS)
def test_errors_have_one_shape(world: World, method, path, auth, body, status, code) -> None:
    headers = world.login("grid1", "devA") if auth else {}
    r = world.http.request(method, path, headers=headers, content=body)
    err = error_of(r, status)
    assert err["code"] == code
    assert isinstance(err["message"], str) and err["message"]


def test_the_error_shape_check_catches_a_wrong_body() -> None:
    """The checker every test client runs must itself fail on a wrong body."""
    import httpx

    request = httpx.Request("GET", "http://x/")
    for body in (b'{"detail": "nope"}', b"oops", b'{"error": "x"}',
                 b'{"error": {"code": "c"}}', b'{"error": {"code": "c", "message": "m"}, "x": 1}'):
        with pytest.raises(AssertionError):
            assert_error_shape(httpx.Response(400, content=body, request=request))
    assert_error_shape(httpx.Response(400, request=request,
                                      content=b'{"error": {"code": "c", "message": "m"}}'))


def test_healthz(app_client: AppClient) -> None:
    assert app_client.client.get("/healthz").json() == {"status": "ok"}


def test_templates_are_published_as_reference_data(world: World) -> None:
    dev = world.device("grid2", "devB")
    templates = {id: data for (entity, id), data in dev.records.items()
                 if entity == "checklist_template"}
    assert set(templates) == {"tpl-construction-v1", "tpl-enterprise-v1",  # v1 kept for stored
                              "tpl-construction-v2", "tpl-enterprise-v2"}  # inspections (#17)
    body = templates["tpl-construction-v1"]["body"]
    assert body["kind"] == "construction"
    assert [i["code"] for i in body["items"]][:3] == ["C01", "C02", "C03"]


def test_a_restart_writes_nothing_new(make_app_client, clock) -> None:
    first = make_app_client()
    world = World(first.client, first.store, clock).seed()
    rev = first.store.max_rev()
    first.close()
    clock.advance(60_000)
    second = make_app_client()
    assert second.store.max_rev() == rev
    assert second.store.health_check().ok
    world.http, world.store = second.client, second.store
    dev = world.device("grid1", "devA")  # users and records survived
    assert ("site", world.site1) in dev.records


def test_every_test_client_checks_error_bodies(app_client: AppClient) -> None:
    """The shape check is wired into the clients the tests use, and it runs."""
    client = app_client.client
    hooks = client.event_hooks["response"]
    assert [h.__name__ for h in hooks] == ["_check_error_shape"]
    seen = []
    client.event_hooks = {"response": [*hooks, lambda r: seen.append(r.status_code)]}
    client.get("/api/v1/nowhere")
    assert seen == [404]


def test_a_server_side_http_error_does_not_leak_internals(make_app_client, monkeypatch) -> None:
    from litestar.exceptions import ImproperlyConfiguredException

    import sync_server.domain.sync.service as sync_service

    def broken(*args, **kwargs):
        raise ImproperlyConfiguredException("secret: /etc/wage-patrol/db password=hunter2")

    app = make_app_client(raise_server_exceptions=False)
    monkeypatch.setattr(sync_service, "pull", broken)
    world = World(app.client, app.store, app.settings.now_ms).seed()
    r = world.device("grid1", "devA", pull=False).pull_response(0)
    assert error_of(r, 500)["code"] == "internal_error"
    assert "secret" not in r.text


def test_every_json_endpoint_documents_its_answer(app_client: AppClient) -> None:
    """A new JSON endpoint needs its response type in sync_server/openapi.py
    (BODIES), or the office console's clients have no schema to read."""
    doc = app_client.client.get("/schema/openapi.json").json()
    undocumented = []
    for path, ops in doc["paths"].items():
        if not path.startswith("/api/v1/") or path.startswith(("/api/v1/uploads",
                                                               "/api/v1/blobs")):
            continue
        for method, op in ops.items():
            if method not in ("get", "post", "put") or path.endswith((".xlsx", ".csv", ".pdf")):
                continue
            ok = [code for code in ("200", "201")
                  if "$ref" in op.get("responses", {}).get(code, {}).get("content", {}).get(
                      "application/json", {}).get("schema", {})]
            if not ok:
                undocumented.append(f"{method.upper()} {path}")
    assert not undocumented, undocumented
