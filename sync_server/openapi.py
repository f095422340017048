"""OpenAPI at /schema with no CDN asset.

Controllers read raw bodies (for the 413-before-parsing rule and exact error
paths), so the request and response bodies are added here from the msgspec
wire types, in one table that is also the endpoint list of docs/protocol.md.
``/schema`` is a self-contained HTML page; ``/schema/openapi.json`` the document.
"""

from __future__ import annotations

import html
from typing import Any

import msgspec
from litestar import Request
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, OpenAPIRenderPlugin

from shared_schema import wire
from sync_server.domain.auth.service import LogoutResponse
from sync_server.domain.calendar.service import CalendarData
from shared_schema import office
from sync_server.domain.reports.schema import MonthlySummary

# (path, method) → (request body type, success response type)
BODIES: dict[tuple[str, str], tuple[type | None, type | None]] = {
    ("/api/v1/auth/login", "post"): (wire.LoginRequest, wire.LoginResponse),
    ("/api/v1/auth/logout", "post"): (None, LogoutResponse),
    ("/api/v1/sync/push", "post"): (wire.PushRequest, wire.PushResponse),
    ("/api/v1/sync/pull", "get"): (None, wire.PullResponse),
    ("/api/v1/sync/receipt", "get"): (None, wire.Receipt),
    # office API (docs/office-api.md)
    ("/api/v1/office/inspections", "get"): (None, office.InspectionList),
    ("/api/v1/office/inspections/{inspection_id}", "get"): (None, office.InspectionDetail),
    ("/api/v1/office/inspections/{inspection_id}/review", "post"):
        (office.ReviewRequest, office.ReviewResponse),
    ("/api/v1/office/conflicts", "get"): (None, office.ConflictList),
    ("/api/v1/office/conflicts/{conflict_id}", "get"): (None, office.ConflictView),
    ("/api/v1/office/conflicts/{conflict_id}/resolve", "post"):
        (office.ResolveRequest, office.ConflictView),
    ("/api/v1/cases", "get"): (None, office.CaseList),
    ("/api/v1/cases", "post"): (office.CaseIntake, office.CaseDetail),
    ("/api/v1/cases/{case_id}", "get"): (None, office.CaseDetail),
    ("/api/v1/cases/{case_id}/events", "post"): (office.CaseEventRequest, office.CaseDetail),
    ("/api/v1/office/sites", "get"): (None, office.SiteList),
    ("/api/v1/office/sites/{site_id}/history", "get"): (None, office.SiteHistory),
    ("/api/v1/office/audit", "get"): (None, office.AuditList),
    ("/api/v1/office/calendar", "get"): (None, CalendarData),
    ("/api/v1/admin/calendar", "put"): (CalendarData, CalendarData),
    ("/api/v1/admin/users", "post"): (office.CreateUserRequest, office.AdminUser),
    ("/api/v1/admin/devices/{device_id}/revoke", "post"): (None, office.RevokeResponse),
    ("/api/v1/admin/devices/{device_id}/enable", "post"): (None, office.DeviceEnabled),
    ("/api/v1/admin/users/{username}/disable", "post"): (None, office.UserChange),
    ("/api/v1/admin/users/{username}/enable", "post"): (None, office.UserChange),
    ("/api/v1/admin/users/{username}/password", "post"):
        (office.PasswordRequest, office.UserChange),
    ("/api/v1/admin/users/{username}/role", "post"): (office.RoleRequest, office.UserChange),
    ("/api/v1/reports/summary", "get"): (None, MonthlySummary),
}
QUERY = {
    ("/api/v1/sync/pull", "get"): [("since", "integer", False), ("limit", "integer", False)],
    ("/api/v1/sync/receipt", "get"): [("device_id", "string", False)],
    ("/api/v1/office/inspections", "get"): [
        ("state", "string", False), ("review_state", "string", False),
        ("village", "string", False), ("department", "string", False),
        ("kind", "string", False), ("from", "string", False), ("to", "string", False),
        ("limit", "integer", False), ("offset", "integer", False)],
    ("/api/v1/office/conflicts", "get"): [
        ("status", "string", False), ("entity", "string", False),
        ("limit", "integer", False), ("offset", "integer", False)],
    ("/api/v1/cases", "get"): [
        ("status", "string", False), ("level", "string", False), ("village", "string", False),
        ("overdue", "boolean", False), ("due_soon", "boolean", False),
        ("source", "string", False), ("limit", "integer", False), ("offset", "integer", False)],
    ("/api/v1/office/sites", "get"): [
        ("village", "string", False), ("kind", "string", False), ("q", "string", False),
        ("limit", "integer", False), ("offset", "integer", False)],
    ("/api/v1/office/sites/{site_id}/history", "get"): [
        ("field", "string", False), ("registry_only", "boolean", False)],
    ("/api/v1/office/audit", "get"): [
        ("action", "string", False), ("entity_id", "string", False), ("from", "string", False),
        ("to", "string", False), ("limit", "integer", False), ("offset", "integer", False)],
    ("/api/v1/reports/summary", "get"): [("month", "string", False)],
    ("/api/v1/reports/monthly.xlsx", "get"): [("month", "string", False)],
    ("/api/v1/reports/monthly.csv", "get"): [("month", "string", False),
                                             ("sheet", "string", False)],
}
#: Non-JSON answers: (path, method) → media type.
FILES = {
    ("/api/v1/reports/monthly.xlsx", "get"):
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ("/api/v1/reports/monthly.csv", "get"): "text/csv",
}
PUBLIC = {("/api/v1/auth/login", "post")}
ERROR_STATUSES = {"400": "bad input", "401": "no, expired or revoked token",
                  "403": "out of role or scope", "404": "unknown or not visible",
                  "409": "conflict", "410": "resync required", "413": "too large",
                  "415": "wrong content type", "422": "semantically invalid",
                  "429": "too many failed logins (Retry-After)",
                  "460": "checksum mismatch"}


def enrich(schema: dict[str, Any]) -> dict[str, Any]:
    types = [t for pair in BODIES.values() for t in pair if t] + [wire.ErrorBody]
    _, components = msgspec.json.schema_components(types, ref_template="#/components/schemas/{name}")
    schema.setdefault("components", {}).setdefault("schemas", {}).update(components)
    schema["components"]["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer", "description": "device token from login"}}
    ref = lambda t: {"$ref": f"#/components/schemas/{t.__name__}"}  # noqa: E731
    for path, ops in schema.get("paths", {}).items():
        for method, op in ops.items():
            if not isinstance(op, dict):
                continue
            req, res = BODIES.get((path, method), (None, None))
            if req:
                op["requestBody"] = {"required": True,
                                     "content": {"application/json": {"schema": ref(req)}}}
            if res:
                op.setdefault("responses", {})["200"] = {
                    "description": "OK", "content": {"application/json": {"schema": ref(res)}}}
            if (path, method) in FILES:
                op.setdefault("responses", {})["200"] = {"description": "OK", "content": {
                    FILES[(path, method)]: {"schema": {"type": "string", "format": "binary"}}}}
            if (path, method) in QUERY:
                op["parameters"] = [
                    {"name": n, "in": "query", "required": r, "schema": {"type": t}}
                    for n, t, r in QUERY[(path, method)]]
            if (path, method) not in PUBLIC:
                op["security"] = [{"bearer": []}]
            for status, text in ERROR_STATUSES.items():
                op.setdefault("responses", {}).setdefault(status, {
                    "description": text,
                    "content": {"application/json": {"schema": ref(wire.ErrorBody)}}})
    return schema


class EnrichedJson(JsonRenderPlugin):
    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        return self.render_json(request, enrich(openapi_schema))


class OfflineHtml(OpenAPIRenderPlugin):
    """A plain HTML index of the API: no script, no CDN."""

    def __init__(self) -> None:
        super().__init__(path="/")

    def render(self, request: Request, openapi_schema: dict[str, Any]) -> bytes:
        rows = []
        for path, ops in sorted(openapi_schema.get("paths", {}).items()):
            for method, op in ops.items():
                if isinstance(op, dict):
                    rows.append(
                        f"<tr><td><code>{method.upper()}</code></td><td><code>{html.escape(path)}"
                        f"</code></td><td>{html.escape(op.get('summary', ''))}</td></tr>")
        title = html.escape(openapi_schema.get("info", {}).get("title", "API"))
        return (
            f"<!doctype html><html lang='en'><meta charset='utf-8'><title>{title}</title>"
            "<style>body{font-family:sans-serif;margin:2em}td{padding:.3em 1em}</style>"
            f"<h1>{title}</h1><p>Machine-readable: <a href='/schema/openapi.json'>openapi.json</a>"
            "; protocol: docs/protocol.md.</p><table>" + "".join(rows) + "</table></html>"
        ).encode()


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(title="Wage Patrol sync server (治欠巡查)", version="1.0.0",
                         path="/schema", render_plugins=[OfflineHtml(), EnrichedJson()])
