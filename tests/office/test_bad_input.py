"""Never a 500 for bad input: junk bodies, parameters and stored values from devices."""

from __future__ import annotations

from typing import Callable

from server.support import Device, World, assert_error_shape, ok
from shared_schema.ids import uuid7

JUNK = [b"", b"null", b"[]", b'"text"', b"1e999", b"{", b'{"state": null}',
        b'{"choice": "custom", "value": {"nested": [1, {"a": null}]}}',
        b'{"kind": "payment", "amount_recovered": 1e308, "workers_paid": 99999999999999999999}',
        b'{"source": "12333", "sector": "construction", "title": "' + "长" .encode() * 5000
        + b'", "workers_owed": -1}',
        b'{"years": {"2025": {"holidays": "2025-10-01"}}}', "\ufffd".encode() * 10]


def test_junk_bodies_are_4xx_in_the_error_shape(world: World, office: dict[str, str],
                                                admin: dict[str, str],
                                                submitted: Callable[..., str]) -> None:
    insp = submitted()
    r = world.http.post("/api/v1/cases", json={"source": "12333", "sector": "construction",
                                               "title": "x"}, headers=office)
    case = r.json()["case"]["id"]
    targets = [
        ("POST", f"/api/v1/office/inspections/{insp}/review", office),
        ("POST", f"/api/v1/office/conflicts/{uuid7()}/resolve", office),
        ("POST", "/api/v1/cases", office),
        ("POST", f"/api/v1/cases/{case}/events", office),
        ("PUT", "/api/v1/admin/calendar", admin),
        ("POST", "/api/v1/admin/users", admin),
    ]
    for method, path, headers in targets:
        for body in JUNK:
            r = world.http.request(method, path, content=body,
                                   headers={**headers, "Content-Type": "application/json"})
            assert 400 <= r.status_code < 500, (path, body[:40], r.status_code, r.text)
            assert_error_shape(r)
    assert world.http.get(f"/api/v1/cases/{case}", headers=office).status_code == 200


def test_odd_path_and_query_values(world: World, office: dict[str, str]) -> None:
    for path in ("/api/v1/cases/%00", "/api/v1/office/inspections/' OR 1=1 --",
                 "/api/v1/office/sites/..%2F..%2Fetc/history", "/api/v1/office/conflicts/x" * 3):
        r = world.http.get(path, headers=office)
        assert 400 <= r.status_code < 500, (path, r.status_code)
    for params in ({"month": "9999-99"}, {"month": "0000-01"}, {"month": "0001-01"}, {"month": "2025-11-01"}):
        r = world.http.get("/api/v1/reports/summary", params=params, headers=office)
        assert r.status_code in (200, 400), (params, r.status_code)
    for path in ("/api/v1/office/inspections", "/api/v1/office/audit"):
        for params in ({"from": "0001-01-01"}, {"to": "9999-12-31"}):
            r = world.http.get(path, params=params, headers=office)
            assert r.status_code == 400, (path, params, r.status_code)


def test_absurd_device_timestamps_do_not_break_the_ledger(world: World, office: dict[str, str],
                                                         grid1: Device) -> None:
    for opened in (10**17, -10**15, 0):
        ok(grid1.sync(grid1.upsert("case", uuid7(), {
            "site_id": world.site1, "title": "时间异常", "sector": "construction",
            "opened_at": opened}))[0])
    r = world.http.get("/api/v1/cases", headers=office)
    assert r.status_code == 200, r.text
    assert r.json()["page"]["total"] == 3
    for fmt in ("summary", "monthly.xlsx"):
        assert world.http.get(f"/api/v1/reports/{fmt}", headers=office).status_code == 200
