"""Field roles get 403 ``forbidden`` on every office endpoint; no token is 401;
personal data is masked for field roles in pull and never served by the office API."""

from __future__ import annotations

import re

import pytest

from server.support import World, error_of
from shared_schema.ids import uuid7

ID = uuid7()
ENDPOINTS = [
    ("GET", "/api/v1/office/inspections", None),
    ("GET", f"/api/v1/office/inspections/{ID}", None),
    ("POST", f"/api/v1/office/inspections/{ID}/review", {"state": "approved"}),
    ("GET", "/api/v1/office/conflicts", None),
    ("GET", f"/api/v1/office/conflicts/{ID}", None),
    ("POST", f"/api/v1/office/conflicts/{ID}/resolve", {"choice": "winner"}),
    ("GET", "/api/v1/cases", None),
    ("POST", "/api/v1/cases", {"source": "12333", "sector": "construction", "title": "x"}),
    ("GET", f"/api/v1/cases/{ID}", None),
    ("POST", f"/api/v1/cases/{ID}/events", {"kind": "accept"}),
    ("GET", "/api/v1/office/sites", None),
    ("GET", f"/api/v1/office/sites/{ID}/history", None),
    ("GET", "/api/v1/office/audit", None),
    ("GET", "/api/v1/office/calendar", None),
    ("PUT", "/api/v1/admin/calendar", {"years": {}}),
    ("POST", "/api/v1/admin/users", {"username": "x", "password": "y", "role": "office"}),
    ("POST", f"/api/v1/admin/devices/{ID}/revoke", None),
    ("POST", f"/api/v1/admin/devices/{ID}/enable", None),
    ("POST", "/api/v1/admin/users/grid2/disable", None),
    ("POST", "/api/v1/admin/users/grid2/enable", None),
    ("POST", "/api/v1/admin/users/grid2/password", {"password": "a-long-new-pw"}),
    ("POST", "/api/v1/admin/users/grid2/role", {"role": "office"}),
    ("GET", "/api/v1/reports/summary", None),
    ("GET", "/api/v1/reports/monthly.xlsx", None),
    ("GET", "/api/v1/reports/monthly.csv", None),
    # --- #17 documents ---
    ("GET", f"/api/v1/office/inspections/{ID}/record.pdf", None),
    ("GET", f"/api/v1/office/inspections/{ID}/rectification.pdf", None),
    ("GET", f"/api/v1/cases/{ID}/closure.pdf", None),
    ("GET", "/api/v1/office/calendar/coverage", None),
    # --- #17 incidents ---
    ("GET", "/api/v1/office/alerts", None),
    ("POST", f"/api/v1/office/alerts/{ID}/ack", None),
    # --- #17 warnings ---
    ("GET", "/api/v1/office/risk-warnings", None),
    ("POST", f"/api/v1/office/risk-warnings/{ID}/handle", {"note": "x"}),
    ("GET", "/api/v1/office/reinspections", None),
    ("POST", f"/api/v1/office/reinspections/{ID}/extend", {"due_date": "2030-01-01"}),
    # --- #17 cases ---
    ("GET", "/api/v1/office/settings/case-routing", None),
    ("PUT", "/api/v1/office/settings/case-routing", {"workers": 20, "amount": 300000}),
]


def call(world: World, method: str, path: str, body, headers):
    return world.http.request(method, path, json=body, headers=headers)


@pytest.mark.parametrize("username", ["grid1", "sector1"])
def test_field_roles_get_403_everywhere(world: World, username: str) -> None:
    headers = world.login(username, f"{username}-phone")
    for method, path, body in ENDPOINTS:
        r = call(world, method, path, body, headers)
        assert error_of(r, 403)["code"] == "forbidden", (method, path)
        # even with a malformed body: the role is checked first
        r = world.http.request(method, path, content=b"{not json", headers=headers)
        assert error_of(r, 403)["code"] == "forbidden", (method, path)


def test_every_office_route_is_in_the_table(world: World) -> None:
    """A new office endpoint must be added to ENDPOINTS, so it is checked above."""
    routes = {(m, re.sub(r"\{[^}]+\}", "{x}", r.path)) for r in world.http.app.routes
              for m in getattr(r, "methods", ()) if m not in ("OPTIONS", "HEAD")
              and r.path.startswith(("/api/v1/office", "/api/v1/cases", "/api/v1/admin",
                                     "/api/v1/reports"))}
    listed = {(m, re.sub(r"/users/[^/]+/", "/users/{x}/", p.replace(ID, "{x}")))
              for m, p, _ in ENDPOINTS}
    assert routes == listed


def test_no_token_is_401(world: World) -> None:
    for method, path, body in ENDPOINTS:
        r = call(world, method, path, body, {})
        assert error_of(r, 401)["code"] == "auth_required", (method, path)


def test_admin_sees_audit_and_calendar_but_not_office_data(world: World,
                                                           admin: dict[str, str]) -> None:
    assert world.http.get("/api/v1/office/audit", headers=admin).status_code == 200
    assert world.http.get("/api/v1/office/calendar", headers=admin).status_code == 200
    for path in ("/api/v1/office/inspections", "/api/v1/cases", "/api/v1/reports/summary"):
        assert error_of(world.http.get(path, headers=admin), 403)["code"] == "forbidden"


def test_personal_data_is_masked_in_pull_for_field_roles(world: World,
                                                         office: dict[str, str]) -> None:
    r = world.http.post("/api/v1/cases", json={
        "source": "walk_in", "sector": "non_construction", "title": "服装厂欠薪",
        "village_id": world.v2, "site_id": world.site2, "complainant_name": "钱某某",
        "complainant_phone": "13912345678", "complainant_id_number": "500106198802021234"},
        headers=office)
    assert r.status_code == 201, r.text
    case = r.json()["case"]["id"]
    grid2 = world.device("grid2", "devG2")
    masked = grid2.record("case", case)
    assert masked["complainant_phone"] == "139****5678"  # 3 + 4
    assert masked["complainant_id_number"] == "500***********1234"
    assert masked["complainant_name"] == "钱**"
    office_dev = world.device("office1", "devO")
    assert office_dev.record("case", case)["complainant_phone"] == "13912345678"


def test_admin_user_and_device_actions_are_audited(world: World, admin: dict[str, str],
                                                   office: dict[str, str]) -> None:
    r = world.http.post("/api/v1/admin/users", json={
        "username": "grid3", "password": "pw-治欠-grid3", "role": "grid_officer",
        "display_name": "三村网格员", "village_ids": [world.v2]}, headers=admin)
    assert r.status_code == 201, r.text
    assert r.json()["role"] == "grid_officer"
    assert error_of(world.http.post("/api/v1/admin/users", json={
        "username": "grid3", "password": "pw-治欠-grid3", "role": "grid_officer"},
        headers=admin), 409)["code"] == "user_exists"
    assert error_of(world.http.post("/api/v1/admin/users", json={
        "username": "x", "password": "pw-治欠-mayor", "role": "mayor"}, headers=admin),
        400)["code"] == "invalid_role"
    phone = world.login("grid1", "lost-phone")
    r = world.http.post("/api/v1/admin/devices/lost-phone/revoke", headers=admin)
    assert r.json() == {"device_id": "lost-phone", "tokens_revoked": 1}
    assert error_of(world.http.get("/api/v1/sync/pull", headers=phone), 401)["code"] == \
        "token_revoked"
    assert error_of(world.http.post("/api/v1/admin/devices/nope/revoke", headers=admin),
                    404)["code"] == "not_found"
    items = world.http.get("/api/v1/office/audit", headers=office).json()["items"]
    items = [a for a in items if a["action"] != "login"]  # logins are audited too
    assert [(a["action"], a["username"]) for a in items] == [
        ("device_revoke", "admin"), ("user_create", "admin")]
    assert items[1]["details"]["username"] == "grid3" and items[0]["entity_id"] == "lost-phone"
    r = world.http.get("/api/v1/office/audit", params={"action": "nope"}, headers=office)
    assert error_of(r, 400)["code"] == "invalid_parameter"
