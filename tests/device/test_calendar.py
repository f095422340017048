"""The working-day calendar reaches the phone: an admin's change on the server
(``PUT /api/v1/admin/calendar``) arrives with the next pull as the
``work_calendar`` reference record, and the case screen counts deadlines over
it, as the office ledger does."""

from __future__ import annotations

import datetime as dt

import httpx

from field_app.core import Device
from field_app.ui.field.viewmodels import CaseVM
from shared_schema.calendar import packaged
from shared_schema.ids import uuid7
from sync_server.domain.auth.service import create_user
from sync_server.store.sqlite import SqliteStore

from .support import PASSWORD, device_secret

MONDAY = dt.date(2025, 12, 1)
#: A case registered on Friday 2025-11-28 at 09:00 (+08:00), not yet accepted.
CASE = {"status": "registered", "level": "village", "title": "日历测试",
        "opened_at": int(dt.datetime(2025, 11, 28, 9, tzinfo=dt.timezone(
            dt.timedelta(hours=8))).timestamp() * 1000)}


def admin_headers(server) -> dict[str, str]:
    store = SqliteStore(server.db)
    try:
        create_user(store, "admin", PASSWORD, "admin", scrypt_n=server.settings.scrypt_n)
    finally:
        store.close()
    r = httpx.post(server.url + "/api/v1/auth/login", json={
        "username": "admin", "password": PASSWORD, "device_id": uuid7(),
        "device_secret": device_secret("admin")})
    assert r.status_code == 200, r.text
    return {"Authorization": "Bearer " + r.json()["token"]}


def deadline_of(dev: Device) -> dt.date:
    vm = CaseVM(dev, uuid7(), today=lambda: dt.date(2025, 11, 28))
    vm.case, vm.events = dict(CASE), []
    d = vm.deadline()
    assert d is not None
    return d.due


def test_an_admins_calendar_reaches_the_phone_and_its_deadlines(server, make_device) -> None:
    dev = make_device("a", server, "grid1")
    assert dev.get("work_calendar", "workdays") is not None  # the first pull brought it
    assert dev.work_calendar().is_workday(MONDAY)
    before = deadline_of(dev)
    assert before == packaged().add_workdays(dt.date(2025, 11, 28), 5) == dt.date(2025, 12, 5)

    body = {"years": {"2025": {"holidays": ["2025-12-01", "2025-12-02"], "workdays": [],
                               "source": "测试：临时放假两天"}}}
    r = httpx.put(server.url + "/api/v1/admin/calendar", json=body,
                  headers=admin_headers(server))
    assert r.status_code == 200, r.text
    assert dev.work_calendar().is_workday(MONDAY)  # nothing changes before a sync

    assert dev.sync().ok
    cal = dev.work_calendar()
    assert not cal.is_workday(MONDAY) and not cal.is_workday(MONDAY + dt.timedelta(days=1))
    # Wed 3, Thu 4, Fri 5, (weekend), Mon 8, Tue 9: two working days later
    assert deadline_of(dev) == dt.date(2025, 12, 9)
    # the office ledger counts the same way
    assert cal.add_workdays(dt.date(2025, 11, 28), 5) == deadline_of(dev)


def test_a_phone_before_its_first_pull_uses_the_packaged_calendar(make_device) -> None:
    dev = make_device("fresh")
    assert dev.work_calendar() == packaged()


def test_devices_may_not_write_the_calendar(server, make_device) -> None:
    dev = make_device("a", server, "grid1")
    r = httpx.post(server.url + "/api/v1/sync/push", headers=dev_headers(dev), json={
        "protocol": 1, "device_id": dev.status().device_id, "client_time_ms": 0,
        "mutations": [{"op": "upsert", "id": uuid7(), "seq": 1_000_000,
                       "hlc": f"{1764140000000:013d}.0000.{dev.status().device_id}",
                       "entity": "work_calendar", "entity_id": uuid7(),
                       "fields": {"body": {}}, "base": {}}]})
    assert r.status_code == 200, r.text
    [res] = r.json()["results"]
    assert res["status"] == "rejected" and res["error"]["code"] == "read_only_entity"


def dev_headers(dev: Device) -> dict[str, str]:
    with dev.store.read() as tx:
        return {"Authorization": "Bearer " + tx.get("token")}
